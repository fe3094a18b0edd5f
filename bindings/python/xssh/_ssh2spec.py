"""ssh2-python 1.2's signatures as ONE declarative table, and the generator of their functions.

Each line of ``SPEC`` is ``Class.method(ssh2-python parameters) [-> call]``. ``source()`` turns
every line into a plain Python function with exactly those parameter names, order and defaults
(so keywords work and ``inspect.signature`` / ``help()`` show them); its body is ``call``, or,
when the line has none, the method it replaces called with the same arguments in order. The
build writes that source to ``xssh/_ssh2sig.py`` (``python3 _ssh2spec.py OUT``) so that import
uses cached bytecode; ``xssh._compat`` binds the helpers and sets the functions on the classes.
Inside ``call``: ``_orig`` is the replaced method, ``_c`` the ``xssh.core`` module, ``_lowcore``
the C extension, and the helpers of ``xssh._compat``. Numbers and text are converted by the C
typemaps (int/float/__index__, str/bytes). ``__init__`` lines are constructors.
No imports here: the build runs this file on its own.
"""
import sys

# ssh2-python 1.2's table (../shared/reference/ssh2-python-signatures.md), class by class.
SPEC = r"""
Agent.__init__(session) -> _adopt(self, session.agent_init(), "Agent(session)")
Agent.userauth(username, pkey)
Agent.set_identity_path(path) -> (_orig(self, path), self.__dict__.__setitem__("_identity_path", path))[1]
Agent.get_identity_path() -> self.__dict__.get("_identity_path")

Channel.__init__(session) -> _adopt(self, session.open_session(), "Channel(session)")
Channel.pty(term="vt100")
Channel.execute(command)
Channel.subsystem(subsystem)
Channel.read(size=1024)
Channel.read_ex(size=1024, stream_id=0)
Channel.read_stderr(size=1024)
Channel.flush_ex(stream_id)
Channel.setenv(varname, value)
Channel.window_read_ex(read_avail, window_size_initial) -> _orig(self, read_avail, window_size_initial)[0]
Channel.window_write_ex(window_size_initial) -> _orig(self, window_size_initial)[0]
Channel.receive_window_adjust2(adjustment, force)
Channel.write(buf)
Channel.write_ex(stream_id, buf)
Channel.write_stderr(buf)
Channel.x11_req(screen_number)
Channel.x11_req_ex(single_connection, auth_proto, auth_cookie, screen_number)
Channel.process_startup(request, message=None)
Channel.poll_channel_read(extended)
Channel.handle_extended_data2(ignore_mode)
Channel.signal(signame)

KnownHost.__init__(session) -> _adopt(self, session.knownhost_init(), "KnownHost(session)")
KnownHost.add(host, salt, key, typemask) -> self.addc(host, key, typemask, salt)
KnownHost.addc(host, key, typemask, salt=None, comment=None)
KnownHost.check(host, key, typemask) -> self.checkp(host, -1, key, typemask)
KnownHost.checkp(host, port, key, typemask)
KnownHost.delete(entry)
KnownHost.readline(line, f_type=1)
KnownHost.readfile(filename, f_type=1)
KnownHost.writeline(entry, f_type=1, buf_len=1024) -> _kh_writeline(self, entry, f_type, buf_len)
KnownHost.writefile(filename, f_type=1)
KnownHost.get(prev=None)

Listener.__init__(session) -> _unbound(self, "Listener", "Session.forward_listen() / forward_listen_ex()")

PublicKey.__init__() -> _unbound(self, "PublicKey", "Agent.get_identities()")

PublicKeySystem.__init__(session) -> _adopt(self, session.publickey_init(), "PublicKeySystem(session)")
PublicKeySystem.add(name, blob, overwrite, attrs) -> _orig(self, name, blob, overwrite) if not attrs else _not_supported("PublicKeySystem.add with attributes: xssh's public-key subsystem sends none")
PublicKeySystem.remove(name, blob)
PublicKeySystem.list_fetch() -> _not_supported("PublicKeySystem.list_fetch: not wrapped for Python yet (the C call is xssh_publickey_list)")
PublicKeySystem.list_free() -> None
PublicKeySystem.shutdown() -> self.close()

Session.handshake(sock) -> _sock(self, sock, _lowcore.Session_handshake(self, sock))
Session.set_blocking(blocking)
Session.set_timeout(timeout)
Session.userauth_list(username)
Session.userauth_publickey_fromfile(username, privatekey, passphrase='', publickey=None) -> _orig(self, username, _fspath(privatekey), passphrase, _fspath(publickey))
Session.userauth_publickey(username, pubkeydata)
Session.userauth_hostbased_fromfile(username, privatekey, hostname, publickey=None, passphrase='') -> _orig(self, username, _fspath(privatekey), hostname, _fspath(publickey), passphrase)
Session.userauth_publickey_frommemory(username, privatekeyfiledata, passphrase='', publickeyfiledata=None) -> _orig(self, username, privatekeyfiledata, passphrase, publickeyfiledata)
Session.userauth_password(username, password)
Session.userauth_keyboardinteractive(username, password) -> _lowcore.Session_userauth_keyboard_interactive(self, username, password)
Session.userauth_keyboardinteractive_callback(username, callback) -> _kbd_callback(self, username, callback)
Session.agent_auth(username)
Session.direct_tcpip_ex(host, port, shost, sport)
Session.direct_tcpip(host, port)
Session.direct_streamlocal_ex(socket_path, shost, sport) -> _not_supported("direct_streamlocal_ex needs libssh2_channel_direct_streamlocal_ex (libssh2 >= 1.11); this xssh runs on libssh2 %s" % _c.libssh2_version())
Session.flag(flag, enabled=True) -> _orig(self, _ft(flag), 1 if enabled else 0)
Session.forward_listen(port)
Session.forward_listen_ex(queue_maxsize, host=None, port=0) -> _forward_listen_ex(self, queue_maxsize, host, port)
Session.last_error(msg_size=1024) -> _orig(self)
Session.set_last_error(errcode, errmsg) -> (_orig(self, errcode, errmsg), errcode)[1]
Session.scp_recv2(path)
Session.scp_send64(path, mode, size, mtime, atime)
Session.hostkey_hash(hash_type)
Session.keepalive_config(want_reply, interval)
Session.supported_algs(method_type) -> [m for m in _lowcore.Session_supported_algs(self, _mt(method_type)).split(",") if m]
Session.methods(method_type) -> _methods(self, method_type)
Session.method_pref(method_type, prefs) -> _orig(self, _mt(method_type), prefs)

SFTP.__init__(session) -> _adopt(self, session.sftp_init(), "SFTP(session)")
SFTP.open_ex(filename, filename_len, flags, mode, open_type)
SFTP.open(filename, flags, mode)
SFTP.opendir(path)
SFTP.rename_ex(source_filename, source_filename_len, dest_filename, dest_filename_len, flags) -> _lowcore.SFTP_rename_ex(self, _fspath(source_filename), source_filename_len, _fspath(dest_filename), dest_filename_len, flags)
SFTP.rename(source_filename, dest_filename) -> _orig(self, _fspath(source_filename), _fspath(dest_filename))
SFTP.unlink(filename) -> _orig(self, _fspath(filename))
SFTP.statvfs(path) -> _orig(self, _fspath(path))
SFTP.mkdir(path, mode) -> _orig(self, _fspath(path), mode)
SFTP.rmdir(path) -> _orig(self, _fspath(path))
SFTP.stat(path) -> _orig(self, _fspath(path))
SFTP.lstat(path) -> _orig(self, _fspath(path))
SFTP.setstat(path, attrs) -> _orig(self, _fspath(path), attrs)
SFTP.symlink(path, target) -> _orig(self, _fspath(path), _fspath(target))
SFTP.realpath(path, max_len=256) -> _realpath(self, path, max_len)

SFTPHandle.__init__(sftp) -> _unbound(self, "SFTPHandle", "SFTP.open() / opendir()")
SFTPHandle.read(buffer_maxlen=2097152)
SFTPHandle.readdir_ex(longentry_maxlen=1024, buffer_maxlen=1024)
SFTPHandle.readdir(buffer_maxlen=1024)
SFTPHandle.write(buf)
SFTPHandle.seek(offset)
SFTPHandle.seek64(offset)
SFTPHandle.fstat_ex(attrs, setstat)
SFTPHandle.fsetstat(attrs)

SFTPStatVFS.__init__(_sftp_ref) -> _orig(self)
"""




