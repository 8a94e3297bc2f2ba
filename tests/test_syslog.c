/*
 * test_syslog.c — RFC 6587 framing and RFC 5424 / RFC 3164 parsing
 * (src/server/syslog.c), on the sample messages in examples/ and on hostile
 * input.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every input is an exact-length heap copy (no NUL after the data), so a
 * read past the end is caught by AddressSanitizer.  VL_EXAMPLES names the
 * directory of sample inputs (default "examples").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syslog.h"

/* ------------------------------------------------------------ helpers */

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

/* Messages a framer delivered, each an exact-size copy. */
struct got {
	uint8_t *msg[64];
	size_t len[64];
	size_t n;
	size_t stop_after; /* return non-zero at this message (0: never) */
};

static int collect(void *ctx, const uint8_t *msg, size_t len)
{
	struct got *g = ctx;
	assert_true(g->n < 64);
	g->msg[g->n] = dup_exact(msg, len);
	g->len[g->n] = len;
	g->n++;
	return g->stop_after != 0 && g->n == g->stop_after;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->msg[i]);
	memset(g, 0, sizeof *g);
}

static void assert_msg(const struct got *g, size_t i, const char *want)
{
	assert_true(i < g->n);
	if (g->len[i] != strlen(want) || memcmp(g->msg[i], want, g->len[i]) != 0)
		fail_msg("message %zu is \"%.*s\", want \"%s\"", i, (int)g->len[i],
		         (const char *)g->msg[i], want);
}

/* Feed s (an exact heap copy of it) to a fresh framer in chunks of
 * chunk bytes (0: all at once); the final feed's result. */
static int frame_chunks(const void *s, size_t len, size_t max, size_t chunk, struct got *g,
                        char *err, size_t errcap)
{
	vs_syslog_framer fr;
	assert_int_equal(vs_syslog_framer_init(&fr, max), 0);
	uint8_t *c = dup_exact(s, len);
	int rc = 0;
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len && rc == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		/* Each chunk its own exact copy, so over-reads of a chunk show. */
		uint8_t *part = dup_exact(c + off, n);
		rc = vs_syslog_feed(&fr, part, n, collect, g, err, errcap);
		free(part);
	}
	free(c);
	vs_syslog_framer_free(&fr);
	return rc;
}

static int frame(const char *s, size_t max, struct got *g, char *err, size_t errcap)
{
	return frame_chunks(s, strlen(s), max, 0, g, err, errcap);
}

/* vs_syslog_parse on an exact heap copy of s. */
static int parse_len(const char *s, size_t len, vs_syslog_msg *m, char *err, size_t errcap)
{
	uint8_t *c = dup_exact(s, len);
	int rc = vs_syslog_parse(c, len, m, err, errcap);
	free(c);
	return rc;
}

static int parse(const char *s, vs_syslog_msg *m, char *err, size_t errcap)
{
	return parse_len(s, strlen(s), m, err, errcap);
}

/* Span sp of s is want (NULL: absent or NILVALUE). */
static void assert_span(const char *s, vs_syslog_span sp, const char *want, const char *what)
{
	if (sp.off + sp.len > strlen(s))
		fail_msg("%s span (%zu,%zu) is outside the message", what, sp.off, sp.len);
	if (want == NULL) {
		if (sp.len != 0)
			fail_msg("%s is \"%.*s\", want none", what, (int)sp.len, s + sp.off);
		return;
	}
	if (sp.len != strlen(want) || memcmp(s + sp.off, want, sp.len) != 0)
		fail_msg("%s is \"%.*s\", want \"%s\"", what, (int)sp.len, s + sp.off, want);
}

/* s fails to parse with an error containing want. */
static void assert_parse_error(const char *s, const char *want)
{
	vs_syslog_msg m;
	char err[256];
	if (parse(s, &m, err, sizeof err) == 0)
		fail_msg("\"%s\" parsed; want an error \"%s\"", s, want);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\": error \"%s\" does not contain \"%s\"", s, err, want);
}

static void assert_parses(const char *s, int format)
{
	vs_syslog_msg m;
	char err[256];
	if (parse(s, &m, err, sizeof err) != 0)
		fail_msg("\"%s\" does not parse: %s", s, err);
	assert_int_equal(m.format, format);
}

