/* SPDX-License-Identifier: BSD-3-Clause */
/* Directory trees over SFTP: xssh_sftp_put_tree() / xssh_sftp_get_tree().
 *
 * Three phases:
 * 1. walk the source tree (local: lstat/opendir; remote: opendir/readdir, whose
 *    attributes are lstat's) into a list of nodes in pre-order (a directory
 *    before its contents, names sorted), so the totals are known before the
 *    first byte moves;
 * 2. create the directories (parents first; an existing directory is merged
 *    into, anything else in the way is an error naming it), then transfer the
 *    regular files with the whole-file calls (xssh_sftp_put / xssh_sftp_get and
 *    the caller's per-file options), files_in_flight at once through
 *    xssh__parallel(), then recreate the links (XSSH_SYMLINKS_COPY);
 * 3. with preserve, set the directories' modes and times last, deepest first
 *    (their contents are complete by then).
 *
 * Symbolic links followed (XSSH_SYMLINKS_FOLLOW): a link to a directory is
 * entered only when that directory has not been entered yet (local: by
 * device/inode; remote: by the server's realpath), so a loop ends and no
 * directory is copied twice through links. A dangling followed link is an error.
 * Other file types (devices, FIFOs, sockets) are left out.
 *
 * Remote names come from the server: "." and ".." are skipped and an empty
 * name or one holding '/' is refused (XSSH_ESFTP_PROTOCOL), so nothing is ever
 * written outside the destination through a name. Local directories that
 * exist already must be real directories (a link there is "in the way"), and
 * a link at a file's local destination is replaced, never written through.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sftp_internal.h"

#define DEFAULT_IN_FLIGHT 8
#define MAX_DEPTH 1024

enum { N_DIR, N_FILE, N_LINK };

typedef struct tnode {
    char *rel;            /* relative to the root ("" for the root itself), '/'-separated */
    int kind;             /* N_DIR, N_FILE, N_LINK */
    uint64_t size;        /* N_FILE */
    unsigned long mode;   /* permission bits (07777) */
    unsigned long atime, mtime;
    int has_times;
    char *target;         /* N_LINK: the link's text */
} tnode;

typedef struct tree {
    xssh_sftp *sf;
    xssh_session *s;
    int put;                     /* 1 put_tree, 0 get_tree */
    const char *fn;              /* "put_tree" / "get_tree" for messages */
    const char *src, *dst;       /* the roots */
    xssh_tree_opts o;
    tnode *v;
    size_t n, cap;
    /* visited directories, for followed links: local (dev, ino); remote canonical paths */
    struct { dev_t dev; ino_t ino; } *ids;
    size_t nids, capids;
    char **canon;
    size_t ncanon, capcanon;
    tnode **files;
    size_t nfiles;
    /* followed links to directories, entered after every real directory was
       walked (so a real directory always wins over a link to it) */
    struct deferred { char *abs, *rel, *canon; struct stat st; xssh_sftp_attrs a; int depth; } *defer;
    size_t ndefer, capdefer;
    xssh_tree_progress prog;
    xssh_tree_stats *st;
    /* progress handed to the caller's thread stack (queued mode, see run_files) */
    int queued;
    struct report { xssh_tree_progress p; } *q;
    size_t nq, capq;
    int cancel_req;              /* the callback asked to cancel: every file stops */
    int stop;                    /* a file failed: the others are cancelled */
    long fail_index;             /* first failed file (-1: none; -2: cancelled by the callback) */
    xssh__saved_err fail;        /* its error */
    int oom;                     /* a report could not be queued */
} tree;

typedef struct ftask {
    tree *t;
    tnode *node;
    uint64_t last;   /* bytes of this file already counted in prog.bytes_done */
} ftask;

/* ---- small helpers ------------------------------------------------------------ */

static char *join(const char *root, const char *rel)
{
    size_t a = strlen(root), b = strlen(rel);
    if (b == 0)
        return xssh__strdup(root);
    int slash = a > 0 && root[a - 1] != '/';
    char *p = malloc(a + slash + b + 1);
    if (!p)
        return NULL;
    memcpy(p, root, a);
    if (slash)
        p[a] = '/';
    memcpy(p + a + slash, rel, b + 1);
    return p;
}

