/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh_session_run / _run_stream: run a command, feed stdin while reading
 * stdout and stderr concurrently, collect or stream the output, exit status.
 *
 * One loop under the session lock: write what the window takes, read both
 * streams without waiting, and only when nothing moved wait for the socket
 * (lock released, see xssh__op_again) until the earlier of the total and the
 * inactivity deadline. Callbacks run with the lock released. On a timeout,
 * cancel or failure the channel is closed (bounded by a short grace period)
 * and the session stays usable.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "connect_internal.h"

#define CHUNK 65536
#define CLOSE_GRACE_MS 250 /* sshd may not answer CLOSE while the command runs: do not wait long */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

int xssh__buf_append(char **p, size_t *len, size_t *cap, const void *d, size_t n, size_t first)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : first;
        while (c < *len + n + 1)
            c *= 2;
        char *q = realloc(*p, c);
        if (!q)
            return -1;
        *p = q;
        *cap = c;
    }
    if (n)
        memcpy(*p + *len, d, n);
    *len += n;
    (*p)[*len] = '\0';
    return 0;
}

static int buf_add(buf *b, const char *d, size_t n)
{
    return xssh__buf_append(&b->p, &b->len, &b->cap, d, n, 4096);
}

typedef struct collect {
    buf out, err;
} collect;

static int collect_cb(int stream, const char *data, size_t len, void *ud)
{
    collect *c = ud;
    return buf_add(stream == XSSH_STREAM_STDERR ? &c->err : &c->out, data, len) ? -1 : 0;
}

/* Close ch within a short grace period (lock held); ignore failures (the
   channel is orphaned by the caller's unref if this does not finish). */
static void close_quietly(xssh__op *op, xssh_channel *c)
{
    op->deadline_ms = xssh__now_ms() + CLOSE_GRACE_MS;
    op->blocking = 1;
    (void)xssh__chan_close_wait(op, c);
}

void (*xssh__run_read_hook)(xssh_session *s, int stream, long n);

static int64_t min_deadline(int64_t a, int64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/* After a libssh2 call returned EAGAIN: 1 when it waits for input (go on
   with something else), 0 after waiting for the socket to take a half-sent
   packet (repeat the same call now, before any other send), or a negative
   error (XSSH_ETIMEOUT, XSSH_ECLOSED). */
static int finish_send(xssh__op *op, int64_t total_deadline)
{
    xssh_session *s = op->s;
    if (!(libssh2_session_block_directions(s->ssh) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
        return 1;
    int64_t saved = op->deadline_ms;
    /* a peer that takes no bytes for a session timeout (60 s without one) is dead */
    op->deadline_ms = min_deadline(total_deadline, xssh__now_ms() + (s->timeout_ms > 0 ? s->timeout_ms : 60000));
    int rc = LIBSSH2_ERROR_EAGAIN;
    int again = xssh__op_again(op, &rc);
    op->deadline_ms = saved;
    return again ? 0 : rc;
}

/* Which deadline ended a run: the total timeout, the idle timeout (measured
   from last_activity, or from the start while starting), else the session
   timeout of the step `what`. Names only the one that was set and ran out. */
static int timeout_fail(xssh_session *s, const char *what, const char *command, const xssh_run_options *opts,
                        int64_t start, int64_t last_activity)
{
    int64_t now = xssh__now_ms();
    if (opts->timeout_ms > 0 && now >= start + opts->timeout_ms)
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "run '%s': timed out (total timeout %ld ms) in %s",
                          command, opts->timeout_ms, what);
    if (opts->idle_timeout_ms > 0 &&
        (now >= last_activity + opts->idle_timeout_ms || last_activity >= start + opts->idle_timeout_ms))
        return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT, "run '%s': no output for %ld ms (idle timeout) in %s",
                          command, opts->idle_timeout_ms, what);
    return xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT,
                      "%s ('%s'): timed out after %lld ms (session timeout %ld ms)", what, command,
                      (long long)(now - start), s->timeout_ms);
}

