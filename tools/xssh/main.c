/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh(1): run a command on many hosts, or copy files to and from them, from
 * ONE thread on xssh's multi interface (capi/include/xssh/multi.h): no process
 * and no thread per host. Manual: docs/man/xssh.1; guide: docs/cli.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum cmd { CMD_RUN, CMD_PUT, CMD_GET };
static const char *cmd_name[] = {"run", "put", "get"};

/* ---- help ------------------------------------------------------------------ */

static const char top_help[] =
    "Usage: xssh COMMAND [OPTIONS] ARGUMENTS\n"
    "Run a command on many hosts, or copy files to and from them, over SSH from one thread.\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] [--] COMMAND...   run COMMAND on every host\n"
    "  put [OPTIONS] LOCAL REMOTE      copy a local file (a directory with -r) to every host\n"
    "  get [OPTIONS] REMOTE [NAME]     copy a file (a directory with -r) from every host\n"
    "                                  into OUTDIR/HOST/NAME\n"
    "\n"
    "  xssh COMMAND --help             the options of COMMAND\n"
    "  -h, --help                      this help\n"
    "  -V, --version                   the versions of xssh and libssh2\n"
    "\n"
    "Exit status: 0 every host succeeded; 1 local error; 2 usage error; 3 a command or\n"
    "transfer timed out, or a command was killed by a signal; 4 a host failed (resolve,\n"
    "connect, host key, authentication, channel, transfer); 5 a command exited non-zero;\n"
    "128+N stopped by signal N (Ctrl-C: 130). See xssh(1).\n";

static const char hosts_help[] =
    "Hosts (at least one):\n"
    "  -H, --hosts FILE             hosts from FILE ('-': standard input): one [user@]host[:port]\n"
    "                               per line, '#' starts a comment (repeatable)\n"
    "      --host HOST              one host, [user@]host[:port] (repeatable)\n"
    "Connection (as ssh: ~/.ssh/config applies; these win over it):\n"
    "  -l, --user USER              remote user (a host's own user@ wins)\n"
    "  -p, --port PORT              port (a host's own :port wins)\n"
    "  -i, --identity FILE          private key file (repeatable)\n"
    "  -F, --config FILE            ssh_config file read instead of ~/.ssh/config and\n"
    "                               /etc/ssh/ssh_config, as ssh -F ('none': none)\n"
    "  -o, --option KEY=VALUE       any ssh_config(5) keyword, as ssh -o (repeatable)\n"
    "  -k, --host-key-checking POLICY\n"
    "                               StrictHostKeyChecking: yes, ask (as yes), accept-new, no, off\n"
    "Execution:\n"
    "  -j, --parallel N             at most N hosts at once (default 32; 0: no limit)\n"
    "      --connect-timeout SEC    connect + handshake, then host key + authentication, each\n"
    "                               within SEC seconds (default: ConnectTimeout, else 30)\n"
    "  -t, --timeout SEC            time limit of each host's %s (default 0: none)\n"
    "Display:\n"
    "  -q, --quiet                  no status line for hosts that succeeded, no summary\n"
    "      --no-progress            no progress line, even on a terminal\n"
    "  -v, --verbose                log connection decisions on stderr (-vv: debug)\n"
    "  -n, --dry-run                list the hosts as resolved (host, user, hostname, port), do nothing\n"
    "  -h, --help                   this help\n";

static const char run_help[] =
    "Usage: xssh run [OPTIONS] [--] COMMAND...\n"
    "Run COMMAND (its words joined by spaces, as ssh does) on every host.\n"
    "Output lines are printed as they arrive, prefixed \"HOST: \" (stdout to stdout, stderr to\n"
    "stderr); with -g each host's output is printed in one block at the end.\n"
    "\n"
    "  -g, --group                  print each host's output in one block at the end\n"
    "                               (hosts in list order), not line by line\n"
    "  -I, --send-input             read standard input once, send it to every command\n";

static const char put_help[] =
    "Usage: xssh put [OPTIONS] LOCAL REMOTE\n"
    "Copy the local file LOCAL to REMOTE on every host (REMOTE ending in '/': into that\n"
    "directory, same name). With -r, LOCAL may be a directory: its tree is copied.\n"
    "A file is written under a temporary name and renamed into place when complete.\n"
    "REMOTE may name the host: %n (as written in the list), %h (host name), %p (port),\n"
    "%r (remote user), %% (a '%').\n"
    "\n"
    "  -r, --recursive              copy a directory tree\n";

static const char get_help[] =
    "Usage: xssh get [OPTIONS] REMOTE [NAME]\n"
    "Copy REMOTE from every host into OUTDIR/HOST/NAME (HOST as written in the host list;\n"
    "NAME defaults to REMOTE's last component). With -r, REMOTE is a directory tree.\n"
    "A file is written under a temporary name and renamed into place when complete.\n"
    "REMOTE may name the host: %n, %h, %p, %r, %% (as for put).\n"
    "\n"
    "  -r, --recursive              copy a directory tree\n"
    "  -L, --outdir DIR             where the per-host directories go (default: .)\n";

static void print_help(FILE *f, int cmd)
{
    if (cmd < 0) {
        fputs(top_help, f);
        return;
    }
    fputs(cmd == CMD_RUN ? run_help : cmd == CMD_PUT ? put_help : get_help, f);
    fputc('\n', f);
    fprintf(f, hosts_help, cmd == CMD_RUN ? "command" : "transfer");
}

static int usage_error(int cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(int cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xssh%s%s: ", cmd >= 0 ? " " : "", cmd >= 0 ? cmd_name[cmd] : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'xssh %s--help'.\n", cmd >= 0 ? (cmd == CMD_RUN ? "run " : cmd == CMD_PUT ? "put " : "get ")
                                                            : "");
    return EX_USAGE;
}

