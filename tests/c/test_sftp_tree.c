/* SPDX-License-Identifier: BSD-3-Clause */
/* Directory trees over SFTP (xssh_sftp_put_tree / xssh_sftp_get_tree) against
 * the harness sshd, which runs on this machine: the remote tree is checked
 * with a local walk, byte for byte and entry for entry. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <limits.h>
#include <unistd.h>

#include "fixture.h"

static xssh_sftp *sftp_of(xssh_session *s)
{
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "sftp_new: %s", last_msg());
    return sf;
}

static void mkdir_p(const char *p)
{
    cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

static char *cat(const char *a, const char *b)
{
    char *p = NULL;
    cr_assert_geq(asprintf(&p, "%s/%s", a, b), 0);
    return p;
}

/* deterministic bytes (xorshift) */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void set_time(const char *p, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t + 7, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0, "utimensat %s: %s", p, strerror(errno));
}

#define OLD_TIME 1000000000 /* 2001: far from "now" */

typedef struct made {
    int files, dirs, links;
    uint64_t bytes;
} made;

/* A tree of nfiles files: mostly small (0 to 8 KiB, some empty), every 100th
   1-3 MiB; names with spaces, UTF-8 and bytes that are not UTF-8; modes
   0600/0640/0644/0755 and times in 2001; an empty directory (and an empty one
   nested); a relative link to a file; a link to a directory of the tree and a
   link to its own parent (a loop). */
static made make_tree(const char *root, int nfiles)
{
    made m = {0, 0, 0, 0};
    mkdir_p(root);
    m.dirs++;
    static const char *dnames[] = {"d0", "dir with space", "d\xc3\xa9j\xc3\xa0 \xe6\x97\xa5\xe6\x9c\xac", "raw\xff\xfe",
                                   "d4"};
    static const unsigned modes[] = {0600, 0640, 0644, 0755};
    size_t nd = sizeof dnames / sizeof dnames[0];
    char *dirs[5][3];
    for (size_t d = 0; d < nd; d++) {
        dirs[d][0] = cat(root, dnames[d]);
        mkdir_p(dirs[d][0]);
        dirs[d][1] = cat(dirs[d][0], "sub");
        mkdir_p(dirs[d][1]);
        dirs[d][2] = cat(dirs[d][1], "deeper");
        mkdir_p(dirs[d][2]);
        m.dirs += 3;
    }
    size_t big = xt_size(3u << 20);
    unsigned char *buf = malloc(big + 8192 + (size_t)nfiles + 1); /* the largest n below */
    for (int i = 0; i < nfiles; i++) {
        size_t n;
        if (i % 100 == 7)
            n = big / 3 + (size_t)(i % 3) * (big / 3) + (size_t)i;
        else if (i % 17 == 0)
            n = 0;
        else
            n = (size_t)((i * 7919u) % 8192u);
        char name[64];
        if (i % 10 == 3)
            snprintf(name, sizeof name, "file %04d \xe2\x82\xac.txt", i);
        else if (i % 10 == 5)
            snprintf(name, sizeof name, "f\xff%04d", i);
        else
            snprintf(name, sizeof name, "f%04d", i);
        char *p = cat(dirs[i % nd][(i / (int)nd) % 3], name);
        fill(buf, n, (unsigned)i);
        xt_spit(p, buf, n, modes[i % 4]);
        chmod(p, modes[i % 4]);
        set_time(p, OLD_TIME + i);
        m.files++;
        m.bytes += n;
        free(p);
    }
    free(buf);
    char *e = cat(root, "empty"), *e2 = cat(dirs[1][1], "empty too");
    mkdir_p(e);
    mkdir_p(e2);
    m.dirs += 2;
    char *l1 = cat(root, "link to file"), *l2 = cat(root, "link-dir"), *l3 = cat(dirs[0][2], "loop");
    cr_assert_eq(symlink("d0/f0000", l1), 0);
    cr_assert_eq(symlink("d4", l2), 0);
    cr_assert_eq(symlink("..", l3), 0);
    m.links = 3;
    set_time(e, OLD_TIME);
    set_time(e2, OLD_TIME);
    for (size_t d = 0; d < nd; d++)
        for (int k = 2; k >= 0; k--) {
            set_time(dirs[d][k], OLD_TIME + 100 + (time_t)d);
            free(dirs[d][k]);
        }
    chmod(e2, 0700);
    free(e);
    free(e2);
    free(l1);
    free(l2);
    free(l3);
    return m;
}

