/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_internal.h — the contract between config.c (ssh_config(5) parsing and
 * resolution, the xssh_options object) and connect.c (xssh_connect: connect,
 * host-key policy, authentication chain, logging).
 *
 * config.c owns: struct xssh_options, xssh_options_* (public), the parser, and
 *   xssh__resolve() / xssh__resolved_free().
 * connect.c owns: xssh_connect(), xssh__connect_resolved(), the auth chain,
 *   xssh_log_set() and xssh__log().
 */
#ifndef XSSH_CONFIG_INTERNAL_H
#define XSSH_CONFIG_INTERNAL_H

#include <stddef.h>
#include "xssh/connect.h"
#include "xssh/session.h"

/* A list of owned strings. */
typedef struct xssh__strlist {
    char **v;
    size_t n;
} xssh__strlist;

/* What applies to one host (the `ssh -G` view), every token and "~" expanded. */
typedef struct xssh__resolved {
    char *host_arg;             /* the name the caller gave (alias), without "user@" */
    char *hostname;             /* HostName (%h expanded), default host_arg */
    char *user;                 /* "user@" of the argument > User > local user name */
    int port;                   /* Port, default 22 */
    xssh__strlist identity_files;  /* IdentityFile, expanded; the defaults when none was set */
    int identity_files_explicit;   /* 1 if any IdentityFile came from options or config */
    int identities_only;        /* IdentitiesOnly */
    char *identity_agent;       /* IdentityAgent expanded; NULL: $SSH_AUTH_SOCK; "none" */
    xssh__strlist proxy_jump;   /* ProxyJump hops "[user@]host[:port]" first to last; empty: none */
    xssh__strlist user_known_hosts_files;   /* UserKnownHostsFile (expanded; default ~/.ssh/known_hosts ~/.ssh/known_hosts2) */
    xssh__strlist global_known_hosts_files; /* GlobalKnownHostsFile (default /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2) */
    int strict_host_key_checking; /* XSSH_HOSTKEY_STRICT (yes, ask), XSSH_HOSTKEY_ACCEPT_NEW (accept-new),
                                     XSSH__HOSTKEY_NO (no/off: OpenSSH 9.2 adds unknown, refuses changed) */
    int hash_known_hosts;       /* HashKnownHosts */
    int connect_timeout_s;      /* ConnectTimeout in seconds; 0: none */
    int server_alive_interval_s; /* ServerAliveInterval; 0: off */
    int server_alive_count_max; /* ServerAliveCountMax, default 3 */
    int compression;            /* Compression */
    char *ciphers;              /* final lists, comma-separated, after +/-/^ edits on OpenSSH's defaults */
    char *kex_algorithms;
    char *host_key_algorithms;
    char *macs;
    int batch_mode;             /* BatchMode */
    int address_family;         /* AF_UNSPEC (any), AF_INET (inet), AF_INET6 (inet6) */
    char *bind_address;         /* BindAddress or NULL */
    char *preferred_authentications; /* comma list; default "publickey,keyboard-interactive,password"
                                        (gssapi-with-mic and hostbased dropped: not supported);
                                        "" when the configuration lists no method xssh can use */
    char *preferred_authentications_given; /* PreferredAuthentications as written, NULL: not set */
    char *host_key_alias;       /* HostKeyAlias as written (not token-expanded, as ssh 9.2) or NULL: the
                                   known_hosts name instead of hostname, with no "[ ]:port" */
    int pubkey_authentication;  /* yes (1) by default */
    int password_authentication;
    int kbd_interactive_authentication;
    long timeout_ms;            /* xssh "Timeout" (session timeout), 0: none */
    char *password;             /* xssh "Password" (secret; wiped by xssh__resolved_free) or NULL */
    char *passphrase;           /* xssh "Passphrase" (secret) or NULL */
    xssh_passphrase_cb passphrase_cb; void *passphrase_ud;
    xssh_prompt_cb prompt_cb; void *prompt_ud;
} xssh__resolved;

/* The session timeout of xssh_connect() when "Timeout" is not given: it also bounds
 * the dead-peer probe of quiet waits (docs/reliability.md). */
#define XSSH__DEFAULT_TIMEOUT_MS 30000L

#define XSSH__HOSTKEY_NO 3 /* StrictHostKeyChecking no/off (beyond the public enum) */

/* Resolve @host ("host" or "user@host") under @options (NULL: defaults). On
 * failure sets the thread's last error (XSSH_ECONFIG with "file line N: why",
 * XSSH_EARG, XSSH_ENOMEM) and returns it. */
int xssh__resolve(xssh_options *options, const char *host, xssh__resolved **out);
void xssh__resolved_free(xssh__resolved *r);

/* Connect, verify, keepalive and authenticate with what @r says (connect.c). */
int xssh__connect_resolved(xssh__resolved *r, xssh_options *options, xssh_session **out);

/* Log one record (printf-style) if a callback is installed at that level.
 * @host may be NULL. Never pass a secret. */
void xssh__log(int level, const char *host, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* 1 if a record at @level would be delivered (skip costly formatting otherwise). */
int xssh__log_enabled(int level);

#endif /* XSSH_CONFIG_INTERNAL_H */
