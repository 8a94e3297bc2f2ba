/*
 * fuzz_receipt.c — libFuzzer driver for c2sp.org/tlog-proof receipts
 * (receipt.c): vl_receipt_parse and vl_receipt_verify on the input, with a
 * fixed verifier key and a fixed entry.  Besides "no crash", a parsed
 * receipt's note must lie inside the input and its proof within
 * VL_PROOF_MAX hashes, and a verified receipt must also parse, carry a
 * note that verifies by itself, and prove an index below the checkpoint's
 * size.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed key for fuzzing only: its seed is the ASCII string
 * "vellum-fuzz-seed-not-a-secret-00".  Never use it for a real log. */
static const char fuzz_skey[] =
	"PRIVATE+KEY+vellum.example/fuzz+ed8b379e+AXZlbGx1bS1mdXp6LXNlZWQtbm90LWEtc2VjcmV0LTAw";

/* The entry every receipt is checked for; the seed corpus holds receipts
 * for it at index 2 of trees of several sizes. */
static const char fuzz_entry[] = "fuzz entry 2";

static vl_verifier *verifier;

static void setup(void)
{
	vl_signer *s = NULL;
	char *vkey = NULL;
	if (vl_signer_parse(fuzz_skey, &s) != 0 || vl_signer_vkey(s, &vkey) != 0 ||
	    vl_verifier_parse(vkey, &verifier) != 0) {
		fprintf(stderr, "fuzz_receipt: the fixed key does not parse\n");
		abort();
	}
	free(vkey);
	vl_signer_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!verifier)
		setup();
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);

	uint64_t index = 0;
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	size_t n_proof = (size_t)-1, note_len = 0;
	const char *note = NULL;
	int parse_rc = vl_receipt_parse(text, size, &index, proof, &n_proof, &note, &note_len);
	if (parse_rc == 0) {
		if (n_proof > VL_PROOF_MAX || !note || note < text || note_len == 0 ||
		    note_len > size || (size_t)(note - text) != size - note_len ||
		    note[-1] != '\n') {
			fprintf(stderr, "parsed receipt: proof or note out of bounds\n");
			abort();
		}
		/* The note is not checked by parse; checking it here too finds
		 * problems with notes that start at odd offsets. */
		size_t body_len;
		(void)vl_note_verify(note, note_len, verifier, &body_len);
	} else if (parse_rc != VL_EFORMAT) {
		fprintf(stderr, "vl_receipt_parse: unexpected error %d\n", parse_rc);
		abort();
	}

	vl_checkpoint cp;
	uint64_t vindex = 0;
	int rc = vl_receipt_verify(text, size, (const uint8_t *)fuzz_entry, strlen(fuzz_entry),
	                           verifier, &cp, &vindex);
	if (rc == 0) {
		size_t body_len;
		vl_checkpoint body_cp;
		uint8_t leaf[VL_HASH_SIZE];
		vl_leaf_hash(fuzz_entry, strlen(fuzz_entry), leaf);
		if (parse_rc != 0 || vindex != index || vindex >= cp.size ||
		    vl_note_verify(note, note_len, verifier, &body_len) != 0 ||
		    vl_checkpoint_parse(note, body_len, &body_cp) != 0 ||
		    memcmp(&body_cp, &cp, sizeof cp) != 0 ||
		    vl_merkle_verify_inclusion(leaf, index, cp.size,
		                               (const uint8_t(*)[VL_HASH_SIZE])proof, n_proof,
		                               cp.root) != 0) {
			fprintf(stderr, "vl_receipt_verify accepted what its parts do not\n");
			abort();
		}
	}
	/* The entry-size limits hold whatever the receipt. */
	if (vl_receipt_verify(text, size, (const uint8_t *)fuzz_entry, 0, verifier, NULL, NULL) !=
	    VL_EENTRY_SIZE)
		abort();
	free(text);
	return 0;
}
