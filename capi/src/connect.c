/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh_connect: connect the way OpenSSH's ssh does, over what config.c resolved
 * (struct xssh__resolved): the TCP connection or the ProxyJump chain, algorithm
 * preferences, the host-key policy over every known_hosts file, ServerAlive*,
 * and the authentication chain (agent, identity files, keyboard-interactive,
 * password) that never hands out an unauthenticated session. Also the
 * process-wide log hook (xssh_log_set, xssh__log).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "config_internal.h"
#include "connect_internal.h"

/* ==== logging =============================================================== */

/* the level check is one relaxed atomic load; the callback and its userdata are
   read under a read lock, so xssh_log_set() returns only once no record is being
   delivered to the previous callback (a binding may free its userdata then) */
static atomic_int log_level;
static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static xssh_log_cb log_cb;
static void *log_ud;

int xssh_log_set(xssh_log_cb cb, void *userdata, int level)
{
    if (level < XSSH_LOG_NONE || level > XSSH_LOG_TRACE)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_log_set: invalid argument: level %d is not 0 (none) .. 5 (trace)",
                          level);
    pthread_rwlock_wrlock(&log_lock);
    log_cb = cb;
    log_ud = userdata;
    atomic_store(&log_level, cb ? level : XSSH_LOG_NONE);
    pthread_rwlock_unlock(&log_lock);
    return xssh__ok();
}

