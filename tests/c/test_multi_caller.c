/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh_multi_op_opts.caller against the real sshd: what the user called names
 * the add errors (xssh_error_last() after a failed xssh_multi_add_*, every add
 * function) and the result message of failed and cancelled ops (timed out,
 * cancelled running and queued, an SFTP status, a caller's function whose own
 * error already names it), with the codes (code, libssh2_code, sftp_status,
 * phase) kept; NULL and "" change nothing; the string is copied at add (freed
 * right after it: valgrind_multi_caller). No timing: commands that wait forever
 * end by the op's timeout or a cancel. The rule itself, branch by branch and
 * cut to a buffer: multi_caller_rule_internal.c. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static void init_home(void) { xt_empty_home("multi-caller"); }

TestSuite(multi_caller, .init = init_home, .timeout = 120);

#define X "xssh.aio.Session.run()"

static const xssh_multi_result *result_of(xssh_multi_op *op)
{
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK, "%s", last_msg());
    return r;
}

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* an SFTP subsystem through an sftp_open op (the session's own blocking one is as good) */
static xssh_sftp *sftp_of(xssh_session *s)
{
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    return sf;
}

static int call_ok(xssh_multi_op *op, void *ud) { return XSSH_OK; }

/* ---- add errors ------------------------------------------------------------------ */

/* what xssh_error_last() says right after the add `call` failed: code, libssh2_code
   0 and the message fn + rest, with fn replaced by the caller when named */
#define CHECK_ADD(caller, fn, call, want_code, rest)                                                   \
    do {                                                                                               \
        xssh_error_clear();                                                                            \
        int rc_ = (call);                                                                              \
        const xssh_error *e_ = xssh_error_last();                                                      \
        char want_[512];                                                                               \
        snprintf(want_, sizeof want_, "%s%s", (caller) && *(caller) ? (caller) : (fn), (rest));        \
        cr_assert_eq(rc_, (want_code), "%s: %d %s", (fn), rc_, e_->message);                           \
        cr_assert_eq(e_->code, (want_code), "%s: %s", (fn), e_->message);                              \
        cr_assert_eq(e_->libssh2_code, 0, "%s", (fn));                                                 \
        cr_assert_str_eq(e_->message, want_, "%s", (fn));                                              \
    } while (0)

/* every add function on a closed session (or, for host ops, with a NULL host):
   the C name at the start of xssh_error_last()->message is replaced by the
   caller (caller NULL or "": as without it) */
static void add_errors(const char *caller)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    cr_assert_eq(xssh_session_close(s), XSSH_OK, "%s", last_msg());
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.caller = caller;
    char *tmp = xt_tmppath("caller-local");
    xt_spit(tmp, "x", 1, 0600);
    const char *closed = ": the session is closed", *nohost = ": invalid argument: host is NULL";
    xssh_multi_op *op = (xssh_multi_op *)&op; /* set to NULL by a failed add */
    CHECK_ADD(caller, "xssh_multi_add_run", xssh_multi_add_run(m, s, "true", &o, &op), XSSH_ECLOSED, closed);
    cr_assert_null(op);
    CHECK_ADD(caller, "xssh_multi_add_channel_open", xssh_multi_add_channel_open(m, s, &o, NULL), XSSH_ECLOSED,
              closed);
    CHECK_ADD(caller, "xssh_multi_add_call", xssh_multi_add_call(m, s, call_ok, NULL, &o, NULL), XSSH_ECLOSED,
              closed);
    CHECK_ADD(caller, "xssh_multi_add_sftp_open", xssh_multi_add_sftp_open(m, s, &o, NULL), XSSH_ECLOSED, closed);
    CHECK_ADD(caller, "xssh_multi_add_sftp_get", xssh_multi_add_sftp_get(m, sf, "/etc/hostname", tmp, &o, NULL),
              XSSH_ECLOSED, closed);
    CHECK_ADD(caller, "xssh_multi_add_sftp_put", xssh_multi_add_sftp_put(m, sf, tmp, "/tmp/never", &o, NULL),
              XSSH_ECLOSED, closed);
    CHECK_ADD(caller, "xssh_multi_add_sftp_listdir", xssh_multi_add_sftp_listdir(m, sf, "/", &o, NULL),
              XSSH_ECLOSED, closed);
    CHECK_ADD(caller, "xssh_multi_add_forward_local",
              xssh_multi_add_forward_local(m, s, "127.0.0.1", 0, "127.0.0.1", 22, &o, NULL), XSSH_ECLOSED, closed);
    CHECK_ADD(caller, "xssh_multi_add_connect", xssh_multi_add_connect(m, NULL, NULL, &o, NULL), XSSH_EARG, nohost);
    CHECK_ADD(caller, "xssh_multi_add_host_run", xssh_multi_add_host_run(m, NULL, NULL, "true", &o, NULL), XSSH_EARG,
              nohost);
    CHECK_ADD(caller, "xssh_multi_add_host_put", xssh_multi_add_host_put(m, NULL, NULL, tmp, "/tmp/never", &o, NULL),
              XSSH_EARG, nohost);
    CHECK_ADD(caller, "xssh_multi_add_host_get", xssh_multi_add_host_get(m, NULL, NULL, "/tmp/never", tmp, &o, NULL),
              XSSH_EARG, nohost);
    /* argument errors name the public function (not an internal helper) */
    CHECK_ADD(caller, "xssh_multi_add_run", xssh_multi_add_run(NULL, s, "true", &o, NULL), XSSH_EARG,
              ": invalid argument: multi is NULL");
    CHECK_ADD(caller, "xssh_multi_add_sftp_get", xssh_multi_add_sftp_get(m, sf, "", tmp, &o, NULL), XSSH_EARG,
              ": invalid argument: source path is NULL or empty");
    CHECK_ADD(caller, "xssh_multi_add_host_put", xssh_multi_add_host_put(m, "h", NULL, tmp, NULL, &o, NULL),
              XSSH_EARG, ": invalid argument: destination path is NULL or empty");
    CHECK_ADD(caller, "xssh_multi_add_call", xssh_multi_add_call(m, NULL, NULL, NULL, &o, NULL), XSSH_EARG,
              ": invalid argument: fn is NULL");
    CHECK_ADD(caller, "xssh_multi_add_forward_local",
              xssh_multi_add_forward_local(m, s, NULL, 0, "127.0.0.1", 0, &o, NULL), XSSH_EARG,
              ": invalid argument: port must be 1..65535");
    /* the session's own last error is not renamed */
    char *sl = NULL;
    if (xssh_session_last_error(s, &sl) == XSSH_OK && sl) {
        cr_assert(starts(sl, "xssh_multi_add_"), "%s", sl);
        xssh_free(sl);
    }
    free(tmp);
    xssh_sftp_unref(sf);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

Test(multi_caller, add_errors_named) { add_errors(X); }
Test(multi_caller, add_errors_caller_null) { add_errors(NULL); }
Test(multi_caller, add_errors_caller_empty) { add_errors(""); }

/* opts NULL: as without a caller */
Test(multi_caller, add_error_opts_null)
{
    xssh_session *s = xt_connect_auth();
    cr_assert_eq(xssh_session_close(s), XSSH_OK);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    CHECK_ADD((const char *)NULL, "xssh_multi_add_run", xssh_multi_add_run(m, s, "true", NULL, NULL), XSSH_ECLOSED,
              ": the session is closed");
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* ---- result messages --------------------------------------------------------------- */

/* a run op that waits forever ends by its timeout: prefixed, XSSH_ETIMEOUT and
   its phase kept; the same op without a caller (NULL, "") has the message as
   it was, which the named one ends with */
Test(multi_caller, run_timeout_prefixed)
{
    xssh_session *s1 = xt_connect_auth(), *s2 = xt_connect_auth(), *s3 = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.timeout_ms = 300;
    o.caller = X;
    xssh_multi_op *named = NULL, *plain = NULL, *empty = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s1, "exec sleep 3600", &o, &named), XSSH_OK, "%s", last_msg());
    o.caller = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s2, "exec sleep 3600", &o, &plain), XSSH_OK, "%s", last_msg());
    o.caller = "";
    cr_assert_eq(xssh_multi_add_run(m, s3, "exec sleep 3600", &o, &empty), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *rn = result_of(named), *rp = result_of(plain), *re = result_of(empty);
    cr_assert_eq(rn->error, XSSH_ETIMEOUT, "%s", rn->message);
    cr_assert_eq(rp->error, XSSH_ETIMEOUT, "%s", rp->message);
    cr_assert_eq(re->error, XSSH_ETIMEOUT, "%s", re->message);
    cr_assert_eq(rn->phase, rp->phase);
    cr_assert_eq(rn->sftp_status, 0);
    cr_assert(starts(rp->message, "run 'exec sleep 3600': timed out"), "%s", rp->message);
    cr_assert(starts(re->message, "run 'exec sleep 3600': timed out"), "%s", re->message);
    cr_assert(starts(rn->message, X ": run 'exec sleep 3600': timed out"), "%s", rn->message);
    xssh_multi_op_unref(named);
    xssh_multi_op_unref(plain);
    xssh_multi_op_unref(empty);
    xssh_multi_unref(m);
    xssh_session_unref(s1);
    xssh_session_unref(s2);
    xssh_session_unref(s3);
}

