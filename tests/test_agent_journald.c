/*
 * test_agent_journald.c — the journald source on real journal files,
 * written without journald by systemd-journal-remote from journal export
 * format: the events' JSON (strings, binary values, repeated fields, the
 * header fields, sorted keys), their order and positions, resuming after
 * a cursor (no duplicate, no gap), resuming after a cursor whose entry is
 * gone (a warning, the oldest entry after it next), following entries
 * appended to a file and written into new files, a file renamed while
 * followed, entries too large for one event (values cut, listed in
 * _VELLUM_TRUNCATED, deterministic), and the cursor line of spool entries
 * (round trip, strict parsing, the positions cache).
 *
 * The journal tests skip, saying why, when systemd-journal-remote is not
 * installed or the agent was built without libsystemd.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "entry.h"
#include "source.h"
#include "spool.h"

#define BOOT "0123456789abcdef0123456789abcdef"
#define T0 1700000000000000ull /* usec */

static const char *remote_bin;

struct fixture {
	char dir[256];
	char jdir[300]; /* dir/journal */
	char notes[8192];
	int warned;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "%s/vellum-journald-test.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->jdir, sizeof f->jdir, "%s/journal", f->dir);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "mkdir '%s'", f->jdir);
	if (system(cmd) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void note_cb(void *ctx, int level, const char *origin, const char *msg,
                    const char *detail)
{
	struct fixture *f = ctx;
	(void)origin;
	(void)detail;
	size_t n = strlen(f->notes);
	snprintf(f->notes + n, sizeof f->notes - n, "%s;", msg);
	if (level == VA_NOTE_WARN)
		f->warned++;
}

/* Skips, saying why, when no journal files can be made or read. */
#define need_journal(f)                                                                     \
	do {                                                                                \
		const char *why_ = journal_missing(f);                                      \
		if (why_) {                                                                 \
			print_message("[     SKIP ] %s\n", why_);                              \
			skip();                                                             \
		}                                                                           \
	} while (0)

static const char *journal_missing(struct fixture *f)
{
	static char why[600];
	char origin[400], err[512];
	va_source *s = NULL;
	snprintf(origin, sizeof origin, "journald:%s", f->jdir);
	if (va_source_open(origin, NULL, NULL, NULL, &s, err, sizeof err) != 0) {
		snprintf(why, sizeof why, "the journald source cannot open: %s", err);
		return why;
	}
	va_source_close(s);
	if (!remote_bin)
		return "systemd-journal-remote is not installed (Debian package "
		       "systemd-journal-remote): cannot make journal files";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Journal export format, written into journal files.                  */

struct xport {
	char *p;
	size_t len, cap;
};

static void xput(struct xport *x, const void *p, size_t n)
{
	if (x->len + n > x->cap) {
		x->cap = (x->len + n) * 2 + 4096;
		x->p = realloc(x->p, x->cap);
		assert_non_null(x->p);
	}
	memcpy(x->p + x->len, p, n);
	x->len += n;
}

/* KEY=value, or the binary form (KEY\n, 64-bit LE length, bytes, \n). */
static void xfield(struct xport *x, const char *key, const void *val, size_t n)
{
	int binary = memchr(val, '\n', n) != NULL;
	xput(x, key, strlen(key));
	if (!binary) {
		xput(x, "=", 1);
		xput(x, val, n);
	} else {
		uint8_t le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)((uint64_t)n >> (8 * i));
		xput(x, "\n", 1);
		xput(x, le, 8);
		xput(x, val, n);
	}
	xput(x, "\n", 1);
}

static void xstr(struct xport *x, const char *key, const char *val)
{
	xfield(x, key, val, strlen(val));
}

/* The header of entry number I (times grow with I) ... */
static void xbegin(struct xport *x, unsigned i)
{
	char line[200];
	int n = snprintf(line, sizeof line,
	                 "__CURSOR=ignored\n__REALTIME_TIMESTAMP=%llu\n"
	                 "__MONOTONIC_TIMESTAMP=%u\n_BOOT_ID=" BOOT "\n",
	                 T0 + i * 1000ull, 1000000u + i);
	xput(x, line, (size_t)n);
}

/* ... and its end. */
static void xend(struct xport *x)
{
	xput(x, "\n", 1);
}

/* Entries FROM..TO-1 with MESSAGE=msg-<i> (and SEQ=<i>). */
static void xrange(struct xport *x, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		char m[32];
		xbegin(x, i);
		snprintf(m, sizeof m, "msg-%u", i);
		xstr(x, "MESSAGE", m);
		snprintf(m, sizeof m, "%u", i);
		xstr(x, "SEQ", m);
		xend(x);
	}
}

/* Writes (or appends to) DIR/NAME.journal from X, and resets X. */
static void write_journal(struct fixture *f, const char *name, struct xport *x)
{
	char in[400], cmd[1200];
	snprintf(in, sizeof in, "%s/export.in", f->dir);
	FILE *fp = fopen(in, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(x->p, 1, x->len, fp), x->len);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof cmd, "'%s' --output='%s/%s.journal' - <'%s' 2>/dev/null", remote_bin,
	         f->jdir, name, in);
	assert_int_equal(system(cmd), 0);
	x->len = 0;
}

