/* SPDX-License-Identifier: BSD-3-Clause */
/* The server's host key and verify_host, checked against OpenSSH's own tools (ssh-keygen). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"


static char *hostport(void)
{
    char *p = NULL;
    cr_assert_gt(asprintf(&p, "[%s]:%d", xt()->host, xt()->port), 0);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int count_lines(const char *path)
{
    char *t = read_file(path);
    if (!t)
        return -1;
    int n = 0;
    for (char *p = t; *p; p++)
        if (*p == '\n')
            n++;
    free(t);
    return n;
}

/* First line of a shell command's output, or "" */
static char *run(const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    cr_assert_gt(vasprintf(&cmd, fmt, ap), 0);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char *line = calloc(1, 4096);
    if (!fgets(line, 4096, p))
        line[0] = 0;
    line[strcspn(line, "\n")] = 0;
    pclose(p);
    free(cmd);
    return line;
}

/* "SHA256:..." of a public key file, from ssh-keygen */
static char *keygen_fp(const char *pubfile)
{
    char *out = run("ssh-keygen -l -E sha256 -f '%s' 2>/dev/null", pubfile);
    char *fp = strstr(out, "SHA256:");
    cr_assert_not_null(fp, "ssh-keygen -l gave '%s'", out);
    char *r = strndup(fp, strcspn(fp, " "));
    free(out);
    return r;
}

static void b64(const unsigned char *in, size_t len, char *out)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
        out[o++] = T[(v >> 18) & 63];
        out[o++] = T[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = T[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = T[v & 63];
    }
    out[o] = 0;
}

/* ---- host key, hashes, fingerprint ------------------------------------------------ */

Test(hostkey, raw_key_and_type, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *key = NULL;
    size_t len = 0;
    int type = -1;
    cr_assert_eq(xssh_session_hostkey(s, &key, &len, &type), XSSH_OK, "%s", last_msg());
    cr_assert_eq(type, XSSH_HOSTKEY_TYPE_ED25519);
    cr_assert_eq(len, 51, "ed25519 key blob is 4+11+4+32 bytes, got %zu", len);
    cr_assert(memcmp(key, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19) == 0);
    /* the blob is the one in the harness's known_hosts (base64 after the key type) */
    char enc[128];
    b64((unsigned char *)key, len, enc);
    char *kh = read_file(xt()->known_hosts);
    cr_assert(strstr(kh, enc), "key %s not in the harness's known_hosts:\n%s", enc, kh);
    free(kh);
    xssh_free(key);
    /* type_out is optional */
    cr_assert_eq(xssh_session_hostkey(s, &key, &len, NULL), XSSH_OK);
    xssh_free(key);
    xssh_session_unref(s);
}

Test(hostkey, hashes_and_fingerprint, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *h = NULL, *fp = NULL;
    size_t n = 0;
    cr_assert_eq(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_MD5, &h, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 16);
    xssh_free(h);
    cr_assert_eq(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_SHA1, &h, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 20);
    xssh_free(h);
    cr_assert_eq(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_SHA256, &h, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 32);
    char enc[64];
    b64((unsigned char *)h, n, enc);
    xssh_free(h);
    cr_assert_eq(xssh_session_hostkey_fingerprint(s, &fp), XSSH_OK, "%s", last_msg());
    cr_assert_str_eq(fp, xt()->hostkey_fp, "fingerprint differs from ssh-keygen's");
    cr_assert_str_eq(fp + 7, enc, "fingerprint is not the SHA256 hash in base64");
    cr_assert_eq(strchr(fp, '='), NULL, "OpenSSH fingerprints have no padding");
    xssh_free(fp);
    xssh_session_unref(s);
}

/* ---- verify_host ------------------------------------------------------------------- */