int xssh__log_enabled(int level)
{
    return level > XSSH_LOG_NONE && level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

static void log_deliver(int level, const char *host, const char *msg)
{
    int saved_errno = errno;
    pthread_rwlock_rdlock(&log_lock);
    if (log_cb && level <= atomic_load(&log_level))
        log_cb(level, host ? host : "", msg, log_ud);
    pthread_rwlock_unlock(&log_lock);
    errno = saved_errno;
}

void xssh__log(int level, const char *host, const char *fmt, ...)
{
    if (!xssh__log_enabled(level))
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_deliver(level, host, buf);
}

/* libssh2's trace (only a libssh2 built with LIBSSH2DEBUG produces any; Debian's
   is not): one record per line, at XSSH_LOG_TRACE. */
static void trace_handler(LIBSSH2_SESSION *ssh, void *context, const char *data, size_t len)
{
    (void)ssh;
    xssh_session *s = context;
    if (!xssh__log_enabled(XSSH_LOG_TRACE))
        return;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    char buf[2048];
    snprintf(buf, sizeof buf, "libssh2: %.*s", (int)(len < 2000 ? len : 2000), data);
    log_deliver(XSSH_LOG_TRACE, xssh__log_host(s), buf);
}

static void trace_install(xssh_session *s)
{
    if (!xssh__log_enabled(XSSH_LOG_TRACE))
        return;
    /* LIBSSH2_TRACE_TRANS is left out: it dumps decrypted packets, passwords included */
    xssh__lock(s);
    libssh2_trace(s->ssh, LIBSSH2_TRACE_KEX | LIBSSH2_TRACE_AUTH | LIBSSH2_TRACE_CONN | LIBSSH2_TRACE_SCP |
                              LIBSSH2_TRACE_SFTP | LIBSSH2_TRACE_ERROR | LIBSSH2_TRACE_PUBLICKEY);
    libssh2_trace_sethandler(s->ssh, s, trace_handler);
    xssh__unlock(s);
}

/* ==== small helpers ========================================================= */

/* "~/..." for a path under $HOME (messages only) */
static const char *tilde(const char *path, char *buf, size_t cap)
{
    const char *home = getenv("HOME");
    size_t hl = home ? strlen(home) : 0;
    while (hl > 1 && home[hl - 1] == '/')
        hl--;
    if (hl > 1 && !strncmp(path, home, hl) && path[hl] == '/') {
        snprintf(buf, cap, "~%s", path + hl);
        return buf;
    }
    return path;
}

static int list_has(const char *list, const char *item)
{
    size_t il = strlen(item);
    for (const char *p = list; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == il && !strncmp(p, item, il))
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* a growing "; "-separated text (what the auth chain tried and why) */
typedef struct why_buf {
    char *t;
    size_t n, cap;
} why_buf;

__attribute__((format(printf, 2, 3))) static void why_add(why_buf *w, const char *fmt, ...)
{
    char item[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    size_t need = w->n + strlen(item) + 3;
    if (need > w->cap) {
        size_t nc = need * 2;
        char *nt = realloc(w->t, nc);
        if (!nt)
            return;
        w->t = nt;
        w->cap = nc;
    }
    if (w->n) {
        memcpy(w->t + w->n, "; ", 2);
        w->n += 2;
    }
    strcpy(w->t + w->n, item);
    w->n += strlen(item);
}

/* Is this failure the end of the connection (no other method can follow)? */
static int fatal_code(xssh_session *s, int code)
{
    int closed = 0;
    xssh_session_is_closed(s, &closed);
    if (closed)
        return 1;
    switch (code) {
    case XSSH_ETIMEOUT:
    case XSSH_ECLOSED:
    case XSSH_ENOMEM:
    case XSSH_EBAD_USE:
    case XSSH_ESOCKET_NONE:
    case XSSH_ESOCKET_SEND:
    case XSSH_ESOCKET_RECV:
    case XSSH_ESOCKET_DISCONNECT:
    case XSSH_ESOCKET_TIMEOUT:
    case XSSH_EPROTO:
        return 1;
    default:
        return 0;
    }
}

/* The session's authentication state (lock taken briefly). */
static int authenticated(xssh_session *s)
{
    int a = 0;
    return xssh_session_userauth_authenticated(s, &a) == XSSH_OK && a;
}

/* ==== the authentication chain ============================================== */

typedef struct chain {
    xssh_session *s;
    xssh__resolved *r;
    const char *lh;       /* host for log records */
    why_buf why;
    /* blobs of agent keys already offered (a key file with the same public key is not offered again) */
    unsigned char **tried_blobs;
    size_t *tried_lens;
    size_t ntried;
    int fatal;            /* an error code that ended the connection, or 0 */
} chain;

static void tried_add(chain *c, const unsigned char *blob, size_t len)
{
    unsigned char **nb = realloc(c->tried_blobs, (c->ntried + 1) * sizeof *nb);
    if (!nb)
        return;
    c->tried_blobs = nb;
    size_t *nl = realloc(c->tried_lens, (c->ntried + 1) * sizeof *nl);
    if (!nl)
        return;
    c->tried_lens = nl;
    unsigned char *copy = xssh__memdup(blob, len);
    if (!copy)
        return;
    c->tried_blobs[c->ntried] = copy;
    c->tried_lens[c->ntried++] = len;
}

static int tried_has(const chain *c, const unsigned char *blob, size_t len)
{
    for (size_t i = 0; i < c->ntried; i++)
        if (c->tried_lens[i] == len && !memcmp(c->tried_blobs[i], blob, len))
            return 1;
    return 0;
}

/* The key blob of "<keyfile>.pub" ("type base64 [comment]"), allocated; NULL if none. */
static unsigned char *pub_blob(const char *keyfile, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.pub", keyfile);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[16384];
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got)
        return NULL;
    char *sp = strchr(line, ' ');
    if (!sp)
        return NULL;
    char *b64 = sp + 1;
    size_t bl = strcspn(b64, " \t\r\n");
    unsigned char *blob = malloc(bl * 3 / 4 + 3);
    if (!blob)
        return NULL;
    size_t n = xssh__base64_decode(b64, bl, blob);
    if (n == (size_t)-1 || n < 4) {
        free(blob);
        return NULL;
    }
    *len = n;
    return blob;
}

/* With IdentitiesOnly: is this agent key one of the IdentityFiles (by their .pub)? */
static int blob_in_identity_files(const xssh__resolved *r, const unsigned char *blob, size_t len)
{
    for (size_t i = 0; i < r->identity_files.n; i++) {
        size_t pl = 0;
        unsigned char *pb = pub_blob(r->identity_files.v[i], &pl);
        int same = pb && pl == len && !memcmp(pb, blob, len);
        free(pb);
        if (same)
            return 1;
    }
    return 0;
}

/* publickey through the agent. 1 authenticated, 0 not (reason recorded), <0 fatal. */
static int try_agent(chain *c, int *tried_any, int *considered)
{
    xssh_session *s = c->s;
    const xssh__resolved *r = c->r;
    const char *sock = r->identity_agent;
    if (sock && !strcmp(sock, "none"))
        return 0; /* IdentityAgent none: not recorded, as asked for */
    if (!sock || !strcmp(sock, "SSH_AUTH_SOCK"))
        sock = getenv("SSH_AUTH_SOCK");
    if (!sock || !*sock) {
        xssh__log(XSSH_LOG_DEBUG, c->lh, "agent: not used ($SSH_AUTH_SOCK is not set)");
        return 0;
    }
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e) {
        c->fatal = e;
        return e;
    }
    LIBSSH2_AGENT *agent = libssh2_agent_init(s->ssh);
    if (!agent) {
        xssh__op_end(&op);
        c->fatal = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory initialising the agent");
        return c->fatal;
    }
    libssh2_agent_set_identity_path(agent, sock);
    xssh__agent_blocking_begin(s);
    int result = 0, offered = 0, skipped = 0, total = 0;
    char pathbuf[4200];
    *considered = 1;
    if (libssh2_agent_connect(agent) != 0) {
        why_add(&c->why, "agent: cannot connect to %s", tilde(sock, pathbuf, sizeof pathbuf));
        xssh__log(XSSH_LOG_DEBUG, c->lh, "agent: cannot connect to %s", sock);
        goto out_free;
    }
    if (libssh2_agent_list_identities(agent) != 0) {
        why_add(&c->why, "agent: cannot list its identities");
        goto out_disc;
    }
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    for (int guard = 0; guard < 100000; guard++) {
        int g = libssh2_agent_get_identity(agent, &id, prev);
        if (g != 0)
            break;
        prev = id;
        total++;
        if (r->identities_only && !blob_in_identity_files(r, id->blob, id->blob_len)) {
            skipped++;
            continue;
        }
        offered++;
        *tried_any = 1;
        xssh__log(XSSH_LOG_DEBUG, c->lh, "agent: offering key '%s' for user '%s'", id->comment ? id->comment : "",
                  r->user);
        int rc = libssh2_agent_userauth(agent, r->user, id);
        tried_add(c, id->blob, id->blob_len);
        if (rc == 0) {
            xssh__log(XSSH_LOG_INFO, c->lh, "authenticated as '%s' with agent key '%s'", r->user,
                      id->comment ? id->comment : "");
            result = 1;
            goto out_disc;
        }
        if (rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
            rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_TIMEOUT) {
            char *m = NULL;
            libssh2_session_last_error(s->ssh, &m, NULL, 0);
            c->fatal = xssh__fail(s, rc == LIBSSH2_ERROR_TIMEOUT ? XSSH_ETIMEOUT : rc, rc,
                                  "authentication for user '%s' on %s: the connection failed while the agent's "
                                  "key was offered: %s",
                                  r->user, c->lh, m ? m : "");
            result = c->fatal;
            goto out_disc;
        }
        xssh__log(XSSH_LOG_DEBUG, c->lh, "agent: key '%s' refused", id->comment ? id->comment : "");
    }
    if (!total)
        why_add(&c->why, "agent: no keys");
    else if (!offered)
        why_add(&c->why, "agent: %d key%s not offered (IdentitiesOnly: none matches an IdentityFile)", skipped,
                skipped == 1 ? "" : "s");
    else
        why_add(&c->why, "agent: %d key%s refused%s", offered, offered == 1 ? "" : "s",
                skipped ? " (others not offered: IdentitiesOnly)" : "");
out_disc:
    libssh2_agent_disconnect(agent);
out_free:
    libssh2_agent_free(agent);
    xssh__agent_blocking_end(s);
    xssh__op_end(&op);
    return result;
}

/* publickey with one identity file. 1 authenticated, 0 not (reason recorded), <0 fatal. */
static int try_keyfile(chain *c, const char *path, int *tried_any, int *considered)
{
    xssh_session *s = c->s;
    const xssh__resolved *r = c->r;
    char sbuf[4200];
    const char *shown = tilde(path, sbuf, sizeof sbuf);
    if (access(path, F_OK) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            *considered = 1;
            why_add(&c->why, "%s: cannot be read: %s", shown, strerror(errno));
            return 0;
        }
        if (r->identity_files_explicit)
            why_add(&c->why, "%s: not found", shown);
        return 0;
    }
    *considered = 1;
    if (access(path, R_OK) != 0) {
        why_add(&c->why, "%s: cannot read: %s", shown, strerror(errno));
        return 0;
    }
    int enc = xssh__key_file_encrypted(path);
    if (enc == -2) {
        why_add(&c->why, "%s: cannot be read: %s", shown, strerror(errno));
        return 0;
    }
    if (enc < 0) {
        why_add(&c->why, "%s: not a private key (no OpenSSH, PEM or PKCS#8 key in it)", shown);
        return 0;
    }
    size_t pl = 0;
    unsigned char *pb = pub_blob(path, &pl);
    if (pb && tried_has(c, pb, pl)) {
        free(pb);
        why_add(&c->why, "%s: already offered through the agent", shown);
        return 0;
    }
    free(pb);
    char pass[1024];
    const char *passphrase = NULL;
    if (enc == 1) {
        if (r->passphrase) {
            passphrase = r->passphrase;
        } else if (r->passphrase_cb && !r->batch_mode) {
            memset(pass, 0, sizeof pass);
            if (r->passphrase_cb(path, pass, sizeof pass, r->passphrase_ud) == 0) {
                pass[sizeof pass - 1] = '\0';
                passphrase = pass;
            }
        }
        if (!passphrase) {
            explicit_bzero(pass, sizeof pass);
            why_add(&c->why, "%s: encrypted, no passphrase given%s", shown,
                    r->passphrase_cb && r->batch_mode ? " (BatchMode: the passphrase callback is not called)" : "");
            xssh__log(XSSH_LOG_WARNING, c->lh, "%s: encrypted, no passphrase given: skipped", shown);
            return 0;
        }
    }
    char pubpath[4200];
    snprintf(pubpath, sizeof pubpath, "%s.pub", path);
    int have_pub = access(pubpath, R_OK) == 0;
    *tried_any = 1;
    xssh__log(XSSH_LOG_DEBUG, c->lh, "publickey: trying %s%s for user '%s'", shown, enc == 1 ? " (encrypted)" : "",
              r->user);
    int rc = xssh_session_userauth_publickey_fromfile(s, r->user, path, have_pub ? pubpath : NULL, passphrase);
    explicit_bzero(pass, sizeof pass);
    if (rc == XSSH_OK) {
        xssh__log(XSSH_LOG_INFO, c->lh, "authenticated as '%s' with %s", r->user, shown);
        return 1;
    }
    if (fatal_code(s, rc)) {
        c->fatal = rc;
        return rc;
    }
    switch (rc) {
    case XSSH_EKEYFILE_AUTH_FAILED:
        if (enc == 1)
            why_add(&c->why, "%s: wrong passphrase", shown);
        else
            why_add(&c->why, "%s: libssh2 cannot read this key (unsupported format or damaged)", shown);
        break;
    case XSSH_ERSA_SHA1_REFUSED:
        why_add(&c->why, "%s: RSA key refused: the server refuses ssh-rsa (SHA-1) signatures (OpenSSH >= 8.8 does by "
                         "default) and this libssh2 (%s) cannot sign with RSA-SHA2, which needs libssh2 >= 1.11; use "
                         "an Ed25519 or ECDSA key (or the key is simply not authorized)",
                shown, xssh_libssh2_version());
        break;
    case XSSH_EFILE:
        why_add(&c->why, "%s: %s", shown, xssh_error_last()->message);
        break;
    default:
        why_add(&c->why, "%s: refused by the server", shown);
        break;
    }
    xssh__log(XSSH_LOG_DEBUG, c->lh, "publickey: %s failed: %s", shown, xssh_error_last()->message);
    return 0;
}

