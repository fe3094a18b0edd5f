/* SPDX-License-Identifier: BSD-3-Clause */
/* Sizes at the libssh2 edge and SFTP append, against the harness sshd and, for
 * append, against tests/harness/offset_sftp_server.py (an SFTP server that
 * writes at each WRITE's offset even in APPEND mode, as OpenSSH's does not).
 *
 * Buffers of 4 GiB and more are virtual (mmap MAP_NORESERVE): only the pages
 * written are backed. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

static unsigned char *huge_buf(size_t cap)
{
    void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "mmap %zu: %s", cap, strerror(errno));
    return p;
}

static void session_alive(xssh_session *s)
{
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "echo alive", NULL, &r), XSSH_OK, "the session died: %s", last_msg());
    cr_assert_eq(r->out_len, 6);
    cr_assert_eq(memcmp(r->out, "alive\n", 6), 0);
    xssh_run_result_free(r);
}

/* ---- channel reads ------------------------------------------------------- */

/* a command printing n 'A's (more than the 2 MiB window: the window is re-opened) */
static size_t read_all_into(xssh_session *s, unsigned char *buf, size_t cap, size_t n, int stream)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/zero | tr '\\0' A%s", n, stream ? " >&2" : "");
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_execute(ch, cmd), XSSH_OK, "%s", last_msg());
    size_t total = 0, got = 0;
    for (int i = 0; i < 100000; i++) {
        int rc = xssh_channel_read_ex(ch, stream, buf + total, cap - total, &got);
        cr_assert_eq(rc, XSSH_OK, "read (cap %zu, %zu so far): %s", cap - total, total, last_msg());
        if (got == 0)
            break;
        cr_assert_leq(got, XSSH_IO_MAX, "one read returned %zu bytes, more than XSSH_IO_MAX", got);
        total += got;
    }
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(buf[i], 'A', "byte %zu", i);
    cr_assert_eq(xssh_channel_wait_closed(ch), XSSH_OK, "%s", last_msg());
    int st = -1, have = 0;
    xssh_channel_get_exit_status(ch, &st, &have);
    cr_assert(have && st == 0, "exit status %d (have %d)", st, have);
    xssh_channel_unref(ch);
    return total;
}

Test(sizes, channel_read_4gib_buffers, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    size_t n = xt_size(3u << 20);
    size_t caps[] = {((size_t)1 << 32) + 4096, (size_t)1 << 32, (size_t)1 << 33, SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        size_t cap = caps[i];
        unsigned char *buf = huge_buf(i < 3 ? cap : ((size_t)1 << 32));
        /* SIZE_MAX / 2: only the clamp keeps libssh2 inside the 4 GiB mapping */
        cr_assert_eq(read_all_into(s, buf, cap, n, 0), n, "cap %zu", cap);
        munmap(buf, i < 3 ? cap : ((size_t)1 << 32));
        session_alive(s);
    }
    /* stderr takes the same path */
    unsigned char *buf = huge_buf((size_t)1 << 32);
    cr_assert_eq(read_all_into(s, buf, (size_t)1 << 32, n, 1), n);
    munmap(buf, (size_t)1 << 32);
    session_alive(s);
    xssh_session_unref(s);
}

Test(sizes, channel_read_zero_cap, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_execute(ch, "echo hi"), XSSH_OK, "%s", last_msg());
    size_t got = 99;
    char b[8];
    cr_assert_eq(xssh_channel_read(ch, b, 0, &got), XSSH_OK, "%s", last_msg());
    cr_assert_eq(got, 0);
    cr_assert_eq(xssh_channel_read(ch, NULL, 0, &got), XSSH_OK, "%s", last_msg());
    /* the data is still there */
    size_t total = 0;
    while (total < 3) {
        cr_assert_eq(xssh_channel_read(ch, b + total, sizeof b - total, &got), XSSH_OK, "%s", last_msg());
        cr_assert_gt(got, 0, "EOF before the output");
        total += got;
    }
    cr_assert_eq(memcmp(b, "hi\n", 3), 0);
    xssh_channel_unref(ch);
    xssh_session_unref(s);
}

/* ---- the receive window -------------------------------------------------- */

Test(sizes, window_adjust_beyond_uint32_rejected, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    unsigned int w = 7;
    int rc = xssh_channel_receive_window_adjust(ch, 0x100000000UL, 1, &w);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "adjustment") && strstr(last_msg(), "4294967295"), "%s", last_msg());
    cr_assert_eq(w, 0);
    cr_assert_eq(xssh_channel_receive_window_adjust(ch, ULONG_MAX, 1, &w), XSSH_EARG);
    xssh_channel_unref(ch);
    session_alive(s);
    xssh_session_unref(s);
}

