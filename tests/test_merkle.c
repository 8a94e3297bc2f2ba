/*
 * test_merkle.c — known-answer and property tests of the Merkle tree, its proofs and the frontier.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The known answers come from golang.org/x/mod/sumdb/tlog; the property
 * tests compare against a naive recursive transcription of RFC 6962 §2.1
 * that shares no code with merkle.c.  Random choices come from a fixed
 * seed, printed at start and overridable with VL_SEED.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "merkle.h"
#include "tree_testutil.h"
#include "vellum.h"

/* Room for every tampered variant: a proof plus inserted hashes. */
#define PROOF_CAP (VL_PROOF_MAX + 4)

static const uint8_t empty_root[HS] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* ------------------------------------------------------------------ */
/* Deterministic randomness.                                           */

static void rnd_hash(uint8_t out[HS])
{
	for (int i = 0; i < HS; i += 8) {
		uint64_t v = rnd();
		memcpy(out + i, &v, 8);
	}
}

/* ------------------------------------------------------------------ */
/* Vectors.                                                            */

static json_t *vectors;

static json_t *vector_list(const char *key)
{
	assert_non_null(vectors);
	json_t *a = json_object_get(vectors, key);
	assert_non_null(a);
	assert_true(json_is_array(a));
	assert_true(json_array_size(a) > 0);
	return a;
}

/* ------------------------------------------------------------------ */
/* Tree models: a store of every node of a tree held in memory, or a    */
/* sparse tree of any size where all but a few leaves are equal.        */

#define SPARSE_MAX 8

typedef struct sparse {
	size_t k;
	uint64_t pos[SPARSE_MAX];
	hash_t leaf[SPARSE_MAX];
	hash_t z[65]; /* z[h]: root of a perfect subtree of filler leaves */
} sparse;

static void sparse_init(sparse *sp)
{
	memset(sp, 0, sizeof *sp);
	vl_leaf_hash("filler", 6, sp->z[0]);
	for (unsigned h = 0; h < 64; h++)
		vl_node_hash(sp->z[h], sp->z[h], sp->z[h + 1]);
}

static void sparse_add(sparse *sp, uint64_t pos)
{
	for (size_t j = 0; j < sp->k; j++)
		if (sp->pos[j] == pos)
			return;
	assert_true(sp->k < SPARSE_MAX);
	char buf[32];
	int len = snprintf(buf, sizeof buf, "leaf %" PRIu64, pos);
	sp->pos[sp->k] = pos;
	vl_leaf_hash(buf, (size_t)len, sp->leaf[sp->k]);
	sp->k++;
}

/* RFC 6962 node (h, i) of the sparse tree, by definition. */
static void sparse_node(const sparse *sp, unsigned h, uint64_t i, uint8_t out[HS])
{
	int any = 0;
	for (size_t j = 0; j < sp->k; j++) {
		if ((sp->pos[j] >> h) == i) {
			if (h == 0) {
				memcpy(out, sp->leaf[j], HS);
				return;
			}
			any = 1;
		}
	}
	if (!any) {
		memcpy(out, sp->z[h], HS);
		return;
	}
	uint8_t a[HS], b[HS];
	sparse_node(sp, h - 1, 2 * i, a);
	sparse_node(sp, h - 1, 2 * i + 1, b);
	vl_node_hash(a, b, out);
}

typedef struct model {
	const store *st; /* exactly one of st and sp */
	const sparse *sp;
	uint64_t max;    /* largest tree size the model holds */
	uint64_t limit;  /* size of the tree currently being read */
	unsigned reads;
	unsigned fail_after; /* with fail_code: fail the read after this many */
	int fail_code;
} model;

static int model_reader(void *ctx, unsigned h, uint64_t i, uint8_t out[HS])
{
	model *md = ctx;
	/* The contract: only perfect subtrees complete in the tree read. */
	assert_true(h < 64);
	assert_true(i < (md->limit >> h));
	if (md->fail_code != 0 && md->reads == md->fail_after)
		return md->fail_code;
	md->reads++;
	if (md->st != NULL) {
		assert_true(i < md->st->cnt[h]);
		memcpy(out, md->st->lv[h][i], HS);
	} else {
		sparse_node(md->sp, h, i, out);
	}
	return 0;
}

static void model_leaf(const model *md, uint64_t i, uint8_t out[HS])
{
	if (md->st != NULL)
		memcpy(out, md->st->lv[0][i], HS);
	else
		sparse_node(md->sp, 0, i, out);
}

static void model_root(model *md, uint64_t n, uint8_t out[HS])
{
	md->limit = n;
	assert_int_equal(vl_merkle_tree_hash(n, model_reader, md, out), 0);
}

static int model_incl(model *md, uint64_t i, uint64_t n, hash_t *p, size_t *np)
{
	md->limit = n;
	md->reads = 0;
	return vl_merkle_prove_inclusion(i, n, model_reader, md, p, np);
}

static int model_cons(model *md, uint64_t m, uint64_t n, hash_t *p, size_t *np)
{
	md->limit = n;
	md->reads = 0;
	return vl_merkle_prove_consistency(m, n, model_reader, md, p, np);
}

/* ------------------------------------------------------------------ */
/* RFC 6962 §2.1, transcribed naively.                                  */

static uint64_t naive_split(uint64_t n)
{
	uint64_t k = 1;
	while (k < n - k)
		k <<= 1;
	return k;
}

