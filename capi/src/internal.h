/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal object model shared by every capi/src file. Not installed.
 *
 * Locking: one recursive mutex per session (s->lock) serialises every libssh2
 * call on the session and its children. libssh2 itself always runs in
 * non-blocking mode; blocking behaviour is implemented here (xssh__op_again):
 * on EAGAIN the lock is released while polling the socket, so other threads can
 * use other channels of the same session meanwhile.
 *
 * Freeing never does network I/O: a child whose libssh2 object still needs a
 * close message is "orphaned" onto the session (s->orphans, its own small lock)
 * and closed at the start of the next call that holds the session lock; the
 * session's final free disables socket I/O (our send/recv callbacks) before
 * libssh2_session_free, which then frees whatever is left without writing.
 */
#ifndef XSSH_INTERNAL_H
#define XSSH_INTERNAL_H

#include <libssh2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>

#include "xssh.h"
#include "xssh_config.h"

/* ---- reference counts ---------------------------------------------------- */

typedef struct xssh__refcount {
    atomic_int n;
} xssh__refcount;

static inline void xssh__ref_init(xssh__refcount *r) { atomic_init(&r->n, 1); }
static inline void xssh__ref_inc(xssh__refcount *r) { atomic_fetch_add_explicit(&r->n, 1, memory_order_relaxed); }
/* true when this was the last reference */
static inline int xssh__ref_dec(xssh__refcount *r)
{
    return atomic_fetch_sub_explicit(&r->n, 1, memory_order_acq_rel) == 1;
}

/* ---- orphaned libssh2 objects (closed lazily, under the session lock) ---- */

typedef enum xssh__orphan_kind {
    XSSH__ORPHAN_CHANNEL = 1,
    XSSH__ORPHAN_SFTP_HANDLE,
    XSSH__ORPHAN_SFTP,
    XSSH__ORPHAN_LISTENER,
    XSSH__ORPHAN_FN          /* any other object: closed by the orphan's fn */
} xssh__orphan_kind;

typedef struct xssh__orphan {
    struct xssh__orphan *next;
    xssh__orphan_kind kind;
    void *ptr;
    int (*fn)(void *ptr);   /* XSSH__ORPHAN_FN: close/free ptr; LIBSSH2_ERROR_EAGAIN to be retried */
} xssh__orphan;

/* ---- the session ----------------------------------------------------------- */

typedef enum xssh__state {
    XSSH__STATE_NEW = 0,   /* no handshake yet */
    XSSH__STATE_READY,     /* handshake done */
    XSSH__STATE_CLOSED     /* disconnected/closed (or failed handshake) */
} xssh__state;

