/* SPDX-License-Identifier: BSD-3-Clause */
/* The whole-file SFTP engine: a small SFTP v3 client (draft-ietf-secsh-filexfer-02)
 * over "sftp" subsystem channels of its own, used by the whole-file transfers
 * (sftp_transfer.c). The per-call SFTP API (sftp.c) keeps using libssh2's SFTP.
 *
 * Why not libssh2's SFTP layer (1.10): it cuts READ and WRITE requests at 30000
 * bytes (OpenSSH's server accepts 255 KiB, and fewer, bigger writes cost sshd
 * much less CPU), keeps at most 4 x the caller's buffer (at most 8 MiB) of reads
 * in flight, and serialises every request of one subsystem, so several channels
 * cannot carry one file. Here:
 *   - requests are sized from the server's limits@openssh.com answer (32 KiB
 *     when it has none);
 *   - the bytes in flight (the window) start from the round trip measured on the
 *     channel's INIT and double every round trip while throughput keeps growing
 *     by 1/8, up to opts->max_in_flight (0: XSSH__ENG_AUTO_CAP); memory is
 *     bounded by that window (get: data arriving out of order waits in memory;
 *     put: at most two requests per channel are built ahead of the channel);
 *   - get: the channel is opened with a receive window larger than the largest
 *     window (libssh2_channel_open_ex window_size; libssh2 1.10's channel read
 *     keeps it topped up to that size);
 *   - put: the server's window of one channel (OpenSSH: 2 MiB) caps a put at
 *     2 MiB per round trip, so more channels on the same session (each with its
 *     own subsystem, file handle and window) take requests from one shared
 *     cursor; opts->channels, or automatic from the round trip.
 * All channels are driven by one loop in the calling thread (no extra threads,
 * no fibers): a pass moves whatever each channel can move without waiting, and
 * only when a whole pass moved nothing and no byte arrived does the loop wait,
 * always through xssh__op_again (the library's one wait path, session timeout
 * included). libssh2 1.10 completes a half-sent packet with the next send of
 * ANY call, so a call that stopped with output pending is retried (after
 * op_again's drain) before any other channel is touched.
 *
 * Channel opens and subsystem requests follow the session's rules (open_lock,
 * the request slot): taken with trylock / without waiting, so other threads'
 * opens go on and the transfer keeps moving meanwhile. Channels are closed
 * lazily (orphaned onto the session) and never waited for. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"
#include "connect_internal.h"
#include "sftp_internal.h"

enum {
    FXP_INIT = 1, FXP_VERSION = 2, FXP_OPEN = 3, FXP_CLOSE = 4, FXP_READ = 5, FXP_WRITE = 6,
    FXP_FSTAT = 8, FXP_FSETSTAT = 10, FXP_STAT = 17,
    FXP_STATUS = 101, FXP_HANDLE = 102, FXP_DATA = 103, FXP_ATTRS = 105,
    FXP_EXTENDED = 200, FXP_EXTENDED_REPLY = 201
};

#define ENG_MAX_CH 16
#define PKT_DEFAULT 32768u           /* every SFTP v3 server accepts this much data per request */
#define IN_MIN (512u * 1024u)
/* the largest SFTP packet we accept (OpenSSH sends at most 256 KiB) */
#define IN_PACKET_MAX (4u * 1024u * 1024u)

_Atomic int xssh__eng_channels_peak;

/* request kinds */
enum { RK_CTRL = 0, RK_READ, RK_WRITE, RK_VERIFY };

typedef struct req {
    uint32_t id;
    uint8_t kind;
    uint8_t ctrl;        /* RK_CTRL: which control request (C_*) */
    uint64_t off;
    uint32_t len;
} req;

enum { C_INIT = 1, C_LIMITS, C_STAT, C_OPEN, C_FSTAT, C_CLOSE, C_RENAME, C_FSETSTAT };

typedef enum { CH_NONE = 0, CH_OPENING, CH_STARTING, CH_SFTP, CH_READY, CH_CLOSING, CH_DONE } chstate;

typedef struct ech {
    LIBSSH2_CHANNEL *ch;
    chstate st;
    int has_slot;                     /* holds the session's request slot */
    char *out; size_t out_off, out_len, out_cap;
    char *in; size_t in_len, in_cap;
    req *q; size_t q_head, q_n, q_cap; /* outstanding requests, FIFO ring */
    uint32_t next_id;
    char handle[256]; uint32_t handle_len;
    int have_handle, handle_closed, init_done;
    int64_t init_sent_ms;
    uint64_t inflight;                /* data bytes of outstanding READ/WRITE */
    uint64_t carried;                 /* put: data bytes given to this channel */
} ech;

/* a piece of get data that arrived ahead of its turn */
typedef struct piece { struct piece *next; uint64_t off; size_t n; char data[]; } piece;

typedef struct eng {
    xssh_sftp *sf;
    xssh_session *s;
    xssh__op op;
    int op_held;
    int is_put;
    const char *path;                 /* remote path of the transfer (an atomic put: the destination) */
    const char *temp;                 /* an atomic put: the temporary name written, else NULL */
    const char *what;                 /* "get" / "put" for messages */
    ech ch[ENG_MAX_CH];
    int nch, want_ch, open_lock_held;
    int rc;                           /* first failure (recorded) */
    /* server */
    int ver_limits, ver_posix_rename, ver_fsync;
    uint64_t max_read, max_write, max_packet;
    int limits_known;
    /* sizing */
    int64_t rtt_ms;
    uint64_t window, cap;
    uint64_t epoch_bytes, acked;
    int64_t epoch_t;
    double best_rate;
    int growing;
    /* transfer state */
    uint64_t next_off;                /* next offset to request */
    uint64_t total;                   /* size, XSSH_SIZE_UNKNOWN */
    uint64_t eof_at;                  /* get: first offset known to be past the end */
    uint64_t delivered;               /* get: bytes handed to the sink (in order) */
    piece *pieces;
    int src_eof;                      /* put: the source has no more bytes */
    uint64_t share_cap;               /* put: most bytes one channel may carry */
    uint64_t remote_size;             /* from STAT/FSTAT (resume), or XSSH_SIZE_UNKNOWN */
    int stat_done, open_failed;
    int refused;                      /* the server refused the first channel (MaxSessions) */
    /* verify (resume) */
    uint64_t vfy_from, vfy_to, vfy_mismatch, vfy_next;
    int vfy_active;
    const xssh__eng_io *io;
    /* status of the last control request that failed */
    uint32_t last_status;
    char last_status_msg[256];
    char *attrs_buf;
} eng;

/* ---- byte helpers ------------------------------------------------------------- */

static void put32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24); p[1] = (char)(v >> 16); p[2] = (char)(v >> 8); p[3] = (char)v;
}
static void put64(char *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}
static uint64_t get64(const char *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static int fail(eng *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(eng *e, int code, const char *fmt, ...)
{
    if (e->rc)
        return e->rc;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->rc = xssh__fail(e->s, code, 0, "SFTP %s '%s'%s%s%s: %s", e->what, e->path, e->temp ? " (temporary '" : "",
                       e->temp ? e->temp : "", e->temp ? "')" : "", msg);
    return e->rc;
}

/* an SFTP status from the server */
static int fail_status(eng *e, uint32_t st, const char *doing, const char *smsg)
{
    if (e->rc)
        return e->rc;
    int code = (st >= 1 && st <= 21) ? -2000 - (int)st : XSSH_ESFTP_PROTOCOL;
    const char *m = xssh_strerror(code);
    if (strncmp(m, "SFTP: ", 6) == 0)
        m += 6;
    e->sf->last_status = st;
    char buf[1200];
    snprintf(buf, sizeof buf, "SFTP %s '%s'%s%s%s: %s: %s (SFTP status %u, %s%s%s)", e->what, e->path,
             e->temp ? " (temporary '" : "", e->temp ? e->temp : "", e->temp ? "')" : "", doing, m, st,
             xssh_err_name(code), smsg && *smsg ? ", the server says: " : "", smsg ? smsg : "");
    e->rc = xssh__fail(e->s, code, LIBSSH2_ERROR_SFTP_PROTOCOL, "%s", buf);
    xssh__saved_err se;
    xssh__err_save(&se);
    se.sftp_status = (int)st;
    xssh__err_restore(e->s, &se);
    return e->rc;
}

/* a libssh2 / wait failure (rc: libssh2 code or XSSH_ETIMEOUT / XSSH_ECLOSED) */
static int fail_ssh(eng *e, int rc, const char *doing)
{
    if (e->rc)
        return e->rc;
    if (rc == XSSH_ETIMEOUT)
        e->rc = xssh__fail(e->s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "SFTP %s '%s': %s: timed out", e->what, e->path,
                           doing);
    else if (rc == XSSH_ECLOSED)
        e->rc = xssh__fail(e->s, XSSH_ECLOSED, 0, "SFTP %s '%s': %s: the session or the SFTP object was closed meanwhile",
                           e->what, e->path, doing);
    else if (rc == XSSH_ECANCELLED)
        e->rc = xssh__fail(e->s, XSSH_ECANCELLED, 0, "SFTP %s '%s': %s: cancelled", e->what, e->path, doing);
    else
        e->rc = xssh__fail_ssh(e->s, rc, "SFTP %s '%s': %s", e->what, e->path, doing);
    return e->rc;
}

/* ---- the op (session lock) ------------------------------------------------------ */

static int eng_lock(eng *e)
{
    if (e->op_held)
        return 0;
    int r = xssh__op_begin_at(&e->op, e->s, 1, &e->sf->closed, e->is_put ? "xssh_sftp_put" : "xssh_sftp_get");
    if (r) {
        if (!e->rc)
            e->rc = r;
        return r;
    }
    e->op.blocking = 1;
    e->op_held = 1;
    return 0;
}

static void eng_unlock(eng *e)
{
    if (e->op_held) {
        xssh__op_end(&e->op);
        e->op_held = 0;
    }
}

static int out_pending(eng *e)
{
    return e->s->ssh && (libssh2_session_block_directions(e->s->ssh) & LIBSSH2_SESSION_BLOCK_OUTBOUND);
}

/* After a libssh2 call answered EAGAIN: if it left a packet half-sent, wait for
   the socket to drain (op_again) and say "retry the same call" (1). 0: not
   pending (go on with other work); -1: failed (*rc set). */
static int must_retry(eng *e, int *rc)
{
    if (*rc != LIBSSH2_ERROR_EAGAIN || !out_pending(e))
        return 0;
    if (!xssh__op_again(&e->op, rc))
        return -1;
    return 1;
}

/* ---- channel buffers ------------------------------------------------------------- */

static int out_reserve(ech *c, size_t n)
{
    if (c->out_off && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_cap - c->out_len >= n)
        return 0;
    if (c->out_off) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_cap - c->out_len >= n)
            return 0;
    }
    size_t nc = c->out_cap ? c->out_cap : 65536;
    while (nc - c->out_len < n)
        nc *= 2;
    char *p = realloc(c->out, nc);
    if (!p)
        return -1;
    c->out = p;
    c->out_cap = nc;
    return 0;
}

