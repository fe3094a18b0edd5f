/* SPDX-License-Identifier: BSD-3-Clause */
/* Channels: requests, both data streams, EOF/close, exit status, windows.
 *
 * An xssh_channel wraps a LIBSSH2_CHANNEL of its session, used with the session
 * lock held (xssh__op). libssh2 always runs non-blocking: blocking calls wait in
 * xssh__op_again (session.c), which releases the lock while waiting for input so
 * other threads can use other channels, but finishes a half-sent outbound packet
 * with the lock held: libssh2 resumes a pending packet on the next send of ANY
 * caller, so another channel's send must never come in between.
 *
 * Lifetime: the channel holds a session reference, so its LIBSSH2_CHANNEL
 * stays valid until the channel's last unref (libssh2_session_free, which frees
 * channels, only runs after that). The last unref queues the LIBSSH2_CHANNEL as
 * an orphan (closed and freed by the session's next call, or by the session's
 * final free) and never does I/O itself.
 *
 * Exit status: libssh2 1.10 keeps no "received" flag (0 means both "exited
 * with 0" and "nothing yet"). With libssh2 1.10 we verify the channel's
 * private layout at open and store a sentinel in its exit_status field that the
 * server's "exit-status" overwrites; otherwise "have" is inferred (a nonzero
 * status, or the server's CLOSE seen without an exit signal).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "connect_internal.h"
#include "config_internal.h"

#define STATUS_SENTINEL INT_MIN

/* ---- the request slot ------------------------------------------------------ */

int xssh__request_begin(xssh__op *op, void *owner)
{
    xssh_session *s = op->s;
    for (;;) {
        void *cur = atomic_load(&s->request_owner);
        if (cur == NULL || cur == owner) {
            atomic_store(&s->request_owner, owner);
            atomic_store(&s->request_fiber_tag, xssh__holder_tag());
            return 0;
        }
        if (!op->blocking)
            return LIBSSH2_ERROR_EAGAIN;
        if (op->deadline_ms && xssh__now_ms() >= op->deadline_ms)
            return XSSH_ETIMEOUT;
        xssh__unlock(s);
        /* requests take a round trip: a thread looks again after 0.5 ms; a multi
           operation is woken by request_end on this thread (20 ms: a holder on
           another thread) */
        int w = xssh__sleep_until(&s->request_owner, xssh__now_ms() + (xssh__fiber_self() ? 20 : 1), 0);
        xssh__lock(s);
        if (w == XSSH_ECANCELLED || w == XSSH_ETIMEOUT)
            return w;
        if (atomic_load(&s->state) == XSSH__STATE_CLOSED || (op->closed && atomic_load(op->closed)))
            return XSSH_ECLOSED;
    }
}

void xssh__request_end(xssh_session *s, void *owner)
{
    void *expected = owner;
    if (atomic_load(&s->request_owner) == owner)
        atomic_store(&s->request_fiber_tag, 0);
    if (atomic_compare_exchange_strong(&s->request_owner, &expected, NULL))
        xssh__wake(&s->request_owner);
}

static int op_fail(xssh_session *s, int rc, const char *what)
{
    if (rc == XSSH_ETIMEOUT)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "channel %s: timed out", what);
    if (rc == XSSH_ECLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "channel %s: the channel or its session was closed meanwhile", what);
    if (rc == XSSH_ECANCELLED)
        return xssh__fail(s, XSSH_ECANCELLED, 0, "channel %s: cancelled", what);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return xssh__fail(s, XSSH_EAGAIN, rc, "channel %s: would block", what);
    return xssh__fail_ssh(s, rc, "channel %s", what);
}

/* io: the call is refused once the channel is closed */
#define BEGIN(c, io)                                                              \
    XSSH__ARG(NULL, (c), "channel is NULL");                                      \
    xssh_session *s = (c)->s;                                                     \
    xssh__op op;                                                                  \
    int e_ = xssh__op_begin(&op, s, 1, (io) ? &(c)->closed : NULL);               \
    if (e_)                                                                       \
        return e_

/* Run a libssh2 call returning int until it does not want to wait. */
#define LOOP(expr)                                                                \
    do {                                                                          \
        rc = (expr);                                                              \
    } while (xssh__op_again(&op, &rc))

/* LOOP for a channel request awaiting a reply: holds the session's request
   slot, kept across an EAGAIN return (the caller repeats the call). */
