# SPDX-License-Identifier: BSD-3-Clause
"""xssh(1) without any host: --help of every command against the man page, the man
page's roff, usage errors and their exit status, hosts-file parsing and resolution
through the library's ssh_config reader (-n prints what each host resolves to)."""
import os
import re
import subprocess

import pytest

XSSH = os.environ["XSSH_CLI"]
MAN = os.environ["XSSH_CLI_MAN"]


def xssh(*args, env=None, input=None, cwd=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([XSSH, *args], input=input, capture_output=True, text=True, env=e, cwd=cwd,
                          timeout=60)


# ---- help and man page -----------------------------------------------------

OPT_LINE = re.compile(r"^\s{2,}(-[A-Za-z0-9]|--[a-z][a-z-]*)\b")
OPT = re.compile(r"(?<![\w-])(--[a-z][a-z-]*[a-z]|-[A-Za-z])(?![\w-])")


def help_options(text):
    """Options a --help text defines: those at the start of an indented line."""
    found = set()
    for line in text.splitlines():
        if OPT_LINE.match(line):
            head = re.split(r"\s{2,}", line.strip())[0]   # "-l, --user USER"
            found.update(OPT.findall(head))
    return found


def man_options(roff):
    """Options the man page defines: the tag lines of its .TP paragraphs."""
    found = set()
    lines = roff.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".TP") and i + 1 < len(lines):
            tag = lines[i + 1].replace("\\-", "-")
            tag = re.sub(r"\\f[BIRP]", " ", tag)
            tag = tag.replace('"', " ")
            found.update(OPT.findall(tag))
    return found


