/*
 * test_agent.c — the pure parts of `vellum agent` (src/agent): the spool
 * entry format (byte-exact, round trip, strict parsing), RFC 3339 times,
 * the forward body's records (byte-exact, decoding), the fields of the
 * server's answers, the backoff schedule's bounds, the classification of
 * HTTP statuses, and splitting input into line events.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_escape.h"
#include "entry.h"
#include "source.h"
#include "wire.h"

/* 2026-11-26T15:04:05.123456789Z */
#define T0 (1795705445LL * 1000000000LL + 123456789LL)

/* ------------------------------------------------------------------ */
/* Times.                                                              */

static void test_time_format(void **state)
{
	(void)state;
	char t[VA_TIME_LEN + 1];
	int64_t ns;
	assert_int_equal(va_format_time(T0, t), 0);
	assert_string_equal(t, "2026-11-26T15:04:05.123456789Z");
	assert_int_equal(va_parse_time(t, strlen(t), &ns), 0);
	assert_true(ns == T0);
	assert_int_equal(va_format_time(0, t), 0);
	assert_string_equal(t, "1970-01-01T00:00:00.000000000Z");
	assert_int_equal(va_format_time(999999999, t), 0);
	assert_string_equal(t, "1970-01-01T00:00:00.999999999Z");
}

static void test_time_parse_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"2026-11-26T15:04:05.12345678Z",   /* 8 digits */
		"2026-11-26T15:04:05.1234567890Z", /* 10 digits */
		"2026-11-26 15:04:05.123456789Z",  /* no T */
		"2026-11-26T15:04:05.123456789",   /* no Z */
		"2026-02-30T15:04:05.123456789Z",  /* no such day */
		"2026-13-01T15:04:05.123456789Z",
		"2026-11-26T24:04:05.123456789Z",
		"2026-11-26T15:60:05.123456789Z",
		"2026-11-26T15:04:05.12345678aZ",
		"+026-11-26T15:04:05.123456789Z",
		"",
	};
	int64_t ns;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (va_parse_time(bad[i], strlen(bad[i]), &ns) == 0)
			fail_msg("accepted %s", bad[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Spool entries.                                                      */

static void test_entry_event_exact(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = T0,
	              .pos = {.offset = 4711, .has_file = 1, .inode = 1234567,
	                      .head = 0x0123456789abcdefull}};
	snprintf(e.origin, sizeof e.origin, "file:/var/log/app.log");
	uint8_t buf[VA_HEADER_MAX + 16];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	const char *want = "vellum-spool/1\n"
	                   "spooled: 2026-11-26T15:04:05.123456789Z\n"
	                   "origin: file:/var/log/app.log\n"
	                   "position: 4711\n"
	                   "inode: 1234567\n"
	                   "head: 0123456789abcdef\n"
	                   "\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	memcpy(buf + n, "hello", 5);
	va_entry p;
	assert_int_equal(va_entry_parse(buf, n + 5, &p), 0);
	assert_int_equal(p.kind, VA_ENTRY_EVENT);
	assert_true(p.spooled_ns == T0);
	assert_string_equal(p.origin, "file:/var/log/app.log");
	assert_true(p.pos.offset == 4711 && p.pos.has_file && p.pos.inode == 1234567 &&
	            p.pos.head == 0x0123456789abcdefull);
	assert_int_equal(p.event_len, 5);
	assert_memory_equal(p.event, "hello", 5);
	/* Too small a buffer writes nothing. */
	assert_int_equal(va_entry_write_header(&e, buf, n - 1), 0);
}

static void test_entry_stdin_exact(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = T0, .pos = {.offset = 0}};
	snprintf(e.origin, sizeof e.origin, "stdin");
	uint8_t buf[VA_HEADER_MAX];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	const char *want = "vellum-spool/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	                   "origin: stdin\nposition: 0\n\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	buf[n] = '{';
	va_entry p;
	assert_int_equal(va_entry_parse(buf, n + 1, &p), 0);
	assert_false(p.pos.has_file);
	assert_int_equal(p.event_len, 1);
}

