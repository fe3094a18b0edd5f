/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions: lifetime, the lock and the blocking loop, connecting, options. */
#define _GNU_SOURCE
#include <errno.h>
#include <libssh2_sftp.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "connect_internal.h"
#include "config_internal.h"

/* ---- library init -------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void) { init_rc = libssh2_init(0); }

int xssh__global_init(void)
{
    pthread_once(&init_once, do_init);
    return init_rc == 0 ? XSSH_OK : XSSH_EALLOC;
}

/* ---- helpers --------------------------------------------------------------- */

char *xssh__strdup(const char *s) { return s ? strdup(s) : NULL; }

void *xssh__memdup(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

void xssh__free_secret(char *p)
{
    if (!p)
        return;
    size_t n = strlen(p);
    volatile char *v = p;
    while (n--)
        *v++ = 0;
    free(p);
}

int64_t xssh__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- socket callbacks: count input, refuse I/O once freeing -------------- */

static ssize_t cb_send(libssh2_socket_t fd, const void *buf, size_t len, int flags, void **abstract)
{
    xssh_session *s = (xssh_session *)*abstract;
    if (atomic_load(&s->io_disabled))
        return -EPIPE;
    for (;;) {
        ssize_t n = send(fd, buf, len, flags | MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK && fd == s->fd) /* (not the agent's socket) */
            xssh__note_io_failure(s, 1, errno);
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

static ssize_t recv_raw(xssh_session *s, libssh2_socket_t fd, void *buf, size_t len, int flags)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, flags);
        if (n > 0 && !(flags & MSG_PEEK)) {
            atomic_fetch_add(&s->rx_count, 1);
            atomic_store(&s->last_rx_ms, xssh__now_ms());
        } else if (n == 0 && len > 0 && fd == s->fd) {
            xssh__note_io_failure(s, 2, -1); /* (not the agent's socket) */
        }
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK && fd == s->fd)
            xssh__note_io_failure(s, 2, errno);
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

/* Refuse the preamble: the reason goes to do_handshake's message. */
static ssize_t ident_refuse(xssh_session *s, const char *why)
{
    s->ident_error = why;
    return -EPROTO;
}

/* Before the server's identification: RFC 4253 4.2 lets the server send other
   lines first (libssh2 1.10 fails on an empty one). Skip them here, so libssh2
   sees the stream from "SSH-" on. The first bytes of each line are consumed into
   s->pre_buf until they decide (never peeked, so a poll for more input does not
   spin); a skipped line's rest is consumed up to its LF only (MSG_PEEK finds it),
   never into the identification that follows. Returns 1 when the stream now
   passes through, or a cb_recv return value (EAGAIN, 0 at EOF, an error). */
/* Account the bytes of a skipped line (p[0..n), ending at its LF if it has one)
   as OpenSSH's ssh reads them: a NUL, or a CR not followed by LF, is invalid; at
   most 8192 bytes besides CR LF; at most 1023 such lines. 0, or ident_refuse's. */
static ssize_t skipped_bytes(xssh_session *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '\n') {
            s->pre_cr = 0;
            s->pre_line_len = 0;
            if (++s->pre_lines >= XSSH__PRE_IDENT_MAX_LINES)
                return ident_refuse(s, "the server sent 1024 lines before its identification (at most 1023, as "
                                       "OpenSSH's ssh)");
            continue;
        }
        if (c == '\0' || s->pre_cr)
            return ident_refuse(s, "a line before the server's identification contains a NUL or a CR not followed "
                                   "by LF");
        if (c == '\r') {
            s->pre_cr = 1;
            continue;
        }
        if (++s->pre_line_len > XSSH__PRE_IDENT_MAX_LINE)
            return ident_refuse(s, "a line before the server's identification is longer than 8192 bytes");
    }
    return 0;
}

static ssize_t skip_preamble(xssh_session *s, libssh2_socket_t fd)
{
    static const char ident[] = "SSH-";
    for (;;) {
        if (s->pre_discard) {
            unsigned char tmp[1024];
            ssize_t n = recv_raw(s, fd, tmp, sizeof tmp, MSG_PEEK);
            if (n <= 0)
                return n;
            unsigned char *lf = memchr(tmp, '\n', (size_t)n);
            size_t take = lf ? (size_t)(lf - tmp) + 1 : (size_t)n;
            n = recv_raw(s, fd, tmp, take, 0);
            if (n <= 0)
                return n;
            ssize_t r = skipped_bytes(s, tmp, (size_t)n);
            if (r)
                return r;
            if (lf && (size_t)n == take)
                s->pre_discard = 0;
            continue;
        }
        /* at a line start: its first bytes decide */
        unsigned char *lf = memchr(s->pre_buf, '\n', (size_t)s->pre_len);
        size_t upto = lf ? (size_t)(lf - s->pre_buf) : (size_t)s->pre_len;
        if (memcmp(s->pre_buf, ident, upto < 4 ? upto : 4) != 0 || lf) {
            /* not the identification: skip this line */
            ssize_t r = skipped_bytes(s, s->pre_buf, lf ? upto + 1 : (size_t)s->pre_len);
            if (r)
                return r;
            if (lf) {
                size_t rest = (size_t)s->pre_len - upto - 1;
                memmove(s->pre_buf, lf + 1, rest);
                s->pre_len = (int)rest;
            } else {
                s->pre_discard = 1;
                s->pre_len = 0;
            }
            continue;
        }
        if (s->pre_len == 4) {
            s->ident_done = 1; /* inside the identification line */
            s->pre_line_len = 0;
            s->pre_off = 0;
            return 1;
        }
        ssize_t n = recv_raw(s, fd, s->pre_buf + s->pre_len, (size_t)(4 - s->pre_len), 0);
        if (n <= 0)
            return n;
        s->pre_len += (int)n;
    }
}

