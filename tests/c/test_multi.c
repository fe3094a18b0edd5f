/* SPDX-License-Identifier: BSD-3-Clause */
/* The multi interface (xssh/multi.h) against real sshds: many hosts from one
 * thread with mixed outcomes, overlap proven without timing (N commands wait
 * for each other), the concurrency limit, the external-loop API driven by
 * epoll, cancel (queued and running; the session stays usable), output
 * truncation, line mode, host strings, connect and channel-open ops
 * (xssh__parallel: parallel_internal.c).
 * Label "threads" (TSan runs it): the library starts a resolver thread per
 * name lookup of an operation (pthread_create in multi.c). */
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

static void init_home(void) { xt_empty_home("multi"); }

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

static const xssh_multi_result *result_of(xssh_multi_op *op)
{
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK, "%s", last_msg());
    return r;
}

/* ---- many hosts, mixed outcomes ------------------------------------------------ */

/* The many-hosts fixture (tests/harness/many_hosts.py, ctest fixture sshd_many):
   $XSSH_MANY_HOSTS_ENV names a KEY=VALUE file; lists are space-separated. */
static char *many_get(const char *key)
{
    const char *path = getenv("XSSH_MANY_HOSTS_ENV");
    cr_assert(path && *path, "XSSH_MANY_HOSTS_ENV is not set (run through ctest: fixture sshd_many)");
    size_t len = 0;
    char *text = (char *)xt_slurp(path, &len);
    cr_assert_not_null(text, "cannot read %s", path);
    size_t kl = strlen(key);
    char *val = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, key, kl) && line[kl] == '=') {
            val = strdup(line + kl + 1);
            break;
        }
    free(text);
    cr_assert_not_null(val, "%s has no %s", path, key);
    return val;
}

/* split a space-separated list in place; returns the count */
static int split(char *s, char **v, int cap)
{
    int n = 0;
    for (char *w = strtok(s, " "); w && n < cap; w = strtok(NULL, " "))
        v[n++] = w;
    return n;
}

enum { OK_RUN, EXIT3, WRONG_KEY, TIMEOUT, UNKNOWN_KEY, MISMATCH_KEY, REFUSED };

Test(multi, fifty_hosts_mixed_outcomes, .timeout = 300)
{
    char *good_list = many_get("XSSH_MANY_GOOD"), *unknown = many_get("XSSH_MANY_UNKNOWN_HOSTKEY"),
         *mismatch = many_get("XSSH_MANY_MISMATCH_HOSTKEY"), *refused = many_get("XSSH_MANY_REFUSED"),
         *key = many_get("XSSH_MANY_KEY"), *wrong_key = many_get("XSSH_MANY_WRONG_KEY"),
         *kh = many_get("XSSH_MANY_KNOWN_HOSTS");
    char *hosts[64], *ref[8];
    int ngood = split(good_list, hosts, 64);
    cr_assert_eq(ngood, 50);
    int nref = split(refused, ref, 8);
    cr_assert(nref >= 1);
    xssh_options *good = base_opts(key, kh), *wrong = base_opts(wrong_key, kh);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    enum { MAX = 64 };
    xssh_multi_op *ops[MAX];
    int kind[MAX];
    int n = 0;
    for (int i = 0; i < ngood; i++) {
        kind[n] = i % 4; /* OK_RUN, EXIT3, WRONG_KEY, TIMEOUT */
        xssh_multi_op_opts o = {0};
        const char *cmd = "echo hello-$((6*7)); echo warn >&2";
        if (kind[n] == EXIT3)
            cmd = "echo out; exit 3";
        if (kind[n] == TIMEOUT) {
            cmd = "sleep 300"; /* never ends within the test */
            o.timeout_ms = 1500;
        }
        cr_assert_eq(xssh_multi_add_host_run(m, hosts[i], kind[n] == WRONG_KEY ? wrong : good, cmd, &o, &ops[n]),
                     XSSH_OK, "%s", last_msg());
        n++;
    }
    kind[n] = UNKNOWN_KEY;
    cr_assert_eq(xssh_multi_add_host_run(m, unknown, good, "true", NULL, &ops[n++]), XSSH_OK, "%s", last_msg());
    kind[n] = MISMATCH_KEY;
    cr_assert_eq(xssh_multi_add_host_run(m, mismatch, good, "true", NULL, &ops[n++]), XSSH_OK, "%s", last_msg());
    for (int i = 0; i < nref; i++) {
        kind[n] = REFUSED;
        cr_assert_eq(xssh_multi_add_host_run(m, ref[i], good, "true", NULL, &ops[n++]), XSSH_OK, "%s", last_msg());
    }
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    int seen = 0;
    xssh_multi_op *done;
    while (xssh_multi_info_read(m, &done) == 1) {
        seen++;
        xssh_multi_op_unref(done);
    }
    cr_assert_eq(seen, n, "each op reported once by info_read");
    for (int i = 0; i < n; i++) {
        const xssh_multi_result *r = result_of(ops[i]);
        cr_assert_not_null(r->host);
        switch (kind[i]) {
        case OK_RUN:
            cr_assert_eq(r->error, XSSH_OK, "%s: %s", r->host, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_NONE);
            cr_assert_str_eq(r->message, "");
            cr_assert_eq(r->have_exit_status, 1);
            cr_assert_eq(r->exit_status, 0);
            cr_assert_str_eq(r->out, "hello-42\n");
            cr_assert_str_eq(r->err, "warn\n");
            break;
        case EXIT3:
            cr_assert_eq(r->error, XSSH_OK, "%s: %s", r->host, r->message);
            cr_assert_eq(r->have_exit_status, 1);
            cr_assert_eq(r->exit_status, 3);
            cr_assert_str_eq(r->out, "out\n");
            break;
        case REFUSED:
            cr_assert_eq(r->error, XSSH_ECONNECT, "%s: %d %s", r->host, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_CONNECT, "phase %s", xssh_phase_name(r->phase));
            cr_assert(strstr(r->message, "refused"), "%s", r->message);
            break;
        case UNKNOWN_KEY:
        case MISMATCH_KEY:
            cr_assert_eq(r->error, kind[i] == UNKNOWN_KEY ? XSSH_EHOSTKEY_UNKNOWN : XSSH_EHOSTKEY_CHANGED, "%s: %d %s", r->host, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_HOSTKEY, "phase %s: %s", xssh_phase_name(r->phase), r->message);
            break;
        case WRONG_KEY:
            cr_assert_eq(r->error, XSSH_EAUTHENTICATION_FAILED, "%s: %d %s", r->host, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_AUTH, "phase %s", xssh_phase_name(r->phase));
            break;
        case TIMEOUT:
            cr_assert_eq(r->error, XSSH_ETIMEOUT, "%s: %d %s", r->host, r->error, r->message);
            cr_assert_eq(r->phase, XSSH_PHASE_COMMAND, "phase %s", xssh_phase_name(r->phase));
            break;
        }
        xssh_multi_op_unref(ops[i]);
    }
    xssh_multi_unref(m);
    xssh_options_unref(good);
    xssh_options_unref(wrong);
    free(good_list);
    free(unknown);
    free(mismatch);
    free(refused);
    free(key);
    free(wrong_key);
    free(kh);
}

