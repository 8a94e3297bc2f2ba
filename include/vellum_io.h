/*
 * vellum_io.h — the I/O table: every operating-system call the engine makes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The engine never calls open(2), pwrite(2), fdatasync(2) and friends
 * directly; it calls through a vl_io.  The default (vl_io_posix()) is a
 * thin layer over POSIX.  Tests substitute a deterministic simulator
 * (vl_sim_*, src/io_sim.h) that keeps a durable image and a list of pending writes
 * per file, fails calls on demand, and simulates power loss — the same
 * idea as SQLite's aSyscall[] table and its crash VFS.
 *
 * Conventions for every member: the first argument is ctx; a negative
 * return value is -errno; paths are as the engine built them (the log
 * directory joined with a relative name).
 */
#ifndef VELLUM_IO_H
#define VELLUM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vellum.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for open; a subset of POSIX's, translated by vl_io_posix(). */
#define VL_O_RDONLY 0x0
#define VL_O_RDWR 0x1
#define VL_O_CREAT 0x2
#define VL_O_EXCL 0x4
#define VL_O_TRUNC 0x8
#define VL_O_DIRECTORY 0x10

/* Called once per directory entry name by list_dir ("." and ".." omitted).
 * Returning non-zero stops the listing and becomes list_dir's result. */
typedef int (*vl_io_list_fn)(void *arg, const char *name);

struct vl_io {
	void *ctx;
	/* Returns a descriptor >= 0. */
	int (*open)(void *ctx, const char *path, int flags, unsigned mode);
	int (*close)(void *ctx, int fd);
	/* May return fewer bytes than asked; 0 at end of file. */
	ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, uint64_t offset);
	/* May write fewer bytes than asked. */
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t offset);
	int (*fsync)(void *ctx, int fd);
	int (*fdatasync)(void *ctx, int fd);
	int (*ftruncate)(void *ctx, int fd, uint64_t size);
	int (*file_size)(void *ctx, int fd, uint64_t *size);
	int (*rename)(void *ctx, const char *from, const char *to);
	int (*unlink)(void *ctx, const char *path);
	int (*mkdir)(void *ctx, const char *path, unsigned mode);
	/* Make a directory's entries (creations, renames) durable. */
	int (*fsync_dir)(void *ctx, const char *path);
	/* Make everything written under PATH's file system durable (syncfs). */
	int (*sync_all)(void *ctx, const char *path);
	int (*list_dir)(void *ctx, const char *path, vl_io_list_fn fn, void *arg);
	/* 0 if PATH exists (size and mode filled, each may be NULL), else -errno. */
	int (*stat)(void *ctx, const char *path, uint64_t *size, unsigned *mode);
	/* Wall clock, nanoseconds since the Unix epoch. */
	int64_t (*now_ns)(void *ctx);
	/* Cryptographically secure random bytes. */
	int (*random)(void *ctx, void *buf, size_t len);
	/* Optional (may be NULL): start writing back [offset, offset+len) of
	 * FD without waiting (sync_file_range), so the device works while the
	 * caller hashes.  Durability still comes only from fdatasync. */
	int (*start_writeback)(void *ctx, int fd, uint64_t offset, uint64_t len);
	/* Optional (may be NULL: no locking): open PATH (created if missing)
	 * and take an exclusive lock on it without waiting; returns a
	 * descriptor (released by close) or -EWOULDBLOCK if another process
	 * holds it. */
	int (*lock)(void *ctx, const char *path);
	/* Optional (may be NULL): [offset, offset+len) of FD is durable and
	 * will not be read soon; the kernel may drop its cached pages
	 * (posix_fadvise DONTNEED).  Contents are unaffected. */
	int (*drop_cache)(void *ctx, int fd, uint64_t offset, uint64_t len);
};

#ifdef __cplusplus
}
#endif
#endif /* VELLUM_IO_H */
