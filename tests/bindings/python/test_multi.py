"""xssh.run_many / put_many / get_many and the Multi object model, against the many-hosts
fixture (tests/harness/many_hosts.py: ~50 loopback sshd ports; $XSSH_MANY_HOSTS).

No test depends on timing: concurrency is proven by commands that only end when all of them run
at once (sequential execution would hit their bound), the GIL release by a remote command that
waits for a file only a Python thread of this process creates while run_many runs.
"""
import gc
import json
import os
import select
import shutil
import signal
import tempfile
import threading

import pytest

import xssh
from xssh import exceptions as exc

pytestmark = pytest.mark.skipif(not os.environ.get("XSSH_MANY_HOSTS"), reason="needs the sshd_many fixture")

#: a remote loop's bound (iterations of 0.2 s): far beyond what a loaded machine needs
BOUND = 1500


@pytest.fixture(scope="module")
def many():
    with open(os.environ["XSSH_MANY_HOSTS"]) as f:
        return json.load(f)


@pytest.fixture
def kw(many):
    return dict(key=many["key"], known_hosts=many["known_hosts"], agent=False)


@pytest.fixture
def scratch(many):
    d = tempfile.mkdtemp(prefix="py-multi-", dir=many["scratch_dir"])
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def barrier_command(d, n):
    """Ends (echo done) only once n commands have each created their file in d: they must all run
    at the same time. Bounded: exits 9 after BOUND waits."""
    return ("touch %s/$$; i=0; while [ $(ls %s | wc -l) -lt %d ]; do i=$((i+1)); "
            "[ $i -gt %d ] && exit 9; sleep 0.2; done; echo done" % (d, d, n, BOUND))


def test_fifty_hosts_mixed_outcomes_in_one_thread(many, kw):
    good = many["hosts"]
    fail_port, sleep_port = many["ports"][1], many["ports"][2]
    hosts = (good[:45] + [{"host": good[45], "key": many["wrong_key"]}] + many["unknown_hostkey_hosts"][:1]
             + many["mismatch_hostkey_hosts"][:1] + many["refused_hosts"][:2])
    assert len(hosts) == 50
    cmd = "case ${SSH_CONNECTION##* } in %d) echo bad >&2; exit 3;; %d) sleep 300;; esac; echo ok" % (
        fail_port, sleep_port)
    before = threading.active_count()
    rs = xssh.run_many(hosts, cmd, timeout=3, **kw)
    assert threading.active_count() == before  # no thread per host
    assert [r.host for r in rs] == [h if isinstance(h, str) else h["host"] for h in hosts]
    for i, r in enumerate(rs[:45]):
        if i == 1:
            assert (r.ok, r.exit_status, r.error, r.stderr, r.phase) == (False, 3, None, b"bad\n", "none")
        elif i == 2:
            assert isinstance(r.error, exc.Timeout) and r.phase == "command" and not r.ok
            assert r.error.code == xssh.core.XSSH_ETIMEOUT
        else:
            assert (r.ok, r.exit_status, r.stdout, r.error) == (True, 0, b"ok\n", None), r
    assert isinstance(rs[45].error, exc.AuthenticationError) and rs[45].phase == "auth"
    assert isinstance(rs[46].error, exc.KnownHostCheckNotFoundError) and rs[46].phase == "hostkey"
    assert isinstance(rs[47].error, exc.KnownHostCheckMisMatchError) and rs[47].phase == "hostkey"
    for r in rs[48:]:
        assert isinstance(r.error, exc.ConnectError) and r.phase == "connect", r
        assert r.error.message and "refused" in r.error.message.lower()
    assert all(r.duration >= 0 for r in rs)


def test_hosts_run_at_the_same_time(many, kw, scratch):
    n = 20
    rs = xssh.run_many(many["hosts"][:n], barrier_command(scratch, n), parallelism=n, timeout=BOUND * 0.2 + 60,
                       **kw)
    assert [(r.ok, r.stdout) for r in rs] == [(True, b"done\n")] * n, rs