static int tfail(xssh_session *s, int code, int libssh2_code, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int tfail(xssh_session *s, int code, int libssh2_code, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xssh__vfail(s, code, libssh2_code, status, fmt, ap);
    va_end(ap);
    return code;
}

static int oom(tree *t) { return xssh__fail(t->s, XSSH_ENOMEM, 0, "SFTP %s: out of memory", t->fn); }

static tnode *add(tree *t, int kind, const char *rel)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        tnode *nv = realloc(t->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        t->v = nv;
        t->cap = nc;
    }
    char *r = xssh__strdup(rel);
    if (!r)
        return NULL;
    tnode *x = &t->v[t->n++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->rel = r;
    return x;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int push_name(char ***names, size_t *n, size_t *cap, char *name)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        char **nn = realloc(*names, nc * sizeof *nn);
        if (!nn)
            return -1;
        *names = nn;
        *cap = nc;
    }
    (*names)[(*n)++] = name;
    return 0;
}

static char *child_rel(const char *rel, const char *name)
{
    size_t a = strlen(rel), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    if (a) {
        memcpy(p, rel, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    } else {
        memcpy(p, name, b + 1);
    }
    return p;
}

static int defer_dir(tree *t, const char *abs, const char *rel, const char *canon, const struct stat *st,
                     const xssh_sftp_attrs *a, int depth)
{
    if (t->ndefer == t->capdefer) {
        size_t nc = t->capdefer ? t->capdefer * 2 : 8;
        struct deferred *n = realloc(t->defer, nc * sizeof *n);
        if (!n)
            return oom(t);
        t->defer = n;
        t->capdefer = nc;
    }
    struct deferred *d = &t->defer[t->ndefer];
    memset(d, 0, sizeof *d);
    d->abs = xssh__strdup(abs);
    d->rel = xssh__strdup(rel);
    d->canon = canon ? xssh__strdup(canon) : NULL;
    if (!d->abs || !d->rel || (canon && !d->canon)) {
        free(d->abs);
        free(d->rel);
        free(d->canon);
        return oom(t);
    }
    if (st)
        d->st = *st;
    if (a)
        d->a = *a;
    d->depth = depth;
    t->ndefer++;
    return XSSH_OK;
}

/* ---- local walk (put_tree) ---------------------------------------------------- */

static int local_seen(tree *t, const struct stat *st)
{
    for (size_t i = 0; i < t->nids; i++)
        if (t->ids[i].dev == st->st_dev && t->ids[i].ino == st->st_ino)
            return 1;
    return 0;
}

static int local_mark(tree *t, const struct stat *st)
{
    if (t->nids == t->capids) {
        size_t nc = t->capids ? t->capids * 2 : 32;
        void *n = realloc(t->ids, nc * sizeof *t->ids);
        if (!n)
            return -1;
        t->ids = n;
        t->capids = nc;
    }
    t->ids[t->nids].dev = st->st_dev;
    t->ids[t->nids].ino = st->st_ino;
    t->nids++;
    return 0;
}

static void node_from_stat(tnode *x, const struct stat *st)
{
    x->mode = (unsigned long)(st->st_mode & 07777);
    x->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
    x->atime = (unsigned long)st->st_atim.tv_sec;
    x->mtime = (unsigned long)st->st_mtim.tv_sec;
    x->has_times = 1;
}

static int walk_local(tree *t, const char *abs, const char *rel, const struct stat *dst_, int depth)
{
    if (depth > MAX_DEPTH)
        return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP %s: the local directory '%s' is nested more than %d levels deep",
                          t->fn, abs, MAX_DEPTH);
    tnode *d = add(t, N_DIR, rel);
    if (!d || local_mark(t, dst_))
        return oom(t);
    node_from_stat(d, dst_);
    DIR *dir = opendir(abs);
    if (!dir)
        return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP %s: cannot read the local directory '%s': %s", t->fn, abs,
                          strerror(errno));
    char **names = NULL;
    size_t nn = 0, cn = 0;
    struct dirent *e;
    int rc = XSSH_OK;
    errno = 0;
    while ((e = readdir(dir))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *nm = xssh__strdup(e->d_name);
        if (!nm || push_name(&names, &nn, &cn, nm)) {
            free(nm);
            rc = oom(t);
            break;
        }
        errno = 0;
    }
    if (rc == XSSH_OK && errno)
        rc = xssh__fail(t->s, XSSH_EFILE, 0, "SFTP %s: reading the local directory '%s' failed: %s", t->fn, abs,
                        strerror(errno));
    closedir(dir);
    if (rc) {
        free_names(names, nn);
        return rc;
    }
    if (nn > 1)
        qsort(names, nn, sizeof *names, cmp_names);
    for (size_t i = 0; i < nn && rc == XSSH_OK; i++) {
        char *full = join(abs, names[i]), *crel = child_rel(rel, names[i]);
        if (!full || !crel) {
            free(full);
            free(crel);
            rc = oom(t);
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0) {
            rc = xssh__fail(t->s, XSSH_EFILE, 0, "SFTP %s: cannot stat the local file '%s': %s", t->fn, full,
                            strerror(errno));
        } else if (S_ISLNK(st.st_mode)) {
            if (t->o.symlinks == XSSH_SYMLINKS_COPY) {
                char *buf = malloc((size_t)4096 + 1);
                ssize_t k = buf ? readlink(full, buf, 4096) : -1;
                if (!buf) {
                    rc = oom(t);
                } else if (k < 0) {
                    rc = xssh__fail(t->s, XSSH_EFILE, 0, "SFTP %s: cannot read the local link '%s': %s", t->fn, full,
                                    strerror(errno));
                } else {
                    buf[k] = '\0';
                    tnode *x = add(t, N_LINK, crel);
                    if (!x)
                        rc = oom(t);
                    else
                        x->target = buf, buf = NULL;
                }
                free(buf);
            } else if (t->o.symlinks == XSSH_SYMLINKS_FOLLOW) {
                struct stat ts;
                if (stat(full, &ts) != 0) {
                    rc = xssh__fail(t->s, XSSH_EFILE, 0,
                                    "SFTP %s: cannot follow the local link '%s': %s (use symlinks COPY or SKIP)", t->fn,
                                    full, strerror(errno));
                } else if (S_ISDIR(ts.st_mode)) {
                    rc = defer_dir(t, full, crel, NULL, &ts, NULL, depth + 1);
                } else if (S_ISREG(ts.st_mode)) {
                    tnode *x = add(t, N_FILE, crel);
                    if (!x)
                        rc = oom(t);
                    else
                        node_from_stat(x, &ts);
                }
            }
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk_local(t, full, crel, &st, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            tnode *x = add(t, N_FILE, crel);
            if (!x)
                rc = oom(t);
            else
                node_from_stat(x, &st);
        }
        free(full);
        free(crel);
    }
    free_names(names, nn);
    return rc;
}

