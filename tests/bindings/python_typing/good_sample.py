"""Correct xssh code: mypy must report nothing (tests/bindings/python_typing/check_types.py),
and it runs against the test sshd (the same script, with --run)."""
import os
import sys

import xssh
from xssh.exceptions import AuthenticationError, SSH2Error
from xssh.session import LIBSSH2_HOSTKEY_HASH_SHA256, Session


def main(host: str, port: int, user: str, key: str, known_hosts: str, workdir: str) -> None:
    s = Session()
    s.connect(host, port, 10000)
    s.verify_host(host, port, xssh.HOSTKEY_STRICT, known_hosts)
    fp: str = s.hostkey_fingerprint()
    digest: bytes = s.hostkey_hash(LIBSSH2_HOSTKEY_HASH_SHA256)
    blob, keytype = s.hostkey()
    assert fp and len(digest) == 32 and len(blob) > 0 and keytype > 0
    s.set_timeout(10000)
    try:
        s.userauth_publickey_fromfile(user, key)
    except AuthenticationError as e:
        sys.exit("auth failed: %s (%s, code %d)" % (e.message, e.name, e.code))
    assert s.userauth_authenticated() is True

    # run: both streams as bytes, the exit status
    r = s.run("printf out; printf err >&2; exit 3", timeout=30.0)
    out: bytes = r.stdout
    status = r.exit_status if r.exit_status is not None else -1
    assert (out, r.stderr, status, r.ok) == (b"out", b"err", 3, False), r

    # a channel: write to cat, read it back
    chan = s.open_session()
    chan.execute("cat")
    count, written = chan.write(b"hello channel\n")
    assert count == written == 14
    chan.send_eof()
    got = b""
    while True:
        n, data = chan.read(4096)
        if n <= 0:
            break
        got += data
    chan.wait_eof()
    chan.close()
    chan.wait_closed()
    assert got == b"hello channel\n" and chan.get_exit_status() == 0, got

    # SFTP: put and get whole files, with a progress callable
    local = os.path.join(workdir, "up.bin")
    with open(local, "wb") as f:
        f.write(os.urandom(100000))
    calls: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None) -> bool:
        calls.append((done, total))
        return False

    sftp = s.sftp_init()
    remote = os.path.join(workdir, "remote.bin")
    sent: int = sftp.put(local, remote, progress=progress, atomic=True)
    back = os.path.join(workdir, "back.bin")
    received: int = sftp.get(remote, back)
    attrs = sftp.stat(remote)
    whole: bytes = sftp.get_bytes(remote)
    assert sent == received == attrs.filesize == len(whole) == 100000 and calls[-1][0] == 100000
    with sftp.open(remote, 0x1, 0) as fh:
        n, first = fh.read(10)
        assert n == 10 and first == whole[:10]
    names: list[str] = sftp.listdir(workdir)
    assert "remote.bin" in names
    sftp.unlink(remote)

    try:
        sftp.stat(os.path.join(workdir, "missing"))
        raise AssertionError("stat of a missing file succeeded")
    except SSH2Error as e:
        assert e.code < 0 and e.name.startswith("XSSH_E"), (e.code, e.name)
    s.disconnect()


async def aio_main(host: str, port: int, user: str, key: str, known_hosts: str, workdir: str) -> None:
    """xssh.aio: the async forms (docs/async.md)."""
    import asyncio

    import xssh.aio
    async with xssh.aio.connect(host, port, user, key=key, known_hosts=known_hosts, agent=False) as s:
        r = await s.run("printf out; exit 3", timeout=30.0)
        out: bytes = r.stdout
        assert (out, r.exit_status) == (b"out", 3)
        chunks: list[bytes] = []
        p = s.stream("echo a; echo b >&2")
        async for stream, data in p:
            assert stream in ("stdout", "stderr")
            chunks.append(data)
        status: int | None = p.exit_status
        assert status == 0 and b"".join(sorted(chunks)) == b"a\nb\n"
        path = os.path.join(workdir, "aio.bin")
        with open(path, "wb") as f:
            f.write(b"x" * 1000)
        sent: int = await s.put(path, path + ".copy")
        names: list[str] = await s.listdir(workdir)
        assert sent == 1000 and "aio.bin.copy" in names
        async with await s.forward_local(host, port) as fw:
            reader, writer = await asyncio.open_connection("127.0.0.1", fw.port)
            assert (await reader.readline()).startswith(b"SSH-2.0-")
            writer.close()
            stats: xssh.ForwardStats = fw.stats()  # public like RunResult, not only in xssh.core
            accepted: int = stats.accepted
            assert accepted == fw.connections == 1 and fw.error is None and not fw.closed
    results = await xssh.aio.run_many(["%s@%s:%d" % (user, host, port)], "true", key=key,
                                      known_hosts=known_hosts, agent=False)
    assert isinstance(results[0], xssh.RunResult) and results[0].exit_status == 0


if __name__ == "__main__":
    import asyncio as _asyncio
    h, p, u, k, kh, d = sys.argv[1:7]
    main(h, int(p), u, k, kh, d)
    _asyncio.run(aio_main(h, int(p), u, k, kh, d))
