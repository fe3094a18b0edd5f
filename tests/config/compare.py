#!/usr/bin/env python3
"""Compare xssh_options_resolve() with OpenSSH's `ssh -G`, case by case.

cases.txt: one case per line, fields separated by " | ":
    name | config | host | options | expect
config: a file of this directory (given as -F), "none" (-F none), or
    "~name": the file becomes ~/.ssh/config and no -F is given (the default
    files: ~/.ssh/config then /etc/ssh/ssh_config, as ssh reads them).
options: Name=value items separated by " ; " (ssh -o / xssh_options_set).
expect: "ok" (both resolve, every compared keyword equal) or "error" (both
    refuse the configuration; xssh's message must name the file and line
    when the case gives "error:FILE:LINE").

Every case runs in a scratch home: $HOME and the passwd entry (nss_wrapper)
name the same directory, so "~", %d and relative Include paths mean the same
to ssh and to xssh. home_ssh/* is copied into ~/.ssh/ (Include fragments);
in the config files @DIR@ is the scratch copy of this directory and @HOME@
the scratch home.

`ssh -G` prints IdentityFile before expansion, so the expanded identity files
come from `ssh -v -o ProxyCommand=true` ("identity file X type N" lines,
logged before the (immediately failing) key exchange; no network).
"""
import argparse
import difflib
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

# keywords xssh_options_resolve prints and ssh -G prints (some only when set)
COMPARED = [
    "host", "user", "hostname", "port", "addressfamily", "batchmode", "compression", "hashknownhosts",
    "identitiesonly", "kbdinteractiveauthentication", "passwordauthentication", "pubkeyauthentication",
    "stricthostkeychecking", "serveralivecountmax", "serveraliveinterval", "ciphers", "hostkeyalgorithms",
    "kexalgorithms", "macs", "globalknownhostsfile", "userknownhostsfile", "connecttimeout", "bindaddress",
    "preferredauthentications", "identityagent", "proxyjump", "proxycommand", "identityfile",
]


def parse_g(text):
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        k, _, v = line.partition(" ")
        out.setdefault(k.lower(), []).append(v)
    return out


def load_cases(path):
    cases = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split(" | ")]
            if len(parts) != 5:
                sys.exit("cases.txt line %d: want 5 fields separated by ' | ', got %d" % (n, len(parts)))
            name, config, host, opts, expect = parts
            optlist = [o.strip() for o in opts.split(" ; ")] if opts else []
            cases.append((name, config, host, optlist, expect))
    return cases