#define REQ_LOOP(owner, expr)                                                     \
    do {                                                                          \
        rc = xssh__request_begin(&op, (owner));                                   \
        if (rc == 0) {                                                            \
            LOOP(expr);                                                           \
            if (rc != LIBSSH2_ERROR_EAGAIN)                                       \
                xssh__request_end(s, (owner));                                    \
        }                                                                         \
    } while (0)

/* ---- exit-status probe (libssh2 1.10 layout, verified) -------------------- */

struct l2_channel_head_1_10 { /* the first fields of libssh2 1.10's struct _LIBSSH2_CHANNEL */
    void *next, *prev, *head;  /* struct list_node */
    unsigned char *channel_type;
    unsigned channel_type_len;
    int exit_status;
    char *exit_signal;
};

static void install_probe(xssh_channel *c)
{
    static int version_ok = -1;
    if (version_ok < 0) {
        const char *v = libssh2_version(0);
        version_ok = v && strncmp(v, "1.10.", 5) == 0;
    }
    if (!version_ok)
        return;
    struct l2_channel_head_1_10 *h = (struct l2_channel_head_1_10 *)(void *)c->ch;
    if (h->channel_type_len != 7 || !h->channel_type || memcmp(h->channel_type, "session", 7) != 0 ||
        h->exit_status != 0 || h->exit_signal != NULL)
        return;
    h->exit_status = STATUS_SENTINEL;
    if (libssh2_channel_get_exit_status(c->ch) == STATUS_SENTINEL)
        c->status_probe = 1;
    else
        h->exit_status = 0;
}

char *xssh__chan_exit_signal(xssh_channel *c)
{
    char *name = NULL;
    size_t namelen = 0;
    if (libssh2_channel_get_exit_signal(c->ch, &name, &namelen, NULL, NULL, NULL, NULL) != 0 || !name)
        return NULL;
    char *copy = malloc(namelen + 1);
    if (copy) {
        memcpy(copy, name, namelen);
        copy[namelen] = '\0';
    }
    libssh2_free(c->s->ssh, name);
    return copy;
}

void xssh__chan_exit_status(xssh_channel *c, int *status, int *have)
{
    int st = libssh2_channel_get_exit_status(c->ch);
    int h;
    if (c->status_probe) {
        h = st != STATUS_SENTINEL;
        if (!h)
            st = 0;
    } else if (st != 0) {
        h = 1;
    } else {
        char *sig = c->remote_closed ? xssh__chan_exit_signal(c) : NULL;
        h = c->remote_closed && !sig;
        free(sig);
    }
    if (status)
        *status = st;
    if (have)
        *have = h;
}

/* ---- lifetime ---------------------------------------------------------------- */

int xssh__chan_wrap(xssh_session *s, LIBSSH2_CHANNEL *raw, xssh_channel **out)
{
    xssh_channel *c = calloc(1, sizeof *c);
    if (!c)
        return XSSH_ENOMEM;
    xssh__ref_init(&c->refs);
    c->s = xssh_session_ref(s);
    c->ch = raw;
    atomic_init(&c->closed, 0);
    install_probe(c);
    *out = c;
    return XSSH_OK;
}

int xssh_channel_open_session(xssh_channel **out, xssh_session *session)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, session, "session is NULL");
    xssh_session *s = session;
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e)
        return e;
    LIBSSH2_CHANNEL *raw;
    int rc;
    xssh__open_begin(s, &op); /* one open state machine per session (blocking opens) */
    do {
        raw = libssh2_channel_open_session(s->ssh);
        rc = 0;
        if (!raw) {
            rc = libssh2_session_last_errno(s->ssh);
            if (rc == 0)
                rc = LIBSSH2_ERROR_CHANNEL_FAILURE;
        }
    } while (!raw && xssh__op_again(&op, &rc));
    xssh__open_end(s, &op);
    if (!raw) {
        xssh__op_end(&op);
        return op_fail(s, rc, "open_session");
    }
    xssh_channel *c = NULL;
    if (xssh__chan_wrap(s, raw, &c) != XSSH_OK) {
        xssh__session_orphan(s, XSSH__ORPHAN_CHANNEL, raw);
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory allocating a channel");
    }
    xssh__op_end(&op);
    *out = c;
    return xssh__ok();
}

xssh_channel *xssh_channel_ref(xssh_channel *channel)
{
    if (channel)
        xssh__ref_inc(&channel->refs);
    return channel;
}