/* ---- remote walk (get_tree) ----------------------------------------------------- */

static int remote_seen(tree *t, const char *canon)
{
    for (size_t i = 0; i < t->ncanon; i++)
        if (strcmp(t->canon[i], canon) == 0)
            return 1;
    return 0;
}

static void node_from_attrs(tnode *x, const xssh_sftp_attrs *a)
{
    x->mode = (a->flags & XSSH_SFTP_ATTR_PERMISSIONS) ? (a->permissions & 07777) : 0;
    x->size = (a->flags & XSSH_SFTP_ATTR_SIZE) ? a->filesize : 0;
    if (a->flags & XSSH_SFTP_ATTR_ACMODTIME) {
        x->atime = a->atime;
        x->mtime = a->mtime;
        x->has_times = 1;
    }
}

typedef struct rentry {
    char *name;
    xssh_sftp_attrs a;
} rentry;

static int cmp_rentry(const void *a, const void *b)
{
    return strcmp(((const rentry *)a)->name, ((const rentry *)b)->name);
}

static void free_rentries(rentry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xssh_free(v[i].name);
    free(v);
}

/* canon: the directory's path as the server resolves it (owned by t->canon) */
static int walk_remote(tree *t, const char *abs, const char *rel, const char *canon, const xssh_sftp_attrs *da,
                       int depth)
{
    if (depth > MAX_DEPTH)
        return xssh__fail(t->s, XSSH_ESFTP_PROTOCOL, 0,
                          "SFTP %s: the remote directory '%s' is nested more than %d levels deep", t->fn, abs,
                          MAX_DEPTH);
    tnode *d = add(t, N_DIR, rel);
    if (!d)
        return oom(t);
    node_from_attrs(d, da);
    xssh_sftp_file *dh = NULL;
    int rc = xssh_sftp_opendir(&dh, t->sf, abs);
    if (rc)
        return rc; /* the message names the directory */
    rentry *ents = NULL;
    size_t ne = 0, ce = 0;
    for (;;) {
        char *name = NULL;
        xssh_sftp_attrs a;
        memset(&a, 0, sizeof a);
        rc = xssh_sftp_file_readdir(dh, &name, NULL, &a);
        if (rc == XSSH_EITEROVER) {
            rc = XSSH_OK;
            break;
        }
        if (rc)
            break;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            xssh_free(name);
            continue;
        }
        if (!*name || strchr(name, '/')) {
            rc = xssh__fail(t->s, XSSH_ESFTP_PROTOCOL, 0,
                            "SFTP %s: the server listed the remote directory '%s' with an unsafe entry name '%s' "
                            "(empty or holding '/'): refused",
                            t->fn, abs, name);
            xssh_free(name);
            break;
        }
        if (ne == ce) {
            size_t nc = ce ? ce * 2 : 32;
            rentry *n = realloc(ents, nc * sizeof *n);
            if (!n) {
                xssh_free(name);
                rc = oom(t);
                break;
            }
            ents = n;
            ce = nc;
        }
        ents[ne].name = name;
        ents[ne].a = a;
        ne++;
    }
    if (rc) {
        xssh__saved_err se;
        xssh__err_save(&se);
        xssh__sftp_file_close_blocking(dh);
        xssh_sftp_file_unref(dh);
        free_rentries(ents, ne);
        return xssh__err_restore(t->s, &se);
    }
    rc = xssh__sftp_file_close_blocking(dh);
    xssh_sftp_file_unref(dh);
    if (rc) {
        free_rentries(ents, ne);
        return rc;
    }
    if (ne > 1)
        qsort(ents, ne, sizeof *ents, cmp_rentry);
    for (size_t i = 0; i < ne && rc == XSSH_OK; i++) {
        char *full = join(abs, ents[i].name), *crel = child_rel(rel, ents[i].name);
        char *ccanon = join(canon, ents[i].name);
        if (!full || !crel || !ccanon) {
            free(full);
            free(crel);
            free(ccanon);
            rc = oom(t);
            break;
        }
        xssh_sftp_attrs a = ents[i].a;
        if (!(a.flags & XSSH_SFTP_ATTR_PERMISSIONS))
            rc = xssh_sftp_lstat(t->sf, full, &a);
        unsigned long type = a.permissions & XSSH_SFTP_S_IFMT;
        if (rc) {
            /* message names the path */
        } else if (type == XSSH_SFTP_S_IFLNK) {
            if (t->o.symlinks == XSSH_SYMLINKS_COPY) {
                char *target = NULL;
                rc = xssh_sftp_readlink(t->sf, full, &target);
                if (rc == XSSH_OK) {
                    tnode *x = add(t, N_LINK, crel);
                    if (!x)
                        rc = oom(t);
                    else
                        x->target = xssh__strdup(target);
                    if (x && !x->target)
                        rc = oom(t);
                    xssh_free(target);
                }
            } else if (t->o.symlinks == XSSH_SYMLINKS_FOLLOW) {
                xssh_sftp_attrs ta;
                rc = xssh_sftp_stat(t->sf, full, &ta);
                if (rc) {
                    xssh__saved_err se;
                    xssh__err_save(&se);
                    tfail(t->s, se.code, se.libssh2_code, se.sftp_status,
                          "%s (following the remote link '%s'; use symlinks COPY or SKIP)", se.msg, full);
                } else if ((ta.permissions & XSSH_SFTP_S_IFMT) == XSSH_SFTP_S_IFDIR) {
                    char *real = NULL;
                    rc = xssh_sftp_realpath(t->sf, full, &real);
                    if (rc == XSSH_OK)
                        rc = defer_dir(t, full, crel, real, NULL, &ta, depth + 1);
                    xssh_free(real);
                } else if ((ta.permissions & XSSH_SFTP_S_IFMT) == XSSH_SFTP_S_IFREG) {
                    tnode *x = add(t, N_FILE, crel);
                    if (!x)
                        rc = oom(t);
                    else
                        node_from_attrs(x, &ta);
                }
            }
        } else if (type == XSSH_SFTP_S_IFDIR) {
            if (push_name(&t->canon, &t->ncanon, &t->capcanon, ccanon)) {
                rc = oom(t);
            } else {
                rc = walk_remote(t, full, crel, ccanon, &a, depth + 1);
                ccanon = NULL; /* owned by t->canon */
            }
        } else if (type == XSSH_SFTP_S_IFREG) {
            tnode *x = add(t, N_FILE, crel);
            if (!x)
                rc = oom(t);
            else
                node_from_attrs(x, &a);
        }
        free(full);
        free(crel);
        free(ccanon);
    }
    free_rentries(ents, ne);
    return rc;
}