/* ---- comparing two trees with a walk ---- */

typedef struct entry {
    char *rel;
    struct stat st;
    char *target; /* links */
} entry;

typedef struct listing {
    entry *v;
    size_t n, cap;
} listing;

static void walk(const char *root, const char *rel, listing *l)
{
    char *abs = *rel ? cat(root, rel) : strdup(root);
    DIR *d = opendir(abs);
    cr_assert_not_null(d, "opendir %s: %s", abs, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *crel = *rel ? cat(rel, de->d_name) : strdup(de->d_name);
        char *full = cat(root, crel);
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 256;
            l->v = realloc(l->v, l->cap * sizeof *l->v);
        }
        entry *e = &l->v[l->n++];
        memset(e, 0, sizeof *e);
        e->rel = crel;
        cr_assert_eq(lstat(full, &e->st), 0);
        if (S_ISLNK(e->st.st_mode)) {
            char t[4096];
            ssize_t k = readlink(full, t, sizeof t - 1);
            cr_assert_geq(k, 0);
            t[k] = 0;
            e->target = strdup(t);
        } else if (S_ISDIR(e->st.st_mode)) {
            walk(root, crel, l);
        }
        free(full);
    }
    closedir(d);
    free(abs);
}

static int cmp_entry(const void *a, const void *b) { return strcmp(((const entry *)a)->rel, ((const entry *)b)->rel); }

static listing list_tree(const char *root)
{
    listing l = {NULL, 0, 0};
    walk(root, "", &l);
    qsort(l.v, l.n, sizeof *l.v, cmp_entry);
    return l;
}

static void free_listing(listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].rel);
        free(l->v[i].target);
    }
    free(l->v);
}

static int same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = xt_slurp(a, &na), *y = xt_slurp(b, &nb);
    int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

enum { CMP_MODES = 1, CMP_TIMES = 2 };

/* b is a copy of a: same names, types, link targets, bytes; modes/times as asked */
static void assert_same_tree(const char *a, const char *b, int what)
{
    listing la = list_tree(a), lb = list_tree(b);
    for (size_t i = 0; i < la.n && i < lb.n; i++)
        cr_assert_str_eq(la.v[i].rel, lb.v[i].rel, "entry %zu differs: '%s' vs '%s'", i, la.v[i].rel, lb.v[i].rel);
    cr_assert_eq(la.n, lb.n, "%zu entries in %s, %zu in %s", la.n, a, lb.n, b);
    for (size_t i = 0; i < la.n; i++) {
        entry *x = &la.v[i], *y = &lb.v[i];
        cr_assert_eq(x->st.st_mode & S_IFMT, y->st.st_mode & S_IFMT, "type of '%s'", x->rel);
        if (S_ISLNK(x->st.st_mode)) {
            cr_assert_str_eq(x->target, y->target, "link '%s'", x->rel);
            continue;
        }
        if (S_ISREG(x->st.st_mode)) {
            cr_assert_eq(x->st.st_size, y->st.st_size, "size of '%s'", x->rel);
            char *pa = cat(a, x->rel), *pb = cat(b, y->rel);
            cr_assert(same_bytes(pa, pb), "bytes of '%s'", x->rel);
            free(pa);
            free(pb);
        }
        if (what & CMP_MODES)
            cr_assert_eq(x->st.st_mode & 07777, y->st.st_mode & 07777, "mode of '%s': %o vs %o", x->rel,
                         (unsigned)(x->st.st_mode & 07777), (unsigned)(y->st.st_mode & 07777));
        if (what & CMP_TIMES)
            cr_assert_eq(x->st.st_mtim.tv_sec, y->st.st_mtim.tv_sec, "mtime of '%s'", x->rel);
    }
    free_listing(&la);
    free_listing(&lb);
}

