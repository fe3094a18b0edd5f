# SPDX-License-Identifier: BSD-3-Clause
"""exit_py.py MODE HELPER: every kind of xssh object alive, traffic flowing, then leave by MODE:

    sys_exit     sys.exit(7) (interpreter finalisation frees the objects, then exit())
    os__exit     os._exit(7) (nothing runs: no finaliser, no atexit handler)
    end          fall off the end of the script (exit code 0)
    del_exit     drop every object, parents first, then sys.exit(7)
    close_exit   close every session held, check no forward runs, then sys.exit(7)

Alive: session S with channels mid-command (the helper's sink and stream), an SFTP
handle, a listener, a local and a remote forward each carrying a live connection,
a 2-hop ProxyJump chain S -> H2 -> T whose `cat /dev/zero` a daemon thread reads,
and a second target T2 through the same hops, disconnected (its hops live on).
Setup failures exit 2 with a message. Reads $XSSH_TEST_ENV.
"""
import os
import sys
import threading

import xssh
from xssh.sftp import LIBSSH2_FXF_READ

mode, helper = sys.argv[1], sys.argv[2]
env = dict(line.rstrip("\n").split("=", 1) for line in open(os.environ["XSSH_TEST_ENV"]) if "=" in line)
HOST, PORT, USER = env["XSSH_TEST_HOST"], int(env["XSSH_TEST_PORT"]), env["XSSH_TEST_USER"]
KEY, KH = env["XSSH_TEST_KEY_ED25519"], env["XSSH_TEST_KNOWN_HOSTS"]


def hop(via=None):
    s = xssh.Session()
    if via is None:
        s.connect(HOST, PORT, 30000)
    else:
        s.connect_via(via, HOST, PORT, 30000)
    s.verify_host(HOST, PORT, xssh.HOSTKEY_STRICT, KH)
    s.userauth_publickey_fromfile(USER, KEY, None)
    return s


def start(s, cmd):
    ch = s.open_session()
    ch.execute(cmd)
    return ch


def read_line(ch):
    line = b""
    while not line.endswith(b"\n"):
        n, d = ch.read(1)
        if n <= 0:
            sys.stderr.write("exit_py: the helper ended early\n")
            os._exit(2)
        line += d
    return line.decode()


def wait_for(cond, what):
    ev = threading.Event()
    for _ in range(6000):  # a condition the helper forces; bounded so a broken setup fails
        if cond():
            return
        ev.wait(0.01)
    sys.stderr.write("exit_py: %s never happened\n" % what)
    os._exit(2)


S = hop()
sink = start(S, "exec python3 %s sink" % helper)
sink_port = int(read_line(sink))
L = S.forward_local("127.0.0.1", 0, "127.0.0.1", sink_port)
R = S.forward_remote("127.0.0.1", 0, "127.0.0.1", sink_port)
listener = S.forward_listen(0)
streamer = start(S, "exec python3 %s stream %d %d" % (helper, L.port(), R.port()))
read_line(streamer)
sftp = S.sftp_init()
fh = sftp.open(helper, LIBSSH2_FXF_READ, 0)
H2 = hop(S)
T = hop(H2)
T2 = hop(H2)
del H2  # the chain keeps the hop alive
zero = start(T, "exec cat /dev/zero")
streamed = [0]


def reader(ch):
    try:
        while True:
            n, _ = ch.read(65536)
            if n <= 0:
                return
            streamed[0] += n
    except Exception:
        return  # the session was closed under us: a clean error


threading.Thread(target=reader, args=(zero,), daemon=True).start()
T2.disconnect()  # closed target, hops alive: the reported crash
wait_for(lambda: sum(L.stats()[3:]) > 0, "traffic through the local forward")
wait_for(lambda: sum(R.stats()[3:]) > 0, "traffic through the remote forward")
wait_for(lambda: streamed[0] > 0, "traffic through the ProxyJump chain")

if mode == "sys_exit":
    sys.exit(7)
elif mode == "os__exit":
    os._exit(7)
elif mode == "end":
    pass
elif mode == "del_exit":
    del S, T, T2, sftp, L, listener, sink, R, fh, streamer
    sys.exit(7)
elif mode == "close_exit":
    T.close()
    S.disconnect()
    T2.close()
    if L.is_running() or R.is_running():
        sys.stderr.write("exit_py: a forward runs after its session was closed\n")
        os._exit(97)
    sys.exit(7)
else:
    sys.stderr.write("exit_py: unknown mode %s\n" % mode)
    os._exit(2)
