/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/connect.h
 * @brief Connecting the way OpenSSH's ssh does: ssh_config(5), default authentication, logging.
 * @defgroup connect Connect like ssh
 *
 * An ::xssh_options object holds what a caller states for one connection, in
 * OpenSSH's own option names (ssh_config(5), as `ssh -o Name=value`), plus the
 * callbacks for secrets. xssh_options_resolve() answers what applies to a host
 * the way `ssh -G host` does: the explicit options first, then the configuration
 * files (default: ~/.ssh/config, then /etc/ssh/ssh_config; "ConfigFile none" reads
 * none), first value wins. xssh_connect() then does everything `ssh` does before
 * a shell: resolve, connect (directly or through the ProxyJump chain), host-key
 * policy against the known_hosts files, keepalives, and the authentication chain
 * (agent, identity files or the default keys, then keyboard-interactive/password
 * only when a password or prompt callback was given). It never returns an
 * unauthenticated session.
 * @{
 */
#ifndef XSSH_CONNECT_H
#define XSSH_CONNECT_H

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/** Connection options (ssh_config(5) keywords plus callbacks); reference-counted. */
typedef struct xssh_options xssh_options;

/**
 * Passphrase callback: an encrypted private key needs a passphrase.
 * @param keyfile path of the key (as resolved, "~" expanded)
 * @param buf where to write the passphrase, NUL-terminated
 * @param size size of @p buf in bytes (at least 1024)
 * @param userdata as given to xssh_options_set_passphrase_cb()
 * @return 0 when @p buf holds a passphrase; non-zero to skip this key
 *         (recorded as "encrypted, no passphrase given").
 * xssh wipes @p buf after use.
 */
typedef int (*xssh_passphrase_cb)(const char *keyfile, char *buf, size_t size, void *userdata);

/**
 * Prompt callback: keyboard-interactive (RFC 4256) prompts, and the password
 * for "password" authentication (RFC 4252 section 8, then @p name and
 * @p instruction are "" and @p prompt is "Password: ").
 * @param name the request's name ("" if none)
 * @param instruction the request's instruction ("" if none)
 * @param prompt the prompt text
 * @param echo non-zero if the answer may be shown as typed
 * @param buf where to write the answer, NUL-terminated
 * @param size size of @p buf in bytes (at least 1024)
 * @param userdata the pointer given to xssh_options_set_prompt_cb(), unchanged
 * @return 0 when @p buf holds an answer; non-zero to give up this method.
 * xssh wipes @p buf after use.
 */
typedef int (*xssh_prompt_cb)(const char *name, const char *instruction, const char *prompt, int echo, char *buf,
                              size_t size, void *userdata);

/**
 * Create an empty options object: nothing explicit, the default configuration
 * files, no callbacks.
 * @param[out] out new reference; release with xssh_options_unref()
 * @return XSSH_OK, XSSH_EARG, XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_options_new(xssh_options **out);
/**
 * Take one more reference on @p options; returns it. NULL-safe.
 * @param options the options; NULL is allowed
 * @return options itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_options *) xssh_options_ref(xssh_options *options);
/**
 * Drop a reference; the last one wipes the secrets held and frees the object. NULL-safe.
 * @param options the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_options_unref(xssh_options *options);

/**
 * Make an independent copy of @p src: its explicit options (in call order), its
 * configuration choice (ConfigFile, or the text of xssh_options_set_config_text
 * and its origin), Password, Passphrase, Timeout, and its passphrase and prompt
 * callbacks (the same function and userdata pointers: whoever keeps the userdata
 * alive for @p src must keep it alive for the copy too). The secrets are copied
 * and, as in @p src, wiped when the copy is freed. Later changes to either object
 * do not affect the other. Thread-safe against set_* calls on @p src.
 * @param src the options to copy (not NULL)
 * @param[out] out new reference; release with xssh_options_unref()
 * @return XSSH_OK, XSSH_EARG (NULL argument), XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_options_dup(const xssh_options *src, xssh_options **out);

/**
 * Set one option explicitly, as `ssh -o Name=value` does: explicit values win
 * over the configuration files. @p name is an ssh_config(5) keyword, compared
 * without regard to case ("Port", "User", "IdentityFile", "ProxyJump",
 * "StrictHostKeyChecking", ...); @p value is written as in the file. Options
 * that take several values (IdentityFile, UserKnownHostsFile list, ...) follow
 * ssh's rules (IdentityFile: each call adds one). Besides ssh_config keywords,
 * xssh accepts:
 * - "ConfigFile": a configuration file to read instead of the defaults, or
 *   "none" for no file at all (ssh -F);
 * - "Password": the password for "password" and keyboard-interactive
 *   authentication (a secret: kept only in this object, wiped on release,
 *   never logged or shown by xssh_options_resolve());
 * - "Passphrase": the passphrase for every encrypted identity file (a secret);
 * - "Timeout": the session timeout for later blocking calls, in seconds
 *   (decimal; 0: none), as xssh_session_set_timeout(); default 30 s, which
 *   also bounds how long a quiet wait trusts a silent server (dead-peer probe).
 * @param options the connection options (borrowed)
 * @param name an ssh_config(5) keyword, case-insensitive (e.g. "Port")
 * @param value its value, as in the file
 * @return XSSH_OK; XSSH_EARG naming the keyword when it is unknown, or the
 *         value and why it is wrong (e.g. "Port: 'x' is not a number").
 */
XSSH_EXTERN(int) xssh_options_set(xssh_options *options, const char *name, const char *value);
/**
 * Use configuration text instead of files (as if it were the file given by
 * "ConfigFile"); @p origin names it in error messages ("<string>" if NULL).
 * Parsed now: a malformed line fails here with XSSH_ECONFIG "origin line N: why".
 * @param options the connection options (borrowed)
 * @param text ssh_config(5) text (NUL-terminated; copied)
 * @param origin name used in error messages (NULL: "<string>")
 * @return XSSH_OK; XSSH_EARG for a NULL argument; XSSH_ECONFIG for a syntax error; XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_options_set_config_text(xssh_options *options, const char *text, const char *origin);
/**
 * Set (or, with NULL @p cb, remove) the passphrase callback.
 * @param options the connection options (borrowed)
 * @param cb the callback, or NULL to remove it
 * @param userdata passed to cb unchanged
 * @return XSSH_OK; XSSH_EARG for a NULL options
 */
XSSH_EXTERN(int) xssh_options_set_passphrase_cb(xssh_options *options, xssh_passphrase_cb cb, void *userdata);
/**
 * Set (or, with NULL @p cb, remove) the prompt callback for password and keyboard-interactive.
 * @param options the connection options (borrowed)
 * @param cb the callback, or NULL to remove it
 * @param userdata passed to cb unchanged
 * @return XSSH_OK; XSSH_EARG for a NULL options
 */
XSSH_EXTERN(int) xssh_options_set_prompt_cb(xssh_options *options, xssh_prompt_cb cb, void *userdata);

/**
 * What applies to @p host, as `ssh -G host` prints it: one "keyword value" line
 * per option, keywords in lower case, values after every token (%h %p %r %u %d
 * %n %%) and "~" expansion, the algorithm lists after their "+", "-" and "^"
 * edits. @p host may be "user@host". Secrets are never included.
 * @param options the connection options (borrowed)
 * @param host the host as given to xssh_connect() ("[user@]host[:port]", ...)
 * @param[out] out allocated text; free with xssh_free()
 * @return XSSH_OK; XSSH_ECONFIG (a malformed configuration line: file and line
 *         in the message; an unreadable ConfigFile); XSSH_EARG
 */
XSSH_EXTERN(int) xssh_options_resolve(xssh_options *options, const char *host, char **out);

/**
 * Connect to @p host as `ssh` would, and return an authenticated session. The
 * host string is read by xssh_host_parse(), as the multi interface reads it:
 * `[user@]host[:port]`, `[user@][host]:port` (brackets needed for an IPv6
 * address with a port), a bare IPv6 address, or a Host alias of the
 * configuration; `ssh://[user@]host[:port]` too. A port in the string beats the
 * Port option and the files; its user beats the files (an explicit User option
 * beats it, as `ssh -o User=x x@host`).
 * Steps:
 * 1. resolve the options (xssh_options_resolve());
 * 2. connect: HostName, Port, AddressFamily, BindAddress, ConnectTimeout,
 *    through each ProxyJump hop in turn (xssh_session_connect_via(); every hop
 *    resolved and verified the same way), with Ciphers, KexAlgorithms,
 *    HostKeyAlgorithms (known host-key types first, as ssh orders them), MACs
 *    and Compression restricted to what libssh2 supports;
 * 3. verify the host key against UserKnownHostsFile and GlobalKnownHostsFile
 *    under StrictHostKeyChecking (yes/ask: strict; accept-new; no/off: learn
 *    unknown keys, refuse changed ones, as OpenSSH 9.2; HashKnownHosts for new entries);
 * 4. ServerAliveInterval/ServerAliveCountMax: keepalives and dead-peer detection;
 * 5. authenticate as ssh does, in PreferredAuthentications order among those
 *    enabled (PubkeyAuthentication, KbdInteractiveAuthentication,
 *    PasswordAuthentication): the agent's identities (IdentityAgent, default
 *    $SSH_AUTH_SOCK; not with IdentitiesOnly, nor IdentityAgent none), then the
 *    IdentityFiles, or the default ones (~/.ssh/id_rsa, id_ecdsa, id_ecdsa_sk,
 *    id_ed25519, id_ed25519_sk, id_xmss, id_dsa: those that exist, in the
 *    order `ssh -G` lists them); keyboard-interactive and password only with a "Password" or a
 *    prompt callback (never with BatchMode). An encrypted key needs "Passphrase"
 *    or the passphrase callback and is skipped otherwise, with the reason recorded.
 * @param host "[user@]host[:port]", "[user@][host]:port", an IPv6 address or a
 *        Host alias (NUL-terminated)
 * @param options may be NULL: defaults only
 * @param[out] out new reference to an authenticated session
 * @return XSSH_OK; XSSH_EARG (a malformed host string: xssh_error_last() quotes
 *         it and says what is wrong, e.g. "host 'h:0': port must be 1..65535");
 *         XSSH_ECONFIG; XSSH_ERESOLVE, XSSH_ECONNECT, XSSH_ETIMEOUT;
 *         a host-key error; XSSH_EAUTHENTICATION_FAILED with a message listing
 *         every method tried and why each failed ("agent: 2 keys refused;
 *         ~/.ssh/id_ed25519: encrypted, no passphrase given; password: not
 *         offered by the server").
 */
XSSH_EXTERN(int) xssh_connect(const char *host, xssh_options *options, xssh_session **out);

/**
 * Split a host string the way xssh_connect(), the multi interface (xssh_multi_add_host_*),
 * run_many/put_many/get_many of every language and the `xssh` tool read it:
 * `[user@]host[:port]`; `[user@][host]:port` (brackets around any host, needed
 * for an IPv6 address with a port, accepted for names and IPv4 addresses as in
 * ssh's known_hosts syntax); or a bare IPv6 address (two or more ':', no port).
 * The user is what precedes the last '@' (non-empty; no whitespace, control
 * characters, ':' or '/'). The host: non-empty, printable ASCII without
 * slash, at sign, square brackets, backslash or quotes, not starting with '-'
 * (it could be taken for an option), not
 * "." or ".." (so it is always one safe file-name component); with ':' in it,
 * an IPv6 address (hex digits, ':', '.', an optional %zone). The port:
 * decimal 1..65535. Pure string work: nothing is resolved; an ssh_config Host
 * alias is a host name here.
 * @param s the string
 * @param[out] user the user (allocated, free with xssh_free()), NULL when none
 *        was given; may be NULL when not wanted
 * @param[out] host the host name or address without brackets (allocated, free
 *        with xssh_free())
 * @param[out] port the port, 0 when none was given; may be NULL
 * @return XSSH_OK; XSSH_EARG (@p s or @p host NULL, or @p s malformed:
 *         xssh_error_last() quotes it and says what is wrong, e.g.
 *         "host 'h:0': port must be 1..65535"); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_host_parse(const char *s, char **user, char **host, int *port);

/* ---- logging ------------------------------------------------------------ */

/** Log levels, most severe first. */
typedef enum xssh_log_level {
    XSSH_LOG_NONE = 0,    /**< nothing (the default) */
    XSSH_LOG_ERROR = 1,   /**< a failure that ends an operation */
    XSSH_LOG_WARNING = 2, /**< something the user should know (a key skipped, a host key learnt) */
    XSSH_LOG_INFO = 3,    /**< decisions: configuration applied, authentication results */
    XSSH_LOG_DEBUG = 4,   /**< every attempt, keepalive, retry */
    XSSH_LOG_TRACE = 5    /**< also libssh2's own trace (only with a libssh2 built with tracing) */
} xssh_log_level;

/**
 * Log callback: one record. @p host is the connection's host as the caller
 * named it ("" when none); @p message never holds a secret (password,
 * passphrase, key bytes). Called on the thread that logs, which may be one of
 * xssh's forward threads; it must not call back into xssh on the same session.
 */
typedef void (*xssh_log_cb)(int level, const char *host, const char *message, void *userdata);

/**
 * Install the process-wide log callback and the most verbose level passed to
 * it (records above @p level are not even formatted). NULL @p cb: silent.
 * Thread-safe: returns once no record is being delivered to the previous
 * callback, so its @p userdata may be freed then; a callback must not call
 * xssh_log_set() itself. At XSSH_LOG_TRACE, sessions created by xssh_connect()
 * also pass on libssh2's trace (libssh2_trace_sethandler(), without
 * LIBSSH2_TRACE_TRANS, which would dump decrypted packets); Debian's libssh2
 * 1.10 is built without tracing, so there TRACE adds nothing to DEBUG.
 * @param cb the callback, or NULL to remove it
 * @param userdata passed to cb unchanged
 * @param level the most verbose level passed on (XSSH_LOG_*)
 * @return XSSH_OK; XSSH_EARG when @p level is not 0 (none) .. 5 (trace)
 */
XSSH_EXTERN(int) xssh_log_set(xssh_log_cb cb, void *userdata, int level);

XSSH_END_DECL

/** @} */
#endif /* XSSH_CONNECT_H */
