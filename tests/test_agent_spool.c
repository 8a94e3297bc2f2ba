/*
 * test_agent_spool.c — the agent's spool (src/agent/spool.c) in segments:
 * spool indexes continue across segments, scans cross them, a segment is
 * deleted only once all of it was forwarded (and never the newest), the
 * positions of the sources outlive the segments that held them (also when
 * the positions cache is lost), a release interrupted by a crash is
 * finished on the next open, a segment gone from the middle is a hole that
 * scans pass over, and segments that overlap are refused.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "entry.h"
#include "spool.h"

static char *make_dir(void)
{
	char tmpl[] = "/tmp/vellum-spool-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* Appends events FIRST..FIRST+N-1 of ORIGIN ("ev-<i>"), position i+1. */
static void append_events(va_spool *s, const char *origin, uint64_t first, size_t n)
{
	vl_entry *entries = calloc(n, sizeof *entries);
	uint8_t *buf = malloc(n * (VA_HEADER_MAX + 32));
	assert_non_null(entries);
	assert_non_null(buf);
	size_t used = 0;
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = 1795705445000000000LL};
	snprintf(e.origin, sizeof e.origin, "%s", origin);
	va_position last = {0};
	for (size_t i = 0; i < n; i++) {
		e.pos.offset = first + i + 1;
		size_t h = va_entry_write_header(&e, buf + used, VA_HEADER_MAX);
		assert_true(h > 0);
		int m = sprintf((char *)buf + used + h, "ev-%llu", (unsigned long long)(first + i));
		entries[i].data = buf + used;
		entries[i].len = h + (size_t)m;
		used += h + (size_t)m;
		last = e.pos;
	}
	uint64_t idx;
	assert_int_equal(va_spool_append(s, entries, n, origin, &last, &idx), 0);
	assert_true(idx == first);
	free(entries);
	free(buf);
}

struct collect {
	uint64_t next;
	size_t seen;
	int bad;
};

static int collect_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct collect *c = arg;
	va_entry e;
	char want[32];
	if (va_entry_parse(entry, len, &e) < 0 || index != c->next)
		c->bad = 1;
	snprintf(want, sizeof want, "ev-%llu", (unsigned long long)index);
	if (e.event_len != strlen(want) || memcmp(e.event, want, e.event_len) != 0)
		c->bad = 1;
	c->next++;
	c->seen++;
	return 0;
}

/* The indexes a scan passed to its callback (the first 32). */
struct indexes {
	uint64_t idx[32];
	size_t n;
};

static int list_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct indexes *l = arg;
	(void)entry;
	(void)len;
	if (l->n < 32)
		l->idx[l->n] = index;
	l->n++;
	return 0;
}

static va_spool *open_spool(const char *dir)
{
	va_spool *s = NULL;
	char err[512] = "";
	int rc = va_spool_open(dir, "spool-test", 1ull << 30, &s, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "open: %s\n", err);
	assert_int_equal(rc, 0);
	va_spool_set_segment_events(s, 100);
	return s;
}

static void test_segments_rotate_scan_release(void **state)
{
	(void)state;
	char *dir = make_dir();
	va_spool *s = open_spool(dir);
	/* 350 events in batches of 50: segments start at 100, 200, 300. */
	for (uint64_t i = 0; i < 350; i += 50) {
		append_events(s, "file:/a", i, 50);
		assert_int_equal(va_spool_maintain(s, 0), 0);
	}
	uint64_t released = 9;
	assert_true(va_spool_segments(s, &released) == 4);
	assert_true(released == 0);
	assert_true(exists(dir, "spool") && exists(dir, "spool-00000000000000000100") &&
	            exists(dir, "spool-00000000000000000300"));

	/* One scan crosses every segment. */
	struct collect c = {0};
	assert_int_equal(va_spool_scan(s, 0, 350, collect_cb, &c), 0);
	assert_false(c.bad);
	assert_true(c.seen == 350);
	c = (struct collect){.next = 95};
	assert_int_equal(va_spool_scan(s, 95, 10, collect_cb, &c), 0);
	assert_false(c.bad);

	/* Forwarded up to 150: only the first segment may go. */
	va_spool_stats st;
	va_spool_get_stats(s, &st);
	assert_int_equal(va_spool_set_forwarded(s, 150, st.pending_bytes / 2), 0);
	assert_int_equal(va_spool_maintain(s, 0), 0);
	assert_true(va_spool_segments(s, &released) == 3);
	assert_true(released == 1);
	assert_false(exists(dir, "spool"));
	assert_true(exists(dir, "positions.released"));
	assert_int_equal(va_spool_scan(s, 50, 10, collect_cb, &c), VL_ENOTFOUND);
	c = (struct collect){.next = 100};
	assert_int_equal(va_spool_scan(s, 100, 250, collect_cb, &c), 0);
	assert_false(c.bad);

	/* Everything forwarded: all but the newest go. */
	assert_int_equal(va_spool_set_forwarded(s, 350, 0), 0);
	assert_int_equal(va_spool_maintain(s, 1), 0);
	assert_true(va_spool_segments(s, NULL) == 1);
	assert_int_equal(va_spool_close(s), 0);

	/* Reopened: size, cursor and position survive; indexes continue. */
	s = open_spool(dir);
	va_spool_get_stats(s, &st);
	assert_true(st.size == 350);
	assert_true(st.forwarded == 350);
	assert_true(st.pending_bytes == 0);
	va_position p;
	assert_int_equal(va_spool_position(s, "file:/a", &p), 1);
	assert_true(p.offset == 350);
	append_events(s, "file:/a", 350, 10);
	assert_int_equal(va_spool_close(s), 0);
	rm_rf(dir);
	free(dir);
}

