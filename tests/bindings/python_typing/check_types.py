#!/usr/bin/env python3
"""mypy on xssh's stubs: every deliberate mistake of bad_sample.py reported at its line (with
its error code), nothing on good_sample.py; then good_sample.py runs against the test sshd.

    check_types.py PYTHONPATH_DIR [--run]
    check_types.py --python-executable VENV/bin/python     (the package installed there)

PYTHONPATH_DIR holds the built package (xssh/ with its .pyi stubs and py.typed); with
--python-executable mypy finds the installed package through PEP 561 (py.typed). --run
also runs good_sample.py against the test sshd (XSSH_TEST_ENV, the ctest fixture's file).
mypy is Debian's (python3-mypy), run as ``/usr/bin/python3 -m mypy``.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def mypy(pkgdir, target, cache):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("MYPYPATH", None)
    where = []
    if pkgdir.startswith("exe:"):
        where = ["--python-executable", pkgdir[4:]]
    else:
        env["MYPYPATH"] = pkgdir
    cmd = [sys.executable, "-m", "mypy", "--no-error-summary", "--show-error-codes", "--check-untyped-defs",
           "--cache-dir", cache, "--python-version", "%d.%d" % sys.version_info[:2]] + where + [target]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
                       cwd=HERE)
    if r.returncode not in (0, 1) or r.stderr.strip():
        sys.exit("mypy failed to run (exit %d): %s%s" % (r.returncode, r.stdout, r.stderr))
    found = []
    for ln in r.stdout.splitlines():
        m = re.match(r"^(.+?):(\d+): error: (.*?)\s+\[([\w-]+)\]$", ln)
        if m:
            found.append((os.path.basename(m.group(1)), int(m.group(2)), m.group(4), m.group(3)))
        elif ": error:" in ln:
            found.append(("?", 0, "?", ln))
    return found, r.stdout


def main():
    if sys.argv[1] == "--python-executable":
        pkgdir = "exe:" + sys.argv[2]
    else:
        pkgdir = os.path.abspath(sys.argv[1])
    cache = tempfile.mkdtemp(prefix="xssh-mypy-")
    failures = []
    try:
        bad = os.path.join(HERE, "bad_sample.py")
        expected = {}
        with open(bad) as f:
            for i, line in enumerate(f, 1):
                m = re.search(r"# expect: ([\w-]+)", line)
                if m:
                    expected[i] = m.group(1)
        if len(expected) < 5:
            failures.append("bad_sample.py has only %d expected mistakes" % len(expected))
        found, out = mypy(pkgdir, "bad_sample.py", cache)
        got = {}
        for fn, line, code, msg in found:
            got.setdefault(line, []).append((code, msg))
        for line, code in sorted(expected.items()):
            codes = [c for c, _ in got.get(line, [])]
            if code not in codes:
                failures.append("bad_sample.py:%d: expected a mypy [%s] error, got %s" % (line, code, got.get(line)))
            else:
                print("bad_sample.py:%d reported [%s]: %s" % (line, code, [m for c, m in got[line] if c == code][0]))
        for line, items in sorted(got.items()):
            if line not in expected:
                failures.append("bad_sample.py:%d: unexpected mypy error %s" % (line, items))
        found, out = mypy(pkgdir, "good_sample.py", cache)
        for fn, line, code, msg in found:
            failures.append("good_sample.py:%d: mypy reports correct code: %s [%s]" % (line, msg, code))
        if not found:
            print("good_sample.py: no mypy error")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if "--run" in sys.argv:
        env_file = os.environ["XSSH_TEST_ENV"]
        env = {}
        with open(env_file) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
        work = tempfile.mkdtemp(prefix="xssh-typing-")
        try:
            r = subprocess.run([sys.executable, os.path.join(HERE, "good_sample.py"), env["XSSH_TEST_HOST"],
                                env["XSSH_TEST_PORT"], env["XSSH_TEST_USER"], env["XSSH_TEST_KEY_ED25519"],
                                env["XSSH_TEST_KNOWN_HOSTS"], work],
                               env=dict(os.environ, PYTHONPATH=pkgdir), timeout=300)
            if r.returncode != 0:
                failures.append("good_sample.py failed against the test sshd (exit %d)" % r.returncode)
            else:
                print("good_sample.py ran against the test sshd")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
