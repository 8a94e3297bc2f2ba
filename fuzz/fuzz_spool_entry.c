/*
 * fuzz_spool_entry.c — libFuzzer driver for the agent's spool entry parser
 * (src/agent/entry.c).  Besides "no crash": an accepted entry writes back
 * to the same bytes (each value has one spelling), its origin is valid and
 * an event's bytes lie inside the input.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	va_entry e;
	if (va_entry_parse(copy, size, &e) == 0) {
		if (e.kind != VA_ENTRY_EVENT && e.kind != VA_ENTRY_DROPPED)
			abort();
		if (!va_origin_ok(e.origin, strlen(e.origin)))
			abort();
		uint8_t out[VA_HEADER_MAX];
		size_t h = va_entry_write_header(&e, out, sizeof out);
		if (h == 0 || h > size || memcmp(out, copy, h) != 0)
			abort();
		if (e.kind == VA_ENTRY_EVENT &&
		    (e.event != copy + h || e.event_len != size - h))
			abort();
		if (e.kind == VA_ENTRY_DROPPED && h != size)
			abort();
	}
	free(copy);
	return 0;
}