/* Lines of a file without their LF. */
static size_t split_lines(uint8_t *buf, size_t len, const uint8_t **line, size_t *line_len,
                          size_t cap)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		assert_true(n < cap);
		line[n] = buf + start;
		line_len[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/* ------------------------------------------------------------ examples */

static void test_examples_rfc5424(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = read_example("syslog-rfc5424.txt", &len);
	const uint8_t *line[64];
	size_t line_len[64];
	size_t n = split_lines(buf, len, line, line_len, 64);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		vs_syslog_msg m;
		char err[256];
		uint8_t *c = dup_exact(line[i], line_len[i]);
		if (vs_syslog_parse(c, line_len[i], &m, err, sizeof err) != 0)
			fail_msg("line %zu: %s", i + 1, err);
		assert_int_equal(m.format, VS_SYSLOG_RFC5424);
		assert_int_equal(m.version, 1);
		assert_true(m.timestamp.len > 0);
		assert_true(m.msg.len > 0);
		free(c);
	}

	/* The first and last lines field by field. */
	char *first = strndup((const char *)line[0], line_len[0]);
	vs_syslog_msg m;
	assert_int_equal(parse(first, &m, NULL, 0), 0);
	assert_int_equal(m.pri, 86);
	assert_int_equal(m.facility, 10);
	assert_int_equal(m.severity, 6);
	assert_span(first, m.timestamp, "2026-11-26T12:00:00.003Z", "TIMESTAMP");
	assert_span(first, m.hostname, "bastion-1.corp.example", "HOSTNAME");
	assert_span(first, m.app_name, "sshd", "APP-NAME");
	assert_span(first, m.procid, "4123", "PROCID");
	assert_span(first, m.msgid, NULL, "MSGID");
	assert_span(first, m.sd, "[origin ip=\"10.0.0.9\"]", "STRUCTURED-DATA");
	assert_span(first, m.msg,
	            "Accepted publickey for alice from 10.0.0.9 port 52144 ssh2: ED25519 "
	            "SHA256:kN1m",
	            "MSG");
	free(first);

	char *last = strndup((const char *)line[4], line_len[4]);
	assert_int_equal(parse(last, &m, NULL, 0), 0);
	assert_int_equal(m.pri, 13);
	assert_span(last, m.timestamp, "2026-11-26T12:03:00Z", "TIMESTAMP");
	assert_span(last, m.hostname, NULL, "HOSTNAME");
	assert_span(last, m.app_name, NULL, "APP-NAME");
	assert_span(last, m.procid, NULL, "PROCID");
	assert_span(last, m.msgid, NULL, "MSGID");
	assert_span(last, m.sd, NULL, "STRUCTURED-DATA");
	assert_span(last, m.msg, "message with nil host, app, procid and msgid", "MSG");
	free(last);
	free(buf);
}

static void test_examples_rfc3164(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = read_example("syslog-rfc3164.txt", &len);
	const uint8_t *line[64];
	size_t line_len[64];
	size_t n = split_lines(buf, len, line, line_len, 64);
	assert_int_equal(n, 3);
	static const char *const want_ts[] = {"Nov 26 12:00:00", "Nov 26 12:00:04",
	                                      "Nov  6 07:02:00"};
	static const char *const want_app[] = {"sshd", "sudo", "sshd"};
	static const char *const want_pid[] = {"4123", NULL, "4301"};
	for (size_t i = 0; i < n; i++) {
		char *s = strndup((const char *)line[i], line_len[i]);
		vs_syslog_msg m;
		char err[256];
		if (parse(s, &m, err, sizeof err) != 0)
			fail_msg("line %zu: %s", i + 1, err);
		assert_int_equal(m.format, VS_SYSLOG_RFC3164);
		assert_int_equal(m.version, 0);
		assert_span(s, m.timestamp, want_ts[i], "TIMESTAMP");
		assert_span(s, m.hostname, "bastion-1", "HOSTNAME");
		assert_span(s, m.app_name, want_app[i], "TAG");
		assert_span(s, m.procid, want_pid[i], "PID");
		assert_true(m.msg.len > 0);
		free(s);
	}
	char *s = strndup((const char *)line[0], line_len[0]);
	vs_syslog_msg m;
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_int_equal(m.pri, 38);
	assert_span(s, m.msg, "Accepted publickey for alice from 10.0.0.9 port 52144 ssh2",
	            "MSG");
	free(s);
	free(buf);
}

/* The octet-counted file, fed in every chunk size 1..17 and whole, gives
 * exactly the lines of the newline-framed file. */
static void test_examples_octet_counted_chunks(void **state)
{
	(void)state;
	size_t blen, tlen;
	uint8_t *bin = read_example("syslog-rfc5424-octet-counted.bin", &blen);
	uint8_t *txt = read_example("syslog-rfc5424.txt", &tlen);
	const uint8_t *line[64];
	size_t line_len[64];
	size_t n = split_lines(txt, tlen, line, line_len, 64);

	for (size_t chunk = 0; chunk <= 17; chunk++) {
		struct got g = {0};
		char err[256];
		int rc = frame_chunks(bin, blen, 0, chunk, &g, err, sizeof err);
		if (rc != 0)
			fail_msg("chunk %zu: %s", chunk, err);
		assert_int_equal(g.n, n);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(g.len[i], line_len[i]);
			assert_memory_equal(g.msg[i], line[i], line_len[i]);
		}
		got_free(&g);
	}
	free(bin);
	free(txt);
}

/* The newline-framed file, in every chunk size 1..17 and whole. */
static void test_examples_lf_chunks(void **state)
{
	(void)state;
	size_t tlen;
	uint8_t *txt = read_example("syslog-rfc3164.txt", &tlen);
	const uint8_t *line[64];
	size_t line_len[64];
	size_t n = split_lines(txt, tlen, line, line_len, 64);
	for (size_t chunk = 0; chunk <= 17; chunk++) {
		struct got g = {0};
		assert_int_equal(frame_chunks(txt, tlen, 0, chunk, &g, NULL, 0), 0);
		assert_int_equal(g.n, n);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(g.len[i], line_len[i]);
			assert_memory_equal(g.msg[i], line[i], line_len[i]);
		}
		got_free(&g);
	}
	free(txt);
}

