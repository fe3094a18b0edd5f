/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh-relay: a TCP delay relay for benchmarks and tests (loopback only).
 *
 *   xssh-relay --to 127.0.0.1:PORT [--listen 127.0.0.1:0] [--delay-ms MS]
 *              [--up-delay-ms MS] [--down-delay-ms MS] [--rate-mibps R]
 *              [--queue-mib N] [--max-conns N] [--stats-file PATH] [-v]
 *
 * Listens on a 127.0.0.0/8 address and forwards every accepted connection to
 * --to (an sshd on 127.0.0.0/8). Every byte is held for a fixed time in each
 * direction ("up" = client to server, "down" = server to client), so a
 * delay of D ms each way gives a round trip of 2*D ms; an optional rate cap
 * (MiB/s, per direction) serialises the bytes as a link of that speed would.
 * It models latency and bandwidth only: no loss, no reordering, and the TCP
 * connections on both sides of it have a loopback round trip (so the TCP
 * window never limits a transfer as it would on a real WAN; SSH's and
 * SFTP's own windows do, which is what the bench measures).
 *
 * Memory is bounded: each direction of each connection queues at most
 * --queue-mib MiB (default 64); when the queue is full the relay stops
 * reading that side, and TCP back-pressure throttles the sender. The queue
 * therefore caps the bytes in flight one way: the throughput through the
 * relay cannot exceed queue / delay (64 MiB / 50 ms = 1280 MiB/s), so keep it
 * above the largest bandwidth-delay product being measured.
 *
 * On start it prints one line "LISTEN <addr> <port>" on stdout (port 0 picks a
 * free port; the line says which). SIGINT/SIGTERM: close every connection, free
 * everything, exit 0. A connection whose peer resets, or whose server refuses,
 * is reset on the other side too (SO_LINGER 0), never half-forwarded silently.
 * --stats-file appends one line per finished connection: bytes each way, the
 * peak and the average (while non-empty) of the bytes queued in the relay per
 * direction - i.e. the bytes the client kept in flight on the delayed path.
 * SIGUSR1 appends the same line (live=1, with the bytes queued now) for every
 * open connection, then a line "dump".
 *
 * Single-threaded epoll loop; delays are timed with epoll_pwait2 (ns), or
 * epoll_wait (ms, rounded up) on kernels without it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX (256 * 1024)
#define MAX_EVENTS 64

struct chunk {
    struct chunk *next;
    double due; /* monotonic seconds at which it may be written */
    size_t len, off;
    char data[];
};

struct dir {
    struct chunk *head, *tail;
    size_t queued, peak;
    double delay, rate; /* seconds; bytes/s (0 = unlimited) */
    double link_free;   /* rate cap: when the emulated link is free again */
    int eof_read, shut_done;
    double eof_due;
    uint64_t bytes;
    double area, nonempty_s, last_change; /* time-weighted queue occupancy */
};

struct conn {
    int fd[2];       /* 0: client side, 1: server side */
    struct dir d[2]; /* d[0]: client -> server (up), d[1]: server -> client (down) */
    uint32_t mask[2];
    int connecting; /* server connect() in progress */
    int dead;       /* an error on either side: reset both */
    int registered[2];
    int readable[2], writable[2];
    int id;
    double t_open;
    struct conn *next;
};

/* epoll tags: small integers for the listener and the signalfd, else side | conn pointer */
enum { TAG_LISTEN = 1, TAG_SIGNAL = 2 };

static struct {
    struct sockaddr_in listen_addr, to_addr;
    double up_delay, down_delay, rate;
    size_t queue_max;
    int max_conns, verbose;
    const char *stats_file;
} opt;

static int ep, lfd, sfd_sig, nconns, next_id, listening_paused;
static struct conn *conns;
static char readbuf[READ_MAX];
static int have_pwait2 = 1;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fputs("usage: xssh-relay --to ADDR:PORT [options]\n"
          "TCP delay relay on 127.0.0.0/8 for benchmarks and tests: every byte is held DELAY in each\n"
          "direction (round trip = 2 x DELAY), optionally at a capped rate.\n"
          "\n"
          "  --to ADDR:PORT        where to forward each connection (127.0.0.0/8 only; required)\n"
          "  --listen ADDR:PORT    where to listen (127.0.0.0/8 only; default 127.0.0.1:0 = a free port)\n"
          "  --delay-ms MS         one-way delay in both directions (default 0; fractions allowed)\n"
          "  --up-delay-ms MS      client -> server delay (overrides --delay-ms)\n"
          "  --down-delay-ms MS    server -> client delay (overrides --delay-ms)\n"
          "  --rate-mibps R        cap each direction at R MiB/s (default 0 = no cap)\n"
          "  --queue-mib N         bytes queued per direction per connection before the relay stops\n"
          "                        reading (TCP back-pressure); caps throughput at N / delay (default 64)\n"
          "  --max-conns N         connections at once; more wait in the listen backlog (default 64)\n"
          "  --stats-file PATH     append one line per finished connection (bytes, queue peak/average)\n"
          "  -v, --verbose         log connections on stderr\n"
          "  -h, --help            this text\n"
          "\n"
          "Prints \"LISTEN <addr> <port>\" on stdout once listening. SIGINT/SIGTERM: clean exit (status 0).\n"
          "SIGUSR1: append a line per open connection (live=1, bytes queued now) and \"dump\" to --stats-file.\n",
          f);
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, colon - s);
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return -1;
    if ((ntohl(a->sin_addr.s_addr) >> 24) != 127) /* loopback only */
        return -2;
    return 0;
}

