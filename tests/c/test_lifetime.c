/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Thread lifetime: close/disconnect of a session stops and joins its forward
 * threads and its ProxyJump carrier (releasing the hops), closing a jump stops
 * the carriers on it, and nothing is left running afterwards. Threads are
 * counted by their names ("xssh-fwd-local", "xssh-fwd-remote",
 * "xssh-proxyjump") in /proc/self/task; Criterion runs each test in its own
 * process, so only this test's threads are there. Process exit itself is
 * tested by tests/exit.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

/* threads of this process whose name starts with prefix */
static int threads_named(const char *prefix)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320], comm[32] = "";
        snprintf(p, sizeof p, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(p, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f) && !strncmp(comm, prefix, strlen(prefix)))
                n++;
            fclose(f);
        }
    }
    closedir(d);
    return n;
}


static void run_ok(xssh_session *s, const char *cmd, const char *want)
{
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, cmd, NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, want);
    xssh_run_result_free(r);
}

static int running(xssh_forward *f)
{
    int r = -1;
    cr_assert_eq(xssh_forward_is_running(f, &r), XSSH_OK);
    return r;
}

Test(lifetime, close_stops_and_joins_the_sessions_forwards, .timeout = 60)
{
    xssh_session *s = xt_hop(NULL);
    xssh_forward *l = NULL, *r = NULL;
    cr_assert_eq(xssh_forward_local(&l, s, "127.0.0.1", 0, xt()->host, xt()->port), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_forward_remote(&r, s, "127.0.0.1", 0, "127.0.0.1", 9), XSSH_OK, "%s", last_msg());
    cr_assert_eq(threads_named("xssh-fwd-"), 2);
    cr_assert_eq(xssh_session_close(s), XSSH_OK);
    /* joined before close returned */
    cr_assert_eq(threads_named("xssh-"), 0);
    cr_assert_eq(running(l), 0);
    cr_assert_eq(running(r), 0);
    /* the handles stay valid; stop is idempotent; no new forward on a closed session */
    cr_assert_eq(xssh_forward_stop(l), XSSH_OK);
    xssh_forward *again = NULL;
    cr_assert_eq(xssh_forward_local(&again, s, "127.0.0.1", 0, xt()->host, xt()->port), XSSH_ECLOSED);
    cr_assert_null(again);
    xssh_forward_unref(l);
    xssh_session_unref(s);
    xssh_forward_unref(r);
}

Test(lifetime, disconnect_stops_the_forwards_too, .timeout = 60)
{
    xssh_session *s = xt_hop(NULL);
    xssh_forward *l = NULL;
    cr_assert_eq(xssh_forward_local(&l, s, "127.0.0.1", 0, xt()->host, xt()->port), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(threads_named("xssh-"), 0);
    cr_assert_eq(running(l), 0);
    xssh_session_unref(s); /* the forward keeps it alive until its own unref */
    xssh_forward_unref(l);
}

Test(lifetime, closing_a_target_joins_its_carrier_and_leaves_the_hop_usable, .timeout = 120)
{
    xssh_session *h = xt_hop(NULL);
    xssh_session *t1 = xt_hop(h);
    xssh_session *t2 = xt_hop(h);
    run_ok(t1, "echo one", "one\n");
    cr_assert_eq(threads_named("xssh-proxyjump"), 2);
    cr_assert_eq(xssh_session_disconnect(t1), XSSH_OK, "%s", last_msg());
    cr_assert_eq(threads_named("xssh-proxyjump"), 1, "the closed target's carrier was not joined");
    /* the other target and the hop are untouched */
    run_ok(t2, "echo two", "two\n");
    run_ok(h, "echo hop", "hop\n");
    cr_assert_eq(xssh_session_close(t2), XSSH_OK);
    cr_assert_eq(threads_named("xssh-"), 0);
    run_ok(h, "echo hop", "hop\n");
    xssh_session_unref(t1);
    xssh_session_unref(t2);
    xssh_session_unref(h);
}

Test(lifetime, closing_a_two_hop_target_releases_the_chain, .timeout = 120)
{
    xssh_session *h1 = xt_hop(NULL);
    xssh_session *h2 = xt_hop(h1);
    xssh_session *t = xt_hop(h2);
    xssh_session_unref(h2); /* only the chain holds the second hop now */
    run_ok(t, "echo far", "far\n");
    cr_assert_eq(threads_named("xssh-proxyjump"), 2);
    cr_assert_eq(xssh_session_close(t), XSSH_OK);
    /* t's carrier joined; t dropped h2, whose last reference freed it and
       joined h2's own carrier (on h1) */
    cr_assert_eq(threads_named("xssh-"), 0);
    run_ok(h1, "echo first hop", "first hop\n");
    xssh_session_unref(t);
    xssh_session_unref(h1);
}

Test(lifetime, closing_the_jump_stops_its_carriers_and_the_target_fails_cleanly, .timeout = 120)
{
    xssh_session *h = xt_hop(NULL);
    xssh_session *t = xt_hop(h);
    run_ok(t, "echo far", "far\n");
    cr_assert_eq(xssh_session_close(h), XSSH_OK);
    cr_assert_eq(threads_named("xssh-"), 0);
    /* the target's connection is gone: a clear error, not a hang */
    xssh_run_result *r = NULL;
    int rc = xssh_session_run(t, "echo never", NULL, &r);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_null(r);
    cr_assert_gt(strlen(last_msg()), 0);
    xssh_session_unref(h);
    xssh_session_unref(t);
}

Test(lifetime, a_failed_via_handshake_then_close_joins_the_carrier, .timeout = 60)
{
    /* a TCP listener that never speaks SSH: the handshake through the jump times out */
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(srv, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(srv, 4), 0);
    socklen_t al = sizeof a;
    getsockname(srv, (struct sockaddr *)&a, &al);
    xssh_session *h = xt_hop(NULL);
    xssh_session *t = NULL;
    cr_assert_eq(xssh_session_new(&t), XSSH_OK);
    int rc = xssh_session_connect_via(t, h, "127.0.0.1", ntohs(a.sin_port), 300);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert(strstr(last_msg(), "connect_via"), "%s", last_msg());
    cr_assert_eq(threads_named("xssh-proxyjump"), 1); /* owned by the (closed) target */
    cr_assert_eq(xssh_session_close(t), XSSH_OK);
    cr_assert_eq(threads_named("xssh-"), 0);
    run_ok(h, "echo hop", "hop\n");
    xssh_session_unref(t);
    xssh_session_unref(h);
    close(srv);
}

Test(lifetime, connect_via_a_closed_jump_is_a_clear_error, .timeout = 60)
{
    xssh_session *h = xt_hop(NULL);
    cr_assert_eq(xssh_session_close(h), XSSH_OK);
    xssh_session *t = NULL;
    cr_assert_eq(xssh_session_new(&t), XSSH_OK);
    cr_assert_eq(xssh_session_connect_via(t, h, xt()->host, xt()->port, 10000), XSSH_ECLOSED);
    cr_assert(strstr(last_msg(), "connect_via"), "%s", last_msg());
    cr_assert_eq(threads_named("xssh-"), 0);
    xssh_session_unref(t);
    xssh_session_unref(h);
}

Test(lifetime, unref_of_a_target_joins_its_carrier, .timeout = 60)
{
    xssh_session *h = xt_hop(NULL);
    xssh_session *t = xt_hop(h);
    run_ok(t, "echo far", "far\n");
    xssh_session_unref(t);
    cr_assert_eq(threads_named("xssh-"), 0);
    run_ok(h, "echo hop", "hop\n");
    xssh_session_unref(h);
}
