#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Many "hosts" on loopback for xssh's many-host tests and the fanout bench.

    many_hosts.py start --dir DIR [--instances 4] [--ports 13] [--unknown 1] [--mismatch 1] [--refused 2]
    many_hosts.py stop  --dir DIR [--clean]

Starts several real OpenSSH sshd instances on 127.0.0.1 (an sshd listens on at most 16
sockets, so each gets --ports ports; they start in parallel) with the same user, keys,
empty-HOME SetEnv and sshd_config as tests/harness/sshd_harness.py (its functions are
reused), MaxStartups/MaxSessions raised so that hundreds of simultaneous unauthenticated
connections are never dropped. With the defaults: 4 x 13 = 52 listening ports, of which
50 are good hosts, 1 has a host key missing from known_hosts and 1 has a different key
in known_hosts; plus 2 refused ports (bound by a small holder process, never listening,
so nothing else can take them and every connect is refused).

DIR/hosts.json describes it all (schema: see README, "Many hosts"); DIR/hosts.env holds
the same as KEY=VALUE lines (lists space-separated) for C, and DIR/hosts.sh as shell
assignments. `start` first stops whatever a previous run left in DIR and empties it.
`stop` ends every instance, the sessions and commands they started (found by the
XSSH_MANY_RUN=DIR variable each session gets) and the port holder.
Only the standard library is used, so any python3 can run it.
"""
import argparse
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sshd_harness as H  # noqa: E402

RUN_VAR = "XSSH_MANY_RUN"
STATE = "state.json"     # what stop needs: pids and holder
ATTEMPTS = 4             # port collisions (another process took a free port first) are retried
# sshd keeps the first value of a keyword: these come before sshd_harness's defaults.
# MaxStartups (the last value counts) is an argument: no random drop below 10000.
MAX_STARTUPS = "10000"
FIRST = """\
MaxSessions 1000
LoginGraceTime 120
"""


def _pid_alive_in(pid, d):
    """pid runs and its command line or environment names DIR (never kill a reused pid)."""
    for f in ("cmdline", "environ"):
        try:
            if d.encode() in open("/proc/%d/%s" % (pid, f), "rb").read():
                return True
        except OSError:
            pass
    return False


def _procs_of_run(d):
    """Processes started by sessions of this run: their environment holds XSSH_MANY_RUN=DIR."""
    tag = ("%s=%s\0" % (RUN_VAR, d)).encode()
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            if tag in open("/proc/%s/environ" % e, "rb").read() + b"\0":
                out.append(int(e))
        except OSError:
            pass
    return out


def _descendants(pids):
    """Every process below `pids` (sshd's per-connection children), from /proc."""
    children = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % e).read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], list(pids)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.append(c)
                todo.append(c)
    return out


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    end = time.monotonic() + 5
    left = list(pids)
    while left and time.monotonic() < end:
        left = [p for p in left if os.path.exists("/proc/%d" % p) and not _zombie(p)]
        if left:
            time.sleep(0.02)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _zombie(pid):
    try:
        stat = open("/proc/%d/stat" % pid).read()
        return stat[stat.rindex(")") + 2] == "Z"
    except (OSError, ValueError, IndexError):
        return True


def stop(d, clean=False):
    d = os.path.abspath(d)
    roots = []
    try:
        state = json.load(open(os.path.join(d, STATE)))
    except (OSError, ValueError):
        state = {}
    for pid in state.get("pids", []):
        if _pid_alive_in(pid, d):
            roots.append(pid)
    # listeners first (no new connections), then their children, then the commands of
    # sessions whose sshd is already gone
    below = _descendants(roots)
    _kill(roots)
    _kill(below + [p for p in _procs_of_run(d) if p not in below])
    try:
        os.unlink(os.path.join(d, STATE))
    except OSError:
        pass
    if clean:
        shutil.rmtree(d, ignore_errors=True)


