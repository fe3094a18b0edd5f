"""run_many / put_many / get_many: many hosts from one thread (docs/run_many.md).

Only argument and result mapping lives here: each host becomes one operation of a
:class:`xssh.Multi` (the C multi interface, capi/include/xssh/multi.h), and the
whole loop (connect, host key, authentication, the command or the transfer, the
timeouts, the parallelism limit) runs in C, ``Multi.perform_all()``, with the GIL
released. Ctrl-C stops it (checked between wait slices; the remaining hosts are
cancelled when the Multi goes away).
"""
from __future__ import annotations

import math as _math
import os as _os

from . import core as _c

#: keys a per-host dict may hold besides "host": connect()'s keywords (the callbacks excepted:
#: they would run on the operations' private C stacks)
_HOST_KEYS = ("port", "user", "key", "passphrase", "password", "agent", "known_hosts", "host_key_policy",
              "proxy_jump", "config", "options")


def _seconds_ms(fn, name, v):
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("%s: argument '%s' must be a number of seconds (int or float) or None, not %s"
                        % (fn, name, type(v).__name__))
    if not _math.isfinite(v) or v <= 0:
        raise ValueError("%s: argument '%s' must be a finite number of seconds > 0 (or None: no limit), "
                         "not %r" % (fn, name, v))
    return max(1, int(_math.ceil(v * 1000)))


def _hosts(fn, hosts, defaults):
    """[(host string, Options)] in the order given."""
    from . import _connect_options
    if isinstance(hosts, (str, bytes, dict)) or not hasattr(hosts, "__iter__"):
        raise TypeError("%s: argument 'hosts' must be a list of host strings (\"[user@]host[:port]\" or a "
                        "Host alias) or dicts with a 'host' key, not %s" % (fn, type(hosts).__name__))
    shared = None
    out = []
    for i, h in enumerate(hosts):
        if isinstance(h, str):
            if shared is None:
                shared = _connect_options(fn, **defaults)
            out.append((h, shared))
        elif isinstance(h, dict):
            host = h.get("host")
            if not isinstance(host, str):
                raise TypeError("%s: argument 'hosts' item %d must have a 'host' str, not %s"
                                % (fn, i, type(host).__name__))
            kw = dict(defaults)
            for k, v in h.items():
                if k == "host":
                    continue
                if k not in _HOST_KEYS:
                    raise TypeError("%s: argument 'hosts' item %d has an unknown key %r (a host dict takes "
                                    "'host' and %s)" % (fn, i, k, ", ".join(repr(x) for x in _HOST_KEYS)))
                kw[k] = v
            out.append((host, _connect_options("%s: hosts[%d]" % (fn, i), **kw)))
        else:
            raise TypeError("%s: argument 'hosts' item %d must be a host string or a dict, not %s"
                            % (fn, i, type(h).__name__))
    return out


def _multi(fn, parallelism):
    if isinstance(parallelism, bool) or not isinstance(parallelism, int):
        raise TypeError("%s: argument 'parallelism' must be int, not %s" % (fn, type(parallelism).__name__))
    if parallelism < 0:
        raise ValueError("%s: argument 'parallelism' must be >= 0 (0: no limit), not %d" % (fn, parallelism))
    m = _c.Multi()
    m.set_max_running(parallelism)
    return m


def _op_options(fn, connect_timeout, auth_timeout, timeout, idle_timeout, merge_stderr=False, pty=False,
                max_output=None, line_mode=False, recursive=False, stdin=None):
    ms = [_seconds_ms(fn, n, v) for n, v in (("connect_timeout", connect_timeout), ("auth_timeout", auth_timeout),
                                             ("timeout", timeout), ("idle_timeout", idle_timeout))]
    if max_output is None:
        max_output = 0
    elif isinstance(max_output, bool) or not isinstance(max_output, int):
        raise TypeError("%s: argument 'max_output' must be int or None, not %s" % (fn, type(max_output).__name__))
    elif max_output <= 0:
        raise ValueError("%s: argument 'max_output' must be > 0 (or None: 1 MiB), not %d" % (fn, max_output))
    if stdin is not None:
        if isinstance(stdin, str):
            stdin = stdin.encode()
        if not isinstance(stdin, (bytes, bytearray, memoryview)):
            raise TypeError("%s: argument 'stdin' must be bytes, str or None, not %s" % (fn, type(stdin).__name__))
    o = _c.multi_op_options(ms[0], ms[1], ms[2], ms[3], 1 if merge_stderr else 0, 1 if pty else 0, max_output,
                            1 if line_mode else 0, 1 if recursive else 0, stdin)
    return o


#: after Ctrl-C (or any exception) in the drive: how long the cancelled hosts may take
#: to clean up (a command's channel closed, a put's remote temporary file removed), ms
_CANCEL_DRIVE_MS = 5000


