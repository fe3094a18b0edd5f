/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * multi_types.i — the C side every language's multi glue shares (included by
 * xssh.i before the fenced swig/<lang>/xssh_<lang>_multi.swg files, which
 * define the hooks declared here; multi.i wraps the objects).
 * Languages touched: all three.
 *
 * A Multi of the bindings is an xssh_swig_multi: the C xssh_multi plus what
 * the language needs to call back into itself:
 *  - xssh_swig_ref: one language callable held alive by C (Python: a strong
 *    reference; Ruby: a marked VALUE box; Lua: a registry reference). Made by
 *    the CALLABLE typemap of each language, released with xssh_lang_release();
 *  - one xssh_swig_opctx per operation with callbacks or stdin: the callables
 *    and the stdin copy, freed when the op is done (after its on_done) or with
 *    the Multi (whose last reference cancels its ops without calling them);
 *  - the first exception a callback raised (or a signal seen between wait
 *    slices), raised by the driving call that was running
 *    (perform / wait / perform_all / socket_action) once it has returned.
 * Driving calls release the interpreter lock (each language's usual rule for
 * every C call); the trampolines take it back to call the language.
 * Long drives (wait, perform_all) wait in slices of XSSH_SWIG_SLICE_MS and ask
 * the language between slices whether it must stop (Ctrl-C, Thread#raise, a
 * Lua hook): no busy polling (each slice is one poll(2) on the ops' sockets).
 */
%{
#include <time.h>
#include <pthread.h>
#include "xssh/multi.h"

#define XSSH_SWIG_SLICE_MS 200L

typedef void *xssh_swig_ref; /* a language callable held alive (NULL: none) */

typedef struct xssh_swig_opctx xssh_swig_opctx;
typedef struct xssh_swig_multi {
  xssh_multi *m;
  xssh_swig_opctx *ctxs;       /* live contexts (doubly linked) */
  xssh_swig_ref socket_cb;     /* fn(fd, what) */
  xssh_swig_ref timer_cb;      /* fn(timeout_ms) */
  void *lang;                  /* the language's own state (the pending exception, its Lua state) */
  int failed;                  /* a callback raised / a signal arrived: the drive stops, then raises */
  pthread_t owner;             /* the thread driving it (while busy) */
  int busy;                    /* a driving call is running */
} xssh_swig_multi;

struct xssh_swig_opctx {
  xssh_swig_multi *w;
  xssh_swig_opctx *prev, *next;
  xssh_swig_ref on_output; /* fn(op, stream, data) -> truthy cancels */
  xssh_swig_ref on_done;   /* fn(op) */
  char *stdin_copy;
  size_t stdin_len;
};

/* ---- language hooks (swig/<lang>/xssh_<lang>_multi.swg) ---- */
static void xssh_lang_release(xssh_swig_multi *w, xssh_swig_ref ref);
/* nonzero: cancel the op */
static int xssh_lang_call_output(xssh_swig_multi *w, xssh_swig_ref fn, xssh_multi_op *op, int stream,
                                 const char *data, size_t len);
static void xssh_lang_call_done(xssh_swig_multi *w, xssh_swig_ref fn, xssh_multi_op *op);
static int xssh_lang_call_socket(xssh_swig_multi *w, xssh_swig_ref fn, int fd, int what);
static int xssh_lang_call_timer(xssh_swig_multi *w, xssh_swig_ref fn, long timeout_ms);
/* called between wait slices (without the interpreter lock): nonzero stops the drive
   (the language recorded why in w: raised by the driving call) */
static int xssh_lang_interrupted(xssh_swig_multi *w);
/* the language state of a new Multi; freed with it */
static void *xssh_lang_multi_state(void);
static void xssh_lang_multi_state_free(xssh_swig_multi *w);
%}
