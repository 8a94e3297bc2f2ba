/*
 * follow.c — the file source: follows one path, one event per line, across
 * rotation by rename and by truncation (copytruncate), and resumes after a
 * restart from the position of its newest spool entry.
 *
 * Waiting: while there is nothing new the source sleeps until inotify
 * reports a change in the file's directory (a write to any file in it, a
 * file created, renamed or removed), and at most VA_FOLLOW_POLL_MS, so a
 * filesystem without inotify events (NFS, FUSE) is still followed.  Every
 * wake-up then checks, as a poll would:
 *
 *   - Reading uses pread at the position, so the file's own offset and any
 *     other reader do not matter.  Only whole lines become events (see
 *     source.h); the bytes after the last newline wait for the rest.
 *   - Truncation: the file is shorter than what was read, or its first
 *     min(read, 1024) bytes changed (truncated and quickly rewritten past
 *     the old position).  Reading restarts at 0; an incomplete line that
 *     was pending is gone with the truncation.
 *   - Rotation: at the end of the file, the path names another inode.  The
 *     old file is read to its end once more, its last line taken even
 *     without a newline, and reading moves to the new file at 0.  While
 *     the path names nothing (renamed, not yet recreated) the old file is
 *     still read, since its writer may not have reopened yet.
 *   - Resume (position, inode and head from the spool): the file at the
 *     path is the same one (same inode and head, and not shorter) —
 *     continue at the position; same inode but truncated or rewritten —
 *     restart at 0; another inode — the file was rotated while the agent
 *     was down: the old inode is looked for among the regular files of the
 *     same directory (app.log.1 and the like; its head must match), read
 *     from the position to its end, and then the new file from 0.  If it is
 *     not found (compressed, deleted, moved elsewhere) a warning says what
 *     may have been missed and the new file is read from 0.
 *
 * A file that does not exist yet is waited for; on first start a file is
 * read from its beginning.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "vellum.h"

#define READ_CHUNK (64u << 10)

struct file_source {
	va_source base;
	char path[PATH_MAX];
	int fd;              /* -1: not open (waiting for the file) */
	uint64_t inode;      /* of fd */
	uint64_t offset;     /* consumed: the position after the last event */
	uint8_t *buf;        /* bytes read after offset, not consumed yet */
	size_t len, cap;
	uint8_t head[VA_HEAD_BYTES]; /* the file's first head_len bytes, as read */
	size_t head_len;
	uint64_t head_full;  /* va_head_hash of all VA_HEAD_BYTES, once known */
	int head_full_known;
	va_position resume;  /* applied when the file is first opened */
	int has_resume;
	int missing_noted;
	int queue_full_noted;
	int inotify_fd;      /* watching the file's directory, or -1 */
	/* Files the path named after the one being read, oldest first, held
	 * open: read in turn once the current one is finished, so a file
	 * rotated away twice before the current one is finished is not
	 * skipped. */
	int next_fd[VA_FOLLOW_QUEUE];
	uint64_t next_inode[VA_FOLLOW_QUEUE];
	size_t n_next;
};

static void note(struct file_source *f, int level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct file_source *f, int level, const char *msg, const char *fmt, ...)
{
	char detail[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (f->base.note)
		f->base.note(f->base.note_ctx, level, f->base.origin, msg, detail);
}

static uint64_t head_of(void *ctx, uint64_t end)
{
	struct file_source *f = ctx;
	if (end >= VA_HEAD_BYTES) {
		if (!f->head_full_known) {
			f->head_full = va_head_hash(f->head, VA_HEAD_BYTES);
			f->head_full_known = 1;
		}
		return f->head_full;
	}
	return va_head_hash(f->head, (size_t)end);
}

static void reset_head(struct file_source *f)
{
	f->head_len = 0;
	f->head_full_known = 0;
}

/* Reads exactly n bytes at off; 1 if all were there, 0 if the file is
 * shorter, negative on error. */
static int pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

/* Loads the head of fd for a start at OFFSET; 1 if its fingerprint is
 * WANT (or !check), 0 if not or the file is shorter. */
static int load_head(struct file_source *f, int fd, uint64_t offset, int check, uint64_t want)
{
	size_t n = offset < VA_HEAD_BYTES ? (size_t)offset : VA_HEAD_BYTES;
	reset_head(f);
	int rc = pread_full(fd, f->head, n, 0);
	if (rc <= 0)
		return rc;
	if (check && va_head_hash(f->head, n) != want)
		return 0;
	f->head_len = n;
	return 1;
}

static void use_fd(struct file_source *f, int fd, uint64_t inode, uint64_t offset)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->inode = inode;
	f->offset = offset;
	f->len = 0;
	if (offset == 0)
		reset_head(f);
}

