"""xssh.connect() like ssh: ~/.ssh/config, the agent, default keys, ProxyJump, callbacks, logging.

Every test runs in a scratch HOME (xssh reads ~ from $HOME) without $SSH_AUTH_SOCK, so only
what the test puts there is used; /etc/ssh/ssh_config is read as ssh reads it.
"""
import gc
import logging
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

import xssh
from xssh import Options
from xssh.exceptions import AuthenticationError, ConfigError, InvalidArgumentError


@pytest.fixture
def home(tmp_path, monkeypatch, env):
    h = tmp_path / "home"
    (h / ".ssh").mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return h


def write_config(home, text):
    p = home / ".ssh" / "config"
    p.write_text(text)
    p.chmod(0o600)
    return p


def copy_key(src, dst):
    shutil.copy(src, dst)
    os.chmod(dst, 0o600)
    if os.path.exists(src + ".pub"):
        shutil.copy(src + ".pub", str(dst) + ".pub")


def alias_block(env, name="myalias", extra=""):
    return ("Host %s\n  HostName %s\n  Port %d\n  User %s\n  UserKnownHostsFile ~/.ssh/kh_from_config\n%s"
            % (name, env.host, env.port, env.user, extra))


def ok(s):
    r = s.run("echo connected")
    assert r.exit_status == 0 and r.stdout == b"connected\n"


def test_host_alias_from_config_only(env, home):
    """user, port, identity file and known_hosts all come from ~/.ssh/config."""
    copy_key(env.key, home / ".ssh" / "alias_key")
    shutil.copy(env.known_hosts, home / ".ssh" / "kh_from_config")
    write_config(home, alias_block(env, extra="  IdentityFile ~/.ssh/alias_key\n"))
    with xssh.connect("myalias") as s:
        assert s.userauth_authenticated()
        ok(s)
    text = Options().resolve("myalias")
    assert "identityfile %s/.ssh/alias_key" % home in text
    assert "userknownhostsfile %s/.ssh/kh_from_config" % home in text


