/* SPDX-License-Identifier: BSD-3-Clause */
/* SSH agent: connect, list identities, authenticate with one of them.
 *
 * An xssh_agent wraps a LIBSSH2_AGENT of its session, used with the session
 * lock held. libssh2's agent code is only reliable in libssh2's own blocking
 * mode, so connect/list/userauth switch the session to it for the duration of
 * the call (xssh__agent_blocking_begin/end, bounded by the session timeout).
 * Identities handed out are plain copies (blob, comment, magic); userauth finds
 * the agent's current identity with the same blob. Once the session is closed
 * every call answers XSSH_ECLOSED; the agent socket (a local unix socket) is
 * released by the final unref. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct xssh_agent {
    xssh__refcount refs;
    xssh_session *s;
    LIBSSH2_AGENT *agent;
    char *path;    /* set_path(), or NULL for $SSH_AUTH_SOCK */
    int connected;
    int listed;    /* list_identities() succeeded since connect */
    size_t count;  /* identities of the last list */
};

struct xssh_pubkey {
    xssh__refcount refs;
    unsigned char *blob;
    size_t blob_len;
    char *comment;
    unsigned int magic;
};

static const char *ssh_msg(xssh_session *s)
{
    char *m = NULL;
    libssh2_session_last_error(s->ssh, &m, NULL, 0);
    return m && *m ? m : "no details";
}

/* The socket path the agent uses, for messages. */
static const char *sock_desc(xssh_agent *a)
{
    if (a->path)
        return a->path;
    const char *env = getenv("SSH_AUTH_SOCK");
    return env && *env ? env : "$SSH_AUTH_SOCK (not set)";
}

#define BEGIN(a, need_ready)                                     \
    XSSH__ARG(NULL, (a), "agent is NULL");                       \
    xssh_session *s = (a)->s;                                    \
    xssh__op op;                                                 \
    int e_ = xssh__op_begin(&op, s, (need_ready), NULL);         \
    if (e_)                                                      \
        return e_

/* ---- lifetime ------------------------------------------------------------ */

int xssh_agent_new(xssh_agent **out, xssh_session *session)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, session, "session is NULL");
    xssh_agent *a = calloc(1, sizeof *a);
    if (!a)
        return xssh__fail(session, XSSH_ENOMEM, 0, "out of memory allocating an agent");
    xssh__op op;
    int e = xssh__op_begin(&op, session, 0, NULL);
    if (e) {
        free(a);
        return e;
    }
    a->agent = libssh2_agent_init(session->ssh);
    if (!a->agent) {
        int fr = xssh__fail(session, XSSH_ENOMEM, 0, "cannot initialise the agent: %s", ssh_msg(session));
        xssh__op_end(&op);
        free(a);
        return fr;
    }
    xssh__op_end(&op);
    xssh__ref_init(&a->refs);
    a->s = xssh_session_ref(session);
    *out = a;
    return xssh__ok();
}

xssh_agent *xssh_agent_ref(xssh_agent *agent)
{
    if (agent)
        xssh__ref_inc(&agent->refs);
    return agent;
}

void xssh_agent_unref(xssh_agent *agent)
{
    if (!agent || !xssh__ref_dec(&agent->refs))
        return;
    xssh_session *s = agent->s;
    /* the agent socket is a local unix socket: no SSH I/O here */
    xssh__lock(s);
    libssh2_agent_disconnect(agent->agent);
    libssh2_agent_free(agent->agent);
    xssh__unlock(s);
    free(agent->path);
    free(agent);
    xssh_session_unref(s);
}

/* ---- identities (copies) ------------------------------------------------ */

static void pubkey_free(xssh_pubkey *k)
{
    free(k->blob);
    free(k->comment);
    free(k);
}

static xssh_pubkey *pubkey_copy(const struct libssh2_agent_publickey *id)
{
    xssh_pubkey *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    xssh__ref_init(&k->refs);
    k->blob = xssh__memdup(id->blob, id->blob_len);
    k->blob_len = id->blob_len;
    k->comment = xssh__strdup(id->comment ? id->comment : "");
    k->magic = id->magic;
    if (!k->blob || !k->comment) {
        pubkey_free(k);
        return NULL;
    }
    return k;
}

xssh_pubkey *xssh_pubkey_ref(xssh_pubkey *key)
{
    if (key)
        xssh__ref_inc(&key->refs);
    return key;
}

