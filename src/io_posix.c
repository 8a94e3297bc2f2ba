/*
 * io_posix.c — the default I/O table: a thin layer over POSIX.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "vellum_io.h"

static int posix_open(void *ctx, const char *path, int flags, unsigned mode)
{
	(void)ctx;
	int f = O_CLOEXEC;
	f |= (flags & VL_O_RDWR) ? O_RDWR : O_RDONLY;
	if (flags & VL_O_CREAT)
		f |= O_CREAT;
	if (flags & VL_O_EXCL)
		f |= O_EXCL;
	if (flags & VL_O_TRUNC)
		f |= O_TRUNC;
	if (flags & VL_O_DIRECTORY)
		f |= O_DIRECTORY;
	int fd;
	do
		fd = open(path, f, (mode_t)mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

static int posix_close(void *ctx, int fd)
{
	(void)ctx;
	/* Never retry close on EINTR: on Linux the descriptor is gone. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

static ssize_t posix_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
	(void)ctx;
	ssize_t n;
	do
		n = pread(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t posix_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
	(void)ctx;
	ssize_t n;
	do
		n = pwrite(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int posix_fsync(void *ctx, int fd)
{
	(void)ctx;
	/* No retry on any error: after a failed fsync Linux may have dropped
	 * the dirty pages, and a second fsync would report success for data
	 * that is gone.  The caller treats the handle as poisoned. */
	return fsync(fd) < 0 ? -errno : 0;
}

static int posix_fdatasync(void *ctx, int fd)
{
	(void)ctx;
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int posix_ftruncate(void *ctx, int fd, uint64_t size)
{
	(void)ctx;
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

static int posix_file_size(void *ctx, int fd, uint64_t *size)
{
	(void)ctx;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
	(void)ctx;
	return rename(from, to) < 0 ? -errno : 0;
}

static int posix_unlink(void *ctx, const char *path)
{
	(void)ctx;
	return unlink(path) < 0 ? -errno : 0;
}

static int posix_mkdir(void *ctx, const char *path, unsigned mode)
{
	(void)ctx;
	return mkdir(path, (mode_t)mode) < 0 ? -errno : 0;
}

static int posix_fsync_dir(void *ctx, const char *path)
{
	(void)ctx;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int posix_sync_all(void *ctx, const char *path)
{
	(void)ctx;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = syncfs(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int posix_list_dir(void *ctx, const char *path, vl_io_list_fn fn, void *arg)
{
	(void)ctx;
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = fn(arg, de->d_name);
		if (rc)
			break;
		errno = 0;
	}
	if (!de && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

static int posix_stat(void *ctx, const char *path, uint64_t *size, unsigned *mode)
{
	(void)ctx;
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (size)
		*size = (uint64_t)st.st_size;
	if (mode)
		*mode = (unsigned)st.st_mode;
	return 0;
}

static int64_t posix_now_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int posix_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : VL_ENOMEM;
}

static int posix_start_writeback(void *ctx, int fd, uint64_t offset, uint64_t len)
{
	(void)ctx;
	return sync_file_range(fd, (off_t)offset, (off_t)len, SYNC_FILE_RANGE_WRITE) < 0 ? -errno : 0;
}

static int posix_drop_cache(void *ctx, int fd, uint64_t offset, uint64_t len)
{
	(void)ctx;
	int e = posix_fadvise(fd, (off_t)offset, (off_t)len, POSIX_FADV_DONTNEED);
	return e ? -e : 0;
}

static int posix_lock(void *ctx, const char *path)
{
	(void)ctx;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? EWOULDBLOCK : errno;
		close(fd);
		return -e;
	}
	return fd;
}

static const vl_io posix_io = {
	.ctx = NULL,
	.open = posix_open,
	.close = posix_close,
	.pread = posix_pread,
	.pwrite = posix_pwrite,
	.fsync = posix_fsync,
	.fdatasync = posix_fdatasync,
	.ftruncate = posix_ftruncate,
	.file_size = posix_file_size,
	.rename = posix_rename,
	.unlink = posix_unlink,
	.mkdir = posix_mkdir,
	.fsync_dir = posix_fsync_dir,
	.sync_all = posix_sync_all,
	.list_dir = posix_list_dir,
	.stat = posix_stat,
	.now_ns = posix_now_ns,
	.random = posix_random,
	.start_writeback = posix_start_writeback,
	.lock = posix_lock,
	.drop_cache = posix_drop_cache,
};

const vl_io *vl_io_posix(void) { return &posix_io; }
