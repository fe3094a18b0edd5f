"""ssh2-python's ``ssh2.session`` module: Session and its constants."""
from . import core as _core
from .core import Session  # noqa: F401

LIBSSH2_SESSION_BLOCK_INBOUND = _core.XSSH_BLOCK_INBOUND
LIBSSH2_SESSION_BLOCK_OUTBOUND = _core.XSSH_BLOCK_OUTBOUND
from ._compat import FlagType, MethodType  # noqa: F401

#: session flags (FlagType, what Session.flag takes); QUOTE_PATHS needs libssh2 >= 1.11 (not supported)
LIBSSH2_FLAG_SIGPIPE = FlagType(_core.XSSH_FLAG_SIGPIPE)
LIBSSH2_FLAG_COMPRESS = FlagType(_core.XSSH_FLAG_COMPRESS)
LIBSSH2_FLAG_QUOTE_PATHS = FlagType(3)
#: security-key (FIDO) flags of libssh2 >= 1.11 (values as in its header; xssh on 1.10 cannot use such keys)
LIBSSH2_SK_PRESENCE_REQUIRED = 0x01
LIBSSH2_SK_VERIFICATION_REQUIRED = 0x04
LIBSSH2_HOSTKEY_HASH_MD5 = _core.XSSH_HOSTKEY_HASH_MD5
LIBSSH2_HOSTKEY_HASH_SHA1 = _core.XSSH_HOSTKEY_HASH_SHA1
LIBSSH2_HOSTKEY_HASH_SHA256 = _core.XSSH_HOSTKEY_HASH_SHA256
for _n in ("UNKNOWN", "RSA", "DSS", "ECDSA_256", "ECDSA_384", "ECDSA_521", "ED25519"):
    globals()["LIBSSH2_HOSTKEY_TYPE_" + _n] = getattr(_core, "XSSH_HOSTKEY_TYPE_" + _n)
for _n in ("KEX", "HOSTKEY", "CRYPT_CS", "CRYPT_SC", "MAC_CS", "MAC_SC", "COMP_CS", "COMP_SC", "LANG_CS",
           "LANG_SC"):
    globals()["LIBSSH2_METHOD_" + _n] = MethodType(getattr(_core, "XSSH_METHOD_" + _n))
#: signature algorithm preferences (libssh2 >= 1.11; using it raises NotSupportedError)
LIBSSH2_METHOD_SIGN_ALGO = MethodType(10)
del _n
