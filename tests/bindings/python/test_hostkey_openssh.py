"""xssh's host-key verification against OpenSSH's own ssh, case by case.

Every case is a known_hosts file x a host name / port x a policy. The EXPECTED
outcome is not written here: it is what Debian's `ssh` (OpenSSH 9.2) does, run
at test time against the same sshd with a throwaway copy of the file
(StrictHostKeyChecking=yes for "strict", accept-new for "accept_new"). Its
result (connected / learned (and the file it leaves) / unknown / changed /
revoked) must equal xssh's: Session.prefer_known_hostkeys() before the
handshake, then Session.verify_host() on a copy of the same file, and for
accept_new the two files must be byte for byte the same afterwards.

Servers: the harness's sshd (one Ed25519 host key), an extra sshd with an
ECDSA and an Ed25519 host key (several key types), and, when running as root,
an extra sshd on a random 127.x.y.z port 22. Host names other than 127.0.0.1,
and port 22 without root, are reached through a ProxyCommand relay: ssh then
looks the name / port up in known_hosts exactly as for a direct connection
while the bytes go to the test sshd (xssh connects to the sshd and is told
the name and port through verify_host's arguments).

One deliberate difference: when the file's last line lacks its newline, ssh
glues the new entry onto it (damaging both); xssh adds the newline first. The
case "no_final_newline" checks exactly that difference.
"""
import base64
import hashlib
import hmac
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import xssh
from conftest import Env

SSH = shutil.which("ssh")
SSHD = "/usr/sbin/sshd" if os.access("/usr/sbin/sshd", os.X_OK) else shutil.which("sshd")
SALT = base64.b64decode("c2FsdHNhbHRzYWx0c2FsdHNhbHQ=")  # 20 fixed bytes: reproducible hashed lines
NAME = "kh-test.example"  # a host name reached only through the relay

RELAY = r'''
import os, select, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.settimeout(None)
route = {0: s.fileno(), s.fileno(): 1}
while route:
    ready, _, _ = select.select(list(route), [], [], 60)
    if not ready:
        break  # idle for a minute: the test is gone
    for fd in ready:
        data = os.read(fd, 65536)
        if not data:
            if fd == 0:
                s.shutdown(socket.SHUT_WR)
            else:
                os.close(1)
            del route[fd]
            continue
        out = route[fd]
        while data:
            data = data[os.write(out, data):]
'''


def pubkey(path):
    """'type base64' of a .pub file."""
    return " ".join(open(path).read().split()[:2])


def hashed(name):
    mac = hmac.new(SALT, name.encode(), hashlib.sha1).digest()
    return "|1|%s|%s" % (base64.b64encode(SALT).decode(), base64.b64encode(mac).decode())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_banner(addr, port):
    for _ in range(200):  # up to ~10 s
        try:
            with socket.create_connection((addr, port), timeout=2) as s:
                if s.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


