/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions against the real sshd: connect, handshake, close/free, options, errors. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"


static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static xssh_session *new_session(void)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK, "%s", last_msg());
    cr_assert_not_null(s);
    return s;
}

/* A TCP socket connected to the test sshd (blocking). */
static int tcp_to_sshd(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)xt()->port);
    inet_pton(AF_INET, xt()->host, &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

/* A listening socket on 127.0.0.1 that never accepts nor answers; *port_out its port. */
static int silent_listener(int *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 8), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port_out = ntohs(a.sin_port);
    return fd;
}

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
    int port;
    int fd = silent_listener(&port);
    close(fd);
    return port;
}

/* ---- connecting ------------------------------------------------------------ */

Test(session, connect_ok, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int closed = -1, fd = -1, authed = -1;
    cr_assert_eq(xssh_session_is_closed(s, &closed), XSSH_OK);
    cr_assert_eq(closed, 0);
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK);
    cr_assert_geq(fd, 0);
    cr_assert_neq(fcntl(fd, F_GETFD), -1, "socket must be open");
    cr_assert_eq(xssh_session_userauth_authenticated(s, &authed), XSSH_OK);
    cr_assert_eq(authed, 0);
    char *banner = NULL;
    cr_assert_eq(xssh_session_banner_get(s, &banner), XSSH_OK, "%s", last_msg());
    cr_assert(strncmp(banner, "SSH-2.0-OpenSSH", 15) == 0, "banner '%s'", banner);
    xssh_free(banner);
    char *m = NULL;
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_HOSTKEY, &m), XSSH_OK);
    cr_assert_str_eq(m, "ssh-ed25519"); /* the harness's only host key */
    xssh_free(m);
    for (int t = XSSH_METHOD_KEX; t <= XSSH_METHOD_COMP_SC; t++) {
        cr_assert_eq(xssh_session_methods(s, t, &m), XSSH_OK, "%d: %s", t, last_msg());
        cr_assert_gt(strlen(m), 0, "method type %d is empty", t);
        xssh_free(m);
    }
    int errno_ = -1;
    cr_assert_eq(xssh_session_last_errno(s, &errno_), XSSH_OK);
    cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_is_closed(s, &closed), XSSH_OK);
    cr_assert_eq(closed, 1);
    xssh_session_unref(s);
}

Test(session, connect_by_name_localhost, .timeout = 60)
{
    /* a name resolved to IPv4/IPv6: "localhost" gives ::1 first on some systems, sshd listens on 127.0.0.1 */
    xssh_session *s = new_session();
    int rc = xssh_session_connect(s, "localhost", xt()->port, 5000);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

Test(session, connect_refused, .timeout = 60)
{
    int port = closed_port();
    xssh_session *s = new_session();
    int rc = xssh_session_connect(s, "127.0.0.1", port, 5000);
    cr_assert_eq(rc, XSSH_ECONNECT, "got %s: %s", xssh_err_name(rc), last_msg());
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1 port %d", port);
    cr_assert(strstr(last_msg(), want), "message '%s' lacks '%s'", last_msg(), want);
    cr_assert(strstr(last_msg(), "refused"), "message '%s' lacks the cause", last_msg());
    char *m = NULL;
    cr_assert_eq(xssh_session_last_error(s, &m), XSSH_OK);
    cr_assert(strstr(m, want), "session last_error '%s'", m);
    xssh_free(m);
    /* a failed TCP connect leaves the session usable: connect again, to the real server */
    rc = xssh_session_connect(s, xt()->host, xt()->port, 5000);
    cr_assert_eq(rc, XSSH_OK, "reconnect after refusal: %s", last_msg());
    xssh_session_unref(s);
}

Test(session, connect_unresolvable, .timeout = 60)
{
    xssh_session *s = new_session();
    int rc = xssh_session_connect(s, "no-such-host.invalid", 22, 5000);
    cr_assert_eq(rc, XSSH_ERESOLVE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "no-such-host.invalid"), "%s", last_msg());
    cr_assert_eq(xssh_error_last()->code, XSSH_ERESOLVE);
    xssh_session_unref(s);
}

Test(session, connect_timeout_blackhole, .timeout = 30)
{
    xssh_session *s = new_session();
    long t0 = now_ms();
    int rc = xssh_session_connect(s, "10.255.255.1", 22, 300);
    long dt = now_ms() - t0;
    /* normally ETIMEOUT (or ECONNECT: unreachable); some sandboxes proxy every TCP
       connection and close it, which gives a handshake error: any failure, but quickly */
    cr_assert(rc == XSSH_ETIMEOUT || rc == XSSH_ECONNECT || rc == XSSH_EHANDSHAKE, "got %s: %s",
              xssh_err_name(rc), last_msg());
    cr_assert_lt(dt, 3000, "took %ld ms for a 300 ms timeout", dt);
    cr_assert(strstr(last_msg(), "10.255.255.1"), "%s", last_msg());
    xssh_session_unref(s);
}

