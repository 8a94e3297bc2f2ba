/*
 * test_ingest_parse.c — ingest body validation and splitting
 * (src/server/ingest_parse.c): the sample bodies in examples/ checked
 * span by span against jansson, tables of valid and invalid JSON, UTF-8
 * edge cases, nesting and duplicate-key limits, every body kind's rules,
 * Content-Type mapping and string member extraction.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every input is an exact-length heap copy (no NUL after the data), so a
 * read past the end is caught by AddressSanitizer.  VL_EXAMPLES names the
 * directory of sample inputs (default "examples").  Random choices come
 * from a fixed seed, printed at start and overridable with VL_SEED.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ingest_parse.h"

#define MAXS 64 /* spans the table-driven helpers allow */

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* An exact-size heap copy without a terminating NUL. */
static uint8_t *dup_exact(const void *s, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* The whole of examples/<name>, exact size. */
static uint8_t *read_example(const char *name, size_t *len)
{
	const char *dir = getenv("VL_EXAMPLES");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "examples", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	uint8_t *buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A printable rendering of s[0 .. len) for failure messages. */
static const char *show(const void *s, size_t len)
{
	static char buf[200];
	const uint8_t *p = s;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 8 < sizeof buf; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			buf[o++] = (char)p[i];
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", p[i]);
	}
	buf[o] = '\0';
	return buf;
}

/* vs_body_split on an exact-size copy of s. */
static int split_copy(enum vs_body_kind kind, const void *s, size_t len, vs_span *spans, size_t max,
                      size_t *n, vs_parse_error *e)
{
	uint8_t *c = dup_exact(s, len);
	int rc = vs_body_split(kind, c, len, spans, max, n, e);
	free(c);
	return rc;
}

/* Every span lies in the body, in order, without overlap, is one object
 * and validates on its own as exactly that object. */
static void check_spans(const uint8_t *body, size_t len, const vs_span *spans, size_t n)
{
	size_t prev_end = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(spans[i].off >= prev_end);
		assert_true(spans[i].len >= 2);
		assert_true(spans[i].off + spans[i].len <= len);
		assert_int_equal(body[spans[i].off], '{');
		assert_int_equal(body[spans[i].off + spans[i].len - 1], '}');
		prev_end = spans[i].off + spans[i].len;
		vs_span one[2];
		size_t n1 = 0;
		vs_parse_error e;
		if (split_copy(VS_BODY_JSON, body + spans[i].off, spans[i].len, one, 2, &n1, &e) !=
		    0)
			fail_msg("span %zu does not validate alone: %s", i, e.message);
		assert_int_equal(n1, 1);
		assert_int_equal(one[0].off, 0);
		assert_int_equal(one[0].len, spans[i].len);
	}
}

/* s (len bytes) must be accepted as KIND; returns the event count. */
static size_t ok_len(enum vs_body_kind kind, const void *s, size_t len)
{
	vs_span spans[MAXS];
	size_t n = 0;
	vs_parse_error e;
	if (split_copy(kind, s, len, spans, MAXS, &n, &e) != 0)
		fail_msg("rejected <%s>: %s (%s)", show(s, len), e.message, e.code);
	assert_null(e.code);
	assert_true(n >= 1);
	check_spans(s, len, spans, n);
	return n;
}

static size_t ok(enum vs_body_kind kind, const char *s)
{
	return ok_len(kind, s, strlen(s));
}

/* s (len bytes) must be rejected as KIND with CODE; returns the error. */
static vs_parse_error bad_len(enum vs_body_kind kind, const void *s, size_t len, const char *code)
{
	vs_span spans[MAXS];
	size_t n = 0;
	vs_parse_error e;
	if (split_copy(kind, s, len, spans, MAXS, &n, &e) == 0)
		fail_msg("accepted <%s>, want %s", show(s, len), code);
	assert_non_null(e.code);
	if (strcmp(e.code, code) != 0)
		fail_msg("<%s>: %s (%s), want %s", show(s, len), e.message, e.code, code);
	assert_true(e.offset <= len);
	char at[48];
	snprintf(at, sizeof at, " at byte %zu", e.offset);
	if (strstr(e.message, at) == NULL)
		fail_msg("message \"%s\" does not say \"%s\"", e.message, at);
	return e;
}

static vs_parse_error bad(enum vs_body_kind kind, const char *s, const char *code)
{
	return bad_len(kind, s, strlen(s), code);
}

/* {"v":VALUE} as a NUL-terminated string (caller frees). */
static char *wrap(const char *value, size_t vlen, size_t *len)
{
	char *s = malloc(vlen + 7);
	assert_non_null(s);
	memcpy(s, "{\"v\":", 5);
	memcpy(s + 5, value, vlen);
	s[5 + vlen] = '}';
	s[6 + vlen] = '\0';
	*len = vlen + 6;
	return s;
}

/* A malloc'ed string of s repeated n times, then t. */
static char *repeat(const char *s, size_t n, const char *t)
{
	size_t sl = strlen(s), tl = strlen(t);
	char *out = malloc(sl * n + tl + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * sl, s, sl);
	memcpy(out + sl * n, t, tl + 1);
	return out;
}

static char *concat3(const char *a, const char *b, const char *c)
{
	size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
	char *out = malloc(na + nb + nc + 1);
	assert_non_null(out);
	memcpy(out, a, na);
	memcpy(out + na, b, nb);
	memcpy(out + na + nb, c, nc + 1);
	return out;
}

/* An object nested DEPTH deep: {"a":{"a":...{}...}}. */
static char *nested_objects(size_t depth)
{
	char *open = repeat("{\"a\":", depth - 1, "{}");
	char *close = repeat("}", depth - 1, "");
	char *s = concat3(open, close, "");
	free(open);
	free(close);
	return s;
}

/* jansson's parse of s[0 .. len), which must succeed. */
static json_t *jload(const void *s, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(s, len, JSON_ALLOW_NUL, &je);
	if (j == NULL)
		fail_msg("jansson: %s at %d", je.text, je.position);
	return j;
}

/* Split body as KIND (up to max spans, into a malloc'ed array). */
static vs_span *split_all(enum vs_body_kind kind, const uint8_t *body, size_t len, size_t max,
                          size_t *n)
{
	vs_span *spans = calloc(max, sizeof *spans);
	assert_non_null(spans);
	vs_parse_error e;
	if (vs_body_split(kind, body, len, spans, max, n, &e) != 0)
		fail_msg("%s (%s)", e.message, e.code);
	check_spans(body, len, spans, *n);
	return spans;
}

/* Each span, parsed by jansson, equals element i of the array arr. */
static void spans_match_array(const uint8_t *body, const vs_span *spans, size_t n, json_t *arr)
{
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), n);
	for (size_t i = 0; i < n; i++) {
		json_t *ev = jload(body + spans[i].off, spans[i].len);
		if (!json_equal(ev, json_array_get(arr, i)))
			fail_msg("span %zu differs from element %zu", i, i);
		json_decref(ev);
	}
}

/* Between consecutive spans of an array body there is only whitespace
 * and exactly one comma. */
static void only_commas_between(const uint8_t *body, const vs_span *spans, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		int commas = 0;
		for (size_t p = spans[i].off + spans[i].len; p < spans[i + 1].off; p++) {
			if (body[p] == ',')
				commas++;
			else
				assert_non_null(strchr(" \t\r\n", body[p]));
		}
		assert_int_equal(commas, 1);
	}
}

/* ------------------------------------------------------------ samples */

static void test_sample_ndjson(void **state)
{
	(void)state;
	size_t len, n;
	uint8_t *body = read_example("audit-events.ndjson", &len);
	vs_span *spans = split_all(VS_BODY_NDJSON, body, len, 1000, &n);
	assert_int_equal(n, 200);
	/* Span i is line i without its "\n", byte for byte, and jansson
	 * reads the same object from both. */
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *nl = memchr(body + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - body) : len;
		assert_int_equal(spans[i].off, start);
		assert_int_equal(spans[i].len, end - start);
		json_t *line = jload(body + start, end - start);
		json_t *ev = jload(body + spans[i].off, spans[i].len);
		assert_true(json_equal(line, ev));
		json_decref(line);
		json_decref(ev);
		start = end + 1;
	}
	assert_true(start >= len);
	free(spans);

	/* The same events with CRLF line ends and blank lines between. */
	uint8_t *crlf = malloc(len * 4);
	assert_non_null(crlf);
	size_t m = 0;
	for (size_t i = 0; i < len; i++) {
		if (body[i] == '\n') {
			memcpy(crlf + m, "\r\n \t\r\n", 6);
			m += 6;
		} else {
			crlf[m++] = body[i];
		}
	}
	uint8_t *exact = dup_exact(crlf, m);
	vs_span *spans2 = split_all(VS_BODY_NDJSON, exact, m, 1000, &n);
	assert_int_equal(n, 200);
	vs_span *spans1 = split_all(VS_BODY_NDJSON, body, len, 1000, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(spans1[i].len, spans2[i].len);
		assert_memory_equal(body + spans1[i].off, exact + spans2[i].off, spans1[i].len);
	}
	free(spans1);
	free(spans2);
	free(exact);
	free(crlf);
	free(body);
}

static void test_sample_cloudevents_batch(void **state)
{
	(void)state;
	size_t len, n;
	uint8_t *body = read_example("cloudevents-batch.json", &len);
	json_t *doc = jload(body, len);
	vs_span *spans = split_all(VS_BODY_CLOUDEVENTS_BATCH, body, len, 100, &n);
	assert_int_equal(n, 10);
	spans_match_array(body, spans, n, doc);
	only_commas_between(body, spans, n);
	for (size_t i = 0; i < n; i++) {
		char id[64], want[64];
		snprintf(want, sizeof want, "login-%04zu", i);
		assert_int_equal(
		    vs_json_object_string(body + spans[i].off, spans[i].len, "id", id, sizeof id),
		    strlen(want));
		assert_string_equal(id, want);
	}
	free(spans);
	/* As plain JSON it splits the same way. */
	spans = split_all(VS_BODY_JSON, body, len, 100, &n);
	assert_int_equal(n, 10);
	spans_match_array(body, spans, n, doc);
	free(spans);
	json_decref(doc);
	free(body);
}

