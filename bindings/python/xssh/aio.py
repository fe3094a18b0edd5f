"""xssh.aio: asyncio over xssh's non-blocking core (docs/async.md).

One :class:`xssh.Multi` per event loop (the C multi interface, capi/include/xssh/multi.h)
is driven through its external-loop API: its socket callback becomes
``loop.add_reader``/``add_writer``, its timer callback ``loop.call_later``, and readiness
is handed back with ``Multi.socket_action``. connect, run, streamed run, SFTP start, get,
put and directory listing, and local port forwarding are multi operations (they run the
same C code as the blocking calls, on private C stacks, in the loop's thread). Only the
end of a session (SFTP close, disconnect) is driven as non-blocking xssh calls: EAGAIN
waits on the session's socket in the direction ``Session.block_directions()`` names.
No threads, no polling.

    async with xssh.aio.connect("host") as s:
        r = await s.run("uname -a")

Cancellation (``task.cancel()``, ``asyncio.timeout``, ``wait_for``) of a run, a transfer or a
listing cancels its operation (``MultiOp.cancel``: the command's channel is closed, a
transfer's temporary file removed, a directory handle closed) and waits for it to be done
before CancelledError propagates, so the session stays usable; ``LocalForward.close()``
cancels a forward the same way. Errors are the xssh exception classes (xssh.exceptions).
"""
from __future__ import annotations

import asyncio
import collections.abc as _abc
import inspect as _inspect
import os as _os
import weakref as _weakref
from typing import Any, AsyncIterator, Optional

from . import core as _c
from . import _connect_options
from ._many import _no_nul, _op_options, _path

__all__ = ["connect", "Session", "Process", "LocalForward", "run_many"]
_HAND_WRITTEN_STUB = True  # aio.pyi beside this file (scripts/gen-pyi.py leaves it alone)

_IN = _c.XSSH_POLL_IN
_OUT = _c.XSSH_POLL_OUT
_EAGAIN = _c.LIBSSH2_ERROR_EAGAIN if hasattr(_c, "LIBSSH2_ERROR_EAGAIN") else -37
_BLOCK_IN = 1   # LIBSSH2_SESSION_BLOCK_INBOUND
_BLOCK_OUT = 2  # LIBSSH2_SESSION_BLOCK_OUTBOUND
_MAX_TRIES = 10_000_000  # bound of every retry loop (each try waits on a socket)
#: SFTP statuses a server answers to a request (no such file, permission denied, ...): the SFTP
#: channel is in order after them; after any other failure it is closed and a new one started
_SFTP_STATUS = frozenset(getattr(_c, n) for n in dir(_c) if n.startswith("XSSH_ESFTP_") and n not in (
    "XSSH_ESFTP_PROTOCOL", "XSSH_ESFTP_BAD_MESSAGE", "XSSH_ESFTP_CONNECTION_LOST", "XSSH_ESFTP_NO_CONNECTION"))
#: max_output of aio's run: all of the output, as the blocking Session.run (XSSH_MULTI_OUTPUT_ALL of
#: xssh/multi.h, (size_t)-1)
_OUTPUT_ALL = getattr(_c, "XSSH_MULTI_OUTPUT_ALL", 2 ** 64 - 1)
_INLINE_MAX = 4  # add() starts an op at once while fewer ops run (each start walks the multi's ops)


class _OpWait(object):
    """The on_done callback of one op (called by the multi from inside socket_action): marks
    the op done, sets the future its waiter awaits and runs `then` (a Process's bookkeeping).
    The future is awaited directly (no asyncio.shield: one loop turn less per op); when the
    waiter is cancelled, wait_op() gives it a fresh future to wait for the op's end."""
    __slots__ = ("fut", "done", "then")

    def __init__(self, fut, then=None):
        self.fut = fut
        self.done = False
        self.then = then

    def __call__(self, op):
        self.done = True
        f = self.fut
        if not f.done():
            f.set_result(op)
        if self.then is not None:
            self.then()