static ssize_t cb_recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
    xssh_session *s = (xssh_session *)*abstract;
    if (atomic_load(&s->io_disabled))
        return -ENOTCONN;
    if (fd != s->fd) {
        /* the agent's socket (libssh2 reads it through this callback too, before
           a handshake as well): no SSH preamble; EOF is an error, as libssh2
           1.10's agent code reads EOF as "no data yet" and spins */
        ssize_t n = recv_raw(s, fd, buf, len, flags);
        return n == 0 && len ? -ECONNRESET : n;
    }
    if (s->ident_done == 2 || len == 0)
        return recv_raw(s, fd, buf, len, flags);
    if (!s->ident_done) {
        ssize_t r = skip_preamble(s, fd);
        if (r <= 0)
            return r;
    }
    /* the identification line: the bytes held back first, then the socket; its
       length is checked (libssh2 1.10 would cut a longer line and misparse) */
    ssize_t n;
    if (s->pre_off < s->pre_len) {
        n = s->pre_len - s->pre_off;
        if ((size_t)n > len)
            n = (ssize_t)len;
        memcpy(buf, s->pre_buf + s->pre_off, (size_t)n);
        s->pre_off += (int)n;
    } else {
        n = recv_raw(s, fd, buf, len, flags);
        if (n <= 0)
            return n;
    }
    unsigned char *lf = memchr(buf, '\n', (size_t)n);
    size_t upto = lf ? (size_t)(lf - (unsigned char *)buf) + 1 : (size_t)n;
    s->pre_line_len += upto;
    if (s->pre_line_len > XSSH__IDENT_MAX)
        return ident_refuse(s, "the server's identification line is longer than 255 bytes (RFC 4253 4.2)");
    if (lf)
        s->ident_done = 2;
    return n;
}

/* ---- lifetime -------------------------------------------------------------- */

static void process_orphans_ex(xssh_session *s, int only_sftp);

int xssh_session_new(xssh_session **out)
{
    if (!out)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_session_new: out is NULL");
    *out = NULL;
    if (xssh__global_init() != XSSH_OK)
        return xssh__fail(NULL, XSSH_EALLOC, 0, "libssh2_init failed");
    xssh_session *s = calloc(1, sizeof *s);
    if (!s)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory allocating a session");
    xssh__ref_init(&s->refs);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &a);
    pthread_mutexattr_destroy(&a);
    pthread_mutex_init(&s->err_lock, NULL);
    pthread_mutex_init(&s->orphan_lock, NULL);
    pthread_mutex_init(&s->open_lock, NULL);
    pthread_mutex_init(&s->waiter_lock, NULL);
    s->fd = -1;
    s->blocking = 1;
    s->wake_pipe[0] = s->wake_pipe[1] = -1;
    int live = xssh__live_session_add(s); /* exitguard.c */
    if (live != XSSH_OK) {
        free(s);
        return live == XSSH_ECLOSED ? xssh__fail(NULL, XSSH_ECLOSED, 0, "xssh_session_new: the process is exiting")
                                    : xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory allocating a session");
    }
    if (pipe2(s->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        xssh_session_unref(s);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "cannot create the session's wake pipe: %s", strerror(errno));
    }
    s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
    if (!s->ssh) {
        xssh_session_unref(s);
        return xssh__fail(NULL, XSSH_EALLOC, 0, "libssh2_session_init failed");
    }
    libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_SEND, (void *)cb_send);
    libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_RECV, (void *)cb_recv);
    libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_DISCONNECT, (void *)xssh__on_disconnect);
    libssh2_session_set_blocking(s->ssh, 0);
    *out = s;
    return xssh__ok();
}

xssh_session *xssh_session_ref(xssh_session *s)
{
    if (s)
        xssh__ref_inc(&s->refs);
    return s;
}

void xssh_session_unref(xssh_session *s)
{
    if (!s || !xssh__ref_dec(&s->refs))
        return;
    /* last reference: no child is alive (each holds a reference) */
    atomic_store(&s->io_disabled, 1);
    int libssh2_ok = xssh__session_free_begin(s); /* 0: the process is exiting (exitguard.c) */
    if (libssh2_ok && s->ssh && s->orphans)
        process_orphans_ex(s, 1); /* SFTP handles/subsystems (libssh2_session_free leaks them) */
    if (libssh2_ok && s->ssh)
        libssh2_session_free(s->ssh); /* frees orphans too, without I/O */
    xssh__session_free_end(libssh2_ok);
    xssh__orphan *o = s->orphans;
    while (o) {
        xssh__orphan *next = o->next;
        free(o);
        o = next;
    }
    if (s->owns_fd && s->fd >= 0) {
        xssh__fd_closing(s->fd);
        close(s->fd);
    }
    if (s->via_release) {
        /* the ProxyJump carrier: sees EOF, stops, drops the jump session; an unref
           leaves the caller's last error as it was */
        xssh__saved_err e;
        xssh__err_save(&e);
        s->via_release(s->via);
        xssh__err_restore(NULL, &e);
    }
    if (s->wake_pipe[0] >= 0)
        close(s->wake_pipe[0]);
    if (s->wake_pipe[1] >= 0)
        close(s->wake_pipe[1]);
    free(s->host);
    free(s->log_host);
    free(s->last_error);
    free(s->first_transport_error);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->err_lock);
    pthread_mutex_destroy(&s->orphan_lock);
    pthread_mutex_destroy(&s->open_lock);
    pthread_mutex_destroy(&s->waiter_lock);
    free(s);
}

/* ---- locking, orphans, the blocking loop ---------------------------------- */

/* Fiber-aware: the mutex is recursive per THREAD, so a multi operation that
   finds it held by another operation of the same thread (lock_fiber) waits for
   its release (xssh__wake(&s->lock) in xssh__unlock) instead of entering. A
   holder on another thread is waited for by blocking, as any thread would: it
   never waits for this thread's operations while holding it. */