static size_t out_queued(const ech *c) { return c->out_len - c->out_off; }

static int q_push(ech *c, const req *r)
{
    if (c->q_n == c->q_cap) {
        size_t nc = c->q_cap ? c->q_cap * 2 : 64;
        req *n = malloc(nc * sizeof *n);
        if (!n)
            return -1;
        for (size_t i = 0; i < c->q_n; i++)
            n[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = n;
        c->q_head = 0;
        c->q_cap = nc;
    }
    c->q[(c->q_head + c->q_n) % c->q_cap] = *r;
    c->q_n++;
    return 0;
}

/* take the outstanding request with this id (usually the head) */
static int q_take(ech *c, uint32_t id, req *out)
{
    for (size_t i = 0; i < c->q_n; i++) {
        size_t k = (c->q_head + i) % c->q_cap;
        if (c->q[k].id != id)
            continue;
        *out = c->q[k];
        /* close the gap (rare unless i == 0) */
        for (size_t j = i; j > 0; j--)
            c->q[(c->q_head + j) % c->q_cap] = c->q[(c->q_head + j - 1) % c->q_cap];
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_n--;
        return 0;
    }
    return -1;
}

/* Start an SFTP packet of `type` with `body` bytes after the id; returns where
   the body goes (NULL: out of memory). The id is pushed as a request. */
static char *pkt_begin(eng *e, ech *c, int type, size_t body, const req *r)
{
    if (out_reserve(c, 9 + body) != 0) {
        fail(e, XSSH_ENOMEM, "out of memory");
        return NULL;
    }
    char *p = c->out + c->out_len;
    put32(p, (uint32_t)(5 + body));
    p[4] = (char)type;
    if (type == FXP_INIT) {
        put32(p, (uint32_t)(1 + body));
        c->out_len += 5 + body;
        return p + 5;
    }
    req rr = *r;
    rr.id = c->next_id++;
    put32(p + 5, rr.id);
    if (q_push(c, &rr) != 0) {
        fail(e, XSSH_ENOMEM, "out of memory");
        return NULL;
    }
    if (rr.kind == RK_READ || rr.kind == RK_WRITE || rr.kind == RK_VERIFY)
        c->inflight += rr.len;
    c->out_len += 9 + body;
    return p + 9;
}

static char *put_str(char *p, const void *s, size_t n)
{
    put32(p, (uint32_t)n);
    memcpy(p + 4, s, n);
    return p + 4 + n;
}

static int send_ctrl_path(eng *e, ech *c, int type, int ctrl, const char *path)
{
    size_t pl = strlen(path);
    req r = {0, RK_CTRL, (uint8_t)ctrl, 0, 0};
    char *p = pkt_begin(e, c, type, 4 + pl, &r);
    if (!p)
        return -1;
    put_str(p, path, pl);
    return 0;
}

static int send_open(eng *e, ech *c, const char *path, uint32_t pflags, long mode)
{
    size_t pl = strlen(path);
    int with_mode = (pflags & LIBSSH2_FXF_CREAT) != 0;
    req r = {0, RK_CTRL, C_OPEN, 0, 0};
    char *p = pkt_begin(e, c, FXP_OPEN, 4 + pl + 4 + 4 + (with_mode ? 4 : 0), &r);
    if (!p)
        return -1;
    p = put_str(p, path, pl);
    put32(p, pflags);
    put32(p + 4, with_mode ? LIBSSH2_SFTP_ATTR_PERMISSIONS : 0);
    if (with_mode)
        put32(p + 8, (uint32_t)(mode & 07777));
    return 0;
}

static int send_handle_req(eng *e, ech *c, int type, int ctrl)
{
    req r = {0, RK_CTRL, (uint8_t)ctrl, 0, 0};
    char *p = pkt_begin(e, c, type, 4 + c->handle_len, &r);
    if (!p)
        return -1;
    put_str(p, c->handle, c->handle_len);
    return 0;
}

static int send_read(eng *e, ech *c, int kind, uint64_t off, uint32_t len)
{
    req r = {0, (uint8_t)kind, 0, off, len};
    char *p = pkt_begin(e, c, FXP_READ, 4 + c->handle_len + 12, &r);
    if (!p)
        return -1;
    p = put_str(p, c->handle, c->handle_len);
    put64(p, off);
    put32(p + 8, len);
    return 0;
}

/* A WRITE whose data the source fills in place. Returns bytes queued (0: the
   source has no more; -1: failed). */
static long send_write(eng *e, ech *c, uint64_t off, uint32_t len)
{
    size_t hdr = 4 + c->handle_len + 8 + 4;
    req r = {0, RK_WRITE, 0, off, len};
    size_t at = out_queued(c);
    (void)at;
    if (out_reserve(c, 9 + hdr + len) != 0) {
        fail(e, XSSH_ENOMEM, "out of memory");
        return -1;
    }
    char *base = c->out + c->out_len;
    char *data = base + 9 + hdr;
    long got = e->io->src_read(e->io->ctx, data, len, off);
    if (got < 0) {
        fail(e, XSSH_EFILE, "reading the local data failed after %llu bytes: %s", (unsigned long long)off,
             strerror((int)-got));
        return -1;
    }
    if (got == 0)
        return 0;
    r.len = (uint32_t)got;
    char *p = pkt_begin(e, c, FXP_WRITE, hdr + (size_t)got, &r);
    if (!p)
        return -1;
    p = put_str(p, c->handle, c->handle_len);
    put64(p, off);
    put32(p + 8, (uint32_t)got);
    /* the data is already in place right after */
    return got;
}

/* ---- window sizing ------------------------------------------------------------- */

static uint64_t inflight_total(const eng *e);
static void window_acked(eng *e, uint64_t n)
{
    e->acked += n;
    e->epoch_bytes += n;
    if (!e->growing)
        return;
    int64_t now = xssh__now_ms();
    int64_t dt = now - e->epoch_t;
    int64_t min_dt = e->rtt_ms > 2 ? e->rtt_ms : 2;
    if (e->epoch_bytes < e->window || dt < min_dt)
        return;
    double rate = (double)e->epoch_bytes / (double)(dt > 0 ? dt : 1);
    static int trace = -1;
    if (trace < 0)
        trace = getenv("XSSH_ENG_TRACE") != NULL;
    if (trace)
        fprintf(stderr, "epoch %lld ms %llu bytes rate %.1f MiB/s window %llu inflight %llu\n", (long long)dt,
                (unsigned long long)e->epoch_bytes, rate * 1000 / 1048576, (unsigned long long)e->window,
                (unsigned long long)inflight_total(e));
    if (rate > e->best_rate * 1.125) {
        e->best_rate = rate;
        if (e->window < e->cap) {
            uint64_t w = e->window * 2;
            e->window = w > e->cap ? e->cap : w;
        }
    } else if (++e->growing > 3) {
        e->growing = 0; /* three round trips without growth: the pipe is full */
    }
    e->epoch_bytes = 0;
    e->epoch_t = now;
}

static uint64_t inflight_total(const eng *e)
{
    uint64_t t = 0;
    for (int i = 0; i < e->nch; i++)
        t += e->ch[i].inflight;
    return t;
}

/* ---- responses -------------------------------------------------------------------- */

static int deliver(eng *e, const char *p, size_t n)
{
    int r = e->io->sink_write(e->io->ctx, p, n);
    if (r) {
        fail(e, XSSH_EFILE, "writing the local file failed after %llu bytes: %s", (unsigned long long)e->delivered,
             strerror(r));
        return -1;
    }
    e->delivered += n;
    return 0;
}

static int deliver_pieces(eng *e)
{
    for (;;) {
        piece **pp = &e->pieces, *hit = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->off == e->delivered) {
                hit = *pp;
                *pp = hit->next;
                break;
            }
        if (!hit)
            return 0;
        int r = deliver(e, hit->data, hit->n);
        free(hit);
        if (r)
            return r;
    }
}

