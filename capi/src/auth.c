/* SPDX-License-Identifier: BSD-3-Clause */
/* User authentication: list, password, public key, keyboard-interactive, host-based, agent. */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "connect_internal.h"

#define BEGIN_AUTH(user)                                              \
    XSSH__ARG(NULL, s, "session is NULL");                            \
    XSSH__ARG(s, (user) && *(user), "username is NULL or empty");     \
    xssh__op op;                                                      \
    int e_ = xssh__op_begin(&op, s, 1, NULL);                         \
    if (e_)                                                           \
        return e_;                                                    \
    if (libssh2_userauth_authenticated(s->ssh)) {                     \
        xssh__op_end(&op);                                            \
        return xssh__fail_authenticated(s, __func__);                 \
    }                                                                 \
    (void)0

/* After a successful authentication the server ignores further requests
   (RFC 4252 5.1): waiting for a reply would never end. */
int xssh__fail_authenticated(xssh_session *s, const char *fn)
{
    return xssh__fail(s, XSSH_EBAD_USE, 0,
                      "%s: the session is already authenticated (the server answers no further authentication "
                      "request, RFC 4252 5.1)",
                      fn);
}

static const char *who(xssh_session *s) { return s->host ? s->host : "the server"; }

/* Did the connection end? libssh2 often reports that as a failed wait
   ("Waiting for USERAUTH response", PUBLICKEY_UNVERIFIED...). The socket
   callbacks record how it ended; a failed wait for a reply may come just before
   the server's FIN, so give it a moment to arrive. */
static int peer_closed(xssh_session *s)
{
    if (s->fd < 0)
        return 0;
    char cause[8];
    if (xssh__transport_cause(s, cause, sizeof cause))
        return 1;
    char *m = NULL;
    libssh2_session_last_error(s->ssh, &m, NULL, 0);
    int wait_ms = (m && strncmp(m, "Waiting for", 11) == 0) ? 500 : 0;
    /* (a wait for input: a FIN or RST makes the socket readable) */
    if (xssh__wait(s->fd, XSSH__WAIT_IN, -1, NULL, xssh__now_ms() + wait_ms, 0) != 1)
        return 0;
    char c;
    ssize_t n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        xssh__note_io_failure(s, 2, -1);
    else if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
        xssh__note_io_failure(s, 2, errno);
    else
        return 0;
    return 1;
}

/* Turn an auth failure into an error with context. */
static int auth_fail(xssh_session *s, int rc, const char *method, const char *user)
{
    if (rc == XSSH_ETIMEOUT)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "%s authentication for user '%s' on %s timed out",
                          method, user, who(s));
    if (rc == XSSH_ECLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "%s authentication: the session was closed meanwhile", method);
    if (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_RECV ||
        rc == LIBSSH2_ERROR_SOCKET_SEND || peer_closed(s)) {
        char cause[400];
        int ccode = xssh__transport_cause(s, cause, sizeof cause);
        if (!ccode) {
            ccode = rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ? rc
                                                                                       : XSSH_ESOCKET_DISCONNECT;
            snprintf(cause, sizeof cause, "%s", xssh_strerror(ccode));
        }
        /* OpenSSH says why it ends an authentication (user name changed between
           attempts, MaxAuthTries reached) in an SSH disconnect message: only then
           is it the server's decision; otherwise the transport died */
        if (atomic_load(&s->peer_disconnect_reason))
            return xssh__fail(s, ccode, rc,
                              "%s authentication for user '%s' on %s failed: %s; OpenSSH ends the connection so "
                              "when the user name changes between attempts on one connection, or after "
                              "MaxAuthTries failures (%s)",
                              method, user, who(s), cause, xssh_err_name(ccode));
        return xssh__fail(s, ccode, rc, "%s authentication for user '%s' on %s failed: the connection was lost: %s (%s)",
                          method, user, who(s), cause, xssh_err_name(ccode));
    }
    return xssh__fail_ssh(s, rc, "%s authentication for user '%s' on %s failed", method, user, who(s));
}

