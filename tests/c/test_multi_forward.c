/* SPDX-License-Identifier: BSD-3-Clause */
/* The local forward as a multi operation (xssh_multi_add_forward_local): the
 * multi is driven by the test's main thread (xssh_multi_wait), while client
 * threads talk through the forwarded port to small destination servers the
 * test runs on 127.0.0.1 (reached by the harness sshd through direct-tcpip).
 * Concurrency is proven without timing: the destination answers only once all
 * connections are in. Label "threads": the clients and servers are threads. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

/* ---- helpers ------------------------------------------------------------------- */

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 64), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* connect to 127.0.0.1:port; -errno on failure */
static int try_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* read until EOF (or cap bytes); returns bytes read, -1 on error */
static ssize_t recv_to_eof(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* read one line (up to '\n', included) */
static ssize_t recv_line(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = recv(fd, buf + got, 1, 0);
        if (r <= 0)
            return -1;
        got++;
        if (buf[got - 1] == '\n')
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

static __attribute__((unused)) unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
    return p;
}

static xssh_multi *new_multi(void)
{
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK, "%s", last_msg());
    return m;
}

/* drive the multi (its own loop) until *flag reaches want; the wait's timeout
   only lets the loop look at the flag, which threads set */
static void drive_until(xssh_multi *m, atomic_int *flag, int want)
{
    for (int i = 0; i < 200000 && atomic_load(flag) < want; i++) {
        int running = 0;
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK, "%s", last_msg());
    }
    cr_assert_geq(atomic_load(flag), want);
}

static void drive_until_done(xssh_multi *m, xssh_multi_op *op)
{
    for (int i = 0; i < 200000 && xssh_multi_op_state(op) != XSSH_OP_DONE; i++) {
        int running = 0;
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK, "%s", last_msg());
    }
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
}

static xssh_forward_stats stats_of(xssh_multi_op *op)
{
    xssh_forward_stats st;
    cr_assert_eq(xssh_multi_op_forward_stats(op, &st), XSSH_OK, "%s", last_msg());
    return st;
}

/* drive until the forward's counter (offset of a field) reaches want */
static void drive_until_stat(xssh_multi *m, xssh_multi_op *op, size_t field, uint64_t want)
{
    for (int i = 0; i < 200000; i++) {
        xssh_forward_stats st = stats_of(op);
        if (*(uint64_t *)((char *)&st + field) >= want)
            return;
        int running = 0;
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK, "%s", last_msg());
    }
    cr_assert_fail("the forward's counter never reached %llu", (unsigned long long)want);
}
#define STAT(f) offsetof(xssh_forward_stats, f)

static const xssh_multi_result *result_of(xssh_multi_op *op)
{
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK, "%s", last_msg());
    return r;
}

/* a run op on s in m, driven to its end; asserts its output */
static void run_on(xssh_multi *m, xssh_session *s, const char *cmd, const char *want)
{
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, cmd, NULL, &op), XSSH_OK, "%s", last_msg());
    drive_until_done(m, op);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_OK, "%s", r->message);
    cr_assert_str_eq(r->out, want);
    xssh_multi_op_unref(op);
}

static xssh_multi_op *add_forward(xssh_multi *m, xssh_session *s, int dport, int *port)
{
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 0, "127.0.0.1", dport, NULL, &op), XSSH_OK, "%s",
                 last_msg());
    cr_assert_eq(xssh_multi_op_forward_port(op, port), XSSH_OK, "%s", last_msg());
    cr_assert_gt(*port, 0);
    return op;
}

static void cancel_and_check(xssh_multi *m, xssh_multi_op *op, int port)
{
    cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK);
    drive_until_done(m, op);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ECANCELLED, "%s", r->message);
    /* the listener is closed */
    int fd = try_connect(port, 0);
    cr_assert_eq(fd, -ECONNREFUSED, "port %d still accepts after the cancel (%d)", port, fd);
}

/* ---- a destination that answers only when N connections are in ------------------ */

/* Each connection sends "hello <i>\n"; when all N have, each gets "all <N>\n";
   then the server echoes what comes until EOF, and answers that EOF with
   "bye <i>\n" before closing: proves both half-closes pass through. */
typedef struct barrier_srv {
    int lfd, port, n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    atomic_int done;
    pthread_t thr;
} barrier_srv;

typedef struct {
    barrier_srv *b;
    int fd;
} barrier_conn;

