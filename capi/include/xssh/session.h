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

/** Block directions (same values as LIBSSH2_SESSION_BLOCK_*). */
#define XSSH_BLOCK_INBOUND 1
#define XSSH_BLOCK_OUTBOUND 2

/** Session flags for xssh_session_flag() (same values as LIBSSH2_FLAG_*). */
#define XSSH_FLAG_SIGPIPE 1
#define XSSH_FLAG_COMPRESS 2

/** Method types (same values as LIBSSH2_METHOD_*). */
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

/** Host key types (same values as LIBSSH2_HOSTKEY_TYPE_*). */
#define XSSH_HOSTKEY_TYPE_UNKNOWN 0
#define XSSH_HOSTKEY_TYPE_RSA 1
#define XSSH_HOSTKEY_TYPE_DSS 2
#define XSSH_HOSTKEY_TYPE_ECDSA_256 3
#define XSSH_HOSTKEY_TYPE_ECDSA_384 4
#define XSSH_HOSTKEY_TYPE_ECDSA_521 5
#define XSSH_HOSTKEY_TYPE_ED25519 6

/** Host key hash types (same values as LIBSSH2_HOSTKEY_HASH_*). */
#define XSSH_HOSTKEY_HASH_MD5 1
#define XSSH_HOSTKEY_HASH_SHA1 2
#define XSSH_HOSTKEY_HASH_SHA256 3

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
/** Take one more reference on @p session; returns it. NULL-safe. */
XSSH_EXTERN(xssh_session *) xssh_session_ref(xssh_session *session);
/**
 * Drop a reference. The last reference frees the session once its children are
 * gone; freeing never does network I/O (no disconnect message) and closes the
 * socket only if xssh_session_connect() opened it. NULL-safe.
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
 * @return XSSH_OK, XSSH_ERESOLVE, XSSH_ECONNECT, XSSH_ETIMEOUT, a handshake error, ...
 */
XSSH_EXTERN(int) xssh_session_connect(xssh_session *session, const char *host, int port, int timeout_ms);
/**
 * Perform the SSH handshake on a socket the caller connected. The caller keeps
 * owning @p fd and must keep it open while the session lives. For speed, set
 * TCP_NODELAY on it (otherwise each request waits for a delayed ACK).
 */
XSSH_EXTERN(int) xssh_session_handshake(xssh_session *session, int fd);
/**
 * Send SSH_MSG_DISCONNECT (by application, "bye") and close the session and all its children.
 * Like xssh_session_close(), returns only after every forward thread of the session and its
 * ProxyJump carrier have been stopped and joined.
 */
XSSH_EXTERN(int) xssh_session_disconnect(xssh_session *session);
/** Disconnect with an explicit reason code and description. Closed afterwards even on error. */
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
 */
XSSH_EXTERN(int) xssh_session_close(xssh_session *session);
/** @param[out] out 1 if closed or disconnected, else 0. */
XSSH_EXTERN(int) xssh_session_is_closed(xssh_session *session, int *out);

/* ---- options ----------------------------------------------------------- */

/** Switch blocking mode (default: blocking). */
XSSH_EXTERN(int) xssh_session_set_blocking(xssh_session *session, int blocking);
/** @param[out] out 1 if blocking, else 0. */
XSSH_EXTERN(int) xssh_session_get_blocking(xssh_session *session, int *out);
/**
 * Timeout for blocking calls in milliseconds; 0 means none (the default); values
 * above 100 years (3153600000000 ms) count as 100 years. Each
 * blocking call fails with XSSH_ETIMEOUT after this long without completing.
 * Waits that may legitimately last longer (xssh_session_run's command) use it
 * as the dead-peer bound instead: after this long without a byte from the server
 * they probe it, and fail when it stays silent as long again (see
 * xssh_session_run).
 */