/* ------------------------------------------------------------ framing */

static void test_frame_lf_crlf(void **state)
{
	(void)state;
	struct got g = {0};
	assert_int_equal(frame("<13>one\n<13>two\r\n<13>three\n", 0, &g, NULL, 0), 0);
	assert_int_equal(g.n, 3);
	assert_msg(&g, 0, "<13>one");
	assert_msg(&g, 1, "<13>two");
	assert_msg(&g, 2, "<13>three");
	got_free(&g);
}

static void test_frame_mixed(void **state)
{
	(void)state;
	const char *s = "11 <13>octet 1<13>line one\n"
	                "\r\n\n" /* stray trailers between messages */
	                "13 <13>octet\n2\r\n"
	                "<13>line two\r\n"
	                "5 <13>x";
	for (size_t chunk = 0; chunk <= 9; chunk++) {
		struct got g = {0};
		assert_int_equal(frame_chunks(s, strlen(s), 0, chunk, &g, NULL, 0), 0);
		assert_int_equal(g.n, 5);
		assert_msg(&g, 0, "<13>octet 1");
		assert_msg(&g, 1, "<13>line one");
		assert_msg(&g, 2, "<13>octet\n2"); /* LF inside is kept; trailing ones not */
		assert_msg(&g, 3, "<13>line two");
		assert_msg(&g, 4, "<13>x");
		got_free(&g);
	}
}

static void test_frame_octet_keeps_inner_bytes(void **state)
{
	(void)state;
	/* Counted messages may hold LF, NUL and '<' anywhere but at the end. */
	static const char s[] = "9 <13>a\0b\nc";
	struct got g = {0};
	assert_int_equal(frame_chunks(s, sizeof s - 1, 0, 0, &g, NULL, 0), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], 9);
	assert_memory_equal(g.msg[0], "<13>a\0b\nc", 9);
	got_free(&g);
}

static void test_frame_huge_msg_len(void **state)
{
	(void)state;
	struct got g = {0};
	char err[256];
	assert_int_equal(frame("99999999999999999999999999 <13>x", 0, &g, err, sizeof err),
	                 VS_SYSLOG_EOVERSIZE);
	assert_int_equal(g.n, 0);
	assert_non_null(strstr(err, "stream byte 0"));
	assert_non_null(strstr(err, "65000"));
	got_free(&g);

	/* After a good message, the offset names the bad one. */
	assert_int_equal(frame("5 <13>x70000 <13>", 0, &g, err, sizeof err),
	                 VS_SYSLOG_EOVERSIZE);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(err, "stream byte 7:"));
	got_free(&g);
}

static void test_frame_msg_len_at_max(void **state)
{
	(void)state;
	struct got g = {0};
	assert_int_equal(frame("10 <13>123456", 10, &g, NULL, 0), 0);
	assert_int_equal(g.n, 1);
	got_free(&g);
	assert_int_equal(frame("11 <13>1234567", 10, &g, NULL, 0), VS_SYSLOG_EOVERSIZE);
	assert_int_equal(g.n, 0);
	got_free(&g);
}

static void test_frame_msg_len_leading_zero(void **state)
{
	(void)state;
	struct got g = {0};
	char err[256];
	assert_int_equal(frame("012 <13>1234567", 0, &g, err, sizeof err), VS_SYSLOG_EFRAMING);
	assert_non_null(strstr(err, "leading zero"));
	assert_int_equal(g.n, 0);
	got_free(&g);
}

static void test_frame_msg_len_not_digits(void **state)
{
	(void)state;
	struct got g = {0};
	char err[256];
	assert_int_equal(frame("1a <13>x", 0, &g, err, sizeof err), VS_SYSLOG_EFRAMING);
	assert_non_null(strstr(err, "stream byte 1:"));
	got_free(&g);
	/* No SP after MSG-LEN. */
	assert_int_equal(frame("12<13>12345678", 0, &g, err, sizeof err), VS_SYSLOG_EFRAMING);
	assert_non_null(strstr(err, "not SP"));
	got_free(&g);
	/* A tab is not SP either. */
	assert_int_equal(frame("3\t<1>", 0, &g, err, sizeof err), VS_SYSLOG_EFRAMING);
	got_free(&g);
}

static void test_frame_bad_first_byte(void **state)
{
	(void)state;
	struct got g = {0};
	char err[256];
	assert_int_equal(frame("<13>ok\nhello\n", 0, &g, err, sizeof err), VS_SYSLOG_EFRAMING);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(err, "stream byte 7:"));
	assert_non_null(strstr(err, "0x68"));
	got_free(&g);
	assert_int_equal(frame(" <13>x\n", 0, &g, err, sizeof err), VS_SYSLOG_EFRAMING);
	got_free(&g);
}

