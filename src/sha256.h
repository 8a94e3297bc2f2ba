/*
 * sha256.h — SHA-256 on the hot path.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * OpenSSL 3's one-shot SHA256() fetches the algorithm on every call and is
 * about four times slower than the low-level calls; the Merkle tree hashes
 * one leaf and about one node per entry, so only the low-level calls are
 * used here.  The state is fixed-size and caller-allocated: no malloc.
 */
#ifndef VL_SHA256_H
#define VL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VL_SHA256_SIZE 32

typedef struct vl_sha256_ctx {
	/* Large enough for OpenSSL's SHA256_CTX (112 bytes), checked in sha256.c. */
	uint64_t opaque[16];
} vl_sha256_ctx;

void vl_sha256_init(vl_sha256_ctx *c);
void vl_sha256_update(vl_sha256_ctx *c, const void *data, size_t len);
void vl_sha256_final(vl_sha256_ctx *c, uint8_t out[VL_SHA256_SIZE]);
/* One-shot over a single buffer, still without any fetch. */
void vl_sha256(const void *data, size_t len, uint8_t out[VL_SHA256_SIZE]);

#endif
