/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * channel.i — Channel, Session.open_session and session_run() (behind Session.run).
 * Languages touched: all three. Shapes follow ssh2-python where they are
 * language-neutral: read*() → (count, bytes), write*() → (count, written),
 * EAGAIN returned as a value; Python-only reshaping lives in the Channel
 * section of python/xssh_python_idioms.swg.
 */
/* before every wrapper (the Session %extend bodies are emitted with session.i) */
%begin %{
#include <stdlib.h>
#include <string.h>
typedef long xssh_count; /* the C type behind the xssh_count typemap (typemaps.i) */
/* NULL text out → "" so every language gets bytes */
static void xssh_swig_bytes_or_empty(char **p, size_t *n)
{
  if (!*p)
    *p = strdup("");
  *n = *p ? strlen(*p) : 0;
}
%}

%rename("$ignore", regextarget=1, %$isfunction) "^xssh_(channel_|session_run|run_result_)";
%ignore xssh_run_options;
%ignore xssh_run_result;
%ignore xssh_run_callback;
%include "xssh/channel.h"
/* the most bytes one read call returns (xssh/common.h): read(size) clamps to it */
%constant unsigned long XSSH_IO_MAX = XSSH_IO_MAX;

/* outputs every language gets the same way */
%typemap(in, numinputs=0) unsigned long *OUTPUT (unsigned long tmp = 0) "$1 = &tmp;"
%typemap(argout) unsigned long *OUTPUT { if (XSSH_OUTPUT_OK) { %xssh_append_int((long long)*$1) } }
/* bytes written: reported with EAGAIN too (the caller resumes from there) */
%typemap(in, numinputs=0) size_t *WRITTEN (size_t tmp = 0) "$1 = &tmp;"
%typemap(argout) size_t *WRITTEN { %xssh_append_int((long long)*$1) }

%apply int *OUTPUT { int *status, int *have, int *is_eof, int *is_closed };
%apply unsigned int *OUTPUT { unsigned int *new_window };
%apply size_t *OUTPUT { size_t *flushed };
%apply unsigned long *OUTPUT { unsigned long *window, unsigned long *read_avail, unsigned long *window_size_initial };
%apply (char **OUT_BYTES, size_t *OUT_LEN) { (char **sig_name, size_t *sig_name_len),
                                             (char **sig_msg, size_t *sig_msg_len),
                                             (char **sig_lang, size_t *sig_lang_len),
                                             (char **run_out, size_t *run_out_len),
                                             (char **run_err, size_t *run_err_len),
                                             (char **run_sig, size_t *run_sig_len) };
%apply int *OUTPUT { int *run_status, int *run_have };
%apply const char *OPT_TEXT { const char *opt_message, const char *opt_auth_proto, const char *opt_auth_cookie };

%rename(read) xssh_channel::read_swig;
%rename(read_ex) xssh_channel::read_ex_swig;
%rename(read_stderr) xssh_channel::read_stderr_swig;
%rename(write) xssh_channel::write_swig;
%rename(write_ex) xssh_channel::write_ex_swig;
%rename(write_stderr) xssh_channel::write_stderr_swig;
%rename(get_exit_status) xssh_channel::get_exit_status_swig;
%rename(exit_status_ex) xssh_channel::exit_status_ex_swig;
%rename(get_exit_signal) xssh_channel::get_exit_signal_swig;
%rename(process_startup) xssh_channel::process_startup_swig;
%rename(pty) xssh_channel::pty_swig;
%rename(pty_ex) xssh_channel::pty_ex_swig;
%rename(x11_req) xssh_channel::x11_req_swig;
%rename(x11_req_ex) xssh_channel::x11_req_ex_swig;
%rename(window_read) xssh_channel::window_read_swig;
%rename(window_read_ex) xssh_channel::window_read_ex_swig;
%rename(window_write) xssh_channel::window_write_swig;
%rename(window_write_ex) xssh_channel::window_write_ex_swig;
%rename(receive_window_adjust) xssh_channel::receive_window_adjust_swig;
%rename(flush) xssh_channel::flush_swig;
%rename(flush_ex) xssh_channel::flush_ex_swig;
%rename(flush_stderr) xssh_channel::flush_stderr_swig;

