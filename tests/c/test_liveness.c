/* SPDX-License-Identifier: BSD-3-Clause */
/* Reliability at the protocol edges, against the real sshd (through small relays
 * that misbehave on purpose where a case needs it):
 *  - a channel's exit status survives its close while another channel of the
 *    session is busy (libssh2 1.10's close wait returns after any packet);
 *  - run() on a connection that went silent fails within about twice the session
 *    timeout (a keepalive probe goes unanswered), while a quiet but live command
 *    (no output for several session timeouts) still completes with its status;
 *  - lines before the server's identification (RFC 4253 4.2) are skipped, an
 *    empty one included, up to OpenSSH's caps, with a clear error past them;
 *  - an identification line of 253 characters passes, a longer one is refused. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a one-connection relay in a child process ------------------------------- */

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {0};
    socklen_t l = sizeof a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Relay one connection to the test sshd. The client first gets `prefix`; after
   `hole_after` bytes from the server (-1: never) the server's bytes are read
   and dropped (a black hole: TCP stays up, nothing arrives). */
static pid_t relay_start(const char *prefix, size_t prefix_len, long hole_after, int *port)
{
    int lfd = listen_loopback(port);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid) {
        close(lfd);
        return pid;
    }
    alarm(120); /* bounded whatever happens */
    int c = accept(lfd, NULL, NULL);
    int u = connect_loopback(xt()->port);
    if (c < 0 || u < 0)
        _exit(1);
    if (prefix_len && write_all(c, prefix, prefix_len) != 0)
        _exit(0);
    long s2c = 0;
    char buf[16384];
    for (;;) {
        struct pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            _exit(1);
        if (p[0].revents) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0 || write_all(u, buf, (size_t)n) != 0)
                _exit(0);
        }
        if (p[1].revents) {
            ssize_t n = read(u, buf, sizeof buf);
            if (n <= 0)
                _exit(0);
            size_t pass = (size_t)n;
            if (hole_after >= 0)
                pass = s2c >= hole_after ? 0 : (size_t)(hole_after - s2c) < (size_t)n ? (size_t)(hole_after - s2c) : (size_t)n;
            s2c += n;
            if (pass && write_all(c, buf, pass) != 0)
                _exit(0);
        }
    }
}

static void relay_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static xssh_session *connect_port(int port, int *rc)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    *rc = xssh_session_connect(s, "127.0.0.1", port, 20000);
    if (*rc == XSSH_OK)
        *rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL);
    return s;
}

/* ---- exit status after close ------------------------------------------------- */

Test(liveness, exit_status_survives_close_while_another_channel_is_busy, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_timeout(s, 20000), XSSH_OK);
    for (int round = 0; round < 5; round++) {
        xssh_channel *a = NULL, *b = NULL;
        /* B: a stream of small packets the whole time A is being closed */
        cr_assert_eq(xssh_channel_open_session(&b, s), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_channel_execute(b, "for i in $(seq 100); do echo tick; sleep 0.01; done"), XSSH_OK);
        /* A: its outputs close at once, its exit status comes later */
        cr_assert_eq(xssh_channel_open_session(&a, s), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_channel_execute(a, "exec >&- 2>&-; sleep 0.3; exit 5"), XSSH_OK);
        char buf[4096];
        size_t got = 1;
        while (got)
            cr_assert_eq(xssh_channel_read(a, buf, sizeof buf, &got), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_channel_close(a), XSSH_OK, "%s", last_msg());
        int st = -1, have = -1;
        cr_assert_eq(xssh_channel_get_exit_status(a, &st, &have), XSSH_OK);
        cr_assert(have == 1 && st == 5, "round %d: exit status %d have %d, want 5 have 1", round, st, have);
        int closed = 0;
        cr_assert_eq(xssh_channel_is_closed(a, &closed), XSSH_OK);
        cr_assert(closed);
        xssh_channel_unref(a);
        got = 1;
        while (got)
            cr_assert_eq(xssh_channel_read(b, buf, sizeof buf, &got), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_channel_close(b), XSSH_OK);
        cr_assert_eq(xssh_channel_get_exit_status(b, &st, &have), XSSH_OK);
        cr_assert(have == 1 && st == 0);
        xssh_channel_unref(b);
    }
    xssh_session_unref(s);
}

