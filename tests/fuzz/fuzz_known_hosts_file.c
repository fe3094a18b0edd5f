/* SPDX-License-Identifier: BSD-3-Clause */
/* known_hosts FILES as xssh reads them: xssh_session_verify_host's whole check
 * (xssh__hostkey_check: the line-by-line load that skips what libssh2 cannot
 * parse, the "@revoked" marker scan, the old key's fingerprint on a mismatch,
 * accept-new's appended line) and xssh_knownhosts_readfile.
 *
 * Input: byte 0 chooses the policy (bits 0-1), the server's key (bits 2-3) and
 * the port (bit 4: 22 or 2222); the rest is the known_hosts file. The host is
 * "fuzz.example"; the keys are the three below (seeds name them). */
#include "common.h"

#include <openssl/evp.h>

static const char *const keys_b64[] = {
    "AAAAC3NzaC1lZDI1NTE5AAAAIKn5scs8A+Zetetz8aRRzSBpS8bVrhcfz5xuPKFEldvf",
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJsXBeopRspybu8I9itdt57/pf3IykQnZ8+38y5HqSh7y233GLREcbkvru3z6"
    "U8mregRXtrCcPPpiztRfebrsbc=",
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCvGlqnJENrqYiYFRLVQO0Vzs9+JA/9Vhi7fcurs9OqXOdPHzWlJMsCskCxS7BzV6fUXtY9tscC+xHzSkkqm"
    "Az3aJmUK4eFNTvNsvDDFfGP+ebtfvetHT+m8p6ajRfwS5reob5TMcZtldB3/WsLIPl5xhEG0qM80ETfu/JOthgMIQ==",
};
static const int key_types[] = {XSSH_HOSTKEY_TYPE_ED25519, XSSH_HOSTKEY_TYPE_ECDSA_256, XSSH_HOSTKEY_TYPE_RSA};

static unsigned char keys[3][512];
static size_t key_lens[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(keys_b64[i]);
        int l = EVP_DecodeBlock(keys[i], (const unsigned char *)keys_b64[i], (int)n);
        size_t pad = keys_b64[i][n - 1] == '=' ? (keys_b64[i][n - 2] == '=' ? 2 : 1) : 0;
        key_lens[i] = (size_t)l - pad;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!key_lens[0])
        LLVMFuzzerInitialize(NULL, NULL);
    static const xssh_hostkey_policy policies[] = {XSSH_HOSTKEY_STRICT, XSSH_HOSTKEY_ACCEPT_NEW, XSSH_HOSTKEY_STRICT,
                                                   XSSH_HOSTKEY_ACCEPT_NEW};
    xssh_hostkey_policy policy = policies[data[0] & 3];
    int k = ((data[0] >> 2) & 3) % 3;
    int port = (data[0] & 0x10) ? 2222 : 22;
    xssh_session *s = fuzz_session();
    char path[512];
    snprintf(path, sizeof path, "%s/known_hosts", fuzz_dir());
    fuzz_write_file(path, data + 1, size - 1);

    xssh__lock(s);
    int rc = xssh__hostkey_check(s, "fuzz.example", port, policy, path, (const char *)keys[k], key_lens[k],
                                 key_types[k]);
    xssh__unlock(s);
    fuzz_check_error(rc, "hostkey check");
    FUZZ_CHECK(rc == XSSH_OK || rc == XSSH_EHOSTKEY_CHANGED || rc == XSSH_EHOSTKEY_UNKNOWN ||
                   rc == XSSH_EKNOWNHOST_CHECK || rc == XSSH_EKNOWNHOST_ADD || rc == XSSH_EKNOWNHOST_READFILE,
               "unexpected result %d (%s)", rc, xssh_error_last()->message);
    if (policy == XSSH_HOSTKEY_ACCEPT_NEW && rc == XSSH_OK) {
        /* whatever accept-new appended, the host is known now */
        xssh__lock(s);
        int again = xssh__hostkey_check(s, "fuzz.example", port, XSSH_HOSTKEY_STRICT, path, (const char *)keys[k],
                                        key_lens[k], key_types[k]);
        xssh__unlock(s);
        FUZZ_CHECK(again == XSSH_OK || again == XSSH_EHOSTKEY_CHANGED,
                   "after accept-new recorded the key, a strict check answers %d (%s)", again,
                   xssh_error_last()->message);
    }

    /* the public reader of the same file */
    xssh_knownhosts *kh = NULL;
    rc = xssh_knownhosts_new(&kh, s);
    FUZZ_CHECK(rc == XSSH_OK, "knownhosts_new: %d", rc);
    size_t count = 0;
    rc = xssh_knownhosts_readfile(kh, path, XSSH_KNOWNHOST_FILE_OPENSSH, &count);
    fuzz_check_error(rc, "readfile");
    size_t total = 0;
    if (rc == XSSH_OK) {
        FUZZ_CHECK(xssh_knownhosts_count(kh, &total) == XSSH_OK, "count");
        FUZZ_CHECK(total == count, "readfile says %zu entries, the collection has %zu", count, total);
    }
    xssh_knownhosts_unref(kh);
    return 0;
}
