/* SPDX-License-Identifier: BSD-3-Clause */
/* The multi interface's event-loop additions (issue 17) against the real sshd:
 * pull-mode output (xssh_multi_op_opts.pull_output: take_output / output_pending,
 * back-pressure proven without timing: a stream holding max_output untaken bytes
 * is not read further, and everything arrives exact and in order once taken),
 * the SFTP listdir and sftp_open operations, and the blocking-call-vs-suspended-op
 * rule (a blocking call on the thread's own stack on a session or SFTP object a
 * suspended operation of the same thread holds fails with XSSH_EBAD_USE instead
 * of hanging).
 * Label "threads" as c_multi's (TSan runs it): a host op's name lookup may start
 * the library's resolver thread (pthread_create in multi.c). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static void init_home(void) { xt_empty_home("multi-pull"); }

TestSuite(multi_pull, .init = init_home, .timeout = 120);

static xssh_options *good_opts(void)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentityFile", xt()->key_ed25519), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentitiesOnly", "yes"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentityAgent", "none"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "UserKnownHostsFile", xt()->known_hosts), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "GlobalKnownHostsFile", "/dev/null"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "StrictHostKeyChecking", "yes"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "BatchMode", "yes"), XSSH_OK, "%s", last_msg());
    return o;
}

static const xssh_multi_result *result_of(xssh_multi_op *op)
{
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK, "%s", last_msg());
    return r;
}

/* a growable byte string */
typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes;

static void bytes_add(bytes *b, const char *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* take what stream holds now into b; returns the bytes taken */
static size_t take(xssh_multi_op *op, int stream, bytes *b)
{
    char *d = NULL;
    size_t n = 12345;
    cr_assert_eq(xssh_multi_op_take_output(op, stream, &d, &n), XSSH_OK, "%s", last_msg());
    if (n)
        bytes_add(b, d, n);
    else
        cr_assert_null(d);
    xssh_free(d);
    return n;
}

static size_t pending(xssh_multi_op *op, int stream)
{
    size_t o = 99, e = 99;
    cr_assert_eq(xssh_multi_op_output_pending(op, &o, &e), XSSH_OK, "%s", last_msg());
    return stream ? e : o;
}

/* `seq 1 n` as the remote shell prints it */
static bytes seq_text(int n)
{
    bytes b = {0};
    char line[32];
    for (int i = 1; i <= n; i++) {
        int k = snprintf(line, sizeof line, "%d\n", i);
        bytes_add(&b, line, (size_t)k);
    }
    return b;
}

/* drive until cond(op) or the op is done; bounded (a broken library fails the
   assertion instead of hanging: 60 s of waiting in 100 ms steps at most) */
static void drive_until(xssh_multi *m, xssh_multi_op *op, int (*cond)(xssh_multi_op *op, void *ud), void *ud)
{
    int running = 0;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK, "%s", last_msg());
    for (int i = 0; i < 600 && !cond(op, ud) && xssh_multi_op_state(op) != XSSH_OP_DONE; i++)
        cr_assert_eq(xssh_multi_wait(m, 100, &running), XSSH_OK, "%s", last_msg());
}

static int stdout_full(xssh_multi_op *op, void *ud) { return pending(op, 0) >= *(size_t *)ud; }

/* ---- pull output ---------------------------------------------------------------- */

/* 3.2 MB through a 64 KiB window of untaken bytes: once stdout holds 64 KiB the op
   stops reading (it cannot finish: its stdout has not reached EOF), however long the
   multi is driven; every take lets it read on; all bytes arrive exact and in order. */
