"""xssh: a fast SSH2 client library over libssh2 (C core, one SWIG definition).

ssh2-python compatible: code written for ``ssh2`` runs after renaming the
imports to ``xssh`` (``from xssh.session import Session``). On top of that:
``xssh.connect()`` (verifies the host key, authenticates) and context managers.
"""
import os as _os

from . import core as _c
from . import _compat  # noqa: F401  (ssh2-python signatures on the core classes)
from .core import (Agent, Channel, Forward, KnownHost, KnownHostEntry, Listener, PublicKey,  # noqa: F401
                   PublicKeySystem, RunResult, Session, SFTP, SFTPHandle)
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


def _parse_hop(hop, port, user):
    """A ProxyJump hop: "[user@]host[:port]", a (host, port) tuple or a dict of connect() arguments."""
    if isinstance(hop, dict):
        return dict(hop)
    if isinstance(hop, (tuple, list)):
        return {"host": hop[0], "port": int(hop[1]) if len(hop) > 1 else port}
    text = str(hop)
    d = {}
    if "@" in text:
        d["user"], text = text.rsplit("@", 1)
    if text.startswith("["):  # [ipv6]:port
        h, _, rest = text[1:].partition("]")
        d["host"] = h
        if rest.startswith(":"):
            d["port"] = int(rest[1:])
    elif text.count(":") == 1:
        h, p = text.split(":")
        d["host"], d["port"] = h, int(p)
    else:
        d["host"] = text
    return d


def connect(host, port=22, user=None, *, key=None, passphrase=None, password=None, agent=False,
            known_hosts=None, host_key_policy="strict", timeout=30.0, proxy_jump=None):
    """Connect, verify the host key and authenticate; returns a Session.

    The host key is checked against ``known_hosts`` (default ``~/.ssh/known_hosts``)
    under ``host_key_policy``: ``"strict"`` (default; unknown or changed keys fail),
    ``"accept_new"`` (learn unknown keys, reject changed ones) or ``"off"``, with
    OpenSSH's rules (docs/knownhosts.md); like ``ssh``, the handshake first offers the
    host-key types ``known_hosts`` records for the host (``Session.prefer_known_hostkeys``).
    Authentication tries, in order: ``key`` (a private key path), ``password``,
    and the SSH agent when ``agent`` is true. Usable as a context manager.

    ``proxy_jump`` is a list of hops to go through, first to last (like OpenSSH's
    ``-J hop1,hop2``): each "[user@]host[:port]", (host, port) or a dict of these
    same arguments; a hop uses the target's credentials, known_hosts and policy
    unless its dict overrides them, and its host key is verified the same way.
    Every hop stays alive as long as the returned session.
    """
    if not user:
        import getpass  # lazy: keeps `import xssh` light
        user = getpass.getuser()
    common = dict(user=user, key=key, passphrase=passphrase, password=password, agent=agent,
                  known_hosts=known_hosts, host_key_policy=host_key_policy, timeout=timeout)
    via = None
    for hop in proxy_jump or ():
        args = dict(common, port=22)
        args.update(_parse_hop(hop, 22, user))
        h = args.pop("host")
        via = _connect_one(h, args.pop("port"), via=via, **args)
    return _connect_one(host, port, via=via, **common)


def _connect_one(host, port, user, key, passphrase, password, agent, known_hosts, host_key_policy, timeout,
                 via=None):
    s = Session()
    try:
        path = _os.path.expanduser(_os.fspath(known_hosts)) if known_hosts else None
        policy = _policy(host_key_policy)
        if policy != HOSTKEY_OFF:
            # like ssh: offer first the host-key algorithms of the key types known_hosts records
            s.prefer_known_hostkeys(host, port, path)
        if via is not None:
            s.connect_via(via, host, port, int(timeout * 1000) if timeout else 0)
        else:
            s.connect(host, port, int(timeout * 1000) if timeout else 0)
        s.verify_host(host, port, policy, path)
        if timeout:
            s.set_timeout(int(timeout * 1000))
        if key is not None:
            s.userauth_publickey_fromfile(user, _os.path.expanduser(_os.fspath(key)), passphrase)
        elif password is not None:
            s.userauth_password(user, password)
        elif agent:
            s.agent_auth(user)
        return s
    except BaseException:
        s.close()
        raise
