/* SPDX-License-Identifier: BSD-3-Clause */
/* Known-hosts collections (OpenSSH known_hosts format) and their entries.
 *
 * A collection wraps a LIBSSH2_KNOWNHOSTS of its session; every libssh2 call is
 * made with the session lock held. Entries handed out are plain copies (name,
 * key, type mask, magic and the entry's known_hosts line), never pointers into
 * libssh2 memory: an operation on an entry (writeline, delete) finds the
 * collection's current libssh2 entry equal to the copy. Known-hosts work is
 * local, so it needs no connection, but once the session is closed every call
 * answers XSSH_ECLOSED. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct xssh_knownhosts {
    xssh__refcount refs;
    xssh_session *s;
    LIBSSH2_KNOWNHOSTS *kh;
};

struct xssh_knownhost {
    xssh__refcount refs;
    char *name;   /* "" for hashed entries */
    char *key;    /* as stored by libssh2 (base64) */
    char *line;   /* the entry's known_hosts line, or NULL if it cannot be written */
    int typemask;
    unsigned int magic;
};

/* libssh2's own message for the last failure (lock held) */
static const char *ssh_msg(xssh_session *s)
{
    char *m = NULL;
    libssh2_session_last_error(s->ssh, &m, NULL, 0);
    return m && *m ? m : "no details";
}

#define BEGIN(kh)                                            \
    XSSH__ARG(NULL, (kh), "knownhosts is NULL");             \
    xssh_session *s = (kh)->s;                               \
    xssh__op op;                                             \
    int e_ = xssh__op_begin(&op, s, 0, NULL);                \
    if (e_)                                                  \
        return e_

#define FILE_TYPE_ARG(s, t) XSSH__ARG((s), (t) == XSSH_KNOWNHOST_FILE_OPENSSH, "file_type must be XSSH_KNOWNHOST_FILE_OPENSSH")

/* ---- lifetime ------------------------------------------------------------ */

int xssh_knownhosts_new(xssh_knownhosts **out, xssh_session *session)
{
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, session, "session is NULL");
    xssh_knownhosts *kh = calloc(1, sizeof *kh);
    if (!kh)
        return xssh__fail(session, XSSH_ENOMEM, 0, "out of memory allocating a known-hosts collection");
    xssh__op op;
    int e = xssh__op_begin(&op, session, 0, NULL);
    if (e) {
        free(kh);
        return e;
    }
    kh->kh = libssh2_knownhost_init(session->ssh);
    if (!kh->kh) {
        xssh__op_end(&op);
        free(kh);
        return xssh__fail(session, XSSH_ENOMEM, 0, "libssh2_knownhost_init failed (out of memory)");
    }
    xssh__op_end(&op);
    xssh__ref_init(&kh->refs);
    kh->s = xssh_session_ref(session);
    *out = kh;
    return xssh__ok();
}

xssh_knownhosts *xssh_knownhosts_ref(xssh_knownhosts *kh)
{
    if (kh)
        xssh__ref_inc(&kh->refs);
    return kh;
}

void xssh_knownhosts_unref(xssh_knownhosts *kh)
{
    if (!kh || !xssh__ref_dec(&kh->refs))
        return;
    xssh_session *s = kh->s;
    /* libssh2_knownhost_free does no I/O: free it now, under the lock */
    xssh__lock(s);
    libssh2_knownhost_free(kh->kh);
    xssh__unlock(s);
    free(kh);
    xssh_session_unref(s);
}

/* ---- entries (copies) ----------------------------------------------------- */

static void entry_free(xssh_knownhost *e)
{
    free(e->name);
    free(e->key);
    free(e->line);
    free(e);
}

