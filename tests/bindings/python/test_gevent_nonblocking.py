"""Several non-blocking sessions driven by gevent in ONE thread, the way programs built on
ssh2-python do it (parallel-ssh's native client): handshake and authenticate, switch to
non-blocking, then every call that returns LIBSSH2_ERROR_EAGAIN waits on the socket in the
directions Session.block_directions() gives (gevent's select), letting the other sessions run.

Concurrency is forced, not timed: session k's command waits for a file that session k+1's
command creates, so run one after the other (or with a call that blocks the thread) the first
one never finishes (its wait is bounded, and the test fails)."""
import os

import gevent  # python3-gevent (Debian): a test dependency (scripts/install-deps.sh)
import gevent.select  # noqa: E402
import gevent.socket  # noqa: E402

from xssh.error_codes import LIBSSH2_ERROR_EAGAIN  # noqa: E402
from xssh.session import LIBSSH2_SESSION_BLOCK_INBOUND, LIBSSH2_SESSION_BLOCK_OUTBOUND, Session  # noqa: E402
from xssh.sftp import LIBSSH2_FXF_READ, LIBSSH2_SFTP_S_IRUSR  # noqa: E402

N = 4


class Client(object):
    """A minimal ssh2-python-style non-blocking client."""

    def __init__(self, env):
        self.sock = gevent.socket.create_connection((env.host, env.port), timeout=30)
        self.session = Session()
        self.session.handshake(self.sock)
        self.session.userauth_publickey_fromfile(env.user, env.key)
        self.session.set_blocking(False)
        self.waits = 0

    def poll(self):
        d = self.session.block_directions()
        if not d:
            gevent.sleep(0)
            return
        fd = self.sock.fileno()
        r = [fd] if d & LIBSSH2_SESSION_BLOCK_INBOUND else []
        w = [fd] if d & LIBSSH2_SESSION_BLOCK_OUTBOUND else []
        self.waits += 1
        gevent.select.select(r, w, [], 30)

    def eagain(self, fn, *args, **kwargs):
        for _ in range(1000000):
            rc = fn(*args, **kwargs)
            if rc != LIBSSH2_ERROR_EAGAIN:
                return rc
            self.poll()
        raise AssertionError("%s never completed" % fn)

    def run(self, command):
        """(stdout chunks as they arrived, exit status)"""
        ch = self.eagain(self.session.open_session)
        self.eagain(ch.execute, command)
        chunks = []
        for _ in range(1000000):
            n, data = ch.read()
            if n == LIBSSH2_ERROR_EAGAIN:
                self.poll()
                continue
            if n == 0:
                break
            chunks.append(data)
        self.eagain(ch.close)
        return chunks, ch.get_exit_status()

    def sftp_read(self, path):
        sftp = self.eagain(self.session.sftp_init)
        fh = self.eagain(sftp.open, path, LIBSSH2_FXF_READ, LIBSSH2_SFTP_S_IRUSR)
        out = b""
        for n, data in fh:  # the handle iterates (count, bytes), EAGAIN included
            if n == LIBSSH2_ERROR_EAGAIN:
                self.poll()
                continue
            out += data
        self.eagain(fh.close)
        return out

    def close(self):
        self.session.set_blocking(True)
        self.session.disconnect()
        self.sock.close()


def test_sessions_in_one_thread(env, tmpdir_path):
    clients = [Client(env) for _ in range(N)]
    try:
        flag = os.path.join(tmpdir_path, "f%d")
        cmds = []
        for k in range(N):
            wait = ("i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
                    "[ -e %s ] || exit 99; " % (flag % (k + 1), flag % (k + 1))) if k < N - 1 else ""
            cmds.append("printf 'start %d\\n'; %stouch %s; printf 'end %d\\n'; exit %d" % (k, wait, flag % k, k, 10 + k))
        with gevent.Timeout(120):
            jobs = [gevent.spawn(c.run, cmd) for c, cmd in zip(clients, cmds)]
            gevent.joinall(jobs, raise_error=True)
        for k, job in enumerate(jobs):
            chunks, status = job.value
            assert b"".join(chunks) == b"start %d\nend %d\n" % (k, k)
            assert status == 10 + k  # 99 would mean the sessions did not run side by side
        assert all(c.waits > 0 for c in clients)  # every session had to wait on its socket
    finally:
        for c in clients:
            c.close()


def test_sftp_and_commands_mixed(env, tmpdir_path):
    data = os.urandom(300000)  # several SFTP packets
    path = os.path.join(tmpdir_path, "blob")
    with open(path, "wb") as f:
        f.write(data)
    a, b = Client(env), Client(env)
    try:
        with gevent.Timeout(120):
            ja = gevent.spawn(a.sftp_read, path)
            jb = gevent.spawn(b.run, "head -c 100000 /dev/zero; exit 3")
            gevent.joinall([ja, jb], raise_error=True)
        assert ja.value == data
        chunks, status = jb.value
        assert b"".join(chunks) == b"\0" * 100000 and status == 3
    finally:
        a.close()
        b.close()


def _scp_read(c, path):
    ch, info = c.eagain(c.session.scp_recv2, path)
    out = b""
    while len(out) < info.st_size:
        n, data = ch.read(min(65536, info.st_size - len(out)))
        if n == LIBSSH2_ERROR_EAGAIN:
            c.poll()
            continue
        assert n > 0, "SCP stream ended at %d of %d bytes" % (len(out), info.st_size)
        out += data
    c.eagain(ch.close)
    return out


def _tunnel_banner(c, host, port):
    """Through the server, to host:port (the sshd itself): its identification line."""
    ch = c.eagain(c.session.direct_tcpip_ex, host, port, "127.0.0.1", 0)
    out = b""
    while b"\n" not in out:
        n, data = ch.read()
        if n == LIBSSH2_ERROR_EAGAIN:
            c.poll()
            continue
        assert n > 0, "tunnel closed before a line: %r" % out
        out += data
    c.eagain(ch.close)
    return out.split(b"\n")[0]


def test_scp_and_tunnel_mixed(env, tmpdir_path):
    data = os.urandom(200000)
    path = os.path.join(tmpdir_path, "scp-blob")
    with open(path, "wb") as f:
        f.write(data)
    a, b = Client(env), Client(env)
    try:
        with gevent.Timeout(120):
            ja = gevent.spawn(_scp_read, a, path)
            jb = gevent.spawn(_tunnel_banner, b, env.host, env.port)
            gevent.joinall([ja, jb], raise_error=True)
        assert ja.value == data
        assert jb.value.startswith(b"SSH-2.0-OpenSSH")
    finally:
        a.close()
        b.close()
