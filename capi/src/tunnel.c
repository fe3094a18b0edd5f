/* SPDX-License-Identifier: BSD-3-Clause */
/* Tunnels: direct-tcpip channels, remote listeners, forward servers, ProxyJump.
 *
 * A forward server is one thread (the "pump") that moves bytes between TCP
 * sockets and channels of one session. It makes only non-blocking calls
 * (xssh__tls_nonblocking = 1) except for channel opens, which are blocking and
 * serialised with every other open of the session (xssh__open_begin), because
 * libssh2 keeps one open state machine per session. Each connection ("link")
 * has a buffer per direction; half-closes are carried both ways (socket EOF →
 * channel EOF, channel EOF → shutdown(SHUT_WR)). The pump polls its sockets and
 * the session socket with a short timeout, since another thread using the same
 * session may read data meant for the pump's channels. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "connect_internal.h"

#define LINK_BUF (256 * 1024)
#define POLL_MS 20
/* a released ProxyJump carrier keeps carrying what its target wrote last (its
   DISCONNECT message) for at most this long before it stops */
#define DRAIN_MS 1000

/* ---- direct-tcpip ----------------------------------------------------------- */

int xssh_session_direct_tcpip(xssh_channel **out, xssh_session *s, const char *host, int port, const char *shost,
                              int sport)
{
    XSSH__ARG(s, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, host && *host, "host is NULL or empty");
    XSSH__ARG(s, port > 0 && port < 65536, "port must be 1..65535");
    if (!shost || !*shost)
        shost = "127.0.0.1";
    if (sport <= 0)
        sport = 22;
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, NULL);
    if (rc)
        return rc;
    /* a multi operation cancelled meanwhile finishes the open within the grace:
       libssh2 1.10 keeps one open state machine per session, and an open left
       half-done would hand its channel to the session's next open */
    op.finish = 1;
    xssh__open_begin(s, &op);
    LIBSSH2_CHANNEL *raw;
    do {
        raw = libssh2_channel_direct_tcpip_ex(s->ssh, host, port, shost, sport);
        rc = raw ? 0 : libssh2_session_last_errno(s->ssh);
    } while (!raw && rc == LIBSSH2_ERROR_EAGAIN && xssh__op_again(&op, &rc));
    xssh__open_end(s, &op);
    if (!raw && op.intr && rc != XSSH_ETIMEOUT && rc != XSSH_ECANCELLED && rc != XSSH_ECLOSED)
        rc = op.intr; /* refused after the interruption: the interruption is the cause */
    if (!raw) {
        xssh__op_end(&op);
        if (rc == XSSH_ETIMEOUT || rc == XSSH_ECLOSED || rc == XSSH_ECANCELLED)
            return xssh__fail(s, rc, 0, "direct_tcpip to %s:%d: %s", host, port, xssh_strerror(rc));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return xssh__fail(s, XSSH_EAGAIN, rc, "direct_tcpip to %s:%d: would block", host, port);
        return xssh__fail_ssh(s, rc, "direct_tcpip: the server could not open a channel to %s:%d", host, port);
    }
    rc = xssh__chan_wrap(s, raw, out);
    xssh__op_end(&op);
    return rc;
}

/* ---- listener ------------------------------------------------------------------ */

struct xssh_listener {
    xssh__refcount refs;
    xssh_session *s;
    LIBSSH2_LISTENER *l;
    int port;
    _Atomic int closed;
};

int xssh_session_forward_listen(xssh_listener **out, xssh_session *s, const char *host, int port, int queue_maxsize,
                                int *bound_port)
{
    XSSH__ARG(s, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, port >= 0 && port < 65536, "port must be 0..65535");
    if (queue_maxsize <= 0)
        queue_maxsize = 16;
    xssh_listener *l = calloc(1, sizeof *l);
    if (!l)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, NULL);
    if (rc) {
        free(l);
        return rc;
    }
    LIBSSH2_LISTENER *raw;
    int bound = 0;
    do {
        raw = libssh2_channel_forward_listen_ex(s->ssh, host && *host ? host : NULL, port, &bound, queue_maxsize);
        rc = raw ? 0 : libssh2_session_last_errno(s->ssh);
    } while (!raw && rc == LIBSSH2_ERROR_EAGAIN && xssh__op_again(&op, &rc));
    if (!raw) {
        xssh__op_end(&op);
        free(l);
        if (rc == XSSH_ETIMEOUT || rc == XSSH_ECLOSED)
            return xssh__fail(s, rc, 0, "forward_listen on %s:%d: %s", host ? host : "*", port, xssh_strerror(rc));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return xssh__fail(s, XSSH_EAGAIN, rc, "forward_listen: would block");
        return xssh__fail_ssh(s, rc, "forward_listen: the server refused to listen on %s:%d", host ? host : "*",
                              port);
    }
    xssh__ref_init(&l->refs);
    l->s = xssh_session_ref(s);
    l->l = raw;
    l->port = port ? port : bound;
    xssh__op_end(&op);
    if (bound_port)
        *bound_port = l->port;
    *out = l;
    return xssh__ok();
}

