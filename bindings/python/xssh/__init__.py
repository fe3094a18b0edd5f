"""xssh: a fast SSH2 client library over libssh2 (C core, one SWIG definition).

ssh2-python compatible: code written for ``ssh2`` runs after renaming the
imports to ``xssh`` (``from xssh.session import Session``). On top of that:
``xssh.connect("myhost")``, which connects the way OpenSSH's ``ssh`` does
(~/.ssh/config, known_hosts, the agent and default keys: docs/config.md), logging
through the standard ``logging`` module (logger ``"xssh"``), and context managers.
"""
from __future__ import annotations  # the annotations are text (the stub's names), never evaluated

import math as _math
import os as _os
import sys as _sys

from . import core as _c
from . import _compat  # noqa: F401  (ssh2-python signatures on the core classes)
from .core import (Agent, Channel, Forward, ForwardStats, KnownHost, KnownHostEntry, Listener,  # noqa: F401
                   Options, PublicKey, PublicKeySystem, RunResult, Session, SFTP, SFTPHandle,
                   Multi, MultiOp, MultiOpOptions, MultiResult, multi_op_options, phase_name)
from .exceptions import SSH2Error  # noqa: F401

__version__ = _c.version()

#: host-key policies for connect() and Session.verify_host()
HOSTKEY_STRICT = _c.XSSH_HOSTKEY_STRICT
HOSTKEY_ACCEPT_NEW = _c.XSSH_HOSTKEY_ACCEPT_NEW
HOSTKEY_OFF = _c.XSSH_HOSTKEY_OFF

#: connect(host_key_policy=...) -> the ssh_config options it sets. "off" is xssh's "verify
#: nothing": OpenSSH's StrictHostKeyChecking=no alone still refuses a changed key and records
#: new ones, so "off" also points both known_hosts lists at /dev/null (ssh's own idiom).
_POLICIES = {
    "strict": (("StrictHostKeyChecking", "yes"),),
    "accept_new": (("StrictHostKeyChecking", "accept-new"),),
    "accept-new": (("StrictHostKeyChecking", "accept-new"),),
    "off": (("StrictHostKeyChecking", "no"), ("UserKnownHostsFile", "/dev/null"),
            ("GlobalKnownHostsFile", "/dev/null")),
}
_POLICY_INTS = {HOSTKEY_STRICT: "strict", HOSTKEY_ACCEPT_NEW: "accept_new", HOSTKEY_OFF: "off"}


def _policy(p):
    name = _POLICY_INTS.get(p, p) if isinstance(p, int) and not isinstance(p, bool) else p
    try:
        return _POLICIES[name]
    except (KeyError, TypeError):
        raise ValueError("host_key_policy must be 'strict', 'accept_new' or 'off' (or None: the "
                         "configuration's StrictHostKeyChecking), not %r" % (p,)) from None


