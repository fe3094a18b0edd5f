/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/session.h
 * @brief Sessions: connecting, the handshake, options, host keys, authentication.
 * @defgroup session Session
 *
 * Blocking: a session is blocking by default; a blocking call waits on the
 * socket (honouring the session timeout) and returns XSSH_ETIMEOUT when it runs
 * out. In non-blocking mode a call that would wait returns XSSH_EAGAIN with
 * nothing lost; xssh_session_block_directions() and xssh_session_socket() say
 * what to wait for. All calls on a session and its children are serialised by a
 * per-session lock, so one session may be used from several threads.
 *
 * Threads and exit: the only threads xssh starts are the forward servers and
 * ProxyJump carriers of xssh/tunnel.h. Closing or disconnecting a session stops
 * and joins every one of them that works on it, and the carrier of a session
 * reached through ProxyJump. When the process exits (exit(), returning from
 * main, an interpreter's exit) an atexit handler, registered after OpenSSL's so
 * it runs first, closes every live session for all threads, stops and joins
 * every xssh thread (waiting at most 10 s) and waits for calls still inside
 * libssh2 to leave it; afterwards every call on a session answers XSSH_ECLOSED
 * and frees skip libssh2. _exit() runs no handler and needs none.
 * @{
 */
#ifndef XSSH_SESSION_H
#define XSSH_SESSION_H

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** Block directions (same values as LIBSSH2_SESSION_BLOCK_*). @{ */
#define XSSH_BLOCK_INBOUND 1
#define XSSH_BLOCK_OUTBOUND 2
/** @} */

/** Session flags for xssh_session_flag() (same values as LIBSSH2_FLAG_*). @{ */
#define XSSH_FLAG_SIGPIPE 1
#define XSSH_FLAG_COMPRESS 2
/** @} */

/** Method types (same values as LIBSSH2_METHOD_*). @{ */
#define XSSH_METHOD_KEX 0
#define XSSH_METHOD_HOSTKEY 1
#define XSSH_METHOD_CRYPT_CS 2
#define XSSH_METHOD_CRYPT_SC 3
#define XSSH_METHOD_MAC_CS 4
#define XSSH_METHOD_MAC_SC 5
#define XSSH_METHOD_COMP_CS 6
#define XSSH_METHOD_COMP_SC 7
#define XSSH_METHOD_LANG_CS 8
#define XSSH_METHOD_LANG_SC 9
/** @} */

/** Host key types (same values as LIBSSH2_HOSTKEY_TYPE_*). @{ */
#define XSSH_HOSTKEY_TYPE_UNKNOWN 0
#define XSSH_HOSTKEY_TYPE_RSA 1
#define XSSH_HOSTKEY_TYPE_DSS 2
#define XSSH_HOSTKEY_TYPE_ECDSA_256 3
#define XSSH_HOSTKEY_TYPE_ECDSA_384 4
#define XSSH_HOSTKEY_TYPE_ECDSA_521 5
#define XSSH_HOSTKEY_TYPE_ED25519 6
/** @} */

/** Host key hash types (same values as LIBSSH2_HOSTKEY_HASH_*). @{ */
#define XSSH_HOSTKEY_HASH_MD5 1
#define XSSH_HOSTKEY_HASH_SHA1 2
#define XSSH_HOSTKEY_HASH_SHA256 3
/** @} */

/** Disconnect reason "by application" (SSH_DISCONNECT_BY_APPLICATION). */
#define XSSH_DISCONNECT_BY_APPLICATION 11

/** Host-key verification policies for xssh_session_verify_host(). */
typedef enum xssh_hostkey_policy {
    XSSH_HOSTKEY_STRICT = 0,     /**< unknown or changed key is an error (the default) */
    XSSH_HOSTKEY_ACCEPT_NEW = 1, /**< learn unknown keys (written to the file), reject changed ones */
    XSSH_HOSTKEY_OFF = 2         /**< no verification: an explicit, insecure opt-out */
} xssh_hostkey_policy;

/* ---- lifetime ---------------------------------------------------------- */

/**
 * Create a session (not connected yet).
 * @param[out] out new reference; release with xssh_session_unref()
 * @return XSSH_OK, XSSH_EARG, XSSH_ENOMEM, or XSSH_ECLOSED once the process is
 *         exiting (the exit handler described above has run)
 */
XSSH_EXTERN(int) xssh_session_new(xssh_session **out);
/**
 * Take one more reference on @p session; returns it. NULL-safe.
 * @param session the session; NULL is allowed
 * @return session itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_session *) xssh_session_ref(xssh_session *session);
/**
 * Drop a reference. The last reference frees the session once its children are
 * gone; freeing never does network I/O (no disconnect message) and closes the
 * socket only if xssh_session_connect() opened it. NULL-safe.
 * libssh2: libssh2_session_free() when the last reference goes.
 * @param session the reference to drop; NULL is allowed (nothing happens)
 */
XSSH_EXTERN(void) xssh_session_unref(xssh_session *session);

/* ---- connecting -------------------------------------------------------- */

/**
 * Resolve @p host (IPv4 or IPv6), connect to @p port within @p timeout_ms (0:
 * the system's limit), set TCP_NODELAY and perform the SSH handshake. The
 * session owns the socket and closes it when freed. Lines the server sends
 * before its "SSH-" identification (RFC 4253 4.2) are skipped, as OpenSSH's ssh
 * does: at most 1023 lines of at most 8192 bytes besides CR LF, without NUL or a
 * lone CR; the identification itself may
 * have 255 bytes with CR LF. Past those limits the handshake fails with
 * XSSH_EBANNER_RECV saying which one.
 * libssh2: libssh2_session_handshake() (after getaddrinfo() and connect()).
 * @param session the session (borrowed: the call takes no reference)
 * @param host host name or address (IPv4 or IPv6 literal), NUL-terminated
 * @param port TCP port (1-65535)
 * @param timeout_ms connect timeout in milliseconds (0: the system's limit)
 * @return XSSH_OK, XSSH_ERESOLVE, XSSH_ECONNECT, XSSH_ETIMEOUT, a handshake error, ...
 */
XSSH_EXTERN(int) xssh_session_connect(xssh_session *session, const char *host, int port, int timeout_ms);
/**
 * Perform the SSH handshake on a socket the caller connected. The caller keeps
 * owning @p fd and must keep it open while the session lives. For speed, set
 * TCP_NODELAY on it (otherwise each request waits for a delayed ACK).
 * libssh2: libssh2_session_handshake().
 * @param session the session (borrowed: the call takes no reference)
 * @param fd a connected socket descriptor (stays the caller's)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_session_handshake(xssh_session *session, int fd);
/**
 * Send SSH_MSG_DISCONNECT (by application, "bye") and close the session and all its children.
 * Like xssh_session_close(), returns only after every forward thread of the session and its
 * ProxyJump carrier have been stopped and joined.
 * libssh2: libssh2_session_disconnect_ex() (SSH_DISCONNECT_BY_APPLICATION).
 * @param session the session (borrowed: the call takes no reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_session_disconnect(xssh_session *session);
/**
 * Disconnect with an explicit reason code and description. Closed afterwards even on error.
 * libssh2: libssh2_session_disconnect_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param reason SSH_DISCONNECT_* reason code (RFC 4253 section 11.1), e.g.
 *        XSSH_DISCONNECT_BY_APPLICATION
 * @param description text sent to the server (NUL-terminated; NULL: "")
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_session_disconnect_ex(xssh_session *session, int reason, const char *description);
/**
 * Close without a disconnect message (idempotent). Later calls answer XSSH_ECLOSED.
 * Before returning it stops and joins every forward server of the session
 * (xssh_forward_local/remote: they stay valid handles, no longer running) and, for a
 * session connected with xssh_session_connect_via(), its carrier thread, after that has
 * passed on what the session wrote last (at most 1 s); the session's references on its
 * hops are dropped then, so a hop chain nobody else holds is freed. A session that is
 * a hop of others: their carriers stop too, and their connections end. Do not call it
 * from a thread that holds the session in a callback (the carriers need its lock).
 * libssh2: none: no disconnect message is sent; libssh2's session is freed with the last
 * reference.
 * @param session the session (borrowed: the call takes no reference)
 * @return XSSH_OK (also when already closed); XSSH_EARG for NULL
 */
XSSH_EXTERN(int) xssh_session_close(xssh_session *session);
/**
 * Whether the session was closed or disconnected.
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out 1 if closed or disconnected, else 0.
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_session_is_closed(xssh_session *session, int *out);

/* ---- options ----------------------------------------------------------- */

/**
 * Switch blocking mode (default: blocking).
 * libssh2: none: libssh2 always runs non-blocking inside xssh; blocking is emulated by waiting on
 * the socket.
 * @param session the session (borrowed: the call takes no reference)
 * @param blocking 1: blocking (the default), 0: non-blocking (calls return XSSH_EAGAIN instead of
 *        waiting)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_set_blocking(xssh_session *session, int blocking);
/**
 * Whether the session is in blocking mode.
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out 1 if blocking, else 0.
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_get_blocking(xssh_session *session, int *out);
/**
 * Timeout for blocking calls in milliseconds; 0 means none (the default); values
 * above 100 years (3153600000000 ms) count as 100 years. Each
 * blocking call fails with XSSH_ETIMEOUT after this long without completing.
 * Waits that may legitimately last longer (xssh_session_run's command) use it
 * as the dead-peer bound instead: after this long without a byte from the server
 * they probe it, and fail when it stays silent as long again (see
 * xssh_session_run).
 * @param session the session (borrowed: the call takes no reference)
 * @param timeout_ms timeout in milliseconds (0: none; negative: XSSH_EARG)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_set_timeout(xssh_session *session, long timeout_ms);
/**
 * The timeout for blocking calls.
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out the timeout for blocking calls in milliseconds (0: none).
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_get_timeout(xssh_session *session, long *out);
/**
 * Set the client banner (before the handshake), e.g. "SSH-2.0-myapp".
 * libssh2: libssh2_session_banner_set().
 * @param session the session (borrowed: the call takes no reference)
 * @param banner the identification string, starting "SSH-2.0-" (NUL-terminated)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_banner_set(xssh_session *session, const char *banner);
/**
 * The server's identification string (RFC 4253 section 4.2).
 * libssh2: libssh2_session_banner_get().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out the server's banner, allocated; free with xssh_free().
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O); XSSH_ENOTCONNECTED
 *        before the handshake
 */
XSSH_EXTERN(int) xssh_session_banner_get(xssh_session *session, char **out);
/**
 * Set a session flag (XSSH_FLAG_SIGPIPE, XSSH_FLAG_COMPRESS) to 0 or 1; before the handshake.
 * libssh2: libssh2_session_flag().
 * @param session the session (borrowed: the call takes no reference)
 * @param flag XSSH_FLAG_SIGPIPE or XSSH_FLAG_COMPRESS
 * @param value 0 (off) or 1 (on)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_flag(xssh_session *session, int flag, int value);
/**
 * Configure keepalives: @p want_reply and @p interval_s (seconds; 0 disables).
 * libssh2: libssh2_keepalive_config().
 * @param session the session (borrowed: the call takes no reference)
 * @param want_reply 1: ask the server to answer each keepalive, 0: not
 * @param interval_s seconds between keepalives (0 disables them)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_keepalive_config(xssh_session *session, int want_reply, unsigned interval_s);
/**
 * Send a keepalive if one is due. @param[out] seconds_to_next seconds until the next one is due.
 * libssh2: libssh2_keepalive_send().
 * @param session the session (borrowed: the call takes no reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_session_keepalive_send(xssh_session *session, int *seconds_to_next);
/**
 * Enable libssh2 tracing (LIBSSH2_TRACE_* bitmask; only effective with a debug libssh2).
 * @param session the session (borrowed: the call takes no reference)
 * @param bitmask LIBSSH2_TRACE_* bits (0: off)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_trace(xssh_session *session, int bitmask);
/**
 * Algorithms this libssh2 supports for a method type.
 * @param session the session (borrowed: the call takes no reference)
 * @param method_type XSSH_METHOD_* (which negotiated method: key exchange, host key, cipher, MAC,
 *        ...)
 * @param[out] out comma-separated list, allocated; free with xssh_free().
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_supported_algs(xssh_session *session, int method_type, char **out);
/**
 * Set the preferred algorithms (comma-separated, most preferred first); before the handshake.
 * libssh2: libssh2_session_method_pref().
 * @param session the session (borrowed: the call takes no reference)
 * @param method_type XSSH_METHOD_*
 * @param prefs comma-separated algorithm names, most preferred first
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O);
 *        XSSH_EMETHOD_NOT_SUPPORTED when none of prefs is supported
 */
XSSH_EXTERN(int) xssh_session_method_pref(xssh_session *session, int method_type, const char *prefs);
/**
 * The algorithm negotiated for a method type.
 * libssh2: libssh2_session_methods().
 * @param session the session (borrowed: the call takes no reference)
 * @param method_type XSSH_METHOD_*
 * @param[out] out the algorithm negotiated for a method type, allocated; free with xssh_free().
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O); XSSH_ENOTCONNECTED
 *        before the handshake
 */
XSSH_EXTERN(int) xssh_session_methods(xssh_session *session, int method_type, char **out);
/**
 * libssh2's last error code on this session.
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out libssh2's last error code on this session (0 if none).
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_last_errno(xssh_session *session, int *out);
/**
 * The detailed message of the last failure on this session (libssh2's text plus
 * context: host, file, user...). "" when none.
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out allocated; free with xssh_free().
 * @return XSSH_OK; XSSH_EARG for a NULL argument; XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_session_last_error(xssh_session *session, char **out);
/**
 * Set libssh2's last error on this session (code and message).
 * @param session the session (borrowed: the call takes no reference)
 * @param errcode a libssh2 error code (LIBSSH2_ERROR_*, same numbers as xssh_err)
 * @param message the message (NUL-terminated; copied)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_set_last_error(xssh_session *session, int errcode, const char *message);
/**
 * What the last XSSH_EAGAIN of the session waited for.
 * libssh2: libssh2_session_block_directions().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out bitmask of XSSH_BLOCK_INBOUND/OUTBOUND that the last EAGAIN waited for.
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_block_directions(xssh_session *session, int *out);
/**
 * The session's socket descriptor, to wait on in non-blocking mode.
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out the session's socket descriptor (-1 before connecting).
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_socket(xssh_session *session, int *out);

/* ---- host key ---------------------------------------------------------- */

/**
 * The server's host key.
 * libssh2: libssh2_session_hostkey().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] key_out raw key blob, allocated; free with xssh_free()
 * @param[out] len_out its length
 * @param[out] type_out XSSH_HOSTKEY_TYPE_* (may be NULL)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O); XSSH_ENOTCONNECTED before the handshake
 */
XSSH_EXTERN(int) xssh_session_hostkey(xssh_session *session, char **key_out, size_t *len_out, int *type_out);
/**
 * Digest of the host key (XSSH_HOSTKEY_HASH_MD5: 16 bytes, SHA1: 20, SHA256: 32).
 * libssh2: libssh2_hostkey_hash().
 * @param session the session (borrowed: the call takes no reference)
 * @param hash_type XSSH_HOSTKEY_HASH_MD5, _SHA1 or _SHA256
 * @param[out] out allocated; free with xssh_free()
 * @param[out] len_out the digest's length in bytes
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O); XSSH_ENOTCONNECTED before the handshake
 */
XSSH_EXTERN(int) xssh_session_hostkey_hash(xssh_session *session, int hash_type, char **out, size_t *len_out);
/**
 * The server's host-key fingerprint, as OpenSSH prints it.
 * libssh2: libssh2_session_hostkey() (the SHA-256 digest and Base64 are computed by xssh).
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out OpenSSH-style "SHA256:<base64>" fingerprint, allocated; free with xssh_free().
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O); XSSH_ENOTCONNECTED
 *        before the handshake
 */
XSSH_EXTERN(int) xssh_session_hostkey_fingerprint(xssh_session *session, char **out);
/**
 * Verify the server's host key against a known_hosts file under @p policy.
 * libssh2: libssh2_session_hostkey() (the known_hosts file is read and written by xssh, as OpenSSH
 * does: hashed names, markers, [host]:port).
 * @param session the session (borrowed: the call takes no reference)
 * @param host name to look up; NULL: the host given to xssh_session_connect()
 * @param port port; 0: the connected port ([host]:port entries for ports other than 22)
 * @param policy what an unknown key does: XSSH_HOSTKEY_STRICT (the default) fails with
 *        XSSH_EHOSTKEY_UNKNOWN; XSSH_HOSTKEY_ACCEPT_NEW appends the key to path (created if
 *        missing) and succeeds; XSSH_HOSTKEY_OFF checks nothing and succeeds (an explicit,
 *        insecure opt-out). A changed or revoked (\@revoked) key fails with XSSH_EHOSTKEY_CHANGED
 *        under STRICT and ACCEPT_NEW; any other value is XSSH_EARG
 * @param path known_hosts path; NULL: ~/.ssh/known_hosts
 * @return XSSH_OK, XSSH_EHOSTKEY_UNKNOWN, XSSH_EHOSTKEY_CHANGED (the message shows both
 *         fingerprints), XSSH_EKNOWNHOST_READFILE/WRITEFILE, ...
 */
XSSH_EXTERN(int) xssh_session_verify_host(xssh_session *session, const char *host, int port,
                                          xssh_hostkey_policy policy, const char *path);

/* ---- authentication ---------------------------------------------------- */

/**
 * The authentication methods the server offers a user (RFC 4252 "none" request).
 * libssh2: libssh2_userauth_list().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param[out] out comma-separated methods the server offers @p username, allocated; free with
 *        xssh_free().
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); *out is "" when the "none" request itself authenticated
 */
XSSH_EXTERN(int) xssh_session_userauth_list(xssh_session *session, const char *username, char **out);
/**
 * Whether the session is authenticated.
 * libssh2: libssh2_userauth_authenticated().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out 1 if authenticated, else 0.
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O)
 */
XSSH_EXTERN(int) xssh_session_userauth_authenticated(xssh_session *session, int *out);
/**
 * Password authentication.
 * libssh2: libssh2_userauth_password_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param password the password (NUL-terminated; not kept)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EAUTHENTICATION_FAILED when the server refuses the credentials;
 *        XSSH_EBAD_USE when the session is already authenticated; XSSH_EPASSWORD_EXPIRED
 */
XSSH_EXTERN(int) xssh_session_userauth_password(xssh_session *session, const char *username, const char *password);
/**
 * Public-key authentication from key files.
 * libssh2: libssh2_userauth_publickey_fromfile_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param privatekey path of the private key file (OpenSSH or PEM format)
 * @param publickey path of the public key, or NULL to derive it from the private key
 * @param passphrase passphrase of the private key, or NULL/"" for none
 * @return ... XSSH_EKEYFILE_AUTH_FAILED (unreadable key or wrong passphrase),
 *         XSSH_ERSA_SHA1_REFUSED (an RSA key the server refuses with SHA-1)
 */
XSSH_EXTERN(int) xssh_session_userauth_publickey_fromfile(xssh_session *session, const char *username,
                                                          const char *privatekey, const char *publickey,
                                                          const char *passphrase);
/**
 * Public-key authentication from key data in memory (public key may be NULL).
 * libssh2: libssh2_userauth_publickey_frommemory().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param privatekey the private key file's contents (OpenSSH or PEM text)
 * @param privatekey_len its length in bytes
 * @param publickey the public key (OpenSSH line), or NULL to derive it from the private key
 * @param publickey_len its length in bytes (0 with NULL)
 * @param passphrase passphrase of the private key, or NULL/"" for none (not kept)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EAUTHENTICATION_FAILED when the server refuses the credentials;
 *        XSSH_EBAD_USE when the session is already authenticated; XSSH_EKEYFILE_AUTH_FAILED
 *        (unreadable key or wrong passphrase); XSSH_ERSA_SHA1_REFUSED
 */
XSSH_EXTERN(int) xssh_session_userauth_publickey_frommemory(xssh_session *session, const char *username,
                                                            const void *privatekey, size_t privatekey_len,
                                                            const void *publickey, size_t publickey_len,
                                                            const char *passphrase);
/**
 * Keyboard-interactive authentication: @p password answers every prompt.
 * libssh2: libssh2_userauth_keyboard_interactive_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param password the answer given to every prompt (NUL-terminated; not kept)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EAUTHENTICATION_FAILED when the server refuses the credentials;
 *        XSSH_EBAD_USE when the session is already authenticated
 */
XSSH_EXTERN(int) xssh_session_userauth_keyboard_interactive(xssh_session *session, const char *username,
                                                            const char *password);
/**
 * Keyboard-interactive authentication with a list of responses: prompt i of
 * each round gets responses[i] (the last response repeats when there are more prompts).
 * libssh2: libssh2_userauth_keyboard_interactive_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param responses count NUL-terminated answers (not kept)
 * @param count number of responses (at least 1)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EAUTHENTICATION_FAILED when the server refuses the credentials;
 *        XSSH_EBAD_USE when the session is already authenticated
 */
XSSH_EXTERN(int) xssh_session_userauth_keyboard_interactive_responses(xssh_session *session, const char *username,
                                                                      const char *const *responses, size_t count);
/**
 * Host-based authentication from key files.
 * libssh2: libssh2_userauth_hostbased_fromfile_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param privatekey path of the client host's private key file
 * @param publickey path of its public key, or NULL to derive it from the private key
 * @param passphrase passphrase of the private key, or NULL/"" for none
 * @param hostname the client host's name as the server knows it
 * @param local_username the user on the client host (NULL: same as @p username)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EAUTHENTICATION_FAILED when the server refuses the credentials;
 *        XSSH_EBAD_USE when the session is already authenticated
 */
XSSH_EXTERN(int) xssh_session_userauth_hostbased_fromfile(xssh_session *session, const char *username,
                                                          const char *privatekey, const char *publickey,
                                                          const char *passphrase, const char *hostname,
                                                          const char *local_username);
/**
 * Public-key authentication with a given public key whose signature is made by the
 * SSH agent at $SSH_AUTH_SOCK holding the matching private key (ssh2-python's
 * userauth_publickey(username, pubkeydata)).
 * libssh2: libssh2_agent_userauth() (the signature is the agent's).
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @param pubkey the key blob, or an OpenSSH public key line ("ssh-ed25519 AAAA... comment")
 * @param pubkey_len length of pubkey in bytes
 * @return XSSH_OK, XSSH_EAGENT_CONNECT, XSSH_EAGENT_IDENTITY (no such key in the agent),
 *        XSSH_EAGENT_AUTH
 */
XSSH_EXTERN(int) xssh_session_userauth_publickey(xssh_session *session, const char *username, const void *pubkey,
                                                 size_t pubkey_len);
/**
 * Authenticate with the SSH agent at $SSH_AUTH_SOCK: try each identity in turn.
 * libssh2: libssh2_agent_connect(), libssh2_agent_list_identities(), libssh2_agent_userauth().
 * @param session the session (borrowed: the call takes no reference)
 * @param username the user to authenticate as (NUL-terminated)
 * @return XSSH_OK, XSSH_EAGENT_CONNECT, XSSH_EAGENT_LIST, XSSH_EAGENT_AUTH
 */
XSSH_EXTERN(int) xssh_session_agent_auth(xssh_session *session, const char *username);

XSSH_END_DECL

/** @} */
#endif /* XSSH_SESSION_H */