class ExtraSshd:
    """One more sshd from the harness's config with other host keys / address / port."""

    def __init__(self, d, tag, addr, port, hostkeys, extra=()):
        self.addr, self.port, self.dir = addr, port, d
        self.pidfile = os.path.join(d, tag + ".pid")
        lines = [l for l in open(os.path.join(Env.dir, "sshd_config")).read().splitlines()
                 if l.split(" ", 1)[0] not in ("Port", "ListenAddress", "HostKey", "PidFile")]
        lines += ["ListenAddress %s" % addr, "Port %d" % port, "PidFile %s" % self.pidfile]
        lines += ["HostKey %s" % k for k in hostkeys] + list(extra)
        self.cfg = os.path.join(d, tag + ".conf")
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = os.path.join(d, tag + ".log")
        # sshd binds before it daemonises: a taken address fails here
        self.ok = subprocess.run([SSHD, "-f", self.cfg, "-E", self.log], stdin=subprocess.DEVNULL).returncode == 0
        if self.ok and not wait_banner(addr, port):
            self.stop()
            raise RuntimeError("extra sshd %s did not answer on %s:%d: %s" % (tag, addr, port, open(self.log).read()))

    def stop(self):
        try:
            os.kill(int(open(self.pidfile).read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass


def keygen(path, kind):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path, "-C", os.path.basename(path)]
    if kind == "ecdsa":
        args += ["-b", "256"]
    subprocess.run(args, check=True)
    return path


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="hk-openssh-", dir=Env.dir)
    os.chmod(d, 0o755)
    relay = os.path.join(d, "relay.py")
    with open(relay, "w") as f:
        f.write(RELAY)
    multi_keys = [keygen(os.path.join(d, "multi_ecdsa"), "ecdsa"), keygen(os.path.join(d, "multi_ed25519"), "ed25519")]
    servers = {"one": {"addr": "127.0.0.1", "port": Env.port,
                       "keys": {"ed": pubkey(os.path.join(Env.dir, "host_ed25519.pub"))}}}
    extra = []
    try:
        multi = ExtraSshd(d, "multi", "127.0.0.1", free_port(), multi_keys)
        assert multi.ok, open(multi.log).read()
        extra.append(multi)
        servers["multi"] = {"addr": "127.0.0.1", "port": multi.port,
                            "keys": {"ec": pubkey(multi_keys[0] + ".pub"), "ed": pubkey(multi_keys[1] + ".pub")}}
        # an ECDSA host key with a host certificate signed by a CA (for @cert-authority)
        ca, cert_key = keygen(os.path.join(d, "ca"), "ed25519"), keygen(os.path.join(d, "cert_ecdsa"), "ecdsa")
        subprocess.run(["ssh-keygen", "-q", "-s", ca, "-I", "xssh-test", "-h", "-n", "127.0.0.1", cert_key + ".pub"],
                       check=True)
        cert = ExtraSshd(d, "cert", "127.0.0.1", free_port(), [cert_key],
                         extra=["HostCertificate %s-cert.pub" % cert_key])
        assert cert.ok, open(cert.log).read()
        extra.append(cert)
        servers["cert"] = {"addr": "127.0.0.1", "port": cert.port,
                           "keys": {"ec": pubkey(cert_key + ".pub"), "ca": pubkey(ca + ".pub")}}
        if os.geteuid() == 0:
            # a real port 22 on a random loopback address (several test runs may share the machine)
            rnd = random.Random()
            for _ in range(8):
                addr = "127.%d.%d.%d" % (rnd.randint(100, 254), rnd.randint(1, 254), rnd.randint(1, 254))
                s22 = ExtraSshd(d, "p22", addr, 22, [os.path.join(Env.dir, "host_ed25519")])
                if s22.ok:
                    extra.append(s22)
                    servers["p22"] = {"addr": addr, "port": 22, "keys": servers["one"]["keys"]}
                    break
        yield {"dir": d, "relay": relay, "servers": servers,
               "other": {"xed": pubkey(Env.key_unauthorized + ".pub"), "xec": pubkey(Env.key_ecdsa + ".pub")}}
    finally:
        for s in extra:
            s.stop()
        shutil.rmtree(d, ignore_errors=True)


