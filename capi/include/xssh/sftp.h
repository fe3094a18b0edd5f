/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/sftp.h
 * @brief SFTP: the subsystem, remote files and directories, whole-file transfers.
 * @defgroup sftp SFTP
 *
 * An ::xssh_sftp is a child of its session (it holds a reference on it); an
 * ::xssh_sftp_file (file or directory handle) holds a reference on its
 * ::xssh_sftp. Handles may be released in any order; releasing never does
 * network I/O (the remote close is sent at the session's next operation).
 *
 * Failures the server reports carry the SFTP status: the error code is
 * `-2000 - status` (::XSSH_ESFTP_NO_SUCH_FILE, ::XSSH_ESFTP_PERMISSION_DENIED,
 * ...), xssh_error_last()->sftp_status holds the status, and the message names
 * the remote path.
 *
 * In non-blocking mode (xssh_session_set_blocking(s, 0)) every call may return
 * ::XSSH_EAGAIN; call it again with the same arguments when the socket is
 * ready. The whole-file transfers (xssh_sftp_get() ...) always run to the end
 * (they block, honouring the session timeout).
 * @{
 */
#ifndef XSSH_SFTP_H
#define XSSH_SFTP_H

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** An SFTP subsystem channel of a session. */
typedef struct xssh_sftp xssh_sftp;
/** An open remote file or directory of an ::xssh_sftp. */
typedef struct xssh_sftp_file xssh_sftp_file;

/** Open flags (same values as LIBSSH2_FXF_*). @{ */
#define XSSH_FXF_READ 0x00000001
#define XSSH_FXF_WRITE 0x00000002
#define XSSH_FXF_APPEND 0x00000004
#define XSSH_FXF_CREAT 0x00000008
#define XSSH_FXF_TRUNC 0x00000010
#define XSSH_FXF_EXCL 0x00000020
/** @} */

/** open_ex types (LIBSSH2_SFTP_OPENFILE / _OPENDIR). @{ */
#define XSSH_SFTP_OPENFILE 0
#define XSSH_SFTP_OPENDIR 1
/** @} */

/** rename_ex flags (LIBSSH2_SFTP_RENAME_*; SFTP v5+, ignored by v3 servers such as OpenSSH). @{ */
#define XSSH_SFTP_RENAME_OVERWRITE 0x00000001
#define XSSH_SFTP_RENAME_ATOMIC 0x00000002
#define XSSH_SFTP_RENAME_NATIVE 0x00000004
/** @} */

/** xssh_sftp_attrs::flags bits (LIBSSH2_SFTP_ATTR_*): which fields are valid / to set. @{ */
#define XSSH_SFTP_ATTR_SIZE 0x00000001
#define XSSH_SFTP_ATTR_UIDGID 0x00000002
#define XSSH_SFTP_ATTR_PERMISSIONS 0x00000004
#define XSSH_SFTP_ATTR_ACMODTIME 0x00000008
/** @} */

/** xssh_sftp_vfs::f_flag bits. @{ */
#define XSSH_SFTP_ST_RDONLY 0x00000001
#define XSSH_SFTP_ST_NOSUID 0x00000002
/** @} */

/** File types and permission bits (LIBSSH2_SFTP_S_*, POSIX values). @{ */
#define XSSH_SFTP_S_IFMT 0170000
#define XSSH_SFTP_S_IFIFO 0010000
#define XSSH_SFTP_S_IFCHR 0020000
#define XSSH_SFTP_S_IFDIR 0040000
#define XSSH_SFTP_S_IFBLK 0060000
#define XSSH_SFTP_S_IFREG 0100000
#define XSSH_SFTP_S_IFLNK 0120000
#define XSSH_SFTP_S_IFSOCK 0140000
#define XSSH_SFTP_S_IRWXU 0000700
#define XSSH_SFTP_S_IRUSR 0000400
#define XSSH_SFTP_S_IWUSR 0000200
#define XSSH_SFTP_S_IXUSR 0000100
#define XSSH_SFTP_S_IRWXG 0000070
#define XSSH_SFTP_S_IRGRP 0000040
#define XSSH_SFTP_S_IWGRP 0000020
#define XSSH_SFTP_S_IXGRP 0000010
#define XSSH_SFTP_S_IRWXO 0000007
#define XSSH_SFTP_S_IROTH 0000004
#define XSSH_SFTP_S_IWOTH 0000002
#define XSSH_SFTP_S_IXOTH 0000001
/** @} */

/** SFTP status codes (LIBSSH2_FX_*), as returned by xssh_sftp_last_error(). @{ */
#define XSSH_FX_OK 0
#define XSSH_FX_EOF 1
#define XSSH_FX_NO_SUCH_FILE 2
#define XSSH_FX_PERMISSION_DENIED 3
#define XSSH_FX_FAILURE 4
#define XSSH_FX_BAD_MESSAGE 5
#define XSSH_FX_NO_CONNECTION 6
#define XSSH_FX_CONNECTION_LOST 7
#define XSSH_FX_OP_UNSUPPORTED 8
#define XSSH_FX_INVALID_HANDLE 9
#define XSSH_FX_NO_SUCH_PATH 10
#define XSSH_FX_FILE_ALREADY_EXISTS 11
#define XSSH_FX_WRITE_PROTECT 12
#define XSSH_FX_NO_MEDIA 13
#define XSSH_FX_NO_SPACE_ON_FILESYSTEM 14
#define XSSH_FX_QUOTA_EXCEEDED 15
#define XSSH_FX_UNKNOWN_PRINCIPAL 16
#define XSSH_FX_LOCK_CONFLICT 17
#define XSSH_FX_DIR_NOT_EMPTY 18
#define XSSH_FX_NOT_A_DIRECTORY 19
#define XSSH_FX_INVALID_FILENAME 20
#define XSSH_FX_LINK_LOOP 21
/** @} */

/** File attributes (plain data; ssh2-python's SFTPAttributes). Only the fields
    whose XSSH_SFTP_ATTR_* bit is in @c flags are meaningful / sent by setstat. */
typedef struct xssh_sftp_attrs {
    unsigned long flags;       /**< XSSH_SFTP_ATTR_* bits */
    uint64_t filesize;         /**< bytes (XSSH_SFTP_ATTR_SIZE) */
    unsigned long uid;         /**< owner (XSSH_SFTP_ATTR_UIDGID) */
    unsigned long gid;         /**< group (XSSH_SFTP_ATTR_UIDGID) */
    unsigned long permissions; /**< type and mode bits, XSSH_SFTP_S_* (XSSH_SFTP_ATTR_PERMISSIONS) */
    unsigned long atime;       /**< access time, Unix seconds (XSSH_SFTP_ATTR_ACMODTIME) */
    unsigned long mtime;       /**< modification time, Unix seconds (XSSH_SFTP_ATTR_ACMODTIME) */
} xssh_sftp_attrs;

/** File-system statistics (statvfs@openssh.com; ssh2-python's SFTPStatVFS). */
typedef struct xssh_sftp_vfs {
    uint64_t f_bsize;   /**< file system block size */
    uint64_t f_frsize;  /**< fragment size */
    uint64_t f_blocks;  /**< size of the fs in f_frsize units */
    uint64_t f_bfree;   /**< free blocks */
    uint64_t f_bavail;  /**< free blocks for non-root */
    uint64_t f_files;   /**< inodes */
    uint64_t f_ffree;   /**< free inodes */
    uint64_t f_favail;  /**< free inodes for non-root */
    uint64_t f_fsid;    /**< file system id */
    uint64_t f_flag;    /**< XSSH_SFTP_ST_* bits */
    uint64_t f_namemax; /**< maximum file name length */
} xssh_sftp_vfs;

/* ---- the subsystem ------------------------------------------------------- */

/**
 * Start the SFTP subsystem on an authenticated session.
 * libssh2: libssh2_sftp_init().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out new reference; release with xssh_sftp_unref()
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_sftp_new(xssh_sftp **out, xssh_session *session);
/**
 * Take one more reference; returns @p sftp. NULL-safe.
 * @param sftp the subsystem; NULL is allowed
 * @return sftp itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_sftp *) xssh_sftp_ref(xssh_sftp *sftp);
/**
 * Drop a reference (no network I/O). NULL-safe.
 * @param sftp the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_sftp_unref(xssh_sftp *sftp);
/**
 * Shut the subsystem down: its open files are closed too. Later calls on the
 * sftp and its files answer ::XSSH_ECLOSED. Closing twice is not an error.
 * libssh2: libssh2_sftp_close_handle() for each open file, libssh2_sftp_shutdown().
 * @param sftp the SFTP subsystem (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last())
 */
XSSH_EXTERN(int) xssh_sftp_close(xssh_sftp *sftp);
/**
 * The session (a new reference, release with xssh_session_unref()).
 * @param sftp the SFTP subsystem (borrowed)
 * @param[out] out the session (+1 reference)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_sftp_session(xssh_sftp *sftp, xssh_session **out);
/**
 * The SFTP status (XSSH_FX_*) of the last SFTP failure of this subsystem.
 * libssh2: libssh2_sftp_last_error().
 * @param sftp the SFTP subsystem (borrowed)
 * @param[out] out the SFTP status (XSSH_FX_*; 0 when none)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_sftp_last_error(xssh_sftp *sftp, unsigned long *out);

/**
 * Open a file (SSH_FXP_OPEN; libssh2_sftp_open_ex()). @p flags: XSSH_FXF_*;
 * @p mode: permission bits for a created file.
 *
 * ::XSSH_FXF_APPEND: the handle starts at the end of the file, so writes
 * append on every server. (SFTP v3 sends an offset with each write; libssh2
 * 1.10 would start at 0, which OpenSSH's server ignores for APPEND handles but
 * servers that honour the offset apply, overwriting the start of the file.)
 * xssh reads the size with an fstat right after the open (one more round
 * trip, made blocking even in non-blocking mode) and seeks there, as OpenSSH's
 * sftp client does for `put -a`. A READ handle opened with APPEND reads from
 * the end too; seek to read earlier data. Race: on a server that honours the
 * offset, data another client appends between that fstat and our writes is
 * overwritten; OpenSSH's server appends atomically (O_APPEND). A server whose
 * fstat gives no size fails the open with ::XSSH_ESFTP_PROTOCOL.
 *
 * Paths: one SFTP request carries at most 30000 bytes of path (libssh2 1.10
 * sends a request in one channel write of at most 32700 bytes); a longer path
 * fails with ::XSSH_EARG here and in every path operation below (rename and
 * symlink: both paths together).
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @param flags XSSH_FXF_* bits (READ, WRITE, APPEND, CREAT, TRUNC, EXCL)
 * @param mode permission bits for a created file, e.g. 0644
 * @param[out] out the open file (+1 reference; release with xssh_sftp_file_unref())
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_open(xssh_sftp_file **out, xssh_sftp *sftp, const char *path, unsigned long flags,
                                long mode);
/**
 * Open with an explicit path length and XSSH_SFTP_OPENFILE / XSSH_SFTP_OPENDIR.
 * libssh2: libssh2_sftp_open_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (path_len bytes)
 * @param path_len its length in bytes
 * @param flags XSSH_FXF_* bits
 * @param mode permission bits for a created file
 * @param open_type XSSH_SFTP_OPENFILE or XSSH_SFTP_OPENDIR
 * @param[out] out the open file or directory (+1 reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_open_ex(xssh_sftp_file **out, xssh_sftp *sftp, const char *path, size_t path_len,
                                   unsigned long flags, long mode, int open_type);
/**
 * Open a directory for xssh_sftp_file_readdir().
 * libssh2: libssh2_sftp_open_ex() (LIBSSH2_SFTP_OPENDIR). When the server refuses
 * with a failure status (OpenSSH's answers SSH_FX_NO_SUCH_FILE for a regular file)
 * and, in blocking mode, an SSH_FXP_STAT shows a regular file, the message says
 * "not a directory"; the code and status stay the server's.
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote directory (NUL-terminated)
 * @param[out] out the open directory (+1 reference)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_opendir(xssh_sftp_file **out, xssh_sftp *sftp, const char *path);

/**
 * Attributes of @p path, following symbolic links.
 * libssh2: libssh2_sftp_stat_ex() (LIBSSH2_SFTP_STAT).
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @param[out] out the attributes (caller-owned struct)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_stat(xssh_sftp *sftp, const char *path, xssh_sftp_attrs *out);
/**
 * Attributes of @p path itself (a symbolic link is not followed).
 * libssh2: libssh2_sftp_stat_ex() (LIBSSH2_SFTP_LSTAT).
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @param[out] out the attributes (caller-owned struct)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_lstat(xssh_sftp *sftp, const char *path, xssh_sftp_attrs *out);
/**
 * Set the attributes whose bits are in attrs->flags.
 * libssh2: libssh2_sftp_stat_ex() (LIBSSH2_SFTP_SETSTAT).
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @param attrs the attributes to set (the fields whose bit is in attrs->flags)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_setstat(xssh_sftp *sftp, const char *path, const xssh_sftp_attrs *attrs);
/**
 * File-system statistics of the file system holding @p path.
 * libssh2: libssh2_sftp_statvfs().
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @param[out] out the statistics (caller-owned struct)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_statvfs(xssh_sftp *sftp, const char *path, xssh_sftp_vfs *out);
/**
 * Create a directory with permission bits @p mode.
 * libssh2: libssh2_sftp_mkdir_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @param mode permission bits, e.g. 0755
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_mkdir(xssh_sftp *sftp, const char *path, long mode);
/**
 * Remove an empty directory.
 * libssh2: libssh2_sftp_rmdir_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_rmdir(xssh_sftp *sftp, const char *path);
/**
 * Remove a file.
 * libssh2: libssh2_sftp_unlink_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_unlink(xssh_sftp *sftp, const char *path);
/**
 * Rename (libssh2's default flags: overwrite | atomic | native; an SFTP v3
 *     server such as OpenSSH refuses to replace an existing file).
 * @param sftp the SFTP subsystem (borrowed)
 * @param src existing remote path
 * @param dst new remote path
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_rename(xssh_sftp *sftp, const char *src, const char *dst);
/**
 * Rename with XSSH_SFTP_RENAME_* flags.
 * libssh2: libssh2_sftp_rename_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param src existing remote path
 * @param dst new remote path
 * @param flags XSSH_SFTP_RENAME_* bits
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_rename_ex(xssh_sftp *sftp, const char *src, const char *dst, long flags);
/**
 * Create a symbolic link at @p linkpath whose content is @p target (the
 * argument order of POSIX symlink(target, linkpath)), as OpenSSH's server
 * reads libssh2_sftp_symlink(sftp, target, linkpath).
 * @param sftp the SFTP subsystem (borrowed)
 * @param target what the link points to
 * @param linkpath the link to create
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_symlink(xssh_sftp *sftp, const char *target, const char *linkpath);
/**
 * The content of a symbolic link (any length an SFTP answer can carry). @param[out] out free with
 * xssh_free()
 * libssh2: libssh2_sftp_symlink_ex() (LIBSSH2_SFTP_READLINK).
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path of the link (NUL-terminated)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_readlink(xssh_sftp *sftp, const char *path, char **out);
/**
 * The canonical absolute form of @p path. @param[out] out free with xssh_free()
 * libssh2: libssh2_sftp_symlink_ex() (LIBSSH2_SFTP_REALPATH).
 * @param sftp the SFTP subsystem (borrowed)
 * @param path remote path (NUL-terminated; "." gives the working directory)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_realpath(xssh_sftp *sftp, const char *path, char **out);

/* ---- files and directories ------------------------------------------------ */

/**
 * Take one more reference; returns @p file. NULL-safe.
 * @param file the handle; NULL is allowed
 * @return file itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_sftp_file *) xssh_sftp_file_ref(xssh_sftp_file *file);
/**
 * Drop a reference; an unclosed handle is closed later (no network I/O here). NULL-safe.
 * @param file the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_sftp_file_unref(xssh_sftp_file *file);
/**
 * Close the remote handle (blocking: waits for the server's answer). Closing twice is not an
 * error.
 * libssh2: libssh2_sftp_close_handle().
 * @param file the open remote file or directory handle (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_close(xssh_sftp_file *file);
/**
 * The path the handle was opened with (borrowed, lives as long as @p file).
 * @param file the open remote file or directory handle (borrowed)
 * @param[out] out the path (borrowed, NUL-terminated)
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_sftp_file_path(xssh_sftp_file *file, const char **out);
/**
 * Read up to @p cap bytes at the current offset. *nread is 0 at end of file.
 * Large buffers keep several requests in flight (read-ahead).
 * Sizes: one call fills at most ::XSSH_IO_MAX bytes (a larger @p cap is
 * clamped: libssh2 1.10 cuts the buffer size to 32 bits when it sizes its READ
 * requests); @p cap == 0 returns XSSH_OK, *nread == 0 at once.
 * @param file the open remote file or directory handle (borrowed)
 * @param buf where the bytes go (caller-owned)
 * @param cap size of buf in bytes (more than XSSH_IO_MAX reads at most XSSH_IO_MAX)
 * @param[out] nread bytes read (0 at end of file)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_read(xssh_sftp_file *file, void *buf, size_t cap, size_t *nread);
/**
 * Write @p len bytes at the current offset. Blocking: everything is written or
 * an error is returned. Non-blocking: may return ::XSSH_EAGAIN with
 * *written < len; call again with buf + *written, len - *written.
 * *written (may be NULL) is always set, also on failure.
 * Any @p len: libssh2 is handed 4.2 MB at a time, cut into 30000-byte WRITEs.
 * A write after a read on the same handle first drops the read-ahead (libssh2
 * 1.10 would count those requests as written data): it lands at the read position.
 * @param file the open remote file or directory handle (borrowed)
 * @param buf the bytes to write
 * @param len number of bytes
 * @param[out] written bytes written, also with XSSH_EAGAIN
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_write(xssh_sftp_file *file, const void *buf, size_t len, size_t *written);
/**
 * Move the offset (local: no I/O; pending read-ahead is dropped).
 * libssh2: libssh2_sftp_seek64().
 * @param file the open remote file or directory handle (borrowed)
 * @param offset the new offset in bytes from the start
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_sftp_file_seek64(xssh_sftp_file *file, uint64_t offset);
/**
 * The current offset.
 * libssh2: libssh2_sftp_tell64().
 * @param file the open remote file or directory handle (borrowed)
 * @param[out] out the offset in bytes from the start
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_sftp_file_tell64(xssh_sftp_file *file, uint64_t *out);
/**
 * Back to offset 0.
 * libssh2: libssh2_sftp_seek64().
 * @param file the open remote file or directory handle (borrowed)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_sftp_file_rewind(xssh_sftp_file *file);
/**
 * Attributes through the handle.
 * libssh2: libssh2_sftp_fstat_ex().
 * @param file the open remote file or directory handle (borrowed)
 * @param[out] out the attributes (caller-owned struct)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_fstat(xssh_sftp_file *file, xssh_sftp_attrs *out);
/**
 * Set attributes through the handle.
 * libssh2: libssh2_sftp_fstat_ex() (setstat).
 * @param file the open remote file or directory handle (borrowed)
 * @param attrs the attributes to set (the fields whose bit is in attrs->flags)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_fsetstat(xssh_sftp_file *file, const xssh_sftp_attrs *attrs);
/**
 * File-system statistics through the handle (fstatvfs@openssh.com).
 * libssh2: libssh2_sftp_fstatvfs().
 * @param file the open remote file or directory handle (borrowed)
 * @param[out] out the statistics (caller-owned struct)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_fstatvfs(xssh_sftp_file *file, xssh_sftp_vfs *out);
/**
 * Flush the file to stable storage on the server (fsync@openssh.com).
 * libssh2: libssh2_sftp_fsync().
 * @param file the open remote file or directory handle (borrowed)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_fsync(xssh_sftp_file *file);
/**
 * Next directory entry of a handle from xssh_sftp_opendir(). Returns
 * ::XSSH_EITEROVER (not a failure) after the last entry.
 * libssh2: libssh2_sftp_readdir_ex().
 * @param file the open remote file or directory handle (borrowed)
 * @param[out] name entry name, free with xssh_free()
 * @param[out] longentry `ls -l` style line (may be NULL: not wanted), free with xssh_free()
 * @param[out] attrs the entry's attributes (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself
 */
XSSH_EXTERN(int) xssh_sftp_file_readdir(xssh_sftp_file *file, char **name, char **longentry, xssh_sftp_attrs *attrs);

/* ---- whole-file transfers ---------------------------------------------------- */

/** Total size when it is not known in advance. */
#define XSSH_SIZE_UNKNOWN UINT64_MAX

/** The temporary name of a resumable atomic transfer (xssh_transfer_opts::resume
    with xssh_transfer_opts::atomic): the destination path with this suffix, e.g. "big.iso.xssh-part"
    beside "big.iso" (remote for a put, local for a get). The partial data waits
    there between attempts; the successful attempt renames it into place. */
#define XSSH_SFTP_RESUME_SUFFIX ".xssh-part"

/**
 * Progress of a transfer: @p done bytes of @p total (::XSSH_SIZE_UNKNOWN if not
 * known). Called without any lock held, at the start, about every chunk and at
 * the end. Return nonzero to cancel (the transfer then fails with ::XSSH_ECANCELLED).
 */
typedef int (*xssh_progress_cb)(uint64_t done, uint64_t total, void *userdata);

/** Options of the whole-file transfers; NULL or all-zero means the defaults. */
typedef struct xssh_transfer_opts {
    xssh_progress_cb progress; /**< may be NULL */
    void *userdata;            /**< passed to progress */
    /** Nonzero: write to a temporary name beside the destination and rename it
        into place only when everything arrived; a failed or cancelled transfer
        leaves no file at the destination (an existing one is kept). */
    int atomic;
    /** The first window (bytes requested before any answer); 0: what 64 MiB/s fills in
        the round trip measured on the channel's SFTP INIT (at least four requests). The
        window then doubles every round trip while throughput grows by 1/8 or more, up to
        max_in_flight. */
    size_t chunk_size;
    /** Permission bits of a created file; 0: 0644. */
    long mode;
    /** Nonzero: continue from what the destination already holds (as sftp's
        reget/reput). The destination is the final path, or with atomic the stable
        temporary name path + ::XSSH_SFTP_RESUME_SUFFIX, which a failed attempt then
        keeps (a failed non-resumable atomic transfer removes its random temporary
        file); a get the server refuses before any byte arrived (an SFTP status: a
        missing remote file, a remote directory) removes the local file or temporary
        it created, and leaves one that existed as it was; a get cut by the network
        keeps what it created, however short, for the next attempt. The overlap is verified by size and by reading back its last MiB
        (put: plus max_in_flight, or 32 MiB, since several channels cut midway leave
        holes below the end) and comparing it with the local bytes: the transfer
        goes on from the first difference (or the destination's size). A destination
        longer than the source is no prefix of it: the whole file is transferred (and
        the destination cut to the source's size). Only the size and that last MiB
        are checked: a change inside the earlier part of the destination is not
        detected (as sftp's reget/reput). No hash extension is used: OpenSSH's
        sftp-server offers none (it advertises posix-rename, statvfs, fstatvfs,
        hardlink, fsync, lsetstat, limits, expand-path, copy-data, home-directory,
        users-groups-by-id). Needs a local
        file (xssh_sftp_get; xssh_sftp_put/_put_buffer, or _put_fd on a regular
        file): xssh_sftp_get_buffer / _get_fd answer ::XSSH_EARG. *transferred then
        counts the bytes this call moved. */
    int resume;
    /** Most bytes requested and not yet answered (0: automatic: grows from the
        measured round trip while throughput grows, up to 32 MiB; clamped to
        64 KiB .. 512 MiB). get keeps at most this much data in memory. */
    size_t max_in_flight;
    /** put: SFTP channels (each its own "sftp" subsystem, file handle and server
        window: OpenSSH gives a channel 2 MiB, which caps one channel at 2 MiB per
        round trip) carrying parts of one file at once: 0 automatic (one per 2 MiB
        that 200 MiB/s fills in the measured round trip, at most 8, at most one per
        8 MiB of file; 1 below 3 ms), 1 one, up to 16. Given explicitly with a
        known size, every channel carries part of the file (at most 1.5 shares
        each). A channel the server refuses (OpenSSH: MaxSessions, default 10 per
        connection) is left out; the others carry its share. */
    int channels;
} xssh_transfer_opts;

/**
 * Download @p remote into the local file @p local (created or truncated; an existing
 * file is emptied only once the remote file is open, so a missing or unreadable remote
 * file leaves it as it was and creates none). A @p local that is a directory (or ends
 * with '/') is refused with XSSH_EFILE naming it before anything is transferred.
 *
 * The whole-file transfers (this and the five below) run xssh's own SFTP v3
 * client (draft-ietf-secsh-filexfer-02) on "sftp" subsystem channels of their
 * own (libssh2_channel_open_ex() with a receive window above max_in_flight,
 * libssh2_channel_process_startup(), libssh2_channel_read()/_write()), not
 * libssh2's SFTP layer, which cuts requests at 30000 bytes and keeps at most
 * 8 MiB of reads in flight: requests are as large as the server's
 * limits@openssh.com allows (OpenSSH: 255 KiB; 32 KiB without it), the window
 * is sized as chunk_size / max_in_flight say, and an atomic put is renamed
 * with posix-rename@openssh.com when offered. Each transfer costs two more
 * round trips than a call on @p sftp (the channel open and the subsystem
 * request); the per-call API on @p sftp is unchanged. Progress, DEBUG log
 * records (round trip, request size, window, channels) through xssh_log_set().
 * @param sftp the SFTP subsystem (borrowed)
 * @param remote remote path (NUL-terminated)
 * @param local local file path
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 *     @param[out] transferred bytes received (may be NULL; set on failure too)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself;
 *        XSSH_ECANCELLED when the progress callback cancels; XSSH_EFILE for a local file error
 */
XSSH_EXTERN(int) xssh_sftp_get(xssh_sftp *sftp, const char *remote, const char *local,
                               const xssh_transfer_opts *opts, uint64_t *transferred);
/**
 * Upload the local file @p local to @p remote (created or truncated). A @p remote
 * ending with '/' names a directory: XSSH_EARG before anything is written (a put
 * needs a file name); onto an existing directory: XSSH_ESFTP_FAILURE saying so.
 * Engine and libssh2 calls: see xssh_sftp_get().
 * @param sftp the SFTP subsystem (borrowed)
 * @param local local file path
 * @param remote remote path (NUL-terminated)
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 *     @param[out] transferred bytes the server acknowledged (may be NULL; set on failure too:
 *     without opts->atomic that many bytes are in the remote file)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself;
 *        XSSH_ECANCELLED when the progress callback cancels; XSSH_EFILE for a local file error
 */
XSSH_EXTERN(int) xssh_sftp_put(xssh_sftp *sftp, const char *local, const char *remote,
                               const xssh_transfer_opts *opts, uint64_t *transferred);
/**
 * Download @p remote into a new buffer (*out, *out_len; free with xssh_free()).
 * Engine and libssh2 calls: see xssh_sftp_get().
 * @param sftp the SFTP subsystem (borrowed)
 * @param remote remote path (NUL-terminated)
 * @param out_len their length in bytes
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 * @param[out] out the file's bytes, allocated; free with xssh_free()
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself;
 *        XSSH_ECANCELLED when the progress callback cancels
 */
XSSH_EXTERN(int) xssh_sftp_get_buffer(xssh_sftp *sftp, const char *remote, char **out, size_t *out_len,
                                      const xssh_transfer_opts *opts);
/**
 * Upload @p len bytes of @p data to @p remote.
 * Engine and libssh2 calls: see xssh_sftp_get().
 * @param sftp the SFTP subsystem (borrowed)
 * @param data the bytes to upload
 * @param len number of bytes
 * @param remote remote path (NUL-terminated)
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 * @param[out] transferred bytes copied, also on failure (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself;
 *        XSSH_ECANCELLED when the progress callback cancels
 */
XSSH_EXTERN(int) xssh_sftp_put_buffer(xssh_sftp *sftp, const void *data, size_t len, const char *remote,
                                      const xssh_transfer_opts *opts, uint64_t *transferred);
/**
 * Download @p remote, writing to the open descriptor @p fd at its current position
 *     (opts->atomic does not apply).
 * Engine and libssh2 calls: see xssh_sftp_get().
 * @param sftp the SFTP subsystem (borrowed)
 * @param remote remote path (NUL-terminated)
 * @param fd an open, writable descriptor (stays the caller's)
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 * @param[out] transferred bytes copied, also on failure (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself;
 *        XSSH_ECANCELLED when the progress callback cancels; XSSH_EFILE for a write error
 */
XSSH_EXTERN(int) xssh_sftp_get_fd(xssh_sftp *sftp, const char *remote, int fd, const xssh_transfer_opts *opts,
                                  uint64_t *transferred);
/**
 * Upload from the open descriptor @p fd (from its current position to its end).
 * Engine and libssh2 calls: see xssh_sftp_get().
 * @param sftp the SFTP subsystem (borrowed)
 * @param fd an open, readable descriptor (stays the caller's)
 * @param remote remote path (NUL-terminated)
 * @param opts transfer options (progress callback, atomic rename, chunk size in bytes, permission
 *        bits); NULL: the defaults
 * @param[out] transferred bytes copied, also on failure (may be NULL)
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); an SFTP status is XSSH_ESFTP_* (-2000 - status, e.g.
 *        XSSH_ESFTP_NO_SUCH_FILE), and xssh_sftp_last_error() gives the status itself;
 *        XSSH_ECANCELLED when the progress callback cancels; XSSH_EFILE for a read error
 */
XSSH_EXTERN(int) xssh_sftp_put_fd(xssh_sftp *sftp, int fd, const char *remote, const xssh_transfer_opts *opts,
                                  uint64_t *transferred);

/* ---- directory trees ------------------------------------------------------- */

/** Symbolic links met in a tree (xssh_tree_opts.symlinks). */
#define XSSH_SYMLINKS_FOLLOW 0 /**< transfer what the link points to (links to directories: not followed twice) */
#define XSSH_SYMLINKS_COPY 1   /**< recreate the link itself (its target text unchanged) */
#define XSSH_SYMLINKS_SKIP 2   /**< leave links out */

/** Progress of a tree transfer (all counters cumulative). */
typedef struct xssh_tree_progress {
    uint64_t files_done;  /**< regular files finished */
    uint64_t files_total; /**< regular files found so far (final once the walk is done) */
    uint64_t bytes_done;  /**< bytes transferred over all files */
    uint64_t bytes_total; /**< bytes of all files found so far */
    const char *path;     /**< the file this report is about (relative to the tree root) */
    uint64_t file_done;   /**< bytes of that file done */
    uint64_t file_total;  /**< its size */
} xssh_tree_progress;

/** Progress callback of a tree transfer; return nonzero to cancel (XSSH_ECANCELLED).
    @p progress and its path are valid during the call only. */
typedef int (*xssh_tree_progress_cb)(const xssh_tree_progress *progress, void *userdata);

/** Options of xssh_sftp_get_tree() / xssh_sftp_put_tree(); NULL or all-zero: defaults. */
typedef struct xssh_tree_opts {
    xssh_tree_progress_cb progress; /**< may be NULL */
    void *userdata;                 /**< passed to progress */
    int preserve;                   /**< nonzero: copy permission bits and modification/access times */
    int symlinks;                   /**< XSSH_SYMLINKS_FOLLOW (default), _COPY or _SKIP */
    int files_in_flight;            /**< files transferred at once (0: 8) */
    const xssh_transfer_opts *file; /**< per-file options (atomic, resume, windows...); its progress is not used */
} xssh_tree_opts;

/** What a tree transfer did. */
typedef struct xssh_tree_stats {
    uint64_t files;       /**< regular files transferred */
    uint64_t directories; /**< directories created (or existing and used) */
    uint64_t symlinks;    /**< links recreated */
    uint64_t bytes;       /**< bytes transferred */
} xssh_tree_stats;

/**
 * Upload the local directory tree @p local_dir into @p remote_dir (created when
 * missing; contents merged into an existing one), several files at once.
 *
 * The tree is walked first (names sorted; the totals of xssh_tree_progress are
 * final before the first byte moves), then the directories are created parents
 * first (empty ones too; an existing directory is used, anything else in the way
 * fails with ::XSSH_ESFTP_FILE_ALREADY_EXISTS naming it), then the regular files
 * go through xssh_sftp_put() with opts->file (files_in_flight at once, on their
 * own stacks under the multi interface, sharing this SFTP channel), then the
 * links (::XSSH_SYMLINKS_COPY: an older link at the destination is replaced);
 * with preserve the directories' modes and times are set last, deepest first.
 * ::XSSH_SYMLINKS_FOLLOW enters a linked directory only when it was not entered
 * yet (a real directory wins over a link to it; a loop ends); a dangling link
 * fails the call naming it. Devices, FIFOs and sockets are left out.
 * The progress callback runs on the calling thread's own stack (also while
 * files are in flight), when each file starts, about every chunk and once the
 * file is done (files_done counts it). The first failure stops the other files
 * at their next report (cleanly: handles closed, temporary files removed) and
 * is returned; the SFTP object stays usable. Paths are bytes (names that are
 * not UTF-8 are kept). libssh2: as xssh_sftp_put(), libssh2_sftp_mkdir_ex(),
 * libssh2_sftp_stat_ex(), libssh2_sftp_symlink_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param local_dir local directory
 * @param remote_dir remote directory
 * @param opts preserve, symlinks, files in flight, per-file options; NULL: defaults
 * @param[out] stats what was done (may be NULL; set on failure too)
 * @return XSSH_OK; as xssh_sftp_put() for each file; XSSH_EFILE for a local walk error (the
 *         message names the path); XSSH_ECANCELLED when the progress callback cancels; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_sftp_put_tree(xssh_sftp *sftp, const char *local_dir, const char *remote_dir,
                                    const xssh_tree_opts *opts, xssh_tree_stats *stats);
/**
 * Download the remote directory tree @p remote_dir into @p local_dir (created
 * when missing), several files at once; as xssh_sftp_put_tree() the other way.
 *
 * Names the server lists are checked before use: "." and ".." are skipped and
 * a name holding '/' fails the call with ::XSSH_ESFTP_PROTOCOL naming the
 * directory, so nothing is ever written outside @p local_dir through a name
 * (libssh2 1.10's readdir answers an empty name as the end of the listing: the
 * listing ends there). A local directory in the way of a file, or anything but
 * a directory in the way of a directory, fails naming it; a link at a file's
 * local destination is replaced, never written through. Linked directories
 * (::XSSH_SYMLINKS_FOLLOW) are recognised by the server's realpath.
 * libssh2: as xssh_sftp_get(), libssh2_sftp_open_ex() (directories),
 * libssh2_sftp_readdir_ex(), libssh2_sftp_stat_ex(), libssh2_sftp_symlink_ex().
 * @param sftp the SFTP subsystem (borrowed)
 * @param remote_dir remote directory
 * @param local_dir local directory
 * @param opts preserve, symlinks, files in flight, per-file options; NULL: defaults
 * @param[out] stats what was done (may be NULL; set on failure too)
 * @return XSSH_OK; as xssh_sftp_get() for each file; XSSH_EFILE for a local error (the
 *         message names the path); XSSH_ESFTP_PROTOCOL for an unsafe name; XSSH_ECANCELLED; XSSH_EARG
 */
XSSH_EXTERN(int) xssh_sftp_get_tree(xssh_sftp *sftp, const char *remote_dir, const char *local_dir,
                                    const xssh_tree_opts *opts, xssh_tree_stats *stats);

XSSH_END_DECL

/** @} */
#endif /* XSSH_SFTP_H */