void xssh__lock(xssh_session *s)
{
    void *f = xssh__fiber_self();
    if (f) {
        for (;;) {
            if (pthread_mutex_trylock(&s->lock) != 0) {
                pthread_mutex_lock(&s->lock); /* another thread holds it */
                break;
            }
            if (s->lock_depth == 0 || s->lock_fiber == f)
                break;
            pthread_mutex_unlock(&s->lock); /* another operation of this thread */
            xssh__sleep_until(&s->lock, 0, XSSH__WAIT_LOCK);
        }
    } else {
        pthread_mutex_lock(&s->lock);
        xssh__tls_plain_locks++;
    }
    if (s->lock_depth++ == 0) {
        s->rx_at_lock = atomic_load(&s->rx_count);
        s->lock_fiber = f;
    }
}

/* A thread waiting in xssh__op_again: its own eventfd, on s->waiter_list. */
struct xssh__waiter {
    struct xssh__waiter *next;
    int fd;
};

static pthread_key_t waiter_key;
static pthread_once_t waiter_once = PTHREAD_ONCE_INIT;
static void waiter_fd_close(void *p) { close((int)(intptr_t)p - 1); }
static void waiter_key_init(void) { pthread_key_create(&waiter_key, waiter_fd_close); }

/* this thread's eventfd (created once, closed at thread exit); -1 if none */
static int waiter_fd(void)
{
    pthread_once(&waiter_once, waiter_key_init);
    intptr_t v = (intptr_t)pthread_getspecific(waiter_key);
    if (v)
        return (int)v - 1;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0)
        pthread_setspecific(waiter_key, (void *)(intptr_t)(fd + 1));
    return fd;
}

void xssh__wake_threads(xssh_session *s)
{
    if (atomic_load(&s->waiters) <= 0)
        return;
    uint64_t one = 1;
    pthread_mutex_lock(&s->waiter_lock);
    for (struct xssh__waiter *w = s->waiter_list; w; w = w->next) {
        ssize_t r = write(w->fd, &one, sizeof one);
        (void)r;
    }
    pthread_mutex_unlock(&s->waiter_lock);
}

/* threads wait on the wake pipe; multi operations of this thread on the key s */
static void wake_all(xssh_session *s)
{
    xssh__wake_threads(s);
    xssh__wake(s);
}

void xssh__unlock(xssh_session *s)
{
    int wake = 0, released = 0, plain = !xssh__fiber_self();
    if (--s->lock_depth == 0) {
        wake = atomic_load(&s->rx_count) != s->rx_at_lock;
        s->lock_fiber = NULL;
        released = 1;
    }
    pthread_mutex_unlock(&s->lock);
    if (plain)
        xssh__tls_plain_locks--;
    if (released)
        xssh__wake(&s->lock);
    if (wake)
        wake_all(s);
    /* plain code at its top level: the external loops of multis whose ops it
       woke (input it consumed) are told to come back */
    if (plain && released)
        xssh__kicks_deliver();
}

void xssh__session_orphan(xssh_session *s, xssh__orphan_kind kind, void *ptr)
{
    xssh__orphan *o = malloc(sizeof *o);
    if (!o)
        return; /* libssh2_session_free will still free ptr */
    o->kind = kind;
    o->ptr = ptr;
    o->fn = NULL;
    pthread_mutex_lock(&s->orphan_lock);
    o->next = s->orphans;
    s->orphans = o;
    pthread_mutex_unlock(&s->orphan_lock);
}

void xssh__session_orphan_fn(xssh_session *s, int (*fn)(void *ptr), void *ptr)
{
    xssh__orphan *o = malloc(sizeof *o);
    if (!o)
        return;
    o->kind = XSSH__ORPHAN_FN;
    o->ptr = ptr;
    o->fn = fn;
    pthread_mutex_lock(&s->orphan_lock);
    o->next = s->orphans;
    s->orphans = o;
    pthread_mutex_unlock(&s->orphan_lock);
}

/* Close/free orphans without waiting; keep the ones that would block. Lock held.
   Oldest first: an SFTP subsystem is orphaned after its handles, and waits while
   any SFTP handle is still being closed (the handles use it).
   only_sftp: the final free's pass (socket I/O already disabled) for the SFTP
   kinds, whose memory libssh2_session_free would not release; the sends fail
   and libssh2 frees them. */