Test(hostkey, strict_ok, .timeout = 60)
{
    xssh_session *s = xt_connect();
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, xt()->known_hosts), XSSH_OK, "%s",
                 last_msg());
    cr_assert_eq(xssh_session_verify_host(s, xt()->host, xt()->port, XSSH_HOSTKEY_STRICT, xt()->known_hosts),
                 XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

Test(hostkey, strict_unknown, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *empty = xt_tmppath("kh-empty");
    write_file(empty, "# nothing here\n");
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, empty);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), xt()->hostkey_fp), "message lacks the offered fingerprint: %s", last_msg());
    cr_assert(strstr(last_msg(), empty), "message lacks the file: %s", last_msg());
    char *hp = hostport();
    cr_assert(strstr(last_msg(), hp), "message lacks %s: %s", hp, last_msg());
    cr_assert_str_eq(xssh_err_info_get(rc)->exception, "KnownHostCheckNotFoundError");
    cr_assert_eq(count_lines(empty), 1, "strict must not write");
    /* a missing file: unknown, not an I/O error, and not created */
    char *missing = xt_tmppath("kh-missing");
    rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, missing);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_neq(access(missing, F_OK), 0, "strict created the file");
    /* another host name than the one in the file */
    rc = xssh_session_verify_host(s, "other.example", 0, XSSH_HOSTKEY_STRICT, xt()->known_hosts);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "other.example"), "%s", last_msg());
    /* the same host on another port ([host]:port entries are port-specific) */
    rc = xssh_session_verify_host(s, NULL, xt()->port == 2222 ? 2223 : 2222, XSSH_HOSTKEY_STRICT, xt()->known_hosts);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    free(hp);
    free(empty);
    free(missing);
    xssh_session_unref(s);
}

/* A known_hosts claiming the server has key_unauthorized's (ed25519) key; *old_fp its fingerprint. */
static char *changed_file(char **old_fp)
{
    char *pub = NULL;
    cr_assert_gt(asprintf(&pub, "%s.pub", xt()->key_unauthorized), 0);
    char *text = read_file(pub);
    cr_assert_not_null(text);
    char *hp = hostport();
    char *line = NULL;
    cr_assert_gt(asprintf(&line, "%s %s", hp, text), 0); /* "ssh-ed25519 AAAA... comment\n" */
    char *path = xt_tmppath("kh-changed");
    write_file(path, line);
    *old_fp = keygen_fp(pub);
    free(pub);
    free(text);
    free(hp);
    free(line);
    return path;
}

Test(hostkey, strict_changed, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *old_fp = NULL;
    char *path = changed_file(&old_fp);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), xt()->hostkey_fp), "message lacks the server's fingerprint: %s", last_msg());
    cr_assert(strstr(last_msg(), old_fp), "message lacks the recorded fingerprint %s: %s", old_fp, last_msg());
    cr_assert(strstr(last_msg(), path), "message lacks the file: %s", last_msg());
    cr_assert_str_eq(xssh_err_info_get(rc)->exception, "KnownHostCheckMisMatchError");
    char *m = NULL;
    cr_assert_eq(xssh_session_last_error(s, &m), XSSH_OK);
    cr_assert(strstr(m, old_fp), "%s", m);
    xssh_free(m);
    /* accept_new rejects a changed key too, and leaves the file alone */
    char *before = read_file(path);
    rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "accept_new got %s: %s", xssh_err_name(rc), last_msg());
    char *after = read_file(path);
    cr_assert_str_eq(before, after, "accept_new modified the file on a changed key");
    /* off: an explicit opt-out */
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_OFF, path), XSSH_OK, "%s", last_msg());
    free(before);
    free(after);
    free(path);
    free(old_fp);
    xssh_session_unref(s);
}

