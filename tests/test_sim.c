/*
 * test_sim.c — unit tests of the storage-fault simulator (src/io_sim.c):
 * POSIX-like behaviour, durability rules, injected faults and crashes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "io_sim.h"

#define RW (VL_O_RDWR)
#define CREATE (VL_O_RDWR | VL_O_CREAT)

/* ------------------------------------------------------------------ */
/* Helpers.                                                            */

static vl_sim *new_sim(uint64_t seed)
{
	vl_sim *sim = vl_sim_new(seed);
	assert_non_null(sim);
	assert_int_equal(vl_sim_mkdir_p(sim, "/sim/log"), 0);
	return sim;
}

static int xopen(vl_sim *sim, const char *path, int flags)
{
	const vl_io *io = vl_sim_io(sim);
	return io->open(io->ctx, path, flags, 0644);
}

static void xwrite(vl_sim *sim, int fd, const void *data, size_t len, uint64_t off)
{
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(io->pwrite(io->ctx, fd, data, len, off), (ssize_t)len);
}

/* Create path with content, fsync the file and its directory. */
static void durable_file(vl_sim *sim, const char *path, const char *dir, const char *content)
{
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, path, CREATE | VL_O_TRUNC);
	assert_true(fd >= 0);
	xwrite(sim, fd, content, strlen(content), 0);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	assert_int_equal(io->close(io->ctx, fd), 0);
	assert_int_equal(io->fsync_dir(io->ctx, dir), 0);
}

/* The file's content as a string in the given view, or NULL if absent. */
static char *content(vl_sim *sim, const char *path, int view)
{
	uint8_t *data;
	size_t len;
	if (vl_sim_read_file(sim, path, view, &data, &len) != 0)
		return NULL;
	char *s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, data, len);
	s[len] = '\0';
	free(data);
	return s;
}