static void process_orphans_ex(xssh_session *s, int only_sftp)
{
    pthread_mutex_lock(&s->orphan_lock);
    xssh__orphan *newest = s->orphans;
    s->orphans = NULL;
    pthread_mutex_unlock(&s->orphan_lock);
    xssh__orphan *list = NULL; /* oldest first */
    while (newest) {
        xssh__orphan *o = newest;
        newest = o->next;
        o->next = list;
        list = o;
    }
    xssh__orphan *keep = NULL;
    int handles_pending = 0;
    while (list) {
        xssh__orphan *o = list;
        list = o->next;
        int rc = 0;
        if (only_sftp && o->kind != XSSH__ORPHAN_SFTP_HANDLE && o->kind != XSSH__ORPHAN_SFTP) {
            o->next = keep; /* left to libssh2_session_free */
            keep = o;
            continue;
        }
        switch (o->kind) {
        case XSSH__ORPHAN_CHANNEL:
            /* never leave its CLOSE half-sent: libssh2 would complete it on the
               next send of ANY caller and report that caller's data as sent */
            for (int tries = 0;; tries++) {
                rc = libssh2_channel_free((LIBSSH2_CHANNEL *)o->ptr);
                if (rc != LIBSSH2_ERROR_EAGAIN || tries >= 50 ||
                    !(libssh2_session_block_directions(s->ssh) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
                    break;
                xssh__wait(s->fd, XSSH__WAIT_OUT, -1, NULL, xssh__now_ms() + 100, XSSH__WAIT_NOCANCEL);
            }
            break;
        case XSSH__ORPHAN_SFTP_HANDLE:
            rc = libssh2_sftp_close_handle((LIBSSH2_SFTP_HANDLE *)o->ptr);
            if (rc == LIBSSH2_ERROR_EAGAIN)
                handles_pending = 1;
            break;
        case XSSH__ORPHAN_SFTP:
            rc = handles_pending ? LIBSSH2_ERROR_EAGAIN : libssh2_sftp_shutdown((LIBSSH2_SFTP *)o->ptr);
            break;
        case XSSH__ORPHAN_LISTENER:
            rc = libssh2_channel_forward_cancel((LIBSSH2_LISTENER *)o->ptr);
            break;
        case XSSH__ORPHAN_FN:
            rc = o->fn ? o->fn(o->ptr) : 0;
            break;
        default:
            rc = 0;
            break;
        }
        if (rc == LIBSSH2_ERROR_EAGAIN) {
            o->next = keep;
            keep = o;
        } else {
            free(o);
        }
    }
    if (keep) {
        /* keep is newest first again: put it behind anything queued meanwhile */
        pthread_mutex_lock(&s->orphan_lock);
        xssh__orphan **tail = &s->orphans;
        while (*tail)
            tail = &(*tail)->next;
        *tail = keep;
        pthread_mutex_unlock(&s->orphan_lock);
    }
}

static void process_orphans(xssh_session *s) { process_orphans_ex(s, 0); }

/* Whether anything is orphaned. s->orphans is only ever read under orphan_lock:
   another thread may be orphaning onto it while this one holds the session lock. */
static int have_orphans(xssh_session *s)
{
    pthread_mutex_lock(&s->orphan_lock);
    int r = s->orphans != NULL;
    pthread_mutex_unlock(&s->orphan_lock);
    return r;
}

_Thread_local int xssh__tls_nonblocking;

int xssh__fail_in_use(xssh_session *s, const char *fn, const char *object, const char *cause)
{
    return xssh__fail(s, XSSH_EBAD_USE, 0,
                      "%s: the %s is in use by a multi operation suspended on this thread (%s); call it through "
                      "the multi (xssh_multi_add_*) or after that operation is done",
                      fn ? fn : "xssh", object, cause);
}

int xssh__op_begin_at(xssh__op *op, xssh_session *s, int need_ready, const _Atomic int *child_closed, const char *fn)
{
    op->s = s;
    op->closed = child_closed;
    op->finish = op->intr = op->abandoned = 0;
    xssh__lock(s);
    if (s->lock_depth == 1 && xssh__fiber_slice_over(0)) {
        /* a multi operation that has run its slice without waiting (a loop of
           calls whose socket stays ready): it gives way here, holding nothing
           of the session */
        xssh__unlock(s);
        xssh__fiber_yield();
        xssh__lock(s);
    }
    if (need_ready && !xssh__fiber_self()) {
        /* a suspended operation of this thread in the middle of a request: it runs
           again only once this call has returned, so waiting for it never ends
           (and entering the session under it would mix two requests) */
        const char *cause = NULL;
        uintptr_t me = xssh__thread_tag();
        if (s->lock_fiber)
            cause = "it holds the session with a packet half-sent";
        else if (atomic_load(&s->open_fiber_tag) == me)
            cause = "it is opening a channel";
        else if (atomic_load(&s->request_fiber_tag) == me)
            cause = "it awaits the reply to a channel request";
        if (cause) {
            xssh__unlock(s);
            return xssh__fail_in_use(s, fn, "session", cause);
        }
    }
    int st = atomic_load(&s->state);
    if (st == XSSH__STATE_CLOSED || (child_closed && atomic_load(child_closed))) {
        xssh__unlock(s);
        return xssh__fail(s, XSSH_ECLOSED, 0, "%s is closed",
                          st == XSSH__STATE_CLOSED ? "the session" : "the object");
    }
    if (need_ready && st != XSSH__STATE_READY) {
        xssh__unlock(s);
        return xssh__fail(s, XSSH_ENOTCONNECTED, 0, "the session is not connected (call connect or handshake first)");
    }
    op->blocking = xssh__tls_nonblocking == 1 ? 0 : xssh__tls_nonblocking == 2 ? 1 : s->blocking;
    op->deadline_ms = s->timeout_ms > 0 ? xssh__now_ms() + s->timeout_ms : 0;
    if (st == XSSH__STATE_READY && have_orphans(s))
        process_orphans(s);
    return XSSH_OK;
}

void xssh__op_end(xssh__op *op) { xssh__unlock(op->s); }

/* Called with the session lock held (inside an op): take open_lock without
   deadlocking against a thread that holds open_lock and waits for the session lock. */
void xssh__open_begin(xssh_session *s, const xssh__op *op)
{
    if (!op->blocking)
        return;
    while (pthread_mutex_trylock(&s->open_lock) != 0) {
        xssh__unlock(s);
        /* a multi operation is woken by open_end on this thread; a holder on
           another thread is looked at again after a while */
        xssh__sleep_until(&s->open_lock, xssh__now_ms() + (xssh__fiber_self() ? 20 : 1), XSSH__WAIT_LOCK);
        xssh__lock(s);
    }
    xssh__open_lock_taken(s);
}

void xssh__open_end(xssh_session *s, const xssh__op *op)
{
    if (op->blocking)
        xssh__open_lock_release(s);
}

void xssh__open_lock_taken(xssh_session *s) { atomic_store(&s->open_fiber_tag, xssh__holder_tag()); }

void xssh__open_lock_release(xssh_session *s)
{
    atomic_store(&s->open_fiber_tag, 0);
    pthread_mutex_unlock(&s->open_lock);
    xssh__wake(&s->open_lock);
}

/* libssh2 1.10 keeps a half-sent packet and completes it with the NEXT send
   call of any caller, reporting that caller's own data as sent (lost). So a call
   that stopped with output pending must be retried before the lock is released:
   wait for the socket to drain while holding it (blocking ops: up to the
   deadline; non-blocking ops: briefly, then EAGAIN as usual). */
static int finish_pending_output(xssh__op *op, int *rc)
{
    xssh_session *s = op->s;
    if (!s->ssh || !(libssh2_session_block_directions(s->ssh) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
        return 0;
    int64_t now = xssh__now_ms();
    int64_t deadline = op->blocking ? 0 : now + 100;
    if (op->deadline_ms) {
        if (op->deadline_ms - now <= 0) {
            *rc = XSSH_ETIMEOUT;
            return -1;
        }
        if (!deadline || op->deadline_ms < deadline)
            deadline = op->deadline_ms;
    }
    /* with the lock held (see above); a multi operation being cancelled still
       lets the packet go out (XSSH__WAIT_NOCANCEL) */
    int n = xssh__wait(s->fd, XSSH__WAIT_OUT, -1, NULL, deadline, XSSH__WAIT_NOCANCEL);
    if (n == XSSH_ETIMEOUT || n == XSSH_ECANCELLED) {
        *rc = n;
        return -1;
    }
    if (atomic_load(&s->state) == XSSH__STATE_CLOSED || (op->closed && atomic_load(op->closed))) {
        *rc = XSSH_ECLOSED;
        return -1;
    }
    return n > 0 ? 1 : 0;
}

int xssh__op_again(xssh__op *op, int *rc)
{
    if (*rc != LIBSSH2_ERROR_EAGAIN) {
        if (op->intr) /* the interrupted request completed: it fails as interrupted */
            *rc = op->intr;
        return 0;
    }
    int f = finish_pending_output(op, rc);
    if (f < 0 && op->finish)
        op->abandoned = 1;
    if (f != 0)
        return f > 0; /* 1: retry the same call at once, lock held; -1: *rc set */
    if (!op->blocking)
        return 0;
    xssh_session *s = op->s;
    int dirs = s->ssh ? libssh2_session_block_directions(s->ssh) : 0;
    int events = 0;
    if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)
        events |= XSSH__WAIT_IN;
    if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
        events |= XSSH__WAIT_OUT;
    if (!events)
        events = XSSH__WAIT_IN;
    if (op->deadline_ms && op->deadline_ms - xssh__now_ms() <= 0) {
        op->abandoned = 1;
        *rc = XSSH_ETIMEOUT;
        return 0;
    }
    unsigned long gen = atomic_load(&s->rx_count);
    int fd = s->fd;
    /* threads also watch the wake pipe (another thread consumed input this one
       needs); multi operations are woken through the key s instead */
    int fiber = xssh__fiber_self() != NULL;
    if (!fiber)
        xssh__tls_kicks_held++; /* (inside a blocking call: told when it is over) */
    xssh__unlock(s);
    /* a thread registers its own eventfd after the unlock (whose own wake is not
       for it): input consumed by another thread before the registration shows as
       rx_count != gen (the recv callback runs under the lock), after it as a
       write to the eventfd (a shared pipe let one waiter drain the byte meant for
       another, which then slept with its data queued in libssh2) */
    struct xssh__waiter me = {NULL, fiber ? -1 : waiter_fd()};
    if (me.fd >= 0) {
        pthread_mutex_lock(&s->waiter_lock);
        me.next = s->waiter_list;
        s->waiter_list = &me;
        pthread_mutex_unlock(&s->waiter_lock);
    }
    if (!fiber)
        atomic_fetch_add(&s->waiters, 1);
    int w = 1;
    if (atomic_load(&s->rx_count) == gen)
        w = xssh__wait(fd, events, fiber ? -1 : me.fd >= 0 ? me.fd : s->wake_pipe[0], s, op->deadline_ms, 0);
    if (!fiber)
        atomic_fetch_sub(&s->waiters, 1);
    if (me.fd >= 0) {
        pthread_mutex_lock(&s->waiter_lock);
        for (struct xssh__waiter **pp = &s->waiter_list; *pp; pp = &(*pp)->next)
            if (*pp == &me) {
                *pp = me.next;
                break;
            }
        pthread_mutex_unlock(&s->waiter_lock);
        uint64_t v;
        ssize_t r = read(me.fd, &v, sizeof v); /* reset (non-blocking) */
        (void)r;
    }
    xssh__lock(s);
    if (!fiber)
        xssh__tls_kicks_held--;
    if (w == XSSH_ETIMEOUT || w == XSSH_ECANCELLED) {
        if (op->finish && !op->intr) {
            op->intr = w; /* finish the request (the grace's waits go on) */
            return 1;
        }
        op->abandoned = 1;
        *rc = w;
        return 0;
    }
    if (atomic_load(&s->state) == XSSH__STATE_CLOSED || (op->closed && atomic_load(op->closed))) {
        *rc = XSSH_ECLOSED;
        return 0;
    }
    return 1;
}

/* Record a failure of a libssh2 call made inside an op (rc may already be an
   xssh code from op_again). */
static int op_fail(xssh_session *s, int rc, const char *what)
{
    if (rc == XSSH_ETIMEOUT)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "%s: timed out", what);
    if (rc == XSSH_ECLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "%s: the session was closed meanwhile", what);
    if (rc == XSSH_ECANCELLED)
        return xssh__fail(s, XSSH_ECANCELLED, 0, "%s: cancelled", what);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return xssh__fail(s, XSSH_EAGAIN, rc, "%s: would block", what);
    return xssh__fail_ssh(s, rc, "%s", what);
}

/* ---- connecting ------------------------------------------------------------- */

static int set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

/* host != NULL: connect() opened fd; the session then owns it. *took_fd tells
   whether the session took fd (under the lock, so two concurrent connects or
   handshakes never share the session: the second one gets XSSH_EBAD_USE). */
static int do_handshake(xssh_session *s, int fd, int64_t deadline_ms, const char *who, const char *host, int port,
                        int *took_fd)
{
    *took_fd = 0;
    xssh__op op;
    int e = xssh__op_begin(&op, s, 0, NULL);
    if (e)
        return e;
    if (atomic_load(&s->state) != XSSH__STATE_NEW || s->fd >= 0) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0, "handshake: the session is already connected (or connecting)");
    }
    if (deadline_ms)
        op.deadline_ms = deadline_ms;
    op.blocking = 1; /* the handshake is always completed here */
    xssh__phase(XSSH_PHASE_HANDSHAKE);
    s->fd = fd;
    *took_fd = 1;
    if (host) {
        free(s->host);
        s->host = xssh__strdup(host);
        s->port = port;
        s->owns_fd = 1;
    }
    s->fd_flags = fcntl(fd, F_GETFL);
    set_nonblock(fd, 1); /* so libssh2 never restores flags on a possibly reused fd at free */
    int rc;
    do {
        rc = libssh2_session_handshake(s->ssh, fd);
    } while (xssh__op_again(&op, &rc));
    if (rc != 0) {
        atomic_store(&s->state, XSSH__STATE_CLOSED);
        /* a refused preamble says why; else the phase and the first cause (errors.c) */
        int fe = s->ident_error
                     ? xssh__fail(s, XSSH_EBANNER_RECV, rc, "SSH handshake with %s failed: %s", who, s->ident_error)
                     : xssh__fail_handshake(s, rc, who, deadline_ms ? 0 : s->timeout_ms);
        xssh__op_end(&op);
        return fe;
    }
    atomic_store(&s->state, XSSH__STATE_READY);
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_handshake(xssh_session *s, int fd)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, fd >= 0, "socket descriptor is negative");
    int took = 0;
    return do_handshake(s, fd, 0, "the server", NULL, 0, &took);
}

