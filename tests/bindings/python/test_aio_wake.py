"""xssh.aio: an op whose input another piece of code of the loop's thread read into libssh2's
queue is woken (docs/multi.md, "Wake-ups across the multis of a thread").

No timing: the stream's command prints "b" only after the blocking command started (marker m1)
and the blocking command ends only after "b" was printed (m2), so the blocking call's reads
drain "b" before it returns; the stream's command then waits for m3 (the socket stays quiet).
The wait_for bound only ends a failure (below the session's 30 s dead-peer probe, whose reply
would wake the op anyway)."""
import asyncio
import os

import xssh.aio

_WAIT = "i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -e %s ] || exit 99; "


def _wait(path):
    return _WAIT % (path, path)


def test_blocking_call_that_reads_a_waiting_streams_input_wakes_it(env, tmpdir_path):
    m1, m2, m3 = (os.path.join(tmpdir_path, n) for n in ("m1", "m2", "m3"))

    async def main():
        async with xssh.aio.connect(env.host, port=env.port, user=env.user, key=env.key,
                                    known_hosts=env.known_hosts) as s:
            p = s.stream("echo start; " + _wait(m1) + "echo b; touch %s; " % m2 + _wait(m3) + "echo end")
            it = p.__aiter__()
            assert await it.__anext__() == ("stdout", b"start\n")
            # a plain blocking call on the loop's thread and the same session, between two waits
            # of the stream's op: its reads queue the stream's "b" in libssh2
            r = s.session.run("touch %s; " % m1 + _wait(m2) + "echo a")
            assert (r.stdout, r.exit_status) == (b"a\n", 0)
            try:
                got = await asyncio.wait_for(it.__anext__(), 15)
            except asyncio.TimeoutError:
                raise AssertionError("the stream missed the output the blocking call had read for it")
            assert got == ("stdout", b"b\n")
            open(m3, "w").close()
            rest = [x async for x in it]
            assert rest == [("stdout", b"end\n")]
            assert p.exit_status == 0

    asyncio.run(asyncio.wait_for(main(), 120))
