"""Shared fixtures: the real sshd started by tests/harness/sshd_harness.py (ctest fixture "sshd")."""
import os
import shutil
import subprocess
import tempfile

import pytest

import xssh


def _load_env():
    path = os.environ.get("XSSH_TEST_ENV")
    if not path or not os.path.exists(path):
        pytest.exit("XSSH_TEST_ENV is not set or missing: start tests/harness/sshd_harness.py first", 2)
    env = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v
    return env


ENV = _load_env()


class Env:
    host = ENV["XSSH_TEST_HOST"]
    port = int(ENV["XSSH_TEST_PORT"])
    user = ENV["XSSH_TEST_USER"]
    key = ENV["XSSH_TEST_KEY_ED25519"]
    key_ecdsa = ENV["XSSH_TEST_KEY_ECDSA"]
    key_rsa = ENV["XSSH_TEST_KEY_RSA"]
    key_encrypted = ENV["XSSH_TEST_KEY_ENCRYPTED"]
    passphrase = ENV["XSSH_TEST_KEY_PASSPHRASE"]
    key_unauthorized = ENV["XSSH_TEST_KEY_UNAUTHORIZED"]
    known_hosts = ENV["XSSH_TEST_KNOWN_HOSTS"]
    fingerprint = ENV["XSSH_TEST_HOSTKEY_FP"]
    pw_user = ENV.get("XSSH_TEST_PW_USER", "")
    password = ENV.get("XSSH_TEST_PASSWORD", "")
    agent_sock = ENV.get("XSSH_TEST_AGENT_SOCK", "")
    dir = ENV["XSSH_TEST_DIR"]


@pytest.fixture
def env():
    return Env


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix="xssh-py-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def session(env):
    """A connected, host-verified, authenticated session."""
    s = xssh.connect(env.host, env.port, env.user, key=env.key, known_hosts=env.known_hosts)
    yield s
    s.close()


@pytest.fixture
def raw_session(env):
    """Connected and verified, not authenticated."""
    s = xssh.Session()
    s.connect(env.host, env.port, 10000)
    s.verify_host(env.host, env.port, xssh.HOSTKEY_STRICT, env.known_hosts)
    yield s
    s.close()


def hashed_copy(src, dst):
    shutil.copy(src, dst)
    subprocess.run(["ssh-keygen", "-H", "-f", dst], check=True, capture_output=True)