/* ---- progress ---- */

typedef struct prog_log {
    int calls;
    uint64_t files_done, files_total, bytes_done, bytes_total;
    int monotonic_ok, within_ok;
    int cancel_after_files; /* >0: cancel once files_done reaches it */
    char last_path[512];
} prog_log;

static int on_progress(const xssh_tree_progress *p, void *ud)
{
    prog_log *l = ud;
    if (l->calls && (p->files_done < l->files_done || p->bytes_done < l->bytes_done))
        l->monotonic_ok = 0;
    if (p->files_done > p->files_total || p->file_done > p->file_total || !p->path)
        l->within_ok = 0;
    l->calls++;
    l->files_done = p->files_done;
    l->files_total = p->files_total;
    l->bytes_done = p->bytes_done;
    l->bytes_total = p->bytes_total;
    snprintf(l->last_path, sizeof l->last_path, "%s", p->path ? p->path : "(null)");
    return l->cancel_after_files && p->files_done >= (uint64_t)l->cancel_after_files;
}

static int tree_files(void) { return xt_valgrind() ? 60 : 1000; }

/* ---- the tests ---- */

Test(sftp_tree, put_get_1000_preserve_copy_links, .timeout = 600)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *src = xt_tmppath("tree-src"), *rem = xt_tmppath("tree-remote"), *back = xt_tmppath("tree-back");
    int nf = tree_files();
    made m = make_tree(src, nf);
    prog_log pl = {0};
    pl.monotonic_ok = pl.within_ok = 1;
    xssh_transfer_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.atomic = 1;
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.progress = on_progress;
    o.userdata = &pl;
    o.preserve = 1;
    o.symlinks = XSSH_SYMLINKS_COPY;
    o.files_in_flight = 4;
    o.file = &fo;
    xssh_tree_stats st;
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem, &o, &st), XSSH_OK, "put_tree: %s", last_msg());
    cr_assert_eq(st.files, (uint64_t)m.files);
    cr_assert_eq(st.directories, (uint64_t)m.dirs, "dirs %llu, made %d", (unsigned long long)st.directories, m.dirs);
    cr_assert_eq(st.symlinks, (uint64_t)m.links);
    cr_assert_eq(st.bytes, m.bytes);
    cr_assert(pl.monotonic_ok && pl.within_ok);
    cr_assert_eq(pl.files_done, (uint64_t)nf);
    cr_assert_eq(pl.files_total, (uint64_t)nf);
    cr_assert_eq(pl.bytes_total, m.bytes);
    cr_assert_eq(pl.bytes_done, m.bytes);
    cr_assert_geq(pl.calls, 2 * nf);
    assert_same_tree(src, rem, CMP_MODES | CMP_TIMES);

    memset(&pl, 0, sizeof pl);
    pl.monotonic_ok = pl.within_ok = 1;
    cr_assert_eq(xssh_sftp_get_tree(sf, rem, back, &o, &st), XSSH_OK, "get_tree: %s", last_msg());
    cr_assert_eq(st.files, (uint64_t)m.files);
    cr_assert_eq(st.directories, (uint64_t)m.dirs);
    cr_assert_eq(st.symlinks, (uint64_t)m.links);
    cr_assert_eq(st.bytes, m.bytes);
    cr_assert(pl.monotonic_ok && pl.within_ok);
    cr_assert_eq(pl.files_done, (uint64_t)nf);
    cr_assert_eq(pl.bytes_done, m.bytes);
    cr_assert_eq(pl.bytes_total, m.bytes);
    assert_same_tree(src, back, CMP_MODES | CMP_TIMES);

    /* again into the existing trees: merged, same result */
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem, &o, &st), XSSH_OK, "put_tree again: %s", last_msg());
    cr_assert_eq(xssh_sftp_get_tree(sf, rem, back, &o, &st), XSSH_OK, "get_tree again: %s", last_msg());
    assert_same_tree(src, back, CMP_MODES | CMP_TIMES);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    free(src);
    free(rem);
    free(back);
}

