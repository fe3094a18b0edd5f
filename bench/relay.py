# SPDX-License-Identifier: BSD-3-Clause
"""Start the delay relay (bench/relay.c, `xssh-relay`) from Python: for bench/wan.py and for tests.

    import sys; sys.path.insert(0, os.path.join(REPO, "bench"))
    from relay import Relay
    with Relay(to_port=sshd_port, delay_ms=25) as r:   # 25 ms each way: RTT 50 ms
        ...connect to ("127.0.0.1", r.port)...        # r.host, r.port; r.stats() after connections end

The relay listens on a free port of 127.0.0.1 and forwards each connection to
to_host:to_port, holding every byte delay_ms (up_delay_ms / down_delay_ms per
direction), optionally capped at rate_mibps. Use it in tests to force a path
(e.g. a round trip long enough that a pipeline must grow), never to assert a
speed. The binary: $XSSH_RELAY if set, else compiled from bench/relay.c with
`cc` on first use into a per-user cache directory (keyed by the source's hash),
so neither CMake nor a build directory is needed. Standard library only.

A client that checks host keys against a known_hosts file needs an entry for
[127.0.0.1]:<relay port>: known_hosts_for(path, sshd_port, relay.port, out) writes one.
With stats_file=PATH, r.stats() lists finished connections (bytes each way, peak
and average bytes queued per direction) and r.live() the open ones (SIGUSR1).
`python3 bench/relay.py [MiB] [delay_ms]` measures the relay's own ceiling.
"""
import hashlib
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "relay.c")
MiB = 1 << 20


class RelayError(Exception):
    pass


def build(out_dir=None):
    """Path of an xssh-relay binary: $XSSH_RELAY, or relay.c compiled (once per source version)."""
    if os.environ.get("XSSH_RELAY"):
        return os.environ["XSSH_RELAY"]
    src = open(SOURCE, "rb").read()
    tag = hashlib.sha256(src).hexdigest()[:12]
    out_dir = out_dir or os.path.join(tempfile.gettempdir(), "xssh-relay-%d" % os.getuid())
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, "xssh-relay-" + tag)
    if os.path.exists(exe):
        return exe
    tmp = "%s.%d.tmp" % (exe, os.getpid())
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-O2", "-g", "-Wall", "-o", tmp, SOURCE, "-lm"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode:
        raise RelayError("compiling %s with %s failed: %s" % (SOURCE, cc, r.stdout.decode()[-800:]))
    os.rename(tmp, exe)  # atomic: concurrent builders both end with a complete binary
    return exe


def known_hosts_for(src_path, from_port, to_port, out_path):
    """Copy a known_hosts file, also naming [host]:to_port for every [host]:from_port entry."""
    lines = open(src_path).read().splitlines()
    extra = [ln.replace("]:%d " % from_port, "]:%d " % to_port, 1) for ln in lines if "]:%d " % from_port in ln]
    with open(out_path, "w") as f:
        f.write("\n".join(lines + extra) + "\n")
    return out_path


