/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The multi interface (xssh/multi.h) and the library's one wait (xssh__wait).
 *
 * Each operation runs the same code as the blocking call of the same name on a
 * small private stack (a fiber: ucontext makecontext/swapcontext; mmap'd stack
 * with a guard page below it, pooled per multi). Where that code would wait
 * (xssh__wait: xssh__op_again, the TCP connect, lock waits...), the fiber records
 * what it waits for (socket + direction, deadline, wake key) and switches back
 * to the scheduler, which resumes it when the socket is ready (poll(2) in
 * xssh_multi_perform/wait, or the caller's event loop through
 * xssh_multi_socket_action), the deadline passes, the key is woken, or the
 * operation is cancelled.
 *
 * Everything here runs on the thread driving the multi; user callbacks
 * (on_output, on_done, socket/timer callbacks) always run on that thread's own
 * stack, from the scheduler, never on an operation's stack. Per-thread state of
 * the library (the last error, xssh__tls_nonblocking, the SFTP force-blocking
 * flag, the keyboard-interactive contexts) is saved and restored at each switch,
 * so every operation sees its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
#include "config_internal.h"

/* ---- sanitizer and valgrind annotations of stack switches ------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define XSSH__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XSSH__ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define XSSH__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define XSSH__TSAN 1
#endif
#endif

#ifdef XSSH__ASAN
#include <dlfcn.h>
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
/* ASan's swapcontext interceptor prints a warning (a report file: the test
   runner fails on it) and only clears the new stack's shadow, which op_start
   does itself; the switches are annotated above, so libc's own is called. */
typedef int (*swap_fn)(ucontext_t *, const ucontext_t *);
static swap_fn real_swap;
static pthread_once_t real_swap_once = PTHREAD_ONCE_INIT;
static void find_real_swap(void)
{
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (libc)
        real_swap = (swap_fn)dlsym(libc, "swapcontext");
    if (!real_swap)
        real_swap = swapcontext;
}
static int xswap(ucontext_t *from, const ucontext_t *to)
{
    pthread_once(&real_swap_once, find_real_swap);
    return real_swap(from, to);
}
#else
#define xswap swapcontext
#endif
#ifdef XSSH__TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif
#ifdef XSSH_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#define VG_STACK_REGISTER(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#define VG_STACK_DEREGISTER(id) VALGRIND_STACK_DEREGISTER(id)
#else
#define VG_STACK_REGISTER(lo, hi) 0u
#define VG_STACK_DEREGISTER(id) ((void)(id))
#endif

/* ---- types -------------------------------------------------------------------- */

enum {
    K_CONNECT = 1,
    K_HOST_RUN,
    K_RUN,
    K_HOST_PUT,
    K_HOST_GET,
    K_SFTP_GET,
    K_SFTP_PUT,
    K_CHANNEL,
    K_CALL,
    K_SFTP_LISTDIR, /* xssh_multi_add_sftp_listdir */
    K_SFTP_OPEN,    /* xssh_multi_add_sftp_open */
    K_FORWARD, /* a local forward (multi_forward.c): does not hold its session */
    K_TASK /* xssh__parallel's tasks (internal: never reported) */
};

typedef struct obuf {
    char *p;
    size_t n, cap;
} obuf;

typedef struct pgroup pgroup;

struct xssh_multi_op {
    xssh__refcount refs;
    xssh_multi *m; /* until the op is done (NULL after) */
    int kind;
    int state;     /* xssh_op_state */
    int internal;  /* a task of xssh__parallel */
    xssh_multi_op *next, *prev; /* m's queue or running list */
    xssh_multi_op *info_next;   /* m's done-not-reported list */
    xssh_multi_op *notify_next; /* m's done-but-on_done-not-called list */
    /* inputs */
    char *host_arg;             /* as given */
    char *host_err;             /* why host_arg cannot be parsed (the op fails in phase resolve) */
    xssh_options *options;
    char *command, *src, *dst;
    xssh_session *session;      /* given (run, channel, call) or sftp's */
    xssh_sftp *sftp;
    xssh_multi_fn fn;
    void *fn_ud;
    xssh_multi_op_opts opts;
    xssh_transfer_opts topts;
    int have_topts;
    void *stdin_copy;
    char *caller;               /* opts.caller copied (NULL: none) */
    /* the result */
    xssh_multi_result res;
    char *msg;
    obuf out, err;
    char *exit_signal;
    xssh_session *out_session;
    xssh_channel *out_channel;
    obuf pend[2], line[2];      /* on_output: not delivered yet / partial line */
    /* the fiber */
    char *map;                  /* the stack mapping (guard page first) */
    size_t map_size;
    char *stack_lo;
    size_t stack_size;
    unsigned vg_id;
    ucontext_t ctx;
    void *asan_fake;
    void *tsan_fiber;
    int started, finished, fn_rc;
    xssh__errstate errs;
    int l_nonblocking, l_sftp_fb;
    void *l_auth_kbd, *l_connect_kbd;
    /* waiting */
    int waiting;
    int w_fd, w_events, w_flags;
    const void *w_key;
    int64_t w_deadline;
    xssh_multi_op *kn, *kp;     /* key bucket */
    int in_bucket;
    int ready, wake;            /* resume it; what xssh__wait returns */
    int phase;
    int64_t limit_ms;           /* the phase limit (monotonic ms; 0: none) */
    long connect_to, auth_to;   /* ms; 0: none */
    int cancelled;
    /* cancel / phase limit: the first wait it interrupts returns XSSH_ECANCELLED /
       XSSH_ETIMEOUT (intr_sent); the waits of the cleanup that follows go on until
       grace_end (XSSH__CANCEL_GRACE_MS later), after which every wait fails again */
    int intr_sent;
    int64_t grace_end;
    int64_t start_ms;
    /* fairness (xssh__fiber_slice_over): when this op was last resumed, the work
       its loops counted since, and the drive it gave way in (not resumed again
       in that drive: the caller's loop gets its turn first) */
    int64_t slice_start;
    uint64_t slice_work;
    uint64_t fair_gen;
    /* xssh__parallel */
    pgroup *group;
    size_t task_index;
    /* pull_output (run ops): the output kept for xssh_multi_op_take_output, at
       most max_output untaken bytes per stream (the fiber waits on the key
       pull_buf while a stream is full); pull_nl: bytes up to and including the
       last newline (line mode) */
    int pull;
    obuf pull_buf[2];
    size_t pull_nl[2];
    int64_t pull_deadline;      /* the run's timeout_ms (monotonic ms; 0: none) */
    int pull_timed_out, pull_nomem;
    /* listdir: the entries (names and long entries owned here); sftp_open: the SFTP */
    xssh_sftp_dirent *ents;
    size_t nents, ents_cap;
    xssh_sftp *out_sftp;
    /* xssh__tasks_add: the task's own function (NULL: the group's task(ctx, i)) */
    int (*task_fn)(void *arg);
    void *task_arg;
    /* K_FORWARD: the forward's state (multi_forward.c) */
    struct xssh__fwd *fwd;
};

struct pgroup {
    xssh_multi *m;
    xssh_multi_op *parent; /* NULL: a private multi */
    size_t count, next;
    int width, running;
    int (*task)(void *ctx, size_t i);
    void *ctx;
    int stop;              /* a task failed, or the parent was cancelled: start no more */
    int have_fail;
    size_t fail_index;
    int fail_rc;
    xssh__errstate fail_err;
    int64_t limit_ms;
    int phase;
};

typedef struct fdstate {
    int reported; /* what the socket callback was last told */
    int want;
    int closed;   /* closed (and maybe reused) since it was reported */
    int listed;
} fdstate;

#define KEY_BUCKETS 64

struct xssh_multi {
    xssh__refcount refs;
    int max_running;
    size_t stack_size;
    xssh_multi_op *q_head, *q_tail;   /* queued */
    xssh_multi_op *r_head;            /* running */
    int n_top_running;                /* running, not internal */
    int n_ops;                        /* queued + running */
    xssh_multi_op *info_head, *info_tail;
    xssh_multi_op *notify_head, *notify_tail;
    xssh_multi_op *kb[KEY_BUCKETS];   /* waiting ops by wake key */
    char **pool;                      /* free stack mappings of pool_map_size */
    size_t npool, pool_cap, pool_map_size;
    unsigned *pool_vg;
    xssh_multi_socket_cb scb;
    void *sud;
    xssh_multi_timer_cb tcb;
    void *tud;
    int64_t last_deadline;            /* what the external loop's timer is set to (the last tcb call):
                                         absolute monotonic ms; 0: "soon"; -1 none (or it fired);
                                         -2 never told */
    uint64_t drive_gen;               /* run_ready calls (xssh__fiber_yield) */
    fdstate *fds;
    int nfds;
    int *listed;
    size_t nlisted, listed_cap;
    xssh_multi_op **scratch;
    size_t scratch_cap;
    int busy;
    int dying;
    ucontext_t sched;
    const void *sched_lo;
    size_t sched_size;
    void *tsan_sched;
    /* the registry of the thread that drives it (wake-ups across the multis of
       a thread): reg, reg_next/prev under reg_mu; n_keyed: ops in kb;
       kick_pending: an op was woken by code outside its drive and the external
       loop is told timer 0 at the thread's next top level (kicks_deliver) */
    struct treg *reg;
    xssh_multi *reg_next, *reg_prev;
    int n_keyed;
    int kick_pending;
    /* the pull form's wake-up descriptor (an eventfd, -1: none): made by
       xssh_multi_fds while an op runs (multis without a timer callback only),
       listed there, written by xssh__wake, drained by each drive call, closed
       when no op runs any more and at free; set and closed under reg_mu */
    int kick_fd;
    int kick_warned; /* (the eventfd failure was logged) */
};

static _Thread_local xssh_multi_op *tls_op;   /* the op running on this thread */
static void cpull_op_free(xssh_multi_op *op);
static int pull_add(xssh_multi_op *op, int st, const char *data, size_t len);
static int pull_check(const char *fn, const xssh_multi_op_opts *opts);
static int do_listdir(xssh_multi_op *op);
static int do_sftp_open(xssh_multi_op *op);
static _Thread_local xssh_multi *tls_multi;   /* the multi being driven on this thread */

/* ---- the multis of a thread ------------------------------------------------------
   Input of a session that any code of the thread consumes (an op of another
   multi, a plain blocking call) may be what an op of any multi of the thread
   waits for; a key released there (a lock) may be what it waits to take. So
   xssh__wake(key) marks the waiters on key in every multi this thread drives,
   not only in the one being driven. Each thread has a registry (treg) of the
   multis it drives: a multi joins it at each drive call (perform, wait,
   socket_action; moved from the registry of the thread that drove it before)
   and leaves it when freed. The registries are changed, and walked by
   xssh__wake, under reg_mu only, so a wake on one thread never touches a multi
   another thread has started driving meanwhile, nor one being freed.
   A multi driven by perform/wait picks up its woken ops at its next call. One
   driven by an external loop (timer callback) must be told to come back: it is
   marked kick_pending, and its timer callback is called with 0 when the thread
   is back at its top level (xssh__kicks_deliver): when the outermost drive call
   of the thread ends (after its own callbacks, on the thread's own stack), or,
   for plain blocking code, when it releases its last session lock outside any
   wait. Never on an operation's stack, never inside a drive, never while the
   thread's plain code holds a session lock.
   A multi driven in the pull form (xssh_multi_fds, no timer callback) has no
   callback to be told through: xssh_multi_fds lists one more descriptor, its
   kick_fd (an eventfd), which xssh__wake writes (a plain write: safe on any
   stack, inside any call) when it marks an op of that multi outside its
   drive; the loop sees it readable and drives the multi (any drive call
   drains it and resumes the ops marked). */
typedef struct treg {
    _Atomic(xssh_multi *) head;
} treg;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t reg_key;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static _Thread_local treg *tls_reg;
static _Thread_local int tls_drive_depth;  /* drive calls (and multi frees) in progress */
static _Thread_local int tls_kick_pending; /* some multi of this registry is kick_pending */
_Thread_local int xssh__tls_plain_locks;   /* session locks held by plain code (session.c) */
_Thread_local int xssh__tls_kicks_held;    /* inside a plain blocking wait (session.c) */

static void reg_unlink_locked(xssh_multi *m)
{
    treg *r = m->reg;
    if (!r)
        return;
    if (m->reg_prev)
        m->reg_prev->reg_next = m->reg_next;
    else
        atomic_store_explicit(&r->head, m->reg_next, memory_order_relaxed);
    if (m->reg_next)
        m->reg_next->reg_prev = m->reg_prev;
    m->reg_next = m->reg_prev = NULL;
    m->reg = NULL;
}

/* thread exit: its multis belong to no thread until driven again */
static void reg_thread_end(void *p)
{
    treg *r = p;
    pthread_mutex_lock(&reg_mu);
    while (atomic_load_explicit(&r->head, memory_order_relaxed))
        reg_unlink_locked(atomic_load_explicit(&r->head, memory_order_relaxed));
    pthread_mutex_unlock(&reg_mu);
    if (tls_reg == r)
        tls_reg = NULL; /* (a later call of this thread makes a new one) */
    free(r);
}

static void reg_key_init(void) { pthread_key_create(&reg_key, reg_thread_end); }

