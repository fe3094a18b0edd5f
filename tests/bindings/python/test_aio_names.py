"""xssh.aio errors name the method the user called, and ForwardStats is public (issue 17, a
newcomer's findings).

A session closed behind xssh.aio's back (its ``session`` disconnected, or failed) made every
call report the C function ("xssh_multi_add_run: the session is closed"), and a port that
cannot be bound said "xssh_multi_add_forward_local: cannot listen ..."; the ForwardStats that
``stats()`` returns was only importable from xssh.core. Nothing depends on timing: the session
is closed before the calls, the port is held busy."""
import asyncio
import os
import socket

import pytest
import xssh
import xssh.aio
import xssh.exceptions as X


def _run(coro, limit=120):
    """Run coro on a fresh loop; a generous bound only against hangs (never reached when it works)."""
    return asyncio.run(asyncio.wait_for(coro, limit))


def _kw(env):
    return dict(port=env.port, user=env.user, key=env.key, known_hosts=env.known_hosts, agent=False)


async def _stream(s):
    async for _ in s.stream("true"):
        pass


async def _read(p):
    async for _ in p:
        pass


def _calls(s, d):
    up = os.path.join(d, "up")
    return {
        "run": lambda: s.run("true"),
        "stream": lambda: _stream(s),
        "listdir": lambda: s.listdir(d),
        "get": lambda: s.get(up, os.path.join(d, "down")),
        "put": lambda: s.put(up, os.path.join(d, "r")),
        "forward_local": lambda: s.forward_local("127.0.0.1", 22),
    }


def test_calls_on_a_session_closed_underneath_name_the_method(env, tmpdir_path):
    with open(os.path.join(tmpdir_path, "up"), "wb") as f:
        f.write(b"data")

    async def main():
        failures = []
        # with and without the SFTP subsystem started: its start-up's error names the call too
        for sftp_started in (False, True):
            async with xssh.aio.connect(env.host, **_kw(env)) as s:
                if sftp_started:
                    await s.listdir(tmpdir_path)
                s.session.disconnect()  # closed underneath: xssh.aio's own close() was not called
                for fn, call in _calls(s, tmpdir_path).items():
                    want = "xssh.aio.Session.%s(): the session is closed" % fn
                    try:
                        r = await call()
                    except X.SSH2Error as e:
                        if not (isinstance(e, X.ClosedError) and e.code == xssh.core.XSSH_ECLOSED
                                and e.message == want and str(e) == want and e.sftp_status == 0):
                            failures.append((sftp_started, fn, type(e).__name__, str(e)))
                    else:
                        failures.append((sftp_started, fn, "no error", r))
        return failures

    assert _run(main()) == []
    assert not os.path.exists(os.path.join(tmpdir_path, "down"))


def test_a_port_that_cannot_be_bound_names_forward_local(env):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            try:
                await s.forward_local("127.0.0.1", 22, "127.0.0.1", port)
            except X.ConnectError as e:
                err = e
            else:
                raise AssertionError("no error")
            assert err.code == xssh.core.XSSH_ECONNECT
            prefix = "xssh.aio.Session.forward_local(): cannot listen on 127.0.0.1:%d: " % port
            assert str(err).startswith(prefix) and err.message == str(err), str(err)
            assert (await s.run("echo ok")).stdout == b"ok\n"  # the session is still usable

    try:
        _run(main())
    finally:
        busy.close()


def test_sftp_status_error_is_kept(env, tmpdir_path):
    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            try:
                await s.listdir(os.path.join(tmpdir_path, "missing"))
            except X.SFTPError as e:
                assert e.sftp_status == 2 and "xssh_" not in str(e), str(e)
            else:
                raise AssertionError("no error")

    _run(main())