/* MTH(D[lo:hi]) over either model: the leaves of a store, or the sparse
 * tree's nodes where a range happens to be an aligned power of two (its
 * RFC definition, by construction of sparse_node). */
static void naive_mth(const model *md, uint64_t lo, uint64_t hi, uint8_t out[HS])
{
	uint64_t n = hi - lo;
	if (n == 0) {
		memcpy(out, empty_root, HS);
		return;
	}
	if (n == 1) {
		model_leaf(md, lo, out);
		return;
	}
	if (md->sp != NULL && (n & (n - 1)) == 0 && lo % n == 0) {
		unsigned h = (unsigned)__builtin_ctzll(n);
		sparse_node(md->sp, h, lo >> h, out);
		return;
	}
	uint64_t k = naive_split(n);
	uint8_t a[HS], b[HS];
	naive_mth(md, lo, lo + k, a);
	naive_mth(md, lo + k, hi, b);
	vl_node_hash(a, b, out);
}

/* PATH(m, D[lo:hi]), m absolute. */
static void naive_path(const model *md, uint64_t m, uint64_t lo, uint64_t hi, hash_t *out,
                       size_t *np)
{
	if (hi - lo <= 1)
		return;
	uint64_t k = naive_split(hi - lo);
	if (m < lo + k) {
		naive_path(md, m, lo, lo + k, out, np);
		naive_mth(md, lo + k, hi, out[(*np)++]);
	} else {
		naive_path(md, m, lo + k, hi, out, np);
		naive_mth(md, lo, lo + k, out[(*np)++]);
	}
}

/* SUBPROOF(m, D[lo:hi], b), m absolute. */
static void naive_subproof(const model *md, uint64_t m, uint64_t lo, uint64_t hi, int b,
                           hash_t *out, size_t *np)
{
	assert_true(*np < PROOF_CAP);
	if (m == hi) {
		if (!b)
			naive_mth(md, lo, hi, out[(*np)++]);
		return;
	}
	uint64_t k = naive_split(hi - lo);
	if (m <= lo + k) {
		naive_subproof(md, m, lo, lo + k, b, out, np);
		naive_mth(md, lo + k, hi, out[(*np)++]);
	} else {
		naive_subproof(md, m, lo + k, hi, 0, out, np);
		naive_mth(md, lo, lo + k, out[(*np)++]);
	}
}

static void assert_proof_equal(const hash_t *a, size_t na, const hash_t *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_memory_equal(a[i], b[i], HS);
}

static int proofs_equal(const hash_t *a, size_t na, const hash_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * HS) == 0);
}

/* ------------------------------------------------------------------ */
/* Tampering: every altered proof or claim must fail.                  */

static void flip_bit(uint8_t h[HS])
{
	unsigned b = (unsigned)rnd_below(HS * 8);
	h[b / 8] ^= (uint8_t)(1u << (b % 8));
}

static void check_inclusion_tampering(model *md, uint64_t index, uint64_t n, const hash_t *proof,
                                      size_t np, const uint8_t root[HS])
{
	hash_t alt[PROOF_CAP], leaf, h;
	size_t na;
	model_leaf(md, index, leaf);
	assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, proof, np, root), 0);

	for (size_t j = 0; j < np; j++) {
		memcpy(alt, proof, np * HS);
		flip_bit(alt[j]);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, alt, np, root), VL_EPROOF);
	}
	for (size_t j = 0; j < np; j++) {
		memcpy(alt, proof, j * HS);
		memcpy(alt[j], proof[j + 1], (np - j - 1) * HS);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, alt, np - 1, root),
		                 VL_EPROOF);
	}
	for (size_t j = 0; j <= np; j++) {
		for (int kind = 0; kind < 3; kind++) {
			memcpy(alt, proof, j * HS);
			if (kind == 0)
				rnd_hash(alt[j]);
			else if (kind == 1)
				memcpy(alt[j], np ? proof[j < np ? j : np - 1] : leaf, HS);
			else
				memcpy(alt[j], leaf, HS);
			memcpy(alt[j + 1], proof[j], (np - j) * HS);
			assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, alt, np + 1, root),
			                 VL_EPROOF);
		}
	}
	size_t pairs = np * (np - (np ? 1 : 0)) / 2;
	for (size_t t = 0; t < (pairs <= 200 ? pairs : 200); t++) {
		size_t a, b;
		if (pairs <= 200) {
			/* enumerate pair number t */
			size_t c = t;
			for (a = 0; c >= np - a - 1; a++)
				c -= np - a - 1;
			b = a + 1 + c;
		} else {
			a = rnd_below(np);
			b = rnd_below(np);
			if (a == b)
				continue;
		}
		if (memcmp(proof[a], proof[b], HS) == 0)
			continue;
		memcpy(alt, proof, np * HS);
		memcpy(alt[a], proof[b], HS);
		memcpy(alt[b], proof[a], HS);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, alt, np, root), VL_EPROOF);
	}

	/* Wrong leaf. */
	memcpy(h, leaf, HS);
	flip_bit(h);
	assert_int_equal(vl_merkle_verify_inclusion(h, index, n, proof, np, root), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(root, index, n, proof, np, root),
	                 np == 0 ? 0 : VL_EPROOF);

	/* Wrong index, same leaf. */
	uint64_t bad_index[] = { index ^ 1,  index + 1, index - 1, index ^ (1ull << rnd_below(64)),
		                 index ^ (n >> 1), n,     n + 1,     UINT64_MAX };
	for (size_t j = 0; j < sizeof bad_index / sizeof bad_index[0]; j++) {
		if (bad_index[j] == index)
			continue;
		assert_int_equal(vl_merkle_verify_inclusion(leaf, bad_index[j], n, proof, np, root),
		                 VL_EPROOF);
	}

	/* Wrong size: the proof, claimed for another tree, against that tree's root. */
	uint64_t bad_size[] = { n + 1, n - 1, n * 2, n / 2, n + 1 + rnd_below(n), index,
		                0,     UINT64_MAX };
	for (size_t j = 0; j < sizeof bad_size / sizeof bad_size[0]; j++) {
		uint64_t s = bad_size[j];
		if (s == n)
			continue;
		if (s <= index) {
			assert_int_equal(vl_merkle_verify_inclusion(leaf, index, s, proof, np, root),
			                 VL_EPROOF);
			continue;
		}
		if (s > md->max)
			continue;
		uint8_t other_root[HS];
		model_root(md, s, other_root);
		assert_int_equal(model_incl(md, index, s, alt, &na), 0);
		if (proofs_equal(alt, na, proof, np))
			continue;
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, s, proof, np, other_root),
		                 VL_EPROOF);
	}

	/* Wrong root. */
	memcpy(h, root, HS);
	flip_bit(h);
	assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, proof, np, h), VL_EPROOF);
	memset(h, 0, HS);
	assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, proof, np, h), VL_EPROOF);
	if (n - 1 > index) {
		model_root(md, n - 1, h);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, proof, np, h), VL_EPROOF);
	}

	/* Garbage beyond the stated length is never read; a length past the
	 * limit is refused. */
	memcpy(alt, proof, np * HS);
	for (size_t j = np; j < PROOF_CAP; j++)
		rnd_hash(alt[j]);
	assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, alt, np, root), 0);
	assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, alt, VL_PROOF_MAX + 1, root),
	                 VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(NULL, index, n, proof, np, root), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, proof, np, NULL), VL_EPROOF);
	if (np > 0)
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, NULL, np, root),
		                 VL_EPROOF);
}

