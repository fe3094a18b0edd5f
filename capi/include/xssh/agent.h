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
 * libssh2: libssh2_agent_init().
 * @param session the session (borrowed: the call takes no reference)
 * @param[out] out new reference; release with xssh_agent_unref()
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O); XSSH_ENOMEM
 */
XSSH_EXTERN(int) xssh_agent_new(xssh_agent **out, xssh_session *session);
/**
 * Take one more reference; returns @p agent. NULL-safe.
 * @param agent the agent object; NULL is allowed
 * @return agent itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_agent *) xssh_agent_ref(xssh_agent *agent);
/**
 * Drop a reference; the last one disconnects from the agent socket (local, not SSH I/O).
 * NULL-safe.
 * libssh2: libssh2_agent_disconnect(), libssh2_agent_free().
 * @param agent the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_agent_unref(xssh_agent *agent);
/**
 * Set the agent socket path (default: $SSH_AUTH_SOCK); before xssh_agent_connect().
 * libssh2: libssh2_agent_set_identity_path().
 * @param agent the agent object (borrowed)
 * @param path path of the agent's UNIX socket (NUL-terminated; NULL: $SSH_AUTH_SOCK)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument; XSSH_ECLOSED once the handle (or its
 *        session) is closed (no network I/O)
 */
XSSH_EXTERN(int) xssh_agent_set_path(xssh_agent *agent, const char *path);
/**
 * Connect to the agent. @return XSSH_OK or XSSH_EAGENT_CONNECT
 * libssh2: libssh2_agent_connect().
 * @param agent the agent object (borrowed)
 */
XSSH_EXTERN(int) xssh_agent_connect(xssh_agent *agent);
/**
 * Disconnect from the agent (idempotent).
 * libssh2: libssh2_agent_disconnect().
 * @param agent the agent object (borrowed)
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_agent_disconnect(xssh_agent *agent);
/**
 * Fetch the identity list from the agent. @return XSSH_OK or XSSH_EAGENT_LIST
 * libssh2: libssh2_agent_list_identities().
 * @param agent the agent object (borrowed)
 */
XSSH_EXTERN(int) xssh_agent_list_identities(xssh_agent *agent);
/**
 * Number of identities fetched by xssh_agent_list_identities().
 * @param agent the agent object (borrowed)
 * @param[out] out number of identities fetched by the last xssh_agent_list_identities().
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O)
 */
XSSH_EXTERN(int) xssh_agent_identity_count(xssh_agent *agent, size_t *out);
/**
 * Identity @p index of the fetched list.
 * libssh2: libssh2_agent_get_identity().
 * @param agent the agent object (borrowed)
 * @param index 0-based index (< the count from xssh_agent_identity_count())
 * @param[out] out new reference (a copy); release with xssh_pubkey_unref()
 * @return XSSH_OK; XSSH_EARG for a NULL or invalid argument (no network I/O); XSSH_EARG past the
 *        end
 */
XSSH_EXTERN(int) xssh_agent_identity(xssh_agent *agent, size_t index, xssh_pubkey **out);
/**
 * Authenticate @p username with the agent identity whose blob equals @p key's.
 * libssh2: libssh2_agent_userauth().
 * @param agent the agent object (borrowed)
 * @param username the user to authenticate as
 * @param key the identity to use (from xssh_agent_identity())
 * @return XSSH_OK; XSSH_EAGAIN in non-blocking mode when it would wait (call again, nothing is
 *        lost); XSSH_ETIMEOUT after the session timeout; XSSH_EARG (NULL or invalid argument);
 *        XSSH_ECLOSED (closed handle); else libssh2's error as an xssh_err (details:
 *        xssh_error_last()); XSSH_EAUTHENTICATION_FAILED when the server refuses the credentials;
 *        XSSH_EBAD_USE when the session is already authenticated; XSSH_EAGENT_AUTH when the agent
 *        or server refuses
 */
XSSH_EXTERN(int) xssh_agent_userauth(xssh_agent *agent, const char *username, xssh_pubkey *key);

/**
 * Take one more reference; returns @p key. NULL-safe.
 * @param key the identity; NULL is allowed
 * @return key itself (NULL for NULL)
 */
XSSH_EXTERN(xssh_pubkey *) xssh_pubkey_ref(xssh_pubkey *key);
/**
 * Drop a reference. NULL-safe.
 * @param key the reference to drop; NULL is allowed
 */
XSSH_EXTERN(void) xssh_pubkey_unref(xssh_pubkey *key);
/**
 * The identity's public key blob (the SSH wire format).
 * @param key an identity of the agent (borrowed)
 * @param[out] out borrowed pointer to the key blob (valid while @p key lives).
 * @param[out] len_out its length in bytes
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_pubkey_blob(xssh_pubkey *key, const unsigned char **out, size_t *len_out);
/**
 * The identity's comment, as the agent stores it.
 * @param key an identity of the agent (borrowed)
 * @param[out] out borrowed comment string (valid while @p key lives).
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_pubkey_comment(xssh_pubkey *key, const char **out);
/**
 * libssh2's magic number of the identity (ssh2-python's PublicKey.magic).
 * @param key an identity of the agent (borrowed)
 * @param[out] out libssh2's magic number of the identity.
 * @return XSSH_OK; XSSH_EARG for a NULL argument
 */
XSSH_EXTERN(int) xssh_pubkey_magic(xssh_pubkey *key, unsigned int *out);

XSSH_END_DECL

/** @} */
#endif /* XSSH_AGENT_H */
