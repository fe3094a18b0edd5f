/* SPDX-License-Identifier: BSD-3-Clause */
/* Channels against the real sshd: exec, exit status/signal, both streams, PTY
 * and shell, setenv, subsystem, binary stdin round trip, EOF/close ordering,
 * non-blocking EAGAIN loops, timeouts, threads, closed objects, bad input. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"


static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static xssh_channel *open_ch(xssh_session *s)
{
    xssh_channel *c = NULL;
    cr_assert_eq(xssh_channel_open_session(&c, s), XSSH_OK, "open: %s", last_msg());
    cr_assert_not_null(c);
    return c;
}

static xssh_channel *exec_ch(xssh_session *s, const char *cmd)
{
    xssh_channel *c = open_ch(s);
    cr_assert_eq(xssh_channel_execute(c, cmd), XSSH_OK, "exec %s: %s", cmd, last_msg());
    return c;
}

/* Blocking: read stream until EOF into a NUL-terminated malloc'd string. */
static char *read_all(xssh_channel *c, int stream, size_t *len_out)
{
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    for (;;) {
        if (cap - len < 2048)
            p = realloc(p, cap *= 2);
        size_t got = 0;
        int rc = xssh_channel_read_ex(c, stream, p + len, cap - len - 1, &got);
        cr_assert_eq(rc, XSSH_OK, "read(%d): %s", stream, last_msg());
        if (got == 0)
            break;
        len += got;
    }
    p[len] = '\0';
    if (len_out)
        *len_out = len;
    return p;
}

static void close_ch(xssh_channel *c)
{
    cr_assert_eq(xssh_channel_close(c), XSSH_OK, "close: %s", last_msg());
}

Test(channel, exec_exit_codes, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    int codes[] = {0, 1, 2, 3, 255};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "echo out%d; echo err%d >&2; exit %d", codes[i], codes[i], codes[i]);
        xssh_channel *c = exec_ch(s, cmd);
        char *out = read_all(c, XSSH_STREAM_STDOUT, NULL);
        char *err = read_all(c, XSSH_STREAM_STDERR, NULL);
        char want[32];
        snprintf(want, sizeof want, "out%d\n", codes[i]);
        cr_assert_str_eq(out, want);
        snprintf(want, sizeof want, "err%d\n", codes[i]);
        cr_assert_str_eq(err, want, "stderr kept apart");
        close_ch(c);
        int st = -1, have = -1;
        cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
        cr_assert_eq(have, 1, "exit status received");
        cr_assert_eq(st, codes[i]);
        char *sig = (char *)1;
        cr_assert_eq(xssh_channel_get_exit_signal(c, &sig, NULL, NULL), XSSH_OK);
        cr_assert_null(sig);
        free(out);
        free(err);
        xssh_channel_unref(c);
    }
    xssh_session_unref(s);
}

Test(channel, exit_status_not_yet, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "read x; exit $x");
    int st = -1, have = -1;
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
    cr_assert_eq(have, 0, "no exit status while the process runs");
    cr_assert_eq(st, 0);
    size_t w = 0;
    cr_assert_eq(xssh_channel_write(c, "0\n", 2, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, 2);
    cr_assert_eq(xssh_channel_send_eof(c), XSSH_OK);
    free(read_all(c, 0, NULL));
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK, "%s", last_msg());
    close_ch(c);
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
    cr_assert_eq(have, 1, "exited with 0 is told apart from no status");
    cr_assert_eq(st, 0);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, exit_signal, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "kill -TERM $$");
    free(read_all(c, 0, NULL));
    close_ch(c);
    char *name = NULL, *msg = NULL, *lang = NULL;
    cr_assert_eq(xssh_channel_get_exit_signal(c, &name, &msg, &lang), XSSH_OK, "%s", last_msg());
    cr_assert_not_null(name);
    cr_assert_str_eq(name, "TERM");
    int st = -1, have = -1;
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
    cr_assert_eq(have, 0, "a signal is not an exit status");
    xssh_free(name);
    xssh_free(msg);
    xssh_free(lang);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, merge_stderr, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = open_ch(s);
    cr_assert_eq(xssh_channel_handle_extended_data(c, XSSH_EXTENDED_DATA_MERGE), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_execute(c, "echo one; echo two >&2; sleep 0.2; echo three"), XSSH_OK);
    char *out = read_all(c, 0, NULL);
    cr_assert_str_eq(out, "one\ntwo\nthree\n");
    free(out);
    char *err = read_all(c, 1, NULL);
    cr_assert_str_eq(err, "");
    free(err);
    cr_assert_eq(xssh_channel_handle_extended_data(c, 7), XSSH_EARG);
    close_ch(c);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