@pytest.fixture
def agent(home, tmp_path, monkeypatch, env):
    """A real ssh-agent holding the test key, on a socket of this test; killed after."""
    sock = str(tmp_path / "agent.sock")
    out = subprocess.run(["ssh-agent", "-s", "-a", sock], capture_output=True, timeout=20, check=True).stdout.decode()
    pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        subprocess.run(["ssh-add", env.key], env=dict(os.environ, SSH_AUTH_SOCK=sock), capture_output=True,
                       timeout=20, check=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", sock)
        yield sock
    finally:
        os.kill(pid, 15)


def test_no_arguments_through_the_agent(env, home, agent, caplog):
    """No key file anywhere in HOME: only the agent can authenticate."""
    shutil.copy(env.known_hosts, home / ".ssh" / "kh_from_config")
    write_config(home, alias_block(env))
    caplog.set_level(logging.DEBUG, logger="xssh")
    with xssh.connect("myalias") as s:
        ok(s)
    assert any("authenticated as '%s' with agent key" % env.user in r.getMessage() for r in caplog.records)


def test_only_a_default_key_file(env, home):
    copy_key(env.key, home / ".ssh" / "id_ed25519")
    shutil.copy(env.known_hosts, home / ".ssh" / "known_hosts")
    with xssh.connect(env.host, env.port, env.user, config="none") as s:
        ok(s)


def test_proxy_jump_from_config(env, home, caplog):
    copy_key(env.key, home / ".ssh" / "id_ed25519")
    shutil.copy(env.known_hosts, home / ".ssh" / "kh_from_config")
    write_config(home, "Host target\n  ProxyJump jumpbox\n\n" + alias_block(env, "target jumpbox"))
    caplog.set_level(logging.INFO, logger="xssh")
    with xssh.connect("target") as s:
        ok(s)
    assert any("ProxyJump hop 1 of 1" in r.getMessage() for r in caplog.records)


def _encrypted(env, **kw):
    return xssh.connect(env.host, env.port, env.user, key=env.key_encrypted, known_hosts=env.known_hosts,
                        agent=False, config="none", options={"IdentitiesOnly": True}, **kw)


def test_encrypted_key_and_the_passphrase_callback(env, home):
    asked = []

    def passphrase(keyfile):
        asked.append(keyfile)
        return env.passphrase

    with _encrypted(env, passphrase_callback=passphrase) as s:
        ok(s)
    assert asked == [env.key_encrypted]
    with pytest.raises(AuthenticationError) as ei:
        _encrypted(env)
    assert "encrypted, no passphrase given" in str(ei.value) and env.key_encrypted in str(ei.value)
    with pytest.raises(AuthenticationError) as ei:
        _encrypted(env, passphrase_callback=lambda k: "not-" + env.passphrase)
    assert "wrong passphrase" in str(ei.value)


def test_a_callback_exception_propagates(env, home):
    class Boom(Exception):
        pass

    def passphrase(keyfile):
        raise Boom(keyfile)

    with pytest.raises(Boom):
        _encrypted(env, passphrase_callback=passphrase)
    # the next key authenticates: connect() still raises (the session is released, not returned)
    with pytest.raises(Boom):
        xssh.connect(env.host, env.port, env.user, key=[env.key_encrypted, env.key], known_hosts=env.known_hosts,
                     agent=False, config="none", passphrase_callback=passphrase)
    with pytest.raises(TypeError, match=r"passphrase callback must return str, bytes or None, not int"):
        _encrypted(env, passphrase_callback=lambda k: 42)


def test_prompt_callback_keyboard_interactive(env, home, caplog):
    if not env.password:
        pytest.skip("no password account: the harness creates one only when running as root")
    seen = []

    def prompt(name, instruction, text, echo):
        seen.append((text, echo))
        return env.password

    caplog.set_level(xssh.TRACE, logger="xssh")
    with xssh.connect(env.host, env.port, env.pw_user, known_hosts=env.known_hosts, agent=False, config="none",
                      options={"PreferredAuthentications": "keyboard-interactive"}, prompt_callback=prompt) as s:
        ok(s)
    assert seen and all(echo is False for _, echo in seen) and "assword" in seen[0][0]
    assert caplog.records
    assert not [r for r in caplog.records if env.password in r.getMessage()]


def test_no_usable_credentials_fails_at_once_naming_what_was_tried(env, home):
    t0 = time.monotonic()
    with pytest.raises(AuthenticationError) as ei:
        xssh.connect(env.host, env.port, env.user, known_hosts=env.known_hosts, agent=False, config="none")
    took = time.monotonic() - t0
    msg = str(ei.value)
    assert "publickey: no key to offer" in msg and "keyboard-interactive:" in msg and "password:" in msg, msg
    # no wait for a timeout (the session timeout is 30 s): it takes ~0.05 s; the bound leaves room
    # for a busy machine, as tests/c/test_connect.c does
    assert took < 10.0, "the failure took %.2f s" % took


def test_logging_has_hosts_and_no_secret(env, home, caplog):
    caplog.set_level(xssh.TRACE, logger="xssh")
    with _encrypted(env, passphrase=env.passphrase) as s:
        ok(s)
    with pytest.raises(AuthenticationError):
        xssh.connect(env.host, env.port, env.user, known_hosts=env.known_hosts, agent=False, config="none",
                     password="not-the-" + env.password if env.password else "not-the-password",
                     options={"PreferredAuthentications": "password"})
    if env.pw_user:
        with xssh.connect(env.host, env.port, env.pw_user, password=env.password, known_hosts=env.known_hosts,
                          agent=False, config="none") as s:
            ok(s)
    records = caplog.records
    assert {r.levelname for r in records} >= {"INFO", "DEBUG", "ERROR"}
    assert all(r.name == "xssh" and r.xssh_host == env.host for r in records)
    assert all(r.getMessage().startswith(env.host + ": ") for r in records)
    secrets = [env.passphrase, "not-the-"] + ([env.password] if env.password else [])
    leaked = [r.getMessage() for r in records for sec in secrets if sec in r.getMessage()]
    assert not leaked, leaked


def _python(code, home, **extra_env):
    envv = dict(os.environ, HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path), **extra_env)
    envv.pop("SSH_AUTH_SOCK", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, env=envv)