static void check_consistency_tampering(model *md, uint64_t m, uint64_t n, const hash_t *proof,
                                        size_t np, const uint8_t root_m[HS],
                                        const uint8_t root_n[HS])
{
	hash_t alt[PROOF_CAP], h, other;
	size_t na;
	assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, root_m, root_n), 0);

	for (size_t j = 0; j < np; j++) {
		memcpy(alt, proof, np * HS);
		flip_bit(alt[j]);
		assert_int_equal(vl_merkle_verify_consistency(m, n, alt, np, root_m, root_n),
		                 VL_EPROOF);
	}
	for (size_t j = 0; j < np; j++) {
		memcpy(alt, proof, j * HS);
		memcpy(alt[j], proof[j + 1], (np - j - 1) * HS);
		assert_int_equal(vl_merkle_verify_consistency(m, n, alt, np - 1, root_m, root_n),
		                 VL_EPROOF);
	}
	for (size_t j = 0; j <= np; j++) {
		for (int kind = 0; kind < 3; kind++) {
			memcpy(alt, proof, j * HS);
			if (kind == 0)
				rnd_hash(alt[j]);
			else if (kind == 1)
				memcpy(alt[j], root_m, HS);
			else
				memcpy(alt[j], np ? proof[j < np ? j : np - 1] : root_n, HS);
			memcpy(alt[j + 1], proof[j], (np - j) * HS);
			assert_int_equal(
				vl_merkle_verify_consistency(m, n, alt, np + 1, root_m, root_n),
				VL_EPROOF);
		}
	}
	for (size_t a = 0; a < np; a++) {
		for (size_t b = a + 1; b < np; b++) {
			if (np > 16 && rnd_below(4) != 0)
				continue;
			if (memcmp(proof[a], proof[b], HS) == 0)
				continue;
			memcpy(alt, proof, np * HS);
			memcpy(alt[a], proof[b], HS);
			memcpy(alt[b], proof[a], HS);
			assert_int_equal(
				vl_merkle_verify_consistency(m, n, alt, np, root_m, root_n),
				VL_EPROOF);
		}
	}

	/* Wrong roots. */
	memcpy(h, root_m, HS);
	flip_bit(h);
	assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, h, root_n), VL_EPROOF);
	memcpy(h, root_n, HS);
	flip_bit(h);
	assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, root_m, h), VL_EPROOF);
	if (m != n)
		assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, root_n, root_m),
		                 VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, empty_root, root_n),
	                 VL_EPROOF);

	/* Wrong old size, against that size's root. */
	uint64_t bad_m[] = { m + 1, m - 1, m * 2, m / 2, 0, n + 1, UINT64_MAX, 1 + rnd_below(n) };
	for (size_t j = 0; j < sizeof bad_m / sizeof bad_m[0]; j++) {
		uint64_t s = bad_m[j];
		if (s == m)
			continue;
		if (s == 0 || s > n) {
			assert_int_equal(vl_merkle_verify_consistency(s, n, proof, np, root_m, root_n),
			                 VL_EPROOF);
			continue;
		}
		model_root(md, s, other);
		int rc = model_cons(md, s, n, alt, &na);
		if (rc == VL_ETOOBIG)
			continue; /* (s, n) has no proof within VL_PROOF_MAX */
		assert_int_equal(rc, 0);
		if (proofs_equal(alt, na, proof, np))
			continue;
		assert_int_equal(vl_merkle_verify_consistency(s, n, proof, np, other, root_n),
		                 VL_EPROOF);
	}

	/* Wrong new size, against that size's root. */
	uint64_t bad_n[] = { n + 1, n - 1, n * 2, n / 2, m - 1, UINT64_MAX, m + rnd_below(n) };
	for (size_t j = 0; j < sizeof bad_n / sizeof bad_n[0]; j++) {
		uint64_t s = bad_n[j];
		if (s == n)
			continue;
		if (s < m) {
			assert_int_equal(vl_merkle_verify_consistency(m, s, proof, np, root_m, root_n),
			                 VL_EPROOF);
			continue;
		}
		if (s > md->max)
			continue;
		model_root(md, s, other);
		int rc = model_cons(md, m, s, alt, &na);
		if (rc == VL_ETOOBIG)
			continue;
		assert_int_equal(rc, 0);
		if (proofs_equal(alt, na, proof, np))
			continue;
		assert_int_equal(vl_merkle_verify_consistency(m, s, proof, np, root_m, other),
		                 VL_EPROOF);
	}

	memcpy(alt, proof, np * HS);
	for (size_t j = np; j < PROOF_CAP; j++)
		rnd_hash(alt[j]);
	assert_int_equal(vl_merkle_verify_consistency(m, n, alt, np, root_m, root_n), 0);
	assert_int_equal(
		vl_merkle_verify_consistency(m, n, alt, VL_PROOF_MAX + 1, root_m, root_n),
		VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, NULL, root_n), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(m, n, proof, np, root_m, NULL), VL_EPROOF);
	if (np > 0)
		assert_int_equal(vl_merkle_verify_consistency(m, n, NULL, np, root_m, root_n),
		                 VL_EPROOF);
}