Test(hostkey, accept_new_writes_once, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *dir = xt_tmppath("khdir");
    char *path = NULL;
    cr_assert_gt(asprintf(&path, "%s/sub/known_hosts", dir), 0);
    mkdir(dir, 0700);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(count_lines(path), 1, "accept_new must write exactly one line");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "known_hosts must not be group/world writable/readable: %o", st.st_mode);
    /* OpenSSH finds it */
    char *hp = hostport();
    char *found = run("ssh-keygen -F '%s' -f '%s' 2>/dev/null | grep -v '^#'", hp, path);
    cr_assert(strstr(found, "ssh-ed25519"), "ssh-keygen -F did not find %s: '%s'", hp, found);
    free(found);
    /* second run: OK, no duplicate */
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path), XSSH_OK, "%s", last_msg());
    cr_assert_eq(count_lines(path), 1, "the second accept_new duplicated the entry");
    /* and strict accepts it now, from a new session too */
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
    s = xt_connect();
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s", last_msg());
    /* appending keeps existing lines */
    cr_assert_eq(xssh_session_verify_host(s, "alias.example", 22, XSSH_HOSTKEY_ACCEPT_NEW, path), XSSH_OK, "%s",
                 last_msg());
    cr_assert_eq(count_lines(path), 2);
    char *text = read_file(path);
    cr_assert(strstr(text, "alias.example ssh-ed25519 "), "port 22 entries are plain names:\n%s", text);
    free(text);
    cr_assert_eq(xssh_session_verify_host(s, "alias.example", 22, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s",
                 last_msg());
    xssh_session_unref(s);
    free(hp);
    free(path);
    free(dir);
}

Test(hostkey, other_key_type_is_a_change, .timeout = 60)
{
    /* like OpenSSH 9.2 (hostfile.c check_hostkeys_by_key_or_type): a recorded key of another
       type (ECDSA) while the server shows its Ed25519 key is a CHANGED key, not an unknown
       one, and accept_new does not learn it (test_hostkey_openssh checks this against ssh) */
    xssh_session *s = xt_connect();
    char *pub = NULL;
    cr_assert_gt(asprintf(&pub, "%s.pub", xt()->key_ecdsa), 0);
    char *text = read_file(pub);
    char *hp = hostport();
    char *line = NULL;
    cr_assert_gt(asprintf(&line, "%s %s", hp, text), 0);
    char *path = xt_tmppath("kh-ecdsa");
    write_file(path, line);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "ecdsa-sha2-nistp256"), "message lacks the recorded type: %s", last_msg());
    cr_assert(strstr(last_msg(), ":1 "), "message lacks the line number: %s", last_msg());
    rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_eq(count_lines(path), 1, "accept_new wrote to the file on a changed key");
    free(path);
    free(line);
    free(hp);
    free(text);
    free(pub);
    xssh_session_unref(s);
}

Test(hostkey, accept_new_no_trailing_newline, .timeout = 60)
{
    /* a file whose last line lacks its newline: the new entry must not be glued onto it */
    xssh_session *s = xt_connect();
    char *path = xt_tmppath("kh-nonl");
    char *pub = NULL;
    cr_assert_gt(asprintf(&pub, "%s.pub", xt()->key_unauthorized), 0);
    char *text = read_file(pub);
    text[strcspn(text, "\n")] = 0;
    char *line = NULL;
    cr_assert_gt(asprintf(&line, "other.example %s", text), 0);
    write_file(path, line); /* no newline at the end */
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path), XSSH_OK, "%s", last_msg());
    cr_assert_eq(count_lines(path), 2, "entries glued together");
    char *found = run("ssh-keygen -F other.example -f '%s' 2>/dev/null | grep -v '^#'", path);
    cr_assert(strstr(found, "other.example"), "the old entry was damaged: '%s'", found);
    free(found);
    char *hp = hostport();
    found = run("ssh-keygen -F '%s' -f '%s' 2>/dev/null | grep -v '^#'", hp, path);
    cr_assert(strstr(found, "ssh-ed25519"), "the new entry is not readable: '%s'", found);
    free(found);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s", last_msg());
    free(hp);
    free(line);
    free(text);
    free(pub);
    free(path);
    xssh_session_unref(s);
}