/* The rotated-away file with INODE among the regular files next to the
 * path, opened, its head checked for a start at OFFSET; -1 if none. */
static int find_rotated(struct file_source *f, uint64_t inode, uint64_t offset, uint64_t head,
                        char *name, size_t name_cap)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", f->path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int found = -1;
	struct dirent *de;
	while (found < 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != inode ||
		    (uint64_t)st.st_size < offset)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (load_head(f, fd, offset, 1, head) == 1) {
			found = fd;
			snprintf(name, name_cap, "%s/%s", dir, de->d_name);
		} else {
			close(fd);
		}
	}
	closedir(d);
	return found;
}

static int is_compressed(const char *name)
{
	static const char *const ext[] = {".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

struct successor {
	struct timespec mtime;
	char name[256];
};

static int cmp_successor(const void *a, const void *b)
{
	const struct successor *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * After a restart found the file it was reading among the rotated ones
 * (inode OLD, last modified OLD_MTIME), the files rotated after it are
 * queued, oldest first, so that none between it and the file now at the
 * path is skipped when the path was replaced more than once meanwhile.
 * They are the regular files next to it whose name is the path's name
 * and a suffix ("app.log.1", "app.log-20261126") and that were last
 * modified at or after it, except the one at the path (PATH_INO), which
 * comes last.  Compressed ones cannot be followed: a warning names them.
 */
static void queue_successors(struct file_source *f, uint64_t old, struct timespec old_mtime,
                             uint64_t path_ino)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", f->path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return;
	const char *base = f->path + (slash - dir) + 1;
	size_t blen = strlen(base);
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct successor found[VA_FOLLOW_QUEUE];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] == '\0' ||
		    strlen(de->d_name) >= sizeof found[0].name ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (uint64_t)st.st_ino == old ||
		    (uint64_t)st.st_ino == path_ino)
			continue;
		if (st.st_mtim.tv_sec < old_mtime.tv_sec ||
		    (st.st_mtim.tv_sec == old_mtime.tv_sec && st.st_mtim.tv_nsec < old_mtime.tv_nsec))
			continue;
		if (is_compressed(de->d_name)) {
			note(f, VA_NOTE_WARN, "rotated file not read",
			     "%s/%s was rotated after the file being read but is compressed; its lines "
			     "are not read", dir, de->d_name);
			continue;
		}
		if (n == VA_FOLLOW_QUEUE) {
			note(f, VA_NOTE_WARN, "file rotated too often",
			     "more than %d files were rotated next to %s while the agent was stopped; "
			     "files may be skipped", VA_FOLLOW_QUEUE, f->path);
			break;
		}
		found[n].mtime = st.st_mtim;
		snprintf(found[n].name, sizeof found[n].name, "%s", de->d_name);
		n++;
	}
	if (n > 1)
		qsort(found, n, sizeof found[0], cmp_successor);
	for (size_t i = 0; i < n && f->n_next < VA_FOLLOW_QUEUE; i++) {
		int fd = openat(dirfd(d), found[i].name, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0) {
			close(fd);
			continue;
		}
		f->next_fd[f->n_next] = fd;
		f->next_inode[f->n_next++] = (uint64_t)st.st_ino;
		note(f, VA_NOTE_INFO, "file rotated while stopped",
		     "%s/%s was rotated after it; it is read next, from the start", dir,
		     found[i].name);
	}
	closedir(d);
}