Test(session, connect_timeout_full_backlog, .timeout = 30)
{
    /* a listener whose accept queue is full drops further SYNs: the TCP connect itself hangs */
    int port;
    int lfd = silent_listener(&port);
    listen(lfd, 0);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(100000);
    xssh_session *s = new_session();
    long t0 = now_ms();
    int rc = xssh_session_connect(s, "127.0.0.1", port, 300);
    long dt = now_ms() - t0;
    cr_assert_eq(rc, XSSH_ETIMEOUT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_geq(dt, 250, "returned after %ld ms", dt);
    cr_assert_lt(dt, 3000, "took %ld ms for a 300 ms timeout", dt);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1 port %d", port);
    cr_assert(strstr(last_msg(), want) && strstr(last_msg(), "timed out"), "%s", last_msg());
    /* still NEW: a later connect to the real server works */
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 5000), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

Test(session, connect_timeout_silent_listener, .timeout = 30)
{
    /* TCP connects (the kernel accepts into the backlog) but no banner ever comes */
    int port;
    int lfd = silent_listener(&port);
    xssh_session *s = new_session();
    long t0 = now_ms();
    int rc = xssh_session_connect(s, "127.0.0.1", port, 400);
    long dt = now_ms() - t0;
    cr_assert_eq(rc, XSSH_ETIMEOUT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_geq(dt, 350, "returned after %ld ms, before the timeout", dt);
    cr_assert_lt(dt, 3000, "took %ld ms for a 400 ms timeout", dt);
    char want[32];
    snprintf(want, sizeof want, "port %d", port);
    cr_assert(strstr(last_msg(), want), "%s", last_msg());
    /* the session is unusable afterwards */
    int next;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_ECLOSED);
    xssh_session_unref(s);
    close(lfd);
}

Test(session, handshake_timeout_caller_socket, .timeout = 30)
{
    int port;
    int lfd = silent_listener(&port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_set_timeout(s, 300), XSSH_OK);
    long t0 = now_ms();
    int rc = xssh_session_handshake(s, fd);
    long dt = now_ms() - t0;
    cr_assert_eq(rc, XSSH_ETIMEOUT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_lt(dt, 3000);
    xssh_session_unref(s);
    cr_assert_neq(fcntl(fd, F_GETFD), -1, "the caller's socket must stay open");
    close(fd);
    close(lfd);
}

Test(session, handshake_not_ssh, .timeout = 30)
{
    /* a peer that closes at once: a handshake error, not a hang or crash */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
    cr_assert_eq(write(sv[1], junk, sizeof junk - 1), (ssize_t)(sizeof junk - 1));
    close(sv[1]);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_set_timeout(s, 5000), XSSH_OK);
    int rc = xssh_session_handshake(s, sv[0]);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_neq(rc, XSSH_ETIMEOUT, "%s", last_msg());
    cr_assert_gt(strlen(last_msg()), 10);
    int closed = 0;
    cr_assert_eq(xssh_session_is_closed(s, &closed), XSSH_OK);
    cr_assert_eq(closed, 1, "a failed handshake closes the session");
    xssh_session_unref(s);
    close(sv[0]);
}

Test(session, handshake_caller_socket, .timeout = 60)
{
    int fd = tcp_to_sshd();
    int flags_before = fcntl(fd, F_GETFL);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    int sfd = -1;
    cr_assert_eq(xssh_session_socket(s, &sfd), XSSH_OK);
    cr_assert_eq(sfd, fd);
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_EBAD_USE, "second handshake");
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 1000), XSSH_EBAD_USE, "connect after handshake");
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    /* verify_host needs a name when the session did not connect() itself */
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, xt()->known_hosts), XSSH_EARG);
    cr_assert_eq(xssh_session_verify_host(s, xt()->host, xt()->port, XSSH_HOSTKEY_STRICT, xt()->known_hosts),
                 XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    /* the caller's socket is still open and as it was given */
    cr_assert_neq(fcntl(fd, F_GETFD), -1, "the session closed the caller's socket");
    cr_assert_eq(fcntl(fd, F_GETFL), flags_before, "socket flags not restored");
    close(fd);
}

Test(session, connect_twice, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_connect(s, xt()->host, xt()->port, 1000);
    cr_assert_eq(rc, XSSH_EBAD_USE, "%s", xssh_err_name(rc));
    xssh_session_unref(s);
}

/* ---- close, disconnect, free ------------------------------------------------ */

static void expect_closed_everywhere(xssh_session *s)
{
    const xt_env *e = xt();
    int i = 0;
    long l = 0;
    char *str = NULL;
    size_t n = 0;
#define CLOSED(call)                                                                                   \
    do {                                                                                               \
        int rc_ = (call);                                                                              \
        cr_assert_eq(rc_, XSSH_ECLOSED, "%s gave %s: %s", #call, xssh_err_name(rc_), last_msg());      \
        cr_assert(strstr(last_msg(), "closed"), "%s: message '%s'", #call, last_msg());                \
    } while (0)
    CLOSED(xssh_session_set_blocking(s, 1));
    CLOSED(xssh_session_get_blocking(s, &i));
    CLOSED(xssh_session_set_timeout(s, 10));
    CLOSED(xssh_session_get_timeout(s, &l));
    CLOSED(xssh_session_banner_set(s, "SSH-2.0-x"));
    CLOSED(xssh_session_banner_get(s, &str));
    CLOSED(xssh_session_flag(s, XSSH_FLAG_COMPRESS, 1));
    CLOSED(xssh_session_keepalive_config(s, 1, 10));
    CLOSED(xssh_session_keepalive_send(s, &i));
    CLOSED(xssh_session_trace(s, 0));
    CLOSED(xssh_session_supported_algs(s, XSSH_METHOD_KEX, &str));
    CLOSED(xssh_session_method_pref(s, XSSH_METHOD_KEX, "curve25519-sha256"));
    CLOSED(xssh_session_methods(s, XSSH_METHOD_KEX, &str));
    CLOSED(xssh_session_set_last_error(s, -1, "x"));
    CLOSED(xssh_session_block_directions(s, &i));
    CLOSED(xssh_session_socket(s, &i));
    CLOSED(xssh_session_hostkey(s, &str, &n, &i));
    CLOSED(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_SHA256, &str, &n));
    CLOSED(xssh_session_hostkey_fingerprint(s, &str));
    CLOSED(xssh_session_verify_host(s, "h", 22, XSSH_HOSTKEY_STRICT, e->known_hosts));
    CLOSED(xssh_session_verify_host(s, "h", 22, XSSH_HOSTKEY_OFF, NULL));
    CLOSED(xssh_session_userauth_list(s, e->user, &str));
    CLOSED(xssh_session_userauth_authenticated(s, &i));
    CLOSED(xssh_session_userauth_password(s, e->user, "pw"));
    CLOSED(xssh_session_userauth_publickey_fromfile(s, e->user, e->key_ed25519, NULL, NULL));
    CLOSED(xssh_session_userauth_publickey_frommemory(s, e->user, "k", 1, NULL, 0, NULL));
    CLOSED(xssh_session_userauth_keyboard_interactive(s, e->user, "pw"));
    const char *resp[1] = {"pw"};
    CLOSED(xssh_session_userauth_keyboard_interactive_responses(s, e->user, resp, 1));
    CLOSED(xssh_session_userauth_hostbased_fromfile(s, e->user, e->key_ed25519, NULL, NULL, "h", NULL));
    CLOSED(xssh_session_userauth_publickey(s, e->user, "\0\0\0\x0bssh-ed25519", 15));
    CLOSED(xssh_session_agent_auth(s, e->user));
    CLOSED(xssh_session_connect(s, e->host, e->port, 1000));
    CLOSED(xssh_session_handshake(s, 0));
    CLOSED(xssh_session_disconnect(s));
    CLOSED(xssh_session_disconnect_ex(s, XSSH_DISCONNECT_BY_APPLICATION, "again"));
#undef CLOSED
    cr_assert_eq(xssh_session_close(s), XSSH_OK, "close is idempotent");
    cr_assert_eq(xssh_session_is_closed(s, &i), XSSH_OK);
    cr_assert_eq(i, 1);
    /* the last error stays readable on a closed session */
    cr_assert_eq(xssh_session_last_error(s, &str), XSSH_OK);
    cr_assert(strstr(str, "closed"), "%s", str);
    xssh_free(str);
    cr_assert_eq(xssh_session_last_errno(s, &i), XSSH_OK);
}

Test(session, disconnect_then_every_call_closed, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_disconnect_ex(s, XSSH_DISCONNECT_BY_APPLICATION, "test over"), XSSH_OK, "%s",
                 last_msg());
    expect_closed_everywhere(s);
    xssh_session_unref(s);
}

