/* SPDX-License-Identifier: BSD-3-Clause */
/* Wake-ups across the multis of a thread (docs/multi.md, "Threads").
 *
 * libssh2 reads the packets of every channel of a session whenever any channel
 * is read: input meant for an op of multi B can be drained into libssh2's queue
 * by an op of multi A on the same thread, or by a plain blocking call, and B's
 * op then waits for socket readability that never comes (its bytes are there).
 * The C core wakes the ops of every multi the thread drives, and tells an
 * external loop (timer callback 0) once the thread is back at its top level.
 *
 * No timing: B's command prints "b" only after A's command started (marker m1)
 * and A's command ends only after "b" was printed (marker m2), so A's reads
 * drain "b" before A is done; B's command then waits for m3 (no more input
 * reaches the socket). B must see "b" within a bounded drive; the bounds (and
 * the ops' own timeouts) only end a failure. The session timeout is raised so
 * its dead-peer probe (whose reply would wake B's op anyway) stays beyond them.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(multi_wake, .timeout = 180);

#define BOUND_MS 15000 /* a drive that should succeed at once; beyond it: a missed wake-up */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct fx {
    char m1[1024], m2[1024], m3[1024];
    char *cmd_a, *cmd_b;
    xssh_session *s;
    xssh_multi *b;
    xssh_multi_op *op_b;
    char got[256]; /* B's stdout so far */
    size_t n;
} fx;

/* a shell loop waiting for file f (at most 60 s, then exit 9) */
#define WAITF "i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt 6000 ] && exit 9; sleep 0.01; done; "

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    char *dir = xt_tmppath("mwake");
    cr_assert_eq(mkdir(dir, 0777), 0);
    snprintf(f->m1, sizeof f->m1, "%s/m1", dir);
    snprintf(f->m2, sizeof f->m2, "%s/m2", dir);
    snprintf(f->m3, sizeof f->m3, "%s/m3", dir);
    free(dir);
    cr_assert_geq(asprintf(&f->cmd_b, "echo start; " WAITF "echo b; touch %s; " WAITF "echo end", f->m1, f->m2, f->m3),
                  0);
    cr_assert_geq(asprintf(&f->cmd_a, "touch %s; " WAITF "echo a", f->m1, f->m2), 0);
    f->s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_timeout(f->s, 120000), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_new(&f->b), XSSH_OK);
}

static void fx_free(fx *f)
{
    xssh_multi_op_unref(f->op_b);
    xssh_multi_unref(f->b);
    xssh_session_unref(f->s);
    free(f->cmd_a);
    free(f->cmd_b);
}

static void touch(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    cr_assert_geq(fd, 0, "creating %s", path);
    close(fd);
}

/* B's op: the run of cmd_b, its output pulled */
static void add_b(fx *f)
{
    xssh_multi_op_opts oo;
    memset(&oo, 0, sizeof oo);
    oo.pull_output = 1;
    oo.timeout_ms = 90000; /* a broken library fails instead of hanging */
    cr_assert_eq(xssh_multi_add_run(f->b, f->s, f->cmd_b, &oo, &f->op_b), XSSH_OK, "%s", last_msg());
}

static void take_b(fx *f)
{
    char *d = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_multi_op_take_output(f->op_b, XSSH_STREAM_STDOUT, &d, &n), XSSH_OK, "%s", last_msg());
    cr_assert_lt(f->n + n, sizeof f->got);
    if (n) /* (nothing taken: d is NULL) */
        memcpy(f->got + f->n, d, n);
    f->n += n;
    f->got[f->n] = '\0';
    xssh_free(d);
}

/* drive B with xssh_multi_wait until its output holds want (bounded) */
static int drive_b_until(fx *f, const char *want)
{
    long long end = now_ms() + BOUND_MS;
    int running = 0;
    take_b(f);
    while (!strstr(f->got, want) && now_ms() < end && xssh_multi_op_state(f->op_b) != XSSH_OP_DONE) {
        cr_assert_eq(xssh_multi_wait(f->b, 200, &running), XSSH_OK, "%s", last_msg());
        take_b(f);
    }
    return strstr(f->got, want) != NULL;
}