typedef struct cancel_ctx {
    xssh_multi_op *queued;
    int outputs;
} cancel_ctx;

/* the running op has started its command (it printed): cancel it and the op
   queued behind it on the same session */
static int cancel_on_output(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud)
{
    cancel_ctx *c = ud;
    if (c->outputs++ == 0) {
        cr_assert_eq(xssh_multi_op_cancel(c->queued), XSSH_OK);
        cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK);
    }
    return 0;
}

Test(multi_caller, cancelled_named)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    cancel_ctx cc = {0};
    xssh_multi_op_opts o = {0};
    o.on_output = cancel_on_output;
    o.userdata = &cc;
    o.caller = X;
    xssh_multi_op *running = NULL, *queued = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "echo started; exec sleep 3600", &o, &running), XSSH_OK, "%s", last_msg());
    xssh_multi_op_opts q = {0};
    q.caller = "Xssh::Session#run";
    cr_assert_eq(xssh_multi_add_run(m, s, "echo never", &q, &queued), XSSH_OK, "%s", last_msg());
    cc.queued = queued;
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    cr_assert_eq(cc.outputs, 1);
    const xssh_multi_result *rr = result_of(running), *rq = result_of(queued);
    cr_assert_eq(rr->error, XSSH_ECANCELLED, "%s", rr->message);
    cr_assert_eq(rr->phase, XSSH_PHASE_COMMAND, "%s", xssh_phase_name(rr->phase));
    cr_assert(starts(rr->message, X ": ") && strstr(rr->message, "cancel"), "%s", rr->message);
    cr_assert(!starts(rr->message, X ": " X), "%s", rr->message);
    cr_assert_eq(rq->error, XSSH_ECANCELLED);
    cr_assert_eq(rq->phase, XSSH_PHASE_NONE);
    cr_assert_str_eq(rq->message, "Xssh::Session#run: cancelled before it started");
    xssh_multi_op_unref(running);
    xssh_multi_op_unref(queued);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* an SFTP op failing with the server's status: named, code and sftp_status kept */
