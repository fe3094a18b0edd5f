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

import xssh
import xssh.aio
import xssh.exceptions as X
from xssh import aio as _aio


def _run(coro, limit=120):
    """Run coro on a fresh loop; a generous bound only against hangs (never reached when it works)."""
    return asyncio.run(asyncio.wait_for(coro, limit))


def _kw(env):
    return dict(port=env.port, user=env.user, key=env.key, known_hosts=env.known_hosts, agent=False)


async def _stream(s):
    async for _ in s.stream("true"):
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


def test_named_keeps_class_code_and_status():
    e = xssh.core._error_object(xssh.core.XSSH_ESFTP_PERMISSION_DENIED,
                                "xssh_multi_add_sftp_get: the server said no", 3)
    n = _aio._named("xssh.aio.Session.get()", e)
    assert n is e and type(n) is type(e) and isinstance(n, X.SFTPError)
    assert (n.code, n.sftp_status) == (xssh.core.XSSH_ESFTP_PERMISSION_DENIED, 3)
    assert n.message == str(n) == "xssh.aio.Session.get(): the server said no"
    other = xssh.core._error_object(xssh.core.XSSH_ETIMEOUT, "the command timed out")
    assert str(_aio._named("xssh.aio.Session.run()", other)) == "the command timed out"


def test_forward_stats_is_public(env):
    from xssh import ForwardStats
    assert ForwardStats is xssh.core.ForwardStats and "ForwardStats" in dir(xssh)

    async def main():
        async with xssh.aio.connect(env.host, **_kw(env)) as s:
            async with await s.forward_local("127.0.0.1", env.port) as fw:
                st = fw.stats()
                assert isinstance(st, xssh.ForwardStats) and st.accepted == 0 and st == (0, 0, 0, 0, 0)

    _run(main())
