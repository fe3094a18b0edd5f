#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Throwaway OpenSSH sshd on 127.0.0.1 for xssh's tests, demo and benchmarks.

    sshd_harness.py start --dir DIR    # generate keys, start sshd (+ ssh-agent), write DIR/env
    sshd_harness.py stop  --dir DIR    # stop what start started (leaves DIR unless --clean)

DIR/env is a KEY=VALUE file (XSSH_TEST_*) read by every test suite (C, Python, Lua,
Ruby) through $XSSH_TEST_ENV. Nothing here is mocked: a real sshd with generated keys.
Only the standard library is used, so any python3 can run it.
"""
import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

PW_USER = "xsshtest"
PASSWORD = "xssh-Test-pw-1"
PASSPHRASE = "xssh-pass-phrase"
KEYS = {  # tag: (file name, type, passphrase)
    "ED25519": ("id_ed25519", "ed25519", ""),
    "ECDSA": ("id_ecdsa", "ecdsa", ""),
    "RSA": ("id_rsa", "rsa", ""),
    "ENCRYPTED": ("id_encrypted", "ed25519", PASSPHRASE),
    "UNAUTHORIZED": ("id_unauthorized", "ed25519", ""),
}


def run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path, kind, passphrase="", comment=None):
    if os.path.exists(path):
        os.unlink(path)
    if os.path.exists(path + ".pub"):
        os.unlink(path + ".pub")
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", path, "-C", comment or os.path.basename(path)]
    if kind == "rsa":
        args += ["-b", "2048"]
    if kind == "ecdsa":
        args += ["-b", "256"]
    run(*args)
    os.chmod(path, 0o600)


def find_sshd():
    for p in ("/usr/sbin/sshd", shutil.which("sshd") or ""):
        if p and os.access(p, os.X_OK):
            return p
    sys.exit("sshd_harness: sshd not found (apt-get install openssh-server)")


def ensure_pw_user():
    """A local account with a password (root only): password + keyboard-interactive via PAM."""
    try:
        pwd.getpwnam(PW_USER)
    except KeyError:
        r = subprocess.run(["useradd", "-m", "-s", "/bin/sh", PW_USER], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if r.returncode not in (0, 9):  # 9: exists
            print("sshd_harness: useradd failed: %s" % r.stderr.decode().strip(), file=sys.stderr)
            return False
    r = subprocess.run(["chpasswd"], input=("%s:%s\n" % (PW_USER, PASSWORD)).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        print("sshd_harness: chpasswd failed: %s" % r.stderr.decode().strip(), file=sys.stderr)
        return False
    return True


def wait_banner(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def make_keys(d):
    """DIR/host_ed25519 (server), the client keys (KEYS) and DIR/authorized_keys; returns
    {tag: private key path}. UNAUTHORIZED is a valid key left out of authorized_keys."""
    keygen(os.path.join(d, "host_ed25519"), "ed25519", comment="xssh-test-host")
    paths = {}
    for tag, (name, kind, pp) in KEYS.items():
        paths[tag] = os.path.join(d, name)
        keygen(paths[tag], kind, pp, comment="xssh-test-" + name)
    with open(os.path.join(d, "authorized_keys"), "w") as f:
        for tag in ("ED25519", "ECDSA", "RSA", "ENCRYPTED"):
            f.write(open(paths[tag] + ".pub").read())
    os.chmod(os.path.join(d, "authorized_keys"), 0o644)
    return paths


def sshd_config(d, ports, home, pw, pam, pidfile=None, setenv=None, first="", max_startups="200:30:400"):
    """sshd_config text: 127.0.0.1 on every port of `ports` (sshd: at most 16 sockets),
    keys from make_keys(d), HOME=home (plus `setenv`) for sessions. `first`: lines put
    before the defaults (sshd keeps the first value of most keywords; not MaxStartups's,
    hence its own argument)."""
    env = "HOME=%s" % home + "".join(" %s=%s" % kv for kv in sorted((setenv or {}).items()))
    return first + "ListenAddress 127.0.0.1\n" + "".join("Port %d\n" % p for p in ports) + """\
