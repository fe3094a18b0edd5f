#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""An SFTP server that lies in its directory listings, for the tree tests: every
listing of a directory also holds one extra entry, a regular file whose name is
given on the command line (--name, e.g. '../escape', 'a/b' or ''). OpenSSH's sftp-server never lists such a name; a
client that joins it to a local path would write outside the destination.

Built on asyncssh (Debian package python3-asyncssh, run with /usr/bin/python3).
Serves the directory --root ("/" is the root) to any user with any password, on
127.0.0.1 only. Prints the port on stdout, then serves until its stdin closes or
--lifetime seconds passed.

    /usr/bin/python3 tests/harness/hostile_names_sftp_server.py --root DIR --name '../escape'
"""
import argparse
import asyncio
import os
import sys
import warnings

warnings.filterwarnings("ignore")  # asyncssh's import warns about old ciphers

import asyncssh  # noqa: E402


class HostileNamesSFTP(asyncssh.SFTPServer):
    def __init__(self, chan, root, name):
        super().__init__(chan, chroot=root)
        self._name = name

    def listdir(self, path):
        names = super().listdir(path)
        attrs = asyncssh.SFTPAttrs(type=asyncssh.FILEXFER_TYPE_REGULAR, size=3, permissions=0o100644)
        return list(names) + [asyncssh.SFTPName(self._name, b"-rw-r--r-- 1 x x 3 Jan 1 2001 " + self._name, attrs)]


class _AnyUser(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return True


async def _serve(root, name, lifetime):
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[key], server_factory=_AnyUser,
        sftp_factory=lambda chan: HostileNamesSFTP(chan, root.encode(), name), allow_scp=False)
    print(server.sockets[0].getsockname()[1], flush=True)
    done = asyncio.get_running_loop().create_future()

    def on_stdin():
        if not os.read(0, 4096) and not done.done():
            done.set_result(None)

    asyncio.get_running_loop().add_reader(0, on_stdin)
    try:
        await asyncio.wait_for(done, lifetime)
    except asyncio.TimeoutError:
        pass
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="directory served as /")
    ap.add_argument("--name", required=True, help="the extra entry's name")
    ap.add_argument("--lifetime", type=float, default=300.0, help="seconds before it exits by itself")
    a = ap.parse_args()
    name = a.name.encode("utf-8", "surrogateescape")
    asyncio.run(_serve(os.path.realpath(a.root), name, a.lifetime))


if __name__ == "__main__":
    sys.exit(main())
