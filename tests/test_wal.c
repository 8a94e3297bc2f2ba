/*
 * test_wal.c — the WAL format and its reader: frames round-trip, segments
 * chain, and every kind of damage is classified right: a torn tail of the
 * last commit (cut) versus corruption anywhere else (reported).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fcntl.h>
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

#include "crc32c.h"
#include "vellum.h"
#include "vellum_io.h"
#include "wal.h"

static char dir[256];
static int quiet;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/vellum-test-wal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void reset(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/wal' && mkdir '%s/wal'", dir, dir);
	assert_int_equal(system(cmd), 0);
}

/* Write one commit of `n` entries starting at `first`, split into
 * `frames` frames, at the end of the segment open as fd. */
static uint64_t write_commit(int fd, uint64_t first, size_t n, unsigned frames)
{
	static uint8_t buf[1 << 20];
	char data[64][32];
	vl_entry e[64];
	assert_true(n <= 64 && frames >= 1 && frames <= n);
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(data[i], sizeof data[i], "entry %llu", (unsigned long long)(first + i));
		e[i] = (vl_entry){data[i], (size_t)len};
	}
	size_t off = 0, done = 0;
	for (unsigned f = 0; f < frames; f++) {
		size_t take = f + 1 == frames ? n - done : n / frames;
		off += vl_wal_frame_encode(buf + off, e + done, take, first + done, f, frames);
		done += take;
	}
	off_t end = lseek(fd, 0, SEEK_END);
	assert_int_equal(pwrite(fd, buf, off, end), (ssize_t)off);
	return first + n;
}

static int make_segment(uint64_t first)
{
	int fd = vl_wal_segment_create(vl_io_posix(), dir, first);
	assert_true(fd >= 0);
	return fd;
}

static void seg_path(char *buf, size_t cap, uint64_t first)
{
	assert_true(vl_wal_segment_path(buf, cap, dir, first) > 0);
}

static void poke(uint64_t seg, long off, uint8_t xor)
{
	char path[512];
	seg_path(path, sizeof path, seg);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	if (off < 0)
		off = lseek(fd, 0, SEEK_END) + off;
	uint8_t c;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= xor;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Read everything from `start`; returns the iterator's last code and the
 * number of entries seen; checks entry contents and density. */
static int read_all(uint64_t start, uint64_t *count, int *at_tail, uint64_t *valid_end)
{
	vl_wal_iter *it = NULL;
	int rc = vl_wal_iter_open(vl_io_posix(), dir, start, &it);
	uint64_t n = 0, index, expect = start;
	const uint8_t *entry;
	size_t len;
	while (rc == 0 && (rc = vl_wal_iter_next(it, &index, &entry, &len)) > 0) {
		char want[32];
		int wl = snprintf(want, sizeof want, "entry %llu", (unsigned long long)index);
		assert_int_equal(index, expect);
		assert_int_equal(len, (size_t)wl);
		assert_memory_equal(entry, want, len);
		expect++;
		n++;
		rc = 0;
	}
	*count = n;
	*at_tail = it ? vl_wal_iter_at_tail(it) : 0;
	uint64_t seg, next, size;
	if (it)
		vl_wal_iter_end(it, &seg, valid_end, &next, &size);
	if (rc < 0 && it && !quiet)
		print_message("  reader: %s\n", vl_wal_iter_message(it));
	vl_wal_iter_close(it);
	return rc;
}

static void test_crc32c_known_answer(void **state)
{
	(void)state;
	assert_int_equal(vl_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(vl_crc32c_table(0, "123456789", 9), 0xE3069283u);
}

static void test_round_trip_and_start(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	uint64_t next = 0;
	next = write_commit(fd, next, 1, 1);
	next = write_commit(fd, next, 10, 1);
	next = write_commit(fd, next, 12, 3); /* a multi-frame commit */
	close(fd);
	fd = make_segment(next);
	next = write_commit(fd, next, 5, 1);
	close(fd);
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), 0);
	assert_int_equal(n, 28);
	/* Starting mid-way picks the right segment and skips earlier entries. */
	assert_int_equal(read_all(7, &n, &tail, &valid_end), 0);
	assert_int_equal(n, 21);
	assert_int_equal(read_all(25, &n, &tail, &valid_end), 0);
	assert_int_equal(n, 3);
}

static void test_garbage_after_last_commit_is_tail(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	write_commit(fd, write_commit(fd, 0, 4, 1), 4, 1);
	char path[512];
	seg_path(path, sizeof path, 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint64_t good_end = (uint64_t)st.st_size;
	assert_int_equal(pwrite(fd, "VLFR garbage", 12, st.st_size), 12);
	close(fd);
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_int_equal(n, 8);
	assert_true(tail);
	assert_int_equal(valid_end, good_end);
}

static void test_preallocated_zeros_are_the_clean_end(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	write_commit(fd, write_commit(fd, 0, 4, 1), 4, 1);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	static const uint8_t zeros[100000];
	assert_int_equal(pwrite(fd, zeros, sizeof zeros, st.st_size), (ssize_t)sizeof zeros);
	close(fd);
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), 0);
	assert_int_equal(n, 8);
	assert_false(tail);
	assert_int_equal(valid_end, (uint64_t)st.st_size);
	/* One non-zero byte far into the zeros makes it a torn tail again. */
	poke(0, st.st_size + 5000, 0x10);
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_true(tail);
	assert_int_equal(n, 8);
}

static void test_torn_last_frame_is_tail(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	write_commit(fd, write_commit(fd, 0, 4, 1), 4, 1);
	close(fd);
	poke(0, -2, 0xff); /* inside the last frame's payload */
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_int_equal(n, 4);
	assert_true(tail);
}