static void assert_content(vl_sim *sim, const char *path, int view, const char *want)
{
	char *got = content(sim, path, view);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Crash keeping every pending write and directory operation. */
static void crash_keep_all(vl_sim *sim)
{
	vl_sim_faults f = { .crash_keep = 1, .crash_dirops = VL_SIM_DIROPS_ALL };
	vl_sim_set_faults(sim, &f);
	vl_sim_crash(sim);
}

static void crash_drop_all(vl_sim *sim)
{
	vl_sim_faults f = { .crash_drop = 1, .crash_dirops = VL_SIM_DIROPS_NONE };
	vl_sim_set_faults(sim, &f);
	vl_sim_crash(sim);
}

struct names {
	char buf[1024];
	int n;
};

static int collect(void *arg, const char *name)
{
	struct names *ns = arg;
	size_t len = strlen(ns->buf);
	snprintf(ns->buf + len, sizeof(ns->buf) - len, "%s%s", ns->n ? " " : "", name);
	ns->n++;
	return 0;
}

static int stop_at_two(void *arg, const char *name)
{
	(void)name;
	int *n = arg;
	return ++*n == 2 ? 42 : 0;
}

/* ------------------------------------------------------------------ */
/* POSIX behaviour.                                                    */

static void test_open_flags(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(1);
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(xopen(sim, "/sim/log/a", RW), -ENOENT);
	int fd = xopen(sim, "/sim/log/a", CREATE | VL_O_EXCL);
	assert_true(fd >= 3);
	xwrite(sim, fd, "hello", 5, 0);
	assert_int_equal(xopen(sim, "/sim/log/a", CREATE | VL_O_EXCL), -EEXIST);
	int fd2 = xopen(sim, "/sim/log/a", VL_O_RDONLY);
	assert_true(fd2 >= 0 && fd2 != fd);
	char buf[16] = { 0 };
	assert_int_equal(io->pread(io->ctx, fd2, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(io->pread(io->ctx, fd2, buf, sizeof(buf), 5), 0);
	assert_int_equal(io->pread(io->ctx, fd2, buf, sizeof(buf), 100), 0);
	assert_int_equal(io->pwrite(io->ctx, fd2, "x", 1, 0), -EBADF);
	assert_int_equal(io->ftruncate(io->ctx, fd2, 0), -EBADF);

	int fd3 = xopen(sim, "/sim/log/a", RW | VL_O_TRUNC);
	assert_true(fd3 >= 0);
	uint64_t size = 99;
	assert_int_equal(io->file_size(io->ctx, fd2, &size), 0);
	assert_int_equal(size, 0);

	/* Writing past the end leaves a zero-filled gap. */
	xwrite(sim, fd3, "z", 1, 10);
	assert_int_equal(io->pread(io->ctx, fd3, buf, sizeof(buf), 0), 11);
	for (int i = 0; i < 10; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(io->ftruncate(io->ctx, fd3, 4), 0);
	assert_int_equal(io->file_size(io->ctx, fd3, &size), 0);
	assert_int_equal(size, 4);

	assert_int_equal(io->close(io->ctx, fd), 0);
	assert_int_equal(io->close(io->ctx, fd), -EBADF);
	assert_int_equal(io->close(io->ctx, fd2), 0);
	assert_int_equal(io->close(io->ctx, fd3), 0);
	assert_int_equal(vl_sim_open_fds(sim), 0);
	assert_int_equal(io->pread(io->ctx, 0, buf, 1, 0), -EBADF);

	/* Directories. */
	assert_int_equal(xopen(sim, "/sim/log", RW), -EISDIR);
	assert_int_equal(xopen(sim, "/sim/log/a", VL_O_DIRECTORY), -ENOTDIR);
	assert_int_equal(xopen(sim, "/sim/log/a/b", CREATE), -ENOTDIR);
	assert_int_equal(xopen(sim, "/sim/nope/b", CREATE), -ENOENT);
	assert_int_equal(xopen(sim, "/sim/log/new/", CREATE), -EISDIR);
	int dfd = xopen(sim, "/sim/log", VL_O_RDONLY | VL_O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(io->pread(io->ctx, dfd, buf, 1, 0), -EISDIR);
	assert_int_equal(io->fsync(io->ctx, dfd), 0);
	assert_int_equal(io->close(io->ctx, dfd), 0);
	vl_sim_free(sim);
}

static void test_paths_normalised(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(2);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "//sim///log/./x", CREATE);
	assert_true(fd >= 0);
	assert_int_equal(io->close(io->ctx, fd), 0);
	uint64_t size;
	unsigned mode;
	assert_int_equal(io->stat(io->ctx, "/sim/log/x", &size, &mode), 0);
	assert_true(S_ISREG(mode));
	assert_int_equal(io->stat(io->ctx, "/sim/../sim/log/x", NULL, NULL), 0);
	assert_int_equal(io->stat(io->ctx, "/sim/log/", NULL, &mode), 0);
	assert_true(S_ISDIR(mode));
	assert_int_equal(io->stat(io->ctx, "/sim/log/x/", NULL, NULL), -ENOTDIR);
	assert_int_equal(io->stat(io->ctx, "/sim/log/y", NULL, NULL), -ENOENT);
	assert_int_equal(io->stat(io->ctx, "", NULL, NULL), -ENOENT);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(io->stat(io->ctx, longname, NULL, NULL), -ENAMETOOLONG);
	vl_sim_free(sim);
}

static void test_dirs(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(3);
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/wal", 0755), 0);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/wal", 0755), -EEXIST);
	assert_int_equal(io->mkdir(io->ctx, "/sim/none/wal", 0755), -ENOENT);
	int fd = xopen(sim, "/sim/log/wal/1", CREATE);
	assert_int_equal(io->close(io->ctx, fd), 0);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/wal/1/x", 0755), -ENOTDIR);
	assert_int_equal(io->unlink(io->ctx, "/sim/log/wal"), -EISDIR);
	assert_int_equal(io->unlink(io->ctx, "/sim/log/wal/2"), -ENOENT);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log/wal/1"), -ENOTDIR);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log/none"), -ENOENT);
	assert_int_equal(io->list_dir(io->ctx, "/sim/log/wal/1", collect, NULL), -ENOTDIR);

	/* rename's POSIX errors. */
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/d", 0755), 0);
	assert_int_equal(io->rename(io->ctx, "/sim/log/nope", "/sim/log/x"), -ENOENT);
	assert_int_equal(io->rename(io->ctx, "/sim/log/wal/1", "/sim/log/d"), -EISDIR);
	assert_int_equal(io->rename(io->ctx, "/sim/log/d", "/sim/log/wal/1"), -ENOTDIR);
	assert_int_equal(io->rename(io->ctx, "/sim/log/d", "/sim/log/wal"), -ENOTEMPTY);
	assert_int_equal(io->rename(io->ctx, "/sim/log", "/sim/log/d/log"), -EINVAL);
	assert_int_equal(io->rename(io->ctx, "/sim/log/wal/1", "/sim/log/none/1"), -ENOENT);
	assert_int_equal(io->rename(io->ctx, "/sim/log/wal/1", "/sim/log/wal/1"), 0);
	assert_int_equal(io->rename(io->ctx, "/sim/log/wal/1", "/sim/log/d/1"), 0);
	assert_int_equal(io->stat(io->ctx, "/sim/log/wal/1", NULL, NULL), -ENOENT);
	assert_int_equal(io->stat(io->ctx, "/sim/log/d/1", NULL, NULL), 0);
	/* A directory may replace an empty one. */
	assert_int_equal(io->rename(io->ctx, "/sim/log/d", "/sim/log/wal"), 0);
	assert_int_equal(io->stat(io->ctx, "/sim/log/wal/1", NULL, NULL), 0);
	assert_int_equal(io->stat(io->ctx, "/sim/log/d", NULL, NULL), -ENOENT);

	/* Listing: every name once, none of "." or "..", any order. */
	for (int i = 2; i <= 5; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/sim/log/wal/%d", i);
		fd = xopen(sim, p, CREATE);
		assert_int_equal(io->close(io->ctx, fd), 0);
	}
	struct names ns = { { 0 }, 0 };
	assert_int_equal(io->list_dir(io->ctx, "/sim/log/wal", collect, &ns), 0);
	assert_int_equal(ns.n, 5);
	for (int i = 1; i <= 5; i++) {
		char p[4];
		snprintf(p, sizeof(p), "%d", i);
		assert_non_null(strstr(ns.buf, p));
	}
	int calls = 0;
	assert_int_equal(io->list_dir(io->ctx, "/sim/log/wal", stop_at_two, &calls), 42);
	assert_int_equal(calls, 2);
	vl_sim_free(sim);
}