struct xssh_channel {};
%extend xssh_channel {
  ~xssh_channel() { xssh_channel_unref($self); }

  /* requests */
  xssh_err execute(const char *command);
  xssh_err shell();
  xssh_err subsystem(const char *name);
  xssh_err process_startup_swig(const char *request, const char *opt_message = NULL) {
    return xssh_channel_process_startup($self, request, opt_message, opt_message ? strlen(opt_message) : 0);
  }
  xssh_err pty_swig(const char *term = "vt100", int width = 80, int height = 24, int width_px = 0, int height_px = 0) {
    return xssh_channel_pty($self, term, NULL, 0, width, height, width_px, height_px);
  }
  xssh_err pty_ex_swig(const char *term, const void *OPT_BYTES, size_t OPT_LEN, int width = 80, int height = 24,
                       int width_px = 0, int height_px = 0) {
    return xssh_channel_pty($self, term, (const char *)OPT_BYTES, OPT_LEN, width, height, width_px, height_px);
  }
  xssh_err pty_size(int width, int height, int width_px = 0, int height_px = 0);
  xssh_err setenv(const char *name, const char *value);
  xssh_err x11_req_swig(int screen_number = 0) { return xssh_channel_x11_req($self, screen_number); }
  xssh_err x11_req_ex_swig(int single_connection, const char *opt_auth_proto, const char *opt_auth_cookie,
                           int screen_number) {
    return xssh_channel_x11_req_ex($self, single_connection, opt_auth_proto, opt_auth_cookie, screen_number);
  }
  xssh_err signal(const char *signame);
  xssh_err request_auth_agent();

  /* data: (count, bytes); EAGAIN comes back as the count */
  xssh_count read_swig(void *READ_BUF, size_t READ_CAP, size_t *READ_LEN) {
    int rc = xssh_channel_read_ex($self, 0, READ_BUF, READ_CAP, READ_LEN);
    return rc < 0 ? rc : (xssh_count)*READ_LEN;
  }
  xssh_count read_stderr_swig(void *READ_BUF, size_t READ_CAP, size_t *READ_LEN) {
    int rc = xssh_channel_read_ex($self, 1, READ_BUF, READ_CAP, READ_LEN);
    return rc < 0 ? rc : (xssh_count)*READ_LEN;
  }
  xssh_count read_ex_swig(void *READ_BUF, size_t READ_CAP, size_t *READ_LEN, int stream_id = 0) {
    int rc = xssh_channel_read_ex($self, stream_id, READ_BUF, READ_CAP, READ_LEN);
    return rc < 0 ? rc : (xssh_count)*READ_LEN;
  }
  /* (count, written): count is EAGAIN when the window/socket is full; resume from written */
  xssh_count write_swig(const void *IN_BYTES, size_t IN_LEN, size_t *WRITTEN) {
    int rc = xssh_channel_write_ex($self, 0, IN_BYTES, IN_LEN, WRITTEN);
    return rc < 0 ? rc : (xssh_count)*WRITTEN;
  }
  xssh_count write_stderr_swig(const void *IN_BYTES, size_t IN_LEN, size_t *WRITTEN) {
    int rc = xssh_channel_write_ex($self, 1, IN_BYTES, IN_LEN, WRITTEN);
    return rc < 0 ? rc : (xssh_count)*WRITTEN;
  }
  xssh_count write_ex_swig(int stream_id, const void *IN_BYTES, size_t IN_LEN, size_t *WRITTEN) {
    int rc = xssh_channel_write_ex($self, stream_id, IN_BYTES, IN_LEN, WRITTEN);
    return rc < 0 ? rc : (xssh_count)*WRITTEN;
  }
  xssh_err flush_swig(size_t *flushed) { return xssh_channel_flush($self, flushed); }
  xssh_err flush_stderr_swig(size_t *flushed) { return xssh_channel_flush_stderr($self, flushed); }
  xssh_err flush_ex_swig(int stream_id, size_t *flushed) { return xssh_channel_flush_ex($self, stream_id, flushed); }
  xssh_err handle_extended_data(int mode);

  /* EOF, close, exit */
  xssh_err send_eof();
  xssh_err eof(int *is_eof);
  xssh_err wait_eof();
  xssh_err close();
  xssh_err wait_closed();
  xssh_err is_closed(int *is_closed);
  /* the status, 0 when none was received (ssh2-python) */
  xssh_err get_exit_status_swig(int *status) { return xssh_channel_get_exit_status($self, status, NULL); }
  /* (status, have): have is 0 until the server sent a status */
  xssh_err exit_status_ex_swig(int *status, int *have) { return xssh_channel_get_exit_status($self, status, have); }
  /* (name, message, language) as bytes; empty when no signal */
  xssh_err get_exit_signal_swig(char **sig_name, size_t *sig_name_len, char **sig_msg, size_t *sig_msg_len,
                                char **sig_lang, size_t *sig_lang_len) {
    int rc = xssh_channel_get_exit_signal($self, sig_name, sig_msg, sig_lang);
    if (rc == 0) {
      xssh_swig_bytes_or_empty(sig_name, sig_name_len);
      xssh_swig_bytes_or_empty(sig_msg, sig_msg_len);
      xssh_swig_bytes_or_empty(sig_lang, sig_lang_len);
    }
    return rc;
  }

  /* windows */
  xssh_err window_read_swig(unsigned long *window) { return xssh_channel_window_read($self, window); }
  xssh_err window_read_ex_swig(unsigned long *window, unsigned long *read_avail, unsigned long *window_size_initial) {
    return xssh_channel_window_read_ex($self, window, read_avail, window_size_initial);
  }
  xssh_err window_write_swig(unsigned long *window) { return xssh_channel_window_write($self, window); }
  xssh_err window_write_ex_swig(unsigned long *window, unsigned long *window_size_initial) {
    return xssh_channel_window_write_ex($self, window, window_size_initial);
  }
  xssh_err receive_window_adjust_swig(unsigned long adjustment, unsigned int *new_window, int force = 0) {
    return xssh_channel_receive_window_adjust($self, adjustment, force, new_window);
  }
}