/* ---- overlap without timing: N commands wait for each other --------------------- */

/* Each command creates its own file in a shared directory and then waits until
   all N files exist. Run one after the other, the first could never finish (it
   would run into its timeout); run concurrently, all finish. */
Test(multi, ops_overlap_barrier, .timeout = 240)
{
    enum { N = 12 };
    char *dir = xt_tmppath("barrier");
    cr_assert_eq(mkdir(dir, 0777), 0);
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *ops[N];
    for (int i = 0; i < N; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "touch %s/f%d; n=0; while [ $(ls %s | wc -l) -lt %d ]; do n=$((n+1)); [ $n -gt 6000 ] && exit 9; "
                 "sleep 0.05; done; echo done-%d",
                 dir, i, dir, N, i);
        char *h = host_str(xt()->port);
        cr_assert_eq(xssh_multi_add_host_run(m, h, good, cmd, NULL, &ops[i]), XSSH_OK, "%s", last_msg());
        free(h);
    }
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    for (int i = 0; i < N; i++) {
        const xssh_multi_result *r = result_of(ops[i]);
        cr_assert_eq(r->error, XSSH_OK, "op %d: %s", i, r->message);
        cr_assert_eq(r->exit_status, 0, "op %d: exit %d (the barrier was never reached)", i, r->exit_status);
        char want[32];
        snprintf(want, sizeof want, "done-%d\n", i);
        cr_assert_str_eq(r->out, want);
        xssh_multi_op_unref(ops[i]);
    }
    xssh_multi_unref(m);
    xssh_options_unref(good);
    free(dir);
}

/* ---- the concurrency limit ------------------------------------------------------- */

typedef struct lim_state {
    int running, max_running, done;
    const char *dir;
    int k;
} lim_state;

typedef struct lim_call {
    lim_state *st;
    int index;
} lim_call;

/* a caller's function as an operation: blocking xssh calls suspend it */
static int lim_fn(xssh_multi_op *op, void *ud)
{
    lim_call *c = ud;
    lim_state *st = c->st;
    st->running++;
    if (st->running > st->max_running)
        st->max_running = st->running;
    xssh_options *o = good_opts();
    char port[16];
    snprintf(port, sizeof port, "%d", xt()->port);
    cr_assert_eq(xssh_options_set(o, "Port", port), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "User", xt()->user), XSSH_OK);
    xssh_session *s = NULL;
    int rc = xssh_connect(xt()->host, o, &s);
    xssh_options_unref(o);
    if (rc == XSSH_OK) {
        /* groups of k wait for each other: with fewer than k at once this never ends */
        char cmd[2048];
        int g = c->index / st->k;
        snprintf(cmd, sizeof cmd,
                 "mkdir -p %s/g%d; touch %s/g%d/f%d; n=0; while [ $(ls %s/g%d | wc -l) -lt %d ]; do n=$((n+1)); "
                 "[ $n -gt 6000 ] && exit 9; sleep 0.05; done",
                 st->dir, g, st->dir, g, c->index, st->dir, g, st->k);
        xssh_run_result *r = NULL;
        rc = xssh_session_run(s, cmd, NULL, &r);
        if (rc == XSSH_OK && r->exit_status != 0)
            rc = XSSH_EBAD_USE; /* the barrier was never reached */
        xssh_run_result_free(r);
        xssh_session_unref(s);
    }
    st->running--;
    st->done++;
    return rc;
}

