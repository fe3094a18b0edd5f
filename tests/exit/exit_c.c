/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exit_c MODE HELPER: keep every kind of xssh object alive, with traffic
 * flowing, and leave the process in one of these ways (exit code 7):
 *
 *   exit        exit(7) with everything alive
 *   return      return 7 from main with everything alive
 *   _exit       _exit(7) with everything alive (no atexit handler runs)
 *   unref_exit  drop every reference, parents first, then exit(7)
 *   fork_exit   fork a child that calls exit(0) (xssh's exit handler runs in the
 *               child), then check the parent's sessions and forwards still
 *               work (the child touched none of them), then exit(7)
 *   close_exit  close every session we hold; check no xssh thread is left
 *               (close joins the session's forwards and ProxyJump carrier and
 *               releases the hop chain), then exit(7)
 *
 * Alive: a session S with a channel mid-command (the helper's sink and stream
 * commands), an SFTP handle, a listener, a local and a remote forward each
 * carrying a live connection (the helper streams into both), a 2-hop ProxyJump
 * chain S -> H2 -> T (S is the first hop) streaming `cat /dev/zero` to a reader
 * thread, and a second target T2 through the same hops, closed (its hops live on).
 *
 * In every mode but _exit an OPENSSL_atexit handler (run by OPENSSL_cleanup)
 * checks that no xssh thread is alive at that point, i.e. that xssh's exit
 * guard ran before OpenSSL's cleanup and joined them: exit code 98 if not.
 * Other failures: 2 (setup; the message says what). Reads $XSSH_TEST_ENV.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xssh.h>

static char host[256], user[256], key[1024], known_hosts[1024];
static int port;

static void die(const char *what)
{
    fprintf(stderr, "exit_c: %s: %s\n", what, xssh_error_last()->message);
    _exit(2);
}

static void read_env(void)
{
    const char *path = getenv("XSSH_TEST_ENV");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "exit_c: XSSH_TEST_ENV not set or unreadable\n");
        _exit(2);
    }
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *v = strchr(line, '=');
        if (!v)
            continue;
        *v++ = 0;
        if (!strcmp(line, "XSSH_TEST_HOST"))
            snprintf(host, sizeof host, "%s", v);
        else if (!strcmp(line, "XSSH_TEST_PORT"))
            port = atoi(v);
        else if (!strcmp(line, "XSSH_TEST_USER"))
            snprintf(user, sizeof user, "%s", v);
        else if (!strcmp(line, "XSSH_TEST_KEY_ED25519"))
            snprintf(key, sizeof key, "%s", v);
        else if (!strcmp(line, "XSSH_TEST_KNOWN_HOSTS"))
            snprintf(known_hosts, sizeof known_hosts, "%s", v);
    }
    fclose(f);
}

static xssh_session *hop(xssh_session *via)
{
    xssh_session *s = NULL;
    if (xssh_session_new(&s))
        die("session_new");
    int rc = via ? xssh_session_connect_via(s, via, host, port, 30000) : xssh_session_connect(s, host, port, 30000);
    if (!rc)
        rc = xssh_session_verify_host(s, host, port, XSSH_HOSTKEY_STRICT, known_hosts);
    if (!rc)
        rc = xssh_session_userauth_publickey_fromfile(s, user, key, NULL, NULL);
    if (rc)
        die(via ? "connect_via" : "connect");
    return s;
}

static xssh_channel *start(xssh_session *s, const char *cmd)
{
    xssh_channel *ch = NULL;
    if (xssh_channel_open_session(&ch, s) || xssh_channel_execute(ch, cmd))
        die(cmd);
    return ch;
}

/* read one line of the command's stdout */
static void read_line(xssh_channel *ch, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        size_t got = 0;
        if (xssh_channel_read(ch, buf + n, 1, &got) || got == 0)
            die("reading the helper's first line");
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
}

static atomic_ullong streamed;
static _Atomic pid_t reader_tid;

static void *reader(void *arg)
{
    xssh_channel *ch = arg;
    atomic_store(&reader_tid, gettid());
    static char buf[65536];
    for (;;) {
        size_t got = 0;
        if (xssh_channel_read(ch, buf, sizeof buf, &got) || got == 0)
            return NULL; /* the session was closed under us (the exit guard): a clean error */
        atomic_fetch_add(&streamed, got);
    }
}

/* threads of this process other than main and the reader: xssh's (they are
   named "xssh-...", but this does not rely on it) */
static int xssh_threads(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid != getpid() && tid != atomic_load(&reader_tid))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static void at_openssl_cleanup(void)
{
    int n = xssh_threads();
    if (n) {
        fprintf(stderr, "exit_c: %d xssh thread(s) still alive when OPENSSL_cleanup began\n", n);
        _exit(98);
    }
}