static void range_journal(struct fixture *f, const char *name, unsigned from, unsigned to)
{
	struct xport x = {0};
	xrange(&x, from, to);
	write_journal(f, name, &x);
	free(x.p);
}

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

struct got {
	char **ev;
	va_position *pos;
	size_t n, cap;
};

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->ev[i]);
	free(g->ev);
	free(g->pos);
	memset(g, 0, sizeof *g);
}

static va_source *open_src(struct fixture *f, const va_position *resume)
{
	char origin[400], err[512];
	snprintf(origin, sizeof origin, "journald:%s", f->jdir);
	va_source *s = NULL;
	int rc = va_source_open(origin, resume, note_cb, f, &s, err, sizeof err);
	if (rc != 0)
		fail_msg("open: %s", err);
	assert_true(s->resumable);
	return s;
}

/* Reads until WANT events were got in all, or MS milliseconds passed. */
static void take(va_source *s, struct got *g, size_t want, int ms)
{
	va_batch b;
	va_batch_init(&b, 7, 1 << 20); /* small batches: several reads */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		assert_int_equal(va_source_read(s, &b, 100), VA_SOURCE_OK);
		for (size_t i = 0; i < b.n; i++) {
			if (g->n == g->cap) {
				g->cap = g->cap ? g->cap * 2 : 16;
				g->ev = realloc(g->ev, g->cap * sizeof *g->ev);
				g->pos = realloc(g->pos, g->cap * sizeof *g->pos);
			}
			g->ev[g->n] = strndup((const char *)b.data + b.ev[i].off, b.ev[i].len);
			assert_int_equal(strlen(g->ev[g->n]), b.ev[i].len);
			g->pos[g->n++] = b.ev[i].pos;
		}
		va_batch_clear(&b);
		clock_gettime(CLOCK_MONOTONIC, &t);
		long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (g->n >= want || spent >= ms)
			break;
	}
	va_batch_free(&b);
}

/* The SEQ of an event (-1 if none). */
static long seq_of(const char *ev)
{
	const char *p = strstr(ev, "\"SEQ\":\"");
	return p ? strtol(p + 7, NULL, 10) : -1;
}

/* Events FROM..FROM+N-1 in order, positions START+1.. with cursors. */
static void expect_seqs(const struct got *g, unsigned from, size_t n, uint64_t start)
{
	assert_int_equal(g->n, n);
	for (size_t i = 0; i < n; i++) {
		if (seq_of(g->ev[i]) != (long)(from + i))
			fail_msg("event %zu: want SEQ %zu, got %s", i, from + i, g->ev[i]);
		assert_true(g->pos[i].offset == start + i + 1);
		assert_true(g->pos[i].has_cursor && !g->pos[i].has_file);
		assert_true(va_cursor_ok(g->pos[i].cursor, strlen(g->pos[i].cursor)));
	}
}