Test(hostkey, accept_new_missing_directory, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *dir = xt_tmppath("no-such-dir");
    char *path = NULL;
    cr_assert_gt(asprintf(&path, "%s/a/known_hosts", dir), 0);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path);
    if (rc == XSSH_OK) {
        /* created the directories (like ~/.ssh): must then hold the entry */
        cr_assert_eq(count_lines(path), 1);
    } else {
        cr_assert_eq(rc, XSSH_EKNOWNHOST_WRITEFILE, "got %s: %s", xssh_err_name(rc), last_msg());
        cr_assert(strstr(last_msg(), path), "message lacks the file: %s", last_msg());
    }
    free(path);
    free(dir);
    xssh_session_unref(s);
}

Test(hostkey, accept_new_unwritable, .timeout = 60)
{
    if (geteuid() == 0)
        cr_skip_test("root can write anywhere");
    xssh_session *s = xt_connect();
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, "/proc/xssh-no/known_hosts");
    cr_assert_eq(rc, XSSH_EKNOWNHOST_WRITEFILE, "%s", last_msg());
    xssh_session_unref(s);
}

Test(hostkey, hashed_known_hosts, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *path = xt_tmppath("kh-hashed");
    char *text = read_file(xt()->known_hosts);
    write_file(path, text);
    free(text);
    char *out = run("ssh-keygen -q -H -f '%s' >/dev/null 2>&1; echo $?", path);
    cr_assert_str_eq(out, "0", "ssh-keygen -H failed");
    free(out);
    text = read_file(path);
    cr_assert(strncmp(text, "|1|", 3) == 0, "not hashed:\n%s", text);
    char *hp = hostport();
    cr_assert(strstr(text, hp) == NULL, "the host name is still in clear");
    free(text);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path), XSSH_OK, "%s", last_msg());
    cr_assert_eq(count_lines(path), 1, "accept_new re-added a hashed entry");
    int rc = xssh_session_verify_host(s, "other.example", 0, XSSH_HOSTKEY_STRICT, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());

    /* a hashed changed key */
    char *old_fp = NULL;
    char *changed = changed_file(&old_fp);
    out = run("ssh-keygen -q -H -f '%s' >/dev/null 2>&1; echo $?", changed);
    cr_assert_str_eq(out, "0");
    free(out);
    rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, changed);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), old_fp), "%s", last_msg());
    free(changed);
    free(old_fp);
    free(hp);
    free(path);
    xssh_session_unref(s);
}

Test(hostkey, comments_markers_and_other_keys_skipped, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *path = xt_tmppath("kh-mixed");
    char *orig = read_file(xt()->known_hosts);
    char *text = NULL;
    cr_assert_gt(asprintf(&text,
                          "# a comment\n\n"
                          "@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJe9KSV/O35Ezq6WJzd6E4x5s+UJ2AMxt51w0ias0ffh\n"
                          "garbage line that is not a key\n"
                          "%s",
                          orig),
                 0);
    write_file(path, text);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s", last_msg());
    free(text);
    free(orig);
    free(path);
    xssh_session_unref(s);
}

Test(hostkey, revoked_key_refused, .timeout = 60)
{
    /* OpenSSH's "@revoked" marker: the key is refused even though a plain entry matches */
    xssh_session *s = xt_connect();
    char *path = xt_tmppath("kh-revoked");
    char *orig = read_file(xt()->known_hosts);
    char *keypart = strstr(orig, "ssh-ed25519 ");
    cr_assert_not_null(keypart);
    char *text = NULL;
    cr_assert_gt(asprintf(&text, "%s@revoked * %s", orig, keypart), 0);
    write_file(path, text);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), "revoked"), "%s", last_msg());
    cr_assert(strstr(last_msg(), xt()->hostkey_fp), "%s", last_msg());
    rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "accept_new got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_OFF, path), XSSH_OK);
    /* another key revoked: no effect */
    char *pub = NULL;
    cr_assert_gt(asprintf(&pub, "%s.pub", xt()->key_unauthorized), 0);
    char *other = read_file(pub);
    free(text);
    cr_assert_gt(asprintf(&text, "@revoked * %s%s", other, orig), 0);
    write_file(path, text);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path), XSSH_OK, "%s", last_msg());
    free(other);
    free(pub);
    free(text);
    free(orig);
    free(path);
    xssh_session_unref(s);
}

