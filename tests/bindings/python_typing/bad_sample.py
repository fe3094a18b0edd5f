"""Type mistakes mypy must report, each at its line: a trailing "expect" comment names the
mypy error code (tests/bindings/python_typing/check_types.py). Never run."""
import xssh
from xssh.exceptions import Timeout
from xssh.session import Session


def mistakes(s: Session, chan: xssh.Channel, sftp: xssh.SFTP) -> None:
    chan.write("text, not bytes")  # expect: arg-type
    s.userauth_password("only-the-user")  # expect: call-arg
    s.connect("example.org", prot=22)  # expect: call-arg
    s.set_timeout(None)  # expect: arg-type
    n, data = chan.read(1024)
    text: str = data  # expect: assignment
    s.hostkey_fingerprint().decode()  # expect: attr-defined
    r = s.run("true")
    r.exit_status + 1  # expect: operator
    sftp.put("local", "remote", progress="every MiB")  # expect: arg-type
    count: str = sftp.get("remote", "local")  # expect: assignment
    blob, keytype, extra = s.hostkey()  # expect: misc
    xssh.Sesion()  # expect: attr-defined
    xssh.connect("h", port="22")  # expect: arg-type
    xssh.connect("h", timeout="5")  # expect: arg-type
    xssh.connect("h", host_key_policy="lenient")  # expect: arg-type
    try:
        s.disconnect()
    except Timeout as e:
        e.code.upper()  # expect: attr-defined


async def aio_mistakes() -> None:
    import xssh.aio
    s = await xssh.aio.connect("h", port="22")  # expect: arg-type
    r = s.run("true")
    r.stdout  # expect: attr-defined
    n: str = await s.put("a", "b")  # expect: assignment
    fw = await s.forward_local("h", 22)
    fw.stats().sent  # expect: attr-defined
