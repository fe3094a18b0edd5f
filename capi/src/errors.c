/* SPDX-License-Identifier: BSD-3-Clause */
/* The one error table: codes, names, messages and binding exception classes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ROW(code, msg, exc) {code, #code, msg, exc}

static const xssh_err_info err_table[] = {
    ROW(XSSH_ESOCKET_NONE, "no socket or socket failure", "SocketNoneError"),
    ROW(XSSH_EBANNER_RECV, "could not receive the server's banner", "BannerRecvError"),
    ROW(XSSH_EBANNER_SEND, "could not send the banner", "BannerSendError"),
    ROW(XSSH_EINVALID_MAC, "a packet failed MAC verification", "InvalidMACError"),
    ROW(XSSH_EKEX_FAILURE, "key exchange method negotiation failed", "KexFailureError"),
    ROW(XSSH_EALLOC, "libssh2 could not allocate memory", "AllocError"),
    ROW(XSSH_ESOCKET_SEND, "sending on the socket failed", "SocketSendError"),
    ROW(XSSH_EKEY_EXCHANGE_FAILURE, "key exchange failed", "KeyExchangeError"),
    ROW(XSSH_ETIMEOUT, "the operation timed out", "Timeout"),
    ROW(XSSH_EHOSTKEY_INIT, "host key initialisation failed", "HostkeyInitError"),
    ROW(XSSH_EHOSTKEY_SIGN, "host key signature verification failed", "HostkeySignError"),
    ROW(XSSH_EDECRYPT, "decryption failed", "DecryptError"),
    ROW(XSSH_ESOCKET_DISCONNECT, "the connection was closed by the remote side", "SocketDisconnectError"),
    ROW(XSSH_EPROTO, "SSH protocol error", "ProtocolError"),
    ROW(XSSH_EPASSWORD_EXPIRED, "the password has expired", "PasswordExpiredError"),
    ROW(XSSH_EFILE, "a local file could not be used", "FileError"),
    ROW(XSSH_EMETHOD_NONE, "no method was negotiated", "MethodNoneError"),
    ROW(XSSH_EAUTHENTICATION_FAILED, "authentication failed", "AuthenticationError"),
    ROW(XSSH_EPUBLICKEY_UNVERIFIED, "the public key was not verified by the server", "PublickeyUnverifiedError"),
    ROW(XSSH_ECHANNEL_OUTOFORDER, "channel packets out of order", "ChannelOutOfOrderError"),
    ROW(XSSH_ECHANNEL_FAILURE, "the channel request failed", "ChannelFailure"),
    ROW(XSSH_ECHANNEL_REQUEST_DENIED, "the server denied the channel request", "ChannelRequestDenied"),
    ROW(XSSH_ECHANNEL_UNKNOWN, "unknown channel", "ChannelUnknownError"),
    ROW(XSSH_ECHANNEL_WINDOW_EXCEEDED, "channel window exceeded", "ChannelWindowExceeded"),
    ROW(XSSH_ECHANNEL_PACKET_EXCEEDED, "channel packet size exceeded", "ChannelPacketExceeded"),
    ROW(XSSH_ECHANNEL_CLOSED, "the channel was closed", "ChannelClosedError"),
    ROW(XSSH_ECHANNEL_EOF_SENT, "EOF was already sent on this channel", "ChannelEOFSentError"),
    ROW(XSSH_ESCP_PROTOCOL, "SCP protocol error", "SCPProtocolError"),
    ROW(XSSH_EZLIB, "zlib error", "ZlibError"),
    ROW(XSSH_ESOCKET_TIMEOUT, "socket timeout", "SocketTimeout"),
    ROW(XSSH_ESFTP_PROTOCOL, "SFTP protocol error", "SFTPProtocolError"),
    ROW(XSSH_EREQUEST_DENIED, "the server denied the request", "RequestDeniedError"),
    ROW(XSSH_EMETHOD_NOT_SUPPORTED, "method or flag not supported", "MethodNotSupported"),
    ROW(XSSH_EINVAL, "invalid request", "InvalidRequestError"),
    ROW(XSSH_EINVALID_POLL_TYPE, "invalid poll type", "InvalidPollTypeError"),
    ROW(XSSH_EPUBLICKEY_PROTOCOL, "public-key subsystem protocol error", "PublicKeyProtocolError"),
    ROW(XSSH_EAGAIN, "would block; retry when the socket is ready", "WouldBlock"),
    ROW(XSSH_EBUFFER_TOO_SMALL, "buffer too small", "BufferTooSmallError"),
    ROW(XSSH_EBAD_USE, "call not valid in this state", "BadUseError"),
    ROW(XSSH_ECOMPRESS, "compression error", "CompressError"),
    ROW(XSSH_EOUT_OF_BOUNDARY, "out of boundary", "OutOfBoundaryError"),
    ROW(XSSH_EAGENT_PROTOCOL, "agent protocol error", "AgentProtocolError"),
    ROW(XSSH_ESOCKET_RECV, "receiving from the socket failed", "SocketRecvError"),
    ROW(XSSH_EENCRYPT, "encryption failed", "EncryptError"),
    ROW(XSSH_EBAD_SOCKET, "bad socket", "BadSocketError"),
    ROW(XSSH_EKNOWN_HOSTS, "known-hosts error", "KnownHostError"),
    ROW(XSSH_ECHANNEL_WINDOW_FULL, "channel window full", "ChannelWindowFullError"),
    ROW(XSSH_EKEYFILE_AUTH_FAILED, "the key file could not be used (unreadable, bad format or wrong passphrase)",
        "KeyfileAuthFailedError"),
    ROW(XSSH_ERANDGEN, "random number generation failed", "RandGenError"),
    ROW(XSSH_EMISSING_USERAUTH_BANNER, "no user-auth banner", "MissingUserauthBannerError"),
    ROW(XSSH_EALGO_UNSUPPORTED, "algorithm unsupported", "AlgoUnsupportedError"),
    ROW(XSSH_EUNKNOWN, "unknown libssh2 error", "UnknownError"),
    ROW(XSSH_EARG, "invalid argument", "InvalidArgumentError"),
    ROW(XSSH_ECLOSED, "the object or its session is closed", "ClosedError"),
    ROW(XSSH_ENOTCONNECTED, "the session is not connected (call connect or handshake first)", "NotConnectedError"),
    ROW(XSSH_ERESOLVE, "the host name could not be resolved", "ResolveError"),
    ROW(XSSH_ECONNECT, "the TCP connection failed", "ConnectError"),
    ROW(XSSH_EHOSTKEY_UNKNOWN, "the server's host key is not in known_hosts", "KnownHostCheckNotFoundError"),
    ROW(XSSH_EHOSTKEY_CHANGED, "the server's host key does not match known_hosts", "KnownHostCheckMisMatchError"),
    ROW(XSSH_ENOTSUPPORTED, "not supported by this libssh2 build", "NotSupportedError"),
    ROW(XSSH_ENOMEM, "out of memory", "OutOfMemoryError"),
    ROW(XSSH_ECANCELLED, "cancelled", "CancelledError"),
    ROW(XSSH_EITEROVER, "iteration finished", "IterOver"),
    ROW(XSSH_EAGENT_CONNECT, "could not connect to the SSH agent", "AgentConnectionError"),
    ROW(XSSH_EAGENT_LIST, "could not list the agent's identities", "AgentListIdentitiesError"),
    ROW(XSSH_EAGENT_IDENTITY, "no such identity in the agent", "AgentGetIdentityError"),
    ROW(XSSH_EAGENT_AUTH, "no agent identity could authenticate", "AgentAuthenticationError"),
    ROW(XSSH_EKNOWNHOST_ADD, "could not add the known-hosts entry", "KnownHostAddError"),
    ROW(XSSH_EKNOWNHOST_CHECK, "the known-hosts check could not be made", "KnownHostCheckFailure"),
    ROW(XSSH_EKNOWNHOST_DELETE, "could not delete the known-hosts entry", "KnownHostDeleteError"),
    ROW(XSSH_EKNOWNHOST_GET, "could not get the known-hosts entries", "KnownHostGetError"),
    ROW(XSSH_EKNOWNHOST_READFILE, "could not read the known_hosts file", "KnownHostReadFileError"),
    ROW(XSSH_EKNOWNHOST_READLINE, "could not parse the known_hosts line", "KnownHostReadLineError"),
    ROW(XSSH_EKNOWNHOST_WRITEFILE, "could not write the known_hosts file", "KnownHostWriteFileError"),
    ROW(XSSH_EKNOWNHOST_WRITELINE, "could not format the known_hosts line", "KnownHostWriteLineError"),
    ROW(XSSH_EHANDSHAKE, "the SSH handshake failed", "SessionHandshakeError"),
    ROW(XSSH_ESESSION_HOSTKEY, "the server's host key is not available", "SessionHostKeyError"),
    ROW(XSSH_ERSA_SHA1_REFUSED,
        "the server refused the ssh-rsa (SHA-1) signature; RSA keys need RSA-SHA2, which needs libssh2 >= 1.11 "
        "(use an Ed25519 or ECDSA key)",
        "RSASHA1RefusedError"),
    ROW(XSSH_EPUBLICKEY_INIT, "the server does not offer the public-key subsystem (OpenSSH's sshd does not)",
        "PublicKeyInitError"),
    ROW(XSSH_ECONFIG, "the ssh configuration is malformed or unreadable", "ConfigError"),
    ROW(XSSH_ESFTP_EOF, "SFTP: end of file", "SFTPEOFError"),
    ROW(XSSH_ESFTP_NO_SUCH_FILE, "SFTP: no such file", "SFTPNoSuchFileError"),
    ROW(XSSH_ESFTP_PERMISSION_DENIED, "SFTP: permission denied", "SFTPPermissionDeniedError"),
    ROW(XSSH_ESFTP_FAILURE, "SFTP: failure", "SFTPFailureError"),
    ROW(XSSH_ESFTP_BAD_MESSAGE, "SFTP: bad message", "SFTPBadMessageError"),
    ROW(XSSH_ESFTP_NO_CONNECTION, "SFTP: no connection", "SFTPNoConnectionError"),
    ROW(XSSH_ESFTP_CONNECTION_LOST, "SFTP: connection lost", "SFTPConnectionLostError"),
    ROW(XSSH_ESFTP_OP_UNSUPPORTED, "SFTP: operation unsupported", "SFTPOpUnsupportedError"),
    ROW(XSSH_ESFTP_INVALID_HANDLE, "SFTP: invalid handle", "SFTPInvalidHandleError"),
    ROW(XSSH_ESFTP_NO_SUCH_PATH, "SFTP: no such path", "SFTPNoSuchPathError"),
    ROW(XSSH_ESFTP_FILE_ALREADY_EXISTS, "SFTP: file already exists", "SFTPFileAlreadyExistsError"),
    ROW(XSSH_ESFTP_WRITE_PROTECT, "SFTP: write protected", "SFTPWriteProtectError"),
    ROW(XSSH_ESFTP_NO_MEDIA, "SFTP: no media", "SFTPNoMediaError"),
    ROW(XSSH_ESFTP_NO_SPACE, "SFTP: no space left on the file system", "SFTPNoSpaceError"),
    ROW(XSSH_ESFTP_QUOTA_EXCEEDED, "SFTP: quota exceeded", "SFTPQuotaExceededError"),
    ROW(XSSH_ESFTP_UNKNOWN_PRINCIPAL, "SFTP: unknown principal", "SFTPUnknownPrincipalError"),
    ROW(XSSH_ESFTP_LOCK_CONFLICT, "SFTP: lock conflict", "SFTPLockConflictError"),
    ROW(XSSH_ESFTP_DIR_NOT_EMPTY, "SFTP: directory not empty", "SFTPDirNotEmptyError"),
    ROW(XSSH_ESFTP_NOT_A_DIRECTORY, "SFTP: not a directory", "SFTPNotADirectoryError"),
    ROW(XSSH_ESFTP_INVALID_FILENAME, "SFTP: invalid file name", "SFTPInvalidFilenameError"),
    ROW(XSSH_ESFTP_LINK_LOOP, "SFTP: too many symbolic links", "SFTPLinkLoopError"),
};

/* Exception classes, parent first. Follows ssh2-python's tree (all 68 of its
   classes) plus one class per xssh error that ssh2-python has no class for. */
