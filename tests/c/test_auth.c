/* SPDX-License-Identifier: BSD-3-Clause */
/* Authentication against the real sshd: keys, passphrases, passwords, keyboard-interactive, agent. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"


static void assert_authed(xssh_session *s, int want)
{
    int a = -1;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(a, want, "authenticated is %d, expected %d", a, want);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = malloc(65536);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static char *pub_path(const char *priv)
{
    char *p = NULL;
    cr_assert_gt(asprintf(&p, "%s.pub", priv), 0);
    return p;
}

static void need_password(void)
{
    if (!xt_have_password())
        cr_skip_test("no password test account: the harness creates one only when run as root");
}

/* ---- public keys ------------------------------------------------------------- */

Test(auth, publickey_ed25519, .timeout = 60)
{
    xssh_session *s = xt_connect();
    assert_authed(s, 0);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    assert_authed(s, 1);
    int next;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK);
    xssh_session_unref(s);
}

Test(auth, publickey_ed25519_with_pubfile, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *pub = pub_path(xt()->key_ed25519);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, pub, ""), XSSH_OK, "%s",
                 last_msg());
    assert_authed(s, 1);
    free(pub);
    xssh_session_unref(s);
}

Test(auth, publickey_ecdsa, .timeout = 60)
{
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ecdsa, NULL, NULL), XSSH_OK, "%s",
                 last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
}

Test(auth, encrypted_key_passphrase, .timeout = 60)
{
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_encrypted, NULL,
                                                          xt()->key_passphrase),
                 XSSH_OK, "%s", last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
}

Test(auth, encrypted_key_wrong_passphrase, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_encrypted, NULL, "not-the-passphrase");
    cr_assert_eq(rc, XSSH_EKEYFILE_AUTH_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), xt()->key_encrypted), "message lacks the file: %s", last_msg());
    cr_assert(strstr(last_msg(), "passphrase"), "message lacks the cause: %s", last_msg());
    cr_assert_eq(xssh_error_last()->code, XSSH_EKEYFILE_AUTH_FAILED);
    cr_assert_neq(xssh_error_last()->libssh2_code, 0, "libssh2's code is kept");
    assert_authed(s, 0);
    /* no passphrase at all: the same clear error */
    rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_encrypted, NULL, NULL);
    cr_assert_eq(rc, XSSH_EKEYFILE_AUTH_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    /* the session is still usable */
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_encrypted, NULL,
                                                          xt()->key_passphrase),
                 XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

Test(auth, unauthorized_key, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_unauthorized, NULL, NULL);
    cr_assert(rc == XSSH_EAUTHENTICATION_FAILED || rc == XSSH_EPUBLICKEY_UNVERIFIED, "got %s: %s",
              xssh_err_name(rc), last_msg());
    char want[128];
    snprintf(want, sizeof want, "'%s'", xt()->user);
    cr_assert(strstr(last_msg(), want), "message lacks the user: %s", last_msg());
    cr_assert(strstr(last_msg(), xt()->host), "message lacks the host: %s", last_msg());
    assert_authed(s, 0);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "retry with the right key: %s", last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
}

Test(auth, wrong_user, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, "xssh-no-such-user", xt()->key_ed25519, NULL, NULL);
    cr_assert(rc == XSSH_EAUTHENTICATION_FAILED || rc == XSSH_EPUBLICKEY_UNVERIFIED, "got %s: %s",
              xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "xssh-no-such-user"), "%s", last_msg());
    xssh_session_unref(s);
}

Test(auth, rsa_key_refused_sha1, .timeout = 60)
{
    if (xssh_features() & XSSH_FEATURE_RSA_SHA2)
        cr_skip_test("this libssh2 signs RSA-SHA2");
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_rsa, NULL, NULL);
    cr_assert_eq(rc, XSSH_ERSA_SHA1_REFUSED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "1.11"), "message must say RSA-SHA2 needs libssh2 >= 1.11: %s", last_msg());
    cr_assert(strstr(last_msg(), "ssh-rsa"), "%s", last_msg());
    cr_assert(strstr(last_msg(), xt()->key_rsa), "message lacks the key file: %s", last_msg());
    cr_assert_neq(xssh_error_last()->libssh2_code, 0);
    cr_assert_str_eq(xssh_err_info_get(rc)->exception, "RSASHA1RefusedError");
    assert_authed(s, 0);

    /* from memory, too */
    size_t len = 0;
    char *mem = slurp(xt()->key_rsa, &len);
    rc = xssh_session_userauth_publickey_frommemory(s, xt()->user, mem, len, NULL, 0, NULL);
    cr_assert_eq(rc, XSSH_ERSA_SHA1_REFUSED, "frommemory got %s: %s", xssh_err_name(rc), last_msg());
    free(mem);
    xssh_session_unref(s);
}