/* m is driven by this thread now */
static void reg_attach(xssh_multi *m)
{
    treg *r = tls_reg;
    if (!r) {
        pthread_once(&reg_once, reg_key_init);
        r = calloc(1, sizeof *r);
        if (!r)
            return; /* (no memory: wakes reach this multi only while it is driven) */
        if (pthread_setspecific(reg_key, r) != 0) {
            free(r);
            return;
        }
        tls_reg = r;
    }
    pthread_mutex_lock(&reg_mu);
    if (m->reg != r) {
        reg_unlink_locked(m);
        m->reg = r;
        m->reg_prev = NULL;
        m->reg_next = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (m->reg_next)
            m->reg_next->reg_prev = m;
        atomic_store_explicit(&r->head, m, memory_order_relaxed);
    }
    pthread_mutex_unlock(&reg_mu);
}

static void reg_detach(xssh_multi *m)
{
    pthread_mutex_lock(&reg_mu);
    reg_unlink_locked(m);
    pthread_mutex_unlock(&reg_mu);
}

/* a reference unless m is already being freed (refs 0) */
static int multi_try_ref(xssh_multi *m)
{
    int n = atomic_load(&m->refs.n);
    while (n)
        if (atomic_compare_exchange_weak(&m->refs.n, &n, n + 1))
            return 1;
    return 0;
}

#define DEFAULT_STACK (256 * 1024)
#define MIN_STACK (64 * 1024)
#define DEFAULT_MAX_RUNNING 64
#define DEFAULT_MAX_OUTPUT (1024 * 1024)

/* ---- phases ------------------------------------------------------------------- */

const char *xssh_phase_name(int phase)
{
    static const char *const names[] = {"none",    "resolve", "connect", "handshake", "hostkey",   "auth",
                                        "channel", "command", "transfer", "call",     "disconnect"};
    return phase >= 0 && phase <= XSSH_PHASE_DISCONNECT ? names[phase] : "none";
}

void xssh__phase(int phase)
{
    xssh_multi_op *op = tls_op;
    if (!op)
        return;
    int prev = op->phase;
    op->phase = phase;
    int64_t now = xssh__now_ms();
    switch (phase) {
    case XSSH_PHASE_RESOLVE:
        op->limit_ms = 0; /* (a ProxyJump hop's auth limit ends here) */
        break;
    case XSSH_PHASE_HANDSHAKE:
        break; /* within the connect limit armed by CONNECT */
    case XSSH_PHASE_CONNECT:
        if (prev != XSSH_PHASE_CONNECT)
            op->limit_ms = op->connect_to > 0 ? now + op->connect_to : 0;
        break;
    case XSSH_PHASE_HOSTKEY:
        op->limit_ms = op->auth_to > 0 ? now + op->auth_to : 0;
        break;
    case XSSH_PHASE_AUTH:
        if (prev != XSSH_PHASE_HOSTKEY)
            op->limit_ms = op->auth_to > 0 ? now + op->auth_to : 0;
        break;
    default:
        break; /* the command/transfer limit is set by the op itself */
    }
}

/* ---- small buffers ------------------------------------------------------------ */

static int obuf_add(obuf *b, const char *p, size_t n)
{
    return xssh__buf_append(&b->p, &b->n, &b->cap, p, n, 256);
}

static void obuf_free(obuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---- stacks ------------------------------------------------------------------- */

static size_t page_size(void)
{
    static size_t ps;
    if (!ps) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

static int stack_get(xssh_multi *m, xssh_multi_op *op)
{
    size_t ps = page_size();
    size_t usable = (m->stack_size + ps - 1) / ps * ps;
    size_t map_size = usable + ps; /* + the guard page below */
    if (m->npool && m->pool_map_size == map_size) {
        m->npool--;
        op->map = m->pool[m->npool];
        op->vg_id = m->pool_vg[m->npool];
    } else {
        void *p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                       -1, 0);
        if (p == MAP_FAILED)
            return -1;
        if (mprotect(p, ps, PROT_NONE) != 0) {
            munmap(p, map_size);
            return -1;
        }
        op->map = p;
        op->vg_id = VG_STACK_REGISTER((char *)p + ps, (char *)p + map_size);
    }
    op->map_size = map_size;
    op->stack_lo = op->map + ps;
    op->stack_size = map_size - ps;
    return 0;
}

static void stack_unmap(char *map, size_t size, unsigned vg_id)
{
    VG_STACK_DEREGISTER(vg_id);
    (void)vg_id;
    munmap(map, size);
}

static void stack_put(xssh_multi *m, xssh_multi_op *op)
{
    if (!op->map)
        return;
    if (!m->dying && m->pool_map_size != op->map_size) {
        while (m->npool) { /* a new size: the old stacks go */
            m->npool--;
            stack_unmap(m->pool[m->npool], m->pool_map_size, m->pool_vg[m->npool]);
        }
        m->pool_map_size = op->map_size;
    }
    if (!m->dying && m->npool < 64) {
        if (m->npool == m->pool_cap) {
            size_t cap = m->pool_cap ? m->pool_cap * 2 : 8;
            char **p = realloc(m->pool, cap * sizeof *p);
            unsigned *v = p ? realloc(m->pool_vg, cap * sizeof *v) : NULL;
            if (p)
                m->pool = p;
            if (v) {
                m->pool_vg = v;
                m->pool_cap = cap;
            }
        }
        if (m->npool < m->pool_cap) {
            m->pool[m->npool] = op->map;
            m->pool_vg[m->npool] = op->vg_id;
            m->npool++;
            op->map = NULL;
            return;
        }
    }
    stack_unmap(op->map, op->map_size, op->vg_id);
    op->map = NULL;
}

/* ---- key buckets (wake) ------------------------------------------------------- */

static size_t key_hash(const void *key) { return ((uintptr_t)key >> 4) % KEY_BUCKETS; }

static void bucket_add(xssh_multi *m, xssh_multi_op *op)
{
    size_t h = key_hash(op->w_key);
    op->kp = NULL;
    op->kn = m->kb[h];
    if (op->kn)
        op->kn->kp = op;
    m->kb[h] = op;
    op->in_bucket = 1;
    m->n_keyed++;
}

static void bucket_del(xssh_multi *m, xssh_multi_op *op)
{
    if (!op->in_bucket)
        return;
    if (op->kp)
        op->kp->kn = op->kn;
    else
        m->kb[key_hash(op->w_key)] = op->kn;
    if (op->kn)
        op->kn->kp = op->kp;
    op->kn = op->kp = NULL;
    op->in_bucket = 0;
    m->n_keyed--;
}

/* the ops of m waiting on key become ready; how many */
static int wake_in(xssh_multi *m, const void *key)
{
    int n = 0;
    for (xssh_multi_op *op = m->kb[key_hash(key)]; op; op = op->kn)
        if (op->waiting && op->w_key == key && !op->ready) {
            op->ready = 1;
            op->wake = 1;
            n++;
        }
    return n;
}

void xssh__wake(const void *key)
{
    if (!key)
        return;
    xssh_multi *cur = tls_multi;
    if (cur)
        wake_in(cur, key);
    treg *r = tls_reg;
    if (!r || !atomic_load_explicit(&r->head, memory_order_relaxed))
        return;
    pthread_mutex_lock(&reg_mu);
    for (xssh_multi *m = atomic_load_explicit(&r->head, memory_order_relaxed); m; m = m->reg_next) {
        if (m == cur || !m->n_keyed || m->dying)
            continue;
        /* a multi whose drive is under way on this thread (this code runs from
           one of its callbacks) resumes the op in that drive's next pass */
        if (wake_in(m, key) && !m->busy) {
            if (m->tcb) {
                m->kick_pending = 1;
                tls_kick_pending = 1;
            } else if (m->kick_fd >= 0) {
                uint64_t one = 1;
                ssize_t w = write(m->kick_fd, &one, sizeof one);
                (void)w; /* (EAGAIN: the counter is full, i.e. readable already) */
            }
        }
    }
    pthread_mutex_unlock(&reg_mu);
}

static void kick(xssh_multi *m);

void xssh__kicks_deliver(void)
{
    if (!tls_kick_pending || tls_drive_depth || tls_op || xssh__tls_plain_locks || xssh__tls_kicks_held)
        return;
    tls_kick_pending = 0;
    treg *r = tls_reg;
    if (!r)
        return;
    /* one at a time, outside reg_mu: a timer callback may drive or free multis */
    for (;;) {
        xssh_multi *pick = NULL;
        pthread_mutex_lock(&reg_mu);
        for (xssh_multi *m = atomic_load_explicit(&r->head, memory_order_relaxed); m; m = m->reg_next)
            if (m->kick_pending) {
                m->kick_pending = 0;
                if (multi_try_ref(m)) {
                    pick = m;
                    break;
                }
            }
        pthread_mutex_unlock(&reg_mu);
        if (!pick)
            break;
        kick(pick);
        xssh_multi_unref(pick);
    }
}

/* ---- the pull form's wake-up descriptor ------------------------------------------ */

/* no eventfd could be made: xssh_multi_fds caps its timeout at this (ms), so a
   wake-up is seen that late instead of never */
#define KICK_FALLBACK_MS 100

/* m's kick_fd exists (made now if need be); 0, or -1 when none could be made */
static int kickfd_open(xssh_multi *m)
{
    if (m->kick_fd >= 0)
        return 0;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        if (!m->kick_warned)
            xssh__log(XSSH_LOG_WARNING, NULL,
                      "xssh_multi_fds: cannot make the multi's wake-up descriptor (eventfd: %s); "
                      "its timeout is capped at %d ms instead",
                      strerror(errno), KICK_FALLBACK_MS);
        m->kick_warned = 1;
        return -1;
    }
    pthread_mutex_lock(&reg_mu);
    m->kick_fd = fd;
    pthread_mutex_unlock(&reg_mu);
    return 0;
}

/* every drive call: the wake-ups written so far are served by this drive */
static void kickfd_drain(xssh_multi *m)
{
    if (m->kick_fd >= 0) {
        uint64_t v;
        ssize_t r = read(m->kick_fd, &v, sizeof v);
        (void)r;
    }
}

/* no op runs any more (or m is freed): closed (made again by the next
   xssh_multi_fds that lists an op); the loop forgets it as it forgets a socket
   the ops no longer wait for */
static void kickfd_close(xssh_multi *m)
{
    if (m->kick_fd < 0)
        return;
    pthread_mutex_lock(&reg_mu); /* (xssh__wake reads it under reg_mu: never a closed fd) */
    int fd = m->kick_fd;
    m->kick_fd = -1;
    pthread_mutex_unlock(&reg_mu);
    close(fd);
}

void *xssh__fiber_self(void) { return tls_op; }

static _Thread_local char tls_tag_byte;
uintptr_t xssh__thread_tag(void) { return (uintptr_t)&tls_tag_byte; }

int xssh__fiber_cancelled(void) { return tls_op && tls_op->cancelled; }

/* What interrupts a wait of op (flags: its XSSH__WAIT_* flags) now: XSSH_ECANCELLED,
   XSSH_ETIMEOUT or 0. Interrupting is one-shot: the first interrupted wait
   starts the grace (the interrupted call's cleanup: removing a temporary file,
   closing a handle, finishing an SFTP request), whose waits are not interrupted
   until grace_end; after it every wait is (a dead peer still ends promptly).
   Lock waits are never interrupted (the holder must get to run); a wait that
   must complete (XSSH__WAIT_NOCANCEL) is not interrupted before the grace ends.
   A multi being freed interrupts every wait at once. Delivers (marks intr_sent)
   when it returns nonzero: call it only where the answer reaches the wait. */
static int op_interrupt(xssh_multi_op *op, int64_t now, int flags)
{
    if (flags & XSSH__WAIT_LOCK)
        return 0;
    int why = op->cancelled ? XSSH_ECANCELLED : (op->limit_ms && now >= op->limit_ms) ? XSSH_ETIMEOUT : 0;
    if (!why)
        return 0;
    if (op->m && op->m->dying)
        return XSSH_ECANCELLED;
    if (!op->intr_sent) {
        if (flags & XSSH__WAIT_NOCANCEL)
            return 0;
        op->intr_sent = 1;
        op->grace_end = now + XSSH__CANCEL_GRACE_MS;
        return why;
    }
    return now >= op->grace_end ? why : 0;
}

int xssh__fiber_interrupt(void)
{
    return tls_op ? op_interrupt(tls_op, xssh__now_ms(), 0) : 0;
}

/* when op_interrupt may next answer nonzero for a wait with flags (0: not by itself) */
static int64_t interrupt_deadline(const xssh_multi_op *op, int flags)
{
    if (flags & XSSH__WAIT_LOCK)
        return 0;
    if (op->intr_sent && (op->cancelled || op->limit_ms))
        return op->grace_end;
    return op->limit_ms;
}

void xssh__fd_closing(int fd)
{
    xssh_multi *m = tls_multi;
    if (m && fd >= 0 && fd < m->nfds && m->fds[fd].reported)
        m->fds[fd].closed = 1;
}

/* ---- switching ---------------------------------------------------------------- */

