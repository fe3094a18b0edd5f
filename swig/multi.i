/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * multi.i — the multi interface (xssh/multi.h): Multi, MultiOp, MultiOpOptions.
 * Languages touched: all three (callbacks through the hooks of multi_types.i,
 * defined in swig/<lang>/xssh_<lang>_multi.swg).
 *
 *   m = Multi()                                  xssh_multi_new
 *   m.set_max_running(n) / m.set_stack_size(b)   xssh_multi_set_max_running / _stack_size
 *   o = MultiOpOptions()                         xssh_multi_op_opts (ms timeouts, flags, stdin)
 *   m.add_connect(host, options, o, on_output, on_done)             -> MultiOp
 *   m.add_host_run(host, options, command, o, on_output, on_done)  -> MultiOp
 *   m.add_run(session, command, o, on_output, on_done)             -> MultiOp
 *   m.add_host_put(host, options, local, remote, o, on_output, on_done)
 *   m.add_host_get(host, options, remote, local, o, on_output, on_done)
 *   m.add_sftp_get(sftp, remote, local, o, on_output, on_done)
 *   m.add_sftp_put(sftp, local, remote, o, on_output, on_done)
 *   m.add_channel_open(session, o, on_output, on_done)
 *   m.perform() / m.wait(ms) / m.perform_all(ms) -> ops still running
 *   m.info_read() -> the next finished MultiOp, or nil
 *   m.set_socket_callback(fn(fd, what)) / m.set_timer_callback(fn(ms))
 *   m.socket_action(fd, events) -> running; m.timeout() -> ms; m.fds() -> (ms, fd, ev, ...)
 *   op.state() / op.result_swig() / op.session() / op.channel() / op.cancel()
 *   multi_op_set_pull(o, flag)                   pull_output (run): op.take_output(stream) -> bytes,
 *                                                op.output_pending() -> (out_bytes, err_bytes)
 *   multi_op_set_caller(o, name)                 caller: add errors and failed/cancelled results
 *                                                name `name` (what the user called) at the start
 *                                                of their message; nil/None/"": none. Copied.
 *   m.add_sftp_listdir(sftp, path, o, on_output, on_done) -> op.entries() (idioms: list of
 *                                                (name, longentry, attrs) from entry_swig(i))
 *   m.add_sftp_open(session, o, on_output, on_done)      -> op.sftp()
 * on_output(op, stream, data) -> a true value cancels the op; on_done(op); nil: none.
 * xssh_multi_add_call is not wrapped: its function runs on the op's private C
 * stack, where no interpreter may run; language code drives sessions through
 * the external-loop form instead (socket callbacks + socket_action).
 */