static void wait_for(int (*cond)(void *), void *arg, const char *what)
{
    /* a condition forced by the helper; bounded so a broken setup fails, not hangs */
    for (int i = 0; i < 6000 && !cond(arg); i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (!cond(arg)) {
        fprintf(stderr, "exit_c: %s never happened\n", what);
        _exit(2);
    }
}

static int fwd_carried(void *arg)
{
    xssh_forward_stats st;
    return xssh_forward_get_stats(arg, &st) == 0 && st.bytes_out + st.bytes_in > 0;
}

static int t_streamed(void *arg)
{
    (void)arg;
    return atomic_load(&streamed) > 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: exit_c exit|return|_exit|unref_exit|fork_exit|close_exit HELPER\n");
        return 2;
    }
    const char *mode = argv[1], *helper = argv[2];
    read_env();
    char cmd[2048], line[64];

    xssh_session *S = hop(NULL);
    snprintf(cmd, sizeof cmd, "exec python3 %s sink", helper);
    xssh_channel *sink = start(S, cmd);
    read_line(sink, line, sizeof line);
    int sink_port = atoi(line);
    xssh_forward *L = NULL, *R = NULL;
    if (xssh_forward_local(&L, S, "127.0.0.1", 0, "127.0.0.1", sink_port))
        die("forward_local");
    if (xssh_forward_remote(&R, S, "127.0.0.1", 0, "127.0.0.1", sink_port))
        die("forward_remote");
    int lport = 0, rport = 0, listen_port = 0;
    xssh_forward_port(L, &lport);
    xssh_forward_port(R, &rport);
    xssh_listener *lst = NULL;
    if (xssh_session_forward_listen(&lst, S, "127.0.0.1", 0, 0, &listen_port))
        die("forward_listen");
    snprintf(cmd, sizeof cmd, "exec python3 %s stream %d %d", helper, lport, rport);
    xssh_channel *streamer = start(S, cmd);
    read_line(streamer, line, sizeof line);
    xssh_sftp *sftp = NULL;
    xssh_sftp_file *fh = NULL;
    if (xssh_sftp_new(&sftp, S) || xssh_sftp_open(&fh, sftp, helper, XSSH_FXF_READ, 0))
        die("sftp open");

    xssh_session *H2 = hop(S);
    xssh_session *T = hop(H2);
    xssh_session *T2 = hop(H2);
    xssh_session_unref(H2); /* the chain keeps the hop alive */
    xssh_channel *zero = start(T, "exec cat /dev/zero");
    pthread_t rd;
    pthread_create(&rd, NULL, reader, zero);
    if (xssh_session_disconnect(T2)) /* closed target, hops alive: the reported crash */
        die("disconnect T2");
    wait_for(fwd_carried, L, "traffic through the local forward");
    wait_for(fwd_carried, R, "traffic through the remote forward");
    wait_for(t_streamed, NULL, "traffic through the ProxyJump chain");

    if (strcmp(mode, "_exit") != 0)
        OPENSSL_atexit(at_openssl_cleanup);
    if (!strcmp(mode, "_exit"))
        _exit(7);
    if (!strcmp(mode, "exit"))
        exit(7);
    if (!strcmp(mode, "return"))
        return 7;
    if (!strcmp(mode, "unref_exit")) {
        xssh_session_unref(S); /* parents first: children keep what they need */
        xssh_session_unref(T);
        xssh_session_unref(T2);
        xssh_sftp_unref(sftp);
        xssh_forward_unref(L);
        xssh_listener_unref(lst);
        xssh_channel_unref(sink);
        xssh_forward_unref(R);
        xssh_sftp_file_unref(fh);
        xssh_channel_unref(streamer);
        exit(7); /* the reader thread still holds `zero` (and so T and the chain) */
    }
    if (!strcmp(mode, "fork_exit")) {
        pid_t pid = fork();
        if (pid == 0)
            exit(0);
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "exit_c: the forked child did not exit cleanly (status %d)\n", st);
            _exit(96);
        }
        xssh_run_result *r = NULL;
        if (xssh_session_run(S, "echo parent", NULL, &r) || strcmp(r->out, "parent\n") != 0) {
            fprintf(stderr, "exit_c: the parent's session broke when the child exited: %s\n", xssh_error_last()->message);
            _exit(96);
        }
        xssh_run_result_free(r);
        unsigned long long before = atomic_load(&streamed);
        for (int i = 0; i < 6000 && atomic_load(&streamed) == before; i++)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        if (atomic_load(&streamed) == before || xssh_threads() != 4) { /* L, R, the carriers of T and H2 */
            fprintf(stderr, "exit_c: the parent's ProxyJump chain or forwards broke when the child exited\n");
            _exit(96);
        }
        exit(7);
    }
    if (!strcmp(mode, "close_exit")) {
        xssh_session_close(T);
        xssh_session_disconnect(S);
        xssh_session_close(T2);
        pthread_join(rd, NULL); /* T closed: the read fails */
        atomic_store(&reader_tid, 0);
        int n = xssh_threads();
        if (n) {
            fprintf(stderr, "exit_c: %d xssh thread(s) still alive after every session was closed\n", n);
            _exit(97);
        }
        int running = 1;
        if (xssh_forward_is_running(L, &running) || running) {
            fprintf(stderr, "exit_c: the local forward runs after its session was closed\n");
            _exit(97);
        }
        exit(7);
    }
    fprintf(stderr, "exit_c: unknown mode %s\n", mode);
    return 2;
}
