/*
 * ingest_parse.c — strict JSON validation of ingest request bodies and
 * their split into per-event byte spans (see ingest_parse.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The validator is one iterative loop over the body with an explicit
 * stack of VS_MAX_DEPTH frames (a bit mask says which are objects), so
 * hostile nesting costs no C stack.  Strings are scanned eight bytes at a
 * time until a quote, backslash, control or non-ASCII byte; UTF-8 is
 * checked only there, since JSON allows it nowhere else.
 *
 * Duplicate keys: every key of every open object is pushed on one key
 * stack as (pointer, raw length, has-escapes).  When an object closes,
 * its keys are the top of the stack; up to PAIRWISE_MAX of them are
 * compared pairwise, more are heap-sorted and compared with their
 * neighbours, so an object with k keys costs O(k log k) comparisons
 * whatever its keys are (no hash to flood).  Keys are compared after
 * unescaping, so "a" and "\u0061" are the same key.  Then the keys are
 * popped.  The stack starts in a buffer inside the parse context and
 * moves to the heap only when more keys are open at once.
 *
 * Member lookup (vs_json_object_string and the CloudEvents and Kubernetes
 * field checks) walks the top level of an already validated object,
 * skipping values without validating them again; it is bounds-checked so
 * that arbitrary input cannot make it read outside the object.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest_parse.h"

#define INLINE_KEYS 64  /* keys held in the parse context before the heap */
#define PAIRWISE_MAX 12 /* objects with more keys are sorted to find duplicates */
#define KEY_ESC ((size_t)1 << (sizeof(size_t) * 8 - 1)) /* in key.len: has escapes */
#define NONE ((size_t)-1)
#define MSG_KEY_MAX 40 /* bytes of a key quoted in a message */

/* One object key: the bytes between its quotes. */
struct key {
	const uint8_t *p;
	size_t len; /* raw length, | KEY_ESC if it contains a backslash */
};

/* Which top-level members each event must have. */
enum fields { FIELDS_NONE, FIELDS_CLOUDEVENT, FIELDS_K8S_ITEM };

