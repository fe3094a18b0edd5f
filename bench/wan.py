# SPDX-License-Identifier: BSD-3-Clause
"""The `wan` workload of bench/run: SFTP get and put through a delay relay (bench/relay.c).

    bench/run --workload wan [--quick] [--clients openssh,xssh-c,...] [--reps N]
    BENCH_WAN_RTTS=0,20,100 BENCH_WAN_MIB=64 BENCH_WAN_MIB0=256   (environment overrides)

For each round trip (RTT 0, 20 and 100 ms; --quick: 20 ms only) one xssh-relay
runs between every client and the sshd, holding every byte RTT/2 in each
direction. First the relay's own ceiling at that setting is measured (one plain
TCP stream through it, no SSH); then each client gets and puts a random file
(64 MiB; 256 MiB at RTT 0; --quick: 8 MiB), SHA-256 checked after every run,
clients alternating round-robin as in every bench/run workload.

Per run the table gives the transfer rate (timed inside the client), the bound
bytes-in-flight / RTT for that client (its SFTP pipeline and SSH channel
window, see IN_FLIGHT; at RTT 0 the relay's ceiling), the client's, the sshd
session's and the relay's CPU, and the peak of the data queued in the relay in
the data's direction (what the client really kept in flight one way), and
"cores busy": (client + sshd + relay CPU) / the client's wall time (2 = both
cores of this machine, i.e. CPU-bound; connection set-up included).
"""
import os
import re
import statistics
import sys
import time

import relay as relaymod

MiB = 1 << 20
CLIENTS = ["openssh", "libssh2", "paramiko", "asyncssh", "xssh-c", "xssh-py"]

# Bytes each client keeps in flight (payload), and why: min(SFTP pipeline, SSH channel window).
# get: the client's own receive window bounds the data in flight; put: the server's (sshd:
# CHAN_SES_WINDOW_DEFAULT, 64 x 32 KiB = 2 MiB).
XSSH_NOTE = ("xssh (capi/src/sftp_transfer.c, default xssh_transfer_opts): a 1.05 MB window (35 x 30000 B) "
             "handed to libssh2; libssh2 1.10 reads ahead 4x the buffer (4.2 MB) and widens the receive "
             "window to 8x that; put keeps the 1.05 MB window of 30000-byte WRITEs in flight")
IN_FLIGHT = {
    "openssh": (2 * MiB, 2 * MiB, "sftp -R 64 requests x -B 32768 bytes (defaults) = 2 MiB each way; the ssh "
                                  "channel window is 2 MiB too"),
    "libssh2": (4 * MiB, 1 * MiB, "libssh2_sftp_read with a 1 MiB buffer reads ahead 4 x 1 MiB (and widens the "
                                  "channel window to 32 MiB); libssh2_sftp_write sends the buffer it is given "
                                  "(<= 1 MiB) as 30000-byte WRITEs and returns on the first acks"),
    "paramiko": (2 * MiB, 2 * MiB, "get: prefetch() requests the whole file in 32 KiB reads at once, the "
                                   "2 MiB channel window (DEFAULT_WINDOW_SIZE) bounds it; put: pipelined 32 KiB "
                                   "writes, bounded by sshd's 2 MiB window"),
    "asyncssh": (2 * MiB, 2 * MiB, "block_size 16 KiB x max_requests 128 = 2 MiB (AsyncSSH 2.10 defaults); "
                                   "window 2 MiB"),
    "xssh-c": (4200000, 1050000, XSSH_NOTE),
    "xssh-py": (4200000, 1050000, XSSH_NOTE + " (the same C engine under the Python binding)"),
}