/* An unlinked or renamed open file keeps working through its descriptor. */
static void test_inode_semantics(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(4);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	xwrite(sim, fd, "abc", 3, 0);
	assert_int_equal(io->rename(io->ctx, "/sim/log/a", "/sim/log/b"), 0);
	xwrite(sim, fd, "d", 1, 3);
	assert_content(sim, "/sim/log/b", VL_SIM_CACHED, "abcd");
	assert_int_equal(io->unlink(io->ctx, "/sim/log/b"), 0);
	xwrite(sim, fd, "e", 1, 4);
	char buf[8];
	assert_int_equal(io->pread(io->ctx, fd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "abcde", 5);
	assert_content(sim, "/sim/log/b", VL_SIM_CACHED, NULL);
	assert_int_equal(io->close(io->ctx, fd), 0);
	vl_sim_free(sim);
}

/* ------------------------------------------------------------------ */
/* Durability.                                                         */

static void test_unsynced_lost(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(5);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "durable");
	int fd = xopen(sim, "/sim/log/a", RW);
	xwrite(sim, fd, "DURABLE", 7, 0);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "DURABLE");
	assert_content(sim, "/sim/log/a", VL_SIM_DURABLE, "durable");
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "durable");
	/* Descriptors died in the crash. */
	assert_int_equal(io->pwrite(io->ctx, fd, "x", 1, 0), -EBADF);
	int fd2 = xopen(sim, "/sim/log/a", RW);
	assert_true(fd2 > fd); /* numbers are never reused */
	xwrite(sim, fd2, "DURABLE", 7, 0);
	assert_int_equal(io->fdatasync(io->ctx, fd2), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "DURABLE");
	vl_sim_free(sim);
}

static void test_kept_writes_survive(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(6);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	xwrite(sim, fd, "one", 3, 0);
	xwrite(sim, fd, "TWO", 3, 1);
	crash_keep_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "oTWO");
	vl_sim_free(sim);
}

/* A new file needs an fsync of its directory, not only of itself. */
static void test_create_needs_fsync_dir(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(7);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	xwrite(sim, fd, "data", 4, 0);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, NULL);

	durable_file(sim, "/sim/log/b", "/sim/log", "data");
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/b", VL_SIM_CACHED, "data");

	/* fsync_dir of one directory leaves another's entries pending. */
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/t", 0755), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log"), 0);
	fd = xopen(sim, "/sim/log/t/x", CREATE);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log"), 0);
	crash_drop_all(sim);
	assert_int_equal(io->stat(io->ctx, "/sim/log/t", NULL, NULL), 0);
	assert_int_equal(io->stat(io->ctx, "/sim/log/t/x", NULL, NULL), -ENOENT);

	/* A directory's own fsync does not make its name durable. */
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/u", 0755), 0);
	durable_file(sim, "/sim/log/u/y", "/sim/log/u", "y");
	crash_drop_all(sim);
	assert_int_equal(io->stat(io->ctx, "/sim/log/u", NULL, NULL), -ENOENT);
	vl_sim_free(sim);
}

static void test_rename_durability(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(8);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/checkpoint", "/sim/log", "old");
	durable_file(sim, "/sim/log/checkpoint.tmp", "/sim/log", "new");
	assert_int_equal(io->rename(io->ctx, "/sim/log/checkpoint.tmp", "/sim/log/checkpoint"), 0);
	assert_content(sim, "/sim/log/checkpoint", VL_SIM_CACHED, "new");
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/checkpoint", VL_SIM_CACHED, "old");
	assert_content(sim, "/sim/log/checkpoint.tmp", VL_SIM_CACHED, "new");

	assert_int_equal(io->rename(io->ctx, "/sim/log/checkpoint.tmp", "/sim/log/checkpoint"), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log"), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/checkpoint", VL_SIM_CACHED, "new");
	assert_content(sim, "/sim/log/checkpoint.tmp", VL_SIM_CACHED, NULL);

	/* Unlink is pending too. */
	assert_int_equal(io->unlink(io->ctx, "/sim/log/checkpoint"), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/checkpoint", VL_SIM_CACHED, "new");
	vl_sim_free(sim);
}

/*
 * A cross-directory rename made durable by fsync of the target drags its
 * creation along: the renamed file can never exist in two places, nor be
 * durable under a name whose creation was lost.
 */
static void test_dirop_dependencies(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(9);
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/a", 0755), 0);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/b", 0755), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log"), 0);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/a/sub", 0755), 0);
	int fd = xopen(sim, "/sim/log/a/sub/f", CREATE);
	xwrite(sim, fd, "f", 1, 0);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log/a/sub"), 0);
	assert_int_equal(io->rename(io->ctx, "/sim/log/a/sub", "/sim/log/b/sub"), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log/b"), 0);
	crash_drop_all(sim);
	assert_int_equal(io->stat(io->ctx, "/sim/log/a/sub", NULL, NULL), -ENOENT);
	assert_content(sim, "/sim/log/b/sub/f", VL_SIM_CACHED, "f");
	vl_sim_free(sim);
}

