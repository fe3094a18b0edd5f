/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/errors.h
 * @brief The one error enum of xssh, its names and messages, and the last error.
 *
 * Every fallible xssh function returns an ::xssh_err. Values from -1 to -99 are
 * libssh2's own codes, numerically identical to `LIBSSH2_ERROR_*` (so
 * XSSH_EAGAIN == LIBSSH2_ERROR_EAGAIN); values from -1000 are xssh's own; values
 * from -2000 are SFTP status codes (-2000 - SSH_FX_*). A libssh2 code this
 * version does not know becomes XSSH_EUNKNOWN, and the original number is kept
 * in xssh_error::libssh2_code.
 */
#ifndef XSSH_ERRORS_H
#define XSSH_ERRORS_H

#include "common.h"

XSSH_BEGIN_DECL

/**
 * Every status an xssh function returns: XSSH_OK (0) or a negative error code.
 * libssh2's codes keep libssh2's numbers (XSSH_EAGAIN == LIBSSH2_ERROR_EAGAIN),
 * xssh's own start at -1000 and SFTP statuses are -2000 - status. Each code has a
 * row in the error table (xssh_err_name(), xssh_strerror(), xssh_err_info_get()).
 */
typedef enum xssh_err {
    XSSH_OK = 0,                         /**< success */
    /* libssh2's codes, same numbers */
    XSSH_ESOCKET_NONE = -1,              /**< no socket / generic socket failure */
    XSSH_EBANNER_RECV = -2,              /**< could not receive the server banner */
    XSSH_EBANNER_SEND = -3,              /**< could not send the client banner */
    XSSH_EINVALID_MAC = -4,              /**< a packet failed MAC verification */
    XSSH_EKEX_FAILURE = -5,              /**< key exchange method negotiation failed */
    XSSH_EALLOC = -6,                    /**< libssh2 could not allocate memory */
    XSSH_ESOCKET_SEND = -7,              /**< sending on the socket failed */
    XSSH_EKEY_EXCHANGE_FAILURE = -8,     /**< key exchange failed */
    XSSH_ETIMEOUT = -9,                  /**< the operation timed out */
    XSSH_EHOSTKEY_INIT = -10,            /**< host key initialisation failed */
    XSSH_EHOSTKEY_SIGN = -11,            /**< host key signature verification failed */
    XSSH_EDECRYPT = -12,                 /**< decryption failed */
    XSSH_ESOCKET_DISCONNECT = -13,       /**< the connection was closed by the other side */
    XSSH_EPROTO = -14,                   /**< SSH protocol error */
    XSSH_EPASSWORD_EXPIRED = -15,        /**< the password has expired */
    XSSH_EFILE = -16,                    /**< a local file could not be used (key file, ...) */
    XSSH_EMETHOD_NONE = -17,             /**< no method negotiated */
    XSSH_EAUTHENTICATION_FAILED = -18,   /**< authentication failed (also: public key unrecognised) */
    XSSH_EPUBLICKEY_UNVERIFIED = -19,    /**< the public key was not verified by the server */
    XSSH_ECHANNEL_OUTOFORDER = -20,      /**< channel packets out of order */
    XSSH_ECHANNEL_FAILURE = -21,         /**< the channel request failed */
    XSSH_ECHANNEL_REQUEST_DENIED = -22,  /**< the server denied the channel request */
    XSSH_ECHANNEL_UNKNOWN = -23,         /**< unknown channel */
    XSSH_ECHANNEL_WINDOW_EXCEEDED = -24, /**< channel window exceeded */
    XSSH_ECHANNEL_PACKET_EXCEEDED = -25, /**< channel packet size exceeded */
    XSSH_ECHANNEL_CLOSED = -26,          /**< the channel was closed by the server */
    XSSH_ECHANNEL_EOF_SENT = -27,        /**< EOF was already sent on this channel */
    XSSH_ESCP_PROTOCOL = -28,            /**< SCP protocol error */
    XSSH_EZLIB = -29,                    /**< zlib (de)compression error */
    XSSH_ESOCKET_TIMEOUT = -30,          /**< socket timeout */
    XSSH_ESFTP_PROTOCOL = -31,           /**< SFTP protocol error (see the SFTP status) */
    XSSH_EREQUEST_DENIED = -32,          /**< the server denied the request */
    XSSH_EMETHOD_NOT_SUPPORTED = -33,    /**< method or flag not supported */
    XSSH_EINVAL = -34,                   /**< libssh2 rejected an argument or request */
    XSSH_EINVALID_POLL_TYPE = -35,       /**< invalid poll type */
    XSSH_EPUBLICKEY_PROTOCOL = -36,      /**< public-key subsystem protocol error */
    XSSH_EAGAIN = -37,                   /**< would block: retry when the socket is ready (not a failure) */
    XSSH_EBUFFER_TOO_SMALL = -38,        /**< buffer too small */
    XSSH_EBAD_USE = -39,                 /**< call not valid in this state */
    XSSH_ECOMPRESS = -40,                /**< compression error */
    XSSH_EOUT_OF_BOUNDARY = -41,         /**< out of boundary */
    XSSH_EAGENT_PROTOCOL = -42,          /**< agent protocol error */
    XSSH_ESOCKET_RECV = -43,             /**< receiving from the socket failed */
    XSSH_EENCRYPT = -44,                 /**< encryption failed */
    XSSH_EBAD_SOCKET = -45,              /**< bad socket */
    XSSH_EKNOWN_HOSTS = -46,             /**< known-hosts error */
    XSSH_ECHANNEL_WINDOW_FULL = -47,     /**< channel window full */
    XSSH_EKEYFILE_AUTH_FAILED = -48,     /**< key file could not be decrypted/parsed (wrong passphrase?) */
    XSSH_ERANDGEN = -49,                 /**< random number generation failed */
    XSSH_EMISSING_USERAUTH_BANNER = -50, /**< no user-auth banner (libssh2 >= 1.11) */
    XSSH_EALGO_UNSUPPORTED = -51,        /**< algorithm unsupported (libssh2 >= 1.11) */

    /* xssh's own */
    XSSH_EUNKNOWN = -1000,               /**< a libssh2 code this version does not know (see libssh2_code) */
    XSSH_EARG = -1001,                   /**< invalid argument (NULL, empty, out of range) */
    XSSH_ECLOSED = -1002,                /**< the object (or its session) is closed */
    XSSH_ENOTCONNECTED = -1003,          /**< the session has no connection yet (call connect or handshake) */
    XSSH_ERESOLVE = -1004,               /**< the host name could not be resolved */
    XSSH_ECONNECT = -1005,               /**< the TCP connection failed (refused, unreachable, timed out) */
    XSSH_EHOSTKEY_UNKNOWN = -1006,       /**< the server's host key is not in known_hosts */
    XSSH_EHOSTKEY_CHANGED = -1007,       /**< the server's host key differs from known_hosts */
    XSSH_ENOTSUPPORTED = -1008,          /**< not supported by this libssh2 build */
    XSSH_ENOMEM = -1009,                 /**< out of memory */
    XSSH_ECANCELLED = -1010,             /**< cancelled by the caller */
    XSSH_EITEROVER = -1011,              /**< iteration finished (not a failure) */
    XSSH_EAGENT_CONNECT = -1012,         /**< could not connect to the agent */
    XSSH_EAGENT_LIST = -1013,            /**< could not list the agent's identities */
    XSSH_EAGENT_IDENTITY = -1014,        /**< no such identity in the agent */
    XSSH_EAGENT_AUTH = -1015,            /**< no agent identity authenticated */
    XSSH_EKNOWNHOST_ADD = -1016,         /**< known-hosts: adding an entry failed */
    XSSH_EKNOWNHOST_CHECK = -1017,       /**< known-hosts: the check could not be made */
    XSSH_EKNOWNHOST_DELETE = -1018,      /**< known-hosts: deleting an entry failed */
    XSSH_EKNOWNHOST_GET = -1019,         /**< known-hosts: listing entries failed */
    XSSH_EKNOWNHOST_READFILE = -1020,    /**< known-hosts: reading the file failed */
    XSSH_EKNOWNHOST_READLINE = -1021,    /**< known-hosts: parsing a line failed */
    XSSH_EKNOWNHOST_WRITEFILE = -1022,   /**< known-hosts: writing the file failed */
    XSSH_EKNOWNHOST_WRITELINE = -1023,   /**< known-hosts: formatting a line failed */
    XSSH_EHANDSHAKE = -1024,             /**< the SSH handshake failed (see libssh2_code) */
    XSSH_ESESSION_HOSTKEY = -1025,       /**< the server's host key is not available */
    XSSH_ERSA_SHA1_REFUSED = -1026,      /**< the server refused an ssh-rsa (SHA-1) signature; RSA-SHA2 needs libssh2 >= 1.11 */
    XSSH_EPUBLICKEY_INIT = -1027,        /**< the server does not offer the public-key subsystem */
    XSSH_ECONFIG = -1028,                /**< an ssh_config(5) file or option is malformed or unreadable */

    /* SFTP status codes: -2000 - SSH_FX_* */
    XSSH_ESFTP_EOF = -2001,              /**< SFTP: end of file */
    XSSH_ESFTP_NO_SUCH_FILE = -2002,     /**< SFTP: no such file */
    XSSH_ESFTP_PERMISSION_DENIED = -2003,/**< SFTP: permission denied */
    XSSH_ESFTP_FAILURE = -2004,          /**< SFTP: failure */
    XSSH_ESFTP_BAD_MESSAGE = -2005,      /**< SFTP: bad message */
    XSSH_ESFTP_NO_CONNECTION = -2006,    /**< SFTP: no connection */
    XSSH_ESFTP_CONNECTION_LOST = -2007,  /**< SFTP: connection lost */
    XSSH_ESFTP_OP_UNSUPPORTED = -2008,   /**< SFTP: operation unsupported */
    XSSH_ESFTP_INVALID_HANDLE = -2009,   /**< SFTP: invalid handle */
    XSSH_ESFTP_NO_SUCH_PATH = -2010,     /**< SFTP: no such path */
    XSSH_ESFTP_FILE_ALREADY_EXISTS = -2011, /**< SFTP: file already exists */
    XSSH_ESFTP_WRITE_PROTECT = -2012,    /**< SFTP: write protected */
    XSSH_ESFTP_NO_MEDIA = -2013,         /**< SFTP: no media */
    XSSH_ESFTP_NO_SPACE = -2014,         /**< SFTP: no space on file system */
    XSSH_ESFTP_QUOTA_EXCEEDED = -2015,   /**< SFTP: quota exceeded */
    XSSH_ESFTP_UNKNOWN_PRINCIPAL = -2016,/**< SFTP: unknown principal */
    XSSH_ESFTP_LOCK_CONFLICT = -2017,    /**< SFTP: lock conflict */
    XSSH_ESFTP_DIR_NOT_EMPTY = -2018,    /**< SFTP: directory not empty */
    XSSH_ESFTP_NOT_A_DIRECTORY = -2019,  /**< SFTP: not a directory */
    XSSH_ESFTP_INVALID_FILENAME = -2020, /**< SFTP: invalid file name */
    XSSH_ESFTP_LINK_LOOP = -2021,        /**< SFTP: too many symbolic links */
    XSSH_ERR__LAST = -2022               /**< sentinel, not an error */
} xssh_err;