static void test_sample_cloudevent_single(void **state)
{
	(void)state;
	size_t len, n;
	uint8_t *body = read_example("cloudevents-batch.json", &len);
	vs_span *spans = split_all(VS_BODY_CLOUDEVENTS_BATCH, body, len, 100, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *one = dup_exact(body + spans[i].off, spans[i].len);
		size_t n1;
		vs_span *s1 = split_all(VS_BODY_CLOUDEVENT, one, spans[i].len, 4, &n1);
		assert_int_equal(n1, 1);
		assert_int_equal(s1[0].off, 0);
		assert_int_equal(s1[0].len, spans[i].len);
		free(s1);
		free(one);
	}
	free(spans);
	/* The batch is not a single event. */
	vs_parse_error e = bad_len(VS_BODY_CLOUDEVENT, body, len, "wrong_kind");
	assert_int_equal(e.event, -1);
	free(body);
}

static void test_sample_k8s_eventlist(void **state)
{
	(void)state;
	size_t len, n;
	uint8_t *body = read_example("k8s-audit-eventlist.json", &len);
	json_t *doc = jload(body, len);
	vs_span *spans = split_all(VS_BODY_K8S_EVENTLIST, body, len, 100, &n);
	assert_int_equal(n, 20);
	spans_match_array(body, spans, n, json_object_get(doc, "items"));
	only_commas_between(body, spans, n);
	for (size_t i = 0; i < n; i++) {
		char id[64];
		const char *want = json_string_value(
		    json_object_get(json_array_get(json_object_get(doc, "items"), i), "auditID"));
		assert_int_equal(vs_json_object_string(body + spans[i].off, spans[i].len, "auditID",
		                                       id, sizeof id),
		                 strlen(want));
		assert_string_equal(id, want);
	}
	free(spans);
	/* As plain JSON it is one event: the whole list. */
	spans = split_all(VS_BODY_JSON, body, len, 100, &n);
	assert_int_equal(n, 1);
	assert_int_equal(body[spans[0].off], '{');
	free(spans);
	/* Not a CloudEvent, and not a batch. */
	bad_len(VS_BODY_CLOUDEVENT, body, len, "missing_field");
	bad_len(VS_BODY_CLOUDEVENTS_BATCH, body, len, "wrong_kind");
	json_decref(doc);
	free(body);
}

static void test_sample_wrong_kinds(void **state)
{
	(void)state;
	size_t len;
	uint8_t *body = read_example("audit-events.ndjson", &len);
	/* Two objects on two lines are not one JSON value. */
	vs_parse_error e = bad_len(VS_BODY_JSON, body, len, "malformed_json");
	assert_true(strstr(e.message, "expected the end of the body") != NULL);
	bad_len(VS_BODY_K8S_EVENTLIST, body, len, "malformed_json");
	free(body);
	/* Pretty-printed JSON is not NDJSON. */
	body = read_example("k8s-audit-eventlist.json", &len);
	bad_len(VS_BODY_NDJSON, body, len, "malformed_json");
	free(body);
	/* Syslog is not JSON at all. */
	body = read_example("syslog-rfc5424.txt", &len);
	bad_len(VS_BODY_NDJSON, body, len, "malformed_json");
	bad_len(VS_BODY_JSON, body, len, "malformed_json");
	free(body);
}

/* Every proper prefix of each sample is rejected (or, for NDJSON, holds
 * fewer events), and none is read past its end. */
static void test_sample_prefixes(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum vs_body_kind kind;
	} samples[] = {
	    {"cloudevents-batch.json", VS_BODY_CLOUDEVENTS_BATCH},
	    {"k8s-audit-eventlist.json", VS_BODY_K8S_EVENTLIST},
	    {"audit-events.ndjson", VS_BODY_NDJSON},
	};
	vs_span *spans = calloc(1000, sizeof *spans);
	assert_non_null(spans);
	for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
		size_t len, n;
		uint8_t *body = read_example(samples[s].name, &len);
		size_t step = samples[s].kind == VS_BODY_NDJSON ? 7 : 1;
		for (size_t cut = 0; cut < len; cut += step) {
			uint8_t *c = dup_exact(body, cut);
			vs_parse_error e;
			int rc = vs_body_split(samples[s].kind, c, cut, spans, 1000, &n, &e);
			if (samples[s].kind == VS_BODY_NDJSON) {
				if (rc == 0) {
					assert_true(n < 200 || cut >= len - 1);
					check_spans(c, cut, spans, n);
				}
			} else if (rc == 0 && body[cut] != '\n') {
				fail_msg("%s cut at %zu accepted", samples[s].name, cut);
			}
			free(c);
		}
		free(body);
	}
	free(spans);
}

/* Random byte changes to the samples: no crash, and what is accepted
 * still splits into self-contained objects. */
static void test_sample_mutations(void **state)
{
	(void)state;
	static const char *names[] = {"cloudevents-batch.json", "k8s-audit-eventlist.json",
	                              "audit-events.ndjson"};
	static const uint8_t bytes[] = {'{', '}', '[', ']',  '"',  '\\', ',',  ':',  '\n', ' ',
	                                '0', 'e', '-', 0x00, 0x1f, 0x80, 0xc3, 0xe2, 0xf0, 0xff};
	vs_span *spans = calloc(1000, sizeof *spans);
	assert_non_null(spans);
	for (size_t s = 0; s < 3; s++) {
		size_t len, n;
		uint8_t *body = read_example(names[s], &len);
		for (int round = 0; round < 300; round++) {
			uint8_t *c = dup_exact(body, len);
			int changes = 1 + (int)(rng() % 3);
			for (int k = 0; k < changes; k++)
				c[rng() % len] = bytes[rng() % sizeof bytes];
			for (int kind = VS_BODY_JSON; kind <= VS_BODY_K8S_EVENTLIST; kind++) {
				vs_parse_error e;
				if (vs_body_split((enum vs_body_kind)kind, c, len, spans, 1000, &n,
				                  &e) == 0)
					check_spans(c, len, spans, n);
				else
					assert_non_null(e.code);
			}
			free(c);
		}
		free(body);
	}
	free(spans);
}

/* ------------------------------------------------------------ JSON grammar */

/* Values every strict parser accepts. */
static const char *const y_values[] = {
    "0",
    "-0",
    "-0.0",
    "0e0",
    "0E+1",
    "0e-1",
    "1",
    "-1",
    "123",
    "1.5",
    "-1.5e-300",
    "1E400",
    "123456789012345678901234567890",
    "1e1",
    "1E1",
    "1e+1",
    "1e-1",
    "0.000001",
    "true",
    "false",
    "null",
    "\"\"",
    "\"a\"",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    "\"\\u0041\"",
    "\"\\u00e9\"",
    "\"\\u00E9\"",
    "\"\\uD834\\uDD1E\"",
    "\"\\ud834\\udd1e\"",
    "\"\\uDBFF\\uDFFF\"",
    "\"\\uFFFF\"",
    "\"\\uFFFE\"",
    "\"\\u0000\"",
    "\"\\u001f\"",
    "\"\x7f\"",
    "\"/\"",
    "\"\xc3\xa9\"",
    "\"\xe2\x82\xac\"",
    "\"\xf0\x9d\x84\x9e\"",
    "\"\xf4\x8f\xbf\xbf\"",
    "\"\xef\xbb\xbf\"",
    "\"\xed\x9f\xbf\"",
    "\"\xee\x80\x80\"",
    "\"\xc2\x80\"",
    "\"\xdf\xbf\"",
    "\"\xe0\xa0\x80\"",
    "\"\xf0\x90\x80\x80\"",
    "\"\xef\xbf\xbf\"",
    "[]",
    "{}",
    "[[]]",
    "[{}]",
    "[1,[2,{\"a\":[]}]]",
    "[ 1 , 2 ]",
    "[\n\r\t 1\n]",
    "{\"\":0}",
    "{\"a\":1,\"b\":2}",
    "{\"a\":{\"a\":{\"a\":1}}}",
    "{\"A\":1,\"a\":2}",
    "{\"a\":1,\"a \":2}",
    "[true,false,null]",
    " 1",
    "1 ",
    "\t\"x\"\r\n",
    "\"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"",
    "[\"a\",\"b\",\"a\"]",
    "{\"a\":[{\"a\":1},{\"a\":2}]}"};

static void test_valid_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof y_values / sizeof y_values[0]; i++) {
		size_t len;
		char *s = wrap(y_values[i], strlen(y_values[i]), &len);
		assert_int_equal(ok_len(VS_BODY_JSON, s, len), 1);
		/* jansson agrees (its own limits aside). */
		json_error_t je;
		json_t *j = json_loadb(s, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
		if (j == NULL && strstr(je.text, "overflow") == NULL &&
		    strstr(je.text, "too big") == NULL)
			fail_msg("jansson rejects <%s>: %s", show(s, len), je.text);
		json_decref(j);
		free(s);
	}
}

