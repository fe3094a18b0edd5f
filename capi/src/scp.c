/* SPDX-License-Identifier: BSD-3-Clause */
/* SCP: channels running the server's "scp -pf <path>" / "scp -t <path>"
 * (libssh2_scp_recv2 / libssh2_scp_send64), and whole-file get/put.
 *
 * libssh2's SCP calls open a channel (one open state machine per session:
 * xssh__open_begin) and then make an "exec" request that waits for its reply
 * (one such request at a time per session: xssh__request_begin). The
 * whole-file transfers speak the rest of the protocol themselves so that a
 * short or failed transfer is always detected:
 *   get: read exactly size bytes, then the source's status byte (0 = sent
 *        fine, 1/2 + message = error), acknowledge with 0, send EOF, wait for
 *        the close and the exit status;
 *   put: write exactly size bytes and a 0 byte ("sent fine"), read the sink's
 *        acknowledgement (0 = written, 1/2 + message = error), send EOF, wait
 *        for the close and the exit status (0).
 * Local file I/O and the progress callback run without the session lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SCP_READ_DEFAULT (256u * 1024u)

/* the request slot's owner for SCP exec requests (stable across EAGAIN returns) */
static char scp_request_owner;

static void info_from(xssh_scp_fileinfo *o, const libssh2_struct_stat *st)
{
    memset(o, 0, sizeof *o);
    o->size = (uint64_t)st->st_size;
    o->mode = (unsigned long)st->st_mode | S_IFREG; /* libssh2 gives the permission bits only */
    o->atime = (int64_t)st->st_atime;
    o->mtime = (int64_t)st->st_mtime;
}

static int scp_fail(xssh_session *s, int rc, const char *what, const char *path)
{
    if (rc == XSSH_ETIMEOUT)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "SCP %s '%s': timed out", what, path);
    if (rc == XSSH_ECLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "SCP %s '%s': the session was closed meanwhile", what, path);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return xssh__fail(s, XSSH_EAGAIN, rc, "SCP %s '%s': would block", what, path);
    return xssh__fail_ssh(s, rc, "SCP %s '%s'", what, path);
}

/* Open an SCP channel: recv (stat != NULL) or send. */
static int scp_open(xssh_session *s, const char *path, int legacy_recv, libssh2_struct_stat *st, int mode,
                    uint64_t size, int64_t mtime, int64_t atime, xssh_channel **out)
{
    xssh__op op;
    int rc = xssh__op_begin_at(&op, s, 1, NULL, st ? "xssh_session_scp_recv" : "xssh_session_scp_send");
    if (rc)
        return rc;
    const char *what = st ? "recv" : "send";
    xssh__open_begin(s, &op);
    LIBSSH2_CHANNEL *raw = NULL;
    for (;;) {
        rc = xssh__request_begin(&op, &scp_request_owner);
        if (rc)
            break;
        if (st && legacy_recv) {
            struct stat sb;
            memset(&sb, 0, sizeof sb);
            raw = libssh2_scp_recv(s->ssh, path, &sb);
            if (raw)
                *st = sb;
        } else if (st) {
            raw = libssh2_scp_recv2(s->ssh, path, st);
        } else {
            raw = libssh2_scp_send64(s->ssh, path, mode, (libssh2_int64_t)size, (time_t)mtime, (time_t)atime);
        }
        if (raw) {
            rc = 0;
            break;
        }
        rc = libssh2_session_last_errno(s->ssh);
        if (rc == 0)
            rc = LIBSSH2_ERROR_SCP_PROTOCOL;
        if (rc != LIBSSH2_ERROR_EAGAIN || !op.blocking) {
            if (rc != LIBSSH2_ERROR_EAGAIN)
                xssh__request_end(s, &scp_request_owner);
            break;
        }
        if (!xssh__op_again(&op, &rc)) {
            xssh__request_end(s, &scp_request_owner);
            break;
        }
    }
    if (raw)
        xssh__request_end(s, &scp_request_owner);
    xssh__open_end(s, &op);
    if (!raw) {
        int r = scp_fail(s, rc, what, path);
        xssh__op_end(&op);
        return r;
    }
    if (xssh__chan_wrap(s, raw, out) != XSSH_OK) {
        xssh__session_orphan(s, XSSH__ORPHAN_CHANNEL, raw);
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory allocating a channel");
    }
    xssh__op_end(&op);
    return xssh__ok();
}

