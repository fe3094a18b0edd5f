/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole-file SFTP transfers (get/put to/from a path, a buffer, a descriptor):
 * the local ends (sinks, sources, temporary names, resume, the final rename)
 * around the engine of sftp_engine.c, which moves the data on channels of its
 * own. Temporary names: "<path>.xssh-XXXXXX" (get) / "<path>.xssh-XXXXXXXX.part"
 * (put) for an atomic transfer, removed when it fails; "<path>.xssh-part"
 * (XSSH_SFTP_RESUME_SUFFIX) for a resumable atomic one, kept when it fails so
 * the next attempt continues from it. Failures report the first error. */
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

/* ---- local ends of the engine (sftp_engine.c) ------------------------------------- */

typedef struct sink {
    int fd;       /* >= 0: write here */
    char *mem;    /* else: grow this buffer */
    size_t len, cap;
    int trunc_first; /* fd: a regular file to empty before the first byte (not before the remote file opened) */
} sink;

/* A plain get empties an existing local file only once the remote file is open
   and data (or its end) arrived: a missing remote file leaves the local one as it was. */
static int sink_trunc_pending(sink *k)
{
    if (!k->trunc_first)
        return 0;
    k->trunc_first = 0;
    return ftruncate(k->fd, 0) != 0 || lseek(k->fd, 0, SEEK_SET) < 0 ? errno : 0;
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

static int sink_write(void *ctx, const char *p, size_t n)
{
    sink *k = ctx;
    if (k->fd >= 0) {
        int te = sink_trunc_pending(k);
        if (te)
            return te;
        return write_all(k->fd, p, n) == 0 ? 0 : errno;
    }
    return xssh__buf_append(&k->mem, &k->len, &k->cap, p, n, 1 << 16) == 0 ? 0 : ENOMEM;
}

static long fd_pread(int fd, char *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

static long sink_pread(void *ctx, char *buf, size_t n, uint64_t off)
{
    sink *k = ctx;
    return fd_pread(k->fd, buf, n, (off_t)off);
}

static int sink_truncate(void *ctx, uint64_t len)
{
    sink *k = ctx;
    if (ftruncate(k->fd, (off_t)len) != 0 || lseek(k->fd, (off_t)len, SEEK_SET) < 0)
        return errno;
    return 0;
}

static int valid_opts(xssh_session *s, const xssh_transfer_opts *o)
{
    if (!o)
        return XSSH_OK;
    XSSH__ARG(s, o->channels >= 0 && o->channels <= 16, "channels must be 0 (automatic) .. 16");
    return XSSH_OK;
}

static void io_from_opts(xssh__eng_io *io, const xssh_transfer_opts *o)
{
    memset(io, 0, sizeof *io);
    io->total = XSSH_SIZE_UNKNOWN;
    if (!o)
        return;
    io->max_in_flight = o->max_in_flight;
    io->initial_window = o->chunk_size;
    io->channels = o->channels;
    io->resume = o->resume != 0;
}

/* Download remote into the sink (k->fd positioned where the data goes; resume:
   a regular file holding `have` bytes). */
static int get_core(xssh_sftp *sf, const char *remote, sink *k, const xssh_transfer_opts *opts, int resume,
                    uint64_t have, uint64_t *done_out)
{
    *done_out = 0;
    xssh__eng_io io;
    io_from_opts(&io, opts);
    io.resume = resume;
    io.have = have;
    io.verify_tail = XSSH__ENG_VERIFY_TAIL;
    io.target = remote;
    io.ctx = k;
    io.sink_write = sink_write;
    io.local_pread = sink_pread;
    io.local_truncate = sink_truncate;
    uint64_t total = XSSH_SIZE_UNKNOWN;
    io.total_out = &total;
    xssh__progress p;
    xssh__progress_init(&p, opts, XSSH_SIZE_UNKNOWN);
    return xssh__eng_get(sf, &io, opts && opts->progress ? &p : NULL, done_out);
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
    XSSH__ARG(sf->s, !(opts && opts->resume), "resume needs a local file path (xssh_sftp_get)");
    int e = valid_opts(sf->s, opts);
    if (e)
        return e;
    sink k = {fd, NULL, 0, 0, 0};
    uint64_t done = 0;
    int rc = get_core(sf, remote, &k, opts, 0, 0, &done);
    if (transferred)
        *transferred = done;
    return rc == XSSH_OK ? xssh__ok() : rc;
}

int xssh_sftp_get_buffer(xssh_sftp *sf, const char *remote, char **out, size_t *out_len,
                         const xssh_transfer_opts *opts)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, out && out_len, "out/out_len is NULL");
    *out = NULL;
    *out_len = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, !(opts && opts->resume), "resume needs a local file path (xssh_sftp_get)");
    int e = valid_opts(sf->s, opts);
    if (e)
        return e;
    sink k = {-1, NULL, 0, 0, 0};
    uint64_t done = 0;
    int rc = get_core(sf, remote, &k, opts, 0, 0, &done);
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

/* "<path>.xssh-XXXXXXXX.part" with a random suffix; caller frees */
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