def test_sftp_status_errors_keep_class_code_and_status(env, tmpdir_path):
    """What xssh.aio's own renaming (_named) was unit-tested for, now that the C core names the
    ops (xssh_multi_op_opts.caller): an SFTP status the server answered keeps its class, code
    and sftp_status, and the message starts with the method once, with no C function's name."""
    missing = os.path.join(tmpdir_path, "missing")
    up = os.path.join(tmpdir_path, "up")
    with open(up, "wb") as f:
        f.write(b"data")

    async def main():
        got = []
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            for fn, call in (("get", lambda: s.get(missing, os.path.join(tmpdir_path, "down"))),
                             ("put", lambda: s.put(up, os.path.join(missing, "r"))),
                             ("listdir", lambda: s.listdir(missing))):
                try:
                    r = await call()
                except X.SSH2Error as e:
                    got.append((fn, e))
                else:
                    got.append((fn, r))
            assert await s.listdir(tmpdir_path)  # the subsystem is still in order
        return got

    got = _run(main())
    assert [fn for fn, _ in got] == ["get", "put", "listdir"], got
    for fn, e in got:
        name = "xssh.aio.Session.%s(): " % fn
        assert type(e) is X.SFTPNoSuchFileError and isinstance(e, X.SFTPError), (fn, repr(e))
        assert (e.code, e.sftp_status) == (xssh.core.XSSH_ESFTP_NO_SUCH_FILE, 2), (fn, e.code, e.sftp_status)
        assert e.message == str(e) and e.message.startswith(name), e.message
        assert e.message.count("xssh.aio.") == 1 and "xssh_" not in e.message, e.message
    assert not os.path.exists(os.path.join(tmpdir_path, "down"))


def test_forward_stats_is_public(env):
    from xssh import ForwardStats
    assert ForwardStats is xssh.core.ForwardStats and "ForwardStats" in dir(xssh)

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            async with await s.forward_local("127.0.0.1", env.port) as fw:
                st = fw.stats()
                assert isinstance(st, xssh.ForwardStats) and st.accepted == 0 and st == (0, 0, 0, 0, 0)

    _run(main())


# ---- every error an op ends with names the method (also those the C core words itself) ----

def _marker_wait(path):
    """Wait until the remote command created path (it has started); bounded only on failure."""
    async def wait():
        for _ in range(60000):
            if os.path.exists(path):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the command never started")
    return wait()


def test_a_session_closed_while_an_op_waits_names_the_method(env, tmpdir_path):
    async def main():
        got = {}
        for fn in ("run", "stream"):
            marker = os.path.join(tmpdir_path, fn)
            cmd = "touch %s; sleep 30" % marker
            async with xssh.aio.connect(env.host, **_kw(env)) as s:
                call = s.run(cmd) if fn == "run" else _read(s.stream(cmd))
                t = asyncio.ensure_future(call)
                await _marker_wait(marker)
                s.session.disconnect()  # closed underneath while the command's op waits
                try:
                    await t
                except X.SSH2Error as e:
                    got[fn] = e
        return got

    got = _run(main())
    for fn in ("run", "stream"):
        e = got[fn]
        name = "xssh.aio.Session.%s(): " % fn
        assert isinstance(e, X.ClosedError) and e.code == xssh.core.XSSH_ECLOSED, (fn, repr(e))
        assert str(e) == e.message and e.message.startswith(name), e.message
        assert e.message.count("xssh.aio.Session.") == 1 and "xssh_" not in e.message, e.message
        assert "closed" in e.message[len(name):], e.message  # the C core's text follows


def test_a_timeout_names_the_method(env):
    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            errs = []
            for fn in ("run", "stream"):
                try:
                    if fn == "run":
                        await s.run("sleep 30", timeout=1)
                    else:
                        await _read(s.stream("sleep 30", timeout=1))
                except X.Timeout as e:
                    errs.append((fn, e))
            assert (await s.run("echo ok")).stdout == b"ok\n"  # usable after both
            return errs

    errs = _run(main())
    assert [fn for fn, _ in errs] == ["run", "stream"]
    for fn, e in errs:
        want = "xssh.aio.Session.%s(): run 'sleep 30': timed out" % fn
        assert e.code == xssh.core.XSSH_ETIMEOUT and e.message.startswith(want) and str(e) == e.message, str(e)


