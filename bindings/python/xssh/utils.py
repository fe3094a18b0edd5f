"""ssh2-python's ``ssh2.utils`` helpers."""
import select as _select

from . import core as _core
from .exceptions import exception_for as _exception_for

LIBSSH2_ERROR_EAGAIN = _core.XSSH_EAGAIN


def handle_error_codes(errcode):
    """Raise the exception ssh2-python raises for a libssh2 error code; return 0 for 0 and
    positive values, LIBSSH2_ERROR_EAGAIN for EAGAIN. A negative code libssh2 does not
    define raises UnknownError."""
    if errcode == 0 or errcode == LIBSSH2_ERROR_EAGAIN:
        return errcode
    if errcode > 0:
        return errcode
    from . import exceptions as _x
    if errcode in _x._LIBSSH2_111:
        raise _x._LIBSSH2_111[errcode]("libssh2 error %d (a code of libssh2 >= 1.11)" % errcode)
    known = -100 < errcode and _core.err_name(errcode) != "XSSH_EUNKNOWN" and _core.err_exception(errcode)
    if not known:
        msg = "Error code %s not known" % errcode
        exc = _x.UnknownError(msg)
        exc.code, exc.name, exc.message = errcode, "UNKNOWN", msg
        raise exc
    code = _core.err_from_libssh2(errcode)
    exc = _exception_for(code)(_core.strerror(code))
    exc.code, exc.name, exc.message = code, _core.err_name(code), _core.strerror(code)
    raise exc


def find_eol(buf, pos):
    """ssh2-python's line splitter: (length of the line starting at pos without its end of line,
    length of the end of line: 1 for \\n, 2 for \\r\\n), or (-1, 0) when buf has no further \\n."""
    if not buf:
        return -1, pos
    i = buf.find(b"\n", pos)
    if i < 0:
        return -1, 0
    if i > pos and buf[i - 1:i] == b"\r":
        return i - 1 - pos, 2
    return i - pos, 1


def version(required_version=0):
    """The libssh2 version string, or None if older than ``required_version`` (0xMMmmpp)."""
    v = _core.libssh2_version()
    if required_version:
        parts = [int(x) for x in v.split(".")[:3]] + [0, 0, 0]
        if (parts[0] << 16 | parts[1] << 8 | parts[2]) < required_version:
            return None
    return v


def ssh2_exit():
    """Kept for compatibility: xssh manages libssh2's global state itself."""
    return None


def wait_socket(_socket, session, timeout=1):
    """Wait (up to ``timeout`` seconds) until the socket is ready in the direction
    the session's last EAGAIN needs; for non-blocking loops."""
    directions = session.block_directions()
    if directions == 0:
        return 0
    readfds = [_socket] if directions & _core.XSSH_BLOCK_INBOUND else ()
    writefds = [_socket] if directions & _core.XSSH_BLOCK_OUTBOUND else ()
    return _select.select(readfds, writefds, (), timeout)
