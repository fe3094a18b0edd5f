"""SFTP directory trees (SFTP.put_tree / get_tree) through the Python binding, against
the real sshd (same machine: the remote tree is checked with a local walk)."""
import os
import shutil
import stat
import tempfile
import time

import pytest

import xssh
from xssh import exceptions as E
from xssh.sftp import SYMLINKS_COPY, SYMLINKS_FOLLOW, SYMLINKS_SKIP, TreeProgress, TreeStats

OLD = 1000000000  # 2001: far from now
MODES = (0o600, 0o640, 0o644, 0o755)


@pytest.fixture
def sftp(session):
    yield session.sftp_init()


@pytest.fixture
def base(env):
    d = os.path.join(env.dir, "py-tree-%d-%d" % (os.getpid(), time.monotonic_ns()))
    os.mkdir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def data(i, n):
    return (b"%06d" % i * (n // 6 + 1))[:n]


def make_tree(root, nfiles):
    """nfiles files (mostly 0-8 KiB, every 100th ~1-2 MiB) in nested directories whose
    names have spaces, UTF-8 and bytes that are not UTF-8; modes and old times; an empty
    directory; a link to a file and a link to a directory of the tree (a loop)."""
    dirs = [os.path.join(root, d, s) for d in ("a", "with space", "d\u00e9j\u00e0 \u65e5\u672c", os.fsdecode(b"raw\xff"))
            for s in ("", "sub", "sub/deeper")]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    total = 0
    for i in range(nfiles):
        n = (1 << 20) + i * 1000 if i % 100 == 7 else 0 if i % 17 == 0 else (i * 7919) % 8192
        name = ("file %04d \u20ac.txt" % i) if i % 10 == 3 else os.fsdecode(b"f\xfe%04d" % i) if i % 10 == 5 else "f%04d" % i
        p = os.path.join(dirs[i % len(dirs)], name)
        with open(p, "wb") as f:
            f.write(data(i, n))
        os.chmod(p, MODES[i % 4])
        os.utime(p, (OLD + i, OLD + i))
        total += n
    os.mkdir(os.path.join(root, "empty"))
    os.symlink("a/f0000", os.path.join(root, "link to file"))
    os.symlink("..", os.path.join(root, "a", "sub", "loop"))
    for d in sorted(dirs + [os.path.join(root, "empty")], reverse=True):
        os.utime(d, (OLD, OLD + 5))
    return nfiles, total


def walk(root):
    """{relative path: (type, size, mode, mtime, link target or file bytes digest)}"""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", 0, 0, 0, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", 0, stat.S_IMODE(st.st_mode), int(st.st_mtime), None)
            else:
                with open(p, "rb") as f:
                    body = f.read()
                out[rel] = ("f", st.st_size, stat.S_IMODE(st.st_mode), int(st.st_mtime), body)
    return out


def same(a, b, modes=True, times=True):
    wa, wb = walk(a), walk(b)
    assert sorted(wa) == sorted(wb)
    for k, va in wa.items():
        vb = wb[k]
        assert va[0] == vb[0] and va[1] == vb[1] and va[4] == vb[4], k
        if modes and va[0] != "l":
            assert va[2] == vb[2], (k, oct(va[2]), oct(vb[2]))
        if times and va[0] != "l":
            assert va[3] == vb[3], k
    return wa


class Log:
    def __init__(self):
        self.calls = []

    def __call__(self, p):
        assert isinstance(p, TreeProgress)
        self.calls.append(p)


def check_progress(log, nfiles, nbytes):
    last = log.calls[-1]
    assert (last.files_done, last.files_total) == (nfiles, nfiles)
    assert (last.bytes_done, last.bytes_total) == (nbytes, nbytes)
    for a, b in zip(log.calls, log.calls[1:]):
        assert b.files_done >= a.files_done and b.bytes_done >= a.bytes_done
    assert all(p.file_done <= p.file_total and p.files_done <= p.files_total for p in log.calls)
    assert len({p.path for p in log.calls}) == nfiles


def test_put_get_1000_files_preserve_copy_links(sftp, base):
    src, rem, back = (os.path.join(base, n) for n in ("src", "remote", "back"))
    nfiles, nbytes = make_tree(src, 1000)
    log = Log()
    st = sftp.put_tree(src, rem, progress=log, preserve=True, symlinks=SYMLINKS_COPY, files_in_flight=4,
                       atomic=True)
    assert isinstance(st, TreeStats)
    assert st == (nfiles, 14, 2, nbytes)
    check_progress(log, nfiles, nbytes)
    w = same(src, rem)
    assert w["empty"][0] == "d" and w["link to file"] == ("l", 0, 0, 0, "a/f0000")
    assert w[os.path.join("a", "sub", "loop")][4] == ".."
    log = Log()
    st = sftp.get_tree(rem, back, progress=log, preserve=True, symlinks=SYMLINKS_COPY)
    assert (st.files, st.directories, st.symlinks, st.bytes) == (nfiles, 14, 2, nbytes)
    check_progress(log, nfiles, nbytes)
    same(src, back)
    # non-UTF-8 names come back as the same bytes
    assert os.path.exists(os.path.join(os.fsencode(back), b"raw\xff"))


def test_preserve_off_defaults(sftp, base):
    src, rem, back = (os.path.join(base, n) for n in ("src", "remote", "back"))
    make_tree(src, 30)
    sftp.put_tree(src, rem, symlinks=SYMLINKS_COPY)
    sftp.get_tree(rem, back, symlinks=SYMLINKS_COPY)
    same(src, back, modes=False, times=False)
    for k, v in walk(back).items():
        if v[0] != "l":
            assert v[2] == (0o755 if v[0] == "d" else 0o644), (k, oct(v[2]))
            assert v[3] > OLD + 100000, k


def test_symlinks_follow_and_skip(sftp, base):
    src = os.path.join(base, "src")
    nfiles, _ = make_tree(src, 20)
    for i, fn in enumerate((sftp.put_tree, lambda a, b, **k: sftp.get_tree(a, b, **k))):
        dst = os.path.join(base, "follow%d" % i)
        st = fn(src, dst, symlinks=SYMLINKS_FOLLOW)
        assert st.symlinks == 0 and st.files == nfiles + 1  # the link to a file became a file
        assert not os.path.islink(os.path.join(dst, "link to file"))
        with open(os.path.join(dst, "link to file"), "rb") as f, open(os.path.join(src, "a", "f0000"), "rb") as g:
            assert f.read() == g.read()
        assert not os.path.lexists(os.path.join(dst, "a", "sub", "loop"))  # the loop is not entered twice
        dst = os.path.join(base, "skip%d" % i)
        st = fn(src, dst, symlinks=SYMLINKS_SKIP)
        assert st.symlinks == 0 and st.files == nfiles
        assert not any(v[0] == "l" for v in walk(dst).values())
    assert SYMLINKS_FOLLOW == 0


def test_errors_name_the_path(sftp, base):
    missing = os.path.join(base, "no such dir")
    with pytest.raises(E.FileError, match="no such dir"):
        sftp.put_tree(missing, os.path.join(base, "r"))
    with pytest.raises(E.SFTPNoSuchFileError, match="no such dir"):
        sftp.get_tree(missing, os.path.join(base, "l"))
    src = os.path.join(base, "src")
    os.makedirs(os.path.join(src, "sub"))
    with open(os.path.join(src, "sub", "f"), "wb") as f:
        f.write(b"x")
    rem = os.path.join(base, "remote")
    os.mkdir(rem)
    with open(os.path.join(rem, "sub"), "wb") as f:
        f.write(b"in the way")
    with pytest.raises(E.SFTPFileAlreadyExistsError, match="remote/sub.*in the way"):
        sftp.put_tree(src, rem)
    back = os.path.join(base, "back")
    os.mkdir(back)
    with open(os.path.join(back, "sub"), "wb") as f:
        f.write(b"in the way")
    with pytest.raises(E.FileError, match="back/sub.*in the way"):
        sftp.get_tree(src, back)
    with pytest.raises(TypeError):
        sftp.put_tree(src, rem, progress=5)
    with pytest.raises(xssh.exceptions.SSH2Error, match="symlinks"):
        sftp.put_tree(src, rem, symlinks=9)


def test_permission_denied(env, base):
    if not env.pw_user:
        pytest.skip("no password account (not running as root)")
    s = xssh.Session()
    s.connect(env.host, env.port, 10000)
    s.userauth_password(env.pw_user, env.password)
    sf = s.sftp_init()
    top = tempfile.mkdtemp(prefix="xssh-py-tree-")
    try:
        os.chmod(top, 0o755)
        tree = os.path.join(top, "t")
        os.makedirs(os.path.join(tree, "secret"))
        with open(os.path.join(tree, "secret", "f"), "wb") as f:
            f.write(b"s")
        os.chmod(tree, 0o755)
        os.chmod(os.path.join(tree, "secret"), 0o700)
        with pytest.raises(E.SFTPPermissionDeniedError, match="t/secret"):
            sf.get_tree(tree, os.path.join(base, "copy"))
        with pytest.raises(E.SFTPPermissionDeniedError, match="t/newdir"):
            sf.put_tree(tree, os.path.join(tree, "newdir"))
    finally:
        shutil.rmtree(top, ignore_errors=True)
        s.close()


def test_progress_cancels_and_raises(sftp, base):
    src = os.path.join(base, "src")
    make_tree(src, 30)
    seen = []

    def cancel(p):
        seen.append(p)
        return p.files_done >= 3

    with pytest.raises(E.CancelledError):
        sftp.put_tree(src, os.path.join(base, "r1"), progress=cancel, files_in_flight=1)
    assert seen[-1].files_done == 3 and seen[-1].files_total == 31

    class Boom(Exception):
        pass

    def boom(p):
        raise Boom(p.path)

    with pytest.raises(Boom):
        sftp.get_tree(src, os.path.join(base, "r2"), progress=boom)
