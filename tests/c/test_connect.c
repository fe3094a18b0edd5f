/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh_connect against the real sshd, each test in a scratch HOME (Criterion
 * runs each test in its own process, so setenv("HOME") stays in the test):
 * ~/.ssh/config aliases, the agent, default key files, ProxyJump, encrypted
 * keys and passphrases, the failure listing, BatchMode, keyboard-interactive
 * and password through the prompt callback, host-key policies over several
 * known_hosts files, algorithm lists, and logging without secrets.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

/* ---- scratch HOME ---------------------------------------------------------- */

static char home[4096];

static void scratch_home(void)
{
    /* unique across runs too (a worker's pid may repeat that of an earlier run) */
    snprintf(home, sizeof home, "%s/home-XXXXXX", xt()->dir);
    cr_assert_not_null(mkdtemp(home), "mkdtemp %s: %s", home, strerror(errno));
    char ssh[4200];
    snprintf(ssh, sizeof ssh, "%s/.ssh", home);
    cr_assert_eq(mkdir(ssh, 0700), 0);
    setenv("HOME", home, 1);
    unsetenv("SSH_AUTH_SOCK");
}

/* ~/rel (allocated) */
static char *hpath(const char *rel)
{
    char *p = NULL;
    cr_assert_gt(asprintf(&p, "%s/%s", home, rel), 0);
    return p;
}

__attribute__((format(printf, 2, 3))) static void hwrite(const char *rel, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    cr_assert_gt(vasprintf(&text, fmt, ap), -1);
    va_end(ap);
    char *p = hpath(rel);
    xt_spit(p, text, strlen(text), 0600);
    free(p);
    free(text);
}

static void hcopy(const char *src, const char *rel)
{
    size_t n = 0;
    unsigned char *d = xt_slurp(src, &n);
    char *p = hpath(rel);
    xt_spit(p, d, n, 0600);
    free(p);
    free(d);
}

/* a private key and its .pub */
static void hkey(const char *src, const char *rel)
{
    hcopy(src, rel);
    char s2[4200], r2[4200];
    snprintf(s2, sizeof s2, "%s.pub", src);
    snprintf(r2, sizeof r2, "%s.pub", rel);
    hcopy(s2, r2);
}

/* ~/.ssh/config: "testhost" is the test sshd as user `user` (NULL: the key user), plus extra lines */
__attribute__((format(printf, 2, 3))) static void config(const char *user, const char *extra_fmt, ...)
{
    char *extra = NULL;
    va_list ap;
    va_start(ap, extra_fmt);
    cr_assert_gt(vasprintf(&extra, extra_fmt, ap), -1);
    va_end(ap);
    hwrite(".ssh/config", "Host testhost\n  HostName %s\n  Port %d\n  User %s\n%s\n", xt()->host, xt()->port,
           user ? user : xt()->user, extra);
    free(extra);
}

static void known_hosts_default(void) { hcopy(xt()->known_hosts, ".ssh/known_hosts"); }

static void assert_works(xssh_session *s)
{
    int a = 0;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(a, 1, "not authenticated");
    xssh_run_result *res = NULL;
    cr_assert_eq(xssh_session_run(s, "echo connected", NULL, &res), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(res->out, "connected\n");
    xssh_run_result_free(res);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- log capture ------------------------------------------------------------ */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *logbuf;
static size_t loglen;

static void log_cb(int level, const char *host, const char *message, void *ud)
{
    (void)ud;
    char line[4500];
    int n = snprintf(line, sizeof line, "%d [%s] %s\n", level, host, message);
    if (n < 0)
        return;
    pthread_mutex_lock(&log_mu);
    char *nb = realloc(logbuf, loglen + (size_t)n + 1);
    if (nb) {
        logbuf = nb;
        memcpy(logbuf + loglen, line, (size_t)n + 1);
        loglen += (size_t)n;
    }
    pthread_mutex_unlock(&log_mu);
}

static void log_start(int level)
{
    free(logbuf);
    logbuf = calloc(1, 1);
    loglen = 0;
    cr_assert_eq(xssh_log_set(log_cb, NULL, level), XSSH_OK);
}

static const char *log_text(void) { return logbuf ? logbuf : ""; }

static void log_stop(void)
{
    xssh_log_set(NULL, NULL, XSSH_LOG_NONE);
}

static void fini_all(void)
{
    log_stop();
    free(logbuf);
    logbuf = NULL;
}

/* ---- callbacks ---------------------------------------------------------------- */

typedef struct cbdata {
    const char *answer; /* NULL: decline */
    int calls;
    char last_key[4096];
    char last_prompt[256];
} cbdata;

static int passphrase_cb(const char *keyfile, char *buf, size_t size, void *ud)
{
    cbdata *d = ud;
    d->calls++;
    snprintf(d->last_key, sizeof d->last_key, "%s", keyfile);
    cr_assert_geq(size, 1024);
    if (!d->answer)
        return 1;
    snprintf(buf, size, "%s", d->answer);
    return 0;
}

static int prompt_cb(const char *name, const char *instruction, const char *prompt, int echo, char *buf, size_t size,
                     void *ud)
{
    cbdata *d = ud;
    d->calls++;
    cr_assert_not_null(name);
    cr_assert_not_null(instruction);
    snprintf(d->last_prompt, sizeof d->last_prompt, "%s", prompt);
    if (!d->answer)
        return 1;
    snprintf(buf, size, "%s", d->answer);
    return 0;
}

static xssh_options *opts_new(void)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK, "%s", last_msg());
    return o;
}

