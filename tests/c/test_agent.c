/* SPDX-License-Identifier: BSD-3-Clause */
/* SSH agent: the harness's ssh-agent holds key_ed25519, authorized on its sshd. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"


static const char *agent_sock(void)
{
    const char *p = xt()->agent_sock;
    if (!p || !*p)
        cr_skip_test("the harness has no ssh-agent");
    return p;
}

/* An agent on s, connected to the harness agent through set_path, identities listed. */
static xssh_agent *agent_ready(xssh_session *s)
{
    xssh_agent *a = NULL;
    cr_assert_eq(xssh_agent_new(&a, s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_agent_set_path(a, agent_sock()), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_agent_connect(a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_agent_list_identities(a), XSSH_OK, "%s", last_msg());
    return a;
}

Test(agent, list_and_userauth, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a = agent_ready(s);
    size_t n = 0;
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_OK);
    cr_assert_eq(n, 1);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(a, 0, &k), XSSH_OK, "%s", last_msg());
    const unsigned char *blob = NULL;
    size_t blen = 0;
    cr_assert_eq(xssh_pubkey_blob(k, &blob, &blen), XSSH_OK);
    cr_assert_gt(blen, 15);
    cr_assert(memcmp(blob, "\0\0\0\x0bssh-ed25519", 15) == 0);
    const char *comment = NULL;
    cr_assert_eq(xssh_pubkey_comment(k, &comment), XSSH_OK);
    cr_assert_not_null(comment);
    unsigned magic = 0;
    cr_assert_eq(xssh_pubkey_magic(k, &magic), XSSH_OK);
    cr_assert_eq(xssh_pubkey_ref(k), k);
    xssh_pubkey_unref(k);

    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_OK, "%s", last_msg());
    int authed = 0;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &authed), XSSH_OK);
    cr_assert_eq(authed, 1);
    /* the session works after the agent ran libssh2 in blocking mode */
    int blocking = -1;
    cr_assert_eq(xssh_session_get_blocking(s, &blocking), XSSH_OK);
    cr_assert_eq(blocking, 1);
    int next = 0;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "%s", last_msg());

    /* the identity list can be fetched again; copies stay valid */
    cr_assert_eq(xssh_agent_list_identities(a), XSSH_OK);
    cr_assert_eq(xssh_pubkey_blob(k, &blob, &blen), XSSH_OK);
    cr_assert(memcmp(blob, "\0\0\0\x0bssh-ed25519", 15) == 0);
    cr_assert_eq(xssh_agent_disconnect(a), XSSH_OK);
    cr_assert_eq(xssh_agent_disconnect(a), XSSH_OK, "idempotent");
    xssh_pubkey_unref(k);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, ssh_auth_sock_env, .timeout = 60)
{
    setenv("SSH_AUTH_SOCK", agent_sock(), 1);
    xssh_session *s = xt_connect();
    xssh_agent *a = NULL;
    cr_assert_eq(xssh_agent_new(&a, s), XSSH_OK);
    cr_assert_eq(xssh_agent_connect(a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_agent_connect(a), XSSH_OK, "connecting twice is a no-op");
    cr_assert_eq(xssh_agent_list_identities(a), XSSH_OK, "%s", last_msg());
    size_t n = 0;
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_OK);
    cr_assert_eq(n, 1);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(a, 0, &k), XSSH_OK);
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_OK, "%s", last_msg());
    xssh_pubkey_unref(k);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, bad_path, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a = NULL;
    cr_assert_eq(xssh_agent_new(&a, s), XSSH_OK);
    char *path = xt_tmppath("no_such_agent.sock");
    cr_assert_eq(xssh_agent_set_path(a, path), XSSH_OK);
    int rc = xssh_agent_connect(a);
    cr_assert_eq(rc, XSSH_EAGENT_CONNECT, "rc %d", rc);
    cr_assert(strstr(last_msg(), path), "message lacks the socket path: %s", last_msg());
    /* still usable: point it at the real agent */
    cr_assert_eq(xssh_agent_set_path(a, agent_sock()), XSSH_OK);
    cr_assert_eq(xssh_agent_connect(a), XSSH_OK, "%s", last_msg());
    /* the path cannot change while connected */
    cr_assert_eq(xssh_agent_set_path(a, path), XSSH_EBAD_USE);
    free(path);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, identity_out_of_range, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a = agent_ready(s);
    xssh_pubkey *k = (xssh_pubkey *)1;
    int rc = xssh_agent_identity(a, 1, &k);
    cr_assert_eq(rc, XSSH_EAGENT_IDENTITY, "rc %d", rc);
    cr_assert_null(k);
    cr_assert_eq(xssh_agent_identity(a, (size_t)-1, &k), XSSH_EAGENT_IDENTITY);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, bad_use_before_connect_or_list, .timeout = 60)
{
    xssh_session *s = xt_connect();
    /* a key from another agent object */
    xssh_agent *other = agent_ready(s);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(other, 0, &k), XSSH_OK);
    xssh_agent_unref(other);

    xssh_agent *a = NULL;
    cr_assert_eq(xssh_agent_new(&a, s), XSSH_OK);
    size_t n;
    xssh_pubkey *k2 = NULL;
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_EBAD_USE);
    cr_assert(strstr(last_msg(), "connect"), "%s", last_msg());
    cr_assert_eq(xssh_agent_list_identities(a), XSSH_EBAD_USE);
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_EBAD_USE);
    cr_assert_eq(xssh_agent_identity(a, 0, &k2), XSSH_EBAD_USE);
    cr_assert_eq(xssh_agent_set_path(a, agent_sock()), XSSH_OK);
    cr_assert_eq(xssh_agent_connect(a), XSSH_OK, "%s", last_msg());
    /* connected but not listed */
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_EBAD_USE);
    cr_assert(strstr(last_msg(), "list_identities"), "%s", last_msg());
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_EBAD_USE);
    cr_assert_eq(xssh_agent_list_identities(a), XSSH_OK);
    /* after a disconnect the list is gone */
    cr_assert_eq(xssh_agent_disconnect(a), XSSH_OK);
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_EBAD_USE);
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_EBAD_USE);
    cr_assert_null(k2);
    xssh_pubkey_unref(k);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, userauth_wrong_user, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a = agent_ready(s);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(a, 0, &k), XSSH_OK);
    int rc = xssh_agent_userauth(a, "xssh_no_such_user", k);
    cr_assert_eq(rc, XSSH_EAGENT_AUTH, "rc %d: %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "xssh_no_such_user"), "%s", last_msg());
    int authed = 1;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &authed), XSSH_OK);
    cr_assert_eq(authed, 0);
    /* (OpenSSH drops a connection that changes the user name, so the right
       user is tried on a fresh session, with the same identity copy) */
    xssh_agent_unref(a);
    xssh_session_unref(s);
    s = xt_connect();
    a = agent_ready(s);
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_OK, "%s", last_msg());
    xssh_pubkey_unref(k);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, userauth_not_connected_session, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a0 = agent_ready(s);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(a0, 0, &k), XSSH_OK);
    xssh_agent_unref(a0);
    xssh_session_unref(s);

    /* a session that never connected: listing works (local), userauth cannot */
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    xssh_agent *a = agent_ready(s);
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_ENOTCONNECTED);
    xssh_pubkey_unref(k);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, drop_order_session_first, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a = agent_ready(s);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(a, 0, &k), XSSH_OK);
    xssh_agent *a2 = xssh_agent_ref(a);
    cr_assert_eq(a2, a);
    xssh_agent_unref(a2);
    xssh_session_unref(s); /* the agent keeps the session alive */
    size_t n = 0;
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_OK, "%s", last_msg());
    xssh_agent_unref(a);
    const unsigned char *blob;
    size_t blen;
    cr_assert_eq(xssh_pubkey_blob(k, &blob, &blen), XSSH_OK);
    cr_assert_gt(blen, 15);
    xssh_pubkey_unref(k);
}

