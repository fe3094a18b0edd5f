"""xssh.aio: asyncio over the multi interface's external-loop API (docs/async.md).

Concurrency and cancellation points are forced, never timed: commands wait for files other
commands create (bounded loops that end with exit 99 when the condition never comes), and a
transfer is cancelled after inotify reports its first write into the destination directory."""
import asyncio
import ctypes
import ctypes.util
import json
import os
import struct
import threading

import pytest

import xssh
import xssh.aio
import xssh.exceptions as X


def _run(coro, limit=120):
    """Run coro on a fresh loop; a generous bound only against hangs (never reached when it works)."""
    return asyncio.run(asyncio.wait_for(coro, limit))


def _many():
    path = os.environ.get("XSSH_MANY_HOSTS")
    if not path or not os.path.exists(path):
        pytest.fail("XSSH_MANY_HOSTS is not set: the python suite requires the sshd_many fixture")
    with open(path) as f:
        return json.load(f)


def _kw(env):
    return dict(port=env.port, user=env.user, key=env.key, known_hosts=env.known_hosts)


def _wait_all(d, n, me):
    """Shell: create d/me, then wait (bounded, ~60 s) until d holds n files; exit 99 if never."""
    return ("touch %s/%s; i=0; while [ $(ls %s | wc -l) -lt %d ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); "
            "done; [ $(ls %s | wc -l) -ge %d ] || exit 99; echo ok %s" % (d, me, d, n, d, n, me))


def _scratch(many, name):
    d = os.path.join(many["scratch_dir"], "aio-%s-%d" % (name, os.getpid()))
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o1777)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    return d


def test_twenty_sessions_overlap_on_one_thread():
    many = _many()
    hosts = many["hosts"][:20]
    d = _scratch(many, "overlap")
    threads = threading.active_count()

    async def one(i, h):
        async with xssh.aio.connect(h, key=many["key"], known_hosts=many["known_hosts"], host_key_policy="strict",
                                    agent=False, config="none") as s:
            return await s.run(_wait_all(d, 20, "h%d" % i))

    async def main():
        rs = await asyncio.gather(*(one(i, h) for i, h in enumerate(hosts)))
        assert threading.active_count() == threads  # no thread was started
        return rs

    rs = _run(main())
    for i, r in enumerate(rs):
        # 99: the file count never reached 20: the sessions did not run side by side
        assert r.exit_status == 0, (i, r.exit_status, r.stderr)
        assert r.stdout == b"ok h%d\n" % i
    assert sorted(os.listdir(d)) == sorted("h%d" % i for i in range(20))


def test_fifty_hosts_and_failures_as_xssh_exceptions():
    many = _many()
    good = many["hosts"]
    bad = many["unknown_hostkey_hosts"] + many["mismatch_hostkey_hosts"] + many["refused_hosts"]

    async def main():
        return await xssh.aio.run_many(good + bad, "echo $SSH_CONNECTION", key=many["key"],
                                       known_hosts=many["known_hosts"], host_key_policy="strict",
                                       agent=False, config="none", timeout=60)

    rs = _run(main())
    assert len(rs) == len(good) + len(bad) == 54
    for h, r in zip(good, rs):
        assert isinstance(r, xssh.RunResult), (h, r)
        assert r.exit_status == 0 and r.stdout.split()[-1] == h.rsplit(":", 1)[1].encode()
    unknown, mismatch, refused1, refused2 = rs[len(good):]
    assert isinstance(unknown, X.KnownHostCheckNotFoundError), unknown
    assert isinstance(mismatch, X.KnownHostCheckMisMatchError), mismatch
    assert isinstance(refused1, X.ConnectError) and isinstance(refused2, X.ConnectError), (refused1, refused2)


def test_errors_are_xssh_exceptions(env):
    async def main():
        with pytest.raises(X.AuthenticationError):
            await xssh.aio.connect(env.host, env.port, env.user, key=env.key_unauthorized,
                                   known_hosts=env.known_hosts, agent=False, config="none")
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            with pytest.raises(X.SFTPError):
                await s.get("/nonexistent/aio-file", os.path.join(env.dir, "never"))
            with pytest.raises(X.SFTPError):
                await s.listdir("/nonexistent/aio-dir")
            r = await s.run("exit 7")  # a failing command is a result, as Session.run
            assert r.exit_status == 7
            with pytest.raises(X.Timeout):
                await s.run("sleep 30", timeout=0.3)  # the op's own timeout (xssh's), not asyncio's
            assert (await s.run("echo after")).stdout == b"after\n"
        with pytest.raises(TypeError):
            await xssh.aio.connect(env.host, **_kw(env), prompt_callback=lambda *a: None)
        with pytest.raises(X.ClosedError):
            await s.run("true")

    _run(main())


