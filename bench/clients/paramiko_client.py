# SPDX-License-Identifier: BSD-3-Clause
"""paramiko peer client for bench/run (same flow as libssh2_client.c; see there).

No ssh-agent, no key discovery: exactly the ed25519 key $BENCH_KEY, and the host
key checked against $BENCH_KNOWN_HOSTS (RejectPolicy for unknown hosts).
"""
import os
import sys
import time

try:
    import paramiko
except ImportError as e:
    sys.stderr.write("SKIP: %s\n" % e)
    sys.exit(77)

E = os.environ
HOST, PORT, USER, KEY, KH = E["BENCH_HOST"], int(E["BENCH_PORT"]), E["BENCH_USER"], E["BENCH_KEY"], E[
    "BENCH_KNOWN_HOSTS"]


def connect():
    c = paramiko.SSHClient()
    c.load_host_keys(KH)
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.connect(HOST, PORT, USER, key_filename=KEY, allow_agent=False, look_for_keys=False)
    return c


def run(c, cmd):
    ch = c.get_transport().open_session()
    ch.exec_command(cmd)
    out = []
    while True:
        b = ch.recv(65536)
        if not b:
            break
        out.append(b)
    status = ch.recv_exit_status()
    ch.close()
    return b"".join(out), status


def cpu():
    return time.process_time()  # CLOCK_PROCESS_CPUTIME_ID: ns resolution (os.times() ticks at 10 ms)


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def main():
    w, a = sys.argv[1], sys.argv[2:]
    if w == "echo":
        c = connect()
        out, status = run(c, a[0])
        sys.stdout.write(out.decode())
        sys.stdout.flush()
        c.close()
        sys.exit(status)
    elif w == "exec":
        n = int(a[0])
        c = connect()
        ok = 0
        t0, c0 = time.perf_counter(), cpu()
        for i in range(n):
            out, status = run(c, "echo %d" % i)
            ok += status == 0 and out == b"%d\n" % i
        print("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f" % (ok, time.perf_counter() - t0, cpu() - c0))
        c.close()
    elif w in ("sftp_get", "sftp_put"):
        c = connect()
        t0 = time.perf_counter()
        sftp = c.open_sftp()
        if w == "sftp_get":
            sftp.get(a[0], a[1])
        else:
            sftp.put(a[0], a[1], confirm=False)
        sftp.close()
        print("BENCH xfer_s=%.6f" % (time.perf_counter() - t0))
        c.close()
    elif w == "threads":
        import threading
        nthreads, nbytes = int(a[0]), int(a[1])
        got = [0] * nthreads
        errors = []

        def worker(i):
            try:
                c = connect()
                out, status = run(c, "head -c %d /dev/zero" % nbytes)
                got[i] = len(out) if status == 0 else -1
                c.close()
            except Exception as e:  # reported below
                errors.append(repr(e))

        t0 = time.perf_counter()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            sys.exit("paramiko_client: %s" % errors[0])
        print("BENCH bytes=%d run_s=%.6f" % (sum(got), time.perf_counter() - t0))
    elif w == "memory":
        n = int(a[0])
        cs = []
        for i in range(n):
            cs.append(connect())
            if i == 0:
                rss1 = rss_kib()
        rssn = rss_kib()
        print("BENCH sessions=%d rss1_kib=%d rssn_kib=%d per_session_kib=%.1f"
              % (len(cs), rss1, rssn, (rssn - rss1) / max(1, n - 1)))
        for c in cs:
            c.close()
    else:
        sys.exit("paramiko_client: unknown workload %s" % w)


if __name__ == "__main__":
    main()
