#!/usr/bin/python3
"""One command on many hosts from many machines: the host list is cut into shards, the
shards go to the workers of a Dask cluster, each worker runs ``xssh.run_many`` on its
shard (one thread, the whole loop in C), and the results come back merged: one per
host, in the order of the list. docs/dask.md tells how to run it on a real cluster.

    dask_fanout.py -f HOSTSFILE [--scheduler tcp://HOST:8786 | --workers N]
                   [--shard-size K] [--parallelism P] [--key KEY] [--known-hosts FILE]
                   [--connect-timeout S] [--timeout S] [--json OUT] -- COMMAND

HOSTSFILE: one host per line (``[user@]host[:port]`` or a Host alias of the workers'
~/.ssh/config; blank lines and ``#`` comments ignored). Without --scheduler, a
LocalCluster of --workers processes (default 2) on this machine. KEY and FILE are
paths on the workers. Exit status: 0 when every host ran COMMAND with status 0, 1
otherwise, 2 for a usage error.
"""
import argparse
import json
import math
import sys
import time


def shards(hosts, nshards, max_size=None):
    """Cut hosts into contiguous shards: [(start index, [hosts])], at least nshards of them
    (fewer only when there are fewer hosts), none longer than max_size, sizes within one
    of each other."""
    n = len(hosts)
    if n == 0:
        return []
    k = max(1, min(n, int(nshards)))
    if max_size:
        k = max(k, math.ceil(n / max_size))
    base, extra = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        size = base + (1 if i < extra else 0)
        out.append((start, hosts[start:start + size]))
        start += size
    return out


def run_shard(start, hosts, command, kw):
    """On a worker: xssh.run_many on one shard; plain picklable dicts, in shard order."""
    import xssh
    try:
        from distributed import get_worker
        worker = get_worker().address
    except (ImportError, ValueError):
        worker = "local"
    results = xssh.run_many(hosts, command, **kw)
    return [_plain(start + i, h, r, worker) for i, (h, r) in enumerate(zip(hosts, results))]


def _plain(index, host, r, worker):
    return {
        "index": index,
        "host": host,
        "ok": bool(r.ok and r.exit_status == 0),
        "exit_status": r.exit_status,
        "exit_signal": r.exit_signal,
        "stdout": r.stdout.decode("utf-8", "replace"),
        "stderr": r.stderr.decode("utf-8", "replace"),
        "error": type(r.error).__name__ if r.error is not None else None,
        "message": str(r.error) if r.error is not None else "",
        "phase": r.phase,
        "duration": r.duration,
        "worker": worker,
    }


def _lost(index, host, exc):
    """A host whose shard never came back (its worker died, the task raised)."""
    return {"index": index, "host": host, "ok": False, "exit_status": None, "exit_signal": None,
            "stdout": "", "stderr": "", "error": type(exc).__name__,
            "message": "shard lost: %s: %s" % (type(exc).__name__, exc), "phase": "worker",
            "duration": 0.0, "worker": None}


def fanout(client, hosts, command, shard_size=None, **kw):
    """Run command on every host through the Dask client's workers; one result dict per
    host, in the order of hosts. kw: xssh.run_many's keywords (key, known_hosts,
    parallelism, timeouts...), the same on every worker. One shard per worker thread,
    more when shard_size caps their length."""
    threads = sum(client.nthreads().values()) or 1
    parts = shards(list(hosts), threads, shard_size)
    futures = [client.submit(run_shard, start, part, command, kw, pure=False) for start, part in parts]
    merged = [None] * len(hosts)
    for (start, part), fut in zip(parts, futures):
        try:
            res = fut.result()
        except Exception as e:  # a lost shard fails its hosts, not the run
            res = [_lost(start + i, h, e) for i, h in enumerate(part)]
        for r in res:
            merged[r["index"]] = r
    missing = [i for i, r in enumerate(merged) if r is None or r["host"] != hosts[i]]
    if missing:
        raise RuntimeError("merge: no result for host(s) %s" % ", ".join(hosts[i] for i in missing[:5]))
    return merged


def summarise(results):
    """{"hosts", "ok", "exit_nonzero", "failed": {phase: count}, "workers": count}."""
    s = {"hosts": len(results), "ok": 0, "exit_nonzero": 0, "failed": {}, "workers": 0}
    workers = set()
    for r in results:
        if r["worker"]:
            workers.add(r["worker"])
        if r["ok"]:
            s["ok"] += 1
        elif r["error"] is None:
            s["exit_nonzero"] += 1
        else:
            s["failed"][r["phase"]] = s["failed"].get(r["phase"], 0) + 1
    s["workers"] = len(workers)
    return s


def read_hosts(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-f", "--hosts-file", required=True)
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    ap.add_argument("--shard-size", type=int, default=None, help="at most this many hosts per shard")
    ap.add_argument("--parallelism", type=int, default=0, help="hosts at once per worker (0: all of its shard)")
    ap.add_argument("--key", help="private key path on the workers")
    ap.add_argument("--known-hosts", help="known_hosts path on the workers")
    ap.add_argument("--connect-timeout", type=float, default=None)
    ap.add_argument("--timeout", type=float, default=None, help="seconds per command")
    ap.add_argument("--json", help="write every host's result here (JSON list, host order)")
    ap.add_argument("command", nargs="+")
    a = ap.parse_args(argv)
    if a.workers < 1 or (a.shard_size is not None and a.shard_size < 1):
        ap.error("--workers and --shard-size must be >= 1")
    hosts = read_hosts(a.hosts_file)
    kw = {"parallelism": a.parallelism}
    for k in ("key", "known_hosts", "connect_timeout", "timeout"):
        if getattr(a, k) is not None:
            kw[k] = getattr(a, k)

    from distributed import Client, LocalCluster
    t0 = time.monotonic()
    if a.scheduler:
        cluster, client = None, Client(a.scheduler)
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        t1 = time.monotonic()
        results = fanout(client, hosts, " ".join(a.command), a.shard_size, **kw)
        t2 = time.monotonic()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    for r in results:
        if not r["ok"]:
            why = r["message"] if r["error"] else "exit status %s" % r["exit_status"]
            print("%s: %s%s" % (r["host"], "[%s] " % r["phase"] if r["error"] else "", why))
    s = summarise(results)
    by_phase = ", ".join("%s: %d" % kv for kv in sorted(s["failed"].items()))
    print("%d hosts: %d ok, %d non-zero exit, %d failed%s; %d worker(s); cluster %.1f s, run %.1f s" % (
        s["hosts"], s["ok"], s["exit_nonzero"], sum(s["failed"].values()), " (%s)" % by_phase if by_phase else "",
        s["workers"], t1 - t0, t2 - t1))
    return 0 if s["ok"] == s["hosts"] else 1


if __name__ == "__main__":
    sys.exit(main())
