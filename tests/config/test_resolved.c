/* SPDX-License-Identifier: BSD-3-Clause */
/* The resolved view connect.c works from (capi/src/config_internal.h):
 * xssh__resolve() fills struct xssh__resolved from the same parser the ssh -G
 * comparison checks; this test pins down how every field maps. Linked with the
 * static copy of capi/src (xssh_fuzzlib) to reach the internal function. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config_internal.h"
#include "internal.h"

static char home[256];

static void setup(void)
{
    snprintf(home, sizeof home, "/tmp/xssh-test-resolved-XXXXXX");
    cr_assert_not_null(mkdtemp(home));
    setenv("HOME", home, 1);
    setenv("SSH_AUTH_SOCK", "/tmp/agent.sock", 1);
}

static void teardown(void) { rmdir(home); }

TestSuite(resolved, .init = setup, .fini = teardown);

static xssh_options *opts_text(const char *text)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK);
    cr_assert_eq(xssh_options_set_config_text(o, text, "t"), XSSH_OK, "%s", xssh_error_last()->message);
    return o;
}

static xssh__resolved *res(xssh_options *o, const char *host)
{
    xssh__resolved *r = NULL;
    int rc = xssh__resolve(o, host, &r);
    cr_assert_eq(rc, XSSH_OK, "%s: %s", host, xssh_error_last()->message);
    cr_assert_not_null(r);
    return r;
}

static int dummy_pp(const char *k, char *b, size_t n, void *u) { return 1; }
static int dummy_pr(const char *a, const char *b, const char *c, int e, char *buf, size_t n, void *u) { return 1; }

Test(resolved, defaults)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    xssh__resolved *r = res(o, "Some.Host");
    cr_assert_str_eq(r->host_arg, "Some.Host");
    cr_assert_str_eq(r->hostname, "some.host");
    cr_assert_eq(r->port, 22);
    cr_assert_not_null(r->user);
    cr_assert_eq(r->identity_files.n, 7);
    cr_assert_eq(r->identity_files_explicit, 0);
    char want[512];
    snprintf(want, sizeof want, "%s/.ssh/id_rsa", home);
    cr_assert_str_eq(r->identity_files.v[0], want);
    snprintf(want, sizeof want, "%s/.ssh/id_ed25519", home);
    cr_assert_str_eq(r->identity_files.v[3], want);
    cr_assert_eq(r->identities_only, 0);
    cr_assert_null(r->identity_agent);
    cr_assert_eq(r->proxy_jump.n, 0);
    cr_assert_eq(r->user_known_hosts_files.n, 2);
    snprintf(want, sizeof want, "%s/.ssh/known_hosts", home);
    cr_assert_str_eq(r->user_known_hosts_files.v[0], want);
    cr_assert_eq(r->global_known_hosts_files.n, 2);
    cr_assert_str_eq(r->global_known_hosts_files.v[0], "/etc/ssh/ssh_known_hosts");
    cr_assert_eq(r->strict_host_key_checking, XSSH_HOSTKEY_STRICT);
    cr_assert_eq(r->hash_known_hosts, 0);
    cr_assert_eq(r->connect_timeout_s, 0);
    cr_assert_eq(r->server_alive_interval_s, 0);
    cr_assert_eq(r->server_alive_count_max, 3);
    cr_assert_eq(r->compression, 0);
    cr_assert(strncmp(r->ciphers, "chacha20-poly1305@openssh.com,aes128-ctr,", 41) == 0);
    cr_assert(strncmp(r->kex_algorithms, "sntrup761x25519-sha512,", 23) == 0);
    cr_assert(strncmp(r->host_key_algorithms, "ssh-ed25519-cert-v01@openssh.com,", 33) == 0);
    cr_assert(strncmp(r->macs, "umac-64-etm@openssh.com,", 24) == 0);
    cr_assert_eq(r->batch_mode, 0);
    cr_assert_eq(r->address_family, AF_UNSPEC);
    cr_assert_null(r->bind_address);
    cr_assert_str_eq(r->preferred_authentications, "publickey,keyboard-interactive,password");
    cr_assert_null(r->preferred_authentications_given);
    cr_assert_null(r->host_key_alias);
    cr_assert_eq(r->pubkey_authentication, 1);
    cr_assert_eq(r->password_authentication, 1);
    cr_assert_eq(r->kbd_interactive_authentication, 1);
    cr_assert_eq(r->timeout_ms, XSSH__DEFAULT_TIMEOUT_MS); /* "Timeout" not given */
    cr_assert_null(r->password);
    cr_assert_null(r->passphrase);
    cr_assert_null(r->passphrase_cb);
    cr_assert_null(r->prompt_cb);
    xssh__resolved_free(r);
    /* NULL options: the default files (none here: the scratch home is empty) */
    r = res(NULL, "u@h");
    cr_assert_str_eq(r->user, "u");
    xssh__resolved_free(r);
    xssh_options_unref(o);
}

