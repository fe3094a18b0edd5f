"""Channels and Session.run() from Python, against the real sshd (ssh2-python shapes)."""
import select
import threading
import time

import pytest

import xssh
from xssh import exceptions
from xssh.channel import (Channel, LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE, LIBSSH2_CHANNEL_WINDOW_DEFAULT,
                          SSH_EXTENDED_DATA_STDERR)
from xssh.session import LIBSSH2_SESSION_BLOCK_INBOUND, LIBSSH2_SESSION_BLOCK_OUTBOUND

EAGAIN = xssh.core.XSSH_EAGAIN


def read_all(chan, stderr=False):
    data = b""
    while True:
        n, chunk = chan.read_stderr(65536) if stderr else chan.read(65536)
        assert n >= 0
        if n == 0:
            return data
        assert n == len(chunk)
        data += chunk


def test_constants():
    assert LIBSSH2_CHANNEL_WINDOW_DEFAULT == 2 * 1024 * 1024
    assert SSH_EXTENDED_DATA_STDERR == 1
    assert LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE == 2
    assert EAGAIN == -37


@pytest.mark.parametrize("code", [0, 1, 2, 255])
def test_execute_exit_status(session, code):
    chan = session.open_session()
    assert isinstance(chan, Channel)
    assert chan.session is session
    assert chan.execute("echo out; echo err >&2; exit %d" % code) == 0
    assert read_all(chan) == b"out\n"
    assert read_all(chan, stderr=True) == b"err\n"
    assert chan.wait_eof() == 0
    assert chan.eof() is True
    assert chan.close() == 0
    assert chan.wait_closed() == 0
    assert chan.get_exit_status() == code
    assert chan.exit_status_ex() == (code, True)
    assert chan.get_exit_signal() == (0, b"", b"", b"")


def test_exit_status_not_yet_and_signal(session):
    chan = session.open_session()
    chan.execute("read x; kill -TERM $$")
    assert chan.exit_status_ex() == (0, False)
    assert chan.get_exit_status() == 0
    rc, n = chan.write(b"go\n")
    assert (rc, n) == (3, 3)
    chan.send_eof()
    read_all(chan)
    chan.close()
    assert chan.get_exit_signal()[1] == b"TERM"
    assert chan.exit_status_ex() == (0, False)


def test_read_ex_merge_and_flush(session):
    chan = session.open_session()
    chan.handle_extended_data2(LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE)
    chan.execute("echo a; echo b >&2; sleep 0.1; echo c")
    data = b""
    while True:
        n, chunk = chan.read_ex(10, 0)
        if n == 0:
            break
        assert n <= 10
        data += chunk
    assert data == b"a\nb\nc\n"
    chan.close()

    chan = session.open_session()
    chan.execute("echo keep; echo drop >&2")
    chan.wait_eof()
    assert chan.flush_stderr() == 5
    assert read_all(chan) == b"keep\n"
    assert read_all(chan, stderr=True) == b""
    chan.close()


def test_pty_shell_resize(session):
    chan = session.open_session()
    chan.pty("xterm")
    chan.shell()
    chan.write("echo hi-$((6*7)); stty size\n")
    buf = b""
    deadline = time.time() + 20
    while b"24 80" not in buf or b"hi-42" not in buf:
        assert time.time() < deadline, buf
        n, chunk = chan.read()
        assert n > 0
        buf += chunk
    chan.pty_size(120, 50)
    chan.write(b"stty size; exit 9\n")
    rest = read_all(chan)
    assert b"50 120" in rest
    chan.close()
    assert chan.get_exit_status() == 9


def test_setenv_subsystem_process_startup(session):
    chan = session.open_session()
    chan.setenv("XSSH_PY_VAR", "v a l")
    chan.process_startup("exec", 'printf %s "$XSSH_PY_VAR"')
    assert read_all(chan) == b"v a l"
    chan.close()

    chan = session.open_session()
    with pytest.raises(exceptions.SSH2Error):
        chan.setenv("NOT_ACCEPTED", "x")

    chan = session.open_session()
    chan.subsystem("sftp")
    chan.write(b"\0\0\0\x05\x01\0\0\0\x03")  # SSH_FXP_INIT v3
    n, reply = chan.read(9)
    assert n == 9 and reply[4] == 2 and reply[8] == 3  # SSH_FXP_VERSION 3
    chan.close()


