/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh from C, for bench/run: the same flow and usage as libssh2_client.c, written
 * the way an xssh user would (xssh_session_connect sets TCP_NODELAY itself;
 * xssh_session_run; xssh_sftp_get/put with the default pipeline).
 * A workload whose API xssh does not have exits 77 ("SKIP: ...").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <xssh.h>
#if __has_include(<xssh/sftp.h>)
#include <xssh/sftp.h>
#define HAVE_SFTP 1
#endif
#if __has_include(<xssh/scp.h>) && defined(HAVE_SFTP)
#include <xssh/scp.h>
#define HAVE_SCP 1
#endif

static const char *host, *user, *key, *known_hosts;
static int port;

static void die(const char *what, int rc)
{
    fprintf(stderr, "xssh_client: %s failed: %s (%s): %s\n", what, xssh_strerror(rc), xssh_err_name(rc),
            xssh_error_last()->message);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    if (f)
        fclose(f);
    return v;
}

static xssh_session *open_session(void)
{
    xssh_session *s = NULL;
    int rc;
    if ((rc = xssh_session_new(&s)))
        die("session_new", rc);
    if ((rc = xssh_session_connect(s, host, port, 10000)))
        die("connect", rc);
    if ((rc = xssh_session_verify_host(s, host, port, XSSH_HOSTKEY_STRICT, known_hosts)))
        die("verify_host", rc);
    if ((rc = xssh_session_userauth_publickey_fromfile(s, user, key, NULL, NULL)))
        die("userauth_publickey_fromfile", rc);
    return s;
}

static void close_session(xssh_session *s)
{
    xssh_session_disconnect(s);
    xssh_session_unref(s);
}

int main(int argc, char **argv)
{
    host = getenv("BENCH_HOST"), user = getenv("BENCH_USER"), key = getenv("BENCH_KEY");
    known_hosts = getenv("BENCH_KNOWN_HOSTS");
    if (!host || !user || !key || !known_hosts || !getenv("BENCH_PORT") || argc < 3) {
        fprintf(stderr, "usage: BENCH_HOST=.. BENCH_PORT=.. BENCH_USER=.. BENCH_KEY=.. BENCH_KNOWN_HOSTS=.. "
                        "%s WORKLOAD ARGS...\n",
                argv[0]);
        return 2;
    }
    port = atoi(getenv("BENCH_PORT"));
    const char *w = argv[1];
    int rc, status = 0;
#ifndef HAVE_SCP
    if (!strncmp(w, "scp_", 4)) {
        fprintf(stderr, "SKIP: xssh has no SCP API (xssh/scp.h)\n");
        return 77;
    }
#endif
#ifndef HAVE_SFTP
    if (!strncmp(w, "sftp_", 5)) {
        fprintf(stderr, "SKIP: xssh has no SFTP API (xssh/sftp.h)\n");
        return 77;
    }
#endif
    if (!strcmp(w, "memory")) {
        int n = atoi(argv[2]);
        xssh_session **ss = calloc(n, sizeof *ss);
        long rss1 = 0;
        for (int i = 0; i < n; i++) {
            ss[i] = open_session();
            if (i == 0)
                rss1 = rss_kib();
        }
        long rssn = rss_kib();
        printf("BENCH sessions=%d rss1_kib=%ld rssn_kib=%ld per_session_kib=%.1f\n", n, rss1, rssn,
               n > 1 ? (double)(rssn - rss1) / (n - 1) : 0.0);
        for (int i = 0; i < n; i++)
            close_session(ss[i]);
        free(ss);
        return 0;
    }
    xssh_session *s = open_session();
    if (!strcmp(w, "echo")) {
        xssh_run_result *r = NULL;
        if ((rc = xssh_session_run(s, argv[2], NULL, &r)))
            die("session_run", rc);
        fwrite(r->out, 1, r->out_len, stdout);
        status = r->exit_status;
        xssh_run_result_free(r);
    } else if (!strcmp(w, "exec")) {
        int n = atoi(argv[2]), ok = 0;
        char cmd[64], want[64];
        double t0 = now(), c0 = cpu();
        for (int i = 0; i < n; i++) {
            xssh_run_result *r = NULL;
            snprintf(cmd, sizeof cmd, "echo %d", i);
            snprintf(want, sizeof want, "%d\n", i);
            if ((rc = xssh_session_run(s, cmd, NULL, &r)))
                die("session_run", rc);
            ok += r->have_exit_status && r->exit_status == 0 && r->out_len == strlen(want) &&
                  !memcmp(r->out, want, r->out_len);
            xssh_run_result_free(r);
        }
        printf("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f\n", ok, now() - t0, cpu() - c0);
#ifdef HAVE_SFTP
    } else if (argc >= 4 && (!strcmp(w, "sftp_get") || !strcmp(w, "sftp_put"))) {
        double t0 = now();
        xssh_sftp *sftp = NULL;
        uint64_t n = 0;
        if ((rc = xssh_sftp_new(&sftp, s)))
            die("sftp_new", rc);
        /* BENCH_XSSH_CHUNK: bytes in flight (default: xssh's), for exploring the pipeline depth */
        xssh_transfer_opts o;
        memset(&o, 0, sizeof o);
        if (getenv("BENCH_XSSH_CHUNK"))
            o.chunk_size = (size_t)atol(getenv("BENCH_XSSH_CHUNK"));
        if (!strcmp(w, "sftp_get"))
            rc = xssh_sftp_get(sftp, argv[2], argv[3], &o, &n);
        else
            rc = xssh_sftp_put(sftp, argv[2], argv[3], &o, &n);
        if (rc)
            die(w, rc);
        xssh_sftp_close(sftp);
        xssh_sftp_unref(sftp);
        printf("BENCH xfer_s=%.6f bytes=%llu\n", now() - t0, (unsigned long long)n);
#endif
#ifdef HAVE_SCP
    } else if (argc >= 4 && (!strcmp(w, "scp_get") || !strcmp(w, "scp_put"))) {
        double t0 = now();
        uint64_t n = 0;
        if (!strcmp(w, "scp_get"))
            rc = xssh_session_scp_get(s, argv[2], argv[3], NULL, &n);
        else
            rc = xssh_session_scp_put(s, argv[2], argv[3], NULL, &n);
        if (rc)
            die(w, rc);
        printf("BENCH xfer_s=%.6f bytes=%llu\n", now() - t0, (unsigned long long)n);
#endif
    } else {
        fprintf(stderr, "xssh_client: unknown workload %s\n", w);
        return 2;
    }
    fflush(stdout);
    close_session(s);
    return status;
}