def hold(portfile, n):
    """The port holder (run detached by start): binds n loopback ports, never listens
    (connects get ECONNREFUSED; without SO_REUSEADDR nobody else can bind them), writes
    them to portfile and sleeps until SIGTERM."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        json.dump([s.getsockname()[1] for s in socks], f)
    os.rename(tmp, portfile)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    end = time.monotonic() + 24 * 3600  # bounded: a forgotten holder goes away by itself
    while time.monotonic() < end:
        time.sleep(60)


def _start_holder(d, n):
    portfile = os.path.join(d, "refused_ports.json")
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "hold", "--dir", d, "--refused", str(n)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, env=dict(os.environ, **{RUN_VAR: d}))
    end = time.monotonic() + 20
    while not os.path.exists(portfile):
        if p.poll() is not None or time.monotonic() > end:
            sys.exit("many_hosts: the refused-port holder did not start (rc %s)" % p.poll())
        time.sleep(0.02)
    return p.pid, json.load(open(portfile))


def _start_instance(d, i, nports, home, is_root):
    """One sshd on nports fresh ports; returns (pid, ports) or raises RuntimeError."""
    last = ""
    for attempt in range(ATTEMPTS):
        ports = []
        socks = []
        for _ in range(nports):  # distinct free ports (held together while picking)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
        for s in socks:
            s.close()
        stem = os.path.join(d, "sshd%d" % i)
        cfg, log, pidf = stem + ".config", stem + ".log", stem + ".pid"
        for f in (log, pidf):
            if os.path.exists(f):
                os.unlink(f)
        with open(cfg, "w") as f:
            f.write(H.sshd_config(d, ports, home, False, is_root, pidfile=pidf,
                                  setenv={RUN_VAR: d}, first=FIRST, max_startups=MAX_STARTUPS))
        err = H.launch_sshd(cfg, log, ports[:1])
        pid = None
        end = time.monotonic() + 10
        while pid is None and time.monotonic() < end:
            try:
                pid = int(open(pidf).read().strip())
            except (OSError, ValueError):
                time.sleep(0.02)
        # every port must be this sshd's: it logs "Server listening on 127.0.0.1 port N."
        # for each socket it got (a port another process took first fails only that bind)
        text = open(log).read() if os.path.exists(log) else ""
        missing = [p for p in ports if "Server listening on 127.0.0.1 port %d." % p not in text]
        if not err and pid and not missing:
            return pid, ports
        last = err or ("no pid file" if not pid else "ports %s not bound; log:\n%s" % (missing, text))
        if pid:
            _kill([pid])
    raise RuntimeError("sshd instance %d did not start after %d attempts: %s" % (i, ATTEMPTS, last))


def start(d, instances=4, nports=13, unknown=1, mismatch=1, refused=2):
    d = os.path.abspath(d)
    if nports < 1 or nports > 16:
        sys.exit("many_hosts: --ports must be 1..16 (sshd listens on at most 16 sockets)")
    stop(d)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chmod(d, 0o755)
    home = os.path.join(d, "home")
    scratch = os.path.join(d, "scratch")
    for p in (home, scratch):
        os.makedirs(p)
        os.chmod(p, 0o1777)
    is_root = os.geteuid() == 0
    user = pwd.getpwuid(os.geteuid()).pw_name
    if is_root:
        os.makedirs("/run/sshd", exist_ok=True)
        os.chmod("/run/sshd", 0o755)
    t0 = time.monotonic()
    keys = H.make_keys(d)
    H.keygen(os.path.join(d, "other_host_ed25519"), "ed25519", comment="xssh-test-other-host")

    state = {"pids": []}
    holder_pid, refused_ports = _start_holder(d, refused)
    state["pids"].append(holder_pid)
    with open(os.path.join(d, STATE), "w") as f:
        json.dump(state, f)
    with ThreadPoolExecutor(max_workers=min(instances, 16)) as ex:
        futs = [ex.submit(_start_instance, d, i, nports, home, is_root) for i in range(instances)]
        results, errors = [], []
        for f in futs:
            try:
                results.append(f.result())
            except RuntimeError as e:
                errors.append(str(e))
    state["pids"] += [pid for pid, _ in results]
    with open(os.path.join(d, STATE), "w") as f:
        json.dump(state, f)
    if errors:
        stop(d)
        sys.exit("many_hosts: " + "\n".join(errors))

    all_ports = [p for _, ports in results for p in ports]
    if unknown + mismatch >= len(all_ports):
        stop(d)
        sys.exit("many_hosts: no good host left")
    # the special ports are the last of the last instance(s); the rest are good hosts
    special = all_ports[len(all_ports) - unknown - mismatch:]
    unknown_ports, mismatch_ports = special[:unknown], special[unknown:]
    good = all_ports[:len(all_ports) - unknown - mismatch]

    pub = open(os.path.join(d, "host_ed25519.pub")).read().split()
    other = open(os.path.join(d, "other_host_ed25519.pub")).read().split()
    kh = os.path.join(d, "known_hosts")
    with open(kh, "w") as f:
        for p in good:
            f.write("[127.0.0.1]:%d %s %s\n" % (p, pub[0], pub[1]))
        for p in mismatch_ports:
            f.write("[127.0.0.1]:%d %s %s\n" % (p, other[0], other[1]))
    fp = H.run("ssh-keygen", "-l", "-E", "sha256", "-f", os.path.join(d, "host_ed25519.pub")).stdout.decode().split()[1]

    def hs(ports):
        return ["%s@127.0.0.1:%d" % (user, p) for p in ports]

    desc = {
        "version": 1,
        "dir": d,
        "user": user,
        "host": "127.0.0.1",
        "hosts": hs(good),
        "ports": good,
        "unknown_hostkey_hosts": hs(unknown_ports),
        "mismatch_hostkey_hosts": hs(mismatch_ports),
        "refused_hosts": hs(refused_ports),
        "key": keys["ED25519"],
        "wrong_key": keys["UNAUTHORIZED"],
        "known_hosts": kh,
        "hostkey_fp": fp,
        "scratch_dir": scratch,
        "commands": {
            "ok": "true",
            "fail": "exit 3",
            "port": "echo ${SSH_CONNECTION##* }",
            "sleep": "sleep 300",
        },
        "instances": [{"pid": pid, "ports": ports} for pid, ports in results],
        "startup_seconds": round(time.monotonic() - t0, 3),
    }
    write_description(d, desc)
    return desc


def write_description(d, desc):
    def tmpwrite(name, text):
        p = os.path.join(d, name)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.rename(p + ".tmp", p)

    flat = {
        "XSSH_MANY_DIR": desc["dir"],
        "XSSH_MANY_USER": desc["user"],
        "XSSH_MANY_HOST": desc["host"],
        "XSSH_MANY_GOOD": " ".join(desc["hosts"]),
        "XSSH_MANY_UNKNOWN_HOSTKEY": " ".join(desc["unknown_hostkey_hosts"]),
        "XSSH_MANY_MISMATCH_HOSTKEY": " ".join(desc["mismatch_hostkey_hosts"]),
        "XSSH_MANY_REFUSED": " ".join(desc["refused_hosts"]),
        "XSSH_MANY_KEY": desc["key"],
        "XSSH_MANY_WRONG_KEY": desc["wrong_key"],
        "XSSH_MANY_KNOWN_HOSTS": desc["known_hosts"],
        "XSSH_MANY_HOSTKEY_FP": desc["hostkey_fp"],
        "XSSH_MANY_SCRATCH": desc["scratch_dir"],
    }
    tmpwrite("hosts.env", "".join("%s=%s\n" % kv for kv in flat.items()))
    tmpwrite("hosts.sh", "".join("%s=%s\n" % (k, shlex.quote(v)) for k, v in flat.items()))
    tmpwrite("hosts.json", json.dumps(desc, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["start", "stop", "hold"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--instances", type=int, default=4, help="sshd processes (default 4)")
    ap.add_argument("--ports", type=int, default=13, help="ports per sshd, 1..16 (default 13)")
    ap.add_argument("--unknown", type=int, default=1, help="ports whose host key known_hosts lacks (default 1)")
    ap.add_argument("--mismatch", type=int, default=1,
                    help="ports for which known_hosts holds another key (default 1)")
    ap.add_argument("--refused", type=int, default=2, help="ports where nothing listens (default 2)")
    ap.add_argument("--clean", action="store_true", help="stop: remove DIR as well")
    a = ap.parse_args()
    if a.action == "start":
        start(a.dir, a.instances, a.ports, a.unknown, a.mismatch, a.refused)
        print(os.path.join(os.path.abspath(a.dir), "hosts.json"))
    elif a.action == "hold":
        hold(os.path.join(os.path.abspath(a.dir), "refused_ports.json"), a.refused)
    else:
        stop(a.dir, clean=a.clean)


if __name__ == "__main__":
    main()
