"""ssh2-python behaviour (issue 12), one test per bullet, against the real sshd: numbers and text
as Python passes them, constructors, names and constants, the exception of each failure,
bytes in host-key code, non-blocking generators. Programs written for ssh2-python call these."""
import base64
import os
import select
import socket
import threading

import pytest

import xssh
import xssh.error_codes
import xssh.exceptions as X
import xssh.knownhost
import xssh.publickey
import xssh.session
import xssh.sftp
import xssh.utils
from xssh.agent import Agent
from xssh.channel import Channel
from xssh.knownhost import KnownHost
from xssh.listener import Listener
from xssh.session import LIBSSH2_FLAG_SIGPIPE, LIBSSH2_METHOD_KEX, FlagType, MethodType, Session
from xssh.sftp import SFTP
from xssh.sftp_handle import SFTPHandle


def _read_all(ch):
    out = b""
    while True:
        n, data = ch.read()
        if n <= 0:
            return out
        out += data


# ---- numbers: int, float (truncated), __index__ -----------------------------------------
class Idx:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def test_numbers_float_and_index():
    s = Session()
    s.set_timeout(2.5 * 1000.9)  # ssh2-python code: set_timeout(timeout * 1000)
    assert s.get_timeout() == 2502
    s.set_timeout(Idx(7))
    assert s.get_timeout() == 7
    s.set_timeout(True)
    assert s.get_timeout() == 1
    with pytest.raises(TypeError):
        s.set_timeout("10")
    with pytest.raises(TypeError):
        s.set_timeout(None)
    with pytest.raises(OverflowError):
        s.keepalive_config(False, -1)  # unsigned
    with pytest.raises(OverflowError):
        s.set_timeout(2 ** 70)
    from xssh.sftp_handle import SFTPAttributes
    a = SFTPAttributes()
    a.mtime = 1700000000.75  # os.stat() times are floats
    assert a.mtime == 1700000000


def test_scp_send64_with_stat_times(session, tmpdir_path):
    local = os.path.join(tmpdir_path, "src")
    with open(local, "wb") as f:
        f.write(b"x" * 100)
    os.utime(local, (1600000000.9, 1500000000.4))
    st = os.stat(local)
    remote = os.path.join(tmpdir_path, "dst")
    ch = session.scp_send64(remote, st.st_mode & 0o777, st.st_size, st.st_mtime, st.st_atime)
    assert ch.write(b"x" * 100)[1] == 100
    ch.write(b"\0")
    ch.send_eof()
    ch.wait_eof()
    ch.close()
    assert int(os.stat(remote).st_mtime) == 1500000000


def test_read_size_float_and_index(session):
    ch = session.open_session()
    ch.execute("printf abcdef")
    ch.wait_eof()
    assert ch.read(2.9) == (2, b"ab")
    assert ch.read(size=Idx(4)) == (4, b"cdef")
    ch.close()


# ---- text: str and bytes everywhere ------------------------------------------------------
def test_text_bytes_and_str(session, tmpdir_path, env):
    ch = Channel(session)  # constructor form
    ch.execute(b"printf %s bytes-cmd")
    assert _read_all(ch) == b"bytes-cmd"
    ch.close()
    ch = session.open_session()
    ch.setenv(b"XSSH_BYTES_VAR", "bytes-env")  # the harness's sshd accepts XSSH_*
    ch.execute('printf "str-cmd $XSSH_BYTES_VAR"')
    assert _read_all(ch) == b"str-cmd bytes-env"
    ch.close()
    sftp = session.sftp_init()
    d = os.path.join(tmpdir_path, "d")
    sftp.mkdir(d.encode(), 0o755)
    assert sftp.stat(d.encode()).permissions & 0o777 == 0o755
    assert sftp.realpath(d.encode()) == d


def test_auth_text_bytes(raw_session, env):
    assert "publickey" in raw_session.userauth_list(env.user.encode())
    raw_session.userauth_publickey_fromfile(env.user.encode(), env.key.encode(), passphrase=b"")
    assert raw_session.userauth_authenticated()


# ---- constructors ------------------------------------------------------------------------
def test_constructors(session, env):
    a = Agent(session)
    assert isinstance(a, Agent)
    a.set_identity_path(b"/nonexistent/agent.sock")
    assert a.get_identity_path() == b"/nonexistent/agent.sock"
    with pytest.raises(X.AgentConnectionError):
        a.connect()
    kh = KnownHost(session)
    assert kh.readfile(env.known_hosts) >= 1
    sftp = SFTP(session)
    assert sftp.session is session
    assert sftp.realpath(".")
    ch = Channel(session)
    assert ch.session is session
    ch.execute("exit 3")
    ch.wait_eof()
    ch.close()
    assert ch.get_exit_status() == 3
    # ssh2-python builds these as empty shells; xssh's say where a real one comes from
    assert isinstance(Listener(session), Listener)
    assert isinstance(SFTPHandle(sftp), SFTPHandle)
    with pytest.raises(X.PublicKeyInitError):  # OpenSSH has no publickey subsystem
        xssh.publickey.PublicKeySystem(session)
    from xssh.publickey import PublicKeyAttribute, PublicKeyList
    at = PublicKeyAttribute("comment", b"v", 1)
    assert (at.name, at.name_len, at.value, at.value_len, at.mandatory) == (b"comment", 7, b"v", 1, 1)
    assert PublicKeyList(None).num_attrs == 0


