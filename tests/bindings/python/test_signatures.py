"""Every method and constructor of ssh2-python 1.2 exists in xssh with ssh2-python's parameter
names, order and defaults. The ONLY input is the signature table,
data/ssh2-python-signatures.md (a copy of ../shared/reference/ssh2-python-signatures.md; set
XSSH_SSH2_SIGNATURES to check another copy): each row becomes one test case.

Rows whose libssh2 call is missing from libssh2 1.10 still exist; calling them raises
xssh.exceptions.NotSupportedError (NOT_SUPPORTED below, each called here).
"""
import ast
import importlib
import inspect
import os
import re

import pytest

import xssh
from xssh.exceptions import NotSupportedError

TABLE = os.environ.get("XSSH_SSH2_SIGNATURES") or os.path.join(os.path.dirname(__file__), "data",
                                                               "ssh2-python-signatures.md")
#: modules where a default written as c_ssh2.NAME is looked up
CONST_MODULES = ["xssh.channel", "xssh.knownhost", "xssh.session", "xssh.sftp", "xssh.error_codes"]
#: the table's one row that is not a method of the class: `passwd(*args, password=password)` is the
#: local callback ssh2-python's Session.userauth_keyboardinteractive defines and passes to
#: userauth_keyboardinteractive_callback (its default is that function's `password` argument).
NOT_A_METHOD = {("session", "Session", "passwd")}