static int try_publickey(chain *c)
{
    int tried_any = 0, considered = 0, rc = 0;
    rc = try_agent(c, &tried_any, &considered); /* with IdentitiesOnly: only the keys of the IdentityFiles */
    if (rc)
        return rc;
    for (size_t i = 0; i < c->r->identity_files.n; i++) {
        rc = try_keyfile(c, c->r->identity_files.v[i], &tried_any, &considered);
        if (rc)
            return rc;
    }
    if (!considered && !c->r->identity_files_explicit)
        why_add(&c->why, "publickey: no key to offer (no agent key, none of the default key files exists)");
    return 0;
}

/* ---- keyboard-interactive -------------------------------------------------- */

typedef struct kbd_state {
    const xssh__resolved *r;
    const char *lh;
    int gave_up;          /* the callback declined, or a prompt had no answer */
    char unanswered[200]; /* the first prompt nobody could answer */
    int rounds;
} kbd_state;

_Thread_local void *xssh__tls_connect_kbd;
#define tls_kbd xssh__tls_connect_kbd

static int looks_like_password_prompt(const char *p)
{
    return strcasestr(p, "password") != NULL;
}

static void kbd_cb(const char *name, int name_len, const char *instruction, int instruction_len, int num_prompts,
                   const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts, LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses,
                   void **abstract)
{
    (void)abstract;
    kbd_state *k = tls_kbd;
    char *nm = strndup(name ? name : "", name ? (size_t)(name_len > 0 ? name_len : 0) : 0);
    char *in = strndup(instruction ? instruction : "", instruction ? (size_t)(instruction_len > 0 ? instruction_len : 0) : 0);
    if (k)
        k->rounds++;
    for (int i = 0; i < num_prompts; i++) {
        char *pr = strndup(prompts[i].text ? prompts[i].text : "", prompts[i].text ? prompts[i].length : 0);
        char buf[1024];
        memset(buf, 0, sizeof buf);
        const char *answer = "";
        if (k && pr && !k->gave_up) {
            xssh__log(XSSH_LOG_DEBUG, k->lh, "keyboard-interactive: prompt '%s'", pr);
            if (k->r->prompt_cb) {
                if (k->r->prompt_cb(nm ? nm : "", in ? in : "", pr, prompts[i].echo, buf, sizeof buf,
                                    k->r->prompt_ud) == 0) {
                    buf[sizeof buf - 1] = '\0';
                    answer = buf;
                } else {
                    k->gave_up = 1;
                    snprintf(k->unanswered, sizeof k->unanswered, "the prompt callback gave up at '%s'", pr);
                }
            } else if (k->r->password && looks_like_password_prompt(pr) && !prompts[i].echo) {
                answer = k->r->password;
            } else {
                k->gave_up = 1;
                snprintf(k->unanswered, sizeof k->unanswered,
                         "no answer for the prompt '%s' (a Password answers password prompts only; give a prompt "
                         "callback)",
                         pr);
            }
        }
        /* libssh2 sends and frees the responses itself (with free(), unwiped: a libssh2 1.10 limit) */
        responses[i].text = strdup(answer);
        responses[i].length = responses[i].text ? (unsigned)strlen(responses[i].text) : 0;
        explicit_bzero(buf, sizeof buf);
        free(pr);
    }
    free(nm);
    free(in);
}