def test_parallelism_limits_the_hosts_running(many, kw, scratch):
    # each command counts the commands running beside it (files in scratch) while its own exists
    cmd = "touch %s/$$; n=$(ls %s | wc -l); rm %s/$$; echo $n" % (scratch, scratch, scratch)
    rs = xssh.run_many(many["hosts"][:8], cmd, parallelism=1, **kw)
    assert [(r.ok, r.stdout) for r in rs] == [(True, b"1\n")] * 8, rs


def test_gil_is_released_while_hosts_run(many, kw, scratch):
    go = os.path.join(scratch, "go")
    started = os.path.join(scratch, "started")
    cmd = ("touch %s; i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt %d ] && exit 9; sleep 0.2; done; echo seen"
           % (started, go, BOUND))

    def creator():  # runs only if run_many lets go of the GIL
        for _ in range(BOUND * 10):
            if os.path.exists(started):
                break
            threading.Event().wait(0.02)
        open(go, "w").close()

    t = threading.Thread(target=creator)
    t.start()
    rs = xssh.run_many(many["hosts"][:1], cmd, **kw)
    t.join()
    assert (rs[0].ok, rs[0].stdout) == (True, b"seen\n"), rs


def _interrupt_once(cond):
    """A thread that sends SIGINT to this process once cond() holds (polled; bounded)."""
    def interrupt():
        for _ in range(BOUND * 10):
            if cond():
                break
            threading.Event().wait(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt)
    t.start()
    return t


def test_ctrl_c_stops_run_many(many, kw, scratch):
    started = os.path.join(scratch, "started")
    t = _interrupt_once(lambda: os.path.exists(started))
    with pytest.raises(KeyboardInterrupt):
        xssh.run_many(many["hosts"][:3], "touch %s; sleep 300" % started, **kw)
    t.join()


def test_ctrl_c_during_put_many_removes_the_remote_temporaries(many, kw, tmpdir_path, scratch):
    """Ctrl-C in put_many cancels every host AND drives the cancels to their end before
    KeyboardInterrupt goes on: the remote temporary files of the atomic puts are removed
    (freeing the Multi alone could not: that needs a round trip to each server)."""
    src = os.path.join(tmpdir_path, "huge")
    with open(src, "wb") as f:
        f.truncate(16 << 30)  # sparse: minutes to send, so it is mid-way when interrupted
    hosts = many["hosts"][:2]  # the same machine: both write beside scratch/huge, each its own temporary
    t = _interrupt_once(lambda: len([f for f in os.listdir(scratch) if ".xssh-" in f]) == len(hosts))
    with pytest.raises(KeyboardInterrupt):
        xssh.put_many(hosts, src, os.path.join(scratch, "huge"), **kw)
    t.join()
    assert os.listdir(scratch) == []


def test_streaming_lines(many, kw):
    got = {}

    def on_output(host, stream, data):
        got.setdefault(host, []).append((stream, data))

    hosts = many["hosts"][:5]
    rs = xssh.run_many(hosts, "printf 'one\\ntwo\\n'; echo err >&2; printf last", on_output=on_output, **kw)
    assert all(r.ok and r.stdout == b"" for r in rs), rs
    for h in hosts:
        out = [d for s, d in got[h] if s == "stdout"]
        assert out == [b"one\n", b"two\n", b"last"], got[h]
        assert [d for s, d in got[h] if s == "stderr"] == [b"err\n"]