static void opt(xssh_options *o, const char *k, const char *v)
{
    cr_assert_eq(xssh_options_set(o, k, v), XSSH_OK, "%s=%s: %s", k, v, last_msg());
}

TestSuite(connect, .fini = fini_all);

/* ---- ~/.ssh/config alone -------------------------------------------------------- */

Test(connect, host_alias_from_config_only, .timeout = 60)
{
    scratch_home();
    /* user, port, identity file and known_hosts all come from the file */
    hkey(xt()->key_ed25519, ".ssh/work_key");
    hcopy(xt()->known_hosts, ".ssh/work_known_hosts");
    config(NULL, "  IdentityFile ~/.ssh/work_key\n  UserKnownHostsFile ~/.ssh/work_known_hosts\n");
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
}

/* ---- the agent -------------------------------------------------------------------- */

static pid_t agent_pid;

static void agent_stop(void)
{
    if (agent_pid > 0) {
        kill(agent_pid, SIGTERM);
        agent_pid = 0;
    }
    fini_all();
}

/* start `ssh-agent -a sock` (it forks into the background once the socket
   listens), ssh-add key; sets SSH_AUTH_SOCK */
static void agent_start(const char *key)
{
    /* no heap block may be pending across popen/system: their forked children
       exit without freeing it (valgrind follows them) */
    static char sock[4200];
    snprintf(sock, sizeof sock, "%s/agent.sock", home);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "ssh-agent -s -a '%s'", sock);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[512];
    while (fgets(line, sizeof line, p)) {
        char *at = strstr(line, "SSH_AGENT_PID=");
        if (at)
            agent_pid = (pid_t)atoi(at + strlen("SSH_AGENT_PID="));
    }
    cr_assert_eq(pclose(p), 0, "ssh-agent failed");
    cr_assert_gt(agent_pid, 0, "no SSH_AGENT_PID from ssh-agent");
    setenv("SSH_AUTH_SOCK", sock, 1);
    snprintf(cmd, sizeof cmd, "ssh-add -q '%s' </dev/null 2>&1", key);
    cr_assert_eq(system(cmd), 0, "ssh-add failed");
}

Test(connect, no_arguments_through_agent, .timeout = 60, .fini = agent_stop)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "%s", "");
    agent_start(xt()->key_ed25519);
    log_start(XSSH_LOG_DEBUG);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    cr_assert(strstr(log_text(), "with agent key"), "log:\n%s", log_text());
}

Test(connect, identities_only_does_not_offer_other_agent_keys, .timeout = 60, .fini = agent_stop)
{
    scratch_home();
    known_hosts_default();
    /* the agent holds the authorized key, but IdentitiesOnly names another one */
    hkey(xt()->key_unauthorized, ".ssh/other");
    config(NULL, "  IdentitiesOnly yes\n  IdentityFile ~/.ssh/other\n");
    agent_start(xt()->key_ed25519);
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_null(s);
    cr_assert(strstr(last_msg(), "IdentitiesOnly"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "~/.ssh/other: refused by the server"), "%s", last_msg());
    /* the agent key that IS an IdentityFile is used */
    hkey(xt()->key_ed25519, ".ssh/other");
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

Test(connect, identity_agent_none, .timeout = 60, .fini = agent_stop)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "  IdentityAgent none\n");
    agent_start(xt()->key_ed25519);
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_null(strstr(last_msg(), "agent:"), "%s", last_msg());
}

/* ---- default key files -------------------------------------------------------------- */

Test(connect, default_key_file_only, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "%s", "");
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    log_start(XSSH_LOG_DEBUG);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    cr_assert(strstr(log_text(), "with ~/.ssh/id_ed25519"), "log:\n%s", log_text());
}

