/* SPDX-License-Identifier: BSD-3-Clause */
/* SCP against the harness sshd (same machine: remote files are checked with
 * local reads): the low-level recv2/recv/send64/send channels and the
 * whole-file scp_get/scp_put (byte-exact, mode and times, errors, progress,
 * cancel, atomic put). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"


static int count_prefixed(const char *dirpath, const char *prefix)
{
    DIR *d = opendir(dirpath);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void roundtrip(size_t n)
{
    xssh_session *s = xt_connect_auth();
    unsigned char *data = xt_random_bytes(n);
    char *src = xt_tmppath("scp-src");
    char *remote = xt_tmppath("scp-remote");
    char *back = xt_tmppath("scp-back");
    xt_spit(src, data, n, 0644);
    uint64_t done = 99;
    cr_assert_eq(xssh_session_scp_put(s, src, remote, NULL, &done), XSSH_OK, "put %zu: %s", n, last_msg());
    cr_assert_eq(done, n);
    size_t rl;
    unsigned char *r = xt_slurp(remote, &rl);
    cr_assert_eq(rl, n, "remote has %zu bytes, expected %zu", rl, n);
    cr_assert(n == 0 || memcmp(r, data, n) == 0, "remote content differs");
    done = 99;
    cr_assert_eq(xssh_session_scp_get(s, remote, back, NULL, &done), XSSH_OK, "get %zu: %s", n, last_msg());
    cr_assert_eq(done, n);
    size_t bl;
    unsigned char *b = xt_slurp(back, &bl);
    cr_assert_eq(bl, n);
    cr_assert(n == 0 || memcmp(b, data, n) == 0, "downloaded content differs");
    free(b);
    free(r);
    free(data);
    unlink(src);
    unlink(remote);
    unlink(back);
    free(src);
    free(remote);
    free(back);
    xssh_session_unref(s);
}

Test(scp, roundtrip_0) { roundtrip(0); }
Test(scp, roundtrip_1) { roundtrip(1); }
Test(scp, roundtrip_30000) { roundtrip(30000); }
Test(scp, roundtrip_29999) { roundtrip(29999); }
Test(scp, roundtrip_30001) { roundtrip(30001); }
Test(scp, roundtrip_1MiB_plus_1, .timeout = 60) { roundtrip(xt_size((1u << 20) + 1)); }
Test(scp, roundtrip_8MiB, .timeout = 120) { roundtrip(xt_size(8u << 20)); }

Test(scp, mode_and_times_preserved)
{
    xssh_session *s = xt_connect_auth();
    char *src = xt_tmppath("scp-mode");
    char *remote = xt_tmppath("scp-mode-r");
    char *back = xt_tmppath("scp-mode-b");
    xt_spit(src, "hello", 5, 0640);
    struct timespec ts[2] = {{1500000000, 0}, {1600000000, 0}}; /* atime, mtime */
    cr_assert_eq(utimensat(AT_FDCWD, src, ts, 0), 0);
    cr_assert_eq(xssh_session_scp_put(s, src, remote, NULL, NULL), XSSH_OK, "%s", last_msg());
    struct stat st;
    cr_assert_eq(stat(remote, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0640, "remote mode %o", st.st_mode & 07777);
    cr_assert_eq((long long)st.st_mtime, 1600000000LL);
    cr_assert_eq((long long)st.st_atime, 1500000000LL);
    /* and back: the local copy gets the remote mode and times */
    chmod(remote, 0604);
    struct timespec ts2[2] = {{1400000000, 0}, {1450000000, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, remote, ts2, 0), 0);
    cr_assert_eq(xssh_session_scp_get(s, remote, back, NULL, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(stat(back, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0604, "local mode %o", st.st_mode & 07777);
    cr_assert_eq((long long)st.st_mtime, 1450000000LL);
    /* opts->mode overrides */
    xssh_transfer_opts o = {0};
    o.mode = 0600;
    cr_assert_eq(xssh_session_scp_get(s, remote, back, &o, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(stat(back, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    unlink(src);
    unlink(remote);
    unlink(back);
    free(src);
    free(remote);
    free(back);
    xssh_session_unref(s);
}

static void lowlevel_recv(int legacy)
{
    xssh_session *s = xt_connect_auth();
    char *remote = xt_tmppath("scp-ll");
    unsigned char *data = xt_random_bytes(100000);
    xt_spit(remote, data, 100000, 0750);
    struct timespec ts[2] = {{1234567890, 0}, {1234567000, 0}};
    utimensat(AT_FDCWD, remote, ts, 0);
    xssh_channel *c = NULL;
    xssh_scp_fileinfo fi;
    int rc = legacy ? xssh_session_scp_recv(s, remote, &c, &fi) : xssh_session_scp_recv2(s, remote, &c, &fi);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(fi.size, 100000);
    cr_assert_eq(fi.mode & 07777, 0750, "mode %lo", fi.mode);
    cr_assert_eq(fi.mode & 0170000, 0100000, "S_IFREG expected: %lo", fi.mode);
    cr_assert_eq(fi.mtime, 1234567000);
    cr_assert_eq(fi.atime, 1234567890);
    unsigned char *got = malloc(100000);
    size_t have = 0;
    while (have < 100000) {
        size_t n = 0;
        cr_assert_eq(xssh_channel_read(c, got + have, 100000 - have, &n), XSSH_OK, "%s", last_msg());
        cr_assert_gt(n, 0);
        have += n;
    }
    cr_assert(memcmp(got, data, 100000) == 0);
    xssh_channel_unref(c);
    /* the session still works (the orphaned channel is closed by the next call) */
    cr_assert_eq(xssh_session_scp_recv2(s, remote, &c, &fi), XSSH_OK, "%s", last_msg());
    xssh_channel_unref(c);
    free(got);
    free(data);
    unlink(remote);
    free(remote);
    xssh_session_unref(s);
}

Test(scp, recv2_lowlevel) { lowlevel_recv(0); }
Test(scp, recv_legacy_lowlevel) { lowlevel_recv(1); }

static void lowlevel_send(int with_times)
{
    xssh_session *s = xt_connect_auth();
    char *remote = xt_tmppath("scp-send");
    const char *msg = "scp send data\n";
    size_t n = strlen(msg);
    xssh_channel *c = NULL;
    int rc = with_times ? xssh_session_scp_send64(s, remote, 0641, n, 1300000000, 1310000000, &c)
                        : xssh_session_scp_send(s, remote, with_times ? 0641 : 0604, n, &c);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    size_t w = 0;
    cr_assert_eq(xssh_channel_write(c, msg, n, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, n);
    cr_assert_eq(xssh_channel_write(c, "", 1, &w), XSSH_OK, "%s", last_msg()); /* end-of-file marker */
    cr_assert_eq(xssh_channel_send_eof(c), XSSH_OK);
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK);
    cr_assert_eq(xssh_channel_wait_closed(c), XSSH_OK);
    xssh_channel_unref(c);
    size_t rl;
    unsigned char *r = xt_slurp(remote, &rl);
    cr_assert_eq(rl, n);
    cr_assert(memcmp(r, msg, n) == 0);
    struct stat st;
    stat(remote, &st);
    cr_assert_eq(st.st_mode & 07777, with_times ? 0641 : 0604, "mode %o", st.st_mode & 07777);
    if (with_times)
        cr_assert_eq((long long)st.st_mtime, 1300000000LL);
    free(r);
    unlink(remote);
    free(remote);
    xssh_session_unref(s);
}

Test(scp, send64_lowlevel) { lowlevel_send(1); }
Test(scp, send_legacy_lowlevel) { lowlevel_send(0); }

Test(scp, missing_remote_file_names_the_path)
{
    xssh_session *s = xt_connect_auth();
    char *remote = xt_tmppath("scp-missing");
    char *local = xt_tmppath("scp-missing-l");
    xssh_channel *c = (xssh_channel *)1;
    int rc = xssh_session_scp_recv2(s, remote, &c, NULL);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_null(c);
    cr_assert(strstr(last_msg(), remote) != NULL, "message does not name the path: %s", last_msg());
    uint64_t done = 7;
    rc = xssh_session_scp_get(s, remote, local, NULL, &done);
    cr_assert_eq(rc, XSSH_ESCP_PROTOCOL, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), remote) != NULL, "message does not name the path: %s", last_msg());
    cr_assert_eq(done, 0);
    /* a missing local file for put */
    rc = xssh_session_scp_put(s, local, remote, NULL, NULL);
    cr_assert_eq(rc, XSSH_EFILE);
    cr_assert(strstr(last_msg(), local) != NULL, "%s", last_msg());
    /* a remote directory that does not exist */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/file", remote);
    char *src = xt_tmppath("scp-src1");
    xt_spit(src, "x", 1, 0644);
    rc = xssh_session_scp_put(s, src, bad, NULL, NULL);
    cr_assert_neq(rc, XSSH_OK, "put into a missing directory succeeded");
    /* the session is still usable */
    cr_assert_eq(xssh_session_scp_put(s, src, remote, NULL, NULL), XSSH_OK, "%s", last_msg());
    unlink(remote);
    unlink(src);
    free(src);
    free(remote);
    free(local);
    xssh_session_unref(s);
}

Test(scp, bad_arguments)
{
    xssh_channel *c = NULL;
    cr_assert_eq(xssh_session_scp_recv2(NULL, "/x", &c, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_scp_recv2(NULL, "/x", NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_scp_send64(NULL, "/x", 0644, 1, 0, 0, &c), XSSH_EARG);
    cr_assert_eq(xssh_session_scp_get(NULL, "/x", "/y", NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_scp_put(NULL, "/x", "/y", NULL, NULL), XSSH_EARG);
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_scp_recv2(s, "", &c, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_scp_get(s, "/x", NULL, NULL, NULL), XSSH_EARG);
    /* a closed session */
    xssh_session_close(s);
    cr_assert_eq(xssh_session_scp_recv2(s, "/etc/hostname", &c, NULL), XSSH_ECLOSED, "%s", last_msg());
    xssh_session_unref(s);
}

typedef struct prog {
    uint64_t last_done, total;
    int calls;
    int cancel_after; /* 0: never */
    int monotonic;
} prog;

static int on_progress(uint64_t done, uint64_t total, void *ud)
{
    prog *p = ud;
    if (done < p->last_done)
        p->monotonic = 0;
    p->last_done = done;
    p->total = total;
    p->calls++;
    return p->cancel_after && p->calls >= p->cancel_after;
}

Test(scp, progress_and_cancel, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    size_t n = xt_size(4u << 20);
    unsigned char *data = xt_random_bytes(n);
    char *src = xt_tmppath("scp-prog");
    char *remote = xt_tmppath("scp-prog-r");
    char *back = xt_tmppath("scp-prog-b");
    xt_spit(src, data, n, 0644);
    prog p = {0, 0, 0, 0, 1};
    xssh_transfer_opts o = {0};
    o.progress = on_progress;
    o.userdata = &p;
    o.chunk_size = 32768; /* several reads/writes even for the small valgrind size */
    cr_assert_eq(xssh_session_scp_put(s, src, remote, &o, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(p.last_done, n);
    cr_assert_eq(p.total, n);
    cr_assert_geq(p.calls, 2);
    cr_assert(p.monotonic);
    memset(&p, 0, sizeof p);
    p.monotonic = 1;
    cr_assert_eq(xssh_session_scp_get(s, remote, back, &o, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(p.last_done, n);
    cr_assert_eq(p.total, n);
    cr_assert(p.monotonic);
    /* cancel a get part-way: error, bytes so far reported */
    memset(&p, 0, sizeof p);
    p.cancel_after = 2;
    uint64_t done = 0;
    char *back2 = xt_tmppath("scp-prog-c");
    int rc = xssh_session_scp_get(s, remote, back2, &o, &done);
    cr_assert_eq(rc, XSSH_ECANCELLED, "rc %d: %s", rc, last_msg());
    cr_assert_lt(done, n);
    /* cancelled atomic get: nothing at the destination */
    memset(&p, 0, sizeof p);
    p.cancel_after = 2;
    o.atomic = 1;
    char *back3 = xt_tmppath("scp-prog-a");
    rc = xssh_session_scp_get(s, remote, back3, &o, &done);
    cr_assert_eq(rc, XSSH_ECANCELLED);
    cr_assert_neq(access(back3, F_OK), 0, "a cancelled atomic get left a file");
    /* cancelled atomic put: the old destination is kept, no temp file left */
    xt_spit(remote, "old", 3, 0644);
    memset(&p, 0, sizeof p);
    p.cancel_after = 2;
    rc = xssh_session_scp_put(s, src, remote, &o, &done);
    cr_assert_eq(rc, XSSH_ECANCELLED, "rc %d: %s", rc, last_msg());
    size_t rl;
    unsigned char *r = xt_slurp(remote, &rl);
    cr_assert_eq(rl, 3);
    cr_assert(memcmp(r, "old", 3) == 0);
    free(r);
    const char *slash = strrchr(remote, '/');
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - remote), remote);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s.xssh-", slash + 1);
    cr_assert_eq(count_prefixed(dir, prefix), 0, "temporary files left");
    /* a successful atomic put replaces the file */
    o.progress = NULL;
    cr_assert_eq(xssh_session_scp_put(s, src, remote, &o, &done), XSSH_OK, "%s", last_msg());
    r = xt_slurp(remote, &rl);
    cr_assert_eq(rl, n);
    cr_assert(memcmp(r, data, n) == 0);
    cr_assert_eq(count_prefixed(dir, prefix), 0, "temporary files left");
    free(r);
    /* the session is usable after the cancels */
    cr_assert_eq(xssh_session_scp_get(s, remote, back, NULL, NULL), XSSH_OK, "%s", last_msg());
    unlink(src);
    unlink(remote);
    unlink(back);
    unlink(back2);
    free(src);
    free(remote);
    free(back);
    free(back2);
    free(back3);
    free(data);
    xssh_session_unref(s);
}

/* non-blocking: the low-level calls answer XSSH_EAGAIN and resume with the same arguments */
Test(scp, nonblocking_recv2_and_send64, .timeout = 60)
{
    xt_stall_proxy px;
    xssh_session *s = xt_stall_proxy_start(&px);
    char *remote = xt_tmppath("scp-nb");
    xt_spit(remote, "nonblocking", 11, 0644);
    xssh_session_set_blocking(s, 0);
    xssh_channel *c = NULL;
    xssh_scp_fileinfo fi;
    int rc;
    /* the server's replies are held back: the call cannot complete and must say
       EAGAIN (not block, not fail), again and again, without losing its place */
    xt_stall_proxy_hold(&px, 1);
    for (int i = 0; i < 3; i++) {
        rc = xssh_session_scp_recv2(s, remote, &c, &fi);
        cr_assert_eq(rc, XSSH_EAGAIN, "call %d while the server is held back: %s (%s)", i, xssh_err_name(rc),
                     last_msg());
        cr_assert_null(c);
    }
    xt_stall_proxy_hold(&px, 0);
    while ((rc = xssh_session_scp_recv2(s, remote, &c, &fi)) == XSSH_EAGAIN)
        usleep(1000);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(fi.size, 11);
    char buf[32];
    size_t have = 0;
    while (have < 11) {
        size_t n = 0;
        rc = xssh_channel_read(c, buf + have, 11 - have, &n);
        if (rc == XSSH_EAGAIN) {
            usleep(1000);
            continue;
        }
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        have += n;
    }
    cr_assert(memcmp(buf, "nonblocking", 11) == 0);
    xssh_channel_unref(c);
    char *dst = xt_tmppath("scp-nb-send");
    while ((rc = xssh_session_scp_send64(s, dst, 0644, 3, 1234567890, 1234567890, &c)) == XSSH_EAGAIN)
        usleep(1000);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    size_t w = 0, off = 0;
    while (off < 4) {
        rc = xssh_channel_write(c, "abc" + off, 4 - off, &w); /* 3 bytes + the 0 marker */
        off += w;
        if (rc == XSSH_EAGAIN)
            usleep(1000);
        else
            cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    }
    while ((rc = xssh_channel_send_eof(c)) == XSSH_EAGAIN)
        usleep(1000);
    cr_assert_eq(rc, XSSH_OK);
    xssh_session_set_blocking(s, 1);
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_wait_closed(c), XSSH_OK, "%s", last_msg());
    xssh_channel_unref(c);
    size_t rl;
    unsigned char *r = xt_slurp(dst, &rl);
    cr_assert_eq(rl, 3);
    cr_assert(memcmp(r, "abc", 3) == 0);
    struct stat st;
    stat(dst, &st);
    cr_assert_eq((long long)st.st_mtime, 1234567890LL);
    /* the whole-file calls block even on a non-blocking session */
    xssh_session_set_blocking(s, 0);
    uint64_t done = 0;
    cr_assert_eq(xssh_session_scp_get(s, remote, dst, NULL, &done), XSSH_OK, "%s", last_msg());
    cr_assert_eq(done, 11);
    free(r);
    unlink(remote);
    unlink(dst);
    free(remote);
    free(dst);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&px);
}

/* the connection cut part-way: an error (not success, not "cancelled"), bytes so far reported */
typedef struct cutter {
    int fd;
    int calls;
} cutter;

static int cut_progress(uint64_t done, uint64_t total, void *ud)
{
    (void)total;
    cutter *c = ud;
    if (++c->calls == 2 && done > 0)
        shutdown(c->fd, SHUT_RDWR);
    return 0;
}

static void cut_transfer(int put)
{
    xssh_session *s = xt_connect_auth();
    xssh_session_set_timeout(s, 10000);
    size_t n = xt_size(16u << 20);
    unsigned char *data = xt_random_bytes(n);
    char *local = xt_tmppath("scp-cut-l");
    char *remote = xt_tmppath("scp-cut-r");
    xt_spit(put ? local : remote, data, n, 0644);
    cutter ct = {-1, 0};
    cr_assert_eq(xssh_session_socket(s, &ct.fd), XSSH_OK);
    xssh_transfer_opts o = {0};
    o.progress = cut_progress;
    o.userdata = &ct;
    uint64_t done = 0;
    int rc = put ? xssh_session_scp_put(s, local, remote, &o, &done) : xssh_session_scp_get(s, remote, local, &o, &done);
    cr_assert_neq(rc, XSSH_OK, "a cut transfer reported success");
    cr_assert_neq(rc, XSSH_ECANCELLED);
    cr_assert_gt(done, 0);
    cr_assert_lt(done, n, "done %llu of %zu", (unsigned long long)done, n);
    cr_assert(strstr(last_msg(), remote) != NULL || strlen(last_msg()) > 0, "%s", last_msg());
    unlink(local);
    unlink(remote);
    free(local);
    free(remote);
    free(data);
    xssh_session_unref(s);
}

Test(scp, get_cut_partway_fails, .timeout = 60) { cut_transfer(0); }
Test(scp, put_cut_partway_fails, .timeout = 60) { cut_transfer(1); }
