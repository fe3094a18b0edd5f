/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh from C, fanout workload of bench/run (bench/fanout.py): one thread, the
 * multi interface (capi/include/xssh/multi.h): one xssh_multi_add_host_run() per
 * host (connect, strict host-key check against KNOWN_HOSTS, Ed25519 key, run
 * `true`, disconnect), no limit on how many run at once, xssh_multi_perform_all().
 *
 *   xssh_fanout fanout HOSTSFILE KEY KNOWN_HOSTS
 *
 * HOSTSFILE: one user@127.0.0.1:port per line. Prints
 * `BENCH ok=<hosts that ran true with status 0> run_s=<s> rss0_kib=<RSS before>`;
 * the first failure (host, phase, message) goes to stderr; exit 1 if any failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xssh.h>
#include <xssh/multi.h>

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

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "xssh_fanout: %s: %s (%d)\n", what, xssh_error_last()->message, rc);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 5 || strcmp(argv[1], "fanout")) {
        fprintf(stderr, "usage: %s fanout HOSTSFILE KEY KNOWN_HOSTS\n", argv[0]);
        return 2;
    }
    FILE *hf = fopen(argv[2], "r");
    if (!hf) {
        perror(argv[2]);
        return 1;
    }
    size_t n = 0, cap = 0;
    char **hosts = NULL, line[512];
    while (fgets(line, sizeof line, hf)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            hosts = realloc(hosts, cap * sizeof *hosts);
            if (!hosts)
                return 1;
        }
        hosts[n++] = strdup(line);
    }
    fclose(hf);
    long rss0 = rss_kib();
    double t0 = now();

    xssh_options *o = NULL;
    int rc = xssh_options_new(&o);
    if (rc)
        die("xssh_options_new", rc);
    const char *set[][2] = {{"ConfigFile", "none"},          {"IdentityFile", argv[3]},
                            {"IdentitiesOnly", "yes"},       {"IdentityAgent", "none"},
                            {"UserKnownHostsFile", argv[4]}, {"GlobalKnownHostsFile", "/dev/null"},
                            {"StrictHostKeyChecking", "yes"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if ((rc = xssh_options_set(o, set[i][0], set[i][1])))
            die(set[i][0], rc);
    xssh_multi *m = NULL;
    if ((rc = xssh_multi_new(&m)))
        die("xssh_multi_new", rc);
    if ((rc = xssh_multi_set_max_running(m, 0)))
        die("xssh_multi_set_max_running", rc);
    xssh_multi_op **ops = calloc(n ? n : 1, sizeof *ops);
    xssh_multi_op_opts oo;
    memset(&oo, 0, sizeof oo);
    oo.connect_timeout_ms = 120000;
    oo.auth_timeout_ms = 120000;
    oo.timeout_ms = 120000;
    for (size_t i = 0; i < n; i++)
        if ((rc = xssh_multi_add_host_run(m, hosts[i], o, "true", &oo, &ops[i])))
            die("xssh_multi_add_host_run", rc);
    if ((rc = xssh_multi_perform_all(m, 300000)))
        die("xssh_multi_perform_all", rc);
    double t1 = now();
    size_t ok = 0;
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        const xssh_multi_result *r = NULL;
        if ((rc = xssh_multi_op_result(ops[i], &r)))
            die("xssh_multi_op_result", rc);
        if (r->error == XSSH_OK && r->have_exit_status && r->exit_status == 0)
            ok++;
        else if (!shown++)
            fprintf(stderr, "xssh_fanout: %s: phase %s: error %d: %s (exit %d)\n", hosts[i],
                    xssh_phase_name(r->phase), r->error, r->message, r->exit_status);
        xssh_multi_op_unref(ops[i]);
        free(hosts[i]);
    }
    xssh_multi_unref(m);
    xssh_options_unref(o);
    free(ops);
    free(hosts);
    printf("BENCH ok=%zu run_s=%.4f rss0_kib=%ld\n", ok, t1 - t0, rss0);
    return ok == n ? 0 : 1;
}