/* OpenSSH drops a connection whose window would pass 2^32-1 */
Test(sizes, window_adjust_clamped_to_uint32, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    unsigned long before = 0;
    cr_assert_eq(xssh_channel_window_read(ch, &before), XSSH_OK);
    unsigned int w = 0;
    cr_assert_eq(xssh_channel_receive_window_adjust(ch, 0xffffffffUL, 1, &w), XSSH_OK, "%s", last_msg());
    cr_assert_gt(w, before, "window %u, was %lu", w, before);
    unsigned long now = 0;
    cr_assert_eq(xssh_channel_window_read(ch, &now), XSSH_OK);
    cr_assert_eq(now, (unsigned long)w, "*window is the window after the call");
    cr_assert_leq(now, 0xffffffffUL);
    /* once more: nothing is left to add */
    cr_assert_eq(xssh_channel_receive_window_adjust(ch, 0xffffffffUL, 1, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, now);
    /* the channel works with its big window, big reads included */
    cr_assert_eq(xssh_channel_execute(ch, "head -c 3145728 /dev/zero | tr '\\0' B"), XSSH_OK, "%s", last_msg());
    size_t cap = (size_t)1 << 32;
    unsigned char *buf = huge_buf(cap);
    size_t total = 0, got = 0;
    for (int i = 0; i < 100000; i++) {
        cr_assert_eq(xssh_channel_read(ch, buf + total, cap - total, &got), XSSH_OK, "%s", last_msg());
        if (!got)
            break;
        total += got;
    }
    cr_assert_eq(total, 3145728u);
    munmap(buf, cap);
    xssh_channel_unref(ch);
    session_alive(s);
    xssh_session_unref(s);
}

/* ---- channel requests -------------------------------------------------- */

Test(sizes, request_longer_than_one_packet_rejected, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    size_t n = 40000;
    char *cmd = malloc(n + 1);
    memset(cmd, ' ', n);
    memcpy(cmd, "echo", 4);
    cmd[n] = '\0';
    int rc = xssh_channel_execute(ch, cmd);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "'exec' request is too long") && strstr(last_msg(), "34743"), "%s", last_msg());
    rc = xssh_channel_setenv(ch, "XSSH_BIG", cmd);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "'env' request is too long"), "%s", last_msg());
    /* pty modes: libssh2 takes their length as unsigned int; 2^32 + 1 must not become 1 */
    rc = xssh_channel_pty(ch, "xterm", cmd, ((size_t)1 << 32) + 1, 80, 24, 0, 0);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "'pty-req' request is too long"), "%s", last_msg());
    xssh_run_result *r = NULL;
    rc = xssh_session_run(s, cmd, NULL, &r);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert_null(r);
    cr_assert(strstr(last_msg(), "xssh_session_run") && strstr(last_msg(), "34743"), "%s", last_msg());
    /* nothing was sent: the same channel still takes a request */
    cr_assert_eq(xssh_channel_execute(ch, "echo ok"), XSSH_OK, "%s", last_msg());
    char b[8];
    size_t got = 0;
    cr_assert_eq(xssh_channel_read(ch, b, sizeof b, &got), XSSH_OK, "%s", last_msg());
    cr_assert_eq(got, 3);
    /* the longest command that fits goes through */
    xssh_channel_unref(ch);
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    cmd[34725] = '\0'; /* 34743 - 14 bytes of request header - 4 of message length */
    cr_assert_eq(xssh_channel_execute(ch, cmd), XSSH_OK, "%s", last_msg());
    xssh_channel_unref(ch);
    free(cmd);
    session_alive(s);
    xssh_session_unref(s);
}

/* ---- SFTP ------------------------------------------------------------------- */

static xssh_sftp *sftp_of(xssh_session *s)
{
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "sftp_new: %s", last_msg());
    return sf;
}

