"""ssh2-python's ``ssh2.knownhost`` module: KnownHost, KnownHostEntry and constants."""
from . import core as _core
from .core import KnownHost, KnownHostEntry  # noqa: F401

for _n in dir(_core):
    if _n.startswith("XSSH_KNOWNHOST_"):
        globals()["LIBSSH2_KNOWNHOST_" + _n[len("XSSH_KNOWNHOST_"):]] = getattr(_core, _n)
del _n
