/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * poll_channels: drive 50 channels of ONE session from ONE thread with poll().
 *
 *   poll_channels HOST PORT USER KEY KNOWN_HOSTS [CHANNELS]
 *   poll_channels                      (reads the test harness file named by $XSSH_TEST_ENV)
 *
 * The session is non-blocking: every call returns XSSH_EAGAIN instead of
 * waiting, and nothing is lost; the caller then waits with poll() on
 * xssh_session_socket() for what xssh_session_block_directions() says.
 * Each channel runs a command printing a header and 64 KiB, exits with
 * i % 7, and is checked. Exit status 0 when every channel did its job.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xssh.h>

enum state { OPENING, EXECUTING, READING, CLOSING, DONE };

typedef struct job {
    xssh_channel *ch;
    enum state st;
    size_t bytes;
    int status, have;
} job;

#define PAYLOAD 65536

static char env_buf[8][512];

static const char *env_get(const char *path, const char *key, int slot)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[1024];
    size_t kl = strlen(key);
    const char *res = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(env_buf[slot], sizeof env_buf[slot], "%s", line + kl + 1);
            res = env_buf[slot];
            break;
        }
    }
    fclose(f);
    return res;
}

static int fail(const char *what)
{
    fprintf(stderr, "poll_channels: %s: %s\n", what, xssh_error_last()->message);
    return 1;
}

int main(int argc, char **argv)
{
    const char *host, *user, *key, *known_hosts;
    int port, n = 50;
    if (argc >= 6) {
        host = argv[1];
        port = atoi(argv[2]);
        user = argv[3];
        key = argv[4];
        known_hosts = argv[5];
        if (argc >= 7)
            n = atoi(argv[6]);
    } else if (getenv("XSSH_TEST_ENV")) {
        const char *p = getenv("XSSH_TEST_ENV");
        host = env_get(p, "XSSH_TEST_HOST", 0);
        const char *ps = env_get(p, "XSSH_TEST_PORT", 1);
        user = env_get(p, "XSSH_TEST_USER", 2);
        key = env_get(p, "XSSH_TEST_KEY_ED25519", 3);
        known_hosts = env_get(p, "XSSH_TEST_KNOWN_HOSTS", 4);
        if (!host || !ps || !user || !key || !known_hosts) {
            fprintf(stderr, "poll_channels: incomplete %s\n", p);
            return 2;
        }
        port = atoi(ps);
    } else {
        fprintf(stderr, "usage: %s HOST PORT USER KEY KNOWN_HOSTS [CHANNELS]  (or set XSSH_TEST_ENV)\n", argv[0]);
        return 2;
    }
    if (n < 1 || n > 1000)
        n = 50;

    xssh_session *s = NULL;
    if (xssh_session_new(&s) != XSSH_OK)
        return fail("new");
    if (xssh_session_connect(s, host, port, 10000) != XSSH_OK)
        return fail("connect");
    if (xssh_session_verify_host(s, host, port, XSSH_HOSTKEY_STRICT, known_hosts) != XSSH_OK)
        return fail("verify_host");
    if (xssh_session_userauth_publickey_fromfile(s, user, key, NULL, NULL) != XSSH_OK)
        return fail("auth");
    xssh_session_set_blocking(s, 0);
    int fd = -1;
    xssh_session_socket(s, &fd);

    job *jobs = calloc((size_t)n, sizeof *jobs);
    char *buf = malloc(PAYLOAD);
    int done = 0, opening = -1, waits = 0, rc;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (done < n) {
        int progress = 0;
        for (int i = 0; i < n; i++) {
            job *j = &jobs[i];
            switch (j->st) {
            case OPENING:
                /* a session opens one channel at a time: the others wait their turn */
                if (opening != -1 && opening != i)
                    break;
                opening = i;
                rc = xssh_channel_open_session(&j->ch, s);
                if (rc == XSSH_EAGAIN)
                    break;
                if (rc != XSSH_OK)
                    return fail("open_session");
                opening = -1;
                j->st = EXECUTING;
                progress = 1;
                /* fall through */
            case EXECUTING: {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "echo channel %d; head -c %d /dev/zero; exit %d", i, PAYLOAD, i % 7);
                rc = xssh_channel_execute(j->ch, cmd);
                if (rc == XSSH_EAGAIN)
                    break;
                if (rc != XSSH_OK)
                    return fail("execute");
                j->st = READING;
                progress = 1;
            } /* fall through */
            case READING:
                for (;;) {
                    size_t got = 0;
                    rc = xssh_channel_read(j->ch, buf, PAYLOAD, &got);
                    if (rc == XSSH_EAGAIN)
                        break;
                    if (rc != XSSH_OK)
                        return fail("read");
                    progress = 1;
                    if (got == 0) {
                        j->st = CLOSING;
                        break;
                    }
                    j->bytes += got;
                }
                if (j->st != CLOSING)
                    break;
                /* fall through */
            case CLOSING:
                rc = xssh_channel_close(j->ch);
                if (rc == XSSH_EAGAIN)
                    break;
                if (rc != XSSH_OK)
                    return fail("close");
                xssh_channel_get_exit_status(j->ch, &j->status, &j->have);
                xssh_channel_unref(j->ch);
                j->ch = NULL;
                j->st = DONE;
                done++;
                progress = 1;
                break;
            case DONE:
                break;
            }
        }
        if (!progress) {
            int dirs = 0;
            xssh_session_block_directions(s, &dirs);
            struct pollfd p = {fd, 0, 0};
            if (dirs & XSSH_BLOCK_INBOUND)
                p.events |= POLLIN;
            if (dirs & XSSH_BLOCK_OUTBOUND)
                p.events |= POLLOUT;
            if (!p.events)
                p.events = POLLIN;
            if (poll(&p, 1, 10000) == 0) {
                fprintf(stderr, "poll_channels: no progress for 10 s (%d/%d done)\n", done, n);
                return 1;
            }
            waits++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char head[32];
        size_t want = (size_t)snprintf(head, sizeof head, "channel %d\n", i) + PAYLOAD;
        if (jobs[i].bytes != want || !jobs[i].have || jobs[i].status != i % 7) {
            fprintf(stderr, "channel %d: %zu bytes (want %zu), exit %d (have %d, want %d)\n", i, jobs[i].bytes, want,
                    jobs[i].status, jobs[i].have, i % 7);
            bad++;
        }
    }
    printf("%d channels on one session, one thread: %d ok, %d failed, %d poll waits, %.0f ms\n", n, n - bad, bad,
           waits, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    free(buf);
    free(jobs);
    xssh_session_disconnect(s);
    xssh_session_unref(s);
    return bad ? 1 : 0;
}