/* ------------------------------------------------------------------ */
/* The event JSON.                                                     */

static void test_event_json(void **state)
{
	struct fixture *f = *state;
	need_journal(f);
	struct xport x = {0};
	xbegin(&x, 0);
	xstr(&x, "MESSAGE", "hello \"world\"\\ \xc3\xa9t\xc3\xa9 \xe2\x82\xac");
	xstr(&x, "FOO", "a");
	xstr(&x, "FOO", "b");
	xfield(&x, "BIN", "bin\x01" "ary", 7);
	xfield(&x, "MULTI", "line one\nline\ttwo", 17);
	xstr(&x, "CR", "a\rb");
	xstr(&x, "BADUTF", "x\xc3(");
	xstr(&x, "C1", "\xc2\x85");
	xstr(&x, "EMPTY", "");
	xend(&x);
	xbegin(&x, 1);
	xstr(&x, "MESSAGE", "second");
	xend(&x);
	write_journal(f, "remote-a", &x);
	free(x.p);

	va_source *s = open_src(f, NULL);
	struct got g = {0};
	take(s, &g, 2, 3000);
	assert_int_equal(g.n, 2);
	char want[4096];
	snprintf(want, sizeof want,
	         "{\"BADUTF\":[120,195,40],\"BIN\":[98,105,110,1,97,114,121],\"C1\":[194,133],"
	         "\"CR\":[97,13,98],\"EMPTY\":\"\",\"FOO\":[\"a\",\"b\"],"
	         "\"MESSAGE\":\"hello \\\"world\\\"\\\\ \xc3\xa9t\xc3\xa9 \xe2\x82\xac\","
	         "\"MULTI\":\"line one\\nline\\ttwo\",\"_BOOT_ID\":\"" BOOT "\","
	         "\"__CURSOR\":\"%s\",\"__MONOTONIC_TIMESTAMP\":\"1000000\","
	         "\"__REALTIME_TIMESTAMP\":\"%llu\"}",
	         g.pos[0].cursor, T0);
	assert_string_equal(g.ev[0], want);
	snprintf(want, sizeof want,
	         "{\"MESSAGE\":\"second\",\"_BOOT_ID\":\"" BOOT "\",\"__CURSOR\":\"%s\","
	         "\"__MONOTONIC_TIMESTAMP\":\"1000001\",\"__REALTIME_TIMESTAMP\":\"%llu\"}",
	         g.pos[1].cursor, T0 + 1000);
	assert_string_equal(g.ev[1], want);
	assert_true(g.pos[0].offset == 1 && g.pos[1].offset == 2);
	assert_string_not_equal(g.pos[0].cursor, g.pos[1].cursor);
	assert_non_null(strstr(f->notes, "following;"));
	got_free(&g);

	/* At the end: nothing, after waiting. */
	take(s, &g, 1, 300);
	assert_int_equal(g.n, 0);
	va_source_close(s);
}

/* Order, positions, and resuming after a cursor in the middle. */
static void test_order_and_resume(void **state)
{
	struct fixture *f = *state;
	need_journal(f);
	range_journal(f, "remote-a", 0, 30);
	va_source *s = open_src(f, NULL);
	struct got all = {0};
	take(s, &all, 30, 3000);
	expect_seqs(&all, 0, 30, 0);
	va_source_close(s);

	/* Resume after each of a few positions: exactly the rest. */
	static const size_t at[] = {0, 6, 13, 28, 29};
	for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
		va_position r = all.pos[at[k]];
		f->notes[0] = '\0';
		f->warned = 0;
		s = open_src(f, &r);
		struct got g = {0};
		take(s, &g, 30 - at[k] - 1, 3000);
		expect_seqs(&g, (unsigned)at[k] + 1, 30 - at[k] - 1, at[k] + 1);
		for (size_t i = 0; i < g.n; i++)
			assert_string_equal(g.ev[i], all.ev[at[k] + 1 + i]);
		assert_int_equal(f->warned, 0);
		/* No more after the end. */
		got_free(&g);
		take(s, &g, 1, 200);
		assert_int_equal(g.n, 0);
		va_source_close(s);
	}
	got_free(&all);
}

