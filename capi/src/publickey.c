/* SPDX-License-Identifier: BSD-3-Clause */
/* The public-key subsystem: a LIBSSH2_PUBLICKEY used under the session lock in
 * libssh2's non-blocking mode (xssh__op emulates blocking). The final unref
 * queues the shutdown on the session (no I/O from a destructor). */
#include <stdlib.h>
#include <string.h>

#include <libssh2_publickey.h>

#include "internal.h"

struct xssh_publickey {
    xssh__refcount refs;
    xssh_session *s;
    LIBSSH2_PUBLICKEY *pk;
    _Atomic int closed;
};

#define BEGIN(pk)                                                        \
    XSSH__ARG(NULL, (pk), "publickey is NULL");                          \
    xssh_session *s = (pk)->s;                                           \
    xssh__op op;                                                         \
    int e_ = xssh__op_begin(&op, s, 1, &(pk)->closed);                   \
    if (e_)                                                              \
        return e_

static int shutdown_fn(void *p)
{
    return libssh2_publickey_shutdown((LIBSSH2_PUBLICKEY *)p);
}

int xssh_publickey_init(xssh_publickey **out, xssh_session *s)
{
    XSSH__ARG(s, out, "out is NULL");
    *out = NULL;
    XSSH__ARG(s, s, "session is NULL");
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, NULL);
    if (rc)
        return rc;
    LIBSSH2_PUBLICKEY *raw;
    /* libssh2 1.10 leaves a stale "would block" error behind when it finishes
       closing the channel of a refused subsystem: clear the error before each
       step, and read "NULL without an error" as the refusal it is. */
    int refused = 0;
    do {
        libssh2_session_set_last_error(s->ssh, 0, NULL);
        raw = libssh2_publickey_init(s->ssh);
        rc = raw ? 0 : libssh2_session_last_errno(s->ssh);
        if (!raw && rc == 0) {
            rc = LIBSSH2_ERROR_CHANNEL_FAILURE;
            refused = 1;
        }
    } while (!raw && xssh__op_again(&op, &rc));
    if (!raw) {
        char *m = NULL;
        libssh2_session_last_error(s->ssh, &m, NULL, 0);
        xssh__op_end(&op);
        if (rc == XSSH_EAGAIN || rc == XSSH_ETIMEOUT || rc == XSSH_ECLOSED)
            return xssh__fail(s, rc, 0, "publickey_init: %s", rc == XSSH_EAGAIN ? "would block" : xssh_strerror(rc));
        if (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND)
            return xssh__fail_ssh(s, rc, "publickey_init");
        return xssh__fail(s, XSSH_EPUBLICKEY_INIT, rc,
                          "publickey_init: the server at %s:%d does not offer the \"publickey\" subsystem "
                          "(OpenSSH's sshd does not implement it): %s",
                          s->host ? s->host : "?", s->port,
                          refused ? "the subsystem request was refused" : m && *m ? m : "no details");
    }
    xssh_publickey *pk = calloc(1, sizeof *pk);
    if (!pk) {
        xssh__session_orphan_fn(s, shutdown_fn, raw);
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    xssh__ref_init(&pk->refs);
    pk->s = xssh_session_ref(s);
    pk->pk = raw;
    xssh__op_end(&op);
    *out = pk;
    return xssh__ok();
}

xssh_publickey *xssh_publickey_ref(xssh_publickey *pk)
{
    if (pk)
        xssh__ref_inc(&pk->refs);
    return pk;
}

void xssh_publickey_unref(xssh_publickey *pk)
{
    if (!pk || !xssh__ref_dec(&pk->refs))
        return;
    if (pk->pk && !atomic_load(&pk->closed))
        xssh__session_orphan_fn(pk->s, shutdown_fn, pk->pk);
    xssh_session_unref(pk->s);
    free(pk);
}

int xssh_publickey_close(xssh_publickey *pk)
{
    XSSH__ARG(NULL, pk, "publickey is NULL");
    if (atomic_load(&pk->closed))
        return xssh__ok();
    xssh_session *s = pk->s;
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, NULL);
    if (rc) {
        /* the session is gone: libssh2 frees the channel with the session */
        atomic_store(&pk->closed, 1);
        xssh__session_orphan_fn(s, shutdown_fn, pk->pk);
        return rc == XSSH_ECLOSED ? xssh__ok() : rc;
    }
    while ((rc = libssh2_publickey_shutdown(pk->pk)) == LIBSSH2_ERROR_EAGAIN && xssh__op_again(&op, &rc))
        ;
    if (rc == LIBSSH2_ERROR_EAGAIN) {
        xssh__op_end(&op);
        return xssh__fail(s, XSSH_EAGAIN, 0, "publickey_close: would block");
    }
    atomic_store(&pk->closed, 1);
    xssh__op_end(&op);
    return xssh__ok();
}

