/*
 * receipt.c — c2sp.org/tlog-proof receipts: an entry's inclusion proof
 * bundled with the signed checkpoint it proves against, verifiable
 * offline with nothing but the log's verifier key.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Format (byte-exact):
 *
 *   "c2sp.org/tlog-proof@v1\n"
 *   ["extra " <base64, possibly empty> "\n"]   opaque, unauthenticated
 *   "index " <decimal, no leading zero> "\n"
 *   [<base64 of a 32-byte hash> "\n"]...      0..VL_PROOF_MAX, RFC 9162
 *                                             order: leaf's sibling first
 *   "\n"
 *   <signed checkpoint note, verbatim>        note.c
 *
 * e.g.
 *   c2sp.org/tlog-proof@v1
 *   index 150
 *   EyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFDE=
 *   ...
 *
 *   example.com/vellum-test
 *   300
 *   ...
 *
 * vellum writes no extra line; one that is present is checked to be valid
 * base64 and otherwise ignored, since nothing vouches for it.  A receipt
 * is at most 2 * VL_NOTE_MAX bytes, its note at most VL_NOTE_MAX.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "note.h"

#define RECEIPT_MAGIC "c2sp.org/tlog-proof@v1\n"
#define RECEIPT_MAX (2 * (size_t)VL_NOTE_MAX)
#define HASH_B64_LEN 44

/* Strict ASCII decimal, as for checkpoint sizes: one spelling per value. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return VL_EFORMAT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return VL_EFORMAT;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return VL_EFORMAT;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The line at *p (before end): its length without "\n", advancing *p past
 * it.  -1 if no "\n" ends it. */
static int next_line(const char **p, const char *end, const char **line, size_t *line_len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL)
		return -1;
	*line = *p;
	*line_len = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

int vl_receipt_format(uint64_t index, const uint8_t proof[][VL_HASH_SIZE], size_t n_proof,
                      const char *note, size_t note_len, char **out)
{
	char head[sizeof RECEIPT_MAGIC + sizeof "index \n" + 20];
	if (out == NULL)
		return VL_EINVAL;
	*out = NULL;
	if (note == NULL || note_len == 0 || n_proof > VL_PROOF_MAX ||
	    (proof == NULL && n_proof != 0))
		return VL_EINVAL;
	if (note_len > VL_NOTE_MAX)
		return VL_ETOOBIG;
	int hlen = snprintf(head, sizeof head, RECEIPT_MAGIC "index %" PRIu64 "\n", index);
	if (hlen < 0 || (size_t)hlen >= sizeof head)
		return VL_EINVAL;
	size_t total = (size_t)hlen + n_proof * (HASH_B64_LEN + 1) + 1 + note_len;
	char *s = malloc(total + 1);
	if (s == NULL)
		return VL_ENOMEM;
	char *p = s;
	memcpy(p, head, (size_t)hlen);
	p += hlen;
	for (size_t i = 0; i < n_proof; i++) {
		p += vl_base64_encode(proof[i], VL_HASH_SIZE, p);
		*p++ = '\n';
	}
	*p++ = '\n';
	memcpy(p, note, note_len);
	p[note_len] = '\0';
	*out = s;
	return 0;
}

int vl_receipt_parse(const char *text, size_t len, uint64_t *index,
                     uint8_t proof[][VL_HASH_SIZE], size_t *n_proof, const char **note,
                     size_t *note_len)
{
	const char *line;
	size_t line_len, n = 0, got;
	uint64_t idx;

	if (text == NULL || index == NULL || proof == NULL || n_proof == NULL || note == NULL ||
	    note_len == NULL)
		return VL_EINVAL;
	if (len > RECEIPT_MAX)
		return VL_EFORMAT;
	const char *p = text, *end = text + len;
	size_t mlen = sizeof RECEIPT_MAGIC - 1;
	if (len < mlen || memcmp(p, RECEIPT_MAGIC, mlen) != 0)
		return VL_EFORMAT;
	p += mlen;

	if (next_line(&p, end, &line, &line_len) != 0)
		return VL_EFORMAT;
	if (line_len >= 6 && memcmp(line, "extra ", 6) == 0) {
		if (vl_base64_decode(line + 6, line_len - 6, NULL, 0, &got) != 0)
			return VL_EFORMAT;
		if (next_line(&p, end, &line, &line_len) != 0)
			return VL_EFORMAT;
	}
	if (line_len < 6 || memcmp(line, "index ", 6) != 0 ||
	    parse_u64(line + 6, line_len - 6, &idx) != 0)
		return VL_EFORMAT;

	for (;;) {
		if (next_line(&p, end, &line, &line_len) != 0)
			return VL_EFORMAT;
		if (line_len == 0)
			break;
		/* One more than a tree of 2^64 - 1 leaves can need is malformed. */
		if (n == VL_PROOF_MAX || line_len != HASH_B64_LEN ||
		    vl_base64_decode(line, line_len, proof[n], VL_HASH_SIZE, &got) != 0 ||
		    got != VL_HASH_SIZE)
			return VL_EFORMAT;
		n++;
	}
	if (p == end)
		return VL_EFORMAT;
	*index = idx;
	*n_proof = n;
	*note = p;
	*note_len = (size_t)(end - p);
	return 0;
}

/*
 * The checkpoint must be signed by V, but its origin is not required to
 * equal V's name, unlike vl_checkpoint_verify: c2sp.org/tlog-checkpoint
 * only recommends that the key be named after the origin, and receipts
 * from such logs are common.  The trust decision is the key; callers that
 * pin an origin compare cp->origin.
 */
int vl_receipt_verify(const char *receipt, size_t receipt_len, const uint8_t *entry,
                      size_t entry_len, const vl_verifier *v, vl_checkpoint *cp,
                      uint64_t *index)
{
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	uint8_t leaf[VL_HASH_SIZE];
	vl_checkpoint c;
	const char *note;
	size_t n_proof, note_len, body_len;
	uint64_t idx;
	int err;

	if (receipt == NULL || v == NULL || (entry == NULL && entry_len != 0))
		return VL_EINVAL;
	if (entry_len == 0 || entry_len > VL_ENTRY_MAX)
		return VL_EENTRY_SIZE;
	err = vl_receipt_parse(receipt, receipt_len, &idx, proof, &n_proof, &note, &note_len);
	if (err)
		return err;
	err = vl_note_verify(note, note_len, v, &body_len);
	if (err)
		return err;
	err = vl_checkpoint_parse(note, body_len, &c);
	if (err)
		return err;
	if (idx >= c.size)
		return VL_EPROOF;
	vl_leaf_hash(entry, entry_len, leaf);
	err = vl_merkle_verify_inclusion(leaf, idx, c.size, (const uint8_t(*)[VL_HASH_SIZE])proof,
	                                 n_proof, c.root);
	if (err)
		return err;
	if (cp != NULL)
		*cp = c;
	if (index != NULL)
		*index = idx;
	return 0;
}
