/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fanout: run one command on many hosts at once from one thread (the multi
 * interface, xssh/multi.h) and print what each host did.
 *
 *   fanout [-f HOSTFILE] [-o Keyword=Value]... [-p PARALLEL] [-t TIMEOUT_MS] -- COMMAND [HOST...]
 *
 * HOST is [user@]host[:port] or [user@][v6addr]:port or an ssh_config alias;
 * HOSTFILE has one host per line ('#' starts a comment). -o sets any ssh_config
 * keyword for every host (IdentityFile, UserKnownHostsFile, StrictHostKeyChecking,
 * ...); ~/.ssh/config applies as for ssh. Per host, one line
 *   HOST: exit N              (then its stdout and stderr, each line prefixed)
 *   HOST: FAILED in PHASE: MESSAGE
 * in the order the hosts finish. Exit status: 0 when every host ran the command
 * and it exited 0, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xssh.h>

static int failures;

static void print_prefixed(const char *host, const char *tag, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (data + off)) : len - off;
        printf("%s %s %.*s\n", host, tag, (int)n, data + off);
        off += n + (nl ? 1 : 0);
    }
}

/* called by the multi as each host finishes */
static void on_done(xssh_multi_op *op, void *ud)
{
    (void)ud;
    const xssh_multi_result *r = NULL;
    if (xssh_multi_op_result(op, &r) != XSSH_OK)
        return;
    if (r->error != XSSH_OK) {
        printf("%s: FAILED in %s: %s\n", r->host, xssh_phase_name(r->phase), r->message);
        failures++;
    } else {
        if (r->exit_signal)
            printf("%s: killed by signal %s\n", r->host, r->exit_signal);
        else
            printf("%s: exit %d\n", r->host, r->exit_status);
        if (r->exit_signal || !r->have_exit_status || r->exit_status != 0)
            failures++;
        print_prefixed(r->host, "out:", r->out, r->out_len);
        print_prefixed(r->host, "err:", r->err, r->err_len);
        if (r->out_truncated || r->err_truncated)
            printf("%s: (output truncated)\n", r->host);
    }
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr, "usage: fanout [-f HOSTFILE] [-o Keyword=Value]... [-p PARALLEL] [-t TIMEOUT_MS] -- COMMAND "
                    "[HOST...]\n");
    return 2;
}

static int fanout(int argc, char **argv, xssh_options *options, xssh_multi *m);

int main(int argc, char **argv)
{
    xssh_options *options = NULL;
    xssh_multi *m = NULL;
    int rc = 1;
    if (xssh_options_new(&options) != XSSH_OK || xssh_multi_new(&m) != XSSH_OK)
        fprintf(stderr, "fanout: %s\n", xssh_error_last()->message);
    else
        rc = fanout(argc, argv, options, m);
    xssh_multi_unref(m); /* (cancels whatever would still run: nothing here) */
    xssh_options_unref(options);
    return rc;
}

static int fanout(int argc, char **argv, xssh_options *options, xssh_multi *m)
{
    const char *hostfile = NULL;
    long timeout_ms = 0;
    int c;
    while ((c = getopt(argc, argv, "f:o:p:t:")) != -1) {
        switch (c) {
        case 'f':
            hostfile = optarg;
            break;
        case 'o': {
            char *eq = strchr(optarg, '=');
            if (!eq)
                return usage();
            *eq = '\0';
            if (xssh_options_set(options, optarg, eq + 1) != XSSH_OK) {
                fprintf(stderr, "fanout: -o %s: %s\n", optarg, xssh_error_last()->message);
                return 2;
            }
            break;
        }
        case 'p':
            if (xssh_multi_set_max_running(m, atoi(optarg)) != XSSH_OK)
                return usage();
            break;
        case 't':
            timeout_ms = atol(optarg);
            break;
        default:
            return usage();
        }
    }
    if (optind >= argc)
        return usage();
    const char *command = argv[optind++];
    xssh_multi_op_opts opts = {0};
    opts.timeout_ms = timeout_ms;
    opts.on_done = on_done;
    int hosts = 0;
    for (int i = optind; i < argc; i++, hosts++)
        if (xssh_multi_add_host_run(m, argv[i], options, command, &opts, NULL) != XSSH_OK) {
            fprintf(stderr, "fanout: %s\n", xssh_error_last()->message);
            return 2;
        }
    if (hostfile) {
        FILE *f = fopen(hostfile, "r");
        if (!f) {
            perror(hostfile);
            return 2;
        }
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "#\r\n")] = '\0';
            char *h = line + strspn(line, " \t");
            h[strcspn(h, " \t")] = '\0';
            if (!*h)
                continue;
            if (xssh_multi_add_host_run(m, h, options, command, &opts, NULL) != XSSH_OK) {
                fprintf(stderr, "fanout: %s\n", xssh_error_last()->message);
                fclose(f);
                return 2;
            }
            hosts++;
        }
        fclose(f);
    }
    if (!hosts)
        return usage();
    /* xssh's own loop: until every host is done */
    if (xssh_multi_perform_all(m, -1) != XSSH_OK) {
        fprintf(stderr, "fanout: %s\n", xssh_error_last()->message);
        return 1;
    }
    printf("%d hosts, %d failed\n", hosts, failures);
    return failures ? 1 : 0;
}