/* The stable temporary name of a resumable atomic transfer: "<path>.xssh-part"
   (the partial data waits there between attempts). Caller frees. */
static char *resume_name(const char *path)
{
    size_t n = strlen(path) + sizeof XSSH_SFTP_RESUME_SUFFIX;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s%s", path, XSSH_SFTP_RESUME_SUFFIX);
    return t;
}

/* Open (creating if need be) the file a resumable get continues; *created: it did
   not exist, so a get that fails before any byte arrives removes it again. */
static int open_resumable(const char *path, mode_t mode, int *created)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd >= 0)
        *created = 1;
    else if (errno == EEXIST)
        fd = open(path, O_RDWR | O_CLOEXEC);
    return fd;
}

int xssh_sftp_get(xssh_sftp *sf, const char *remote, const char *local, const xssh_transfer_opts *opts,
                  uint64_t *transferred)
{
    if (transferred)
        *transferred = 0;
    SF_ARGS(sf, remote);
    XSSH__ARG(sf->s, local && *local, "local path is NULL or empty");
    xssh_session *s = sf->s;
    int e = valid_opts(s, opts);
    if (e)
        return e;
    int atomic_ = opts && opts->atomic;
    int resume = opts && opts->resume;
    /* a local directory is refused before anything is transferred (an atomic get
       would download the whole file, then fail to rename it there) */
    struct stat lst;
    size_t ll = strlen(local);
    if (local[ll - 1] == '/' || (stat(local, &lst) == 0 && S_ISDIR(lst.st_mode)))
        return xssh__fail(s, XSSH_EFILE, 0,
                          "SFTP get '%s': the local destination '%s' is a directory; a get needs a file name "
                          "(e.g. '%s%s<name>')",
                          remote, local, local, local[ll - 1] == '/' ? "" : "/");
    mode_t mode = (mode_t)(opts && opts->mode ? (opts->mode & 07777) : 0644);
    char *tmp = NULL;
    int fd, created = 0;
    if (atomic_ && resume) {
        tmp = resume_name(local);
        if (!tmp)
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        fd = open_resumable(tmp, mode, &created);
    } else if (atomic_) {
        size_t n = strlen(local) + 32;
        tmp = malloc(n);
        if (!tmp)
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        snprintf(tmp, n, "%s.xssh-XXXXXX", local);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd >= 0)
            fchmod(fd, mode);
    } else if (resume) {
        fd = open_resumable(local, mode, &created);
    } else {
        /* not truncated yet: see sink_trunc_pending(); a file created here and never
           written is removed again when the get fails */
        fd = open(local, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0)
            created = 1;
        else if (errno == EEXIST)
            fd = open(local, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        int en = errno;
        int fr = tmp ? xssh__fail(s, XSSH_EFILE, 0,
                                  "SFTP get '%s': cannot create the local file '%s' (temporary '%s'): %s", remote,
                                  local, tmp, strerror(en))
                     : xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': cannot create the local file '%s': %s", remote,
                                  local, strerror(en));
        free(tmp);
        return fr;
    }
    uint64_t have = 0;
    if (resume) {
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            int en = errno;
            close(fd);
            int fr = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': resume needs a regular local file ('%s'): %s",
                                remote, tmp ? tmp : local, S_ISREG(st.st_mode) ? strerror(en) : "not a regular file");
            free(tmp);
            return fr;
        }
        have = (uint64_t)st.st_size;
    }
    sink k = {fd, NULL, 0, 0, 0};
    if (!atomic_ && !resume) {
        struct stat st;
        k.trunc_first = !created && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    }
    uint64_t done = 0;
    int rc = get_core(sf, remote, &k, opts, resume, have, &done);
    if (rc == XSSH_OK && k.trunc_first) { /* an empty remote file */
        int te = sink_trunc_pending(&k);
        if (te)
            rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': emptying the local file '%s' failed: %s", remote, local,
                            strerror(te));
    }
    /* nothing arrived: leave no empty file behind. With resume only when the server
       refused the file (an SFTP status: missing, a directory, no permission): a
       transfer cut by the network keeps its partial file, however short, for the
       next attempt to continue */
    int refused = rc <= XSSH_ESFTP_EOF && rc > XSSH_ESFTP_EOF - 100;
    if (rc != XSSH_OK && created && done == 0 && (!resume || refused))
        unlink(tmp && resume ? tmp : local);
    if (close(fd) != 0 && rc == XSSH_OK)
        rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': closing the local file '%s' failed: %s", remote, local,
                        strerror(errno));
    if (atomic_) {
        if (rc == XSSH_OK && rename(tmp, local) != 0)
            rc = xssh__fail(s, XSSH_EFILE, 0, "SFTP get '%s': renaming the local file into '%s' failed: %s", remote,
                            local, strerror(errno));
        if (rc != XSSH_OK && !resume)
            unlink(tmp); /* resume: the partial data stays for the next attempt */
        free(tmp);
    }
    if (transferred)
        *transferred = done;
    return rc == XSSH_OK ? xssh__ok() : rc;
}

/* ---- put ------------------------------------------------------------------------ */

