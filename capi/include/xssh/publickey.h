/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/publickey.h
 * @brief The public-key subsystem (RFC 4819): list, add and remove the keys a
 *        server accepts for the user. OpenSSH's sshd does not offer it:
 *        xssh_publickey_init() then fails with XSSH_EPUBLICKEY_INIT.
 * @defgroup publickey Public-key subsystem
 * @{
 */
#ifndef XSSH_PUBLICKEY_H
#define XSSH_PUBLICKEY_H

#include <stddef.h>

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** The public-key subsystem of a session (a child holding a reference on it). */
typedef struct xssh_publickey xssh_publickey;

/** One attribute of a key (RFC 4819 section 3.2). */
typedef struct xssh_publickey_attr {
    const char *name;   /**< attribute name, e.g. "comment" (not NUL-terminated: name_len bytes) */
    size_t name_len;    /**< length of name in bytes */
    const char *value;  /**< attribute value (value_len bytes, not NUL-terminated) */
    size_t value_len;   /**< length of value in bytes */
    int mandatory;      /**< 1: the server must understand the attribute or refuse the key */
} xssh_publickey_attr;

/** One key of the server's list. */
typedef struct xssh_publickey_entry {
    const char *name;            /**< algorithm name, e.g. "ssh-ed25519" */
    size_t name_len;             /**< length of name in bytes */
    const unsigned char *blob;   /**< the key blob */
    size_t blob_len;             /**< length of blob in bytes */
    const xssh_publickey_attr *attrs; /**< the key's attributes (num_attrs of them) */
    size_t num_attrs;            /**< number of attributes in attrs */
} xssh_publickey_entry;

/**
 * Start the public-key subsystem on an authenticated session.
 * libssh2: libssh2_publickey_init().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out new reference; release with xssh_publickey_unref()
 * @return XSSH_OK, XSSH_EPUBLICKEY_INIT (the server does not offer it), XSSH_ECLOSED, ...
 */
XSSH_EXTERN(int) xssh_publickey_init(xssh_publickey **out, xssh_session *session);
/**
 * Take one more reference; returns @p pk. NULL-safe.
 * @param pk the subsystem; NULL is allowed
 * @return pk itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_publickey *) xssh_publickey_ref(xssh_publickey *pk);
/**
 * Drop a reference; the last one shuts the subsystem down lazily (no I/O here). NULL-safe.
 * @param pk the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_publickey_unref(xssh_publickey *pk);
/**
 * Shut the subsystem down now; later calls answer XSSH_ECLOSED. Idempotent.
 * libssh2: libssh2_publickey_shutdown().
 * @param pk the public-key subsystem (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_publickey_close(xssh_publickey *pk);
/**
 * Add a key.
 * libssh2: libssh2_publickey_add_ex().
 * @param pk the public-key subsystem (borrowed)
 * @param name algorithm name ("ssh-ed25519", ...); @p blob its key blob
 * @param blob the public key blob
 * @param blob_len its length in bytes
 * @param overwrite nonzero to replace an existing key
 * @param attrs optional attributes (may be NULL when @p num_attrs is 0)
 * @param num_attrs number of attributes in attrs
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EPUBLICKEY_PROTOCOL when the server refuses
 */
XSSH_EXTERN(int) xssh_publickey_add(xssh_publickey *pk, const char *name, const void *blob, size_t blob_len,
                                    int overwrite, const xssh_publickey_attr *attrs, size_t num_attrs);
/**
 * Remove a key.
 * libssh2: libssh2_publickey_remove_ex().
 * @param pk the public-key subsystem (borrowed)
 * @param name the key's algorithm name, e.g. "ssh-ed25519"
 * @param blob the public key blob
 * @param blob_len its length in bytes
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EPUBLICKEY_PROTOCOL when the server refuses
 */
XSSH_EXTERN(int) xssh_publickey_remove(xssh_publickey *pk, const char *name, const void *blob, size_t blob_len);
/**
 * Fetch the server's list of keys.
 * libssh2: libssh2_publickey_list_fetch().
 * @param pk the public-key subsystem (borrowed)
 * @param[out] out array of @p count_out entries, allocated; free with xssh_publickey_list_free()
 * @param[out] count_out number of entries in *out
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_publickey_list(xssh_publickey *pk, xssh_publickey_entry **out, size_t *count_out);
/**
 * Free a list returned by xssh_publickey_list(). NULL-safe.
 * @param list the list from xssh_publickey_list() (NULL is allowed)
 * @param count its number of entries
 */
XSSH_EXTERN(void) xssh_publickey_list_free(xssh_publickey_entry *list, size_t count);

XSSH_END_DECL

/** @} */
#endif /* XSSH_PUBLICKEY_H */