%{
/* ---- contexts ---- */
static xssh_swig_opctx *xssh_swig_ctx_new(xssh_swig_multi *w, xssh_swig_ref *on_output, xssh_swig_ref *on_done,
                                          const char *stdin_data, size_t stdin_len)
{
  xssh_swig_opctx *c = (xssh_swig_opctx *)calloc(1, sizeof *c);
  if (!c)
    return NULL;
  if (stdin_data) {
    c->stdin_copy = (char *)malloc(stdin_len ? stdin_len : 1);
    if (!c->stdin_copy) {
      free(c);
      return NULL;
    }
    memcpy(c->stdin_copy, stdin_data, stdin_len);
    c->stdin_len = stdin_len;
  }
  c->w = w;
  c->on_output = *on_output; /* the context owns them from now on */
  *on_output = NULL;
  c->on_done = *on_done;
  *on_done = NULL;
  c->next = w->ctxs;
  if (w->ctxs)
    w->ctxs->prev = c;
  w->ctxs = c;
  return c;
}
static void xssh_swig_ctx_free(xssh_swig_opctx *c)
{
  xssh_swig_multi *w = c->w;
  if (c->prev)
    c->prev->next = c->next;
  else
    w->ctxs = c->next;
  if (c->next)
    c->next->prev = c->prev;
  if (c->on_output)
    xssh_lang_release(w, c->on_output);
  if (c->on_done)
    xssh_lang_release(w, c->on_done);
  free(c->stdin_copy);
  free(c);
}

/* ---- C callbacks -> language ---- */
static int xssh_swig_output_tramp(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud)
{
  xssh_swig_opctx *c = (xssh_swig_opctx *)ud;
  if (!c->on_output)
    return 0;
  if (c->w->failed)
    return 1;
  return xssh_lang_call_output(c->w, c->on_output, op, stream, data, len);
}
static void xssh_swig_done_tramp(xssh_multi_op *op, void *ud)
{
  xssh_swig_opctx *c = (xssh_swig_opctx *)ud;
  if (c->on_done && !c->w->failed)
    xssh_lang_call_done(c->w, c->on_done, op);
  xssh_swig_ctx_free(c);
}
static int xssh_swig_socket_tramp(xssh_multi *m, int fd, int what, void *ud)
{
  xssh_swig_multi *w = (xssh_swig_multi *)ud;
  (void)m;
  if (!w->socket_cb || w->failed)
    return w->failed ? 1 : 0;
  return xssh_lang_call_socket(w, w->socket_cb, fd, what);
}
static int xssh_swig_timer_tramp(xssh_multi *m, long timeout_ms, void *ud)
{
  xssh_swig_multi *w = (xssh_swig_multi *)ud;
  (void)m;
  if (!w->timer_cb || w->failed)
    return w->failed ? 1 : 0;
  return xssh_lang_call_timer(w, w->timer_cb, timeout_ms);
}

/* ---- one caller at a time (calls on one multi must not overlap: multi.h) ---- */
static int xssh_swig_enter(xssh_swig_multi *w)
{
  int expected = 0;
  if (!w || !w->m)
    return XSSH_ECLOSED;
  if (__atomic_compare_exchange_n(&w->busy, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    w->owner = pthread_self();
    w->failed = 0;
    return 0;
  }
  if (pthread_equal(w->owner, pthread_self())) { /* from one of its callbacks: the C API decides */
    w->busy++;
    return 0;
  }
  return XSSH_EBAD_USE; /* another thread is driving it */
}
static void xssh_swig_leave(xssh_swig_multi *w)
{
  if (w->busy > 1)
    w->busy--;
  else
    __atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);
}

static long xssh_swig_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* the options of one add: the context (callbacks, stdin) set into a copy */
typedef struct xssh_swig_opopts {
  xssh_multi_op_opts o;   /* stdin_data/on_output/on_done/userdata unused here */
  char *stdin_data;
  size_t stdin_len;
  int has_stdin;
  xssh_transfer_opts transfer; /* get/put: atomic, mode (copied by the multi at add) */
  int has_transfer;
  char *caller;           /* multi_op_set_caller: owned copy (NULL: none); the multi copies it at add */
} xssh_swig_opopts;

/* an add: enter, the options with the context (callbacks, stdin) set into o */
static int xssh_swig_add_begin(xssh_swig_multi *w, xssh_swig_opopts *opts, xssh_swig_ref *on_output,
                               xssh_swig_ref *on_done, xssh_multi_op_opts *o, xssh_swig_opctx **ctx)
{
  xssh_swig_opctx *c = NULL;
  xssh_swig_ref none1 = NULL, none2 = NULL;
  int rc = xssh_swig_enter(w);
  if (rc)
    return rc;
  if (!on_output)
    on_output = &none1;
  if (!on_done)
    on_done = &none2;
  memset(o, 0, sizeof *o);
  if (opts)
    *o = opts->o;
  o->stdin_data = NULL;
  o->stdin_len = 0;
  o->on_output = NULL;
  o->on_done = NULL;
  o->userdata = NULL;
  o->transfer = opts && opts->has_transfer ? &opts->transfer : NULL; /* the multi copies it */
  o->caller = opts ? opts->caller : NULL;                             /* the multi copies it */
  if (*on_output || *on_done || (opts && opts->has_stdin)) {
    c = xssh_swig_ctx_new(w, on_output, on_done, opts && opts->has_stdin ? (opts->stdin_data ? opts->stdin_data : "") : NULL,
                          opts ? opts->stdin_len : 0);
    if (!c) {
      xssh_swig_leave(w);
      return XSSH_ENOMEM;
    }
    o->stdin_data = c->stdin_copy;
    o->stdin_len = c->stdin_len;
    o->on_output = c->on_output ? xssh_swig_output_tramp : NULL;
    o->on_done = xssh_swig_done_tramp; /* always: it frees the context */
    o->userdata = c;
  }
  *ctx = c;
  return 0;
}
static int xssh_swig_add_end(xssh_swig_multi *w, xssh_swig_opctx *c, int rc)
{
  if (rc && c)
    xssh_swig_ctx_free(c);
  xssh_swig_leave(w);
  return rc;
}
/* CALL: the xssh_multi_add_* call, on the prepared options &o_ */
#define XSSH_SWIG_ADD(w, opts, on_output, on_done, CALL) do { \
    xssh_multi_op_opts o_; \
    xssh_swig_opctx *c_ = NULL; \
    int rc_ = xssh_swig_add_begin((w), (opts), (on_output), (on_done), &o_, &c_); \
    if (rc_) \
      return rc_; \
    return xssh_swig_add_end((w), c_, (CALL)); } while (0)

static xssh_swig_multi *xssh_swig_multi_new(void)
{
  xssh_swig_multi *w = (xssh_swig_multi *)calloc(1, sizeof *w);
  if (!w)
    return NULL;
  if (xssh_multi_new(&w->m) != 0) {
    free(w);
    return NULL;
  }
  w->lang = xssh_lang_multi_state();
  return w;
}
static void xssh_swig_multi_free(xssh_swig_multi *w)
{
  if (!w)
    return;
  xssh_multi_unref(w->m); /* cancels what is left; no callback is called */
  w->m = NULL;
  while (w->ctxs)
    xssh_swig_ctx_free(w->ctxs);
  if (w->socket_cb)
    xssh_lang_release(w, w->socket_cb);
  if (w->timer_cb)
    xssh_lang_release(w, w->timer_cb);
  xssh_lang_multi_state_free(w);
  free(w);
}
%}

