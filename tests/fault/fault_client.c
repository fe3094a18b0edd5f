/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One fault-sweep case from C: the C twin of fault_client.py (same scenarios,
 * arguments and output), started by fault_sweep.py once per case.
 *
 *   fault_client SCENARIO key=value ...
 *
 * Prints "MARK <phase>" when a phase starts (trace=1: then waits for a line on
 * stdin) and one final "RESULT {json}" with ok/verified or the xssh error
 * (code, name, message) and the phase it happened in.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xssh.h>

#define MAXARGS 32
static const char *keys[MAXARGS], *vals[MAXARGS];
static int nargs, trace, t_ms;
static const char *phase = "ident";

static const char *arg(const char *k)
{
    for (int i = 0; i < nargs; i++)
        if (!strcmp(keys[i], k))
            return vals[i];
    fprintf(stderr, "fault_client: missing argument %s\n", k);
    exit(2);
}

static void mark(const char *p)
{
    phase = p;
    printf("MARK %s\n", p);
    fflush(stdout);
    if (trace) {
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            exit(2);
    }
}

/* the first failure of the case (code and message), kept at once: clean-up
   calls (unref, disconnect) may change the thread's last error afterwards */
static int err_code;
static char err_msg[1024];

static void keep(void)
{
    const xssh_error *e = xssh_error_last();
    if (err_code)
        return;
    err_code = e->code;
    snprintf(err_msg, sizeof err_msg, "%s", e->message ? e->message : "");
}

#define TRY(call)                \
    do {                         \
        if ((call) != XSSH_OK) { \
            keep();              \
            return -1;           \
        }                        \
    } while (0)
#define FAIL()     \
    do {           \
        keep();    \
        goto done; \
    } while (0)

static char detail[512];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int session(int port, xssh_session **out)
{
    TRY(xssh_session_new(out));
    TRY(xssh_session_connect(*out, "127.0.0.1", port, t_ms));
    return 0;
}

static int auth(xssh_session *s)
{
    TRY(xssh_session_set_timeout(s, t_ms));
    TRY(xssh_session_userauth_publickey_fromfile(s, arg("user"), arg("key"), NULL, NULL));
    return 0;
}

static char *expected_seq(size_t *len)
{
    size_t cap = 200000, n = 0;
    char *b = malloc(cap);
    for (int i = 1; i <= 30000; i++)
        n += (size_t)snprintf(b + n, cap - n, "%d\n", i);
    *len = n;
    return b;
}

#define SEQ_CMD "seq 1 30000; exit 7"

static int check_output(const char *out, size_t len, int have, int st)
{
    size_t elen;
    char *exp = expected_seq(&elen);
    int ok = len == elen && !memcmp(out, exp, len);
    free(exp);
    if (!ok) {
        snprintf(detail, sizeof detail, "stdout has %zu bytes, want %zu (or differs)", len, elen);
        return 0;
    }
    if (!have || st != 7) {
        snprintf(detail, sizeof detail, "exit status (%d, have=%d), want 7", st, have);
        return 0;
    }
    snprintf(detail, sizeof detail, "output and exit status right");
    return 1;
}