/* libssh2 1.10 keeps the list it returns in the session and frees it only in
   libssh2_session_free, but a later userauth_list call overwrites the pointer
   first (the request packet goes in the same field): each repeated call leaked
   the previous list. Once the next call has started, libssh2 no longer refers
   to the previous list, so it is freed here. Newer libssh2 frees it itself. */
static int userauth_list_leaks(void) { return libssh2_version(0x010b00) == NULL; }

int xssh_session_userauth_list(xssh_session *s, const char *username, char **out)
{
    XSSH__ARG(s, out, "out is NULL");
    BEGIN_AUTH(username);
    char *list;
    int rc;
    for (;;) {
        list = libssh2_userauth_list(s->ssh, username, (unsigned)strlen(username));
        if (s->userauth_list_prev && s->userauth_list_prev != list) {
            libssh2_free(s->ssh, s->userauth_list_prev);
            s->userauth_list_prev = NULL;
        }
        if (list && userauth_list_leaks())
            s->userauth_list_prev = list;
        rc = list ? 0 : libssh2_session_last_errno(s->ssh);
        if (!xssh__op_again(&op, &rc))
            break;
    }
    if (!list && rc == 0 && libssh2_userauth_authenticated(s->ssh)) {
        /* the "none" method succeeded: no methods to list */
        xssh__op_end(&op);
        *out = xssh__strdup("");
        return xssh__ok();
    }
    xssh__op_end(&op);
    if (!list)
        return auth_fail(s, rc ? rc : LIBSSH2_ERROR_PROTO, "listing methods for", username);
    *out = xssh__strdup(list);
    return *out ? xssh__ok() : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_session_userauth_authenticated(xssh_session *s, int *out)
{
    XSSH__ARG(s, out, "out is NULL");
    XSSH__ARG(NULL, s, "session is NULL");
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e)
        return e;
    *out = libssh2_userauth_authenticated(s->ssh) ? 1 : 0;
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_session_userauth_password(xssh_session *s, const char *username, const char *password)
{
    XSSH__ARG(s, password, "password is NULL");
    BEGIN_AUTH(username);
    int rc;
    do {
        rc = libssh2_userauth_password_ex(s->ssh, username, (unsigned)strlen(username), password,
                                          (unsigned)strlen(password), NULL);
    } while (xssh__op_again(&op, &rc));
    xssh__op_end(&op);
    return rc ? auth_fail(s, rc, "password", username) : xssh__ok();
}

/* ---- public keys -------------------------------------------------------- */

static int blob_is_rsa(const unsigned char *b, size_t n)
{
    /* an SSH key blob starts with the string "ssh-rsa" */
    return n > 11 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 7 && memcmp(b + 4, "ssh-rsa", 7) == 0;
}

/* Is this key material (public key line, PEM or OpenSSH private key) an RSA key? */
static int text_is_rsa(const char *t, size_t n)
{
    if (!t || !n)
        return 0;
    if (n >= 8 && memcmp(t, "ssh-rsa ", 8) == 0)
        return 1;
    if (memmem(t, n, "BEGIN RSA PRIVATE KEY", 21))
        return 1;
    const char *hdr = memmem(t, n, "BEGIN OPENSSH PRIVATE KEY-----", 30);
    if (hdr) {
        const char *p = hdr + 30;
        char b64[200];
        size_t k = 0;
        while (p < t + n && k < sizeof b64 - 1 && *p != '-') {
            if (*p != '\n' && *p != '\r')
                b64[k++] = *p;
            p++;
        }
        k -= k % 4;
        b64[k] = '\0';
        unsigned char raw[160];
        int rl = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)k);
        if (rl > 0 && memmem(raw, (size_t)rl, "\0\0\0\x07ssh-rsa", 11))
            return 1;
    }
    return 0;
}

int xssh__key_text_is_rsa(const char *t, size_t n) { return text_is_rsa(t, n); }