def test_run_result_is_session_run(session, env):
    cmd = "printf 'a\\0b'; printf err >&2; kill -TERM $$"
    blocking = session.run(cmd)

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            return await s.run(cmd), await s.run("cat; exit 4", stdin=b"in\n")

    r, r2 = _run(main())
    assert (r.stdout, r.stderr, r.exit_status, r.exit_signal) == (
        blocking.stdout, blocking.stderr, blocking.exit_status, blocking.exit_signal)
    assert r.exit_signal == b"TERM"
    assert (r2.stdout, r2.exit_status) == (b"in\n", 4)


def test_stream_reads_output_as_it_arrives(env, tmpdir_path):
    """The first line is read while the command still runs: it waits for a file the test
    creates only after it saw that line."""
    flag = os.path.join(tmpdir_path, "go")

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            p = s.stream("echo first; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
                         "[ -e %s ] || exit 99; echo second >&2; exit 5" % (flag, flag))
            got = []
            async for stream, data in p:
                got.append((stream, data))
                if data == b"first\n":
                    open(flag, "w").close()
            assert got == [("stdout", b"first\n"), ("stderr", b"second\n")]
            assert p.exit_status == 5

    _run(main())


async def _cancel_point(s, d):
    """Start, on session s, a command that says 'started' and then waits for d/stop; return the
    (task, process) once 'started' was read."""
    p = s.stream("echo started; i=0; while [ ! -e %s/stop ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
                 "echo never" % d)
    it = p.__aiter__()
    first = await it.__anext__()
    assert first == ("stdout", b"started\n")
    return p, it


def test_cancel_mid_run_leaves_session_usable(env, tmpdir_path):
    d = tmpdir_path

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s, xssh.aio.connect(env.host, **_kw(env)) as watch:
            # 1. task.cancel() while run() waits for a command that never ends by itself
            t = asyncio.create_task(s.run("touch %s/running; i=0; while [ ! -e %s/stop ] && [ $i -lt 600 ]; do "
                                          "sleep 0.1; i=$((i+1)); done" % (d, d)))
            # the command is running for sure once another session sees its file
            r = await watch.run("i=0; while [ ! -e %s/running ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
                                "[ -e %s/running ]" % (d, d))
            assert r.exit_status == 0
            t.cancel()
            with pytest.raises(asyncio.CancelledError):
                await t
            assert (await s.run("echo usable")).stdout == b"usable\n"

            # 2. asyncio.timeout expiring mid-stream (rescheduled to now once output arrived)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(None) as cm:
                    it = s.stream("echo started; i=0; while [ ! -e %s/stop ] && [ $i -lt 600 ]; do sleep 0.1; "
                                  "i=$((i+1)); done; echo never" % d).__aiter__()
                    assert await it.__anext__() == ("stdout", b"started\n")
                    cm.reschedule(asyncio.get_running_loop().time())
                    await it.__anext__()
            assert (await s.run("echo usable2")).stdout == b"usable2\n"

            # 3. wait_for around run, cancelled by a timeout the test forces: the deadline is
            # the loop's current time, reached before the command can end
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(s.run("i=0; while [ ! -e %s/stop ] && [ $i -lt 600 ]; do sleep 0.1; "
                                             "i=$((i+1)); done" % d), 0)
            assert (await s.run("echo usable3")).stdout == b"usable3\n"
            assert not os.path.exists(os.path.join(d, "stop"))  # nothing ended by itself

    _run(main())


class _Inotify(object):
    """The first write into a directory, as an event on the loop (Linux inotify through libc)."""
    IN_MODIFY = 0x2

    def __init__(self, path):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        assert libc.inotify_add_watch(self.fd, path.encode(), self.IN_MODIFY) >= 0

    async def first_write(self):
        loop = asyncio.get_running_loop()
        f = loop.create_future()
        loop.add_reader(self.fd, lambda: f.done() or f.set_result(None))
        try:
            await f
        finally:
            loop.remove_reader(self.fd)
        ev = os.read(self.fd, 4096)
        assert struct.unpack_from("iIII", ev)[1] & self.IN_MODIFY

    def close(self):
        os.close(self.fd)