xssh_listener *xssh_listener_ref(xssh_listener *l)
{
    if (l)
        xssh__ref_inc(&l->refs);
    return l;
}

void xssh_listener_unref(xssh_listener *l)
{
    if (!l || !xssh__ref_dec(&l->refs))
        return;
    if (!atomic_load(&l->closed))
        xssh__session_orphan(l->s, XSSH__ORPHAN_LISTENER, l->l);
    xssh_session_unref(l->s);
    free(l);
}

int xssh_listener_bound_port(xssh_listener *l, int *port)
{
    XSSH__ARG(NULL, l, "listener is NULL");
    XSSH__ARG(l->s, port, "port is NULL");
    *port = l->port;
    return xssh__ok();
}

int xssh_listener_accept(xssh_listener *l, xssh_channel **out)
{
    XSSH__ARG(NULL, l, "listener is NULL");
    XSSH__ARG(l->s, out, "out is NULL");
    *out = NULL;
    xssh_session *s = l->s;
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, &l->closed);
    if (rc)
        return rc;
    LIBSSH2_CHANNEL *raw;
    do {
        raw = libssh2_channel_forward_accept(l->l);
        rc = raw ? 0 : libssh2_session_last_errno(s->ssh);
    } while (!raw && rc == LIBSSH2_ERROR_EAGAIN && xssh__op_again(&op, &rc));
    if (!raw) {
        xssh__op_end(&op);
        if (rc == XSSH_ETIMEOUT || rc == XSSH_ECLOSED)
            return xssh__fail(s, rc, 0, "forward_accept on port %d: %s", l->port, xssh_strerror(rc));
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return xssh__fail(s, XSSH_EAGAIN, rc, "forward_accept: would block");
        return xssh__fail_ssh(s, rc, "forward_accept on port %d", l->port);
    }
    rc = xssh__chan_wrap(s, raw, out);
    xssh__op_end(&op);
    return rc;
}

int xssh_listener_cancel(xssh_listener *l)
{
    XSSH__ARG(NULL, l, "listener is NULL");
    if (atomic_load(&l->closed))
        return xssh__ok();
    xssh_session *s = l->s;
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, NULL);
    if (rc) {
        atomic_store(&l->closed, 1); /* the session is gone: nothing to cancel */
        return rc == XSSH_ECLOSED ? xssh__ok() : rc;
    }
    while ((rc = libssh2_channel_forward_cancel(l->l)) == LIBSSH2_ERROR_EAGAIN && xssh__op_again(&op, &rc))
        ;
    if (rc == LIBSSH2_ERROR_EAGAIN) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EAGAIN, rc, "forward_cancel: would block");
    }
    atomic_store(&l->closed, 1); /* libssh2 freed the listener, whatever rc says */
    xssh__op_end(&op);
    return rc && rc != XSSH_ETIMEOUT && rc != XSSH_ECLOSED ? xssh__fail_ssh(s, rc, "forward_cancel") : xssh__ok();
}

/* ---- the pump: links between sockets and channels ------------------------------ */

typedef struct fwd_link {
    struct fwd_link *next;
    int fd;
    xssh_channel *ch;
    char *to_ch;          /* socket → channel */
    size_t to_ch_len, to_ch_off;
    char *to_fd;          /* channel → socket */
    size_t to_fd_len, to_fd_off;
    int fd_eof;           /* read EOF from the socket */
    int ch_eof_sent;
    int ch_eof;           /* the channel reached EOF */
    int fd_shut;          /* shutdown(SHUT_WR) done */
    int dead;             /* error: tear down */
} fwd_link;

typedef enum { FWD_LOCAL = 1, FWD_REMOTE, FWD_VIA } fwd_kind;

struct xssh_forward {
    xssh__refcount refs;
    xssh_session *s;
    fwd_kind kind;
    int listen_fd;            /* local: our listening socket */
    xssh_listener *listener;  /* remote: the server's */
    char *dest_host;
    int dest_port;
    int port;
    fwd_link *links;
    pthread_t thread;
    int started;
    _Atomic int stop;
    _Atomic int running;
    int wake[2];
    pthread_mutex_t lock;     /* stats + last_error */
    xssh_forward_stats stats;
    char *last_error;
    /* FWD_VIA: the target is gone; stop once everything it wrote is carried
       (socket EOF read, channel EOF sent) or at drain_until (monotonic ms) */
    _Atomic int drain;
    _Atomic int64_t drain_until;
    /* FWD_VIA: the session it carries (no reference: via_release clears it, under
       lock, before the target goes); told why when the hop fails (via_note) */
    xssh_session *carried;
    /* the live-pump registry; under live_lock */
    struct xssh_forward *live_next, *live_prev;
    int registered;           /* thread started and not joined yet */
    int join_claimed;         /* a thread is joining it (reap) */
};

