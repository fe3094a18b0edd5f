"""Sizes at the API edge and SFTP append through the Python binding: read sizes
are clamped to XSSH_IO_MAX before anything is allocated (read(2**33) must not
try to allocate 8 GiB), negative sizes fail clearly, window adjustments stay
within the SSH uint32, and APPEND handles (flags or open_file "a" modes) write
at the end of the file, on the harness OpenSSH sshd and on
tests/harness/offset_sftp_server.py, which honours the WRITE offset."""
import os
import resource
import shutil
import subprocess
import sys
import time

import pytest

import xssh
from xssh import core as _core
from xssh import exceptions as E
from xssh.sftp import LIBSSH2_FXF_APPEND, LIBSSH2_FXF_CREAT, LIBSSH2_FXF_READ, LIBSSH2_FXF_WRITE

IO_MAX = _core.XSSH_IO_MAX
HERE = os.path.dirname(os.path.abspath(__file__))
OFFSET_SERVER = os.path.join(HERE, "..", "..", "harness", "offset_sftp_server.py")
THREE_MIB = 3 << 20


class address_space_limit:
    """RLIMIT_AS = what the process maps now + 1 GiB: an attempt to allocate
    gigabytes fails (ENOMEM) instead of passing unnoticed on a big machine."""

    def __enter__(self):
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
        self.old = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 30), self.old[1]))
        return self

    def __exit__(self, *exc):
        resource.setrlimit(resource.RLIMIT_AS, self.old)


def _drain(read, size):
    total, chunks = 0, 0
    for _ in range(100000):
        n, data = read(size)
        assert n >= 0, n
        if n == 0:
            break
        assert n == len(data) <= IO_MAX
        assert data == b"A" * n
        total += n
        chunks += 1
    return total


def _alive(session):
    assert session.run("echo alive").stdout == b"alive\n"


@pytest.mark.parametrize("size", [2 ** 32, 2 ** 32 + 4096, 2 ** 33, 2 ** 70])
def test_channel_read_huge_size_allocates_no_more_than_io_max(session, size):
    for stream, how in ((0, "read"), (1, "read_stderr"), (1, "read_ex")):
        ch = session.open_session()
        ch.execute("head -c %d /dev/zero | tr '\\0' A%s" % (THREE_MIB, " >&2" if stream else ""))
        if how == "read_ex":
            read = lambda n: ch.read_ex(n, 1)  # noqa: E731
        else:
            read = getattr(ch, how)
        with address_space_limit():
            assert _drain(read, size) == THREE_MIB
        ch.wait_eof()
        ch.close()
        assert ch.get_exit_status() == 0
    _alive(session)


def test_channel_read_negative_or_bad_size(session):
    ch = session.open_session()
    ch.execute("echo hi")
    for bad in (-1, -(2 ** 70)):
        with pytest.raises(ValueError, match="size must be >= 0"):
            ch.read(bad)
        with pytest.raises(ValueError, match="size must be >= 0"):
            ch.read_stderr(bad)
    with pytest.raises(TypeError):
        ch.read("12")
    assert ch.read(0.9) == (0, b"")  # a float is truncated, as ssh2-python does
    assert ch.read(0) == (0, b"")
    assert ch.read(100) == (3, b"hi\n")
    ch.close()


def test_window_adjust_limits(session):
    ch = session.open_session()
    with pytest.raises(E.InvalidArgumentError, match="4294967295"):
        ch.receive_window_adjust(2 ** 32, 1)
    before = ch.window_read()
    w = ch.receive_window_adjust(2 ** 32 - 1, 1)
    assert before < w <= 2 ** 32 - 1
    assert ch.window_read() == w
    assert ch.receive_window_adjust(2 ** 32 - 1, 1) == w  # no room left: nothing added
    ch.execute("head -c %d /dev/zero | tr '\\0' A" % THREE_MIB)
    assert _drain(ch.read, 2 ** 33) == THREE_MIB
    ch.close()
    _alive(session)


@pytest.fixture
def rdir(env):
    d = os.path.join(env.dir, "py-sizes-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_sftp_read_huge_size(session, rdir):
    sftp = session.sftp_init()
    p = os.path.join(rdir, "big")
    with open(p, "wb") as f:
        f.write(b"A" * THREE_MIB)
    with sftp.open(p, LIBSSH2_FXF_READ, 0) as fh:
        with pytest.raises(ValueError, match="size must be >= 0"):
            fh.read(-5)
        with address_space_limit():
            assert _drain(fh.read, 2 ** 33) == THREE_MIB
    with sftp.open_file(p, "rb", buffering=0) as f, address_space_limit():
        got = f.read(2 ** 33)
        assert 0 < len(got) <= IO_MAX and got == b"A" * len(got)


def _append_checks(sftp, remote, local):
    with open(local, "wb") as f:
        f.write(b"hello ")
    for i in (1, 2):
        with sftp.open(remote, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_APPEND, 0) as fh:
            assert fh.tell64() == 6 + 5 * (i - 1)
            assert fh.write(b"world") == (5, 5)
            assert fh.tell64() == 6 + 5 * i
    with open(local, "rb") as f:
        assert f.read() == b"hello worldworld"
    # open_file's append modes: binary, text, and a+ (reads start at the end too)
    with sftp.open_file(remote, "ab") as f:
        assert f.tell() == 16
        f.write(b"!")
    with sftp.open_file(remote, "a") as f:
        f.write("?\n")
    with sftp.open_file(remote, "a+b") as f:
        assert f.read() == b""
        f.write(b"end")
        f.seek(0)
        assert f.read() == b"hello worldworld!?\nend"
    with open(local, "rb") as f:
        assert f.read() == b"hello worldworld!?\nend"
    # a new file through "a" / APPEND|CREAT starts at 0
    os.unlink(local)
    with sftp.open(remote, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_APPEND | LIBSSH2_FXF_CREAT, 0o600) as fh:
        assert fh.tell64() == 0
        fh.write(b"new")
    with open(local, "rb") as f:
        assert f.read() == b"new"


def test_sftp_append_openssh(session, rdir):
    p = os.path.join(rdir, "append")
    _append_checks(session.sftp_init(), p, p)


@pytest.fixture
def offset_server(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    srv = subprocess.Popen(["/usr/bin/python3", OFFSET_SERVER, "--root", str(root), "--lifetime", "120"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = srv.stdout.readline()
    assert line.strip().isdigit(), "offset_sftp_server.py did not start (needs python3-asyncssh): %r" % line
    yield int(line), str(root)
    srv.stdin.close()  # it exits when its stdin closes
    srv.wait(30)


def test_sftp_append_offset_honouring_server(offset_server):
    port, root = offset_server
    with xssh.connect("127.0.0.1", port, "any", password="any", host_key_policy="off", timeout=20) as s:
        sftp = s.sftp_init()
        # the server really writes at the offset it is sent
        with open(os.path.join(root, "plain"), "wb") as f:
            f.write(b"hello ")
        with sftp.open("/plain", LIBSSH2_FXF_WRITE, 0) as fh:
            fh.write(b"HE")
        with open(os.path.join(root, "plain"), "rb") as f:
            assert f.read() == b"HEllo "
        _append_checks(sftp, "/append", os.path.join(root, "append"))