static int on_data(eng *e, ech *c, const req *r, const char *d, size_t n)
{
    if (n > r->len)
        return fail(e, XSSH_ESFTP_PROTOCOL, "the server sent %zu bytes for a read of %u", n, r->len);
    if (r->kind == RK_VERIFY) {
        size_t m = 0;
        char *local = malloc(n ? n : 1);
        if (!local)
            return fail(e, XSSH_ENOMEM, "out of memory");
        long got = e->io->local_pread(e->io->ctx, local, n, r->off);
        if (got < 0) {
            free(local);
            return fail(e, XSSH_EFILE, "reading the local file to compare failed: %s", strerror((int)-got));
        }
        while (m < (size_t)got && local[m] == d[m])
            m++;
        free(local);
        if (m < n && r->off + m < e->vfy_mismatch)
            e->vfy_mismatch = r->off + m;
        if (n < r->len && r->off + n < e->vfy_to && r->off + n < e->vfy_mismatch)
            e->vfy_mismatch = r->off + n; /* the file ends early: compare no further */
        return 0;
    }
    if (r->kind != RK_READ)
        return fail(e, XSSH_ESFTP_PROTOCOL, "unexpected DATA");
    window_acked(e, n);
    if (n < r->len && n > 0) {
        /* a short read: ask for the rest */
        if (send_read(e, c, RK_READ, r->off + n, (uint32_t)(r->len - n)) != 0)
            return -1;
    }
    if (n == 0)
        return 0;
    if (r->off == e->delivered) {
        if (deliver(e, d, n) != 0)
            return -1;
        return e->pieces ? deliver_pieces(e) : 0;
    }
    piece *pc = malloc(sizeof *pc + n);
    if (!pc)
        return fail(e, XSSH_ENOMEM, "out of memory");
    pc->off = r->off;
    pc->n = n;
    memcpy(pc->data, d, n);
    pc->next = e->pieces;
    e->pieces = pc;
    return 0;
}

static void parse_limits(eng *e, const char *p, size_t n)
{
    if (n < 32)
        return;
    e->max_packet = get64(p);
    e->max_read = get64(p + 8);
    e->max_write = get64(p + 16);
    e->limits_known = 1;
}

static void parse_version(eng *e, const char *p, size_t n)
{
    /* p: uint32 version, then (name, data) string pairs */
    size_t i = 4;
    while (i + 4 <= n) {
        uint32_t nl = get32(p + i);
        if (nl > n - i - 4)
            break;
        const char *name = p + i + 4;
        i += 4 + nl;
        if (i + 4 > n)
            break;
        uint32_t dl = get32(p + i);
        if (dl > n - i - 4)
            break;
        i += 4 + dl;
#define IS(s) (nl == sizeof(s) - 1 && memcmp(name, s, nl) == 0)
        if (IS("limits@openssh.com"))
            e->ver_limits = 1;
        else if (IS("posix-rename@openssh.com"))
            e->ver_posix_rename = 1;
        else if (IS("fsync@openssh.com"))
            e->ver_fsync = 1;
#undef IS
    }
}

/* ATTRS body: size when present */
static uint64_t attrs_size(const char *p, size_t n)
{
    if (n < 4)
        return XSSH_SIZE_UNKNOWN;
    uint32_t fl = get32(p);
    if (!(fl & LIBSSH2_SFTP_ATTR_SIZE) || n < 12)
        return XSSH_SIZE_UNKNOWN;
    return get64(p + 4);
}

/* ATTRS (SFTP draft-02 section 5): the permissions, or 0 when not sent */
static uint32_t attrs_perms(const char *p, size_t n)
{
    if (n < 4)
        return 0;
    uint32_t fl = get32(p);
    size_t o = 4;
    if (fl & LIBSSH2_SFTP_ATTR_SIZE)
        o += 8;
    if (fl & LIBSSH2_SFTP_ATTR_UIDGID)
        o += 8;
    if (!(fl & LIBSSH2_SFTP_ATTR_PERMISSIONS) || n < o + 4)
        return 0;
    return get32(p + o);
}

static int on_packet(eng *e, ech *c, int type, const char *p, size_t n)
{
    if (type == FXP_VERSION) {
        if (c->init_done)
            return fail(e, XSSH_ESFTP_PROTOCOL, "a second VERSION from the server");
        c->init_done = 1;
        int64_t rtt = xssh__now_ms() - c->init_sent_ms;
        if (e->rtt_ms < 0 || rtt < e->rtt_ms)
            e->rtt_ms = rtt;
        if (n < 4)
            return fail(e, XSSH_ESFTP_PROTOCOL, "a short VERSION from the server");
        parse_version(e, p, n);
        return 0;
    }
    if (n < 4)
        return fail(e, XSSH_ESFTP_PROTOCOL, "a short packet (type %d) from the server", type);
    uint32_t id = get32(p);
    req r;
    if (q_take(c, id, &r) != 0)
        return fail(e, XSSH_ESFTP_PROTOCOL, "an answer (type %d) to no request (id %u)", type, id);
    if (r.kind != RK_CTRL && c->inflight >= r.len)
        c->inflight -= r.len;
    p += 4;
    n -= 4;
    uint32_t st = 0;
    const char *smsg = "";
    char msgbuf[200];
    if (type == FXP_STATUS) {
        if (n < 4)
            return fail(e, XSSH_ESFTP_PROTOCOL, "a short STATUS from the server");
        st = get32(p);
        msgbuf[0] = 0;
        if (n >= 8) {
            uint32_t ml = get32(p + 4);
            if (ml <= n - 8) {
                size_t k = ml < sizeof msgbuf - 1 ? ml : sizeof msgbuf - 1;
                memcpy(msgbuf, p + 8, k);
                msgbuf[k] = 0;
                for (size_t j = 0; j < k; j++)
                    if ((unsigned char)msgbuf[j] < 0x20)
                        msgbuf[j] = ' ';
            }
        }
        smsg = msgbuf;
    }
    switch (r.kind) {
    case RK_READ:
    case RK_VERIFY:
        if (type == FXP_DATA) {
            if (n < 4 || get32(p) > n - 4)
                return fail(e, XSSH_ESFTP_PROTOCOL, "a short DATA from the server");
            return on_data(e, c, &r, p + 4, get32(p));
        }
        if (type == FXP_STATUS && st == LIBSSH2_FX_EOF) {
            if (r.kind == RK_VERIFY) {
                if (r.off < e->vfy_mismatch)
                    e->vfy_mismatch = r.off;
                return 0;
            }
            if (r.off < e->eof_at)
                e->eof_at = r.off;
            return 0;
        }
        if (type == FXP_STATUS)
            return fail_status(e, st, "read", smsg);
        return fail(e, XSSH_ESFTP_PROTOCOL, "unexpected answer (type %d) to a READ", type);
    case RK_WRITE:
        if (type != FXP_STATUS)
            return fail(e, XSSH_ESFTP_PROTOCOL, "unexpected answer (type %d) to a WRITE", type);
        if (st != LIBSSH2_FX_OK)
            return fail_status(e, st, "write", smsg);
        window_acked(e, r.len);
        return 0;
    default:
        break;
    }
    switch (r.ctrl) {
    case C_LIMITS:
        if (type == FXP_EXTENDED_REPLY)
            parse_limits(e, p, n);
        return 0; /* a server without it answers OP_UNSUPPORTED: defaults */
    case C_STAT:
    case C_FSTAT:
        if (type == FXP_ATTRS) {
            e->remote_size = attrs_size(p, n);
            e->stat_done = 1;
            if (r.ctrl == C_STAT && !e->is_put && (attrs_perms(p, n) & LIBSSH2_SFTP_S_IFMT) == LIBSSH2_SFTP_S_IFDIR) {
                fail(e, XSSH_ESFTP_FAILURE,
                     "it is a directory on the server (a directory is copied with get_tree / recursive)");
                e->sf->last_status = LIBSSH2_FX_FAILURE; /* what reading it would have answered */
                xssh__saved_err se;
                xssh__err_save(&se);
                se.sftp_status = LIBSSH2_FX_FAILURE;
                xssh__err_restore(e->s, &se);
                return e->rc;
            }
            return 0;
        }
        if (type == FXP_STATUS && r.ctrl == C_STAT) {
            e->stat_done = 1; /* the OPEN's answer says what is wrong */
            return 0;
        }
        if (type == FXP_STATUS)
            return fail_status(e, st, "fstat", smsg);
        return fail(e, XSSH_ESFTP_PROTOCOL, "unexpected answer (type %d) to a STAT", type);
    case C_OPEN:
        if (type == FXP_HANDLE) {
            uint32_t hl = n >= 4 ? get32(p) : 0;
            if (n < 4 || hl > n - 4 || hl > sizeof c->handle || hl == 0)
                return fail(e, XSSH_ESFTP_PROTOCOL, "a bad HANDLE from the server");
            memcpy(c->handle, p + 4, hl);
            c->handle_len = hl;
            c->have_handle = 1;
            c->st = CH_READY;
            return 0;
        }
        if (type == FXP_STATUS)
            return fail_status(e, st, "open", smsg);
        return fail(e, XSSH_ESFTP_PROTOCOL, "unexpected answer (type %d) to an OPEN", type);
    case C_CLOSE:
        c->handle_closed = 1;
        c->have_handle = 0;
        if (type == FXP_STATUS && st != LIBSSH2_FX_OK)
            return fail_status(e, st, "close", smsg);
        return 0;
    case C_RENAME:
    case C_FSETSTAT:
        if (type == FXP_STATUS && st != LIBSSH2_FX_OK) {
            e->last_status = st;
            snprintf(e->last_status_msg, sizeof e->last_status_msg, "%s", smsg);
            return fail_status(e, st, r.ctrl == C_RENAME ? "rename" : "truncate", smsg);
        }
        return 0;
    default:
        return 0;
    }
}