/* The known_hosts line of a libssh2 entry, allocated, or NULL (lock held). */
static char *line_of(LIBSSH2_KNOWNHOSTS *kh, struct libssh2_knownhost *le, int *rc_out)
{
    size_t cap = 1024;
    for (;;) {
        char *buf = malloc(cap);
        if (!buf) {
            *rc_out = LIBSSH2_ERROR_ALLOC;
            return NULL;
        }
        size_t len = 0;
        int rc = libssh2_knownhost_writeline(kh, le, buf, cap, &len, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
        if (rc == 0) {
            *rc_out = 0;
            return buf;
        }
        free(buf);
        if (rc != LIBSSH2_ERROR_BUFFER_TOO_SMALL || cap > (1u << 24)) {
            *rc_out = rc;
            return NULL;
        }
        cap = len + 1 > cap * 2 ? len + 1 : cap * 2;
    }
}

/* Copy a libssh2 entry (lock held). NULL when out of memory. */
static xssh_knownhost *entry_copy(LIBSSH2_KNOWNHOSTS *kh, struct libssh2_knownhost *le)
{
    xssh_knownhost *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    xssh__ref_init(&e->refs);
    e->name = xssh__strdup(le->name ? le->name : "");
    e->key = xssh__strdup(le->key ? le->key : "");
    e->typemask = le->typemask;
    e->magic = le->magic;
    int rc;
    e->line = line_of(kh, le, &rc); /* NULL for entries libssh2 cannot write */
    if (!e->name || !e->key || (!e->line && rc == LIBSSH2_ERROR_ALLOC)) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* Does libssh2 entry le equal the copy e? (lock held) */
static int entry_equal(LIBSSH2_KNOWNHOSTS *kh, struct libssh2_knownhost *le, const xssh_knownhost *e)
{
    if (le->typemask != e->typemask)
        return 0;
    if (strcmp(le->name ? le->name : "", e->name) != 0)
        return 0;
    if (strcmp(le->key ? le->key : "", e->key) != 0)
        return 0;
    if (e->line) {
        /* hashed entries have no name: the line (salt and hash) tells them apart */
        int rc;
        char *l = line_of(kh, le, &rc);
        int same = l && strcmp(l, e->line) == 0;
        free(l);
        return same;
    }
    return 1;
}

/* The collection's current entry equal to e, or NULL (lock held). */
static struct libssh2_knownhost *entry_find(LIBSSH2_KNOWNHOSTS *kh, const xssh_knownhost *e)
{
    struct libssh2_knownhost *le = NULL, *prev = NULL;
    while (libssh2_knownhost_get(kh, &le, prev) == 0) {
        if (entry_equal(kh, le, e))
            return le;
        prev = le;
    }
    return NULL;
}

static size_t count_entries(LIBSSH2_KNOWNHOSTS *kh)
{
    struct libssh2_knownhost *le = NULL, *prev = NULL;
    size_t n = 0;
    while (libssh2_knownhost_get(kh, &le, prev) == 0) {
        n++;
        prev = le;
    }
    return n;
}

static const char *entry_desc(const xssh_knownhost *e)
{
    return e->name && *e->name ? e->name : "(hashed host)";
}

xssh_knownhost *xssh_knownhost_ref(xssh_knownhost *entry)
{
    if (entry)
        xssh__ref_inc(&entry->refs);
    return entry;
}

void xssh_knownhost_unref(xssh_knownhost *entry)
{
    if (entry && xssh__ref_dec(&entry->refs))
        entry_free(entry);
}

int xssh_knownhost_name(xssh_knownhost *entry, const char **out)
{
    XSSH__ARG(NULL, entry, "entry is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = entry->name;
    return xssh__ok();
}

int xssh_knownhost_key(xssh_knownhost *entry, const char **out)
{
    XSSH__ARG(NULL, entry, "entry is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = entry->key;
    return xssh__ok();
}

int xssh_knownhost_typemask(xssh_knownhost *entry, int *out)
{
    XSSH__ARG(NULL, entry, "entry is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = entry->typemask;
    return xssh__ok();
}

int xssh_knownhost_magic(xssh_knownhost *entry, unsigned int *out)
{
    XSSH__ARG(NULL, entry, "entry is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = entry->magic;
    return xssh__ok();
}

/* ---- reading and writing ---------------------------------------------------- */

int xssh_knownhosts_readfile(xssh_knownhosts *kh, const char *path, int file_type, size_t *count_out)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, path && *path, "path is NULL or empty");
    FILE_TYPE_ARG(kh->s, file_type);
    BEGIN(kh);
    size_t before = count_entries(kh->kh);
    errno = 0;
    if (xssh__knownhosts_load(kh->kh, path, NULL) != 0) {
        int err = errno;
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EKNOWNHOST_READFILE, 0, "cannot read known_hosts file '%s': %s", path,
                          err ? strerror(err) : "cannot open");
    }
    size_t after = count_entries(kh->kh);
    xssh__op_end(&op);
    if (count_out)
        *count_out = after - before;
    return xssh__ok();
}

int xssh_knownhosts_readline(xssh_knownhosts *kh, const char *line, size_t len, int file_type)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, line, "line is NULL");
    FILE_TYPE_ARG(kh->s, file_type);
    /* libssh2 may look one byte past len: give it a terminated copy */
    char *copy = malloc(len + 1);
    if (!copy)
        return xssh__fail(kh->s, XSSH_ENOMEM, 0, "out of memory");
    memcpy(copy, line, len);
    copy[len] = '\0';
    size_t n = strlen(copy);
    xssh_session *s = kh->s;
    xssh__op op;
    int e = xssh__op_begin(&op, s, 0, NULL);
    if (e) {
        free(copy);
        return e;
    }
    const char *why = xssh__kh_line_check(copy, &n); /* (CR dropped; lines libssh2 must not keep) */
    int rc = why ? LIBSSH2_ERROR_METHOD_NOT_SUPPORTED
                 : libssh2_knownhost_readline(kh->kh, copy, n, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    if (rc) {
        /* show the line without its newline, shortened */
        size_t show = n;
        while (show && (copy[show - 1] == '\n' || copy[show - 1] == '\r'))
            show--;
        int fr = xssh__fail(s, XSSH_EKNOWNHOST_READLINE, rc, "cannot parse known_hosts line '%.*s%s': %s",
                            (int)(show > 120 ? 120 : show), copy, show > 120 ? "..." : "", why ? why : ssh_msg(s));
        xssh__op_end(&op);
        free(copy);
        return fr;
    }
    xssh__op_end(&op);
    free(copy);
    return xssh__ok();
}

int xssh_knownhosts_writefile(xssh_knownhosts *kh, const char *path, int file_type)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, path && *path, "path is NULL or empty");
    FILE_TYPE_ARG(kh->s, file_type);
    BEGIN(kh);
    errno = 0;
    int rc = libssh2_knownhost_writefile(kh->kh, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    int err = errno;
    if (rc) {
        int fr;
        if (rc == LIBSSH2_ERROR_FILE && err)
            fr = xssh__fail(s, XSSH_EKNOWNHOST_WRITEFILE, rc, "cannot write known_hosts file '%s': %s (%s)", path,
                            ssh_msg(s), strerror(err));
        else
            fr = xssh__fail(s, XSSH_EKNOWNHOST_WRITEFILE, rc, "cannot write known_hosts file '%s': %s", path,
                            ssh_msg(s));
        xssh__op_end(&op);
        return fr;
    }
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_knownhosts_writeline(xssh_knownhosts *kh, xssh_knownhost *entry, int file_type, char **out)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, entry, "entry is NULL");
    XSSH__ARG(kh->s, out, "out is NULL");
    *out = NULL;
    FILE_TYPE_ARG(kh->s, file_type);
    BEGIN(kh);
    struct libssh2_knownhost *le = entry_find(kh->kh, entry);
    if (!le) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EKNOWNHOST_WRITELINE, 0,
                          "writeline: the entry for %s is not in this known-hosts collection", entry_desc(entry));
    }
    int rc;
    char *line = line_of(kh->kh, le, &rc);
    if (!line) {
        int fr = rc == LIBSSH2_ERROR_ALLOC
                     ? xssh__fail(s, XSSH_ENOMEM, rc, "out of memory")
                     : xssh__fail(s, XSSH_EKNOWNHOST_WRITELINE, rc, "cannot format the known_hosts line for %s: %s",
                                  entry_desc(entry), ssh_msg(s));
        xssh__op_end(&op);
        return fr;
    }
    xssh__op_end(&op);
    *out = line;
    return xssh__ok();
}