/* ---- directories ------------------------------------------------------------------ */

/* ---- directories ------------------------------------------------------------------ */

/* mode of a directory while the tree is written: with preserve its own bits
   plus owner rwx (so its contents can be created); set exactly at the end */
static unsigned long dir_mode(const tree *t, const tnode *d) { return t->o.preserve ? (d->mode | 0700) : 0755; }

static int remote_mkdir(tree *t, const char *path, unsigned long mode)
{
    int rc = xssh_sftp_mkdir(t->sf, path, (long)mode);
    if (rc == XSSH_OK)
        return XSSH_OK;
    xssh__saved_err se;
    xssh__err_save(&se);
    xssh_sftp_attrs a;
    if (xssh_sftp_lstat(t->sf, path, &a) != XSSH_OK)
        return xssh__err_restore(t->s, &se);
    if ((a.permissions & XSSH_SFTP_S_IFMT) == XSSH_SFTP_S_IFDIR)
        return xssh__ok(); /* there already: merged into */
    return tfail(t->s, XSSH_ESFTP_FILE_ALREADY_EXISTS, 0, 11,
                 "SFTP put_tree: cannot create the remote directory '%s': something that is not a directory is in "
                 "the way",
                 path);
}

static int local_mkdir(tree *t, const char *path, unsigned long mode)
{
    if (mkdir(path, (mode_t)mode) == 0)
        return XSSH_OK;
    int en = errno;
    struct stat st;
    if (en == EEXIST && lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return XSSH_OK; /* there already: merged into */
        return xssh__fail(t->s, XSSH_EFILE, 0,
                          "SFTP get_tree: cannot create the local directory '%s': a %s is in the way", path,
                          S_ISLNK(st.st_mode) ? "symbolic link" : "file that is not a directory");
    }
    return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP get_tree: cannot create the local directory '%s': %s", path,
                      strerror(en));
}

