# SPDX-License-Identifier: BSD-3-Clause
"""The `fanout` workload of bench/run: N simultaneous hosts, each connecting,
checking the host key, authenticating (Ed25519) and running `true`, from one client
process. N = 100 and 500 (`--quick`: 20, one repetition).

The hosts are sshd instances on loopback ports (tests/harness/many_hosts.py: 16 ports
per sshd, as many instances as N needs, MaxStartups raised so no connection is dropped),
started once per bench run and stopped at its end. bench/run loads this module and
calls clients() and workloads(); the client programs are bench/clients/*fanout*.

Metrics per client: wall time and client CPU (user+sys) of the whole process, peak RSS,
and RSS per host: (peak RSS - RSS before the first connection) / N for one-process
clients (they print rss0_kib), the peak RSS of one `ssh` process for the
process-per-host clients. Ratios: to AsyncSSH (asyncio.gather), measured in the same run.
"""
import atexit
import os
import resource
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLIENTS = os.path.join(HERE, "clients")
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import many_hosts  # noqa: E402

PORTS_PER_SSHD = 16
NAMES = ["xssh-c", "xssh-py", "async", "xssh-lua", "xssh-rb", "asyncssh", "paramiko", "openssh-xargs", "pssh"]


def clients(run, cfg):
    """The fanout clients (bench/run's Client objects; names as the other workloads'
    where the client is the same library, so --clients selects them alike)."""
    W = {"fanout"}
    py = run.PY
    out = []
    build = cfg.build_dir

    exe = os.path.join(cfg.bindir, "xssh_fanout")
    c = run.Client("xssh-c", "xssh (C, multi interface)", W, lambda w, a, exe=exe: [exe, w, *a])
    lib = os.path.join(build, "libxssh.so")
    if not os.path.exists(lib):
        c.skip_reason = "xssh not built (%s missing; --build-dir)" % lib
    elif not _has_symbol(lib, "xssh_multi_new"):
        c.skip_reason = "the multi interface is not built yet (libxssh.so has no xssh_multi_new; branch multi)"
    else:
        c.skip_reason = run.compile_c(os.path.join(CLIENTS, "xssh_fanout.c"), exe,
                                      ["-I" + os.path.join(ROOT, "capi", "include")],
                                      ["-L" + build, "-lxssh", "-Wl,-rpath," + build])
    out.append(c)

    c = run.Client("xssh-py", "xssh (Python, run_many)", W,
                   lambda w, a: [py, os.path.join(CLIENTS, "fanout_client.py"), "xssh", w, *a])
    c.skip_reason = run.py_import_check("xssh", cfg.env)
    out.append(c)

    c = run.Client("async", "async: xssh.aio (asyncio.gather)", W,
                   lambda w, a: [py, os.path.join(CLIENTS, "xssh_aio_client.py"), w, *a],
                   notes={"fanout": "one xssh.aio.connect() + s.run('true') task per host, asyncio.gather "
                                    "(bench/clients/xssh_aio_client.py)"})
    c.skip_reason = run.py_import_check("xssh.aio", cfg.env)
    out.append(c)

    lua = run.which("lua5.4") or run.which("lua")
    c = run.Client("xssh-lua", "xssh (Lua, run_many)", W,
                   lambda w, a, lua=lua: [lua, os.path.join(CLIENTS, "xssh_fanout.lua"), w, *a])
    c.skip_reason = None if lua else "lua not installed"
    out.append(c)

    c = run.Client("xssh-rb", "xssh (Ruby, run_many)", W,
                   lambda w, a: ["ruby", os.path.join(CLIENTS, "xssh_fanout.rb"), w, *a])
    c.skip_reason = None if run.which("ruby") else "ruby not installed"
    out.append(c)

    c = run.Client("asyncssh", "AsyncSSH (asyncio.gather)", W,
                   lambda w, a: [py, os.path.join(CLIENTS, "fanout_client.py"), "asyncssh", w, *a],
                   notes={"fanout": "one asyncssh.connect() + conn.run('true') task per host, asyncio.gather, "
                                    "compression as negotiated by default"})
    c.skip_reason = run.py_import_check("asyncssh", cfg.env)
    out.append(c)

    c = run.Client("paramiko", "paramiko (thread per host)", W,
                   lambda w, a: [py, os.path.join(CLIENTS, "fanout_client.py"), "paramiko", w, *a],
                   notes={"fanout": "SSHClient per host, ThreadPoolExecutor with one thread per host"})
    c.skip_reason = run.py_import_check("paramiko", cfg.env)
    out.append(c)

    c = run.Client("openssh-xargs", "OpenSSH ssh x N (xargs -P)", W,
                   lambda w, a: ["/bin/sh", os.path.join(CLIENTS, "openssh_fanout.sh"), "xargs", w, *a],
                   notes={"fanout": "one `ssh` process per host (xargs -P N); CPU is every ssh's; RSS per host "
                                    "is one ssh process's peak RSS (N of them run at once)"})
    c.skip_reason = None if run.which("ssh") and run.which("xargs") else "ssh or xargs not installed"
    out.append(c)

    c = run.Client("pssh", "parallel-ssh (Debian pssh)", W,
                   lambda w, a: ["/bin/sh", os.path.join(CLIENTS, "openssh_fanout.sh"), "pssh", w, *a],
                   notes={"fanout": "parallel-ssh -p N: a Python driver and one `ssh` process per host; RSS per "
                                    "host is the largest single process's peak RSS"})
    c.skip_reason = None if run.which("parallel-ssh") or run.which("pssh") else \
        "parallel-ssh not installed (apt-get install pssh)"
    out.append(c)
    return out


