/* SPDX-License-Identifier: BSD-3-Clause */
/* Threads and lifetimes: many sessions at once, one session shared by threads, drop orders. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"


/* ---- 8 threads, each with its own session ---------------------------------------- */

typedef struct own_arg {
    int idx;
    int rc;
    char msg[512];
    pthread_barrier_t *start;
} own_arg;

#define OWN_FAIL(a, code, what)                                                                   \
    do {                                                                                          \
        (a)->rc = (code);                                                                         \
        snprintf((a)->msg, sizeof (a)->msg, "%s: %s (%s)", what, last_msg(), xssh_err_name(code)); \
        goto out;                                                                                 \
    } while (0)

static void *own_session(void *p)
{
    own_arg *a = p;
    const xt_env *e = xt();
    xssh_session *s = NULL;
    char *fp = NULL, *banner = NULL;
    int rc;
    pthread_barrier_wait(a->start);
    if ((rc = xssh_session_new(&s)))
        OWN_FAIL(a, rc, "new");
    if ((rc = xssh_session_connect(s, e->host, e->port, 20000)))
        OWN_FAIL(a, rc, "connect");
    if ((rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, e->known_hosts)))
        OWN_FAIL(a, rc, "verify_host");
    /* alternate key types across threads */
    const char *key = (a->idx % 2) ? e->key_ecdsa : e->key_ed25519;
    if ((rc = xssh_session_userauth_publickey_fromfile(s, e->user, key, NULL, NULL)))
        OWN_FAIL(a, rc, "auth");
    int authed = 0;
    if ((rc = xssh_session_userauth_authenticated(s, &authed)) || !authed)
        OWN_FAIL(a, rc ? rc : -1, "authenticated");
    if ((rc = xssh_session_hostkey_fingerprint(s, &fp)))
        OWN_FAIL(a, rc, "fingerprint");
    if (strcmp(fp, e->hostkey_fp)) {
        a->rc = -1;
        snprintf(a->msg, sizeof a->msg, "fingerprint %s", fp);
        goto out;
    }
    if ((rc = xssh_session_banner_get(s, &banner)))
        OWN_FAIL(a, rc, "banner");
    for (int i = 0; i < 5; i++) {
        int next;
        if ((rc = xssh_session_keepalive_send(s, &next)))
            OWN_FAIL(a, rc, "keepalive");
    }
    /* a failure on this thread stays on this thread */
    if (xssh_session_userauth_list(s, "", &banner) != XSSH_EARG || xssh_error_last()->code != XSSH_EARG) {
        a->rc = -1;
        snprintf(a->msg, sizeof a->msg, "thread-local error broken");
        goto out;
    }
    if ((rc = xssh_session_disconnect(s)))
        OWN_FAIL(a, rc, "disconnect");
    a->rc = 0;
out:
    xssh_free(fp);
    xssh_free(banner);
    xssh_session_unref(s);
    return NULL;
}