/* constants and enums of multi.h (functions are wrapped below as methods) */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_multi_";
%ignore xssh_phase_name;
%ignore xssh_multi_op_opts;
%ignore xssh_multi_result;
%ignore xssh_multi_pollfd;
%ignore xssh_multi_output_cb;
%ignore xssh_multi_done_cb;
%ignore xssh_multi_socket_cb;
%ignore xssh_multi_timer_cb;
%ignore xssh_multi_fn;
%ignore xssh_multi;
%ignore xssh_sftp_dirent;
%include "xssh/multi.h"

%rename(phase_name) xssh_swig_phase_name;
%inline %{
/* The name of a phase (XSSH_PHASE_*): "resolve", "connect", "handshake", "hostkey", "auth",
    "channel", "command", "transfer", "call", "disconnect" or "none". */
static const char *xssh_swig_phase_name(int phase) { return xssh_phase_name(phase); }
%}

/* the pull form's sockets: appended as fd, events pairs */
%typemap(in, numinputs=0) (xssh_multi_pollfd **FDS_OUT, size_t *FDS_N) (xssh_multi_pollfd *tmp = NULL, size_t n = 0) "$1 = &tmp; $2 = &n;"
%typemap(argout) (xssh_multi_pollfd **FDS_OUT, size_t *FDS_N) {
  if (XSSH_OUTPUT_OK) {
    for (size_t i_ = 0; i_ < *$2; i_++) {
      %xssh_append_int((*$1)[i_].fd)
      %xssh_append_int((*$1)[i_].events)
    }
  }
}
%typemap(freearg) (xssh_multi_pollfd **FDS_OUT, size_t *FDS_N) "free(*$1);"

/* ---- MultiOpOptions ---- */
XSSH_HANDLE(xssh_swig_opopts, MultiOpOptions)
%{
static void xssh_swig_opopts_unref(xssh_swig_opopts *o)
{
  if (o) {
    free(o->stdin_data);
    free(o->caller);
  }
  free(o);
}
static int xssh_swig_opopts_make(long connect_ms, long auth_ms, long command_ms, long idle_ms, int merge_stderr, int pty,
                                 size_t max_output, int line_mode, int recursive, const void *data, size_t len,
                                 xssh_swig_opopts **out)
{
  xssh_swig_opopts *o;
  if (connect_ms < 0 || auth_ms < 0 || command_ms < 0 || idle_ms < 0)
    return XSSH_EARG;
  o = (xssh_swig_opopts *)calloc(1, sizeof *o);
  if (!o)
    return XSSH_ENOMEM;
  o->o.connect_timeout_ms = connect_ms;
  o->o.auth_timeout_ms = auth_ms;
  o->o.timeout_ms = command_ms;
  o->o.idle_timeout_ms = idle_ms;
  o->o.merge_stderr = merge_stderr != 0;
  o->o.pty = pty != 0;
  o->o.max_output = max_output;
  o->o.line_mode = line_mode != 0;
  o->o.recursive = recursive != 0;
  if (data) {
    o->stdin_data = (char *)malloc(len ? len : 1);
    if (!o->stdin_data) {
      free(o);
      return XSSH_ENOMEM;
    }
    memcpy(o->stdin_data, data, len);
    o->stdin_len = len;
    o->has_stdin = 1;
  }
  *out = o;
  return 0;
}
%}
typedef struct xssh_swig_opopts {} xssh_swig_opopts;
%extend xssh_swig_opopts {
  ~xssh_swig_opopts() { xssh_swig_opopts_unref($self); }
}
%apply (const void *OPT_BYTES, size_t OPT_LEN) { (const void *stdin_data, size_t stdin_len) };
%rename(multi_op_set_transfer) xssh_swig_multi_op_set_transfer;
%inline %{
/** Set the transfer options of get/put operations in @p opts (a MultiOpOptions): atomic
    (nonzero: write a temporary name beside the destination, renamed into place when complete;
    a failed or cancelled transfer leaves no file there) and mode (permission bits of a created
    file; 0: 0644). xssh_transfer_opts.atomic/.mode of xssh/sftp.h, copied by the multi when an
    op is added. Raises InvalidArgumentError for mode outside 0..07777. */
static xssh_err xssh_swig_multi_op_set_transfer(xssh_swig_opopts *opts, int atomic, long mode) {
  if (!opts || mode < 0 || mode > 07777)
    return XSSH_EARG;
  opts->transfer.atomic = atomic != 0;
  opts->transfer.mode = mode;
  opts->has_transfer = 1;
  return 0;
}
%}
%rename(multi_op_options) xssh_swig_multi_op_options;
%inline %{
/** The options of one multi operation (a MultiOpOptions for the add_* calls): timeouts in ms
    (>= 0; 0: the default) of the TCP connect + handshake, the host key + authentication, the
    command or transfer, and a command's longest silence; merge_stderr, pty (run); max_output
    (bytes kept per stream, 0: 1 MiB); line_mode (on_output gets whole lines); recursive (get/put
    of a directory tree); stdin_data (run: written to the command, then EOF; nil: EOF at once;
    copied). xssh_multi_op_opts of xssh/multi.h. Raises InvalidArgumentError for a negative timeout. */
static xssh_err xssh_swig_multi_op_options(long connect_ms, long auth_ms, long command_ms, long idle_ms, int merge_stderr, int pty, size_t max_output, int line_mode, int recursive, const void *stdin_data, size_t stdin_len, xssh_swig_opopts **OUT_HANDLE) { return xssh_swig_opopts_make(connect_ms, auth_ms, command_ms, idle_ms, merge_stderr, pty, max_output, line_mode, recursive, stdin_data, stdin_len, OUT_HANDLE); }
%}

