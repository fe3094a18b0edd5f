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

#endif /* XSSH_COMMON_H */