/* fiber -> scheduler (final: the fiber is over and never resumed) */
static void to_sched(xssh_multi_op *op, int final)
{
    xssh_multi *m = op->m;
#ifdef XSSH__ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &op->asan_fake, m->sched_lo, m->sched_size);
#endif
#ifdef XSSH__TSAN
    __tsan_switch_to_fiber(m->tsan_sched, 0);
#endif
    (void)final;
    xswap(&op->ctx, &m->sched);
#ifdef XSSH__ASAN
    __sanitizer_finish_switch_fiber(op->asan_fake, &m->sched_lo, &m->sched_size);
#endif
}

static int run_op(xssh_multi_op *op);

static void fiber_main(void)
{
    xssh_multi_op *op = tls_op;
#ifdef XSSH__ASAN
    __sanitizer_finish_switch_fiber(NULL, &op->m->sched_lo, &op->m->sched_size);
#endif
    if (op->cancelled) /* cancelled (or the multi freed) before its first step */
        op->fn_rc = xssh__fail(NULL, XSSH_ECANCELLED, 0, "cancelled before it started");
    else
        op->fn_rc = run_op(op);
    op->finished = 1;
    to_sched(op, 1);
    abort(); /* never resumed */
}

/* scheduler -> fiber, until it waits or ends */
static void resume(xssh_multi *m, xssh_multi_op *op)
{
    op->ready = 0;
    op->slice_start = xssh__now_ms();
    op->slice_work = 0;
    xssh_multi_op *prev_op = tls_op;
    tls_op = op;
    int nb = xssh__tls_nonblocking, sfb = xssh__tls_sftp_force_blocking;
    void *ak = xssh__tls_auth_kbd, *ck = xssh__tls_connect_kbd;
    xssh__tls_nonblocking = op->l_nonblocking;
    xssh__tls_sftp_force_blocking = op->l_sftp_fb;
    xssh__tls_auth_kbd = op->l_auth_kbd;
    xssh__tls_connect_kbd = op->l_connect_kbd;
    xssh__errstate *prev_err = xssh__errstate_swap(&op->errs);
    int saved_errno = errno;
#ifdef XSSH__TSAN
    m->tsan_sched = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(op->tsan_fiber, 0);
#endif
#ifdef XSSH__ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, op->stack_lo, op->stack_size);
#endif
    xswap(&m->sched, &op->ctx);
#ifdef XSSH__ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    errno = saved_errno;
    xssh__errstate_swap(prev_err);
    op->l_nonblocking = xssh__tls_nonblocking;
    op->l_sftp_fb = xssh__tls_sftp_force_blocking;
    op->l_auth_kbd = xssh__tls_auth_kbd;
    op->l_connect_kbd = xssh__tls_connect_kbd;
    xssh__tls_nonblocking = nb;
    xssh__tls_sftp_force_blocking = sfb;
    xssh__tls_auth_kbd = ak;
    xssh__tls_connect_kbd = ck;
    tls_op = prev_op;
}

/* ---- the wait ----------------------------------------------------------------- */

static int thread_wait(int fd, int events, int wake_fd, int64_t deadline)
{
    struct pollfd p[2];
    nfds_t n = 0;
    if (fd >= 0)
        p[n++] = (struct pollfd){fd, (short)(((events & XSSH__WAIT_IN) ? POLLIN : 0) |
                                             ((events & XSSH__WAIT_OUT) ? POLLOUT : 0)), 0};
    if (wake_fd >= 0)
        p[n++] = (struct pollfd){wake_fd, POLLIN, 0};
    for (;;) {
        int timeout = -1;
        if (deadline) {
            int64_t left = deadline - xssh__now_ms();
            if (left <= 0)
                return 0;
            timeout = left > 0x7fffffff ? 0x7fffffff : (int)left;
        }
        if (n == 0 && timeout < 0)
            return 1; /* nothing to wait for */
        int r = poll(n ? p : NULL, n, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return 0;
        if (r > 0 && wake_fd >= 0 && (p[n - 1].revents & POLLIN)) {
            char c;
            ssize_t rr = read(wake_fd, &c, 1);
            (void)rr;
        }
        return 1;
    }
}

int xssh__wait(int fd, int events, int wake_fd, const void *key, int64_t deadline, int flags)
{
    xssh_multi_op *op = tls_op;
    if (!op)
        return thread_wait(fd, events, wake_fd, deadline);
    xssh_multi *m = op->m;
    int64_t now = xssh__now_ms();
    int why = op_interrupt(op, now, flags);
    if (why)
        return why;
    if (deadline && now >= deadline)
        return 0;
    op->w_fd = fd;
    op->w_events = events & (XSSH__WAIT_IN | XSSH__WAIT_OUT);
    op->w_flags = flags;
    op->w_key = key;
    op->w_deadline = deadline;
    op->wake = 1;
    op->waiting = 1;
    if (key)
        bucket_add(m, op);
    to_sched(op, 0);
    op->waiting = 0;
    bucket_del(m, op);
    return op->wake;
}

/* Let the scheduler run (and deliver this op's pending output) before going
   on: resumed in the scheduler's next pass. */
static void op_yield(xssh_multi_op *op)
{
    op->w_fd = -1;
    op->w_events = 0;
    op->w_flags = XSSH__WAIT_LOCK;
    op->w_key = NULL;
    op->w_deadline = 0;
    op->waiting = 1;
    op->ready = 1;
    op->wake = 1;
    to_sched(op, 0);
    op->waiting = 0;
}

/* ---- fairness ----------------------------------------------------------------- */

int xssh__fiber_slice_over(uint64_t work)
{
    xssh_multi_op *op = tls_op;
    if (!op || op->m->dying)
        return 0;
    op->slice_work += work;
    return op->slice_work >= XSSH__SLICE_WORK || xssh__now_ms() - op->slice_start >= XSSH__SLICE_MS;
}

void xssh__fiber_yield(void)
{
    xssh_multi_op *op = tls_op;
    if (!op)
        return;
    op->fair_gen = op->m->drive_gen; /* ready, but not resumed again in this drive */
    op_yield(op);
}

/* ---- fiber-aware plain mutexes ------------------------------------------------ */

void xssh__mutex_lock(pthread_mutex_t *mu)
{
    if (!tls_op) {
        pthread_mutex_lock(mu);
        return;
    }
    /* held by another operation of this thread (woken by xssh__mutex_unlock), or
       by another thread (looked at again every 20 ms) */
    while (pthread_mutex_trylock(mu) != 0)
        xssh__sleep_until(mu, xssh__now_ms() + 20, XSSH__WAIT_LOCK);
}

void xssh__mutex_unlock(pthread_mutex_t *mu)
{
    pthread_mutex_unlock(mu);
    xssh__wake(mu);
}

/* ---- name resolution off the multi's thread ------------------------------------ */

typedef struct gai_req {
    atomic_int refs;
    char *host, *service;
    struct addrinfo hints;
    struct addrinfo *res;
    int rc;
    int efd;
} gai_req;

static void gai_release(gai_req *q)
{
    if (atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    if (q->res)
        freeaddrinfo(q->res);
    if (q->efd >= 0)
        close(q->efd);
    free(q->host);
    free(q->service);
    free(q);
}

static void *gai_thread(void *arg)
{
    gai_req *q = arg;
    q->rc = getaddrinfo(q->host, q->service, &q->hints, &q->res);
    uint64_t one = 1;
    ssize_t w = write(q->efd, &one, sizeof one);
    (void)w;
    gai_release(q);
    return NULL;
}

int xssh__getaddrinfo(const char *host, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    if (!tls_op)
        return getaddrinfo(host, service, hints, res);
    /* a numeric address needs no lookup */
    struct addrinfo h = *hints;
    h.ai_flags |= AI_NUMERICHOST;
    int rc = getaddrinfo(host, service, &h, res);
    if (rc != EAI_NONAME)
        return rc;
    gai_req *q = calloc(1, sizeof *q);
    if (!q)
        return EAI_MEMORY;
    atomic_init(&q->refs, 2);
    q->host = xssh__strdup(host);
    q->service = xssh__strdup(service);
    q->hints = *hints;
    q->hints.ai_next = NULL;
    q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if ((host && !q->host) || (service && !q->service) || q->efd < 0 || pthread_create(&t, &a, gai_thread, q) != 0) {
        pthread_attr_destroy(&a);
        atomic_store(&q->refs, 1);
        gai_release(q);
        return EAI_MEMORY;
    }
    pthread_attr_destroy(&a);
    int efd = q->efd;
    for (;;) {
        uint64_t v;
        if (read(efd, &v, sizeof v) == (ssize_t)sizeof v)
            break;
        int w = xssh__wait_fd(efd, XSSH__WAIT_IN, 0);
        if (w == XSSH_ECANCELLED || w == XSSH_ETIMEOUT) {
            /* the thread finishes alone and frees the request; the eventfd is
               closed by whoever is last (never reported to a loop again) */
            xssh__fd_closing(efd);
            gai_release(q);
            return w == XSSH_ECANCELLED ? EAI_CANCELED : EAI_AGAIN;
        }
    }
    xssh__fd_closing(efd);
    rc = q->rc;
    *res = q->res;
    q->res = NULL;
    gai_release(q);
    return rc;
}

/* ---- lists -------------------------------------------------------------------- */

static void q_push(xssh_multi *m, xssh_multi_op *op)
{
    op->next = NULL;
    op->prev = m->q_tail;
    if (m->q_tail)
        m->q_tail->next = op;
    else
        m->q_head = op;
    m->q_tail = op;
}

static void q_del(xssh_multi *m, xssh_multi_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        m->q_head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        m->q_tail = op->prev;
    op->next = op->prev = NULL;
}

static void r_push(xssh_multi *m, xssh_multi_op *op)
{
    op->prev = NULL;
    op->next = m->r_head;
    if (m->r_head)
        m->r_head->prev = op;
    m->r_head = op;
}

static void r_del(xssh_multi *m, xssh_multi_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        m->r_head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->next = op->prev = NULL;
}

/* ---- the multi ------------------------------------------------------------------- */

int xssh_multi_new(xssh_multi **out)
{
    if (!out)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_multi_new: invalid argument: out is NULL");
    *out = NULL;
    if (xssh__global_init() != XSSH_OK)
        return xssh__fail(NULL, XSSH_EALLOC, 0, "libssh2_init failed");
    xssh_multi *m = calloc(1, sizeof *m);
    if (!m)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory allocating a multi");
    xssh__ref_init(&m->refs);
    m->max_running = DEFAULT_MAX_RUNNING;
#if defined(XSSH__ASAN) || defined(XSSH__TSAN)
    m->stack_size = 4 * DEFAULT_STACK; /* instrumented frames are several times larger */
#else
    m->stack_size = DEFAULT_STACK;
#endif
    m->last_deadline = -2;
    m->kick_fd = -1;
    *out = m;
    return xssh__ok();
}

xssh_multi *xssh_multi_ref(xssh_multi *m)
{
    if (m)
        xssh__ref_inc(&m->refs);
    return m;
}

static void op_free(xssh_multi_op *op);
static void multi_free(xssh_multi *m);

void xssh_multi_unref(xssh_multi *m)
{
    if (!m || !xssh__ref_dec(&m->refs))
        return;
    multi_free(m);
}

int xssh_multi_set_max_running(xssh_multi *m, int max)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    XSSH__ARG(NULL, max >= 0, "max must be >= 0 (0: no limit)");
    m->max_running = max;
    return xssh__ok();
}

int xssh_multi_set_stack_size(xssh_multi *m, size_t bytes)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    XSSH__ARG(NULL, bytes >= MIN_STACK, "stack size must be at least 64 KiB");
    XSSH__ARG(NULL, bytes <= (size_t)1 << 30, "stack size must be at most 1 GiB");
    m->stack_size = bytes;
    return xssh__ok();
}

int xssh_multi_set_socket_cb(xssh_multi *m, xssh_multi_socket_cb cb, void *ud)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    m->scb = cb;
    m->sud = ud;
    return xssh__ok();
}

int xssh_multi_set_timer_cb(xssh_multi *m, xssh_multi_timer_cb cb, void *ud)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    m->tcb = cb;
    m->tud = ud;
    m->last_deadline = -2;
    return xssh__ok();
}

/* an external loop must come back soon (new op, cancel): timer 0 */
static void kick(xssh_multi *m)
{
    if (m->busy || !m->tcb || m->dying || m->last_deadline == 0)
        return; /* (0: the loop was told "soon" and has not called back yet) */
    m->last_deadline = 0;
    m->tcb(m, 0, m->tud);
}

/* ---- adding ----------------------------------------------------------------------- */

/* "[user@]host[:port]" or "[user@][addr]:port" -> spec "[user@]host" and port
   (xssh_host_parse: one reader for every caller); a malformed string fails with
   XSSH_EARG and a message naming it */
/* Check a host string at add time (xssh_host_parse); the resolution reads it again
   (xssh__resolve, as xssh_connect does) when the op starts. */
static int parse_host(const char *h)
{
    char *name = NULL;
    int rc = xssh_host_parse(h ? h : "", NULL, &name, NULL);
    free(name);
    return rc;
}