static double parse_num(const char *opt_name, const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= 0) || v > 1e9) {
        fprintf(stderr, "xssh-relay: %s: not a number >= 0: %s\n", opt_name, s);
        exit(2);
    }
    return v;
}

static void set_mask(struct conn *c, int side, uint32_t m)
{
    if (c->mask[side] == m || c->fd[side] < 0 || !c->registered[side])
        return;
    struct epoll_event ev = {.events = m, .data.u64 = (uint64_t)(uintptr_t)c | (uint64_t)side};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[side], &ev))
        perror("xssh-relay: epoll_ctl");
    c->mask[side] = m;
}

static void occupancy(struct dir *d, double t)
{
    if (d->queued) {
        d->area += d->queued * (t - d->last_change);
        d->nonempty_s += t - d->last_change;
    }
    d->last_change = t;
}

/* one --stats-file line; live: a connection still open (SIGUSR1), with its current queues */
static void write_stats(struct conn *c, int reset, double t, int live)
{
    if (!opt.stats_file)
        return;
    FILE *f = fopen(opt.stats_file, "a");
    if (!f)
        return;
    fprintf(f,
            "conn=%d live=%d reset=%d dur_s=%.6f up_bytes=%llu down_bytes=%llu up_peak=%zu down_peak=%zu "
            "up_avg=%.0f down_avg=%.0f up_queued=%zu down_queued=%zu\n",
            c->id, live, reset, t - c->t_open, (unsigned long long)c->d[0].bytes, (unsigned long long)c->d[1].bytes,
            c->d[0].peak, c->d[1].peak, c->d[0].nonempty_s > 0 ? c->d[0].area / c->d[0].nonempty_s : 0.0,
            c->d[1].nonempty_s > 0 ? c->d[1].area / c->d[1].nonempty_s : 0.0, c->d[0].queued, c->d[1].queued);
    fclose(f);
}

static void conn_free(struct conn *c, int reset)
{
    double t = now();
    for (int i = 0; i < 2; i++) {
        occupancy(&c->d[i], t);
        for (struct chunk *k = c->d[i].head, *n; k; k = n) {
            n = k->next;
            free(k);
        }
        if (c->fd[i] >= 0) {
            if (reset) {
                struct linger lg = {1, 0};
                setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            if (c->registered[i])
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[i], NULL);
            close(c->fd[i]);
        }
    }
    if (opt.verbose)
        fprintf(stderr, "xssh-relay: conn %d %s: up %llu bytes, down %llu bytes\n", c->id,
                reset ? "reset" : "closed", (unsigned long long)c->d[0].bytes, (unsigned long long)c->d[1].bytes);
    write_stats(c, reset, t, 0);
    struct conn **pp = &conns;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free(c);
    nconns--;
}