void xssh_channel_unref(xssh_channel *channel)
{
    if (!channel || !xssh__ref_dec(&channel->refs))
        return;
    xssh_session *s = channel->s;
    xssh__request_end(s, channel); /* an abandoned request frees the slot */
    if (channel->ch)
        xssh__session_orphan(s, XSSH__ORPHAN_CHANNEL, channel->ch); /* no I/O here */
    free(channel);
    xssh_session_unref(s);
}

int xssh_channel_session(xssh_channel *channel, xssh_session **out)
{
    XSSH__ARG(NULL, channel, "channel is NULL");
    XSSH__ARG(channel->s, out, "out is NULL");
    *out = channel->s;
    return xssh__ok();
}

/* ---- requests ------------------------------------------------------------------ */

int xssh_channel_process_startup(xssh_channel *channel, const char *request, const char *message, size_t message_len)
{
    XSSH__ARG(channel ? channel->s : NULL, request && *request, "request is NULL or empty");
    XSSH__ARG(channel ? channel->s : NULL, message || message_len == 0, "message is NULL");
    int fits = xssh__request_fits(channel ? channel->s : NULL, __func__, request, 4 + message_len);
    if (fits)
        return fits;
    BEGIN(channel, 1);
    int rc;
    REQ_LOOP(channel, libssh2_channel_process_startup(channel->ch, request, (unsigned)strlen(request), message,
                                         (unsigned)message_len));
    xssh__op_end(&op);
    if (rc)
        return op_fail(s, rc, request);
    return xssh__ok();
}

int xssh_channel_execute(xssh_channel *channel, const char *command)
{
    XSSH__ARG(channel ? channel->s : NULL, command, "command is NULL");
    return xssh_channel_process_startup(channel, "exec", command, strlen(command));
}

int xssh_channel_shell(xssh_channel *channel) { return xssh_channel_process_startup(channel, "shell", NULL, 0); }

int xssh_channel_subsystem(xssh_channel *channel, const char *name)
{
    XSSH__ARG(channel ? channel->s : NULL, name && *name, "subsystem name is NULL or empty");
    return xssh_channel_process_startup(channel, "subsystem", name, strlen(name));
}

int xssh_channel_pty(xssh_channel *channel, const char *term, const char *modes, size_t modes_len, int width,
                     int height, int width_px, int height_px)
{
    XSSH__ARG(channel ? channel->s : NULL, modes || modes_len == 0, "modes is NULL");
    XSSH__ARG(channel ? channel->s : NULL, width_px >= 0 && height_px >= 0, "pixel sizes must be >= 0");
    /* term string, four uint32 sizes, modes string (RFC 4254 section 6.2); libssh2
       takes the lengths as unsigned int, so the check comes before the cast */
    int fits = xssh__request_fits(channel ? channel->s : NULL, __func__, "pty-req",
                                  24 + (term && *term ? strlen(term) : 5) + (modes ? modes_len : 0));
    if (fits)
        return fits;
    BEGIN(channel, 1);
    if (!term || !*term)
        term = "vt100";
    if (width <= 0 || height <= 0) {
        width = 80;
        height = 24;
    }
    int rc;
    REQ_LOOP(channel, libssh2_channel_request_pty_ex(channel->ch, term, (unsigned)strlen(term), modes, (unsigned)modes_len, width,
                                        height, width_px, height_px));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "pty") : xssh__ok();
}

int xssh_channel_pty_size(xssh_channel *channel, int width, int height, int width_px, int height_px)
{
    XSSH__ARG(channel ? channel->s : NULL, width > 0 && height > 0, "width and height must be > 0");
    XSSH__ARG(channel ? channel->s : NULL, width_px >= 0 && height_px >= 0, "pixel sizes must be >= 0");
    BEGIN(channel, 1);
    int rc;
    LOOP(libssh2_channel_request_pty_size_ex(channel->ch, width, height, width_px, height_px));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "pty_size") : xssh__ok();
}

int xssh_channel_setenv(xssh_channel *channel, const char *name, const char *value)
{
    XSSH__ARG(channel ? channel->s : NULL, name && *name, "name is NULL or empty");
    XSSH__ARG(channel ? channel->s : NULL, value, "value is NULL");
    int fits = xssh__request_fits(channel ? channel->s : NULL, __func__, "env", 8 + strlen(name) + strlen(value));
    if (fits)
        return fits;
    BEGIN(channel, 1);
    int rc;
    REQ_LOOP(channel, libssh2_channel_setenv_ex(channel->ch, name, (unsigned)strlen(name), value, (unsigned)strlen(value)));
    xssh__op_end(&op);
    if (rc)
        return op_fail(s, rc, "setenv (does the server accept this variable? see sshd's AcceptEnv)");
    return xssh__ok();
}