# ---- names and constants -----------------------------------------------------------------
def test_names_and_constants():
    ec = xssh.error_codes
    assert ec.LIBSSH2CHANNEL_EAGAIN == ec.LIBSSH2_ERROR_EAGAIN == -37
    assert (ec.LIBSSH2_ERROR_MAC_FAILURE, ec.LIBSSH2_ERROR_HASH_INIT, ec.LIBSSH2_ERROR_HASH_CALC) == (-52, -53, -54)
    assert X.MissingUserAuthBannerError is X.MissingUserauthBannerError
    assert xssh.session.LIBSSH2_FLAG_QUOTE_PATHS == FlagType(3)
    assert (xssh.session.LIBSSH2_SK_PRESENCE_REQUIRED, xssh.session.LIBSSH2_SK_VERIFICATION_REQUIRED) == (1, 4)
    assert isinstance(LIBSSH2_METHOD_KEX, MethodType) and LIBSSH2_METHOD_KEX.value == 0
    for code, cls in ((-52, X.MacFailureError), (-53, X.HashInitError), (-54, X.HashCalcError),
                      (-13, X.SocketDisconnectError), (-43, X.SocketRecvError), (-2, X.BannerRecvError),
                      (-999, X.UnknownError), (-60, X.UnknownError)):
        with pytest.raises(cls):
            xssh.utils.handle_error_codes(code)
    assert xssh.utils.handle_error_codes(0) == 0
    assert xssh.utils.handle_error_codes(-37) == -37


def test_find_eol():
    buf = b"line1\nline2\r\nrest"
    assert xssh.utils.find_eol(buf, 0) == (5, 1)
    assert xssh.utils.find_eol(buf, 6) == (5, 2)
    assert xssh.utils.find_eol(buf, 13) == (-1, 0)
    lines, pos = [], 0
    while True:
        n, eol = xssh.utils.find_eol(buf, pos)
        if n < 0:
            break
        lines.append(buf[pos:pos + n])
        pos += n + eol
    assert lines == [b"line1", b"line2"] and buf[pos:] == b"rest"


# ---- signatures that differ from xssh's own --------------------------------------------
def test_session_shapes(session, tmpdir_path):
    assert Session().methods(LIBSSH2_METHOD_KEX) is None  # before the handshake
    assert session.methods(method_type=LIBSSH2_METHOD_KEX)
    with pytest.raises(TypeError):
        session.methods(0)
    with pytest.raises(TypeError):
        Session().method_pref(0, "curve25519-sha256")
    with pytest.raises(TypeError):
        Session().flag(1)
    assert Session().flag(LIBSSH2_FLAG_SIGPIPE, enabled=True) == 0
    assert session.set_last_error(-5, "custom") == -5
    l, port = session.forward_listen_ex(queue_maxsize=4, host="127.0.0.1", port=0)
    assert isinstance(l, Listener) and port == l.bound_port() > 0
    l.forward_cancel()
    sftp = session.sftp_init()
    with pytest.raises(X.BufferTooSmallError):
        sftp.realpath(tmpdir_path, max_len=len(tmpdir_path))
    assert sftp.realpath(tmpdir_path, max_len=len(tmpdir_path) + 1) == tmpdir_path
    with pytest.raises(X.NotSupportedError):
        session.direct_streamlocal_ex("/run/x.sock", "127.0.0.1", 0)


def test_keyboardinteractive_callback(env):
    if not env.password:
        pytest.skip("no password account: the harness creates one only when running as root")
    s = xssh.Session()
    s.connect(env.host, env.port, 10000)
    calls = []

    def cb(*args, **kwargs):  # ssh2-python's callback: takes nothing it needs, returns the password
        calls.append(args)
        return env.password
    s.userauth_keyboardinteractive_callback(env.pw_user, cb)
    assert s.userauth_authenticated() and len(calls) == 1
    s.close()
    s = xssh.Session()
    s.connect(env.host, env.port, 10000)
    with pytest.raises(X.AuthenticationError):
        s.userauth_keyboardinteractive_callback(env.pw_user, lambda *a: "wrong-password")
    s.close()


# ---- host-key code: bytes in, bytes out ----------------------------------------------------
def test_knownhost_bytes(session, env, tmpdir_path):
    kh = session.knownhost_init()
    key, ktype = session.hostkey()
    tm = (xssh.knownhost.LIBSSH2_KNOWNHOST_TYPE_PLAIN | xssh.knownhost.LIBSSH2_KNOWNHOST_KEYENC_RAW
          | xssh.knownhost.LIBSSH2_KNOWNHOST_KEY_ED25519)
    e = kh.addc(b"bytes.example", key, tm, comment=b"c")
    assert isinstance(e.name, bytes) and e.name == b"bytes.example"
    assert e.key == key  # the key itself, not its base64 text
    line = kh.writeline(e)
    assert isinstance(line, bytes) and base64.b64encode(key) in line
    with pytest.raises(X.BufferTooSmallError):
        kh.writeline(e, buf_len=10)
    assert kh.checkp(b"bytes.example", 22, key, tm).name == b"bytes.example"
    assert kh.checkp("bytes.example", 22, key, tm).key == key


