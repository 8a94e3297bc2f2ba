/*
 * util.h — small helpers the parts of `vellum chaos run` share.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_UTIL_H
#define VC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Seconds of CLOCK_MONOTONIC. */
double vc_mono_s(void);
/* Appends printf-style text to the NUL-terminated BUF of CAP bytes,
 * cutting it at the end of BUF. */
void vc_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* mkdir -p (mode 0700).  0 or -errno. */
int vc_mkdirs(const char *path);
/* rm -rf, best effort. */
void vc_rm_rf(const char *path);

/* Writing and reading the generated texts (events, agent lines): each
 * put writes at OUT without a terminating NUL and returns the bytes
 * written; each eat matches at *P in BUF (LEN bytes), advances *P and
 * returns 1, or returns 0 and leaves *P. */
size_t vc_put_str(char *out, const char *s);
size_t vc_put_u64(char *out, uint64_t v);
/* N lowercase hex digits, 16 from each word NEXT(ARG) gives. */
size_t vc_put_hex(char *out, size_t n, uint64_t (*next)(void *arg), void *arg);
int vc_eat(const char *buf, size_t len, size_t *p, const char *lit);
/* A decimal as vc_put_u64 writes it: no sign, no leading zero, fits 64
 * bits. */
int vc_eat_u64(const char *buf, size_t len, size_t *p, uint64_t *out);
/* MIN..MAX lowercase hex digits, as many as there are. */
int vc_eat_hex(const char *buf, size_t len, size_t *p, size_t min, size_t max);

#endif