static int recv_common(xssh_session *s, const char *path, xssh_channel **channel, xssh_scp_fileinfo *info,
                       int legacy)
{
    XSSH__ARG(NULL, channel, "channel is NULL");
    *channel = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, path && *path, "path is NULL or empty");
    libssh2_struct_stat st;
    memset(&st, 0, sizeof st);
    int rc = scp_open(s, path, legacy, &st, 0, 0, 0, 0, channel);
    if (rc == XSSH_OK && info)
        info_from(info, &st);
    return rc;
}

int xssh_session_scp_recv2(xssh_session *s, const char *path, xssh_channel **channel, xssh_scp_fileinfo *info)
{
    return recv_common(s, path, channel, info, 0);
}

int xssh_session_scp_recv(xssh_session *s, const char *path, xssh_channel **channel, xssh_scp_fileinfo *info)
{
    return recv_common(s, path, channel, info, 1);
}

int xssh_session_scp_send64(xssh_session *s, const char *path, int mode, uint64_t size, int64_t mtime,
                            int64_t atime, xssh_channel **channel)
{
    XSSH__ARG(NULL, channel, "channel is NULL");
    *channel = NULL;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, path && *path, "path is NULL or empty");
    XSSH__ARG(s, size <= (uint64_t)INT64_MAX, "size must be <= 2^63-1 (libssh2_scp_send64 takes an int64)");
    XSSH__ARG(s, mtime >= 0 && atime >= 0, "times must be >= 0");
    /* libssh2 1.10 writes the SCP "C" line as "C0%o": the receiving scp reads
       exactly four octal digits, so anything above 0777 would derail it */
    XSSH__ARG(s, mode >= 0 && (mode & ~(S_IFMT | 07777)) == 0,
              "mode must be permission bits (0 to 0777), optionally with S_IFMT file-type bits");
    XSSH__ARG(s, (mode & 07000) == 0,
              "mode: setuid/setgid/sticky bits (07000) cannot be sent: libssh2 1.10 carries the 0777 bits only");
    return scp_open(s, path, 0, NULL, mode & 0777, size, mtime, atime, channel);
}

int xssh_session_scp_send(xssh_session *s, const char *path, int mode, size_t size, xssh_channel **channel)
{
    return xssh_session_scp_send64(s, path, mode, (uint64_t)size, 0, 0, channel);
}

/* ---- whole-file transfers --------------------------------------------------- */

/* the whole-file calls block whatever the session's mode */
typedef struct force_block {
    int prev;
} force_block;
static void block_begin(force_block *f)
{
    f->prev = xssh__tls_nonblocking;
    xssh__tls_nonblocking = 2;
}
static void block_end(force_block *f) { xssh__tls_nonblocking = f->prev; }

/* read exactly n bytes from the channel (EOF before: XSSH_ESCP_PROTOCOL) */
static int chan_read_exact(xssh_session *s, xssh_channel *c, char *buf, size_t n, const char *what,
                           const char *path)
{
    size_t have = 0;
    while (have < n) {
        size_t got = 0;
        int rc = xssh_channel_read(c, buf + have, n - have, &got);
        if (rc)
            return rc;
        if (got == 0)
            return xssh__fail(s, XSSH_ESCP_PROTOCOL, 0, "SCP %s '%s': the server closed the channel early", what,
                              path);
        have += got;
    }
    return XSSH_OK;
}

/* Read the peer's status byte: 0 fine; 1 / 2 followed by a message line: error. */
static int read_status(xssh_session *s, xssh_channel *c, const char *what, const char *path)
{
    char b;
    int rc = chan_read_exact(s, c, &b, 1, what, path);
    if (rc)
        return rc;
    if (b == 0)
        return XSSH_OK;
    char msg[512];
    size_t n = 0;
    if (b == 1 || b == 2) {
        while (n + 1 < sizeof msg) {
            char ch;
            if (chan_read_exact(s, c, &ch, 1, what, path) != XSSH_OK)
                break;
            if (ch == '\n')
                break;
            msg[n++] = ch;
        }
    }
    msg[n] = 0;
    return xssh__fail(s, XSSH_ESCP_PROTOCOL, 0, "SCP %s '%s': the server reported an error: %s", what, path,
                      n ? msg : "(no message)");
}