static const struct { const char *name, *parent; } exc_classes[] = {
    {"SSH2Error", ""},
    {"AgentError", "SSH2Error"},
    {"AgentConnectionError", "AgentError"},
    {"AgentGetIdentityError", "AgentError"},
    {"AgentListIdentitiesError", "AgentError"},
    {"AgentProtocolError", "SSH2Error"},
    {"AuthenticationError", "SSH2Error"},
    {"AgentAuthenticationError", "AuthenticationError"},
    {"PasswordExpiredError", "AuthenticationError"},
    {"PublickeyUnverifiedError", "AuthenticationError"},
    {"KeyfileAuthFailedError", "AuthenticationError"},
    {"RSASHA1RefusedError", "AuthenticationError"},
    {"BadSocketError", "SSH2Error"},
    {"BadUseError", "SSH2Error"},
    {"BufferTooSmallError", "SSH2Error"},
    {"ChannelError", "SSH2Error"},
    {"ChannelClosedError", "ChannelError"},
    {"ChannelEOFSentError", "ChannelError"},
    {"ChannelFailure", "ChannelError"},
    {"ChannelOutOfOrderError", "ChannelError"},
    {"ChannelPacketExceeded", "ChannelError"},
    {"ChannelRequestDenied", "ChannelError"},
    {"ChannelUnknownError", "ChannelError"},
    {"ChannelWindowExceeded", "ChannelError"},
    {"ChannelWindowFullError", "ChannelError"},
    {"FileError", "SSH2Error"},
    {"ConfigError", "SSH2Error"},
    {"InvalidPollTypeError", "SSH2Error"},
    {"InvalidRequestError", "SSH2Error"},
    {"KnownHostError", "SSH2Error"},
    {"KnownHostAddError", "KnownHostError"},
    {"KnownHostCheckError", "KnownHostError"},
    {"KnownHostCheckFailure", "KnownHostCheckError"},
    {"KnownHostCheckMisMatchError", "KnownHostCheckError"},
    {"KnownHostCheckNotFoundError", "KnownHostCheckError"},
    {"KnownHostDeleteError", "KnownHostError"},
    {"KnownHostGetError", "KnownHostError"},
    {"KnownHostReadFileError", "KnownHostError"},
    {"KnownHostReadLineError", "KnownHostError"},
    {"KnownHostWriteFileError", "KnownHostError"},
    {"KnownHostWriteLineError", "KnownHostError"},
    {"MethodNoneError", "SSH2Error"},
    {"OutOfBoundaryError", "SSH2Error"},
    {"ProtocolError", "SSH2Error"},
    {"PublicKeyError", "SSH2Error"},
    {"PublicKeyInitError", "PublicKeyError"},
    {"PublicKeyProtocolError", "SSH2Error"},
    {"SFTPError", "SSH2Error"},
    {"SFTPHandleError", "SFTPError"},
    {"SFTPProtocolError", "SFTPError"},
    {"SFTPEOFError", "SFTPProtocolError"},
    {"SFTPNoSuchFileError", "SFTPProtocolError"},
    {"SFTPPermissionDeniedError", "SFTPProtocolError"},
    {"SFTPFailureError", "SFTPProtocolError"},
    {"SFTPBadMessageError", "SFTPProtocolError"},
    {"SFTPNoConnectionError", "SFTPProtocolError"},
    {"SFTPConnectionLostError", "SFTPProtocolError"},
    {"SFTPOpUnsupportedError", "SFTPProtocolError"},
    {"SFTPInvalidHandleError", "SFTPProtocolError"},
    {"SFTPNoSuchPathError", "SFTPProtocolError"},
    {"SFTPFileAlreadyExistsError", "SFTPProtocolError"},
    {"SFTPWriteProtectError", "SFTPProtocolError"},
    {"SFTPNoMediaError", "SFTPProtocolError"},
    {"SFTPNoSpaceError", "SFTPProtocolError"},
    {"SFTPQuotaExceededError", "SFTPProtocolError"},
    {"SFTPUnknownPrincipalError", "SFTPProtocolError"},
    {"SFTPLockConflictError", "SFTPProtocolError"},
    {"SFTPDirNotEmptyError", "SFTPProtocolError"},
    {"SFTPNotADirectoryError", "SFTPProtocolError"},
    {"SFTPInvalidFilenameError", "SFTPProtocolError"},
    {"SFTPLinkLoopError", "SFTPProtocolError"},
    {"SessionError", "SSH2Error"},
    {"BannerRecvError", "SessionError"},
    {"BannerSendError", "SessionError"},
    {"CompressError", "SessionError"},
    {"DecryptError", "SessionError"},
    {"EncryptError", "SessionError"},
    {"HostkeyInitError", "SessionError"},
    {"HostkeySignError", "SessionError"},
    {"KeyExchangeError", "SessionError"},
    {"KexFailureError", "KeyExchangeError"},
    {"MethodNotSupported", "SessionError"},
    {"RequestDeniedError", "SessionError"},
    {"SCPProtocolError", "SessionError"},
    {"SessionHandshakeError", "SessionError"},
    {"SessionHostKeyError", "SessionError"},
    {"SessionStartupError", "SessionError"},
    {"SocketTimeout", "SessionError"},
    {"Timeout", "SessionError"},
    {"ZlibError", "SessionError"},
    {"InvalidMACError", "SessionError"},
    {"NotConnectedError", "SessionError"},
    {"ConnectError", "SessionError"},
    {"ResolveError", "ConnectError"},
    {"MissingUserauthBannerError", "SessionError"},
    {"AlgoUnsupportedError", "SessionError"},
    {"SocketDisconnectError", "SSH2Error"},
    {"SocketNoneError", "SocketDisconnectError"},
    {"SocketRecvError", "SSH2Error"},
    {"SocketSendError", "SSH2Error"},
    {"UnknownError", "SSH2Error"},
    {"InvalidArgumentError", "SSH2Error"},
    {"ClosedError", "SSH2Error"},
    {"NotSupportedError", "SSH2Error"},
    {"OutOfMemoryError", "SSH2Error"},
    {"AllocError", "SSH2Error"},
    {"CancelledError", "SSH2Error"},
    {"RandGenError", "SSH2Error"},
    {"WouldBlock", "SSH2Error"},
    {"IterOver", "SSH2Error"},
};