/* 1 authenticated, 0 not (reason recorded), <0 fatal */
static int try_kbdint(chain *c)
{
    xssh_session *s = c->s;
    const xssh__resolved *r = c->r;
    kbd_state k;
    memset(&k, 0, sizeof k);
    k.r = r;
    k.lh = c->lh;
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e) {
        c->fatal = e;
        return e;
    }
    kbd_state *prev = tls_kbd;
    tls_kbd = &k;
    xssh__log(XSSH_LOG_DEBUG, c->lh, "keyboard-interactive: trying for user '%s'", r->user);
    int rc;
    do {
        rc = libssh2_userauth_keyboard_interactive_ex(s->ssh, r->user, (unsigned)strlen(r->user), kbd_cb);
    } while (xssh__op_again(&op, &rc));
    tls_kbd = prev;
    char *m = NULL;
    if (rc)
        libssh2_session_last_error(s->ssh, &m, NULL, 0);
    char lmsg[300];
    snprintf(lmsg, sizeof lmsg, "%s", m ? m : "");
    xssh__op_end(&op);
    if (rc == 0) {
        xssh__log(XSSH_LOG_INFO, c->lh, "authenticated as '%s' with keyboard-interactive", r->user);
        return 1;
    }
    if (rc == XSSH_ETIMEOUT || rc == XSSH_ECLOSED || rc == LIBSSH2_ERROR_SOCKET_SEND ||
        rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || fatal_code(s, 0)) {
        c->fatal = xssh__fail(s, rc == XSSH_ETIMEOUT ? XSSH_ETIMEOUT : rc == XSSH_ECLOSED ? XSSH_ECLOSED : rc, rc,
                              "keyboard-interactive authentication for user '%s' on %s: the connection failed: %s",
                              r->user, c->lh, rc == XSSH_ETIMEOUT ? "timed out" : lmsg);
        return c->fatal;
    }
    if (k.gave_up)
        why_add(&c->why, "keyboard-interactive: %s", k.unanswered);
    else
        why_add(&c->why, "keyboard-interactive: refused by the server (wrong answers)");
    xssh__log(XSSH_LOG_DEBUG, c->lh, "keyboard-interactive failed: %s", lmsg);
    return 0;
}

/* 1 authenticated, 0 not (reason recorded), <0 fatal */
static int try_password(chain *c)
{
    xssh_session *s = c->s;
    const xssh__resolved *r = c->r;
    char buf[1024];
    memset(buf, 0, sizeof buf);
    const char *pw = r->password;
    if (!pw && r->prompt_cb) {
        if (r->prompt_cb("", "", "Password: ", 0, buf, sizeof buf, r->prompt_ud) != 0) {
            explicit_bzero(buf, sizeof buf);
            why_add(&c->why, "password: the prompt callback gave no password");
            return 0;
        }
        buf[sizeof buf - 1] = '\0';
        pw = buf;
    }
    xssh__log(XSSH_LOG_DEBUG, c->lh, "password: trying for user '%s'", r->user);
    int rc = xssh_session_userauth_password(s, r->user, pw);
    explicit_bzero(buf, sizeof buf);
    if (rc == XSSH_OK) {
        xssh__log(XSSH_LOG_INFO, c->lh, "authenticated as '%s' with a password", r->user);
        return 1;
    }
    if (fatal_code(s, rc)) {
        c->fatal = rc;
        return rc;
    }
    if (rc == XSSH_EPASSWORD_EXPIRED)
        why_add(&c->why, "password: expired (the server asks for a new one; xssh does not change passwords)");
    else
        why_add(&c->why, "password: refused by the server (wrong password)");
    return 0;
}

