/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh__parallel (internal.h): tasks on their own stacks sharing one session,
 * called outside a multi (a private one) and inside a multi operation (child
 * operations); a failing task cancels the running ones and its error wins.
 * Linked with the static copy of capi/src (the internal symbol is hidden in
 * the shared library). No timing: tasks wait for each other (a barrier). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "internal.h"

typedef struct par {
    xssh_session *s;
    const char *dir;
    int barrier;       /* tasks that must run at once */
    int running, max_running, started;
    int fail_index;    /* -1: none */
} par;

static int task(void *ctx, size_t i)
{
    par *p = ctx;
    p->started++;
    p->running++;
    if (p->running > p->max_running)
        p->max_running = p->running;
    char cmd[2048];
    if ((int)i == p->fail_index)
        snprintf(cmd, sizeof cmd, "exit 7");
    else if (p->fail_index >= 0)
        snprintf(cmd, sizeof cmd, "exec sleep 300"); /* ends only when cancelled */
    else
        snprintf(cmd, sizeof cmd,
                 "touch %s/t%zu; n=0; while [ $(ls %s | wc -l) -lt %d ]; do n=$((n+1)); [ $n -gt 6000 ] && exit 9; "
                 "sleep 0.05; done",
                 p->dir, i, p->dir, p->barrier);
    xssh_run_result *r = NULL;
    int rc = xssh_session_run(p->s, cmd, NULL, &r);
    if (rc == XSSH_OK && r->exit_status != 0)
        rc = xssh__fail(NULL, XSSH_EBAD_USE, 0, "task %zu: exit status %d", i, r->exit_status);
    xssh_run_result_free(r);
    p->running--;
    return rc;
}

TestSuite(parallel);

Test(parallel, tasks_share_a_session_outside_a_multi, .timeout = 120)
{
    enum { N = 8 };
    char *dir = xt_tmppath("par1");
    cr_assert_eq(mkdir(dir, 0777), 0);
    par p = {xt_connect_auth(), dir, N, 0, 0, 0, -1};
    cr_assert_eq(xssh__parallel(N, 0, task, &p), XSSH_OK, "%s", last_msg());
    cr_assert_eq(p.started, N);
    cr_assert_eq(p.max_running, N);
    /* the session is still fine */
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(p.s, "echo ok", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "ok\n");
    xssh_run_result_free(r);
    xssh_session_unref(p.s);
    free(dir);
}

static int call_fn(xssh_multi_op *op, void *ud)
{
    par *p = ud;
    return xssh__parallel(9, 3, task, p); /* groups of 3 meet at the barrier... */
}

Test(parallel, inside_a_multi_op_width_respected, .timeout = 120)
{
    char *dir = xt_tmppath("par2");
    cr_assert_eq(mkdir(dir, 0777), 0);
    /* barrier 3 with width 3: each task waits for 3 files; the first three meet,
       later ones find the files there already */
    par p = {xt_connect_auth(), dir, 3, 0, 0, 0, -1};
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    cr_assert_eq(xssh_multi_set_max_running(m, 1), XSSH_OK); /* tasks are not counted against it */
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_call(m, p.s, call_fn, &p, NULL, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(p.started, 9);
    cr_assert_eq(p.max_running, 3);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(p.s);
    free(dir);
}

Test(parallel, a_failure_cancels_the_others, .timeout = 120)
{
    par p = {xt_connect_auth(), NULL, 0, 0, 0, 0, 2};
    int rc = xssh__parallel(10, 4, task, &p);
    cr_assert_eq(rc, XSSH_EBAD_USE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "task 2: exit status 7"), "%s", last_msg());
    cr_assert_eq(p.started, 4, "tasks not started yet are not started (%d)", p.started);
    cr_assert_eq(p.running, 0);
    /* the cancelled runs left the session usable */
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(p.s, "echo ok", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "ok\n");
    xssh_run_result_free(r);
    xssh_session_unref(p.s);
}
