/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * connect.i — connecting the way ssh does (xssh/connect.h): Options
 * (xssh_options), the module function connect(host, options) -> Session, and
 * the process-wide log hook. Languages touched: all three.
 *
 *   o = Options()                      xssh_options_new
 *   o.set(name, value)                 xssh_options_set (ssh_config keyword, as ssh -o)
 *   o.set_config_text(text, origin)    xssh_options_set_config_text (origin may be nil)
 *   o.resolve(host) -> text            xssh_options_resolve ("ssh -G host")
 *   o.set_passphrase_callback(cb)      xssh_options_set_passphrase_cb
 *   o.set_prompt_callback(cb)          xssh_options_set_prompt_cb
 *   connect(host, options) -> Session  xssh_connect (options may be nil)
 *   log_set(cb, level)                 xssh_log_set
 *   XSSH_LOG_NONE .. XSSH_LOG_TRACE    the levels
 *
 * Callbacks are the language's own callables. A language that can call back
 * defines, in its fenced primitives (before the shared files), typemaps for the
 * pairs below (one input each: its callable or nil) and the SWIG macro
 * XSSH_CONNECT_CB_TYPEMAP; see python/xssh_python_callbacks.swg:
 *   (xssh_passphrase_cb PASSPHRASE_CB, void *PASSPHRASE_UD)
 *       cb(keyfile) -> passphrase text, or nil to skip the key
 *   (xssh_prompt_cb PROMPT_CB, void *PROMPT_UD)
 *       cb(name, instruction, prompt, echo) -> answer text, or nil to give up
 *   (xssh_log_cb LOG_CB, void *LOG_UD)
 *       cb(level, host, message), called on any thread (xssh's forward threads too)
 * The language keeps the callable alive as long as the options (or the log
 * hook) may call it; C keeps only the pointer. A language may also wrap the
 * connect call (e.g. %exception xssh_connect_swig) to re-raise what its
 * callable raised during the connect. Without XSSH_CONNECT_CB_TYPEMAP the
 * three callback methods are left out.
 */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_options_";
%ignore xssh_connect;
%ignore xssh_log_set;
/* host strings are read in C by the calls that take them (run_many, the multi) */
%ignore xssh_host_parse;
%ignore xssh_passphrase_cb;
%ignore xssh_prompt_cb;
%ignore xssh_log_cb;
%include "xssh/connect.h"

#ifndef XSSH_CONNECT_CB_TYPEMAP
%ignore xssh_options::set_passphrase_callback;
%ignore xssh_options::set_prompt_callback;
%ignore xssh_log_set_swig;
#endif

#ifdef XSSH_CONNECT_CB_TYPEMAP
%apply (xssh_passphrase_cb PASSPHRASE_CB, void *PASSPHRASE_UD) { (xssh_passphrase_cb callback, void *callback_ud) };
%apply (xssh_prompt_cb PROMPT_CB, void *PROMPT_UD) { (xssh_prompt_cb callback, void *callback_ud) };
%apply (xssh_log_cb LOG_CB, void *LOG_UD) { (xssh_log_cb callback, void *callback_ud) };
#endif
%rename(set_config_text) xssh_options::set_config_text_swig;
%rename(connect) xssh_connect_swig;
%rename(log_set) xssh_log_set_swig;

%newobject xssh_options::xssh_options;
%rename(dup) xssh_options::dup_swig;
%newobject xssh_options::dup_swig;
struct xssh_options {};
%extend xssh_options {
  xssh_options() {
    xssh_options *o = NULL;
    return xssh_options_new(&o) == 0 ? o : NULL;
  }
  ~xssh_options() { xssh_options_unref($self); }

  /** Set one ssh_config(5) keyword (or xssh's ConfigFile, Password, Passphrase, Timeout) to value,
      as `ssh -o Name=value`: the first value set wins over later ones and over the files.
      Raises InvalidArgumentError naming an unknown keyword or a bad value. */
  xssh_err set(const char *name, const char *value);
  /** Use configuration text instead of the files; origin names it in error messages.
      Raises ConfigError ("origin line N: why") for a malformed line. */
  xssh_err set_config_text_swig(const char *text, const char *origin = NULL) {
    return xssh_options_set_config_text($self, text, origin);
  }
  /** What applies to host ("host" or "user@host"), as `ssh -G host` prints it: one
      "keyword value" line per option, tokens and ~ expanded, secrets never shown. */
  xssh_err resolve(const char *host, char **OUT_TEXT);
#ifdef SWIGPYTHON
  /** An independent copy (xssh_options_dup): explicit options, config text, secrets, callbacks. */
  xssh_options *dup_swig() {
    xssh_options *o = NULL;
    return xssh_options_dup($self, &o) == 0 ? o : NULL;
  }
#endif
#ifdef XSSH_CONNECT_CB_TYPEMAP
  /** The passphrase callback: callback(keyfile) -> the passphrase, or nil to skip the key. */
  xssh_err set_passphrase_callback(xssh_passphrase_cb callback, void *callback_ud) {
    return xssh_options_set_passphrase_cb($self, callback, callback_ud);
  }
  /** The prompt callback: callback(name, instruction, prompt, echo) -> the answer, or nil to give
      up the method (keyboard-interactive prompts; "Password: " for password authentication). */
  xssh_err set_prompt_callback(xssh_prompt_cb callback, void *callback_ud) {
    return xssh_options_set_prompt_cb($self, callback, callback_ud);
  }
#endif
}

%inline %{
/** connect(host, options) -> an authenticated Session, as xssh_connect (options may be nil:
    defaults only). */
static xssh_err xssh_connect_swig(const char *host, xssh_options *options, xssh_session **OUT_HANDLE) {
  return xssh_connect(host, options, OUT_HANDLE);
}
%}
#ifdef XSSH_CONNECT_CB_TYPEMAP
%inline %{
/** log_set(callback or nil, level): the process-wide log hook, callback(level, host, message)
    for every record up to level (XSSH_LOG_*); nil: silent. */
static xssh_err xssh_log_set_swig(xssh_log_cb callback, void *callback_ud, int level) {
  return xssh_log_set(callback, callback_ud, level);
}
%}
#endif