/* read (blocking) until needle shows up in the accumulated stdout */
static void read_until(xssh_channel *c, const char *needle, char *acc, size_t cap)
{
    size_t len = strlen(acc);
    while (!strstr(acc, needle)) {
        size_t got = 0;
        cr_assert(len < cap - 1, "no '%s' in: %s", needle, acc);
        cr_assert_eq(xssh_channel_read(c, acc + len, cap - 1 - len, &got), XSSH_OK, "%s", last_msg());
        cr_assert_gt(got, 0, "EOF before '%s' in: %s", needle, acc);
        len += got;
        acc[len] = '\0';
    }
}

Test(channel, pty_shell, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = open_ch(s);
    cr_assert_eq(xssh_channel_pty(c, "xterm", NULL, 0, 80, 24, 0, 0), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_shell(c), XSSH_OK, "%s", last_msg());
    size_t w;
    const char *cmd = "echo hello-$((6*7)); stty size\n";
    cr_assert_eq(xssh_channel_write(c, cmd, strlen(cmd), &w), XSSH_OK);
    static char acc[65536];
    acc[0] = '\0';
    read_until(c, "hello-42", acc, sizeof acc);
    read_until(c, "24 80", acc, sizeof acc);
    cr_assert_eq(xssh_channel_pty_size(c, 100, 40, 0, 0), XSSH_OK, "%s", last_msg());
    acc[0] = '\0';
    cmd = "stty size; tty\n";
    cr_assert_eq(xssh_channel_write(c, cmd, strlen(cmd), &w), XSSH_OK);
    read_until(c, "40 100", acc, sizeof acc);
    read_until(c, "/dev/pts/", acc, sizeof acc);
    cmd = "exit 5\n";
    cr_assert_eq(xssh_channel_write(c, cmd, strlen(cmd), &w), XSSH_OK);
    free(read_all(c, 0, NULL));
    close_ch(c);
    int st = -1, have = -1;
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
    cr_assert_eq(have, 1);
    cr_assert_eq(st, 5);
    cr_assert_eq(xssh_channel_pty_size(c, 10, 10, 0, 0), XSSH_ECLOSED);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, setenv_accepted_and_refused, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = open_ch(s);
    cr_assert_eq(xssh_channel_setenv(c, "XSSH_TEST_VAR", "hello world"), XSSH_OK, "%s", last_msg());
    int rc = xssh_channel_setenv(c, "NOT_ACCEPTED_VAR", "x");
    cr_assert_neq(rc, XSSH_OK, "sshd refuses variables outside AcceptEnv");
    cr_assert_eq(xssh_channel_execute(c, "printf '%s|%s' \"$XSSH_TEST_VAR\" \"${NOT_ACCEPTED_VAR-unset}\""), XSSH_OK);
    char *out = read_all(c, 0, NULL);
    cr_assert_str_eq(out, "hello world|unset");
    free(out);
    close_ch(c);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, subsystem_sftp, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = open_ch(s);
    cr_assert_eq(xssh_channel_subsystem(c, "sftp"), XSSH_OK, "%s", last_msg());
    /* SSH_FXP_INIT version 3 → SSH_FXP_VERSION */
    const unsigned char init[9] = {0, 0, 0, 5, 1, 0, 0, 0, 3};
    size_t w = 0;
    cr_assert_eq(xssh_channel_write(c, init, sizeof init, &w), XSSH_OK);
    cr_assert_eq(w, sizeof init);
    unsigned char reply[4096];
    size_t have = 0;
    while (have < 9) {
        size_t got = 0;
        cr_assert_eq(xssh_channel_read(c, reply + have, sizeof reply - have, &got), XSSH_OK);
        cr_assert_gt(got, 0);
        have += got;
    }
    cr_assert_eq(reply[4], 2, "SSH_FXP_VERSION");
    cr_assert_eq(reply[8], 3, "version 3");
    cr_assert_eq(xssh_channel_subsystem(c, NULL), XSSH_EARG);
    close_ch(c);
    xssh_channel_unref(c);

    c = open_ch(s);
    cr_assert_neq(xssh_channel_subsystem(c, "no-such-subsystem"), XSSH_OK);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

/* Binary round trip through cat, non-blocking, driven by poll(): all 256 byte values. */
Test(channel, cat_binary_nonblocking, .timeout = 180)
{
    xssh_session *s = xt_connect_auth();
    size_t n = xt_size(10u << 20);
    unsigned char *data = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 7 + i / 256);
    xssh_channel *c = exec_ch(s, "cat");
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    int fd = -1;
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK);
    size_t off = 0, got_total = 0;
    int eof_sent = 0, eagains = 0;
    {
        /* cat has no input yet: a non-blocking read cannot have data */
        size_t got = 99;
        cr_assert_eq(xssh_channel_read(c, back, n, &got), XSSH_EAGAIN, "%s", last_msg());
        cr_assert_eq(got, 0);
        eagains++;
    }
    long long deadline = now_ms() + 150000;
    while (got_total < n) {
        cr_assert_lt(now_ms(), deadline, "stuck at %zu/%zu written, %zu read", off, n, got_total);
        int moved = 0;
        if (off < n) {
            size_t w = 0;
            int rc = xssh_channel_write(c, data + off, n - off, &w);
            cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "write: %s", last_msg());
            off += w;
            moved |= w > 0;
            eagains += rc == XSSH_EAGAIN;
        } else if (!eof_sent) {
            int rc = xssh_channel_send_eof(c);
            cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "send_eof: %s", last_msg());
            eof_sent = rc == XSSH_OK;
        }
        size_t got = 0;
        int rc = xssh_channel_read(c, back + got_total, n - got_total, &got);
        cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "read: %s", last_msg());
        if (rc == XSSH_OK)
            cr_assert_gt(got, 0, "early EOF at %zu", got_total);
        else
            eagains++;
        got_total += got;
        moved |= got > 0;
        if (!moved) {
            int dirs = 0;
            cr_assert_eq(xssh_session_block_directions(s, &dirs), XSSH_OK);
            struct pollfd p = {fd, (short)((dirs & XSSH_BLOCK_INBOUND ? POLLIN : 0) |
                                           (dirs & XSSH_BLOCK_OUTBOUND ? POLLOUT : 0)), 0};
            if (!p.events)
                p.events = POLLIN;
            poll(&p, 1, 100);
        }
    }
    cr_assert_eq(memcmp(data, back, n), 0, "byte-exact round trip");
    cr_assert_gt(eagains, 0, "non-blocking mode reported EAGAIN at least once");
    int rc;
    while (!eof_sent) { /* all data may have come back before EOF was sent */
        rc = xssh_channel_send_eof(c);
        cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "send_eof: %s", last_msg());
        eof_sent = rc == XSSH_OK;
    }
    /* wait for the server's EOF before closing (closing earlier may beat the exit status) */
    for (;;) {
        cr_assert_lt(now_ms(), deadline, "no EOF");
        size_t got = 0;
        rc = xssh_channel_read(c, back, n, &got);
        if (rc == XSSH_EAGAIN) {
            struct pollfd p = {fd, POLLIN, 0};
            poll(&p, 1, 100);
            continue;
        }
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        cr_assert_eq(got, 0, "no extra data");
        break;
    }
    while ((rc = xssh_channel_close(c)) == XSSH_EAGAIN)
        usleep(1000);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_set_blocking(s, 1), XSSH_OK);
    int st = -1, have = -1;
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
    cr_assert_eq(have, 1);
    cr_assert_eq(st, 0);
    free(data);
    free(back);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, stdin_then_eof_wc, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "wc -c");
    size_t n = 300000, w = 0;
    char *data = malloc(n);
    memset(data, 'x', n);
    cr_assert_eq(xssh_channel_write(c, data, n, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, n);
    cr_assert_eq(xssh_channel_send_eof(c), XSSH_OK);
    char *out = read_all(c, 0, NULL);
    cr_assert_eq(atol(out), (long)n, "wc -c said %s", out);
    int is_eof = 0;
    cr_assert_eq(xssh_channel_eof(c, &is_eof), XSSH_OK);
    cr_assert_eq(is_eof, 1);
    free(out);
    free(data);
    close_ch(c);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, eof_close_wait_closed_order, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "echo hi; exit 7");
    int is_eof = -1;
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_eof(c, &is_eof), XSSH_OK);
    cr_assert_eq(is_eof, 0, "unread data masks EOF");
    char *out = read_all(c, 0, NULL);
    cr_assert_str_eq(out, "hi\n");
    free(out);
    cr_assert_eq(xssh_channel_eof(c, &is_eof), XSSH_OK);
    cr_assert_eq(is_eof, 1);
    cr_assert_eq(xssh_channel_close(c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_wait_closed(c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_close(c), XSSH_OK, "close is idempotent");
    int closed = 0;
    cr_assert_eq(xssh_channel_is_closed(c, &closed), XSSH_OK);
    cr_assert_eq(closed, 1);
    int st = -1, have = -1;
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_OK);
    cr_assert_eq(have, 1);
    cr_assert_eq(st, 7);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, closed_channel_is_eclosed, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "true");
    close_ch(c);
    char b[16];
    size_t n = 99;
    /* reads hand out what was received before the close (nothing here): end of stream */
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, &n), XSSH_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK);
    cr_assert_eq(xssh_channel_write(c, "x", 1, &n), XSSH_ECLOSED);
    cr_assert_eq(n, 0);
    cr_assert_eq(xssh_channel_execute(c, "true"), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_shell(c), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_setenv(c, "XSSH_A", "b"), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_send_eof(c), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_flush(c, NULL), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_pty(c, NULL, NULL, 0, 0, 0, 0, 0), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_read_stderr(c, b, sizeof b, &n), XSSH_OK);
    cr_assert_eq(n, 0);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