Test(auth, frommemory, .timeout = 60)
{
    size_t plen = 0, publen = 0;
    char *priv = slurp(xt()->key_ed25519, &plen);
    char *pp = pub_path(xt()->key_ed25519);
    char *pub = slurp(pp, &publen);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey_frommemory(s, xt()->user, priv, plen, NULL, 0, NULL), XSSH_OK, "%s",
                 last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
    /* with the public key given as well */
    s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey_frommemory(s, xt()->user, priv, plen, pub, publen, NULL), XSSH_OK,
                 "%s", last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
    free(priv);
    free(pub);
    free(pp);
}

Test(auth, frommemory_encrypted, .timeout = 60)
{
    size_t plen = 0;
    char *priv = slurp(xt()->key_encrypted, &plen);
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_frommemory(s, xt()->user, priv, plen, NULL, 0, "wrong");
    cr_assert_eq(rc, XSSH_EKEYFILE_AUTH_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "memory"), "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_publickey_frommemory(s, xt()->user, priv, plen, NULL, 0, xt()->key_passphrase),
                 XSSH_OK, "%s", last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
    free(priv);
}

Test(auth, frommemory_garbage, .timeout = 60)
{
    xssh_session *s = xt_connect();
    const char junk[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 at all!!\n-----END OPENSSH PRIVATE KEY-----\n";
    int rc = xssh_session_userauth_publickey_frommemory(s, xt()->user, junk, sizeof junk - 1, NULL, 0, NULL);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_gt(strlen(last_msg()), 10);
    rc = xssh_session_userauth_publickey_frommemory(s, xt()->user, "x", 1, NULL, 0, NULL);
    cr_assert_neq(rc, XSSH_OK);
    assert_authed(s, 0);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    xssh_session_unref(s);
}

Test(auth, missing_key_file, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *missing = xt_tmppath("no-such-key");
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, missing, NULL, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), missing), "message lacks the path: %s", last_msg());
    cr_assert(strstr(last_msg(), "No such file"), "message lacks the cause: %s", last_msg());
    char *m = NULL;
    cr_assert_eq(xssh_session_last_error(s, &m), XSSH_OK);
    cr_assert(strstr(m, missing), "session last_error: %s", m);
    xssh_free(m);
    /* a missing public key file */
    rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, missing, NULL);
    cr_assert_eq(rc, XSSH_EFILE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), missing), "%s", last_msg());
    /* a file that is not a key */
    char *notkey = xt_tmppath("notakey");
    FILE *f = fopen(notkey, "w");
    fputs("hello\n", f);
    fclose(f);
    rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, notkey, NULL, NULL);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert(strstr(last_msg(), notkey), "message lacks the path: %s", last_msg());
    assert_authed(s, 0);
    free(missing);
    free(notkey);
    xssh_session_unref(s);
}

/* ---- user-auth list ------------------------------------------------------------ */

Test(auth, userauth_list, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *list = NULL;
    cr_assert_eq(xssh_session_userauth_list(s, xt()->user, &list), XSSH_OK, "%s", last_msg());
    cr_assert(strstr(list, "publickey"), "list '%s'", list);
    if (xt_have_password()) {
        cr_assert(strstr(list, "password"), "list '%s'", list);
        cr_assert(strstr(list, "keyboard-interactive"), "list '%s'", list);
    }
    xssh_free(list);
    assert_authed(s, 0);
    /* asking again is fine */
    cr_assert_eq(xssh_session_userauth_list(s, xt()->user, &list), XSSH_OK, "%s", last_msg());
    xssh_free(list);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    xssh_session_unref(s);
}

/* ---- password, keyboard-interactive --------------------------------------------- */

Test(auth, password_ok, .timeout = 60)
{
    need_password();
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_password(s, xt()->pw_user, xt()->password), XSSH_OK, "%s", last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
}

