"""ssh2-python compatibility of the surface: every documented module, class, method,
constant and exception of ssh2-python (../shared/reference/api-inventory.md) exists
under xssh with the same name. Behaviour is tested in the other test files."""
import importlib

import pytest

SESSION = """agent_auth agent_init block_directions direct_tcpip direct_tcpip_ex disconnect flag forward_listen
forward_listen_ex get_blocking get_timeout handshake hostkey hostkey_hash keepalive_config keepalive_send
knownhost_init last_errno last_error method_pref methods open_session publickey_init scp_recv scp_recv2 scp_send
scp_send64 set_blocking set_last_error set_timeout sftp_init startup supported_algs userauth_authenticated
userauth_hostbased_fromfile userauth_keyboardinteractive userauth_list userauth_password userauth_publickey
userauth_publickey_fromfile userauth_publickey_frommemory""".split()
CHANNEL = """close eof execute flush flush_ex flush_stderr get_exit_signal get_exit_status handle_extended_data
handle_extended_data2 ignore_extended_data poll_channel_read process_startup pty read read_ex read_stderr
receive_window_adjust receive_window_adjust2 send_eof setenv shell subsystem wait_closed wait_eof window_read
window_read_ex window_write window_write_ex write write_ex write_stderr x11_req x11_req_ex""".split()
AGENT = "connect disconnect get_identities list_identities userauth".split()
SFTP = """get_channel last_error lstat mkdir open open_ex opendir realpath rename rename_ex rmdir setstat stat
statvfs symlink unlink""".split()
SFTP_HANDLE = """close fsetstat fstat fstat_ex fstatvfs fsync read readdir readdir_ex rewind seek seek64 tell
tell64 write""".split()
KNOWNHOST = "add addc check checkp delete get readfile readline writefile writeline".split()
LISTENER = "forward_accept forward_cancel".split()

EXCEPTIONS = """SSH2Error AgentError AgentConnectionError AgentGetIdentityError AgentListIdentitiesError
AgentProtocolError AuthenticationError AgentAuthenticationError PasswordExpiredError PublickeyUnverifiedError
BadSocketError BadUseError BufferTooSmallError ChannelError ChannelClosedError ChannelEOFSentError ChannelFailure
ChannelOutOfOrderError ChannelPacketExceeded ChannelRequestDenied ChannelUnknownError ChannelWindowExceeded
FileError InvalidPollTypeError InvalidRequestError KnownHostError KnownHostAddError KnownHostCheckError
KnownHostCheckFailure KnownHostCheckMisMatchError KnownHostCheckNotFoundError KnownHostDeleteError
KnownHostGetError KnownHostReadFileError KnownHostReadLineError KnownHostWriteFileError KnownHostWriteLineError
MethodNoneError OutOfBoundaryError ProtocolError PublicKeyError PublicKeyInitError PublicKeyProtocolError SFTPError
SFTPHandleError SFTPProtocolError SessionError BannerRecvError BannerSendError CompressError DecryptError
EncryptError HostkeyInitError HostkeySignError KeyExchangeError MethodNotSupported RequestDeniedError
SCPProtocolError SessionHandshakeError SessionHostKeyError SessionStartupError SocketTimeout Timeout ZlibError
SocketDisconnectError SocketRecvError SocketSendError UnknownError""".split()
PARENTS = {"AgentConnectionError": "AgentError", "AgentProtocolError": "SSH2Error",
           "AgentAuthenticationError": "AuthenticationError", "KnownHostCheckMisMatchError": "KnownHostCheckError",
           "KnownHostCheckError": "KnownHostError", "PublicKeyProtocolError": "SSH2Error",
           "PublicKeyInitError": "PublicKeyError", "SFTPHandleError": "SFTPError", "Timeout": "SessionError",
           "MethodNotSupported": "SessionError", "ChannelFailure": "ChannelError",
           "SocketDisconnectError": "SSH2Error"}

