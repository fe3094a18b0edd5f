/* SPDX-License-Identifier: BSD-3-Clause */
/* The server's host key: raw key, hashes, fingerprint, verification against known_hosts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "config_internal.h"

size_t xssh__base64_encode(const unsigned char *in, size_t len, char *out, int pad)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    if (!pad)
        while (n > 0 && out[n - 1] == '=')
            out[--n] = '\0';
    return (size_t)n;
}

/* "SHA256:<base64, unpadded>" of a key blob, into buf (>= 60 bytes) */
static void fingerprint_of(const unsigned char *key, size_t len, char *buf, size_t cap)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL);
    char b64[64];
    xssh__base64_encode(md, mdlen, b64, 0);
    snprintf(buf, cap, "SHA256:%s", b64);
}

int xssh_session_hostkey(xssh_session *s, char **key_out, size_t *len_out, int *type_out)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, key_out && len_out, "key_out/len_out is NULL");
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e)
        return e;
    size_t len = 0;
    int type = 0;
    const char *k = libssh2_session_hostkey(s->ssh, &len, &type);
    if (!k || !len) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ESESSION_HOSTKEY, 0, "the server's host key is not available");
    }
    *key_out = xssh__memdup(k, len);
    *len_out = len;
    if (type_out)
        *type_out = type;
    xssh__op_end(&op);
    return *key_out ? xssh__ok() : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_session_hostkey_hash(xssh_session *s, int hash_type, char **out, size_t *len_out)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, out && len_out, "out/len_out is NULL");
    size_t n = hash_type == LIBSSH2_HOSTKEY_HASH_MD5    ? 16
               : hash_type == LIBSSH2_HOSTKEY_HASH_SHA1 ? 20
               : hash_type == 3                         ? 32
                                                        : 0;
    XSSH__ARG(s, n, "hash_type must be XSSH_HOSTKEY_HASH_MD5, _SHA1 or _SHA256");
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e)
        return e;
    const char *h = libssh2_hostkey_hash(s->ssh, hash_type);
    if (!h) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ENOTSUPPORTED, 0, "host key hash type %d is not available in this libssh2 build",
                          hash_type);
    }
    *out = xssh__memdup(h, n);
    *len_out = n;
    xssh__op_end(&op);
    return *out ? xssh__ok() : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
}

int xssh_session_hostkey_fingerprint(xssh_session *s, char **out)
{
    XSSH__ARG(s, out, "out is NULL");
    char *key = NULL;
    size_t len = 0;
    int e = xssh_session_hostkey(s, &key, &len, NULL);
    if (e)
        return e;
    char buf[80];
    fingerprint_of((unsigned char *)key, len, buf, sizeof buf);
    free(key);
    *out = xssh__strdup(buf);
    return *out ? xssh__ok() : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
}

char *xssh__default_known_hosts(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    size_t n = strlen(home) + sizeof "/.ssh/known_hosts";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.ssh/known_hosts", home);
    return p;
}

/* Read a known_hosts file line by line so that lines libssh2 cannot parse
   (certificates, markers) are skipped rather than failing the whole file.
   Returns 0, or -1 with errno when the file cannot be opened (ENOENT included). */
int xssh__knownhosts_load(LIBSSH2_KNOWNHOSTS *kh, const char *path, size_t *count_out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0, count = 0;
    ssize_t n;
    errno = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n;
        if (xssh__kh_line_check(line, &len) == NULL &&
            libssh2_knownhost_readline(kh, line, len, LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
            const char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p && *p != '#' && *p != '\n' && *p != '\r')
                count++;
        }
    }
    int read_err = ferror(f) ? (errno ? errno : EIO) : 0; /* e.g. EISDIR: a directory opens but does not read */
    free(line);
    fclose(f);
    if (read_err) {
        errno = read_err;
        return -1;
    }
    if (count_out)
        *count_out = count;
    return 0;
}

/* ==== OpenSSH's known_hosts rules ==========================================
 *
 * xssh_session_verify_host() reads the file itself, following OpenSSH 9.2
 * (hostfile.c, match.c, sshconnect.c check_host_key), because libssh2's
 * knownhost API differs on the points that matter: it has no wildcard or
 * negated patterns, no "@revoked" / "@cert-authority" markers, it compares only
 * entries of the server key's own type, and for a non-22 port it falls back to
 * the plain host name even when that entry holds a different key.
 *
 *  - lookup name: the host name in lower case for port 22, "[host]:port" otherwise;
 *  - a line applies when its host field matches that name: a comma list of
 *    patterns ('*', '?', case-insensitive, "!pattern" vetoes the line), or one
 *    hashed name "|1|base64(salt)|base64(HMAC-SHA1(salt, name))";
 *  - lines that cannot be parsed (bad marker, bad hash, unknown key type, bad
 *    base64 or key blob) are ignored, like comments and blank lines;
 *  - among the applying plain lines (no marker): one with the server's key
 *    means known; else any other key (of any type) means CHANGED; none means NEW;
 *  - an applying "@revoked" line with the server's key means REVOKED, whatever
 *    the other lines say; "@cert-authority" lines only concern certificate host
 *    keys, which xssh never accepts (libssh2 1.10 cannot check them): ignored;
 *  - NEW for a non-22 port: the plain host name is tried; a line there with the
 *    server's key makes it known (nothing else from that lookup counts);
 *  - accept_new appends "name keytype base64" for the lookup name.
 */

