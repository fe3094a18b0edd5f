/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sftp.i — SFTP (xssh_sftp), SFTPHandle (xssh_sftp_file), SFTPAttributes,
 * SFTPStatVFS, the SFTP constants, Session.sftp_init and the whole-file
 * transfers. Languages touched: all three. Shapes follow ssh2-python where
 * they are language-neutral: read → (count, bytes), write → (count, written),
 * stat/fstat → SFTPAttributes, statvfs → SFTPStatVFS, EAGAIN returned as a
 * value; Python-only reshaping (generators, file objects, keyword arguments)
 * lives in the SFTP section of python/xssh_python_idioms.swg.
 *
 * Progress callbacks: the whole-file calls take the pair
 *   (xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD)
 * as their FIRST arguments. A language that can call back defines, before this
 * file is included (in its primitives), a typemap(in) + typemap(freearg) for
 * that pair (one input: the language's callable) and the SWIG macro
 * XSSH_PROGRESS_TYPEMAP; see python/xssh_python_callbacks.swg. Without it the
 * pair takes no input (no progress), so get(remote, local[, atomic, chunk_size, mode]).
 */
%rename("$ignore", regextarget=1, %$isfunction) "^xssh_sftp_";
%ignore xssh_transfer_opts;
/* the tree structs are C-only: the languages get keyword options, a progress
   record of their own and the stats as a tuple / Array / multiple returns */
%ignore xssh_tree_opts;
%ignore xssh_tree_progress;
%ignore xssh_tree_stats;
%rename(SFTPAttributes) xssh_sftp_attrs;
%rename(SFTPStatVFS) xssh_sftp_vfs;
%include "xssh/sftp.h"

/* the output / progress typemaps are in sftp_typemaps.i (included before session.i) */

/* ---- names (bodies get a _swig C name that does not clash with the C API) ---- */
%rename(open) xssh_sftp::open_swig;
%rename(open_ex) xssh_sftp::open_ex_swig;
%rename(opendir) xssh_sftp::opendir_swig;
%rename(rename_ex) xssh_sftp::rename_ex_swig;
%rename(last_error) xssh_sftp::last_error_swig;
%rename(get) xssh_sftp::get_swig;
%rename(put) xssh_sftp::put_swig;
%rename(get_buffer) xssh_sftp::get_buffer_swig;
%rename(put_buffer) xssh_sftp::put_buffer_swig;
%rename(get_fd) xssh_sftp::get_fd_swig;
%rename(put_fd) xssh_sftp::put_fd_swig;
%rename(put_tree) xssh_sftp::put_tree_swig;
%rename(get_tree) xssh_sftp::get_tree_swig;
%rename(read) xssh_sftp_file::read_swig;
%rename(write) xssh_sftp_file::write_swig;
%rename(seek) xssh_sftp_file::seek_swig;
%rename(tell) xssh_sftp_file::tell_swig;
%rename(tell64) xssh_sftp_file::tell64_swig;
%rename(fstat_ex) xssh_sftp_file::fstat_ex_swig;
%rename(readdir_next) xssh_sftp_file::readdir_next_swig;
%rename(path) xssh_sftp_file::path_swig;
%rename(sftp_init) xssh_session::sftp_init_swig;

%apply (char **OUT_BYTES, size_t *OUT_LEN) { (char **dir_name, size_t *dir_name_len),
                                             (char **dir_long, size_t *dir_long_len),
                                             (char **buf_out, size_t *buf_out_len) };

struct xssh_sftp {};
struct xssh_sftp_file {};

%extend xssh_session {
  /* ssh2-python: Session.sftp_init() → SFTP */
  xssh_err sftp_init_swig(xssh_sftp **OUT_HANDLE) { return xssh_sftp_new(OUT_HANDLE, $self); }
}

%extend xssh_sftp {
  ~xssh_sftp() { xssh_sftp_unref($self); }
  /* shut the subsystem down (its handles too) */
  xssh_err close();
  xssh_err last_error_swig(unsigned long *OUTPUT) { return xssh_sftp_last_error($self, OUTPUT); }

  xssh_err open_swig(const char *path, unsigned long flags, long mode, xssh_sftp_file **OUT_HANDLE) {
    return xssh_sftp_open(OUT_HANDLE, $self, path, flags, mode);
  }
  /* ssh2-python: open_ex(filename, filename_len, flags, mode, open_type) */
  xssh_err open_ex_swig(const char *path, unsigned int path_len, unsigned long flags, long mode, int open_type,
                        xssh_sftp_file **OUT_HANDLE) {
    size_t n = strlen(path);
    return xssh_sftp_open_ex(OUT_HANDLE, $self, path, path_len < n ? path_len : n, flags, mode, open_type);
  }
  xssh_err opendir_swig(const char *path, xssh_sftp_file **OUT_HANDLE) {
    return xssh_sftp_opendir(OUT_HANDLE, $self, path);
  }

  xssh_err stat(const char *path, xssh_sftp_attrs *ATTRS_OUT);
  xssh_err lstat(const char *path, xssh_sftp_attrs *ATTRS_OUT);
  xssh_err setstat(const char *path, const xssh_sftp_attrs *attrs);
  xssh_err statvfs(const char *path, xssh_sftp_vfs *VFS_OUT);
  xssh_err mkdir(const char *path, long mode = 0755);
  xssh_err rmdir(const char *path);
  xssh_err unlink(const char *path);
  xssh_err rename(const char *src, const char *dst);
  /* ssh2-python: rename_ex(source, source_len, dest, dest_len, flags); the lengths cut the paths */
  xssh_err rename_ex_swig(const char *src, unsigned int src_len, const char *dst, unsigned int dst_len, long flags) {
    char *a = strdup(src), *b = strdup(dst);
    int rc;
    if (!a || !b) {
      rc = XSSH_ENOMEM;
    } else {
      if (src_len < strlen(a)) a[src_len] = 0;
      if (dst_len < strlen(b)) b[dst_len] = 0;
      rc = xssh_sftp_rename_ex($self, a, b, flags);
    }
    free(a);
    free(b);
    return rc;
  }
  /* a link at linkpath whose content is target (POSIX symlink(target, linkpath) order) */
  xssh_err symlink(const char *target, const char *linkpath);
  xssh_err readlink(const char *path, char **OUT_TEXT);
  xssh_err realpath(const char *path, char **OUT_TEXT);

  /* whole-file transfers; the result is the byte count */
  /* resume, max_in_flight, channels: xssh_transfer_opts (sftp.h) */
  xssh_err get_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const char *remote, const char *local,
                    size_t *OUTPUT, int atomic = 0, size_t chunk_size = 0, long mode = 0, int resume = 0,
                    size_t max_in_flight = 0, int channels = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, atomic, chunk_size, mode);
    o.resume = resume;
    o.max_in_flight = max_in_flight;
    o.channels = channels;
    int rc = xssh_sftp_get($self, remote, local, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
  xssh_err put_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const char *local, const char *remote,
                    size_t *OUTPUT, int atomic = 0, size_t chunk_size = 0, long mode = 0, int resume = 0,
                    size_t max_in_flight = 0, int channels = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, atomic, chunk_size, mode);
    o.resume = resume;
    o.max_in_flight = max_in_flight;
    o.channels = channels;
    int rc = xssh_sftp_put($self, local, remote, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
  /* the whole remote file as bytes */
  xssh_err get_buffer_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const char *remote,
                           char **buf_out, size_t *buf_out_len) {
    xssh_transfer_opts o;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, 0, 0, 0);
    return xssh_sftp_get_buffer($self, remote, buf_out, buf_out_len, &o);
  }
  xssh_err put_buffer_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const void *IN_BYTES, size_t IN_LEN,
                           const char *remote, size_t *OUTPUT, int atomic = 0, long mode = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, atomic, 0, mode);
    int rc = xssh_sftp_put_buffer($self, IN_BYTES, IN_LEN, remote, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
  /* to / from an open descriptor, at its current position */
  xssh_err get_fd_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, const char *remote, int fd,
                       size_t *OUTPUT, size_t chunk_size = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, 0, chunk_size, 0);
    int rc = xssh_sftp_get_fd($self, remote, fd, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
  xssh_err put_fd_swig(xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD, int fd, const char *remote,
                       size_t *OUTPUT, int atomic = 0, size_t chunk_size = 0, long mode = 0) {
    xssh_transfer_opts o;
    uint64_t n = 0;
    xssh_swig_opts(&o, PROGRESS_CB, PROGRESS_UD, atomic, chunk_size, mode);
    int rc = xssh_sftp_put_fd($self, fd, remote, &o, &n);
    *OUTPUT = (size_t)n;
    return rc;
  }
  /* directory trees (xssh_sftp_put_tree / xssh_sftp_get_tree): the result is
     (files, directories, symlinks, bytes); symlinks XSSH_SYMLINKS_*; atomic,
     chunk_size, mode and resume are the per-file options */
  xssh_err put_tree_swig(xssh_tree_progress_cb TREE_CB, void *TREE_UD, const char *local_dir, const char *remote_dir,
                         uint64_t *TREE_FILES, uint64_t *TREE_DIRS, uint64_t *TREE_LINKS, uint64_t *TREE_BYTES,
                         int preserve = 0, int symlinks = 0, int files_in_flight = 0, int atomic = 0,
                         size_t chunk_size = 0, long mode = 0, int resume = 0) {
    xssh_transfer_opts o;
    xssh_tree_opts t;
    xssh_tree_stats st;
    xssh_swig_opts(&o, NULL, NULL, atomic, chunk_size, mode);
    o.resume = resume;
    xssh_swig_tree_opts(&t, &o, TREE_CB, TREE_UD, preserve, symlinks, files_in_flight);
    int rc = xssh_sftp_put_tree($self, local_dir, remote_dir, &t, &st);
    *TREE_FILES = st.files;
    *TREE_DIRS = st.directories;
    *TREE_LINKS = st.symlinks;
    *TREE_BYTES = st.bytes;
    return rc;
  }
  xssh_err get_tree_swig(xssh_tree_progress_cb TREE_CB, void *TREE_UD, const char *remote_dir, const char *local_dir,
                         uint64_t *TREE_FILES, uint64_t *TREE_DIRS, uint64_t *TREE_LINKS, uint64_t *TREE_BYTES,
                         int preserve = 0, int symlinks = 0, int files_in_flight = 0, int atomic = 0,
                         size_t chunk_size = 0, long mode = 0, int resume = 0) {
    xssh_transfer_opts o;
    xssh_tree_opts t;
    xssh_tree_stats st;
    xssh_swig_opts(&o, NULL, NULL, atomic, chunk_size, mode);
    o.resume = resume;
    xssh_swig_tree_opts(&t, &o, TREE_CB, TREE_UD, preserve, symlinks, files_in_flight);
    int rc = xssh_sftp_get_tree($self, remote_dir, local_dir, &t, &st);
    *TREE_FILES = st.files;
    *TREE_DIRS = st.directories;
    *TREE_LINKS = st.symlinks;
    *TREE_BYTES = st.bytes;
    return rc;
  }
}