class _Driver(object):
    """The Multi of one event loop and the sockets watched for it and for non-blocking calls.

    Per command the multi wakes up once per protocol step (channel confirmation, exec reply,
    output, close); the driver keeps each of those wake-ups to one call into C and no loop
    bookkeeping: an op is started when it is added (no extra loop turn; a fan-out adding many
    ops in one turn starts them together at the next), the socket of
    a live Session stays registered with the loop between its ops (no remove/add_reader per
    command; a wake-up nobody asked for unregisters it), and the op timer the multi re-arms at
    every step moves a deadline, not a loop timer (the loop timer is re-armed only when it must
    fire earlier, or when it fires before the deadline)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.multi = _c.Multi()
        self.multi.set_max_running(0)
        self._action_fn = getattr(getattr(_c, "_core", None), "Multi_socket_action", None)
        self.fds: dict = {}   # fd -> [multi interest, reader futures, writer futures, registered mask]
        self.keep: dict = {}  # fd of a live Session -> its inode: the reader stays registered between ops
        self.timer: Optional[asyncio.TimerHandle] = None
        self.timer_at = 0.0   # loop time the timer handle fires at
        self.deadline: Optional[float] = None  # loop time the multi wants its timeout call (None: never)
        self.kicked = False
        self.acting = False   # inside socket_action (the multi's callbacks are running)
        self.adding = False   # inside add(): a "call again soon" is done by add() itself
        self.running = 0      # ops not done, as the last socket_action counted them
        # the Multi holds its callbacks from C, where the garbage collector cannot see them: they
        # reach the driver through a weak reference, so a closed loop and its driver are collected
        ref = _weakref.ref(self)
        def socket_cb(fd, what):
            d = ref()
            return d._socket_cb(fd, what) if d is not None else 0

        def timer_cb(ms):
            d = ref()
            return d._timer_cb(ms) if d is not None else 0
        self.multi.set_socket_callback(socket_cb)
        self.multi.set_timer_callback(timer_cb)

    def _action(self, fd, ev):
        if self.acting:  # (cannot happen from the loop's callbacks; kept safe)
            self.kick()
            return
        self.acting = True
        try:
            if self._action_fn is not None:
                r = self._action_fn(self.multi, fd, ev)
            else:
                r = self.multi.socket_action(fd, ev)
            if r.__class__ is int:
                self.running = r
        finally:
            self.acting = False
            self._drain()

    def _drain(self):
        """Take the finished ops off the multi's completion queue (xssh_multi_info_read): each
        done op is reported there once and the multi holds a reference to it until it is
        taken (its session, socket and output with it). Their waiters already got them
        through on_done, so they are dropped here."""
        ir = self.multi.info_read
        for _ in range(_MAX_TRIES):
            if ir() is None:
                break

    # ---- the multi's callbacks (called from inside socket_action) ----
    def _socket_cb(self, fd, what):
        e = self.fds.get(fd)
        if e is None:
            if not what:
                return 0
            e = self.fds[fd] = [0, set(), set(), 0]
        elif what and not e[0] and e[3] and fd in self.keep and self._stale(fd):
            self._unregister(fd, e)  # kept for a socket closed behind our back: register anew
        e[0] = what & (_IN | _OUT)
        self._update(fd, e, True)
        return 0

    def _stale(self, fd):
        """Whether kept fd no longer is the Session's socket (closed, its number reused)."""
        try:
            return _os.fstat(fd).st_ino != self.keep[fd]
        except OSError:
            return True

    def _unregister(self, fd, e):
        if e[3] & _IN:
            self.loop.remove_reader(fd)
        if e[3] & _OUT:
            self.loop.remove_writer(fd)
        e[3] = 0

    def watch(self, fd):
        """fd is a live Session's socket: keep its reader registered between ops."""
        try:
            ino = self.keep[fd] = _os.fstat(fd).st_ino
        except OSError:
            ino = None
        return ino

    def release(self, fd, ino):
        """forget(fd) if fd still is the socket watch() gave ino for (its number may be reused)."""
        if self.keep.get(fd) == ino:
            self.forget(fd)

    def _timer_cb(self, ms):
        if ms < 0:
            self.deadline = None  # a pending loop timer finds no deadline and does nothing
            return 0
        if ms == 0:  # "call again soon" (an op was added, cancelled or became ready)
            self.deadline = None
            if not self.adding:
                self.kick()
            return 0
        when = self.loop.time() + ms / 1000.0
        self.deadline = when
        t = self.timer
        if t is None or self.timer_at > when:
            if t is not None:
                t.cancel()
            self.timer_at = when
            self.timer = self.loop.call_at(when, self._on_timer)
        return 0

    def _on_timer(self):
        self.timer = None
        d = self.deadline
        if d is None:
            return
        if d - self.loop.time() > 0.001:  # the deadline moved on since this timer was set
            self.timer_at = d
            self.timer = self.loop.call_at(d, self._on_timer)
            return
        self.deadline = None
        self._action(_c.XSSH_SOCKET_TIMEOUT, 0)

    def kick(self):
        """Let the multi start what was added (or cancelled) at the next turn of the loop."""
        if not self.kicked:
            self.kicked = True
            self.loop.call_soon(self._kick)

    def _kick(self):
        self.kicked = False
        self._action(_c.XSSH_SOCKET_TIMEOUT, 0)

    # ---- the loop's registrations ----
    def _update(self, fd, e=None, lazy=False):
        """Register with the loop what is wanted of fd. lazy: a kept fd's reader stays
        registered though nobody reads (the next op on its session will)."""
        if e is None:
            e = self.fds.get(fd)
            if e is None:
                return
        want = e[0] | (_IN if e[1] else 0) | (_OUT if e[2] else 0)
        have = e[3]
        if lazy and have & _IN and fd in self.keep:
            want |= _IN
        if want == have:
            return
        loop = self.loop
        if want & _IN and not have & _IN:
            loop.add_reader(fd, self._ready, fd, _IN)
        elif have & _IN and not want & _IN:
            loop.remove_reader(fd)
        if want & _OUT and not have & _OUT:
            loop.add_writer(fd, self._ready, fd, _OUT)
        elif have & _OUT and not want & _OUT:
            loop.remove_writer(fd)
        e[3] = want
        if not want:
            del self.fds[fd]

    def _ready(self, fd, ev):
        e = self.fds.get(fd)
        if e is None:
            return
        woke = False
        if e[0] & ev:
            woke = True
            self._action(fd, ev)
            e = self.fds.get(fd)
            if e is None:
                return
        waiters = e[1] if ev == _IN else e[2]
        if waiters:
            woke = True
            for f in list(waiters):
                if not f.done():
                    f.set_result(None)
            waiters.clear()
        self._update(fd, e, woke)  # a wake-up nobody wanted: stop watching

    def wait_fd(self, fd, directions):
        """A future done when fd is ready in one of directions (block directions bits)."""
        f = self.loop.create_future()
        e = self.fds.get(fd)
        if e is None:
            e = self.fds[fd] = [0, set(), set(), 0]
        if directions & _BLOCK_IN or not directions:
            e[1].add(f)
        if directions & _BLOCK_OUT:
            e[2].add(f)
        self._update(fd, e, True)

        def _gone(_f, fd=fd):
            e2 = self.fds.get(fd)
            if e2 is not None:
                e2[1].discard(_f)
                e2[2].discard(_f)
                self._update(fd, e2, True)
        f.add_done_callback(_gone)
        return f

    def forget(self, fd):
        """The socket is about to close: drop every registration (waiters are woken)."""
        self.keep.pop(fd, None)
        e = self.fds.pop(fd, None)
        if e is None:
            return
        self._unregister(fd, e)
        for f in list(e[1]) + list(e[2]):
            if not f.done():
                f.set_result(None)

    # ---- operations ----
    def add(self, adder, *args, on_output=None, then=None):
        """Add an op; (op, _OpWait). then(): called when it is done. While few ops run, the op
        starts at once (it runs until it first waits: its first packet is sent now, not one loop
        turn later); else at the next turn, together with the others added meanwhile."""
        w = _OpWait(self.loop.create_future(), then)
        inline = not self.acting and self.running < _INLINE_MAX
        self.adding = inline
        try:
            op = adder(*args, on_output, w)
        finally:
            self.adding = False
        if not inline:  # many ops at once (a fan-out adding hundreds in one turn): one start for all
            self.kick()
        else:
            try:
                self._action(_c.XSSH_SOCKET_TIMEOUT, 0)
            except Exception as exc:  # raised by a callback: as it would be from the loop's turn
                self.loop.call_exception_handler({"message": "xssh.aio: error in the multi's callback",
                                                  "exception": exc})
        return op, w

    async def wait_op(self, op, w):
        """Wait for op (w: its _OpWait); on cancellation cancel it and wait until it is done
        (nothing half-written), then let CancelledError propagate."""
        try:
            return await w.fut
        except asyncio.CancelledError:
            if not w.done:
                op.cancel()
                self.kick()
                for _ in range(1000):
                    if w.done:
                        break
                    w.fut = self.loop.create_future()
                    try:
                        await w.fut
                    except asyncio.CancelledError:
                        op.cancel()
            raise