Test(threads, eight_sessions_concurrently, .timeout = 120)
{
    enum { N = 8 };
    pthread_t t[N];
    own_arg a[N];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].idx = i;
        a[i].rc = 12345;
        a[i].start = &start;
        cr_assert_eq(pthread_create(&t[i], NULL, own_session, &a[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N; i++)
        cr_assert_eq(a[i].rc, 0, "thread %d: %s", i, a[i].msg);
}

/* ---- one session, several threads ---------------------------------------------- */

typedef struct shared_arg {
    xssh_session *s;
    int iterations;
    atomic_int *failures;
    char msg[512];
    pthread_barrier_t *start;
} shared_arg;

static void *loop_keepalive(void *p)
{
    shared_arg *a = p;
    pthread_barrier_wait(a->start);
    for (int i = 0; i < a->iterations; i++) {
        int next = 0;
        int rc = xssh_session_keepalive_send(a->s, &next);
        if (rc) {
            atomic_fetch_add(a->failures, 1);
            snprintf(a->msg, sizeof a->msg, "keepalive_send %d: %s", i, last_msg());
            break;
        }
    }
    return NULL;
}

static void *loop_userauth_list(void *p)
{
    shared_arg *a = p;
    pthread_barrier_wait(a->start);
    for (int i = 0; i < a->iterations; i++) {
        char *list = NULL;
        int rc = xssh_session_userauth_list(a->s, xt()->user, &list);
        if (rc || !strstr(list, "publickey")) {
            atomic_fetch_add(a->failures, 1);
            snprintf(a->msg, sizeof a->msg, "userauth_list %d: %s [%s]", i, last_msg(), list ? list : "");
            xssh_free(list);
            break;
        }
        xssh_free(list);
    }
    return NULL;
}

static void *loop_queries(void *p)
{
    shared_arg *a = p;
    pthread_barrier_wait(a->start);
    for (int i = 0; i < a->iterations; i++) {
        char *fp = NULL, *m = NULL;
        int rc = xssh_session_hostkey_fingerprint(a->s, &fp);
        if (!rc)
            rc = xssh_session_methods(a->s, XSSH_METHOD_KEX, &m);
        if (!rc && strcmp(fp, xt()->hostkey_fp))
            rc = -1;
        xssh_free(fp);
        xssh_free(m);
        if (rc) {
            atomic_fetch_add(a->failures, 1);
            snprintf(a->msg, sizeof a->msg, "queries %d: %s", i, last_msg());
            break;
        }
    }
    return NULL;
}

Test(threads, shared_session_keepalive_and_userauth_list, .timeout = 120)
{
    xssh_session *s = xt_connect();
    atomic_int failures = 0;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 3);
    /* userauth_list before authentication counts against MaxAuthTries (20): keep it small */
    shared_arg ka = {s, 200, &failures, "", &start};
    shared_arg ua = {s, 10, &failures, "", &start};
    shared_arg qa = {s, 200, &failures, "", &start};
    pthread_t t1, t2, t3;
    pthread_create(&t1, NULL, loop_keepalive, &ka);
    pthread_create(&t2, NULL, loop_userauth_list, &ua);
    pthread_create(&t3, NULL, loop_queries, &qa);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    pthread_barrier_destroy(&start);
    cr_assert_eq(atomic_load(&failures), 0, "%s | %s | %s", ka.msg, ua.msg, qa.msg);
    /* the session is still in a sane state */
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    int next;
    cr_assert_eq(xssh_session_keepalive_send(s, &next), XSSH_OK, "%s", last_msg());
    xssh_session_unref(s);
}

/* A worker keeps calling keepalive_send on the shared session until it sees
   ECLOSED. It tells the main thread once it has made a successful call (so the
   close really happens while it works), and its loop is bounded by the main
   thread's progress, not by a clock: once close()/disconnect() has returned, the
   very next call must say ECLOSED. */
typedef struct closing_arg {
    xssh_session *s;
    sem_t *working;        /* posted once by each worker: after its first successful call, or on failure */
    atomic_int *closed;    /* set by the main thread after close/disconnect returned */
    atomic_int *failures;
    long calls;
    char msg[512];
    pthread_barrier_t *start;
} closing_arg;

static void *loop_keepalive_until_closed(void *p)
{
    closing_arg *a = p;
    pthread_barrier_wait(a->start);
    for (;;) {
        int after_close = atomic_load(a->closed);
        int next;
        int rc = xssh_session_keepalive_send(a->s, &next);
        if (rc == XSSH_ECLOSED)
            return NULL;
        if (rc || after_close) {
            atomic_fetch_add(a->failures, 1);
            if (rc)
                snprintf(a->msg, sizeof a->msg, "keepalive_send: %s (%s)", last_msg(), xssh_err_name(rc));
            else
                snprintf(a->msg, sizeof a->msg, "keepalive_send succeeded after the session was closed");
            if (a->calls == 0)
                sem_post(a->working);
            return NULL;
        }
        if (a->calls++ == 0)
            sem_post(a->working);
    }
}

Test(threads, close_while_another_thread_works, .timeout = 120)
{
    for (int round = 0; round < 3; round++) {
        xssh_session *s = xt_connect_auth();
        cr_assert_eq(xssh_session_keepalive_config(s, 1, 1), XSSH_OK); /* real I/O once a second */
        atomic_int failures = 0, closed = 0;
        sem_t working;
        sem_init(&working, 0, 0);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 3);
        closing_arg a1 = {xssh_session_ref(s), &working, &closed, &failures, 0, "", &start};
        closing_arg a2 = {xssh_session_ref(s), &working, &closed, &failures, 0, "", &start};
        pthread_t t1, t2;
        pthread_create(&t1, NULL, loop_keepalive_until_closed, &a1);
        pthread_create(&t2, NULL, loop_keepalive_until_closed, &a2);
        pthread_barrier_wait(&start);
        /* both workers are inside their loops (one successful call each) before the close */
        for (int w = 0; w < 2; w++)
            while (sem_wait(&working) != 0)
                cr_assert_eq(errno, EINTR, "sem_wait: %s", strerror(errno));
        int rc;
        if (round == 1) {
            rc = xssh_session_close(s);
            cr_assert_eq(rc, XSSH_OK, "close: %s", last_msg());
        } else {
            rc = xssh_session_disconnect(s); /* races with keepalives: any clean result */
            cr_assert(rc == XSSH_OK || rc < 0, "disconnect: %d", rc);
        }
        atomic_store(&closed, 1);
        int is_closed = 0;
        cr_assert_eq(xssh_session_is_closed(s, &is_closed), XSSH_OK);
        cr_assert(is_closed, "round %d: the session is not closed after close/disconnect returned", round);
        /* drop our reference while the threads still hold theirs */
        xssh_session_unref(s);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_barrier_destroy(&start);
        sem_destroy(&working);
        cr_assert_eq(atomic_load(&failures), 0, "round %d: %s | %s", round, a1.msg, a2.msg);
        cr_assert_gt(a1.calls, 0);
        cr_assert_gt(a2.calls, 0);
        xssh_session_unref(a1.s);
        xssh_session_unref(a2.s);
    }
}