/* ------------------------------------------------------------------ */
/* Known answers.                                                      */

static store vec_store; /* "entry 0" .. "entry 299" */
static hash_t vec_leaves[300];

static int setup_vectors(void **state)
{
	(void)state;
	const char *dir = getenv("VL_VECTORS");
	if (dir == NULL || *dir == '\0')
		dir = "tests/vectors";
	char path[4096];
	snprintf(path, sizeof path, "%s/tlog-vectors.json", dir);
	json_error_t err;
	vectors = json_load_file(path, 0, &err);
	if (vectors == NULL) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n", path, err.text, err.line);
		return -1;
	}
	for (unsigned i = 0; i < 300; i++) {
		char buf[32];
		int len = snprintf(buf, sizeof buf, "entry %u", i);
		vl_leaf_hash(buf, (size_t)len, vec_leaves[i]);
	}
	store_build(&vec_store, (const hash_t *)vec_leaves, 300);
	return 0;
}

static int teardown_vectors(void **state)
{
	(void)state;
	store_free(&vec_store);
	json_decref(vectors);
	vectors = NULL;
	return 0;
}

static void test_vector_tree_hashes(void **state)
{
	(void)state;
	json_t *list = vector_list("tree_hashes");
	model md = { .st = &vec_store, .max = 300 };
	vl_frontier f;
	vl_frontier_init(&f);
	size_t idx;
	json_t *v;
	/* Sizes in order so the frontier can follow along. */
	for (uint64_t n = 0; n <= 300; n++) {
		json_t *found = NULL;
		json_array_foreach(list, idx, v)
		{
			if (json_u64(v, "size") == n)
				found = v;
		}
		assert_non_null(found);
		uint8_t want[HS], got[HS];
		b64_hash(json_string_value(json_object_get(found, "root_b64")), want);

		model_root(&md, n, got);
		assert_memory_equal(got, want, HS);
		vl_merkle_root_of_leaves((const hash_t *)vec_leaves, n, got);
		assert_memory_equal(got, want, HS);
		naive_mth(&md, 0, n, got);
		assert_memory_equal(got, want, HS);
		assert_int_equal(f.size, n);
		vl_frontier_root(&f, got);
		assert_memory_equal(got, want, HS);
		if (n < 300)
			vl_frontier_append(&f, vec_leaves[n]);
	}
	assert_int_equal(json_array_size(list), 301);
	uint8_t got[HS];
	vl_merkle_root_of_leaves(NULL, 0, got);
	assert_memory_equal(got, empty_root, HS);
}

static void test_vector_inclusion(void **state)
{
	(void)state;
	reseed(1);
	json_t *list = vector_list("inclusion_proofs");
	model md = { .st = &vec_store, .max = 300 };
	size_t idx;
	json_t *v;
	json_array_foreach(list, idx, v)
	{
		uint64_t index = json_u64(v, "index"), n = json_u64(v, "size");
		hash_t want[PROOF_CAP], got[PROOF_CAP];
		uint8_t leaf[HS], root[HS];
		size_t nw = json_hashes(v, "proof_b64", want, VL_PROOF_MAX), ng = 99;
		b64_hash(json_string_value(json_object_get(v, "leaf_hash_b64")), leaf);
		assert_memory_equal(leaf, vec_leaves[index], HS);

		assert_int_equal(model_incl(&md, index, n, got, &ng), 0);
		assert_proof_equal(got, ng, want, nw);
		model_root(&md, n, root);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, (const hash_t *)want, nw,
		                                            root),
		                 0);
		check_inclusion_tampering(&md, index, n, (const hash_t *)want, nw, root);
	}
}