/* Values that are not JSON, and the error each gives. */
static const struct {
	const char *value;
	const char *code;
} n_values[] = {{"01", "malformed_json"},
                {"-01", "malformed_json"},
                {"00", "malformed_json"},
                {"-", "malformed_json"},
                {"1.", "malformed_json"},
                {".1", "malformed_json"},
                {"+1", "malformed_json"},
                {"1e", "malformed_json"},
                {"1e+", "malformed_json"},
                {"1E-", "malformed_json"},
                {"1.e1", "malformed_json"},
                {"0x10", "malformed_json"},
                {"1.0e", "malformed_json"},
                {"1e1.5", "malformed_json"},
                {"- 1", "malformed_json"},
                {"--1", "malformed_json"},
                {"1_000", "malformed_json"},
                {"-.5", "malformed_json"},
                {"NaN", "malformed_json"},
                {"Infinity", "malformed_json"},
                {"-Infinity", "malformed_json"},
                {"nan", "malformed_json"},
                {"inf", "malformed_json"},
                {"tru", "malformed_json"},
                {"truE", "malformed_json"},
                {"True", "malformed_json"},
                {"nul", "malformed_json"},
                {"NULL", "malformed_json"},
                {"fals", "malformed_json"},
                {"truex", "malformed_json"},
                {"undefined", "malformed_json"},
                {"", "malformed_json"},
                {" ", "malformed_json"},
                {"1 2", "malformed_json"},
                {"[1,]", "malformed_json"},
                {"[,1]", "malformed_json"},
                {"[1,,2]", "malformed_json"},
                {"[1 2]", "malformed_json"},
                {"[", "malformed_json"},
                {"]", "malformed_json"},
                {"[1", "malformed_json"},
                {"[1]]", "malformed_json"},
                {"{\"a\":1,}", "malformed_json"},
                {"{,}", "malformed_json"},
                {"{\"a\"}", "malformed_json"},
                {"{\"a\" 1}", "malformed_json"},
                {"{\"a\"::1}", "malformed_json"},
                {"{1:1}", "malformed_json"},
                {"{a:1}", "malformed_json"},
                {"{'a':1}", "malformed_json"},
                {"{\"a\":1", "malformed_json"},
                {"{\"a\":1 \"b\":2}", "malformed_json"},
                {"{\"a\":}", "malformed_json"},
                {"{}}", "malformed_json"},
                {"'a'", "malformed_json"},
                {"\"a", "malformed_json"},
                {"\"\\\"", "malformed_json"},
                {"\"\\", "malformed_json"},
                {"\"\\x41\"", "malformed_json"},
                {"\"\\a\"", "malformed_json"},
                {"\"\\U0041\"", "malformed_json"},
                {"\"\\u\"", "malformed_json"},
                {"\"\\u12\"", "malformed_json"},
                {"\"\\u12G4\"", "malformed_json"},
                {"\"\\u 123\"", "malformed_json"},
                {"\"\\ud800\\u12\"", "malformed_json"},
                {"\"\t\"", "malformed_json"},
                {"\"\n\"", "malformed_json"},
                {"\"\r\"", "malformed_json"},
                {"\"\x1f\"", "malformed_json"},
                {"\"\\\n\"", "malformed_json"},
                {"/* c */ 1", "malformed_json"},
                {"1 // c", "malformed_json"},
                {"# c\n1", "malformed_json"},
                {"\f1", "malformed_json"},
                {"\v1", "malformed_json"},
                {"\xc2\xa0"
                 "1",
                 "malformed_json"},
                {"\xef\xbb\xbf"
                 "1",
                 "malformed_json"},
                {"[1;2]", "malformed_json"},
                {"{\"a\"=1}", "malformed_json"},
                {"\xe2\x80\x9c"
                 "a\xe2\x80\x9d",
                 "malformed_json"},
                {"\"\xc0\x80\"", "bad_utf8"},
                {"\"\xc1\xbf\"", "bad_utf8"},
                {"\"\xe0\x80\x80\"", "bad_utf8"},
                {"\"\xe0\x9f\xbf\"", "bad_utf8"},
                {"\"\xed\xa0\x80\"", "bad_utf8"},
                {"\"\xed\xbf\xbf\"", "bad_utf8"},
                {"\"\xf0\x8f\xbf\xbf\"", "bad_utf8"},
                {"\"\xf4\x90\x80\x80\"", "bad_utf8"},
                {"\"\xf5\x80\x80\x80\"", "bad_utf8"},
                {"\"\xf8\x88\x80\x80\x80\"", "bad_utf8"},
                {"\"\xfe\"", "bad_utf8"},
                {"\"\xff\"", "bad_utf8"},
                {"\"\x80\"", "bad_utf8"},
                {"\"\xbf\"", "bad_utf8"},
                {"\"\xc3\"", "bad_utf8"},
                {"\"\xc3"
                 "a\"",
                 "bad_utf8"},
                {"\"\xe2\x82\"", "bad_utf8"},
                {"\"\xf0\x9d\x84\"", "bad_utf8"},
                {"\"\xc3\xa9\xa9\"", "bad_utf8"},
                {"\"\\uD800\"", "bad_utf8"},
                {"\"\\udbff\"", "bad_utf8"},
                {"\"\\uDC00\"", "bad_utf8"},
                {"\"\\udfff\"", "bad_utf8"},
                {"\"\\ud800\\u0041\"", "bad_utf8"},
                {"\"\\ud800x\"", "bad_utf8"},
                {"\"\\ud800\\ud800\"", "bad_utf8"},
                {"\"\\udc00\\ud800\"", "bad_utf8"},
                {"\"\\ud800\\n\"", "bad_utf8"},
                {"\"\\ud800\"", "bad_utf8"},
                {"\"\\ud800\\\"", "bad_utf8"}};

static void test_invalid_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof n_values / sizeof n_values[0]; i++) {
		size_t len;
		char *s = wrap(n_values[i].value, strlen(n_values[i].value), &len);
		vs_parse_error e = bad_len(VS_BODY_JSON, s, len, n_values[i].code);
		/* In the event, unless the value ended the object early. */
		if (e.event != 0 && strstr(e.message, "expected the end of the body") == NULL)
			fail_msg("<%s>: %s", show(s, len), e.message);
		free(s);
	}
}

/* Keys are strings like any other: the same rules apply to them. */
static void test_invalid_keys(void **state)
{
	(void)state;
	bad(VS_BODY_JSON, "{\"\xc0\x80\":1}", "bad_utf8");
	bad(VS_BODY_JSON, "{\"\\ud800\":1}", "bad_utf8");
	bad(VS_BODY_JSON, "{\"\t\":1}", "malformed_json");
	bad(VS_BODY_JSON, "{\"\\q\":1}", "malformed_json");
	bad(VS_BODY_JSON, "{\"a", "malformed_json");
	bad(VS_BODY_JSON, "{\"a\\", "malformed_json");
	bad(VS_BODY_JSON, "{\"a\":1,\"b", "malformed_json");
	ok(VS_BODY_JSON, "{\"\\u00e9\":1,\"\\uD834\\uDD1E\":2,\"\\\"\":3}");
	ok(VS_BODY_JSON, "{\"\xc3\xa9\":1,\"\xf0\x9d\x84\x9e\":2}");
}

/* Random strings over JSON's alphabet: accepted exactly when jansson
 * accepts them (minus what jansson rejects for its own limits). */
static void test_random_vs_jansson(void **state)
{
	(void)state;
	static const char alphabet[] = "{}[],:\" a01-.eE+tfnrul\\u9\t\n";
	char value[16];
	int agreed_ok = 0, agreed_bad = 0;
	for (int round = 0; round < 300000; round++) {
		size_t vlen = 1 + rng() % 12;
		for (size_t i = 0; i < vlen; i++)
			value[i] = alphabet[rng() % (sizeof alphabet - 1)];
		size_t len;
		char *s = wrap(value, vlen, &len);
		vs_span spans[2];
		size_t n;
		vs_parse_error e;
		int rc = split_copy(VS_BODY_JSON, s, len, spans, 2, &n, &e);
		json_error_t je;
		json_t *j = json_loadb(s, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
		if (j == NULL &&
		    (strstr(je.text, "overflow") != NULL || strstr(je.text, "too big") != NULL ||
		     strstr(je.text, "NUL") != NULL)) {
			free(s);
			continue;
		}
		if ((rc == 0) != (j != NULL))
			fail_msg("<%s>: vellum %s, jansson %s", show(s, len),
			         rc == 0 ? "accepts" : e.message, j != NULL ? "accepts" : je.text);
		if (rc == 0)
			agreed_ok++;
		else
			agreed_bad++;
		json_decref(j);
		free(s);
	}
	/* The alphabet makes both outcomes common. */
	assert_true(agreed_ok > 1000);
	assert_true(agreed_bad > 1000);
}

static void test_literals_and_numbers_at_end(void **state)
{
	(void)state;
	/* A value cut short by the end of the body. */
	static const char *const cut[] = {
	    "{\"v\":t",  "{\"v\":tru", "{\"v\":fals", "{\"v\":n", "{\"v\":1",      "{\"v\":-",
	    "{\"v\":1.", "{\"v\":1e",  "{\"v\":1e+",  "{\"v\":0", "{\"v\":\"",     "{\"v\":",
	    "{\"v\"",    "{\"v",       "{",           "{\"v\":[", "{\"v\":\"\\u00"};
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
		vs_parse_error e = bad(VS_BODY_JSON, cut[i], "malformed_json");
		assert_true(e.offset <= strlen(cut[i]));
	}
	ok(VS_BODY_JSON, "{\"v\":true}");
	ok(VS_BODY_JSON, "{\"v\":-0.5E+10}");
}

/* Raw control characters are rejected in strings, escaped ones are not. */
static void test_control_characters(void **state)
{
	(void)state;
	for (int ch = 0; ch < 0x20; ch++) {
		char raw[] = "{\"v\":\"a?b\"}";
		raw[7] = (char)ch;
		vs_parse_error e = bad_len(VS_BODY_JSON, raw, sizeof raw - 1, "malformed_json");
		assert_int_equal(e.offset, 7);
		char esc[32];
		int n = snprintf(esc, sizeof esc, "{\"v\":\"a\\u%04xb\"}", ch);
		ok_len(VS_BODY_JSON, esc, (size_t)n);
	}
	/* Outside strings only space, tab, CR and LF are whitespace. */
	for (int ch = 0; ch < 0x100; ch++) {
		char s[] = "{?\"v\":1}";
		s[1] = (char)ch;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '"')
			continue;
		bad_len(VS_BODY_JSON, s, sizeof s - 1, "malformed_json");
	}
}

/* ------------------------------------------------------------ UTF-8 */

/* Is s[0 .. n) exactly one well-formed UTF-8 character?  Written from
 * the Unicode definition, independently of the parser. */
static bool ref_utf8_one(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t need;
	if (s[0] < 0x80)
		return n == 1;
	if ((s[0] & 0xe0) == 0xc0) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return false;
	}
	if (n != need)
		return false;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	return cp >= min[need] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/* {"v":"<seq>"} accepted iff seq is one well-formed character. */
static void check_utf8_seq(const uint8_t *seq, size_t n)
{
	uint8_t s[16];
	memcpy(s, "{\"v\":\"", 6);
	memcpy(s + 6, seq, n);
	memcpy(s + 6 + n, "\"}", 2);
	vs_span spans[2];
	size_t count;
	vs_parse_error e;
	int rc = split_copy(VS_BODY_JSON, s, n + 8, spans, 2, &count, &e);
	bool want = ref_utf8_one(seq, n);
	if (want != (rc == 0))
		fail_msg("<%s>: %s", show(s, n + 8), rc == 0 ? "accepted" : e.message);
	if (rc != 0)
		assert_string_equal(e.code, "bad_utf8");
}

static void test_utf8_exhaustive(void **state)
{
	(void)state;
	static const uint8_t tails[] = {0x00 + 'A', 0x7f, 0x80, 0x8f, 0x90,
	                                0x9f,       0xa0, 0xbf, 0xc0, 0xff};
	uint8_t seq[4];
	for (int b0 = 0x80; b0 < 0x100; b0++) {
		seq[0] = (uint8_t)b0;
		size_t need = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : 2;
		for (int b1 = 0x80; b1 < 0x100; b1++) {
			seq[1] = (uint8_t)b1;
			if (need == 2) {
				check_utf8_seq(seq, 2);
				continue;
			}
			for (size_t t2 = 0; t2 < sizeof tails; t2++) {
				seq[2] = tails[t2];
				if (need == 3) {
					if (seq[2] >= 0x80)
						check_utf8_seq(seq, 3);
					continue;
				}
				for (size_t t3 = 0; t3 < sizeof tails; t3++) {
					seq[3] = tails[t3];
					if (seq[2] >= 0x80 && seq[3] >= 0x80)
						check_utf8_seq(seq, 4);
				}
			}
		}
	}
	/* A lone lead or continuation byte before the closing quote. */
	for (int b0 = 0x80; b0 < 0x100; b0++) {
		seq[0] = (uint8_t)b0;
		check_utf8_seq(seq, 1);
	}
}

