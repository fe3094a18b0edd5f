/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh(1): host lists - "[user@]host[:port]" strings and hosts files. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_HOST_LINE 4096

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) {
        fprintf(stderr, "xssh: out of memory\n");
        exit(EX_LOCAL);
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int hosts_parse(const char *spec, host *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    char *user = NULL, *name = NULL;
    int port = 0;
    if (xssh_host_parse(spec, &user, &name, &port) != XSSH_OK) {
        snprintf(err, errlen, "%s", xssh_error_last()->message);
        return -1;
    }
    h->user = user;
    h->name = name;
    h->port = port;
    h->label = dupn(spec, strlen(spec));
    return 0;
}

static host *push(hostlist *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        host *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "xssh: out of memory\n");
            exit(EX_LOCAL);
        }
        l->v = v;
        l->cap = cap;
    }
    return &l->v[l->n];
}

int hosts_add(hostlist *l, const char *spec, const char *origin, char *err, size_t errlen)
{
    host *h = push(l);
    char why[512];
    if (hosts_parse(spec, h, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", origin, why);
        return -1;
    }
    h->origin = dupn(origin, strlen(origin));
    l->n++;
    return 0;
}

int hosts_read_file(hostlist *l, const char *path, char *err, size_t errlen, int *usage)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *shown = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    *usage = 0;
    if (!f) {
        snprintf(err, errlen, "hosts file %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int rc = 0;
    errno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)got != strlen(line)) {
            snprintf(err, errlen, "hosts file %s line %ld: a NUL byte (not a text file?)", shown, lineno);
            *usage = 1;
            rc = -1;
            break;
        }
        if (got > MAX_HOST_LINE) {
            snprintf(err, errlen, "hosts file %s line %ld: longer than %d bytes", shown, lineno, MAX_HOST_LINE);
            *usage = 1;
            rc = -1;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = line;
        while (*s && isspace((unsigned char)*s))
            s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (*s == '\0')
            continue;
        for (char *p = s; *p; p++) {
            if (isspace((unsigned char)*p)) {
                snprintf(err, errlen, "hosts file %s line %ld: one host per line ('%.*s' is followed by more)",
                         shown, lineno, (int)(p - s), s);
                *usage = 1;
                rc = -1;
                goto out;
            }
        }
        char origin[600];
        snprintf(origin, sizeof origin, "hosts file %s line %ld", shown, lineno);
        if (hosts_add(l, s, origin, err, errlen) != 0) {
            *usage = 1;
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "hosts file %s: %s", shown, strerror(errno ? errno : EIO));
        rc = -1;
    }
out:
    free(line);
    if (!is_stdin)
        fclose(f);
    return rc;
}

void hosts_dedup(hostlist *l)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        int dup = 0;
        for (size_t j = 0; j < w && !dup; j++)
            dup = strcmp(l->v[j].label, l->v[i].label) == 0;
        if (dup) {
            fprintf(stderr, "xssh: %s: host %s listed again; contacted once\n", l->v[i].origin, l->v[i].label);
            free(l->v[i].label);
            free(l->v[i].user);
            free(l->v[i].name);
            free(l->v[i].origin);
            continue;
        }
        l->v[w] = l->v[i];
        l->v[w].index = w;
        w++;
    }
    l->n = w;
}

void hosts_free(hostlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        host *h = &l->v[i];
        free(h->label);
        xssh_free(h->user);
        xssh_free(h->name);
        free(h->origin);
        free(h->detail);
        free(h->local);
        free(h->hostdir);
        xssh_multi_op_unref(h->op);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

char *hosts_spec(const host *h, int port_fallback)
{
    int v6 = strchr(h->name, ':') != NULL;
    int port = h->port ? h->port : (v6 ? port_fallback : 0);
    size_t n = strlen(h->name) + (h->user ? strlen(h->user) : 0) + 16;
    char *s = malloc(n);
    if (!s) {
        fprintf(stderr, "xssh: out of memory\n");
        exit(EX_LOCAL);
    }
    int off = snprintf(s, n, "%s%s", h->user ? h->user : "", h->user ? "@" : "");
    if (v6 && port)
        snprintf(s + off, n - (size_t)off, "[%s]:%d", h->name, port);
    else if (port)
        snprintf(s + off, n - (size_t)off, "%s:%d", h->name, port);
    else
        snprintf(s + off, n - (size_t)off, "%s", h->name);
    return s;
}

char *hosts_dirname(const host *h)
{
    /* the label as written; '/' cannot occur (refused by hosts_parse) and "."/".."
       are not host names, so the label is one safe path component */
    return dupn(h->label, strlen(h->label));
}
