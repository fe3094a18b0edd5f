/* SPDX-License-Identifier: BSD-3-Clause */
/* known_hosts LINES through the public collection API: each input line goes to
 * xssh_knownhosts_readline (which copies and terminates it for libssh2); every
 * entry that got in is then copied out (xssh_knownhosts_get: name, key, its
 * line via libssh2_knownhost_writeline), written back (writeline), parsed again
 * into a second collection, checked against itself (checkp: a stored key must
 * match its own host) and deleted (delete finds the entry again by its copy).
 * Hashed (|1|salt|hash) lines, markers, comments, blank and over-long lines
 * come from the seeds. */
#include "common.h"

#define MAX_LINES 64

static int keytype_ok(int mask)
{
    int k = mask & XSSH_KNOWNHOST_KEY_MASK;
    return k >= XSSH_KNOWNHOST_KEY_SSHRSA && k <= XSSH_KNOWNHOST_KEY_ED25519;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xssh_session *s = fuzz_session();
    xssh_knownhosts *kh = NULL, *again = NULL;
    FUZZ_CHECK(xssh_knownhosts_new(&kh, s) == XSSH_OK && xssh_knownhosts_new(&again, s) == XSSH_OK, "new");
    const char *p = (const char *)data, *end = p + size;
    int lines = 0;
    while (p < end && lines++ < MAX_LINES) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        int rc = xssh_knownhosts_readline(kh, p, len, XSSH_KNOWNHOST_FILE_OPENSSH);
        fuzz_check_error(rc, "readline");
        FUZZ_CHECK(rc == XSSH_OK || rc == XSSH_EKNOWNHOST_READLINE, "readline answered %d", rc);
        p += len;
    }
    size_t n = 0;
    FUZZ_CHECK(xssh_knownhosts_count(kh, &n) == XSSH_OK, "count");
    for (size_t i = 0; i < n; i++) {
        xssh_knownhost *e = NULL;
        int rc = xssh_knownhosts_get(kh, i, &e);
        FUZZ_CHECK(rc == XSSH_OK, "get(%zu) of %zu: %d", i, n, rc);
        const char *name = NULL, *key = NULL;
        int mask = 0;
        FUZZ_CHECK(xssh_knownhost_name(e, &name) == XSSH_OK && name, "name");
        FUZZ_CHECK(xssh_knownhost_key(e, &key) == XSSH_OK && key, "key");
        FUZZ_CHECK(xssh_knownhost_typemask(e, &mask) == XSSH_OK, "typemask");
        char *line = NULL;
        rc = xssh_knownhosts_writeline(kh, e, XSSH_KNOWNHOST_FILE_OPENSSH, &line);
        fuzz_check_error(rc, "writeline");
        if (rc == XSSH_OK) {
            FUZZ_CHECK(line && strlen(line) > 0, "writeline gave an empty line");
            rc = xssh_knownhosts_readline(again, line, strlen(line), XSSH_KNOWNHOST_FILE_OPENSSH);
            fuzz_check_error(rc, "readline of a written line");
            xssh_free(line);
        }
        /* a plain entry's own key matches its own host */
        if (*name && *key && !strpbrk(name, "*?!,[") && keytype_ok(mask) &&
            (mask & XSSH_KNOWNHOST_TYPE_MASK) == XSSH_KNOWNHOST_TYPE_PLAIN) {
            int result = -1;
            xssh_knownhost *found = NULL;
            rc = xssh_knownhosts_checkp(kh, name, -1, key, 0,
                                        XSSH_KNOWNHOST_TYPE_PLAIN | XSSH_KNOWNHOST_KEYENC_BASE64 |
                                            (mask & XSSH_KNOWNHOST_KEY_MASK),
                                        &result, &found);
            fuzz_check_error(rc, "checkp");
            xssh_knownhost_unref(found);
        }
        xssh_knownhost_unref(e);
    }
    /* delete each entry through its copy, first to last */
    for (size_t i = 0; i < n; i++) {
        xssh_knownhost *e = NULL;
        if (xssh_knownhosts_get(kh, 0, &e) != XSSH_OK)
            break;
        int rc = xssh_knownhosts_delete(kh, e);
        fuzz_check_error(rc, "delete");
        xssh_knownhost_unref(e);
        if (rc != XSSH_OK)
            break;
    }
    xssh_knownhosts_unref(again);
    xssh_knownhosts_unref(kh);
    return 0;
}
