/* SPDX-License-Identifier: BSD-3-Clause */
/* SFTP: the subsystem, files and directories, path operations.
 *
 * An xssh_sftp wraps a LIBSSH2_SFTP of its session (holding a session
 * reference); an xssh_sftp_file wraps a LIBSSH2_SFTP_HANDLE (holding a
 * reference on its xssh_sftp), and is linked into sf->files while its handle
 * is open so that xssh_sftp_close() can close them first. Every libssh2 call
 * runs under the session lock inside an xssh__op (blocking emulated by
 * xssh__op_again). Dropping the last reference of an open file or sftp never
 * does I/O: the handle / subsystem is queued with xssh__session_orphan() and
 * closed at the session's next operation (handles before their subsystem). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "connect_internal.h"
#include "sftp_internal.h"

/* shrink a filled scratch buffer to its string */
static char *fit(char *p, size_t len)
{
    p[len] = '\0';
    char *q = realloc(p, len + 1);
    return q ? q : p;
}

/* ---- errors ----------------------------------------------------------------- */

static int fail_status(xssh_session *s, int code, int rc, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_status(xssh_session *s, int code, int rc, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xssh__vfail(s, code, rc, status, fmt, ap);
    va_end(ap);
    return code;
}

int xssh__sftp_fail(xssh_sftp *sf, int rc, const char *what, const char *path)
{
    xssh_session *s = sf->s;
    const char *p = path ? path : "";
    if (rc == XSSH_ECLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "SFTP %s '%s': the session or the SFTP object was closed meanwhile",
                          what, p);
    if (rc == XSSH_ETIMEOUT)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "SFTP %s '%s': timed out", what, p);
    if (rc == XSSH_ECANCELLED)
        return xssh__fail(s, XSSH_ECANCELLED, 0, "SFTP %s '%s': cancelled", what, p);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return xssh__fail(s, XSSH_EAGAIN, rc, "SFTP %s '%s': would block", what, p);
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && sf->sftp) {
        unsigned long st = libssh2_sftp_last_error(sf->sftp);
        if (st != 0) {
            sf->last_status = st;
            int code = (st >= 1 && st <= 21) ? -2000 - (int)st : XSSH_ESFTP_PROTOCOL;
            const char *m = xssh_strerror(code);
            if (strncmp(m, "SFTP: ", 6) == 0)
                m += 6;
            return fail_status(s, code, rc, (int)st, "SFTP %s '%s': %s (SFTP status %lu, %s)", what, p, m, st,
                               xssh_err_name(code));
        }
    }
    return xssh__fail_ssh(s, rc, "SFTP %s '%s'", what, p);
}

/* ---- ops -------------------------------------------------------------------- */

_Thread_local int xssh__tls_sftp_force_blocking;
#define tls_force_blocking xssh__tls_sftp_force_blocking

int xssh__sftp_force_blocking(int on)
{
    int prev = tls_force_blocking;
    tls_force_blocking = on;
    return prev;
}

/* the request lock taken by xssh__sftp_begin_at; plain code counts it as a lock
   its thread holds (no multi's timer callback is told meanwhile: multi.c) */
static void oplock_release(xssh_sftp *sf)
{
    atomic_store(&sf->oplock_tag, 0);
    xssh__mutex_unlock(&sf->oplock);
    if (!xssh__fiber_self()) {
        xssh__tls_plain_locks--;
        xssh__kicks_deliver();
    }
}

void xssh__sftp_end(xssh__op *op, xssh_sftp *sf)
{
    if (op->abandoned && !atomic_load(&sf->abandoned)) {
        /* libssh2 keeps the half-done request's state for the next request of
           its kind (which would take this one's answer): no more requests */
        atomic_store(&sf->abandoned, 1);
        xssh__log(XSSH_LOG_WARNING, xssh__log_host(sf->s),
                  "SFTP: a request was abandoned half-done (timeout or cancel); this SFTP object is unusable now");
    }
    xssh__op_end(op);
    oplock_release(sf);
}

int xssh__sftp_begin_at(xssh__op *op, xssh_sftp *sf, xssh_sftp_file *f, const char *fn)
{
    if (f && atomic_load(&f->closed))
        return xssh__fail(sf->s, XSSH_ECLOSED, 0, "the SFTP %s '%s' is closed", f->is_dir ? "directory" : "file",
                          f->path);
    if (atomic_load(&sf->closed))
        return xssh__fail(sf->s, XSSH_ECLOSED, 0, "the SFTP subsystem is closed");
    if (atomic_load(&sf->abandoned))
        return xssh__fail(sf->s, XSSH_ECLOSED, 0,
                          "the SFTP subsystem is unusable: a request was abandoned half-done by a timeout or a "
                          "cancel (libssh2 would hand its answer to the next request); open a new SFTP object");
    /* before the session lock (lock order: oplock, then session lock). Outside a
       multi operation, an oplock a suspended operation of this thread holds is
       never released while this call waits: it fails instead */
    if (!xssh__fiber_self() && pthread_mutex_trylock(&sf->oplock) != 0) {
        if (atomic_load(&sf->oplock_tag) == xssh__thread_tag())
            return xssh__fail_in_use(sf->s, fn, "SFTP object", "an SFTP request of it awaits its reply");
        pthread_mutex_lock(&sf->oplock);
    } else if (xssh__fiber_self()) {
        xssh__mutex_lock(&sf->oplock);
    }
    if (!xssh__fiber_self())
        xssh__tls_plain_locks++;
    atomic_store(&sf->oplock_tag, xssh__holder_tag());
    int e = xssh__op_begin_at(op, sf->s, 1, f ? &f->closed : &sf->closed, fn);
    if (e) {
        oplock_release(sf);
        return e;
    }
    if (atomic_load(&sf->closed) || !sf->sftp || (f && (!f->h || atomic_load(&f->closed)))) {
        xssh__sftp_end(op, sf);
        if (f)
            return xssh__fail(sf->s, XSSH_ECLOSED, 0, "the SFTP %s '%s' is closed",
                              f->is_dir ? "directory" : "file", f->path);
        return xssh__fail(sf->s, XSSH_ECLOSED, 0, "the SFTP subsystem is closed");
    }
    if (tls_force_blocking)
        op->blocking = 1;
    op->finish = 1;
    return XSSH_OK;
}