def parse():
    """[(n, class, method, parameters, call)] of SPEC."""
    out = []
    for n, line in enumerate(SPEC.strip().splitlines()):
        line = line.strip()
        if not line:
            continue
        head, _, call = line.partition(" -> ")
        qual, _, params = head.partition("(")
        cls_name, meth = qual.split(".")
        params = params[:-1]
        names = [p.split("=")[0].strip() for p in params.split(",") if p.strip()]
        if not call:
            call = "_orig(self%s)" % "".join(", " + a for a in names)
        out.append((n, cls_name, meth, params, call.replace("_orig(", "_o%d(" % n)))
    return out


def source():
    """The Python source of every SPEC function (_f<n>, its replaced method is the global _o<n>)
    and TARGETS: [(n, class, method)]."""
    rows = parse()
    parts = ["# Generated from xssh/_ssh2spec.py by the build: do not edit.\n"
             "# Globals (_o<n>, helpers) are bound by xssh._compat before use.\n"]
    for n, cls_name, meth, params, call in rows:
        parts.append("\ndef _f%d(self%s):\n    return %s\n" % (n, (", " + params) if params else "", call))
    parts.append("\nTARGETS = %r\n" % ([(n, c, m) for n, c, m, _, _ in rows],))
    return "".join(parts)


if __name__ == "__main__":
    with open(sys.argv[1], "w") as f:
        f.write(source())