enum { HK_NEW, HK_OK, HK_CHANGED, HK_REVOKED };
enum { MRK_NONE, MRK_CA, MRK_REVOKE };

typedef struct hk_result {
    int status;
    long line;     /* line of the matching / offending / revoking entry (1-based), 0 if none */
    char type[64]; /* that entry's key type */
    char fp[80];   /* that entry's fingerprint */
} hk_result;

/* Strict base64 (OpenSSH's b64_pton): whitespace skipped, '=' padding only at
   the end. Returns the decoded length or -1. out needs strlen(in)*3/4+3 bytes. */
static long b64_decode_strict(const char *in, size_t len, unsigned char *out)
{
    char *clean = malloc(len + 1);
    if (!clean)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)in[i]))
            clean[n++] = in[i];
    long r = -1;
    size_t pad = 0;
    while (pad < n && pad < 3 && clean[n - 1 - pad] == '=')
        pad++;
    if (n % 4 == 0 && pad <= 2 && memchr(clean, '=', n - pad) == NULL) {
        size_t d = xssh__base64_decode(clean, n - pad, out);
        /* a final group must not carry stray bits: re-encoding gives the input back */
        if (d != (size_t)-1) {
            char *re = malloc(4 * ((d + 2) / 3) + 1);
            if (re) {
                size_t rl = xssh__base64_encode(out, d, re, 1);
                if (rl == n && memcmp(re, clean, n) == 0)
                    r = (long)d;
                free(re);
            }
        }
    }
    free(clean);
    return r;
}

const char *xssh__kh_hashed_part_why(const char *b64, size_t len, int is_salt)
{
    unsigned char buf[64];
    if (len == 0)
        return is_salt ? "the salt is empty" : "the hash is empty";
    if (len > 60 || b64_decode_strict(b64, len, buf) != 20)
        return is_salt ? "the salt is not the base64 of 20 bytes"
                       : "the hash is not the base64 of 20 bytes (an HMAC-SHA1)";
    return NULL;
}

const char *xssh__kh_line_check(char *line, size_t *len)
{
    size_t n = *len;
    /* a CRLF line (a file written on Windows): the CR is not part of the key or comment */
    if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n') {
        line[n - 2] = '\n';
        line[n - 1] = '\0';
        n--;
    } else if (n >= 1 && line[n - 1] == '\r') {
        line[n - 1] = '\0';
        n--;
    }
    *len = n;
    /* the host field as libssh2_knownhost_readline finds it: after blanks, up to a blank or NUL */
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t start = i;
    while (i < n && line[i] && line[i] != ' ' && line[i] != '\t')
        i++;
    const char *f = line + start;
    size_t fl = i - start;
    if (fl && f[0] == '@')
        return "a marker (@cert-authority, @revoked) is not kept in a known-hosts collection (libssh2 1.10 "
               "has no place for it; xssh_session_verify_host() reads markers from the file itself)";
    if (fl < 3 || memcmp(f, "|1|", 3) != 0)
        return NULL;
    const char *salt = f + 3, *end = f + fl;
    const char *bar = memchr(salt, '|', (size_t)(end - salt));
    if (!bar)
        return "a hashed host field needs |1|salt|hash";
    const char *why = xssh__kh_hashed_part_why(salt, (size_t)(bar - salt), 1);
    return why ? why : xssh__kh_hashed_part_why(bar + 1, (size_t)(end - bar - 1), 0);
}

/* SSH wire-format reader over a key blob */
typedef struct rd {
    const unsigned char *p;
    size_t n;
} rd;

static int rd_string(rd *r, const unsigned char **s, size_t *len)
{
    if (r->n < 4)
        return -1;
    size_t l = (size_t)r->p[0] << 24 | (size_t)r->p[1] << 16 | (size_t)r->p[2] << 8 | r->p[3];
    if (l > r->n - 4)
        return -1;
    *s = r->p + 4;
    *len = l;
    r->p += 4 + l;
    r->n -= 4 + l;
    return 0;
}

static int rd_string_eq(rd *r, const char *want)
{
    const unsigned char *s;
    size_t l;
    return rd_string(r, &s, &l) == 0 && l == strlen(want) && memcmp(s, want, l) == 0 ? 0 : -1;
}

/* bits of an SSH mpint (-1 if negative or malformed) */
static long rd_mpint_bits(rd *r)
{
    const unsigned char *s;
    size_t l;
    if (rd_string(r, &s, &l) != 0 || (l && (s[0] & 0x80)))
        return -1;
    while (l && !*s) {
        s++;
        l--;
    }
    if (!l)
        return 0;
    long bits = (long)(l - 1) * 8;
    for (unsigned c = s[0]; c; c >>= 1)
        bits++;
    return bits;
}

/* an EC point of the named curve: uncompressed 0x04 || x || y */
static int rd_ec_point(rd *r, const char *curve)
{
    size_t field = !strcmp(curve, "nistp256") ? 32 : !strcmp(curve, "nistp384") ? 48 : 66;
    const unsigned char *s;
    size_t l;
    return rd_string(r, &s, &l) == 0 && l == 1 + 2 * field && s[0] == 0x04 ? 0 : -1;
}