/* Run a libssh2 call until it does not answer EAGAIN (blocking mode). */
#define RUN(op, rc, call)                        \
    do {                                         \
        (rc) = (call);                           \
    } while (xssh__op_again(&(op), (int *)&(rc)))

/* the path bytes of one request (sftp_internal.h) */
#define PATH_ARG(sf, nbytes)                                                                         \
    XSSH__ARG((sf)->s, (nbytes) <= XSSH__SFTP_PATH_MAX,                                              \
              "path too long: libssh2 1.10 sends an SFTP request in one packet, which carries at most " \
              "30000 bytes of path")

#define SF_BEGIN(sf)                                                    \
    XSSH__ARG(NULL, (sf), "sftp is NULL");                              \
    xssh__op op;                                                        \
    {                                                                   \
        int e_ = xssh__sftp_begin(&op, (sf), NULL);                     \
        if (e_)                                                         \
            return e_;                                                  \
    }

#define F_BEGIN(f)                                                      \
    XSSH__ARG(NULL, (f), "file is NULL");                               \
    xssh_sftp *sf = (f)->sf;                                            \
    xssh__op op;                                                        \
    {                                                                   \
        int e_ = xssh__sftp_begin(&op, sf, (f));                        \
        if (e_)                                                         \
            return e_;                                                  \
    }

/* ---- attributes --------------------------------------------------------------- */

static void attrs_from(xssh_sftp_attrs *o, const LIBSSH2_SFTP_ATTRIBUTES *a)
{
    o->flags = a->flags;
    o->filesize = a->filesize;
    o->uid = a->uid;
    o->gid = a->gid;
    o->permissions = a->permissions;
    o->atime = a->atime;
    o->mtime = a->mtime;
}

static void attrs_to(LIBSSH2_SFTP_ATTRIBUTES *a, const xssh_sftp_attrs *o)
{
    memset(a, 0, sizeof *a);
    a->flags = o->flags & (LIBSSH2_SFTP_ATTR_SIZE | LIBSSH2_SFTP_ATTR_UIDGID | LIBSSH2_SFTP_ATTR_PERMISSIONS |
                           LIBSSH2_SFTP_ATTR_ACMODTIME);
    a->filesize = o->filesize;
    a->uid = o->uid;
    a->gid = o->gid;
    a->permissions = o->permissions;
    a->atime = o->atime;
    a->mtime = o->mtime;
}

static void statvfs_from(xssh_sftp_vfs *o, const LIBSSH2_SFTP_STATVFS *v)
{
    o->f_bsize = v->f_bsize;
    o->f_frsize = v->f_frsize;
    o->f_blocks = v->f_blocks;
    o->f_bfree = v->f_bfree;
    o->f_bavail = v->f_bavail;
    o->f_files = v->f_files;
    o->f_ffree = v->f_ffree;
    o->f_favail = v->f_favail;
    o->f_fsid = v->f_fsid;
    o->f_flag = v->f_flag;
    o->f_namemax = v->f_namemax;
}

/* ---- the subsystem -------------------------------------------------------------- */

int xssh_sftp_new(xssh_sftp **out, xssh_session *session)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, session, "session is NULL");
    xssh_sftp *sf = calloc(1, sizeof *sf);
    if (!sf)
        return xssh__fail(session, XSSH_ENOMEM, 0, "out of memory allocating an SFTP object");
    xssh__op op;
    int e = xssh__op_begin(&op, session, 1, NULL);
    if (e) {
        free(sf);
        return e;
    }
    LIBSSH2_SFTP *p;
    int rc = 0;
    /* libssh2's channel-open and sftp-init state machines are per session:
       one opener at a time while the lock is released for waiting */
    xssh__open_begin(session, &op);
    op.finish = 1; /* libssh2 keeps a half-done init for the session's next one */
    for (;;) {
        p = libssh2_sftp_init(session->ssh);
        if (p)
            break;
        rc = libssh2_session_last_errno(session->ssh);
        if (!xssh__op_again(&op, &rc))
            break;
    }
    if (p && op.intr) {
        /* interrupted, then completed within the grace: it fails as interrupted */
        rc = op.intr;
        op.intr = 0;
        int src;
        do
            src = libssh2_sftp_shutdown(p);
        while (xssh__op_again(&op, &src));
        p = NULL;
    }
    xssh__open_end(session, &op);
    if (!p) {
        int fr;
        if (rc == XSSH_ECANCELLED)
            fr = xssh__fail(session, XSSH_ECANCELLED, 0, "starting the SFTP subsystem: cancelled");
        else if (rc == XSSH_ETIMEOUT)
            fr = xssh__fail(session, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "starting the SFTP subsystem timed out");
        else if (rc == XSSH_ECLOSED)
            fr = xssh__fail(session, XSSH_ECLOSED, 0, "starting the SFTP subsystem: the session was closed meanwhile");
        else if (rc == LIBSSH2_ERROR_EAGAIN)
            fr = xssh__fail(session, XSSH_EAGAIN, rc, "starting the SFTP subsystem would block");
        else
            fr = xssh__fail_ssh(session, rc ? rc : LIBSSH2_ERROR_CHANNEL_FAILURE, "starting the SFTP subsystem");
        xssh__op_end(&op);
        free(sf);
        return fr;
    }
    xssh__op_end(&op);
    xssh__ref_init(&sf->refs);
    atomic_init(&sf->closed, 0);
    pthread_mutex_init(&sf->oplock, NULL);
    sf->s = xssh_session_ref(session);
    sf->sftp = p;
    *out = sf;
    return xssh__ok();
}