static void test_vector_consistency(void **state)
{
	(void)state;
	reseed(2);
	json_t *list = vector_list("consistency_proofs");
	model md = { .st = &vec_store, .max = 300 };
	size_t idx;
	json_t *v;
	json_array_foreach(list, idx, v)
	{
		uint64_t m = json_u64(v, "old_size"), n = json_u64(v, "new_size");
		hash_t want[PROOF_CAP], got[PROOF_CAP];
		uint8_t rm[HS], rn[HS];
		size_t nw = json_hashes(v, "proof_b64", want, VL_PROOF_MAX), ng = 99;

		assert_int_equal(model_cons(&md, m, n, got, &ng), 0);
		assert_proof_equal(got, ng, want, nw);
		model_root(&md, m, rm);
		model_root(&md, n, rn);
		assert_int_equal(
			vl_merkle_verify_consistency(m, n, (const hash_t *)want, nw, rm, rn), 0);
		check_consistency_tampering(&md, m, n, (const hash_t *)want, nw, rm, rn);
	}
}

/* ------------------------------------------------------------------ */
/* Properties.                                                          */

/* Checks every inclusion proof of a tree and a sample of consistency
 * proofs, against the naive transcription where that is affordable. */
static void check_tree(model *md, uint64_t n, unsigned naive_samples, unsigned tamper_samples,
                       unsigned cons_samples, int all_indices)
{
	uint8_t root[HS], want[HS];
	hash_t p[PROOF_CAP], q[PROOF_CAP];
	size_t np, nq;

	model_root(md, n, root);
	naive_mth(md, 0, n, want);
	assert_memory_equal(root, want, HS);

	uint64_t count = all_indices ? n : (n < 64 ? n : 64);
	for (uint64_t t = 0; t < count; t++) {
		uint64_t i = all_indices ? t : (t < 4 ? (t < 2 ? t : n - 1 - (t - 2)) : rnd_below(n));
		if (i >= n)
			i = n - 1;
		uint8_t leaf[HS];
		assert_int_equal(model_incl(md, i, n, p, &np), 0);
		assert_true(np <= VL_PROOF_MAX);
		/* Only the sibling subtrees are read, each in at most 64 pieces. */
		assert_true(md->reads <= np + 64);
		model_leaf(md, i, leaf);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, i, n, (const hash_t *)p, np, root),
		                 0);
	}
	for (unsigned t = 0; t < naive_samples; t++) {
		uint64_t i = t == 0 ? 0 : t == 1 ? n - 1 : rnd_below(n);
		assert_int_equal(model_incl(md, i, n, p, &np), 0);
		nq = 0;
		naive_path(md, i, 0, n, q, &nq);
		assert_proof_equal(p, np, q, nq);
	}
	for (unsigned t = 0; t < tamper_samples; t++) {
		uint64_t i = t == 0 ? n - 1 : rnd_below(n);
		assert_int_equal(model_incl(md, i, n, p, &np), 0);
		check_inclusion_tampering(md, i, n, (const hash_t *)p, np, root);
	}

	/* Consistency: the edges, powers of two, then random old sizes. */
	uint64_t ms[64 + 8];
	size_t nm = 0;
	ms[nm++] = 1;
	ms[nm++] = n;
	ms[nm++] = n - 1 ? n - 1 : 1;
	ms[nm++] = n / 2 ? n / 2 : 1;
	for (unsigned b = 1; b < 64 && (1ull << b) <= n; b++)
		ms[nm++] = 1ull << b;
	for (size_t j = 0; j < nm + cons_samples; j++) {
		uint64_t m = j < nm ? ms[j] : 1 + rnd_below(n);
		uint8_t rm[HS];
		model_root(md, m, rm);
		int rc = model_cons(md, m, n, p, &np);
		nq = 0;
		naive_subproof(md, m, 0, n, 1, q, &nq);
		if (nq > VL_PROOF_MAX) {
			assert_int_equal(rc, VL_ETOOBIG);
			assert_int_equal(np, 0);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_proof_equal(p, np, q, nq);
		assert_true(md->reads <= np + 64);
		assert_int_equal(vl_merkle_verify_consistency(m, n, (const hash_t *)p, np, rm, root),
		                 0);
		if (j < 3 || j % 8 == 0)
			check_consistency_tampering(md, m, n, (const hash_t *)p, np, rm, root);
	}
}

static void test_random_sizes(void **state)
{
	(void)state;
	reseed(3);
	enum { N = 2000 };
	hash_t *leaves = malloc(N * sizeof *leaves);
	assert_non_null(leaves);
	for (unsigned i = 0; i < N; i++) {
		char buf[32];
		int len = snprintf(buf, sizeof buf, "entry %u", i);
		vl_leaf_hash(buf, (size_t)len, leaves[i]);
	}
	store st;
	store_build(&st, (const hash_t *)leaves, N);
	model md = { .st = &st, .max = N };

	uint64_t fixed[] = { 1,   2,   3,   4,   5,   6,   7,   8,   9,   15,  16,  17,   31,
		             32,  33,  63,  64,  65,  127, 128, 129, 255, 256, 257, 511, 512,
		             513, 767, 768, 769, 1023, 1024, 1025, 1999, 2000 };
	size_t nfixed = sizeof fixed / sizeof fixed[0];
	for (size_t t = 0; t < nfixed + 30; t++) {
		uint64_t n = t < nfixed ? fixed[t] : 1 + rnd_below(N);
		check_tree(&md, n, n < 64 ? (unsigned)n : 6, 4, n < 64 ? (unsigned)n : 24, 1);
		if (n < 64) {
			/* Small trees: every pair (m, n) against the naive proof. */
			for (uint64_t m = 1; m <= n; m++) {
				hash_t p[PROOF_CAP], q[PROOF_CAP];
				size_t np, nq = 0;
				uint8_t rm[HS], rn[HS];
				assert_int_equal(model_cons(&md, m, n, p, &np), 0);
				naive_subproof(&md, m, 0, n, 1, q, &nq);
				assert_proof_equal(p, np, q, nq);
				model_root(&md, m, rm);
				model_root(&md, n, rn);
				assert_int_equal(vl_merkle_verify_consistency(m, n, (const hash_t *)p, np,
				                                              rm, rn),
				                 0);
			}
		}
	}
	store_free(&st);
	free(leaves);
}

