/* SPDX-License-Identifier: BSD-3-Clause */
/* The one error enum: table, names, messages, exception classes, the last error. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static int class_index(const char *name)
{
    const char *n = NULL, *p = NULL;
    for (size_t i = 0; xssh_exception_class_at(i, &n, &p); i++)
        if (!strcmp(n, name))
            return (int)i;
    return -1;
}

Test(errors, table_rows_complete)
{
    size_t n = xssh_err_count();
    cr_assert_gt(n, 60, "the table has only %zu rows", n);
    cr_assert_null(xssh_err_info_at(n), "row past the end must be NULL");
    for (size_t i = 0; i < n; i++) {
        const xssh_err_info *e = xssh_err_info_at(i);
        cr_assert_not_null(e, "row %zu", i);
        cr_assert_lt(e->code, 0, "row %zu has a non-negative code %d", i, e->code);
        cr_assert_not_null(e->name);
        cr_assert(strncmp(e->name, "XSSH_E", 6) == 0, "name '%s'", e->name);
        cr_assert_not_null(e->message);
        cr_assert_gt(strlen(e->message), 3, "%s has no message", e->name);
        cr_assert_not_null(e->exception);
        cr_assert_gt(strlen(e->exception), 2, "%s has no exception", e->name);
        cr_assert_geq(class_index(e->exception), 0, "%s: exception %s is not in the class tree", e->name,
                      e->exception);
        cr_assert_eq(xssh_err_info_get(e->code), e, "%s: info_get finds another row", e->name);
        cr_assert_str_eq(xssh_strerror(e->code), e->message);
        cr_assert_str_eq(xssh_err_name(e->code), e->name);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(xssh_err_info_at(j)->code, e->code, "duplicate code %d", e->code);
            cr_assert_str_neq(xssh_err_info_at(j)->name, e->name, "duplicate name");
        }
    }
}

Test(errors, every_libssh2_code_has_its_row)
{
    /* libssh2 1.10 defines -1 .. -47; 1.11 adds up to -51; each keeps its number */
    for (int c = -1; c >= -51; c--) {
        const xssh_err_info *e = xssh_err_info_get(c);
        cr_assert_not_null(e, "libssh2 code %d has no row", c);
        cr_assert_eq(xssh_err_from_libssh2(c), c, "code %d is not mapped onto itself", c);
    }
    cr_assert_eq(XSSH_EAGAIN, -37);
    cr_assert_eq(XSSH_ETIMEOUT, -9);
    cr_assert_eq(XSSH_EAUTHENTICATION_FAILED, -18);
    cr_assert_str_eq(xssh_err_name(XSSH_EAGAIN), "XSSH_EAGAIN");
    cr_assert_str_eq(xssh_err_name(XSSH_ETIMEOUT), "XSSH_ETIMEOUT");
}

Test(errors, facade_codes_have_rows)
{
    int own[] = {XSSH_EUNKNOWN,         XSSH_EARG,          XSSH_ECLOSED,          XSSH_ENOTCONNECTED,
                 XSSH_ERESOLVE,         XSSH_ECONNECT,      XSSH_EHOSTKEY_UNKNOWN, XSSH_EHOSTKEY_CHANGED,
                 XSSH_ENOTSUPPORTED,    XSSH_ENOMEM,        XSSH_ERSA_SHA1_REFUSED, XSSH_EHANDSHAKE,
                 XSSH_EKEYFILE_AUTH_FAILED, XSSH_EAGENT_CONNECT};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        cr_assert_not_null(xssh_err_info_get(own[i]), "code %d has no row", own[i]);
        cr_assert_str_neq(xssh_strerror(own[i]), "unknown error code");
    }
    cr_assert(strstr(xssh_strerror(XSSH_ERSA_SHA1_REFUSED), "1.11"), "RSA message must name libssh2 1.11");
    cr_assert_str_eq(xssh_err_info_get(XSSH_EARG)->exception, "InvalidArgumentError");
    cr_assert_str_eq(xssh_err_info_get(XSSH_ETIMEOUT)->exception, "Timeout");
    cr_assert_str_eq(xssh_err_info_get(XSSH_EAGAIN)->exception, "WouldBlock");
}

Test(errors, unknown_codes)
{
    cr_assert_eq(xssh_err_from_libssh2(-52), XSSH_EUNKNOWN);
    cr_assert_eq(xssh_err_from_libssh2(-999), XSSH_EUNKNOWN);
    cr_assert_eq(xssh_err_from_libssh2(-100000), XSSH_EUNKNOWN);
    cr_assert_eq(xssh_err_from_libssh2(0), XSSH_OK);
    cr_assert_eq(xssh_err_from_libssh2(5), XSSH_OK);
    cr_assert_str_eq(xssh_strerror(0), "success");
    cr_assert_str_eq(xssh_err_name(0), "XSSH_OK");
    cr_assert_str_eq(xssh_strerror(123456), "unknown error code");
    cr_assert_str_eq(xssh_err_name(123456), "XSSH_EUNKNOWN");
    cr_assert_str_eq(xssh_strerror(-77), "unknown error code");
    cr_assert_null(xssh_err_info_get(0));
    cr_assert_null(xssh_err_info_get(-77));
    cr_assert_null(xssh_err_info_get(XSSH_ERR__LAST));
}