static void test_bad_frame_followed_by_commit_is_corruption(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	write_commit(fd, write_commit(fd, 0, 4, 1), 4, 1);
	close(fd);
	/* Damage the first commit's payload: the second commit is valid. */
	poke(0, VL_WAL_SEGMENT_HEADER + VL_WAL_FRAME_HEADER + 3, 0x01);
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_int_equal(n, 0);
	assert_false(tail);
	/* Damage to the header is corruption too. */
	reset();
	fd = make_segment(0);
	write_commit(fd, write_commit(fd, 0, 4, 1), 4, 1);
	close(fd);
	poke(0, VL_WAL_SEGMENT_HEADER + 9, 0x01);
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_false(tail);
}

static void test_torn_multi_frame_commit_is_all_or_nothing(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	uint64_t next = write_commit(fd, 0, 3, 1);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint64_t commit_start = (uint64_t)st.st_size;
	write_commit(fd, next, 12, 3);
	close(fd);
	/* Tear the middle frame of the last commit: the whole commit goes,
	 * even though its first frame is intact. */
	uint64_t frame_len = VL_WAL_FRAME_HEADER + 4 * (2 + strlen("entry 10"));
	poke(0, (long)(commit_start + frame_len + VL_WAL_FRAME_HEADER + 5), 0x40);
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_int_equal(n, 3);
	assert_true(tail);
	assert_int_equal(valid_end, commit_start);
}

static void test_missing_and_torn_segments(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	uint64_t next = write_commit(fd, 0, 5, 1);
	close(fd);
	fd = make_segment(next);
	uint64_t second = next;
	next = write_commit(fd, next, 5, 1);
	close(fd);
	fd = make_segment(next);
	uint64_t third = next;
	write_commit(fd, next, 5, 1);
	close(fd);
	uint64_t n, valid_end;
	int tail;
	/* A newest segment whose header was torn at creation is a tail. */
	char path[512];
	seg_path(path, sizeof path, third);
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_true(tail);
	assert_int_equal(valid_end, 0);
	assert_int_equal(n, 10);
	/* A segment missing in the middle is corruption. */
	unlink(path);
	seg_path(path, sizeof path, second);
	unlink(path);
	fd = make_segment(third);
	write_commit(fd, third, 5, 1);
	close(fd);
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_false(tail);
	/* The first segment missing is corruption. */
	reset();
	fd = make_segment(5);
	close(fd);
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_false(tail);
}

static void test_zeros_after_older_segment_are_its_end(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	uint64_t next = write_commit(fd, 0, 5, 1);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	static const uint8_t zeros[4096];
	assert_int_equal(pwrite(fd, zeros, sizeof zeros, st.st_size), (ssize_t)sizeof zeros);
	close(fd);
	fd = make_segment(next);
	write_commit(fd, next, 5, 1);
	close(fd);
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), 0);
	assert_int_equal(n, 10);
	/* Zeros over the last frame of the older segment hide nothing: the
	 * next segment's first index no longer continues it. */
	reset();
	fd = make_segment(0);
	next = write_commit(fd, 0, 5, 1);
	assert_int_equal(fstat(fd, &st), 0);
	uint64_t first_end = (uint64_t)st.st_size;
	next = write_commit(fd, next, 5, 1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pwrite(fd, zeros, (size_t)st.st_size - first_end, (off_t)first_end),
	                 (ssize_t)(st.st_size - (off_t)first_end));
	close(fd);
	fd = make_segment(next);
	write_commit(fd, next, 5, 1);
	close(fd);
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_false(tail);
}

static void test_bad_frame_in_older_segment_is_corruption(void **state)
{
	(void)state;
	reset();
	int fd = make_segment(0);
	uint64_t next = write_commit(fd, 0, 5, 1);
	close(fd);
	fd = make_segment(next);
	write_commit(fd, next, 5, 1);
	close(fd);
	poke(0, -1, 0x80); /* the end of the older segment */
	uint64_t n, valid_end;
	int tail;
	assert_int_equal(read_all(0, &n, &tail, &valid_end), VL_ECORRUPT);
	assert_false(tail);
}

static void test_every_single_byte_change_is_caught(void **state)
{
	(void)state;
	/* Any one changed byte of a two-commit segment is either reported as
	 * corruption or, in the last commit, as a tail: never read as data. */
	reset();
	int fd = make_segment(0);
	uint64_t next = write_commit(fd, 0, 3, 1);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	long first_commit_end = (long)st.st_size;
	write_commit(fd, next, 3, 1);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	quiet = 1;
	for (long off = 0; off < st.st_size; off++) {
		poke(0, off, 0x04);
		uint64_t n, valid_end;
		int tail;
		int rc = read_all(0, &n, &tail, &valid_end);
		assert_int_equal(rc, VL_ECORRUPT);
		/* Damage before the last commit is never mistaken for a tail. */
		if (off < first_commit_end)
			assert_false(tail);
		else
			assert_int_equal(n, 3);
		poke(0, off, 0x04);
	}
	quiet = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_answer),
		cmocka_unit_test(test_round_trip_and_start),
		cmocka_unit_test(test_garbage_after_last_commit_is_tail),
		cmocka_unit_test(test_preallocated_zeros_are_the_clean_end),
		cmocka_unit_test(test_torn_last_frame_is_tail),
		cmocka_unit_test(test_bad_frame_followed_by_commit_is_corruption),
		cmocka_unit_test(test_torn_multi_frame_commit_is_all_or_nothing),
		cmocka_unit_test(test_missing_and_torn_segments),
		cmocka_unit_test(test_zeros_after_older_segment_are_its_end),
		cmocka_unit_test(test_bad_frame_in_older_segment_is_corruption),
		cmocka_unit_test(test_every_single_byte_change_is_caught),
	};
	return cmocka_run_group_tests_name("wal", tests, setup, teardown);
}
