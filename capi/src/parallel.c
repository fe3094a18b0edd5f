/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh__parallel(): placeholder that runs the tasks one after the other; the
   multi interface (multi.c) replaces it with tasks on their own stacks. */
#include "internal.h"

int xssh__parallel(size_t count, int width, int (*task)(void *ctx, size_t i), void *ctx)
{
    (void)width;
    for (size_t i = 0; i < count; i++) {
        int rc = task(ctx, i);
        if (rc != XSSH_OK)
            return rc;
    }
    return XSSH_OK;
}