static xssh_multi_op *op_alloc(xssh_multi *m, int kind, const xssh_multi_op_opts *opts)
{
    xssh_multi_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    xssh__ref_init(&op->refs);
    op->m = m;
    op->kind = kind;
    op->state = XSSH_OP_QUEUED;
    op->w_fd = -1;
    if (opts) {
        op->opts = *opts;
        if (opts->transfer) {
            op->topts = *opts->transfer;
            op->have_topts = 1;
            op->opts.transfer = &op->topts;
        }
        op->opts.caller = NULL;
        if (opts->caller && *opts->caller) { /* copied: the caller's string need not outlive the add */
            op->caller = xssh__strdup(opts->caller);
            if (!op->caller) {
                free(op);
                return NULL;
            }
            op->opts.caller = op->caller;
        }
    }
    return op;
}

static void op_free(xssh_multi_op *op)
{
    free(op->host_arg);
    free(op->host_err);
    xssh_options_unref(op->options);
    free(op->command);
    free(op->src);
    free(op->dst);
    xssh_sftp_unref(op->sftp);
    xssh_session_unref(op->session);
    free(op->stdin_copy);
    free(op->caller);
    free(op->msg);
    obuf_free(&op->out);
    obuf_free(&op->err);
    free(op->exit_signal);
    xssh_session_unref(op->out_session);
    xssh_channel_unref(op->out_channel);
    for (int i = 0; i < 2; i++) {
        obuf_free(&op->pend[i]);
        obuf_free(&op->line[i]);
    }
    cpull_op_free(op);
    xssh__fwd_free(op->fwd);
    free(op);
}

xssh_multi_op *xssh_multi_op_ref(xssh_multi_op *op)
{
    if (op)
        xssh__ref_inc(&op->refs);
    return op;
}

void xssh_multi_op_unref(xssh_multi_op *op)
{
    if (!op || !xssh__ref_dec(&op->refs))
        return;
    op_free(op);
}

/* common tail of the add functions: strings copied, op queued */
static int add_op(xssh_multi *m, xssh_multi_op *op, xssh_multi_op **out)
{
    if (op->opts.stdin_data && op->opts.stdin_len) {
        op->stdin_copy = xssh__memdup(op->opts.stdin_data, op->opts.stdin_len);
        if (!op->stdin_copy) {
            op_free(op);
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
        }
        op->opts.stdin_data = op->stdin_copy;
    }
    q_push(m, op);
    m->n_ops++;
    if (out)
        *out = xssh_multi_op_ref(op);
    kick(m);
    return xssh__ok();
}

/* XSSH__ARG naming the public function fn (the helpers below are not it) */
#define FN_ARG(fname, cond, what)                                                        \
    do {                                                                                 \
        if (!(cond))                                                                     \
            return xssh__fail(NULL, XSSH_EARG, 0, "%s: invalid argument: %s", (fname), (what)); \
    } while (0)

static int host_op(const char *fn, xssh_multi *m, int kind, const char *host, xssh_options *options,
                   const xssh_multi_op_opts *opts, xssh_multi_op **opp)
{
    *opp = NULL;
    FN_ARG(fn, m, "multi is NULL");
    if (m->dying)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "%s: the multi is being freed", fn);
    if (!host)
        return xssh__fail(NULL, XSSH_EARG, 0, "%s: invalid argument: host is NULL", fn);
    char *host_err = NULL;
    int rc = parse_host(host);
    if (rc == XSSH_EARG) {
        /* a malformed host string is this op's failure, not the caller's: the op
           is added and completes with XSSH_EARG in phase resolve */
        host_err = xssh__strdup(xssh_error_last()->message);
        if (!host_err)
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    } else if (rc)
        return rc;
    xssh_multi_op *op = op_alloc(m, kind, opts);
    if (!op) {
        free(host_err);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    }
    op->host_err = host_err;
    op->host_arg = xssh__strdup(host);
    if (options && xssh_options_dup(options, &op->options) != XSSH_OK) {
        op_free(op);
        return xssh_error_last()->code ? xssh_error_last()->code : XSSH_ENOMEM;
    }
    if (!op->host_arg) {
        op_free(op);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    }
    op->res.host = op->host_arg;
    *opp = op;
    return XSSH_OK;
}

static int session_op(const char *fn, xssh_multi *m, int kind, xssh_session *s, const xssh_multi_op_opts *opts,
                      xssh_multi_op **opp)
{
    *opp = NULL;
    FN_ARG(fn, m, "multi is NULL");
    FN_ARG(fn, s, "session is NULL");
    if (m->dying)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "%s: the multi is being freed", fn);
    if (atomic_load(&s->state) == XSSH__STATE_CLOSED)
        return xssh__fail(s, XSSH_ECLOSED, 0, "%s: the session is closed", fn);
    xssh_multi_op *op = op_alloc(m, kind, opts);
    if (!op)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    op->session = xssh_session_ref(s);
    *opp = op;
    return XSSH_OK;
}

#define DUP_OR_FAIL(field, value)                                              \
    do {                                                                       \
        if (!((op->field) = xssh__strdup(value))) {                            \
            op_free(op);                                                       \
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");          \
        }                                                                      \
    } while (0)

static int add_connect(xssh_multi *m, const char *host, xssh_options *options, const xssh_multi_op_opts *opts,
                       xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    xssh_multi_op *op;
    int rc = host_op("xssh_multi_add_connect", m, K_CONNECT, host, options, opts, &op);
    if (rc)
        return rc;
    return add_op(m, op, out);
}

int xssh_multi_add_connect(xssh_multi *m, const char *host, xssh_options *options, const xssh_multi_op_opts *opts,
                           xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_connect(m, host, options, opts, out));
}

static int add_host_run(xssh_multi *m, const char *host, xssh_options *options, const char *command,
                        const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    FN_ARG("xssh_multi_add_host_run", command, "command is NULL");
    int rc = pull_check("xssh_multi_add_host_run", opts);
    if (rc)
        return rc;
    xssh_multi_op *op;
    rc = host_op("xssh_multi_add_host_run", m, K_HOST_RUN, host, options, opts, &op);
    if (rc)
        return rc;
    op->pull = op->opts.pull_output != 0;
    DUP_OR_FAIL(command, command);
    return add_op(m, op, out);
}

int xssh_multi_add_host_run(xssh_multi *m, const char *host, xssh_options *options, const char *command,
                            const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_host_run(m, host, options, command, opts, out));
}

static int add_run(xssh_multi *m, xssh_session *session, const char *command, const xssh_multi_op_opts *opts,
                   xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    FN_ARG("xssh_multi_add_run", command, "command is NULL");
    int rc = pull_check("xssh_multi_add_run", opts);
    if (rc)
        return rc;
    xssh_multi_op *op;
    rc = session_op("xssh_multi_add_run", m, K_RUN, session, opts, &op);
    if (rc)
        return rc;
    op->pull = op->opts.pull_output != 0;
    DUP_OR_FAIL(command, command);
    return add_op(m, op, out);
}

int xssh_multi_add_run(xssh_multi *m, xssh_session *session, const char *command, const xssh_multi_op_opts *opts,
                       xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_run(m, session, command, opts, out));
}

static int host_xfer(const char *fn, xssh_multi *m, int kind, const char *host, xssh_options *options,
                     const char *src, const char *dst, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    FN_ARG(fn, src && *src, "source path is NULL or empty");
    FN_ARG(fn, dst && *dst, "destination path is NULL or empty");
    xssh_multi_op *op;
    int rc = host_op(fn, m, kind, host, options, opts, &op);
    if (rc)
        return rc;
    if (!op->have_topts) {
        /* no transfer options: atomic, so a failed, timed-out or cancelled transfer
           leaves nothing under the final name */
        memset(&op->topts, 0, sizeof op->topts);
        op->topts.atomic = 1;
        op->have_topts = 1;
        op->opts.transfer = &op->topts;
    }
    DUP_OR_FAIL(src, src);
    DUP_OR_FAIL(dst, dst);
    return add_op(m, op, out);
}

static int add_host_put(xssh_multi *m, const char *host, xssh_options *options, const char *local,
                        const char *remote, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    return host_xfer("xssh_multi_add_host_put", m, K_HOST_PUT, host, options, local, remote, opts, out);
}

int xssh_multi_add_host_put(xssh_multi *m, const char *host, xssh_options *options, const char *local,
                            const char *remote, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_host_put(m, host, options, local, remote, opts, out));
}

static int add_host_get(xssh_multi *m, const char *host, xssh_options *options, const char *remote,
                        const char *local, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    return host_xfer("xssh_multi_add_host_get", m, K_HOST_GET, host, options, remote, local, opts, out);
}

int xssh_multi_add_host_get(xssh_multi *m, const char *host, xssh_options *options, const char *remote,
                            const char *local, const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_host_get(m, host, options, remote, local, opts, out));
}

static int sftp_xfer(const char *fn, xssh_multi *m, int kind, xssh_sftp *sftp, const char *src, const char *dst,
                     const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    FN_ARG(fn, sftp, "sftp is NULL");
    FN_ARG(fn, src && *src, "source path is NULL or empty");
    FN_ARG(fn, dst && *dst, "destination path is NULL or empty");
    xssh_session *s = NULL;
    int rc = xssh_sftp_session(sftp, &s);
    if (rc)
        return rc;
    xssh_multi_op *op;
    rc = session_op(fn, m, kind, s, opts, &op);
    xssh_session_unref(s);
    if (rc)
        return rc;
    op->sftp = xssh_sftp_ref(sftp);
    DUP_OR_FAIL(src, src);
    DUP_OR_FAIL(dst, dst);
    return add_op(m, op, out);
}

static int add_sftp_get(xssh_multi *m, xssh_sftp *sftp, const char *remote, const char *local,
                        const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    return sftp_xfer("xssh_multi_add_sftp_get", m, K_SFTP_GET, sftp, remote, local, opts, out);
}

int xssh_multi_add_sftp_get(xssh_multi *m, xssh_sftp *sftp, const char *remote, const char *local,
                            const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_sftp_get(m, sftp, remote, local, opts, out));
}

static int add_sftp_put(xssh_multi *m, xssh_sftp *sftp, const char *local, const char *remote,
                        const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    return sftp_xfer("xssh_multi_add_sftp_put", m, K_SFTP_PUT, sftp, local, remote, opts, out);
}

int xssh_multi_add_sftp_put(xssh_multi *m, xssh_sftp *sftp, const char *local, const char *remote,
                            const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_sftp_put(m, sftp, local, remote, opts, out));
}

static int add_channel_open(xssh_multi *m, xssh_session *session, const xssh_multi_op_opts *opts,
                            xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    xssh_multi_op *op;
    int rc = session_op("xssh_multi_add_channel_open", m, K_CHANNEL, session, opts, &op);
    if (rc)
        return rc;
    return add_op(m, op, out);
}

int xssh_multi_add_channel_open(xssh_multi *m, xssh_session *session, const xssh_multi_op_opts *opts,
                                xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_channel_open(m, session, opts, out));
}

static int add_call(xssh_multi *m, xssh_session *session, xssh_multi_fn fn, void *userdata,
                    const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    FN_ARG("xssh_multi_add_call", m, "multi is NULL");
    FN_ARG("xssh_multi_add_call", fn, "fn is NULL");
    xssh_multi_op *op;
    if (session) {
        int rc = session_op("xssh_multi_add_call", m, K_CALL, session, opts, &op);
        if (rc)
            return rc;
    } else {
        if (m->dying)
            return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_add_call: the multi is being freed");
        op = op_alloc(m, K_CALL, opts);
        if (!op)
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    }
    op->fn = fn;
    op->fn_ud = userdata;
    return add_op(m, op, out);
}

int xssh_multi_add_call(xssh_multi *m, xssh_session *session, xssh_multi_fn fn, void *userdata,
                        const xssh_multi_op_opts *opts, xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_call(m, session, fn, userdata, opts, out));
}

/* ---- what an operation runs (on its own stack) ------------------------------------ */

static int out_cb(int stream, const char *data, size_t len, void *ud)
{
    xssh_multi_op *op = ud;
    int st = stream == XSSH_STREAM_STDERR ? 1 : 0;
    if (op->pull)
        return pull_add(op, st, data, len);
    if (op->opts.on_output) {
        if (obuf_add(&op->pend[st], data, len) != 0)
            return 1;
        /* a command that writes faster than it is read never waits: hand what
           came so far to the callback (on the scheduler's stack) every 64 KiB */
        if (op->pend[0].n + op->pend[1].n >= 65536)
            op_yield(op);
    } else {
        size_t max = op->opts.max_output ? op->opts.max_output : DEFAULT_MAX_OUTPUT;
        obuf *b = st ? &op->err : &op->out;
        int *trunc = st ? &op->res.err_truncated : &op->res.out_truncated;
        size_t room = b->n < max ? max - b->n : 0;
        if (len > room)
            *trunc = 1;
        if (room && obuf_add(b, data, len < room ? len : room) != 0)
            return 1;
    }
    return op->cancelled ? 1 : 0;
}

static int do_connect(xssh_multi_op *op, xssh_session **out)
{
    *out = NULL;
    xssh__phase(XSSH_PHASE_RESOLVE);
    if (op->host_err)
        return xssh__fail(NULL, XSSH_EARG, 0, "%s", op->host_err);
    xssh__resolved *r = NULL;
    int rc = xssh__resolve(op->options, op->host_arg, &r);
    if (rc)
        return rc;
    if (op->opts.connect_timeout_ms > 0)
        op->connect_to = op->opts.connect_timeout_ms;
    else if (r->connect_timeout_s <= 0)
        op->connect_to = r->timeout_ms > 0 ? r->timeout_ms : XSSH__DEFAULT_TIMEOUT_MS;
    op->auth_to = op->opts.auth_timeout_ms > 0 ? op->opts.auth_timeout_ms : 0;
    rc = xssh__connect_resolved(r, op->options, out);
    xssh__resolved_free(r);
    op->limit_ms = 0;
    return rc;
}

