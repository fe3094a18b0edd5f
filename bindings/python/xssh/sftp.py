"""ssh2-python's ``ssh2.sftp`` module: SFTP and the SFTP constants, plus Python file objects.

``Session.sftp_init()`` returns an ``SFTP``. Beyond ssh2-python:

* ``SFTP.get(remote, local, progress=None, atomic=False)`` / ``put(local, remote, ...)``,
  ``get_bytes(remote)`` / ``put_bytes(data, remote)``: whole-file transfers done in C
  with many requests in flight, the GIL released. ``progress(done, total)`` is called
  at the start, then each time total/128 more bytes moved (at least 32 KiB, at most
  1 MiB apart, rounded up to the 30000-byte SFTP packets; every MiB when the size is
  unknown) and at the end; returning a true value cancels (``CancelledError``), and an
  exception it raises cancels the transfer and propagates.
* ``SFTP.open_file(path, mode="r", buffering=-1, ...)`` (or :func:`open_file`): a
  regular Python file object (``read``, ``readinto``, ``write``, ``seek``, ``tell``,
  iteration, ``with``) that works with ``shutil.copyfileobj``; binary modes return
  ``io.Buffered*`` objects over :class:`SFTPFile` (1 MiB buffer), text modes an
  ``io.TextIOWrapper``; ``buffering=0`` gives the raw :class:`SFTPFile`.
"""
import io as _io
import os as _os

from . import _argerr
from . import core as _core
from .core import SFTP  # noqa: F401
from .core import SYMLINKS_COPY, SYMLINKS_FOLLOW, SYMLINKS_SKIP, TreeProgress, TreeStats  # noqa: F401

# open flags
LIBSSH2_FXF_READ = _core.XSSH_FXF_READ
LIBSSH2_FXF_WRITE = _core.XSSH_FXF_WRITE
LIBSSH2_FXF_APPEND = _core.XSSH_FXF_APPEND
LIBSSH2_FXF_CREAT = _core.XSSH_FXF_CREAT
LIBSSH2_FXF_TRUNC = _core.XSSH_FXF_TRUNC
LIBSSH2_FXF_EXCL = _core.XSSH_FXF_EXCL
# open_ex types
LIBSSH2_SFTP_OPENFILE = _core.XSSH_SFTP_OPENFILE
LIBSSH2_SFTP_OPENDIR = _core.XSSH_SFTP_OPENDIR
# rename_ex flags
LIBSSH2_SFTP_RENAME_OVERWRITE = _core.XSSH_SFTP_RENAME_OVERWRITE
LIBSSH2_SFTP_RENAME_ATOMIC = _core.XSSH_SFTP_RENAME_ATOMIC
LIBSSH2_SFTP_RENAME_NATIVE = _core.XSSH_SFTP_RENAME_NATIVE
# SFTPAttributes.flags bits
LIBSSH2_SFTP_ATTR_SIZE = _core.XSSH_SFTP_ATTR_SIZE
LIBSSH2_SFTP_ATTR_UIDGID = _core.XSSH_SFTP_ATTR_UIDGID
LIBSSH2_SFTP_ATTR_PERMISSIONS = _core.XSSH_SFTP_ATTR_PERMISSIONS
LIBSSH2_SFTP_ATTR_ACMODTIME = _core.XSSH_SFTP_ATTR_ACMODTIME
# statvfs f_flag bits
LIBSSH2_SFTP_ST_RDONLY = _core.XSSH_SFTP_ST_RDONLY
LIBSSH2_SFTP_ST_NOSUID = _core.XSSH_SFTP_ST_NOSUID
# file types and permission bits
for _n in ("IFMT", "IFIFO", "IFCHR", "IFDIR", "IFBLK", "IFREG", "IFLNK", "IFSOCK", "IRWXU", "IRUSR", "IWUSR",
           "IXUSR", "IRWXG", "IRGRP", "IWGRP", "IXGRP", "IRWXO", "IROTH", "IWOTH", "IXOTH"):
    globals()["LIBSSH2_SFTP_S_" + _n] = getattr(_core, "XSSH_SFTP_S_" + _n)
