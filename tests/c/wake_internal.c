/* SPDX-License-Identifier: BSD-3-Clause */
/* A run reads stdout, then stderr, then waits for the socket. libssh2's read of
 * one stream drains the socket into its queue, so stdout's data that reaches
 * the socket just after stdout's read said EAGAIN is queued by stderr's read,
 * and a poll of the socket would never announce it: the run waited for more
 * input (here: forever, the command waits for that output to be seen).
 * The internal hook xssh__run_read_hook makes that moment happen every time:
 * at stdout's first EAGAIN it lets the command print its first line and waits
 * until those bytes are readable on the socket. The command prints its second
 * line only once the first was delivered (a marker file), so a lost wake-up
 * shows as a run that times out. No timing: the waits are for files and the
 * socket; the timeouts only bound a failure.
 * Linked with the static copy of capi/src (the hook is hidden in the shared
 * library). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libssh2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "internal.h"

TestSuite(wake, .timeout = 120);

static struct {
    int armed;      /* the next stdout EAGAIN triggers the first line */
    int fired;      /* it did */
    char m1[1024];  /* marker: print the first line */
    char m2[1024];  /* marker: the first line was delivered */
} g;

static void touch(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    cr_assert_geq(fd, 0, "creating %s", path);
    close(fd);
}

static void hook(xssh_session *s, int stream, long n)
{
    if (!g.armed || stream != 0 || n != LIBSSH2_ERROR_EAGAIN)
        return;
    g.armed = 0;
    g.fired = 1;
    touch(g.m1);
    /* the command's first line reaches the socket before stderr is read */
    struct pollfd p = {s->fd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 60000), 1, "the first line never came");
}

/* the command: first line when m1 exists, second line when m2 exists (bounded
   loops: 60 s at most each) */
static char *command(void)
{
    char *dir = xt_tmppath("wake");
    cr_assert_eq(mkdir(dir, 0777), 0);
    snprintf(g.m1, sizeof g.m1, "%s/m1", dir);
    snprintf(g.m2, sizeof g.m2, "%s/m2", dir);
    char *cmd = NULL;
    cr_assert_geq(asprintf(&cmd,
                           "i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt 6000 ] && exit 9; sleep 0.01; done; "
                           "echo first; "
                           "i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt 6000 ] && exit 9; sleep 0.01; done; "
                           "echo second",
                           g.m1, g.m2),
                  0);
    free(dir);
    g.armed = 1;
    g.fired = 0;
    xssh__run_read_hook = hook;
    return cmd;
}

typedef struct got {
    char buf[256];
    size_t n;
} got;

static void got_add(got *o, const char *data, size_t len)
{
    cr_assert_lt(o->n + len, sizeof o->buf);
    memcpy(o->buf + o->n, data, len);
    o->n += len;
    o->buf[o->n] = '\0';
    if (strstr(o->buf, "first\n"))
        touch(g.m2);
}

static int on_output(int stream, const char *data, size_t len, void *ud)
{
    if (stream == XSSH_STREAM_STDOUT)
        got_add(ud, data, len);
    return 0;
}

Test(wake, blocking_run_sees_stdout_queued_by_the_stderr_read)
{
    xssh_session *s = xt_connect_auth();
    char *cmd = command();
    xssh_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.timeout_ms = 20000; /* a lost wake-up fails here instead of hanging */
    got o = {{0}, 0};
    int st = -1, have = 0;
    char *sig = NULL;
    int rc = xssh_session_run_stream(s, cmd, &ro, on_output, &o, &st, &have, &sig);
    xssh__run_read_hook = NULL;
    cr_assert(g.fired, "the hook never saw stdout's EAGAIN");
    cr_assert_eq(rc, XSSH_OK, "%s (output so far: '%s')", last_msg(), o.buf);
    cr_assert_str_eq(o.buf, "first\nsecond\n");
    cr_assert_eq(st, 0);
    free(sig);
    free(cmd);
    xssh_session_unref(s);
}

/* what the op's stdout holds now, into o */
static void take_stdout(xssh_multi_op *op, got *o)
{
    char *d = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_multi_op_take_output(op, XSSH_STREAM_STDOUT, &d, &n), XSSH_OK, "%s", last_msg());
    if (n)
        got_add(o, d, n);
    xssh_free(d);
}

Test(wake, multi_run_sees_stdout_queued_by_the_stderr_read)
{
    xssh_session *s = xt_connect_auth();
    char *cmd = command();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts oo;
    memset(&oo, 0, sizeof oo);
    oo.pull_output = 1;
    oo.timeout_ms = 20000;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, &oo, &op), XSSH_OK, "%s", last_msg());
    got o = {{0}, 0};
    int running = 0;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK, "%s", last_msg());
    /* bounded: the op's own timeout ends it within 20 s */
    for (int i = 0; i < 100000 && xssh_multi_op_state(op) != XSSH_OP_DONE; i++) {
        take_stdout(op, &o);
        cr_assert_eq(xssh_multi_wait(m, 1000, &running), XSSH_OK, "%s", last_msg());
    }
    take_stdout(op, &o);
    xssh__run_read_hook = NULL;
    cr_assert(g.fired, "the hook never saw stdout's EAGAIN");
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK);
    cr_assert_eq(r->error, XSSH_OK, "%s (output so far: '%s')", r->message, o.buf);
    cr_assert_str_eq(o.buf, "first\nsecond\n");
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    free(cmd);
    xssh_session_unref(s);
}