def test_binary_cat_round_trip_nonblocking(session):
    data = bytes(range(256)) * (4 * 4096)  # 4 MiB, every byte value
    chan = session.open_session()
    chan.execute("cat")
    session.set_blocking(False)
    sock = session.socket()
    off, back, eof_sent, eagains = 0, [], False, 0
    # nothing was written yet, so cat cannot have answered: a non-blocking read must say EAGAIN
    # (the loop below may never see one on a slow client: the data is always there already)
    n, _ = chan.read(1 << 20)
    assert n == EAGAIN
    eagains += 1
    got = 0
    deadline = time.time() + 120
    while got < len(data):
        assert time.time() < deadline
        moved = False
        if off < len(data):
            rc, n = chan.write(data[off:off + (1 << 20)])
            off += n
            moved |= n > 0
            eagains += rc == EAGAIN
        elif not eof_sent:
            eof_sent = chan.send_eof() == 0
        n, chunk = chan.read(1 << 20)
        if n == EAGAIN:
            eagains += 1
        else:
            assert n > 0
            back.append(chunk)
            got += n
            moved = True
        if not moved:
            d = session.block_directions()
            r = [sock] if d & LIBSSH2_SESSION_BLOCK_INBOUND else []
            w = [sock] if d & LIBSSH2_SESSION_BLOCK_OUTBOUND else []
            select.select(r or [sock], w, [], 0.1)
    assert b"".join(back) == data
    assert eagains > 0
    while not eof_sent:  # all data may have come back before EOF was sent
        eof_sent = chan.send_eof() == 0
    # the server's EOF before closing (closing earlier may beat the exit status)
    while True:
        assert time.time() < deadline
        n, chunk = chan.read()
        if n == EAGAIN:
            select.select([sock], [], [], 0.1)
            continue
        assert n == 0
        break
    while chan.close() == EAGAIN:
        time.sleep(0.001)
    session.set_blocking(True)
    assert chan.get_exit_status() == 0


def test_nonblocking_open_and_execute_return_eagain(session):
    session.set_blocking(False)
    sock = session.socket()
    chan = session.open_session()
    while chan == EAGAIN:
        select.select([sock], [], [], 0.1)
        chan = session.open_session()
    while chan.execute("sleep 0.2; echo nb") == EAGAIN:
        select.select([sock], [], [], 0.1)
    saw_eagain = False
    data = b""
    while True:
        n, chunk = chan.read()
        if n == EAGAIN:
            saw_eagain = True
            select.select([sock], [], [], 0.1)
            continue
        if n == 0:
            break
        data += chunk
    assert data == b"nb\n" and saw_eagain
    session.set_blocking(True)
    chan.close()


def test_closed_channel_and_closed_session(env):
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    chan = s.open_session()
    chan.execute("true")
    chan.close()
    assert chan.is_closed()
    assert chan.read() == (0, b"")  # reads hand out what came before the close (nothing): end of stream
    for call in (lambda: chan.write(b"x"), lambda: chan.execute("x"), lambda: chan.send_eof()):
        with pytest.raises(exceptions.SSH2Error) as ei:
            call()
        assert ei.value.name == "XSSH_ECLOSED"
    chan2 = s.open_session()
    s.close()
    with pytest.raises(exceptions.SSH2Error) as ei:
        chan2.read()
    assert ei.value.name == "XSSH_ECLOSED"
    with pytest.raises(exceptions.SSH2Error):
        s.open_session()
    del s  # the channel keeps its session alive; nothing crashes
    with pytest.raises(exceptions.SSH2Error):
        chan2.get_exit_status()
    del chan2


def test_bad_arguments(session):
    chan = session.open_session()
    with pytest.raises(exceptions.InvalidArgumentError):
        chan.execute(None)
    with pytest.raises(TypeError):
        chan.write(12)
    with pytest.raises((TypeError, ValueError)):
        chan.read(-1)
    with pytest.raises(exceptions.SSH2Error):
        chan.handle_extended_data2(9)
    chan.close()


