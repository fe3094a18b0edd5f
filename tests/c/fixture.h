/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared fixture for the C tests: the real OpenSSH sshd that
 * tests/harness/sshd_harness.py starts (ctest fixture "sshd"), described by the
 * KEY=VALUE file named in $XSSH_TEST_ENV. The same file serves every binding's tests.
 */
#ifndef XSSH_TEST_FIXTURE_H
#define XSSH_TEST_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <xssh.h>

typedef struct xt_env {
    const char *dir;             /* XSSH_TEST_DIR: the harness's temporary directory */
    const char *host;            /* XSSH_TEST_HOST: 127.0.0.1 */
    int port;                    /* XSSH_TEST_PORT */
    const char *user;            /* XSSH_TEST_USER: account that accepts the keys below */
    const char *key_ed25519;     /* XSSH_TEST_KEY_ED25519: authorized private key path (.pub beside it) */
    const char *key_ecdsa;       /* XSSH_TEST_KEY_ECDSA: authorized */
    const char *key_rsa;         /* XSSH_TEST_KEY_RSA: authorized, but refused (ssh-rsa SHA-1) with libssh2 1.10 */
    const char *key_encrypted;   /* XSSH_TEST_KEY_ENCRYPTED: authorized ed25519 key with a passphrase */
    const char *key_passphrase;  /* XSSH_TEST_KEY_PASSPHRASE */
    const char *key_unauthorized;/* XSSH_TEST_KEY_UNAUTHORIZED: valid ed25519 key not in authorized_keys */
    const char *known_hosts;     /* XSSH_TEST_KNOWN_HOSTS: has the server's host keys as [127.0.0.1]:port */
    const char *hostkey_fp;      /* XSSH_TEST_HOSTKEY_FP: SHA256:... of the server's ed25519 host key */
    const char *pw_user;         /* XSSH_TEST_PW_USER: local account with a password ("" if none) */
    const char *password;        /* XSSH_TEST_PASSWORD ("" if none) */
    const char *agent_sock;      /* XSSH_TEST_AGENT_SOCK: ssh-agent holding key_ed25519 ("" if none) */
} xt_env;

/* The environment (loaded once; aborts the test with a clear message if missing). */
const xt_env *xt(void);
/* A new session connected (TCP + handshake) to the test sshd, blocking, not authenticated. */
xssh_session *xt_connect(void);
/* A new session connected and authenticated with key_ed25519. */
xssh_session *xt_connect_auth(void);
/* A session to the test sshd, through `via` (ProxyJump, xssh_session_connect_via)
   when not NULL, else direct; host key verified (strict, the harness's
   known_hosts), authenticated with key_ed25519, session timeout 30 s. */
xssh_session *xt_hop(xssh_session *via);
/* A fresh path inside the harness directory (unique per call); caller frees. */
char *xt_tmppath(const char *stem);
/* HOME set to an empty directory <harness dir>/<tag>-home-<pid> with an empty .ssh
   (created if missing), so that no ~/.ssh/config or keys of the machine's user take
   part; for a suite's .init. */
void xt_empty_home(const char *tag);
/* A data size for bulk tests: `full`, or a sixteenth of it (>= 64 KiB) when the
   test runs under valgrind (XSSH_TEST_VALGRIND=1), which is ~50x slower. */
size_t xt_size(size_t full);
/* Nonzero under valgrind (XSSH_TEST_VALGRIND=1). */
int xt_valgrind(void);
/* The calling thread's last error message (for assertion messages). */
static inline const char *last_msg(void) { return xssh_error_last()->message; }
/* n random bytes (malloc'd; at least 1 byte allocated). */
unsigned char *xt_random_bytes(size_t n);
/* A whole local file (malloc'd, NUL-terminated); its length in *len. */
unsigned char *xt_slurp(const char *path, size_t *len);
/* Write a whole local file with permissions mode (created or truncated). */
void xt_spit(const char *path, const void *data, size_t n, unsigned mode);
/* Nonzero when a password account exists (running as root). */
int xt_have_password(void);


/* A session whose bytes pass through a proxy that can hold back everything the
   server sends: while held, a non-blocking call that needs a reply must say
   EAGAIN however fast or slow the machine is (the way to force EAGAIN; never
   hope for it). The session talks to one end of a socketpair; a thread pumps
   between the other end and a TCP connection to the test sshd. */
typedef struct xt_stall_proxy {
    int inner;   /* the pump's end of the socketpair */
    int outer;   /* the session's end (given to xssh_session_handshake) */
    int server;  /* TCP to the test sshd */
    int wake[2]; /* wakes the pump after hold/stop change */
    atomic_int hold, stop;
    pthread_t thr;
    /* bytes forwarded client->server (up) and server->client (down); a nonzero
       cut_* ends the connection (both directions) once that many went that way */
    _Atomic unsigned long long up_n, down_n, cut_up, cut_down;
} xt_stall_proxy;
/* Start the proxy; returns a connected session authenticated with key_ed25519. */
xssh_session *xt_stall_proxy_start(xt_stall_proxy *x);
/* hold = 1: forward nothing from the server until hold = 0 (client bytes still go). */
void xt_stall_proxy_hold(xt_stall_proxy *x, int hold);
/* Cut the connection after `more_up` further client bytes or `more_down` further
   server bytes (0: no limit that way): exactly that many pass, then both sides
   see the connection end (a transfer cut midway, at a byte count, never a time). */
void xt_stall_proxy_cut(xt_stall_proxy *x, unsigned long long more_up, unsigned long long more_down);
/* Stop the pump and close the proxy's sockets (unref the session first). */
void xt_stall_proxy_stop(xt_stall_proxy *x);

#endif