/** Details of the last failure on the calling thread. */
typedef struct xssh_error {
    int code;            /**< the ::xssh_err value */
    int libssh2_code;    /**< libssh2's code behind it, or 0 */
    int sftp_status;     /**< SFTP status (SSH_FX_*), or 0 */
    const char *message; /**< detailed message with context; never NULL */
} xssh_error;

/** One row of the error table: drives the exception classes of every binding. */
typedef struct xssh_err_info {
    int code;              /**< the ::xssh_err value */
    const char *name;      /**< symbolic name, e.g. "XSSH_ETIMEOUT" */
    const char *message;   /**< generic message */
    const char *exception; /**< exception class name in the bindings, e.g. "Timeout" */
} xssh_err_info;

/**
 * Static generic message for a code ("unknown error code" for unknown values). Never NULL.
 * @param code an xssh_err code
 * @return a static, NUL-terminated message (never NULL)
 */
XSSH_EXTERN(const char *) xssh_strerror(int code);
/**
 * Static symbolic name for a code, e.g. "XSSH_EAGAIN"; "XSSH_EUNKNOWN" if unknown. Never NULL.
 * @param code an xssh_err code
 * @return a static name such as "XSSH_ETIMEOUT" (never NULL; "XSSH_EUNKNOWN" for codes without a
 *        row)
 */