def test_streaming_callback_error_and_cancel(many, kw):
    def boom(host, stream, data):
        raise ZeroDivisionError("from on_output")

    with pytest.raises(ZeroDivisionError, match="from on_output"):
        xssh.run_many(many["hosts"][:3], "echo x", on_output=boom, **kw)
    # only the host whose callback raised is cancelled (it would sleep 300 s); the others run
    # to their end; the first exception is raised with every host's result attached
    hosts = many["hosts"][:3]

    def boom_first(host, stream, data):
        if host == hosts[0]:
            raise ZeroDivisionError("from on_output")
    cmd = "echo x; [ ${SSH_CONNECTION##* } = %d ] && sleep 300; echo y" % many["ports"][0]
    with pytest.raises(ZeroDivisionError) as ei:
        xssh.run_many(hosts, cmd, on_output=boom_first, **kw)
    rs = ei.value.results
    assert [r.host for r in rs] == hosts
    assert rs[0].error is ei.value
    assert rs[1].ok and rs[2].ok, rs
    # a true return cancels that host only (it would sleep 300 s); the other one ends
    first = many["hosts"][0]
    cmd = "echo x; [ ${SSH_CONNECTION##* } = %d ] && sleep 300; echo y" % many["ports"][0]
    rs = xssh.run_many(many["hosts"][:2], cmd, on_output=lambda h, s, d: h == first, **kw)
    assert isinstance(rs[0].error, exc.SSH2Error) and rs[0].error.code == xssh.core.XSSH_ECANCELLED, rs[0]
    assert rs[1].ok, rs[1]


def test_stdin_max_output_merge(many, kw):
    rs = xssh.run_many(many["hosts"][:2], "cat; echo e >&2", stdin=b"abc" * 1000, max_output=100,
                       merge_stderr=True, **kw)
    for r in rs:
        assert r.ok and r.stdout == (b"abc" * 1000)[:100] and r.stdout_truncated and not r.stderr_truncated


def test_put_many_and_get_many_byte_exact(many, kw, tmpdir_path, scratch):
    data = os.urandom(300000) + b"\0\r\n" + os.urandom(1000)
    src = os.path.join(tmpdir_path, "src.bin")
    with open(src, "wb") as f:
        f.write(data)
    hosts = many["hosts"][:5]
    remote = os.path.join(scratch, "up.bin")
    rs = xssh.put_many(hosts, src, remote, **kw)
    assert all(r.ok and r.transferred == len(data) for r in rs), rs
    with open(remote, "rb") as f:
        assert f.read() == data
    out = os.path.join(tmpdir_path, "down")
    rs = xssh.get_many(hosts, remote, out, **kw)
    assert all(r.ok and r.transferred == len(data) for r in rs), rs
    for h in hosts:
        with open(os.path.join(out, h, "up.bin"), "rb") as f:
            assert f.read() == data
    rs = xssh.get_many(hosts[:1] + many["refused_hosts"][:1], os.path.join(scratch, "missing"), out, **kw)
    assert rs[0].phase == "transfer" and rs[0].error is not None
    assert isinstance(rs[0].error, xssh.exceptions.SFTPNoSuchFileError) and rs[0].error.sftp_status == 2
    assert rs[1].phase == "connect"


def test_put_many_and_get_many_non_utf8_and_bytes_paths(many, kw, tmpdir_path, scratch):
    """A name that is not UTF-8, as a surrogate-escaped str (os.fsdecode) or as bytes, is that
    name on both sides (os.fsencode before the C op)."""
    src = os.path.join(tmpdir_path, "src-\udce9")
    with open(src, "wb") as f:
        f.write(b"abc")
    hosts = many["hosts"][:2]
    remote = os.path.join(scratch, "up-\udce9")
    rs = xssh.put_many(hosts[:1], src, remote, **kw)
    assert rs[0].ok and rs[0].transferred == 3, rs
    rs = xssh.put_many(hosts[:1], os.fsencode(src), os.fsencode(scratch) + b"/up2-\xff", **kw)
    assert rs[0].ok and rs[0].transferred == 3, rs
    assert sorted(os.listdir(os.fsencode(scratch))) == [b"up-\xe9", b"up2-\xff"]
    out = os.path.join(tmpdir_path, "down-\udcff")
    rs = xssh.get_many(hosts, remote, out, **kw)
    assert all(r.ok and r.transferred == 3 for r in rs), rs
    rs = xssh.get_many(hosts[:1], os.fsencode(scratch) + b"/up2-\xff", os.fsencode(out), **kw)
    assert rs[0].ok and rs[0].transferred == 3, rs
    for h in hosts:
        with open(os.path.join(out, h, "up-\udce9"), "rb") as f:
            assert f.read() == b"abc"
    with open(os.path.join(out, hosts[0], "up2-\udcff"), "rb") as f:
        assert f.read() == b"abc"