CONNECT = """
import xssh
try:
    xssh.connect("{host}", {port}, "{user}", known_hosts="{kh}", agent=False, config="none")
except xssh.exceptions.AuthenticationError:
    pass
"""


def test_silent_by_default_and_basicconfig_is_enough(env, home):
    code = CONNECT.format(host=env.host, port=env.port, user=env.user, kh=env.known_hosts)
    quiet = _python(code, home)
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr
    quiet2 = _python("import logging\n" + code, home)  # logging imported, nothing configured
    assert quiet2.returncode == 0 and quiet2.stderr == b"", quiet2.stderr
    loud = _python("import logging\nlogging.basicConfig(level=logging.DEBUG)\n" + code, home)
    assert loud.returncode == 0, loud.stderr
    assert b"DEBUG:xssh:%s: " % env.host.encode() in loud.stderr
    assert b"ERROR:xssh:%s: authentication of user" % env.host.encode() in loud.stderr


def test_records_from_forward_threads_and_a_clean_exit(env, home):
    """Forward threads log while the interpreter exits without closing anything: no crash."""
    code = """
import logging, socket, sys
logging.basicConfig(level=xssh_level)
import xssh
s = xssh.connect("{host}", {port}, "{user}", key="{key}", known_hosts="{kh}", agent=False, config="none")
fwd = s.forward_local("127.0.0.1", 0, "127.0.0.1", {port})
c = socket.create_connection(("127.0.0.1", fwd.port()), timeout=30)
assert c.recv(4).startswith(b"SSH-")  # the sshd's banner, through the forward thread
sys.exit(0)
""".replace("xssh_level", "5").format(host=env.host, port=env.port, user=env.user, key=env.key, kh=env.known_hosts)
    r = _python(code, home)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert b"xssh" in r.stderr


def test_options_resolve_on_a_small_config(home):
    o = Options()
    o.set_config_text("Host web *.example\n  HostName %h.internal\n  User deploy\n  Port 2200\n"
                      "  IdentityFile ~/.ssh/web_key\n", "inline")
    o.set("Password", "hunter2-secret")
    got = dict(line.split(" ", 1) for line in o.resolve("web").splitlines())
    assert got["hostname"] == "web.internal" and got["user"] == "deploy" and got["port"] == "2200"
    assert got["identityfile"] == "%s/.ssh/web_key" % home
    assert "hunter2-secret" not in o.resolve("web")
    got = dict(line.split(" ", 1) for line in o.resolve("alice@db.example").splitlines())
    assert got["user"] == "alice" and got["hostname"] == "db.example.internal"
    with pytest.raises(ConfigError, match=r"inline line 2"):
        Options().set_config_text("Host a\n  Port notanumber\n", "inline")
    with pytest.raises(InvalidArgumentError, match=r"Bogus"):
        Options().set("Bogus", "1")


def test_keyword_arguments_map_onto_ssh_options(env, home):
    """options= reaches every ssh_config keyword; the keyword arguments win over it."""
    opts = {"ConfigFile": "none", "User": env.user, "Port": env.port, "IdentityFile": [env.key],
            "UserKnownHostsFile": env.known_hosts, "IdentityAgent": "none", "BatchMode": True}
    with xssh.connect(env.host, options=opts) as s:
        ok(s)
    with pytest.raises(InvalidArgumentError, match=r"Nonsense"):
        xssh.connect(env.host, options={"Nonsense": 1})
    with pytest.raises(TypeError, match=r"^xssh\.connect\(\): argument 'options' must map 'User' to a str, bool, "
                                        r"number or path \(or a list of them\), not object$"):
        xssh.connect(env.host, options={"User": object()})
    with pytest.raises(TypeError, match=r"^xssh.connect\(\): argument 'host'"):
        xssh.connect(22)


