/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh.h
 * @brief Umbrella header: include this to use xssh.
 */
#ifndef XSSH_H
#define XSSH_H

#include "xssh/common.h"
#include "xssh/types.h"
#include "xssh/version.h"
#include "xssh/errors.h"
#include "xssh/session.h"
#include "xssh/agent.h"
#include "xssh/knownhosts.h"
#include "xssh/channel.h"
#include "xssh/sftp.h"
#include "xssh/scp.h"
#include "xssh/publickey.h"
#include "xssh/tunnel.h"
#include "xssh/connect.h"
#include "xssh/multi.h"

#endif /* XSSH_H */
