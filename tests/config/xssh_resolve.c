/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh_resolve [-F file|none] [-o Name=value]... host
 * Prints xssh_options_resolve() for host, as `ssh -G [-F file] [-o ...] host`
 * does (used by tests/config/compare.py). Exit 1 with the error on failure. */
#include <stdio.h>
#include <string.h>
#include <xssh.h>
#include <xssh/connect.h>

int main(int argc, char **argv)
{
    xssh_options *o = NULL;
    if (xssh_options_new(&o) != XSSH_OK)
        return 2;
    int i = 1;
    for (; i + 1 < argc; i += 2) {
        const char *name = NULL, *value = NULL;
        char buf[8192];
        if (strcmp(argv[i], "-F") == 0) {
            name = "ConfigFile";
            value = argv[i + 1];
        } else if (strcmp(argv[i], "-o") == 0) {
            snprintf(buf, sizeof buf, "%s", argv[i + 1]);
            char *eq = strpbrk(buf, "= \t");
            if (!eq) {
                fprintf(stderr, "-o %s: no value\n", argv[i + 1]);
                return 2;
            }
            *eq = '\0';
            value = eq + 1;
            value += strspn(value, "= \t");
            name = buf;
        } else {
            break;
        }
        if (xssh_options_set(o, name, value) != XSSH_OK) {
            fprintf(stderr, "%s\n", xssh_error_last()->message);
            xssh_options_unref(o);
            return 1;
        }
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: xssh_resolve [-F file] [-o Name=value]... host\n");
        xssh_options_unref(o);
        return 2;
    }
    char *text = NULL;
    if (xssh_options_resolve(o, argv[i], &text) != XSSH_OK) {
        fprintf(stderr, "%s\n", xssh_error_last()->message);
        xssh_options_unref(o);
        return 1;
    }
    fputs(text, stdout);
    xssh_free(text);
    xssh_options_unref(o);
    return 0;
}