def test_windows_and_misc(session):
    chan = session.open_session()
    chan.execute("sleep 0.1")
    window = chan.window_read_ex(0, 0)  # ssh2-python returns the window only
    assert isinstance(window, int) and window > 0
    assert chan.window_read() == window
    assert isinstance(chan.window_write_ex(0), int)
    assert chan.window_write() > 0
    assert chan.receive_window_adjust(65536, 1) >= window
    assert chan.poll_channel_read(0) == 0
    try:
        chan.signal("INT")  # libssh2 >= 1.11 only
    except exceptions.SSH2Error as e:
        assert e.name == "XSSH_ENOTSUPPORTED" and "unsupported by this build" in e.message
    with chan:
        pass
    assert chan.is_closed()
    assert "closed" in repr(chan)


def test_run_basic(session):
    r = session.run("echo out; echo err >&2; exit 3")
    assert r.stdout == b"out\n"
    assert r.stderr == b"err\n"
    assert r.exit_status == 3
    assert r.exit_signal is None
    assert not r.ok
    out, err, status, sig = r
    assert status == 3
    r = session.run("kill -TERM $$")
    assert r.exit_status is None and r.exit_signal == b"TERM"


def test_run_big_both_streams_and_stdin(session):
    n = 8 << 20
    r = session.run("(head -c %d /dev/zero | tr '\\0' o) & (head -c %d /dev/zero | tr '\\0' e >&2) & wait" % (n, n))
    assert len(r.stdout) == n and len(r.stderr) == n
    assert r.stdout.count(b"o") == n and r.stderr.count(b"e") == n
    data = bytes(range(256)) * 8192  # 2 MiB
    r = session.run("cat", stdin=data)
    assert r.stdout == data and r.exit_status == 0
    assert session.run("wc -c", stdin="héllo").stdout.strip() == b"6"


def test_run_options(session):
    r = session.run("echo a; echo b >&2", merge_stderr=True)
    assert r.stdout == b"a\nb\n" and r.stderr == b""
    r = session.run("tty", pty=True)
    assert b"/dev/pts/" in r.stdout


def test_run_timeouts(session):
    t0 = time.time()
    with pytest.raises(exceptions.Timeout):
        session.run("sleep 30", timeout=1)
    assert time.time() - t0 < 6
    t0 = time.time()
    with pytest.raises(exceptions.Timeout):
        session.run("echo x; sleep 30", idle_timeout=0.8)
    assert time.time() - t0 < 6
    assert session.run("echo after").stdout == b"after\n"
    with pytest.raises(ValueError):
        session.run("true", timeout=-1)


def test_threads_two_channels_one_session(session):
    """Long calls release the GIL and the C lock is per session: two threads make progress together."""
    errors = []

    def worker(i):
        try:
            chan = session.open_session()
            chan.execute("cat")
            block = bytes([i]) * 65536
            for _ in range(32):
                rc, n = chan.write(block)
                assert n == len(block)
                got = b""
                while len(got) < len(block):
                    k, chunk = chan.read(len(block) - len(got))
                    assert k > 0
                    got += chunk
                assert got == block
            chan.send_eof()
            chan.close()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors


def test_two_blocking_runs_in_two_threads_overlap(env):
    """The GIL is released around run(): two sessions' blocking runs overlap."""
    import time as _time
    sessions = [xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
                for _ in range(2)]
    t0 = _time.monotonic()
    sessions[0].run("sleep 1")
    one = _time.monotonic() - t0
    results = []
    ts = [threading.Thread(target=lambda s=s: results.append(s.run("sleep 1; echo done").stdout)) for s in sessions]
    t0 = _time.monotonic()
    [t.start() for t in ts]
    [t.join(30) for t in ts]
    both = _time.monotonic() - t0
    assert results == [b"done\n", b"done\n"]
    assert both < one * 1.6, "two runs in two threads took %.2fs, one took %.2fs" % (both, one)
    for s in sessions:
        s.close()