xssh_sftp *xssh_sftp_ref(xssh_sftp *sftp)
{
    if (sftp)
        xssh__ref_inc(&sftp->refs);
    return sftp;
}

void xssh_sftp_unref(xssh_sftp *sf)
{
    if (!sf || !xssh__ref_dec(&sf->refs))
        return;
    /* no file is alive (each holds a reference) */
    xssh_session *s = sf->s;
    xssh__lock(s);
    if (sf->sftp)
        xssh__session_orphan(s, XSSH__ORPHAN_SFTP, sf->sftp);
    sf->sftp = NULL;
    xssh__unlock(s);
    pthread_mutex_destroy(&sf->oplock);
    free(sf);
    xssh_session_unref(s);
}

int xssh_sftp_close(xssh_sftp *sf)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    xssh_session *s = sf->s;
    xssh__lock(s);
    if (!sf->sftp) {
        atomic_store(&sf->closed, 1);
        xssh__unlock(s);
        return xssh__ok();
    }
    atomic_store(&sf->closed, 1);
    /* the handles first (the orphan queue keeps this order), then the subsystem */
    for (xssh_sftp_file *f = sf->files; f; f = f->next) {
        atomic_store(&f->closed, 1);
        if (f->h)
            xssh__session_orphan(s, XSSH__ORPHAN_SFTP_HANDLE, f->h);
        f->h = NULL;
    }
    xssh__session_orphan(s, XSSH__ORPHAN_SFTP, sf->sftp);
    sf->sftp = NULL;
    xssh__unlock(s);
    /* start the closing now when the session is usable (never waits) */
    xssh__op op;
    if (xssh__op_begin(&op, s, 1, NULL) == XSSH_OK)
        xssh__op_end(&op);
    return xssh__ok();
}

int xssh_sftp_session(xssh_sftp *sf, xssh_session **out)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, out, "out is NULL");
    *out = xssh_session_ref(sf->s);
    return xssh__ok();
}

int xssh_sftp_last_error(xssh_sftp *sf, unsigned long *out)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, out, "out is NULL");
    xssh__lock(sf->s);
    /* ours first: every failure with a status records it (libssh2's requests via
       xssh__sftp_fail, the transfer engine's own requests, which libssh2 never
       sees: its value would be a stale one from an earlier request) */
    unsigned long st = sf->last_status;
    if (st == 0 && sf->sftp)
        st = libssh2_sftp_last_error(sf->sftp);
    xssh__unlock(sf->s);
    *out = st;
    return xssh__ok();
}

/* ---- open ----------------------------------------------------------------------- */

/* An opendir the server refused with a failure status (OpenSSH's server answers
   SSH_FX_NO_SUCH_FILE for ENOTDIR): when the path is a regular file, say it is not
   a directory instead. The code and the server's status stay those of its answer. */
static void opendir_not_dir(xssh_sftp *sf, const char *path, int fr)
{
    if (fr != XSSH_ESFTP_NO_SUCH_FILE && fr != XSSH_ESFTP_FAILURE)
        return;
    xssh__saved_err se;
    xssh__err_save(&se);
    unsigned long last = sf->last_status;
    xssh_sftp_attrs a;
    if (xssh_sftp_stat(sf, path, &a) == XSSH_OK && (a.flags & XSSH_SFTP_ATTR_PERMISSIONS) &&
        (a.permissions & LIBSSH2_SFTP_S_IFMT) == LIBSSH2_SFTP_S_IFREG) {
        int status = se.sftp_status, lc = se.libssh2_code;
        xssh__fail(sf->s, fr, 0, "SFTP opendir '%s': not a directory (a regular file; the server answered %s)", path,
                   xssh_err_name(fr));
        xssh__err_save(&se);
        se.sftp_status = status;
        se.libssh2_code = lc;
    }
    sf->last_status = last;
    xssh__err_restore(sf->s, &se);
}