/* ssh2-python (libssh2) semantics: data received before close() is still readable after it */
Test(channel, buffered_data_readable_after_close, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "printf buffered; printf err >&2");
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK); /* everything is in, nothing read */
    close_ch(c);
    char b[64];
    size_t n = 0;
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, &n), XSSH_OK);
    cr_assert_eq(n, 8);
    cr_assert_arr_eq(b, "buffered", 8);
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, &n), XSSH_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(xssh_channel_read_stderr(c, b, sizeof b, &n), XSSH_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, closed_session, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "sleep 5");
    xssh_channel *c2 = NULL;
    cr_assert_eq(xssh_session_close(s), XSSH_OK);
    char b[16];
    size_t n;
    int st, have, e;
    unsigned long win;
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, &n), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_write(c, "x", 1, &n), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_close(c), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_wait_closed(c), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_eof(c, &e), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_get_exit_status(c, &st, &have), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_window_read(c, &win), XSSH_ECLOSED);
    cr_assert_eq(xssh_channel_open_session(&c2, s), XSSH_ECLOSED);
    cr_assert_null(c2);
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "true", NULL, &r), XSSH_ECLOSED);
    /* the session handle goes first, the channel after: no crash, no leak */
    xssh_session_unref(s);
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, &n), XSSH_ECLOSED);
    xssh_channel_unref(c);
}