static void test_entry_dropped_exact(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_DROPPED, .spooled_ns = T0,
	              .pos = {.offset = 9000, .has_file = 1, .inode = 77, .head = 1},
	              .dropped = 12, .dropped_bytes = 345,
	              .first = {.offset = 100, .has_file = 1, .inode = 76}};
	snprintf(e.origin, sizeof e.origin, "file:/a b/c.log");
	uint8_t buf[VA_HEADER_MAX];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	const char *want = "vellum-dropped/1\n"
	                   "spooled: 2026-11-26T15:04:05.123456789Z\n"
	                   "origin: file:/a b/c.log\n"
	                   "position: 9000\n"
	                   "inode: 77\n"
	                   "head: 0000000000000001\n"
	                   "dropped: 12\n"
	                   "dropped-bytes: 345\n"
	                   "first-position: 100\n"
	                   "first-inode: 76\n"
	                   "\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	va_entry p;
	assert_int_equal(va_entry_parse(buf, n, &p), 0);
	assert_int_equal(p.kind, VA_ENTRY_DROPPED);
	assert_true(p.dropped == 12 && p.dropped_bytes == 345 && p.first.offset == 100 &&
	            p.first.inode == 76 && p.pos.offset == 9000 && p.pos.inode == 77);
	/* A dropped entry has no event bytes. */
	buf[n] = 'x';
	assert_int_equal(va_entry_parse(buf, n + 1, &p), VL_EFORMAT);
	/* Without a file: no inode lines. */
	e.pos.has_file = 0;
	e.first.has_file = 0;
	snprintf(e.origin, sizeof e.origin, "stdin");
	n = va_entry_write_header(&e, buf, sizeof buf);
	const char *want2 = "vellum-dropped/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	                    "origin: stdin\nposition: 9000\ndropped: 12\ndropped-bytes: 345\n"
	                    "first-position: 100\n\n";
	assert_int_equal(n, strlen(want2));
	assert_memory_equal(buf, want2, n);
	assert_int_equal(va_entry_parse(buf, n, &p), 0);
	/* Zero dropped events is no entry. */
	e.dropped = 0;
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
}

/* A journald position: the cursor line right after position, for event
 * and dropped entries alike. */
static void test_entry_cursor_exact(void **state)
{
	(void)state;
	static const char cur[] = "s=5e9dec342e37421c82b02963871951f9;i=2a;"
	                          "b=0123456789abcdef0123456789abcdef;m=3e8;t=60a24181e4000;x=1f";
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = T0,
	              .pos = {.offset = 42, .has_cursor = 1}};
	snprintf(e.origin, sizeof e.origin, "journald");
	snprintf(e.pos.cursor, sizeof e.pos.cursor, "%s", cur);
	uint8_t buf[VA_HEADER_MAX + 16];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	char want[512];
	snprintf(want, sizeof want, "vellum-spool/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	         "origin: journald\nposition: 42\ncursor: %s\n\n", cur);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	buf[n] = '{';
	va_entry p;
	assert_int_equal(va_entry_parse(buf, n + 1, &p), 0);
	assert_true(p.pos.has_cursor && !p.pos.has_file && p.pos.offset == 42);
	assert_string_equal(p.pos.cursor, cur);

	e.kind = VA_ENTRY_DROPPED;
	e.dropped = 2;
	e.dropped_bytes = 300;
	e.first.offset = 40;
	n = va_entry_write_header(&e, buf, sizeof buf);
	snprintf(want, sizeof want, "vellum-dropped/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	         "origin: journald\nposition: 42\ncursor: %s\ndropped: 2\n"
	         "dropped-bytes: 300\nfirst-position: 40\n\n", cur);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	assert_int_equal(va_entry_parse(buf, n, &p), 0);
	assert_true(p.kind == VA_ENTRY_DROPPED && p.pos.has_cursor && p.first.offset == 40);
	assert_string_equal(p.pos.cursor, cur);
	/* A space in the cursor: nothing written, and refused when read. */
	snprintf(e.pos.cursor, sizeof e.pos.cursor, "s=1; i=2");
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
	const char *bad = "vellum-spool/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	                  "origin: journald\nposition: 42\ncursor: s=1; i=2\n\nx";
	assert_int_equal(va_entry_parse((const uint8_t *)bad, strlen(bad), &p), VL_EFORMAT);
}