static void test_sync_all(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(10);
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/t", 0755), 0);
	int fd = xopen(sim, "/sim/log/t/x", CREATE);
	xwrite(sim, fd, "x", 1, 0);
	assert_int_equal(io->sync_all(io->ctx, "/sim/log"), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/t/x", VL_SIM_DURABLE, "x");
	assert_int_equal(io->sync_all(io->ctx, "/sim/none"), -ENOENT);
	vl_sim_free(sim);
}

/* ------------------------------------------------------------------ */
/* Faults.                                                             */

static void test_fsync_error_linux_semantics(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(11);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "old");
	int fd = xopen(sim, "/sim/log/a", RW);
	xwrite(sim, fd, "new", 3, 0);
	vl_sim_faults f = { .op = VL_SIM_FDATASYNC, .nth = 1 };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(io->fdatasync(io->ctx, fd), -EIO);
	/* The page cache still shows the lost write ... */
	char buf[4] = { 0 };
	assert_int_equal(io->pread(io->ctx, fd, buf, 3, 0), 3);
	assert_memory_equal(buf, "new", 3);
	/* ... and the retry reports success although nothing was written. */
	assert_int_equal(io->fdatasync(io->ctx, fd), 0);
	assert_int_equal(vl_sim_failures(sim, VL_SIM_FDATASYNC), 1);
	crash_keep_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "old");
	vl_sim_free(sim);
}

/* Even with a certain probabilistic failure, the fsync after a failed one
 * succeeds: the error was consumed. */
static void test_fsync_error_consumed(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(12);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	vl_sim_faults f = { .sync_eio = 1.0 };
	vl_sim_set_faults(sim, &f);
	xwrite(sim, fd, "a", 1, 0);
	assert_int_equal(io->fsync(io->ctx, fd), -EIO);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	xwrite(sim, fd, "b", 1, 1);
	assert_int_equal(io->fsync(io->ctx, fd), -EIO);
	assert_int_equal(vl_sim_write_failures(sim), 2);
	vl_sim_free(sim);
}

static void test_write_faults(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(13);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	vl_sim_faults f = { .write_enospc = 1.0 };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(io->pwrite(io->ctx, fd, "abc", 3, 0), -ENOSPC);
	f = (vl_sim_faults){ .write_eio = 1.0 };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(io->pwrite(io->ctx, fd, "abc", 3, 0), -EIO);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "");
	f = (vl_sim_faults){ .write_short = 1.0 };
	vl_sim_set_faults(sim, &f);
	char big[4096];
	memset(big, 'q', sizeof(big));
	ssize_t n = io->pwrite(io->ctx, fd, big, sizeof(big), 0);
	assert_true(n >= 1 && n < (ssize_t)sizeof(big));
	uint64_t size;
	assert_int_equal(io->file_size(io->ctx, fd, &size), 0);
	assert_int_equal(size, (uint64_t)n);
	/* A one-byte write cannot be short. */
	assert_int_equal(io->pwrite(io->ctx, fd, "z", 1, 0), 1);
	/* A short write is not an error. */
	assert_int_equal(vl_sim_write_failures(sim), 2);
	vl_sim_set_faults(sim, NULL);
	assert_int_equal(io->pwrite(io->ctx, fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	vl_sim_free(sim);
}

static void test_read_faults(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(14);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "0123456789abcdef");
	int fd = xopen(sim, "/sim/log/a", VL_O_RDONLY);
	vl_sim_faults f = { .op = VL_SIM_PREAD, .nth = 2, .err = VL_SIM_ERR_FLIP };
	vl_sim_set_faults(sim, &f);
	char buf[16];
	assert_int_equal(io->pread(io->ctx, fd, buf, 16, 0), 16);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	assert_int_equal(io->pread(io->ctx, fd, buf, 16, 0), 16);
	int diff = 0;
	for (int i = 0; i < 16; i++)
		diff += __builtin_popcount((unsigned)(uint8_t)(buf[i] ^ "0123456789abcdef"[i]));
	assert_int_equal(diff, 1);
	assert_int_equal(io->pread(io->ctx, fd, buf, 16, 0), 16);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	assert_content(sim, "/sim/log/a", VL_SIM_DURABLE, "0123456789abcdef");

	f = (vl_sim_faults){ .read_eio = 1.0 };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(io->pread(io->ctx, fd, buf, 16, 0), -EIO);
	assert_int_equal(vl_sim_write_failures(sim), 0);
	assert_int_equal(vl_sim_failures(sim, VL_SIM_PREAD), 2);
	vl_sim_free(sim);
}

static void test_meta_faults(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(15);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "a");
	vl_sim_faults f = { .rename_eio = 1.0, .fsync_dir_eio = 1.0, .open_eio = 1.0 };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(io->rename(io->ctx, "/sim/log/a", "/sim/log/b"), -EIO);
	assert_int_equal(io->stat(io->ctx, "/sim/log/a", NULL, NULL), 0);
	assert_int_equal(io->fsync_dir(io->ctx, "/sim/log"), -EIO);
	assert_int_equal(xopen(sim, "/sim/log/c", CREATE), -EIO);
	assert_int_equal(io->stat(io->ctx, "/sim/log/c", NULL, NULL), -ENOENT);
	/* Misuse is reported as such even while faults are on. */
	assert_int_equal(xopen(sim, "/sim/log/none", RW), -ENOENT);
	vl_sim_set_faults(sim, NULL);
	vl_sim_free(sim);
}