Test(connect, user_at_host_and_explicit_options_win, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    /* the file names a user that does not exist; "user@" of the argument wins */
    config("nobody-such-user", "  Port 1\n");
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    xssh_options *o = opts_new();
    char port[16];
    snprintf(port, sizeof port, "%d", xt()->port);
    opt(o, "Port", port);
    char host[512];
    snprintf(host, sizeof host, "%s@testhost", xt()->user);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect(host, o, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    xssh_options_unref(o);
}

/* xssh_connect reads its host string as the multi interface does (xssh_host_parse):
   "user@host:port" and "[host]:port" connect, the port in the string beating the Port
   option and the file, a Host alias still resolves, a bare IPv6 address is a host */
Test(connect, host_string_with_port, .timeout = 90)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    config(NULL, "  Port 1\n");
    xssh_options *o = opts_new();
    opt(o, "Port", "1");
    char host[512];
    const char *fmts[] = {"%s@%s:%d", "%s@[%s]:%d", "%s@testhost:%d"};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        if (i < 2)
            snprintf(host, sizeof host, fmts[i], xt()->user, xt()->host, xt()->port);
        else
            snprintf(host, sizeof host, fmts[i], xt()->user, xt()->port);
        xssh_session *s = NULL;
        cr_assert_eq(xssh_connect(host, o, &s), XSSH_OK, "%s: %s", host, last_msg());
        assert_works(s);
        xssh_session_unref(s);
    }
    /* without a user: the options' User */
    snprintf(host, sizeof host, "%s:%d", xt()->host, xt()->port);
    opt(o, "User", xt()->user);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect(host, o, &s), XSSH_OK, "%s: %s", host, last_msg());
    assert_works(s);
    xssh_session_unref(s);
    /* what `ssh -G` prints for them: nothing connects here */
    char *t = NULL;
    cr_assert_eq(xssh_options_resolve(NULL, "::1", &t), XSSH_OK, "%s", last_msg());
    cr_assert(strstr(t, "hostname ::1\n") && strstr(t, "port 22\n"), "%s", t);
    xssh_free(t);
    cr_assert_eq(xssh_options_resolve(NULL, "me@[::1]:2200", &t), XSSH_OK, "%s", last_msg());
    cr_assert(strstr(t, "hostname ::1\n") && strstr(t, "port 2200\n") && strstr(t, "user me\n"), "%s", t);
    xssh_free(t);
    /* a malformed string is refused with what is wrong, before any connection */
    cr_assert_eq(xssh_connect("h:99999", NULL, &s), XSSH_EARG);
    cr_assert(strstr(last_msg(), "'h:99999'") && strstr(last_msg(), "1..65535"), "%s", last_msg());
    cr_assert_null(s);
    xssh_options_unref(o);
}

Test(connect, bind_address_and_address_family, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    config(NULL, "  BindAddress 127.0.0.1\n  AddressFamily inet\n");
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    s = NULL;
    /* an address this host does not have: the bind fails, and the message says so */
    config(NULL, "  BindAddress 192.0.2.1\n");
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_ECONNECT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "BindAddress"), "%s", last_msg());
    cr_assert_null(s);
    /* an IPv4 address asked for as IPv6 */
    config(NULL, "  AddressFamily inet6\n");
    rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_ERESOLVE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "IPv6"), "%s", last_msg());
    /* an unknown name that no Host block renames */
    rc = xssh_connect("no-such-host.invalid", NULL, &s);
    cr_assert_eq(rc, XSSH_ERESOLVE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "no-such-host.invalid"), "%s", last_msg());
}

/* ---- ProxyJump ----------------------------------------------------------------------- */

Test(connect, proxy_jump_from_config, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    hwrite(".ssh/config",
           "Host jumphost\n  HostName %s\n  Port %d\n  User %s\n"
           "Host target\n  HostName %s\n  Port %d\n  User %s\n  ProxyJump jumphost\n",
           xt()->host, xt()->port, xt()->user, xt()->host, xt()->port, xt()->user);
    log_start(XSSH_LOG_DEBUG);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("target", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    cr_assert(strstr(log_text(), "[target] ProxyJump hop 1 of 1"), "log:\n%s", log_text());
    cr_assert(strstr(log_text(), "[jumphost] authenticated as"), "log:\n%s", log_text());
    cr_assert(strstr(log_text(), "through the previous hop"), "log:\n%s", log_text());
}

Test(connect, proxy_jump_two_hops_and_a_bad_hop, .timeout = 90)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    hwrite(".ssh/config",
           "Host j1 j2 target\n  HostName %s\n  Port %d\n  User %s\n"
           "Host target\n  ProxyJump j1,j2\n"
           "Host bad\n  HostName %s\n  Port %d\n  User %s\n  ProxyJump %s@%s:1\n",
           xt()->host, xt()->port, xt()->user, xt()->host, xt()->port, xt()->user, xt()->user, xt()->host);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("target", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    /* a hop that cannot be reached: the error names the hop and the cause */
    int rc = xssh_connect("bad", NULL, &s);
    cr_assert_eq(rc, XSSH_ECONNECT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "ProxyJump hop"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "port 1"), "%s", last_msg());
    cr_assert_null(s);
}

/* hops written as URIs and with brackets (read by xssh_host_parse, as the target) */
Test(connect, proxy_jump_uri_and_bracketed_hops, .timeout = 90)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    hwrite(".ssh/config",
           "Host target\n  HostName %s\n  Port %d\n  User %s\n  ProxyJump ssh://%s@[%s]:%d,%s@[%s]:%d\n",
           xt()->host, xt()->port, xt()->user, xt()->user, xt()->host, xt()->port, xt()->user, xt()->host,
           xt()->port);
    log_start(XSSH_LOG_DEBUG);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("target", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    cr_assert(strstr(log_text(), "[target] ProxyJump hop 2 of 2"), "log:\n%s", log_text());
}

