"""ssh2-python's ``ssh2.publickey`` module: the public-key subsystem (RFC 4819).

``Session.publickey_init()`` returns a PublicKeySystem with ``add(name, blob,
overwrite=0)``, ``remove(name, blob)`` and ``close()``. OpenSSH's sshd does not
offer the subsystem: ``publickey_init()`` then raises PublicKeyInitError.
"""
from .core import PublicKeySystem  # noqa: F401
