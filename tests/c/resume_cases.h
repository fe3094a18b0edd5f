/* SPDX-License-Identifier: BSD-3-Clause */
/* Resume cases shared by c_sftp_transfer (the engine) and c_sftp_maxsessions (the
   fallback over the caller's SFTP object): one set of expectations for both paths. */
#ifndef XSSH_TEST_RESUME_CASES_H
#define XSSH_TEST_RESUME_CASES_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static char *part_of(const char *p)
{
    size_t n = strlen(p) + sizeof XSSH_SFTP_RESUME_SUFFIX;
    char *t = malloc(n);
    snprintf(t, n, "%s%s", p, XSSH_SFTP_RESUME_SUFFIX);
    return t;
}

/* resume from a partial destination written by the test: exactly the rest moves */
static void resume_cases(xssh_sftp *sf)
{
    size_t n = xt_size(3 * 1024 * 1024 + 777), half = n / 2;
    unsigned char *data = xt_random_bytes(n);
    char *local = xt_tmppath("res-src");
    char *remote = xt_tmppath("res-dst");
    xt_spit(local, data, n, 0644);
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.resume = 1;
    o.atomic = 1;
    /* put: the remote partial under the stable temporary name */
    char *rpart = part_of(remote);
    xt_spit(rpart, data, half, 0644);
    uint64_t t = 0;
    cr_assert_eq(xssh_sftp_put(sf, local, remote, &o, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n - half, "put sent %llu bytes, wanted the rest %zu", (unsigned long long)t, n - half);
    size_t ln = 0;
    unsigned char *back = xt_slurp(remote, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0);
    free(back);
    cr_assert_eq(access(rpart, F_OK), -1, "the temporary file is left");
    /* get, not atomic: the partial is the destination itself; its last bytes
       differ from the server's, so the transfer goes back to the first difference */
    char *got = xt_tmppath("res-get");
    unsigned char *bad = malloc(half);
    memcpy(bad, data, half);
    bad[half - 10] ^= 0x5a;
    xt_spit(got, bad, half, 0644);
    memset(&o, 0, sizeof o);
    o.resume = 1;
    cr_assert_eq(xssh_sftp_get(sf, remote, got, &o, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n - (half - 10), "get moved %llu bytes", (unsigned long long)t);
    back = xt_slurp(got, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0, "resumed get is not byte-exact");
    free(back);
    /* a destination longer than the source (other content) is no prefix of it:
       the whole file moves, and the result is the source, for get and put */
    unsigned char *longer = xt_random_bytes(n + 5000);
    xt_spit(got, longer, n + 5000, 0644);
    cr_assert_eq(xssh_sftp_get(sf, remote, got, &o, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n, "get moved %llu bytes", (unsigned long long)t);
    back = xt_slurp(got, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0, "get into a longer destination is not the source");
    free(back);
    xt_spit(remote, longer, n + 5000, 0644);
    cr_assert_eq(xssh_sftp_put(sf, local, remote, &o, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n, "put sent %llu bytes", (unsigned long long)t);
    back = xt_slurp(remote, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0, "put onto a longer destination is not the source");
    free(back);
    free(longer);
    free(bad);
    unlink(local);
    unlink(remote);
    unlink(got);
    free(local);
    free(remote);
    free(got);
    free(rpart);
    free(data);
}


#endif
