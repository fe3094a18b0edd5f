"""Tunnels from Python: direct_tcpip, Listener, local/remote forward servers, ProxyJump."""
import gc
import os
import socket
import threading

import pytest

import xssh
from xssh.exceptions import KnownHostCheckNotFoundError, SSH2Error


@pytest.fixture
def echo_port():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def roundtrip(port, data):
    with socket.create_connection(("127.0.0.1", port)) as c:
        back = bytearray()

        def reader():
            while True:
                d = c.recv(65536)
                if not d:
                    return
                back.extend(d)

        t = threading.Thread(target=reader)
        t.start()
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        t.join(30)
        assert not t.is_alive()
        return bytes(back)


def test_direct_tcpip_roundtrip(session, echo_port):
    ch = session.direct_tcpip("127.0.0.1", echo_port)
    data = os.urandom(200000)
    rc, n = ch.write(data)
    assert n == len(data)
    ch.send_eof()
    back = b""
    while len(back) < len(data):
        size, chunk = ch.read(65536)
        assert size > 0
        back += chunk
    assert back == data


def test_direct_tcpip_ex_and_refused(session):
    with pytest.raises(SSH2Error) as ei:
        session.direct_tcpip_ex("127.0.0.1", 1, "127.0.0.1", 5555)
    assert "127.0.0.1:1" in str(ei.value)


def test_listener(session):
    from xssh.listener import Listener
    l, bound = session.forward_listen_ex(4, host="127.0.0.1", port=0)  # ssh2-python: (Listener, bound port)
    assert isinstance(l, Listener)
    port = l.bound_port()
    assert port > 0 and bound == port
    c = socket.create_connection(("127.0.0.1", port))
    ch = l.forward_accept()
    c.sendall(b"hello")
    assert ch.read(5) == (5, b"hello")
    c.close()
    l.forward_cancel()
    with pytest.raises(xssh.exceptions.ClosedError):
        l.forward_accept()


def test_local_forward_concurrent(session, echo_port):
    with session.forward_local("127.0.0.1", 0, "127.0.0.1", echo_port) as fwd:
        port = fwd.port()
        blobs = [os.urandom(300000) for _ in range(8)]
        results = [None] * len(blobs)

        def work(i):
            results[i] = roundtrip(port, blobs[i])

        ts = [threading.Thread(target=work, args=(i,)) for i in range(len(blobs))]
        [t.start() for t in ts]
        [t.join(60) for t in ts]
        assert results == blobs
        st = fwd.stats()
        assert st.accepted == 8 and st.failed == 0 and st.bytes_out == sum(map(len, blobs))
        assert fwd.is_running() is True
    assert fwd.is_running() is False


def test_remote_forward(session, echo_port):
    fwd = session.forward_remote("127.0.0.1", 0, "127.0.0.1", echo_port)
    data = os.urandom(100000)
    assert roundtrip(fwd.port(), data) == data
    fwd.stop()


def test_proxy_jump_two_hops(env):
    hop = "%s@%s:%d" % (env.user, env.host, env.port)
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts,
                     proxy_jump=[hop, (env.host, env.port)])
    r = s.run("echo via; exit 4")
    assert r.stdout == b"via\n" and r.exit_status == 4
    gc.collect()  # the hops live as long as the target
    assert s.run("echo again").stdout == b"again\n"
    s.close()


def test_proxy_jump_unknown_hop_key_fails_strict(env, tmpdir_path):
    empty = os.path.join(tmpdir_path, "kh")
    open(empty, "w").close()
    with pytest.raises(KnownHostCheckNotFoundError):
        xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=empty,
                     proxy_jump=["%s:%d" % (env.host, env.port)])


def test_gc_orders(env, echo_port):
    for order in range(3):
        s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
        objs = [s, s.forward_listen(0), s.forward_local(None, 0, "127.0.0.1", echo_port)]
        del s
        objs = objs[order:] + objs[:order]
        while objs:
            objs.pop(0)
            gc.collect()