struct xssh_session {
    xssh__refcount refs;
    pthread_mutex_t lock;        /* recursive; serialises libssh2 calls */
    LIBSSH2_SESSION *ssh;
    int fd;                      /* -1 until connected */
    int owns_fd;                 /* connect() opened it */
    int fd_flags;                /* the caller's fcntl flags, restored by close/disconnect */
    _Atomic int state;           /* xssh__state */
    _Atomic int io_disabled;     /* send/recv callbacks fail (final free) */
    int blocking;                /* user's mode */
    long timeout_ms;             /* 0: none */
    char *host;                  /* as given to connect(), for verify_host and messages */
    int port;
    /* last detailed error of this session */
    pthread_mutex_t err_lock;
    char *last_error;
    /* orphans */
    pthread_mutex_t orphan_lock;
    xssh__orphan *orphans;
    /* waking other waiters when one thread consumed socket input */
    int wake_pipe[2];
    atomic_int waiters;
    atomic_ulong rx_count;       /* bumped by the recv callback */
    int lock_depth;              /* recursion depth of s->lock (owner only) */
    /* libssh2 keeps one channel-open state machine per session: blocking opens
       hold open_lock across their waits so two threads never share it */
    pthread_mutex_t open_lock;
    /* ProxyJump: what carries this session's bytes (released at the final unref,
       after the socket is closed) */
    void *via;
    void (*via_release)(void *via);
    unsigned long rx_at_lock;    /* rx_count when the lock was taken */
    char *userauth_list_prev;    /* libssh2 < 1.11: the last list libssh2 returned (it leaks it; auth.c frees it) */
    /* the one channel request awaiting its reply (exec / pty / setenv ...): libssh2
       fails a waiter that reads another channel's reply, so such requests never
       overlap (xssh__request_begin, channel.c) */
    _Atomic(void *) request_owner;
    /* the first transport failure, recorded by the socket callbacks (errors.c
       turns it into the cause named by later messages): io_fail_errno is -1 for
       end of stream, else the errno; io_fail_dir 1 send, 2 recv; 0 until then */
    _Atomic int io_fail_errno;
    _Atomic int io_fail_dir;
    /* ProxyJump: the carrier stopped carrying this session's bytes because its hop
       failed (timed out, lost). The carrier records that here before it closes its
       end of the socket pair (xssh__note_carrier_failure), as the first transport
       failure (io_fail_errno XSSH__IO_FAIL_CARRIER): whichever side notices first,
       this session's errors name the hop's cause, not the end of stream it led to */
    _Atomic int carrier_code;
    char carrier_msg[400];
    /* the server's SSH_MSG_DISCONNECT, if one came (LIBSSH2_CALLBACK_DISCONNECT) */
    _Atomic int peer_disconnect_reason; /* 0: none */
    char peer_disconnect_msg[200];
    /* the first transport-level failure message of this session (err_lock) */
    char *first_transport_error;
    /* monotonic ms of the last bytes received (cb_recv): quiet waits probe the
       peer after a session timeout of silence (xssh__live_again, channel.c) */
    _Atomic int64_t last_rx_ms;
    /* lines before the server's identification (RFC 4253 4.2), skipped by cb_recv
       until the "SSH-" line starts; ident_error says why the handshake was refused */
    int ident_done;              /* the "SSH-" line has started: bytes pass through */
    int pre_discard;             /* inside a line being skipped */
    unsigned char pre_buf[4];    /* start of the current line, not yet given to libssh2 */
    int pre_len, pre_off;
    unsigned pre_lines;          /* lines skipped so far */
    size_t pre_line_len;         /* length of the line being skipped (CR, LF not counted) */
    int pre_cr;                  /* the skipped line's last byte was a CR */
    const char *ident_error;     /* static text, set when cb_recv refused the preamble */
    /* ServerAliveInterval / ServerAliveCountMax (xssh_connect): the dead-peer rule
       of xssh__liveness_check uses these instead of timeout_ms when interval > 0
       (connect_internal.h) */
    long alive_interval_ms;
    int alive_count_max;
    /* the name log records carry (xssh_connect: the name the caller gave; else host) */
    char *log_host;
    /* threads waiting in xssh__op_again, each with its own eventfd: a thread that
       consumed socket input wakes every one of them (a shared pipe let one waiter
       drain the byte meant for another, which then slept with its data queued) */
    pthread_mutex_t waiter_lock;
    struct xssh__waiter *waiter_list;
    /* the multi operation (fiber) of this thread holding s->lock, NULL when a
       plain thread holds it (xssh__lock: fibers of one thread share the
       recursive mutex, so this tells them apart) */
    void *lock_fiber;
    /* open_lock / the request slot held by a multi operation across a wait: the
       holding thread's xssh__thread_tag(), 0 when no operation holds it. A call
       outside the operations of that thread fails at once (xssh__op_begin) instead
       of waiting for a holder that cannot run until it returns. */
    _Atomic uintptr_t open_fiber_tag;
    _Atomic uintptr_t request_fiber_tag;
};

/* Limits on what may precede the server's identification (as OpenSSH's ssh:
   1023 lines of at most 8192 bytes besides CR LF, no NUL, no lone CR) and on the identification line itself
   (RFC 4253 4.2: 255 bytes with CR LF; libssh2 1.10 keeps 256). */
#define XSSH__PRE_IDENT_MAX_LINES 1024
#define XSSH__PRE_IDENT_MAX_LINE 8192
#define XSSH__IDENT_MAX 255

/* ---- errors -------------------------------------------------------------- */

/* The last error of a thread, or of a multi operation (multi.c installs each
   operation's own while it runs: xssh__errstate_swap returns the one it replaces;
   NULL installs the thread's own). */
#define XSSH__MSG_CAP 4096 /* xssh_connect lists every authentication attempt */
typedef struct xssh__errstate {
    xssh_error err;
    char msg[XSSH__MSG_CAP];
} xssh__errstate;
xssh__errstate *xssh__errstate_swap(xssh__errstate *e);

/* Set the thread-local last error (and the session's copy when s != NULL).
   Returns code, so callers can `return xssh__fail(...)`. */
