/* SPDX-License-Identifier: BSD-3-Clause */
/* SFTP objects, shared by sftp.c and sftp_transfer.c. Not installed. */
#ifndef XSSH_SFTP_INTERNAL_H
#define XSSH_SFTP_INTERNAL_H

#include <libssh2_sftp.h>

#include "internal.h"

struct xssh_sftp {
    xssh__refcount refs;
    xssh_session *s;
    LIBSSH2_SFTP *sftp;          /* NULL once closed */
    _Atomic int closed;
    /* held for a whole SFTP request, waits included: libssh2 keeps one state
       machine per request type per subsystem, so two threads must not interleave */
    pthread_mutex_t oplock;
    unsigned long last_status;   /* SFTP status of our last failure */
    struct xssh_sftp_file *files;/* open files (under the session lock) */
    int symlink_pending;         /* a symlink answered EAGAIN (non-blocking) */
    int symlink_existed;         /* ... and its link path existed before */
};

struct xssh_sftp_file {
    xssh__refcount refs;
    xssh_sftp *sf;
    LIBSSH2_SFTP_HANDLE *h;      /* NULL once closed */
    _Atomic int closed;
    int is_dir;
    int read_ahead;              /* reads may have left READ requests in flight (session lock) */
    char *path;
    struct xssh_sftp_file *next, *prev; /* in sf->files */
};

/* Sizes of SFTP requests and answers (the rule of internal.h, for SFTP):
   - libssh2 1.10 sends each request with a single channel write, which carries
     at most 32700 bytes (and no more than the peer's packet size, 32768 for
     OpenSSH); a longer request would go out cut and derail the SFTP stream. So
     the path bytes of one request (both paths of rename and symlink) are
     limited to XSSH__SFTP_PATH_MAX, which leaves room for the request's other
     fields; a longer path fails with XSSH_EARG before anything is sent.
   - libssh2 1.10 accepts SFTP packets up to 256 KiB (LIBSSH2_SFTP_PACKET_MAXLEN
     in its sftp.c): buffers for names, long entries and link targets are that
     large, so no answer is ever "buffer too small" (after which libssh2 1.10
     misreads the rest of a readdir batch). */
#define XSSH__SFTP_PATH_MAX 30000
#define XSSH__SFTP_PACKET_MAX (256 * 1024)

/* Begin an op on an sftp (and optionally one of its files); checks both closed
   flags; takes sf->oplock. End it with xssh__sftp_end(). */
int xssh__sftp_begin(xssh__op *op, xssh_sftp *sf, xssh_sftp_file *f);
void xssh__sftp_end(xssh__op *op, xssh_sftp *sf);
/* Make this thread's SFTP calls block whatever the session mode (the whole-file
   transfers); returns the previous setting. */
int xssh__sftp_force_blocking(int on);
/* Record the failure of a libssh2 SFTP call (rc may be an xssh code from op_again).
   Lock held. `what` and `path` go into the message. */
int xssh__sftp_fail(xssh_sftp *sf, int rc, const char *what, const char *path);
/* Open a remote file (a blocking op unless the session is non-blocking and force_blocking is 0). */
int xssh__sftp_open(xssh_sftp_file **out, xssh_sftp *sf, const char *path, size_t path_len, unsigned long flags,
                    long mode, int open_type, int force_blocking);
/* Close a file, always blocking (for the transfers). */
int xssh__sftp_file_close_blocking(xssh_sftp_file *f);

#endif