Test(multi_pull, backpressure_exact_and_in_order)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    const int N = 500000; /* 3388895 bytes */
    bytes want = seq_text(N);
    cr_assert_gt(want.n, 3u * 1024 * 1024);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.max_output = 64 * 1024;
    xssh_multi_op *op = NULL;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "seq 1 %d", N);
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, &o, &op), XSSH_OK, "%s", last_msg());

    size_t max = o.max_output;
    drive_until(m, op, stdout_full, &max);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING, "the op must be throttled, not done");
    cr_assert_eq(pending(op, 0), max);
    /* driving on changes nothing until the output is taken */
    int running = 0;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK);
        cr_assert_eq(running, 1);
        cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
        cr_assert_eq(pending(op, 0), max, "pending must stay at max_output until taken");
    }
    bytes got = {0};
    size_t takes = 0;
    for (int i = 0; i < 100000 && xssh_multi_op_state(op) != XSSH_OP_DONE; i++) {
        size_t p = pending(op, 0);
        cr_assert_leq(p, max);
        size_t k = take(op, 0, &got);
        cr_assert_eq(k, p, "take returns all that is pending");
        cr_assert_leq(k, max);
        if (k)
            takes++;
        cr_assert_eq(xssh_multi_wait(m, 1000, &running), XSSH_OK, "%s", last_msg());
    }
    take(op, 0, &got);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(r->exit_status, 0);
    cr_assert_eq(r->out_len, 0u, "pull mode keeps nothing in the result");
    cr_assert_eq(r->out_truncated, 0);
    cr_assert_eq(got.n, want.n, "got %zu bytes, want %zu", got.n, want.n);
    cr_assert(memcmp(got.p, want.p, want.n) == 0, "bytes differ");
    cr_assert_geq(takes, want.n / max, "at least size/max_output takes were needed");
    /* after the end: nothing more */
    cr_assert_eq(take(op, 0, &got), 0u);
    cr_assert_eq(pending(op, 0), 0u);
    free(want.p);
    free(got.p);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

static int flag_path_seen(xssh_multi_op *op, void *ud) { return pending(op, 0) >= *(size_t *)ud; }

/* line mode: only whole lines while the op runs (the unterminated "part" waits for
   the rest of its line), the unterminated tail once the op is done */
Test(multi_pull, line_mode)
{
    xssh_session *s = xt_connect_auth();
    char *flag = xt_tmppath("pull-flag");
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.line_mode = 1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "printf 'one\\ntwo\\npart'; while [ ! -e '%s' ]; do sleep 0.02; done; printf 'ial\\nlast'", flag);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, &o, &op), XSSH_OK, "%s", last_msg());
    size_t want = 8; /* "one\ntwo\n" */
    drive_until(m, op, flag_path_seen, &want);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING); /* it waits for the flag file */
    cr_assert_eq(pending(op, 0), 8u);
    bytes got = {0};
    cr_assert_eq(take(op, 0, &got), 8u);
    cr_assert_str_eq(got.p, "one\ntwo\n");
    cr_assert_eq(pending(op, 0), 0u, "the unterminated 'part' is not ready");
    xt_spit(flag, "", 0, 0600);
    bytes rest = {0};
    int running = 0;
    for (int i = 0; i < 600 && xssh_multi_op_state(op) != XSSH_OP_DONE; i++) {
        size_t before = rest.n;
        if (take(op, 0, &rest))
            cr_assert_eq(rest.p[rest.n - 1], '\n', "while running: whole lines only ('%s')", rest.p + before);
        cr_assert_eq(xssh_multi_wait(m, 100, &running), XSSH_OK);
    }
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    take(op, 0, &rest);
    cr_assert_str_eq(rest.p, "partial\nlast");
    cr_assert_eq(result_of(op)->error, XSSH_OK, "%s", result_of(op)->message);
    free(got.p);
    free(rest.p);
    free(flag);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* line mode with a line longer than max_output: pieces of max_output (never stuck) */
