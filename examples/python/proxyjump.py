"""ssh -J in Python: run a command on TARGET through JUMP, every host key checked (strict).

    proxyjump.py JUMP_HOST:JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]
"""
import sys

import xssh

jump, thost, tport, user, key, kh = sys.argv[1:7]
cmd = sys.argv[7] if len(sys.argv) > 7 else "echo hello from the far side"
with xssh.connect(thost, int(tport), user, key=key, known_hosts=kh, proxy_jump=[jump]) as s:
    r = s.run(cmd)
    sys.stdout.buffer.write(r.stdout)
    sys.exit(r.exit_status)