/* The cursor's entry is gone: a warning, then the oldest entry after it. */
static void test_resume_vanished(void **state)
{
	struct fixture *f = *state;
	need_journal(f);
	range_journal(f, "remote-a", 0, 10);
	range_journal(f, "remote-b", 10, 20);
	va_source *s = open_src(f, NULL);
	struct got all = {0};
	take(s, &all, 20, 3000);
	expect_seqs(&all, 0, 20, 0);
	va_source_close(s);

	char path[400];
	snprintf(path, sizeof path, "%s/remote-a.journal", f->jdir);
	assert_int_equal(unlink(path), 0);
	va_position r = all.pos[4];
	s = open_src(f, &r);
	struct got g = {0};
	take(s, &g, 10, 3000);
	expect_seqs(&g, 10, 10, 5);
	assert_int_equal(f->warned, 1);
	assert_non_null(strstr(f->notes, "journal cursor not found;"));
	got_free(&g);
	va_source_close(s);

	/* A cursor of a journal that is gone altogether, its entry older
	 * than everything left: all that is left, with a warning. */
	f->warned = 0;
	r = all.pos[9];
	s = open_src(f, &r);
	take(s, &g, 10, 3000);
	expect_seqs(&g, 10, 10, 10);
	assert_int_equal(f->warned, 1);
	got_free(&g);
	va_source_close(s);

	/* The cursor's own file still there: no warning. */
	f->warned = 0;
	r = all.pos[14];
	s = open_src(f, &r);
	take(s, &g, 5, 3000);
	expect_seqs(&g, 15, 5, 15);
	assert_int_equal(f->warned, 0);
	got_free(&g);
	va_source_close(s);

	/* A cursor sd-journal cannot parse: from the start, with a warning. */
	f->warned = 0;
	snprintf(r.cursor, sizeof r.cursor, "garbage");
	r.offset = 3;
	s = open_src(f, &r);
	take(s, &g, 10, 3000);
	expect_seqs(&g, 10, 10, 3);
	assert_int_equal(f->warned, 1);
	got_free(&g);
	va_source_close(s);
	got_free(&all);
}

/* New entries: appended to a file, in a file written later, and a file
 * renamed while followed (as journald's rotation does). */
static void test_follow(void **state)
{
	struct fixture *f = *state;
	need_journal(f);
	range_journal(f, "remote-a", 0, 5);
	va_source *s = open_src(f, NULL);
	struct got g = {0};
	take(s, &g, 5, 3000);
	expect_seqs(&g, 0, 5, 0);
	got_free(&g);
	take(s, &g, 1, 200);
	assert_int_equal(g.n, 0);

	range_journal(f, "remote-a", 5, 8); /* appended to the same file */
	take(s, &g, 3, 5000);
	expect_seqs(&g, 5, 3, 5);
	got_free(&g);

	range_journal(f, "remote-b", 8, 20); /* a new file */
	take(s, &g, 12, 5000);
	expect_seqs(&g, 8, 12, 8);
	got_free(&g);

	/* Rotation: the file renamed, then a new one. */
	char a[400], b[400];
	snprintf(a, sizeof a, "%s/remote-b.journal", f->jdir);
	snprintf(b, sizeof b, "%s/remote-b-archived.journal", f->jdir);
	assert_int_equal(rename(a, b), 0);
	take(s, &g, 1, 500);
	assert_int_equal(g.n, 0);
	range_journal(f, "remote-b", 20, 25);
	take(s, &g, 5, 5000);
	expect_seqs(&g, 20, 5, 20);
	got_free(&g);
	take(s, &g, 1, 300);
	assert_int_equal(g.n, 0);
	va_source_close(s);

	/* Written while no source is open, picked up from the cursor. */
	va_position r = {0};
	s = open_src(f, NULL);
	take(s, &g, 25, 5000);
	expect_seqs(&g, 0, 25, 0);
	r = g.pos[24];
	got_free(&g);
	va_source_close(s);
	range_journal(f, "remote-c", 25, 31);
	s = open_src(f, &r);
	take(s, &g, 6, 5000);
	expect_seqs(&g, 25, 6, 25);
	got_free(&g);
	va_source_close(s);
}

