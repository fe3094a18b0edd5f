/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c — OpenSSH client configuration (ssh_config(5)) the way OpenSSH 9.2's
 * ssh reads it, the xssh_options object, and xssh__resolve() (the `ssh -G`
 * view of one host) used by connect.c.
 *
 * The order of work follows ssh.c / readconf.c of OpenSSH 9.2:
 *  1. explicit options (xssh_options_set, like `ssh -o`), "user@" of the host;
 *  2. the files: ConfigFile (ssh -F) or ~/.ssh/config then /etc/ssh/ssh_config,
 *     Include'd files in place, first value wins, Host/Match decide which
 *     lines apply;
 *  3. a second ("final") pass over the files when a "Match final" was seen or
 *     CanonicalizeHostname is on (hostname fixed to the expanded HostName);
 *  4. defaults, %-tokens, "~" and ${ENV} expansion, algorithm list edits.
 * Differences from ssh are listed in docs/config.md.
 */
#define _GNU_SOURCE
#include "config_internal.h"
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WS " \t\r\n"
#define CFG_MAX_DEPTH 16           /* READCONF_MAX_DEPTH of OpenSSH */
#define CFG_MAX_IDENTITY_FILES 100 /* SSH_MAX_IDENTITY_FILES */
#define CFG_MAX_HOSTFILES 32       /* SSH_MAX_HOSTS_FILES */
#define CFG_MAX_LINE (256 * 1024)  /* longer lines are refused (no silent cut) */
#define CFG_MAX_FILE (16 * 1024 * 1024)
#define CFG_MAX_INCLUDE_FILES 1024 /* files one Include pattern may name */
#define CFG_MAX_TOTAL_FILES 4096   /* files read for one resolution, every Include level together */
#define CFG_MAX_TOTAL_BYTES (64 * 1024 * 1024) /* bytes read for one resolution */

/* ---- OpenSSH 9.2 (Debian 12) algorithm lists, as `ssh -G` / `ssh -Q` print them ---- */
static const char DEF_CIPHERS[] = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
                                  "aes128-gcm@openssh.com,aes256-gcm@openssh.com";
static const char ALL_CIPHERS[] = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,"
                                  "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com";
static const char DEF_MACS[] = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
                               "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
                               "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
static const char ALL_MACS[] = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,"
                               "umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,"
                               "hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
                               "hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,"
                               "umac-64-etm@openssh.com,umac-128-etm@openssh.com";
static const char DEF_KEX[] = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
                              "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
                              "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
                              "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
static const char ALL_KEX[] = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,"
                              "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
                              "diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,"
                              "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,"
                              "curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com";
static const char DEF_HOSTKEYS[] =
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,"
    "rsa-sha2-512,rsa-sha2-256";
static const char ALL_HOSTKEYS[] =
    "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,"
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,"
    "ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,"
    "rsa-sha2-512-cert-v01@openssh.com";

/* the default identity files, in the order ssh 9.2 adds them */
static const char *const DEFAULT_IDS[] = {"~/.ssh/id_rsa",        "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk",
                                          "~/.ssh/id_ed25519",    "~/.ssh/id_ed25519_sk",
                                          "~/.ssh/id_xmss",       "~/.ssh/id_dsa"};

/* ---- small helpers ----------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void sb_add(sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }
static void sb_addc(sbuf *b, char c) { sb_addn(b, &c, 1); }
static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sb_addn(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_addn(b, big, (size_t)n);
    free(big);
}
/* the text (never NULL unless out of memory); the buffer is taken */
static char *sb_take(sbuf *b)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    if (!b->p)
        return xssh__strdup("");
    char *p = b->p;
    b->p = NULL;
    return p;
}

static void strlist_free(xssh__strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
/* takes s (freed on failure); -1 out of memory */
static int strlist_push(xssh__strlist *l, char *s)
{
    if (!s)
        return -1;
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) {
        free(s);
        return -1;
    }
    l->v = v;
    l->v[l->n++] = s;
    return 0;
}