/* Is this private key text encrypted? Read from the key itself: an OpenSSH
   "openssh-key-v1" key whose cipher name is not "none", a PEM key with
   "Proc-Type: 4,ENCRYPTED", a PKCS#8 "ENCRYPTED PRIVATE KEY". 1 encrypted, 0 a
   private key without encryption, -1 not a private key format xssh knows. */
int xssh__key_text_encrypted(const char *t, size_t n)
{
    if (!t || !n)
        return -1;
    static const char ossh[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
    const char *hdr = memmem(t, n, ossh, sizeof ossh - 1);
    if (hdr) {
        /* base64 up to the END line: magic "openssh-key-v1\0", then string ciphername */
        const char *p = hdr + sizeof ossh - 1, *end = t + n;
        char b64[256];
        size_t k = 0;
        while (p < end && k < sizeof b64 - 1 && *p != '-') {
            if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
                b64[k++] = *p;
            p++;
        }
        k -= k % 4;
        b64[k] = '\0';
        unsigned char raw[200];
        int rl = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)k);
        static const char magic[] = "openssh-key-v1"; /* with its NUL */
        if (rl < (int)sizeof magic + 4 || memcmp(raw, magic, sizeof magic) != 0)
            return -1;
        const unsigned char *c = raw + sizeof magic;
        size_t cl = (size_t)c[0] << 24 | (size_t)c[1] << 16 | (size_t)c[2] << 8 | c[3];
        if (cl > (size_t)rl - sizeof magic - 4)
            return -1;
        return !(cl == 4 && memcmp(c + 4, "none", 4) == 0);
    }
    if (memmem(t, n, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37))
        return 1;
    if (memmem(t, n, "PRIVATE KEY-----", 16) && memmem(t, n, "-----BEGIN ", 11))
        return memmem(t, n, "Proc-Type: 4,ENCRYPTED", 22) ? 1 : 0;
    return -1;
}

/* The same for a key file (its first 64 KiB); -1 not a key, -2 with errno when
   the file cannot be opened or read (EMFILE, EISDIR, EACCES...). */
int xssh__key_file_encrypted(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return path ? -2 : -1;
    char *buf = malloc(65536);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return -2;
    }
    errno = 0;
    size_t n = fread(buf, 1, 65536, f);
    if (ferror(f)) {
        int e = errno ? errno : EIO;
        free(buf);
        fclose(f);
        errno = e;
        return -2;
    }
    fclose(f);
    int r = xssh__key_text_encrypted(buf, n);
    free(buf);
    return r;
}

static int file_is_rsa(const char *path)
{
    if (!path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return text_is_rsa(buf, n);
}

/* A public-key failure with an RSA key and a libssh2 that only signs ssh-rsa:
   say what is really going on. */
static int pubkey_fail(xssh_session *s, int rc, int is_rsa, const char *user, const char *keydesc, int encrypted,
                       const char *passphrase)
{
    if (rc != LIBSSH2_ERROR_FILE && rc != LIBSSH2_ERROR_KEYFILE_AUTH_FAILED && peer_closed(s))
        return auth_fail(s, rc, "public-key", user);
    if (is_rsa && !(xssh_features() & XSSH_FEATURE_RSA_SHA2) &&
        (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED))
        return xssh__fail(s, XSSH_ERSA_SHA1_REFUSED, rc,
                          "public-key authentication for user '%s' on %s with RSA key %s failed: the server refuses "
                          "ssh-rsa (SHA-1) signatures (OpenSSH >= 8.8 does by default) and this libssh2 (%s) cannot "
                          "sign with RSA-SHA2, which needs libssh2 >= 1.11; use an Ed25519 or ECDSA key (or the key "
                          "is simply not authorized)",
                          user, who(s), keydesc, xssh_libssh2_version());
    /* say which: the key itself tells whether it is encrypted */
    if ((rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED) && encrypted == 1 &&
        !(passphrase && *passphrase))
        return xssh__fail(s, XSSH_EKEYFILE_AUTH_FAILED, rc,
                          "public-key authentication for user '%s': private key %s is encrypted and no passphrase "
                          "was given",
                          user, keydesc);
    if ((rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED) && encrypted == 1)
        return xssh__fail(s, XSSH_EKEYFILE_AUTH_FAILED, rc,
                          "public-key authentication for user '%s': wrong passphrase for private key %s", user,
                          keydesc);
    if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED)
        return xssh__fail(s, XSSH_EKEYFILE_AUTH_FAILED, rc,
                          "public-key authentication for user '%s': cannot use private key %s: %s", user, keydesc,
                          encrypted == 0 ? "a key format libssh2 cannot read, or a damaged key"
                                         : "not a private key (no OpenSSH, PEM or PKCS#8 private key in it)");
    return auth_fail(s, rc, "public-key", user);
}