int xssh_channel_x11_req_ex(xssh_channel *channel, int single_connection, const char *auth_proto,
                            const char *auth_cookie, int screen_number)
{
    BEGIN(channel, 1);
    int rc;
    REQ_LOOP(channel, libssh2_channel_x11_req_ex(channel->ch, single_connection, auth_proto, auth_cookie, screen_number));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "x11_req") : xssh__ok();
}

int xssh_channel_x11_req(xssh_channel *channel, int screen_number)
{
    return xssh_channel_x11_req_ex(channel, 0, NULL, NULL, screen_number);
}

int xssh_channel_signal(xssh_channel *channel, const char *signame)
{
    XSSH__ARG(channel ? channel->s : NULL, signame && *signame, "signal name is NULL or empty");
#ifdef XSSH_HAVE_CHANNEL_SIGNAL
    BEGIN(channel, 1);
    if (strncmp(signame, "SIG", 3) == 0)
        signame += 3;
    int rc;
    REQ_LOOP(channel, libssh2_channel_signal_ex(channel->ch, signame, strlen(signame)));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "signal") : xssh__ok();
#else
    XSSH__ARG(NULL, channel, "channel is NULL");
    return xssh__fail(channel->s, XSSH_ENOTSUPPORTED, 0,
                      "channel signal: unsupported by this build (libssh2 %s has no libssh2_channel_signal_ex; needs >= 1.11)",
                      LIBSSH2_VERSION);
#endif
}

int xssh_channel_request_auth_agent(xssh_channel *channel)
{
#ifdef XSSH_HAVE_AGENT_FORWARDING
    BEGIN(channel, 1);
    int rc;
    REQ_LOOP(channel, libssh2_channel_request_auth_agent(channel->ch));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "request_auth_agent") : xssh__ok();
#else
    XSSH__ARG(NULL, channel, "channel is NULL");
    return xssh__fail(channel->s, XSSH_ENOTSUPPORTED, 0,
                      "agent forwarding: unsupported by this build (libssh2 %s lacks libssh2_channel_request_auth_agent)", LIBSSH2_VERSION);
#endif
}

/* ---- data ------------------------------------------------------------------------ */

int xssh_channel_read_ex(xssh_channel *channel, int stream_id, void *buf, size_t cap, size_t *got)
{
    xssh_session *cs = channel ? channel->s : NULL;
    XSSH__ARG(cs, got, "got is NULL");
    *got = 0;
    XSSH__ARG(cs, buf || cap == 0, "buf is NULL");
    XSSH__ARG(cs, stream_id >= 0, "stream_id must be >= 0");
    BEGIN(channel, 0); /* after close(): what was received before it is still handed out (as libssh2 does) */
    if (cap == 0) { /* nothing asked: libssh2 would answer 0, which reads as EOF */
        xssh__op_end(&op);
        return xssh__ok();
    }
    ssize_t n;
    int rc;
    for (;;) {
        /* a short count for a buffer libssh2 or the peer's window cannot take whole */
        n = libssh2_channel_read_ex(channel->ch, stream_id, buf, xssh__chan_read_clamp(channel->ch, cap));
        if (n >= 0) /* 0: the server sent EOF or closed (this stream has nothing queued) */
            break;
        if (n == LIBSSH2_ERROR_EAGAIN && atomic_load(&channel->closed)) {
            n = 0; /* closed by us: nothing more will come */
            break;
        }
        rc = (int)n;
        if (!xssh__op_again(&op, &rc)) {
            n = rc;
            break;
        }
    }
    xssh__op_end(&op);
    if (n < 0)
        return op_fail(s, (int)n, stream_id ? "read_stderr" : "read");
    *got = (size_t)n;
    return xssh__ok();
}

int xssh_channel_read(xssh_channel *channel, void *buf, size_t cap, size_t *got)
{
    return xssh_channel_read_ex(channel, XSSH_STREAM_STDOUT, buf, cap, got);
}

int xssh_channel_read_stderr(xssh_channel *channel, void *buf, size_t cap, size_t *got)
{
    return xssh_channel_read_ex(channel, XSSH_STREAM_STDERR, buf, cap, got);
}