#define N_ERRS (sizeof(err_table) / sizeof(err_table[0]))
#define N_CLASSES (sizeof(exc_classes) / sizeof(exc_classes[0]))

const xssh_err_info *xssh_err_info_get(int code)
{
    for (size_t i = 0; i < N_ERRS; i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return NULL;
}

size_t xssh_err_count(void) { return N_ERRS; }

const xssh_err_info *xssh_err_info_at(size_t index) { return index < N_ERRS ? &err_table[index] : NULL; }

int xssh_exception_class_at(size_t index, const char **name_out, const char **parent_out)
{
    if (index >= N_CLASSES)
        return 0;
    if (name_out)
        *name_out = exc_classes[index].name;
    if (parent_out)
        *parent_out = exc_classes[index].parent;
    return 1;
}

const char *xssh_strerror(int code)
{
    if (code == XSSH_OK)
        return "success";
    const xssh_err_info *e = xssh_err_info_get(code);
    return e ? e->message : "unknown error code";
}

const char *xssh_err_name(int code)
{
    if (code == XSSH_OK)
        return "XSSH_OK";
    const xssh_err_info *e = xssh_err_info_get(code);
    return e ? e->name : "XSSH_EUNKNOWN";
}

int xssh_err_from_libssh2(int rc)
{
    if (rc >= 0)
        return XSSH_OK;
    if (rc >= XSSH_EALGO_UNSUPPORTED) /* -1 .. -51 are all rows */
        return rc;
    return XSSH_EUNKNOWN;
}

/* ---- last error ---------------------------------------------------------- */

/* codes libssh2 also gives when a reply never came because the connection died
   (e.g. "Unable to startup channel" when the socket closed under the request) */
static int is_wait_code(int c)
{
    return c == XSSH_ECHANNEL_FAILURE || c == XSSH_ECHANNEL_UNKNOWN || c == XSSH_EPROTO ||
           c == XSSH_ECHANNEL_CLOSED || c == XSSH_EPUBLICKEY_UNVERIFIED || c == XSSH_ESFTP_PROTOCOL ||
           c == XSSH_ESCP_PROTOCOL || c == XSSH_EKEY_EXCHANGE_FAILURE || c == XSSH_EDECRYPT ||
           c == XSSH_EINVALID_MAC || c == XSSH_ETIMEOUT;
}

/* codes that say the connection itself failed */
static int is_transport_code(int c)
{
    return c == XSSH_ESOCKET_SEND || c == XSSH_ESOCKET_RECV || c == XSSH_ESOCKET_DISCONNECT ||
           c == XSSH_ESOCKET_NONE || c == XSSH_ESOCKET_TIMEOUT || c == XSSH_EBANNER_RECV || c == XSSH_EBANNER_SEND;
}

/* The last error lives in an xssh__errstate: the thread's own, or the one of
   the multi operation running on this thread (multi.c swaps it at each switch,
   so every operation keeps its own message). */
static _Thread_local xssh__errstate tls_own;
static _Thread_local xssh__errstate *tls_cur;

static xssh__errstate *cur_err(void)
{
    xssh__errstate *e = tls_cur ? tls_cur : &tls_own;
    if (!e->err.message) {
        e->msg[0] = '\0';
        e->err.message = e->msg;
    }
    return e;
}

xssh__errstate *xssh__errstate_swap(xssh__errstate *e)
{
    xssh__errstate *prev = tls_cur;
    tls_cur = e;
    return prev;
}

const xssh_error *xssh_error_last(void) { return &cur_err()->err; }

void xssh_error_clear(void)
{
    xssh__errstate *e = cur_err();
    e->err.code = 0;
    e->err.libssh2_code = 0;
    e->err.sftp_status = 0;
    e->msg[0] = '\0';
    e->err.message = e->msg;
}

int xssh__ok(void)
{
    /* success does not erase the last failure's details (libgit2 style), but
       the code goes back to OK so a binding never raises a stale error */
    cur_err()->err.code = XSSH_OK;
    return XSSH_OK;
}

int xssh__vfail(xssh_session *s, int code, int libssh2_code, int sftp_status, const char *fmt, va_list ap)
{
    /* format aside first: an argument may be xssh_error_last()->message itself
       (re-reporting a failure with more context) */
    char tmp[XSSH__MSG_CAP];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    xssh__errstate *es = cur_err();
    char *tls_msg = es->msg;
    memcpy(tls_msg, tmp, sizeof tmp);
    es->err.code = code;
    es->err.libssh2_code = libssh2_code;
    es->err.sftp_status = sftp_status;
    es->err.message = tls_msg;
    if (s) {
        char *copy = xssh__strdup(tls_msg);
        char *first = is_transport_code(code) || is_transport_code(libssh2_code) ? xssh__strdup(tls_msg) : NULL;
        pthread_mutex_lock(&s->err_lock);
        free(s->last_error);
        s->last_error = copy;
        if (first && !s->first_transport_error) {
            s->first_transport_error = first;
            first = NULL;
        }
        pthread_mutex_unlock(&s->err_lock);
        free(first);
    }
    return code;
}

int xssh__fail(xssh_session *s, int code, int libssh2_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xssh__vfail(s, code, libssh2_code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int xssh__fail_ssh(xssh_session *s, int rc, const char *fmt, ...)
{
    char ctx[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (rc == XSSH_ECANCELLED) /* a multi operation's wait was cancelled (xssh__wait) */
        return xssh__fail(s, XSSH_ECANCELLED, 0, "%s: cancelled", ctx);
    int code = xssh_err_from_libssh2(rc);
    /* A dead transport: libssh2's own text then often names its clean-up
       ("Unable to send close-channel request, but closing anyway") or a wait
       ("Waiting for ..."); name the first cause instead, and the call it hit
       first when that was an earlier one. */
    char cause[400];
    int ccode = s && (is_transport_code(code) || is_wait_code(code)) ? xssh__transport_cause(s, cause, sizeof cause)
                                                                      : 0;
    if (ccode) {
        char first[600] = "";
        pthread_mutex_lock(&s->err_lock);
        if (s->first_transport_error)
            snprintf(first, sizeof first, "%s", s->first_transport_error);
        pthread_mutex_unlock(&s->err_lock);
        if (first[0])
            return xssh__fail(s, ccode, rc, "%s: the connection was lost earlier (first failure: %s)", ctx, first);
        return xssh__fail(s, ccode, rc, "%s: the connection was lost: %s (%s)", ctx, cause, xssh_err_name(ccode));
    }
    char *lmsg = NULL;
    if (s && s->ssh)
        libssh2_session_last_error(s->ssh, &lmsg, NULL, 0);
    if (code == XSSH_EUNKNOWN) /* a code newer than this table: keep its number in the text too */
        return xssh__fail(s, code, rc, "%s: %s (XSSH_EUNKNOWN: libssh2 error %d)", ctx,
                          lmsg && *lmsg ? lmsg : xssh_strerror(code), rc);
    if (lmsg && *lmsg)
        return xssh__fail(s, code, rc, "%s: %s (%s)", ctx, lmsg, xssh_err_name(code));
    return xssh__fail(s, code, rc, "%s: %s (%s)", ctx, xssh_strerror(code), xssh_err_name(code));
}

/* ---- the cause of a dead transport -------------------------------------- */

void xssh__note_io_failure(xssh_session *s, int dir, int err)
{
    int none = 0;
    if (atomic_compare_exchange_strong(&s->io_fail_errno, &none, err ? err : -1)) {
        atomic_store(&s->io_fail_dir, dir);
        /* the input side changed for every waiter of the session: the unlock that
           ends this call wakes them (xssh__unlock), so that an op that does not
           read the session itself (a forward's listener) sees the failure */
        atomic_fetch_add(&s->rx_count, 1);
    }
}

void xssh__note_carrier_failure(xssh_session *s, int code, const char *msg)
{
    /* only the carrier thread writes carrier_msg, and only until it wins the
       slot; readers look at it only once io_fail_errno says the carrier won */
    if (atomic_load(&s->io_fail_errno))
        return;
    snprintf(s->carrier_msg, sizeof s->carrier_msg, "%s", msg);
    atomic_store(&s->carrier_code, code);
    int none = 0;
    atomic_compare_exchange_strong(&s->io_fail_errno, &none, XSSH__IO_FAIL_CARRIER);
}

void xssh__on_disconnect(LIBSSH2_SESSION *ssh, int reason, const char *msg, int msg_len, const char *lang,
                         int lang_len, void **abstract)
{
    (void)ssh, (void)lang, (void)lang_len;
    xssh_session *s = (xssh_session *)*abstract;
    if (atomic_load(&s->peer_disconnect_reason))
        return;
    /* printable characters only: this text comes from the server */
    size_t k = 0;
    for (int i = 0; msg && i < msg_len && k < sizeof s->peer_disconnect_msg - 1; i++) {
        unsigned char c = (unsigned char)msg[i];
        s->peer_disconnect_msg[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    s->peer_disconnect_msg[k] = '\0';
    atomic_store(&s->peer_disconnect_reason, reason > 0 ? reason : 1);
}

int xssh__transport_cause(xssh_session *s, char *buf, size_t n)
{
    if (!s)
        return 0;
    int reason = atomic_load(&s->peer_disconnect_reason);
    if (reason) {
        snprintf(buf, n, "the server closed the connection with an SSH disconnect message: \"%s\" (reason %d)",
                 s->peer_disconnect_msg, reason);
        return XSSH_ESOCKET_DISCONNECT;
    }
    int err = atomic_load(&s->io_fail_errno), dir = atomic_load(&s->io_fail_dir);
    if (!err)
        return 0;
    if (err == XSSH__IO_FAIL_CARRIER) {
        snprintf(buf, n, "%s", s->carrier_msg);
        return atomic_load(&s->carrier_code);
    }
    if (err == -1) {
        snprintf(buf, n, "the server or the network closed the connection (end of stream, no SSH disconnect "
                         "message)");
        return XSSH_ESOCKET_DISCONNECT;
    }
    const char *what = dir == 1 ? "sending" : "receiving";
    if (err == ECONNRESET)
        snprintf(buf, n, "the connection was reset by the server or the network (%s: ECONNRESET)", what);
    else if (err == EPIPE)
        snprintf(buf, n, "the connection was closed by the server or the network (%s: EPIPE)", what);
    else
        snprintf(buf, n, "%s on the socket failed: %s", what, strerror(err));
    return dir == 1 ? XSSH_ESOCKET_SEND : XSSH_ESOCKET_RECV;
}

int xssh__fail_handshake(xssh_session *s, int rc, const char *who, long timeout_ms)
{
    /* identification lines first (RFC 4253 4.2), then the key exchange (7) */
    const char *phase = libssh2_session_banner_get(s->ssh) ? "key exchange" : "identification (banner) exchange";
    if (rc == XSSH_ETIMEOUT) {
        if (timeout_ms > 0)
            return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT,
                              "SSH handshake with %s timed out during the %s (timeout %ld ms)", who, phase,
                              timeout_ms);
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "SSH handshake with %s timed out during the %s",
                          who, phase);
    }
    char cause[400];
    int ccode = xssh__transport_cause(s, cause, sizeof cause);
    if (ccode == XSSH_ETIMEOUT) /* the ProxyJump hop carrying it timed out */
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "SSH handshake with %s failed during the %s: %s",
                          who, phase, cause);
    if (ccode)
        return xssh__fail(s, XSSH_EHANDSHAKE, ccode, "SSH handshake with %s failed during the %s: %s (%s)", who,
                          phase, cause, xssh_err_name(ccode));
    char *lmsg = NULL;
    libssh2_session_last_error(s->ssh, &lmsg, NULL, 0);
    int code = xssh_err_from_libssh2(rc);
    return xssh__fail(s, XSSH_EHANDSHAKE, rc, "SSH handshake with %s failed during the %s: %s (%s)", who, phase,
                      lmsg && *lmsg ? lmsg : xssh_strerror(code), xssh_err_name(code));
}

void xssh_free(void *ptr) { free(ptr); }

/* ---- naming what the user called (xssh_multi_op_opts.caller) ------------ */

/* the length of a leading C function name ("xssh_" then [A-Za-z0-9_]+) that a
   ':' follows, else 0 */
static size_t c_name_len(const char *m)
{
    if (strncmp(m, "xssh_", 5) != 0)
        return 0;
    size_t i = 5;
    for (;;) {
        char c = m[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            i++;
        else
            break;
    }
    return i > 5 && m[i] == ':' ? i : 0;
}

/* append len bytes of p to out (cap bytes in all, *pos used, *cut set when it
   did not fit): a cut never falls inside a UTF-8 sequence */
static void put_text(char *out, size_t cap, size_t *pos, int *cut, const char *p, size_t len)
{
    if (*cut)
        return;
    size_t room = cap - 1 - *pos;
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)p[len] & 0xC0) == 0x80) /* p[len]: the first byte left out */
            len--;
        *cut = 1;
    }
    memcpy(out + *pos, p, len);
    *pos += len;
    out[*pos] = '\0';
}