/* ---- options ---------------------------------------------------------------- */

static int bad_token(const char *t);

typedef struct kv {
    char *key, *value;
} kv;

typedef struct args {
    int cmd;
    hostlist hosts;
    const char *user, *port, *config, *policy;
    const char **identities;
    size_t n_identities;
    kv *opts;
    size_t n_opts;
    long parallel;
    long connect_timeout_ms, timeout_ms;
    int quiet, no_progress, verbose, dry_run;
    int group, send_input, recursive;
    const char *outdir;
    int hosts_from_stdin;
    char *command; /* run */
    const char *src, *dst; /* put: LOCAL REMOTE; get: REMOTE NAME */
} args;

enum { OPT_HOST = 256, OPT_CONNECT_TIMEOUT, OPT_NO_PROGRESS };

static const struct option long_opts[] = {
    {"hosts", required_argument, NULL, 'H'},
    {"host", required_argument, NULL, OPT_HOST},
    {"user", required_argument, NULL, 'l'},
    {"port", required_argument, NULL, 'p'},
    {"identity", required_argument, NULL, 'i'},
    {"config", required_argument, NULL, 'F'},
    {"option", required_argument, NULL, 'o'},
    {"host-key-checking", required_argument, NULL, 'k'},
    {"parallel", required_argument, NULL, 'j'},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"timeout", required_argument, NULL, 't'},
    {"quiet", no_argument, NULL, 'q'},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"verbose", no_argument, NULL, 'v'},
    {"dry-run", no_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {"group", no_argument, NULL, 'g'},
    {"send-input", no_argument, NULL, 'I'},
    {"recursive", no_argument, NULL, 'r'},
    {"outdir", required_argument, NULL, 'L'},
    {NULL, 0, NULL, 0},
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "xssh: out of memory\n");
        exit(EX_LOCAL);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        fprintf(stderr, "xssh: out of memory\n");
        exit(EX_LOCAL);
    }
    return p;
}

/* seconds (decimal) -> ms; -1 when not a number in 0..1e6 */
static long parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e6)
        return -1;
    long ms = (long)ceil(v * 1000.0);
    return ms;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parse `xssh CMD ...` (argv[0] is CMD). 0, or an exit status (help printed: -1). */
