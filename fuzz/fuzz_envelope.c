/*
 * fuzz_envelope.c — libFuzzer driver for the event envelope parser
 * (src/server/envelope.c).  An entry that parses must write back, from its
 * parsed fields, to exactly the same header bytes: the format has one
 * spelling for each envelope.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dup_span(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	vs_envelope_view v;
	if (vs_envelope_parse(copy, size, &v) == 0) {
		if (v.event_off > size || v.event_off + v.event_len != size)
			abort();
		char *principal = dup_span(v.principal, v.principal_len);
		char *transport = dup_span(v.transport, v.transport_len);
		char *ct = dup_span(v.content_type, v.content_type_len);
		char *peer = v.peer ? dup_span(v.peer, v.peer_len) : NULL;
		char *agent = v.has_agent ? dup_span(v.agent, v.agent_len) : NULL;
		char *origin = v.has_agent ? dup_span(v.origin ? v.origin : "", v.origin_len) : NULL;
		vs_envelope e = {
			.received = {(time_t)v.received_sec, (long)v.received_nsec},
			.principal = principal,
			.transport = transport,
			.content_type = ct,
			.peer = peer,
			.agent = agent,
			.spool_index = v.spool_index,
			.spooled = {(time_t)v.spooled_sec, (long)v.spooled_nsec},
			.origin = origin,
			.idem_key = v.has_idem_key ? v.idem_key : NULL,
			.request_events = v.request_events,
		};
		uint8_t out[4096];
		size_t n = vs_envelope_write_header(&e, out, sizeof out);
		if (n != v.event_off || memcmp(out, copy, n) != 0)
			abort();
		free(principal);
		free(transport);
		free(ct);
		free(peer);
		free(agent);
		free(origin);
	}
	free(copy);
	return 0;
}