Test(sizes, sftp_read_4gib_buffers, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *path = xt_tmppath("big-read");
    size_t n = xt_size(3u << 20);
    unsigned char *data = xt_random_bytes(n);
    xt_spit(path, data, n, 0644);
    size_t caps[] = {((size_t)1 << 32) + 4096, (size_t)1 << 32, SIZE_MAX / 2};
    for (size_t i = 0; i < 3; i++) {
        xssh_sftp_file *f = NULL;
        cr_assert_eq(xssh_sftp_open(&f, sf, path, XSSH_FXF_READ, 0), XSSH_OK, "%s", last_msg());
        unsigned char *buf = huge_buf((size_t)1 << 33);
        size_t total = 0, got = 0;
        for (int k = 0; k < 100000; k++) {
            cr_assert_eq(xssh_sftp_file_read(f, buf + total, caps[i] - total, &got), XSSH_OK, "cap %zu: %s",
                         caps[i], last_msg());
            if (!got)
                break;
            cr_assert_leq(got, XSSH_IO_MAX);
            total += got;
        }
        cr_assert_eq(total, n, "cap %zu: %zu bytes", caps[i], total);
        cr_assert_eq(memcmp(buf, data, n), 0);
        /* zero bytes asked: zero bytes, no error */
        cr_assert_eq(xssh_sftp_file_read(f, buf, 0, &got), XSSH_OK, "%s", last_msg());
        cr_assert_eq(got, 0);
        munmap(buf, (size_t)1 << 33);
        cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK, "%s", last_msg());
        xssh_sftp_file_unref(f);
    }
    unlink(path);
    free(path);
    free(data);
    xssh_sftp_unref(sf);
    session_alive(s);
    xssh_session_unref(s);
}

Test(sizes, sftp_path_longer_than_a_request_rejected, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = 40000;
    char *p = malloc(n + 1);
    memset(p, 'x', n);
    p[0] = '/';
    p[n] = '\0';
    xssh_sftp_attrs a;
    xssh_sftp_file *f = NULL;
    char *out = NULL;
    int rcs[] = {
        xssh_sftp_stat(sf, p, &a),       xssh_sftp_lstat(sf, p, &a),      xssh_sftp_mkdir(sf, p, 0755),
        xssh_sftp_rmdir(sf, p),          xssh_sftp_unlink(sf, p),         xssh_sftp_open(&f, sf, p, XSSH_FXF_READ, 0),
        xssh_sftp_opendir(&f, sf, p),    xssh_sftp_readlink(sf, p, &out), xssh_sftp_realpath(sf, p, &out),
        xssh_sftp_rename(sf, p + 20000, p + 20000), xssh_sftp_symlink(sf, p + 20000, p + 20000),
    };
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++)
        cr_assert_eq(rcs[i], XSSH_EARG, "call %zu: rc %d", i, rcs[i]);
    cr_assert(strstr(last_msg(), "path too long") && strstr(last_msg(), "30000"), "%s", last_msg());
    /* 30000 bytes pass the check (the server then answers for itself) and the
       SFTP stream is intact afterwards */
    p[30000] = '\0';
    int rc = xssh_sftp_stat(sf, p, &a);
    cr_assert(rc != XSSH_EARG && rc != XSSH_OK, "rc %d: %s", rc, last_msg());
    cr_assert_eq(xssh_sftp_stat(sf, "/", &a), XSSH_OK, "%s", last_msg());
    cr_assert(a.flags & XSSH_SFTP_ATTR_PERMISSIONS);
    free(p);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* a write after a read on one handle lands at the read position (libssh2 1.10
   would count the read-ahead as written data) */
Test(sizes, sftp_write_after_read, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *path = xt_tmppath("rw");
    size_t n = 1u << 20;
    unsigned char *data = xt_random_bytes(n);
    xt_spit(path, data, n, 0644);
    xssh_sftp_file *f = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, path, XSSH_FXF_READ | XSSH_FXF_WRITE, 0), XSSH_OK, "%s", last_msg());
    unsigned char b[10];
    size_t got = 0, w = 0;
    cr_assert_eq(xssh_sftp_file_read(f, b, sizeof b, &got), XSSH_OK, "%s", last_msg());
    cr_assert_eq(got, 10);
    cr_assert_eq(xssh_sftp_file_write(f, "WRITE", 5, &w), XSSH_OK, "%s", last_msg());
    uint64_t pos = 0;
    cr_assert_eq(xssh_sftp_file_tell64(f, &pos), XSSH_OK);
    cr_assert_eq(pos, 15);
    /* and reading goes on after it */
    cr_assert_eq(xssh_sftp_file_read(f, b, 5, &got), XSSH_OK, "%s", last_msg());
    cr_assert_eq(got, 5);
    cr_assert_eq(memcmp(b, data + 15, 5), 0);
    cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK, "%s", last_msg());
    xssh_sftp_file_unref(f);
    memcpy(data + 10, "WRITE", 5);
    size_t len = 0;
    unsigned char *now = xt_slurp(path, &len);
    cr_assert_eq(len, n);
    cr_assert_eq(memcmp(now, data, n), 0);
    free(now);
    free(data);
    unlink(path);
    free(path);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* ---- SFTP append ----------------------------------------------------------- */

