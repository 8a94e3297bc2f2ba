/*
 * merkle.c — RFC 6962 / RFC 9162 tree hashes, proofs, their verification and the frontier.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Everything here is iterative with fixed-size state: a tree of up to
 * 2^64 - 1 leaves is at most 64 levels deep, so no recursion and no
 * allocation are ever needed.  Proof generation follows
 * golang.org/x/mod/sumdb/tlog (leafProof, treeProof, subTreeHash), and
 * verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 literally.
 */
#include "merkle.h"

#include <string.h>

static unsigned log2_floor(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/* RFC 9162 §2.1.1 split: the largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << log2_floor(n - 1);
}

/* SHA-256 of the empty string, the root of the empty tree. */
static const uint8_t empty_tree_root[VL_HASH_SIZE] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

static void empty_root(uint8_t out[VL_HASH_SIZE])
{
	memcpy(out, empty_tree_root, VL_HASH_SIZE);
}

/*
 * Root of the leaves [lo, hi), lo < hi, from perfect subtrees.  The range
 * splits into one perfect subtree per set bit of hi - lo, largest first;
 * walking the bits from the lowest lets the right-to-left fold run without
 * holding all the pieces.  Every range the proofs ask for starts at a
 * multiple of a power of two at least its length, which makes each piece
 * a stored node; anything else is refused rather than silently misread.
 */
static int subtree_hash(uint64_t lo, uint64_t hi, vl_hash_reader r, void *ctx,
                        uint8_t out[VL_HASH_SIZE])
{
	uint64_t rest = hi - lo;
	uint64_t pos = hi;
	int first = 1;
	while (rest != 0) {
		unsigned h = (unsigned)__builtin_ctzll(rest);
		uint64_t size = (uint64_t)1 << h;
		rest &= rest - 1;
		pos -= size;
		if ((pos & (size - 1)) != 0)
			return VL_EINVAL;
		uint8_t node[VL_HASH_SIZE];
		int err = r(ctx, h, pos >> h, node);
		if (err < 0)
			return err;
		if (first) {
			memcpy(out, node, VL_HASH_SIZE);
			first = 0;
		} else {
			vl_node_hash(node, out, out);
		}
	}
	return 0;
}

/* Proofs are gathered root side first, but RFC 9162 sends them leaf side first. */
static void reverse(uint8_t proof[][VL_HASH_SIZE], size_t n)
{
	for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
		uint8_t t[VL_HASH_SIZE];
		memcpy(t, proof[i], VL_HASH_SIZE);
		memcpy(proof[i], proof[j - 1], VL_HASH_SIZE);
		memcpy(proof[j - 1], t, VL_HASH_SIZE);
	}
}