/* queue n bytes read at time t for direction d */
static int enqueue(struct dir *d, const char *buf, size_t n, double t)
{
    struct chunk *k = malloc(sizeof *k + n);
    if (!k)
        return -1;
    k->next = NULL;
    k->len = n;
    k->off = 0;
    memcpy(k->data, buf, n);
    if (d->rate > 0) {
        double start = t > d->link_free ? t : d->link_free;
        d->link_free = start + n / d->rate;
        k->due = d->link_free + d->delay;
    } else {
        k->due = t + d->delay;
    }
    occupancy(d, t);
    if (d->tail)
        d->tail->next = k;
    else
        d->head = k;
    d->tail = k;
    d->queued += n;
    if (d->queued > d->peak)
        d->peak = d->queued;
    return 0;
}

/* write due bytes of direction `di` to its destination; -1: the connection is dead */
static int flush(struct conn *c, int di, double t)
{
    struct dir *d = &c->d[di];
    int to = c->fd[1 - di];
    if (c->connecting && di == 0)
        return 0;
    while (d->head && d->head->due <= t) {
        struct chunk *k = d->head;
        ssize_t w = send(to, k->data + k->off, k->len - k->off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->writable[1 - di] = 0;
                return 0;
            }
            if (opt.verbose)
                fprintf(stderr, "xssh-relay: conn %d: send to %s: %s\n", c->id, di ? "client" : "server",
                        strerror(errno));
            return -1;
        }
        occupancy(d, t);
        k->off += w;
        d->queued -= w;
        d->bytes += w;
        if (k->off < k->len) {
            c->writable[1 - di] = 0;
            return 0;
        }
        d->head = k->next;
        if (!d->head)
            d->tail = NULL;
        free(k);
    }
    if (!d->head && d->eof_read && !d->shut_done && d->eof_due <= t) {
        shutdown(to, SHUT_WR);
        d->shut_done = 1;
    }
    return 0;
}

/* read what the source of direction di has (up to the queue limit); -1: dead */
static int pull(struct conn *c, int di, double t)
{
    struct dir *d = &c->d[di];
    int from = c->fd[di];
    for (int rounds = 0; rounds < 16 && !d->eof_read && d->queued < opt.queue_max; rounds++) {
        size_t room = opt.queue_max - d->queued;
        size_t want = room < READ_MAX ? room : READ_MAX;
        if (d->rate > 0) { /* about 1 ms of the link per chunk, so the rate is smooth */
            size_t per_ms = (size_t)(d->rate / 1000);
            if (per_ms < 16384)
                per_ms = 16384;
            if (want > per_ms)
                want = per_ms;
        }
        ssize_t n = recv(from, readbuf, want, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->readable[di] = 0;
                return 0;
            }
            if (errno == EINTR)
                continue;
            if (opt.verbose)
                fprintf(stderr, "xssh-relay: conn %d: recv from %s: %s\n", c->id, di ? "server" : "client",
                        strerror(errno));
            return -1;
        }
        if (n == 0) {
            d->eof_read = 1;
            d->eof_due = (d->rate > 0 && d->link_free > t ? d->link_free : t) + d->delay;
            c->readable[di] = 0;
            return 0;
        }
        size_t off = 0;
        /* no delay, no cap, nothing queued: straight through (the RTT-0 fast path) */
        if (d->delay == 0 && d->rate == 0 && !d->head && !(c->connecting && di == 0)) {
            ssize_t w = send(c->fd[1 - di], readbuf, n, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            if (w > 0) {
                off = w;
                d->bytes += w;
            }
        }
        if (off < (size_t)n && enqueue(d, readbuf + off, n - off, t))
            return -1;
    }
    return 0;
}

static void update_masks(struct conn *c, double t)
{
    for (int side = 0; side < 2; side++) {
        struct dir *in = &c->d[side], *out = &c->d[1 - side];
        uint32_t m = 0;
        if (in->eof_read && out->shut_done) { /* this side is done both ways: no more EPOLLHUP wake-ups */
            if (c->registered[side]) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[side], NULL);
                c->registered[side] = 0;
            }
            continue;
        }
        if (!in->eof_read && in->queued < opt.queue_max && !(side == 1 && c->connecting))
            m |= EPOLLIN | EPOLLRDHUP;
        if ((side == 1 && c->connecting) || (out->head && out->head->due <= t))
            m |= EPOLLOUT;
        set_mask(c, side, m);
    }
}

