/*
 * fuzz_note.c — libFuzzer driver for the signed-note and checkpoint parsers
 * (note.c): vl_note_verify with a fixed verifier key, vl_checkpoint_parse
 * and vl_checkpoint_verify on the input.  Besides "no crash", it checks
 * that the three agree with each other: a verified note has a body that
 * ends in "\n" and is followed by a blank line, a verified checkpoint is a
 * verified note whose body parses, and a parsed checkpoint formats
 * (vl_checkpoint_format) back to the first three lines of its text.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed key for fuzzing only: its seed is the ASCII string
 * "vellum-fuzz-seed-not-a-secret-00".  Never use it for a real log. */
static const char fuzz_skey[] =
	"PRIVATE+KEY+vellum.example/fuzz+ed8b379e+AXZlbGx1bS1mdXp6LXNlZWQtbm90LWEtc2VjcmV0LTAw";

static vl_verifier *verifier;

static void setup(void)
{
	vl_signer *s = NULL;
	char *vkey = NULL;
	if (vl_signer_parse(fuzz_skey, &s) != 0 || vl_signer_vkey(s, &vkey) != 0 ||
	    vl_verifier_parse(vkey, &verifier) != 0) {
		fprintf(stderr, "fuzz_note: the fixed key does not parse\n");
		abort();
	}
	free(vkey);
	vl_signer_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!verifier)
		setup();
	/* Exact-size heap copy: the parsers take (pointer, length) and must
	 * not read past it, NUL or not. */
	char *note = malloc(size ? size : 1);
	if (!note)
		return 0;
	memcpy(note, data, size);

	size_t body_len = (size_t)-1;
	int note_rc = vl_note_verify(note, size, verifier, &body_len);
	if (note_rc == 0) {
		if (body_len == 0 || body_len + 1 >= size || note[body_len - 1] != '\n' ||
		    note[body_len] != '\n' || note[size - 1] != '\n') {
			fprintf(stderr, "verified note has a bad body length %zu of %zu\n", body_len,
			        size);
			abort();
		}
	} else if (note_rc != VL_EFORMAT && note_rc != VL_ESIGNATURE && note_rc != VL_ENOMEM) {
		fprintf(stderr, "vl_note_verify: unexpected error %d\n", note_rc);
		abort();
	}

	vl_checkpoint cp;
	memset(&cp, 0xa5, sizeof cp);
	int parse_rc = vl_checkpoint_parse(note, size, &cp);
	if (parse_rc == 0) {
		/* The first three lines, as the parser saw them. */
		size_t lines = 0, three = 0;
		for (size_t i = 0; i < size; i++)
			if (note[i] == '\n' && ++lines == 3) {
				three = i + 1;
				break;
			}
		char buf[VL_ORIGIN_MAX + 128];
		int n = vl_checkpoint_format(&cp, buf, sizeof buf);
		if (lines != 3 || n < 0 || (size_t)n != three || memcmp(buf, note, three) != 0) {
			fprintf(stderr, "parsed checkpoint does not format back to its text\n");
			abort();
		}
	} else if (parse_rc != VL_EFORMAT) {
		fprintf(stderr, "vl_checkpoint_parse: unexpected error %d\n", parse_rc);
		abort();
	}

	vl_checkpoint vcp;
	int verify_rc = vl_checkpoint_verify(note, size, verifier, &vcp);
	if (verify_rc == 0) {
		vl_checkpoint body_cp;
		if (note_rc != 0 || vl_checkpoint_parse(note, body_len, &body_cp) != 0 ||
		    memcmp(&body_cp, &vcp, sizeof vcp) != 0 ||
		    strcmp(vcp.origin, vl_verifier_name(verifier)) != 0) {
			fprintf(stderr, "vl_checkpoint_verify accepted what its parts do not\n");
			abort();
		}
	} else if (note_rc == 0 && verify_rc != VL_EFORMAT && verify_rc != VL_ESIGNATURE) {
		fprintf(stderr, "vl_checkpoint_verify: unexpected error %d\n", verify_rc);
		abort();
	}
	free(note);
	return 0;
}