/* With a public key given, libssh2 1.10 loads the private key only to sign, in
   its sign callback; a key it cannot load (encrypted without passphrase, wrong
   passphrase, bad format) then fails as PUBLICKEY_UNVERIFIED "Callback returned
   error", as if the server had refused. It is a local key-file failure (lock held). */
static int local_sign_failure(xssh_session *s, int rc)
{
    if (rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
        return rc;
    char *m = NULL;
    libssh2_session_last_error(s->ssh, &m, NULL, 0);
    return m && !strcmp(m, "Callback returned error") ? LIBSSH2_ERROR_FILE : rc;
}

int xssh_session_userauth_publickey_fromfile(xssh_session *s, const char *username, const char *privatekey,
                                             const char *publickey, const char *passphrase)
{
    /* argument errors come before file errors */
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, username && *username, "username is NULL or empty");
    XSSH__ARG(s, privatekey && *privatekey, "private key path is NULL or empty");
    XSSH__ARG(s, !publickey || *publickey, "public key path is empty");
    if (access(privatekey, R_OK) != 0)
        return xssh__fail(s, XSSH_EFILE, 0, "cannot read private key file '%s': %s", privatekey, strerror(errno));
    if (publickey && access(publickey, R_OK) != 0)
        return xssh__fail(s, XSSH_EFILE, 0, "cannot read public key file '%s': %s", publickey, strerror(errno));
    BEGIN_AUTH(username);
    int rc;
    do {
        rc = libssh2_userauth_publickey_fromfile_ex(s->ssh, username, (unsigned)strlen(username), publickey,
                                                    privatekey, passphrase ? passphrase : "");
    } while (xssh__op_again(&op, &rc));
    rc = local_sign_failure(s, rc);
    xssh__op_end(&op);
    if (!rc)
        return xssh__ok();
    char desc[600];
    snprintf(desc, sizeof desc, "'%s'", privatekey);
    return pubkey_fail(s, rc, file_is_rsa(publickey) || file_is_rsa(privatekey), username, desc,
                       xssh__key_file_encrypted(privatekey), passphrase);
}

int xssh_session_userauth_publickey_frommemory(xssh_session *s, const char *username, const void *privatekey,
                                               size_t privatekey_len, const void *publickey, size_t publickey_len,
                                               const char *passphrase)
{
    XSSH__ARG(s, privatekey && privatekey_len, "private key data is NULL or empty");
    XSSH__ARG(s, !publickey_len || publickey, "public key data is NULL with a non-zero length");
    BEGIN_AUTH(username);
    int rc;
    do {
        rc = libssh2_userauth_publickey_frommemory(s->ssh, username, strlen(username), publickey_len ? publickey : NULL,
                                                   publickey_len, privatekey, privatekey_len,
                                                   passphrase ? passphrase : "");
    } while (xssh__op_again(&op, &rc));
    rc = local_sign_failure(s, rc);
    xssh__op_end(&op);
    if (!rc)
        return xssh__ok();
    int rsa = text_is_rsa(privatekey, privatekey_len) || text_is_rsa(publickey, publickey_len) ||
              (publickey_len && blob_is_rsa(publickey, publickey_len));
    return pubkey_fail(s, rc, rsa, username, "(from memory)", xssh__key_text_encrypted(privatekey, privatekey_len),
                       passphrase);
}