Test(multi, concurrency_limit_respected, .timeout = 240)
{
    enum { N = 9, K = 3 };
    char *dir = xt_tmppath("limit");
    cr_assert_eq(mkdir(dir, 0777), 0);
    lim_state st = {0, 0, 0, dir, K};
    lim_call calls[N];
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    cr_assert_eq(xssh_multi_set_max_running(m, K), XSSH_OK);
    cr_assert_eq(xssh_multi_set_max_running(m, -1), XSSH_EARG);
    xssh_multi_op *ops[N];
    for (int i = 0; i < N; i++) {
        calls[i] = (lim_call){&st, i};
        cr_assert_eq(xssh_multi_add_call(m, NULL, lim_fn, &calls[i], NULL, &ops[i]), XSSH_OK, "%s", last_msg());
    }
    /* nothing runs before the multi is driven */
    cr_assert_eq(xssh_multi_op_state(ops[0]), XSSH_OP_QUEUED);
    cr_assert_eq(st.running, 0);
    int running = -1;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    cr_assert_eq(running, N, "%d", running);
    cr_assert_eq(st.running, K, "%d running after the first perform", st.running);
    cr_assert_eq(xssh_multi_op_state(ops[K]), XSSH_OP_QUEUED);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    cr_assert_eq(st.done, N);
    cr_assert_eq(st.max_running, K, "at most %d at once, saw %d", K, st.max_running);
    for (int i = 0; i < N; i++) {
        const xssh_multi_result *r = result_of(ops[i]);
        cr_assert_eq(r->error, XSSH_OK, "op %d: %s", i, r->message);
        cr_assert_null(r->host);
        xssh_multi_op_unref(ops[i]);
    }
    xssh_multi_unref(m);
    free(dir);
}

/* ---- the external-loop API from an epoll loop ------------------------------------ */

typedef struct ep_loop {
    int ep, tfd;
    int sock_calls, timer_calls;
    int watched;       /* sockets registered now */
    int bad_reports;   /* a report that changed nothing */
    int reported[4096];
} ep_loop;

static int ep_socket_cb(xssh_multi *m, int fd, int what, void *ud)
{
    ep_loop *l = ud;
    l->sock_calls++;
    cr_assert(fd >= 0 && fd < 4096);
    if (l->reported[fd] == what)
        l->bad_reports++;
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = ((what & XSSH_POLL_IN) ? EPOLLIN : 0) | ((what & XSSH_POLL_OUT) ? EPOLLOUT : 0);
    if (what == XSSH_POLL_NONE) {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL); /* (may be closed already: then it left the set) */
        if (l->reported[fd])
            l->watched--;
    } else if (l->reported[fd]) {
        if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
            cr_assert_eq(epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev), 0);
    } else {
        cr_assert_eq(epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev), 0, "add %d: %s", fd, strerror(errno));
        l->watched++;
    }
    l->reported[fd] = what;
    return 0;
}

static int ep_timer_cb(xssh_multi *m, long timeout_ms, void *ud)
{
    ep_loop *l = ud;
    l->timer_calls++;
    struct itimerspec its = {0};
    if (timeout_ms == 0)
        its.it_value.tv_nsec = 1; /* at once */
    else if (timeout_ms > 0) {
        its.it_value.tv_sec = timeout_ms / 1000;
        its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
    }
    cr_assert_eq(timerfd_settime(l->tfd, 0, &its, NULL), 0);
    return 0;
}

Test(multi, external_loop_epoll, .timeout = 240)
{
    enum { N = 10 };
    ep_loop l;
    memset(&l, 0, sizeof l);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.fd = -1};
    cr_assert_eq(epoll_ctl(l.ep, EPOLL_CTL_ADD, l.tfd, &tev), 0);
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    cr_assert_eq(xssh_multi_set_socket_cb(m, ep_socket_cb, &l), XSSH_OK);
    cr_assert_eq(xssh_multi_set_timer_cb(m, ep_timer_cb, &l), XSSH_OK);
    xssh_multi_op *ops[N];
    for (int i = 0; i < N; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "echo ext-%d", i);
        char *h = host_str(xt()->port);
        cr_assert_eq(xssh_multi_add_host_run(m, h, good, cmd, NULL, &ops[i]), XSSH_OK, "%s", last_msg());
        free(h);
    }
    cr_assert(l.timer_calls >= 1, "adding an op asks the loop to come back (timer 0)");
    int running = N;
    int rounds = 0;
    while (running > 0) {
        cr_assert(++rounds < 1000000);
        struct epoll_event evs[64];
        int n = epoll_wait(l.ep, evs, 64, 60000);
        cr_assert(n > 0, "the loop was told nothing to wait for (%s)", n < 0 ? strerror(errno) : "timeout");
        for (int k = 0; k < n; k++) {
            if (evs[k].data.fd == -1) {
                uint64_t v;
                ssize_t rr = read(l.tfd, &v, sizeof v);
                (void)rr;
                cr_assert_eq(xssh_multi_socket_action(m, XSSH_SOCKET_TIMEOUT, 0, &running), XSSH_OK);
            } else {
                int what = ((evs[k].events & EPOLLIN) ? XSSH_POLL_IN : 0) |
                           ((evs[k].events & EPOLLOUT) ? XSSH_POLL_OUT : 0) |
                           ((evs[k].events & (EPOLLERR | EPOLLHUP)) ? XSSH_POLL_ERR : 0);
                cr_assert_eq(xssh_multi_socket_action(m, evs[k].data.fd, what, &running), XSSH_OK);
            }
        }
    }
    for (int i = 0; i < N; i++) {
        const xssh_multi_result *r = result_of(ops[i]);
        cr_assert_eq(r->error, XSSH_OK, "op %d: %s", i, r->message);
        char want[32];
        snprintf(want, sizeof want, "ext-%d\n", i);
        cr_assert_str_eq(r->out, want);
        xssh_multi_op_unref(ops[i]);
    }
    cr_assert_eq(l.watched, 0, "every socket was released (NONE) at the end");
    cr_assert_eq(l.bad_reports, 0, "each change is reported once");
    cr_assert(l.sock_calls >= N);
    /* pull form: nothing left to watch */
    size_t nf = 99;
    long t = 99;
    cr_assert_eq(xssh_multi_fds(m, NULL, 0, &nf, &t), XSSH_OK);
    cr_assert_eq(nf, 0);
    cr_assert_eq(t, -1);
    xssh_multi_unref(m);
    xssh_options_unref(good);
    close(l.tfd);
    close(l.ep);
}