/* Authenticate as ssh does (see connect.h). The session is connected and verified. */
static int authenticate(xssh_session *s, xssh__resolved *r, const char *lh)
{
    chain c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.r = r;
    c.lh = lh;
    char *offered = NULL;
    int rc = xssh_session_userauth_list(s, r->user, &offered);
    if (rc)
        return rc;
    if (authenticated(s)) {
        xssh_free(offered);
        xssh__log(XSSH_LOG_INFO, lh, "authenticated as '%s' with method \"none\"", r->user);
        return xssh__ok();
    }
    xssh__log(XSSH_LOG_DEBUG, lh, "the server offers user '%s': %s", r->user, offered);
    if (r->preferred_authentications && !*r->preferred_authentications) {
        /* as ssh: a list with no usable method authenticates with nothing (never all methods) */
        xssh_free(offered);
        rc = xssh__fail(s, XSSH_EAUTHENTICATION_FAILED, 0,
                        "authentication of user '%s' on %s failed: no method of PreferredAuthentications (%s) is "
                        "usable by xssh (it supports publickey, keyboard-interactive, password)",
                        r->user, lh, r->preferred_authentications_given ? r->preferred_authentications_given : "");
        xssh__log(XSSH_LOG_ERROR, lh, "%s", xssh_error_last()->message);
        return rc;
    }
    const char *prefs = r->preferred_authentications ? r->preferred_authentications
                                                     : "publickey,keyboard-interactive,password";
    int done = 0;
    for (const char *p = prefs; *p && !done && !c.fatal;) {
        size_t l = strcspn(p, ",");
        char m[64];
        snprintf(m, sizeof m, "%.*s", (int)(l < sizeof m ? l : sizeof m - 1), p);
        p += l;
        if (*p == ',')
            p++;
        int is_pk = !strcmp(m, "publickey"), is_kbd = !strcmp(m, "keyboard-interactive"),
            is_pw = !strcmp(m, "password");
        if (!is_pk && !is_kbd && !is_pw)
            continue; /* gssapi-with-mic, hostbased: not supported by xssh_connect */
        if ((is_pk && !r->pubkey_authentication) || (is_kbd && !r->kbd_interactive_authentication) ||
            (is_pw && !r->password_authentication)) {
            why_add(&c.why, "%s: disabled (%s no)", m,
                    is_pk ? "PubkeyAuthentication" : is_kbd ? "KbdInteractiveAuthentication" : "PasswordAuthentication");
            continue;
        }
        if ((is_kbd || is_pw) && r->batch_mode) {
            why_add(&c.why, "%s: not used in BatchMode", m);
            continue;
        }
        if ((is_kbd || is_pw) && !r->password && !r->prompt_cb) {
            why_add(&c.why, "%s: no password or prompt callback given", m);
            continue;
        }
        if (!list_has(offered, m)) {
            why_add(&c.why, "%s: not offered by the server", m);
            continue;
        }
        int res = is_pk ? try_publickey(&c) : is_kbd ? try_kbdint(&c) : try_password(&c);
        if (res == 1)
            done = 1;
        else if (res < 0)
            break;
        else if (authenticated(s))
            done = 1; /* (defensive: a method reported failure after the server accepted) */
    }
    xssh_free(offered);
    for (size_t i = 0; i < c.ntried; i++)
        free(c.tried_blobs[i]);
    free(c.tried_blobs);
    free(c.tried_lens);
    if (done) {
        free(c.why.t);
        return xssh__ok();
    }
    if (c.fatal) {
        free(c.why.t);
        return c.fatal; /* its message is the last error */
    }
    rc = xssh__fail(s, XSSH_EAUTHENTICATION_FAILED, 0, "authentication of user '%s' on %s failed: %s", r->user, lh,
                    c.why.t ? c.why.t : "no method could be tried");
    xssh__log(XSSH_LOG_ERROR, lh, "%s", xssh_error_last()->message);
    free(c.why.t);
    return rc;
}

/* ==== algorithms ============================================================ */

/* The items of want (in its order) that supported has; allocated. */
static char *intersect(const char *want, const char *supported, char *dropped, size_t dcap)
{
    char *out = calloc(1, strlen(want) + 1);
    if (!out)
        return NULL;
    if (dcap)
        dropped[0] = '\0';
    for (const char *p = want; *p;) {
        size_t l = strcspn(p, ",");
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)(l < sizeof item ? l : sizeof item - 1), p);
        p += l;
        if (*p == ',')
            p++;
        if (!*item)
            continue;
        /* host certificates: libssh2 1.10 lists them but cannot verify them */
        int cert = strstr(item, "-cert-v01@openssh.com") != NULL;
        if (!cert && list_has(supported, item) && !list_has(out, item)) {
            if (*out)
                strcat(out, ",");
            strcat(out, item);
        } else if (dcap && strlen(dropped) + strlen(item) + 2 < dcap) {
            if (*dropped)
                strcat(dropped, ",");
            strcat(dropped, item);
        }
    }
    return out;
}

/* The key type a host key algorithm verifies ("rsa-sha2-512" -> "ssh-rsa"). */
static const char *alg_key_type(const char *alg)
{
    if (!strncmp(alg, "rsa-sha2-", 9))
        return "ssh-rsa";
    return alg;
}