/* Opens the path (or, resuming, the file the position belongs to). */
static int try_open(struct file_source *f)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
		return -errno;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (!f->has_resume) {
		if (fd < 0) {
			if (!f->missing_noted)
				note(f, VA_NOTE_INFO, "waiting for the file", "%s", f->path);
			f->missing_noted = 1;
			return 0;
		}
		use_fd(f, fd, (uint64_t)st.st_ino, 0);
		note(f, VA_NOTE_INFO, "following", "from the start of %s", f->path);
		return 0;
	}
	const va_position *r = &f->resume;
	if (fd >= 0 && (uint64_t)st.st_ino == r->inode) {
		int same = (uint64_t)st.st_size >= r->offset
		           ? load_head(f, fd, r->offset, 1, r->head) : 0;
		if (same < 0) {
			close(fd);
			return same;
		}
		if (same) {
			use_fd(f, fd, r->inode, r->offset);
			note(f, VA_NOTE_INFO, "following", "resumed at byte %" PRIu64, r->offset);
		} else {
			use_fd(f, fd, r->inode, 0);
			note(f, VA_NOTE_WARN, "file truncated while stopped",
			     "%s is not the file it was at byte %" PRIu64 "; reading it from the start",
			     f->path, r->offset);
		}
		f->has_resume = 0;
		return 0;
	}
	/* Another file, or none, at the path: was ours rotated away? */
	char old[PATH_MAX + 256];
	int ofd = find_rotated(f, r->inode, r->offset, r->head, old, sizeof old);
	if (ofd >= 0) {
		struct stat ost;
		uint64_t path_ino = fd >= 0 ? (uint64_t)st.st_ino : 0;
		if (fd >= 0)
			close(fd);
		use_fd(f, ofd, r->inode, r->offset);
		note(f, VA_NOTE_INFO, "file rotated while stopped",
		     "finishing %s from byte %" PRIu64 " first", old, r->offset);
		if (fstat(ofd, &ost) == 0)
			queue_successors(f, r->inode, ost.st_mtim, path_ino);
		f->has_resume = 0;
		return 0;
	}
	if (fd < 0) {
		if (!f->missing_noted)
			note(f, VA_NOTE_INFO, "waiting for the file", "%s", f->path);
		f->missing_noted = 1;
		return 0;
	}
	use_fd(f, fd, (uint64_t)st.st_ino, 0);
	note(f, VA_NOTE_WARN, "file rotated while stopped",
	     "the file at byte %" PRIu64 " (inode %" PRIu64 ") was not found next to %s; lines "
	     "written to it after that were missed; reading the new file from the start",
	     r->offset, r->inode, f->path);
	f->has_resume = 0;
	return 0;
}

/* Reads and splits until the batch is full or the file ends.  *progress
 * is set when events were added or bytes consumed. */
static int drain(struct file_source *f, va_batch *b, int final, int *progress)
{
	va_position tmpl = {.has_file = 1, .inode = f->inode};
	int rc;
	for (;;) {
		size_t took = va_lines_take(f->buf, f->len, f->offset, 0, &tmpl, head_of, f, b, &rc);
		if (rc < 0)
			return rc;
		if (took) {
			memmove(f->buf, f->buf + took, f->len - took);
			f->len -= took;
			f->offset += took;
			*progress = 1;
		}
		if (va_batch_full(b))
			return 0;
		uint64_t at = f->offset + f->len;
		ssize_t r = pread(f->fd, f->buf + f->len, f->cap - f->len, (off_t)at);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		if (at < VA_HEAD_BYTES && at == f->head_len) {
			size_t room = VA_HEAD_BYTES - (size_t)at;
			size_t n = (size_t)r < room ? (size_t)r : room;
			memcpy(f->head + at, f->buf + f->len, n);
			f->head_len += n;
		}
		f->len += (size_t)r;
	}
	if (final && f->len > 0) {
		/* The file is finished: its last line counts without a newline. */
		size_t took = va_lines_take(f->buf, f->len, f->offset, 1, &tmpl, head_of, f, b, &rc);
		if (rc < 0)
			return rc;
		memmove(f->buf, f->buf + took, f->len - took);
		f->len -= took;
		f->offset += took;
		*progress |= took > 0;
	}
	return 0;
}

/* Truncated (shorter than what was read, or its first bytes changed)?
 * Then reading restarts at 0; 1 if so. */
static int check_truncated(struct file_source *f)
{
	struct stat st;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	int truncated = (uint64_t)st.st_size < f->offset + f->len;
	if (!truncated && f->head_len > 0) {
		uint8_t now[VA_HEAD_BYTES];
		int rc = pread_full(f->fd, now, f->head_len, 0);
		if (rc < 0)
			return rc;
		truncated = rc == 0 || memcmp(now, f->head, f->head_len) != 0;
	}
	if (!truncated)
		return 0;
	note(f, VA_NOTE_INFO, "file truncated",
	     "%s: %" PRIu64 " bytes, was read to byte %" PRIu64 "; reading from the start", f->path,
	     (uint64_t)st.st_size, f->offset + f->len);
	f->offset = 0;
	f->len = 0;
	reset_head(f);
	return 1;
}

/* At the end of the file: does the path name another file now?  Then
 * the old one is read to its very end once more, its last line taken even
 * without a newline, and reading moves to the new file at 0.  What does
 * not fit into this batch waits for the next call (the path is checked
 * again then).  1 if reading should go on at once. */
/* If the path names a file that is neither the one being read nor one
 * already queued, opens it and queues it. */