Test(hostkey, default_path_home, .timeout = 60)
{
    char *home = xt_tmppath("home");
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    xssh_session *s = xt_connect();
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, NULL);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), home), "message lacks the default path: %s", last_msg());
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, NULL), XSSH_OK, "%s", last_msg());
    char *kh = NULL;
    cr_assert_gt(asprintf(&kh, "%s/.ssh/known_hosts", home), 0);
    cr_assert_eq(count_lines(kh), 1, "~/.ssh/known_hosts not written");
    struct stat st;
    cr_assert_eq(stat(kh, &st), 0);
    char *dir = NULL;
    cr_assert_gt(asprintf(&dir, "%s/.ssh", home), 0);
    cr_assert_eq(stat(dir, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "~/.ssh created with mode %o", st.st_mode & 0777);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, NULL), XSSH_OK, "%s", last_msg());
    free(dir);
    free(kh);
    free(home);
    xssh_session_unref(s);
}

Test(hostkey, off_needs_nothing, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *missing = xt_tmppath("kh-off");
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_OFF, missing), XSSH_OK, "%s", last_msg());
    cr_assert_neq(access(missing, F_OK), 0, "off must not create a file");
    free(missing);
    xssh_session_unref(s);
}

Test(hostkey, unreadable_file, .timeout = 60)
{
    xssh_session *s = xt_connect();
    /* a directory is not a readable known_hosts file */
    char *dir = xt_tmppath("kh-isdir");
    mkdir(dir, 0700);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, dir);
    cr_assert_eq(rc, XSSH_EKNOWNHOST_READFILE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), dir), "%s", last_msg());
    cr_assert(strstr(last_msg(), "directory"), "message lacks the cause: %s", last_msg());
    rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, dir);
    cr_assert_eq(rc, XSSH_EKNOWNHOST_READFILE, "accept_new got %s: %s", xssh_err_name(rc), last_msg());
    free(dir);
    xssh_session_unref(s);
}

Test(hostkey, not_connected, .timeout = 60)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    char *k = NULL;
    size_t n;
    int t;
    cr_assert_eq(xssh_session_hostkey(s, &k, &n, &t), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_hostkey_hash(s, XSSH_HOSTKEY_HASH_MD5, &k, &n), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_hostkey_fingerprint(s, &k), XSSH_ENOTCONNECTED);
    cr_assert_eq(xssh_session_verify_host(s, "h", 22, XSSH_HOSTKEY_STRICT, xt()->known_hosts), XSSH_ENOTCONNECTED);
    xssh_session_unref(s);
}

/* ---- OpenSSH's lookup rules (the whole table against ssh itself: tests/bindings/python/test_hostkey_openssh.py) */

/* "ssh-ed25519 AAAA..." of a .pub file (no comment, no newline); caller frees */
static char *pub_of(const char *keypath)
{
    char *pub = NULL;
    cr_assert_gt(asprintf(&pub, "%s.pub", keypath), 0);
    char *text = read_file(pub);
    cr_assert_not_null(text, "cannot read %s", pub);
    char *sp = strchr(text, ' ');
    cr_assert_not_null(sp);
    sp = strchr(sp + 1, ' ');
    if (sp)
        *sp = 0;
    text[strcspn(text, "\n")] = 0;
    free(pub);
    return text;
}