static int parse_args(int argc, char **argv, int cmd, args *a)
{
    const char *shortopts = cmd == CMD_RUN ? "+:H:l:p:i:F:o:k:j:t:qvnhgI"
                            : cmd == CMD_PUT ? "+:H:l:p:i:F:o:k:j:t:qvnhr"
                                             : "+:H:l:p:i:F:o:k:j:t:qvnhrL:";
    char err[1024];
    a->cmd = cmd;
    a->parallel = 32;
    a->outdir = ".";
    optind = 1;
    opterr = 0;
    int c, li;
    while ((c = getopt_long(argc, argv, shortopts, long_opts, &li)) != -1) {
        /* the long options of another command are not this one's */
        if ((c == 'g' || c == 'I') && cmd != CMD_RUN)
            return usage_error(cmd, "option '%s' is for xssh run", argv[optind - 1]);
        if (c == 'r' && cmd == CMD_RUN)
            return usage_error(cmd, "option '%s' is for xssh put and get", argv[optind - 1]);
        if (c == 'L' && cmd != CMD_GET)
            return usage_error(cmd, "option '%s' is for xssh get", argv[optind - 1]);
        switch (c) {
        case 'H': {
            int usage;
            if (strcmp(optarg, "-") == 0) {
                if (a->hosts_from_stdin)
                    return usage_error(cmd, "-H - given twice");
                a->hosts_from_stdin = 1;
            }
            if (hosts_read_file(&a->hosts, optarg, err, sizeof err, &usage) != 0) {
                if (usage)
                    return usage_error(cmd, "%s", err);
                fprintf(stderr, "xssh %s: %s\n", cmd_name[cmd], err);
                return EX_LOCAL;
            }
            break;
        }
        case OPT_HOST:
            if (hosts_add(&a->hosts, optarg, "--host", err, sizeof err) != 0)
                return usage_error(cmd, "%s", err);
            break;
        case 'l':
            if (!*optarg)
                return usage_error(cmd, "--user: empty user name");
            a->user = optarg;
            break;
        case 'p': {
            long v;
            if (parse_long(optarg, 1, 65535, &v) != 0)
                return usage_error(cmd, "--port: '%s' is not a port (1..65535)", optarg);
            a->port = optarg;
            break;
        }
        case 'i':
            a->identities = xrealloc(a->identities, (a->n_identities + 1) * sizeof *a->identities);
            a->identities[a->n_identities++] = optarg;
            break;
        case 'F':
            a->config = optarg;
            break;
        case 'o': {
            /* "Key=Value" or "Key Value", as ssh -o */
            size_t k = strcspn(optarg, "= \t");
            if (k == 0 || !optarg[k])
                return usage_error(cmd, "-o '%s': expected KEY=VALUE (an ssh_config keyword and its value)",
                                   optarg);
            const char *v = optarg + k;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v == '=')
                v++;
            while (*v == ' ' || *v == '\t')
                v++;
            a->opts = xrealloc(a->opts, (a->n_opts + 1) * sizeof *a->opts);
            a->opts[a->n_opts].key = strndup(optarg, k);
            a->opts[a->n_opts].value = xstrdup(v);
            if (!a->opts[a->n_opts].key) {
                fprintf(stderr, "xssh: out of memory\n");
                exit(EX_LOCAL);
            }
            a->n_opts++;
            break;
        }
        case 'k':
            a->policy = optarg;
            break;
        case 'j':
            if (parse_long(optarg, 0, 1000000, &a->parallel) != 0)
                return usage_error(cmd, "--parallel: '%s' is not a number of hosts (0..1000000)", optarg);
            break;
        case OPT_CONNECT_TIMEOUT:
            if ((a->connect_timeout_ms = parse_seconds(optarg)) < 0)
                return usage_error(cmd, "--connect-timeout: '%s' is not a number of seconds (0..1000000)", optarg);
            break;
        case 't':
            if ((a->timeout_ms = parse_seconds(optarg)) < 0)
                return usage_error(cmd, "--timeout: '%s' is not a number of seconds (0..1000000)", optarg);
            break;
        case 'q':
            a->quiet = 1;
            break;
        case OPT_NO_PROGRESS:
            a->no_progress = 1;
            break;
        case 'v':
            a->verbose++;
            break;
        case 'n':
            a->dry_run = 1;
            break;
        case 'h':
            print_help(stdout, cmd);
            return -1;
        case 'g':
            a->group = 1;
            break;
        case 'I':
            a->send_input = 1;
            break;
        case 'r':
            a->recursive = 1;
            break;
        case 'L':
            if (!*optarg)
                return usage_error(cmd, "--outdir: empty directory name");
            a->outdir = optarg;
            break;
        case ':':
            return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && optopt < 256)
                return usage_error(cmd, "unknown option '-%c'", optopt);
            return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    int rest = argc - optind;
    char **pos = argv + optind;
    if (cmd == CMD_RUN) {
        if (rest < 1)
            return usage_error(cmd, "no command given (xssh run [OPTIONS] -- COMMAND)");
        size_t len = 1;
        for (int i = 0; i < rest; i++)
            len += strlen(pos[i]) + 1;
        a->command = xrealloc(NULL, len);
        a->command[0] = '\0';
        for (int i = 0; i < rest; i++) {
            if (i)
                strcat(a->command, " ");
            strcat(a->command, pos[i]);
        }
        if (!a->command[strspn(a->command, " \t")])
            return usage_error(cmd, "the command is empty");
        if (a->send_input && a->hosts_from_stdin)
            return usage_error(cmd, "--send-input and -H - both want standard input");
    } else if (cmd == CMD_PUT) {
        if (rest != 2)
            return usage_error(cmd, "expected LOCAL REMOTE (%d argument%s given)", rest, rest == 1 ? "" : "s");
        a->src = pos[0];
        a->dst = pos[1];
        if (!*a->src || !*a->dst)
            return usage_error(cmd, "empty path");
        int t = bad_token(a->dst);
        if (t)
            return usage_error(cmd, t == '$' ? "REMOTE '%s': a lone '%%' at the end (%%%% for a '%%')"
                                             : "REMOTE '%s': unknown token '%%%c' (%%n %%h %%p %%r %%%%)",
                               a->dst, t);
    } else {
        if (rest < 1 || rest > 2)
            return usage_error(cmd, "expected REMOTE [NAME] (%d arguments given)", rest);
        a->src = pos[0];
        a->dst = rest == 2 ? pos[1] : NULL;
        if (!*a->src || (a->dst && !*a->dst))
            return usage_error(cmd, "empty path");
        int t = bad_token(a->src);
        if (t)
            return usage_error(cmd, t == '$' ? "REMOTE '%s': a lone '%%' at the end (%%%% for a '%%')"
                                             : "REMOTE '%s': unknown token '%%%c' (%%n %%h %%p %%r %%%%)",
                               a->src, t);
    }
    if (a->hosts.n == 0)
        return usage_error(cmd, "no hosts (give -H FILE or --host HOST)");
    return 0;
}

/* the ssh options every host starts from; 0 or an exit status */
static int build_options(const args *a, xssh_options **out)
{
    xssh_options *o = NULL;
    if (xssh_options_new(&o) != XSSH_OK) {
        fprintf(stderr, "xssh: out of memory\n");
        return EX_LOCAL;
    }
    struct {
        const char *k, *v, *flag;
    } set[] = {
        {"ConfigFile", a->config, "--config"},
        {"User", a->user, "--user"},
        {"Port", a->port, "--port"},
        {"StrictHostKeyChecking", a->policy, "--host-key-checking"},
    };
    /* explicit values: the first one given wins (as ssh), so the dedicated
       options come before the -o ones */
    const char *flag = NULL;
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        flag = set[i].flag;
        if (set[i].v && xssh_options_set(o, set[i].k, set[i].v) != XSSH_OK)
            goto bad;
    }
    flag = "--identity";
    for (size_t i = 0; i < a->n_identities; i++)
        if (xssh_options_set(o, "IdentityFile", a->identities[i]) != XSSH_OK)
            goto bad;
    flag = "-o";
    for (size_t i = 0; i < a->n_opts; i++)
        if (xssh_options_set(o, a->opts[i].key, a->opts[i].value) != XSSH_OK)
            goto bad;
    *out = o;
    return 0;
bad:
    usage_error(a->cmd, "%s: %s", flag, xssh_error_last()->message);
    xssh_options_unref(o);
    return EX_USAGE;
}

/* ---- resolved view: -n and the IPv6-without-port case ------------------------ */

