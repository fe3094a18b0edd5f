/* SPDX-License-Identifier: BSD-3-Clause */
/* An SSH agent's reply to "list identities", as xssh's agent object reads it:
 * xssh_agent_connect to a unix socket of this process (set_path), the input is
 * the agent's whole answer followed by EOF, then xssh_agent_list_identities
 * (libssh2 decodes the reply), and every identity is copied out
 * (xssh_agent_identity: blob, comment, magic). Signing (agent userauth) needs a
 * connected SSH session and is not reached. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#define MAX_INPUT (128 * 1024)

static int listener = -1;
static char sock_path[300];

static void setup(void)
{
    snprintf(sock_path, sizeof sock_path, "%s/agent.sock", fuzz_dir());
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    FUZZ_CHECK(strlen(sock_path) < sizeof a.sun_path, "socket path too long: %s", sock_path);
    strcpy(a.sun_path, sock_path);
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(listener >= 0 && bind(listener, (struct sockaddr *)&a, sizeof a) == 0 && listen(listener, 4) == 0,
               "agent socket %s: %s", sock_path, strerror(errno));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    /* libssh2 1.10 allocates whatever reply length the agent states (newer
       libssh2 refuses more than 8 KiB): an agent's claim of gigabytes is a
       transient allocation, not an xssh bug, and would only stop the fuzzer */
    if (size >= 4 && ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3]) > (1u << 20))
        return 0;
    if (listener < 0)
        setup();
    xssh_session *s = fuzz_session();
    FUZZ_CHECK(xssh_session_set_timeout(s, 10000) == XSSH_OK, "set_timeout");
    xssh_agent *agent = NULL;
    FUZZ_CHECK(xssh_agent_new(&agent, s) == XSSH_OK, "agent_new: %s", xssh_error_last()->message);
    FUZZ_CHECK(xssh_agent_set_path(agent, sock_path) == XSSH_OK, "set_path");
    /* the connection waits in the listen backlog until accepted */
    FUZZ_CHECK(xssh_agent_connect(agent) == XSSH_OK, "connect: %s", xssh_error_last()->message);
    int peer = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    FUZZ_CHECK(peer >= 0, "accept: %s", strerror(errno));
    int big = 4 * MAX_INPUT;
    setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    fcntl(peer, F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(peer, data + off, size - off, MSG_NOSIGNAL);
        FUZZ_CHECK(n > 0, "cannot queue the input (%zu of %zu bytes): %s", off, size, strerror(errno));
        off += (size_t)n;
    }
    shutdown(peer, SHUT_WR);

    int rc = xssh_agent_list_identities(agent);
    fuzz_check_error(rc, "list_identities");
    FUZZ_CHECK(rc == XSSH_OK || rc == XSSH_EAGENT_LIST, "list_identities answered %d: %s", rc,
               xssh_error_last()->message);
    size_t count = 0;
    if (rc == XSSH_OK) {
        FUZZ_CHECK(xssh_agent_identity_count(agent, &count) == XSSH_OK, "identity_count");
        for (size_t i = 0; i <= count; i++) {
            xssh_pubkey *k = NULL;
            rc = xssh_agent_identity(agent, i, &k);
            if (i == count) {
                FUZZ_CHECK(rc == XSSH_EAGENT_IDENTITY, "identity past the end answered %d", rc);
                break;
            }
            FUZZ_CHECK(rc == XSSH_OK, "identity %zu of %zu: %d", i, count, rc);
            const unsigned char *blob = NULL;
            size_t blen = 0;
            const char *comment = NULL;
            unsigned magic = 0;
            FUZZ_CHECK(xssh_pubkey_blob(k, &blob, &blen) == XSSH_OK && blob, "blob");
            FUZZ_CHECK(xssh_pubkey_comment(k, &comment) == XSSH_OK && comment, "comment");
            FUZZ_CHECK(xssh_pubkey_magic(k, &magic) == XSSH_OK, "magic");
            volatile size_t sum = strlen(comment);
            for (size_t j = 0; j < blen; j++)
                sum += blob[j];
            (void)sum;
            xssh_pubkey_unref(k);
        }
    }
    FUZZ_CHECK(xssh_agent_disconnect(agent) == XSSH_OK, "disconnect");
    xssh_agent_unref(agent);
    close(peer);
    return 0;
}
