/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sftp_typemaps.i — typemaps of sftp.i and scp.i. Languages touched: all three.
 * Included from xssh.i before session.i: the Session %extend blocks of sftp.i /
 * scp.i are wrapped when session.i's class is, so their typemaps must exist by then.
 *
 * Progress callbacks: the whole-file calls take the pair
 *   (xssh_progress_cb PROGRESS_CB, void *PROGRESS_UD)
 * as their FIRST arguments. A language that can call back defines, in its
 * primitives (included before this file), typemap(in) with ONE input (the
 * language's callable; nil/None: no progress) that sets $1 to a C trampoline of
 * type xssh_progress_cb (int (*)(uint64_t done, uint64_t total, void *ud),
 * nonzero return = cancel, total == XSSH_SIZE_UNKNOWN when unknown) and $2 to its
 * context, typemap(freearg) to release that context / re-raise an error the
 * callable raised, and the SWIG macro XSSH_PROGRESS_TYPEMAP. See
 * python/xssh_python_callbacks.swg. Without it the pair takes no input (no progress).
 */
%include <stdint.i>

/* ---- outputs ---- */
/* 64-bit offsets */
%typemap(in, numinputs=0) uint64_t *OUTPUT (uint64_t tmp = 0) "$1 = &tmp;"
%typemap(argout) uint64_t *OUTPUT { if (XSSH_OUTPUT_OK) { %xssh_append_int((long long)*$1) } }
/* a new SFTPAttributes / SFTPStatVFS object owned by the language */
%typemap(in, numinputs=0) xssh_sftp_attrs *ATTRS_OUT "$1 = (xssh_sftp_attrs *)calloc(1, sizeof(xssh_sftp_attrs));"
%typemap(argout) xssh_sftp_attrs *ATTRS_OUT {
  if (XSSH_OUTPUT_OK && $1) { %xssh_append_handle($1, $descriptor(xssh_sftp_attrs *)) $1 = NULL; }
}
%typemap(freearg) xssh_sftp_attrs *ATTRS_OUT "free($1);"
%typemap(in, numinputs=0) xssh_sftp_vfs *VFS_OUT "$1 = (xssh_sftp_vfs *)calloc(1, sizeof(xssh_sftp_vfs));"
%typemap(argout) xssh_sftp_vfs *VFS_OUT {
  if (XSSH_OUTPUT_OK && $1) { %xssh_append_handle($1, $descriptor(xssh_sftp_vfs *)) $1 = NULL; }
}
%typemap(freearg) xssh_sftp_vfs *VFS_OUT "free($1);"

/* no progress unless the language supplies a callback typemap */
#ifndef XSSH_PROGRESS_TYPEMAP
/* (two one-argument typemaps: SWIG's Lua backend miscounts a multi-argument one without inputs) */
%typemap(in, numinputs=0) xssh_progress_cb PROGRESS_CB "$1 = NULL;"
%typemap(in, numinputs=0) void *PROGRESS_UD "$1 = NULL;"
#endif

/* Progress of the tree transfers (put_tree / get_tree): the pair
     (xssh_tree_progress_cb TREE_CB, void *TREE_UD)
   as their FIRST arguments, one input (the language's callable, nil/None: no
   progress) calling it with the seven fields of xssh_tree_progress (files_done,
   files_total, bytes_done, bytes_total, path, file_done, file_total; path in
   the file system's bytes) or the language's record of them. Each language
   defines it in its primitives with the SWIG macro XSSH_TREE_PROGRESS_TYPEMAP,
   next to PROGRESS_CB (same cancel and error rules). */
#ifndef XSSH_TREE_PROGRESS_TYPEMAP
%typemap(in, numinputs=0) xssh_tree_progress_cb TREE_CB "$1 = NULL;"
%typemap(in, numinputs=0) void *TREE_UD "$1 = NULL;"
#endif
/* the four counters of xssh_tree_stats, returned in order */
%apply uint64_t *OUTPUT { uint64_t *TREE_FILES, uint64_t *TREE_DIRS, uint64_t *TREE_LINKS, uint64_t *TREE_BYTES };

/* a macro, not a function: the Session %extend bodies are emitted with session.i,
   before any %{ %} block of sftp.i / scp.i */
%begin %{
#define xssh_swig_opts(o, cb, ud, atomic_, chunk_, mode_)                        \
  do {                                                                           \
    memset((o), 0, sizeof *(o));                                                 \
    (o)->progress = (cb);                                                        \
    (o)->userdata = (ud);                                                        \
    (o)->atomic = (atomic_);                                                     \
    (o)->chunk_size = (chunk_);                                                  \
    (o)->mode = (mode_);                                                         \
  } while (0)
%}

/* options of put_tree / get_tree (file: the per-file whole-file options) */
%begin %{
#define xssh_swig_tree_opts(t, f, cb, ud, preserve_, symlinks_, in_flight_)      \
  do {                                                                           \
    memset((t), 0, sizeof *(t));                                                 \
    (t)->progress = (cb);                                                        \
    (t)->userdata = (ud);                                                        \
    (t)->preserve = (preserve_);                                                 \
    (t)->symlinks = (symlinks_);                                                 \
    (t)->files_in_flight = (in_flight_);                                         \
    (t)->file = (f);                                                             \
  } while (0)
%}

/* FileInfo out (scp.i) */
%typemap(in, numinputs=0) xssh_scp_fileinfo *INFO_OUT "$1 = (xssh_scp_fileinfo *)calloc(1, sizeof(xssh_scp_fileinfo));"
%typemap(argout) xssh_scp_fileinfo *INFO_OUT {
  if (XSSH_OUTPUT_OK && $1) { %xssh_append_handle($1, $descriptor(xssh_scp_fileinfo *)) $1 = NULL; }
}
%typemap(freearg) xssh_scp_fileinfo *INFO_OUT "free($1);"