static void queue_renamed(struct file_source *f)
{
	struct stat st;
	if (f->fd < 0 || stat(f->path, &st) < 0 || (uint64_t)st.st_ino == f->inode)
		return;
	if (f->n_next && f->next_inode[f->n_next - 1] == (uint64_t)st.st_ino)
		return;
	if (f->n_next == VA_FOLLOW_QUEUE) {
		if (!f->queue_full_noted)
			note(f, VA_NOTE_WARN, "file rotated too often",
			     "%s was replaced more than %d times while an older file was still "
			     "being read; files may be skipped", f->path, VA_FOLLOW_QUEUE);
		f->queue_full_noted = 1;
		return;
	}
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_ino == f->inode) {
		close(fd);
		return;
	}
	f->next_fd[f->n_next] = fd;
	f->next_inode[f->n_next++] = (uint64_t)st.st_ino;
}

static int check_rotated(struct file_source *f, va_batch *b)
{
	queue_renamed(f);
	if (f->n_next == 0)
		return 0; /* not rotated, or not recreated yet: keep reading the old one */
	int fd = f->next_fd[0];
	uint64_t inode = f->next_inode[0];
	int progress = 0, rc = drain(f, b, 1, &progress);
	if (rc < 0 || va_batch_full(b) || f->len > 0)
		return rc < 0 ? rc : 1;
	f->n_next--;
	memmove(f->next_fd, f->next_fd + 1, f->n_next * sizeof *f->next_fd);
	memmove(f->next_inode, f->next_inode + 1, f->n_next * sizeof *f->next_inode);
	uint64_t old_inode = f->inode, old_end = f->offset;
	use_fd(f, fd, inode, 0);
	note(f, VA_NOTE_INFO, "file rotated",
	     "finished inode %" PRIu64 " at byte %" PRIu64 "; following the new %s from the start",
	     old_inode, old_end, f->path);
	return 1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An inotify descriptor watching PATH's directory for writes to its files
 * and for files appearing, moving and going; -1 if there is none (then
 * the source only polls). */
static int watch_directory(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	uint32_t mask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_FROM |
	                IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;
	if (inotify_add_watch(fd, dir, mask) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sleeps up to MS, or until the directory reports a change. */
static void wait_change(struct file_source *f, int ms)
{
	if (f->inotify_fd < 0) {
		sleep_ms(ms);
		return;
	}
	struct pollfd p = {.fd = f->inotify_fd, .events = POLLIN};
	if (poll(&p, 1, ms) > 0) {
		char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(f->inotify_fd, ev, sizeof ev) > 0)
			; /* what changed does not matter: the caller looks */
	}
}

static int file_read(va_source *s, va_batch *b, int timeout_ms)
{
	struct file_source *f = (struct file_source *)s;
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		int rc;
		if (f->fd < 0 && (rc = try_open(f)) < 0)
			return rc;
		if (f->fd >= 0) {
			int progress = 0;
			queue_renamed(f);
			if ((rc = check_truncated(f)) < 0 || (rc = drain(f, b, 0, &progress)) < 0)
				return rc;
			if (b->n > 0 || va_batch_full(b))
				return VA_SOURCE_OK;
			if ((rc = check_rotated(f, b)) < 0)
				return rc;
			if (b->n > 0)
				return VA_SOURCE_OK;
			if (rc == 1)
				continue;
		}
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return VA_SOURCE_OK;
		wait_change(f, left < VA_FOLLOW_POLL_MS ? (int)left : VA_FOLLOW_POLL_MS);
	}
}

static void file_close(va_source *s)
{
	struct file_source *f = (struct file_source *)s;
	if (f->fd >= 0)
		close(f->fd);
	if (f->inotify_fd >= 0)
		close(f->inotify_fd);
	for (size_t i = 0; i < f->n_next; i++)
		close(f->next_fd[i]);
	free(f->buf);
	free(f);
}

static const struct va_source_ops file_ops = {"file", file_read, file_close};

int va_file_source_open(const char *path, const va_position *resume, va_source **out,
                        char *err, size_t errcap)
{
	struct file_source *f = calloc(1, sizeof *f);
	if (!f || strlen(path) >= sizeof f->path) {
		free(f);
		snprintf(err, errcap, "%s: %s", path, f ? "path too long" : "out of memory");
		return f ? VL_EINVAL : VL_ENOMEM;
	}
	snprintf(f->path, sizeof f->path, "%s", path);
	/* A piece of a long line plus one read chunk always fit. */
	f->cap = VA_EVENT_MAX + 1 + READ_CHUNK;
	f->buf = malloc(f->cap);
	if (!f->buf) {
		free(f);
		snprintf(err, errcap, "%s: out of memory", path);
		return VL_ENOMEM;
	}
	f->fd = -1;
	f->inotify_fd = watch_directory(f->path);
	if (resume && resume->has_file) {
		f->resume = *resume;
		f->has_resume = 1;
	}
	f->base.ops = &file_ops;
	*out = &f->base;
	return 0;
}

uint64_t va_file_source_offset(const va_source *s)
{
	return ((const struct file_source *)s)->offset;
}