/* set mode and times (preserve) of the destination of node x */
static int set_attrs(tree *t, const tnode *x, const char *dst)
{
    if (t->put) {
        xssh_sftp_attrs a;
        memset(&a, 0, sizeof a);
        a.flags = XSSH_SFTP_ATTR_PERMISSIONS;
        a.permissions = x->mode;
        if (x->has_times) {
            a.flags |= XSSH_SFTP_ATTR_ACMODTIME;
            a.atime = x->atime;
            a.mtime = x->mtime;
        }
        return xssh_sftp_setstat(t->sf, dst, &a);
    }
    if (chmod(dst, (mode_t)x->mode) != 0)
        return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP get_tree: cannot set the mode of the local file '%s': %s", dst,
                          strerror(errno));
    if (x->has_times) {
        struct timespec ts[2] = {{(time_t)x->atime, 0}, {(time_t)x->mtime, 0}};
        if (utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) != 0)
            return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP get_tree: cannot set the times of the local file '%s': %s",
                              dst, strerror(errno));
    }
    return XSSH_OK;
}

/* ---- files ---------------------------------------------------------------------------- */

/* Hand a report to the callback; nonzero: stop this file (the tree is being
   cancelled or another file failed). */
static int report(tree *t, const tnode *x, uint64_t done, uint64_t total)
{
    if (t->cancel_req || t->stop)
        return 1;
    if (!t->o.progress)
        return 0;
    t->prog.path = x->rel;
    t->prog.file_done = done;
    t->prog.file_total = total;
    if (!t->queued) {
        if (t->o.progress(&t->prog, t->o.userdata) != 0) {
            t->cancel_req = 1;
            if (t->fail_index == -1)
                t->fail_index = -2;
            return 1;
        }
        return 0;
    }
    /* queued mode: the callback runs on the caller's own stack (run_files) */
    if (t->nq == t->capq) {
        size_t nc = t->capq ? t->capq * 2 : 64;
        struct report *n = realloc(t->q, nc * sizeof *n);
        if (!n) {
            t->oom = 1;
            t->stop = 1;
            return 1;
        }
        t->q = n;
        t->capq = nc;
    }
    t->q[t->nq++].p = t->prog;
    return 0;
}

static int file_progress(uint64_t done, uint64_t total, void *ud)
{
    ftask *f = ud;
    tree *t = f->t;
    if (done > f->last)
        t->prog.bytes_done += done - f->last;
    f->last = done;
    return report(t, f->node, done, total == XSSH_SIZE_UNKNOWN ? f->node->size : total);
}

static int file_task2(tree *t, tnode *x);

/* One file. Never fails towards the scheduler: the first failure is kept in
   the tree and the other files stop at their next progress report (a clean
   stop: handle closed, temporary file removed). Cancelling an operation of the
   multi in the middle of an SFTP request would leave libssh2's request state
   machine of the shared SFTP object half-way (the next request of that type
   would take the stale answer), so the tree never does. */
