/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh__caller_name (internal.h), the one rule of xssh_multi_op_opts.caller:
 * every branch (C function name replaced, already named, empty, prefixed), what
 * is not a C function name, and cutting to a buffer at a UTF-8 character
 * boundary. xssh__err_named keeps code, libssh2_code and sftp_status. Linked
 * with the static copy of capi/src (the internal symbols are hidden in the
 * shared library). No network. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "internal.h"

/* the rule into a buffer of the full length (checks the return value too) */
static char *named(const char *caller, const char *msg)
{
    size_t n = xssh__caller_name(NULL, 0, caller, msg);
    char *out = malloc(n + 1);
    cr_assert_not_null(out);
    memset(out, 'Z', n + 1);
    cr_assert_eq(xssh__caller_name(out, n + 1, caller, msg), n);
    cr_assert_eq(strlen(out), n, "'%s'", out);
    return out;
}

static void check(const char *caller, const char *msg, const char *want)
{
    char *got = named(caller, msg);
    cr_assert_str_eq(got, want, "caller '%s', message '%s'", caller ? caller : "(null)", msg ? msg : "(null)");
    free(got);
}

#define X "xssh.aio.Session.run()"

Test(multi_caller_rule, rule_branches)
{
    /* a C function's name at the start: replaced */
    check(X, "xssh_multi_add_run: the session is closed", X ": the session is closed");
    check(X, "xssh_sftp_open_ex: SFTP: no such file", X ": SFTP: no such file");
    check(X, "xssh_A9_z: x", X ": x");
    check(X, "xssh_x:", X ":");
    /* already named (exactly caller, or caller and ':'): as it is */
    check(X, X, X);
    check(X, X ": timed out", X ": timed out");
    check(X, X ":", X ":");
    /* empty or NULL: the caller */
    check(X, "", X);
    check(X, NULL, X);
    /* anything else: "caller: " in front */
    check(X, "run 'sleep 5': timed out (total timeout 500 ms) in waiting for the command",
          X ": run 'sleep 5': timed out (total timeout 500 ms) in waiting for the command");
    check(X, "cannot connect to h:22: Connection refused", X ": cannot connect to h:22: Connection refused");
    check(X, "cancelled before it started", X ": cancelled before it started");
    /* not a C function's name: "xssh_" alone, other characters, no ':' right after */
    check(X, "xssh_: x", X ": xssh_: x");
    check(X, "xssh_a b: x", X ": xssh_a b: x");
    check(X, "xssh_a-b: x", X ": xssh_a-b: x");
    check(X, "xssh_run failed", X ": xssh_run failed");
    check(X, "xssh_r\xc3\xa9: x", X ": xssh_r\xc3\xa9: x");
    check(X, "Xssh_run: x", X ": Xssh_run: x");
    check(X, " xssh_run: x", X ":  xssh_run: x");
    check(X, "libssh2_x: y", X ": libssh2_x: y");
    /* caller as a prefix of a longer word is not "named already" */
    check(X, X "x: y", X ": " X "x: y");
    check("run", "running: y", "run: running: y");
    /* only the first C name is replaced */
    check("f", "xssh_a: xssh_b: c", "f: xssh_b: c");
    /* no caller: the message as it is */
    check(NULL, "xssh_multi_add_run: the session is closed", "xssh_multi_add_run: the session is closed");
    check("", "xssh_multi_add_run: the session is closed", "xssh_multi_add_run: the session is closed");
    check("", "", "");
    check(NULL, NULL, "");
}

Test(multi_caller_rule, cut_at_a_character_boundary)
{
    /* "é" is 2 bytes, "€" 3, "😀" 4: a cut never splits one */
    const char *caller = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* é€😀: 9 bytes */
    const char *msg = "xssh_f: \xe2\x82\xac!";               /* -> é€😀: €! */
    const char *full = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80: \xe2\x82\xac!";
    size_t fl = strlen(full);
    cr_assert_eq(xssh__caller_name(NULL, 0, caller, msg), fl);
    /* the longest whole-character prefix of full that fits in cap - 1 bytes */
    static const size_t ends[] = {0, 2, 5, 9, 10, 11, 14, 15};
    for (size_t cap = 1; cap <= fl + 2; cap++) {
        char buf[64];
        memset(buf, 'Z', sizeof buf);
        cr_assert_eq(xssh__caller_name(buf, cap, caller, msg), fl, "cap %zu", cap);
        size_t want = 0;
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
            if (ends[i] <= cap - 1)
                want = ends[i];
        cr_assert_eq(strlen(buf), want, "cap %zu: '%s'", cap, buf);
        cr_assert_eq(memcmp(buf, full, want), 0, "cap %zu", cap);
        cr_assert_eq(buf[want + 1], 'Z', "cap %zu: nothing written after the NUL", cap);
    }
    /* a cut inside the caller leaves no separator after it */
    char buf[8];
    xssh__caller_name(buf, 4, "abcdef", "m");
    cr_assert_str_eq(buf, "abc");
    xssh__caller_name(buf, 7, "abcdef", "m");
    cr_assert_str_eq(buf, "abcdef");
    xssh__caller_name(buf, 8, "abcdef", "m");
    cr_assert_str_eq(buf, "abcdef:", "the separator is cut, not the caller");
}

static void fail_sftp(int code, int l2, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xssh__vfail(NULL, code, l2, status, fmt, ap);
    va_end(ap);
}

Test(multi_caller_rule, err_named_keeps_codes)
{
    /* an SFTP failure: code, libssh2 code and SFTP status as they were */
    fail_sftp(XSSH_ESFTP_NO_SUCH_FILE, -31, 2, "%s", "xssh_multi_add_sftp_get: SFTP: no such file");
    const xssh_error *e = xssh_error_last();
    cr_assert_eq(xssh__err_named(X, XSSH_ESFTP_NO_SUCH_FILE), XSSH_ESFTP_NO_SUCH_FILE);
    cr_assert_str_eq(e->message, X ": SFTP: no such file");
    cr_assert_eq(e->code, XSSH_ESFTP_NO_SUCH_FILE);
    cr_assert_eq(e->libssh2_code, -31);
    cr_assert_eq(e->sftp_status, 2);
    /* twice: never doubled */
    xssh__err_named(X, XSSH_ESFTP_NO_SUCH_FILE);
    cr_assert_str_eq(e->message, X ": SFTP: no such file");
    /* success or no caller: nothing changes */
    cr_assert_eq(xssh__err_named(X, XSSH_OK), XSSH_OK);
    cr_assert_eq(xssh__err_named(NULL, XSSH_EARG), XSSH_EARG);
    cr_assert_eq(xssh__err_named("", XSSH_EARG), XSSH_EARG);
    cr_assert_str_eq(e->message, X ": SFTP: no such file");
    /* a caller longer than the message capacity: cut at a character boundary */
    size_t n = XSSH__MSG_CAP; /* 2-byte characters: an odd cap - 1 cuts one */
    char *big = malloc(2 * n + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++)
        memcpy(big + 2 * i, "\xc3\xa9", 2);
    big[2 * n] = '\0';
    xssh__fail(NULL, XSSH_ECLOSED, 0, "xssh_multi_add_run: the session is closed");
    cr_assert_eq(xssh__err_named(big, XSSH_ECLOSED), XSSH_ECLOSED);
    cr_assert_eq(strlen(e->message), (size_t)((XSSH__MSG_CAP - 1) / 2 * 2));
    cr_assert_eq(memcmp(e->message, big, strlen(e->message)), 0);
    cr_assert_eq(e->code, XSSH_ECLOSED);
    free(big);
}
