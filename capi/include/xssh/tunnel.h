/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/tunnel.h
 * @brief TCP tunnels: direct-tcpip channels, remote listeners, local and remote
 *        forward servers (what `ssh -L` and `ssh -R` do) and ProxyJump.
 *
 * Forward servers run on a thread of their own inside the library, started by
 * xssh_forward_local()/xssh_forward_remote() and stopped (and joined) by
 * xssh_forward_stop(), the last xssh_forward_unref(), or the close/disconnect of
 * their session. The thread shares the session with the caller: every call it
 * makes takes the session lock, so the caller may keep using the session (and
 * other channels) meanwhile. A ProxyJump target's bytes are carried by such a
 * thread too ("xssh-proxyjump"), stopped and joined by the target's close,
 * disconnect or last unref, and by the close of the jump session.
 *
 * No xssh thread outlives these calls, and none runs while the process exits:
 * an atexit handler (run before OpenSSL's own cleanup) closes every session and
 * joins every thread first; see xssh/session.h. Threads are named
 * "xssh-fwd-local", "xssh-fwd-remote", "xssh-proxyjump" (pthread_setname_np).
 * @defgroup tunnel Tunnels
 * @{
 */
#ifndef XSSH_TUNNEL_H
#define XSSH_TUNNEL_H

#include <stdint.h>

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** A port the server listens on for us (`tcpip-forward`); a child of its session. */
typedef struct xssh_listener xssh_listener;
/** A running forward server (local or remote); a child of its session. */
typedef struct xssh_forward xssh_forward;

/**
 * Open a channel to @p host:@p port as seen from the server (`direct-tcpip`).
 * libssh2: libssh2_channel_direct_tcpip_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param host destination host as the server resolves it (NUL-terminated)
 * @param port destination TCP port
 * @param shost, sport the originator address reported to the server (NULL/0: "127.0.0.1", 22)
 * @param[out] out new reference; release with xssh_channel_unref()
 * @return XSSH_OK, XSSH_ECHANNEL_FAILURE (e.g. the server cannot connect, or forwarding is
 *         disabled), XSSH_EAGAIN (non-blocking), XSSH_ECLOSED, ...
 */
XSSH_EXTERN(int) xssh_session_direct_tcpip(xssh_channel **out, xssh_session *session, const char *host, int port,
                                           const char *shost, int sport);

/**
 * Ask the server to listen on @p host:@p port (remote forwarding).
 * libssh2: libssh2_channel_forward_listen_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param host address to bind on the server (NULL: all)
 * @param port 0: any free port, reported in @p bound_port
 * @param queue_maxsize connections queued before accept (<= 0: 16)
 * @param[out] out new reference; release with xssh_listener_unref() (cancels lazily)
 * @param[out] bound_port the port the server bound (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EREQUEST_DENIED when the server refuses
 */
XSSH_EXTERN(int) xssh_session_forward_listen(xssh_listener **out, xssh_session *session, const char *host, int port,
                                             int queue_maxsize, int *bound_port);
/**
 * Take one more reference; returns @p listener. NULL-safe.
 * @param listener the listener; NULL is allowed
 * @return listener itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_listener *) xssh_listener_ref(xssh_listener *listener);
/**
 * Drop a reference; the last one cancels the forwarding lazily (no I/O here). NULL-safe.
 * @param listener the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_listener_unref(xssh_listener *listener);
/**
 * The port the server listens on (the one it chose when 0 was asked).
 * @param listener the listener (borrowed)
 * @param[out] port the port the server bound.
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_listener_bound_port(xssh_listener *listener, int *port);
/**
 * Wait for (blocking) or poll for (non-blocking: XSSH_EAGAIN) the next incoming connection.
 * libssh2: libssh2_channel_forward_accept().
 * @param listener the listener (borrowed)
 * @param[out] out new channel reference carrying the connection
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_listener_accept(xssh_listener *listener, xssh_channel **out);
/**
 * Stop listening; later accepts answer XSSH_ECLOSED. Idempotent.
 * libssh2: libssh2_channel_forward_cancel().
 * @param listener the listener (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_listener_cancel(xssh_listener *listener);

/** Counters of a forward server. */
typedef struct xssh_forward_stats {
    uint64_t accepted;   /**< connections accepted */
    uint64_t active;     /**< connections open now */
    uint64_t failed;     /**< connections that ended with an error (see xssh_forward_last_error()) */
    uint64_t bytes_out;  /**< bytes carried towards the destination */
    uint64_t bytes_in;   /**< bytes carried back */
} xssh_forward_stats;

/**
 * Start a local forward (`ssh -L bind_host:bind_port:dest_host:dest_port`): listen on
 * a local TCP port and carry each accepted connection through its own direct-tcpip
 * channel to @p dest_host:@p dest_port (as seen from the server).
 * libssh2: libssh2_channel_direct_tcpip_ex() per accepted connection.
 * @param session the session (borrowed: the call takes no reference)
 * @param bind_host local address to listen on (NULL: "127.0.0.1")
 * @param bind_port 0: any free port (see xssh_forward_port())
 * @param dest_host destination host as the server resolves it
 * @param dest_port destination TCP port
 * @param[out] out new reference; release with xssh_forward_unref() (stops the forward)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECONNECT when the local port cannot be bound
 */
XSSH_EXTERN(int) xssh_forward_local(xssh_forward **out, xssh_session *session, const char *bind_host, int bind_port,
                                    const char *dest_host, int dest_port);
/**
 * Start a remote forward (`ssh -R listen_host:listen_port:dest_host:dest_port`): the
 * server listens, and each connection it receives is connected to the local
 * @p dest_host:@p dest_port.
 * libssh2: libssh2_channel_forward_listen_ex(), libssh2_channel_forward_accept().
 * @param session the session (borrowed: the call takes no reference)
 * @param listen_host address the server listens on (NULL: all of its addresses)
 * @param listen_port 0: any free port on the server (see xssh_forward_port())
 * @param dest_host local destination host (connected from this process)
 * @param dest_port local destination TCP port
 * @param[out] out the running forward (+1 reference; release with xssh_forward_unref())
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EREQUEST_DENIED when the server refuses to listen
 */
XSSH_EXTERN(int) xssh_forward_remote(xssh_forward **out, xssh_session *session, const char *listen_host,
                                     int listen_port, const char *dest_host, int dest_port);
/**
 * The forward's listening port (the one chosen when 0 was asked).
 * @param forward the forward (borrowed)
 * @param[out] port the listening port (local for a local forward, the server's for a remote one).
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_forward_port(xssh_forward *forward, int *port);
/**
 * The forward's counters (connections accepted, active, failed; bytes each way).
 * @param forward the forward (borrowed)
 * @param[out] out the counters, read atomically enough for progress displays.
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_forward_get_stats(xssh_forward *forward, xssh_forward_stats *out);
/**
 * The message of the last failure of the forward's thread ("" when none).
 * @param forward the forward (borrowed)
 * @param[out] out the last per-connection error ("" if none), allocated; free with xssh_free().
 * @return XSSH_OK; XSSH_EARG for a NULL argument; XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_forward_last_error(xssh_forward *forward, char **out);
/**
 * Nonzero in @p running while the forward's thread runs.
 * @param forward the forward (borrowed)
 * @param[out] running 1 while running, else 0
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_forward_is_running(xssh_forward *forward, int *running);
/**
 * Stop accepting, close every connection and join the thread. Idempotent; the handle
 * stays valid (stats, last error). The close/disconnect of the forward's session does
 * the same. A channel open the thread has started is finished first, bounded by the
 * session timeout: libssh2 1.10 keeps one channel-open state machine per session, and
 * an open abandoned halfway would hand its channel to the next open of the session.
 * (The session's close does not wait for it: the open fails with the session.)
 * @param forward the forward (borrowed)
 * @return XSSH_OK (also when already stopped); XSSH_EARG for NULL
 */
XSSH_EXTERN(int) xssh_forward_stop(xssh_forward *forward);
/**
 * Take one more reference; returns @p forward. NULL-safe.
 * @param forward the forward; NULL is allowed
 * @return forward itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_forward *) xssh_forward_ref(xssh_forward *forward);
/**
 * Drop a reference; the last one stops (and joins) the forward. NULL-safe.
 * @param forward the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_forward_unref(xssh_forward *forward);

/**
 * ProxyJump: connect @p target (a new session) to @p host:@p port through a
 * direct-tcpip channel of the authenticated session @p jump, then do the SSH
 * handshake over it (a socket pair whose other end a carrier thread joins to the
 * channel). The target keeps a reference on @p jump and its carrier until the
 * target is closed, disconnected or freed, so hops can be dropped in any order.
 * That close/disconnect/last unref lets the carrier pass on what the target wrote
 * last (its DISCONNECT; at most 1 s), joins it and drops the reference on @p jump,
 * which may free the hop and, in turn, its own carrier and hop. Closing @p jump
 * stops the carrier at once: the target's connection ends (its calls then fail).
 * When the hop fails while carrying the target (its server silent past the hop's
 * keepalive rule: XSSH_ETIMEOUT "... presumed dead"; its connection lost: an
 * XSSH_ESOCKET_*), the target's later errors carry that code and name the hop
 * ("the ProxyJump hop host:port ..."), not the end of stream it led to, whichever
 * side noticed first.
 * Verify the target's host key afterwards as for any session.
 * libssh2: libssh2_channel_direct_tcpip_ex() on jump, then libssh2_session_handshake() on target.
 * @param target a new, unconnected session (it keeps a reference on jump)
 * @param jump an authenticated session to go through (borrowed)
 * @param host the target host as jump's server resolves it
 * @param port the target TCP port
 * @param timeout_ms timeout of the handshake in milliseconds (0: none)
 * @return XSSH_OK; XSSH_ECLOSED when @p jump was closed meanwhile (or the process is
 *         exiting); the direct-tcpip or handshake error, prefixed "connect_via host:port"
 */
XSSH_EXTERN(int) xssh_session_connect_via(xssh_session *target, xssh_session *jump, const char *host, int port,
                                          int timeout_ms);

XSSH_END_DECL

/** @} */
#endif /* XSSH_TUNNEL_H */