/* EOF, wait for the server to close, check its exit status (0) */
static int finish_channel(xssh_session *s, xssh_channel *c, const char *what, const char *path)
{
    int rc = xssh_channel_send_eof(c);
    char sink[4096];
    size_t got = 1;
    while (rc == XSSH_OK && got > 0) /* drain up to the server's EOF */
        rc = xssh_channel_read(c, sink, sizeof sink, &got);
    if (rc == XSSH_OK)
        rc = xssh_channel_close(c);
    if (rc == XSSH_OK)
        rc = xssh_channel_wait_closed(c);
    if (rc)
        return rc;
    int status = 0, have = 0;
    xssh_channel_get_exit_status(c, &status, &have);
    if (!have) { /* killed by a signal, or the status never came: not a verified success */
        char *sig = NULL;
        xssh_channel_get_exit_signal(c, &sig, NULL, NULL);
        int e = xssh__fail(s, XSSH_ESCP_PROTOCOL, 0, "SCP %s '%s': the server's scp ended without an exit status%s%s%s",
                           what, path, sig ? " (signal " : "", sig ? sig : "", sig ? ")" : "");
        xssh_free(sig);
        return e;
    }
    if (status != 0)
        return xssh__fail(s, XSSH_ESCP_PROTOCOL, 0, "SCP %s '%s': the server's scp exited with status %d", what,
                          path, status);
    return XSSH_OK;
}

