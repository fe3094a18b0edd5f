"""ssh2-python's ``ssh2.session`` module: Session and its constants."""
from . import core as _core
from .core import Session  # noqa: F401

LIBSSH2_SESSION_BLOCK_INBOUND = _core.XSSH_BLOCK_INBOUND
LIBSSH2_SESSION_BLOCK_OUTBOUND = _core.XSSH_BLOCK_OUTBOUND
LIBSSH2_FLAG_SIGPIPE = _core.XSSH_FLAG_SIGPIPE
LIBSSH2_FLAG_COMPRESS = _core.XSSH_FLAG_COMPRESS
LIBSSH2_HOSTKEY_HASH_MD5 = _core.XSSH_HOSTKEY_HASH_MD5
LIBSSH2_HOSTKEY_HASH_SHA1 = _core.XSSH_HOSTKEY_HASH_SHA1
LIBSSH2_HOSTKEY_HASH_SHA256 = _core.XSSH_HOSTKEY_HASH_SHA256
for _n in ("UNKNOWN", "RSA", "DSS", "ECDSA_256", "ECDSA_384", "ECDSA_521", "ED25519"):
    globals()["LIBSSH2_HOSTKEY_TYPE_" + _n] = getattr(_core, "XSSH_HOSTKEY_TYPE_" + _n)
for _n in ("KEX", "HOSTKEY", "CRYPT_CS", "CRYPT_SC", "MAC_CS", "MAC_SC", "COMP_CS", "COMP_SC", "LANG_CS",
           "LANG_SC"):
    globals()["LIBSSH2_METHOD_" + _n] = getattr(_core, "XSSH_METHOD_" + _n)
del _n