int xssh__fail(xssh_session *s, int code, int libssh2_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int xssh__vfail(xssh_session *s, int code, int libssh2_code, int sftp_status, const char *fmt, va_list ap);
/* Like xssh__fail for a libssh2 failure: maps rc and appends libssh2's own message. */
int xssh__fail_ssh(xssh_session *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The first cause of a dead transport: writes a sentence into buf ("the server
   closed the connection (end of stream)", "the server disconnected: ...") and
   returns its code (XSSH_ESOCKET_*), or 0 when the socket has not failed. */
int xssh__transport_cause(xssh_session *s, char *buf, size_t n);
/* A failed handshake (rc from libssh2 or op_again): names the phase
   (identification or key exchange) and the cause. Lock held. */
int xssh__fail_handshake(xssh_session *s, int rc, const char *who, long timeout_ms);
/* Socket callbacks: record the first send/recv failure (err: -1 end of stream). */
void xssh__note_io_failure(xssh_session *s, int dir, int err);
/* io_fail_errno when the ProxyJump carrier's hop failed first */
#define XSSH__IO_FAIL_CARRIER (-2)
/* The ProxyJump carrier of s can no longer carry it: code (XSSH_ETIMEOUT, an
   XSSH_ESOCKET_*) and msg say why; kept only if s had no transport failure yet.
   Called by the carrier thread before s sees its end of stream. */
void xssh__note_carrier_failure(xssh_session *s, int code, const char *msg);
/* The rule of xssh_multi_op_opts.caller (multi.h), the one place it is written:
   msg named by caller, what the user called. A message that starts with a C
   function's name and a ':' ("xssh_" then [A-Za-z0-9_]+, as "xssh_multi_add_run:
   the session is closed") gets that name replaced by caller; one that is caller or
   starts with caller and a ':' is left as it is (never doubled); an empty (or NULL)
   one becomes caller; any other gets "caller: " in front. caller NULL or "": msg
   as it is. Writes the result into out (cap bytes, NUL-terminated when cap > 0; a
   text too long is cut at a UTF-8 character boundary) and returns its full length
   (as snprintf: a buffer of the return value + 1 holds all of it). */
size_t xssh__caller_name(char *out, size_t cap, const char *caller, const char *msg);
/* An add that failed (rc != XSSH_OK) with caller set (not NULL, not ""): the last
   error's message named by caller (xssh__caller_name, cut to XSSH__MSG_CAP); its
   code, libssh2_code and sftp_status are kept, the session's copy is not
   changed. Returns rc. */
int xssh__err_named(const char *caller, int rc);
/* LIBSSH2_CALLBACK_DISCONNECT: keeps the server's reason and description. */
void xssh__on_disconnect(LIBSSH2_SESSION *ssh, int reason, const char *msg, int msg_len, const char *lang,
                         int lang_len, void **abstract);
/* Mark success on the calling thread. Returns XSSH_OK. */
int xssh__ok(void);
/* Argument check: `if (!(cond)) return xssh__fail(s, XSSH_EARG, ...)` */
#define XSSH__ARG(s, cond, what)                                                          \
    do {                                                                                  \
        if (!(cond))                                                                      \
            return xssh__fail((s), XSSH_EARG, 0, "%s: invalid argument: %s", __func__, (what)); \
    } while (0)

/* XSSH_EBAD_USE for an authentication call on an authenticated session (auth.c) */
int xssh__fail_authenticated(xssh_session *s, const char *fn);

/* ---- library init -------------------------------------------------------- */

int xssh__global_init(void); /* libssh2_init once (pthread_once) */

/* ---- operations on a session (lock + blocking loop) ---------------------- */

typedef struct xssh__op {
    xssh_session *s;
    int64_t deadline_ms;   /* monotonic ms; 0: none */
    int blocking;
    const _Atomic int *closed; /* the child's closed flag, or NULL */
    /* finish: a libssh2 call whose wait is interrupted (multi cancel / phase
       limit) is repeated until it completes (within the multi's grace) and then
       fails with `intr`, since libssh2 keeps the state of a half-done request
       (SFTP) for the next call of its kind; abandoned: a call was left half-done
       (the deadline passed, or the grace ran out) */
    int finish;
    int intr;
    int abandoned;
} xssh__op;

int64_t xssh__now_ms(void);
/* Per-thread override of the session's blocking mode for ops started on this
   thread: 0 follow the session, 1 non-blocking (forwarder threads drive their
   objects themselves), 2 blocking (a forwarder's channel opens). */
extern _Thread_local int xssh__tls_nonblocking;

/* Lock the session, check it is usable (need_ready: handshake done), process
   orphans. On failure the lock is not held and the error is recorded.
   Outside a multi operation (the thread's own stack, or a multi's callback), a
   session a suspended operation of this thread holds (its lock with a half-sent
   packet, open_lock, the request slot) fails with XSSH_EBAD_USE naming fn: the
   holder cannot run again before this call returns. xssh__op_begin names the
   calling function. */
int xssh__op_begin_at(xssh__op *op, xssh_session *s, int need_ready, const _Atomic int *child_closed,
                      const char *fn);
#define xssh__op_begin(op, s, need_ready, child_closed) \
    xssh__op_begin_at((op), (s), (need_ready), (child_closed), __func__)
/* XSSH_EBAD_USE (recorded) for a call (fn) outside the multi operations of this
   thread on an object (`object`: "session", "SFTP object") one of them holds
   across a wait (`cause`). */
int xssh__fail_in_use(xssh_session *s, const char *fn, const char *object, const char *cause);
/* open_lock was just taken / is released (unlock + wake): keeps open_fiber_tag. */
void xssh__open_lock_taken(xssh_session *s);
void xssh__open_lock_release(xssh_session *s);
/* After a libssh2 call returned rc: if rc is EAGAIN and the op is blocking,
   wait for the socket (lock released meanwhile) and return 1 to retry. Returns 0
   otherwise; *rc is replaced by XSSH_ETIMEOUT / XSSH_ECLOSED when the wait
   ran out or the object was closed meanwhile. */
int xssh__op_again(xssh__op *op, int *rc);
/* Wake every thread waiting in xssh__op_again on s (each has its own eventfd:
   a thread that consumed input they may need, or a close). */
void xssh__wake_threads(xssh_session *s);
/* Unlock (draining nothing else). */
void xssh__op_end(xssh__op *op);

/* Around a channel-creating libssh2 call made by a blocking op: serialise the
   session's open state machine between threads (no-op for non-blocking ops). */
void xssh__open_begin(xssh_session *s, const xssh__op *op);
void xssh__open_end(xssh_session *s, const xssh__op *op);

/* Lock/unlock the session without state checks (for local-only work). */
void xssh__lock(xssh_session *s);
void xssh__unlock(xssh_session *s);

/* Queue a libssh2 object for a lazy close/free under the session lock.
   Never blocks on I/O. */
void xssh__session_orphan(xssh_session *s, xssh__orphan_kind kind, void *ptr);
/* The same for any object: fn(ptr) is called under the session lock (non-blocking
   libssh2) until it returns something other than LIBSSH2_ERROR_EAGAIN. If the
   session is freed first, fn is never called (libssh2_session_free releases the
   channels underneath). */
void xssh__session_orphan_fn(xssh_session *s, int (*fn)(void *ptr), void *ptr);

/* Append n bytes to a growable NUL-terminated buffer (*p, *len, *cap; doubling from
   `first` bytes). 0, or -1 when out of memory (the buffer is unchanged). run.c. */
int xssh__buf_append(char **p, size_t *len, size_t *cap, const void *d, size_t n, size_t first);

/* ---- concurrency inside one thread (multi.c) ------------------------------- */

/* The one wait of the library. Every place in capi/src that waits for a socket
   or a timer (except tunnel.c's forwarder threads) goes through xssh__wait.
   Outside a multi operation it poll(2)s fd for events (XSSH__WAIT_IN/OUT; fd < 0:
   a sleep) and wake_fd (>= 0: readable counts as woken; one byte is drained)
   until deadline_ms (monotonic ms; 0: none). Inside a multi operation (a fiber)
   it records (fd, events, deadline, key) and switches to the multi's scheduler,
   which resumes it when fd is ready, the deadline passes, xssh__wake(key) is
   called (key may be NULL), or the operation is cancelled or its own phase
   limit (connect/auth timeout) passes.
   Returns 1 (ready or woken: look again), 0 (deadline_ms passed),
   XSSH_ETIMEOUT (the operation's phase limit passed), XSSH_ECANCELLED (the
   operation is cancelled; flags XSSH__WAIT_LOCK: never, the caller retries).
   Cancel and phase limit are one-shot: only the first wait they reach fails;
   the waits of the interrupted call's cleanup go on for XSSH__CANCEL_GRACE_MS,
   after which every wait fails again (a dead peer still ends promptly).
   flags: XSSH__WAIT_LOCK (waiting for a lock another operation holds: not
   cut short by cancellation, since the holder must get to run and release it),
   XSSH__WAIT_NOCANCEL (a wait that must complete: a half-sent packet). */
/* A cancelled or timed-out multi operation: how long the cleanup of the
   interrupted call may still wait (ms, from the first interrupted wait). */
#define XSSH__CANCEL_GRACE_MS 3000
#define XSSH__WAIT_IN 1
#define XSSH__WAIT_OUT 2
#define XSSH__WAIT_LOCK 1
#define XSSH__WAIT_NOCANCEL 2
int xssh__wait(int fd, int events, int wake_fd, const void *key, int64_t deadline_ms, int flags);
static inline int xssh__wait_fd(int fd, int events, int64_t deadline_ms)
{
    return xssh__wait(fd, events, -1, NULL, deadline_ms, 0);
}
/* Timer-only wait (a sleep until deadline_ms, or until xssh__wake(key) inside
   a multi operation); returns as xssh__wait. */
static inline int xssh__sleep_until(const void *key, int64_t deadline_ms, int flags)
{
    return xssh__wait(-1, 0, -1, key, deadline_ms, flags);
}
/* Make every operation that waits on key runnable, in every multi this thread
   drives (its registry: a multi joins it at each drive call, leaves it when
   freed), not only in the one being driven: input of a session consumed, or a
   lock released, by any code of the thread (an op of another multi, a plain
   blocking call) wakes them all. No-op when none; a thread that drives no
   multi pays a thread-local read. A multi woken from outside its own drive that
   has a timer callback (an external loop) is told timer 0 by
   xssh__kicks_deliver at the thread's next top level. */
void xssh__wake(const void *key);
/* Tell the external loops of the multis woken from outside their drives to come
   back now (timer callback 0). Does nothing unless the thread is at its top
   level: no drive call (or multi free) in progress, not on an operation's
   stack, no session lock or SFTP request lock held by plain code
   (xssh__tls_plain_locks: xssh__lock/unlock, xssh__sftp_begin_at/end), not
   inside a plain blocking wait (xssh__tls_kicks_held: xssh__op_again). Called
   at the end of each drive call, by xssh__unlock and by xssh__sftp_end; user
   callbacks then run on the thread's own stack, as a drive's own callbacks do. */
void xssh__kicks_deliver(void);
extern _Thread_local int xssh__tls_plain_locks;
extern _Thread_local int xssh__tls_kicks_held;
/* The multi operation running on this thread (opaque), or NULL. */
void *xssh__fiber_self(void);
/* A nonzero value unique to the calling thread (while it lives). */
uintptr_t xssh__thread_tag(void);
/* The tag a lock held across waits records: this thread's when a multi
   operation takes it, 0 otherwise. */
static inline uintptr_t xssh__holder_tag(void) { return xssh__fiber_self() ? xssh__thread_tag() : 0; }
/* Whether the running multi operation (if any) is cancelled. */
int xssh__fiber_cancelled(void);
/* For a loop that may never wait (its socket always ready): XSSH_ECANCELLED /
   XSSH_ETIMEOUT when the running multi operation's cancel or phase limit is due
   now (delivered as xssh__wait would: one-shot, then the grace), else 0. */
int xssh__fiber_interrupt(void);
/* Fairness of a loop that may go on without ever waiting (its socket stays
   ready: a bulk SFTP transfer, a busy forward direction): inside a multi
   operation, a loop that made progress calls xssh__fiber_slice_over(work) with
   the work of its last step (bytes moved; 0 if it counts none); 1 means the
   operation has used its slice (XSSH__SLICE_MS of wall time, or XSSH__SLICE_WORK
   counted, since the scheduler last resumed it), and the loop then releases
   what others of the thread may need (the session lock: xssh__op_end) and calls
   xssh__fiber_yield(), which switches to the scheduler: the op stays runnable
   but is resumed only by the multi's next drive call (perform, wait,
   socket_action: an external loop is told timer 0), after the other sockets
   were looked at. Outside a multi operation slice_over is 0 at the cost of a
   thread-local read, and yield does nothing. xssh__op_begin is such a point
   (work 0) for every loop of library calls: it gives way there when the
   session lock is not held already by the caller. */
#define XSSH__SLICE_MS 20
#define XSSH__SLICE_WORK (4u << 20)
int xssh__fiber_slice_over(uint64_t work);
void xssh__fiber_yield(void);
/* Test hook, NULL in use (set only by the internal test test_wake_internal):
   called by xssh_session_run / _run_stream after each libssh2_channel_read_ex
   of stream 0 (stdout) or 1 (stderr) with its result (bytes, 0 at EOF, or a
   LIBSSH2_ERROR_*), the session lock held. It lets a test make input arrive
   between the two reads of one round, which no outside timing can force. */
extern void (*xssh__run_read_hook)(xssh_session *s, int stream, long n);
/* A socket the library opened is about to be closed: a multi on this thread
   that reported it to an external loop forgets it (so a new socket with the same
   number is reported afresh). */
void xssh__fd_closing(int fd);
/* Where the running multi operation is (an xssh_phase); no-op outside one.
   Arms the operation's connect / auth timeouts. */
void xssh__phase(int phase);
/* A plain (non-recursive) mutex that may be held across waits (SFTP oplock,
   open_lock): inside a multi operation, waits (xssh__wait, XSSH__WAIT_LOCK) while
   another operation of this thread holds it, instead of blocking the thread. */
void xssh__mutex_lock(pthread_mutex_t *m);
void xssh__mutex_unlock(pthread_mutex_t *m);
/* getaddrinfo(3) that never stalls a multi: outside an operation it is
   getaddrinfo; inside one a numeric address is converted at once and a name is
   looked up on a resolver thread while the operation waits (cancellable). */
struct addrinfo;
int xssh__getaddrinfo(const char *host, const char *service, const struct addrinfo *hints, struct addrinfo **res);
/* A non-blocking listening TCP socket on host:port (port 0: any free one;
   SO_REUSEADDR, backlog 128): the fd, or -1 with *err = errno of the last try
   or *gai = getaddrinfo's code (tunnel.c; the forward servers and the forward op). */
int xssh__tcp_listen(const char *host, int port, int *err, int *gai);
/* Per-thread state the library keeps across a wait; multi.c saves/restores
   it per operation (each operation sees its own). */
extern _Thread_local int xssh__tls_sftp_force_blocking; /* sftp.c */
extern _Thread_local void *xssh__tls_auth_kbd;          /* auth.c (kbd_ctx *) */
extern _Thread_local void *xssh__tls_connect_kbd;       /* connect.c (kbd_state *) */

/* Run task(ctx, i) for every i in [0, count), at most `width` at once (0: all),
   each on its own operation stack under the multi interface: called inside a
   multi operation, the tasks are child operations of that multi and the caller
   is suspended until all are done; called outside, a private multi is driven
   by this thread until they are done. Tasks may share one session (the session
   lock is fiber-aware). When a task fails, the tasks not started yet are not
   started and the running ones are cancelled (their waits return
   XSSH_ECANCELLED). Returns XSSH_OK, or the failure of the lowest-index task that
   failed (not counting tasks cancelled because of it), its message installed as
   the caller's last error (each task has its own last error while it runs).
   Call it holding no session lock, SFTP oplock or open_lock: the tasks take
   them, and would wait for the caller forever. A task runs on a stack of the
   multi's size (256 KiB by default): no large local buffers. */
int xssh__parallel(size_t count, int width, int (*task)(void *ctx, size_t i), void *ctx);

/* Tasks started one at a time while the running multi operation goes on (the
   local forward op's connections, multi_forward.c): each runs fn(arg) on its own
   stack as an internal child operation of that multi (not counted by
   max_running, never reported). xssh__tasks_new: inside a multi operation only
   (NULL outside one, or out of memory). xssh__tasks_add: the task is runnable at
   once (XSSH_OK; XSSH_ENOMEM; XSSH_ECANCELLED after xssh__tasks_cancel).
   A task's return value is ignored unless it fails uncancelled: then every other
   task of the group is cancelled (as xssh__parallel), so a task that wants to
   fail alone returns XSSH_OK. xssh__tasks_cancel: cancel the running tasks (their
   waits return XSSH_ECANCELLED, then the grace) and refuse new ones.
   xssh__tasks_wait_free: wait (not cut short by a cancel of the caller) until no
   task of the group runs, then free it (NULL-safe). */
typedef struct pgroup xssh__tasks;
xssh__tasks *xssh__tasks_new(void);
int xssh__tasks_add(xssh__tasks *g, int (*fn)(void *arg), void *arg);
void xssh__tasks_cancel(xssh__tasks *g);
void xssh__tasks_wait_free(xssh__tasks *g);

/* ---- the local forward op (multi_forward.c; hooks in multi.c) ------------------ */

struct xssh__fwd;
/* multi.c: queue a K_FORWARD op holding fwd (freed with the op; on failure the
   caller still owns fwd); add-time errors as the other session ops */
int xssh__multi_add_forward(xssh_multi *m, xssh_session *s, struct xssh__fwd *fwd, const xssh_multi_op_opts *opts,
                            xssh_multi_op **out);
/* multi.c: the forward state of a forward op, else NULL */
struct xssh__fwd *xssh__multi_op_fwd(xssh_multi_op *op);
/* multi_forward.c: the op's body (on its stack); returns its error */
int xssh__fwd_run(struct xssh__fwd *f);
/* multi_forward.c: the op is done (any way): close the listener if still open;
   returns the bytes carried both ways */
uint64_t xssh__fwd_end(struct xssh__fwd *f);
/* multi_forward.c: free (NULL-safe) */
void xssh__fwd_free(struct xssh__fwd *f);

/* ---- threads and process exit (exitguard.c, tunnel.c) --------------------- */

/* Set by the exit guard (an atexit handler that runs before OpenSSL's cleanup):
   every session is closed, every pump joined, libssh2 is no longer called. */
extern _Atomic int xssh__exiting;
/* xssh_session_new: register s (installs the guard once). XSSH_ECLOSED when the
   process is exiting, XSSH_ENOMEM. */
int xssh__live_session_add(xssh_session *s);
/* Final unref: unregister s. Returns 1 when libssh2 may free it (then call
   xssh__session_free_end(1) after libssh2_session_free), 0 after the guard ran
   (skip libssh2: OpenSSL is being torn down; the process is ending). */
int xssh__session_free_begin(xssh_session *s);
void xssh__session_free_end(int began);
/* close/disconnect: stop and join every forward of s, and release the
   ProxyJump carrier of s (which releases its hop chain). Lock not held. */
void xssh__session_stop_threads(xssh_session *s);
/* the exit guard: stop and join every pump, bounded (CLOCK_REALTIME); -1 when
   the deadline passed with one still running */
struct timespec;
int xssh__forwards_reap_all(const struct timespec *deadline);
/* pthread_atfork for the pump registry: 0 prepare (lock), 1 parent (unlock),
   2 child (forget every pump: the child has no such thread; unlock) */
void xssh__forwards_atfork(int phase);

/* ---- small helpers ------------------------------------------------------- */

char *xssh__strdup(const char *s);
void *xssh__memdup(const void *p, size_t n);
/* securely wipe and free a secret */
void xssh__free_secret(char *p);
size_t xssh__base64_encode(const unsigned char *in, size_t len, char *out, int pad);
/* decodes into out (>= len*3/4 bytes); (size_t)-1 on a bad character */
size_t xssh__base64_decode(const char *in, size_t len, unsigned char *out);

/* ---- sizes at the libssh2 edge ------------------------------------------------
   One rule for every length handed to libssh2 1.10 or to a protocol field:
   - a buffer a call fills or drains is clamped to XSSH_IO_MAX (a short count
     results; libssh2 keeps lengths in uint32_t / int in places, e.g. its
     channel read window adjustment and its int return values);
   - a channel's receive window never passes XSSH__WINDOW_MAX: the peer holds
     it in a uint32 and (OpenSSH) drops a connection whose window would wrap;
   - a value that cannot be carried at all fails with XSSH_EARG naming the
     argument and the limit. */
#define XSSH__WINDOW_MAX 0xffffffffUL
/* libssh2 1.10 sends each SSH message in one packet and refuses (LIBSSH2_ERROR_INVAL,
   no message) a payload of 35000 - 256 bytes or more (transport.c) */
#define XSSH__SSH_PAYLOAD_MAX (35000 - 0x100 - 1)
static inline size_t xssh__io_clamp(size_t n) { return n < XSSH_IO_MAX ? n : XSSH_IO_MAX; }
/* XSSH_OK when a channel request (SSH_MSG_CHANNEL_REQUEST "request" whose
   type-specific fields take `fields` bytes) fits in one libssh2 packet; else
   records and returns XSSH_EARG, naming fn, the request and the limit. (channel.c) */
int xssh__request_fits(xssh_session *s, const char *fn, const char *request, size_t fields);
/* Largest buffer a libssh2 channel read may be given now (lock held): libssh2
   1.10 then raises the receive window to max(window, initial) + buffer (plus up
   to 2 KiB of queued / minimum adjustments), or leaves it alone when the window
   already exceeds 3/4 of the initial window plus the buffer. At most
   xssh__io_clamp(cap), never 0 for cap > 0. (channel.c) */
size_t xssh__chan_read_clamp(LIBSSH2_CHANNEL *ch, size_t cap);
/* The part of a receive-window adjustment that keeps the window within
   XSSH__WINDOW_MAX (lock held). (channel.c) */
unsigned long xssh__chan_adjust_clamp(LIBSSH2_CHANNEL *ch, unsigned long adjustment);

/* whole-file transfers (sftp_transfer.c, scp.c; transfer.c) */
typedef struct xssh__progress {
    xssh_progress_cb cb;
    void *ud;
    uint64_t total, last, step;
    int started;
} xssh__progress;
/* report about 128 times per file (every 32 KiB to 1 MiB) */
void xssh__progress_init(xssh__progress *p, const xssh_transfer_opts *o, uint64_t total);
/* nonzero: the callback asked to cancel */
int xssh__progress_report(xssh__progress *p, uint64_t done, int force);
/* keep the first failure while clean-up calls overwrite the last error */
typedef struct xssh__saved_err {
    int code, libssh2_code, sftp_status;
    char msg[4096]; /* as errors.c's MSG_CAP */
} xssh__saved_err;
void xssh__err_save(xssh__saved_err *e);
int xssh__err_restore(xssh_session *s, const xssh__saved_err *e);

/* OpenSSH's match.c patterns (config.c; also known_hosts host lists in hostkey.c):
 * '*' any run, '?' one character, case-sensitive; and a comma list of them, each
 * may start with '!': -1 when a negated one matches, 1 when a positive one does,
 * else 0; dolower lower-cases each pattern first (the string must be lower case then). */
int xssh__match_pattern(const char *s, const char *pattern);
int xssh__match_pattern_list(const char *string, const char *list, int dolower);

/* known_hosts helpers shared by hostkey.c and knownhosts.c */
char *xssh__default_known_hosts(void);
int xssh__knownhosts_load(LIBSSH2_KNOWNHOSTS *kh, const char *path, size_t *count_out);
/* Every known_hosts line given to libssh2's collection passes this first (line: len
   bytes, writable, NUL-terminated at len). A CRLF line's CR is dropped (*len
   shortened): libssh2 would keep it in the key. Returns NULL when the line may go
   to libssh2, else why not (a static string): a marker line (@cert-authority,
   @revoked: libssh2 1.10 would keep "@revoked" as a host name), or a hashed host
   field whose salt or hash is not the strict base64 of 20 bytes (OpenSSH's
   HMAC-SHA1 salt and digest, hostfile.c): libssh2 1.10 keeps such a salt or hash
   as it decodes, and base64-encodes an empty one with strlen() when writing the
   entry back (a heap over-read found by tests/fuzz/fuzz_known_hosts_line.c).
   xssh__kh_hashed_part_why checks one part (b64, len characters, not terminated). */
const char *xssh__kh_line_check(char *line, size_t *len);
const char *xssh__kh_hashed_part_why(const char *b64, size_t len, int is_salt);
/* verify_host's check of a host key blob (libssh2 type ktype) against known_hosts
   file `file` under `policy` (session lock held; no I/O on the session, which
   may be unconnected: tests/fuzz/fuzz_known_hosts_file.c calls it directly) */
int xssh__hostkey_check(xssh_session *s, const char *host, int port, xssh_hostkey_policy policy, const char *file,
                        const char *key, size_t klen, int ktype);

/* Is this key text (public key line, PEM or OpenSSH private key) an RSA key?
   (auth.c; for the wording of failures; tests/fuzz/fuzz_pubkey_line.c) */
int xssh__key_text_is_rsa(const char *t, size_t n);

/* libssh2's agent code runs in its own blocking mode (lock held) */
int xssh__agent_blocking_begin(xssh_session *s);
void xssh__agent_blocking_end(xssh_session *s);

/* ---- channels (channel.c; run.c drives them directly) -------------------- */

struct xssh_channel {
    xssh__refcount refs;
    xssh_session *s;          /* +1 reference */
    LIBSSH2_CHANNEL *ch;      /* used under the session lock only */
    _Atomic int closed;       /* xssh_channel_close() succeeded: I/O answers XSSH_ECLOSED */
    int remote_closed;        /* the server's CLOSE was seen (close/wait_closed succeeded) */
    int status_probe;         /* exit-status sentinel installed (exit status "have" is exact) */
};

/* Wrap a freshly opened libssh2 channel (lock held); takes a session ref. */
int xssh__chan_wrap(xssh_session *s, LIBSSH2_CHANNEL *raw, xssh_channel **out);
/* Exit status of c (lock held). */
void xssh__chan_exit_status(xssh_channel *c, int *status, int *have);
/* Exit signal name of c, allocated, or NULL (lock held). */
char *xssh__chan_exit_signal(xssh_channel *c);
/* Channel requests that wait for a reply (exec/shell/subsystem, pty, setenv,
   x11, signal, auth-agent) take the session's request slot first (lock held):
   0 when owner has it; else LIBSSH2_ERROR_EAGAIN (non-blocking op), XSSH_ETIMEOUT
   or XSSH_ECLOSED (blocking: waits with the lock released). The slot is kept
   across an EAGAIN return and released when the request is done or abandoned. */
int xssh__request_begin(xssh__op *op, void *owner);
void xssh__request_end(xssh_session *s, void *owner);

/* Close c and wait for the server's CLOSE of THIS channel (lock held, inside op):
   libssh2 1.10's close returns after the first packet of any channel, so the
   wait goes on with wait_eof + wait_closed (the server's CLOSE sets both flags).
   0 when the CLOSE arrived (c->closed and c->remote_closed set), else an rc for
   op_fail; c->closed is set too when the transport is gone. */
int xssh__chan_close_wait(xssh__op *op, xssh_channel *c);

/* Dead-peer detection for a blocking wait on channel c that may legitimately be
   quiet for long (run's output, the CLOSE after EOF, forward pumps): with a
   session timeout T > 0, after T ms without any input on the session a probe
   that wants a reply is sent on c (an "env" channel request, RFC 4254 6.4: the
   role of OpenSSH's ServerAliveInterval probe), and T more ms without input end
   the wait.
   Zero-initialise one per wait sequence. */
typedef struct xssh__liveness {
    int64_t since;   /* start of the wait sequence (monotonic ms) */
    int64_t sent;    /* when the probe in flight was sent */
    int active;      /* a probe awaits its reply (holds the request slot) */
    int dead;        /* the wait ended because the peer stayed silent */
} xssh__liveness;
/* After a libssh2 call on c returned EAGAIN (lock held): wait for the socket
   until user_deadline (0: none) with the liveness rule above. 1: repeat the
   call; 0: *rc is set (XSSH_ETIMEOUT: the user deadline passed, or lv->dead;
   XSSH_ECLOSED). Call xssh__liveness_end when the wait sequence is over. */
int xssh__live_again(xssh__op *op, xssh_channel *c, xssh__liveness *lv, int64_t user_deadline, int *rc);
/* The same rule for loops that poll by themselves (forward pumps; lock held,
   any blocking mode): drives the probe one step. Returns when to look again
   (monotonic ms), 0 when no session timeout is set, -1 when the peer is dead
   (lv->dead set, the probe's slot released). */
int64_t xssh__liveness_check(xssh__op *op, xssh_channel *c, xssh__liveness *lv);
void xssh__liveness_end(xssh__op *op, xssh__liveness *lv);

#endif /* XSSH_INTERNAL_H */