static int file_task(void *ctx, size_t i)
{
    tree *t = ctx;
    if (t->stop || t->cancel_req)
        return XSSH_OK; /* not started: the tree is stopping */
    /* a task may run on its own stack (multi.c), whose thread-locals start afresh */
    int prev = xssh__sftp_force_blocking(1);
    int rc = file_task2(t, t->files[i]);
    xssh__sftp_force_blocking(prev);
    if (rc != XSSH_OK) {
        if (t->fail_index == -1) {
            t->fail_index = (long)i;
            xssh__err_save(&t->fail);
        }
        t->stop = 1;
    }
    return XSSH_OK;
}

static int file_task2(tree *t, tnode *x)
{
    char *src = join(t->src, x->rel), *dst = join(t->dst, x->rel);
    if (!src || !dst) {
        free(src);
        free(dst);
        return oom(t);
    }
    xssh_transfer_opts fo;
    if (t->o.file)
        fo = *t->o.file;
    else
        memset(&fo, 0, sizeof fo);
    ftask f = {t, x, 0};
    fo.progress = file_progress; /* also how a file learns that the tree stops */
    fo.userdata = &f;
    if (t->o.preserve)
        fo.mode = (long)(x->mode & 0777);
    int rc = XSSH_OK;
    uint64_t moved = 0;
    if (t->put) {
        rc = xssh_sftp_put(t->sf, src, dst, &fo, &moved);
    } else {
        struct stat st;
        if (lstat(dst, &st) == 0 && S_ISDIR(st.st_mode))
            rc = xssh__fail(t->s, XSSH_EFILE, 0, "SFTP get_tree '%s': cannot write the local file '%s': a directory "
                            "is in the way", src, dst);
        else if (lstat(dst, &st) == 0 && S_ISLNK(st.st_mode) && unlink(dst) != 0)
            rc = xssh__fail(t->s, XSSH_EFILE, 0, "SFTP get_tree '%s': cannot replace the local link '%s': %s", src,
                            dst, strerror(errno));
        if (rc == XSSH_OK)
            rc = xssh_sftp_get(t->sf, src, dst, &fo, &moved);
    }
    if (rc == XSSH_OK && t->o.preserve)
        rc = set_attrs(t, x, dst);
    if (rc == XSSH_OK) {
        /* the walk's size may have changed meanwhile: the totals follow what moved */
        if (moved > f.last)
            t->prog.bytes_done += moved - f.last;
        if (moved != x->size)
            t->prog.bytes_total = t->prog.bytes_total - x->size + moved;
        t->prog.files_done++;
        if (t->st) {
            t->st->files++;
            t->st->bytes += moved;
        }
        if (report(t, x, moved, moved))
            rc = xssh__fail(t->s, XSSH_ECANCELLED, 0, "SFTP %s: cancelled by the progress callback after '%s'",
                            t->fn, x->rel);
    } else if (t->st) {
        t->st->bytes += moved;
    }
    free(src);
    free(dst);
    return rc;
}

/* ---- links ----------------------------------------------------------------------------- */

static int make_link(tree *t, const tnode *x)
{
    char *dst = join(t->dst, x->rel);
    if (!dst)
        return oom(t);
    int rc;
    if (t->put) {
        rc = xssh_sftp_symlink(t->sf, x->target, dst);
        if (rc != XSSH_OK) {
            xssh__saved_err se;
            xssh__err_save(&se);
            xssh_sftp_attrs a;
            /* an older link there is replaced; anything else is in the way */
            if (xssh_sftp_lstat(t->sf, dst, &a) == XSSH_OK &&
                (a.permissions & XSSH_SFTP_S_IFMT) == XSSH_SFTP_S_IFLNK && xssh_sftp_unlink(t->sf, dst) == XSSH_OK)
                rc = xssh_sftp_symlink(t->sf, x->target, dst);
            else
                xssh__err_restore(t->s, &se);
        }
    } else {
        rc = XSSH_OK;
        if (symlink(x->target, dst) != 0) {
            int en = errno;
            struct stat st;
            if (en == EEXIST && lstat(dst, &st) == 0 && S_ISLNK(st.st_mode) && unlink(dst) == 0 &&
                symlink(x->target, dst) == 0)
                en = 0;
            if (en)
                rc = xssh__fail(t->s, XSSH_EFILE, 0, "SFTP get_tree: cannot create the local link '%s': %s", dst,
                                en == EEXIST ? "something that is not a link is in the way" : strerror(en));
        }
    }
    if (rc == XSSH_OK && t->st)
        t->st->symlinks++;
    free(dst);
    return rc;
}

/* ---- the files, several at once ------------------------------------------------------------ */

typedef struct call_ctx {
    tree *t;
    size_t i;
} call_ctx;