typedef struct source {
    int fd;            /* >= 0: read from here */
    int seekable;      /* fd: a regular file, read with pread from base */
    off_t base;        /* fd: its position at the start */
    const char *mem;   /* else: these bytes */
    size_t len;
} source;

static long src_read(void *ctx, char *buf, size_t n, uint64_t off)
{
    source *src = ctx;
    if (src->fd < 0) {
        if (off >= src->len)
            return 0;
        if (n > src->len - off)
            n = (size_t)(src->len - off);
        memcpy(buf, src->mem + off, n);
        return (long)n;
    }
    if (src->seekable)
        return fd_pread(src->fd, buf, n, src->base + (off_t)off);
    /* a pipe: offsets come in order */
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(src->fd, buf + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

/* Rename tmp onto remote when the engine could not (no posix-rename@openssh.com).
   OpenSSH (SFTP v3 rename) refuses to replace an existing file, so on failure an
   existing destination is removed first (the destination never holds a partial
   file, though for a moment it may not exist). */
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

static int put_core(xssh_sftp *sf, source *src, const char *remote, const xssh_transfer_opts *opts,
                    uint64_t total, uint64_t *done_out)
{
    xssh_session *s = sf->s;
    *done_out = 0;
    int e = valid_opts(s, opts);
    if (e)
        return e;
    int atomic_ = opts && opts->atomic;
    int resume = opts && opts->resume;
    size_t rl = strlen(remote);
    if (remote[rl - 1] == '/') /* an atomic put would write its temporary inside it, then fail to rename */
        return xssh__fail(s, XSSH_EARG, 0,
                          "SFTP put '%s': invalid argument: the destination names a directory (it ends with '/'); "
                          "a put needs a file name (e.g. '%s<name>')",
                          remote, remote);
    if (resume && src->fd >= 0 && !src->seekable)
        return xssh__fail(s, XSSH_EARG, 0, "SFTP put '%s': invalid argument: resume needs a seekable source "
                                           "(a regular file)", remote);
    char *tmp = NULL;
    const char *target = remote;
    if (atomic_) {
        tmp = resume ? resume_name(remote) : temp_name(remote);
        if (!tmp)
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        target = tmp;
    }
    xssh__eng_io io;
    io_from_opts(&io, opts);
    io.target = target;
    /* resume reads the overlap back through the same handle */
    io.open_flags = resume ? LIBSSH2_FXF_READ | LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT
                           : LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC;
    io.mode = opts && opts->mode ? (opts->mode & 07777) : 0644;
    io.total = total;
    io.ctx = src;
    io.src_read = src_read;
    io.local_pread = src_read;
    /* several channels leave holes behind a cut (requests past the acknowledged
       prefix): compare as far back as the window reached */
    io.verify_tail = XSSH__ENG_VERIFY_TAIL + (io.max_in_flight ? io.max_in_flight : XSSH__ENG_AUTO_CAP);
    int renamed = 0;
    if (atomic_) {
        io.rename_to = remote;
        io.renamed_out = &renamed;
    }
    xssh__progress p;
    xssh__progress_init(&p, opts, total);
    int rc = xssh__eng_put(sf, &io, opts && opts->progress ? &p : NULL, done_out);
    if (rc == XSSH_OK && atomic_ && !renamed) {
        int prev = xssh__sftp_force_blocking(1);
        rc = put_rename(sf, tmp, remote);
        xssh__sftp_force_blocking(prev);
    }
    if (rc != XSSH_OK && atomic_ && !resume) {
        xssh__saved_err se;
        xssh__err_save(&se);
        int prev = xssh__sftp_force_blocking(1);
        xssh_sftp_unlink(sf, tmp);
        xssh__sftp_force_blocking(prev);
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
    source src = {-1, 0, 0, data ? (const char *)data : "", len};
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
    source src = {fd, 0, 0, NULL, 0};
    struct stat st;
    /* the source is checked before the remote file is opened (and truncated) */
    if (fstat(fd, &st) != 0)
        return xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP put '%s': the local descriptor %d cannot be read: %s", remote,
                          fd, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP put '%s': the local descriptor %d is a directory", remote, fd);
    if (S_ISREG(st.st_mode)) {
        off_t here = lseek(fd, 0, SEEK_CUR);
        if (here >= 0 && here <= st.st_size) {
            total = (uint64_t)(st.st_size - here);
            src.seekable = 1;
            src.base = here;
        }
    }
    uint64_t done = 0;
    int rc = put_core(sf, &src, remote, opts, total, &done);
    /* a descriptor ends where the data sent ended, as after read()s */
    if (src.seekable)
        lseek(fd, src.base + (off_t)(total == XSSH_SIZE_UNKNOWN ? done : (rc == XSSH_OK ? total : done)), SEEK_SET);
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
    /* checked before the remote file is opened (and truncated): a directory
       opens read-only but cannot be read */
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e) {
        close(fd);
        return xssh__fail(sf->s, XSSH_EFILE, 0, "SFTP put '%s': the local file '%s' cannot be sent: %s", remote,
                          local, strerror(e));
    }
    int rc = xssh_sftp_put_fd(sf, fd, remote, opts, transferred);
    close(fd);
    return rc;
}
