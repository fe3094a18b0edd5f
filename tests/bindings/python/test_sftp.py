"""SFTP through the Python binding, against the real sshd (same machine: remote
paths are checked with local reads). ssh2-python shapes, whole-file transfers,
file objects, progress/cancel, errors, GC orders and the GIL."""
import gc
import hashlib
import io
import os
import shutil
import stat
import threading
import time

import pytest

import xssh
from xssh import exceptions as E
from xssh.error_codes import LIBSSH2_ERROR_EAGAIN
from xssh.sftp import (LIBSSH2_FXF_CREAT, LIBSSH2_FXF_EXCL, LIBSSH2_FXF_READ, LIBSSH2_FXF_TRUNC, LIBSSH2_FXF_WRITE,
                       LIBSSH2_SFTP_ATTR_ACMODTIME, LIBSSH2_SFTP_ATTR_PERMISSIONS, LIBSSH2_SFTP_OPENFILE,
                       LIBSSH2_SFTP_S_IFDIR, LIBSSH2_SFTP_S_IFLNK, LIBSSH2_SFTP_S_IFMT, LIBSSH2_SFTP_S_IFREG, SFTP,
                       SFTPFile)
from xssh.sftp_handle import SFTPAttributes, SFTPHandle, SFTPStatVFS


@pytest.fixture
def sftp(session):
    sf = session.sftp_init()
    yield sf


