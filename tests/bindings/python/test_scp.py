"""SCP through the Python binding, against the real sshd (same machine: remote
paths are checked with local reads): ssh2-python's scp_recv2/scp_recv/scp_send64/
scp_send shapes, and whole-file scp_get/scp_put with progress, cancel, atomic."""
import gc
import hashlib
import os
import shutil
import stat
import threading
import time

import pytest

import xssh
from xssh import exceptions as E
from xssh.channel import Channel
from xssh.fileinfo import FileInfo
from xssh.statinfo import StatInfo


@pytest.fixture
def rdir(env):
    d = os.path.join(env.dir, "py-scp-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def read_exact(ch, n):
    got = b""
    while len(got) < n:
        rc, data = ch.read(min(65536, n - len(got)))
        assert rc > 0, rc
        got += data
    return got


@pytest.mark.parametrize("legacy", [False, True])
def test_scp_recv_shapes(session, rdir, legacy):
    p = os.path.join(rdir, "f")
    data = os.urandom(70000)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o640)
    os.utime(p, (1500000000, 1600000000))
    ch, info = session.scp_recv(p) if legacy else session.scp_recv2(p)
    assert isinstance(ch, Channel)
    assert isinstance(info, StatInfo if legacy else FileInfo)
    assert info.st_size == len(data)
    assert stat.S_IMODE(info.st_mode) == 0o640 and stat.S_ISREG(info.st_mode)
    assert info.st_mtime == 1600000000 and info.st_atime == 1500000000
    for a in "st_ctime st_uid st_gid st_ino st_nlink st_rdev st_blksize st_blocks".split():
        assert getattr(info, a) == 0
    assert read_exact(ch, info.st_size) == data
    ch.close()


@pytest.mark.parametrize("with_times", [False, True])
def test_scp_send_shapes(session, rdir, with_times):
    p = os.path.join(rdir, "s")
    data = os.urandom(50000)
    if with_times:
        ch = session.scp_send64(p, 0o640, len(data), 1400000000, 1410000000)
    else:
        ch = session.scp_send(p, 0o604, len(data))
    assert isinstance(ch, Channel)
    rc, written = ch.write(data)
    assert written == len(data)
    ch.write(b"\0")
    ch.send_eof()
    ch.wait_eof()
    ch.wait_closed()
    with open(p, "rb") as f:
        assert f.read() == data
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == (0o640 if with_times else 0o604)
    if with_times:
        assert int(st.st_mtime) == 1400000000


def test_scp_recv_missing_names_the_path(session, rdir):
    p = os.path.join(rdir, "missing")
    with pytest.raises(E.SCPProtocolError) as ei:
        session.scp_recv2(p)
    assert p in str(ei.value)
    with pytest.raises(E.SCPProtocolError) as ei:
        session.scp_get(p, os.path.join(rdir, "local"))
    assert p in str(ei.value)
    assert not os.path.exists(os.path.join(rdir, "local"))
    with pytest.raises(E.FileError) as ei:
        session.scp_put(os.path.join(rdir, "no-local"), p)
    assert "no-local" in str(ei.value)
    with pytest.raises(TypeError):
        session.scp_recv2(None)
    # the session is still usable
    open(p, "wb").close()
    ch, info = session.scp_recv2(p)
    assert info.st_size == 0


@pytest.mark.parametrize("size", [0, 1, 30000, 8 * 1024 * 1024])
def test_scp_get_put_byte_exact(session, rdir, tmpdir_path, size):
    data = os.urandom(size)
    src = os.path.join(tmpdir_path, "src")
    with open(src, "wb") as f:
        f.write(data)
    os.chmod(src, 0o751)
    os.utime(src, (1300000000, 1350000000))
    remote = os.path.join(rdir, "r")
    assert session.scp_put(src, remote) == size
    with open(remote, "rb") as f:
        assert sha(f.read()) == sha(data)
    st = os.stat(remote)
    assert stat.S_IMODE(st.st_mode) == 0o751 and int(st.st_mtime) == 1350000000
    back = os.path.join(tmpdir_path, "back")
    assert session.scp_get(remote, back) == size
    with open(back, "rb") as f:
        assert sha(f.read()) == sha(data)
    st = os.stat(back)
    assert stat.S_IMODE(st.st_mode) == 0o751 and int(st.st_mtime) == 1350000000


def test_scp_progress_cancel_atomic(session, rdir, tmpdir_path):
    size = 4 * 1024 * 1024 + 3
    src = os.path.join(tmpdir_path, "src")
    with open(src, "wb") as f:
        f.write(os.urandom(size))
    remote = os.path.join(rdir, "r")
    calls = []
    assert session.scp_put(src, remote, progress=lambda d, t: calls.append((d, t))) == size
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    calls.clear()
    assert session.scp_get(remote, os.path.join(tmpdir_path, "b"), progress=lambda d, t: calls.append((d, t))) == size
    assert calls[-1] == (size, size)
    with pytest.raises(E.CancelledError):
        session.scp_get(remote, os.path.join(tmpdir_path, "c"), progress=lambda d, t: d > 0, atomic=True)
    assert not os.path.exists(os.path.join(tmpdir_path, "c"))

    class Stop(Exception):
        pass

    def boom(d, t):
        if d > 0:
            raise Stop()

    dest = os.path.join(rdir, "dest")
    with open(dest, "wb") as f:
        f.write(b"old")
    with pytest.raises(Stop):
        session.scp_put(src, dest, progress=boom, atomic=True)
    with open(dest, "rb") as f:
        assert f.read() == b"old"
    assert [n for n in os.listdir(rdir) if n.startswith("dest.")] == []
    # an atomic put that succeeds replaces the file
    assert session.scp_put(src, dest, atomic=True) == size
    assert os.path.getsize(dest) == size
    assert [n for n in os.listdir(rdir) if n.startswith("dest.")] == []
    # still usable
    assert session.scp_get(remote, os.path.join(tmpdir_path, "d")) == size


def test_scp_gc_session_first(env, rdir):
    p = os.path.join(rdir, "g")
    with open(p, "wb") as f:
        f.write(b"xyz")
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    ch, info = s.scp_recv2(p)
    del s
    gc.collect()
    assert read_exact(ch, info.st_size) == b"xyz"
    del ch, info
    gc.collect()


def test_scp_gil_released(session, rdir, tmpdir_path):
    size = 32 * 1024 * 1024
    src = os.path.join(tmpdir_path, "big")
    with open(src, "wb") as f:
        f.write(os.urandom(size))
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("n", session.scp_put(src, os.path.join(rdir, "big"))))
    ticks = 0
    t.start()
    while t.is_alive():
        ticks += 1
        time.sleep(0)
    t.join()
    assert result["n"] == size
    assert ticks > 100