def _xssh_engine_in_flight():
    """(get, put, note) for xssh's whole-file SFTP engine (capi/src/sftp_engine.c) when the tree has it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    hdr = os.path.join(root, "capi", "src", "sftp_internal.h")
    if not os.path.exists(os.path.join(root, "capi", "src", "sftp_engine.c")) or not os.path.exists(hdr):
        return None
    text = open(hdr).read()
    cap = re.search(r"#define XSSH__ENG_AUTO_CAP \((\d+)u \* 1024 \* 1024\)", text)
    chans = re.search(r"#define XSSH__ENG_AUTO_CHANNELS (\d+)", text)
    if not cap or not chans:
        return None
    cap, chans = int(cap.group(1)) * MiB, int(chans.group(1))
    put = min(cap, chans * 2 * MiB)
    return (cap, put, "xssh's whole-file engine (capi/src/sftp_engine.c): the window starts from the measured "
                      "round trip and doubles while throughput grows, up to %d MiB (XSSH__ENG_AUTO_CAP), with a "
                      "receive window above that for get; put: up to %d channels (XSSH__ENG_AUTO_CHANNELS), each "
                      "with sshd's 2 MiB window: at most %d MiB" % (cap // MiB, chans, put // MiB))


_eng = _xssh_engine_in_flight()
if _eng:
    IN_FLIGHT["xssh-c"] = _eng
    IN_FLIGHT["xssh-py"] = (_eng[0], _eng[1], _eng[2] + " (the same C engine under the Python binding)")

# BENCH_WAN_INFLIGHT_<client>=GET,PUT (bytes) overrides an entry (e.g. after the xssh engine changes)
for _name in list(IN_FLIGHT):
    _v = os.environ.get("BENCH_WAN_INFLIGHT_" + _name.replace("-", "_").upper())
    if _v:
        _g, _p = (int(x) for x in _v.split(","))
        IN_FLIGHT[_name] = (_g, _p, "set by BENCH_WAN_INFLIGHT_%s" % _name.replace("-", "_").upper())


def make_file(path, size):
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            left = size
            while left:
                n = min(left, 8 * MiB)
                f.write(os.urandom(n))
                left -= n
        os.rename(path + ".tmp", path)
    return path


def sshd_pid(env):
    try:
        return int(open(os.path.join(env["XSSH_TEST_DIR"], "sshd.pid")).read().strip())
    except (KeyError, OSError, ValueError):
        return None


def children_of(pid):
    try:
        return open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError:
        return []


def run(cfg, clients, out, R):
    """Run the wan workload; R is bench/run's namespace (Workload, run_workload, sha256, ...). Returns failures."""
    rtts = [int(x) for x in os.environ.get("BENCH_WAN_RTTS", "20" if cfg.quick else "0,20,100").split(",")]
    mib = int(os.environ.get("BENCH_WAN_MIB", "8" if cfg.quick else "64"))
    mib0 = int(os.environ.get("BENCH_WAN_MIB0", "8" if cfg.quick else "256"))
    for c in clients:
        if c.name in CLIENTS:
            c.workloads = set(c.workloads) | {"wan"}
    try:
        binary = relaymod.build(cfg.bindir)
    except relaymod.RelayError as e:
        text = "### wan\n\n- skipped: the relay does not build: %s\n" % e
        print(text)
        out.append(text)
        return []
    spid = sshd_pid(cfg.env)
    port = int(cfg.env["BENCH_PORT"])
    failed = []
    summary = {}  # (rtt, direction) -> {client: median MiB/s}
    ceilings = []

    class WanTransfer(R.Workload):
        reference = "openssh"
        reps_full, reps_quick = 3, 1
        timeout = int(os.environ.get("BENCH_TIMEOUT", "600"))

        def __init__(self, rtt, direction, relay, kh, src, size, ceiling):
            super().__init__(cfg)
            self.rtt, self.direction, self.relay, self.kh = rtt, direction, relay, kh
            self.name = "wan_%s_%dms" % (direction, rtt)
            self.client_workload = "sftp_" + direction
            self.src, self.size, self.ceiling = src, size, ceiling
            self.want = R.sha256(src)
            self.dst = os.path.join(cfg.data_dir, "wan-copy.bin")
            self.title = ("wan: SFTP %s of %d MiB through the relay, RTT %d ms (%s each way), SHA-256 verified "
                          "(MiB/s timed inside the client; bound = bytes in flight / RTT, or the relay's ceiling)"
                          % (direction, size // MiB, rtt, "%g ms" % (rtt / 2.0)))
            size_mib = size / MiB
            self.metrics = [
                R.metric("MiB/s", lambda r: size_mib / r.kv["xfer_s"], fmt="%.1f", better="higher"),
                R.metric("bound MiB/s", lambda r: r.kv["bound"], fmt="%.0f", ratio=False),
                R.metric("% of bound", lambda r: 100.0 * size_mib / r.kv["xfer_s"] / r.kv["bound"], fmt="%.0f",
                         ratio=False),
                R.metric("in flight MiB (rate x RTT)", lambda r: size_mib / r.kv["xfer_s"] * rtt / 1e3,
                         fmt="%.2f", ratio=False),
                R.metric("relay queue peak MiB", lambda r: r.kv.get("queue_peak", float("nan")) / MiB, fmt="%.2f",
                         ratio=False),
                R.metric("client CPU s", lambda r: r.cpu, fmt="%.2f", ratio=False),
                R.metric("sshd CPU s", lambda r: r.kv.get("sshd_cpu", float("nan")), fmt="%.2f", ratio=False),
                R.metric("relay CPU s", lambda r: r.kv.get("relay_cpu", float("nan")), fmt="%.2f", ratio=False),
                R.metric("cores busy", lambda r: (r.cpu + r.kv.get("sshd_cpu", 0) + r.kv.get("relay_cpu", 0)) / r.wall,
                         fmt="%.2f", ratio=False),
            ]
            self.results = {}

        def before_run(self, client):
            if os.path.exists(self.dst):
                os.unlink(self.dst)
            # the clients connect to the relay: its port, and a known_hosts naming it
            self._saved_env = client.env
            client.env = dict(client.env, BENCH_PORT=str(self.relay.port), BENCH_KNOWN_HOSTS=self.kh)
            self._nstats = len(self.relay.stats())
            self._relay_cpu0 = self.relay.cpu_s()
            self._sshd_cpu0 = relaymod.proc_cpu_s(spid, children=True) if spid else None

        def args(self, client):
            return [self.src, self.dst]  # absolute paths: the server runs on this machine as this user

        def check(self, client, r):
            R.Workload.check(self, client, r)
            if "xfer_s" not in r.kv:
                r.kv["xfer_s"] = r.wall
            got = R.sha256(self.dst) if os.path.exists(self.dst) else "(no file)"
            if got != self.want:
                raise R.Failure("SHA-256 mismatch: %s has %s, want %s (%d of %d bytes)" % (
                    self.dst, got, self.want, os.path.getsize(self.dst) if os.path.exists(self.dst) else -1,
                    self.size))
            # the connection's relay statistics arrive when both directions have closed; the sshd
            # session's CPU when the listener has reaped it (bounded waits: the figures are extras)
            stats = []
            w0 = time.monotonic()
            for _ in range(500):
                stats = self.relay.stats()[self._nstats:]
                if stats and (not spid or not children_of(spid)):
                    break
                time.sleep(0.02)
            r.kv["stats_wait_s"] = round(time.monotonic() - w0, 3)
            data_dir = "down" if self.direction == "get" else "up"
            if stats:
                r.kv["queue_peak"] = max(s[data_dir + "_peak"] for s in stats)
                r.kv["conns"] = len(stats)
            r.kv["relay_cpu"] = self.relay.cpu_s() - self._relay_cpu0
            if spid:
                r.kv["sshd_cpu"] = relaymod.proc_cpu_s(spid, children=True) - self._sshd_cpu0
            inflight = IN_FLIGHT.get(client.name, (0, 0, ""))[0 if self.direction == "get" else 1]
            bound = self.ceiling
            if self.rtt and inflight:
                bound = min(bound, inflight / MiB / (self.rtt / 1e3))
            r.kv["bound"] = bound
            self.results.setdefault(client.name, []).append(r)

        def after_run(self, client):
            client.env = self._saved_env
            if os.path.exists(self.dst):
                os.unlink(self.dst)

    for rtt in rtts:
        size = (mib0 if rtt == 0 else mib) * MiB
        src = make_file(os.path.join(cfg.data_dir, "wan-random-%d.bin" % (size // MiB)), size)
        stats_file = os.path.join(cfg.data_dir, "relay-%dms.stats" % rtt)
        # the relay's own ceiling at this setting: one TCP stream (no SSH) through a relay like it
        ceil_mib = 8 if cfg.quick else 256
        load0 = os.getloadavg()[0]
        c = relaymod.stream(ceil_mib * MiB, rtt / 2.0, binary=binary, direct=not cfg.quick)
        ceilings.append((rtt, ceil_mib, c, load0))
        relay = relaymod.Relay(port, rtt / 2.0, binary=binary, stats_file=stats_file).start()
        try:
            kh = relaymod.known_hosts_for(cfg.env["BENCH_KNOWN_HOSTS"], port, relay.port,
                                          os.path.join(cfg.data_dir, "known_hosts-%dms" % rtt))
            for direction in ("get", "put"):
                wl = WanTransfer(rtt, direction, relay, kh, src, size, c["relay_mibps"])
                failed += R.run_workload(cfg, wl, clients, out)
                summary[(rtt, direction)] = {name: statistics.median(
                    [wl.size / MiB / r.kv["xfer_s"] for r in rs]) for name, rs in wl.results.items() if rs}
        finally:
            rc = relay.stop()
            if rc != 0:
                print("bench: xssh-relay exited with status %s" % rc, file=sys.stderr)
                failed.append((None, "xssh-relay exited with status %s" % rc))

    lines = ["### wan: the relay's own ceiling (one plain TCP stream through it, no SSH; Python source and sink)",
             "", "| RTT ms | MiB | through the relay MiB/s | relay CPU s | direct (no relay) MiB/s | load avg (1 min) |",
             "|--:|--:|--:|--:|--:|--:|"]
    for rtt, m, c, load in ceilings:
        lines.append("| %d | %d | %.0f | %.2f | %s | %.1f |" % (
            rtt, m, c["relay_mibps"], c["relay_cpu_s"],
            "%.0f" % c["direct_mibps"] if c["direct_mibps"] else "–", load))
    lines += ["", "The relay's queue limit (64 MiB per direction) alone caps a stream at 64 MiB / (RTT/2): "
              "1280 MiB/s at 100 ms. Load average at the end: %.1f (%d CPUs; other work on the machine "
              "counts)." % (os.getloadavg()[0], os.cpu_count() or 0), ""]
    names = [c for c in clients if any(c.name in v for v in summary.values())]
    if names:
        hdr = ["client"] + ["%s %d ms" % (d, rtt) for rtt in rtts for d in ("get", "put")]
        lines += ["### wan: summary, median MiB/s (×OpenSSH sftp in the same run)", "",
                  "| " + " | ".join(hdr) + " |", "|" + "|".join(["---"] + ["--:"] * (len(hdr) - 1)) + "|"]
        for c in names:
            cells = [c.label]
            for rtt in rtts:
                for d in ("get", "put"):
                    v = summary.get((rtt, d), {})
                    if c.name not in v:
                        cells.append("–")
                        continue
                    ref = v.get("openssh")
                    cells.append("%.1f" % v[c.name] + (" ×%.2f" % (v[c.name] / ref) if ref else ""))
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "Bytes in flight assumed for the bound (get / put):"]
        for c in names:
            if c.name in IN_FLIGHT:
                g, p, why = IN_FLIGHT[c.name]
                lines.append("- %s: %.2f / %.2f MiB: %s" % (c.label, g / MiB, p / MiB, why))
        lines.append("")
    text = "\n".join(lines)
    print(text)
    sys.stdout.flush()
    out.append(text)
    return failed