def _text(v):
    """An ssh_config value: str, os.PathLike, bool (yes/no) or a number."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, _os.PathLike):
        return _os.fspath(v)
    return v  # str/bytes; anything else: Options.set() names the argument


def _path_word(p, tokens=True):
    """A path as one ssh_config word: quoted when it holds a space; "%" doubled where ssh
    expands %-tokens (IdentityFile, UserKnownHostsFile, IdentityAgent), so the path is literal."""
    p = _os.fspath(p)
    if isinstance(p, bytes):
        p = p.decode("utf-8", "surrogateescape")
    if tokens:
        p = p.replace("%", "%%")
    return '"%s"' % p if (" " in p or "\t" in p) else p


def _connect_err(name, what, v, exc=TypeError):
    return exc("xssh.connect(): argument '%s' must be %s, not %s" % (name, what, type(v).__name__
                                                                     if exc is TypeError else repr(v)))


def _arg_path(name, v, tokens=True, what="a path (str or os.PathLike)"):
    if not isinstance(v, (str, bytes, _os.PathLike)):
        raise _connect_err(name, what, v)
    w = _path_word(v, tokens=tokens)
    if "\0" in w:
        raise _connect_err(name, what + " without a null byte", v, ValueError)
    return w


def _arg_number(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _connect_err(name, "a number of seconds (int or float) or None", v)
    if not _math.isfinite(v) or v < 0:
        raise _connect_err(name, "a finite number of seconds >= 0 (0: no limit) or None", v, ValueError)
    return v


def _hop(h):
    """A ProxyJump hop: "[user@]host[:port]" as is, or a (host, port) pair."""
    if isinstance(h, (tuple, list)) and len(h) == 2:
        host, port = h
        if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int):
            raise TypeError("xssh.connect(): argument 'proxy_jump' must hold (host, port) pairs of a str and an "
                            "int, not (%s, %s)" % (type(host).__name__, type(port).__name__))
        if not 0 < port < 65536:
            raise ValueError("xssh.connect(): argument 'proxy_jump' holds port %d; a port is 1..65535" % port)
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
    if isinstance(h, str):
        return h
    raise TypeError("xssh.connect(): argument 'proxy_jump' must be a list of \"[user@]host[:port]\" strings or "
                    "(host, port) pairs, or a \"hop1,hop2\" string, not one holding %s (per-hop credentials: "
                    "a Host block in the configuration)" % type(h).__name__)


def connect(host: str, port: int | None = None, user: str | None = None, *,
            key: _Path | Sequence[_Path] | None = None, passphrase: str | bytes | None = None,
            password: str | bytes | None = None, agent: bool | _Path | None = None,
            known_hosts: _Path | Sequence[_Path] | None = None,
            host_key_policy: Literal["strict", "accept_new", "accept-new", "off"] | int | None = None,
            timeout: float | None = None, proxy_jump: str | Sequence[str | tuple[str, int]] | None = None,
            config: _Path | None = None, options: Mapping[str, Any] | Options | None = None,
            passphrase_callback: Callable[[str], str | bytes | None] | None = None,
            prompt_callback: Callable[[str, str, str, bool], str | bytes | None] | None = None) -> Session:
    """Connect the way OpenSSH's ``ssh`` does and return an authenticated Session.

    ``xssh.connect("myhost")`` reads ~/.ssh/config then /etc/ssh/ssh_config (a ``Host``
    alias gives HostName, User, Port, IdentityFile, ProxyJump, ...), verifies the host key
    against the known_hosts files, and authenticates with the agent's keys, then the
    IdentityFiles (or the default ~/.ssh/id_* keys), then keyboard-interactive/password when a
    password or ``prompt_callback`` is given. It never returns an unauthenticated session.
    All of it is the C function ``xssh_connect`` (docs/connect.md, docs/config.md); this
    function only maps its arguments onto an :class:`Options` object, as ``ssh -o`` would.
    Usable as a context manager.

    host: "[user@]host[:port]", "[user@][v6addr]:port", an IPv6 address or a ``Host`` alias
        of the configuration (str); a port in the string wins over ``port``.
    port: int (Port); default: the configuration's, else 22.
    user: str (User); default: the configuration's, else the local user name.
    key: a private key path (str or os.PathLike, "~" expanded) or a list of them: each is an
        IdentityFile, added to the configuration's like ``ssh -i`` (the agent is still tried
        first; ``agent=False`` or ``options={"IdentitiesOnly": True}`` narrows it).
    passphrase: str, for every encrypted key (the "Passphrase" option; a secret: never logged).
    password: str, for password and keyboard-interactive authentication (a secret).
    agent: None (default: ssh's rule, the agent at $SSH_AUTH_SOCK or the IdentityAgent
        option), False (no agent: IdentityAgent none), True (the same as None), or the path
        of an agent socket.
    known_hosts: a known_hosts path or a list of them (UserKnownHostsFile; default
        ~/.ssh/known_hosts ~/.ssh/known_hosts2).
    host_key_policy: None (the configuration's StrictHostKeyChecking; ssh's default "ask"
        is strict), "strict" (unknown or changed keys fail), "accept_new" (learn unknown keys
        into the first known_hosts file, refuse changed ones) or "off" (no verification at
        all: StrictHostKeyChecking=no with both known_hosts lists set to /dev/null, so
        nothing is refused and nothing is written). HOSTKEY_* constants are accepted.
    timeout: seconds (float) or None: the session timeout of every later blocking call
        ("Timeout") and the ConnectTimeout (rounded up), which bounds the TCP connection
        and the handshake; it wins over the configuration's ConnectTimeout (None: neither
        is set: xssh's default session timeout of 30 s, the configuration's ConnectTimeout;
        0: no session timeout).
    proxy_jump: hops to go through, first to last, like ``ssh -J``: a list of
        "[user@]host[:port]" strings or (host, port) pairs, or one "hop1,hop2" string, or
        "none" (ignore the configuration's ProxyJump). Each hop is resolved, verified and
        authenticated like the target (its own Host block applies); every hop stays alive
        as long as the returned session.
    config: a configuration file to read instead of ~/.ssh/config and /etc/ssh/ssh_config
        (str or os.PathLike), or "none" for no file at all (``ssh -F``).
    options: a dict of any ssh_config keyword (or xssh's ConfigFile, Password, Passphrase,
        Timeout) to its value, like ``ssh -o Name=value``: str, bool (yes/no), a number, a
        path, or a list (the keyword set once per item, e.g. several IdentityFile). The
        keyword arguments above win over the same keyword here; both win over the files.
        An :class:`Options` object is used as it is (the keyword arguments are added to it).
    passphrase_callback: ``f(keyfile) -> str | bytes | None`` for an encrypted key (None
        skips the key, recorded as "encrypted, no passphrase given").
    prompt_callback: ``f(name, instruction, prompt, echo) -> str | bytes | None`` for each
        keyboard-interactive prompt, and ``("", "", "Password: ", False)`` for password
        authentication (None gives the method up).
    A callback's exception propagates out of connect() (the first one; the connect stops
    asking). Both are called on the calling thread during connect() only.

    Logging: records go to the ``logging`` logger "xssh" (ERROR, WARNING, INFO, DEBUG and
    TRACE = 5), the connection's host first in the message and in ``record.xssh_host``; no
    record ever holds a password, passphrase or key. Silent unless a handler is configured:
    ``logging.basicConfig(level=logging.DEBUG)`` before connect() is enough (see
    :func:`enable_logging`).

    Errors (xssh.exceptions): ConfigError (a malformed configuration line: file and line),
    InvalidArgumentError (an unknown keyword or a bad value in ``options``, naming it),
    a resolve/connect/timeout error, KnownHostCheckNotFoundError / KnownHostCheckMisMatchError
    (the host key), AuthenticationError listing every method tried and why each failed
    ("agent: 2 keys refused; ~/.ssh/id_ed25519: encrypted, no passphrase given; password:
    not offered by the server"); TypeError/ValueError for wrong arguments.
    """
    o = _connect_options("xssh.connect()", port=port, user=user, key=key, passphrase=passphrase,
                         password=password, agent=agent, known_hosts=known_hosts,
                         host_key_policy=host_key_policy, timeout=timeout, proxy_jump=proxy_jump,
                         config=config, options=options, passphrase_callback=passphrase_callback,
                         prompt_callback=prompt_callback)
    if _log_state[0] or "logging" in _sys.modules:
        enable_logging()
    return _c.connect(host, o)


def _connect_options(fn, port=None, user=None, key=None, passphrase=None, password=None, agent=None,
                     known_hosts=None, host_key_policy=None, timeout=None, proxy_jump=None, config=None,
                     options=None, passphrase_callback=None, prompt_callback=None):
    """connect()'s keyword arguments mapped onto a new Options (shared by connect() and
    run_many()/put_many()/get_many()); argument errors name fn (e.g. "xssh.run_many()")."""
    try:
        return _connect_options_body(port, user, key, passphrase, password, agent, known_hosts,
                                     host_key_policy, timeout, proxy_jump, config, options,
                                     passphrase_callback, prompt_callback)
    except (TypeError, ValueError) as e:
        msg = str(e)
        if fn != "xssh.connect()" and msg.startswith("xssh.connect()"):
            raise type(e)(fn + msg[len("xssh.connect()"):]) from None
        raise


def _connect_options_body(port, user, key, passphrase, password, agent, known_hosts, host_key_policy,
                          timeout, proxy_jump, config, options, passphrase_callback, prompt_callback):
    # the caller's Options is never written to: a copy takes the keyword arguments
    o = options.dup() if isinstance(options, Options) else Options()
    put = o.set
    if config is not None:
        put("ConfigFile", _arg_path("config", config, tokens=False, what='a path (str or os.PathLike) or "none"'))
    if user:
        put("User", user)
    if port is not None:
        put("Port", _text(port))
    if host_key_policy is not None:
        for k, v in _policy(host_key_policy):
            put(k, v)
    if known_hosts is not None:
        files = known_hosts if isinstance(known_hosts, (list, tuple)) else [known_hosts]
        put("UserKnownHostsFile", " ".join(_arg_path("known_hosts", f, what="a path (str or os.PathLike) or a "
                                                     "list of paths") for f in files))
    if key is not None:
        for k in (key if isinstance(key, (list, tuple)) else [key]):
            put("IdentityFile", _arg_path("key", k, what="a key file path (str or os.PathLike) or a list of paths"))
    if agent is False:
        put("IdentityAgent", "none")
    elif agent is not None and agent is not True:
        put("IdentityAgent", _arg_path("agent", agent, what="True, False or an agent socket path (str or "
                                       "os.PathLike)"))
    if passphrase is not None:
        put("Passphrase", passphrase)
    if password is not None:
        put("Password", password)
    if timeout is not None:
        _arg_number("timeout", timeout)
        if timeout:
            put("ConnectTimeout", str(max(1, int(-(-timeout // 1)))))
        put("Timeout", _text(timeout))
    if proxy_jump is not None and not isinstance(proxy_jump, (str, list, tuple)):
        raise _connect_err("proxy_jump", 'a "hop1,hop2" string or a list of "[user@]host[:port]" strings or '
                      "(host, port) pairs", proxy_jump)
    if proxy_jump is not None and len(proxy_jump):  # [] or "": as not given
        put("ProxyJump", proxy_jump if isinstance(proxy_jump, str) else ",".join(_hop(h) for h in proxy_jump))
    if options is not None and not isinstance(options, Options):
        if not isinstance(options, dict):
            raise TypeError("xssh.connect(): argument 'options' must be a dict of ssh_config keywords or an "
                            "Options, not %s" % type(options).__name__)
        for k, v in options.items():
            if not isinstance(k, str):
                raise TypeError("xssh.connect(): argument 'options' must have str keys (ssh_config keywords), "
                                "not %s" % type(k).__name__)
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                if not isinstance(item, (str, bytes, bool, int, float, _os.PathLike)):
                    raise TypeError("xssh.connect(): argument 'options' must map %r to a str, bool, number or "
                                    "path (or a list of them), not %s" % (k, type(item).__name__))
                put(k, _text(item))
    if passphrase_callback is not None:
        o.set_passphrase_callback(passphrase_callback)
    if prompt_callback is not None:
        o.set_prompt_callback(prompt_callback)
    return o


# ---- logging: the C hook feeds the standard logging module (logger "xssh") ----------------

#: xssh's TRACE level (below logging.DEBUG): libssh2's own trace, when it is built with it
TRACE = 5
_PY_LEVELS = {_c.XSSH_LOG_ERROR: 40, _c.XSSH_LOG_WARNING: 30, _c.XSSH_LOG_INFO: 20, _c.XSSH_LOG_DEBUG: 10,
              _c.XSSH_LOG_TRACE: TRACE}
_log_state = [0, None, False]  # [C level installed, logger, atexit registered]


def _emit(level, host, message):
    """The C log hook (any thread, the GIL taken by the trampoline): one record to "xssh"."""
    logger = _log_state[1]
    lv = _PY_LEVELS.get(level, 10)
    if logger is not None and logger.isEnabledFor(lv):
        if host:
            logger.log(lv, "%s: %s", host, message, extra={"xssh_host": host})
        else:
            logger.log(lv, "%s", message, extra={"xssh_host": ""})


def _log_off():
    if _log_state[0]:
        _log_state[0] = 0
        _c.log_set(None, 0)


def enable_logging(level=None):
    """Hand xssh's log records to the ``logging`` logger "xssh"; returns the C level installed.

    level: None (default) follows the logger: the most verbose level "xssh" is enabled for,
    and nothing at all when no handler is configured anywhere (silent by default); or a
    ``logging`` level (``logging.DEBUG``, ``xssh.TRACE`` ...) to use instead. ``connect()``
    calls it, so ``logging.basicConfig(level=logging.DEBUG)`` before connecting is enough;
    call it again after changing the logger's level while sessions run (records of
    forward threads use the level installed). ``enable_logging(logging.CRITICAL + 1)``
    turns the hook off. Records come from any thread (xssh's forward threads too); the hook
    is removed at interpreter exit.
    """
    import logging
    logger = logging.getLogger("xssh")
    if level is None:
        want = 0
        if logger.hasHandlers():
            for c_level in (_c.XSSH_LOG_TRACE, _c.XSSH_LOG_DEBUG, _c.XSSH_LOG_INFO, _c.XSSH_LOG_WARNING,
                            _c.XSSH_LOG_ERROR):
                if logger.isEnabledFor(_PY_LEVELS[c_level]):
                    want = c_level
                    break
    else:
        want = 0
        for c_level in (_c.XSSH_LOG_TRACE, _c.XSSH_LOG_DEBUG, _c.XSSH_LOG_INFO, _c.XSSH_LOG_WARNING,
                        _c.XSSH_LOG_ERROR):
            if _PY_LEVELS[c_level] >= level:
                want = c_level
                break
    if want == _c.XSSH_LOG_TRACE and logging.getLevelName(TRACE) == "Level %d" % TRACE:
        logging.addLevelName(TRACE, "TRACE")
    _log_state[1] = logger
    if want != _log_state[0]:
        if want and not _log_state[2]:
            import atexit
            atexit.register(_log_off)  # no record is delivered once the interpreter finalizes
            _log_state[2] = True
        _log_state[0] = want
        _c.log_set(_emit if want else None, want)
    return want


# ---- many hosts from one thread (docs/run_many.md): the loop is the C multi interface ----
from ._many import get_many, put_many, run_many  # noqa: E402,F401