Test(session, close_then_every_call_closed, .timeout = 60)
{
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_close(s), XSSH_OK);
    expect_closed_everywhere(s);
    xssh_session_unref(s);
}

Test(session, close_unconnected, .timeout = 60)
{
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_disconnect(s), XSSH_ENOTCONNECTED, "%s", last_msg());
    int c = 0;
    cr_assert_eq(xssh_session_is_closed(s, &c), XSSH_OK);
    cr_assert_eq(c, 1);
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 1000), XSSH_ECLOSED);
    xssh_session_unref(s);
}

Test(session, not_connected_errors, .timeout = 60)
{
    xssh_session *s = new_session();
    char *str = NULL;
    size_t n;
    int i;
    cr_assert_eq(xssh_session_banner_get(s, &str), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_KEX, &str), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_hostkey(s, &str, &n, &i), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_hostkey_fingerprint(s, &str), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_keepalive_send(s, &i), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_userauth_list(s, "u", &str), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_userauth_password(s, "u", "p"), XSSH_ENOTCONNECTED);
    cr_assert(strstr(last_msg(), "connect"), "%s", last_msg());
    cr_assert_eq(xssh_session_socket(s, &i), XSSH_OK);
    cr_assert_eq(i, -1);
    xssh_session_unref(s);
}

/* A relay between a socketpair end (given to the session) and the sshd, counting
   the bytes the client sends: proves that freeing a session writes nothing. */
typedef struct relay {
    int inner, outer;       /* inner: our end of the socketpair; outer: TCP to sshd */
    atomic_long c2s;        /* bytes client -> server */
    atomic_int client_eof;  /* the client side closed its end */
    atomic_int stop;
    pthread_t th;
    char first[128];        /* the first bytes the client sent (its banner) */
} relay;

static void *relay_main(void *arg)
{
    relay *r = arg;
    char buf[16384];
    while (!atomic_load(&r->stop)) {
        struct pollfd p[2] = {{r->inner, POLLIN, 0}, {r->outer, POLLIN, 0}};
        int n = poll(p, 2, 50);
        if (n <= 0)
            continue;
        if (p[0].revents & (POLLIN | POLLHUP)) {
            ssize_t k = read(r->inner, buf, sizeof buf);
            if (k <= 0) {
                atomic_store(&r->client_eof, 1);
                break;
            }
            long off = atomic_fetch_add(&r->c2s, k);
            if (off < (long)sizeof r->first - 1)
                memcpy(r->first + off, buf,
                       (size_t)k < sizeof r->first - 1 - (size_t)off ? (size_t)k : sizeof r->first - 1 - (size_t)off);
            if (write(r->outer, buf, (size_t)k) != k)
                break;
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t k = read(r->outer, buf, sizeof buf);
            if (k <= 0)
                break;
            if (write(r->inner, buf, (size_t)k) != k)
                break;
        }
    }
    return NULL;
}

static int relay_start(relay *r)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    r->inner = sv[1];
    r->outer = tcp_to_sshd();
    memset(r->first, 0, sizeof r->first);
    atomic_init(&r->c2s, 0);
    atomic_init(&r->client_eof, 0);
    atomic_init(&r->stop, 0);
    pthread_create(&r->th, NULL, relay_main, r);
    return sv[0];
}

static void relay_stop(relay *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
    close(r->inner);
    close(r->outer);
}

Test(session, free_does_no_io, .timeout = 60)
{
    relay r;
    int fd = relay_start(&r);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    usleep(100000);
    long before = atomic_load(&r.c2s);
    cr_assert_gt(before, 0);
    xssh_session_unref(s); /* no disconnect message, no close of the caller's socket */
    usleep(300000);
    cr_assert_eq(atomic_load(&r.c2s), before, "freeing the session sent %ld bytes", atomic_load(&r.c2s) - before);
    cr_assert_eq(atomic_load(&r.client_eof), 0, "freeing the session closed the caller's socket");
    cr_assert_neq(fcntl(fd, F_GETFD), -1);
    close(fd);
    relay_stop(&r);
}

