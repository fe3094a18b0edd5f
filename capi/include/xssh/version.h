/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/version.h
 * @brief Compile-time and run-time version and capability queries.
 */
#ifndef XSSH_VERSION_H
#define XSSH_VERSION_H

#include "common.h"

XSSH_BEGIN_DECL

/** The version of these headers: the string ("0.1.0") and its three numbers
 *  (compare xssh_version(), the library's). @{ */
#define XSSH_VERSION "0.1.0"
#define XSSH_VERSION_MAJOR 0
#define XSSH_VERSION_MINOR 1
#define XSSH_VERSION_PATCH 0
/** @} */
/** 0xXXYYZZ, like LIBSSH2_VERSION_NUM. */
#define XSSH_VERSION_NUM 0x000100
/** True when this header is at least version maj.min.pat. */
#define XSSH_VERSION_CHECK(maj, min, pat) \
    (XSSH_VERSION_NUM >= (((maj) << 16) | ((min) << 8) | (pat)))

/** Optional features, as reported by xssh_features(). */
typedef enum xssh_feature {
    XSSH_FEATURE_RSA_SHA2 = 1 << 0,        /**< RSA user keys signed with rsa-sha2-256/512 (libssh2 >= 1.11) */
    XSSH_FEATURE_CHANNEL_SIGNAL = 1 << 1,  /**< sending signals on a channel (libssh2 >= 1.11) */
    XSSH_FEATURE_AGENT_FORWARDING = 1 << 2,/**< libssh2_channel_request_auth_agent (exported by 1.10.0) */
    XSSH_FEATURE_SK_KEYS = 1 << 3,         /**< security-key (FIDO) user keys (libssh2 >= 1.10 with sk support) */
    XSSH_FEATURE_COMPRESSION = 1 << 4,     /**< zlib compression compiled into libssh2 */
    XSSH_FEATURE_AGENT_SIGN = 1 << 5       /**< libssh2_agent_sign, raw signatures through an agent (libssh2 >= 1.11) */
} xssh_feature;

/**
 * The xssh library version string (e.g. "0.1.0"). Never NULL.
 * @return a static string, e.g. "0.1.0"
 */
XSSH_EXTERN(const char *) xssh_version(void);
/**
 * The version string of the libssh2 xssh runs with (e.g. "1.10.0"). Never NULL.
 * @return a static string, e.g. "1.10.0"
 */
XSSH_EXTERN(const char *) xssh_libssh2_version(void);
/**
 * Bitmask of ::xssh_feature values this build supports.
 * @return the bitmask (XSSH_FEATURE_* bits)
 */
XSSH_EXTERN(unsigned int) xssh_features(void);
/**
 * Human-readable capability report: xssh and libssh2 versions and each optional
 * feature with "yes"/"no". Borrowed static string; never NULL.
 * @return a static, NUL-terminated report
 */
XSSH_EXTERN(const char *) xssh_capabilities(void);

XSSH_END_DECL

#endif /* XSSH_VERSION_H */
