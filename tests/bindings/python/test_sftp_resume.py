"""Resumed SFTP transfers (get/put/get_tree/put_tree with resume=True) through the Python
binding, against the real sshd: a transfer is cut midway - deterministically, by its
progress callback cancelling once enough bytes went - then resumed, and the result is
byte-exact while the resumed attempt moved only the rest (it starts where the first
stopped)."""
import os
import shutil
import time

import pytest

from xssh import exceptions as E

SIZE = 4 * 1024 * 1024 + 12345
CUT = 1024 * 1024

@pytest.fixture
def sftp(session):
    yield session.sftp_init()


@pytest.fixture
def base(env):
    d = os.path.join(env.dir, "py-resume-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def body(n, seed=7):
    return bytes((i * 131 + seed + (i >> 12)) & 0xFF for i in range(n))


def cutter(limit):
    """a progress callback that cancels once `limit` bytes are done; keeps every call"""
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done >= limit

    return progress, calls


def recorder():
    calls = []

    def progress(done, total):
        calls.append((done, total))

    return progress, calls


def cut_then_resume(first, second, src_data, dst_path, atomic):
    """first(progress) is cut; second(progress) resumes. Returns the byte counts."""
    prog, calls = cutter(CUT)
    with pytest.raises(E.CancelledError):
        first(prog)
    assert calls and calls[-1][0] >= CUT
    if atomic:
        assert not os.path.exists(dst_path)  # nothing under the final name until complete
    prog2, calls2 = recorder()
    moved = second(prog2)
    with open(dst_path, "rb") as f:
        assert f.read() == src_data
    # the resumed attempt started where the first stopped, and moved only the rest
    assert calls2[0][0] > 0, calls2[:3]
    assert 0 < moved < len(src_data) and moved == len(src_data) - calls2[0][0]
    assert calls2[-1][0] == len(src_data)
    return moved


@pytest.mark.parametrize("atomic", [False, True])
def test_get_cut_then_resumed(sftp, base, atomic):
    data = body(SIZE)
    remote, local = os.path.join(base, "remote.bin"), os.path.join(base, "local.bin")
    with open(remote, "wb") as f:
        f.write(data)
    cut_then_resume(lambda p: sftp.get(remote, local, progress=p, atomic=atomic, resume=True),
                    lambda p: sftp.get(remote, local, progress=p, atomic=atomic, resume=True),
                    data, local, atomic)
    assert not os.path.exists(local + ".xssh-part")


@pytest.mark.parametrize("atomic", [False, True])
def test_put_cut_then_resumed(sftp, base, atomic):
    data = body(SIZE, 3)
    local, remote = os.path.join(base, "local.bin"), os.path.join(base, "remote.bin")
    with open(local, "wb") as f:
        f.write(data)
    cut_then_resume(lambda p: sftp.put(local, remote, progress=p, atomic=atomic, resume=True),
                    lambda p: sftp.put(local, remote, progress=p, atomic=atomic, resume=True),
                    data, remote, atomic)
    assert not os.path.exists(remote + ".xssh-part")


def test_resume_of_a_complete_file_moves_nothing(sftp, base):
    data = body(100000)
    remote, local = os.path.join(base, "r"), os.path.join(base, "l")
    with open(remote, "wb") as f:
        f.write(data)
    assert sftp.get(remote, local) == len(data)
    assert sftp.get(remote, local, resume=True) == 0
    with open(local, "rb") as f:
        assert f.read() == data


@pytest.mark.parametrize("direction", ["put", "get"])
def test_tree_cut_then_resumed(sftp, base, direction):
    src, dst = os.path.join(base, "src"), os.path.join(base, "dst")
    os.makedirs(os.path.join(src, "sub"))
    files = {"small": body(1000), "sub/big": body(SIZE, 5), "sub/zz": body(70000, 9)}
    for rel, d in files.items():
        with open(os.path.join(src, rel), "wb") as f:
            f.write(d)
    fn = sftp.put_tree if direction == "put" else sftp.get_tree

    def cut(p):
        return p.bytes_done >= CUT

    with pytest.raises(E.CancelledError):
        fn(src, dst, progress=cut, files_in_flight=1, resume=True)
    with open(os.path.join(dst, "sub", "big"), "rb") as f:
        partial = len(f.read())
    # the cut came while the big file moved (files in flight learn of it at their next
    # report, so how much of it is there depends on the machine): some of it is there
    assert partial > 0
    st = fn(src, dst, files_in_flight=1, resume=True)
    for rel, d in files.items():
        with open(os.path.join(dst, rel), "rb") as f:
            assert f.read() == d, rel
    # the big file's first part was not sent again
    assert st.bytes <= sum(map(len, files.values())) - partial
