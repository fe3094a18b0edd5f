/* SPDX-License-Identifier: BSD-3-Clause */
/* 256 MiB whole-file transfers, byte-exact, both ways, SFTP and SCP (16 MiB under valgrind). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"


static void make_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned char *buf = malloc(1 << 20);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < (1u << 20) ? n - done : (1u << 20);
        for (size_t i = 0; i < k; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
        cr_assert_eq(fwrite(buf, 1, k, f), k);
        done += k;
    }
    free(buf);
    fclose(f);
}

static void assert_same(const char *a, const char *b, size_t n)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    cr_assert(fa && fb);
    unsigned char *ba = malloc(1 << 20), *bb = malloc(1 << 20);
    size_t total = 0;
    for (;;) {
        size_t ka = fread(ba, 1, 1 << 20, fa), kb = fread(bb, 1, 1 << 20, fb);
        cr_assert_eq(ka, kb, "%s and %s differ in length near %zu", a, b, total);
        if (!ka)
            break;
        cr_assert(memcmp(ba, bb, ka) == 0, "%s and %s differ near byte %zu", a, b, total);
        total += ka;
    }
    cr_assert_eq(total, n);
    free(ba);
    free(bb);
    fclose(fa);
    fclose(fb);
}

Test(bigfile, sftp_256MiB_put_and_get, .timeout = 600)
{
    size_t n = xt_size((size_t)256 << 20);
    char *src = xt_tmppath("big-src"), *mid = xt_tmppath("big-remote"), *back = xt_tmppath("big-back");
    make_file(src, n);
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "%s", last_msg());
    uint64_t done = 0;
    cr_assert_eq(xssh_sftp_put(sf, src, mid, NULL, &done), XSSH_OK, "%s", last_msg());
    cr_assert_eq(done, n);
    cr_assert_eq(xssh_sftp_get(sf, mid, back, NULL, &done), XSSH_OK, "%s", last_msg());
    cr_assert_eq(done, n);
    assert_same(src, mid, n);
    assert_same(src, back, n);
    unlink(src), unlink(mid), unlink(back);
    free(src), free(mid), free(back);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(bigfile, scp_256MiB_put_and_get, .timeout = 600)
{
    size_t n = xt_size((size_t)256 << 20);
    char *src = xt_tmppath("bigscp-src"), *mid = xt_tmppath("bigscp-remote"), *back = xt_tmppath("bigscp-back");
    make_file(src, n);
    xssh_session *s = xt_connect_auth();
    uint64_t done = 0;
    cr_assert_eq(xssh_session_scp_put(s, src, mid, NULL, &done), XSSH_OK, "%s", last_msg());
    cr_assert_eq(done, n);
    cr_assert_eq(xssh_session_scp_get(s, mid, back, NULL, &done), XSSH_OK, "%s", last_msg());
    cr_assert_eq(done, n);
    assert_same(src, mid, n);
    assert_same(src, back, n);
    unlink(src), unlink(mid), unlink(back);
    free(src), free(mid), free(back);
    xssh_session_unref(s);
}
