#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of every fuzz target into corpus/<target>/ (deterministic).

    make_seeds.py                      # the hand-made seeds of every target
    make_seeds.py --record HOST PORT   # also record real sshd replies for fuzz_session
                                       # (a real OpenSSH sshd, e.g. tests/harness's)

The recording speaks just enough SSH to make a real sshd send its identification,
KEXINIT, key-exchange reply and NEWKEYS for several key exchanges and host key
types; the stored file is everything the server sent (replayed to xssh it fails
at the host key signature, which covers the recording client's ephemeral key).
Only the standard library is used."""
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = {  # the server keys of fuzz_known_hosts_file.c
    "ssh-ed25519": "AAAAC3NzaC1lZDI1NTE5AAAAIKn5scs8A+Zetetz8aRRzSBpS8bVrhcfz5xuPKFEldvf",
    "ecdsa-sha2-nistp256": "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJsXBeopRspybu8I9itdt57/pf3IykQnZ8+38y5"
                           "HqSh7y233GLREcbkvru3z6U8mregRXtrCcPPpiztRfebrsbc=",
    "ssh-rsa": "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCvGlqnJENrqYiYFRLVQO0Vzs9+JA/9Vhi7fcurs9OqXOdPHzWlJMsCskCxS7BzV6fUXtY9ts"
               "cC+xHzSkkqmAz3aJmUK4eFNTvNsvDDFfGP+ebtfvetHT+m8p6ajRfwS5reob5TMcZtldB3/WsLIPl5xhEG0qM80ETfu/JOthgMIQ==",
}
ED, EC, RSA = KEYS["ssh-ed25519"], KEYS["ecdsa-sha2-nistp256"], KEYS["ssh-rsa"]
OTHER_ED = "AAAAC3NzaC1lZDI1NTE5AAAAIBOmRuKEfMzqDNfSFSmbbhJzpIgsaiJ7rCD8o6LwA0xq"


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def sstr(b):
    b = b if isinstance(b, bytes) else b.encode()
    return struct.pack(">I", len(b)) + b


def packet(payload, block=8):
    pad = block - (len(payload) + 5) % block
    if pad < 4:
        pad += block
    return struct.pack(">IB", len(payload) + pad + 1, pad) + payload + b"\0" * pad


def kexinit(kex, hostkey, cipher="aes128-ctr", mac="hmac-sha2-256", comp="none", cookie=b"\x11" * 16, follows=0):
    p = bytes([20]) + cookie
    for lst in (kex, hostkey, cipher, cipher, mac, mac, comp, comp, "", ""):
        p += sstr(lst)
    return p + bytes([follows]) + b"\0\0\0\0"


def hashed(host, salt):
    return "|1|%s|%s" % (base64.b64encode(salt).decode(),
                         base64.b64encode(hmac.new(salt, host.encode(), hashlib.sha1).digest()).decode())


def known_hosts_seeds():
    strict, accept, port2222 = 0, 1, 0x10
    t = "known_hosts_file"
    put(t, "match", bytes([strict]) + b"fuzz.example ssh-ed25519 %s\n" % ED.encode())
    put(t, "mismatch", bytes([strict]) + b"fuzz.example ssh-ed25519 %s old\n" % OTHER_ED.encode())
    put(t, "unknown_strict", bytes([strict]) + b"other.example ssh-ed25519 %s\n" % ED.encode())
    put(t, "accept_new_empty", bytes([accept]))
    put(t, "accept_new_no_newline", bytes([accept | 4]) + b"other.example ssh-rsa %s" % RSA.encode())
    put(t, "revoked", bytes([strict]) + b"@revoked * ssh-ed25519 %s\nfuzz.example ssh-ed25519 %s\n" % (ED.encode(), ED.encode()))
    put(t, "port_ecdsa", bytes([strict | 4 | port2222]) + b"[fuzz.example]:2222 ecdsa-sha2-nistp256 %s\n" % EC.encode())
    put(t, "hashed_rsa", bytes([strict | 8]) + b"%s ssh-rsa %s\n" % (hashed("fuzz.example", b"0123456789abcdefghij").encode(), RSA.encode()))
    put(t, "mixed", bytes([accept]) + ("# comment\n\n   \t\n@cert-authority *.example ssh-ed25519 %s ca\n"
                                       "fuzz.example,10.0.0.1 ssh-ed25519 %s with comment\n"
                                       "*.example,!bad.example ecdsa-sha2-nistp256 %s\r\n"
                                       "fuzz.example ssh-dss AAAAB3NzaC1kc3MAAACBAP==\n" % (ED, OTHER_ED, EC)).encode())
    t = "known_hosts_line"
    put(t, "plain", "fuzz.example ssh-ed25519 %s\n" % ED)
    put(t, "several", "a.example,b.example ecdsa-sha2-nistp256 %s comment here\n[c.example]:2222 ssh-rsa %s\n" % (EC, RSA))
    put(t, "hashed", "%s ssh-ed25519 %s\n" % (hashed("fuzz.example", b"saltsaltsaltsaltsalt"), ED))
    put(t, "comments", "# only a comment\n\n \t \nfuzz.example ssh-ed25519 %s\r\n" % ED)
    put(t, "markers", "@revoked * ssh-ed25519 %s\n@cert-authority *.example ssh-rsa %s\n" % (ED, RSA))
    put(t, "wildcards", "*.example,!x.example,?.example ssh-ed25519 %s\n" % OTHER_ED)
    put(t, "rsa1", "fuzz.example 1024 35 1234567890123456789\n")


def pubkey_seeds():
    t = "pubkey_line"
    put(t, "ed25519", "ssh-ed25519 %s fuzz@host\n" % ED)
    put(t, "ecdsa_nocomment", "ecdsa-sha2-nistp256 %s" % EC)
    put(t, "rsa_crlf", "ssh-rsa %s a comment\r\n" % RSA)
    put(t, "blob", base64.b64decode(ED))
    put(t, "bad_base64", "ssh-ed25519 AAAA$$$$ x\n")
    put(t, "b64_only", ED)
    # an OpenSSH private key container around an RSA public key (what text_is_rsa peeks at)
    inner = b"openssh-key-v1\0" + sstr("none") + sstr("none") + sstr(b"") + struct.pack(">I", 1) + sstr(base64.b64decode(RSA))
    body = base64.b64encode(inner).decode()
    put(t, "openssh_private", "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n%s\n-----END OPENSSH PRIVATE KEY-----\n" % (body[:70], body[70:]))
    put(t, "pem_rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n")


def agent_seeds():
    t = "agent"

    def reply(ids):
        body = bytes([12]) + struct.pack(">I", len(ids))
        for blob, comment in ids:
            body += sstr(blob) + sstr(comment)
        return struct.pack(">I", len(body)) + body

    put(t, "none", reply([]))
    put(t, "two", reply([(base64.b64decode(ED), "ed@host"), (base64.b64decode(EC), "")]))
    put(t, "rsa", reply([(base64.b64decode(RSA), "an rsa key with a longer comment")]))
    put(t, "failure", struct.pack(">IB", 1, 5))
    put(t, "short", struct.pack(">I", 100) + bytes([12]) + struct.pack(">I", 3))


def session_seeds():
    t = "session"
    ident = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
    ki = kexinit("curve25519-sha256,diffie-hellman-group14-sha256", "ssh-ed25519,rsa-sha2-256")
    put(t, "ident_only", ident)
    put(t, "ident_lf", b"SSH-2.0-x\n")
    put(t, "pre_ident_lines", b"Welcome\r\nto the server\r\n" + ident + packet(ki))
    put(t, "ident_kexinit", ident + packet(ki))
    put(t, "pre_ident_empty_and_ssh_like", b"\r\n\nSSH\r\nSSH-\n" + ident + packet(ki))
    put(t, "pre_ident_long_line", b"x" * 9000 + b"\n" + ident)
    put(t, "pre_ident_many_lines", b"\n" * 1100 + ident)
    put(t, "ident_too_long", b"SSH-2.0-" + b"v" * 300 + b"\r\n" + packet(ki))
    put(t, "ssh199", b"SSH-1.99-Old\r\n" + packet(ki))
    put(t, "ssh1", b"SSH-1.5-Ancient\r\n")
    put(t, "no_common_kex", ident + packet(kexinit("nothing-we-know", "ssh-ed25519")))
    put(t, "no_common_cipher", ident + packet(kexinit("curve25519-sha256", "ssh-ed25519", cipher="rot13")))
    put(t, "disconnect", ident + packet(bytes([1]) + struct.pack(">I", 2) + sstr("go away") + sstr("en")))
    put(t, "ignore_debug", ident + packet(bytes([2]) + sstr("ignored")) +
        packet(bytes([4, 1]) + sstr("debug text") + sstr("")) + packet(bytes([3]) + struct.pack(">I", 0)) + packet(ki))
    put(t, "first_kex_follows", ident + packet(kexinit("diffie-hellman-group14-sha256", "ssh-rsa", follows=1)) +
        packet(bytes([31]) + sstr(b"\0" * 8)))
    put(t, "gex_group", ident + packet(kexinit("diffie-hellman-group-exchange-sha256", "ssh-ed25519")) +
        packet(bytes([31]) + sstr(b"\x00\xff" + b"\xff" * 127) + sstr(b"\x02")))
    put(t, "big_length", ident + struct.pack(">I", 0x7fffffff) + b"\x04" + b"x" * 64)
    put(t, "zlib", ident + packet(kexinit("curve25519-sha256", "ssh-ed25519", comp="zlib,zlib@openssh.com")))


# ---- recording a real sshd ------------------------------------------------------

def recv_until(sock, pred, limit=5.0):
    sock.settimeout(limit)
    data = b""
    end = time.time() + limit
    while not pred(data) and time.time() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def packets_in(data):
    """message numbers of the cleartext packets after the identification line"""
    i = data.find(b"\n")
    if i < 0:
        return []
    p, out = i + 1, []
    while p + 5 <= len(data):
        n = struct.unpack(">I", data[p:p + 4])[0]
        if p + 4 + n > len(data):
            break
        out.append(data[p + 5])
        p += 4 + n
        if out[-1] == 21:
            break
    return out


# a valid point for ECDH (the curve's generator); the test sshd has an Ed25519 host key
P256_G = bytes.fromhex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                       "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")


def record(host, port):
    cases = [
        ("curve25519-sha256", "ssh-ed25519", lambda: bytes([30]) + sstr(os.urandom(32))),
        ("ecdh-sha2-nistp256", "ssh-ed25519", lambda: bytes([30]) + sstr(P256_G)),
        ("diffie-hellman-group14-sha256", "ssh-ed25519", lambda: bytes([30]) + sstr(b"\x05" + os.urandom(255))),
        ("diffie-hellman-group-exchange-sha256", "ssh-ed25519",
         lambda: bytes([34]) + struct.pack(">III", 2048, 2048, 8192)),
    ]
    for kex, hk, first in cases:
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"SSH-2.0-libssh2_1.10.0\r\n")
        s.sendall(packet(kexinit(kex, hk, cookie=os.urandom(16))) + packet(first()))
        want = 21
        data = recv_until(s, lambda d: 31 in packets_in(d) or 21 in packets_in(d))
        if kex.startswith("diffie-hellman-group-exchange") and 31 in packets_in(data):
            s.sendall(packet(bytes([32]) + sstr(b"\x05" + os.urandom(255))))
        data += recv_until(s, lambda d: want in packets_in(data + d))
        s.close()
        put("session", "recorded_" + kex.replace("-", "_"), data)
        print("recorded %s/%s: %d bytes, messages %s" % (kex, hk, len(data), packets_in(data)))


def ssh_config_seeds():
    """the ssh -G comparison's configuration files (tests/config), as they are"""
    src = os.path.join(HERE, "..", "config")
    for root, _dirs, files in os.walk(src):
        for fn in sorted(files):
            if fn.endswith(".conf"):
                with open(os.path.join(root, fn), "rb") as f:
                    put("ssh_config", os.path.relpath(os.path.join(root, fn), src).replace("/", "_"), f.read())
    put("ssh_config", "host_line", "#host Alpha.Corp\nHost *.corp\n User c\nMatch host alpha.corp\n Port 2\n")
    put("ssh_config", "nul_byte", b"Host a\n User x\x00y\n")
    put("ssh_config", "quotes_escapes", 'User "a b"\\ c\nIdentityFile "x\\"y" \'z\'\n')


if __name__ == "__main__":
    ssh_config_seeds()
    known_hosts_seeds()
    pubkey_seeds()
    agent_seeds()
    session_seeds()
    if len(sys.argv) == 4 and sys.argv[1] == "--record":
        record(sys.argv[2], int(sys.argv[3]))
