/*
 * test_agent_follow.c — the agent's sources and spool on a real file
 * system (temporary directories): the file follower (appends, incomplete
 * lines, rotation by rename, copytruncate, a file that appears late, long
 * lines, resuming after a restart — also when the file was truncated or
 * rotated meanwhile), stdin, and the spool (identity, creation, durable
 * appends, every origin's newest position recovered after a restart with
 * and without the positions cache, the forwarded cursor, the pending-bytes
 * limit).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "entry.h"
#include "source.h"
#include "spool.h"

struct fixture {
	char dir[256];
	char path[300];  /* dir/app.log */
	char rotated[310]; /* dir/app.log.1 */
	char notes[8192];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "%s/vellum-agent-test.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/app.log", f->dir);
	snprintf(f->rotated, sizeof f->rotated, "%s/app.log.1", f->dir);
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

static void put(const char *path, const char *mode, const char *text)
{
	FILE *fp = fopen(path, mode);
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

static uint64_t inode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_ino;
}

static void note_cb(void *ctx, int level, const char *origin, const char *msg,
                    const char *detail)
{
	struct fixture *f = ctx;
	(void)level;
	(void)origin;
	(void)detail;
	size_t n = strlen(f->notes);
	snprintf(f->notes + n, sizeof f->notes - n, "%s;", msg);
}

/* Reads what the source has now: events joined by '|'; *last gets the
 * position after the last one. */
static void take(va_source *s, char *out, size_t cap, va_position *last)
{
	va_batch b;
	va_batch_init(&b, 1000, 1 << 20);
	out[0] = '\0';
	size_t n = 0;
	for (int round = 0; round < 4; round++) {
		int rc = va_source_read(s, &b, 0);
		assert_true(rc >= 0);
		for (size_t i = 0; i < b.n; i++) {
			n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "|" : "",
			                      (int)b.ev[i].len, (const char *)b.data + b.ev[i].off);
			if (last)
				*last = b.ev[i].pos;
		}
		if (rc == VA_SOURCE_EOF) {
			n += (size_t)snprintf(out + n, cap - n, "%sEOF", n ? "|" : "");
			break;
		}
		va_batch_clear(&b);
	}
	va_batch_free(&b);
}

static va_source *open_file(struct fixture *f, const va_position *resume)
{
	char origin[400], err[256];
	snprintf(origin, sizeof origin, "file:%s", f->path);
	va_source *s = NULL;
	assert_int_equal(va_source_open(origin, resume, note_cb, f, &s, err, sizeof err), 0);
	assert_true(s->resumable);
	return s;
}

/* ------------------------------------------------------------------ */
/* The file follower.                                                  */

static void test_follow_append(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "a\nbb\n\npar");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "a|bb");
	assert_true(last.offset == 5 && last.has_file && last.inode == inode_of(f->path));
	assert_true(last.head == va_head_hash((const uint8_t *)"a\nbb\n", 5));
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, ""); /* "par" waits for its newline */
	put(f->path, "a", "tial\nnext\n");
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "partial|next");
	assert_true(last.offset == 19);
	assert_non_null(strstr(f->notes, "following;"));
	va_source_close(s);
}

static void test_follow_head_past_1024(void **state)
{
	struct fixture *f = *state;
	char got[8192], text[3000];
	va_position last = {0};
	/* 150 lines of 10 bytes: the head covers the first 1024 bytes. */
	text[0] = '\0';
	for (int i = 0; i < 150; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "line-%04d\n", i);
	put(f->path, "w", text);
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	assert_true(last.offset == 1500);
	assert_true(last.head == va_head_hash((const uint8_t *)text, VA_HEAD_BYTES));
	va_source_close(s);
}

static void test_follow_rename_rotation(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "1\n2\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "1|2");
	uint64_t old = inode_of(f->path);
	put(f->path, "a", "3\n4");
	assert_int_equal(rename(f->path, f->rotated), 0);
	/* Renamed, not recreated yet: the old file is still read (its writer
	 * may not have reopened), its incomplete line kept waiting. */
	put(f->rotated, "a", "\n5\n6");
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "3|4|5");
	assert_true(last.inode == old);
	put(f->path, "w", "new-1\nnew-2\n");
	take(s, got, sizeof got, &last);
	/* The old file to its end first (its last line without a newline),
	 * then the new one from its start. */
	assert_string_equal(got, "6|new-1|new-2");
	assert_true(last.inode == inode_of(f->path) && last.inode != old);
	assert_true(last.offset == 12);
	assert_non_null(strstr(f->notes, "file rotated;"));
	va_source_close(s);
}