Test(session, disconnect_does_io, .timeout = 60)
{
    /* the counterpart of free_does_no_io: the relay does see a disconnect */
    relay r;
    int fd = relay_start(&r);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    usleep(100000);
    long before = atomic_load(&r.c2s);
    cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "%s", last_msg());
    usleep(200000);
    cr_assert_gt(atomic_load(&r.c2s), before, "disconnect sent nothing");
    xssh_session_unref(s);
    close(fd);
    relay_stop(&r);
}

Test(session, close_sends_nothing, .timeout = 60)
{
    relay r;
    int fd = relay_start(&r);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    usleep(100000);
    long before = atomic_load(&r.c2s);
    cr_assert_eq(xssh_session_close(s), XSSH_OK);
    usleep(200000);
    cr_assert_eq(atomic_load(&r.c2s), before, "close sent bytes");
    xssh_session_unref(s);
    close(fd);
    relay_stop(&r);
}

/* Accept one connection on a listener and relay it to the sshd. */
typedef struct accept_relay {
    int lfd;
    relay r;
} accept_relay;

static void *accept_relay_main(void *arg)
{
    accept_relay *ar = arg;
    int c = accept(ar->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    ar->r.inner = c;
    ar->r.outer = tcp_to_sshd();
    relay_main(&ar->r);
    close(c);
    close(ar->r.outer);
    return NULL;
}

Test(session, connect_ipv6, .timeout = 60)
{
    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0)
        cr_skip_test("no IPv6 loopback here");
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    int port = ntohs(a.sin6_port);
    accept_relay ar;
    memset(&ar, 0, sizeof ar);
    ar.lfd = lfd;
    atomic_init(&ar.r.c2s, 0);
    atomic_init(&ar.r.client_eof, 0);
    atomic_init(&ar.r.stop, 0);
    pthread_t th;
    pthread_create(&th, NULL, accept_relay_main, &ar);
    xssh_session *s = new_session();
    int rc = xssh_session_connect(s, "::1", port, 5000);
    cr_assert_eq(rc, XSSH_OK, "connect to [::1]:%d: %s", port, last_msg());
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    /* known_hosts entries for an IPv6 literal and a port are "[::1]:port" */
    char *kh = xt_tmppath("kh-v6");
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, kh), XSSH_OK, "%s", last_msg());
    FILE *f = fopen(kh, "r");
    char line[1024] = "";
    cr_assert(fgets(line, sizeof line, f));
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%d ssh-ed25519 ", port);
    cr_assert(strncmp(line, want, strlen(want)) == 0, "line '%s'", line);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, kh), XSSH_OK, "%s", last_msg());
    free(kh);
    xssh_session_unref(s);
    atomic_store(&ar.r.stop, 1);
    pthread_join(th, NULL);
    close(lfd);
    /* refused on IPv6: ECONNECT naming the address */
    xssh_session *s2 = new_session();
    rc = xssh_session_connect(s2, "::1", port, 2000);
    cr_assert_eq(rc, XSSH_ECONNECT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "::1"), "%s", last_msg());
    xssh_session_unref(s2);
}

Test(session, refcount, .timeout = 60)
{
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_ref(s), s);
    xssh_session_unref(s);
    int next;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "still alive after ref+unref");
    cr_assert_null(xssh_session_ref(NULL));
    xssh_session_unref(NULL);
    xssh_session_unref(s);
}

/* ---- NULL and empty arguments ------------------------------------------------ */