def test_per_host_dicts_map_like_connect(many, kw):
    h = many["hosts"][0]
    user, rest = h.split("@", 1)
    host, port = rest.rsplit(":", 1)
    rs = xssh.run_many([{"host": host, "port": int(port), "user": user, "key": many["key"],
                         "known_hosts": many["known_hosts"], "agent": False,
                         "options": {"Compression": True}}], "echo hi")
    assert rs[0].ok and rs[0].stdout == b"hi\n", rs
    # keyword defaults apply to every host; a dict key wins
    rs = xssh.run_many([h, {"host": h, "host_key_policy": "off", "known_hosts": "/dev/null"}], "true",
                       key=many["key"], known_hosts="/dev/null", agent=False)
    assert isinstance(rs[0].error, exc.KnownHostCheckNotFoundError) and rs[1].ok


def test_argument_errors_name_function_and_parameter(many):
    h = many["hosts"][:1]
    cases = [
        (lambda: xssh.run_many("h", "true"), TypeError, "xssh.run_many(): argument 'hosts'"),
        (lambda: xssh.run_many([5], "true"), TypeError, "xssh.run_many(): argument 'hosts' item 0"),
        (lambda: xssh.run_many([{"port": 1}], "true"), TypeError, "xssh.run_many(): argument 'hosts' item 0"),
        (lambda: xssh.run_many([{"host": "h", "bogus": 1}], "true"), TypeError, "unknown key 'bogus'"),
        (lambda: xssh.run_many(h, 5), TypeError, "xssh.run_many(): argument 'command'"),
        (lambda: xssh.run_many(h, "true", parallelism="4"), TypeError, "xssh.run_many(): argument 'parallelism'"),
        (lambda: xssh.run_many(h, "true", parallelism=-1), ValueError, "xssh.run_many(): argument 'parallelism'"),
        (lambda: xssh.run_many(h, "true", timeout="1"), TypeError, "xssh.run_many(): argument 'timeout'"),
        (lambda: xssh.run_many(h, "true", connect_timeout=-1), ValueError, "argument 'connect_timeout'"),
        (lambda: xssh.run_many(h, "true", on_output=5), TypeError, "xssh.run_many(): argument 'on_output'"),
        (lambda: xssh.run_many(h, "true", stdin=5), TypeError, "xssh.run_many(): argument 'stdin'"),
        (lambda: xssh.run_many(h, "true", max_output="x"), TypeError, "argument 'max_output'"),
        (lambda: xssh.run_many(h, "true", key=5), TypeError, "xssh.run_many(): argument 'key'"),
        (lambda: xssh.run_many([{"host": "h", "key": 5}], "true"), TypeError,
         "xssh.run_many(): hosts[0]: argument 'key'"),
        (lambda: xssh.put_many(h, 5, "/tmp/x"), TypeError, "xssh.put_many(): argument 'local'"),
        (lambda: xssh.put_many(h, "/tmp/x", None), TypeError, "xssh.put_many(): argument 'remote'"),
        (lambda: xssh.get_many(h, "/tmp/x", 5), TypeError, "xssh.get_many(): argument 'local_dir'"),
        (lambda: xssh.get_many(h, "/tmp/x", "/tmp", timeout=[]), TypeError, "xssh.get_many(): argument 'timeout'"),
        (lambda: xssh.Multi().add_host_run("h", None, 5), TypeError, "Multi.add_host_run(): argument 'command'"),
        (lambda: xssh.Multi().add_host_run("h", None, "c", None, 5), TypeError,
         "Multi.add_host_run(): argument 'on_output'"),
        (lambda: xssh.Multi().set_socket_callback(5), TypeError, "Multi.set_socket_callback(): argument 'callback'"),
        (lambda: xssh.Multi().wait("x"), TypeError, "Multi.wait(): argument 'timeout_ms'"),
    ]
    for f, cls, text in cases:
        with pytest.raises(cls) as ei:
            f()
        assert text in str(ei.value), (text, str(ei.value))


