/* SPDX-License-Identifier: BSD-3-Clause */
/* Versions and capabilities: checked against the libssh2 actually loaded (dlsym). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* libssh2 is loaded as libxssh's dependency: ask it directly */
static int has_sym(const char *name) { return dlsym(RTLD_DEFAULT, name) != NULL; }

static const char *loaded_libssh2_version(void)
{
    const char *(*fn)(int) = (const char *(*)(int))dlsym(RTLD_DEFAULT, "libssh2_version");
    cr_assert_not_null(fn, "libssh2_version not found in the process");
    return fn(0);
}

Test(version, xssh_version)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", XSSH_VERSION_MAJOR, XSSH_VERSION_MINOR, XSSH_VERSION_PATCH);
    cr_assert_str_eq(xssh_version(), XSSH_VERSION);
    cr_assert_str_eq(xssh_version(), want);
    cr_assert_eq(XSSH_VERSION_NUM, (XSSH_VERSION_MAJOR << 16) | (XSSH_VERSION_MINOR << 8) | XSSH_VERSION_PATCH);
    cr_assert(XSSH_VERSION_CHECK(0, 0, 1));
    cr_assert(XSSH_VERSION_CHECK(XSSH_VERSION_MAJOR, XSSH_VERSION_MINOR, XSSH_VERSION_PATCH));
    cr_assert(!XSSH_VERSION_CHECK(99, 0, 0));
}

Test(version, libssh2_version)
{
    const char *v = xssh_libssh2_version();
    cr_assert_not_null(v);
    cr_assert_str_eq(v, loaded_libssh2_version());
    /* Debian 12, the target platform, ships 1.10.0 */
    FILE *f = fopen("/etc/debian_version", "r");
    if (f) {
        char dv[32] = "";
        if (fgets(dv, sizeof dv, f) && !strncmp(dv, "12.", 3))
            cr_assert_str_eq(v, "1.10.0");
        fclose(f);
    }
}

Test(version, features_match_loaded_libssh2)
{
    unsigned f = xssh_features();
    int agent_sign = has_sym("libssh2_agent_sign");
    cr_assert_eq(!!(f & XSSH_FEATURE_AGENT_SIGN), agent_sign, "agent-sign flag vs libssh2_agent_sign");
    cr_assert_eq(!!(f & XSSH_FEATURE_RSA_SHA2), agent_sign, "rsa-sha2 flag vs a libssh2 >= 1.11 symbol");
    cr_assert_eq(!!(f & XSSH_FEATURE_CHANNEL_SIGNAL), has_sym("libssh2_channel_signal_ex"));
    cr_assert_eq(!!(f & XSSH_FEATURE_SK_KEYS), has_sym("libssh2_userauth_publickey_sk"));
    cr_assert_eq(!!(f & XSSH_FEATURE_AGENT_FORWARDING),
                 has_sym("libssh2_channel_request_auth_agent"));
    if (!strncmp(xssh_libssh2_version(), "1.10.", 5)) {
        cr_assert_eq(f & (XSSH_FEATURE_RSA_SHA2 | XSSH_FEATURE_CHANNEL_SIGNAL | XSSH_FEATURE_AGENT_SIGN),
                     0, "libssh2 1.10 has none of the 1.11 features: 0x%x", f);
    }
    cr_assert_eq(f & ~0x3fu, 0, "unknown feature bits 0x%x", f);
}

Test(version, compression_flag_matches_session)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    cr_assert_eq(xssh_session_flag(s, XSSH_FLAG_COMPRESS, 1), XSSH_OK, "%s", xssh_error_last()->message);
    char *algs = NULL;
    cr_assert_eq(xssh_session_supported_algs(s, XSSH_METHOD_COMP_CS, &algs), XSSH_OK);
    int zlib = strstr(algs, "zlib") != NULL;
    xssh_free(algs);
    xssh_session_unref(s);
    cr_assert_eq(!!(xssh_features() & XSSH_FEATURE_COMPRESSION), zlib);
}

Test(version, capabilities_text)
{
    const char *c = xssh_capabilities();
    cr_assert_not_null(c);
    unsigned f = xssh_features();
    cr_assert(strstr(c, xssh_version()), "%s", c);
    char lib[64];
    snprintf(lib, sizeof lib, "libssh2 %s", xssh_libssh2_version());
    cr_assert(strstr(c, lib), "'%s' lacks '%s'", c, lib);
    struct { const char *label; unsigned bit; } rows[] = {
        {"rsa-sha2: ", XSSH_FEATURE_RSA_SHA2},       {"channel-signal: ", XSSH_FEATURE_CHANNEL_SIGNAL},
        {"agent-forwarding: ", XSSH_FEATURE_AGENT_FORWARDING}, {"agent-sign: ", XSSH_FEATURE_AGENT_SIGN},
        {"sk-keys: ", XSSH_FEATURE_SK_KEYS},         {"compression: ", XSSH_FEATURE_COMPRESSION},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *p = strstr(c, rows[i].label);
        cr_assert_not_null(p, "'%s' lacks %s", c, rows[i].label);
        p += strlen(rows[i].label);
        const char *want = (f & rows[i].bit) ? "yes" : "no";
        cr_assert(!strncmp(p, want, strlen(want)), "%s should be %s in '%s'", rows[i].label, want, c);
    }
    cr_assert_eq(xssh_capabilities(), c, "a static string");
}

static void *feat_thread(void *arg)
{
    unsigned *out = arg;
    *out = xssh_features();
    return NULL;
}

Test(version, features_thread_safe)
{
    pthread_t t[8];
    unsigned got[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, feat_thread, &got[i]);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(got[i], xssh_features());
}