def _has_symbol(lib, name):
    nm = shutil.which("nm")
    if not nm:
        return True  # let the compile step decide
    r = subprocess.run([nm, "-D", "--defined-only", lib], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return any(line.split()[-1:] == [name] for line in r.stdout.decode().splitlines())


class _Hosts:
    """The loopback hosts of one bench run (started on first use, stopped at exit)."""
    desc = None

    @classmethod
    def get(cls, cfg, n):
        if cls.desc is None or len(cls.desc["hosts"]) < n:
            need = max(n, cls.want)
            d = os.path.join(cfg.data_dir, "fanout-hosts")
            if cls.desc is None:
                atexit.register(many_hosts.stop, d)
            instances = -(-need // PORTS_PER_SSHD)
            # the sshd processes and the clients' sockets: raise the fd limit as far as allowed
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            want_fds = max(soft, min(hard, 4 * need + 1024)) if hard != resource.RLIM_INFINITY else 4 * need + 1024
            if want_fds > soft:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want_fds, hard))
            cls.desc = many_hosts.start(d, instances=instances, nports=PORTS_PER_SSHD, unknown=0, mismatch=0,
                                        refused=0)
        return cls.desc


def workloads(run, cfg):
    ns = [20] if cfg.quick else [100, 500]
    _Hosts.want = max(ns)
    return [_fanout_class(run)(cfg, n) for n in ns]


def _fanout_class(run):
    class Fanout(run.Workload):
        reference = "asyncssh"
        client_workload = "fanout"
        reps_full, reps_quick = 3, 1
        timeout = 600

        def __init__(self, cfg, n):
            super().__init__(cfg)
            self.n = n
            self.name = "fanout" if cfg.quick else "fanout_%d" % n
            self.title = ("fanout: %d hosts at once (%d loopback ports of %d sshd instances), each: connect, "
                          "strict host-key check, Ed25519 authentication, run `true`, disconnect; one client "
                          "process" % (n, n, -(-n // PORTS_PER_SSHD)))
            self.metrics = [
                run.metric("wall s", lambda r: r.wall, fmt="%.2f", role="wall"),
                run.metric("client CPU s", lambda r: r.cpu, fmt="%.2f", role="cpu"),
                run.metric("peak RSS MiB", lambda r: r.maxrss_kib / 1024.0, fmt="%.0f", ratio=False),
                run.metric("RSS KiB/host", self.per_host, fmt="%.0f", ratio=False),
            ]

        def per_host(self, r):
            if "rss0_kib" in r.kv:
                return max(0.0, r.maxrss_kib - r.kv["rss0_kib"]) / self.n
            return float(r.maxrss_kib)  # one process per host

        def setup(self):
            desc = _Hosts.get(self.cfg, self.n)
            self.hostsfile = os.path.join(self.cfg.data_dir, "fanout-%d.hosts" % self.n)
            with open(self.hostsfile, "w") as f:
                f.write("".join(h + "\n" for h in desc["hosts"][:self.n]))
            self.key, self.kh = desc["key"], desc["known_hosts"]

        def args(self, client):
            return [self.hostsfile, self.key, self.kh]

        def check(self, client, r):
            super().check(client, r)
            ok, = r.need("ok")
            r.need("run_s")
            if int(ok) != self.n:
                raise run.Failure("%d of %d hosts ran `true`" % (ok, self.n))

    return Fanout
