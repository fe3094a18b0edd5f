/* SPDX-License-Identifier: BSD-3-Clause */
/* agent.i — Agent and PublicKey. Languages touched: all three. */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_(agent|pubkey)_";
%include "xssh/agent.h"

struct xssh_agent {};
struct xssh_pubkey {};
%extend xssh_agent {
  ~xssh_agent() { xssh_agent_unref($self); }
  xssh_err set_path(const char *path);
  xssh_err connect();
  xssh_err disconnect();
  xssh_err list_identities();
  xssh_err identity_count(size_t *OUTPUT);
  xssh_err identity(size_t index, xssh_pubkey **OUT_HANDLE);
  xssh_err userauth(const char *username, xssh_pubkey *key);
}
%extend xssh_pubkey {
  ~xssh_pubkey() { xssh_pubkey_unref($self); }
  xssh_err blob(const unsigned char **OUT_BBYTES, size_t *OUT_LEN);
  xssh_err comment(const char **OUT_BORROWED);
  xssh_err magic(unsigned int *OUTPUT);
}
