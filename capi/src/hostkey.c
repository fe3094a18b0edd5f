/* SPDX-License-Identifier: BSD-3-Clause */
/* The server's host key: raw key, hashes, fingerprint, verification against known_hosts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

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

static int knownhost_keytype(int hostkey_type)
{
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case 3: return (4 << 18); /* ECDSA_256 */
    case 4: return (5 << 18);
    case 5: return (6 << 18);
    case 6: return (7 << 18); /* ED25519 */
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
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
        if (libssh2_knownhost_readline(kh, line, (size_t)n, LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
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

/* Is @p key (raw blob) listed on an "@revoked" line of @p path? libssh2 cannot
   parse marker lines, so they are matched here: a revoked key is refused for
   every host, whatever the line's host patterns (stricter than OpenSSH). */
static int key_revoked(const char *path, const char *key, size_t klen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t cap64 = 4 * ((klen + 2) / 3) + 1;
    char *b64 = malloc(cap64);
    if (!b64) {
        fclose(f);
        return 0;
    }
    xssh__base64_encode((const unsigned char *)key, klen, b64, 1);
    size_t b64len = strlen(b64);
    char *line = NULL;
    size_t cap = 0;
    int revoked = 0;
    while (!revoked && getline(&line, &cap, f) > 0) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "@revoked", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
            continue;
        /* @revoked <hosts> <keytype> <base64> [comment] */
        char *save = NULL, *tok = strtok_r(p, " \t\r\n", &save);
        for (int i = 0; tok && i < 3; i++)
            tok = strtok_r(NULL, " \t\r\n", &save);
        if (tok && strlen(tok) == b64len && memcmp(tok, b64, b64len) == 0)
            revoked = 1;
    }
    free(line);
    free(b64);
    fclose(f);
    return revoked;
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
    const char *key = libssh2_session_hostkey(s->ssh, &klen, &ktype);
    if (!key) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ESESSION_HOSTKEY, 0, "the server's host key is not available");
    }
    char *defpath = path ? NULL : xssh__default_known_hosts();
    int rc = defpath || path ? xssh__hostkey_check(s, host, port, policy, path ? path : defpath, key, klen, ktype)
                             : xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    free(defpath);
    xssh__op_end(&op);
    return rc;
}

int xssh__hostkey_check(xssh_session *s, const char *host, int port, xssh_hostkey_policy policy, const char *file,
                        const char *key, size_t klen, int ktype)
{
    char fp[80];
    fingerprint_of((const unsigned char *)key, klen, fp, sizeof fp);
    int rc = XSSH_OK;
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s->ssh);
    if (!kh) {
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
        goto out;
    }
    if (xssh__knownhosts_load(kh, file, NULL) != 0 && errno != ENOENT) {
        rc = xssh__fail(s, XSSH_EKNOWNHOST_READFILE, 0, "cannot read known_hosts file '%s': %s", file,
                        strerror(errno));
        goto out;
    }
    char hostdesc[300];
    if (port == 22)
        snprintf(hostdesc, sizeof hostdesc, "%s", host);
    else
        snprintf(hostdesc, sizeof hostdesc, "[%s]:%d", host, port);
    if (key_revoked(file, key, klen)) {
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY REVOKED: the key %s offered by %s is marked @revoked in %s", fp, hostdesc, file);
        goto out;
    }
    struct libssh2_knownhost *found = NULL;
    int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_keytype(ktype);
    int check = libssh2_knownhost_checkp(kh, host, port, key, klen, mask, &found);
    if (check == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
        rc = xssh__ok();
    } else if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
        char oldfp[80] = "(unknown)";
        if (found && found->key) {
            /* sized for the recorded key, whatever its length (a fixed buffer overflowed) */
            size_t b64len = strlen(found->key);
            unsigned char *blob = b64len < 0x40000000 ? malloc(b64len / 4 * 3 + 3) : NULL;
            int bl = blob ? EVP_DecodeBlock(blob, (const unsigned char *)found->key, (int)b64len) : -1;
            if (bl > 0) {
                size_t pad = 0, kl = strlen(found->key);
                while (kl > 0 && found->key[kl - 1] == '=') {
                    pad++;
                    kl--;
                }
                fingerprint_of(blob, (size_t)bl - pad, oldfp, sizeof oldfp);
            }
            free(blob);
        }
        rc = xssh__fail(s, XSSH_EHOSTKEY_CHANGED, 0,
                        "HOST KEY CHANGED for %s: the server offers %s but %s records %s; someone may be "
                        "intercepting the connection, or the host key was replaced",
                        hostdesc, fp, file, oldfp);
    } else if (check == LIBSSH2_KNOWNHOST_CHECK_NOTFOUND) {
        if (policy == XSSH_HOSTKEY_STRICT) {
            rc = xssh__fail(s, XSSH_EHOSTKEY_UNKNOWN, 0,
                            "host key for %s is not in %s (server offers %s); add it or use the accept_new policy",
                            hostdesc, file, fp);
        } else {
            struct libssh2_knownhost *added = NULL;
            int arc = libssh2_knownhost_addc(kh, hostdesc, NULL, key, klen, NULL, 0, mask, &added);
            char line[8192];
            size_t ll = 0;
            if (arc == 0)
                arc = libssh2_knownhost_writeline(kh, added, line, sizeof line, &ll, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
            if (arc != 0) {
                rc = xssh__fail_ssh(s, arc, "accept_new: cannot record the host key of %s", hostdesc);
                if (rc != XSSH_ENOMEM)
                    rc = xssh__fail(s, XSSH_EKNOWNHOST_ADD, arc, "accept_new: cannot record the host key of %s",
                                    hostdesc);
                goto out;
            }
            mkdir_parent(file);
            int fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
            /* a last line without its newline must not swallow the new entry */
            struct stat st;
            char last = '\n';
            if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
                last != '\n' && ll + 1 < sizeof line) {
                memmove(line + 1, line, ll);
                line[0] = '\n';
                ll++;
            }
            if (fd < 0 || write(fd, line, ll) != (ssize_t)ll) {
                int err = errno;
                if (fd >= 0)
                    close(fd);
                rc = xssh__fail(s, XSSH_EKNOWNHOST_WRITEFILE, 0, "accept_new: cannot write known_hosts file '%s': %s",
                                file, strerror(err));
                goto out;
            }
            close(fd);
            rc = xssh__ok();
        }
    } else {
        rc = xssh__fail(s, XSSH_EKNOWNHOST_CHECK, 0, "known-hosts check of %s against %s failed", hostdesc, file);
    }
out:
    if (kh)
        libssh2_knownhost_free(kh);
    return rc;
}
