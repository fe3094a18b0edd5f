/* SPDX-License-Identifier: BSD-3-Clause */
/* Versions and the capabilities of this build. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *xssh_version(void) { return XSSH_VERSION; }

const char *xssh_libssh2_version(void)
{
    const char *v = libssh2_version(0);
    return v ? v : LIBSSH2_VERSION;
}

static pthread_once_t feat_once = PTHREAD_ONCE_INIT;
static unsigned int feat_bits;
static char caps[512];

static void detect(void)
{
    unsigned int f = 0;
#ifdef XSSH_HAVE_RSA_SHA2
    f |= XSSH_FEATURE_RSA_SHA2;
#endif
#ifdef XSSH_HAVE_CHANNEL_SIGNAL
    f |= XSSH_FEATURE_CHANNEL_SIGNAL;
#endif
#ifdef XSSH_HAVE_AGENT_FORWARDING
    f |= XSSH_FEATURE_AGENT_FORWARDING;
#endif
#ifdef XSSH_HAVE_SK_KEYS
    f |= XSSH_FEATURE_SK_KEYS;
#endif
#ifdef XSSH_HAVE_AGENT_SIGN
    f |= XSSH_FEATURE_AGENT_SIGN;
#endif
    /* compression is a property of the libssh2 build: ask it */
    if (xssh__global_init() == XSSH_OK) {
        LIBSSH2_SESSION *ssh = libssh2_session_init();
        if (ssh) {
            /* libssh2 lists zlib methods only once compression is requested */
            libssh2_session_flag(ssh, LIBSSH2_FLAG_COMPRESS, 1);
            const char **algs = NULL;
            int n = libssh2_session_supported_algs(ssh, LIBSSH2_METHOD_COMP_CS, &algs);
            for (int i = 0; i < n; i++)
                if (strstr(algs[i], "zlib"))
                    f |= XSSH_FEATURE_COMPRESSION;
            if (n > 0)
                libssh2_free(ssh, algs);
            libssh2_session_free(ssh);
        }
    }
    feat_bits = f;
    snprintf(caps, sizeof caps,
             "xssh %s; libssh2 %s (built against %s); rsa-sha2: %s; channel-signal: %s; agent-forwarding: %s; "
             "agent-sign: %s; sk-keys: %s; compression: %s",
             XSSH_VERSION, xssh_libssh2_version(), LIBSSH2_VERSION, (f & XSSH_FEATURE_RSA_SHA2) ? "yes" : "no",
             (f & XSSH_FEATURE_CHANNEL_SIGNAL) ? "yes" : "no", (f & XSSH_FEATURE_AGENT_FORWARDING) ? "yes" : "no",
             (f & XSSH_FEATURE_AGENT_SIGN) ? "yes" : "no", (f & XSSH_FEATURE_SK_KEYS) ? "yes" : "no",
             (f & XSSH_FEATURE_COMPRESSION) ? "yes" : "no");
}

unsigned int xssh_features(void)
{
    pthread_once(&feat_once, detect);
    return feat_bits;
}

const char *xssh_capabilities(void)
{
    pthread_once(&feat_once, detect);
    return caps;
}