/* ---- keyboard-interactive ----------------------------------------------- */

typedef struct kbd_ctx {
    const char *const *responses;
    size_t count;
} kbd_ctx;

_Thread_local void *xssh__tls_auth_kbd; /* set for the duration of the call, lock held */
#define tls_kbd xssh__tls_auth_kbd

static void kbd_cb(const char *name, int name_len, const char *instruction, int instruction_len, int num_prompts,
                   const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts, LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses,
                   void **abstract)
{
    kbd_ctx *k = tls_kbd;
    for (int i = 0; i < num_prompts; i++) {
        const char *r = "";
        if (k && k->count)
            r = k->responses[(size_t)i < k->count ? (size_t)i : k->count - 1];
        responses[i].text = strdup(r ? r : "");
        responses[i].length = responses[i].text ? (unsigned)strlen(responses[i].text) : 0;
    }
}

int xssh_session_userauth_keyboard_interactive_responses(xssh_session *s, const char *username,
                                                         const char *const *responses, size_t count)
{
    XSSH__ARG(s, responses || !count, "responses is NULL");
    for (size_t i = 0; i < count; i++)
        XSSH__ARG(s, responses[i], "a response is NULL");
    BEGIN_AUTH(username);
    kbd_ctx k = {responses, count};
    kbd_ctx *prev = tls_kbd;
    tls_kbd = &k;
    int rc;
    do {
        rc = libssh2_userauth_keyboard_interactive_ex(s->ssh, username, (unsigned)strlen(username), kbd_cb);
    } while (xssh__op_again(&op, &rc));
    tls_kbd = prev;
    xssh__op_end(&op);
    return rc ? auth_fail(s, rc, "keyboard-interactive", username) : xssh__ok();
}

int xssh_session_userauth_keyboard_interactive(xssh_session *s, const char *username, const char *password)
{
    XSSH__ARG(s, password, "password is NULL");
    const char *one[1] = {password};
    return xssh_session_userauth_keyboard_interactive_responses(s, username, one, 1);
}

/* ---- host-based ------------------------------------------------------------ */

int xssh_session_userauth_hostbased_fromfile(xssh_session *s, const char *username, const char *privatekey,
                                             const char *publickey, const char *passphrase, const char *hostname,
                                             const char *local_username)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, username && *username, "username is NULL or empty");
    XSSH__ARG(s, privatekey && *privatekey, "private key path is NULL or empty");
    XSSH__ARG(s, hostname && *hostname, "hostname is NULL or empty");
    if (access(privatekey, R_OK) != 0)
        return xssh__fail(s, XSSH_EFILE, 0, "cannot read private key file '%s': %s", privatekey, strerror(errno));
    char pubpath[4096];
    if (!publickey) {
        snprintf(pubpath, sizeof pubpath, "%s.pub", privatekey);
        publickey = pubpath;
    }
    if (!local_username)
        local_username = username;
    BEGIN_AUTH(username);
    int rc;
    do {
        rc = libssh2_userauth_hostbased_fromfile_ex(s->ssh, username, (unsigned)strlen(username), publickey, privatekey,
                                                    passphrase ? passphrase : "", hostname,
                                                    (unsigned)strlen(hostname), local_username,
                                                    (unsigned)strlen(local_username));
    } while (xssh__op_again(&op, &rc));
    xssh__op_end(&op);
    return rc ? auth_fail(s, rc, "host-based", username) : xssh__ok();
}

/* ---- agent ------------------------------------------------------------------ */

int xssh__agent_blocking_begin(xssh_session *s)
{
    /* libssh2's agent code is only reliable in blocking mode: run it so,
       bounded by the session timeout, with the lock held */
    libssh2_session_set_timeout(s->ssh, s->timeout_ms);
    libssh2_session_set_blocking(s->ssh, 1);
    return 0;
}

void xssh__agent_blocking_end(xssh_session *s)
{
    libssh2_session_set_blocking(s->ssh, 0);
    libssh2_session_set_timeout(s->ssh, 0);
}

