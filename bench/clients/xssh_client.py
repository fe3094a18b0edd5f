# SPDX-License-Identifier: BSD-3-Clause
"""xssh from Python, for bench/run (same flow and usage as libssh2_client.c).

Written the way an ssh2-python user would (open_session / execute / read /
wait_closed / get_exit_status), on a session from xssh.connect() (host key
checked strictly against $BENCH_KNOWN_HOSTS, ed25519 key $BENCH_KEY). The
threads workload uses Session.run() when xssh has it. Only os, sys and time are
imported besides xssh: the echo figure includes `import xssh`.
A workload whose API xssh does not have (yet) exits 77 with "SKIP: reason".
"""
import os
import sys
import time

try:
    import xssh
except ImportError as e:
    sys.stderr.write("SKIP: xssh Python module not importable: %s\n" % e)
    sys.exit(77)

E = os.environ
HOST, PORT, USER, KEY, KH = E["BENCH_HOST"], int(E["BENCH_PORT"]), E["BENCH_USER"], E["BENCH_KEY"], E[
    "BENCH_KNOWN_HOSTS"]
READ = 1 << 16


def skip(why):
    sys.stderr.write("SKIP: %s\n" % why)
    sys.exit(77)


def need(obj, *names):
    missing = [n for n in names if not hasattr(obj, n)]
    if missing:
        skip("xssh Python API lacks %s.%s" % (type(obj).__name__ if not isinstance(obj, type) else obj.__name__,
                                               ", ".join(missing)))


def connect():
    return xssh.connect(HOST, PORT, USER, key=KEY, known_hosts=KH)


def run(s, cmd):
    """ssh2-python style: a new channel, execute, read to EOF, exit status."""
    chan = s.open_session()
    chan.execute(cmd)
    out = []
    while True:
        size, data = chan.read(READ)
        if size <= 0:  # 0: EOF (blocking session)
            if size < 0:
                raise RuntimeError("read returned %d" % size)
            break
        out.append(data)
    chan.close()
    chan.wait_closed()
    status = chan.get_exit_status()
    return b"".join(out), status


def transfer(fn, src, dst):
    """fn(src, dst); while the bindings settle, also the shape with the progress callback first
    (fn(None, src, dst), as swig/sftp.i declares it)."""
    try:
        return fn(src, dst)
    except TypeError as e:
        if "argument" not in str(e):
            raise
        first = e
    try:
        return fn(None, src, dst)
    except TypeError:
        raise first from None  # the error of the documented shape


def cpu():
    return time.process_time()  # CLOCK_PROCESS_CPUTIME_ID: ns resolution (os.times() ticks at 10 ms)


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def main():
    w, a = sys.argv[1], sys.argv[2:]
    if w in ("echo", "exec", "threads"):
        need(xssh.Session, "open_session")
    if w == "echo":
        s = connect()
        out, status = run(s, a[0])
        sys.stdout.write(out.decode())
        sys.stdout.flush()
        s.disconnect()
        sys.exit(status)
    elif w == "exec":
        n = int(a[0])
        s = connect()
        ok = 0
        t0, c0 = time.perf_counter(), cpu()
        for i in range(n):
            out, status = run(s, "echo %d" % i)
            ok += status == 0 and out == b"%d\n" % i
        print("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f" % (ok, time.perf_counter() - t0, cpu() - c0))
        s.disconnect()
    elif w in ("sftp_get", "sftp_put"):
        need(xssh.Session, "sftp_init")
        s = connect()
        t0 = time.perf_counter()
        sftp = s.sftp_init()
        op = "get" if w == "sftp_get" else "put"
        need(sftp, op)
        transfer(getattr(sftp, op), a[0], a[1])
        print("BENCH xfer_s=%.6f" % (time.perf_counter() - t0))
        s.disconnect()
    elif w in ("scp_get", "scp_put"):
        need(xssh.Session, w)
        s = connect()
        t0 = time.perf_counter()
        transfer(getattr(s, w), a[0], a[1])
        print("BENCH xfer_s=%.6f" % (time.perf_counter() - t0))
        s.disconnect()
    elif w == "threads":
        import threading
        nthreads, nbytes = int(a[0]), int(a[1])
        got = [0] * nthreads
        errors = []
        use_run = hasattr(xssh.Session, "run")

        def worker(i):
            try:
                s = connect()
                cmd = "head -c %d /dev/zero" % nbytes
                if use_run:
                    r = s.run(cmd)
                    out, status = r.stdout, r.exit_status
                else:
                    out, status = run(s, cmd)
                got[i] = len(out) if status == 0 else -1
                s.disconnect()
            except Exception as e:  # reported below
                errors.append(repr(e))

        t0 = time.perf_counter()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            sys.exit("xssh_client.py: %s" % errors[0])
        print("BENCH bytes=%d run_s=%.6f api=%s" % (sum(got), time.perf_counter() - t0,
                                                     "run" if use_run else "channel"))
    elif w == "memory":
        n = int(a[0])
        ss = []
        for i in range(n):
            ss.append(connect())
            if i == 0:
                rss1 = rss_kib()
        rssn = rss_kib()
        print("BENCH sessions=%d rss1_kib=%d rssn_kib=%d per_session_kib=%.1f"
              % (len(ss), rss1, rssn, (rssn - rss1) / max(1, n - 1)))
        for s in ss:
            s.disconnect()
    else:
        sys.exit("xssh_client.py: unknown workload %s" % w)


if __name__ == "__main__":
    main()