/* ---- cancel ------------------------------------------------------------------------ */

typedef struct cancel_ctx {
    xssh_multi_op *queued;
    int outputs;
    int queued_state; /* the queued op's state when the running one printed */
} cancel_ctx;

/* the running op printed: it runs (and the op queued behind it on the same
   session is still queued, whatever the machine's speed); cancel both */
static int cancel_on_output(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud)
{
    cancel_ctx *c = ud;
    c->outputs++;
    c->queued_state = xssh_multi_op_state(c->queued);
    cr_assert_eq(xssh_multi_op_cancel(c->queued), XSSH_OK);
    cr_assert_eq(xssh_multi_op_state(c->queued), XSSH_OP_DONE, "a queued op is done at once");
    cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK); /* allowed from a callback */
    return 0;
}

Test(multi, cancel_queued_and_running, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    cancel_ctx cc = {0};
    xssh_multi_op_opts o = {0};
    o.on_output = cancel_on_output;
    o.userdata = &cc;
    xssh_multi_op *running = NULL, *queued = NULL, *after = NULL;
    /* the running one prints, then waits forever: cancelled from its output */
    cr_assert_eq(xssh_multi_add_run(m, s, "echo started; exec sleep 3600", &o, &running), XSSH_OK, "%s", last_msg());
    /* ops on one session run one after the other: this one is queued behind it */
    cr_assert_eq(xssh_multi_add_run(m, s, "echo never", NULL, &queued), XSSH_OK);
    cr_assert_eq(xssh_multi_add_run(m, s, "echo after", NULL, &after), XSSH_OK);
    cc.queued = queued;
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    cr_assert_eq(cc.outputs, 1);
    cr_assert_eq(cc.queued_state, XSSH_OP_QUEUED);
    const xssh_multi_result *rq = result_of(queued);
    cr_assert_eq(rq->error, XSSH_ECANCELLED);
    cr_assert_eq(rq->phase, XSSH_PHASE_NONE);
    cr_assert_str_eq(rq->message, "cancelled before it started");
    const xssh_multi_result *rr = result_of(running);
    cr_assert_eq(rr->error, XSSH_ECANCELLED, "%d %s", rr->error, rr->message);
    cr_assert_eq(rr->phase, XSSH_PHASE_COMMAND, "%s", xssh_phase_name(rr->phase));
    /* the session stays usable: the next op on it ran, and a blocking call works */
    const xssh_multi_result *ra = result_of(after);
    cr_assert_eq(ra->error, XSSH_OK, "%s", ra->message);
    cr_assert_str_eq(ra->out, "after\n");
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "echo still", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "still\n");
    xssh_run_result_free(r);
    /* cancel of a done op: no effect */
    cr_assert_eq(xssh_multi_op_cancel(after), XSSH_OK);
    cr_assert_eq(result_of(after)->error, XSSH_OK);
    xssh_multi_op_unref(running);
    xssh_multi_op_unref(queued);
    xssh_multi_op_unref(after);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* freeing the multi with ops running cancels them without waiting for the network */
Test(multi, unref_with_ops_running, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *a = NULL, *b = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "exec sleep 3600", NULL, &a), XSSH_OK);
    char *h = host_str(xt()->port);
    cr_assert_eq(xssh_multi_add_host_run(m, h, good, "exec sleep 3600", NULL, &b), XSSH_OK);
    free(h);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(xssh_multi_perform(m, NULL), XSSH_OK);
    xssh_multi_unref(m);
    cr_assert_eq(xssh_multi_op_state(a), XSSH_OP_DONE);
    cr_assert_eq(result_of(a)->error, XSSH_ECANCELLED, "%s", result_of(a)->message);
    cr_assert_eq(result_of(b)->error, XSSH_ECANCELLED, "%s", result_of(b)->message);
    xssh_multi_op_unref(a);
    xssh_multi_op_unref(b);
    /* the session given to the op still works (its channel closes lazily) */
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "echo ok", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "ok\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
    xssh_options_unref(good);
}