int xssh_channel_write_ex(xssh_channel *channel, int stream_id, const void *data, size_t len, size_t *written)
{
    xssh_session *cs = channel ? channel->s : NULL;
    XSSH__ARG(cs, written, "written is NULL");
    *written = 0;
    XSSH__ARG(cs, data || len == 0, "data is NULL");
    XSSH__ARG(cs, stream_id >= 0, "stream_id must be >= 0");
    BEGIN(channel, 1);
    const char *p = data;
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        /* libssh2 sends at most one packet (32700 bytes) per call; the rest loops here */
        ssize_t n = libssh2_channel_write_ex(channel->ch, stream_id, p + off, xssh__io_clamp(len - off));
        if (n > 0) {
            off += (size_t)n;
            if (s->timeout_ms > 0) /* the session timeout bounds a wait, not the whole transfer */
                op.deadline_ms = xssh__now_ms() + s->timeout_ms;
            continue;
        }
        rc = n == 0 ? LIBSSH2_ERROR_EAGAIN : (int)n;
        if (!xssh__op_again(&op, &rc))
            break;
        rc = 0;
    }
    xssh__op_end(&op);
    *written = off;
    if (off < len)
        return op_fail(s, rc, stream_id ? "write_stderr" : "write");
    return xssh__ok();
}

int xssh_channel_write(xssh_channel *channel, const void *data, size_t len, size_t *written)
{
    return xssh_channel_write_ex(channel, XSSH_STREAM_STDOUT, data, len, written);
}

int xssh_channel_write_stderr(xssh_channel *channel, const void *data, size_t len, size_t *written)
{
    return xssh_channel_write_ex(channel, XSSH_STREAM_STDERR, data, len, written);
}

int xssh_channel_flush_ex(xssh_channel *channel, int stream_id, size_t *flushed)
{
    xssh_session *cs = channel ? channel->s : NULL;
    if (flushed)
        *flushed = 0;
    XSSH__ARG(cs, stream_id >= XSSH_CHANNEL_FLUSH_ALL, "stream_id must be >= 0 or XSSH_CHANNEL_FLUSH_*");
    BEGIN(channel, 1);
    int rc;
    LOOP(libssh2_channel_flush_ex(channel->ch, stream_id));
    xssh__op_end(&op);
    if (rc < 0)
        return op_fail(s, rc, "flush");
    if (flushed)
        *flushed = (size_t)rc;
    return xssh__ok();
}

int xssh_channel_flush(xssh_channel *channel, size_t *flushed)
{
    return xssh_channel_flush_ex(channel, XSSH_STREAM_STDOUT, flushed);
}

int xssh_channel_flush_stderr(xssh_channel *channel, size_t *flushed)
{
    return xssh_channel_flush_ex(channel, XSSH_STREAM_STDERR, flushed);
}

int xssh_channel_handle_extended_data(xssh_channel *channel, int mode)
{
    XSSH__ARG(channel ? channel->s : NULL, mode >= XSSH_EXTENDED_DATA_NORMAL && mode <= XSSH_EXTENDED_DATA_MERGE,
              "mode must be XSSH_EXTENDED_DATA_NORMAL, _IGNORE or _MERGE");
    BEGIN(channel, 1);
    int rc;
    LOOP(libssh2_channel_handle_extended_data2(channel->ch, mode));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "handle_extended_data") : xssh__ok();
}

/* ---- EOF, close, exit status ------------------------------------------------- */

int xssh_channel_send_eof(xssh_channel *channel)
{
    BEGIN(channel, 1);
    int rc;
    LOOP(libssh2_channel_send_eof(channel->ch));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "send_eof") : xssh__ok();
}

int xssh_channel_eof(xssh_channel *channel, int *is_eof)
{
    XSSH__ARG(channel ? channel->s : NULL, is_eof, "is_eof is NULL");
    *is_eof = 0;
    BEGIN(channel, 0);
    int rc = libssh2_channel_eof(channel->ch);
    xssh__op_end(&op);
    if (rc < 0)
        return op_fail(s, rc, "eof");
    *is_eof = rc ? 1 : 0;
    return xssh__ok();
}

