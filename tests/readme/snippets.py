#!/usr/bin/env python3
"""Every code block of the READMEs, run as a test (ctest readme_snippets, readme_shell).

    snippets.py --build BUILD [--kind code|shell|all] [--list] [FILE.md ...]
    (default files: README.md and bindings/{python,lua,ruby}/README.md)

The blocks are found when the test runs, by their language tag, so edits to the
READMEs are picked up with no change here:

- ```c, ```python, ```lua, ```ruby (kind "code"): run against the test sshd
  ($XSSH_TEST_ENV, ctest fixture "sshd") in a scratch directory with a scratch $HOME
  whose ~/.ssh holds the test user's Ed25519 key (id_ed25519), the test known_hosts
  and a config (`Host *`: HostName 127.0.0.1, the sshd's Port, its User), so a block
  written for a real host runs as written except for these substitutions, printed with
  each run: the host `example.org` -> 127.0.0.1; a port given with it (`"example.org", 22`,
  `port: 22`, `port = 2222`) -> the sshd's port, and when a Python/Ruby/Lua block gives
  none, the port is added after the host (`, port=N` / `, port: N` / `, port = N`);
  the user literal "me"/'me' -> the
  test user; /home/me -> the scratch home. C blocks are compiled inside main() with
  <xssh.h> against the built library. A block passes when it exits 0 and (C) writes
  nothing to stderr.
- ```sh / ```bash / ```shell / ```console and indented code blocks (kind "shell"): run
  with bash -e from a scratch copy of the checkout (git ls-files, no build tree: a
  block builds what it needs, as a new user would), with a scratch $HOME, $GEM_HOME,
  a plain venv first on PATH (pip) and a luarocks that installs into a scratch tree. The Quick start section's two commands
  are tests/readme/run.sh's (ctest readme_commands) and are not run twice.

Markers (an HTML comment on the line before the block; keep them rare):
  <!-- readme-test: continue -->       the block continues the previous block of the
                                        same language in the same file (run together)
  <!-- readme-test: skip REASON -->     not runnable as written; REASON is printed
A block without a marker that cannot run fails the test.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE = {"c", "python", "lua", "ruby"}
SHELL = {"sh", "bash", "shell", "console"}
MARK = re.compile(r"^<!--\s*readme-test:\s*(continue|skip)\b\s*(.*?)\s*-->\s*$")


class Block(object):
    def __init__(self, path, line, lang, text, section, marker, reason):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.section, self.marker, self.reason = section, marker, reason

    def where(self):
        return "%s:%d (%s)" % (os.path.relpath(self.path, ROOT), self.line, self.lang)


def blocks(path):
    """Fenced blocks (by info string) and indented code blocks (shell commands)."""
    with open(path) as fh:
        lines = fh.read().split("\n")
    out, i, section, prev_blank, in_list = [], 0, "", True, False
    while i < len(lines):
        ln = lines[i]
        m = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", ln)
        if m and not ln.startswith("    "):
            fence, lang = m.group(1), m.group(2).lower()
            j = i + 1
            while j < len(lines) and not lines[j].startswith(fence):
                j += 1
            marker, reason = _marker(lines, i)
            out.append(Block(path, i + 1, lang or "text", "\n".join(lines[i + 1:j]) + "\n", section, marker, reason))
            i, prev_blank = j + 1, False
            continue
        if ln.startswith("    ") and prev_blank and not in_list and ln.strip():
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            body = [x[4:] for x in lines[i:j]]
            while body and not body[-1].strip():
                body.pop()
            marker, reason = _marker(lines, i)
            out.append(Block(path, i + 1, "sh", "\n".join(body) + "\n", section, marker, reason))
            i, prev_blank = j, False
            continue
        h = re.match(r"^#{1,6}\s+(.*)", ln)
        if h:
            section = h.group(1).strip()
        if not ln.strip():
            prev_blank = True
        elif MARK.match(ln.strip()):
            pass                 # a marker keeps the blank line before it (the block may follow)
        else:
            prev_blank = False
            in_list = bool(re.match(r"^\s*([-*+]|\d+\.)\s", ln)) or (in_list and ln.startswith(" "))
        i += 1
    return out


def _marker(lines, i):
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    m = MARK.match(lines[j].strip()) if j >= 0 else None
    return (m.group(1), m.group(2)) if m else (None, "")


# ---- the test sshd, as the blocks see it --------------------------------------------------

def read_env():
    path = os.environ.get("XSSH_TEST_ENV")
    if not path or not os.path.exists(path):
        sys.exit("XSSH_TEST_ENV is not set or missing: run through ctest (fixture sshd)")
    env = {}
    with open(path) as fh:
        for line in fh:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


def make_home(scratch, t):
    home = os.path.join(scratch, "home")
    ssh = os.path.join(home, ".ssh")
    os.makedirs(ssh, mode=0o700)
    for src, dst in ((t["XSSH_TEST_KEY_ED25519"], "id_ed25519"), (t["XSSH_TEST_KEY_ED25519"] + ".pub", "id_ed25519.pub"),
                     (t["XSSH_TEST_KNOWN_HOSTS"], "known_hosts")):
        if os.path.exists(src):
            shutil.copy(src, os.path.join(ssh, dst))
    os.chmod(os.path.join(ssh, "id_ed25519"), 0o600)
    with open(os.path.join(ssh, "config"), "w") as fh:
        fh.write("Host *\n  HostName %s\n  Port %s\n  User %s\n  IdentityFile ~/.ssh/id_ed25519\n"
                 % (t["XSSH_TEST_HOST"], t["XSSH_TEST_PORT"], t["XSSH_TEST_USER"]))
    return home


def substitute(lang, text, t, home):
    host, port, user = t["XSSH_TEST_HOST"], t["XSSH_TEST_PORT"], t["XSSH_TEST_USER"]
    done = []

    def sub(pattern, repl, s, what):
        s2, n = re.subn(pattern, repl, s)
        if n:
            done.append(what)
        return s2
    text = sub(r"\bport(\s*[:=]\s*)\d+\b", r"port\g<1>%s" % port, text, "port -> %s" % port)
    text = sub(r"(['\"])example\.org\1(\s*,\s*)22\b", r"\g<1>%s\1\g<2>%s" % (host, port), text,
               "example.org, 22 -> %s, %s" % (host, port))
    # connect() with the host and no port: the port is added next to the host
    add_port = {"python": (r"\bport\s*=", r"\g<1>%s\1, port=%s"), "ruby": (r"\bport:", r"\g<1>%s\1, port: %s"),
                "lua": (r"\bport\s*=", r"\g<1>%s\1, port = %s")}.get(lang)
    if add_port and not re.search(add_port[0], text):
        text = sub(r"(['\"])example\.org\1", add_port[1] % (host, port), text,
                   "example.org -> %s, port %s" % (host, port))
    text = sub(r"(['\"])example\.org\1", r"\g<1>%s\1" % host, text, "example.org -> %s" % host)
    text = sub(r"(['\"])me\1", r"\g<1>%s\1" % user, text, "user 'me' -> %s" % user)
    text = sub(r"/home/me\b", home, text, "/home/me -> scratch home")
    return text, done


# ---- running ------------------------------------------------------------------------------

def run(cmd, cwd, env, timeout):
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.time() - t0


def code_cmd(lang, text, work, build):
    src = os.path.join(work, "snippet." + {"c": "c", "python": "py", "lua": "lua", "ruby": "rb"}[lang])
    if lang == "c":
        body = ("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <xssh.h>\n"
                "int main(void)\n{\n%s\n    return 0;\n}\n" % text)
        with open(src, "w") as fh:
            fh.write(body)
        exe = os.path.join(work, "snippet")
        cc = [os.environ.get("CC", "cc"), "-std=c99", "-Wall", "-Werror=implicit-function-declaration",
              "-I", os.path.join(ROOT, "capi", "include"), "-I", os.path.join(build, "capi"),
              src, "-o", exe, "-L", build, "-Wl,-rpath," + build, "-lxssh"]
        r = subprocess.run(cc, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if r.returncode != 0:
            return None, "compiling failed:\n" + r.stdout
        return [exe], None
    with open(src, "w") as fh:
        fh.write(text)
    if lang == "python":
        return ["/usr/bin/python3", src], None
    if lang == "lua":
        return ["lua5.4", src], None
    return ["ruby", "-I", os.path.join(build, "ruby"), "-I", os.path.join(ROOT, "bindings", "ruby", "lib"), src], None


def code_env(build, home):
    env = dict(os.environ, HOME=home)
    env.pop("SSH_AUTH_SOCK", None)
    env["PYTHONPATH"] = os.path.join(build, "python")
    env["LUA_PATH"] = "%s/?.lua;%s/?/init.lua;;" % (os.path.join(ROOT, "bindings", "lua"), os.path.join(ROOT, "bindings", "lua"))
    env["LUA_CPATH"] = "%s/?.so;;" % os.path.join(build, "lua")
    return env


def shell_env(scratch, home, build):
    env = dict(os.environ, HOME=home, GEM_HOME=os.path.join(scratch, "gems"))
    env.pop("SSH_AUTH_SOCK", None)
    venv = os.path.join(scratch, "venv")
    if not os.path.exists(venv):
        subprocess.check_call(["/usr/bin/python3", "-m", "venv", venv])
    shims = os.path.join(scratch, "bin")
    os.makedirs(shims, exist_ok=True)
    lr = shutil.which("luarocks")
    if lr:   # luarocks into a scratch tree, never the system's
        with open(os.path.join(shims, "luarocks"), "w") as fh:
            fh.write('#!/bin/sh\nexec %s --tree="%s" "$@"\n' % (lr, os.path.join(scratch, "rocks")))
        os.chmod(os.path.join(shims, "luarocks"), 0o755)
    env["PATH"] = os.pathsep.join([shims, os.path.join(venv, "bin"), os.path.join(env["GEM_HOME"], "bin"),
                                   env.get("PATH", "")])
    env["VIRTUAL_ENV"] = venv
    return env


def copy_checkout(dst, build):
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], stdout=subprocess.PIPE, check=True).stdout
    for rel in files.decode().split("\0"):
        if not rel or not os.path.lexists(os.path.join(ROOT, rel)):
            continue
        d = os.path.join(dst, os.path.dirname(rel))
        os.makedirs(d, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), os.path.join(dst, rel), follow_symlinks=False)
    subprocess.run(["git", "init", "-q", dst], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="the build tree (library, modules)")
    ap.add_argument("--kind", choices=("code", "shell", "all"), default="all")
    ap.add_argument("--list", action="store_true", help="list the blocks and what would happen")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per code block (shell: 10x)")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    files = [os.path.abspath(f) for f in a.files] or (
        [os.path.join(ROOT, "README.md")] + [os.path.join(ROOT, "bindings", l, "README.md")
                                             for l in ("python", "lua", "ruby")
                                             if os.path.exists(os.path.join(ROOT, "bindings", l, "README.md"))])
    # the units to run: a block, or several joined by "continue"
    units, skipped, ignored = [], [], []
    for f in files:
        last = {}
        for b in blocks(f):
            kind = "code" if b.lang in CODE else "shell" if b.lang in SHELL else None
            if kind is None:
                ignored.append(b)
                continue
            if a.kind != "all" and kind != a.kind:
                continue
            if b.marker == "skip":
                if not b.reason:
                    sys.exit("%s: a skip marker needs a reason" % b.where())
                skipped.append(b)
                continue
            if kind == "shell" and os.path.basename(f) == "README.md" and os.path.dirname(f) == ROOT \
                    and b.section.lower().startswith("quick start"):
                skipped.append(Block(b.path, b.line, b.lang, b.text, b.section, "skip",
                                     "Quick start: run by tests/readme/run.sh (ctest readme_commands)"))
                continue
            if b.marker == "continue":
                prev = last.get(b.lang)
                if prev is None:
                    sys.exit("%s: 'continue' with no earlier %s block in the file" % (b.where(), b.lang))
                prev["blocks"].append(b)
                continue
            u = {"kind": kind, "lang": b.lang, "blocks": [b]}
            units.append(u)
            last[b.lang] = u
    for b in ignored:
        print("not code: %s" % b.where())
    for b in skipped:
        print("SKIP %s: %s" % (b.where(), b.reason))
    if a.list:
        for u in units:
            print("RUN  %s" % " + ".join(b.where() for b in u["blocks"]))
        return 0
    t = read_env()
    scratch = tempfile.mkdtemp(prefix="xssh-readme-")
    fails = 0
    try:
        home = make_home(scratch, t)
        checkout = None
        for n, u in enumerate(units):
            text = "\n".join(b.text for b in u["blocks"])
            label = " + ".join(b.where() for b in u["blocks"])
            work = os.path.join(scratch, "run%d" % n)
            os.makedirs(work)
            if u["kind"] == "code":
                text, subs = substitute(u["lang"], text, t, home)
                cmd, err = code_cmd(u["lang"], text, work, build)
                if cmd is None:
                    print("FAIL %s: %s" % (label, err))
                    fails += 1
                    continue
                rc, out, errout, secs = run(cmd, work, code_env(build, home), a.timeout)
                ok = rc == 0 and not (u["lang"] == "c" and errout.strip())
            else:
                subs = []
                if checkout is None:
                    checkout = os.path.join(scratch, "checkout")
                    copy_checkout(checkout, build)
                rc, out, errout, secs = run(["bash", "-e", "-o", "pipefail", "-c", text], checkout,
                                            shell_env(scratch, home, build), a.timeout * 10)
                ok = rc == 0
            print("%s %s (%.1fs)%s" % ("ok  " if ok else "FAIL", label, secs,
                                       ("  [" + "; ".join(subs) + "]") if subs else ""))
            if not ok or os.environ.get("XSSH_README_VERBOSE"):
                print("  exit %d\n  --- stdout\n%s\n  --- stderr\n%s" % (rc, _indent(out), _indent(errout)))
            if not ok:
                fails += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("README blocks: %d run, %d failed, %d skipped (with reasons above)" % (len(units), fails, len(skipped)))
    if not units:
        print("no block found: the READMEs lost their examples?")
        return 1
    return 1 if fails else 0


def _indent(s):
    s = s.strip("\n")
    return "\n".join("  | " + x for x in s.split("\n")[-60:]) if s else "  | (empty)"


if __name__ == "__main__":
    sys.exit(main())
