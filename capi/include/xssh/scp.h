/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/scp.h
 * @brief SCP: receive and send one file over an "scp -f" / "scp -t" channel,
 *        and whole-file get/put with progress, cancel and integrity checks.
 * @defgroup scp SCP
 *
 * The low-level calls (xssh_session_scp_recv2(), xssh_session_scp_send64() ...)
 * open a channel running the server's `scp` and return it as an
 * ::xssh_channel: read exactly info->size bytes from it (recv), or write
 * exactly @p size bytes to it then xssh_channel_send_eof() (send), as with
 * libssh2 (see xssh_session_scp_send64() for the end of a send). They follow the session's blocking mode (::XSSH_EAGAIN: call again
 * with the same arguments).
 *
 * The whole-file calls xssh_session_scp_get() / xssh_session_scp_put() always
 * block (the session timeout applies to each wait), check the byte count and
 * the server's acknowledgements, and never report success for a partial file.
 * @{
 */
#ifndef XSSH_SCP_H
#define XSSH_SCP_H

#include "common.h"
#include "types.h"
#include "sftp.h" /* xssh_transfer_opts, xssh_progress_cb */

XSSH_BEGIN_DECL

/**
 * What the server says about a file it sends (ssh2-python's FileInfo / StatInfo,
 * whose attributes are st_<field>). The fields have no st_ prefix because glibc
 * defines st_atime / st_mtime / st_ctime as macros. SCP only carries the size,
 * the permission bits and (with "scp -p", which xssh uses) the access and
 * modification times; the other fields are 0. @c mode has S_IFREG set.
 */
typedef struct xssh_scp_fileinfo {
    uint64_t size;         /**< bytes that follow on the channel */
    unsigned long mode;    /**< S_IFREG | permission bits */
    int64_t atime;         /**< access time, Unix seconds (0: not sent) */
    int64_t mtime;         /**< modification time, Unix seconds (0: not sent) */
    int64_t ctime;         /**< always 0 (not carried by SCP) */
    unsigned long uid;     /**< always 0 (not carried by SCP) */
    unsigned long gid;     /**< always 0 */
    uint64_t ino;          /**< always 0 */
    unsigned long nlink;   /**< always 0 */
    uint64_t rdev;         /**< always 0 */
    long blksize;          /**< always 0 */
    int64_t blocks;        /**< always 0 */
} xssh_scp_fileinfo;

/**
 * Start receiving @p path: *channel (+1 reference) carries info->size bytes of
 * file data. A missing or unreadable file fails with ::XSSH_ESCP_PROTOCOL and a
 * message naming the path and quoting the server.
 * libssh2: libssh2_scp_recv2().
 * @param session the session (borrowed: the call takes no reference)
 * @param path remote path (NUL-terminated)
 * @param[out] info may be NULL
 * @param[out] channel the channel carrying the file (+1 reference; read info->size bytes, then
 *        release it)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ESCP_PROTOCOL when the remote scp fails (e.g. no such file)
 */
XSSH_EXTERN(int) xssh_session_scp_recv2(xssh_session *session, const char *path, xssh_channel **channel,
                                        xssh_scp_fileinfo *info);
/**
 * The older form (libssh2_scp_recv, deprecated by libssh2; same results here).
 * @param session the session (borrowed: the call takes no reference)
 * @param path remote path (NUL-terminated)
 * @param info the file's size, mode and times
 * @param[out] channel the channel carrying the file (+1 reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ESCP_PROTOCOL
 */
XSSH_EXTERN(int) xssh_session_scp_recv(xssh_session *session, const char *path, xssh_channel **channel,
                                       xssh_scp_fileinfo *info);
/**
 * Start sending @p size bytes to @p path with permission bits @p mode; when
 * @p mtime or @p atime is nonzero the times are sent too ("scp -p").
 * Write exactly @p size bytes to *channel, then one 0 byte (SCP's "sent
 * fine" marker: without it the server's scp does not set the times and exits
 * with status 1), then xssh_channel_send_eof(). Without times the server
 * applies its umask to @p mode.
 * Sizes: @p mode is permission bits 0..0777 (file-type bits such as S_IFREG
 * are accepted and dropped); setuid/setgid/sticky bits fail with ::XSSH_EARG,
 * since libssh2 1.10 writes the SCP line as "C0%o" and the receiving scp
 * reads four octal digits. @p size must be <= 2^63-1 (libssh2_scp_send64()'s
 * int64), @p mtime and @p atime >= 0.
 * @param session the session (borrowed: the call takes no reference)
 * @param path remote path (NUL-terminated)
 * @param mode permission bits, e.g. 0644
 * @param size exact number of bytes that will be written
 * @param mtime modification time (seconds since the epoch; 0 with atime 0: none sent)
 * @param atime access time (seconds since the epoch)
 * @param[out] channel the channel to write size bytes to (+1 reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ESCP_PROTOCOL
 */
XSSH_EXTERN(int) xssh_session_scp_send64(xssh_session *session, const char *path, int mode, uint64_t size,
                                         int64_t mtime, int64_t atime, xssh_channel **channel);
/**
 * The older form: no times (libssh2_scp_send).
 * @param session the session (borrowed: the call takes no reference)
 * @param path remote path (NUL-terminated)
 * @param mode permission bits, e.g. 0644
 * @param size exact number of bytes that will be written
 * @param[out] channel the channel to write size bytes to (+1 reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ESCP_PROTOCOL
 */
XSSH_EXTERN(int) xssh_session_scp_send(xssh_session *session, const char *path, int mode, size_t size,
                                       xssh_channel **channel);

/**
 * Download @p remote into the local file @p local. The local file gets the
 * remote permission bits (opts->mode overrides them) and times. Options: the
 * progress callback (total = the announced size), opts->atomic (temporary file
 * beside @p local, renamed into place only after every byte and the server's
 * final acknowledgement arrived). opts->chunk_size is the read size (0: 256 KiB).
 * libssh2: libssh2_scp_recv2(), libssh2_channel_read_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param remote remote path (NUL-terminated)
 * @param local local file path (created or truncated)
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 * @param[out] transferred bytes received (may be NULL; set on failure too)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ESCP_PROTOCOL; XSSH_ECANCELLED when the progress callback
 *        cancels; XSSH_EFILE for a local file error
 */
XSSH_EXTERN(int) xssh_session_scp_get(xssh_session *session, const char *remote, const char *local,
                                      const xssh_transfer_opts *opts, uint64_t *transferred);
/**
 * Upload the local file @p local to @p remote, with the local permission bits
 * 0777 (setuid/setgid/sticky bits cannot be carried and are dropped; an
 * opts->mode outside 0..0777 fails with ::XSSH_EARG) and modification/access times. Success means
 * the
 * server acknowledged every byte and its scp exited cleanly. Without
 * opts->atomic the remote file is written in place (a failed put leaves a
 * partial file; *transferred says how much was sent); with opts->atomic the
 * data goes to "<remote>.xssh-XXXXXXXX.part" which is then moved onto
 * @p remote by a remote `mv -f` (needs a POSIX shell on the server) and
 * removed on failure.
 * libssh2: libssh2_scp_send64(), libssh2_channel_write_ex().
 * @param session the session (borrowed: the call takes no reference)
 * @param local local file path
 * @param remote remote path (NUL-terminated)
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 * @param[out] transferred bytes sent (may be NULL; set on failure too)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_ESCP_PROTOCOL; XSSH_ECANCELLED when the progress callback
 *        cancels; XSSH_EFILE for a local file error
 */
XSSH_EXTERN(int) xssh_session_scp_put(xssh_session *session, const char *local, const char *remote,
                                      const xssh_transfer_opts *opts, uint64_t *transferred);

XSSH_END_DECL

/** @} */
#endif /* XSSH_SCP_H */
