/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole-file SFTP transfers (get/put to/from paths, buffers, descriptors)
 * against the harness sshd, which runs on this machine: remote files are
 * checked byte for byte with local reads. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "resume_cases.h"


static xssh_sftp *sftp_of(xssh_session *s)
{
    xssh_sftp *sf = NULL;
    cr_assert_eq(xssh_sftp_new(&sf, s), XSSH_OK, "sftp_new: %s", last_msg());
    return sf;
}

/* files in the harness directory whose name starts with prefix */
static int count_prefixed(const char *dirpath, const char *prefix)
{
    DIR *d = opendir(dirpath);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    size_t pl = strlen(prefix);
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, pl) == 0)
            n++;
    closedir(d);
    return n;
}

static const char *base_of(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* put from a buffer, get into a buffer; and the remote file on disk */
static void roundtrip_buffer(xssh_sftp *sf, size_t n, size_t window)
{
    unsigned char *data = xt_random_bytes(n);
    char *p = xt_tmppath("rt");
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.chunk_size = window;
    uint64_t t = 12345;
    cr_assert_eq(xssh_sftp_put_buffer(sf, data, n, p, &o, &t), XSSH_OK, "put %zu: %s", n, last_msg());
    cr_assert_eq(t, n);
    size_t ln = 0;
    unsigned char *disk = xt_slurp(p, &ln);
    cr_assert_eq(ln, n, "remote size %zu, wanted %zu", ln, n);
    cr_assert_eq(memcmp(disk, data, n), 0, "remote bytes differ (size %zu)", n);
    free(disk);
    char *back = NULL;
    size_t bn = 0;
    cr_assert_eq(xssh_sftp_get_buffer(sf, p, &back, &bn, &o), XSSH_OK, "get %zu: %s", n, last_msg());
    cr_assert_not_null(back);
    cr_assert_eq(bn, n);
    cr_assert_eq(memcmp(back, data, n), 0, "downloaded bytes differ (size %zu)", n);
    xssh_free(back);
    unlink(p);
    free(p);
    free(data);
}

Test(sftp_transfer, buffer_sizes, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t sizes[] = {0, 1, 29999, 30000, 30001, 60000, 1024 * 1024 + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        roundtrip_buffer(sf, sizes[i], 0);
    /* small windows (one packet in flight) and odd ones */
    roundtrip_buffer(sf, 200001, 1);
    roundtrip_buffer(sf, 200001, 45000);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, files_20mib, .timeout = 300)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = xt_size(20 * 1024 * 1024 + 7);
    unsigned char *data = xt_random_bytes(n);
    char *src = xt_tmppath("src"), *remote = xt_tmppath("remote"), *back = xt_tmppath("back");
    xt_spit(src, data, n, 0644);
    uint64_t t = 0;
    cr_assert_eq(xssh_sftp_put(sf, src, remote, NULL, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n);
    cr_assert_eq(xssh_sftp_get(sf, remote, back, NULL, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n);
    size_t bn = 0;
    unsigned char *b = xt_slurp(back, &bn);
    cr_assert_eq(bn, n);
    cr_assert_eq(memcmp(b, data, n), 0, "20 MiB round trip differs");
    free(b);
    /* remote side too */
    b = xt_slurp(remote, &bn);
    cr_assert_eq(bn, n);
    cr_assert_eq(memcmp(b, data, n), 0);
    free(b);
    /* mode of created files */
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.mode = 0600;
    cr_assert_eq(xssh_sftp_put(sf, src, remote, &o, NULL), XSSH_OK, "%s", last_msg());
    unlink(remote);
    cr_assert_eq(xssh_sftp_put(sf, src, remote, &o, NULL), XSSH_OK, "%s", last_msg());
    struct stat st;
    cr_assert_eq(stat(remote, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    unlink(src);
    unlink(remote);
    unlink(back);
    free(src);
    free(remote);
    free(back);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, fds, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = xt_size(3 * 1024 * 1024 + 5);
    unsigned char *data = xt_random_bytes(n);
    char *src = xt_tmppath("fdsrc"), *remote = xt_tmppath("fdremote"), *back = xt_tmppath("fdback");
    xt_spit(src, data, n, 0644);
    int fd = open(src, O_RDONLY);
    cr_assert_eq(lseek(fd, 100, SEEK_SET), 100); /* from the current position */
    uint64_t t = 0;
    cr_assert_eq(xssh_sftp_put_fd(sf, fd, remote, NULL, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n - 100);
    close(fd);
    /* a pipe: unknown size */
    int pp[2];
    cr_assert_eq(pipe(pp), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pp[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(pp[1], data + off, n - off > 7000 ? 7000 : n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(pp[1]);
    char *remote2 = xt_tmppath("piperemote");
    cr_assert_eq(xssh_sftp_put_fd(sf, pp[0], remote2, NULL, &t), XSSH_OK, "%s", last_msg());
    close(pp[0]);
    cr_assert_eq(t, n);
    int fd2 = open(back, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_eq(write(fd2, "HDR", 3), 3);
    cr_assert_eq(xssh_sftp_get_fd(sf, remote, fd2, NULL, &t), XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n - 100);
    close(fd2);
    size_t bn = 0;
    unsigned char *b = xt_slurp(back, &bn);
    cr_assert_eq(bn, n - 100 + 3);
    cr_assert_eq(memcmp(b, "HDR", 3), 0);
    cr_assert_eq(memcmp(b + 3, data + 100, n - 100), 0);
    free(b);
    b = xt_slurp(remote2, &bn);
    cr_assert_eq(bn, n);
    cr_assert_eq(memcmp(b, data, n), 0);
    free(b);
    cr_assert_eq(xssh_sftp_get_fd(sf, remote, -1, NULL, &t), XSSH_EARG);
    unlink(src);
    unlink(remote);
    unlink(remote2);
    unlink(back);
    free(src);
    free(remote);
    free(remote2);
    free(back);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

typedef struct prog {
    uint64_t last_done, total, calls, cancel_after;
    int monotonic;
} prog;

static int on_progress(uint64_t done, uint64_t total, void *ud)
{
    prog *p = ud;
    if (p->calls && done < p->last_done)
        p->monotonic = 0;
    p->calls++;
    p->last_done = done;
    p->total = total;
    return p->cancel_after && done >= p->cancel_after;
}

Test(sftp_transfer, progress_reaches_total, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = xt_size(8 * 1024 * 1024 + 1);
    unsigned char *data = xt_random_bytes(n);
    char *remote = xt_tmppath("prog");
    prog p = {0, 0, 0, 0, 1};
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.progress = on_progress;
    o.userdata = &p;
    cr_assert_eq(xssh_sftp_put_buffer(sf, data, n, remote, &o, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_geq(p.calls, 3, "calls %llu", (unsigned long long)p.calls);
    cr_assert_eq(p.last_done, n);
    cr_assert_eq(p.total, n);
    cr_assert(p.monotonic);
    memset(&p, 0, sizeof p);
    p.monotonic = 1;
    char *back = NULL;
    size_t bn = 0;
    cr_assert_eq(xssh_sftp_get_buffer(sf, remote, &back, &bn, &o), XSSH_OK, "%s", last_msg());
    cr_assert_eq(bn, n);
    cr_assert_eq(memcmp(back, data, n), 0);
    cr_assert_geq(p.calls, 3);
    cr_assert_eq(p.last_done, n);
    cr_assert_eq(p.total, n, "get knows the size from fstat");
    cr_assert(p.monotonic);
    xssh_free(back);
    unlink(remote);
    free(remote);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, cancel_put_non_atomic_reports_bytes, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = xt_size(16 * 1024 * 1024);
    unsigned char *data = xt_random_bytes(n);
    char *remote = xt_tmppath("cancel");
    prog p = {0, 0, 0, n / 4, 1};
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.progress = on_progress;
    o.userdata = &p;
    uint64_t t = 0;
    int rc = xssh_sftp_put_buffer(sf, data, n, remote, &o, &t);
    cr_assert_eq(rc, XSSH_ECANCELLED, "rc %d %s", rc, last_msg());
    cr_assert_eq(xssh_error_last()->code, XSSH_ECANCELLED);
    cr_assert(strstr(last_msg(), remote), "%s", last_msg());
    cr_assert_geq(t, n / 4);
    cr_assert_lt(t, n);
    /* at least the acknowledged bytes are in the file, and they are right */
    size_t ln = 0;
    unsigned char *disk = xt_slurp(remote, &ln);
    cr_assert_geq(ln, t);
    cr_assert_eq(memcmp(disk, data, (size_t)t), 0);
    free(disk);
    /* the subsystem is still usable */
    xssh_sftp_attrs a;
    cr_assert_eq(xssh_sftp_stat(sf, remote, &a), XSSH_OK, "%s", last_msg());
    unlink(remote);
    free(remote);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, atomic_put_cancel_leaves_nothing, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = xt_size(16 * 1024 * 1024);
    unsigned char *data = xt_random_bytes(n);
    char *remote = xt_tmppath("atomic");
    prog p = {0, 0, 0, n / 3, 1};
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.progress = on_progress;
    o.userdata = &p;
    o.atomic = 1;
    uint64_t t = 0;
    int rc = xssh_sftp_put_buffer(sf, data, n, remote, &o, &t);
    cr_assert_eq(rc, XSSH_ECANCELLED, "rc %d %s", rc, last_msg());
    cr_assert_neq(access(remote, F_OK), 0, "a cancelled atomic put left %s", remote);
    cr_assert_eq(count_prefixed(xt()->dir, base_of(remote)), 0, "temporary file left behind");

    /* an existing destination is kept on cancel, replaced on success */
    xt_spit(remote, "old", 3, 0644);
    p.calls = 0;
    rc = xssh_sftp_put_buffer(sf, data, n, remote, &o, &t);
    cr_assert_eq(rc, XSSH_ECANCELLED);
    size_t ln = 0;
    unsigned char *disk = xt_slurp(remote, &ln);
    cr_assert_eq(ln, 3);
    cr_assert_eq(memcmp(disk, "old", 3), 0);
    free(disk);
    cr_assert_eq(count_prefixed(xt()->dir, base_of(remote)), 1);
    p.cancel_after = 0;
    rc = xssh_sftp_put_buffer(sf, data, n, remote, &o, &t);
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n);
    disk = xt_slurp(remote, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(disk, data, n), 0);
    free(disk);
    cr_assert_eq(count_prefixed(xt()->dir, base_of(remote)), 1, "temporary file left behind");

    /* atomic get: cancelled → no local file */
    char *local = xt_tmppath("atomicget");
    p.cancel_after = n / 2;
    p.calls = 0;
    rc = xssh_sftp_get(sf, remote, local, &o, &t);
    cr_assert_eq(rc, XSSH_ECANCELLED, "%s", last_msg());
    cr_assert_neq(access(local, F_OK), 0);
    cr_assert_eq(count_prefixed(xt()->dir, base_of(local)), 0);
    p.cancel_after = 0;
    cr_assert_eq(xssh_sftp_get(sf, remote, local, &o, &t), XSSH_OK, "%s", last_msg());
    disk = xt_slurp(local, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(disk, data, n), 0);
    free(disk);
    cr_assert_eq(count_prefixed(xt()->dir, base_of(local)), 1);
    unlink(local);
    free(local);
    unlink(remote);
    free(remote);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, errors_carry_paths, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *missing = xt_tmppath("missing");
    char *local = xt_tmppath("local");
    uint64_t t = 99;
    int rc = xssh_sftp_get(sf, missing, local, NULL, &t);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), missing), "%s", last_msg());
    cr_assert_eq(t, 0);
    /* a plain get of a missing remote file creates no local file ... */
    cr_assert_neq(access(local, F_OK), 0, "a failed get left '%s' behind", local);
    /* ... and leaves an existing one as it was (it is emptied only once the remote file is open) */
    FILE *lf = fopen(local, "w");
    cr_assert_not_null(lf);
    fputs("keep me", lf);
    fclose(lf);
    rc = xssh_sftp_get(sf, missing, local, NULL, &t);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rc, last_msg());
    char kept[32] = {0};
    lf = fopen(local, "r");
    cr_assert_not_null(lf);
    size_t kn = fread(kept, 1, sizeof kept - 1, lf);
    fclose(lf);
    cr_assert_eq(kn, 7);
    cr_assert_str_eq(kept, "keep me");
    unlink(local);
    char *buf = NULL;
    size_t bn = 0;
    rc = xssh_sftp_get_buffer(sf, missing, &buf, &bn, NULL);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE);
    cr_assert_null(buf);
    /* atomic get of a missing file leaves no local file */
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.atomic = 1;
    unlink(local);
    rc = xssh_sftp_get(sf, missing, local, &o, &t);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE);
    cr_assert_neq(access(local, F_OK), 0);
    /* put into a missing directory */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/no/such/dir", xt()->dir);
    rc = xssh_sftp_put_buffer(sf, "abc", 3, bad, NULL, &t);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rc, last_msg());
    cr_assert(strstr(last_msg(), bad), "%s", last_msg());
    rc = xssh_sftp_put_buffer(sf, "abc", 3, bad, &o, &t);
    cr_assert_eq(rc, XSSH_ESFTP_NO_SUCH_FILE, "%d %s", rc, last_msg());
    /* atomic: the message names the destination first, then the temporary it wrote */
    char want[8300];
    snprintf(want, sizeof want, "SFTP put '%s' (temporary '%s.xssh-", bad, bad);
    cr_assert(strstr(last_msg(), want), "%s", last_msg());
    /* onto a directory (plain, atomic, resume): said so, not "open/rename: failure" */
    for (int i = 0; i < 3; i++) {
        xssh_transfer_opts d;
        memset(&d, 0, sizeof d);
        d.atomic = i == 1;
        d.resume = i == 2;
        rc = xssh_sftp_put_buffer(sf, "abc", 3, xt()->dir, &d, &t);
        cr_assert_eq(rc, XSSH_ESFTP_FAILURE, "%d %s", rc, last_msg());
        cr_assert(strstr(last_msg(), "the destination is a directory on the server"), "%s", last_msg());
        cr_assert(strstr(last_msg(), xt()->dir), "%s", last_msg());
        unsigned long st = 0;
        cr_assert_eq(xssh_sftp_last_error(sf, &st), XSSH_OK);
        cr_assert_eq(st, 4, "SFTP status %lu", st); /* SSH_FX_FAILURE, as the server answered */
    }
    /* a get of a directory (plain and atomic): said so, not "read: failure"; no local file */
    for (int i = 0; i < 2; i++) {
        xssh_transfer_opts d;
        memset(&d, 0, sizeof d);
        d.atomic = i;
        unlink(local);
        rc = xssh_sftp_get(sf, xt()->dir, local, &d, &t);
        cr_assert_eq(rc, XSSH_ESFTP_FAILURE, "%d %s", rc, last_msg());
        cr_assert(strstr(last_msg(), "is a directory on the server"), "%s", last_msg());
        cr_assert_neq(access(local, F_OK), 0, "a failed get of a directory left '%s'", local);
        cr_assert_eq(count_prefixed(xt()->dir, base_of(local)), 0, "a temporary file was left");
    }
    /* missing local file */
    rc = xssh_sftp_put(sf, missing, local, NULL, &t);
    cr_assert_eq(rc, XSSH_EFILE);
    cr_assert(strstr(last_msg(), missing), "%s", last_msg());
    /* a directory as the source */
    rc = xssh_sftp_get_buffer(sf, xt()->dir, &buf, &bn, NULL);
    cr_assert_lt(rc, 0);
    /* put of a local directory fails before the remote file is opened: an
       existing remote file keeps its content (plain and atomic) */
    char *keep = xt_tmppath("put-dir-keep");
    xt_spit(keep, "keep me", 7, 0644);
    for (int i = 0; i < 2; i++) {
        rc = xssh_sftp_put(sf, xt()->dir, keep, i ? &o : NULL, &t);
        cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
        cr_assert(strstr(last_msg(), xt()->dir), "%s", last_msg());
        cr_assert(strstr(last_msg(), "directory"), "%s", last_msg());
        int dfd = open(xt()->dir, O_RDONLY | O_DIRECTORY);
        cr_assert_geq(dfd, 0);
        rc = xssh_sftp_put_fd(sf, dfd, keep, i ? &o : NULL, &t);
        close(dfd);
        cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
        size_t kl = 0;
        unsigned char *kb = xt_slurp(keep, &kl);
        cr_assert_eq(kl, 7, "the remote file was changed to %zu bytes", kl);
        cr_assert_eq(memcmp(kb, "keep me", 7), 0);
        free(kb);
    }
    unlink(keep);
    free(keep);
    /* closed sftp */
    cr_assert_eq(xssh_sftp_close(sf), XSSH_OK);
    rc = xssh_sftp_put_buffer(sf, "abc", 3, local, NULL, &t);
    cr_assert_eq(rc, XSSH_ECLOSED);
    free(missing);
    free(local);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, nonblocking_session_still_completes, .timeout = 120)
{
    /* whole-file transfers always run to the end, whatever the session mode */
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    cr_assert_eq(xssh_session_set_blocking(s, 0), XSSH_OK);
    size_t n = xt_size(2 * 1024 * 1024 + 3);
    unsigned char *data = xt_random_bytes(n);
    char *remote = xt_tmppath("nbx");
    cr_assert_eq(xssh_sftp_put_buffer(sf, data, n, remote, NULL, NULL), XSSH_OK, "%s", last_msg());
    char *back = NULL;
    size_t bn = 0;
    cr_assert_eq(xssh_sftp_get_buffer(sf, remote, &back, &bn, NULL), XSSH_OK, "%s", last_msg());
    cr_assert_eq(bn, n);
    cr_assert_eq(memcmp(back, data, n), 0);
    xssh_free(back);
    unlink(remote);
    free(remote);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* ---- the server dies part-way ----------------------------------------------- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

/* SIGKILL every process holding the server end of this session's TCP
   connection (the sshd session processes of this connection only). */
static int kill_server_of(xssh_session *s)
{
    int fd = -1;
    cr_assert_eq(xssh_session_socket(s, &fd), XSSH_OK);
    struct sockaddr_in me;
    socklen_t sl = sizeof me;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&me, &sl), 0);
    unsigned myport = ntohs(me.sin_port), srvport = (unsigned)xt()->port;
    FILE *f = fopen("/proc/net/tcp", "r");
    cr_assert_not_null(f);
    char line[512];
    unsigned long inode = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned lport = 0, rport = 0;
        unsigned long ino = 0;
        char la[64], ra[64];
        if (sscanf(line, " %*d: %63[0-9A-Fa-f:] %63[0-9A-Fa-f:] %*x %*s %*s %*s %*d %*d %lu", la, ra, &ino) != 3)
            continue;
        char *c1 = strchr(la, ':'), *c2 = strchr(ra, ':');
        if (!c1 || !c2)
            continue;
        lport = (unsigned)strtoul(c1 + 1, NULL, 16);
        rport = (unsigned)strtoul(c2 + 1, NULL, 16);
        if (lport == srvport && rport == myport && ino) {
            inode = ino;
            break;
        }
    }
    fclose(f);
    cr_assert_neq(inode, 0, "server end of port %u not found", myport);
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    int killed = 0;
    DIR *proc = opendir("/proc");
    struct dirent *e;
    while ((e = readdir(proc))) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char fdir[64];
        snprintf(fdir, sizeof fdir, "/proc/%d/fd", pid);
        DIR *fds = opendir(fdir);
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char lp[600], tgt[64];
            snprintf(lp, sizeof lp, "%s/%s", fdir, fe->d_name);
            ssize_t n = readlink(lp, tgt, sizeof tgt - 1);
            if (n > 0) {
                tgt[n] = '\0';
                if (!strcmp(tgt, want)) {
                    kill(pid, SIGKILL);
                    killed++;
                    break;
                }
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return killed;
}

typedef struct killer {
    xssh_session *s;
    uint64_t at;
    int killed;
} killer;

static int kill_at(uint64_t done, uint64_t total, void *ud)
{
    killer *k = ud;
    if (!k->killed && done >= k->at)
        k->killed = kill_server_of(k->s);
    return 0;
}

Test(sftp_transfer, server_killed_part_way, .timeout = 120)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to kill the sshd session processes");
    size_t n = xt_size(16 * 1024 * 1024);
    unsigned char *data = xt_random_bytes(n);
    char *remote = xt_tmppath("killed");
    xt_spit(remote, data, n, 0644);
    for (int dir = 0; dir < 2; dir++) {
        xssh_session *s = xt_connect_auth();
        xssh_session_set_timeout(s, 20000); /* a hang fails the test instead of blocking it */
        xssh_sftp *sf = sftp_of(s);
        killer k = {s, n / 4, 0};
        xssh_transfer_opts o;
        memset(&o, 0, sizeof o);
        o.progress = kill_at;
        o.userdata = &k;
        o.chunk_size = 60000; /* little in flight, so the cut comes well before the end */
        uint64_t t = 0;
        int rc;
        if (dir == 0) {
            char *back = NULL;
            size_t bn = 0;
            rc = xssh_sftp_get_buffer(sf, remote, &back, &bn, &o);
            cr_assert_gt(k.killed, 0, "no server process killed");
            cr_assert_lt(rc, 0, "get_buffer cut part-way reported success");
            cr_assert_null(back);
            char *local = xt_tmppath("killedget");
            xssh_sftp_unref(sf);
            xssh_session_unref(s);
            /* the same through a file: bytes done are reported */
            s = xt_connect_auth();
            xssh_session_set_timeout(s, 20000);
            sf = sftp_of(s);
            k.s = s;
            k.killed = 0;
            rc = xssh_sftp_get(sf, remote, local, &o, &t);
            unlink(local);
            free(local);
        } else {
            rc = xssh_sftp_put_buffer(sf, data, n, remote, &o, &t);
        }
        cr_assert_gt(k.killed, 0, "no server process killed");
        cr_assert_lt(rc, 0, "a transfer cut part-way reported success (dir %d)", dir);
        cr_assert_neq(rc, XSSH_ETIMEOUT, "the cut was not noticed: %s", last_msg());
        cr_assert_geq(t, n / 4, "bytes done %llu", (unsigned long long)t);
        if (!xt_valgrind()) /* (a small file may be all in flight already) */
            cr_assert_lt(t, n);
        xssh_sftp_unref(sf);
        xssh_session_unref(s);
    }
    unlink(remote);
    free(remote);
    free(data);
}

/* ---- the engine: parallel channels, resume ---------------------------------------- */

#include <pthread.h>

/* DEBUG records of the transfers, kept for the test to read */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_log[16384];
static size_t g_log_len;

static void keep_log(int level, const char *host, const char *msg, void *ud)
{
    (void)level;
    (void)host;
    (void)ud;
    if (strncmp(msg, "SFTP ", 5) != 0)
        return;
    pthread_mutex_lock(&g_log_lock);
    int n = snprintf(g_log + g_log_len, sizeof g_log - g_log_len, "%s\n", msg);
    if (n > 0 && g_log_len + (size_t)n < sizeof g_log)
        g_log_len += (size_t)n;
    pthread_mutex_unlock(&g_log_lock);
}

/* the N before " channels carried data" / " channels open" */
static long log_count_before(const char *suffix)
{
    long best = -1;
    pthread_mutex_lock(&g_log_lock);
    for (const char *p = g_log; (p = strstr(p, suffix)); p += strlen(suffix)) {
        const char *q = p;
        while (q > g_log && q[-1] >= '0' && q[-1] <= '9')
            q--;
        long v = strtol(q, NULL, 10);
        if (v > best)
            best = v;
    }
    pthread_mutex_unlock(&g_log_lock);
    return best;
}

static void log_start(void)
{
    g_log_len = 0;
    g_log[0] = 0;
    cr_assert_eq(xssh_log_set(keep_log, NULL, XSSH_LOG_DEBUG), XSSH_OK);
}

static void log_stop(void) { xssh_log_set(NULL, NULL, 0); }

Test(sftp_transfer, put_parallel_channels_ran, .timeout = 180)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    size_t n = xt_size(12 * 1024 * 1024 + 4321);
    unsigned char *data = xt_random_bytes(n);
    char *local = xt_tmppath("par-src");
    char *remote = xt_tmppath("par-dst");
    xt_spit(local, data, n, 0644);
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.channels = 3;
    o.atomic = 1;
    log_start();
    uint64_t t = 0;
    int rc = xssh_sftp_put(sf, local, remote, &o, &t);
    log_stop();
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert_eq(t, n);
    /* proof: three channels were open at once and more than one carried data */
    cr_assert_geq(log_count_before(" channels open"), 3, "log:\n%s", g_log);
    cr_assert_geq(log_count_before(" channels carried data"), 2, "log:\n%s", g_log);
    size_t ln = 0;
    unsigned char *back = xt_slurp(remote, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0, "the parallel put is not byte-exact");
    free(back);
    /* and a get with a small window (many requests in flight, several round trips) */
    char *got = xt_tmppath("par-get");
    memset(&o, 0, sizeof o);
    o.max_in_flight = 100000;
    cr_assert_eq(xssh_sftp_get(sf, remote, got, &o, &t), XSSH_OK, "%s", last_msg());
    back = xt_slurp(got, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0);
    free(back);
    unlink(local);
    unlink(remote);
    unlink(got);
    free(local);
    free(remote);
    free(got);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, channels_out_of_range, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.channels = -1;
    char *remote = xt_tmppath("chx");
    cr_assert_eq(xssh_sftp_put_buffer(sf, "x", 1, remote, &o, NULL), XSSH_EARG);
    cr_assert(strstr(last_msg(), "channels"), "%s", last_msg());
    o.channels = 0;
    o.resume = 1;
    char *mem = NULL;
    size_t ml = 0;
    cr_assert_eq(xssh_sftp_get_buffer(sf, remote, &mem, &ml, &o), XSSH_EARG);
    cr_assert(strstr(last_msg(), "resume"), "%s", last_msg());
    free(remote);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* resume from a partial destination written by the test: exactly the rest moves */
Test(sftp_transfer, resume_continues_partial_files, .timeout = 120)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    resume_cases(sf);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* A transfer cut midway (a proxy ends the connection after N bytes) fails,
   leaves nothing under the final name and its data under the stable temporary
   name; the next attempt with resume completes it byte for byte. */
static void cut_then_resume(int is_put)
{
    size_t n = xt_size(6 * 1024 * 1024 + 99);
    unsigned char *data = xt_random_bytes(n);
    char *src = xt_tmppath(is_put ? "cut-src" : "cut-rsrc");
    char *dst = xt_tmppath(is_put ? "cut-dst" : "cut-ldst");
    xt_spit(src, data, n, 0644);
    char *part = part_of(dst);
    xssh_transfer_opts o;
    memset(&o, 0, sizeof o);
    o.resume = 1;
    o.atomic = 1;
    o.channels = 1;

    xt_stall_proxy x;
    xssh_session *s = xt_stall_proxy_start(&x);
    xssh_sftp *sf = sftp_of(s);
    if (is_put)
        xt_stall_proxy_cut(&x, n / 2, 0);
    else
        xt_stall_proxy_cut(&x, 0, n / 2);
    uint64_t t = 0;
    int rc = is_put ? xssh_sftp_put(sf, src, dst, &o, &t) : xssh_sftp_get(sf, src, dst, &o, &t);
    cr_assert_neq(rc, XSSH_OK, "the cut transfer succeeded");
    cr_assert_lt(t, n);
    cr_assert_eq(access(dst, F_OK), -1, "a partial file is under the final name");
    cr_assert_eq(access(part, F_OK), 0, "the partial data is not under %s", part);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
    xt_stall_proxy_stop(&x);

    s = xt_connect_auth();
    sf = sftp_of(s);
    struct stat st;
    cr_assert_eq(stat(part, &st), 0);
    /* a get's partial is what arrived before the cut (the engine writes every
       answer as it completes): at full size, half the stream holds whole answers
       (255 KiB each); valgrind's small files may be cut inside the first one */
    if (!is_put && n >= 2 * 1024 * 1024)
        cr_assert_gt(st.st_size, 0, "nothing arrived before the cut");
    log_start();
    rc = is_put ? xssh_sftp_put(sf, src, dst, &o, &t) : xssh_sftp_get(sf, src, dst, &o, &t);
    log_stop();
    cr_assert_eq(rc, XSSH_OK, "%s", last_msg());
    cr_assert(strstr(g_log, "resuming at byte"), "no resume in the log:\n%s", g_log);
    if (!is_put) /* the local partial is known exactly: only the rest moved */
        cr_assert_eq(t, n - (uint64_t)st.st_size);
    size_t ln = 0;
    unsigned char *back = xt_slurp(dst, &ln);
    cr_assert_eq(ln, n);
    cr_assert_eq(memcmp(back, data, n), 0, "the resumed file is not byte-exact");
    free(back);
    cr_assert_eq(access(part, F_OK), -1, "the temporary file is left");
    unlink(src);
    unlink(dst);
    free(src);
    free(dst);
    free(part);
    free(data);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

Test(sftp_transfer, put_cut_midway_then_resume, .timeout = 180) { cut_then_resume(1); }
Test(sftp_transfer, get_cut_midway_then_resume, .timeout = 180) { cut_then_resume(0); }

/* A resumable get that fails before any byte arrives (a missing remote file, a
   remote directory) leaves nothing it created: no local file, no "<dst>.xssh-part";
   an existing local file (or partial file) stays as it was. */
Test(sftp_transfer, failed_resume_get_leaves_nothing, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *missing = xt_tmppath("rmissing");
    char *local = xt_tmppath("rlocal");
    char *part = part_of(local);
    const char *remotes[2] = {missing, xt()->dir};
    for (int atomic_ = 0; atomic_ < 2; atomic_++)
        for (int i = 0; i < 2; i++) {
            xssh_transfer_opts o;
            memset(&o, 0, sizeof o);
            o.resume = 1;
            o.atomic = atomic_;
            uint64_t t = 99;
            int rc = xssh_sftp_get(sf, remotes[i], local, &o, &t);
            cr_assert_neq(rc, XSSH_OK, "get of '%s' succeeded", remotes[i]);
            cr_assert_eq(t, 0);
            cr_assert_neq(access(local, F_OK), 0, "a failed resume get (atomic %d) of '%s' left '%s'", atomic_,
                          remotes[i], local);
            cr_assert_neq(access(part, F_OK), 0, "a failed resume get (atomic %d) of '%s' left '%s'", atomic_,
                          remotes[i], part);
            /* what was there before stays */
            const char *have = atomic_ ? part : local;
            xt_spit(have, "partial", 7, 0644);
            rc = xssh_sftp_get(sf, remotes[i], local, &o, &t);
            cr_assert_neq(rc, XSSH_OK);
            size_t n = 0;
            unsigned char *d = xt_slurp(have, &n);
            cr_assert_eq(n, 7, "'%s' changed to %zu bytes", have, n);
            cr_assert_eq(memcmp(d, "partial", 7), 0);
            free(d);
            unlink(have);
        }
    free(part);
    free(local);
    free(missing);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}

/* A put onto "dir/" says the destination names a directory, writes nothing (not
   even a temporary inside it); a get onto a local directory is refused before any
   byte moves, naming the directory. */
Test(sftp_transfer, directory_destinations_named_up_front, .timeout = 60)
{
    xssh_session *s = xt_connect_auth();
    xssh_sftp *sf = sftp_of(s);
    char *d = xt_tmppath("ddir");
    cr_assert_eq(mkdir(d, 0755), 0);
    char slash[4200];
    snprintf(slash, sizeof slash, "%s/", d);
    for (int atomic_ = 0; atomic_ < 2; atomic_++) {
        xssh_transfer_opts o;
        memset(&o, 0, sizeof o);
        o.atomic = atomic_;
        uint64_t t = 99;
        int rc = xssh_sftp_put_buffer(sf, "abc", 3, slash, &o, &t);
        cr_assert_eq(rc, XSSH_EARG, "%d %s", rc, last_msg());
        cr_assert(strstr(last_msg(), slash) && strstr(last_msg(), "names a directory") &&
                      strstr(last_msg(), "needs a file name"),
                  "%s", last_msg());
        cr_assert_eq(t, 0);
        cr_assert_eq(count_prefixed(d, ""), 2, "something was written into '%s'", d); /* . and .. */
    }
    /* get onto a local directory (the remote file exists) */
    char *src = xt_tmppath("dsrc");
    xt_spit(src, "hello", 5, 0644);
    for (int atomic_ = 0; atomic_ < 2; atomic_++)
        for (int resume = 0; resume < 2; resume++)
            for (int w = 0; w < 2; w++) {
                const char *dst = w ? slash : d;
                xssh_transfer_opts o;
                memset(&o, 0, sizeof o);
                o.atomic = atomic_;
                o.resume = resume;
                uint64_t t = 99;
                int rc = xssh_sftp_get(sf, src, dst, &o, &t);
                cr_assert_eq(rc, XSSH_EFILE, "%d %s", rc, last_msg());
                char want[8500];
                snprintf(want, sizeof want, "the local destination '%s' is a directory", dst);
                cr_assert(strstr(last_msg(), want), "%s", last_msg());
                cr_assert_eq(t, 0);
                cr_assert_eq(count_prefixed(d, ""), 2);
                cr_assert_eq(count_prefixed(xt()->dir, base_of(d)), 1, "a temporary was left beside '%s'", d);
            }
    unlink(src);
    rmdir(d);
    free(src);
    free(d);
    xssh_sftp_unref(sf);
    xssh_session_unref(s);
}