Test(agent, closed_session, .timeout = 60)
{
    xssh_session *s = xt_connect();
    xssh_agent *a = agent_ready(s);
    xssh_pubkey *k = NULL;
    cr_assert_eq(xssh_agent_identity(a, 0, &k), XSSH_OK);
    cr_assert_eq(xssh_session_disconnect(s), XSSH_OK, "%s", last_msg());
    size_t n;
    xssh_pubkey *k2 = NULL;
    cr_assert_eq(xssh_agent_set_path(a, agent_sock()), XSSH_ECLOSED);
    cr_assert_eq(xssh_agent_connect(a), XSSH_ECLOSED);
    cr_assert_eq(xssh_agent_list_identities(a), XSSH_ECLOSED);
    cr_assert_eq(xssh_agent_identity_count(a, &n), XSSH_ECLOSED);
    cr_assert_eq(xssh_agent_identity(a, 0, &k2), XSSH_ECLOSED);
    cr_assert_eq(xssh_agent_userauth(a, xt()->user, k), XSSH_ECLOSED);
    cr_assert_eq(xssh_agent_disconnect(a), XSSH_ECLOSED);
    xssh_agent *a2 = NULL;
    cr_assert_eq(xssh_agent_new(&a2, s), XSSH_ECLOSED);
    cr_assert_null(a2);
    cr_assert_null(k2);
    xssh_pubkey_unref(k);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

Test(agent, null_args, .timeout = 60)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    xssh_agent *a = NULL;
    cr_assert_eq(xssh_agent_new(NULL, s), XSSH_EARG);
    cr_assert_eq(xssh_agent_new(&a, NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_new(&a, s), XSSH_OK);
    size_t n;
    xssh_pubkey *k = NULL;
    const unsigned char *blob;
    const char *str;
    unsigned u;
    cr_assert_eq(xssh_agent_set_path(NULL, "x"), XSSH_EARG);
    cr_assert_eq(xssh_agent_set_path(a, NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_set_path(a, ""), XSSH_EARG);
    cr_assert_eq(xssh_agent_connect(NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_disconnect(NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_list_identities(NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_identity_count(NULL, &n), XSSH_EARG);
    cr_assert_eq(xssh_agent_identity_count(a, NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_identity(NULL, 0, &k), XSSH_EARG);
    cr_assert_eq(xssh_agent_identity(a, 0, NULL), XSSH_EARG);
    cr_assert_eq(xssh_agent_userauth(NULL, "u", k), XSSH_EARG);
    cr_assert_eq(xssh_agent_userauth(a, NULL, k), XSSH_EARG);
    cr_assert_eq(xssh_agent_userauth(a, "", k), XSSH_EARG);
    cr_assert_eq(xssh_agent_userauth(a, "u", NULL), XSSH_EARG);
    cr_assert_eq(xssh_pubkey_blob(NULL, &blob, &n), XSSH_EARG);
    cr_assert_eq(xssh_pubkey_comment(NULL, &str), XSSH_EARG);
    cr_assert_eq(xssh_pubkey_magic(NULL, &u), XSSH_EARG);
    cr_assert_eq(xssh_error_last()->code, XSSH_EARG);
    cr_assert_null(xssh_agent_ref(NULL));
    cr_assert_null(xssh_pubkey_ref(NULL));
    xssh_agent_unref(NULL);
    xssh_pubkey_unref(NULL);
    xssh_agent_unref(a);
    xssh_session_unref(s);
}

/* userauth_publickey: a given public key, signed by the agent holding its private key */
Test(agent, userauth_publickey_with_agent_signature, .timeout = 60)
{
    setenv("SSH_AUTH_SOCK", agent_sock(), 1);
    char path[4096];
    snprintf(path, sizeof path, "%s.pub", xt()->key_ed25519);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char line[2048];
    size_t n = fread(line, 1, sizeof line, f);
    fclose(f);
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey(s, xt()->user, line, n), XSSH_OK, "%s", last_msg());
    int authed = 0;
    cr_assert_eq(xssh_session_userauth_authenticated(s, &authed), XSSH_OK);
    cr_assert_eq(authed, 1);
    xssh_session_unref(s);

    /* a key the agent does not hold: a clear error, not authenticated */
    snprintf(path, sizeof path, "%s.pub", xt()->key_ecdsa);
    f = fopen(path, "rb");
    n = fread(line, 1, sizeof line, f);
    fclose(f);
    s = xt_connect();
    cr_assert_eq(xssh_session_userauth_publickey(s, xt()->user, line, n), XSSH_EAGENT_IDENTITY);
    cr_assert(strstr(last_msg(), "no private key") != NULL, "%s", last_msg());
    cr_assert_eq(xssh_session_userauth_publickey(s, xt()->user, "ssh-ed25519 !!!", 15), XSSH_EARG);
    cr_assert_eq(xssh_session_userauth_publickey(s, xt()->user, NULL, 0), XSSH_EARG);
    xssh_session_unref(s);
}