SIZE = 64 << 20


@pytest.mark.parametrize("direction", ["get", "put"])
def test_cancel_mid_transfer_leaves_session_usable(env, tmpdir_path, direction):
    """Cancel after the transfer's first write reached its destination (inotify): it is
    mid-way (64 MiB, read from a sparse file); the destination is not left half-written
    and the session, SFTP included, goes on working."""
    src_dir = os.path.join(tmpdir_path, "src")
    dst_dir = os.path.join(tmpdir_path, "dst")
    os.mkdir(src_dir)
    os.mkdir(dst_dir)
    src = os.path.join(src_dir, "big")
    with open(src, "wb") as f:
        f.truncate(SIZE)
    dst = os.path.join(dst_dir, "big")
    small = os.path.join(src_dir, "small")
    with open(small, "wb") as f:
        f.write(os.urandom(100000))
    watch = _Inotify(dst_dir)

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            assert sorted(await s.listdir(src_dir)) == ["big", "small"]  # SFTP started before the transfer
            op = s.get if direction == "get" else s.put
            t = asyncio.create_task(op(src, dst))
            await watch.first_write()
            assert not t.done()
            t.cancel()
            with pytest.raises(asyncio.CancelledError):
                await t
            left = os.listdir(dst_dir)
            assert "big" not in left, left  # atomic transfers: nothing half-written at the destination
            # and the temporary file is removed (get: the local one; put: the remote
            # "<name>.xssh-<hex>.part", removed within the multi's cancel grace)
            assert left == [], left
            # usable: commands, and SFTP both ways
            assert (await s.run("echo usable")).stdout == b"usable\n"
            assert await op(small, os.path.join(dst_dir, "small")) == 100000
            with open(os.path.join(dst_dir, "small"), "rb") as f1, open(small, "rb") as f2:
                assert f1.read() == f2.read()
            assert "small" in await s.listdir(dst_dir)
            return left

    try:
        left = _run(main())
    finally:
        watch.close()
    assert "big" not in left


def test_listdir_and_transfer_round_trip(env, tmpdir_path):
    data = os.urandom(300000)
    src = os.path.join(tmpdir_path, "a")
    with open(src, "wb") as f:
        f.write(data)

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            assert await s.put(src, os.path.join(tmpdir_path, "b")) == len(data)
            assert await s.get(os.path.join(tmpdir_path, "b"), os.path.join(tmpdir_path, "c")) == len(data)
            return sorted(await s.listdir(tmpdir_path))

    assert _run(main()) == ["a", "b", "c"]
    with open(os.path.join(tmpdir_path, "c"), "rb") as f:
        assert f.read() == data


def test_local_forward_relays_many_connections(env):
    """Three connections through one forward at once: each gets the sshd's banner and an
    echo of what it sent is not expected (sshd drops it): the banner proves the relay."""
    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            async with await s.forward_local(env.host, env.port) as fw:
                async def client():
                    r, w = await asyncio.open_connection("127.0.0.1", fw.port)
                    line = await r.readline()
                    w.write(b"SSH-2.0-aiotest\r\n")  # through the channel to sshd
                    await w.drain()
                    rest = await r.read(65536)  # sshd's KEXINIT: relayed back
                    w.close()
                    return line, rest
                got = await asyncio.gather(client(), client(), client())
                assert fw.connections == 3
            # the session is still usable once the forward is closed
            assert (await s.run("echo after")).stdout == b"after\n"
            return got

    for line, rest in _run(main()):
        assert line.startswith(b"SSH-2.0-OpenSSH")
        assert len(rest) > 0


def test_close_cancels_an_unfinished_stream(env, tmpdir_path):
    async def main():
        s = await xssh.aio.connect(env.host, **_kw(env))
        p, it = await _cancel_point(s, tmpdir_path)
        await s.close()  # does not wait for the command to end
        await s.close()  # idempotent
        with pytest.raises(X.ClosedError):
            await s.listdir("/")
        await it.aclose()

    _run(main())
    assert not os.path.exists(os.path.join(tmpdir_path, "stop"))


def test_one_driver_per_loop_collected_with_it(env):
    """One Multi per event loop; when the loop is gone, its driver (and Multi) go too."""
    import gc
    import weakref
    refs = []

    async def main():
        d = xssh.aio._driver()
        assert d is xssh.aio._driver()  # the same for the whole loop
        refs.append(weakref.ref(d))
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            assert (await s.run("echo hi")).stdout == b"hi\n"

    for _ in range(3):
        _run(main())
    gc.collect()
    assert len(refs) == 3 and len({id(r) for r in refs}) == 3
    assert [r() for r in refs] == [None, None, None]


