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
    /* a request was abandoned half-done (timeout / cancel past the grace):
       every later request fails with XSSH_ECLOSED */
    _Atomic int abandoned;
    /* held for a whole SFTP request, waits included: libssh2 keeps one state
       machine per request type per subsystem, so two threads must not interleave */
    pthread_mutex_t oplock;
    /* oplock held by a multi operation across a wait: that thread's
       xssh__thread_tag(), else 0 (a call outside the operations of that thread
       fails at once instead of waiting for ever: xssh__sftp_begin) */
    _Atomic uintptr_t oplock_tag;
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
int xssh__sftp_begin_at(xssh__op *op, xssh_sftp *sf, xssh_sftp_file *f, const char *fn);
#define xssh__sftp_begin(op, sf, f) xssh__sftp_begin_at((op), (sf), (f), __func__)
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

/* ---- the whole-file engine (sftp_engine.c): SFTP v3 over channels of its own ---- */

#define XSSH__ENG_AUTO_CAP (32u * 1024 * 1024)   /* max_in_flight 0: the window grows up to this */
#define XSSH__ENG_HARD_CAP (512u * 1024 * 1024)  /* max_in_flight is clamped to this */
#define XSSH__ENG_REQ_MAX (256u * 1024)          /* largest READ/WRITE request */
#define XSSH__ENG_AUTO_CHANNELS 8                /* channels 0: at most this many */
#define XSSH__ENG_VERIFY_TAIL (1024u * 1024)     /* resume: bytes of the overlap read back */

typedef struct xssh__eng_io {
    const char *target;          /* the remote path opened */
    const char *rename_to;       /* put: rename target onto this after the close with
                                    posix-rename@openssh.com when offered (*renamed_out = 1) */
    int *renamed_out;
    unsigned long open_flags;    /* put: LIBSSH2_FXF_* of the first open */
    long mode;                   /* put: permission bits of a created file */
    uint64_t total;              /* put: source bytes (XSSH_SIZE_UNKNOWN); get: filled in */
    size_t max_in_flight;        /* 0: XSSH__ENG_AUTO_CAP */
    size_t initial_window;       /* 0: from the round trip */
    int channels;                /* put: 0 automatic */
    int resume;
    uint64_t have;               /* get resume: bytes the local file holds */
    uint64_t verify_tail;        /* resume: bytes of the overlap compared (its end) */
    uint64_t *start_out;         /* where the transfer started (resume) */
    uint64_t *total_out;         /* get: the remote size when known */
    void *ctx;
    /* put: up to n bytes at source offset off (calls come with increasing off);
       0 at the end; -errno */
    long (*src_read)(void *ctx, char *buf, size_t n, uint64_t off);
    /* resume: the local copy's bytes at off (put: the source), -errno */
    long (*local_pread)(void *ctx, char *buf, size_t n, uint64_t off);
    /* get: the next bytes, in order; 0 or an errno */
    int (*sink_write)(void *ctx, const char *p, size_t n);
    /* get resume: cut the local copy to len and write from there; 0 or an errno */
    int (*local_truncate)(void *ctx, uint64_t len);
} xssh__eng_io;

/* Whole-file get / put (blocking; session timeout per wait). prog may be NULL;
   it is called without the session lock. *done: bytes moved by this call (put:
   the acknowledged prefix). XSSH_OK or the recorded failure. */
int xssh__eng_get(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done);
int xssh__eng_put(xssh_sftp *sf, const xssh__eng_io *io, xssh__progress *prog, uint64_t *done);
/* most engine channels seen open at once in this process (tests read the DEBUG log instead) */
extern _Atomic int xssh__eng_channels_peak;

#endif
