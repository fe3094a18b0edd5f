/* SPDX-License-Identifier: BSD-3-Clause */
/* Tunnels against the real sshd, with a local TCP echo server started by the test. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"


/* ---- a threaded TCP echo server on 127.0.0.1 ------------------------------- */

typedef struct echo_server {
    int fd;
    int port;
    pthread_t thread;
} echo_server;

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0)
                goto out;
            off += w;
        }
    }
out:
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void *echo_accept(void *arg)
{
    echo_server *e = arg;
    for (;;) {
        int c = accept(e->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)c);
        pthread_detach(t);
    }
}

static void echo_start(echo_server *e)
{
    e->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(e->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(e->fd, 64), 0);
    socklen_t l = sizeof a;
    getsockname(e->fd, (struct sockaddr *)&a, &l);
    e->port = ntohs(a.sin_port);
    pthread_create(&e->thread, NULL, echo_accept, e);
    pthread_detach(e->thread);
}

static int tcp_connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n);
    cr_assert_not_null(p);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
    return p;
}

/* Send all of data through a socket while reading the echo back; compare. */
static void socket_roundtrip(int fd, const unsigned char *data, size_t n)
{
    unsigned char *back = malloc(n ? n : 1);
    size_t sent = 0, got = 0;
    int shut = 0;
    while (got < n) {
        struct pollfd p = {fd, (short)(POLLIN | (sent < n ? POLLOUT : 0)), 0};
        cr_assert_gt(poll(&p, 1, 30000), 0, "socket round trip stalled at %zu/%zu", got, n);
        if ((p.revents & POLLOUT) && sent < n) {
            ssize_t w = send(fd, data + sent, n - sent > 65536 ? 65536 : n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
        }
        if (sent == n && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        if (p.revents & (POLLIN | POLLHUP)) {
            ssize_t r = recv(fd, back + got, n - got, MSG_DONTWAIT);
            cr_assert(r != 0 || got == n, "early EOF at %zu/%zu", got, n);
            if (r > 0)
                got += (size_t)r;
        }
    }
    cr_assert(memcmp(back, data, n) == 0, "echoed bytes differ");
    /* after our half-close the echo server closes too: EOF comes through */
    char c;
    struct pollfd p = {fd, POLLIN, 0};
    cr_assert_gt(poll(&p, 1, 10000), 0);
    cr_assert_eq(recv(fd, &c, 1, 0), 0, "expected EOF after the echo");
    free(back);
}

/* ---- direct-tcpip --------------------------------------------------------- */

Test(tunnel, direct_tcpip_10MiB_byte_exact, .timeout = 120)
{
    echo_server e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_session_direct_tcpip(&ch, s, "127.0.0.1", e.port, NULL, 0), XSSH_OK, "%s", last_msg());
    size_t n = xt_size(10u << 20);
    unsigned char *data = pattern(n, 1), *back = malloc(n);
    /* non-blocking interleaving of write and read so neither window stalls */
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    int fd = -1;
    xssh_session_socket(s, &fd);
    size_t sent = 0, got = 0;
    int eof_sent = 0;
    while (got < n) {
        int progress = 0;
        if (sent < n) {
            size_t w = 0;
            int rc = xssh_channel_write(ch, data + sent, n - sent > 262144 ? 262144 : n - sent, &w);
            cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "write: %s", last_msg());
            sent += w;
            progress |= w > 0;
        } else if (!eof_sent) {
            int rc = xssh_channel_send_eof(ch);
            cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN);
            eof_sent = rc == XSSH_OK;
        }
        size_t r = 0;
        int rc = xssh_channel_read(ch, back + got, n - got, &r);
        cr_assert(rc >= 0 || rc == XSSH_EAGAIN, "read: %s", last_msg());
        got += r;
        progress |= r > 0;
        if (!progress) {
            struct pollfd p = {fd, POLLIN | POLLOUT, 0};
            poll(&p, 1, 100);
        }
    }
    cr_assert(memcmp(data, back, n) == 0);
    cr_assert_eq(xssh_session_set_blocking(s, 1), XSSH_OK);
    xssh_channel_unref(ch);
    xssh_session_unref(s);
    free(data);
    free(back);
}

