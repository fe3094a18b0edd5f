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
    "preferredauthentications", "identityagent", "proxyjump", "proxycommand", "identityfile", "hostkeyalias",
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


HOSTS = ["alpha", "beta", "db1.prod", "db12.prod", "web-1", "x.corp", "y.corp", "skip.corp", "10.0.0.7",
         "Mixed.Case", "a.example.com", "u@alpha", "v@x.corp", "ssh://w@beta:2022"]
PATTERNS = ["*", "alpha", "beta", "db?.prod", "*.corp", "!skip.corp", "!*.corp", "web-*", "10.0.0.*", "*.com",
            "Mixed.Case", "mixed.case", "!alpha", "?eta", "*a*"]
VALUES = {
    "HostName": ["%h.example.net", "real-%h", "10.1.1.1", "UPPER.%h", "%h"],
    "User": ["u1", "u2", "\"spaced user\"", "root"],
    "Port": ["22", "2022", "ssh", "65535"],
    "IdentityFile": ["~/.ssh/id_%h", "/k/%r@%h:%p", "%d/%u/%n", "~/.ssh/k1", "none", "/k/%%", "/k/%k-%C",
                     "'/k/q s'", "~root/x"],
    "IdentitiesOnly": ["yes", "no"],
    "IdentityAgent": ["none", "SSH_AUTH_SOCK", "~/a.sock", "%d/agent-%h"],
    "ProxyJump": ["none", "j1", "u@j2:2200,j3", "[::1]:22", "j4,j5,j6"],
    "UserKnownHostsFile": ["~/.ssh/kh", "%d/kh_%h ~/kh2", "none"],
    "GlobalKnownHostsFile": ["/etc/ssh/g1", "/g1 /g2"],
    "StrictHostKeyChecking": ["yes", "no", "off", "ask", "accept-new", "true", "false"],
    "HashKnownHosts": ["yes", "no"],
    "ConnectTimeout": ["5", "1m", "none", "0"],
    "ServerAliveInterval": ["10", "2m30s", "0", "none"],
    "ServerAliveCountMax": ["0", "3", "7"],
    "Compression": ["yes", "no"],
    "Ciphers": ["+aes128-cbc", "-aes*", "^aes256-ctr", "aes128-ctr,aes256-ctr", "-chacha20-poly1305@openssh.com"],
    "KexAlgorithms": ["+diffie-hellman-group1-sha1", "-ecdh-*", "^curve25519-sha256", "curve25519-sha256"],
    "HostKeyAlgorithms": ["+ssh-rsa", "-*cert*", "^ssh-ed25519", "ssh-ed25519*,rsa-sha2-*"],
    "MACs": ["+hmac-md5", "-*etm*", "^hmac-sha1", "hmac-sha2-256"],
    "BatchMode": ["yes", "no"],
    "AddressFamily": ["any", "inet", "inet6"],
    "BindAddress": ["127.0.0.1", "::1"],
    "PreferredAuthentications": ["publickey", "password,publickey"],
    "PubkeyAuthentication": ["yes", "no", "unbound", "host-bound"],
    "PasswordAuthentication": ["yes", "no"],
    "KbdInteractiveAuthentication": ["yes", "no"],
    "ChallengeResponseAuthentication": ["yes", "no"],
    "ForwardAgent": ["yes"],
    "CanonicalizeHostname": ["yes", "no", "always"],
    "HostKeyAlias": ["alias-%h", "k1"],
    "IgnoreUnknown": ["UseKeychain", "Bogus*"],
    "UseKeychain": ["yes"],
    "SendEnv": ["LANG LC_*"],
}


# malformed lines: both must refuse (at parse time, or when resolving)
BAD = [("Port", "0"), ("Port", "x"), ("StrictHostKeyChecking", "maybe"), ("Ciphers", "bogus-cipher"),
       ("BogusKeyword", "1"), ("IdentityFile", "/k/%z"), ("User", "\"open"), ("ConnectTimeout", "1y"),
       ("ProxyJump", "@h"), ("Compression", "delayed"), ("ServerAliveCountMax", "-1"), ("HostName", "%x")]


