/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole-file SFTP transfers (get/put to/from a path, a buffer, a descriptor).
 *
 * Speed comes from keeping many SFTP requests in flight. libssh2 (1.10) does
 * the pipelining itself when it is handed a large buffer: libssh2_sftp_read()
 * sends read-ahead requests for up to the buffer's size and returns the data
 * that has arrived, in order; libssh2_sftp_write() cuts what it is given into
 * 30000-byte WRITE requests, sends them all and returns as soon as acks come
 * back (the next call must start at the first unacknowledged byte, and may
 * hand over more data, which tops the window up). So each call here hands
 * libssh2 a window of opts->chunk_size bytes (2 MiB by default).
 *
 * Every libssh2 call runs inside its own xssh__op (session lock held, released
 * while polling); local file I/O and the progress callback run without the
 * lock. Transfers always block (the session timeout applies to each wait).
 * Failure paths close the remote handle and, for atomic transfers, remove the
 * temporary file, then report the first error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sftp_internal.h"

#define PKT 30000u
/* 1.05 MB: on loopback (2 cores, 256 MiB) it beat 2.1 MB in alternating runs for put in 3/3 and
   get in 2/3 pairs (e.g. put 335 vs 259, get 317 vs 278 MiB/s), with less client CPU (the buffer stays
   in cache); libssh2 1.10 reads ahead several times the buffer it is given anyway. */
#define DEFAULT_WINDOW (35u * PKT)
#define MAX_WINDOW (2240u * PKT)   /* 67 MB */

static size_t window_of(const xssh_transfer_opts *o)
{
    size_t w = o && o->chunk_size ? o->chunk_size : DEFAULT_WINDOW;
    w = (w + PKT - 1) / PKT * PKT;
    if (w < PKT)
        w = PKT;
    if (w > MAX_WINDOW)
        w = MAX_WINDOW;
    return w;
}


/* The SFTP channel got EOF / closed while libssh2 still waits for answers:
   libssh2 1.10 would keep answering EAGAIN. Lock held. */
static int sftp_channel_dead(xssh_sftp *sf)
{
    LIBSSH2_CHANNEL *ch = sf->sftp ? libssh2_sftp_get_channel(sf->sftp) : NULL;
    return ch && libssh2_channel_eof(ch);
}

/* ---- get ------------------------------------------------------------------------ */

typedef struct sink {
    int fd;       /* >= 0: write here */
    char *mem;    /* else: grow this buffer */
    size_t len, cap;
} sink;