/* ---- Multi ---- */
/* default arguments: Ruby and Lua take them here; Python's proxies have none (SWIG would make
   them *args overloads whose errors name no parameter): xssh_python_multi_idioms.swg redefines
   the methods with Python defaults over the generated functions */
#ifdef SWIGPYTHON
#define XSSH_DEFAULT(v)
#else
#define XSSH_DEFAULT(v) = v
#endif
XSSH_HANDLE(xssh_swig_multi, Multi)
%newobject xssh_swig_multi::xssh_swig_multi;
%apply xssh_swig_ref *CALLABLE { xssh_swig_ref *on_output, xssh_swig_ref *on_done, xssh_swig_ref *callback };
%apply int *RUNNING { int *running };
%apply const char *OPT_TEXT { const char *opt_command };
typedef struct xssh_swig_multi {} xssh_swig_multi;
%extend xssh_swig_multi {
  xssh_swig_multi() { return xssh_swig_multi_new(); }
  ~xssh_swig_multi() { xssh_swig_multi_free($self); }

  /* At most max operations run at once (the rest wait, queued, in the order added); 0: no limit. Default 64. */
  xssh_err set_max_running(int max) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    rc = xssh_multi_set_max_running($self->m, max);
    xssh_swig_leave($self);
    return rc;
  }
  /* Stack size of each running operation in bytes (minimum 64 KiB; default 256 KiB). */
  xssh_err set_stack_size(size_t bytes) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    rc = xssh_multi_set_stack_size($self->m, bytes);
    xssh_swig_leave($self);
    return rc;
  }

  /* Connect to host like connect(); the session: op.session() once done. */
  xssh_err add_connect(xssh_multi_op **OUT_HANDLE, const char *host, xssh_options *options, xssh_swig_opopts *opts XSSH_DEFAULT(NULL), xssh_swig_ref *on_output XSSH_DEFAULT(NULL),
                       xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_connect($self->m, host, options, &o_, OUT_HANDLE));
  }
  /* Connect to host, run command, disconnect (the unit of run_many). */
  xssh_err add_host_run(xssh_multi_op **OUT_HANDLE, const char *host, xssh_options *options, const char *command, xssh_swig_opopts *opts XSSH_DEFAULT(NULL),
                        xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_host_run($self->m, host, options, command, &o_, OUT_HANDLE));
  }
  /* Run command on an existing authenticated session. */
  xssh_err add_run(xssh_multi_op **OUT_HANDLE, xssh_session *session, const char *command, xssh_swig_opopts *opts XSSH_DEFAULT(NULL), xssh_swig_ref *on_output XSSH_DEFAULT(NULL),
                   xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_run($self->m, session, command, &o_, OUT_HANDLE));
  }
  /* Connect to host, upload local to remote over SFTP, disconnect. */
  xssh_err add_host_put(xssh_multi_op **OUT_HANDLE, const char *host, xssh_options *options, const char *local, const char *remote,
                        xssh_swig_opopts *opts XSSH_DEFAULT(NULL), xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_host_put($self->m, host, options, local, remote, &o_, OUT_HANDLE));
  }
  /* Connect to host, download remote to local over SFTP, disconnect. */
  xssh_err add_host_get(xssh_multi_op **OUT_HANDLE, const char *host, xssh_options *options, const char *remote, const char *local,
                        xssh_swig_opopts *opts XSSH_DEFAULT(NULL), xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_host_get($self->m, host, options, remote, local, &o_, OUT_HANDLE));
  }
  /* SFTP get on an existing SFTP subsystem. */
  xssh_err add_sftp_get(xssh_multi_op **OUT_HANDLE, xssh_sftp *sftp, const char *remote, const char *local, xssh_swig_opopts *opts XSSH_DEFAULT(NULL),
                        xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_sftp_get($self->m, sftp, remote, local, &o_, OUT_HANDLE));
  }
  /* SFTP put on an existing SFTP subsystem. */
  xssh_err add_sftp_put(xssh_multi_op **OUT_HANDLE, xssh_sftp *sftp, const char *local, const char *remote, xssh_swig_opopts *opts XSSH_DEFAULT(NULL),
                        xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_sftp_put($self->m, sftp, local, remote, &o_, OUT_HANDLE));
  }
  /* Open a session channel on session; the channel: op.channel() once done. */
  xssh_err add_channel_open(xssh_multi_op **OUT_HANDLE, xssh_session *session, xssh_swig_opopts *opts XSSH_DEFAULT(NULL), xssh_swig_ref *on_output XSSH_DEFAULT(NULL),
                            xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_channel_open($self->m, session, &o_, OUT_HANDLE));
  }

  /* Do what can be done now without waiting; returns the ops not yet done. */
  xssh_err perform(int *running) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    rc = xssh_multi_perform($self->m, running);
    xssh_swig_leave($self);
    return $self->failed ? 0 : rc;
  }
  /* Wait until a socket is ready, a timer is due or timeout_ms passes (-1: no limit), then
      perform; returns the ops not yet done. Waits in slices, checking for signals between them. */
  xssh_err wait(int *running, long timeout_ms XSSH_DEFAULT(-1)) {
    int rc = xssh_swig_enter($self);
    long start = xssh_swig_now_ms();
    if (rc)
      return rc;
    for (;;) {
      long slice = XSSH_SWIG_SLICE_MS, t0 = xssh_swig_now_ms();
      int before = -1;
      if (timeout_ms >= 0) {
        long left = timeout_ms - (t0 - start);
        if (left < slice)
          slice = left < 0 ? 0 : left;
      }
      xssh_multi_perform($self->m, &before);
      if ($self->failed || before == 0) {
        *running = before < 0 ? 0 : before;
        break;
      }
      rc = xssh_multi_wait($self->m, slice, running);
      if (rc || $self->failed || *running != before || *running == 0)
        break;
      long t1 = xssh_swig_now_ms();
      if (t1 - t0 < slice) /* woken before the slice ran out: something happened */
        break;
      if (timeout_ms >= 0 && t1 - start >= timeout_ms)
        break;
      if (xssh_lang_interrupted($self))
        break;
    }
    xssh_swig_leave($self);
    return $self->failed ? 0 : rc;
  }
  /* Drive until every op is done or timeout_ms passes (-1: no limit); returns the ops not yet
      done (0: all done, whatever each op's outcome). Waits in slices, checking for signals. */
  xssh_err perform_all(int *running, long timeout_ms XSSH_DEFAULT(-1)) {
    int rc = xssh_swig_enter($self);
    long start = xssh_swig_now_ms();
    if (rc)
      return rc;
    *running = 0;
    for (;;) {
      long slice = XSSH_SWIG_SLICE_MS;
      if (timeout_ms >= 0) {
        long left = timeout_ms - (xssh_swig_now_ms() - start);
        if (left < slice)
          slice = left < 0 ? 0 : left;
      }
      rc = xssh_multi_perform_all($self->m, slice);
      if ($self->failed)
        break;
      if (rc != XSSH_ETIMEOUT) {
        *running = 0;
        break;
      }
      rc = 0;
      if ((timeout_ms >= 0 && xssh_swig_now_ms() - start >= timeout_ms) || xssh_lang_interrupted($self)) {
        xssh_multi_perform($self->m, running);
        break;
      }
    }
    xssh_swig_leave($self);
    return $self->failed ? 0 : rc;
  }
  /* The next finished op not reported yet (completion order), or nil. */
  xssh_err info_read(xssh_multi_op **OUT_HANDLE) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    rc = xssh_multi_info_read($self->m, OUT_HANDLE);
    xssh_swig_leave($self);
    return rc < 0 ? rc : 0;
  }

  /* The socket callback callback(fd, what) (XSSH_POLL_IN|OUT, or XSSH_POLL_NONE: stop
      watching); nil clears it. A raised error fails the op waiting on the socket and is
      raised by the socket_action/perform call that was running. */
  xssh_err set_socket_callback(xssh_swig_ref *callback) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    xssh_swig_ref old = $self->socket_cb;
    $self->socket_cb = callback ? *callback : NULL; /* NULL: not given (clears) */
    if (callback)
      *callback = NULL; /* owned by the Multi now */
    rc = xssh_multi_set_socket_cb($self->m, $self->socket_cb ? xssh_swig_socket_tramp : NULL, $self);
    if (old)
      xssh_lang_release($self, old);
    xssh_swig_leave($self);
    return rc;
  }
  /* The timer callback callback(timeout_ms): call socket_action(XSSH_SOCKET_TIMEOUT, 0) in
      timeout_ms (0: soon; -1: no timer). nil clears it. */
  xssh_err set_timer_callback(xssh_swig_ref *callback) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    xssh_swig_ref old = $self->timer_cb;
    $self->timer_cb = callback ? *callback : NULL; /* NULL: not given (clears) */
    if (callback)
      *callback = NULL; /* owned by the Multi now */
    rc = xssh_multi_set_timer_cb($self->m, $self->timer_cb ? xssh_swig_timer_tramp : NULL, $self);
    if (old)
      xssh_lang_release($self, old);
    xssh_swig_leave($self);
    return rc;
  }
  /* Report fd ready for events (XSSH_POLL_*), or fd = XSSH_SOCKET_TIMEOUT: the timer ran out;
      returns the ops not yet done. */
  xssh_err socket_action(int fd, int events, int *running) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    rc = xssh_multi_socket_action($self->m, fd, events, running);
    xssh_swig_leave($self);
    return $self->failed ? 0 : rc;
  }
  /* ms until the next timer (-1: none; 0: now). */
  xssh_err timeout(long *OUTPUT) {
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    rc = xssh_multi_timeout($self->m, OUTPUT);
    xssh_swig_leave($self);
    return rc;
  }
  /* Pull form: (timeout_ms, fd1, events1, fd2, events2, ...) (the idioms reshape it). */
  xssh_err fds_swig(long *OUTPUT, xssh_multi_pollfd **FDS_OUT, size_t *FDS_N) {
    size_t cap = 16, n = 0;
    int rc = xssh_swig_enter($self);
    if (rc)
      return rc;
    for (;;) {
      xssh_multi_pollfd *p = (xssh_multi_pollfd *)realloc(*FDS_OUT, cap * sizeof *p);
      if (!p) {
        rc = XSSH_ENOMEM;
        break;
      }
      *FDS_OUT = p;
      rc = xssh_multi_fds($self->m, p, cap, &n, OUTPUT);
      if (rc || n <= cap)
        break;
      cap = n;
    }
    *FDS_N = rc ? 0 : n;
    xssh_swig_leave($self);
    return rc;
  }
}