def test_local_forward_moves_megabytes_both_ways(env):
    """4 connections at once through one forward to an echo server (on loopback, reached from the
    sshd): 2 MiB each way per connection, byte-exact, while a command runs on the same session."""
    async def echo(reader, writer):
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        eport = server.sockets[0].getsockname()[1]
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            async with await s.forward_local("127.0.0.1", eport) as fw:
                async def client(k):
                    data = os.urandom(2 << 20)
                    r, w = await asyncio.open_connection("127.0.0.1", fw.port)

                    async def send():
                        for i in range(0, len(data), 100000):
                            w.write(data[i:i + 100000])
                            await w.drain()
                        w.write_eof()
                    got = bytearray()

                    async def recv():
                        while len(got) < len(data):
                            chunk = await r.read(1 << 20)
                            if not chunk:
                                break
                            got.extend(chunk)
                    await asyncio.gather(send(), recv())
                    w.close()
                    return bytes(got) == data, len(got)
                *res, r = await asyncio.gather(*(client(k) for k in range(4)), s.run("echo mid"))
                assert r.stdout == b"mid\n"
        server.close()
        return res

    for ok, n in _run(main(), 300):
        assert ok, n


def test_exec_loop_does_no_registration_churn(env):
    """Per command, the session's socket stays registered with the loop (no remove_reader /
    add_reader), the op starts when it is added (no loop callback scheduled to start it) and the
    op timer the multi re-arms at every step does not create a loop timer each time."""
    calls = {}

    async def main():
        loop = asyncio.get_running_loop()
        for name in ("add_reader", "remove_reader", "add_writer", "remove_writer", "call_at", "call_soon"):
            def counting(*a, _f=getattr(loop, name), _n=name, **k):
                calls[_n] = calls.get(_n, 0) + 1
                return _f(*a, **k)
            setattr(loop, name, counting)
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            assert (await s.run("echo 0")).stdout == b"0\n"
            calls.clear()
            for i in range(1, 21):
                assert (await s.run("echo %d" % i)).stdout == b"%d\n" % i
            return dict(calls), s.session.socket(), xssh.aio._driver()

    counts, fd, d = _run(main())
    assert counts.get("add_reader", 0) == 0 and counts.get("remove_reader", 0) == 0, counts
    assert counts.get("add_writer", 0) == counts.get("remove_writer", 0) <= 2, counts  # (a full send buffer)
    # one task wake-up per command (the op's future), none to start an op; a loop timer only
    # when the op timer moved earlier (never between commands of one session and timeout)
    assert counts.get("call_soon", 0) <= 20 + 2, counts
    assert counts.get("call_at", 0) <= 2, counts
    assert fd not in d.fds and fd not in d.keep  # closed: forgotten


def test_unwanted_wakeup_stops_watching_a_kept_socket():
    """A kept socket (a live Session's, registered between ops) that becomes readable while no op
    and no call waits on it is unregistered at that wake-up: the loop does not spin on it."""
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        d = xssh.aio._driver()
        a, b = socket.socketpair()
        try:
            fd = a.fileno()
            wakes = []
            orig = d._ready

            def ready(f, ev):
                wakes.append(f)
                orig(f, ev)
            d._ready = ready                  # (what the driver registers with the loop)
            d.watch(fd)
            d._socket_cb(fd, xssh.aio._IN)   # an op waits on it: registered
            d._socket_cb(fd, 0)              # the op is done: stays registered (kept)
            assert d.fds[fd][3] == xssh.aio._IN
            b.send(b"x")  # readable now, nobody reads it
            for _ in range(5):
                await asyncio.sleep(0)
            assert wakes == [fd]  # one wake-up, then no longer watched
            assert fd not in d.fds and loop.remove_reader(fd) is False
            # a socket closed behind the driver's back and its number reused is registered anew
            d.watch(fd)
            d._socket_cb(fd, xssh.aio._IN)
            d._socket_cb(fd, 0)
            d.keep[fd] = -1  # as if fd now were another socket
            added = []
            real_add = loop.add_reader
            loop.add_reader = lambda *a: (added.append(a[0]), real_add(*a))[1]
            d._socket_cb(fd, xssh.aio._IN)   # the next op on it: the stale registration is redone
            del loop.add_reader
            assert added == [fd] and d.fds[fd][3] == xssh.aio._IN and loop.remove_reader(fd) is True
            d.fds.pop(fd)
            d.forget(fd)
        finally:
            a.close()
            b.close()

    _run(main())