XSSH_EXTERN(const char *) xssh_err_name(int code);
/**
 * The table row for a code, or NULL when the code has none. Borrowed, static.
 * @param code an xssh_err code
 * @return the static row (borrowed), or NULL
 */
XSSH_EXTERN(const xssh_err_info *) xssh_err_info_get(int code);
/**
 * Number of rows in the error table (XSSH_OK is not a row).
 * @return the number of rows
 */
XSSH_EXTERN(size_t) xssh_err_count(void);
/**
 * Row @p index (0 <= index < xssh_err_count()) of the error table, or NULL. Borrowed, static.
 * @param index 0-based row index
 * @return the static row (borrowed), or NULL past the end
 */
XSSH_EXTERN(const xssh_err_info *) xssh_err_info_at(size_t index);
/**
 * Exception classes in parent-first order, for the bindings to build their
 * hierarchy: class @p index and its parent ("" for the root). Returns 0 past the end.
 * @param index 0-based index of the class (parent-first order)
 * @param[out] name_out the class name (static)
 * @param[out] parent_out its parent's name (static; NULL for the root)
 * @return 1 while index is in range, 0 past the end
 */
XSSH_EXTERN(int) xssh_exception_class_at(size_t index, const char **name_out, const char **parent_out);
/**
 * Map a libssh2 error code onto ::xssh_err (unknown codes give XSSH_EUNKNOWN).
 * @param libssh2_code a LIBSSH2_ERROR_* code
 * @return the xssh_err code
 */