/* ---- the live-pump registry ---------------------------------------------------- */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cond = PTHREAD_COND_INITIALIZER; /* a pump was joined or unclaimed */
static xssh_forward *live_fwds;

static void fwd_wake(xssh_forward *f)
{
    ssize_t w = write(f->wake[1], "x", 1);
    (void)w;
}

static void live_unlink(xssh_forward *f) /* live_lock held */
{
    if (f->live_prev)
        f->live_prev->live_next = f->live_next;
    else
        live_fwds = f->live_next;
    if (f->live_next)
        f->live_next->live_prev = f->live_prev;
    f->live_next = f->live_prev = NULL;
    f->registered = 0;
}

/* Stop and join pumps: the one forward `one`, or every forward of session `only`,
   or all of them (both NULL). hard: set their stop flag (else only wake them: a
   draining carrier ends by itself). deadline (CLOCK_REALTIME; NULL: none) bounds
   the joins. The calling thread's own pump is never joined. Returns 0 when every
   matching pump was joined, -1 when the deadline passed first. */
static int reap(xssh_session *only, xssh_forward *one, int hard, const struct timespec *deadline)
{
    pthread_t self = pthread_self();
    int rc = 0;
    pthread_mutex_lock(&live_lock);
    for (;;) {
        xssh_forward *pick = NULL;
        int busy = 0;
        for (xssh_forward *f = live_fwds; f; f = f->live_next) {
            if ((one && f != one) || (!one && only && f->s != only) || pthread_equal(f->thread, self))
                continue;
            if (hard)
                atomic_store(&f->stop, 1);
            fwd_wake(f);
            if (!f->join_claimed) {
                pick = f;
                break;
            }
            busy = 1; /* another thread is joining it: wait for that */
        }
        if (pick) {
            pick->join_claimed = 1;
            pthread_mutex_unlock(&live_lock);
            int j = deadline ? pthread_timedjoin_np(pick->thread, NULL, deadline) : pthread_join(pick->thread, NULL);
            pthread_mutex_lock(&live_lock);
            pick->join_claimed = 0;
            if (j == 0) {
                live_unlink(pick);
                pick->started = 0;
            }
            pthread_cond_broadcast(&live_cond);
            if (j != 0) {
                rc = -1;
                break;
            }
            continue;
        }
        if (!busy)
            break;
        if (deadline) {
            if (pthread_cond_timedwait(&live_cond, &live_lock, deadline) == ETIMEDOUT) {
                rc = -1;
                break;
            }
        } else {
            pthread_cond_wait(&live_cond, &live_lock);
        }
    }
    pthread_mutex_unlock(&live_lock);
    return rc;
}

int xssh__forwards_reap_all(const struct timespec *deadline) { return reap(NULL, NULL, 1, deadline); }

void xssh__forwards_atfork(int phase)
{
    if (phase == 0) {
        pthread_mutex_lock(&live_lock);
        return;
    }
    if (phase == 2) {
        /* the child has none of these threads: nobody may join them there */
        while (live_fwds) {
            xssh_forward *f = live_fwds;
            live_unlink(f);
            f->started = 0;
            f->join_claimed = 0;
            atomic_store(&f->running, 0);
        }
    }
    pthread_mutex_unlock(&live_lock);
}

static void fwd_error(xssh_forward *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fwd_error(xssh_forward *f, const char *fmt, ...)
{
    char *m = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&m, fmt, ap) < 0)
        m = NULL;
    va_end(ap);
    pthread_mutex_lock(&f->lock);
    free(f->last_error);
    f->last_error = m;
    f->stats.failed++;
    pthread_mutex_unlock(&f->lock);
}

/* FWD_VIA: the hop failed (code: XSSH_ETIMEOUT or an XSSH_ESOCKET_*), so the
   carried session is about to see end of stream: record the hop's cause on it
   first, so its errors name that cause whether its own wait or the end of
   stream ends them (the first transport failure wins, xssh__transport_cause). */
static void via_note(xssh_forward *f, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void via_note(xssh_forward *f, int code, const char *fmt, ...)
{
    if (f->kind != FWD_VIA)
        return;
    if (code != XSSH_ETIMEOUT && code != XSSH_ESOCKET_SEND && code != XSSH_ESOCKET_RECV &&
        code != XSSH_ESOCKET_DISCONNECT)
        return;
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&f->lock);
    if (f->carried)
        xssh__note_carrier_failure(f->carried, code, m);
    pthread_mutex_unlock(&f->lock);
}