Test(tunnel, direct_tcpip_refused_port_is_a_clear_error, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_channel *ch = NULL;
    /* a port nobody listens on: the server cannot connect */
    int rc = xssh_session_direct_tcpip(&ch, s, "127.0.0.1", 1, NULL, 0);
    cr_assert_lt(rc, 0);
    cr_assert_null(ch);
    cr_assert(strstr(last_msg(), "127.0.0.1:1") != NULL, "%s", last_msg());
    cr_assert_eq(xssh_session_direct_tcpip(&ch, s, NULL, 80, NULL, 0), XSSH_EARG);
    cr_assert_eq(xssh_session_direct_tcpip(&ch, s, "x", 0, NULL, 0), XSSH_EARG);
    cr_assert_eq(xssh_session_direct_tcpip(NULL, s, "x", 1, NULL, 0), XSSH_EARG);
    /* the session is still fine */
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "echo ok", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "ok\n");
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

/* ---- listener (remote forwarding) ------------------------------------------ */

Test(tunnel, forward_listen_port0_accept_and_cancel, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_listener *l = NULL;
    int port = 0;
    cr_assert_eq(xssh_session_forward_listen(&l, s, "127.0.0.1", 0, 4, &port), XSSH_OK, "%s", last_msg());
    cr_assert_gt(port, 0);
    int p2 = 0;
    cr_assert_eq(xssh_listener_bound_port(l, &p2), XSSH_OK);
    cr_assert_eq(p2, port);
    /* a connection made to the server-side port arrives as a channel */
    int fd = tcp_connect_local(port);
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_listener_accept(l, &ch), XSSH_OK, "%s", last_msg());
    cr_assert_eq(send(fd, "ping", 4, 0), 4);
    char buf[8];
    size_t got = 0;
    cr_assert_eq(xssh_channel_read(ch, buf, sizeof buf, &got), XSSH_OK, "%s", last_msg());
    cr_assert_eq(got, 4);
    cr_assert(memcmp(buf, "ping", 4) == 0);
    size_t w = 0;
    cr_assert_eq(xssh_channel_write(ch, "pong", 4, &w), XSSH_OK);
    cr_assert_eq(recv(fd, buf, 4, MSG_WAITALL), 4);
    cr_assert(memcmp(buf, "pong", 4) == 0);
    close(fd);
    xssh_channel_unref(ch);
    /* non-blocking accept with nothing pending */
    xssh_session_set_blocking(s, 0);
    cr_assert_eq(xssh_listener_accept(l, &ch), XSSH_EAGAIN);
    xssh_session_set_blocking(s, 1);
    /* cancel: no new connections */
    cr_assert_eq(xssh_listener_cancel(l), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_listener_accept(l, &ch), XSSH_ECLOSED);
    cr_assert_eq(xssh_listener_cancel(l), XSSH_OK); /* idempotent */
    /* libssh2 sends the cancel without waiting for the reply: give sshd a moment */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int refused = 0;
    for (int i = 0; i < 100 && !refused; i++) {
        xssh_session_keepalive_send(s, NULL); /* a round of I/O so the request leaves */
        int fd2 = socket(AF_INET, SOCK_STREAM, 0);
        refused = connect(fd2, (struct sockaddr *)&a, sizeof a) != 0;
        close(fd2);
        if (!refused)
            usleep(20000);
    }
    cr_assert(refused, "port %d still accepts connections 2 s after cancel", port);
    xssh_listener_unref(l);
    xssh_session_unref(s);
}

/* ---- forward servers ------------------------------------------------------- */

typedef struct {
    int port;
    size_t n;
    unsigned seed;
} conn_job;

static void *conn_worker(void *arg)
{
    conn_job *j = arg;
    unsigned char *data = pattern(j->n, j->seed);
    int fd = tcp_connect_local(j->port);
    socket_roundtrip(fd, data, j->n);
    close(fd);
    free(data);
    return NULL;
}