/* ---- MultiOp ---- */
/* (the typemaps of a class's methods are those in effect where the class is declared, also
   for the %extend blocks after it: issue 17's take_output, output_pending, entry_swig) */
%apply (char **OUT_BYTES, size_t *OUT_LEN) { (char **pull_data, size_t *pull_len),
                                             (char **ent_name, size_t *ent_name_len),
                                             (char **ent_long, size_t *ent_long_len) };
%apply size_t *OUTPUT { size_t *pend_out, size_t *pend_err, size_t *ent_count };
%apply const char **OUT_BORROWED { const char **r_host, const char **r_message, const char **r_signal };
%apply int *OUTPUT { int *r_error, int *r_phase, int *r_have, int *r_status, int *r_out_trunc, int *r_err_trunc, int *r_sftp_status };
%apply long *OUTPUT { long *r_duration };
%apply size_t *OUTPUT { size_t *r_bytes };
%apply (const unsigned char **OUT_BBYTES, size_t *OUT_LEN) { (const unsigned char **r_out, size_t *r_out_len),
                                                            (const unsigned char **r_err, size_t *r_err_len) };
%rename(state) xssh_multi_op::state_swig;
%rename(session) xssh_multi_op::session_swig;
%rename(channel) xssh_multi_op::channel_swig;
%rename(cancel) xssh_multi_op::cancel_swig;
struct xssh_multi_op {};
%extend xssh_multi_op {
  ~xssh_multi_op() { xssh_multi_op_unref($self); }
  /* XSSH_OP_QUEUED, XSSH_OP_RUNNING or XSSH_OP_DONE. */
  xssh_err state_swig(int *OUTPUT) {
    int st = xssh_multi_op_state($self);
    if (st < 0)
      return st;
    *OUTPUT = st;
    return 0;
  }
  /* (error, phase, message, host, have_exit_status, exit_status, exit_signal, stdout,
      stdout_truncated, stderr, stderr_truncated, bytes, duration_ms, sftp_status) of a done op
      (the idioms make a result object of it); BadUseError while not done. */
  xssh_err result_swig(int *r_error, int *r_phase, const char **r_message, const char **r_host, int *r_have,
                       int *r_status, const char **r_signal, const unsigned char **r_out, size_t *r_out_len,
                       int *r_out_trunc, const unsigned char **r_err, size_t *r_err_len, int *r_err_trunc,
                       size_t *r_bytes, long *r_duration, int *r_sftp_status) {
    const xssh_multi_result *r = NULL;
    int rc = xssh_multi_op_result($self, &r);
    if (rc)
      return rc;
    *r_host = r->host;
    *r_error = r->error;
    *r_phase = r->phase;
    *r_message = r->message ? r->message : "";
    *r_have = r->have_exit_status;
    *r_status = r->exit_status;
    *r_signal = r->exit_signal;
    *r_out = (const unsigned char *)(r->out ? r->out : "");
    *r_out_len = r->out ? r->out_len : 0;
    *r_out_trunc = r->out_truncated;
    *r_err = (const unsigned char *)(r->err ? r->err : "");
    *r_err_len = r->err ? r->err_len : 0;
    *r_err_trunc = r->err_truncated;
    *r_bytes = (size_t)r->bytes;
    *r_duration = (long)r->duration_ms;
    *r_sftp_status = r->sftp_status;
    return 0;
  }
  /* The session of a done connect op. */
  xssh_err session_swig(xssh_session **OUT_HANDLE) { return xssh_multi_op_session($self, OUT_HANDLE); }
  /* The channel of a done channel-open op. */
  xssh_err channel_swig(xssh_channel **OUT_HANDLE) { return xssh_multi_op_channel($self, OUT_HANDLE); }
  /* Cancel: a queued op is done at once, a running one at its next wait (XSSH_ECANCELLED). */
  xssh_err cancel_swig() { return xssh_multi_op_cancel($self); }
}