XSSH_EXTERN(int) xssh_session_set_timeout(xssh_session *session, long timeout_ms);
/** @param[out] out the timeout for blocking calls in milliseconds (0: none). */
XSSH_EXTERN(int) xssh_session_get_timeout(xssh_session *session, long *out);
/** Set the client banner (before the handshake), e.g. "SSH-2.0-myapp". */
XSSH_EXTERN(int) xssh_session_banner_set(xssh_session *session, const char *banner);
/** @param[out] out the server's banner, allocated; free with xssh_free(). */
XSSH_EXTERN(int) xssh_session_banner_get(xssh_session *session, char **out);
/** Set a session flag (XSSH_FLAG_SIGPIPE, XSSH_FLAG_COMPRESS) to 0 or 1; before the handshake. */
XSSH_EXTERN(int) xssh_session_flag(xssh_session *session, int flag, int value);
/** Configure keepalives: @p want_reply and @p interval_s (seconds; 0 disables). */
XSSH_EXTERN(int) xssh_session_keepalive_config(xssh_session *session, int want_reply, unsigned interval_s);
/** Send a keepalive if one is due. @param[out] seconds_to_next seconds until the next one is due. */
XSSH_EXTERN(int) xssh_session_keepalive_send(xssh_session *session, int *seconds_to_next);
/** Enable libssh2 tracing (LIBSSH2_TRACE_* bitmask; only effective with a debug libssh2). */
XSSH_EXTERN(int) xssh_session_trace(xssh_session *session, int bitmask);
/**
 * Algorithms this libssh2 supports for a method type.
 * @param[out] out comma-separated list, allocated; free with xssh_free().
 */
XSSH_EXTERN(int) xssh_session_supported_algs(xssh_session *session, int method_type, char **out);
/** Set the preferred algorithms (comma-separated, most preferred first); before the handshake. */
XSSH_EXTERN(int) xssh_session_method_pref(xssh_session *session, int method_type, const char *prefs);
/** @param[out] out the algorithm negotiated for a method type, allocated; free with xssh_free(). */
XSSH_EXTERN(int) xssh_session_methods(xssh_session *session, int method_type, char **out);
/** @param[out] out libssh2's last error code on this session (0 if none). */
XSSH_EXTERN(int) xssh_session_last_errno(xssh_session *session, int *out);
/**
 * The detailed message of the last failure on this session (libssh2's text plus
 * context: host, file, user...). "" when none.
 * @param[out] out allocated; free with xssh_free().
 */
XSSH_EXTERN(int) xssh_session_last_error(xssh_session *session, char **out);
/** Set libssh2's last error on this session (code and message). */
XSSH_EXTERN(int) xssh_session_set_last_error(xssh_session *session, int errcode, const char *message);
/** @param[out] out bitmask of XSSH_BLOCK_INBOUND/OUTBOUND that the last EAGAIN waited for. */
XSSH_EXTERN(int) xssh_session_block_directions(xssh_session *session, int *out);
/** @param[out] out the session's socket descriptor (-1 before connecting). */
XSSH_EXTERN(int) xssh_session_socket(xssh_session *session, int *out);

/* ---- host key ---------------------------------------------------------- */

/**
 * The server's host key.
 * @param[out] key_out raw key blob, allocated; free with xssh_free()
 * @param[out] len_out its length
 * @param[out] type_out XSSH_HOSTKEY_TYPE_* (may be NULL)
 */
XSSH_EXTERN(int) xssh_session_hostkey(xssh_session *session, char **key_out, size_t *len_out, int *type_out);
/**
 * Digest of the host key (XSSH_HOSTKEY_HASH_MD5: 16 bytes, SHA1: 20, SHA256: 32).
 * @param[out] out allocated; free with xssh_free()
 */
XSSH_EXTERN(int) xssh_session_hostkey_hash(xssh_session *session, int hash_type, char **out, size_t *len_out);
/** @param[out] out OpenSSH-style "SHA256:<base64>" fingerprint, allocated; free with xssh_free(). */
XSSH_EXTERN(int) xssh_session_hostkey_fingerprint(xssh_session *session, char **out);
/**
 * Verify the server's host key against a known_hosts file under @p policy.
 * @param host name to look up; NULL: the host given to xssh_session_connect()
 * @param port port; 0: the connected port ([host]:port entries for ports other than 22)
 * @param path known_hosts path; NULL: ~/.ssh/known_hosts
 * @return XSSH_OK, XSSH_EHOSTKEY_UNKNOWN, XSSH_EHOSTKEY_CHANGED (the message shows both
 *         fingerprints), XSSH_EKNOWNHOST_READFILE/WRITEFILE, ...
 */
