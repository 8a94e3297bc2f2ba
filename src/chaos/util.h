/*
 * util.h — small helpers the parts of `vellum chaos run` share.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_UTIL_H
#define VC_UTIL_H

#include <stddef.h>

/* Seconds of CLOCK_MONOTONIC. */
double vc_mono_s(void);
/* Appends printf-style text to the NUL-terminated BUF of CAP bytes,
 * cutting it at the end of BUF. */
void vc_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* mkdir -p (mode 0700).  0 or -errno. */
int vc_mkdirs(const char *path);
/* rm -rf, best effort. */
void vc_rm_rf(const char *path);

#endif