static void lowercase(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* ---- patterns (OpenSSH match.c semantics) ------------------------------------- */

/* '*' any sequence, '?' one character; case-sensitive; iterative with backtracking */
int xssh__match_pattern(const char *s, const char *pattern)
{
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*pattern == '*') {
            star = pattern++;
            ss = s;
        } else if (*pattern == '?' || (*pattern && *pattern == *s)) {
            pattern++;
            s++;
        } else if (star) {
            pattern = star + 1;
            s = ++ss;
        } else {
            return 0;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

/* comma-separated list of patterns, each may start with '!': -1 when a negated
   one matches, 1 when a positive one matches, else 0 (match_pattern_list) */
int xssh__match_pattern_list(const char *string, const char *list, int dolower)
{
    char sub[1024];
    int got_positive = 0;
    size_t len = strlen(list);
    for (size_t i = 0; i < len;) {
        int negated = 0;
        if (list[i] == '!') {
            negated = 1;
            i++;
        }
        size_t subi = 0;
        for (; i < len && subi < sizeof sub - 1 && list[i] != ','; subi++, i++)
            sub[subi] = dolower ? (char)tolower((unsigned char)list[i]) : list[i];
        if (subi >= sizeof sub - 1)
            return 0; /* too long: fail (as OpenSSH) */
        if (i < len && list[i] == ',')
            i++;
        sub[subi] = '\0';
        if (xssh__match_pattern(string, sub)) {
            if (negated)
                return -1;
            got_positive = 1;
        }
    }
    return got_positive;
}

static int match_hostname(const char *host, const char *pattern)
{
    char *h = xssh__strdup(host);
    if (!h)
        return 0;
    lowercase(h);
    int r = xssh__match_pattern_list(h, pattern, 1);
    free(h);
    return r;
}

/* ---- tokenising (OpenSSH misc.c strdelim / argv_split) ------------------------ */

/* next word of *s split at whitespace or one '=', quotes kept together; NULL at end
   or on an unmatched quote (*bad set) */
static char *strdelim(char **s, int *bad)
{
    char *old;
    int wspace = 0;
    if (*s == NULL)
        return NULL;
    old = *s;
    *s = strpbrk(*s, WS "\"=");
    if (*s == NULL)
        return old;
    if ((*s)[0] == '"') {
        memmove(*s, *s + 1, strlen(*s));
        if ((*s = strpbrk(*s, "\"")) == NULL) {
            if (bad)
                *bad = 1;
            return NULL;
        }
        (*s)[0] = '\0';
        *s += strspn(*s + 1, WS) + 1;
        return old;
    }
    if ((*s)[0] == '=')
        wspace = 1;
    (*s)[0] = '\0';
    *s += strspn(*s + 1, WS) + 1;
    if ((*s)[0] == '=' && !wspace)
        *s += strspn(*s + 1, WS) + 1;
    return old;
}

typedef struct args {
    char **v;
    int n, i; /* i: next to consume */
} args;

static void args_free(args *a)
{
    for (int k = 0; k < a->n; k++)
        free(a->v[k]);
    free(a->v);
    a->v = NULL;
    a->n = a->i = 0;
}

/* split s into words: whitespace separated, "..." and '...' quoting, \\ \" \' and
   "\ " escapes, a word starting with '#' ends the line. 0, -1 unmatched quote,
   -2 out of memory */
static int argv_split(const char *s, args *a)
{
    memset(a, 0, sizeof *a);
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' || s[i] == '\t')
            continue;
        if (s[i] == '#')
            break;
        char **v = realloc(a->v, (size_t)(a->n + 2) * sizeof *v);
        if (!v)
            return -2;
        a->v = v;
        char *arg = calloc(1, len - i + 1);
        if (!arg)
            return -2;
        a->v[a->n++] = arg;
        a->v[a->n] = NULL;
        size_t j = 0;
        int quote = 0;
        for (; i < len; i++) {
            if (s[i] == '\\') {
                if (s[i + 1] == '\'' || s[i + 1] == '"' || s[i + 1] == '\\' || (quote == 0 && s[i + 1] == ' ')) {
                    i++;
                    arg[j++] = s[i];
                } else {
                    arg[j++] = s[i];
                }
            } else if (quote == 0 && (s[i] == ' ' || s[i] == '\t')) {
                break;
            } else if (quote == 0 && (s[i] == '"' || s[i] == '\'')) {
                quote = s[i];
            } else if (quote != 0 && s[i] == quote) {
                quote = 0;
            } else {
                arg[j++] = s[i];
            }
        }
        if (i >= len) {
            if (quote != 0)
                return -1;
            break;
        }
    }
    return 0;
}

static const char *args_next(args *a) { return a->i < a->n ? a->v[a->i++] : NULL; }
static void args_consume(args *a) { a->i = a->n; }

/* ---- the option set being resolved ----------------------------------------------- */

typedef struct cfg {
    char *hostname, *user;
    int port;
    xssh__strlist ids; /* IdentityFile as written (deduplicated) */
    int identities_only;
    char *identity_agent;
    char *jump_host, *jump_user, *jump_extra; /* jump_host "none": ProxyJump none */
    int jump_port;
    char *proxy_command;
    xssh__strlist ukh, gkh;
    int ukh_set, gkh_set;
    int strict, hash_kh, connect_timeout, sai, sacm, compression;
    char *ciphers, *kex, *hostkeys, *macs;
    int batch, af;
    char *bind_address, *preferred;
    int pubkey, password_auth, kbd;
    int canonicalize;
    char *ignore_unknown;
    char *host_key_alias;
} cfg;

static void cfg_init(cfg *o)
{
    memset(o, 0, sizeof *o);
    o->port = -1;
    o->identities_only = o->strict = o->hash_kh = o->connect_timeout = o->sai = o->sacm = o->compression = -1;
    o->batch = o->af = o->pubkey = o->password_auth = o->kbd = o->canonicalize = -1;
    o->jump_port = -1;
}

static void cfg_free(cfg *o)
{
    free(o->hostname);
    free(o->user);
    strlist_free(&o->ids);
    free(o->identity_agent);
    free(o->jump_host);
    free(o->jump_user);
    free(o->jump_extra);
    free(o->proxy_command);
    strlist_free(&o->ukh);
    strlist_free(&o->gkh);
    free(o->ciphers);
    free(o->kex);
    free(o->hostkeys);
    free(o->macs);
    free(o->bind_address);
    free(o->preferred);
    free(o->ignore_unknown);
    free(o->host_key_alias);
    cfg_init(o);
}

/* ---- keywords ------------------------------------------------------------------ */

typedef enum op {
    O_IGNORE = 0, /* known to ssh 9.2, no effect in xssh: accepted and ignored */
    O_HOST, O_MATCH, O_INCLUDE, O_HOSTNAME, O_USER, O_PORT, O_IDENTITYFILE, O_IDENTITIESONLY,
    O_IDENTITYAGENT, O_PROXYJUMP, O_PROXYCOMMAND, O_UKH, O_GKH, O_STRICT, O_HASHKH, O_CONNECTTIMEOUT,
    O_SAI, O_SACM, O_COMPRESSION, O_CIPHERS, O_KEX, O_HOSTKEYALGS, O_MACS, O_BATCH, O_AF, O_BIND,
    O_PREFERRED, O_PUBKEY, O_PASSWORD, O_KBD, O_CANONICALIZE, O_IGNOREUNKNOWN, O_HOSTKEYALIAS
} op;

static const struct {
    const char *name;
    op op;
} KEYWORDS[] = {
    {"host", O_HOST},
    {"match", O_MATCH},
    {"include", O_INCLUDE},
    {"hostname", O_HOSTNAME},
    {"user", O_USER},
    {"port", O_PORT},
    {"identityfile", O_IDENTITYFILE},
    {"identityfile2", O_IDENTITYFILE},
    {"identitiesonly", O_IDENTITIESONLY},
    {"identityagent", O_IDENTITYAGENT},
    {"proxyjump", O_PROXYJUMP},
    {"proxycommand", O_PROXYCOMMAND},
    {"userknownhostsfile", O_UKH},
    {"userknownhostsfile2", O_IGNORE}, /* deprecated in ssh 9.2 */
    {"globalknownhostsfile", O_GKH},
    {"globalknownhostsfile2", O_IGNORE},
    {"stricthostkeychecking", O_STRICT},
    {"hashknownhosts", O_HASHKH},
    {"connecttimeout", O_CONNECTTIMEOUT},
    {"serveraliveinterval", O_SAI},
    {"serveralivecountmax", O_SACM},
    {"compression", O_COMPRESSION},
    {"ciphers", O_CIPHERS},
    {"kexalgorithms", O_KEX},
    {"hostkeyalgorithms", O_HOSTKEYALGS},
    {"macs", O_MACS},
    {"batchmode", O_BATCH},
    {"addressfamily", O_AF},
    {"bindaddress", O_BIND},
    {"preferredauthentications", O_PREFERRED},
    {"pubkeyauthentication", O_PUBKEY},
    {"dsaauthentication", O_PUBKEY}, /* alias in ssh 9.2 */
    {"passwordauthentication", O_PASSWORD},
    {"kbdinteractiveauthentication", O_KBD},
    {"challengeresponseauthentication", O_KBD}, /* alias */
    {"skeyauthentication", O_KBD},              /* alias */
    {"tisauthentication", O_KBD},               /* alias */
    {"canonicalizehostname", O_CANONICALIZE},
    {"ignoreunknown", O_IGNOREUNKNOWN},
    {"hostkeyalias", O_HOSTKEYALIAS},
    /* every other keyword ssh 9.2 (Debian 12) knows: accepted, no effect */
    {"addkeystoagent", O_IGNORE}, {"afstokenpassing", O_IGNORE}, {"bindinterface", O_IGNORE},
    {"canonicaldomains", O_IGNORE}, {"canonicalizefallbacklocal", O_IGNORE}, {"canonicalizemaxdots", O_IGNORE},
    {"canonicalizepermittedcnames", O_IGNORE}, {"casignaturealgorithms", O_IGNORE}, {"certificatefile", O_IGNORE},
    {"checkhostip", O_IGNORE}, {"cipher", O_IGNORE}, {"clearallforwardings", O_IGNORE},
    {"compressionlevel", O_IGNORE}, {"connectionattempts", O_IGNORE}, {"controlmaster", O_IGNORE},
    {"controlpath", O_IGNORE}, {"controlpersist", O_IGNORE}, {"dynamicforward", O_IGNORE},
    {"enableescapecommandline", O_IGNORE}, {"enablesshkeysign", O_IGNORE}, {"escapechar", O_IGNORE},
    {"exitonforwardfailure", O_IGNORE}, {"fallbacktorsh", O_IGNORE}, {"fingerprinthash", O_IGNORE},
    {"forkafterauthentication", O_IGNORE}, {"forwardagent", O_IGNORE}, {"forwardx11", O_IGNORE},
    {"forwardx11timeout", O_IGNORE}, {"forwardx11trusted", O_IGNORE}, {"gatewayports", O_IGNORE},
    {"gssapiauthentication", O_IGNORE}, {"gssapiclientidentity", O_IGNORE},
    {"gssapidelegatecredentials", O_IGNORE}, {"gssapikexalgorithms", O_IGNORE}, {"gssapikeyexchange", O_IGNORE},
    {"gssapirenewalforcesrekey", O_IGNORE}, {"gssapiserveridentity", O_IGNORE}, {"gssapitrustdns", O_IGNORE},
    {"hostbasedacceptedalgorithms", O_IGNORE}, {"hostbasedauthentication", O_IGNORE},
    {"hostbasedkeytypes", O_IGNORE}, {"ipqos", O_IGNORE}, {"kbdinteractivedevices", O_IGNORE},
    {"keepalive", O_IGNORE}, {"kerberosauthentication", O_IGNORE}, {"kerberostgtpassing", O_IGNORE},
    {"knownhostscommand", O_IGNORE}, {"localcommand", O_IGNORE}, {"localforward", O_IGNORE},
    {"loglevel", O_IGNORE}, {"logverbose", O_IGNORE}, {"nohostauthenticationforlocalhost", O_IGNORE},
    {"numberofpasswordprompts", O_IGNORE}, {"permitlocalcommand", O_IGNORE}, {"permitremoteopen", O_IGNORE},
    {"pkcs11provider", O_IGNORE}, {"protocol", O_IGNORE}, {"protocolkeepalives", O_IGNORE},
    {"proxyusefdpass", O_IGNORE}, {"pubkeyacceptedalgorithms", O_IGNORE}, {"pubkeyacceptedkeytypes", O_IGNORE},
    {"rekeylimit", O_IGNORE}, {"remotecommand", O_IGNORE}, {"remoteforward", O_IGNORE}, {"requesttty", O_IGNORE},
    {"requiredrsasize", O_IGNORE}, {"revokedhostkeys", O_IGNORE}, {"rhostsauthentication", O_IGNORE},
    {"rhostsrsaauthentication", O_IGNORE}, {"rsaauthentication", O_IGNORE}, {"securitykeyprovider", O_IGNORE},
    {"sendenv", O_IGNORE}, {"sessiontype", O_IGNORE}, {"setenv", O_IGNORE}, {"setuptimeout", O_IGNORE},
    {"smartcarddevice", O_IGNORE}, {"stdinnull", O_IGNORE}, {"streamlocalbindmask", O_IGNORE},
    {"streamlocalbindunlink", O_IGNORE}, {"syslogfacility", O_IGNORE}, {"tcpkeepalive", O_IGNORE},
    {"tunnel", O_IGNORE}, {"tunneldevice", O_IGNORE}, {"updatehostkeys", O_IGNORE},
    {"useblacklistedkeys", O_IGNORE}, {"useprivilegedport", O_IGNORE}, {"useroaming", O_IGNORE},
    {"usersh", O_IGNORE}, {"verifyhostkeydns", O_IGNORE}, {"visualhostkey", O_IGNORE},
    {"xauthlocation", O_IGNORE},
};

static int keyword_lookup(const char *lower, op *out)
{
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
        if (strcmp(lower, KEYWORDS[i].name) == 0) {
            *out = KEYWORDS[i].op;
            return 1;
        }
    return 0;
}

/* ---- parse context -------------------------------------------------------------- */

enum {
    F_USERCONF = 1,   /* relative Include paths are under ~/.ssh */
    F_CHECKPERM = 2,  /* refuse a file others may write (as ssh) */
    F_NEVERMATCH = 4, /* inside an inactive Include: no Host/Match activates */
    F_CMDLINE = 8,    /* an explicit option (ssh -o) */
    F_FINAL = 16      /* the final pass */
};

typedef struct pctx {
    cfg *o;
    const char *host;      /* what Host patterns match: the argument (pass 1), the hostname (final) */
    const char *host_arg;  /* the argument, without "user@" (Match originalhost, %n) */
    const char *local_user;
    const char *home;
    int want_final;
    size_t files_read, bytes_read; /* bounded by CFG_MAX_TOTAL_FILES / CFG_MAX_TOTAL_BYTES */
    char err[900];
    int code; /* XSSH_ECONFIG, XSSH_ENOMEM */
} pctx;

static int perr(pctx *c, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int perr(pctx *c, const char *file, int line, const char *fmt, ...)
{
    char why[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(c->err, sizeof c->err, "%s line %d: %s", file, line, why);
    else
        snprintf(c->err, sizeof c->err, "%s: %s", file, why);
    c->code = XSSH_ECONFIG;
    return -1;
}

static int poom(pctx *c)
{
    snprintf(c->err, sizeof c->err, "out of memory reading the ssh configuration");
    c->code = XSSH_ENOMEM;
    return -1;
}

/* ---- value parsers -------------------------------------------------------------- */

/* OpenSSH convtime: "90", "1h30m", units s m h d w (either case); -1 when bad */
static long convtime(const char *s)
{
    long total = 0;
    if (!s || !*s)
        return -1;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0)
            return -1;
        long mult = 1;
        switch (*end) {
        case '\0': break;
        case 's': case 'S': end++; break;
        case 'm': case 'M': mult = 60; end++; break;
        case 'h': case 'H': mult = 3600; end++; break;
        case 'd': case 'D': mult = 86400; end++; break;
        case 'w': case 'W': mult = 604800; end++; break;
        default: return -1;
        }
        if (v > INT_MAX / mult)
            return -1;
        v *= mult;
        if (total > INT_MAX - v)
            return -1;
        total += v;
        s = end;
    }
    return total;
}

/* a2port: 1..65535 or a service name; -1 when bad */
static int a2port(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s && *end == '\0' && !errno && s[0] != '-' && s[0] != '+' && !isspace((unsigned char)s[0]))
        return v >= 1 && v <= 65535 ? (int)v : -1;
    struct servent se, *res = NULL;
    char buf[1024];
    if (getservbyname_r(s, "tcp", &se, buf, sizeof buf, &res) == 0 && res)
        return ntohs((uint16_t)res->s_port);
    return -1;
}

typedef struct mstate {
    const char *key;
    int value;
} mstate;

static const mstate MS_FLAG[] = {{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {NULL, -1}};
static const mstate MS_STRICT[] = {{"true", 1},  {"false", 0}, {"yes", 1},        {"no", 0},
                                   {"ask", 2},   {"off", 0},   {"accept-new", 3}, {NULL, -1}};
static const mstate MS_AF[] = {{"inet", AF_INET}, {"inet6", AF_INET6}, {"any", AF_UNSPEC}, {NULL, -1}};
/* pubkey: 1 yes, 2 unbound, 3 host-bound (all enable public-key authentication) */
static const mstate MS_PUBKEY[] = {{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0},
                                   {"unbound", 2}, {"host-bound", 3}, {NULL, -1}};
static const mstate MS_COMP[] = {{"yes", 1}, {"no", 0}, {NULL, -1}};
static const mstate MS_CANON[] = {{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"always", 2}, {NULL, -1}};

/* cipher / mac / kex name lists: every name must be known (no patterns) */
static int name_in_list(const char *name, size_t n, const char *list)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, name, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int names_valid(const char *names, const char *all, int allow_wildcard)
{
    if (!*names)
        return 0;
    const char *p = names;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0)
            return 0;
        if (!name_in_list(p, l, all)) {
            if (!allow_wildcard)
                return 0;
            /* a pattern: accepted when some known name matches it (positively or negated) */
            char pat[1024];
            if (l >= sizeof pat)
                return 0;
            memcpy(pat, p, l);
            pat[l] = '\0';
            int any = 0;
            const char *q = all;
            while (*q && !any) {
                const char *qe = strchr(q, ',');
                size_t ql = qe ? (size_t)(qe - q) : strlen(q);
                char nm[128];
                if (ql < sizeof nm) {
                    memcpy(nm, q, ql);
                    nm[ql] = '\0';
                    if (xssh__match_pattern_list(nm, pat, 0) != 0)
                        any = 1;
                }
                if (!qe)
                    break;
                q = qe + 1;
            }
            if (!any)
                return 0;
        }
        if (!e)
            return 1;
        p = e + 1;
    }
}

