"""docs/async.md: every example it shows ("# docs/async.md example: NAME" blocks) is run as a
program against hosts of the many-hosts fixture and must succeed with the output it promises."""
import json
import os
import re
import subprocess
import sys

import pytest

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "docs", "async.md")


def _examples():
    with open(DOC) as f:
        text = f.read()
    blocks = re.findall(r"```python\n(# docs/async.md example: (\w+)\n.*?)```", text, re.S)
    return {name: code for code, name in blocks}


def test_doc_has_an_example_per_adapter():
    assert sorted(_examples()) == ["asyncio", "gevent"]


@pytest.mark.parametrize("name", ["asyncio", "gevent"])
def test_doc_example_runs(name, tmpdir_path):
    with open(os.environ["XSSH_MANY_HOSTS"]) as f:
        many = json.load(f)
    path = os.path.join(tmpdir_path, "doc_example_%s.py" % name)
    with open(path, "w") as f:
        f.write(_examples()[name])
    hosts = many["hosts"][:5]
    env = dict(os.environ, XSSH_HOSTS=" ".join(hosts), XSSH_KEY=many["key"], XSSH_KNOWN_HOSTS=many["known_hosts"])
    r = subprocess.run([sys.executable, path], env=env, capture_output=True, timeout=300)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    if name == "asyncio":
        for h in hosts:
            assert "%s: exit 0, served on port %s" % (h, h.rsplit(":", 1)[1]) in out
        assert "stdout b'line 1\\n'" in out and "stderr b'oops\\n'" in out
        assert "timed out, still usable: b'yes\\n'" in out
        assert "put 1048576 bytes" in out and "get 1048576 bytes" in out
        assert "listing ['back', 'copy', 'data']" in out
        assert "through the tunnel: b'SSH'" in out
        assert "forwarded connections: 1, failed: 0" in out
    else:
        for h in hosts:
            assert h + " (b'hello from 127.0.0.1 " in out and "', 0)" in out