static void do_disconnect(xssh_multi_op *op, xssh_session *s)
{
    if (!s)
        return;
    if (!op->cancelled) {
        int phase = op->phase; /* a failure is reported where it happened */
        xssh__phase(XSSH_PHASE_DISCONNECT);
        xssh__saved_err e;
        xssh__err_save(&e);
        xssh_session_disconnect(s); /* its failure does not change the op's outcome */
        xssh__err_restore(NULL, &e);
        op->phase = phase;
    }
    xssh_session_unref(s);
}

static int do_run(xssh_multi_op *op, xssh_session *s)
{
    xssh_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.stdin_data = op->opts.stdin_data;
    ro.stdin_len = op->opts.stdin_len;
    ro.timeout_ms = op->opts.timeout_ms > 0 ? op->opts.timeout_ms : 0;
    ro.idle_timeout_ms = op->opts.idle_timeout_ms > 0 ? op->opts.idle_timeout_ms : 0;
    ro.merge_stderr = op->opts.merge_stderr;
    ro.pty = op->opts.pty;
    op->limit_ms = 0;
    op->pull_deadline = ro.timeout_ms > 0 ? xssh__now_ms() + ro.timeout_ms : 0;
    int st = 0, have = 0;
    char *sig = NULL;
    int rc = xssh_session_run_stream(s, op->command, &ro, out_cb, op, &st, &have, &sig);
    if (rc && op->pull_timed_out && !op->cancelled)
        rc = xssh__fail(s, XSSH_ETIMEOUT, 0,
                        "run: timed out after %ld ms while its output was not taken (pull_output: "
                        "xssh_multi_op_take_output)", op->opts.timeout_ms);
    else if (rc && op->pull_nomem && !op->cancelled)
        rc = xssh__fail(s, XSSH_ENOMEM, 0, "run: out of memory keeping the output (pull_output)");
    op->res.exit_status = st;
    op->res.have_exit_status = have;
    op->exit_signal = sig;
    return rc;
}

/* xssh_sftp_get_tree/put_tree come with the directory-tree work; until this
   library has them, recursive transfers say so */
extern __typeof__(xssh_sftp_get_tree) xssh_sftp_get_tree __attribute__((weak));
extern __typeof__(xssh_sftp_put_tree) xssh_sftp_put_tree __attribute__((weak));

static int do_transfer(xssh_multi_op *op, xssh_sftp *sf, int get)
{
    xssh__phase(XSSH_PHASE_TRANSFER);
    op->limit_ms = op->opts.timeout_ms > 0 ? xssh__now_ms() + op->opts.timeout_ms : 0;
    uint64_t n = 0;
    int rc;
    if (op->opts.recursive) {
        xssh_tree_opts to;
        memset(&to, 0, sizeof to);
        to.file = op->have_topts ? &op->topts : NULL;
        xssh_tree_stats stats;
        memset(&stats, 0, sizeof stats);
        if (get ? !xssh_sftp_get_tree : !xssh_sftp_put_tree)
            return xssh__fail(NULL, XSSH_EBAD_USE, 0,
                              "recursive %s: this build of xssh has no directory-tree transfers (xssh_sftp_%s_tree)",
                              get ? "get" : "put", get ? "get" : "put");
        rc = get ? xssh_sftp_get_tree(sf, op->src, op->dst, &to, &stats)
                 : xssh_sftp_put_tree(sf, op->src, op->dst, &to, &stats);
        n = stats.bytes;
    } else {
        rc = get ? xssh_sftp_get(sf, op->src, op->dst, op->have_topts ? &op->topts : NULL, &n)
                 : xssh_sftp_put(sf, op->src, op->dst, op->have_topts ? &op->topts : NULL, &n);
    }
    op->res.bytes = n;
    op->limit_ms = 0;
    return rc;
}

static int run_task(xssh_multi_op *op);

static int run_op(xssh_multi_op *op)
{
    xssh_session *s = NULL;
    int rc = XSSH_OK;
    switch (op->kind) {
    case K_CONNECT:
        rc = do_connect(op, &s);
        op->out_session = s;
        break;
    case K_HOST_RUN:
        rc = do_connect(op, &s);
        if (!rc)
            rc = do_run(op, s);
        do_disconnect(op, s);
        break;
    case K_RUN:
        rc = do_run(op, op->session);
        break;
    case K_HOST_PUT:
    case K_HOST_GET:
        rc = do_connect(op, &s);
        if (!rc) {
            xssh__phase(XSSH_PHASE_CHANNEL);
            xssh_sftp *sf = NULL;
            rc = xssh_sftp_new(&sf, s);
            if (!rc)
                rc = do_transfer(op, sf, op->kind == K_HOST_GET);
            xssh_sftp_unref(sf);
        }
        do_disconnect(op, s);
        break;
    case K_SFTP_GET:
    case K_SFTP_PUT:
        rc = do_transfer(op, op->sftp, op->kind == K_SFTP_GET);
        break;
    case K_CHANNEL:
        xssh__phase(XSSH_PHASE_CHANNEL);
        rc = xssh_channel_open_session(&op->out_channel, op->session);
        break;
    case K_CALL:
        xssh__phase(XSSH_PHASE_CALL);
        rc = op->fn(op, op->fn_ud);
        break;
    case K_SFTP_LISTDIR:
        rc = do_listdir(op);
        break;
    case K_SFTP_OPEN:
        rc = do_sftp_open(op);
        break;
    case K_FORWARD:
        rc = xssh__fwd_run(op->fwd);
        break;
    case K_TASK:
        rc = run_task(op);
        break;
    }
    return rc;
}

/* ---- the scheduler ------------------------------------------------------------------ */

static int op_start(xssh_multi *m, xssh_multi_op *op)
{
    if (stack_get(m, op) != 0)
        return -1;
#ifdef XSSH__ASAN
    __asan_unpoison_memory_region(op->stack_lo, op->stack_size); /* a pooled stack's old frames */
#endif
    getcontext(&op->ctx);
    op->ctx.uc_stack.ss_sp = op->stack_lo;
    op->ctx.uc_stack.ss_size = op->stack_size;
    op->ctx.uc_link = NULL;
    makecontext(&op->ctx, fiber_main, 0);
#ifdef XSSH__TSAN
    op->tsan_fiber = __tsan_create_fiber(0);
#endif
    op->state = XSSH_OP_RUNNING;
    op->started = 1;
    op->start_ms = xssh__now_ms();
    op->ready = 1;
    op->wake = 1;
    r_push(m, op);
    if (!op->internal)
        m->n_top_running++;
    return 0;
}

static void deliver_lines(xssh_multi *m, xssh_multi_op *op, int st, size_t scanned, int final);

/* the user's output callback (scheduler stack) */
static void flush_output(xssh_multi *m, xssh_multi_op *op, int final)
{
    if (!op->opts.on_output || m->dying) {
        for (int i = 0; i < 2; i++)
            op->pend[i].n = 0;
        return;
    }
    for (int st = 0; st < 2; st++) {
        if (!op->opts.line_mode) {
            if (op->pend[st].n) {
                size_t n = op->pend[st].n;
                op->pend[st].n = 0;
                if (op->opts.on_output(op, st, op->pend[st].p, n, op->opts.userdata) && !op->cancelled) {
                    op->cancelled = 1;
                }
            }
        } else {
            /* the kept partial line holds no newline: scan only what is added now */
            size_t scanned = op->line[st].n;
            if (op->pend[st].n) {
                if (obuf_add(&op->line[st], op->pend[st].p, op->pend[st].n) != 0)
                    op->cancelled = 1;
                op->pend[st].n = 0;
            }
            deliver_lines(m, op, st, scanned, final);
        }
    }
}

/* Line mode: deliver each whole line of op->line[st]; the bytes before @p scanned
   are known to hold no newline (the partial line kept from the last call), so each
   byte is searched once. A partial line reaching XSSH_MULTI_LINE_MAX bytes is
   delivered as a chunk of that size, which bounds the memory kept per stream. */
static void deliver_lines(xssh_multi *m, xssh_multi_op *op, int st, size_t scanned, int final)
{
    (void)m;
    obuf *b = &op->line[st];
    size_t off = 0;
    char *nl = NULL; /* the next newline at or after off, once searched */
    while (off < b->n) {
        if (!nl || nl < b->p + off) {
            size_t from = scanned > off ? scanned : off;
            nl = from < b->n ? memchr(b->p + from, '\n', b->n - from) : NULL;
            if (!nl)
                scanned = b->n;
        }
        size_t len;
        if (nl && (size_t)(nl - (b->p + off)) < XSSH_MULTI_LINE_MAX)
            len = (size_t)(nl - (b->p + off)) + 1;
        else if (b->n - off >= XSSH_MULTI_LINE_MAX)
            len = XSSH_MULTI_LINE_MAX;
        else if (final)
            len = b->n - off;
        else
            break;
        if (op->opts.on_output(op, st, b->p + off, len, op->opts.userdata))
            op->cancelled = 1;
        off += len;
    }
    if (off) {
        memmove(b->p, b->p + off, b->n - off);
        b->n -= off;
    }
}

static void group_task_done(xssh_multi *m, xssh_multi_op *op);

static void notify_push(xssh_multi *m, xssh_multi_op *op)
{
    op->notify_next = NULL;
    xssh_multi_op_ref(op);
    if (m->notify_tail)
        m->notify_tail->notify_next = op;
    else
        m->notify_head = op;
    m->notify_tail = op;
}

static void info_push(xssh_multi *m, xssh_multi_op *op)
{
    op->info_next = NULL; /* the multi's own reference moves to this list */
    if (m->info_tail)
        m->info_tail->info_next = op;
    else
        m->info_head = op;
    m->info_tail = op;
}

/* fill the result of a finished op */
static void finish_result(xssh_multi_op *op, int rc)
{
    const xssh_error *e = &op->errs.err;
    op->res.error = rc;
    op->res.phase = rc ? op->phase : XSSH_PHASE_NONE;
    if (op->cancelled && rc) {
        char buf[XSSH__MSG_CAP + 100];
        if (e->code == XSSH_ECANCELLED && e->message && *e->message)
            snprintf(buf, sizeof buf, "%s", e->message);
        else if (e->message && *e->message && e->code)
            snprintf(buf, sizeof buf, "cancelled during %s (%s)", xssh_phase_name(op->phase), e->message);
        else
            snprintf(buf, sizeof buf, "cancelled during %s", xssh_phase_name(op->phase));
        op->res.error = XSSH_ECANCELLED;
        op->msg = xssh__strdup(buf);
    } else if (rc) {
        if (e->code == rc && e->message && *e->message)
            op->msg = xssh__strdup(e->message);
        else if (e->message && *e->message && e->code)
            op->msg = xssh__strdup(e->message);
        else {
            char buf[200];
            snprintf(buf, sizeof buf, "%s (%s)", xssh_strerror(rc), xssh_err_name(rc));
            op->msg = xssh__strdup(buf);
        }
    }
    if (op->msg && op->caller) { /* named by what the user called (xssh_multi_op_opts.caller) */
        size_t n = xssh__caller_name(NULL, 0, op->caller, op->msg);
        char *named = malloc(n + 1);
        if (named) {
            xssh__caller_name(named, n + 1, op->caller, op->msg);
            free(op->msg);
            op->msg = named;
        }
    }
    op->res.message = op->msg ? op->msg : "";
    op->res.sftp_status = op->res.error && op->res.error != XSSH_ECANCELLED && e->code == rc ? e->sftp_status : 0;
    op->res.out = op->out.p ? op->out.p : "";
    op->res.out_len = op->out.n;
    op->res.err = op->err.p ? op->err.p : "";
    op->res.err_len = op->err.n;
    op->res.exit_signal = op->exit_signal;
    op->res.duration_ms = op->started ? xssh__now_ms() - op->start_ms : 0;
    if (op->fwd) /* done in any way (also cancelled queued): its listener closes now */
        op->res.bytes = xssh__fwd_end(op->fwd);
}

/* the fiber has ended: release what it held, report it */
static void complete(xssh_multi *m, xssh_multi_op *op)
{
    r_del(m, op);
    if (!op->internal)
        m->n_top_running--;
    m->n_ops--;
#ifdef XSSH__TSAN
    __tsan_destroy_fiber(op->tsan_fiber);
    op->tsan_fiber = NULL;
#endif
    stack_put(m, op);
    finish_result(op, op->fn_rc);
    flush_output(m, op, 1);
    /* the session and SFTP given are released now (the multi-level order of
       ops on one session: the next may start) */
    xssh_sftp_unref(op->sftp);
    op->sftp = NULL;
    xssh_session_unref(op->session);
    op->session = NULL;
    op->state = XSSH_OP_DONE;
    if (op->internal) {
        group_task_done(m, op);
        op->m = NULL;
        xssh_multi_op_unref(op); /* the multi's reference */
        return;
    }
    op->m = NULL;
    info_push(m, op);
    if (!m->dying && op->opts.on_done)
        op->opts.on_done(op, op->opts.userdata);
}