def test_host_strings_with_a_port_as_the_multi_reads_them(env, home):
    """"user@host:port" and "user@[host]:port" connect (the port in the string beats port=),
    a Host alias with a port still resolves, and a malformed string names what is wrong."""
    kw = dict(key=env.key, known_hosts=env.known_hosts, agent=False)
    for h in ("%s@%s:%d" % (env.user, env.host, env.port), "%s@[%s]:%d" % (env.user, env.host, env.port)):
        with xssh.connect(h, 1, config="none", **kw) as s:
            ok(s)
    write_config(home, alias_block(env).replace("Port %d" % env.port, "Port 1"))
    with xssh.connect("myalias:%d" % env.port, **kw) as s:
        ok(s)
    with pytest.raises(InvalidArgumentError, match=r"host 'h:99999': port must be 1\.\.65535"):
        xssh.connect("h:99999", config="none")


def test_paths_are_taken_literally(env, home, tmp_path):
    """key/known_hosts paths with a space or a "%" reach C as the very path (quoted, %% escaped)."""
    d = tmp_path / "dir with space"
    d.mkdir()
    copy_key(env.key, d / "key%h")
    shutil.copy(env.known_hosts, d / "kh%d")
    with xssh.connect(env.host, env.port, env.user, key=d / "key%h", known_hosts=str(d / "kh%d"), agent=False,
                      config="none") as s:
        ok(s)


def test_policy_off_verifies_and_writes_nothing(env, home, tmp_path):
    kh = tmp_path / "never-written"
    with xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=str(kh), host_key_policy="off",
                      config="none", agent=False) as s:
        ok(s)
    assert not kh.exists()


def test_session_timeout_default_and_none(env, home):
    """No timeout argument: xssh's default session timeout (30 s, from C); 0: none; 2.5: 2500 ms."""
    copy_key(env.key, home / ".ssh" / "alias_key")
    shutil.copy(env.known_hosts, home / ".ssh" / "kh_from_config")
    write_config(home, alias_block(env, extra="  IdentityFile ~/.ssh/alias_key\n"))
    for kw, want in (({}, 30000), ({"timeout": 0}, 0), ({"timeout": 2.5}, 2500)):
        with xssh.connect("myalias", **kw) as s:
            assert s.get_timeout() == want, kw


def test_a_callback_that_replaces_itself_stays_alive(env, home, tmp_path):
    # two encrypted keys: the first call replaces the callback on the same Options and forces a
    # GC, then skips the key; the connect (which took the callbacks at its start) calls the
    # replaced callable again for the second key. It must still be alive (it used to be freed).
    k1, k2 = tmp_path / "enc1", tmp_path / "enc2"
    copy_key(env.key_encrypted, k1)
    copy_key(env.key_encrypted, k2)
    o = Options()
    calls = []

    def install():
        def first(keyfile):
            calls.append(("first", keyfile))
            if len(calls) == 1:
                o.set_passphrase_callback(lambda k: calls.append(("other", k)) or env.passphrase)
                gc.collect()
                return None  # skip this key
            return env.passphrase
        o.set_passphrase_callback(first)

    install()  # nothing but the Options holds `first`
    gc.collect()
    with xssh.connect(env.host, env.port, env.user, key=[str(k1), str(k2)], known_hosts=env.known_hosts,
                      agent=False, config="none", options=o) as s:
        ok(s)
    assert calls == [("first", str(k1)), ("first", str(k2))]
    # the next connect uses the replacement
    with xssh.connect(env.host, env.port, env.user, key=str(k1), known_hosts=env.known_hosts, agent=False,
                      config="none", options=o) as s:
        ok(s)
    assert calls[-1] == ("other", str(k1))


