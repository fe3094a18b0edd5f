"""One fault-sweep case from Python: runs a scenario through the fault proxy.

  fault_client.py SCENARIO key=value ...   (see fault_sweep.py, which starts it)

Prints "MARK <phase>" when a phase starts (with trace=1 it then waits for a
line on stdin, so the sweep can read the proxy's byte counts at that point)
and one final "RESULT {json}": ok (the operation returned), verified (what it
returned / wrote was checked through a separate clean session), or the error
(code, name, message) and the phase it happened in.
"""
import json
import sys
import time

import xssh
from xssh.exceptions import SSH2Error

A = dict(a.split("=", 1) for a in sys.argv[2:])
SCEN = sys.argv[1]
TRACE = A.get("trace") == "1"
T_MS = int(A["timeout_ms"])
phase = "ident"


def mark(p):
    global phase
    phase = p
    print("MARK", p, flush=True)
    if TRACE:
        sys.stdin.readline()


def expected_seq():
    return "".join("%d\n" % i for i in range(1, 30001)).encode()


SEQ_CMD = "seq 1 30000; exit 7"


def session(port):
    s = xssh.Session()
    s.connect("127.0.0.1", port, T_MS)
    return s


def auth(s):
    s.set_timeout(T_MS)
    s.userauth_publickey_fromfile(A["user"], A["key"])


def clean_sha256(path):
    """sha256 of a file on the server, read through a new clean (unproxied) session."""
    s = session(int(A["direct_port"]))
    auth(s)
    r = s.run("sha256sum '%s' 2>/dev/null || echo missing" % path)
    s.disconnect()
    return r.stdout.split()[0].decode() if r.stdout else ""


def check_run(r):
    if r.stdout != expected_seq():
        return False, "stdout has %d bytes, want %d (or differs)" % (len(r.stdout), len(expected_seq()))
    if r.exit_status != 7:
        return False, "exit status %r, want 7" % (r.exit_status,)
    return True, "output and exit status right"


def sc_exec():
    s = session(int(A["port"]))
    mark("auth")
    auth(s)
    mark("open")
    ch = s.open_session()
    mark("exec")
    ch.execute(SEQ_CMD)
    mark("read")
    out = []
    while True:
        n, data = ch.read(65536)
        if n < 0:
            raise RuntimeError("read returned %d" % n)
        if n == 0:
            break
        out.append(data)
    mark("close")
    ch.close()
    ch.wait_closed()
    st, have = ch.exit_status_ex()
    mark("end")
    out = b"".join(out)
    if out != expected_seq():
        return s, False, "stdout has %d bytes, want %d (or differs)" % (len(out), len(expected_seq()))
    if not have or st != 7:
        return s, False, "exit status (%r, have=%r), want 7" % (st, have)
    return s, True, "output and exit status right"


def sc_run():
    s = session(int(A["port"]))
    mark("auth")
    auth(s)
    mark("run")
    r = s.run(SEQ_CMD)
    mark("end")
    return (s,) + check_run(r)


def transfer(kind):
    s = session(int(A["port"]))
    mark("auth")
    auth(s)
    if kind.startswith("sftp"):
        mark("sftp")
        sf = s.sftp_init()
    mark("transfer")
    if kind == "sftp_get":
        sf.get(A["remote_src"], A["local_dst"])
        check = A["local_dst"]
    elif kind == "sftp_put":
        sf.put(A["local_src"], A["remote_dst"])
        check = A["remote_dst"]
    elif kind == "scp_get":
        s.scp_get(A["remote_src"], A["local_dst"])
        check = A["local_dst"]
    else:
        s.scp_put(A["local_src"], A["remote_dst"])
        check = A["remote_dst"]
    mark("end")
    got = clean_sha256(check)
    if got != A["sha256"]:
        return s, False, "%s has sha256 %s, want %s" % (check, got, A["sha256"])
    return s, True, "sha256 of %s right" % check


def sc_direct_tcpip():
    s = session(int(A["port"]))
    mark("auth")
    auth(s)
    mark("open")
    ch = s.direct_tcpip("127.0.0.1", int(A["inner_port"]))
    mark("echo")
    payload = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(65536))
    off = 0
    while off < len(payload):
        n = ch.write(payload[off:off + 16384])
        n = n[0] if isinstance(n, tuple) else n
        if n < 0:
            raise RuntimeError("write returned %d" % n)
        off += n
    ch.send_eof()
    got = []
    while True:
        n, data = ch.read(65536)
        if n < 0:
            raise RuntimeError("read returned %d" % n)
        if n == 0:
            break
        got.append(data)
    mark("close")
    ch.close()
    mark("end")
    got = b"".join(got)
    if got != payload:
        # the far end may really have closed early (a fault on the inner leg): the
        # sweep accepts an exact prefix then, and only then
        return s, False, "echo returned %d bytes, want %d (%s)" % (
            len(got), len(payload), "a prefix" if payload.startswith(got) else "differs")
    return s, True, "echoed bytes right"


def sc_proxyjump():
    jump = session(int(A["port"]))
    mark("auth")
    auth(jump)
    mark("via")
    t = xssh.Session()
    t.connect_via(jump, "127.0.0.1", int(A["inner_port"]), T_MS)
    mark("tauth")
    auth(t)
    mark("run")
    r = t.run(SEQ_CMD)
    mark("end")
    ok, detail = check_run(r)
    t.disconnect()
    return jump, ok, detail


SCENARIOS = {"exec": sc_exec, "run": sc_run, "direct_tcpip": sc_direct_tcpip, "proxyjump": sc_proxyjump,
             "sftp_get": lambda: transfer("sftp_get"), "sftp_put": lambda: transfer("sftp_put"),
             "scp_get": lambda: transfer("scp_get"), "scp_put": lambda: transfer("scp_put")}


def main():
    res = {"ok": False, "verified": None}
    t0 = time.monotonic()
    try:
        s, ok, detail = SCENARIOS[SCEN]()
        res.update(ok=True, verified=ok, detail=detail, phase=phase)
        try:
            s.disconnect()
        except SSH2Error:
            pass
    except SSH2Error as e:
        res.update(error={"code": getattr(e, "code", None), "name": getattr(e, "name", type(e).__name__),
                          "message": str(e), "class": type(e).__name__}, phase=phase)
    except Exception as e:  # noqa: BLE001 - anything else is a wrong outcome, reported as such
        res.update(error={"code": None, "name": "PYTHON:" + type(e).__name__, "message": str(e),
                          "class": type(e).__name__}, phase=phase)
    res["t"] = round(time.monotonic() - t0, 3)
    print("RESULT", json.dumps(res), flush=True)


main()