Test(sftp_tree, preserve_off_uses_defaults, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *src = xt_tmppath("np-src"), *rem = xt_tmppath("np-remote"), *back = xt_tmppath("np-back");
    made m = make_tree(src, 40);
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.symlinks = XSSH_SYMLINKS_COPY;
    xssh_tree_stats st;
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem, &o, &st), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_get_tree(sf, rem, back, &o, &st), XSSH_OK, "%s", last_msg());
    cr_assert_eq(st.files, (uint64_t)m.files);
    assert_same_tree(src, rem, 0);
    assert_same_tree(src, back, 0);
    listing l = list_tree(back);
    for (size_t i = 0; i < l.n; i++) {
        entry *e = &l.v[i];
        if (S_ISLNK(e->st.st_mode))
            continue;
        /* defaults: files 0644, directories 0755 (umask 022); times of the copy, not 2001 */
        unsigned want = S_ISDIR(e->st.st_mode) ? 0755 : 0644;
        cr_assert_eq(e->st.st_mode & 07777, want, "mode of '%s' is %o", e->rel, (unsigned)(e->st.st_mode & 07777));
        cr_assert_gt(e->st.st_mtim.tv_sec, OLD_TIME + 100000, "mtime of '%s' was copied", e->rel);
    }
    free_listing(&l);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    free(src);
    free(rem);
    free(back);
}

