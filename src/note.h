/*
 * note.h — base64, c2sp.org/signed-note, Ed25519 keys, checkpoint bodies
 * and c2sp.org/tlog-proof receipts.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VL_NOTE_H
#define VL_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "vellum.h"

#define VL_NOTE_MAX (1u << 20)  /* largest note parsed (1 MiB) */

/* Standard base64 (RFC 4648 §4) with padding.  encode writes
 * 4*ceil(len/3) chars plus NUL (out needs room for both) and returns the
 * char count.  Neither direction branches on or indexes by data bytes, so
 * both are safe for secret keys. */
size_t vl_base64_encode(const uint8_t *in, size_t len, char *out);
/* Strict decode: padding required, no whitespace, canonical trailing bits,
 * so every byte string has exactly one accepted encoding.  VL_EFORMAT on bad
 * input, VL_ETOOBIG if cap is too small.  With out NULL, cap is ignored and
 * the input is only checked; *out_len still receives the decoded length.
 * On error, out's contents are unspecified. */
VL_MUST_CHECK int vl_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                                   size_t *out_len);

struct vl_signer {
	char name[VL_ORIGIN_MAX + 1];
	uint32_t key_id;
	uint8_t seed[32];
	uint8_t pub[32];
};

struct vl_verifier {
	char name[VL_ORIGIN_MAX + 1];
	uint32_t key_id;
	uint8_t pub[32];
};

/* Key ID = first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || pub). */
uint32_t vl_key_id(const char *name, const uint8_t pub[32]);

/* A vellum key name: 1..255 bytes, printable ASCII, no space and no '+'.
 * Returns 1 if valid, 0 if not.  (Signature lines of other keys may carry
 * any name signed-note allows; only keys vellum parses or makes are held
 * to this.) */
int vl_key_name_valid(const char *name);

/*
 * Sign BODY (which must be non-empty, end with '\n', contain no empty line,
 * and be UTF-8 without control characters but '\n') and return the note
 * "BODY\n— <name> <base64(keyid || sig)>\n", malloc'ed and NUL-terminated.
 * VL_EFORMAT: BODY is not note text; VL_ETOOBIG: the note would exceed
 * VL_NOTE_MAX.  Ed25519 is deterministic: the same body and key always give
 * the same note.
 */
VL_MUST_CHECK int vl_note_sign(const char *body, size_t body_len, const vl_signer *s,
                               char **note_out);

/*
 * Check that NOTE is well formed and carries a valid signature by V.
 * Signature lines of other keys (another name or key ID) are ignored; every
 * line with V's name and ID must verify.  *body_len (may be NULL) receives
 * the length of the signed body (the text before the last blank line,
 * including its final '\n').  VL_EFORMAT: malformed (see note.c: larger than
 * VL_NOTE_MAX, not UTF-8, control characters, no blank line, no or more
 * than 100 signature lines, a bad signature line); VL_ESIGNATURE: no
 * signature by V, or one by V that does not verify.
 */
VL_MUST_CHECK int vl_note_verify(const char *note, size_t len, const vl_verifier *v,
                                 size_t *body_len);

/* "origin\nsize\nbase64(root)\n" into buf, NUL-terminated; returns the length
 * (without the NUL), VL_ETOOBIG if cap is too small, or VL_EINVAL for an
 * empty origin or one with control characters. */
int vl_checkpoint_format(const vl_checkpoint *cp, char *buf, size_t cap);
/* Parse a checkpoint body (extension lines after the third are allowed and
 * ignored, but must be non-empty); strict decimal size without leading
 * zeros; the root exactly 32 bytes.  *out is written only on success.
 *
 * vl_checkpoint_verify (vellum.h) additionally requires the origin to equal
 * the verifier's key name; a checkpoint validly signed by V for another
 * origin is VL_ESIGNATURE: it is not a checkpoint signature for V's log. */
VL_MUST_CHECK int vl_checkpoint_parse(const char *body, size_t len, vl_checkpoint *out);

/*
 * c2sp.org/tlog-proof:
 *   "c2sp.org/tlog-proof@v1\n" ["extra <base64>\n"] "index <decimal>\n"
 *   one base64 hash per line, "\n", then the signed checkpoint note.
 * format writes no extra line; *out is malloc'ed and NUL-terminated.
 */
VL_MUST_CHECK int vl_receipt_format(uint64_t index, const uint8_t proof[][VL_HASH_SIZE],
                                    size_t n_proof, const char *note, size_t note_len,
                                    char **out);
/* *note points into text.  An extra line, if present, is checked for valid
 * base64 and otherwise ignored.  proof must have room for VL_PROOF_MAX
 * hashes; more proof lines than that are VL_EFORMAT, as is a receipt larger
 * than 2 * VL_NOTE_MAX.  The note is not checked here.
 *
 * vl_receipt_verify (vellum.h) checks the note's signature by V but, unlike
 * vl_checkpoint_verify, not that the origin equals V's name: tlog-checkpoint
 * makes that only a recommendation.  Callers that pin an origin compare
 * cp->origin.  An entry of 0 or more than VL_ENTRY_MAX bytes is
 * VL_EENTRY_SIZE; an index not below the checkpoint size is VL_EPROOF. */
VL_MUST_CHECK int vl_receipt_parse(const char *text, size_t len, uint64_t *index,
                                   uint8_t proof[][VL_HASH_SIZE], size_t *n_proof,
                                   const char **note, size_t *note_len);

#endif
