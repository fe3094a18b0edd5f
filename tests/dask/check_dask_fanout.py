#!/usr/bin/python3
"""examples/python/dask_fanout.py end to end on a Dask LocalCluster against the many-hosts
fixture ($XSSH_MANY_HOSTS, ctest fixture sshd_many): every host's result, in order.

1. Two worker processes, one shard each: all 50 good hosts run a command that only ends
   once every one of them has started (a barrier in the fixture's scratch directory), so
   the run proves both workers ran their whole shard at the same time; no timing involved
   (the barrier's bounded loop only turns a hang into a failure). Each prints the port
   that served it and exits with (port / 2) % 3 (some hosts exit non-zero). Hosts whose key is
   unknown or changed and refused ports sit at fixed places in the list.
2. The same hosts cut in shards of 7 (more shards than workers, queued): the merge keeps
   the order across shards.
Also the sharding function itself (sizes, order, limits).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "examples", "python", "dask_fanout.py")
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: %s" % what)


def unit_shards():
    sys.path.insert(0, os.path.dirname(EXAMPLE))
    from dask_fanout import shards
    hosts = ["h%d" % i for i in range(10)]
    for n, size in ((1, None), (2, None), (3, None), (4, 3), (2, 1), (20, None), (1, 4)):
        s = shards(hosts, n, size)
        flat = [h for _, part in s for h in part]
        check(flat == hosts, "shards(%d, %s) keep every host in order" % (n, size))
        check(all(hosts[st:st + len(p)] == p for st, p in s), "shards(%d, %s) starts" % (n, size))
        lens = [len(p) for _, p in s]
        check(max(lens) - min(lens) <= 1, "shards(%d, %s) balanced: %s" % (n, size, lens))
        check(size is None or max(lens) <= size, "shards(%d, %s) capped: %s" % (n, size, lens))
        check(len(s) >= min(n, len(hosts)), "shards(%d, %s) at least n: %d" % (n, size, len(s)))
    check(shards([], 3) == [], "no hosts, no shards")


def run_example(desc, hosts, command, extra, tmp):
    hf = os.path.join(tmp, "hosts.txt")
    with open(hf, "w") as f:
        f.write("# the fixture's hosts\n" + "\n".join(hosts) + "\n")
    out = os.path.join(tmp, "results.json")
    if os.path.exists(out):
        os.unlink(out)
    argv = [sys.executable, EXAMPLE, "-f", hf, "--workers", "2", "--key", desc["key"],
            "--known-hosts", desc["known_hosts"], "--connect-timeout", "120", "--timeout", "600",
            "--json", out, *extra, "--", command]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    print(r.stdout.decode()[-2000:])
    if not os.path.exists(out):
        check(False, "the example wrote no results (rc %d): %s" % (r.returncode, r.stderr.decode()[-3000:]))
        return None, r.returncode
    return json.load(open(out)), r.returncode


def check_results(desc, hosts, results, rc, barrier, one_shard_per_worker):
    check(rc == 1, "exit status 1 (some hosts failed), got %s" % rc)
    check([r["host"] for r in results] == hosts, "one result per host, in the order given")
    good = set(desc["hosts"])
    expect_fail = {}
    for h in desc["unknown_hostkey_hosts"] + desc["mismatch_hostkey_hosts"]:
        expect_fail[h] = "hostkey"
    for h in desc["refused_hosts"]:
        expect_fail[h] = "connect"
    workers = set()
    for r in results:
        h = r["host"]
        port = int(h.rsplit(":", 1)[1])
        if h in good:
            workers.add(r["worker"])
            want = (port // 2) % 3  # (bind(0) ports are odd on Linux: a plain % 4 is never 0)
            check(r["error"] is None and r["exit_status"] == want and r["ok"] == (want == 0),
                  "%s: exit status %s, want %d (error %s %s)" % (h, r["exit_status"], want, r["error"],
                                                                r["message"]))
            check(r["stdout"] == "%d\n" % port, "%s: stdout %r, want its port" % (h, r["stdout"]))
        else:
            check(not r["ok"] and r["error"] is not None and r["phase"] == expect_fail[h],
                  "%s: want a failure in phase %s, got ok=%s error=%s phase=%s: %s" % (
                      h, expect_fail[h], r["ok"], r["error"], r["phase"], r["message"]))
            check(r["message"] != "", "%s: failure without a message" % h)
    if one_shard_per_worker:  # (queued shards may go anywhere: the scheduler decides)
        check(len(workers) == 2, "the shards ran on 2 workers, got %s" % sorted(map(str, workers)))
    if barrier:
        check(len(os.listdir(barrier)) == len(good), "all %d good hosts reached the barrier" % len(good))
    s = __import__("dask_fanout").summarise(results)
    check(s["ok"] > 0 and s["exit_nonzero"] > 0 and s["ok"] + s["exit_nonzero"] == len(good),
          "summary counts ok/non-zero: %s" % s)
    check(s["failed"] == {"hostkey": 2, "connect": 2}, "summary failures by phase: %s" % s["failed"])


def main():
    unit_shards()
    path = os.environ.get("XSSH_MANY_HOSTS")
    if not path or not os.path.exists(path):
        sys.exit("XSSH_MANY_HOSTS is not set or missing: run through ctest (fixture sshd_many)")
    try:
        import distributed  # noqa: F401
    except ImportError as e:
        sys.exit("python3-distributed is not installed (scripts/install-deps.sh): %s" % e)
    desc = json.load(open(path))
    # the special hosts at fixed places: first, middle, last
    bad = desc["unknown_hostkey_hosts"] + desc["mismatch_hostkey_hosts"] + desc["refused_hosts"]
    hosts = list(desc["hosts"])
    hosts.insert(0, bad[0])
    for i, h in enumerate(bad[1:-1]):
        hosts.insert(len(hosts) // 2 + i, h)
    hosts.append(bad[-1])
    n = len(desc["hosts"])
    with tempfile.TemporaryDirectory(prefix="dask-") as tmp:
        barrier = tempfile.mkdtemp(prefix="dask-barrier-", dir=desc["scratch_dir"])
        os.chmod(barrier, 0o777)
        port = "${SSH_CONNECTION##* }"
        cmd = ("touch %s/%s; i=0; while [ $(ls %s | wc -l) -lt %d ]; do i=$((i+1)); "
               "[ $i -gt 1500 ] && echo barrier-timeout && exit 99; sleep 0.2; done; echo %s; exit $(((%s / 2) %% 3))"
               % (barrier, port, barrier, n, port, port))
        results, rc = run_example(desc, hosts, cmd, [], tmp)
        if results is not None:
            check_results(desc, hosts, results, rc, barrier, True)
        results, rc = run_example(desc, hosts, "echo %s; exit $(((%s / 2) %% 3))" % (port, port),
                                  ["--shard-size", "7"], tmp)
        if results is not None:
            check_results(desc, hosts, results, rc, None, False)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("dask_fanout: %d hosts (%d good) twice, every result right" % (len(hosts), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