Test(multi_pull, line_mode_long_line_in_pieces)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.line_mode = 1;
    o.max_output = 4096;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "head -c 10000 /dev/zero | tr '\\0' x; echo; echo end", &o, &op),
                 XSSH_OK, "%s", last_msg());
    bytes got = {0};
    int running = 0;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    for (int i = 0; i < 600 && xssh_multi_op_state(op) != XSSH_OP_DONE; i++) {
        size_t before = got.n;
        size_t k = take(op, 0, &got);
        if (k)
            cr_assert(got.p[got.n - 1] == '\n' || k % 4096 == 0, "a take of %zu bytes: whole lines or pieces",
                      got.n - before);
        cr_assert_eq(xssh_multi_wait(m, 100, &running), XSSH_OK);
    }
    take(op, 0, &got);
    cr_assert_eq(got.n, 10000u + 1 + 4);
    for (size_t i = 0; i < 10000; i++)
        cr_assert_eq(got.p[i], 'x');
    cr_assert_str_eq(got.p + 10000, "\nend\n");
    free(got.p);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* stderr has its own buffer; take after done returns what is left, then nothing */
Test(multi_pull, stderr_and_take_after_done)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "printf out1; printf err1 >&2; printf out2; exit 3", &o, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(r->exit_status, 3);
    cr_assert_eq(r->out_len + r->err_len, 0u);
    cr_assert_eq(pending(op, 0), 8u);
    cr_assert_eq(pending(op, 1), 4u);
    bytes out = {0}, err = {0};
    cr_assert_eq(take(op, XSSH_STREAM_STDERR, &err), 4u);
    cr_assert_str_eq(err.p, "err1");
    cr_assert_eq(take(op, XSSH_STREAM_STDOUT, &out), 8u);
    cr_assert_str_eq(out.p, "out1out2");
    cr_assert_eq(take(op, XSSH_STREAM_STDOUT, &out), 0u);
    cr_assert_eq(take(op, XSSH_STREAM_STDERR, &err), 0u);
    free(out.p);
    free(err.p);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* a host run op with pull_output (connect, run, disconnect) */
Test(multi_pull, host_run)
{
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_options *opts = good_opts();
    char host[512];
    snprintf(host, sizeof host, "%s@%s:%d", xt()->user, xt()->host, xt()->port);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_host_run(m, host, opts, "echo hello", &o, &op), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    cr_assert_eq(result_of(op)->error, XSSH_OK, "%s", result_of(op)->message);
    bytes out = {0};
    cr_assert_eq(take(op, 0, &out), 6u);
    cr_assert_str_eq(out.p, "hello\n");
    free(out.p);
    xssh_multi_op_unref(op);
    xssh_options_unref(opts);
    xssh_multi_unref(m);
}

/* a throttled op is cancelled at once; the session stays usable */
Test(multi_pull, cancel_throttled)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.max_output = 1024;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "seq 1 1000000", &o, &op), XSSH_OK);
    size_t max = 1024;
    drive_until(m, op, stdout_full, &max);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, 30000), XSSH_OK, "%s", last_msg());
    cr_assert_eq(result_of(op)->error, XSSH_ECANCELLED, "%s", result_of(op)->message);
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo still", NULL, &rr), XSSH_OK, "%s", last_msg());
    cr_assert_eq(rr->out_len, 6u);
    xssh_run_result_free(rr);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* the run's timeout_ms counts while the op waits for its output to be taken */
Test(multi_pull, timeout_while_not_taken)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.max_output = 1024;
    o.timeout_ms = 300;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "seq 1 1000000", &o, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, 30000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ETIMEOUT, "%s", r->message);
    cr_assert(strstr(r->message, "not taken"), "%s", r->message);
    cr_assert_eq(pending(op, 0), 1024u, "what was kept stays takeable");
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

static int on_out(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud) { return 0; }

