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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <time.h>
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

static unsigned char *pattern(size_t n, unsigned seed)
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
/* The drive loops below give up after DRIVE_BOUND_MS with an assertion that
   says which wait never ended (a bound on failure only, below the test's own
   timeout, so that a hang is reported with its place and the counters) */
#define DRIVE_BOUND_MS 50000
static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drive_until(xssh_multi *m, atomic_int *flag, int want)
{
    int64_t end = mono_ms() + DRIVE_BOUND_MS;
    for (int i = 0; i < 200000 && atomic_load(flag) < want && mono_ms() < end; i++) {
        int running = 0;
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK, "%s", last_msg());
    }
    cr_assert_geq(atomic_load(flag), want, "drive_until: the flag stayed at %d (want %d)", atomic_load(flag), want);
}

static void drive_until_done(xssh_multi *m, xssh_multi_op *op)
{
    int64_t end = mono_ms() + DRIVE_BOUND_MS;
    for (int i = 0; i < 200000 && xssh_multi_op_state(op) != XSSH_OP_DONE && mono_ms() < end; i++) {
        int running = 0;
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK, "%s", last_msg());
    }
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE, "drive_until_done: the op never ended");
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
    int64_t end = mono_ms() + DRIVE_BOUND_MS;
    for (int i = 0; i < 200000 && mono_ms() < end; i++) {
        xssh_forward_stats st = stats_of(op);
        if (*(uint64_t *)((char *)&st + field) >= want)
            return;
        int running = 0;
        cr_assert_eq(xssh_multi_wait(m, 20, &running), XSSH_OK, "%s", last_msg());
    }
    xssh_forward_stats st = stats_of(op);
    cr_assert_fail("the forward's counter at offset %zu never reached %llu (accepted %llu, active %llu, failed %llu, "
                   "op state %d)",
                   field, (unsigned long long)want, (unsigned long long)st.accepted, (unsigned long long)st.active,
                   (unsigned long long)st.failed, (int)xssh_multi_op_state(op));
}

/* drive until at most `most` connections of the forward are open */
static void drive_until_active_at_most(xssh_multi *m, xssh_multi_op *op, uint64_t most)
{
    int64_t end = mono_ms() + DRIVE_BOUND_MS;
    for (int i = 0; i < 200000 && stats_of(op).active > most && mono_ms() < end; i++)
        cr_assert_eq(xssh_multi_wait(m, 20, NULL), XSSH_OK, "%s", last_msg());
    xssh_forward_stats st = stats_of(op);
    cr_assert_leq(st.active, most, "connections still open: %llu (accepted %llu, failed %llu, op state %d)",
                  (unsigned long long)st.active, (unsigned long long)st.accepted, (unsigned long long)st.failed,
                  (int)xssh_multi_op_state(op));
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
    for (int i = 0; i < 600000 && atomic_load(&b->done) < b->n; i++)
        usleep(1000); /* a condition: the connection threads leave b alone */
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
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

/* ---- an echo destination (one thread per connection) ------------------------------- */

typedef struct echo_srv {
    int lfd, port;
    pthread_t thr;
} echo_srv;

static void *echo_conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        if (send_all(fd, buf, (size_t)r) != 0)
            break;
    }
    close(fd);
    return NULL;
}