/* "hello " + two APPEND opens writing "world": "hello worldworld", and the
   offset after each write is the end of the file */
static void append_twice(xssh_sftp *sf, const char *remote, const char *local)
{
    xt_spit(local, "hello ", 6, 0644);
    for (int i = 1; i <= 2; i++) {
        xssh_sftp_file *f = NULL;
        cr_assert_eq(xssh_sftp_open(&f, sf, remote, XSSH_FXF_WRITE | XSSH_FXF_APPEND, 0), XSSH_OK, "%s", last_msg());
        uint64_t pos = 0;
        cr_assert_eq(xssh_sftp_file_tell64(f, &pos), XSSH_OK);
        cr_assert_eq(pos, 6 + 5 * (i - 1), "open %d starts at %llu", i, (unsigned long long)pos);
        size_t w = 0;
        cr_assert_eq(xssh_sftp_file_write(f, "world", 5, &w), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_sftp_file_tell64(f, &pos), XSSH_OK);
        cr_assert_eq(pos, 6 + 5 * i);
        cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK, "%s", last_msg());
        xssh_sftp_file_unref(f);
    }
    size_t len = 0;
    unsigned char *got = xt_slurp(local, &len);
    cr_assert_eq(len, 16, "content '%s'", got);
    cr_assert_eq(memcmp(got, "hello worldworld", 16), 0, "content '%s'", got);
    free(got);
    /* APPEND | CREAT on a missing file starts at 0 */
    unlink(local);
    xssh_sftp_file *f = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, remote, XSSH_FXF_WRITE | XSSH_FXF_APPEND | XSSH_FXF_CREAT, 0600), XSSH_OK,
                 "%s", last_msg());
    size_t w = 0;
    cr_assert_eq(xssh_sftp_file_write(f, "new", 3, &w), XSSH_OK, "%s", last_msg());
    xssh_sftp_file_unref(f);
    /* a read handle with APPEND reads from the end too (where writes go) */
    cr_assert_eq(xssh_sftp_open(&f, sf, remote, XSSH_FXF_READ | XSSH_FXF_WRITE | XSSH_FXF_APPEND, 0), XSSH_OK, "%s",
                 last_msg());
    char b[8];
    size_t r = 9;
    cr_assert_eq(xssh_sftp_file_read(f, b, sizeof b, &r), XSSH_OK, "%s", last_msg());
    cr_assert_eq(r, 0, "read at the end");
    cr_assert_eq(xssh_sftp_file_write(f, "er", 2, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_sftp_file_close(f), XSSH_OK, "%s", last_msg());
    xssh_sftp_file_unref(f);
    got = xt_slurp(local, &len);
    cr_assert_eq(len, 5);
    cr_assert_eq(memcmp(got, "newer", 5), 0, "content '%s'", got);
    free(got);
    /* a missing file without CREAT: the open fails as before */
    unlink(local);
    int rc = xssh_sftp_open(&f, sf, remote, XSSH_FXF_WRITE | XSSH_FXF_APPEND, 0);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "rc %d: %s", rc, last_msg());
}