/* the server's key as "ssh-ed25519 AAAA..." (the harness's host key) */
static char *server_pub(void)
{
    char *key = NULL;
    cr_assert_gt(asprintf(&key, "%s/host_ed25519", xt()->dir), 0);
    char *r = pub_of(key);
    free(key);
    return r;
}

static int verify_text(xssh_session *s, const char *host, int port, xssh_hostkey_policy pol, const char *text,
                       char **after)
{
    char *path = xt_tmppath("kh-rule");
    write_file(path, text);
    int rc = xssh_session_verify_host(s, host, port, pol, path);
    if (after)
        *after = read_file(path);
    free(path);
    return rc;
}

Test(hostkey, plain_host_other_key_on_another_port_is_unknown, .timeout = 60)
{
    /* the reported defect: "host <other key>" must not make [host]:port a changed key */
    xssh_session *s = xt_connect();
    char *other = pub_of(xt()->key_unauthorized), *mine = server_pub(), *text = NULL, *after = NULL;
    cr_assert_gt(asprintf(&text, "%s %s\n", xt()->host, other), 0);
    int rc = verify_text(s, NULL, 0, XSSH_HOSTKEY_STRICT, text, NULL);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    rc = verify_text(s, NULL, 0, XSSH_HOSTKEY_ACCEPT_NEW, text, &after);
    cr_assert_eq(rc, XSSH_OK, "got %s: %s", xssh_err_name(rc), last_msg());
    char *want = NULL;
    cr_assert_gt(asprintf(&want, "%s[%s]:%d %s\n", text, xt()->host, xt()->port, mine), 0);
    cr_assert_str_eq(after, want, "accept_new must learn [host]:port like ssh");
    /* on port 22 the plain entry is the host's entry: changed */
    rc = verify_text(s, NULL, 22, XSSH_HOSTKEY_ACCEPT_NEW, text, NULL);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    /* a plain entry with the server's key is accepted from any port (OpenSSH's fallback) */
    free(text);
    cr_assert_gt(asprintf(&text, "%s %s\n", xt()->host, mine), 0);
    cr_assert_eq(verify_text(s, NULL, 0, XSSH_HOSTKEY_STRICT, text, NULL), XSSH_OK, "%s", last_msg());
    /* ... but not over a [host]:port entry with another key */
    free(text);
    cr_assert_gt(asprintf(&text, "[%s]:%d %s\n%s %s\n", xt()->host, xt()->port, other, xt()->host, mine), 0);
    rc = verify_text(s, NULL, 0, XSSH_HOSTKEY_STRICT, text, NULL);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "got %s: %s", xssh_err_name(rc), last_msg());
    free(want);
    free(after);
    free(text);
    free(mine);
    free(other);
    xssh_session_unref(s);
}