static void test_entry_longest_header_fits(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_DROPPED, .spooled_ns = T0,
	              .pos = {.offset = UINT64_MAX, .has_file = 1, .inode = UINT64_MAX,
	                      .head = UINT64_MAX},
	              .dropped = UINT64_MAX, .dropped_bytes = UINT64_MAX,
	              .first = {.offset = UINT64_MAX, .has_file = 1, .inode = UINT64_MAX}};
	memset(e.origin, 'o', VA_ORIGIN_MAX);
	e.origin[VA_ORIGIN_MAX] = '\0';
	uint8_t buf[VA_HEADER_MAX];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	assert_true(n > 0 && n < 600);
	e.kind = VA_ENTRY_EVENT;
	n = va_entry_write_header(&e, buf, sizeof buf);
	assert_true(n > 0 && n + VA_EVENT_MAX <= VL_ENTRY_MAX);
	/* An origin of 256 bytes or with a control character is refused. */
	memset(e.origin, 'o', sizeof e.origin);
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
	snprintf(e.origin, sizeof e.origin, "file:/a\tb");
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
}

static void test_entry_parse_rejects(void **state)
{
	(void)state;
#define SP "vellum-spool/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
#define DR "vellum-dropped/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	static const char *const bad[] = {
		"vellum-spool/2\nspooled: 2026-11-26T15:04:05.123456789Z\norigin: stdin\n"
		"position: 1\n\nx",
		"vellum-spool/1\norigin: stdin\nspooled: 2026-11-26T15:04:05.123456789Z\n"
		"position: 1\n\nx",
		SP "origin: stdin\nposition: 01\n\nx",
		SP "origin: stdin\nposition: -1\n\nx",
		SP "origin: stdin\nposition: 18446744073709551616\n\nx",
		SP "origin: stdin\nposition: 1\n\n",
		SP "origin: stdin\nposition: 1\nx",
		SP "origin: \nposition: 1\n\nx",
		SP "origin: stdin\nposition: 1\ninode: 5\n\nx",
		SP "origin: stdin\nposition: 1\ninode: 5\nhead: 0123456789ABCDEF\n\nx",
		SP "origin: stdin\nposition: 1\ninode: 5\nhead: 0123456789abcde\n\nx",
		SP "origin: stdin\nposition: 1\nextra: 1\n\nx",
		"vellum-spool/1\nspooled:2026-11-26T15:04:05.123456789Z\norigin: stdin\n"
		"position: 1\n\nx",
		DR "origin: stdin\nposition: 1\ndropped: 0\ndropped-bytes: 0\nfirst-position: 0\n\n",
		DR "origin: stdin\nposition: 1\ndropped: 1\nfirst-position: 0\n\n",
		DR "origin: f\nposition: 1\ninode: 1\nhead: 0000000000000000\ndropped: 1\n"
		"dropped-bytes: 0\nfirst-position: 0\n\n",
		"",
		"vellum-spool/1\n",
	};
#undef SP
#undef DR
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		va_entry e;
		if (va_entry_parse((const uint8_t *)bad[i], strlen(bad[i]), &e) != VL_EFORMAT)
			fail_msg("accepted #%zu: %s", i, bad[i]);
	}
	/* An event over VA_EVENT_MAX bytes is refused. */
	const char *h = "vellum-spool/1\nspooled: 2026-11-26T15:04:05.123456789Z\norigin: stdin\n"
	                "position: 1\n\n";
	size_t hl = strlen(h);
	uint8_t *big = malloc(hl + VA_EVENT_MAX + 1);
	assert_non_null(big);
	memcpy(big, h, hl);
	memset(big + hl, 'x', VA_EVENT_MAX + 1);
	va_entry e;
	assert_int_equal(va_entry_parse(big, hl + VA_EVENT_MAX + 1, &e), VL_EFORMAT);
	assert_int_equal(va_entry_parse(big, hl + VA_EVENT_MAX, &e), 0);
	free(big);
}

