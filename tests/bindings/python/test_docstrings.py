"""Every public Python class, method, property and function of xssh has a docstring (issue 16).

The generated methods take theirs from the C headers' doc comments (scripts/apidoc.py ->
scripts/gen-pyi.py -> xssh/_doc.py); the hand-written layer has its own. Dunder methods are
protocol plumbing (documented by their class) and are not counted.
"""
import importlib
import inspect
import os
import pydoc
import types

import xssh


def _modules():
    pkgdir = os.path.dirname(xssh.__file__)
    names = sorted(f[:-3] for f in os.listdir(pkgdir) if f.endswith(".py") and not f.startswith("_"))
    return [xssh] + [importlib.import_module("xssh." + n) for n in names]


def _public_objects():
    seen = set()
    for m in _modules():
        yield m.__name__, m
        for n, v in sorted(vars(m).items()):
            if n.startswith("_") or isinstance(v, types.ModuleType):
                continue
            if isinstance(v, type):
                if id(v) in seen or not (v.__module__ or "").startswith("xssh"):
                    continue
                seen.add(id(v))
                yield "%s.%s" % (m.__name__, n), v
                for mn, mv in sorted(vars(v).items()):
                    if mn.startswith("_") or mn in ("this", "thisown"):
                        continue
                    if isinstance(mv, property):
                        yield "%s.%s.%s" % (m.__name__, n, mn), mv
                    elif isinstance(mv, (staticmethod, classmethod)):
                        yield "%s.%s.%s" % (m.__name__, n, mn), mv.__func__
                    elif callable(mv):
                        yield "%s.%s.%s" % (m.__name__, n, mn), mv
            elif isinstance(v, (types.FunctionType, types.BuiltinFunctionType)):
                if id(v) in seen or not (getattr(v, "__module__", "") or "").startswith("xssh"):
                    continue
                seen.add(id(v))
                yield "%s.%s" % (m.__name__, n), v


def test_every_public_name_has_a_docstring():
    objs = list(_public_objects())
    missing = [name for name, o in objs if not (getattr(o, "__doc__", None) or "").strip()]
    assert len(objs) > 400, "the walk found only %d objects" % len(objs)
    assert not missing, "%d of %d public objects lack a docstring: %s" % (len(missing), len(objs), missing)


def test_generated_docstrings_come_from_the_c_headers():
    """help() of a generated method: its real parameter names and the header's text."""
    text = pydoc.render_doc(xssh.Session.userauth_publickey_fromfile, renderer=pydoc.plaintext)
    sig = str(inspect.signature(xssh.Session.userauth_publickey_fromfile))
    assert sig.startswith("(self, username, privatekey, passphrase"), sig
    assert "Public-key authentication from key files." in text  # session.h's brief
    assert "passphrase of the private key" in text  # session.h's @param passphrase
    assert "xssh_session_userauth_publickey_fromfile()" in text
    # a compact (*args) proxy lists its parameters on the docstring's first line
    vh = xssh.Session.verify_host.__doc__
    assert vh.startswith("verify_host(host=..., port=..., policy=..., path=...)"), vh
    assert "known_hosts" in vh


def test_exception_docstrings_name_their_codes():
    from xssh import exceptions
    assert "XSSH_ETIMEOUT" in exceptions.Timeout.__doc__
    assert "XSSH_ESFTP_NO_SUCH_FILE" in exceptions.SFTPNoSuchFileError.__doc__ or \
        "NO_SUCH_FILE" in exceptions.SFTPNoSuchFileError.__doc__


def test_sftp_get_docstring_states_the_real_progress_rate():
    doc = xssh.SFTP.get.__doc__
    assert "about every MiB" not in doc
    assert "total/128" in doc and "32 KiB" in doc