/* Multi-byte characters at every position relative to the 8-byte
 * blocks the string scanner reads, and at the very end of the body. */
static void test_utf8_alignment(void **state)
{
	(void)state;
	static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e"};
	static const char *const broken[] = {"\xc3", "\xe2\x82", "\xf0\x9d\x84", "\xed\xa0\x80"};
	char value[64];
	for (size_t pad = 0; pad < 20; pad++) {
		for (size_t c = 0; c < 3; c++) {
			int n = snprintf(value, sizeof value, "\"%.*s%s%.*s\"", (int)pad,
			                 "xxxxxxxxxxxxxxxxxxxx", chars[c], (int)(19 - pad),
			                 "yyyyyyyyyyyyyyyyyyyy");
			size_t len;
			char *s = wrap(value, (size_t)n, &len);
			ok_len(VS_BODY_JSON, s, len);
			free(s);
		}
		for (size_t c = 0; c < 4; c++) {
			int n = snprintf(value, sizeof value, "\"%.*s%s\"", (int)pad,
			                 "xxxxxxxxxxxxxxxxxxxx", broken[c]);
			size_t len;
			char *s = wrap(value, (size_t)n, &len);
			vs_parse_error e = bad_len(VS_BODY_JSON, s, len, "bad_utf8");
			assert_int_equal(e.offset, 6 + pad);
			free(s);
		}
	}
	/* Cut off at the end of the body: in the ASCII run, inside the
	 * character, after it. */
	const char *cut = "{\"v\":\"xxxxxxxxxxxxxxxxxxxx\xe2\x82\xac";
	for (size_t len = 6; len <= strlen(cut); len++)
		bad_len(VS_BODY_JSON, cut, len,
		        len == 27 || len == 28 ? "bad_utf8" : "malformed_json");
	/* A truncated multi-byte character as the last bytes of the body. */
	bad_len(VS_BODY_JSON, "{\"v\":\"\xe2\x82", 8, "bad_utf8");
	bad_len(VS_BODY_JSON, "{\"v\":\"\xf0", 7, "bad_utf8");
}

/* Quotes, backslashes and control bytes at every offset within the
 * scanner's 8-byte blocks. */
static void test_string_specials_alignment(void **state)
{
	(void)state;
	static const char *const inner[] = {"\\\"", "\\\\", "\\n", "\\u0041", "\x7f", "\xc3\xa9"};
	char value[96];
	for (size_t pad = 0; pad < 24; pad++) {
		for (size_t k = 0; k < sizeof inner / sizeof inner[0]; k++) {
			int n = snprintf(value, sizeof value, "\"%.*s%s%.*s\"", (int)pad,
			                 "abcdefghijklmnopqrstuvwxyz", inner[k], (int)(24 - pad),
			                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			size_t len;
			char *s = wrap(value, (size_t)n, &len);
			ok_len(VS_BODY_JSON, s, len);
			free(s);
		}
		snprintf(value, sizeof value, "\"%.*s\x01\"", (int)pad,
		         "abcdefghijklmnopqrstuvwxyz");
		size_t len;
		char *s = wrap(value, strlen(value), &len);
		vs_parse_error e = bad_len(VS_BODY_JSON, s, len, "malformed_json");
		assert_int_equal(e.offset, 6 + pad);
		free(s);
		/* Unterminated at every length. */
		snprintf(value, sizeof value, "{\"v\":\"%.*s", (int)pad,
		         "abcdefghijklmnopqrstuvwxyz");
		bad_len(VS_BODY_JSON, value, strlen(value), "malformed_json");
	}
}

static void test_surrogate_escapes(void **state)
{
	(void)state;
	/* Every high surrogate pairs with every low one's ends; nothing else
	 * may follow a high surrogate. */
	static const unsigned highs[] = {0xd800, 0xd801, 0xdabc, 0xdbff};
	static const unsigned others[] = {0x0000, 0x0041, 0xd7ff, 0xd800, 0xdbff,
	                                  0xdc00, 0xdfff, 0xe000, 0xffff};
	char s[64];
	for (size_t h = 0; h < 4; h++) {
		for (size_t o = 0; o < sizeof others / sizeof others[0]; o++) {
			int n = snprintf(s, sizeof s, "{\"v\":\"\\u%04x\\u%04X\"}", highs[h],
			                 others[o]);
			bool pair = others[o] >= 0xdc00 && others[o] <= 0xdfff;
			if (pair)
				ok_len(VS_BODY_JSON, s, (size_t)n);
			else
				bad_len(VS_BODY_JSON, s, (size_t)n, "bad_utf8");
		}
		/* The high surrogate last in the string, and last in the body. */
		int n = snprintf(s, sizeof s, "{\"v\":\"\\u%04x\"}", highs[h]);
		bad_len(VS_BODY_JSON, s, (size_t)n, "bad_utf8");
		bad_len(VS_BODY_JSON, s, (size_t)n - 2, "bad_utf8");
	}
	ok(VS_BODY_JSON, "{\"v\":\"\\ud7ff\\ue000\"}");
}

static void test_byte_order_mark(void **state)
{
	(void)state;
	vs_parse_error e = bad(VS_BODY_JSON, "\xef\xbb\xbf{\"a\":1}", "malformed_json");
	assert_int_equal(e.offset, 0);
	assert_non_null(strstr(e.message, "byte order mark"));
	bad(VS_BODY_NDJSON, "\xef\xbb\xbf{\"a\":1}\n", "malformed_json");
	bad(VS_BODY_CLOUDEVENTS_BATCH, "\xef\xbb\xbf[]", "malformed_json");
	bad(VS_BODY_K8S_EVENTLIST, "\xef\xbb\xbf{}", "malformed_json");
	/* Not at the start either. */
	bad(VS_BODY_JSON, " \xef\xbb\xbf{\"a\":1}", "malformed_json");
	bad(VS_BODY_NDJSON, "{\"a\":1}\n\xef\xbb\xbf{\"a\":1}\n", "malformed_json");
	/* Inside a string it is an ordinary character. */
	ok(VS_BODY_JSON, "{\"a\":\"\xef\xbb\xbf\"}");
}

/* ------------------------------------------------------------ depth */

static void test_depth_limit(void **state)
{
	(void)state;
	char *s = nested_objects(VS_MAX_DEPTH);
	assert_int_equal(ok(VS_BODY_JSON, s), 1);
	free(s);
	s = nested_objects(VS_MAX_DEPTH + 1);
	vs_parse_error e = bad(VS_BODY_JSON, s, "too_deep");
	assert_int_equal(e.offset, 5 * VS_MAX_DEPTH);
	assert_int_equal(e.event, 0);
	free(s);

	/* Arrays count too: an event object holding 63, then 64, nested arrays. */
	for (size_t arrays = VS_MAX_DEPTH - 1; arrays <= VS_MAX_DEPTH; arrays++) {
		char *open = repeat("[", arrays, "");
		char *close = repeat("]", arrays, "}");
		s = concat3("{\"a\":", open, close);
		if (arrays < VS_MAX_DEPTH)
			ok(VS_BODY_JSON, s);
		else
			bad(VS_BODY_JSON, s, "too_deep");
		free(s);
		free(open);
		free(close);
	}
}

/* The envelope does not count towards an event's depth. */
static void test_depth_in_envelopes(void **state)
{
	(void)state;
	char *ev = nested_objects(VS_MAX_DEPTH), *deeper = nested_objects(VS_MAX_DEPTH + 1);
	char *s = concat3("[", ev, "]");
	ok(VS_BODY_JSON, s);
	free(s);
	s = concat3("[{},", deeper, "]");
	vs_parse_error e = bad(VS_BODY_JSON, s, "too_deep");
	assert_int_equal(e.event, 1);
	free(s);
	s = concat3(ev, "\n", ev);
	assert_int_equal(ok(VS_BODY_NDJSON, s), 2);
	free(s);

	/* A Kubernetes item at depth 64 of its own... */
	char *open = repeat("{\"a\":", VS_MAX_DEPTH - 1, "{}");
	char *close = repeat("}", VS_MAX_DEPTH - 1, "");
	char *item = concat3("{\"auditID\":\"x\",\"stage\":\"y\",\"deep\":", open + 5, close);
	s = concat3("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[", item,
	            "]}");
	assert_int_equal(ok(VS_BODY_K8S_EVENTLIST, s), 1);
	free(s);
	/* ...while other envelope members count from the envelope. */
	char *meta = repeat("{\"a\":", VS_MAX_DEPTH - 2, "{}");
	char *meta_close = repeat("}", VS_MAX_DEPTH - 2, "");
	char *m = concat3(
	    "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":", meta,
	    meta_close);
	s = concat3(m, ",\"items\":[{\"auditID\":\"x\",\"stage\":\"y\"}]", "}");
	ok(VS_BODY_K8S_EVENTLIST, s);
	free(s);
	free(m);
	m = concat3(
	    "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{\"a\":", meta,
	    meta_close);
	s = concat3(m, "},\"items\":[{\"auditID\":\"x\",\"stage\":\"y\"}]", "}");
	e = bad(VS_BODY_K8S_EVENTLIST, s, "too_deep");
	assert_int_equal(e.event, -1);
	free(s);
	free(m);
	free(meta);
	free(meta_close);
	free(item);
	free(open);
	free(close);
	free(ev);
	free(deeper);
}

/* A megabyte of '[' or '{"a":' fails fast at depth 65. */
static void test_depth_hostile(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *s = repeat("[", len, "");
	s[0] = '{';
	bad_len(VS_BODY_JSON, s, len, "malformed_json");
	free(s);
	s = repeat("{\"a\":", len / 5, "");
	vs_parse_error e = bad_len(VS_BODY_JSON, s, len / 5 * 5, "too_deep");
	assert_int_equal(e.offset, 5 * VS_MAX_DEPTH);
	free(s);
	s = repeat("{\"a\":[", len / 6, "");
	bad_len(VS_BODY_JSON, s, len / 6 * 6, "too_deep");
	free(s);
}

/* ------------------------------------------------------------ duplicate keys */

static void test_duplicate_keys(void **state)
{
	(void)state;
	vs_parse_error e = bad(VS_BODY_JSON, "{\"a\":1,\"b\":2,\"a\":3}", "duplicate_key");
	assert_int_equal(e.offset, 13);
	assert_int_equal(e.event, 0);
	assert_non_null(strstr(e.message, "duplicate key \"a\""));
	bad(VS_BODY_JSON, "{\"\":1,\"\":2}", "duplicate_key");
	bad(VS_BODY_JSON, "{\"a\":{\"x\":1,\"x\":2}}", "duplicate_key");
	bad(VS_BODY_JSON, "{\"a\":[{\"x\":1},{\"y\":1,\"y\":1}]}", "duplicate_key");
	/* The same key in different objects, or differing in case or by a
	 * trailing space, is fine. */
	ok(VS_BODY_JSON, "{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":1}}");
	ok(VS_BODY_JSON, "{\"a\":[{\"a\":1},{\"a\":1}],\"b\":{\"a\":1,\"b\":2}}");
	ok(VS_BODY_JSON, "{\"a\":1,\"A\":1,\"a \":1,\" a\":1,\"aa\":1}");
	/* A key closed by its inner object does not leak to the outer one. */
	ok(VS_BODY_JSON, "{\"x\":{\"y\":1},\"y\":2}");
	/* After a dupe in one event the next is not reached. */
	e = bad(VS_BODY_JSON, "[{\"a\":1},{\"b\":1,\"b\":2},{\"c\" 1}]", "duplicate_key");
	assert_int_equal(e.event, 1);
	assert_int_equal(e.offset, 16);
}

