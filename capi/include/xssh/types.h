/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/types.h
 * @brief Every opaque handle type of xssh.
 *
 * All handles are reference counted: each function that yields a handle yields a
 * new (+1) reference owned by the caller, released with the matching
 * `xssh_<noun>_unref()`. A child (channel, agent, known-hosts, ...) holds a
 * reference on its session, so handles may be released in any order.
 */
#ifndef XSSH_TYPES_H
#define XSSH_TYPES_H

#include "common.h"

XSSH_BEGIN_DECL

/** An SSH connection: transport, authentication, host key. */
typedef struct xssh_session xssh_session;
/** A channel of a session (exec, shell, subsystem, ...). */
typedef struct xssh_channel xssh_channel;
/** A connection to an SSH agent, bound to a session. */
typedef struct xssh_agent xssh_agent;
/** A public key as listed by an agent (blob and comment). */
typedef struct xssh_pubkey xssh_pubkey;
/** A known-hosts collection, bound to a session. */
typedef struct xssh_knownhosts xssh_knownhosts;
/** One entry of a known-hosts collection (a copy: name, key, type mask). */
typedef struct xssh_knownhost xssh_knownhost;

XSSH_END_DECL

#endif /* XSSH_TYPES_H */
