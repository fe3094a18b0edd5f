/* SPDX-License-Identifier: BSD-3-Clause */
/* SFTP subsystem, files, directories and path operations against the harness
 * sshd. The server runs on this machine, so remote paths are made inside the
 * harness directory and checked with local system calls too. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"


static xssh_sftp *sftp_of(xssh_session *s)
{
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "sftp_new: %s", last_msg());
    cr_assert_not_null(sf);
    return sf;
}

static void write_local(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static void fill_random(void *p, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY);
    cr_assert_geq(fd, 0);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        cr_assert_gt(r, 0);
        got += (size_t)r;
    }
    close(fd);
}

/* the error names the path, has the code and the SFTP status */
static void assert_sftp_error(int rc, int code, unsigned long status, const char *path)
{
    cr_assert_eq(rc, code, "rc %d (%s), wanted %d (%s): %s", rc, xssh_err_name(rc), code, xssh_err_name(code),
                 last_msg());
    cr_assert_eq(xssh_error_last()->code, code);
    cr_assert_eq((unsigned long)xssh_error_last()->sftp_status, status, "sftp_status %d", xssh_error_last()->sftp_status);
    cr_assert(strstr(last_msg(), path), "message lacks the path '%s': %s", path, last_msg());
}

Test(sftp, null_args, .timeout = 30)
{
    xssh_sftp *sf = (xssh_sftp *)1;
    cr_assert_eq(xssh_sftp_new(NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_sftp_new(&sf, NULL), XSSH_EARG);
    cr_assert_null(sf);
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(NULL, "/", &a), XSSH_EARG);
    cr_assert_eq(xssh_sftp_mkdir(NULL, "/x", 0755), XSSH_EARG);
    cr_assert_eq(xssh_sftp_file_close(NULL), XSSH_EARG);
    size_t n = 7;
    char buf[4];
    cr_assert_eq(xssh_sftp_file_read(NULL, buf, sizeof buf, &n), XSSH_EARG);
    cr_assert_eq(xssh_sftp_file_write(NULL, buf, sizeof buf, &n), XSSH_EARG);
    cr_assert_eq(n, 0);
    cr_assert_eq(xssh_sftp_get(NULL, "/a", "/b", NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_sftp_put_buffer(NULL, "x", 1, "/b", NULL, NULL), XSSH_EARG);
    xssh_sftp_unref(NULL);
    xssh_sftp_file_unref(NULL);
    cr_assert_null(xssh_sftp_ref(NULL));

    xssh_session *s = xt_connect_auth();
    sf = sftp_of(s);
    cr_assert_eq(xssh_sftp_stat(sf, NULL, &a), XSSH_EARG);
    cr_assert_eq(xssh_sftp_stat(sf, "", &a), XSSH_EARG);
    cr_assert_eq(xssh_sftp_stat(sf, "/", NULL), XSSH_EARG);
    xssh_sftp_file *f = (xssh_sftp_file *)1;
    cr_assert_eq(xssh_sftp_open(&f, sf, NULL, XSSH_FXF_READ, 0), XSSH_EARG);
    cr_assert_null(f);
    cr_assert_eq(xssh_sftp_open_ex(&f, sf, "/", 1, XSSH_FXF_READ, 0, 7), XSSH_EARG);
    char *out = (char *)1;
    cr_assert_eq(xssh_sftp_realpath(sf, NULL, &out), XSSH_EARG);
    cr_assert_null(out);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp, not_authenticated, .timeout = 30)
{
    xssh_session *s = xt_connect();
    xssh_sftp *sf = NULL;
    int rc = xssh_sftp_new(&sf, s);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_null(sf);
    cr_assert(strstr(last_msg(), "SFTP"), "%s", last_msg());
    xssh_session_unref(s);
}

Test(sftp, realpath_stat_lstat, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    const char *dir = xt()->dir;
    char *rp = NULL;
    cr_assert_eq(xssh_sftp_realpath(sf, dir, &rp), XSSH_OK, "%s", last_msg());
    char *local_rp = realpath(dir, NULL);
    cr_assert_str_eq(rp, local_rp);
    xssh_free(rp);
    char dotted[4096];
    snprintf(dotted, sizeof dotted, "%s/./.", dir);
    cr_assert_eq(xssh_sftp_realpath(sf, dotted, &rp), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(rp, local_rp);
    xssh_free(rp);
    free(local_rp);

    char *p = xt_tmppath("statme");
    unsigned char data[12345];
    fill_random(data, sizeof data);
    write_local(p, data, sizeof data);
    chmod(p, 0640);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    xssh_sftp_attrs a;
    memset(&a, 0xff, sizeof a);
    cr_assert_eq(xssh_sftp_stat(sf, p, &a), XSSH_OK, "%s", last_msg());
    cr_assert(a.flags & XSSH_SFTP_ATTR_SIZE);
    cr_assert(a.flags & XSSH_SFTP_ATTR_PERMISSIONS);
    cr_assert(a.flags & XSSH_SFTP_ATTR_UIDGID);
    cr_assert(a.flags & XSSH_SFTP_ATTR_ACMODTIME);
    cr_assert_eq(a.filesize, sizeof data);
    cr_assert_eq(a.permissions, (unsigned long)(XSSH_SFTP_S_IFREG | 0640), "perm %lo", a.permissions);
    cr_assert_eq(a.uid, (unsigned long)st.st_uid);
    cr_assert_eq(a.gid, (unsigned long)st.st_gid);
    cr_assert_eq(a.mtime, (unsigned long)st.st_mtime);

    xssh_sftp_attrs d;
    cr_assert_eq(xssh_sftp_stat(sf, dir, &d), XSSH_OK);
    cr_assert_eq(d.permissions & XSSH_SFTP_S_IFMT, XSSH_SFTP_S_IFDIR);

    /* symlink: stat follows, lstat does not; readlink gives the target */
    char *lnk = xt_tmppath("link");
    cr_assert_eq(xssh_sftp_symlink(sf, p, lnk), XSSH_OK, "%s", last_msg());
    char buf[4096];
    ssize_t n = readlink(lnk, buf, sizeof buf - 1);
    cr_assert_gt(n, 0, "no local symlink at %s", lnk);
    buf[n] = '\0';
    cr_assert_str_eq(buf, p);
    char *target = NULL;
    cr_assert_eq(xssh_sftp_readlink(sf, lnk, &target), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(target, p);
    xssh_free(target);
    xssh_sftp_attrs la, sa;
    cr_assert_eq(xssh_sftp_lstat(sf, lnk, &la), XSSH_OK);
    cr_assert_eq(la.permissions & XSSH_SFTP_S_IFMT, XSSH_SFTP_S_IFLNK);
    cr_assert_eq(xssh_sftp_stat(sf, lnk, &sa), XSSH_OK);
    cr_assert_eq(sa.permissions & XSSH_SFTP_S_IFMT, XSSH_SFTP_S_IFREG);
    cr_assert_eq(sa.filesize, sizeof data);
    char *rlink = NULL;
    cr_assert_eq(xssh_sftp_realpath(sf, lnk, &rlink), XSSH_OK);
    char *lr = realpath(p, NULL);
    cr_assert_str_eq(rlink, lr);
    free(lr);
    xssh_free(rlink);
    /* readlink of a regular file fails, naming it */
    int rc = xssh_sftp_readlink(sf, p, &target);
    cr_assert_lt(rc, 0);
    cr_assert_null(target);
    cr_assert(strstr(last_msg(), p), "%s", last_msg());

    unlink(lnk);
    unlink(p);
    free(lnk);
    free(p);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp, mkdir_rmdir_rename_unlink_errors, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *d = xt_tmppath("dir");
    cr_assert_eq(xssh_sftp_mkdir(sf, d, 0750), XSSH_OK, "%s", last_msg());
    struct stat st;
    cr_assert_eq(stat(d, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0750 & ~0); /* umask of sftp-server may clear bits; 0750 survives 022 */

    /* mkdir of an existing directory: failure (SFTP v3 has no 'already exists') */
    int rc = xssh_sftp_mkdir(sf, d, 0755);
    cr_assert_lt(rc, 0);
    cr_assert(rc == XSSH_ESFTP_FAILURE || rc == XSSH_ESFTP_FILE_ALREADY_EXISTS, "rc %d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), d), "%s", last_msg());
    unsigned long le = 0;
    cr_assert_eq(xssh_sftp_last_error(sf, &le), XSSH_OK);
    cr_assert_eq(-2000 - (long)le, rc);

    /* rmdir of a non-empty directory */
    char f1[4096];
    snprintf(f1, sizeof f1, "%s/inner", d);
    write_local(f1, "x", 1);
    rc = xssh_sftp_rmdir(sf, d);
    cr_assert(rc == XSSH_ESFTP_FAILURE || rc == XSSH_ESFTP_DIR_NOT_EMPTY, "rc %d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), d), "%s", last_msg());
    cr_assert_eq(stat(d, &st), 0);

    /* rename the file, then rename onto an existing file (v3: refused) */
    char f2[4096];
    snprintf(f2, sizeof f2, "%s/renamed", d);
    cr_assert_eq(xssh_sftp_rename(sf, f1, f2), XSSH_OK, "%s", last_msg());
    cr_assert_neq(access(f1, F_OK), 0);
    cr_assert_eq(access(f2, F_OK), 0);
    write_local(f1, "y", 1);
    rc = xssh_sftp_rename(sf, f1, f2);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(last_msg(), f1) && strstr(last_msg(), f2), "%s", last_msg());
    cr_assert_eq(xssh_sftp_rename_ex(sf, f2, f1, 0) < 0, 1);

    /* unlink both, then unlink a missing file: no such file, with the path */
    cr_assert_eq(xssh_sftp_unlink(sf, f1), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_unlink(sf, f2), XSSH_OK, "%s", last_msg());
    rc = xssh_sftp_unlink(sf, f2);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, f2);
    cr_assert_eq(xssh_sftp_last_error(sf, &le), XSSH_OK);
    cr_assert_eq(le, XSSH_FX_NO_SUCH_FILE);

    xssh_sftp_attrs a;
    rc = xssh_sftp_stat(sf, f2, &a);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, f2);
    xssh_sftp_file *f = NULL;
    rc = xssh_sftp_open(&f, sf, f2, XSSH_FXF_READ, 0);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, f2);
    cr_assert_null(f);
    rc = xssh_sftp_opendir(&f, sf, f2);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, f2);

    /* EXCL on an existing file */
    write_local(f1, "z", 1);
    rc = xssh_sftp_open(&f, sf, f1, XSSH_FXF_WRITE | XSSH_FXF_CREAT | XSSH_FXF_EXCL, 0644);
    cr_assert(rc == XSSH_ESFTP_FAILURE || rc == XSSH_ESFTP_FILE_ALREADY_EXISTS, "rc %d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), f1), "%s", last_msg());
    /* opendir of a regular file: the server's status stays, the message says what is wrong */
    rc = xssh_sftp_opendir(&f, sf, f1);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, f1);
    cr_assert(strstr(last_msg(), "not a directory"), "%s", last_msg());
    cr_assert_null(f);
    cr_assert_eq(xssh_sftp_last_error(sf, &le), XSSH_OK);
    cr_assert_eq(le, XSSH_FX_NO_SUCH_FILE);
    /* a missing path is not called a file */
    rc = xssh_sftp_opendir(&f, sf, f2);
    cr_assert_null(strstr(last_msg(), "not a directory"), "%s", last_msg());
    unlink(f1);

    cr_assert_eq(xssh_sftp_rmdir(sf, d), XSSH_OK, "%s", last_msg());
    cr_assert_neq(access(d, F_OK), 0);
    rc = xssh_sftp_rmdir(sf, d);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, d);
    free(d);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp, permission_denied_non_root, .timeout = 60)
{
    if (!xt_have_password())
        cr_skip_test("no password account (not running as root)");
    /* a root-only directory, checked as the unprivileged password account */
    char tmpl[] = "/tmp/xssh-sftp-priv-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    chmod(tmpl, 0700);
    char inner[256];
    snprintf(inner, sizeof inner, "%s/secret", tmpl);
    write_local(inner, "s", 1);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_password(s, xt()->pw_user, xt()->password), XSSH_OK, "%s", last_msg());
    xssh_sftp *sf = sftp_of(s);
    xssh_sftp_file *f = NULL;
    int rc = xssh_sftp_open(&f, sf, inner, XSSH_FXF_READ, 0);
    assert_sftp_error(rc, XSSH_ESFTP_PERMISSION_DENIED, XSSH_FX_PERMISSION_DENIED, inner);
    rc = xssh_sftp_mkdir(sf, inner, 0755);
    cr_assert_eq(rc, XSSH_ESFTP_PERMISSION_DENIED, "%d %s", rc, last_msg());
    cr_assert_eq(xssh_sftp_opendir(&f, sf, tmpl), XSSH_ESFTP_PERMISSION_DENIED, "%s", last_msg());
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    unlink(inner);
    rmdir(tmpl);
}