int xssh__sftp_open(xssh_sftp_file **out, xssh_sftp *sf, const char *path, size_t path_len, unsigned long flags,
                    long mode, int open_type, int force_blocking)
{
    PATH_ARG(sf, path_len);
    xssh_sftp_file *f = calloc(1, sizeof *f);
    char *pcopy = malloc(path_len + 1);
    if (!f || !pcopy) {
        free(f);
        free(pcopy);
        return xssh__fail(sf->s, XSSH_ENOMEM, 0, "out of memory");
    }
    memcpy(pcopy, path, path_len);
    pcopy[path_len] = '\0';
    xssh__op op;
    int e = xssh__sftp_begin_at(&op, sf, NULL, open_type == LIBSSH2_SFTP_OPENDIR ? "xssh_sftp_opendir" : "xssh_sftp_open");
    if (e) {
        free(f);
        free(pcopy);
        return e;
    }
    if (force_blocking)
        op.blocking = 1;
    LIBSSH2_SFTP_HANDLE *h;
    int rc = 0;
    for (;;) {
        h = libssh2_sftp_open_ex(sf->sftp, path, (unsigned int)path_len, flags, mode, open_type);
        if (h)
            break;
        rc = libssh2_session_last_errno(sf->s->ssh);
        if (!xssh__op_again(&op, &rc))
            break;
    }
    if (h && op.intr) {
        /* interrupted, then completed within the grace: close it again */
        rc = op.intr;
        op.intr = 0;
        int crc;
        RUN(op, crc, libssh2_sftp_close_handle(h));
        if (crc == LIBSSH2_ERROR_EAGAIN || crc == XSSH_ETIMEOUT || crc == XSSH_ECANCELLED || crc == XSSH_ECLOSED)
            xssh__session_orphan(sf->s, XSSH__ORPHAN_SFTP_HANDLE, h);
        h = NULL;
    }
    if (!h) {
        int blocking = op.blocking;
        int fr = xssh__sftp_fail(sf, rc ? rc : LIBSSH2_ERROR_SFTP_PROTOCOL,
                                 open_type == LIBSSH2_SFTP_OPENDIR ? "opendir" : "open", pcopy);
        xssh__sftp_end(&op, sf);
        if (open_type == LIBSSH2_SFTP_OPENDIR && blocking)
            opendir_not_dir(sf, pcopy, fr);
        free(f);
        free(pcopy);
        return fr;
    }
    if ((flags & LIBSSH2_FXF_APPEND) && open_type == LIBSSH2_SFTP_OPENFILE) {
        /* APPEND: libssh2 1.10 starts the handle at offset 0 and every WRITE
           carries its offset. OpenSSH's server opens with O_APPEND and ignores
           it; a server that honours the offset would overwrite the start of the
           file. So start at the end, as OpenSSH's sftp client does for
           "put -a": fstat now (blocking even in non-blocking mode: one round
           trip) and seek to the size. Race: bytes another client appends
           between this fstat and our writes are overwritten on such servers. */
        int was_blocking = op.blocking;
        op.blocking = 1;
        LIBSSH2_SFTP_ATTRIBUTES a;
        memset(&a, 0, sizeof a);
        RUN(op, rc, libssh2_sftp_fstat_ex(h, &a, 0));
        op.blocking = was_blocking;
        if (rc == 0 && (a.flags & LIBSSH2_SFTP_ATTR_SIZE))
            libssh2_sftp_seek64(h, a.filesize);
        else if (rc == 0)
            rc = LIBSSH2_ERROR_SFTP_PROTOCOL; /* no size: the end is unknown */
        if (rc) {
            int fr = rc == LIBSSH2_ERROR_SFTP_PROTOCOL && libssh2_sftp_last_error(sf->sftp) == 0
                         ? xssh__fail(sf->s, XSSH_ESFTP_PROTOCOL, 0,
                                      "SFTP open (append) '%s': the server's fstat gave no file size, so the "
                                      "end of the file is unknown",
                                      pcopy)
                         : xssh__sftp_fail(sf, rc, "open (append: fstat for the end of the file)", pcopy);
            xssh__session_orphan(sf->s, XSSH__ORPHAN_SFTP_HANDLE, h);
            xssh__sftp_end(&op, sf);
            free(f);
            free(pcopy);
            return fr;
        }
    }
    xssh__ref_init(&f->refs);
    atomic_init(&f->closed, 0);
    f->sf = xssh_sftp_ref(sf);
    f->h = h;
    f->is_dir = open_type == LIBSSH2_SFTP_OPENDIR;
    f->path = pcopy;
    f->next = sf->files;
    if (sf->files)
        sf->files->prev = f;
    sf->files = f;
    xssh__sftp_end(&op, sf);
    *out = f;
    return xssh__ok();
}

int xssh_sftp_open_ex(xssh_sftp_file **out, xssh_sftp *sf, const char *path, size_t path_len, unsigned long flags,
                      long mode, int open_type)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && path_len > 0, "path is NULL or empty");
    PATH_ARG(sf, path_len);
    XSSH__ARG(sf->s, open_type == LIBSSH2_SFTP_OPENFILE || open_type == LIBSSH2_SFTP_OPENDIR,
              "open_type must be XSSH_SFTP_OPENFILE or XSSH_SFTP_OPENDIR");
    return xssh__sftp_open(out, sf, path, path_len, flags, mode, open_type, 0);
}

int xssh_sftp_open(xssh_sftp_file **out, xssh_sftp *sf, const char *path, unsigned long flags, long mode)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    return xssh__sftp_open(out, sf, path, strlen(path), flags, mode, LIBSSH2_SFTP_OPENFILE, 0);
}