# SFTP status codes (SFTP.last_error())
for _n in ("OK", "EOF", "NO_SUCH_FILE", "PERMISSION_DENIED", "FAILURE", "BAD_MESSAGE", "NO_CONNECTION",
           "CONNECTION_LOST", "OP_UNSUPPORTED", "INVALID_HANDLE", "NO_SUCH_PATH", "FILE_ALREADY_EXISTS",
           "WRITE_PROTECT", "NO_MEDIA", "NO_SPACE_ON_FILESYSTEM", "QUOTA_EXCEEDED", "UNKNOWN_PRINCIPAL",
           "LOCK_CONFLICT", "DIR_NOT_EMPTY", "NOT_A_DIRECTORY", "INVALID_FILENAME", "LINK_LOOP"):
    globals()["LIBSSH2_FX_" + _n] = getattr(_core, "XSSH_FX_" + _n)
del _n

_READ_CHUNK = 2 * 1024 * 1024
DEFAULT_BUFFER_SIZE = 1024 * 1024


class SFTPFile(_io.RawIOBase):
    """A raw, unbuffered Python file over an SFTPHandle (see :func:`open_file`).

    Reads and writes go straight to the server (large calls keep many requests in
    flight); ``flush()`` has nothing to do since every write is acknowledged. Meant
    for blocking sessions: in non-blocking mode ``readinto``/``write`` return None
    when they would block, as raw files do.
    """

    def __init__(self, handle, path, mode, readable, writable):
        super().__init__()
        self._h = handle
        self.name = path
        self.mode = mode
        self._readable = readable
        self._writable = writable

    @property
    def handle(self):
        """The underlying SFTPHandle."""
        return self._h

    def readable(self) -> bool:
        """True when opened for reading."""
        self._checkClosed()
        return self._readable

    def writable(self) -> bool:
        """True when opened for writing."""
        self._checkClosed()
        return self._writable

    def seekable(self) -> bool:
        """True: SFTP files can seek."""
        self._checkClosed()
        return True

    def _check_read(self):
        self._checkClosed()
        if not self._readable:
            raise _io.UnsupportedOperation("not readable")

    def read(self, size: int = -1) -> "bytes | None":
        """Up to size bytes (all to end of file when size < 0); b"" at end of file, None when
        a non-blocking session would block."""
        self._check_read()
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        n, data = self._h.read(size)
        if n < 0:
            return None
        return data

    def readall(self):
        """Everything to end of file (read in 2 MiB requests); None if a non-blocking session
        would block before any byte."""
        self._check_read()
        parts = []
        while True:
            n, data = self._h.read(_READ_CHUNK)
            if n < 0:
                if parts:
                    break
                return None
            if n == 0:
                break
            parts.append(data)
        return b"".join(parts)

    def readinto(self, b) -> "int | None":
        """Read into the writable buffer b; the count (0 at end of file), None if it would block."""
        self._check_read()
        m = memoryview(b).cast("B")
        if len(m) == 0:
            return 0
        n, data = self._h.read(len(m))
        if n < 0:
            return None
        m[:n] = data
        return n

    def write(self, b) -> "int | None":
        """Write the bytes-like b at the current position; the count written, None if a
        non-blocking session would block before any byte."""
        self._checkClosed()
        if not self._writable:
            raise _io.UnsupportedOperation("not writable")
        n, written = self._h.write(b)
        if n < 0 and written == 0:
            return None
        return written

    def tell(self) -> int:
        """The current position in bytes."""
        self._checkClosed()
        return self._h.tell64()

    def seek(self, offset: int, whence: int = _io.SEEK_SET) -> int:
        """Move to offset relative to whence (io.SEEK_SET, SEEK_CUR, SEEK_END: SEEK_END asks
        the server for the size); returns the new position."""
        self._checkClosed()
        if whence == _io.SEEK_SET:
            pos = offset
        elif whence == _io.SEEK_CUR:
            pos = self._h.tell64() + offset
        elif whence == _io.SEEK_END:
            pos = self._h.fstat().filesize + offset
        else:
            raise ValueError("invalid whence (%r)" % (whence,))
        if pos < 0:
            raise ValueError("negative seek position %d" % (pos,))
        self._h.seek64(pos)
        return pos

    def truncate(self, size: "int | None" = None) -> int:
        """Set the file's size on the server (default: the current position); returns it."""
        self._checkClosed()
        if not self._writable:
            raise _io.UnsupportedOperation("not writable")
        if size is None:
            size = self.tell()
        a = _core.SFTPAttributes()
        a.flags = LIBSSH2_SFTP_ATTR_SIZE
        a.filesize = size
        self._h.fsetstat(a)
        return size

    def stat(self):
        """The file's SFTPAttributes."""
        self._checkClosed()
        return self._h.fstat()

    def close(self) -> None:
        """Close the SFTP handle (idempotent)."""
        if not self.closed:
            try:
                self._h.close()
            finally:
                super().close()

    def __repr__(self):
        return "<xssh.sftp.SFTPFile name=%r mode=%r%s>" % (self.name, self.mode, " closed" if self.closed else "")