/* Sizes around 2^16 with cheap synthetic leaves. */
static void test_sizes_around_powers(void **state)
{
	(void)state;
	reseed(4);
	enum { N = 65537 + 256 };
	hash_t *leaves = malloc((size_t)N * sizeof *leaves);
	assert_non_null(leaves);
	for (uint64_t i = 0; i < N; i++) {
		/* Distinct and cheap: the index spread over the hash. */
		uint64_t z = i * 0x9e3779b97f4a7c15ull + 1;
		for (int j = 0; j < HS; j += 8) {
			z ^= z >> 29;
			z *= 0xbf58476d1ce4e5b9ull;
			memcpy(leaves[i] + j, &z, 8);
		}
	}
	store st;
	store_build(&st, (const hash_t *)leaves, N);
	model md = { .st = &st, .max = N };
	uint64_t sizes[] = { 255, 256, 257, 4095, 4096, 4097, 65280, 65535, 65536, 65537, N };
	for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
		uint64_t n = sizes[t];
		uint8_t a[HS], b[HS];
		vl_merkle_root_of_leaves((const hash_t *)leaves, n, a);
		naive_mth(&md, 0, n, b);
		assert_memory_equal(a, b, HS);
		check_tree(&md, n, 3, 2, 6, n < 5000);
	}
	store_free(&st);
	free(leaves);
}