/* sha256 (hex) of a file on the server, read through a new clean session */
static int clean_sha256(const char *path, char out[65])
{
    xssh_session *s = NULL;
    out[0] = 0;
    if (session(atoi(arg("direct_port")), &s) || auth(s)) {
        keep();
        xssh_session_unref(s);
        return -1;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null || echo missing", path);
    xssh_run_result *r = NULL;
    int rc = xssh_session_run(s, cmd, NULL, &r);
    if (rc == XSSH_OK) {
        snprintf(out, 65, "%.64s", r->out);
        xssh_run_result_free(r);
    } else {
        keep();
    }
    xssh_session_disconnect(s);
    xssh_session_unref(s);
    return rc == XSSH_OK ? 0 : -1;
}

/* each scenario: 0 and *verified set, or -1 with the xssh error of this thread */
static int sc_exec(xssh_session *s, int *verified)
{
    mark("auth");
    TRY(auth(s));
    mark("open");
    xssh_channel *ch = NULL;
    TRY(xssh_channel_open_session(&ch, s));
    int rc = -1;
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    mark("exec");
    if (xssh_channel_execute(ch, SEQ_CMD) != XSSH_OK)
        FAIL();
    mark("read");
    for (;;) {
        size_t got = 0;
        if (len == cap)
            break; /* more than expected: check_output says so */
        if (xssh_channel_read(ch, out + len, cap - len, &got) != XSSH_OK)
            FAIL();
        if (!got)
            break;
        len += got;
    }
    mark("close");
    if (xssh_channel_close(ch) != XSSH_OK || xssh_channel_wait_closed(ch) != XSSH_OK)
        FAIL();
    int st = 0, have = 0;
    if (xssh_channel_get_exit_status(ch, &st, &have) != XSSH_OK)
        FAIL();
    mark("end");
    *verified = check_output(out, len, have, st);
    rc = 0;
done:
    free(out);
    xssh_channel_unref(ch);
    return rc;
}

static int run_checked(xssh_session *s, int *verified)
{
    xssh_run_result *r = NULL;
    TRY(xssh_session_run(s, SEQ_CMD, NULL, &r));
    mark("end");
    *verified = check_output(r->out, r->out_len, r->have_exit_status, r->exit_status);
    xssh_run_result_free(r);
    return 0;
}

static int sc_run(xssh_session *s, int *verified)
{
    mark("auth");
    TRY(auth(s));
    mark("run");
    return run_checked(s, verified);
}

static int sc_transfer(xssh_session *s, const char *kind, int *verified)
{
    mark("auth");
    TRY(auth(s));
    xssh_sftp *sf = NULL;
    const char *check;
    int rc;
    uint64_t n = 0;
    if (!strncmp(kind, "sftp", 4)) {
        mark("sftp");
        TRY(xssh_sftp_new(&sf, s));
    }
    mark("transfer");
    if (!strcmp(kind, "sftp_get")) {
        rc = xssh_sftp_get(sf, arg("remote_src"), arg("local_dst"), NULL, &n);
        check = arg("local_dst");
    } else if (!strcmp(kind, "sftp_put")) {
        rc = xssh_sftp_put(sf, arg("local_src"), arg("remote_dst"), NULL, &n);
        check = arg("remote_dst");
    } else if (!strcmp(kind, "scp_get")) {
        rc = xssh_session_scp_get(s, arg("remote_src"), arg("local_dst"), NULL, &n);
        check = arg("local_dst");
    } else {
        rc = xssh_session_scp_put(s, arg("local_src"), arg("remote_dst"), NULL, &n);
        check = arg("remote_dst");
    }
    if (rc != XSSH_OK)
        keep();
    xssh_sftp_unref(sf);
    if (rc != XSSH_OK)
        return -1;
    mark("end");
    char got[65];
    if (clean_sha256(check, got))
        return -1;
    *verified = !strcmp(got, arg("sha256"));
    snprintf(detail, sizeof detail, "%s has sha256 %s, want %s", check, got, arg("sha256"));
    return 0;
}

static int sc_direct_tcpip(xssh_session *s, int *verified)
{
    mark("auth");
    TRY(auth(s));
    mark("open");
    xssh_channel *ch = NULL;
    TRY(xssh_session_direct_tcpip(&ch, s, "127.0.0.1", atoi(arg("inner_port")), NULL, 0));
    mark("echo");
    enum { N = 65536 };
    static unsigned char payload[N], got[2 * N];
    for (int i = 0; i < N; i++)
        payload[i] = (unsigned char)(i * 7 + (i >> 8));
    int rc = -1;
    size_t off = 0, len = 0;
    while (off < N) {
        size_t w = 0;
        if (xssh_channel_write(ch, payload + off, N - off > 16384 ? 16384 : N - off, &w) != XSSH_OK)
            FAIL();
        off += w;
    }
    if (xssh_channel_send_eof(ch) != XSSH_OK)
        FAIL();
    for (;;) {
        size_t n = 0;
        if (len == sizeof got)
            break;
        if (xssh_channel_read(ch, got + len, sizeof got - len, &n) != XSSH_OK)
            FAIL();
        if (!n)
            break;
        len += n;
    }
    mark("close");
    if (xssh_channel_close(ch) != XSSH_OK)
        FAIL();
    mark("end");
    *verified = len == N && !memcmp(got, payload, N);
    /* the far end may really have closed early (a fault on the inner leg): the
       sweep accepts an exact prefix then, and only then */
    snprintf(detail, sizeof detail, "echo returned %zu bytes, want %d (%s)", len, N,
             len <= N && !memcmp(got, payload, len) ? "a prefix" : "differs");
    rc = 0;
done:
    xssh_channel_unref(ch);
    return rc;
}

static int sc_proxyjump(xssh_session *jump, int *verified)
{
    mark("auth");
    TRY(auth(jump));
    mark("via");
    xssh_session *t = NULL;
    TRY(xssh_session_new(&t));
    int rc = -1;
    if (xssh_session_connect_via(t, jump, "127.0.0.1", atoi(arg("inner_port")), t_ms) != XSSH_OK)
        FAIL();
    mark("tauth");
    if (auth(t))
        FAIL();
    mark("run");
    if (run_checked(t, verified))
        FAIL();
    xssh_session_disconnect(t);
    rc = 0;
done:
    xssh_session_unref(t);
    return rc;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *scen = argv[1];
    for (int i = 2; i < argc && nargs < MAXARGS; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return 2;
        *eq = 0;
        keys[nargs] = argv[i];
        vals[nargs++] = eq + 1;
    }
    trace = !strcmp(arg("trace"), "1");
    t_ms = atoi(arg("timeout_ms"));
    double t0 = now_s();
    int verified = 0, rc;
    xssh_session *s = NULL;
    rc = session(atoi(arg("port")), &s);
    if (rc)
        keep();
    if (!rc) {
        if (!strcmp(scen, "exec"))
            rc = sc_exec(s, &verified);
        else if (!strcmp(scen, "run"))
            rc = sc_run(s, &verified);
        else if (!strcmp(scen, "direct_tcpip"))
            rc = sc_direct_tcpip(s, &verified);
        else if (!strcmp(scen, "proxyjump"))
            rc = sc_proxyjump(s, &verified);
        else
            rc = sc_transfer(s, scen, &verified);
    }
    /* the first error is reported (kept by keep()); the clean-up below may fail too */
    int code = err_code;
    const char *msg = err_msg;
    if (!rc)
        xssh_session_disconnect(s);
    xssh_session_unref(s);
    printf("RESULT {");
    if (!rc) {
        printf("\"ok\": true, \"verified\": %s, \"detail\": ", verified ? "true" : "false");
        json_str(detail);
    } else {
        printf("\"ok\": false, \"error\": {\"code\": %d, \"name\": ", code);
        json_str(xssh_err_name(code));
        printf(", \"message\": ");
        json_str(msg);
        printf("}");
    }
    printf(", \"phase\": ");
    json_str(phase);
    printf(", \"t\": %.3f}\n", now_s() - t0);
    fflush(stdout);
    return 0;
}