/* ---- dead peer vs quiet command ---------------------------------------------- */

Test(liveness, run_fails_on_a_silent_connection, .timeout = 120)
{
    int port = 0, rc;
    /* enough for the handshake, authentication and the channel's first output */
    pid_t relay = relay_start(NULL, 0, 200000, &port);
    xssh_session *s = connect_port(port, &rc);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_set_timeout(s, 1500), XSSH_OK);
    xssh_run_result *r = NULL;
    long long t0 = now_ms();
    rc = xssh_session_run(s, "seq 1 100000", NULL, &r); /* ~590 kB: the hole swallows the rest */
    long long took = now_ms() - t0;
    cr_assert_eq(rc, XSSH_ETIMEOUT, "run through a black hole returned %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_null(r);
    cr_assert(strstr(last_msg(), "presumed dead"), "message: %s", last_msg());
    /* silence T, then an unanswered probe T: never more than a few T */
    cr_assert(took < 3 * 1500 + 5000, "took %lld ms", took);
    xssh_session_unref(s);
    relay_stop(relay);
}

Test(liveness, run_waits_for_a_quiet_command, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_timeout(s, 1000), XSSH_OK);
    xssh_run_result *r = NULL;
    /* silent for five session timeouts, before and after its outputs close */
    cr_assert_eq(xssh_session_run(s, "sleep 2.5; echo done; exec >&- 2>&-; sleep 2.5; exit 3", NULL, &r), XSSH_OK,
                 "%s", last_msg());
    cr_assert_eq(r->out_len, 5);
    cr_assert_eq(memcmp(r->out, "done\n", 5), 0);
    cr_assert(r->have_exit_status);
    cr_assert_eq(r->exit_status, 3);
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

/* ---- lines before the identification ----------------------------------------- */

static int connect_with_prefix(const char *prefix, size_t len, char **msg)
{
    int port = 0, rc;
    pid_t relay = relay_start(prefix, len, -1, &port);
    xssh_session *s = connect_port(port, &rc);
    if (rc == XSSH_OK) {
        xssh_run_result *r = NULL;
        rc = xssh_session_run(s, "echo through-relay", NULL, &r);
        if (rc == XSSH_OK)
            cr_assert(r->out_len == 14 && memcmp(r->out, "through-relay\n", 14) == 0);
        xssh_run_result_free(r);
    }
    if (msg)
        *msg = strdup(last_msg());
    xssh_session_unref(s);
    relay_stop(relay);
    return rc;
}

static char *lines(int n, const char *line)
{
    size_t l = strlen(line);
    char *p = malloc((size_t)n * l + 1);
    for (int i = 0; i < n; i++)
        memcpy(p + (size_t)i * l, line, l);
    p[(size_t)n * l] = '\0';
    return p;
}

Test(liveness, lines_before_identification_are_skipped, .timeout = 120)
{
    static const char mixed[] = "Welcome to the test service.\n\nPlease close the session when done.\r\n\r\nS\nSS\nSSH\n";
    cr_assert_eq(connect_with_prefix(mixed, sizeof mixed - 1, NULL), XSSH_OK, "%s", last_msg());
    char *many = lines(1023, "\r\n"); /* OpenSSH's limit, all empty */
    cr_assert_eq(connect_with_prefix(many, strlen(many), NULL), XSSH_OK, "%s", last_msg());
    free(many);
    char *longline = lines(8194, "x"); /* 8192 + CR LF: the longest allowed line */
    strcpy(longline + 8192, "\r\n");
    cr_assert_eq(connect_with_prefix(longline, strlen(longline), NULL), XSSH_OK, "%s", last_msg());
    free(longline);
}