def test_a_connect_failure_names_connect(env):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
    port = closed.getsockname()[1]

    async def main():
        try:
            await xssh.aio.connect("127.0.0.1", port=port, user=env.user, agent=False)
        except X.ConnectError as e:
            return e
        raise AssertionError("no error")

    try:
        e = _run(main())
    finally:
        closed.close()
    assert e.code == xssh.core.XSSH_ECONNECT and str(e) == e.message, str(e)
    assert e.message.startswith("xssh.aio.connect(): ") and e.message.count("xssh.aio.connect()") == 1, str(e)
    assert str(port) in e.message, str(e)


# ---- argument errors name the function called, with the right class ----

def test_an_unknown_keyword_names_the_function(env):
    try:
        xssh.aio.connect(env.host, bogus=1)
    except TypeError as e:
        assert str(e) == "xssh.aio.connect() got an unexpected keyword argument 'bogus'", str(e)
    else:
        raise AssertionError("no error")

    async def many():
        return await xssh.aio.run_many([env.host], "true", bogus=1)
    try:
        _run(many())
    except TypeError as e:
        assert str(e) == "xssh.aio.run_many() got an unexpected keyword argument 'bogus'", str(e)
    else:
        raise AssertionError("no error")


def test_forward_local_ports_type_and_range(env):
    async def main():
        got = []
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            for args in (("127.0.0.1", "x"), ("127.0.0.1", 22.0), ("127.0.0.1", True), ("127.0.0.1", 22, "127.0.0.1", "0"),
                         ("127.0.0.1", 0), ("127.0.0.1", 70000), ("127.0.0.1", 22, "127.0.0.1", -1)):
                try:
                    fw = await s.forward_local(*args)
                    fw.close()
                    got.append((args, "no error"))
                except (TypeError, ValueError) as e:
                    got.append((args, type(e).__name__, str(e)))
        return got

    fn = "xssh.aio.Session.forward_local(): "
    got = _run(main())
    assert [g[1] for g in got] == ["TypeError"] * 4 + ["ValueError"] * 3, got
    assert all(g[2].startswith(fn + "argument '") for g in got), got
    assert got[0][2] == fn + "argument 'remote_port' must be int, not str"
    assert got[3][2] == fn + "argument 'local_port' must be int, not str"
    assert got[5][2] == fn + "argument 'remote_port' must be a port 1..65535, not 70000"


def test_a_nul_byte_names_the_method(env):
    """A NUL byte in a command or host is refused naming the method called (not an internal one)."""
    async def main():
        with pytest.raises(ValueError, match=r"^xssh\.aio\.connect\(\): argument 'host' must be "
                                             r"a host name without a null byte"):
            await xssh.aio.connect("a\0b", **_kw(env))
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            for cmd in ("echo a\0b", b"echo a\0b"):
                with pytest.raises(ValueError, match=r"^xssh\.aio\.Session\.run\(\): argument 'command' "
                                                     r"must be a command without a null byte"):
                    await s.run(cmd)
            with pytest.raises(ValueError, match=r"^xssh\.aio\.Session\.stream\(\): argument 'command' "
                                                 r"must be a command without a null byte"):
                s.stream("echo a\0b")
            with pytest.raises(ValueError, match=r"^xssh\.aio\.Session\.forward_local\(\): argument 'remote_host'"):
                await s.forward_local("127.0.0.1\0x", 22)
            assert (await s.run("echo ok")).stdout == b"ok\n"
        with pytest.raises(ValueError, match=r"^xssh\.aio\.connect\(\): argument 'user' must be "
                                             r"a string without a null byte"):
            await xssh.aio.connect(env.host, **dict(_kw(env), user="ro\0ot"))
    _run(main())


def test_connect_is_a_coroutine_for_create_task(env):
    """connect()'s result goes to asyncio.create_task()/asyncio.run() like any coroutine."""
    async def main():
        t = asyncio.create_task(xssh.aio.connect(env.host, **_kw(env)))
        s = await t
        try:
            return (await s.run("echo task")).stdout
        finally:
            await s.close()
    assert _run(main()) == b"task\n"

    async def both():
        s = await asyncio.wait_for(xssh.aio.connect(env.host, **_kw(env)), 60)
        await s.close()
        return True
    assert _run(both())