Test(sftp, file_io_seek_fstat, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *p = xt_tmppath("fileio");
    xssh_sftp_file *f = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, p, XSSH_FXF_WRITE | XSSH_FXF_CREAT | XSSH_FXF_TRUNC | XSSH_FXF_READ,
                                XSSH_SFTP_S_IRUSR | XSSH_SFTP_S_IWUSR | XSSH_SFTP_S_IRGRP),
                 XSSH_OK, "%s", last_msg());
    const char *path = NULL;
    cr_assert_eq(xssh_sftp_file_path(f, &path), XSSH_OK);
    cr_assert_str_eq(path, p);
    size_t big = xt_size(3 * 1024 * 1024 + 17);
    unsigned char *data = malloc(big), *back = malloc(big);
    fill_random(data, big);
    size_t w = 0;
    cr_assert_eq(xssh_sftp_file_write(f, data, big, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, big);
    uint64_t off = 0;
    cr_assert_eq(xssh_sftp_file_tell64(f, &off), XSSH_OK);
    cr_assert_eq(off, big);
    cr_assert_eq(xssh_sftp_file_fsync(f), XSSH_OK, "%s", last_msg());
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_file_fstat(f, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(a.filesize, big);
    cr_assert_eq(a.permissions & 0777, 0640);
    xssh_sftp_vfs v;
    memset(&v, 0, sizeof v);
    cr_assert_eq(xssh_sftp_file_fstatvfs(f, &v), XSSH_OK, "%s", last_msg());
    cr_assert_gt(v.f_bsize, 0);
    cr_assert_gt(v.f_namemax, 0);
    cr_assert_eq(xssh_sftp_file_rewind(f), XSSH_OK);
    cr_assert_eq(xssh_sftp_file_tell64(f, &off), XSSH_OK);
    cr_assert_eq(off, 0);
    size_t got = 0;
    while (got < big) {
        size_t n = 0;
        cr_assert_eq(xssh_sftp_file_read(f, back + got, big - got, &n), XSSH_OK, "%s", last_msg());
        cr_assert_gt(n, 0, "early EOF at %zu", got);
        got += n;
    }
    cr_assert_eq(memcmp(data, back, big), 0);
    size_t n = 99;
    cr_assert_eq(xssh_sftp_file_read(f, back, 10, &n), XSSH_OK);
    cr_assert_eq(n, 0, "EOF reads 0");
    /* seek to the middle and read a piece */
    cr_assert_eq(xssh_sftp_file_seek64(f, 1000), XSSH_OK);
    char piece[100];
    size_t pg = 0;
    while (pg < sizeof piece) {
        cr_assert_eq(xssh_sftp_file_read(f, piece + pg, sizeof piece - pg, &n), XSSH_OK);
        cr_assert_gt(n, 0);
        pg += n;
    }
    cr_assert_eq(memcmp(piece, data + 1000, sizeof piece), 0);
    /* overwrite at an offset */
    cr_assert_eq(xssh_sftp_file_seek64(f, 5), XSSH_OK);
    cr_assert_eq(xssh_sftp_file_write(f, "HELLO", 5, &w), XSSH_OK);
    /* fsetstat: mode and times */
    xssh_sftp_attrs set;
    memset(&set, 0, sizeof set);
    set.flags = XSSH_SFTP_ATTR_PERMISSIONS | XSSH_SFTP_ATTR_ACMODTIME;
    set.permissions = 0604;
    set.atime = 1000000000;
    set.mtime = 1234567890;
    cr_assert_eq(xssh_sftp_file_fsetstat(f, &set), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK, "closing twice is fine");
    cr_assert_eq(xssh_sftp_file_read(f, back, 10, &n), XSSH_ECLOSED);
    cr_assert(strstr(last_msg(), p), "%s", last_msg());
    cr_assert_eq(xssh_sftp_file_write(f, "x", 1, &w), XSSH_ECLOSED);
    cr_assert_eq(xssh_sftp_file_fstat(f, &a), XSSH_ECLOSED);
    cr_assert_eq(xssh_sftp_file_seek64(f, 0), XSSH_ECLOSED);
    xssh_sftp_file_unref(f);

    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0604);
    cr_assert_eq(st.st_mtime, 1234567890);
    cr_assert_eq(st.st_atime, 1000000000);
    FILE *lf = fopen(p, "rb");
    char head[10];
    cr_assert_eq(fread(head, 1, 10, lf), 10);
    fclose(lf);
    cr_assert_eq(memcmp(head, data, 5), 0);
    cr_assert_eq(memcmp(head + 5, "HELLO", 5), 0);

    /* setstat by path: uid/gid (to themselves), size (truncate), times */
    memset(&set, 0, sizeof set);
    set.flags = XSSH_SFTP_ATTR_SIZE | XSSH_SFTP_ATTR_UIDGID | XSSH_SFTP_ATTR_ACMODTIME;
    set.filesize = 10;
    set.uid = st.st_uid;
    set.gid = st.st_gid;
    set.atime = 1500000000;
    set.mtime = 1600000000;
    cr_assert_eq(xssh_sftp_setstat(sf, p, &set), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_stat(sf, p, &a), XSSH_OK);
    cr_assert_eq(a.filesize, 10);
    cr_assert_eq(a.mtime, 1600000000);
    cr_assert_eq(a.atime, 1500000000);
    cr_assert_eq(a.uid, (unsigned long)st.st_uid);
    if (geteuid() == 0) {
        /* root may give the file away */
        set.flags = XSSH_SFTP_ATTR_UIDGID;
        set.uid = 1234;
        set.gid = 2345;
        cr_assert_eq(xssh_sftp_setstat(sf, p, &set), XSSH_OK, "%s", last_msg());
        cr_assert_eq(stat(p, &st), 0);
        cr_assert_eq(st.st_uid, 1234);
        cr_assert_eq(st.st_gid, 2345);
    }
    int rc = xssh_sftp_setstat(sf, "/no/such/dir/file", &set);
    assert_sftp_error(rc, XSSH_ESFTP_NO_SUCH_FILE, XSSH_FX_NO_SUCH_FILE, "/no/such/dir/file");

    xssh_sftp_vfs v2;
    cr_assert_eq(xssh_sftp_statvfs(sf, xt()->dir, &v2), XSSH_OK, "%s", last_msg());
    cr_assert_eq(v2.f_bsize, v.f_bsize);
    cr_assert_eq(v2.f_fsid, v.f_fsid);
    cr_assert_gt(v2.f_blocks, 0);

    unlink(p);
    free(p);
    free(data);
    free(back);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp, readdir_many, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *d = xt_tmppath("many");
    cr_assert_eq(mkdir(d, 0755), 0);
    int count = xt_valgrind() ? 500 : 10000;
    char *seen = calloc((size_t)count, 1);
    char p[4096];
    for (int i = 0; i < count; i++) {
        snprintf(p, sizeof p, "%s/entry-%05d", d, i);
        int fd = open(p, O_WRONLY | O_CREAT, 0600);
        cr_assert_geq(fd, 0);
        if (i == 42)
            cr_assert_eq(write(fd, "forty-two", 9), 9);
        close(fd);
    }
    xssh_sftp_file *dh = NULL;
    cr_assert_eq(xssh_sftp_opendir(&dh, sf, d), XSSH_OK, "%s", last_msg());
    /* read() on a directory handle is refused */
    size_t n;
    char b[4];
    cr_assert_eq(xssh_sftp_file_read(dh, b, sizeof b, &n), XSSH_EARG);
    int total = 0, dots = 0;
    for (;;) {
        char *name = NULL, *longentry = NULL;
        xssh_sftp_attrs a;
        int rc = xssh_sftp_file_readdir(dh, &name, total % 2 ? &longentry : NULL, &a);
        if (rc == XSSH_EITEROVER)
            break;
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        cr_assert_not_null(name);
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            dots++;
        } else {
            int i = -1;
            cr_assert_eq(sscanf(name, "entry-%05d", &i), 1, "name %s", name);
            cr_assert(i >= 0 && i < count);
            cr_assert_eq(seen[i], 0, "entry %d twice", i);
            seen[i] = 1;
            cr_assert_eq(a.permissions & XSSH_SFTP_S_IFMT, XSSH_SFTP_S_IFREG);
            cr_assert_eq(a.filesize, i == 42 ? 9 : 0);
            if (longentry) {
                cr_assert(strstr(longentry, name), "long entry '%s' lacks '%s'", longentry, name);
                cr_assert_eq(longentry[0], '-', "%s", longentry);
            }
        }
        total++;
        xssh_free(name);
        xssh_free(longentry);
    }
    cr_assert_eq(dots, 2);
    cr_assert_eq(total, count + 2);
    for (int i = 0; i < count; i++)
        cr_assert(seen[i], "entry %d missing", i);
    /* after the end, still the end */
    char *name = NULL;
    cr_assert_eq(xssh_sftp_file_readdir(dh, &name, NULL, NULL), XSSH_EITEROVER);
    cr_assert_eq(xssh_sftp_file_close(dh), XSSH_OK);
    cr_assert_eq(xssh_sftp_file_readdir(dh, &name, NULL, NULL), XSSH_ECLOSED);
    xssh_sftp_file_unref(dh);
    /* readdir on a file handle is refused */
    xssh_sftp_file *fh = NULL;
    snprintf(p, sizeof p, "%s/entry-%05d", d, 0);
    cr_assert_eq(xssh_sftp_open(&fh, sf, p, XSSH_FXF_READ, 0), XSSH_OK);
    cr_assert_eq(xssh_sftp_file_readdir(fh, &name, NULL, NULL), XSSH_EARG);
    xssh_sftp_file_unref(fh);
    for (int i = 0; i < count; i++) {
        snprintf(p, sizeof p, "%s/entry-%05d", d, i);
        unlink(p);
    }
    rmdir(d);
    free(seen);
    free(d);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp, nonblocking_eagain_loop, .timeout = 120)
{
    /* EAGAIN is forced, never hoped for: the proxy holds back the server's
       bytes (acks, window adjusts, data) for the first write and the first read */
    xt_stall_proxy px;
    xssh_session *s = xt_stall_proxy_start(&px);
    xssh_sftp *sf = sftp_of(s);
    char *p = xt_tmppath("nb");
    size_t big = xt_size(4 * 1024 * 1024 + 3);
    unsigned char *data = malloc(big), *back = malloc(big);
    fill_random(data, big);
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    xssh_sftp_file *f = NULL;
    int rc, eagains = 0;
    while ((rc = xssh_sftp_open(&f, sf, p, XSSH_FXF_WRITE | XSSH_FXF_CREAT | XSSH_FXF_TRUNC, 0644)) == XSSH_EAGAIN)
        eagains++;
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    size_t off = 0;
    xt_stall_proxy_hold(&px, 1);
    while (off < big) {
        size_t w = 0;
        rc = xssh_sftp_file_write(f, data + off, big - off, &w);
        cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "%d %s", rc, last_msg());
        cr_assert_leq(w, big - off);
        off += w;
        if (atomic_load(&px.hold)) {
            cr_assert_eq(rc, XSSH_EAGAIN, "a write with the server held back said %s (%zu bytes)", xssh_err_name(rc), w);
            xt_stall_proxy_hold(&px, 0);
        }
        if (rc == XSSH_EAGAIN) {
            eagains++;
            usleep(100);
        } else {
            cr_assert_eq(off, big);
        }
    }
    while ((rc = xssh_sftp_file_close(f)) == XSSH_EAGAIN)
        eagains++;
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    xssh_sftp_file_unref(f);
    cr_assert_gt(eagains, 0);
    /* the file is complete on disk */
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq((size_t)st.st_size, big);

    while ((rc = xssh_sftp_open(&f, sf, p, XSSH_FXF_READ, 0)) == XSSH_EAGAIN)
        ;
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    size_t got = 0;
    int reads_eagain = 0;
    xt_stall_proxy_hold(&px, 1);
    for (;;) {
        size_t n = 0;
        rc = xssh_sftp_file_read(f, back + got, big - got < 100000 ? big - got + 1 : 100000, &n);
        if (atomic_load(&px.hold)) {
            cr_assert_eq(rc, XSSH_EAGAIN, "a read with the server held back said %s (%zu bytes)", xssh_err_name(rc), n);
            xt_stall_proxy_hold(&px, 0);
        }
        if (rc == XSSH_EAGAIN) {
            reads_eagain++;
            continue;
        }
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        if (n == 0)
            break;
        got += n;
        cr_assert_leq(got, big);
    }
    cr_assert_eq(got, big);
    cr_assert_eq(memcmp(data, back, big), 0);
    cr_assert_gt(reads_eagain, 0);
    xssh_sftp_attrs a;
    while ((rc = xssh_sftp_stat(sf, p, &a)) == XSSH_EAGAIN)
        ;
    cr_assert_eq(rc, XSSH_OK);
    cr_assert_eq(a.filesize, big);
    xssh_sftp_file_unref(f); /* not closed: orphaned, closed at the next call */
    while ((rc = xssh_sftp_unlink(sf, p)) == XSSH_EAGAIN)
        ;
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    free(p);
    free(data);
    free(back);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&px);
}