int xssh_sftp_opendir(xssh_sftp_file **out, xssh_sftp *sf, const char *path)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    return xssh__sftp_open(out, sf, path, strlen(path), 0, 0, LIBSSH2_SFTP_OPENDIR, 0);
}

/* ---- path operations ------------------------------------------------------------- */

static int stat_common(xssh_sftp *sf, const char *path, xssh_sftp_attrs *out, int type, const char *what)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    XSSH__ARG(sf->s, out, "out is NULL");
    xssh__op op;
    int e = xssh__sftp_begin_at(&op, sf, NULL, type == LIBSSH2_SFTP_STAT ? "xssh_sftp_stat" : "xssh_sftp_lstat");
    if (e)
        return e;
    LIBSSH2_SFTP_ATTRIBUTES a;
    memset(&a, 0, sizeof a);
    int rc;
    RUN(op, rc, libssh2_sftp_stat_ex(sf->sftp, path, (unsigned int)strlen(path), type, &a));
    if (rc) {
        int fr = xssh__sftp_fail(sf, rc, what, path);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    attrs_from(out, &a);
    return xssh__ok();
}

int xssh_sftp_stat(xssh_sftp *sf, const char *path, xssh_sftp_attrs *out)
{
    return stat_common(sf, path, out, LIBSSH2_SFTP_STAT, "stat");
}

int xssh_sftp_lstat(xssh_sftp *sf, const char *path, xssh_sftp_attrs *out)
{
    return stat_common(sf, path, out, LIBSSH2_SFTP_LSTAT, "lstat");
}

int xssh_sftp_setstat(xssh_sftp *sf, const char *path, const xssh_sftp_attrs *attrs)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    XSSH__ARG(sf->s, attrs, "attrs is NULL");
    LIBSSH2_SFTP_ATTRIBUTES a;
    attrs_to(&a, attrs);
    SF_BEGIN(sf);
    int rc;
    RUN(op, rc, libssh2_sftp_stat_ex(sf->sftp, path, (unsigned int)strlen(path), LIBSSH2_SFTP_SETSTAT, &a));
    int fr = rc ? xssh__sftp_fail(sf, rc, "setstat", path) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

int xssh_sftp_statvfs(xssh_sftp *sf, const char *path, xssh_sftp_vfs *out)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    XSSH__ARG(sf->s, out, "out is NULL");
    SF_BEGIN(sf);
    LIBSSH2_SFTP_STATVFS v;
    memset(&v, 0, sizeof v);
    int rc;
    RUN(op, rc, libssh2_sftp_statvfs(sf->sftp, path, strlen(path), &v));
    if (rc) {
        int fr = xssh__sftp_fail(sf, rc, "statvfs", path);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    statvfs_from(out, &v);
    return xssh__ok();
}

int xssh_sftp_mkdir(xssh_sftp *sf, const char *path, long mode)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    SF_BEGIN(sf);
    int rc;
    RUN(op, rc, libssh2_sftp_mkdir_ex(sf->sftp, path, (unsigned int)strlen(path), mode));
    int fr = rc ? xssh__sftp_fail(sf, rc, "mkdir", path) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

int xssh_sftp_rmdir(xssh_sftp *sf, const char *path)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    SF_BEGIN(sf);
    int rc;
    RUN(op, rc, libssh2_sftp_rmdir_ex(sf->sftp, path, (unsigned int)strlen(path)));
    int fr = rc ? xssh__sftp_fail(sf, rc, "rmdir", path) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

int xssh_sftp_unlink(xssh_sftp *sf, const char *path)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    SF_BEGIN(sf);
    int rc;
    RUN(op, rc, libssh2_sftp_unlink_ex(sf->sftp, path, (unsigned int)strlen(path)));
    int fr = rc ? xssh__sftp_fail(sf, rc, "unlink", path) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

int xssh_sftp_rename_ex(xssh_sftp *sf, const char *src, const char *dst, long flags)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, src && *src, "source path is NULL or empty");
    XSSH__ARG(sf->s, dst && *dst, "destination path is NULL or empty");
    PATH_ARG(sf, strlen(src) + strlen(dst));
    SF_BEGIN(sf);
    int rc;
    RUN(op, rc,
        libssh2_sftp_rename_ex(sf->sftp, src, (unsigned int)strlen(src), dst, (unsigned int)strlen(dst), flags));
    int fr = XSSH_OK;
    if (rc) {
        char both[1024];
        snprintf(both, sizeof both, "%s' -> '%s", src, dst);
        fr = xssh__sftp_fail(sf, rc, "rename", both);
    } else {
        fr = xssh__ok();
    }
    xssh__sftp_end(&op, sf);
    return fr;
}

int xssh_sftp_rename(xssh_sftp *sf, const char *src, const char *dst)
{
    return xssh_sftp_rename_ex(sf, src, dst,
                               LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE);
}

