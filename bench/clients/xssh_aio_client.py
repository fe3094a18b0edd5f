# SPDX-License-Identifier: BSD-3-Clause
"""xssh.aio (asyncio over the multi interface) client for bench/run: the `async` rows.

    xssh_aio_client.py echo CMD | exec N                                 (bench/run; $BENCH_*)
    xssh_aio_client.py fanout HOSTSFILE KEY KNOWN_HOSTS                  (bench/fanout.py)

echo / exec: the same flow as asyncssh_client.py (one connection, host key checked strictly
against $BENCH_KNOWN_HOSTS, only the Ed25519 key $BENCH_KEY, no agent, no ssh_config): exec
runs N commands one after the other, each on a new channel (`await s.run`).
fanout: every host of HOSTSFILE at once, one `xssh.aio.connect()` + `s.run("true")` task per
host under `asyncio.gather` (as the AsyncSSH row). Prints BENCH lines as the other clients.
"""
import os
import sys
import time

try:
    import asyncio

    import xssh
    import xssh.aio
except ImportError as e:
    sys.stderr.write("SKIP: xssh.aio not importable: %s\n" % e)
    sys.exit(77)


def cpu():
    return time.process_time()


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def bench_connect():
    E = os.environ
    return xssh.aio.connect(E["BENCH_HOST"], int(E["BENCH_PORT"]), E["BENCH_USER"], key=E["BENCH_KEY"],
                            known_hosts=E["BENCH_KNOWN_HOSTS"], host_key_policy="strict", agent=False,
                            config="none")


async def echo(cmd):
    async with bench_connect() as s:
        r = await s.run(cmd)
        sys.stdout.write(r.stdout.decode())
        sys.stdout.flush()
    return r.exit_status


async def exec_loop(n):
    ok = 0
    async with bench_connect() as s:
        t0, c0 = time.perf_counter(), cpu()
        for i in range(n):
            r = await s.run("echo %d" % i)
            ok += r.exit_status == 0 and r.stdout == b"%d\n" % i
        print("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f" % (ok, time.perf_counter() - t0, cpu() - c0))
    return 0


async def fanout(hosts, key, kh):
    async def one(h):
        try:
            async with xssh.aio.connect(h, key=key, known_hosts=kh, host_key_policy="strict", agent=False,
                                        config="none", timeout=120) as s:
                r = await s.run("true")
                return h, r.exit_status == 0, "exit status %s" % r.exit_status
        except Exception as e:  # reported, counted as a failure
            return h, False, "%s: %s" % (type(e).__name__, e)
    return await asyncio.gather(*(one(h) for h in hosts))


def main():
    w, a = sys.argv[1], sys.argv[2:]
    if w == "echo":
        return asyncio.run(echo(a[0]))
    if w == "exec":
        return asyncio.run(exec_loop(int(a[0])))
    if w == "fanout":
        hf, key, kh = a
        hosts = [ln.strip() for ln in open(hf) if ln.strip()]
        rss0 = rss_kib()
        t0 = time.perf_counter()
        out = asyncio.run(fanout(hosts, key, kh))
        run_s = time.perf_counter() - t0
        bad = [(h, why) for h, ok, why in out if not ok]
        if bad:
            sys.stderr.write("%d of %d hosts failed; first: %s: %s\n" % (len(bad), len(hosts), bad[0][0], bad[0][1]))
        print("BENCH ok=%d run_s=%.4f rss0_kib=%d" % (len(out) - len(bad), run_s, rss0))
        sys.stdout.flush()
        return 1 if bad else 0
    sys.exit("usage: xssh_aio_client.py echo CMD | exec N | fanout HOSTSFILE KEY KNOWN_HOSTS")


if __name__ == "__main__":
    sys.exit(main())