/* ---- encrypted keys ---------------------------------------------------------------- */

Test(connect, encrypted_default_key, .timeout = 90)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "%s", "");
    hkey(xt()->key_encrypted, ".ssh/id_ed25519");
    xssh_session *s = NULL;
    /* without a passphrase: skipped, and said so */
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "~/.ssh/id_ed25519: encrypted, no passphrase given"), "%s", last_msg());
    cr_assert_null(s);

    /* the Passphrase option */
    xssh_options *o = opts_new();
    opt(o, "Passphrase", xt()->key_passphrase);
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    s = NULL;
    xssh_options_unref(o);

    /* a wrong one */
    o = opts_new();
    opt(o, "Passphrase", "not-the-passphrase");
    rc = xssh_connect("testhost", o, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "~/.ssh/id_ed25519: wrong passphrase"), "%s", last_msg());
    xssh_options_unref(o);

    /* the callback: right, wrong, declined */
    cbdata d = {xt()->key_passphrase, 0, "", ""};
    o = opts_new();
    cr_assert_eq(xssh_options_set_passphrase_cb(o, passphrase_cb, &d), XSSH_OK);
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(d.calls, 1);
    char *want = hpath(".ssh/id_ed25519");
    cr_assert_str_eq(d.last_key, want);
    free(want);
    xssh_session_unref(s);
    s = NULL;
    d.answer = "wrong";
    rc = xssh_connect("testhost", o, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "%s", last_msg());
    cr_assert(strstr(last_msg(), "wrong passphrase"), "%s", last_msg());
    d.answer = NULL;
    rc = xssh_connect("testhost", o, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "%s", last_msg());
    cr_assert(strstr(last_msg(), "encrypted, no passphrase given"), "%s", last_msg());
    xssh_options_unref(o);
}

Test(connect, userauth_fromfile_says_encrypted_or_wrong_passphrase, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_encrypted, NULL, NULL);
    cr_assert_eq(rc, XSSH_EKEYFILE_AUTH_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "is encrypted and no passphrase was given"), "%s", last_msg());
    rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_encrypted, NULL, "nope");
    cr_assert_eq(rc, XSSH_EKEYFILE_AUTH_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "wrong passphrase for private key"), "%s", last_msg());
    /* the same from memory */
    size_t n = 0;
    unsigned char *priv = xt_slurp(xt()->key_encrypted, &n);
    rc = xssh_session_userauth_publickey_frommemory(s, xt()->user, priv, n, NULL, 0, NULL);
    cr_assert_eq(rc, XSSH_EKEYFILE_AUTH_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "is encrypted and no passphrase was given"), "%s", last_msg());
    rc = xssh_session_userauth_publickey_frommemory(s, xt()->user, priv, n, NULL, 0, "nope");
    cr_assert(strstr(last_msg(), "wrong passphrase"), "%s", last_msg());
    free(priv);
    xssh_session_unref(s);
}

/* ---- nothing usable ------------------------------------------------------------------ */

Test(connect, no_credentials_fails_fast_listing_what_was_tried, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "  IdentityFile ~/.ssh/missing_key\n");
    hkey(xt()->key_unauthorized, ".ssh/id_ecdsa_not_default"); /* not a default name: never tried */
    xssh_options *o = opts_new();
    opt(o, "Timeout", "30"); /* a wait would show: the chain makes none */
    int64_t t0 = now_ms();
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", o, &s);
    int64_t took = now_ms() - t0;
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_null(s);
    const char *m = last_msg();
    cr_assert(strstr(m, "~/.ssh/missing_key: not found"), "%s", m);
    cr_assert(strstr(m, "keyboard-interactive: no password or prompt callback given"), "%s", m);
    cr_assert(strstr(m, "password: no password or prompt callback given"), "%s", m);
    cr_assert(strstr(m, xt()->user), "%s", m);
    /* no 30 s wait anywhere: a handshake and one "none" request (the issue asks for < 1 s;
       a generous bound keeps the test independent of the machine's load) */
    cr_assert_lt(took, xt_valgrind() ? 25000 : 10000, "took %lld ms", (long long)took);
    cr_log_info("no-credentials failure took %lld ms", (long long)took);
    xssh_options_unref(o);
}

Test(connect, refused_key_is_listed, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "%s", "");
    hkey(xt()->key_unauthorized, ".ssh/id_ed25519");
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "~/.ssh/id_ed25519: refused by the server"), "%s", last_msg());
}

Test(connect, rsa_key_refused_says_why, .timeout = 60)
{
    if (xssh_features() & XSSH_FEATURE_RSA_SHA2)
        cr_skip_test("this libssh2 signs with RSA-SHA2");
    scratch_home();
    known_hosts_default();
    config(NULL, "%s", "");
    hkey(xt()->key_rsa, ".ssh/id_rsa");
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "~/.ssh/id_rsa: RSA key refused"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "RSA-SHA2"), "%s", last_msg());
}