/* The positions cache is a hint: lost, the positions come from
 * positions.released and the segments left; an origin whose every entry
 * was released keeps its position too. */
static void test_positions_outlive_released_segments(void **state)
{
	(void)state;
	char *dir = make_dir();
	va_spool *s = open_spool(dir);
	append_events(s, "file:/old", 0, 120); /* only in released segments */
	assert_int_equal(va_spool_maintain(s, 0), 0);
	append_events(s, "file:/new", 120, 100);
	assert_int_equal(va_spool_maintain(s, 0), 0);
	assert_int_equal(va_spool_set_forwarded(s, 220, 0), 0);
	assert_int_equal(va_spool_maintain(s, 1), 0);
	assert_true(va_spool_segments(s, NULL) == 1);
	assert_int_equal(va_spool_close(s), 0);

	char path[512];
	snprintf(path, sizeof path, "%s/positions", dir);
	assert_int_equal(unlink(path), 0);
	s = open_spool(dir);
	va_position p;
	assert_int_equal(va_spool_position(s, "file:/old", &p), 1);
	assert_true(p.offset == 120);
	assert_int_equal(va_spool_position(s, "file:/new", &p), 1);
	assert_true(p.offset == 220);
	assert_int_equal(va_spool_close(s), 0);

	/* Without positions.released too, a spool with released segments is
	 * refused rather than restarting its sources from the beginning. */
	snprintf(path, sizeof path, "%s/positions", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/positions.released", dir);
	assert_int_equal(unlink(path), 0);
	va_spool *bad = NULL;
	char err[512] = "";
	assert_int_equal(va_spool_open(dir, "spool-test", 1ull << 30, &bad, err, sizeof err),
	                 VL_ECORRUPT);
	assert_non_null(strstr(err, "positions are lost"));
	rm_rf(dir);
	free(dir);
}

/* A crash between renaming a segment to NAME.released and removing it: the
 * next open removes the rest; a stray NAME.new (a crash while creating)
 * too.  A gap between segments is refused. */
static void test_interrupted_release_and_gaps(void **state)
{
	(void)state;
	char *dir = make_dir();
	va_spool *s = open_spool(dir);
	append_events(s, "file:/a", 0, 150);
	assert_int_equal(va_spool_maintain(s, 1), 0);
	append_events(s, "file:/a", 150, 10);
	assert_int_equal(va_spool_close(s), 0);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "cd '%s' && cp -a spool-00000000000000000150 spool-00000000000000000150.released "
	         "&& mkdir spool-00000000000000000999.new",
	         dir);
	assert_int_equal(system(cmd), 0);
	s = open_spool(dir);
	va_spool_stats st;
	va_spool_get_stats(s, &st);
	assert_true(st.size == 160);
	assert_int_equal(va_spool_close(s), 0);
	assert_false(exists(dir, "spool-00000000000000000150.released"));
	assert_false(exists(dir, "spool-00000000000000000999.new"));

	/* A segment gone from the middle (spool-150, reopened as if it began
	 * at 151): its indexes are a hole, reported, and scans pass over it. */
	s = open_spool(dir);
	append_events(s, "file:/a", 160, 100); /* 160..259 */
	assert_int_equal(va_spool_maintain(s, 1), 0); /* a segment begins at 260 */
	append_events(s, "file:/a", 260, 10);
	assert_int_equal(va_spool_close(s), 0);
	snprintf(cmd, sizeof cmd, "cd '%s' && rm -r spool-00000000000000000150", dir);
	assert_int_equal(system(cmd), 0);
	s = open_spool(dir);
	uint64_t hf[4], hl[4];
	assert_int_equal(va_spool_holes(s, hf, hl, 4), 1);
	assert_true(hf[0] == 150 && hl[0] == 259);
	va_spool_get_stats(s, &st);
	assert_true(st.size == 270);
	/* Over the hole: 140..149, then 260..269. */
	struct indexes l = {0};
	assert_int_equal(va_spool_scan(s, 140, 130, list_cb, &l), 0);
	assert_true(l.n == 20);
	assert_true(l.idx[0] == 140 && l.idx[9] == 149 && l.idx[10] == 260 && l.idx[19] == 269);
	/* A range wholly inside the hole yields nothing, and no error. */
	l.n = 0;
	assert_int_equal(va_spool_scan(s, 170, 50, list_cb, &l), 0);
	assert_true(l.n == 0);
	assert_int_equal(va_spool_close(s), 0);

	/* Segments that overlap cannot be explained: refused. */
	snprintf(cmd, sizeof cmd, "cd '%s' && mv spool-00000000000000000260 spool-00000000000000000149",
	         dir);
	assert_int_equal(system(cmd), 0);
	va_spool *bad = NULL;
	char err[512] = "";
	assert_int_equal(va_spool_open(dir, "spool-test", 1ull << 30, &bad, err, sizeof err),
	                 VL_ECORRUPT);
	assert_non_null(strstr(err, "overlap"));
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments_rotate_scan_release),
		cmocka_unit_test(test_positions_outlive_released_segments),
		cmocka_unit_test(test_interrupted_release_and_gaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
