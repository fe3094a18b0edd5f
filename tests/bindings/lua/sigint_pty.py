#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Ctrl-C stops xssh.run_many in the standalone lua5.4 (docs/run_many.md).

Runs `lua5.4 -e CODE` on a pseudo-terminal (lua.c installs its SIGINT handler
either way), where CODE runs run_many of a command that never ends by itself
(touch MARKER; sleep 300). Once MARKER exists (the command runs: forced, not
timed) the driver sends SIGINT, then expects lua5.4 to exit with
"interrupted" in its output. The 120 s limits are failure guards only.
Usage: sigint_pty.py HOST KEY KNOWN_HOSTS MARKER; exit 0 on success.
       sigint_pty.py HOST KEY KNOWN_HOSTS DIR put: put_many of a 16 GiB sparse file
       into DIR instead; SIGINT once its remote temporary file exists; then DIR must
       be empty (the cancel was driven to its end: the temporary removed).
"""
import os
import pty
import signal
import sys
import time

host, key, known, marker = sys.argv[1:5]
put = len(sys.argv) > 5 and sys.argv[5] == "put"
if put:
    src = os.path.join(marker, "..", os.path.basename(marker) + ".src")
    with open(src, "wb") as f:
        f.truncate(16 << 30)  # sparse: minutes to send, so it is mid-way when interrupted
    code = (
        'local xssh = require "xssh"\n'
        'xssh.put_many({%r}, %r, %r, {key=%r, known_hosts=%r, agent=false})\n'
        'print("RETURNED")\n' % (host, src, os.path.join(marker, "huge"), key, known)
    ).replace("'", '"')
else:
    code = (
        'local xssh = require "xssh"\n'
        'xssh.run_many({%r}, "touch %s; sleep 300", {key=%r, known_hosts=%r, agent=false})\n'
        'print("RETURNED")\n' % (host, marker, key, known)
    ).replace("'", '"')


def started():
    if put:
        return any(".xssh-" in f for f in os.listdir(marker))
    return os.path.exists(marker)


pid, fd = pty.fork()
if pid == 0:
    os.execvp("lua5.4", ["lua5.4", "-e", code])
out = b""
deadline = time.monotonic() + 120
while not started():
    if time.monotonic() > deadline:
        sys.exit("the remote command never started")
    time.sleep(0.05)
os.kill(pid, signal.SIGINT)
sent = time.monotonic()
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        sys.exit("lua5.4 did not stop after SIGINT: " + out.decode(errors="replace"))
_, st = os.waitpid(pid, 0)
took = time.monotonic() - sent
text = out.decode(errors="replace")
if b"interrupted" not in out or b"RETURNED" in out or os.waitstatus_to_exitcode(st) == 0:
    sys.exit("expected an 'interrupted' error, got status %d: %s" % (st, text))
if put:
    os.unlink(src)
    left = os.listdir(marker)
    if left:
        sys.exit("the remote temporary file was left behind: %s (%s)" % (left, text))
print("stopped %.2f s after SIGINT: %s" % (took, text.strip().splitlines()[0] if text.strip() else ""))