Test(multi_caller, sftp_status_kept)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    char *missing = xt_tmppath("caller-missing"), *local = xt_tmppath("caller-got");
    xssh_multi_op_opts o = {0};
    o.caller = "xssh.async.get";
    xssh_multi_op *get = NULL, *list = NULL, *plain = NULL;
    cr_assert_eq(xssh_multi_add_sftp_get(m, sf, missing, local, &o, &get), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, missing, &o, &list), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_add_sftp_listdir(m, sf, missing, NULL, &plain), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *rg = result_of(get), *rl = result_of(list), *rp = result_of(plain);
    cr_assert_eq(rg->error, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rg->error, rg->message);
    cr_assert_eq(rg->sftp_status, 2, "SSH_FX_NO_SUCH_FILE");
    cr_assert(starts(rg->message, "xssh.async.get: "), "%s", rg->message);
    cr_assert(strstr(rg->message, missing), "%s", rg->message);
    cr_assert_eq(rl->error, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rl->error, rl->message);
    cr_assert_eq(rl->sftp_status, 2);
    cr_assert_eq(rp->error, XSSH_ESFTP_NO_SUCH_FILE);
    cr_assert_eq(rp->sftp_status, 2);
    cr_assert_eq(rl->phase, rp->phase);
    /* the named message is the plain one with the caller in front */
    char want[8192];
    if (starts(rp->message, "xssh_")) /* a C function's name: replaced */
        snprintf(want, sizeof want, "xssh.async.get%s", strchr(rp->message, ':'));
    else
        snprintf(want, sizeof want, "xssh.async.get: %s", rp->message);
    cr_assert_str_eq(rl->message, want);
    cr_assert_eq(access(local, F_OK), -1, "nothing was written");
    free(missing);
    free(local);
    xssh_multi_op_unref(get);
    xssh_multi_op_unref(list);
    xssh_multi_op_unref(plain);
    xssh_sftp_unref(sf);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* a caller's function whose error already names the caller (it made an add
   with the same caller that failed): not doubled; one whose error starts with
   a C function's name: the name replaced */
