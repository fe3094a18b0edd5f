#!/usr/bin/env python3
"""Faults at every phase: a deterministic, bounded sweep of network faults.

For each scenario (exec, run, sftp_get/put, scp_get/put, direct_tcpip, proxyjump)
and each client (C: the fault_client binary; Python: fault_client.py):
  1. trace: run it once through a fault-free proxy, stopping at each phase mark,
     and record the bytes forwarded per direction at every phase boundary;
  2. sweep: for every phase and direction, cut (FIN), reset (RST), black-hole or
     fragment the stream at offsets chosen from that trace (the phase's first
     byte, one byte in, its middle; --full adds more), one child process per case.
Every case must end within LIMIT = 3 x session timeout + 6 s with either a
verified success (outputs, exit status and SHA-256 of transferred files checked
through a separate clean session) or an xssh error whose message names the
cause. A child still running at LIMIT is a hang, one that dies without a result
a crash, an unverified success a false success.

  XSSH_TEST_ENV=... fault_sweep.py --lang c --client build/tests/fault_client \
      [--full] [--jobs 2] [--summary out.json] [--scenario exec,...]
Exit status 0 only when every case passed. The summary (JSON) has the counts.
"""
import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultproxy import EchoServer, FaultProxy  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = ["exec", "run", "sftp_get", "sftp_put", "scp_get", "scp_put", "direct_tcpip", "proxyjump"]
# phases swept per scenario and leg ("outer": client <-> sshd; "inner": the hop
# carried inside the SSH connection: sshd -> echo server, or sshd -> target sshd)
SWEEP = {
    "exec": {"outer": ["ident", "kex", "auth", "open", "exec", "read", "close"]},
    "run": {"outer": ["run"]},
    "sftp_get": {"outer": ["sftp", "transfer"]},
    "sftp_put": {"outer": ["sftp", "transfer"]},
    "scp_get": {"outer": ["transfer"]},
    "scp_put": {"outer": ["transfer"]},
    "direct_tcpip": {"outer": ["open", "echo"], "inner": ["echo"]},
    "proxyjump": {"outer": ["via", "tauth", "run"], "inner": ["ident", "kex", "tauth", "run"]},
}
MODES = ["cut", "rst", "hole", "frag"]
FILE_SIZE = 300000

# Messages that name the clean-up or a wrong cause instead of the fault (defect 8).
BAD_WORDS = [
    ("closing anyway", "names the clean-up, not the cause"),
    ("ESOCKET_NONE", "handshake failure reported as XSSH_ESOCKET_NONE"),
    ("MaxAuthTries", "MaxAuthTries hint after a transport fault"),
    ("idle timeout", "'idle timeout' although no idle timeout was set"),
]


CAUSE_WORDS = ("closed the connection", "reset by", "EPIPE", "end of stream")
# a black hole: a wait ran out ("timed out", "did not arrive in time" for a
# channel's CLOSE) or the keepalive probe of a silent run() found the peer dead
HOLE_WORDS = ("timed out", "in time", "presumed dead")
LOST_CODES = ("XSSH_EHANDSHAKE", "XSSH_ESOCKET_DISCONNECT", "XSSH_ESOCKET_RECV", "XSSH_ESOCKET_SEND")


def expectations(c, e, phase):
    """What the error of a case must say (the first cause, with its phase)."""
    name, msg, bad = e.get("name") or "", e.get("message") or "", []
    if c["mode"] == "frag":
        bad.append("a fragmented stream must not fail")
    if phase == "ident" and "SSH handshake" in msg and not ("key exchange" in msg or "identification" in msg):
        bad.append("a handshake failure names its phase (identification or key exchange)")
    if phase in ("auth", "tauth") and "authentication" not in msg and "SSH handshake" not in msg:
        bad.append("a failure during authentication says so")
    lost_conn = c["leg"] == "outer" or c["scenario"] == "proxyjump"
    if c["mode"] in ("cut", "rst") and lost_conn and c["fired"]:
        if name not in LOST_CODES or not any(w in msg for w in CAUSE_WORDS):
            bad.append("a cut/reset connection is named as such (%s)" % "/".join(LOST_CODES))
    if c["mode"] == "hole" and lost_conn and c["fired"] and (
            name != "XSSH_ETIMEOUT" or not any(w in msg for w in HOLE_WORDS)):
        bad.append("a black-holed connection ends with XSSH_ETIMEOUT saying so (%s)" % " / ".join(HOLE_WORDS))
    return bad