Test(sftp, close_sftp_closes_files, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *p = xt_tmppath("closeme");
    write_local(p, "data", 4);
    xssh_sftp_file *f = NULL, *g = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, p, XSSH_FXF_READ, 0), XSSH_OK);
    cr_assert_eq(xssh_sftp_opendir(&g, sf, xt()->dir), XSSH_OK);
    cr_assert_eq(xssh_sftp_close(sf), XSSH_OK);
    cr_assert_eq(xssh_sftp_close(sf), XSSH_OK);
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, p, &a), XSSH_ECLOSED);
    char buf[8];
    size_t n;
    cr_assert_eq(xssh_sftp_file_read(f, buf, sizeof buf, &n), XSSH_ECLOSED);
    char *name = NULL;
    cr_assert_eq(xssh_sftp_file_readdir(g, &name, NULL, NULL), XSSH_ECLOSED);
    cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK);
    xssh_sftp_file *h = NULL;
    cr_assert_eq(xssh_sftp_open(&h, sf, p, XSSH_FXF_READ, 0), XSSH_ECLOSED);
    cr_assert_null(h);
    /* the session still works: a new subsystem */
    xssh_sftp *sf2 = sftp_of(s);
    cr_assert_eq(xssh_sftp_stat(sf2, p, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(a.filesize, 4);
    xssh_sftp_file_unref(f);
    xssh_sftp_file_unref(g);
    xssh_sftp_unref(sf);
    xssh_sftp_unref(sf2);
    unlink(p);
    free(p);
    xssh_session_unref(s);
}

Test(sftp, drop_order_session_first, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *p = xt_tmppath("order");
    write_local(p, "hello", 5);
    xssh_sftp_file *f = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, p, XSSH_FXF_READ, 0), XSSH_OK);
    xssh_session_unref(s); /* the sftp keeps it alive */
    char buf[8];
    size_t n = 0;
    cr_assert_eq(xssh_sftp_file_read(f, buf, sizeof buf, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 5);
    xssh_sftp_unref(sf); /* the file keeps the sftp alive */
    cr_assert_eq(xssh_sftp_file_seek64(f, 1), XSSH_OK);
    cr_assert_eq(xssh_sftp_file_read(f, buf, sizeof buf, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 4);
    xssh_sftp_file_unref(f); /* frees everything, without I/O */
    unlink(p);
    free(p);
}

Test(sftp, session_closed_first, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *p = xt_tmppath("sclosed");
    write_local(p, "hello", 5);
    xssh_sftp_file *f = NULL, *d = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, p, XSSH_FXF_READ, 0), XSSH_OK);
    cr_assert_eq(xssh_sftp_opendir(&d, sf, xt()->dir), XSSH_OK);
    cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "%s", last_msg());
    char buf[8];
    size_t n = 0;
    cr_assert_eq(xssh_sftp_file_read(f, buf, sizeof buf, &n), XSSH_ECLOSED);
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, p, &a), XSSH_ECLOSED);
    char *mem = NULL;
    cr_assert_eq(xssh_sftp_get_buffer(sf, p, &mem, &n, NULL), XSSH_ECLOSED);
    cr_assert_null(mem);
    cr_assert_eq(xssh_sftp_file_close(d), XSSH_OK); /* nothing to do remotely any more */
    xssh_session_unref(s);
    xssh_sftp_unref(sf);
    xssh_sftp_file_unref(d);
    xssh_sftp_file_unref(f);
    unlink(p);
    free(p);
}