int xssh_channel_wait_eof(xssh_channel *channel)
{
    BEGIN(channel, 0);
    if (atomic_load(&channel->closed)) { /* close() waited for the server's CLOSE: no EOF left to wait for */
        xssh__op_end(&op);
        return xssh__ok();
    }
    int rc;
    LOOP(libssh2_channel_wait_eof(channel->ch));
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "wait_eof") : xssh__ok();
}

/* ---- dead-peer detection (internal.h) --------------------------------------- */

/* The probe: an "env" channel request with want-reply (RFC 4254 6.4) of a name
   no server accepts; the reply (OpenSSH: CHANNEL_FAILURE, logged at debug level
   only) proves the peer alive. libssh2 1.10 cannot send another request on a
   channel whose exec is done ("Channel can not be reused"); setenv can, and
   matches the reply by channel id, so it never reaches another waiter. */
#define PROBE_VAR "XSSH_KEEPALIVE_PROBE"

/* Drive the probe request on c one step (lock held): finishes a half-sent
   packet before returning, like every call here. 1 while it awaits its reply. */
static int probe_step(xssh__op *op, xssh_channel *c, xssh__liveness *lv)
{
    xssh__op p = *op;
    p.blocking = 0;
    p.deadline_ms = xssh__now_ms() + (op->s->timeout_ms > 0 ? op->s->timeout_ms : 1000);
    int r;
    do {
        r = libssh2_channel_setenv_ex(c->ch, PROBE_VAR, sizeof PROBE_VAR - 1, "1", 1);
    } while (xssh__op_again(&p, &r));
    if (r == LIBSSH2_ERROR_EAGAIN)
        return 1;
    lv->active = 0;
    xssh__request_end(op->s, lv);
    return 0;
}

void xssh__liveness_end(xssh__op *op, xssh__liveness *lv)
{
    if (lv->active) {
        lv->active = 0;
        xssh__request_end(op->s, lv);
    }
}

int64_t xssh__liveness_check(xssh__op *op, xssh_channel *c, xssh__liveness *lv)
{
    xssh_session *s = op->s;
    long t, wait;
    xssh__liveness_params(s, &t, &wait);
    int64_t now = xssh__now_ms();
    if (!lv->since)
        lv->since = now;
    if (t <= 0 || !c || !c->ch || atomic_load(&c->closed))
        return 0;
    if (lv->active)
        probe_step(op, c, lv);
    int64_t rx = atomic_load(&s->last_rx_ms);
    if (rx < lv->since)
        rx = lv->since;
    if (lv->active) {
        int64_t quiet_from = rx > lv->sent ? rx : lv->sent;
        if (now - quiet_from >= wait) {
            xssh__liveness_end(op, lv);
            lv->dead = 1;
            xssh__log(XSSH_LOG_WARNING, xssh__log_host(s),
                      "no reply to the keepalive probe within %ld ms: the connection is presumed dead", wait);
            return -1;
        }
        return quiet_from + wait;
    }
    if (now - rx < t)
        return rx + t;
    xssh__op p = *op;
    p.blocking = 0;
    if (xssh__request_begin(&p, lv) != 0)
        return now + (t < 100 ? t : 100); /* another request is in flight: look again soon */
    lv->active = 1;
    lv->sent = now;
    xssh__log(XSSH_LOG_DEBUG, xssh__log_host(s), "nothing from the server for %ld ms: keepalive probe sent", t);
    probe_step(op, c, lv);
    return now + wait;
}

int xssh__live_again(xssh__op *op, xssh_channel *c, xssh__liveness *lv, int64_t user_deadline, int *rc)
{
    if (*rc != LIBSSH2_ERROR_EAGAIN)
        return 0;
    for (int round = 0; round < 1000000; round++) {
        if (user_deadline && xssh__now_ms() >= user_deadline) {
            *rc = XSSH_ETIMEOUT;
            return 0;
        }
        int64_t live_deadline = xssh__liveness_check(op, c, lv);
        if (live_deadline < 0) {
            *rc = XSSH_ETIMEOUT;
            return 0;
        }
        op->deadline_ms = user_deadline;
        if (live_deadline && (!op->deadline_ms || live_deadline < op->deadline_ms))
            op->deadline_ms = live_deadline;
        int r = LIBSSH2_ERROR_EAGAIN;
        if (xssh__op_again(op, &r))
            return 1;
        if (r != XSSH_ETIMEOUT) {
            *rc = r;
            return 0;
        }
        /* a deadline passed: look again which one */
    }
    *rc = XSSH_ETIMEOUT;
    return 0;
}