def test_unclosed_session_collected_unregisters_its_socket(env):
    import gc

    async def main():
        loop = asyncio.get_running_loop()
        d = xssh.aio._driver()
        s = await xssh.aio.connect(env.host, **_kw(env))
        assert (await s.run("echo 1")).stdout == b"1\n"
        fd = s.session.socket()
        assert fd in d.keep and fd in d.fds
        del s
        gc.collect()
        assert fd not in d.keep and fd not in d.fds
        assert loop.remove_reader(fd) is False

    _run(main())


async def _echo(reader, writer):
    """An echo server's connection (the destination of the forwards below, on loopback)."""
    for _ in range(100000):
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def _through(port, data):
    """Send data through a forwarded port, half-close, read the answer to its end."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(data)
    await w.drain()
    w.write_eof()
    got = await r.read()
    w.close()
    return got


def test_local_forward_stats_and_a_refused_destination(env):
    """LocalForward.stats() counts what the forward op carried (byte-exact) and a connection whose
    channel the server refused (nothing listens at the destination: a bound, non-listening
    socket) as failed; the forward goes on (a second refused connection, then the good forward
    and the session still work)."""
    data = os.urandom(300000)

    async def main():
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        eport = server.sockets[0].getsockname()[1]
        import socket
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))  # bound, never listening: a connection to it is refused
        try:
            async with xssh.aio.connect(env.host, **_kw(env)) as s:
                async with await s.forward_local("127.0.0.1", eport) as fw, \
                        await s.forward_local("127.0.0.1", dead.getsockname()[1]) as bad:
                    assert fw.stats() == (0, 0, 0, 0, 0) and isinstance(fw.stats(), xssh.core.ForwardStats)
                    assert await _through(fw.port, data) == data
                    st = fw.stats()
                    assert (st.accepted, st.failed, st.bytes_out, st.bytes_in) == (1, 0, len(data), len(data)), st
                    assert fw.connections == 1

                    for k in (1, 2):
                        r, w = await asyncio.open_connection("127.0.0.1", bad.port)
                        try:
                            assert await r.read() == b""  # the forward closed it: the channel was refused
                        except ConnectionResetError:
                            pass
                        w.close()
                        st = bad.stats()
                        assert (st.accepted, st.active, st.failed, st.bytes_out, st.bytes_in) == (k, 0, k, 0, 0), st
                        assert not bad.closed and bad.error is None  # the forward goes on
                    assert await _through(fw.port, b"again") == b"again"
                    assert (await s.run("echo usable")).stdout == b"usable\n"
                assert fw.closed and bad.closed and fw.error is None and bad.error is None
                st = fw.stats()  # readable after the end
                assert (st.accepted, st.active, st.failed, st.bytes_out, st.bytes_in) == (
                    2, 0, 0, len(data) + 5, len(data) + 5), st
                assert bad.stats().failed == 2
        finally:
            dead.close()
            server.close()

    _run(main())


def test_two_forward_connections_and_a_command_at_once(env, tmpdir_path):
    """A forward does not hold its session: while a command runs on the session (it has said
    'started' and ends only once two connections have carried bytes through the forward to a
    destination that records them), both connections carry data both ways; after the command
    they go on; closing the forward cuts them and leaves the session usable."""
    d = tmpdir_path

    async def dest(reader, writer):
        line = await reader.readline()  # b"conn K\n", through the forward
        open(os.path.join(d, line.split()[1].decode()), "w").close()
        writer.write(b"echo " + line)
        await writer.drain()
        await _echo(reader, writer)

    async def main():
        server = await asyncio.start_server(dest, "127.0.0.1", 0)
        eport = server.sockets[0].getsockname()[1]
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            fw = await s.forward_local("127.0.0.1", eport)
            p = s.stream("echo started; i=0; while ! [ -e %s/c1 -a -e %s/c2 ] && [ $i -lt 600 ]; do sleep 0.1; "
                         "i=$((i+1)); done; [ -e %s/c1 -a -e %s/c2 ] || exit 99; echo both" % (d, d, d, d))
            it = p.__aiter__()
            assert await it.__anext__() == ("stdout", b"started\n")  # the command runs now
            conns = [await asyncio.open_connection("127.0.0.1", fw.port) for _ in range(2)]
            for k, (r, w) in enumerate(conns, 1):
                w.write(b"conn c%d\n" % k)
                await w.drain()
            for k, (r, w) in enumerate(conns, 1):
                assert await r.readline() == b"echo conn c%d\n" % k
            assert fw.stats().active == 2
            # the command saw both connections' bytes and ends (it could not before: exit 99)
            rest = [item async for item in it]
            assert rest == [("stdout", b"both\n")] and p.exit_status == 0, (rest, p.exit_status)
            for k, (r, w) in enumerate(conns, 1):  # the connections go on after the command
                w.write(b"more %d\n" % k)
                await w.drain()
                assert await r.readline() == b"more %d\n" % k
            assert fw.stats().active == 2
            fw.close()  # cuts both connections
            await fw.wait_closed()
            for r, w in conns:
                try:
                    assert await r.read() == b""
                except ConnectionResetError:
                    pass
                w.close()
            st = fw.stats()
            assert (st.accepted, st.active, st.failed) == (2, 0, 0), st
            assert (await s.run("echo usable")).stdout == b"usable\n"
        server.close()

    _run(main())


def test_listdir_errors_and_cancel(env, tmpdir_path):
    """listdir is a multi op: a missing directory raises the SFTP no-such-file error naming the
    path (the SFTP subsystem stays in use); a listdir cancelled while its op waits for the server
    leaves the session usable (SFTP included). The session goes through a proxy the test owns,
    which holds the server's bytes while the listdir is cancelled: its answer cannot come first."""
    for i in range(50):
        open(os.path.join(tmpdir_path, "f%02d" % i), "w").close()
    names = sorted("f%02d" % i for i in range(50))

    async def main():
        d = xssh.aio._driver()
        added = []
        listing = asyncio.Event()
        flowing = asyncio.Event()  # cleared: the server's bytes are held by the proxy
        flowing.set()
        orig = d.add

        async def proxy(cr, cw):
            sr, sw = await asyncio.open_connection(env.host, env.port)

            async def pipe(r, w, gate):
                for _ in range(100000):
                    data = await r.read(65536)
                    if not data:
                        break
                    if gate is not None:
                        await gate.wait()
                    w.write(data)
                    await w.drain()
                w.close()
            await asyncio.gather(pipe(cr, sw, None), pipe(sr, cw, flowing), return_exceptions=True)
        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        pport = server.sockets[0].getsockname()[1]

        def add(adder, *a, **k):
            r = orig(adder, *a, **k)
            added.append((adder.__name__, r[0]))
            if adder.__name__ == "add_sftp_listdir":
                listing.set()
            return r
        d.add = add
        try:
            async with xssh.aio.connect("127.0.0.1", pport, env.user, key=env.key, host_key_policy="off",
                                        agent=False, config="none") as s:
                missing = os.path.join(tmpdir_path, "missing")
                with pytest.raises(X.SFTPNoSuchFileError) as ei:
                    await s.listdir(missing)
                assert missing in str(ei.value), ei.value
                assert sorted(await s.listdir(tmpdir_path)) == names
                assert [n for n, _op in added].count("add_sftp_open") == 1  # the subsystem was kept

                # cancel while the listdir op waits for the server's answer (held by the proxy;
                # the cancelled request's cleanup waits for it within the cancel grace, 3 s)
                listing.clear()
                flowing.clear()
                t = asyncio.create_task(s.listdir(tmpdir_path))
                await listing.wait()  # the op was added and started: it waits for the server now
                name, op = added[-1]
                assert name == "add_sftp_listdir" and op.state() != xssh.core.XSSH_OP_DONE
                t.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await t
                flowing.set()
                assert op.state() == xssh.core.XSSH_OP_DONE
                assert isinstance(op.result().error, X.CancelledError)
                assert sorted(await s.listdir(tmpdir_path)) == names  # on a new SFTP subsystem
                assert (await s.run("echo usable")).stdout == b"usable\n"
        finally:
            del d.add
            flowing.set()
            server.close()

    _run(main())


