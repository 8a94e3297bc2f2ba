/*
 * fuzz_fault_spec.c — libFuzzer driver for the fault specs of `vellum chaos
 * proxy` (vc_fault_parse, src/chaos/proxy.c).  Besides "no crash": a
 * refused spec has a reason; an accepted one is within the limits (jitter
 * at most the latency, a rate of at least 1, a window of positive length),
 * its canonical text (vc_fault_format) parses back to the same fault and
 * formats to the same text, and the parser never reads past LEN.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const vc_fault *a, const vc_fault *b)
{
	return a->kind == b->kind && a->latency_ms == b->latency_ms &&
	       a->jitter_ms == b->jitter_ms && a->rate == b->rate &&
	       a->has_window == b->has_window && a->start_ms == b->start_ms &&
	       a->duration_ms == b->duration_ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan catches a read past the end. */
	char *spec = malloc(size ? size : 1);
	char err[256], text[VC_FAULT_TEXT_MAX], again[VC_FAULT_TEXT_MAX];
	vc_fault f, g;

	if (!spec)
		return 0;
	memcpy(spec, data, size);
	err[0] = '\0';
	if (vc_fault_parse(spec, size, &f, err, sizeof err) < 0) {
		if (!err[0] || !memchr(err, '\0', sizeof err))
			abort();
		/* A zero-size error buffer is allowed. */
		if (vc_fault_parse(spec, size, &g, NULL, 0) == 0)
			abort();
		free(spec);
		return 0;
	}
	if ((unsigned)f.kind >= VC_FAULT_KINDS || !vc_fault_kind_name(f.kind))
		abort();
	if (f.kind == VC_FAULT_LATENCY &&
	    (f.latency_ms > VC_LATENCY_MAX_MS || f.jitter_ms > f.latency_ms))
		abort();
	if (f.kind == VC_FAULT_THROTTLE && (f.rate < 1 || f.rate > VC_RATE_MAX))
		abort();
	if (f.kind != VC_FAULT_LATENCY && (f.latency_ms || f.jitter_ms))
		abort();
	if (f.kind != VC_FAULT_THROTTLE && f.rate)
		abort();
	if (f.has_window ? (f.duration_ms == 0 || f.start_ms > VC_WINDOW_MAX_MS ||
			    f.duration_ms > VC_WINDOW_MAX_MS)
			 : (f.start_ms || f.duration_ms))
		abort();
	int n = vc_fault_format(&f, text, sizeof text);
	if (n <= 0 || (size_t)n >= sizeof text || text[n] != '\0' || (size_t)n > size)
		abort();
	if (vc_fault_parse(text, (size_t)n, &g, err, sizeof err) < 0 || !same(&f, &g))
		abort();
	if (vc_fault_format(&g, again, sizeof again) != n || memcmp(text, again, (size_t)n) != 0)
		abort();
	/* Too small a buffer is refused, not overrun. */
	if (vc_fault_format(&f, again, (size_t)n) != -1)
		abort();
	free(spec);
	return 0;
}