/* ---- percent / tilde / env expansion --------------------------------------------- */

typedef struct tokens {
    const char *keys;  /* e.g. "hnpr..." */
    const char *vals[16];
} tokens;

/* expand ~ (HOME, else the passwd entry) and ~user */
static char *tilde_expand(pctx *c, const char *path, const char *what)
{
    if (path[0] != '~')
        return xssh__strdup(path);
    const char *rest = path + 1;
    const char *slash = strchr(rest, '/');
    size_t ulen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *home = NULL;
    char *owned_home = NULL;
    if (ulen == 0) {
        home = c->home;
    } else {
        char user[256];
        if (ulen >= sizeof user) {
            snprintf(c->err, sizeof c->err, "%s: no such user in '%s'", what, path);
            c->code = XSSH_ECONFIG;
            return NULL;
        }
        memcpy(user, rest, ulen);
        user[ulen] = '\0';
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(user, &pw, buf, sizeof buf, &res) != 0 || !res) {
            snprintf(c->err, sizeof c->err, "%s: no such user '%s' in '%s'", what, user, path);
            c->code = XSSH_ECONFIG;
            return NULL;
        }
        home = owned_home = xssh__strdup(res->pw_dir);
        if (!home)
            return NULL;
    }
    /* as OpenSSH's tilde_expand_filename: home, one '/', then what followed "~user/" */
    sbuf b = {0};
    sb_add(&b, home);
    size_t hl = strlen(home);
    if (hl == 0 || home[hl - 1] != '/')
        sb_addc(&b, '/');
    if (slash)
        sb_add(&b, slash + 1);
    free(owned_home);
    return sb_take(&b);
}

/* ${NAME} from the environment; then %x tokens. NULL with c->err on failure */
static char *percent_dollar_expand(pctx *c, const char *s, const tokens *t, int dollar, const char *what)
{
    sbuf b = {0};
    for (const char *p = s; *p; p++) {
        if (dollar && p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) {
                free(b.p);
                snprintf(c->err, sizeof c->err, "%s: '%s': unterminated ${ in environment expansion", what, s);
                c->code = XSSH_ECONFIG;
                return NULL;
            }
            char name[256];
            size_t n = (size_t)(end - (p + 2));
            int ok = n > 0 && n < sizeof name && !isdigit((unsigned char)p[2]);
            for (size_t k = 0; ok && k < n; k++)
                if (!isalnum((unsigned char)p[2 + k]) && p[2 + k] != '_')
                    ok = 0;
            if (!ok) {
                free(b.p);
                snprintf(c->err, sizeof c->err, "%s: '%s': invalid environment variable name", what, s);
                c->code = XSSH_ECONFIG;
                return NULL;
            }
            memcpy(name, p + 2, n);
            name[n] = '\0';
            const char *v = getenv(name);
            if (!v) {
                free(b.p);
                snprintf(c->err, sizeof c->err, "%s: '%s': environment variable ${%s} has no value", what, s, name);
                c->code = XSSH_ECONFIG;
                return NULL;
            }
            sb_add(&b, v);
            p = end;
            continue;
        }
        if (*p != '%') {
            sb_addc(&b, *p);
            continue;
        }
        p++;
        if (*p == '%') {
            sb_addc(&b, '%');
            continue;
        }
        const char *k = *p ? strchr(t->keys, *p) : NULL;
        if (!k) {
            free(b.p);
            if (*p)
                snprintf(c->err, sizeof c->err, "%s: '%s': unknown token %%%c", what, s, *p);
            else
                snprintf(c->err, sizeof c->err, "%s: '%s': '%%' at the end", what, s);
            c->code = XSSH_ECONFIG;
            return NULL;
        }
        sb_add(&b, t->vals[k - t->keys]);
    }
    char *r = sb_take(&b);
    if (!r)
        poom(c);
    return r;
}

/* ---- option processing ---------------------------------------------------------- */

static int parse_ms(pctx *c, const char *file, int line, args *a, const mstate *ms, int *val)
{
    const char *arg = args_next(a);
    if (!arg || !*arg)
        return perr(c, file, line, "missing argument.");
    for (int i = 0; ms[i].key; i++)
        if (strcasecmp(arg, ms[i].key) == 0) {
            *val = ms[i].value;
            return 0;
        }
    return perr(c, file, line, "unsupported option \"%s\".", arg);
}

static int set_str(pctx *c, char **dst, const char *v, int active)
{
    if (active && *dst == NULL) {
        if (!(*dst = xssh__strdup(v)))
            return poom(c);
    }
    return 0;
}

/* why the last parse_user_host_port / parse_hop of this thread refused its
   text (static text, for the error message) */
static _Thread_local const char *hop_why;

/* [user@]host[:port] or [user@][v6addr]:port; 0 ok (else hop_why says why) */
static int parse_user_host_port(const char *s, char **user, char **host, int *port)
{
    hop_why = "out of memory";
    char *dup = xssh__strdup(s), *tmp = dup, *cp;
    int rc = -1;
    if (!dup)
        return -1;
    if (user)
        *user = NULL;
    if (host)
        *host = NULL;
    if (port)
        *port = -1;
    if ((cp = strrchr(tmp, '@')) != NULL) {
        *cp = '\0';
        hop_why = "an empty user name before '@'";
        if (*tmp == '\0')
            goto out;
        if (user && !(*user = xssh__strdup(tmp)))
            goto out;
        tmp = cp + 1;
    }
    /* hpdelim: [v6]:port or host:port */
    char *h, *pstr = NULL;
    if (*tmp == '[') {
        char *e = strchr(tmp, ']');
        hop_why = "'[' without its ']'";
        if (!e)
            goto out;
        *e = '\0';
        h = tmp + 1;
        hop_why = "text after ']' that is not ':port'";
        if (e[1] == ':')
            pstr = e + 2;
        else if (e[1] != '\0')
            goto out;
    } else {
        h = tmp;
        char *colon = strchr(tmp, ':');
        if (colon) {
            *colon = '\0';
            pstr = colon + 1;
        }
    }
    hop_why = "an empty host";
    if (*h == '\0')
        goto out;
    if (pstr && *pstr) {
        int p = a2port(pstr);
        hop_why = "the port is not a number in 1..65535";
        if (p <= 0)
            goto out;
        if (port)
            *port = p;
    }
    if (host && !(*host = xssh__strdup(h)))
        goto out;
    rc = 0;
out:
    if (rc != 0) {
        if (user) {
            free(*user);
            *user = NULL;
        }
    }
    free(dup);
    return rc;
}

/* one jump hop, ssh://[user@]host[:port] accepted too */
static int parse_hop(const char *s, char **user, char **host, int *port)
{
    if (strncasecmp(s, "ssh://", 6) == 0) {
        const char *rest = s + 6;
        hop_why = *rest ? "a path after the ssh:// host" : "nothing after ssh://";
        if (*rest == '\0' || strchr(rest, '/'))
            return -1;
        return parse_user_host_port(rest, user, host, port);
    }
    return parse_user_host_port(s, user, host, port);
}

/* the hop parse_jump refused last on this thread, and why (hop_why) */
static _Thread_local char hop_bad[256];
static void bad_hop(const char *hop)
{
    size_t n = strlen(hop);
    if (n >= sizeof hop_bad)
        snprintf(hop_bad, sizeof hop_bad, "%.200s...", hop);
    else
        memcpy(hop_bad, hop, n + 1);
}

/* "ProxyJump none" (ssh's test: a hop list can never give port 0) */
static int jump_is_none(const cfg *o)
{
    return o->jump_host && strcmp(o->jump_host, "none") == 0 && o->jump_port == 0 && o->jump_user == NULL;
}

/* OpenSSH parse_jump: s is the raw rest of the line */
static int parse_jump(cfg *o, const char *s, int active)
{
    active &= o->proxy_command == NULL && o->jump_host == NULL;
    char *sdup = xssh__strdup(s);
    if (!sdup)
        return -2;
    char *cp = strchr(sdup, '#');
    if (cp)
        *cp = '\0';
    size_t l = strlen(sdup);
    while (l > 0 && strchr(WS, sdup[l - 1]))
        sdup[--l] = '\0';
    char *user = NULL, *host = NULL;
    int port = -1, first = active, rc = -1;
    if (strcasecmp(s, "none") != 0) {
        do {
            if ((cp = strrchr(sdup, ',')) == NULL)
                cp = sdup;
            else
                *cp++ = '\0';
            if (first) {
                if (parse_hop(cp, &user, &host, &port) != 0) {
                    bad_hop(cp);
                    goto out;
                }
            } else if (parse_hop(cp, NULL, NULL, NULL) != 0) {
                bad_hop(cp);
                goto out;
            }
            first = 0;
        } while (cp != sdup);
    }
    if (active) {
        if (strcasecmp(s, "none") == 0) {
            if (!(o->jump_host = xssh__strdup("none")))
                goto oom;
            o->jump_port = 0;
        } else {
            o->jump_user = user;
            o->jump_host = host;
            o->jump_port = port;
            user = host = NULL;
            if (!(o->proxy_command = xssh__strdup("none")))
                goto oom;
            /* the hops before the last one, as written (after the comment is cut) */
            char *clean = xssh__strdup(s);
            if (!clean)
                goto oom;
            char *hash = strchr(clean, '#');
            if (hash)
                *hash = '\0';
            const char *comma = strrchr(clean, ',');
            if (comma && comma != clean) {
                o->jump_extra = xssh__memdup(clean, (size_t)(comma - clean) + 1);
                if (!o->jump_extra) {
                    free(clean);
                    goto oom;
                }
                o->jump_extra[comma - clean] = '\0';
            }
            free(clean);
        }
    }
    rc = 0;
    goto out;
oom:
    rc = -2;
out:
    free(user);
    free(host);
    free(sdup);
    return rc;
}

static int read_file(pctx *c, const char *path, int flags, int *activep, int depth, int *found);