static void service(struct conn *c)
{
    double t = now();
    if (c->dead) {
        conn_free(c, 1);
        return;
    }
    for (int di = 0; di < 2; di++) {
        if (c->readable[di] && pull(c, di, t)) {
            conn_free(c, 1);
            return;
        }
        if (flush(c, di, t)) {
            conn_free(c, 1);
            return;
        }
    }
    if (c->d[0].shut_done && c->d[1].shut_done) {
        conn_free(c, 0);
        return;
    }
    update_masks(c, t);
}

static void do_accept(void)
{
    while (nconns < opt.max_conns) {
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
                perror("xssh-relay: accept");
            return;
        }
        int sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
        struct conn *c = calloc(1, sizeof *c);
        if (sfd < 0 || !c) {
            perror("xssh-relay: socket");
            close(cfd);
            if (sfd >= 0)
                close(sfd);
            free(c);
            return;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd[0] = cfd;
        c->fd[1] = sfd;
        c->id = ++next_id;
        c->t_open = now();
        c->d[0].delay = opt.up_delay;
        c->d[1].delay = opt.down_delay;
        c->d[0].rate = c->d[1].rate = opt.rate;
        c->d[0].last_change = c->d[1].last_change = c->t_open;
        c->next = conns;
        conns = c;
        nconns++;
        int rc = connect(sfd, (struct sockaddr *)&opt.to_addr, sizeof opt.to_addr);
        c->connecting = rc != 0 && errno == EINPROGRESS;
        for (int side = 0; side < 2; side++) {
            struct epoll_event ev = {.events = 0, .data.u64 = (uint64_t)(uintptr_t)c | (uint64_t)side};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[side], &ev);
            c->registered[side] = 1;
        }
        if (opt.verbose)
            fprintf(stderr, "xssh-relay: conn %d accepted\n", c->id);
        if (rc != 0 && !c->connecting) {
            if (opt.verbose)
                fprintf(stderr, "xssh-relay: conn %d: connect to server: %s\n", c->id, strerror(errno));
            conn_free(c, 1);
            continue;
        }
        c->readable[0] = 1; /* the client may have written already */
        update_masks(c, now());
    }
    if (nconns >= opt.max_conns && !listening_paused) {
        struct epoll_event ev = {.events = 0, .data.u64 = TAG_LISTEN};
        epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev);
        listening_paused = 1;
    }
}