/* Parse every complete packet in c->in. */
static int parse_in(eng *e, ech *c)
{
    size_t i = 0;
    while (c->in_len - i >= 5) {
        uint32_t len = get32(c->in + i);
        if (len < 1 || len > IN_PACKET_MAX)
            return fail(e, XSSH_ESFTP_PROTOCOL, "a packet of %u bytes from the server", len);
        if (c->in_len - i < 4 + (size_t)len) {
            if (c->in_cap < 4 + (size_t)len) {
                size_t nc = c->in_cap;
                while (nc < 4 + (size_t)len)
                    nc *= 2;
                if (i) {
                    memmove(c->in, c->in + i, c->in_len - i);
                    c->in_len -= i;
                    i = 0;
                }
                char *np = realloc(c->in, nc);
                if (!np)
                    return fail(e, XSSH_ENOMEM, "out of memory");
                c->in = np;
                c->in_cap = nc;
            }
            break;
        }
        int type = (unsigned char)c->in[i + 4];
        if (on_packet(e, c, type, c->in + i + 5, len - 1) != 0)
            return -1;
        i += 4 + (size_t)len;
    }
    if (i) {
        memmove(c->in, c->in + i, c->in_len - i);
        c->in_len -= i;
    }
    return 0;
}

/* ---- channel setup (non-blocking steps) ------------------------------------------- */

static uint32_t recv_window(const eng *e)
{
    /* get: more than the largest window, so the server never waits for one;
       put: answers only */
    uint64_t w = e->is_put ? 2u * 1024 * 1024 : e->cap + e->cap / 2 + 4u * 1024 * 1024;
    if (w > 0x7fffffffu)
        w = 0x7fffffffu;
    return (uint32_t)w;
}

/* queue the channel's first SFTP requests (INIT, limits, STAT, OPEN) */
static int start_sftp(eng *e, ech *c)
{
    char *p = pkt_begin(e, c, FXP_INIT, 4, NULL);
    if (!p)
        return -1;
    put32(p, 3);
    c->init_sent_ms = xssh__now_ms();
    c->next_id = 1;
    c->st = CH_SFTP;
    int first = c == &e->ch[0];
    if (first) {
        /* unknown to a server: OP_UNSUPPORTED, harmless */
        static const char name[] = "limits@openssh.com";
        req r = {0, RK_CTRL, C_LIMITS, 0, 0};
        char *q = pkt_begin(e, c, FXP_EXTENDED, 4 + sizeof name - 1, &r);
        if (!q)
            return -1;
        put_str(q, name, sizeof name - 1);
        if (!e->is_put && send_ctrl_path(e, c, FXP_STAT, C_STAT, e->path) != 0)
            return -1;
    }
    uint32_t fl;
    if (!e->is_put)
        fl = LIBSSH2_FXF_READ;
    else if (first)
        fl = e->io->open_flags;
    else
        fl = LIBSSH2_FXF_WRITE; /* the first channel created it */
    if (send_open(e, c, e->io->target, fl, e->io->mode) != 0)
        return -1;
    if (first && e->is_put && e->io->resume) {
        /* the size of what is there (FSTAT needs the handle: sent when it comes) */
    }
    return 0;
}

static int setup_step2(eng *e, ech *c);

/* One step of a channel that is being opened. Returns 1 on progress, 0 none, -1
   failed. An extra channel (put) the server refuses (OpenSSH: MaxSessions) is
   dropped: the others carry its share. */
static int setup_step(eng *e, ech *c)
{
    int r = setup_step2(e, c);
    if (r >= 0 || c == &e->ch[0] || e->rc == XSSH_ETIMEOUT || e->rc == XSSH_ECLOSED ||
        (e->s->ssh && libssh2_session_last_errno(e->s->ssh) == LIBSSH2_ERROR_SOCKET_RECV))
        return r;
    xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e->s), "SFTP %s '%s': an extra channel failed (%s); going on without it",
              e->what, e->path, xssh_error_last()->message);
    e->rc = 0;
    if (c->has_slot)
        xssh__request_end(e->s, c);
    c->has_slot = 0;
    if (c->ch)
        xssh__session_orphan(e->s, XSSH__ORPHAN_CHANNEL, c->ch);
    c->ch = NULL;
    c->st = CH_DONE;
    e->want_ch = e->nch; /* no more */
    e->share_cap = UINT64_MAX;
    return 1;
}

static int setup_step2(eng *e, ech *c)
{
    xssh_session *s = e->s;
    if (c->st == CH_OPENING) {
        if (!e->open_lock_held) {
            if (pthread_mutex_trylock(&s->open_lock) != 0)
                return 0; /* another thread is opening a channel: later */
            xssh__open_lock_taken(s);
            e->open_lock_held = 1;
        }
        LIBSSH2_CHANNEL *raw;
        int rc;
        for (;;) {
            raw = libssh2_channel_open_ex(s->ssh, "session", 7, recv_window(e), LIBSSH2_CHANNEL_PACKET_DEFAULT,
                                          NULL, 0);
            rc = raw ? 0 : libssh2_session_last_errno(s->ssh);
            if (raw)
                break;
            int m = must_retry(e, &rc);
            if (m == 1)
                continue;
            if (m < 0)
                return fail_ssh(e, rc, "opening an SFTP channel"), -1;
            break;
        }
        if (!raw) {
            if (rc == LIBSSH2_ERROR_EAGAIN)
                return 0;
            xssh__open_lock_release(s);
            e->open_lock_held = 0;
            if (c == &e->ch[0] && (rc == LIBSSH2_ERROR_CHANNEL_FAILURE || rc == 0))
                e->refused = 1; /* e.g. OpenSSH's MaxSessions: the caller's SFTP object carries it */
            fail_ssh(e, rc ? rc : LIBSSH2_ERROR_CHANNEL_FAILURE, "opening an SFTP channel");
            return -1;
        }
        xssh__open_lock_release(s);
        e->open_lock_held = 0;
        c->ch = raw;
        c->st = CH_STARTING;
        return 1;
    }
    if (c->st == CH_STARTING) {
        if (!c->has_slot) {
            void *cur = NULL;
            if (!atomic_compare_exchange_strong(&s->request_owner, &cur, (void *)c))
                return 0; /* another request awaits its reply: later */
            atomic_store(&s->request_fiber_tag, xssh__holder_tag());
            c->has_slot = 1;
        }
        int rc;
        for (;;) {
            rc = libssh2_channel_process_startup(c->ch, "subsystem", 9, "sftp", 4);
            int m = must_retry(e, &rc);
            if (m == 1)
                continue;
            if (m < 0)
                break;
            break;
        }
        if (rc == LIBSSH2_ERROR_EAGAIN)
            return 0;
        xssh__request_end(s, c);
        c->has_slot = 0;
        if (rc) {
            fail_ssh(e, rc, "starting the sftp subsystem");
            return -1;
        }
        if (start_sftp(e, c) != 0)
            return -1;
        return 1;
    }
    return 0;
}

/* ---- the pump ------------------------------------------------------------------- */

