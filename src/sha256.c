/*
 * sha256.c — SHA-256 through OpenSSL's low-level (SHA-NI accelerated) calls.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "sha256.h"

#include <openssl/sha.h>

#include "vellum.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(vl_sha256_ctx), "vl_sha256_ctx too small for SHA256_CTX");

void vl_sha256_init(vl_sha256_ctx *c) { SHA256_Init((SHA256_CTX *)c); }

void vl_sha256_update(vl_sha256_ctx *c, const void *data, size_t len)
{
	SHA256_Update((SHA256_CTX *)c, data, len);
}

void vl_sha256_final(vl_sha256_ctx *c, uint8_t out[VL_SHA256_SIZE])
{
	SHA256_Final(out, (SHA256_CTX *)c);
}

void vl_sha256(const void *data, size_t len, uint8_t out[VL_SHA256_SIZE])
{
	vl_sha256_ctx c;
	vl_sha256_init(&c);
	vl_sha256_update(&c, data, len);
	vl_sha256_final(&c, out);
}

void vl_leaf_hash(const void *entry, size_t len, uint8_t out[VL_HASH_SIZE])
{
	static const uint8_t prefix = 0x00;
	vl_sha256_ctx c;
	vl_sha256_init(&c);
	vl_sha256_update(&c, &prefix, 1);
	vl_sha256_update(&c, entry, len);
	vl_sha256_final(&c, out);
}

void vl_node_hash(const uint8_t left[VL_HASH_SIZE], const uint8_t right[VL_HASH_SIZE],
                  uint8_t out[VL_HASH_SIZE])
{
	uint8_t buf[1 + 2 * VL_HASH_SIZE];
	buf[0] = 0x01;
	for (int i = 0; i < VL_HASH_SIZE; i++) {
		buf[1 + i] = left[i];
		buf[1 + VL_HASH_SIZE + i] = right[i];
	}
	vl_sha256(buf, sizeof buf, out);
}