int main(int argc, char **argv)
{
    double delay = 0, up = -1, down = -1;
    int have_to = 0;
    opt.queue_max = (size_t)64 << 20;
    opt.max_conns = 64;
    parse_addr("127.0.0.1:0", &opt.listen_addr);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            opt.verbose = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "xssh-relay: %s needs a value (--help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--to") || !strcmp(a, "--listen")) {
            int rc = parse_addr(v, !strcmp(a, "--to") ? &opt.to_addr : &opt.listen_addr);
            if (rc) {
                fprintf(stderr, "xssh-relay: %s %s: %s\n", a, v,
                        rc == -2 ? "only 127.0.0.0/8 addresses are allowed" : "want IPV4ADDR:PORT");
                return 2;
            }
            have_to |= !strcmp(a, "--to");
        } else if (!strcmp(a, "--delay-ms"))
            delay = parse_num(a, v) / 1e3;
        else if (!strcmp(a, "--up-delay-ms"))
            up = parse_num(a, v) / 1e3;
        else if (!strcmp(a, "--down-delay-ms"))
            down = parse_num(a, v) / 1e3;
        else if (!strcmp(a, "--rate-mibps"))
            opt.rate = parse_num(a, v) * 1048576.0;
        else if (!strcmp(a, "--queue-mib")) {
            double q = parse_num(a, v);
            if (q < 1.0 / 16 || q > 4096) {
                fprintf(stderr, "xssh-relay: --queue-mib: between 1/16 and 4096\n");
                return 2;
            }
            opt.queue_max = (size_t)(q * 1048576.0);
        } else if (!strcmp(a, "--max-conns")) {
            double n = parse_num(a, v);
            if (n < 1 || n > 10000) {
                fprintf(stderr, "xssh-relay: --max-conns: between 1 and 10000\n");
                return 2;
            }
            opt.max_conns = (int)n;
        } else if (!strcmp(a, "--stats-file"))
            opt.stats_file = v;
        else {
            fprintf(stderr, "xssh-relay: unknown option %s (--help)\n", a);
            return 2;
        }
    }
    if (!have_to) {
        fprintf(stderr, "xssh-relay: --to ADDR:PORT is required (--help)\n");
        return 2;
    }
    opt.up_delay = up >= 0 ? up : delay;
    opt.down_delay = down >= 0 ? down : delay;

    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGUSR1);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd_sig = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sfd_sig < 0 || ep < 0 || lfd < 0 || bind(lfd, (struct sockaddr *)&opt.listen_addr, sizeof opt.listen_addr) ||
        listen(lfd, 128)) {
        perror("xssh-relay: listen");
        return 1;
    }
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(lfd, (struct sockaddr *)&bound, &bl);
    char abuf[32];
    inet_ntop(AF_INET, &bound.sin_addr, abuf, sizeof abuf);
    printf("LISTEN %s %u\n", abuf, ntohs(bound.sin_port));
    fflush(stdout);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = TAG_SIGNAL;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd_sig, &ev);

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        /* the next due chunk or EOF decides how long to sleep */
        double t = now(), next = -1;
        for (struct conn *c = conns; c; c = c->next)
            for (int di = 0; di < 2; di++) {
                struct dir *d = &c->d[di];
                double due = d->head ? d->head->due : (d->eof_read && !d->shut_done ? d->eof_due : -1);
                if (due < 0 || (d->head && due <= t && (c->mask[1 - di] & EPOLLOUT)))
                    continue; /* nothing pending, or waiting for the socket (EPOLLOUT) */
                if (due < t)
                    due = t; /* became due since service(): no sleep */
                if (next < 0 || due < next)
                    next = due;
            }
        int n;
        if (have_pwait2) {
            struct timespec ts, *tp = NULL;
            if (next >= 0) {
                double w = next - t;
                ts.tv_sec = (time_t)w;
                ts.tv_nsec = (long)((w - ts.tv_sec) * 1e9);
                tp = &ts;
            }
            n = epoll_pwait2(ep, evs, MAX_EVENTS, tp, NULL);
            if (n < 0 && errno == ENOSYS) {
                have_pwait2 = 0;
                continue;
            }
        } else {
            n = epoll_wait(ep, evs, MAX_EVENTS, next < 0 ? -1 : (int)ceil((next - t) * 1e3));
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("xssh-relay: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_LISTEN) {
                do_accept();
                continue;
            }
            if (tag == TAG_SIGNAL) {
                struct signalfd_siginfo si = {0};
                if (read(sfd_sig, &si, sizeof si) > 0 && si.ssi_signo == SIGUSR1) {
                    for (struct conn *c = conns; c; c = c->next)
                        write_stats(c, 0, now(), 1);
                    if (opt.stats_file) { /* the end of a dump: a reader can wait for it */
                        FILE *f = fopen(opt.stats_file, "a");
                        if (f)
                            fclose((fputs("dump\n", f), f));
                    }
                } else if (si.ssi_signo) {
                    while (conns)
                        conn_free(conns, 1);
                    close(lfd);
                    close(ep);
                    if (opt.verbose)
                        fprintf(stderr, "xssh-relay: signal %u, exiting\n", si.ssi_signo);
                    return 0;
                }
                continue;
            }
            struct conn *c = (struct conn *)(uintptr_t)(tag & ~(uint64_t)1);
            int side = (int)(tag & 1);
            uint32_t e = evs[i].events;
            if (e & EPOLLERR) { /* reset by the peer, or the server refused the connection */
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &err, &el);
                if (opt.verbose)
                    fprintf(stderr, "xssh-relay: conn %d: %s%s: %s\n", c->id, side ? "server" : "client",
                            c->connecting ? " connect" : "", strerror(err));
                c->dead = 1;
                continue;
            }
            if (side == 1 && c->connecting && (e & EPOLLOUT))
                c->connecting = 0;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                c->readable[side] = 1;
            if (e & EPOLLOUT)
                c->writable[side] = 1;
        }
        /* service every connection (due chunks, reads, EOFs); conn_free unlinks, so walk carefully */
        for (struct conn *c = conns, *nx; c; c = nx) {
            nx = c->next;
            service(c);
        }
        if (listening_paused && nconns < opt.max_conns) {
            struct epoll_event lev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
            epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &lev);
            listening_paused = 0;
        }
    }
}