def _finish(m, ops, timeout):
    try:
        m.perform_all(-1)
    except BaseException:
        # KeyboardInterrupt: every host still going is cancelled and driven to its end
        # (bounded), so what each leaves behind is cleaned up before the exception goes on
        for op in ops:
            op.cancel()
        try:
            m.perform_all(_CANCEL_DRIVE_MS)
        except BaseException:  # a second Ctrl-C: stop cleaning up
            pass
        raise
    return [op.result() for op in ops]


def _connect_defaults(port, user, key, passphrase, password, agent, known_hosts, host_key_policy, proxy_jump,
                      config, options):
    return dict(port=port, user=user, key=key, passphrase=passphrase, password=password, agent=agent,
                known_hosts=known_hosts, host_key_policy=host_key_policy, proxy_jump=proxy_jump, config=config,
                options=options)


def run_many(hosts: Sequence[str | Mapping[str, Any]], command: str | bytes, *, parallelism: int = 64,
             connect_timeout: float | None = None, auth_timeout: float | None = None, timeout: float | None = None,
             idle_timeout: float | None = None, stdin: bytes | str | None = None, pty: bool = False,
             merge_stderr: bool = False, max_output: int | None = None,
             on_output: Callable[[str, str, bytes], object] | None = None,
             port: int | None = None, user: str | None = None, key: _Path | Sequence[_Path] | None = None,
             passphrase: str | bytes | None = None, password: str | bytes | None = None,
             agent: bool | _Path | None = None, known_hosts: _Path | Sequence[_Path] | None = None,
             host_key_policy: Literal["strict", "accept_new", "accept-new", "off"] | int | None = None,
             proxy_jump: str | Sequence[str | tuple[str, int]] | None = None, config: _Path | None = None,
             options: Mapping[str, Any] | Options | None = None) -> list[MultiResult]:
    """Run command on every host concurrently from this thread; a list of MultiResult, one per
    host in the order given (docs/run_many.md).

    hosts: a list of host strings ("host", "user@host:port", "[::1]:2222", a Host alias of
        ~/.ssh/config) and/or dicts {"host": ..., plus any of connect()'s keywords: port, user,
        key, passphrase, password, agent, known_hosts, host_key_policy, proxy_jump, config,
        options}; a dict's keys win over the keyword arguments, which apply to every host.
    command: str or bytes.
    parallelism: at most this many hosts at once (0: no limit); default 64.
    connect_timeout, auth_timeout: seconds for TCP connect + handshake, and for host key +
        authentication (None: ConnectTimeout / the 30 s session timeout); timeout: seconds for
        the command; idle_timeout: its longest silence (None: no limit). A host that runs
        out fails with xssh.exceptions.Timeout in that phase; the others go on.
    stdin: bytes/str written to every command, then EOF. pty, merge_stderr: as Session.run.
    max_output: bytes kept per stream and host (None: 1 MiB); beyond it the result's
        stdout_truncated / stderr_truncated is True.
    on_output: f(host, stream, data) called as whole lines arrive (stream "stdout" or
        "stderr", data bytes ending in b"\\n" except a last unterminated line); the output
        is then not kept in the results. A true return value cancels that host.
    port .. options: connect()'s keywords, for every host.
    Every host's outcome is in its result (error, phase); run_many raises only for wrong
    arguments, or what on_output raised: the host it was called for is cancelled (its
    result's error is that exception), the other hosts run to their end, then the first
    such exception is raised with the results of every host as its ``results`` attribute.
    """
    fn = "xssh.run_many()"
    if not isinstance(command, (str, bytes)):
        raise TypeError("%s: argument 'command' must be str or bytes, not %s" % (fn, type(command).__name__))
    if on_output is not None and not callable(on_output):
        raise TypeError("%s: argument 'on_output' must be callable or None, not %s" % (fn, type(on_output).__name__))
    specs = _hosts(fn, hosts, _connect_defaults(port, user, key, passphrase, password, agent, known_hosts,
                                                host_key_policy, proxy_jump, config, options))
    o = _op_options(fn, connect_timeout, auth_timeout, timeout, idle_timeout, merge_stderr, pty, max_output,
                    on_output is not None, False, stdin)
    m = _multi(fn, parallelism)
    ops = []
    raised = []  # (index, exception) in the order on_output raised them
    for i, (host, opts) in enumerate(specs):
        cb = None
        if on_output is not None:
            def cb(op, stream, data, _h=host, _i=i):
                try:
                    return on_output(_h, "stderr" if stream == _c.XSSH_STREAM_STDERR else "stdout", data)
                except Exception as e:  # that host is cancelled; the others go on (KeyboardInterrupt stops all)
                    raised.append((_i, e))
                    return True
        ops.append(m.add_host_run(host, opts, command, o, cb))
    results = _finish(m, ops, None)
    if raised:
        for i, e in raised:
            results[i].error = e
        first = raised[0][1]
        first.results = results
        raise first
    return results


