"""Sessions, host keys and authentication through the Python module."""
import gc
import os
import subprocess
import socket
import time

import pytest

import xssh
from xssh.exceptions import (AuthenticationError, ClosedError, ConnectError, KeyfileAuthFailedError,
                             KnownHostCheckMisMatchError, KnownHostCheckNotFoundError, ResolveError,
                             RSASHA1RefusedError, SSH2Error, SessionError, Timeout)
from xssh.session import LIBSSH2_HOSTKEY_HASH_MD5, LIBSSH2_HOSTKEY_HASH_SHA1, LIBSSH2_HOSTKEY_TYPE_ED25519, Session

from conftest import hashed_copy


def test_connect_strict_and_metadata(session, env):
    assert session.userauth_authenticated() is True
    assert session.banner_get().startswith("SSH-2.0-OpenSSH")
    assert session.hostkey_fingerprint() == env.fingerprint
    key, ktype = session.hostkey()
    assert isinstance(key, bytes) and ktype == LIBSSH2_HOSTKEY_TYPE_ED25519
    assert len(session.hostkey_hash(LIBSSH2_HOSTKEY_HASH_MD5)) == 16
    assert len(session.hostkey_hash(LIBSSH2_HOSTKEY_HASH_SHA1)) == 20
    assert session.methods(xssh.session.LIBSSH2_METHOD_KEX)


def test_ssh2_python_style_handshake(env):
    sock = socket.create_connection((env.host, env.port))
    s = Session()
    assert s.handshake(sock) == 0
    assert s.sock is sock
    assert "publickey" in s.userauth_list(env.user)
    assert s.userauth_publickey_fromfile(env.user, env.key) == 0
    s.disconnect()
    sock.close()


def test_strict_unknown_host(env, tmpdir_path):
    empty = os.path.join(tmpdir_path, "known_hosts")
    open(empty, "w").close()
    with pytest.raises(KnownHostCheckNotFoundError) as ei:
        xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=empty)
    assert env.fingerprint in str(ei.value)
    assert ei.value.name == "XSSH_EHOSTKEY_UNKNOWN"


def test_accept_new_then_strict(env, tmpdir_path):
    kh = os.path.join(tmpdir_path, "sub", "known_hosts")
    with xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=kh, host_key_policy="accept_new"):
        pass
    # recorded under "[host]:port", hashed when the system's ssh_config says HashKnownHosts yes (as ssh)
    found = subprocess.run(["ssh-keygen", "-F", "[%s]:%d" % (env.host, env.port), "-f", kh], capture_output=True)
    assert found.returncode == 0 and b"ssh-ed25519" in found.stdout
    with xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=kh) as s:
        assert s.userauth_authenticated()


def test_changed_host_key(env, tmpdir_path):
    other = os.path.join(tmpdir_path, "k")
    os.system("ssh-keygen -q -t ed25519 -N '' -f %s" % other)
    pub = open(other + ".pub").read().split()
    kh = os.path.join(tmpdir_path, "known_hosts")
    with open(kh, "w") as f:
        f.write("[%s]:%d %s %s\n" % (env.host, env.port, pub[0], pub[1]))
    for policy in ("strict", "accept_new"):
        with pytest.raises(KnownHostCheckMisMatchError) as ei:
            xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=kh, host_key_policy=policy)
        assert env.fingerprint in str(ei.value) and "SHA256:" in str(ei.value).replace(env.fingerprint, "")


def test_hashed_known_hosts(env, tmpdir_path):
    kh = os.path.join(tmpdir_path, "known_hosts")
    hashed_copy(env.known_hosts, kh)
    assert "|1|" in open(kh).read()
    with xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=kh):
        pass


def test_policy_off(env, tmpdir_path):
    with xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=os.path.join(tmpdir_path, "none"),
                      host_key_policy="off") as s:
        assert s.userauth_authenticated()
    with pytest.raises(ValueError):
        xssh.connect(env.host, env.port, env.user, key=env.key, host_key_policy="yolo")


def test_key_auth_variants(raw_session, env):
    assert raw_session.userauth_authenticated() is False
    raw_session.userauth_publickey_fromfile(env.user, env.key_ecdsa)
    assert raw_session.userauth_authenticated() is True


def test_encrypted_key(raw_session, env):
    raw_session.userauth_publickey_fromfile(env.user, env.key_encrypted, env.passphrase)
    assert raw_session.userauth_authenticated()


def test_wrong_passphrase(raw_session, env):
    with pytest.raises(KeyfileAuthFailedError) as ei:
        raw_session.userauth_publickey_fromfile(env.user, env.key_encrypted, "wrong")
    assert isinstance(ei.value, AuthenticationError)
    assert env.key_encrypted in ei.value.message