def random_cases(rng, n, work):
    """n random configurations (deterministic for a seed) and a host for each"""
    cases = []
    kws = sorted(VALUES)
    for i in range(n):
        lines = []
        for _b in range(rng.randint(1, 5)):
            r = rng.random()
            if r < 0.55:
                lines.append("Host " + " ".join(rng.sample(PATTERNS, rng.randint(1, 3))))
            elif r < 0.85:
                crit = rng.choice(["host %s" % rng.choice(PATTERNS).lstrip("!"),
                                   "originalhost %s" % rng.choice(PATTERNS).lstrip("!"),
                                   "user u1,root", "!user u2", "localuser root", "all", "!host *.corp",
                                   "final", "canonical", "final host real-*", "!final", "!canonical user root",
                                   "host \"*.corp\"", "originalhost alpha,beta !user u1"])
                lines.append("Match " + crit)
            for _k in range(rng.randint(1, 4)):
                k = rng.choice(kws)
                sep = rng.choice([" ", "=", " = ", "\t"])
                v = rng.choice(VALUES[k])
                if rng.random() < 0.03:
                    k, v = rng.choice(BAD)
                if rng.random() < 0.1:
                    v += rng.choice(["  # comment", "\t#x,y", " "])
                lines.append("    %s%s%s" % (k, sep, v))
            if rng.random() < 0.1:
                lines.append("Include " + rng.choice(["@DIR@/inc/*.conf", "frag_*.conf", "none-*.conf",
                                                      "@DIR@/inc/nest/level1.conf"]).replace("@DIR@", work))
        fn = "rand_%03d.conf" % i
        with open(os.path.join(work, fn), "w") as f:
            f.write("\n".join(lines) + "\n")
        opts = []
        if rng.random() < 0.3:
            k = rng.choice(kws)
            opts.append("%s=%s" % (k, rng.choice(VALUES[k]).replace("\"", "")))
        cases.append(("random-%03d" % i, fn, rng.choice(HOSTS), opts, "same"))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xssh", required=True)
    ap.add_argument("--ssh", default="ssh")
    ap.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("-k", help="only cases whose name contains this")
    ap.add_argument("--random", type=int, default=0,
                    help="instead of cases.txt: this many random configurations (same seed, same cases)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    home, work = scratch_home(a.dir)
    if a.random:
        import random
        cases = random_cases(random.Random(a.seed), a.random, work)
    else:
        cases = load_cases(os.path.join(a.dir, "cases.txt"))
    if a.k:
        cases = [c for c in cases if a.k in c[0]]
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("SSH_") or k in ("LD_PRELOAD",):
            del env[k]
    env.update(HOME=home, LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=os.path.join(home, "passwd"),
               NSS_WRAPPER_GROUP=os.path.join(home, "group"), XSSH_CFG_TEST_VAR="from-env")
    # an ASan build of xssh_resolve (scripts/sanitize.sh asan) refuses to start with the preloaded
    # nss_wrapper ahead of its runtime, and refuses nss_wrapper's RTLD_DEEPBIND dlopen of libc;
    # neither matters to what is checked
    env["NSS_WRAPPER_DISABLE_DEEPBIND"] = "1"
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), "verify_asan_link_order=0"]))
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
            if expect == "same":
                # random cases: both refuse, or both resolve and agree
                if g.returncode == 0 and x.returncode != 0 and "unknown token" in x.stderr:
                    # ssh -G prints IdentityFile unexpanded; ssh refuses the token when it loads the keys
                    v = subprocess.run([a.ssh, "-v", "-o", "ProxyCommand=true"] + fargs + oargs + [host],
                                       env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=work)
                    if "unknown key %" in v.stderr:
                        print("ok   %-32s both refuse (ssh when loading the keys)" % name)
                        continue
                if (g.returncode == 0) != (x.returncode == 0):
                    problems.append("ssh -G %s, xssh %s" % (
                        "accepts" if g.returncode == 0 else "refuses: " + g.stderr.strip(),
                        "accepts" if x.returncode == 0 else "refuses: " + x.stderr.strip()))
                    with open(os.path.join(work, config)) as f:
                        problems.append(f.read())
                elif g.returncode != 0:
                    print("ok   %-32s both refuse" % name)
                    continue
                else:
                    expect = "ok"
            if problems:
                pass
            elif expect.startswith("unsupported"):
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
            elif expect == "ok":
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
                    if problems and config.startswith("rand_"):
                        with open(os.path.join(work, config)) as f:
                            problems.append(f.read())
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