static int is_link(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

Test(sftp_tree, symlinks_follow_and_skip, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *src = xt_tmppath("sl-src");
    make_tree(src, 20);
    /* a link to a directory outside the tree: followed, its contents copied */
    char *outside = xt_tmppath("sl-outside"), *ofile = cat(outside, "o.txt"), *olink = cat(src, "outside");
    mkdir_p(outside);
    xt_spit(ofile, "outside", 7, 0644);
    cr_assert_eq(symlink(outside, olink), 0);
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.symlinks = XSSH_SYMLINKS_FOLLOW;
    for (int dir = 0; dir < 2; dir++) {
        char *dst = xt_tmppath(dir ? "sl-follow-get" : "sl-follow-put");
        xssh_tree_stats st;
        int rc = dir ? xssh_sftp_get_tree(sf, src, dst, &o, &st) : xssh_sftp_put_tree(sf, src, dst, &o, &st);
        cr_assert_eq(rc, XSSH_OK, "follow (%s): %s", dir ? "get" : "put", last_msg());
        cr_assert_eq(st.symlinks, 0);
        char *lf = cat(dst, "link to file"), *f0 = cat(src, "d0/f0000"), *ld = cat(dst, "link-dir"),
             *loop = cat(dst, "d0/sub/deeper/loop"), *oc = cat(dst, "outside/o.txt");
        cr_assert(!is_link(lf) && same_bytes(lf, f0), "the link to a file became the file");
        /* d4 is in the tree already: not entered twice; the loop ends */
        cr_assert_neq(access(ld, F_OK), 0, "link-dir copied although d4 is in the tree");
        cr_assert_neq(access(loop, F_OK), 0, "the loop was entered");
        cr_assert(!is_link(oc) && same_bytes(oc, ofile), "the outside directory's file");
        free(lf);
        free(f0);
        free(ld);
        free(loop);
        free(oc);
        free(dst);
    }
    o.symlinks = XSSH_SYMLINKS_SKIP;
    for (int dir = 0; dir < 2; dir++) {
        char *dst = xt_tmppath(dir ? "sl-skip-get" : "sl-skip-put");
        xssh_tree_stats st;
        int rc = dir ? xssh_sftp_get_tree(sf, src, dst, &o, &st) : xssh_sftp_put_tree(sf, src, dst, &o, &st);
        cr_assert_eq(rc, XSSH_OK, "skip: %s", last_msg());
        cr_assert_eq(st.symlinks, 0);
        listing l = list_tree(dst);
        for (size_t i = 0; i < l.n; i++)
            cr_assert(!S_ISLNK(l.v[i].st.st_mode), "'%s' is a link", l.v[i].rel);
        cr_assert_eq(st.files, 20);
        free_listing(&l);
        free(dst);
    }
    /* a dangling link cannot be followed: the error names it */
    char *dang = cat(src, "dangling");
    cr_assert_eq(symlink("no such target", dang), 0);
    o.symlinks = XSSH_SYMLINKS_FOLLOW;
    char *dst = xt_tmppath("sl-dangling");
    int rc = xssh_sftp_put_tree(sf, src, dst, &o, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), dang), "%s", last_msg());
    rc = xssh_sftp_get_tree(sf, src, dst, &o, NULL);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), dang), "%s", last_msg());
    free(dst);
    free(dang);
    free(outside);
    free(ofile);
    free(olink);
    free(src);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_tree, errors_name_the_path, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    /* a missing local directory */
    char *missing = xt_tmppath("no-such-dir"), *rem = xt_tmppath("err-remote");
    int rc = xssh_sftp_put_tree(sf, missing, rem, NULL, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), missing) && strstr(last_msg(), "No such file"), "%s", last_msg());
    /* a missing remote directory */
    rc = xssh_sftp_get_tree(sf, missing, rem, NULL, NULL);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), missing), "%s", last_msg());
    /* a remote file where the tree has a directory */
    char *src = xt_tmppath("err-src"), *sub = cat(src, "sub"), *f = cat(sub, "f");
    mkdir_p(src);
    mkdir_p(sub);
    xt_spit(f, "x", 1, 0644);
    mkdir_p(rem);
    char *rsub = cat(rem, "sub");
    xt_spit(rsub, "in the way", 10, 0644);
    xssh_tree_stats st;
    rc = xssh_sftp_put_tree(sf, src, rem, NULL, &st);
    cr_assert_eq(rc, XSSH_ESFTP_FILE_ALREADY_EXISTS, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), rsub) && strstr(last_msg(), "in the way"), "%s", last_msg());
    cr_assert_eq(st.files, 0);
    /* a local file where the remote tree has a directory */
    char *back = xt_tmppath("err-back"), *bsub = cat(back, "sub");
    mkdir_p(back);
    xt_spit(bsub, "in the way", 10, 0644);
    rc = xssh_sftp_get_tree(sf, src, back, NULL, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), bsub) && strstr(last_msg(), "in the way"), "%s", last_msg());
    /* a local directory where the remote tree has a file */
    unlink(bsub);
    char *bf = cat(bsub, "f");
    mkdir_p(bsub);
    mkdir_p(bf);
    rc = xssh_sftp_get_tree(sf, src, back, NULL, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), bf) && strstr(last_msg(), "directory"), "%s", last_msg());
    /* a local path that is a file */
    rc = xssh_sftp_put_tree(sf, f, rem, NULL, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), f) && strstr(last_msg(), "not a directory"), "%s", last_msg());
    /* arguments */
    cr_assert_eq(xssh_sftp_put_tree(NULL, src, rem, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_sftp_get_tree(sf, "", back, NULL, NULL), XSSH_EARG);
    cr_assert(strstr(last_msg(), "remote_dir"), "%s", last_msg());
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.symlinks = 7;
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem, &o, NULL), XSSH_EARG);
    cr_assert(strstr(last_msg(), "symlinks"), "%s", last_msg());
    o.symlinks = 0;
    o.files_in_flight = -1;
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem, &o, NULL), XSSH_EARG);
    free(missing);
    free(rem);
    free(src);
    free(sub);
    free(f);
    free(rsub);
    free(back);
    free(bsub);
    free(bf);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_tree, permission_denied_non_root, .timeout = 120)
{
    if (!xt_have_password())
        cr_skip_test("no password account (not running as root)");
    /* as the unprivileged account: a root-only directory in the tree to get, and
       a root-owned destination to put into */
    char tmpl[] = "/tmp/xssh-tree-priv-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    chmod(tmpl, 0755);
    char *open_dir = cat(tmpl, "open"), *secret = cat(tmpl, "open/secret"), *sf1 = cat(tmpl, "open/secret/f");
    char *pub = cat(tmpl, "open/pub.txt");
    mkdir_p(open_dir);
    mkdir_p(secret);
    xt_spit(sf1, "s", 1, 0600);
    xt_spit(pub, "p", 1, 0644);
    chmod(secret, 0700);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_password(s, xt()->pw_user, xt()->password), XSSH_OK, "%s", last_msg());
    xssh_sftp *sf = sftp_of(s);
    char dl[] = "/tmp/xssh-tree-dl-XXXXXX";
    cr_assert_not_null(mkdtemp(dl));
    char *dst = cat(dl, "copy");
    int rc = xssh_sftp_get_tree(sf, open_dir, dst, NULL, NULL);
    cr_assert_eq(rc, XSSH_ESFTP_PERMISSION_DENIED, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), secret), "%s", last_msg());
    /* put into a directory the account may not write */
    char *into = cat(tmpl, "open/newdir");
    rc = xssh_sftp_put_tree(sf, open_dir, into, NULL, NULL);
    cr_assert_eq(rc, XSSH_ESFTP_PERMISSION_DENIED, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), into), "%s", last_msg());
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", tmpl, dl);
    cr_assert_eq(system(cmd), 0);
    free(open_dir);
    free(secret);
    free(sf1);
    free(pub);
    free(dst);
    free(into);
}

