/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sftp_speed: throughput of xssh's whole-file SFTP transfers (a printout, not a test).
 *
 *   sftp_speed HOST PORT USER KEYFILE DIR [MIB [WINDOW_BYTES]]
 *   sftp_speed --env ENVFILE [MIB [WINDOW_BYTES]]   (the test harness's env file)
 *
 * Writes a MIB-MiB (default 256) random local file in DIR, uploads it with
 * xssh_sftp_put(), downloads it with xssh_sftp_get(), compares the bytes and
 * prints MiB/s for each direction. DIR must be reachable by the server under
 * the same path (loopback) or at least writable remotely.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <xssh.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "sftp_speed: %s: %s\n", what, xssh_error_last()->message);
    exit(1);
}

static char g_env[6][1024]; /* host port user key dir */

static void load_env(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    char line[2048];
    const char *keys[5] = {"XSSH_TEST_HOST=", "XSSH_TEST_PORT=", "XSSH_TEST_USER=", "XSSH_TEST_KEY_ED25519=",
                           "XSSH_TEST_DIR="};
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        for (int i = 0; i < 5; i++)
            if (strncmp(line, keys[i], strlen(keys[i])) == 0)
                snprintf(g_env[i], sizeof g_env[i], "%s", line + strlen(keys[i]));
    }
    fclose(f);
}

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int eq = fa && fb;
    static char ba[1 << 16], bb[1 << 16];
    while (eq) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0)
            eq = 0;
        if (na == 0 || na != nb)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return eq;
}

int main(int argc, char **argv)
{
    int ai;
    if (argc >= 3 && strcmp(argv[1], "--env") == 0) {
        load_env(argv[2]);
        ai = 3;
    } else if (argc >= 6) {
        for (int i = 0; i < 5; i++)
            snprintf(g_env[i], sizeof g_env[i], "%s", argv[1 + i]);
        ai = 6;
    } else {
        fprintf(stderr, "usage: %s HOST PORT USER KEYFILE DIR [MIB [WINDOW]] | --env ENVFILE [MIB [WINDOW]]\n",
                argv[0]);
        return 2;
    }
    long mib = argc > ai ? atol(argv[ai]) : 256;
    size_t window = argc > ai + 1 ? (size_t)atol(argv[ai + 1]) : 0;
    const char *dir = g_env[4];

    char src[1200], remote[1200], back[1200];
    snprintf(src, sizeof src, "%s/speed-src-%d", dir, (int)getpid());
    snprintf(remote, sizeof remote, "%s/speed-remote-%d", dir, (int)getpid());
    snprintf(back, sizeof back, "%s/speed-back-%d", dir, (int)getpid());
    {
        int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int rnd = open("/dev/urandom", O_RDONLY);
        static char blk[1 << 20];
        if (fd < 0 || rnd < 0 || read(rnd, blk, sizeof blk) != (ssize_t)sizeof blk) {
            perror("source file");
            return 1;
        }
        for (long i = 0; i < mib; i++) {
            blk[i % sizeof blk] ^= (char)i; /* not one repeated MiB */
            if (write(fd, blk, sizeof blk) != (ssize_t)sizeof blk) {
                perror("write");
                return 1;
            }
        }
        close(fd);
        close(rnd);
    }

    xssh_session *s = NULL;
    xssh_sftp *sf = NULL;
    if (xssh_session_new(&s) || xssh_session_connect(s, g_env[0], atoi(g_env[1]), 10000))
        die("connect");
    if (xssh_session_userauth_publickey_fromfile(s, g_env[2], g_env[3], NULL, NULL))
        die("auth");
    if (xssh_sftp_new(&sf, s))
        die("sftp");
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.chunk_size = window;

    uint64_t n = 0;
    double c0 = cpu_s(), t0 = now_s();
    if (xssh_sftp_put(sf, src, remote, &o, &n))
        die("put");
    double tp = now_s() - t0, cp = cpu_s() - c0;
    c0 = cpu_s();
    t0 = now_s();
    if (xssh_sftp_get(sf, remote, back, &o, &n))
        die("get");
    double tg = now_s() - t0, cg = cpu_s() - c0;
    int same = files_equal(src, back);
    printf("xssh sftp %ld MiB (window %zu): put %.1f MiB/s (client CPU %.2f s), get %.1f MiB/s (client CPU %.2f s), "
           "%s\n",
           mib, window, mib / tp, cp, mib / tg, cg, same ? "identical" : "MISMATCH");
    xssh_sftp_unlink(sf, remote);
    xssh_sftp_unref(sf);
    xssh_session_disconnect(s);
    xssh_session_unref(s);
    unlink(src);
    unlink(back);
    return same ? 0 : 1;
}
