"""ssh2-python 1.2 signatures on the core classes (see _ssh2spec.py: one table, one generator).

The functions generated from the table (_ssh2sig.py, written by the build; generated in memory
when absent, e.g. when run from the source tree) get the helpers below and replace the methods
of the ``xssh.core`` classes, so every import path sees them. Table lines are about
ssh2-python's surface only; xssh's own additions (``connect``, ``run``, ``get``/``put``, ...)
keep the signatures they are declared with.
"""
import os as _os

from . import _argerr
from . import _core as _lowcore
from . import core as _c

_exc = _lowcore._exceptions


class MethodType(object):
    """ssh2-python's method-type constant (``LIBSSH2_METHOD_*`` are MethodType instances):
    ``Session.methods``, ``method_pref`` and ``supported_algs`` take one; a plain int is a TypeError."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = int(value)

    def __eq__(self, other):
        return type(other) is type(self) and other.value == self.value

    def __hash__(self):
        return hash((type(self).__name__, self.value))

    def __repr__(self):
        return "%s(%d)" % (type(self).__name__, self.value)


class FlagType(MethodType):
    """ssh2-python's session-flag constant (``LIBSSH2_FLAG_*``), what ``Session.flag`` takes."""
    __slots__ = ()


#: method types and flags that libssh2 1.10 does not have (ssh2-python 1.2 is built on 1.11)
_NOT_IN_110 = {("MethodType", 10): "LIBSSH2_METHOD_SIGN_ALGO", ("FlagType", 3): "LIBSSH2_FLAG_QUOTE_PATHS"}


def _typed(kind, v, what):
    if not isinstance(v, kind):
        raise _argerr.type_error(v, what, "%s (a ssh2.session.LIBSSH2_%s_* constant)"
                                 % (kind.__name__, "METHOD" if kind is MethodType else "FLAG"))
    name = _NOT_IN_110.get((kind.__name__, v.value))
    if name:
        _not_supported("%s (%s %d) needs libssh2 >= 1.11; this xssh runs on libssh2 %s"
                       % (name, kind.__name__, v.value, _c.libssh2_version()))
    return v.value


def _mt(v):
    return _typed(MethodType, v, "method_type")


def _ft(v):
    return _typed(FlagType, v, "flag")


def _not_supported(msg):
    """Raise xssh.exceptions.NotSupportedError (code XSSH_ENOTSUPPORTED) with msg."""
    e = _exc["NotSupportedError"](msg)
    e.code, e.name, e.message = _c.XSSH_ENOTSUPPORTED, "XSSH_ENOTSUPPORTED", msg
    e.libssh2_code = e.sftp_status = 0
    raise e


def _raise(cls, code, msg):
    e = _exc[cls](msg)
    e.code, e.name, e.message = code, _c.err_name(code), msg
    e.libssh2_code = e.sftp_status = 0
    raise e


def _adopt(self, made, what):
    """Constructor body: make self the object made by the session/SFTP call."""
    if isinstance(made, int):  # EAGAIN from a non-blocking session
        raise BlockingIOError("%s would block (non-blocking session): retry, or call the factory method "
                              "in a loop until it returns an object" % what)
    self.this = made.this
    for k in ("session",):
        if k in made.__dict__:
            self.__dict__[k] = made.__dict__[k]


def _unbound(self, what, use):
    """ssh2-python builds an empty object here; xssh makes one whose methods raise a clear error."""
    self.__dict__["_unbound"] = "this %s was built without one: get it from %s" % (what, use)


def _sock(self, sock, r) -> int:
    self.sock = sock
    return r


def _fspath(p):
    return _os.fspath(p) if isinstance(p, _os.PathLike) else p


def _realpath(self, path, max_len):
    r = _lowcore.SFTP_realpath(self, _fspath(path))
    if isinstance(r, str) and len(r.encode("utf-8", "surrogateescape")) >= max_len:
        _raise("BufferTooSmallError", _c.XSSH_EBUFFER_TOO_SMALL,
               "realpath: the result (%d bytes) does not fit in max_len=%d" % (len(r.encode()), max_len))
    return r


def _kh_writeline(self, entry, f_type, buf_len):
    line = _lowcore.KnownHost_writeline(self, entry, f_type).encode("utf-8", "surrogateescape")
    if len(line) >= buf_len:  # libssh2 needs the line and its NUL in buf_len
        _raise("BufferTooSmallError", _c.XSSH_EBUFFER_TOO_SMALL,
               "writeline: the line (%d bytes) does not fit in buf_len=%d" % (len(line), buf_len))
    return line


def _forward_listen_ex(self, queue_maxsize, host, port) -> "tuple[Listener, int]":
    lst = _lowcore.Session_forward_listen_ex(self, host, port, 0, queue_maxsize)
    if isinstance(lst, int):
        return lst
    return lst, lst.bound_port()


def _methods(self, method_type) -> "str | None":
    try:
        return _lowcore.Session_methods(self, _mt(method_type))
    except _exc["SSH2Error"] as e:
        if getattr(e, "code", 0) == _c.XSSH_ENOTCONNECTED:  # before the handshake (ssh2-python: None)
            return None
        raise


def _kbd_callback(self, username, callback):
    if not callable(callback):
        raise _argerr.type_error(callback, "callback", "a callable (it returns the password)")
    return _lowcore.Session_userauth_keyboard_interactive(self, username, callback())


def _build():
    try:
        from . import _ssh2sig as gen
        g = gen.__dict__
    except ImportError:  # not built: generate in memory
        from . import _ssh2spec
        g = {}
        exec(compile(_ssh2spec.source(), "<xssh._ssh2sig>", "exec"), g)
    g.update((k, v) for k, v in globals().items() if k.startswith("_") and not k.startswith("__"))
    for n, cls_name, meth in g["TARGETS"]:
        cls = getattr(_c, cls_name)
        g["_o%d" % n] = cls.__dict__.get("set_path" if meth == "set_identity_path" else meth)
    for n, cls_name, meth in g["TARGETS"]:
        cls = getattr(_c, cls_name)
        orig = cls.__dict__.get(meth)
        f = g["_f%d" % n]
        f.__name__ = meth
        f.__qualname__ = "%s.%s" % (cls.__name__, meth)
        try:  # tracebacks and argument errors (xssh._argerr) show the method, not _f<n>
            f.__code__ = f.__code__.replace(co_name=meth, co_qualname=f.__qualname__)
        except TypeError:  # Python < 3.11: no co_qualname
            f.__code__ = f.__code__.replace(co_name=meth)
        f.__module__ = "xssh.core"
        f.__doc__ = getattr(orig, "__doc__", None) if orig is not None else None
        if f.__doc__ is None and meth != "__init__":
            f.__doc__ = "ssh2-python's %s.%s." % (cls.__name__, meth)
        setattr(cls, meth, f)


_build()