/* Match criteria (OpenSSH match_cfg_line): 1 match, 0 no match, -1 error */
static int match_line(pctx *c, args *a, const char *file, int line, int flags)
{
    cfg *o = c->o;
    int result = 1, attributes = 0;
    const char *oattrib;
    char *host = NULL;
    if (flags & F_FINAL)
        host = xssh__strdup(o->hostname ? o->hostname : c->host_arg);
    else if (o->hostname) {
        tokens t = {"h", {c->host_arg}};
        host = percent_dollar_expand(c, o->hostname, &t, 0, "HostName");
        if (!host)
            return perr(c, file, line, "%s", c->err);
    } else
        host = xssh__strdup(c->host_arg);
    if (!host)
        return poom(c);
    const char *ruser = o->user ? o->user : c->local_user;
    while ((oattrib = args_next(a)) != NULL) {
        const char *attrib = oattrib, *arg;
        if (*attrib == '#') {
            args_consume(a);
            break;
        }
        int negate = attrib[0] == '!';
        if (negate)
            attrib++;
        if (strcasecmp(attrib, "all") == 0) {
            if (attributes > 1 || ((arg = args_next(a)) != NULL && *arg != '\0' && *arg != '#')) {
                free(host);
                return perr(c, file, line, "'%s' cannot be combined with other Match attributes", oattrib);
            }
            if (arg && *arg == '#')
                args_consume(a);
            if (result)
                result = negate ? 0 : 1;
            free(host);
            return result;
        }
        attributes++;
        if (strcasecmp(attrib, "canonical") == 0 || strcasecmp(attrib, "final") == 0) {
            if (strcasecmp(attrib, "final") == 0)
                c->want_final = 1;
            int r = (flags & F_FINAL) ? 1 : 0;
            if (r == (negate ? 1 : 0))
                result = 0;
            continue;
        }
        if ((arg = args_next(a)) == NULL || *arg == '\0' || *arg == '#') {
            free(host);
            return perr(c, file, line, "Missing Match criteria for %s", attrib);
        }
        int r;
        if (strcasecmp(attrib, "host") == 0) {
            r = match_hostname(host, arg) == 1;
        } else if (strcasecmp(attrib, "originalhost") == 0) {
            r = match_hostname(c->host_arg, arg) == 1;
        } else if (strcasecmp(attrib, "user") == 0) {
            r = xssh__match_pattern_list(ruser, arg, 0) == 1;
        } else if (strcasecmp(attrib, "localuser") == 0) {
            r = xssh__match_pattern_list(c->local_user, arg, 0) == 1;
        } else if (strcasecmp(attrib, "exec") == 0 || strcasecmp(attrib, "localnetwork") == 0) {
            /* as ssh 9.2: criteria are evaluated left to right and an exec after a
               failed one is skipped; the outcome is then known, so xssh need not
               refuse what it would never have to evaluate */
            if (result != 1)
                continue;
            free(host);
            return perr(c, file, line, "Match %s is not supported by xssh (it would run a command or "
                        "inspect the local interfaces)", attrib);
        } else {
            free(host);
            return perr(c, file, line, "Unsupported Match attribute %s", attrib);
        }
        if (r == (negate ? 1 : 0))
            result = 0;
    }
    free(host);
    if (attributes == 0)
        return perr(c, file, line, "One or more attributes required for Match");
    return result;
}


/* glob's error callback: only a missing path (ENOENT, ENOTDIR) means "no match";
   anything else is recorded and fails the Include. glob has no user data. */
static __thread int glob_fail_errno;
static __thread char glob_fail_path[512];
static int glob_err(const char *path, int err)
{
    if (err == ENOENT || err == ENOTDIR)
        return 0;
    if (!glob_fail_errno) {
        glob_fail_errno = err;
        snprintf(glob_fail_path, sizeof glob_fail_path, "%s", path);
    }
    return 1;
}

static int include_one(pctx *c, const char *pattern, const char *file, int line, int flags, int *activep,
                       int depth)
{
    char *expanded = NULL, *p2 = NULL;
    int rc = 0;
    if (pattern[0] == '~' && !(flags & F_USERCONF))
        return perr(c, file, line, "bad include path %s.", pattern);
    if (pattern[0] != '/' && pattern[0] != '~') {
        sbuf b = {0};
        if (flags & F_USERCONF) {
            sb_add(&b, "~/.ssh/");
        } else {
            sb_add(&b, "/etc/ssh/");
        }
        sb_add(&b, pattern);
        if (!(p2 = sb_take(&b)))
            return poom(c);
        pattern = p2;
    }
    if (!(expanded = tilde_expand(c, pattern, "Include"))) {
        free(p2);
        return c->code ? perr(c, file, line, "%s", c->err) : poom(c);
    }
    glob_t gl;
    memset(&gl, 0, sizeof gl);
    glob_fail_errno = 0;
    glob_fail_path[0] = '\0';
    int g = glob(expanded, 0, glob_err, &gl);
    if (glob_fail_errno) {
        /* a directory that could not be listed (EMFILE, EACCES...) is not "no match" */
        rc = perr(c, file, line, "Include: '%s' cannot be read: %s", glob_fail_path, strerror(glob_fail_errno));
    } else if (g == GLOB_NOMATCH) {
        rc = 0;
    } else if (g != 0) {
        rc = perr(c, file, line, "glob failed for %s.", expanded);
    } else if (gl.gl_pathc > CFG_MAX_INCLUDE_FILES) {
        rc = perr(c, file, line, "Include %s matches %zu files (at most %d)", expanded, (size_t)gl.gl_pathc,
                  CFG_MAX_INCLUDE_FILES);
    } else {
        int oactive = *activep;
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            int found = 0;
            int r = read_file(c, gl.gl_pathv[i], flags | F_CHECKPERM | (oactive ? 0 : F_NEVERMATCH), activep,
                              depth + 1, &found);
            *activep = oactive;
            if (r != 0) {
                rc = -1;
                break;
            }
        }
    }
    globfree(&gl);
    free(expanded);
    free(p2);
    return rc;
}

/* One line (modified in place). 0 ok, -1 error in c->err */
static int process_line(pctx *c, char *linebuf, const char *file, int line, int *activep, int flags, int depth)
{
    cfg *o = c->o;
    int active = *activep;
    int bad = 0, rc = 0;
    size_t len = strlen(linebuf);
    if (len == 0)
        return 0;
    while (len > 0 && strchr(WS "\f", linebuf[len - 1]))
        linebuf[--len] = '\0';
    char *str = linebuf;
    char *keyword = strdelim(&str, &bad);
    if (keyword == NULL)
        return bad ? perr(c, file, line, "invalid quotes") : 0;
    if (*keyword == '\0')
        keyword = strdelim(&str, &bad);
    if (keyword == NULL && bad)
        return perr(c, file, line, "invalid quotes");
    if (keyword == NULL || !*keyword || *keyword == '\n' || *keyword == '#')
        return 0;
    lowercase(keyword);
    if (str != NULL)
        str += strspn(str, WS);
    if (str == NULL || *str == '\0')
        return perr(c, file, line, "no argument after keyword \"%s\"", keyword);
    op opc;
    if (!keyword_lookup(keyword, &opc)) {
        if (o->ignore_unknown && xssh__match_pattern_list(keyword, o->ignore_unknown, 1) == 1)
            return 0;
        return perr(c, file, line, "Bad configuration option: %s", keyword);
    }
    args a;
    int sr = argv_split(str, &a);
    if (sr == -2) {
        args_free(&a);
        return poom(c);
    }
    if (sr != 0) {
        args_free(&a);
        return perr(c, file, line, "invalid quotes");
    }
    const char *arg;
    int v = 0;
    switch (opc) {
    case O_IGNORE:
        args_consume(&a);
        break;
    case O_HOST:
        if (flags & F_CMDLINE) {
            rc = perr(c, file, line, "Host directive not supported as a command-line option");
            break;
        }
        *activep = 0;
        while ((arg = args_next(&a)) != NULL) {
            if (*arg == '\0') {
                rc = perr(c, file, line, "keyword %s empty argument", keyword);
                break;
            }
            if (flags & F_NEVERMATCH) {
                args_consume(&a);
                break;
            }
            int negated = *arg == '!';
            if (negated)
                arg++;
            if (xssh__match_pattern(c->host, arg)) {
                if (negated) {
                    *activep = 0;
                    args_consume(&a);
                    break;
                }
                *activep = 1;
            }
        }
        if (*activep)
            xssh__log(XSSH_LOG_DEBUG, c->host_arg, "configuration: %s line %d: Host block applies", file, line);
        break;
    case O_MATCH:
        if (flags & F_CMDLINE) {
            rc = perr(c, file, line, "Host directive not supported as a command-line option");
            break;
        }
        v = match_line(c, &a, file, line, flags);
        if (v < 0) {
            rc = -1;
            break;
        }
        *activep = (flags & F_NEVERMATCH) ? 0 : v;
        if (*activep)
            xssh__log(XSSH_LOG_DEBUG, c->host_arg, "configuration: %s line %d: Match block applies", file, line);
        break;
    case O_INCLUDE:
        if (flags & F_CMDLINE) {
            rc = perr(c, file, line, "Include directive not supported as a command-line option");
            break;
        }
        while (rc == 0 && (arg = args_next(&a)) != NULL) {
            if (*arg == '\0') {
                rc = perr(c, file, line, "keyword %s empty argument", keyword);
                break;
            }
            rc = include_one(c, arg, file, line, flags, activep, depth);
        }
        break;
    case O_HOSTNAME:
    case O_USER:
    case O_BIND:
    case O_PREFERRED:
    case O_HOSTKEYALIAS:
    case O_IGNOREUNKNOWN: {
        char **dst = opc == O_HOSTNAME ? &o->hostname
                   : opc == O_USER     ? &o->user
                   : opc == O_BIND     ? &o->bind_address
                   : opc == O_PREFERRED ? &o->preferred
                   : opc == O_HOSTKEYALIAS ? &o->host_key_alias
                                       : &o->ignore_unknown;
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        rc = set_str(c, dst, arg, active);
        break;
    }
    case O_PORT:
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        v = a2port(arg);
        if (v <= 0) {
            rc = perr(c, file, line, "Bad port '%s'.", arg);
            break;
        }
        if (active && o->port == -1)
            o->port = v;
        break;
    case O_IDENTITYFILE:
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        if (active) {
            int dup = 0;
            for (size_t i = 0; i < o->ids.n; i++)
                if (strcmp(o->ids.v[i], arg) == 0)
                    dup = 1;
            if (!dup) {
                if (o->ids.n >= CFG_MAX_IDENTITY_FILES) {
                    rc = perr(c, file, line, "Too many identity files specified (max %d)", CFG_MAX_IDENTITY_FILES);
                    break;
                }
                if (strlist_push(&o->ids, xssh__strdup(arg)) != 0)
                    rc = poom(c);
            }
        }
        break;
    case O_IDENTITYAGENT:
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        if (arg[0] == '$' && arg[1] != '{') {
            int ok = arg[1] != '\0' && !isdigit((unsigned char)arg[1]);
            for (const char *p = arg + 1; ok && *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                    ok = 0;
            if (!ok) {
                rc = perr(c, file, line, "Invalid environment name %s.", arg);
                break;
            }
        }
        rc = set_str(c, &o->identity_agent, arg, active);
        break;
    case O_PROXYJUMP: {
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        const char *raw = str + strspn(str, WS);
        int j = parse_jump(o, raw, active);
        if (j == -2)
            rc = poom(c);
        else if (j != 0)
            rc = perr(c, file, line, "Invalid ProxyJump \"%s\" (hop \"%s\": %s)", raw, hop_bad,
                      hop_why ? hop_why : "malformed");
        args_consume(&a);
        break;
    }
    case O_PROXYCOMMAND: {
        const char *raw = str + strspn(str, WS "=");
        if (active && o->jump_host == NULL && o->proxy_command == NULL)
            rc = set_str(c, &o->proxy_command, raw, 1);
        args_consume(&a);
        break;
    }
    case O_UKH:
    case O_GKH: {
        xssh__strlist *l = opc == O_UKH ? &o->ukh : &o->gkh;
        int *set = opc == O_UKH ? &o->ukh_set : &o->gkh_set;
        int n = 0;
        int take = active && !*set;
        while ((arg = args_next(&a)) != NULL) {
            if (*arg == '\0') {
                rc = perr(c, file, line, "keyword %s empty argument", keyword);
                break;
            }
            if (++n > CFG_MAX_HOSTFILES) {
                rc = perr(c, file, line, "too many known hosts files.");
                break;
            }
            if (take && strlist_push(l, xssh__strdup(arg)) != 0) {
                rc = poom(c);
                break;
            }
        }
        if (take && rc == 0)
            *set = 1;
        else if (take)
            strlist_free(l);
        break;
    }
    case O_STRICT:
    case O_HASHKH:
    case O_IDENTITIESONLY:
    case O_COMPRESSION:
    case O_BATCH:
    case O_AF:
    case O_PUBKEY:
    case O_PASSWORD:
    case O_KBD:
    case O_CANONICALIZE: {
        const mstate *ms = opc == O_STRICT ? MS_STRICT : opc == O_AF ? MS_AF : opc == O_PUBKEY ? MS_PUBKEY
                         : opc == O_COMPRESSION ? MS_COMP : opc == O_CANONICALIZE ? MS_CANON : MS_FLAG;
        int *dst = opc == O_STRICT ? &o->strict : opc == O_HASHKH ? &o->hash_kh
                 : opc == O_IDENTITIESONLY ? &o->identities_only : opc == O_COMPRESSION ? &o->compression
                 : opc == O_BATCH ? &o->batch : opc == O_AF ? &o->af : opc == O_PUBKEY ? &o->pubkey
                 : opc == O_PASSWORD ? &o->password_auth : opc == O_KBD ? &o->kbd : &o->canonicalize;
        rc = parse_ms(c, file, line, &a, ms, &v);
        if (rc == 0 && active && *dst == -1)
            *dst = v;
        break;
    }
    case O_CONNECTTIMEOUT:
    case O_SAI: {
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "missing time value.");
            break;
        }
        long t;
        if (strcmp(arg, "none") == 0)
            t = -1;
        else if ((t = convtime(arg)) == -1) {
            rc = perr(c, file, line, "invalid time value.");
            break;
        }
        int *dst = opc == O_CONNECTTIMEOUT ? &o->connect_timeout : &o->sai;
        if (active && *dst == -1)
            *dst = (int)t;
        break;
    }
    case O_SACM: {
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        char *end;
        errno = 0;
        long n = strtol(arg, &end, 10);
        if (end == arg || *end || errno || n < 0 || n > INT_MAX) {
            rc = perr(c, file, line, "integer value %s.",
                      (end == arg || *end) ? "invalid" : n < 0 ? "too small" : "too large");
            break;
        }
        if (active && o->sacm == -1)
            o->sacm = (int)n;
        break;
    }
    case O_CIPHERS:
    case O_KEX:
    case O_HOSTKEYALGS:
    case O_MACS: {
        arg = args_next(&a);
        if (!arg || !*arg) {
            rc = perr(c, file, line, "Missing argument.");
            break;
        }
        const char *all = opc == O_CIPHERS ? ALL_CIPHERS : opc == O_KEX ? ALL_KEX
                        : opc == O_HOSTKEYALGS ? ALL_HOSTKEYS : ALL_MACS;
        const char *list = (*arg == '+' || *arg == '^') ? arg + 1 : arg;
        if (*arg != '-' && !names_valid(list, all, opc == O_HOSTKEYALGS)) {
            rc = perr(c, file, line, "%s '%s'.",
                      opc == O_CIPHERS ? "Bad SSH2 cipher spec" : opc == O_KEX ? "Bad SSH2 KexAlgorithms"
                      : opc == O_HOSTKEYALGS ? "Bad key types" : "Bad SSH2 MAC spec", arg);
            break;
        }
        char **dst = opc == O_CIPHERS ? &o->ciphers : opc == O_KEX ? &o->kex
                   : opc == O_HOSTKEYALGS ? &o->hostkeys : &o->macs;
        rc = set_str(c, dst, arg, active);
        break;
    }
    }
    if (rc == 0 && a.i < a.n)
        rc = perr(c, file, line, "keyword %s extra arguments at end of line", keyword);
    args_free(&a);
    return rc;
}