static void test_frame_lf_oversize(void **state)
{
	(void)state;
	for (size_t chunk = 0; chunk <= 5; chunk++) {
		struct got g = {0};
		/* Exactly max, with CRLF: accepted. */
		assert_int_equal(frame_chunks("<13>123456\r\n", 12, 10, chunk, &g, NULL, 0), 0);
		assert_int_equal(g.n, 1);
		assert_msg(&g, 0, "<13>123456");
		got_free(&g);
		/* max + 1 bytes: too long, with or without the LF yet. */
		assert_int_equal(frame_chunks("<13>1234567\n", 12, 10, chunk, &g, NULL, 0),
		                 VS_SYSLOG_EOVERSIZE);
		assert_int_equal(frame_chunks("<13>1234567", 11, 10, chunk, &g, NULL, 0), 0);
		assert_int_equal(frame_chunks("<13>12345678", 12, 10, chunk, &g, NULL, 0),
		                 VS_SYSLOG_EOVERSIZE);
		assert_int_equal(g.n, 0);
		got_free(&g);
	}
}

static void test_frame_sticky_error(void **state)
{
	(void)state;
	vs_syslog_framer fr;
	struct got g = {0};
	char err[256], err2[256];
	assert_int_equal(vs_syslog_framer_init(&fr, 0), 0);
	uint8_t *a = dup_exact("x", 1);
	uint8_t *b = dup_exact("<13>fine\n", 9);
	assert_int_equal(vs_syslog_feed(&fr, a, 1, collect, &g, err, sizeof err),
	                 VS_SYSLOG_EFRAMING);
	assert_int_equal(vs_syslog_feed(&fr, b, 9, collect, &g, err2, sizeof err2),
	                 VS_SYSLOG_EFRAMING);
	assert_string_equal(err, err2);
	assert_int_equal(g.n, 0);
	free(a);
	free(b);
	vs_syslog_framer_free(&fr);
}

static void test_frame_callback_stops(void **state)
{
	(void)state;
	struct got g = {.stop_after = 2};
	assert_int_equal(frame("<13>a\n<13>b\n<13>c\n", 0, &g, NULL, 0), VS_SYSLOG_ESTOPPED);
	assert_int_equal(g.n, 2);
	got_free(&g);
}

static void test_frame_pending(void **state)
{
	(void)state;
	vs_syslog_framer fr;
	struct got g = {0};
	assert_int_equal(vs_syslog_framer_init(&fr, 0), 0);
	assert_int_equal(vs_syslog_framer_pending(&fr), 0);
	uint8_t *a = dup_exact("<13>a\n\r\n<13>par", 15);
	assert_int_equal(vs_syslog_feed(&fr, a, 15, collect, &g, NULL, 0), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(vs_syslog_framer_pending(&fr), 7);
	free(a);
	vs_syslog_framer_free(&fr);
	got_free(&g);

	assert_int_equal(vs_syslog_framer_init(&fr, 0), 0);
	a = dup_exact("12", 2);
	assert_int_equal(vs_syslog_feed(&fr, a, 2, collect, &g, NULL, 0), 0);
	assert_true(vs_syslog_framer_pending(&fr) > 0);
	free(a);
	vs_syslog_framer_free(&fr);
}

static void test_frame_init_limits(void **state)
{
	(void)state;
	vs_syslog_framer fr;
	assert_int_equal(vs_syslog_framer_init(&fr, 0), 0);
	assert_int_equal(fr.max, VS_SYSLOG_MAX_DEFAULT);
	assert_int_equal(vs_syslog_framer_init(&fr, VS_SYSLOG_MAX_LIMIT), 0);
	assert_int_equal(vs_syslog_framer_init(&fr, (size_t)VS_SYSLOG_MAX_LIMIT + 1), -1);
}

static void test_trim(void **state)
{
	(void)state;
	assert_int_equal(vs_syslog_trim((const uint8_t *)"ab\r\n\0", 5), 2);
	assert_int_equal(vs_syslog_trim((const uint8_t *)"\n\n", 2), 0);
	assert_int_equal(vs_syslog_trim((const uint8_t *)"a\nb", 3), 3);
	assert_int_equal(vs_syslog_trim((const uint8_t *)"", 0), 0);
}

/* ------------------------------------------------------------ PRI */

static void test_pri_range(void **state)
{
	(void)state;
	vs_syslog_msg m;
	assert_int_equal(parse("<0>1 - - - - - -", &m, NULL, 0), 0);
	assert_int_equal(m.pri, 0);
	assert_int_equal(parse("<191>1 - - - - - -", &m, NULL, 0), 0);
	assert_int_equal(m.facility, 23);
	assert_int_equal(m.severity, 7);
	assert_parse_error("<192>1 - - - - - -", "byte 1: PRI 192 is out of range 0..191");
	assert_parse_error("<999>x", "out of range");
	assert_parse_error("<192>Nov 26 12:00:00 host app: x", "out of range");
}

static void test_pri_malformed(void **state)
{
	(void)state;
	assert_parse_error("<01>1 - - - - - -", "byte 1: PRI has a leading zero");
	assert_parse_error("<00>x", "leading zero");
	assert_parse_error("<1234>x", "more than 3 digits");
	assert_parse_error("<>1 - - - - - -", "byte 1: PRI is not a number");
	assert_parse_error("<13", "byte 3: expected '>'");
	assert_parse_error("<13x", "byte 3: expected '>'");
	assert_parse_error("<", "byte 1: PRI is not a number");
	assert_parse_error("", "byte 0: empty message");
	assert_parse_error("hello world", "byte 0: expected '<'");
	assert_parse_error("13>1 - - - - - -", "byte 0:");
}

/* ------------------------------------------------------------ RFC 5424 */

static void test_5424_spans(void **state)
{
	(void)state;
	const char *s = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
	                "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
	                "eventID=\"1011\"][examplePriority@32473 class=\"high\"] An application "
	                "event log entry";
	vs_syslog_msg m;
	char err[256];
	if (parse(s, &m, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.format, VS_SYSLOG_RFC5424);
	assert_int_equal(m.pri, 165);
	assert_int_equal(m.facility, 20);
	assert_int_equal(m.severity, 5);
	assert_int_equal(m.timestamp.off, 7);
	assert_span(s, m.timestamp, "2003-10-11T22:14:15.003Z", "TIMESTAMP");
	assert_span(s, m.hostname, "mymachine.example.com", "HOSTNAME");
	assert_span(s, m.app_name, "evntslog", "APP-NAME");
	assert_span(s, m.procid, "1234", "PROCID");
	assert_span(s, m.msgid, "ID47", "MSGID");
	assert_span(s, m.sd,
	            "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
	            "eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
	            "STRUCTURED-DATA");
	assert_span(s, m.msg, "An application event log entry", "MSG");
	assert_int_equal(m.msg.off + m.msg.len, strlen(s));
	assert_int_equal(m.bom, 0);
}

static void test_5424_nil_and_no_msg(void **state)
{
	(void)state;
	vs_syslog_msg m;
	const char *s = "<34>1 - - - - - -";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.timestamp, NULL, "TIMESTAMP");
	assert_int_equal(m.timestamp.off, 6);
	assert_span(s, m.hostname, NULL, "HOSTNAME");
	assert_int_equal(m.hostname.off, 8);
	assert_span(s, m.sd, NULL, "STRUCTURED-DATA");
	assert_int_equal(m.msg.off, strlen(s));
	assert_int_equal(m.msg.len, 0);
	/* SP then an empty MSG. */
	s = "<34>1 - - - - - - ";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_int_equal(m.msg.off, strlen(s));
	assert_int_equal(m.msg.len, 0);
	/* SD directly at the end. */
	s = "<34>1 - - - - - [a]";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.sd, "[a]", "STRUCTURED-DATA");
	assert_int_equal(m.msg.len, 0);
}