int xssh__chan_close_wait(xssh__op *op, xssh_channel *c)
{
    int rc;
    do {
        rc = libssh2_channel_close(c->ch);
    } while (xssh__op_again(op, &rc));
    if (rc == 0) {
        /* libssh2 1.10 returns after the first packet of ANY channel: wait for
           this channel's own CLOSE (it brings the exit status before it) */
        do {
            rc = libssh2_channel_wait_eof(c->ch);
        } while (xssh__op_again(op, &rc));
        if (rc == 0) {
            do {
                rc = libssh2_channel_wait_closed(c->ch);
            } while (xssh__op_again(op, &rc));
        }
        atomic_store(&c->closed, 1); /* our CLOSE is sent: no more I/O either way */
        if (rc == 0)
            c->remote_closed = 1;
    }
    return rc;
}

int xssh_channel_close(xssh_channel *channel)
{
    BEGIN(channel, 0);
    if (atomic_load(&channel->closed) && channel->remote_closed) {
        xssh__op_end(&op);
        return xssh__ok();
    }
    int rc = xssh__chan_close_wait(&op, channel);
    xssh__op_end(&op);
    if (rc == XSSH_ETIMEOUT)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT,
                          "channel close: the server's CLOSE did not arrive in time (exit status unknown)");
    return rc ? op_fail(s, rc, "close (waiting for the server's CLOSE)") : xssh__ok();
}

int xssh_channel_wait_closed(xssh_channel *channel)
{
    BEGIN(channel, 0);
    if (channel->remote_closed) { /* close() already waited for the server's CLOSE */
        xssh__op_end(&op);
        return xssh__ok();
    }
    int rc;
    LOOP(libssh2_channel_wait_closed(channel->ch));
    if (rc == 0)
        channel->remote_closed = 1;
    xssh__op_end(&op);
    return rc ? op_fail(s, rc, "wait_closed") : xssh__ok();
}

int xssh_channel_is_closed(xssh_channel *channel, int *is_closed)
{
    XSSH__ARG(NULL, channel, "channel is NULL");
    XSSH__ARG(channel->s, is_closed, "is_closed is NULL");
    *is_closed = atomic_load(&channel->closed) || atomic_load(&channel->s->state) == XSSH__STATE_CLOSED;
    return xssh__ok();
}