XSSH_EXTERN(int) xssh_err_from_libssh2(int libssh2_code);
/**
 * The last failure on the calling thread (thread-local, so it is still right
 * after a binding releases and re-takes its interpreter lock). Never NULL; the
 * code is XSSH_OK when no call on this thread has failed. Borrowed: valid until
 * the next xssh call on this thread.
 *
 * After the connection failed, the message names the first cause and the call
 * it hit (the first cause wins over clean-up): how the socket ended (the
 * server's SSH_MSG_DISCONNECT text, end of stream, ECONNRESET, EPIPE; code
 * XSSH_ESOCKET_DISCONNECT / _RECV / _SEND), the handshake phase (identification
 * or key exchange, code XSSH_EHANDSHAKE with libssh2_code the socket code), and
 * on later calls of the same session "the connection was lost earlier (first
 * failure: ...)".
 * @return the calling thread's last error (borrowed; valid until its next xssh call); never NULL
 */
XSSH_EXTERN(const xssh_error *) xssh_error_last(void);
/**
 * Reset the calling thread's last error to XSSH_OK.
 */
XSSH_EXTERN(void) xssh_error_clear(void);
/**
 * Free memory that xssh allocated for an out-parameter (strings, byte buffers). NULL-safe.
 * @param ptr memory from an xssh out-parameter; NULL is allowed
 */
XSSH_EXTERN(void) xssh_free(void *ptr);

XSSH_END_DECL

#endif /* XSSH_ERRORS_H */