def test_multi_object_model_own_loop(many, kw):
    m = xssh.Multi()
    m.set_max_running(8)
    o = xssh.core.multi_op_options(0, 0, 0, 0, 0, 0, 0, 0, 0, None)
    opts = xssh.Options()
    opts.set("IdentityFile", many["key"])
    opts.set("UserKnownHostsFile", many["known_hosts"])
    opts.set("IdentityAgent", "none")
    done = []
    ops = [m.add_host_run(h, opts, "echo %d" % i, o, None, lambda op: done.append(op))
           for i, h in enumerate(many["hosts"][:6])]
    assert all(op.state() == xssh.core.XSSH_OP_QUEUED for op in ops)
    with pytest.raises(exc.SSH2Error):
        ops[0].result()  # not done yet: BadUseError
    running = 6
    for _ in range(10000):  # bounded; each wait returns when something happened
        if not running:
            break
        running = m.wait(60000)
    assert running == 0 and len(done) == 6
    seen = []
    while True:
        op = m.info_read()
        if op is None:
            break
        seen.append(op.result().stdout)
    assert sorted(seen) == sorted(b"%d\n" % i for i in range(6))
    assert [op.result().stdout for op in ops] == [b"%d\n" % i for i in range(6)]


def test_multi_connect_op_gives_a_session(many, kw):
    m = xssh.Multi()
    opts = xssh.Options()
    opts.set("IdentityFile", many["key"])
    opts.set("UserKnownHostsFile", many["known_hosts"])
    op = m.add_connect(many["hosts"][0], opts)
    assert m.perform_all() == 0
    s = op.session()
    assert s.run("echo via-session").stdout == b"via-session\n"
    run = m.add_run(s, "echo again")
    m.perform_all()
    assert run.result().stdout == b"again\n"
    s.close()


def test_external_loop_socket_and_timer_callbacks(many, kw):
    m = xssh.Multi()
    watch = {}
    timer = [-1]
    changes = []

    def on_socket(fd, what):
        changes.append((fd, what))
        if what == xssh.core.XSSH_POLL_NONE:
            watch.pop(fd, None)
        else:
            watch[fd] = what

    m.set_socket_callback(on_socket)
    m.set_timer_callback(lambda ms: timer.__setitem__(0, ms))
    opts = xssh.Options()
    opts.set("IdentityFile", many["key"])
    opts.set("UserKnownHostsFile", many["known_hosts"])
    ops = [m.add_host_run(h, opts, "echo ext") for h in many["hosts"][:4]]
    running = m.socket_action(xssh.core.XSSH_SOCKET_TIMEOUT, 0)
    p = select.poll()
    for _ in range(100000):  # bounded
        if not running:
            break
        p = select.poll()
        for fd, what in watch.items():
            p.register(fd, (select.POLLIN if what & xssh.core.XSSH_POLL_IN else 0)
                       | (select.POLLOUT if what & xssh.core.XSSH_POLL_OUT else 0))
        t = timer[0]
        ready = p.poll(60000 if t < 0 else t)
        if not ready:
            running = m.socket_action(xssh.core.XSSH_SOCKET_TIMEOUT, 0)
        for fd, ev in ready:
            running = m.socket_action(fd, (xssh.core.XSSH_POLL_IN if ev & select.POLLIN else 0)
                                      | (xssh.core.XSSH_POLL_OUT if ev & select.POLLOUT else 0)
                                      | (xssh.core.XSSH_POLL_ERR if ev & (select.POLLERR | select.POLLHUP) else 0))
    assert running == 0
    assert [op.result().stdout for op in ops] == [b"ext\n"] * 4
    assert changes and not watch  # every socket it asked for was released