static int call_file(xssh_multi_op *op, void *ud)
{
    (void)op;
    call_ctx *c = ud;
    return file_task(c->t, c->i);
}

/* Deliver the queued reports on this (the caller's) stack. */
static void drain(tree *t)
{
    for (size_t k = 0; k < t->nq; k++)
        if (!t->cancel_req && t->o.progress(&t->q[k].p, t->o.userdata) != 0) {
            t->cancel_req = 1;
            if (t->fail_index == -1)
                t->fail_index = -2;
        }
    t->nq = 0;
}

/* The regular files, files_in_flight at once on their own stacks (multi.c).
   Without a progress callback, or when already inside a multi operation, that
   is xssh__parallel() (a callback then runs on the task's stack). Otherwise
   the tree drives a private multi itself so that the caller's callback always
   runs on the caller's own stack (language runtimes such as Ruby's check and
   scan the machine stack): the tasks queue their reports and this loop hands
   them over between scheduler steps. */
static int run_files(tree *t, int width)
{
    t->fail_index = -1;
    int rc = XSSH_OK;
    if (t->nfiles == 0) {
        /* nothing */
    } else if (!t->o.progress || xssh__fiber_self()) {
        rc = xssh__parallel(t->nfiles, width, file_task, t);
    } else {
        xssh_multi *m = NULL;
        rc = xssh_multi_new(&m);
        if (rc)
            return rc;
        xssh_multi_set_max_running(m, width);
        call_ctx *cc = calloc(t->nfiles, sizeof *cc);
        if (!cc) {
            xssh_multi_unref(m);
            return oom(t);
        }
        t->queued = 1;
        for (size_t k = 0; k < t->nfiles && rc == XSSH_OK; k++) {
            cc[k].t = t;
            cc[k].i = k;
            rc = xssh_multi_add_call(m, NULL, call_file, &cc[k], NULL, NULL);
        }
        int running = 0;
        if (rc == XSSH_OK)
            rc = xssh_multi_perform(m, &running);
        while (rc == XSSH_OK) {
            drain(t);
            if (running == 0)
                break;
            rc = xssh_multi_wait(m, -1, &running);
        }
        t->queued = 0;
        xssh_multi_unref(m); /* nothing is left running unless the multi itself failed */
        free(cc);
    }
    if (rc)
        return rc;
    if (t->fail_index == -2)
        return xssh__fail(t->s, XSSH_ECANCELLED, 0, "SFTP %s: cancelled by the progress callback after %llu files",
                          t->fn, (unsigned long long)t->prog.files_done);
    if (t->fail_index >= 0)
        return xssh__err_restore(t->s, &t->fail);
    if (t->oom)
        return oom(t);
    return xssh__ok();
}

/* ---- the transfers ----------------------------------------------------------------------- */

static int run_tree(tree *t)
{
    int rc;
    /* 1. walk */
    if (t->put) {
        struct stat st;
        if (stat(t->src, &st) != 0)
            return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP put_tree: cannot read the local directory '%s': %s", t->src,
                              strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return xssh__fail(t->s, XSSH_EFILE, 0, "SFTP put_tree: the local path '%s' is not a directory", t->src);
        rc = walk_local(t, t->src, "", &st, 0);
    } else {
        xssh_sftp_attrs a;
        rc = xssh_sftp_stat(t->sf, t->src, &a);
        if (rc)
            return rc;
        if ((a.permissions & XSSH_SFTP_S_IFMT) != XSSH_SFTP_S_IFDIR)
            return tfail(t->s, XSSH_ESFTP_NOT_A_DIRECTORY, 0, 19,
                         "SFTP get_tree: the remote path '%s' is not a directory", t->src);
        char *real = NULL;
        rc = xssh_sftp_realpath(t->sf, t->src, &real);
        if (rc)
            return rc;
        char *own = xssh__strdup(real);
        xssh_free(real);
        if (!own || push_name(&t->canon, &t->ncanon, &t->capcanon, own)) {
            free(own);
            return oom(t);
        }
        rc = walk_remote(t, t->src, "", own, &a, 0);
    }
    /* followed links to directories: each directory is entered once (a loop ends) */
    for (size_t i = 0; rc == XSSH_OK && i < t->ndefer; i++) {
        struct deferred d = t->defer[i]; /* a copy: walking may grow t->defer */
        if (t->put) {
            if (!local_seen(t, &d.st))
                rc = walk_local(t, d.abs, d.rel, &d.st, d.depth);
        } else if (!remote_seen(t, d.canon)) {
            char *own = xssh__strdup(d.canon);
            if (!own || push_name(&t->canon, &t->ncanon, &t->capcanon, own)) {
                free(own);
                rc = oom(t);
            } else {
                rc = walk_remote(t, d.abs, d.rel, own, &d.a, d.depth);
            }
        }
    }
    if (rc)
        return rc;
    size_t nfiles = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].kind == N_FILE) {
            nfiles++;
            t->prog.bytes_total += t->v[i].size;
        }
    t->prog.files_total = nfiles;
    t->files = malloc((nfiles ? nfiles : 1) * sizeof *t->files);
    if (!t->files)
        return oom(t);
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].kind == N_FILE)
            t->files[t->nfiles++] = &t->v[i];
    /* 2. directories (pre-order: parents first), files, links */
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].kind != N_DIR)
            continue;
        char *dst = join(t->dst, t->v[i].rel);
        if (!dst)
            return oom(t);
        rc = t->put ? remote_mkdir(t, dst, dir_mode(t, &t->v[i])) : local_mkdir(t, dst, dir_mode(t, &t->v[i]));
        free(dst);
        if (rc)
            return rc;
        if (t->st)
            t->st->directories++;
    }
    int width = t->o.files_in_flight ? t->o.files_in_flight : DEFAULT_IN_FLIGHT;
    rc = run_files(t, width);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].kind == N_LINK && (rc = make_link(t, &t->v[i])) != XSSH_OK)
            return rc;
    /* 3. directories' own modes and times, deepest (last) first */
    if (t->o.preserve)
        for (size_t i = t->n; i-- > 0;) {
            if (t->v[i].kind != N_DIR)
                continue;
            char *dst = join(t->dst, t->v[i].rel);
            if (!dst)
                return oom(t);
            rc = set_attrs(t, &t->v[i], dst);
            free(dst);
            if (rc)
                return rc;
        }
    return xssh__ok();
}