def _parse_mode(mode):
    if not isinstance(mode, str):
        raise _argerr.type_error(mode, "mode", "str")
    m = set(mode)
    if len(m) != len(mode) or not m <= set("rwaxbt+") or len(m & set("rwax")) != 1 or {"b", "t"} <= m:
        raise ValueError("invalid mode: %r" % (mode,))
    plus = "+" in m
    if "r" in m:
        flags = LIBSSH2_FXF_READ | (LIBSSH2_FXF_WRITE if plus else 0)
    elif "w" in m:
        flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC
    elif "a" in m:
        flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_APPEND
    else:
        flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL
    if plus:
        flags |= LIBSSH2_FXF_READ | LIBSSH2_FXF_WRITE
    readable = bool(flags & LIBSSH2_FXF_READ)
    writable = bool(flags & LIBSSH2_FXF_WRITE)
    return flags, readable, writable, "b" in m, "a" in m


def open_file(sftp, path, mode="r", buffering=-1, encoding=None, errors=None, newline=None, perm=0o644):
    """Open a remote file as a Python file object (see the module doc). Errors are the
    SFTP exceptions of xssh.exceptions (e.g. SFTPNoSuchFileError, naming the path)."""
    flags, readable, writable, binary, append = _parse_mode(mode)
    if binary and (encoding is not None or errors is not None or newline is not None):
        raise ValueError("binary mode doesn't take an encoding, errors or newline argument")
    if buffering == 0 and not binary:
        raise ValueError("can't have unbuffered text I/O")
    if isinstance(path, _os.PathLike):
        path = _os.fspath(path)
    h = sftp.open(path, flags, perm)  # anything else: SFTP.open's check names the argument
    if isinstance(h, int):
        raise BlockingIOError("SFTP open would block (non-blocking session)")
    name = path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path
    raw = SFTPFile(h, name, mode, readable, writable)
    try:
        # append: the C library starts an APPEND handle at the end of the file
        if buffering == 0:
            return raw
        size = buffering if buffering and buffering > 1 else DEFAULT_BUFFER_SIZE
        if readable and writable:
            f = _io.BufferedRandom(raw, size)
        elif readable:
            f = _io.BufferedReader(raw, size)
        else:
            f = _io.BufferedWriter(raw, size)
        if binary:
            return f
        t = _io.TextIOWrapper(f, encoding, errors, newline, line_buffering=(buffering == 1))
        t.mode = mode
        return t
    except BaseException:
        raw.close()
        raise
