/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file xssh/common.h
 * @brief Export and C++ linkage macros shared by every xssh header.
 */
#ifndef XSSH_COMMON_H
#define XSSH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define XSSH_BEGIN_DECL extern "C" {
#define XSSH_END_DECL }
#else
#define XSSH_BEGIN_DECL
#define XSSH_END_DECL
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define XSSH_EXTERN(type) __attribute__((visibility("default"))) type
#else
#define XSSH_EXTERN(type) type
#endif

/**
 * The most bytes one read call hands back (16 MiB): xssh_channel_read*(),
 * xssh_sftp_file_read() and the language read methods clamp a larger buffer
 * to this and return a short count (allocating no more than this). libssh2
 * 1.10 cuts a read length to 32 bits inside and grows the channel's receive
 * window by the buffer size; an SSH window past 2^32-1 makes the peer drop
 * the connection (RFC 4254 section 5.2 carries it as a uint32).
 */
#define XSSH_IO_MAX ((size_t)16 << 20)

#endif /* XSSH_COMMON_H */