size_t xssh__caller_name(char *out, size_t cap, const char *caller, const char *msg)
{
    if (!msg)
        msg = "";
    if (!caller)
        caller = "";
    size_t cl = strlen(caller), ml = strlen(msg);
    const char *head = caller, *sep = "", *tail = "";
    size_t hl = cl, n;
    if (!cl || !strcmp(msg, caller) || (!strncmp(msg, caller, cl) && msg[cl] == ':')) {
        head = msg; /* no caller, or it is named already: as it is */
        hl = ml;
    } else if ((n = c_name_len(msg)) != 0) {
        tail = msg + n; /* ": the session is closed" */
    } else if (*msg) {
        sep = ": ";
        tail = msg;
    }
    size_t sl = strlen(sep), tl = strlen(tail);
    if (cap) {
        size_t pos = 0;
        int cut = 0;
        out[0] = '\0';
        put_text(out, cap, &pos, &cut, head, hl);
        put_text(out, cap, &pos, &cut, sep, sl);
        put_text(out, cap, &pos, &cut, tail, tl);
    }
    return hl + sl + tl;
}

int xssh__err_named(const char *caller, int rc)
{
    if (rc == XSSH_OK || !caller || !*caller)
        return rc;
    xssh__errstate *es = cur_err();
    char tmp[XSSH__MSG_CAP];
    xssh__caller_name(tmp, sizeof tmp, caller, es->err.message);
    memcpy(es->msg, tmp, sizeof tmp);
    es->err.message = es->msg; /* code, libssh2_code and sftp_status stay */
    return rc;
}