int xssh_publickey_add(xssh_publickey *pk, const char *name, const void *blob, size_t blob_len, int overwrite,
                       const xssh_publickey_attr *attrs, size_t num_attrs)
{
    XSSH__ARG(NULL, pk, "publickey is NULL");
    XSSH__ARG(pk->s, name && *name, "name is NULL or empty");
    XSSH__ARG(pk->s, blob && blob_len, "blob is NULL or empty");
    XSSH__ARG(pk->s, attrs || !num_attrs, "attrs is NULL");
    libssh2_publickey_attribute *a = NULL;
    if (num_attrs) {
        a = calloc(num_attrs, sizeof *a);
        if (!a)
            return xssh__fail(pk->s, XSSH_ENOMEM, 0, "out of memory");
        for (size_t i = 0; i < num_attrs; i++) {
            a[i].name = attrs[i].name;
            a[i].name_len = (unsigned long)attrs[i].name_len;
            a[i].value = (char *)attrs[i].value;
            a[i].value_len = (unsigned long)attrs[i].value_len;
            a[i].mandatory = (char)(attrs[i].mandatory != 0);
        }
    }
    xssh_session *s = pk->s;
    xssh__op op;
    int rc = xssh__op_begin(&op, s, 1, &pk->closed);
    if (rc) {
        free(a);
        return rc;
    }
    while ((rc = libssh2_publickey_add_ex(pk->pk, (const unsigned char *)name, strlen(name), blob, blob_len,
                                          (char)(overwrite != 0), (unsigned long)num_attrs, a)) ==
               LIBSSH2_ERROR_EAGAIN &&
           xssh__op_again(&op, &rc))
        ;
    free(a);
    xssh__op_end(&op);
    return rc ? xssh__fail_ssh(s, rc, "publickey_add(%s)", name) : xssh__ok();
}

int xssh_publickey_remove(xssh_publickey *pk, const char *name, const void *blob, size_t blob_len)
{
    XSSH__ARG(NULL, pk, "publickey is NULL");
    XSSH__ARG(pk->s, name && *name, "name is NULL or empty");
    XSSH__ARG(pk->s, blob && blob_len, "blob is NULL or empty");
    BEGIN(pk);
    int rc;
    while ((rc = libssh2_publickey_remove_ex(pk->pk, (const unsigned char *)name, strlen(name), blob, blob_len)) ==
               LIBSSH2_ERROR_EAGAIN &&
           xssh__op_again(&op, &rc))
        ;
    xssh__op_end(&op);
    return rc ? xssh__fail_ssh(s, rc, "publickey_remove(%s)", name) : xssh__ok();
}

void xssh_publickey_list_free(xssh_publickey_entry *list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < list[i].num_attrs; j++) {
            free((void *)list[i].attrs[j].name);
            free((void *)list[i].attrs[j].value);
        }
        free((void *)list[i].attrs);
        free((void *)list[i].name);
        free((void *)list[i].blob);
    }
    free(list);
}

int xssh_publickey_list(xssh_publickey *pk, xssh_publickey_entry **out, size_t *count_out)
{
    XSSH__ARG(NULL, pk, "publickey is NULL");
    XSSH__ARG(pk->s, out && count_out, "out is NULL");
    *out = NULL;
    *count_out = 0;
    BEGIN(pk);
    unsigned long n = 0;
    libssh2_publickey_list *l = NULL;
    int rc;
    while ((rc = libssh2_publickey_list_fetch(pk->pk, &n, &l)) == LIBSSH2_ERROR_EAGAIN && xssh__op_again(&op, &rc))
        ;
    if (rc) {
        xssh__op_end(&op);
        return xssh__fail_ssh(s, rc, "publickey_list");
    }
    xssh_publickey_entry *e = calloc(n ? n : 1, sizeof *e);
    int oom = !e;
    for (unsigned long i = 0; !oom && i < n; i++) {
        e[i].name = xssh__memdup(l[i].name, l[i].name_len + 1);
        e[i].name_len = l[i].name_len;
        e[i].blob = xssh__memdup(l[i].blob, l[i].blob_len ? l[i].blob_len : 1);
        e[i].blob_len = l[i].blob_len;
        xssh_publickey_attr *a = calloc(l[i].num_attrs ? l[i].num_attrs : 1, sizeof *a);
        e[i].attrs = a;
        oom = !e[i].name || !e[i].blob || !a;
        for (unsigned long j = 0; !oom && j < l[i].num_attrs; j++) {
            a[j].name = xssh__memdup(l[i].attrs[j].name, l[i].attrs[j].name_len + 1);
            a[j].name_len = l[i].attrs[j].name_len;
            a[j].value = xssh__memdup(l[i].attrs[j].value, l[i].attrs[j].value_len + 1);
            a[j].value_len = l[i].attrs[j].value_len;
            a[j].mandatory = l[i].attrs[j].mandatory;
            e[i].num_attrs = j + 1;
            oom = !a[j].name || !a[j].value;
        }
    }
    libssh2_publickey_list_free(pk->pk, l);
    xssh__op_end(&op);
    if (oom) {
        xssh_publickey_list_free(e, n);
        return xssh__fail(s, XSSH_ENOMEM, 0, "out of memory");
    }
    *out = e;
    *count_out = n;
    return xssh__ok();
}