/* The SQLite-style loop: fail the Nth call, for N = 1, 2, ... */
static void test_nth_fault_loop(void **state)
{
	(void)state;
	int reached_end = 0;
	for (uint64_t n = 1; n < 20 && !reached_end; n++) {
		vl_sim *sim = new_sim(16);
		const vl_io *io = vl_sim_io(sim);
		int fd = xopen(sim, "/sim/log/a", CREATE);
		vl_sim_faults f = { .op = VL_SIM_PWRITE, .nth = n };
		vl_sim_set_faults(sim, &f);
		int failures = 0;
		for (int i = 0; i < 5; i++)
			if (io->pwrite(io->ctx, fd, "x", 1, (uint64_t)i) < 0)
				failures++;
		assert_int_equal(failures, n <= 5 ? 1 : 0);
		reached_end = n > 5;
		vl_sim_free(sim);
	}
	assert_true(reached_end);

	vl_sim *sim = new_sim(16);
	const vl_io *io = vl_sim_io(sim);
	vl_sim_faults f = { .op = VL_SIM_MKDIR, .nth = 2, .err = EROFS, .persist = 1 };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/1", 0755), 0);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/2", 0755), -EROFS);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/3", 0755), -EROFS);
	/* A pseudo-error on a kind it does not fit is EIO. */
	f = (vl_sim_faults){ .op = VL_SIM_OPEN, .nth = 1, .err = VL_SIM_ERR_SHORT };
	vl_sim_set_faults(sim, &f);
	assert_int_equal(xopen(sim, "/sim/log/z", CREATE), -EIO);
	vl_sim_free(sim);
}

/* ------------------------------------------------------------------ */
/* Power loss.                                                         */

static void test_crash_at(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(17);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	vl_sim_crash_at(sim, 3);
	xwrite(sim, fd, "1", 1, 0);
	xwrite(sim, fd, "2", 1, 1);
	assert_false(vl_sim_powered_off(sim));
	assert_int_equal(io->pwrite(io->ctx, fd, "3", 1, 2), -EIO);
	assert_true(vl_sim_powered_off(sim));
	assert_int_equal(io->fsync(io->ctx, fd), -EIO);
	assert_int_equal(io->stat(io->ctx, "/sim/log/a", NULL, NULL), -EIO);
	assert_int_equal(xopen(sim, "/sim/log/b", CREATE), -EIO);
	/* The clock and the random source are not I/O. */
	int64_t t0 = io->now_ns(io->ctx);
	assert_true(io->now_ns(io->ctx) > t0);
	uint8_t r[8];
	assert_int_equal(io->random(io->ctx, r, sizeof(r)), 0);
	/* close releases the descriptor even so. */
	assert_int_equal(io->close(io->ctx, fd), -EIO);
	assert_int_equal(vl_sim_open_fds(sim), 0);
	assert_true(vl_sim_write_failures(sim) >= 2);
	vl_sim_crash(sim);
	assert_false(vl_sim_powered_off(sim));
	assert_int_equal(io->stat(io->ctx, "/sim/log", NULL, NULL), 0);
	fd = xopen(sim, "/sim/log/c", CREATE);
	assert_true(fd >= 0);
	assert_int_equal(io->close(io->ctx, fd), 0);
	vl_sim_free(sim);
}

/* A write cut off by power loss may still land. */
static void test_crash_at_write_may_land(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(18);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "");
	int fd = xopen(sim, "/sim/log/a", RW);
	vl_sim_crash_at(sim, 1);
	assert_int_equal(io->pwrite(io->ctx, fd, "late", 4, 0), -EIO);
	crash_keep_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "late");
	vl_sim_free(sim);
}

/* A rename cut off by power loss may have reached the journal. */
static void test_crash_at_rename_may_land(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(24);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "a");
	vl_sim_crash_at(sim, 1);
	assert_int_equal(io->rename(io->ctx, "/sim/log/a", "/sim/log/b"), -EIO);
	crash_keep_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, NULL);
	assert_content(sim, "/sim/log/b", VL_SIM_CACHED, "a");

	vl_sim_crash_at(sim, 1);
	assert_int_equal(io->rename(io->ctx, "/sim/log/b", "/sim/log/c"), -EIO);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/b", VL_SIM_CACHED, "a");
	vl_sim_free(sim);
}

/* fsync of a directory descriptor is fsync_dir. */
static void test_dir_fd_fsync(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(25);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	assert_int_equal(io->close(io->ctx, fd), 0);
	int dfd = xopen(sim, "/sim/log", VL_O_RDONLY | VL_O_DIRECTORY);
	assert_int_equal(io->fsync(io->ctx, dfd), 0);
	assert_int_equal(io->close(io->ctx, dfd), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "");
	vl_sim_free(sim);
}