/* Every prefix of a valid entry either parses as an entry of its own or
 * is refused: no read beyond the end (ASan watches). */
static void test_entry_parse_prefixes(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_DROPPED, .spooled_ns = T0,
	              .pos = {.offset = 9, .has_file = 1, .inode = 7, .head = 3}, .dropped = 2,
	              .dropped_bytes = 10, .first = {.offset = 1, .has_file = 1, .inode = 7}};
	snprintf(e.origin, sizeof e.origin, "file:/x");
	uint8_t buf[VA_HEADER_MAX];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		va_entry p;
		assert_int_equal(va_entry_parse(copy, len, &p), VL_EFORMAT);
		free(copy);
	}
}

static void test_head_hash(void **state)
{
	(void)state;
	/* SHA-256("") = e3b0c44298fc1c14... */
	assert_true(va_head_hash((const uint8_t *)"", 0) == 0xe3b0c44298fc1c14ull);
	/* SHA-256("abc") = ba7816bf8f01cfea... */
	assert_true(va_head_hash((const uint8_t *)"abc", 3) == 0xba7816bf8f01cfeaull);
}

/* ------------------------------------------------------------------ */
/* Forward bodies.                                                     */

static void test_record_exact(void **state)
{
	(void)state;
	va_buf b = {0};
	assert_int_equal(va_record_encode(&b, 0x0102030405060708ull, T0, "stdin", 5,
	                                  (const uint8_t *)"ev", 2), 0);
	const uint8_t want[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,          /* index */
		0x18, 0xeb, 0xa0, 0x96, 0x99, 0xd1, 0x7f, 0x15,          /* spooled */
		5, 's', 't', 'd', 'i', 'n',                              /* origin */
		0x00, 0x00, 0x00, 0x02, 'e', 'v',                        /* event */
	};
	/* T0 = 0x18eba09699d17f15 */
	assert_true((uint64_t)T0 == 0x18eba09699d17f15ull);
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.data, want, sizeof want);
	assert_int_equal(va_record_size(5, 2), sizeof want);
	va_buf_free(&b);
}

static void test_record_roundtrip(void **state)
{
	(void)state;
	va_buf b = {0};
	uint8_t *big = malloc(VL_ENTRY_MAX);
	memset(big, 'z', VL_ENTRY_MAX);
	char origin[256];
	memset(origin, 'o', 255);
	assert_int_equal(va_record_encode(&b, 7, 0, "", 0, (const uint8_t *)"a", 1), 0);
	assert_int_equal(va_record_encode(&b, 8, -5, origin, 255, big, VL_ENTRY_MAX), 0);
	assert_int_equal(va_record_encode(&b, 1ull << 63, INT64_MAX, "file:/x", 7,
	                                  (const uint8_t *)"\n\0\xff", 3), 0);
	/* Out of range: nothing is added. */
	size_t len = b.len;
	assert_int_equal(va_record_encode(&b, 9, 0, origin, 256, big, 1), VL_EINVAL);
	assert_int_equal(va_record_encode(&b, 9, 0, "x", 1, big, 0), VL_EINVAL);
	assert_int_equal(va_record_encode(&b, 9, 0, "x", 1, big, VL_ENTRY_MAX + 1), VL_EINVAL);
	assert_int_equal(b.len, len);
	size_t off = 0;
	va_record r;
	assert_int_equal(va_record_decode(b.data, b.len, &off, &r), 1);
	assert_true(r.index == 7 && r.spooled_ns == 0 && r.origin_len == 0 && r.event_len == 1);
	assert_int_equal(va_record_decode(b.data, b.len, &off, &r), 1);
	assert_true(r.index == 8 && r.spooled_ns == -5 && r.origin_len == 255 &&
	            r.event_len == VL_ENTRY_MAX);
	assert_memory_equal(r.event, big, VL_ENTRY_MAX);
	assert_int_equal(va_record_decode(b.data, b.len, &off, &r), 1);
	assert_true(r.index == 1ull << 63 && r.spooled_ns == INT64_MAX && r.event_len == 3);
	assert_memory_equal(r.origin, "file:/x", 7);
	assert_memory_equal(r.event, "\n\0\xff", 3);
	assert_int_equal(va_record_decode(b.data, b.len, &off, &r), 0);
	assert_int_equal(off, b.len);
	/* Every truncation of the last record (31 bytes) is malformed. */
	for (size_t cut = 1; cut < 31; cut++) {
		size_t o = 0;
		int rc;
		while ((rc = va_record_decode(b.data, b.len - cut, &o, &r)) == 1)
			;
		assert_int_equal(rc, VL_EFORMAT);
	}
	va_buf_free(&b);
	free(big);
}