def _driver() -> _Driver:
    """The driver of the running loop (kept on the loop object: they live and go together)."""
    loop = asyncio.get_running_loop()
    d = getattr(loop, "_xssh_aio_driver", None)
    if d is None:
        d = _Driver(loop)
        loop._xssh_aio_driver = d  # type: ignore[attr-defined]
    return d


def _err(code, message):
    """The xssh exception instance for an error code (xssh.exceptions)."""
    return _c._error_object(code, message)


def _command(fn, command):
    if not isinstance(command, (str, bytes)):
        raise TypeError("%s: argument 'command' must be str or bytes, not %s" % (fn, type(command).__name__))
    _no_nul(fn, "command", command, "a command")


def _port(fn, name, v, low):
    """A port argument: TypeError when v is not an int (bool is not taken for one), ValueError
    when it is out of low..65535 (low 0: "any free port")."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("%s: argument '%s' must be int, not %s" % (fn, name, type(v).__name__))
    if not low <= v <= 65535:
        raise ValueError("%s: argument '%s' must be a port %d..65535%s, not %d"
                         % (fn, name, low, " (0: any free port)" if low == 0 else "", v))


def _kwargs(fn, kwargs):
    """TypeError naming fn for a keyword argument connect() does not take (Python's own words,
    as the blocking xssh.connect() says it, not those of an internal helper)."""
    for k in kwargs:
        if k not in _CONNECT_KEYS:
            raise TypeError("%s got an unexpected keyword argument %r" % (fn, k))


def _rpath(fn, name, p):
    """A path for the C ops (str -- surrogate escapes of bytes that are not UTF-8, as listdir()
    returns them, are turned back into those bytes by the module's text typemap -- or bytes)."""
    return _path(fn, name, p)


def _opts(fn, timeout=None, idle_timeout=None, *args):
    """The options of an op the user's call fn ("xssh.aio.Session.run()") adds: _op_options(fn,
    ...) with fn as the op's caller, so that the C core names fn at the start of the op's errors
    (an add that fails, a failed or cancelled op's result: xssh_multi_op_opts.caller in
    capi/include/xssh/multi.h, "xssh_multi_add_run: the session is closed" ->
    "xssh.aio.Session.run(): the session is closed"); class, code and sftp_status stay."""
    o = _op_options(fn, None, None, timeout, idle_timeout, *args)
    _c.multi_op_set_caller(o, fn)
    return o


def _raise_of(r):
    if r.error is not None:
        raise r.error


def _run_result(r):
    _raise_of(r)
    sig = r.exit_signal.encode() if isinstance(r.exit_signal, str) else r.exit_signal
    return _c.RunResult(r.stdout, r.stderr, r.exit_status, sig)


_CALLBACK_ARGS = ("passphrase_callback", "prompt_callback")
#: the keyword arguments of connect() (those of xssh.connect(): _connect_options' after fn)
_CONNECT_KEYS = frozenset(list(_inspect.signature(_connect_options).parameters)[1:])


class _Connecting(_abc.Coroutine):
    """What connect() returns: a coroutine (await it, or hand it to asyncio.create_task() /
    asyncio.run() / gather(): a Session) and an async context manager."""

    def __init__(self, host, kwargs):
        self._host = host
        self._kwargs = kwargs
        self._session = None
        self._coro = None

    def _inner(self):
        if self._coro is None:
            self._coro = self._connect()
        return self._coro

    def __await__(self):
        return self._inner().__await__()

    def send(self, value):
        return self._inner().send(value)

    def throw(self, *exc):
        return self._inner().throw(*exc)

    def close(self):
        if self._coro is not None:
            self._coro.close()

    async def _connect(self):
        kw = self._kwargs
        for k in _CALLBACK_ARGS:
            if kw.get(k) is not None:
                raise TypeError("xssh.aio.connect(): argument '%s' is not supported: the connection runs as a "
                                "multi operation on a private C stack where Python cannot be called; give the "
                                "passphrase/password as an argument or use an agent" % k)
        kw = {k: v for k, v in kw.items() if k not in _CALLBACK_ARGS}
        if not isinstance(self._host, str):
            raise TypeError("xssh.aio.connect(): argument 'host' must be str, not %s" % type(self._host).__name__)
        _no_nul("xssh.aio.connect()", "host", self._host, "a host name")
        for k, v in kw.items():
            if isinstance(v, (str, bytes)):
                _no_nul("xssh.aio.connect()", k, v, "a string")
        timeout = kw.get("timeout")
        o = _connect_options("xssh.aio.connect()", **kw)
        d = _driver()
        op, fut = d.add(d.multi.add_connect, self._host, o, _opts("xssh.aio.connect()"))
        await d.wait_op(op, fut)
        r = op.result()
        _raise_of(r)
        s = Session(d, op.session(), self._host, timeout)
        return s

    async def __aenter__(self) -> "Session":
        self._session = await self._connect()
        return self._session

    async def __aexit__(self, *exc):
        s, self._session = self._session, None
        if s is not None:
            await s.close()
        return False


def connect(host: str, port: Optional[int] = None, user: Optional[str] = None, **kwargs: Any) -> _Connecting:
    """Connect like :func:`xssh.connect` (same arguments: ssh_config, ProxyJump, host key,
    authentication chain) without blocking the event loop. ``await xssh.aio.connect(...)``
    gives a :class:`Session`; ``async with xssh.aio.connect(...) as s`` closes it at the end.
    passphrase_callback / prompt_callback are not supported (TypeError): give passphrase /
    password. Errors: the xssh exception of the failed phase (AuthenticationError,
    KnownHostCheck*Error, Timeout, ...)."""
    _kwargs("xssh.aio.connect()", kwargs)
    kwargs["port"] = port
    kwargs["user"] = user
    return _Connecting(host, kwargs)


_STREAM = "xssh.aio.Session.stream()"


class Process(object):
    """A command started by :meth:`Session.stream`: iterate it (``async for stream, data in p``)
    to get its output as it arrives ((stream, bytes), stream "stdout" or "stderr"); after the
    iteration, ``exit_status`` / ``exit_signal`` (or ``await p.wait()``: a RunResult with empty
    stdout/stderr). Breaking out of the iteration or cancelling cancels the command. The output
    is delivered to ONE iteration: a second ``async for`` over the same Process (after the
    first, or beside it in another task) ends at once without items, as in xssh.async (Lua)."""

    def __init__(self, session, command, opts, line_mode):
        self._s = session
        self._q: asyncio.Queue = asyncio.Queue()
        self._command = command
        self._opts = opts
        self._op = None
        self._w: Optional[_OpWait] = None
        self.exit_status: Optional[int] = None
        self.exit_signal: Optional[bytes] = None
        self._result = None
        self._started = False
        self._iterated = False  # the output has (had) its one consumer

    def _on_output(self, op, stream, data):
        self._q.put_nowait(("stderr" if stream == _c.XSSH_STREAM_STDERR else "stdout", bytes(data)))
        return 0

    async def _start(self):
        if self._started:
            return
        self._started = True
        await self._s._lock.acquire()
        d = self._s._d
        try:
            self._op, self._w = d.add(d.multi.add_run, self._s._s, self._command, self._opts,
                                      on_output=self._on_output, then=self._done)
            self._s._current = self._op
        except BaseException:
            self._s._release()
            raise

    def _done(self):  # the op is done (called by the multi)
        self._q.put_nowait(None)
        self._s._release()  # the session is free once the command is over, read or not

    def __aiter__(self) -> "AsyncIterator[tuple[str, bytes]]":
        return self._iter()

    async def _iter(self):
        if self._iterated:  # the output goes to one iteration only: a second one ends at once
            return
        self._iterated = True
        await self._start()
        ok = False
        try:
            for _ in range(_MAX_TRIES):
                item = await self._q.get()
                if item is None:
                    break
                yield item
            ok = True
        finally:
            if not ok:  # left early (break, cancellation, timeout): the command is cancelled
                await self._cancel()
        await self._finish()

    async def _cancel(self):
        if self._op is not None and not self._w.done:
            self._op.cancel()
            self._s._d.kick()
            await self._s._d.wait_op(self._op, self._w)
        if self._w is not None and self._w.done:
            self._record()

    def _record(self):
        if self._result is None:
            r = self._result = self._op.result()
            self.exit_status = r.exit_status
            self.exit_signal = r.exit_signal.encode() if isinstance(r.exit_signal, str) else r.exit_signal

    async def _finish(self):
        if self._w is None:
            return
        if not self._w.done:
            await self._s._d.wait_op(self._op, self._w)
        self._record()
        _raise_of(self._result)

    async def wait(self):
        """Wait for the end (output not read yet is dropped): RunResult(b"", b"", status, signal)."""
        await self._start()
        await self._finish()
        return _c.RunResult(b"", b"", self.exit_status, self.exit_signal)


class Session(object):
    """An authenticated connection driven by the event loop. ``session`` is the underlying
    :class:`xssh.Session` (its blocking calls would block the loop: use it only for quick
    non-network calls, or non-blocking as the ssh2-python API does). Operations on one
    Session run one after the other; its local forwards run beside them (they share it)."""

    def __init__(self, driver, session, host, timeout):
        self._d = driver
        self._s = session
        self.host = host
        self._lock = asyncio.Lock()
        self._sftp = None
        self._closed = False
        self._fd = session.socket()
        self._timeout = timeout
        self._forget = None
        if self._fd >= 0:
            # the loop keeps watching the socket between ops (no remove/add_reader per command);
            # dropped by close(), or when this object is collected unclosed
            ino = driver.watch(self._fd)
            self._forget = _weakref.finalize(self, driver.release, self._fd, ino)
            self._forget.atexit = False
        self._current = None  # the multi op running on the session (close() cancels it)
        self._forwards: set = set()  # its LocalForwards still running (close() cancels them)

    @property
    def session(self):
        """The underlying blocking :class:`xssh.Session` (its blocking calls stop the loop)."""
        return self._s

    def _release(self):
        self._lock.release()

    def _check(self, fn):
        if self._closed:
            raise _err(_c.XSSH_ECLOSED, "xssh.aio.Session.%s(): the session is closed" % fn)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False

    async def _op(self, adder, *args, on_output=None):
        async with self._lock:
            op, fut = self._d.add(adder, *args, on_output=on_output)
            self._current = op
            await self._d.wait_op(op, fut)
            return op.result()

    async def run(self, command, stdin=None, timeout: Optional[float] = None, idle_timeout: Optional[float] = None,
                  merge_stderr: bool = False, pty: bool = False):
        """Run command; a RunResult like :meth:`xssh.Session.run` (stdout, stderr, exit_status,
        exit_signal). timeout / idle_timeout: seconds → xssh.exceptions.Timeout."""
        self._check("run")
        _command("xssh.aio.Session.run()", command)
        o = _opts("xssh.aio.Session.run()", timeout, idle_timeout, merge_stderr, pty, _OUTPUT_ALL, False, False,
                  stdin)
        r = await self._op(self._d.multi.add_run, self._s, command, o)
        return _run_result(r)

    def stream(self, command, stdin=None, timeout: Optional[float] = None, idle_timeout: Optional[float] = None,
               merge_stderr: bool = False, pty: bool = False, line_mode: bool = False) -> Process:
        """Start command; a :class:`Process` whose output is read as it arrives
        (``async for stream, data in s.stream(cmd)``); line_mode: whole lines per item."""
        self._check("stream")
        _command("xssh.aio.Session.stream()", command)
        o = _opts(_STREAM, timeout, idle_timeout, merge_stderr, pty, None, line_mode, False, stdin)
        return Process(self, command, o, line_mode)

    # ---- non-blocking calls (the end of the session: SFTP close, disconnect) ----
    async def _nb(self, fn, *args):
        """fn(*args) in non-blocking mode until it is not EAGAIN (waiting on the socket in the
        direction the session names). The caller holds the session lock."""
        s = self._s
        for _ in range(_MAX_TRIES):
            s.set_blocking(False)
            try:
                r = fn(*args)
            finally:
                s.set_blocking(True)
            if r != _EAGAIN:
                return r
            await self._d.wait_fd(self._fd, s.block_directions())
        raise _err(_c.XSSH_ETIMEOUT, "xssh.aio: %r never completed" % fn)

    # ---- SFTP (multi ops; the caller holds the session lock) ----
    async def _sftp_open(self, fn):
        """The session's SFTP subsystem, started by an sftp_open op the first time (its errors
        name fn, the method called)."""
        if self._sftp is None:
            op, w = self._d.add(self._d.multi.add_sftp_open, self._s, _opts(fn))
            self._current = op
            await self._d.wait_op(op, w)
            _raise_of(op.result())
            self._sftp = op.sftp()
        return self._sftp

    async def _drop_sftp(self):
        """After an SFTP op was cancelled (or failed other than with a status the server
        answered), its SFTP channel may hold part of a request: close that channel (the session
        itself is not touched; the close never waits: libssh2's shutdown is finished at the
        session's next operation); the next SFTP call starts a new subsystem."""
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            try:
                await self._nb(sftp.close)
            except Exception:
                pass

    async def _sftp_op(self, fn, adder, o, *args):
        """An SFTP op (listdir, get, put: adder(sftp, *args, o)) on the session's subsystem; the
        done op."""
        async with self._lock:
            name = "xssh.aio.Session.%s()" % fn
            sftp = await self._sftp_open(name)
            self._check(fn)
            op, w = self._d.add(adder, sftp, *args, o)
            self._current = op
            try:
                await self._d.wait_op(op, w)
            except asyncio.CancelledError:
                await self._drop_sftp()
                raise
            r = op.result()
            if r.error is not None and getattr(r.error, "code", None) not in _SFTP_STATUS:
                await self._drop_sftp()  # (a status the server answered leaves the channel in order)
        _raise_of(r)
        return op, r

    async def listdir(self, path=".") -> "list[str]":
        """The names in a remote directory (str, without "." and ".."), over SFTP (a listdir
        op: opendir, readdir to the end, close). A missing directory:
        xssh.exceptions.SFTPNoSuchFileError (any SFTP status: its SFTPError subclass)."""
        self._check("listdir")
        path = _rpath("xssh.aio.Session.listdir()", "path", path)
        op, _r = await self._sftp_op("listdir", self._d.multi.add_sftp_listdir, _opts("xssh.aio.Session.listdir()"),
                                     path)
        return [name.decode("utf-8", "surrogateescape") for name, _long, _attrs in op.entries()]

    async def _transfer(self, fn, a, b, timeout):
        o = _opts("xssh.aio.Session.%s()" % fn, timeout)
        _c.multi_op_set_transfer(o, 1, 0)  # atomic: a temporary name renamed into place; cancelled, nothing is left
        adder = self._d.multi.add_sftp_get if fn == "get" else self._d.multi.add_sftp_put
        _op, r = await self._sftp_op(fn, adder, o, a, b)
        return r.transferred

    async def get(self, remote, local, timeout: Optional[float] = None) -> int:
        """Download remote to local over SFTP (as SFTP.get(atomic=True): pipelined, written to a
        temporary name beside local and renamed into place when complete: failed or cancelled,
        no file is left and an existing local file is kept); the number of bytes."""
        self._check("get")
        return await self._transfer("get", _rpath("xssh.aio.Session.get()", "remote", remote),
                                    _rpath("xssh.aio.Session.get()", "local", local), timeout)

    async def put(self, local, remote, timeout: Optional[float] = None) -> int:
        """Upload local to remote over SFTP (as SFTP.put(atomic=True): a temporary name renamed
        into place; failed or cancelled, nothing is left); the number of bytes."""
        self._check("put")
        return await self._transfer("put", _rpath("xssh.aio.Session.put()", "local", local),
                                    _rpath("xssh.aio.Session.put()", "remote", remote), timeout)

    # ---- port forwarding ----
    async def forward_local(self, remote_host: str, remote_port: int, local_host: str = "127.0.0.1",
                            local_port: int = 0) -> "LocalForward":
        """Listen on local_host:local_port (0: any free port) and carry each accepted
        connection over its own direct-tcpip channel to remote_host:remote_port as the server
        sees it (as ``ssh -L``): a forward op of the multi, running beside the other operations
        on this session. Returns a started :class:`LocalForward` (``.port``, ``stats()``;
        ``close()``/``wait_closed()``/``async with``). The port cannot be bound:
        xssh.exceptions.ConnectError naming address and cause."""
        self._check("forward_local")
        fn = "xssh.aio.Session.forward_local()"
        if not isinstance(remote_host, str):
            raise TypeError("%s: argument 'remote_host' must be str, not %s" % (fn, type(remote_host).__name__))
        _port(fn, "remote_port", remote_port, 1)
        if not isinstance(local_host, str):
            raise TypeError("%s: argument 'local_host' must be str, not %s" % (fn, type(local_host).__name__))
        _port(fn, "local_port", local_port, 0)
        _no_nul(fn, "remote_host", remote_host, "a host name")
        _no_nul(fn, "local_host", local_host, "a host name")
        # not under the session lock: a forward op does not hold its session (runs and other
        # forwards go on beside it) and runs until cancelled
        fw = LocalForward(self, remote_host, remote_port, local_host)
        d = self._d
        fw._op, fw._w = d.add(d.multi.add_forward_local, self._s, local_host, local_port, remote_host, remote_port,
                              _opts(fn), then=fw._ended)
        fw.port = fw._op.forward_port()
        if not fw._w.done:
            self._forwards.add(fw)
        return fw

    async def close(self):
        """Disconnect (a polite SSH disconnect, then the socket is closed). Idempotent. What
        still runs on the session is cancelled first: a command or transfer, its local forwards."""
        if self._closed:
            return
        cur = self._current
        if cur is not None and cur.state() != _c.XSSH_OP_DONE:
            cur.cancel()  # a command or transfer still going (e.g. a stream not read to its end)
            self._d.kick()
        for fw in list(self._forwards):
            fw.close()
        for fw in list(self._forwards):
            await fw._wait()  # cancelled ops end within the multi's cancel grace
        async with self._lock:
            if self._closed:
                return
            try:
                if self._sftp is not None:
                    await self._drop_sftp()
                try:
                    await self._nb(self._s.disconnect)
                except Exception:
                    pass
            finally:
                self._closed = True
                if self._forget is not None:
                    self._forget.detach()  # a later collection must not touch a reused fd number
                self._d.forget(self._fd)


class LocalForward(object):
    """A local port forwarded over a Session (Session.forward_local), run by a forward op of the
    loop's Multi: ``port`` (the local port it listens on), ``stats()``, ``connections``,
    ``close()``, ``wait_closed()``, ``async with``."""

    def __init__(self, session, host, port, local_host):
        self._s = session
        self.host = host
        self.remote_port = port
        self.local_host = local_host
        self.port = 0
        self._op: Any = None
        self._w: Any = None
        self._error: Optional[tuple] = None  # (the exception or None,) once done

    def _ended(self):  # the op is done (called by the multi)
        self._s._forwards.discard(self)

    def stats(self):
        """Counters of the forward (any time, also after the end): an :class:`xssh.ForwardStats`
        (accepted, active, failed connections; bytes_out towards the destination, bytes_in
        back). A connection whose channel the server refused (nothing listens at the
        destination) or that was reset counts as failed; the forward goes on."""
        return self._op.forward_stats()

    @property
    def connections(self) -> int:
        """Connections accepted so far (stats().accepted)."""
        return self._op.forward_stats()[0]

    @property
    def closed(self) -> bool:
        """True once the forward has ended (closed, or its session failed)."""
        return self._w.done

    @property
    def error(self):
        """None while it runs or once closed by close(); the xssh exception that ended it
        otherwise (the session failed: e.g. xssh.exceptions.SocketDisconnectError)."""
        if not self._w.done:
            return None
        if self._error is None:
            e = self._op.result().error
            self._error = (None if e is None or e.code == _c.XSSH_ECANCELLED else e,)
        return self._error[0]

    def close(self):
        """Stop: the listener is closed (a new connection is refused) and the connections going
        on are cut (their channels closed within the multi's cancel grace). Idempotent."""
        if not self._w.done:
            self._op.cancel()
            self._s._d.kick()

    async def _wait(self):
        if not self._w.done:
            await self._s._d.wait_op(self._op, self._w)

    async def wait_closed(self):
        """Wait until the forward has ended (after close(): the listener and every connection
        are closed). When it ended by itself because its session failed, that error is raised."""
        await self._wait()
        e = self.error
        if e is not None:
            raise e

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self._wait()
        if exc[0] is None:
            await self.wait_closed()
        return False


async def run_many(hosts, command, *, timeout: Optional[float] = None, **kwargs: Any) -> list:
    """``asyncio.gather`` of connect + run + close over hosts (host strings): a list of
    RunResult or exception instances, in the order given."""
    _kwargs("xssh.aio.run_many()", kwargs)

    async def one(h):
        async with connect(h, **kwargs) as s:
            return await s.run(command, timeout=timeout)
    return await asyncio.gather(*(one(h) for h in hosts), return_exceptions=True)
