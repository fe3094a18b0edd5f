/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "fixture.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static xt_env g_env;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const char *g_missing;

static const char *dupval(const char *v)
{
    char *p = strdup(v);
    size_t n = strlen(p);
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        p[--n] = 0;
    return p;
}

static void load(void)
{
    const char *path = getenv("XSSH_TEST_ENV");
    if (!path || !*path) {
        g_missing = "XSSH_TEST_ENV is not set: run the tests through ctest (fixture sshd) "
                    "or start tests/harness/sshd_harness.py and export XSSH_TEST_ENV=DIR/env";
        return;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        g_missing = "XSSH_TEST_ENV names a file that cannot be opened";
        return;
    }
    char line[4096];
    memset(&g_env, 0, sizeof g_env);
    g_env.pw_user = g_env.password = g_env.agent_sock = "";
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *k = line, *v = dupval(eq + 1);
#define F(name, field) else if (!strcmp(k, "XSSH_TEST_" name)) g_env.field = v;
        if (!strcmp(k, "XSSH_TEST_PORT")) {
            g_env.port = atoi(v);
            free((void *)v);
        }
        F("DIR", dir)
        F("HOST", host)
        F("USER", user)
        F("KEY_ED25519", key_ed25519)
        F("KEY_ECDSA", key_ecdsa)
        F("KEY_RSA", key_rsa)
        F("KEY_ENCRYPTED", key_encrypted)
        F("KEY_PASSPHRASE", key_passphrase)
        F("KEY_UNAUTHORIZED", key_unauthorized)
        F("KNOWN_HOSTS", known_hosts)
        F("HOSTKEY_FP", hostkey_fp)
        F("PW_USER", pw_user)
        F("PASSWORD", password)
        F("AGENT_SOCK", agent_sock)
        else free((void *)v); /* a key this fixture does not keep (a suite reads it itself) */
#undef F
    }
    fclose(f);
    if (!g_env.host || !g_env.port || !g_env.user || !g_env.key_ed25519 || !g_env.dir)
        g_missing = "XSSH_TEST_ENV file lacks XSSH_TEST_HOST/PORT/USER/KEY_ED25519/DIR";
}

const xt_env *xt(void)
{
    pthread_once(&g_once, load);
    if (g_missing)
        cr_assert_fail("%s", g_missing);
    return &g_env;
}

xssh_session *xt_connect(void)
{
    const xt_env *e = xt();
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK, "xssh_session_new: %s", xssh_error_last()->message);
    int rc = xssh_session_connect(s, e->host, e->port, 10000);
    cr_assert_eq(rc, XSSH_OK, "connect %s:%d: %s", e->host, e->port, xssh_error_last()->message);
    return s;
}

xssh_session *xt_hop(xssh_session *via)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    if (via)
        cr_assert_eq(xssh_session_connect_via(s, via, xt()->host, xt()->port, 10000), XSSH_OK, "%s", last_msg());
    else
        cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 10000), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_verify_host(s, xt()->host, xt()->port, XSSH_HOSTKEY_STRICT, xt()->known_hosts), XSSH_OK,
                 "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    xssh_session_set_timeout(s, 30000);
    return s;
}

xssh_session *xt_connect_auth(void)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL);
    cr_assert_eq(rc, XSSH_OK, "auth: %s", xssh_error_last()->message);
    return s;
}

char *xt_tmppath(const char *stem)
{
    static atomic_int counter;
    char *p = NULL;
    int n = atomic_fetch_add(&counter, 1);
    if (asprintf(&p, "%s/tmp-%ld-%d-%s", xt()->dir, (long)getpid(), n, stem ? stem : "f") < 0)
        cr_assert_fail("asprintf");
    return p;
}

void xt_empty_home(const char *tag)
{
    static char home[1024]; /* setenv copies; kept for the suite's life anyway */
    char ssh[1100];
    snprintf(home, sizeof home, "%s/%s-home-%d", xt()->dir, tag, (int)getpid());
    snprintf(ssh, sizeof ssh, "%s/.ssh", home);
    mkdir(home, 0700);
    mkdir(ssh, 0700);
    setenv("HOME", home, 1);
}

int xt_have_password(void)
{
    return xt()->password && *xt()->password;
}

int xt_valgrind(void)
{
    const char *v = getenv("XSSH_TEST_VALGRIND");
    return v && *v == '1';
}

size_t xt_size(size_t full)
{
    if (!xt_valgrind())
        return full;
    size_t n = full / 16;
    return n < 65536 ? (full < 65536 ? full : 65536) : n;
}