Test(tunnel, local_forward_20_concurrent_1MiB, .timeout = 180)
{
    echo_server e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_forward *f = NULL;
    cr_assert_eq(xssh_forward_local(&f, s, "127.0.0.1", 0, "127.0.0.1", e.port), XSSH_OK, "%s", last_msg());
    int port = 0;
    cr_assert_eq(xssh_forward_port(f, &port), XSSH_OK);
    cr_assert_gt(port, 0);
    enum { N = 20 };
    pthread_t t[N];
    conn_job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (conn_job){port, xt_size(1u << 20), (unsigned)i + 7};
        pthread_create(&t[i], NULL, conn_worker, &jobs[i]);
    }
    /* meanwhile the caller keeps using the same session */
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "echo busy", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "busy\n");
    xssh_run_result_free(r);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    xssh_forward_stats st;
    cr_assert_eq(xssh_forward_get_stats(f, &st), XSSH_OK);
    cr_assert_eq(st.accepted, N);
    cr_assert_eq(st.failed, 0);
    cr_assert_eq(st.bytes_out, (uint64_t)N * xt_size(1u << 20));
    int running = 0;
    cr_assert_eq(xssh_forward_is_running(f, &running), XSSH_OK);
    cr_assert_eq(running, 1);
    cr_assert_eq(xssh_forward_stop(f), XSSH_OK);
    cr_assert_eq(xssh_forward_is_running(f, &running), XSSH_OK);
    cr_assert_eq(running, 0);
    cr_assert_eq(xssh_forward_stop(f), XSSH_OK); /* idempotent */
    /* stopped: the local port is closed */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    xssh_forward_unref(f);
    cr_assert_neq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    xssh_session_unref(s);
}

Test(tunnel, local_forward_error_per_connection_is_not_fatal, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_forward *f = NULL;
    /* destination port 1: every connection fails on the server side */
    cr_assert_eq(xssh_forward_local(&f, s, NULL, 0, "127.0.0.1", 1), XSSH_OK, "%s", last_msg());
    int port = 0;
    xssh_forward_port(f, &port);
    int fd = tcp_connect_local(port);
    char c;
    cr_assert_eq(recv(fd, &c, 1, 0), 0); /* closed by the forwarder */
    close(fd);
    xssh_forward_stats st;
    xssh_forward_get_stats(f, &st);
    cr_assert_geq(st.failed, 1);
    char *err = NULL;
    cr_assert_eq(xssh_forward_last_error(f, &err), XSSH_OK);
    cr_assert(strstr(err, "127.0.0.1:1") != NULL, "%s", err);
    xssh_free(err);
    int running = 0;
    xssh_forward_is_running(f, &running);
    cr_assert_eq(running, 1);
    /* dropping the session first, then the forward: no crash */
    xssh_session_unref(s);
    xssh_forward_unref(f);
}

Test(tunnel, remote_forward_delivers_connections, .timeout = 60)
{
    echo_server e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_forward *f = NULL;
    cr_assert_eq(xssh_forward_remote(&f, s, "127.0.0.1", 0, "127.0.0.1", e.port), XSSH_OK, "%s", last_msg());
    int port = 0;
    cr_assert_eq(xssh_forward_port(f, &port), XSSH_OK);
    cr_assert_gt(port, 0);
    for (int i = 0; i < 3; i++) {
        conn_job j = {port, xt_size(256u << 10), 99u + (unsigned)i};
        conn_worker(&j);
    }
    xssh_forward_stats st;
    xssh_forward_get_stats(f, &st);
    cr_assert_eq(st.accepted, 3);
    xssh_forward_unref(f); /* stops and cancels */
    xssh_session_unref(s);
}

/* ---- ProxyJump --------------------------------------------------------------- */


