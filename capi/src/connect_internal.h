/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * connect_internal.h — internals xssh_connect (connect.c) needs from the other
 * capi/src files: the session connect with AddressFamily/BindAddress, the host
 * key check over several known_hosts files, and the ServerAlive mapping.
 */
#ifndef XSSH_CONNECT_INTERNAL_H
#define XSSH_CONNECT_INTERNAL_H

#include <stddef.h>
#include "internal.h"

/* xssh_session_connect with an address family (AF_UNSPEC, AF_INET, AF_INET6)
   and a local address to bind to first (NULL: any). (session.c) */
int xssh__session_connect_ex(xssh_session *s, const char *host, int port, int timeout_ms, int family,
                             const char *bind_address);

/* Verify the server's host key (session connected, lock not held) against the
   user files (first one: where a new key is written) and the global files (read
   only), under policy XSSH_HOSTKEY_STRICT / XSSH_HOSTKEY_ACCEPT_NEW /
   XSSH__HOSTKEY_NO (both learn unknown keys; every policy refuses a changed or
   revoked key). hash_new: write the name hashed (HashKnownHosts). *learned is
   set when a key was written. loghost names the records logged. (hostkey.c) */
int xssh__verify_host_files(xssh_session *s, const char *loghost, const char *host, int port, int policy, const char *const *user_files,
                            size_t nuser, const char *const *global_files, size_t nglobal, int hash_new,
                            int *learned);
/* The key types ("ssh-ed25519,ecdsa-sha2-nistp256") these files record for
   host:port (not revoked), allocated; NULL when out of memory. (hostkey.c) */
char *xssh__known_key_types(const char *const *files, size_t nfiles, const char *host, int port);

/* ServerAliveInterval / ServerAliveCountMax for the dead-peer rule of
   xssh__liveness_check (channel.c): probe after interval_ms of silence, give up
   when the silence reaches interval_ms * (count_max + 1), as OpenSSH's ssh does
   (it gives up at the first interval whose probe count passes count_max).
   interval_ms 0: the session timeout rule. (session.c) */
void xssh__session_set_alive(xssh_session *s, long interval_ms, int count_max);
/* The rule in force (lock held): quiet time before a probe, and how long the
   probe may then wait for any byte (0, 0: no detection). With ServerAlive:
   interval, interval * count_max; else the session timeout twice. */
void xssh__liveness_params(xssh_session *s, long *probe_after_ms, long *reply_wait_ms);

/* Is this private key encrypted, read from the key itself (OpenSSH
   "openssh-key-v1" cipher != none, PEM "Proc-Type: 4,ENCRYPTED", PKCS#8
   "ENCRYPTED PRIVATE KEY")? 1 yes, 0 no, -1 not a private key xssh knows (or
   an unreadable file). (auth.c) */
int xssh__key_text_encrypted(const char *text, size_t n);
int xssh__key_file_encrypted(const char *path);

#endif