static fwd_link *link_new(xssh_forward *f, int fd, xssh_channel *ch)
{
    fwd_link *k = calloc(1, sizeof *k);
    if (k) {
        k->to_ch = malloc(LINK_BUF);
        k->to_fd = malloc(LINK_BUF);
    }
    if (!k || !k->to_ch || !k->to_fd) {
        if (k) {
            free(k->to_ch);
            free(k->to_fd);
        }
        free(k);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on a socketpair */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    k->fd = fd;
    k->ch = ch;
    k->next = f->links;
    f->links = k;
    pthread_mutex_lock(&f->lock);
    f->stats.accepted++;
    f->stats.active++;
    pthread_mutex_unlock(&f->lock);
    return k;
}

static void link_free(xssh_forward *f, fwd_link *k)
{
    if (k->fd >= 0)
        close(k->fd);
    if (k->ch) {
        xssh_channel_close(k->ch); /* non-blocking on the pump thread; the unref finishes it lazily */
        xssh_channel_unref(k->ch);
    }
    free(k->to_ch);
    free(k->to_fd);
    free(k);
    pthread_mutex_lock(&f->lock);
    f->stats.active--;
    pthread_mutex_unlock(&f->lock);
}

/* Move what can be moved on one fwd_link without blocking. Returns 1 on progress. */
static int link_step(xssh_forward *f, fwd_link *k)
{
    int progress = 0;
    /* socket → channel */
    if (k->to_ch_off == k->to_ch_len && !k->fd_eof) {
        ssize_t n = recv(k->fd, k->to_ch, LINK_BUF, MSG_DONTWAIT);
        if (n > 0) {
            k->to_ch_len = (size_t)n;
            k->to_ch_off = 0;
            progress = 1;
        } else if (n == 0) {
            k->fd_eof = 1;
            progress = 1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            k->fd_eof = 1; /* reset by the peer: treat as end of input */
        }
    }
    while (k->to_ch_off < k->to_ch_len) {
        size_t w = 0;
        int rc = xssh_channel_write(k->ch, k->to_ch + k->to_ch_off, k->to_ch_len - k->to_ch_off, &w);
        k->to_ch_off += w;
        if (w) {
            progress = 1;
            pthread_mutex_lock(&f->lock);
            f->stats.bytes_out += w;
            pthread_mutex_unlock(&f->lock);
        }
        if (rc == XSSH_EAGAIN)
            break;
        if (rc < 0) {
            fwd_error(f, "writing to the channel: %s", xssh_error_last()->message);
            via_note(f, xssh_error_last()->code, "the ProxyJump hop %s:%d failed: %s", f->s->host ? f->s->host : "?",
                     f->s->port, xssh_error_last()->message);
            k->dead = 1;
            return 1;
        }
    }
    if (k->fd_eof && k->to_ch_off == k->to_ch_len && !k->ch_eof_sent) {
        int rc = xssh_channel_send_eof(k->ch);
        if (rc == XSSH_OK || (rc < 0 && rc != XSSH_EAGAIN)) {
            k->ch_eof_sent = 1;
            progress = 1;
        }
    }
    /* channel → socket */
    if (k->to_fd_off == k->to_fd_len && !k->ch_eof) {
        size_t got = 0;
        int rc = xssh_channel_read(k->ch, k->to_fd, LINK_BUF, &got);
        if (rc >= 0 && got > 0) {
            k->to_fd_len = got;
            k->to_fd_off = 0;
            progress = 1;
            pthread_mutex_lock(&f->lock);
            f->stats.bytes_in += got;
            pthread_mutex_unlock(&f->lock);
        } else if (rc == XSSH_EAGAIN) {
            int e = 0;
            if (xssh_channel_eof(k->ch, &e) == XSSH_OK && e) {
                k->ch_eof = 1;
                progress = 1;
            }
        } else if (rc >= 0) {
            k->ch_eof = 1; /* a read of 0 bytes: EOF */
            progress = 1;
        } else {
            k->ch_eof = 1;
            fwd_error(f, "reading from the channel: %s", xssh_error_last()->message);
            via_note(f, xssh_error_last()->code, "the ProxyJump hop %s:%d failed: %s", f->s->host ? f->s->host : "?",
                     f->s->port, xssh_error_last()->message);
            k->dead = 1;
            return 1;
        }
    }
    while (k->to_fd_off < k->to_fd_len) {
        ssize_t n = send(k->fd, k->to_fd + k->to_fd_off, k->to_fd_len - k->to_fd_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            k->to_fd_off += (size_t)n;
            progress = 1;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            break;
        } else {
            /* the local peer went away: drop what the channel still sends */
            k->to_fd_off = k->to_fd_len;
            k->ch_eof = 1;
            k->fd_eof = 1;
            break;
        }
    }
    if (k->ch_eof && k->to_fd_off == k->to_fd_len && !k->fd_shut) {
        shutdown(k->fd, SHUT_WR);
        k->fd_shut = 1;
        progress = 1;
    }
    return progress;
}

static int link_done(const fwd_link *k)
{
    return k->dead || (k->fd_eof && k->ch_eof_sent && k->ch_eof && k->fd_shut && k->to_ch_off == k->to_ch_len &&
                       k->to_fd_off == k->to_fd_len);
}

/* Blocking channel opens from the pump thread (serialised with other opens). */
static int open_direct(xssh_forward *f, xssh_channel **ch)
{
    xssh__tls_nonblocking = 2;
    int rc = xssh_session_direct_tcpip(ch, f->s, f->dest_host, f->dest_port, "127.0.0.1", 0);
    xssh__tls_nonblocking = 1;
    return rc;
}

static int tcp_connect(const char *host, int port, char *err, size_t errlen)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(g));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void accept_new(xssh_forward *f)
{
    if (f->kind == FWD_LOCAL) {
        for (;;) {
            int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0)
                return;
            xssh_channel *ch = NULL;
            if (open_direct(f, &ch) != XSSH_OK) {
                fwd_error(f, "local forward to %s:%d: %s", f->dest_host, f->dest_port, xssh_error_last()->message);
                close(fd);
                continue;
            }
            if (!link_new(f, fd, ch)) {
                fwd_error(f, "out of memory");
                close(fd);
                xssh_channel_unref(ch);
            }
        }
    } else if (f->kind == FWD_REMOTE) {
        for (;;) {
            xssh_channel *ch = NULL;
            int rc = xssh_listener_accept(f->listener, &ch);
            if (rc != XSSH_OK) {
                if (rc != XSSH_EAGAIN)
                    fwd_error(f, "remote forward: accept: %s", xssh_error_last()->message);
                return;
            }
            char err[256] = "";
            int fd = tcp_connect(f->dest_host, f->dest_port, err, sizeof err);
            if (fd < 0) {
                fwd_error(f, "remote forward: %s", err);
                xssh_channel_close(ch);
                xssh_channel_unref(ch);
                continue;
            }
            if (!link_new(f, fd, ch)) {
                fwd_error(f, "out of memory");
                close(fd);
                xssh_channel_unref(ch);
            }
        }
    }
}

