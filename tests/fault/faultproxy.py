"""A TCP proxy on 127.0.0.1 that injects one fault into one connection.

Used by fault_sweep.py (import). Several connections may go through one proxy
(a ProxyJump hop or a direct-tcpip target connecting back through it); the
fault applies to connection number `conn` (0: the first accepted), the others
pass through untouched.

Modes, applied to direction `dir` ("c2s": client to server, "s2c") after
exactly `n` bytes of that direction were forwarded:
  none  forward everything (with `record`, the byte counts are the trace)
  cut   forward n bytes, then close both sides (FIN)
  rst   forward n bytes, then close both sides with SO_LINGER 0 (RST)
  hole  forward n bytes, then drop everything in that direction; both sockets
        stay open (a dead peer / black-holed route)
  frag  forward n bytes normally, then the next FRAG_WINDOW (600) bytes one send()
        each with a short pause, so the peer reads them one byte at a time
        (for at most FRAG_MAX_S, so the delay stays far below any timeout)
Every loop is bounded: the proxy stops by itself after `life_s` seconds.
"""
import socket
import struct
import threading
import time

FRAG_WINDOW = 600
FRAG_PAUSE_S = 0.0001
FRAG_MAX_S = 0.3  # the fragmenting stops after this long, however loaded the machine (bounded delay)


class _Conn:
    def __init__(self, index, c, u):
        self.index = index
        self.socks = (c, u)
        self.count = {"c2s": 0, "s2c": 0}
        self.head = {"c2s": b"", "s2c": b""}  # first bytes, to find the identification lines
        self.closed = threading.Event()


class FaultProxy:
    def __init__(self, upstream_port, mode="none", direction="c2s", n=0, conn=0, life_s=120):
        assert mode in ("none", "cut", "rst", "hole", "frag"), mode
        assert direction in ("c2s", "s2c"), direction
        self.up = upstream_port
        self.mode, self.dir, self.n, self.conn = mode, direction, n, conn
        self.fired_at = None  # monotonic time the fault happened
        self.conns = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.deadline = time.monotonic() + life_s
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def arm(self, mode, direction, after=0):
        """Set the fault now: `after` more bytes of `direction` on the faulty
        connection (from its count at this moment), then `mode`. For targeted
        tests: the client is idle between calls, so the point is exact."""
        assert mode in ("cut", "rst", "hole", "frag") and direction in ("c2s", "s2c")
        with self.lock:
            base = self.conns[self.conn].count[direction] if self.conn < len(self.conns) else 0
            self.mode, self.dir, self.n = mode, direction, base + after

    # ---- trace ---------------------------------------------------------------
    def counts(self, index=0):
        """(c2s, s2c) bytes forwarded so far on connection index (0, 0 before it exists)."""
        with self.lock:
            if index >= len(self.conns):
                return (0, 0)
            c = self.conns[index]
            return (c.count["c2s"], c.count["s2c"])

    def ident_lengths(self, index=0):
        """Bytes up to and including the first LF in each direction (the SSH
        identification line; lines before it included), or None."""
        with self.lock:
            if index >= len(self.conns):
                return None
            c = self.conns[index]
            out = []
            for d in ("c2s", "s2c"):
                h = c.head[d]
                i = h.find(b"SSH-")
                j = h.find(b"\n", i if i >= 0 else 0)
                out.append(j + 1 if i >= 0 and j >= 0 else None)
            return tuple(out)

    # ---- life ------------------------------------------------------------------
    def close(self):
        self.stop.set()
        try:
            self.ls.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            self._kill(c, False)
        self.thread.join(2)

    def _accept_loop(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                cs, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                us = socket.create_connection(("127.0.0.1", self.up), timeout=5)
            except OSError:
                cs.close()
                continue
            for s in (cs, us):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(0.2)
            with self.lock:
                c = _Conn(len(self.conns), cs, us)
                self.conns.append(c)
            for src, dst, d in ((cs, us, "c2s"), (us, cs, "s2c")):
                threading.Thread(target=self._pump, args=(c, src, dst, d), daemon=True).start()
        try:
            self.ls.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            self._kill(c, False)

    def _kill(self, c, rst):
        if c.closed.is_set():
            return
        c.closed.set()
        for s in c.socks:
            try:
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def _pump(self, c, src, dst, d):
        holed = False
        try:
            while not c.closed.is_set() and not self.stop.is_set() and time.monotonic() < self.deadline:
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                if not data:  # orderly EOF from src: pass it on (unless black-holed)
                    if not holed:
                        try:
                            dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    return
                if holed:
                    continue
                faulty = c.index == self.conn and d == self.dir and self.mode != "none"
                if len(c.head[d]) < 4096:
                    c.head[d] += data[:4096 - len(c.head[d])]
                if faulty and self.mode in ("cut", "rst", "hole"):
                    room = self.n - c.count[d]
                    if len(data) >= room:
                        if room > 0:
                            dst.sendall(data[:room])
                            with self.lock:
                                c.count[d] += room
                        self.fired_at = time.monotonic()
                        if self.mode == "hole":
                            holed = True
                            continue
                        self._kill(c, self.mode == "rst")
                        return
                if faulty and self.mode == "frag" and c.count[d] + len(data) > self.n:
                    i = 0
                    while i < len(data):
                        pos = c.count[d] + i
                        if self.fired_at is not None and time.monotonic() > self.fired_at + FRAG_MAX_S:
                            dst.sendall(data[i:])
                            break
                        if self.n <= pos < self.n + FRAG_WINDOW:
                            if self.fired_at is None:
                                self.fired_at = time.monotonic()
                            dst.sendall(data[i:i + 1])
                            time.sleep(FRAG_PAUSE_S)
                            i += 1
                        else:
                            end = len(data) if pos >= self.n + FRAG_WINDOW else min(len(data), i + self.n - pos)
                            dst.sendall(data[i:end])
                            i = end
                else:
                    dst.sendall(data)
                with self.lock:
                    c.count[d] += len(data)
        except OSError:
            pass
        # one side failed or went away: end the other side too (like a router would not,
        # but a proxy process must), unless this direction is black-holed
        if not holed:
            self._kill(c, False)


class EchoServer:
    """A TCP echo server on 127.0.0.1 (direct-tcpip target); bounded like the proxy."""

    def __init__(self, life_s=120):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.stop = threading.Event()
        self.deadline = time.monotonic() + life_s
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    def _echo(self, c):
        c.settimeout(0.2)
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                try:
                    data = c.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    c.shutdown(socket.SHUT_WR)
                    return
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop.set()
        try:
            self.ls.close()
        except OSError:
            pass