/* Is blob a well-formed public key of the key type named `type` (OpenSSH's
   sshkey_read: known type, blob of that same type, sane fields, nothing left)?
   Certificates are only checked for their type name. */
static int key_blob_valid(const char *type, const unsigned char *blob, size_t len)
{
    rd r = {blob, len};
    if (rd_string_eq(&r, type) != 0)
        return 0;
    size_t tl = strlen(type);
    static const char cert_suffix[] = "-cert-v01@openssh.com";
    if (tl > sizeof cert_suffix - 1 && !strcmp(type + tl - (sizeof cert_suffix - 1), cert_suffix)) {
        static const char *certs[] = {"ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                      "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com",
                                      "sk-ssh-ed25519@openssh.com"};
        for (size_t i = 0; i < sizeof certs / sizeof *certs; i++) {
            /* "sk-...@openssh.com" certificates drop the "@openssh.com" of the plain name */
            size_t bl = strlen(certs[i]);
            const char *at = strchr(certs[i], '@');
            if (at)
                bl = (size_t)(at - certs[i]);
            if (tl == bl + sizeof cert_suffix - 1 && !strncmp(type, certs[i], bl))
                return r.n > 0;
        }
        return 0;
    }
    const unsigned char *s;
    size_t l;
    if (!strcmp(type, "ssh-ed25519")) {
        if (rd_string(&r, &s, &l) != 0 || l != 32)
            return 0;
    } else if (!strcmp(type, "sk-ssh-ed25519@openssh.com")) {
        if (rd_string(&r, &s, &l) != 0 || l != 32 || rd_string(&r, &s, &l) != 0)
            return 0;
    } else if (!strncmp(type, "ecdsa-sha2-", 11) &&
               (!strcmp(type + 11, "nistp256") || !strcmp(type + 11, "nistp384") || !strcmp(type + 11, "nistp521"))) {
        if (rd_string_eq(&r, type + 11) != 0 || rd_ec_point(&r, type + 11) != 0)
            return 0;
    } else if (!strcmp(type, "sk-ecdsa-sha2-nistp256@openssh.com")) {
        if (rd_string_eq(&r, "nistp256") != 0 || rd_ec_point(&r, "nistp256") != 0 || rd_string(&r, &s, &l) != 0)
            return 0;
    } else if (!strcmp(type, "ssh-rsa")) {
        long e = rd_mpint_bits(&r), n = rd_mpint_bits(&r);
        if (e <= 0 || n < 1024) /* OpenSSH refuses RSA keys under 1024 bits */
            return 0;
    } else if (!strcmp(type, "ssh-dss")) {
        for (int i = 0; i < 4; i++)
            if (rd_mpint_bits(&r) <= 0)
                return 0;
    } else {
        return 0; /* a key type OpenSSH does not know */
    }
    return r.n == 0;
}

/* Does the hashed host field "|1|salt|hash" name `name`? 1 yes, 0 no, -1 malformed. */
static int hashed_matches(const char *name, const char *field)
{
    if (strncmp(field, "|1|", 3) != 0)
        return -1;
    const char *salt64 = field + 3, *bar = strchr(salt64, '|');
    if (!bar || bar == salt64 || bar - salt64 > 1024)
        return -1;
    unsigned char salt[1024];
    long sl = b64_decode_strict(salt64, (size_t)(bar - salt64), salt);
    if (sl != 20)
        return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!HMAC(EVP_sha1(), salt, (int)sl, (const unsigned char *)name, strlen(name), mac, &ml))
        return -1;
    char want[3 + 32 + 1 + 32 + 1], s64[32], m64[32];
    xssh__base64_encode(salt, (size_t)sl, s64, 1);
    xssh__base64_encode(mac, ml, m64, 1);
    snprintf(want, sizeof want, "|1|%s|%s", s64, m64);
    return strcmp(want, field) == 0;
}

/* One known_hosts line as OpenSSH reads it for host `name`. Returns 1 when the
   line applies to name and holds a valid key (marker, key type and blob out;
   *blob malloc'd), else 0 (comment, blank, other host, or invalid: ignored). */