%extend xssh_session {
  /* a new session channel (EAGAIN comes back as the value in non-blocking mode) */
  xssh_err open_session(xssh_channel **OUT_HANDLE) { return xssh_channel_open_session(OUT_HANDLE, $self); }

}

/* run(): (stdout, stderr, exit_status, have_exit_status, exit_signal) — the bindings'
   idioms build their result object from it (Session.run). Timeouts in milliseconds
   (0: none). A module function: typemaps do not reach %extend blocks of a class
   declared before them (Session is declared in session.i). */
%rename(session_run) xssh_swig_session_run;
%inline %{
xssh_err xssh_swig_session_run(xssh_session *session, const char *command, char **run_out, size_t *run_out_len,
                               char **run_err, size_t *run_err_len, int *run_status, int *run_have,
                               char **run_sig, size_t *run_sig_len, const void *OPT_BYTES, size_t OPT_LEN,
                               long timeout_ms, long idle_timeout_ms, int merge_stderr, int pty) {
    xssh_run_options o;
    memset(&o, 0, sizeof o);
    o.stdin_data = OPT_BYTES;
    o.stdin_len = OPT_LEN;
    o.timeout_ms = timeout_ms;
    o.idle_timeout_ms = idle_timeout_ms;
    o.merge_stderr = merge_stderr;
    o.pty = pty;
    xssh_run_result *r = NULL;
    int rc = xssh_session_run(session, command, &o, &r);
    if (rc != 0)
      return rc;
    *run_out = r->out;
    *run_out_len = r->out_len;
    *run_err = r->err;
    *run_err_len = r->err_len;
    *run_status = r->exit_status;
    *run_have = r->have_exit_status;
    *run_sig = r->exit_signal;
    r->out = r->err = r->exit_signal = NULL;
    xssh_swig_bytes_or_empty(run_sig, run_sig_len);
    xssh_run_result_free(r);
    return 0;
  }
%}