Test(sftp_tree, progress_cancels, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *src = xt_tmppath("cancel-src"), *rem = xt_tmppath("cancel-remote");
    make_tree(src, 30);
    prog_log pl = {0};
    pl.cancel_after_files = 5;
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.progress = on_progress;
    o.userdata = &pl;
    o.files_in_flight = 1;
    xssh_tree_stats st;
    int rc = xssh_sftp_put_tree(sf, src, rem, &o, &st);
    cr_assert_eq(rc, XSSH_ECANCELLED, "%d %s", rc, last_msg());
    /* files in flight learn of the cancel at their next report: at least the 5 */
    cr_assert_geq(st.files, 5);
    cr_assert_eq(pl.files_total, 31, "%llu", (unsigned long long)pl.files_total); /* + the followed link to a file */
    cr_assert_lt(pl.files_done, 31);
    /* the callback is not called again after it cancelled */
    cr_assert_eq(pl.files_done, 5, "%llu", (unsigned long long)pl.files_done);
    /* the SFTP object stays usable: the same tree again, completely */
    char *rem2 = xt_tmppath("cancel-remote2");
    pl.cancel_after_files = 0;
    o.files_in_flight = 8;
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem2, &o, &st), XSSH_OK, "%s", last_msg());
    cr_assert_eq(st.files, 31);
    free(rem2);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    free(src);
    free(rem);
}

