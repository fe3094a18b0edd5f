"""A wrong argument type names the method and the parameter in Python's words, for EVERY public
method of every xssh class: "Session.connect(): argument 'port' must be int, not str".

The test walks each method's Python signature. For parameter i it passes valid values for the
parameters before it (found by trying a few candidates: a candidate is valid when the error then
names a LATER parameter), a value of no acceptable type at i, and checks the TypeError names
"Class.method()" and the parameter. The call never reaches the C function (a conversion fails
first), so the objects only need to be of the right class.
"""
import inspect
import os

import pytest

import xssh
from xssh import core
from xssh.sftp import LIBSSH2_FXF_CREAT, LIBSSH2_FXF_WRITE


class Wrong(object):
    """No acceptable type anywhere: not a number, text, bytes, callable, sequence, socket or path."""

    def __repr__(self):
        return "<Wrong>"


WRONG = Wrong()


def candidates():
    """Values of the usual types, each a new object: the error names the parameter that
    received the very object, so no two parameters may share one."""
    from xssh.session import LIBSSH2_FLAG_COMPRESS, LIBSSH2_METHOD_KEX
    return ("".join(["x", "y"]), int("1000"), bytes(bytearray(b"xy")), None, LIBSSH2_METHOD_KEX,
            LIBSSH2_FLAG_COMPRESS)

#: parameters that accept any object, with the reason (ssh2-python compatibility or truthiness)
ANY_OBJECT = {
    "Session.flag": {"enabled"},                      # truthiness (ssh2-python: enabled=True)
    "Session.last_error": {"msg_size"},               # ssh2-python's buffer size: not needed
    "Session.run": {"merge_stderr", "pty"},           # truthiness
    "Session.scp_get": {"atomic"}, "Session.scp_put": {"atomic"},
    "SFTP.get": {"atomic"}, "SFTP.put": {"atomic"}, "SFTP.put_bytes": {"atomic"},
    "SFTP.put_buffer": {"atomic"}, "SFTP.put_fd": {"atomic"},
    "SFTP.put_tree": {"preserve"}, "SFTP.get_tree": {"preserve"},  # truthiness
    "SFTP.realpath": {"max_len"},                     # ssh2-python's buffer size: not needed
    "SFTPHandle.fstat_ex": {"setstat"},               # truthiness
    "Channel.window_read_ex": {"read_avail", "window_size_initial"},  # ssh2-python: ignored
    "Channel.window_write_ex": {"window_size_initial"},
    "Channel.poll_channel_read": {"extended"},
    "KnownHost.get": {"prev"},
    "KnownHost.writeline": {"buf_len"},
    "PublicKeySystem.add": {"attrs"},
    "SFTP.open_file": {"buffering", "encoding", "errors", "newline"},  # io.open's own checks
}
#: methods that take no argument of a checkable type (generators, aliases kept for ssh2-python)
NO_TYPED_ARGS = {"SFTPHandle.readdir", "SFTPHandle.readdir_ex", "PublicKeySystem.list_fetch",
                 "PublicKeySystem.list_free",
                 "Session.direct_streamlocal_ex"}  # NotSupportedError whatever the arguments (libssh2 1.10)


@pytest.fixture(scope="module")
def objects():
    from conftest import Env as env
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    ch = s.open_session()
    sftp = s.sftp_init()
    fh = sftp.open("/tmp/xssh-argerr-%d" % os.getpid(), LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT,
                   0o600)
    kh = s.knownhost_init()
    kh.readline(open(env.known_hosts).read().splitlines()[0])
    lst = s.forward_listen_ex(16, "127.0.0.1", 0)[0]
    fwd = s.forward_local("127.0.0.1", 0, "127.0.0.1", env.port)
    objs = {
        "Session": s, "Channel": ch, "SFTP": sftp, "SFTPHandle": fh, "KnownHost": kh,
        "KnownHostEntry": kh.get()[0], "Agent": s.agent_init(), "Listener": lst, "Forward": fwd,
        "SFTPAttributes": core.SFTPAttributes(), "FileInfo": core.FileInfo(),
    }
    if hasattr(core, "Options"):
        objs["Options"] = core.Options()
    yield objs
    fwd.stop()
    fh.close()
    sftp.unlink("/tmp/xssh-argerr-%d" % os.getpid())
    s.close()


