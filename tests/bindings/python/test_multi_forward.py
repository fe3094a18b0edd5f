"""Multi.add_forward_local (the local forward as a multi operation): op.forward_port(),
op.forward_stats() (a ForwardStats, as Forward.stats()), cancel.

One thread drives the Multi (m.wait) and talks through the forwarded port with a non-blocking
socket between the steps; the destination is a small echo server on a thread. No timing: every
loop waits for a condition, bounded by a step count far beyond what a loaded machine needs.
"""
import errno
import socket
import threading

import pytest

import xssh
from xssh import exceptions as exc

#: steps of m.wait(20) before a loop gives up
STEPS = 20000


@pytest.fixture
def echo_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def conn(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.sendall(b"<eof seen>")

    def accept():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def drive_until(m, cond):
    for _ in range(STEPS):
        if cond():
            return
        m.wait(20)
    assert cond(), "condition not reached"


def test_forward_op_echo_eof_stats_cancel(session, echo_server):
    m = xssh.Multi()
    op = m.add_forward_local(session, None, 0, "127.0.0.1", echo_server)
    port = op.forward_port()
    assert isinstance(port, int) and port > 0
    st = op.forward_stats()
    assert type(st).__name__ == "ForwardStats"  # as Forward.stats()
    assert (st.accepted, st.active, st.failed, st.bytes_out, st.bytes_in) == (0, 0, 0, 0, 0)

    c = socket.create_connection(("127.0.0.1", port))
    c.setblocking(False)
    data = bytes(range(256)) * 400  # 100 KiB
    sent = 0
    got = bytearray()
    shut = False

    def step():
        nonlocal sent, shut
        if sent < len(data):
            try:
                sent += c.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        elif not shut:
            c.shutdown(socket.SHUT_WR)  # EOF our way: the server's answer to it comes back
            shut = True
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return True
                got.extend(d)
        except BlockingIOError:
            return False

    drive_until(m, step)
    c.close()
    assert bytes(got) == data + b"<eof seen>"
    drive_until(m, lambda: op.forward_stats().active == 0)
    st = op.forward_stats()
    assert st.accepted == 1 and st.failed == 0
    assert st.bytes_out == len(data) and st.bytes_in == len(data) + len(b"<eof seen>")

    # a run op on the same session completes while the forward is open
    run = m.add_run(session, "echo alongside")
    drive_until(m, lambda: run.state() == xssh.core.XSSH_OP_DONE)
    assert run.result().stdout == b"alongside\n"
    assert op.state() == xssh.core.XSSH_OP_RUNNING

    op.cancel()
    drive_until(m, lambda: op.state() == xssh.core.XSSH_OP_DONE)
    r = op.result()
    assert isinstance(r.error, exc.CancelledError) and r.error.code == xssh.core.XSSH_ECANCELLED, r
    assert r.transferred == st.bytes_out + st.bytes_in
    with pytest.raises(OSError) as ei:
        socket.create_connection(("127.0.0.1", port))
    assert ei.value.errno == errno.ECONNREFUSED


def test_forward_op_bad_input(session):
    m = xssh.Multi()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    taken = busy.getsockname()[1]
    with pytest.raises(exc.ConnectError) as ei:
        m.add_forward_local(session, "127.0.0.1", taken, "127.0.0.1", 22)
    assert "127.0.0.1:%d" % taken in str(ei.value)
    busy.close()
    with pytest.raises(exc.InvalidArgumentError):
        m.add_forward_local(session, None, 0, "127.0.0.1", 0)
    with pytest.raises(exc.InvalidArgumentError):
        m.add_forward_local(session, None, 70000, "127.0.0.1", 22)
    # not a forward op
    run = m.add_run(session, "true")
    with pytest.raises(exc.BadUseError):
        run.forward_port()
    with pytest.raises(exc.BadUseError):
        run.forward_stats()
    m.perform_all()
