/* SPDX-License-Identifier: BSD-3-Clause */
/* ssh_config(5) text (capi/src/config.c): the input is a configuration file,
 * read both as text (xssh_options_set_config_text, up to the first NUL) and as
 * a file (ConfigFile: the whole input, NUL bytes included), then resolved for a
 * few host names. Every call either succeeds with a complete `ssh -G`-style
 * answer or fails with XSSH_ECONFIG/XSSH_EARG and a message; $HOME is the
 * fuzz directory (relative Include paths find nothing there). The first line
 * may be "#host NAME" to choose one more host to resolve. */
#include "common.h"

#include <ctype.h>

#include "xssh/connect.h"

static char *in_lower; /* the input in lower case */
static size_t in_size;

static void resolve_one(xssh_options *o, const char *host)
{
    char *text = NULL;
    int rc = xssh_options_resolve(o, host, &text);
    fuzz_check_error(rc, "xssh_options_resolve");
    FUZZ_CHECK(rc == XSSH_OK || rc == XSSH_ECONFIG || rc == XSSH_EARG, "resolve answered %d", rc);
    if (rc == XSSH_OK) {
        FUZZ_CHECK(text && strncmp(text, "host ", 5) == 0, "no host line");
        FUZZ_CHECK(strstr(text, "\nhostname ") && strstr(text, "\nport ") && strstr(text, "\nciphers "),
                   "incomplete answer");
        /* the password never shows (unless the input itself spells it, in any
           case: host names are lower-cased) */
        FUZZ_CHECK(!strstr(text, "fuzz-secret") || memmem(in_lower, in_size, "fuzz-secret", 11),
                   "a secret in the answer");
        xssh_free(text);
    } else {
        FUZZ_CHECK(text == NULL, "output set on failure");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        setenv("HOME", fuzz_dir(), 1);
    }
    in_lower = malloc(size + 1);
    FUZZ_CHECK(in_lower != NULL, "malloc");
    for (size_t i = 0; i < size; i++)
        in_lower[i] = (char)tolower(data[i]);
    in_size = size;
    char host[128] = "";
    if (size > 6 && memcmp(data, "#host ", 6) == 0) {
        size_t i = 6, j = 0;
        while (i < size && data[i] != '\n' && data[i] && j < sizeof host - 1)
            host[j++] = (char)data[i++];
        host[j] = '\0';
    }
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL, "malloc");
    memcpy(text, data, size);
    text[size] = '\0';

    xssh_options *o = NULL;
    FUZZ_CHECK(xssh_options_new(&o) == XSSH_OK, "new");
    FUZZ_CHECK(xssh_options_set(o, "Password", "fuzz-secret") == XSSH_OK, "password");
    int rc = xssh_options_set_config_text(o, text, "fuzz");
    fuzz_check_error(rc, "set_config_text");
    FUZZ_CHECK(rc == XSSH_OK || rc == XSSH_ECONFIG, "set_config_text answered %d", rc);
    if (rc == XSSH_OK) {
        resolve_one(o, "host");
        resolve_one(o, "user@a.corp");
        if (host[0])
            resolve_one(o, host);
    }
    /* the same bytes as a file */
    char path[400];
    snprintf(path, sizeof path, "%s/config", fuzz_dir());
    fuzz_write_file(path, data, size);
    FUZZ_CHECK(xssh_options_set(o, "ConfigFile", path) == XSSH_OK, "ConfigFile");
    resolve_one(o, "host");
    if (host[0])
        resolve_one(o, host);
    xssh_options_unref(o);
    free(text);
    free(in_lower);
    in_lower = NULL;
    return 0;
}