/* A full batch stops the source; the entry not taken comes next. */
static void test_batch_limits(void **state)
{
	struct fixture *f = *state;
	need_journal(f);
	range_journal(f, "remote-a", 0, 10);
	va_source *s = open_src(f, NULL);
	va_batch b;
	va_batch_init(&b, 3, 1 << 20);
	assert_int_equal(va_source_read(s, &b, 1000), VA_SOURCE_OK);
	assert_int_equal(b.n, 3);
	va_batch_clear(&b);
	/* Bytes: one event at least, then no more than fits. */
	b.max_events = 100;
	b.max_bytes = 1;
	assert_int_equal(va_source_read(s, &b, 1000), VA_SOURCE_OK);
	assert_int_equal(b.n, 1);
	assert_true(b.ev[0].pos.offset == 4);
	assert_int_equal(seq_of((const char *)b.data), 3);
	va_batch_free(&b);
	va_source_close(s);
}

/* Entries too large for one event are cut, never dropped. */
static void test_truncation(void **state)
{
	struct fixture *f = *state;
	need_journal(f);
	const size_t big = 100000, bin = 70000;
	char *v = malloc(big);
	assert_non_null(v);
	struct xport x = {0};
	xbegin(&x, 0);
	xstr(&x, "MESSAGE", "small");
	memset(v, 'x', big);
	for (size_t i = 0; i < big; i += 1000) /* a multi-byte character at the cut, somewhere */
		memcpy(v + i + 998, "\xc3\xa9", 2);
	xfield(&x, "BIG", v, big);
	for (size_t i = 0; i < bin; i++)
		v[i] = (char)(i % 7 == 0 ? 1 : 200);
	xfield(&x, "BIN", v, bin);
	xstr(&x, "SMALL", "kept");
	xend(&x);
	/* Many fields: too many to keep even their names. */
	xbegin(&x, 1);
	for (unsigned i = 0; i < 1000; i++) {
		char k[80];
		snprintf(k, sizeof k, "F%063u", i);
		xstr(&x, k, "value");
	}
	xend(&x);
	xbegin(&x, 2);
	xstr(&x, "MESSAGE", "after");
	xend(&x);
	write_journal(f, "remote-a", &x);
	free(x.p);
	free(v);

	va_source *s = open_src(f, NULL);
	struct got g = {0};
	take(s, &g, 3, 3000);
	assert_int_equal(g.n, 3);
	const char *e = g.ev[0];
	assert_true(strlen(e) <= VA_EVENT_MAX && strlen(e) > VA_EVENT_MAX - 2000);
	assert_non_null(strstr(e, "\"MESSAGE\":\"small\""));
	assert_non_null(strstr(e, "\"SMALL\":\"kept\""));
	assert_non_null(strstr(e, ",\"_VELLUM_TRUNCATED\":\"BIG=100000 BIN=70000\","));
	assert_non_null(strstr(e, "\"__CURSOR\":\""));
	assert_non_null(strstr(e, "\"__REALTIME_TIMESTAMP\":\""));
	/* Both cut to the same byte limit: BIG (at a character boundary) as
	 * a string, BIN as bytes. */
	const char *p = strstr(e, "\"BIG\":\"");
	assert_non_null(p);
	p += 7;
	size_t blen = strcspn(p, "\"");
	assert_true(blen > 1000 && blen < big);
	const char *q = strstr(e, "\"BIN\":[");
	assert_non_null(q);
	size_t commas = 0;
	for (q += 7; *q != ']'; q++)
		commas += *q == ',';
	assert_true(blen == commas + 1 || blen + 1 == commas + 1);
	/* The too-many-fields entry: header fields and a count. */
	assert_true(strlen(g.ev[1]) < 1000);
	assert_non_null(strstr(g.ev[1], "\"_VELLUM_TRUNCATED\":\"all 1000 fields left out "
	                                "(5000 value bytes): too many to fit\""));
	assert_non_null(strstr(g.ev[1], "\"__CURSOR\":\""));
	assert_int_equal(strncmp(g.ev[2], "{\"MESSAGE\":\"after\"", 18), 0);
	va_source_close(s);

	/* Deterministic: read again, the same bytes. */
	s = open_src(f, NULL);
	struct got h = {0};
	take(s, &h, 3, 3000);
	assert_int_equal(h.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(g.ev[i], h.ev[i]);
	got_free(&g);
	got_free(&h);
	va_source_close(s);
}

/* ------------------------------------------------------------------ */
/* The cursor line of spool entries.                                   */

#define CUR "s=5e9dec342e37421c82b02963871951f9;i=1;b=" BOOT ";m=3e8;t=60a24181e4000;x=a8b2"

static void test_entry_cursor_round_trip(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = 1795705445123456789,
	              .pos = {.offset = 17, .has_cursor = 1}};
	snprintf(e.origin, sizeof e.origin, "journald");
	snprintf(e.pos.cursor, sizeof e.pos.cursor, "%s", CUR);
	uint8_t buf[VA_HEADER_MAX + 16];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	const char *want = "vellum-spool/1\n"
	                   "spooled: 2026-11-26T15:04:05.123456789Z\n"
	                   "origin: journald\n"
	                   "position: 17\n"
	                   "cursor: " CUR "\n"
	                   "\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	buf[n] = '{';
	va_entry p;
	assert_int_equal(va_entry_parse(buf, n + 1, &p), 0);
	assert_true(p.pos.has_cursor && !p.pos.has_file && p.pos.offset == 17);
	assert_string_equal(p.pos.cursor, CUR);
	assert_int_equal(p.event_len, 1);

	/* Dropped: the cursor of the position, none for the first. */
	e.kind = VA_ENTRY_DROPPED;
	e.dropped = 3;
	e.dropped_bytes = 99;
	e.first.offset = 14;
	snprintf(e.origin, sizeof e.origin, "journald:/var/log/journal/remote");
	n = va_entry_write_header(&e, buf, sizeof buf);
	const char *want2 = "vellum-dropped/1\n"
	                    "spooled: 2026-11-26T15:04:05.123456789Z\n"
	                    "origin: journald:/var/log/journal/remote\n"
	                    "position: 17\n"
	                    "cursor: " CUR "\n"
	                    "dropped: 3\n"
	                    "dropped-bytes: 99\n"
	                    "first-position: 14\n"
	                    "\n";
	assert_int_equal(n, strlen(want2));
	assert_memory_equal(buf, want2, n);
	assert_int_equal(va_entry_parse(buf, n, &p), 0);
	assert_true(p.kind == VA_ENTRY_DROPPED && p.pos.has_cursor && p.dropped == 3 &&
	            p.first.offset == 14 && !p.first.has_cursor);
	assert_string_equal(p.pos.cursor, CUR);

	/* The longest cursor; one byte more, a space or a control character
	 * is not written. */
	e.kind = VA_ENTRY_EVENT;
	memset(e.pos.cursor, '~', VA_CURSOR_MAX);
	e.pos.cursor[VA_CURSOR_MAX] = '\0';
	n = va_entry_write_header(&e, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(va_entry_parse(buf, n + 1, &p), 0);
	assert_int_equal(strlen(p.pos.cursor), VA_CURSOR_MAX);
	memset(e.pos.cursor, '~', sizeof e.pos.cursor);
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
	snprintf(e.pos.cursor, sizeof e.pos.cursor, "a b");
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
	snprintf(e.pos.cursor, sizeof e.pos.cursor, "a\tb");
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
	e.pos.cursor[0] = '\0';
	assert_int_equal(va_entry_write_header(&e, buf, sizeof buf), 0);
}

/* Every header at its longest, cursor and file lines both, fits. */
static void test_entry_longest_with_cursor(void **state)
{
	(void)state;
	va_entry e = {.kind = VA_ENTRY_DROPPED, .spooled_ns = 1795705445123456789,
	              .pos = {.offset = UINT64_MAX, .has_file = 1, .inode = UINT64_MAX,
	                      .head = UINT64_MAX, .has_cursor = 1},
	              .dropped = UINT64_MAX, .dropped_bytes = UINT64_MAX,
	              .first = {.offset = UINT64_MAX, .has_file = 1, .inode = UINT64_MAX}};
	memset(e.origin, 'o', VA_ORIGIN_MAX);
	memset(e.pos.cursor, 'c', VA_CURSOR_MAX);
	uint8_t buf[VA_HEADER_MAX];
	size_t n = va_entry_write_header(&e, buf, sizeof buf);
	assert_int_equal(n, 805); /* as entry.h says */
	va_entry p;
	assert_int_equal(va_entry_parse(buf, n, &p), 0);
	assert_true(p.pos.has_cursor && p.pos.has_file);
	e.kind = VA_ENTRY_EVENT;
	n = va_entry_write_header(&e, buf, sizeof buf);
	assert_true(n > 0 && n + VA_EVENT_MAX <= VL_ENTRY_MAX);
}

static void test_entry_cursor_rejects(void **state)
{
	(void)state;
#define SP "vellum-spool/1\nspooled: 2026-11-26T15:04:05.123456789Z\norigin: journald\n"
#define DR "vellum-dropped/1\nspooled: 2026-11-26T15:04:05.123456789Z\norigin: journald\n"
	char longest[400], too_long[400];
	snprintf(longest, sizeof longest, SP "position: 1\ncursor: %0255d\n\nx", 7);
	snprintf(too_long, sizeof too_long, SP "position: 1\ncursor: %0256d\n\nx", 7);
	va_entry e;
	assert_int_equal(va_entry_parse((const uint8_t *)longest, strlen(longest), &e), 0);
	assert_int_equal(va_entry_parse((const uint8_t *)too_long, strlen(too_long), &e),
	                 VL_EFORMAT);
	static const char *const bad[] = {
		SP "position: 1\ncursor: a b\n\nx",
		SP "position: 1\ncursor: \n\nx",
		SP "position: 1\ncursor:  ab\n\nx",
		SP "position: 1\ncursor: ab \n\nx",
		SP "position: 1\ncursor: a\tb\n\nx",
		SP "position: 1\ncursor: a\rb\n\nx",
		SP "position: 1\ncursor: a\x7f\n\nx",
		SP "position: 1\ncursor: \xc3\xa9\n\nx",
		SP "position: 1\ncursor:ab\n\nx",
		SP "position: 1\nCursor: ab\n\nx",
		SP "position: 1\ncursor: ab\ncursor: ab\n\nx",
		SP "cursor: ab\nposition: 1\n\nx",
		SP "position: 1\ninode: 5\nhead: 0123456789abcdef\ncursor: ab\n\nx",
		SP "position: 1\ninode: 5\ncursor: ab\nhead: 0123456789abcdef\n\nx",
		SP "position: 1\ncursor: ab\n\n",
		SP "position: 1\ncursor: ab\n",
		SP "position: 1\ncursor: ab",
		DR "position: 1\ndropped: 1\ncursor: ab\ndropped-bytes: 0\nfirst-position: 0\n\n",
		DR "position: 1\ndropped: 1\ndropped-bytes: 0\nfirst-position: 0\ncursor: ab\n\n",
		DR "position: 1\ncursor: ab\ndropped: 1\ndropped-bytes: 0\nfirst-position: 0\n"
		"first-cursor: ab\n\n",
		DR "position: 1\ncursor: a b\ndropped: 1\ndropped-bytes: 0\nfirst-position: 0\n\n",
	};
#undef SP
#undef DR
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (va_entry_parse((const uint8_t *)bad[i], strlen(bad[i]), &e) != VL_EFORMAT)
			fail_msg("accepted #%zu: %s", i, bad[i]);
	}
	/* Every prefix of a valid entry with a cursor is refused. */
	const char *ok = "vellum-dropped/1\nspooled: 2026-11-26T15:04:05.123456789Z\n"
	                 "origin: journald\nposition: 1\ncursor: " CUR "\ndropped: 1\n"
	                 "dropped-bytes: 0\nfirst-position: 0\n\n";
	assert_int_equal(va_entry_parse((const uint8_t *)ok, strlen(ok), &e), 0);
	for (size_t len = 0; len < strlen(ok); len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, ok, len);
		assert_int_equal(va_entry_parse(copy, len, &e), VL_EFORMAT);
		free(copy);
	}
}

