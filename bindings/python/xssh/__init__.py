"""xssh: a fast SSH2 client library over libssh2 (C core, one SWIG definition).

ssh2-python compatible: code written for ``ssh2`` runs after renaming the
imports to ``xssh`` (``from xssh.session import Session``). On top of that:
``xssh.connect()`` (verifies the host key, authenticates) and context managers.
"""
import os as _os

from . import core as _c
from .core import Agent, KnownHost, KnownHostEntry, PublicKey, Session  # noqa: F401
from .exceptions import SSH2Error  # noqa: F401

__version__ = _c.version()

#: host-key policies for connect() and Session.verify_host()
HOSTKEY_STRICT = _c.XSSH_HOSTKEY_STRICT
HOSTKEY_ACCEPT_NEW = _c.XSSH_HOSTKEY_ACCEPT_NEW
HOSTKEY_OFF = _c.XSSH_HOSTKEY_OFF
_POLICIES = {"strict": HOSTKEY_STRICT, "accept_new": HOSTKEY_ACCEPT_NEW, "accept-new": HOSTKEY_ACCEPT_NEW,
             "off": HOSTKEY_OFF}


def _policy(p):
    if isinstance(p, int):
        return p
    try:
        return _POLICIES[p]
    except KeyError:
        raise ValueError("host_key_policy must be 'strict', 'accept_new' or 'off', not %r" % (p,)) from None


def connect(host, port=22, user=None, *, key=None, passphrase=None, password=None, agent=False,
            known_hosts=None, host_key_policy="strict", timeout=30.0):
    """Connect, verify the host key and authenticate; returns a Session.

    The host key is checked against ``known_hosts`` (default ``~/.ssh/known_hosts``)
    under ``host_key_policy``: ``"strict"`` (default; unknown or changed keys fail),
    ``"accept_new"`` (learn unknown keys, reject changed ones) or ``"off"``.
    Authentication tries, in order: ``key`` (a private key path), ``password``,
    and the SSH agent when ``agent`` is true. Usable as a context manager.
    """
    if not user:
        import getpass  # lazy: keeps `import xssh` light
        user = getpass.getuser()
    s = Session()
    try:
        s.connect(host, port, int(timeout * 1000) if timeout else 0)
        s.verify_host(host, port, _policy(host_key_policy), known_hosts)
        if timeout:
            s.set_timeout(int(timeout * 1000))
        if key is not None:
            s.userauth_publickey_fromfile(user, _os.fspath(key), passphrase)
        elif password is not None:
            s.userauth_password(user, password)
        elif agent:
            s.agent_auth(user)
        return s
    except BaseException:
        s.close()
        raise
