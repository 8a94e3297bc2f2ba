/*
 * forward.h — the body of POST /v1/logs/{log}/forward, by which
 * `vellum agent` delivers spooled events (docs/format.md, "Forwarded
 * events").  Pure parsing (no I/O), fuzzed by fuzz/fuzz_forward.c.
 *
 * The body is one or more records, back to back:
 *
 *   offset   size  field
 *   0        8     spool index, unsigned, big-endian
 *   8        8     spooled: nanoseconds since 1970-01-01T00:00:00Z, big-endian, >= 0
 *   16       1     origin length L (0..255)
 *   17       L     origin: printable ASCII (0x20..0x7e), e.g. "file:/var/log/app.log"
 *   17+L     4     event length E (1..65535), unsigned, big-endian
 *   21+L     E     the event's bytes
 *
 * Spool indexes strictly increase within one body.  The sender is named by
 * the request's Vellum-Agent header (1..64 of [A-Za-z0-9._:-]).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_FORWARD_H
#define VS_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#define VS_FORWARD_HEAD 17          /* bytes before the origin */
#define VS_FORWARD_EVENT_MAX 65535
#define VS_AGENT_ID_MAX 64


typedef struct vs_forward_record {
	uint64_t spool_index;
	int64_t spooled_ns;
	size_t origin_off, origin_len;  /* in the body */
	size_t event_off, event_len;
} vs_forward_record;

typedef struct vs_forward_error {
	const char *code;      /* "malformed_forward" or "too_many_events" */
	char message[200];
} vs_forward_error;

/* Split BODY into at most MAX records (out may be NULL to count).  0 with
 * *n set, or -1 with ERR filled. */
int vs_forward_parse(const uint8_t *body, size_t len, vs_forward_record *out, size_t max,
                     size_t *n, vs_forward_error *err);

/* A valid agent id: 1..64 of [A-Za-z0-9._:-]. */
int vs_agent_id_ok(const char *s, size_t len);

#endif
