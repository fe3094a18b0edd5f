# SPDX-License-Identifier: BSD-3-Clause
"""AsyncSSH peer client for bench/run (same flow as libssh2_client.c; see there).

Host key checked against $BENCH_KNOWN_HOSTS, only the ed25519 key $BENCH_KEY,
no agent. AsyncSSH's default algorithm lists are kept (they include zlib
compression, which the server accepts); BENCH_ASYNCSSH_NOCOMP=1 turns it off.
"""
import os
import sys
import time

try:
    import asyncio

    import asyncssh
except ImportError as e:
    sys.stderr.write("SKIP: %s\n" % e)
    sys.exit(77)

E = os.environ
HOST, PORT, USER, KEY, KH = E["BENCH_HOST"], int(E["BENCH_PORT"]), E["BENCH_USER"], E["BENCH_KEY"], E[
    "BENCH_KNOWN_HOSTS"]


def connect():
    kw = {}
    if E.get("BENCH_ASYNCSSH_NOCOMP") == "1":
        kw["compression_algs"] = None
    return asyncssh.connect(HOST, PORT, username=USER, client_keys=[KEY], known_hosts=KH, agent_path=None,
                            config=None, **kw)


def cpu():
    return time.process_time()  # CLOCK_PROCESS_CPUTIME_ID: ns resolution (os.times() ticks at 10 ms)


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


async def main():
    w, a = sys.argv[1], sys.argv[2:]
    if w == "echo":
        async with connect() as c:
            r = await c.run(a[0], encoding=None)
            sys.stdout.write(r.stdout.decode())
            sys.stdout.flush()
        return r.exit_status
    elif w == "exec":
        n = int(a[0])
        ok = 0
        async with connect() as c:
            t0, c0 = time.perf_counter(), cpu()
            for i in range(n):
                r = await c.run("echo %d" % i, encoding=None)
                ok += r.exit_status == 0 and r.stdout == b"%d\n" % i
            print("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f" % (ok, time.perf_counter() - t0, cpu() - c0))
    elif w in ("sftp_get", "sftp_put"):
        async with connect() as c:
            t0 = time.perf_counter()
            async with c.start_sftp_client() as sftp:
                if w == "sftp_get":
                    await sftp.get(a[0], a[1])
                else:
                    await sftp.put(a[0], a[1])
            print("BENCH xfer_s=%.6f" % (time.perf_counter() - t0))
    elif w in ("scp_get", "scp_put"):
        async with connect() as c:
            t0 = time.perf_counter()
            if w == "scp_get":
                await asyncssh.scp((c, a[0]), a[1])
            else:
                await asyncssh.scp(a[0], (c, a[1]))
            print("BENCH xfer_s=%.6f" % (time.perf_counter() - t0))
    elif w == "threads":
        nthreads, nbytes = int(a[0]), int(a[1])

        async def one():
            async with connect() as c:
                r = await c.run("head -c %d /dev/zero" % nbytes, encoding=None)
                return len(r.stdout) if r.exit_status == 0 else -1

        t0 = time.perf_counter()
        got = await asyncio.gather(*[one() for _ in range(nthreads)])
        print("BENCH bytes=%d run_s=%.6f" % (sum(got), time.perf_counter() - t0))
    elif w == "memory":
        n = int(a[0])
        cs = []
        for i in range(n):
            cs.append(await connect())
            if i == 0:
                rss1 = rss_kib()
        rssn = rss_kib()
        print("BENCH sessions=%d rss1_kib=%d rssn_kib=%d per_session_kib=%.1f"
              % (len(cs), rss1, rssn, (rssn - rss1) / max(1, n - 1)))
        for c in cs:
            c.close()
            await c.wait_closed()
    else:
        sys.exit("asyncssh_client: unknown workload %s" % w)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