/* Trees far too big to store: arithmetic near 2^63 and 2^64. */
static void test_huge_trees(void **state)
{
	(void)state;
	reseed(5);
	const uint64_t top = 1ull << 63;
	uint64_t sizes[] = { 1ull << 32, (1ull << 32) + 1, (1ull << 40) + 12345, (1ull << 62) + 7,
		             top - 1,    top,              top + 1,             UINT64_MAX - 1,
		             UINT64_MAX, rnd() | 1 };
	for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
		uint64_t n = sizes[t];
		sparse sp;
		sparse_init(&sp);
		uint64_t idx[] = { 0, n - 1, n / 2, n - 2, rnd_below(n), rnd_below(n) };
		for (size_t j = 0; j < sizeof idx / sizeof idx[0]; j++)
			sparse_add(&sp, idx[j]);
		model md = { .sp = &sp, .max = UINT64_MAX };
		uint8_t root[HS], want[HS];
		model_root(&md, n, root);
		naive_mth(&md, 0, n, want);
		assert_memory_equal(root, want, HS);

		for (size_t j = 0; j < sizeof idx / sizeof idx[0] + 2; j++) {
			/* The last two are filler leaves. */
			uint64_t i = j < sizeof idx / sizeof idx[0] ? idx[j] : rnd_below(n);
			hash_t p[PROOF_CAP], q[PROOF_CAP];
			size_t np, nq = 0;
			assert_int_equal(model_incl(&md, i, n, p, &np), 0);
			naive_path(&md, i, 0, n, q, &nq);
			assert_proof_equal(p, np, q, nq);
			if (j < 3)
				check_inclusion_tampering(&md, i, n, (const hash_t *)p, np, root);
			else {
				uint8_t leaf[HS];
				model_leaf(&md, i, leaf);
				assert_int_equal(vl_merkle_verify_inclusion(leaf, i, n, (const hash_t *)p,
				                                            np, root),
				                 0);
			}
		}

		uint64_t ms[] = { 1, 2, n, n - 1, n / 2, n / 2 + 1, top - 1, top, idx[4] + 1,
			          rnd_below(n) + 1 };
		for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++) {
			uint64_t m = ms[j];
			if (m == 0 || m > n)
				continue;
			hash_t p[PROOF_CAP], q[PROOF_CAP];
			size_t np = 99, nq = 0;
			uint8_t rm[HS];
			int rc = model_cons(&md, m, n, p, &np);
			naive_subproof(&md, m, 0, n, 1, q, &nq);
			if (nq > VL_PROOF_MAX) {
				/* Only possible above 2^63 leaves. */
				assert_true(n > top);
				assert_int_equal(rc, VL_ETOOBIG);
				assert_int_equal(np, 0);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_proof_equal(p, np, q, nq);
			model_root(&md, m, rm);
			if (j < 4)
				check_consistency_tampering(&md, m, n, (const hash_t *)p, np, rm, root);
			else
				assert_int_equal(vl_merkle_verify_consistency(m, n, (const hash_t *)p, np,
				                                              rm, root),
				                 0);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Argument and edge handling.                                          */

static void test_edges(void **state)
{
	(void)state;
	model md = { .st = &vec_store, .max = 300 };
	hash_t p[PROOF_CAP];
	size_t np;
	uint8_t out[HS], r1[HS];

	assert_int_equal(vl_merkle_tree_hash(0, NULL, NULL, out), 0);
	assert_memory_equal(out, empty_root, HS);
	assert_int_equal(vl_merkle_tree_hash(1, NULL, NULL, out), VL_EINVAL);
	assert_int_equal(vl_merkle_tree_hash(1, model_reader, &md, NULL), VL_EINVAL);
	model_root(&md, 1, r1);
	assert_memory_equal(r1, vec_leaves[0], HS);

	/* Generation refuses impossible requests, leaving *n_proof 0. */
	np = 7;
	assert_int_equal(model_incl(&md, 0, 0, p, &np), VL_EINVAL);
	assert_int_equal(np, 0);
	np = 7;
	assert_int_equal(model_incl(&md, 5, 5, p, &np), VL_EINVAL);
	assert_int_equal(np, 0);
	assert_int_equal(model_incl(&md, UINT64_MAX, 5, p, &np), VL_EINVAL);
	assert_int_equal(vl_merkle_prove_inclusion(0, 1, NULL, &md, p, &np), VL_EINVAL);
	assert_int_equal(vl_merkle_prove_inclusion(0, 1, model_reader, &md, NULL, &np), VL_EINVAL);
	assert_int_equal(vl_merkle_prove_inclusion(0, 1, model_reader, &md, p, NULL), VL_EINVAL);
	assert_int_equal(model_incl(&md, 0, 1, p, &np), 0);
	assert_int_equal(np, 0);
	assert_int_equal(md.reads, 0);

	assert_int_equal(model_cons(&md, 0, 5, p, &np), VL_EINVAL);
	assert_int_equal(model_cons(&md, 0, 0, p, &np), VL_EINVAL);
	assert_int_equal(model_cons(&md, 6, 5, p, &np), VL_EINVAL);
	assert_int_equal(vl_merkle_prove_consistency(1, 2, NULL, &md, p, &np), VL_EINVAL);
	assert_int_equal(vl_merkle_prove_consistency(1, 2, model_reader, &md, NULL, &np), VL_EINVAL);
	assert_int_equal(vl_merkle_prove_consistency(1, 2, model_reader, &md, p, NULL), VL_EINVAL);
	np = 7;
	assert_int_equal(model_cons(&md, 5, 5, p, &np), 0);
	assert_int_equal(np, 0);
	assert_int_equal(md.reads, 0);

	/* Single-leaf tree: the leaf is the root and the proof is empty. */
	assert_int_equal(vl_merkle_verify_inclusion(vec_leaves[0], 0, 1, NULL, 0, r1), 0);
	assert_int_equal(vl_merkle_verify_inclusion(vec_leaves[0], 0, 0, NULL, 0, r1), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(vec_leaves[0], 1, 1, NULL, 0, r1), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(vec_leaves[0], 0, 2, NULL, 0, r1), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(vec_leaves[0], 0, UINT64_MAX, NULL, 0, r1),
	                 VL_EPROOF);

	/* Consistency with the empty tree and with itself. */
	uint8_t r5[HS];
	model_root(&md, 5, r5);
	assert_int_equal(vl_merkle_verify_consistency(0, 5, NULL, 0, empty_root, r5), 0);
	assert_int_equal(vl_merkle_verify_consistency(0, 0, NULL, 0, empty_root, empty_root), 0);
	assert_int_equal(vl_merkle_verify_consistency(0, 5, NULL, 0, r1, r5), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(0, 5, (const hash_t *)p, 1, empty_root, r5),
	                 VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(5, 5, NULL, 0, r5, r5), 0);
	assert_int_equal(vl_merkle_verify_consistency(5, 5, NULL, 0, r1, r5), VL_EPROOF);
	memcpy(p[0], r5, HS);
	assert_int_equal(vl_merkle_verify_consistency(5, 5, (const hash_t *)p, 1, r5, r5),
	                 VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(1, 5, NULL, 0, r1, r5), VL_EPROOF);
	/* An empty proof when the old size is not a power of two: nothing to
	 * start from, and nothing may be read. */
	uint8_t r3[HS];
	model_root(&md, 3, r3);
	assert_int_equal(vl_merkle_verify_consistency(3, 5, NULL, 0, r3, r5), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(3, 5, (const hash_t *)p, 0, r3, r5),
	                 VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(6, 5, NULL, 0, r5, r5), VL_EPROOF);
	assert_int_equal(vl_merkle_verify_consistency(UINT64_MAX, 5, NULL, 0, r5, r5), VL_EPROOF);
	/* A huge length with a short buffer must be refused before any read. */
	assert_int_equal(vl_merkle_verify_consistency(3, 5, (const hash_t *)p, SIZE_MAX, r1, r5),
	                 VL_EPROOF);
	assert_int_equal(vl_merkle_verify_inclusion(vec_leaves[0], 0, 5, (const hash_t *)p,
	                                            SIZE_MAX, r5),
	                 VL_EPROOF);
}

static void test_reader_errors(void **state)
{
	(void)state;
	model md = { .st = &vec_store, .max = 300 };
	hash_t p[PROOF_CAP];
	size_t np;
	uint8_t out[HS];
	const int codes[] = { VL_ENOTFOUND, VL_ECORRUPT, -5 /* -EIO */ };
	for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
		md.fail_code = codes[c];
		int done = 0;
		for (unsigned k = 0; !done; k++) {
			md.fail_after = k;
			md.limit = 299;
			md.reads = 0;
			int rc = vl_merkle_tree_hash(299, model_reader, &md, out);
			if (rc == 0) {
				done = 1;
				continue;
			}
			assert_int_equal(rc, codes[c]);
		}
		done = 0;
		for (unsigned k = 0; !done; k++) {
			md.fail_after = k;
			np = 7;
			int rc = model_incl(&md, 150, 299, p, &np);
			if (rc == 0) {
				assert_true(k > 0);
				done = 1;
				continue;
			}
			assert_int_equal(rc, codes[c]);
			assert_int_equal(np, 0);
		}
		done = 0;
		for (unsigned k = 0; !done; k++) {
			md.fail_after = k;
			np = 7;
			int rc = model_cons(&md, 7, 299, p, &np);
			if (rc == 0) {
				assert_true(k > 0);
				done = 1;
				continue;
			}
			assert_int_equal(rc, codes[c]);
			assert_int_equal(np, 0);
		}
	}
}

/* Random proofs, sizes and indices: never accepted, never a crash. */
static void test_verify_fuzz(void **state)
{
	(void)state;
	reseed(6);
	hash_t p[PROOF_CAP];
	uint8_t leaf[HS], root[HS], root2[HS];
	for (unsigned t = 0; t < 20000; t++) {
		uint64_t n = rnd() >> rnd_below(64);
		uint64_t m = rnd_below(3) == 0 ? rnd() : rnd() >> rnd_below(64);
		uint64_t i = rnd_below(4) == 0 ? rnd() : rnd_below(n);
		size_t np = (size_t)rnd_below(PROOF_CAP + 1);
		for (size_t j = 0; j < np; j++)
			rnd_hash(p[j]);
		rnd_hash(leaf);
		rnd_hash(root);
		rnd_hash(root2);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, i, n, (const hash_t *)p, np, root),
		                 VL_EPROOF);
		assert_int_equal(vl_merkle_verify_consistency(m, n, (const hash_t *)p, np, root,
		                                              root2),
		                 VL_EPROOF);
		/* A proof whose first hash is the old root, as some tools send it. */
		if (np > 0) {
			memcpy(p[0], root, HS);
			assert_int_equal(vl_merkle_verify_consistency(m, n, (const hash_t *)p, np, root,
			                                              root2),
			                 VL_EPROOF);
		}
	}
}

