"""libssh2 error codes under their LIBSSH2_ERROR_* names (same values as xssh's)."""
from . import core as _core

LIBSSH2_ERROR_NONE = 0
for _i in range(_core.err_count()):
    _code = _core.err_code_at(_i)
    _name = _core.err_name(_code)
    if -100 < _code < 0 and _name.startswith("XSSH_E"):
        _suffix = "EAGAIN" if _name == "XSSH_EAGAIN" else _name[len("XSSH_E"):]
        globals()["LIBSSH2_ERROR_" + _suffix] = _code
LIBSSH2_ERROR_BANNER_NONE = LIBSSH2_ERROR_BANNER_RECV
LIBSSH2_ERROR_PUBLICKEY_UNRECOGNIZED = LIBSSH2_ERROR_AUTHENTICATION_FAILED
#: channel EAGAIN alias of libssh2.h
LIBSSH2CHANNEL_EAGAIN = LIBSSH2_ERROR_EAGAIN
#: codes only libssh2 >= 1.11 returns (present so that code naming them imports)
LIBSSH2_ERROR_MAC_FAILURE = -52
LIBSSH2_ERROR_HASH_INIT = -53
LIBSSH2_ERROR_HASH_CALC = -54
del _i, _code, _name, _suffix
