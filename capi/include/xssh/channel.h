/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/channel.h
 * @brief Channels (placeholder until the channels work lands).
 */
#ifndef XSSH_CHANNEL_H
#define XSSH_CHANNEL_H
#include "common.h"
#include "types.h"
#endif