static int run_core(xssh_session *s, const char *command, const xssh_run_options *opts, xssh_run_callback cb,
                    void *ud, int *status_out, int *have_out, char **signal_out, int collecting)
{
    static const xssh_run_options none;
    if (!opts)
        opts = &none;
    XSSH__ARG(s, opts->stdin_data || opts->stdin_len == 0, "stdin_data is NULL");
    XSSH__ARG(s, opts->timeout_ms >= 0 && opts->idle_timeout_ms >= 0, "timeouts must be >= 0");
    int fits = xssh__request_fits(s, "xssh_session_run", "exec", 4 + strlen(command));
    if (fits)
        return fits;
    int64_t start = xssh__now_ms();
    int64_t total_deadline = opts->timeout_ms > 0 ? start + opts->timeout_ms : 0;

    xssh__op op;
    int e = xssh__op_begin_at(&op, s, 1, NULL, collecting ? "xssh_session_run" : "xssh_session_run_stream");
    if (e)
        return e;
    op.blocking = 1;
    /* opening and starting: the session timeout and the total deadline */
    op.deadline_ms = min_deadline(op.deadline_ms, total_deadline);
    if (opts->idle_timeout_ms > 0)
        op.deadline_ms = min_deadline(op.deadline_ms, start + opts->idle_timeout_ms);

    LIBSSH2_CHANNEL *raw;
    int rc;
    xssh__phase(XSSH_PHASE_CHANNEL);
    xssh__open_begin(s, &op);
    do {
        raw = libssh2_channel_open_session(s->ssh);
        rc = 0;
        if (!raw) {
            rc = libssh2_session_last_errno(s->ssh);
            if (!rc)
                rc = LIBSSH2_ERROR_CHANNEL_FAILURE;
        }
    } while (!raw && xssh__op_again(&op, &rc));
    xssh__open_end(s, &op);
    if (!raw) {
        xssh__op_end(&op);
        if (rc == XSSH_ETIMEOUT)
            return timeout_fail(s, "run: opening a channel", command, opts, start, start);
        if (rc == XSSH_ECLOSED)
            return xssh__fail(s, XSSH_ECLOSED, 0, "run: the session was closed meanwhile");
        return xssh__fail_ssh(s, rc, "run: opening a channel");
    }
    xssh_channel *c = NULL;
    if (xssh__chan_wrap(s, raw, &c) != XSSH_OK) {
        xssh__session_orphan(s, XSSH__ORPHAN_CHANNEL, raw);
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ENOMEM, 0, "run: out of memory");
    }
    op.closed = &c->closed;

    int result = XSSH_OK;
    const char *what = "run: waiting for another request of the session";
    rc = xssh__request_begin(&op, c); /* requests awaiting replies never overlap */
    if (!rc && opts->pty) {
        what = "run: pty request";
        do {
            rc = libssh2_channel_request_pty_ex(c->ch, "xterm", 5, NULL, 0, 80, 24, 0, 0);
        } while (xssh__op_again(&op, &rc));
    }
    if (!rc && opts->merge_stderr) {
        what = "run: merging stderr";
        do {
            rc = libssh2_channel_handle_extended_data2(c->ch, LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE);
        } while (xssh__op_again(&op, &rc));
    }
    if (!rc) {
        what = "run: exec";
        do {
            rc = libssh2_channel_process_startup(c->ch, "exec", 4, command, (unsigned)strlen(command));
        } while (xssh__op_again(&op, &rc));
    }
    xssh__request_end(s, c);
    if (!rc)
        what = "run: waiting for the command's output";
    xssh__phase(XSSH_PHASE_COMMAND);

    /* the transfer loop */
    char *chunk = NULL;
    if (!rc) {
        chunk = malloc(CHUNK);
        if (!chunk)
            rc = XSSH_ENOMEM;
    }
    const char *in = opts->stdin_data;
    size_t in_len = opts->stdin_len, in_off = 0;
    int eof_sent = 0, done[2] = {0, opts->merge_stderr || opts->pty};
    int64_t last_activity = xssh__now_ms();
    int cancelled = 0, timed_out = 0;
    xssh__liveness lv = {0};
    while (!rc && !(done[0] && done[1])) {
        int progress = 0;
        size_t moved = 0;
        /* stdin. A libssh2 call that left a packet half-sent (EAGAIN, outbound)
           is repeated at once: no other send may come in between. */
        if (in_off < in_len) {
            ssize_t n;
            int f = 1;
            while ((n = libssh2_channel_write_ex(c->ch, 0, in + in_off, in_len - in_off)) == LIBSSH2_ERROR_EAGAIN &&
                   (f = finish_send(&op, total_deadline)) == 0)
                ;
            if (n == LIBSSH2_ERROR_EAGAIN && f < 0) {
                rc = f;
                what = "run: writing stdin";
                break;
            }
            if (n > 0) {
                in_off += (size_t)n;
                progress = 1;
            } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
                /* the process may have exited without reading: stop feeding it */
                in_off = in_len;
                eof_sent = 1;
            }
        }
        if (in_off >= in_len && !eof_sent) {
            int r, f = 1;
            while ((r = libssh2_channel_send_eof(c->ch)) == LIBSSH2_ERROR_EAGAIN &&
                   (f = finish_send(&op, total_deadline)) == 0)
                ;
            if (r == LIBSSH2_ERROR_EAGAIN && f < 0) {
                rc = f;
                what = "run: sending EOF";
                break;
            }
            if (r != LIBSSH2_ERROR_EAGAIN)
                eof_sent = 1; /* a failed EOF (channel closing) is not an error for run */
        }
        /* stdout, stderr */
        for (int stream = 0; stream < 2 && !rc; stream++) {
            if (done[stream])
                continue;
            for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t n;
                int f = 1;
                while ((n = libssh2_channel_read_ex(c->ch, stream, chunk, CHUNK)) == LIBSSH2_ERROR_EAGAIN &&
                       (f = finish_send(&op, total_deadline)) == 0)
                    ;
                if (xssh__run_read_hook)
                    xssh__run_read_hook(s, stream, (long)n);
                if (n == LIBSSH2_ERROR_EAGAIN && f < 0) {
                    rc = f;
                    what = "run: reading";
                    break;
                }
                if (n > 0) {
                    progress = 1;
                    moved += (size_t)n;
                    xssh__unlock(s); /* callbacks never run under the session lock */
                    int stop = cb(stream, chunk, (size_t)n, ud);
                    xssh__lock(s);
                    if (stop) {
                        if (collecting) {
                            rc = XSSH_ENOMEM;
                            what = "run: collecting output";
                        } else {
                            cancelled = 1;
                            rc = XSSH_ECANCELLED;
                        }
                        break;
                    }
                    if (atomic_load(&s->state) == XSSH__STATE_CLOSED) {
                        rc = XSSH_ECLOSED;
                        break;
                    }
                    continue;
                }
                if (n == 0) { /* EOF (or close) of this stream */
                    done[stream] = 1;
                    /* a state change: reading this stream may have buffered the
                       other stream's EOF too, so look again before polling */
                    progress = 1;
                    break;
                }
                if (n == LIBSSH2_ERROR_EAGAIN)
                    break;
                rc = (int)n;
                what = "run: reading";
                break;
            }
        }
        if (rc)
            break;
        int64_t now = xssh__now_ms();
        if (progress) {
            last_activity = now;
            if (xssh__fiber_slice_over(moved)) {
                /* a multi op whose output never stops coming gives way to the
                   others of the thread (nothing half-sent here) */
                xssh__unlock(s);
                xssh__fiber_yield();
                xssh__lock(s);
                if (atomic_load(&s->state) == XSSH__STATE_CLOSED) {
                    rc = XSSH_ECLOSED;
                    break;
                }
            }
            continue;
        }
        if (done[0] && done[1])
            break;
        /* reading one stream drains the socket into libssh2's queue: stdout's
           data that came just after stdout's EAGAIN is queued by stderr's read,
           and no poll of the socket would announce it (extended data counts
           while stderr is read or merged into stdout) */
        if (libssh2_poll_channel_read(c->ch, !done[1] || opts->merge_stderr) == 1)
            continue;
        /* nothing moved: wait for the socket until the earlier deadline */
        int64_t idle_deadline = opts->idle_timeout_ms > 0 ? last_activity + opts->idle_timeout_ms : 0;
        int64_t user_deadline = min_deadline(total_deadline, idle_deadline);
        if (user_deadline && user_deadline <= now) {
            timed_out = 1;
            rc = XSSH_ETIMEOUT;
            break;
        }
        /* a quiet command and a dead peer differ: after a session timeout of
           silence the peer is probed (xssh__live_again) */
        int r = LIBSSH2_ERROR_EAGAIN;
        if (!xssh__live_again(&op, c, &lv, user_deadline, &r)) {
            if (r == XSSH_ETIMEOUT && !lv.dead)
                timed_out = 1;
            what = "run: waiting for output";
            rc = r;
            break;
        }
    }
    free(chunk);

    if (!rc) {
        /* both streams ended: wait for the server's CLOSE (it follows the exit
           status; closing first may lose the status), still bounded by the timeouts */
        int64_t idle_deadline = opts->idle_timeout_ms > 0 ? last_activity + opts->idle_timeout_ms : 0;
        int64_t user_deadline = min_deadline(total_deadline, idle_deadline);
        do {
            rc = libssh2_channel_wait_closed(c->ch);
        } while (xssh__live_again(&op, c, &lv, user_deadline, &rc));
        if (rc == XSSH_ETIMEOUT && !lv.dead)
            timed_out = 1;
        if (rc == LIBSSH2_ERROR_INVAL)
            rc = 0; /* libssh2 saw no EOF flag: just close */
        if (rc)
            what = "run: waiting for the command to end";
    }
    if (!rc) {
        /* close and collect the exit status */
        op.deadline_ms = s->timeout_ms > 0 ? xssh__now_ms() + s->timeout_ms : 0;
        op.deadline_ms = min_deadline(op.deadline_ms, total_deadline);
        rc = xssh__chan_close_wait(&op, c);
        if (rc == 0) {
            int st = 0, have = 0;
            xssh__chan_exit_status(c, &st, &have);
            if (status_out)
                *status_out = st;
            if (have_out)
                *have_out = have;
            if (signal_out)
                *signal_out = xssh__chan_exit_signal(c);
        } else {
            what = "run: closing the channel";
            if (rc == XSSH_ETIMEOUT)
                timed_out = 1;
        }
    }
    xssh__liveness_end(&op, &lv);
    if (rc) {
        /* the first cause wins: word the error before the clean-up, whose
           libssh2 calls overwrite libssh2's last error */
        long probe_after, reply_wait;
        xssh__liveness_params(s, &probe_after, &reply_wait);
        if (lv.dead)
            result = xssh__fail(s, XSSH_ETIMEOUT, LIBSSH2_ERROR_TIMEOUT,
                                "run '%s': the server sent nothing for %ld ms and did not answer a keepalive "
                                "within %ld ms more: the connection is presumed dead (%s %ld ms)",
                                command, probe_after, reply_wait,
                                s->alive_interval_ms > 0 ? "ServerAliveInterval" : "session timeout", probe_after);
        else if (timed_out || rc == XSSH_ETIMEOUT)
            result = timeout_fail(s, what, command, opts, start, last_activity);
        else if (cancelled)
            result = xssh__fail(s, XSSH_ECANCELLED, 0, "run '%s': cancelled by the callback", command);
        else if (rc == XSSH_ENOMEM)
            result = xssh__fail(s, XSSH_ENOMEM, 0, "%s: out of memory", what);
        else if (rc == XSSH_ECLOSED)
            result = xssh__fail(s, XSSH_ECLOSED, 0, "%s: the session was closed meanwhile", what);
        else
            result = xssh__fail_ssh(s, rc, "%s ('%s')", what, command);
        if (atomic_load(&s->state) != XSSH__STATE_CLOSED && !atomic_load(&c->closed)) {
            xssh__saved_err saved;
            xssh__err_save(&saved);
            close_quietly(&op, c);
            xssh__err_restore(s, &saved);
        }
    }
    xssh__op_end(&op);
    xssh_channel_unref(c);
    return result ? result : xssh__ok();
}

