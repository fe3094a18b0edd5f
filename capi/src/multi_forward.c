/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local forward as a multi operation (xssh_multi_add_forward_local, multi.h):
 * `ssh -L` on the multi's thread, without threads.
 *
 * Shape: the op's own fiber is the acceptor. It waits for its listening socket
 * (key: the session, so a close of the session wakes it) and starts, per
 * accepted connection, internal tasks of the same multi (xssh__tasks_add, each on
 * its own stack):
 *   - the connection's first task opens its direct-tcpip channel
 *     (xssh_session_direct_tcpip: the library's blocking open, serialised with
 *     every other open of the session by open_lock, finished within the grace
 *     when cancelled), starts the second task, then carries channel -> socket;
 *   - the second task carries socket -> channel.
 * Two tasks per connection rather than one waiting on two sockets: the library's
 * one wait (xssh__wait) takes one socket, and every path of the scheduler
 * (poll, the external loop's socket callbacks, socket_action) knows one socket
 * per waiting operation; a direction waits only for what it needs (its local
 * socket, or the session socket), so the scheduler stays as it is.
 *
 * Both tasks make non-blocking channel calls (xssh__tls_nonblocking = 1) and wait
 * themselves: for the local socket (key: the connection, so the other direction
 * can wake it when the connection dies), or for the session socket in the
 * directions libssh2 is blocked on, with key = the session. libssh2 reads the
 * packets of every channel whenever any channel is read, so data for this
 * channel may be queued by another task's read while this one sleeps: the
 * session lock's release wakes the key s whenever socket input was consumed
 * under it (xssh__unlock, session.c), so the sleeper looks again.
 *
 * Bounded: one FWD_BUF buffer per direction. The channel is read only when the
 * socket -> local buffer is empty, so a slow local reader stops the reads; the
 * SSH window then throttles the server (libssh2 queues at most a window's worth).
 * A direction that never has to wait gives way every FWD_YIELD bytes or time
 * slice (maybe_yield: xssh__fiber_yield, the multi's one fairness mechanism).
 *
 * Ends: a connection's failure (channel refused, reset, channel error) closes it
 * and counts it failed; a cancel closes the listener, cancels every task (each
 * closes its channel within the grace, then its socket) and the op ends with
 * XSSH_ECANCELLED; a session failure seen by any task (or the session closed)
 * ends the op with that error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "config_internal.h"
#include "connect_internal.h"

#define FWD_BUF (64 * 1024)     /* per direction and connection */
#define FWD_YIELD (256 * 1024)  /* bytes moved without a wait before yielding */
#define FWD_ACCEPT_BURST 64     /* accepts per wake of the listener */
#define FWD_BACKOFF_MS 100      /* out of descriptors: look at the listener again after this */

struct xssh__fwd {
    xssh_session *s;            /* +1 reference */
    int lfd;                    /* the listening socket; -1 once closed */
    char *bind_host;
    int port;                   /* the bound port */
    char *host;                 /* destination, as the server resolves it */
    int dport;
    xssh_forward_stats st;
    xssh__tasks *tasks;
    int fail_rc;                /* the session failed (first seen), with fail_msg */
    char fail_msg[1024];
};

typedef struct fconn {
    struct xssh__fwd *f;
    int fd;
    xssh_channel *ch;
    char peer[NI_MAXHOST];
    int peer_port;
    int refs;                   /* tasks still using it (the last one closes) */
    int dead;                   /* failed or stopped: both directions end */
    int fd_eof, ch_eof;
    char *ubuf, *dbuf;          /* socket -> channel, channel -> socket */
    size_t u_len, u_off, d_len, d_off;
    xssh__liveness lv;          /* the way down's dead-peer rule */
} fconn;

/* ---- small helpers ------------------------------------------------------------- */

static void listener_close(struct xssh__fwd *f)
{
    if (f->lfd >= 0) {
        xssh__fd_closing(f->lfd);
        close(f->lfd);
        f->lfd = -1;
    }
}

static int session_dead(xssh_session *s, char *buf, size_t n)
{
    int code = xssh__transport_cause(s, buf, n);
    if (code)
        return code;
    if (atomic_load(&s->state) == XSSH__STATE_CLOSED) {
        snprintf(buf, n, "the session was closed");
        return XSSH_ECLOSED;
    }
    return 0;
}

/* A connection ends with an error (rc, the message in the task's last error or
   errno_ for the local socket): closed alone and counted failed; when the cause
   is the session itself, the op ends with it. */
static void conn_fail(fconn *c, int rc, int errno_, const char *what)
{
    struct xssh__fwd *f = c->f;
    if (c->dead)
        return;
    c->dead = 1;
    xssh__wake(c);
    xssh__wake(f->s);
    if (rc == XSSH_ECANCELLED)
        return; /* the op is ending: not a failure of this connection */
    f->st.failed++;
    char cause[600];
    if (errno_)
        snprintf(cause, sizeof cause, "%s", strerror(errno_));
    else
        snprintf(cause, sizeof cause, "%s", xssh_error_last()->message);
    xssh__log(XSSH_LOG_WARNING, f->s->log_host ? f->s->log_host : f->s->host,
              "local forward %s:%d -> %s:%d: the connection from %s:%d failed: %s: %s", f->bind_host, f->port,
              f->host, f->dport, c->peer, c->peer_port, what, cause);
    char sess[600];
    int code = session_dead(f->s, sess, sizeof sess);
    if (code && !f->fail_rc) {
        f->fail_rc = code;
        snprintf(f->fail_msg, sizeof f->fail_msg, "local forward %s:%d -> %s:%d: the session failed: %s",
                 f->bind_host, f->port, f->host, f->dport, sess);
    }
}

/* a wait's answer: nonzero when the direction must stop (cancelled, timed out,
   or the connection died meanwhile) */
static int stop_after(fconn *c, int w)
{
    if (w == XSSH_ECANCELLED || w == XSSH_ETIMEOUT) {
        conn_fail(c, XSSH_ECANCELLED, 0, "cancelled");
        return 1;
    }
    return c->dead;
}

/* A direction that moved FWD_YIELD bytes without waiting, or whose task has
   used its time slice (xssh__fiber_slice_over), lets the others run: it gives
   way to the scheduler (xssh__fiber_yield: resumed at the multi's next drive
   call, after the other sockets were looked at; nothing of the session held
   here). A cancel is seen here too, as a wait would see it. */
static int maybe_yield(fconn *c, size_t *moved)
{
    if (*moved < FWD_YIELD && !xssh__fiber_slice_over(0))
        return c->dead;
    *moved = 0;
    xssh__fiber_yield();
    return stop_after(c, xssh__fiber_interrupt());
}

/* After a channel call answered EAGAIN: wait for the session socket in the
   directions libssh2 is blocked on (woken too when another task consumed
   session input: key s) */
static int wait_session(fconn *c)
{
    xssh_session *s = c->f->s;
    int dirs = 0, ev = 0;
    xssh_session_block_directions(s, &dirs);
    if (dirs & XSSH_BLOCK_INBOUND)
        ev |= XSSH__WAIT_IN;
    if (dirs & XSSH_BLOCK_OUTBOUND)
        ev |= XSSH__WAIT_OUT;
    if (!ev)
        ev = XSSH__WAIT_IN; /* the peer's window is full: its WINDOW_ADJUST comes as input */
    return stop_after(c, xssh__wait(s->fd, ev, -1, s, 0, 0));
}

/* The way down waits for the server under the session's dead-peer rule (as
   run() and the threaded forwards: xssh__liveness_check): after the session
   timeout (or ServerAliveInterval) without a byte from the server a probe goes
   out on this channel; no answer in time ends the op with XSSH_ETIMEOUT (the
   session is presumed dead). */
static int wait_server(fconn *c)
{
    struct xssh__fwd *f = c->f;
    xssh_session *s = f->s;
    int64_t next = 0;
    long t = 0, wait = 0;
    xssh__op op;
    if (xssh__op_begin(&op, s, 1, NULL) == XSSH_OK) {
        next = xssh__liveness_check(&op, c->ch, &c->lv);
        xssh__liveness_params(s, &t, &wait);
        xssh__op_end(&op);
    }
    if (next < 0) {
        if (!f->fail_rc) {
            f->fail_rc = XSSH_ETIMEOUT;
            snprintf(f->fail_msg, sizeof f->fail_msg,
                     "local forward %s:%d -> %s:%d: the server sent nothing for %ld ms and did not answer a keepalive "
                     "within %ld ms more: the connection is presumed dead", f->bind_host, f->port, f->host, f->dport,
                     t, wait);
        }
        xssh__fail(NULL, XSSH_ETIMEOUT, 0, "%s", f->fail_msg);
        conn_fail(c, XSSH_ETIMEOUT, 0, "waiting for the server");
        return 1;
    }
    int dirs = 0, ev = XSSH__WAIT_IN;
    xssh_session_block_directions(s, &dirs);
    if (dirs & XSSH_BLOCK_OUTBOUND)
        ev |= XSSH__WAIT_OUT;
    int w = xssh__wait(s->fd, ev, -1, s, next, 0);
    return stop_after(c, w);
}

/* the channel was closed or ended by the server (a write/EOF that fails then is
   the normal end of that direction, not a failure) */
static int chan_remote_ended(fconn *c)
{
    int e = 0;
    return xssh_channel_eof(c->ch, &e) == XSSH_OK && e;
}

/* ---- the two directions ------------------------------------------------------------ */

/* channel -> local socket; ends after the channel's EOF is passed on (shutdown) */
static void carry_down(fconn *c)
{
    struct xssh__fwd *f = c->f;
    size_t moved = 0;
    while (!c->dead) {
        if (c->d_off == c->d_len) {
            if (c->ch_eof) {
                shutdown(c->fd, SHUT_WR);
                return;
            }
            if (maybe_yield(c, &moved))
                return;
            size_t got = 0;
            int rc = xssh_channel_read(c->ch, c->dbuf, FWD_BUF, &got);
            if (rc == XSSH_OK && got) {
                c->d_len = got;
                c->d_off = 0;
                f->st.bytes_in += got;
            } else if (rc == XSSH_OK) {
                c->ch_eof = 1;
            } else if (rc == XSSH_EAGAIN) {
                if (chan_remote_ended(c))
                    c->ch_eof = 1;
                else if (wait_server(c))
                    return;
            } else {
                conn_fail(c, rc, 0, "reading from the channel");
                return;
            }
            continue;
        }
        ssize_t n = send(c->fd, c->dbuf + c->d_off, c->d_len - c->d_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->d_off += (size_t)n;
            moved += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* the local reader is slow: the channel is not read meanwhile */
            if (stop_after(c, xssh__wait(c->fd, XSSH__WAIT_OUT, -1, c, 0, 0)))
                return;
        } else {
            conn_fail(c, 0, n < 0 ? errno : EPIPE, "writing to the local connection");
            return;
        }
    }
}

/* local socket -> channel; ends after the socket's EOF is passed on (channel EOF) */
static void carry_up(fconn *c)
{
    struct xssh__fwd *f = c->f;
    size_t moved = 0;
    while (!c->dead) {
        if (c->u_off == c->u_len) {
            if (c->fd_eof) {
                int rc = xssh_channel_send_eof(c->ch);
                if (rc == XSSH_EAGAIN) {
                    if (wait_session(c))
                        return;
                    continue;
                }
                if (rc != XSSH_OK && !chan_remote_ended(c))
                    conn_fail(c, rc, 0, "sending EOF on the channel");
                return;
            }
            if (maybe_yield(c, &moved))
                return;
            ssize_t n = recv(c->fd, c->ubuf, FWD_BUF, MSG_DONTWAIT);
            if (n > 0) {
                c->u_len = (size_t)n;
                c->u_off = 0;
            } else if (n == 0) {
                c->fd_eof = 1;
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (stop_after(c, xssh__wait(c->fd, XSSH__WAIT_IN, -1, c, 0, 0)))
                    return;
            } else {
                conn_fail(c, 0, errno, "reading from the local connection");
                return;
            }
            continue;
        }
        size_t w = 0;
        int rc = xssh_channel_write(c->ch, c->ubuf + c->u_off, c->u_len - c->u_off, &w);
        c->u_off += w;
        f->st.bytes_out += w;
        moved += w;
        if (rc == XSSH_OK) {
            continue;
        } else if (rc == XSSH_EAGAIN) {
            if (w == 0 && wait_session(c))
                return;
        } else {
            /* the destination closed its end: what the local side still sends
               is dropped (the other direction still delivers what came back) */
            if (!chan_remote_ended(c))
                conn_fail(c, rc, 0, "writing to the channel");
            return;
        }
    }
}

/* the last task of a connection closes it: the channel (waiting for the
   server's CLOSE: within the grace when cancelled), then the socket */
static void conn_release(fconn *c)
{
    if (--c->refs > 0) {
        xssh__wake(c);
        return;
    }
    struct xssh__fwd *f = c->f;
    if (c->lv.active) { /* a probe in flight holds the session's request slot */
        c->lv.active = 0;
        xssh__request_end(f->s, &c->lv);
    }
    if (c->ch) {
        char why[600];
        if (!session_dead(f->s, why, sizeof why)) {
            xssh__tls_nonblocking = 2;
            xssh_channel_close(c->ch); /* its failure changes nothing: the channel is released anyway */
        }
        xssh_channel_unref(c->ch);
    }
    if (c->fd >= 0) {
        xssh__fd_closing(c->fd);
        close(c->fd);
    }
    if (--f->st.active == 0)
        xssh__wake(f); /* the watcher (task_watch) looks at the session again */
    free(c->ubuf);
    free(c->dbuf);
    free(c);
}

static int task_up(void *arg)
{
    fconn *c = arg;
    xssh__tls_nonblocking = 1;
    carry_up(c);
    conn_release(c);
    return XSSH_OK;
}

/* the connection's first task: open its channel, start the other direction,
   carry channel -> socket */
static int task_conn(void *arg)
{
    fconn *c = arg;
    struct xssh__fwd *f = c->f;
    xssh__tls_nonblocking = 2; /* the library's blocking open (a wait of this task) */
    int rc = xssh_session_direct_tcpip(&c->ch, f->s, f->host, f->dport, c->peer, c->peer_port);
    xssh__tls_nonblocking = 1;
    if (rc == XSSH_OK && xssh__fiber_cancelled())
        rc = XSSH_ECANCELLED; /* opened within the grace after a cancel */
    if (rc != XSSH_OK) {
        conn_fail(c, rc, 0, "opening the direct-tcpip channel");
    } else {
        c->refs = 2;
        if (xssh__tasks_add(f->tasks, task_up, c) != XSSH_OK) {
            c->refs = 1;
            conn_fail(c, xssh_error_last()->code, 0, "starting the connection's task");
        } else {
            carry_down(c);
        }
    }
    conn_release(c);
    return XSSH_OK;
}

/* ---- the acceptor (the op's own fiber) ------------------------------------------------ */

/* accept what is waiting; returns 1 when out of descriptors (back off) */
static int accept_some(struct xssh__fwd *f)
{
    for (int i = 0; i < FWD_ACCEPT_BURST && f->lfd >= 0; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(f->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            xssh__log(XSSH_LOG_WARNING, f->s->log_host ? f->s->log_host : f->s->host,
                      "local forward %s:%d: accept: %s", f->bind_host, f->port, strerror(errno));
            return 1; /* EMFILE, ENFILE, ENOBUFS...: the listener stays readable */
        }
        f->st.accepted++;
        f->st.active++;
        fconn *c = calloc(1, sizeof *c);
        char *ub = malloc(FWD_BUF), *db = malloc(FWD_BUF);
        if (!c || !ub || !db) {
            free(c);
            free(ub);
            free(db);
            close(fd);
            f->st.active--;
            f->st.failed++;
            xssh__log(XSSH_LOG_WARNING, NULL, "local forward %s:%d: out of memory for a connection", f->bind_host,
                      f->port);
            continue;
        }
        c->f = f;
        c->fd = fd;
        c->ubuf = ub;
        c->dbuf = db;
        c->refs = 1;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char serv[NI_MAXSERV];
        if (getnameinfo((struct sockaddr *)&ss, sl, c->peer, sizeof c->peer, serv, sizeof serv,
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
            c->peer_port = atoi(serv);
        else
            snprintf(c->peer, sizeof c->peer, "127.0.0.1");
        if (xssh__tasks_add(f->tasks, task_conn, c) != XSSH_OK) {
            conn_fail(c, XSSH_ENOMEM, 0, "starting the connection's task");
            conn_release(c);
        }
    }
    return 0;
}

/* While no connection is open nobody reads the session for this forward, and a
   server that went away (its end of the session socket closed or reset) would go
   unnoticed while the listener waits for a client. This task watches the
   session's socket then: its end (the peer's FIN: POLLRDHUP, seen even behind
   bytes not read yet) or a reset is the end of the session, noted as a transport
   failure and woken on key s, so the op ends with it (xssh__fwd_run's
   session_dead). Bytes waiting (a server keepalive, the late CLOSE of a cancelled
   command's channel) are left to whoever reads the session next: libssh2 1.10 has
   no public call that reads the transport without a channel. The socket stays
   readable meanwhile, so the end behind them is looked for once every
   FWD_WATCH_MS (and whenever the session is read) instead of on readiness: the
   task never spins. */
#define FWD_WATCH_MS 1000
static int task_watch(void *arg)
{
    struct xssh__fwd *f = arg;
    xssh_session *s = f->s;
    char why[600];
    for (;;) {
        int w;
        if (f->lfd < 0 || session_dead(s, why, sizeof why))
            return XSSH_OK; /* the op is ending */
        if (f->st.active != 0) {
            w = xssh__sleep_until(f, 0, 0); /* until the last connection is released */
        } else {
            w = xssh__wait(s->fd, XSSH__WAIT_IN, -1, s, 0, 0); /* key s: the session closed */
            if (w == 1 && f->st.active == 0 && f->lfd >= 0 && !session_dead(s, why, sizeof why)) {
                struct pollfd p = {.fd = s->fd, .events = POLLIN | POLLRDHUP};
                if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
                    int err = 0;
                    socklen_t len = sizeof err;
                    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                        err = 0;
                    xssh__note_io_failure(s, 2, err ? err : -1);
                    xssh__wake(s);
                    xssh__wake_threads(s);
                    return XSSH_OK;
                }
                if (p.revents & POLLIN) /* bytes for their reader */
                    w = xssh__sleep_until(s, xssh__now_ms() + FWD_WATCH_MS, 0);
            }
        }
        if (w == XSSH_ECANCELLED || w == XSSH_ETIMEOUT)
            return XSSH_OK;
    }
}

int xssh__fwd_run(struct xssh__fwd *f)
{
    xssh__phase(XSSH_PHASE_CHANNEL);
    xssh__tls_nonblocking = 1;
    f->tasks = xssh__tasks_new();
    if (!f->tasks || xssh__tasks_add(f->tasks, task_watch, f) != XSSH_OK) {
        if (f->tasks)
            xssh__tasks_wait_free(f->tasks);
        f->tasks = NULL;
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "local forward: out of memory");
    }
    int rc = XSSH_OK;
    char why[600];
    for (;;) {
        if (f->fail_rc) {
            rc = f->fail_rc;
            break;
        }
        int code = session_dead(f->s, why, sizeof why);
        if (code) {
            rc = code;
            snprintf(f->fail_msg, sizeof f->fail_msg, "local forward %s:%d -> %s:%d: %s", f->bind_host, f->port,
                     f->host, f->dport, why);
            break;
        }
        int w;
        if (accept_some(f))
            w = xssh__sleep_until(f->s, xssh__now_ms() + FWD_BACKOFF_MS, 0);
        else
            w = xssh__wait(f->lfd, XSSH__WAIT_IN, -1, f->s, 0, 0); /* key s: a close of the session wakes it */
        if (w == XSSH_ECANCELLED || w == XSSH_ETIMEOUT) {
            rc = w;
            snprintf(f->fail_msg, sizeof f->fail_msg, "local forward %s:%d -> %s:%d: %s", f->bind_host, f->port,
                     f->host, f->dport, w == XSSH_ECANCELLED ? "cancelled" : "timed out");
            break;
        }
    }
    /* refuse new connections at once; the open ones close (within the grace) */
    listener_close(f);
    xssh__tasks_cancel(f->tasks);
    xssh__tasks_wait_free(f->tasks);
    f->tasks = NULL;
    if (!f->fail_msg[0])
        snprintf(f->fail_msg, sizeof f->fail_msg, "local forward %s:%d -> %s:%d: %s", f->bind_host, f->port, f->host,
                 f->dport, xssh_strerror(rc));
    return xssh__fail(NULL, rc, 0, "%s", f->fail_msg);
}

uint64_t xssh__fwd_end(struct xssh__fwd *f)
{
    if (!f)
        return 0;
    listener_close(f);
    return f->st.bytes_in + f->st.bytes_out;
}

void xssh__fwd_free(struct xssh__fwd *f)
{
    if (!f)
        return;
    listener_close(f);
    xssh_session_unref(f->s);
    free(f->bind_host);
    free(f->host);
    free(f);
}

/* ---- the public calls ---------------------------------------------------------------- */

/* bind and listen (non-blocking); the socket, or -1 with the error recorded */
static int listen_on(const char *bind_host, int bind_port, int *bound)
{
    int err = 0, g = 0;
    int fd = xssh__tcp_listen(bind_host, bind_port, &err, &g);
    if (fd < 0) {
        xssh__fail(NULL, XSSH_ECONNECT, 0, "xssh_multi_add_forward_local: cannot listen on %s:%d: %s", bind_host,
                   bind_port, g ? gai_strerror(g) : strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *bound = bind_port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* XSSH__ARG naming the public function (add_forward_local is not it) */
#define FWD_ARG(cond, what)                                                                                \
    do {                                                                                                   \
        if (!(cond))                                                                                       \
            return xssh__fail(NULL, XSSH_EARG, 0, "xssh_multi_add_forward_local: invalid argument: %s", (what)); \
    } while (0)

static int add_forward_local(xssh_multi *multi, xssh_session *session, const char *bind_host, int bind_port,
                             const char *host, int port, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    FWD_ARG(multi, "multi is NULL");
    FWD_ARG(session, "session is NULL");
    FWD_ARG(host && *host, "host is NULL or empty");
    FWD_ARG(port > 0 && port < 65536, "port must be 1..65535");
    FWD_ARG(bind_port >= 0 && bind_port < 65536, "bind_port must be 0..65535 (0: any free port)");
    if (!bind_host || !*bind_host)
        bind_host = "127.0.0.1";
    if (atomic_load(&session->state) == XSSH__STATE_CLOSED)
        return xssh__fail(session, XSSH_ECLOSED, 0, "xssh_multi_add_forward_local: the session is closed");
    struct xssh__fwd *f = calloc(1, sizeof *f);
    if (!f)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    f->lfd = -1;
    f->dport = port;
    f->bind_host = xssh__strdup(bind_host);
    f->host = xssh__strdup(host);
    f->s = xssh_session_ref(session);
    if (!f->bind_host || !f->host) {
        xssh__fwd_free(f);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    }
    f->lfd = listen_on(bind_host, bind_port, &f->port);
    if (f->lfd < 0) {
        int rc = xssh_error_last()->code;
        xssh__fwd_free(f);
        return rc;
    }
    int rc = xssh__multi_add_forward(multi, session, f, opts, out);
    if (rc) {
        xssh__fwd_free(f);
        return rc;
    }
    return xssh__ok();
}

int xssh_multi_add_forward_local(xssh_multi *multi, xssh_session *session, const char *bind_host, int bind_port,
                                 const char *host, int port, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL,
                           add_forward_local(multi, session, bind_host, bind_port, host, port, opts, out));
}

int xssh_multi_op_forward_port(xssh_multi_op *op, int *port)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, port, "port is NULL");
    *port = 0;
    struct xssh__fwd *f = xssh__multi_op_fwd(op);
    if (!f)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_forward_port: not a forward operation");
    *port = f->port;
    return xssh__ok();
}

int xssh_multi_op_forward_stats(xssh_multi_op *op, xssh_forward_stats *out)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    memset(out, 0, sizeof *out);
    struct xssh__fwd *f = xssh__multi_op_fwd(op);
    if (!f)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_forward_stats: not a forward operation");
    *out = f->st;
    return xssh__ok();
}
