/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh_host_parse(): the one reader of "[user@]host[:port]" strings (multi interface,
   run_many/put_many/get_many, the xssh tool). Pure string work: no server involved. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

typedef struct {
    const char *s, *user, *host;
    int port;
} good_case;

static const good_case good[] = {
    {"web1", NULL, "web1", 0},
    {"web1:2222", NULL, "web1", 2222},
    {"alice@web1:22", "alice", "web1", 22},
    {"a@b@web1", "a@b", "web1", 0}, /* the last '@' separates */
    {"[::1]:2200", NULL, "::1", 2200},
    {"root@[fe80::1%eth0]:22", "root", "fe80::1%eth0", 22},
    {"::1", NULL, "::1", 0},
    {"2001:db8::7", NULL, "2001:db8::7", 0},
    {"[web1]:2201", NULL, "web1", 2201}, /* brackets around any host, as ssh */
    {"alice@[192.0.2.7]:65535", "alice", "192.0.2.7", 65535},
    {"[192.0.2.7]", NULL, "192.0.2.7", 0},
    {"my_alias.example-1", NULL, "my_alias.example-1", 0},
};

Test(hostspec, good_strings)
{
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *u = (char *)"x", *h = NULL;
        int p = -1;
        cr_assert_eq(xssh_host_parse(good[i].s, &u, &h, &p), XSSH_OK, "'%s': %s", good[i].s,
                     xssh_error_last()->message);
        if (good[i].user)
            cr_assert_str_eq(u, good[i].user, "'%s'", good[i].s);
        else
            cr_assert_null(u, "'%s'", good[i].s);
        cr_assert_str_eq(h, good[i].host, "'%s'", good[i].s);
        cr_assert_eq(p, good[i].port, "'%s'", good[i].s);
        xssh_free(u);
        xssh_free(h);
    }
}

Test(hostspec, user_and_port_are_optional_outputs)
{
    char *h = NULL;
    cr_assert_eq(xssh_host_parse("bob@web1:23", NULL, &h, NULL), XSSH_OK);
    cr_assert_str_eq(h, "web1");
    xssh_free(h);
}

Test(hostspec, bad_strings_name_the_string_and_the_problem)
{
    static const struct {
        const char *s, *why;
    } bad[] = {
        {"", "is empty"},
        {"@web1", "empty user name"},
        {"alice@", "empty host name"},
        {"@@@", "empty host name"},
        {"web1:", "empty port"},
        {"web1:0", "port must be 1..65535"},
        {"web1:65536", "port must be 1..65535"},
        {"web1:99999999999999999999", "port must be 1..65535"},
        {"web1:22x", "not a number"},
        {"web1:+22", "not a number"},
        {"web1:-1", "not a number"},
        {"[::1", "without a matching ']'"},
        {"[::1]x", "only ':port'"},
        {"[]:22", "empty host name"},
        {"[fe80::zz]:22", "not an IPv6 address"},
        {"fe80::zz", "not an IPv6 address"},
        {"a/b", "cannot hold /"},
        {"a\\b", "cannot hold"},
        {"web 1", "spaces"},
        {"caf\xc3\xa9.example", "non-ASCII"},
        {"web\xff", "non-ASCII"},
        {"..", "not host names"},
        {"-oProxyCommand=x", "cannot start with '-'"},
        {"al ice@web1", "user name cannot hold"},
        {"a:b@web1", "user name cannot hold"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *u = NULL, *h = NULL;
        int p = 7;
        cr_assert_eq(xssh_host_parse(bad[i].s, &u, &h, &p), XSSH_EARG, "'%s' accepted", bad[i].s);
        cr_assert_null(u);
        cr_assert_null(h);
        cr_assert_eq(p, 0);
        const char *m = xssh_error_last()->message;
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i].s);
        cr_assert(strstr(m, quoted) != NULL, "'%s': message does not quote it: %s", bad[i].s, m);
        cr_assert(strstr(m, bad[i].why) != NULL, "'%s': message lacks \"%s\": %s", bad[i].s, bad[i].why, m);
    }
}

Test(hostspec, null_arguments)
{
    char *h = NULL;
    cr_assert_eq(xssh_host_parse(NULL, NULL, &h, NULL), XSSH_EARG);
    cr_assert_eq(xssh_host_parse("web1", NULL, NULL, NULL), XSSH_EARG);
    cr_assert(strstr(xssh_error_last()->message, "NULL") != NULL, "%s", xssh_error_last()->message);
}