/* Read one file. *found: 0 when it does not exist (not an error for the defaults) */
static int read_text(pctx *c, char *text, size_t len, const char *name, int flags, int *activep, int depth);

static int read_file(pctx *c, const char *path, int flags, int *activep, int depth, int *found)
{
    *found = 0;
    if (depth < 0 || depth > CFG_MAX_DEPTH)
        return perr(c, path, 0, "too many recursive configuration includes (more than %d levels)", CFG_MAX_DEPTH);
    /* every configuration file (the top one too) must be a regular file before it
       is even opened: a FIFO or a terminal would block the open or the read. An
       included directory is skipped, as ssh (which reads it as empty) */
    struct stat pre;
    if (stat(path, &pre) == 0) {
        if (S_ISDIR(pre.st_mode) && depth > 0) {
            xssh__log(XSSH_LOG_DEBUG, c->host_arg, "configuration: %s is a directory, skipped", path);
            return 0;
        }
        if (!S_ISREG(pre.st_mode) && !S_ISDIR(pre.st_mode))
            return perr(c, path, 0, "%s, but not a regular file (a FIFO or device could block)",
                        depth > 0 ? "included" : "configuration file");
    }
    if (++c->files_read > CFG_MAX_TOTAL_FILES)
        return perr(c, path, 0, "more than %d configuration files read for one resolution (Include fan-out)",
                    CFG_MAX_TOTAL_FILES);
    /* O_NONBLOCK: a name replaced by a FIFO after the stat still cannot block the open */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return perr(c, path, 0, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return perr(c, path, 0, "cannot stat: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        if (depth > 0)
            return 0;
        return perr(c, path, 0, "is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return perr(c, path, 0, "%s, but not a regular file (a FIFO or device could block)",
                    depth > 0 ? "included" : "configuration file");
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        return e == ENOMEM ? poom(c) : perr(c, path, 0, "cannot open: %s", strerror(e));
    }
    *found = 1;
    xssh__log(XSSH_LOG_DEBUG, c->host_arg, "configuration: reading %s", path);
    if ((flags & F_CHECKPERM) && ((st.st_uid != 0 && st.st_uid != getuid()) || (st.st_mode & 022) != 0)) {
        fclose(f);
        return perr(c, path, 0, "Bad owner or permissions (must be owned by you or root and not writable "
                    "by others, as ssh requires)");
    }
    sbuf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.n + n > CFG_MAX_FILE) {
            fclose(f);
            free(b.p);
            return perr(c, path, 0, "larger than %d bytes", CFG_MAX_FILE);
        }
        c->bytes_read += n;
        if (c->bytes_read > CFG_MAX_TOTAL_BYTES) {
            fclose(f);
            free(b.p);
            return perr(c, path, 0, "more than %d bytes of configuration read for one resolution (Include fan-out)",
                        CFG_MAX_TOTAL_BYTES);
        }
        sb_addn(&b, chunk, n);
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(b.p);
        return perr(c, path, 0, "read error");
    }
    if (b.oom) {
        free(b.p);
        return poom(c);
    }
    int rc = read_text(c, b.p ? b.p : (char *)"", b.n, path, flags, activep, depth);
    free(b.p);
    return rc;
}

static int read_text(pctx *c, char *text, size_t len, const char *name, int flags, int *activep, int depth)
{
    int line = 0;
    size_t pos = 0;
    char *buf = NULL;
    int rc = 0;
    while (pos < len) {
        line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (memchr(text + pos, '\0', l)) {
            rc = perr(c, name, line, "contains a NUL byte");
            break;
        }
        if (l > CFG_MAX_LINE) {
            rc = perr(c, name, line, "line longer than %d bytes", CFG_MAX_LINE);
            break;
        }
        char *nb = realloc(buf, l + 1);
        if (!nb) {
            rc = poom(c);
            break;
        }
        buf = nb;
        memcpy(buf, text + pos, l);
        buf[l] = '\0';
        pos += l + (nl ? 1 : 0);
        if (process_line(c, buf, name, line, activep, flags, depth) != 0) {
            rc = -1;
            break;
        }
    }
    free(buf);
    return rc;
}

/* ---- the options object ---------------------------------------------------------- */

typedef struct xopt {
    char *name, *value;
} xopt;

struct xssh_options {
    xssh__refcount refs;
    pthread_mutex_t lock; /* set_* and resolve may run on different threads */
    xopt *set; /* explicit options in call order */
    size_t nset;
    int config_mode;      /* 0 default files, 1 file, 2 none, 3 text */
    char *config_file;
    char *config_text;
    char *config_origin;
    char *password;
    char *passphrase;
    long timeout_ms;
    xssh_passphrase_cb passphrase_cb;
    void *passphrase_ud;
    xssh_prompt_cb prompt_cb;
    void *prompt_ud;
};

XSSH_EXTERN(int) xssh_options_new(xssh_options **out)
{
    XSSH__ARG(NULL, out != NULL, "out is NULL");
    *out = NULL;
    xssh_options *o = calloc(1, sizeof *o);
    if (o)
        o->timeout_ms = -1; /* not given: XSSH__DEFAULT_TIMEOUT_MS */
    if (!o)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_new: out of memory");
    xssh__ref_init(&o->refs);
    pthread_mutex_init(&o->lock, NULL);
    *out = o;
    return xssh__ok();
}

XSSH_EXTERN(xssh_options *) xssh_options_ref(xssh_options *options)
{
    if (options)
        xssh__ref_inc(&options->refs);
    return options;
}