static int parse_line(char *line, const char *name, int *marker, char **type, unsigned char **blob, size_t *blen)
{
    line[strcspn(line, "\n")] = '\0';
    char *cp = line;
    while (*cp == ' ' || *cp == '\t')
        cp++;
    if (!*cp || *cp == '#')
        return 0;
    *marker = MRK_NONE;
    while (*cp == '@') {
        if (*marker != MRK_NONE)
            return 0; /* only one marker */
        char *sp = strchr(cp, ' ');
        if (!sp)
            sp = strchr(cp, '\t');
        if (!sp || sp <= cp + 1 || sp >= cp + 32)
            return 0;
        if ((size_t)(sp - cp) == strlen("@cert-authority") && !strncmp(cp, "@cert-authority", (size_t)(sp - cp)))
            *marker = MRK_CA;
        else if ((size_t)(sp - cp) == strlen("@revoked") && !strncmp(cp, "@revoked", (size_t)(sp - cp)))
            *marker = MRK_REVOKE;
        else
            return 0;
        cp = sp;
        while (*cp == ' ' || *cp == '\t')
            cp++;
    }
    char *hosts = cp;
    size_t hl = strcspn(cp, " \t");
    if (!cp[hl])
        return 0; /* nothing after the host field */
    cp[hl] = '\0';
    cp += hl + 1;
    int m = *hosts == '|' ? hashed_matches(name, hosts) : xssh__match_pattern_list(name, hosts, 1) == 1;
    if (m != 1)
        return 0;
    while (*cp == ' ' || *cp == '\t')
        cp++;
    /* sshkey_read: "<type> <base64> [comment]" */
    size_t tl = strcspn(cp, " \t");
    if (!tl || !cp[tl] || tl >= 64)
        return 0;
    char *t = cp;
    cp += tl;
    *cp++ = '\0';
    while (*cp == ' ' || *cp == '\t')
        cp++;
    size_t bl = strcspn(cp, " \t");
    if (!bl)
        return 0;
    unsigned char *b = malloc(bl * 3 / 4 + 3);
    if (!b)
        return 0;
    long n = b64_decode_strict(cp, bl, b);
    if (n <= 0 || !key_blob_valid(t, b, (size_t)n)) {
        free(b);
        return 0;
    }
    *type = t;
    *blob = b;
    *blen = (size_t)n;
    return 1;
}

typedef struct hk_file {
    char **lines;
    size_t n;
} hk_file;

static void hk_file_free(hk_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->lines[i]);
    free(f->lines);
    f->lines = NULL;
    f->n = 0;
}

/* Read every line of path. 0 (a missing file is empty), or -1 with errno. */
static int hk_file_read(hk_file *f, const char *path)
{
    f->lines = NULL;
    f->n = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    errno = 0;
    int rc = 0;
    while (getline(&line, &cap, fp) > 0) {
        if (f->n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            char **nl = realloc(f->lines, alloc * sizeof *nl);
            if (!nl) {
                errno = ENOMEM;
                rc = -1;
                break;
            }
            f->lines = nl;
        }
        if (!(f->lines[f->n] = xssh__strdup(line))) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        f->n++;
    }
    if (!rc && ferror(fp)) { /* e.g. EISDIR: a directory opens but does not read */
        errno = errno ? errno : EIO;
        rc = -1;
    }
    int err = errno;
    free(line);
    fclose(fp);
    if (rc) {
        hk_file_free(f);
        errno = err;
    }
    return rc;
}

/* The blob's key type name (its first string) into buf. */
static void blob_type(const unsigned char *key, size_t len, char *buf, size_t cap)
{
    rd r = {key, len};
    const unsigned char *s;
    size_t l;
    if (rd_string(&r, &s, &l) != 0 || l >= cap)
        l = 0, s = (const unsigned char *)"";
    memcpy(buf, s, l);
    buf[l] = '\0';
}

/* The valid lines that apply to one lookup name (OpenSSH's load_hostkeys), in file order. */
typedef struct hk_entry {
    int marker;
    long line; /* 1-based */
    char type[64];
    unsigned char *blob;
    size_t blen;
} hk_entry;

typedef struct hk_set {
    hk_entry *e;
    size_t n;
} hk_set;

static void hk_set_free(hk_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->e[i].blob);
    free(set->e);
    set->e = NULL;
    set->n = 0;
}

/* -1: out of memory */
static int hk_load(const hk_file *f, const char *name, hk_set *set)
{
    set->e = NULL;
    set->n = 0;
    size_t alloc = 0;
    for (size_t i = 0; i < f->n; i++) {
        char *copy = xssh__strdup(f->lines[i]);
        if (!copy)
            goto nomem;
        int marker;
        char *type;
        unsigned char *blob = NULL;
        size_t blen = 0;
        if (parse_line(copy, name, &marker, &type, &blob, &blen)) {
            if (set->n == alloc) {
                alloc = alloc ? alloc * 2 : 8;
                hk_entry *ne = realloc(set->e, alloc * sizeof *ne);
                if (!ne) {
                    free(blob);
                    free(copy);
                    goto nomem;
                }
                set->e = ne;
            }
            hk_entry *e = &set->e[set->n++];
            e->marker = marker;
            e->line = (long)i + 1;
            snprintf(e->type, sizeof e->type, "%s", type);
            e->blob = blob;
            e->blen = blen;
        }
        free(copy);
    }
    return 0;
nomem:
    hk_set_free(set);
    return -1;
}

static int hk_same(const hk_entry *e, const unsigned char *key, size_t klen)
{
    return e->blen == klen && memcmp(e->blob, key, klen) == 0;
}

/* an applying "@revoked" line holding key, or 0 */
static long hk_revoked(const hk_set *set, const unsigned char *key, size_t klen)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->e[i].marker == MRK_REVOKE && hk_same(&set->e[i], key, klen))
            return set->e[i].line;
    return 0;
}