def scratch_home(srcdir):
    home = tempfile.mkdtemp(prefix="xssh-config-")
    os.chmod(home, 0o755)
    work = os.path.join(home, "cases")
    shutil.copytree(srcdir, work, ignore=shutil.ignore_patterns("*.py", "cases.txt", "*.c", "home_ssh"))
    sshdir = os.path.join(home, ".ssh")
    os.mkdir(sshdir, 0o700)
    hs = os.path.join(srcdir, "home_ssh")
    if os.path.isdir(hs):
        for fn in os.listdir(hs):
            shutil.copy(os.path.join(hs, fn), os.path.join(sshdir, fn))
    for root in (work, sshdir):
        for dp, _dn, fns in os.walk(root):
            for fn in fns:
                p = os.path.join(dp, fn)
                with open(p) as f:
                    t = f.read()
                t = t.replace("@DIR@", work).replace("@HOME@", home)
                with open(p, "w") as f:
                    f.write(t)
                os.chmod(p, 0o644)
    me = pwd.getpwuid(os.getuid())
    with open(os.path.join(home, "passwd"), "w") as f:
        f.write("%s:x:%d:%d:%s:%s:/bin/sh\n" % (me.pw_name, me.pw_uid, me.pw_gid, me.pw_name, home))
    with open(os.path.join(home, "group"), "w") as f:
        f.write("%s:x:%d:\n" % (me.pw_name, me.pw_gid))
    return home, work


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xssh", required=True)
    ap.add_argument("--ssh", default="ssh")
    ap.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("-k", help="only cases whose name contains this")
    a = ap.parse_args()
    cases = load_cases(os.path.join(a.dir, "cases.txt"))
    if a.k:
        cases = [c for c in cases if a.k in c[0]]
    home, work = scratch_home(a.dir)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("SSH_") or k in ("LD_PRELOAD",):
            del env[k]
    env.update(HOME=home, LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=os.path.join(home, "passwd"),
               NSS_WRAPPER_GROUP=os.path.join(home, "group"), XSSH_CFG_TEST_VAR="from-env")
    # the wrapper must really be in use, or "~" would differ between the two
    probe = subprocess.run([sys.executable, "-c", "import pwd,os;print(pwd.getpwuid(os.getuid()).pw_dir)"],
                           env=env, capture_output=True, text=True)
    if probe.stdout.strip() != home:
        sys.exit("nss_wrapper not working (libnss-wrapper installed?): passwd home is %r" % probe.stdout.strip())
    failed = []
    t0 = time.monotonic()
    try:
        for name, config, host, opts, expect in cases:
            fargs = []
            user_cfg = os.path.join(home, ".ssh", "config")
            if os.path.exists(user_cfg):
                os.unlink(user_cfg)
            if config == "none":
                fargs = ["-F", "none"]
            elif config.startswith("~"):
                shutil.copy(os.path.join(work, config[1:]), user_cfg)
                os.chmod(user_cfg, 0o600)
            else:
                fargs = ["-F", os.path.join(work, config)]
            oargs = []
            for o in opts:
                oargs += ["-o", o]
            g = subprocess.run([a.ssh, "-G"] + fargs + oargs + [host], env=env, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, cwd=work)
            x = subprocess.run([a.xssh] + fargs + oargs + [host], env=env, capture_output=True, text=True,
                               cwd=work)
            problems = []
            if expect.startswith("unsupported"):
                # valid for ssh, refused by xssh on purpose (docs/config.md): a clear error
                want = expect.split(":", 1)[1] if ":" in expect else None
                if g.returncode != 0:
                    problems.append("ssh -G refused it too: %s" % g.stderr.strip())
                if x.returncode != 1:
                    problems.append("xssh did not refuse it (exit %d)" % x.returncode)
                elif want and want not in x.stderr:
                    problems.append("xssh's message %r does not name %r" % (x.stderr.strip(), want))
                if not problems:
                    print("ok   %-32s xssh refuses (documented): %s" % (name, x.stderr.strip()))
            elif expect.startswith("error"):
                if g.returncode == 0:
                    problems.append("ssh -G accepted the configuration (the case expects an error)")
                if x.returncode != 1:
                    problems.append("xssh did not refuse it (exit %d): %s" % (x.returncode, x.stdout[:300]))
                want = expect.split(":", 1)[1] if ":" in expect else None
                if want and want not in x.stderr:
                    problems.append("xssh's message %r does not name %r" % (x.stderr.strip(), want))
                if not problems:
                    print("ok   %-32s both refuse: ssh: %s | xssh: %s" % (
                        name, g.stderr.strip().splitlines()[0] if g.stderr.strip() else "?", x.stderr.strip()))
            else:
                if g.returncode != 0:
                    problems.append("ssh -G failed: %s" % g.stderr.strip())
                if x.returncode != 0:
                    problems.append("xssh failed: %s" % x.stderr.strip())
                if not problems:
                    gv = parse_g(g.stdout)
                    xv = parse_g(x.stdout)
                    # expanded identity files, as ssh loads them
                    # ProxyCommand first: it wins over any ProxyJump, so nothing but `true` runs
                    v = subprocess.run([a.ssh, "-v", "-o", "ProxyCommand=true"] + fargs + oargs + [host],
                                       env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=work)
                    ids = re.findall(r"^debug1: identity file (.*) type -?\d+$", v.stderr, re.M)
                    gv["identityfile"] = ids[0::2]
                    if not ids and "identity file" not in v.stderr:
                        gv["identityfile"] = []
                    for k in COMPARED:
                        if gv.get(k, []) != xv.get(k, []):
                            problems.append("%s: ssh %r, xssh %r" % (k, gv.get(k), xv.get(k)))
                    if problems:
                        gl = ["%s %s" % (k, " ".join(gv.get(k, []))) for k in COMPARED]
                        xl = ["%s %s" % (k, " ".join(xv.get(k, []))) for k in COMPARED]
                        problems.append("\n".join(difflib.unified_diff(gl, xl, "ssh -G", "xssh", lineterm="")))
                if not problems:
                    print("ok   %-32s %s" % (name, " ".join(fargs + oargs + [host])))
            if problems:
                failed.append(name)
                print("FAIL %-32s %s" % (name, " ".join(fargs + oargs + [host])))
                for p in problems:
                    print("     " + p.replace("\n", "\n     "))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print("%d cases, %d passed, %d failed (%.1f s)" % (len(cases), len(cases) - len(failed), len(failed),
                                                        time.monotonic() - t0))
    if not cases:
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