Test(multi_pull, errors)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    char *d = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_multi_op_take_output(NULL, 0, &d, &n), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_output_pending(NULL, NULL, NULL), XSSH_EARG);
    /* on_output together with pull_output: refused at add time */
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.on_output = on_out;
    xssh_multi_op *op = (xssh_multi_op *)&o; /* must be reset to NULL */
    cr_assert_eq(xssh_multi_add_run(m, s, "true", &o, &op), XSSH_EARG);
    cr_assert_null(op);
    cr_assert(strstr(last_msg(), "xssh_multi_add_run") && strstr(last_msg(), "pull_output"), "%s", last_msg());
    op = (xssh_multi_op *)&o;
    cr_assert_eq(xssh_multi_add_host_run(m, "localhost", NULL, "true", &o, &op), XSSH_EARG);
    cr_assert_null(op);
    /* a run op without pull_output, and another kind of op */
    memset(&o, 0, sizeof o);
    xssh_multi_op *plain = NULL, *chan = NULL, *pulled = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "echo x", &o, &plain), XSSH_OK);
    cr_assert_eq(xssh_multi_add_channel_open(m, s, NULL, &chan), XSSH_OK);
    o.pull_output = 1;
    cr_assert_eq(xssh_multi_add_run(m, s, "echo y", &o, &pulled), XSSH_OK);
    cr_assert_eq(xssh_multi_op_take_output(plain, 0, &d, &n), XSSH_EBAD_USE);
    cr_assert(strstr(last_msg(), "pull_output"), "%s", last_msg());
    cr_assert_eq(xssh_multi_op_output_pending(chan, NULL, NULL), XSSH_EBAD_USE);
    cr_assert_eq(xssh_multi_op_take_output(chan, 0, &d, &n), XSSH_EBAD_USE);
    cr_assert_eq(xssh_multi_op_take_output(pulled, 2, &d, &n), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_take_output(pulled, -1, &d, &n), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_take_output(pulled, 0, NULL, &n), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_take_output(pulled, 0, &d, NULL), XSSH_EARG);
    /* queued: nothing yet, not an error */
    cr_assert_eq(xssh_multi_op_take_output(pulled, 0, &d, &n), XSSH_OK);
    cr_assert_eq(n, 0u);
    cr_assert_null(d);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    cr_assert_eq(result_of(plain)->out_len, 2u);
    bytes out = {0};
    cr_assert_eq(take(pulled, 0, &out), 2u);
    cr_assert_str_eq(out.p, "y\n");
    /* sftp / entries of ops that have none */
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_multi_op_sftp(plain, &sf), XSSH_EBAD_USE);
    cr_assert_null(sf);
    const xssh_sftp_dirent *ents = NULL;
    size_t count = 7;
    cr_assert_eq(xssh_multi_op_entries(plain, &ents, &count), XSSH_EBAD_USE);
    cr_assert_eq(count, 0u);
    cr_assert_eq(xssh_multi_op_sftp(NULL, &sf), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_entries(NULL, &ents, &count), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_sftp_open(m, NULL, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_sftp_open(NULL, s, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, NULL, "/", NULL, NULL), XSSH_EARG);
    free(out.p);
    xssh_multi_op_unref(plain);
    xssh_multi_op_unref(chan);
    xssh_multi_op_unref(pulled);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* ---- SFTP: sftp_open, listdir ---------------------------------------------------------- */

static xssh_sftp *open_sftp_op(xssh_multi *m, xssh_session *s)
{
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_sftp_open(m, s, NULL, &op), XSSH_OK, "%s", last_msg());
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_multi_op_sftp(op, &sf), XSSH_EBAD_USE, "not done yet");
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(xssh_multi_op_sftp(op, &sf), XSSH_OK, "%s", last_msg());
    cr_assert_not_null(sf);
    xssh_multi_op_unref(op);
    return sf;
}

/* the SFTP object of an sftp_open op serves the blocking SFTP API (also when the
   session is non-blocking: the op waits through the multi) */
