/* SPDX-License-Identifier: BSD-3-Clause */
/* The multi interface (xssh/multi.h) against real sshds: many hosts from one
 * thread with mixed outcomes, overlap proven without timing (N commands wait
 * for each other), the concurrency limit, the external-loop API driven by
 * epoll, cancel (queued and running; the session stays usable), output
 * truncation, line mode, xssh__parallel tasks sharing one session. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fixture.h"

/* the library's internal xssh__parallel (exported for tests through the static
   library? no: declared here, resolved from the shared library only when visible) */

static char home[1024];

static void init_home(void)
{
    snprintf(home, sizeof home, "%s/multi-home-%d", xt()->dir, (int)getpid());
    mkdir(home, 0700);
    char p[1100];
    snprintf(p, sizeof p, "%s/.ssh", home);
    mkdir(p, 0700);
    setenv("HOME", home, 1); /* no ~/.ssh/config of the machine's user */
}

TestSuite(multi, .init = init_home);

static xssh_options *base_opts(const char *key, const char *known_hosts)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentityFile", key), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentitiesOnly", "yes"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentityAgent", "none"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "UserKnownHostsFile", known_hosts), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "GlobalKnownHostsFile", "/dev/null"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "StrictHostKeyChecking", "yes"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "PreferredAuthentications", "publickey"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "BatchMode", "yes"), XSSH_OK, "%s", last_msg());
    return o;
}

static xssh_options *good_opts(void) { return base_opts(xt()->key_ed25519, xt()->known_hosts); }

static char *host_str(int port)
{
    char *h = NULL;
    if (asprintf(&h, "%s@%s:%d", xt()->user, xt()->host, port) < 0)
        abort();
    return h;
}

/* a TCP port on 127.0.0.1 that refuses connections for as long as *holder is
   open: bound, never listening */
static int refused_port(int *holder)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    *holder = fd;
    return ntohs(a.sin_port);
}

static const xssh_multi_result *result_of(xssh_multi_op *op)
{
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK, "%s", last_msg());
    return r;
}

/* ---- many hosts, mixed outcomes ------------------------------------------------ */

enum { OK_RUN, EXIT3, REFUSED, UNKNOWN_KEY, WRONG_KEY, TIMEOUT, KINDS };

Test(multi, fifty_hosts_mixed_outcomes, .timeout = 240)
{
    int holder;
    int dead_port = refused_port(&holder);
    char *empty_kh = xt_tmppath("empty_known_hosts");
    xt_spit(empty_kh, "", 0, 0600);
    xssh_options *good = good_opts();
    xssh_options *nokey = base_opts(xt()->key_ed25519, empty_kh);
    xssh_options *wrong = base_opts(xt()->key_unauthorized, xt()->known_hosts);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    enum { N = 50 };
    xssh_multi_op *ops[N];
    int kind[N];
    for (int i = 0; i < N; i++) {
        kind[i] = i % KINDS;
        char *h = host_str(kind[i] == REFUSED ? dead_port : xt()->port);
        xssh_multi_op_opts o = {0};
        const char *cmd = "echo hello-$((6*7)); echo warn >&2";
        xssh_options *opt = good;
        if (kind[i] == EXIT3)
            cmd = "echo out; exit 3";
        if (kind[i] == UNKNOWN_KEY)
            opt = nokey;
        if (kind[i] == WRONG_KEY)
            opt = wrong;
        if (kind[i] == TIMEOUT) {
            cmd = "sleep 3600"; /* never ends by itself */
            o.timeout_ms = 1500;
        }
        cr_assert_eq(xssh_multi_add_host_run(m, h, opt, cmd, &o, &ops[i]), XSSH_OK, "%s", last_msg());
        free(h);
    }
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    int seen = 0;
    xssh_multi_op *done;
    while (xssh_multi_info_read(m, &done) == 1) {
        seen++;
        xssh_multi_op_unref(done);
    }
    cr_assert_eq(seen, N);
    for (int i = 0; i < N; i++) {
        const xssh_multi_result *r = result_of(ops[i]);
        cr_assert_not_null(r->host);
        switch (kind[i]) {
        case OK_RUN:
            cr_assert_eq(r->error, XSSH_OK, "host %d: %s", i, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_NONE);
            cr_assert_str_eq(r->message, "");
            cr_assert_eq(r->have_exit_status, 1);
            cr_assert_eq(r->exit_status, 0);
            cr_assert_str_eq(r->out, "hello-42\n");
            cr_assert_str_eq(r->err, "warn\n");
            break;
        case EXIT3:
            cr_assert_eq(r->error, XSSH_OK, "host %d: %s", i, r->message);
            cr_assert_eq(r->have_exit_status, 1);
            cr_assert_eq(r->exit_status, 3);
            cr_assert_str_eq(r->out, "out\n");
            break;
        case REFUSED:
            cr_assert_eq(r->error, XSSH_ECONNECT, "host %d: %d %s", i, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_CONNECT, "phase %s", xssh_phase_name(r->phase));
            cr_assert(strstr(r->message, "refused"), "%s", r->message);
            break;
        case UNKNOWN_KEY:
            cr_assert_neq(r->error, XSSH_OK);
            cr_assert_eq(r->phase, XSSH_PHASE_HOSTKEY, "phase %s: %s", xssh_phase_name(r->phase), r->message);
            break;
        case WRONG_KEY:
            cr_assert_eq(r->error, XSSH_EAUTHENTICATION_FAILED, "host %d: %d %s", i, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_AUTH, "phase %s", xssh_phase_name(r->phase));
            break;
        case TIMEOUT:
            cr_assert_eq(r->error, XSSH_ETIMEOUT, "host %d: %d %s", i, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_COMMAND, "phase %s", xssh_phase_name(r->phase));
            break;
        }
        xssh_multi_op_unref(ops[i]);
    }
    xssh_multi_unref(m);
    xssh_options_unref(good);
    xssh_options_unref(nokey);
    xssh_options_unref(wrong);
    close(holder);
    free(empty_kh);
}