/* Dead-peer detection while connections are open (xssh__liveness_check, the
   rule run() follows): after a session timeout without a byte from the server a
   probe goes out on the first connection's channel; when the server stays
   silent as long again every connection is torn down (local sockets closed, a
   ProxyJump target sees EOF) and the forward's last error says why. */
static void liveness_reset(xssh_forward *f, xssh__liveness *lv)
{
    if (lv->active) {
        xssh__op op = {f->s, 0, 0, NULL, 0, 0, 0};
        xssh__liveness_end(&op, lv);
    }
    memset(lv, 0, sizeof *lv);
}

static void check_peer(xssh_forward *f, xssh__liveness *lv)
{
    xssh__op op;
    if (xssh__op_begin(&op, f->s, 1, NULL) != XSSH_OK)
        return;
    int64_t r = xssh__liveness_check(&op, f->links->ch, lv);
    long t, wait;
    xssh__liveness_params(f->s, &t, &wait);
    xssh__op_end(&op);
    if (r >= 0)
        return;
    fwd_error(f, "the server sent nothing for %ld ms and did not answer a keepalive within %ld ms more: the connection "
                 "is presumed dead; its connections were closed", t, wait);
    via_note(f, XSSH_ETIMEOUT,
             "the ProxyJump hop %s:%d that carried it sent nothing for %ld ms and did not answer a keepalive within "
             "%ld ms more: the hop timed out and is presumed dead",
             f->s->host ? f->s->host : "?", f->s->port, t, wait);
    for (fwd_link *k = f->links; k; k = k->next)
        k->dead = 1;
    memset(lv, 0, sizeof *lv);
}

