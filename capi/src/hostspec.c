/* SPDX-License-Identifier: BSD-3-Clause */
/* hostspec.c — xssh_host_parse(): the one reader of "[user@]host[:port]" strings
   (the multi interface, run_many/put_many/get_many of every language, the xssh tool). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int bad(const char *s, const char *why)
{
    return xssh__fail(NULL, XSSH_EARG, 0, "host '%s': %s", s, why);
}

/* an IPv6 address: hex digits, ':' and '.' (an embedded IPv4), then maybe "%zone" */
static int is_v6(const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n && s[i] != '%'; i++)
        if (!strchr("0123456789abcdefABCDEF:.", s[i]))
            return 0;
    if (i < n) {
        if (i + 1 == n)
            return 0;
        for (i++; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  c == '-' || c == '.'))
                return 0;
        }
    }
    return memchr(s, ':', n) != NULL;
}

/* what a host name (or a bracketed address) may not be: also what would be unsafe
   as one file-name component (get_many and the xssh tool name directories after it) */
static const char *name_problem(const char *s, size_t n, int bracketed)
{
    if (n == 0)
        return bracketed ? "empty host name in brackets" : "empty host name";
    if (s[0] == '-')
        return "a host name cannot start with '-'";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f)
            return "a host name cannot hold spaces, control characters or non-ASCII bytes";
        if (c == '/' || c == '@' || c == '[' || c == ']' || c == '\\' || c == '\'' || c == '"')
            return "a host name cannot hold / @ [ ] \\ or quotes";
    }
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return "'.' and '..' are not host names";
    return NULL;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int xssh_host_parse(const char *s, char **user, char **host, int *port)
{
    if (user)
        *user = NULL;
    if (host)
        *host = NULL;
    if (port)
        *port = 0;
    if (!s || !host)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_host_parse: %s is NULL", s ? "host" : "the string");
    if (!*s)
        return xssh__fail(NULL, XSSH_EARG, 0, "host '' is empty");
    const char *at = strrchr(s, '@');
    if (at == s)
        return bad(s, "empty user name before '@'");
    const char *rest = at ? at + 1 : s;
    const char *name = rest, *portstr = NULL;
    size_t nlen;
    const char *why;
    if (*rest == '[') {
        const char *close = strchr(rest, ']');
        if (!close)
            return bad(s, "'[' without a matching ']'");
        name = rest + 1;
        nlen = (size_t)(close - name);
        if (close[1] == ':')
            portstr = close + 2;
        else if (close[1])
            return bad(s, "only ':port' may follow ']'");
        if ((why = name_problem(name, nlen, 1)) != NULL)
            return bad(s, why);
        if (memchr(name, ':', nlen) && !is_v6(name, nlen))
            return bad(s, "not an IPv6 address in brackets");
    } else {
        const char *c1 = strchr(rest, ':');
        if (c1 && strchr(c1 + 1, ':')) {
            nlen = strlen(rest); /* two or more colons: an IPv6 address without brackets, no port */
            if (!is_v6(rest, nlen))
                return bad(s, "not an IPv6 address (write [address]:port for a port)");
        } else if (c1) {
            nlen = (size_t)(c1 - rest);
            portstr = c1 + 1;
        } else
            nlen = strlen(rest);
        if ((why = name_problem(name, nlen, 0)) != NULL)
            return bad(s, why);
    }
    if (at)
        for (const char *p = s; p < at; p++)
            if ((unsigned char)*p <= ' ' || (unsigned char)*p == 0x7f || *p == ':' || *p == '/')
                return bad(s, "the user name cannot hold spaces, control characters, ':' or '/'");
    long pv = 0;
    if (portstr) {
        if (!*portstr)
            return bad(s, "empty port after ':'");
        for (const char *p = portstr; *p; p++) {
            if (*p < '0' || *p > '9')
                return bad(s, "the port is not a number");
            if (pv <= 65535)
                pv = pv * 10 + (*p - '0');
        }
        if (pv < 1 || pv > 65535)
            return bad(s, "port must be 1..65535");
    }
    char *u = at ? dupn(s, (size_t)(at - s)) : NULL;
    char *h = dupn(name, nlen);
    if ((at && !u) || !h) {
        free(u);
        free(h);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_host_parse: out of memory");
    }
    if (user)
        *user = u;
    else
        free(u);
    *host = h;
    if (port)
        *port = (int)pv;
    return XSSH_OK;
}