static void *echo_accept_main(void *arg)
{
    echo_srv *e = arg;
    for (;;) {
        int fd = accept(e->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, echo_conn_main, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void echo_start(echo_srv *e)
{
    e->lfd = listen_any(&e->port);
    pthread_create(&e->thr, NULL, echo_accept_main, e);
}

/* the accept thread ends (shutdown wakes its accept) before e goes */
static void echo_stop(echo_srv *e)
{
    shutdown(e->lfd, SHUT_RDWR);
    pthread_join(e->thr, NULL);
    close(e->lfd);
}

/* one line through an open connection (the multi driven until the echo is back) */
typedef struct {
    int fd;
    const char *line;
    atomic_int done;
    int ok;
} echo_job;

static void *echo_job_main(void *arg)
{
    echo_job *j = arg;
    char back[128];
    j->ok = send_all(j->fd, j->line, strlen(j->line)) == 0 && recv_line(j->fd, back, sizeof back) > 0 &&
            strcmp(back, j->line) == 0;
    atomic_store(&j->done, 1);
    return NULL;
}

static void echo_line(xssh_multi *m, int fd, const char *line)
{
    echo_job j = {fd, line, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, echo_job_main, &j);
    drive_until(m, &j.done, 1);
    pthread_join(t, NULL);
    cr_assert(j.ok, "the line '%s' did not come back through the forward", line);
}

Test(multi_forward, run_op_alongside_an_open_connection, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    int fd = try_connect(port, 0);
    cr_assert_geq(fd, 0);
    echo_line(m, fd, "before\n");
    /* a run op on the same session starts and completes while the forward and
       its connection are open (the forward does not hold the session) */
    run_on(m, s, "echo beside; echo again", "beside\nagain\n");
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    cr_assert_eq(stats_of(op).active, 1);
    echo_line(m, fd, "after\n");
    /* a second forward op on the same session, both at once */
    int port2 = 0;
    xssh_multi_op *op2 = add_forward(m, s, e.port, &port2);
    int fd2 = try_connect(port2, 0);
    cr_assert_geq(fd2, 0);
    echo_line(m, fd2, "second\n");
    echo_line(m, fd, "first again\n");
    close(fd2);
    cancel_and_check(m, op2, port2);
    close(fd);
    cancel_and_check(m, op, port);
    xssh_multi_op_unref(op2);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    echo_stop(&e);
}

/* ---- bulk both ways with a slow local reader ------------------------------------- */

/* The destination: reads everything (checked against pattern seed 1) while a
   second thread writes n_down bytes of pattern seed 2, then half-closes. */
typedef struct bulk_srv {
    int lfd, port;
    size_t n_up, n_down;
    atomic_int sink_done; /* 1: all n_up bytes arrived intact and EOF after them; -1: wrong */
    pthread_t thr;
} bulk_srv;

typedef struct {
    bulk_srv *b;
    int fd;
} bulk_src;

static void *bulk_source(void *arg)
{
    bulk_src *bs = arg;
    unsigned char *d = pattern(bs->b->n_down, 2);
    if (send_all(bs->fd, d, bs->b->n_down) == 0)
        shutdown(bs->fd, SHUT_WR);
    free(d);
    return NULL;
}

static void *bulk_accept(void *arg)
{
    bulk_srv *b = arg;
    int fd = accept(b->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    bulk_src bs = {b, fd};
    pthread_t t;
    pthread_create(&t, NULL, bulk_source, &bs);
    unsigned char *want = pattern(b->n_up, 1), *got = malloc(b->n_up + 1);
    ssize_t r = recv_to_eof(fd, (char *)got, b->n_up + 1);
    atomic_store(&b->sink_done, r == (ssize_t)b->n_up && memcmp(got, want, b->n_up) == 0 ? 1 : -1);
    pthread_join(t, NULL);
    free(want);
    free(got);
    close(fd);
    return NULL;
}

typedef struct {
    int fd;
    bulk_srv *b;
    atomic_int done;
    atomic_ullong received;
    atomic_uint tick;   /* the driving loop's steps: the reader takes one chunk per step */
    int ok;
    char why[200];
} bulk_client;

static void *bulk_writer(void *arg)
{
    bulk_client *c = arg;
    unsigned char *d = pattern(c->b->n_up, 1);
    if (send_all(c->fd, d, c->b->n_up) == 0)
        shutdown(c->fd, SHUT_WR);
    free(d);
    return NULL;
}

/* The slow reader: nothing until the destination has everything we sent, then
   at most one 64 KiB read per step of the driving loop. */
#define SLOW_CHUNK (256 * 1024)
static void *bulk_reader(void *arg)
{
    bulk_client *c = arg;
    size_t n = c->b->n_down;
    for (int i = 0; i < 600000 && atomic_load(&c->b->sink_done) == 0; i++)
        usleep(1000); /* a condition, not a time: waits for the sink */
    unsigned char *want = pattern(n, 2), *got = malloc(n + 1);
    size_t have = 0;
    unsigned seen = atomic_load(&c->tick);
    for (;;) {
        for (int i = 0; i < 3000000 && atomic_load(&c->tick) == seen; i++)
            usleep(200); /* the next step of the driving loop */
        seen = atomic_load(&c->tick);
        size_t room = n + 1 - have;
        ssize_t r = recv(c->fd, got + have, room < SLOW_CHUNK ? room : SLOW_CHUNK, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        atomic_store(&c->received, have);
        if (have > n)
            break;
    }
    if (have != n)
        snprintf(c->why, sizeof c->why, "received %zu of %zu bytes", have, n);
    else if (memcmp(got, want, n) != 0)
        snprintf(c->why, sizeof c->why, "the bytes received differ");
    else
        c->ok = 1;
    free(want);
    free(got);
    atomic_store(&c->done, 1);
    return NULL;
}

static long proc_max(const char *path)
{
    FILE *f = fopen(path, "r");
    long a = 0, b = 0, c = 0;
    if (f) {
        if (fscanf(f, "%ld %ld %ld", &a, &b, &c) != 3)
            c = 0;
        fclose(f);
    }
    return c;
}

/* 4 MiB up, and down more than the kernel can hold between the forward and a
   client that reads slowly: what the forward read from the channel but the
   client has not received stays within the kernel's socket buffers plus the
   forward's own buffer (a forward that read on would run ahead by megabytes);
   byte-exact both ways, EOF both ways. */
Test(multi_forward, bulk_both_ways_slow_reader_bounded, .timeout = 300)
{
    const int rcvbuf = 16384;
    /* what the kernel may hold: the forward's socket send buffer (autotuned up
       to tcp_wmem's maximum) and the client's receive buffer (set: doubled) */
    long wmem = proc_max("/proc/sys/net/ipv4/tcp_wmem");
    cr_assert_gt(wmem, 0);
    uint64_t bound = (uint64_t)wmem + 4 * rcvbuf + 64 * 1024 /* FWD_BUF */ + 512 * 1024 /* a chunk being read, slack */;
    bulk_srv b = {0};
    b.n_up = xt_size(4u << 20);
    b.n_down = xt_valgrind() ? xt_size(4u << 20) : (4u << 20) + 2 * bound;
    b.lfd = listen_any(&b.port);
    pthread_create(&b.thr, NULL, bulk_accept, &b);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, b.port, &port);
    bulk_client c = {0};
    c.b = &b;
    c.fd = try_connect(port, rcvbuf);
    cr_assert_geq(c.fd, 0);
    pthread_t tw, tr;
    pthread_create(&tw, NULL, bulk_writer, &c);
    pthread_create(&tr, NULL, bulk_reader, &c);
    /* everything the client sends arrives while it reads nothing: the way up does
       not wait for the way down */
    drive_until(m, &b.sink_done, 1);
    cr_assert_eq(atomic_load(&b.sink_done), 1, "the destination received wrong bytes");
    cr_assert_eq(stats_of(op).bytes_out, b.n_up);
    uint64_t ahead_max = 0;
    for (int i = 0; i < 400000 && !atomic_load(&c.done); i++) {
        cr_assert_eq(xssh_multi_wait(m, 5, NULL), XSSH_OK, "%s", last_msg());
        uint64_t in = stats_of(op).bytes_in, rec = atomic_load(&c.received);
        uint64_t ahead = in > rec ? in - rec : 0;
        if (ahead > ahead_max)
            ahead_max = ahead;
        cr_assert_leq(ahead, bound, "the forward read %llu bytes the slow reader has not taken (bound %llu)",
                      (unsigned long long)ahead, (unsigned long long)bound);
        atomic_fetch_add(&c.tick, 1);
    }
    cr_log_info("down %zu bytes: the forward ran at most %llu bytes ahead of the reader", b.n_down,
                (unsigned long long)ahead_max);
    cr_assert(atomic_load(&c.done));
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    pthread_join(b.thr, NULL);
    cr_assert(c.ok, "%s", c.why);
    close(c.fd);
    for (int i = 0; i < 200000 && stats_of(op).active; i++)
        cr_assert_eq(xssh_multi_wait(m, 20, NULL), XSSH_OK);
    xssh_forward_stats st = stats_of(op);
    cr_assert_eq(st.bytes_in, b.n_down);
    cr_assert_eq(st.bytes_out, b.n_up);
    cr_assert_eq(st.failed, 0);
    cr_assert_eq(st.active, 0);
    cancel_and_check(m, op, port);
    cr_assert_eq(result_of(op)->bytes, (uint64_t)b.n_up + b.n_down);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    close(b.lfd);
}

/* ---- failures ------------------------------------------------------------------- */

/* a port nobody listens on (bound, then closed) */
static int dead_port(void)
{
    int port = 0;
    int fd = listen_any(&port);
    close(fd);
    return port;
}

/* connect and wait (driving) for the forward to close the connection; returns
   what the client saw: 0 for EOF, else the errno */
typedef struct {
    int port;
    atomic_int done;
    int seen;
} closed_probe;

static void *closed_probe_main(void *arg)
{
    closed_probe *p = arg;
    int fd = try_connect(p->port, 0);
    if (fd < 0) {
        p->seen = -fd;
    } else {
        send_all(fd, "x", 1);
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        p->seen = r == 0 ? 0 : r < 0 ? errno : -1;
        close(fd);
    }
    atomic_store(&p->done, 1);
    return NULL;
}

Test(multi_forward, refused_destination_fails_that_connection_only, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, dead_port(), &port);
    for (int k = 1; k <= 2; k++) {
        closed_probe p = {port, 0, -2};
        pthread_t t;
        pthread_create(&t, NULL, closed_probe_main, &p);
        drive_until(m, &p.done, 1);
        pthread_join(t, NULL);
        cr_assert(p.seen == 0 || p.seen == ECONNRESET, "connection %d: the client saw %d, not its close", k, p.seen);
        drive_until_stat(m, op, STAT(failed), (uint64_t)k);
        xssh_forward_stats st = stats_of(op);
        cr_assert_eq(st.accepted, (uint64_t)k);
        cr_assert_eq(st.failed, (uint64_t)k);
        cr_assert_eq(st.active, 0);
        /* the listener still serves: the op runs on */
        cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    }
    run_on(m, s, "echo still", "still\n");
    cancel_and_check(m, op, port);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

Test(multi_forward, cancel_closes_listener_and_connections, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    int fd = try_connect(port, 0);
    cr_assert_geq(fd, 0);
    echo_line(m, fd, "open\n");
    cr_assert_eq(stats_of(op).active, 1);
    cancel_and_check(m, op, port);
    const xssh_multi_result *r = result_of(op);
    cr_assert(strstr(r->message, "cancel") != NULL, "%s", r->message);
    cr_assert_eq(stats_of(op).active, 0);
    /* the open connection was closed by the forward */
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "the connection is still open after the cancel");
    close(fd);
    /* the session stays usable, in the multi and blocking */
    run_on(m, s, "echo usable", "usable\n");
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo blocking", NULL, &rr), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(rr->out, "blocking\n");
    xssh_run_result_free(rr);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    echo_stop(&e);
}

Test(multi_forward, cancel_queued_and_unref_running, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    /* cancelled before it ever ran: the listener goes too */
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(result_of(op)->error, XSSH_ECANCELLED);
    cr_assert_eq(try_connect(port, 0), -ECONNREFUSED);
    xssh_multi_op_unref(op);
    /* the multi freed while a forward runs with an open connection */
    op = add_forward(m, s, e.port, &port);
    int fd = try_connect(port, 0);
    cr_assert_geq(fd, 0);
    echo_line(m, fd, "then freed\n");
    xssh_multi_unref(m);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(result_of(op)->error, XSSH_ECANCELLED);
    cr_assert_eq(try_connect(port, 0), -ECONNREFUSED);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    cr_assert(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
    xssh_multi_op_unref(op);
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo alive", NULL, &rr), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(rr->out, "alive\n");
    xssh_run_result_free(rr);
    xssh_session_unref(s);
    echo_stop(&e);
}

Test(multi_forward, session_failure_ends_the_op, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xt_stall_proxy x;
    xssh_session *s = xt_stall_proxy_start(&x);
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    int fd = try_connect(port, 0);
    cr_assert_geq(fd, 0);
    echo_line(m, fd, "through the proxy\n");
    /* the session's connection ends after 1 more byte towards the server */
    xt_stall_proxy_cut(&x, 1, 0);
    send_all(fd, "cut\n", 4);
    drive_until_done(m, op);
    const xssh_multi_result *r = result_of(op);
    cr_assert(r->error == XSSH_ESOCKET_DISCONNECT || r->error == XSSH_ESOCKET_RECV || r->error == XSSH_ESOCKET_SEND,
              "%d %s", r->error, r->message);
    cr_assert(strstr(r->message, "session") != NULL, "%s", r->message);
    cr_assert_eq(try_connect(port, 0), -ECONNREFUSED);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    cr_assert(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&x);
    echo_stop(&e);
}

Test(multi_forward, bind_failure_names_address_and_cause, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int taken = 0;
    int busy = listen_any(&taken);
    xssh_multi_op *op = (xssh_multi_op *)1;
    cr_assert_eq(xssh_multi_add_forward_local(m, s, "127.0.0.1", taken, "127.0.0.1", 22, NULL, &op), XSSH_ECONNECT);
    cr_assert_null(op);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", taken);
    cr_assert(strstr(last_msg(), want) != NULL, "%s", last_msg());
    cr_assert(strstr(last_msg(), strerror(EADDRINUSE)) != NULL, "%s", last_msg());
    close(busy);
    /* an address that is not local */
    cr_assert_eq(xssh_multi_add_forward_local(m, s, "192.0.2.1", 0, "127.0.0.1", 22, NULL, &op), XSSH_ECONNECT);
    cr_assert(strstr(last_msg(), "192.0.2.1:0") != NULL, "%s", last_msg());
    int running = -1;
    cr_assert_eq(xssh_multi_perform(m, &running), XSSH_OK);
    cr_assert_eq(running, 0);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

Test(multi_forward, bad_arguments, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_forward_local(NULL, s, NULL, 0, "127.0.0.1", 22, NULL, &op), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_forward_local(m, NULL, NULL, 0, "127.0.0.1", 22, NULL, &op), XSSH_EARG);
    cr_assert(strstr(last_msg(), "session") != NULL, "%s", last_msg());
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 0, NULL, 22, NULL, &op), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 0, "", 22, NULL, &op), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 0, "127.0.0.1", 0, NULL, &op), XSSH_EARG);
    cr_assert(strstr(last_msg(), "port") != NULL, "%s", last_msg());
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 0, "127.0.0.1", 65536, NULL, &op), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, -1, "127.0.0.1", 22, NULL, &op), XSSH_EARG);
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 65536, "127.0.0.1", 22, NULL, &op), XSSH_EARG);
    cr_assert(strstr(last_msg(), "bind_port") != NULL, "%s", last_msg());
    cr_assert_null(op);
    /* not a forward op; NULL arguments */
    int port = 0;
    xssh_forward_stats st;
    xssh_multi_op *run = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "true", NULL, &run), XSSH_OK);
    cr_assert_eq(xssh_multi_op_forward_port(run, &port), XSSH_EBAD_USE);
    cr_assert(strstr(last_msg(), "not a forward") != NULL, "%s", last_msg());
    cr_assert_eq(xssh_multi_op_forward_stats(run, &st), XSSH_EBAD_USE);
    cr_assert_eq(xssh_multi_op_forward_port(NULL, &port), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_forward_stats(NULL, &st), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_forward_port(run, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_op_forward_stats(run, NULL), XSSH_EARG);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK);
    xssh_multi_op_unref(run);
    /* a closed session */
    xssh_session_close(s);
    cr_assert_eq(xssh_multi_add_forward_local(m, s, NULL, 0, "127.0.0.1", 22, NULL, &op), XSSH_ECLOSED);
    cr_assert_null(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* ---- driven by an external epoll loop (socket and timer callbacks) ---------------- */

typedef struct ep_loop {
    int ep, tfd;
    int watched;
    int reported[4096];
} ep_loop;

static int ep_socket_cb(xssh_multi *m, int fd, int what, void *ud)
{
    ep_loop *l = ud;
    cr_assert(fd >= 0 && fd < 4096);
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = ((what & XSSH_POLL_IN) ? EPOLLIN : 0) | ((what & XSSH_POLL_OUT) ? EPOLLOUT : 0);
    if (what == XSSH_POLL_NONE) {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL); /* (closed already: it left the set) */
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
    struct itimerspec its = {0};
    if (timeout_ms == 0)
        its.it_value.tv_nsec = 1;
    else if (timeout_ms > 0) {
        its.it_value.tv_sec = timeout_ms / 1000;
        its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
    }
    cr_assert_eq(timerfd_settime(l->tfd, 0, &its, NULL), 0);
    return 0;
}

/* one turn of the loop (20 ms at most, so the caller can look at its flags) */
static void ep_turn(ep_loop *l, xssh_multi *m)
{
    struct epoll_event evs[64];
    int n = epoll_wait(l->ep, evs, 64, 20);
    for (int k = 0; k < n; k++) {
        if (evs[k].data.fd == -1) {
            uint64_t v;
            ssize_t rr = read(l->tfd, &v, sizeof v);
            (void)rr;
            cr_assert_eq(xssh_multi_socket_action(m, XSSH_SOCKET_TIMEOUT, 0, NULL), XSSH_OK);
        } else {
            int what = ((evs[k].events & EPOLLIN) ? XSSH_POLL_IN : 0) | ((evs[k].events & EPOLLOUT) ? XSSH_POLL_OUT : 0) |
                       ((evs[k].events & (EPOLLERR | EPOLLHUP)) ? XSSH_POLL_ERR : 0);
            cr_assert_eq(xssh_multi_socket_action(m, evs[k].data.fd, what, NULL), XSSH_OK);
        }
    }
}

typedef struct {
    int port, rounds;
    atomic_int done;
    int ok;
} seq_client;

/* connections one after the other: each one's socket closes before the next is
   accepted, so the forward's new sockets reuse numbers the loop was told about */
static void *seq_client_main(void *arg)
{
    seq_client *c = arg;
    c->ok = 1;
    for (int i = 0; i < c->rounds && c->ok; i++) {
        int fd = try_connect(c->port, 0);
        char line[32], back[64];
        snprintf(line, sizeof line, "round %d\n", i);
        c->ok = fd >= 0 && send_all(fd, line, strlen(line)) == 0 && recv_line(fd, back, sizeof back) > 0 &&
                strcmp(back, line) == 0;
        if (fd >= 0) {
            shutdown(fd, SHUT_WR);
            c->ok = c->ok && recv_to_eof(fd, back, sizeof back) == 0; /* the echo's EOF came through */
            close(fd);
        }
    }
    atomic_store(&c->done, 1);
    return NULL;
}

Test(multi_forward, external_epoll_loop, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    ep_loop l;
    memset(&l, 0, sizeof l);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.fd = -1};
    cr_assert_eq(epoll_ctl(l.ep, EPOLL_CTL_ADD, l.tfd, &tev), 0);
    xssh_multi *m = new_multi();
    cr_assert_eq(xssh_multi_set_socket_cb(m, ep_socket_cb, &l), XSSH_OK);
    cr_assert_eq(xssh_multi_set_timer_cb(m, ep_timer_cb, &l), XSSH_OK);
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    seq_client c = {port, 8, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, seq_client_main, &c);
    for (int i = 0; i < 200000 && !atomic_load(&c.done); i++)
        ep_turn(&l, m);
    pthread_join(t, NULL);
    cr_assert(c.ok, "a round through the forward failed");
    for (int i = 0; i < 200000 && stats_of(op).active; i++)
        ep_turn(&l, m);
    xssh_forward_stats st = stats_of(op);
    cr_assert_eq(st.accepted, 8);
    cr_assert_eq(st.failed, 0);
    cr_assert_eq(st.active, 0);
    cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK);
    for (int i = 0; i < 200000 && xssh_multi_op_state(op) != XSSH_OP_DONE; i++)
        ep_turn(&l, m);
    cr_assert_eq(result_of(op)->error, XSSH_ECANCELLED);
    cr_assert_eq(try_connect(port, 0), -ECONNREFUSED);
    cr_assert_eq(l.watched, 0, "every socket was released (NONE) at the end");
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    close(l.tfd);
    close(l.ep);
    echo_stop(&e);
}