/* Move what can move on c without waiting. 1: progress; 0: none; -1: failed. */
static int pump(eng *e, ech *c)
{
    int prog = 0;
    if (c->st == CH_OPENING || c->st == CH_STARTING) {
        int r = setup_step(e, c);
        if (r)
            return r;
        if (c->st == CH_OPENING || c->st == CH_STARTING)
            return 0;
    }
    if (!c->ch || c->st == CH_DONE)
        return 0;
    /* send */
    while (out_queued(c)) {
        ssize_t n;
        for (;;) {
            size_t left = out_queued(c);
            n = libssh2_channel_write(c->ch, c->out + c->out_off, left);
            int rc = (int)n;
            if (n >= 0)
                break;
            int m = must_retry(e, &rc);
            if (m == 1)
                continue;
            if (m < 0)
                return fail_ssh(e, rc, "sending"), -1;
            break;
        }
        if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
            break;
        if (n < 0)
            return fail_ssh(e, (int)n, "sending"), -1;
        c->out_off += (size_t)n;
        prog = 1;
    }
    /* receive: a bounded batch per pass, so the caller tops its window up
       while the data keeps coming (else a fast stream drains the whole window
       before the next requests go out) */
    size_t batch = 0;
    for (; batch < 1024 * 1024;) {
        if (c->in_cap - c->in_len < 65536) {
            size_t nc = c->in_cap ? c->in_cap * 2 : IN_MIN;
            if (c->in_cap >= IN_MIN && c->in_len < c->in_cap / 2)
                break; /* parse first */
            char *np = realloc(c->in, nc);
            if (!np)
                return fail(e, XSSH_ENOMEM, "out of memory"), -1;
            c->in = np;
            c->in_cap = nc;
        }
        ssize_t n;
        for (;;) {
            n = libssh2_channel_read(c->ch, c->in + c->in_len, c->in_cap - c->in_len);
            int rc = (int)n;
            if (n >= 0)
                break;
            int m = must_retry(e, &rc);
            if (m == 1)
                continue;
            if (m < 0)
                return fail_ssh(e, rc, "receiving"), -1;
            break;
        }
        if (n == LIBSSH2_ERROR_EAGAIN)
            break;
        if (n < 0)
            return fail_ssh(e, (int)n, "receiving"), -1;
        if (n == 0) {
            if (libssh2_channel_eof(c->ch)) {
                if (c->q_n || !c->init_done)
                    return fail(e, XSSH_ESFTP_PROTOCOL,
                                "the server ended the SFTP channel with %zu requests unanswered", c->q_n),
                           -1;
                c->st = CH_DONE;
            }
            break;
        }
        c->in_len += (size_t)n;
        batch += (size_t)n;
        prog = 1;
        if (parse_in(e, c) != 0)
            return -1;
    }
    return prog;
}

/* One pass over every channel; waits (op_again) when nothing moved. */
static int turn(eng *e)
{
    if (eng_lock(e))
        return -1;
    int intr = xssh__fiber_interrupt(); /* a pass that never waits still sees a cancel */
    if (intr) {
        fail_ssh(e, intr, "transferring");
        return -1;
    }
    unsigned long gen = atomic_load(&e->s->rx_count);
    uint64_t acked = e->acked;
    int prog = 0;
    for (int i = 0; i < e->nch; i++) {
        int r = pump(e, &e->ch[i]);
        if (r < 0 || e->rc)
            return -1;
        prog |= r;
    }
    if (!prog && atomic_load(&e->s->rx_count) == gen) {
        int rc = LIBSSH2_ERROR_EAGAIN;
        if (!xssh__op_again(&e->op, &rc)) {
            fail_ssh(e, rc, "waiting for the server");
            return -1;
        }
    } else if (xssh__fiber_slice_over(e->acked - acked)) {
        /* a multi operation whose socket stays ready: the other operations of
           the thread get their turn (the session unlocked meanwhile) */
        eng_unlock(e);
        xssh__fiber_yield();
    } else if (atomic_load(&e->s->waiters) > 0) {
        /* let the other threads of the session in (the unlock wakes them when
           this pass read input they may need) */
        eng_unlock(e);
    }
    return 0;
}

/* ---- opening ------------------------------------------------------------------ */

static void eng_init(eng *e, xssh_sftp *sf, const xssh__eng_io *io, int is_put)
{
    memset(e, 0, sizeof *e);
    e->sf = sf;
    e->s = sf->s;
    e->io = io;
    e->is_put = is_put;
    e->what = is_put ? "put" : "get";
    e->path = io->rename_to ? io->rename_to : io->target;
    e->temp = io->rename_to ? io->target : NULL;
    e->rtt_ms = -1;
    e->max_read = e->max_write = PKT_DEFAULT;
    e->max_packet = 34000;
    e->total = io->total;
    e->eof_at = UINT64_MAX;
    e->remote_size = XSSH_SIZE_UNKNOWN;
    e->vfy_mismatch = UINT64_MAX;
    uint64_t cap = io->max_in_flight ? io->max_in_flight : XSSH__ENG_AUTO_CAP;
    if (cap < 64 * 1024)
        cap = 64 * 1024;
    if (cap > XSSH__ENG_HARD_CAP)
        cap = XSSH__ENG_HARD_CAP;
    e->cap = cap;
}

static void eng_release(eng *e)
{
    if (e->op_held || eng_lock(e) == 0) {
        for (int i = 0; i < e->nch; i++) {
            ech *c = &e->ch[i];
            if (c->has_slot)
                xssh__request_end(e->s, c);
            if (c->ch)
                xssh__session_orphan(e->s, XSSH__ORPHAN_CHANNEL, c->ch);
            c->ch = NULL;
        }
        if (e->open_lock_held)
            xssh__open_lock_release(e->s);
        e->open_lock_held = 0;
        eng_unlock(e);
    } else {
        /* the session is closed: libssh2_session_free frees the channels */
        for (int i = 0; i < e->nch; i++)
            if (e->ch[i].has_slot)
                xssh__request_end(e->s, &e->ch[i]);
        if (e->open_lock_held)
            xssh__open_lock_release(e->s);
    }
    for (int i = 0; i < e->nch; i++) {
        free(e->ch[i].out);
        free(e->ch[i].in);
        free(e->ch[i].q);
    }
    while (e->pieces) {
        piece *p = e->pieces;
        e->pieces = p->next;
        free(p);
    }
}

static int add_channel(eng *e)
{
    if (e->nch >= ENG_MAX_CH)
        return 0;
    ech *c = &e->ch[e->nch++];
    memset(c, 0, sizeof *c);
    c->st = CH_OPENING;
    return 1;
}

static int channels_open(const eng *e)
{
    int n = 0;
    for (int i = 0; i < e->nch; i++)
        if (e->ch[i].ch && e->ch[i].st != CH_DONE)
            n++;
    return n;
}

static void note_peak(eng *e)
{
    int n = channels_open(e);
    int cur = atomic_load(&xssh__eng_channels_peak);
    while (n > cur && !atomic_compare_exchange_weak(&xssh__eng_channels_peak, &cur, n)) {
    }
}

/* Drive until the first channel has its handle (and the STAT / limits answers). */
static int open_first(eng *e)
{
    add_channel(e);
    while (!e->rc && !(e->ch[0].st == CH_READY && e->ch[0].q_n == 0))
        if (turn(e) < 0)
            break;
    if (e->rc)
        return e->rc;
    uint64_t cap_req = e->is_put ? e->max_write : e->max_read;
    if (e->limits_known && e->max_packet > 1024) {
        /* a request and its answer must fit the server's packet limit */
        uint64_t room = e->max_packet - 1024;
        if (cap_req == 0 || cap_req > room)
            cap_req = room;
    } else if (!e->limits_known) {
        cap_req = PKT_DEFAULT;
    }
    if (cap_req > XSSH__ENG_REQ_MAX)
        cap_req = XSSH__ENG_REQ_MAX;
    if (cap_req < 1024)
        cap_req = 1024;
    if (e->is_put)
        e->max_write = cap_req;
    else
        e->max_read = cap_req;
    /* the first window: what 64 MiB/s fills in one measured round trip, at least
       four requests, chunk_size when given */
    uint64_t rtt = e->rtt_ms > 0 ? (uint64_t)e->rtt_ms : 0;
    uint64_t w = rtt * (64u * 1024 * 1024 / 1000);
    if (w < 4 * cap_req)
        w = 4 * cap_req;
    if (e->io->initial_window)
        w = e->io->initial_window;
    if (w > e->cap)
        w = e->cap;
    if (w < cap_req)
        w = cap_req;
    e->window = w;
    e->growing = 1;
    e->epoch_t = xssh__now_ms();
    xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e->s),
              "SFTP %s '%s': round trip %lld ms, requests of %llu bytes, window %llu bytes (at most %llu), server limits %s",
              e->what, e->path, (long long)e->rtt_ms, (unsigned long long)cap_req, (unsigned long long)w,
              (unsigned long long)e->cap, e->limits_known ? "known" : "unknown");
    return 0;
}

/* ---- resume: compare the tail of the overlap ----------------------------------------- */

/* Read back [from, to) of the remote file on channel 0 and compare it with the
   local copy (io->local_pread); the first differing offset, or `to`. */
static int verify_range(eng *e, uint64_t from, uint64_t to, uint64_t *first_diff)
{
    ech *c = &e->ch[0];
    e->vfy_mismatch = UINT64_MAX;
    uint64_t next = from;
    uint64_t req_sz = e->is_put ? (e->max_read ? e->max_read : PKT_DEFAULT) : e->max_read;
    if (e->is_put && !e->limits_known)
        req_sz = PKT_DEFAULT;
    if (req_sz > XSSH__ENG_REQ_MAX)
        req_sz = XSSH__ENG_REQ_MAX;
    while (!e->rc) {
        while (next < to && next < e->vfy_mismatch && c->inflight < e->window) {
            uint64_t n = to - next < req_sz ? to - next : req_sz;
            if (send_read(e, c, RK_VERIFY, next, (uint32_t)n) != 0)
                break;
            next += n;
        }
        if (e->rc)
            break;
        if (c->q_n == 0 && (next >= to || next >= e->vfy_mismatch))
            break;
        if (turn(e) < 0)
            break;
    }
    if (e->rc)
        return e->rc;
    *first_diff = e->vfy_mismatch < to ? e->vfy_mismatch : to;
    return 0;
}