/* a forward op shares its session: it neither waits for nor holds it */
static int session_busy(xssh_multi *m, xssh_session *s)
{
    for (xssh_multi_op *r = m->r_head; r; r = r->next)
        if (!r->internal && r->session == s && r->kind != K_FORWARD)
            return 1;
    return 0;
}

static void start_queued(xssh_multi *m)
{
    xssh_multi_op *op = m->q_head;
    while (op && (m->max_running <= 0 || m->n_top_running < m->max_running)) {
        xssh_multi_op *next = op->next;
        if (op->session && op->kind != K_FORWARD && session_busy(m, op->session)) {
            op = next;
            continue;
        }
        q_del(m, op);
        if (op_start(m, op) != 0) {
            /* no memory for a stack: done at once */
            m->n_ops--;
            op->fn_rc = xssh__fail(NULL, XSSH_ENOMEM, 0, "cannot map a %zu-byte operation stack", m->stack_size);
            op->errs.err = *xssh_error_last();
            snprintf(op->errs.msg, sizeof op->errs.msg, "%s", xssh_error_last()->message);
            op->errs.err.message = op->errs.msg;
            xssh_session_unref(op->session);
            op->session = NULL;
            finish_result(op, op->fn_rc);
            op->state = XSSH_OP_DONE;
            op->m = NULL;
            info_push(m, op);
            if (op->opts.on_done)
                op->opts.on_done(op, op->opts.userdata);
        }
        op = next;
    }
}

static int scratch_fit(xssh_multi *m, size_t n)
{
    if (n <= m->scratch_cap)
        return 0;
    size_t cap = m->scratch_cap ? m->scratch_cap : 64;
    while (cap < n)
        cap *= 2;
    xssh_multi_op **p = realloc(m->scratch, cap * sizeof *p);
    if (!p)
        return -1;
    m->scratch = p;
    m->scratch_cap = cap;
    return 0;
}

/* mark waiting ops whose timers ran out or that were cancelled */
static void check_timers(xssh_multi *m, int64_t now)
{
    for (xssh_multi_op *op = m->r_head; op; op = op->next) {
        if (!op->waiting || op->ready)
            continue;
        int why = op_interrupt(op, now, op->w_flags);
        if (why) {
            op->ready = 1;
            op->wake = why;
        } else if (op->w_deadline && now >= op->w_deadline) {
            op->ready = 1;
            op->wake = 0;
        }
    }
}

/* own loop: which waiting sockets are ready now (poll with timeout 0) */
static int poll_waiters(xssh_multi *m, int timeout_ms)
{
    size_t n = 0;
    for (xssh_multi_op *op = m->r_head; op; op = op->next)
        if (op->waiting && !op->ready && op->w_fd >= 0)
            n++;
    int kfd = m->kick_fd; /* (written by a wake on this thread: never during this poll,
                             but a loop mixing the forms may have left it readable) */
    if (n == 0) {
        if (timeout_ms > 0) {
            struct pollfd k = {kfd, POLLIN, 0};
            poll(kfd >= 0 ? &k : NULL, kfd >= 0 ? 1 : 0, timeout_ms);
        }
        kickfd_drain(m);
        return 0;
    }
    struct pollfd *p = malloc((n + 1) * sizeof *p);
    if (scratch_fit(m, n) != 0 || !p) {
        free(p);
        return -1;
    }
    size_t i = 0;
    for (xssh_multi_op *op = m->r_head; op; op = op->next)
        if (op->waiting && !op->ready && op->w_fd >= 0) {
            p[i].fd = op->w_fd;
            p[i].events = (short)(((op->w_events & XSSH__WAIT_IN) ? POLLIN : 0) |
                                  ((op->w_events & XSSH__WAIT_OUT) ? POLLOUT : 0));
            p[i].revents = 0;
            m->scratch[i++] = op;
        }
    if (kfd >= 0)
        p[n] = (struct pollfd){kfd, POLLIN, 0};
    int r;
    do {
        r = poll(p, (nfds_t)(n + (kfd >= 0)), timeout_ms);
    } while (r < 0 && errno == EINTR && timeout_ms == 0);
    if (kfd >= 0 && p[n].revents)
        kickfd_drain(m);
    if (r > 0)
        for (i = 0; i < n; i++)
            if (p[i].revents) {
                m->scratch[i]->ready = 1;
                m->scratch[i]->wake = 1;
            }
    free(p);
    return 0;
}

static void deliver_notify(xssh_multi *m)
{
    while (m->notify_head) {
        xssh_multi_op *op = m->notify_head;
        m->notify_head = op->notify_next;
        if (!m->notify_head)
            m->notify_tail = NULL;
        if (!m->dying && op->opts.on_done)
            op->opts.on_done(op, op->opts.userdata);
        xssh_multi_op_unref(op);
    }
}

/* resume every ready op until none is ready (the core of perform/socket_action) */
static void run_ready(xssh_multi *m, int do_poll)
{
    /* an op that gave way (xssh__fiber_yield) in this call stays ready but is
       left to the next one: the caller (its loop) looks at the other sockets first */
    uint64_t gen = ++m->drive_gen;
    for (int pass = 0;; pass++) {
        deliver_notify(m);
        start_queued(m);
        if (do_poll && pass == 0)
            poll_waiters(m, 0);
        check_timers(m, xssh__now_ms());
        size_t n = 0;
        for (xssh_multi_op *op = m->r_head; op; op = op->next)
            if (op->ready && op->fair_gen != gen)
                n++;
        if (n == 0)
            break;
        if (scratch_fit(m, n) != 0)
            break;
        size_t i = 0;
        for (xssh_multi_op *op = m->r_head; op && i < n; op = op->next)
            if (op->ready && op->fair_gen != gen)
                m->scratch[i++] = xssh_multi_op_ref(op);
        for (size_t k = 0; k < i; k++) {
            xssh_multi_op *op = m->scratch[k];
            if (op->ready && op->fair_gen != gen && op->state == XSSH_OP_RUNNING && !op->finished) {
                resume(m, op);
                if (op->finished)
                    complete(m, op);
                else
                    flush_output(m, op, 0);
            }
            xssh_multi_op_unref(op);
        }
    }
}

static int64_t next_deadline(xssh_multi *m)
{
    int64_t best = -1;
    if (m->notify_head)
        return 0;
    for (xssh_multi_op *op = m->r_head; op; op = op->next) {
        if (op->ready)
            return 0;
        if (!op->waiting)
            continue;
        int64_t d = op->w_deadline;
        int64_t id = op->cancelled && !op->intr_sent && !(op->w_flags & (XSSH__WAIT_LOCK | XSSH__WAIT_NOCANCEL))
                         ? 1 /* marked by the next check_timers */
                         : interrupt_deadline(op, op->w_flags);
        if (id && (!d || id < d))
            d = id;
        if (d && (best < 0 || d < best))
            best = d;
    }
    if (m->q_head && (m->max_running <= 0 || m->n_top_running < m->max_running)) {
        /* a queued op that could start but waits for its session: no timer */
        for (xssh_multi_op *q = m->q_head; q; q = q->next)
            if (!q->session || q->kind == K_FORWARD || !session_busy(m, q->session))
                return 0;
    }
    return best;
}

static long rel_timeout(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - xssh__now_ms();
    if (left <= 0)
        return 0;
    return left > 0x7fffffff ? 0x7fffffff : (long)left;
}

static void fd_fit(xssh_multi *m, int fd)
{
    if (fd < m->nfds)
        return;
    int n = m->nfds ? m->nfds : 64;
    while (n <= fd)
        n *= 2;
    fdstate *p = realloc(m->fds, (size_t)n * sizeof *p);
    if (!p)
        return;
    memset(p + m->nfds, 0, (size_t)(n - m->nfds) * sizeof *p);
    m->fds = p;
    m->nfds = n;
}

static void list_fd(xssh_multi *m, int fd)
{
    if (m->fds[fd].listed)
        return;
    if (m->nlisted == m->listed_cap) {
        size_t cap = m->listed_cap ? m->listed_cap * 2 : 64;
        int *p = realloc(m->listed, cap * sizeof *p);
        if (!p)
            return;
        m->listed = p;
        m->listed_cap = cap;
    }
    m->listed[m->nlisted++] = fd;
    m->fds[fd].listed = 1;
}

/* tell the external loop what changed (socket and timer callbacks) */
static void update_interest(xssh_multi *m)
{
    if (m->dying)
        return;
    if (m->scb) {
        for (size_t i = 0; i < m->nlisted; i++)
            m->fds[m->listed[i]].want = 0;
        for (xssh_multi_op *op = m->r_head; op; op = op->next)
            if (op->waiting && op->w_fd >= 0 && op->w_events) {
                fd_fit(m, op->w_fd);
                if (op->w_fd >= m->nfds)
                    continue;
                list_fd(m, op->w_fd);
                m->fds[op->w_fd].want |= op->w_events;
            }
        size_t keep = 0;
        for (size_t i = 0; i < m->nlisted; i++) {
            int fd = m->listed[i];
            fdstate *f = &m->fds[fd];
            if (f->closed && f->reported) {
                m->scb(m, fd, XSSH_POLL_NONE, m->sud);
                f->reported = 0;
            }
            f->closed = 0;
            if (f->want != f->reported) {
                int r = m->scb(m, fd, f->want, m->sud);
                f->reported = f->want;
                if (r != 0) /* the loop cannot watch it: the ops waiting on it fail */
                    for (xssh_multi_op *op = m->r_head; op; op = op->next)
                        if (op->waiting && op->w_fd == fd)
                            op->cancelled = 1;
            }
            if (f->reported)
                m->listed[keep++] = fd;
            else
                f->listed = 0;
        }
        m->nlisted = keep;
    }
    if (m->tcb) {
        /* told only what the loop must know: a first deadline, none any more, or
           one earlier than its timer ("soon" being the earliest). A later one is
           left: the loop's timer then fires early, socket_action(TIMEOUT)
           forgets it (last_deadline -1) and the deadline is told then. */
        int64_t d = next_deadline(m), t = m->last_deadline;
        int tell;
        if (t == -2)
            tell = 1;
        else if (d < 0)
            tell = t >= 0;
        else if (d == 0)
            tell = t != 0;
        else
            tell = t < 0 || (t > 0 && d < t);
        if (tell) {
            m->last_deadline = d;
            m->tcb(m, rel_timeout(d), m->tud);
        }
    }
}

static int drive_begin(xssh_multi *m, const char *fn)
{
    if (!m)
        return xssh__fail(NULL, XSSH_EARG, 0, "%s: invalid argument: multi is NULL", fn);
    if (m->busy || tls_op)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "%s: called from inside a callback or an operation of a multi", fn);
    if (m->dying)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "%s: the multi is being freed", fn);
    xssh_multi_ref(m);
    m->busy = 1;
    reg_attach(m);
    tls_drive_depth++;
    kickfd_drain(m);
    return XSSH_OK;
}

static void drive_end(xssh_multi *m, xssh_multi *prev, int *running)
{
    if (running)
        *running = m->n_ops;
    m->kick_pending = 0; /* update_interest tells its loop what is ready */
    update_interest(m);
    if (!m->r_head)
        kickfd_close(m); /* (nothing to wake: a multi per call, left to a GC, holds no fd) */
    m->busy = 0;
    tls_multi = prev;
    tls_drive_depth--;
    xssh_multi_unref(m);
    xssh__kicks_deliver(); /* (the outermost drive: other multis' loops) */
}

int xssh_multi_perform(xssh_multi *m, int *running)
{
    int rc = drive_begin(m, "xssh_multi_perform");
    if (rc)
        return rc;
    xssh_multi *prev = tls_multi;
    tls_multi = m;
    run_ready(m, 1);
    drive_end(m, prev, running);
    return xssh__ok();
}

int xssh_multi_wait(xssh_multi *m, long timeout_ms, int *running)
{
    int rc = drive_begin(m, "xssh_multi_wait");
    if (rc)
        return rc;
    xssh_multi *prev = tls_multi;
    tls_multi = m;
    deliver_notify(m);
    start_queued(m);
    if (m->n_ops > 0) {
        int64_t d = next_deadline(m);
        long t = rel_timeout(d);
        if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
            t = timeout_ms;
        if (t != 0)
            poll_waiters(m, t > 0x7fffffff ? 0x7fffffff : (int)t);
    }
    run_ready(m, 1);
    drive_end(m, prev, running);
    return xssh__ok();
}

int xssh_multi_perform_all(xssh_multi *m, long timeout_ms)
{
    if (!m)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_multi_perform_all: invalid argument: multi is NULL");
    int64_t end = timeout_ms >= 0 ? xssh__now_ms() + timeout_ms : 0;
    int running = 0;
    int rc = xssh_multi_perform(m, &running);
    while (!rc && running > 0) {
        long t = -1;
        if (timeout_ms >= 0) {
            int64_t left = end - xssh__now_ms();
            if (left <= 0)
                return xssh__fail(NULL, XSSH_ETIMEOUT, 0,
                                  "xssh_multi_perform_all: %d operations still going after %ld ms", running,
                                  timeout_ms);
            t = (long)left;
        }
        rc = xssh_multi_wait(m, t, &running);
    }
    return rc ? rc : xssh__ok();
}