static void test_frontier(void **state)
{
	(void)state;
	reseed(7);
	enum { N = 1100 };
	hash_t *leaves = malloc(N * sizeof *leaves);
	assert_non_null(leaves);
	for (unsigned i = 0; i < N; i++)
		rnd_hash(leaves[i]);
	store st;
	store_build(&st, (const hash_t *)leaves, N);
	model md = { .st = &st, .max = N };

	vl_frontier f;
	memset(&f, 0xa5, sizeof f);
	vl_frontier_init(&f);
	assert_int_equal(f.size, 0);
	assert_int_equal(f.n_hashes, 0);
	uint8_t got[HS], want[HS];
	vl_frontier_root(&f, got);
	assert_memory_equal(got, empty_root, HS);

	for (uint64_t n = 1; n <= N; n++) {
		vl_frontier_append(&f, leaves[n - 1]);
		assert_int_equal(f.size, n);
		assert_int_equal(f.n_hashes, (unsigned)__builtin_popcountll(n));
		/* One perfect subtree root per set bit, largest first. */
		unsigned k = 0;
		uint64_t lo = 0;
		for (int h = 63; h >= 0; h--) {
			if (((n >> h) & 1) == 0)
				continue;
			assert_memory_equal(f.hashes[k], st.lv[h][lo >> h], HS);
			lo += 1ull << h;
			k++;
		}
		vl_frontier_root(&f, got);
		model_root(&md, n, want);
		assert_memory_equal(got, want, HS);
		vl_merkle_root_of_leaves((const hash_t *)leaves, n, want);
		assert_memory_equal(got, want, HS);
	}

	/* A frontier at the largest size refuses to wrap. */
	vl_frontier g;
	vl_frontier_init(&g);
	g.size = UINT64_MAX;
	g.n_hashes = 64;
	for (unsigned h = 0; h < 64; h++)
		rnd_hash(g.hashes[h]);
	vl_frontier before = g;
	vl_frontier_append(&g, leaves[0]);
	assert_memory_equal(&g, &before, sizeof g);

	store_free(&st);
	free(leaves);
}

int main(void)
{
	const char *s = getenv("VL_SEED");
	base_seed = (s != NULL && *s != '\0') ? strtoull(s, NULL, 0) : 0x766c6d65726b6c65ull;
	printf("test_merkle: seed %" PRIu64 " (set VL_SEED to reproduce)\n", base_seed);
	fflush(stdout);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_tree_hashes),
		cmocka_unit_test(test_vector_inclusion),
		cmocka_unit_test(test_vector_consistency),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_verify_fuzz),
		cmocka_unit_test(test_frontier),
		cmocka_unit_test(test_random_sizes),
		cmocka_unit_test(test_sizes_around_powers),
		cmocka_unit_test(test_huge_trees),
	};
	return cmocka_run_group_tests_name("merkle", tests, setup_vectors, teardown_vectors);
}