int xssh_channel_get_exit_status(xssh_channel *channel, int *status, int *have)
{
    if (status)
        *status = 0;
    if (have)
        *have = 0;
    BEGIN(channel, 0);
    xssh__chan_exit_status(channel, status, have);
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_channel_get_exit_signal(xssh_channel *channel, char **name, char **message, char **lang)
{
    if (name)
        *name = NULL;
    if (message)
        *message = NULL;
    if (lang)
        *lang = NULL;
    BEGIN(channel, 0);
    char *n = NULL, *m = NULL, *l = NULL;
    size_t nl = 0, ml = 0, ll = 0;
    int rc = libssh2_channel_get_exit_signal(channel->ch, &n, &nl, &m, &ml, &l, &ll);
    char *cn = n ? strndup(n, nl) : NULL, *cm = m ? strndup(m, ml) : NULL, *cl = l ? strndup(l, ll) : NULL;
    if (n)
        libssh2_free(s->ssh, n);
    if (m)
        libssh2_free(s->ssh, m);
    if (l)
        libssh2_free(s->ssh, l);
    xssh__op_end(&op);
    if (rc || (n && !cn) || (m && !cm) || (l && !cl)) {
        free(cn);
        free(cm);
        free(cl);
        return rc ? op_fail(s, rc, "get_exit_signal") : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    if (name)
        *name = cn;
    else
        free(cn);
    if (message)
        *message = cm;
    else
        free(cm);
    if (lang)
        *lang = cl;
    else
        free(cl);
    return xssh__ok();
}

/* ---- windows ---------------------------------------------------------------------- */

int xssh_channel_window_read_ex(xssh_channel *channel, unsigned long *window, unsigned long *read_avail,
                                unsigned long *window_size_initial)
{
    XSSH__ARG(channel ? channel->s : NULL, window, "window is NULL");
    BEGIN(channel, 0);
    unsigned long ra = 0, init = 0;
    *window = libssh2_channel_window_read_ex(channel->ch, &ra, &init);
    xssh__op_end(&op);
    if (read_avail)
        *read_avail = ra;
    if (window_size_initial)
        *window_size_initial = init;
    return xssh__ok();
}

int xssh_channel_window_read(xssh_channel *channel, unsigned long *window)
{
    return xssh_channel_window_read_ex(channel, window, NULL, NULL);
}

int xssh_channel_window_write_ex(xssh_channel *channel, unsigned long *window, unsigned long *window_size_initial)
{
    XSSH__ARG(channel ? channel->s : NULL, window, "window is NULL");
    BEGIN(channel, 0);
    unsigned long init = 0;
    *window = libssh2_channel_window_write_ex(channel->ch, &init);
    xssh__op_end(&op);
    if (window_size_initial)
        *window_size_initial = init;
    return xssh__ok();
}

int xssh_channel_window_write(xssh_channel *channel, unsigned long *window)
{
    return xssh_channel_window_write_ex(channel, window, NULL);
}

/* ---- size rules (internal.h) ------------------------------------------------ */

int xssh__request_fits(xssh_session *s, const char *fn, const char *request, size_t fields)
{
    /* byte type, uint32 channel, string request, boolean want-reply (RFC 4254 section 5.4) */
    size_t head = 1 + 4 + 4 + strlen(request) + 1;
    if (head <= XSSH__SSH_PAYLOAD_MAX && fields <= XSSH__SSH_PAYLOAD_MAX - head)
        return XSSH_OK;
    return xssh__fail(s, XSSH_EARG, 0,
                      "%s: invalid argument: the '%s' request is too long (%zu bytes; libssh2 1.10 sends a "
                      "channel request in one SSH packet of at most %d bytes)",
                      fn, request, head + fields, XSSH__SSH_PAYLOAD_MAX);
}

size_t xssh__chan_read_clamp(LIBSSH2_CHANNEL *ch, size_t cap)
{
    size_t n = xssh__io_clamp(cap);
    unsigned long init = 0;
    unsigned long w = libssh2_channel_window_read_ex(ch, NULL, &init);
    /* libssh2 1.10 (channel.c, libssh2_channel_read_ex and _libssh2_channel_read)
       raises the window to at most max(w, init) + n + 2 KiB ... */
    uint64_t top = (uint64_t)(w > init ? w : init) + 2 * LIBSSH2_CHANNEL_MINADJUST;
    uint64_t room = top < XSSH__WINDOW_MAX ? XSSH__WINDOW_MAX - top : 0;
    /* ... and sends no adjustment while w >= init / 4 * 3 + n */
    uint64_t quiet = w > init / 4 * 3 ? (uint64_t)w - init / 4 * 3 : 0;
    if (quiet > room)
        room = quiet;
    if (n > room)
        n = room ? (size_t)room : 1;
    return n;
}

unsigned long xssh__chan_adjust_clamp(LIBSSH2_CHANNEL *ch, unsigned long adjustment)
{
    unsigned long w = libssh2_channel_window_read_ex(ch, NULL, NULL);
    /* a remainder below LIBSSH2_CHANNEL_MINADJUST may be queued and sent along */
    uint64_t top = (uint64_t)w + LIBSSH2_CHANNEL_MINADJUST;
    uint64_t room = top < XSSH__WINDOW_MAX ? XSSH__WINDOW_MAX - top : 0;
    return adjustment < room ? adjustment : (unsigned long)room;
}

int xssh_channel_receive_window_adjust(xssh_channel *channel, unsigned long adjustment, int force,
                                       unsigned int *window)
{
    if (window)
        *window = 0;
    XSSH__ARG(channel ? channel->s : NULL, adjustment <= XSSH__WINDOW_MAX,
              "adjustment must be <= 4294967295 (the SSH window is a uint32, RFC 4254 section 5.2)");
    BEGIN(channel, 1);
    int rc;
    /* the window stays within 2^32-1: the peer drops a connection whose window wraps */
    unsigned long adj = xssh__chan_adjust_clamp(channel->ch, adjustment);
    unsigned int w = 0;
    LOOP(libssh2_channel_receive_window_adjust2(channel->ch, adj, (unsigned char)(force ? 1 : 0), &w));
    /* libssh2 1.10 stores the window from before the adjustment: report the new one */
    unsigned long now = libssh2_channel_window_read_ex(channel->ch, NULL, NULL);
    xssh__op_end(&op);
    if (rc)
        return op_fail(s, rc, "receive_window_adjust");
    if (window)
        *window = (unsigned int)now;
    return xssh__ok();
}