static void test_5424_missing_fields(void **state)
{
	(void)state;
	assert_parse_error("<13>1 2026-11-26T12:00:00Z host app", "message ends after APP-NAME");
	assert_parse_error("<13>1 2026-11-26T12:00:00Z", "message ends after TIMESTAMP");
	assert_parse_error("<13>1 - - - - -", "message ends after MSGID");
	assert_parse_error("<13>1 - - - - - ", "STRUCTURED-DATA should be");
	assert_parse_error("<13>1 ", "message ends after TIMESTAMP");
	assert_parse_error("<13>1 -  - - - -", "byte 8: HOSTNAME is empty");
	assert_parse_error("<13>1 - host app proc msgid hello", "expected '[' or '-'");
	assert_parse_error("<13>1 - - - - - -x", "byte 17: expected SP or the end");
}

static void test_5424_version(void **state)
{
	(void)state;
	assert_parse_error("<13>2 - - - - - -", "byte 4: unsupported syslog VERSION 2");
	assert_parse_error("<13>10 - - - - - -", "VERSION 10");
	/* Not a VERSION (no SP after the digits): RFC 3164 content. */
	assert_parses("<13>1234 hello", VS_SYSLOG_RFC3164);
	assert_parses("<13>1hello", VS_SYSLOG_RFC3164);
	assert_parses("<13>01 hello", VS_SYSLOG_RFC3164);
}