XSSH_EXTERN(void) xssh_options_unref(xssh_options *o)
{
    if (!o || !xssh__ref_dec(&o->refs))
        return;
    for (size_t i = 0; i < o->nset; i++) {
        free(o->set[i].name);
        free(o->set[i].value);
    }
    free(o->set);
    free(o->config_file);
    free(o->config_text);
    free(o->config_origin);
    xssh__free_secret(o->password);
    xssh__free_secret(o->passphrase);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

static char *opt_dup(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

XSSH_EXTERN(int) xssh_options_dup(const xssh_options *src, xssh_options **out)
{
    XSSH__ARG(NULL, out != NULL, "xssh_options_dup: out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, src != NULL, "xssh_options_dup: src is NULL");
    xssh_options *o = NULL;
    int rc = xssh_options_new(&o);
    if (rc != XSSH_OK)
        return rc;
    xssh_options *s = (xssh_options *)src; /* the lock only */
    int fail = 0;
    pthread_mutex_lock(&s->lock);
    if (s->nset) {
        o->set = calloc(s->nset, sizeof *o->set);
        if (!o->set)
            fail = 1;
        for (size_t i = 0; o->set && i < s->nset; i++) {
            o->set[i].name = opt_dup(s->set[i].name, &fail);
            o->set[i].value = opt_dup(s->set[i].value, &fail);
            o->nset = i + 1;
        }
    }
    o->config_mode = s->config_mode;
    o->config_file = opt_dup(s->config_file, &fail);
    o->config_text = opt_dup(s->config_text, &fail);
    o->config_origin = opt_dup(s->config_origin, &fail);
    o->password = opt_dup(s->password, &fail);
    o->passphrase = opt_dup(s->passphrase, &fail);
    o->timeout_ms = s->timeout_ms;
    o->passphrase_cb = s->passphrase_cb;
    o->passphrase_ud = s->passphrase_ud;
    o->prompt_cb = s->prompt_cb;
    o->prompt_ud = s->prompt_ud;
    pthread_mutex_unlock(&s->lock);
    if (fail) {
        xssh_options_unref(o);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_dup: out of memory");
    }
    *out = o;
    return xssh__ok();
}

static void pctx_init(pctx *c, cfg *o, const char *host, const char *host_arg, const char *local_user,
                      const char *home)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->host = host;
    c->host_arg = host_arg;
    c->local_user = local_user;
    c->home = home;
}

/* the local user and home: $HOME when set (and absolute), else the passwd entry */
typedef struct localid {
    char user[256];
    char home[4096];
} localid;

static int local_identity(localid *id)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    id->user[0] = id->home[0] = '\0';
    int pe = getpwuid_r(getuid(), &pw, buf, sizeof buf, &res);
    if (pe == 0 && res) {
        snprintf(id->user, sizeof id->user, "%s", res->pw_name);
        snprintf(id->home, sizeof id->home, "%s", res->pw_dir);
    } else if (pe != 0 && pe != ENOENT && pe != ESRCH && pe != EBADF && pe != EPERM) {
        /* an error (EMFILE, ENFILE, EIO, ERANGE...), not "no such user": do not guess */
        return xssh__fail(NULL, XSSH_ECONFIG, 0, "cannot look up the local user (uid %u) in the passwd database: %s",
                          (unsigned)getuid(), strerror(pe));
    }
    const char *h = getenv("HOME");
    if (h && h[0] == '/' && strlen(h) < sizeof id->home)
        snprintf(id->home, sizeof id->home, "%s", h);
    if (!id->user[0]) {
        const char *u = getenv("USER");
        if (!u || !*u || strlen(u) >= sizeof id->user)
            return xssh__fail(NULL, XSSH_ECONFIG, 0, "cannot tell the local user name (no passwd entry for uid %u)",
                              (unsigned)getuid());
        snprintf(id->user, sizeof id->user, "%s", u);
    }
    if (!id->home[0])
        return xssh__fail(NULL, XSSH_ECONFIG, 0, "cannot tell the home directory (no $HOME, no passwd entry)");
    return 0;
}

/* parse one explicit option with the file parser (validation, or applying to o) */
static int apply_explicit(pctx *c, const char *name, const char *value)
{
    sbuf b = {0};
    sb_add(&b, name);
    sb_addc(&b, '=');
    sb_add(&b, value);
    char *line = sb_take(&b);
    if (!line)
        return poom(c);
    int active = 1;
    int rc = process_line(c, line, "command-line", 0, &active, F_CMDLINE | F_USERCONF, 0);
    free(line);
    return rc;
}

static int options_set_locked(xssh_options *o, const char *name, const char *value);

XSSH_EXTERN(int) xssh_options_set(xssh_options *o, const char *name, const char *value)
{
    XSSH__ARG(NULL, o != NULL, "options is NULL");
    XSSH__ARG(NULL, name != NULL && *name, "name is NULL or empty");
    XSSH__ARG(NULL, value != NULL, "value is NULL");
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p))
            return xssh__fail(NULL, XSSH_EARG, 0,
                              "xssh_options_set: '%s' is not an option name (letters and digits only)", name);
    pthread_mutex_lock(&o->lock);
    int rc = options_set_locked(o, name, value);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int options_set_locked(xssh_options *o, const char *name, const char *value)
{
    if (strcasecmp(name, "password") == 0 || strcasecmp(name, "passphrase") == 0) {
        char *copy = xssh__strdup(value);
        if (!copy)
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set: out of memory");
        char **dst = strcasecmp(name, "password") == 0 ? &o->password : &o->passphrase;
        xssh__free_secret(*dst);
        *dst = copy;
        return xssh__ok();
    }
    if (strcasecmp(name, "timeout") == 0) {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (end == value || *end || errno || !(d >= 0) || d > 3.2e9)
            return xssh__fail(NULL, XSSH_EARG, 0,
                              "xssh_options_set: Timeout: '%s' is not a number of seconds (0 .. 3200000000)", value);
        o->timeout_ms = (long)(d * 1000.0 + 0.5);
        return xssh__ok();
    }
    if (strcasecmp(name, "configfile") == 0) {
        if (!*value)
            return xssh__fail(NULL, XSSH_EARG, 0, "xssh_options_set: ConfigFile: empty path (use \"none\" for no file)");
        if (strcasecmp(value, "none") == 0) {
            free(o->config_file);
            o->config_file = NULL;
            o->config_mode = 2;
            return xssh__ok();
        }
        char *copy = xssh__strdup(value);
        if (!copy)
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set: out of memory");
        free(o->config_file);
        o->config_file = copy;
        o->config_mode = 1;
        return xssh__ok();
    }
    if (strchr(name, '\n') || strchr(value, '\n') || strchr(name, '\r') || strchr(value, '\r'))
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_options_set: %s: a line break in the name or value", name);
    /* validate now with the same parser (ssh -o), on a scratch option set */
    {
        cfg tmp;
        cfg_init(&tmp);
        pctx c;
        pctx_init(&c, &tmp, "", "", "", "/");
        int r = apply_explicit(&c, name, value);
        cfg_free(&tmp);
        if (r != 0) {
            if (c.code == XSSH_ENOMEM)
                return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set: out of memory");
            const char *why = c.err;
            if (strncmp(why, "command-line: ", 14) == 0)
                why += 14;
            if (strncmp(why, "Bad configuration option: ", 26) == 0)
                return xssh__fail(NULL, XSSH_EARG, 0, "xssh_options_set: unknown option '%s'", name);
            return xssh__fail(NULL, XSSH_EARG, 0, "xssh_options_set: %s: '%s': %s", name, value, why);
        }
    }
    xopt *v = realloc(o->set, (o->nset + 1) * sizeof *v);
    if (!v)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set: out of memory");
    o->set = v;
    char *n = xssh__strdup(name), *val = xssh__strdup(value);
    if (!n || !val) {
        free(n);
        free(val);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set: out of memory");
    }
    o->set[o->nset].name = n;
    o->set[o->nset].value = val;
    o->nset++;
    return xssh__ok();
}

XSSH_EXTERN(int) xssh_options_set_config_text(xssh_options *o, const char *text, const char *origin)
{
    XSSH__ARG(NULL, o != NULL, "options is NULL");
    XSSH__ARG(NULL, text != NULL, "text is NULL");
    const char *name = origin ? origin : "<string>";
    /* parse now (syntax, keywords, values) so a malformed line fails here */
    {
        localid id;
        int lr = local_identity(&id);
        if (lr != 0)
            return lr;
        cfg tmp;
        cfg_init(&tmp);
        pctx c;
        pctx_init(&c, &tmp, "", "", id.user, id.home);
        char *copy = xssh__strdup(text);
        if (!copy) {
            cfg_free(&tmp);
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set_config_text: out of memory");
        }
        int active = 1;
        int r = read_text(&c, copy, strlen(copy), name, F_USERCONF, &active, 0);
        free(copy);
        cfg_free(&tmp);
        if (r != 0)
            return xssh__fail(NULL, c.code ? c.code : XSSH_ECONFIG, 0, "%s", c.err);
    }
    char *t = xssh__strdup(text), *on = xssh__strdup(name);
    if (!t || !on) {
        free(t);
        free(on);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_set_config_text: out of memory");
    }
    pthread_mutex_lock(&o->lock);
    free(o->config_text);
    free(o->config_origin);
    o->config_text = t;
    o->config_origin = on;
    o->config_mode = 3;
    pthread_mutex_unlock(&o->lock);
    return xssh__ok();
}

XSSH_EXTERN(int) xssh_options_set_passphrase_cb(xssh_options *o, xssh_passphrase_cb cb, void *userdata)
{
    XSSH__ARG(NULL, o != NULL, "options is NULL");
    pthread_mutex_lock(&o->lock);
    o->passphrase_cb = cb;
    o->passphrase_ud = cb ? userdata : NULL;
    pthread_mutex_unlock(&o->lock);
    return xssh__ok();
}

XSSH_EXTERN(int) xssh_options_set_prompt_cb(xssh_options *o, xssh_prompt_cb cb, void *userdata)
{
    XSSH__ARG(NULL, o != NULL, "options is NULL");
    pthread_mutex_lock(&o->lock);
    o->prompt_cb = cb;
    o->prompt_ud = cb ? userdata : NULL;
    pthread_mutex_unlock(&o->lock);
    return xssh__ok();
}

/* ---- resolution ----------------------------------------------------------------- */

/* read the configuration files once (one pass) */
static int read_configs(pctx *c, xssh_options *opts, int flags)
{
    int active = 1, found = 0, r;
    int mode = opts ? opts->config_mode : 0;
    if (mode == 2)
        return 0;
    if (mode == 3) {
        char *copy = xssh__strdup(opts->config_text);
        if (!copy)
            return poom(c);
        r = read_text(c, copy, strlen(copy), opts->config_origin, flags | F_USERCONF, &active, 0);
        free(copy);
        return r;
    }
    if (mode == 1) {
        char *path = tilde_expand(c, opts->config_file, "ConfigFile");
        if (!path)
            return c->code ? -1 : poom(c);
        r = read_file(c, path, flags | F_USERCONF, &active, 0, &found);
        if (r == 0 && !found)
            r = perr(c, path, 0, "cannot open: %s", strerror(ENOENT));
        free(path);
        return r;
    }
    char *user_cfg = tilde_expand(c, "~/.ssh/config", "config");
    if (!user_cfg)
        return c->code ? -1 : poom(c);
    r = read_file(c, user_cfg, flags | F_USERCONF | F_CHECKPERM, &active, 0, &found);
    free(user_cfg);
    if (r != 0)
        return r;
    active = 1;
    return read_file(c, "/etc/ssh/ssh_config", flags, &active, 0, &found);
}

/* kex_assemble_names: +append, -remove, ^prepend, or an explicit list; patterns
   expanded against every supported name; NULL on out of memory */
static char *assemble(const char *spec, const char *def, const char *all)
{
    sbuf b = {0};
    if (!spec || !*spec)
        return xssh__strdup(def);
    char *list;
    if (*spec == '-') {
        /* remove what matches from the default list */
        char *d = xssh__strdup(def);
        if (!d)
            return NULL;
        for (char *save = NULL, *n = strtok_r(d, ",", &save); n; n = strtok_r(NULL, ",", &save))
            if (xssh__match_pattern_list(n, spec + 1, 0) != 1) {
                if (b.n)
                    sb_addc(&b, ',');
                sb_add(&b, n);
            }
        free(d);
        return sb_take(&b);
    }
    sbuf l = {0};
    if (*spec == '+') {
        sb_add(&l, def);
        char *extra = xssh__strdup(spec + 1);
        if (!extra)
            return NULL;
        for (char *save = NULL, *n = strtok_r(extra, ",", &save); n; n = strtok_r(NULL, ",", &save))
            if (!name_in_list(n, strlen(n), def)) {
                sb_addc(&l, ',');
                sb_add(&l, n);
            }
        free(extra);
    } else if (*spec == '^') {
        sb_add(&l, spec + 1);
        char *d = xssh__strdup(def);
        if (!d)
            return NULL;
        for (char *save = NULL, *n = strtok_r(d, ",", &save); n; n = strtok_r(NULL, ",", &save))
            if (!name_in_list(n, strlen(n), spec + 1)) {
                sb_addc(&l, ',');
                sb_add(&l, n);
            }
        free(d);
    } else {
        sb_add(&l, spec);
    }
    if (!(list = sb_take(&l)))
        return NULL;
    char *alld = xssh__strdup(all);
    if (!alld) {
        free(list);
        return NULL;
    }
    /* each element (maybe a pattern) expanded against the supported names, no duplicates */
    char *save = NULL;
    for (char *cp = strtok_r(list, ",", &save); cp; cp = strtok_r(NULL, ",", &save)) {
        const char *q = all;
        while (*q) {
            const char *qe = strchr(q, ',');
            size_t ql = qe ? (size_t)(qe - q) : strlen(q);
            char nm[128];
            if (ql < sizeof nm) {
                memcpy(nm, q, ql);
                nm[ql] = '\0';
                if (xssh__match_pattern_list(nm, cp, 0) == 1 && !(b.p && name_in_list(nm, ql, b.p))) {
                    if (b.n)
                        sb_addc(&b, ',');
                    sb_add(&b, nm);
                }
            }
            if (!qe)
                break;
            q = qe + 1;
        }
    }
    free(alld);
    free(list);
    return sb_take(&b);
}