/* ---- adding, checking, listing, deleting ------------------------------------ */

int xssh_knownhosts_addc(xssh_knownhosts *kh, const char *host, const char *salt, const void *key, size_t key_len,
                         const char *comment, int typemask, xssh_knownhost **out)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    if (out)
        *out = NULL;
    XSSH__ARG(kh->s, host && *host, "host is NULL or empty");
    XSSH__ARG(kh->s, key, "key is NULL");
    int b64 = (typemask & XSSH_KNOWNHOST_KEYENC_MASK) == XSSH_KNOWNHOST_KEYENC_BASE64;
    XSSH__ARG(kh->s, key_len || b64, "key_len is 0 for a raw key");
    int hashed = (typemask & XSSH_KNOWNHOST_TYPE_MASK) == XSSH_KNOWNHOST_TYPE_SHA1;
    XSSH__ARG(kh->s, !hashed || (salt && *salt), "XSSH_KNOWNHOST_TYPE_SHA1 needs a salt");
    if (hashed) { /* as a known_hosts line's |1|salt|hash (xssh__kh_line_check) */
        const char *why = xssh__kh_hashed_part_why(salt, strlen(salt), 1);
        if (!why)
            why = xssh__kh_hashed_part_why(host, strlen(host), 0);
        if (why)
            return xssh__fail(kh->s, XSSH_EARG, 0,
                              "xssh_knownhosts_addc: invalid argument: XSSH_KNOWNHOST_TYPE_SHA1 takes host = base64(HMAC-SHA1(salt, name)) "
                              "and salt = base64 of 20 bytes: %s",
                              why);
    }
    /* a base64 key must be terminated for libssh2 (it copies key_len + 1 bytes) */
    char *keycopy = NULL;
    if (b64) {
        size_t n = key_len ? key_len : strlen((const char *)key);
        keycopy = malloc(n + 1);
        if (!keycopy)
            return xssh__fail(kh->s, XSSH_ENOMEM, 0, "out of memory");
        memcpy(keycopy, key, n);
        keycopy[n] = '\0';
        key = keycopy;
        key_len = n;
    }
    xssh_session *s = kh->s;
    xssh__op op;
    int e_ = xssh__op_begin(&op, s, 0, NULL);
    if (e_) {
        free(keycopy);
        return e_;
    }
    struct libssh2_knownhost *le = NULL;
    int rc = libssh2_knownhost_addc(kh->kh, host, salt, (const char *)key, key_len, comment,
                                    comment ? strlen(comment) : 0, typemask, &le);
    free(keycopy);
    if (rc) {
        int fr = xssh__fail(s, XSSH_EKNOWNHOST_ADD, rc, "cannot add known host %s (typemask 0x%x): %s", host,
                            (unsigned)typemask, ssh_msg(s));
        xssh__op_end(&op);
        return fr;
    }
    xssh_knownhost *e = NULL;
    if (out) {
        e = entry_copy(kh->kh, le);
        if (!e) {
            xssh__op_end(&op);
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory (the host %s was added)", host);
        }
    }
    xssh__op_end(&op);
    if (out)
        *out = e;
    return xssh__ok();
}