Test(channel, session_released_first, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = open_ch(s);
    xssh_session *back = NULL;
    cr_assert_eq(xssh_channel_session(c, &back), XSSH_OK);
    cr_assert_eq(back, s);
    xssh_session_unref(s); /* the channel keeps its session alive */
    cr_assert_eq(xssh_channel_execute(c, "echo still-here"), XSSH_OK, "%s", last_msg());
    char *out = read_all(c, 0, NULL);
    cr_assert_str_eq(out, "still-here\n");
    free(out);
    xssh_channel_unref(c); /* not closed: orphaned, freed with the session */
}

Test(channel, unref_open_channels_orphans, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    for (int i = 0; i < 5; i++) {
        xssh_channel *c = exec_ch(s, "echo pending-output; sleep 0.2");
        xssh_channel_unref(c); /* not closed, output unread */
    }
    /* the session's next calls close the orphans; it keeps working */
    for (int i = 0; i < 3; i++) {
        xssh_channel *c = exec_ch(s, "echo ok");
        char *out = read_all(c, 0, NULL);
        cr_assert_str_eq(out, "ok\n");
        free(out);
        close_ch(c);
        xssh_channel_unref(c);
    }
    xssh_session_unref(s);
}

Test(channel, bad_arguments, .timeout = 30)
{
    xssh_channel *c = NULL;
    char b[4];
    size_t n;
    int x;
    unsigned long w;
    cr_assert_eq(xssh_channel_open_session(NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_open_session(&c, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_execute(NULL, "x"), XSSH_EARG);
    cr_assert_eq(xssh_channel_shell(NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_subsystem(NULL, "sftp"), XSSH_EARG);
    cr_assert_eq(xssh_channel_pty(NULL, "xterm", NULL, 0, 80, 24, 0, 0), XSSH_EARG);
    cr_assert_eq(xssh_channel_pty_size(NULL, 80, 24, 0, 0), XSSH_EARG);
    cr_assert_eq(xssh_channel_setenv(NULL, "A", "b"), XSSH_EARG);
    cr_assert_eq(xssh_channel_read(NULL, b, sizeof b, &n), XSSH_EARG);
    cr_assert_eq(xssh_channel_read_ex(NULL, 0, b, sizeof b, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_write(NULL, "x", 1, &n), XSSH_EARG);
    cr_assert_eq(xssh_channel_write_ex(NULL, 0, "x", 1, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_flush(NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_send_eof(NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_eof(NULL, &x), XSSH_EARG);
    cr_assert_eq(xssh_channel_wait_eof(NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_close(NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_wait_closed(NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_get_exit_status(NULL, &x, &x), XSSH_EARG);
    cr_assert_eq(xssh_channel_get_exit_signal(NULL, NULL, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_window_read(NULL, &w), XSSH_EARG);
    cr_assert_eq(xssh_channel_window_write(NULL, &w), XSSH_EARG);
    cr_assert_eq(xssh_channel_receive_window_adjust(NULL, 10, 0, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_handle_extended_data(NULL, 0), XSSH_EARG);
    cr_assert_eq(xssh_channel_x11_req(NULL, 0), XSSH_EARG);
    cr_assert_eq(xssh_channel_signal(NULL, "INT"), XSSH_EARG);
    cr_assert_eq(xssh_channel_is_closed(NULL, &x), XSSH_EARG);
    cr_assert_eq(xssh_channel_session(NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_ref(NULL), NULL);
    xssh_channel_unref(NULL);

    xssh_session *s = xt_connect_auth();
    c = open_ch(s);
    cr_assert_eq(xssh_channel_execute(c, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_read(c, NULL, 10, &n), XSSH_EARG);
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_write(c, NULL, 10, &n), XSSH_EARG);
    cr_assert_eq(xssh_channel_write(c, "x", 1, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_setenv(c, NULL, "x"), XSSH_EARG);
    cr_assert_eq(xssh_channel_setenv(c, "XSSH_A", NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_process_startup(c, NULL, NULL, 0), XSSH_EARG);
    cr_assert_eq(xssh_channel_eof(c, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_window_read(c, NULL), XSSH_EARG);
    cr_assert_eq(xssh_channel_pty_size(c, 0, 0, 0, 0), XSSH_EARG);
    cr_assert_eq(xssh_channel_ref(c), c);
    xssh_channel_unref(c);
    xssh_channel_unref(c);

    /* a session without authentication / connection */
    xssh_session *raw = NULL;
    cr_assert_eq(xssh_session_new(&raw), XSSH_OK);
    cr_assert_eq(xssh_channel_open_session(&c, raw), XSSH_ENOTCONNECTED);
    xssh_session_unref(raw);
    xssh_session_unref(s);
}

Test(channel, windows_flush_misc, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "echo aaaa; echo bbbb >&2; sleep 0.3");
    unsigned long win = 0, avail = 99, init = 0;
    cr_assert_eq(xssh_channel_window_read_ex(c, &win, &avail, &init), XSSH_OK);
    cr_assert_gt(init, 0);
    cr_assert_eq(xssh_channel_window_write_ex(c, &win, &init), XSSH_OK);
    cr_assert_gt(win, 0, "send window open");
    unsigned int nw = 0;
    cr_assert_eq(xssh_channel_receive_window_adjust(c, 65536, 1, &nw), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_wait_eof(c), XSSH_OK, "%s", last_msg());
    size_t flushed = 0;
    cr_assert_eq(xssh_channel_flush_stderr(c, &flushed), XSSH_OK, "%s", last_msg());
    cr_assert_eq(flushed, 5, "the unread stderr was discarded");
    char *out = read_all(c, 0, NULL);
    cr_assert_str_eq(out, "aaaa\n");
    free(out);
    char *err = read_all(c, 1, NULL);
    cr_assert_str_eq(err, "");
    free(err);
    /* X11 and signals: never crash; signals need libssh2 >= 1.11 */
    xssh_channel *c2 = open_ch(s);
    int rc = xssh_channel_x11_req(c2, 0);
    cr_assert(rc == XSSH_OK || rc < 0, "x11_req: %d", rc);
    rc = xssh_channel_signal(c2, "INT");
    if (strncmp(xssh_error_last()->message, "channel signal: unsupported", 27) == 0)
        cr_assert_eq(rc, XSSH_ENOTSUPPORTED);
    xssh_channel_unref(c2);
    close_ch(c);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, nonblocking_eagain, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    int fd = -1, rc, eagains = 0;
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK);
    xssh_channel *c = NULL;
    while ((rc = xssh_channel_open_session(&c, s)) == XSSH_EAGAIN) {
        eagains++;
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 100);
    }
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    while ((rc = xssh_channel_execute(c, "sleep 0.3; echo done")) == XSSH_EAGAIN) {
        eagains++;
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 100);
    }
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    char buf[64];
    size_t len = 0;
    for (;;) {
        size_t got = 0;
        rc = xssh_channel_read(c, buf + len, sizeof buf - 1 - len, &got);
        if (rc == XSSH_EAGAIN) {
            cr_assert_eq(got, 0);
            eagains++;
            struct pollfd p = {fd, POLLIN, 0};
            poll(&p, 1, 100);
            continue;
        }
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        if (got == 0)
            break;
        len += got;
    }
    buf[len] = '\0';
    cr_assert_str_eq(buf, "done\n");
    cr_assert_gt(eagains, 0);
    while ((rc = xssh_channel_close(c)) == XSSH_EAGAIN) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 100);
    }
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

Test(channel, blocking_timeout_leaves_channel_usable, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *c = exec_ch(s, "sleep 2; echo late");
    cr_assert_eq(xssh_session_set_timeout(s, 400), XSSH_OK);
    char b[64];
    size_t got = 99;
    long long t0 = now_ms();
    cr_assert_eq(xssh_channel_read(c, b, sizeof b, &got), XSSH_ETIMEOUT);
    long long dt = now_ms() - t0;
    cr_assert(dt >= 350 && dt < 3000, "timed out after %lld ms", dt);
    cr_assert_eq(got, 0);
    cr_assert_eq(xssh_session_set_timeout(s, 10000), XSSH_OK);
    char *out = read_all(c, 0, NULL);
    cr_assert_str_eq(out, "late\n", "nothing lost by the timeout");
    free(out);
    close_ch(c);
    xssh_channel_unref(c);
    xssh_session_unref(s);
}

/* Two (and more) threads, each with its own channel of ONE session, under load. */
typedef struct worker {
    xssh_session *s;
    size_t bytes;
    int ok;
    char msg[256];
} worker;

static void *cat_worker(void *arg)
{
    worker *w = arg;
    xssh_channel *c = NULL;
    if (xssh_channel_open_session(&c, w->s) != XSSH_OK || xssh_channel_execute(c, "cat") != XSSH_OK) {
        snprintf(w->msg, sizeof w->msg, "open/exec: %s", last_msg());
        xssh_channel_unref(c);
        return NULL;
    }
    enum { BLOCK = 65536 };
    unsigned char *out = malloc(BLOCK), *in = malloc(BLOCK);
    unsigned seed = (unsigned)(uintptr_t)w;
    for (size_t done = 0; done < w->bytes; done += BLOCK) {
        for (int i = 0; i < BLOCK; i++)
            out[i] = (unsigned char)(rand_r(&seed) >> 3);
        size_t wr = 0;
        if (xssh_channel_write(c, out, BLOCK, &wr) != XSSH_OK || wr != BLOCK) {
            snprintf(w->msg, sizeof w->msg, "write: %s", last_msg());
            goto out;
        }
        size_t have = 0;
        while (have < BLOCK) {
            size_t got = 0;
            if (xssh_channel_read(c, in + have, BLOCK - have, &got) != XSSH_OK || got == 0) {
                snprintf(w->msg, sizeof w->msg, "read: %s (got %zu)", last_msg(), got);
                goto out;
            }
            have += got;
        }
        if (memcmp(in, out, BLOCK) != 0) {
            snprintf(w->msg, sizeof w->msg, "data mismatch at %zu", done);
            goto out;
        }
    }
    if (xssh_channel_send_eof(c) == XSSH_OK && xssh_channel_close(c) == XSSH_OK)
        w->ok = 1;
    else
        snprintf(w->msg, sizeof w->msg, "eof/close: %s", last_msg());
out:
    free(out);
    free(in);
    xssh_channel_unref(c);
    return NULL;
}

Test(channel, threads_share_a_session, .timeout = 240)
{
    xssh_session *s = xt_connect_auth();
    enum { N = 3 };
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].s = s;
        w[i].bytes = xt_size(8u << 20);
        pthread_create(&t[i], NULL, cat_worker, &w[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        cr_assert(w[i].ok, "worker %d: %s", i, w[i].msg);
    xssh_session_unref(s);
}

/* Many threads making channel requests (open, setenv, exec) at once on ONE
   session: libssh2 fails a request whose waiter reads another channel's reply,
   so requests must never overlap. */
static void *request_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 8; i++) {
        xssh_channel *c = NULL;
        char val[32], cmd[64];
        snprintf(val, sizeof val, "v%p-%d", (void *)w, i);
        if (xssh_channel_open_session(&c, w->s) != XSSH_OK || xssh_channel_setenv(c, "XSSH_REQ", val) != XSSH_OK ||
            xssh_channel_execute(c, "printf %s \"$XSSH_REQ\"") != XSSH_OK) {
            snprintf(w->msg, sizeof w->msg, "round %d: %s", i, last_msg());
            xssh_channel_unref(c);
            return NULL;
        }
        char out[64];
        size_t len = 0, got = 0;
        while (xssh_channel_read(c, out + len, sizeof out - 1 - len, &got) == XSSH_OK && got > 0)
            len += got;
        out[len] = '\0';
        (void)cmd;
        if (strcmp(out, val) != 0) {
            snprintf(w->msg, sizeof w->msg, "round %d: got '%s' want '%s'", i, out, val);
            xssh_channel_unref(c);
            return NULL;
        }
        xssh_channel_close(c);
        xssh_channel_unref(c);
    }
    w->ok = 1;
    return NULL;
}

Test(channel, concurrent_requests, .timeout = 240)
{
    xssh_session *s = xt_connect_auth();
    enum { N = 8 };
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].s = s;
        pthread_create(&t[i], NULL, request_worker, &w[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        cr_assert(w[i].ok, "worker %d: %s", i, w[i].msg);
    xssh_session_unref(s);
}

/* The rarer calls: stderr writes, flush of one stream, X11 and agent-forwarding
   requests (refused by the test sshd / unsupported by libssh2 1.10), extra references. */
Test(channel, stderr_write_flush_x11_agent_refs, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_ref(ch), ch);
    xssh_channel_unref(ch); /* the extra reference only */
    /* X11Forwarding is off in the test sshd: a clear refusal, and the channel stays usable */
    int rc = xssh_channel_x11_req_ex(ch, 1, "MIT-MAGIC-COOKIE-1", "00112233445566778899aabbccddeeff", 0);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(last_msg(), "x11_req") != NULL, "%s", last_msg());
    rc = xssh_channel_request_auth_agent(ch);
    if (!(xssh_features() & XSSH_FEATURE_AGENT_FORWARDING))
        cr_assert_eq(rc, XSSH_ENOTSUPPORTED, "rc %d: %s", rc, last_msg());
    cr_assert_eq(xssh_channel_execute(ch, "cat"), XSSH_OK, "%s", last_msg());
    size_t w = 0, flushed = 0;
    /* client-to-server extended data is legal SSH; sshd discards it */
    cr_assert_eq(xssh_channel_write_stderr(ch, "ignored", 7, &w), XSSH_OK, "%s", last_msg());
    cr_assert_eq(w, 7);
    cr_assert_eq(xssh_channel_flush_ex(ch, XSSH_STREAM_STDERR, &flushed), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_write(ch, "out", 3, &w), XSSH_OK);
    cr_assert_eq(xssh_channel_send_eof(ch), XSSH_OK);
    char buf[16];
    size_t got = 0, total = 0;
    while (total < 3 && xssh_channel_read(ch, buf + total, sizeof buf - total, &got) == XSSH_OK && got)
        total += got;
    cr_assert_eq(total, 3);
    cr_assert(memcmp(buf, "out", 3) == 0, "only stdin comes back from cat");
    cr_assert_eq(xssh_channel_wait_eof(ch), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_close(ch), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_wait_closed(ch), XSSH_OK, "%s", last_msg());
    xssh_channel_unref(ch);
    xssh_session_unref(s);
}