/* The spool keeps the cursor: in its entries and in the positions cache. */
static void test_spool_cursor(void **state)
{
	struct fixture *f = *state;
	char sdir[300], err[512], path[400];
	snprintf(sdir, sizeof sdir, "%s/agent", f->dir);
	va_spool *s = NULL;
	assert_int_equal(va_spool_open(sdir, "test-j", 1 << 20, &s, err, sizeof err), 0);
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = 1795705445123456789,
	              .pos = {.offset = 5, .has_cursor = 1}};
	snprintf(e.origin, sizeof e.origin, "journald");
	snprintf(e.pos.cursor, sizeof e.pos.cursor, "%s", CUR);
	uint8_t buf[VA_HEADER_MAX + 8];
	size_t n = va_entry_write_header(&e, buf, VA_HEADER_MAX);
	memcpy(buf + n, "{}", 2);
	vl_entry ve = {buf, n + 2};
	assert_int_equal(va_spool_append(s, &ve, 1, "journald", &e.pos, NULL), 0);
	va_position p;
	assert_int_equal(va_spool_position(s, "journald", &p), 1);
	assert_true(p.has_cursor && p.offset == 5);
	assert_string_equal(p.cursor, CUR);
	assert_int_equal(va_spool_close(s), 0);

	/* From the positions cache (it covers the whole spool). */
	snprintf(path, sizeof path, "%s/positions", sdir);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char text[2048];
	size_t tl = fread(text, 1, sizeof text - 1, fp);
	fclose(fp);
	text[tl] = '\0';
	assert_non_null(strstr(text, "\nc " CUR "\n"));
	assert_int_equal(va_spool_open(sdir, "test-j", 1 << 20, &s, err, sizeof err), 0);
	memset(&p, 0, sizeof p);
	assert_int_equal(va_spool_position(s, "journald", &p), 1);
	assert_true(p.has_cursor && p.offset == 5);
	assert_string_equal(p.cursor, CUR);
	assert_int_equal(va_spool_close(s), 0);

	/* Without the cache: from the entries. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(va_spool_open(sdir, "test-j", 1 << 20, &s, err, sizeof err), 0);
	memset(&p, 0, sizeof p);
	assert_int_equal(va_spool_position(s, "journald", &p), 1);
	assert_true(p.has_cursor && p.offset == 5);
	assert_string_equal(p.cursor, CUR);
	assert_int_equal(va_spool_close(s), 0);
}

int main(void)
{
	static const char *const bins[] = {"/lib/systemd/systemd-journal-remote",
	                                   "/usr/lib/systemd/systemd-journal-remote"};
	for (size_t i = 0; i < sizeof bins / sizeof bins[0] && !remote_bin; i++)
		if (access(bins[i], X_OK) == 0)
			remote_bin = bins[i];
	if (!remote_bin)
		fprintf(stderr, "test_agent_journald: systemd-journal-remote not found; the "
		                "journal tests skip\n");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test(test_entry_cursor_round_trip),
		cmocka_unit_test(test_entry_longest_with_cursor),
		cmocka_unit_test(test_entry_cursor_rejects),
		cmocka_unit_test_setup_teardown(test_spool_cursor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