CONSTANTS = {
    "xssh.session": ["LIBSSH2_SESSION_BLOCK_INBOUND", "LIBSSH2_SESSION_BLOCK_OUTBOUND", "LIBSSH2_FLAG_SIGPIPE",
                     "LIBSSH2_FLAG_COMPRESS", "LIBSSH2_HOSTKEY_TYPE_RSA", "LIBSSH2_HOSTKEY_TYPE_DSS",
                     "LIBSSH2_HOSTKEY_TYPE_UNKNOWN", "LIBSSH2_HOSTKEY_TYPE_ED25519", "LIBSSH2_HOSTKEY_HASH_MD5",
                     "LIBSSH2_HOSTKEY_HASH_SHA1"] +
                    ["LIBSSH2_METHOD_" + m for m in "KEX HOSTKEY CRYPT_CS CRYPT_SC MAC_CS MAC_SC COMP_CS COMP_SC "
                                                    "LANG_CS LANG_SC".split()],
    "xssh.error_codes": ["LIBSSH2_ERROR_EAGAIN", "LIBSSH2_ERROR_TIMEOUT", "LIBSSH2_ERROR_SOCKET_DISCONNECT",
                         "LIBSSH2_ERROR_AUTHENTICATION_FAILED"],
    "xssh.sftp": ["LIBSSH2_SFTP_S_IFMT", "LIBSSH2_SFTP_S_IFIFO", "LIBSSH2_SFTP_S_IFCHR", "LIBSSH2_SFTP_S_IFDIR",
                  "LIBSSH2_SFTP_S_IFBLK", "LIBSSH2_SFTP_S_IFREG", "LIBSSH2_SFTP_S_IFLNK", "LIBSSH2_SFTP_S_IFSOCK",
                  "LIBSSH2_FXF_READ", "LIBSSH2_FXF_WRITE", "LIBSSH2_FXF_APPEND", "LIBSSH2_FXF_CREAT",
                  "LIBSSH2_FXF_TRUNC", "LIBSSH2_FXF_EXCL", "LIBSSH2_SFTP_S_IRWXU", "LIBSSH2_SFTP_S_IRUSR",
                  "LIBSSH2_SFTP_S_IWUSR", "LIBSSH2_SFTP_S_IXUSR", "LIBSSH2_SFTP_S_IRWXG", "LIBSSH2_SFTP_S_IRGRP",
                  "LIBSSH2_SFTP_S_IWGRP", "LIBSSH2_SFTP_S_IXGRP", "LIBSSH2_SFTP_S_IRWXO", "LIBSSH2_SFTP_S_IROTH",
                  "LIBSSH2_SFTP_S_IWOTH", "LIBSSH2_SFTP_S_IXOTH", "LIBSSH2_SFTP_ST_RDONLY",
                  "LIBSSH2_SFTP_ST_NOSUID"],
    "xssh.knownhost": ["LIBSSH2_KNOWNHOST_TYPE_PLAIN", "LIBSSH2_KNOWNHOST_TYPE_SHA1", "LIBSSH2_KNOWNHOST_KEYENC_RAW",
                       "LIBSSH2_KNOWNHOST_KEYENC_BASE64", "LIBSSH2_KNOWNHOST_KEY_SSHRSA",
                       "LIBSSH2_KNOWNHOST_KEY_ED25519", "LIBSSH2_KNOWNHOST_FILE_OPENSSH"],
}

CLASSES = [
    ("xssh.session", "Session", SESSION),
    ("xssh.channel", "Channel", CHANNEL),
    ("xssh.agent", "Agent", AGENT),
    ("xssh.sftp", "SFTP", SFTP),
    ("xssh.sftp_handle", "SFTPHandle", SFTP_HANDLE),
    ("xssh.knownhost", "KnownHost", KNOWNHOST),
    ("xssh.listener", "Listener", LISTENER),
]


@pytest.mark.parametrize("module,cls,methods", CLASSES, ids=[c[1] for c in CLASSES])
def test_class_methods(module, cls, methods):
    m = importlib.import_module(module)
    k = getattr(m, cls)
    missing = [n for n in methods if not callable(getattr(k, n, None))]
    assert not missing, "%s.%s lacks %s" % (module, cls, missing)


@pytest.mark.parametrize("module", sorted(CONSTANTS))
def test_constants(module):
    m = importlib.import_module(module)
    from xssh.session import MethodType  # FlagType is a MethodType subclass
    missing = [n for n in CONSTANTS[module] if not isinstance(getattr(m, n, None), (int, MethodType))]
    assert not missing, "%s lacks %s" % (module, missing)


def test_exceptions():
    from xssh import exceptions as E
    missing = [n for n in EXCEPTIONS if not isinstance(getattr(E, n, None), type)]
    assert not missing, missing
    assert len(EXCEPTIONS) == 68
    for child, parent in PARENTS.items():
        assert getattr(E, parent) in getattr(E, child).__mro__[1:2], (child, parent)
    for n in EXCEPTIONS:
        assert issubclass(getattr(E, n), E.SSH2Error)


def test_other_modules():
    from xssh import fileinfo, pkey, publickey, statinfo, utils
    assert callable(utils.handle_error_codes) and callable(utils.version) and callable(utils.wait_socket)
    assert callable(utils.ssh2_exit)
    assert hasattr(pkey, "PublicKey")
    assert hasattr(fileinfo, "FileInfo") and hasattr(statinfo, "StatInfo")
    assert hasattr(publickey, "PublicKeySystem")
    for a in "st_atime st_blksize st_blocks st_ctime st_gid st_ino st_mode st_mtime st_nlink st_rdev st_size st_uid".split():
        assert hasattr(fileinfo.FileInfo, a) and hasattr(statinfo.StatInfo, a), a
    from xssh.sftp_handle import SFTPAttributes, SFTPStatVFS
    for a in "atime filesize flags gid mtime permissions uid".split():
        assert hasattr(SFTPAttributes, a), a
    for a in "f_bsize f_frsize f_blocks f_bfree f_bavail f_files f_ffree f_favail f_fsid f_flag f_namemax".split():
        assert hasattr(SFTPStatVFS, a), a


def test_type_stubs_cover_the_module():
    """The generated .pyi stubs name every public class and method, so editors complete them."""
    import os
    import xssh.core as core
    d = os.path.dirname(core.__file__)
    text = open(os.path.join(d, "core.pyi")).read()
    assert os.path.exists(os.path.join(d, "py.typed"))
    for cls in ("Session", "Channel", "SFTP", "SFTPHandle", "Listener", "Agent", "KnownHost"):
        assert "class %s:" % cls in text, cls
        for m in vars(getattr(core, cls)):
            if not m.startswith("_") and m not in ("thisown", "this") and callable(getattr(getattr(core, cls), m)):
                assert "def %s(" % m in text, "%s.%s missing from core.pyi" % (cls, m)
    init = open(os.path.join(d, "__init__.pyi")).read()
    assert "def connect(" in init