Test(liveness, too_much_before_identification_is_refused_clearly, .timeout = 120)
{
    char *msg = NULL;
    char *many = lines(1024, "\n"); /* one more than OpenSSH's ssh takes */
    int rc = connect_with_prefix(many, strlen(many), &msg);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), msg);
    cr_assert(strstr(msg, "1024 lines"), "%s", msg);
    free(many);
    free(msg);
    many = lines(5000, "\n");
    rc = connect_with_prefix(many, strlen(many), &msg);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), msg);
    free(many);
    free(msg);
    static const char nul[] = "hello\0world\r\n", lone_cr[] = "hello\rworld\r\n";
    rc = connect_with_prefix(nul, sizeof nul - 1, &msg);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), msg);
    cr_assert(strstr(msg, "NUL or a CR"), "%s", msg);
    free(msg);
    rc = connect_with_prefix(lone_cr, sizeof lone_cr - 1, &msg);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), msg);
    free(msg);
    char *over = lines(8194, "z"); /* 8193 + LF: one byte too many */
    strcpy(over + 8193, "\n");
    rc = connect_with_prefix(over, strlen(over), &msg);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), msg);
    free(over);
    free(msg);
    char *longline = lines(9000, "y");
    rc = connect_with_prefix(longline, strlen(longline), &msg);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), msg);
    cr_assert(strstr(msg, "longer than 8192"), "%s", msg);
    free(longline);
    free(msg);
}

/* ---- identification length: a second sshd with a VersionAddendum ------------- */

static int free_port(void)
{
    int port = 0;
    int fd = listen_loopback(&port);
    close(fd);
    return port;
}

/* Start the harness's sshd configuration on another port with its identification
   made `total` characters long; returns the port (the pid file is removed by stop). */
static int sshd_with_ident_len(int total, char *pidfile, size_t pidfile_len)
{
    int port = free_port();
    /* the server's own identification, without the addendum */
    int probe_rc;
    xssh_session *s = connect_port(xt()->port, &probe_rc);
    cr_assert_eq(probe_rc, XSSH_OK, "%s", last_msg());
    char *banner = NULL;
    cr_assert_eq(xssh_session_banner_get(s, &banner), XSSH_OK);
    int own = (int)strlen(banner);
    xssh_session_unref(s);
    int add = total - own - 1; /* sshd joins them with a space */
    cr_assert(add > 0);
    char *addendum = lines(add, "x");
    snprintf(pidfile, pidfile_len, "%s/sshd-ident-%d.pid", xt()->dir, port);
    /* the harness's configuration with its own port and pid file */
    char cmd[2048], cfg[1024], line[4096];
    snprintf(cfg, sizeof cfg, "%s/sshd_config", xt()->dir);
    FILE *in = fopen(cfg, "r");
    cr_assert_not_null(in, "%s", cfg);
    snprintf(cfg, sizeof cfg, "%s/sshd_config.ident-%d", xt()->dir, port);
    FILE *out = fopen(cfg, "w");
    cr_assert_not_null(out);
    while (fgets(line, sizeof line, in))
        if (strncmp(line, "Port ", 5) != 0 && strncmp(line, "PidFile ", 8) != 0)
            fputs(line, out);
    fprintf(out, "Port %d\nPidFile %s\nVersionAddendum %s\n", port, pidfile, addendum);
    fclose(in);
    fclose(out);
    snprintf(cmd, sizeof cmd, "/usr/sbin/sshd -f %s -E %s/sshd-ident.log", cfg, xt()->dir);
    free(banner);
    free(addendum);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    /* sshd daemonises before it listens: wait (bounded) until the port accepts */
    int fd = -1;
    for (int i = 0; i < 500 && fd < 0; i++) {
        fd = connect_loopback(port);
        if (fd < 0) {
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    cr_assert_geq(fd, 0, "the second sshd does not listen on %d", port);
    close(fd);
    return port;
}

static void sshd_stop(const char *pidfile)
{
    FILE *f = fopen(pidfile, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    if (pid > 0)
        kill(pid, SIGTERM);
}

Test(liveness, identification_line_length, .timeout = 120)
{
    char pid1[512], pid2[512];
    int ok_port = sshd_with_ident_len(253, pid1, sizeof pid1); /* 255 with CR LF: the RFC's longest */
    int long_port = sshd_with_ident_len(254, pid2, sizeof pid2);
    int rc;
    xssh_session *s = connect_port(ok_port, &rc);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    char *banner = NULL;
    cr_assert_eq(xssh_session_banner_get(s, &banner), XSSH_OK);
    cr_assert_eq(strlen(banner), 253);
    free(banner);
    xssh_session_unref(s);
    s = connect_port(long_port, &rc);
    cr_assert_eq(rc, XSSH_EBANNER_RECV, "%s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "longer than 255 bytes"), "%s", last_msg());
    xssh_session_unref(s);
    sshd_stop(pid1);
    sshd_stop(pid2);
}