def _methods():
    out = []
    for cname in sorted(dir(core)):
        cls = getattr(core, cname)
        if not isinstance(cls, type) or cname.startswith("_") or issubclass(cls, BaseException):
            continue
        for mname, f in sorted(vars(cls).items()):
            if mname.startswith("_") or not inspect.isfunction(f):
                continue
            out.append((cname, mname))
    return out


def _named(exc, who):
    msg = str(exc)
    assert msg.startswith(who + ": argument '"), "%s: %r does not name the method" % (who, msg)
    return msg[len(who) + len(": argument '"):].split("'", 1)[0]


def test_every_public_method_names_method_and_parameter(objects):
    checked = 0
    failures = []
    for cname, mname in _methods():
        qual = "%s.%s" % (cname, mname)
        if cname not in objects or qual in NO_TYPED_ARGS:
            continue
        obj = objects[cname]
        f = getattr(obj, mname)
        sig = inspect.signature(f)
        params = [p for p in sig.parameters.values()]
        who = "%s()" % f.__func__.__qualname__  # an alias (startup = handshake) keeps its def's name
        if any(p.kind == p.VAR_POSITIONAL for p in params):  # overloads (verify_host(...), pty_ex(...))
            try:
                f(WRONG)
                failures.append("%s(<Wrong>) raised nothing" % qual)
            except Exception as e:
                if not isinstance(e, TypeError) or not str(e).startswith(who + ": argument '"):
                    failures.append("%s: %s" % (qual, e))
            checked += 1
            continue
        names = [p.name for p in params]
        required = sum(1 for p in params if p.default is p.empty)
        choice = {}  # parameter index -> index of its candidate (advanced when C rejects it)
        for i, name in enumerate(names):
            if name in ANY_OBJECT.get(qual, ()):
                break  # the rest of the line takes the defaults
            for _ in range(64):  # bounded: each retry advances one earlier parameter's candidate
                wrongs = [Wrong() for _ in range(max(1, required - i))]  # one object per parameter
                args = [candidates()[choice.setdefault(j, 0)] for j in range(i)] + wrongs
                try:
                    f(*args)
                    failures.append("%s: %s=<Wrong> raised nothing" % (qual, name))
                    break
                except Exception as exc:
                    e = exc
                    if not isinstance(e, TypeError):
                        failures.append("%s: %s=<Wrong> raised %s: %s" % (qual, name, type(e).__name__, e))
                        break
                    try:
                        got = _named(e, who)
                    except AssertionError as a:
                        failures.append(str(a))
                        break
                if got in names[i:i + len(wrongs)]:
                    # the error names a parameter that got a Wrong (C may check a later one first)
                    if "Wrong" not in str(e):
                        failures.append("%s: the message does not say what was given: %s" % (qual, e))
                    checked += 1
                    break
                if got in names[:i] and choice[names.index(got)] + 1 < len(candidates()):
                    choice[names.index(got)] += 1  # that candidate is not valid there: the next one
                    continue
                failures.append("%s: %s=<Wrong> named %r: %s" % (qual, name, got, e))
                break
            else:
                failures.append("%s: no valid values found before %r" % (qual, name))
            if failures and failures[-1].startswith(qual + ":"):
                break
    assert not failures, "\n".join(failures)
    assert checked > 200


def test_messages_keep_the_exception_class(objects):
    s = objects["Session"]
    with pytest.raises(TypeError, match=r"^Session\.set_timeout\(\): argument 'timeout' must be int, not str$"):
        s.set_timeout("soon")
    with pytest.raises(OverflowError, match=r"^Session\.connect\(\): argument 'port': 4294967296 is out of range"):
        xssh.Session().connect("127.0.0.1", 2 ** 32)
    with pytest.raises(ValueError, match=r"^Channel\.execute\(\): argument 'command': embedded null byte$"):
        objects["Channel"].execute("a\0b")
    with pytest.raises(TypeError, match=r"^Channel\.read\(\): argument 'self' must be Channel, not Session$"):
        core.Channel.read(s, 1)