/* Keys are compared after unescaping. */
static void test_duplicate_keys_escaped(void **state)
{
	(void)state;
	static const char *const same[][2] = {
	    {"a", "\\u0061"},
	    {"\\u0061", "\\u0061"},
	    {"/", "\\/"},
	    {"\\u00e9", "\xc3\xa9"},
	    {"\\u00E9", "\\u00e9"},
	    {"\\ud834\\udd1e", "\xf0\x9d\x84\x9e"},
	    {"\\n", "\\u000a"},
	    {"a\\\"b", "a\\u0022b"},
	    {"\\\\", "\\u005c"},
	    {"x\\u0000", "x\\u0000"},
	    {"\\t\\t", "\\u0009\\t"},
	};
	static const char *const differ[][2] = {
	    {"a", "\\u0062"}, {"\\u0000", ""},     {"x\\u0000", "x"},
	    {"\\u00e9", "e"}, {"ab", "a\\u0062c"}, {"\\u00e9", "\xc3\xa8"},
	};
	char s[128];
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		snprintf(s, sizeof s, "{\"%s\":1,\"%s\":2}", same[i][0], same[i][1]);
		bad(VS_BODY_JSON, s, "duplicate_key");
	}
	for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
		snprintf(s, sizeof s, "{\"%s\":1,\"%s\":2}", differ[i][0], differ[i][1]);
		ok(VS_BODY_JSON, s);
	}
}

/* Objects with more keys than the pairwise check handles are sorted;
 * the duplicate reported is still the first one in body order. */
static void test_duplicate_keys_many(void **state)
{
	(void)state;
	for (size_t nkeys = 2; nkeys < 60; nkeys++) {
		for (size_t dup_of = 0; dup_of < nkeys; dup_of += 1 + nkeys / 7) {
			char *s = malloc(nkeys * 16 + 64);
			assert_non_null(s);
			size_t o = 0;
			s[o++] = '{';
			/* Keys in a scrambled order, then a repeat of key dup_of
			 * with escapes, then another repeat. */
			for (size_t k = 0; k < nkeys; k++)
				o += (size_t)sprintf(s + o, "\"k%zu\":%zu,", (k * 7919) % nkeys, k);
			size_t first_dup = o;
			o += (size_t)sprintf(s + o, "\"\\u006b%zu\":0,\"k%zu\":0}", dup_of, dup_of);
			vs_parse_error e = bad_len(VS_BODY_JSON, s, o, "duplicate_key");
			assert_int_equal(e.offset, first_dup);
			/* Without the repeats it is fine. */
			s[first_dup - 1] = '}';
			ok_len(VS_BODY_JSON, s, first_dup);
			free(s);
		}
	}
}

/* 100,000 keys: all distinct, then one repeated at the end, then keys
 * with a long common prefix.  Only has to finish. */
static void test_duplicate_keys_100k(void **state)
{
	(void)state;
	size_t nkeys = 100000;
	char *s = malloc(nkeys * 32 + 64);
	assert_non_null(s);
	size_t o = 0;
	s[o++] = '{';
	for (size_t k = 0; k < nkeys; k++)
		o += (size_t)sprintf(s + o, "\"key-%zu\":%zu,", (k * 48271) % nkeys, k);
	s[o - 1] = '}';
	assert_int_equal(ok_len(VS_BODY_JSON, s, o), 1);
	size_t at = o;
	s[o - 1] = ',';
	o += (size_t)sprintf(s + o, "\"key-%zu\":0}", nkeys / 3);
	vs_parse_error e = bad_len(VS_BODY_JSON, s, o, "duplicate_key");
	assert_int_equal(e.offset, at);
	/* The same keys spread over nested objects of 1000 each. */
	o = 0;
	s[o++] = '{';
	for (size_t k = 0; k < nkeys; k++) {
		if (k % 1000 == 0)
			o += (size_t)sprintf(s + o, "\"o%zu\":{", k);
		o += (size_t)sprintf(s + o, "\"k%zu\":0", k % 1000);
		s[o++] = k % 1000 == 999 ? '}' : ',';
		if (k % 1000 == 999)
			s[o++] = ',';
	}
	s[o - 1] = '}';
	ok_len(VS_BODY_JSON, s, o);
	free(s);

	/* 10,000 keys of 200 bytes that differ only at the end. */
	size_t klen = 200;
	nkeys = 10000;
	s = malloc(nkeys * (klen + 16) + 16);
	assert_non_null(s);
	o = 0;
	s[o++] = '{';
	for (size_t k = 0; k < nkeys; k++) {
		s[o++] = '"';
		memset(s + o, 'p', klen);
		o += klen;
		o += (size_t)sprintf(s + o, "%zu\":0,", (k * 7) % nkeys);
	}
	s[o - 1] = '}';
	ok_len(VS_BODY_JSON, s, o);
	free(s);
}

/* ------------------------------------------------------------ body kinds */

static void test_json_kind(void **state)
{
	(void)state;
	assert_int_equal(ok(VS_BODY_JSON, "{}"), 1);
	assert_int_equal(ok(VS_BODY_JSON, " \r\n\t{\"a\":1} \n"), 1);
	assert_int_equal(ok(VS_BODY_JSON, "[{}]"), 1);
	assert_int_equal(ok(VS_BODY_JSON, "[{},{},{}]"), 3);
	assert_int_equal(ok(VS_BODY_JSON, "\n[\n {\"a\":[1]} ,\n\t{\"b\":{}}\n]\n"), 2);
	vs_parse_error e = bad(VS_BODY_JSON, "[]", "empty_body");
	assert_int_equal(e.event, -1);
	bad(VS_BODY_JSON, " [ \n ] ", "empty_body");
	bad(VS_BODY_JSON, "", "empty_body");
	bad(VS_BODY_JSON, " \n\t\r ", "empty_body");
	e = bad(VS_BODY_JSON, "1", "not_an_object");
	assert_int_equal(e.event, 0);
	bad(VS_BODY_JSON, "\"event\"", "not_an_object");
	bad(VS_BODY_JSON, "null", "not_an_object");
	bad(VS_BODY_JSON, "[[]]", "not_an_object");
	e = bad(VS_BODY_JSON, "[{},{},7]", "not_an_object");
	assert_int_equal(e.event, 2);
	assert_int_equal(e.offset, 7);
	bad(VS_BODY_JSON, "[{},]", "malformed_json");
	bad(VS_BODY_JSON, "[{} {}]", "malformed_json");
	bad(VS_BODY_JSON, "[{}", "malformed_json");
	bad(VS_BODY_JSON, "{}{}", "malformed_json");
	bad(VS_BODY_JSON, "{} x", "malformed_json");
	bad_len(VS_BODY_JSON, "{}\0", 3, "malformed_json");
	bad(VS_BODY_JSON, "x", "malformed_json");
	bad(VS_BODY_JSON, "{\"a\":1}]", "malformed_json");
}