Test(connect, batch_mode_never_uses_password_or_prompts, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    config(xt_have_password() ? xt()->pw_user : NULL, "  BatchMode yes\n");
    cbdata d = {"whatever", 0, "", ""};
    xssh_options *o = opts_new();
    opt(o, "Password", xt_have_password() ? xt()->password : "pw");
    cr_assert_eq(xssh_options_set_prompt_cb(o, prompt_cb, &d), XSSH_OK);
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", o, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "keyboard-interactive: not used in BatchMode"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "password: not used in BatchMode"), "%s", last_msg());
    cr_assert_eq(d.calls, 0);
    xssh_options_unref(o);
}

/* ---- keyboard-interactive and password ---------------------------------------------- */

static void need_password(void)
{
    if (!xt_have_password())
        cr_skip_test("no password account (the harness creates one when run as root)");
}

Test(connect, keyboard_interactive_through_prompt_callback, .timeout = 60)
{
    need_password();
    scratch_home();
    known_hosts_default();
    config(xt()->pw_user, "  PreferredAuthentications keyboard-interactive\n");
    cbdata d = {xt()->password, 0, "", ""};
    xssh_options *o = opts_new();
    cr_assert_eq(xssh_options_set_prompt_cb(o, prompt_cb, &d), XSSH_OK);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
    cr_assert_geq(d.calls, 1);
    cr_assert(strcasestr(d.last_prompt, "password"), "prompt '%s'", d.last_prompt);
    assert_works(s);
    xssh_session_unref(s);
    xssh_options_unref(o);
}

Test(connect, password_option_and_password_method, .timeout = 60)
{
    need_password();
    scratch_home();
    known_hosts_default();
    config(xt()->pw_user, "  PreferredAuthentications password\n");
    xssh_options *o = opts_new();
    opt(o, "Password", xt()->password);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    xssh_options_unref(o);
    /* the prompt callback answers "Password: " for the password method */
    cbdata d = {xt()->password, 0, "", ""};
    o = opts_new();
    cr_assert_eq(xssh_options_set_prompt_cb(o, prompt_cb, &d), XSSH_OK);
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(d.calls, 1);
    cr_assert_str_eq(d.last_prompt, "Password: ");
    xssh_session_unref(s);
    xssh_options_unref(o);
}

/* PreferredAuthentications with no method xssh can use authenticates with nothing, as ssh
   ("Permission denied"), never with every method; the message lists what was configured */
Test(connect, preferred_authentications_none_usable_fails, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    config(NULL, "  PreferredAuthentications gssapi-with-mic,hostbased,bogus\n");
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_null(s);
    cr_assert(strstr(last_msg(), "no method of PreferredAuthentications (gssapi-with-mic,hostbased,bogus) is usable"),
              "%s", last_msg());
}