/* ---- pull-mode output, SFTP listdir and sftp_open (issue 17) ---- */
%rename(multi_op_set_pull) xssh_swig_multi_op_set_pull;
%inline %{
/** Pull mode for run operations in @p opts (a MultiOpOptions): nonzero pull keeps the output in
    the op for op.take_output(stream) instead of on_output or the result (no callback: an event
    loop adapter takes it after each turn). At most max_output (0: 1 MiB) untaken bytes per
    stream: a full stream stops the op reading its channel until taken (nothing is lost).
    With line_mode (multi_op_options), take_output returns whole lines only.
    xssh_multi_op_opts.pull_output of xssh/multi.h; on_output must then be nil (InvalidArgumentError
    at add). */
static xssh_err xssh_swig_multi_op_set_pull(xssh_swig_opopts *opts, int pull) {
  if (!opts)
    return XSSH_EARG;
  opts->o.pull_output = pull != 0;
  return 0;
}
%}
%rename(multi_op_set_caller) xssh_swig_multi_op_set_caller;
%inline %{
/** Name what the user called in the messages of the ops added with @p opts (a MultiOpOptions):
    @p caller ("xssh.aio.Session.run()", "Xssh::Session#run", "xssh.async.run") replaces the C
    function's name at the start of an add error and of a failed or cancelled op's result message,
    or goes in front of any other message ("caller: ..."), never twice (the rule of
    xssh_multi_op_opts.caller in xssh/multi.h). Copied; setting it again replaces it; nil/None or
    "" clears it (messages as without it). Raises InvalidArgumentError for a NULL opts,
    OutOfMemoryError when the copy fails. */
static xssh_err xssh_swig_multi_op_set_caller(xssh_swig_opopts *opts, const char *caller) {
  /* (no braced if in an %inline block: scripts/gen-api-docs.py would take it for a function) */
  size_t n = caller ? strlen(caller) : 0;
  char *copy = NULL;
  if (!opts)
    return XSSH_EARG;
  if (n && !(copy = (char *)malloc(n + 1)))
    return XSSH_ENOMEM;
  if (copy)
    memcpy(copy, caller, n + 1);
  free(opts->caller);
  opts->caller = copy;
  return 0;
}
%}
%extend xssh_swig_multi {
  /* List the directory path over sftp: op.entries() once done ("." and ".." left out). */
  xssh_err add_sftp_listdir(xssh_multi_op **OUT_HANDLE, xssh_sftp *sftp, const char *path, xssh_swig_opopts *opts XSSH_DEFAULT(NULL),
                            xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_sftp_listdir($self->m, sftp, path, &o_, OUT_HANDLE));
  }
  /* Start the SFTP subsystem on session without blocking; op.sftp() once done. */
  xssh_err add_sftp_open(xssh_multi_op **OUT_HANDLE, xssh_session *session, xssh_swig_opopts *opts XSSH_DEFAULT(NULL),
                         xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done, xssh_multi_add_sftp_open($self->m, session, &o_, OUT_HANDLE));
  }
}
%rename(take_output) xssh_multi_op::take_output_swig;
%rename(output_pending) xssh_multi_op::output_pending_swig;
%rename(sftp) xssh_multi_op::sftp_swig;
%extend xssh_multi_op {
  /* The output of stream (XSSH_STREAM_STDOUT / XSSH_STREAM_STDERR) a pull_output run op holds
      now, as bytes ("" when nothing; with the op done, "" means the stream has ended); taking it
      lets a throttled op read on. With line_mode: whole lines only. */
  xssh_err take_output_swig(int stream, char **pull_data, size_t *pull_len) {
    return xssh_multi_op_take_output($self, stream, pull_data, pull_len);
  }
  /* (stdout bytes, stderr bytes) a pull_output run op holds ready to take. */
  xssh_err output_pending_swig(size_t *pend_out, size_t *pend_err) {
    return xssh_multi_op_output_pending($self, pend_out, pend_err);
  }
  /* The SFTP object of a done sftp_open op (usable with the blocking SFTP API). */
  xssh_err sftp_swig(xssh_sftp **OUT_HANDLE) { return xssh_multi_op_sftp($self, OUT_HANDLE); }
  /* How many entries a done listdir op has (the idioms' entries() reads them). */
  xssh_err entries_count_swig(size_t *ent_count) {
    const xssh_sftp_dirent *e = NULL;
    return xssh_multi_op_entries($self, &e, ent_count);
  }
  /* Entry i of a done listdir op: (name bytes, longentry bytes, SFTPAttributes), the shape of
      SFTPHandle.readdir_next. */
  xssh_err entry_swig(size_t i, char **ent_name, size_t *ent_name_len, char **ent_long, size_t *ent_long_len,
                      xssh_sftp_attrs *ATTRS_OUT) {
    const xssh_sftp_dirent *e = NULL;
    size_t n = 0;
    int rc = xssh_multi_op_entries($self, &e, &n);
    if (rc)
      return rc;
    if (i >= n)
      return XSSH_EARG;
    *ent_name = (char *)malloc(e[i].name_len + 1);
    *ent_long = (char *)malloc(strlen(e[i].longentry) + 1);
    if (!*ent_name || !*ent_long)
      return XSSH_ENOMEM;
    memcpy(*ent_name, e[i].name, e[i].name_len + 1);
    *ent_name_len = e[i].name_len;
    *ent_long_len = strlen(e[i].longentry);
    memcpy(*ent_long, e[i].longentry, *ent_long_len + 1);
    *ATTRS_OUT = e[i].attrs;
    return 0;
  }
}
/* ---- local forward as an operation (xssh_multi_add_forward_local) ----
 *   op = m.add_forward_local(session, bind_host, bind_port, host, port, o, on_output, on_done)
 *        (bind_host nil/None: 127.0.0.1; bind_port 0: any free port; the listener is bound here)
 *   op.forward_port() -> the bound local port
 *   op.forward_stats() -> as Forward.stats(): Python ForwardStats(accepted, active, failed,
 *        bytes_out, bytes_in); Lua five values; Ruby an array of five
 * The op runs until op.cancel() (XSSH_ECANCELLED) or its session fails. */
