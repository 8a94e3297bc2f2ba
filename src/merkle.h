/*
 * merkle.h — RFC 6962 / RFC 9162 Merkle tree arithmetic, proofs and their
 * verification.  Pure functions: no I/O, no allocation.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Node naming.  A node (height h, index i) is the root of the perfect
 * subtree over leaves [i << h, (i + 1) << h).  Height 0 nodes are leaf
 * hashes SHA-256(0x00 || entry); a parent is SHA-256(0x01 || left || right).
 * The tree of size n is split at the largest power of two below n
 * (RFC 9162 §2.1.1); its root is not in general a stored node, so every
 * function that needs hashes asks a vl_hash_reader for perfect subtrees
 * only and combines them itself.
 */
#ifndef VL_MERKLE_H
#define VL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "vellum.h"

/* Returns 0 and fills out with node (height, index), or an error that is
 * passed through to the caller.  Only nodes complete within the tree being
 * read are ever asked for: (index + 1) << height <= n. */
typedef int (*vl_hash_reader)(void *ctx, unsigned height, uint64_t index,
                              uint8_t out[VL_HASH_SIZE]);

/* RFC 6962 root over n leaf hashes held in memory (n = 0: SHA-256("")). */
void vl_merkle_root_of_leaves(const uint8_t (*leaves)[VL_HASH_SIZE], uint64_t n,
                              uint8_t out[VL_HASH_SIZE]);

/* Root of the tree of size n, from perfect subtrees read through r. */
VL_MUST_CHECK int vl_merkle_tree_hash(uint64_t n, vl_hash_reader r, void *ctx,
                                      uint8_t out[VL_HASH_SIZE]);

/* Inclusion proof of leaf index in the tree of size n (index < n), RFC 9162
 * §2.1.3.1 order; at most VL_PROOF_MAX hashes. */
VL_MUST_CHECK int vl_merkle_prove_inclusion(uint64_t index, uint64_t n, vl_hash_reader r,
                                            void *ctx, uint8_t proof[][VL_HASH_SIZE],
                                            size_t *n_proof);

/* Consistency proof from size m to size n (0 < m <= n; m == n gives an
 * empty proof), RFC 9162 §2.1.4.1 order.  VL_ETOOBIG in the few cases,
 * all with n > 2^63, where the proof would exceed VL_PROOF_MAX hashes. */
VL_MUST_CHECK int vl_merkle_prove_consistency(uint64_t m, uint64_t n, vl_hash_reader r,
                                              void *ctx, uint8_t proof[][VL_HASH_SIZE],
                                              size_t *n_proof);

/* RFC 9162 §2.1.3.2.  0 if the proof is valid, VL_EPROOF otherwise. */
VL_MUST_CHECK int vl_merkle_verify_inclusion(const uint8_t leaf[VL_HASH_SIZE], uint64_t index,
                                             uint64_t n, const uint8_t proof[][VL_HASH_SIZE],
                                             size_t n_proof, const uint8_t root[VL_HASH_SIZE]);

/* RFC 9162 §2.1.4.2.  m == n requires an empty proof and equal roots; m == 0
 * requires an empty proof and root_m = SHA-256("") (the empty tree's root).
 * 0 if valid, VL_EPROOF otherwise. */
VL_MUST_CHECK int vl_merkle_verify_consistency(uint64_t m, uint64_t n,
                                               const uint8_t proof[][VL_HASH_SIZE],
                                               size_t n_proof,
                                               const uint8_t root_m[VL_HASH_SIZE],
                                               const uint8_t root_n[VL_HASH_SIZE]);

/*
 * The frontier (compact range [0, size)): the roots of the perfect subtrees
 * that make up the first `size` leaves, one per set bit of size, largest
 * first.  Appending is amortised one node hash per leaf; O(log n) memory.
 * Used to stream a whole tree (verification) without storing it.
 */
typedef struct vl_frontier {
	uint64_t size;
	unsigned n_hashes;
	uint8_t hashes[64][VL_HASH_SIZE];
} vl_frontier;

void vl_frontier_init(vl_frontier *f);
void vl_frontier_append(vl_frontier *f, const uint8_t leaf[VL_HASH_SIZE]);
/* Root of the tree of f->size leaves (SHA-256("") when empty). */
void vl_frontier_root(const vl_frontier *f, uint8_t out[VL_HASH_SIZE]);

#endif