static void *pump(void *arg)
{
    xssh_forward *f = arg;
    xssh__tls_nonblocking = 1;
    xssh__liveness lv = {0};
    int sess_fd = -1;
    xssh_session_socket(f->s, &sess_fd);
    while (!atomic_load(&f->stop)) {
        int progress = 1;
        for (int rounds = 0; progress && rounds < 64 && !atomic_load(&f->stop); rounds++) {
            progress = 0;
            /* a channel's read drains the session's socket into libssh2's queue:
               input for a link stepped earlier in this round is announced by no
               poll, so input read at all means another round (rx_count) */
            unsigned long rx_gen = atomic_load(&f->s->rx_count);
            accept_new(f);
            for (fwd_link **pp = &f->links; *pp;) {
                fwd_link *k = *pp;
                progress |= link_step(f, k);
                if (link_done(k)) {
                    *pp = k->next;
                    link_free(f, k);
                    progress = 1;
                } else {
                    pp = &k->next;
                }
            }
            if (f->kind == FWD_VIA && !f->links)
                goto out; /* the carried session is gone */
            if (atomic_load(&f->s->rx_count) != rx_gen)
                progress = 1;
        }
        if (f->links && !atomic_load(&f->stop))
            check_peer(f, &lv);
        else
            liveness_reset(f, &lv);
        if (atomic_load(&f->drain)) {
            int drained = 1;
            for (fwd_link *k = f->links; k; k = k->next)
                if (!k->dead && !(k->fd_eof && k->to_ch_off == k->to_ch_len && k->ch_eof_sent))
                    drained = 0;
            if (drained || xssh__now_ms() >= atomic_load(&f->drain_until))
                goto out;
        }
        /* wait for any socket, the session, or stop */
        size_t n = 0, cap = 3;
        for (fwd_link *k = f->links; k; k = k->next)
            cap++;
        struct pollfd *p = calloc(cap, sizeof *p);
        if (!p)
            break;
        p[n++] = (struct pollfd){f->wake[0], POLLIN, 0};
        if (sess_fd >= 0) {
            int dirs = 0;
            xssh_session_block_directions(f->s, &dirs);
            p[n++] = (struct pollfd){sess_fd, (short)(POLLIN | ((dirs & XSSH_BLOCK_OUTBOUND) ? POLLOUT : 0)), 0};
        }
        if (f->kind == FWD_LOCAL)
            p[n++] = (struct pollfd){f->listen_fd, POLLIN, 0};
        for (fwd_link *k = f->links; k; k = k->next) {
            short ev = 0;
            if (k->to_ch_off == k->to_ch_len && !k->fd_eof)
                ev |= POLLIN;
            if (k->to_fd_off < k->to_fd_len)
                ev |= POLLOUT;
            if (ev)
                p[n++] = (struct pollfd){k->fd, ev, 0};
        }
        poll(p, (nfds_t)n, POLL_MS);
        if (p[0].revents & POLLIN) {
            char c[16];
            while (read(f->wake[0], c, sizeof c) > 0)
                ;
        }
        free(p);
    }
out:
    liveness_reset(f, &lv);
    while (f->links) {
        fwd_link *k = f->links;
        f->links = k->next;
        link_free(f, k);
    }
    atomic_store(&f->running, 0);
    return NULL;
}

static xssh_forward *fwd_alloc(xssh_session *s, fwd_kind kind, const char *dest_host, int dest_port)
{
    xssh_forward *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    xssh__ref_init(&f->refs);
    f->kind = kind;
    f->listen_fd = -1;
    f->wake[0] = f->wake[1] = -1;
    f->dest_port = dest_port;
    f->dest_host = dest_host ? xssh__strdup(dest_host) : NULL;
    pthread_mutex_init(&f->lock, NULL);
    if ((dest_host && !f->dest_host) || pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(f->dest_host);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
    }
    f->s = xssh_session_ref(s);
    return f;
}

static void fwd_free(xssh_forward *f)
{
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    if (f->listener) {
        if (f->s && atomic_load(&f->s->state) == XSSH__STATE_READY)
            xssh_listener_cancel(f->listener);
        xssh_listener_unref(f->listener);
    }
    close(f->wake[0]);
    close(f->wake[1]);
    free(f->dest_host);
    free(f->last_error);
    pthread_mutex_destroy(&f->lock);
    xssh_session_unref(f->s);
    free(f);
}

/* Start the pump and register it. -1: no thread; XSSH_ECLOSED: the session was
   closed (or the process is exiting) meanwhile: nothing left running. A close
   marks the session closed before it reaps, and registration is under the same
   lock as reaping, so a pump is either reaped by that close or sees it here. */
static int fwd_start(xssh_forward *f)
{
    pthread_mutex_lock(&live_lock);
    if (atomic_load(&xssh__exiting)) {
        pthread_mutex_unlock(&live_lock);
        return XSSH_ECLOSED;
    }
    atomic_store(&f->running, 1);
    if (pthread_create(&f->thread, NULL, pump, f) != 0) {
        atomic_store(&f->running, 0);
        pthread_mutex_unlock(&live_lock);
        return -1;
    }
    pthread_setname_np(f->thread, f->kind == FWD_LOCAL    ? "xssh-fwd-local"
                                  : f->kind == FWD_REMOTE ? "xssh-fwd-remote"
                                                          : "xssh-proxyjump");
    f->started = 1;
    f->registered = 1;
    f->live_prev = NULL;
    f->live_next = live_fwds;
    if (live_fwds)
        live_fwds->live_prev = f;
    live_fwds = f;
    pthread_mutex_unlock(&live_lock);
    if (atomic_load(&f->s->state) == XSSH__STATE_CLOSED) {
        reap(NULL, f, 1, NULL);
        return XSSH_ECLOSED;
    }
    return 0;
}