def test_local_forward_bind_failure_and_session_close(env):
    """A port that cannot be bound raises ConnectError naming the address; Session.close()
    cancels the forwards still running (they end without error, the port is released)."""
    import socket

    async def main():
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        try:
            s = await xssh.aio.connect(env.host, **_kw(env))
            with pytest.raises(X.ConnectError) as ei:
                await s.forward_local("127.0.0.1", env.port, local_port=taken.getsockname()[1])
            assert "127.0.0.1:%d" % taken.getsockname()[1] in str(ei.value), ei.value
            with pytest.raises(ValueError):
                await s.forward_local("127.0.0.1", env.port, local_port=70000)
            fw = await s.forward_local(env.host, env.port)
            r, w = await asyncio.open_connection("127.0.0.1", fw.port)
            assert (await r.readline()).startswith(b"SSH-2.0-OpenSSH")
            await s.close()
            assert fw.closed and fw.error is None
            await fw.wait_closed()
            assert await r.read() == b""  # its connection was cut
            w.close()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", fw.port)
        finally:
            taken.close()

    _run(main())


def test_local_forward_ends_with_the_error_of_its_session(env):
    """The session's TCP connection is cut (a proxy the test owns closes both ends) while a
    connection is open through the forward: the forward ends by itself, its connection is cut,
    ``error`` and ``wait_closed()`` give the session's error, Session.close() still works."""
    async def main():
        cut = []

        async def proxy(cr, cw):
            sr, sw = await asyncio.open_connection(env.host, env.port)
            cut.extend([cw, sw])

            async def pipe(r, w):
                for _ in range(100000):
                    data = await r.read(65536)
                    if not data:
                        break
                    w.write(data)
                    await w.drain()
            await asyncio.gather(pipe(cr, sw), pipe(sr, cw), return_exceptions=True)
        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        pport = server.sockets[0].getsockname()[1]
        echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
        s = await xssh.aio.connect("127.0.0.1", pport, env.user, key=env.key, host_key_policy="off", agent=False,
                                   config="none")
        fw = await s.forward_local("127.0.0.1", echo.sockets[0].getsockname()[1])
        r, w = await asyncio.open_connection("127.0.0.1", fw.port)
        w.write(b"ping\n")
        assert await r.readline() == b"ping\n"
        for c in cut:  # the session's TCP connection is gone
            c.transport.abort()
        try:
            assert await r.read() == b""  # the forwarded connection is cut
        except ConnectionResetError:
            pass
        w.close()
        with pytest.raises(X.SSH2Error) as ei:
            await fw.wait_closed()
        assert fw.closed and fw.error is ei.value and not isinstance(ei.value, X.CancelledError)
        assert "local forward" in str(ei.value), ei.value
        await s.close()
        server.close()
        echo.close()

    _run(main())


