/*
 * fuzz_forward.c — libFuzzer driver for the body of POST .../forward
 * (src/server/forward.c).  Besides "no crash": an accepted body is exactly
 * covered by its records (each record's fields re-encoded give the input
 * back, byte for byte), spool indexes strictly increase, every origin is
 * printable ASCII and every event 1..65535 bytes; a refused body carries a
 * code and a message.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	size_t max = 1 + (size ? data[0] % 64 : 0), n = 0;
	vs_forward_record *rec = malloc(max * sizeof *rec);
	vs_forward_error err;
	if (!rec)
		abort();
	int rc = vs_forward_parse(copy, size, rec, max, &n, &err);
	if (rc != 0) {
		if (!err.code || !err.message[0])
			abort();
	} else {
		uint8_t *again = malloc(size);
		if (!again || n == 0 || n > max)
			abort();
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			const vs_forward_record *r = &rec[i];
			if (i > 0 && r->spool_index <= rec[i - 1].spool_index)
				abort();
			if (r->spooled_ns < 0 || r->origin_len > 255 || r->event_len < 1 ||
			    r->event_len > VS_FORWARD_EVENT_MAX)
				abort();
			for (size_t k = 0; k < r->origin_len; k++)
				if (copy[r->origin_off + k] < 0x20 || copy[r->origin_off + k] > 0x7e)
					abort();
			if (off + VS_FORWARD_HEAD + r->origin_len + 4 + r->event_len > size)
				abort();
			put_be(again + off, r->spool_index, 8);
			put_be(again + off + 8, (uint64_t)r->spooled_ns, 8);
			again[off + 16] = (uint8_t)r->origin_len;
			memcpy(again + off + 17, copy + r->origin_off, r->origin_len);
			put_be(again + off + 17 + r->origin_len, r->event_len, 4);
			memcpy(again + off + 21 + r->origin_len, copy + r->event_off, r->event_len);
			off += 21 + r->origin_len + r->event_len;
		}
		if (off != size || memcmp(again, copy, size) != 0)
			abort();
		free(again);
	}
	/* Counting (out == NULL) agrees with parsing. */
	size_t n2 = 0;
	vs_forward_error err2;
	int rc2 = vs_forward_parse(copy, size, NULL, max, &n2, &err2);
	if (rc2 != rc || (rc == 0 && n2 != n))
		abort();
	free(rec);
	free(copy);
	return 0;
}