static void test_5424_timestamps(void **state)
{
	(void)state;
	static const char *const good[] = {
		"<13>1 1985-04-12T23:20:50.52Z - - - - -",
		"<13>1 1985-04-12T19:20:50.52-04:00 - - - - -",
		"<13>1 2003-10-11T22:14:15.003Z - - - - -",
		"<13>1 2003-08-24T05:14:15.000003-07:00 - - - - -",
		"<13>1 2024-02-29T00:00:00+14:00 - - - - -",
		"<13>1 2000-02-29T23:59:59Z - - - - -",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_parses(good[i], VS_SYSLOG_RFC5424);
	/* RFC 5424 §6.2.3.2's invalid examples, and more. */
	assert_parse_error("<13>1 2003-08-24T05:14:15.000000003-07:00 - - - - -", "fraction");
	assert_parse_error("<13>1 1990-12-31T23:59:60Z - - - - -", "no such time of day");
	assert_parse_error("<13>1 2003-10-11t22:14:15.003Z - - - - -",
	                   "byte 16: TIMESTAMP has no 'T'");
	assert_parse_error("<13>1 2003-10-11T22:14:15.003z - - - - -", "no time zone");
	assert_parse_error("<13>1 2003-10-11T22:14:15 - - - - -", "no time zone");
	assert_parse_error("<13>1 2023-02-29T00:00:00Z - - - - -",
	                   "byte 14: TIMESTAMP has no such date");
	assert_parse_error("<13>1 1900-02-29T00:00:00Z - - - - -", "no such date");
	assert_parse_error("<13>1 2003-13-11T22:14:15Z - - - - -",
	                   "byte 11: TIMESTAMP has no such date");
	assert_parse_error("<13>1 2003-10-11T24:00:00Z - - - - -", "no such time");
	assert_parse_error("<13>1 2003-10-11T22:14:15+5:00 - - - - -", "bad offset");
	assert_parse_error("<13>1 2003-10-11T22:14:15+05:60 - - - - -", "bad offset");
	assert_parse_error("<13>1 2003-10-11T22:14:15.Z - - - - -", "fraction");
	assert_parse_error("<13>1 2003-10-11T22:14:15ZZ - - - - -", "byte 26: unexpected");
	assert_parse_error("<13>1 Oct 11 22:14:15 host - - - -", "not a date");
	assert_parse_error("<13>1 2003-10-11 22:14:15Z - - - - -", "no 'T'");
}

/* str of n copies of c, NUL-terminated, malloc'ed. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* An RFC 5424 message with the four header fields given. */
static void header_case(const char *host, const char *app, const char *proc, const char *id,
                        const char *want_err)
{
	size_t cap = strlen(host) + strlen(app) + strlen(proc) + strlen(id) + 64;
	char *s = malloc(cap);
	assert_non_null(s);
	snprintf(s, cap, "<13>1 - %s %s %s %s - msg", host, app, proc, id);
	if (want_err == NULL) {
		vs_syslog_msg m;
		char err[256];
		if (parse(s, &m, err, sizeof err) != 0)
			fail_msg("%s", err);
		assert_span(s, m.hostname, host, "HOSTNAME");
		assert_span(s, m.app_name, app, "APP-NAME");
		assert_span(s, m.procid, proc, "PROCID");
		assert_span(s, m.msgid, id, "MSGID");
		assert_span(s, m.msg, "msg", "MSG");
	} else {
		assert_parse_error(s, want_err);
	}
	free(s);
}

static void test_5424_field_lengths(void **state)
{
	(void)state;
	char *h255 = repeat('h', 255), *h256 = repeat('h', 256);
	char *a48 = repeat('a', 48), *a49 = repeat('a', 49);
	char *p128 = repeat('p', 128), *p129 = repeat('p', 129);
	char *m32 = repeat('m', 32), *m33 = repeat('m', 33);
	header_case(h255, a48, p128, m32, NULL);
	header_case(h256, "a", "p", "m", "byte 8: HOSTNAME is longer than 255 bytes");
	header_case("h", a49, "p", "m", "APP-NAME is longer than 48 bytes");
	header_case("h", "a", p129, "m", "PROCID is longer than 128 bytes");
	header_case("h", "a", "p", m33, "MSGID is longer than 32 bytes");
	free(h255);
	free(h256);
	free(a48);
	free(a49);
	free(p128);
	free(p129);
	free(m32);
	free(m33);
}

static void test_5424_header_bytes(void **state)
{
	(void)state;
	/* Only printable US-ASCII in header fields. */
	assert_parse_error("<13>1 - ho\x01st app - - - x",
	                   "byte 10: byte 0x01 is not allowed in HOSTNAME");
	assert_parse_error("<13>1 - host \xc3\xa9t\xc3\xa9 - - - x", "byte 13: byte 0xc3");
	assert_parse_error("<13>1 - host app\tx - - - x", "APP-NAME");
}

static void test_5424_sd_escapes(void **state)
{
	(void)state;
	vs_syslog_msg m;
	const char *s = "<13>1 - - - - - [id@1 a=\"q\\\"uote\" b=\"back\\\\slash\" "
	                "c=\"br\\]acket\" d=\"\" e=\"unknown \\n escape\" f=\"tail\\\\\"] m";
	char err[256];
	if (parse(s, &m, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_span(s, m.msg, "m", "MSG");
	assert_int_equal(m.sd.off, 16);
	assert_int_equal(m.sd.off + m.sd.len + 1, m.msg.off);

	assert_parse_error("<13>1 - - - - - [id a=\"x]\"]",
	                   "byte 24: ']' in PARAM-VALUE must be escaped");
	assert_parse_error("<13>1 - - - - - [id a=\"x\"y\"]", "expected SP or ']'");
	/* \" does not close the value, so the ']' after it is inside. */
	assert_parse_error("<13>1 - - - - - [id a=\"x\\\"]", "byte 26: ']' in PARAM-VALUE");
	assert_parse_error("<13>1 - - - - - [id a=\"x\\\"", "byte 22: PARAM-VALUE is not closed");
	assert_parse_error("<13>1 - - - - - [id a=\"x\\", "PARAM-VALUE is not closed");
	assert_parse_error("<13>1 - - - - - [id a=\"x", "PARAM-VALUE is not closed");
	assert_parse_error("<13>1 - - - - - [id a=x]", "expected '\"' to open PARAM-VALUE");
	assert_parse_error("<13>1 - - - - - [id a]", "expected '=' after PARAM-NAME");
}

static void test_5424_sd_names(void **state)
{
	(void)state;
	char *id32 = repeat('i', 32), *id33 = repeat('i', 33);
	char s[128];
	snprintf(s, sizeof s, "<13>1 - - - - - [%s %s=\"v\"]", id32, id32);
	assert_parses(s, VS_SYSLOG_RFC5424);
	snprintf(s, sizeof s, "<13>1 - - - - - [%s]", id33);
	assert_parse_error(s, "byte 17: SD-ID is longer than 32 bytes");
	snprintf(s, sizeof s, "<13>1 - - - - - [id %s=\"v\"]", id33);
	assert_parse_error(s, "PARAM-NAME is longer than 32 bytes");
	free(id32);
	free(id33);

	assert_parse_error("<13>1 - - - - - []", "byte 17: SD-ID is empty");
	assert_parse_error("<13>1 - - - - - [=x]", "SD-ID is empty");
	assert_parse_error("<13>1 - - - - - [a\"b]", "byte 18: expected SP or ']'");
	assert_parse_error("<13>1 - - - - - [a =\"v\"]", "PARAM-NAME is empty");
	assert_parse_error("<13>1 - - - - - [a b=\"v\"", "SD-ELEMENT is not closed");
	assert_parse_error("<13>1 - - - - - [a", "byte 16: SD-ELEMENT is not closed");
	assert_parse_error("<13>1 - - - - - [a][", "message ends where SD-ID should be");
	assert_parse_error("<13>1 - - - - - [a]x", "expected SP or the end");

	/* An SD-ELEMENT after SP is MSG, not STRUCTURED-DATA. */
	vs_syslog_msg m;
	const char *two = "<13>1 - - - - - [a] [b]";
	assert_int_equal(parse(two, &m, NULL, 0), 0);
	assert_span(two, m.sd, "[a]", "STRUCTURED-DATA");
	assert_span(two, m.msg, "[b]", "MSG");
}

static void test_5424_msg_bytes(void **state)
{
	(void)state;
	vs_syslog_msg m;
	/* Bad UTF-8, control bytes and NUL are MSG bytes as received. */
	static const char s[] = "<13>1 - - - - - - \xff\xfe\x01\0bad \xc3(utf8";
	assert_int_equal(parse_len(s, sizeof s - 1, &m, NULL, 0), 0);
	assert_int_equal(m.msg.off, 18);
	assert_int_equal(m.msg.len, sizeof s - 1 - 18);
	assert_int_equal(m.bom, 0);
	/* A BOM is flagged and kept in the span. */
	const char *b = "<13>1 - - - - - - \xef\xbb\xbfh\xc3\xa9llo";
	assert_int_equal(parse(b, &m, NULL, 0), 0);
	assert_int_equal(m.bom, 1);
	assert_span(b, m.msg, "\xef\xbb\xbfh\xc3\xa9llo", "MSG");
}

/* ------------------------------------------------------------ RFC 3164 */

static void test_3164_variants(void **state)
{
	(void)state;
	vs_syslog_msg m;
	/* No HOSTNAME: the TAG follows the timestamp. */
	const char *s = "<30>Nov 26 12:00:00 myapp[12]: started";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_int_equal(m.format, VS_SYSLOG_RFC3164);
	assert_span(s, m.hostname, NULL, "HOSTNAME");
	assert_span(s, m.app_name, "myapp", "TAG");
	assert_span(s, m.procid, "12", "PID");
	assert_span(s, m.msg, "started", "MSG");
	/* A HOSTNAME and no TAG. */
	s = "<30>Nov 26 12:00:00 host some free text";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.hostname, "host", "HOSTNAME");
	assert_span(s, m.app_name, NULL, "TAG");
	assert_span(s, m.msg, "some free text", "MSG");
	/* Single-digit day, an IPv6 address for a host, a TAG without PID. */
	s = "<30>Nov 6 12:00:00 fe80::1 kernel: link up";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.timestamp, "Nov 6 12:00:00", "TIMESTAMP");
	assert_span(s, m.hostname, "fe80::1", "HOSTNAME");
	assert_span(s, m.app_name, "kernel", "TAG");
	assert_span(s, m.procid, NULL, "PID");
	assert_span(s, m.msg, "link up", "MSG");
	/* An RFC 3339 timestamp, as rsyslog and others send in 3164 form. */
	s = "<30>2026-11-26T12:00:00.123456+01:00 host app[7] x";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.timestamp, "2026-11-26T12:00:00.123456+01:00", "TIMESTAMP");
	assert_span(s, m.hostname, "host", "HOSTNAME");
	assert_span(s, m.app_name, "app", "TAG");
	assert_span(s, m.procid, "7", "PID");
	assert_span(s, m.msg, "x", "MSG");
}

