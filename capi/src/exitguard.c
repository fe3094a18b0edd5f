/* SPDX-License-Identifier: BSD-3-Clause */
/* Process exit: no xssh thread runs, and no libssh2 call starts, once exit()
 * has begun tearing the process down.
 *
 * exit() runs the atexit handlers in reverse order of registration, and
 * OpenSSL frees its global state (RNG, providers, per-thread state) in its own
 * atexit handler, OPENSSL_cleanup. A forward pump or ProxyJump carrier still
 * encrypting at that moment touches freed memory (the crash this file exists
 * for: a carrier in RAND_bytes while the main thread ran OPENSSL_cleanup). So
 * the first session created initialises OpenSSL and only then registers
 * exit_guard(), which therefore runs before OPENSSL_cleanup and:
 *   1. marks the process as exiting (xssh__exiting): a session freed from now
 *      on skips libssh2 (whose frees reach into OpenSSL), new sessions and
 *      forwards are refused with XSSH_ECLOSED;
 *   2. marks every live session closed and wakes its waiters, so every later
 *      or waiting call on any thread answers XSSH_ECLOSED;
 *   3. stops and joins every pump (tunnel.c), bounded by GUARD_MS;
 *   4. waits (bounded) for any call still inside libssh2 on another thread to
 *      leave it, by taking and releasing each session's lock.
 * A forked child forgets the parent's sessions and threads (pthread_atfork): its
 * guard touches only what the child created, never a socket it shares.
 * In a shared object unloaded by dlclose (Lua's lua_close unloads C modules)
 * the handler runs at unload, before the code goes away: same guarantees.
 * _exit() runs no handler; the kernel ends every thread at once, mid-call or
 * not, which cannot crash either.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* how long the guard waits, in all, for threads and calls to finish */
#define GUARD_MS 10000

_Atomic int xssh__exiting;

/* frees that use libssh2 hold it for reading; the guard takes it for writing */
static pthread_rwlock_t free_lock = PTHREAD_RWLOCK_INITIALIZER;
/* live sessions */
static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static xssh_session **sess;
static size_t nsess, capsess;

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void exit_guard(void)
{
    struct timespec deadline;
    deadline_in(&deadline, GUARD_MS);
    /* 1: no free starts using libssh2 now; wait for the ones inside it */
    int wl = pthread_rwlock_timedwrlock(&free_lock, &deadline);
    atomic_store(&xssh__exiting, 1);
    if (wl == 0)
        pthread_rwlock_unlock(&free_lock);
    /* 2: every session is closed for every thread */
    pthread_mutex_lock(&sess_lock);
    for (size_t i = 0; i < nsess; i++) {
        xssh_session *s = sess[i];
        atomic_store(&s->state, XSSH__STATE_CLOSED);
        if (s->owns_fd && s->fd >= 0)
            shutdown(s->fd, SHUT_RDWR); /* ends waits on the socket, inside libssh2 too */
        if (s->wake_pipe[1] >= 0) {
            ssize_t w = write(s->wake_pipe[1], "xxxxxxxxxxxxxxxx", 16);
            (void)w;
        }
        xssh__wake_threads(s);
    }
    pthread_mutex_unlock(&sess_lock);
    /* 3: every pump and carrier stopped and joined */
    xssh__forwards_reap_all(&deadline);
    /* 4: no call left inside libssh2; later ones find their session closed.
       (A session freed meanwhile is out of the list: sess_lock is held.) */
    pthread_mutex_lock(&sess_lock);
    for (size_t i = 0; i < nsess; i++) {
        if (pthread_mutex_timedlock(&sess[i]->lock, &deadline) == 0)
            pthread_mutex_unlock(&sess[i]->lock);
    }
    pthread_mutex_unlock(&sess_lock);
}

/* fork: the child inherits copies of the sessions and forwards but none of the
   threads. It forgets both registries, so its exit guard neither joins threads
   that do not exist there nor shuts down sockets it shares with the parent. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&sess_lock);
    pthread_rwlock_rdlock(&free_lock);
    xssh__forwards_atfork(0);
}

static void fork_parent(void)
{
    xssh__forwards_atfork(1);
    pthread_rwlock_unlock(&free_lock);
    pthread_mutex_unlock(&sess_lock);
}

static void fork_child(void)
{
    xssh__forwards_atfork(2);
    nsess = 0;
    pthread_rwlock_unlock(&free_lock);
    pthread_mutex_unlock(&sess_lock);
}

static void install(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    /* OpenSSL registers OPENSSL_cleanup at its first initialisation: make sure
       that happened (libssh2_init normally did it) before our handler, so ours
       runs first. tests/exit checks the order. */
    OPENSSL_init_crypto(0, NULL);
    atexit(exit_guard);
}

int xssh__live_session_add(xssh_session *s)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
    pthread_mutex_lock(&sess_lock);
    if (atomic_load(&xssh__exiting)) {
        pthread_mutex_unlock(&sess_lock);
        return XSSH_ECLOSED;
    }
    if (nsess == capsess) {
        size_t cap = capsess ? capsess * 2 : 64;
        xssh_session **n = realloc(sess, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&sess_lock);
            return XSSH_ENOMEM;
        }
        sess = n;
        capsess = cap;
    }
    sess[nsess++] = s;
    pthread_mutex_unlock(&sess_lock);
    return XSSH_OK;
}

int xssh__session_free_begin(xssh_session *s)
{
    pthread_mutex_lock(&sess_lock);
    for (size_t i = nsess; i-- > 0;) {
        if (sess[i] == s) {
            sess[i] = sess[--nsess];
            break;
        }
    }
    pthread_mutex_unlock(&sess_lock);
    pthread_rwlock_rdlock(&free_lock);
    if (atomic_load(&xssh__exiting)) {
        pthread_rwlock_unlock(&free_lock);
        return 0;
    }
    return 1;
}

void xssh__session_free_end(int began)
{
    if (began)
        pthread_rwlock_unlock(&free_lock);
}
