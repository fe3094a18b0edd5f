/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/agent.h
 * @brief SSH agent: list identities and authenticate with one of them.
 * @defgroup agent Agent
 * @{
 */
#ifndef XSSH_AGENT_H
#define XSSH_AGENT_H

#include "common.h"
#include "types.h"

XSSH_BEGIN_DECL

/**
 * Create an agent object for @p session (holds a reference on it).
 * @param[out] out new reference; release with xssh_agent_unref()
 */
XSSH_EXTERN(int) xssh_agent_new(xssh_agent **out, xssh_session *session);
/** Take one more reference; returns @p agent. NULL-safe. */
XSSH_EXTERN(xssh_agent *) xssh_agent_ref(xssh_agent *agent);
/** Drop a reference; the last one disconnects from the agent socket (local, not SSH I/O). NULL-safe. */
XSSH_EXTERN(void) xssh_agent_unref(xssh_agent *agent);
/** Set the agent socket path (default: $SSH_AUTH_SOCK); before xssh_agent_connect(). */
XSSH_EXTERN(int) xssh_agent_set_path(xssh_agent *agent, const char *path);
/** Connect to the agent. @return XSSH_OK or XSSH_EAGENT_CONNECT */
XSSH_EXTERN(int) xssh_agent_connect(xssh_agent *agent);
/** Disconnect from the agent (idempotent). */
XSSH_EXTERN(int) xssh_agent_disconnect(xssh_agent *agent);
/** Fetch the identity list from the agent. @return XSSH_OK or XSSH_EAGENT_LIST */
XSSH_EXTERN(int) xssh_agent_list_identities(xssh_agent *agent);
/** @param[out] out number of identities fetched by the last xssh_agent_list_identities(). */
XSSH_EXTERN(int) xssh_agent_identity_count(xssh_agent *agent, size_t *out);
/**
 * Identity @p index of the fetched list.
 * @param[out] out new reference (a copy); release with xssh_pubkey_unref()
 */
XSSH_EXTERN(int) xssh_agent_identity(xssh_agent *agent, size_t index, xssh_pubkey **out);
/** Authenticate @p username with the agent identity whose blob equals @p key's. */
XSSH_EXTERN(int) xssh_agent_userauth(xssh_agent *agent, const char *username, xssh_pubkey *key);

/** Take one more reference; returns @p key. NULL-safe. */
XSSH_EXTERN(xssh_pubkey *) xssh_pubkey_ref(xssh_pubkey *key);
/** Drop a reference. NULL-safe. */
XSSH_EXTERN(void) xssh_pubkey_unref(xssh_pubkey *key);
/** @param[out] out borrowed pointer to the key blob (valid while @p key lives). */
XSSH_EXTERN(int) xssh_pubkey_blob(xssh_pubkey *key, const unsigned char **out, size_t *len_out);
/** @param[out] out borrowed comment string (valid while @p key lives). */
XSSH_EXTERN(int) xssh_pubkey_comment(xssh_pubkey *key, const char **out);
/** @param[out] out libssh2's magic number of the identity. */
XSSH_EXTERN(int) xssh_pubkey_magic(xssh_pubkey *key, unsigned int *out);

XSSH_END_DECL

/** @} */
#endif /* XSSH_AGENT_H */