/* OpenSSH's order_hostkeyalgs: when the first algorithm's key type is not
   recorded for the host, the algorithms of recorded key types go first. */
static void known_first(char *list, const char *known)
{
    if (!known || !*known)
        return;
    char first[256];
    size_t l = strcspn(list, ",");
    snprintf(first, sizeof first, "%.*s", (int)(l < sizeof first ? l : sizeof first - 1), list);
    if (list_has(known, alg_key_type(first)))
        return;
    size_t n = strlen(list);
    char *a = calloc(1, n + 2), *b = calloc(1, n + 2);
    if (a && b) {
        for (const char *p = list; *p;) {
            size_t k = strcspn(p, ",");
            char item[256];
            snprintf(item, sizeof item, "%.*s", (int)(k < sizeof item ? k : sizeof item - 1), p);
            p += k;
            if (*p == ',')
                p++;
            char *to = list_has(known, alg_key_type(item)) ? a : b;
            if (*to)
                strcat(to, ",");
            strcat(to, item);
        }
        snprintf(list, n + 1, "%s%s%s", a, *a && *b ? "," : "", b);
    }
    free(a);
    free(b);
}

static int apply_one(xssh_session *s, const char *lh, const char *keyword, const char *want, int t1, int t2,
                     const char *known)
{
    if (!want || !*want)
        return XSSH_OK; /* libssh2's defaults */
    char *supported = NULL;
    int rc = xssh_session_supported_algs(s, t1, &supported);
    if (rc)
        return rc;
    char dropped[2048];
    char *use = intersect(want, supported, dropped, sizeof dropped);
    if (!use) {
        xssh_free(supported);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    if (!*use) {
        rc = xssh__fail(s, XSSH_ECONFIG, 0,
                        "%s: none of \"%s\" is supported by libssh2 %s (it supports: %s)", keyword, want,
                        xssh_libssh2_version(), supported);
        free(use);
        xssh_free(supported);
        return rc;
    }
    xssh_free(supported);
    if (known)
        known_first(use, known);
    if (*dropped)
        xssh__log(XSSH_LOG_DEBUG, lh, "%s: not supported by libssh2, left out: %s", keyword, dropped);
    xssh__log(XSSH_LOG_DEBUG, lh, "%s: %s", keyword, use);
    rc = xssh_session_method_pref(s, t1, use);
    if (!rc && t2 >= 0)
        rc = xssh_session_method_pref(s, t2, use);
    free(use);
    return rc;
}

/* The known_hosts files of a list, without "none" (UserKnownHostsFile none: no
   file); appended to out[*n]. */
static void add_files(const xssh__strlist *l, const char **out, size_t *n)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && *l->v[i] && strcmp(l->v[i], "none") != 0)
            out[(*n)++] = l->v[i];
}

static int apply_algorithms(xssh_session *s, const xssh__resolved *r, const char *lh)
{
    /* the key types known_hosts records for this host go first, as ssh orders them */
    const char **files = calloc(r->user_known_hosts_files.n + r->global_known_hosts_files.n + 1, sizeof *files);
    if (!files)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    size_t nf = 0;
    add_files(&r->user_known_hosts_files, files, &nf);
    add_files(&r->global_known_hosts_files, files, &nf);
    /* HostKeyAlias: the name known_hosts records instead of host[:port] (no port) */
    char *known = xssh__known_key_types(files, nf, r->host_key_alias ? r->host_key_alias : r->hostname,
                                        r->host_key_alias ? 22 : r->port);
    free(files);
    if (known && *known)
        xssh__log(XSSH_LOG_DEBUG, lh, "known_hosts records key types %s for %s", known, r->hostname);
    int rc = apply_one(s, lh, "KexAlgorithms", r->kex_algorithms, LIBSSH2_METHOD_KEX, -1, NULL);
    if (!rc)
        rc = apply_one(s, lh, "HostKeyAlgorithms", r->host_key_algorithms, LIBSSH2_METHOD_HOSTKEY, -1,
                       known ? known : "");
    if (!rc)
        rc = apply_one(s, lh, "Ciphers", r->ciphers, LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC, NULL);
    if (!rc)
        rc = apply_one(s, lh, "MACs", r->macs, LIBSSH2_METHOD_MAC_CS, LIBSSH2_METHOD_MAC_SC, NULL);
    free(known);
    if (!rc && r->compression) {
        rc = xssh_session_flag(s, XSSH_FLAG_COMPRESS, 1);
        if (!rc)
            xssh__log(XSSH_LOG_DEBUG, lh, "Compression: yes");
    }
    return rc;
}

/* ==== ProxyJump ============================================================= */

/* Split a hop "[ssh://][user@]host[:port]" (host may be "[v6addr]") into the
   "[user@]host" xssh__resolve takes and the port (0: none given): the host
   string reader of xssh_connect (xssh_host_parse) after the optional scheme.
   XSSH_EARG with its reason as the error (ssh's own check of the hop list is
   config.c's parse_jump, at parse time). */
static int parse_hop(const char *hop, char *spec, size_t cap, int *port)
{
    *port = 0;
    if (!strncmp(hop, "ssh://", 6))
        hop += 6;
    char *user = NULL, *host = NULL;
    int rc = xssh_host_parse(hop, &user, &host, port);
    if (rc == XSSH_OK) {
        if ((size_t)snprintf(spec, cap, "%s%s%s", user ? user : "", user ? "@" : "", host) >= cap)
            rc = xssh__fail(NULL, XSSH_EARG, 0, "host '%s' is too long", hop);
    }
    xssh_free(user);
    xssh_free(host);
    return rc;
}