HostKey {d}/host_ed25519
PidFile {pidfile}
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication {pw}
KbdInteractiveAuthentication {pw}
UsePAM {pam}
PermitRootLogin yes
AcceptEnv XSSH_*
SetEnv {env}
Subsystem sftp internal-sftp
MaxSessions 200
MaxStartups {max_startups}
MaxAuthTries 20
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
""".format(d=d, pidfile=pidfile or os.path.join(d, "sshd.pid"), env=env, max_startups=max_startups,
           pw="yes" if pw else "no", pam="yes" if pam else "no")


def launch_sshd(cfg, log, ports):
    """Check and start sshd (it daemonises and writes its PidFile); wait for its banner
    on every port. Returns None, or what went wrong (with the log)."""
    sshd = find_sshd()
    r = subprocess.run([sshd, "-t", "-f", cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        return "bad sshd config: %s" % r.stdout.decode()
    subprocess.Popen([sshd, "-f", cfg, "-E", log], stdin=subprocess.DEVNULL)  # daemonises, writes PidFile
    for port in ports:
        if not wait_banner(port):
            return "sshd did not start on port %d; log:\n%s" % (
                port, open(log).read() if os.path.exists(log) else "")
    return None


def start(d):
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    stop(d, quiet=True)
    home = os.path.join(d, "home")
    os.makedirs(home, exist_ok=True)
    os.chmod(home, 0o777)
    is_root = os.geteuid() == 0
    user = pwd.getpwuid(os.geteuid()).pw_name

    paths = make_keys(d)
    have_pw = is_root and ensure_pw_user()
    if is_root:
        os.makedirs("/run/sshd", exist_ok=True)
        os.chmod("/run/sshd", 0o755)

    port = free_port()
    # a second port whose connections get MaxSessions 1 (the SFTP engine's channels
    # refused while the caller's SFTP object holds the one session)
    port_ms1 = free_port()
    base = sshd_config(d, [port, port_ms1], home, have_pw, is_root)
    with open(os.path.join(d, "sshd_config"), "w") as f:
        f.write(base)  # tests copy it and append lines: no Match block in it
    cfg = os.path.join(d, "sshd_config.run")
    with open(cfg, "w") as f:
        f.write(base + "Match LocalPort %d\n    MaxSessions 1\n" % port_ms1)
    err = launch_sshd(cfg, os.path.join(d, "sshd.log"), [port, port_ms1])
    if err:
        sys.exit("sshd_harness: " + err)

    # known_hosts with the server key, fingerprint
    pub = open(os.path.join(d, "host_ed25519.pub")).read().split()
    kh = os.path.join(d, "known_hosts")
    with open(kh, "w") as f:
        f.write("[127.0.0.1]:%d %s %s\n" % (port, pub[0], pub[1]))
    # the MaxSessions-1 port's entry in a file of its own: tests count the lines of known_hosts
    kh_ms1 = os.path.join(d, "known_hosts_maxsessions1")
    with open(kh_ms1, "w") as f:
        f.write("[127.0.0.1]:%d %s %s\n" % (port_ms1, pub[0], pub[1]))
    fp = run("ssh-keygen", "-l", "-E", "sha256", "-f", os.path.join(d, "host_ed25519.pub")).stdout.decode().split()[1]

    # ssh-agent holding the ed25519 key
    agent_sock = os.path.join(d, "agent.sock")
    if os.path.exists(agent_sock):
        os.unlink(agent_sock)
    agent_pid = ""
    try:
        out = run("ssh-agent", "-s", "-a", agent_sock).stdout.decode()
        for part in out.replace("\n", ";").split(";"):
            part = part.strip()
            if part.startswith("SSH_AGENT_PID="):
                agent_pid = part.split("=", 1)[1]
        run("ssh-add", paths["ED25519"], env=dict(os.environ, SSH_AUTH_SOCK=agent_sock))
        with open(os.path.join(d, "agent.pid"), "w") as f:
            f.write(agent_pid + "\n")
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        print("sshd_harness: no ssh-agent: %s" % e, file=sys.stderr)
        agent_sock = ""

    env = {
        "XSSH_TEST_DIR": d,
        "XSSH_TEST_HOST": "127.0.0.1",
        "XSSH_TEST_PORT": str(port),
        "XSSH_TEST_PORT_MAXSESSIONS1": str(port_ms1),
        "XSSH_TEST_KNOWN_HOSTS_MAXSESSIONS1": kh_ms1,
        "XSSH_TEST_USER": user,
        "XSSH_TEST_KEY_ED25519": paths["ED25519"],
        "XSSH_TEST_KEY_ECDSA": paths["ECDSA"],
        "XSSH_TEST_KEY_RSA": paths["RSA"],
        "XSSH_TEST_KEY_ENCRYPTED": paths["ENCRYPTED"],
        "XSSH_TEST_KEY_PASSPHRASE": PASSPHRASE,
        "XSSH_TEST_KEY_UNAUTHORIZED": paths["UNAUTHORIZED"],
        "XSSH_TEST_KNOWN_HOSTS": kh,
        "XSSH_TEST_HOSTKEY_FP": fp,
        "XSSH_TEST_PW_USER": PW_USER if have_pw else "",
        "XSSH_TEST_PASSWORD": PASSWORD if have_pw else "",
        "XSSH_TEST_AGENT_SOCK": agent_sock,
    }
    with open(os.path.join(d, "env"), "w") as f:
        for k, v in env.items():
            f.write("%s=%s\n" % (k, v))
    print(os.path.join(d, "env"))


def _kill_pidfile(path, quiet):
    try:
        pid = int(open(path).read().strip() or "0")
    except (OSError, ValueError):
        return
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        except PermissionError as e:
            if not quiet:
                print("sshd_harness: %s" % e, file=sys.stderr)
    try:
        os.unlink(path)
    except OSError:
        pass


def stop(d, quiet=False, clean=False):
    d = os.path.abspath(d)
    _kill_pidfile(os.path.join(d, "sshd.pid"), quiet)
    _kill_pidfile(os.path.join(d, "agent.pid"), quiet)
    if clean:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["start", "stop"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--clean", action="store_true", help="stop: remove DIR as well")
    a = ap.parse_args()
    if a.action == "start":
        start(a.dir)
    else:
        stop(a.dir, clean=a.clean)


if __name__ == "__main__":
    main()