static int remote_fstat(eng *e)
{
    ech *c = &e->ch[0];
    e->stat_done = 0;
    if (send_handle_req(e, c, FXP_FSTAT, C_FSTAT) != 0)
        return -1;
    while (!e->rc && !e->stat_done)
        if (turn(e) < 0)
            break;
    return e->rc;
}

/* ---- closing ------------------------------------------------------------------ */

/* Close every handle and wait for the answers (put: a failed close is a failed
   write-back). */
static int close_handles(eng *e)
{
    if (eng_lock(e))
        return e->rc;
    for (int i = 0; i < e->nch; i++) {
        ech *c = &e->ch[i];
        if (c->have_handle && !c->handle_closed) {
            if (send_handle_req(e, c, FXP_CLOSE, C_CLOSE) != 0)
                return e->rc;
            c->st = CH_CLOSING;
        }
    }
    for (;;) {
        int busy = 0;
        for (int i = 0; i < e->nch; i++)
            if (e->ch[i].q_n || (e->ch[i].have_handle && !e->ch[i].handle_closed))
                busy = 1;
        if (!busy || e->rc)
            break;
        if (turn(e) < 0)
            break;
    }
    return e->rc;
}

/* ---- get ------------------------------------------------------------------------- */

static int eng_get(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done_out,
                   int *refused)
{
    eng e;
    eng_init(&e, sf, io, 0);
    *done_out = 0;
    if (open_first(&e) == 0) {
        if (e.remote_size != XSSH_SIZE_UNKNOWN && e.total == XSSH_SIZE_UNKNOWN)
            e.total = e.remote_size;
        if (io->total_out)
            *io->total_out = e.total;
        note_peak(&e);
    }
    /* resume: the local file holds io->have bytes */
    uint64_t start = 0;
    if (!e.rc && io->resume && io->have == 0)
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s), "SFTP get '%s': resuming at byte 0 (the local file is empty)",
                  e.path);
    if (!e.rc && io->resume && io->have > 0 && e.remote_size != XSSH_SIZE_UNKNOWN && io->have > e.remote_size) {
        /* a destination longer than the source is no prefix of it: start again */
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s),
                  "SFTP get '%s': the local file (%llu bytes) is longer than the remote (%llu): transferring all of it",
                  e.path, (unsigned long long)io->have, (unsigned long long)e.remote_size);
    } else if (!e.rc && io->resume && io->have > 0) {
        uint64_t have = io->have;
        uint64_t rs = e.remote_size;
        uint64_t upto = rs != XSSH_SIZE_UNKNOWN && rs < have ? rs : have;
        uint64_t tail = io->verify_tail < upto ? io->verify_tail : upto;
        uint64_t diff = upto;
        if (tail && verify_range(&e, upto - tail, upto, &diff) != 0)
            goto out;
        start = diff;
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s),
                  "SFTP get '%s': resuming at byte %llu (the local file held %llu; %llu compared)", e.path,
                  (unsigned long long)start, (unsigned long long)have, (unsigned long long)tail);
    }
    if (!e.rc && io->resume) {
        int r = io->local_truncate(io->ctx, start);
        if (r) {
            fail(&e, XSSH_EFILE, "truncating the local file to %llu bytes failed: %s", (unsigned long long)start,
                 strerror(r));
            goto out;
        }
    }
    e.delivered = start;
    e.next_off = start;
    e.acked = 0;
    if (prog && !e.rc) {
        prog->total = e.total;
        if (e.total != XSSH_SIZE_UNKNOWN && e.total / 128 < prog->step)
            prog->step = e.total / 128 < 32768 ? 32768 : e.total / 128;
        eng_unlock(&e);
        if (xssh__progress_report(prog, start, 1))
            fail(&e, XSSH_ECANCELLED, "cancelled by the progress callback");
    }
    ech *c = &e.ch[0];
    int probe_sent = 0;
    while (!e.rc) {
        if (eng_lock(&e))
            break;
        /* the probe brought data: the file grew, its size is no longer known */
        if (probe_sent && e.total != XSSH_SIZE_UNKNOWN && e.delivered > e.total)
            e.total = XSSH_SIZE_UNKNOWN;
        /* top the window up */
        while (e.next_off < e.eof_at && inflight_total(&e) < e.window) {
            /* known size: requests end exactly at it, then one probe at the size
               itself (EOF, or data when the file grew) goes out at once */
            uint64_t n = e.max_read;
            if (e.total != XSSH_SIZE_UNKNOWN) {
                if (e.next_off >= e.total) {
                    if (probe_sent)
                        break;
                    probe_sent = 1;
                } else if (e.total - e.next_off < n) {
                    n = e.total - e.next_off;
                }
            }
            if (send_read(&e, c, RK_READ, e.next_off, (uint32_t)n) != 0)
                break;
            e.next_off += n;
        }
        if (e.rc)
            break;
        if (e.delivered >= e.eof_at && c->q_n == 0)
            break;
        uint64_t before = e.delivered;
        if (turn(&e) < 0)
            break;
        *done_out = e.delivered - start;
        if (prog && e.delivered != before) {
            eng_unlock(&e);
            if (xssh__progress_report(prog, e.delivered, 0)) {
                fail(&e, XSSH_ECANCELLED, "cancelled by the progress callback after %llu bytes",
                     (unsigned long long)e.delivered);
                break;
            }
        }
    }
    if (!e.rc && e.delivered != e.eof_at)
        fail(&e, XSSH_ESFTP_PROTOCOL, "the file ended at %llu bytes with %llu delivered",
             (unsigned long long)e.eof_at, (unsigned long long)e.delivered);
    *done_out = e.delivered - start;
    if (!e.rc && prog) {
        eng_unlock(&e);
        if (xssh__progress_report(prog, e.delivered, 1))
            fail(&e, XSSH_ECANCELLED, "cancelled by the progress callback after %llu bytes",
                 (unsigned long long)e.delivered);
    }
    if (!e.rc)
        close_handles(&e);
out:
    if (io->start_out)
        *io->start_out = start;
    *refused = e.refused;
    {
        int rc = e.rc;
        xssh__saved_err se;
        if (rc)
            xssh__err_save(&se);
        eng_release(&e);
        if (rc)
            return xssh__err_restore(sf->s, &se);
    }
    return XSSH_OK;
}

/* ---- put ------------------------------------------------------------------------- */

static int auto_channels(const eng *e, uint64_t remaining)
{
    /* one channel carries about its server window (OpenSSH: 2 MiB) per round trip;
       add channels while what the pipe needs (64 MiB/s .. the window cap per round
       trip) exceeds that, one per 2 MiB, never for less than 8 MiB per channel */
    int64_t rtt = e->rtt_ms;
    if (rtt < 3)
        return 1;
    uint64_t want = (uint64_t)rtt * (200u * 1024 * 1024 / 1000); /* 200 MiB/s */
    if (want > e->cap)
        want = e->cap;
    uint64_t per = 2u * 1024 * 1024;
    int n = (int)((want + per - 1) / per);
    if (n > XSSH__ENG_AUTO_CHANNELS)
        n = XSSH__ENG_AUTO_CHANNELS;
    if (remaining != XSSH_SIZE_UNKNOWN) {
        uint64_t by_size = remaining / (8u * 1024 * 1024);
        if ((uint64_t)n > by_size)
            n = by_size < 1 ? 1 : (int)by_size;
    }
    return n < 1 ? 1 : n;
}

/* lowest offset not yet acknowledged */
static uint64_t put_prefix(const eng *e)
{
    uint64_t m = e->next_off;
    for (int i = 0; i < e->nch; i++) {
        const ech *c = &e->ch[i];
        for (size_t k = 0; k < c->q_n; k++) {
            const req *r = &c->q[(c->q_head + k) % c->q_cap];
            if (r->kind == RK_WRITE && r->off < m)
                m = r->off;
        }
    }
    return m;
}