static char *resolved_value(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return strndup(p + kl + 1, n - kl - 1);
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* resolve h through the options (~/.ssh/config, -o...): hostname, user, port */
static int resolve_host(xssh_options *o, const host *h, char **hostname, char **user, int *port)
{
    char *q = xrealloc(NULL, strlen(h->name) + (h->user ? strlen(h->user) : 0) + 2);
    sprintf(q, "%s%s%s", h->user ? h->user : "", h->user ? "@" : "", h->name);
    char *text = NULL;
    int rc = xssh_options_resolve(o, q, &text);
    free(q);
    if (rc != XSSH_OK)
        return rc;
    *hostname = resolved_value(text, "hostname");
    *user = h->user ? xstrdup(h->user) : resolved_value(text, "user");
    char *p = resolved_value(text, "port");
    *port = h->port ? h->port : (p ? atoi(p) : 22);
    free(p);
    xssh_free(text);
    return XSSH_OK;
}

/* put/get paths may name the host: %n (as written in the list), %h (host name after
   ssh_config), %p (port), %r (remote user), %% (a '%'). The bad token, or 0. */
static int bad_token(const char *t)
{
    for (const char *p = t; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p != 'n' && *p != 'h' && *p != 'p' && *p != 'r' && *p != '%')
            return *p ? *p : '$'; /* a '%' at the end */
    }
    return 0;
}