static void *barrier_conn_main(void *arg)
{
    barrier_conn *bc = arg;
    barrier_srv *b = bc->b;
    char line[64];
    if (recv_line(bc->fd, line, sizeof line) > 0) {
        pthread_mutex_lock(&b->mu);
        b->arrived++;
        pthread_cond_broadcast(&b->cv);
        while (b->arrived < b->n)
            pthread_cond_wait(&b->cv, &b->mu);
        pthread_mutex_unlock(&b->mu);
        char msg[32];
        snprintf(msg, sizeof msg, "all %d\n", b->n);
        send_all(bc->fd, msg, strlen(msg));
        char buf[4096];
        for (;;) {
            ssize_t r = recv(bc->fd, buf, sizeof buf, 0);
            if (r <= 0)
                break;
            send_all(bc->fd, buf, (size_t)r);
        }
        /* the client's EOF arrived: answer it */
        char bye[80];
        snprintf(bye, sizeof bye, "bye %.60s", line);
        send_all(bc->fd, bye, strlen(bye));
    }
    close(bc->fd);
    atomic_fetch_add(&b->done, 1);
    free(bc);
    return NULL;
}

static void *barrier_accept(void *arg)
{
    barrier_srv *b = arg;
    for (int i = 0; i < b->n; i++) {
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0)
            break;
        barrier_conn *bc = malloc(sizeof *bc);
        bc->b = b;
        bc->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, barrier_conn_main, bc);
        pthread_detach(t);
    }
    return NULL;
}

static void barrier_start(barrier_srv *b, int n)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->lfd = listen_any(&b->port);
    pthread_create(&b->thr, NULL, barrier_accept, b);
}

static void barrier_stop(barrier_srv *b)
{
    pthread_join(b->thr, NULL);
    close(b->lfd);
}

/* a client of the barrier server through the forward */
typedef struct {
    int port, idx;
    atomic_int *done;
    int ok;
    char why[400];
} bclient;

static void *bclient_main(void *arg)
{
    bclient *c = arg;
    int fd = try_connect(c->port, 0);
    if (fd < 0) {
        snprintf(c->why, sizeof c->why, "connect: %s", strerror(-fd));
        goto out;
    }
    char hello[32], line[128];
    snprintf(hello, sizeof hello, "hello %d\n", c->idx);
    if (send_all(fd, hello, strlen(hello)) != 0 || recv_line(fd, line, sizeof line) <= 0) {
        snprintf(c->why, sizeof c->why, "no answer to hello");
        goto out_close;
    }
    if (strcmp(line, "all 3\n") != 0) {
        snprintf(c->why, sizeof c->why, "unexpected answer '%s'", line);
        goto out_close;
    }
    /* echo, then EOF our way: the server's answer to it still arrives */
    char msg[64];
    snprintf(msg, sizeof msg, "data of %d\n", c->idx);
    send_all(fd, msg, strlen(msg));
    shutdown(fd, SHUT_WR);
    char rest[256];
    ssize_t n = recv_to_eof(fd, rest, sizeof rest - 1);
    if (n < 0) {
        snprintf(c->why, sizeof c->why, "reading to EOF: %s", strerror(errno));
        goto out_close;
    }
    rest[n] = '\0';
    char want[160];
    snprintf(want, sizeof want, "data of %d\nbye hello %d\n", c->idx, c->idx);
    if (strcmp(rest, want) != 0) {
        snprintf(c->why, sizeof c->why, "got '%.150s', want '%.150s'", rest, want);
        goto out_close;
    }
    c->ok = 1;
out_close:
    close(fd);
out:
    atomic_fetch_add(c->done, 1);
    return NULL;
}

TestSuite(multi_forward);

Test(multi_forward, three_connections_at_once_eof_both_ways, .timeout = 120)
{
    barrier_srv b;
    barrier_start(&b, 3);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, b.port, &port);
    atomic_int done = 0;
    bclient cl[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        cl[i] = (bclient){port, i, &done, 0, ""};
        pthread_create(&t[i], NULL, bclient_main, &cl[i]);
    }
    /* the server answers only when all three are connected through the forward:
       the three channels are open at once */
    drive_until(m, &done, 3);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_assert(cl[i].ok, "client %d: %s", i, cl[i].why);
    }
    drive_until_stat(m, op, STAT(bytes_in), 0);
    xssh_forward_stats st = stats_of(op);
    cr_assert_eq(st.accepted, 3);
    cr_assert_eq(st.failed, 0);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    /* every connection is closed once both ways ended */
    for (int i = 0; i < 200000 && stats_of(op).active; i++)
        cr_assert_eq(xssh_multi_wait(m, 20, NULL), XSSH_OK);
    st = stats_of(op);
    cr_assert_eq(st.active, 0);
    uint64_t out_each = strlen("hello 0\n") + strlen("data of 0\n");
    uint64_t in_each = strlen("all 3\n") + strlen("data of 0\n") + strlen("bye hello 0\n");
    cr_assert_eq(st.bytes_out, 3 * out_each);
    cr_assert_eq(st.bytes_in, 3 * in_each);
    cancel_and_check(m, op, port);
    cr_assert_eq(result_of(op)->bytes, 3 * (out_each + in_each));
    /* the session is still usable */
    run_on(m, s, "echo fine", "fine\n");
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    barrier_stop(&b);
}
