/* SPDX-License-Identifier: BSD-3-Clause */
/* A cancelled or timed-out multi operation cleans up after itself (multi.h:
 * "a transfer's temporary file removed; a session it was given stays usable"):
 * the interrupt is one-shot, the cleanup's waits go on for a bounded grace
 * (XSSH__CANCEL_GRACE_MS). And a libssh2 SFTP request interrupted half-way is
 * either finished within that grace or makes its SFTP object refuse every
 * later request (never a stale answer for the next request of its kind).
 * Every condition is forced: the source is /dev/zero (a put that can never
 * finish), the cancel comes from the transfer's own progress callback, and a
 * stall proxy holds the server's answers back. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static void init_home(void) { xt_empty_home("multi-cleanup"); }

TestSuite(multi_cleanup, .init = init_home);

static const xssh_multi_result *result_of(xssh_multi_op *op)
{
    const xssh_multi_result *r = NULL;
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_DONE);
    cr_assert_eq(xssh_multi_op_result(op, &r), XSSH_OK, "%s", last_msg());
    return r;
}

/* a fresh directory (the remote side is this machine) */
static char *fresh_dir(const char *stem)
{
    char *d = xt_tmppath(stem);
    cr_assert_eq(mkdir(d, 0755), 0, "mkdir %s", d);
    return d;
}

/* names in dir (not . and ..) */
static int count_entries(const char *dir, char *first, size_t cap)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            if (!n && first)
                snprintf(first, cap, "%s", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static xssh_sftp *sftp_of(xssh_session *s)
{
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    return sf;
}

/* the SFTP object works: a small put and a stat through it */
static void sftp_usable(xssh_sftp *sf, const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/after", dir);
    cr_assert_eq(xssh_sftp_put_buffer(sf, "still here", 10, path, NULL, NULL), XSSH_OK, "%s", last_msg());
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, path, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(a.filesize, 10);
    unlink(path);
}

/* ---- a cancelled put ------------------------------------------------------------ */

typedef struct {
    xssh_multi_op **op;
    int reports;
} cancel_ctx;

/* the transfer's progress callback cancels its own op after the first bytes */
static int cancel_on_progress(uint64_t done, uint64_t total, void *ud)
{
    cancel_ctx *c = ud;
    if (done > 0 && c->reports++ == 0)
        cr_assert_eq(xssh_multi_op_cancel(*c->op), XSSH_OK, "%s", last_msg());
    return 0;
}

static char *host_str(void)
{
    char *h = NULL;
    if (asprintf(&h, "%s@%s:%d", xt()->user, xt()->host, xt()->port) < 0)
        abort();
    return h;
}

static xssh_options *good_opts(void)
{
    xssh_options *o = NULL;
    cr_assert_eq(xssh_options_new(&o), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentityFile", xt()->key_ed25519), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentitiesOnly", "yes"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "IdentityAgent", "none"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "UserKnownHostsFile", xt()->known_hosts), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "GlobalKnownHostsFile", "/dev/null"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "StrictHostKeyChecking", "yes"), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_options_set(o, "BatchMode", "yes"), XSSH_OK, "%s", last_msg());
    return o;
}

/* via: 0 add_sftp_put on our SFTP object; 1 add_host_put (its own session) */
static void cancelled_put(int via)
{
    xssh_session *s = via == 0 ? xt_connect_auth() : NULL;
    xssh_sftp *sf = s ? sftp_of(s) : NULL;
    char *dir = fresh_dir("mc_cancel");
    char remote[1200];
    snprintf(remote, sizeof remote, "%s/big", dir);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_multi_op *op = NULL;
    cancel_ctx cc = {&op, 0};
    xssh_transfer_opts to = {0};
    to.atomic = 1;
    to.progress = cancel_on_progress;
    to.userdata = &cc;
    xssh_multi_op_opts o = {0};
    o.transfer = &to;
    xssh_options *opts = NULL;
    if (via == 0) {
        cr_assert_eq(xssh_multi_add_sftp_put(m, sf, "/dev/zero", remote, &o, &op), XSSH_OK, "%s", last_msg());
    } else {
        opts = good_opts();
        char *h = host_str();
        cr_assert_eq(xssh_multi_add_host_put(m, h, opts, "/dev/zero", remote, &o, &op), XSSH_OK, "%s", last_msg());
        free(h);
    }
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ECANCELLED, "%d %s", r->error, r->message);
    cr_assert_gt(cc.reports, 0);
    char left[300] = "";
    cr_assert_eq(count_entries(dir, left, sizeof left), 0, "a cancelled atomic put left '%s' in %s", left, dir);
    if (sf)
        sftp_usable(sf, dir);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_options_unref(opts);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    rmdir(dir);
    free(dir);
}

Test(multi_cleanup, cancelled_sftp_put_removes_part, .timeout = 120) { cancelled_put(0); }

Test(multi_cleanup, cancelled_host_put_removes_part, .timeout = 120) { cancelled_put(1); }

/* ---- a put whose timeout_ms runs out ------------------------------------------- */