Test(session, null_args, .timeout = 60)
{
    int i;
    long l;
    char *str;
    size_t n;
    const char *resp[2] = {"a", NULL};
#define EARG(call)                                                                                      \
    do {                                                                                                \
        int rc_ = (call);                                                                               \
        cr_assert_eq(rc_, XSSH_EARG, "%s gave %s: %s", #call, xssh_err_name(rc_), last_msg());          \
        cr_assert_eq(xssh_error_last()->code, XSSH_EARG, "%s", #call);                                  \
        cr_assert_gt(strlen(last_msg()), 5, "%s: no message", #call);                                   \
    } while (0)
    /* NULL session */
    EARG(xssh_session_new(NULL));
    EARG(xssh_session_connect(NULL, "h", 22, 0));
    EARG(xssh_session_handshake(NULL, 3));
    EARG(xssh_session_disconnect(NULL));
    EARG(xssh_session_disconnect_ex(NULL, 11, "x"));
    EARG(xssh_session_close(NULL));
    EARG(xssh_session_is_closed(NULL, &i));
    EARG(xssh_session_set_blocking(NULL, 1));
    EARG(xssh_session_get_blocking(NULL, &i));
    EARG(xssh_session_set_timeout(NULL, 1));
    EARG(xssh_session_get_timeout(NULL, &l));
    EARG(xssh_session_banner_set(NULL, "SSH-2.0-x"));
    EARG(xssh_session_banner_get(NULL, &str));
    EARG(xssh_session_flag(NULL, 1, 1));
    EARG(xssh_session_keepalive_config(NULL, 1, 1));
    EARG(xssh_session_keepalive_send(NULL, &i));
    EARG(xssh_session_trace(NULL, 0));
    EARG(xssh_session_supported_algs(NULL, 0, &str));
    EARG(xssh_session_method_pref(NULL, 0, "x"));
    EARG(xssh_session_methods(NULL, 0, &str));
    EARG(xssh_session_last_errno(NULL, &i));
    EARG(xssh_session_last_error(NULL, &str));
    EARG(xssh_session_set_last_error(NULL, -1, "x"));
    EARG(xssh_session_block_directions(NULL, &i));
    EARG(xssh_session_socket(NULL, &i));
    EARG(xssh_session_hostkey(NULL, &str, &n, &i));
    EARG(xssh_session_hostkey_hash(NULL, XSSH_HOSTKEY_HASH_SHA256, &str, &n));
    EARG(xssh_session_hostkey_fingerprint(NULL, &str));
    EARG(xssh_session_verify_host(NULL, "h", 22, XSSH_HOSTKEY_STRICT, NULL));
    EARG(xssh_session_userauth_list(NULL, "u", &str));
    EARG(xssh_session_userauth_authenticated(NULL, &i));
    EARG(xssh_session_userauth_password(NULL, "u", "p"));
    EARG(xssh_session_userauth_publickey_fromfile(NULL, "u", xt()->key_ed25519, NULL, NULL));
    EARG(xssh_session_userauth_publickey_fromfile(NULL, "u", "/nonexistent/key", NULL, NULL));
    EARG(xssh_session_userauth_hostbased_fromfile(NULL, "u", "/nonexistent/key", NULL, NULL, "h", NULL));
    EARG(xssh_session_userauth_publickey_frommemory(NULL, "u", "k", 1, NULL, 0, NULL));
    EARG(xssh_session_userauth_keyboard_interactive(NULL, "u", "p"));
    EARG(xssh_session_userauth_keyboard_interactive_responses(NULL, "u", resp, 1));
    EARG(xssh_session_userauth_hostbased_fromfile(NULL, "u", xt()->key_ed25519, NULL, NULL, "h", NULL));
    EARG(xssh_session_userauth_publickey(NULL, "u", "k", 1));
    EARG(xssh_session_agent_auth(NULL, "u"));

    /* a live session, bad other arguments */
    xssh_session *s = xt_connect();
    const xt_env *e = xt();
    EARG(xssh_session_connect(s, NULL, 22, 0));
    EARG(xssh_session_connect(s, "", 22, 0));
    EARG(xssh_session_connect(s, "h", 0, 0));
    EARG(xssh_session_connect(s, "h", 70000, 0));
    EARG(xssh_session_connect(s, "h", 22, -1));
    EARG(xssh_session_handshake(s, -1));
    EARG(xssh_session_is_closed(s, NULL));
    EARG(xssh_session_get_blocking(s, NULL));
    EARG(xssh_session_set_timeout(s, -5));
    EARG(xssh_session_get_timeout(s, NULL));
    EARG(xssh_session_banner_set(s, NULL));
    EARG(xssh_session_banner_set(s, ""));
    EARG(xssh_session_banner_get(s, NULL));
    EARG(xssh_session_supported_algs(s, XSSH_METHOD_KEX, NULL));
    EARG(xssh_session_supported_algs(s, -1, &str));
    EARG(xssh_session_supported_algs(s, 10, &str));
    EARG(xssh_session_method_pref(s, XSSH_METHOD_KEX, NULL));
    EARG(xssh_session_method_pref(s, XSSH_METHOD_KEX, ""));
    EARG(xssh_session_method_pref(s, 42, "x"));
    EARG(xssh_session_methods(s, XSSH_METHOD_KEX, NULL));
    EARG(xssh_session_methods(s, 99, &str));
    EARG(xssh_session_last_errno(s, NULL));
    EARG(xssh_session_last_error(s, NULL));
    EARG(xssh_session_block_directions(s, NULL));
    EARG(xssh_session_socket(s, NULL));
    EARG(xssh_session_hostkey(s, NULL, &n, &i));
    EARG(xssh_session_hostkey(s, &str, NULL, &i));
    EARG(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_SHA256, NULL, &n));
    EARG(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_SHA256, &str, NULL));
    EARG(xssh_session_hostkey_hash(s, 0, &str, &n));
    EARG(xssh_session_hostkey_hash(s, 4, &str, &n));
    EARG(xssh_session_hostkey_fingerprint(s, NULL));
    EARG(xssh_session_verify_host(s, NULL, 0, (xssh_hostkey_policy)7, e->known_hosts));
    EARG(xssh_session_verify_host(s, NULL, -1, XSSH_HOSTKEY_STRICT, e->known_hosts));
    EARG(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, ""));
    EARG(xssh_session_userauth_list(s, NULL, &str));
    EARG(xssh_session_userauth_list(s, "", &str));
    EARG(xssh_session_userauth_list(s, e->user, NULL));
    EARG(xssh_session_userauth_authenticated(s, NULL));
    EARG(xssh_session_userauth_password(s, NULL, "p"));
    EARG(xssh_session_userauth_password(s, "", "p"));
    EARG(xssh_session_userauth_password(s, e->user, NULL));
    EARG(xssh_session_userauth_publickey_fromfile(s, NULL, e->key_ed25519, NULL, NULL));
    EARG(xssh_session_userauth_publickey_fromfile(s, "", e->key_ed25519, NULL, NULL));
    EARG(xssh_session_userauth_publickey_fromfile(s, NULL, "/nonexistent/key", NULL, NULL));
    EARG(xssh_session_userauth_hostbased_fromfile(s, "", "/nonexistent/key", NULL, NULL, "h", NULL));
    EARG(xssh_session_userauth_publickey_fromfile(s, e->user, NULL, NULL, NULL));
    EARG(xssh_session_userauth_publickey_fromfile(s, e->user, "", NULL, NULL));
    EARG(xssh_session_userauth_publickey_fromfile(s, e->user, e->key_ed25519, "", NULL));
    EARG(xssh_session_userauth_publickey_frommemory(s, e->user, NULL, 5, NULL, 0, NULL));
    EARG(xssh_session_userauth_publickey_frommemory(s, e->user, "k", 0, NULL, 0, NULL));
    EARG(xssh_session_userauth_publickey_frommemory(s, e->user, "k", 1, NULL, 3, NULL));
    EARG(xssh_session_userauth_publickey_frommemory(s, NULL, "k", 1, NULL, 0, NULL));
    EARG(xssh_session_userauth_keyboard_interactive(s, e->user, NULL));
    EARG(xssh_session_userauth_keyboard_interactive(s, NULL, "p"));
    EARG(xssh_session_userauth_keyboard_interactive_responses(s, e->user, NULL, 1));
    EARG(xssh_session_userauth_keyboard_interactive_responses(s, e->user, resp, 2));
    EARG(xssh_session_userauth_keyboard_interactive_responses(s, "", resp, 1));
    EARG(xssh_session_userauth_hostbased_fromfile(s, e->user, NULL, NULL, NULL, "h", NULL));
    EARG(xssh_session_userauth_hostbased_fromfile(s, e->user, e->key_ed25519, NULL, NULL, NULL, NULL));
    EARG(xssh_session_userauth_hostbased_fromfile(s, e->user, e->key_ed25519, NULL, NULL, "", NULL));
    EARG(xssh_session_userauth_hostbased_fromfile(s, NULL, e->key_ed25519, NULL, NULL, "h", NULL));
    EARG(xssh_session_userauth_publickey(s, e->user, NULL, 5));
    EARG(xssh_session_userauth_publickey(s, e->user, "k", 0));
    EARG(xssh_session_userauth_publickey(s, NULL, "\0\0\0\x0bssh-ed25519", 15));
    EARG(xssh_session_agent_auth(s, NULL));
    EARG(xssh_session_agent_auth(s, ""));
#undef EARG
    /* after all that, the session still works */
    int authed = -1;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &authed), XSSH_OK);
    cr_assert_eq(authed, 0);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, e->user, e->key_ed25519, NULL, NULL), XSSH_OK, "%s",
                 last_msg());
    xssh_session_unref(s);
}