static void test_3164_no_timestamp(void **state)
{
	(void)state;
	vs_syslog_msg m;
	/* Without a timestamp everything after PRI is MSG. */
	const char *s = "<13>just some text: here";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_int_equal(m.format, VS_SYSLOG_RFC3164);
	assert_span(s, m.timestamp, NULL, "TIMESTAMP");
	assert_span(s, m.hostname, NULL, "HOSTNAME");
	assert_span(s, m.app_name, NULL, "TAG");
	assert_span(s, m.msg, "just some text: here", "MSG");
	/* Nothing after PRI at all. */
	s = "<13>";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_int_equal(m.msg.off, 4);
	assert_int_equal(m.msg.len, 0);
	/* A timestamp glued to text is not a timestamp. */
	s = "<13>Nov 26 12:00:00x";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.timestamp, NULL, "TIMESTAMP");
	assert_span(s, m.msg, "Nov 26 12:00:00x", "MSG");
	/* Bad clock values are not a timestamp either. */
	s = "<13>Nov 26 25:00:00 host x";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.timestamp, NULL, "TIMESTAMP");
	/* A timestamp and nothing else. */
	s = "<13>Dec 31 23:59:59";
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.timestamp, "Dec 31 23:59:59", "TIMESTAMP");
	assert_int_equal(m.msg.len, 0);
	assert_int_equal(m.msg.off, strlen(s));
}

