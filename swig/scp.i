/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scp.i — the SCP methods of Session and FileInfo. Languages touched: all three.
 * ssh2-python shapes: scp_recv2(path) → (Channel, FileInfo), scp_recv(path) →
 * (Channel, FileInfo; Python makes it a StatInfo), scp_send64(path, mode, size,
 * mtime, atime) → Channel, scp_send(path, mode, size) → Channel. Whole-file
 * scp_get / scp_put take the progress pair first (see sftp.i, which must be
 * included before this file).
 */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_session_scp_";
%rename(FileInfo) xssh_scp_fileinfo;
/* ssh2-python's attribute names (C drops the st_ prefix: glibc macros) */
%rename(st_size) xssh_scp_fileinfo::size;
%rename(st_mode) xssh_scp_fileinfo::mode;
%rename(st_atime) xssh_scp_fileinfo::atime;
%rename(st_mtime) xssh_scp_fileinfo::mtime;
%rename(st_ctime) xssh_scp_fileinfo::ctime;
%rename(st_uid) xssh_scp_fileinfo::uid;
%rename(st_gid) xssh_scp_fileinfo::gid;
%rename(st_ino) xssh_scp_fileinfo::ino;
%rename(st_nlink) xssh_scp_fileinfo::nlink;
%rename(st_rdev) xssh_scp_fileinfo::rdev;
%rename(st_blksize) xssh_scp_fileinfo::blksize;
%rename(st_blocks) xssh_scp_fileinfo::blocks;
%include "xssh/scp.h"

%rename(scp_get) xssh_session::scp_get_swig;
%rename(scp_put) xssh_session::scp_put_swig;

%extend xssh_session {
  /* the order of the C calls: (self, path, ..., outputs) */
  xssh_err scp_recv2(const char *path, xssh_channel **OUT_HANDLE, xssh_scp_fileinfo *INFO_OUT);
  xssh_err scp_recv(const char *path, xssh_channel **OUT_HANDLE, xssh_scp_fileinfo *INFO_OUT);
  xssh_err scp_send64(const char *path, int mode, uint64_t size, int64_t mtime, int64_t atime,
                      xssh_channel **OUT_HANDLE);
  xssh_err scp_send(const char *path, int mode, size_t size, xssh_channel **OUT_HANDLE);
  /* whole files; the result is the byte count */
  xssh_err scp_get_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const char *remote, const char *local,
                        size_t *OUTPUT, int atomic = 0, size_t chunk_size = 0, long mode = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, atomic, chunk_size, mode);
    int rc = xssh_session_scp_get($self, remote, local, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
  xssh_err scp_put_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const char *local, const char *remote,
                        size_t *OUTPUT, int atomic = 0, size_t chunk_size = 0, long mode = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, atomic, chunk_size, mode);
    int rc = xssh_session_scp_put($self, local, remote, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
}
