# SPDX-License-Identifier: BSD-3-Clause
"""Server-side helper of the exit tests, started by the programs through an SSH
channel (the test sshd runs on this machine, so the server reaches our ports):

    helper.py sink                 listen on 127.0.0.1:0, print the port, read and
                                   discard every connection
    helper.py stream PORT [PORT..] connect to each port and send bytes without
                                   pause; print "ok" once every connection sent

Both keep traffic flowing through the program's forwards while it exits. They
end when their stdin closes (the channel or the SSH connection is gone), when a
connection breaks, or after 120 s at most.
"""
import os
import socket
import sys
import threading


def _exit_on_stdin_eof():
    def watch():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    threading.Timer(120, lambda: os._exit(0)).start()


def sink():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    sys.stdout.write("%d\n" % srv.getsockname()[1])
    sys.stdout.flush()

    def drain(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    while True:
        c, _ = srv.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()


def stream(ports):
    block = b"x" * 65536
    started = threading.Barrier(len(ports) + 1)

    def send(port):
        c = socket.create_connection(("127.0.0.1", port), timeout=60)
        c.sendall(block)
        started.wait()
        try:
            while True:
                c.sendall(block)
        except OSError:
            os._exit(0)

    for p in ports:
        threading.Thread(target=send, args=(p,), daemon=True).start()
    started.wait()
    sys.stdout.write("ok\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    _exit_on_stdin_eof()
    if sys.argv[1] == "sink":
        sink()
    else:
        stream([int(p) for p in sys.argv[2:]])