XSSH_EXTERN(int) xssh_session_verify_host(xssh_session *session, const char *host, int port,
                                          xssh_hostkey_policy policy, const char *path);

/* ---- authentication ---------------------------------------------------- */

/** @param[out] out comma-separated methods the server offers @p username, allocated; free with xssh_free(). */
XSSH_EXTERN(int) xssh_session_userauth_list(xssh_session *session, const char *username, char **out);
/** @param[out] out 1 if authenticated, else 0. */
XSSH_EXTERN(int) xssh_session_userauth_authenticated(xssh_session *session, int *out);
/** Password authentication. */
XSSH_EXTERN(int) xssh_session_userauth_password(xssh_session *session, const char *username, const char *password);
/**
 * Public-key authentication from key files.
 * @param publickey path of the public key, or NULL to derive it from the private key
 * @param passphrase passphrase of the private key, or NULL/"" for none
 * @return ... XSSH_EKEYFILE_AUTH_FAILED (unreadable key or wrong passphrase),
 *         XSSH_ERSA_SHA1_REFUSED (an RSA key the server refuses with SHA-1)
 */
XSSH_EXTERN(int) xssh_session_userauth_publickey_fromfile(xssh_session *session, const char *username,
                                                          const char *privatekey, const char *publickey,
                                                          const char *passphrase);
/** Public-key authentication from key data in memory (public key may be NULL). */
XSSH_EXTERN(int) xssh_session_userauth_publickey_frommemory(xssh_session *session, const char *username,
                                                            const void *privatekey, size_t privatekey_len,
                                                            const void *publickey, size_t publickey_len,
                                                            const char *passphrase);
/** Keyboard-interactive authentication: @p password answers every prompt. */
XSSH_EXTERN(int) xssh_session_userauth_keyboard_interactive(xssh_session *session, const char *username,
                                                            const char *password);
/**
 * Keyboard-interactive authentication with a list of responses: prompt i of
 * each round gets responses[i] (the last response repeats when there are more prompts).
 */
XSSH_EXTERN(int) xssh_session_userauth_keyboard_interactive_responses(xssh_session *session, const char *username,
                                                                      const char *const *responses, size_t count);
/**
 * Host-based authentication from key files.
 * @param local_username the user on the client host (NULL: same as @p username)
 */
XSSH_EXTERN(int) xssh_session_userauth_hostbased_fromfile(xssh_session *session, const char *username,
                                                          const char *privatekey, const char *publickey,
                                                          const char *passphrase, const char *hostname,
                                                          const char *local_username);
/**
 * Public-key authentication with a given public key whose signature is made by the
 * SSH agent at $SSH_AUTH_SOCK holding the matching private key (ssh2-python's
 * userauth_publickey(username, pubkeydata)).
 * @param pubkey the key blob, or an OpenSSH public key line ("ssh-ed25519 AAAA... comment")
 * @return XSSH_OK, XSSH_EAGENT_CONNECT, XSSH_EAGENT_IDENTITY (no such key in the agent), XSSH_EAGENT_AUTH
 */
XSSH_EXTERN(int) xssh_session_userauth_publickey(xssh_session *session, const char *username, const void *pubkey,
                                                 size_t pubkey_len);
/**
 * Authenticate with the SSH agent at $SSH_AUTH_SOCK: try each identity in turn.
 * @return XSSH_OK, XSSH_EAGENT_CONNECT, XSSH_EAGENT_LIST, XSSH_EAGENT_AUTH
 */
XSSH_EXTERN(int) xssh_session_agent_auth(xssh_session *session, const char *username);

XSSH_END_DECL

/** @} */
#endif /* XSSH_SESSION_H */