static int sink_reserve(sink *k, size_t want)
{
    if (k->cap - k->len >= want)
        return 0;
    size_t ncap = k->cap ? k->cap : 1 << 16;
    while (ncap - k->len < want)
        ncap *= 2;
    char *n = realloc(k->mem, ncap);
    if (!n)
        return -1;
    k->mem = n;
    k->cap = ncap;
    return 0;
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

/* Download remote into the sink. *done: bytes received. */
static int get_core2(xssh_sftp *sf, const char *remote, sink *k, const xssh_transfer_opts *opts, uint64_t *done_out);

static int get_core(xssh_sftp *sf, const char *remote, sink *k, const xssh_transfer_opts *opts, uint64_t *done_out)
{
    int prev = xssh__sftp_force_blocking(1);
    int rc = get_core2(sf, remote, k, opts, done_out);
    xssh__sftp_force_blocking(prev);
    return rc;
}

static int get_core2(xssh_sftp *sf, const char *remote, sink *k, const xssh_transfer_opts *opts, uint64_t *done_out)
{
    xssh_session *s = sf->s;
    uint64_t done = 0;
    *done_out = 0;
    xssh_sftp_file *f = NULL;
    int e = xssh__sftp_open(&f, sf, remote, strlen(remote), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, 1);
    if (e)
        return e;
    uint64_t total = XSSH_SIZE_UNKNOWN;
    xssh_sftp_attrs a;
    if (xssh_sftp_file_fstat(f, &a) == XSSH_OK && (a.flags & XSSH_SFTP_ATTR_SIZE))
        total = a.filesize;
    size_t w = window_of(opts);
    char *buf = NULL;
    if (k->fd >= 0) {
        buf = malloc(w);
        if (!buf) {
            xssh_sftp_file_unref(f);
            return xssh__fail(s, XSSH_ENOMEM, 0, "SFTP get '%s': out of memory", remote);
        }
    } else if (total != XSSH_SIZE_UNKNOWN && total < SIZE_MAX - w && sink_reserve(k, (size_t)total + 1) != 0) {
        xssh_sftp_file_unref(f);
        return xssh__fail(s, XSSH_ENOMEM, 0, "SFTP get '%s': out of memory for %llu bytes", remote,
                          (unsigned long long)total);
    }
    xssh__progress p;
    xssh__progress_init(&p, opts, total);
    int rc = XSSH_OK;
    if (xssh__progress_report(&p, 0, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP get '%s': cancelled by the progress callback", remote);
    while (rc == XSSH_OK) {
        char *dst = buf;
        size_t want = w;
        if (k->fd < 0) {
            /* known size: no more room than the rest (+1 to see the end) */
            if (total != XSSH_SIZE_UNKNOWN && total >= k->len && total - k->len < want)
                want = (size_t)(total - k->len) + 1;
            if (sink_reserve(k, want) != 0) {
                rc = xssh__fail(s, XSSH_ENOMEM, 0, "SFTP get '%s': out of memory after %llu bytes", remote,
                                (unsigned long long)done);
                break;
            }
            dst = k->mem + k->len;
        }
        xssh__op op;
        rc = xssh__sftp_begin(&op, sf, f);
        if (rc)
            break;
        op.blocking = 1;
        ssize_t n;
        for (;;) {
            n = libssh2_sftp_read(f->h, dst, want);
            if (n != LIBSSH2_ERROR_EAGAIN)
                break;
            if (sftp_channel_dead(sf)) {
                n = LIBSSH2_ERROR_CHANNEL_CLOSED;
                break;
            }
            int irc = (int)n;
            if (!xssh__op_again(&op, &irc)) {
                n = irc;
                break;
            }
        }
        if (n < 0) {
            xssh__sftp_fail(sf, (int)n, "get", remote);
            rc = xssh_error_last()->code;
            xssh__sftp_end(&op, sf);
            break;
        }
        xssh__sftp_end(&op, sf);
        if (n == 0)
            break; /* end of file */
        if (k->fd >= 0) {
            if (write_all(k->fd, buf, (size_t)n) != 0) {
                rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': writing the local file failed after %llu bytes: %s",
                                remote, (unsigned long long)done, strerror(errno));
                break;
            }
        } else {
            k->len += (size_t)n;
        }
        done += (uint64_t)n;
        *done_out = done;
        if (xssh__progress_report(&p, done, 0)) {
            rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP get '%s': cancelled by the progress callback after %llu bytes",
                            remote, (unsigned long long)done);
            break;
        }
    }
    free(buf);
    if (rc == XSSH_OK && xssh__progress_report(&p, done, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP get '%s': cancelled by the progress callback after %llu bytes",
                        remote, (unsigned long long)done);
    if (rc == XSSH_OK) {
        rc = xssh__sftp_file_close_blocking(f);
    } else {
        xssh__saved_err se;
        xssh__err_save(&se);
        xssh__sftp_file_close_blocking(f);
        xssh__err_restore(s, &se);
    }
    xssh_sftp_file_unref(f);
    return rc == XSSH_OK ? xssh__ok() : rc;
}

#define SF_ARGS(sf, remote)                                                 \
    XSSH__ARG(NULL, (sf), "sftp is NULL");                                  \
    XSSH__ARG((sf)->s, (remote) && *(remote), "remote path is NULL or empty")

int xssh_sftp_get_fd(xssh_sftp *sf, const char *remote, int fd, const xssh_transfer_opts *opts,
                     uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, fd >= 0, "fd is negative");
    sink k = {fd, NULL, 0, 0};
    uint64_t done = 0;
    int rc = get_core(sf, remote, &k, opts, &done);
    if (transferred)
        *transferred = done;
    return rc;
}

int xssh_sftp_get_buffer(xssh_sftp *sf, const char *remote, char **out, size_t *out_len,
                         const xssh_transfer_opts *opts)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, out && out_len, "out/out_len is NULL");
    *out = NULL;
    *out_len = 0;
    SF_ARGS(sf, remote);
    sink k = {-1, NULL, 0, 0};
    uint64_t done = 0;
    int rc = get_core(sf, remote, &k, opts, &done);
    if (rc) {
        free(k.mem);
        return rc;
    }
    if (!k.mem) {
        k.mem = malloc(1);
        if (!k.mem)
            return xssh__fail(sf->s, XSSH_ENOMEM, 0, "out of memory");
    }
    *out = k.mem;
    *out_len = k.len;
    return xssh__ok();
}

/* "<path>.xssh-XXXXXXXX" with a random suffix; caller frees */
static char *temp_name(const char *path)
{
    static _Atomic unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned r = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16) ^ (atomic_fetch_add(&counter, 1) * 2654435761u);
    size_t n = strlen(path) + 32;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s.xssh-%08x.part", path, r);
    return t;
}

