/* SPDX-License-Identifier: BSD-3-Clause */
/* publickey.i — the public-key subsystem (PublicKeySystem). Languages touched: all three. */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_publickey_";
%ignore xssh_publickey_attr;
%ignore xssh_publickey_entry;
%include "xssh/publickey.h"

%apply (const void *IN_BYTES, size_t IN_LEN) { (const void *blob, size_t blob_len) };
%rename(add) xssh_publickey::add_swig;
struct xssh_publickey {};
%extend xssh_publickey {
  ~xssh_publickey() { xssh_publickey_unref($self); }
  xssh_err add_swig(const char *name, const void *blob, size_t blob_len, int overwrite = 0) {
    return xssh_publickey_add($self, name, blob, blob_len, overwrite, NULL, 0);
  }
  xssh_err remove(const char *name, const void *blob, size_t blob_len);
  xssh_err close();
}
%extend xssh_session {
  xssh_err publickey_init(xssh_publickey **OUT_HANDLE) { return xssh_publickey_init(OUT_HANDLE, $self); }
}