static int eng_put(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done_out,
                   int *refused)
{
    eng e;
    eng_init(&e, sf, io, 1);
    *done_out = 0;
    uint64_t start = 0;
    open_first(&e);
    if (!e.rc && io->resume) {
        if (remote_fstat(&e) != 0)
            goto out;
    }
    if (!e.rc && io->resume && (e.remote_size == XSSH_SIZE_UNKNOWN || e.remote_size == 0))
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s), "SFTP put '%s': resuming at byte 0 (the remote file is empty)",
                  e.path);
    if (!e.rc && io->resume && e.remote_size != XSSH_SIZE_UNKNOWN && io->total != XSSH_SIZE_UNKNOWN &&
        e.remote_size > io->total) {
        /* a destination longer than the source is no prefix of it: start again
           (the end of the put cuts it to the source's size) */
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s),
                  "SFTP put '%s': the remote file (%llu bytes) is longer than the local (%llu): transferring all of it",
                  e.path, (unsigned long long)e.remote_size, (unsigned long long)io->total);
    } else if (!e.rc && io->resume && e.remote_size != XSSH_SIZE_UNKNOWN && e.remote_size > 0) {
        uint64_t rs = e.remote_size;
        uint64_t upto = io->total != XSSH_SIZE_UNKNOWN && io->total < rs ? io->total : rs;
        uint64_t tail = io->verify_tail < upto ? io->verify_tail : upto;
        uint64_t diff = upto;
        if (tail && verify_range(&e, upto - tail, upto, &diff) != 0)
            goto out;
        start = diff;
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s),
                  "SFTP put '%s': resuming at byte %llu (the remote file held %llu; %llu compared)", e.path,
                  (unsigned long long)start, (unsigned long long)rs, (unsigned long long)tail);
    }
    if (e.rc)
        goto out;
    if (io->start_out)
        *io->start_out = start;
    e.next_off = start;
    e.acked = 0;
    uint64_t remaining = io->total == XSSH_SIZE_UNKNOWN ? XSSH_SIZE_UNKNOWN : io->total - start;
    int want = io->channels > 0 ? io->channels : auto_channels(&e, remaining);
    if (want > ENG_MAX_CH)
        want = ENG_MAX_CH;
    e.want_ch = want;
    /* channels given explicitly, with a known size: no channel carries more than
       1.5 shares, so every requested channel takes part (a fast first channel
       cannot finish alone). Automatic: whichever channel has room takes the next
       piece (the late ones never hold the transfer back). */
    e.share_cap = UINT64_MAX;
    if (io->channels > 1 && want > 1 && remaining != XSSH_SIZE_UNKNOWN)
        e.share_cap = remaining / (uint64_t)want + remaining / (2u * (uint64_t)want) + 1;
    xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s), "SFTP put '%s': %d channel%s", e.path, want,
              want == 1 ? "" : "s");
    if (prog) {
        eng_unlock(&e);
        if (xssh__progress_report(prog, start, 1))
            fail(&e, XSSH_ECANCELLED, "cancelled by the progress callback");
    }
    int peak_logged = 1;
    uint64_t reported = start;
    while (!e.rc) {
        if (eng_lock(&e))
            break;
        /* more channels: one opening at a time, while the transfer goes on */
        if (e.nch < e.want_ch && !e.src_eof) {
            /* the next open may start while the previous channel's subsystem
               request is on its way (open_lock and the request slot differ) */
            int opening = 0;
            for (int i = 0; i < e.nch; i++)
                if (e.ch[i].st == CH_OPENING)
                    opening = 1;
            if (!opening)
                add_channel(&e);
        }
        /* feed: each ready channel with little queued takes the next piece */
        int fed = 1;
        while (fed && !e.src_eof && !e.rc) {
            fed = 0;
            for (int i = 0; i < e.nch && !e.src_eof; i++) {
                ech *c = &e.ch[i];
                if (c->st != CH_READY || out_queued(c) >= e.max_write || c->carried >= e.share_cap)
                    continue;
                if (inflight_total(&e) + e.max_write > e.window && inflight_total(&e) > 0)
                    break;
                uint64_t n = e.max_write;
                if (io->total != XSSH_SIZE_UNKNOWN) {
                    if (e.next_off >= io->total) {
                        e.src_eof = 1;
                        break;
                    }
                    if (io->total - e.next_off < n)
                        n = io->total - e.next_off;
                }
                if (e.share_cap - c->carried < n)
                    n = e.share_cap - c->carried;
                long got = send_write(&e, c, e.next_off, (uint32_t)n);
                if (got < 0)
                    break;
                if (got == 0) {
                    e.src_eof = 1;
                    break;
                }
                e.next_off += (uint64_t)got;
                c->carried += (uint64_t)got;
                fed = 1;
            }
        }
        if (e.rc)
            break;
        int busy = 0;
        for (int i = 0; i < e.nch; i++)
            if (e.ch[i].q_n || out_queued(&e.ch[i]))
                busy = 1;
        if (e.src_eof && !busy)
            break;
        if (turn(&e) < 0)
            break;
        if (peak_logged < channels_open(&e)) {
            peak_logged = channels_open(&e);
            note_peak(&e);
            xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s), "SFTP put '%s': %d channels open", e.path, peak_logged);
        }
        uint64_t pre = put_prefix(&e);
        *done_out = pre - start;
        if (prog && pre != reported) {
            reported = pre;
            eng_unlock(&e);
            if (xssh__progress_report(prog, pre, 0)) {
                fail(&e, XSSH_ECANCELLED, "cancelled by the progress callback after %llu bytes",
                     (unsigned long long)pre);
                break;
            }
        }
    }
    if (e.rc)
        goto out;
    *done_out = e.next_off - start;
    if (prog) {
        eng_unlock(&e);
        if (xssh__progress_report(prog, e.next_off, 1)) {
            fail(&e, XSSH_ECANCELLED, "cancelled by the progress callback after %llu bytes",
                 (unsigned long long)e.next_off);
            goto out;
        }
    }
    /* the remote file held more than the source: cut it to size (resume) */
    if (io->resume && e.remote_size != XSSH_SIZE_UNKNOWN && e.remote_size > e.next_off) {
        if (eng_lock(&e))
            goto out;
        ech *c = &e.ch[0];
        req r = {0, RK_CTRL, C_FSETSTAT, 0, 0};
        char *p = pkt_begin(&e, c, FXP_FSETSTAT, 4 + c->handle_len + 12, &r);
        if (!p)
            goto out;
        p = put_str(p, c->handle, c->handle_len);
        put32(p, LIBSSH2_SFTP_ATTR_SIZE);
        put64(p + 4, e.next_off);
        while (!e.rc && c->q_n)
            if (turn(&e) < 0)
                break;
        if (e.rc)
            goto out;
    }
    if (e.nch > 1 && xssh__log_enabled(XSSH_LOG_DEBUG)) {
        char buf[512];
        size_t k = 0;
        int used = 0;
        for (int i = 0; i < e.nch && k < sizeof buf - 32; i++) {
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%llu", i ? ", " : "", (unsigned long long)e.ch[i].carried);
            used += e.ch[i].carried > 0;
        }
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(e.s), "SFTP put '%s': %d channels carried data (bytes: %s)", e.path,
                  used, buf);
    }
    close_handles(&e);
    if (!e.rc && io->rename_to) {
        /* atomic replace: posix-rename@openssh.com when offered (rename(2) on
           the server); else the caller falls back */
        if (e.ver_posix_rename) {
            ech *c = &e.ch[0];
            static const char name[] = "posix-rename@openssh.com";
            size_t a = strlen(io->target), b = strlen(io->rename_to);
            req r = {0, RK_CTRL, C_RENAME, 0, 0};
            if (eng_lock(&e) == 0) {
                char *p = pkt_begin(&e, c, FXP_EXTENDED, 4 + sizeof name - 1 + 4 + a + 4 + b, &r);
                if (p) {
                    p = put_str(p, name, sizeof name - 1);
                    p = put_str(p, io->target, a);
                    put_str(p, io->rename_to, b);
                    while (!e.rc && c->q_n)
                        if (turn(&e) < 0)
                            break;
                    if (!e.rc && io->renamed_out)
                        *io->renamed_out = 1;
                }
            }
        }
    }
out:
    *refused = e.refused;
    {
        int rc = e.rc;
        xssh__saved_err se;
        if (rc)
            xssh__err_save(&se);
        eng_release(&e);
        if (rc)
            return xssh__err_restore(sf->s, &se);
    }
    return XSSH_OK;
}

/* ---- the fallback: the caller's SFTP object (libssh2's SFTP layer) ------------------ */

/* When the server refuses the engine's first channel (OpenSSH: MaxSessions, its
   default 10, counts every channel of the connection), the transfer goes over
   the SFTP object the caller gave, one request at a time (libssh2 1.10's SFTP:
   slower, but it needs no channel of its own). Resume works as in the engine:
   the overlap's last verify_tail bytes are read back and compared. */
#define FB_BUF (256u * 1024)

/* resume: compare [upto - verify_tail, upto) of the remote file f with the local
   copy (io->local_pread); *start = the first differing offset, or upto */
static int fb_verify(xssh_sftp *sf, xssh_sftp_file *f, const xssh__eng_io *io, const char *what, uint64_t upto,
                     char *buf, uint64_t *start)
{
    uint64_t tail = io->verify_tail < upto ? io->verify_tail : upto;
    uint64_t off = upto - tail;
    *start = upto;
    if (!tail)
        return XSSH_OK;
    char *mine = malloc(FB_BUF);
    if (!mine)
        return xssh__fail(sf->s, XSSH_ENOMEM, 0, "out of memory");
    int rc = xssh_sftp_file_seek64(f, off);
    while (!rc && off < upto) {
        size_t want = upto - off < FB_BUF ? (size_t)(upto - off) : FB_BUF, n = 0;
        rc = xssh_sftp_file_read(f, buf, want, &n);
        if (rc)
            break;
        if (n == 0) { /* the remote file is shorter than it said */
            *start = off;
            break;
        }
        long m = io->local_pread(io->ctx, mine, n, off);
        if (m < 0) {
            rc = xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP %s '%s': reading the local copy to compare failed: %s", what,
                            io->rename_to ? io->rename_to : io->target, strerror((int)-m));
            break;
        }
        size_t same = 0;
        while (same < n && same < (size_t)m && buf[same] == mine[same])
            same++;
        if (same < n) {
            *start = off + same;
            break;
        }
        off += n;
    }
    free(mine);
    if (!rc)
        xssh__log(XSSH_LOG_DEBUG, xssh__log_host(sf->s), "SFTP %s '%s': resuming at byte %llu (%llu compared)", what,
                  io->rename_to ? io->rename_to : io->target, (unsigned long long)*start, (unsigned long long)tail);
    return rc;
}