/* Reads at most MAX events. */
static void take_some(va_source *s, size_t max, char *out, size_t cap)
{
	va_batch b;
	va_batch_init(&b, max, 1 << 20);
	out[0] = '\0';
	size_t n = 0;
	assert_true(va_source_read(s, &b, 0) >= 0);
	for (size_t i = 0; i < b.n; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "|" : "", (int)b.ev[i].len,
		                      (const char *)b.data + b.ev[i].off);
	va_batch_free(&b);
}

/* The path replaced twice while the first file is still being read (the
 * agent lagging behind its writer): the file in the middle is read too,
 * between the two. */
static void test_follow_two_rotations_while_behind(void **state)
{
	struct fixture *f = *state;
	char got[4096], second[320];
	snprintf(second, sizeof second, "%s/app.log.2", f->dir);
	put(f->path, "w", "a1\na2\na3\na4\n");
	va_source *s = open_file(f, NULL);
	take_some(s, 2, got, sizeof got);
	assert_string_equal(got, "a1|a2");
	assert_int_equal(rename(f->path, f->rotated), 0);
	put(f->path, "w", "b1\nb2\n");
	take_some(s, 1, got, sizeof got); /* still in the first file */
	assert_string_equal(got, "a3");
	assert_int_equal(rename(f->rotated, second), 0);
	assert_int_equal(rename(f->path, f->rotated), 0);
	put(f->path, "w", "c1\nc2\n");
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "a4|b1|b2|c1|c2");
	va_source_close(s);
}

static void test_follow_copytruncate(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "first-1\nfirst-2\nfirst-3\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "first-1|first-2|first-3");
	uint64_t ino = inode_of(f->path);
	/* Truncated and rewritten shorter. */
	put(f->path, "w", "x\n");
	assert_true(inode_of(f->path) == ino);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "x");
	assert_true(last.offset == 2);
	/* Truncated and quickly rewritten past the old position: the changed
	 * first bytes give it away. */
	put(f->path, "w", "second-1\nsecond-2\nsecond-3\n");
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "second-1|second-2|second-3");
	assert_true(last.offset == 27);
	assert_non_null(strstr(f->notes, "file truncated;"));
	/* Appends go on as usual. */
	put(f->path, "a", "second-4\n");
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "second-4");
	va_source_close(s);
}

static void test_follow_late_file(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "");
	assert_non_null(strstr(f->notes, "waiting for the file;"));
	put(f->path, "w", "late\n");
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "late");
	va_source_close(s);
}

static void test_follow_long_line(void **state)
{
	struct fixture *f = *state;
	size_t n = VA_EVENT_MAX * 2 + 100;
	char *text = malloc(n + 3);
	memset(text, 'L', n);
	memcpy(text + n, "\ns\n", 3);
	FILE *fp = fopen(f->path, "w");
	assert_int_equal(fwrite(text, 1, n + 3, fp), n + 3);
	fclose(fp);
	va_source *s = open_file(f, NULL);
	va_batch b;
	va_batch_init(&b, 1000, 1 << 20);
	size_t lens[8], k = 0;
	for (int round = 0; round < 4; round++) {
		assert_true(va_source_read(s, &b, 0) >= 0);
		for (size_t i = 0; i < b.n && k < 8; i++)
			lens[k++] = b.ev[i].len;
		va_batch_clear(&b);
	}
	assert_int_equal(k, 4);
	assert_int_equal(lens[0], VA_EVENT_MAX);
	assert_int_equal(lens[1], VA_EVENT_MAX);
	assert_int_equal(lens[2], 100);
	assert_int_equal(lens[3], 1);
	va_batch_free(&b);
	va_source_close(s);
	free(text);
}

static void test_follow_resume(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "a\nb\nc\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "a|b|c");
	va_source_close(s);
	/* Stopped; the file grows; started again from the spooled position. */
	put(f->path, "a", "d\ne\n");
	s = open_file(f, &last);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "d|e");
	assert_true(last.offset == 10);
	assert_non_null(strstr(f->notes, "following;"));
	va_source_close(s);
	/* Resuming at the very end: nothing again. */
	s = open_file(f, &last);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "");
	va_source_close(s);
}

static void test_follow_resume_truncated(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "a\nb\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	va_source_close(s);
	/* copytruncate while stopped, and the new content already longer
	 * than the old position: read from the start. */
	put(f->path, "w", "new-a\nnew-b\n");
	s = open_file(f, &last);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "new-a|new-b");
	assert_non_null(strstr(f->notes, "file truncated while stopped;"));
	va_source_close(s);
	/* Shorter than the position: also from the start. */
	f->notes[0] = '\0';
	put(f->path, "w", "a\nbbbbbbbbbb\n");
	s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	va_source_close(s);
	put(f->path, "w", "a\n");
	s = open_file(f, &last);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "a");
	assert_non_null(strstr(f->notes, "file truncated while stopped;"));
	va_source_close(s);
}

