# SPDX-License-Identifier: BSD-3-Clause
"""Run an exit-test program N times per exit mode while both cores are busy.

    run_exit.py --runs N --modes exit,_exit=7,end=0 [--expect 7] -- PROGRAM ARGS... ({mode} is replaced)

Each mode is "name" (expects --expect) or "name=code". A CPU hog (stress-ng when
installed, else plain busy-loop processes) runs on every core for the whole run,
so thread scheduling at exit is as uneven as on a busy machine. Every run must
end with the expected exit code: a signal (SIGSEGV, SIGABRT...), another code or
a hang (120 s) fails the test. Prints one line per mode and the failures' stderr.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time


def start_hog():
    n = os.cpu_count() or 2
    if shutil.which("stress-ng"):
        cmd = ["stress-ng", "--cpu", str(n), "--timeout", "900s", "--quiet"]
    else:
        cmd = [sys.executable, "-c",
               "import multiprocessing as m\n"
               "def spin():\n    while True: pass\n"
               "ps = [m.Process(target=spin) for _ in range(%d)]\n"
               "[p.start() for p in ps]; [p.join() for p in ps]\n" % n]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop_hog(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)  # its own process group (start_new_session)
    except ProcessLookupError:
        pass
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def describe(rc):
    if rc is None:
        return "hung (killed after 120 s)"
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit code %d" % rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--modes", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    modes = []
    for m in a.modes.split(","):
        name, _, code = m.partition("=")
        modes.append((name, int(code) if code else a.expect))
    hog = start_hog()
    failures = []
    t_all = time.monotonic()
    try:
        time.sleep(0.2)  # let the hog's workers start (not needed for correctness)
        for name, code in modes:
            ok, t0 = 0, time.monotonic()
            for i in range(a.runs):
                argv = [x.replace("{mode}", name) for x in cmd]
                try:
                    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
                    rc, err = p.returncode, p.stderr
                except subprocess.TimeoutExpired as e:
                    rc, err = None, e.stderr or b""
                if rc == code:
                    ok += 1
                else:
                    failures.append((name, i, rc, code, err.decode("utf-8", "replace")[-2000:]))
            print("%-12s %3d/%d runs exited %d  (%.1f s)" % (name, ok, a.runs, code, time.monotonic() - t0),
                  flush=True)
    finally:
        stop_hog(hog)
    for name, i, rc, code, err in failures:
        print("FAIL %s run %d: %s, expected exit code %d\n%s" % (name, i, describe(rc), code, err.rstrip()))
    print("total %.1f s, %d failure(s)" % (time.monotonic() - t_all, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