int xssh_sftp_symlink(xssh_sftp *sf, const char *target, const char *linkpath)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, target && *target, "target is NULL or empty");
    XSSH__ARG(sf->s, linkpath && *linkpath, "linkpath is NULL or empty");
    PATH_ARG(sf, strlen(target) + strlen(linkpath));
    SF_BEGIN(sf);
    /* libssh2 1.10 can report a bogus failure (a stale status) for a symlink
       the server did create, e.g. after a stat: so look first whether
       linkpath exists, and after a failure whether it now is our link. In
       non-blocking mode the first answer is kept across EAGAIN retries. */
    int rc;
    if (!sf->symlink_pending) {
        LIBSSH2_SFTP_ATTRIBUTES la;
        int pre;
        RUN(op, pre, libssh2_sftp_stat_ex(sf->sftp, linkpath, (unsigned int)strlen(linkpath), LIBSSH2_SFTP_LSTAT,
                                          &la));
        if (pre == LIBSSH2_ERROR_EAGAIN) {
            int fr = xssh__sftp_fail(sf, pre, "symlink", linkpath);
            xssh__sftp_end(&op, sf);
            return fr;
        }
        sf->symlink_existed = pre == 0;
        sf->symlink_pending = 1;
    }
    /* libssh2 sends (first, second) and OpenSSH's server (which swaps the
       draft's order) runs symlink(first, second) */
    RUN(op, rc,
        libssh2_sftp_symlink_ex(sf->sftp, target, (unsigned int)strlen(target), (char *)linkpath,
                                (unsigned int)strlen(linkpath), LIBSSH2_SFTP_SYMLINK));
    if (rc == LIBSSH2_ERROR_EAGAIN) {
        int fr = xssh__sftp_fail(sf, rc, "symlink", linkpath);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    sf->symlink_pending = 0;
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && !sf->symlink_existed) {
        unsigned long st = libssh2_sftp_last_error(sf->sftp);
        char *buf = malloc(XSSH__SFTP_PACKET_MAX + 1);
        int n = LIBSSH2_ERROR_ALLOC;
        if (buf)
            RUN(op, n,
                libssh2_sftp_symlink_ex(sf->sftp, linkpath, (unsigned int)strlen(linkpath), buf,
                                        XSSH__SFTP_PACKET_MAX, LIBSSH2_SFTP_READLINK));
        int same = n >= 0 && (size_t)n == strlen(target) && memcmp(buf, target, (size_t)n) == 0;
        free(buf);
        if (same) {
            rc = 0;
        } else {
            rc = LIBSSH2_ERROR_SFTP_PROTOCOL;
            sf->last_status = st;
        }
    }
    int fr = rc < 0 ? xssh__sftp_fail(sf, rc, "symlink", linkpath) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