/* Try the agent's identities in turn; only the one whose key blob is @p want
   (when given) — the agent makes the signature either way. */
static int agent_auth_blob(xssh_session *s, const char *username, const void *want, size_t want_len)
{
    BEGIN_AUTH(username);
    int rc = XSSH_OK;
    LIBSSH2_AGENT *agent = libssh2_agent_init(s->ssh);
    if (!agent) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ENOMEM, 0, "agent_auth: cannot initialise the agent");
    }
    xssh__agent_blocking_begin(s);
    if (libssh2_agent_connect(agent) != 0) {
        const char *sock = getenv("SSH_AUTH_SOCK");
        rc = xssh__fail(s, XSSH_EAGENT_CONNECT, 0, "agent_auth: cannot connect to the SSH agent at %s",
                        sock && *sock ? sock : "$SSH_AUTH_SOCK (not set)");
        goto out;
    }
    if (libssh2_agent_list_identities(agent) != 0) {
        rc = xssh__fail(s, XSSH_EAGENT_LIST, 0, "agent_auth: cannot list the agent's identities");
        goto disc;
    }
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    int tried = 0, last = 0;
    for (;;) {
        int g = libssh2_agent_get_identity(agent, &id, prev);
        if (g == 1)
            break;
        if (g < 0) {
            rc = xssh__fail(s, XSSH_EAGENT_IDENTITY, g, "agent_auth: cannot get an identity from the agent");
            goto disc;
        }
        if (want && (id->blob_len != want_len || memcmp(id->blob, want, want_len) != 0)) {
            prev = id;
            continue;
        }
        tried++;
        last = libssh2_agent_userauth(agent, username, id);
        if (last == 0)
            goto disc;
        prev = id;
    }
    if (want && !tried)
        rc = xssh__fail(s, XSSH_EAGENT_IDENTITY, 0,
                        "userauth_publickey: the SSH agent holds no private key for the given public key "
                        "(user '%s' on %s)", username, who(s));
    else
        rc = xssh__fail(s, XSSH_EAGENT_AUTH, last,
                        "%s: none of the agent's %d matching identities authenticated user '%s' on %s",
                        want ? "userauth_publickey" : "agent_auth", tried, username, who(s));
disc:
    libssh2_agent_disconnect(agent);
out:
    libssh2_agent_free(agent);
    xssh__agent_blocking_end(s);
    xssh__op_end(&op);
    return rc ? rc : xssh__ok();
}

int xssh_session_agent_auth(xssh_session *s, const char *username)
{
    return agent_auth_blob(s, username, NULL, 0);
}

int xssh_session_userauth_publickey(xssh_session *s, const char *username, const void *pubkey, size_t pubkey_len)
{
    XSSH__ARG(s, pubkey && pubkey_len > 0, "pubkey is NULL or empty");
    const unsigned char *p = pubkey;
    /* an OpenSSH public key line ("ssh-ed25519 AAAA... comment"): decode its blob */
    unsigned char *blob = NULL;
    size_t blen = pubkey_len;
    if (pubkey_len > 4 && !(p[0] == 0 && p[1] == 0)) {
        const char *sp = memchr(p, ' ', pubkey_len);
        if (sp) {
            const char *b64 = sp + 1, *end = (const char *)p + pubkey_len;
            const char *e = memchr(b64, ' ', (size_t)(end - b64));
            if (!e)
                e = end;
            while (e > b64 && (e[-1] == '\n' || e[-1] == '\r'))
                e--;
            blob = malloc((size_t)(e - b64));
            if (!blob)
                return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
            blen = xssh__base64_decode(b64, (size_t)(e - b64), blob);
            if (blen == (size_t)-1) {
                free(blob);
                return xssh__fail(s, XSSH_EARG, 0, "userauth_publickey: the public key line is not valid base64");
            }
            p = blob;
        }
    }
    int rc = agent_auth_blob(s, username, p, blen);
    free(blob);
    return rc;
}