/* ---- options ----------------------------------------------------------------- */

Test(session, blocking_and_timeout, .timeout = 60)
{
    xssh_session *s = new_session();
    int b = -1;
    long t = -1;
    cr_assert_eq(xssh_session_get_blocking(s, &b), XSSH_OK);
    cr_assert_eq(b, 1, "blocking by default");
    cr_assert_eq(xssh_session_get_timeout(s, &t), XSSH_OK);
    cr_assert_eq(t, 0, "no timeout by default");
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    cr_assert_eq(xssh_session_get_blocking(s, &b), XSSH_OK);
    cr_assert_eq(b, 0);
    cr_assert_eq(xssh_session_set_blocking(s, 7), XSSH_OK);
    cr_assert_eq(xssh_session_get_blocking(s, &b), XSSH_OK);
    cr_assert_eq(b, 1);
    cr_assert_eq(xssh_session_set_timeout(s, 1234), XSSH_OK);
    cr_assert_eq(xssh_session_get_timeout(s, &t), XSSH_OK);
    cr_assert_eq(t, 1234);
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 5000), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_get_timeout(s, &t), XSSH_OK);
    cr_assert_eq(t, 1234, "connect must not change the session timeout");
    cr_assert_eq(xssh_session_set_timeout(s, 0), XSSH_OK);
    cr_assert_eq(xssh_session_get_timeout(s, &t), XSSH_OK);
    cr_assert_eq(t, 0);
    xssh_session_unref(s);
}

Test(session, nonblocking_auth_loop, .timeout = 60)
{
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    int fd = -1;
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK);
    int again = 0, rc;
    while ((rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL)) ==
           XSSH_EAGAIN) {
        again++;
        int dirs = 0;
        cr_assert_eq(xssh_session_block_directions(s, &dirs), XSSH_OK);
        cr_assert_neq(dirs, 0, "EAGAIN without a direction to wait for");
        struct pollfd p = {fd, (short)(((dirs & XSSH_BLOCK_INBOUND) ? POLLIN : 0) |
                                       ((dirs & XSSH_BLOCK_OUTBOUND) ? POLLOUT : 0)), 0};
        poll(&p, 1, 1000);
        cr_assert_lt(again, 10000);
    }
    cr_assert_eq(rc, XSSH_OK, "%s: %s", xssh_err_name(rc), last_msg());
    cr_assert_gt(again, 0, "a network round trip in non-blocking mode should give EAGAIN at least once");
    int authed = 0;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &authed), XSSH_OK);
    cr_assert_eq(authed, 1);
    xssh_session_unref(s);
}

Test(session, timeout_on_blocking_call, .timeout = 60)
{
    /* the relay stops forwarding: a blocking call must end with ETIMEOUT in time */
    relay r;
    int fd = relay_start(&r);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    atomic_store(&r.stop, 1);
    pthread_join(r.th, NULL);
    cr_assert_eq(xssh_session_set_timeout(s, 300), XSSH_OK);
    long t0 = now_ms();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL);
    long dt = now_ms() - t0;
    cr_assert_eq(rc, XSSH_ETIMEOUT, "%s: %s", xssh_err_name(rc), last_msg());
    cr_assert_lt(dt, 3000);
    cr_assert(strstr(last_msg(), "timed out"), "%s", last_msg());
    xssh_session_unref(s);
    close(fd);
    close(r.inner);
    close(r.outer);
}