static void test_3164_tag_limits(void **state)
{
	(void)state;
	vs_syslog_msg m;
	/* A 49-byte "tag" is not a TAG: it stays in MSG. */
	char *t49 = repeat('t', 49);
	char s[160];
	snprintf(s, sizeof s, "<13>Nov 26 12:00:00 host %s: x", t49);
	assert_int_equal(parse(s, &m, NULL, 0), 0);
	assert_span(s, m.hostname, "host", "HOSTNAME");
	assert_span(s, m.app_name, NULL, "TAG");
	assert_int_equal(m.msg.off, 25);
	free(t49);
	/* Unclosed PID: not a TAG. */
	const char *u = "<13>Nov 26 12:00:00 host app[12 x";
	assert_int_equal(parse(u, &m, NULL, 0), 0);
	assert_span(u, m.app_name, NULL, "TAG");
	assert_span(u, m.msg, "app[12 x", "MSG");
	/* "name:" at the very end. */
	u = "<13>Nov 26 12:00:00 host app:";
	assert_int_equal(parse(u, &m, NULL, 0), 0);
	assert_span(u, m.app_name, "app", "TAG");
	assert_int_equal(m.msg.len, 0);
}

/* Spans are in order and inside the message for every accepted input. */
static void test_spans_ordered(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"<13>1 - - - - - -",
		"<13>1 2026-01-01T00:00:00Z h a p i [x] m",
		"<13>Nov 26 12:00:00 host app[1]: m",
		"<13>Nov 26 12:00:00",
		"<13>",
		"<13>x",
		"<13>Nov 26 12:00:00 app: m",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		vs_syslog_msg m;
		const char *s = inputs[i];
		assert_int_equal(parse(s, &m, NULL, 0), 0);
		const vs_syslog_span *sp[] = {&m.timestamp, &m.hostname, &m.app_name, &m.procid,
		                              &m.msgid,     &m.sd,       &m.msg};
		size_t end = 0;
		for (size_t k = 0; k < 7; k++) {
			assert_true(sp[k]->off >= end);
			assert_true(sp[k]->off + sp[k]->len <= strlen(s));
			end = sp[k]->off + sp[k]->len;
		}
		assert_int_equal(m.msg.off + m.msg.len, strlen(s));
	}
}

static void test_error_buffer_small(void **state)
{
	(void)state;
	vs_syslog_msg m;
	char err[8];
	memset(err, 'x', sizeof err);
	assert_int_equal(parse("<192>x", &m, err, sizeof err), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(parse("<192>x", &m, NULL, 0), -1);
	assert_int_equal(parse("<192>x", &m, err, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_rfc5424),
		cmocka_unit_test(test_examples_rfc3164),
		cmocka_unit_test(test_examples_octet_counted_chunks),
		cmocka_unit_test(test_examples_lf_chunks),
		cmocka_unit_test(test_frame_lf_crlf),
		cmocka_unit_test(test_frame_mixed),
		cmocka_unit_test(test_frame_octet_keeps_inner_bytes),
		cmocka_unit_test(test_frame_huge_msg_len),
		cmocka_unit_test(test_frame_msg_len_at_max),
		cmocka_unit_test(test_frame_msg_len_leading_zero),
		cmocka_unit_test(test_frame_msg_len_not_digits),
		cmocka_unit_test(test_frame_bad_first_byte),
		cmocka_unit_test(test_frame_lf_oversize),
		cmocka_unit_test(test_frame_sticky_error),
		cmocka_unit_test(test_frame_callback_stops),
		cmocka_unit_test(test_frame_pending),
		cmocka_unit_test(test_frame_init_limits),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_pri_range),
		cmocka_unit_test(test_pri_malformed),
		cmocka_unit_test(test_5424_spans),
		cmocka_unit_test(test_5424_nil_and_no_msg),
		cmocka_unit_test(test_5424_missing_fields),
		cmocka_unit_test(test_5424_version),
		cmocka_unit_test(test_5424_timestamps),
		cmocka_unit_test(test_5424_field_lengths),
		cmocka_unit_test(test_5424_header_bytes),
		cmocka_unit_test(test_5424_sd_escapes),
		cmocka_unit_test(test_5424_sd_names),
		cmocka_unit_test(test_5424_msg_bytes),
		cmocka_unit_test(test_3164_variants),
		cmocka_unit_test(test_3164_no_timestamp),
		cmocka_unit_test(test_3164_tag_limits),
		cmocka_unit_test(test_spans_ordered),
		cmocka_unit_test(test_error_buffer_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