static int call_add_fails(xssh_multi_op *op, void *ud)
{
    xssh_multi_op_opts o = {0};
    o.caller = X;
    return xssh_multi_add_run(NULL, NULL, "true", &o, NULL); /* "X: invalid argument: multi is NULL" */
}

static int call_c_error(xssh_multi_op *op, void *ud)
{
    return xssh_multi_op_state(NULL) < 0 ? xssh_error_last()->code : XSSH_EUNKNOWN;
}

Test(multi_caller, named_already_not_doubled)
{
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.caller = X;
    xssh_multi_op *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(xssh_multi_add_call(m, NULL, call_add_fails, NULL, &o, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_add_call(m, NULL, call_c_error, NULL, &o, &b), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_add_call(m, NULL, call_c_error, NULL, NULL, &c), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *ra = result_of(a), *rb = result_of(b), *rc = result_of(c);
    cr_assert_eq(ra->error, XSSH_EARG);
    cr_assert_eq(ra->phase, XSSH_PHASE_CALL);
    cr_assert_str_eq(ra->message, X ": invalid argument: multi is NULL");
    cr_assert_eq(rb->error, XSSH_EARG);
    cr_assert_str_eq(rb->message, X ": invalid argument: op is NULL");
    cr_assert_str_eq(rc->message, "xssh_multi_op_state: invalid argument: op is NULL");
    xssh_multi_op_unref(a);
    xssh_multi_op_unref(b);
    xssh_multi_op_unref(c);
    xssh_multi_unref(m);
}

/* the caller's string is copied at add: freed (after being overwritten) right
   after it, the op's messages still name it (valgrind_multi_caller: no read of
   freed memory) */
Test(multi_caller, caller_copied_at_add)
{
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.timeout_ms = 300;
    char *name = strdup("xssh.luv.run");
    o.caller = name;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_run(m, s, "exec sleep 3600", &o, &op), XSSH_OK, "%s", last_msg());
    memset(name, '#', strlen(name));
    free(name);
    o.caller = NULL;
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ETIMEOUT, "%s", r->message);
    cr_assert(starts(r->message, "xssh.luv.run: run 'exec sleep 3600': timed out"), "%s", r->message);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}

/* a caller longer than the last error's capacity: the add error is cut at a
   character boundary (valid UTF-8), the result message keeps all of it */
Test(multi_caller, long_caller_cut_at_character)
{
    size_t n = 3000; /* "é" x 3000: 6000 bytes */
    char *big = malloc(2 * n + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++)
        memcpy(big + 2 * i, "\xc3\xa9", 2);
    big[2 * n] = '\0';
    xssh_session *s = xt_connect_auth();
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op_opts o = {0};
    o.caller = big;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_call(m, NULL, call_c_error, NULL, &o, &op), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, 60000), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(strlen(r->message), 2 * n + strlen(": invalid argument: op is NULL"));
    cr_assert(starts(r->message, big));
    cr_assert_str_eq(r->message + 2 * n, ": invalid argument: op is NULL");
    xssh_session_close(s);
    cr_assert_eq(xssh_multi_add_run(m, s, "true", &o, NULL), XSSH_ECLOSED);
    const char *msg = last_msg();
    size_t len = strlen(msg);
    cr_assert_eq(len % 2, 0, "no character cut in two: %zu bytes", len);
    cr_assert(len >= 4000 && len < 4096, "%zu", len);
    cr_assert_eq(memcmp(msg, big, len), 0);
    cr_assert_eq(xssh_error_last()->code, XSSH_ECLOSED);
    free(big);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_session_unref(s);
}