Test(resolved, every_field_from_the_file)
{
    xssh_options *o = opts_text("Host a\n"
                                "  HostName 10.1.2.3\n"
                                "  User fu\n"
                                "  Port 2200\n"
                                "  IdentityFile ~/.ssh/k1\n"
                                "  IdentityFile /abs/%r\n"
                                "  IdentitiesOnly yes\n"
                                "  IdentityAgent ~/agent.sock\n"
                                "  ProxyJump j1,ju@j2:2022,[fe80::1]:22,ssh://uu@j4\n"
                                "  UserKnownHostsFile none\n"
                                "  GlobalKnownHostsFile /g1\n"
                                "  StrictHostKeyChecking accept-new\n"
                                "  HashKnownHosts yes\n"
                                "  ConnectTimeout 1m\n"
                                "  ServerAliveInterval 15\n"
                                "  ServerAliveCountMax 0\n"
                                "  Compression yes\n"
                                "  Ciphers aes256-ctr\n"
                                "  KexAlgorithms curve25519-sha256\n"
                                "  HostKeyAlgorithms ssh-ed25519\n"
                                "  MACs hmac-sha2-256\n"
                                "  BatchMode yes\n"
                                "  AddressFamily inet6\n"
                                "  BindAddress ::1\n"
                                "  HostKeyAlias KeyAlias-%h\n"
                                "  PreferredAuthentications gssapi-with-mic,password,hostbased,publickey,password\n"
                                "  PubkeyAuthentication host-bound\n"
                                "  PasswordAuthentication no\n"
                                "  ChallengeResponseAuthentication no\n");
    cr_assert_eq(xssh_options_set(o, "Timeout", "1.5"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Password", "pw"), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "Passphrase", "pp"), XSSH_OK);
    cr_assert_eq(xssh_options_set_passphrase_cb(o, dummy_pp, (void *)7), XSSH_OK);
    cr_assert_eq(xssh_options_set_prompt_cb(o, dummy_pr, (void *)8), XSSH_OK);
    xssh__resolved *r = res(o, "a");
    cr_assert_str_eq(r->hostname, "10.1.2.3");
    cr_assert_str_eq(r->user, "fu");
    cr_assert_eq(r->port, 2200);
    cr_assert_eq(r->identity_files.n, 2);
    char want[512];
    snprintf(want, sizeof want, "%s/.ssh/k1", home);
    cr_assert_str_eq(r->identity_files.v[0], want);
    cr_assert_str_eq(r->identity_files.v[1], "/abs/fu");
    cr_assert_eq(r->identity_files_explicit, 1);
    cr_assert_eq(r->identities_only, 1);
    snprintf(want, sizeof want, "%s/agent.sock", home);
    cr_assert_str_eq(r->identity_agent, want);
    cr_assert_eq(r->proxy_jump.n, 4);
    cr_assert_str_eq(r->proxy_jump.v[0], "j1");
    cr_assert_str_eq(r->proxy_jump.v[1], "ju@j2:2022");
    cr_assert_str_eq(r->proxy_jump.v[2], "[fe80::1]:22");
    cr_assert_str_eq(r->proxy_jump.v[3], "uu@j4");
    cr_assert_eq(r->user_known_hosts_files.n, 1);
    cr_assert_str_eq(r->user_known_hosts_files.v[0], "none");
    cr_assert_eq(r->global_known_hosts_files.n, 1);
    cr_assert_str_eq(r->global_known_hosts_files.v[0], "/g1");
    cr_assert_eq(r->strict_host_key_checking, XSSH_HOSTKEY_ACCEPT_NEW);
    cr_assert_eq(r->hash_known_hosts, 1);
    cr_assert_eq(r->connect_timeout_s, 60);
    cr_assert_eq(r->server_alive_interval_s, 15);
    cr_assert_eq(r->server_alive_count_max, 0);
    cr_assert_eq(r->compression, 1);
    cr_assert_str_eq(r->ciphers, "aes256-ctr");
    cr_assert_str_eq(r->kex_algorithms, "curve25519-sha256");
    cr_assert_str_eq(r->host_key_algorithms, "ssh-ed25519");
    cr_assert_str_eq(r->macs, "hmac-sha2-256");
    cr_assert_eq(r->batch_mode, 1);
    cr_assert_eq(r->address_family, AF_INET6);
    cr_assert_str_eq(r->bind_address, "::1");
    cr_assert_str_eq(r->preferred_authentications, "password,publickey");
    cr_assert_str_eq(r->preferred_authentications_given, "gssapi-with-mic,password,hostbased,publickey,password");
    cr_assert_str_eq(r->host_key_alias, "keyalias-%h"); /* lower-cased, no token expanded (ssh 9.2) */
    cr_assert_eq(r->pubkey_authentication, 1);
    cr_assert_eq(r->password_authentication, 0);
    cr_assert_eq(r->kbd_interactive_authentication, 0);
    cr_assert_eq(r->timeout_ms, 1500);
    cr_assert_str_eq(r->password, "pw");
    cr_assert_str_eq(r->passphrase, "pp");
    cr_assert_eq(r->passphrase_cb, dummy_pp);
    cr_assert_eq(r->passphrase_ud, (void *)7);
    cr_assert_eq(r->prompt_cb, dummy_pr);
    cr_assert_eq(r->prompt_ud, (void *)8);
    xssh__resolved_free(r);
    xssh_options_unref(o);
}

Test(resolved, strict_values_and_agent_forms)
{
    static const struct {
        const char *v;
        int want;
    } S[] = {{"yes", XSSH_HOSTKEY_STRICT},  {"ask", XSSH_HOSTKEY_STRICT},   {"true", XSSH_HOSTKEY_STRICT},
             {"no", XSSH__HOSTKEY_NO},      {"off", XSSH__HOSTKEY_NO},      {"false", XSSH__HOSTKEY_NO},
             {"accept-new", XSSH_HOSTKEY_ACCEPT_NEW}};
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        xssh_options *o = NULL;
        cr_assert_eq(xssh_options_new(&o), XSSH_OK);
        cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
        cr_assert_eq(xssh_options_set(o, "StrictHostKeyChecking", S[i].v), XSSH_OK);
        xssh__resolved *r = res(o, "h");
        cr_assert_eq(r->strict_host_key_checking, S[i].want, "%s", S[i].v);
        xssh__resolved_free(r);
        xssh_options_unref(o);
    }
    xssh_options *o = opts_text("Host n\n IdentityAgent none\nHost s\n IdentityAgent SSH_AUTH_SOCK\n"
                                "Host v\n IdentityAgent $XSSH_TEST_AGENT_VAR\nHost w\n IdentityAgent $XSSH_TEST_UNSET\n"
                                "Host *\n BatchMode yes\n");
    setenv("XSSH_TEST_AGENT_VAR", "/run/other.sock", 1);
    unsetenv("XSSH_TEST_UNSET");
    xssh__resolved *r = res(o, "n");
    cr_assert_str_eq(r->identity_agent, "none");
    cr_assert_eq(r->server_alive_interval_s, 300, "BatchMode's default ServerAliveInterval");
    xssh__resolved_free(r);
    r = res(o, "s");
    cr_assert_null(r->identity_agent);
    xssh__resolved_free(r);
    r = res(o, "v");
    cr_assert_str_eq(r->identity_agent, "/run/other.sock");
    xssh__resolved_free(r);
    r = res(o, "w");
    cr_assert_str_eq(r->identity_agent, "none");
    xssh__resolved_free(r);
    xssh_options_unref(o);
}

Test(resolved, connect_refuses_what_xssh_cannot_do)
{
    xssh_options *o = opts_text("Host pc\n ProxyCommand nc %h %p\nHost e\n Ciphers -*\nHost jn\n ProxyJump none\n"
                                " IdentityFile none\n");
    xssh__resolved *r = (xssh__resolved *)1;
    cr_assert_eq(xssh__resolve(o, "pc", &r), XSSH_ECONFIG);
    cr_assert_null(r);
    cr_assert(strstr(xssh_error_last()->message, "ProxyCommand is not supported") != NULL);
    cr_assert_eq(xssh__resolve(o, "e", &r), XSSH_ECONFIG);
    cr_assert(strstr(xssh_error_last()->message, "Ciphers: no algorithm left") != NULL);
    /* the text view still shows both, as ssh -G */
    char *t = NULL;
    cr_assert_eq(xssh_options_resolve(o, "pc", &t), XSSH_OK);
    cr_assert(strstr(t, "\nproxycommand nc %h %p\n") != NULL, "%s", t);
    xssh_free(t);
    r = res(o, "jn");
    cr_assert_eq(r->proxy_jump.n, 0);
    cr_assert_eq(r->identity_files.n, 0);
    cr_assert_eq(r->identity_files_explicit, 1);
    xssh__resolved_free(r);
    xssh__resolved_free(NULL);
    xssh_options_unref(o);
}

/* xssh's "Timeout": 30 s when not given (also with no options object), 0 when the caller says none */
Test(resolved, session_timeout_default_and_none)
{
    xssh__resolved *r = NULL;
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK);
    cr_assert_eq(xssh_options_set(o, "ConfigFile", "none"), XSSH_OK);
    r = res(o, "h");
    cr_assert_eq(r->timeout_ms, 30000);
    xssh__resolved_free(r);
    cr_assert_eq(xssh_options_set(o, "Timeout", "0"), XSSH_OK);
    r = res(o, "h");
    cr_assert_eq(r->timeout_ms, 0);
    xssh__resolved_free(r);
    xssh_options_unref(o);
}

/* PreferredAuthentications with nothing xssh can use: "" (xssh_connect then fails), never the default */
Test(resolved, preferred_authentications_none_usable)
{
    xssh_options *o = opts_text("Host a\n  PreferredAuthentications gssapi-with-mic,hostbased,bogus\n");
    xssh__resolved *r = res(o, "a");
    cr_assert_str_eq(r->preferred_authentications, "");
    cr_assert_str_eq(r->preferred_authentications_given, "gssapi-with-mic,hostbased,bogus");
    xssh__resolved_free(r);
    xssh_options_unref(o);
}
