/* SPDX-License-Identifier: BSD-3-Clause */
/* Public-key text that xssh reads itself:
 * - xssh_session_userauth_publickey's OpenSSH public key line
 *   ("ssh-ed25519 AAAA... comment") -> base64 blob (on an unconnected session,
 *   so the call ends at "not connected" right after the parsing);
 * - xssh__base64_decode, differentially against OpenSSL's EVP_DecodeBlock;
 * - xssh__key_text_is_rsa, the peek into key files and key text (public key
 *   lines, PEM, the OpenSSH private key container) that words RSA failures. */
#include "common.h"

#include <openssl/evp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xssh_session *s = fuzz_session();
    if (size > 0) {
        int rc = xssh_session_userauth_publickey(s, "fuzz", data, size);
        fuzz_check_error(rc, "userauth_publickey");
        FUZZ_CHECK(rc == XSSH_ENOTCONNECTED || rc == XSSH_EARG, "userauth_publickey answered %d: %s", rc,
                   xssh_error_last()->message);
    }

    /* base64: xssh's decoder against OpenSSL's on canonical input */
    unsigned char *mine = malloc(size + 1), *ref = malloc(size + 3);
    FUZZ_CHECK(mine && ref, "malloc");
    size_t n = xssh__base64_decode((const char *)data, size, mine);
    FUZZ_CHECK(n == (size_t)-1 || n <= size * 3 / 4, "decoded %zu bytes from %zu characters", n, size);
    size_t pad = 0, body = size;
    while (body > 0 && data[body - 1] == '=' && pad < 2) {
        pad++;
        body--;
    }
    int canonical = size % 4 == 0 && size <= 0x7fffffff;
    for (size_t i = 0; canonical && i < body; i++)
        canonical = data[i] != '=' && (size_t)-1 != xssh__base64_decode((const char *)data + i, 1, ref);
    if (canonical) {
        int r = EVP_DecodeBlock(ref, data, (int)size);
        if (r >= 0 && (pad == 0 || (size_t)r >= pad)) {
            size_t rl = (size_t)r - pad;
            FUZZ_CHECK(n == rl && memcmp(mine, ref, rl) == 0, "base64 of %zu chars: xssh %zu bytes, OpenSSL %zu", size,
                       n, rl);
        }
    }
    free(mine);
    free(ref);

    /* the RSA sniffing of key text (a terminated and an unterminated view) */
    (void)xssh__key_text_is_rsa((const char *)data, size);
    return 0;
}
