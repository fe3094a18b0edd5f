/* SPDX-License-Identifier: BSD-3-Clause */
/* A hostile SSH server's bytes, as a real xssh_session reads them through its
 * socket callbacks: the input is what "the server" sends, followed by EOF.
 *
 * The session's socket is one end of a socketpair whose other end holds the
 * whole input and is then shut down for writing, so every read the session
 * makes finds data or EOF at once, and what the session writes (its own
 * identification and KEXINIT, a key-exchange init) stays in the buffer unread.
 * xssh_session_handshake must then end with an error that says what failed, well
 * before the deadline: with all input present and EOF behind it, a timeout means
 * the session spun or waited for nothing, which counts as a crash here.
 *
 * Reached: the identification exchange (the lines before "SSH-" that xssh's
 * recv callback skips, with its limits, and the version line),
 * binary packet framing before NEWKEYS (length, padding, the MAC-less
 * first packets), KEXINIT parsing and algorithm negotiation, the transport
 * messages libssh2 handles at any time (DISCONNECT, IGNORE, DEBUG, UNIMPLEMENTED),
 * and the key-exchange replies up to the host key signature (the server's host
 * key blob, f / Q_S, the group-exchange group, the signature blob's framing).
 * Not reached: anything after NEWKEYS. The exchange hash covers the client's
 * fresh ephemeral key, so no fixed input can carry a valid host-key signature;
 * userauth, channels, SFTP and verify_host are beyond that point (see README.md).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#define MAX_INPUT (128 * 1024) /* what one socketpair buffer takes without a reader */
#define DEADLINE_MS 10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
    int big = 4 * MAX_INPUT;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
        FUZZ_CHECK(n > 0, "cannot queue the input (%zu of %zu bytes): %s", off, size, strerror(errno));
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);

    xssh_session *s = NULL;
    FUZZ_CHECK(xssh_session_new(&s) == XSSH_OK, "session_new: %s", xssh_error_last()->message);
    FUZZ_CHECK(xssh_session_set_timeout(s, DEADLINE_MS) == XSSH_OK, "set_timeout");
    int64_t t0 = xssh__now_ms();
    int rc = xssh_session_handshake(s, sv[0]);
    int64_t took = xssh__now_ms() - t0;
    fuzz_check_error(rc, "handshake");
    FUZZ_CHECK(rc != XSSH_ETIMEOUT, "the handshake timed out after %lld ms although all input and EOF were there: %s",
               (long long)took, xssh_error_last()->message);
    if (rc == XSSH_OK) {
        /* not expected (see above); if it ever happens, go on as far as possible */
        char *list = NULL;
        if (xssh_session_userauth_list(s, "fuzz", &list) == XSSH_OK)
            xssh_free(list);
    } else {
        int closed = 0;
        FUZZ_CHECK(xssh_session_is_closed(s, &closed) == XSSH_OK && closed, "a failed handshake leaves the session open");
        /* a second attempt on the same session is refused, not retried */
        FUZZ_CHECK(xssh_session_handshake(s, sv[0]) == XSSH_ECLOSED, "handshake after a failed one");
    }
    xssh_session_unref(s);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
