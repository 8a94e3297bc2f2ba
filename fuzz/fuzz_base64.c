/*
 * fuzz_base64.c — libFuzzer driver for vl_base64_decode (base64.c):
 * arbitrary bytes as base64 text.  Decoding is strict, so every byte
 * string has exactly one accepted encoding: whatever decodes must encode
 * back (vl_base64_encode) to exactly the input.  The check-only mode
 * (out NULL) and a too-small buffer must agree with a full decode.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size heap copy: a read past the input is an ASan report. */
	char *in = malloc(size ? size : 1);
	if (!in)
		return 0;
	memcpy(in, data, size);

	size_t cap = size / 4 * 3 + 3;
	uint8_t *out = malloc(cap);
	char *enc = malloc(size + 8);
	if (!out || !enc)
		goto done;

	size_t out_len = (size_t)-1;
	int rc = vl_base64_decode(in, size, out, cap, &out_len);
	size_t check_len = (size_t)-1;
	int rc_check = vl_base64_decode(in, size, NULL, 0, &check_len);
	if (rc != rc_check || (rc == 0 && check_len != out_len)) {
		fprintf(stderr, "decode with and without output differ: %d/%zu vs %d/%zu\n", rc,
		        out_len, rc_check, check_len);
		abort();
	}
	if (rc != 0 && rc != VL_EFORMAT) {
		fprintf(stderr, "unexpected decode error %d\n", rc);
		abort();
	}
	if (rc == 0) {
		/* Padding is one or two '=' at the very end, nowhere else. */
		size_t pad = size >= 4 ? (size_t)(in[size - 1] == '=') + (in[size - 2] == '=') : 0;
		if (size % 4 != 0 || out_len > cap || out_len != size / 4 * 3 - pad) {
			fprintf(stderr, "decoded length %zu is wrong for %zu characters\n", out_len,
			        size);
			abort();
		}
		/* Round trip, into an exact-size buffer. */
		uint8_t *exact = malloc(out_len ? out_len : 1);
		if (!exact)
			goto done;
		size_t exact_len;
		if (vl_base64_decode(in, size, exact, out_len, &exact_len) != 0 ||
		    exact_len != out_len || memcmp(exact, out, out_len) != 0) {
			fprintf(stderr, "decode into an exact-size buffer differs\n");
			abort();
		}
		if (out_len > 0 &&
		    vl_base64_decode(in, size, exact, out_len - 1, &exact_len) != VL_ETOOBIG) {
			fprintf(stderr, "decode into a too-small buffer did not fail with ETOOBIG\n");
			abort();
		}
		free(exact);
		size_t n = vl_base64_encode(out, out_len, enc);
		if (n != size || memcmp(enc, in, size) != 0 || enc[n] != '\0') {
			fprintf(stderr, "accepted input does not re-encode to itself: %.*s -> %s\n",
			        (int)size, in, enc);
			abort();
		}
	}
	/* And the other direction: any bytes encode to text that decodes back. */
	size_t n = size > 48 ? 48 : size;
	char text[4 * 16 + 1];
	size_t tlen = vl_base64_encode(data, n, text);
	uint8_t back[48];
	size_t back_len;
	if (tlen != (n + 2) / 3 * 4 ||
	    vl_base64_decode(text, tlen, back, sizeof back, &back_len) != 0 || back_len != n ||
	    memcmp(back, data, n) != 0) {
		fprintf(stderr, "encoding of %zu bytes does not decode back\n", n);
		abort();
	}
done:
	free(enc);
	free(out);
	free(in);
	return 0;
}