void xssh_pubkey_unref(xssh_pubkey *key)
{
    if (key && xssh__ref_dec(&key->refs))
        pubkey_free(key);
}

int xssh_pubkey_blob(xssh_pubkey *key, const unsigned char **out, size_t *len_out)
{
    XSSH__ARG(NULL, key, "key is NULL");
    XSSH__ARG(NULL, out && len_out, "out/len_out is NULL");
    *out = key->blob;
    *len_out = key->blob_len;
    return xssh__ok();
}

int xssh_pubkey_comment(xssh_pubkey *key, const char **out)
{
    XSSH__ARG(NULL, key, "key is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = key->comment;
    return xssh__ok();
}

int xssh_pubkey_magic(xssh_pubkey *key, unsigned int *out)
{
    XSSH__ARG(NULL, key, "key is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = key->magic;
    return xssh__ok();
}

/* ---- agent operations ------------------------------------------------------- */

int xssh_agent_set_path(xssh_agent *agent, const char *path)
{
    XSSH__ARG(NULL, agent, "agent is NULL");
    XSSH__ARG(agent->s, path && *path, "path is NULL or empty");
    char *copy = xssh__strdup(path);
    if (!copy)
        return xssh__fail(agent->s, XSSH_ENOMEM, 0, "out of memory");
    xssh_session *s = agent->s;
    xssh__op op;
    int e = xssh__op_begin(&op, s, 0, NULL);
    if (e) {
        free(copy);
        return e;
    }
    if (agent->connected) {
        xssh__op_end(&op);
        free(copy);
        return xssh__fail(s, XSSH_EBAD_USE, 0,
                          "agent set_path('%s'): the agent is already connected (to %s); disconnect first", path,
                          sock_desc(agent));
    }
    libssh2_agent_set_identity_path(agent->agent, copy);
    free(agent->path);
    agent->path = copy;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_agent_connect(xssh_agent *agent)
{
    BEGIN(agent, 0);
    if (agent->connected) {
        xssh__op_end(&op);
        return xssh__ok();
    }
    xssh__agent_blocking_begin(s);
    int rc = libssh2_agent_connect(agent->agent);
    xssh__agent_blocking_end(s);
    if (rc) {
        int fr = xssh__fail(s, XSSH_EAGENT_CONNECT, rc, "cannot connect to the SSH agent at %s: %s", sock_desc(agent),
                            ssh_msg(s));
        xssh__op_end(&op);
        return fr;
    }
    agent->connected = 1;
    agent->listed = 0;
    agent->count = 0;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_agent_disconnect(xssh_agent *agent)
{
    BEGIN(agent, 0);
    if (agent->connected) {
        libssh2_agent_disconnect(agent->agent);
        agent->connected = 0;
    }
    agent->listed = 0;
    agent->count = 0;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_agent_list_identities(xssh_agent *agent)
{
    BEGIN(agent, 0);
    if (!agent->connected) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0, "agent list_identities: not connected (call xssh_agent_connect first)");
    }
    xssh__agent_blocking_begin(s);
    int rc = libssh2_agent_list_identities(agent->agent);
    xssh__agent_blocking_end(s);
    if (rc) {
        agent->listed = 0;
        agent->count = 0;
        int fr = xssh__fail(s, XSSH_EAGENT_LIST, rc, "cannot list the identities of the SSH agent at %s: %s",
                            sock_desc(agent), ssh_msg(s));
        xssh__op_end(&op);
        return fr;
    }
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    size_t n = 0;
    while (libssh2_agent_get_identity(agent->agent, &id, prev) == 0) {
        n++;
        prev = id;
    }
    agent->count = n;
    agent->listed = 1;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_agent_identity_count(xssh_agent *agent, size_t *out)
{
    XSSH__ARG(NULL, agent, "agent is NULL");
    XSSH__ARG(agent->s, out, "out is NULL");
    BEGIN(agent, 0);
    if (!agent->listed) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0,
                          "agent identity_count: no identity list (call xssh_agent_list_identities first)");
    }
    *out = agent->count;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_agent_identity(xssh_agent *agent, size_t index, xssh_pubkey **out)
{
    XSSH__ARG(NULL, agent, "agent is NULL");
    XSSH__ARG(agent->s, out, "out is NULL");
    *out = NULL;
    BEGIN(agent, 0);
    if (!agent->listed) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0,
                          "agent identity: no identity list (call xssh_agent_list_identities first)");
    }
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    size_t i = 0;
    for (;;) {
        int rc = libssh2_agent_get_identity(agent->agent, &id, prev);
        if (rc == 1) {
            xssh__op_end(&op);
            return xssh__fail(s, XSSH_EAGENT_IDENTITY, 0, "agent identity %zu is out of range (the agent at %s has %zu)",
                              index, sock_desc(agent), i);
        }
        if (rc < 0) {
            int fr = xssh__fail(s, XSSH_EAGENT_IDENTITY, rc, "cannot get agent identity %zu: %s", index, ssh_msg(s));
            xssh__op_end(&op);
            return fr;
        }
        if (i == index)
            break;
        prev = id;
        i++;
    }
    xssh_pubkey *k = pubkey_copy(id);
    xssh__op_end(&op);
    if (!k)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    *out = k;
    return xssh__ok();
}

/* "ssh-ed25519", "ssh-rsa", ... from a key blob, into buf */
static const char *blob_type(const unsigned char *b, size_t n, char *buf, size_t cap)
{
    if (n < 4)
        return "?";
    size_t l = ((size_t)b[0] << 24) | ((size_t)b[1] << 16) | ((size_t)b[2] << 8) | b[3];
    if (l > n - 4 || l >= cap)
        return "?";
    memcpy(buf, b + 4, l);
    buf[l] = '\0';
    return buf;
}

int xssh_agent_userauth(xssh_agent *agent, const char *username, xssh_pubkey *key)
{
    XSSH__ARG(NULL, agent, "agent is NULL");
    XSSH__ARG(agent->s, username && *username, "username is NULL or empty");
    XSSH__ARG(agent->s, key, "key is NULL");
    BEGIN(agent, 1);
    if (libssh2_userauth_authenticated(s->ssh)) {
        xssh__op_end(&op);
        return xssh__fail_authenticated(s, "agent userauth");
    }
    if (!agent->connected) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0, "agent userauth: not connected (call xssh_agent_connect first)");
    }
    if (!agent->listed) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EBAD_USE, 0,
                          "agent userauth: no identity list (call xssh_agent_list_identities first)");
    }
    char tbuf[64];
    const char *ktype = blob_type(key->blob, key->blob_len, tbuf, sizeof tbuf);
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    int found = 0;
    while (libssh2_agent_get_identity(agent->agent, &id, prev) == 0) {
        if (id->blob_len == key->blob_len && memcmp(id->blob, key->blob, key->blob_len) == 0) {
            found = 1;
            break;
        }
        prev = id;
    }
    if (!found) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EAGENT_IDENTITY, 0,
                          "agent userauth: the %s key '%s' is not among the identities of the agent at %s", ktype,
                          key->comment, sock_desc(agent));
    }
    xssh__agent_blocking_begin(s);
    int rc = libssh2_agent_userauth(agent->agent, username, id);
    xssh__agent_blocking_end(s);
    if (rc == 0) {
        xssh__op_end(&op);
        return xssh__ok();
    }
    const char *host = s->host ? s->host : "the server";
    int fr;
    if ((rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) &&
        strcmp(ktype, "ssh-rsa") == 0 && !(xssh_features() & XSSH_FEATURE_RSA_SHA2))
        fr = xssh__fail(s, XSSH_ERSA_SHA1_REFUSED, rc,
                        "agent authentication for user '%s' on %s with RSA key '%s' failed: the server refuses "
                        "ssh-rsa (SHA-1) signatures and this libssh2 (%s) cannot sign with RSA-SHA2 (needs libssh2 >= "
                        "1.11); use an Ed25519 or ECDSA key (or the key is simply not authorized)",
                        username, host, key->comment, xssh_libssh2_version());
    else if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
             rc == LIBSSH2_ERROR_SOCKET_NONE || rc == LIBSSH2_ERROR_PROTO)
        fr = xssh__fail(s, XSSH_EAGENT_AUTH, rc, "agent authentication for user '%s' on %s with %s key '%s' failed: %s",
                        username, host, ktype, key->comment, ssh_msg(s));
    else
        fr = xssh__fail_ssh(s, rc, "agent authentication for user '%s' on %s with %s key '%s' (agent at %s)",
                            username, host, ktype, key->comment, sock_desc(agent));
    xssh__op_end(&op);
    return fr;
}