def test_man_page_lints_clean():
    r = subprocess.run(["groff", "-ww", "-z", "-man", MAN], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_every_help_option_is_in_the_man_page_and_back():
    roff = open(MAN, encoding="utf-8").read()
    in_man = man_options(roff)
    in_help = set()
    for cmd in ([], ["run"], ["put"], ["get"]):
        r = xssh(*cmd, "--help")
        assert r.returncode == 0, r.stderr
        opts = help_options(r.stdout)
        assert opts, "no option found in xssh %s --help" % " ".join(cmd)
        in_help |= opts
    assert in_help - in_man == set(), "in --help, not in the man page"
    assert in_man - in_help == set(), "in the man page, not in any --help"
    # the parser sees what a reader sees
    for o in ("-H", "--hosts", "--host", "-o", "--host-key-checking", "--connect-timeout", "-V", "--outdir"):
        assert o in in_help


def test_help_per_command_and_help_command():
    for cmd in ("run", "put", "get"):
        a = xssh(cmd, "--help")
        b = xssh("help", cmd)
        c = xssh(cmd, "-h")
        assert a.returncode == b.returncode == c.returncode == 0
        assert a.stdout == b.stdout == c.stdout
        assert a.stdout.startswith("Usage: xssh %s" % cmd)
    assert "-g, --group" in xssh("run", "--help").stdout
    assert "-g, --group" not in xssh("put", "--help").stdout
    assert "-L, --outdir" in xssh("get", "--help").stdout
    top = xssh("--help")
    assert top.returncode == 0 and "run" in top.stdout and "Exit status" in top.stdout


def test_version():
    r = xssh("--version")
    assert r.returncode == 0
    assert re.match(r"xssh \d+\.\d+\.\d+ \(libxssh \d+\.\d+\.\d+, libssh2 \d+\.\d+", r.stdout)


# ---- usage errors: exit status 2, a message naming what is wrong --------------

@pytest.mark.parametrize("args,says", [
    ([], "no command"),
    (["frobnicate"], "no command 'frobnicate'"),
    (["-H", "x", "run"], "before the command"),
    (["run", "--host", "h"], "no command given"),
    (["run", "true"], "no hosts"),
    (["run", "--host", "h", "--", "   "], "command is empty"),
    (["run", "--bogus", "--host", "h", "true"], "unknown option '--bogus'"),
    (["run", "-Z", "--host", "h", "true"], "unknown option '-Z'"),
    (["run", "--host"], "needs a value"),
    (["run", "-p", "0", "--host", "h", "true"], "--port: '0'"),
    (["run", "-p", "http", "--host", "h", "true"], "--port: 'http'"),
    (["run", "-j", "-1", "--host", "h", "true"], "--parallel"),
    (["run", "-t", "soon", "--host", "h", "true"], "--timeout: 'soon'"),
    (["run", "-t", "-1", "--host", "h", "true"], "--timeout"),
    (["run", "-t", "nan", "--host", "h", "true"], "--timeout"),
    (["run", "--connect-timeout", "inf", "--host", "h", "true"], "--connect-timeout"),
    (["run", "-o", "NoSuchKeyword=1", "--host", "h", "true"], "NoSuchKeyword"),
    (["run", "-o", "Port=abc", "--host", "h", "true"], "abc"),
    (["run", "-o", "justakey", "--host", "h", "true"], "KEY=VALUE"),
    (["run", "-k", "maybe", "--host", "h", "true"], "maybe"),
    (["run", "--recursive", "--host", "h", "true"], "put and get"),
    (["put", "--group", "--host", "h", "a", "b"], "xssh run"),
    (["put", "--outdir", "d", "--host", "h", "a", "b"], "xssh get"),
    (["put", "--host", "h", "a"], "LOCAL REMOTE"),
    (["get", "--host", "h"], "REMOTE [NAME]"),
    (["get", "--host", "h", "/etc/passwd", "a/b"], "one file name"),
    (["get", "--host", "h", "/"], "give NAME"),
    (["run", "--host", "bad host", "true"], "spaces"),
    (["run", "--host", "h:99999", "true"], "1..65535"),
    (["run", "--host", "-oProxyCommand=x", "true"], "cannot start with '-'"),
    (["run", "-I", "-H", "-", "true"], "standard input"),
    (["put", "--host", "h", "/etc/hostname", "/tmp/%x"], "unknown token '%x'"),
    (["get", "--host", "h", "/tmp/a%"], "a lone '%' at the end"),
    (["get", "--host", "h", "/tmp/a", "b%n"], "one file name"),
])
def test_usage_errors(args, says):
    r = xssh(*args, input="")
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert says in r.stderr, r.stderr
    assert r.stdout == ""


def test_put_local_errors(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    r = xssh("put", "--host", "h", str(d), "/tmp/x")
    assert r.returncode == 2 and "is a directory (copy its tree with -r)" in r.stderr
    r = xssh("put", "--host", "h", str(tmp_path / "missing"), "/tmp/x")
    assert r.returncode == 1 and "missing: No such file or directory" in r.stderr


def test_unreadable_hosts_file_is_a_local_error(tmp_path):
    r = xssh("run", "-H", str(tmp_path / "nope"), "true")
    assert r.returncode == 1 and "No such file or directory" in r.stderr


def test_config_file_error_is_reported_once(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.write_text("Host *\n  NoSuchKeyword yes\n")
    r = xssh("run", "-F", str(cfg), "--host", "a", "--host", "b", "true")
    assert r.returncode == 2
    assert r.stderr.count("line 2") == 1, r.stderr


# ---- hosts files and resolution (-n: nothing is contacted) --------------------

HOSTS = """\
# a comment line
web1
  alice@web2:2222      # trailing comment
\t[::1]:2200
::1

bob@[fe80::1%eth0]:22
u@h@example.org
web1                   # again: contacted once
"""


def dry(tmp_path, *args, config="", hosts=HOSTS, env=None):
    hf = tmp_path / "hosts"
    hf.write_text(hosts)
    cfg = tmp_path / "ssh_config"
    cfg.write_text(config)
    r = xssh("run", "-n", "-F", str(cfg), "-H", str(hf), *args, "--", "true", env=env)
    return r, [line.split("\t") for line in r.stdout.splitlines()]


def test_hosts_file_parsing(tmp_path):
    r, rows = dry(tmp_path, "-l", "carol", "-p", "2022")
    assert r.returncode == 0, r.stderr
    assert rows == [
        ["web1", "carol", "web1", "2022"],
        ["alice@web2:2222", "alice", "web2", "2222"],     # the host's own user and port win
        ["[::1]:2200", "carol", "::1", "2200"],
        ["::1", "carol", "::1", "2022"],
        ["bob@[fe80::1%eth0]:22", "bob", "fe80::1%eth0", "22"],
        ["u@h@example.org", "u@h", "example.org", "2022"],  # the last '@' splits, as ssh
    ]
    assert "web1 listed again" in r.stderr and "line 9" in r.stderr


def test_hosts_resolve_through_ssh_config(tmp_path):
    config = "Host web1\n  HostName 10.9.8.7\n  User www\n  Port 2020\nHost *\n  User nobody-default\n"
    r, rows = dry(tmp_path, config=config)
    assert r.returncode == 0, r.stderr
    assert rows[0] == ["web1", "www", "10.9.8.7", "2020"]
    assert rows[1] == ["alice@web2:2222", "alice", "web2", "2222"]
    assert rows[3] == ["::1", "nobody-default", "::1", "22"]
    # -l wins over the file, as ssh -l
    r, rows = dry(tmp_path, "-l", "carol", config=config)
    assert rows[0] == ["web1", "carol", "10.9.8.7", "2020"]
    # -o any keyword, first value wins (the dedicated option first)
    r, rows = dry(tmp_path, "-o", "Port=3000", "-o", "Port 4000", config=config)
    assert rows[0][3] == "3000" and rows[2][3] == "2200"


def test_home_ssh_config_is_read_without_F(tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text("Host db-*\n  HostName 192.0.2.5\n  Port 2201\n  User dba\n")
    r = xssh("run", "-n", "--host", "db-main", "--", "true", env={"HOME": str(home)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\t") == ["db-main", "dba", "192.0.2.5", "2201\n"]


def test_hosts_from_stdin_and_several_files(tmp_path):
    other = tmp_path / "more"
    other.write_text("zeta\n")
    r = xssh("run", "-n", "-F", "none", "-H", "-", "-H", str(other), "--host", "omega", "true",
             input="alpha\nbeta:23\n")
    assert r.returncode == 0, r.stderr
    assert [l.split("\t")[0] for l in r.stdout.splitlines()] == ["alpha", "beta:23", "zeta", "omega"]


def test_bracketed_names_and_ipv4_addresses(tmp_path):
    """'[host]:port' is ssh's bracket syntax for any host, not only IPv6 (one parser,
    xssh_host_parse, shared with the library's multi interface)."""
    r = xssh("run", "-n", "-F", "none", "-H", "-", "true",
             input="[web1]:2201\nalice@[192.0.2.7]:2222\n[::1]:2200\n")
    assert r.returncode == 0, r.stderr
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert [row[0] for row in rows] == ["[web1]:2201", "alice@[192.0.2.7]:2222", "[::1]:2200"]
    assert rows[0][2:] == ["web1", "2201"]
    assert rows[1][1:] == ["alice", "192.0.2.7", "2222"]
    assert rows[2][2:] == ["::1", "2200"]


@pytest.mark.parametrize("line,says", [
    ("web1 web2", "one host per line"),
    ("alice@", "empty host name"),
    ("@web1", "empty user name"),
    ("web1:", "empty port"),
    ("web1:65536", "1..65535"),
    ("web1:22x", "not a number"),
    ("[::1", "without a matching ']'"),
    ("[::1]x", "only ':port'"),
    ("[fe80::zz]:22", "not an IPv6 address"),
    ("[]:22", "empty host name"),
    ("caf\xe9.example", "non-ASCII"),
    ("fe80::zz", "not an IPv6 address"),
    ("a/b", "cannot hold /"),
    ("..", "not host names"),
    ("-oProxyCommand=touch", "cannot start with '-'"),
])
def test_bad_hosts_file_lines(tmp_path, line, says):
    hf = tmp_path / "hosts"
    hf.write_text("# fine\ngood1\n%s\ngood2\n" % line)
    r = xssh("run", "-n", "-F", "none", "-H", str(hf), "true")
    assert r.returncode == 2, r.stderr
    assert "hosts file %s line 3" % hf in r.stderr and says in r.stderr, r.stderr
    assert r.stdout == ""


def test_hosts_file_with_nul_byte(tmp_path):
    hf = tmp_path / "hosts"
    hf.write_bytes(b"good\nba\0d\n")
    r = xssh("run", "-n", "-F", "none", "-H", str(hf), "true")
    assert r.returncode == 2 and "line 2" in r.stderr and "NUL" in r.stderr