static char *expand_tokens(const char *t, const host *h, xssh_options *o)
{
    if (!strchr(t, '%'))
        return xstrdup(t);
    char *hn = NULL, *us = NULL;
    int port = 0;
    if (resolve_host(o, h, &hn, &us, &port) != XSSH_OK)
        return NULL;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    size_t cap = strlen(t) + 1, n = 0;
    char *out = xrealloc(NULL, cap);
    for (const char *p = t; *p; p++) {
        const char *add = NULL;
        char one[2] = {*p, 0};
        if (*p == '%') {
            p++;
            add = *p == 'n' ? h->label : *p == 'h' ? (hn ? hn : h->name) : *p == 'p' ? portbuf
                : *p == 'r' ? (us ? us : "") : "%";
        } else {
            add = one;
        }
        size_t l = strlen(add);
        if (n + l + 1 > cap) {
            cap = (n + l + 1) * 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + n, add, l);
        n += l;
    }
    out[n] = '\0';
    free(hn);
    free(us);
    return out;
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct state {
    args *a;
    xssh_multi *multi;
    size_t done, failed, cancelled;
    int stdout_broken;
} state;

static state *g_st;
static volatile sig_atomic_t g_signal;  /* first SIGINT/SIGTERM/SIGHUP received */
static volatile sig_atomic_t g_tty_progress;

static void on_signal(int sig)
{
    if (g_signal) {
        /* a second one: leave at once (temporary files may stay behind) */
        if (g_tty_progress) {
            static const char clr[] = "\r\033[K";
            ssize_t w = write(STDERR_FILENO, clr, sizeof clr - 1);
            (void)w;
        }
        _exit(EX_SIGNAL_BASE + sig);
    }
    g_signal = sig;
}

/* The stop signals are blocked except while waiting in ppoll(), and one perform
   step can run for long (a transfer whose socket never blocks): the callbacks also
   look for a stop signal still pending. Returns its number, or 0. */
static int stop_signal(void)
{
    if (g_signal)
        return g_signal;
    sigset_t p;
    if (sigpending(&p) == 0) {
        if (sigismember(&p, SIGINT))
            return SIGINT;
        if (sigismember(&p, SIGTERM))
            return SIGTERM;
        if (sigismember(&p, SIGHUP))
            return SIGHUP;
    }
    return 0;
}

/* stop_signal(), seen while hosts are being driven: the first time, the banner
   "SIGNAL: cancelling N hosts" (N: the hosts not done) goes out at once, whichever
   place noticed it (the drive loop, or a callback inside a perform step whose
   host is then reported cancelled: the banner comes before that line) */
static int g_banner; /* the banner is out */
static int stop_requested(void)
{
    int sig = stop_signal();
    if (sig && !g_banner && g_st) {
        g_banner = 1;
        int n = 0;
        for (size_t i = 0; i < g_st->a->hosts.n; i++)
            if (g_st->a->hosts.v[i].op && g_st->a->hosts.v[i].outcome == OUT_PENDING)
                n++;
        ui_msg("%s: cancelling %d host%s", strsignal(sig), n, n == 1 ? "" : "s");
    }
    return sig;
}

static int on_output(xssh_multi_op *op, int stream, const char *data, size_t len, void *ud)
{
    host *h = ud;
    (void)op;
    if (g_st->stdout_broken || stop_requested())
        return 1;
    if (ui_prefixed(stream == XSSH_STREAM_STDERR ? stderr : stdout, h->label, data, len) != 0) {
        g_st->stdout_broken = 1;
        return 1;
    }
    return 0;
}

static int on_progress(uint64_t done, uint64_t total, void *ud)
{
    host *h = ud;
    h->moving = 1;
    h->bytes = done;
    if (total > h->total && g_st->a->cmd == CMD_GET)
        h->total = total;
    return stop_requested() != 0;
}

static void on_done(xssh_multi_op *op, void *ud)
{
    host *h = ud;
    state *st = g_st;
    const xssh_multi_result *r = NULL;
    if (xssh_multi_op_result(op, &r) != XSSH_OK || !r) {
        h->outcome = OUT_FAILED;
        h->detail = xstrdup(xssh_error_last()->message);
    } else if (r->error == XSSH_OK) {
        h->bytes = r->bytes;
        if (st->a->cmd != CMD_RUN)
            h->outcome = OUT_OK;
        else if (r->exit_signal) {
            h->outcome = OUT_SIGNAL;
            h->detail = xstrdup(r->exit_signal);
        } else if (!r->have_exit_status) {
            h->outcome = OUT_EXIT;
            h->exit_status = -1;
        } else if (r->exit_status != 0) {
            h->outcome = OUT_EXIT;
            h->exit_status = r->exit_status;
        } else {
            h->outcome = OUT_OK;
        }
    } else {
        h->phase = r->phase;
        h->detail = xstrdup(r->message && *r->message ? r->message : xssh_strerror(r->error));
        if (r->error == XSSH_ECANCELLED && (stop_requested() || st->stdout_broken))
            h->outcome = OUT_CANCELLED;
        else if (r->error == XSSH_ETIMEOUT && (r->phase == XSSH_PHASE_COMMAND || r->phase == XSSH_PHASE_TRANSFER))
            h->outcome = OUT_TIMEOUT;
        else
            h->outcome = OUT_FAILED;
    }
    if (r) {
        h->duration_ms = r->duration_ms;
        if (st->a->cmd == CMD_RUN && st->a->group) {
            h->out = r->out ? r->out : "";
            h->out_len = r->out ? r->out_len : 0;
            h->err = r->err ? r->err : "";
            h->err_len = r->err ? r->err_len : 0;
            h->out_trunc = r->out_truncated;
            h->err_trunc = r->err_truncated;
        }
    }
    /* a get that failed leaves no empty per-host directory behind */
    if (h->hostdir && h->outcome != OUT_OK)
        rmdir(h->hostdir);
    st->done++;
    if (h->outcome == OUT_CANCELLED)
        st->cancelled++; /* stopped by us (Ctrl-C, closed stdout): not the host's failure */
    else if (h->outcome != OUT_OK)
        st->failed++;

    char pos[64], b[32];
    snprintf(pos, sizeof pos, "[%zu/%zu]", st->done, st->a->hosts.n);
    switch (h->outcome) {
    case OUT_OK:
        if (!ui_quiet()) {
            if (st->a->cmd == CMD_RUN)
                ui_msg("%s %s: ok", pos, h->label);
            else
                ui_msg("%s %s: ok, %s", pos, h->label, ui_bytes(h->bytes, b, sizeof b));
        }
        break;
    case OUT_EXIT:
        if (h->exit_status < 0)
            ui_msg("%s %s: exited without an exit status", pos, h->label);
        else
            ui_msg("%s %s: exit %d", pos, h->label, h->exit_status);
        break;
    case OUT_SIGNAL:
        ui_msg("%s %s: killed by signal %s", pos, h->label, h->detail);
        break;
    case OUT_TIMEOUT:
        ui_msg("%s %s: timed out (%s): %s", pos, h->label, xssh_phase_name(h->phase), h->detail);
        break;
    case OUT_CANCELLED:
        ui_msg("%s %s: cancelled", pos, h->label);
        break;
    default:
        ui_msg("%s %s: failed (%s): %s", pos, h->label, xssh_phase_name(h->phase), h->detail);
        break;
    }
}

static void counts(state *st, ui_counts *c)
{
    memset(c, 0, sizeof *c);
    c->total = st->a->hosts.n;
    c->done = st->done;
    c->failed = st->failed;
    c->cancelled = st->cancelled;
    c->transfer = st->a->cmd != CMD_RUN;
    for (size_t i = 0; i < st->a->hosts.n; i++) {
        host *h = &st->a->hosts.v[i];
        c->bytes += h->bytes;
        c->bytes_total += h->total;
        if (h->outcome == OUT_PENDING && h->op) {
            int s = xssh_multi_op_state(h->op);
            if (s == XSSH_OP_RUNNING)
                c->running++;
            else if (s == XSSH_OP_QUEUED)
                c->queued++;
        }
    }
}

/* Cancel every host not done. A cancelled upload still removes its remote temporary
   file: the multi lets the cleanup of the interrupted call wait for a bounded grace
   (docs/multi.md). An upload under way also stops at its next progress report (its
   callback returns nonzero once a signal came). */
static void cancel_all(state *st)
{
    for (size_t i = 0; i < st->a->hosts.n; i++) {
        host *h = &st->a->hosts.v[i];
        if (h->op && h->outcome == OUT_PENDING)
            xssh_multi_op_cancel(h->op);
    }
}

/* drive the multi until every op is done; signals only arrive inside ppoll() */
static int drive(state *st)
{
    xssh_multi_pollfd *xf = NULL;
    struct pollfd *pf = NULL;
    size_t cap = 0;
    int running = 0, cancelled = 0;
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &orig);
    sigset_t waitmask = orig;
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGHUP);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    g_tty_progress = ui_is_tty();

    /* the first line: nothing started yet (every host waiting) */
    ui_counts c;
    counts(st, &c);
    ui_progress(&c, 1);
    int rc = xssh_multi_perform(st->multi, &running);
    size_t last_done = st->done;
    while (rc == XSSH_OK && running > 0) {
        int sig = stop_requested();
        if ((sig || st->stdout_broken) && !cancelled) {
            cancelled = 1;
            cancel_all(st);
            rc = xssh_multi_perform(st->multi, &running);
            continue;
        }
        size_t n = 0;
        long tmo = -1;
        for (;;) {
            if (xssh_multi_fds(st->multi, xf, cap, &n, &tmo) != XSSH_OK) {
                rc = -1;
                break;
            }
            if (n <= cap)
                break;
            cap = n + 16;
            xf = xrealloc(xf, cap * sizeof *xf);
            pf = xrealloc(pf, cap * sizeof *pf);
        }
        if (rc != XSSH_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            pf[i].fd = xf[i].fd;
            pf[i].events = (short)(((xf[i].events & XSSH_POLL_IN) ? POLLIN : 0) |
                                   ((xf[i].events & XSSH_POLL_OUT) ? POLLOUT : 0));
            pf[i].revents = 0;
        }
        /* a transfer's byte count moves without a host finishing: redraw it
           while waiting too (the line is only drawn on a terminal) */
        if (ui_is_tty() && c.transfer && (tmo < 0 || tmo > 200))
            tmo = 200;
        struct timespec ts, *tsp = NULL;
        if (tmo >= 0) {
            ts.tv_sec = tmo / 1000;
            ts.tv_nsec = (tmo % 1000) * 1000000L;
            tsp = &ts;
        }
        int pr = ppoll(n ? pf : NULL, n, tsp, &waitmask);
        if (pr < 0 && errno != EINTR) {
            ui_msg("poll: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (pr < 0)
            continue; /* a signal: cancel at the top */
        rc = xssh_multi_perform(st->multi, &running);
        /* on_done has seen them; the host list holds its own references */
        xssh_multi_op *fin;
        while (xssh_multi_info_read(st->multi, &fin) == 1)
            xssh_multi_op_unref(fin);
        /* (a callback's banner is out but the hosts are not cancelled yet: the
           line would still count them running; the loop's top cancels them) */
        if (ui_is_tty() && !(g_banner && !cancelled)) {
            counts(st, &c);
            ui_progress(&c, st->done != last_done);
        }
        last_done = st->done;
    }
    if (rc != XSSH_OK)
        ui_msg("driving the hosts failed: %s", xssh_error_last()->message);
    ui_clear();
    free(xf);
    free(pf);
    return rc == XSSH_OK ? 0 : -1;
}

/* ---- put/get preparation ------------------------------------------------------ */

static uint64_t g_tree_bytes;
static int tree_sum(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(sb->st_mode))
        g_tree_bytes += (uint64_t)sb->st_size;
    return 0;
}

