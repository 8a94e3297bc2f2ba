/*
 * entry.c — the agent's spool entry format (entry.h): writing and strict
 * parsing of the vellum-spool/1 and vellum-dropped/1 headers, and the
 * RFC 3339 times with nine fractional digits they carry.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "entry.h"
#include "sha256.h"

int va_origin_ok(const char *origin, size_t len)
{
	if (len == 0 || len > VA_ORIGIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (origin[i] < 0x20 || origin[i] > 0x7e)
			return 0;
	return 1;
}

int va_cursor_ok(const char *cursor, size_t len)
{
	if (len == 0 || len > VA_CURSOR_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (cursor[i] < 0x21 || cursor[i] > 0x7e)
			return 0;
	return 1;
}

int va_format_time(int64_t ns, char *out)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -1;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, frac);
	if (n != VA_TIME_LEN)
		return -1;
	memcpy(out, buf, VA_TIME_LEN + 1);
	return 0;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int va_parse_time(const char *s, size_t len, int64_t *ns)
{
	/* YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
	if (len != VA_TIME_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return -1;
	}
	int y, mo, d, h, mi, sec, frac;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec) ||
	    digits(s + 20, 9, &frac))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
	                .tm_min = mi, .tm_sec = sec};
	time_t t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse what moved. */
	struct tm back;
	if (!gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	/* Nanoseconds since the epoch in an int64_t: 1970 to 2262. */
	if (t < 0 || t > (INT64_MAX - 999999999) / 1000000000)
		return -1;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

uint64_t va_head_hash(const uint8_t *p, size_t len)
{
	uint8_t h[VL_SHA256_SIZE];
	vl_sha256(p, len, h);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return v;
}

size_t va_entry_write_header(const va_entry *e, uint8_t *out, size_t cap)
{
	char t[VA_TIME_LEN + 1];
	size_t olen = strnlen(e->origin, sizeof e->origin);
	if (!va_origin_ok(e->origin, olen) || va_format_time(e->spooled_ns, t) < 0)
		return 0;
	if (e->kind != VA_ENTRY_EVENT && (e->kind != VA_ENTRY_DROPPED || e->dropped == 0))
		return 0;
	if (e->pos.has_cursor &&
	    !va_cursor_ok(e->pos.cursor, strnlen(e->pos.cursor, sizeof e->pos.cursor)))
		return 0;
	char buf[VA_HEADER_MAX];
	int n = snprintf(buf, sizeof buf, "%sspooled: %s\norigin: %s\nposition: %" PRIu64 "\n",
	                 e->kind == VA_ENTRY_EVENT ? VA_SPOOL_MAGIC : VA_DROPPED_MAGIC, t,
	                 e->origin, e->pos.offset);
	if (e->pos.has_cursor)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "cursor: %s\n", e->pos.cursor);
	if (e->pos.has_file)
		n += snprintf(buf + n, sizeof buf - (size_t)n,
		              "inode: %" PRIu64 "\nhead: %016" PRIx64 "\n", e->pos.inode, e->pos.head);
	if (e->kind == VA_ENTRY_DROPPED) {
		n += snprintf(buf + n, sizeof buf - (size_t)n,
		              "dropped: %" PRIu64 "\ndropped-bytes: %" PRIu64
		              "\nfirst-position: %" PRIu64 "\n",
		              e->dropped, e->dropped_bytes, e->first.offset);
		if (e->pos.has_file)
			n += snprintf(buf + n, sizeof buf - (size_t)n, "first-inode: %" PRIu64 "\n",
			              e->first.inode);
	}
	n += snprintf(buf + n, sizeof buf - (size_t)n, "\n");
	if ((size_t)n > cap)
		return 0;
	memcpy(out, buf, (size_t)n);
	return (size_t)n;
}

/* The parser walks the header line by line; each field must come next. */
struct cursor {
	const uint8_t *p, *end;
};