struct ctx {
	const uint8_t *b;
	size_t len;
	vs_parse_error *err;
	long event; /* index of the event being parsed, or -1 */
	long line;  /* 1-based NDJSON line, or 0 */
	vs_span *spans;
	size_t max_events, n;
	struct key *keys;
	size_t nkeys, cap_keys;
	struct key inline_keys[INLINE_KEYS];
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static int fail(struct ctx *c, const char *code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fill c->err (if any) and return -1. */
static int fail(struct ctx *c, const char *code, size_t off, const char *fmt, ...)
{
	vs_parse_error *e = c->err;
	if (e == NULL)
		return -1;
	char what[116]; /* so that the whole message always fits */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	e->code = code;
	e->offset = off;
	e->event = c->event;
	if (c->event >= 0 && c->line > 0)
		snprintf(e->message, sizeof e->message, "event %ld (line %ld): %s at byte %zu",
		         c->event, c->line, what, off);
	else if (c->event >= 0)
		snprintf(e->message, sizeof e->message, "event %ld: %s at byte %zu", c->event, what,
		         off);
	else if (c->line > 0)
		snprintf(e->message, sizeof e->message, "line %ld: %s at byte %zu", c->line, what,
		         off);
	else
		snprintf(e->message, sizeof e->message, "%s at byte %zu", what, off);
	return -1;
}

/* What is at b[p], for "expected X but ..." messages. */
static const char *found(const struct ctx *c, size_t p, size_t end, char *buf, size_t cap)
{
	if (p >= end)
		return end >= c->len ? "the body ends" : "the line ends";
	uint8_t ch = c->b[p];
	if (ch > 0x20 && ch < 0x7f)
		snprintf(buf, cap, "found '%c'", ch);
	else
		snprintf(buf, cap, "found byte 0x%02x", ch);
	return buf;
}

static int fail_expected(struct ctx *c, size_t p, size_t end, const char *what)
{
	char fb[32];
	return fail(c, "malformed_json", p, "expected %s but %s", what,
	            found(c, p, end, fb, sizeof fb));
}

/* How many bytes of a key to quote: at most MSG_KEY_MAX, whole characters. */
static int key_quote_len(const uint8_t *p, size_t len)
{
	if (len <= MSG_KEY_MAX)
		return (int)len;
	len = MSG_KEY_MAX;
	while (len > 0 && (p[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}

/* ------------------------------------------------------------------ */
/* Bytes, UTF-8 and escapes                                            */

static inline bool is_ws(uint8_t ch)
{
	return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t';
}

static inline size_t skip_ws(const uint8_t *b, size_t p, size_t end)
{
	while (p < end && is_ws(b[p]))
		p++;
	return p;
}

/* Can ch start a JSON value? */
static bool is_value_start(uint8_t ch)
{
	return ch == '{' || ch == '[' || ch == '"' || ch == '-' || (ch >= '0' && ch <= '9') ||
	       ch == 't' || ch == 'f' || ch == 'n';
}

/* A byte that ends a run of plain string bytes: '"', '\\', control, non-ASCII. */
static inline bool str_special(uint8_t ch)
{
	return (uint8_t)(ch - 0x20) >= 0x60 || ch == '"' || ch == '\\';
}

/* Does any of the eight bytes in v satisfy str_special?  (Exact: the
 * "has zero byte" and "has byte less than n" tests never miss and never
 * report a byte that is not there, though they do not say which.) */
static inline bool str_special8(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t q = v ^ (ones * '"'), s = v ^ (ones * '\\');
	uint64_t t = ((q - ones) & ~q) | ((s - ones) & ~s) | ((v - ones * 0x20) & ~v) | v;
	return (t & high) != 0;
}

/* Length of the well-formed UTF-8 sequence at s[0 .. n), n >= 1 and
 * s[0] >= 0x80, or 0: overlong forms, UTF-16 surrogates and values above
 * U+10FFFF are ill-formed. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	uint8_t c0 = s[0];
	if (c0 < 0xc2)
		return 0;
	if (c0 < 0xe0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c0 < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c0 == 0xe0 && s[1] < 0xa0) || (c0 == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c0 < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c0 == 0xf0 && s[1] < 0x90) || (c0 == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

static int hex_digit(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The four hex digits at s[0 .. 4), or -1 if avail < 4 or one is not hex. */
static long hex4(const uint8_t *s, size_t avail)
{
	if (avail < 4)
		return -1;
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static bool is_high_surrogate(long u)
{
	return u >= 0xd800 && u <= 0xdbff;
}

static bool is_low_surrogate(long u)
{
	return u >= 0xdc00 && u <= 0xdfff;
}

/* UTF-8 for scalar value cp into out; returns its length. */
static unsigned utf8_encode(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Unescaping, one byte at a time, of the raw bytes between a string's
 * quotes.  unesc_next returns the next byte of the unescaped string, -1
 * at its end, or -2 on a malformed escape.  It never reads past end.
 */
struct unesc {
	const uint8_t *p, *end;
	uint8_t buf[4];
	unsigned bi, bn;
};

static void unesc_init(struct unesc *u, const uint8_t *p, size_t len)
{
	u->p = p;
	u->end = p + len;
	u->bi = u->bn = 0;
}

static int unesc_next(struct unesc *u)
{
	if (u->bi < u->bn)
		return u->buf[u->bi++];
	if (u->p >= u->end)
		return -1;
	uint8_t ch = *u->p++;
	if (ch != '\\')
		return ch;
	if (u->p >= u->end)
		return -2;
	ch = *u->p++;
	switch (ch) {
	case '"':
	case '\\':
	case '/':
		return ch;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u':
		break;
	default:
		return -2;
	}
	long cp = hex4(u->p, (size_t)(u->end - u->p));
	if (cp < 0 || is_low_surrogate(cp))
		return -2;
	u->p += 4;
	if (is_high_surrogate(cp)) {
		if (u->end - u->p < 6 || u->p[0] != '\\' || u->p[1] != 'u')
			return -2;
		long lo = hex4(u->p + 2, 4);
		if (!is_low_surrogate(lo))
			return -2;
		u->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	u->bn = utf8_encode((uint32_t)cp, u->buf);
	u->bi = 1;
	return u->buf[0];
}

/* Is the raw string content p[0 .. len), unescaped, equal to s? */
static bool unesc_equal(const uint8_t *p, size_t len, const char *s)
{
	size_t sl = strlen(s);
	if (len == sl && memcmp(p, s, sl) == 0)
		return true;
	if (memchr(p, '\\', len) == NULL)
		return false;
	struct unesc u;
	unesc_init(&u, p, len);
	for (size_t i = 0;; i++) {
		int ch = unesc_next(&u);
		if (ch < 0)
			return ch == -1 && i == sl;
		if (i >= sl || (uint8_t)s[i] != ch)
			return false;
	}
}

/* ------------------------------------------------------------------ */
/* Keys and duplicate detection                                        */

static int push_key(struct ctx *c, size_t start, size_t stop, bool esc)
{
	if (c->nkeys == c->cap_keys) {
		size_t cap = c->cap_keys * 2;
		struct key *k;
		if (cap > (size_t)-1 / sizeof *k / 2)
			return fail(c, "out_of_memory", start, "too many keys");
		if (c->keys == c->inline_keys) {
			k = malloc(cap * sizeof *k);
			if (k != NULL)
				memcpy(k, c->keys, c->nkeys * sizeof *k);
		} else {
			k = realloc(c->keys, cap * sizeof *k);
		}
		if (k == NULL)
			return fail(c, "out_of_memory", start, "out of memory for %zu keys", cap);
		c->keys = k;
		c->cap_keys = cap;
	}
	c->keys[c->nkeys].p = c->b + start;
	c->keys[c->nkeys].len = (stop - start) | (esc ? KEY_ESC : 0);
	c->nkeys++;
	return 0;
}

/* Order of the unescaped keys (bytewise); 0 if they are the same key. */
static int key_cmp(const struct key *a, const struct key *b)
{
	if (((a->len | b->len) & KEY_ESC) == 0) {
		size_t n = a->len < b->len ? a->len : b->len;
		int r = memcmp(a->p, b->p, n);
		if (r != 0)
			return r;
		return a->len < b->len ? -1 : a->len > b->len;
	}
	struct unesc ua, ub;
	unesc_init(&ua, a->p, a->len & ~KEY_ESC);
	unesc_init(&ub, b->p, b->len & ~KEY_ESC);
	for (;;) {
		int x = unesc_next(&ua), y = unesc_next(&ub);
		if (x != y || x < 0)
			return x - y;
	}
}

static bool key_eq(const struct key *a, const struct key *b)
{
	if (((a->len | b->len) & KEY_ESC) == 0)
		return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
	return key_cmp(a, b) == 0;
}

static void sift_down(struct key *a, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && key_cmp(&a[child], &a[child + 1]) < 0)
			child++;
		if (key_cmp(&a[root], &a[child]) >= 0)
			return;
		struct key t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

/* Heap sort: O(n log n) comparisons on any input, no memory. */
static void sort_keys(struct key *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		struct key t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/* Index in a[0 .. n) of the first key, in body order, that repeats an
 * earlier one, or NONE.  May reorder a. */
static size_t find_duplicate(struct key *a, size_t n)
{
	if (n <= PAIRWISE_MAX) {
		for (size_t j = 1; j < n; j++)
			for (size_t i = 0; i < j; i++)
				if (key_eq(&a[i], &a[j]))
					return j;
		return NONE;
	}
	sort_keys(a, n);
	size_t dup = NONE;
	for (size_t i = 0; i < n;) {
		/* In a run of equal keys, the second in body order repeats
		 * the first. */
		size_t first = i, second = NONE, j = i + 1;
		for (; j < n && key_cmp(&a[i], &a[j]) == 0; j++) {
			if (a[j].p < a[first].p) {
				second = first;
				first = j;
			} else if (second == NONE || a[j].p < a[second].p) {
				second = j;
			}
		}
		if (second != NONE && (dup == NONE || a[second].p < a[dup].p))
			dup = second;
		i = j;
	}
	return dup;
}

/* The object whose keys are c->keys[base ..] has closed: check and pop them. */
static int close_object(struct ctx *c, size_t base)
{
	size_t d = find_duplicate(c->keys + base, c->nkeys - base);
	if (d != NONE) {
		const struct key *k = &c->keys[base + d];
		size_t len = k->len & ~KEY_ESC;
		int q = key_quote_len(k->p, len);
		return fail(c, "duplicate_key", (size_t)(k->p - c->b) - 1,
		            "duplicate key \"%.*s%s\"", q, (const char *)k->p,
		            (size_t)q < len ? "..." : "");
	}
	c->nkeys = base;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The validator                                                       */

/* A backslash at *pos: check the escape and step over it. */
static int scan_escape(struct ctx *c, size_t *pos, size_t end)
{
	const uint8_t *b = c->b;
	size_t p = *pos;
	if (p + 1 >= end)
		return fail(c, "malformed_json", p, "unterminated escape sequence");
	switch (b[p + 1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		*pos = p + 2;
		return 0;
	case 'u':
		break;
	default: {
		char fb[32];
		return fail(c, "malformed_json", p, "invalid escape sequence: '\\' %s",
		            found(c, p + 1, end, fb, sizeof fb));
	}
	}
	long u = hex4(b + p + 2, end - p - 2);
	if (u < 0)
		return fail(c, "malformed_json", p, "\\u must be followed by four hex digits");
	if (is_low_surrogate(u))
		return fail(c, "bad_utf8", p, "unpaired surrogate escape \\u%04lx", u);
	if (!is_high_surrogate(u)) {
		*pos = p + 6;
		return 0;
	}
	p += 6;
	if (end - p < 2 || b[p] != '\\' || b[p + 1] != 'u')
		return fail(c, "bad_utf8", p - 6, "unpaired surrogate escape \\u%04lx", u);
	long lo = hex4(b + p + 2, end - p - 2);
	if (lo < 0)
		return fail(c, "malformed_json", p, "\\u must be followed by four hex digits");
	if (!is_low_surrogate(lo))
		return fail(c, "bad_utf8", p - 6, "unpaired surrogate escape \\u%04lx", u);
	*pos = p + 6;
	return 0;
}

/* The string whose opening quote is at *pos; *pos ends after its closing
 * quote, and *esc is set if it has escapes. */
static int scan_string(struct ctx *c, size_t *pos, size_t end, bool *esc)
{
	const uint8_t *b = c->b;
	size_t start = *pos, p = start + 1;
	for (;;) {
		while (end - p >= 8) {
			uint64_t v;
			memcpy(&v, b + p, 8);
			if (str_special8(v))
				break;
			p += 8;
		}
		while (p < end && !str_special(b[p]))
			p++;
		if (p >= end)
			return fail(c, "malformed_json", p,
			            "unterminated string (opened at byte %zu)", start);
		uint8_t ch = b[p];
		if (ch == '"') {
			*pos = p + 1;
			return 0;
		}
		if (ch == '\\') {
			if (scan_escape(c, &p, end) != 0)
				return -1;
			*esc = true;
		} else if (ch < 0x20) {
			return fail(c, "malformed_json", p,
			            "control character 0x%02x in a string (escape it)", ch);
		} else {
			size_t n = utf8_len(b + p, end - p);
			if (n == 0)
				return fail(c, "bad_utf8", p, "invalid UTF-8 in a string");
			p += n;
		}
	}
}

static inline bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

/* The number at *pos (RFC 8259 §6); *pos ends after it. */
static int scan_number(struct ctx *c, size_t *pos, size_t end)
{
	const uint8_t *b = c->b;
	size_t p = *pos;
	if (b[p] == '-')
		p++;
	if (p >= end || !is_digit(b[p]))
		return fail_expected(c, p, end, "a digit");
	if (b[p] == '0') {
		p++;
		if (p < end && is_digit(b[p]))
			return fail(c, "malformed_json", p - 1, "number with a leading zero");
	} else {
		while (p < end && is_digit(b[p]))
			p++;
	}
	if (p < end && b[p] == '.') {
		p++;
		if (p >= end || !is_digit(b[p]))
			return fail_expected(c, p, end, "a digit after '.'");
		while (p < end && is_digit(b[p]))
			p++;
	}
	if (p < end && (b[p] == 'e' || b[p] == 'E')) {
		p++;
		if (p < end && (b[p] == '+' || b[p] == '-'))
			p++;
		if (p >= end || !is_digit(b[p]))
			return fail_expected(c, p, end, "a digit in the exponent");
		while (p < end && is_digit(b[p]))
			p++;
	}
	*pos = p;
	return 0;
}

static int scan_literal(struct ctx *c, size_t *pos, size_t end, const char *lit, size_t n)
{
	if (end - *pos < n || memcmp(c->b + *pos, lit, n) != 0)
		return fail(c, "malformed_json", *pos, "invalid literal (expected %s)", lit);
	*pos += n;
	return 0;
}

/*
 * The JSON value at *pos (whitespace already skipped), ending before end;
 * *pos ends just after it.  depth0 levels of nesting are already open
 * around it.  Iterative: frames[i] is the key-stack base of open object i,
 * bit i of objs says whether frame i is an object or an array.
 */
static int scan_value(struct ctx *c, size_t *pos, size_t end, int depth0)
{
	const uint8_t *b = c->b;
	size_t p = *pos;
	size_t frames[VS_MAX_DEPTH];
	uint64_t objs = 0;
	int sp = 0;
	bool esc;

value:
	if (p >= end)
		return fail_expected(c, p, end, "a value");
	switch (b[p]) {
	case '{':
		if (depth0 + sp >= VS_MAX_DEPTH)
			return fail(c, "too_deep", p, "nested deeper than %d levels", VS_MAX_DEPTH);
		frames[sp] = c->nkeys;
		objs |= (uint64_t)1 << sp;
		sp++;
		p = skip_ws(b, p + 1, end);
		if (p < end && b[p] == '}') {
			p++;
			sp--;
			goto after;
		}
		goto key;
	case '[':
		if (depth0 + sp >= VS_MAX_DEPTH)
			return fail(c, "too_deep", p, "nested deeper than %d levels", VS_MAX_DEPTH);
		objs &= ~((uint64_t)1 << sp);
		sp++;
		p = skip_ws(b, p + 1, end);
		if (p < end && b[p] == ']') {
			p++;
			sp--;
			goto after;
		}
		goto value;
	case '"':
		esc = false;
		if (scan_string(c, &p, end, &esc) != 0)
			return -1;
		goto after;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		if (scan_number(c, &p, end) != 0)
			return -1;
		goto after;
	case 't':
		if (scan_literal(c, &p, end, "true", 4) != 0)
			return -1;
		goto after;
	case 'f':
		if (scan_literal(c, &p, end, "false", 5) != 0)
			return -1;
		goto after;
	case 'n':
		if (scan_literal(c, &p, end, "null", 4) != 0)
			return -1;
		goto after;
	default:
		return fail_expected(c, p, end, "a value");
	}

key:
	if (p >= end || b[p] != '"')
		return fail_expected(c, p, end, "a string key");
	{
		size_t ks = p;
		esc = false;
		if (scan_string(c, &p, end, &esc) != 0 || push_key(c, ks + 1, p - 1, esc) != 0)
			return -1;
	}
	p = skip_ws(b, p, end);
	if (p >= end || b[p] != ':')
		return fail_expected(c, p, end, "':' after a key");
	p = skip_ws(b, p + 1, end);
	goto value;

after:
	if (sp == 0) {
		*pos = p;
		return 0;
	}
	p = skip_ws(b, p, end);
	if (objs >> (sp - 1) & 1) {
		if (p < end && b[p] == ',') {
			p = skip_ws(b, p + 1, end);
			goto key;
		}
		if (p < end && b[p] == '}') {
			if (close_object(c, frames[sp - 1]) != 0)
				return -1;
			p++;
			sp--;
			goto after;
		}
		return fail_expected(c, p, end, "',' or '}'");
	}
	if (p < end && b[p] == ',') {
		p = skip_ws(b, p + 1, end);
		goto value;
	}
	if (p < end && b[p] == ']') {
		p++;
		sp--;
		goto after;
	}
	return fail_expected(c, p, end, "',' or ']'");
}

/* ------------------------------------------------------------------ */
/* Member lookup in validated objects                                  */

/* After the string whose opening quote is at p, or NONE. */
static size_t skip_string(const uint8_t *s, size_t p, size_t end)
{
	size_t from = p + 1;
	while (from < end) {
		const uint8_t *q = memchr(s + from, '"', end - from);
		if (q == NULL)
			return NONE;
		size_t at = (size_t)(q - s), bs = 0;
		while (at - bs > from && s[at - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			return at + 1;
		from = at + 1;
	}
	return NONE;
}

/* After the value at p, or NONE.  Brackets are counted, not matched. */
static size_t skip_value(const uint8_t *s, size_t p, size_t end)
{
	size_t depth = 0;
	while (p < end) {
		uint8_t ch = s[p];
		if (ch == '"') {
			p = skip_string(s, p, end);
			if (p == NONE || depth == 0)
				return p;
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
		} else if (depth == 0 && (ch == ',' || is_ws(ch))) {
			return p;
		}
		p++;
	}
	return depth == 0 ? p : NONE;
}

/* The value of top-level member KEY of the object obj[0 .. len): its
 * offset and length in obj.  Returns false if there is none. */
static bool find_member(const uint8_t *obj, size_t len, const char *key, size_t *off, size_t *vlen)
{
	size_t p = skip_ws(obj, 0, len);
	if (p >= len || obj[p] != '{')
		return false;
	p = skip_ws(obj, p + 1, len);
	while (p < len && obj[p] == '"') {
		size_t ks = p;
		p = skip_string(obj, p, len);
		if (p == NONE)
			return false;
		bool match = unesc_equal(obj + ks + 1, p - ks - 2, key);
		p = skip_ws(obj, p, len);
		if (p >= len || obj[p] != ':')
			return false;
		p = skip_ws(obj, p + 1, len);
		size_t vs = p;
		p = skip_value(obj, p, len);
		if (p == NONE || p == vs)
			return false;
		if (match) {
			*off = vs;
			*vlen = p - vs;
			return true;
		}
		p = skip_ws(obj, p, len);
		if (p >= len || obj[p] != ',')
			return false;
		p = skip_ws(obj, p + 1, len);
	}
	return false;
}

long vs_json_object_string(const uint8_t *obj, size_t len, const char *key, char *out, size_t cap)
{
	size_t off, vlen;
	if (obj == NULL || key == NULL || !find_member(obj, len, key, &off, &vlen))
		return -1;
	if (vlen < 2 || obj[off] != '"' || obj[off + vlen - 1] != '"')
		return -1;
	struct unesc u;
	unesc_init(&u, obj + off + 1, vlen - 2);
	size_t n = 0;
	bool fits = true;
	for (;;) {
		int ch = unesc_next(&u);
		if (ch == -2)
			return -1;
		if (ch == -1)
			break;
		if (n + 1 < cap)
			out[n] = (char)ch;
		else
			fits = false;
		n++;
	}
	if (!fits || n >= cap || n > (size_t)LONG_MAX)
		return -2;
	out[n] = '\0';
	return (long)n;
}

/* ------------------------------------------------------------------ */
/* Events and envelopes                                                */

/* Top-level member NAME of the event in span ev must be a non-empty
 * string, equal to WANT if that is not NULL. */
static int require_string(struct ctx *c, const vs_span *ev, const char *name, const char *want,
                          const char *bad_code)
{
	size_t off, len;
	if (!find_member(c->b + ev->off, ev->len, name, &off, &len))
		return fail(c, "missing_field", ev->off, "required member \"%s\" is missing", name);
	const uint8_t *v = c->b + ev->off + off;
	off += ev->off;
	if (v[0] != '"')
		return fail(c, "bad_field", off, "member \"%s\" must be a string", name);
	if (len == 2)
		return fail(c, "bad_field", off, "member \"%s\" must not be empty", name);
	if (want != NULL && !unesc_equal(v + 1, len - 2, want))
		return fail(c, bad_code, off, "member \"%s\" must be \"%s\"", name, want);
	return 0;
}

static int check_fields(struct ctx *c, const vs_span *ev, enum fields f)
{
	switch (f) {
	case FIELDS_NONE:
		return 0;
	case FIELDS_CLOUDEVENT:
		if (require_string(c, ev, "specversion", "1.0", "bad_field") != 0 ||
		    require_string(c, ev, "id", NULL, NULL) != 0 ||
		    require_string(c, ev, "source", NULL, NULL) != 0 ||
		    require_string(c, ev, "type", NULL, NULL) != 0)
			return -1;
		return 0;
	case FIELDS_K8S_ITEM:
		if (require_string(c, ev, "auditID", NULL, NULL) != 0 ||
		    require_string(c, ev, "stage", NULL, NULL) != 0)
			return -1;
		return 0;
	}
	return 0;
}

/* One event at *pos (whitespace skipped): an object, recorded as a span. */
static int scan_event(struct ctx *c, size_t *pos, size_t end, enum fields f)
{
	size_t p = *pos;
	c->event = (long)c->n;
	if (c->n >= c->max_events)
		return fail(c, "too_many_events", p, "more than %zu events", c->max_events);
	if (p >= end || c->b[p] != '{') {
		char fb[32];
		if (p < end && is_value_start(c->b[p]))
			return fail(c, "not_an_object", p, "an event must be a JSON object but %s",
			            found(c, p, end, fb, sizeof fb));
		return fail_expected(c, p, end, "an event object");
	}
	if (scan_value(c, &p, end, 0) != 0)
		return -1;
	vs_span *ev = &c->spans[c->n];
	ev->off = *pos;
	ev->len = p - *pos;
	if (check_fields(c, ev, f) != 0)
		return -1;
	c->n++;
	*pos = p;
	return 0;
}

/* The array of events whose '[' is at *pos; it may be empty. */
static int scan_event_array(struct ctx *c, size_t *pos, size_t end, enum fields f)
{
	const uint8_t *b = c->b;
	size_t p = skip_ws(b, *pos + 1, end);
	if (p < end && b[p] == ']') {
		*pos = p + 1;
		return 0;
	}
	for (;;) {
		if (scan_event(c, &p, end, f) != 0)
			return -1;
		p = skip_ws(b, p, end);
		if (p < end && b[p] == ',') {
			p = skip_ws(b, p + 1, end);
			continue;
		}
		if (p < end && b[p] == ']')
			break;
		char fb[32];
		long ev = c->event;
		c->event = -1;
		return fail(c, "malformed_json", p, "expected ',' or ']' after event %ld but %s",
		            ev, found(c, p, end, fb, sizeof fb));
	}
	c->event = -1;
	*pos = p + 1;
	return 0;
}

/* Only whitespace may follow the body's value. */
static int expect_end(struct ctx *c, size_t p)
{
	c->event = -1;
	p = skip_ws(c->b, p, c->len);
	if (p != c->len) {
		char fb[32];
		return fail(c, "malformed_json", p, "expected the end of the body but %s",
		            found(c, p, c->len, fb, sizeof fb));
	}
	return 0;
}

static int split_json(struct ctx *c, size_t p, enum fields f)
{
	if (c->b[p] == '[') {
		if (scan_event_array(c, &p, c->len, f) != 0)
			return -1;
		if (c->n == 0)
			return fail(c, "empty_body", 0, "the body is an empty array");
	} else if (scan_event(c, &p, c->len, f) != 0) {
		return -1;
	}
	return expect_end(c, p);
}

static int split_ndjson(struct ctx *c)
{
	const uint8_t *b = c->b;
	size_t start = 0;
	long line = 0;
	while (start < c->len) {
		const uint8_t *nl = memchr(b + start, '\n', c->len - start);
		size_t end = nl != NULL ? (size_t)(nl - b) : c->len;
		size_t p = skip_ws(b, start, end);
		line++;
		if (p < end) {
			c->line = line;
			if (scan_event(c, &p, end, FIELDS_NONE) != 0)
				return -1;
			p = skip_ws(b, p, end);
			if (p != end) {
				char fb[32];
				return fail(c, "malformed_json", p,
				            "expected the end of the line after the event but %s",
				            found(c, p, end, fb, sizeof fb));
			}
		}
		start = end + 1;
	}
	c->event = -1;
	c->line = 0;
	if (c->n == 0)
		return fail(c, "empty_body", 0, "the body has only blank lines");
	return 0;
}

/* The envelope member whose value is at off (length len) must be the
 * string WANT; error code bad_code if it is a string but not WANT. */
static int check_envelope_string(struct ctx *c, bool have, size_t env, size_t off, size_t len,
                                 const char *name, const char *want, const char *bad_code)
{
	if (!have)
		return fail(c, "missing_field", env, "required member \"%s\" is missing", name);
	if (c->b[off] != '"')
		return fail(c, "bad_field", off, "member \"%s\" must be a string", name);
	if (!unesc_equal(c->b + off + 1, len - 2, want))
		return fail(c, bad_code, off, "member \"%s\" must be \"%s\"", name, want);
	return 0;
}

/* A Kubernetes audit EventList object at p; its items are the events. */
static int split_eventlist(struct ctx *c, size_t p)
{
	const uint8_t *b = c->b;
	size_t end = c->len, env = p, base = c->nkeys;
	size_t kind_off = 0, kind_len = 0, api_off = 0, api_len = 0, items_off = 0;
	bool have_kind = false, have_api = false, have_items = false, esc;

	if (b[p] != '{' && !is_value_start(b[p]))
		return fail_expected(c, p, end, "an EventList object");
	if (b[p] != '{')
		return fail(c, "wrong_kind", p,
		            "expected an audit.k8s.io/v1 EventList object but found a JSON %s",
		            b[p] == '[' ? "array" : "value other than an object");
	p = skip_ws(b, p + 1, end);
	if (p < end && b[p] == '}')
		goto close;
	for (;;) {
		if (p >= end || b[p] != '"')
			return fail_expected(c, p, end, "a string key");
		size_t ks = p;
		esc = false;
		if (scan_string(c, &p, end, &esc) != 0 || push_key(c, ks + 1, p - 1, esc) != 0)
			return -1;
		const uint8_t *k = b + ks + 1;
		size_t klen = p - ks - 2;
		p = skip_ws(b, p, end);
		if (p >= end || b[p] != ':')
			return fail_expected(c, p, end, "':' after a key");
		p = skip_ws(b, p + 1, end);
		size_t vs = p;
		if (unesc_equal(k, klen, "items")) {
			if (have_items)
				return fail(c, "duplicate_key", ks, "duplicate key \"items\"");
			have_items = true;
			items_off = p;
			if (p < end && b[p] != '[' && is_value_start(b[p]))
				return fail(c, "bad_field", p, "member \"items\" must be an array");
			if (p >= end || b[p] != '[')
				return fail_expected(c, p, end, "a value");
			if (scan_event_array(c, &p, end, FIELDS_K8S_ITEM) != 0)
				return -1;
		} else {
			if (scan_value(c, &p, end, 1) != 0)
				return -1;
			if (unesc_equal(k, klen, "kind")) {
				have_kind = true;
				kind_off = vs;
				kind_len = p - vs;
			} else if (unesc_equal(k, klen, "apiVersion")) {
				have_api = true;
				api_off = vs;
				api_len = p - vs;
			}
		}
		p = skip_ws(b, p, end);
		if (p < end && b[p] == ',') {
			p = skip_ws(b, p + 1, end);
			continue;
		}
		if (p < end && b[p] == '}')
			break;
		return fail_expected(c, p, end, "',' or '}'");
	}
close:
	if (close_object(c, base) != 0)
		return -1;
	if (expect_end(c, p + 1) != 0 ||
	    check_envelope_string(c, have_kind, env, kind_off, kind_len, "kind", "EventList",
	                          "wrong_kind") != 0 ||
	    check_envelope_string(c, have_api, env, api_off, api_len, "apiVersion",
	                          "audit.k8s.io/v1", "bad_field") != 0)
		return -1;
	if (!have_items)
		return fail(c, "missing_field", env, "required member \"items\" is missing");
	if (c->n == 0)
		return fail(c, "empty_body", items_off, "the EventList has no items");
	return 0;
}

static int split(struct ctx *c, enum vs_body_kind kind)
{
	const uint8_t *b = c->b;
	if (c->len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		return fail(c, "malformed_json", 0,
		            "the body starts with a UTF-8 byte order mark, which JSON forbids");
	if (kind == VS_BODY_NDJSON)
		return split_ndjson(c);
	size_t p = skip_ws(b, 0, c->len);
	if (p == c->len)
		return fail(c, "empty_body", 0, "the body is empty");
	switch (kind) {
	case VS_BODY_JSON:
		return split_json(c, p, FIELDS_NONE);
	case VS_BODY_CLOUDEVENT:
		if (b[p] == '[')
			return fail(c, "wrong_kind", p,
			            "a JSON array of CloudEvents must be sent as "
			            "application/cloudevents-batch+json");
		return split_json(c, p, FIELDS_CLOUDEVENT);
	case VS_BODY_CLOUDEVENTS_BATCH:
		if (!is_value_start(b[p]))
			return fail_expected(c, p, c->len, "a JSON array");
		if (b[p] != '[')
			return fail(c, "wrong_kind", p,
			            "a CloudEvents batch must be a JSON array (send a single event "
			            "as application/cloudevents+json)");
		return split_json(c, p, FIELDS_CLOUDEVENT);
	case VS_BODY_K8S_EVENTLIST:
		return split_eventlist(c, p);
	case VS_BODY_NDJSON:
		break;
	}
	return fail(c, "wrong_kind", 0, "unknown body kind %d", (int)kind);
}

int vs_body_split(enum vs_body_kind kind, const uint8_t *body, size_t len, vs_span *spans,
                  size_t max_events, size_t *n, vs_parse_error *err)
{
	struct ctx c;
	c.b = body;
	c.len = len;
	c.err = err;
	c.event = -1;
	c.line = 0;
	c.spans = spans;
	c.max_events = max_events;
	c.n = 0;
	c.keys = c.inline_keys;
	c.nkeys = 0;
	c.cap_keys = INLINE_KEYS;
	if (err != NULL) {
		err->offset = 0;
		err->event = -1;
		err->message[0] = '\0';
		err->code = NULL;
	}
	int rc;
	if (n == NULL || (body == NULL && len > 0) || (spans == NULL && max_events > 0))
		rc = fail(&c, "bad_argument", 0, "invalid arguments");
	else if (len == 0)
		rc = fail(&c, "empty_body", 0, "the body is empty");
	else
		rc = split(&c, kind);
	if (c.keys != c.inline_keys)
		free(c.keys);
	if (n != NULL)
		*n = c.n;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Content-Type                                                        */

static bool is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A parameter value at *pp (token or quoted string), unquoted into
 * buf[0 .. cap) if it fits (else buf gets ""); NULL if malformed. */
static const char *param_value(const char *p, char *buf, size_t cap)
{
	size_t n = 0;
	bool fits = true;
	if (*p != '"') {
		const char *s = p;
		while (is_tchar(*p))
			p++;
		if (p == s)
			return NULL;
		if ((size_t)(p - s) < cap)
			memcpy(buf, s, (size_t)(p - s));
		else
			fits = false;
		n = (size_t)(p - s);
	} else {
		for (p++; *p != '"'; p++) {
			if (*p == '\\')
				p++;
			if (*p == '\0' || ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
				return NULL;
			if (n + 1 < cap)
				buf[n] = *p;
			else
				fits = false;
			n++;
		}
		p++;
	}
	buf[fits ? n : 0] = '\0';
	return p;
}

int vs_body_kind_from_content_type(const char *ct)
{
	static const struct {
		const char *type;
		enum vs_body_kind kind;
	} types[] = {
	    {"application/json", VS_BODY_JSON},
	    {"application/x-ndjson", VS_BODY_NDJSON},
	    {"application/ndjson", VS_BODY_NDJSON},
	    {"application/cloudevents+json", VS_BODY_CLOUDEVENT},
	    {"application/cloudevents-batch+json", VS_BODY_CLOUDEVENTS_BATCH},
	};
	if (ct == NULL)
		return -1;
	const char *p = skip_ows(ct), *s = p;
	while (is_tchar(*p) || *p == '/')
		p++;
	size_t len = (size_t)(p - s);
	int kind = -1;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i].type) == len && strncasecmp(s, types[i].type, len) == 0)
			kind = (int)types[i].kind;
	if (kind < 0)
		return -1;
	p = skip_ows(p);
	while (*p == ';') {
		p = skip_ows(p + 1);
		if (*p == ';' || *p == '\0')
			continue; /* empty parameter (RFC 9110 §5.6.6) */
		const char *name = p;
		while (is_tchar(*p))
			p++;
		size_t name_len = (size_t)(p - name);
		if (name_len == 0 || *p != '=')
			return -1;
		char value[16];
		p = param_value(p + 1, value, sizeof value);
		if (p == NULL)
			return -1;
		if (name_len == 7 && strncasecmp(name, "charset", 7) == 0 &&
		    strcasecmp(value, "utf-8") != 0)
			return -1;
		p = skip_ows(p);
	}
	return *p == '\0' ? kind : -1;
}