static void strlist_clear(xssh__strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_equal(const xssh__strlist *a, const xssh__strlist *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return 0;
    return 1;
}

#define MAX_JUMP_DEPTH 8

static int connect_depth(xssh__resolved *r, xssh_options *options, xssh_session *via, int depth,
                         xssh_session **out);

/* Connect the hops of r->proxy_jump in turn; *last is the last hop (a new reference). */
static int connect_hops(xssh__resolved *r, xssh_options *options, int depth, xssh_session **last)
{
    *last = NULL;
    xssh_session *via = NULL;
    int rc = XSSH_OK;
    for (size_t i = 0; i < r->proxy_jump.n; i++) {
        char spec[1400];
        int port = 0;
        if (parse_hop(r->proxy_jump.v[i], spec, sizeof spec, &port) != 0) {
            rc = xssh__fail(NULL, XSSH_ECONFIG, 0, "ProxyJump: hop '%s' is not [user@]host[:port]: %s",
                            r->proxy_jump.v[i], xssh_error_last()->message);
            break;
        }
        xssh__resolved *hr = NULL;
        rc = xssh__resolve(options, spec, &hr);
        if (rc)
            break;
        if (port)
            hr->port = port;
        /* later hops go through the one before (ssh -J); the first hop resolving to the
           target's very list got it from the explicit ProxyJump option (ssh runs the hop's
           ssh without the -J it was given), which would lead back to itself */
        if (i > 0 || via || strlist_equal(&hr->proxy_jump, &r->proxy_jump))
            strlist_clear(&hr->proxy_jump);
        xssh__log(XSSH_LOG_INFO, r->host_arg, "ProxyJump hop %zu of %zu: %s@%s port %d", i + 1, r->proxy_jump.n,
                  hr->user, hr->hostname, hr->port);
        xssh_session *hop = NULL;
        rc = connect_depth(hr, options, via, depth + 1, &hop);
        xssh__resolved_free(hr);
        xssh_session_unref(via); /* the new hop holds it */
        via = hop;
        if (rc) {
            xssh__saved_err e;
            xssh__err_save(&e);
            rc = xssh__fail(NULL, e.code, e.libssh2_code, "ProxyJump hop '%s': %s", r->proxy_jump.v[i], e.msg);
            break;
        }
    }
    if (rc) {
        if (via) {
            xssh__saved_err e;
            xssh__err_save(&e);
            xssh_session_close(via);
            xssh_session_unref(via);
            xssh__err_restore(NULL, &e);
        }
        return rc;
    }
    *last = via;
    return XSSH_OK;
}

/* ==== connect ================================================================ */

static const char *policy_name(int p)
{
    return p == XSSH_HOSTKEY_STRICT ? "yes" : p == XSSH_HOSTKEY_ACCEPT_NEW ? "accept-new" : "no";
}

static void log_resolved(const xssh__resolved *r)
{
    if (!xssh__log_enabled(XSSH_LOG_INFO))
        return;
    const char *lh = r->host_arg;
    xssh__log(XSSH_LOG_INFO, lh, "connecting to %s port %d as '%s'%s%s", r->hostname, r->port, r->user,
              r->proxy_jump.n ? " through ProxyJump " : "", r->proxy_jump.n ? r->proxy_jump.v[0] : "");
    if (!xssh__log_enabled(XSSH_LOG_DEBUG))
        return;
    char ids[2048] = "";
    for (size_t i = 0; i < r->identity_files.n; i++) {
        char b[1024];
        size_t l = strlen(ids);
        snprintf(ids + l, sizeof ids - l, "%s%s", l ? "," : "", tilde(r->identity_files.v[i], b, sizeof b));
    }
    xssh__log(XSSH_LOG_DEBUG, lh,
              "options: identityfile %s%s; identitiesonly %s; identityagent %s; stricthostkeychecking %s; "
              "hashknownhosts %s; connecttimeout %d; serveraliveinterval %d; serveralivecountmax %d; compression %s; "
              "batchmode %s; preferredauthentications %s; pubkey/kbdinteractive/password authentication %s/%s/%s; "
              "timeout %ld ms; password %s; passphrase %s; callbacks: passphrase %s, prompt %s",
              ids, r->identity_files_explicit ? "" : " (defaults)", r->identities_only ? "yes" : "no",
              r->identity_agent ? r->identity_agent : "$SSH_AUTH_SOCK", policy_name(r->strict_host_key_checking),
              r->hash_known_hosts ? "yes" : "no", r->connect_timeout_s, r->server_alive_interval_s,
              r->server_alive_count_max, r->compression ? "yes" : "no", r->batch_mode ? "yes" : "no",
              r->preferred_authentications ? r->preferred_authentications : "(default)",
              r->pubkey_authentication ? "yes" : "no", r->kbd_interactive_authentication ? "yes" : "no",
              r->password_authentication ? "yes" : "no", r->timeout_ms, r->password ? "given" : "none",
              r->passphrase ? "given" : "none", r->passphrase_cb ? "yes" : "no", r->prompt_cb ? "yes" : "no");
}

static int connect_depth(xssh__resolved *r, xssh_options *options, xssh_session *via, int depth,
                         xssh_session **out)
{
    *out = NULL;
    const char *lh = r->host_arg ? r->host_arg : r->hostname;
    if (depth > MAX_JUMP_DEPTH)
        return xssh__fail(NULL, XSSH_ECONFIG, 0,
                          "ProxyJump: more than %d hops in a row for %s (does a hop's own ProxyJump lead back?)",
                          MAX_JUMP_DEPTH, lh);
    if (!r->hostname || !*r->hostname || !r->user || !*r->user || r->port < 1 || r->port > 65535)
        return xssh__fail(NULL, XSSH_EARG, 0, "connect: the resolved options for %s lack a host name, user or port",
                          lh);
    log_resolved(r);
    xssh_session *s = NULL;
    xssh_session *hops = NULL;
    int rc = xssh_session_new(&s);
    if (rc)
        return rc;
    s->log_host = xssh__strdup(lh); /* (not shared yet: no lock needed) */
    trace_install(s);
    if (r->timeout_ms > 0)
        rc = xssh_session_set_timeout(s, r->timeout_ms);
    if (!rc)
        rc = apply_algorithms(s, r, lh);
    if (rc)
        goto fail;
    int ct_ms = r->connect_timeout_s > 0 ? r->connect_timeout_s * 1000 : 0;
    if (!via && r->proxy_jump.n) {
        rc = connect_hops(r, options, depth, &hops);
        if (rc)
            goto fail;
        via = hops;
    }
    if (via) {
        xssh__log(XSSH_LOG_DEBUG, lh, "connecting to %s port %d through the previous hop", r->hostname, r->port);
        xssh__phase(XSSH_PHASE_CONNECT);
        rc = xssh_session_connect_via(s, via, r->hostname, r->port, ct_ms);
    } else {
        xssh__log(XSSH_LOG_DEBUG, lh, "connecting to %s port %d%s%s%s", r->hostname, r->port,
                  r->bind_address ? " from " : "", r->bind_address ? r->bind_address : "",
                  r->address_family == AF_INET ? " (IPv4)" : r->address_family == AF_INET6 ? " (IPv6)" : "");
        rc = xssh__session_connect_ex(s, r->hostname, r->port, ct_ms, r->address_family, r->bind_address);
    }
    xssh_session_unref(hops); /* the target holds its hop chain now */
    hops = NULL;
    if (rc) {
        xssh__log(XSSH_LOG_ERROR, lh, "%s", xssh_error_last()->message);
        goto fail;
    }
    {
        char *fp = NULL;
        if (xssh__log_enabled(XSSH_LOG_DEBUG) && xssh_session_hostkey_fingerprint(s, &fp) == XSSH_OK)
            xssh__log(XSSH_LOG_DEBUG, lh, "the server's host key is %s", fp);
        xssh_free(fp);
    }
    int learned = 0;
    const char **uf = calloc(r->user_known_hosts_files.n + 1, sizeof *uf),
               **gf = calloc(r->global_known_hosts_files.n + 1, sizeof *gf);
    size_t nu = 0, ng = 0;
    if (!uf || !gf) {
        free(uf);
        free(gf);
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto fail;
    }
    add_files(&r->user_known_hosts_files, uf, &nu);
    add_files(&r->global_known_hosts_files, gf, &ng);
    /* HostKeyAlias replaces the name and no port is added (OpenSSH get_hostfile_hostname_ipaddr) */
    xssh__phase(XSSH_PHASE_HOSTKEY);
    rc = xssh__verify_host_files(s, lh, r->host_key_alias ? r->host_key_alias : r->hostname,
                                 r->host_key_alias ? 22 : r->port, r->strict_host_key_checking, uf, nu, gf, ng,
                                 r->hash_known_hosts, &learned);
    free(uf);
    free(gf);
    if (rc) {
        xssh__log(XSSH_LOG_ERROR, lh, "host key check (StrictHostKeyChecking %s): %s",
                  policy_name(r->strict_host_key_checking), xssh_error_last()->message);
        goto fail;
    }
    xssh__log(XSSH_LOG_INFO, lh, "host key of %s accepted (StrictHostKeyChecking %s%s)", r->hostname,
              policy_name(r->strict_host_key_checking), learned ? ", newly recorded" : "");
    if (r->server_alive_interval_s > 0) {
        int max = r->server_alive_count_max > 0 ? r->server_alive_count_max : 1;
        xssh_session_keepalive_config(s, 1, (unsigned)r->server_alive_interval_s);
        xssh__session_set_alive(s, (long)r->server_alive_interval_s * 1000, max);
        xssh__log(XSSH_LOG_DEBUG, lh,
                  "ServerAliveInterval %d, ServerAliveCountMax %d: a quiet wait probes the server after %d s and "
                  "gives up after %ld s of silence",
                  r->server_alive_interval_s, max, r->server_alive_interval_s,
                  (long)r->server_alive_interval_s * (max + 1));
    }
    xssh__phase(XSSH_PHASE_AUTH);
    rc = authenticate(s, r, lh);
    if (rc)
        goto fail;
    *out = s;
    return xssh__ok();
fail:;
    xssh__saved_err e;
    xssh__err_save(&e);
    xssh_session_unref(hops);
    xssh_session_close(s);
    xssh_session_unref(s);
    return xssh__err_restore(NULL, &e);
}

int xssh__connect_resolved(xssh__resolved *r, xssh_options *options, xssh_session **out)
{
    if (!out)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_connect: invalid argument: out is NULL");
    *out = NULL;
    if (!r)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_connect: invalid argument: no resolved options");
    return connect_depth(r, options, NULL, 0, out);
}

int xssh_connect(const char *host, xssh_options *options, xssh_session **out)
{
    if (!out)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_connect: invalid argument: out is NULL");
    *out = NULL;
    if (!host || !*host)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_connect: invalid argument: host is NULL or empty");
    xssh__resolved *r = NULL;
    int rc = xssh__resolve(options, host, &r);
    if (rc) {
        xssh__log(XSSH_LOG_ERROR, host, "configuration: %s", xssh_error_last()->message);
        return rc;
    }
    rc = xssh__connect_resolved(r, options, out);
    xssh__resolved_free(r);
    return rc;
}