/* A crash clears the fault plan and the power-loss point. */
static void test_crash_resets_faults(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(26);
	const vl_io *io = vl_sim_io(sim);
	vl_sim_faults f = { .write_eio = 1.0, .open_eio = 1.0 };
	vl_sim_set_faults(sim, &f);
	vl_sim_crash_at(sim, 1000);
	assert_int_equal(xopen(sim, "/sim/log/a", CREATE), -EIO);
	vl_sim_crash(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	assert_true(fd >= 0);
	for (int i = 0; i < 1100; i++)
		xwrite(sim, fd, "x", 1, (uint64_t)i);
	assert_false(vl_sim_powered_off(sim));
	assert_int_equal(io->close(io->ctx, fd), 0);
	vl_sim_free(sim);
}

/* Torn writes land whole sectors: every 512-byte sector holds either its
 * old or its new bytes, never a mix. */
static void test_torn_sectors(void **state)
{
	(void)state;
	int saw_mixed = 0, saw_short = 0;
	enum { LEN = 16384 + 100 };
	static uint8_t old[LEN], new[LEN];
	memset(old, 'o', sizeof(old));
	memset(new, 'n', sizeof(new));
	for (uint64_t seed = 0; seed < 200; seed++) {
		vl_sim *sim = new_sim(seed);
		assert_int_equal(vl_sim_write_file(sim, "/sim/log/a", old, 8192), 0);
		int fd = xopen(sim, "/sim/log/a", RW);
		/* Unaligned on purpose. */
		xwrite(sim, fd, new, LEN - 300, 300);
		vl_sim_faults f = { .crash_torn = 1 };
		vl_sim_set_faults(sim, &f);
		vl_sim_crash(sim);
		uint8_t *d;
		size_t len;
		assert_int_equal(vl_sim_read_file(sim, "/sim/log/a", VL_SIM_DURABLE, &d, &len), 0);
		assert_true(len >= 8192 && len <= LEN);
		if (len < LEN)
			saw_short = 1;
		int n_new = 0, n_other = 0;
		for (size_t s = 0; s < len; s += 512) {
			size_t e = s + 512 < len ? s + 512 : len;
			int has_new = 0, has_other = 0;
			for (size_t i = s < 300 ? 300 : s; i < e; i++) {
				if (d[i] == 'n')
					has_new = 1;
				else
					has_other = 1;
			}
			assert_false(has_new && has_other);
			n_new += has_new;
			n_other += has_other;
		}
		/* Bytes before the write are untouched. */
		for (size_t i = 0; i < 300; i++)
			assert_int_equal(d[i], 'o');
		/* Past the old end, what did not land reads as zeros. */
		for (size_t i = 8192; i < len; i++)
			assert_true(d[i] == 'n' || d[i] == 0);
		if (n_new && n_other)
			saw_mixed = 1;
		free(d);
		vl_sim_free(sim);
	}
	assert_true(saw_mixed);
	assert_true(saw_short);
}

static void test_garbled(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(19);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	static uint8_t data[8192];
	memset(data, 'n', sizeof(data));
	xwrite(sim, fd, data, sizeof(data), 0);
	vl_sim_faults f = { .crash_garble = 1, .crash_dirops = VL_SIM_DIROPS_ALL };
	vl_sim_set_faults(sim, &f);
	vl_sim_crash(sim);
	uint8_t *d;
	size_t len;
	assert_int_equal(vl_sim_read_file(sim, "/sim/log/a", VL_SIM_DURABLE, &d, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_not_equal(d, data, len);
	free(d);
	vl_sim_free(sim);
}

static void test_pending_truncate(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(20);
	const vl_io *io = vl_sim_io(sim);
	durable_file(sim, "/sim/log/a", "/sim/log", "0123456789");
	int fd = xopen(sim, "/sim/log/a", RW);
	assert_int_equal(io->ftruncate(io->ctx, fd, 4), 0);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "0123");
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "0123456789");
	fd = xopen(sim, "/sim/log/a", RW);
	assert_int_equal(io->ftruncate(io->ctx, fd, 4), 0);
	assert_int_equal(io->fsync(io->ctx, fd), 0);
	crash_drop_all(sim);
	assert_content(sim, "/sim/log/a", VL_SIM_CACHED, "0123");
	vl_sim_free(sim);
}

/* What is unreachable after a crash is gone, including its data. */
static void test_unreachable_freed(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(21);
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/d", 0755), 0);
	durable_file(sim, "/sim/log/d/f", "/sim/log/d", "f");
	crash_drop_all(sim);
	assert_int_equal(io->stat(io->ctx, "/sim/log/d", NULL, NULL), -ENOENT);
	assert_int_equal(io->mkdir(io->ctx, "/sim/log/d", 0755), 0);
	assert_int_equal(io->stat(io->ctx, "/sim/log/d/f", NULL, NULL), -ENOENT);
	vl_sim_free(sim);
}

/* ------------------------------------------------------------------ */
/* Determinism, counters, helpers.                                     */

/* A scenario mixing every random decision; returns its durable image. */
static char *scenario(uint64_t seed)
{
	vl_sim *sim = new_sim(seed);
	const vl_io *io = vl_sim_io(sim);
	vl_sim_faults f = { .write_eio = 0.1, .write_short = 0.1, .sync_eio = 0.1,
		            .read_flip = 0.2 };
	vl_sim_set_faults(sim, &f);
	char buf[64];
	for (int i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "/sim/log/f%d", i % 5);
		int fd = xopen(sim, buf, CREATE);
		if (fd < 0)
			continue;
		char data[700];
		assert_int_equal(io->random(io->ctx, data, sizeof(data)), 0);
		(void)io->pwrite(io->ctx, fd, data, sizeof(data), (uint64_t)i * 100);
		if (i % 3 == 0)
			(void)io->fsync(io->ctx, fd);
		(void)io->pread(io->ctx, fd, data, sizeof(data), 0);
		(void)io->close(io->ctx, fd);
		if (i % 7 == 0)
			(void)io->fsync_dir(io->ctx, "/sim/log");
	}
	vl_sim_crash(sim);
	size_t cap = 1 << 16, w = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "/sim/log/f%d", i);
		uint8_t *d;
		size_t len;
		if (vl_sim_read_file(sim, buf, VL_SIM_DURABLE, &d, &len) != 0)
			continue;
		for (size_t k = 0; k < len && w + 3 < cap; k++)
			w += (size_t)snprintf(out + w, cap - w, "%02x", d[k]);
		out[w++] = '|';
		free(d);
	}
	out[w] = '\0';
	vl_sim_free(sim);
	return out;
}