int xssh_multi_socket_action(xssh_multi *m, int fd, int events, int *running)
{
    int rc = drive_begin(m, "xssh_multi_socket_action");
    if (rc)
        return rc;
    xssh_multi *prev = tls_multi;
    tls_multi = m;
    if (fd < 0 && m->last_deadline != -2) /* the loop's timer fired (or it calls early): it has none now */
        m->last_deadline = -1;
    if (fd >= 0) {
        for (xssh_multi_op *op = m->r_head; op; op = op->next)
            if (op->waiting && !op->ready && op->w_fd == fd &&
                ((events & XSSH_POLL_ERR) || (events & op->w_events) || !events)) {
                op->ready = 1;
                op->wake = 1;
            }
    }
    run_ready(m, 0);
    drive_end(m, prev, running);
    return xssh__ok();
}

int xssh_multi_fds(xssh_multi *m, xssh_multi_pollfd *fds, size_t cap, size_t *n, long *timeout_ms)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    XSSH__ARG(NULL, n, "n is NULL");
    XSSH__ARG(NULL, fds || cap == 0, "fds is NULL with cap > 0");
    size_t k = 0;
    for (xssh_multi_op *op = m->r_head; op; op = op->next) {
        if (!op->waiting || op->w_fd < 0 || !op->w_events)
            continue;
        size_t j;
        for (j = 0; j < k && j < cap; j++)
            if (fds[j].fd == op->w_fd)
                break;
        if (j < k && j < cap) {
            fds[j].events |= op->w_events;
            continue;
        }
        if (k < cap) {
            fds[k].fd = op->w_fd;
            fds[k].events = op->w_events;
        }
        k++;
    }
    /* the wake-up descriptor, last (an adapter that waits on the first socket
       alone keeps doing so): while an op runs, unless a timer callback is
       told instead (xssh__wake) */
    long cap_ms = -1;
    if (m->r_head && !m->tcb && !m->dying) {
        if (kickfd_open(m) == 0) {
            if (k < cap) {
                fds[k].fd = m->kick_fd;
                fds[k].events = XSSH_POLL_IN;
            }
            k++;
        } else {
            cap_ms = KICK_FALLBACK_MS;
        }
    }
    *n = k;
    if (timeout_ms) {
        long t = rel_timeout(next_deadline(m));
        *timeout_ms = cap_ms >= 0 && (t < 0 || t > cap_ms) ? cap_ms : t;
    }
    return xssh__ok();
}

int xssh_multi_timeout(xssh_multi *m, long *timeout_ms)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    XSSH__ARG(NULL, timeout_ms, "timeout_ms is NULL");
    *timeout_ms = rel_timeout(next_deadline(m));
    return xssh__ok();
}

int xssh_multi_info_read(xssh_multi *m, xssh_multi_op **out)
{
    XSSH__ARG(NULL, m, "multi is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    xssh_multi_op *op = m->info_head;
    if (!op)
        return 0;
    m->info_head = op->info_next;
    if (!m->info_head)
        m->info_tail = NULL;
    op->info_next = NULL;
    *out = op; /* the multi's reference goes to the caller */
    return 1;
}

/* ---- operations ----------------------------------------------------------------- */

int xssh_multi_op_state(xssh_multi_op *op)
{
    if (!op)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh_multi_op_state: invalid argument: op is NULL");
    return op->state;
}

int xssh_multi_op_result(xssh_multi_op *op, const xssh_multi_result **out)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    if (op->state != XSSH_OP_DONE)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_result: the operation is not done");
    *out = &op->res;
    return xssh__ok();
}

int xssh_multi_op_session(xssh_multi_op *op, xssh_session **out)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    if (op->state != XSSH_OP_DONE || !op->out_session)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_session: no session (%s)",
                          op->state != XSSH_OP_DONE ? "the operation is not done"
                          : op->kind != K_CONNECT   ? "not a connect operation"
                                                    : "the connect failed");
    *out = xssh_session_ref(op->out_session);
    return xssh__ok();
}

int xssh_multi_op_channel(xssh_multi_op *op, xssh_channel **out)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    if (op->state != XSSH_OP_DONE || !op->out_channel)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_channel: no channel (%s)",
                          op->state != XSSH_OP_DONE ? "the operation is not done"
                          : op->kind != K_CHANNEL   ? "not a channel-open operation"
                                                    : "the open failed");
    *out = xssh_channel_ref(op->out_channel);
    return xssh__ok();
}

void *xssh_multi_op_userdata(xssh_multi_op *op) { return op ? op->opts.userdata : NULL; }

static void cancel_running(xssh_multi_op *op)
{
    op->cancelled = 1;
    if (op->waiting && !op->ready) {
        int why = op_interrupt(op, xssh__now_ms(), op->w_flags);
        op->ready = 1;
        op->wake = why ? why : 1;
    }
}

int xssh_multi_op_cancel(xssh_multi_op *op)
{
    XSSH__ARG(NULL, op, "op is NULL");
    xssh_multi *m = op->m;
    if (!m || op->state == XSSH_OP_DONE)
        return xssh__ok();
    if (op->state == XSSH_OP_QUEUED) {
        q_del(m, op);
        m->n_ops--;
        op->cancelled = 1;
        snprintf(op->errs.msg, sizeof op->errs.msg, "cancelled before it started");
        op->errs.err.code = XSSH_ECANCELLED;
        op->errs.err.message = op->errs.msg;
        op->phase = XSSH_PHASE_NONE;
        xssh_session_unref(op->session);
        op->session = NULL;
        finish_result(op, XSSH_ECANCELLED);
        op->res.phase = XSSH_PHASE_NONE;
        op->state = XSSH_OP_DONE;
        op->m = NULL;
        info_push(m, op);
        if (op->opts.on_done)
            notify_push(m, op); /* called from the next perform */
        kick(m);
        return xssh__ok();
    }
    cancel_running(op);
    kick(m);
    return xssh__ok();
}

/* ---- freeing --------------------------------------------------------------------- */

static void multi_free(xssh_multi *m)
{
    reg_detach(m);
    kickfd_close(m);
    xssh_multi *prev = tls_multi;
    tls_multi = m;
    m->dying = 1;
    m->busy = 1;
    tls_drive_depth++;
    while (m->q_head) {
        xssh_multi_op *op = m->q_head;
        q_del(m, op);
        m->n_ops--;
        op->cancelled = 1;
        xssh_session_unref(op->session);
        op->session = NULL;
        snprintf(op->errs.msg, sizeof op->errs.msg, "cancelled: the multi was freed before it started");
        op->errs.err.code = XSSH_ECANCELLED;
        op->errs.err.message = op->errs.msg;
        finish_result(op, XSSH_ECANCELLED);
        op->state = XSSH_OP_DONE;
        op->m = NULL;
        xssh_multi_op_unref(op);
    }
    /* running fibers: resumed cancelled until they unwind (their waits return
       XSSH_ECANCELLED at once; lock waits let the holder finish first) */
    for (int round = 0; m->r_head && round < 10000; round++) {
        size_t n = 0;
        for (xssh_multi_op *op = m->r_head; op; op = op->next)
            n++;
        if (scratch_fit(m, n) != 0)
            break;
        size_t i = 0;
        for (xssh_multi_op *op = m->r_head; op; op = op->next)
            m->scratch[i++] = op;
        for (size_t k = 0; k < i; k++) {
            xssh_multi_op *op = m->scratch[k];
            op->cancelled = 1;
            if (op->state != XSSH_OP_RUNNING || op->finished)
                continue;
            op->wake = (op->w_flags & XSSH__WAIT_LOCK) ? 1 : XSSH_ECANCELLED;
            xssh_multi_op_ref(op);
            resume(m, op);
            if (op->finished)
                complete(m, op); /* internal ops drop the multi's ref; others go to info */
            xssh_multi_op_unref(op);
        }
    }
    if (m->r_head)
        xssh__log(XSSH_LOG_ERROR, NULL, "xssh_multi_unref: operations that did not unwind are left (leaked)");
    while (m->info_head) {
        xssh_multi_op *op = m->info_head;
        m->info_head = op->info_next;
        xssh_multi_op_unref(op);
    }
    while (m->notify_head) {
        xssh_multi_op *op = m->notify_head;
        m->notify_head = op->notify_next;
        xssh_multi_op_unref(op);
    }
    while (m->npool) {
        m->npool--;
        stack_unmap(m->pool[m->npool], m->pool_map_size, m->pool_vg[m->npool]);
    }
    tls_multi = prev;
    tls_drive_depth--;
    if (!m->r_head) {
        free(m->pool);
        free(m->pool_vg);
        free(m->fds);
        free(m->listed);
        free(m->scratch);
        free(m);
    } /* (else leaked with them: resuming them later would need the multi) */
    xssh__kicks_deliver();
}
/* ---- xssh__parallel ------------------------------------------------------------- */

static int group_done(const pgroup *g) { return g->running == 0 && (g->stop || g->next >= g->count); }

static void group_fill(pgroup *g)
{
    xssh_multi *m = g->m;
    while (!g->stop && !m->dying && g->next < g->count && (g->width <= 0 || g->running < g->width)) {
        xssh_multi_op *op = op_alloc(m, K_TASK, NULL);
        if (!op || (op->internal = 1, op->group = g, op->task_index = g->next, op_start(m, op) != 0)) {
            if (op)
                free(op);
            if (!g->have_fail) {
                g->have_fail = 1;
                g->fail_index = g->next;
                g->fail_rc = XSSH_ENOMEM;
                snprintf(g->fail_err.msg, sizeof g->fail_err.msg, "out of memory starting a parallel task");
            }
            g->stop = 1;
            break;
        }
        op->limit_ms = g->limit_ms;
        op->phase = g->phase;
        m->n_ops++;
        g->next++;
        g->running++;
    }
}

static void group_cancel(pgroup *g)
{
    g->stop = 1;
    for (xssh_multi_op *op = g->m->r_head; op; op = op->next)
        if (op->group == g)
            cancel_running(op);
}

static void group_task_done(xssh_multi *m, xssh_multi_op *op)
{
    pgroup *g = op->group;
    g->running--;
    int rc = op->fn_rc;
    if (rc != XSSH_OK && !op->cancelled) {
        if (!g->have_fail || op->task_index < g->fail_index) {
            g->have_fail = 1;
            g->fail_index = op->task_index;
            g->fail_rc = rc;
            g->fail_err = op->errs;
            g->fail_err.err.message = g->fail_err.msg;
        }
        if (!g->stop)
            group_cancel(g);
    }
    group_fill(g);
    if (group_done(g))
        wake_in(m, g);
}

static int run_task(xssh_multi_op *op)
{
    pgroup *g = op->group;
    return op->task_fn ? op->task_fn(op->task_arg) : g->task(g->ctx, op->task_index);
}

int xssh__parallel(size_t count, int width, int (*task)(void *ctx, size_t i), void *ctx)
{
    if (count == 0)
        return XSSH_OK;
    if (!task)
        return xssh__fail(NULL, XSSH_EARG, 0, "xssh__parallel: task is NULL");
    pgroup *g = calloc(1, sizeof *g);
    if (!g)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    g->count = count;
    g->width = width;
    g->task = task;
    g->ctx = ctx;
    xssh_multi_op *parent = tls_op;
    xssh_multi *priv = NULL;
    int rc = XSSH_OK;
    if (parent) {
        g->m = parent->m;
        g->parent = parent;
        g->limit_ms = parent->limit_ms;
        g->phase = parent->phase;
        group_fill(g);
        while (!group_done(g)) {
            xssh__sleep_until(g, 0, XSSH__WAIT_LOCK);
            if (parent->cancelled && !g->stop)
                group_cancel(g);
        }
    } else {
        rc = xssh_multi_new(&priv);
        if (rc) {
            free(g);
            return rc;
        }
        priv->max_running = 0;
        g->m = priv;
        group_fill(g);
        rc = xssh_multi_perform_all(priv, -1);
    }
    if (!rc) {
        if (g->have_fail) {
            rc = g->fail_rc;
            xssh__fail(NULL, rc, g->fail_err.err.libssh2_code, "%s", g->fail_err.msg);
        } else if (parent && parent->cancelled) {
            rc = xssh__fail(NULL, XSSH_ECANCELLED, 0, "parallel tasks: cancelled");
        }
    }
    xssh_multi_unref(priv);
    free(g);
    return rc ? rc : xssh__ok();
}

/* ---- pull-mode output, SFTP listdir and sftp_open ops (issue 17) ------------------------ */

static void cpull_op_free(xssh_multi_op *op)
{
    for (int i = 0; i < 2; i++)
        obuf_free(&op->pull_buf[i]);
    for (size_t i = 0; i < op->nents; i++) {
        free((char *)op->ents[i].name);
        free((char *)op->ents[i].longentry);
    }
    free(op->ents);
    xssh_sftp_unref(op->out_sftp);
}

static int pull_check(const char *fn, const xssh_multi_op_opts *opts)
{
    if (opts && opts->pull_output && opts->on_output)
        return xssh__fail(NULL, XSSH_EARG, 0,
                          "%s: invalid argument: on_output and pull_output exclude each other (pull_output keeps "
                          "the output for xssh_multi_op_take_output)",
                          fn);
    return XSSH_OK;
}

