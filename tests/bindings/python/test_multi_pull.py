"""Multi pull-mode output (multi_op_set_pull, MultiOp.take_output / output_pending), the SFTP
listdir op (Multi.add_sftp_listdir, MultiOp.entries) and the sftp_open op (Multi.add_sftp_open,
MultiOp.sftp) against the test sshd. Back-pressure is proven without timing: a command writing far
more than max_output cannot finish until its output is taken."""
import os

import pytest

import xssh
from xssh import exceptions as exc
from xssh.sftp_handle import SFTPAttributes


def pull_options(max_output=0, line_mode=0):
    o = xssh.core.multi_op_options(0, 0, 0, 0, 0, 0, max_output, line_mode, 0, None)
    xssh.core.multi_op_set_pull(o, 1)
    return o


def drive(m, op, cond, rounds=600):
    m.perform()
    for _ in range(rounds):
        if cond() or op.state() == xssh.core.XSSH_OP_DONE:
            return
        m.wait(100)


def test_pull_backpressure_bytes_exact(session):
    m = xssh.Multi()
    want = b"".join(b"%d\n" % i for i in range(1, 100001))
    op = m.add_run(session, "seq 1 100000", pull_options(max_output=16384))
    drive(m, op, lambda: op.output_pending()[0] >= 16384)
    assert op.state() == xssh.core.XSSH_OP_RUNNING  # throttled: cannot end before its output is taken
    assert op.output_pending() == (16384, 0)
    got = []
    for _ in range(100000):
        if op.state() == xssh.core.XSSH_OP_DONE:
            break
        d = op.take_output(xssh.core.XSSH_STREAM_STDOUT)
        assert isinstance(d, bytes) and len(d) <= 16384
        got.append(d)
        if d:
            m.perform()  # the op reads on at once
        else:
            m.wait(1000)  # nothing held: wait for the socket
    got.append(op.take_output(0))
    assert b"".join(got) == want
    assert op.take_output(0) == b""
    assert op.output_pending() == (0, 0)
    r = op.result()
    assert r.error is None and r.exit_status == 0 and r.stdout == b""


def test_pull_line_mode_and_stderr(session):
    m = xssh.Multi()
    op = m.add_run(session, "printf 'a\\nb'; printf 'e\\n' >&2", pull_options(line_mode=1))
    assert m.perform_all() == 0
    assert op.take_output(1) == b"e\n"
    assert op.take_output(0) == b"a\nb"  # done: the unterminated tail too
    assert op.take_output(0) == b""


def test_pull_errors(session):
    m = xssh.Multi()
    with pytest.raises(exc.InvalidArgumentError, match="pull_output"):
        m.add_run(session, "true", pull_options(), on_output=lambda op, st, d: None)
    plain = m.add_run(session, "true")
    with pytest.raises(exc.BadUseError, match="pull_output"):
        plain.take_output(0)
    with pytest.raises(exc.BadUseError):
        plain.output_pending()
    pulled = m.add_run(session, "true", pull_options())
    with pytest.raises(exc.InvalidArgumentError):
        pulled.take_output(5)
    with pytest.raises(exc.BadUseError):
        plain.entries()
    with pytest.raises(exc.BadUseError):
        plain.sftp()
    m.perform_all()


def test_sftp_open_and_listdir(session, env):
    d = os.path.join(env.dir, "py-listdir-%d" % os.getpid())
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    with open(os.path.join(d, "f.txt"), "wb") as f:
        f.write(b"abc")
    with open(os.path.join(d.encode(), b"bin-\xff"), "wb"):
        pass
    m = xssh.Multi()
    op = m.add_sftp_open(session)
    assert m.perform_all() == 0
    sftp = op.sftp()
    assert isinstance(sftp.stat(d), SFTPAttributes)  # the blocking API on the op's SFTP
    ls = m.add_sftp_listdir(sftp, d)
    missing = m.add_sftp_listdir(sftp, d + "/nope")
    assert m.perform_all() == 0
    ents = ls.entries()
    assert sorted(e[0] for e in ents) == [b"bin-\xff", b"f.txt", b"sub"]
    for name, longentry, attrs in ents:
        assert isinstance(name, bytes) and isinstance(longentry, bytes) and isinstance(attrs, SFTPAttributes)
    assert dict((e[0], e[2].filesize) for e in ents)[b"f.txt"] == 3
    # the same shape as SFTPHandle.readdir_ex's (name, longentry, attrs)
    with sftp.opendir(d) as h:
        blocking = {n: (l, a.filesize) for _, n, l, a in h.readdir_ex() if n not in (b".", b"..")}
    assert {n: (l, a.filesize) for n, l, a in ents} == blocking
    r = missing.result()
    assert isinstance(r.error, exc.SFTPProtocolError) or r.error.code == xssh.core.XSSH_ESFTP_NO_SUCH_FILE
    assert r.error.code == xssh.core.XSSH_ESFTP_NO_SUCH_FILE
    assert r.phase == "transfer"
    with pytest.raises(exc.BadUseError):
        missing.entries()