/* fwd_start failed: the error to report */
static int fwd_start_fail(xssh_session *s, int rc, const char *what)
{
    if (rc == XSSH_ECLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "%s: the session was closed (or the process is exiting)", what);
    return xssh__fail(s, XSSH_ENOMEM, 0, "%s: cannot start the forwarding thread", what);
}

int xssh__tcp_listen(const char *host, int port, int *err, int *gai)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    *err = 0;
    *gai = xssh__getaddrinfo(host, ps, &hints, &res); /* (a multi operation: off-thread) */
    if (*gai)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            *err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            *err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0 && !*err)
        *err = EADDRNOTAVAIL;
    return fd;
}

int xssh_forward_local(xssh_forward **out, xssh_session *s, const char *bind_host, int bind_port,
                       const char *dest_host, int dest_port)
{
    XSSH__ARG(s, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, dest_host && *dest_host, "dest_host is NULL or empty");
    XSSH__ARG(s, dest_port > 0 && dest_port < 65536, "dest_port must be 1..65535");
    XSSH__ARG(s, bind_port >= 0 && bind_port < 65536, "bind_port must be 0..65535");
    int st = atomic_load(&s->state);
    if (st != XSSH__STATE_READY)
        return xssh__fail(s, st == XSSH__STATE_CLOSED ? XSSH_ECLOSED : XSSH_ENOTCONNECTED, 0,
                          "forward_local: the session is %s", st == XSSH__STATE_CLOSED ? "closed" : "not connected");
    if (!bind_host || !*bind_host)
        bind_host = "127.0.0.1";
    int err = 0, g = 0;
    int fd = xssh__tcp_listen(bind_host, bind_port, &err, &g);
    if (g)
        return xssh__fail(s, XSSH_ERESOLVE, 0, "forward_local: cannot resolve %s: %s", bind_host, gai_strerror(g));
    if (fd < 0)
        return xssh__fail(s, XSSH_ECONNECT, 0, "forward_local: cannot listen on %s:%d: %s", bind_host, bind_port,
                          strerror(err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    xssh_forward *f = fwd_alloc(s, FWD_LOCAL, dest_host, dest_port);
    if (!f) {
        close(fd);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    f->listen_fd = fd;
    f->port = port;
    int rc = fwd_start(f);
    if (rc != 0) {
        fwd_free(f);
        return fwd_start_fail(s, rc, "forward_local");
    }
    *out = f;
    return xssh__ok();
}

int xssh_forward_remote(xssh_forward **out, xssh_session *s, const char *listen_host, int listen_port,
                        const char *dest_host, int dest_port)
{
    XSSH__ARG(s, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, dest_host && *dest_host, "dest_host is NULL or empty");
    XSSH__ARG(s, dest_port > 0 && dest_port < 65536, "dest_port must be 1..65535");
    xssh_listener *l = NULL;
    int bound = 0;
    int rc = xssh_session_forward_listen(&l, s, listen_host, listen_port, 0, &bound);
    if (rc)
        return rc;
    xssh_forward *f = fwd_alloc(s, FWD_REMOTE, dest_host, dest_port);
    if (!f) {
        xssh_listener_unref(l);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    f->listener = l;
    f->port = bound;
    rc = fwd_start(f);
    if (rc != 0) {
        fwd_free(f);
        return fwd_start_fail(s, rc, "forward_remote");
    }
    *out = f;
    return xssh__ok();
}

int xssh_forward_port(xssh_forward *f, int *port)
{
    XSSH__ARG(NULL, f, "forward is NULL");
    XSSH__ARG(NULL, port, "port is NULL");
    *port = f->port;
    return xssh__ok();
}

int xssh_forward_get_stats(xssh_forward *f, xssh_forward_stats *out)
{
    XSSH__ARG(NULL, f, "forward is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    pthread_mutex_lock(&f->lock);
    *out = f->stats;
    pthread_mutex_unlock(&f->lock);
    return xssh__ok();
}

int xssh_forward_last_error(xssh_forward *f, char **out)
{
    XSSH__ARG(NULL, f, "forward is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    pthread_mutex_lock(&f->lock);
    *out = xssh__strdup(f->last_error ? f->last_error : "");
    pthread_mutex_unlock(&f->lock);
    return *out ? xssh__ok() : xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_forward_is_running(xssh_forward *f, int *running)
{
    XSSH__ARG(NULL, f, "forward is NULL");
    XSSH__ARG(NULL, running, "running is NULL");
    *running = atomic_load(&f->running);
    return xssh__ok();
}

int xssh_forward_stop(xssh_forward *f)
{
    XSSH__ARG(NULL, f, "forward is NULL");
    atomic_store(&f->stop, 1);
    fwd_wake(f);
    reap(NULL, f, 1, NULL);
    pthread_mutex_lock(&live_lock);
    int joined = !f->registered;
    pthread_mutex_unlock(&live_lock);
    if (joined && f->listen_fd >= 0) { /* joined: refuse new connections at once */
        close(f->listen_fd);
        f->listen_fd = -1;
    }
    return xssh__ok();
}

xssh_forward *xssh_forward_ref(xssh_forward *f)
{
    if (f)
        xssh__ref_inc(&f->refs);
    return f;
}

void xssh_forward_unref(xssh_forward *f)
{
    if (!f || !xssh__ref_dec(&f->refs))
        return;
    xssh_forward_stop(f);
    fwd_free(f);
}

/* ---- ProxyJump -------------------------------------------------------------------- */

/* Re-record the calling thread's last error on the target, with context. */
static int fail_via(xssh_session *target, int rc, const char *host, int port)
{
    const xssh_error *e = xssh_error_last();
    return xssh__fail(target, rc, e->libssh2_code, "connect_via %s:%d: %s", host, port, e->message);
}

/* The target is closed or freed (its end of the socket pair shut down or
   closed): let the carrier pass on what the target wrote last (its DISCONNECT),
   bounded by DRAIN_MS, join it, and drop the target's reference on it (and so on
   the jump session, which may release the next hop in turn). */
static void via_release(void *p)
{
    xssh_forward *f = p;
    pthread_mutex_lock(&f->lock);
    f->carried = NULL; /* the target is going: nothing more to tell it */
    pthread_mutex_unlock(&f->lock);
    atomic_store(&f->drain_until, xssh__now_ms() + DRAIN_MS);
    atomic_store(&f->drain, 1);
    reap(NULL, f, 0, NULL);
    xssh_forward_unref(f);
}

void xssh__session_stop_threads(xssh_session *s)
{
    /* every forward of s (their blocking channel opens see the session closed) */
    ssize_t w = write(s->wake_pipe[1], "cccccccccccccccc", 16);
    (void)w;
    xssh__wake_threads(s);
    reap(s, NULL, 1, NULL);
    /* the carrier of s and, through it, the hops of s */
    xssh__lock(s);
    void *via = s->via;
    void (*release)(void *) = s->via_release;
    s->via = NULL;
    s->via_release = NULL;
    if (release && s->owns_fd && s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR); /* the carrier sees EOF (a failed handshake left it open) */
    xssh__unlock(s);
    if (release)
        release(via);
}

int xssh_session_connect_via(xssh_session *target, xssh_session *jump, const char *host, int port, int timeout_ms)
{
    XSSH__ARG(NULL, target, "target session is NULL");
    XSSH__ARG(target, jump, "jump session is NULL");
    XSSH__ARG(target, jump != target, "a session cannot jump through itself");
    XSSH__ARG(target, host && *host, "host is NULL or empty");
    XSSH__ARG(target, port > 0 && port < 65536, "port must be 1..65535");
    if (atomic_load(&target->state) != XSSH__STATE_NEW || target->via)
        return xssh__fail(target, XSSH_EARG, 0, "connect_via: the target session is already connected");
    xssh_channel *ch = NULL;
    int rc = xssh_session_direct_tcpip(&ch, jump, host, port, NULL, 0);
    if (rc)
        return fail_via(target, rc, host, port);
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
        xssh_channel_unref(ch);
        return xssh__fail(target, XSSH_ECONNECT, 0, "connect_via: socketpair: %s", strerror(errno));
    }
    xssh_forward *f = fwd_alloc(jump, FWD_VIA, NULL, 0);
    if (!f || !link_new(f, sp[1], ch)) {
        if (f)
            fwd_free(f);
        close(sp[0]);
        close(sp[1]);
        xssh_channel_unref(ch);
        return xssh__fail(target, XSSH_ENOMEM, 0, "out of memory");
    }
    f->port = port;
    f->carried = target;
    rc = fwd_start(f);
    if (rc != 0) {
        /* not started: fwd_free frees the link's socket and channel; started and
           reaped (the jump session was closed meanwhile): the pump freed them */
        while (f->links) {
            fwd_link *k = f->links;
            f->links = k->next;
            link_free(f, k);
        }
        fwd_free(f);
        close(sp[0]);
        return fwd_start_fail(target, rc, "connect_via");
    }
    free(target->host);
    target->host = xssh__strdup(host);
    target->port = port;
    long saved = target->timeout_ms;
    if (timeout_ms > 0)
        target->timeout_ms = timeout_ms;
    rc = xssh_session_handshake(target, sp[0]);
    target->timeout_ms = saved;
    xssh__lock(target);
    target->owns_fd = 1; /* closed with the session, which stops the pump */
    target->via = f;
    target->via_release = via_release;
    xssh__unlock(target);
    if (rc)
        return fail_via(target, rc, host, port);
    return xssh__ok();
}