static int link_query(xssh_sftp *sf, const char *path, char **out, int type, const char *what)
{
    XSSH__ARG(NULL, sf, "sftp is NULL");
    XSSH__ARG(sf->s, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(sf->s, path && *path, "path is NULL or empty");
    PATH_ARG(sf, strlen(path));
    char *buf = malloc(XSSH__SFTP_PACKET_MAX + 1);
    if (!buf)
        return xssh__fail(sf->s, XSSH_ENOMEM, 0, "out of memory");
    xssh__op op;
    int e = xssh__sftp_begin_at(&op, sf, NULL, type == LIBSSH2_SFTP_READLINK ? "xssh_sftp_readlink" : "xssh_sftp_realpath");
    if (e) {
        free(buf);
        return e;
    }
    int rc;
    RUN(op, rc, libssh2_sftp_symlink_ex(sf->sftp, path, (unsigned int)strlen(path), buf, XSSH__SFTP_PACKET_MAX, type));
    if (rc < 0) {
        int fr = xssh__sftp_fail(sf, rc, what, path);
        xssh__sftp_end(&op, sf);
        free(buf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    *out = fit(buf, (size_t)rc < XSSH__SFTP_PACKET_MAX ? (size_t)rc : XSSH__SFTP_PACKET_MAX);
    return xssh__ok();
}

int xssh_sftp_readlink(xssh_sftp *sf, const char *path, char **out)
{
    return link_query(sf, path, out, LIBSSH2_SFTP_READLINK, "readlink");
}

int xssh_sftp_realpath(xssh_sftp *sf, const char *path, char **out)
{
    return link_query(sf, path, out, LIBSSH2_SFTP_REALPATH, "realpath");
}

/* ---- files ---------------------------------------------------------------------- */

xssh_sftp_file *xssh_sftp_file_ref(xssh_sftp_file *f)
{
    if (f)
        xssh__ref_inc(&f->refs);
    return f;
}

/* Unlink f from its sftp's list. Session lock held. */
static void file_detach(xssh_sftp_file *f)
{
    xssh_sftp *sf = f->sf;
    if (f->prev)
        f->prev->next = f->next;
    else if (sf->files == f)
        sf->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
}

void xssh_sftp_file_unref(xssh_sftp_file *f)
{
    if (!f || !xssh__ref_dec(&f->refs))
        return;
    xssh_sftp *sf = f->sf;
    xssh_session *s = sf->s;
    xssh__lock(s);
    if (f->h)
        xssh__session_orphan(s, XSSH__ORPHAN_SFTP_HANDLE, f->h);
    f->h = NULL;
    file_detach(f);
    xssh__unlock(s);
    free(f->path);
    free(f);
    xssh_sftp_unref(sf);
}

static int file_close(xssh_sftp_file *f, int force_blocking)
{
    XSSH__ARG(NULL, f, "file is NULL");
    xssh_sftp *sf = f->sf;
    xssh_session *s = sf->s;
    xssh__lock(s);
    if (!f->h) {
        atomic_store(&f->closed, 1);
        xssh__unlock(s);
        return xssh__ok();
    }
    xssh__unlock(s);
    xssh__op op;
    if (xssh__op_begin(&op, s, 1, NULL) != XSSH_OK) {
        /* the session is closed: the handle goes with it, no I/O possible */
        xssh__lock(s);
        atomic_store(&f->closed, 1);
        if (f->h)
            xssh__session_orphan(s, XSSH__ORPHAN_SFTP_HANDLE, f->h);
        f->h = NULL;
        file_detach(f);
        xssh__unlock(s);
        return xssh__ok();
    }
    if (!f->h) { /* closed by another thread meanwhile */
        xssh__op_end(&op);
        return xssh__ok();
    }
    if (force_blocking)
        op.blocking = 1;
    atomic_store(&f->closed, 1);
    op.finish = 1;
    int rc, from_op = 0;
    for (;;) {
        rc = libssh2_sftp_close_handle(f->h);
        if (rc != LIBSSH2_ERROR_EAGAIN) {
            if (op.intr) /* completed within the grace: libssh2 freed the handle */
                rc = op.intr;
            break;
        }
        int prev = rc;
        if (xssh__op_again(&op, &rc))
            continue;
        from_op = rc != prev;
        break;
    }
    if (rc == LIBSSH2_ERROR_EAGAIN && !from_op) {
        /* non-blocking: call close again to finish */
        int fr = xssh__sftp_fail(sf, rc, "close", f->path);
        xssh__op_end(&op);
        return fr;
    }
    if (from_op) {
        /* timed out or closed while waiting: libssh2 still owns the handle */
        if (f->h)
            xssh__session_orphan(s, XSSH__ORPHAN_SFTP_HANDLE, f->h);
    }
    /* otherwise libssh2 freed the handle, whatever the result */
    f->h = NULL;
    file_detach(f);
    int fr = rc ? xssh__sftp_fail(sf, rc, "close", f->path) : xssh__ok();
    xssh__op_end(&op);
    return fr;
}

int xssh_sftp_file_close(xssh_sftp_file *f) { return file_close(f, 0); }

int xssh__sftp_file_close_blocking(xssh_sftp_file *f) { return file_close(f, 1); }

int xssh_sftp_file_path(xssh_sftp_file *f, const char **out)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, out, "out is NULL");
    *out = f->path;
    return xssh__ok();
}

int xssh_sftp_file_read(xssh_sftp_file *f, void *buf, size_t cap, size_t *nread)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, nread, "nread is NULL");
    *nread = 0;
    XSSH__ARG(f->sf->s, buf || cap == 0, "buf is NULL");
    XSSH__ARG(f->sf->s, !f->is_dir, "read on a directory handle (use readdir)");
    F_BEGIN(f);
    if (cap == 0) { /* libssh2 1.10 fails a zero-length read ("internal error") */
        xssh__sftp_end(&op, sf);
        return xssh__ok();
    }
    ssize_t rc;
    int irc;
    for (;;) {
        /* libssh2 1.10 cuts the buffer size to 32 bits when it sizes its READ
           requests: a short count for a larger buffer */
        f->read_ahead = 1;
        rc = libssh2_sftp_read(f->h, buf, xssh__io_clamp(cap));
        if (rc >= 0)
            break;
        irc = (int)rc;
        if (!xssh__op_again(&op, &irc)) {
            rc = irc;
            break;
        }
    }
    if (rc >= 0 && op.intr) /* completed within the grace: fails as interrupted */
        rc = op.intr;
    if (rc < 0) {
        int fr = xssh__sftp_fail(sf, (int)rc, "read", f->path);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    *nread = (size_t)rc;
    return xssh__ok();
}

#define WRITE_WINDOW (140u * 30000u) /* 4.2 MB in flight at most */

int xssh_sftp_file_write(xssh_sftp_file *f, const void *buf, size_t len, size_t *written)
{
    if (written)
        *written = 0;
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, buf || len == 0, "buf is NULL");
    XSSH__ARG(f->sf->s, !f->is_dir, "write on a directory handle");
    F_BEGIN(f);
    if (f->read_ahead) {
        /* libssh2 1.10 keeps one request list and one "sent" offset per handle for
           reads and writes: after a read, its read-ahead requests (sent past the
           read position, even past the end of the file) would count as data of
           this write already sent, and the write would skip that many bytes and
           wait for answers that never come. Drop the read-ahead first (seek to
           the read position; answers still on the way are discarded). */
        libssh2_sftp_seek64(f->h, libssh2_sftp_tell64(f->h));
        f->read_ahead = 0;
    }
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        /* libssh2 queues everything it is given as requests at once: hand it a
           bounded window (later calls top it up; the data must stay the same) */
        size_t chunk = len - done > WRITE_WINDOW ? WRITE_WINDOW : len - done;
        ssize_t n = libssh2_sftp_write(f->h, (const char *)buf + done, chunk);
        if (n > 0) {
            done += (size_t)n;
            if (written)
                *written = done;
            if (op.intr && done < len) { /* the interrupted write completed: no more */
                rc = op.intr;
                break;
            }
            continue;
        }
        if (n == 0) /* nothing acknowledged yet: wait like EAGAIN */
            n = LIBSSH2_ERROR_EAGAIN;
        rc = (int)n;
        if (xssh__op_again(&op, &rc))
            continue;
        break;
    }
    if (written)
        *written = done;
    if (done < len) {
        int fr = xssh__sftp_fail(sf, rc, "write", f->path);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    return xssh__ok();
}