/* OpenSSH's check_key_in_hostkeys (hostfile.c check_hostkeys_by_key_or_type) */
static void hk_check(const hk_set *set, const unsigned char *key, size_t klen, hk_result *res)
{
    memset(res, 0, sizeof *res);
    res->status = HK_NEW;
    for (size_t i = 0; i < set->n; i++) {
        const hk_entry *e = &set->e[i];
        if (e->marker != MRK_NONE)
            continue;
        int same = hk_same(e, key, klen);
        /* the first equal key ends the search; a different one (of any type) before it does not count */
        res->status = same ? HK_OK : HK_CHANGED;
        res->line = e->line;
        snprintf(res->type, sizeof res->type, "%s", e->type);
        fingerprint_of(e->blob, e->blen, res->fp, sizeof res->fp);
        if (same)
            break;
    }
    long rl = hk_revoked(set, key, klen);
    if (rl) {
        res->status = HK_REVOKED;
        res->line = rl;
        blob_type(key, klen, res->type, sizeof res->type);
        fingerprint_of(key, klen, res->fp, sizeof res->fp);
    }
}

/* Is a key of type `type` recorded (OpenSSH's lookup_key_in_hostkeys_by_type): the first
   applying plain line of that type, unless its key is also on an applying "@revoked" line? */
static int hk_has_type(const hk_set *set, const char *type)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->e[i].marker == MRK_NONE && !strcmp(set->e[i].type, type))
            return !hk_revoked(set, set->e[i].blob, set->e[i].blen);
    return 0;
}

/* OpenSSH's put_host_port over the lower-cased host: "host" for port 22 (or 0), else "[host]:port" */
static char *lookup_name(const char *host, int port)
{
    char *name = NULL;
    if (port == 0 || port == 22)
        name = xssh__strdup(host);
    else if (asprintf(&name, "[%s]:%d", host, port) < 0)
        name = NULL;
    if (name)
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return name;
}

static int mkdir_parent(const char *path)
{
    char *dir = xssh__strdup(path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        struct stat st;
        if (stat(dir, &st) != 0)
            rc = mkdir(dir, 0700);
    }
    free(dir);
    return rc;
}

/* OpenSSH's host_hash: "|1|base64(salt)|base64(HMAC-SHA1(salt, name))" with a
   random 20-byte salt, into buf (>= 64 bytes). -1 when no random bytes. */
static int hashed_name(const char *name, char *buf, size_t cap)
{
    unsigned char salt[20], mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (RAND_bytes(salt, sizeof salt) != 1 ||
        !HMAC(EVP_sha1(), salt, (int)sizeof salt, (const unsigned char *)name, strlen(name), mac, &ml))
        return -1;
    char s64[32], m64[32];
    xssh__base64_encode(salt, sizeof salt, s64, 1);
    xssh__base64_encode(mac, ml, m64, 1);
    snprintf(buf, cap, "|1|%s|%s", s64, m64);
    return 0;
}

/* Append "name type base64\n" to file (a newline first if its last line lacks
   one); hash: the name hashed as HashKnownHosts does. */
static int append_entry_ex(xssh_session *s, const char *file, const char *name, const unsigned char *key,
                           size_t klen, int hash)
{
    char type[64], hname[128];
    blob_type(key, klen, type, sizeof type);
    if (hash) {
        if (hashed_name(name, hname, sizeof hname) != 0)
            return xssh__fail(s, XSSH_ERANDGEN, 0, "cannot hash the host name for '%s': no random bytes", file);
        name = hname;
    }
    char *b64 = malloc(4 * ((klen + 2) / 3) + 1);
    if (!b64)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    xssh__base64_encode(key, klen, b64, 1);
    char *line = NULL;
    int ll = asprintf(&line, "\n%s %s %s\n", name, type, b64);
    free(b64);
    if (ll < 0)
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    mkdir_parent(file);
    int fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    char last = '\n';
    /* OpenSSH glues the entry onto an unterminated last line; xssh does not */
    int skip = !(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
                 last != '\n');
    size_t n = (size_t)ll - (size_t)skip;
    if (fd < 0 || write(fd, line + skip, n) != (ssize_t)n) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        free(line);
        return xssh__fail(s, XSSH_EKNOWNHOST_WRITEFILE, 0, "accept_new: cannot write known_hosts file '%s': %s", file,
                          strerror(err));
    }
    close(fd);
    free(line);
    return xssh__ok();
}

static int append_entry(xssh_session *s, const char *file, const char *name, const unsigned char *key, size_t klen)
{
    return append_entry_ex(s, file, name, key, klen, 0);
}

int xssh_session_verify_host(xssh_session *s, const char *host, int port, xssh_hostkey_policy policy,
                             const char *path)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, policy == XSSH_HOSTKEY_STRICT || policy == XSSH_HOSTKEY_ACCEPT_NEW || policy == XSSH_HOSTKEY_OFF,
              "policy must be XSSH_HOSTKEY_STRICT, _ACCEPT_NEW or _OFF");
    XSSH__ARG(s, port >= 0 && port < 65536, "port must be 0..65535");
    XSSH__ARG(s, !path || *path, "path is empty");
    xssh__op op;
    int e = xssh__op_begin(&op, s, 1, NULL);
    if (e)
        return e;
    if (!host)
        host = s->host;
    if (!port)
        port = s->port ? s->port : 22;
    if (!host || !*host) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EARG, 0, "verify_host: no host name given and the session was not opened by connect()");
    }
    if (policy == XSSH_HOSTKEY_OFF) {
        xssh__op_end(&op);
        return xssh__ok();
    }
    size_t klen = 0;
    int ktype = 0;
    const unsigned char *key = (const unsigned char *)libssh2_session_hostkey(s->ssh, &klen, &ktype);
    if (!key || !klen) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ESESSION_HOSTKEY, 0, "the server's host key is not available");
    }
    char *defpath = path ? NULL : xssh__default_known_hosts();
    int rc = defpath || path ? xssh__hostkey_check(s, host, port, policy, path ? path : defpath, (const char *)key, klen,
                                                   ktype)
                             : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    free(defpath);
    xssh__op_end(&op);
    return rc;
}

