"""ssh -L in Python: forward a free local port to DEST_HOST:DEST_PORT through the server.

    local_forward.py HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS]
"""
import sys
import time

import xssh

host, port, user, key, kh, dhost, dport = sys.argv[1:8]
seconds = int(sys.argv[8]) if len(sys.argv) > 8 else 30
with xssh.connect(host, int(port), user, key=key, known_hosts=kh) as s:
    with s.forward_local("127.0.0.1", 0, dhost, int(dport)) as fwd:
        print("forwarding 127.0.0.1:%d -> %s:%s for %d s" % (fwd.port(), dhost, dport, seconds), flush=True)
        time.sleep(seconds)
        print(fwd.stats())