/* A: another multi of this thread runs cmd_a on the same session to its end */
static void run_a_in_multi(fx *f, xssh_multi *a)
{
    xssh_multi_op_opts oo;
    memset(&oo, 0, sizeof oo);
    oo.timeout_ms = 90000;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(a, f->s, f->cmd_a, &oo, &op), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(a, 90000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK);
    cr_assert_eq(r->error, XSSH_OK, "A's op: %s", r->message);
    cr_assert_eq(r->out_len, 2);
    cr_assert_str_eq(r->out, "a\n");
    xssh_multi_op_unref(op);
}

/* B's command is let go (m3) and B is driven to its end */
static void finish_b(fx *f)
{
    touch(f->m3);
    cr_assert_eq(xssh_multi_perform_all(f->b, 90000), XSSH_OK, "%s", last_msg());
    take_b(f);
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_result(f->op_b, &r), XSSH_OK);
    cr_assert_eq(r->error, XSSH_OK, "B's op: %s", r->message);
    cr_assert_eq(r->exit_status, 0);
    cr_assert_str_eq(f->got, "start\nb\nend\n");
}

Test(multi_wake, input_read_by_another_multi_wakes_the_op)
{
    fx f;
    fx_init(&f);
    add_b(&f);
    cr_assert(drive_b_until(&f, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    xssh_multi *a = NULL;
    cr_assert_eq(xssh_multi_new(&a), XSSH_OK);
    run_a_in_multi(&f, a); /* its reads drained B's "b" into libssh2's queue */
    cr_assert_str_eq(f.got, "start\n", "B was not driven meanwhile");
    cr_assert(drive_b_until(&f, "b\n"),
              "B's op missed the output A's op had read for it (no wake-up; output so far '%s')", f.got);
    finish_b(&f);
    xssh_multi_unref(a);
    fx_free(&f);
}

Test(multi_wake, input_read_by_a_blocking_call_wakes_the_op)
{
    fx f;
    fx_init(&f);
    add_b(&f);
    cr_assert(drive_b_until(&f, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    /* a plain blocking call on the same thread and session between two waits of B's op */
    xssh_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.timeout_ms = 90000;
    xssh_run_result *res = NULL;
    cr_assert_eq(xssh_session_run(f.s, f.cmd_a, &ro, &res), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(res->out, "a\n");
    xssh_run_result_free(res);
    cr_assert_str_eq(f.got, "start\n");
    cr_assert(drive_b_until(&f, "b\n"),
              "B's op missed the output the blocking run had read for it (no wake-up; output so far '%s')", f.got);
    finish_b(&f);
    fx_free(&f);
}

/* ---- B driven by an external loop (socket and timer callbacks) ----------------- */

typedef struct ext {
    int fd, what;         /* the one socket B watches (-1: none) */
    long ms;              /* the last timer told (-1: none) */
    long long at;         /* when it is due */
    xssh_multi *a;        /* the other multi (kick checks) */
    int watch;            /* count the zero timers told from now on */
    int zeros;            /* timers 0 told while watching */
    int zeros_at_top;     /* ... of which while no drive of A was under way */
    int plain_call_over;  /* (blocking case) the plain call has returned */
    int zeros_after_call; /* timers 0 told after it returned */
} ext;

static int sock_cb(xssh_multi *m, int fd, int what, void *ud)
{
    ext *e = ud;
    e->fd = what == XSSH_POLL_NONE ? -1 : fd;
    e->what = what;
    return 0;
}

static int timer_cb(xssh_multi *m, long ms, void *ud)
{
    ext *e = ud;
    e->ms = ms;
    e->at = ms >= 0 ? now_ms() + ms : 0;
    if (e->watch && ms == 0) {
        e->zeros++;
        /* at the top level: no drive of A under way (a call from inside it,
           or from inside an op, is refused with XSSH_EBAD_USE) */
        int running = -1;
        if (e->a && xssh_multi_perform(e->a, &running) == XSSH_OK)
            e->zeros_at_top++;
        if (e->plain_call_over)
            e->zeros_after_call++;
    }
    return 0;
}

/* one turn of B's loop (waits at most 200 ms) */
static void ext_turn(fx *f, ext *e)
{
    int t = 200;
    if (e->ms >= 0) {
        long long left = e->at - now_ms();
        if (left < t)
            t = left < 0 ? 0 : (int)left;
    }
    struct pollfd p = {e->fd, (short)(((e->what & XSSH_POLL_IN) ? POLLIN : 0) | ((e->what & XSSH_POLL_OUT) ? POLLOUT : 0)),
                       0};
    int r = e->fd >= 0 ? poll(&p, 1, t) : poll(NULL, 0, t);
    int running = 0;
    if (r > 0) {
        int ev = ((p.revents & POLLIN) ? XSSH_POLL_IN : 0) | ((p.revents & POLLOUT) ? XSSH_POLL_OUT : 0) |
                 ((p.revents & (POLLERR | POLLHUP)) ? XSSH_POLL_ERR : 0);
        cr_assert_eq(xssh_multi_socket_action(f->b, p.fd, ev, &running), XSSH_OK, "%s", last_msg());
    } else if (e->ms >= 0 && now_ms() >= e->at) {
        e->ms = -1;
        cr_assert_eq(xssh_multi_socket_action(f->b, XSSH_SOCKET_TIMEOUT, 0, &running), XSSH_OK, "%s", last_msg());
    }
}

static int ext_until(fx *f, ext *e, const char *want)
{
    long long end = now_ms() + BOUND_MS;
    take_b(f);
    while (!strstr(f->got, want) && now_ms() < end && xssh_multi_op_state(f->op_b) != XSSH_OP_DONE) {
        ext_turn(f, e);
        take_b(f);
    }
    return strstr(f->got, want) != NULL;
}

/* B's loop until it has no "come back now" pending (B's op waits for its
   socket); B is then left alone: only a new timer 0 may bring it back */
static void ext_settle(fx *f, ext *e)
{
    long long end = now_ms() + BOUND_MS;
    while (e->ms == 0 && now_ms() < end)
        ext_turn(f, e);
    cr_assert_neq(e->ms, 0, "B's loop kept being told to come back");
    e->ms = -1;
}

static void ext_init(fx *f, ext *e)
{
    memset(e, 0, sizeof *e);
    e->fd = -1;
    e->ms = -1;
    cr_assert_eq(xssh_multi_set_socket_cb(f->b, sock_cb, e), XSSH_OK);
    cr_assert_eq(xssh_multi_set_timer_cb(f->b, timer_cb, e), XSSH_OK);
}

Test(multi_wake, external_loop_is_told_to_come_back_at_the_top_level)
{
    fx f;
    fx_init(&f);
    ext e;
    ext_init(&f, &e);
    add_b(&f);
    cr_assert(ext_until(&f, &e, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    xssh_multi *a = NULL;
    cr_assert_eq(xssh_multi_new(&a), XSSH_OK);
    e.a = a;
    ext_settle(&f, &e);
    e.watch = 1;
    run_a_in_multi(&f, a);
    cr_assert_geq(e.zeros, 1, "B's loop was not told to come back after A's op read B's output");
    cr_assert_eq(e.zeros_at_top, e.zeros, "B's timer callback ran inside A's drive (%d of %d)", e.zeros - e.zeros_at_top,
                 e.zeros);
    e.watch = 0;
    cr_assert(ext_until(&f, &e, "b\n"), "B's op missed its output after the timer 0 (output so far '%s')", f.got);
    finish_b(&f);
    cr_assert_eq(xssh_multi_set_socket_cb(f.b, NULL, NULL), XSSH_OK);
    cr_assert_eq(xssh_multi_set_timer_cb(f.b, NULL, NULL), XSSH_OK);
    xssh_multi_unref(a);
    fx_free(&f);
}

Test(multi_wake, external_loop_is_told_after_a_blocking_call)
{
    fx f;
    fx_init(&f);
    ext e;
    ext_init(&f, &e);
    add_b(&f);
    cr_assert(ext_until(&f, &e, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    ext_settle(&f, &e);
    e.watch = 1;
    xssh_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.timeout_ms = 90000;
    xssh_run_result *res = NULL;
    cr_assert_eq(xssh_session_run(f.s, f.cmd_a, &ro, &res), XSSH_OK, "%s", last_msg());
    e.plain_call_over = 1;
    cr_assert_str_eq(res->out, "a\n");
    xssh_run_result_free(res);
    cr_assert_geq(e.zeros, 1, "B's loop was not told to come back after the blocking run read B's output");
    e.watch = 0;
    cr_assert(ext_until(&f, &e, "b\n"), "B's op missed its output after the timer 0 (output so far '%s')", f.got);
    finish_b(&f);
    cr_assert_eq(xssh_multi_set_socket_cb(f.b, NULL, NULL), XSSH_OK);
    cr_assert_eq(xssh_multi_set_timer_cb(f.b, NULL, NULL), XSSH_OK);
    fx_free(&f);
}

/* ---- B driven in the pull form (xssh_multi_fds + poll, no callbacks) ------------------
   The loop's wait starts before the other code runs (a fiber scheduler's driver
   sleeping in its selector while another fiber makes a blocking call): the
   descriptors it polls are those xssh_multi_fds listed BEFORE B's input was
   read for it. Without a wake-up descriptor among them B's socket stays quiet
   (its bytes are in libssh2's queue, its command waits for m3) and the loop
   sleeps until the dead-peer probe. */

#define PULL_MAX 16

typedef struct pull {
    xssh_multi_pollfd xf[PULL_MAX];
    struct pollfd pf[PULL_MAX];
    size_t n;
    long ms;
} pull;

/* what B's loop would wait on now */
static void pull_fds(fx *f, pull *p)
{
    memset(p, 0, sizeof *p);
    cr_assert_eq(xssh_multi_fds(f->b, p->xf, PULL_MAX, &p->n, &p->ms), XSSH_OK, "%s", last_msg());
    cr_assert_leq(p->n, PULL_MAX);
    for (size_t i = 0; i < p->n; i++) {
        p->pf[i].fd = p->xf[i].fd;
        p->pf[i].events = (short)(((p->xf[i].events & XSSH_POLL_IN) ? POLLIN : 0) |
                                  ((p->xf[i].events & XSSH_POLL_OUT) ? POLLOUT : 0));
    }
}

/* B's loop acts on what a poll of p reported (r: poll's result): each ready
   descriptor to socket_action, or (use_perform, as the xssh tool) one perform */
static void pull_act(fx *f, pull *p, int r, int use_perform)
{
    int running = 0;
    if (use_perform) {
        cr_assert_eq(xssh_multi_perform(f->b, &running), XSSH_OK, "%s", last_msg());
        return;
    }
    if (r <= 0) {
        cr_assert_eq(xssh_multi_socket_action(f->b, XSSH_SOCKET_TIMEOUT, 0, &running), XSSH_OK, "%s", last_msg());
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        short re = p->pf[i].revents;
        if (!re)
            continue;
        int ev = ((re & POLLIN) ? XSSH_POLL_IN : 0) | ((re & POLLOUT) ? XSSH_POLL_OUT : 0) |
                 ((re & (POLLERR | POLLHUP)) ? XSSH_POLL_ERR : 0);
        cr_assert_eq(xssh_multi_socket_action(f->b, p->pf[i].fd, ev, &running), XSSH_OK, "%s", last_msg());
    }
}

/* one turn of B's loop (waits at most 200 ms) */
static void pull_turn(fx *f, int use_perform)
{
    pull p;
    pull_fds(f, &p);
    int t = p.ms >= 0 && p.ms < 200 ? (int)p.ms : 200;
    int r = poll(p.n ? p.pf : NULL, (nfds_t)p.n, t);
    pull_act(f, &p, r, use_perform);
}

static int pull_until(fx *f, int use_perform, const char *want)
{
    long long end = now_ms() + BOUND_MS;
    take_b(f);
    while (!strstr(f->got, want) && now_ms() < end && xssh_multi_op_state(f->op_b) != XSSH_OP_DONE) {
        pull_turn(f, use_perform);
        take_b(f);
    }
    return strstr(f->got, want) != NULL;
}

/* B's loop until its wait has no timer due now (B's op waits for its socket);
   then what it waits on: B's socket and the wake-up descriptor */
static void pull_settle(fx *f, int use_perform, pull *p)
{
    long long end = now_ms() + BOUND_MS;
    pull_fds(f, p);
    while (p->ms == 0 && now_ms() < end) {
        pull_turn(f, use_perform);
        pull_fds(f, p);
    }
    cr_assert_neq(p->ms, 0, "B's loop kept being told to come back");
    cr_assert_eq(p->n, 2, "B's op waits on its socket; xssh_multi_fds lists it and the wake-up descriptor (%zu listed)",
                 p->n);
    cr_assert_eq(p->xf[1].events, XSSH_POLL_IN);
    cr_assert_neq(p->xf[1].fd, p->xf[0].fd);
    /* not a socket (an eventfd): nothing the loop may close or read itself */
    struct stat st;
    cr_assert_eq(fstat(p->xf[1].fd, &st), 0);
    cr_assert(!S_ISSOCK(st.st_mode), "the wake-up descriptor is a socket");
}

/* other: 0 a plain blocking run on this thread, 1 an op of another multi */
static void pull_case(int use_perform, int other)
{
    fx f;
    fx_init(&f);
    add_b(&f);
    cr_assert(pull_until(&f, use_perform, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    pull p;
    pull_settle(&f, use_perform, &p); /* B's loop is about to sleep on these */
    int kfd = p.xf[1].fd;
    if (other) {
        xssh_multi *a = NULL;
        cr_assert_eq(xssh_multi_new(&a), XSSH_OK);
        run_a_in_multi(&f, a); /* its reads drained B's "b" into libssh2's queue */
        xssh_multi_unref(a);
    } else {
        xssh_run_options ro;
        memset(&ro, 0, sizeof ro);
        ro.timeout_ms = 90000;
        xssh_run_result *res = NULL;
        cr_assert_eq(xssh_session_run(f.s, f.cmd_a, &ro, &res), XSSH_OK, "%s", last_msg());
        cr_assert_str_eq(res->out, "a\n");
        xssh_run_result_free(res);
    }
    cr_assert_str_eq(f.got, "start\n", "B was not driven meanwhile");
    /* B's loop's wait (what it listed before): must end (bounded; B's socket is quiet) */
    int r = poll(p.pf, (nfds_t)p.n, 10000);
    cr_assert_gt(r, 0, "B's loop was not woken: the %s read B's output and nothing it polls became ready",
                 other ? "other multi's op" : "blocking run");
    cr_assert(p.pf[1].revents & POLLIN, "the wake-up descriptor is not readable");
    cr_assert_eq(p.pf[0].revents, 0, "B's socket became ready (its command should be waiting for m3)");
    pull_act(&f, &p, r, use_perform);
    take_b(&f);
    cr_assert_str_eq(f.got, "start\nb\n", "B's op did not read its output in the drive that followed");
    /* drained: B's loop sleeps on its socket again */
    pull q;
    pull_fds(&f, &q);
    cr_assert_neq(q.ms, 0);
    cr_assert_eq(q.n, 2);
    cr_assert_eq(q.xf[1].fd, kfd, "the wake-up descriptor changed while an op was running");
    struct pollfd k = {kfd, POLLIN, 0};
    cr_assert_eq(poll(&k, 1, 0), 0, "the wake-up descriptor was not drained by the drive");
    finish_b(&f);
    /* no op runs: nothing listed, the descriptor is closed */
    cr_assert_eq(xssh_multi_fds(f.b, p.xf, PULL_MAX, &p.n, &p.ms), XSSH_OK);
    cr_assert_eq(p.n, 0);
    errno = 0;
    cr_assert_eq(fcntl(kfd, F_GETFD), -1, "the wake-up descriptor is left open after the last op");
    cr_assert_eq(errno, EBADF);
    fx_free(&f);
}

Test(multi_wake, pull_loop_is_woken_after_a_blocking_call) { pull_case(0, 0); }
Test(multi_wake, pull_loop_with_perform_is_woken_after_a_blocking_call) { pull_case(1, 0); }
Test(multi_wake, pull_loop_is_woken_after_another_multis_op) { pull_case(0, 1); }

Test(multi_wake, pull_form_wake_up_descriptor_lifetime)
{
    /* made for a running op only, not for a multi that has a timer callback
       (told through it), closed at free while an op still runs */
    fx f;
    fx_init(&f);
    pull p;
    pull_fds(&f, &p);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(p.ms, -1);
    add_b(&f);
    pull_fds(&f, &p); /* queued, not started: nothing to wake */
    cr_assert_eq(p.n, 0);
    cr_assert(pull_until(&f, 0, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    pull_settle(&f, 0, &p);
    int kfd = p.xf[1].fd;
    xssh_multi_unref(f.b); /* cancels B's op (its channel closed) */
    f.b = NULL;
    errno = 0;
    cr_assert_eq(fcntl(kfd, F_GETFD), -1, "the wake-up descriptor is left open after the multi was freed");
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(xssh_multi_new(&f.b), XSSH_OK);
    ext e;
    ext_init(&f, &e);
    xssh_multi_op_unref(f.op_b);
    f.op_b = NULL;
    f.n = 0;
    f.got[0] = '\0';
    unlink(f.m1);
    add_b(&f);
    cr_assert(ext_until(&f, &e, "start\n"), "B's op never started its command: '%s' %s", f.got, last_msg());
    ext_settle(&f, &e);
    pull_fds(&f, &p);
    cr_assert_eq(p.n, 1, "a multi with a timer callback lists a wake-up descriptor (%zu listed)", p.n);
    cr_assert_eq(p.xf[0].fd, e.fd);
    touch(f.m1);
    touch(f.m2);
    cr_assert(ext_until(&f, &e, "b\n"), "output so far '%s'", f.got);
    finish_b(&f);
    cr_assert_eq(xssh_multi_set_socket_cb(f.b, NULL, NULL), XSSH_OK);
    cr_assert_eq(xssh_multi_set_timer_cb(f.b, NULL, NULL), XSSH_OK);
    fx_free(&f);
}

/* ---- the registry across threads --------------------------------------------------- */

typedef struct mv {
    xssh_multi *m;
    xssh_session *s;
    const char *cmd;
    int rounds;
    int ok;
} mv;

/* rounds times: a run op on v->m (driven here) and a blocking run on the same
   session; ok counts the runs that printed what they should */
static void *drive_here(void *arg)
{
    mv *v = arg;
    for (int i = 0; i < v->rounds; i++) {
        xssh_multi_op *op = NULL;
        xssh_multi_op_opts oo;
        memset(&oo, 0, sizeof oo);
        oo.timeout_ms = 60000;
        if (xssh_multi_add_run(v->m, v->s, v->cmd, &oo, &op) != XSSH_OK)
            return NULL;
        if (xssh_multi_perform_all(v->m, 60000) == XSSH_OK) {
            const xssh_multi_result *r = NULL;
            if (xssh_multi_op_result(op, &r) == XSSH_OK && r->error == XSSH_OK && r->out_len == 2)
                v->ok++;
        }
        xssh_multi_op_unref(op);
        xssh_run_result *res = NULL;
        if (xssh_session_run(v->s, v->cmd, NULL, &res) == XSSH_OK && res->out_len == 2)
            v->ok++;
        xssh_run_result_free(res);
    }
    return NULL;
}

Test(multi_wake, a_multi_driven_by_one_thread_after_another)
{
    /* one multi driven by a thread that then ends, by this thread, by another
       thread, and freed here; meanwhile two more threads drive their own multis
       (their wakes walk their own registries only) */
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    mv v = {m, s, "echo 1", 2, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, drive_here, &v), 0);
    pthread_join(t, NULL);
    cr_assert_eq(v.ok, 4, "on the first thread");
    v.ok = 0;
    drive_here(&v);
    cr_assert_eq(v.ok, 4, "on this thread after the first one ended");
    mv side[2];
    pthread_t st[2];
    for (int i = 0; i < 2; i++) {
        side[i] = (mv){NULL, xt_connect_auth(), "echo 2", 5, 0};
        cr_assert_eq(xssh_multi_new(&side[i].m), XSSH_OK);
        cr_assert_eq(pthread_create(&st[i], NULL, drive_here, &side[i]), 0);
    }
    v.ok = 0;
    cr_assert_eq(pthread_create(&t, NULL, drive_here, &v), 0);
    pthread_join(t, NULL);
    cr_assert_eq(v.ok, 4, "moved to a second thread");
    v.ok = 0;
    drive_here(&v);
    cr_assert_eq(v.ok, 4, "back on this thread");
    for (int i = 0; i < 2; i++) {
        pthread_join(st[i], NULL);
        cr_assert_eq(side[i].ok, 10, "side thread %d", i);
        xssh_multi_unref(side[i].m);
        xssh_session_unref(side[i].s);
    }
    xssh_multi_unref(m);
    xssh_session_unref(s);
}