def test_socket_callback_error_is_raised_by_socket_action(many):
    m = xssh.Multi()

    def bad(fd, what):
        raise KeyError("from socket callback")

    m.set_socket_callback(bad)
    opts = xssh.Options()
    opts.set("IdentityFile", many["key"])
    opts.set("UserKnownHostsFile", many["known_hosts"])
    m.add_host_run(many["hosts"][0], opts, "true")
    with pytest.raises(KeyError, match="from socket callback"):
        for _ in range(1000):
            if m.socket_action(xssh.core.XSSH_SOCKET_TIMEOUT, 0) == 0:
                break


def test_gc_safety_callbacks_and_ops_outliving_the_multi(many):
    opts = xssh.Options()
    opts.set("IdentityFile", many["key"])
    opts.set("UserKnownHostsFile", many["known_hosts"])
    calls = []

    def make():  # the callables' only references are the C ones
        return (lambda op, s, d: calls.append(d)), (lambda op: calls.append(op.result().exit_status))

    m = xssh.Multi()
    out_cb, done_cb = make()
    o = xssh.core.multi_op_options(0, 0, 0, 0, 0, 0, 0, 1, 0, None)  # line mode
    op = m.add_host_run(many["hosts"][0], opts, "echo gc", o, out_cb, done_cb)
    del out_cb, done_cb
    gc.collect()
    m.perform_all()
    assert calls == [b"gc\n", 0]
    # ops outlive their Multi: the last reference cancels what is left, never calls back
    m = xssh.Multi()
    cb_calls = []
    ops = [m.add_host_run(h, opts, "sleep 300", None, None, lambda op: cb_calls.append(1))
           for h in many["hosts"][:3]]
    m.perform()
    del m
    gc.collect()
    for op in ops:
        assert op.state() == xssh.core.XSSH_OP_DONE
        assert isinstance(op.result().error, exc.SSH2Error)
    assert cb_calls == []
    # a callback that drops the last Python reference to its own op and forces a collection
    m = xssh.Multi()
    holder = {}
    holder["op"] = m.add_host_run(many["hosts"][1], opts, "true", None, None,
                                  lambda op: (holder.clear(), gc.collect()))
    m.perform_all()
    assert holder == {}


def test_cancel_a_queued_op(many):
    m = xssh.Multi()
    op = m.add_host_run(many["hosts"][0], None, "true")
    op.cancel()
    assert op.state() == xssh.core.XSSH_OP_DONE
    assert isinstance(op.result().error, exc.SSH2Error)
    assert m.perform_all() == 0


def test_a_multi_is_driven_by_one_thread_at_a_time(many, scratch):
    m = xssh.Multi()
    opts = xssh.Options()
    opts.set("IdentityFile", many["key"])
    opts.set("UserKnownHostsFile", many["known_hosts"])
    started = os.path.join(scratch, "s")
    go = os.path.join(scratch, "g")
    op = m.add_host_run(many["hosts"][0], opts, "touch %s; i=0; while [ ! -e %s ]; do i=$((i+1)); "
                        "[ $i -gt %d ] && exit 9; sleep 0.2; done" % (started, go, BOUND))
    errors = []

    def other():
        for _ in range(BOUND * 10):
            if os.path.exists(started):
                break
            threading.Event().wait(0.02)
        try:
            m.perform()
        except exc.SSH2Error as e:
            errors.append(e)
        open(go, "w").close()

    t = threading.Thread(target=other)
    t.start()
    m.perform_all()
    t.join()
    assert op.result().ok
    assert len(errors) == 1 and errors[0].code == xssh.core.XSSH_EBAD_USE