Test(hostkey, patterns_case_and_revoked_scope, .timeout = 60)
{
    xssh_session *s = xt_connect();
    char *other = pub_of(xt()->key_unauthorized), *mine = server_pub(), *text = NULL;
    struct {
        const char *fmt; /* %1$s host, %2$d port, %3$s server key, %4$s other key */
        int want;
    } cases[] = {
        {"[127.0.0.*]:%2$d %3$s\n", XSSH_OK},
        {"[127.0.0.?]:* %3$s\n", XSSH_OK},
        {"other.example,[%1$s]:%2$d %3$s\n", XSSH_OK},
        {"!other.example,* %3$s\n", XSSH_OK},
        {"![%1$s]:%2$d,* %4$s\n", XSSH_EHOSTKEY_UNKNOWN},   /* negated: the line does not apply */
        {"* %4$s\n", XSSH_EHOSTKEY_CHANGED},
        {"[%1$s]:%2$d %4$s\n[%1$s]:%2$d %3$s\n", XSSH_OK}, /* several keys for one host */
        {"@revoked other.example %3$s\n[%1$s]:%2$d %3$s\n", XSSH_OK}, /* revoked for another host only */
        {"@revoked [%1$s]:%2$d %3$s\n", XSSH_EHOSTKEY_CHANGED},
        {"@cert-authority [%1$s]:%2$d %3$s\n", XSSH_EHOSTKEY_UNKNOWN}, /* CA lines: certificates only */
        {"@bogus [%1$s]:%2$d %4$s\n[%1$s]:%2$d ssh-ed25519 AAAAbad\n[%1$s]:%2$d ssh-foo AAAA\n", XSSH_EHOSTKEY_UNKNOWN},
        {"  \t[%1$s]:%2$d\t%3$s trailing comment\r\n", XSSH_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_gt(asprintf(&text, cases[i].fmt, xt()->host, xt()->port, mine, other), 0);
        int rc = verify_text(s, NULL, 0, XSSH_HOSTKEY_STRICT, text, NULL);
        cr_assert_eq(rc, cases[i].want, "case %zu (%s): got %s: %s", i, text, xssh_err_name(rc), last_msg());
        free(text);
    }
    /* host names compare without case; accept_new records them in lower case, like ssh */
    cr_assert_gt(asprintf(&text, "[KH.Example]:2222 %s\n", mine), 0);
    cr_assert_eq(verify_text(s, "kh.EXAMPLE", 2222, XSSH_HOSTKEY_STRICT, text, NULL), XSSH_OK, "%s", last_msg());
    free(text);
    char *after = NULL;
    cr_assert_eq(verify_text(s, "New.Example", 22, XSSH_HOSTKEY_ACCEPT_NEW, "", &after), XSSH_OK, "%s", last_msg());
    cr_assert_gt(asprintf(&text, "new.example %s\n", mine), 0);
    cr_assert_str_eq(after, text);
    free(after);
    free(text);
    /* a name that would read back as a pattern is never recorded */
    int rc = verify_text(s, "bad*name", 22, XSSH_HOSTKEY_ACCEPT_NEW, "", &after);
    cr_assert_eq(rc, XSSH_EHOSTKEY_UNKNOWN, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert_str_eq(after, "");
    free(after);
    free(mine);
    free(other);
    xssh_session_unref(s);
}

Test(hostkey, prefer_known_hostkeys, .timeout = 60)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_session_prefer_known_hostkeys(NULL, "h", 22, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_prefer_known_hostkeys(s, NULL, 22, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_prefer_known_hostkeys(s, "h", -1, NULL), XSSH_EARG);
    cr_assert_eq(xssh_session_prefer_known_hostkeys(s, "h", 22, ""), XSSH_EARG);
    char *dir = xt_tmppath("kh-prefer-dir");
    mkdir(dir, 0700);
    int rc = xssh_session_prefer_known_hostkeys(s, "h", 22, dir);
    cr_assert_eq(rc, XSSH_EKNOWNHOST_READFILE, "got %s: %s", xssh_err_name(rc), last_msg());
    cr_assert(strstr(last_msg(), dir), "%s", last_msg());
    char *missing = xt_tmppath("kh-prefer-missing");
    cr_assert_eq(xssh_session_prefer_known_hostkeys(s, "h", 22, missing), XSSH_OK, "%s", last_msg());
    /* with the harness's file (ed25519 recorded) the handshake and verification go through */
    cr_assert_eq(xssh_session_prefer_known_hostkeys(s, xt()->host, xt()->port, xt()->known_hosts), XSSH_OK, "%s",
                 last_msg());
    cr_assert_eq(xssh_session_connect(s, xt()->host, xt()->port, 10000), XSSH_OK, "%s", last_msg());
    char *m = NULL;
    cr_assert_eq(xssh_session_methods(s, XSSH_METHOD_HOSTKEY, &m), XSSH_OK);
    cr_assert_str_eq(m, "ssh-ed25519");
    xssh_free(m);
    cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, xt()->known_hosts), XSSH_OK, "%s",
                 last_msg());
    free(missing);
    free(dir);
    xssh_session_unref(s);
}
