/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errors.i — the error enum and table. Languages touched: all three.
 * Every language builds its exception hierarchy at module init from the C
 * table (xssh_err_info_at / xssh_exception_class_at), so adding a row in
 * capi/src/errors.c adds the exception everywhere.
 */
%ignore xssh_error;
%ignore xssh_err_info;
%ignore xssh_error_last;
%ignore xssh_err_info_get;
%ignore xssh_err_info_at;
%ignore xssh_exception_class_at;
%ignore xssh_free;
%rename(strerror) xssh_strerror;
%rename(err_name) xssh_err_name;
%rename(err_from_libssh2) xssh_err_from_libssh2;
%rename(err_count) xssh_err_count;
%rename(error_clear) xssh_error_clear;
/* the enum's own name would clash with the status typemap type */
/* (the enum keeps its values; its typedef is the status type of typemaps.i) */
#define XSSH_EXTERN(type) type
#define XSSH_BEGIN_DECL
#define XSSH_END_DECL
%include "xssh/errors.h"

%rename(version) xssh_version;
%rename(libssh2_version) xssh_libssh2_version;
%rename(features) xssh_features;
%rename(capabilities) xssh_capabilities;
%include "xssh/version.h"

%inline %{
/* The error table for scripts: code of row i (0 past the end) and the
   exception class of a code ("" when none). */
static int err_code_at(size_t i) {
  const xssh_err_info *r = xssh_err_info_at(i);
  return r ? r->code : 0;
}
static const char *err_exception(int code) {
  const xssh_err_info *r = xssh_err_info_get(code);
  return r ? r->exception : "";
}
%}
