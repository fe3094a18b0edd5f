/* SPDX-License-Identifier: BSD-3-Clause */
/* Pieces shared by the whole-file transfers (sftp_transfer.c, scp.c): progress
   reporting at a bounded rate, and keeping the first error across clean-up. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define PROGRESS_STEP_MAX (1u << 20) /* report at least every MiB ... */
#define PROGRESS_STEP_MIN (32u << 10) /* ... and about 128 times per file */

void xssh__progress_init(xssh__progress *p, const xssh_transfer_opts *o, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->cb = o ? o->progress : NULL;
    p->ud = o ? o->userdata : NULL;
    p->total = total;
    p->step = PROGRESS_STEP_MAX;
    if (total != XSSH_SIZE_UNKNOWN && total / 128 < p->step)
        p->step = total / 128 < PROGRESS_STEP_MIN ? PROGRESS_STEP_MIN : total / 128;
}

int xssh__progress_report(xssh__progress *p, uint64_t done, int force)
{
    if (!p->cb)
        return 0;
    if (p->started && !force && done - p->last < p->step)
        return 0;
    p->started = 1;
    p->last = done;
    return p->cb(done, p->total, p->ud) != 0;
}

void xssh__err_save(xssh__saved_err *e)
{
    const xssh_error *l = xssh_error_last();
    e->code = l->code;
    e->libssh2_code = l->libssh2_code;
    e->sftp_status = l->sftp_status;
    snprintf(e->msg, sizeof e->msg, "%s", l->message ? l->message : "");
}

static int refail(xssh_session *s, const xssh__saved_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xssh__vfail(s, e->code, e->libssh2_code, e->sftp_status, fmt, ap);
    va_end(ap);
    return e->code;
}

int xssh__err_restore(xssh_session *s, const xssh__saved_err *e) { return refail(s, e, "%s", e->msg); }