static void test_follow_resume_rotated(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "a\nb\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	va_source_close(s);
	/* While stopped: more lines, rotation by rename, a new file. */
	put(f->path, "a", "c\nd");
	assert_int_equal(rename(f->path, f->rotated), 0);
	put(f->path, "w", "e\n");
	s = open_file(f, &last);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "c|d|e");
	assert_true(last.inode == inode_of(f->path));
	assert_non_null(strstr(f->notes, "file rotated while stopped;"));
	va_source_close(s);
	/* Rotated again while stopped, and the old file is gone (compressed,
	 * say): the new file from its start, with a warning. */
	put(f->path, "a", "f\n");
	assert_int_equal(rename(f->path, f->rotated), 0);
	assert_int_equal(unlink(f->rotated), 0);
	put(f->path, "w", "g\n");
	f->notes[0] = '\0';
	s = open_file(f, &last);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "g");
	assert_non_null(strstr(f->notes, "file rotated while stopped;"));
	va_source_close(s);
}

/* Rotated twice while stopped (logrotate's numbering: app.log.1 becomes
 * app.log.2): the old file is finished, then the one rotated after it,
 * then the new one; an older, compressed rotation is left alone. */
static void test_follow_resume_rotated_twice(void **state)
{
	struct fixture *f = *state;
	char got[4096], second[320], older[330];
	va_position last = {0};
	snprintf(second, sizeof second, "%s/app.log.2", f->dir);
	snprintf(older, sizeof older, "%s/app.log.3.gz", f->dir);
	put(older, "w", "compressed, older\n");
	struct timespec pause = {0, 20000000};
	nanosleep(&pause, NULL);
	put(f->path, "w", "a1\na2\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "a1|a2");
	va_source_close(s);
	put(f->path, "a", "a3\n");
	assert_int_equal(rename(f->path, f->rotated), 0);
	nanosleep(&pause, NULL);
	put(f->path, "w", "b1\nb2\n");
	assert_int_equal(rename(f->rotated, second), 0);
	assert_int_equal(rename(f->path, f->rotated), 0);
	nanosleep(&pause, NULL);
	put(f->path, "w", "c1\n");
	f->notes[0] = '\0';
	s = open_file(f, &last);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "a3|b1|b2|c1");
	assert_true(last.inode == inode_of(f->path));
	va_source_close(s);
}

static void test_follow_resume_rotated_missing_path(void **state)
{
	struct fixture *f = *state;
	char got[4096];
	va_position last = {0};
	put(f->path, "w", "a\n");
	va_source *s = open_file(f, NULL);
	take(s, got, sizeof got, &last);
	va_source_close(s);
	/* Renamed, not recreated, while stopped: the old file is found and
	 * followed; then the new one. */
	put(f->path, "a", "b\n");
	assert_int_equal(rename(f->path, f->rotated), 0);
	s = open_file(f, &last);
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "b");
	put(f->path, "w", "c\n");
	take(s, got, sizeof got, NULL);
	assert_string_equal(got, "c");
	va_source_close(s);
}

static void test_stdin_source(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	int saved = dup(0);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	const char *in = "one\n\ntwo\nlast";
	assert_int_equal(write(p[1], in, strlen(in)), (ssize_t)strlen(in));
	char origin[] = "stdin", err[128], got[256];
	va_source *s = NULL;
	assert_int_equal(va_source_open(origin, NULL, NULL, NULL, &s, err, sizeof err), 0);
	assert_false(s->resumable);
	va_position last = {0};
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "one|two");
	assert_true(last.offset == 9 && !last.has_file);
	close(p[1]);
	take(s, got, sizeof got, &last);
	assert_string_equal(got, "last|EOF");
	assert_true(last.offset == 13);
	va_source_close(s);
	dup2(saved, 0);
	close(saved);
}

/* ------------------------------------------------------------------ */
/* The spool.                                                          */

