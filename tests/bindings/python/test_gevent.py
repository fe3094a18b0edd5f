"""gevent (python3-gevent, Debian) driving xssh's ssh2-python-style non-blocking sessions through
examples/python/gevent_fanout.py's GeventSession: 20 hosts on one thread, proven concurrent by a
file barrier (run one after the other, each command would end with exit 99); gevent.Timeout
mid-command and mid-SFTP-read, forced (a Timeout(0) started once the first output arrived fires
at the next wait), leaving the session usable. Nothing here depends on timing."""
import importlib.util
import json
import os
import subprocess
import sys
import threading

import gevent
import gevent.event
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "..", "examples", "python", "gevent_fanout.py")
spec = importlib.util.spec_from_file_location("gevent_fanout", EXAMPLE)
gf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gf)


def _many():
    path = os.environ.get("XSSH_MANY_HOSTS")
    if not path or not os.path.exists(path):
        pytest.fail("XSSH_MANY_HOSTS is not set: the python suite requires the sshd_many fixture")
    with open(path) as f:
        return json.load(f)


def _session(env):
    return gf.GeventSession(env.host, env.port, env.user, env.key, env.known_hosts)


def test_twenty_sessions_overlap_on_one_thread():
    many = _many()
    hosts = many["hosts"][:20]
    d = os.path.join(many["scratch_dir"], "gevent-overlap-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o1777)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    threads = threading.active_count()

    def one(i, h):
        user, host, port = gf.parse_host(h)
        s = gf.GeventSession(host, port, user, many["key"], many["known_hosts"])
        try:
            return s.run("touch %s/h%d; i=0; while [ $(ls %s | wc -l) -lt 20 ] && [ $i -lt 600 ]; do sleep 0.1; "
                         "i=$((i+1)); done; [ $(ls %s | wc -l) -ge 20 ] || exit 99; echo ok" % (d, i, d, d))
        finally:
            s.close()

    with gevent.Timeout(120):
        jobs = [gevent.spawn(one, i, h) for i, h in enumerate(hosts)]
        gevent.joinall(jobs, raise_error=True)
    assert threading.active_count() == threads
    for j in jobs:
        out, err, status = j.value
        assert (out, status) == (b"ok\n", 0), err  # 99: they did not overlap


def test_timeout_mid_command_leaves_session_usable(env, tmpdir_path):
    s = _session(env)
    try:
        seen = []

        def on_output(stream, data):
            seen.append(data)
            gevent.Timeout(0).start()  # fires at the next wait: the command is mid-way for sure

        with pytest.raises(gevent.Timeout):
            s.run("echo started; i=0; while [ ! -e %s/stop ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
                  "echo never" % tmpdir_path, on_output=on_output)
        assert seen == [b"started\n"]
        with gevent.Timeout(60):
            assert s.run("echo usable; exit 3") == (b"usable\n", b"", 3)
    finally:
        s.close()
    assert not os.path.exists(os.path.join(tmpdir_path, "stop"))


def test_timeout_mid_sftp_read_leaves_session_usable(env, tmpdir_path):
    big = os.path.join(tmpdir_path, "big")
    with open(big, "wb") as f:
        f.truncate(32 << 20)
    small = os.path.join(tmpdir_path, "small")
    data = os.urandom(200000)
    with open(small, "wb") as f:
        f.write(data)
    s = _session(env)
    try:
        got = []
        timer = gevent.Timeout(0)

        def on_chunk(chunk):
            got.append(len(chunk))
            if len(got) == 1:
                # the timeout fires mid-read at a switch to the hub; the read switches
                # only when it must wait, which a busy machine may never need (the
                # server keeps ahead): wait here for nothing but the timeout itself
                timer.start()
                gevent.event.Event().wait()

        try:
            with pytest.raises(gevent.Timeout):
                s.sftp_read(big, on_chunk=on_chunk)
        finally:
            timer.cancel()  # never left armed for a later test
        assert 0 < sum(got) < 32 << 20
        with gevent.Timeout(60):
            assert s.sftp_read(small) == data
            assert s.run("echo usable") == (b"usable\n", b"", 0)
    finally:
        s.close()


def test_gevent_example_runs(env):
    """The example as a program (also shown in docs/async.md)."""
    r = subprocess.run([sys.executable, EXAMPLE, "-t", "60", "--key", env.key, "--known-hosts", env.known_hosts,
                        "echo hello", "%s@%s:%d" % (env.user, env.host, env.port),
                        "%s@%s:%d" % (env.user, env.host, env.port)],
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(b": exit 0: hello\n") == 2


def test_wrong_host_key_is_refused(env, tmpdir_path):
    empty = os.path.join(tmpdir_path, "known_hosts")
    open(empty, "w").close()
    import xssh.exceptions as X
    with gevent.Timeout(60):
        with pytest.raises(X.KnownHostCheckNotFoundError):
            gf.GeventSession(env.host, env.port, env.user, env.key, empty)