/* verify_host's check of the server's key blob against one known_hosts file (no
   session I/O: the fuzz target calls it with any bytes). */
int xssh__hostkey_check(xssh_session *s, const char *host, int port, xssh_hostkey_policy policy, const char *file,
                        const char *key_text, size_t klen, int ktype)
{
    (void)ktype; /* the type is read from the blob itself */
    const unsigned char *key = (const unsigned char *)key_text;
    char fp[80], type[64];
    fingerprint_of(key, klen, fp, sizeof fp);
    blob_type(key, klen, type, sizeof type);
    if (strstr(type, "-cert-v01@openssh.com"))
        return xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                          "the server shows a host certificate (%s), which libssh2 1.10 cannot verify; call "
                          "xssh_session_prefer_known_hostkeys() before connecting to negotiate a plain host key",
                          type);
    char *name = lookup_name(host, port), *plain = lookup_name(host, 22);
    hk_file f = {NULL, 0};
    hk_set set = {NULL, 0};
    hk_result res, res22;
    int rc = XSSH_OK;
    if (!name || !plain) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out;
    }
    if (hk_file_read(&f, file) != 0) {
        rc = errno == ENOMEM ? xssh__fail(s, XSSH_ENOMEM, 0, "out of memory")
                             : xssh__fail(s, XSSH_EKNOWNHOST_READFILE, 0, "cannot read known_hosts file '%s': %s",
                                          file, strerror(errno));
        goto out;
    }
    if (hk_load(&f, name, &set) != 0) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out;
    }
    hk_check(&set, key, klen, &res);
    /* a non-22 port: a plain-host line with this very key also makes it known */
    if (res.status == HK_NEW && strcmp(name, plain) != 0) {
        hk_set_free(&set);
        if (hk_load(&f, plain, &set) != 0) {
            rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
            goto out;
        }
        hk_check(&set, key, klen, &res22);
        if (res22.status == HK_OK)
            res = res22;
    }
    switch (res.status) {
    case HK_OK:
        rc = xssh__ok();
        break;
    case HK_REVOKED:
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY REVOKED: the %s key %s offered by %s is marked @revoked in %s:%ld", type, fp, name,
                        file, res.line);
        break;
    case HK_CHANGED:
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY CHANGED for %s: the server offers %s key %s but %s:%ld records %s key %s; someone "
                        "may be intercepting the connection, or the host key was replaced",
                        name, type, fp, file, res.line, res.type, res.fp);
        break;
    default:
        if (policy == XSSH_HOSTKEY_STRICT) {
            rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                            "host key for %s is not in %s (server offers %s key %s); add it or use the accept_new "
                            "policy",
                            name, file, type, fp);
        } else if (strcspn(host, "@?*#[]|'\"\\") != strlen(host)) {
            /* OpenSSH never records such a name either: it would read back as a pattern */
            rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                            "host key for %s is not in %s (server offers %s key %s), and accept_new does not record "
                            "a host name containing one of @?*#[]|'\"\\",
                            name, file, type, fp);
        } else {
            rc = append_entry(s, file, name, key, klen);
        }
        break;
    }
out:
    hk_set_free(&set);
    hk_file_free(&f);
    free(name);
    free(plain);
    return rc;
}