def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_connections_and_runs_leave_no_fds_nor_finished_ops(env):
    """40 connect/close cycles and 40 runs of 1 MB output on one loop: the finished ops are
    taken off the multi's completion queue (none left for info_read), so no op keeps its
    session's socket (and pipe) or its output: the process's open fds return to the start."""
    import gc

    async def main():
        d = xssh.aio._driver()  # the loop and its multi exist before the count
        start = _fds()
        for _ in range(40):
            s = await xssh.aio.connect(env.host, **_kw(env))
            await s.close()
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            for _ in range(40):
                r = await s.run("head -c 1000000 /dev/zero")
                assert len(r.stdout) == 1000000
        del s, r
        gc.collect()
        end = _fds()
        assert d.multi.info_read() is None  # every finished op was taken (and released)
        return start, end

    start, end = _run(main())
    assert end <= start + 2, (start, end)


def test_run_returns_all_output_as_session_run(session, env):
    """aio's run keeps every byte of the output (max_output = XSSH_MULTI_OUTPUT_ALL), as the
    blocking Session.run does: ~3 MB, byte-exact (not cut at the multi's 1 MiB default)."""
    cmd = "seq 1 450000; seq 1 300000 >&2"
    want_out = "".join("%d\n" % i for i in range(1, 450001)).encode()
    want_err = "".join("%d\n" % i for i in range(1, 300001)).encode()
    assert len(want_out) > 3000000

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            return await s.run(cmd)

    r = _run(main())
    assert r.exit_status == 0
    assert len(r.stdout) == len(want_out) and r.stdout == want_out
    assert len(r.stderr) == len(want_err) and r.stderr == want_err
    b = session.run(cmd)
    assert (b.stdout, b.stderr) == (r.stdout, r.stderr)