static int bind_local(int fd, const struct addrinfo *ai, const char *bind_address, int *err);

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *err_out, int *timed_out,
                       const char *bind_address, int *bind_failed)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        *err_out = errno;
        return -1;
    }
    if (bind_address && *bind_address && bind_local(fd, ai, bind_address, err_out) != 0) {
        *bind_failed = 1;
        xssh__fd_closing(fd);
        close(fd);
        return -1;
    }
    *bind_failed = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *err_out = errno;
        xssh__fd_closing(fd);
        close(fd);
        return -1;
    }
    for (;;) {
        if (deadline && deadline - xssh__now_ms() <= 0) {
            *timed_out = 1;
            xssh__fd_closing(fd);
            close(fd);
            return -1;
        }
        int n = xssh__wait_fd(fd, XSSH__WAIT_OUT, deadline);
        if (n == XSSH_ETIMEOUT || n == XSSH_ECANCELLED) { /* a multi operation's limit, or cancelled */
            *timed_out = n == XSSH_ETIMEOUT ? 1 : 2;
            xssh__fd_closing(fd);
            close(fd);
            return -1;
        }
        if (n == 0)
            continue; /* the deadline check above ends it */
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            *err_out = soerr ? soerr : errno;
            xssh__fd_closing(fd);
            close(fd);
            return -1;
        }
        if (!n)
            continue;
        return fd;
    }
}

