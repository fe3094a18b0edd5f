/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xssh.i — the ONE SWIG definition of xssh's Python, Lua and Ruby modules.
 * Languages touched: all three. Language specifics live only in the fenced
 * files swig/<lang>/xssh_<lang>.swg (primitives: raising, appending outputs,
 * byte buffers) and swig/<lang>/xssh_<lang>_idioms.swg (context managers,
 * __close/__gc, blocks); everything else is written once.
 */

/** ** module names (the only per-language lines outside the fenced files) **/
#if defined(SWIGPYTHON)
%module(package="xssh", threads="1") core
#elif defined(SWIGLUA)
%module xssh_core
#elif defined(SWIGRUBY)
%module "xssh::native"
#else
#error "xssh: unsupported SWIG target language"
#endif

%{
#include <stdlib.h>
#include <string.h>
#include "xssh.h"
%}

/** ** language primitives (fenced) **/
#if defined(SWIGPYTHON)
%include "python/xssh_python.swg"
%include "python/xssh_python_features.swg"
%include "python/xssh_python_callbacks.swg"
#elif defined(SWIGLUA)
%include "lua/xssh_lua.swg"
#elif defined(SWIGRUBY)
%include "ruby/xssh_ruby.swg"
#endif

/** ** shared: typemaps, errors, objects **/
%include "typemaps.i"
%include "errors.i"
%include "sftp_typemaps.i"
%include "multi_types.i"

/** ** the multi interface's callbacks (fenced; hooks declared in multi_types.i) **/
#if defined(SWIGPYTHON)
%include "python/xssh_python_multi.swg"
#elif defined(SWIGLUA)
%include "lua/xssh_lua_multi.swg"
#elif defined(SWIGRUBY)
%include "ruby/xssh_ruby_multi.swg"
#endif

/** ** every handle type, declared before any method yields one **/
XSSH_HANDLE(xssh_session, Session)
XSSH_HANDLE(xssh_agent, Agent)
XSSH_HANDLE(xssh_pubkey, PublicKey)
XSSH_HANDLE(xssh_knownhosts, KnownHost)
XSSH_HANDLE(xssh_knownhost, KnownHostEntry)
XSSH_HANDLE(xssh_channel, Channel)
XSSH_HANDLE(xssh_publickey, PublicKeySystem)
XSSH_HANDLE(xssh_listener, Listener)
XSSH_HANDLE(xssh_forward, Forward)
XSSH_HANDLE(xssh_sftp, SFTP)
XSSH_HANDLE(xssh_sftp_file, SFTPHandle)
XSSH_HANDLE(xssh_options, Options)
XSSH_HANDLE(xssh_multi_op, MultiOp)

%include "session.i"
%include "agent.i"
%include "knownhosts.i"
%include "channel.i"
%include "publickey.i"
%include "tunnel.i"
%include "sftp.i"
%include "scp.i"
%include "connect.i"
%include "multi.i"

/** ** language idioms (fenced) **/
#if defined(SWIGPYTHON)
%include "python/xssh_python_idioms.swg"
%include "python/xssh_python_multi_idioms.swg"
%include "python/xssh_python_docs.swg"
#elif defined(SWIGLUA)
%include "lua/xssh_lua_idioms.swg"
#elif defined(SWIGRUBY)
%include "ruby/xssh_ruby_idioms.swg"
#endif