int xssh_knownhosts_checkp(xssh_knownhosts *kh, const char *host, int port, const void *key, size_t key_len,
                           int typemask, int *result_out, xssh_knownhost **entry_out)
{
    if (result_out)
        *result_out = XSSH_KNOWNHOST_CHECK_FAILURE;
    if (entry_out)
        *entry_out = NULL;
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, host && *host, "host is NULL or empty");
    XSSH__ARG(kh->s, port >= -1 && port < 65536, "port must be -1 (host only) or 0..65535");
    XSSH__ARG(kh->s, key, "key is NULL");
    XSSH__ARG(kh->s, (typemask & XSSH_KNOWNHOST_TYPE_MASK) != XSSH_KNOWNHOST_TYPE_SHA1,
              "typemask: check a plain host name, not XSSH_KNOWNHOST_TYPE_SHA1");
    int b64 = (typemask & XSSH_KNOWNHOST_KEYENC_MASK) == XSSH_KNOWNHOST_KEYENC_BASE64;
    XSSH__ARG(kh->s, key_len || b64, "key_len is 0 for a raw key");
    char *keycopy = NULL;
    if (b64) {
        /* libssh2 compares a base64 key with strcmp */
        size_t n = key_len ? key_len : strlen((const char *)key);
        keycopy = malloc(n + 1);
        if (!keycopy)
            return xssh__fail(kh->s, XSSH_ENOMEM, 0, "out of memory");
        memcpy(keycopy, key, n);
        keycopy[n] = '\0';
        key = keycopy;
        key_len = n;
    }
    /* OpenSSH's lookup (sshconnect.c check_host_key): the plain name for port 22, else
       "[host]:port" only; when that finds nothing, a plain-name entry counts only if it
       holds this very key. libssh2's own port lookup also reports a plain-name entry with
       another key as a mismatch (and a port-22 "[host]:22" entry as a match). */
    char *hostdesc = NULL;
    if (port < 0 || port == 22)
        hostdesc = xssh__strdup(host);
    else if (asprintf(&hostdesc, "[%s]:%d", host, port) < 0)
        hostdesc = NULL;
    if (!hostdesc) {
        free(keycopy);
        return xssh__fail(kh->s, XSSH_ENOMEM, 0, "out of memory");
    }
    xssh__op op;
    int e = xssh__op_begin(&op, kh->s, 0, NULL);
    if (e) {
        free(keycopy);
        free(hostdesc);
        return e;
    }
    xssh_session *s = kh->s;
    struct libssh2_knownhost *le = NULL;
    int check = libssh2_knownhost_checkp(kh->kh, hostdesc, -1, (const char *)key, key_len, typemask, &le);
    if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND && strcmp(hostdesc, host) != 0) {
        struct libssh2_knownhost *plain = NULL;
        int c2 = libssh2_knownhost_checkp(kh->kh, host, -1, (const char *)key, key_len, typemask, &plain);
        if (c2 == LIBSSH2_KNOWNHOST_CHECK_MATCH || c2 == LIBSSH2_KNOWNHOST_CHECK_FAILURE) {
            check = c2;
            le = plain;
        }
    }
    free(keycopy);
    xssh_knownhost *copy = NULL;
    if ((check == LIBSSH2_KNOWNHOST_CHECK_MATCH || check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) && le && entry_out) {
        copy = entry_copy(kh->kh, le);
        if (!copy) {
            xssh__op_end(&op);
            free(hostdesc);
            return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        }
    }
    int rc;
    switch (check) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        rc = xssh__ok();
        break;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY CHANGED for %s: the key differs from the known-hosts entry%s%s", hostdesc,
                        copy && *copy->name ? " for " : "", copy && *copy->name ? copy->name : "");
        break;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0, "no known-hosts entry for %s", hostdesc);
        break;
    default:
        check = LIBSSH2_KNOWNHOST_CHECK_FAILURE;
        rc = xssh__fail(s, XSSH_EKNOWNHOST_CHECK, 0, "known-hosts check of %s failed: %s", hostdesc, ssh_msg(s));
        break;
    }
    xssh__op_end(&op);
    free(hostdesc);
    if (result_out)
        *result_out = check;
    if (entry_out)
        *entry_out = copy;
    else
        xssh_knownhost_unref(copy);
    return rc;
}

