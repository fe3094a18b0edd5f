/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh(1): the command-line tool's shared declarations (see docs/cli.md). */
#ifndef XSSH_CLI_H
#define XSSH_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xssh.h>
#include <xssh/multi.h>

/* Exit statuses (docs/man/xssh.1, EXIT STATUS). When several apply, the first
   of interrupted, 3, 4, 5 wins (as pssh). */
#define EX_ALL_OK 0
#define EX_LOCAL 1       /* a local error: unreadable hosts file or local file, output directory... */
#define EX_USAGE 2       /* bad option, argument, host or hosts-file line */
#define EX_TIMEOUT 3     /* a command or transfer timed out, or a command was killed by a signal */
#define EX_HOSTFAIL 4    /* a host failed: resolve, connect, host key, auth, channel, transfer */
#define EX_NONZERO 5     /* every host ran its command, at least one exited non-zero */
#define EX_SIGNAL_BASE 128 /* interrupted by signal N: 128 + N (Ctrl-C: 130) */

/* What became of one host. */
enum outcome {
    OUT_PENDING = 0, /* not done yet */
    OUT_OK,          /* command exited 0 / transfer complete */
    OUT_EXIT,        /* command exited non-zero (or sent no exit status) */
    OUT_SIGNAL,      /* command killed by a signal */
    OUT_TIMEOUT,     /* command or transfer ran out of --timeout */
    OUT_FAILED,      /* any other failure (phase in the result) */
    OUT_CANCELLED    /* cancelled by Ctrl-C/SIGTERM (or a closed stdout) */
};

/* One host of the list. */
typedef struct host {
    char *label;       /* as written in the hosts file or --host (the output prefix) */
    char *user;        /* from "user@" (NULL: -l / ssh_config) */
    char *name;        /* host name, address or ssh_config alias (IPv6 without brackets) */
    int port;          /* from ":port" (0: -p / ssh_config) */
    char *origin;      /* "file:line" or "--host" (for messages) */
    size_t index;      /* position in the list */
    xssh_multi_op *op; /* while queued/running */
    int outcome;       /* enum outcome */
    int exit_status;   /* OUT_EXIT */
    char *detail;      /* message of a failure (owned) */
    int phase;         /* xssh_phase of a failure */
    uint64_t bytes;    /* transfers: bytes done so far */
    uint64_t total;    /* transfers: bytes expected (0: unknown) */
    int moving;        /* transfers: the progress callback was called (the copy is under way) */
    char *local;       /* get: local destination; put: local source */
    char *hostdir;     /* get: OUTDIR/<hostdir>, created by us (removed again when left empty) */
    xssh_transfer_opts topts; /* per host: progress userdata is this host */
    const char *out, *err; /* grouped run: output kept (in the op's result, valid while op is held) */
    size_t out_len, err_len;
    int out_trunc, err_trunc;
    int64_t duration_ms;
} host;

typedef struct hostlist {
    host *v;
    size_t n, cap;
} hostlist;

/* hosts.c ---------------------------------------------------------------- */
/* Parse one "[user@]host[:port]" (also "[user@][v6addr]:port" and a bare IPv6
   address) into h->user/name/port/label. 0, or -1 with a reason in err. */
int hosts_parse(const char *spec, host *h, char *err, size_t errlen);
/* Add the hosts of a hosts file ("-": stdin): one per line, '#' starts a
   comment, blank lines ignored. 0; -1 with err "file:line: why" (*usage set to
   1 for a malformed line, 0 for a read error). */
int hosts_read_file(hostlist *l, const char *path, char *err, size_t errlen, int *usage);
/* Add one host given on the command line. */
int hosts_add(hostlist *l, const char *spec, const char *origin, char *err, size_t errlen);
/* Drop exact duplicate labels (warning each on stderr); set the indexes. */
void hosts_dedup(hostlist *l);
void hosts_free(hostlist *l);
/* The string handed to the multi for @p h ("[user@]host[:port]", IPv6 in brackets
   when a port follows); malloc'd. */
char *hosts_spec(const host *h, int port_fallback);
/* A file-system-safe directory name for the host (get's OUTDIR/<name>); malloc'd. */
char *hosts_dirname(const host *h);

/* ui.c -------------------------------------------------------------------- */
typedef struct ui_counts {
    size_t total, done, failed, cancelled, running, queued; /* cancelled: not counted as failed */
    uint64_t bytes, bytes_total; /* transfers (bytes_total 0: unknown) */
    int transfer;                /* show bytes */
} ui_counts;

/* progress_mode: 0 auto (stderr a terminal), 1 never. */
void ui_init(int no_progress, int quiet);
int ui_is_tty(void);
/* Write @p len bytes of lines from @p label to @p stream, each line prefixed
   "label: " (a missing final newline is added). -1 when the write failed. */
int ui_prefixed(FILE *stream, const char *label, const char *data, size_t len);
/* Write raw bytes to a stream (progress line cleared first). -1 on failure. */
int ui_write(FILE *stream, const char *data, size_t len);
/* A status/diagnostic line on stderr ("xssh: ..."), progress line cleared first. */
void ui_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Redraw the progress line (terminal only); force: even if drawn very recently. */
void ui_progress(const ui_counts *c, int force);
/* Clear the progress line (terminal only). */
void ui_clear(void);
/* "1.5 MiB" into buf. */
const char *ui_bytes(uint64_t n, char *buf, size_t size);
int ui_quiet(void);

#endif
