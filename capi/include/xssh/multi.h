/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/multi.h
 * @brief Many hosts and operations from one thread (model: libcurl's multi interface).
 * @defgroup multi Multi interface
 *
 * An ::xssh_multi drives many operations concurrently from ONE thread: connect
 * (everything xssh_connect() does: ssh_config, ProxyJump, host keys, the
 * authentication chain), run a command, SFTP get/put, open a channel, or any
 * sequence of xssh calls given as a function. Each operation runs the same code
 * as the blocking call of the same name; where that call would wait for its
 * socket (or a timer), the operation is suspended instead and the multi goes on
 * with the others. Operations run on small private stacks (one per running
 * operation; see xssh_multi_set_stack_size()); no thread per host, no busy polling.
 *
 * Two ways to drive it:
 * - xssh's own loop: xssh_multi_perform_all() (until every operation is done),
 *   or xssh_multi_wait() + xssh_multi_perform() steps, with a completion callback
 *   per operation (xssh_multi_op_opts.on_done) or xssh_multi_info_read().
 * - an external event loop (as curl_multi_socket_action()): xssh tells the caller
 *   which sockets to watch for which direction (xssh_multi_set_socket_cb(), or the
 *   pull form xssh_multi_fds()) and when its next timer is due
 *   (xssh_multi_set_timer_cb() / xssh_multi_timeout()); the caller reports
 *   readiness with xssh_multi_socket_action().
 *
 * Threads: a multi and its operations belong to the thread that drives them;
 * calls on one multi must not overlap (the bindings hold the multi while they
 * release their interpreter lock). A session handed to an operation must not be
 * used by another thread, nor by a second operation, until the first is done
 * (a second operation on the same session waits for the first: ops on one
 * session run one after the other, in the order they were added).
 * An xssh call made on the driving thread outside the operations (its own
 * stack, or a callback) on a session or SFTP object that a suspended operation
 * of the same thread holds in the middle of a request (opening a channel,
 * awaiting a channel request's reply, a half-sent packet, an SFTP request)
 * fails at once with XSSH_EBAD_USE naming the call and the cause, instead of
 * waiting for an operation that cannot run before it returns (docs/multi.md).
 * Input such a call (or an operation of another multi of the thread) reads for
 * a waiting operation makes that operation runnable in whichever multi of the
 * thread it belongs to; its driver is told through its timer callback (at the
 * thread's top level) or, in the pull form, by the multi's wake-up descriptor
 * that xssh_multi_fds() lists (docs/multi.md, "Wake-ups across the multis of a
 * thread").
 *
 * Host strings: `[user@]host[:port]`, `[user@][v6addr]:port`, or an ssh_config
 * Host alias; the op hands it to the resolution xssh_connect() does (the same
 * reader, xssh_host_parse()): a port in the string wins over the Port option
 * and the files, a user over the files (an explicit User option wins, as ssh).
 * @{
 */
#ifndef XSSH_MULTI_H
#define XSSH_MULTI_H

#include "common.h"
#include "types.h"
#include "connect.h"
#include "channel.h"
#include "sftp.h"
#include "tunnel.h"

XSSH_BEGIN_DECL

/** The driver of many operations (reference-counted). */
typedef struct xssh_multi xssh_multi;
/** One operation added to a multi (reference-counted; the multi holds one
    reference until the operation is done and reported). */
typedef struct xssh_multi_op xssh_multi_op;

/** Where an operation failed (or stopped); reported with its error. */
typedef enum xssh_phase {
    XSSH_PHASE_NONE = 0,   /**< not failed / not started */
    XSSH_PHASE_RESOLVE,    /**< ssh_config resolution, host name lookup (getaddrinfo) */
    XSSH_PHASE_CONNECT,    /**< TCP connect (incl. ProxyJump hops) */
    XSSH_PHASE_HANDSHAKE,  /**< SSH banner exchange and key exchange (RFC 4253) */
    XSSH_PHASE_HOSTKEY,    /**< host-key verification (known_hosts, StrictHostKeyChecking) */
    XSSH_PHASE_AUTH,       /**< user authentication (RFC 4252) */
    XSSH_PHASE_CHANNEL,    /**< opening a channel (RFC 4254 section 5.1) */
    XSSH_PHASE_COMMAND,    /**< running the command (exec, output, exit status) */
    XSSH_PHASE_TRANSFER,   /**< SFTP/SCP transfer */
    XSSH_PHASE_CALL,       /**< inside a caller's function (xssh_multi_add_call()) */
    XSSH_PHASE_DISCONNECT  /**< closing the session at the end of a host operation */
} xssh_phase;

/**
 * Name of a phase.
 * @param phase an xssh_phase
 * @return "resolve", "connect", "handshake", "hostkey", "auth", "channel",
 *         "command", "transfer", "call", "disconnect", or "none" (also for an
 *         unknown value); a static string
 */
XSSH_EXTERN(const char *) xssh_phase_name(int phase);

/** State of an operation. */
typedef enum xssh_op_state {
    XSSH_OP_QUEUED = 0, /**< added, waiting for a running slot (xssh_multi_set_max_running()) */
    XSSH_OP_RUNNING,    /**< started, not finished */
    XSSH_OP_DONE        /**< finished (success, failure, timeout or cancel); result available */
} xssh_op_state;

/** xssh_multi_op_opts.max_output: keep every byte of a command's output (no limit). */
#define XSSH_MULTI_OUTPUT_ALL ((size_t)-1)

/** Line mode: the longest piece of a line delivered at once, in bytes (64 KiB). */
#define XSSH_MULTI_LINE_MAX 65536

/** Which stream a chunk of command output belongs to (as xssh_run_callback). */
/* XSSH_STREAM_STDOUT / XSSH_STREAM_STDERR from channel.h */

/**
 * Output callback: @p len bytes of @p stream (XSSH_STREAM_STDOUT/STDERR) from @p op.
 * With xssh_multi_op_opts.line_mode each call carries whole lines (a final
 * unterminated line is delivered at the end); a line longer than
 * XSSH_MULTI_LINE_MAX bytes comes in pieces of XSSH_MULTI_LINE_MAX bytes (the
 * last piece ends with its newline), so at most that much of a partial line is
 * kept per stream. Called from the thread driving
 * the multi, from inside xssh_multi_perform()/..._socket_action(); return 0 to go
 * on, nonzero to cancel the operation (XSSH_ECANCELLED). Must not call back into
 * the same multi except xssh_multi_op_cancel().
 */
typedef int (*xssh_multi_output_cb)(xssh_multi_op *op, int stream, const char *data, size_t len, void *userdata);

/** Completion callback: @p op is done (its result is readable). Same rules as
    xssh_multi_output_cb; it may add new operations to the multi. */
typedef void (*xssh_multi_done_cb)(xssh_multi_op *op, void *userdata);

/** Options of one operation; zero-initialise, then set (NULL: all defaults). */
typedef struct xssh_multi_op_opts {
    long connect_timeout_ms; /**< TCP connect + SSH handshake (each hop); 0: ConnectTimeout from the
                                  options/ssh_config, else the session timeout (30 s) */
    long auth_timeout_ms;    /**< host key + authentication; 0: the session timeout */
    long timeout_ms;         /**< the command or transfer, from its start (0: none) → XSSH_ETIMEOUT */
    long idle_timeout_ms;    /**< a command's longest time without output (0: none) → XSSH_ETIMEOUT */
    const void *stdin_data;  /**< run: written to the command, then EOF (NULL: EOF at once) */
    size_t stdin_len;        /**< bytes of stdin_data */
    int merge_stderr;        /**< run: stderr delivered as stdout */
    int pty;                 /**< run: on a PTY */
    size_t max_output;       /**< run: bytes kept per stream in the result (0: 1 MiB;
                                  XSSH_MULTI_OUTPUT_ALL: all of it, as xssh_session_run()); beyond
                                  that the result is truncated and says so */
    xssh_multi_output_cb on_output; /**< run: output as it arrives (then it is NOT kept in the result) */
    int line_mode;           /**< with on_output: deliver whole lines (longer ones in XSSH_MULTI_LINE_MAX pieces) */
    xssh_multi_done_cb on_done; /**< called once when the op is done (may be NULL) */
    void *userdata;          /**< for on_output/on_done; also xssh_multi_op_userdata() */
    const xssh_transfer_opts *transfer; /**< get/put: progress, atomic, mode, resume... (NULL: defaults;
                                             host get/put: atomic) */
    int recursive;           /**< host get/put: a directory tree (xssh_sftp_get_tree()/put_tree()) */
    int pull_output;         /**< run: output is kept in the op for xssh_multi_op_take_output() as it
                                  arrives (no callback: for languages that cannot run code on the
                                  op's stack). At most max_output (0: 1 MiB) untaken bytes per
                                  stream: when a stream holds that much the op stops reading the
                                  channel (the SSH window throttles the server, nothing is lost)
                                  until the caller takes it. With line_mode, take returns whole
                                  lines only (pieces of XSSH_MULTI_LINE_MAX, or of max_output when
                                  smaller, for longer ones; the last unterminated line once the op
                                  is done). on_output must be NULL. The result's out/err are then
                                  empty. */
    const char *caller;      /**< what the user called, for messages: a language's name of the
                                  method or function that made this op ("xssh.aio.Session.run()",
                                  "Xssh::Session#run", "xssh.async.run"); NUL-terminated text
                                  (UTF-8), any length. NULL or "": none, messages as without it.
                                  Copied at add (the string need not outlive the add call).
                                  When set, these messages are named by it:
                                  - xssh_multi_result.message of a failed or cancelled op;
                                  - xssh_error_last()->message after an xssh_multi_add_*() call
                                    with these options fails (its code, libssh2_code and
                                    sftp_status, and the result's error, phase and sftp_status,
                                    are never changed; neither is xssh_session_last_error()).
                                  The rule: a message that starts with a C function's name and
                                  a ':' ("xssh_" then [A-Za-z0-9_]+, as "xssh_multi_add_run: the
                                  session is closed") gets that name replaced by caller
                                  ("X: the session is closed"); a message that is caller, or
                                  starts with caller and a ':', is left as it is (never
                                  doubled); an empty message becomes caller; any other gets
                                  "caller: " in front ("run 'sleep 5': timed out ..." ->
                                  "X: run 'sleep 5': timed out ..."). xssh_error_last()'s
                                  message holds at most 4095 bytes: a longer one is cut at a
                                  UTF-8 character boundary (result messages are not cut). */
} xssh_multi_op_opts;

/** The outcome of an operation (owned by the op; valid until it is unreferenced). */
typedef struct xssh_multi_result {
    const char *host;        /**< the host string as given (NULL for ops on a session) */
    int error;               /**< XSSH_OK or an xssh_err */
    int phase;               /**< an xssh_phase: where it failed (XSSH_PHASE_NONE on success) */
    const char *message;     /**< what failed and why (as xssh_error_last()); "" on success */
    int have_exit_status;    /**< run: 1 when the server sent an exit status */
    int exit_status;         /**< run: the status (0 when none) */
    const char *exit_signal; /**< run: signal name without "SIG", or NULL */
    const char *out;         /**< run: stdout kept (NUL-terminated; may contain NULs) */
    size_t out_len;          /**< bytes of out */
    int out_truncated;       /**< 1 when stdout exceeded max_output (the first max_output bytes are kept) */
    const char *err;         /**< run: stderr kept */
    size_t err_len;          /**< bytes of err */
    int err_truncated;       /**< 1 when stderr exceeded max_output */
    uint64_t bytes;          /**< get/put: bytes transferred */
    int64_t duration_ms;     /**< from start (leaving the queue) to done, ms */
    int sftp_status;         /**< an SFTP failure: the server's status (SSH_FX_*, SFTP draft-02
                                  section 7), as xssh_error_last()->sftp_status of the blocking
                                  call; else 0 */
} xssh_multi_result;

/* ---- the multi itself --------------------------------------------------- */

/**
 * Create a multi. @param[out] out the new multi (+1 reference)
 * @return XSSH_OK; XSSH_EARG (out NULL); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_multi_new(xssh_multi **out);
/**
 * Take a reference.
 * @param multi the multi (NULL-safe)
 * @return @p multi
 */
XSSH_EXTERN(xssh_multi *) xssh_multi_ref(xssh_multi *multi);
/**
 * Drop a reference. The last one cancels the operations still queued or
 * running (they complete with XSSH_ECANCELLED, callbacks are not called: each
 * running one is resumed once more and its waits fail at once, so it releases
 * what it holds) and frees their stacks; never waits for the network. Ops the
 * caller still references keep their results.
 * @param multi the multi (NULL-safe)
 */
XSSH_EXTERN(void) xssh_multi_unref(xssh_multi *multi);

/**
 * At most @p max operations run at once (the rest wait, queued, in the order
 * added). Tasks an operation starts internally are not counted.
 * @param multi the multi
 * @param max most operations running at once; 0: no limit. Default: 64
 * @return XSSH_OK; XSSH_EARG (NULL multi, negative max)
 */
XSSH_EXTERN(int) xssh_multi_set_max_running(xssh_multi *multi, int max);

/**
 * Stack size of each running operation in bytes (rounded up to pages, plus a
 * guard page; memory is touched only as used). Default 256 KiB (1 MiB in
 * sanitizer builds); minimum 64 KiB. Applies to operations started later.
 * @param multi the multi
 * @param bytes the size: 64 KiB .. 1 GiB
 * @return XSSH_OK; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_set_stack_size(xssh_multi *multi, size_t bytes);

/* ---- adding operations ----------------------------------------------------
 * Each returns XSSH_OK and *out = a new op (+1 reference for the caller; pass
 * NULL for out when the caller does not want one), queued in the multi; nothing
 * runs until the multi is driven. Errors at add time: XSSH_EARG (NULL argument),
 * XSSH_ENOMEM, XSSH_ECLOSED (the session is closed). A host string that cannot
 * be parsed ("", "root@", "@@@", "h:99999", "[::1") is not an add-time error: the
 * op is added and completes with XSSH_EARG in phase XSSH_PHASE_RESOLVE, its
 * message naming the host string and what is wrong, like a host whose name does
 * not resolve (so one bad entry in a list of hosts fails only its own op).
 * Strings and options are copied (options with xssh_options_dup()); a session
 * is referenced until the op is done.
 * Common parameters: @p multi the multi; @p opts the op's options (NULL: all
 * defaults; copied, stdin_data included); @p out the new op (+1 reference), or
 * NULL. */

/**
 * Connect to @p host like xssh_connect() (ssh_config, ProxyJump, host key,
 * authentication); the session: xssh_multi_op_session().
 * @param host `[user@]host[:port]`, `[user@][v6addr]:port` or an ssh_config Host alias
 * @param options connection options (NULL: ssh_config and defaults); copied
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument; a malformed host string fails the op instead, phase resolve); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_multi_add_connect(xssh_multi *multi, const char *host, xssh_options *options,
                                        const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * Connect to @p host, run @p command (as xssh_session_run()), disconnect: the
 * unit of run_many. The result holds the exit status and the output.
 * @param host `[user@]host[:port]`, `[user@][v6addr]:port` or an ssh_config Host alias
 * @param options connection options (NULL: ssh_config and defaults); copied
 * @param command the command line (run by the user's shell on the server)
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument; a malformed host string fails the op instead, phase resolve); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_multi_add_host_run(xssh_multi *multi, const char *host, xssh_options *options,
                                         const char *command, const xssh_multi_op_opts *opts,
                                         xssh_multi_op **out);

/**
 * Run @p command on an existing, authenticated @p session (as xssh_session_run()).
 * @param session the session (referenced until the op is done; ops on one
 *        session run one after the other)
 * @param command the command line
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED (the session is closed)
 */
XSSH_EXTERN(int) xssh_multi_add_run(xssh_multi *multi, xssh_session *session, const char *command,
                                    const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * Connect to @p host, upload @p local to @p remote over SFTP (as
 * xssh_sftp_put(); opts->recursive: a tree, as xssh_sftp_put_tree()), disconnect.
 * The result's bytes: bytes transferred. Without opts->transfer the transfer is
 * atomic (xssh_transfer_opts.atomic = 1, every other field 0): a failed, timed-out
 * or cancelled put leaves nothing under @p remote (an existing file is kept).
 * Pass transfer options with atomic = 0 to write in place.
 * @param host `[user@]host[:port]`, `[user@][v6addr]:port` or an ssh_config Host alias
 * @param options connection options (NULL: ssh_config and defaults); copied
 * @param local local file (or directory)
 * @param remote remote path
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument; a malformed host string fails the op instead, phase resolve); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_multi_add_host_put(xssh_multi *multi, const char *host, xssh_options *options,
                                         const char *local, const char *remote, const xssh_multi_op_opts *opts,
                                         xssh_multi_op **out);

/**
 * Connect to @p host, download @p remote to @p local over SFTP (as
 * xssh_sftp_get(); opts->recursive: a tree, as xssh_sftp_get_tree()), disconnect.
 * Without opts->transfer the transfer is atomic (xssh_transfer_opts.atomic = 1,
 * every other field 0): a missing remote file, a timeout or a cancel leaves
 * nothing under @p local (an existing file is kept).
 * @param host `[user@]host[:port]`, `[user@][v6addr]:port` or an ssh_config Host alias
 * @param options connection options (NULL: ssh_config and defaults); copied
 * @param remote remote path
 * @param local local file (or directory)
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument; a malformed host string fails the op instead, phase resolve); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_multi_add_host_get(xssh_multi *multi, const char *host, xssh_options *options,
                                         const char *remote, const char *local, const xssh_multi_op_opts *opts,
                                         xssh_multi_op **out);

/**
 * SFTP get on an existing SFTP subsystem (as xssh_sftp_get()).
 * @param sftp the SFTP subsystem (referenced until done; serialised with the other
 *        ops on its session)
 * @param remote remote path
 * @param local local file
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED
 */
XSSH_EXTERN(int) xssh_multi_add_sftp_get(xssh_multi *multi, xssh_sftp *sftp, const char *remote, const char *local,
                                         const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * SFTP put on an existing SFTP subsystem (as xssh_sftp_put()).
 * @param sftp the SFTP subsystem (referenced until done)
 * @param local local file
 * @param remote remote path
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED
 */
XSSH_EXTERN(int) xssh_multi_add_sftp_put(xssh_multi *multi, xssh_sftp *sftp, const char *local, const char *remote,
                                         const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * Open a session channel on @p session (as xssh_channel_open_session()); the
 * channel: xssh_multi_op_channel().
 * @param session the session (referenced until done)
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED
 */
XSSH_EXTERN(int) xssh_multi_add_channel_open(xssh_multi *multi, xssh_session *session,
                                             const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * A caller's function as an operation: @p fn(@p userdata) runs on the op's
 * stack; every blocking xssh call it makes suspends the op instead of blocking
 * the thread (any xssh call: SFTP listing, channel reads, forwarding...). Its
 * return value (an xssh_err) is the op's error; phase XSSH_PHASE_CALL.
 * @p session (may be NULL) is referenced and serialised as for the other ops.
 * @p fn must not call xssh_multi functions on the same multi, nor block in
 * anything but xssh calls.
 */
typedef int (*xssh_multi_fn)(xssh_multi_op *op, void *userdata);
/**
 * Add a caller's function as an operation (see ::xssh_multi_fn).
 * @param session a session the function uses (referenced and serialised with the
 *        other ops on it), or NULL
 * @param fn the function; runs on the op's stack (xssh_multi_set_stack_size())
 * @param userdata passed to @p fn
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED
 */
XSSH_EXTERN(int) xssh_multi_add_call(xssh_multi *multi, xssh_session *session, xssh_multi_fn fn, void *userdata,
                                     const xssh_multi_op_opts *opts, xssh_multi_op **out);

/* ---- driving: xssh's own loop ----------------------------------------------- */

/**
 * Do everything that can be done now without waiting (start queued ops up to
 * the limit, resume ops whose sockets are ready, whose timers are due or that
 * were woken; drains the wake-up descriptor of xssh_multi_fds()).
 * @param multi the multi
 * @param[out] running ops not yet done (queued + running); may be NULL
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE (called from inside a callback or op)
 */
XSSH_EXTERN(int) xssh_multi_perform(xssh_multi *multi, int *running);

/**
 * Wait (poll(2) on every socket the running ops wait for, and on the multi's
 * wake-up descriptor when xssh_multi_fds() made one) until one is ready, a
 * timer is due, or @p timeout_ms passes (-1: no limit), then perform. Like
 * every drive call it drains the wake-up descriptor.
 * Returns at once when no op is left.
 * @param multi the multi
 * @param timeout_ms longest wait in ms; -1: no limit
 * @param[out] running ops not yet done (queued + running); may be NULL
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE
 */
XSSH_EXTERN(int) xssh_multi_wait(xssh_multi *multi, long timeout_ms, int *running);

/**
 * Drive until every op is done, or @p timeout_ms passes (-1: no limit; then
 * the ops still going are left as they are and XSSH_ETIMEOUT is returned).
 * @param multi the multi
 * @param timeout_ms longest time in ms; -1: no limit
 * @return XSSH_OK (all done, whatever each op's outcome); XSSH_ETIMEOUT; XSSH_EARG; XSSH_EBAD_USE
 */
XSSH_EXTERN(int) xssh_multi_perform_all(xssh_multi *multi, long timeout_ms);

/**
 * Next finished op not reported yet (in completion order), or NULL. *out gets
 * a new reference; each op is reported once.
 * @param multi the multi
 * @param[out] out the op (the caller unrefs it), or NULL
 * @return 1 when *out was set, 0 when none; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_info_read(xssh_multi *multi, xssh_multi_op **out);

/* ---- driving: an external event loop -------------------------------------- */

/** Directions for the socket callback, xssh_multi_fds() and xssh_multi_socket_action(). */
#define XSSH_POLL_NONE 0   /**< stop watching this socket (socket callback) */
#define XSSH_POLL_IN 1     /**< readable */
#define XSSH_POLL_OUT 2    /**< writable */
#define XSSH_POLL_ERR 4    /**< error/hang-up seen (socket_action: treated as both) */
/** xssh_multi_socket_action(): no socket, a timer ran out. */
#define XSSH_SOCKET_TIMEOUT (-1)

/** Told when a socket must be watched for @p what (XSSH_POLL_IN|OUT), changed,
    or no longer (XSSH_POLL_NONE). Return 0 (nonzero: the op waiting on it fails). */
typedef int (*xssh_multi_socket_cb)(xssh_multi *multi, int fd, int what, void *userdata);
/** Told when the next timer is due: in @p timeout_ms (0: call
    xssh_multi_socket_action(XSSH_SOCKET_TIMEOUT) soon), or -1: no timer.
    Each call replaces the loop's one timer (one-shot: once it fired and the loop
    called socket_action(XSSH_SOCKET_TIMEOUT), the loop has none). The multi
    calls it only when the loop must know: a timer where it had none, none where
    it had one, or a deadline earlier than the one it was told. A deadline that
    moved later is not told (most steps of an op push its deadline on): the
    loop's timer then fires early, which is harmless (socket_action with
    XSSH_SOCKET_TIMEOUT resumes only what is due and tells the later deadline
    then). A socket_action(XSSH_SOCKET_TIMEOUT) the loop makes on its own
    (another reason, or early) is fine too. An op that gave way to the others
    after its time slice (a bulk transfer whose socket stays ready) asks for
    timer 0. */
typedef int (*xssh_multi_timer_cb)(xssh_multi *multi, long timeout_ms, void *userdata);

/**
 * Set (or clear with NULL) the socket callback (external loop).
 * @param multi the multi
 * @param cb the callback, or NULL
 * @param userdata passed to @p cb
 * @return XSSH_OK; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_set_socket_cb(xssh_multi *multi, xssh_multi_socket_cb cb, void *userdata);
/**
 * Set (or clear with NULL) the timer callback (external loop).
 * @param multi the multi
 * @param cb the callback, or NULL
 * @param userdata passed to @p cb
 * @return XSSH_OK; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_set_timer_cb(xssh_multi *multi, xssh_multi_timer_cb cb, void *userdata);

/**
 * Report that @p fd is ready for @p events (XSSH_POLL_*), or that the timer ran
 * out (@p fd = XSSH_SOCKET_TIMEOUT); resumes the ops concerned (and every op
 * woken outside the multi's drive), starts queued ones, and calls the
 * socket/timer callbacks with the new interest. @p fd may be the wake-up
 * descriptor xssh_multi_fds() lists: it is drained (by every drive call) and
 * the woken ops run.
 * The loop must be level-triggered (an op may leave bytes in its socket).
 * @param multi the multi
 * @param fd the ready socket, or XSSH_SOCKET_TIMEOUT
 * @param events XSSH_POLL_IN / OUT / ERR seen on @p fd (ignored for the timeout)
 * @param[out] running ops not yet done; may be NULL
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE
 */
XSSH_EXTERN(int) xssh_multi_socket_action(xssh_multi *multi, int fd, int events, int *running);

/** One descriptor to watch (pull form). */
typedef struct xssh_multi_pollfd {
    int fd;     /**< a socket, or the multi's wake-up descriptor (the last one listed) */
    int events; /**< XSSH_POLL_IN | XSSH_POLL_OUT */
} xssh_multi_pollfd;

/**
 * Pull form of the socket/timer interest: fill @p fds (capacity @p cap) with
 * the sockets the ops wait for; *n = how many there are (may exceed cap: call
 * again with more room); *timeout_ms = ms until the next timer (-1: none; 0:
 * perform now).
 * While an op runs, a multi without a timer callback lists one more entry,
 * last: its wake-up descriptor (a Linux eventfd, EFD_CLOEXEC|EFD_NONBLOCK, owned
 * by the multi: never read, write or close it), events XSSH_POLL_IN. It becomes
 * readable when code of the driving thread outside the multi's drive (a
 * blocking call, an op of another multi) makes one of its ops runnable (it read
 * the op's input into libssh2's queue, or released what the op waits to take):
 * drive the multi then (xssh_multi_socket_action() on it, or perform/wait),
 * which drains it. It is made on the first call that lists it, closed by the
 * drive call after which no op runs (made again, maybe with another number,
 * later) and at free: as for sockets, take the list anew before each wait.
 * If no eventfd can be made (EMFILE...), none is listed and *timeout_ms is
 * capped at 100 ms instead (logged once, XSSH_LOG_WARNING).
 * @param multi the multi
 * @param[out] fds room for @p cap entries (may be NULL when cap is 0)
 * @param cap capacity of @p fds
 * @param[out] n how many descriptors to watch (sockets + the wake-up one)
 * @param[out] timeout_ms ms until the next timer (may be NULL)
 * @return XSSH_OK; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_fds(xssh_multi *multi, xssh_multi_pollfd *fds, size_t cap, size_t *n, long *timeout_ms);

/**
 * When the next timer is due (pull form).
 * @param multi the multi
 * @param[out] timeout_ms ms until the next timer (-1: none; 0: perform now)
 * @return XSSH_OK; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_timeout(xssh_multi *multi, long *timeout_ms);

/* ---- operations ------------------------------------------------------------ */

/**
 * Take a reference.
 * @param op the op (NULL-safe)
 * @return @p op
 */
XSSH_EXTERN(xssh_multi_op *) xssh_multi_op_ref(xssh_multi_op *op);
/**
 * Drop a reference. Dropping the caller's reference does not cancel the op (the
 * multi keeps its own until done and reported).
 * @param op the op (NULL-safe)
 */
XSSH_EXTERN(void) xssh_multi_op_unref(xssh_multi_op *op);

/**
 * State of an op.
 * @param op the op
 * @return an xssh_op_state; XSSH_EARG when @p op is NULL
 */
XSSH_EXTERN(int) xssh_multi_op_state(xssh_multi_op *op);

/**
 * The result of a done op (*out points into the op: valid while the caller
 * holds a reference). XSSH_EBAD_USE while not done.
 * @param op the op
 * @param[out] out the result (borrowed)
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE
 */
XSSH_EXTERN(int) xssh_multi_op_result(xssh_multi_op *op, const xssh_multi_result **out);

/**
 * The session of a done connect op.
 * @param op the op
 * @param[out] out the session (+1 reference)
 * @return XSSH_OK; XSSH_EBAD_USE when none (not done, not a connect op, or it failed); XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_op_session(xssh_multi_op *op, xssh_session **out);

/**
 * The channel of a done channel-open op.
 * @param op the op
 * @param[out] out the channel (+1 reference)
 * @return XSSH_OK; XSSH_EBAD_USE when none; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_op_channel(xssh_multi_op *op, xssh_channel **out);

/**
 * The userdata given in the op's options.
 * @param op the op (NULL: NULL)
 * @return xssh_multi_op_opts.userdata
 */
XSSH_EXTERN(void *) xssh_multi_op_userdata(xssh_multi_op *op);

/**
 * Cancel @p op: a queued op is done at once, a running one at its next wait
 * (the blocking call it is in returns XSSH_ECANCELLED: a command's channel is
 * closed, a transfer's temporary file removed; a session it was given stays
 * usable). Done ops: no effect. Allowed from the op's own callbacks.
 * @param op the op
 * @return XSSH_OK; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_op_cancel(xssh_multi_op *op);

/* ---- pull-mode output (xssh_multi_op_opts.pull_output) ---------------------- */

/**
 * Take the output of @p stream a pull_output run op holds now (all of it: the
 * op's buffer for that stream is emptied, which lets a throttled op read on).
 * Callable in any state, also after done (what is left), from the driving
 * thread, outside callbacks of the same multi.
 * @param op a run op added with xssh_multi_op_opts.pull_output
 * @param stream XSSH_STREAM_STDOUT or XSSH_STREAM_STDERR
 * @param[out] out the bytes (allocated, free with xssh_free(); NULL when *len is 0)
 * @param[out] len how many (0: nothing now; with the op done: the stream has ended)
 * @return XSSH_OK; XSSH_EARG (NULL, bad stream); XSSH_EBAD_USE (not a pull_output run op);
 *         XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_multi_op_take_output(xssh_multi_op *op, int stream, char **out, size_t *len);

/**
 * Bytes a pull_output run op holds, ready to take (with line_mode: in whole
 * lines / pieces), per stream. An adapter drives the multi until the op is done
 * or this says something is ready.
 * @param op the op
 * @param[out] out_bytes stdout bytes ready (may be NULL)
 * @param[out] err_bytes stderr bytes ready (may be NULL)
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE (not a pull_output run op)
 */
XSSH_EXTERN(int) xssh_multi_op_output_pending(xssh_multi_op *op, size_t *out_bytes, size_t *err_bytes);

/* ---- SFTP subsystem and directory listing ------------------------------------------ */

/**
 * Start the SFTP subsystem on @p session (as xssh_sftp_new(): a channel, the
 * "sftp" subsystem request, SSH_FXP_INIT/VERSION) without blocking the thread;
 * the SFTP object: xssh_multi_op_sftp(). Phase XSSH_PHASE_CHANNEL.
 * @param session the session (referenced until done)
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED
 */
XSSH_EXTERN(int) xssh_multi_add_sftp_open(xssh_multi *multi, xssh_session *session,
                                          const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * The SFTP object of a done, successful sftp_open op.
 * @param op the op
 * @param[out] out the SFTP object (+1 reference)
 * @return XSSH_OK; XSSH_EBAD_USE when none (not done, not an sftp_open op, or it failed); XSSH_EARG
 */
XSSH_EXTERN(int) xssh_multi_op_sftp(xssh_multi_op *op, xssh_sftp **out);

/** One entry of a listed directory (SSH_FXP_NAME, SFTP draft-02 section 7). */
typedef struct xssh_sftp_dirent {
    const char *name;      /**< file name (NUL-terminated; bytes as the server sent them) */
    size_t name_len;       /**< bytes of name */
    const char *longentry; /**< the server's `ls -l` style line ("" when none) */
    xssh_sftp_attrs attrs; /**< its attributes (attrs.flags says which are set) */
} xssh_sftp_dirent;

/**
 * List a remote directory (as xssh_sftp_opendir() + xssh_sftp_file_readdir()
 * until the end + close): every entry except "." and "..", in the server's
 * order; the entries: xssh_multi_op_entries(). Phase XSSH_PHASE_TRANSFER;
 * errors as xssh_sftp_opendir()/readdir (XSSH_ESFTP with the SFTP status).
 * @param sftp the SFTP subsystem (referenced until done)
 * @param path the directory
 * @param multi the multi
 * @param opts options of the op (timeout_ms; NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument); XSSH_ENOMEM; XSSH_ECLOSED
 */
XSSH_EXTERN(int) xssh_multi_add_sftp_listdir(xssh_multi *multi, xssh_sftp *sftp, const char *path,
                                             const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * The entries of a done, successful listdir op (owned by the op: valid while
 * the caller holds a reference).
 * @param op the op
 * @param[out] entries the array (borrowed; NULL when *count is 0)
 * @param[out] count how many
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE (not done, not a listdir op, or it failed)
 */
XSSH_EXTERN(int) xssh_multi_op_entries(xssh_multi_op *op, const xssh_sftp_dirent **entries, size_t *count);

/* ---- local port forwarding ------------------------------------------------------ */

/**
 * A local forward as an operation (`ssh -L bind_host:bind_port:host:port`):
 * listens on a local TCP port (bound at once, before this returns:
 * xssh_multi_op_forward_port()) and carries each accepted connection through
 * its own direct-tcpip channel (RFC 4254 section 7.2;
 * libssh2_channel_direct_tcpip_ex(), originator = the connection's peer) to
 * @p host:@p port as seen from the server, both ways, EOF passed on each way,
 * all on the multi's thread (no threads). Connections run concurrently with
 * each other and with other ops on the same session (a forward op does not
 * hold its session exclusively). One connection failing (channel refused,
 * reset) closes that connection only and is counted in
 * xssh_multi_op_forward_stats(). The op runs until cancelled
 * (xssh_multi_op_cancel(): the listener is closed, open connections are closed
 * and their channels closed within a 3 s grace; result XSSH_ECANCELLED)
 * or the session fails (that error). result.bytes: bytes carried both ways.
 * @param session the session (referenced until done)
 * @param bind_host local address to listen on (NULL: "127.0.0.1")
 * @param bind_port local port (0: any free port)
 * @param host destination host as the server resolves it
 * @param port destination TCP port (1..65535)
 * @param multi the multi
 * @param opts options of the op (NULL: the defaults); copied
 * @param[out] out the new op (+1 reference; NULL when not wanted); NULL on failure
 * @return XSSH_OK; XSSH_EARG (NULL argument, bad port); XSSH_ENOMEM; XSSH_ECLOSED;
 *         XSSH_ECONNECT (the local port cannot be bound: the message names address and cause)
 */
XSSH_EXTERN(int) xssh_multi_add_forward_local(xssh_multi *multi, xssh_session *session, const char *bind_host,
                                              int bind_port, const char *host, int port,
                                              const xssh_multi_op_opts *opts, xssh_multi_op **out);

/**
 * The local port a forward op listens on (known from the add on).
 * @param op a forward op
 * @param[out] port the bound port
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE (not a forward op)
 */
XSSH_EXTERN(int) xssh_multi_op_forward_port(xssh_multi_op *op, int *port);

/**
 * Counters of a forward op (any state).
 * @param op a forward op
 * @param[out] out accepted / active / failed connections, bytes out / in (tunnel.h)
 * @return XSSH_OK; XSSH_EARG; XSSH_EBAD_USE (not a forward op)
 */
XSSH_EXTERN(int) xssh_multi_op_forward_stats(xssh_multi_op *op, xssh_forward_stats *out);

XSSH_END_DECL

/** @} */
#endif /* XSSH_MULTI_H */
