/* SPDX-License-Identifier: BSD-3-Clause */
/* The public-key subsystem: OpenSSH's sshd does not offer it, so init must fail
 * cleanly (and the session stay usable); argument checks. */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"


Test(publickey, openssh_refuses_subsystem_cleanly, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_publickey *pk = (xssh_publickey *)0x1;
    int rc = xssh_publickey_init(&pk, s);
    cr_assert_eq(rc, XSSH_EPUBLICKEY_INIT, "rc %d (%s): %s", rc, xssh_err_name(rc), last_msg());
    cr_assert_null(pk);
    cr_assert(strstr(last_msg(), "publickey") != NULL, "%s", last_msg());
    cr_assert_str_eq(xssh_err_info_get(rc)->exception, "PublicKeyInitError");
    /* the session still works */
    char *banner = NULL;
    cr_assert_eq(xssh_session_banner_get(s, &banner), XSSH_OK);
    xssh_free(banner);
    int left = 0;
    cr_assert_eq(xssh_session_keepalive_send(s, &left), XSSH_OK, "%s", last_msg());
    /* and a second init fails the same way */
    cr_assert_eq(xssh_publickey_init(&pk, s), XSSH_EPUBLICKEY_INIT);
    xssh_session_unref(s);
}

Test(publickey, bad_arguments_and_closed_session, .timeout = 60)
{
    xssh_publickey *pk = NULL;
    cr_assert_eq(xssh_publickey_init(NULL, NULL), XSSH_EARG);
    cr_assert_eq(xssh_publickey_init(&pk, NULL), XSSH_EARG);
    cr_assert_eq(xssh_publickey_add(NULL, "ssh-ed25519", "x", 1, 0, NULL, 0), XSSH_EARG);
    cr_assert_eq(xssh_publickey_remove(NULL, "ssh-ed25519", "x", 1), XSSH_EARG);
    size_t n = 0;
    xssh_publickey_entry *l = NULL;
    cr_assert_eq(xssh_publickey_list(NULL, &l, &n), XSSH_EARG);
    cr_assert_eq(xssh_publickey_close(NULL), XSSH_EARG);
    xssh_publickey_unref(NULL);
    xssh_publickey_list_free(NULL, 0);

    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_publickey_init(&pk, s), XSSH_ENOTCONNECTED, "%s", last_msg());
    xssh_session_close(s);
    cr_assert_eq(xssh_publickey_init(&pk, s), XSSH_ECLOSED, "%s", last_msg());
    xssh_session_unref(s);
}

Test(publickey, ref_is_null_safe)
{
    cr_assert_null(xssh_publickey_ref(NULL));
    xssh_publickey_unref(NULL);
}