/* ---- drop orders with children (agent, known-hosts) ------------------------------- */

typedef struct objs {
    xssh_session *s;
    xssh_agent *a;
    xssh_knownhosts *k;
} objs;

static void make_objs(objs *o)
{
    o->s = xt_connect_auth();
    cr_assert_eq(xssh_agent_new(&o->a, o->s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_knownhosts_new(&o->k, o->s), XSSH_OK, "%s", last_msg());
    size_t n = 0;
    cr_assert_eq(xssh_knownhosts_readfile(o->k, xt()->known_hosts, 1, &n), XSSH_OK, "%s", last_msg());
    cr_assert_eq(n, 1);
    if (xt()->agent_sock && *xt()->agent_sock) {
        cr_assert_eq(xssh_agent_set_path(o->a, xt()->agent_sock), XSSH_OK);
        cr_assert_eq(xssh_agent_connect(o->a), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_agent_list_identities(o->a), XSSH_OK, "%s", last_msg());
    }
}

/* The survivors still work after each drop (the children keep the session alive). */
static void use_survivors(objs *o)
{
    if (o->k) {
        size_t n = 0;
        cr_assert_eq(xssh_knownhosts_count(o->k, &n), XSSH_OK, "%s", last_msg());
        cr_assert_eq(n, 1);
        char *key = NULL;
        size_t len = 0;
        int type = 0;
        if (o->s) {
            cr_assert_eq(xssh_session_hostkey(o->s, &key, &len, &type), XSSH_OK);
            int result = -1;
            cr_assert_eq(xssh_knownhosts_checkp(o->k, xt()->host, xt()->port, key, len,
                                                XSSH_KNOWNHOST_TYPE_PLAIN | XSSH_KNOWNHOST_KEYENC_RAW, &result, NULL),
                         XSSH_OK, "%s", last_msg());
            cr_assert_eq(result, XSSH_KNOWNHOST_CHECK_MATCH);
            xssh_free(key);
        }
    }
    if (o->a && xt()->agent_sock && *xt()->agent_sock) {
        size_t n = 0;
        cr_assert_eq(xssh_agent_list_identities(o->a), XSSH_OK, "%s", last_msg());
        cr_assert_eq(xssh_agent_identity_count(o->a, &n), XSSH_OK);
        cr_assert_eq(n, 1);
    }
    if (o->s) {
        int next;
        cr_assert_eq(xssh_session_keepalive_send(o->s, &next), XSSH_OK, "%s", last_msg());
    }
}

static void drop(objs *o, char which)
{
    switch (which) {
    case 's': xssh_session_unref(o->s); o->s = NULL; break;
    case 'a': xssh_agent_unref(o->a); o->a = NULL; break;
    case 'k': xssh_knownhosts_unref(o->k); o->k = NULL; break;
    }
}

Test(threads, drop_orders_with_children, .timeout = 120)
{
    const char *orders[] = {"sak", "ska", "ask", "aks", "ksa", "kas"};
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        objs o;
        make_objs(&o);
        for (const char *p = orders[i]; *p; p++) {
            drop(&o, *p);
            use_survivors(&o);
        }
    }
}

Test(threads, drop_orders_after_disconnect, .timeout = 120)
{
    const char *orders[] = {"sak", "aks", "kas"};
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        objs o;
        make_objs(&o);
        cr_assert_eq(xssh_session_disconnect(o.s), XSSH_OK, "%s", last_msg());
        /* the children answer "closed" now, and can still be dropped in any order */
        if (xt()->agent_sock && *xt()->agent_sock) {
            int rc = xssh_agent_list_identities(o.a);
            cr_assert_eq(rc, XSSH_ECLOSED, "agent after disconnect: %s", xssh_err_name(rc));
        }
        for (const char *p = orders[i]; *p; p++)
            drop(&o, *p);
    }
}