Test(multi_cleanup, timed_out_put_removes_part, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *dir = fresh_dir("mc_timeout");
    char remote[1200];
    snprintf(remote, sizeof remote, "%s/endless", dir);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    xssh_transfer_opts to = {0};
    to.atomic = 1;
    to.max_in_flight = 256 * 1024; /* /dev/zero never ends: keep what it writes small */
    xssh_multi_op_opts o = {0};
    o.transfer = &to;
    o.timeout_ms = 300;
    xssh_multi_op *op = NULL;
    cr_assert_eq(xssh_multi_add_sftp_put(m, sf, "/dev/zero", remote, &o, &op), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ETIMEOUT, "%d %s", r->error, r->message);
    cr_assert_eq(r->phase, XSSH_PHASE_TRANSFER);
    char left[300] = "";
    cr_assert_eq(count_entries(dir, left, sizeof left), 0, "a timed-out atomic put left '%s' in %s", left, dir);
    sftp_usable(sf, dir);
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    rmdir(dir);
    free(dir);
}

/* ---- a cancel in the middle of a libssh2 SFTP request ---------------------------- */

typedef struct {
    xssh_sftp *sf;
    const char *dir;
    int rc;
} opendir_ctx;

static int opendir_fn(xssh_multi_op *op, void *ud)
{
    opendir_ctx *c = ud;
    xssh_sftp_file *d = NULL;
    c->rc = xssh_sftp_opendir(&d, c->sf, c->dir);
    if (d)
        xssh_sftp_file_close(d);
    xssh_sftp_file_unref(d);
    return c->rc;
}

/* the one entry of dir through sf */
static int list_one(xssh_sftp *sf, const char *dir, char *name, size_t cap)
{
    xssh_sftp_file *d = NULL;
    int rc = xssh_sftp_opendir(&d, sf, dir);
    if (rc)
        return rc;
    name[0] = 0;
    for (int i = 0; i < 10; i++) {
        char *n = NULL;
        rc = xssh_sftp_file_readdir(d, &n, NULL, NULL);
        if (rc)
            break;
        if (strcmp(n, ".") && strcmp(n, ".."))
            snprintf(name, cap, "%s", n);
        xssh_free(n);
    }
    xssh_sftp_file_close(d);
    xssh_sftp_file_unref(d);
    return rc == XSSH_EITEROVER ? XSSH_OK : rc;
}

/* release: 1 the server's answer comes back after the cancel (the request is
   finished within the grace: the object stays right); 0 it never comes within
   the grace (the object is refused from then on) */
static void cancel_mid_request(int release)
{
    xt_stall_proxy px;
    xssh_session *s = xt_stall_proxy_start(&px);
    xssh_sftp *sf = sftp_of(s);
    char *a = fresh_dir("mc_dir_a"), *b = fresh_dir("mc_dir_b");
    char p[1200];
    snprintf(p, sizeof p, "%s/in_a", a);
    xt_spit(p, "a", 1, 0644);
    snprintf(p, sizeof p, "%s/in_b", b);
    xt_spit(p, "b", 1, 0644);
    xssh_multi *m = NULL;
    cr_assert_eq(xssh_multi_new(&m), XSSH_OK);
    opendir_ctx c = {sf, a, 1};
    xssh_multi_op *op = NULL;
    xt_stall_proxy_hold(&px, 1);
    unsigned long long up0 = atomic_load(&px.up_n);
    cr_assert_eq(xssh_multi_add_call(m, s, opendir_fn, &c, NULL, &op), XSSH_OK, "%s", last_msg());
    /* until the OPEN request went out (its answer is held back) */
    int running = 1;
    for (int i = 0; i < 2000 && atomic_load(&px.up_n) == up0; i++)
        cr_assert_eq(xssh_multi_wait(m, 10, &running), XSSH_OK, "%s", last_msg());
    cr_assert_gt(atomic_load(&px.up_n), up0, "the opendir request never went out");
    cr_assert_eq(xssh_multi_op_state(op), XSSH_OP_RUNNING);
    cr_assert_eq(xssh_multi_op_cancel(op), XSSH_OK);
    if (release)
        xt_stall_proxy_hold(&px, 0);
    cr_assert_eq(xssh_multi_perform_all(m, -1), XSSH_OK, "%s", last_msg());
    const xssh_multi_result *r = result_of(op);
    cr_assert_eq(r->error, XSSH_ECANCELLED, "%d %s", r->error, r->message);
    xt_stall_proxy_hold(&px, 0);
    char name[300];
    int rc = list_one(sf, b, name, sizeof name);
    if (release) {
        /* the next opendir gets its own answer, not the cancelled one's */
        cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
        cr_assert_str_eq(name, "in_b", "listing %s gave '%s'", b, name);
    } else {
        cr_assert_eq(rc, XSSH_ECLOSED, "rc %d (%s), entry '%s'", rc, last_msg(), name);
        cr_assert(strstr(last_msg(), "abandoned"), "%s", last_msg());
        /* the session itself goes on: a new SFTP object works */
        xssh_sftp *sf2 = sftp_of(s);
        cr_assert_eq(list_one(sf2, b, name, sizeof name), XSSH_OK, "%s", last_msg());
        cr_assert_str_eq(name, "in_b");
        xssh_sftp_unref(sf2);
    }
    xssh_multi_op_unref(op);
    xssh_multi_unref(m);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&px);
    snprintf(p, sizeof p, "%s/in_a", a);
    unlink(p);
    snprintf(p, sizeof p, "%s/in_b", b);
    unlink(p);
    rmdir(a);
    rmdir(b);
    free(a);
    free(b);
}

Test(multi_cleanup, cancel_mid_request_finished_in_grace, .timeout = 120) { cancel_mid_request(1); }

Test(multi_cleanup, cancel_mid_request_past_grace_refused, .timeout = 120) { cancel_mid_request(0); }