/* an empty tree: the directory only, no progress call, stats count it */
Test(sftp_tree, empty_tree, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *src = xt_tmppath("empty-src"), *rem = xt_tmppath("empty-remote"), *back = xt_tmppath("empty-back");
    mkdir_p(src);
    prog_log pl = {0};
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.progress = on_progress;
    o.userdata = &pl;
    xssh_tree_stats st;
    cr_assert_eq(xssh_sftp_put_tree(sf, src, rem, &o, &st), XSSH_OK, "%s", last_msg());
    cr_assert_eq(st.directories, 1);
    cr_assert_eq(st.files, 0);
    cr_assert_eq(xssh_sftp_get_tree(sf, rem, back, &o, &st), XSSH_OK, "%s", last_msg());
    struct stat sb;
    cr_assert(stat(back, &sb) == 0 && S_ISDIR(sb.st_mode));
    cr_assert_eq(pl.calls, 0);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    free(src);
    free(rem);
    free(back);
}

/* a file failing while others are in flight: the first failure is reported,
   the others stop cleanly and the SFTP object stays usable */
Test(sftp_tree, failure_with_files_in_flight, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *src = xt_tmppath("fif-src"), *back = xt_tmppath("fif-back"), *good = xt_tmppath("fif-good");
    made m = make_tree(src, 60);
    /* a directory where f0010 (dirs[10 % 5][(10 / 5) % 3] = d0/sub/deeper) is to be written */
    char *blocker = cat(back, "d0/sub/deeper/f0010");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", blocker);
    cr_assert_eq(system(cmd), 0);
    xssh_tree_opts o;
    memset(&o, 0, sizeof o);
    o.files_in_flight = 8;
    o.symlinks = XSSH_SYMLINKS_COPY;
    prog_log pl = {0};
    for (int with_cb = 0; with_cb < 2; with_cb++) {
        o.progress = with_cb ? on_progress : NULL;
        o.userdata = &pl;
        xssh_tree_stats st;
        int rc = xssh_sftp_get_tree(sf, src, back, &o, &st);
        cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
        cr_assert(strstr(last_msg(), blocker) && strstr(last_msg(), "directory"), "%s", last_msg());
        cr_assert_lt(st.files, (uint64_t)m.files);
    }
    xssh_tree_stats st;
    cr_assert_eq(xssh_sftp_get_tree(sf, src, good, &o, &st), XSSH_OK, "%s", last_msg());
    cr_assert_eq(st.files, (uint64_t)m.files);
    assert_same_tree(src, good, 0);
    free(src);
    free(back);
    free(good);
    free(blocker);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* tests/harness/hostile_names_sftp_server.py: every listing holds one extra
   regular file named `name` */
static pid_t hostile_start(const char *root, const char *name, int *stdin_fd, int *port)
{
    char script[PATH_MAX];
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    cr_assert_not_null(slash);
    snprintf(slash, sizeof script - (size_t)(slash - script), "/../harness/hostile_names_sftp_server.py");
    int in[2], out[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl("/usr/bin/python3", "python3", script, "--root", root, "--name", name, "--lifetime", "120",
              (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    char line[32] = "";
    size_t n = 0;
    while (n < sizeof line - 1) { /* bounded: the server prints its port or exits */
        ssize_t r = read(out[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    *stdin_fd = in[1];
    *port = atoi(line);
    cr_assert_gt(*port, 0, "%s did not start (needs python3-asyncssh); said '%s'", script, line);
    return pid;
}

Test(sftp_tree, unsafe_remote_names_refused, .timeout = 120)
{
    static const char *names[] = {"../escape", "a/b", ""};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *root = xt_tmppath("hostile-root"), *sub = cat(root, "sub"), *f = cat(sub, "f");
        mkdir_p(root);
        mkdir_p(sub);
        xt_spit(f, "hi", 2, 0644);
        int in = -1, port = 0;
        pid_t pid = hostile_start(root, names[k], &in, &port);
        xssh_session *s = NULL;
        cr_assert_eq(xssh_session_new(&s), XSSH_OK);
        cr_assert_eq(xssh_session_connect(s, "127.0.0.1", port, 20000), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_OFF, NULL), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_session_userauth_password(s, "any", "any"), XSSH_OK, "%s", last_msg());
        xssh_session_set_timeout(s, 20000);
        xssh_sftp *sf = sftp_of(s);
        char *top = xt_tmppath("hostile-dst"), *dst = cat(top, "in");
        mkdir_p(top);
        xssh_tree_stats st;
        int rc = xssh_sftp_get_tree(sf, "/", dst, NULL, &st);
        if (*names[k]) {
            cr_assert_eq(rc, XSSH_ESFTP_PROTOCOL, "name '%s': %d %s", names[k], rc, last_msg());
            cr_assert(strstr(last_msg(), "unsafe entry name") && strstr(last_msg(), names[k]), "%s", last_msg());
            cr_assert_eq(st.files, 0);
        } else {
            /* libssh2 1.10's readdir answers 0 for an empty name as for the end of
               the listing: the listing ends there (this server lists it last) */
            cr_assert_eq(rc, XSSH_OK, "%d %s", rc, last_msg());
            char *got = cat(dst, "sub/f");
            cr_assert(same_bytes(got, f));
            free(got);
        }
        char *esc = cat(top, "escape");
        cr_assert_neq(access(esc, F_OK), 0, "written outside the destination");
        xssh_sftp_unref(sf);
        xssh_session_unref(s);
        close(in);
        int wst = 0;
        waitpid(pid, &wst, 0);
        free(esc);
        free(top);
        free(dst);
        free(root);
        free(sub);
        free(f);
    }
}

static int cut_at_bytes(const xssh_tree_progress *p, void *ud)
{
    return p->bytes_done >= *(uint64_t *)ud;
}

/* a tree cut midway (the tree callback cancels after 1 MiB), then sent again
   with the per-file resume: byte-exact, and the part already there is not sent again */
Test(sftp_tree, cut_then_resumed, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    for (int put = 1; put >= 0; put--) {
        char *src = xt_tmppath("res-src"), *dst = xt_tmppath("res-dst");
        char *sub = cat(src, "sub"), *small = cat(src, "small"), *big = cat(sub, "big"), *zz = cat(sub, "zz");
        mkdir_p(src);
        mkdir_p(sub);
        size_t nbig = xt_size(4u << 20) + 12345;
        unsigned char *b = malloc(nbig);
        fill(b, nbig, 5);
        xt_spit(small, b, 1000, 0644);
        xt_spit(big, b, nbig, 0644);
        xt_spit(zz, b + 7, 70000, 0644);
        uint64_t total = 1000 + nbig + 70000, cut = nbig / 4;
        xssh_transfer_opts fo;
        memset(&fo, 0, sizeof fo);
        fo.resume = 1;
        xssh_tree_opts o;
        memset(&o, 0, sizeof o);
        o.file = &fo;
        o.files_in_flight = 1;
        o.progress = cut_at_bytes;
        o.userdata = &cut;
        xssh_tree_stats st;
        int rc = put ? xssh_sftp_put_tree(sf, src, dst, &o, &st) : xssh_sftp_get_tree(sf, src, dst, &o, &st);
        cr_assert_eq(rc, XSSH_ECANCELLED, "%d %s", rc, last_msg());
        char *dbig = cat(dst, "sub/big");
        struct stat sb;
        cr_assert_eq(stat(dbig, &sb), 0);
        uint64_t partial = (uint64_t)sb.st_size;
        cr_assert_gt(partial, 0);
        o.progress = NULL;
        rc = put ? xssh_sftp_put_tree(sf, src, dst, &o, &st) : xssh_sftp_get_tree(sf, src, dst, &o, &st);
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        assert_same_tree(src, dst, 0);
        cr_assert_leq(st.bytes, total - partial, "%llu sent, %llu were there", (unsigned long long)st.bytes,
                      (unsigned long long)partial);
        free(b);
        free(dbig);
        free(src);
        free(dst);
        free(sub);
        free(small);
        free(big);
        free(zz);
    }
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}