def _rows():
    rows, mod = [], None
    with open(TABLE, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^## ssh2\.(\w+)", line)
            if m:
                mod = m.group(1)
                continue
            if not line.startswith("| ") or mod is None:
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3 or cells[0] in ("class", "") or cells[0].startswith("---"):
                continue
            params = cells[2].strip("`").split(")")[0]  # handle_error_codes' cell runs on into its body
            rows.append((mod, cells[0], cells[1], params))
    return rows


def _split(params):
    """[(name, has_default, default_text)] of a table cell such as `size_t size=1024, int stream_id=0`."""
    out = []
    for p in (x.strip() for x in params.split(",")):
        if not p:
            continue
        decl, eq, default = p.partition("=")
        name = re.split(r"[\s*]+", decl.strip())[-1]
        if decl.strip().startswith("*") and not decl.strip().startswith("**"):
            name = "*" + name
        out.append((name, bool(eq), default.strip()))
    return out


def _value(text):
    if text.startswith("c_ssh2."):
        const = text[len("c_ssh2."):]
        for m in CONST_MODULES:
            mod = importlib.import_module(m)
            if hasattr(mod, const):
                return getattr(mod, const)
        raise AssertionError("constant %s of the table is not in %s" % (const, CONST_MODULES))
    return ast.literal_eval(text)


ROWS = _rows()


def test_table_read():
    """The table is there and whole (guards against checking nothing)."""
    assert len(ROWS) >= 225, len(ROWS)
    assert {r[0] for r in ROWS} >= {"agent", "channel", "session", "sftp", "sftp_handle", "knownhost", "utils"}


def _owner(mod, cls):
    m = importlib.import_module("xssh." + mod)
    if cls == "(module)":
        return m
    assert hasattr(m, cls), "xssh.%s has no class %s" % (mod, cls)
    return getattr(m, cls)


_MISSING = object()


@pytest.mark.parametrize("mod,cls,meth,params", ROWS, ids=["%s.%s.%s" % r[:3] for r in ROWS])
def test_signature(mod, cls, meth, params):
    owner = _owner(mod, cls)
    want = _split(params)
    if (mod, cls, meth) in NOT_A_METHOD:
        assert want == [("*args", False, ""), ("password", True, "password")], "the table row changed"
        # what it stands for: keyboard-interactive auth through a callback that returns the password
        sig = inspect.signature(owner.userauth_keyboardinteractive_callback)
        assert list(sig.parameters)[1:] == ["username", "callback"]
        return
    if meth == "(constructor)":
        obj = owner
    else:
        obj = _MISSING
        for k in type.mro(owner) if isinstance(owner, type) else [owner]:
            d = vars(k)
            if meth in d:
                obj = d[meth]
                break
        assert obj is not _MISSING, "%s.%s is missing" % (cls, meth)
        if isinstance(obj, (property, staticmethod)) or not callable(obj):
            # an attribute in ssh2-python (properties and readonly members); a row with one
            # parameter is its setter
            if want:
                assert isinstance(obj, property) and obj.fset is not None or \
                    hasattr(obj, "__set__"), "%s.%s cannot be set" % (cls, meth)
            return
    sig = inspect.signature(obj)
    got = list(sig.parameters.values())
    if got and got[0].name == "self" and meth != "(constructor)":
        got = got[1:]
    got_names = [("*" + p.name) if p.kind == p.VAR_POSITIONAL else p.name for p in got]
    assert got_names == [w[0] for w in want], "%s.%s%s: parameters %s, ssh2-python has %s" % (
        cls, meth, sig, got_names, [w[0] for w in want])
    for p, (name, has_default, text) in zip(got, want):
        if name.startswith("*"):
            continue
        if not has_default:
            assert p.default is p.empty, "%s.%s: %s has a default (%r); ssh2-python has none" % (
                cls, meth, name, p.default)
        else:
            assert p.default is not p.empty, "%s.%s: %s needs the default %s" % (cls, meth, name, text)
            assert p.default == _value(text), "%s.%s: %s defaults to %r, ssh2-python to %s" % (
                cls, meth, name, p.default, text)


def test_keywords_pass_through(env):
    """Keywords reach the C call: the issue's first failing call, by keyword."""
    import socket
    s = xssh.Session()
    sock = socket.create_connection((env.host, env.port), timeout=30)
    try:
        s.handshake(sock=sock)
        assert s.sock is sock
        s.userauth_publickey_fromfile(username=env.user, privatekey=env.key, passphrase="",
                                      publickey=env.key + ".pub")
        assert s.userauth_authenticated()
        ch = s.open_session()
        ch.execute(command=b"printf kw")
        n, data = ch.read(size=1024)
        while n == 0 and not ch.eof():
            n, data = ch.read(size=1024)
        assert data == b"kw"
        ch.close()
    finally:
        s.disconnect()
        sock.close()


# ---- what libssh2 1.10 cannot do: present, and a clear NotSupportedError when used ----
def _psys():
    return object.__new__(xssh.PublicKeySystem)  # list_fetch refuses before touching the object


NOT_SUPPORTED = {
    "Session.direct_streamlocal_ex (libssh2_channel_direct_streamlocal_ex: libssh2 >= 1.11)":
        lambda: xssh.Session().direct_streamlocal_ex("/tmp/x.sock", "127.0.0.1", 0),
    "Session.flag(LIBSSH2_FLAG_QUOTE_PATHS) (libssh2 >= 1.11)":
        lambda: xssh.Session().flag(importlib.import_module("xssh.session").LIBSSH2_FLAG_QUOTE_PATHS),
    "Session.method_pref(LIBSSH2_METHOD_SIGN_ALGO, ...) (libssh2 >= 1.11)":
        lambda: xssh.Session().method_pref(importlib.import_module("xssh.session").LIBSSH2_METHOD_SIGN_ALGO,
                                           "ssh-ed25519"),
    "PublicKeySystem.list_fetch (not wrapped for Python)": lambda: xssh.PublicKeySystem.list_fetch(_psys()),
}


@pytest.mark.parametrize("what", sorted(NOT_SUPPORTED))
def test_not_supported_raises(what):
    with pytest.raises(NotSupportedError) as ei:
        NOT_SUPPORTED[what]()
    assert "1.11" in str(ei.value) or "not wrapped" in str(ei.value)


def test_pass_through_lines_fit_their_method():
    """A table line of _ssh2spec.py without a call passes its arguments, in order, to the method it
    replaces: that method must take that many (the kind of mistake a signature check cannot see)."""
    from xssh import _ssh2spec
    from xssh import _ssh2sig as gen
    bad = []
    for n, cls, meth, params, call in _ssh2spec.parse():
        names = [p.split("=")[0].strip() for p in params.split(",") if p.strip()]
        if call != "_o%d(self%s)" % (n, "".join(", " + a for a in names)):
            continue  # an explicit call: covered by the behaviour tests
        orig = gen.__dict__["_o%d" % n]
        assert orig is not None, "%s.%s replaces nothing" % (cls, meth)
        ps = list(inspect.signature(orig).parameters.values())[1:]
        if any(p.kind == p.VAR_POSITIONAL for p in ps):
            continue  # SWIG's *args form: the C wrapper checks the count
        required = [p for p in ps if p.default is p.empty]
        if not len(required) <= len(names) <= len(ps):
            bad.append("%s.%s%s <- %s" % (cls, meth, inspect.signature(orig), names))
    assert not bad, bad