int xssh_sftp_get(xssh_sftp *sf, const char *remote, const char *local, const xssh_transfer_opts *opts,
                  uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, local && *local, "local path is NULL or empty");
    xssh_session *s = sf->s;
    int atomic_ = opts && opts->atomic;
    mode_t mode = (mode_t)(opts && opts->mode ? (opts->mode & 07777) : 0644);
    char *tmp = NULL;
    int fd;
    if (atomic_) {
        size_t n = strlen(local) + 32;
        tmp = malloc(n);
        if (!tmp)
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        snprintf(tmp, n, "%s.xssh-XXXXXX", local);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd >= 0)
            fchmod(fd, mode);
    } else {
        fd = open(local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    }
    if (fd < 0) {
        int en = errno;
        free(tmp);
        return xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': cannot create the local file '%s': %s", remote, local,
                          strerror(en));
    }
    sink k = {fd, NULL, 0, 0};
    uint64_t done = 0;
    int rc = get_core(sf, remote, &k, opts, &done);
    if (close(fd) != 0 && rc == XSSH_OK)
        rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': closing the local file '%s' failed: %s", remote, local,
                        strerror(errno));
    if (atomic_) {
        if (rc == XSSH_OK && rename(tmp, local) != 0)
            rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': renaming the local file into '%s' failed: %s", remote,
                            local, strerror(errno));
        if (rc != XSSH_OK)
            unlink(tmp);
        free(tmp);
    }
    if (transferred)
        *transferred = done;
    return rc == XSSH_OK ? xssh__ok() : rc;
}

/* ---- put ------------------------------------------------------------------------ */

typedef struct source {
    int fd;            /* >= 0: read from here */
    const char *mem;   /* else: these bytes */
    size_t len;
} source;

/* Rename tmp onto remote. OpenSSH (SFTP v3) refuses to replace an existing
   file and libssh2 1.10 cannot send posix-rename@openssh.com, so on failure
   an existing destination is removed first (the destination never holds a
   partial file, though for a moment it may not exist). */
static int put_rename(xssh_sftp *sf, const char *tmp, const char *remote)
{
    long fl = LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
    int rc = xssh_sftp_rename_ex(sf, tmp, remote, fl);
    if (rc == XSSH_OK || (rc != XSSH_ESFTP_FAILURE && rc != XSSH_ESFTP_FILE_ALREADY_EXISTS))
        return rc;
    xssh__saved_err se;
    xssh__err_save(&se);
    xssh_sftp_attrs a;
    if (xssh_sftp_lstat(sf, remote, &a) != XSSH_OK || (a.permissions & XSSH_SFTP_S_IFMT) == XSSH_SFTP_S_IFDIR)
        return xssh__err_restore(sf->s, &se);
    if (xssh_sftp_unlink(sf, remote) != XSSH_OK)
        return xssh_error_last()->code;
    return xssh_sftp_rename_ex(sf, tmp, remote, fl);
}

static int put_core2(xssh_sftp *sf, source *src, const char *remote, const xssh_transfer_opts *opts,
                     uint64_t total, uint64_t *done_out);

static int put_core(xssh_sftp *sf, source *src, const char *remote, const xssh_transfer_opts *opts,
                    uint64_t total, uint64_t *done_out)
{
    int prev = xssh__sftp_force_blocking(1);
    int rc = put_core2(sf, src, remote, opts, total, done_out);
    xssh__sftp_force_blocking(prev);
    return rc;
}

