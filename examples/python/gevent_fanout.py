#!/usr/bin/env python3
"""Run a command on many hosts at once from ONE thread with gevent (Debian's python3-gevent)
and xssh's ssh2-python-compatible non-blocking API (docs/async.md, "gevent").

    gevent_fanout.py [-t SECONDS] --key KEY --known-hosts FILE COMMAND user@host:port...

Every session is non-blocking (Session.set_blocking(False)) from the handshake on: a call
that would block returns LIBSSH2_ERROR_EAGAIN, and the greenlet waits on the session's
socket in the directions Session.block_directions() names (gevent.socket.wait_read /
wait_write), so the hub runs the other sessions meanwhile. The host key is verified against
the known_hosts file (strict) before authenticating. gevent.Timeout (-t) bounds each host:
the channel it interrupted is closed and the session stays usable.
"""
import argparse
import sys

import gevent
import gevent.socket

import xssh
from xssh.error_codes import LIBSSH2_ERROR_EAGAIN
from xssh.session import LIBSSH2_SESSION_BLOCK_INBOUND, LIBSSH2_SESSION_BLOCK_OUTBOUND, Session
from xssh.sftp import LIBSSH2_FXF_READ, LIBSSH2_SFTP_S_IRUSR

CLOSE_GRACE = 0.25  # seconds a channel closed early waits for sshd's CLOSE (a bound, not a condition)
MAX_WAITS = 10_000_000  # every retry loop is bounded (each turn waits on the socket)


def _eagain(r):
    return r == LIBSSH2_ERROR_EAGAIN or (isinstance(r, tuple) and r and r[0] == LIBSSH2_ERROR_EAGAIN)


class GeventSession(object):
    """One host: TCP connect (gevent socket), handshake, strict host-key check, public-key
    authentication; all of it non-blocking."""

    def __init__(self, host, port, user, key, known_hosts, timeout=30.0):
        self.timeout = timeout  # longest wait for the socket, seconds
        self.sock = gevent.socket.create_connection((host, port), timeout=timeout)
        self.session = Session()
        self.session.set_blocking(False)
        self.call(self.session.handshake, self.sock)
        self.session.verify_host(host, port, xssh.HOSTKEY_STRICT, known_hosts)  # local check, no I/O
        self.call(self.session.userauth_publickey_fromfile, user, key)

    def wait(self):
        """Wait on the socket in the direction(s) the session is blocked on."""
        d = self.session.block_directions()
        fd = self.sock.fileno()
        if d & LIBSSH2_SESSION_BLOCK_INBOUND and d & LIBSSH2_SESSION_BLOCK_OUTBOUND:
            gevent.socket.wait_readwrite(fd, timeout=self.timeout)
        elif d & LIBSSH2_SESSION_BLOCK_OUTBOUND:
            gevent.socket.wait_write(fd, timeout=self.timeout)
        else:
            gevent.socket.wait_read(fd, timeout=self.timeout)

    def call(self, fn, *args):
        """fn(*args) until it does not return EAGAIN."""
        for _ in range(MAX_WAITS):
            r = fn(*args)
            if not _eagain(r):
                return r
            self.wait()
        raise RuntimeError("%s never completed" % fn)

    def run(self, command, on_output=None):
        """Run command: (stdout, stderr, exit status). on_output(stream, data) sees the output
        as it arrives (stream "stdout" / "stderr"). Interrupted (gevent.Timeout, kill), the
        channel is closed before the exception goes on."""
        ch = self.call(self.session.open_session)
        out = {"stdout": [], "stderr": []}
        done = False
        try:
            self.call(ch.execute, command)
            for _ in range(MAX_WAITS):
                got = False
                for name, read in (("stdout", ch.read), ("stderr", ch.read_stderr)):
                    n, data = read(65536)
                    if n > 0:
                        got = True
                        out[name].append(data)
                        if on_output is not None:
                            on_output(name, data)
                    elif n != LIBSSH2_ERROR_EAGAIN and n < 0:
                        raise RuntimeError("read failed: %d" % n)
                if got:
                    continue
                if ch.eof():
                    break
                # reading stderr drains the socket into libssh2's queue: stdout's data that came
                # after stdout's read said EAGAIN waits there, and the socket will not announce it
                if ch.poll_channel_read(1):  # 1: data of either stream is queued
                    continue
                self.wait()
            done = True
        finally:
            self.close_channel(ch, interrupted=not done)
        return b"".join(out["stdout"]), b"".join(out["stderr"]), ch.get_exit_status()

    def close_channel(self, ch, interrupted=False):
        """Close ch. Interrupted, the command may still run and sshd answers CLOSE only once it
        ends: CLOSE is sent and its answer awaited a short grace period only (as xssh's own run
        does), the session goes on. (A Timeout has already fired here: the close has its own.)"""
        t = gevent.Timeout(CLOSE_GRACE if interrupted else self.timeout)
        t.start()
        try:
            self.call(ch.close)
        except gevent.Timeout as e:
            if e is not t:
                raise
        finally:
            t.cancel()

    def sftp_read(self, path, on_chunk=None):
        """The bytes of a remote file over SFTP; on_chunk(bytes) as each piece arrives."""
        if getattr(self, "_sftp", None) is None:
            self._sftp = self.call(self.session.sftp_init)
        fh = self.call(self._sftp.open, path, LIBSSH2_FXF_READ, LIBSSH2_SFTP_S_IRUSR)
        chunks = []
        try:
            for n, data in fh:  # (count, bytes); EAGAIN when nothing is there yet
                if n == LIBSSH2_ERROR_EAGAIN:
                    self.wait()
                    continue
                if n < 0:
                    raise RuntimeError("SFTP read failed: %d" % n)
                chunks.append(data)
                if on_chunk is not None:
                    on_chunk(data)
        finally:
            with gevent.Timeout(self.timeout):
                self.call(fh.close)
        return b"".join(chunks)

    def close(self):
        with gevent.Timeout(self.timeout):
            if getattr(self, "_sftp", None) is not None:
                self.call(self._sftp.close)
            self.call(self.session.disconnect)
        self.sock.close()


def parse_host(h):
    user, _, rest = h.rpartition("@")
    host, _, port = rest.rpartition(":")
    return user or None, host, int(port)


def one(h, args):
    user, host, port = parse_host(h)
    with gevent.Timeout(args.timeout):
        s = GeventSession(host, port, user, args.key, args.known_hosts)
        try:
            return s.run(args.command)
        finally:
            s.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-t", "--timeout", type=float, default=60.0, help="seconds per host (gevent.Timeout)")
    p.add_argument("--key", required=True)
    p.add_argument("--known-hosts", required=True)
    p.add_argument("command")
    p.add_argument("hosts", nargs="+")
    args = p.parse_args(argv)
    jobs = [gevent.spawn(one, h, args) for h in args.hosts]
    gevent.joinall(jobs)
    failed = 0
    for h, j in zip(args.hosts, jobs):
        if j.successful():
            out, err, status = j.value
            print("%s: exit %d: %s" % (h, status, out.decode(errors="replace").strip()))
            failed += status != 0
        else:
            print("%s: %s: %s" % (h, type(j.exception).__name__, j.exception))
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