/* ---- host keys ------------------------------------------------------------------------ */
/* HostKeyAlias: known_hosts is looked up and written under the alias, with no [ ]:port */
Test(connect, host_key_alias_names_the_known_hosts_record, .timeout = 60)
{
    scratch_home();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    /* the test known_hosts with every "[127.0.0.1]:port" name replaced by "hka" */
    size_t n = 0;
    char *src = (char *)xt_slurp(xt()->known_hosts, &n);
    char *out = calloc(1, n * 2 + 16);
    cr_assert_not_null(out);
    for (char *save = NULL, *l = strtok_r(src, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(l, ' ');
        if (!sp || *l == '#')
            continue;
        strcat(out, "hka");
        strcat(out, sp);
        strcat(out, "\n");
    }
    free(src);
    hwrite(".ssh/known_hosts", "%s", out);
    free(out);
    config(NULL, "  HostKeyAlias hka\n  StrictHostKeyChecking yes\n  GlobalKnownHostsFile none\n");
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    assert_works(s);
    xssh_session_unref(s);
    /* learnt under the alias (accept-new, empty file): "hka <key>", no host or port */
    char *kh = hpath(".ssh/known_hosts");
    unlink(kh);
    config(NULL, "  HostKeyAlias hka\n  StrictHostKeyChecking accept-new\n  GlobalKnownHostsFile none\n  HashKnownHosts no\n");
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    char *text = (char *)xt_slurp(kh, &n);
    cr_assert_eq(strncmp(text, "hka ", 4), 0, "known_hosts: %s", text);
    cr_assert_null(strstr(text, "127.0.0.1"), "known_hosts: %s", text);
    free(text);
    free(kh);
}


Test(connect, host_key_policies_over_user_and_global_files, .timeout = 90)
{
    scratch_home();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    char *user_kh = hpath(".ssh/known_hosts");
    /* strict and an empty known_hosts: refused, naming the files */
    config(NULL, "  GlobalKnownHostsFile %s/global_kh\n  StrictHostKeyChecking yes\n", home);
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "global_kh"), "%s", last_msg());
    /* known from the global file only: accepted, nothing written */
    hcopy(xt()->known_hosts, "global_kh");
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    struct stat st;
    cr_assert_neq(stat(user_kh, &st), 0, "the user file was written");
    /* accept-new with HashKnownHosts: learnt, hashed, then known */
    char *g = hpath("global_kh");
    unlink(g);
    config(NULL, "  GlobalKnownHostsFile %s/global_kh\n  StrictHostKeyChecking accept-new\n  HashKnownHosts yes\n", home);
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    size_t n = 0;
    char *kh = (char *)xt_slurp(user_kh, &n);
    cr_assert(strstr(kh, "|1|"), "not hashed: %s", kh);
    cr_assert_null(strstr(kh, "127.0.0.1"), "name in clear: %s", kh);
    free(kh);
    config(NULL, "  GlobalKnownHostsFile %s/global_kh\n  StrictHostKeyChecking yes\n", home);
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    /* a changed key is refused even with StrictHostKeyChecking no */
    char line[512];
    snprintf(line, sizeof line, "[%s]:%d ", xt()->host, xt()->port);
    size_t pn = 0;
    char pubpath[4200];
    snprintf(pubpath, sizeof pubpath, "%s.pub", xt()->key_unauthorized);
    char *pub = (char *)xt_slurp(pubpath, &pn);
    char *sp2 = strchr(strchr(pub, ' ') + 1, ' ');
    if (sp2)
        *sp2 = '\0';
    hwrite(".ssh/known_hosts", "%s%s\n", line, pub);
    free(pub);
    config(NULL, "  GlobalKnownHostsFile %s/global_kh\n  StrictHostKeyChecking no\n", home);
    rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_null(s);
    /* StrictHostKeyChecking no with an unknown host: learnt */
    unlink(user_kh);
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    cr_assert_eq(stat(user_kh, &st), 0);
    /* UserKnownHostsFile none: strict refuses an unknown key; accept-new takes it
       for this connection without recording it (as ssh) */
    config(NULL, "  UserKnownHostsFile none\n  GlobalKnownHostsFile %s/global_kh\n  StrictHostKeyChecking yes\n",
           home);
    rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    config(NULL, "  UserKnownHostsFile none\n  GlobalKnownHostsFile %s/global_kh\n  StrictHostKeyChecking accept-new\n",
           home);
    log_start(XSSH_LOG_WARNING);
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    cr_assert(strstr(log_text(), "accepted but not recorded"), "%s", log_text());
    cr_assert_neq(stat(g, &st), 0, "the global file was written");
    free(g);
    free(user_kh);
}

/* ---- algorithms ------------------------------------------------------------------------ */

Test(connect, algorithm_lists, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    config(NULL, "  Ciphers aes256-ctr\n  MACs hmac-sha2-512\n  Compression yes\n");
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    char *m = NULL;
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_CRYPT_CS, &m), XSSH_OK);
    cr_assert_str_eq(m, "aes256-ctr");
    xssh_free(m);
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_MAC_SC, &m), XSSH_OK);
    cr_assert_str_eq(m, "hmac-sha2-512");
    xssh_free(m);
    assert_works(s);
    xssh_session_unref(s);
    /* nothing libssh2 supports: a clear configuration error before any connection */
    config(NULL, "  Ciphers chacha20-poly1305@openssh.com\n");
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_ECONFIG, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "Ciphers"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "aes256-ctr"), "the supported list is named: %s", last_msg());
}

/* ---- ServerAliveInterval ---------------------------------------------------------------- */