def load_env():
    path = os.environ.get("XSSH_TEST_ENV")
    if not path or not os.path.exists(path):
        sys.exit("set XSSH_TEST_ENV to the env file of tests/harness/sshd_harness.py")
    env = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    return env


class Sweep:
    def __init__(self, args, env):
        self.args, self.env = args, env
        self.t_ms = args.timeout_ms
        self.limit = 3 * self.t_ms / 1000.0 + 6.0
        self.work = os.path.join(env["XSSH_TEST_DIR"], "fault-%d" % os.getpid())
        os.makedirs(self.work, exist_ok=True)
        rnd = random.Random(20261129)
        data = bytes(rnd.getrandbits(8) for _ in range(FILE_SIZE))
        self.src = os.path.join(self.work, "source.bin")
        with open(self.src, "wb") as f:
            f.write(data)
        self.sha = hashlib.sha256(data).hexdigest()
        self.seq = 0
        self.seq_lock = threading.Lock()

    def command(self, lang):
        if lang == "c":
            return [self.args.client]
        return [sys.executable, os.path.join(HERE, "fault_client.py")]

    def child_env(self, lang):
        e = dict(os.environ)
        if lang == "python" and self.args.pythonpath:
            e["PYTHONPATH"] = self.args.pythonpath + (":" + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
        e["PYTHONDONTWRITEBYTECODE"] = "1"
        return e

    def case_args(self, scen, outer_port, inner_port, trace):
        with self.seq_lock:
            self.seq += 1
            k = self.seq
        a = {"timeout_ms": self.t_ms, "user": self.env["XSSH_TEST_USER"], "key": self.env["XSSH_TEST_KEY_ED25519"],
             "port": outer_port, "direct_port": self.env["XSSH_TEST_PORT"], "trace": 1 if trace else 0,
             "sha256": self.sha, "remote_src": self.src, "local_src": self.src,
             "local_dst": os.path.join(self.work, "get-%d.bin" % k),
             "remote_dst": os.path.join(self.work, "put-%d.bin" % k)}
        if inner_port:
            a["inner_port"] = inner_port
        return ["%s=%s" % kv for kv in a.items()], a

    def legs(self, scen, fault_leg="outer", mode="none", d="c2s", n=0):
        """(outer proxy, inner proxy or None, echo server or None)."""
        echo = None
        inner = None
        if scen == "direct_tcpip":
            echo = EchoServer()
            inner = FaultProxy(echo.port, *(("none", "c2s", 0) if fault_leg != "inner" else (mode, d, n)))
        elif scen == "proxyjump":
            inner = FaultProxy(int(self.env["XSSH_TEST_PORT"]),
                               *(("none", "c2s", 0) if fault_leg != "inner" else (mode, d, n)))
        outer = FaultProxy(int(self.env["XSSH_TEST_PORT"]),
                           *(("none", "c2s", 0) if fault_leg != "outer" else (mode, d, n)))
        return outer, inner, echo

    # ---- trace -------------------------------------------------------------------
    def trace(self, lang, scen):
        outer, inner, echo = self.legs(scen)
        argv, a = self.case_args(scen, outer.port, inner.port if inner else None, True)
        p = subprocess.Popen(self.command(lang) + [scen] + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.child_env(lang))
        marks = []  # (phase, {"outer": (c2s, s2c), "inner": (...)})
        result = None
        timer = threading.Timer(60, p.kill)
        timer.start()
        try:
            for line in p.stdout:
                if line.startswith("MARK "):
                    time.sleep(0.05)  # let the proxy's pumps finish counting what the client already got
                    marks.append((line.split()[1], {"outer": outer.counts(), "inner": inner.counts() if inner else (0, 0)}))
                    p.stdin.write("\n")
                    p.stdin.flush()
                elif line.startswith("RESULT "):
                    result = json.loads(line[7:])
            p.wait()
        finally:
            timer.cancel()
        idents = {"outer": outer.ident_lengths(), "inner": inner.ident_lengths() if inner else None}
        final = {"outer": outer.counts(), "inner": inner.counts() if inner else (0, 0)}
        for x in (outer, inner, echo):
            if x:
                x.close()
        self.cleanup(a)
        if not result or not result.get("ok") or not result.get("verified"):
            raise SystemExit("clean trace run of %s/%s failed: %r stderr=%s" % (lang, scen, result, p.stderr.read()))
        # phase boundaries per leg: ident starts at 0, kex after the identification lines,
        # then one phase per mark; the last one ends at the final counts
        phases = {}
        for leg in ("outer", "inner"):
            bounds = [("ident", (0, 0))]
            if idents[leg] and None not in idents[leg]:
                bounds.append(("kex", idents[leg]))
            for name, cnt in marks:
                bounds.append((name, cnt[leg]))
            bounds.append(("_final", final[leg]))
            ph = {}
            for i in range(len(bounds) - 1):
                name, start = bounds[i]
                end = bounds[i + 1][1]
                ph[name] = {"c2s": (start[0], end[0]), "s2c": (start[1], end[1])}
            phases[leg] = ph
        return phases

    # ---- cases ---------------------------------------------------------------------
    def offsets(self, a, b, mode):
        """Offsets for one phase [a, b) of one direction."""
        if b <= a:
            return []
        mid = a + (b - a) // 2
        if self.args.full:
            c = {a, a + 1, a + (b - a) // 4, mid, a + 3 * (b - a) // 4, b - 1}
        elif mode == "cut":
            c = {a + 1, mid}
        elif mode == "frag":
            c = {a}
        elif mode == "hole":
            c = {a + 1} if b - a < 64 else {mid}
        else:  # rst
            c = {mid}
        return sorted(x for x in c if a <= x < b)

    def cases(self, lang, scen, phases):
        out = []
        for leg, names in SWEEP[scen].items():
            for name in names:
                ph = phases[leg].get(name)
                if not ph:
                    continue
                for d in ("c2s", "s2c"):
                    a, b = ph[d]
                    for mode in MODES:
                        for n in self.offsets(a, b, mode):
                            out.append({"lang": lang, "scenario": scen, "leg": leg, "phase": name, "dir": d,
                                        "mode": mode, "n": n})
        return out

    def cleanup(self, a):
        for k in ("local_dst", "remote_dst"):
            try:
                os.unlink(a[k])
            except OSError:
                pass

    def run_case(self, c):
        outer, inner, echo = self.legs(c["scenario"], c["leg"], c["mode"], c["dir"], c["n"])
        argv, a = self.case_args(c["scenario"], outer.port, inner.port if inner else None, False)
        t0 = time.monotonic()
        p = subprocess.Popen(self.command(c["lang"]) + [c["scenario"]] + argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.child_env(c["lang"]))
        hung = False
        try:
            out, err = p.communicate(timeout=self.limit)
        except subprocess.TimeoutExpired:
            hung = True
            p.kill()
            out, err = p.communicate()
        elapsed = time.monotonic() - t0
        fault = outer if c["leg"] == "outer" else inner
        fired = fault.fired_at is not None
        for x in (outer, inner, echo):
            if x:
                x.close()
        self.cleanup(a)
        res = None
        marks = []
        for line in out.splitlines():
            if line.startswith("RESULT "):
                res = json.loads(line[7:])
            elif line.startswith("MARK "):
                marks.append(line.split()[1])
        c = dict(c, elapsed=round(elapsed, 2), fired=fired, marks=marks)
        if hung:
            c.update(outcome="hang", why="still running after %.1f s (last mark %s)" % (self.limit, marks[-1:]))
        elif p.returncode != 0 or res is None:
            c.update(outcome="crash", why="exit status %s, no result; stderr: %s" % (p.returncode, err[-800:]))
        elif res.get("ok"):
            if res.get("verified"):
                c.update(outcome="success", why=res.get("detail"))
            elif (c["scenario"] == "direct_tcpip" and c["leg"] == "inner" and c["mode"] in ("cut", "rst")
                  and "(a prefix)" in (res.get("detail") or "")):
                # the echo server's connection really ended early: the tunnel reports
                # that as end of stream, with every byte before it intact
                c.update(outcome="success", why="far end closed early: " + res.get("detail"))
            else:
                c.update(outcome="false_success", why=res.get("detail"))
        else:
            e = res.get("error") or {}
            c.update(error=e, err_phase=res.get("phase"))
            msg = e.get("message") or ""
            bad = [why for word, why in BAD_WORDS if word in msg]
            if not e.get("name", "").startswith("XSSH_") and not e.get("class"):
                bad.append("not an xssh error")
            if e.get("name", "").startswith("PYTHON:") or e.get("code") in (None, 0):
                bad.append("not an xssh error")
            if not msg.strip():
                bad.append("empty message")
            bad += expectations(c, e, res.get("phase"))
            if bad:
                c.update(outcome="bad_error", why="; ".join(bad))
            else:
                c.update(outcome="error", why=None)
        return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lang", default="both", choices=["c", "python", "both"])
    ap.add_argument("--client", help="the C fault_client binary")
    ap.add_argument("--pythonpath", help="where the xssh Python package is (build/python)")
    ap.add_argument("--scenario", default=",".join(SCENARIOS))
    ap.add_argument("--full", action="store_true", help="denser sweep: 6 offsets per phase, every mode")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout-ms", type=int, default=2000, help="the clients' session timeout")
    ap.add_argument("--summary", help="write the JSON summary here")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    args = ap.parse_args()
    langs = ["c", "python"] if args.lang == "both" else [args.lang]
    if "c" in langs and not args.client:
        ap.error("--client is needed for the C sweep")
    env = load_env()
    sw = Sweep(args, env)
    t0 = time.monotonic()
    cases, traces = [], {}
    for lang in langs:
        for scen in args.scenario.split(","):
            ph = sw.trace(lang, scen)
            traces["%s/%s" % (lang, scen)] = ph
            cases += sw.cases(lang, scen, ph)
    if args.list:
        for c in cases:
            print(json.dumps(c))
        return 0
    print("fault sweep: %d cases, %d jobs, session timeout %d ms, limit %.1f s per case" %
          (len(cases), args.jobs, args.timeout_ms, sw.limit), flush=True)
    results = []
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for r in ex.map(sw.run_case, cases):
            results.append(r)
            if r["outcome"] not in ("success", "error"):
                print("FAIL %(outcome)s %(lang)s %(scenario)s leg=%(leg)s phase=%(phase)s dir=%(dir)s "
                      "mode=%(mode)s n=%(n)d after %(elapsed).1fs: %(why)s" % r, flush=True)
                if r.get("error"):
                    print("     error: %s" % json.dumps(r["error"]), flush=True)
    counts = {k: 0 for k in ("cases", "success", "error", "hang", "crash", "false_success", "bad_error")}
    counts["cases"] = len(results)
    for r in results:
        counts[r["outcome"]] += 1
    by = {}
    for r in results:
        key = "%s/%s" % (r["lang"], r["scenario"])
        b = by.setdefault(key, {"cases": 0, "success": 0, "error": 0, "failed": 0})
        b["cases"] += 1
        b[r["outcome"] if r["outcome"] in ("success", "error") else "failed"] += 1
    by_mode = {}
    for r in results:
        b = by_mode.setdefault("%s/%s" % (r["lang"], r["mode"]), {"cases": 0, "success": 0, "error": 0, "failed": 0})
        b["cases"] += 1
        b[r["outcome"] if r["outcome"] in ("success", "error") else "failed"] += 1
    slowest = max((r["elapsed"] for r in results), default=0)
    summary = {"counts": counts, "by_scenario": by, "by_mode": by_mode, "session_timeout_ms": args.timeout_ms,
               "limit_s": sw.limit, "slowest_case_s": slowest, "full": args.full,
               "wall_s": round(time.monotonic() - t0, 1),
               "messages": sorted({"%s %s: %s" % (r["error"].get("name"), r["mode"], r["error"].get("message"))
                                   for r in results if r.get("error")})[:400],
               "failures": [r for r in results if r["outcome"] not in ("success", "error")],
               "traces": traces}
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=1)
    print("fault sweep: %s; slowest case %.1f s (limit %.1f s); %.0f s in all" %
          (json.dumps(counts), slowest, sw.limit, summary["wall_s"]), flush=True)
    ok = counts["cases"] > 0 and counts["cases"] == counts["success"] + counts["error"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