def test_unauthorized_key(raw_session, env):
    with pytest.raises(AuthenticationError) as ei:
        raw_session.userauth_publickey_fromfile(env.user, env.key_unauthorized)
    assert env.user in str(ei.value)


def test_rsa_key_clear_error(raw_session, env):
    with pytest.raises(RSASHA1RefusedError) as ei:
        raw_session.userauth_publickey_fromfile(env.user, env.key_rsa)
    assert "1.11" in str(ei.value)


def test_frommemory(raw_session, env):
    data = open(env.key, "rb").read()
    raw_session.userauth_publickey_frommemory(env.user, data)
    assert raw_session.userauth_authenticated()


def test_missing_key_file(raw_session, env):
    with pytest.raises(xssh.exceptions.FileError):
        raw_session.userauth_publickey_fromfile(env.user, "/nonexistent/key")


def test_password_and_kbdint(env):
    if not env.password:
        pytest.skip("no password account: the harness creates one only when running as root")
    with xssh.connect(env.host, env.port, env.pw_user, password=env.password, known_hosts=env.known_hosts) as s:
        assert s.userauth_authenticated()
    for method in ("kbd", "responses"):
        s = xssh.Session()
        s.connect(env.host, env.port)
        if method == "kbd":
            s.userauth_keyboardinteractive(env.pw_user, env.password)
        else:
            s.userauth_keyboard_interactive_responses(env.pw_user, [env.password])
        assert s.userauth_authenticated()
        s.close()
    s = xssh.Session()
    s.connect(env.host, env.port)
    with pytest.raises(AuthenticationError):
        s.userauth_password(env.pw_user, "wrong-password")
    s.close()


def test_agent(raw_session, env, monkeypatch):
    if not env.agent_sock:
        pytest.skip("the harness started no ssh-agent")
    a = raw_session.agent_init()
    a.set_path(env.agent_sock)
    a.connect()
    ids = a.get_identities()
    assert len(ids) == 1 and ids[0].blob.startswith(b"\x00\x00\x00\x0bssh-ed25519")
    assert ids[0].blob_len == len(ids[0].blob)
    a.userauth(env.user, ids[0])
    assert raw_session.userauth_authenticated()
    a.disconnect()


def test_agent_auth(raw_session, env, monkeypatch):
    monkeypatch.setenv("SSH_AUTH_SOCK", env.agent_sock)
    raw_session.agent_auth(env.user)
    assert raw_session.userauth_authenticated()


def test_connection_errors(env):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectError) as ei:
        xssh.Session().connect("127.0.0.1", port)
    assert ei.value.code == xssh.core.XSSH_ECONNECT and str(port) in ei.value.message
    with pytest.raises(ResolveError) as ei:
        xssh.Session().connect("nonexistent.invalid", 22)
    assert isinstance(ei.value, ConnectError) and isinstance(ei.value, SessionError)
    # a listener that never answers: the handshake times out
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        xssh.Session().connect("127.0.0.1", lst.getsockname()[1], 800)
    assert time.monotonic() - t0 < 5
    lst.close()


def test_closed_session(env):
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    s.disconnect()
    assert s.is_closed()
    for call in (lambda: s.banner_get(), lambda: s.hostkey(), lambda: s.userauth_list("x"),
                 lambda: s.set_blocking(0), lambda: s.keepalive_send(), lambda: s.agent_init()):
        with pytest.raises(ClosedError):
            call()
    s.close()  # idempotent


def test_bad_arguments():
    s = xssh.Session()
    with pytest.raises(xssh.exceptions.InvalidArgumentError):
        s.connect("", 22)
    with pytest.raises(xssh.exceptions.InvalidArgumentError):
        s.connect("localhost", 0)
    with pytest.raises((TypeError, xssh.exceptions.InvalidArgumentError)):
        s.connect(None, 22)
    with pytest.raises(xssh.exceptions.NotConnectedError):
        s.userauth_password("u", "p")