# ---- the exception of each handshake failure ---------------------------------------------
def _server(action):
    """A one-shot loopback peer that misbehaves on purpose after reading the client's banner."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run():
        c, _ = srv.accept()
        try:
            got = b""
            while not got.endswith(b"\n"):
                chunk = c.recv(1)
                if not chunk:
                    break
                got += chunk
            action(c)
        finally:
            c.close()
            srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], t


def _rst(c):
    import struct
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("action,exc", [
    (lambda c: None, X.SocketDisconnectError),                              # orderly close
    (_rst, X.SocketRecvError),                                              # reset
    (lambda c: c.sendall(b"SSH-2.0-" + b"x" * 300 + b"\r\n"), X.BannerRecvError),  # over-long identification
], ids=["disconnect", "reset", "bad-banner"])
def test_handshake_exception_by_cause(action, exc):
    port, t = _server(action)
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    s = Session()
    try:
        with pytest.raises(exc) as ei:
            s.handshake(sock)
        assert isinstance(ei.value, X.SSH2Error)
    finally:
        sock.close()
        t.join(30)


def test_handshake_fileno_not_int():
    class Bad:
        def fileno(self):
            return "1"
    with pytest.raises(TypeError):
        Session().handshake(Bad())


# ---- non-blocking generators give EAGAIN, never end early ------------------------------------
def _wait(s, sock):
    d = s.block_directions()
    r = [sock] if d & xssh.session.LIBSSH2_SESSION_BLOCK_INBOUND else []
    w = [sock] if d & xssh.session.LIBSSH2_SESSION_BLOCK_OUTBOUND else []
    if r or w:
        select.select(r, w, [], 30)


def test_nonblocking_readdir_yields_eagain(env, tmpdir_path):
    names = {"f%03d" % i for i in range(150)}
    for n in names:
        open(os.path.join(tmpdir_path, n), "w").close()
    sock = socket.create_connection((env.host, env.port), timeout=30)
    s = Session()
    s.handshake(sock)
    s.userauth_publickey_fromfile(env.user, env.key)
    sftp = s.sftp_init()
    s.set_blocking(False)
    h = sftp.opendir(tmpdir_path)
    for _ in range(100000):
        if not isinstance(h, int):
            break
        _wait(s, sock)
        h = sftp.opendir(tmpdir_path)
    got, eagain = set(), 0
    for n, name, attrs in h.readdir():
        if n == xssh.error_codes.LIBSSH2_ERROR_EAGAIN:
            eagain += 1
            _wait(s, sock)
            continue
        got.add(name.decode())
    assert got - {".", ".."} == names  # whole listing, however many EAGAINs
    s.set_blocking(True)
    h.close()
    assert h.closed
    s.disconnect()
    sock.close()


# ---- closed channels: buffered data stays readable, wait_eof answers -------------------------
def test_closed_channel_hands_out_buffered_data(session):
    ch = session.open_session()
    ch.execute("printf out-data; printf err-data >&2; exit 4")
    ch.wait_eof()  # all received, nothing read
    ch.close()
    assert ch.read() == (8, b"out-data")
    assert ch.read() == (0, b"")
    assert ch.read_stderr() == (8, b"err-data")
    assert ch.wait_eof() == 0
    assert ch.eof()
    assert ch.get_exit_status() == 4
    with pytest.raises(X.ClosedError):  # needs the network: still refused clearly
        ch.write(b"x")


# ---- agent forwarding request: libssh2 1.10.0 has the call ----------------------------------
def test_request_auth_agent(session):
    ch = session.open_session()
    assert ch.request_auth_agent() == 0  # auth-agent-req@openssh.com accepted by sshd
    ch.execute('test -n "$SSH_AUTH_SOCK" && printf set')
    assert _read_all(ch) == b"set"
    ch.close()


def test_channel_requests_by_keyword(session, env):
    ch = session.open_session()
    assert ch.pty(term=b"xterm") == 0
    with pytest.raises(X.SSH2Error) as ei:  # sshd has no X11 forwarding here: refused, not a TypeError
        ch.x11_req_ex(single_connection=1, auth_proto="MIT-MAGIC-COOKIE-1",
                      auth_cookie="00112233445566778899aabbccddeeff", screen_number=0)
    assert not isinstance(ei.value, TypeError)
    assert ch.process_startup(request="exec", message=b"printf started") == 0
    assert _read_all(ch) == b"started"
    ch.close()
    data = open(env.key, "rb").read()
    s = xssh.Session()
    s.connect(env.host, env.port, 10000)
    s.userauth_publickey_frommemory(username=env.user, privatekeyfiledata=data, passphrase="",
                                    publickeyfiledata=open(env.key + ".pub", "rb").read())
    assert s.userauth_authenticated()
    s.close()
