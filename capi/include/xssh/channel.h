/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/channel.h
 * @brief Channels: exec, shell, subsystem, PTY, both output streams, exit
 *        status, non-blocking I/O, and the deadlock-free xssh_session_run().
 * @defgroup channel Channel
 *
 * A channel is a child of its session: it holds a session reference, so the
 * handles may be released in any order. All calls of a channel are serialised
 * with the other calls of its session by the per-session lock; two threads may
 * use two channels of one session at the same time.
 *
 * Blocking: calls follow the session's mode. In blocking mode a call waits
 * (honouring the session timeout, see xssh_session_set_timeout()); in
 * non-blocking mode a call that would wait returns XSSH_EAGAIN with nothing
 * lost: call it again with the same arguments once
 * xssh_session_block_directions() / xssh_session_socket() say so. Every read
 * drains the session's socket into libssh2's packet queue, so a loop over
 * several streams or channels of one session looks at what is queued before it
 * waits on the socket (xssh_channel_window_read_ex()'s read_avail): data of
 * stdout that came after stdout's read said XSSH_EAGAIN is queued by the read
 * of stderr, and no readiness of the socket announces it again.
 *
 * Requests that wait for the server's reply (execute, shell, subsystem,
 * process_startup, pty, setenv, x11_req, signal) never overlap within a session
 * (libssh2 would fail a waiter that reads another channel's reply): a blocking
 * request waits for the other one to finish; a non-blocking one returns
 * XSSH_EAGAIN meanwhile, so keep repeating every pending request.
 *
 * Timeouts: a call that runs out of session time returns XSSH_ETIMEOUT and
 * leaves the channel exactly as an XSSH_EAGAIN would (usable; repeat the call,
 * or close the channel). For writes, `*written` still tells how much was taken.
 *
 * Closing: after xssh_channel_close() succeeded, writes and requests (write,
 * exec, pty, setenv, send_eof, ...) return XSSH_ECLOSED; reads still hand out
 * what was received before the close, then end of stream (*got == 0), and
 * wait_eof returns XSSH_OK, as libssh2 (and ssh2-python) do; the state queries
 * (eof, exit status and signal, windows) and wait_closed still answer, so the
 * exit status can be read after close as in ssh2-python. Every call on a
 * channel of a closed session returns XSSH_ECLOSED. Releasing the last
 * reference of a channel that is not closed never does network I/O: its close
 * is sent by the session's next call.
 * @{
 */
#ifndef XSSH_CHANNEL_H
#define XSSH_CHANNEL_H

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** Stream ids for read/write/flush_ex (SSH_EXTENDED_DATA_STDERR is 1). @{ */
#define XSSH_STREAM_STDOUT 0
#define XSSH_STREAM_STDERR 1
/** @} */
/** xssh_channel_flush_ex(): all extended streams / every stream (LIBSSH2_CHANNEL_FLUSH_*). @{ */
#define XSSH_CHANNEL_FLUSH_EXTENDED_DATA (-1)
#define XSSH_CHANNEL_FLUSH_ALL (-2)
/** @} */

/** Extended-data (stderr) modes for xssh_channel_handle_extended_data() (LIBSSH2_CHANNEL_EXTENDED_DATA_*). */
#define XSSH_EXTENDED_DATA_NORMAL 0 /**< keep stderr apart (default) */
#define XSSH_EXTENDED_DATA_IGNORE 1 /**< discard stderr */
#define XSSH_EXTENDED_DATA_MERGE 2  /**< deliver stderr as stdout */

/** libssh2's default window and packet sizes. @{ */
#define XSSH_CHANNEL_WINDOW_DEFAULT (2 * 1024 * 1024)
#define XSSH_CHANNEL_PACKET_DEFAULT 32768
/** @} */

/* ---- lifetime ------------------------------------------------------------ */

/**
 * Open a "session" channel on an authenticated session (+1 reference in *out).
 * libssh2: libssh2_channel_open_session().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out the new channel (+1 reference; release with xssh_channel_unref())
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_open_session(xssh_channel **out, xssh_session *session);
/**
 * Add a reference; returns @p channel (NULL-safe).
 * @param channel the channel; NULL is allowed
 * @return channel itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_channel *) xssh_channel_ref(xssh_channel *channel);
/**
 * Release a reference. The last one frees the channel without network I/O
 *  (an open channel is closed by the session's next call). NULL-safe.
 * @param channel the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_channel_unref(xssh_channel *channel);
/**
 * The channel's session (borrowed: valid while the channel lives).
 * @param channel the channel (borrowed)
 * @param[out] out the session (borrowed, no reference taken)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_session(xssh_channel *channel, xssh_session **out);

/* ---- requests --------------------------------------------------------------- */

/**
 * Start a process: @p request is "exec", "shell" or "subsystem"; @p message
 * (may be NULL when @p message_len is 0) is the command or subsystem name.
 * libssh2: libssh2_channel_process_startup().
 * @param channel the channel (borrowed)
 * @param request "exec", "shell" or "subsystem" (NUL-terminated)
 * @param message the command or subsystem name (message_len bytes; NULL for "shell")
 * @param message_len length of message in bytes
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED when the server refuses
 */
XSSH_EXTERN(int) xssh_channel_process_startup(xssh_channel *channel, const char *request, const char *message,
                                              size_t message_len);
/**
 * Run @p command (an "exec" request).
 * libssh2: libssh2_channel_process_startup() ("exec").
 * @param channel the channel (borrowed)
 * @param command the command line (NUL-terminated; run by the user's shell on the server)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED when the server refuses
 */
XSSH_EXTERN(int) xssh_channel_execute(xssh_channel *channel, const char *command);
/**
 * Start the user's login shell (usually after xssh_channel_pty()).
 * libssh2: libssh2_channel_process_startup() ("shell").
 * @param channel the channel (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED
 */
XSSH_EXTERN(int) xssh_channel_shell(xssh_channel *channel);
/**
 * Start the subsystem @p name (e.g. "sftp").
 * libssh2: libssh2_channel_process_startup() ("subsystem").
 * @param channel the channel (borrowed)
 * @param name the subsystem name, e.g. "sftp" (NUL-terminated)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED
 */
XSSH_EXTERN(int) xssh_channel_subsystem(xssh_channel *channel, const char *name);
/**
 * Request a pseudo terminal. @p term: terminal type (NULL: "vt100"); @p modes:
 * encoded terminal modes (RFC 4254 8; NULL/0: none); sizes in characters and
 * pixels (0 for pixels when unknown; width/height <= 0: 80x24).
 * libssh2: libssh2_channel_request_pty_ex().
 * @param channel the channel (borrowed)
 * @param term terminal type, e.g. "xterm" (NUL-terminated)
 * @param modes encoded terminal modes (RFC 4254 section 8), or NULL
 * @param modes_len length of modes in bytes
 * @param width width in characters
 * @param height height in rows
 * @param width_px width in pixels (0: unknown)
 * @param height_px height in pixels (0: unknown)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED
 */
XSSH_EXTERN(int) xssh_channel_pty(xssh_channel *channel, const char *term, const char *modes, size_t modes_len,
                                  int width, int height, int width_px, int height_px);
/**
 * Resize the PTY (a "window-change" request).
 * libssh2: libssh2_channel_request_pty_size_ex().
 * @param channel the channel (borrowed)
 * @param width width in characters
 * @param height height in rows
 * @param width_px width in pixels (0: unknown)
 * @param height_px height in pixels (0: unknown)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_pty_size(xssh_channel *channel, int width, int height, int width_px, int height_px);
/**
 * Set an environment variable for the process to start (the server must accept it: AcceptEnv).
 * libssh2: libssh2_channel_setenv_ex().
 * @param channel the channel (borrowed)
 * @param name variable name (NUL-terminated)
 * @param value its value (NUL-terminated)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED when the server does not accept the
 *        variable
 */
XSSH_EXTERN(int) xssh_channel_setenv(xssh_channel *channel, const char *name, const char *value);
/**
 * Request X11 forwarding for @p screen_number (single connection off, generated cookie).
 * libssh2: libssh2_channel_x11_req_ex().
 * @param channel the channel (borrowed)
 * @param screen_number the X11 screen number
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED
 */
XSSH_EXTERN(int) xssh_channel_x11_req(xssh_channel *channel, int screen_number);
/**
 * Request X11 forwarding; @p auth_proto / @p auth_cookie NULL: MIT-MAGIC-COOKIE-1 / random.
 * libssh2: libssh2_channel_x11_req_ex().
 * @param channel the channel (borrowed)
 * @param single_connection 1: forward only one connection, 0: any number
 * @param auth_proto X11 authentication protocol name, or NULL
 * @param auth_cookie the cookie (hex), or NULL
 * @param screen_number the X11 screen number
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED
 */
XSSH_EXTERN(int) xssh_channel_x11_req_ex(xssh_channel *channel, int single_connection, const char *auth_proto,
                                         const char *auth_cookie, int screen_number);
/**
 * Send a signal to the remote process (@p signame without "SIG", e.g. "INT").
 * XSSH_ENOTSUPPORTED when this build's libssh2 has no channel signals (< 1.11).
 * @param channel the channel (borrowed)
 * @param signame signal name without "SIG", e.g. "TERM"
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ENOTSUPPORTED without libssh2 support
 */
XSSH_EXTERN(int) xssh_channel_signal(xssh_channel *channel, const char *signame);
/**
 * Request agent forwarding. XSSH_ENOTSUPPORTED when this build's libssh2 lacks it (< 1.11).
 * @param channel the channel (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECHANNEL_REQUEST_DENIED
 */
XSSH_EXTERN(int) xssh_channel_request_auth_agent(xssh_channel *channel);

/* ---- data -------------------------------------------------------------------- */

/**
 * Read up to @p cap bytes of stream @p stream_id (XSSH_STREAM_STDOUT/STDERR)
 * into @p buf; *got is the count. XSSH_OK with *got == 0 means end of that
 * stream (EOF or closed by the server). Blocking mode waits for data; non-blocking
 * mode returns XSSH_EAGAIN (*got == 0) when none is there. Note: a blocking read
 * of one stream can wait forever while the other stream fills the window; read
 * both (non-blocking), merge them (XSSH_EXTENDED_DATA_MERGE), or use xssh_session_run().
 * Sizes: one call fills at most ::XSSH_IO_MAX bytes, and less when the
 * receive window is near its 2^32-1 limit (libssh2_channel_read_ex() grows the
 * window by the buffer size; RFC 4254 section 5.2): a larger @p cap is clamped,
 * never an error. @p cap == 0 returns XSSH_OK, *got == 0 at once.
 * @param channel the channel (borrowed)
 * @param stream_id XSSH_STREAM_STDOUT (0) or XSSH_STREAM_STDERR (1)
 * @param buf where the bytes go (cap bytes, caller-owned)
 * @param cap size of buf in bytes (more than XSSH_IO_MAX reads at most XSSH_IO_MAX)
 * @param[out] got bytes read (0 at end of stream)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_read_ex(xssh_channel *channel, int stream_id, void *buf, size_t cap, size_t *got);
/**
 * xssh_channel_read_ex() on stdout.
 * libssh2: libssh2_channel_read_ex().
 * @param channel the channel (borrowed)
 * @param buf where the bytes go (caller-owned)
 * @param cap size of buf in bytes
 * @param[out] got bytes read (0 at end of stream)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_read(xssh_channel *channel, void *buf, size_t cap, size_t *got);
/**
 * xssh_channel_read_ex() on stderr.
 * libssh2: libssh2_channel_read_ex().
 * @param channel the channel (borrowed)
 * @param buf where the bytes go (caller-owned)
 * @param cap size of buf in bytes
 * @param[out] got bytes read (0 at end of stream)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_read_stderr(xssh_channel *channel, void *buf, size_t cap, size_t *got);
/**
 * Write @p len bytes to stream @p stream_id (0: the process's stdin). *written
 * (required) is always set to the bytes taken. Blocking mode writes everything
 * (or fails). Non-blocking mode returns XSSH_EAGAIN once the window or socket is
 * full, with *written possibly > 0: resume later from data + *written.
 * Any @p len: libssh2_channel_write_ex() is handed one packet's worth at a time.
 * @param channel the channel (borrowed)
 * @param stream_id 0: stdin of the process, 1: extended data (stderr)
 * @param data the bytes to send (len bytes)
 * @param len number of bytes
 * @param[out] written bytes sent, also when the call returns XSSH_EAGAIN (resume from there)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_write_ex(xssh_channel *channel, int stream_id, const void *data, size_t len,
                                       size_t *written);
/**
 * xssh_channel_write_ex() on stream 0 (stdin).
 * libssh2: libssh2_channel_write_ex().
 * @param channel the channel (borrowed)
 * @param data the bytes to send
 * @param len number of bytes
 * @param[out] written bytes sent, also with XSSH_EAGAIN
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_write(xssh_channel *channel, const void *data, size_t len, size_t *written);
/**
 * xssh_channel_write_ex() on stream 1 (extended data).
 * libssh2: libssh2_channel_write_ex().
 * @param channel the channel (borrowed)
 * @param data the bytes to send
 * @param len number of bytes
 * @param[out] written bytes sent, also with XSSH_EAGAIN
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_write_stderr(xssh_channel *channel, const void *data, size_t len, size_t *written);
/**
 * Discard received, unread data of @p stream_id (or XSSH_CHANNEL_FLUSH_*);
 * *flushed (may be NULL) gets the count of bytes discarded.
 * libssh2: libssh2_channel_flush_ex().
 * @param channel the channel (borrowed)
 * @param stream_id the stream, or XSSH_CHANNEL_FLUSH_EXTENDED_DATA / XSSH_CHANNEL_FLUSH_ALL
 * @param[out] flushed bytes discarded (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_flush_ex(xssh_channel *channel, int stream_id, size_t *flushed);
/**
 * xssh_channel_flush_ex() on stdout.
 * libssh2: libssh2_channel_flush_ex().
 * @param channel the channel (borrowed)
 * @param[out] flushed bytes discarded (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_flush(xssh_channel *channel, size_t *flushed);
/**
 * xssh_channel_flush_ex() on stderr.
 * libssh2: libssh2_channel_flush_ex().
 * @param channel the channel (borrowed)
 * @param[out] flushed bytes discarded (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_flush_stderr(xssh_channel *channel, size_t *flushed);
/**
 * Set the extended-data mode (XSSH_EXTENDED_DATA_*).
 * libssh2: libssh2_channel_handle_extended_data2().
 * @param channel the channel (borrowed)
 * @param mode XSSH_EXTENDED_DATA_NORMAL, _IGNORE or _MERGE
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_handle_extended_data(xssh_channel *channel, int mode);

/* ---- end of data, close, exit status -------------------------------------- */

/**
 * Tell the server no more data will be sent (the process sees stdin closed).
 * libssh2: libssh2_channel_send_eof().
 * @param channel the channel (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_send_eof(xssh_channel *channel);
/**
 * is_eof = 1 when the server sent EOF (and all data was read), else 0.
 * libssh2: libssh2_channel_eof().
 * @param channel the channel (borrowed)
 * @param[out] is_eof 1 at end of stream, else 0
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_eof(xssh_channel *channel, int *is_eof);
/**
 * Wait for the server's EOF (reads and drops nothing: unread data stays queued).
 * libssh2: libssh2_channel_wait_eof().
 * @param channel the channel (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_wait_eof(xssh_channel *channel);
/**
 * Close the channel: sends EOF and CLOSE and waits for the server's CLOSE of
 * this channel (libssh2_channel_close, then wait_eof/wait_closed: libssh2 1.10's
 * own wait ends at the first packet of any channel), so the exit status that
 * precedes it is in (xssh_channel_get_exit_status). Bounded by the session
 * timeout (XSSH_ETIMEOUT: the channel is closed locally, the status may be
 * unknown; calling close again goes on waiting). Unread data stays readable.
 * Idempotent once it succeeded. To be sure to get
 * the exit status, read to EOF (or xssh_channel_wait_eof()) first, or wait for
 * the server's close with xssh_channel_wait_closed(): a CLOSE sent while the
 * process still runs may end the channel before the server sends the status.
 * @param channel the channel (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_close(xssh_channel *channel);
/**
 * Wait until the server closed the channel (after xssh_channel_close()).
 * libssh2: libssh2_channel_wait_closed().
 * @param channel the channel (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_wait_closed(xssh_channel *channel);
/**
 * is_closed = 1 once xssh_channel_close() succeeded.
 * @param channel the channel (borrowed)
 * @param[out] is_closed 1 once closed, else 0
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_channel_is_closed(xssh_channel *channel, int *is_closed);
/**
 * The exit status: *have = 1 and *status set once the server sent it; else
 * *have = 0 and *status = 0 ("exited with 0" and "no status yet" differ).
 * Either out-pointer may be NULL.
 * libssh2: libssh2_channel_get_exit_status().
 * @param channel the channel (borrowed)
 * @param[out] status the exit status (0-255) when *have is 1
 * @param[out] have 1 when the server sent an exit status, else 0
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_get_exit_status(xssh_channel *channel, int *status, int *have);
/**
 * The signal that ended the process: *name (e.g. "TERM", no "SIG"), *message,
 * *lang — each allocated (free with xssh_free) or NULL when none was sent; any
 * out-pointer may be NULL.
 * libssh2: libssh2_channel_get_exit_signal().
 * @param channel the channel (borrowed)
 * @param[out] name signal name without "SIG" (e.g. "TERM"), or NULL when none; allocated, free
 *        with xssh_free()
 * @param[out] message the server's error message, or NULL; allocated, free with xssh_free() (may
 *        be NULL)
 * @param[out] lang its language tag, or NULL; allocated, free with xssh_free() (may be NULL)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_get_exit_signal(xssh_channel *channel, char **name, char **message, char **lang);

/* ---- windows ----------------------------------------------------------------- */

/**
 * Receive window: *window = bytes the server may still send; optional *read_avail
 *  (bytes received, unread) and *window_size_initial.
 * libssh2: libssh2_channel_window_read_ex().
 * @param channel the channel (borrowed)
 * @param[out] window bytes the server may still send
 * @param[out] read_avail bytes received and not read yet (may be NULL)
 * @param[out] window_size_initial the window size the channel started with (may be NULL)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_window_read_ex(xssh_channel *channel, unsigned long *window, unsigned long *read_avail,
                                             unsigned long *window_size_initial);
/**
 * xssh_channel_window_read_ex() without the optional outputs.
 * libssh2: libssh2_channel_window_read_ex().
 * @param channel the channel (borrowed)
 * @param[out] window bytes the server may still send
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_window_read(xssh_channel *channel, unsigned long *window);
/**
 * Send window: *window = bytes we may send now; optional *window_size_initial.
 * libssh2: libssh2_channel_window_write_ex().
 * @param channel the channel (borrowed)
 * @param[out] window bytes we may send now
 * @param[out] window_size_initial the server's initial window size (may be NULL)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_window_write_ex(xssh_channel *channel, unsigned long *window,
                                              unsigned long *window_size_initial);
/**
 * xssh_channel_window_write_ex() without the optional output.
 * libssh2: libssh2_channel_window_write_ex().
 * @param channel the channel (borrowed)
 * @param[out] window bytes we may send now
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_channel_window_write(xssh_channel *channel, unsigned long *window);
/**
 * Grow the receive window by @p adjustment bytes (SSH_MSG_CHANNEL_WINDOW_ADJUST,
 * RFC 4254 section 5.2; libssh2_channel_receive_window_adjust2()). Without
 * @p force an adjustment below 1024 bytes is queued for a later one. *window
 * (may be NULL) gets the window after the call.
 * Sizes: the window is a uint32 the peer adds to, and OpenSSH drops a
 * connection whose window would pass 2^32-1; so the adjustment is clamped to
 * keep the window (plus 1 KiB that libssh2 may have queued) within 2^32-1
 * (XSSH_OK, *window shows the result). @p adjustment > 4294967295 fails with
 * ::XSSH_EARG.
 * @param channel the channel (borrowed)
 * @param adjustment bytes to add to the receive window
 * @param force 1: send the adjustment even when it is small
 * @param[out] window the new receive window size in bytes (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_channel_receive_window_adjust(xssh_channel *channel, unsigned long adjustment, int force,
                                                    unsigned int *window);

/* ---- run(): one call, both streams, no deadlock --------------------------- */

/** Options of xssh_session_run() / xssh_session_run_stream(); zero-initialise, then set. */
typedef struct xssh_run_options {
    const void *stdin_data; /**< written to the command while its output is read; then EOF (NULL: EOF at once) */
    size_t stdin_len;       /**< bytes of stdin_data */
    long timeout_ms;        /**< total deadline (0: none) → XSSH_ETIMEOUT */
    long idle_timeout_ms;   /**< longest time without any output (0: none) → XSSH_ETIMEOUT */
    int merge_stderr;       /**< nonzero: stderr is delivered as stdout */
    int pty;                /**< nonzero: run on a PTY ("xterm", 80x24; stdout and stderr then merge) */
} xssh_run_options;

/** What xssh_session_run() returns. Free with xssh_run_result_free(). */
typedef struct xssh_run_result {
    char *out;            /**< stdout bytes (NUL-terminated for convenience; may contain NULs) */
    size_t out_len;       /**< bytes of out */
    char *err;            /**< stderr bytes (NUL-terminated) */
    size_t err_len;       /**< bytes of err */
    int have_exit_status; /**< 1 when the server sent an exit status */
    int exit_status;      /**< the status (0 when none) */
    char *exit_signal;    /**< signal name without "SIG" (e.g. "TERM"), or NULL */
} xssh_run_result;

/**
 * Free a result of xssh_session_run() (NULL-safe).
 * @param result the result to free; NULL is allowed
 */
XSSH_EXTERN(void) xssh_run_result_free(xssh_run_result *result);

/**
 * Run @p command on a new channel of @p session, feed it opts->stdin_data while
 * reading stdout and stderr concurrently (a command writing megabytes to both
 * never deadlocks), wait for its exit and return everything in *out (free with
 * xssh_run_result_free()). @p opts may be NULL. The session's blocking mode is
 * not used: run() always completes (or times out). On XSSH_ETIMEOUT (either
 * timeout), XSSH_ECANCELLED or any failure the channel is closed (within a few
 * seconds at most) and *out is NULL; the session stays usable. The session
 * timeout bounds opening/starting and the final close; while the command runs
 * only opts' timeouts apply (a long quiet command is not cut by it), but a dead
 * peer is told apart from a quiet command: after a session timeout T of silence
 * (no byte from the server) run() sends a probe that wants a reply (an "env"
 * channel request, RFC 4254 6.4, the role of OpenSSH's ServerAliveInterval), and
 * when T more ms pass without a byte it fails with XSSH_ETIMEOUT ("... presumed
 * dead"). A session timeout of 0 disables the probe (run() then waits as long as
 * opts allow).
 * libssh2: libssh2_channel_open_session(), libssh2_channel_process_startup(),
 * libssh2_channel_read_ex(), libssh2_channel_write_ex(), libssh2_channel_get_exit_status().
 * @param session the session (borrowed: the call takes no reference)
 * @param command the command line (NUL-terminated)
 * @param opts stdin data, timeouts (ms), merge_stderr, pty; NULL: the defaults
 * @param[out] out the result (stdout, stderr, exit status, exit signal); free with
 *        xssh_run_result_free()
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ETIMEOUT when opts->timeout_ms or idle_timeout_ms passes (the
 *        session stays usable)
 */
XSSH_EXTERN(int) xssh_session_run(xssh_session *session, const char *command, const xssh_run_options *opts,
                                  xssh_run_result **out);

/**
 * Output callback of xssh_session_run_stream(): @p stream is XSSH_STREAM_STDOUT
 * or XSSH_STREAM_STDERR. Return 0 to go on, nonzero to cancel (the run then
 * returns XSSH_ECANCELLED after closing the channel). Never called with the
 * session lock held, so it may use other channels of the session.
 */
typedef int (*xssh_run_callback)(int stream, const char *data, size_t len, void *userdata);

/**
 * Like xssh_session_run() but hands output to @p callback as it arrives instead
 * of collecting it. *exit_status / *have_exit_status / *exit_signal (allocated,
 * NULL when none; free with xssh_free) may each be NULL.
 * libssh2: libssh2_channel_open_session(), libssh2_channel_process_startup(),
 * libssh2_channel_read_ex(), libssh2_channel_write_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param command the command line (NUL-terminated)
 * @param opts as for xssh_session_run() (NULL: the defaults)
 * @param callback called with each chunk of output (stream, bytes, length) as it arrives; a
 *        nonzero return cancels
 * @param userdata passed to callback unchanged
 * @param[out] exit_status the exit status when *have_exit_status is 1
 * @param[out] have_exit_status 1 when the server sent an exit status, else 0
 * @param[out] exit_signal signal name, or NULL; allocated, free with xssh_free() (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ECANCELLED when callback cancels
 */
XSSH_EXTERN(int) xssh_session_run_stream(xssh_session *session, const char *command, const xssh_run_options *opts,
                                         xssh_run_callback callback, void *userdata, int *exit_status,
                                         int *have_exit_status, char **exit_signal);

XSSH_END_DECL

/** @} */
#endif /* XSSH_CHANNEL_H */