static const char *base_name(const char *path, char *buf, size_t size)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && path[s - 1] != '/')
        s--;
    snprintf(buf, size, "%.*s", (int)(n - s), path + s);
    return buf;
}

static int mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            *s = '/';
        }
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    struct stat sb;
    if (rc == 0 && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        errno = ENOTDIR;
        rc = -1;
    }
    return rc;
}

/* ---- main ---------------------------------------------------------------------- */

static void log_cb(int level, const char *hostname, const char *message, void *ud)
{
    (void)level;
    (void)ud;
    ui_msg("%s%s%s", hostname && *hostname ? hostname : "", hostname && *hostname ? ": " : "", message);
}

static int read_all_stdin(char **buf, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = xrealloc(NULL, cap);
    for (;;) {
        if (n == cap) {
            if (cap >= ((size_t)1 << 30)) {
                free(b);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            b = xrealloc(b, cap);
        }
        ssize_t r = read(STDIN_FILENO, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(b);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return 0;
}

static int run_command(args *a)
{
    int status = 0;
    xssh_options *o = NULL;
    xssh_multi *m = NULL;
    char *input = NULL;
    size_t input_len = 0;
    char *remote_path = NULL;
    hosts_dedup(&a->hosts);
    ui_init(a->no_progress, a->quiet);
    if ((status = build_options(a, &o)) != 0)
        return status;
    if (a->verbose)
        xssh_log_set(log_cb, NULL, a->verbose >= 2 ? XSSH_LOG_DEBUG : XSSH_LOG_INFO);

    /* one resolution up front: a configuration error is one message, not one per host */
    {
        char *hn = NULL, *us = NULL;
        int port = 0;
        int rc = resolve_host(o, &a->hosts.v[0], &hn, &us, &port);
        free(hn);
        free(us);
        if (rc == XSSH_ECONFIG) {
            fprintf(stderr, "xssh %s: %s\n", cmd_name[a->cmd], xssh_error_last()->message);
            xssh_options_unref(o);
            return EX_USAGE;
        }
    }
    if (a->dry_run) {
        for (size_t i = 0; i < a->hosts.n; i++) {
            host *h = &a->hosts.v[i];
            char *hn = NULL, *us = NULL;
            int port = 0;
            if (resolve_host(o, h, &hn, &us, &port) != XSSH_OK) {
                fprintf(stderr, "xssh: %s: %s\n", h->label, xssh_error_last()->message);
                status = EX_USAGE;
                continue;
            }
            printf("%s\t%s\t%s\t%d\n", h->label, us ? us : "", hn ? hn : h->name, port);
            free(hn);
            free(us);
        }
        xssh_options_unref(o);
        return status;
    }

    /* local side of transfers, checked once before any host is contacted */
    struct stat sb;
    int put_tree = 0;
    uint64_t put_size = 0;
    char name[PATH_MAX];
    if (a->cmd == CMD_PUT) {
        if (stat(a->src, &sb) != 0) {
            fprintf(stderr, "xssh put: %s: %s\n", a->src, strerror(errno));
            status = EX_LOCAL;
            goto out;
        }
        if (S_ISDIR(sb.st_mode)) {
            if (!a->recursive) {
                status = usage_error(a->cmd, "%s is a directory (copy its tree with -r)", a->src);
                goto out;
            }
            put_tree = 1;
            g_tree_bytes = 0;
            if (nftw(a->src, tree_sum, 64, 0) != 0) {
                fprintf(stderr, "xssh put: %s: %s\n", a->src, strerror(errno));
                status = EX_LOCAL;
                goto out;
            }
            put_size = g_tree_bytes;
        } else if (S_ISREG(sb.st_mode)) {
            if (access(a->src, R_OK) != 0) {
                fprintf(stderr, "xssh put: %s: %s\n", a->src, strerror(errno));
                status = EX_LOCAL;
                goto out;
            }
            put_size = (uint64_t)sb.st_size;
        } else {
            status = usage_error(a->cmd, "%s is not a regular file or a directory", a->src);
            goto out;
        }
        size_t dl = strlen(a->dst);
        if (a->dst[dl - 1] == '/') {
            base_name(a->src, name, sizeof name);
            if (!*name || strcmp(name, "/") == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                status = usage_error(a->cmd, "%s has no name to give the copy: write REMOTE in full", a->src);
                goto out;
            }
            remote_path = xrealloc(NULL, dl + strlen(name) + 1);
            sprintf(remote_path, "%s%s", a->dst, name);
        } else {
            remote_path = xstrdup(a->dst);
        }
    } else if (a->cmd == CMD_GET) {
        /* NAME, or REMOTE's last component (per host when it holds a %token) */
        if (a->dst)
            snprintf(name, sizeof name, "%s", a->dst);
        else
            base_name(a->src, name, sizeof name);
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            (a->dst && strchr(name, '%'))) {
            status = usage_error(a->cmd, a->dst ? "NAME '%s' must be one file name (no '/' or '%%', not . or ..)"
                                                : "REMOTE '%s' has no last component to name the copies: give NAME",
                                 a->dst ? a->dst : a->src);
            goto out;
        }
        if (mkdir_p(a->outdir) != 0) {
            fprintf(stderr, "xssh get: output directory %s: %s\n", a->outdir, strerror(errno));
            status = EX_LOCAL;
            goto out;
        }
    } else if (a->send_input) {
        if (read_all_stdin(&input, &input_len) != 0) {
            fprintf(stderr, "xssh run: reading standard input: %s\n", strerror(errno));
            status = EX_LOCAL;
            goto out;
        }
    }

    if (xssh_multi_new(&m) != XSSH_OK || xssh_multi_set_max_running(m, (int)a->parallel) != XSSH_OK) {
        fprintf(stderr, "xssh: %s\n", xssh_error_last()->message);
        status = EX_LOCAL;
        goto out;
    }
    /* prefixed lines reach a pipe as they arrive (xssh run ... | grep ...) */
    if (a->cmd == CMD_RUN && !a->group)
        setvbuf(stdout, NULL, _IOLBF, 0);
    state st = {.a = a, .multi = m};
    g_st = &st;
    signal(SIGPIPE, SIG_IGN);

    for (size_t i = 0; i < a->hosts.n; i++) {
        host *h = &a->hosts.v[i];
        xssh_multi_op_opts oo;
        memset(&oo, 0, sizeof oo);
        oo.connect_timeout_ms = a->connect_timeout_ms;
        oo.auth_timeout_ms = a->connect_timeout_ms;
        oo.timeout_ms = a->timeout_ms;
        oo.on_done = on_done;
        oo.userdata = h;
        int port_fallback = 0;
        if (!h->port && strchr(h->name, ':')) {
            /* a bare IPv6 address: the port is written out (from -p / ssh_config) */
            char *hn = NULL, *us = NULL;
            if (resolve_host(o, h, &hn, &us, &port_fallback) != XSSH_OK)
                port_fallback = 22;
            free(hn);
            free(us);
        }
        char *spec = hosts_spec(h, port_fallback);
        int rc;
        if (a->cmd == CMD_RUN) {
            oo.stdin_data = input;
            oo.stdin_len = input_len;
            if (a->group) {
                oo.max_output = (size_t)8 << 20;
            } else {
                oo.on_output = on_output;
                oo.line_mode = 1;
            }
            rc = xssh_multi_add_host_run(m, spec, o, a->command, &oo, &h->op);
        } else {
            h->topts.atomic = 1;
            h->topts.progress = on_progress;
            h->topts.userdata = h;
            oo.transfer = &h->topts;
            char *remote = expand_tokens(a->cmd == CMD_PUT ? remote_path : a->src, h, o);
            if (!remote) {
                fprintf(stderr, "xssh %s: %s: %s\n", cmd_name[a->cmd], h->label, xssh_error_last()->message);
                free(spec);
                status = EX_USAGE;
                goto out;
            }
            if (a->cmd == CMD_PUT) {
                h->total = put_size;
                oo.recursive = put_tree;
                rc = xssh_multi_add_host_put(m, spec, o, a->src, remote, &oo, &h->op);
            } else {
                char hname[PATH_MAX];
                if (!a->dst) {
                    base_name(remote, hname, sizeof hname);
                    if (!*hname || strcmp(hname, "/") == 0 || strcmp(hname, ".") == 0 || strcmp(hname, "..") == 0) {
                        fprintf(stderr, "xssh get: %s: REMOTE '%s' has no last component to name the copy: give NAME\n",
                                h->label, remote);
                        free(remote);
                        free(spec);
                        status = EX_USAGE;
                        goto out;
                    }
                } else {
                    snprintf(hname, sizeof hname, "%s", name);
                }
                char *dir = hosts_dirname(h);
                h->hostdir = xrealloc(NULL, strlen(a->outdir) + strlen(dir) + 2);
                sprintf(h->hostdir, "%s/%s", a->outdir, dir);
                free(dir);
                h->local = xrealloc(NULL, strlen(h->hostdir) + strlen(hname) + 2);
                sprintf(h->local, "%s/%s", h->hostdir, hname);
                if (mkdir(h->hostdir, 0777) != 0 && errno != EEXIST) {
                    fprintf(stderr, "xssh get: %s: %s\n", h->hostdir, strerror(errno));
                    free(remote);
                    free(spec);
                    status = EX_LOCAL;
                    goto out;
                }
                oo.recursive = a->recursive;
                rc = xssh_multi_add_host_get(m, spec, o, remote, h->local, &oo, &h->op);
            }
            free(remote);
        }
        free(spec);
        if (rc != XSSH_OK) {
            fprintf(stderr, "xssh %s: %s: %s\n", cmd_name[a->cmd], h->label, xssh_error_last()->message);
            status = rc == XSSH_EARG ? EX_USAGE : EX_LOCAL;
            goto out;
        }
    }

    int drc = drive(&st);

    /* grouped output: each host's block, in list order */
    if (a->cmd == CMD_RUN && a->group) {
        for (size_t i = 0; i < a->hosts.n && !st.stdout_broken; i++) {
            host *h = &a->hosts.v[i];
            char head[256];
            switch (h->outcome) {
            case OUT_OK: snprintf(head, sizeof head, "exit 0"); break;
            case OUT_EXIT:
                if (h->exit_status < 0)
                    snprintf(head, sizeof head, "no exit status");
                else
                    snprintf(head, sizeof head, "exit %d", h->exit_status);
                break;
            case OUT_SIGNAL: snprintf(head, sizeof head, "signal %s", h->detail); break;
            case OUT_TIMEOUT: snprintf(head, sizeof head, "timed out"); break;
            case OUT_CANCELLED: snprintf(head, sizeof head, "cancelled"); break;
            default: snprintf(head, sizeof head, "failed (%s)", xssh_phase_name(h->phase)); break;
            }
            char line[1024];
            int n = snprintf(line, sizeof line, "== %s: %s\n", h->label, head);
            if (ui_write(stdout, line, (size_t)n) != 0 || ui_write(stdout, h->out, h->out_len) != 0 ||
                (h->out_len && h->out[h->out_len - 1] != '\n' && ui_write(stdout, "\n", 1) != 0)) {
                st.stdout_broken = 1;
                break;
            }
            if (h->out_trunc) {
                n = snprintf(line, sizeof line, "== %s: stdout truncated (the first 8 MiB are shown)\n", h->label);
                ui_write(stdout, line, (size_t)n);
            }
            if (h->err_len) {
                n = snprintf(line, sizeof line, "== %s: stderr\n", h->label);
                ui_write(stderr, line, (size_t)n);
                ui_write(stderr, h->err, h->err_len);
                if (h->err[h->err_len - 1] != '\n')
                    ui_write(stderr, "\n", 1);
                if (h->err_trunc) {
                    n = snprintf(line, sizeof line, "== %s: stderr truncated (the first 8 MiB are shown)\n",
                                 h->label);
                    ui_write(stderr, line, (size_t)n);
                }
            }
        }
    }
    if (fflush(stdout) != 0)
        st.stdout_broken = 1;

    /* summary and exit status */
    size_t k[OUT_CANCELLED + 1] = {0};
    uint64_t bytes = 0;
    for (size_t i = 0; i < a->hosts.n; i++) {
        k[a->hosts.v[i].outcome]++;
        if (a->hosts.v[i].outcome == OUT_OK)
            bytes += a->hosts.v[i].bytes;
    }
    if (!a->quiet || k[OUT_PENDING] || k[OUT_CANCELLED]) {
        char sum[512], b[32];
        int n = snprintf(sum, sizeof sum, "%zu host%s: %zu ok", a->hosts.n, a->hosts.n == 1 ? "" : "s", k[OUT_OK]);
        static const char *what[] = {"not done", NULL, "exited non-zero", "killed by a signal", "timed out",
                                     "failed", "cancelled"};
        for (int j = OUT_EXIT; j <= OUT_CANCELLED; j++)
            if (k[j])
                n += snprintf(sum + n, sizeof sum - (size_t)n, ", %zu %s", k[j], what[j]);
        if (k[OUT_PENDING])
            n += snprintf(sum + n, sizeof sum - (size_t)n, ", %zu %s", k[OUT_PENDING], what[OUT_PENDING]);
        if (a->cmd != CMD_RUN)
            snprintf(sum + n, sizeof sum - (size_t)n, "; %s %s", ui_bytes(bytes, b, sizeof b),
                     a->cmd == CMD_PUT ? "sent" : "received");
        ui_msg("%s", sum);
    }
    if (st.stdout_broken)
        ui_msg("standard output: %s", "cannot write (closed?); the hosts still going were cancelled");

    int sig = stop_signal();
    if (sig)
        status = EX_SIGNAL_BASE + sig;
    else if (drc != 0 || st.stdout_broken || k[OUT_PENDING])
        status = EX_LOCAL;
    else if (k[OUT_TIMEOUT] || k[OUT_SIGNAL])
        status = EX_TIMEOUT;
    else if (k[OUT_FAILED] || k[OUT_CANCELLED])
        status = EX_HOSTFAIL;
    else if (k[OUT_EXIT])
        status = EX_NONZERO;
    else
        status = EX_ALL_OK;
out:
    xssh_multi_unref(m);
    xssh_options_unref(o);
    free(input);
    free(remote_path);
    return status;
}

static void free_args(args *a)
{
    hosts_free(&a->hosts);
    free(a->identities);
    for (size_t i = 0; i < a->n_opts; i++) {
        free(a->opts[i].key);
        free(a->opts[i].value);
    }
    free(a->opts);
    free(a->command);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(-1, "no command (run, put or get)");
    const char *c = argv[1];
    if (strcmp(c, "-h") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "help") == 0) {
        if (argc > 2 && strcmp(c, "help") == 0) {
            for (int i = 0; i < 3; i++)
                if (strcmp(argv[2], cmd_name[i]) == 0) {
                    print_help(stdout, i);
                    return 0;
                }
            return usage_error(-1, "no command '%s' (run, put or get)", argv[2]);
        }
        print_help(stdout, -1);
        return 0;
    }
    if (strcmp(c, "-V") == 0 || strcmp(c, "--version") == 0) {
        printf("xssh %s (libxssh %s, libssh2 %s)\n", XSSH_VERSION, xssh_version(), xssh_libssh2_version());
        return 0;
    }
    int cmd = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(c, cmd_name[i]) == 0)
            cmd = i;
    if (cmd < 0) {
        if (c[0] == '-')
            return usage_error(-1, "'%s' before the command: write xssh COMMAND [OPTIONS] (run, put or get)", c);
        return usage_error(-1, "no command '%s' (run, put or get)", c);
    }
    args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc - 1, argv + 1, cmd, &a);
    if (rc == 0)
        rc = run_command(&a);
    else if (rc < 0)
        rc = 0;
    free_args(&a);
    return rc;
}
