/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/knownhosts.h
 * @brief Known-hosts collections (OpenSSH known_hosts format).
 * @defgroup knownhosts Known hosts
 *
 * Entries returned by xssh_knownhosts_get() are copies; deleting one removes
 * the collection's matching entry.
 * @{
 */
#ifndef XSSH_KNOWNHOSTS_H
#define XSSH_KNOWNHOSTS_H

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** Type-mask bits (same values as LIBSSH2_KNOWNHOST_*). @{ */
#define XSSH_KNOWNHOST_TYPE_MASK 0xffff
#define XSSH_KNOWNHOST_TYPE_PLAIN 1
#define XSSH_KNOWNHOST_TYPE_SHA1 2
#define XSSH_KNOWNHOST_TYPE_CUSTOM 3
#define XSSH_KNOWNHOST_KEYENC_MASK (3 << 16)
#define XSSH_KNOWNHOST_KEYENC_RAW (1 << 16)
#define XSSH_KNOWNHOST_KEYENC_BASE64 (2 << 16)
#define XSSH_KNOWNHOST_KEY_MASK (15 << 18)
#define XSSH_KNOWNHOST_KEY_SHIFT 18
#define XSSH_KNOWNHOST_KEY_RSA1 (1 << 18)
#define XSSH_KNOWNHOST_KEY_SSHRSA (2 << 18)
#define XSSH_KNOWNHOST_KEY_SSHDSS (3 << 18)
#define XSSH_KNOWNHOST_KEY_ECDSA_256 (4 << 18)
#define XSSH_KNOWNHOST_KEY_ECDSA_384 (5 << 18)
#define XSSH_KNOWNHOST_KEY_ECDSA_521 (6 << 18)
#define XSSH_KNOWNHOST_KEY_ED25519 (7 << 18)
#define XSSH_KNOWNHOST_KEY_UNKNOWN (15 << 18)
/** @} */
/** The only file format: OpenSSH's. */
#define XSSH_KNOWNHOST_FILE_OPENSSH 1

/** Result of a check (same values as LIBSSH2_KNOWNHOST_CHECK_*). @{ */
#define XSSH_KNOWNHOST_CHECK_MATCH 0
#define XSSH_KNOWNHOST_CHECK_MISMATCH 1
#define XSSH_KNOWNHOST_CHECK_NOTFOUND 2
#define XSSH_KNOWNHOST_CHECK_FAILURE 3
/** @} */

/**
 * Create an empty collection bound to @p session (holds a reference on it).
 * libssh2: libssh2_knownhost_init().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out new reference; release with xssh_knownhosts_unref()
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_knownhosts_new(xssh_knownhosts **out, xssh_session *session);
/**
 * Take one more reference; returns @p kh. NULL-safe.
 * @param kh the collection; NULL is allowed
 * @return kh itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_knownhosts *) xssh_knownhosts_ref(xssh_knownhosts *kh);
/**
 * Drop a reference. NULL-safe.
 * libssh2: libssh2_knownhost_free().
 * @param kh the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_knownhosts_unref(xssh_knownhosts *kh);
/**
 * Read a known_hosts file into the collection.
 * libssh2: libssh2_knownhost_readline() (the file is read by xssh, line by line).
 * @param kh the known-hosts collection (borrowed)
 * @param path the known_hosts file (NUL-terminated)
 * @param file_type XSSH_KNOWNHOST_FILE_OPENSSH
 * @param[out] count_out entries read (may be NULL)
 * Lines libssh2 cannot parse are skipped, and so are hashed lines ("|1|salt|hash")
 * whose salt or hash is not the base64 of 20 bytes (OpenSSH never matches them).
 * @return XSSH_OK or XSSH_EKNOWNHOST_READFILE
 */
XSSH_EXTERN(int) xssh_knownhosts_readfile(xssh_knownhosts *kh, const char *path, int file_type, size_t *count_out);
/**
 * Parse one known_hosts line into the collection. @return XSSH_OK or XSSH_EKNOWNHOST_READLINE
 * (also for a hashed host field "|1|salt|hash" whose salt or hash is not the base64 of
 * 20 bytes, as OpenSSH writes them: libssh2 1.10 would keep such an entry and over-read
 * its heap when writing it back).
 * libssh2: libssh2_knownhost_readline().
 * @param kh the known-hosts collection (borrowed)
 * @param line one known_hosts line (len bytes)
 * @param len its length in bytes
 * @param file_type XSSH_KNOWNHOST_FILE_OPENSSH
 */
XSSH_EXTERN(int) xssh_knownhosts_readline(xssh_knownhosts *kh, const char *line, size_t len, int file_type);
/**
 * Write every entry to @p path (replacing it). @return XSSH_OK or XSSH_EKNOWNHOST_WRITEFILE
 * libssh2: libssh2_knownhost_writefile().
 * @param kh the known-hosts collection (borrowed)
 * @param path the file to write (NUL-terminated)
 * @param file_type XSSH_KNOWNHOST_FILE_OPENSSH
 */
XSSH_EXTERN(int) xssh_knownhosts_writefile(xssh_knownhosts *kh, const char *path, int file_type);
/**
 * Format one entry as a known_hosts line (with trailing newline).
 * libssh2: libssh2_knownhost_writeline().
 * @param kh the known-hosts collection (borrowed)
 * @param entry the entry to format
 * @param file_type XSSH_KNOWNHOST_FILE_OPENSSH
 * @param[out] out allocated; free with xssh_free()
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_knownhosts_writeline(xssh_knownhosts *kh, xssh_knownhost *entry, int file_type, char **out);
/**
 * Add a host and key.
 * libssh2: libssh2_knownhost_addc().
 * @param kh the known-hosts collection (borrowed)
 * @param host host name, or "[host]:port"; with XSSH_KNOWNHOST_TYPE_SHA1 the base64 hash
 *             (HMAC-SHA1 of the name keyed with the salt: 20 bytes, 28 base64 characters)
 * @param salt base64 salt (20 bytes) for TYPE_SHA1, else NULL; another length is XSSH_EARG
 * @param key key data (raw blob with KEYENC_RAW, base64 text with KEYENC_BASE64)
 * @param key_len length of key in bytes (0 for a NUL-terminated Base64 key)
 * @param comment optional comment (NULL for none)
 * @param typemask XSSH_KNOWNHOST_TYPE_* | XSSH_KNOWNHOST_KEYENC_* | XSSH_KNOWNHOST_KEY_* bits
 * @param[out] out the added entry, new reference (may be NULL)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O)
 */
XSSH_EXTERN(int) xssh_knownhosts_addc(xssh_knownhosts *kh, const char *host, const char *salt, const void *key,
                                      size_t key_len, const char *comment, int typemask, xssh_knownhost **out);
/**
 * Check a host:port and key against the collection.
 * libssh2: libssh2_knownhost_checkp().
 * @param kh the known-hosts collection (borrowed)
 * @param host plain host name (hashed entries are found by it)
 * @param port OpenSSH's rule: 22 or -1: plain "host" entries only; another port: "[host]:port"
 * entries, and when none applies, a plain "host" entry counts only if it holds this key
 *             (a plain entry with another key is NOT a mismatch for another port)
 * @param key the key to check (raw blob, or Base64 as typemask says)
 * @param key_len length of key in bytes
 * @param typemask XSSH_KNOWNHOST_TYPE_PLAIN (or _CUSTOM) | KEYENC_* | KEY_* (not TYPE_SHA1)
 * @param[out] result_out XSSH_KNOWNHOST_CHECK_* (may be NULL)
 * @param[out] entry_out the matching (or mismatching) entry, new reference (may be NULL)
 * @return XSSH_OK on a match, XSSH_EHOSTKEY_CHANGED, XSSH_EHOSTKEY_UNKNOWN or
 *        XSSH_EKNOWNHOST_CHECK
 */
XSSH_EXTERN(int) xssh_knownhosts_checkp(xssh_knownhosts *kh, const char *host, int port, const void *key,
                                        size_t key_len, int typemask, int *result_out, xssh_knownhost **entry_out);
/**
 * Number of entries in the collection.
 * @param kh the known-hosts collection (borrowed)
 * @param[out] out number of entries in the collection.
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_knownhosts_count(xssh_knownhosts *kh, size_t *out);
/**
 * Entry @p index of the collection (in file order).
 * libssh2: libssh2_knownhost_get().
 * @param kh the known-hosts collection (borrowed)
 * @param index 0-based index (< xssh_knownhosts_count())
 * @param[out] out new reference (a copy); release with xssh_knownhost_unref()
 * @return XSSH_OK, XSSH_EITEROVER past the end, XSSH_EKNOWNHOST_GET
 */
XSSH_EXTERN(int) xssh_knownhosts_get(xssh_knownhosts *kh, size_t index, xssh_knownhost **out);
/**
 * Remove the collection's entry equal to @p entry. @return XSSH_OK or XSSH_EKNOWNHOST_DELETE
 * libssh2: libssh2_knownhost_del().
 * @param kh the known-hosts collection (borrowed)
 * @param entry the entry to remove (from this collection)
 */
XSSH_EXTERN(int) xssh_knownhosts_delete(xssh_knownhosts *kh, xssh_knownhost *entry);

/**
 * Order the host-key algorithms of the coming handshake the way OpenSSH's ssh
 * does (sshconnect2.c order_hostkeyalgs), so that the server shows a key of a
 * type known_hosts records for it: starting from OpenSSH's order as far as
 * libssh2 1.10 has it (ssh-ed25519, ecdsa-sha2-nistp256/384/521, then libssh2's
 * remaining ones), the algorithms whose key type a plain line for @p host /
 * @p port records come first, unless the first one is recorded (list kept).
 * Certificate algorithms are left out: libssh2 cannot check a host certificate. Call it before
 * xssh_session_connect() / xssh_session_handshake();
 * it replaces any earlier xssh_session_method_pref(XSSH_METHOD_HOSTKEY, ...).
 * libssh2_session_supported_algs + libssh2_session_method_pref(LIBSSH2_METHOD_HOSTKEY).
 * @param session the session (borrowed: the call takes no reference)
 * @param host host name as for xssh_session_verify_host()
 * @param port port (0 or 22: the plain host name is looked up, else "[host]:port")
 * @param path known_hosts path; NULL: ~/.ssh/known_hosts (a missing file records nothing)
 * @return XSSH_OK, XSSH_EARG, XSSH_EKNOWNHOST_READFILE (unreadable file), XSSH_ECLOSED,
 *        XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_session_prefer_known_hostkeys(xssh_session *session, const char *host, int port,
                                                    const char *path);

/**
 * Take one more reference; returns @p entry. NULL-safe.
 * @param entry the entry; NULL is allowed
 * @return entry itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_knownhost *) xssh_knownhost_ref(xssh_knownhost *entry);
/**
 * Drop a reference. NULL-safe.
 * @param entry the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_knownhost_unref(xssh_knownhost *entry);
/**
 * The entry's host name (plain, or NULL for a hashed name).
 * @param entry a known-hosts entry of the collection (borrowed)
 * @param[out] out borrowed host name ("" for hashed entries), valid while @p entry lives.
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_knownhost_name(xssh_knownhost *entry, const char **out);
/**
 * The entry's key, Base64-encoded (NUL-terminated).
 * @param entry a known-hosts entry of the collection (borrowed)
 * @param[out] out borrowed key as stored (base64 text for file entries), valid while @p entry
 *        lives.
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_knownhost_key(xssh_knownhost *entry, const char **out);
/**
 * The entry's type mask (XSSH_KNOWNHOST_TYPE_*, _KEYENC_*, _KEY_* bits).
 * @param entry a known-hosts entry of the collection (borrowed)
 * @param[out] out the entry's type mask (XSSH_KNOWNHOST_TYPE_* | KEYENC_* | KEY_*).
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_knownhost_typemask(xssh_knownhost *entry, int *out);
/**
 * libssh2's magic number of the entry (ssh2-python's KnownHostEntry.magic).
 * @param entry a known-hosts entry of the collection (borrowed)
 * @param[out] out libssh2's magic number of the entry.
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_knownhost_magic(xssh_knownhost *entry, unsigned int *out);

XSSH_END_DECL

/** @} */
#endif /* XSSH_KNOWNHOSTS_H */
