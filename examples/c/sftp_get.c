/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sftp_get: download one file over SFTP with a progress line.
 *
 *   sftp_get HOST PORT USER KEYFILE REMOTE LOCAL
 *
 * Authenticates with the private key KEYFILE (its .pub beside it is not
 * needed), then xssh_sftp_get() with opts.atomic: LOCAL only appears once
 * everything arrived. Host-key checking is left out for brevity; see demo.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xssh.h>

static int show(uint64_t done, uint64_t total, void *userdata)
{
    (void)userdata;
    if (total != XSSH_SIZE_UNKNOWN && total > 0)
        fprintf(stderr, "\r%llu / %llu bytes (%d%%)", (unsigned long long)done, (unsigned long long)total,
                (int)(done * 100 / total));
    else
        fprintf(stderr, "\r%llu bytes", (unsigned long long)done);
    return 0; /* nonzero would cancel */
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT USER KEYFILE REMOTE LOCAL\n", argv[0]);
        return 2;
    }
    xssh_session *s = NULL;
    xssh_sftp *sftp = NULL;
    int rc = xssh_session_new(&s);
    if (!rc)
        rc = xssh_session_connect(s, argv[1], atoi(argv[2]), 10000);
    if (!rc)
        rc = xssh_session_userauth_publickey_fromfile(s, argv[3], argv[4], NULL, NULL);
    if (!rc)
        rc = xssh_sftp_new(&sftp, s);
    if (!rc) {
        xssh_transfer_opts opts;
        memset(&opts, 0, sizeof opts);
        opts.progress = show;
        opts.atomic = 1;
        uint64_t got = 0;
        rc = xssh_sftp_get(sftp, argv[5], argv[6], &opts, &got);
        fprintf(stderr, "\n%llu bytes received\n", (unsigned long long)got);
    }
    if (rc)
        fprintf(stderr, "sftp_get: %s (%s)\n", xssh_error_last()->message, xssh_err_name(rc));
    xssh_sftp_unref(sftp);
    if (s)
        xssh_session_disconnect(s);
    xssh_session_unref(s);
    return rc ? 1 : 0;
}