def test_replacing_the_callback_while_connects_run_in_threads(env, home, tmp_path):
    # the callbacks block until the main thread has replaced the callable (and collected)
    # while every connect is inside C: none may call a freed callable
    n = 6
    o = Options()
    started, go = threading.Barrier(n + 1), threading.Event()
    asked = []

    def install():
        def slow(keyfile):
            asked.append(keyfile)
            started.wait(timeout=60)
            assert go.wait(timeout=60)
            return env.passphrase
        o.set_passphrase_callback(slow)

    install()
    _opts_for(env, o)
    results = []

    def run():
        try:
            with xssh.core.connect(env.host, o) as s:
                results.append(s.run("echo connected").stdout)
        except Exception as e:  # noqa: BLE001 - reported below
            results.append(e)

    ts = [threading.Thread(target=run) for _ in range(n)]
    for t in ts:
        t.start()
    started.wait(timeout=60)
    o.set_passphrase_callback(lambda k: env.passphrase)
    gc.collect()
    go.set()
    for t in ts:
        t.join(timeout=120)
    assert results == [b"connected\n"] * n and len(asked) == n


def _opts_for(env, o):
    for k, v in (("Port", str(env.port)), ("User", env.user), ("IdentityFile", env.key_encrypted),
                 ("UserKnownHostsFile", env.known_hosts), ("IdentityAgent", "none"), ("ConfigFile", "none"),
                 ("IdentitiesOnly", "yes")):
        o.set(k, v)
    return o


def test_connect_never_writes_into_the_callers_options(env, home):
    o = Options()
    with pytest.raises(AuthenticationError):
        xssh.connect(env.host, env.port, "xssh-no-such-user", key=env.key, known_hosts=env.known_hosts,
                     agent=False, config="none", options=o)
    assert "xssh-no-such-user" not in o.resolve(env.host)
    # the second connect's user is used (the first one's used to win: set first)
    with xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts, agent=False,
                      config="none", options=o) as s:
        ok(s)
    if env.password:
        with pytest.raises(AuthenticationError):
            xssh.connect(env.host, env.port, env.pw_user, password="not-" + env.password,
                         known_hosts=env.known_hosts, agent=False, config="none", options=o)
        with xssh.connect(env.host, env.port, env.pw_user, password=env.password, known_hosts=env.known_hosts,
                          agent=False, config="none", options=o) as s:
            ok(s)


@pytest.mark.parametrize("kw, exc, text", [
    ({"timeout": float("inf")}, ValueError, "argument 'timeout' must be a finite number of seconds"),
    ({"timeout": float("nan")}, ValueError, "argument 'timeout' must be a finite number of seconds"),
    ({"timeout": -1}, ValueError, "argument 'timeout' must be a finite number of seconds"),
    ({"timeout": "5"}, TypeError, "argument 'timeout' must be a number of seconds (int or float) or None, not str"),
    ({"proxy_jump": 5}, TypeError, "argument 'proxy_jump' must be a \"hop1,hop2\" string"),
    ({"proxy_jump": [("h", "x")]}, TypeError, "argument 'proxy_jump' must hold (host, port) pairs of a str and an int"),
    ({"proxy_jump": [("h", 0)]}, ValueError, "argument 'proxy_jump' holds port 0"),
    ({"key": 1}, TypeError, "argument 'key' must be a key file path"),
    ({"key": "a\0b"}, ValueError, "argument 'key' must be a key file path"),
    ({"agent": 1}, TypeError, "argument 'agent' must be True, False or an agent socket path"),
    ({"known_hosts": 1}, TypeError, "argument 'known_hosts' must be a path"),
    ({"config": 1}, TypeError, "argument 'config' must be a path (str or os.PathLike) or \"none\""),
    ({"options": {"Port": None}}, TypeError, "argument 'options' must map 'Port' to a str"),
    ({"options": {1: "x"}}, TypeError, "argument 'options' must have str keys"),
])
def test_wrong_arguments_name_connect_and_the_argument(home, kw, exc, text):
    with pytest.raises(exc) as ei:
        xssh.connect("127.0.0.1", **kw)
    assert str(ei.value).startswith("xssh.connect(): ") and text in str(ei.value), str(ei.value)