Test(auth, password_wrong, .timeout = 60)
{
    need_password();
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_password(s, xt()->pw_user, "definitely-wrong");
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), xt()->pw_user), "message lacks the user: %s", last_msg());
    cr_assert(strstr(last_msg(), "password"), "message lacks the method: %s", last_msg());
    cr_assert(strstr(last_msg(), "definitely-wrong") == NULL, "the password leaked into the message");
    assert_authed(s, 0);
    cr_assert_eq(xssh_session_userauth_password(s, xt()->pw_user, xt()->password), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

Test(auth, password_empty, .timeout = 60)
{
    need_password();
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_password(s, xt()->pw_user, "");
    cr_assert_neq(rc, XSSH_OK);
    assert_authed(s, 0);
    xssh_session_unref(s);
}

Test(auth, keyboard_interactive_ok, .timeout = 60)
{
    need_password();
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_keyboard_interactive(s, xt()->pw_user, xt()->password), XSSH_OK, "%s",
                 last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
}

Test(auth, keyboard_interactive_responses, .timeout = 60)
{
    need_password();
    xssh_session *s = xt_connect();
    const char *resp[2] = {xt()->password, "unused-second-answer"};
    cr_assert_eq(xssh_session_userauth_keyboard_interactive_responses(s, xt()->pw_user, resp, 2), XSSH_OK, "%s",
                 last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
}

Test(auth, keyboard_interactive_wrong, .timeout = 60)
{
    need_password();
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_keyboard_interactive(s, xt()->pw_user, "definitely-wrong");
    cr_assert_eq(rc, XSSH_EAUTHENTICATION_FAILED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), xt()->pw_user), "%s", last_msg());
    cr_assert(strstr(last_msg(), "keyboard-interactive"), "%s", last_msg());
    assert_authed(s, 0);
    /* zero responses: every prompt gets "" */
    rc = xssh_session_userauth_keyboard_interactive_responses(s, xt()->pw_user, NULL, 0);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert_eq(xssh_session_userauth_keyboard_interactive(s, xt()->pw_user, xt()->password), XSSH_OK, "%s",
                 last_msg());
    xssh_session_unref(s);
}

/* ---- host-based (not enabled on the test sshd: must fail cleanly) ------------------ */

Test(auth, hostbased_refused, .timeout = 60)
{
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_hostbased_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL, "localhost",
                                                      NULL);
    cr_assert_neq(rc, XSSH_OK);
    cr_assert(strstr(last_msg(), "host-based") && strstr(last_msg(), xt()->user), "%s", last_msg());
    assert_authed(s, 0);
    char *missing = xt_tmppath("nokey");
    rc = xssh_session_userauth_hostbased_fromfile(s, xt()->user, missing, NULL, NULL, "localhost", "me");
    cr_assert_eq(rc, XSSH_EFILE, "%s", last_msg());
    cr_assert(strstr(last_msg(), missing), "%s", last_msg());
    free(missing);
    xssh_session_unref(s);
}

/* ---- agent ---------------------------------------------------------------------- */

static void need_agent(void)
{
    if (!xt()->agent_sock || !*xt()->agent_sock)
        cr_skip_test("the harness has no ssh-agent");
}

Test(auth, agent_auth, .timeout = 60)
{
    need_agent();
    setenv("SSH_AUTH_SOCK", xt()->agent_sock, 1);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_agent_auth(s, xt()->user), XSSH_OK, "%s", last_msg());
    assert_authed(s, 1);
    /* the session is back in its own mode and works */
    int next;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "%s", last_msg());
    int b = 0;
    cr_assert_eq(xssh_session_get_blocking(s, &b), XSSH_OK);
    cr_assert_eq(b, 1);
    xssh_session_unref(s);
}

Test(auth, agent_auth_wrong_user, .timeout = 60)
{
    need_agent();
    setenv("SSH_AUTH_SOCK", xt()->agent_sock, 1);
    xssh_session *s = xt_connect();
    int rc = xssh_session_agent_auth(s, "xssh-no-such-user");
    cr_assert_eq(rc, XSSH_EAGENT_AUTH, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "xssh-no-such-user"), "%s", last_msg());
    assert_authed(s, 0);
    xssh_session_unref(s);
}

Test(auth, agent_auth_no_agent, .timeout = 60)
{
    char *bogus = xt_tmppath("no-agent.sock");
    setenv("SSH_AUTH_SOCK", bogus, 1);
    xssh_session *s = xt_connect();
    int rc = xssh_session_agent_auth(s, xt()->user);
    cr_assert_eq(rc, XSSH_EAGENT_CONNECT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), bogus), "message lacks the socket path: %s", last_msg());
    unsetenv("SSH_AUTH_SOCK");
    rc = xssh_session_agent_auth(s, xt()->user);
    cr_assert_eq(rc, XSSH_EAGENT_CONNECT, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "SSH_AUTH_SOCK"), "%s", last_msg());
    /* still usable */
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    free(bogus);
    xssh_session_unref(s);
}