class Relay:
    """One running xssh-relay process (context manager). host/port: where to connect."""

    def __init__(self, to_port, delay_ms=0.0, to_host="127.0.0.1", up_delay_ms=None, down_delay_ms=None,
                 rate_mibps=0.0, queue_mib=64, stats_file=None, binary=None, verbose=False):
        self.argv = [binary or build(), "--to", "%s:%d" % (to_host, to_port), "--delay-ms", str(delay_ms),
                     "--queue-mib", str(queue_mib)]
        if up_delay_ms is not None:
            self.argv += ["--up-delay-ms", str(up_delay_ms)]
        if down_delay_ms is not None:
            self.argv += ["--down-delay-ms", str(down_delay_ms)]
        if rate_mibps:
            self.argv += ["--rate-mibps", str(rate_mibps)]
        if stats_file:
            self.argv += ["--stats-file", stats_file]
        if verbose:
            self.argv.append("-v")
        self.stats_file = stats_file
        self.proc = None
        self.host, self.port = None, None

    def start(self, timeout=30):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        parts = line.split()
        if len(parts) != 3 or parts[0] != "LISTEN":
            self.stop()
            raise RelayError("xssh-relay did not start (%s): first line %r" % (" ".join(self.argv), line))
        self.host, self.port = parts[1], int(parts[2])
        return self

    def cpu_s(self):
        """CPU seconds (user+sys) the relay process has used so far."""
        return proc_cpu_s(self.proc.pid)

    def stats(self):
        """The --stats-file lines so far, each a dict (conn, dur_s, up/down_bytes, up/down_peak, up/down_avg)."""
        if not self.stats_file or not os.path.exists(self.stats_file):
            return []
        out = []
        for line in open(self.stats_file):
            if "=" in line and " live=1 " not in line:
                out.append({k: float(v) for k, v in (p.split("=", 1) for p in line.split())})
        return out

    def live(self, timeout=30):
        """The open connections now (SIGUSR1 dump): dicts as stats() plus up_queued/down_queued (bytes)."""
        if not self.stats_file:
            raise RelayError("live() needs a stats_file")

        def dumps():
            return open(self.stats_file).read().count("dump\n") if os.path.exists(self.stats_file) else 0
        n = dumps()
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while dumps() == n:
            if time.monotonic() > deadline:
                raise RelayError("xssh-relay did not answer SIGUSR1 within %s s" % timeout)
            time.sleep(0.005)
        block = open(self.stats_file).read().split("dump\n")[n]  # the lines of this dump
        return [{k: float(v) for k, v in (p.split("=", 1) for p in line.split())}
                for line in block.splitlines() if " live=1 " in line]

    def stop(self, timeout=10):
        """SIGTERM, wait; the exit status (0 after a clean shutdown)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def proc_cpu_s(pid, children=False):
    """utime+stime of a process (children=True: of its reaped children), in seconds."""
    f = open("/proc/%d/stat" % pid).read()
    fields = f[f.rindex(")") + 2:].split()
    tick = os.sysconf("SC_CLK_TCK")
    if children:
        return (int(fields[13]) + int(fields[14])) / tick
    return (int(fields[11]) + int(fields[12])) / tick


SINK = r"""
import socket, sys, time
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
print(ls.getsockname()[1], flush=True)
c, _ = ls.accept()
buf = bytearray(1 << 20)
n = 0
while True:
    k = c.recv_into(buf)
    if not k:
        break
    n += k
print(n, time.monotonic(), flush=True)
"""


def stream(nbytes, delay_ms=0.0, binary=None, queue_mib=64, direct=True):
    """One plain TCP stream of nbytes through a relay (delay_ms each way), and the same without it.

    The source is this process (sendall of a 1 MiB buffer), the sink a child process reading to EOF;
    the time runs from the first byte sent to the last byte read (CLOCK_MONOTONIC on both sides).
    Returns dict(relay_mibps, relay_cpu_s, direct_mibps (None unless direct))."""

    def run(through_relay):
        sink = subprocess.Popen([sys.executable, "-c", SINK], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        relay = None
        try:
            ready, _, _ = select.select([sink.stdout], [], [], 30)
            port = int(sink.stdout.readline() or 0) if ready else 0
            if not port:
                raise RelayError("stream: the sink did not start")
            if through_relay:
                relay = Relay(port, delay_ms, binary=binary, queue_mib=queue_mib).start()
                port = relay.port
            s = socket.create_connection(("127.0.0.1", port), timeout=300)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            block = memoryview(os.urandom(1 << 20))
            c0 = relay.cpu_s() if relay else 0.0
            t0 = time.monotonic()
            left = nbytes
            while left:
                k = min(left, len(block))
                s.sendall(block[:k])
                left -= k
            s.shutdown(socket.SHUT_WR)
            ready, _, _ = select.select([sink.stdout], [], [], 300)
            line = sink.stdout.readline().split() if ready else []
            s.close()
            if len(line) != 2 or int(line[0]) != nbytes:
                raise RelayError("stream: the sink read %s of %d bytes" % (line[:1] or "?", nbytes))
            return nbytes / MiB / (float(line[1]) - t0), (relay.cpu_s() - c0 if relay else 0.0)
        finally:
            if relay:
                relay.stop()
            sink.kill()
            sink.wait()
            sink.stdout.close()

    relay_mibps, cpu = run(True)
    direct_mibps = run(False)[0] if direct else None
    return dict(relay_mibps=relay_mibps, relay_cpu_s=cpu, direct_mibps=direct_mibps)


if __name__ == "__main__":
    # python3 bench/relay.py [MiB] [delay_ms]: the relay's ceiling (one TCP stream through it)
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    d = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    r = stream(mib * MiB, d)
    print("%d MiB, delay %.1f ms each way: through the relay %.0f MiB/s (relay CPU %.2f s), direct %.0f MiB/s"
          % (mib, d, r["relay_mibps"], r["relay_cpu_s"], r["direct_mibps"]))
