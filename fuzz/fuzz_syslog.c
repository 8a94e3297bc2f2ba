/*
 * fuzz_syslog.c — libFuzzer driver for syslog framing and parsing
 * (src/server/syslog.c).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The first byte is a control byte.  Bit 0 clear: the rest is one message
 * for vs_syslog_parse, whose result must be self-consistent (spans inside
 * the message and in field order, PRI split into facility and severity,
 * RFC 5424 field limits, errors naming a byte offset).  Bit 0 set: bits 1-2
 * choose the framer's maximum message size, bits 3-5 how many of the
 * following bytes give chunk sizes, and the rest is a stream fed to one
 * framer at once and to another in those chunks.  Both must deliver the
 * same messages and end with the same result; every message must lie in
 * the input or the framer's buffer, be at most the maximum, not end in CR,
 * LF or NUL, and parse (or not) self-consistently; together the messages
 * are no longer than the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

static void check_span(vs_syslog_span s, size_t len, size_t *end)
{
	CHECK(s.off <= len && s.len <= len - s.off);
	CHECK(s.off >= *end);
	*end = s.off + s.len;
}

/* Parse an exact heap copy of msg and check what comes back. */
static void check_parse(const uint8_t *msg, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	if (c == NULL)
		return;
	memcpy(c, msg, len);
	vs_syslog_msg m;
	char err[200];
	memset(err, 'x', sizeof err);
	int rc = vs_syslog_parse(c, len, &m, err, sizeof err);
	if (rc == 0) {
		size_t end = 0;
		CHECK(m.format == VS_SYSLOG_RFC5424 || m.format == VS_SYSLOG_RFC3164);
		CHECK(m.pri >= 0 && m.pri <= 191);
		CHECK(m.facility == m.pri / 8 && m.severity == m.pri % 8);
		check_span(m.timestamp, len, &end);
		check_span(m.hostname, len, &end);
		check_span(m.app_name, len, &end);
		check_span(m.procid, len, &end);
		check_span(m.msgid, len, &end);
		check_span(m.sd, len, &end);
		check_span(m.msg, len, &end);
		CHECK(m.msg.off + m.msg.len == len);
		CHECK(err[0] == '\0');
		if (m.format == VS_SYSLOG_RFC5424) {
			CHECK(m.version == 1);
			CHECK(m.hostname.len <= 255 && m.app_name.len <= 48);
			CHECK(m.procid.len <= 128 && m.msgid.len <= 32);
			CHECK(m.timestamp.len == 0 || m.timestamp.len >= 20);
			CHECK(m.sd.len == 0 ||
			      (c[m.sd.off] == '[' && c[m.sd.off + m.sd.len - 1] == ']'));
			CHECK(m.msg.off == len || c[m.msg.off - 1] == ' ');
		} else {
			CHECK(m.version == 0 && m.sd.len == 0 && m.msgid.len == 0);
		}
	} else {
		CHECK(rc == -1);
		CHECK(memchr(err, '\0', sizeof err) != NULL);
		CHECK(strncmp(err, "byte ", 5) == 0);
	}
	free(c);
}

/* Messages delivered by one framer, concatenated with their lengths. */
struct record {
	const uint8_t *in; /* the chunk being fed */
	size_t in_len;
	const vs_syslog_framer *fr;
	uint8_t *bytes;
	size_t len, cap;
	size_t *lens;
	size_t n, ncap;
	int check;
};

static int on_message(void *ctx, const uint8_t *msg, size_t len)
{
	struct record *r = ctx;
	/* Within the chunk or within the framer's buffer. */
	int in_chunk = msg >= r->in && msg <= r->in + r->in_len &&
	               len <= (size_t)(r->in + r->in_len - msg);
	int in_buf = r->fr->buf != NULL && msg >= r->fr->buf && msg <= r->fr->buf + r->fr->cap &&
	             len <= (size_t)(r->fr->buf + r->fr->cap - msg);
	CHECK(in_chunk || in_buf || len == 0);
	CHECK(len <= r->fr->max);
	CHECK(len == 0 || vs_syslog_trim(msg, len) == len);
	if (r->len + len > r->cap) {
		size_t cap = (r->len + len) * 2 + 64;
		uint8_t *b = realloc(r->bytes, cap);
		CHECK(b != NULL);
		r->bytes = b;
		r->cap = cap;
	}
	if (r->n == r->ncap) {
		size_t ncap = r->ncap * 2 + 16;
		size_t *l = realloc(r->lens, ncap * sizeof *l);
		CHECK(l != NULL);
		r->lens = l;
		r->ncap = ncap;
	}
	if (len > 0)
		memcpy(r->bytes + r->len, msg, len);
	r->len += len;
	r->lens[r->n++] = len;
	if (r->check)
		check_parse(msg, len);
	return 0;
}

static int feed(vs_syslog_framer *fr, struct record *r, const uint8_t *chunk, size_t len)
{
	/* Exact heap copy so reads past the chunk are caught. */
	uint8_t *c = malloc(len ? len : 1);
	CHECK(c != NULL);
	memcpy(c, chunk, len);
	r->in = c;
	r->in_len = len;
	char err[200];
	int rc = vs_syslog_feed(fr, c, len, on_message, r, err, sizeof err);
	if (rc != 0)
		CHECK(strncmp(err, "stream byte ", 12) == 0);
	free(c);
	return rc;
}

static void fuzz_framer(uint8_t control, const uint8_t *data, size_t size)
{
	static const size_t maxes[4] = {0, 8, 40, 300};
	size_t nsizes = (control >> 3) & 7;
	if (size < nsizes)
		return;
	const uint8_t *sizes = data;
	data += nsizes;
	size -= nsizes;

	vs_syslog_framer a, b;
	CHECK(vs_syslog_framer_init(&a, maxes[(control >> 1) & 3]) == 0);
	CHECK(vs_syslog_framer_init(&b, maxes[(control >> 1) & 3]) == 0);
	struct record ra = {.fr = &a, .check = 1}, rb = {.fr = &b};

	int rc_a = feed(&a, &ra, data, size);
	int rc_b = 0;
	for (size_t off = 0, k = 0; off < size && rc_b == 0; k++) {
		size_t n = nsizes ? (size_t)sizes[k % nsizes] + 1 : 1;
		if (n > size - off)
			n = size - off;
		rc_b = feed(&b, &rb, data + off, n);
		off += n;
	}
	CHECK(rc_a == VS_SYSLOG_OK || rc_a == VS_SYSLOG_EFRAMING || rc_a == VS_SYSLOG_EOVERSIZE);
	CHECK(rc_a == rc_b);
	CHECK(ra.len <= size);
	CHECK(ra.n == rb.n && ra.len == rb.len);
	CHECK(ra.n == 0 || memcmp(ra.lens, rb.lens, ra.n * sizeof *ra.lens) == 0);
	CHECK(ra.len == 0 || memcmp(ra.bytes, rb.bytes, ra.len) == 0);
	CHECK(vs_syslog_framer_pending(&a) == vs_syslog_framer_pending(&b) || rc_a != 0);
	if (rc_a != 0) /* errors are sticky */
		CHECK(feed(&a, &ra, (const uint8_t *)"<1>\n", 4) == rc_a);

	vs_syslog_framer_free(&a);
	vs_syslog_framer_free(&b);
	free(ra.bytes);
	free(ra.lens);
	free(rb.bytes);
	free(rb.lens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t control = data[0];
	if (control & 1)
		fuzz_framer(control, data + 1, size - 1);
	else
		check_parse(data + 1, size - 1);
	return 0;
}