Test(sftp, unref_open_then_reuse_session, .timeout = 60)
{
    /* orphaned handles/subsystems are closed at the next operation, in order */
    xssh_session *s = xt_connect_auth();
    for (int round = 0; round < 3; round++) {
        xssh_sftp *sf = sftp_of(s);
        xssh_sftp_file *fs[5];
        for (int i = 0; i < 5; i++)
            cr_assert_eq(xssh_sftp_opendir(&fs[i], sf, xt()->dir), XSSH_OK, "%s", last_msg());
        xssh_sftp_unref(sf); /* files keep it */
        for (int i = 0; i < 5; i++)
            xssh_sftp_file_unref(fs[i]);
    }
    xssh_sftp *sf = sftp_of(s);
    char *rp = NULL;
    cr_assert_eq(xssh_sftp_realpath(sf, ".", &rp), XSSH_OK, "%s", last_msg());
    xssh_free(rp);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* ---- threads sharing one subsystem ----------------------------------------- */

#include <pthread.h>

typedef struct tworker {
    xssh_sftp *sf;
    char *path;
    size_t size;
    int ok;
    char msg[512];
} tworker;

static void *stat_worker(void *arg)
{
    tworker *w = arg;
    int rounds = xt_valgrind() ? 5 : 100;
    for (int i = 0; i < rounds; i++) {
        xssh_sftp_attrs a;
        int rc = xssh_sftp_stat(w->sf, w->path, &a);
        if (rc != XSSH_OK || a.filesize != w->size) {
            snprintf(w->msg, sizeof w->msg, "stat %d: rc %d size %llu (wanted %zu): %s", i, rc,
                     (unsigned long long)a.filesize, w->size, last_msg());
            return NULL;
        }
        char *buf = NULL;
        size_t n = 0;
        rc = xssh_sftp_get_buffer(w->sf, w->path, &buf, &n, NULL);
        if (rc != XSSH_OK || n != w->size || (n && buf[0] != (char)w->size)) {
            snprintf(w->msg, sizeof w->msg, "get %d: rc %d n %zu: %s", i, rc, n, last_msg());
            xssh_free(buf);
            return NULL;
        }
        xssh_free(buf);
    }
    w->ok = 1;
    return NULL;
}

Test(sftp, threads_share_one_sftp, .timeout = 240)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    enum { N = 4 };
    pthread_t t[N];
    tworker w[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].sf = sf;
        w[i].path = xt_tmppath("thr");
        w[i].size = 1000 + (size_t)i * 40000; /* distinct sizes: a crossed answer shows */
        char *data = malloc(w[i].size);
        memset(data, (char)w[i].size, w[i].size);
        write_local(w[i].path, data, w[i].size);
        free(data);
    }
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, stat_worker, &w[i]);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_assert(w[i].ok, "worker %d: %s", i, w[i].msg);
        unlink(w[i].path);
        free(w[i].path);
    }
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp, session_accessor_and_file_refs, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    xssh_session *back = NULL;
    cr_assert_eq(xssh_sftp_session(sf, &back), XSSH_OK);
    cr_assert_eq(back, s);
    xssh_session_unref(back); /* the accessor hands out a new reference */
    cr_assert_eq(xssh_sftp_session(sf, NULL), XSSH_EARG);
    char *path = xt_tmppath("refs");
    xssh_sftp_file *f = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, path, XSSH_FXF_WRITE | XSSH_FXF_CREAT, 0644), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_file_ref(f), f);
    xssh_sftp_file_unref(f); /* the extra reference: the file stays open */
    size_t w = 0;
    cr_assert_eq(xssh_sftp_file_write(f, "x", 1, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, 1);
    cr_assert_null(xssh_sftp_file_ref(NULL));
    xssh_sftp_file_unref(f);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    unlink(path);
    free(path);
}