Test(multi_pull, sftp_open_then_blocking_calls)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_sftp *sf = open_sftp_op(m, s);
    cr_assert_eq(xssh_session_set_blocking(s, 1), XSSH_OK);
    char *dir = xt_tmppath("sftp-open-dir");
    cr_assert_eq(xssh_sftp_mkdir(sf, dir, 0755), XSSH_OK, "%s", last_msg());
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, dir, &a), XSSH_OK, "%s", last_msg());
    cr_assert(a.flags & XSSH_SFTP_ATTR_PERMISSIONS);
    cr_assert(S_ISDIR(a.permissions));
    free(dir);
    xssh_sftp_unref(sf);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

Test(multi_pull, listdir_known_entries)
{
    /* the sshd runs on this machine: the directory is made locally */
    char *dir = xt_tmppath("listdir");
    cr_assert_eq(mkdir(dir, 0755), 0);
    char p[4096];
    static const char bin_name[] = "bin-\xff\xfe-name"; /* not UTF-8 */
    snprintf(p, sizeof p, "%s/a.txt", dir);
    xt_spit(p, "12345", 5, 0644);
    snprintf(p, sizeof p, "%s/%s", dir, bin_name);
    xt_spit(p, "", 0, 0600);
    snprintf(p, sizeof p, "%s/sub", dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_sftp *sf = open_sftp_op(m, s);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, dir, NULL, &op), XSSH_OK, "%s", last_msg());
    const xssh_sftp_dirent *ents = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_multi_op_entries(op, &ents, &n), XSSH_EBAD_USE, "not done yet");
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(xssh_multi_op_entries(op, &ents, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 3u, "a.txt, the binary name and sub; no '.' or '..'");
    int seen_a = 0, seen_bin = 0, seen_sub = 0;
    for (size_t i = 0; i < n; i++) {
        const xssh_sftp_dirent *e = &ents[i];
        cr_assert_eq(e->name_len, strlen(e->name));
        cr_assert_not_null(e->longentry);
        cr_assert(strcmp(e->name, ".") && strcmp(e->name, ".."));
        if (!strcmp(e->name, "a.txt")) {
            seen_a++;
            cr_assert(e->attrs.flags & XSSH_SFTP_ATTR_SIZE);
            cr_assert_eq(e->attrs.filesize, 5u);
            cr_assert(strstr(e->longentry, "a.txt"), "%s", e->longentry);
        } else if (e->name_len == sizeof bin_name - 1 && !memcmp(e->name, bin_name, e->name_len)) {
            seen_bin++;
            cr_assert_eq(e->attrs.filesize, 0u);
        } else if (!strcmp(e->name, "sub")) {
            seen_sub++;
            cr_assert(S_ISDIR(e->attrs.permissions));
        } else {
            cr_assert_fail("unexpected entry '%s'", e->name);
        }
    }
    cr_assert(seen_a == 1 && seen_bin == 1 && seen_sub == 1);
    /* the SFTP object is usable afterwards */
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, dir, &a), XSSH_OK, "%s", last_msg());
    /* an empty directory: no entries, not an error */
    xssh_multi_op *op2 = NULL;
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, p, NULL, &op2), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    cr_assert_eq(result_of(op2)->error, XSSH_OK, "%s", result_of(op2)->message);
    cr_assert_eq(xssh_multi_op_entries(op2, &ents, &n), XSSH_OK);
    cr_assert_eq(n, 0u);
    cr_assert_null(ents);
    xssh_multi_op_unref(op2);
    xssh_multi_op_unref(op);
    xssh_sftp_unref(sf);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    free(dir);
}

Test(multi_pull, listdir_missing_directory)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_sftp *sf = open_sftp_op(m, s);
    char *dir = xt_tmppath("no-such-dir");
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, dir, NULL, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", r->error, r->message);
    cr_assert_eq(r->sftp_status, 2, "sftp_status %d", r->sftp_status); /* SSH_FX_NO_SUCH_FILE */
    cr_assert_eq(r->phase, XSSH_PHASE_TRANSFER);
    cr_assert(strstr(r->message, "no-such-dir"), "%s", r->message);
    const xssh_sftp_dirent *ents = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_multi_op_entries(op, &ents, &n), XSSH_EBAD_USE);
    cr_assert(strstr(last_msg(), "failed"), "%s", last_msg());
    free(dir);
    xssh_multi_op_unref(op);
    xssh_sftp_unref(sf);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* ---- a blocking call on the thread's own stack vs a suspended operation --------------- */

