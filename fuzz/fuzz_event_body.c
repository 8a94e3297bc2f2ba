/*
 * fuzz_event_body.c — libFuzzer driver for ingest body validation and
 * splitting (src/server/ingest_parse.c).  The first input byte chooses the
 * body kind (its value modulo 5, in enum vs_body_kind order) and, with its
 * top bit, a small event limit; the rest is the body.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Besides "no crash", it checks what a caller relies on:
 *  - an accepted body has 1..max_events spans, in order, inside the body,
 *    not overlapping, each one object ("{" ... "}") that validates on its
 *    own as a JSON body of exactly one event spanning all of it;
 *  - vs_json_object_string on each span returns a length that fits, or
 *    -1 or -2, and NUL-terminates what it returns;
 *  - a CloudEvent or CloudEvents batch that is accepted is also accepted,
 *    with the same spans, as plain JSON (its rules only add checks); a
 *    single accepted JSON object on one line is accepted as NDJSON;
 *  - a rejected body has an error code, an offset inside the body and a
 *    message that names that offset.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SPANS 512

static vs_span spans[MAX_SPANS], other[MAX_SPANS];

static void die(const char *what, const uint8_t *body, size_t len)
{
	fprintf(stderr, "fuzz_event_body: %s (body of %zu bytes)\n", what, len);
	(void)body;
	abort();
}

/* strstr, by hand: libFuzzer would otherwise feed every message it sees
 * back into its mutations. */
static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay != '\0'; hay++) {
		size_t i = 0;
		while (i < n && hay[i] == needle[i])
			i++;
		if (i == n)
			return true;
	}
	return false;
}

static void check_error(const vs_parse_error *e, size_t len, const uint8_t *body)
{
	char at[48];
	snprintf(at, sizeof at, " at byte %zu", e->offset);
	if (e->code == NULL || e->offset > len || e->event < -1 || e->message[0] == '\0' ||
	    strnlen(e->message, sizeof e->message) == sizeof e->message ||
	    !contains(e->message, at))
		die("a rejection without a proper error", body, len);
}

/* One span on its own, as an exact-size copy. */
static void check_span_alone(const uint8_t *body, size_t len, const vs_span *s)
{
	uint8_t *copy = malloc(s->len);
	if (copy == NULL)
		return;
	memcpy(copy, body + s->off, s->len);
	vs_span one[2];
	size_t n = 0;
	vs_parse_error e;
	if (vs_body_split(VS_BODY_JSON, copy, s->len, one, 2, &n, &e) != 0)
		die("a span does not validate on its own", body, len);
	if (n != 1 || one[0].off != 0 || one[0].len != s->len)
		die("a span alone is not one event spanning all of it", body, len);

	char out[16];
	long r = vs_json_object_string(copy, s->len, "id", out, sizeof out);
	if (r < -2 || r >= (long)sizeof out || (r >= 0 && out[r] != '\0'))
		die("vs_json_object_string returned a bad length", body, len);
	r = vs_json_object_string(copy, s->len, "", NULL, 0);
	if (r != -1 && r != -2)
		die("vs_json_object_string with no room returned a length", body, len);
	free(copy);
}

static void check_spans(const uint8_t *body, size_t len, size_t n, size_t max)
{
	if (n == 0 || n > max)
		die("an accepted body with a bad event count", body, len);
	size_t prev_end = 0;
	for (size_t i = 0; i < n; i++) {
		const vs_span *s = &spans[i];
		if (s->off < prev_end || s->len < 2 || s->off > len || s->len > len - s->off)
			die("a span out of order or out of bounds", body, len);
		if (body[s->off] != '{' || body[s->off + s->len - 1] != '}')
			die("a span that is not an object", body, len);
		prev_end = s->off + s->len;
		check_span_alone(body, len, s);
	}
}

/* Kinds whose rules only add to plain JSON's split the same way as JSON. */
static void check_as_json(const uint8_t *body, size_t len, size_t n, enum vs_body_kind kind)
{
	size_t n2 = 0;
	vs_parse_error e;
	int rc = vs_body_split(VS_BODY_JSON, body, len, other, MAX_SPANS, &n2, &e);
	if (kind == VS_BODY_CLOUDEVENT || kind == VS_BODY_CLOUDEVENTS_BATCH) {
		if (rc != 0 || n2 != n || memcmp(spans, other, n * sizeof *spans) != 0)
			die("a CloudEvents body that plain JSON splits differently", body, len);
	} else if (kind == VS_BODY_K8S_EVENTLIST) {
		/* The whole list is one object; only its depth may differ. */
		if (rc != 0 && strcmp(e.code, "too_deep") != 0)
			die("an EventList that is not a JSON object", body, len);
	} else if (kind == VS_BODY_JSON && n == 1 && memchr(body, '\n', len) == NULL) {
		bool only_ws = true;
		for (size_t i = 0; i < spans[0].off; i++)
			if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r')
				only_ws = false;
		if (!only_ws)
			return;
		rc = vs_body_split(VS_BODY_NDJSON, body, len, other, MAX_SPANS, &n2, &e);
		if (rc != 0 || n2 != 1 || memcmp(spans, other, sizeof *spans) != 0)
			die("a one-line JSON object that NDJSON splits differently", body, len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum vs_body_kind kind = (enum vs_body_kind)(data[0] % 5);
	size_t max = (data[0] & 0x80) ? 3 : MAX_SPANS;
	size_t len = size - 1;
	/* Exact-size heap copy: the parser takes (pointer, length) and must
	 * not read past it. */
	uint8_t *body = malloc(len ? len : 1);
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, len);

	size_t n = 0;
	vs_parse_error e;
	memset(&e, 0xa5, sizeof e);
	if (vs_body_split(kind, body, len, spans, max, &n, &e) == 0) {
		if (e.code != NULL)
			die("an accepted body with an error code", body, len);
		check_spans(body, len, n, max);
		if (max == MAX_SPANS)
			check_as_json(body, len, n, kind);
	} else {
		check_error(&e, len, body);
	}
	free(body);
	return 0;
}