int xssh_session_connect(xssh_session *s, const char *host, int port, int timeout_ms)
{
    return xssh__session_connect_ex(s, host, port, timeout_ms, AF_UNSPEC, NULL);
}

static const char *family_name(int family)
{
    return family == AF_INET ? "IPv4 (AddressFamily inet)" : family == AF_INET6 ? "IPv6 (AddressFamily inet6)" : "any";
}

/* Bind fd to bind_address (numeric or a name) of the socket's family. 0, or -1 with *err. */
static int bind_local(int fd, const struct addrinfo *ai, const char *bind_address, int *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = ai->ai_family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int g = xssh__getaddrinfo(bind_address, NULL, &hints, &res);
    if (g != 0 || !res) {
        *err = EADDRNOTAVAIL;
        return -1;
    }
    int rc = bind(fd, res->ai_addr, res->ai_addrlen);
    if (rc != 0)
        *err = errno;
    freeaddrinfo(res);
    return rc;
}

int xssh__session_connect_ex(xssh_session *s, const char *host, int port, int timeout_ms, int family,
                             const char *bind_address)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, host && *host, "host is NULL or empty");
    XSSH__ARG(s, port > 0 && port < 65536, "port must be 1..65535");
    XSSH__ARG(s, timeout_ms >= 0, "timeout must be >= 0");
    int st = atomic_load(&s->state);
    if (st == XSSH__STATE_CLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "connect: the session is closed");
    if (st != XSSH__STATE_NEW) /* (a connect in progress is refused by do_handshake, under the lock) */
        return xssh__fail(s, XSSH_EBAD_USE, 0, "connect: the session is already connected");
    int64_t deadline = timeout_ms > 0 ? xssh__now_ms() + timeout_ms : 0;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    xssh__phase(XSSH_PHASE_RESOLVE);
    int g = xssh__getaddrinfo(host, portstr, &hints, &res);
    if (g == EAI_CANCELED)
        return xssh__fail(s, XSSH_ECANCELLED, 0, "resolving host '%s': cancelled", host);
    if (g != 0)
        return family == AF_UNSPEC
                   ? xssh__fail(s, XSSH_ERESOLVE, 0, "cannot resolve host '%s': %s", host, gai_strerror(g))
                   : xssh__fail(s, XSSH_ERESOLVE, 0, "cannot resolve host '%s' for %s: %s", host, family_name(family),
                                gai_strerror(g));
    int fd = -1, err = 0, timed_out = 0, bind_failed = 0;
    xssh__phase(XSSH_PHASE_CONNECT);
    for (struct addrinfo *ai = res; ai && fd < 0 && !timed_out; ai = ai->ai_next)
        fd = connect_one(ai, deadline, &err, &timed_out, bind_address, &bind_failed);
    freeaddrinfo(res);
    if (fd < 0) {
        if (timed_out == 2)
            return xssh__fail(s, XSSH_ECANCELLED, 0, "connecting to %s port %d: cancelled", host, port);
        if (timed_out && (!deadline || deadline - xssh__now_ms() > 0))
            return xssh__fail(s, XSSH_ETIMEOUT, 0, "connecting to %s port %d timed out (the operation's connect timeout)",
                              host, port);
        if (timed_out)
            return xssh__fail(s, XSSH_ETIMEOUT, 0, "connecting to %s port %d timed out after %d ms", host, port,
                              timeout_ms);
        if (bind_failed)
            return xssh__fail(s, XSSH_ECONNECT, 0, "cannot connect to %s port %d: cannot bind to %s (BindAddress): %s",
                              host, port, bind_address, strerror(err));
        return xssh__fail(s, XSSH_ECONNECT, 0, "cannot connect to %s port %d: %s", host, port, strerror(err));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char who[300];
    snprintf(who, sizeof who, "%s port %d", host, port);
    int took = 0;
    int e = do_handshake(s, fd, deadline, who, host, port, &took);
    if (!took) { /* refused before taking the fd (closed, or connected by another thread meanwhile) */
        xssh__fd_closing(fd);
        close(fd);
    }
    return e;
}