# ---- the cases ---------------------------------------------------------------------------------------------
#
# (id, server, how, host, port, known_hosts template)
#   how: "direct" - ssh / xssh connect to the server itself (host and port are the server's; "port" None);
#        "relay"  - ssh looks up `host`:`port` but reaches the server through the relay; xssh connects to
#                   the server and passes host and port to verify_host.
# Template fields: {n} the name OpenSSH looks up ("host" for port 22, else "[host]:port"), {h} the plain
# host, {p} the port, {H}/{Hh} hashed {n}/{h}, {ed}/{ec} the server's Ed25519/ECDSA key, {xed}/{xec} other
# keys of those types, {bad} an Ed25519 line body with corrupt base64.
CASES = [
    ("empty", "one", "direct", None, None, ""),
    ("exact", "one", "direct", None, None, "{n} {ed}\n"),
    ("changed", "one", "direct", None, None, "{n} {xed}\n"),
    ("plain_host_other_key", "one", "direct", None, None, "{h} {xed}\n"),  # the reported defect
    ("plain_host_same_key", "one", "direct", None, None, "{h} {ed}\n"),
    ("plain_host_other_type", "one", "direct", None, None, "{h} {xec}\n"),
    ("port_changed_plain_same", "one", "direct", None, None, "{n} {xed}\n{h} {ed}\n"),
    ("port_other_type", "one", "direct", None, None, "{n} {xec}\n"),
    ("port_other_type_and_same", "one", "direct", None, None, "{n} {xec}\n{n} {ed}\n"),
    ("several_keys_other_first", "one", "direct", None, None, "{n} {xed}\n{n} {ed}\n"),
    ("several_keys_same_first", "one", "direct", None, None, "{n} {ed}\n{n} {xed}\n"),
    ("hashed_exact", "one", "direct", None, None, "{H} {ed}\n"),
    ("hashed_changed", "one", "direct", None, None, "{H} {xed}\n"),
    ("hashed_plain_host_other_key", "one", "direct", None, None, "{Hh} {xed}\n"),
    ("hashed_plain_host_same_key", "one", "direct", None, None, "{Hh} {ed}\n"),
    ("hashed_bad_salt", "one", "direct", None, None, "|1|AAAA|AAAA {xed}\n"),
    ("comma_list", "one", "direct", None, None, "other.example,{n} {ed}\n"),
    ("wildcard_host", "one", "direct", None, None, "[127.0.0.*]:{p} {ed}\n"),
    ("wildcard_port", "one", "direct", None, None, "[127.0.0.1]:* {ed}\n"),
    ("wildcard_all_changed", "one", "direct", None, None, "* {xed}\n"),
    ("question_mark", "one", "direct", None, None, "[127.0.0.?]:{p} {ed}\n"),
    ("negated_self", "one", "direct", None, None, "!{n},* {xed}\n"),
    ("negated_other", "one", "direct", None, None, "!other.example,* {ed}\n"),
    ("negated_plain_host", "one", "direct", None, None, "{n},!{h} {ed}\n"),
    ("revoked_and_listed", "one", "direct", None, None, "{n} {ed}\n@revoked {n} {ed}\n"),
    ("revoked_wildcard", "one", "direct", None, None, "@revoked * {ed}\n{n} {ed}\n"),
    ("revoked_other_host", "one", "direct", None, None, "{n} {ed}\n@revoked other.example {ed}\n"),
    ("revoked_other_key", "one", "direct", None, None, "@revoked {n} {xed}\n{n} {ed}\n"),
    ("revoked_only", "one", "direct", None, None, "@revoked {n} {ed}\n"),
    ("revoked_plain_host", "one", "direct", None, None, "@revoked {h} {ed}\n{h} {ed}\n"),
    ("revoked_hashed", "one", "direct", None, None, "{n} {ed}\n@revoked {H} {ed}\n"),
    ("ca_line_with_host_key", "one", "direct", None, None, "@cert-authority {n} {ed}\n"),
    ("ca_line_and_exact", "one", "direct", None, None, "@cert-authority * {xed}\n{n} {ed}\n"),
    ("ca_line_other_key", "one", "direct", None, None, "@cert-authority {n} {xed}\n"),
    ("comments_and_malformed", "one", "direct", None, None,
     "# comment\n\n   \t\n{n} {bad}\n{n} ssh-ed25519\n{n}\ngarbage\n@bogus {n} {xed}\n"
     "@revoked @revoked {n} {ed}\n{n} ssh-foo AAAAB3NzaC1yc2E=\n  \t{n}\t{ed} a comment\n"),
    ("malformed_only", "one", "direct", None, None, "{n} {bad}\n"),
    ("type_blob_mismatch", "one", "direct", None, None, "{n} ecdsa-sha2-nistp256 {ed_b64}\n"),
    ("unknown_type", "one", "direct", None, None, "{n} ssh-foo {ed_b64}\n"),
    ("crlf", "one", "direct", None, None, "{n} {ed}\r\n"),
    ("no_final_newline", "one", "direct", None, None, "other.example {xed}"),
    # several host key types on the server
    ("multi_empty", "multi", "direct", None, None, ""),
    ("multi_ecdsa_known", "multi", "direct", None, None, "{n} {ec}\n"),
    ("multi_ed25519_known", "multi", "direct", None, None, "{n} {ed}\n"),
    ("multi_both_known", "multi", "direct", None, None, "{n} {ec}\n{n} {ed}\n"),
    ("multi_other_ecdsa", "multi", "direct", None, None, "{n} {xec}\n"),
    ("multi_other_ed25519_and_ecdsa", "multi", "direct", None, None, "{n} {xed}\n{n} {ec}\n"),
    ("multi_plain_host_ecdsa", "multi", "direct", None, None, "{h} {ec}\n"),
    ("multi_hashed_ecdsa", "multi", "direct", None, None, "{H} {ec}\n"),
    ("multi_revoked_ed25519", "multi", "direct", None, None, "@revoked {n} {ed}\n{n} {ec}\n{n} {ed}\n"),
    # other names and port 22 through the relay
    ("name22_plain", "one", "relay", NAME, 22, "{h} {ed}\n"),
    ("name22_bracketed_22", "one", "relay", NAME, 22, "[{h}]:22 {ed}\n"),
    ("name22_changed", "one", "relay", NAME, 22, "{h} {xed}\n"),
    ("name22_empty", "one", "relay", NAME, 22, ""),
    ("name22_hashed", "one", "relay", NAME, 22, "{Hh} {ed}\n"),
    ("name22_wildcard", "one", "relay", NAME, 22, "kh-*.example {ed}\n"),
    ("name22_port_entry_other", "one", "relay", NAME, 22, "[{h}]:2222 {xed}\n"),
    ("name_port_plain_other_key", "one", "relay", NAME, 2222, "{h} {xed}\n"),
    ("name_port_plain_same_key", "one", "relay", NAME, 2222, "{h} {ed}\n"),
    ("name_upper_case", "one", "relay", "KH-Test.Example", 2222, "[kh-test.example]:2222 {ed}\n"),
    ("name_upper_pattern", "one", "relay", NAME, 2222, "[KH-TEST.Example]:2222 {ed}\n"),
    ("name_upper_learn", "one", "relay", "KH-Test.Example", 2222, ""),
    ("name_upper_hashed", "one", "relay", "KH-Test.Example", 2222, "{H} {ed}\n"),
    ("multi_name22_ecdsa", "multi", "relay", NAME, 22, "{h} {ec}\n"),
    # a real port 22 (root only: an extra sshd on 127.x.y.z:22)
    ("real22_empty", "p22", "direct", None, None, ""),
    ("real22_plain", "p22", "direct", None, None, "{h} {ed}\n"),
    ("real22_bracketed", "p22", "direct", None, None, "[{h}]:22 {ed}\n"),
    ("real22_changed", "p22", "direct", None, None, "{h} {xed}\n"),
]
POLICIES = [("strict", "yes", xssh.HOSTKEY_STRICT), ("accept_new", "accept-new", xssh.HOSTKEY_ACCEPT_NEW)]


