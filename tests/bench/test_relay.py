# SPDX-License-Identifier: BSD-3-Clause
"""bench/relay.c (xssh-relay, the delay relay of the `wan` bench and of tests that need a
long round trip): byte-exact both ways, EOF and resets carried over, the delay is at
least what was asked, the queue bound holds (back-pressure), clean shutdown, argument
errors. The only time check is a lower bound (a round trip through a 2 x 30 ms relay
cannot be shorter than 60 ms), which a slow machine cannot break.
"""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import relay as relaymod  # noqa: E402

MiB = 1 << 20


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    return relaymod.build(str(tmp_path_factory.mktemp("relay-bin")))


class Server:
    """A TCP server on 127.0.0.1 with one handler thread per connection."""

    def __init__(self, handler):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.handler = handler
        self.errors = []
        self.threads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, c):
        try:
            self.handler(c)
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))
        finally:
            c.close()

    def close(self):
        self.ls.close()


def echo(c):
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        c.sendall(b)
    c.shutdown(socket.SHUT_WR)


def recv_all(s, n=None):
    out = bytearray()
    while n is None or len(out) < n:
        b = s.recv(1 << 20)
        if not b:
            break
        out += b
    return bytes(out)


def test_help_and_argument_errors(binary):
    r = subprocess.run([binary, "--help"], stdout=subprocess.PIPE)
    assert r.returncode == 0 and b"--delay-ms" in r.stdout and b"--queue-mib" in r.stdout
    for argv, msg in (([], b"--to"), (["--to", "10.0.0.1:22"], b"127.0.0.0/8"),
                      (["--to", "127.0.0.1:22", "--listen", "0.0.0.0:0"], b"127.0.0.0/8"),
                      (["--to", "127.0.0.1"], b"ADDR:PORT"), (["--to", "127.0.0.1:22", "--delay-ms", "-1"], b">= 0"),
                      (["--to", "127.0.0.1:22", "--bogus", "1"], b"unknown option")):
        r = subprocess.run([binary] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert r.returncode == 2, argv
        assert msg in r.stderr, (argv, r.stderr)


@pytest.mark.parametrize("delay_ms,rate", [(0, 0), (5, 0), (2, 64)])
def test_byte_exact_both_ways_and_eof(binary, delay_ms, rate):
    srv = Server(echo)
    data = os.urandom(6 * MiB + 12345)
    with relaymod.Relay(srv.port, delay_ms, rate_mibps=rate, binary=binary) as r:
        s = socket.create_connection((r.host, r.port), timeout=120)
        got = []
        reader = threading.Thread(target=lambda: got.append(recv_all(s)))
        reader.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # the echo server sees EOF only if the relay carries it
        reader.join(120)
        assert not reader.is_alive()
        assert got[0] == data  # and EOF back: recv_all returned
        s.close()
    srv.close()
    assert not srv.errors


def test_round_trip_is_at_least_twice_the_delay(binary):
    srv = Server(echo)
    with relaymod.Relay(srv.port, 30, binary=binary) as r:
        s = socket.create_connection((r.host, r.port), timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(3):
            t0 = time.monotonic()
            s.sendall(b"x")
            assert s.recv(1) == b"x"
            assert time.monotonic() - t0 >= 0.060
        s.close()
    srv.close()


def test_queue_bound_holds_back_pressure(binary, tmp_path):
    """The server reads nothing until the relay's queue is full: the relay must stop reading
    (never queue more than --queue-mib), and every byte still arrives once the server reads."""
    release = threading.Event()
    got = []

    def slow_sink(c):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        if not release.wait(120):
            raise RuntimeError("never released")
        got.append(recv_all(c))

    srv = Server(slow_sink)
    stats = str(tmp_path / "stats")
    data = os.urandom(48 * MiB)
    queue_mib = 1
    with relaymod.Relay(srv.port, 1, queue_mib=queue_mib, stats_file=stats, binary=binary) as r:
        s = socket.create_connection((r.host, r.port), timeout=120)
        sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
        sender.start()
        # wait (bounded) until the relay's up queue is full: it has stopped reading
        full = False
        for _ in range(6000):
            live = r.live()
            if live and live[0]["up_queued"] >= queue_mib * MiB - 256 * 1024:
                full = True
                break
            time.sleep(0.01)
        assert full, "the relay's queue never filled: %r" % (r.live(),)
        assert all(c["up_queued"] <= queue_mib * MiB for c in r.live())
        release.set()
        sender.join(120)
        for t in srv.threads:
            t.join(120)
        s.close()
        assert got and got[0] == data
        for _ in range(1000):  # the finished connection's line (written when both sides closed)
            if r.stats():
                break
            time.sleep(0.01)
        st = r.stats()
        assert st and st[0]["up_peak"] <= queue_mib * MiB and st[0]["up_bytes"] == len(data)
    srv.close()
    assert not srv.errors


def test_refused_server_resets_the_client(binary):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    port = ls.getsockname()[1]
    ls.close()  # nothing listens there now
    with relaymod.Relay(port, 5, binary=binary) as r:
        s = socket.create_connection((r.host, r.port), timeout=60)
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            s.sendall(b"hello")
            if s.recv(1) == b"":  # a plain EOF would hide the failure
                pytest.fail("the relay closed cleanly instead of resetting")
        s.close()


def test_server_reset_resets_the_client(binary):
    def rst(c):
        c.recv(1)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    srv = Server(rst)
    with relaymod.Relay(srv.port, 2, binary=binary) as r:
        s = socket.create_connection((r.host, r.port), timeout=60)
        s.sendall(b"x")
        with pytest.raises(ConnectionResetError):
            if s.recv(1) == b"":
                pytest.fail("the relay closed cleanly instead of resetting")
        s.close()
    srv.close()


def test_sigterm_with_open_connections_exits_cleanly(binary):
    srv = Server(echo)
    r = relaymod.Relay(srv.port, 5, binary=binary).start()
    conns = [socket.create_connection((r.host, r.port), timeout=60) for _ in range(3)]
    for s in conns:
        s.sendall(b"ping")
        assert recv_all(s, 4) == b"ping"
    assert r.stop() == 0
    for s in conns:  # the clients see the end (reset), never a hang
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        s.close()
    srv.close()


def test_relay_carries_an_ssh_session(binary):
    """With the harness's sshd (when the test runs under ctest): `ssh` through a 2 x 10 ms relay."""
    envf = os.environ.get("XSSH_TEST_ENV")
    if not envf or not os.path.exists(envf):
        pytest.skip("no sshd harness ($XSSH_TEST_ENV)")
    env = dict(ln.split("=", 1) for ln in open(envf).read().splitlines() if "=" in ln)
    port = int(env["XSSH_TEST_PORT"])
    with relaymod.Relay(port, 10, binary=binary) as r:
        kh = relaymod.known_hosts_for(env["XSSH_TEST_KNOWN_HOSTS"], port, r.port,
                                      os.path.join(env["XSSH_TEST_DIR"], "known_hosts-relay-%d" % r.port))
        out = subprocess.run(["ssh", "-F", "/dev/null", "-i", env["XSSH_TEST_KEY_ED25519"], "-o", "IdentitiesOnly=yes",
                              "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + kh,
                              "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
                              "-p", str(r.port), "%s@127.0.0.1" % env["XSSH_TEST_USER"],
                              "head -c 1000000 /dev/zero | sha256sum"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        os.unlink(kh)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == b"d29751f2649b32ff572b5e0a9f541ea660a50f94ff0beedfb0b692b924cc8025"