static void test_agent_id(void **state)
{
	struct fixture *f = *state;
	char id[80], err[512];
	assert_int_equal(va_agent_id(f->dir, NULL, id, sizeof id, err, sizeof err), 0);
	assert_true(va_agent_id_ok(id));
	size_t n = strlen(id);
	assert_true(n > 9 && id[n - 9] == '-');
	assert_int_equal(strspn(id + n - 8, "0123456789abcdef"), 8);
	char again[80];
	assert_int_equal(va_agent_id(f->dir, NULL, again, sizeof again, err, sizeof err), 0);
	assert_string_equal(again, id);
	assert_int_equal(va_agent_id(f->dir, id, again, sizeof again, err, sizeof err), 0);
	assert_int_equal(va_agent_id(f->dir, "other", again, sizeof again, err, sizeof err),
	                 VL_EINVAL);
	assert_non_null(strstr(err, "differs"));
	assert_true(va_agent_id_ok("a") && va_agent_id_ok("host-1.example:x_y"));
	assert_false(va_agent_id_ok("") || va_agent_id_ok("a b") || va_agent_id_ok("a/b") ||
	             va_agent_id_ok("é"));
	char longid[70];
	memset(longid, 'x', 65);
	longid[65] = '\0';
	assert_false(va_agent_id_ok(longid));
	longid[64] = '\0';
	assert_true(va_agent_id_ok(longid));
}

static size_t make_entry(uint8_t *buf, const char *origin, uint64_t offset, int has_file,
                         const char *event)
{
	va_entry e = {.kind = VA_ENTRY_EVENT, .spooled_ns = 1700000000000000000LL,
	              .pos = {.offset = offset, .has_file = has_file, .inode = has_file ? 42 : 0,
	                      .head = has_file ? 7 : 0}};
	snprintf(e.origin, sizeof e.origin, "%s", origin);
	size_t h = va_entry_write_header(&e, buf, VA_HEADER_MAX);
	assert_true(h > 0);
	memcpy(buf + h, event, strlen(event));
	return h + strlen(event);
}

/* Appends one entry from ORIGIN at OFFSET; returns its length. */
static size_t append1(va_spool *s, const char *origin, uint64_t offset, const char *event)
{
	uint8_t buf[VA_HEADER_MAX + 64];
	int has_file = strncmp(origin, "file:", 5) == 0;
	size_t n = make_entry(buf, origin, offset, has_file, event);
	vl_entry e = {buf, n};
	va_position last = {.offset = offset, .has_file = has_file, .inode = has_file ? 42 : 0,
	                    .head = has_file ? 7 : 0};
	assert_int_equal(va_spool_append(s, &e, 1, origin, &last, NULL), 0);
	return n;
}

static void test_spool_positions(void **state)
{
	struct fixture *f = *state;
	char sdir[300], err[512], path[400], saved[400];
	snprintf(sdir, sizeof sdir, "%s/agent", f->dir);
	va_spool *s = NULL;
	assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/spool.key", sdir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	va_position p;
	assert_int_equal(va_spool_position(s, "file:/a", &p), 0);
	append1(s, "file:/a", 10, "a1");
	append1(s, "stdin", 3, "s1");
	append1(s, "file:/a", 20, "a2");
	assert_int_equal(va_spool_position(s, "file:/a", &p), 1);
	assert_true(p.offset == 20 && p.inode == 42 && p.head == 7);
	assert_int_equal(va_spool_close(s), 0);

	/* Reopened: positions from the cache. */
	assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
	assert_int_equal(va_spool_position(s, "file:/a", &p), 1);
	assert_true(p.offset == 20);
	assert_int_equal(va_spool_position(s, "stdin", &p), 1);
	assert_true(p.offset == 3);
	append1(s, "file:/b", 5, "b1");
	assert_int_equal(va_spool_close(s), 0);

	/* A stale cache (covering fewer entries) still ends up right: the
	 * entries after it are read. */
	snprintf(path, sizeof path, "%s/positions", sdir);
	snprintf(saved, sizeof saved, "%s/positions.saved", f->dir);
	char cmd[1000];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, saved);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
	append1(s, "file:/a", 30, "a3");
	append1(s, "file:/b", 9, "b2");
	assert_int_equal(va_spool_close(s), 0);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", saved, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
	assert_int_equal(va_spool_position(s, "file:/a", &p), 1);
	assert_true(p.offset == 30);
	assert_int_equal(va_spool_position(s, "file:/b", &p), 1);
	assert_true(p.offset == 9);
	assert_int_equal(va_spool_close(s), 0);

	/* Without a cache, or with a torn or foreign one: the whole spool. */
	static const char *const caches[] = {NULL, "vellum-agent-positions/1\nspool x\nsize 0\n",
	                                     "vellum-agent-positions/1\nspo"};
	for (size_t i = 0; i < 3; i++) {
		unlink(path);
		if (caches[i])
			put(path, "w", caches[i]);
		assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
		assert_int_equal(va_spool_position(s, "file:/a", &p), 1);
		assert_true(p.offset == 30);
		assert_int_equal(va_spool_position(s, "stdin", &p), 1);
		assert_true(p.offset == 3);
		assert_int_equal(va_spool_close(s), 0);
	}
	/* A cache claiming more entries than the spool has is ignored. */
	assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
	assert_int_equal(va_spool_close(s), 0);
	char *text = NULL;
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	text = calloc(1, 8192);
	assert_true(fread(text, 1, 8191, fp) > 0);
	fclose(fp);
	char *size = strstr(text, "size 6\n");
	assert_non_null(size);
	size[5] = '9';
	char *a = strstr(text, "file:/a");
	assert_non_null(a);
	put(path, "w", text);
	free(text);
	assert_int_equal(va_spool_open(sdir, "test-1", 1 << 20, &s, err, sizeof err), 0);
	assert_int_equal(va_spool_position(s, "file:/a", &p), 1);
	assert_true(p.offset == 30);
	assert_int_equal(va_spool_close(s), 0);
}