Test(auth, userauth_publickey_via_agent, .timeout = 60)
{
    need_agent();
    setenv("SSH_AUTH_SOCK", xt()->agent_sock, 1);
    size_t len = 0;
    char *pp = pub_path(xt()->key_ed25519);
    char *line = slurp(pp, &len);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey(s, xt()->user, line, len), XSSH_OK, "%s", last_msg());
    assert_authed(s, 1);
    xssh_session_unref(s);
    free(line);
    free(pp);
    /* a key the agent does not hold */
    pp = pub_path(xt()->key_ecdsa);
    line = slurp(pp, &len);
    s = xt_connect();
    int rc = xssh_session_userauth_publickey(s, xt()->user, line, len);
    cr_assert_eq(rc, XSSH_EAGENT_IDENTITY, "got %s: %s", xssh_err_name(rc), last_msg());
    assert_authed(s, 0);
    rc = xssh_session_userauth_publickey(s, xt()->user, "ssh-ed25519 !!!notbase64", 24);
    cr_assert_eq(rc, XSSH_EARG, "got %s: %s", xssh_err_name(rc), last_msg());
    xssh_session_unref(s);
    free(line);
    free(pp);
}

Test(auth, server_disconnect_explained, .timeout = 60)
{
    /* OpenSSH drops the connection when the user name changes between attempts:
       the error says so instead of only libssh2's "Waiting for ... response" */
    xssh_session *s = xt_connect();
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_unauthorized, NULL, NULL);
    cr_assert_neq(rc, XSSH_OK);
    rc = xssh_session_userauth_publickey_fromfile(s, "xssh-other-user", xt()->key_ed25519, NULL, NULL);
    if (rc == XSSH_OK || rc == XSSH_EAUTHENTICATION_FAILED)
        cr_skip_test("this sshd allows a change of user name (%s)", xssh_err_name(rc));
    cr_assert(rc == XSSH_ESOCKET_DISCONNECT || rc == XSSH_ESOCKET_RECV, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "closed the connection"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "xssh-other-user"), "%s", last_msg());
    /* the server's own reason, and the hint, since the server said why */
    cr_assert(strstr(last_msg(), "Change of username"), "%s", last_msg());
    cr_assert(strstr(last_msg(), "MaxAuthTries"), "%s", last_msg());
    xssh_session_unref(s);
}

Test(auth, agent_auth_nonblocking_session, .timeout = 60)
{
    /* libssh2's agent code runs blocking internally; a non-blocking session gets a
       final answer (never EAGAIN) and keeps its mode */
    need_agent();
    setenv("SSH_AUTH_SOCK", xt()->agent_sock, 1);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    int rc = xssh_session_agent_auth(s, xt()->user);
    cr_assert_eq(rc, XSSH_OK, "got %s: %s", xssh_err_name(rc), last_msg());
    int b = -1;
    cr_assert_eq(xssh_session_get_blocking(s, &b), XSSH_OK);
    cr_assert_eq(b, 0);
    /* and non-blocking calls still behave so: keepalive_send returns OK or EAGAIN, never hangs */
    int next;
    rc = xssh_session_keepalive_send(s, &next);
    cr_assert(rc == XSSH_OK || rc == XSSH_EAGAIN, "%s", xssh_err_name(rc));
    xssh_session_unref(s);
}

/* the server answers no authentication request after a success (RFC 4252 5.1):
   a second one fails at once instead of waiting for a reply that never comes */
Test(auth, again_after_success_is_refused_at_once, .timeout = 60)
{
    xssh_session *s = xt_connect_auth(); /* no session timeout: a wait would never end */
    int rc = xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL);
    cr_assert_eq(rc, XSSH_EBAD_USE, "%s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "already authenticated"), "%s", last_msg());
    char *list = NULL;
    cr_assert_eq(xssh_session_userauth_list(s, xt()->user, &list), XSSH_EBAD_USE, "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_password(s, xt()->user, "x"), XSSH_EBAD_USE, "%s", last_msg());
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "echo still", NULL, &r), XSSH_OK, "%s", last_msg());
    xssh_run_result_free(r);
    xssh_session_unref(s);
}

/* a timeout too large for a deadline is taken as 100 years, not as "already past" */
Test(auth, huge_session_timeout_does_not_overflow, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_set_timeout(s, LONG_MAX), XSSH_OK);
    long t = 0;
    cr_assert_eq(xssh_session_get_timeout(s, &t), XSSH_OK);
    cr_assert_eq(t, 100L * 365 * 24 * 3600 * 1000);
    xssh_run_result *r = NULL;
    cr_assert_eq(xssh_session_run(s, "true", NULL, &r), XSSH_OK, "%s", last_msg());
    xssh_run_result_free(r);
    xssh_session_unref(s);
}