Test(session, banner, .timeout = 60)
{
    relay r;
    int fd = relay_start(&r);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_banner_set(s, "SSH-2.0-xssh_test_banner"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    /* the server got our banner */
    cr_assert(strncmp(r.first, "SSH-2.0-xssh_test_banner\r\n", 26) == 0, "client sent '%.40s'", r.first);
    char *b = NULL;
    cr_assert_eq(xssh_session_banner_get(s, &b), XSSH_OK);
    cr_assert(strncmp(b, "SSH-2.0-OpenSSH", 15) == 0, "%s", b);
    cr_assert_eq(strchr(b, '\r'), NULL, "banner keeps its CR: '%s'", b);
    cr_assert_eq(strchr(b, '\n'), NULL, "banner keeps its LF");
    xssh_free(b);
    cr_assert_eq(xssh_session_banner_set(s, "SSH-2.0-late"), XSSH_EBAD_USE, "banner after the handshake");
    xssh_session_unref(s);
    close(fd);
    relay_stop(&r);
    /* the default banner names libssh2 */
    fd = relay_start(&r);
    s = new_session();
    cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
    cr_assert(strncmp(r.first, "SSH-2.0-", 8) == 0, "client sent '%.40s'", r.first);
    xssh_session_unref(s);
    close(fd);
    relay_stop(&r);
}

Test(session, flag_compression, .timeout = 60)
{
    if (!(xssh_features() & XSSH_FEATURE_COMPRESSION))
        cr_skip_test("libssh2 built without zlib");
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_flag(s, XSSH_FLAG_COMPRESS, 1), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_flag(s, XSSH_FLAG_SIGPIPE, 0), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 5000), XSSH_OK, "%s", last_msg());
    char *m = NULL;
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_COMP_CS, &m), XSSH_OK);
    cr_assert(strstr(m, "zlib"), "compression negotiated '%s'", m);
    xssh_free(m);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    int next;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);

    /* without the flag: none */
    s = xt_connect();
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_COMP_CS, &m), XSSH_OK);
    cr_assert_str_eq(m, "none");
    xssh_free(m);
    xssh_session_unref(s);
}

Test(session, flag_invalid, .timeout = 60)
{
    xssh_session *s = new_session();
    int rc = xssh_session_flag(s, 999, 1);
    cr_assert_neq(rc, XSSH_OK, "an unknown flag must fail");
    cr_assert(strstr(last_msg(), "999"), "%s", last_msg());
    xssh_session_unref(s);
}

Test(session, supported_algs_and_method_pref, .timeout = 60)
{
    xssh_session *s = new_session();
    char *algs = NULL;
    cr_assert_eq(xssh_session_supported_algs(s, XSSH_METHOD_HOSTKEY, &algs), XSSH_OK, "%s", last_msg());
    cr_assert(strstr(algs, "ssh-ed25519"), "%s", algs);
    xssh_free(algs);
    cr_assert_eq(xssh_session_supported_algs(s, XSSH_METHOD_KEX, &algs), XSSH_OK);
    cr_assert(strstr(algs, "diffie-hellman"), "%s", algs);
    xssh_free(algs);
    cr_assert_eq(xssh_session_supported_algs(s, XSSH_METHOD_CRYPT_CS, &algs), XSSH_OK);
    cr_assert(strstr(algs, "aes128-ctr"), "%s", algs);
    xssh_free(algs);
    cr_assert_eq(xssh_session_supported_algs(s, XSSH_METHOD_MAC_SC, &algs), XSSH_OK);
    cr_assert(strstr(algs, "hmac-sha2-256"), "%s", algs);
    xssh_free(algs);

    cr_assert_eq(xssh_session_method_pref(s, XSSH_METHOD_CRYPT_CS, "aes128-ctr"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_method_pref(s, XSSH_METHOD_CRYPT_SC, "aes256-ctr,aes128-ctr"), XSSH_OK);
    cr_assert_eq(xssh_session_method_pref(s, XSSH_METHOD_MAC_CS, "hmac-sha2-256"), XSSH_OK, "%s", last_msg());
    int rc = xssh_session_method_pref(s, XSSH_METHOD_KEX, "no-such-kex");
    cr_assert_neq(rc, XSSH_OK);
    cr_assert(strstr(last_msg(), "no-such-kex"), "%s", last_msg());
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 5000), XSSH_OK, "%s", last_msg());
    char *m = NULL;
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_CRYPT_CS, &m), XSSH_OK);
    cr_assert_str_eq(m, "aes128-ctr");
    xssh_free(m);
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_CRYPT_SC, &m), XSSH_OK);
    cr_assert_str_eq(m, "aes256-ctr");
    xssh_free(m);
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_MAC_CS, &m), XSSH_OK);
    cr_assert_str_eq(m, "hmac-sha2-256");
    xssh_free(m);
    /* supported_algs still works once connected */
    cr_assert_eq(xssh_session_supported_algs(s, XSSH_METHOD_COMP_CS, &algs), XSSH_OK);
    cr_assert(strstr(algs, "none"), "%s", algs);
    xssh_free(algs);
    xssh_session_unref(s);
}

Test(session, keepalive, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    int next = -1;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "%s", last_msg());
    cr_assert_eq(next, 0, "keepalives are off by default");
    cr_assert_eq(xssh_session_keepalive_config(s, 1, 5), XSSH_OK);
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "%s", last_msg());
    cr_assert(next > 0 && next <= 5, "next %d", next);
    cr_assert_eq(xssh_session_keepalive_send(s, NULL), XSSH_OK, "NULL seconds_to_next is allowed");
    cr_assert_eq(xssh_session_keepalive_config(s, 0, 0), XSSH_OK);
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK);
    cr_assert_eq(next, 0);
    cr_assert_eq(xssh_session_trace(s, 0xffff), XSSH_OK);
    cr_assert_eq(xssh_session_trace(s, 0), XSSH_OK);
    xssh_session_unref(s);
}

Test(session, last_error_and_set_last_error, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *m = NULL;
    cr_assert_eq(xssh_session_last_error(s, &m), XSSH_OK);
    cr_assert_str_eq(m, "", "no failure yet");
    xssh_free(m);
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_unauthorized, NULL, NULL);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_eq(xssh_session_last_error(s, &m), XSSH_OK);
    cr_assert(strstr(m, xt()->user) && strstr(m, xt()->host), "detail lacks user/host: %s", m);
    cr_assert_str_eq(m, last_msg());
    xssh_free(m);
    int le = 0;
    cr_assert_eq(xssh_session_last_errno(s, &le), XSSH_OK);
    cr_assert_lt(le, 0, "libssh2's last errno after a failure");

    cr_assert_eq(xssh_session_set_last_error(s, XSSH_EPROTO, "custom failure text"), XSSH_OK);
    cr_assert_eq(xssh_session_last_errno(s, &le), XSSH_OK);
    cr_assert_eq(le, XSSH_EPROTO);
    cr_assert_eq(xssh_session_last_error(s, &m), XSSH_OK);
    cr_assert_str_eq(m, "custom failure text");
    xssh_free(m);
    xssh_session_unref(s);
}

