"""ssh2-python's ``ssh2.utils`` helpers."""
import select as _select

from . import core as _core
from .exceptions import exception_for as _exception_for

LIBSSH2_ERROR_EAGAIN = _core.XSSH_EAGAIN


def handle_error_codes(errcode):
    """Raise the exception for a negative error code; return 0 or EAGAIN otherwise."""
    if errcode == 0 or errcode == LIBSSH2_ERROR_EAGAIN:
        return errcode
    if errcode > 0:
        return 0
    code = _core.err_from_libssh2(errcode) if errcode > -100 else errcode
    exc = _exception_for(code)(_core.strerror(code))
    exc.code, exc.name, exc.message = code, _core.err_name(code), _core.strerror(code)
    raise exc


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
