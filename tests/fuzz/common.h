/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the fuzz targets (header-only: each target is one program). */
#ifndef XSSH_FUZZ_COMMON_H
#define XSSH_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Stop with a message: libFuzzer and the replay driver report the abort. */
#define FUZZ_CHECK(cond, ...)                                              \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz check failed: %s: ", #cond);             \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            abort();                                                       \
        }                                                                  \
    } while (0)

static char fuzz_dir_path[256];

static inline void fuzz_dir_remove(void)
{
    char cmd[300];
    if (!fuzz_dir_path[0])
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", fuzz_dir_path);
}

/* A private directory for this process's files (in /dev/shm when there is one),
   removed at exit. */
static inline const char *fuzz_dir(void)
{
    if (fuzz_dir_path[0])
        return fuzz_dir_path;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/xssh-fuzz.XXXXXX", base);
    if (!mkdtemp(fuzz_dir_path)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_dir_remove);
    return fuzz_dir_path;
}

static inline void fuzz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* One unconnected session for the process (local-only work needs no connection). */
static inline xssh_session *fuzz_session(void)
{
    static xssh_session *s;
    if (!s && xssh_session_new(&s) != XSSH_OK) {
        fprintf(stderr, "xssh_session_new: %s\n", xssh_error_last()->message);
        abort();
    }
    return s;
}

/* Every failure must say what failed. */
static inline void fuzz_check_error(int rc, const char *what)
{
    if (rc == XSSH_OK)
        return;
    const xssh_error *e = xssh_error_last();
    FUZZ_CHECK(e->code == rc, "%s: returned %d but the last error is %d", what, rc, e->code);
    FUZZ_CHECK(e->message && e->message[0], "%s: error %d without a message", what, rc);
}

#endif
