/*
 * wire.c — the forward body's records, the fields of the server's answer,
 * and the backoff schedule (wire.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "vellum.h"
#include "wire.h"

int va_buf_reserve(va_buf *b, size_t more)
{
	if (more <= b->cap - b->len)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			return VL_ENOMEM;
		cap *= 2;
	}
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return VL_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int va_buf_append(va_buf *b, const void *p, size_t n)
{
	int rc = va_buf_reserve(b, n);
	if (rc == 0 && n) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
	return rc;
}

void va_buf_free(va_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

size_t va_record_size(size_t origin_len, size_t event_len)
{
	return VA_RECORD_FIXED + origin_len + event_len;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int va_record_encode(va_buf *b, uint64_t index, int64_t spooled_ns, const char *origin,
                     size_t origin_len, const uint8_t *event, size_t event_len)
{
	if (origin_len > 255 || event_len == 0 || event_len > VL_ENTRY_MAX)
		return VL_EINVAL;
	int rc = va_buf_reserve(b, va_record_size(origin_len, event_len));
	if (rc < 0)
		return rc;
	uint8_t *p = b->data + b->len;
	put_be(p, index, 8);
	put_be(p + 8, (uint64_t)spooled_ns, 8);
	p[16] = (uint8_t)origin_len;
	memcpy(p + 17, origin, origin_len);
	put_be(p + 17 + origin_len, event_len, 4);
	memcpy(p + 21 + origin_len, event, event_len);
	b->len += va_record_size(origin_len, event_len);
	return 0;
}

int va_record_decode(const uint8_t *body, size_t len, size_t *off, va_record *r)
{
	size_t o = *off;
	if (o == len)
		return 0;
	if (len - o < 17)
		return VL_EFORMAT;
	r->index = get_be(body + o, 8);
	r->spooled_ns = (int64_t)get_be(body + o + 8, 8);
	r->origin_len = body[o + 16];
	o += 17;
	if (len - o < r->origin_len + 4)
		return VL_EFORMAT;
	r->origin = (const char *)body + o;
	o += r->origin_len;
	r->event_len = (size_t)get_be(body + o, 4);
	o += 4;
	if (r->event_len == 0 || r->event_len > VL_ENTRY_MAX || len - o < r->event_len)
		return VL_EFORMAT;
	r->event = body + o;
	*off = o + r->event_len;
	return 1;
}

/* ------------------------------------------------------------------ */
/* The answer.                                                         */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Where the value of "KEY" starts, at nesting depth 1 of the object. */
static const char *find_key(const char *body, size_t len, const char *key, int want_depth)
{
	const char *p = body, *end = body + len;
	size_t klen = strlen(key);
	int depth = 0;
	while (p < end) {
		char c = *p;
		if (c == '{' || c == '[') {
			depth++;
			p++;
		} else if (c == '}' || c == ']') {
			depth--;
			p++;
		} else if (c == '"') {
			const char *s = ++p;
			while (p < end && *p != '"')
				p += *p == '\\' ? 2 : 1;
			if (p >= end)
				return NULL;
			size_t slen = (size_t)(p - s);
			p++;
			const char *q = skip_ws(p, end);
			if (depth == want_depth && q < end && *q == ':' && slen == klen &&
			    memcmp(s, key, klen) == 0)
				return skip_ws(q + 1, end);
		} else {
			p++;
		}
	}
	return NULL;
}

static int64_t int_at(const char *p, const char *end, int *ok)
{
	int neg = 0;
	int64_t v = 0;
	*ok = 0;
	if (!p)
		return -2;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		if (v > (INT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (*p++ - '0');
		*ok = 1;
	}
	if (!*ok)
		return -2;
	return neg ? -v : v;
}

int va_reply_parse(const char *body, size_t len, va_reply *r)
{
	const char *end = body + len, *start = skip_ws(body, end);
	int ok;
	if (start >= end || *start != '{')
		return -1;
	r->records = int_at(find_key(body, len, "records", 1), end, &ok);
	r->written = int_at(find_key(body, len, "written", 1), end, &ok);
	r->duplicates = int_at(find_key(body, len, "duplicates", 1), end, &ok);
	r->through = int_at(find_key(body, len, "through", 1), end, &ok);
	return ok ? 0 : -1;
}

static void string_at(const char *p, const char *end, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return;
	if (p && p < end && *p == '"') {
		for (p++; p < end && *p != '"' && o + 1 < cap; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			out[o++] = (unsigned char)*p < 0x20 ? ' ' : *p;
		}
	}
	out[o] = '\0';
}

void va_reply_error(const char *body, size_t len, char *code, size_t code_cap, char *msg,
                    size_t msg_cap)
{
	string_at(find_key(body, len, "code", 2), body + len, code, code_cap);
	string_at(find_key(body, len, "message", 2), body + len, msg, msg_cap);
}


int va_json_int(const char *body, size_t len, const char *key, int64_t *v)
{
	int ok;
	int64_t x = int_at(find_key(body, len, key, 1), body + len, &ok);
	if (!ok)
		return -1;
	*v = x;
	return 0;
}

int va_json_str(const char *body, size_t len, const char *key, char *out, size_t cap)
{
	const char *p = find_key(body, len, key, 1);
	if (!p || p >= body + len || *p != '"') {
		if (cap)
			out[0] = '\0';
		return -1;
	}
	string_at(p, body + len, out, cap);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Backoff.                                                            */

void va_backoff_init(va_backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t seed)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
	b->attempt = 0;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t va_backoff_ceiling(const va_backoff *b)
{
	uint64_t c = b->base_ms;
	for (unsigned i = 0; i < b->attempt && c < b->cap_ms; i++)
		c *= 2;
	return c < b->cap_ms ? c : b->cap_ms;
}

static uint64_t next_random(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t va_backoff_next(va_backoff *b)
{
	uint64_t ceiling = va_backoff_ceiling(b);
	if (b->attempt < 64)
		b->attempt++;
	return next_random(&b->rng) % (ceiling + 1);
}

void va_backoff_reset(va_backoff *b)
{
	b->attempt = 0;
}

int va_status_retryable(long status)
{
	return status >= 500 || status == 408 || status == 429;
}
