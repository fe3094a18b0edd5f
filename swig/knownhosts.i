/* SPDX-License-Identifier: BSD-3-Clause */
/* knownhosts.i — KnownHost (collection) and KnownHostEntry. Languages touched: all three. */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_knownhosts?_";
%include "xssh/knownhosts.h"

%apply const char *OPT_TEXT { const char *opt_salt, const char *opt_comment };
%apply (const void *IN_BYTES, size_t IN_LEN) { (const void *key, size_t key_len), (const void *line, size_t line_len) };

/* methods with a body get a C name that does not clash with the C API */
%rename(readfile) xssh_knownhosts::readfile_swig;
%rename(readline) xssh_knownhosts::readline_swig;
%rename(writeline) xssh_knownhosts::writeline_swig;
%rename(addc) xssh_knownhosts::addc_swig;
%rename(checkp) xssh_knownhosts::checkp_swig;
%rename(delete) xssh_knownhosts::delete_swig; /* `delete` is a C++ keyword (the Ruby wrapper is C++) */
struct xssh_knownhosts {};
struct xssh_knownhost {};
%extend xssh_knownhosts {
  ~xssh_knownhosts() { xssh_knownhosts_unref($self); }
  xssh_err readfile_swig(const char *filename, size_t *OUTPUT, int f_type = XSSH_KNOWNHOST_FILE_OPENSSH) {
    return xssh_knownhosts_readfile($self, filename, f_type, OUTPUT);
  }
  xssh_err readline_swig(const void *line, size_t line_len, int f_type = XSSH_KNOWNHOST_FILE_OPENSSH) {
    return xssh_knownhosts_readline($self, (const char *)line, line_len, f_type);
  }
  xssh_err writefile(const char *filename, int f_type = XSSH_KNOWNHOST_FILE_OPENSSH);
  xssh_err writeline_swig(xssh_knownhost *entry, char **OUT_TEXT, int f_type = XSSH_KNOWNHOST_FILE_OPENSSH) {
    return xssh_knownhosts_writeline($self, entry, f_type, OUT_TEXT);
  }
  /* ssh2-python order: host, key, typemask, salt, comment */
  xssh_err addc_swig(const char *host, const void *key, size_t key_len, int typemask, xssh_knownhost **OUT_HANDLE,
                const char *opt_salt = NULL, const char *opt_comment = NULL) {
    return xssh_knownhosts_addc($self, host, opt_salt, key, key_len, opt_comment, typemask, OUT_HANDLE);
  }
  xssh_err checkp_swig(const char *host, int port, const void *key, size_t key_len, int typemask,
                  xssh_knownhost **OUT_HANDLE) {
    return xssh_knownhosts_checkp($self, host, port, key, key_len, typemask, NULL, OUT_HANDLE);
  }
  xssh_err count(size_t *OUTPUT);
  xssh_err get(size_t index, xssh_knownhost **OUT_HANDLE);
  xssh_err delete_swig(xssh_knownhost *entry) { return xssh_knownhosts_delete($self, entry); }
}
%extend xssh_knownhost {
  ~xssh_knownhost() { xssh_knownhost_unref($self); }
  xssh_err name(const char **OUT_BORROWED);
  xssh_err key(const char **OUT_BORROWED);
  xssh_err typemask(int *OUTPUT);
  xssh_err magic(unsigned int *OUTPUT);
}
