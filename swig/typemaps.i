/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * typemaps.i — language-neutral typemaps, written once over the primitives
 * each language file defines:
 *   %xssh_raise(code)             raise the exception for code and fail
 *   %xssh_result_none / _int(v)   set the call's primary result
 *   %xssh_append_int(v) / _bytes(p, n) / _str(s) / _handle(ptr, desc)
 *                                 append one output value
 *   XSSH_IS_NIL(obj), XSSH_IN_TEXT(obj, out), XSSH_IN_SIZE(obj, out),
 *   XSSH_IN_TEXT_LIST(obj, list, count)      (C macros) read language values
 *   typemaps for (const void *IN_BYTES, size_t IN_LEN) and OPT_BYTES, SOCKFD
 *   XSSH_ARGCTX("$symname", "$1_name")      (C macro, optional) names the
 *                                 argument the next XSSH_IN_* macro reads, for
 *                                 error messages ("Session.connect(): argument
 *                                 'port' ..."); a no-op where not defined
 * Languages touched: all three.
 */
%{
#ifndef XSSH_ARGCTX
#define XSSH_ARGCTX(sym, param) ((void)0)
#endif
%}

/** ** status returns **/
/* xssh_err: failure raises (except EAGAIN, which is returned as a value, as in
   ssh2-python); success returns the outputs, or nothing. */
typedef int xssh_err;
%typemap(out) xssh_err {
  if ($1 < 0 && $1 != XSSH_EAGAIN) {
    %xssh_raise($1)
  } else if ($1 == XSSH_EAGAIN) {
    %xssh_result_int($1)
  } else {
    %xssh_result_none
  }
}
/* xssh_count: >= 0 is a count returned as the first value (read/write
   shapes: (count, data)); EAGAIN is returned too; other failures raise. */
typedef long xssh_count;
%typemap(out) xssh_count {
  if ($1 < 0 && $1 != XSSH_EAGAIN) {
    %xssh_raise((int)$1)
  } else {
    %xssh_result_int($1)
  }
}
#define XSSH_OUTPUT_OK (result == 0)

/** ** out-parameters **/
%typemap(in, numinputs=0) int *OUTPUT (int tmp = 0), unsigned int *OUTPUT (unsigned int tmp = 0),
                          long *OUTPUT (long tmp = 0) "$1 = &tmp;"
%typemap(argout) int *OUTPUT, unsigned int *OUTPUT, long *OUTPUT { if (XSSH_OUTPUT_OK) { %xssh_append_int(*$1) } }
%typemap(in, numinputs=0) size_t *OUTPUT (size_t tmp = 0) "$1 = &tmp;"
%typemap(argout) size_t *OUTPUT { if (XSSH_OUTPUT_OK) { %xssh_append_int((long long)*$1) } }

/* allocated text, freed with xssh_free */
%typemap(in, numinputs=0) char **OUT_TEXT (char *tmp = NULL) "$1 = &tmp;"
%typemap(argout) char **OUT_TEXT { if (XSSH_OUTPUT_OK && *$1) { %xssh_append_str(*$1) } }
%typemap(freearg) char **OUT_TEXT "xssh_free(*$1);"

/* borrowed text (valid while the owning handle lives) */
%typemap(in, numinputs=0) const char **OUT_BORROWED (const char *tmp = NULL) "$1 = ($1_ltype)&tmp;"
%typemap(argout) const char **OUT_BORROWED { if (XSSH_OUTPUT_OK) { if (*$1) { %xssh_append_str(*$1) } else { %xssh_append_nil } } }

/* allocated bytes, freed with xssh_free */
%typemap(in, numinputs=0) (char **OUT_BYTES, size_t *OUT_LEN) (char *tmp = NULL, size_t n = 0) "$1 = &tmp; $2 = &n;"
%typemap(argout) (char **OUT_BYTES, size_t *OUT_LEN) { if (XSSH_OUTPUT_OK) { %xssh_append_bytes(*$1, *$2) } }
%typemap(freearg) (char **OUT_BYTES, size_t *OUT_LEN) "xssh_free(*$1);"

/* borrowed bytes */
%typemap(in, numinputs=0) (const unsigned char **OUT_BBYTES, size_t *OUT_LEN) (const unsigned char *tmp = NULL, size_t n = 0) "$1 = ($1_ltype)&tmp; $2 = &n;"
%typemap(argout) (const unsigned char **OUT_BBYTES, size_t *OUT_LEN) { if (XSSH_OUTPUT_OK) { %xssh_append_bytes((const char *)*$1, *$2) } }

/* a caller buffer filled by C: the language passes its size. One read call
   fills at most XSSH_IO_MAX bytes (the C rule, capi/src/internal.h), so no more
   is allocated: read(2**33) allocates 16 MiB and returns a short count.
   XSSH_IN_SIZE saturates a size too large for a long long to LLONG_MAX. */
%typemap(in) (void *READ_BUF, size_t READ_CAP, size_t *READ_LEN) (size_t n = 0, long long want = 0) {
  XSSH_ARGCTX("$symname", "$1_name");
  XSSH_IN_SIZE($input, want);
  if (want < 0) { %xssh_arg_error("size must be >= 0") }
  $2 = (unsigned long long)want < (unsigned long long)XSSH_IO_MAX ? (size_t)want : XSSH_IO_MAX;
  $1 = malloc($2 ? $2 : 1);
  if (!$1) { %xssh_raise(XSSH_ENOMEM) }
  $3 = &n;
}
%typemap(argout) (void *READ_BUF, size_t READ_CAP, size_t *READ_LEN) { %xssh_append_bytes((const char *)$1, (result > 0 ? *$3 : 0)) }
%typemap(freearg) (void *READ_BUF, size_t READ_CAP, size_t *READ_LEN) "free($1);"

/* bytes in ((const void *IN_BYTES, size_t IN_LEN) and the optional form
   (const void *OPT_BYTES, size_t OPT_LEN)) need per-language locals, so they
   live in the language files. */

/* optional text: nil/None is NULL (Python: its own, in xssh_python.swg, as its const char *) */
#ifndef SWIGPYTHON
%typemap(in) const char *OPT_TEXT {
  if (XSSH_IS_NIL($input)) { $1 = NULL; } else { XSSH_ARGCTX("$symname", "$1_name"); XSSH_IN_TEXT($input, $1); }
}
#endif
%typemap(default) const char *OPT_TEXT "$1 = NULL;"
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) const char *OPT_TEXT "$1 = 1;"

/* a list of text values (keyboard-interactive responses) */
%typemap(in) (const char *const *TEXT_LIST, size_t TEXT_COUNT) {
  XSSH_ARGCTX("$symname", "$1_name");
  XSSH_IN_TEXT_LIST($input, $1, $2);
}
%typemap(freearg) (const char *const *TEXT_LIST, size_t TEXT_COUNT) "free((void *)$1);"

/** ** handles: every function that yields one yields a +1 reference owned by the proxy **/
%define XSSH_HANDLE(ctype, pyname)
%rename(pyname) ctype;
%nodefaultctor ctype;
%nodefaultdtor ctype;
%typemap(in, numinputs=0) ctype **OUT_HANDLE (ctype *tmp = NULL) "$1 = &tmp;"
%typemap(argout) ctype **OUT_HANDLE { if (XSSH_OUTPUT_OK && *$1) { %xssh_append_handle(*$1, $*1_descriptor) *$1 = NULL; } }
/* a handle the C call produced but the language did not take (the call failed,
   e.g. checkp's mismatching entry, or raised before argout) is released */
%typemap(freearg) ctype **OUT_HANDLE { if ($1 && *$1) ctype ## _unref(*$1); }
%enddef
