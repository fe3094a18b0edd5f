"""xssh exceptions: one class per error, built from the C error table.

The hierarchy follows ssh2-python's (``SSH2Error`` -> ``AuthenticationError``
-> ``PasswordExpiredError``, ...). Every instance carries ``code`` (the
``xssh_err`` value), ``name`` (e.g. ``"XSSH_ETIMEOUT"``), ``message`` (the
detailed message: libssh2's text plus context), ``libssh2_code`` and
``sftp_status``.
"""
from . import _core

globals().update(_core._exceptions)
#: ssh2-python's spelling (capital A) of MissingUserauthBannerError
MissingUserAuthBannerError = _core._exceptions["MissingUserauthBannerError"]


# the exceptions of libssh2 >= 1.11's codes (-52, -53, -54): never raised on 1.10, present for imports
class MacFailureError(_core._exceptions["SSH2Error"]):
    """LIBSSH2_ERROR_MAC_FAILURE (-52, libssh2 >= 1.11)."""


class HashInitError(_core._exceptions["SSH2Error"]):
    """LIBSSH2_ERROR_HASH_INIT (-53, libssh2 >= 1.11)."""


class HashCalcError(_core._exceptions["SSH2Error"]):
    """LIBSSH2_ERROR_HASH_CALC (-54, libssh2 >= 1.11)."""


_LIBSSH2_111 = {-52: MacFailureError, -53: HashInitError, -54: HashCalcError}
__all__ = sorted(list(_core._exceptions) + ["MissingUserAuthBannerError", "MacFailureError", "HashInitError",
                                            "HashCalcError"])


def exception_for(code):
    """The exception class raised for an xssh error code."""
    return _core._exceptions_by_code.get(code, _core._exceptions["SSH2Error"])