int xssh_session_prefer_known_hostkeys(xssh_session *s, const char *host, int port, const char *path)
{
    XSSH__ARG(NULL, s, "session is NULL");
    XSSH__ARG(s, host && *host, "host is NULL or empty");
    XSSH__ARG(s, port >= 0 && port < 65536, "port must be 0..65535");
    XSSH__ARG(s, !path || *path, "path is empty");
    char *defpath = path ? NULL : xssh__default_known_hosts();
    const char *file = path ? path : defpath;
    char *name = lookup_name(host, port);
    hk_file f = {NULL, 0};
    hk_set set = {NULL, 0};
    char *first = NULL, *last = NULL;
    const char **algs = NULL;
    int nalgs = 0, rc = XSSH_OK;
    if (!file || !name) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out_nolock;
    }
    if (hk_file_read(&f, file) != 0) {
        rc = errno == ENOMEM ? xssh__fail(s, XSSH_ENOMEM, 0, "out of memory")
                             : xssh__fail(s, XSSH_EKNOWNHOST_READFILE, 0, "cannot read known_hosts file '%s': %s",
                                          file, strerror(errno));
        goto out_nolock;
    }
    if (hk_load(&f, name, &set) != 0) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out_nolock;
    }
    xssh__op op;
    rc = xssh__op_begin(&op, s, 0, NULL);
    if (rc)
        goto out_nolock;
    nalgs = libssh2_session_supported_algs(s->ssh, LIBSSH2_METHOD_HOSTKEY, &algs);
    if (nalgs <= 0) {
        rc = xssh__fail_ssh(s, nalgs ? nalgs : LIBSSH2_ERROR_METHOD_NOT_SUPPORTED,
                            "cannot list libssh2's host key algorithms");
        goto out;
    }
    /* OpenSSH's default order as far as libssh2 has it: ssh-ed25519 first, then libssh2's order */
    size_t cap = 2;
    for (int i = 0; i < nalgs; i++)
        cap += strlen(algs[i]) + 1;
    first = calloc(1, cap);
    last = calloc(1, cap);
    if (!first || !last) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out;
    }
    int have_ed25519 = 0;
    for (int i = 0; i < nalgs; i++)
        have_ed25519 |= !strcmp(algs[i], "ssh-ed25519");
    int best_recorded = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < nalgs; i++) {
            int is_ed = !strcmp(algs[i], "ssh-ed25519");
            if (have_ed25519 && (pass == 0) != is_ed)
                continue;
            if (!have_ed25519 && pass == 0)
                continue;
            /* certificate algorithms are left out: libssh2 1.10 cannot check a host certificate */
            if (strstr(algs[i], "-cert-v01@openssh.com"))
                continue;
            int rec = hk_has_type(&set, algs[i]);
            if (best_recorded < 0)
                best_recorded = rec; /* OpenSSH: a recorded best algorithm keeps the whole list as is */
            char *to = best_recorded || !rec ? last : first;
            if (*to)
                strcat(to, ",");
            strcat(to, algs[i]);
        }
    }
    if (*first && *last)
        strcat(first, ",");
    strcat(first, last);
    int lrc = libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY, first);
    if (lrc)
        rc = xssh__fail_ssh(s, lrc, "prefer_known_hostkeys: method_pref(HOSTKEY, \"%s\")", first);
    else
        rc = xssh__ok();
out:
    if (algs)
        libssh2_free(s->ssh, algs);
    xssh__op_end(&op);
out_nolock:
    free(first);
    free(last);
    hk_set_free(&set);
    hk_file_free(&f);
    free(name);
    free(defpath);
    return rc;
}

/* ==== several known_hosts files (xssh_connect: UserKnownHostsFile + GlobalKnownHostsFile) ====
 *
 * OpenSSH loads every user file and every global file for the lookup name into
 * one set and checks the server's key against it (sshconnect.c check_host_key):
 * a "@revoked" line with the key wins; else a line with the key makes it known;
 * else any other applying line means CHANGED; none means NEW. Over separate
 * files that is: REVOKED in any > OK in any > CHANGED in any > NEW. Global files
 * are only read; a NEW key is recorded in the first user file. */

typedef struct hk_where {
    hk_result res;
    const char *file;
} hk_where;

static int hk_rank(int status)
{
    return status == HK_REVOKED ? 3 : status == HK_OK ? 2 : status == HK_CHANGED ? 1 : 0;
}

/* Check name in one file; merge into *best. 0, -1 out of memory, or -2 with
   *err set when the file exists but cannot be read (EMFILE, EACCES, EISDIR...).
   Only a missing file (ENOENT, read as empty by hk_file_read) means "no entry":
   an unreadable one fails the check closed, or a changed key would pass as new. */
static int hk_check_file(const char *file, const char *name, const unsigned char *key, size_t klen, int only_ok,
                         hk_where *best, int *err)
{
    hk_file f = {NULL, 0};
    if (hk_file_read(&f, file) != 0) {
        if (errno == ENOMEM)
            return -1;
        *err = errno ? errno : EIO;
        return -2;
    }
    hk_set set = {NULL, 0};
    if (hk_load(&f, name, &set) != 0) {
        hk_file_free(&f);
        return -1;
    }
    hk_result res;
    hk_check(&set, key, klen, &res);
    hk_set_free(&set);
    hk_file_free(&f);
    if (only_ok && res.status != HK_OK)
        return 0;
    if (hk_rank(res.status) > hk_rank(best->res.status)) {
        best->res = res;
        best->file = file;
    }
    return 0;
}

static char *join_files(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    size_t len = 1;
    for (size_t i = 0; i < na; i++)
        len += strlen(a[i]) + 2;
    for (size_t i = 0; i < nb; i++)
        len += strlen(b[i]) + 2;
    char *out = calloc(1, len);
    if (!out)
        return NULL;
    for (size_t i = 0; i < na + nb; i++) {
        if (*out)
            strcat(out, ", ");
        strcat(out, i < na ? a[i] : b[i - na]);
    }
    return out;
}