/* ---- output: truncation, line mode --------------------------------------------------- */

Test(multi, output_truncated, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.max_output = 10;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "head -c 100000 /dev/zero | tr '\\0' x; echo short >&2", &o, &op),
                 XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(r->out_len, 10);
    cr_assert_str_eq(r->out, "xxxxxxxxxx");
    cr_assert_eq(r->out_truncated, 1);
    cr_assert_str_eq(r->err, "short\n");
    cr_assert_eq(r->err_truncated, 0);
    cr_assert_eq(r->exit_status, 0);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

typedef struct lines {
    char got[2][16][64];
    int n[2];
    int partial; /* a call that was not one whole line */
} lines;

static int line_cb(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud)
{
    lines *l = ud;
    cr_assert(stream == XSSH_STREAM_STDOUT || stream == XSSH_STREAM_STDERR);
    const char *nl = memchr(data, '\n', len);
    if (nl && nl != data + len - 1)
        l->partial++;
    if (l->n[stream] < 16 && len < 64) {
        memcpy(l->got[stream][l->n[stream]], data, len);
        l->got[stream][l->n[stream]][len] = '\0';
    }
    l->n[stream]++;
    return 0;
}

Test(multi, line_mode, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    lines l;
    memset(&l, 0, sizeof l);
    xssh_multi_op_opts o = {0};
    o.on_output = line_cb;
    o.line_mode = 1;
    o.userdata = &l;
    xssh_multi_op *op = NULL;
    /* lines cut across writes: "b" and "b\n" come in two writes */
    cr_assert_eq(xssh_multi_add_run(m, s, "printf 'a\\nb'; sleep 0.1; printf 'b\\nccc'; printf 'e1\\n' >&2", &o, &op),
                 XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(r->out_len, 0, "output handed to the callback is not kept");
    cr_assert_eq(l.partial, 0);
    cr_assert_eq(l.n[0], 3);
    cr_assert_str_eq(l.got[0][0], "a\n");
    cr_assert_str_eq(l.got[0][1], "bb\n");
    cr_assert_str_eq(l.got[0][2], "ccc"); /* the last, unterminated line at the end */
    cr_assert_eq(l.n[1], 1);
    cr_assert_str_eq(l.got[1][0], "e1\n");
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* ---- host strings, bad input ------------------------------------------------------- */

Test(multi, bad_input, .timeout = 60)
{
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *op = (xssh_multi_op *)1;
    /* only NULL pointers are add-time errors (malformed host strings: see bad_host_strings_per_op) */
    cr_assert_eq(xssh_multi_add_host_run(m, NULL, NULL, "true", NULL, &op), XSSH_EARG);
    cr_assert_null(op);
    cr_assert(strstr(last_msg(), "host is NULL"), "%s", last_msg());
    cr_assert_eq(xssh_multi_add_connect(m, NULL, NULL, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_host_get(m, NULL, NULL, "a", "b", NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_host_run(m, "h", NULL, NULL, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_run(m, NULL, "true", NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_call(m, NULL, NULL, NULL, NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_set_stack_size(m, 1024), XSSH_EARG);
    cr_assert_eq(xssh_multi_perform(NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_state(NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_cancel(NULL), XSSH_EARG);
    cr_assert_str_eq(xssh_phase_name(XSSH_PHASE_AUTH), "auth");
    cr_assert_str_eq(xssh_phase_name(99), "none");
    /* nothing queued: perform_all returns at once; closed session refused at add */
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_close(s), XSSH_OK);
    cr_assert_eq(xssh_multi_add_run(m, s, "true", NULL, NULL), XSSH_ECLOSED);
    xssh_session_unref(s);
    xssh_multi_unref(m);
}

/* a host string that cannot be parsed is that op's failure (XSSH_EARG, phase
   resolve, a message naming it), never the batch's: the other ops run */
Test(multi, bad_host_strings_per_op, .timeout = 120)
{
    static const struct {
        const char *host, *why;
    } bad[] = {
        {"@@@", "empty host name"},     {"", "empty"},
        {"root@", "empty host name"},   {"h:99999", "port must be 1..65535"},
        {"host:0", "port must be"},     {"host:22x", "not a number"},
        {"@host", "empty user name"},   {"[::1", "without a matching ']'"},
        {"[::1]x", "only ':port'"},
    };
    enum { NB = sizeof bad / sizeof bad[0] };
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *ops[NB], *run = NULL, *v4 = NULL, *get = NULL;
    for (int i = 0; i < NB; i++)
        cr_assert_eq(xssh_multi_add_host_run(m, bad[i].host, good, "true", NULL, &ops[i]), XSSH_OK,
                     "'%s': %s", bad[i].host, last_msg());
    cr_assert_eq(xssh_multi_add_host_get(m, "root@", good, "/etc/hostname", "/nonexistent/x", NULL, &get), XSSH_OK);
    char *h = host_str(xt()->port);
    cr_assert_eq(xssh_multi_add_host_run(m, h, good, "echo fine", NULL, &run), XSSH_OK, "%s", last_msg());
    free(h);
    /* "[v4]:port" is valid ssh syntax for a bracketed host */
    char h4[512];
    snprintf(h4, sizeof h4, "%s@[%s]:%d", xt()->user, xt()->host, xt()->port);
    cr_assert_eq(xssh_multi_add_host_run(m, h4, good, "true", NULL, &v4), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    for (int i = 0; i < NB; i++) {
        const xssh_multi_result *r = result_of(ops[i]);
        cr_assert_eq(r->error, XSSH_EARG, "'%s': %d %s", bad[i].host, r->error, r->message);
        cr_assert_eq(r->phase, XSSH_PHASE_RESOLVE, "'%s'", bad[i].host);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i].host);
        cr_assert(strstr(r->message, quoted), "'%s': %s", bad[i].host, r->message);
        cr_assert(strstr(r->message, bad[i].why), "'%s': %s", bad[i].host, r->message);
        cr_assert_str_eq(r->host, bad[i].host);
        xssh_multi_op_unref(ops[i]);
    }
    cr_assert_eq(result_of(get)->error, XSSH_EARG, "%s", result_of(get)->message);
    cr_assert_eq(result_of(get)->phase, XSSH_PHASE_RESOLVE);
    cr_assert_eq(result_of(run)->error, XSSH_OK, "%s", result_of(run)->message);
    cr_assert_eq(result_of(run)->out_len, 5);
    cr_assert_eq(result_of(v4)->error, XSSH_OK, "%s", result_of(v4)->message);
    xssh_multi_op_unref(get);
    xssh_multi_op_unref(run);
    xssh_multi_op_unref(v4);
    xssh_multi_unref(m);
    xssh_options_unref(good);
}

/* host get/put without transfer options are atomic: a missing remote file or a
   timeout (the source is /dev/zero, so the transfer can never finish) leaves
   nothing under the final name */
Test(multi, host_transfers_atomic_by_default, .timeout = 120)
{
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    char *h = host_str(xt()->port);
    char *l_missing = xt_tmppath("multi_atomic_missing");
    char *l_zero = xt_tmppath("multi_atomic_zero");
    char *r_zero = xt_tmppath("multi_atomic_rzero");
    xssh_multi_op_opts o = {0};
    o.timeout_ms = 1500;
    xssh_multi_op *miss = NULL, *zget = NULL, *zput = NULL;
    cr_assert_eq(xssh_multi_add_host_get(m, h, good, "/nonexistent/for/sure", l_missing, NULL, &miss), XSSH_OK);
    cr_assert_eq(xssh_multi_add_host_get(m, h, good, "/dev/zero", l_zero, &o, &zget), XSSH_OK);
    cr_assert_eq(xssh_multi_add_host_put(m, h, good, "/dev/zero", r_zero, &o, &zput), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    cr_assert_eq(result_of(miss)->error, XSSH_ESFTP_NO_SUCH_FILE, "%s", result_of(miss)->message);
    cr_assert_eq(result_of(miss)->sftp_status, 2); /* the server's SSH_FX_NO_SUCH_FILE */
    cr_assert_eq(result_of(zget)->sftp_status, 0); /* not an SFTP status failure */
    cr_assert_eq(result_of(zget)->error, XSSH_ETIMEOUT, "%d %s", result_of(zget)->error, result_of(zget)->message);
    cr_assert_eq(result_of(zput)->error, XSSH_ETIMEOUT, "%d %s", result_of(zput)->error, result_of(zput)->message);
    cr_assert_neq(access(l_missing, F_OK), 0, "a failed host get left '%s'", l_missing);
    cr_assert_neq(access(l_zero, F_OK), 0, "a timed-out host get left '%s'", l_zero);
    cr_assert_neq(access(r_zero, F_OK), 0, "a timed-out host put left '%s'", r_zero);
    xssh_multi_op_unref(miss);
    xssh_multi_op_unref(zget);
    xssh_multi_op_unref(zput);
    free(l_missing);
    free(l_zero);
    free(r_zero);
    free(h);
    xssh_multi_unref(m);
    xssh_options_unref(good);
}

/* an IPv6-style "[addr]:port" host string and a connect op handing out its session */
Test(multi, connect_op_and_bracket_host, .timeout = 120)
{
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    char h[512];
    snprintf(h, sizeof h, "%s@[%s]:%d", xt()->user, xt()->host, xt()->port);
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_connect(m, h, good, NULL, &op), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_str_eq(r->host, h);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_multi_op_session(op, &s), XSSH_OK);
    xssh_multi_op *ch = NULL;
    cr_assert_eq(xssh_multi_add_channel_open(m, s, NULL, &ch), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    xssh_channel *c = NULL;
    cr_assert_eq(xssh_multi_op_channel(ch, &c), XSSH_OK, "%s", result_of(ch)->message);
    cr_assert_eq(xssh_channel_execute(c, "exit 5"), XSSH_OK, "%s", last_msg());
    xssh_channel_unref(c);
    xssh_multi_op_unref(ch);
    xssh_session_unref(s);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_options_unref(good);
}

/* ---- streaming: a fast writer is handed out in pieces, all of it --------------- */

typedef struct stream_count {
    size_t bytes[2];
    int calls;
    size_t biggest;
} stream_count;

static int count_cb(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud)
{
    stream_count *c = ud;
    c->bytes[stream] += len;
    c->calls++;
    if (len > c->biggest)
        c->biggest = len;
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(data[i], 'y');
    return 0;
}

Test(multi, output_streamed_in_bounded_pieces, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    stream_count c = {{0, 0}, 0, 0};
    xssh_multi_op_opts o = {0};
    o.on_output = count_cb;
    o.userdata = &c;
    xssh_multi_op *op = NULL;
    size_t total = xt_size(4 * 1024 * 1024);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/zero | tr '\\0' y", total);
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, &o, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(c.bytes[0], total);
    cr_assert_eq(c.bytes[1], 0);
    cr_assert_eq(r->out_len, 0);
    /* handed out at least every 64 KiB (+ one read's worth) */
    cr_assert(c.biggest <= 65536 + 256 * 1024, "a %zu-byte piece", c.biggest);
    cr_assert(c.calls >= (int)(total / (65536 + 256 * 1024)), "%d calls", c.calls);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* line mode with no newline at all: handed out in pieces of at most
   XSSH_MULTI_LINE_MAX bytes (the partial line kept is bounded), every byte once;
   then a newline after a long run ends the last piece */
Test(multi, line_mode_long_line_bounded, .timeout = 180)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    stream_count c = {{0, 0}, 0, 0};
    xssh_multi_op_opts o = {0};
    o.on_output = count_cb;
    o.line_mode = 1;
    o.userdata = &c;
    xssh_multi_op *op = NULL;
    size_t total = 8 * 1024 * 1024;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/zero | tr '\\0' y", total);
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, &o, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(c.bytes[0], total);
    cr_assert_eq(c.bytes[1], 0);
    cr_assert(c.biggest <= XSSH_MULTI_LINE_MAX, "a %zu-byte piece", c.biggest);
    cr_assert(c.calls >= (int)(total / XSSH_MULTI_LINE_MAX), "%d calls", c.calls);
    xssh_multi_op_unref(op);

    /* 100000 bytes then a newline, then "z\n": pieces 65536, 34465 (with '\n'), 2 */
    lines l;
    memset(&l, 0, sizeof l);
    o.on_output = line_cb;
    o.userdata = &l;
    cr_assert_eq(xssh_multi_add_run(m, s, "head -c 100000 /dev/zero | tr '\\0' y; printf '\\nz\\n'", &o, &op),
                 XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_eq(l.partial, 0);
    cr_assert_eq(l.n[0], 3);
    cr_assert_str_eq(l.got[0][2], "z\n");
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* ---- connect timeout: a server that accepts and never speaks -------------------- */

Test(multi, connect_timeout_silent_server, .timeout = 120)
{
    /* listening, never accepting: the kernel completes the TCP handshake, no
       SSH banner ever comes */
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 16), 0);
    socklen_t al = sizeof a;
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.connect_timeout_ms = 300;
    char *h = host_str(ntohs(a.sin_port));
    xssh_multi_op *op = NULL, *ok = NULL;
    cr_assert_eq(xssh_multi_add_host_run(m, h, good, "true", &o, &op), XSSH_OK);
    /* a good host at the same time is not held up by it */
    char *g = host_str(xt()->port);
    cr_assert_eq(xssh_multi_add_host_run(m, g, good, "echo fine", NULL, &ok), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ETIMEOUT, "%d %s", r->error, r->message);
    cr_assert_eq(r->phase, XSSH_PHASE_HANDSHAKE, "%s: %s", xssh_phase_name(r->phase), r->message);
    cr_assert_str_eq(result_of(ok)->out, "fine\n");
    xssh_multi_op_unref(op);
    xssh_multi_op_unref(ok);
    xssh_multi_unref(m);
    xssh_options_unref(good);
    free(h);
    free(g);
    close(l);
}

/* ---- the pull form: xssh_multi_fds / xssh_multi_timeout from a poll loop -------- */

#include <poll.h>

Test(multi, pull_form_poll_loop, .timeout = 120)
{
    enum { N = 5 };
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *ops[N];
    for (int i = 0; i < N; i++) {
        char *h = host_str(xt()->port);
        cr_assert_eq(xssh_multi_add_host_run(m, h, good, "echo pulled", NULL, &ops[i]), XSSH_OK);
        free(h);
    }
    long t = -5;
    cr_assert_eq(xssh_multi_timeout(m, &t), XSSH_OK);
    cr_assert_eq(t, 0, "queued ops: perform now");
    int running = N;
    cr_assert_eq(xssh_multi_socket_action(m, XSSH_SOCKET_TIMEOUT, 0, &running), XSSH_OK);
    for (int rounds = 0; running > 0; rounds++) {
        cr_assert(rounds < 1000000);
        xssh_multi_pollfd f[2];
        size_t n = 0;
        cr_assert_eq(xssh_multi_fds(m, f, 2, &n, &t), XSSH_OK); /* room for 2: asks again when more */
        xssh_multi_pollfd *fds = f;
        if (n > 2) {
            fds = calloc(n, sizeof *fds);
            size_t n2 = 0;
            cr_assert_eq(xssh_multi_fds(m, fds, n, &n2, &t), XSSH_OK);
            cr_assert_eq(n2, n);
        }
        cr_assert(n > 0 || t >= 0, "nothing to wait for");
        struct pollfd p[64];
        cr_assert(n <= 64);
        for (size_t i = 0; i < n; i++) {
            p[i].fd = fds[i].fd;
            p[i].events = (short)(((fds[i].events & XSSH_POLL_IN) ? POLLIN : 0) |
                                  ((fds[i].events & XSSH_POLL_OUT) ? POLLOUT : 0));
            p[i].revents = 0;
        }
        int k = poll(p, n, t < 0 ? 60000 : (int)t);
        cr_assert(k >= 0);
        if (k == 0)
            cr_assert_eq(xssh_multi_socket_action(m, XSSH_SOCKET_TIMEOUT, 0, &running), XSSH_OK);
        for (size_t i = 0; i < n; i++)
            if (p[i].revents)
                cr_assert_eq(xssh_multi_socket_action(m, p[i].fd,
                                                      ((p[i].revents & POLLIN) ? XSSH_POLL_IN : 0) |
                                                          ((p[i].revents & POLLOUT) ? XSSH_POLL_OUT : 0) |
                                                          ((p[i].revents & (POLLERR | POLLHUP)) ? XSSH_POLL_ERR : 0),
                                                      &running),
                             XSSH_OK);
        if (fds != f)
            free(fds);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_str_eq(result_of(ops[i])->out, "pulled\n", "%s", result_of(ops[i])->message);
        xssh_multi_op_unref(ops[i]);
    }
    xssh_multi_unref(m);
    xssh_options_unref(good);
}

/* ---- SFTP: put to and get from many hosts, and on an open SFTP subsystem --------- */

Test(multi, sftp_put_get, .timeout = 120)
{
    enum { N = 4 };
    size_t size = xt_size(3 * 1024 * 1024 + 17);
    unsigned char *data = xt_random_bytes(size);
    char *src = xt_tmppath("multi_src");
    xt_spit(src, data, size, 0644);
    xssh_options *good = good_opts();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *put[N], *get[N];
    char *remote[N], *back[N];
    for (int i = 0; i < N; i++) {
        remote[i] = xt_tmppath("multi_remote");
        back[i] = xt_tmppath("multi_back");
        char *h = host_str(xt()->port);
        cr_assert_eq(xssh_multi_add_host_put(m, h, good, src, remote[i], NULL, &put[i]), XSSH_OK, "%s", last_msg());
        free(h);
    }
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    for (int i = 0; i < N; i++) {
        const xssh_multi_result *r = result_of(put[i]);
        cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
        cr_assert_eq(r->bytes, size);
        char *h = host_str(xt()->port);
        cr_assert_eq(xssh_multi_add_host_get(m, h, good, remote[i], back[i], NULL, &get[i]), XSSH_OK);
        free(h);
    }
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    for (int i = 0; i < N; i++) {
        const xssh_multi_result *r = result_of(get[i]);
        cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
        cr_assert_eq(r->bytes, size);
        size_t len = 0;
        unsigned char *got = xt_slurp(back[i], &len);
        cr_assert_eq(len, size);
        cr_assert(memcmp(got, data, size) == 0);
        free(got);
    }
    /* a missing remote file: the transfer phase, the SFTP status */
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    xssh_multi_op *miss = NULL, *one = NULL;
    cr_assert_eq(xssh_multi_add_sftp_get(m, sf, "/nonexistent/for/sure", back[0], NULL, &miss), XSSH_OK);
    cr_assert_eq(xssh_multi_add_sftp_get(m, sf, remote[1], back[1], NULL, &one), XSSH_OK);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    cr_assert_eq(result_of(miss)->error, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", result_of(miss)->error,
                 result_of(miss)->message);
    cr_assert_eq(result_of(miss)->phase, XSSH_PHASE_TRANSFER);
    cr_assert_eq(result_of(one)->error, XSSH_OK, "%s", result_of(one)->message);
    cr_assert_eq(result_of(one)->bytes, size);
    xssh_multi_op_unref(miss);
    xssh_multi_op_unref(one);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    for (int i = 0; i < N; i++) {
        xssh_multi_op_unref(put[i]);
        xssh_multi_op_unref(get[i]);
        free(remote[i]);
        free(back[i]);
    }
    xssh_multi_unref(m);
    xssh_options_unref(good);
    free(src);
    free(data);
}

/* references and userdata: a multi and an op outlive the caller's first reference
   when referenced again; the op hands back its options' userdata (a host string that
   cannot be parsed fails its own op, so no network is needed) */
Test(multi, refs_and_userdata, .timeout = 60)
{
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    cr_assert_eq(xssh_multi_ref(m), m);
    cr_assert_null(xssh_multi_ref(NULL));
    int tag = 42;
    xssh_multi_op_opts o;
    memset(&o, 0, sizeof o);
    o.userdata = &tag;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_host_run(m, "root@", NULL, "true", &o, &op), XSSH_OK);
    cr_assert_eq(xssh_multi_op_ref(op), op);
    cr_assert_null(xssh_multi_op_ref(NULL));
    cr_assert_eq(xssh_multi_op_userdata(op), &tag);
    xssh_multi_unref(m); /* the second reference keeps it */
    cr_assert_eq(xssh_multi_perform_all(m, 30000), XSSH_OK);
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK);
    cr_assert_neq(r->error, XSSH_OK);
    xssh_multi_op_unref(op);
    cr_assert_eq(xssh_multi_op_userdata(op), &tag); /* still held once */
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
}