@pytest.fixture
def rdir(env):
    """A fresh directory inside the harness directory (the sshd runs as this user)."""
    d = os.path.join(env.dir, "py-sftp-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def test_sftp_init_shape(session, sftp):
    assert isinstance(sftp, SFTP)
    assert sftp.session is session
    assert sftp.get_channel() is None
    assert sftp.last_error() == 0


def test_open_write_read_roundtrip(sftp, rdir):
    p = os.path.join(rdir, "f.bin")
    data = os.urandom(100000)
    with sftp.open(p, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0o640) as fh:
        assert isinstance(fh, SFTPHandle)
        rc, written = fh.write(data)
        assert written == len(data) and rc == len(data)
        assert fh.tell64() == len(data) and fh.tell() == len(data)
    with open(p, "rb") as f:
        assert f.read() == data
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    with sftp.open(p, LIBSSH2_FXF_READ, 0) as fh:
        got = b""
        while True:
            n, chunk = fh.read(30000)
            assert n == len(chunk)
            if n == 0:
                break
            got += chunk
        assert got == data
        fh.seek64(50000)
        assert fh.tell64() == 50000
        n, chunk = fh.read(10)
        assert chunk == data[50000:50010]
        fh.rewind()
        assert fh.read(5)[1] == data[:5]
        fh.seek(7)
        assert fh.read(3)[1] == data[7:10]
        a = fh.fstat()
        assert isinstance(a, SFTPAttributes)
        assert a.filesize == len(data)
        assert stat.S_ISREG(a.permissions)
        v = fh.fstatvfs()
        assert isinstance(v, SFTPStatVFS) and v.f_bsize > 0
        assert fh.fsync() == 0 or True  # fsync needs a writable handle on some servers
    # iteration: (count, bytes) chunks
    with sftp.open(p, LIBSSH2_FXF_READ, 0) as fh:
        assert b"".join(c for _, c in fh) == data


def test_open_ex_and_opendir_shapes(sftp, rdir):
    p = os.path.join(rdir, "ex.txt")
    with open(p, "wb") as f:
        f.write(b"hello")
    fh = sftp.open_ex(p, len(p), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE)
    assert fh.read()[1] == b"hello"
    assert fh.close() == 0
    assert fh.close() == 0  # twice is fine
    with pytest.raises(E.SSH2Error):
        fh.read()


def test_readdir_generator(sftp, rdir):
    names = {"a.txt", "b.bin", "c"}
    for n in names:
        with open(os.path.join(rdir, n), "wb") as f:
            f.write(b"x" * len(n))
    os.mkdir(os.path.join(rdir, "sub"))
    with sftp.opendir(rdir) as d:
        gen = d.readdir()
        assert hasattr(gen, "__next__")
        entries = list(gen)
    got = {}
    for length, name, attrs in entries:
        assert length == len(name) and isinstance(name, bytes)
        assert isinstance(attrs, SFTPAttributes)
        got[name.decode()] = attrs
    assert set(got) >= names | {"sub", ".", ".."}
    assert got["b.bin"].filesize == 5
    assert stat.S_ISDIR(got["sub"].permissions)
    with sftp.opendir(rdir) as d:
        ex = list(d.readdir_ex())
    assert len(ex) == len(entries)
    for length, name, longentry, attrs in ex:
        assert length == len(name)
        assert name in longentry
    assert sorted(sftp.listdir(rdir)) == sorted(names | {"sub"})


def test_many_entries_listed_completely(sftp, rdir):
    for i in range(1500):
        open(os.path.join(rdir, "e%05d" % i), "w").close()
    with sftp.opendir(rdir) as d:
        names = [n for _, n, _ in d.readdir() if n not in (b".", b"..")]
    assert len(names) == 1500 and len(set(names)) == 1500


def test_path_operations(sftp, rdir):
    d = os.path.join(rdir, "dir")
    assert sftp.mkdir(d, 0o750) == 0
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o750
    a = sftp.stat(d)
    assert a.permissions & LIBSSH2_SFTP_S_IFMT == LIBSSH2_SFTP_S_IFDIR
    f = os.path.join(d, "f")
    with open(f, "wb") as fo:
        fo.write(b"12345")
    # setstat: mode and times
    attrs = SFTPAttributes()
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME
    attrs.permissions = 0o604
    attrs.atime = 1500000000
    attrs.mtime = 1600000000
    assert sftp.setstat(f, attrs) == 0
    st = os.stat(f)
    assert stat.S_IMODE(st.st_mode) == 0o604 and int(st.st_mtime) == 1600000000
    a = sftp.stat(f)
    assert (a.filesize, a.mtime, a.atime, a.uid, a.gid) == (5, 1600000000, 1500000000, st.st_uid, st.st_gid)
    # fsetstat through a handle
    with sftp.open(f, LIBSSH2_FXF_READ | LIBSSH2_FXF_WRITE, 0) as fh:
        attrs.permissions = 0o600
        attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS
        assert fh.fsetstat(attrs) == 0
        b = SFTPAttributes()
        assert fh.fstat_ex(b, 0) == 0
        assert stat.S_IMODE(b.permissions) == 0o600
    # symlink(path, target): a link named target pointing to path (ssh2-python on OpenSSH)
    link = os.path.join(d, "link")
    assert sftp.symlink(f, link) == 0
    assert os.readlink(link) == f
    assert sftp.readlink(link) == f
    assert sftp.lstat(link).permissions & LIBSSH2_SFTP_S_IFMT == LIBSSH2_SFTP_S_IFLNK
    assert sftp.stat(link).permissions & LIBSSH2_SFTP_S_IFMT == LIBSSH2_SFTP_S_IFREG
    assert sftp.realpath(os.path.join(d, ".", "..", "dir", "f")) == f
    assert isinstance(sftp.realpath("."), str)
    # rename / rename_ex (both forms)
    g = os.path.join(d, "g")
    assert sftp.rename(f, g) == 0
    assert os.path.exists(g) and not os.path.exists(f)
    assert sftp.rename_ex(g, len(g), f, len(f), 0) == 0
    assert os.path.exists(f)
    assert sftp.rename_ex(source_filename=f, source_filename_len=len(f), dest_filename=g, dest_filename_len=len(g),
                          flags=0) == 0
    v = sftp.statvfs(d)
    assert isinstance(v, SFTPStatVFS)
    assert v.f_namemax > 0 and v.f_blocks > 0
    assert sftp.unlink(link) == 0
    assert sftp.unlink(g) == 0
    assert sftp.rmdir(d) == 0
    assert not os.path.exists(d)


def test_errors_classes_and_paths(sftp, rdir):
    missing = os.path.join(rdir, "nope")
    with pytest.raises(E.SFTPNoSuchFileError) as ei:
        sftp.stat(missing)
    assert isinstance(ei.value, E.SFTPProtocolError) and isinstance(ei.value, E.SFTPError)
    assert missing in str(ei.value)
    assert ei.value.sftp_status == 2
    assert sftp.last_error() == 2
    with pytest.raises(E.SFTPNoSuchFileError) as ei:
        sftp.open(missing, LIBSSH2_FXF_READ, 0)
    assert missing in str(ei.value)
    with pytest.raises(E.SFTPError):
        sftp.opendir(missing)
    # non-empty directory
    d = os.path.join(rdir, "full")
    os.mkdir(d)
    open(os.path.join(d, "x"), "w").close()
    with pytest.raises(E.SFTPProtocolError) as ei:
        sftp.rmdir(d)
    assert d in str(ei.value)
    # EXCL on an existing file
    f = os.path.join(d, "x")
    with pytest.raises(E.SFTPProtocolError) as ei:
        sftp.open(f, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0o644)
    assert f in str(ei.value)
    # permission denied (not when running as root)
    if os.geteuid() != 0:
        ro = os.path.join(rdir, "ro")
        os.mkdir(ro, 0o500)
        try:
            with pytest.raises(E.SFTPPermissionDeniedError):
                sftp.open(os.path.join(ro, "f"), LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT, 0o644)
        finally:
            os.chmod(ro, 0o700)
    # wrong types
    with pytest.raises(TypeError):
        sftp.stat(123)
    with pytest.raises(TypeError):
        sftp.setstat(f, "not attrs")


def test_closed_sftp_and_handles(session, rdir):
    sf = session.sftp_init()
    p = os.path.join(rdir, "c")
    open(p, "wb").close()
    fh = sf.open(p, LIBSSH2_FXF_READ, 0)
    assert sf.close() == 0
    with pytest.raises(E.SSH2Error):
        fh.read()
    with pytest.raises(E.SSH2Error):
        sf.stat(p)
    assert sf.close() == 0


@pytest.mark.parametrize("size", [0, 1, 29999, 30000, 30001, 8 * 1024 * 1024])
def test_get_put_byte_exact(sftp, rdir, tmpdir_path, size):
    data = os.urandom(size)
    src = os.path.join(tmpdir_path, "src")
    with open(src, "wb") as f:
        f.write(data)
    remote = os.path.join(rdir, "r")
    assert sftp.put(src, remote) == size
    with open(remote, "rb") as f:
        assert sha(f.read()) == sha(data)
    back = os.path.join(tmpdir_path, "back")
    assert sftp.get(remote, back) == size
    with open(back, "rb") as f:
        assert sha(f.read()) == sha(data)
    assert sftp.get_bytes(remote) == data
    assert sftp.put_bytes(data[::-1], remote) == size
    with open(remote, "rb") as f:
        assert f.read() == data[::-1]


def test_non_utf8_names_as_surrogate_escapes_and_bytes(sftp, rdir, tmpdir_path):
    """A file name that is not UTF-8, as os.fsdecode()/os.listdir() give it (a str with
    surrogate escapes) or as bytes, reaches the server as its very bytes (os.fsencode)."""
    raw = os.path.join(os.fsencode(rdir), b"caf\xe9-\xff.bin")  # Latin-1, not UTF-8
    with open(raw, "wb") as f:
        f.write(b"non-utf8 data")
    name = os.fsdecode(raw)
    assert "\udce9" in name and name in [os.path.join(rdir, n) for n in os.listdir(rdir)]
    for p in (name, raw):
        assert sftp.stat(p).filesize == 13
    back = os.path.join(tmpdir_path, "caf\udce9-back")
    assert sftp.get(name, back) == 13
    with open(os.fsencode(back), "rb") as f:
        assert f.read() == b"non-utf8 data"
    assert sftp.put(back, name + "-up") == 13
    assert sftp.put(os.fsencode(back), raw + b"-upb") == 13
    for suffix in (b"-up", b"-upb"):
        with open(raw + suffix, "rb") as f:
            assert f.read() == b"non-utf8 data"
    assert sorted(n for n in (e.decode("utf-8", "surrogateescape") for e in os.listdir(os.fsencode(rdir)))) == \
        sorted(os.path.basename(name) + s for s in ("", "-up", "-upb"))
    # a lone surrogate that stands for no byte is refused, naming the argument
    with pytest.raises(ValueError, match=r"argument .*path.*surrogates not allowed"):
        sftp.stat(os.path.join(rdir, "\ud800"))


def test_progress_and_cancel(sftp, rdir, tmpdir_path):
    size = 4 * 1024 * 1024 + 7
    src = os.path.join(tmpdir_path, "src")
    with open(src, "wb") as f:
        f.write(os.urandom(size))
    remote = os.path.join(rdir, "r")
    calls = []
    assert sftp.put(src, remote, progress=lambda d, t: calls.append((d, t))) == size
    assert calls[-1] == (size, size) and len(calls) >= 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    calls.clear()
    assert sftp.get(remote, os.path.join(tmpdir_path, "b"), progress=lambda d, t: calls.append((d, t))) == size
    assert calls[-1] == (size, size)
    # cancel by returning True
    with pytest.raises(E.CancelledError):
        sftp.get(remote, os.path.join(tmpdir_path, "c"), progress=lambda d, t: d > 0)

    # cancel by raising: the callback's own exception comes out
    class Stop(Exception):
        pass

    def boom(d, t):
        if d > 1000000:
            raise Stop("enough")

    dest = os.path.join(rdir, "atomic")
    with open(dest, "wb") as f:
        f.write(b"old")
    with pytest.raises(Stop):
        sftp.put(src, dest, progress=boom, atomic=True)
    with open(dest, "rb") as f:
        assert f.read() == b"old"  # atomic: the destination is untouched
    assert [n for n in os.listdir(rdir) if n.startswith("atomic.")] == []
    with pytest.raises(TypeError):
        sftp.get(remote, os.path.join(tmpdir_path, "d"), progress=42)
    # the sftp is still usable
    assert sftp.stat(remote).filesize == size


def test_file_object_copyfileobj(sftp, rdir, tmpdir_path):
    data = os.urandom(3 * 1024 * 1024 + 123)
    remote = os.path.join(rdir, "fo.bin")
    with sftp.open_file(remote, "wb") as f:
        shutil.copyfileobj(io.BytesIO(data), f)
    with open(remote, "rb") as f:
        assert f.read() == data
    out = io.BytesIO()
    with sftp.open_file(remote, "rb") as f:
        assert isinstance(f, io.BufferedReader)
        shutil.copyfileobj(f, out)
    assert out.getvalue() == data
    with sftp.open_file(remote, "rb", buffering=0) as f:
        assert isinstance(f, SFTPFile)
        buf = bytearray(1000)
        assert f.readinto(buf) == 1000 and bytes(buf) == data[:1000]
        assert f.tell() == 1000
        assert f.seek(-10, io.SEEK_END) == len(data) - 10
        assert f.read() == data[-10:]
        assert f.seek(5) == 5 and f.read(5) == data[5:10]
        assert f.seek(2, io.SEEK_CUR) == 12
    # text mode, iteration by lines, append, r+
    t = os.path.join(rdir, "t.txt")
    with sftp.open_file(t, "w", encoding="utf-8") as f:
        f.write("one\ntwo\n")
    with sftp.open_file(t, "a") as f:
        f.write("three\n")
    with sftp.open_file(t, "r") as f:
        assert list(f) == ["one\n", "two\n", "three\n"]
    with sftp.open_file(t, "r+b") as f:
        f.seek(0)
        f.write(b"ONE")
    with open(t, "rb") as f:
        assert f.read() == b"ONE\ntwo\nthree\n"
    with sftp.open_file(t, "rb") as f:
        assert [l for l in f] == [b"ONE\n", b"two\n", b"three\n"]
    with pytest.raises(E.SFTPProtocolError) as ei:  # OpenSSH (SFTP v3) answers FAILURE
        sftp.open_file(t, "x")
    assert t in str(ei.value)
    with pytest.raises(E.SFTPNoSuchFileError):
        sftp.open_file(os.path.join(rdir, "missing"), "rb")
    with pytest.raises(ValueError):
        sftp.open_file(t, "rw")
    f = sftp.open_file(t, "rb")
    f.close()
    with pytest.raises(ValueError):
        f.read()


def test_gc_orders(env, rdir):
    p = os.path.join(rdir, "gc")
    with open(p, "wb") as f:
        f.write(b"abc")
    # session dropped first, then the sftp and the handle still work / free cleanly
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    sf = s.sftp_init()
    fh = sf.open(p, LIBSSH2_FXF_READ, 0)
    d = sf.opendir(rdir)
    del s
    gc.collect()
    assert fh.read()[1] == b"abc"
    del sf
    gc.collect()
    assert fh.fstat().filesize == 3
    del fh, d
    gc.collect()
    # handle dropped before sftp, sftp before session, without closing anything
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    sf = s.sftp_init()
    fh = sf.open(p, LIBSSH2_FXF_READ, 0)
    del fh
    assert sf.stat(p).filesize == 3  # the orphaned handle is closed by this call
    del sf
    s.close()
    del s
    gc.collect()
    # the session closed under live objects: clear errors, no crash
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    sf = s.sftp_init()
    fh = sf.open(p, LIBSSH2_FXF_READ, 0)
    s.close()
    with pytest.raises(E.SSH2Error):
        fh.read()
    with pytest.raises(E.SSH2Error):
        sf.stat(p)
    del s, sf, fh
    gc.collect()


def test_gil_released_during_transfer(sftp, rdir, tmpdir_path):
    size = 32 * 1024 * 1024
    src = os.path.join(tmpdir_path, "big")
    with open(src, "wb") as f:
        f.write(os.urandom(size))
    remote = os.path.join(rdir, "big")
    result = {}

    calls = []

    def worker():  # with a progress callable: the C trampoline takes the GIL back
        result["n"] = sftp.put(src, remote, progress=lambda d, t: calls.append(d))

    t = threading.Thread(target=worker)
    ticks = 0
    t.start()
    while t.is_alive():
        ticks += 1  # pure Python work while the transfer runs
        time.sleep(0)
    t.join()
    assert result["n"] == size
    assert calls[-1] == size and len(calls) > 10
    assert ticks > 100, "the main thread barely ran: GIL held during the transfer?"


def test_nonblocking_read_write_resume(session, sftp, rdir):
    p = os.path.join(rdir, "nb")
    data = os.urandom(1024 * 1024)
    fh = sftp.open(p, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0o644)
    session.set_blocking(False)
    try:
        off = 0
        deadline = time.monotonic() + 30
        while off < len(data):
            rc, w = fh.write(data[off:])
            off += w
            if rc == LIBSSH2_ERROR_EAGAIN:
                assert time.monotonic() < deadline
                time.sleep(0.001)
        got = b""
        session.set_blocking(True)
        fh.close()
        fh = sftp.open(p, LIBSSH2_FXF_READ, 0)
        session.set_blocking(False)
        while True:
            n, chunk = fh.read(65536)
            if n == LIBSSH2_ERROR_EAGAIN:
                assert time.monotonic() < deadline
                time.sleep(0.001)
                continue
            if n == 0:
                break
            got += chunk
        assert got == data
    finally:
        session.set_blocking(True)
        fh.close()


def test_get_put_fd(sftp, rdir, tmpdir_path):
    data = os.urandom(200000)
    src = os.path.join(tmpdir_path, "src")
    with open(src, "wb") as f:
        f.write(data)
    remote = os.path.join(rdir, "fd")
    with open(src, "rb") as f:
        f.seek(1000)
        assert sftp.put_fd(f.fileno(), remote) == len(data) - 1000
    with open(remote, "rb") as f:
        assert f.read() == data[1000:]
    dst = os.path.join(tmpdir_path, "dst")
    with open(dst, "wb") as f:
        f.write(b"head")
        f.flush()
        assert sftp.get_fd(remote, f) == len(data) - 1000
    with open(dst, "rb") as f:
        assert f.read() == b"head" + data[1000:]
    with pytest.raises(E.SFTPNoSuchFileError):
        with open(dst, "wb") as f:
            sftp.get_fd(os.path.join(rdir, "missing"), f)


def test_resume_window_and_channels(sftp, rdir, tmpdir_path):
    """resume / max_in_flight / channels reach xssh_transfer_opts: a put continues
    the partial remote file under its stable temporary name (".xssh-part") and
    sends exactly the rest, a get continues the local file, over 2 channels."""
    size = 3 * 1024 * 1024 + 17
    data = os.urandom(size)
    src = os.path.join(tmpdir_path, "src")
    with open(src, "wb") as f:
        f.write(data)
    remote = os.path.join(rdir, "r")
    half = size // 2
    with open(remote + ".xssh-part", "wb") as f:
        f.write(data[:half])
    n = sftp.put(src, remote, atomic=True, resume=True, channels=2, max_in_flight=1 << 20)
    assert n == size - half
    with open(remote, "rb") as f:
        assert sha(f.read()) == sha(data)
    assert not os.path.exists(remote + ".xssh-part")
    back = os.path.join(tmpdir_path, "back")
    third = size // 3
    with open(back, "wb") as f:
        f.write(data[:third])
    assert sftp.get(remote, back, resume=True, max_in_flight=300000) == size - third
    with open(back, "rb") as f:
        assert sha(f.read()) == sha(data)
    assert sftp.put(src, remote + "2", channels=2) == size
    with open(remote + "2", "rb") as f:
        assert sha(f.read()) == sha(data)
    with pytest.raises(E.SSH2Error):
        sftp.put(src, remote, channels=99)
