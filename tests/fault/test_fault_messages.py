"""The first cause wins: errors after a network fault name the fault and its
phase, not the clean-up (defect 8). Each test forces its fault with the fault
proxy at an exact point (the client is idle between calls), no timing.

  XSSH_TEST_ENV=... PYTHONPATH=build/python python3 -m pytest tests/fault/test_fault_messages.py
"""
import os
import sys

import pytest

import xssh
from xssh import exceptions as X

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultproxy import FaultProxy  # noqa: E402

ENV = dict(line.rstrip("\n").split("=", 1) for line in open(os.environ["XSSH_TEST_ENV"]) if "=" in line)
PORT = int(ENV["XSSH_TEST_PORT"])
CAUSE = ("closed the connection", "reset by", "EPIPE", "end of stream")
CLEANUP = ("closing anyway", "ESOCKET_NONE", "MaxAuthTries", "idle timeout")


@pytest.fixture
def proxy():
    p = FaultProxy(PORT)
    yield p
    p.close()


def connect(p, timeout_ms=3000):
    s = xssh.Session()
    s.connect("127.0.0.1", p.port, timeout_ms)
    return s


def authed(p, timeout_ms=3000):
    s = connect(p, timeout_ms)
    s.set_timeout(timeout_ms)
    s.userauth_publickey_fromfile(ENV["XSSH_TEST_USER"], ENV["XSSH_TEST_KEY_ED25519"])
    return s


def names_cause(msg):
    assert any(w in msg for w in CAUSE), msg
    for w in CLEANUP:
        assert w not in msg, msg


def test_cut_during_key_exchange_names_it(proxy):
    # 100 bytes into the client's stream: past its identification line (24
    # bytes), inside its KEXINIT; the server's identification has arrived
    proxy.arm("cut", "c2s", 100)
    with pytest.raises(X.SessionHandshakeError) as ei:
        connect(proxy)
    msg = str(ei.value)
    assert "during the key exchange" in msg, msg
    names_cause(msg)
    assert ei.value.libssh2_code in (xssh.core.XSSH_ESOCKET_DISCONNECT, xssh.core.XSSH_ESOCKET_RECV), msg


def test_reset_during_identification_names_it(proxy):
    proxy.arm("rst", "s2c", 5)  # inside the server's "SSH-2.0-..." line
    with pytest.raises(X.SessionHandshakeError) as ei:
        connect(proxy)
    msg = str(ei.value)
    assert "identification" in msg, msg
    names_cause(msg)


def test_cut_during_authentication_has_no_maxauthtries_hint(proxy):
    s = connect(proxy)
    proxy.arm("cut", "c2s", 0)  # the authentication request never arrives
    with pytest.raises(X.SSH2Error) as ei:
        s.userauth_publickey_fromfile(ENV["XSSH_TEST_USER"], ENV["XSSH_TEST_KEY_ED25519"])
    msg = str(ei.value)
    assert "authentication" in msg and "connection was lost" in msg, msg
    names_cause(msg)
    assert isinstance(ei.value, (X.SocketDisconnectError, X.SocketRecvError, X.SocketSendError)), repr(ei.value)


def test_sftp_start_cut_names_the_cause_not_the_cleanup(proxy):
    s = authed(proxy)
    proxy.arm("cut", "s2c", 0)  # no reply to the channel open
    with pytest.raises(X.SSH2Error) as ei:
        s.sftp_init()
    msg = str(ei.value)
    assert "SFTP" in msg and "connection was lost" in msg, msg
    names_cause(msg)


def test_run_cut_names_the_cause_and_later_calls_the_first_failure(proxy):
    s = authed(proxy)
    proxy.arm("rst", "s2c", 0)
    with pytest.raises(X.SSH2Error) as ei:
        s.run("echo hello")
    first = str(ei.value)
    assert first.startswith("run: ") and "connection was lost" in first, first
    names_cause(first)
    # the next call on the dead session reports the first failure, with its phase
    with pytest.raises(X.SSH2Error) as ei:
        s.run("echo again")
    again = str(ei.value)
    assert "first failure: run: " in again, again
    names_cause(again)


def test_run_start_timeout_is_not_called_idle(proxy):
    # a black hole before the channel opens: the session timeout ends run()
    # (no idle timeout was set, so the message must not speak of one)
    s = authed(proxy, 1000)
    proxy.arm("hole", "s2c", 0)
    with pytest.raises(X.Timeout) as ei:
        s.run("echo hello")
    msg = str(ei.value)
    assert "timed out" in msg and "session timeout 1000 ms" in msg, msg
    assert "idle" not in msg, msg


def test_run_idle_timeout_is_called_idle(proxy):
    # the counterpart: with an idle timeout set and a silent command, it is named
    s = authed(proxy, 5000)
    with pytest.raises(X.Timeout) as ei:
        s.run("sleep 30", idle_timeout=0.5)
    msg = str(ei.value)
    assert "idle timeout" in msg and "500 ms" in msg, msg
