"""ssh2-python's ``ssh2.sftp_handle`` module: SFTPHandle, SFTPAttributes, SFTPStatVFS.

``SFTPHandle.read(size)`` returns ``(count, bytes)`` (count 0 at end of file,
``LIBSSH2_ERROR_EAGAIN`` in non-blocking mode); ``write(data)`` returns
``(count, bytes_written)``; ``readdir()`` / ``readdir_ex()`` are generators of
``(length, name, attrs)`` / ``(length, name, longentry, attrs)``; ``fstat()``
returns an ``SFTPAttributes``. A handle is iterable (``(count, bytes)`` chunks)
and a context manager (closed on exit). ``SFTPAttributes()`` builds an empty
attribute set for ``setstat``/``fsetstat``: set the values and the matching
``LIBSSH2_SFTP_ATTR_*`` bits in ``flags``.
"""
from .core import SFTPAttributes, SFTPHandle, SFTPStatVFS  # noqa: F401