%extend xssh_sftp_file {
  ~xssh_sftp_file() { xssh_sftp_file_unref($self); }
  xssh_err close();
  xssh_err path_swig(const char **OUT_BORROWED) { return xssh_sftp_file_path($self, OUT_BORROWED); }

  /* (count, bytes): count 0 at end of file, EAGAIN (negative) when nothing is there yet */
  xssh_count read_swig(void *READ_BUF, size_t READ_CAP, size_t *READ_LEN) {
    int rc = xssh_sftp_file_read($self, READ_BUF, READ_CAP, READ_LEN);
    return rc < 0 ? rc : (xssh_count)*READ_LEN;
  }
  /* (count, written): count is EAGAIN in non-blocking mode when not all was taken; resume from written */
  xssh_count write_swig(const void *IN_BYTES, size_t IN_LEN, size_t *WRITTEN) {
    int rc = xssh_sftp_file_write($self, IN_BYTES, IN_LEN, WRITTEN);
    return rc < 0 ? rc : (xssh_count)*WRITTEN;
  }
  xssh_err seek64(uint64_t offset);
  xssh_err seek_swig(uint64_t offset) { return xssh_sftp_file_seek64($self, offset); }
  xssh_err tell64_swig(uint64_t *OUTPUT) { return xssh_sftp_file_tell64($self, OUTPUT); }
  xssh_err tell_swig(uint64_t *OUTPUT) { return xssh_sftp_file_tell64($self, OUTPUT); }
  xssh_err rewind();
  xssh_err fstat(xssh_sftp_attrs *ATTRS_OUT);
  xssh_err fsetstat(const xssh_sftp_attrs *attrs);
  /* ssh2-python: fstat_ex(attrs, setstat): set from attrs (setstat != 0) or fill attrs */
  xssh_err fstat_ex_swig(xssh_sftp_attrs *attrs, int setstat) {
    return setstat ? xssh_sftp_file_fsetstat($self, attrs) : xssh_sftp_file_fstat($self, attrs);
  }
  xssh_err fstatvfs(xssh_sftp_vfs *VFS_OUT);
  xssh_err fsync();
  /* one directory entry: (name, longentry, attrs); name is empty after the last
     entry; EAGAIN (non-blocking) comes back as a value */
  xssh_err readdir_next_swig(char **dir_name, size_t *dir_name_len, char **dir_long, size_t *dir_long_len,
                             xssh_sftp_attrs *ATTRS_OUT) {
    int rc = xssh_sftp_file_readdir($self, dir_name, dir_long, ATTRS_OUT);
    if (rc == XSSH_EITEROVER) {
      *dir_name = NULL;
      *dir_long = NULL;
      rc = 0;
    }
    if (rc == 0) {
      *dir_name_len = *dir_name ? strlen(*dir_name) : 0;
      *dir_long_len = *dir_long ? strlen(*dir_long) : 0;
    }
    return rc;
  }
}
