#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A deliberately different SFTP server for the append tests: it writes every
SSH_FXP_WRITE at the offset the request carries, also on a handle opened with
SSH_FXF_APPEND (SFTP draft 3 says such writes go to the end; servers such as
the one in libssh2/libssh2#1136 use the offset instead). OpenSSH's sftp-server
opens APPEND files with O_APPEND, so the kernel ignores the offset there and a
client bug that sends offset 0 stays hidden; this server makes it visible.

Built on asyncssh (Debian package python3-asyncssh, run with /usr/bin/python3).
Serves the directory --root (paths are relative to it, "/" is the root) to any
user name with any password or public key, on 127.0.0.1 only. Prints the port
on stdout, then serves until its stdin closes (the test that started it ended)
or --lifetime seconds passed.

    /usr/bin/python3 tests/harness/offset_sftp_server.py --root DIR [--lifetime 300]
"""
import argparse
import asyncio
import os
import sys
import warnings

warnings.filterwarnings("ignore")  # asyncssh's import warns about old ciphers

import asyncssh  # noqa: E402


class _Fd:
    """An open file of the server: a bare descriptor, so no Python buffering or
    O_APPEND can move a write away from its offset."""

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd

    def flush(self):
        pass  # nothing buffered (asyncssh calls it before fstat/fsetstat)


def _os_flags(pflags):
    if pflags & asyncssh.FXF_READ and pflags & asyncssh.FXF_WRITE:
        flags = os.O_RDWR
    elif pflags & asyncssh.FXF_WRITE:
        flags = os.O_WRONLY
    else:
        flags = os.O_RDONLY
    if pflags & asyncssh.FXF_CREAT:
        flags |= os.O_CREAT
    if pflags & asyncssh.FXF_TRUNC:
        flags |= os.O_TRUNC
    if pflags & asyncssh.FXF_EXCL:
        flags |= os.O_EXCL
    # FXF_APPEND is deliberately not mapped to O_APPEND: writes land at their offset
    return flags


class OffsetHonouringSFTP(asyncssh.SFTPServer):
    def __init__(self, chan, root):
        super().__init__(chan, chroot=root)

    def open(self, path, pflags, attrs):
        mode = attrs.permissions if attrs.permissions is not None else 0o644
        return _Fd(os.open(self.map_path(path), _os_flags(pflags) | os.O_CLOEXEC, mode & 0o7777))

    def read(self, file_obj, offset, size):
        return os.pread(file_obj.fd, size, offset)

    def write(self, file_obj, offset, data):
        return os.pwrite(file_obj.fd, data, offset)

    def close(self, file_obj):
        os.close(file_obj.fd)


class _AnyUser(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True  # authentication required, any credentials accepted

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return True

    def public_key_auth_supported(self):
        return True

    def validate_public_key(self, username, key):
        return True


async def _serve(root, lifetime):
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[key], server_factory=_AnyUser,
        sftp_factory=lambda chan: OffsetHonouringSFTP(chan, root.encode()), allow_scp=False)
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
    ap.add_argument("--lifetime", type=float, default=300.0, help="seconds before it exits by itself")
    a = ap.parse_args()
    asyncio.run(_serve(os.path.realpath(a.root), a.lifetime))


if __name__ == "__main__":
    sys.exit(main())
