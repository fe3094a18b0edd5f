"""Argument errors in Python's words: the method the caller called and its parameter.

The C typemaps (swig/python/xssh_python.swg, xssh_py_argerr) report a failed conversion as
"Class.method(): argument 'name' must be int, not str" with SWIG's wrapper and C parameter
names, then ask ``rephrase`` for the names the caller used: the Python functions of the xssh
package on the stack (ssh2-python signatures, shape wrappers, aliases) are searched from the
C call outwards, and the outermost one that received the offending object itself (``is``)
names the method and the parameter. Runs only when an argument is wrong.
"""
import sys


def _in_xssh(frame):
    name = frame.f_globals.get("__name__", "")
    return name == "xssh" or name.startswith("xssh.")


def rephrase(value, who, param, tail):
    """The message for ``value`` given to C parameter ``param`` of ``who`` ("Session.connect()")."""
    f = sys._getframe(1)
    while f is not None and _in_xssh(f):
        code = f.f_code
        argnames = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        loc = f.f_locals if f.f_globals.get("__name__") != __name__ else {}
        hits = [n for n in argnames if n != "self" and n in loc and loc[n] is value]
        if hits:  # the same object in several parameters: keep the name found so far if it is one
            qual = getattr(code, "co_qualname", code.co_name)
            if "." not in qual:  # a module function: xssh.connect(), not connect()
                qual = "%s.%s" % (f.f_globals.get("__name__", "xssh"), qual)
            who, param = "%s()" % qual, param if param in hits else hits[0]
        f = f.f_back
    return "%s: argument '%s'%s" % (who, param, tail)


def type_error(value, param, want):
    """A TypeError raised by the package's own Python checks, in the same words."""
    f = sys._getframe(1)
    code = f.f_code
    msg = rephrase(value, "%s()" % getattr(code, "co_qualname", code.co_name), param,
                   " must be %s, not %s" % (want, type(value).__name__))
    return TypeError(msg)