static size_t chunk_of(const xssh_transfer_opts *o)
{
    size_t n = o && o->chunk_size ? o->chunk_size : SCP_READ_DEFAULT;
    if (n < 4096)
        n = 4096;
    if (n > (64u << 20))
        n = 64u << 20;
    return n;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* the data of channel c (from scp_recv2) into fd; consumes the reference on c */
static int get_core(xssh_session *s, xssh_channel *c, const char *remote, int fd, const xssh_transfer_opts *opts,
                    uint64_t *done_out, const xssh_scp_fileinfo *info)
{
    *done_out = 0;
    int rc = XSSH_OK;
    size_t cap = chunk_of(opts);
    char *buf = malloc(cap);
    if (!buf) {
        xssh_channel_unref(c);
        return xssh__fail(s, XSSH_ENOMEM, 0, "SCP get '%s': out of memory", remote);
    }
    xssh__progress p;
    xssh__progress_init(&p, opts, info->size);
    uint64_t done = 0;
    if (xssh__progress_report(&p, 0, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SCP get '%s': cancelled by the progress callback", remote);
    while (rc == XSSH_OK && done < info->size) {
        size_t want = info->size - done < cap ? (size_t)(info->size - done) : cap;
        size_t got = 0;
        rc = xssh_channel_read(c, buf, want, &got);
        if (rc)
            break;
        if (got == 0) {
            rc = xssh__fail(s, XSSH_ESCP_PROTOCOL, 0,
                            "SCP get '%s': the server closed the channel after %llu of %llu bytes", remote,
                            (unsigned long long)done, (unsigned long long)info->size);
            break;
        }
        if (write_all(fd, buf, got) != 0) {
            rc = xssh__fail(s, XSSH_EFILE, 0, "SCP get '%s': writing the local file failed after %llu bytes: %s",
                            remote, (unsigned long long)done, strerror(errno));
            break;
        }
        done += got;
        *done_out = done;
        if (xssh__progress_report(&p, done, 0))
            rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SCP get '%s': cancelled by the progress callback after %llu bytes",
                            remote, (unsigned long long)done);
    }
    free(buf);
    if (rc == XSSH_OK)
        rc = read_status(s, c, "get", remote);
    if (rc == XSSH_OK) {
        size_t w = 0;
        rc = xssh_channel_write(c, "", 1, &w); /* acknowledge */
    }
    if (rc == XSSH_OK)
        rc = finish_channel(s, c, "get", remote);
    if (rc == XSSH_OK && xssh__progress_report(&p, done, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SCP get '%s': cancelled by the progress callback after %llu bytes",
                        remote, (unsigned long long)done);
    if (rc != XSSH_OK) {
        xssh__saved_err se;
        xssh__err_save(&se);
        xssh_channel_close(c); /* stop the server side; errors are secondary */
        xssh__err_restore(s, &se);
    }
    xssh_channel_unref(c);
    return rc;
}

int xssh_session_scp_get(xssh_session *s, const char *remote, const char *local, const xssh_transfer_opts *opts,
                         uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, remote && *remote, "remote path is NULL or empty");
    XSSH__ARG(s, local && *local, "local path is NULL or empty");
    force_block fb;
    block_begin(&fb);
    /* the remote file first: a missing one leaves no local file behind */
    xssh_channel *c = NULL;
    xssh_scp_fileinfo info;
    int rc = xssh_session_scp_recv2(s, remote, &c, &info);
    if (rc) {
        block_end(&fb);
        return rc;
    }
    int atomic_ = opts && opts->atomic;
    char *tmp = NULL;
    int fd;
    if (atomic_) {
        size_t n = strlen(local) + 32;
        tmp = malloc(n);
        if (tmp)
            snprintf(tmp, n, "%s.xssh-XXXXXX", local);
        fd = tmp ? mkostemp(tmp, O_CLOEXEC) : -1;
    } else {
        fd = open(local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
        int en = tmp ? errno : ENOMEM;
        free(tmp);
        xssh_channel_close(c);
        xssh_channel_unref(c);
        block_end(&fb);
        return xssh__fail(s, XSSH_EFILE, 0, "SCP get '%s': cannot create the local file '%s': %s", remote, local,
                          strerror(en));
    }
    uint64_t done = 0;
    rc = get_core(s, c, remote, fd, opts, &done, &info);
    block_end(&fb);
    if (rc == XSSH_OK) {
        mode_t mode = (mode_t)(opts && opts->mode ? (opts->mode & 07777) : (info.mode & 07777));
        if (fchmod(fd, mode) != 0)
            rc = xssh__fail(s, XSSH_EFILE, 0, "SCP get '%s': setting the mode of '%s' failed: %s", remote, local,
                            strerror(errno));
        if (rc == XSSH_OK && (info.mtime || info.atime)) {
            struct timespec ts[2] = {{(time_t)info.atime, 0}, {(time_t)info.mtime, 0}};
            if (futimens(fd, ts) != 0)
                rc = xssh__fail(s, XSSH_EFILE, 0, "SCP get '%s': setting the times of '%s' failed: %s", remote,
                                local, strerror(errno));
        }
    }
    if (close(fd) != 0 && rc == XSSH_OK)
        rc = xssh__fail(s, XSSH_EFILE, 0, "SCP get '%s': closing the local file '%s' failed: %s", remote, local,
                        strerror(errno));
    if (atomic_) {
        if (rc == XSSH_OK && rename(tmp, local) != 0)
            rc = xssh__fail(s, XSSH_EFILE, 0, "SCP get '%s': renaming the local file into '%s' failed: %s", remote,
                            local, strerror(errno));
        if (rc != XSSH_OK)
            unlink(tmp);
        free(tmp);
    }
    if (transferred)
        *transferred = done;
    return rc == XSSH_OK ? xssh__ok() : rc;
}

/* 'text' with every ' as '\'' (for a POSIX shell); caller frees */
static char *shell_quote(const char *t)
{
    size_t n = 3;
    for (const char *p = t; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *o = malloc(n), *q = o;
    if (!o)
        return NULL;
    *q++ = '\'';
    for (const char *p = t; *p; p++) {
        if (*p == '\'') {
            memcpy(q, "'\\''", 4);
            q += 4;
        } else {
            *q++ = *p;
        }
    }
    *q++ = '\'';
    *q = 0;
    return o;
}

/* run "cmd 'a' ['b']" remotely; nonzero exit → XSSH_ESCP_PROTOCOL with its stderr */
static int remote_cmd(xssh_session *s, const char *cmd, const char *a, const char *b, const char *what,
                      const char *path)
{
    char *qa = shell_quote(a), *qb = b ? shell_quote(b) : NULL;
    size_t n = strlen(cmd) + (qa ? strlen(qa) : 0) + (qb ? strlen(qb) : 0) + 8;
    char *line = malloc(n);
    if (!qa || (b && !qb) || !line) {
        free(qa);
        free(qb);
        free(line);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    snprintf(line, n, "%s %s%s%s", cmd, qa, qb ? " " : "", qb ? qb : "");
    free(qa);
    free(qb);
    xssh_run_result *r = NULL;
    int rc = xssh_session_run(s, line, NULL, &r);
    free(line);
    if (rc)
        return rc;
    if (!r->have_exit_status || r->exit_status != 0) {
        size_t m = r->err_len;
        while (m && (r->err[m - 1] == '\n' || r->err[m - 1] == '\r'))
            m--;
        rc = xssh__fail(s, XSSH_ESCP_PROTOCOL, 0, "SCP %s '%s': the remote command failed (status %d): %.*s", what,
                        path, r->have_exit_status ? r->exit_status : -1, (int)(m > 400 ? 400 : m), r->err);
    }
    xssh_run_result_free(r);
    return rc;
}

static int put_core(xssh_session *s, int fd, const char *target, const char *remote, uint64_t size, int mode,
                    int64_t mtime, int64_t atime, const xssh_transfer_opts *opts, uint64_t *done_out)
{
    *done_out = 0;
    xssh_channel *c = NULL;
    int rc = xssh_session_scp_send64(s, target, mode, size, mtime, atime, &c);
    if (rc)
        return rc;
    size_t cap = chunk_of(opts);
    char *buf = malloc(cap);
    if (!buf) {
        xssh_channel_unref(c);
        return xssh__fail(s, XSSH_ENOMEM, 0, "SCP put '%s': out of memory", remote);
    }
    xssh__progress p;
    xssh__progress_init(&p, opts, size);
    uint64_t done = 0;
    if (xssh__progress_report(&p, 0, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SCP put '%s': cancelled by the progress callback", remote);
    while (rc == XSSH_OK && done < size) {
        size_t want = size - done < cap ? (size_t)(size - done) : cap;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = xssh__fail(s, XSSH_EFILE, 0, "SCP put '%s': reading the local file failed after %llu bytes: %s",
                            remote, (unsigned long long)done, strerror(errno));
            break;
        }
        if (r == 0) {
            rc = xssh__fail(s, XSSH_EFILE, 0, "SCP put '%s': the local file shrank to %llu bytes (expected %llu)",
                            remote, (unsigned long long)done, (unsigned long long)size);
            break;
        }
        size_t w = 0;
        rc = xssh_channel_write(c, buf, (size_t)r, &w);
        done += w;
        *done_out = done;
        if (rc)
            break;
        if (xssh__progress_report(&p, done, 0))
            rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SCP put '%s': cancelled by the progress callback after %llu bytes",
                            remote, (unsigned long long)done);
    }
    free(buf);
    if (rc == XSSH_OK) {
        size_t w = 0;
        rc = xssh_channel_write(c, "", 1, &w); /* "sent fine" */
    }
    if (rc == XSSH_OK)
        rc = read_status(s, c, "put", remote); /* the sink wrote and closed the file */
    if (rc == XSSH_OK)
        rc = finish_channel(s, c, "put", remote);
    if (rc == XSSH_OK && xssh__progress_report(&p, done, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SCP put '%s': cancelled by the progress callback after %llu bytes",
                        remote, (unsigned long long)done);
    if (rc != XSSH_OK) {
        xssh__saved_err se;
        xssh__err_save(&se);
        xssh_channel_close(c);
        xssh__err_restore(s, &se);
    }
    xssh_channel_unref(c);
    return rc;
}

int xssh_session_scp_put(xssh_session *s, const char *local, const char *remote, const xssh_transfer_opts *opts,
                         uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, remote && *remote, "remote path is NULL or empty");
    XSSH__ARG(s, local && *local, "local path is NULL or empty");
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xssh__fail(s, XSSH_EFILE, 0, "SCP put '%s': cannot open the local file '%s': %s", remote, local,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int en = errno;
        close(fd);
        return xssh__fail(s, XSSH_EFILE, 0, "SCP put '%s': '%s' is not a readable regular file%s%s", remote, local,
                          en ? ": " : "", en ? strerror(en) : "");
    }
    /* SCP through libssh2 carries the 0777 bits only (see xssh_session_scp_send64):
       the local file's setuid/setgid/sticky bits are dropped, an explicit
       opts->mode is checked by scp_send64 */
    if (opts && opts->mode && (opts->mode < 0 || opts->mode > 0777)) {
        close(fd);
        return xssh__fail(s, XSSH_EARG, 0,
                          "xssh_session_scp_put: invalid argument: opts->mode %#lo: SCP through libssh2 1.10 carries "
                          "the permission bits 0777 only",
                          (unsigned long)opts->mode);
    }
    int mode = (int)(opts && opts->mode ? opts->mode : (long)(st.st_mode & 0777));
    int atomic_ = opts && opts->atomic;
    char *tmp = NULL;
    const char *target = remote;
    if (atomic_) {
        static _Atomic unsigned counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned r = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16) ^ (atomic_fetch_add(&counter, 1) * 2654435761u);
        size_t n = strlen(remote) + 32;
        tmp = malloc(n);
        if (!tmp) {
            close(fd);
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        }
        snprintf(tmp, n, "%s.xssh-%08x.part", remote, r);
        target = tmp;
    }
    force_block fb;
    block_begin(&fb);
    uint64_t done = 0;
    int rc = put_core(s, fd, target, remote, (uint64_t)st.st_size, mode, (int64_t)st.st_mtime,
                      (int64_t)st.st_atime, opts, &done);
    close(fd);
    if (atomic_) {
        if (rc == XSSH_OK)
            rc = remote_cmd(s, "mv -f --", tmp, remote, "put", remote);
        if (rc != XSSH_OK) {
            xssh__saved_err se;
            xssh__err_save(&se);
            remote_cmd(s, "rm -f --", tmp, NULL, "put", remote);
            xssh__err_restore(s, &se);
        }
        free(tmp);
    }
    block_end(&fb);
    if (transferred)
        *transferred = done;
    return rc == XSSH_OK ? xssh__ok() : rc;
}