Test(connect, server_alive_quiet_command_is_not_dead, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    /* probes after 1 s of silence are answered: a 3 s quiet command completes */
    config(NULL, "  ServerAliveInterval 1\n  ServerAliveCountMax 1\n");
    log_start(XSSH_LOG_DEBUG);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    cr_assert(strstr(log_text(), "ServerAliveInterval 1, ServerAliveCountMax 1"), "%s", log_text());
    xssh_run_result *res = NULL;
    cr_assert_eq(xssh_session_run(s, "sleep 3; echo done", NULL, &res), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(res->out, "done\n");
    xssh_run_result_free(res);
    xssh_session_unref(s);
}

/* A TCP proxy in front of the test sshd that can hold back everything the
   server sends (hold = 1): a dead peer, forced. One connection. */
typedef struct tcp_proxy {
    int lfd, port;
    atomic_int hold, stop;
    int wake[2];
    pthread_t thr;
} tcp_proxy;

static void *tcp_proxy_run(void *arg)
{
    tcp_proxy *x = arg;
    struct pollfd lp[2] = {{x->lfd, POLLIN, 0}, {x->wake[0], POLLIN, 0}};
    if (poll(lp, 2, -1) <= 0 || !(lp[0].revents & POLLIN))
        return NULL;
    int c = accept(x->lfd, NULL, NULL);
    int sv = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)xt()->port);
    inet_pton(AF_INET, xt()->host, &a.sin_addr);
    if (c < 0 || sv < 0 || connect(sv, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    char buf[65536];
    while (!atomic_load(&x->stop)) {
        int held = atomic_load(&x->hold);
        struct pollfd p[3] = {{c, POLLIN, 0}, {sv, held ? 0 : POLLIN, 0}, {x->wake[0], POLLIN, 0}};
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (p[2].revents & POLLIN) {
            char w[16];
            if (read(x->wake[0], w, sizeof w) <= 0)
                break;
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0 || write(sv, buf, (size_t)n) != n)
                break;
        }
        if (!held && (p[1].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(sv, buf, sizeof buf);
            if (n <= 0 || write(c, buf, (size_t)n) != n)
                break;
        }
    }
out:
    if (c >= 0)
        close(c);
    if (sv >= 0)
        close(sv);
    return NULL;
}

static void tcp_proxy_start(tcp_proxy *x)
{
    memset(x, 0, sizeof *x);
    x->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t al = sizeof a;
    cr_assert_eq(bind(x->lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(x->lfd, 1), 0);
    cr_assert_eq(getsockname(x->lfd, (struct sockaddr *)&a, &al), 0);
    x->port = ntohs(a.sin_port);
    cr_assert_eq(pipe(x->wake), 0);
    cr_assert_eq(pthread_create(&x->thr, NULL, tcp_proxy_run, x), 0);
}

static void tcp_proxy_set(tcp_proxy *x, atomic_int *flag, int v)
{
    atomic_store(flag, v);
    cr_assert_eq(write(x->wake[1], "w", 1), 1);
}

static void tcp_proxy_stop(tcp_proxy *x)
{
    tcp_proxy_set(x, &x->stop, 1);
    pthread_join(x->thr, NULL);
    close(x->lfd);
    close(x->wake[0]);
    close(x->wake[1]);
}

typedef struct hold_on_output {
    tcp_proxy *x;
    int seen;
} hold_on_output;

static int hold_cb(int stream, const char *data, size_t len, void *ud)
{
    hold_on_output *h = ud;
    if (!h->seen && len) {
        h->seen = 1;
        tcp_proxy_set(h->x, &h->x->hold, 1); /* from now on the server seems dead */
    }
    return 0;
}

Test(connect, server_alive_detects_a_dead_peer, .timeout = 120)
{
    scratch_home();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    tcp_proxy x;
    tcp_proxy_start(&x);
    /* the host key recorded for the proxy's port */
    size_t n = 0;
    char *kh = (char *)xt_slurp(xt()->known_hosts, &n);
    char *key = strchr(kh, ' ');
    cr_assert_not_null(key);
    hwrite(".ssh/known_hosts", "[127.0.0.1]:%d%s", x.port, key);
    free(kh);
    hwrite(".ssh/config", "Host deadhost\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  ServerAliveInterval 1\n"
                          "  ServerAliveCountMax 2\n", x.port, xt()->user);
    xssh_session *s = NULL;
    log_start(XSSH_LOG_DEBUG);
    cr_assert_eq(xssh_connect("deadhost", NULL, &s), XSSH_OK, "%s", last_msg());
    hold_on_output h = {&x, 0};
    xssh_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.timeout_ms = 90000; /* only a bound: the probe must end it long before */
    int rc = xssh_session_run_stream(s, "echo started; exec sleep 100", &ro, hold_cb, &h, NULL, NULL, NULL);
    cr_assert_eq(rc, XSSH_ETIMEOUT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(h.seen);
    cr_assert(strstr(last_msg(), "presumed dead"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "ServerAliveInterval"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "within 2000 ms more"), "interval x count max: %s", last_msg());
    cr_assert(strstr(log_text(), "[deadhost] nothing from the server for 1000 ms: keepalive probe sent"), "%s",
              log_text());
    cr_assert(strstr(log_text(), "presumed dead"), "%s", log_text());
    xssh_session_close(s);
    xssh_session_unref(s);
    tcp_proxy_stop(&x);
}

/* ---- logging ------------------------------------------------------------------------------ */

Test(connect, log_set_rejects_bad_levels)
{
    cr_assert_eq(xssh_log_set(log_cb, NULL, 6), XSSH_EARG);
    cr_assert_eq(xssh_log_set(log_cb, NULL, -1), XSSH_EARG);
    cr_assert_eq(xssh_log_set(NULL, NULL, XSSH_LOG_TRACE), XSSH_OK);
}

Test(connect, log_has_host_and_no_secret, .timeout = 90)
{
    scratch_home();
    known_hosts_default();
    /* an encrypted key with its passphrase (right, then wrong) */
    config(NULL, "%s", "");
    hkey(xt()->key_encrypted, ".ssh/id_ed25519");
    log_start(XSSH_LOG_TRACE);
    xssh_options *o = opts_new();
    opt(o, "Passphrase", xt()->key_passphrase);
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    xssh_options_unref(o);
    o = opts_new();
    opt(o, "Passphrase", "wrong-Secret-phrase-42");
    cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_EAUTHENTICATION_FAILED, "%s", last_msg());
    cr_assert_null(strstr(last_msg(), "wrong-Secret-phrase-42"), "%s", last_msg());
    xssh_options_unref(o);
    /* a password login, and a wrong password through keyboard-interactive */
    if (xt_have_password()) {
        config(xt()->pw_user, "  PreferredAuthentications password\n");
        o = opts_new();
        opt(o, "Password", xt()->password);
        cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_OK, "%s", last_msg());
        xssh_session_unref(s);
        xssh_options_unref(o);
        config(xt()->pw_user, "  PreferredAuthentications keyboard-interactive\n");
        o = opts_new();
        opt(o, "Password", "wrong-Secret-pw-42");
        cr_assert_eq(xssh_connect("testhost", o, &s), XSSH_EAUTHENTICATION_FAILED, "%s", last_msg());
        cr_assert_null(strstr(last_msg(), "wrong-Secret-pw-42"), "%s", last_msg());
        xssh_options_unref(o);
    }
    log_stop();
    const char *t = log_text();
    cr_assert(strstr(t, "[testhost] "), "records carry the host:\n%s", t);
    cr_assert(strstr(t, "configuration: reading "), "config decisions are logged:\n%s", t);
    cr_assert(strstr(t, "Host block applies"), "config decisions are logged:\n%s", t);
    cr_assert(strstr(t, "authenticated as"), "%s", t);
    cr_assert(strstr(t, "host key"), "%s", t);
    cr_assert_null(strstr(t, xt()->key_passphrase), "the passphrase is in the log:\n%s", t);
    cr_assert_null(strstr(t, "wrong-Secret-phrase-42"), "a passphrase is in the log:\n%s", t);
    if (xt_have_password()) {
        cr_assert(strstr(t, "with a password"), "%s", t);
        cr_assert_null(strstr(t, xt()->password), "the password is in the log:\n%s", t);
        cr_assert_null(strstr(t, "wrong-Secret-pw-42"), "a password is in the log:\n%s", t);
    }
}

Test(connect, silent_by_default_and_after_reset, .timeout = 60)
{
    scratch_home();
    known_hosts_default();
    config(NULL, "%s", "");
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    log_start(XSSH_LOG_ERROR); /* only errors: a successful connect logs nothing */
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    cr_assert_eq(loglen, 0, "logged: %s", log_text());
    log_stop();
    cr_assert_eq(xssh_connect("testhost", NULL, &s), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    cr_assert_eq(loglen, 0);
}

Test(connect, bad_arguments)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_connect(NULL, NULL, &s), XSSH_EARG);
    cr_assert_eq(xssh_connect("", NULL, &s), XSSH_EARG);
    cr_assert_eq(xssh_connect("x", NULL, NULL), XSSH_EARG);
}

