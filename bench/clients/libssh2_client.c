/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare libssh2 (blocking API, TCP_NODELAY) — the reference client of bench/run.
 * The same flow as every other client: connect, verify the host key against
 * $BENCH_KNOWN_HOSTS, authenticate with the ed25519 key $BENCH_KEY, then:
 *
 *   libssh2_client echo CMD            print the output, exit with the remote status
 *   libssh2_client exec N              N x `echo i`, each on a new channel
 *   libssh2_client sftp_get SRC DST    remote SRC -> local DST (1 MiB buffer)
 *   libssh2_client sftp_put SRC DST    local SRC -> remote DST (1 MiB buffer)
 *   libssh2_client scp_get SRC DST / scp_put SRC DST
 *   libssh2_client memory N            N idle sessions, RSS growth
 *   libssh2_client methods x           print the negotiated algorithms
 *
 * Phase timings go to stdout on a "BENCH key=value ..." line.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#define BUF (1 << 20)

static const char *host, *user, *key, *known_hosts;
static int port;

static void die(LIBSSH2_SESSION *s, const char *what)
{
    char *msg = NULL;
    if (s)
        libssh2_session_last_error(s, &msg, NULL, 0);
    fprintf(stderr, "libssh2_client: %s failed: %s\n", what, msg ? msg : "");
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

static LIBSSH2_SESSION *open_session(int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &sin.sin_addr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin))
        die(NULL, "connect");
    LIBSSH2_SESSION *s = libssh2_session_init();
    if (!s)
        die(NULL, "session_init");
    libssh2_session_set_blocking(s, 1);
    if (libssh2_session_handshake(s, fd))
        die(s, "handshake");

    size_t len;
    int type;
    const char *hk = libssh2_session_hostkey(s, &len, &type);
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
    if (!hk || !kh || libssh2_knownhost_readfile(kh, known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
        die(s, "known_hosts");
    int keybit = type == LIBSSH2_HOSTKEY_TYPE_ED25519     ? LIBSSH2_KNOWNHOST_KEY_ED25519
                 : type == LIBSSH2_HOSTKEY_TYPE_ECDSA_256 ? LIBSSH2_KNOWNHOST_KEY_ECDSA_256
                 : type == LIBSSH2_HOSTKEY_TYPE_RSA       ? LIBSSH2_KNOWNHOST_KEY_SSHRSA
                                                          : LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    struct libssh2_knownhost *entry;
    if (libssh2_knownhost_checkp(kh, host, port, hk, len,
                                 LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | keybit,
                                 &entry) != LIBSSH2_KNOWNHOST_CHECK_MATCH) {
        fprintf(stderr, "libssh2_client: host key not verified\n");
        exit(1);
    }
    libssh2_knownhost_free(kh);
    if (libssh2_userauth_publickey_fromfile(s, user, NULL, key, NULL))
        die(s, "userauth_publickey_fromfile");
    *fd_out = fd;
    return s;
}

static void close_session(LIBSSH2_SESSION *s, int fd)
{
    libssh2_session_disconnect(s, "bye");
    libssh2_session_free(s);
    close(fd);
}

/* run cmd on a new channel; output into buf (NUL-terminated, truncated to cap); returns the exit status */
static int run(LIBSSH2_SESSION *s, const char *cmd, char *buf, size_t cap, FILE *echo_to)
{
    LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(s);
    if (!ch)
        die(s, "channel_open_session");
    if (libssh2_channel_exec(ch, cmd))
        die(s, "channel_exec");
    size_t used = 0;
    char tmp[16384];
    for (;;) {
        ssize_t n = libssh2_channel_read(ch, tmp, sizeof tmp);
        if (n < 0)
            die(s, "channel_read");
        if (n == 0)
            break;
        if (echo_to)
            fwrite(tmp, 1, n, echo_to);
        if (buf && used + 1 < cap) {
            size_t k = (size_t)n < cap - 1 - used ? (size_t)n : cap - 1 - used;
            memcpy(buf + used, tmp, k);
            used += k;
        }
    }
    if (buf)
        buf[used] = 0;
    libssh2_channel_close(ch);
    libssh2_channel_wait_closed(ch);
    int status = libssh2_channel_get_exit_status(ch);
    libssh2_channel_free(ch);
    return status;
}

static void sftp_get(LIBSSH2_SESSION *s, const char *src, const char *dst)
{
    char *buf = malloc(BUF);
    double t0 = now();
    LIBSSH2_SFTP *sftp = libssh2_sftp_init(s);
    if (!sftp)
        die(s, "sftp_init");
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open(sftp, src, LIBSSH2_FXF_READ, 0);
    if (!h)
        die(s, "sftp_open");
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        die(NULL, "open local");
    for (;;) {
        ssize_t n = libssh2_sftp_read(h, buf, BUF);
        if (n < 0)
            die(s, "sftp_read");
        if (n == 0)
            break;
        if (write(out, buf, n) != n)
            die(NULL, "write local");
    }
    close(out);
    libssh2_sftp_close(h);
    libssh2_sftp_shutdown(sftp);
    printf("BENCH xfer_s=%.6f\n", now() - t0);
    free(buf);
}

static void sftp_put(LIBSSH2_SESSION *s, const char *src, const char *dst)
{
    char *buf = malloc(BUF);
    double t0 = now();
    LIBSSH2_SFTP *sftp = libssh2_sftp_init(s);
    if (!sftp)
        die(s, "sftp_init");
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open(sftp, dst, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC,
                                               0644);
    if (!h)
        die(s, "sftp_open");
    int in = open(src, O_RDONLY);
    if (in < 0)
        die(NULL, "open local");
    for (;;) {
        ssize_t n = read(in, buf, BUF);
        if (n < 0)
            die(NULL, "read local");
        if (n == 0)
            break;
        char *p = buf;
        while (n > 0) {
            ssize_t w = libssh2_sftp_write(h, p, n);
            if (w < 0)
                die(s, "sftp_write");
            p += w;
            n -= w;
        }
    }
    close(in);
    if (libssh2_sftp_close(h))
        die(s, "sftp_close");
    libssh2_sftp_shutdown(sftp);
    printf("BENCH xfer_s=%.6f\n", now() - t0);
    free(buf);
}

static void scp_get(LIBSSH2_SESSION *s, const char *src, const char *dst)
{
    char *buf = malloc(BUF);
    double t0 = now();
    libssh2_struct_stat st;
    LIBSSH2_CHANNEL *ch = libssh2_scp_recv2(s, src, &st);
    if (!ch)
        die(s, "scp_recv2");
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        die(NULL, "open local");
    libssh2_struct_stat_size left = st.st_size;
    while (left > 0) {
        ssize_t n = libssh2_channel_read(ch, buf, left < BUF ? (size_t)left : BUF);
        if (n <= 0)
            die(s, "scp read");
        if (write(out, buf, n) != n)
            die(NULL, "write local");
        left -= n;
    }
    close(out);
    libssh2_channel_free(ch);
    printf("BENCH xfer_s=%.6f\n", now() - t0);
    free(buf);
}

static void scp_put(LIBSSH2_SESSION *s, const char *src, const char *dst)
{
    char *buf = malloc(BUF);
    double t0 = now();
    int in = open(src, O_RDONLY);
    struct stat st;
    if (in < 0 || fstat(in, &st))
        die(NULL, "open local");
    LIBSSH2_CHANNEL *ch = libssh2_scp_send64(s, dst, 0644, st.st_size, 0, 0);
    if (!ch)
        die(s, "scp_send64");
    for (;;) {
        ssize_t n = read(in, buf, BUF);
        if (n < 0)
            die(NULL, "read local");
        if (n == 0)
            break;
        char *p = buf;
        while (n > 0) {
            ssize_t w = libssh2_channel_write(ch, p, n);
            if (w < 0)
                die(s, "scp write");
            p += w;
            n -= w;
        }
    }
    close(in);
    libssh2_channel_send_eof(ch);
    libssh2_channel_wait_eof(ch);
    libssh2_channel_wait_closed(ch);
    libssh2_channel_free(ch);
    printf("BENCH xfer_s=%.6f\n", now() - t0);
    free(buf);
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
    if (libssh2_init(0))
        die(NULL, "libssh2_init");
    int fd;
    if (!strcmp(w, "memory")) {
        int n = atoi(argv[2]);
        LIBSSH2_SESSION **ss = calloc(n, sizeof *ss);
        int *fds = calloc(n, sizeof *fds);
        long rss1 = 0;
        for (int i = 0; i < n; i++) {
            ss[i] = open_session(&fds[i]);
            if (i == 0)
                rss1 = rss_kib();
        }
        long rssn = rss_kib();
        printf("BENCH sessions=%d rss1_kib=%ld rssn_kib=%ld per_session_kib=%.1f\n", n, rss1, rssn,
               n > 1 ? (double)(rssn - rss1) / (n - 1) : 0.0);
        for (int i = 0; i < n; i++)
            close_session(ss[i], fds[i]);
        free(ss);
        free(fds);
        libssh2_exit();
        return 0;
    }
    LIBSSH2_SESSION *s = open_session(&fd);
    int rc = 0;
    if (!strcmp(w, "methods")) { /* what libssh2 negotiated with this server (for the report's header) */
        printf("kex=%s hostkey=%s cipher=%s mac=%s compression=%s\n", libssh2_session_methods(s, LIBSSH2_METHOD_KEX),
               libssh2_session_methods(s, LIBSSH2_METHOD_HOSTKEY), libssh2_session_methods(s, LIBSSH2_METHOD_CRYPT_CS),
               libssh2_session_methods(s, LIBSSH2_METHOD_MAC_CS), libssh2_session_methods(s, LIBSSH2_METHOD_COMP_CS));
    } else if (!strcmp(w, "echo")) {
        rc = run(s, argv[2], NULL, 0, stdout);
    } else if (!strcmp(w, "exec")) {
        int n = atoi(argv[2]), ok = 0;
        char cmd[64], want[64], got[256];
        double t0 = now(), c0 = cpu();
        for (int i = 0; i < n; i++) {
            snprintf(cmd, sizeof cmd, "echo %d", i);
            snprintf(want, sizeof want, "%d\n", i);
            if (run(s, cmd, got, sizeof got, NULL) == 0 && !strcmp(got, want))
                ok++;
        }
        printf("BENCH ok=%d loop_s=%.6f loop_cpu_s=%.6f\n", ok, now() - t0, cpu() - c0);
    } else if (argc >= 4 && !strcmp(w, "sftp_get")) {
        sftp_get(s, argv[2], argv[3]);
    } else if (argc >= 4 && !strcmp(w, "sftp_put")) {
        sftp_put(s, argv[2], argv[3]);
    } else if (argc >= 4 && !strcmp(w, "scp_get")) {
        scp_get(s, argv[2], argv[3]);
    } else if (argc >= 4 && !strcmp(w, "scp_put")) {
        scp_put(s, argv[2], argv[3]);
    } else {
        fprintf(stderr, "libssh2_client: unknown workload %s\n", w);
        return 2;
    }
    fflush(stdout);
    close_session(s, fd);
    libssh2_exit();
    return rc;
}
