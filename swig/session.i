/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * session.i — Session. Languages touched: all three.
 * Methods without a body call xssh_session_<name>(self, ...) (SWIG's %extend
 * rule); argument orders follow ssh2-python where it differs from C.
 */
/* constants of session.h */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_session_";
%include "xssh/session.h"

%apply const char *OPT_TEXT { const char *opt_host, const char *opt_path, const char *opt_passphrase,
                              const char *opt_publickey, const char *opt_local_user };
%apply (const void *IN_BYTES, size_t IN_LEN) { (const void *privkey, size_t privkey_len), (const void *pubkeydata, size_t pubkeydata_len) };
%apply (const void *OPT_BYTES, size_t OPT_LEN) { (const void *pubkey, size_t pubkey_len) };
%apply int SOCKFD { int sock };
%apply (const char *const *TEXT_LIST, size_t TEXT_COUNT) { (const char *const *responses, size_t count) };

/* methods with a body get a C name that does not clash with the C API */
%rename(verify_host) xssh_session::verify_host_swig;
%rename(userauth_publickey_fromfile) xssh_session::userauth_publickey_fromfile_swig;
%rename(userauth_publickey_frommemory) xssh_session::userauth_publickey_frommemory_swig;
%rename(userauth_hostbased_fromfile) xssh_session::userauth_hostbased_fromfile_swig;
%newobject xssh_session::xssh_session;
struct xssh_session {};
%extend xssh_session {
  xssh_session() {
    xssh_session *s = NULL;
    return xssh_session_new(&s) == 0 ? s : NULL;
  }
  ~xssh_session() { xssh_session_unref($self); }

  /* connecting */
  xssh_err connect(const char *host, int port = 22, int timeout_ms = 0);
  xssh_err handshake(int sock);
  xssh_err disconnect();
  xssh_err disconnect_ex(int reason, const char *description);
  xssh_err close();
  xssh_err is_closed(int *OUTPUT);

  /* options */
  xssh_err set_blocking(int blocking);
  xssh_err get_blocking(int *OUTPUT);
  xssh_err set_timeout(long timeout_ms);
  xssh_err get_timeout(long *OUTPUT);
  xssh_err banner_set(const char *banner);
  xssh_err banner_get(char **OUT_TEXT);
  xssh_err flag(int flag, int value);
  xssh_err keepalive_config(int want_reply, unsigned int interval_s);
  xssh_err keepalive_send(int *OUTPUT);
  xssh_err trace(int bitmask);
  xssh_err supported_algs(int method_type, char **OUT_TEXT);
  xssh_err method_pref(int method_type, const char *prefs);
  xssh_err methods(int method_type, char **OUT_TEXT);
  xssh_err last_errno(int *OUTPUT);
  xssh_err last_error(char **OUT_TEXT);
  xssh_err set_last_error(int errcode, const char *message);
  xssh_err block_directions(int *OUTPUT);
  xssh_err socket(int *OUTPUT);

  /* host key */
  xssh_err hostkey(char **OUT_BYTES, size_t *OUT_LEN, int *OUTPUT);
  xssh_err hostkey_hash(int hash_type, char **OUT_BYTES, size_t *OUT_LEN);
  xssh_err hostkey_fingerprint(char **OUT_TEXT);
  /* before connect: OpenSSH's host-key algorithm order for the types known_hosts records */
  xssh_err prefer_known_hostkeys(const char *host, int port = 22, const char *opt_path = NULL);
  xssh_err verify_host_swig(const char *opt_host = NULL, int port = 0, int policy = 0, const char *opt_path = NULL) {
    return xssh_session_verify_host($self, opt_host, port, (xssh_hostkey_policy)policy, opt_path);
  }

  /* authentication */
  xssh_err userauth_list(const char *username, char **OUT_TEXT);
  xssh_err userauth_authenticated(int *OUTPUT);
  xssh_err userauth_password(const char *username, const char *password);
  xssh_err userauth_publickey_fromfile_swig(const char *username, const char *privatekey,
                                       const char *opt_passphrase = NULL, const char *opt_publickey = NULL) {
    /* ssh2-python order: passphrase, then public key */
    return xssh_session_userauth_publickey_fromfile($self, username, privatekey, opt_publickey, opt_passphrase);
  }
  xssh_err userauth_publickey_frommemory_swig(const char *username, const void *privkey, size_t privkey_len,
                                         const char *opt_passphrase = NULL, const void *pubkey = NULL, size_t pubkey_len = 0) {
    return xssh_session_userauth_publickey_frommemory($self, username, privkey, privkey_len, pubkey, pubkey_len,
                                                      opt_passphrase);
  }
  xssh_err userauth_keyboard_interactive(const char *username, const char *password);
  xssh_err userauth_keyboard_interactive_responses(const char *username, const char *const *responses, size_t count);
  xssh_err userauth_hostbased_fromfile_swig(const char *username, const char *privatekey, const char *hostname,
                                       const char *opt_publickey = NULL, const char *opt_passphrase = NULL,
                                       const char *opt_local_user = NULL) {
    /* ssh2-python order: publickey, passphrase; then the local user */
    return xssh_session_userauth_hostbased_fromfile($self, username, privatekey, opt_publickey, opt_passphrase,
                                                    hostname, opt_local_user);
  }
  xssh_err agent_auth(const char *username);
  xssh_err userauth_publickey(const char *username, const void *pubkeydata, size_t pubkeydata_len);

  /* children */
  xssh_err agent_init(xssh_agent **OUT_HANDLE) { return xssh_agent_new(OUT_HANDLE, $self); }
  xssh_err knownhost_init(xssh_knownhosts **OUT_HANDLE) { return xssh_knownhosts_new(OUT_HANDLE, $self); }
}
