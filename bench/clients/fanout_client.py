# SPDX-License-Identifier: BSD-3-Clause
"""Python clients of bench/run's fanout workload (bench/fanout.py):

    fanout_client.py xssh|asyncssh|paramiko fanout HOSTSFILE KEY KNOWN_HOSTS

Every host of HOSTSFILE (one user@127.0.0.1:port per line) at once: connect, check
the host key strictly against KNOWN_HOSTS, authenticate with the Ed25519 KEY, run
`true`, disconnect.
- xssh: `xssh.run_many(hosts, "true", ...)`: one call, one thread, the loop in C.
- asyncssh: one `asyncssh.connect()` + `conn.run("true")` task per host, `asyncio.gather`.
- paramiko: `SSHClient` per host in a thread pool with one thread per host.
Only the chosen library is imported. Prints `BENCH ok=<hosts whose `true` exited 0>
run_s=<s> rss0_kib=<RSS after imports, before connecting>`; the first failure goes to
stderr (exit 1). A library that is missing exits 77 with "SKIP: reason".
"""
import sys
import time


def skip(why):
    sys.stderr.write("SKIP: %s\n" % why)
    sys.exit(77)


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def split(h):
    user, _, hp = h.rpartition("@")
    host, _, port = hp.rpartition(":")
    return user, host, int(port)


def run_xssh(hosts, key, kh):
    try:
        import xssh
    except ImportError as e:
        skip("xssh Python module not importable: %s" % e)
    if not hasattr(xssh, "run_many"):
        skip("xssh.run_many not built yet (branch manybind)")
    rss0 = rss_kib()
    t0 = time.perf_counter()
    results = xssh.run_many(hosts, "true", key=key, known_hosts=kh, max_running=0,
                            connect_timeout=120, timeout=120)
    t1 = time.perf_counter()
    out = []
    for h, r in zip(hosts, results):
        ok = getattr(r, "ok", None)
        if ok is None:
            ok = getattr(r, "error", None) in (None, 0) and getattr(r, "exit_status", None) == 0
        out.append((h, bool(ok) and getattr(r, "exit_status", 0) == 0, repr(r)))
    return rss0, t1 - t0, out


def run_asyncssh(hosts, key, kh):
    try:
        import asyncio
        import asyncssh
    except ImportError as e:
        skip("asyncssh not importable: %s" % e)
    rss0 = rss_kib()

    async def one(h):
        user, host, port = split(h)
        try:
            async with asyncssh.connect(host, port, username=user, client_keys=[key], known_hosts=kh,
                                        agent_path=None, config=None, connect_timeout=120) as conn:
                r = await conn.run("true", check=False)
                return h, r.exit_status == 0, "exit status %s" % r.exit_status
        except Exception as e:  # reported, counted as a failure
            return h, False, "%s: %s" % (type(e).__name__, e)

    async def main():
        return await asyncio.gather(*(one(h) for h in hosts))

    t0 = time.perf_counter()
    out = asyncio.run(main())
    return rss0, time.perf_counter() - t0, out


def run_paramiko(hosts, key, kh):
    try:
        import paramiko
        from concurrent.futures import ThreadPoolExecutor
    except ImportError as e:
        skip("paramiko not importable: %s" % e)
    pkey = paramiko.Ed25519Key.from_private_key_file(key)
    rss0 = rss_kib()

    def one(h):
        user, host, port = split(h)
        c = paramiko.SSHClient()
        try:
            c.load_host_keys(kh)
            c.set_missing_host_key_policy(paramiko.RejectPolicy())
            c.connect(host, port, username=user, pkey=pkey, allow_agent=False, look_for_keys=False,
                      timeout=120, banner_timeout=120, auth_timeout=120)
            _, stdout, _ = c.exec_command("true")
            st = stdout.channel.recv_exit_status()
            return h, st == 0, "exit status %s" % st
        except Exception as e:  # reported, counted as a failure
            return h, False, "%s: %s" % (type(e).__name__, e)
        finally:
            c.close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(hosts)) as ex:
        out = list(ex.map(one, hosts))
    return rss0, time.perf_counter() - t0, out


def main():
    if len(sys.argv) != 6 or sys.argv[2] != "fanout":
        sys.exit("usage: fanout_client.py xssh|asyncssh|paramiko fanout HOSTSFILE KEY KNOWN_HOSTS")
    lib, _, hf, key, kh = sys.argv[1:]
    hosts = [ln.strip() for ln in open(hf) if ln.strip()]
    fn = {"xssh": run_xssh, "asyncssh": run_asyncssh, "paramiko": run_paramiko}[lib]
    rss0, run_s, out = fn(hosts, key, kh)
    bad = [(h, why) for h, ok, why in out if not ok]
    if bad:
        sys.stderr.write("%d of %d hosts failed; first: %s: %s\n" % (len(bad), len(hosts), bad[0][0], bad[0][1]))
    print("BENCH ok=%d run_s=%.4f rss0_kib=%d" % (len(out) - len(bad), run_s, rss0))
    sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
