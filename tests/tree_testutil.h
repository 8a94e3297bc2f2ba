/*
 * tree_testutil.h — what the Merkle and tile tests share: a seeded PRNG,
 * reading hashes out of tlog-vectors.json, and a tree held in memory with
 * every node of every level.  Include after <cmocka.h> and <jansson.h>.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VL_TREE_TESTUTIL_H
#define VL_TREE_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vellum.h"

#define HS VL_HASH_SIZE
typedef uint8_t hash_t[HS];

/* Deterministic randomness (splitmix64).  Each test reseeds with its own
 * tag so that it can be rerun alone with the same VL_SEED. */
static uint64_t base_seed;
static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rnd_below(uint64_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

static inline void reseed(uint64_t tag)
{
	rng_state = base_seed ^ (tag * 0xd1342543de82ef95ull);
}

/* Vectors: a standard-base64 32-byte hash, written out independently of
 * the library's own decoder. */
static inline int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static inline void b64_hash(const char *s, uint8_t out[HS])
{
	assert_non_null(s);
	assert_true(strlen(s) >= 44);
	assert_int_equal(s[43], '=');
	uint8_t buf[33];
	size_t o = 0;
	for (size_t i = 0; i < 44; i += 4) {
		int v[4];
		for (int j = 0; j < 4; j++)
			v[j] = s[i + j] == '=' ? 0 : b64val(s[i + j]);
		for (int j = 0; j < 4; j++)
			assert_true(v[j] >= 0);
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		buf[o++] = (uint8_t)(w >> 16);
		if (o < sizeof buf)
			buf[o++] = (uint8_t)(w >> 8);
		if (o < sizeof buf)
			buf[o++] = (uint8_t)w;
	}
	memcpy(out, buf, HS);
}

static inline uint64_t json_u64(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	assert_true(json_integer_value(v) >= 0);
	return (uint64_t)json_integer_value(v);
}

static inline size_t json_hashes(json_t *obj, const char *key, hash_t *out, size_t cap)
{
	json_t *arr = json_object_get(obj, key);
	assert_non_null(arr);
	assert_true(json_is_array(arr));
	size_t n = json_array_size(arr);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++)
		b64_hash(json_string_value(json_array_get(arr, i)), out[i]);
	return n;
}

/* Every node of a tree of n leaves, level by level. */
typedef struct store {
	uint64_t n;
	hash_t *lv[64];
	uint64_t cnt[64];
} store;

static inline void store_build(store *s, const hash_t *leaves, uint64_t n)
{
	memset(s, 0, sizeof *s);
	s->n = n;
	for (unsigned h = 0; h < 64 && (n >> h) != 0; h++) {
		s->cnt[h] = n >> h;
		s->lv[h] = malloc(s->cnt[h] * HS);
		assert_non_null(s->lv[h]);
		for (uint64_t i = 0; i < s->cnt[h]; i++) {
			if (h == 0)
				memcpy(s->lv[0][i], leaves[i], HS);
			else
				vl_node_hash(s->lv[h - 1][2 * i], s->lv[h - 1][2 * i + 1], s->lv[h][i]);
		}
	}
}

static inline void store_free(store *s)
{
	for (unsigned h = 0; h < 64; h++)
		free(s->lv[h]);
	memset(s, 0, sizeof *s);
}

#endif