def test_process_output_goes_to_one_iteration(env):
    """A second iteration of a Process (after the first, or beside it in another task) ends at
    once without items (docs/async.md) instead of waiting forever for output already taken."""
    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            p = s.stream("echo a; echo b", line_mode=True)
            assert [x async for x in p] == [("stdout", b"a\n"), ("stdout", b"b\n")]
            assert [x async for x in p] == []
            assert p.exit_status == 0

            p2 = s.stream("echo c; exit 3")

            async def consume():
                return [x async for x in p2]
            a, b = await asyncio.gather(consume(), consume())
            assert sorted([a, b], key=len) == [[], [("stdout", b"c\n")]]
            assert (await p2.wait()).exit_status == 3
            assert (await s.run("echo usable")).stdout == b"usable\n"

    _run(main(), 60)


def test_run_and_stream_command_type_errors(env):
    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            for bad in (None, 123, ["ls"]):
                with pytest.raises(TypeError) as ei:
                    await s.run(bad)
                m = str(ei.value)
                assert "xssh.aio.Session.run()" in m and "'command'" in m and type(bad).__name__ in m, m
                with pytest.raises(TypeError) as ei:
                    s.stream(bad)
                m = str(ei.value)
                assert "xssh.aio.Session.stream()" in m and "'command'" in m and type(bad).__name__ in m, m
            assert (await s.run(b"echo ok")).stdout == b"ok\n"  # the session is in order

    _run(main())


def test_non_utf8_remote_names_and_bytes_paths(env, tmpdir_path):
    """A remote name that is not UTF-8 comes from listdir() surrogate-escaped (as os.listdir);
    that str, and bytes paths, work in get/put/listdir (os.fsencode before the C op)."""
    d = os.path.join(tmpdir_path, "caf\udce9-dir")  # not UTF-8 either
    os.mkdir(d)
    name = b"caf\xe9.txt"
    with open(os.path.join(os.fsencode(d), name), "wb") as f:
        f.write(b"latin-1 name\n")
    sname = os.fsdecode(name)
    assert sname == "caf\udce9.txt"

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            assert await s.listdir(d) == [sname]
            assert await s.listdir(os.fsencode(d)) == [sname]
            local = os.path.join(tmpdir_path, "got-\udcff")
            assert await s.get(d + "/" + sname, local) == 13
            assert await s.get(os.fsencode(d) + b"/" + name, os.fsencode(local) + b"2") == 13
            assert await s.put(local, d + "/up-\udce9") == 13
            assert await s.put(os.fsencode(local), os.fsencode(d) + b"/up2-\xff") == 13
            assert sorted(await s.listdir(d)) == sorted([sname, "up-\udce9", "up2-\udcff"])
            with pytest.raises(X.SFTPNoSuchFileError):
                await s.get(d + "/missing-\udce9", local)
            with pytest.raises(TypeError):
                await s.listdir(123)

    _run(main())
    for n in ("got-\udcff", "got-\udcff2"):
        with open(os.path.join(tmpdir_path, n), "rb") as f:
            assert f.read() == b"latin-1 name\n"
    for n in (b"up-\xe9", b"up2-\xff"):
        with open(os.path.join(os.fsencode(d), n), "rb") as f:
            assert f.read() == b"latin-1 name\n"


def test_forward_refused_and_session_end_report_nothing_to_the_loop(env):
    """A connection to a refusing destination and a session closed while a forwarded
    connection is open end quietly: the loop's exception handler is never called (no
    "Unhandled exception in client_connected_cb", no "Task exception was never retrieved")."""
    import gc
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        calls = []
        loop.set_exception_handler(lambda _loop, ctx: calls.append(ctx))
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))  # bound, never listening: refused
        echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
        try:
            s = await xssh.aio.connect(env.host, **_kw(env))
            bad = await s.forward_local("127.0.0.1", dead.getsockname()[1])
            r, w = await asyncio.open_connection("127.0.0.1", bad.port)
            try:
                assert await r.read() == b""
            except ConnectionResetError:
                pass
            w.close()
            assert bad.stats().failed == 1
            fw = await s.forward_local("127.0.0.1", echo.sockets[0].getsockname()[1])
            r, w = await asyncio.open_connection("127.0.0.1", fw.port)
            w.write(b"ping\n")
            assert await r.readline() == b"ping\n"
            await s.close()  # the forwarded connection is still open
            try:
                assert await r.read() == b""
            except ConnectionResetError:
                pass
            w.close()
            assert fw.closed and bad.closed and fw.error is None and bad.error is None
            del s, bad, fw, r, w
            gc.collect()
            for _ in range(3):
                await asyncio.sleep(0)
        finally:
            dead.close()
            echo.close()
        assert calls == [], calls

    _run(main())
