/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * launch RESULT_FILE PROGRAM ARGS...: run PROGRAM, wait for it, write
 * "wall_s cpu_s maxrss_kib exit_code" to RESULT_FILE and exit with its status.
 *
 * Why: Linux keeps the pre-exec high-water RSS of a process in ru_maxrss, so a
 * client forked straight from bench/run (a Python process) would report at least
 * bench/run's own RSS. This small launcher is what gets forked from Python; the
 * client is forked from it, so its peak RSS is its own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s RESULT_FILE PROGRAM ARGS...\n", argv[0]);
        return 126;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("launch: fork");
        return 126;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("launch: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("launch: wait4");
        return 126;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror("launch: result file");
        return 126;
    }
    fprintf(f, "%.6f %.6f %ld %d\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
            ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            ru.ru_maxrss, code);
    fclose(f);
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
    }
    return code;
}
