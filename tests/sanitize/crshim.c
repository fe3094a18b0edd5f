/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal runner for the Criterion tests, used ONLY in the ThreadSanitizer
 * build (-DXSSH_SANITIZE=thread) in place of libcriterion.
 *
 * Why: Criterion 2.4 cannot start under TSan. Its BoxFort sandbox maps a
 * shared "inheritable arena" at a random fixed address between 0x2000_0000_0000
 * and 0x7f00_0000_0000, the range TSan reserves for its shadow memory and
 * heap; the runner aborts with "Could not initialize inheritable arena:
 * Resource temporarily unavailable" (Criterion issue #274, open) or crashes.
 *
 * What it does: the same test binaries (Test(...) entries in the "cr_tst"
 * section, cr_assert/cr_skip_test/cr_log), each test in its own fork()ed
 * process like Criterion, with the test's .init/.fini/.timeout, up to --jobs N
 * at once, --filter GLOB on "suite/name". It prints a Criterion-style
 * synthesis line and exits nonzero if any test failed, crashed or timed out.
 * TSan reports are collected by tests/sanitize/run.sh (log_path per process).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/options.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct criterion_options criterion_options; /* all zero: no full_stats */

extern struct criterion_test *__start_cr_tst[];
extern struct criterion_test *__stop_cr_tst[];
/* TestSuite(name, .init/.fini...) entries; weak: a binary may have none */
extern struct criterion_suite *__start_cr_sts[] __attribute__((weak));
extern struct criterion_suite *__stop_cr_sts[] __attribute__((weak));

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_SKIP = 77 };

static struct criterion_test *cur;
static jmp_buf test_jmp;
static int cur_failed, cur_skipped;

int cr_vasprintf(char **strp, const char *fmt, va_list ap)
{
    int n = vasprintf(strp, fmt, ap);
    if (n < 0)
        *strp = NULL;
    return n;
}

int cr_asprintf(char **strp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = cr_vasprintf(strp, fmt, ap);
    va_end(ap);
    return n;
}

void cr_asprintf_free(char *buf) { free(buf); }

char *cr_translate_assert_msg(int msg_index, ...)
{
    va_list ap;
    va_start(ap, msg_index);
    const char *arg = msg_index == CRITERION_ASSERT_MSG_FAIL ? NULL : va_arg(ap, const char *);
    va_end(ap);
    char *out = NULL;
    if (arg && *arg)
        cr_asprintf(&out, "The expression %s is false.", arg);
    else
        cr_asprintf(&out, "The conditions for this assertion were not met.");
    return out;
}

void cri_asserts_passed_incr(void) {}

void criterion_send_assert(struct criterion_assert_stats *st)
{
    if (st->passed)
        return;
    cur_failed = 1;
    fprintf(stderr, "[----] %s:%u: Assertion Failed\n[----]   %s\n", st->file, st->line,
            st->message ? st->message : "");
}

void criterion_abort_test(void) { longjmp(test_jmp, 1); }

void criterion_skip_test(const char *format, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, format);
    cr_vasprintf(&msg, format, ap);
    va_end(ap);
    fprintf(stderr, "[SKIP] %s::%s: %s\n", cur->category, cur->name, msg ? msg : "");
    free(msg);
    cur_skipped = 1;
    longjmp(test_jmp, 1);
}

void cr_log(enum criterion_severity severity, const char *msg, ...)
{
    (void)severity;
    va_list ap;
    va_start(ap, msg);
    fputs("[----] ", stderr);
    vfprintf(stderr, msg, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* the TestSuite entry of the running test's suite, or NULL */
static struct criterion_suite *cur_suite(void)
{
    if (!__start_cr_sts || !__stop_cr_sts)
        return NULL;
    for (struct criterion_suite **p = __start_cr_sts; p < __stop_cr_sts; p++)
        if (*p && (*p)->name && strcmp((*p)->name, cur->category) == 0)
            return *p;
    return NULL;
}

/* as Criterion: the suite's .init, then the test's; teardown in the reverse order */
void criterion_internal_test_setup(void)
{
    struct criterion_suite *su = cur_suite();
    if (su && su->data && su->data->init)
        su->data->init();
    if (cur->data->init)
        cur->data->init();
}

void criterion_internal_test_main(void (*fn)(void))
{
    if (!setjmp(test_jmp))
        fn();
}

void criterion_internal_test_teardown(void)
{
    if (cur->data->fini)
        cur->data->fini();
    struct criterion_suite *su = cur_suite();
    if (su && su->data && su->data->fini)
        su->data->fini();
}

static pid_t start(struct criterion_test *t)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    cur = t;
    if (t->data->timeout > 0)
        alarm((unsigned)ceil(t->data->timeout));
    t->test(); /* the Test's trampoline: setup, body, teardown */
    /* exit(), not _exit(): sanitizer finalisers and atexit handlers run */
    exit(cur_skipped ? EXIT_SKIP : cur_failed ? EXIT_FAIL : EXIT_PASS);
}

int main(int argc, char **argv)
{
    int jobs = 1;
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
            jobs = atoi(argv[++i]);
        else if (!strncmp(argv[i], "--jobs=", 7) || !strncmp(argv[i], "-j", 2))
            jobs = atoi(strchr(argv[i], '=') ? strchr(argv[i], '=') + 1 : argv[i] + 2);
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strncmp(argv[i], "--filter=", 9))
            filter = argv[i] + 9;
    }
    if (jobs < 1)
        jobs = 1;
    size_t n = (size_t)(__stop_cr_tst - __start_cr_tst);
    pid_t *pids = calloc(n ? n : 1, sizeof *pids);
    int tested = 0, passing = 0, failing = 0, crashing = 0, skipped = 0, running = 0;
    size_t next = 0;
    for (;;) {
        while (running < jobs && next < n) {
            struct criterion_test *t = __start_cr_tst[next++];
            char id[512];
            if (!t)
                continue;
            snprintf(id, sizeof id, "%s/%s", t->category, t->name);
            if ((filter && fnmatch(filter, id, 0) != 0) || t->data->disabled)
                continue;
            pids[next - 1] = start(t);
            if (pids[next - 1] < 0) {
                fprintf(stderr, "crshim: fork: %s\n", strerror(errno));
                return 2;
            }
            running++;
        }
        if (!running)
            break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "crshim: waitpid: %s\n", strerror(errno));
            return 2;
        }
        size_t k = 0;
        while (k < n && pids[k] != pid)
            k++;
        if (k == n)
            continue;
        running--;
        struct criterion_test *t = __start_cr_tst[k];
        tested++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PASS) {
            passing++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
            skipped++;
            tested--;
        } else if (WIFEXITED(status)) {
            failing++;
            fprintf(stderr, "[FAIL] %s::%s (exit %d)\n", t->category, t->name, WEXITSTATUS(status));
        } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
            failing++;
            fprintf(stderr, "[----] %s::%s: Timed out. (%gs)\n[FAIL] %s::%s\n", t->category, t->name,
                    t->data->timeout, t->category, t->name);
        } else {
            crashing++;
            fprintf(stderr, "[----] %s::%s: CRASH (signal %d)\n[FAIL] %s::%s\n", t->category, t->name,
                    WIFSIGNALED(status) ? WTERMSIG(status) : -1, t->category, t->name);
        }
    }
    free(pids);
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d (skipped %d; crshim)\n",
            tested, passing, failing, crashing, skipped);
    return failing || crashing ? 1 : 0;
}