/* A known_hosts file that exists but cannot be read (here a directory: EISDIR;
   EMFILE under a low RLIMIT_NOFILE takes the same path) is not "no entry":
   accept-new must not take the key as new and learn it, strict must not say
   "not in known_hosts"; both fail naming the file and the errno. */
Test(connect, unreadable_known_hosts_fails_closed, .timeout = 60)
{
    scratch_home();
    hkey(xt()->key_ed25519, ".ssh/id_ed25519");
    char *user_kh = hpath(".ssh/known_hosts");
    cr_assert_eq(mkdir(user_kh, 0700), 0, "%s", strerror(errno));
    const char *policies[] = {"accept-new", "no", "yes"};
    for (size_t i = 0; i < 3; i++) {
        config(NULL, "  GlobalKnownHostsFile none\n  StrictHostKeyChecking %s\n", policies[i]);
        xssh_session *s = NULL;
        int rc = xssh_connect("testhost", NULL, &s);
        cr_assert_eq(rc, XSSH_EKNOWNHOST_READFILE, "%s: got %s: %s", policies[i], xssh_err_name(rc), last_msg());
        cr_assert_null(s);
        cr_assert(strstr(last_msg(), user_kh), "%s", last_msg());
        cr_assert(strstr(last_msg(), strerror(EISDIR)), "%s", last_msg());
        cr_assert_null(strstr(last_msg(), "not in"), "%s", last_msg());
    }
    /* an unreadable global file next to a good user file: still refused */
    cr_assert_eq(rmdir(user_kh), 0, "%s", strerror(errno));
    known_hosts_default();
    char *g = hpath("global_kh");
    cr_assert_eq(mkdir(g, 0700), 0, "%s", strerror(errno));
    config(NULL, "  GlobalKnownHostsFile %s\n  StrictHostKeyChecking accept-new\n", g);
    xssh_session *s = NULL;
    int rc = xssh_connect("testhost", NULL, &s);
    cr_assert_eq(rc, XSSH_EKNOWNHOST_READFILE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), g), "%s", last_msg());
    free(g);
    free(user_kh);
}
