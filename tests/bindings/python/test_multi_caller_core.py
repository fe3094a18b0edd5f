"""xssh.core.multi_op_set_caller (xssh_multi_op_opts.caller): what the user called names the add
errors and the result messages of failed ops; the class, code and phase stay; setting again
replaces it, None or "" clears it. No timing: a command that waits forever ends by its timeout."""
import pytest

import xssh
from xssh import exceptions as exc

X = "xssh.aio.Session.run()"


def opts(timeout_ms=0):
    return xssh.core.multi_op_options(0, 0, timeout_ms, 0, 0, 0, 0, 0, 0, None)


def bad_host_message(m, o):
    op = m.add_connect("@@@", None, o)
    m.perform_all(60000)
    r = op.result()
    assert isinstance(r.error, exc.InvalidArgumentError)
    return r.error.message


def test_caller_set_replaced_cleared():
    m = xssh.Multi()
    o = opts()
    plain = bad_host_message(m, o)
    assert plain.startswith("host '@@@'")
    xssh.core.multi_op_set_caller(o, X)
    assert bad_host_message(m, o) == X + ": " + plain
    with pytest.raises(exc.InvalidArgumentError) as ei:
        m.add_host_run("h", None, None, o)
    assert str(ei.value.message) == X + ": invalid argument: command is NULL"
    xssh.core.multi_op_set_caller(o, "other()")
    assert bad_host_message(m, o) == "other(): " + plain
    xssh.core.multi_op_set_caller(o, None)
    assert bad_host_message(m, o) == plain
    with pytest.raises(exc.InvalidArgumentError, match="^xssh_multi_add_host_run: invalid argument"):
        m.add_host_run("h", None, None, o)
    xssh.core.multi_op_set_caller(o, X)
    xssh.core.multi_op_set_caller(o, "")
    assert bad_host_message(m, o) == plain
    with pytest.raises(exc.InvalidArgumentError):
        xssh.core.multi_op_set_caller(None, X)


def test_caller_names_timeout(session):
    m = xssh.Multi()
    o = opts(timeout_ms=300)
    xssh.core.multi_op_set_caller(o, X)
    op = m.add_run(session, "exec sleep 3600", o)
    del o  # copied at add
    m.perform_all(-1)
    r = op.result()
    assert isinstance(r.error, exc.Timeout)
    assert r.error.message.startswith(X + ": run 'exec sleep 3600': timed out"), r.error.message