Test(multi_forward, silent_server_presumed_dead, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xt_stall_proxy x;
    xssh_session *s = xt_stall_proxy_start(&x);
    cr_assert_eq(xssh_session_set_timeout(s, 400), XSSH_OK); /* the dead-peer rule: probe after 400 ms */
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    int fd = try_connect(port, 0);
    cr_assert_geq(fd, 0);
    echo_line(m, fd, "alive\n");
    /* from now on the server's bytes are held back: the probe gets no answer */
    xt_stall_proxy_hold(&x, 1);
    drive_until_done(m, op);
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ETIMEOUT, "%s", r->message);
    cr_assert(strstr(r->message, "presumed dead") != NULL, "%s", r->message);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "the connection was not closed");
    close(fd);
    cr_assert_eq(try_connect(port, 0), -ECONNREFUSED);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    xt_stall_proxy_hold(&x, 0);
    xt_stall_proxy_stop(&x);
    echo_stop(&e);
}

Test(multi_forward, local_reset_fails_that_connection_only, .timeout = 120)
{
    echo_srv e;
    echo_start(&e);
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, e.port, &port);
    int a = try_connect(port, 0), b = try_connect(port, 0);
    cr_assert_geq(a, 0);
    cr_assert_geq(b, 0);
    echo_line(m, a, "a\n");
    echo_line(m, b, "b\n");
    cr_assert_eq(stats_of(op).active, 2);
    /* a is reset by its client (RST, not FIN) */
    struct linger lg = {1, 0};
    cr_assert_eq(setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(a);
    drive_until_stat(m, op, STAT(failed), 1);
    drive_until_active_at_most(m, op, 1);
    xssh_forward_stats st = stats_of(op);
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(st.active, 1);
    /* b goes on */
    echo_line(m, b, "b again\n");
    close(b);
    drive_until_active_at_most(m, op, 0);
    st = stats_of(op);
    cr_assert_eq(st.failed, 1, "a normal close is not a failure");
    cr_assert_eq(st.accepted, 2);
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    cancel_and_check(m, op, port);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
    echo_stop(&e);
}