Test(errors, exception_tree)
{
    const char *n = NULL, *p = NULL;
    cr_assert(xssh_exception_class_at(0, &n, &p));
    cr_assert_str_eq(n, "SSH2Error");
    cr_assert_str_eq(p, "");
    size_t i;
    for (i = 1; xssh_exception_class_at(i, &n, &p); i++) {
        cr_assert_str_neq(p, "", "%s: only the root has no parent", n);
        int pi = class_index(p);
        cr_assert(pi >= 0 && (size_t)pi < i, "%s: parent %s must come before it", n, p);
        cr_assert_eq(class_index(n), (int)i, "duplicate class %s", n);
    }
    cr_assert_gt(i, 68, "ssh2-python has 68 classes; only %zu here", i);
    cr_assert_eq(xssh_exception_class_at(i, NULL, NULL), 0);
    cr_assert_eq(xssh_exception_class_at((size_t)-1, &n, &p), 0);
    /* a few ssh2-python classes and their parents */
    struct { const char *c, *parent; } want[] = {
        {"AuthenticationError", "SSH2Error"}, {"AgentAuthenticationError", "AuthenticationError"},
        {"KnownHostCheckMisMatchError", "KnownHostCheckError"}, {"Timeout", "SessionError"},
        {"SFTPProtocolError", "SFTPError"}, {"RSASHA1RefusedError", "AuthenticationError"},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int ci = class_index(want[k].c);
        cr_assert_geq(ci, 0, "%s missing", want[k].c);
        xssh_exception_class_at((size_t)ci, &n, &p);
        cr_assert_str_eq(p, want[k].parent, "%s", want[k].c);
    }
}

Test(errors, last_error_basics)
{
    xssh_error_clear();
    const xssh_error *e = xssh_error_last();
    cr_assert_not_null(e);
    cr_assert_eq(e->code, XSSH_OK);
    cr_assert_not_null(e->message);
    cr_assert_str_eq(e->message, "");
    cr_assert_eq(xssh_session_new(NULL), XSSH_EARG);
    e = xssh_error_last();
    cr_assert_eq(e->code, XSSH_EARG);
    cr_assert(strstr(e->message, "NULL"), "message: %s", e->message);
    xssh_error_clear();
    cr_assert_eq(xssh_error_last()->code, XSSH_OK);
    cr_assert_str_eq(xssh_error_last()->message, "");
    xssh_free(NULL);
}

static void *other_thread(void *arg)
{
    /* thread-local: a fresh thread starts clean, and its failure stays its own */
    int *res = arg;
    res[0] = xssh_error_last()->code;
    res[1] = xssh_session_connect(NULL, "x", 22, 0);
    res[2] = xssh_error_last()->code;
    return NULL;
}

Test(errors, last_error_is_thread_local)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_session_connect(s, "no-such-host.invalid", 22, 2000), XSSH_ERESOLVE);
    int res[3] = {99, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, other_thread, res);
    pthread_join(t, NULL);
    cr_assert_eq(res[0], XSSH_OK);
    cr_assert_eq(res[1], XSSH_EARG);
    cr_assert_eq(res[2], XSSH_EARG);
    cr_assert_eq(xssh_error_last()->code, XSSH_ERESOLVE, "the other thread's failure leaked into this one");
    cr_assert(strstr(xssh_error_last()->message, "no-such-host.invalid"), "%s", xssh_error_last()->message);
    xssh_session_unref(s);
}

Test(errors, libssh2_code_and_text_kept, .timeout = 60)
{
    /* a libssh2 failure keeps libssh2's number and text, and names the xssh code */
    xssh_session *s = xt_connect();
    int rc = xssh_session_method_pref(s, XSSH_METHOD_KEX, "no-such-kex-method");
    cr_assert_neq(rc, XSSH_OK);
    const xssh_error *e = xssh_error_last();
    cr_assert_eq(e->code, rc);
    cr_assert_eq(e->libssh2_code, rc, "libssh2_code %d", e->libssh2_code);
    cr_assert(strstr(e->message, xssh_err_name(rc)), "message lacks the code's name: %s", e->message);
    cr_assert(strstr(e->message, "no-such-kex-method"), "message lacks context: %s", e->message);
    char *msg = NULL;
    cr_assert_eq(xssh_session_last_error(s, &msg), XSSH_OK);
    cr_assert_str_eq(msg, e->message);
    xssh_free(msg);
    /* success resets the code but a session's detailed message stays readable */
    int b = 0;
    cr_assert_eq(xssh_session_get_blocking(s, &b), XSSH_OK);
    cr_assert_eq(xssh_error_last()->code, XSSH_OK);
    cr_assert_eq(xssh_session_last_error(s, &msg), XSSH_OK);
    cr_assert(strstr(msg, "no-such-kex-method"));
    xssh_free(msg);
    xssh_session_unref(s);
}
