/* SPDX-License-Identifier: BSD-3-Clause */
/* xssh(1): what the user sees - prefixed output lines, status lines and the
   progress line (on a terminal only: drawn in place on stderr, cleared before
   any other output and at the end). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int g_tty;      /* stderr is a terminal and the progress line is wanted */
static int g_shown;    /* a progress line is on the screen */
static int g_quiet;
static struct timespec g_last;
static size_t g_last_done = (size_t)-1;

void ui_init(int no_progress, int quiet)
{
    g_tty = !no_progress && isatty(STDERR_FILENO);
    g_quiet = quiet;
}

int ui_is_tty(void)
{
    return g_tty;
}

int ui_quiet(void)
{
    return g_quiet;
}

void ui_clear(void)
{
    if (g_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        g_shown = 0;
    }
}

/* before anything goes to stdout or stderr: the progress line away, and
   stdout's buffer out first so that lines keep their order when both streams
   go to the same place */
static void before(FILE *stream)
{
    ui_clear();
    if (stream == stderr)
        fflush(stdout);
}

int ui_write(FILE *stream, const char *data, size_t len)
{
    before(stream);
    if (len && fwrite(data, 1, len, stream) != len)
        return -1;
    if (stream == stderr)
        fflush(stderr);
    return ferror(stream) ? -1 : 0;
}

int ui_prefixed(FILE *stream, const char *label, const char *data, size_t len)
{
    before(stream);
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
        if (fputs(label, stream) == EOF || fputs(": ", stream) == EOF)
            return -1;
        if (n && fwrite(data + i, 1, n, stream) != n)
            return -1;
        if (putc('\n', stream) == EOF)
            return -1;
        i += n + (nl ? 1 : 0);
    }
    if (stream == stderr)
        fflush(stderr);
    return ferror(stream) ? -1 : 0;
}

void ui_msg(const char *fmt, ...)
{
    before(stderr);
    va_list ap;
    va_start(ap, fmt);
    fputs("xssh: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

const char *ui_bytes(uint64_t n, char *buf, size_t size)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, size, "%.1f %s", v, unit[u]);
    return buf;
}

static long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000);
}

void ui_progress(const ui_counts *c, int force)
{
    if (!g_tty)
        return;
    /* a host finishing always redraws; byte counts alone at most 10 times a second */
    if (!force && g_shown && c->done == g_last_done && ms_since(&g_last) < 100)
        return;
    char line[512], a[32], b[32];
    char cancelled[48] = "";
    if (c->cancelled)
        snprintf(cancelled, sizeof cancelled, ", %zu cancelled", c->cancelled);
    int n = snprintf(line, sizeof line, "xssh: %zu/%zu hosts done, %zu failed%s, %zu running, %zu waiting",
                     c->done, c->total, c->failed, cancelled, c->running, c->queued);
    if (c->transfer && n > 0 && (size_t)n < sizeof line) {
        if (c->bytes_total)
            snprintf(line + n, sizeof line - (size_t)n, ", %s of %s", ui_bytes(c->bytes, a, sizeof a),
                     ui_bytes(c->bytes_total, b, sizeof b));
        else
            snprintf(line + n, sizeof line - (size_t)n, ", %s", ui_bytes(c->bytes, a, sizeof a));
    }
    /* never wider than the terminal: a wrapped line cannot be redrawn in place */
    struct winsize ws;
    size_t width = 80;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        width = ws.ws_col;
    size_t len = strlen(line);
    if (len > width - 1)
        len = width - 1;
    fflush(stdout);
    fputc('\r', stderr);
    fwrite(line, 1, len, stderr);
    fputs("\033[K", stderr);
    fflush(stderr);
    g_shown = 1;
    g_last_done = c->done;
    clock_gettime(CLOCK_MONOTONIC, &g_last);
}
