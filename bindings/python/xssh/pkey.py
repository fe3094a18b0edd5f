"""ssh2-python's ``ssh2.pkey`` module."""
from .core import PublicKey  # noqa: F401