static int close_common(xssh_session *s, int send_disconnect, int reason, const char *desc)
{
    XSSH__ARG(NULL, s, "session is NULL");
    xssh__lock(s);
    int st = atomic_load(&s->state);
    int rc = 0;
    if (st == XSSH__STATE_CLOSED) {
        xssh__unlock(s);
        xssh__session_stop_threads(s); /* a failed handshake closed it: its carrier may still run */
        if (send_disconnect)
            return xssh__fail(s, XSSH_ECLOSED, 0, "disconnect: the session is already closed");
        return xssh__ok();
    }
    if (send_disconnect && st == XSSH__STATE_READY) {
        xssh__op op = {s, s->timeout_ms > 0 ? xssh__now_ms() + s->timeout_ms : xssh__now_ms() + 5000, 1, NULL, 0, 0, 0};
        do {
            rc = libssh2_session_disconnect_ex(s->ssh, reason, desc ? desc : "", "");
        } while (xssh__op_again(&op, &rc));
    }
    atomic_store(&s->state, XSSH__STATE_CLOSED);
    if (s->fd >= 0) {
        if (s->owns_fd)
            shutdown(s->fd, SHUT_RDWR);
        else if (s->fd_flags >= 0)
            fcntl(s->fd, F_SETFL, s->fd_flags); /* the caller's socket, as it was given */
    }
    xssh__unlock(s);
    wake_all(s);
    xssh__session_stop_threads(s); /* its forwards and ProxyJump carrier: stopped and joined */
    if (send_disconnect && st == XSSH__STATE_NEW)
        return xssh__fail(s, XSSH_ENOTCONNECTED, 0, "disconnect: the session was never connected");
    if (rc < 0)
        return op_fail(s, rc, "disconnect");
    return xssh__ok();
}

int xssh_session_disconnect(xssh_session *s) { return close_common(s, 1, XSSH_DISCONNECT_BY_APPLICATION, "bye"); }

int xssh_session_disconnect_ex(xssh_session *s, int reason, const char *description)
{
    return close_common(s, 1, reason, description);
}

int xssh_session_close(xssh_session *s) { return close_common(s, 0, 0, NULL); }

int xssh_session_is_closed(xssh_session *s, int *out)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, out, "out is NULL");
    *out = atomic_load(&s->state) == XSSH__STATE_CLOSED;
    return xssh__ok();
}

/* ---- options ------------------------------------------------------------- */

#define BEGIN(need_ready)                                     \
    XSSH__ARG(NULL, s, "session is NULL");                    \
    xssh__op op;                                              \
    int e_ = xssh__op_begin(&op, s, (need_ready), NULL);      \
    if (e_)                                                   \
        return e_