static void test_deterministic(void **state)
{
	(void)state;
	char *a = scenario(77), *b = scenario(77), *c = scenario(78);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

static void test_counters_and_oplog(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(22);
	const vl_io *io = vl_sim_io(sim);
	int fd = xopen(sim, "/sim/log/a", CREATE);
	xwrite(sim, fd, "x", 1, 0);
	xwrite(sim, fd, "y", 1, 1);
	assert_int_equal(io->fdatasync(io->ctx, fd), 0);
	assert_int_equal(vl_sim_count(sim, VL_SIM_OPEN), 1);
	assert_int_equal(vl_sim_count(sim, VL_SIM_PWRITE), 2);
	assert_int_equal(vl_sim_count(sim, VL_SIM_FDATASYNC), 1);
	assert_int_equal(vl_sim_count(sim, VL_SIM_NOPS), 0);
	assert_string_equal(vl_sim_op_name(VL_SIM_PWRITE), "pwrite");
	assert_string_equal(vl_sim_op_name(VL_SIM_NOPS), "?");
	char log[4096];
	size_t n = vl_sim_oplog(sim, log, sizeof(log));
	assert_int_equal(n, strlen(log));
	assert_non_null(strstr(log, "pwrite"));
	assert_non_null(strstr(log, "/sim/log/a"));
	assert_non_null(strstr(log, "fdatasync"));
	/* Only the last few are kept, and a small buffer is cut cleanly. */
	for (int i = 0; i < 100; i++)
		(void)io->stat(io->ctx, "/sim/log/a", NULL, NULL);
	n = vl_sim_oplog(sim, log, sizeof(log));
	assert_null(strstr(log, "pwrite"));
	char small[10];
	n = vl_sim_oplog(sim, small, sizeof(small));
	assert_true(n < sizeof(small));
	assert_int_equal(strlen(small), n);
	int64_t t1 = io->now_ns(io->ctx), t2 = io->now_ns(io->ctx);
	assert_true(t1 > INT64_C(1700000000000000000));
	assert_true(t2 > t1);
	vl_sim_free(sim);
}

struct files {
	char buf[1024];
};

static int collect_path(void *arg, const char *path)
{
	struct files *f = arg;
	size_t len = strlen(f->buf);
	snprintf(f->buf + len, sizeof(f->buf) - len, "%s;", path);
	return 0;
}

static void test_tamper_helpers(void **state)
{
	(void)state;
	vl_sim *sim = new_sim(23);
	const vl_io *io = vl_sim_io(sim);
	assert_int_equal(vl_sim_mkdir_p(sim, "/sim/log/tile/0"), 0);
	assert_int_equal(vl_sim_mkdir_p(sim, "/sim/log/tile/0"), 0);
	assert_int_equal(vl_sim_write_file(sim, "/sim/log/tile/0/000", "AAAA", 4), 0);
	assert_int_equal(vl_sim_write_file(sim, "/sim/log/tile.x", "t", 1), 0);
	assert_int_equal(vl_sim_write_file(sim, "/sim/log/checkpoint", "cp", 2), 0);
	assert_int_equal(vl_sim_mkdir_p(sim, "/sim/log/checkpoint/x"), -ENOTDIR);
	crash_drop_all(sim); /* the helpers' changes are durable */

	struct files fl = { { 0 } };
	assert_int_equal(vl_sim_list_files(sim, "/sim/log/", VL_SIM_DURABLE, collect_path, &fl), 0);
	assert_string_equal(fl.buf, "/sim/log/checkpoint;/sim/log/tile.x;/sim/log/tile/0/000;");

	assert_int_equal(vl_sim_flip_bit(sim, "/sim/log/tile/0/000", 8 + 1), 0);
	assert_content(sim, "/sim/log/tile/0/000", VL_SIM_DURABLE, "ACAA");
	assert_content(sim, "/sim/log/tile/0/000", VL_SIM_CACHED, "ACAA");
	assert_int_equal(vl_sim_flip_bit(sim, "/sim/log/tile/0/000", 32), -EINVAL);
	assert_int_equal(vl_sim_overwrite(sim, "/sim/log/tile/0/000", 3, "ZZ", 2), 0);
	assert_content(sim, "/sim/log/tile/0/000", VL_SIM_DURABLE, "ACAZZ");
	assert_int_equal(vl_sim_truncate(sim, "/sim/log/tile/0/000", 2), 0);
	assert_content(sim, "/sim/log/tile/0/000", VL_SIM_DURABLE, "AC");
	/* Readers see the change through open descriptors too. */
	int fd = xopen(sim, "/sim/log/checkpoint", VL_O_RDONLY);
	assert_int_equal(vl_sim_overwrite(sim, "/sim/log/checkpoint", 0, "CP", 2), 0);
	char buf[2];
	assert_int_equal(io->pread(io->ctx, fd, buf, 2, 0), 2);
	assert_memory_equal(buf, "CP", 2);
	assert_int_equal(io->close(io->ctx, fd), 0);

	assert_int_equal(vl_sim_delete(sim, "/sim/log/tile"), -ENOTEMPTY);
	assert_int_equal(vl_sim_delete(sim, "/sim/log/tile.x"), 0);
	assert_int_equal(vl_sim_delete(sim, "/sim/log/tile.x"), -ENOENT);
	assert_int_equal(io->stat(io->ctx, "/sim/log/tile.x", NULL, NULL), -ENOENT);
	assert_int_equal(vl_sim_flip_bit(sim, "/sim/log/tile", 0), -EISDIR);
	assert_int_equal(vl_sim_flip_bit(sim, "/sim/log/none", 0), -ENOENT);

	/* The durable and cached views differ while writes are pending. */
	fd = xopen(sim, "/sim/log/new", CREATE);
	assert_content(sim, "/sim/log/new", VL_SIM_CACHED, "");
	assert_content(sim, "/sim/log/new", VL_SIM_DURABLE, NULL);
	assert_int_equal(io->close(io->ctx, fd), 0);
	vl_sim_free(sim);
}

/* Random operations under every fault and crash, checked only for
 * internal consistency (sanitizers do the rest). */
static void test_random_soak(void **state)
{
	(void)state;
	for (uint64_t seed = 100; seed < 160; seed++) {
		vl_sim *sim = new_sim(seed);
		const vl_io *io = vl_sim_io(sim);
		vl_sim_faults f = { .write_eio = 0.05, .write_enospc = 0.02, .write_short = 0.1,
			            .sync_eio = 0.05, .read_eio = 0.02, .read_flip = 0.05,
			            .rename_eio = 0.05, .fsync_dir_eio = 0.05, .open_eio = 0.02 };
		vl_sim_set_faults(sim, &f);
		uint64_t x = seed;
		int fds[4] = { -1, -1, -1, -1 };
		for (int i = 0; i < 400; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			unsigned r = (unsigned)(x >> 33);
			char p[64], q[64];
			snprintf(p, sizeof(p), "/sim/log/d%u/f%u", r % 3, (r >> 4) % 4);
			snprintf(q, sizeof(q), "/sim/log/d%u/f%u", (r >> 8) % 3, (r >> 12) % 4);
			int *fd = &fds[(r >> 16) % 4];
			char data[1000];
			memset(data, (int)r, sizeof(data));
			switch (r % 13) {
			case 0:
				snprintf(p, sizeof(p), "/sim/log/d%u", (r >> 4) % 3);
				(void)io->mkdir(io->ctx, p, 0755);
				break;
			case 1:
				if (*fd >= 0)
					(void)io->close(io->ctx, *fd);
				*fd = io->open(io->ctx, p, CREATE, 0644);
				break;
			case 2:
			case 3:
				(void)io->pwrite(io->ctx, *fd, data, 1 + (r >> 20) % 1000,
				                 (r >> 10) % 5000);
				break;
			case 4:
				(void)io->fdatasync(io->ctx, *fd);
				break;
			case 5:
				(void)io->rename(io->ctx, p, q);
				break;
			case 6:
				(void)io->unlink(io->ctx, p);
				break;
			case 7:
				snprintf(p, sizeof(p), "/sim/log/d%u", (r >> 4) % 3);
				(void)io->fsync_dir(io->ctx, p);
				break;
			case 8:
				(void)io->ftruncate(io->ctx, *fd, (r >> 10) % 3000);
				break;
			case 9:
				(void)io->pread(io->ctx, *fd, data, sizeof(data), (r >> 10) % 3000);
				break;
			case 10:
				if (r % 7 == 0) {
					vl_sim_crash(sim);
					vl_sim_set_faults(sim, &f);
				} else if (r % 5 == 0) {
					vl_sim_crash_at(sim, 1 + (r >> 8) % 20);
				}
				break;
			case 11:
				(void)io->sync_all(io->ctx, "/sim");
				break;
			default: {
				int n = 0;
				(void)io->list_dir(io->ctx, "/sim/log", stop_at_two, &n);
			}
			}
		}
		vl_sim_crash(sim);
		struct files fl = { { 0 } };
		assert_int_equal(vl_sim_list_files(sim, "/", VL_SIM_DURABLE, collect_path, &fl), 0);
		assert_int_equal(vl_sim_open_fds(sim), 0);
		vl_sim_free(sim);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_flags),
		cmocka_unit_test(test_paths_normalised),
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_inode_semantics),
		cmocka_unit_test(test_unsynced_lost),
		cmocka_unit_test(test_kept_writes_survive),
		cmocka_unit_test(test_create_needs_fsync_dir),
		cmocka_unit_test(test_rename_durability),
		cmocka_unit_test(test_dirop_dependencies),
		cmocka_unit_test(test_sync_all),
		cmocka_unit_test(test_fsync_error_linux_semantics),
		cmocka_unit_test(test_fsync_error_consumed),
		cmocka_unit_test(test_write_faults),
		cmocka_unit_test(test_read_faults),
		cmocka_unit_test(test_meta_faults),
		cmocka_unit_test(test_nth_fault_loop),
		cmocka_unit_test(test_crash_at),
		cmocka_unit_test(test_crash_at_write_may_land),
		cmocka_unit_test(test_crash_at_rename_may_land),
		cmocka_unit_test(test_dir_fd_fsync),
		cmocka_unit_test(test_crash_resets_faults),
		cmocka_unit_test(test_torn_sectors),
		cmocka_unit_test(test_garbled),
		cmocka_unit_test(test_pending_truncate),
		cmocka_unit_test(test_unreachable_freed),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_counters_and_oplog),
		cmocka_unit_test(test_tamper_helpers),
		cmocka_unit_test(test_random_soak),
	};
	return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