typedef struct child_arg {
    objs *o;
    char which;
    pthread_barrier_t *start;
} child_arg;

static void *drop_thread(void *p)
{
    child_arg *c = p;
    pthread_barrier_wait(c->start);
    drop(c->o, c->which);
    return NULL;
}

Test(threads, concurrent_drops, .timeout = 120)
{
    for (int round = 0; round < 5; round++) {
        objs o;
        make_objs(&o);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 3);
        child_arg c[3] = {{&o, 's', &start}, {&o, 'a', &start}, {&o, 'k', &start}};
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, drop_thread, &c[i]);
        for (int i = 0; i < 3; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
    }
}

static void *agent_user(void *p)
{
    child_arg *c = p;
    pthread_barrier_wait(c->start);
    for (int i = 0; i < 20; i++) {
        size_t n;
        if (xssh_agent_list_identities(c->o->a) == XSSH_OK)
            xssh_agent_identity_count(c->o->a, &n);
    }
    return NULL;
}

static void *kh_user(void *p)
{
    child_arg *c = p;
    pthread_barrier_wait(c->start);
    for (int i = 0; i < 200; i++) {
        size_t n;
        xssh_knownhosts_count(c->o->k, &n);
    }
    return NULL;
}

Test(threads, children_used_while_session_dropped, .timeout = 120)
{
    objs o;
    make_objs(&o);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 3);
    child_arg ca = {&o, 'a', &start}, ck = {&o, 'k', &start};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, agent_user, &ca);
    pthread_create(&t2, NULL, kh_user, &ck);
    pthread_barrier_wait(&start);
    xssh_session_unref(o.s); /* the children keep it alive */
    o.s = NULL;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_barrier_destroy(&start);
    use_survivors(&o);
    drop(&o, 'a');
    drop(&o, 'k');
}

/* ---- two threads connect the same session at once ------------------------------ */

typedef struct conn_arg {
    xssh_session *s;
    int rc;
    char msg[512];
    pthread_barrier_t *start;
} conn_arg;

static void *connect_thread(void *p)
{
    conn_arg *c = p;
    pthread_barrier_wait(c->start);
    c->rc = xssh_session_connect(c->s, xt()->host, xt()->port, 10000);
    snprintf(c->msg, sizeof c->msg, "%s", last_msg());
    return NULL;
}

Test(threads, concurrent_connect_same_session, .timeout = 120)
{
    for (int round = 0; round < 10; round++) {
        xssh_session *s = NULL;
        cr_assert_eq(xssh_session_new(&s), XSSH_OK);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        conn_arg a = {s, -99999, "", &start}, b = {s, -99999, "", &start};
        pthread_t t1, t2;
        pthread_create(&t1, NULL, connect_thread, &a);
        pthread_create(&t2, NULL, connect_thread, &b);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_barrier_destroy(&start);
        /* exactly one wins; the other is told the session is (being) connected */
        int ok = (a.rc == XSSH_OK) + (b.rc == XSSH_OK);
        cr_assert_eq(ok, 1, "round %d: %s (%s) / %s (%s)", round, xssh_err_name(a.rc), a.msg, xssh_err_name(b.rc),
                     b.msg);
        cr_assert(a.rc == XSSH_EBAD_USE || b.rc == XSSH_EBAD_USE, "round %d: %s / %s", round, a.msg, b.msg);
        cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                     "round %d: %s", round, last_msg());
        cr_assert_eq(xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, xt()->known_hosts), XSSH_OK, "%s",
                     last_msg());
        xssh_session_unref(s);
    }
}

/* ---- first use from many threads at once (libssh2_init once) ---------------------- */

static void *new_session_thread(void *p)
{
    pthread_barrier_t *b = p;
    pthread_barrier_wait(b);
    xssh_session *s = NULL;
    int rc = xssh_session_new(&s);
    if (rc == XSSH_OK) {
        char *a = NULL;
        rc = xssh_session_supported_algs(s, XSSH_METHOD_KEX, &a);
        xssh_free(a);
    }
    xssh_session_unref(s);
    return (void *)(intptr_t)rc;
}

Test(threads, first_use_from_many_threads, .timeout = 60)
{
    /* each Criterion test runs in a fresh process: this is the first xssh call here */
    enum { N = 16 };
    pthread_t t[N];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, N);
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, new_session_thread, &b);
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        cr_assert_eq((int)(intptr_t)r, XSSH_OK, "thread %d: %s", i, xssh_err_name((int)(intptr_t)r));
    }
    pthread_barrier_destroy(&b);
}
