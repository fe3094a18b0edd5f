/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh_session_run / _run_stream against the real sshd: both streams at once
 * (tens of MiB each, no deadlock), stdin while reading, exit status and signal,
 * total and inactivity timeouts, streaming with cancel, callbacks outside the
 * session lock, bad input. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"


static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static xssh_run_result *run_ok(xssh_session *s, const char *cmd, const xssh_run_options *o)
{
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, cmd, o, &r), XSSH_OK, "run %s: %s", cmd, last_msg());
    cr_assert_not_null(r);
    return r;
}

Test(run, basic_streams_and_status, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_run_result *r = run_ok(s, "echo out; echo err >&2; exit 3", NULL);
    cr_assert_eq(r->out_len, 4);
    cr_assert_str_eq(r->out, "out\n");
    cr_assert_str_eq(r->err, "err\n");
    cr_assert_eq(r->have_exit_status, 1);
    cr_assert_eq(r->exit_status, 3);
    cr_assert_null(r->exit_signal);
    xssh_run_result_free(r);

    r = run_ok(s, "true", NULL);
    cr_assert_eq(r->out_len, 0);
    cr_assert_str_eq(r->out, "");
    cr_assert_eq(r->err_len, 0);
    cr_assert_eq(r->have_exit_status, 1);
    cr_assert_eq(r->exit_status, 0);
    xssh_run_result_free(r);

    r = run_ok(s, "exit 255", NULL);
    cr_assert_eq(r->exit_status, 255);
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

Test(run, exit_signal, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_run_result *r = run_ok(s, "echo before; kill -TERM $$", NULL);
    cr_assert_str_eq(r->out, "before\n");
    cr_assert_not_null(r->exit_signal);
    cr_assert_str_eq(r->exit_signal, "TERM");
    cr_assert_eq(r->have_exit_status, 0);
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

static int check_pattern(const char *p, size_t n, const char *unit)
{
    size_t u = strlen(unit);
    for (size_t i = 0; i < n; i++)
        if (p[i] != unit[i % u])
            return 0;
    return 1;
}

Test(run, big_stdout_and_stderr_at_once, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    size_t n = xt_size((size_t)64 << 20);
    char cmd[512];
    /* 16-byte lines; both streams written concurrently by two processes */
    snprintf(cmd, sizeof cmd,
             "(yes 0123456789abcde | head -c %zu) & (yes ZYXWVUTSRQPONML | head -c %zu >&2) & wait", n, n);
    long long t0 = now_ms();
    xssh_run_result *r = run_ok(s, cmd, NULL);
    cr_assert_eq(r->out_len, n, "stdout %zu bytes", r->out_len);
    cr_assert_eq(r->err_len, n, "stderr %zu bytes", r->err_len);
    cr_assert(check_pattern(r->out, n, "0123456789abcde\n"), "stdout content");
    cr_assert(check_pattern(r->err, n, "ZYXWVUTSRQPONML\n"), "stderr content");
    cr_assert_eq(r->exit_status, 0);
    cr_assert_eq(r->have_exit_status, 1);
    cr_log_info("2 x %zu bytes in %lld ms", n, now_ms() - t0);
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

Test(run, stdin_written_while_reading, .timeout = 180)
{
    xssh_session *s = xt_connect_auth();
    size_t n = xt_size((size_t)16 << 20);
    unsigned char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i ^ (i >> 8));
    xssh_run_options o = {0};
    o.stdin_data = data;
    o.stdin_len = n;
    /* cat echoes everything: more than any window, so stdin must be fed while reading */
    xssh_run_result *r = run_ok(s, "cat; echo done >&2", &o);
    cr_assert_eq(r->out_len, n);
    cr_assert_eq(memcmp(r->out, data, n), 0, "byte-exact");
    cr_assert_str_eq(r->err, "done\n");
    xssh_run_result_free(r);

    o.stdin_len = 123457;
    r = run_ok(s, "wc -c", &o);
    cr_assert_eq(atol(r->out), 123457);
    xssh_run_result_free(r);

    /* the command exits without reading its stdin: no hang, no error */
    o.stdin_len = n;
    r = run_ok(s, "echo ignored-stdin", &o);
    cr_assert_str_eq(r->out, "ignored-stdin\n");
    xssh_run_result_free(r);
    free(data);
    xssh_session_unref(s);
}

Test(run, merge_and_pty, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_run_options o = {0};
    o.merge_stderr = 1;
    xssh_run_result *r = run_ok(s, "echo a; echo b >&2; sleep 0.1; echo c", &o);
    cr_assert_str_eq(r->out, "a\nb\nc\n");
    cr_assert_eq(r->err_len, 0);
    xssh_run_result_free(r);

    memset(&o, 0, sizeof o);
    o.pty = 1;
    r = run_ok(s, "tty; echo e >&2", &o);
    cr_assert(strstr(r->out, "/dev/pts/") != NULL, "tty: %s", r->out);
    cr_assert(strstr(r->out, "e\r\n") != NULL, "stderr on the pty: %s", r->out);
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

Test(run, total_timeout, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_run_options o = {0};
    o.timeout_ms = 1000;
    xssh_run_result *r = (xssh_run_result *)1;
    long long t0 = now_ms();
    cr_assert_eq(xssh_session_run(s, "echo started; sleep 30", &o, &r), XSSH_ETIMEOUT);
    long long dt = now_ms() - t0;
    cr_assert_null(r);
    cr_assert(dt >= 900 && dt < 6000, "timed out after %lld ms", dt);
    cr_assert(strstr(last_msg(), "timed out") != NULL, "%s", last_msg());
    /* the session is still usable */
    r = run_ok(s, "echo after", NULL);
    cr_assert_str_eq(r->out, "after\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

Test(run, idle_timeout, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_run_options o = {0};
    o.idle_timeout_ms = 1000;
    xssh_run_result *r = NULL;
    long long t0 = now_ms();
    cr_assert_eq(xssh_session_run(s, "echo x; sleep 30", &o, &r), XSSH_ETIMEOUT);
    long long dt = now_ms() - t0;
    cr_assert(dt >= 900 && dt < 6000, "idle timeout after %lld ms", dt);
    cr_assert(strstr(last_msg(), "idle") != NULL, "%s", last_msg());
    /* steady output keeps an idle timeout from firing, even past its length in total */
    r = run_ok(s, "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.25; done", &o);
    cr_assert_str_eq(r->out, "1\n2\n3\n4\n5\n6\n7\n8\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

typedef struct counter {
    size_t bytes[2];
    int calls;
    int cancel_after;
    xssh_session *s;
    int nested_ok;
} counter;

static int count_cb(int stream, const char *data, size_t len, void *ud)
{
    counter *c = ud;
    cr_assert(stream == 0 || stream == 1);
    c->bytes[stream] += len;
    c->calls++;
    return c->cancel_after && c->calls >= c->cancel_after;
}

Test(run, stream_sees_everything, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    counter c = {{0, 0}, 0, 0, NULL, 0};
    int st = -1, have = -1;
    char *sig = (char *)1;
    size_t n = xt_size((size_t)8 << 20);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/zero; head -c 1000 /dev/zero >&2; exit 4", n);
    cr_assert_eq(xssh_session_run_stream(s, cmd, NULL, count_cb, &c, &st, &have, &sig), XSSH_OK, "%s", last_msg());
    cr_assert_eq(c.bytes[0], n);
    cr_assert_eq(c.bytes[1], 1000);
    cr_assert_gt(c.calls, 2, "output delivered as it arrives, in pieces");
    cr_assert_eq(st, 4);
    cr_assert_eq(have, 1);
    cr_assert_null(sig);
    xssh_session_unref(s);
}

Test(run, stream_cancel, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    counter c = {{0, 0}, 0, 2, NULL, 0};
    long long t0 = now_ms();
    /* an endless producer (paced, so the test does not measure flooding) */
    int rc = xssh_session_run_stream(s, "while :; do echo tick; sleep 0.05; done", NULL, count_cb, &c, NULL, NULL,
                                     NULL);
    cr_assert_eq(rc, XSSH_ECANCELLED, "%s", last_msg());
    cr_assert_eq(c.calls, 2);
    cr_assert_lt(now_ms() - t0, 10000);
    xssh_run_result *r = run_ok(s, "echo fine", NULL);
    cr_assert_str_eq(r->out, "fine\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

static void *nested_run(void *arg)
{
    counter *c = arg;
    xssh_run_result *r = NULL;
    if (xssh_session_run(c->s, "echo nested", NULL, &r) == XSSH_OK && strcmp(r->out, "nested\n") == 0)
        c->nested_ok++;
    xssh_run_result_free(r);
    return NULL;
}

/* The callback starts ANOTHER thread that uses the session and waits for it:
   this deadlocks if callbacks ran under the session lock. */
static int nested_cb(int stream, const char *data, size_t len, void *ud)
{
    counter *c = ud;
    c->calls++;
    if (c->calls == 1) {
        pthread_t t;
        pthread_create(&t, NULL, nested_run, c);
        pthread_join(t, NULL);
    }
    return 0;
}

Test(run, callback_outside_the_lock, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    counter c = {{0, 0}, 0, 0, s, 0};
    cr_assert_eq(xssh_session_run_stream(s, "echo first; sleep 0.2; echo second", NULL, nested_cb, &c, NULL, NULL, NULL),
                 XSSH_OK, "%s", last_msg());
    cr_assert_eq(c.nested_ok, 1);
    xssh_session_unref(s);
}

typedef struct par {
    xssh_session *s;
    int ok;
} par;

static void *par_run(void *arg)
{
    par *p = arg;
    size_t n = xt_size((size_t)8 << 20);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/zero; head -c %zu /dev/zero >&2", n, n / 2);
    xssh_run_result *r = NULL;
    if (xssh_session_run(p->s, cmd, NULL, &r) == XSSH_OK && r->out_len == n && r->err_len == n / 2)
        p->ok = 1;
    xssh_run_result_free(r);
    return NULL;
}

Test(run, concurrent_runs_on_one_session, .timeout = 180)
{
    xssh_session *s = xt_connect_auth();
    enum { N = 4 };
    pthread_t t[N];
    par p[N];
    for (int i = 0; i < N; i++) {
        p[i].s = s;
        p[i].ok = 0;
        pthread_create(&t[i], NULL, par_run, &p[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        cr_assert(p[i].ok, "run %d failed", i);
    xssh_session_unref(s);
}

Test(run, nonblocking_session_still_completes, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    xssh_run_result *r = run_ok(s, "sleep 0.2; echo nb", NULL);
    cr_assert_str_eq(r->out, "nb\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

Test(run, bad_arguments, .timeout = 30)
{
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(NULL, "true", NULL, &r), XSSH_EARG);
    cr_assert_eq(xssh_session_run_stream(NULL, "true", NULL, count_cb, NULL, NULL, NULL, NULL), XSSH_EARG);
    xssh_run_result_free(NULL);
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_run(s, NULL, NULL, &r), XSSH_EARG);
    cr_assert_eq(xssh_session_run(s, "true", NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_run_stream(s, "true", NULL, NULL, NULL, NULL, NULL, NULL), XSSH_EARG);
    xssh_run_options o = {0};
    o.stdin_len = 5;
    cr_assert_eq(xssh_session_run(s, "true", &o, &r), XSSH_EARG);
    o.stdin_len = 0;
    o.timeout_ms = -1;
    cr_assert_eq(xssh_session_run(s, "true", &o, &r), XSSH_EARG);
    cr_assert_null(r);
    xssh_session *fresh = NULL;
    cr_assert_eq(xssh_session_new(&fresh), XSSH_OK);
    cr_assert_eq(xssh_session_run(fresh, "true", NULL, &r), XSSH_ENOTCONNECTED);
    xssh_session_unref(fresh);
    xssh_session_unref(s);
}

Test(run, waits_for_exit_after_outputs_close, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    /* the command closes stdout/stderr, then runs on: run() waits for its exit status */
    xssh_run_result *r = run_ok(s, "echo bye; exec >&- 2>&-; sleep 1; exit 6", NULL);
    cr_assert_str_eq(r->out, "bye\n");
    cr_assert_eq(r->have_exit_status, 1);
    cr_assert_eq(r->exit_status, 6);
    xssh_run_result_free(r);
    /* ... bounded by the inactivity timeout */
    xssh_run_options o = {0};
    o.idle_timeout_ms = 500;
    long long t0 = now_ms();
    cr_assert_eq(xssh_session_run(s, "exec >&- 2>&-; sleep 30", &o, &r), XSSH_ETIMEOUT);
    cr_assert_lt(now_ms() - t0, 6000);
    r = run_ok(s, "echo still-usable", NULL);
    cr_assert_str_eq(r->out, "still-usable\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
}