int xssh_session_set_blocking(xssh_session *s, int blocking)
{
    BEGIN(0);
    s->blocking = blocking ? 1 : 0;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_get_blocking(xssh_session *s, int *out)
{
    XSSH__ARG(s, out, "out is NULL");
    BEGIN(0);
    *out = s->blocking;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_set_timeout(xssh_session *s, long timeout_ms)
{
    XSSH__ARG(s, timeout_ms >= 0, "timeout must be >= 0");
    BEGIN(0);
    /* beyond 100 years it is "no end" in practice, and deadlines (now + timeout)
       must not overflow */
    const long max_ms = 100L * 365 * 24 * 3600 * 1000;
    s->timeout_ms = timeout_ms > max_ms ? max_ms : timeout_ms;
    xssh__op_end(&op);
    return xssh__ok();
}

void xssh__session_set_alive(xssh_session *s, long interval_ms, int count_max)
{
    xssh__lock(s);
    s->alive_interval_ms = interval_ms > 0 ? interval_ms : 0;
    s->alive_count_max = count_max > 0 ? count_max : 1;
    xssh__unlock(s);
}

void xssh__liveness_params(xssh_session *s, long *probe_after_ms, long *reply_wait_ms)
{
    if (s->alive_interval_ms > 0) {
        *probe_after_ms = s->alive_interval_ms;
        *reply_wait_ms = s->alive_interval_ms * s->alive_count_max;
    } else {
        *probe_after_ms = *reply_wait_ms = s->timeout_ms > 0 ? s->timeout_ms : 0;
    }
}

int xssh_session_get_timeout(xssh_session *s, long *out)
{
    XSSH__ARG(s, out, "out is NULL");
    BEGIN(0);
    *out = s->timeout_ms;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_banner_set(xssh_session *s, const char *banner)
{
    XSSH__ARG(s, banner && *banner, "banner is NULL or empty");
    BEGIN(0);
    if (atomic_load(&s->state) != XSSH__STATE_NEW) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0, "banner_set: the banner must be set before the handshake");
    }
    int rc = libssh2_session_banner_set(s->ssh, banner);
    xssh__op_end(&op);
    return rc ? xssh__fail_ssh(s, rc, "banner_set") : xssh__ok();
}

int xssh_session_banner_get(xssh_session *s, char **out)
{
    XSSH__ARG(s, out, "out is NULL");
    BEGIN(1);
    const char *b = libssh2_session_banner_get(s->ssh);
    *out = xssh__strdup(b ? b : "");
    xssh__op_end(&op);
    return *out ? xssh__ok() : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_session_flag(xssh_session *s, int flag, int value)
{
    BEGIN(0);
    int rc = libssh2_session_flag(s->ssh, flag, value);
    xssh__op_end(&op);
    if (rc)
        return xssh__fail_ssh(s, rc, "flag(%d, %d)", flag, value);
    return xssh__ok();
}

int xssh_session_keepalive_config(xssh_session *s, int want_reply, unsigned interval_s)
{
    BEGIN(0);
    libssh2_keepalive_config(s->ssh, want_reply, interval_s);
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_keepalive_send(xssh_session *s, int *seconds_to_next)
{
    BEGIN(1);
    int next = 0, rc;
    do {
        rc = libssh2_keepalive_send(s->ssh, &next);
    } while (xssh__op_again(&op, &rc));
    xssh__op_end(&op);
    if (rc)
        return op_fail(s, rc, "keepalive_send");
    xssh__log(XSSH_LOG_DEBUG, xssh__log_host(s), "keepalive: next one due in %d s", next);
    if (seconds_to_next)
        *seconds_to_next = next;
    return xssh__ok();
}

int xssh_session_trace(xssh_session *s, int bitmask)
{
    BEGIN(0);
    int rc = libssh2_trace(s->ssh, bitmask);
    xssh__op_end(&op);
    (void)rc; /* a non-debug libssh2 ignores tracing; that is not an error */
    return xssh__ok();
}

static int valid_method(int t) { return t >= LIBSSH2_METHOD_KEX && t <= LIBSSH2_METHOD_LANG_SC; }

int xssh_session_supported_algs(xssh_session *s, int method_type, char **out)
{
    XSSH__ARG(s, out, "out is NULL");
    XSSH__ARG(s, valid_method(method_type), "method_type must be an XSSH_METHOD_* value");
    BEGIN(0);
    const char **algs = NULL;
    int n = libssh2_session_supported_algs(s->ssh, method_type, &algs);
    if (n < 0) {
        xssh__op_end(&op);
        return xssh__fail_ssh(s, n, "supported_algs(%d)", method_type);
    }
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(algs[i]) + 1;
    char *buf = malloc(len);
    if (buf) {
        buf[0] = '\0';
        for (int i = 0; i < n; i++) {
            if (i)
                strcat(buf, ",");
            strcat(buf, algs[i]);
        }
    }
    if (algs)
        libssh2_free(s->ssh, algs);
    xssh__op_end(&op);
    if (!buf)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    *out = buf;
    return xssh__ok();
}

int xssh_session_method_pref(xssh_session *s, int method_type, const char *prefs)
{
    XSSH__ARG(s, valid_method(method_type), "method_type must be an XSSH_METHOD_* value");
    XSSH__ARG(s, prefs && *prefs, "prefs is NULL or empty");
    BEGIN(0);
    int rc = libssh2_session_method_pref(s->ssh, method_type, prefs);
    xssh__op_end(&op);
    if (rc)
        return xssh__fail_ssh(s, rc, "method_pref(%d, \"%s\")", method_type, prefs);
    return xssh__ok();
}

int xssh_session_methods(xssh_session *s, int method_type, char **out)
{
    XSSH__ARG(s, out, "out is NULL");
    XSSH__ARG(s, valid_method(method_type), "method_type must be an XSSH_METHOD_* value");
    BEGIN(1);
    const char *m = libssh2_session_methods(s->ssh, method_type);
    *out = xssh__strdup(m ? m : "");
    xssh__op_end(&op);
    return *out ? xssh__ok() : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_session_last_errno(xssh_session *s, int *out)
{
    XSSH__ARG(s, out, "out is NULL");
    XSSH__ARG(NULL, s, "session is NULL");
    xssh__lock(s);
    *out = libssh2_session_last_errno(s->ssh);
    xssh__unlock(s);
    return xssh__ok();
}

int xssh_session_last_error(xssh_session *s, char **out)
{
    XSSH__ARG(s, out, "out is NULL");
    XSSH__ARG(NULL, s, "session is NULL");
    pthread_mutex_lock(&s->err_lock);
    *out = xssh__strdup(s->last_error ? s->last_error : "");
    pthread_mutex_unlock(&s->err_lock);
    return *out ? xssh__ok() : xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_session_set_last_error(xssh_session *s, int errcode, const char *message)
{
    BEGIN(0);
    libssh2_session_set_last_error(s->ssh, errcode, message ? message : "");
    xssh__op_end(&op);
    pthread_mutex_lock(&s->err_lock);
    free(s->last_error);
    s->last_error = xssh__strdup(message ? message : "");
    pthread_mutex_unlock(&s->err_lock);
    return xssh__ok();
}

int xssh_session_block_directions(xssh_session *s, int *out)
{
    XSSH__ARG(s, out, "out is NULL");
    BEGIN(0);
    *out = libssh2_session_block_directions(s->ssh);
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_socket(xssh_session *s, int *out)
{
    XSSH__ARG(s, out, "out is NULL");
    BEGIN(0);
    *out = s->fd;
    xssh__op_end(&op);
    return xssh__ok();
}
