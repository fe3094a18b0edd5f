"""ssh2-python's ``ssh2.publickey`` module: the public-key subsystem (RFC 4819).

``Session.publickey_init()`` returns a PublicKeySystem with ``add(name, blob,
overwrite=0)``, ``remove(name, blob)`` and ``close()``. OpenSSH's sshd does not
offer the subsystem: ``publickey_init()`` then raises PublicKeyInitError.
"""
from .core import PublicKeySystem  # noqa: F401


def _b(v):
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


class PublicKeyAttribute(object):
    """An attribute of a key for the public-key subsystem (RFC 4819 section 4): name, value
    (bytes) and whether the server must understand it (mandatory, 0/1)."""

    def __init__(self, name, value, mandatory):
        self._name = _b(name)
        self._value = _b(value)
        self._mandatory = int(mandatory)

    name = property(lambda self: self._name, doc="the attribute name (bytes)")
    name_len = property(lambda self: len(self._name), doc="length of name in bytes")
    value = property(lambda self: self._value, doc="the attribute value (bytes)")
    value_len = property(lambda self: len(self._value), doc="length of value in bytes")
    mandatory = property(lambda self: self._mandatory, doc="1 when the server must understand the attribute, else 0")

    def __repr__(self):
        return "PublicKeyAttribute(%r, %r, %d)" % (self._name, self._value, self._mandatory)


class PublicKeyList(object):
    """One key listed by the public-key subsystem (ssh2-python's PublicKeyList): name, blob
    (bytes) and its attributes. Listing (PublicKeySystem.list_fetch) is not wrapped for
    Python yet and raises NotSupportedError; a new PublicKeyList is empty."""

    def __init__(self, pkey_s):
        self.pkey_s = pkey_s
        self._name = b""
        self._blob = b""
        self.attrs = []

    name = property(lambda self: self._name, doc="the key algorithm name (bytes)")
    name_len = property(lambda self: len(self._name), doc="length of name in bytes")
    blob = property(lambda self: self._blob, doc="the public key blob (bytes)")
    blob_len = property(lambda self: len(self._blob), doc="length of blob in bytes")
    num_attrs = property(lambda self: len(self.attrs), doc="number of attributes (len(attrs))")
