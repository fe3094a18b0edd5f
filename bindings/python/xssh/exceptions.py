"""xssh exceptions: one class per error, built from the C error table.

The hierarchy follows ssh2-python's (``SSH2Error`` -> ``AuthenticationError``
-> ``PasswordExpiredError``, ...). Every instance carries ``code`` (the
``xssh_err`` value), ``name`` (e.g. ``"XSSH_ETIMEOUT"``), ``message`` (the
detailed message: libssh2's text plus context), ``libssh2_code`` and
``sftp_status``.
"""
from . import _core

globals().update(_core._exceptions)
__all__ = sorted(_core._exceptions)


def exception_for(code):
    """The exception class raised for an xssh error code."""
    return _core._exceptions_by_code.get(code, _core._exceptions["SSH2Error"])