/* Exact spans: no whitespace, commas or line ends. */
static void test_span_offsets(void **state)
{
	(void)state;
	const char *body = " [ {\"a\":1} ,\n\t{ } ,{\"b\":[]}\r\n] ";
	vs_span spans[4];
	size_t n;
	vs_parse_error e;
	assert_int_equal(split_copy(VS_BODY_JSON, body, strlen(body), spans, 4, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(spans[0].off, 3);
	assert_int_equal(spans[0].len, 7);
	assert_int_equal(spans[1].off, 14);
	assert_int_equal(spans[1].len, 3);
	assert_int_equal(spans[2].off, 19);
	assert_int_equal(spans[2].len, 8);

	body = "\n  {\"a\":1}  \r\n\r\n{\"b\":2}\t\n{\"c\":3}";
	assert_int_equal(split_copy(VS_BODY_NDJSON, body, strlen(body), spans, 4, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(spans[0].off, 3);
	assert_int_equal(spans[0].len, 7);
	assert_int_equal(spans[1].off, 16);
	assert_int_equal(spans[1].len, 7);
	assert_int_equal(spans[2].off, 25);
	assert_int_equal(spans[2].len, 7);
}

static void test_ndjson_kind(void **state)
{
	(void)state;
	assert_int_equal(ok(VS_BODY_NDJSON, "{}"), 1);
	assert_int_equal(ok(VS_BODY_NDJSON, "{}\n"), 1);
	assert_int_equal(ok(VS_BODY_NDJSON, "{}\r\n{}\r\n"), 2);
	assert_int_equal(ok(VS_BODY_NDJSON, "\n\n{}\n\n\n{}\n\n"), 2);
	assert_int_equal(ok(VS_BODY_NDJSON, " \t{\"a\":[1, 2]} \t\r\n"), 1);
	assert_int_equal(ok(VS_BODY_NDJSON, "{\"a\":\r1}"), 1); /* CR is whitespace */
	bad(VS_BODY_NDJSON, "", "empty_body");
	bad(VS_BODY_NDJSON, "\n", "empty_body");
	bad(VS_BODY_NDJSON, " \r\n\t\n\r\n  ", "empty_body");
	/* A value may not span lines, and a line holds one value. */
	vs_parse_error e = bad(VS_BODY_NDJSON, "{\"a\":\n1}", "malformed_json");
	assert_int_equal(e.offset, 5);
	assert_non_null(strstr(e.message, "line ends"));
	bad(VS_BODY_NDJSON, "{\n}", "malformed_json");
	e = bad(VS_BODY_NDJSON, "{}{}", "malformed_json");
	assert_int_equal(e.offset, 2);
	bad(VS_BODY_NDJSON, "{} {}\n", "malformed_json");
	bad(VS_BODY_NDJSON, "{}\r{}", "malformed_json");
	bad(VS_BODY_NDJSON, "{},\n{}", "malformed_json");
	/* Arrays are not unwrapped. */
	e = bad(VS_BODY_NDJSON, "{}\n[{}]\n", "not_an_object");
	assert_int_equal(e.event, 1);
	assert_int_equal(e.offset, 3);
	bad(VS_BODY_NDJSON, "{}\n42\n", "not_an_object");
	bad(VS_BODY_NDJSON, "{}\n\"x\"", "not_an_object");
	bad(VS_BODY_NDJSON, "{}\n#comment\n", "malformed_json");
	bad(VS_BODY_NDJSON, "{\"a\":\"x\n\"}", "malformed_json");
	bad(VS_BODY_NDJSON, "{\"a\":1,\"a\":2}\n", "duplicate_key");
}

/* Error messages name the event, the line (NDJSON) and the byte. */
static void test_error_messages(void **state)
{
	(void)state;
	vs_parse_error e = bad(VS_BODY_JSON, "[{},{},{},{\"a\":[1 2]}]", "malformed_json");
	assert_string_equal(e.message, "event 3: expected ',' or ']' but found '2' at byte 18");
	assert_int_equal(e.event, 3);
	assert_int_equal(e.offset, 18);
	e = bad(VS_BODY_JSON, "[{\"a\":1}{\"b\":2}]", "malformed_json");
	assert_string_equal(e.message, "expected ',' or ']' after event 0 but found '{' at byte 8");
	assert_int_equal(e.event, -1);
	e = bad(VS_BODY_NDJSON, "{}\n\n{\"a\":tru}\n", "malformed_json");
	assert_string_equal(e.message,
	                    "event 1 (line 3): invalid literal (expected true) at byte 9");
	e = bad(VS_BODY_JSON, "{\"a\":\"x", "malformed_json");
	assert_string_equal(e.message, "event 0: unterminated string (opened at byte 5) at byte 7");
	e = bad(VS_BODY_JSON, "{\"a\":1 ", "malformed_json");
	assert_string_equal(e.message, "event 0: expected ',' or '}' but the body ends at byte 7");
	e = bad(VS_BODY_JSON, "{\"a\":\"\x01\"}", "malformed_json");
	assert_string_equal(e.message,
	                    "event 0: control character 0x01 in a string (escape it) at byte 6");
	e = bad(VS_BODY_JSON, "{\"a\":\"\\ud800\"}", "bad_utf8");
	assert_string_equal(e.message, "event 0: unpaired surrogate escape \\ud800 at byte 6");
	e = bad(VS_BODY_JSON, "", "empty_body");
	assert_string_equal(e.message, "the body is empty at byte 0");
	/* Long keys are shortened in messages, at a character boundary. */
	char *key = repeat("\xc3\xa9", 100, "");
	char *s1 = concat3("{\"", key, "\":1,\"");
	char *s2 = concat3(s1, key, "\":2}");
	e = bad(VS_BODY_JSON, s2, "duplicate_key");
	if (strstr(e.message, "\xc3\xa9...\"") == NULL)
		fail_msg("%s", e.message);
	assert_true(strlen(e.message) < sizeof e.message);
	free(key);
	free(s1);
	free(s2);
	/* ...also when the cut falls inside a character. */
	key = repeat("\xc3\xa9", 100, "");
	s1 = concat3("{\"a", key, "\":1,\"a");
	s2 = concat3(s1, key, "\":2}");
	e = bad(VS_BODY_JSON, s2, "duplicate_key");
	if (strstr(e.message, "\"a\xc3\xa9") == NULL || strstr(e.message, "\xc3\xa9...\"") == NULL)
		fail_msg("%s", e.message);
	free(key);
	free(s1);
	free(s2);
}

static const char ce_ok[] = "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/"
                            "s\",\"type\":\"t\",\"data\":{\"id\":\"\"}}";

static void test_cloudevent_kind(void **state)
{
	(void)state;
	assert_int_equal(ok(VS_BODY_CLOUDEVENT, ce_ok), 1);
	ok(VS_BODY_CLOUDEVENT,
	   "{\"type\":\"t\",\"source\":\"s\",\"id\":\"i\",\"specversion\":\"1.0\"}");
	ok(VS_BODY_CLOUDEVENT,
	   "{\"specversion\":\"\\u0031.0\",\"id\":\"\\u0000\",\"source\":\"s\",\"type\":\"t\"}");
	static const struct {
		const char *body;
		const char *code;
		const char *member;
	} cases[] = {
	    {"{\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\"}", "missing_field", "specversion"},
	    {"{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}", "missing_field", "id"},
	    {"{\"specversion\":\"1.0\",\"id\":\"e1\",\"type\":\"t\"}", "missing_field", "source"},
	    {"{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\"}", "missing_field", "type"},
	    {"{\"specversion\":\"0.3\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\"}",
	     "bad_field", "specversion"},
	    {"{\"specversion\":1.0,\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\"}", "bad_field",
	     "specversion"},
	    {"{\"specversion\":\"1.0 \",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\"}",
	     "bad_field", "specversion"},
	    {"{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"/s\",\"type\":\"t\"}", "bad_field",
	     "id"},
	    {"{\"specversion\":\"1.0\",\"id\":7,\"source\":\"/s\",\"type\":\"t\"}", "bad_field",
	     "id"},
	    {"{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":null,\"type\":\"t\"}", "bad_field",
	     "source"},
	    {"{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"s\",\"type\":[\"t\"]}",
	     "bad_field", "type"},
	    {"{\"specversion\":\"1.0\",\"data\":{\"id\":\"e\",\"source\":\"s\",\"type\":\"t\"}}",
	     "missing_field", "id"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vs_parse_error e = bad(VS_BODY_CLOUDEVENT, cases[i].body, cases[i].code);
		char quoted[32];
		snprintf(quoted, sizeof quoted, "\"%s\"", cases[i].member);
		if (strstr(e.message, quoted) == NULL)
			fail_msg("\"%s\" does not name %s", e.message, quoted);
		assert_int_equal(e.event, 0);
	}
	/* A batch sent as a single event, and the other way round. */
	bad(VS_BODY_CLOUDEVENT, "[]", "wrong_kind");
	bad(VS_BODY_CLOUDEVENT, "7", "not_an_object");
	bad(VS_BODY_CLOUDEVENT, "{\"specversion\":\"1.0\",\"id\":\"1\",\"id\":\"2\"}",
	    "duplicate_key");
}

static void test_cloudevents_batch_kind(void **state)
{
	(void)state;
	char *two = concat3("[", ce_ok, ",");
	char *s = concat3(two, ce_ok, "]");
	assert_int_equal(ok(VS_BODY_CLOUDEVENTS_BATCH, s), 2);
	free(s);
	s = concat3(two, "{\"specversion\":\"1.0\"}", "]");
	vs_parse_error e = bad(VS_BODY_CLOUDEVENTS_BATCH, s, "missing_field");
	assert_int_equal(e.event, 1);
	assert_int_equal(e.offset, strlen(two));
	free(s);
	free(two);
	bad(VS_BODY_CLOUDEVENTS_BATCH, "[]", "empty_body");
	bad(VS_BODY_CLOUDEVENTS_BATCH, ce_ok, "wrong_kind");
	bad(VS_BODY_CLOUDEVENTS_BATCH, "\"x\"", "wrong_kind");
	bad(VS_BODY_CLOUDEVENTS_BATCH, "[1]", "not_an_object");
	bad(VS_BODY_CLOUDEVENTS_BATCH, "x", "malformed_json");
	bad(VS_BODY_CLOUDEVENTS_BATCH, "", "empty_body");
}

#define K8S_HEAD "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\","
#define K8S_ITEM "{\"auditID\":\"a1\",\"stage\":\"ResponseComplete\"}"

static void test_k8s_eventlist_kind(void **state)
{
	(void)state;
	assert_int_equal(ok(VS_BODY_K8S_EVENTLIST, K8S_HEAD "\"items\":[" K8S_ITEM "]}"), 1);
	assert_int_equal(ok(VS_BODY_K8S_EVENTLIST,
	                    "{\"items\":[" K8S_ITEM "," K8S_ITEM "],\"metadata\":{},"
	                    "\"apiVersion\":\"audit.k8s.io/v1\",\"kind\":\"Event\\u004cist\"}"),
	                 2);
	static const struct {
		const char *body;
		const char *code;
		long event;
	} cases[] = {
	    {"{\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[" K8S_ITEM "]}", "missing_field", -1},
	    {"{\"kind\":\"EventList\",\"items\":[" K8S_ITEM "]}", "missing_field", -1},
	    {K8S_HEAD "\"metadata\":{}}", "missing_field", -1},
	    {"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[" K8S_ITEM "]}",
	     "wrong_kind", -1},
	    {"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[]}", "wrong_kind", -1},
	    {"{\"kind\":1,\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[" K8S_ITEM "]}",
	     "bad_field", -1},
	    {"{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1beta1\",\"items\":[" K8S_ITEM
	     "]}",
	     "bad_field", -1},
	    {K8S_HEAD "\"items\":{}}", "bad_field", -1},
	    {K8S_HEAD "\"items\":null}", "bad_field", -1},
	    {K8S_HEAD "\"items\":[]}", "empty_body", -1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM ",{\"stage\":\"x\"}]}", "missing_field", 1},
	    {K8S_HEAD "\"items\":[{\"auditID\":\"a\"}]}", "missing_field", 0},
	    {K8S_HEAD "\"items\":[{\"auditID\":\"\",\"stage\":\"x\"}]}", "bad_field", 0},
	    {K8S_HEAD "\"items\":[{\"auditID\":\"a\",\"stage\":3}]}", "bad_field", 0},
	    {K8S_HEAD "\"items\":[" K8S_ITEM ",[]]}", "not_an_object", 1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM "],\"items\":[" K8S_ITEM "]}", "duplicate_key", -1},
	    {K8S_HEAD "\"kind\":\"EventList\",\"items\":[" K8S_ITEM "]}", "duplicate_key", -1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM ",]}", "malformed_json", 1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM "]", "malformed_json", -1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM "]}}", "malformed_json", -1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM "],}", "malformed_json", -1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM "] \"x\":1}", "malformed_json", -1},
	    {K8S_HEAD "\"items\" [" K8S_ITEM "]}", "malformed_json", -1},
	    {K8S_HEAD "\"items\":", "malformed_json", -1},
	    {K8S_HEAD "\"items\":x", "malformed_json", -1},
	    {K8S_HEAD "\"items\":[" K8S_ITEM "],\"x\":01}", "malformed_json", -1},
	    {K8S_HEAD "items:[]}", "malformed_json", -1},
	    {"[" K8S_HEAD "\"items\":[" K8S_ITEM "]}]", "wrong_kind", -1},
	    {"\"EventList\"", "wrong_kind", -1},
	    {"{}", "missing_field", -1},
	    {"{", "malformed_json", -1},
	    {"?", "malformed_json", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vs_parse_error e = bad(VS_BODY_K8S_EVENTLIST, cases[i].body, cases[i].code);
		if (e.event != cases[i].event)
			fail_msg("%s: event %ld, want %ld", e.message, e.event, cases[i].event);
	}
}

static void test_max_events(void **state)
{
	(void)state;
	vs_span spans[8];
	size_t n;
	vs_parse_error e;
	const char *arr = "[{},{},{},{}]";
	for (size_t max = 0; max <= 5; max++) {
		int rc = split_copy(VS_BODY_JSON, arr, strlen(arr), spans, max, &n, &e);
		if (max >= 4) {
			assert_int_equal(rc, 0);
			assert_int_equal(n, 4);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.code, "too_many_events");
			assert_int_equal(e.event, (long)max);
			assert_int_equal(e.offset, 1 + 3 * max);
		}
	}
	const char *nd = "{}\n{}\n\n{}\n";
	assert_int_equal(split_copy(VS_BODY_NDJSON, nd, strlen(nd), spans, 3, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(split_copy(VS_BODY_NDJSON, nd, strlen(nd), spans, 2, &n, &e), -1);
	assert_string_equal(e.code, "too_many_events");
	assert_int_equal(e.offset, 7);
	assert_non_null(strstr(e.message, "line 4"));
	/* A single object needs room for one span. */
	assert_int_equal(split_copy(VS_BODY_JSON, "{}", 2, spans, 0, &n, &e), -1);
	assert_string_equal(e.code, "too_many_events");
	const char *k8s = K8S_HEAD "\"items\":[" K8S_ITEM "," K8S_ITEM "]}";
	assert_int_equal(split_copy(VS_BODY_K8S_EVENTLIST, k8s, strlen(k8s), spans, 1, &n, &e), -1);
	assert_string_equal(e.code, "too_many_events");
	assert_int_equal(e.event, 1);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	vs_span spans[2];
	size_t n = 99;
	vs_parse_error e;
	assert_int_equal(vs_body_split(VS_BODY_JSON, NULL, 0, spans, 2, &n, &e), -1);
	assert_string_equal(e.code, "empty_body");
	assert_int_equal(n, 0);
	assert_int_equal(vs_body_split(VS_BODY_JSON, NULL, 5, spans, 2, &n, &e), -1);
	assert_string_equal(e.code, "bad_argument");
	assert_int_equal(vs_body_split(VS_BODY_JSON, (const uint8_t *)"{}", 2, NULL, 2, &n, &e),
	                 -1);
	assert_int_equal(vs_body_split(VS_BODY_JSON, (const uint8_t *)"{}", 2, spans, 2, NULL, &e),
	                 -1);
	assert_int_equal(
	    vs_body_split((enum vs_body_kind)42, (const uint8_t *)"{}", 2, spans, 2, &n, &e), -1);
	assert_string_equal(e.code, "wrong_kind");
	/* err may be NULL; a success clears it. */
	assert_int_equal(vs_body_split(VS_BODY_JSON, (const uint8_t *)"[1]", 3, spans, 2, &n, NULL),
	                 -1);
	assert_int_equal(vs_body_split(VS_BODY_JSON, (const uint8_t *)"{}", 2, spans, 2, &n, NULL),
	                 0);
	assert_int_equal(vs_body_split(VS_BODY_JSON, (const uint8_t *)"{}", 2, spans, 2, &n, &e),
	                 0);
	assert_null(e.code);
	assert_int_equal(e.event, -1);
	assert_string_equal(e.message, "");
}

/* JSON whitespace may stand between any two tokens; nothing else may. */
static void test_whitespace_everywhere(void **state)
{
	(void)state;
	static const char *const tokens[] = {"{",     "\"a\"", ":",     "[", "1",    ",",
	                                     "\"s\"", ",",     "{",     "}", ",",    "true",
	                                     "]",     ",",     "\"b\"", ":", "null", "}"};
	static const char *const good[] = {" ", "\t", "\r", "\n", " \r\n\t "};
	static const char *const bad_ws[] = {"\f",       "\v",           "\x00",
	                                     "\xc2\xa0", "\xe2\x80\x8b", "/**/"};
	size_t ntok = sizeof tokens / sizeof tokens[0];
	char body[256];
	for (size_t at = 0; at <= ntok; at++) {
		for (size_t w = 0;
		     w < sizeof good / sizeof good[0] + sizeof bad_ws / sizeof bad_ws[0]; w++) {
			bool is_good = w < sizeof good / sizeof good[0];
			const char *ws =
			    is_good ? good[w] : bad_ws[w - sizeof good / sizeof good[0]];
			size_t o = 0;
			for (size_t t = 0; t <= ntok; t++) {
				if (t == at) {
					size_t wl = strcmp(ws, "\x00") == 0 ? 1 : strlen(ws);
					memcpy(body + o, ws, wl);
					o += wl;
				}
				if (t < ntok) {
					memcpy(body + o, tokens[t], strlen(tokens[t]));
					o += strlen(tokens[t]);
				}
			}
			if (is_good)
				assert_int_equal(ok_len(VS_BODY_JSON, body, o), 1);
			else
				bad_len(VS_BODY_JSON, body, o, "malformed_json");
		}
	}
}

/* Keys are scoped to their object, also once the key table has moved to
 * the heap and while inner objects come and go. */
static void test_key_scopes(void **state)
{
	(void)state;
	char *s = malloc(64 * 1024);
	assert_non_null(s);
	for (int variant = 0; variant < 3; variant++) {
		size_t o = 0;
		s[o++] = '{';
		for (int k = 0; k < 300; k++) {
			o += (size_t)sprintf(s + o, "\"k%d\":", k);
			if (k % 50 == 49) /* an inner object repeating outer keys */
				o += (size_t)sprintf(
				    s + o, "{\"k0\":1,\"k%d\":{\"k%d\":[{\"k1\":0}]},\"x\":0},", k,
				    k);
			else
				o += (size_t)sprintf(s + o, "%d,", k);
		}
		if (variant == 1) /* a repeat of a key before the inner objects */
			o += (size_t)sprintf(s + o, "\"k49\":0,");
		if (variant == 2) /* a key only inner objects had */
			o += (size_t)sprintf(s + o, "\"x\":0,");
		s[o - 1] = '}';
		if (variant == 1)
			bad_len(VS_BODY_JSON, s, o, "duplicate_key");
		else
			ok_len(VS_BODY_JSON, s, o);
	}
	free(s);
}

/* Many events: 100 copies of the NDJSON sample, and as one JSON array. */
static void test_many_events(void **state)
{
	(void)state;
	size_t len, n;
	uint8_t *one = read_example("audit-events.ndjson", &len);
	size_t copies = 100, total = len * copies;
	uint8_t *nd = malloc(total);
	assert_non_null(nd);
	for (size_t i = 0; i < copies; i++)
		memcpy(nd + i * len, one, len);
	vs_span *spans = split_all(VS_BODY_NDJSON, nd, total, 200 * copies, &n);
	assert_int_equal(n, 200 * copies);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(spans[i].len, spans[i % 200].len);
		assert_int_equal(spans[i].off, spans[i % 200].off + i / 200 * len);
	}
	/* One too many. */
	vs_parse_error e;
	assert_int_equal(vs_body_split(VS_BODY_NDJSON, nd, total, spans, n - 1, &n, &e), -1);
	assert_string_equal(e.code, "too_many_events");
	assert_int_equal(e.event, 200 * copies - 1);
	free(spans);

	/* The same events as an array: newlines become commas. */
	uint8_t *arr = malloc(total + 2);
	assert_non_null(arr);
	arr[0] = '[';
	for (size_t i = 0; i < total; i++)
		arr[i + 1] = nd[i] == '\n' ? ',' : nd[i];
	arr[total] = ']';
	spans = split_all(VS_BODY_JSON, arr, total + 1, 200 * copies, &n);
	assert_int_equal(n, 200 * copies);
	free(spans);
	free(arr);
	free(nd);
	free(one);
}

/* ------------------------------------------------------------ Content-Type */

static void test_content_type(void **state)
{
	(void)state;
	static const struct {
		const char *ct;
		int kind;
	} cases[] = {
	    {"application/json", VS_BODY_JSON},
	    {"Application/JSON", VS_BODY_JSON},
	    {"application/json; charset=utf-8", VS_BODY_JSON},
	    {"application/json;charset=UTF-8", VS_BODY_JSON},
	    {"application/json ; charset=\"utf-8\"", VS_BODY_JSON},
	    {" application/json\t", VS_BODY_JSON},
	    {"application/json; foo=bar; charset=utf-8", VS_BODY_JSON},
	    {"application/json;", VS_BODY_JSON},
	    {"application/json; ;charset=utf-8", VS_BODY_JSON},
	    {"application/json; q=\"a;b\\\"c\"", VS_BODY_JSON},
	    {"application/x-ndjson", VS_BODY_NDJSON},
	    {"application/X-NDJSON; charset=utf-8", VS_BODY_NDJSON},
	    {"application/ndjson", VS_BODY_NDJSON},
	    {"application/cloudevents+json", VS_BODY_CLOUDEVENT},
	    {"application/cloudevents+json; charset=UTF-8", VS_BODY_CLOUDEVENT},
	    {"application/cloudevents-batch+json", VS_BODY_CLOUDEVENTS_BATCH},
	    {"APPLICATION/CLOUDEVENTS-BATCH+JSON", VS_BODY_CLOUDEVENTS_BATCH},
	    {NULL, -1},
	    {"", -1},
	    {"text/plain", -1},
	    {"application/jsonl", -1},
	    {"application/json-seq", -1},
	    {"application/jsonx", -1},
	    {"application/jso", -1},
	    {"application/ld+json", -1},
	    {"text/json", -1},
	    {"application/x-json", -1},
	    {"application/json; charset=iso-8859-1", -1},
	    {"application/json; charset=utf8", -1},
	    {"application/json; charset=\"utf-16\"", -1},
	    {"application/json; charset=utf-8-x", -1},
	    {"application/json; charset=utf-8-and-then-some-more", -1},
	    {"application/json; charset=\"utf-8-and-then-some-more\"", -1},
	    {"application/json; profile=\"https://example.com/a/very/long/profile\"", VS_BODY_JSON},
	    {"application/json; charset=\"utf-8", -1},
	    {"application/json; charset", -1},
	    {"application/json; charset=", -1},
	    {"application/json; =utf-8", -1},
	    {"application/json charset=utf-8", -1},
	    {"application/json, text/plain", -1},
	    {"application / json", -1},
	    {"application/cloudevents", -1},
	    {"application/cloudevents-batch", -1},
	    {"*/*", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int k = vs_body_kind_from_content_type(cases[i].ct);
		if (k != cases[i].kind)
			fail_msg("\"%s\": %d, want %d", cases[i].ct ? cases[i].ct : "(null)", k,
			         cases[i].kind);
	}
}

/* ------------------------------------------------------------ string members */

/* vs_json_object_string on an exact-size copy. */
static long get_string(const char *obj, const char *key, char *out, size_t cap)
{
	uint8_t *c = dup_exact(obj, strlen(obj));
	long r = vs_json_object_string(c, strlen(obj), key, out, cap);
	free(c);
	return r;
}

static void test_object_string(void **state)
{
	(void)state;
	const char *obj =
	    " { \"a\" : \"x\" , \"n\":1, \"o\":{\"id\":\"inner\"}, \"arr\":[\"id\",{\"id\":1}],"
	    "\"id\":\"outer\", \"e\":\"\", \"t\":true }\n";
	char out[64];
	assert_int_equal(get_string(obj, "id", out, sizeof out), 5);
	assert_string_equal(out, "outer");
	assert_int_equal(get_string(obj, "a", out, sizeof out), 1);
	assert_string_equal(out, "x");
	assert_int_equal(get_string(obj, "e", out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(get_string(obj, "n", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "o", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "arr", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "t", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "missing", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "i", out, sizeof out), -1);
	assert_int_equal(get_string(obj, "idx", out, sizeof out), -1);
	assert_int_equal(get_string("{}", "id", out, sizeof out), -1);
	assert_int_equal(get_string("{\"\":\"empty key\"}", "", out, sizeof out), 9);
	assert_int_equal(get_string("[\"id\",\"x\"]", "id", out, sizeof out), -1);
	assert_int_equal(get_string("\"id\"", "id", out, sizeof out), -1);
	assert_int_equal(vs_json_object_string(NULL, 0, "id", out, sizeof out), -1);
	assert_int_equal(get_string(obj, NULL, out, sizeof out), -1);
	/* Keys inside strings are not members. */
	assert_int_equal(
	    get_string("{\"x\":\"\\\"id\\\":\\\"no\\\"\",\"id\":\"yes\"}", "id", out, sizeof out),
	    3);
	assert_string_equal(out, "yes");
	assert_int_equal(get_string("{\"x\":\"\\\\\",\"id\":\"yes\"}", "id", out, sizeof out), 3);
	assert_int_equal(get_string("{\"x\":[\"]\",\"}\"],\"id\":\"yes\"}", "id", out, sizeof out),
	                 3);
}

static void test_object_string_escapes(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(
	    get_string("{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", "s", out, sizeof out), 12);
	assert_string_equal(out, "a\"b\\c/d\b\f\n\r\t");
	assert_int_equal(get_string("{\"s\":\"\\u0041\\u00e9\\u20AC\\uD834\\uDD1E\\uDBFF\\uDFFF\"}",
	                            "s", out, sizeof out),
	                 1 + 2 + 3 + 4 + 4);
	assert_string_equal(out, "A\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf");
	assert_int_equal(get_string("{\"s\":\"\xc3\xa9\xf0\x9d\x84\x9e\"}", "s", out, sizeof out),
	                 6);
	assert_string_equal(out, "\xc3\xa9\xf0\x9d\x84\x9e");
	/* An escaped NUL is kept, and shows in the length. */
	assert_int_equal(get_string("{\"s\":\"a\\u0000b\"}", "s", out, sizeof out), 3);
	assert_memory_equal(out, "a\0b", 4);
	/* Escaped keys match their unescaped form, and the other way round. */
	assert_int_equal(get_string("{\"\\u0069\\u0064\":\"x\"}", "id", out, sizeof out), 1);
	assert_int_equal(get_string("{\"\\u00e9\":\"x\"}", "\xc3\xa9", out, sizeof out), 1);
	assert_int_equal(
	    get_string("{\"\\ud834\\udd1e\":\"x\"}", "\xf0\x9d\x84\x9e", out, sizeof out), 1);
	assert_int_equal(get_string("{\"\\u0069\\u0064x\":\"x\"}", "id", out, sizeof out), -1);
	assert_int_equal(get_string("{\"\\u0069\":\"x\"}", "id", out, sizeof out), -1);
	/* Malformed escapes in an unvalidated object are not decoded. */
	assert_int_equal(get_string("{\"s\":\"\\ud800\"}", "s", out, sizeof out), -1);
	assert_int_equal(get_string("{\"s\":\"\\udc00\"}", "s", out, sizeof out), -1);
	assert_int_equal(get_string("{\"s\":\"\\u12\"}", "s", out, sizeof out), -1);
	assert_int_equal(get_string("{\"s\":\"\\x\"}", "s", out, sizeof out), -1);
	assert_int_equal(get_string("{\"s\":\"\\ud800\\u0041\"}", "s", out, sizeof out), -1);
	assert_int_equal(get_string("{\"s\":\"\\ud800\\\"}", "s", out, sizeof out), -1);
}

static void test_object_string_capacity(void **state)
{
	(void)state;
	char out[16];
	const char *obj = "{\"s\":\"\\u00e9abc\"}"; /* 5 bytes unescaped */
	for (size_t cap = 0; cap < sizeof out; cap++) {
		memset(out, '#', sizeof out);
		long r = get_string(obj, "s", out, cap);
		if (cap >= 6) {
			assert_int_equal(r, 5);
			assert_string_equal(out, "\xc3\xa9"
			                         "abc");
		} else {
			assert_int_equal(r, -2);
		}
		for (size_t i = cap; i < sizeof out; i++)
			assert_int_equal(out[i], '#');
	}
	assert_int_equal(get_string(obj, "s", NULL, 0), -2);
	assert_int_equal(get_string(obj, "x", NULL, 0), -1);
}

/* Arbitrary bytes: no crash, no read outside the object, and every
 * proper prefix of an object finds only what lies wholly inside it. */
static void test_object_string_hostile(void **state)
{
	(void)state;
	static const char alphabet[] = "{}[]\"\\:, id\n0u";
	char out[32];
	uint8_t buf[40];
	for (int round = 0; round < 200000; round++) {
		size_t len = rng() % sizeof buf;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)alphabet[rng() % (sizeof alphabet - 1)];
		uint8_t *c = dup_exact(buf, len);
		long r = vs_json_object_string(c, len, "id", out, sizeof out);
		assert_true(r >= -2 && r < (long)sizeof out);
		if (r >= 0)
			assert_int_equal(out[r], '\0');
		free(c);
	}
	const char *obj = "{\"a\":[1,{\"b\":\"}\"}],\"id\":\"\\u00e9x\",\"z\":\"\\\\\"}";
	for (size_t cut = 0; cut <= strlen(obj); cut++) {
		uint8_t *c = dup_exact(obj, cut);
		long r = vs_json_object_string(c, cut, "id", out, sizeof out);
		/* Found only once the whole value is there. */
		assert_int_equal(r, cut >= 33 ? 3 : -1);
		free(c);
	}
}

int main(void)
{
	const char *seed_env = getenv("VL_SEED");
	uint64_t seed = (seed_env != NULL && *seed_env != '\0') ? strtoull(seed_env, NULL, 0)
	                                                        : 0x696e676573742121ull;
	printf("test_ingest_parse: seed %" PRIu64 " (set VL_SEED to reproduce)\n", seed);
	fflush(stdout);
	rng_state = seed != 0 ? seed : 1;

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample_ndjson),
	    cmocka_unit_test(test_sample_cloudevents_batch),
	    cmocka_unit_test(test_sample_cloudevent_single),
	    cmocka_unit_test(test_sample_k8s_eventlist),
	    cmocka_unit_test(test_sample_wrong_kinds),
	    cmocka_unit_test(test_sample_prefixes),
	    cmocka_unit_test(test_sample_mutations),
	    cmocka_unit_test(test_valid_values),
	    cmocka_unit_test(test_invalid_values),
	    cmocka_unit_test(test_invalid_keys),
	    cmocka_unit_test(test_random_vs_jansson),
	    cmocka_unit_test(test_literals_and_numbers_at_end),
	    cmocka_unit_test(test_control_characters),
	    cmocka_unit_test(test_utf8_exhaustive),
	    cmocka_unit_test(test_utf8_alignment),
	    cmocka_unit_test(test_string_specials_alignment),
	    cmocka_unit_test(test_surrogate_escapes),
	    cmocka_unit_test(test_byte_order_mark),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_depth_in_envelopes),
	    cmocka_unit_test(test_depth_hostile),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_duplicate_keys_escaped),
	    cmocka_unit_test(test_duplicate_keys_many),
	    cmocka_unit_test(test_duplicate_keys_100k),
	    cmocka_unit_test(test_json_kind),
	    cmocka_unit_test(test_span_offsets),
	    cmocka_unit_test(test_ndjson_kind),
	    cmocka_unit_test(test_error_messages),
	    cmocka_unit_test(test_cloudevent_kind),
	    cmocka_unit_test(test_cloudevents_batch_kind),
	    cmocka_unit_test(test_k8s_eventlist_kind),
	    cmocka_unit_test(test_max_events),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_whitespace_everywhere),
	    cmocka_unit_test(test_key_scopes),
	    cmocka_unit_test(test_many_events),
	    cmocka_unit_test(test_content_type),
	    cmocka_unit_test(test_object_string),
	    cmocka_unit_test(test_object_string_escapes),
	    cmocka_unit_test(test_object_string_capacity),
	    cmocka_unit_test(test_object_string_hostile),
	};
	return cmocka_run_group_tests_name("ingest_parse", tests, NULL, NULL);
}