static int fb_get(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done_out)
{
    xssh_sftp_file *f = NULL;
    int rc = xssh__sftp_open(&f, sf, io->target, strlen(io->target), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, 1);
    if (rc)
        return rc;
    uint64_t total = XSSH_SIZE_UNKNOWN;
    xssh_sftp_attrs a;
    if (xssh_sftp_file_fstat(f, &a) == XSSH_OK && (a.flags & LIBSSH2_SFTP_ATTR_SIZE))
        total = a.filesize;
    if (io->total_out)
        *io->total_out = total;
    char *buf = malloc(FB_BUF);
    uint64_t done = 0, start = 0;
    if (!buf)
        rc = xssh__fail(sf->s, XSSH_ENOMEM, 0, "out of memory");
    /* resume: the local file holds io->have bytes (longer than the remote: no prefix of it, all again) */
    if (!rc && io->resume && io->have > 0 && !(total != XSSH_SIZE_UNKNOWN && io->have > total))
        rc = fb_verify(sf, f, io, "get", total != XSSH_SIZE_UNKNOWN && total < io->have ? total : io->have, buf,
                       &start);
    if (!rc && io->resume && io->local_truncate) {
        int r = io->local_truncate(io->ctx, start);
        if (r)
            rc = xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP get '%s': truncating the local file failed: %s", io->target,
                            strerror(r));
    }
    if (!rc && io->resume)
        rc = xssh_sftp_file_seek64(f, start);
    if (io->start_out)
        *io->start_out = start;
    if (!rc && prog) {
        prog->total = total;
        if (xssh__progress_report(prog, start, 1))
            rc = xssh__fail(sf->s, XSSH_ECANCELLED, 0, "SFTP get '%s': cancelled by the progress callback",
                            io->target);
    }
    while (!rc) {
        size_t n = 0;
        rc = xssh_sftp_file_read(f, buf, FB_BUF, &n);
        if (rc || n == 0)
            break;
        int r = io->sink_write(io->ctx, buf, n);
        if (r) {
            rc = xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP get '%s': writing the local file failed: %s", io->target,
                            strerror(r));
            break;
        }
        done += n;
        *done_out = done;
        if (prog && xssh__progress_report(prog, start + done, 0))
            rc = xssh__fail(sf->s, XSSH_ECANCELLED, 0,
                            "SFTP get '%s': cancelled by the progress callback after %llu bytes", io->target,
                            (unsigned long long)(start + done));
    }
    if (!rc && prog && xssh__progress_report(prog, start + done, 1))
        rc = xssh__fail(sf->s, XSSH_ECANCELLED, 0, "SFTP get '%s': cancelled by the progress callback", io->target);
    xssh__saved_err se;
    xssh__err_save(&se);
    int crc = xssh__sftp_file_close_blocking(f);
    xssh_sftp_file_unref(f);
    free(buf);
    if (rc)
        return xssh__err_restore(sf->s, &se);
    return crc;
}

static int fb_put(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done_out)
{
    xssh_sftp_file *f = NULL;
    /* resume: the remote file is kept and compared; else emptied */
    unsigned long fl = io->open_flags | (io->resume ? 0 : LIBSSH2_FXF_TRUNC);
    int rc = xssh__sftp_open(&f, sf, io->target, strlen(io->target), fl, io->mode, LIBSSH2_SFTP_OPENFILE, 1);
    if (rc)
        return rc;
    char *buf = malloc(FB_BUF);
    uint64_t done = 0, start = 0, rs = 0;
    if (!buf)
        rc = xssh__fail(sf->s, XSSH_ENOMEM, 0, "out of memory");
    if (!rc && io->resume) {
        xssh_sftp_attrs a;
        rc = xssh_sftp_file_fstat(f, &a);
        rs = !rc && (a.flags & LIBSSH2_SFTP_ATTR_SIZE) ? a.filesize : 0;
        /* a remote file longer than the source is no prefix of it: all again (cut at the end) */
        if (!rc && rs > 0 && !(io->total != XSSH_SIZE_UNKNOWN && rs > io->total))
            rc = fb_verify(sf, f, io, "put", io->total != XSSH_SIZE_UNKNOWN && io->total < rs ? io->total : rs, buf,
                           &start);
        if (!rc)
            rc = xssh_sftp_file_seek64(f, start);
    }
    if (io->start_out)
        *io->start_out = start;
    if (!rc && prog && xssh__progress_report(prog, start, 1))
        rc = xssh__fail(sf->s, XSSH_ECANCELLED, 0, "SFTP put '%s': cancelled by the progress callback", io->target);
    while (!rc) {
        long n = io->src_read(io->ctx, buf, FB_BUF, start + done);
        if (n < 0) {
            rc = xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP put '%s': reading the source failed: %s", io->target,
                            strerror((int)-n));
            break;
        }
        if (n == 0)
            break;
        size_t w = 0;
        rc = xssh_sftp_file_write(f, buf, (size_t)n, &w);
        if (rc)
            break;
        done += (uint64_t)n;
        *done_out = done;
        if (prog && xssh__progress_report(prog, start + done, 0))
            rc = xssh__fail(sf->s, XSSH_ECANCELLED, 0,
                            "SFTP put '%s': cancelled by the progress callback after %llu bytes", io->target,
                            (unsigned long long)(start + done));
    }
    /* resume: what the remote file held beyond the source's end goes */
    if (!rc && io->resume && rs > start + done) {
        xssh_sftp_attrs t = {0};
        t.flags = LIBSSH2_SFTP_ATTR_SIZE;
        t.filesize = start + done;
        rc = xssh_sftp_file_fsetstat(f, &t);
    }
    xssh__saved_err se;
    xssh__err_save(&se);
    int crc = xssh__sftp_file_close_blocking(f);
    xssh_sftp_file_unref(f);
    free(buf);
    if (rc)
        return xssh__err_restore(sf->s, &se);
    if (crc)
        return crc;
    if (prog && xssh__progress_report(prog, start + done, 1))
        return xssh__fail(sf->s, XSSH_ECANCELLED, 0, "SFTP put '%s': cancelled by the progress callback",
                          io->target);
    return XSSH_OK;
}

/* A transfer failed with the server's generic SSH_FX_FAILURE: when the remote
   path is a directory (a put's open or rename onto it, a read of it over the
   fallback path fails so), say that instead. */
static int onto_directory(xssh_sftp *sf, const xssh__eng_io *io, int is_put, int rc)
{
    if (rc != XSSH_ESFTP_FAILURE)
        return rc;
    const char *path = io->rename_to ? io->rename_to : io->target;
    xssh__saved_err se;
    xssh__err_save(&se);
    xssh_sftp_attrs a;
    int st = xssh_sftp_stat(sf, path, &a);
    if (st == XSSH_OK && (a.flags & XSSH_SFTP_ATTR_PERMISSIONS) &&
        (a.permissions & LIBSSH2_SFTP_S_IFMT) == LIBSSH2_SFTP_S_IFDIR) {
        sf->last_status = LIBSSH2_FX_FAILURE;
        if (is_put)
            xssh__fail(sf->s, XSSH_ESFTP_FAILURE, 0,
                       "SFTP put '%s': the destination is a directory on the server; name the file inside it "
                       "(e.g. '%s/<name>'), or copy a directory with put_tree / recursive",
                       path, path);
        else
            xssh__fail(sf->s, XSSH_ESFTP_FAILURE, 0,
                       "SFTP get '%s': it is a directory on the server (a directory is copied with get_tree / "
                       "recursive)", path);
        xssh__err_save(&se);
        se.sftp_status = LIBSSH2_FX_FAILURE;
    }
    xssh__err_restore(sf->s, &se);
    return rc;
}

/* The engine's transfer; when the server refused the engine a channel of its own
   (OpenSSH MaxSessions), the same transfer over the caller's SFTP object. */
static int with_fallback(const char *what, xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog,
                         uint64_t *done_out,
                         int (*engine)(xssh_sftp *, const xssh__eng_io *, xssh__progress *, uint64_t *, int *),
                         int (*fb)(xssh_sftp *, const xssh__eng_io *, xssh__progress *, uint64_t *))
{
    int refused = 0;
    int is_put = engine == eng_put;
    int rc = engine(sf, io, prog, done_out, &refused);
    if (!rc || !refused)
        return is_put ? onto_directory(sf, io, 1, rc) : rc; /* the engine's get STATs first */
    xssh__log(XSSH_LOG_DEBUG, xssh__log_host(sf->s),
              "SFTP %s '%s': the server refused a channel of its own (%s); over the caller's SFTP object instead",
              what, io->target, xssh_error_last()->message);
    *done_out = 0;
    int prev = xssh__sftp_force_blocking(1);
    rc = fb(sf, io, prog, done_out);
    xssh__sftp_force_blocking(prev);
    return rc ? onto_directory(sf, io, is_put, rc) : xssh__ok();
}

int xssh__eng_get(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done_out)
{
    return with_fallback("get", sf, io, prog, done_out, eng_get, fb_get);
}

int xssh__eng_put(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done_out)
{
    return with_fallback("put", sf, io, prog, done_out, eng_put, fb_put);
}