Test(session, block_directions_socket, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int d = -1, fd = -1;
    cr_assert_eq(xssh_session_block_directions(s, &d), XSSH_OK);
    cr_assert(d >= 0 && d <= 3, "%d", d);
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK);
    int type = 0;
    socklen_t l = sizeof type;
    cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l), 0, "not a socket");
    cr_assert_eq(type, SOCK_STREAM);
    xssh_session_unref(s);
}

Test(session, disconnect_ex_reason_and_errors, .timeout = 60)
{
    /* a description libssh2 refuses (> 256 bytes): an error, and the session is closed anyway */
    xssh_session *s = xt_connect();
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    int rc = xssh_session_disconnect_ex(s, XSSH_DISCONNECT_BY_APPLICATION, big);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert(strstr(last_msg(), "disconnect"), "%s", last_msg());
    int c = 0;
    cr_assert_eq(xssh_session_is_closed(s, &c), XSSH_OK);
    cr_assert_eq(c, 1, "documented: closed afterwards even on error");
    xssh_session_unref(s);
    /* NULL description and another reason code are fine */
    s = xt_connect();
    cr_assert_eq(xssh_session_disconnect_ex(s, 2 /* protocol error */, NULL), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

Test(session, supported_algs_every_type, .timeout = 60)
{
    xssh_session *s = new_session();
    for (int t = XSSH_METHOD_KEX; t <= XSSH_METHOD_LANG_SC; t++) {
        char *a = NULL;
        int rc = xssh_session_supported_algs(s, t, &a);
        if (t <= XSSH_METHOD_COMP_SC) {
            cr_assert_eq(rc, XSSH_OK, "type %d: %s", t, last_msg());
            cr_assert_gt(strlen(a), 0, "type %d", t);
            xssh_free(a);
        } else {
            /* libssh2 has no language methods: a clean error, not a crash */
            cr_assert(rc == XSSH_OK || rc == XSSH_EMETHOD_NOT_SUPPORTED, "type %d: %s", t, last_msg());
            if (rc == XSSH_OK)
                xssh_free(a);
        }
    }
    xssh_session_unref(s);
}

Test(session, handshake_no_common_algorithm, .timeout = 60)
{
    /* the harness's sshd has only an Ed25519 host key: insisting on ECDSA cannot negotiate */
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_method_pref(s, XSSH_METHOD_HOSTKEY, "ecdsa-sha2-nistp256"), XSSH_OK, "%s", last_msg());
    int rc = xssh_session_connect(s, xt()->host, xt()->port, 5000);
    cr_assert_eq(rc, XSSH_EHANDSHAKE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_eq(xssh_error_last()->libssh2_code, XSSH_EKEX_FAILURE, "libssh2 code %d: %s",
                 xssh_error_last()->libssh2_code, last_msg());
    char want[64];
    snprintf(want, sizeof want, "%s port %d", xt()->host, xt()->port);
    cr_assert(strstr(last_msg(), want), "%s", last_msg());
    int c = 0;
    cr_assert_eq(xssh_session_is_closed(s, &c), XSSH_OK);
    cr_assert_eq(c, 1);
    xssh_session_unref(s);
}

typedef struct waiter_arg {
    xssh_session *s;
    int rc;
    long dt;
} waiter_arg;

static void *blocked_auth(void *p)
{
    waiter_arg *w = p;
    long t0 = now_ms();
    w->rc = xssh_session_userauth_publickey_fromfile(w->s, xt()->user, xt()->key_ed25519, NULL, NULL);
    w->dt = now_ms() - t0;
    return NULL;
}

Test(session, close_wakes_a_blocked_thread, .timeout = 60)
{
    /* a thread blocked (no timeout) on a server that went silent; another thread closes
       the session: the blocked call ends at once with XSSH_ECLOSED */
    for (int owned = 0; owned < 2; owned++) {
        relay r;
        int fd = relay_start(&r);
        xssh_session *s = new_session();
        cr_assert_eq(xssh_session_handshake(s, fd), XSSH_OK, "%s", last_msg());
        atomic_store(&r.stop, 1); /* the "server" goes silent */
        pthread_join(r.th, NULL);
        waiter_arg w = {s, -99999, 0};
        pthread_t th;
        pthread_create(&th, NULL, blocked_auth, &w);
        usleep(300000);
        long t0 = now_ms();
        if (owned)
            cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "disconnect: %s", last_msg());
        else
            cr_assert_eq(xssh_session_close(s), XSSH_OK);
        pthread_join(th, NULL);
        long dt = now_ms() - t0;
        cr_assert_eq(w.rc, XSSH_ECLOSED, "%s: got %s", owned ? "disconnect" : "close", xssh_err_name(w.rc));
        cr_assert_lt(dt, 2000, "the blocked thread took %ld ms to notice", dt);
        xssh_session_unref(s);
        close(fd);
        close(r.inner);
        close(r.outer);
    }
}

Test(session, connect_zero_timeout_uses_session_timeout, .timeout = 30)
{
    /* connect(..., 0): no TCP limit of its own, but the handshake honours the session timeout */
    int port;
    int lfd = silent_listener(&port);
    xssh_session *s = new_session();
    cr_assert_eq(xssh_session_set_timeout(s, 300), XSSH_OK);
    long t0 = now_ms();
    int rc = xssh_session_connect(s, "127.0.0.1", port, 0);
    long dt = now_ms() - t0;
    cr_assert_eq(rc, XSSH_ETIMEOUT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_lt(dt, 3000, "took %ld ms", dt);
    xssh_session_unref(s);
    close(lfd);
}