static size_t pull_max(const xssh_multi_op *op)
{
    return op->opts.max_output ? op->opts.max_output : DEFAULT_MAX_OUTPUT;
}

/* bytes of stream st ready to take: all of them, or in line mode whole lines
   (and pieces of min(XSSH_MULTI_LINE_MAX, max_output) of a longer line), the
   unterminated tail once the op is done */
static size_t pull_ready(const xssh_multi_op *op, int st)
{
    const obuf *b = &op->pull_buf[st];
    if (!op->opts.line_mode || op->state == XSSH_OP_DONE)
        return b->n;
    size_t max = pull_max(op);
    size_t piece = max < XSSH_MULTI_LINE_MAX ? max : XSSH_MULTI_LINE_MAX;
    size_t nl = op->pull_nl[st];
    return nl + (b->n - nl) / piece * piece;
}

/* run's output callback in pull mode (on the op's stack, session lock not held):
   keeps what fits; while the stream holds max_output untaken bytes the op waits
   (key pull_buf, woken by take_output), so nothing is lost and the channel is
   not read meanwhile (the SSH window throttles the server). 1 stops the run. */
static int pull_add(xssh_multi_op *op, int st, const char *data, size_t len)
{
    size_t max = pull_max(op);
    obuf *b = &op->pull_buf[st];
    while (len > 0) {
        if (op->cancelled)
            return 1;
        size_t room = b->n < max ? max - b->n : 0;
        if (room == 0) {
            int w = xssh__sleep_until(op->pull_buf, op->pull_deadline, 0);
            if (w == XSSH_ECANCELLED || w == XSSH_ETIMEOUT)
                return 1;
            if (w == 0) {
                op->pull_timed_out = 1;
                return 1;
            }
            continue;
        }
        size_t k = len < room ? len : room;
        size_t at = b->n;
        if (obuf_add(b, data, k) != 0) {
            op->pull_nomem = 1;
            return 1;
        }
        if (op->opts.line_mode) {
            const char *nl = memrchr(data, '\n', k);
            if (nl)
                op->pull_nl[st] = at + (size_t)(nl - data) + 1;
        }
        data += k;
        len -= k;
    }
    return op->cancelled ? 1 : 0;
}

static int pull_op_check(const char *fn, xssh_multi_op *op)
{
    if (!op->pull)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "%s: not a run operation added with pull_output (%s)", fn,
                          op->kind == K_RUN || op->kind == K_HOST_RUN ? "its output goes to on_output or the result"
                                                                      : "not a run operation");
    return XSSH_OK;
}

int xssh_multi_op_take_output(xssh_multi_op *op, int stream, char **out, size_t *len)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    XSSH__ARG(NULL, len, "len is NULL");
    *out = NULL;
    *len = 0;
    XSSH__ARG(NULL, stream == XSSH_STREAM_STDOUT || stream == XSSH_STREAM_STDERR,
              "stream must be XSSH_STREAM_STDOUT or XSSH_STREAM_STDERR");
    int rc = pull_op_check("xssh_multi_op_take_output", op);
    if (rc)
        return rc;
    int st = stream == XSSH_STREAM_STDERR ? 1 : 0;
    obuf *b = &op->pull_buf[st];
    size_t k = pull_ready(op, st);
    if (k == 0)
        return xssh__ok();
    if (k == b->n) { /* all of it: the buffer itself goes to the caller */
        *out = b->p;
        b->p = NULL;
        b->n = b->cap = 0;
    } else {
        char *p = malloc(k + 1);
        if (!p)
            return xssh__fail(NULL, XSSH_ENOMEM, 0, "xssh_multi_op_take_output: out of memory");
        memcpy(p, b->p, k);
        p[k] = '\0';
        memmove(b->p, b->p + k, b->n - k);
        b->n -= k;
        b->p[b->n] = '\0';
        *out = p;
    }
    *len = k;
    op->pull_nl[st] = op->pull_nl[st] > k ? op->pull_nl[st] - k : 0;
    /* a throttled op reads on: runnable in the next perform (an external loop is
       asked to come back at once) */
    xssh_multi *m = op->m;
    if (m && op->state == XSSH_OP_RUNNING && op->waiting && !op->ready && op->w_key == (const void *)op->pull_buf) {
        wake_in(m, op->pull_buf);
        kick(m);
    }
    return xssh__ok();
}

int xssh_multi_op_output_pending(xssh_multi_op *op, size_t *out_bytes, size_t *err_bytes)
{
    XSSH__ARG(NULL, op, "op is NULL");
    if (out_bytes)
        *out_bytes = 0;
    if (err_bytes)
        *err_bytes = 0;
    int rc = pull_op_check("xssh_multi_op_output_pending", op);
    if (rc)
        return rc;
    if (out_bytes)
        *out_bytes = pull_ready(op, 0);
    if (err_bytes)
        *err_bytes = pull_ready(op, 1);
    return xssh__ok();
}

/* the SFTP calls of these ops wait as blocking calls whatever the session's mode */
static int do_sftp_open(xssh_multi_op *op)
{
    xssh__phase(XSSH_PHASE_CHANNEL);
    op->limit_ms = op->opts.timeout_ms > 0 ? xssh__now_ms() + op->opts.timeout_ms : 0;
    int nb = xssh__tls_nonblocking;
    xssh__tls_nonblocking = 2;
    int rc = xssh_sftp_new(&op->out_sftp, op->session);
    xssh__tls_nonblocking = nb;
    op->limit_ms = 0;
    return rc;
}

static int ents_push(xssh_multi_op *op, char *name, char *longentry, const xssh_sftp_attrs *a)
{
    if (op->nents == op->ents_cap) {
        size_t cap = op->ents_cap ? op->ents_cap * 2 : 16;
        xssh_sftp_dirent *p = realloc(op->ents, cap * sizeof *p);
        if (!p)
            return -1;
        op->ents = p;
        op->ents_cap = cap;
    }
    xssh_sftp_dirent *e = &op->ents[op->nents++];
    e->name = name;
    e->name_len = strlen(name);
    e->longentry = longentry;
    e->attrs = *a;
    return 0;
}

static int do_listdir(xssh_multi_op *op)
{
    xssh__phase(XSSH_PHASE_TRANSFER);
    op->limit_ms = op->opts.timeout_ms > 0 ? xssh__now_ms() + op->opts.timeout_ms : 0;
    int nb = xssh__tls_nonblocking;
    xssh__tls_nonblocking = 2;
    xssh_sftp_file *d = NULL;
    int rc = xssh_sftp_opendir(&d, op->sftp, op->src);
    while (!rc) {
        char *name = NULL, *longentry = NULL;
        xssh_sftp_attrs a;
        memset(&a, 0, sizeof a);
        rc = xssh_sftp_file_readdir(d, &name, &longentry, &a);
        if (rc == XSSH_EITEROVER) {
            rc = XSSH_OK;
            break;
        }
        if (rc)
            break;
        if (!longentry)
            longentry = xssh__strdup("");
        if (!longentry || (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && ents_push(op, name, longentry, &a))) {
            free(name);
            free(longentry);
            rc = xssh__fail(NULL, XSSH_ENOMEM, 0, "listing '%s': out of memory", op->src);
            break;
        }
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            free(name);
            free(longentry);
        }
    }
    if (d) {
        /* the listing stands whatever the close says (the handle is released either way) */
        xssh__saved_err e;
        xssh__err_save(&e);
        xssh_sftp_file_close(d);
        xssh__err_restore(NULL, &e);
        xssh_sftp_file_unref(d);
    }
    if (rc) {
        for (size_t i = 0; i < op->nents; i++) {
            free((char *)op->ents[i].name);
            free((char *)op->ents[i].longentry);
        }
        op->nents = 0;
    }
    xssh__tls_nonblocking = nb;
    op->limit_ms = 0;
    return rc;
}

static int add_sftp_open(xssh_multi *m, xssh_session *session, const xssh_multi_op_opts *opts,
                         xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    xssh_multi_op *op;
    int rc = session_op("xssh_multi_add_sftp_open", m, K_SFTP_OPEN, session, opts, &op);
    if (rc)
        return rc;
    return add_op(m, op, out);
}

int xssh_multi_add_sftp_open(xssh_multi *m, xssh_session *session, const xssh_multi_op_opts *opts,
                             xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_sftp_open(m, session, opts, out));
}

static int add_sftp_listdir(xssh_multi *m, xssh_sftp *sftp, const char *path, const xssh_multi_op_opts *opts,
                            xssh_multi_op **out)
{
    if (out)
        *out = NULL;
    FN_ARG("xssh_multi_add_sftp_listdir", sftp, "sftp is NULL");
    FN_ARG("xssh_multi_add_sftp_listdir", path, "path is NULL");
    xssh_session *s = NULL;
    int rc = xssh_sftp_session(sftp, &s);
    if (rc)
        return rc;
    xssh_multi_op *op;
    rc = session_op("xssh_multi_add_sftp_listdir", m, K_SFTP_LISTDIR, s, opts, &op);
    xssh_session_unref(s);
    if (rc)
        return rc;
    op->sftp = xssh_sftp_ref(sftp);
    DUP_OR_FAIL(src, path);
    return add_op(m, op, out);
}

int xssh_multi_add_sftp_listdir(xssh_multi *m, xssh_sftp *sftp, const char *path, const xssh_multi_op_opts *opts,
                                xssh_multi_op **out)
{
    return xssh__err_named(opts ? opts->caller : NULL, add_sftp_listdir(m, sftp, path, opts, out));
}

int xssh_multi_op_sftp(xssh_multi_op *op, xssh_sftp **out)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, out, "out is NULL");
    *out = NULL;
    if (op->state != XSSH_OP_DONE || !op->out_sftp)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_sftp: no SFTP object (%s)",
                          op->state != XSSH_OP_DONE ? "the operation is not done"
                          : op->kind != K_SFTP_OPEN ? "not an sftp_open operation"
                                                    : "the SFTP subsystem could not be started");
    *out = xssh_sftp_ref(op->out_sftp);
    return xssh__ok();
}

int xssh_multi_op_entries(xssh_multi_op *op, const xssh_sftp_dirent **entries, size_t *count)
{
    XSSH__ARG(NULL, op, "op is NULL");
    XSSH__ARG(NULL, entries, "entries is NULL");
    XSSH__ARG(NULL, count, "count is NULL");
    *entries = NULL;
    *count = 0;
    if (op->state != XSSH_OP_DONE || op->kind != K_SFTP_LISTDIR || op->res.error != XSSH_OK)
        return xssh__fail(NULL, XSSH_EBAD_USE, 0, "xssh_multi_op_entries: no entries (%s)",
                          op->state != XSSH_OP_DONE   ? "the operation is not done"
                          : op->kind != K_SFTP_LISTDIR ? "not a listdir operation"
                                                       : "the listing failed");
    *entries = op->nents ? op->ents : NULL;
    *count = op->nents;
    return xssh__ok();
}

/* ---- hooks of the local forward op (multi_forward.c) -------------------------- */

int xssh__multi_add_forward(xssh_multi *m, xssh_session *s, struct xssh__fwd *fwd, const xssh_multi_op_opts *opts,
                            xssh_multi_op **out)
{
    xssh_multi_op *op;
    int rc = session_op("xssh_multi_add_forward_local", m, K_FORWARD, s, opts, &op);
    if (rc)
        return rc;
    op->fwd = fwd;
    return add_op(m, op, out);
}

struct xssh__fwd *xssh__multi_op_fwd(xssh_multi_op *op) { return op && op->kind == K_FORWARD ? op->fwd : NULL; }

xssh__tasks *xssh__tasks_new(void)
{
    xssh_multi_op *parent = tls_op;
    if (!parent)
        return NULL;
    pgroup *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->m = parent->m;
    g->parent = parent;
    g->limit_ms = parent->limit_ms;
    g->phase = parent->phase;
    return g;
}

int xssh__tasks_add(xssh__tasks *g, int (*fn)(void *arg), void *arg)
{
    xssh_multi *m = g->m;
    if (g->stop || m->dying)
        return xssh__fail(NULL, XSSH_ECANCELLED, 0, "no new task: the operation is ending");
    xssh_multi_op *op = op_alloc(m, K_TASK, NULL);
    if (!op)
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "out of memory");
    op->internal = 1;
    op->group = g;
    op->task_index = g->next;
    op->task_fn = fn;
    op->task_arg = arg;
    if (op_start(m, op) != 0) {
        free(op);
        return xssh__fail(NULL, XSSH_ENOMEM, 0, "cannot map a %zu-byte task stack", m->stack_size);
    }
    op->limit_ms = g->limit_ms;
    op->phase = g->phase;
    m->n_ops++;
    g->count++;
    g->next++;
    g->running++;
    return XSSH_OK;
}

void xssh__tasks_cancel(xssh__tasks *g)
{
    if (g)
        group_cancel(g);
}

void xssh__tasks_wait_free(xssh__tasks *g)
{
    if (!g)
        return;
    while (g->running > 0)
        xssh__sleep_until(g, 0, XSSH__WAIT_LOCK);
    free(g);
}
