/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * demo: connect, verify the server's host key (accept-new into the given
 * known_hosts file: learnt on first use, checked afterwards), authenticate with a
 * key, print what the session negotiated, and run a command.
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

static void show_method(xssh_session *s, const char *label, int type)
{
    char *m = NULL;
    if (xssh_session_methods(s, type, &m) == XSSH_OK)
        printf("  %-12s %s\n", label, m);
    xssh_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT USER KEY KNOWN_HOSTS [COMMAND]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *user = argv[3], *key = argv[4], *known_hosts = argv[5];
    const char *command = argc > 6 ? argv[6] : "echo me; exit 2";
    int port = atoi(argv[2]), rc;

    printf("xssh %s: %s\n", xssh_version(), xssh_capabilities());
    xssh_session *s = NULL;
    if ((rc = xssh_session_new(&s)))
        return fail("session_new", rc);
    if ((rc = xssh_session_connect(s, host, port, 10000)))
        return fail("connect", rc);
    char *text = NULL;
    if ((rc = xssh_session_hostkey_fingerprint(s, &text)))
        return fail("hostkey_fingerprint", rc);
    printf("server host key %s\n", text);
    xssh_free(text);
    if ((rc = xssh_session_verify_host(s, host, port, XSSH_HOSTKEY_ACCEPT_NEW, known_hosts)))
        return fail("verify_host", rc);
    printf("host key verified (accept-new) against %s\n", known_hosts);
    if ((rc = xssh_session_banner_get(s, &text)))
        return fail("banner_get", rc);
    printf("server banner   %s\n", text);
    xssh_free(text);
    printf("negotiated:\n");
    show_method(s, "kex", XSSH_METHOD_KEX);
    show_method(s, "host key", XSSH_METHOD_HOSTKEY);
    show_method(s, "cipher c>s", XSSH_METHOD_CRYPT_CS);
    show_method(s, "mac c>s", XSSH_METHOD_MAC_CS);
    show_method(s, "compression", XSSH_METHOD_COMP_CS);
    if ((rc = xssh_session_userauth_publickey_fromfile(s, user, key, NULL, NULL)))
        return fail("userauth_publickey_fromfile", rc);
    printf("authenticated as %s\n", user);
    xssh_run_result *r = NULL;
    if ((rc = xssh_session_run(s, command, NULL, &r)))
        return fail("run", rc);
    printf("$ %s\n", command);
    fwrite(r->out, 1, r->out_len, stdout);
    fwrite(r->err, 1, r->err_len, stderr);
    if (r->have_exit_status)
        printf("exit status: %d\n", r->exit_status);
    else
        printf("exit status: none (signal %s)\n", r->exit_signal ? r->exit_signal : "?");
    xssh_run_result_free(r);
    xssh_session_disconnect(s);
    xssh_session_unref(s);
    return 0;
}