Test(sizes, sftp_append_openssh, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *path = xt_tmppath("append");
    append_twice(sf, path, path);
    free(path);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* tests/harness/offset_sftp_server.py on its own port, serving root */
typedef struct offset_server {
    pid_t pid;
    int stdin_fd;
    int port;
} offset_server;

static offset_server offset_server_start(const char *root)
{
    char script[PATH_MAX];
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    cr_assert_not_null(slash, "__FILE__ is not a path: %s", __FILE__);
    snprintf(slash, sizeof script - (size_t)(slash - script), "/../harness/offset_sftp_server.py");
    const char *py = getenv("XSSH_TEST_ASYNCSSH_PYTHON");
    if (!py || !*py)
        py = "/usr/bin/python3"; /* Debian's python3-asyncssh */
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
        execl(py, py, script, "--root", root, "--lifetime", "120", (char *)NULL);
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
    offset_server srv = {pid, in[1], atoi(line)};
    cr_assert_gt(srv.port, 0, "%s %s did not start (needs python3-asyncssh); said '%s'", py, script, line);
    return srv;
}

static void offset_server_stop(offset_server *srv)
{
    close(srv->stdin_fd); /* the server exits when its stdin closes */
    int st = 0;
    waitpid(srv->pid, &st, 0);
}

Test(sizes, sftp_append_offset_honouring_server, .timeout = 120)
{
    char *root = xt_tmppath("offset-root");
    cr_assert_eq(mkdir(root, 0700), 0, "%s", strerror(errno));
    offset_server srv = offset_server_start(root);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_session_connect(s, "127.0.0.1", srv.port, 20000), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_OFF, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_password(s, "any", "any"), XSSH_OK, "%s", last_msg());
    xssh_session_set_timeout(s, 20000);
    xssh_sftp *sf = sftp_of(s);

    /* the server really writes at the offset: without APPEND handling in xssh
       this is what an APPEND handle used to do */
    char local[PATH_MAX];
    snprintf(local, sizeof local, "%s/plain", root);
    xt_spit(local, "hello ", 6, 0644);
    xssh_sftp_file *f = NULL;
    cr_assert_eq(xssh_sftp_open(&f, sf, "/plain", XSSH_FXF_WRITE, 0), XSSH_OK, "%s", last_msg());
    size_t w = 0;
    cr_assert_eq(xssh_sftp_file_write(f, "HE", 2, &w), XSSH_OK, "%s", last_msg());
    xssh_sftp_file_unref(f);
    size_t len = 0;
    unsigned char *got = xt_slurp(local, &len);
    cr_assert_eq(len, 6);
    cr_assert_eq(memcmp(got, "HEllo ", 6), 0, "the server did not write at offset 0: '%s'", got);
    free(got);

    snprintf(local, sizeof local, "%s/append", root);
    append_twice(sf, "/append", local);

    /* the whole-file put and get work against it too */
    cr_assert_eq(xssh_sftp_put_buffer(sf, "0123456789", 10, "/put", NULL, NULL), XSSH_OK, "%s", last_msg());
    char *buf = NULL;
    cr_assert_eq(xssh_sftp_get_buffer(sf, "/put", &buf, &len, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(len, 10);
    cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
    xssh_free(buf);

    /* an answer longer than libssh2's old 8 KiB link buffer: this server's
       realpath echoes a path that does not exist (OpenSSH's would refuse it) */
    char longp[20101];
    for (int i = 0; i < 100; i++) {
        longp[i * 201] = '/';
        memset(longp + i * 201 + 1, 'a' + i % 26, 200);
    }
    longp[20100] = '\0';
    char *real = NULL;
    cr_assert_eq(xssh_sftp_realpath(sf, longp, &real), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(real, longp);
    xssh_free(real);

    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    offset_server_stop(&srv);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
    free(root);
}

/* ---- SCP modes ---------------------------------------------------------------- */

Test(sizes, scp_modes, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    char *remote = xt_tmppath("scp-mode");
    xssh_channel *c = NULL;
    /* libssh2 writes "C0%o": 04755 would read as mode 0475 and a garbled size */
    int rc = xssh_session_scp_send64(s, remote, 04755, 3, 0, 0, &c);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "07000"), "%s", last_msg());
    cr_assert_null(c);
    cr_assert_eq(xssh_session_scp_send(s, remote, -1, 3, &c), XSSH_EARG);
    cr_assert_eq(xssh_session_scp_send(s, remote, 0200644, 3, &c), XSSH_EARG);
    /* S_IFREG | 0640 (a stat mode) is fine */
    cr_assert_eq(xssh_session_scp_send(s, remote, S_IFREG | 0640, 3, &c), XSSH_OK, "%s", last_msg());
    size_t w = 0;
    cr_assert_eq(xssh_channel_write(c, "abc", 3, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_write(c, "", 1, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_send_eof(c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_wait_closed(c), XSSH_OK, "%s", last_msg());
    xssh_channel_unref(c);
    struct stat st;
    cr_assert_eq(stat(remote, &st), 0);
    cr_assert_eq(st.st_size, 3);
    unlink(remote);

    /* scp_put of a setuid local file: the special bits are dropped, the put works */
    char *local = xt_tmppath("scp-suid");
    xt_spit(local, "data", 4, 0755);
    cr_assert_eq(chmod(local, 04755), 0);
    cr_assert_eq(xssh_session_scp_put(s, local, remote, NULL, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(stat(remote, &st), 0);
    cr_assert_eq(st.st_size, 4);
    cr_assert_eq(st.st_mode & 07777, 0755, "mode %o", (unsigned)(st.st_mode & 07777));
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.mode = 02755;
    rc = xssh_session_scp_put(s, local, remote, &o, NULL);
    cr_assert_eq(rc, XSSH_EARG, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "opts->mode"), "%s", last_msg());
    unlink(remote);
    unlink(local);
    free(local);
    free(remote);
    session_alive(s);
    xssh_session_unref(s);
}