%apply const char *OPT_TEXT { const char *opt_bind_host };
%{
/* (accepted, active, failed, bytes_out, bytes_in) as five outputs, as Forward.stats */
static int xssh_multi_op_forward_stats_swig(xssh_multi_op *op, long *accepted, long *active, long *failed,
                                            long *bytes_out, long *bytes_in)
{
  xssh_forward_stats st;
  int rc = xssh_multi_op_forward_stats(op, &st);
  if (rc == 0) {
    *accepted = (long)st.accepted; *active = (long)st.active; *failed = (long)st.failed;
    *bytes_out = (long)st.bytes_out; *bytes_in = (long)st.bytes_in;
  }
  return rc;
}
%}
%extend xssh_swig_multi {
  /* Local forward (ssh -L) as an op: listen on bind_host:bind_port (bound now; nil: 127.0.0.1,
      0: any port: op.forward_port()), carry each connection through its own direct-tcpip channel
      to host:port as the server sees it, until cancelled. */
  xssh_err add_forward_local(xssh_multi_op **OUT_HANDLE, xssh_session *session, const char *opt_bind_host, int bind_port,
                             const char *host, int port, xssh_swig_opopts *opts XSSH_DEFAULT(NULL),
                             xssh_swig_ref *on_output XSSH_DEFAULT(NULL), xssh_swig_ref *on_done XSSH_DEFAULT(NULL)) {
    XSSH_SWIG_ADD($self, opts, on_output, on_done,
                  xssh_multi_add_forward_local($self->m, session, opt_bind_host, bind_port, host, port, &o_, OUT_HANDLE));
  }
}
#ifdef SWIGPYTHON
%extend xssh_swig_multi {
%pythoncode %{
    def add_forward_local(self, session, bind_host, bind_port, host, port, opts=None, on_output=None,
                          on_done=None) -> "MultiOp":
        """Local forward (ssh -L) as an op: listen on bind_host:bind_port (bound now; None:
        127.0.0.1; 0: any free port, see op.forward_port()) and carry each connection through
        its own direct-tcpip channel to host:port as the server sees it, until op.cancel()."""
        return _core.Multi_add_forward_local(self, session, bind_host, bind_port, host, port, opts, on_output,
                                             on_done)
%}
}
%feature("pythonappend") xssh_multi_op::forward_stats_swig %{
        val = ForwardStats(*val)
%}
#endif
%rename(forward_stats) xssh_multi_op::forward_stats_swig;
%rename(forward_port) xssh_multi_op::forward_port_swig;
%extend xssh_multi_op {
  /* The local port a forward op listens on. */
  xssh_err forward_port_swig(int *OUTPUT) { return xssh_multi_op_forward_port($self, OUTPUT); }
  /* Counters of a forward op: accepted, active, failed, bytes_out, bytes_in (as Forward.stats). */
  xssh_err forward_stats_swig(long *OUTPUT, long *OUTPUT, long *OUTPUT, long *OUTPUT, long *OUTPUT);
}

#ifdef SWIGLUA
/* Lua has no mkdir: get_many's per-host directories (bindings/lua/xssh.lua) */
%{
static int xssh_swig_mkdir_parents(const char *path)
{
  char buf[4096];
  size_t n = path ? strlen(path) : 0;
  if (!n || n >= sizeof buf)
    return XSSH_EARG;
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1;; p++) {
    char c = *p;
    if (c != '/' && c != 0)
      continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return XSSH_EFILE;
    *p = c;
    if (!c)
      return 0;
  }
}
%}
%rename(mkdir_p) xssh_swig_mkdir_p;
%inline %{
/** Create the directory path and its missing parents (mode 0777 & ~umask), as `mkdir -p`. */
static xssh_err xssh_swig_mkdir_p(const char *path) { return xssh_swig_mkdir_parents(path); }
%}
#endif