def render(world, server, host, port, template):
    keys = world["servers"][server]["keys"]
    lookup = host.lower() if port == 22 else "[%s]:%d" % (host.lower(), port)
    ed_b64 = keys["ed"].split()[1]
    return template.format(n=lookup, h=host.lower(), p=port, H=hashed(lookup), Hh=hashed(host.lower()),
                           ed=keys["ed"], ec=keys.get("ec", ""), xed=world["other"]["xed"],
                           xec=world["other"]["xec"], ed_b64=ed_b64, bad="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbad")


def run_ssh(world, srv, how, host, port, strict, path):
    cmd = [SSH, "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=" + strict,
           "-o", "UserKnownHostsFile=" + path, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no",
           "-o", "CheckHostIP=no", "-o", "HashKnownHosts=no", "-o", "IdentitiesOnly=yes",
           "-o", "IdentityFile=" + Env.key, "-o", "User=" + Env.user, "-o", "ConnectTimeout=30",
           "-o", "AddressFamily=inet", "-p", str(port)]
    if how == "relay":
        cmd += ["-o", "ProxyCommand=%s %s %s %d" % (sys.executable, world["relay"], srv["addr"], srv["port"])]
    cmd += [host, "true"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = r.stderr.decode(errors="replace")
    if r.returncode == 0:
        return "ok", err
    # the last verdict counts: a non-22 port's fallback to the plain name may print its own first
    for line in reversed(err.splitlines()):
        if "was revoked and you have requested strict checking" in line:
            return "revoked", err
        if "has changed and you have requested strict checking" in line:
            return "changed", err
        if "host key is known for" in line and "you have requested strict checking" in line:
            return "unknown", err
    if "Host key verification failed" in err:
        return "refused", err  # a refusal this table does not know: fails the comparison
    pytest.fail("ssh failed for another reason (rc %d): %s" % (r.returncode, err))


def run_xssh(srv, how, host, port, policy, path):
    s = xssh.Session()
    try:
        if how == "relay":
            s.prefer_known_hostkeys(host, port, path)
            s.connect(srv["addr"], srv["port"], 30000)
            args = (host, port)
        else:
            s.prefer_known_hostkeys(srv["addr"], srv["port"], path)
            s.connect(srv["addr"], srv["port"], 30000)
            args = (None, 0)  # the connected host and port
        try:
            s.verify_host(args[0], args[1], policy, path)
            return "ok", ""
        except Exception as e:  # noqa: BLE001 - classified below, anything else fails
            name, msg = getattr(e, "name", ""), str(e)
            if name == "XSSH_EHOSTKEY_CHANGED":
                return ("revoked" if "REVOKED" in msg else "changed"), msg
            if name == "XSSH_EHOSTKEY_UNKNOWN":
                return "unknown", msg
            raise
    finally:
        s.close()


@pytest.mark.parametrize("policy", POLICIES, ids=[p[0] for p in POLICIES])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_same_outcome_as_openssh(world, case, policy):
    cid, server, how, host, port, template = case
    pname, strict, pol = policy
    if server not in world["servers"]:
        assert server == "p22" and os.geteuid() != 0, "the port-22 sshd did not start"
        pytest.skip("a real port 22 needs root; port 22 lookups are covered by the name22_* cases (relay)")
    srv = world["servers"][server]
    if how == "direct":
        host, port = srv["addr"], srv["port"]
    text = render(world, server, host, port, template)
    d = tempfile.mkdtemp(prefix=cid + "-", dir=world["dir"])
    ssh_file, xssh_file = os.path.join(d, "ssh_known_hosts"), os.path.join(d, "xssh_known_hosts")
    for p in (ssh_file, xssh_file):
        with open(p, "w", newline="") as f:
            f.write(text)

    expected, ssh_err = run_ssh(world, srv, how, host, port, strict, ssh_file)
    got, xssh_msg = run_xssh(srv, how, host, port, pol, xssh_file)
    ssh_after, xssh_after = open(ssh_file, "rb").read(), open(xssh_file, "rb").read()
    if expected == "ok" and ssh_after != text.encode():
        expected = "learned"
    if got == "ok" and xssh_after != text.encode():
        got = "learned"
    detail = "case %s/%s\nknown_hosts:\n%s\nssh said: %s\nxssh said: %s" % (cid, pname, text, ssh_err.strip(), xssh_msg)
    assert got == expected, detail
    if cid == "no_final_newline" and expected == "learned":
        # the one deliberate difference: ssh glues the entry onto the unterminated line
        assert ssh_after.startswith(text.encode()) and xssh_after == text.encode() + b"\n" + ssh_after[len(text):], \
            "%s\nssh file: %r\nxssh file: %r" % (detail, ssh_after, xssh_after)
    else:
        assert xssh_after == ssh_after, "%s\nssh file: %r\nxssh file: %r" % (detail, ssh_after, xssh_after)
    shutil.rmtree(d, ignore_errors=True)


def test_the_table_covers_every_outcome(world):
    """The comparison is only worth something if ssh's answers differ: each outcome occurs."""
    for cid, outcome in [("exact", "ok"), ("changed", "changed"), ("empty", "unknown"), ("revoked_only", "revoked")]:
        case = next(c for c in CASES if c[0] == cid)
        srv = world["servers"][case[1]]
        path = os.path.join(world["dir"], "cover-" + cid)
        with open(path, "w") as f:
            f.write(render(world, case[1], srv["addr"], srv["port"], case[5]))
        got = run_ssh(world, srv, "direct", srv["addr"], srv["port"], "yes", path)[0]
        assert got == outcome, "ssh gave %s for %s, not %s" % (got, cid, outcome)


def test_connect_orders_host_key_algorithms(world):
    """xssh.connect() offers first the key types known_hosts records (like ssh), so a server with
    ECDSA and Ed25519 keys shows the recorded one."""
    srv = world["servers"]["multi"]
    for kind, alg in (("ec", "ecdsa-sha2-nistp256"), ("ed", "ssh-ed25519")):
        path = os.path.join(world["dir"], "order-" + kind)
        with open(path, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (srv["port"], srv["keys"][kind]))
        s = xssh.connect(srv["addr"], srv["port"], Env.user, key=Env.key, known_hosts=path)
        try:
            assert s.methods(xssh.session.LIBSSH2_METHOD_HOSTKEY) == alg
        finally:
            s.close()


def test_host_certificate(world):
    """@cert-authority: ssh accepts the server's host certificate. libssh2 1.10 cannot use one (its
    handshake fails with a certificate algorithm), so xssh leaves certificate algorithms out and checks
    the plain key, for which CA lines do not count (as in OpenSSH): a CA line alone leaves it unknown.
    This is the one case where xssh and ssh must differ (docs/knownhosts.md)."""
    srv = world["servers"]["cert"]
    n = "[127.0.0.1]:%d" % srv["port"]
    for text, ssh_want, xssh_want in (("@cert-authority * %s\n" % srv["keys"]["ca"], "ok", "unknown"),
                                      ("@cert-authority * %s\n%s %s\n" % (srv["keys"]["ca"], n, srv["keys"]["ec"]),
                                       "ok", "ok"),
                                      ("@revoked * %s\n%s %s\n" % (srv["keys"]["ec"], n, srv["keys"]["ec"]),
                                       "revoked", "revoked")):
        paths = []
        for who in ("ssh", "xssh"):
            paths.append(os.path.join(world["dir"], "cert-%s-%d" % (who, len(text))))
            with open(paths[-1], "w") as f:
                f.write(text)
        assert run_ssh(world, srv, "direct", srv["addr"], srv["port"], "yes", paths[0])[0] == ssh_want, text
        got, msg = run_xssh(srv, "direct", None, None, xssh.HOSTKEY_STRICT, paths[1])
        assert got == xssh_want, "%s\n%s" % (text, msg)
    # and a session that negotiates the certificate algorithm anyway does not get through libssh2 1.10
    s = xssh.Session()
    try:
        s.method_pref(xssh.session.LIBSSH2_METHOD_HOSTKEY, "ecdsa-sha2-nistp256-cert-v01@openssh.com")
        with pytest.raises(Exception) as e:
            s.connect(srv["addr"], srv["port"], 30000)
        assert getattr(e.value, "name", "") == "XSSH_EHANDSHAKE", e.value
    finally:
        s.close()
