"""ssh2-python's ``ssh2.fileinfo`` module: FileInfo, what ``Session.scp_recv2`` returns.

SCP carries the size, the mode (``st_mode``, with S_IFREG set) and the access and
modification times; the other ``st_*`` fields are 0.
"""
from .core import FileInfo  # noqa: F401