/* The run op is suspended waiting for its command's output (it holds no lock
   then): blocking calls on the same session from this stack go through, and the
   op still completes with all its output. */
Test(multi_pull, blocking_calls_beside_an_op_waiting_for_output)
{
    xssh_session *s = xt_connect_auth();
    char *flag = xt_tmppath("beside-flag");
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "echo started; while [ ! -e '%s' ]; do sleep 0.02; done; echo done", flag);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, &o, &op), XSSH_OK);
    size_t want = 8;
    drive_until(m, op, stdout_full, &want);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, xt()->dir, &a), XSSH_OK, "%s", last_msg());
    xssh_sftp_unref(sf);
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo beside", NULL, &rr), XSSH_OK, "%s", last_msg());
    cr_assert_eq(rr->out_len, 7u);
    xssh_run_result_free(rr);
    xt_spit(flag, "", 0, 0600);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    cr_assert_eq(result_of(op)->error, XSSH_OK, "%s", result_of(op)->message);
    bytes out = {0};
    take(op, 0, &out);
    cr_assert_str_eq(out.p, "started\ndone\n");
    free(out.p);
    free(flag);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* An SFTP op suspended inside an SFTP request (the server's bytes held back by a
   proxy: deterministic) holds the SFTP object's oplock: a blocking SFTP call on the
   same object from this stack fails at once instead of waiting for ever. */
Test(multi_pull, blocking_sftp_call_vs_suspended_sftp_op)
{
    xt_stall_proxy px;
    xssh_session *s = xt_stall_proxy_start(&px);
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, xt()->dir, NULL, &op), XSSH_OK);
    xt_stall_proxy_hold(&px, 1);
    int running = 0;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, xt()->dir, &a), XSSH_EBAD_USE, "%s", last_msg());
    cr_assert(strstr(last_msg(), "xssh_sftp_stat") && strstr(last_msg(), "suspended"), "%s", last_msg());
    xt_stall_proxy_hold(&px, 0);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    cr_assert_eq(result_of(op)->error, XSSH_OK, "%s", result_of(op)->message);
    const xssh_sftp_dirent *ents = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_multi_op_entries(op, &ents, &n), XSSH_OK);
    cr_assert_gt(n, 0u);
    cr_assert_eq(xssh_sftp_stat(sf, xt()->dir, &a), XSSH_OK, "%s", last_msg());
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&px);
}

/* A run op suspended while opening its channel holds the session's channel-open
   lock: blocking calls that open a channel (run, sftp_new, channel_open) on the
   same session from this stack fail at once. */
Test(multi_pull, blocking_open_vs_suspended_channel_open)
{
    xt_stall_proxy px;
    xssh_session *s = xt_stall_proxy_start(&px);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "echo opened", NULL, &op), XSSH_OK);
    xt_stall_proxy_hold(&px, 1);
    int running = 0;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo x", NULL, &rr), XSSH_EBAD_USE, "%s", last_msg());
    cr_assert(strstr(last_msg(), "suspended"), "%s", last_msg());
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_EBAD_USE, "%s", last_msg());
    cr_assert(strstr(last_msg(), "xssh_sftp_new"), "%s", last_msg());
    xssh_channel *c = NULL;
    cr_assert_eq(xssh_channel_open_session(&c, s), XSSH_EBAD_USE, "%s", last_msg());
    xt_stall_proxy_hold(&px, 0);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(r->out_len, 7u);
    /* and the session serves blocking calls again */
    cr_assert_eq(xssh_session_run(s, "echo x", NULL, &rr), XSSH_OK, "%s", last_msg());
    xssh_run_result_free(rr);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&px);
}