def _host_dir(host):
    """The per-host directory name of get_many: the host string as given, "/" and NUL made "_"."""
    name = host.replace("/", "_").replace("\0", "_")
    return "_" + name if name in ("", ".", "..") else name


def put_many(hosts: Sequence[str | Mapping[str, Any]], local: _Path, remote: _Path, *, parallelism: int = 64,
             recursive: bool = False, connect_timeout: float | None = None, auth_timeout: float | None = None,
             timeout: float | None = None,
             port: int | None = None, user: str | None = None, key: _Path | Sequence[_Path] | None = None,
             passphrase: str | bytes | None = None, password: str | bytes | None = None,
             agent: bool | _Path | None = None, known_hosts: _Path | Sequence[_Path] | None = None,
             host_key_policy: Literal["strict", "accept_new", "accept-new", "off"] | int | None = None,
             proxy_jump: str | Sequence[str | tuple[str, int]] | None = None, config: _Path | None = None,
             options: Mapping[str, Any] | Options | None = None) -> list[MultiResult]:
    """Upload the local file (or, recursive=True, directory tree) to remote on every host over
    SFTP, concurrently; a list of MultiResult in the order given (transferred: bytes sent). hosts and
    the connect keywords as run_many; timeout: seconds for each transfer (None: no limit)."""
    fn = "xssh.put_many()"
    local = _path(fn, "local", local)
    remote = _path(fn, "remote", remote)
    specs = _hosts(fn, hosts, _connect_defaults(port, user, key, passphrase, password, agent, known_hosts,
                                                host_key_policy, proxy_jump, config, options))
    o = _op_options(fn, connect_timeout, auth_timeout, timeout, None, recursive=recursive)
    m = _multi(fn, parallelism)
    ops = [m.add_host_put(host, opts, local, remote, o) for host, opts in specs]
    return _finish(m, ops, None)


def get_many(hosts: Sequence[str | Mapping[str, Any]], remote: _Path, local_dir: _Path, *, parallelism: int = 64,
             recursive: bool = False, connect_timeout: float | None = None, auth_timeout: float | None = None,
             timeout: float | None = None,
             port: int | None = None, user: str | None = None, key: _Path | Sequence[_Path] | None = None,
             passphrase: str | bytes | None = None, password: str | bytes | None = None,
             agent: bool | _Path | None = None, known_hosts: _Path | Sequence[_Path] | None = None,
             host_key_policy: Literal["strict", "accept_new", "accept-new", "off"] | int | None = None,
             proxy_jump: str | Sequence[str | tuple[str, int]] | None = None, config: _Path | None = None,
             options: Mapping[str, Any] | Options | None = None) -> list[MultiResult]:
    """Download remote (a file, or with recursive=True a directory tree) from every host over SFTP,
    concurrently, each host's copy to local_dir/<host>/<basename of remote> (like pssh's pslurp;
    <host> is the host string as given, "/" replaced by "_"; the directories are created). A list
    of MultiResult in the order given (transferred: bytes received). hosts and the other keywords as
    put_many. Two entries with the same host string write the same file: give each host once."""
    fn = "xssh.get_many()"
    remote = _path(fn, "remote", remote)
    local_dir = _path(fn, "local_dir", local_dir)
    specs = _hosts(fn, hosts, _connect_defaults(port, user, key, passphrase, password, agent, known_hosts,
                                                host_key_policy, proxy_jump, config, options))
    o = _op_options(fn, connect_timeout, auth_timeout, timeout, None, recursive=recursive)
    base = _os.path.basename(remote.rstrip("/")) or "root"
    m = _multi(fn, parallelism)
    ops = []
    for host, opts in specs:
        d = _os.path.join(local_dir, _host_dir(host))
        _os.makedirs(d, exist_ok=True)
        ops.append(m.add_host_get(host, opts, remote, _os.path.join(d, base), o))
    return _finish(m, ops, None)


def _path(fn, name, p):
    if isinstance(p, _os.PathLike):
        p = _os.fspath(p)
    if isinstance(p, bytes):
        p = p.decode("utf-8", "surrogateescape")
    if not isinstance(p, str):
        raise TypeError("%s: argument '%s' must be a path (str or os.PathLike), not %s" % (fn, name, type(p).__name__))
    _no_nul(fn, name, p, "a path")
    return p


def _no_nul(fn, name, v, what):
    """ValueError naming fn when the str/bytes argument v has a NUL byte (it goes to C as a C string)."""
    if ("\0" if isinstance(v, str) else b"\0") in v:
        raise ValueError("%s: argument '%s' must be %s without a null byte" % (fn, name, what))