int xssh_sftp_file_seek64(xssh_sftp_file *f, uint64_t offset)
{
    F_BEGIN(f);
    libssh2_sftp_seek64(f->h, offset);
    f->read_ahead = 0; /* the seek dropped it */
    xssh__sftp_end(&op, sf);
    return xssh__ok();
}

int xssh_sftp_file_tell64(xssh_sftp_file *f, uint64_t *out)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, out, "out is NULL");
    F_BEGIN(f);
    *out = libssh2_sftp_tell64(f->h);
    xssh__sftp_end(&op, sf);
    return xssh__ok();
}

int xssh_sftp_file_rewind(xssh_sftp_file *f) { return xssh_sftp_file_seek64(f, 0); }

int xssh_sftp_file_fstat(xssh_sftp_file *f, xssh_sftp_attrs *out)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, out, "out is NULL");
    F_BEGIN(f);
    LIBSSH2_SFTP_ATTRIBUTES a;
    memset(&a, 0, sizeof a);
    int rc;
    RUN(op, rc, libssh2_sftp_fstat_ex(f->h, &a, 0));
    if (rc) {
        int fr = xssh__sftp_fail(sf, rc, "fstat", f->path);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    attrs_from(out, &a);
    return xssh__ok();
}

int xssh_sftp_file_fsetstat(xssh_sftp_file *f, const xssh_sftp_attrs *attrs)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, attrs, "attrs is NULL");
    LIBSSH2_SFTP_ATTRIBUTES a;
    attrs_to(&a, attrs);
    F_BEGIN(f);
    int rc;
    RUN(op, rc, libssh2_sftp_fstat_ex(f->h, &a, 1));
    int fr = rc ? xssh__sftp_fail(sf, rc, "fsetstat", f->path) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

int xssh_sftp_file_fstatvfs(xssh_sftp_file *f, xssh_sftp_vfs *out)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, out, "out is NULL");
    F_BEGIN(f);
    LIBSSH2_SFTP_STATVFS v;
    memset(&v, 0, sizeof v);
    int rc;
    RUN(op, rc, libssh2_sftp_fstatvfs(f->h, &v));
    if (rc) {
        int fr = xssh__sftp_fail(sf, rc, "fstatvfs", f->path);
        xssh__sftp_end(&op, sf);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    statvfs_from(out, &v);
    return xssh__ok();
}

int xssh_sftp_file_fsync(xssh_sftp_file *f)
{
    F_BEGIN(f);
    int rc;
    RUN(op, rc, libssh2_sftp_fsync(f->h));
    int fr = rc ? xssh__sftp_fail(sf, rc, "fsync", f->path) : xssh__ok();
    xssh__sftp_end(&op, sf);
    return fr;
}

/* any name an SFTP packet libssh2 accepts can hold (sftp_internal.h) */
#define NAME_CAP (XSSH__SFTP_PACKET_MAX + 1)
#define LONG_CAP (XSSH__SFTP_PACKET_MAX + 1)


int xssh_sftp_file_readdir(xssh_sftp_file *f, char **name, char **longentry, xssh_sftp_attrs *attrs)
{
    XSSH__ARG(NULL, f, "file is NULL");
    XSSH__ARG(f->sf->s, name, "name is NULL");
    *name = NULL;
    if (longentry)
        *longentry = NULL;
    XSSH__ARG(f->sf->s, f->is_dir, "readdir on a file handle (open it with opendir)");
    char *nb = malloc(NAME_CAP);
    char *lb = longentry ? malloc(LONG_CAP) : NULL;
    if (!nb || (longentry && !lb)) {
        free(nb);
        free(lb);
        return xssh__fail(f->sf->s, XSSH_ENOMEM, 0, "out of memory");
    }
    xssh_sftp *sf = f->sf;
    xssh__op op;
    int e = xssh__sftp_begin(&op, sf, f);
    if (e) {
        free(nb);
        free(lb);
        return e;
    }
    LIBSSH2_SFTP_ATTRIBUTES a;
    memset(&a, 0, sizeof a);
    int rc;
    RUN(op, rc, libssh2_sftp_readdir_ex(f->h, nb, NAME_CAP - 1, lb, lb ? LONG_CAP - 1 : 0, &a));
    if (rc < 0) {
        int fr = xssh__sftp_fail(sf, rc, "readdir", f->path);
        xssh__sftp_end(&op, sf);
        free(nb);
        free(lb);
        return fr;
    }
    xssh__sftp_end(&op, sf);
    if (rc == 0) {
        free(nb);
        free(lb);
        return xssh__fail(sf->s, XSSH_EITEROVER, 0, "readdir '%s': no more entries", f->path);
    }
    nb = fit(nb, (size_t)rc < NAME_CAP ? (size_t)rc : NAME_CAP - 1);
    if (lb) {
        lb[LONG_CAP - 1] = '\0'; /* libssh2 terminates it when it fits */
        lb = fit(lb, strlen(lb));
    }
    *name = nb;
    if (longentry)
        *longentry = lb;
    if (attrs)
        attrs_from(attrs, &a);
    return xssh__ok();
}
