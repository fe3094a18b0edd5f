/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * epoll_loop: drive xssh operations from a caller-owned epoll + timerfd loop
 * through the multi interface's external-loop API (as libcurl's
 * curl_multi_socket_action): xssh says which sockets to watch for which
 * direction (socket callback) and when its next timer is due (timer
 * callback); the loop reports readiness with xssh_multi_socket_action().
 * The loop could watch anything else of its own beside (here: nothing).
 *
 *   epoll_loop [-o Keyword=Value]... -- COMMAND HOST...
 *
 * Prints "HOST: exit N: OUTPUT" (or the failure) per host; exit status 0 when
 * every host ran the command with status 0. Epoll is level-triggered: an
 * operation may leave bytes in the socket it will read at its next step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <xssh.h>

typedef struct loop {
    int ep;     /* the caller's epoll set */
    int tfd;    /* its timer */
} loop;

#define TIMER_TAG (-1)

/* xssh: watch fd for `what` (XSSH_POLL_IN|OUT), or stop (XSSH_POLL_NONE) */
static int socket_cb(xssh_multi *m, int fd, int what, void *ud)
{
    (void)m;
    loop *l = ud;
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = ((what & XSSH_POLL_IN) ? EPOLLIN : 0) | ((what & XSSH_POLL_OUT) ? EPOLLOUT : 0);
    if (what == XSSH_POLL_NONE) {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL); /* (a closed socket already left the set) */
        return 0;
    }
    if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    if (errno == ENOENT && epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0;
    return -1;
}

/* xssh: call xssh_multi_socket_action(XSSH_SOCKET_TIMEOUT) in timeout_ms (-1: no timer) */
static int timer_cb(xssh_multi *m, long timeout_ms, void *ud)
{
    (void)m;
    loop *l = ud;
    struct itimerspec its = {0};
    if (timeout_ms == 0)
        its.it_value.tv_nsec = 1; /* as soon as possible */
    else if (timeout_ms > 0) {
        its.it_value.tv_sec = timeout_ms / 1000;
        its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
    }
    return timerfd_settime(l->tfd, 0, &its, NULL);
}

static int run(int argc, char **argv, xssh_options *options, xssh_multi *m);

int main(int argc, char **argv)
{
    xssh_options *options = NULL;
    xssh_multi *m = NULL;
    int rc = 1;
    if (xssh_options_new(&options) != XSSH_OK || xssh_multi_new(&m) != XSSH_OK)
        fprintf(stderr, "epoll_loop: %s\n", xssh_error_last()->message);
    else
        rc = run(argc, argv, options, m);
    xssh_multi_unref(m);
    xssh_options_unref(options);
    return rc;
}

static int run(int argc, char **argv, xssh_options *options, xssh_multi *m)
{
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (strcmp(argv[i], "-o") || i + 1 >= argc) {
            fprintf(stderr, "usage: epoll_loop [-o Keyword=Value]... -- COMMAND HOST...\n");
            return 2;
        }
        char *kv = argv[++i], *eq = strchr(kv, '=');
        if (!eq)
            return 2;
        *eq = '\0';
        if (xssh_options_set(options, kv, eq + 1) != XSSH_OK) {
            fprintf(stderr, "epoll_loop: %s\n", xssh_error_last()->message);
            return 2;
        }
    }
    if (i + 2 >= argc) {
        fprintf(stderr, "usage: epoll_loop [-o Keyword=Value]... -- COMMAND HOST...\n");
        return 2;
    }
    const char *command = argv[i + 1];
    loop l;
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.fd = TIMER_TAG};
    if (l.ep < 0 || l.tfd < 0 || epoll_ctl(l.ep, EPOLL_CTL_ADD, l.tfd, &tev) != 0) {
        perror("epoll_loop");
        return 1;
    }
    xssh_multi_set_socket_cb(m, socket_cb, &l);
    xssh_multi_set_timer_cb(m, timer_cb, &l);
    int n = 0;
    for (int h = i + 2; h < argc; h++, n++)
        if (xssh_multi_add_host_run(m, argv[h], options, command, NULL, NULL) != XSSH_OK) {
            fprintf(stderr, "epoll_loop: %s\n", xssh_error_last()->message);
            return 2;
        }
    /* the caller's loop: adding ops armed the timer (0), which starts them */
    int running = n, failed = 0;
    while (running > 0) {
        struct epoll_event evs[64];
        int k = epoll_wait(l.ep, evs, 64, -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            perror("epoll_wait");
            return 1;
        }
        for (int e = 0; e < k; e++) {
            if (evs[e].data.fd == TIMER_TAG) {
                uint64_t expirations;
                if (read(l.tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
                    return 1;
                xssh_multi_socket_action(m, XSSH_SOCKET_TIMEOUT, 0, &running);
            } else {
                int what = ((evs[e].events & EPOLLIN) ? XSSH_POLL_IN : 0) |
                           ((evs[e].events & EPOLLOUT) ? XSSH_POLL_OUT : 0) |
                           ((evs[e].events & (EPOLLERR | EPOLLHUP)) ? XSSH_POLL_ERR : 0);
                xssh_multi_socket_action(m, evs[e].data.fd, what, &running);
            }
        }
        /* finished operations, in completion order */
        xssh_multi_op *op;
        while (xssh_multi_info_read(m, &op) == 1) {
            const xssh_multi_result *r;
            xssh_multi_op_result(op, &r);
            if (r->error)
                printf("%s: FAILED in %s: %s\n", r->host, xssh_phase_name(r->phase), r->message);
            else
                printf("%s: exit %d: %.*s\n", r->host, r->exit_status, (int)strcspn(r->out, "\n"), r->out);
            if (r->error || r->exit_status)
                failed++;
            xssh_multi_op_unref(op);
        }
    }
    printf("%d hosts, %d failed\n", n, failed);
    xssh_multi_set_socket_cb(m, NULL, NULL);
    xssh_multi_set_timer_cb(m, NULL, NULL);
    close(l.tfd);
    close(l.ep);
    return failed ? 1 : 0;
}