/* ------------------------------------------------------------------ */
/* Answers.                                                            */

static void test_reply_parse(void **state)
{
	(void)state;
	va_reply r;
	const char *a = "{\"log\":\"default\",\"agent\":\"h-1\",\"records\":10,\"written\":5,"
	                "\"duplicates\":5,\"through\":14}";
	assert_int_equal(va_reply_parse(a, strlen(a), &r), 0);
	assert_true(r.records == 10 && r.written == 5 && r.duplicates == 5 && r.through == 14);
	const char *b = " { \"through\" : -1 , \"log\" : \"x\\\"through\\\":9\" }\n";
	assert_int_equal(va_reply_parse(b, strlen(b), &r), 0);
	assert_true(r.through == -1 && r.records == -2);
	/* A nested "through" is not the answer's. */
	const char *c = "{\"x\":{\"through\":5}}";
	assert_int_equal(va_reply_parse(c, strlen(c), &r), -1);
	const char *d = "[{\"through\":5}]";
	assert_int_equal(va_reply_parse(d, strlen(d), &r), -1);
	assert_int_equal(va_reply_parse("", 0, &r), -1);
	const char *e = "{\"through\":}";
	assert_int_equal(va_reply_parse(e, strlen(e), &r), -1);
}

static void test_reply_error(void **state)
{
	(void)state;
	char code[16], msg[64];
	const char *a = "{\"error\":{\"status\":400,\"code\":\"malformed_forward\","
	                "\"message\":\"record 2 at byte 40: \\\"bad\\\"\\n\"}}";
	va_reply_error(a, strlen(a), code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "malformed_forwa"); /* truncated to its buffer */
	assert_string_equal(msg, "record 2 at byte 40: \"bad\"n");
	va_reply_error("nonsense", 8, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
}

static void test_json_helpers(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(vs_json_escape("a\"b\\c\n\x01", 7, out, sizeof out), 15);
	assert_string_equal(out, "a\\\"b\\\\c\\n\\u0001");
	const char *s = "{\"n\":42,\"s\":\"x y\",\"o\":{\"n\":1}}";
	int64_t v;
	assert_int_equal(va_json_int(s, strlen(s), "n", &v), 0);
	assert_true(v == 42);
	assert_int_equal(va_json_str(s, strlen(s), "s", out, sizeof out), 0);
	assert_string_equal(out, "x y");
	assert_int_equal(va_json_str(s, strlen(s), "n", out, sizeof out), -1);
	assert_int_equal(va_json_int(s, strlen(s), "missing", &v), -1);
}

/* ------------------------------------------------------------------ */
/* Backoff.                                                            */

static void test_backoff_bounds(void **state)
{
	(void)state;
	va_backoff b;
	va_backoff_init(&b, 100, 30000, 12345);
	static const uint64_t ceilings[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600,
	                                    30000, 30000, 30000};
	for (size_t i = 0; i < sizeof ceilings / sizeof ceilings[0]; i++) {
		assert_true(va_backoff_ceiling(&b) == ceilings[i]);
		uint64_t d = va_backoff_next(&b);
		assert_true(d <= ceilings[i]);
	}
	/* However many failures: never above the cap, never overflowing. */
	for (int i = 0; i < 10000; i++)
		assert_true(va_backoff_next(&b) <= 30000);
	assert_true(va_backoff_ceiling(&b) == 30000);
	va_backoff_reset(&b);
	assert_true(va_backoff_ceiling(&b) == 100);
	/* Full jitter: values spread over [0, ceiling], not pinned to it. */
	uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
	for (int i = 0; i < 4000; i++) {
		va_backoff_reset(&b);
		for (int k = 0; k < 3; k++)
			va_backoff_next(&b);
		uint64_t d = va_backoff_next(&b); /* ceiling 800 */
		assert_true(d <= 800);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	assert_true(lo < 40 && hi > 760);
	assert_true(sum / 4000 > 350 && sum / 4000 < 450);
	/* A cap below the base is the base. */
	va_backoff_init(&b, 100, 10, 1);
	assert_true(va_backoff_ceiling(&b) == 100);
	for (int i = 0; i < 100; i++)
		assert_true(va_backoff_next(&b) <= 100);
}

static void test_status_classes(void **state)
{
	(void)state;
	static const long retry[] = {500, 502, 503, 504, 599, 408, 429};
	static const long hold[] = {400, 401, 403, 404, 409, 413, 415, 422, 301, 100};
	for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
		assert_true(va_status_retryable(retry[i]));
	for (size_t i = 0; i < sizeof hold / sizeof hold[0]; i++)
		assert_false(va_status_retryable(hold[i]));
}

/* ------------------------------------------------------------------ */
/* Lines.                                                              */

static void test_lines_basic(void **state)
{
	(void)state;
	va_batch b;
	va_batch_init(&b, 100, 1 << 20);
	va_position tmpl = {0};
	int rc;
	const char *in = "one\n\n\ntwo\r\nthree";
	size_t took = va_lines_take((const uint8_t *)in, strlen(in), 1000, 0, &tmpl, NULL, NULL, &b,
	                            &rc);
	assert_int_equal(rc, 0);
	/* "three" waits for its newline. */
	assert_int_equal(took, strlen("one\n\n\ntwo\r\n"));
	assert_int_equal(b.n, 2);
	assert_int_equal(b.ev[0].len, 3);
	assert_memory_equal(b.data + b.ev[0].off, "one", 3);
	assert_true(b.ev[0].pos.offset == 1004);
	/* The carriage return is the event's: only the newline is stripped. */
	assert_int_equal(b.ev[1].len, 4);
	assert_memory_equal(b.data + b.ev[1].off, "two\r", 4);
	assert_true(b.ev[1].pos.offset == 1000 + took);
	/* At the end of the input it is an event. */
	took = va_lines_take((const uint8_t *)"three", 5, 2000, 1, &tmpl, NULL, NULL, &b, &rc);
	assert_int_equal(took, 5);
	assert_int_equal(b.n, 3);
	assert_true(b.ev[2].pos.offset == 2005);
	/* Only empty lines: consumed, no events. */
	va_batch_clear(&b);
	took = va_lines_take((const uint8_t *)"\n\n\n", 3, 0, 0, &tmpl, NULL, NULL, &b, &rc);
	assert_int_equal(took, 3);
	assert_int_equal(b.n, 0);
	va_batch_free(&b);
}

static void test_lines_long(void **state)
{
	(void)state;
	va_batch b;
	va_batch_init(&b, 100, 1 << 22);
	va_position tmpl = {0};
	int rc;
	/* A line of exactly VA_EVENT_MAX bytes is one event; one of
	 * 2 * VA_EVENT_MAX + 10 bytes is three pieces. */
	size_t n = VA_EVENT_MAX + 1 + 2 * VA_EVENT_MAX + 10 + 1;
	uint8_t *in = malloc(n);
	memset(in, 'a', VA_EVENT_MAX);
	in[VA_EVENT_MAX] = '\n';
	memset(in + VA_EVENT_MAX + 1, 'b', 2 * VA_EVENT_MAX + 10);
	in[n - 1] = '\n';
	size_t took = va_lines_take(in, n, 0, 0, &tmpl, NULL, NULL, &b, &rc);
	assert_int_equal(took, n);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.ev[0].len, VA_EVENT_MAX);
	assert_true(b.ev[0].pos.offset == VA_EVENT_MAX + 1);
	assert_int_equal(b.ev[1].len, VA_EVENT_MAX);
	assert_true(b.ev[1].pos.offset == 2 * VA_EVENT_MAX + 1);
	assert_int_equal(b.ev[2].len, VA_EVENT_MAX);
	assert_int_equal(b.ev[3].len, 10);
	assert_true(b.ev[3].pos.offset == n);
	for (size_t i = 1; i < 4; i++)
		assert_int_equal(b.data[b.ev[i].off], 'b');
	/* Without the final newline, a long piece is still taken; the rest
	 * (shorter than a piece) waits. */
	va_batch_clear(&b);
	took = va_lines_take(in + VA_EVENT_MAX + 1, VA_EVENT_MAX + 5, 0, 0, &tmpl, NULL, NULL, &b,
	                     &rc);
	assert_int_equal(took, VA_EVENT_MAX);
	assert_int_equal(b.n, 1);
	free(in);
	va_batch_free(&b);
}

static void test_lines_batch_limits(void **state)
{
	(void)state;
	va_batch b;
	va_batch_init(&b, 2, 1 << 20);
	va_position tmpl = {0};
	int rc;
	const char *in = "a\nb\nc\nd\n";
	size_t took = va_lines_take((const uint8_t *)in, 8, 0, 0, &tmpl, NULL, NULL, &b, &rc);
	assert_int_equal(took, 4);
	assert_int_equal(b.n, 2);
	assert_true(va_batch_full(&b));
	va_batch_free(&b);
	va_batch_init(&b, 100, 3);
	took = va_lines_take((const uint8_t *)in, 8, 0, 0, &tmpl, NULL, NULL, &b, &rc);
	assert_int_equal(took, 6); /* stops once 3 bytes are in */
	assert_int_equal(b.n, 3);
	va_batch_free(&b);
}

static void test_source_origin(void **state)
{
	(void)state;
	char o[VA_ORIGIN_MAX + 1], err[256];
	assert_int_equal(va_source_origin("stdin", o, sizeof o, err, sizeof err), 0);
	assert_string_equal(o, "stdin");
	assert_int_equal(va_source_origin("file:/var/log/a.log", o, sizeof o, err, sizeof err), 0);
	assert_string_equal(o, "file:/var/log/a.log");
	assert_int_equal(va_source_origin("file:rel.log", o, sizeof o, err, sizeof err), 0);
	assert_true(strncmp(o, "file:/", 6) == 0);
	assert_non_null(strstr(o, "/rel.log"));
	assert_int_equal(va_source_origin("file:", o, sizeof o, err, sizeof err), -1);
	assert_int_equal(va_source_origin("nosuch:1.2.3.4:514", o, sizeof o, err, sizeof err), -1);
	assert_int_equal(va_source_origin("syslog:1.2.3.4:514", o, sizeof o, err, sizeof err), 0);
	assert_string_equal(o, "syslog:1.2.3.4:514");
	assert_int_equal(va_source_origin("file:/a\nb", o, sizeof o, err, sizeof err), -1);
	char longp[400] = "file:/";
	memset(longp + 6, 'x', 300);
	assert_int_equal(va_source_origin(longp, o, sizeof o, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_parse_rejects),
		cmocka_unit_test(test_entry_event_exact),
		cmocka_unit_test(test_entry_stdin_exact),
		cmocka_unit_test(test_entry_dropped_exact),
		cmocka_unit_test(test_entry_cursor_exact),
		cmocka_unit_test(test_entry_longest_header_fits),
		cmocka_unit_test(test_entry_parse_rejects),
		cmocka_unit_test(test_entry_parse_prefixes),
		cmocka_unit_test(test_head_hash),
		cmocka_unit_test(test_record_exact),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_json_helpers),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_status_classes),
		cmocka_unit_test(test_lines_basic),
		cmocka_unit_test(test_lines_long),
		cmocka_unit_test(test_lines_batch_limits),
		cmocka_unit_test(test_source_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
