/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole-file transfers on a server that refuses more channels (OpenSSH's
 * MaxSessions): the harness's second port gives its connections MaxSessions 1,
 * so while the caller's SFTP object holds the one session every channel the
 * engine asks for is refused (forced, whatever the machine's speed). The
 * transfer then goes over the caller's SFTP object: byte-exact, atomic put's
 * temporary file renamed, the SFTP object usable afterwards. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "resume_cases.h"

/* a value of the harness's env file (allocated) */
static char *env_value(const char *key)
{
    const char *path = getenv("XSSH_TEST_ENV");
    cr_assert(path && *path, "XSSH_TEST_ENV is not set (run through ctest)");
    size_t len = 0, kl = strlen(key);
    char *text = (char *)xt_slurp(path, &len);
    cr_assert_not_null(text);
    char *v = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (!strncmp(line, key, kl) && line[kl] == '=')
            v = strdup(line + kl + 1);
    free(text);
    cr_assert_not_null(v, "the harness's env file has no %s", key);
    return v;
}

static xssh_session *connect_ms1(void)
{
    char *ps = env_value("XSSH_TEST_PORT_MAXSESSIONS1");
    int port = atoi(ps);
    free(ps);
    cr_assert_gt(port, 0);
    char *kh = env_value("XSSH_TEST_KNOWN_HOSTS_MAXSESSIONS1");
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_session_connect(s, xt()->host, port, 10000), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_session_verify_host(s, xt()->host, port, XSSH_HOSTKEY_STRICT, kh), XSSH_OK, "%s", last_msg());
    free(kh);
    cr_assert_eq(xssh_session_userauth_publickey_fromfile(s, xt()->user, xt()->key_ed25519, NULL, NULL), XSSH_OK,
                 "%s", last_msg());
    xssh_session_set_timeout(s, 30000);
    return s;
}

static void check_same(const char *path, const unsigned char *data, size_t size)
{
    size_t len = 0;
    unsigned char *got = xt_slurp(path, &len);
    cr_assert_not_null(got, "%s missing", path);
    cr_assert_eq(len, size);
    cr_assert(memcmp(got, data, size) == 0, "%s differs", path);
    free(got);
}

Test(sftp_maxsessions, whole_file_transfers_fall_back_to_the_callers_sftp, .timeout = 120)
{
    xssh_session *s = connect_ms1();
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    /* the one session is taken: a channel of our own is refused */
    xssh_channel *c = NULL;
    cr_assert_neq(xssh_channel_open_session(&c, s), XSSH_OK, "MaxSessions 1 did not refuse a second channel");
    size_t size = xt_size(3 * 1024 * 1024 + 5);
    unsigned char *data = xt_random_bytes(size);
    char *src = xt_tmppath("ms1_src"), *remote = xt_tmppath("ms1_remote"), *back = xt_tmppath("ms1_back");
    xt_spit(src, data, size, 0644);
    for (int atomic = 0; atomic < 2; atomic++) {
        xssh_transfer_opts o = {0};
        o.atomic = atomic;
        uint64_t n = 0;
        unlink(remote);
        unlink(back);
        cr_assert_eq(xssh_sftp_put(sf, src, remote, &o, &n), XSSH_OK, "put (atomic %d): %s", atomic, last_msg());
        cr_assert_eq(n, size);
        check_same(remote, data, size);
        n = 0;
        cr_assert_eq(xssh_sftp_get(sf, remote, back, &o, &n), XSSH_OK, "get (atomic %d): %s", atomic, last_msg());
        cr_assert_eq(n, size);
        check_same(back, data, size);
    }
    /* the SFTP object goes on */
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, remote, &a), XSSH_OK, "%s", last_msg());
    cr_assert_eq(a.filesize, size);
    /* a missing remote file is still its own error, not the refusal */
    cr_assert_eq(xssh_sftp_get(sf, "/nonexistent/for/sure", back, NULL, NULL), XSSH_ESFTP_NO_SUCH_FILE, "%s",
                 last_msg());
    /* a directory is named as such on the fallback path too (libssh2 would say "read: failure") */
    cr_assert_eq(xssh_sftp_get(sf, xt()->dir, back, NULL, NULL), XSSH_ESFTP_FAILURE, "%s", last_msg());
    cr_assert(strstr(last_msg(), "is a directory on the server"), "%s", last_msg());
    cr_assert_eq(xssh_sftp_put(sf, src, xt()->dir, NULL, NULL), XSSH_ESFTP_FAILURE, "%s", last_msg());
    cr_assert(strstr(last_msg(), "the destination is a directory on the server"), "%s", last_msg());
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    unlink(src);
    unlink(remote);
    unlink(back);
    free(src);
    free(remote);
    free(back);
    free(data);
}

/* Resume over the fallback path: the same cases as the engine's (the partial's
   tail compared, exactly the rest moves, a longer destination replaced). */
Test(sftp_maxsessions, resume_falls_back_too, .timeout = 120)
{
    xssh_session *s = connect_ms1();
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    xssh_channel *c = NULL;
    cr_assert_neq(xssh_channel_open_session(&c, s), XSSH_OK, "MaxSessions 1 did not refuse a second channel");
    resume_cases(sf);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* A tree of 8 files in flight at once: every file's own channel is refused; each
   goes over the caller's SFTP object instead, and the whole tree arrives. */
Test(sftp_maxsessions, tree_files_in_flight_fall_back, .timeout = 180)
{
    enum { N = 8 };
    xssh_session *s = connect_ms1();
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    char *ldir = xt_tmppath("ms1_tree_src"), *rdir = xt_tmppath("ms1_tree_dst"), *back = xt_tmppath("ms1_tree_back");
    cr_assert_eq(mkdir(ldir, 0755), 0);
    size_t size = xt_size(600 * 1024 + 3);
    unsigned char *data[N];
    char p[1300];
    for (int i = 0; i < N; i++) {
        data[i] = xt_random_bytes(size + (size_t)i);
        snprintf(p, sizeof p, "%s/f%d", ldir, i);
        xt_spit(p, data[i], size + (size_t)i, 0644);
    }
    xssh_transfer_opts fo = {0};
    fo.atomic = 1;
    xssh_tree_opts to = {0};
    to.files_in_flight = N;
    to.file = &fo;
    xssh_tree_stats st;
    memset(&st, 0, sizeof st);
    cr_assert_eq(xssh_sftp_put_tree(sf, ldir, rdir, &to, &st), XSSH_OK, "put_tree: %s", last_msg());
    memset(&st, 0, sizeof st);
    cr_assert_eq(xssh_sftp_get_tree(sf, rdir, back, &to, &st), XSSH_OK, "get_tree: %s", last_msg());
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "%s/f%d", rdir, i);
        check_same(p, data[i], size + (size_t)i);
        unlink(p);
        snprintf(p, sizeof p, "%s/f%d", back, i);
        check_same(p, data[i], size + (size_t)i);
        unlink(p);
        snprintf(p, sizeof p, "%s/f%d", ldir, i);
        unlink(p);
        free(data[i]);
    }
    rmdir(rdir);
    rmdir(back);
    rmdir(ldir);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    free(ldir);
    free(rdir);
    free(back);
}
