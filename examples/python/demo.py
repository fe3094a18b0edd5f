"""xssh demo: connect (host key verified), authenticate, run `echo me; exit 2`, print output and status.

Reads the server from XSSH_TEST_* variables (scripts/demo.sh sets them) or argv:
    demo.py HOST PORT USER KEY KNOWN_HOSTS
"""
import os
import sys

import xssh

if len(sys.argv) >= 6:
    host, port, user, key, known_hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
else:
    e = os.environ
    host, port, user = e["XSSH_TEST_HOST"], int(e["XSSH_TEST_PORT"]), e["XSSH_TEST_USER"]
    key, known_hosts = e["XSSH_TEST_KEY_ED25519"], e["XSSH_TEST_KNOWN_HOSTS"]

print("xssh", xssh.__version__)
with xssh.connect(host, port, user, key=key, known_hosts=known_hosts) as s:
    print("host key", s.hostkey_fingerprint(), "verified; authenticated as", user)
    r = s.run("echo me; exit 2")
    print("stdout:", r.stdout.decode().strip(), "| exit status:", r.exit_status)