int xssh_knownhosts_count(xssh_knownhosts *kh, size_t *out)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, out, "out is NULL");
    BEGIN(kh);
    *out = count_entries(kh->kh);
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_knownhosts_get(xssh_knownhosts *kh, size_t index, xssh_knownhost **out)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, out, "out is NULL");
    *out = NULL;
    BEGIN(kh);
    struct libssh2_knownhost *le = NULL, *prev = NULL;
    size_t i = 0;
    for (;;) {
        int rc = libssh2_knownhost_get(kh->kh, &le, prev);
        if (rc == 1) {
            xssh__op_end(&op);
            /* the end of an iteration is not a failure: the session's last error is left alone */
            return xssh__fail(NULL, XSSH_EITEROVER, 0, "known-hosts index %zu is past the end (%zu entries)", index,
                              i);
        }
        if (rc < 0) {
            int fr = xssh__fail(s, XSSH_EKNOWNHOST_GET, rc, "cannot get known-hosts entry %zu: %s", i, ssh_msg(s));
            xssh__op_end(&op);
            return fr;
        }
        if (i == index)
            break;
        prev = le;
        i++;
    }
    xssh_knownhost *e = entry_copy(kh->kh, le);
    xssh__op_end(&op);
    if (!e)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    *out = e;
    return xssh__ok();
}

int xssh_knownhosts_delete(xssh_knownhosts *kh, xssh_knownhost *entry)
{
    XSSH__ARG(NULL, kh, "knownhosts is NULL");
    XSSH__ARG(kh->s, entry, "entry is NULL");
    BEGIN(kh);
    struct libssh2_knownhost *le = entry_find(kh->kh, entry);
    if (!le) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EKNOWNHOST_DELETE, 0,
                          "cannot delete the known-hosts entry for %s: it is not in the collection (already deleted?)",
                          entry_desc(entry));
    }
    int rc = libssh2_knownhost_del(kh->kh, le);
    if (rc) {
        int fr = xssh__fail(s, XSSH_EKNOWNHOST_DELETE, rc, "cannot delete the known-hosts entry for %s: %s",
                            entry_desc(entry), ssh_msg(s));
        xssh__op_end(&op);
        return fr;
    }
    xssh__op_end(&op);
    return xssh__ok();
}