/* xssh__resolve with a flag: for_connect refuses what xssh cannot do (ProxyCommand) */
static int resolve_impl(xssh_options *opts, const char *host_in, xssh__resolved **out, int for_connect,
                        cfg *keep)
{
    XSSH__ARG(NULL, out != NULL, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, host_in != NULL && *host_in, "host is NULL or empty");
    localid id;
    int r = local_identity(&id);
    if (r != 0)
        return r;
    cfg o;
    cfg_init(&o);
    pctx c;
    char *host_arg = NULL, *arg_user = NULL, *host = NULL;
    xssh__resolved *res = NULL;
    int rc = XSSH_OK;

    int uri_port = -1, str_port = -1;
    const char *at = strrchr(host_in, '@');
    if (strncmp(host_in, "ssh://", 6) == 0) {
        /* ssh://[user@]host[:port][/] (RFC 4248 / ssh's destination URI) */
        char *u = xssh__strdup(host_in + 6);
        if (!u)
            goto oom;
        size_t ul = strlen(u);
        if (ul && u[ul - 1] == '/')
            u[--ul] = '\0';
        if (!*u || strchr(u, '/') || parse_user_host_port(u, &arg_user, &host_arg, &uri_port) != 0) {
            free(u);
            rc = xssh__fail(NULL, XSSH_EARG, 0, "host '%s': not a valid ssh:// URI", host_in);
            goto done;
        }
        free(u);
        at = NULL;
    } else {
        /* [user@]host[:port], [user@][host]:port or a bare IPv6 address: read as the
           multi interface reads it (xssh_host_parse), so every entry point takes the same
           strings; the port in the string wins over the Port option and ssh_config */
        int p = 0;
        rc = xssh_host_parse(host_in, &arg_user, &host_arg, &p);
        if (rc != XSSH_OK)
            goto done;
        if (p > 0)
            str_port = p;
    }
    if (!host_arg || (at && !arg_user))
        goto oom;
    if (strchr(host_arg, '\n') || strchr(host_arg, '\r')) {
        rc = xssh__fail(NULL, XSSH_EARG, 0, "host name with a line break");
        goto done;
    }

    pctx_init(&c, &o, host_arg, host_arg, id.user, id.home);
    /* 1. explicit options, in call order (ssh -o) */
    if (opts) {
        for (size_t i = 0; i < opts->nset; i++)
            if (apply_explicit(&c, opts->set[i].name, opts->set[i].value) != 0)
                goto fail;
    }
    /* the argument's user comes after -o User (as ssh) */
    if (arg_user && !o.user) {
        o.user = arg_user;
        arg_user = NULL;
    }
    if (uri_port > 0 && o.port == -1)
        o.port = uri_port;
    if (str_port > 0)
        o.port = str_port;
    /* 2. files */
    if (read_configs(&c, opts, 0) != 0)
        goto fail;
    /* HostName %h */
    if (o.hostname) {
        tokens t = {"h", {host_arg}};
        host = percent_dollar_expand(&c, o.hostname, &t, 0, "HostName");
        if (!host)
            goto fail;
    } else if (!(host = xssh__strdup(host_arg)))
        goto oom;
    lowercase(host); /* before the final pass, as ssh */
    /* 3. the final pass */
    if (o.canonicalize > 0 || c.want_final) {
        free(o.hostname);
        if (!(o.hostname = xssh__strdup(host)))
            goto oom;
        c.host = host;
        if (read_configs(&c, opts, F_FINAL) != 0)
            goto fail;
    }

    /* 4. defaults and expansion */
    if (!(res = calloc(1, sizeof *res)))
        goto oom;
    res->host_arg = host_arg;
    host_arg = NULL;
    res->hostname = host;
    host = NULL;
    if (!o.user && !(o.user = xssh__strdup(id.user)))
        goto oom;
    res->user = xssh__strdup(o.user);
    if (!res->user)
        goto oom;
    res->port = o.port > 0 ? o.port : 22;
    char portstr[16], uidstr[32], thishost[256], shorthost[256], conn_hash[2 * SHA_DIGEST_LENGTH + 1];
    snprintf(portstr, sizeof portstr, "%d", res->port);
    snprintf(uidstr, sizeof uidstr, "%u", (unsigned)getuid());
    if (gethostname(thishost, sizeof thishost) != 0)
        snprintf(thishost, sizeof thishost, "localhost");
    thishost[sizeof thishost - 1] = '\0';
    snprintf(shorthost, sizeof shorthost, "%s", thishost);
    shorthost[strcspn(shorthost, ".")] = '\0';
    {
        /* %C: SHA-1 of %l%h%p%r (OpenSSH 9.2 ssh_connection_hash) */
        unsigned char md[SHA_DIGEST_LENGTH];
        unsigned int mdlen = 0;
        sbuf hb = {0};
        sb_printf(&hb, "%s%s%s%s", thishost, res->hostname, portstr, res->user);
        if (hb.oom || !hb.p)
            goto oom;
        int ok = EVP_Digest(hb.p, hb.n, md, &mdlen, EVP_sha1(), NULL);
        free(hb.p);
        if (!ok || mdlen != SHA_DIGEST_LENGTH) {
            rc = xssh__fail(NULL, XSSH_ECONFIG, 0, "cannot compute %%C (SHA-1 unavailable)");
            goto done;
        }
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(conn_hash + 2 * i, 3, "%02x", md[i]);
    }
    const char *keyalias = o.host_key_alias ? o.host_key_alias : res->host_arg;
    tokens tk = {"CLiklnpdhru",
                 {conn_hash, shorthost, uidstr, keyalias, thishost, res->host_arg, portstr, id.home, res->hostname,
                  res->user, id.user}};

    /* IdentityFile */
    if (o.ids.n == 0) {
        for (size_t i = 0; i < sizeof DEFAULT_IDS / sizeof DEFAULT_IDS[0]; i++)
            if (strlist_push(&o.ids, xssh__strdup(DEFAULT_IDS[i])) != 0)
                goto oom;
    } else {
        res->identity_files_explicit = 1;
    }
    for (size_t i = 0; i < o.ids.n; i++) {
        if (strcasecmp(o.ids.v[i], "none") == 0)
            continue;
        char *t = tilde_expand(&c, o.ids.v[i], "IdentityFile");
        if (!t)
            goto fail_or_oom;
        char *e = percent_dollar_expand(&c, t, &tk, 1, "IdentityFile");
        free(t);
        if (!e)
            goto fail;
        if (strlist_push(&res->identity_files, e) != 0)
            goto oom;
    }
    res->identities_only = o.identities_only == 1;
    if (o.identity_agent) {
        if (strcmp(o.identity_agent, "SSH_AUTH_SOCK") == 0) {
            res->identity_agent = NULL;
        } else if (strcmp(o.identity_agent, "none") == 0) {
            if (!(res->identity_agent = xssh__strdup("none")))
                goto oom;
        } else if (o.identity_agent[0] == '$' && o.identity_agent[1] != '{') {
            /* legacy "$VAR": that variable names the socket; unset: no agent (as ssh) */
            const char *v = getenv(o.identity_agent + 1);
            if (!(res->identity_agent = xssh__strdup(v ? v : "none")))
                goto oom;
        } else {
            char *t = tilde_expand(&c, o.identity_agent, "IdentityAgent");
            if (!t)
                goto fail_or_oom;
            res->identity_agent = percent_dollar_expand(&c, t, &tk, 1, "IdentityAgent");
            free(t);
            if (!res->identity_agent)
                goto fail;
        }
    }
    /* ProxyJump: hops first to last, each "[user@]host[:port]" (IPv6 in brackets) */
    if (o.jump_host && !jump_is_none(&o)) {
        if (o.jump_extra) {
            char *ex = xssh__strdup(o.jump_extra);
            if (!ex)
                goto oom;
            for (char *save = NULL, *hp = strtok_r(ex, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
                char *u = NULL, *h = NULL;
                int p = -1;
                if (parse_hop(hp, &u, &h, &p) != 0) {
                    /* only possible when a comment after the hops holds a comma: ssh
                       keeps that text as hops too, and fails when it connects */
                    rc = xssh__fail(NULL, XSSH_ECONFIG, 0, "ProxyJump: invalid hop '%s'", hp);
                    free(ex);
                    goto done;
                }
                sbuf hb = {0};
                if (u)
                    sb_printf(&hb, "%s@", u);
                int v6 = strchr(h, ':') != NULL;
                sb_printf(&hb, "%s%s%s", v6 ? "[" : "", h, v6 ? "]" : "");
                if (p > 0)
                    sb_printf(&hb, ":%d", p);
                free(u);
                free(h);
                if (strlist_push(&res->proxy_jump, sb_take(&hb)) != 0) {
                    free(ex);
                    goto oom;
                }
            }
            free(ex);
        }
        sbuf hb = {0};
        if (o.jump_user)
            sb_printf(&hb, "%s@", o.jump_user);
        int v6 = strchr(o.jump_host, ':') != NULL;
        sb_printf(&hb, "%s%s%s", v6 ? "[" : "", o.jump_host, v6 ? "]" : "");
        if (o.jump_port > 0)
            sb_printf(&hb, ":%d", o.jump_port);
        if (strlist_push(&res->proxy_jump, sb_take(&hb)) != 0)
            goto oom;
    }
    if (for_connect && o.proxy_command && strcmp(o.proxy_command, "none") != 0) {
        rc = xssh__fail(NULL, XSSH_ECONFIG, 0,
                        "ProxyCommand is not supported by xssh (use ProxyJump); it applies to host '%s'",
                        res->host_arg);
        goto done;
    }
    /* known hosts files */
    if (!o.ukh_set) {
        if (strlist_push(&o.ukh, xssh__strdup("~/.ssh/known_hosts")) != 0 ||
            strlist_push(&o.ukh, xssh__strdup("~/.ssh/known_hosts2")) != 0)
            goto oom;
    }
    for (size_t i = 0; i < o.ukh.n; i++) {
        char *t = tilde_expand(&c, o.ukh.v[i], "UserKnownHostsFile");
        if (!t)
            goto fail_or_oom;
        char *e = percent_dollar_expand(&c, t, &tk, 1, "UserKnownHostsFile");
        free(t);
        if (!e)
            goto fail;
        if (strlist_push(&res->user_known_hosts_files, e) != 0)
            goto oom;
    }
    if (!o.gkh_set) {
        if (strlist_push(&o.gkh, xssh__strdup("/etc/ssh/ssh_known_hosts")) != 0 ||
            strlist_push(&o.gkh, xssh__strdup("/etc/ssh/ssh_known_hosts2")) != 0)
            goto oom;
    }
    for (size_t i = 0; i < o.gkh.n; i++)
        if (strlist_push(&res->global_known_hosts_files, xssh__strdup(o.gkh.v[i])) != 0)
            goto oom;
    switch (o.strict) {
    case 1:
    case 2:
    case -1: res->strict_host_key_checking = XSSH_HOSTKEY_STRICT; break;
    case 3: res->strict_host_key_checking = XSSH_HOSTKEY_ACCEPT_NEW; break;
    default: res->strict_host_key_checking = XSSH__HOSTKEY_NO; break;
    }
    res->hash_known_hosts = o.hash_kh == 1;
    res->connect_timeout_s = o.connect_timeout > 0 ? o.connect_timeout : 0;
    /* ssh: in BatchMode the default ServerAliveInterval is 300 s */
    if (o.sai == -1)
        o.sai = o.batch == 1 ? 300 : 0;
    res->server_alive_interval_s = o.sai > 0 ? o.sai : 0;
    res->server_alive_count_max = o.sacm >= 0 ? o.sacm : 3;
    res->compression = o.compression == 1;
    if (!(res->ciphers = assemble(o.ciphers, DEF_CIPHERS, ALL_CIPHERS)) ||
        !(res->kex_algorithms = assemble(o.kex, DEF_KEX, ALL_KEX)) ||
        !(res->host_key_algorithms = assemble(o.hostkeys, DEF_HOSTKEYS, ALL_HOSTKEYS)) ||
        !(res->macs = assemble(o.macs, DEF_MACS, ALL_MACS)))
        goto oom;
    if (for_connect) {
        const char *names[] = {"Ciphers", "KexAlgorithms", "HostKeyAlgorithms", "MACs"};
        const char *vals[] = {res->ciphers, res->kex_algorithms, res->host_key_algorithms, res->macs};
        for (int i = 0; i < 4; i++)
            if (!*vals[i]) {
                rc = xssh__fail(NULL, XSSH_ECONFIG, 0, "%s: no algorithm left after the configuration's edits",
                                names[i]);
                goto done;
            }
    }
    res->batch_mode = o.batch == 1;
    res->address_family = o.af == -1 ? AF_UNSPEC : o.af;
    if (o.bind_address && !(res->bind_address = xssh__strdup(o.bind_address)))
        goto oom;
    /* the methods xssh can use, in the configured order (gssapi-with-mic and
       hostbased are dropped: libssh2 1.10 has neither for a client) */
    {
        const char *pref = o.preferred ? o.preferred : "publickey,keyboard-interactive,password";
        sbuf pb = {0};
        char *d = xssh__strdup(pref);
        if (!d)
            goto oom;
        for (char *save = NULL, *m = strtok_r(d, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
            if (strcmp(m, "publickey") != 0 && strcmp(m, "keyboard-interactive") != 0 && strcmp(m, "password") != 0)
                continue;
            if (pb.p && name_in_list(m, strlen(m), pb.p))
                continue;
            if (pb.n)
                sb_addc(&pb, ',');
            sb_add(&pb, m);
        }
        free(d);
        if (!(res->preferred_authentications = sb_take(&pb)))
            goto oom;
        if (o.preferred && !(res->preferred_authentications_given = xssh__strdup(o.preferred)))
            goto oom;
    }
    if (o.host_key_alias) {
        if (!(res->host_key_alias = xssh__strdup(o.host_key_alias)))
            goto oom;
        for (char *q = res->host_key_alias; *q; q++) /* ssh lower-cases it */
            *q = (char)tolower((unsigned char)*q);
    }
    res->pubkey_authentication = o.pubkey != 0;
    res->password_authentication = o.password_auth != 0;
    res->kbd_interactive_authentication = o.kbd != 0;
    res->timeout_ms = XSSH__DEFAULT_TIMEOUT_MS;
    if (opts) {
        res->timeout_ms = opts->timeout_ms >= 0 ? opts->timeout_ms : XSSH__DEFAULT_TIMEOUT_MS;
        if (opts->password && !(res->password = xssh__strdup(opts->password)))
            goto oom;
        if (opts->passphrase && !(res->passphrase = xssh__strdup(opts->passphrase)))
            goto oom;
        res->passphrase_cb = opts->passphrase_cb;
        res->passphrase_ud = opts->passphrase_ud;
        res->prompt_cb = opts->prompt_cb;
        res->prompt_ud = opts->prompt_ud;
    }
    *out = res;
    res = NULL;
    if (keep) {
        *keep = o; /* the text view reads what ssh -G prints verbatim */
        cfg_init(&o);
    }
    rc = xssh__ok();
    goto done;
fail_or_oom:
    if (!c.code)
        goto oom;
fail:
    rc = xssh__fail(NULL, c.code ? c.code : XSSH_ECONFIG, 0, "%s", c.err[0] ? c.err : "configuration error");
    goto done;
oom:
    rc = xssh__fail(NULL, XSSH_ENOMEM, 0, "resolving the ssh configuration: out of memory");
done:
    xssh__resolved_free(res);
    free(host_arg);
    free(arg_user);
    free(host);
    cfg_free(&o);
    return rc;
}

static int resolve_locked(xssh_options *opts, const char *host, xssh__resolved **out, int for_connect, cfg *keep)
{
    if (!opts)
        return resolve_impl(NULL, host, out, for_connect, keep);
    pthread_mutex_lock(&opts->lock);
    int rc = resolve_impl(opts, host, out, for_connect, keep);
    pthread_mutex_unlock(&opts->lock);
    return rc;
}

int xssh__resolve(xssh_options *options, const char *host, xssh__resolved **out)
{
    XSSH__ARG(NULL, out != NULL, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, host != NULL && *host, "host is NULL or empty");
    return resolve_locked(options, host, out, 1, NULL);
}

void xssh__resolved_free(xssh__resolved *r)
{
    if (!r)
        return;
    free(r->host_arg);
    free(r->hostname);
    free(r->user);
    strlist_free(&r->identity_files);
    free(r->identity_agent);
    strlist_free(&r->proxy_jump);
    strlist_free(&r->user_known_hosts_files);
    strlist_free(&r->global_known_hosts_files);
    free(r->ciphers);
    free(r->kex_algorithms);
    free(r->host_key_algorithms);
    free(r->macs);
    free(r->bind_address);
    free(r->preferred_authentications);
    free(r->preferred_authentications_given);
    free(r->host_key_alias);
    xssh__free_secret(r->password);
    xssh__free_secret(r->passphrase);
    free(r);
}

/* ---- the `ssh -G` text ------------------------------------------------------------- */

static const char *yesno(int v) { return v ? "yes" : "no"; }

static void print_list(sbuf *b, const char *kw, const xssh__strlist *l)
{
    sb_add(b, kw);
    for (size_t i = 0; i < l->n; i++) {
        sb_addc(b, ' ');
        sb_add(b, l->v[i]);
    }
    sb_addc(b, '\n');
}

XSSH_EXTERN(int) xssh_options_resolve(xssh_options *options, const char *host, char **out)
{
    XSSH__ARG(NULL, out != NULL, "out is NULL");
    *out = NULL;
    XSSH__ARG(NULL, host != NULL && *host, "host is NULL or empty");
    xssh__resolved *r = NULL;
    cfg o;
    cfg_init(&o);
    int rc = resolve_locked(options, host, &r, 0, &o);
    if (rc != XSSH_OK)
        return rc;
    sbuf b = {0};
    sb_printf(&b, "host %s\n", r->host_arg);
    sb_printf(&b, "user %s\n", r->user);
    sb_printf(&b, "hostname %s\n", r->hostname);
    sb_printf(&b, "port %d\n", r->port);
    sb_printf(&b, "addressfamily %s\n",
              r->address_family == AF_INET ? "inet" : r->address_family == AF_INET6 ? "inet6" : "any");
    sb_printf(&b, "batchmode %s\n", yesno(r->batch_mode));
    sb_printf(&b, "compression %s\n", yesno(r->compression));
    sb_printf(&b, "hashknownhosts %s\n", yesno(r->hash_known_hosts));
    sb_printf(&b, "identitiesonly %s\n", yesno(r->identities_only));
    sb_printf(&b, "kbdinteractiveauthentication %s\n", yesno(r->kbd_interactive_authentication));
    sb_printf(&b, "passwordauthentication %s\n", yesno(r->password_authentication));
    sb_printf(&b, "pubkeyauthentication %s\n",
              o.pubkey == 0 ? "false" : o.pubkey == 2 ? "unbound" : o.pubkey == 3 ? "host-bound" : "true");
    sb_printf(&b, "stricthostkeychecking %s\n",
              o.strict == 0 ? "false" : o.strict == 1 ? "true" : o.strict == 3 ? "accept-new" : "ask");
    sb_printf(&b, "serveralivecountmax %d\n", r->server_alive_count_max);
    sb_printf(&b, "serveraliveinterval %d\n", r->server_alive_interval_s);
    sb_printf(&b, "ciphers %s\n", r->ciphers);
    sb_printf(&b, "hostkeyalgorithms %s\n", r->host_key_algorithms);
    sb_printf(&b, "kexalgorithms %s\n", r->kex_algorithms);
    sb_printf(&b, "macs %s\n", r->macs);
    for (size_t i = 0; i < r->identity_files.n; i++)
        sb_printf(&b, "identityfile %s\n", r->identity_files.v[i]);
    print_list(&b, "globalknownhostsfile", &r->global_known_hosts_files);
    print_list(&b, "userknownhostsfile", &r->user_known_hosts_files);
    if (o.connect_timeout == -1)
        sb_add(&b, "connecttimeout none\n");
    else
        sb_printf(&b, "connecttimeout %d\n", o.connect_timeout);
    if (r->bind_address)
        sb_printf(&b, "bindaddress %s\n", r->bind_address);
    if (o.preferred)
        sb_printf(&b, "preferredauthentications %s\n", o.preferred);
    if (r->host_key_alias)
        sb_printf(&b, "hostkeyalias %s\n", r->host_key_alias);
    if (o.identity_agent) {
        int raw = strcmp(o.identity_agent, "SSH_AUTH_SOCK") == 0 ||
                  (o.identity_agent[0] == '$' && o.identity_agent[1] != '{');
        sb_printf(&b, "identityagent %s\n", raw ? o.identity_agent : r->identity_agent);
    }
    if (o.jump_host && !jump_is_none(&o)) {
        int v6 = strchr(o.jump_host, ':') != NULL;
        sb_printf(&b, "proxyjump %s%s%s%s%s%s%s", o.jump_extra ? o.jump_extra : "", o.jump_extra ? "," : "",
                  o.jump_user ? o.jump_user : "", o.jump_user ? "@" : "", v6 ? "[" : "", o.jump_host,
                  v6 ? "]" : "");
        if (o.jump_port > 0)
            sb_printf(&b, ":%d", o.jump_port);
        sb_addc(&b, '\n');
    }
    if (o.proxy_command && strcmp(o.proxy_command, "none") != 0)
        sb_printf(&b, "proxycommand %s\n", o.proxy_command);
    xssh__resolved_free(r);
    cfg_free(&o);
    char *text = sb_take(&b);
    if (!text)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_options_resolve: out of memory");
    *out = text;
    return xssh__ok();
}