Test(tunnel, proxyjump_two_hops_runs_a_command, .timeout = 120)
{
    xssh_session *h1 = xt_hop(NULL);
    xssh_session *h2 = xt_hop(h1);
    xssh_session *target = xt_hop(h2);
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(target, "echo $((6*7)); exit 5", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "42\n");
    cr_assert_eq(r->have_exit_status, 1);
    cr_assert_eq(r->exit_status, 5);
    xssh_run_result_free(r);
    /* the hops may be dropped first: the target keeps them alive */
    xssh_session_unref(h1);
    xssh_session_unref(h2);
    cr_assert_eq(xssh_session_run(target, "echo still", NULL, &r), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(r->out, "still\n");
    xssh_run_result_free(r);
    xssh_session_unref(target);
}

Test(tunnel, proxyjump_unknown_hostkey_fails_under_strict, .timeout = 60)
{
    xssh_session *h1 = xt_hop(NULL);
    xssh_session *t = NULL;
    cr_assert_eq(xssh_session_new(&t), XSSH_OK);
    cr_assert_eq(xssh_session_connect_via(t, h1, xt()->host, xt()->port, 10000), XSSH_OK, "%s", last_msg());
    char *empty = xt_tmppath("empty_known_hosts");
    FILE *fp = fopen(empty, "w");
    fclose(fp);
    int rc = xssh_session_verify_host(t, xt()->host, xt()->port, XSSH_HOSTKEY_STRICT, empty);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "%s", last_msg());
    free(empty);
    xssh_session_unref(t); /* before the hop */
    xssh_session_unref(h1);
}

Test(tunnel, proxyjump_bad_arguments, .timeout = 30)
{
    xssh_session *t = NULL;
    cr_assert_eq(xssh_session_new(&t), XSSH_OK);
    cr_assert_eq(xssh_session_connect_via(t, NULL, "h", 22, 0), XSSH_EARG);
    cr_assert_eq(xssh_session_connect_via(t, t, "h", 22, 0), XSSH_EARG);
    cr_assert_eq(xssh_session_connect_via(NULL, t, "h", 22, 0), XSSH_EARG);
    xssh_session *j = NULL;
    cr_assert_eq(xssh_session_new(&j), XSSH_OK);
    cr_assert_eq(xssh_session_connect_via(t, j, "h", 22, 0), XSSH_ENOTCONNECTED); /* jump not connected */
    xssh_session_unref(j);
    xssh_session_unref(t);
}

Test(tunnel, extra_references, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_listener *l = NULL;
    int port = 0;
    cr_assert_eq(xssh_session_forward_listen(&l, s, "127.0.0.1", 0, 0, &port), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_listener_ref(l), l);
    xssh_listener_unref(l); /* extra reference only: still listening */
    int p2 = 0;
    cr_assert_eq(xssh_listener_bound_port(l, &p2), XSSH_OK);
    cr_assert_eq(p2, port);
    xssh_forward *f = NULL;
    cr_assert_eq(xssh_forward_local(&f, s, NULL, 0, "127.0.0.1", port), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_forward_ref(f), f);
    xssh_forward_unref(f); /* extra reference only: still running */
    int running = 0;
    cr_assert_eq(xssh_forward_is_running(f, &running), XSSH_OK);
    cr_assert_eq(running, 1);
    cr_assert_null(xssh_listener_ref(NULL));
    cr_assert_null(xssh_forward_ref(NULL));
    xssh_forward_unref(f);
    xssh_listener_unref(l);
    xssh_session_unref(s);
}

/* The hop carrying a ProxyJump target goes silent (its server's bytes held back:
   a black hole) while the target waits in run(). The target's own timeout is
   long, so the carrier's keepalive on the hop gives up first and closes the
   target's socket: the target's error must still be the hop's cause (timed out,
   presumed dead, naming the hop), not the end of stream that followed it. */
Test(tunnel, proxyjump_silent_hop_is_a_timeout_naming_the_hop, .timeout = 120)
{
    xt_stall_proxy x;
    xssh_session *h1 = xt_stall_proxy_start(&x);
    xssh_session *t = xt_hop(h1);
    xssh_session_set_timeout(t, 600000); /* the target never gives up by itself here */
    xssh_session_set_timeout(h1, 300);   /* the carrier does, on the hop */
    xt_stall_proxy_hold(&x, 1);
    xssh_run_result *r = NULL;
    int rc = xssh_session_run(t, "sleep 60", NULL, &r);
    cr_assert_eq(rc, XSSH_ETIMEOUT, "run through a silent hop returned %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "ProxyJump hop"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "presumed dead"), "%s", last_msg());
    xssh_session_unref(t);
    xssh_session_unref(h1);
    xt_stall_proxy_stop(&x);
}