/* The session's sshd process (the parent of a command's shell), for the tests
   below that make the server go away. */
static pid_t sshd_of(xssh_session *s)
{
    xssh_run_result *rr = NULL;
    cr_assert_eq(xssh_session_run(s, "echo $PPID", NULL, &rr), XSSH_OK, "%s", last_msg());
    pid_t pid = (pid_t)atol(rr->out);
    xssh_run_result_free(rr);
    cr_assert_gt(pid, 1);
    return pid;
}

static void assert_ended_by_the_server(xssh_multi_op *op)
{
    const xssh_multi_result *r = result_of(op);
    cr_assert_neq(r->error, XSSH_OK);
    cr_assert_neq(r->error, XSSH_ECANCELLED, "%s", r->message);
    cr_assert(strstr(r->message, "local forward"), "%s", r->message);
}

/* A forward on s with no connection, then the session's sshd (pid) killed: the
   op must end with the server's failure. Returns the forward's local port. */
static int forward_then_kill(xssh_session *s, pid_t pid)
{
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, xt()->port, &port);
    cr_assert_eq(xssh_multi_perform(m, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    cr_assert_eq(kill(pid, SIGKILL), 0, "kill %d: %s", (int)pid, strerror(errno));
    drive_until_done(m, op);
    assert_ended_by_the_server(op);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    return port;
}

/* A forward with no connection open reads nothing of the session: the server
   going away (its sshd killed: the session socket gets EOF) still ends the op
   with that failure (task_watch), instead of leaving it listening on a dead
   session until a client comes (it never ended before). */
Test(multi_forward, idle_forward_ends_when_the_server_goes_away, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    pid_t pid = sshd_of(s);
    int port = forward_then_kill(s, pid);
    /* the listener is closed */
    cr_assert_lt(try_connect(port, 0), 0, "the forward's port still accepts");
    xssh_session_unref(s);
}

/* The same when another op of the session sees the server go away first. */
Test(multi_forward, forward_ends_when_another_op_sees_the_server_go, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = new_multi();
    int port = 0;
    xssh_multi_op *op = add_forward(m, s, xt()->port, &port);
    xssh_multi_op *run = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "kill -9 $PPID", NULL, &run), XSSH_OK, "%s", last_msg());
    drive_until_done(m, run);
    cr_assert_neq(result_of(run)->error, XSSH_OK, "the run survived its sshd: %s", result_of(run)->message);
    drive_until_done(m, op);
    assert_ended_by_the_server(op);
    xssh_multi_op_unref(run);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* The same when bytes the server sent are still unread when it goes away (here
   the echo of a `cat` nobody reads; in use: a server keepalive, the late CLOSE of
   a cancelled command): the end of the stream behind them still ends the op
   (it waited for a client before). */
Test(multi_forward, idle_forward_ends_with_unread_bytes_behind, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    pid_t pid = sshd_of(s);
    xssh_channel *ch = NULL;
    cr_assert_eq(xssh_channel_open_session(&ch, s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_channel_execute(ch, "cat"), XSSH_OK, "%s", last_msg());
    size_t wr = 0;
    cr_assert_eq(xssh_channel_write(ch, "x\n", 2, &wr), XSSH_OK, "%s", last_msg());
    cr_assert_eq(wr, 2);
    /* the echo arrives and stays unread on the session's socket */
    int fd = -1;
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK, "%s", last_msg());
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 50000), 1, "the echo never came");
    forward_then_kill(s, pid);
    xssh_channel_unref(ch);
    xssh_session_unref(s);
}