/* The value of the next line if it starts with NAME ": ". */
static int field(struct cursor *c, const char *name, const char **val, size_t *vlen)
{
	size_t n = strlen(name);
	const uint8_t *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl || (size_t)(nl - c->p) < n + 2 || memcmp(c->p, name, n) != 0 ||
	    c->p[n] != ':' || c->p[n + 1] != ' ')
		return -1;
	*val = (const char *)c->p + n + 2;
	*vlen = (size_t)(nl - c->p) - n - 2;
	c->p = nl + 1;
	return 0;
}

/* Strict decimal u64: digits only, no leading zeros, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int u64_field(struct cursor *c, const char *name, uint64_t *out)
{
	const char *v;
	size_t n;
	return field(c, name, &v, &n) == 0 && parse_u64(v, n, out) == 0 ? 0 : -1;
}

static int hex64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n != 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
		        : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
		                                     : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int peek(const struct cursor *c, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(c->end - c->p) >= n && memcmp(c->p, name, n) == 0;
}

int va_entry_parse(const uint8_t *data, size_t len, va_entry *e)
{
	struct cursor c = {data, data + len};
	const char *v;
	size_t n;
	memset(e, 0, sizeof *e);
	const size_t ls = strlen(VA_SPOOL_MAGIC), ld = strlen(VA_DROPPED_MAGIC);
	if (len >= ls && memcmp(data, VA_SPOOL_MAGIC, ls) == 0) {
		e->kind = VA_ENTRY_EVENT;
		c.p += ls;
	} else if (len >= ld && memcmp(data, VA_DROPPED_MAGIC, ld) == 0) {
		e->kind = VA_ENTRY_DROPPED;
		c.p += ld;
	} else {
		return VL_EFORMAT;
	}
	if (field(&c, "spooled", &v, &n) < 0 || va_parse_time(v, n, &e->spooled_ns) < 0)
		return VL_EFORMAT;
	if (field(&c, "origin", &v, &n) < 0 || !va_origin_ok(v, n))
		return VL_EFORMAT;
	memcpy(e->origin, v, n);
	e->origin[n] = '\0';
	if (u64_field(&c, "position", &e->pos.offset) < 0)
		return VL_EFORMAT;
	if (peek(&c, "cursor: ")) {
		if (field(&c, "cursor", &v, &n) < 0 || !va_cursor_ok(v, n))
			return VL_EFORMAT;
		e->pos.has_cursor = 1;
		memcpy(e->pos.cursor, v, n);
		e->pos.cursor[n] = '\0';
	}
	if (peek(&c, "inode: ")) {
		e->pos.has_file = 1;
		if (u64_field(&c, "inode", &e->pos.inode) < 0 || field(&c, "head", &v, &n) < 0 ||
		    hex64(v, n, &e->pos.head) < 0)
			return VL_EFORMAT;
	}
	if (e->kind == VA_ENTRY_DROPPED) {
		if (u64_field(&c, "dropped", &e->dropped) < 0 || e->dropped == 0 ||
		    u64_field(&c, "dropped-bytes", &e->dropped_bytes) < 0 ||
		    u64_field(&c, "first-position", &e->first.offset) < 0)
			return VL_EFORMAT;
		if (e->pos.has_file) {
			e->first.has_file = 1;
			if (u64_field(&c, "first-inode", &e->first.inode) < 0)
				return VL_EFORMAT;
		}
	}
	if (c.p >= c.end || *c.p != '\n')
		return VL_EFORMAT;
	c.p++;
	if (e->kind == VA_ENTRY_DROPPED) {
		if (c.p != c.end)
			return VL_EFORMAT;
	} else {
		if (c.p == c.end || (size_t)(c.end - c.p) > VA_EVENT_MAX)
			return VL_EFORMAT;
		e->event = c.p;
		e->event_len = (size_t)(c.end - c.p);
	}
	return 0;
}

int64_t va_clock_check(va_clock *c, int64_t now_ns)
{
	int64_t behind = c->newest_ns - now_ns;
	if (behind <= VA_CLOCK_SLACK_NS) {
		if (now_ns > c->newest_ns)
			c->newest_ns = now_ns;
		return 0;
	}
	c->backwards++;
	if (c->warned_ns != 0 && now_ns - c->warned_ns <= 60 * 1000000000LL &&
	    now_ns >= c->warned_ns)
		return 0;
	c->warned_ns = now_ns;
	return behind;
}