int xssh__verify_host_files(xssh_session *s, const char *loghost, const char *host, int port, int policy, const char *const *user_files,
                            size_t nuser, const char *const *global_files, size_t nglobal, int hash_new,
                            int *learned)
{
    *learned = 0;
    char *keycopy = NULL;
    size_t klen = 0;
    int e = xssh_session_hostkey(s, &keycopy, &klen, NULL);
    if (e)
        return e;
    const unsigned char *key = (const unsigned char *)keycopy;
    char fp[80], type[64];
    fingerprint_of(key, klen, fp, sizeof fp);
    blob_type(key, klen, type, sizeof type);
    char *name = lookup_name(host, port), *plain = lookup_name(host, 22), *files = NULL;
    hk_where best;
    memset(&best, 0, sizeof best);
    best.res.status = HK_NEW;
    int rc = XSSH_OK;
    if (!name || !plain || !(files = join_files(user_files, nuser, global_files, nglobal))) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out;
    }
    if (strstr(type, "-cert-v01@openssh.com")) {
        rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                        "the server shows a host certificate (%s), which libssh2 1.10 cannot verify", type);
        goto out;
    }
    for (int pass = 0; pass < 2; pass++) {
        /* pass 1: a non-22 port whose "[host]:port" is unknown: a plain-host line with this very key */
        if (pass == 1 && (best.res.status != HK_NEW || !strcmp(name, plain)))
            break;
        for (size_t i = 0; i < nuser + nglobal; i++) {
            const char *file = i < nuser ? user_files[i] : global_files[i - nuser];
            int err = 0, r = hk_check_file(file, pass ? plain : name, key, klen, pass, &best, &err);
            if (r == -1) {
                rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
                goto out;
            }
            if (r == -2) {
                rc = xssh__fail(s, XSSH_EKNOWNHOST_READFILE, 0,
                                "host key of %s not checked: known_hosts '%s': cannot be read: %s", name, file,
                                strerror(err));
                goto out;
            }
        }
    }
    switch (best.res.status) {
    case HK_OK:
        xssh__log(XSSH_LOG_DEBUG, loghost, "host key %s %s is known (%s:%ld)", type, fp, best.file, best.res.line);
        break;
    case HK_REVOKED:
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY REVOKED: the %s key %s offered by %s is marked @revoked in %s:%ld", type, fp, name,
                        best.file, best.res.line);
        break;
    case HK_CHANGED:
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY CHANGED for %s: the server offers %s key %s but %s:%ld records %s key %s; someone "
                        "may be intercepting the connection, or the host key was replaced",
                        name, type, fp, best.file, best.res.line, best.res.type, best.res.fp);
        break;
    default:
        if (policy == XSSH_HOSTKEY_STRICT) {
            rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                            "host key for %s is not in %s (server offers %s key %s); add it, or set "
                            "StrictHostKeyChecking accept-new",
                            name, *files ? files : "any known_hosts file (none configured)", type, fp);
        } else if (!nuser) {
            /* ssh accepts it for this connection and says it could not record it */
            xssh__log(XSSH_LOG_WARNING, loghost,
                      "host key %s %s for %s accepted but not recorded: no UserKnownHostsFile (none)", type, fp,
                      name);
        } else if (strcspn(host, "@?*#[]|'\"\\") != strlen(host)) {
            rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                            "host key for %s is not in %s (server offers %s key %s), and a host name containing one "
                            "of @?*#[]|'\"\\ is never recorded",
                            name, files, type, fp);
        } else {
            rc = append_entry_ex(s, user_files[0], name, key, klen, hash_new);
            if (rc == XSSH_OK) {
                *learned = 1;
                xssh__log(XSSH_LOG_WARNING, loghost, "host key %s %s for %s added to %s%s", type, fp, name,
                          user_files[0], hash_new ? " (hashed)" : "");
            } else if (rc == XSSH_EKNOWNHOST_WRITEFILE) {
                /* as ssh: the key is accepted for this connection, the failure reported */
                xssh__log(XSSH_LOG_WARNING, loghost, "host key %s %s for %s accepted but not recorded: %s", type,
                          fp, name, xssh_error_last()->message);
                rc = xssh__ok();
            }
        }
        break;
    }
out:
    free(keycopy);
    free(name);
    free(plain);
    free(files);
    return rc;
}

char *xssh__known_key_types(const char *const *files, size_t nfiles, const char *host, int port)
{
    char *name = lookup_name(host, port);
    size_t cap = 1;
    char *out = calloc(1, 1);
    if (!name || !out) {
        free(name);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < nfiles; i++) {
        hk_file f = {NULL, 0};
        hk_set set = {NULL, 0};
        if (hk_file_read(&f, files[i]) != 0)
            continue;
        if (hk_load(&f, name, &set) == 0) {
            for (size_t k = 0; k < set.n; k++) {
                const char *t = set.e[k].type;
                if (set.e[k].marker != MRK_NONE || !hk_has_type(&set, t))
                    continue;
                /* already listed? */
                size_t tl = strlen(t);
                int dup = 0;
                for (const char *p = out; *p;) {
                    size_t l = strcspn(p, ",");
                    if (l == tl && !strncmp(p, t, tl))
                        dup = 1;
                    p += l + (p[l] == ',');
                }
                if (dup)
                    continue;
                char *n = realloc(out, cap + tl + 1);
                if (!n)
                    continue;
                out = n;
                if (*out)
                    strcat(out, ",");
                strcat(out, t);
                cap += tl + 1;
            }
        }
        hk_set_free(&set);
        hk_file_free(&f);
    }
    free(name);
    return out;
}
