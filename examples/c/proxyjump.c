/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proxyjump: what `ssh -J JUMP_HOST:JUMP_PORT TARGET_HOST -p TARGET_PORT COMMAND` does,
 * with every host key checked against KNOWN_HOSTS (strict) and one key for both hops.
 *
 *   proxyjump JUMP_HOST JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]
 */
#include <stdio.h>
#include <stdlib.h>

#include <xssh.h>

static xssh_session *hop(xssh_session *via, const char *host, int port, const char *user, const char *key,
                         const char *known_hosts)
{
    xssh_session *s = NULL;
    xssh_session_new(&s);
    int rc = via ? xssh_session_connect_via(s, via, host, port, 10000) : xssh_session_connect(s, host, port, 10000);
    if (!rc)
        rc = xssh_session_verify_host(s, host, port, XSSH_HOSTKEY_STRICT, known_hosts);
    if (!rc)
        rc = xssh_session_userauth_publickey_fromfile(s, user, key, NULL, NULL);
    if (rc) {
        fprintf(stderr, "proxyjump: %s:%d: %s\n", host, port, xssh_error_last()->message);
        xssh_session_unref(s);
        return NULL;
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: %s JUMP_HOST JUMP_PORT TARGET_HOST TARGET_PORT USER KEY KNOWN_HOSTS [COMMAND]\n",
                argv[0]);
        return 2;
    }
    const char *cmd = argc > 8 ? argv[8] : "echo hello from the far side";
    xssh_session *jump = hop(NULL, argv[1], atoi(argv[2]), argv[5], argv[6], argv[7]);
    if (!jump)
        return 1;
    xssh_session *target = hop(jump, argv[3], atoi(argv[4]), argv[5], argv[6], argv[7]);
    xssh_session_unref(jump); /* the target keeps the hop alive */
    if (!target)
        return 1;
    xssh_run_result *r = NULL;
    if (xssh_session_run(target, cmd, NULL, &r)) {
        fprintf(stderr, "proxyjump: run: %s\n", xssh_error_last()->message);
        return 1;
    }
    fwrite(r->out, 1, r->out_len, stdout);
    fwrite(r->err, 1, r->err_len, stderr);
    int status = r->have_exit_status ? r->exit_status : 255;
    xssh_run_result_free(r);
    xssh_session_unref(target);
    return status;
}