def test_exception_hierarchy():
    from xssh import exceptions as E
    assert issubclass(E.PasswordExpiredError, E.AuthenticationError)
    assert issubclass(E.AgentAuthenticationError, E.AuthenticationError)
    assert issubclass(E.KnownHostCheckMisMatchError, E.KnownHostCheckError)
    assert issubclass(E.KnownHostCheckError, E.KnownHostError)
    assert not issubclass(E.AgentProtocolError, E.AgentError)
    assert issubclass(E.SSH2Error, Exception)
    names = ["AgentConnectionError", "AgentGetIdentityError", "AgentListIdentitiesError", "BannerRecvError",
             "BannerSendError", "BadSocketError", "BadUseError", "BufferTooSmallError", "ChannelClosedError",
             "ChannelEOFSentError", "ChannelFailure", "ChannelOutOfOrderError", "ChannelPacketExceeded",
             "ChannelRequestDenied", "ChannelUnknownError", "ChannelWindowExceeded", "CompressError",
             "DecryptError", "EncryptError", "FileError", "HostkeyInitError", "HostkeySignError",
             "InvalidPollTypeError", "InvalidRequestError", "KeyExchangeError", "KnownHostAddError",
             "KnownHostCheckFailure", "KnownHostCheckNotFoundError", "KnownHostDeleteError", "KnownHostGetError",
             "KnownHostReadFileError", "KnownHostReadLineError", "KnownHostWriteFileError",
             "KnownHostWriteLineError", "MethodNoneError", "MethodNotSupported", "OutOfBoundaryError",
             "ProtocolError", "PublicKeyInitError", "PublicKeyProtocolError", "PublickeyUnverifiedError",
             "RequestDeniedError", "SCPProtocolError", "SFTPHandleError", "SFTPProtocolError",
             "SessionHandshakeError", "SessionHostKeyError", "SessionStartupError", "SocketDisconnectError",
             "SocketRecvError", "SocketSendError", "SocketTimeout", "Timeout", "UnknownError", "ZlibError"]
    for n in names:
        assert issubclass(getattr(E, n), SSH2Error), n


def test_gc_orders(env):
    for order in range(4):
        s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
        kh = s.knownhost_init()
        kh.readfile(env.known_hosts)
        entries = kh.get()
        ag = s.agent_init()
        objs = [s, kh, ag, entries]
        if order == 1:
            objs.reverse()
        elif order == 2:
            objs = [objs[2], objs[0], objs[3], objs[1]]
        while objs:
            objs.pop(0)
            gc.collect()
        del s, kh, ag, entries
        gc.collect()


def test_error_codes_module():
    from xssh import error_codes, utils
    assert error_codes.LIBSSH2_ERROR_EAGAIN == -37
    assert error_codes.LIBSSH2_ERROR_TIMEOUT == -9
    assert utils.handle_error_codes(error_codes.LIBSSH2_ERROR_EAGAIN) == -37
    with pytest.raises(xssh.exceptions.Timeout):
        utils.handle_error_codes(error_codes.LIBSSH2_ERROR_TIMEOUT)
    assert utils.version() == xssh.core.libssh2_version()


def test_userauth_publickey_signed_by_agent(raw_session, env, monkeypatch):
    """ssh2-python's userauth_publickey(username, pubkeydata): the agent signs."""
    if not env.agent_sock:
        pytest.skip("the harness has no ssh-agent")
    monkeypatch.setenv("SSH_AUTH_SOCK", env.agent_sock)
    line = open(env.key + ".pub", "rb").read()
    assert raw_session.userauth_publickey(env.user, line) == 0
    assert raw_session.userauth_authenticated() is True


def test_userauth_publickey_key_not_in_agent(raw_session, env, monkeypatch):
    if not env.agent_sock:
        pytest.skip("the harness has no ssh-agent")
    monkeypatch.setenv("SSH_AUTH_SOCK", env.agent_sock)
    with pytest.raises(xssh.exceptions.AgentError) as ei:
        raw_session.userauth_publickey(env.user, open(env.key_ecdsa + ".pub", "rb").read())
    assert "no private key" in str(ei.value)
    assert raw_session.userauth_authenticated() is False


def test_knownhost_check_deprecated_form(session, env):
    kh = session.knownhost_init()
    kh.readfile(env.known_hosts)
    key, _ = session.hostkey()
    from xssh.knownhost import (LIBSSH2_KNOWNHOST_KEYENC_RAW, LIBSSH2_KNOWNHOST_TYPE_PLAIN)
    # known_hosts has only the [host]:port form, so the port-less check finds nothing
    with pytest.raises(xssh.exceptions.KnownHostCheckNotFoundError):
        kh.check(env.host, key, LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW)


def test_publickey_subsystem_refused_by_openssh(session):
    from xssh.exceptions import PublicKeyInitError
    from xssh.publickey import PublicKeySystem  # noqa: F401
    with pytest.raises(PublicKeyInitError) as ei:
        session.publickey_init()
    assert "publickey" in str(ei.value)
    assert session.keepalive_send() >= 0  # the session still works


def test_embedded_nul_in_text_is_refused(session):
    # a C string would end at the NUL and run only the first part of the command
    for cmd in ("echo a\0; echo b", b"echo a\0; echo b"):
        with pytest.raises(ValueError, match="embedded null byte"):
            session.run(cmd)
        ch = session.open_session()
        with pytest.raises(ValueError, match="embedded null byte"):
            ch.execute(cmd)
        ch.close()