/* The same from a callback of the multi (on the driving thread's own stack,
   from inside perform): an on_done calling a blocking SFTP call on an object a
   suspended op holds gets XSSH_EBAD_USE. */
typedef struct cb_probe {
    xssh_sftp *sf;
    int rc;
    char msg[1024];
} cb_probe;

static int quick_fn(xssh_multi_op *op, void *ud) { return XSSH_OK; }

static void probe_done(xssh_multi_op *op, void *ud)
{
    cb_probe *p = ud;
    xssh_sftp_attrs a;
    p->rc = xssh_sftp_stat(p->sf, "/", &a);
    snprintf(p->msg, sizeof p->msg, "%s", last_msg());
}

Test(multi_pull, blocking_call_from_a_callback_vs_suspended_op)
{
    xt_stall_proxy px;
    xssh_session *s = xt_stall_proxy_start(&px);
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, xt()->dir, NULL, &op), XSSH_OK);
    xt_stall_proxy_hold(&px, 1);
    int running = 0;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    cb_probe p = {sf, 12345, ""};
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.on_done = probe_done;
    o.userdata = &p;
    cr_assert_eq(xssh_multi_add_call(m, NULL, quick_fn, NULL, &o, NULL), XSSH_OK);
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    cr_assert_eq(p.rc, XSSH_EBAD_USE, "%d %s", p.rc, p.msg);
    cr_assert(strstr(p.msg, "xssh_sftp_stat: the SFTP object is in use by a multi operation suspended"), "%s", p.msg);
    xt_stall_proxy_hold(&px, 0);
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK);
    cr_assert_eq(result_of(op)->error, XSSH_OK, "%s", result_of(op)->message);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&px);
}

/* ---- pull output: the external loop is told, and freeing a throttled op ---------------- */

static int timer_cb(xssh_multi *m, long timeout_ms, void *ud)
{
    *(long *)ud = timeout_ms;
    return 0;
}

/* an external loop (timer callback) is asked to come back at once when a take
   makes a throttled op runnable */
Test(multi_pull, take_wakes_an_external_loop)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.max_output = 4096;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "seq 1 100000", &o, &op), XSSH_OK);
    size_t max = 4096;
    drive_until(m, op, stdout_full, &max);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    long told = -2;
    cr_assert_eq(xssh_multi_set_timer_cb(m, timer_cb, &told), XSSH_OK);
    long t = 0;
    cr_assert_eq(xssh_multi_timeout(m, &t), XSSH_OK);
    cr_assert_eq(t, -1, "a throttled op waits for no timer");
    bytes got = {0};
    cr_assert_eq(take(op, 0, &got), 4096u);
    cr_assert_eq(told, 0, "the timer callback is told 0 ms");
    cr_assert_eq(xssh_multi_timeout(m, &t), XSSH_OK);
    cr_assert_eq(t, 0);
    cr_assert_eq(xssh_multi_set_timer_cb(m, NULL, NULL), XSSH_OK);
    free(got.p);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m); /* cancels the op still running */
    xssh_session_unref(s);
}

/* freeing the multi with a throttled op: it is cancelled without waiting, what it
   kept stays takeable, the session stays usable */
Test(multi_pull, free_multi_with_a_throttled_op)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.pull_output = 1;
    o.max_output = 4096;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "seq 1 1000000", &o, &op), XSSH_OK);
    size_t max = 4096;
    drive_until(m, op, stdout_full, &max);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    xssh_multi_unref(m);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ECANCELLED, "%s", r->message);
    bytes got = {0};
    cr_assert_eq(take(op, 0, &got), 4096u);
    cr_assert(!strncmp(got.p, "1\n2\n3\n", 6));
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo after", NULL, &rr), XSSH_OK, "%s", last_msg());
    xssh_run_result_free(rr);
    free(got.p);
    xssh_multi_op_unref(op);
    xssh_session_unref(s);
}