static void tree_free(tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].rel);
        free(t->v[i].target);
    }
    free(t->v);
    free(t->ids);
    free_names(t->canon, t->ncanon);
    free(t->files);
    for (size_t i = 0; i < t->ndefer; i++) {
        free(t->defer[i].abs);
        free(t->defer[i].rel);
        free(t->defer[i].canon);
    }
    free(t->defer);
    free(t->q);
}

static int tree_common(xssh_sftp *sf, int put, const char *src, const char *dst, const xssh_tree_opts *opts,
                       xssh_tree_stats *stats)
{
    const char *fn = put ? "xssh_sftp_put_tree" : "xssh_sftp_get_tree";
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!sf)
        return xssh__fail(NULL, XSSH_EARG, 0, "%s: invalid argument: sftp is NULL", fn);
    if (!src || !*src || !dst || !*dst)
        return xssh__fail(sf->s, XSSH_EARG, 0, "%s: invalid argument: %s is NULL or empty", fn,
                          (!src || !*src) ? (put ? "local_dir" : "remote_dir")
                                          : (put ? "remote_dir" : "local_dir"));
    if (opts && (opts->symlinks < XSSH_SYMLINKS_FOLLOW || opts->symlinks > XSSH_SYMLINKS_SKIP))
        return xssh__fail(sf->s, XSSH_EARG, 0,
                          "%s: invalid argument: symlinks must be XSSH_SYMLINKS_FOLLOW, _COPY or _SKIP (got %d)", fn,
                          opts->symlinks);
    if (opts && opts->files_in_flight < 0)
        return xssh__fail(sf->s, XSSH_EARG, 0, "%s: invalid argument: files_in_flight is negative (%d)", fn,
                          opts->files_in_flight);
    tree t;
    memset(&t, 0, sizeof t);
    t.sf = sf;
    t.s = sf->s;
    t.put = put;
    t.fn = put ? "put_tree" : "get_tree";
    t.src = src;
    t.dst = dst;
    if (opts)
        t.o = *opts;
    t.st = stats;
    int prev = xssh__sftp_force_blocking(1);
    int rc = run_tree(&t);
    xssh__sftp_force_blocking(prev);
    tree_free(&t);
    return rc;
}

int xssh_sftp_put_tree(xssh_sftp *sftp, const char *local_dir, const char *remote_dir, const xssh_tree_opts *opts,
                       xssh_tree_stats *stats)
{
    return tree_common(sftp, 1, local_dir, remote_dir, opts, stats);
}

int xssh_sftp_get_tree(xssh_sftp *sftp, const char *remote_dir, const char *local_dir, const xssh_tree_opts *opts,
                       xssh_tree_stats *stats)
{
    return tree_common(sftp, 0, remote_dir, local_dir, opts, stats);
}