static int put_core2(xssh_sftp *sf, source *src, const char *remote, const xssh_transfer_opts *opts,
                     uint64_t total, uint64_t *done_out)
{
    xssh_session *s = sf->s;
    *done_out = 0;
    int atomic_ = opts && opts->atomic;
    long mode = opts && opts->mode ? (opts->mode & 07777) : 0644;
    char *tmp = NULL;
    const char *target = remote;
    if (atomic_) {
        tmp = temp_name(remote);
        if (!tmp)
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        target = tmp;
    }
    size_t w = window_of(opts);
    char *buf = NULL;
    size_t cap = 0;
    if (src->fd >= 0) {
        cap = 2 * w;
        buf = malloc(cap);
        if (!buf) {
            free(tmp);
            return xssh__fail(s, XSSH_ENOMEM, 0, "SFTP put '%s': out of memory", remote);
        }
    }
    xssh_sftp_file *f = NULL;
    int rc = xssh__sftp_open(&f, sf, target, strlen(target),
                             LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, mode,
                             LIBSSH2_SFTP_OPENFILE, 1);
    if (rc) {
        free(buf);
        free(tmp);
        return rc;
    }
    xssh__progress p;
    xssh__progress_init(&p, opts, total);
    uint64_t done = 0;
    /* fd source: unacknowledged data is buf[pos, end) */
    size_t pos = 0, end = 0;
    int eof = src->fd < 0;
    if (xssh__progress_report(&p, 0, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP put '%s': cancelled by the progress callback", remote);
    while (rc == XSSH_OK) {
        const char *data;
        size_t avail;
        if (src->fd >= 0) {
            if (pos >= w) { /* compact: at most one window moved per window sent */
                memmove(buf, buf + pos, end - pos);
                end -= pos;
                pos = 0;
            }
            while (!eof && end - pos < w && end < cap) {
                ssize_t r = read(src->fd, buf + end, cap - end);
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP put '%s': reading the local data failed after %llu bytes: %s",
                                    remote, (unsigned long long)done, strerror(errno));
                    break;
                }
                if (r == 0)
                    eof = 1;
                end += (size_t)r;
            }
            if (rc)
                break;
            data = buf + pos;
            avail = end - pos;
        } else {
            data = src->mem + done;
            avail = src->len - (size_t)done;
        }
        if (avail == 0 && eof)
            break;
        if (avail > w)
            avail = w;
        xssh__op op;
        rc = xssh__sftp_begin(&op, sf, f);
        if (rc)
            break;
        op.blocking = 1;
        ssize_t n;
        for (;;) {
            n = libssh2_sftp_write(f->h, data, avail);
            if (n > 0)
                break;
            if (n == 0)
                n = LIBSSH2_ERROR_EAGAIN;
            if (n == LIBSSH2_ERROR_EAGAIN && sftp_channel_dead(sf)) {
                n = LIBSSH2_ERROR_CHANNEL_CLOSED;
                break;
            }
            int irc = (int)n;
            if (!xssh__op_again(&op, &irc)) {
                n = irc;
                break;
            }
        }
        if (n < 0) {
            xssh__sftp_fail(sf, (int)n, "put", target);
            rc = xssh_error_last()->code;
            xssh__sftp_end(&op, sf);
            break;
        }
        xssh__sftp_end(&op, sf);
        done += (uint64_t)n;
        if (src->fd >= 0)
            pos += (size_t)n;
        *done_out = done;
        if (xssh__progress_report(&p, done, 0)) {
            rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP put '%s': cancelled by the progress callback after %llu bytes",
                            remote, (unsigned long long)done);
            break;
        }
    }
    free(buf);
    if (rc == XSSH_OK && xssh__progress_report(&p, done, 1))
        rc = xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP put '%s': cancelled by the progress callback after %llu bytes",
                        remote, (unsigned long long)done);
    if (rc == XSSH_OK) {
        rc = xssh__sftp_file_close_blocking(f);
        xssh_sftp_file_unref(f);
        if (rc == XSSH_OK && atomic_)
            rc = put_rename(sf, tmp, remote);
        if (rc != XSSH_OK && atomic_) {
            xssh__saved_err se;
            xssh__err_save(&se);
            xssh_sftp_unlink(sf, tmp);
            xssh__err_restore(s, &se);
        }
    } else {
        xssh__saved_err se;
        xssh__err_save(&se);
        xssh__sftp_file_close_blocking(f);
        xssh_sftp_file_unref(f);
        if (atomic_)
            xssh_sftp_unlink(sf, tmp);
        xssh__err_restore(s, &se);
    }
    free(tmp);
    return rc == XSSH_OK ? xssh__ok() : rc;
}

int xssh_sftp_put_buffer(xssh_sftp *sf, const void *data, size_t len, const char *remote,
                         const xssh_transfer_opts *opts, uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, data || len == 0, "data is NULL");
    source src = {-1, data ? (const char *)data : "", len};
    uint64_t done = 0;
    int rc = put_core(sf, &src, remote, opts, len, &done);
    if (transferred)
        *transferred = done;
    return rc;
}

int xssh_sftp_put_fd(xssh_sftp *sf, int fd, const char *remote, const xssh_transfer_opts *opts,
                     uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, fd >= 0, "fd is negative");
    uint64_t total = XSSH_SIZE_UNKNOWN;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t here = lseek(fd, 0, SEEK_CUR);
        if (here >= 0 && here <= st.st_size)
            total = (uint64_t)(st.st_size - here);
    }
    source src = {fd, NULL, 0};
    uint64_t done = 0;
    int rc = put_core(sf, &src, remote, opts, total, &done);
    if (transferred)
        *transferred = done;
    return rc;
}

int xssh_sftp_put(xssh_sftp *sf, const char *local, const char *remote, const xssh_transfer_opts *opts,
                  uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, local && *local, "local path is NULL or empty");
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP put '%s': cannot open the local file '%s': %s", remote, local,
                          strerror(errno));
    int rc = xssh_sftp_put_fd(sf, fd, remote, opts, transferred);
    close(fd);
    return rc;
}