unsigned char *xt_random_bytes(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    int fd = open("/dev/urandom", O_RDONLY);
    cr_assert_geq(fd, 0);
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, p + got, n - got);
        cr_assert_gt(r, 0);
        got += (size_t)r;
    }
    close(fd);
    return p;
}

unsigned char *xt_slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    struct stat st;
    fstat(fd, &st);
    unsigned char *p = malloc((size_t)st.st_size + 1);
    cr_assert_not_null(p);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        cr_assert_gt(r, 0);
        got += (size_t)r;
    }
    close(fd);
    p[got] = 0;
    if (len)
        *len = got;
    return p;
}

void xt_spit(const char *path, const void *data, size_t n, unsigned mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)data + done, n - done);
        cr_assert_gt(w, 0);
        done += (size_t)w;
    }
    fchmod(fd, (mode_t)mode);
    close(fd);
}

/* ---- a proxy that holds back the server's bytes on demand (see fixture.h) ---- */

static int proxy_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *proxy_pump(void *arg)
{
    xt_stall_proxy *x = arg;
    char buf[32768];
    while (!atomic_load(&x->stop)) { /* ends at stop or at either side's EOF */
        int held = atomic_load(&x->hold);
        struct pollfd f[3] = {{x->inner, POLLIN, 0}, {x->server, held ? 0 : POLLIN, 0}, {x->wake[0], POLLIN, 0}};
        if (poll(f, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (f[2].revents) {
            char c[16];
            if (read(x->wake[0], c, sizeof c) <= 0)
                break;
            continue; /* re-read hold/stop */
        }
        if (f[0].revents) {
            unsigned long long cut = atomic_load(&x->cut_up), done = atomic_load(&x->up_n);
            size_t want = sizeof buf;
            if (cut && cut - done < want)
                want = (size_t)(cut - done);
            ssize_t n = want ? read(x->inner, buf, want) : 0;
            if (n <= 0 || proxy_write_all(x->server, buf, (size_t)n) < 0)
                break;
            atomic_fetch_add(&x->up_n, (unsigned long long)n);
            if (cut && done + (unsigned long long)n >= cut)
                break;
        }
        if (f[1].revents && !held) {
            unsigned long long cut = atomic_load(&x->cut_down), done = atomic_load(&x->down_n);
            size_t want = sizeof buf;
            if (cut && cut - done < want)
                want = (size_t)(cut - done);
            ssize_t n = want ? read(x->server, buf, want) : 0;
            if (n <= 0 || proxy_write_all(x->inner, buf, (size_t)n) < 0)
                break;
            atomic_fetch_add(&x->down_n, (unsigned long long)n);
            if (cut && done + (unsigned long long)n >= cut)
                break;
        }
    }
    shutdown(x->server, SHUT_RDWR);
    shutdown(x->inner, SHUT_RDWR);
    return NULL;
}

void xt_stall_proxy_hold(xt_stall_proxy *x, int hold)
{
    atomic_store(&x->hold, hold);
    cr_assert_eq(write(x->wake[1], "h", 1), 1);
}

xssh_session *xt_stall_proxy_start(xt_stall_proxy *x)
{
    memset(x, 0, sizeof *x);
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    cr_assert_eq(pipe(x->wake), 0);
    x->inner = sp[0];
    x->outer = sp[1];
    x->server = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)xt()->port)};
    inet_pton(AF_INET, xt()->host, &a.sin_addr);
    cr_assert_eq(connect(x->server, (struct sockaddr *)&a, sizeof a), 0, "connect to the sshd: %s", strerror(errno));
    cr_assert_eq(pthread_create(&x->thr, NULL, proxy_pump, x), 0);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_session_handshake(s, x->outer), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    return s;
}

void xt_stall_proxy_cut(xt_stall_proxy *x, unsigned long long more_up, unsigned long long more_down)
{
    if (more_up)
        atomic_store(&x->cut_up, atomic_load(&x->up_n) + more_up);
    if (more_down)
        atomic_store(&x->cut_down, atomic_load(&x->down_n) + more_down);
    cr_assert_eq(write(x->wake[1], "c", 1), 1);
}

void xt_stall_proxy_stop(xt_stall_proxy *x)
{
    atomic_store(&x->stop, 1);
    cr_assert_eq(write(x->wake[1], "s", 1), 1);
    pthread_join(x->thr, NULL);
    close(x->inner);
    close(x->outer);
    close(x->server);
    close(x->wake[0]);
    close(x->wake[1]);
}