static void test_spool_forwarded_and_full(void **state)
{
	struct fixture *f = *state;
	char sdir[300], err[512];
	snprintf(sdir, sizeof sdir, "%s/agent", f->dir);
	va_spool *s = NULL;
	assert_int_equal(va_spool_open(sdir, "test-2", 200, &s, err, sizeof err), 0);
	size_t l0 = append1(s, "stdin", 1, "zero");
	assert_false(va_spool_full(s));
	size_t l1 = append1(s, "stdin", 2, "one");
	size_t l2 = append1(s, "stdin", 3, "two");
	va_spool_stats st;
	va_spool_get_stats(s, &st);
	assert_true(st.size == 3 && st.forwarded == 0 && st.pending_bytes == l0 + l1 + l2);
	assert_true(l0 < 200 && l2 < 200 && l0 + l1 + l2 >= 200);
	assert_true(va_spool_full(s));
	assert_int_equal(va_spool_set_forwarded(s, 2, l0 + l1), 0);
	assert_false(va_spool_full(s));
	assert_int_equal(va_spool_close(s), 0);

	uint64_t next;
	char vkey[512];
	assert_int_equal(va_read_forwarded(sdir, &next, vkey, sizeof vkey), 0);
	assert_true(next == 2);
	assert_non_null(strstr(vkey, "vellum-agent/test-2+"));
	/* Reopened: the cursor and the pending bytes are back. */
	assert_int_equal(va_spool_open(sdir, "test-2", 200, &s, err, sizeof err), 0);
	va_spool_get_stats(s, &st);
	assert_true(st.size == 3 && st.forwarded == 2 && st.pending_bytes == l2);
	assert_int_equal(va_spool_close(s), 0);

	/* A cursor beyond the spool, or of another spool, is refused. */
	char path[400];
	snprintf(path, sizeof path, "%s/forwarded", sdir);
	char text[1024];
	snprintf(text, sizeof text, "vellum-agent-forwarded/1\nspool %s\nnext 4\n", vkey);
	put(path, "w", text);
	assert_true(va_spool_open(sdir, "test-2", 200, &s, err, sizeof err) < 0);
	assert_non_null(strstr(err, "only 3"));
	put(path, "w", "vellum-agent-forwarded/1\nspool other+12345678+AAAA\nnext 1\n");
	assert_true(va_spool_open(sdir, "test-2", 200, &s, err, sizeof err) < 0);
	assert_non_null(strstr(err, "another spool"));
	put(path, "w", "garbage");
	assert_true(va_spool_open(sdir, "test-2", 200, &s, err, sizeof err) < 0);
}

static void test_spool_locked(void **state)
{
	struct fixture *f = *state;
	char sdir[300], err[512];
	snprintf(sdir, sizeof sdir, "%s/agent", f->dir);
	va_spool *s = NULL, *t = NULL;
	assert_int_equal(va_spool_open(sdir, "test-3", 1000, &s, err, sizeof err), 0);
	/* A second agent on the same directory is refused (after ~5 s of
	 * waiting for a status reader to let go). */
	assert_int_equal(va_spool_open(sdir, "test-3", 1000, &t, err, sizeof err), VL_ELOCKED);
	assert_non_null(strstr(err, "another agent"));
	assert_int_equal(va_spool_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follow_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_head_past_1024, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_rename_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_two_rotations_while_behind, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_follow_copytruncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_late_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_resume_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_resume_rotated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_resume_rotated_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_resume_rotated_missing_path, setup,
		                                teardown),
		cmocka_unit_test(test_stdin_source),
		cmocka_unit_test_setup_teardown(test_agent_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_positions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_forwarded_and_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_locked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
