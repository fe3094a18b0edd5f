/* SPDX-License-Identifier: BSD-3-Clause */
/* The fuzz targets' findings, end to end through the public API against the real
 * sshd (their minimal inputs are in tests/fuzz/regressions/ too):
 * - verify_host with a recorded key of the server's type too long for a fixed buffer;
 * - an SSH agent that closes before its whole reply (libssh2 1.10 spun on EOF);
 * - an agent listed before the handshake (its bytes are no SSH identification preamble). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

Test(hostile_input, verify_host_mismatch_with_an_oversized_recorded_key)
{
    xssh_session *s = xt_connect();
    /* a well-formed ssh-rsa entry for this server whose key is 30000 bytes (40000
       base64 chars: a 239,000-bit modulus), so it reads as a recorded key that differs */
    size_t raw_len = 30000, mod_len = raw_len - 11 - 7 - 4;
    unsigned char *raw = calloc(1, raw_len);
    memcpy(raw, "\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01", 18);
    raw[18] = (unsigned char)(mod_len >> 24);
    raw[19] = (unsigned char)(mod_len >> 16);
    raw[20] = (unsigned char)(mod_len >> 8);
    raw[21] = (unsigned char)mod_len;
    memset(raw + 22, 0x5a, mod_len); /* positive mpint */
    char *b64 = malloc(raw_len / 3 * 4 + 8);
    b64_encode(raw, raw_len, b64);
    char *path = xt_tmppath("known_hosts_big");
    char *text = NULL;
    cr_assert(asprintf(&text, "[%s]:%d ssh-rsa %s\n", xt()->host, xt()->port, b64) > 0);
    xt_spit(path, text, strlen(text), 0600);
    int rc = xssh_session_verify_host(s, NULL, 0, XSSH_HOSTKEY_STRICT, path);
    cr_assert_eq(rc, XSSH_EHOSTKEY_CHANGED, "verify_host: %d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), "records ssh-rsa key SHA256:"), "the recorded key's fingerprint is named: %s",
              last_msg());
    free(text);
    free(path);
    free(b64);
    free(raw);
    xssh_session_unref(s);
}

/* A one-shot fake agent: accepts one connection, reads the request, sends `reply`, closes. */
typedef struct fake_agent {
    int listener;
    char path[108];
    const void *reply;
    size_t reply_len;
    pthread_t thread;
} fake_agent;

static void *agent_main(void *arg)
{
    fake_agent *a = arg;
    int c = accept(a->listener, NULL, NULL);
    if (c < 0)
        return NULL;
    /* the whole request ("list identities": 4-byte length + 1 byte, sent apart),
       so the reply never races the client's second send */
    unsigned char req[5];
    size_t got = 0;
    while (got < sizeof req) {
        ssize_t n = recv(c, req + got, sizeof req - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (a->reply_len && send(c, a->reply, a->reply_len, MSG_NOSIGNAL) < 0)
        perror("fake agent send");
    close(c);
    return NULL;
}

static void agent_start(fake_agent *a, const void *reply, size_t len)
{
    char *p = xt_tmppath("agent");
    cr_assert(strlen(p) < sizeof a->path, "socket path too long: %s", p);
    strcpy(a->path, p);
    free(p);
    a->reply = reply;
    a->reply_len = len;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, a->path);
    a->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(a->listener >= 0 && bind(a->listener, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                  listen(a->listener, 1) == 0,
              "fake agent socket: %s", strerror(errno));
    cr_assert_eq(pthread_create(&a->thread, NULL, agent_main, a), 0);
}

static void agent_stop(fake_agent *a)
{
    pthread_join(a->thread, NULL);
    close(a->listener);
    unlink(a->path);
}

static int list_via(xssh_session *s, fake_agent *fa, size_t *count)
{
    xssh_agent *agent = NULL;
    cr_assert_eq(xssh_agent_new(&agent, s), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_agent_set_path(agent, fa->path), XSSH_OK, "%s", last_msg());
    cr_assert_eq(xssh_agent_connect(agent), XSSH_OK, "%s", last_msg());
    int rc = xssh_agent_list_identities(agent);
    if (rc == XSSH_OK)
        cr_assert_eq(xssh_agent_identity_count(agent, count), XSSH_OK);
    xssh_agent_unref(agent);
    return rc;
}

/* Criterion's timeout only guards against the old endless loop; nothing waits on time. */
Test(hostile_input, agent_closing_mid_reply_is_an_error, .timeout = 60)
{
    xssh_session *s = xt_connect();
    static const unsigned char partial[] = {0, 0, 0, 100, 12, 0, 0, 0, 1}; /* promises 100 bytes, sends 5 */
    fake_agent fa;
    agent_start(&fa, partial, sizeof partial);
    size_t count = 0;
    int rc = list_via(s, &fa, &count);
    agent_stop(&fa);
    cr_assert_eq(rc, XSSH_EAGENT_LIST, "list_identities: %d %s", rc, last_msg());
    xssh_session_unref(s);
}

Test(hostile_input, agent_closing_before_any_reply_is_an_error, .timeout = 60)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    fake_agent fa;
    agent_start(&fa, NULL, 0);
    size_t count = 0;
    int rc = list_via(s, &fa, &count);
    agent_stop(&fa);
    cr_assert_eq(rc, XSSH_EAGENT_LIST, "list_identities: %d %s", rc, last_msg());
    xssh_session_unref(s);
}

Test(hostile_input, agent_listed_before_the_handshake, .timeout = 60)
{
    xssh_session *s = NULL;
    cr_assert_eq(xssh_session_new(&s), XSSH_OK);
    /* one identity: the Ed25519 blob of a key, comment "c" */
    static const unsigned char blob[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20"
                                        "0123456789abcdef0123456789abcdef";
    size_t bl = sizeof blob - 1;
    unsigned char reply[128];
    size_t body = 1 + 4 + 4 + bl + 4 + 1, o = 0;
    reply[o++] = 0, reply[o++] = 0, reply[o++] = 0, reply[o++] = (unsigned char)body;
    reply[o++] = 12;
    reply[o++] = 0, reply[o++] = 0, reply[o++] = 0, reply[o++] = 1;
    reply[o++] = 0, reply[o++] = 0, reply[o++] = 0, reply[o++] = (unsigned char)bl;
    memcpy(reply + o, blob, bl);
    o += bl;
    reply[o++] = 0, reply[o++] = 0, reply[o++] = 0, reply[o++] = 1;
    reply[o++] = 'c';
    fake_agent fa;
    agent_start(&fa, reply, o);
    size_t count = 0;
    int rc = list_via(s, &fa, &count);
    agent_stop(&fa);
    cr_assert_eq(rc, XSSH_OK, "list_identities before a handshake: %d %s", rc, last_msg());
    cr_assert_eq(count, 1);
    xssh_session_unref(s);
}
