"""ssh2-python's ``ssh2.statinfo`` module: StatInfo, what ``Session.scp_recv`` returns
(the same fields as ``FileInfo``)."""
from .core import StatInfo  # noqa: F401
