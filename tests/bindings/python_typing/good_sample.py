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


if __name__ == "__main__":
    h, p, u, k, kh, d = sys.argv[1:7]
    main(h, int(p), u, k, kh, d)