void xssh_run_result_free(xssh_run_result *r)
{
    if (!r)
        return;
    free(r->out);
    free(r->err);
    free(r->exit_signal);
    free(r);
}

int xssh_session_run(xssh_session *session, const char *command, const xssh_run_options *opts,
                     xssh_run_result **out)
{
    XSSH__ARG(session, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, session, "session is NULL");
    XSSH__ARG(session, command, "command is NULL");
    xssh_run_result *r = calloc(1, sizeof *r);
    if (!r)
        return xssh__fail(session, XSSH_ENOMEM, 0, "out of memory");
    collect col = {{0}, {0}};
    int e = run_core(session, command, opts, collect_cb, &col, &r->exit_status, &r->have_exit_status,
                     &r->exit_signal, 1);
    if (e) {
        free(col.out.p);
        free(col.err.p);
        free(r);
        return e;
    }
    if ((!col.out.p && buf_add(&col.out, "", 0)) || (!col.err.p && buf_add(&col.err, "", 0))) {
        free(col.out.p);
        free(col.err.p);
        xssh_run_result_free(r);
        return xssh__fail(session, XSSH_ENOMEM, 0, "out of memory");
    }
    r->out = col.out.p;
    r->out_len = col.out.len;
    r->err = col.err.p;
    r->err_len = col.err.len;
    *out = r;
    return xssh__ok();
}

int xssh_session_run_stream(xssh_session *session, const char *command, const xssh_run_options *opts,
                            xssh_run_callback callback, void *userdata, int *exit_status, int *have_exit_status,
                            char **exit_signal)
{
    if (exit_status)
        *exit_status = 0;
    if (have_exit_status)
        *have_exit_status = 0;
    if (exit_signal)
        *exit_signal = NULL;
    XSSH__ARG(NULL, session, "session is NULL");
    XSSH__ARG(session, command, "command is NULL");
    XSSH__ARG(session, callback, "callback is NULL");
    return run_core(session, command, opts, callback, userdata, exit_status, have_exit_status, exit_signal, 0);
}
