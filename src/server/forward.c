/*
 * forward.c — parsing the body of POST /v1/logs/{log}/forward (see
 * forward.h for the byte layout).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "forward.h"

#include <stdio.h>
#include <string.h>

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int vs_agent_id_ok(const char *s, size_t len)
{
	if (len == 0 || len > VS_AGENT_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int vs_forward_parse(const uint8_t *body, size_t len, vs_forward_record *out, size_t max,
                     size_t *n, vs_forward_error *err)
{
	size_t pos = 0, k = 0;
	uint64_t prev = 0;
	*n = 0;
	err->code = "malformed_forward";
	err->message[0] = 0;
	if (len == 0) {
		snprintf(err->message, sizeof err->message, "the body has no records");
		return -1;
	}
	while (pos < len) {
		if (len - pos < VS_FORWARD_HEAD) {
			snprintf(err->message, sizeof err->message,
			         "record %zu at byte %zu: truncated record header", k, pos);
			return -1;
		}
		uint64_t index = be64(body + pos);
		int64_t spooled = (int64_t)be64(body + pos + 8);
		size_t olen = body[pos + 16];
		if (k > 0 && index <= prev) {
			snprintf(err->message, sizeof err->message,
			         "record %zu at byte %zu: spool index %llu does not follow %llu", k, pos,
			         (unsigned long long)index, (unsigned long long)prev);
			return -1;
		}
		if (spooled < 0) {
			snprintf(err->message, sizeof err->message,
			         "record %zu at byte %zu: the spooled time is negative", k, pos);
			return -1;
		}
		size_t o = pos + VS_FORWARD_HEAD;
		if (len - o < olen + 4) {
			snprintf(err->message, sizeof err->message,
			         "record %zu at byte %zu: truncated origin or event length", k, pos);
			return -1;
		}
		for (size_t i = 0; i < olen; i++)
			if (body[o + i] < 0x20 || body[o + i] > 0x7e) {
				snprintf(err->message, sizeof err->message,
				         "record %zu at byte %zu: the origin is not printable ASCII", k,
				         o + i);
				return -1;
			}
		size_t e = o + olen;
		size_t elen = (size_t)body[e] << 24 | (size_t)body[e + 1] << 16 |
		              (size_t)body[e + 2] << 8 | body[e + 3];
		if (elen == 0 || elen > VS_FORWARD_EVENT_MAX) {
			snprintf(err->message, sizeof err->message,
			         "record %zu at byte %zu: event length %zu is not 1..%d", k, e, elen,
			         VS_FORWARD_EVENT_MAX);
			return -1;
		}
		if (len - (e + 4) < elen) {
			snprintf(err->message, sizeof err->message,
			         "record %zu at byte %zu: the event is cut short", k, e + 4);
			return -1;
		}
		if (k == max) {
			err->code = "too_many_events";
			snprintf(err->message, sizeof err->message,
			         "more than %zu records in one request", max);
			return -1;
		}
		if (out)
			out[k] = (vs_forward_record){index, spooled, o, olen, e + 4, elen};
		k++;
		prev = index;
		pos = e + 4 + elen;
	}
	*n = k;
	return 0;
}
