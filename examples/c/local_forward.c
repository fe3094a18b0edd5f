/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * local_forward: what `ssh -L 127.0.0.1:LPORT:DEST_HOST:DEST_PORT` does.
 *
 *   local_forward HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS]
 *
 * Listens on a free local port (printed), carries every connection to
 * DEST_HOST:DEST_PORT as seen from the server, and stops after SECONDS (default 30).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <xssh.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "local_forward: %s: %s\n", what, xssh_error_last()->message);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: %s HOST PORT USER KEY KNOWN_HOSTS DEST_HOST DEST_PORT [SECONDS]\n", argv[0]);
        return 2;
    }
    int seconds = argc > 8 ? atoi(argv[8]) : 30, rc;
    xssh_session *s = NULL;
    xssh_session_new(&s);
    if ((rc = xssh_session_connect(s, argv[1], atoi(argv[2]), 10000)) ||
        (rc = xssh_session_verify_host(s, argv[1], atoi(argv[2]), XSSH_HOSTKEY_STRICT, argv[5])) ||
        (rc = xssh_session_userauth_publickey_fromfile(s, argv[3], argv[4], NULL, NULL)))
        return fail("connect", rc);
    xssh_forward *f = NULL;
    if ((rc = xssh_forward_local(&f, s, "127.0.0.1", 0, argv[6], atoi(argv[7]))))
        return fail("forward_local", rc);
    int port = 0;
    xssh_forward_port(f, &port);
    printf("forwarding 127.0.0.1:%d -> %s:%s (via %s) for %d s\n", port, argv[6], argv[7], argv[1], seconds);
    fflush(stdout);
    for (int i = 0; i < seconds; i++) {
        sleep(1);
        xssh_forward_stats st;
        xssh_forward_get_stats(f, &st);
        printf("\r%llu connections (%llu open, %llu failed), %llu bytes out, %llu bytes in",
               (unsigned long long)st.accepted, (unsigned long long)st.active, (unsigned long long)st.failed,
               (unsigned long long)st.bytes_out, (unsigned long long)st.bytes_in);
        fflush(stdout);
    }
    printf("\n");
    xssh_forward_unref(f); /* stops and joins the forwarding thread */
    xssh_session_disconnect(s);
    xssh_session_unref(s);
    return 0;
}
