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
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    int mandatory;
} xssh_publickey_attr;

/** One key of the server's list. */
typedef struct xssh_publickey_entry {
    const char *name;            /**< algorithm name, e.g. "ssh-ed25519" */
    size_t name_len;
    const unsigned char *blob;   /**< the key blob */
    size_t blob_len;
    const xssh_publickey_attr *attrs;
    size_t num_attrs;
} xssh_publickey_entry;

/**
 * Start the public-key subsystem on an authenticated session.
 * @param[out] out new reference; release with xssh_publickey_unref()
 * @return XSSH_OK, XSSH_EPUBLICKEY_INIT (the server does not offer it), XSSH_ECLOSED, ...
 */
XSSH_EXTERN(int) xssh_publickey_init(xssh_publickey **out, xssh_session *session);
/** Take one more reference; returns @p pk. NULL-safe. */
XSSH_EXTERN(xssh_publickey *) xssh_publickey_ref(xssh_publickey *pk);
/** Drop a reference; the last one shuts the subsystem down lazily (no I/O here). NULL-safe. */
XSSH_EXTERN(void) xssh_publickey_unref(xssh_publickey *pk);
/** Shut the subsystem down now; later calls answer XSSH_ECLOSED. Idempotent. */
XSSH_EXTERN(int) xssh_publickey_close(xssh_publickey *pk);
/**
 * Add a key.
 * @param name algorithm name ("ssh-ed25519", ...); @p blob its key blob
 * @param overwrite nonzero to replace an existing key
 * @param attrs optional attributes (may be NULL when @p num_attrs is 0)
 */
XSSH_EXTERN(int) xssh_publickey_add(xssh_publickey *pk, const char *name, const void *blob, size_t blob_len,
                                    int overwrite, const xssh_publickey_attr *attrs, size_t num_attrs);
/** Remove a key. */
XSSH_EXTERN(int) xssh_publickey_remove(xssh_publickey *pk, const char *name, const void *blob, size_t blob_len);
/**
 * Fetch the server's list of keys.
 * @param[out] out array of @p count_out entries, allocated; free with xssh_publickey_list_free()
 */
XSSH_EXTERN(int) xssh_publickey_list(xssh_publickey *pk, xssh_publickey_entry **out, size_t *count_out);
/** Free a list returned by xssh_publickey_list(). NULL-safe. */
XSSH_EXTERN(void) xssh_publickey_list_free(xssh_publickey_entry *list, size_t count);

XSSH_END_DECL

/** @} */
#endif /* XSSH_PUBLICKEY_H */
