/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * demo: connect, verify the server's host key against known_hosts (strict),
 * authenticate with a key, run a command and print its output and exit status.
 *
 *   demo HOST PORT USER KEY KNOWN_HOSTS [COMMAND]
 */
#include <stdio.h>
#include <stdlib.h>

#include <xssh.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "demo: %s failed: %s (%s)\n  %s\n", what, xssh_strerror(rc), xssh_err_name(rc),
            xssh_error_last()->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT USER KEY KNOWN_HOSTS [COMMAND]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *user = argv[3], *key = argv[4], *known_hosts = argv[5];
    const char *command = argc > 6 ? argv[6] : "echo hello from $(uname -n); exit 3";
    int port = atoi(argv[2]), rc;

    printf("xssh %s over libssh2 %s (%s)\n", xssh_version(), xssh_libssh2_version(), xssh_capabilities());
    xssh_session *s = NULL;
    if ((rc = xssh_session_new(&s)))
        return fail("session_new", rc);
    if ((rc = xssh_session_connect(s, host, port, 10000)))
        return fail("connect", rc);
    char *fp = NULL;
    if ((rc = xssh_session_hostkey_fingerprint(s, &fp)))
        return fail("hostkey_fingerprint", rc);
    printf("server host key %s\n", fp);
    xssh_free(fp);
    if ((rc = xssh_session_verify_host(s, host, port, XSSH_HOSTKEY_STRICT, known_hosts)))
        return fail("verify_host", rc);
    printf("host key verified against %s\n", known_hosts);
    if ((rc = xssh_session_userauth_publickey_fromfile(s, user, key, NULL, NULL)))
        return fail("userauth_publickey_fromfile", rc);
    printf("authenticated as %s\n", user);
    (void)command; /* run() arrives with channels (issue 3) */
    xssh_session_disconnect(s);
    xssh_session_unref(s);
    return 0;
}