static int hash_eq(const uint8_t a[VL_HASH_SIZE], const uint8_t b[VL_HASH_SIZE])
{
	uint8_t d = 0;
	for (int i = 0; i < VL_HASH_SIZE; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

void vl_merkle_root_of_leaves(const uint8_t (*leaves)[VL_HASH_SIZE], uint64_t n,
                              uint8_t out[VL_HASH_SIZE])
{
	vl_frontier f;
	vl_frontier_init(&f);
	for (uint64_t i = 0; i < n; i++)
		vl_frontier_append(&f, leaves[i]);
	vl_frontier_root(&f, out);
}

int vl_merkle_tree_hash(uint64_t n, vl_hash_reader r, void *ctx, uint8_t out[VL_HASH_SIZE])
{
	if (out == NULL)
		return VL_EINVAL;
	if (n == 0) {
		empty_root(out);
		return 0;
	}
	if (r == NULL)
		return VL_EINVAL;
	return subtree_hash(0, n, r, ctx, out);
}

int vl_merkle_prove_inclusion(uint64_t index, uint64_t n, vl_hash_reader r, void *ctx,
                              uint8_t proof[][VL_HASH_SIZE], size_t *n_proof)
{
	if (n_proof != NULL)
		*n_proof = 0;
	if (r == NULL || proof == NULL || n_proof == NULL || index >= n)
		return VL_EINVAL;
	uint64_t lo = 0, hi = n;
	size_t count = 0;
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		int err;
		/* At most 64 levels for any uint64_t size, so count stays
		 * within VL_PROOF_MAX. */
		if (index < lo + k) {
			err = subtree_hash(lo + k, hi, r, ctx, proof[count]);
			hi = lo + k;
		} else {
			err = subtree_hash(lo, lo + k, r, ctx, proof[count]);
			lo += k;
		}
		if (err < 0)
			return err;
		count++;
	}
	reverse(proof, count);
	*n_proof = count;
	return 0;
}

int vl_merkle_prove_consistency(uint64_t m, uint64_t n, vl_hash_reader r, void *ctx,
                                uint8_t proof[][VL_HASH_SIZE], size_t *n_proof)
{
	if (n_proof != NULL)
		*n_proof = 0;
	if (r == NULL || proof == NULL || n_proof == NULL || m == 0 || m > n)
		return VL_EINVAL;
	/* Invariant lo < m <= hi: the old tree's edge lies inside [lo, hi). */
	uint64_t lo = 0, hi = n;
	size_t count = 0;
	while (m != hi) {
		uint64_t k = split_point(hi - lo);
		int err;
		if (m <= lo + k) {
			err = subtree_hash(lo + k, hi, r, ctx, proof[count]);
			hi = lo + k;
		} else {
			err = subtree_hash(lo, lo + k, r, ctx, proof[count]);
			lo += k;
		}
		if (err < 0)
			return err;
		count++;
	}
	/* The old tree's own root is known to the verifier only when the
	 * common subtree starts at leaf 0.  The descent above adds at most 64
	 * hashes (one per level); this one can make a 65th, but only in trees
	 * of more than 2^63 leaves. */
	if (lo != 0) {
		if (count == VL_PROOF_MAX)
			return VL_ETOOBIG;
		int err = subtree_hash(lo, hi, r, ctx, proof[count]);
		if (err < 0)
			return err;
		count++;
	}
	reverse(proof, count);
	*n_proof = count;
	return 0;
}

int vl_merkle_verify_inclusion(const uint8_t leaf[VL_HASH_SIZE], uint64_t index, uint64_t n,
                               const uint8_t proof[][VL_HASH_SIZE], size_t n_proof,
                               const uint8_t root[VL_HASH_SIZE])
{
	if (leaf == NULL || root == NULL || (n_proof != 0 && proof == NULL))
		return VL_EPROOF;
	if (index >= n || n_proof > VL_PROOF_MAX)
		return VL_EPROOF;
	uint64_t fn = index, sn = n - 1;
	uint8_t r[VL_HASH_SIZE];
	memcpy(r, leaf, VL_HASH_SIZE);
	for (size_t i = 0; i < n_proof; i++) {
		if (sn == 0)
			return VL_EPROOF;
		if ((fn & 1) != 0 || fn == sn) {
			vl_node_hash(proof[i], r, r);
			/* Skip the levels where fn is the right edge with no
			 * sibling: the tree is not perfect there. */
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			vl_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(r, root))
		return VL_EPROOF;
	return 0;
}

int vl_merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t proof[][VL_HASH_SIZE],
                                 size_t n_proof, const uint8_t root_m[VL_HASH_SIZE],
                                 const uint8_t root_n[VL_HASH_SIZE])
{
	if (root_m == NULL || root_n == NULL || (n_proof != 0 && proof == NULL))
		return VL_EPROOF;
	if (m > n || n_proof > VL_PROOF_MAX)
		return VL_EPROOF;
	if (m == 0) {
		/* Every tree extends the empty one, but only if the claimed
		 * old root really is the empty tree's. */
		return n_proof == 0 && hash_eq(root_m, empty_tree_root) ? 0 : VL_EPROOF;
	}
	if (m == n)
		return n_proof == 0 && hash_eq(root_m, root_n) ? 0 : VL_EPROOF;
	if (n_proof == 0)
		return VL_EPROOF;

	/* RFC 9162 prepends root_m when m is a power of two; reading it in
	 * place avoids copying the proof. */
	const uint8_t *first;
	size_t next;
	if ((m & (m - 1)) == 0) {
		first = root_m;
		next = 0;
	} else {
		first = proof[0];
		next = 1;
	}
	uint64_t fn = m - 1, sn = n - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[VL_HASH_SIZE], sr[VL_HASH_SIZE];
	memcpy(fr, first, VL_HASH_SIZE);
	memcpy(sr, first, VL_HASH_SIZE);
	for (size_t i = next; i < n_proof; i++) {
		if (sn == 0)
			return VL_EPROOF;
		if ((fn & 1) != 0 || fn == sn) {
			vl_node_hash(proof[i], fr, fr);
			vl_node_hash(proof[i], sr, sr);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			vl_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(fr, root_m) || !hash_eq(sr, root_n))
		return VL_EPROOF;
	return 0;
}

void vl_frontier_init(vl_frontier *f)
{
	memset(f, 0, sizeof *f);
}

void vl_frontier_append(vl_frontier *f, const uint8_t leaf[VL_HASH_SIZE])
{
	/* A 2^64th leaf has no representable size; the frontier stays put
	 * rather than wrapping to a state that contradicts its hashes. */
	if (f->size == UINT64_MAX)
		return;
	uint8_t cur[VL_HASH_SIZE];
	memcpy(cur, leaf, VL_HASH_SIZE);
	/* Each trailing one bit of size is a perfect subtree of the same
	 * height as cur, so they merge like a binary carry. */
	for (uint64_t s = f->size; (s & 1) != 0; s >>= 1)
		vl_node_hash(f->hashes[--f->n_hashes], cur, cur);
	memcpy(f->hashes[f->n_hashes++], cur, VL_HASH_SIZE);
	f->size++;
}

void vl_frontier_root(const vl_frontier *f, uint8_t out[VL_HASH_SIZE])
{
	if (f->n_hashes == 0) {
		empty_root(out);
		return;
	}
	uint8_t r[VL_HASH_SIZE];
	memcpy(r, f->hashes[f->n_hashes - 1], VL_HASH_SIZE);
	for (unsigned i = f->n_hashes - 1; i-- > 0;)
		vl_node_hash(f->hashes[i], r, r);
	memcpy(out, r, VL_HASH_SIZE);
}
