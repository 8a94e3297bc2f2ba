/*
 * log.c — the log handle: group commit, the Merkle tree as tiles, signed
 * checkpoints, proofs, recovery.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * LAYOUT OF A LOG DIRECTORY (see docs/format.md)
 *
 *   log.conf                    written once at creation (format below)
 *   wal/<20-digit first index>  write-ahead log segments (wal.c)
 *   tile/<L>/<N>                full hash tiles, written as they fill
 *   tile/entries/<N>            full entry bundles, written as they fill
 *   tile/<L>/<N>.p/<W>          partial tiles of the latest checkpoint
 *   tile/entries/<N>.p/<W>      partial bundle of the latest checkpoint
 *   checkpoint                  the latest signed checkpoint (signed note)
 *   checkpoints                 every checkpoint ever signed, appended
 *
 * Everything under tile/ and the checkpoint form a c2sp.org/tlog-tiles
 * tree, so the directory can be published as is.
 *
 * log.conf is text, one "key value" pair a line, keys in this order:
 *
 *   # vellum log configuration; written once at creation, never edited
 *   format 1
 *   origin <origin, the signer key's name>
 *   vkey <verifier key string>
 *   created <UTC time, YYYY-MM-DDTHH:MM:SSZ>
 *   key_file <absolute path of the signer key file>
 *
 * checkpoints is a sequence of records, each the signed note's bytes
 * followed by the 15-byte line "end <10-digit decimal note length>\n", so
 * the newest record can be read from the end of the file.
 *
 * DURABILITY.  An append is acknowledged after its WAL frame is written and
 * fdatasync'ed (and, for a new segment, the directory fsync'ed).  Tiles and
 * bundles are derived data: they are written as they fill without a sync,
 * and made durable in one sync of the file system (syncfs) just before a
 * checkpoint that covers them is written.  The checkpoint is written to a
 * temporary file, fdatasync'ed, renamed over "checkpoint" and the
 * directory fsync'ed.  So a durable checkpoint of size N implies durable
 * tiles for size N; everything after N is rebuilt from the WAL on open.
 *
 * LOCKING.  `mu` guards the commit queue and the poisoned flag; exactly one
 * thread at a time is the commit leader.  `tree_mu` guards the tree (size,
 * right-edge tiles, bundle) and the WAL writer; the leader holds it while
 * writing, syncing and integrating a batch.  `checkpoint_mu` serialises
 * checkpoints and exports, which take `tree_mu` only to snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle.h"
#include "note.h"
#include "sha256.h"
#include "tiles.h"
#include "vellum.h"
#include "vellum_io.h"
#include "wal.h"

#define DEFAULT_SEGMENT_BYTES (64ull << 20)
#define TREE_LEVELS 8 /* 256^8 = 2^64 leaves */
#define PATH_CAP 4096
#define CONF_MAX 16384
#define HISTORY_TRAILER 15 /* "end " + 10 digits + "\n" */
/* The WAL is extended with zeros ahead of the frames, an eighth of a
 * segment (8 MiB by default) at a time, so that a commit's fdatasync finds
 * the file's size unchanged and need not commit file system metadata:
 * about 2.5x faster syncs for 256 KiB commits on ext4. */
#define WAL_PREALLOCATE_SHARE 8
#define WAL_PAGE 4096

struct append_request {
	const vl_entry *entries;
	const uint8_t (*leaves)[VL_HASH_SIZE]; /* hashed by the caller's thread */
	size_t n;
	uint64_t first;
	int rc;
	int done;
	struct append_request *next;
};

struct pending_file {
	int level; /* VL_TILE_ENTRIES for a bundle */
	uint64_t n;
	size_t len;
	uint8_t *data;
};

/* Queued tile bytes above which the committing thread writes them itself. */
#define PENDING_CAP (16u << 20)

struct vl_log {
	const vl_io *io;
	char *dir;
	char *key_file;
	char origin[VL_ORIGIN_MAX + 1];
	char *vkey;
	vl_verifier *verifier;
	vl_signer *signer;
	uint64_t segment_bytes;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct append_request *queue_head, *queue_tail;
	int leader_active;
	int poisoned;
	int poison_rc;
	int tree_broken; /* derived data failed; the tree is not trustworthy */

	pthread_mutex_t tree_mu;
	uint64_t size; /* durable, integrated entries */
	/* right edge: the partial tile at each level, tiles[L] holds
	 * (size >> 8L) % 256 hashes */
	uint8_t (*tiles)[VL_TILE_WIDTH][VL_HASH_SIZE];
	/* entries of the current partial bundle, encoded as in a bundle */
	uint8_t *bundle;
	size_t bundle_len, bundle_cap, last_bundle_len;
	/* WAL writer */
	int wal_fd;
	int lock_fd; /* holds the exclusive lock on LOGDIR/.lock */
	uint64_t wal_first;
	uint64_t wal_off;
	uint64_t wal_allocated; /* file size: zeros from wal_off up to here */
	uint64_t wal_dropped;   /* page cache of [0, wal_dropped) released */
	uint8_t *frame_buf;
	size_t frame_cap;
	/* Full tiles and bundles completed but not yet written to their files
	 * (oldest first): the commit path only queues them; vl_log_flush, a
	 * checkpoint, close, or a commit that finds the queue over its cap
	 * writes them.  Guarded by tree_mu; removed only once written. */
	struct pending_file *pending;
	size_t n_pending, cap_pending;
	size_t pending_bytes;
	pthread_mutex_t flush_mu; /* one writer of pending files at a time */
	char tile_dir_made[PATH_CAP]; /* guarded by flush_mu */

	pthread_mutex_t checkpoint_mu;
	vl_checkpoint cp;
	char *cp_note;

	vl_recovery recovery;
	char message[1024];
};

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

/* Why the last vl_log_open or vl_log_create of this thread failed. */
static __thread char open_message[1024];

const char *vl_open_message(void) { return open_message; }

static void set_message(vl_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_message(vl_log *log, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(log->message, sizeof log->message, fmt, ap);
	va_end(ap);
}

static int join(char *buf, const char *dir, const char *rel)
{
	int n = snprintf(buf, PATH_CAP, "%s/%s", dir, rel);
	return n < 0 || n >= PATH_CAP ? VL_ETOOBIG : 0;
}

static int write_all(const vl_io *io, int fd, const void *data, size_t len, uint64_t off)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = io->pwrite(io->ctx, fd, p, len, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int read_all(const vl_io *io, int fd, void *data, size_t len, uint64_t off)
{
	uint8_t *p = data;
	while (len > 0) {
		ssize_t n = io->pread(io->ctx, fd, p, len, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return VL_ECORRUPT; /* shorter than it must be */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Read a whole (small) file into a malloc'ed, NUL-terminated buffer. */
static int read_file(const vl_io *io, const char *path, size_t max, char **out, size_t *out_len)
{
	*out = NULL;
	int fd = io->open(io->ctx, path, VL_O_RDONLY, 0);
	if (fd < 0)
		return fd == -ENOENT ? VL_ENOTFOUND : fd;
	uint64_t size;
	int rc = io->file_size(io->ctx, fd, &size);
	if (rc == 0 && size > max)
		rc = VL_ETOOBIG;
	char *buf = NULL;
	if (rc == 0 && !(buf = malloc((size_t)size + 1)))
		rc = VL_ENOMEM;
	if (rc == 0)
		rc = read_all(io, fd, buf, (size_t)size, 0);
	io->close(io->ctx, fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[size] = 0;
	*out = buf;
	*out_len = (size_t)size;
	return 0;
}

/* Write a file that may be replaced as a whole (derived data): create or
 * truncate, write, close.  No sync: see DURABILITY above. */
static int write_file(const vl_io *io, const char *path, const void *data, size_t len)
{
	int fd = io->open(io->ctx, path, VL_O_RDWR | VL_O_CREAT | VL_O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	int rc = write_all(io, fd, data, len, 0);
	int rc2 = io->close(io->ctx, fd);
	return rc ? rc : rc2;
}

/* Atomically replace PATH with DATA: temp file, fdatasync, rename, fsync
 * of the directory. */
static int replace_file(const vl_io *io, const char *dir, const char *name, const void *data,
                        size_t len)
{
	char path[PATH_CAP], tmp[PATH_CAP];
	if (join(path, dir, name) < 0 || snprintf(tmp, sizeof tmp, "%s.tmp", path) >= PATH_CAP)
		return VL_ETOOBIG;
	int fd = io->open(io->ctx, tmp, VL_O_RDWR | VL_O_CREAT | VL_O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	int rc = write_all(io, fd, data, len, 0);
	if (rc == 0)
		rc = io->fdatasync(io->ctx, fd);
	int rc2 = io->close(io->ctx, fd);
	if (rc == 0)
		rc = rc2;
	if (rc == 0)
		rc = io->rename(io->ctx, tmp, path);
	if (rc == 0)
		rc = io->fsync_dir(io->ctx, dir);
	return rc;
}

/* fsync the directory that holds PATH, so that PATH's name is durable. */
static int fsync_parent(const vl_io *io, const char *path)
{
	char parent[PATH_CAP];
	size_t n = strlen(path);
	if (n >= sizeof parent)
		return VL_ETOOBIG;
	memcpy(parent, path, n + 1);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return io->fsync_dir(io->ctx, ".");
	if (slash == parent)
		slash[1] = 0;
	else
		*slash = 0;
	return io->fsync_dir(io->ctx, parent);
}

/* mkdir -p for the parent directories of a tile path under the log. */
static int make_parents(vl_log *log, const char *path)
{
	char buf[PATH_CAP];
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);
	if (n >= sizeof buf)
		return VL_ETOOBIG;
	memcpy(buf, path, n);
	buf[n] = 0;
	if (!strcmp(buf, log->tile_dir_made))
		return 0;
	size_t base = strlen(log->dir);
	for (size_t i = base + 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char c = buf[i];
		buf[i] = 0;
		int rc = log->io->mkdir(log->io->ctx, buf, 0755);
		buf[i] = c;
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	memcpy(log->tile_dir_made, buf, n + 1);
	return 0;
}

static int tile_file_path(const vl_log *log, char *buf, int level, uint64_t n, unsigned width)
{
	char rel[VL_TILE_PATH_MAX];
	if (vl_tile_path(rel, sizeof rel, level, n, width) < 0)
		return VL_EINVAL;
	return join(buf, log->dir, rel);
}

/* Sticky failure: after this, nothing more is acknowledged. */
static int poison(vl_log *log, int rc)
{
	pthread_mutex_lock(&log->mu);
	if (!log->poisoned) {
		log->poisoned = 1;
		log->poison_rc = rc;
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

static int is_poisoned(vl_log *log)
{
	pthread_mutex_lock(&log->mu);
	int p = log->poisoned;
	pthread_mutex_unlock(&log->mu);
	return p;
}

/* ------------------------------------------------------------------ */
/* The tree.                                                           */

/* Number of hashes at tile level L in a tree of size n. */
static uint64_t level_count(uint64_t n, int level) { return level >= TREE_LEVELS ? 0 : n >> (8 * level); }

static const struct pending_file *find_pending(const vl_log *log, int level, uint64_t n);

/*
 * Fetch for the tile reader: a tile that is full in the current tree is
 * read from its file; the partial one at the right edge comes from memory.
 * Caller holds tree_mu.
 */
static int fetch_tile(void *ctx, int level, uint64_t n, unsigned width, uint8_t *buf)
{
	vl_log *log = ctx;
	if (level < 0 || level >= TREE_LEVELS)
		return VL_EINVAL;
	uint64_t count = level_count(log->size, level);
	if (n < count / VL_TILE_WIDTH) {
		const struct pending_file *p = find_pending(log, level, n);
		if (p) {
			memcpy(buf, p->data, (size_t)width * VL_HASH_SIZE);
			return 0;
		}
		char path[PATH_CAP];
		if (tile_file_path(log, path, level, n, VL_TILE_WIDTH) < 0)
			return VL_EINVAL;
		int fd = log->io->open(log->io->ctx, path, VL_O_RDONLY, 0);
		if (fd < 0) {
			set_message(log, "%s: cannot open (%s)", path, vl_strerror(fd));
			return fd == -ENOENT ? VL_ECORRUPT : fd;
		}
		int rc = read_all(log->io, fd, buf, (size_t)width * VL_HASH_SIZE, 0);
		log->io->close(log->io->ctx, fd);
		if (rc < 0)
			set_message(log, "%s: cannot read %u hashes (%s)", path, width, vl_strerror(rc));
		return rc;
	}
	if (n == count / VL_TILE_WIDTH && width <= count % VL_TILE_WIDTH) {
		memcpy(buf, log->tiles[level], (size_t)width * VL_HASH_SIZE);
		return 0;
	}
	return VL_EINVAL;
}

/* Queue a full tile or bundle (taking ownership of data).  Caller holds
 * tree_mu. */
static int queue_file(vl_log *log, int level, uint64_t n, uint8_t *data, size_t len)
{
	if (log->n_pending == log->cap_pending) {
		size_t cap = log->cap_pending ? log->cap_pending * 2 : 64;
		struct pending_file *p = realloc(log->pending, cap * sizeof *p);
		if (!p) {
			free(data);
			return VL_ENOMEM;
		}
		log->pending = p;
		log->cap_pending = cap;
	}
	log->pending[log->n_pending++] = (struct pending_file){level, n, len, data};
	log->pending_bytes += len;
	return 0;
}

/* A queued full tile or bundle, or NULL.  Caller holds tree_mu. */
static const struct pending_file *find_pending(const vl_log *log, int level, uint64_t n)
{
	for (size_t i = log->n_pending; i-- > 0;)
		if (log->pending[i].level == level && log->pending[i].n == n)
			return &log->pending[i];
	return NULL;
}

/*
 * Write every queued tile and bundle to its file.  Takes flush_mu, then
 * tree_mu only to look at and to trim the queue: appends go on while the
 * files are written.  A failure poisons the handle (the entries are durable
 * in the WAL; a reopen writes the tiles again).
 */
static int write_pending(vl_log *log)
{
	pthread_mutex_lock(&log->flush_mu);
	pthread_mutex_lock(&log->tree_mu);
	size_t k = log->n_pending;
	struct pending_file *items = NULL;
	int rc = 0;
	if (k && !(items = malloc(k * sizeof *items)))
		rc = VL_ENOMEM;
	if (items)
		memcpy(items, log->pending, k * sizeof *items);
	pthread_mutex_unlock(&log->tree_mu);
	/* The data pointers stay valid: only this function frees them. */
	char path[PATH_CAP];
	for (size_t i = 0; rc == 0 && i < k; i++) {
		rc = tile_file_path(log, path, items[i].level, items[i].n, VL_TILE_WIDTH);
		if (rc == 0)
			rc = make_parents(log, path);
		if (rc == 0)
			rc = write_file(log->io, path, items[i].data, items[i].len);
		if (rc < 0)
			set_message(log, "%s: cannot write (%s)", path, vl_strerror(rc));
	}
	if (rc == 0 && k) {
		pthread_mutex_lock(&log->tree_mu);
		for (size_t i = 0; i < k; i++) {
			log->pending_bytes -= log->pending[i].len;
			free(log->pending[i].data);
		}
		memmove(log->pending, log->pending + k, (log->n_pending - k) * sizeof *log->pending);
		log->n_pending -= k;
		pthread_mutex_unlock(&log->tree_mu);
	}
	free(items);
	pthread_mutex_unlock(&log->flush_mu);
	if (rc < 0)
		poison(log, rc);
	return rc;
}

/* Append one leaf hash at index log->size; write every tile it completes.
 * Caller holds tree_mu; log->size is advanced by the caller. */
static int add_leaf(vl_log *log, const uint8_t leaf[VL_HASH_SIZE])
{
	uint8_t h[VL_HASH_SIZE];
	memcpy(h, leaf, VL_HASH_SIZE);
	uint64_t idx = log->size; /* index of h at the current level */
	for (int level = 0; level < TREE_LEVELS; level++) {
		unsigned pos = (unsigned)(idx % VL_TILE_WIDTH);
		memcpy(log->tiles[level][pos], h, VL_HASH_SIZE);
		if (pos != VL_TILE_WIDTH - 1)
			return 0;
		/* A full tile: queue it for its file and carry its root up. */
		uint8_t *copy = malloc(sizeof log->tiles[level]);
		if (!copy)
			return VL_ENOMEM;
		memcpy(copy, log->tiles[level], sizeof log->tiles[level]);
		int rc = queue_file(log, level, idx / VL_TILE_WIDTH, copy, sizeof log->tiles[level]);
		if (rc < 0)
			return rc;
		vl_merkle_root_of_leaves((const uint8_t(*)[VL_HASH_SIZE])log->tiles[level], VL_TILE_WIDTH, h);
		idx /= VL_TILE_WIDTH;
	}
	return 0;
}

static int bundle_reserve(vl_log *log, size_t more)
{
	if (log->bundle_len + more <= log->bundle_cap)
		return 0;
	/* A new bundle starts as large as the last full one was, so that the
	 * usual bundle is allocated once, not grown by copying. */
	size_t cap = log->bundle_cap ? log->bundle_cap
	                             : (log->last_bundle_len ? log->last_bundle_len + 4096 : 65536);
	while (cap < log->bundle_len + more)
		cap *= 2;
	uint8_t *b = realloc(log->bundle, cap);
	if (!b)
		return VL_ENOMEM;
	log->bundle = b;
	log->bundle_cap = cap;
	return 0;
}

/* Integrate one entry at index log->size.  Caller holds tree_mu. */
static int integrate(vl_log *log, const uint8_t *data, size_t len, const uint8_t leaf[VL_HASH_SIZE])
{
	int rc = bundle_reserve(log, 2 + len);
	if (rc < 0)
		return rc;
	log->bundle[log->bundle_len] = (uint8_t)(len >> 8);
	log->bundle[log->bundle_len + 1] = (uint8_t)len;
	memcpy(log->bundle + log->bundle_len + 2, data, len);
	log->bundle_len += 2 + len;
	rc = add_leaf(log, leaf);
	if (rc < 0)
		return rc;
	if (log->size % VL_TILE_WIDTH == VL_TILE_WIDTH - 1) {
		/* Hand the full bundle to the queue; start a new buffer. */
		rc = queue_file(log, VL_TILE_ENTRIES, log->size / VL_TILE_WIDTH, log->bundle,
		                log->bundle_len);
		if (rc < 0)
			return rc;
		log->last_bundle_len = log->bundle_len;
		log->bundle = NULL;
		log->bundle_len = log->bundle_cap = 0;
	}
	log->size++;
	return 0;
}

/* Root of the tree at size n <= log->size.  Caller holds tree_mu. */
static int tree_root(vl_log *log, uint64_t n, uint8_t out[VL_HASH_SIZE])
{
	vl_tile_reader *r = malloc(sizeof *r);
	if (!r)
		return VL_ENOMEM;
	vl_tile_reader_init(r, n, fetch_tile, log);
	int rc = vl_merkle_tree_hash(n, vl_tile_reader_hash, r, out);
	free(r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Group commit.                                                       */

uint64_t vl_log_size(vl_log *log);

/*
 * After a failed WAL write or sync: cut the file back to the last
 * acknowledged byte.  Linux may keep showing the unsynced frames from the
 * page cache after a failed fdatasync (and report success for the next
 * one), so a later open in this boot would otherwise take them for
 * durable.  Best effort: open re-persists its tail anyway.
 */
static void unwrite(vl_log *log)
{
	if (log->io->ftruncate(log->io->ctx, log->wal_fd, log->wal_off) == 0)
		(void)log->io->fdatasync(log->io->ctx, log->wal_fd);
	log->wal_allocated = log->wal_off;
}

/* Cut the preallocated zeros after the last frame and sync. */
static int trim_wal(vl_log *log)
{
	if (log->wal_allocated == log->wal_off)
		return 0;
	int rc = log->io->ftruncate(log->io->ctx, log->wal_fd, log->wal_off);
	if (rc == 0)
		rc = log->io->fdatasync(log->io->ctx, log->wal_fd);
	if (rc == 0)
		log->wal_allocated = log->wal_off;
	return rc;
}

/* Extend the newest segment with zeros to cover at least NEED bytes.  The
 * zeros become durable with the commit's own fdatasync; until then a crash
 * leaves zeros or nothing, which recovery reads as the end of the data. */
static int preallocate(vl_log *log, uint64_t need)
{
	static const uint8_t zeros[64 * 1024];
	uint64_t end = log->wal_allocated + log->segment_bytes / WAL_PREALLOCATE_SHARE;
	if (end < need)
		end = need;
	if (end > log->segment_bytes && need <= log->segment_bytes)
		end = log->segment_bytes;
	for (uint64_t off = log->wal_allocated; off < end;) {
		size_t n = end - off < sizeof zeros ? (size_t)(end - off) : sizeof zeros;
		int rc = write_all(log->io, log->wal_fd, zeros, n, off);
		if (rc < 0)
			return rc;
		off += n;
	}
	log->wal_allocated = end;
	return 0;
}

/* Write one batch of requests as one group commit.  Caller holds tree_mu.
 * Returns 0 once every entry of the batch is durable. */
static int commit_batch(vl_log *log, struct append_request *batch)
{
	/* Size the write: frames of at most VL_WAL_FRAME_PAYLOAD_MAX bytes. */
	size_t bytes = 0, n_frames = 0, cur = 0;
	for (struct append_request *r = batch; r; r = r->next)
		for (size_t i = 0; i < r->n; i++) {
			size_t e = 2 + r->entries[i].len;
			if (n_frames == 0 || cur + e > VL_WAL_FRAME_PAYLOAD_MAX) {
				n_frames++;
				bytes += VL_WAL_FRAME_HEADER;
				cur = 0;
			}
			cur += e;
			bytes += e;
		}
	if (n_frames > VL_WAL_COMMIT_FRAMES_MAX)
		return VL_ETOOBIG;
	if (bytes > log->frame_cap) {
		size_t cap = log->frame_cap ? log->frame_cap : 1 << 16;
		while (cap < bytes)
			cap *= 2;
		uint8_t *b = realloc(log->frame_buf, cap);
		if (!b)
			return VL_ENOMEM;
		log->frame_buf = b;
		log->frame_cap = cap;
	}

	/* Roll to a new segment before a commit that would overflow this one.
	 * The old one is first cut to its last frame: only the newest segment
	 * may end in preallocated zeros. */
	if (log->wal_off > VL_WAL_SEGMENT_HEADER && log->wal_off + bytes > log->segment_bytes) {
		int rc = trim_wal(log);
		if (rc < 0) {
			set_message(log, "wal/%020" PRIu64 ": cannot trim before rolling (%s)",
			            log->wal_first, vl_strerror(rc));
			return poison(log, rc);
		}
		int fd = vl_wal_segment_create(log->io, log->dir, log->size);
		if (fd < 0) {
			set_message(log, "wal/%020" PRIu64 ": cannot create segment (%s)", log->size,
			            vl_strerror(fd));
			/* Its name may be visible without being durable: remove it,
			 * so no later handle appends to a file that may vanish. */
			char path[PATH_CAP];
			if (vl_wal_segment_path(path, sizeof path, log->dir, log->size) > 0)
				(void)log->io->unlink(log->io->ctx, path);
			return poison(log, fd);
		}
		log->io->close(log->io->ctx, log->wal_fd);
		log->wal_fd = fd;
		log->wal_first = log->size;
		log->wal_off = VL_WAL_SEGMENT_HEADER;
		log->wal_allocated = VL_WAL_SEGMENT_HEADER;
		log->wal_dropped = 0;
	}
	if (log->wal_off + bytes > log->wal_allocated) {
		int rc = preallocate(log, log->wal_off + bytes);
		if (rc < 0) {
			set_message(log, "wal/%020" PRIu64 ": cannot extend (%s)", log->wal_first,
			            vl_strerror(rc));
			unwrite(log);
			return poison(log, rc);
		}
	}

	/* Encode; indexes follow queue order, so each request's entries stay
	 * consecutive. */
	uint8_t *frame = log->frame_buf;
	uint64_t index = log->size;
	unsigned frame_no = 0;
	struct append_request *r = batch;
	size_t ri = 0;
	while (r) {
		uint8_t *q = frame + VL_WAL_FRAME_HEADER;
		size_t payload = 0;
		uint32_t count = 0;
		while (r) {
			const vl_entry *e = &r->entries[ri];
			if (count > 0 && payload + 2 + e->len > VL_WAL_FRAME_PAYLOAD_MAX)
				break;
			q[0] = (uint8_t)(e->len >> 8);
			q[1] = (uint8_t)e->len;
			memcpy(q + 2, e->data, e->len);
			q += 2 + e->len;
			payload += 2 + e->len;
			count++;
			if (++ri == r->n) {
				r = r->next;
				ri = 0;
			}
		}
		vl_wal_frame_seal(frame, payload, index, count, frame_no++, (unsigned)n_frames);
		frame += VL_WAL_FRAME_HEADER + payload;
		index += count;
	}

	int rc = write_all(log->io, log->wal_fd, log->frame_buf, bytes, log->wal_off);
	if (rc < 0) {
		set_message(log, "wal/%020" PRIu64 ": cannot write %zu bytes at byte %" PRIu64 " (%s)",
		            log->wal_first, bytes, log->wal_off, vl_strerror(rc));
		unwrite(log);
		return poison(log, rc);
	}
	/* Let the device work while we hash: integrate the batch into the
	 * tree before waiting for fdatasync.  Nobody sees the new tree until
	 * the sync succeeded, since tree_mu is held throughout; if it fails,
	 * the tree is marked broken and the handle refuses everything. */
	if (log->io->start_writeback)
		(void)log->io->start_writeback(log->io->ctx, log->wal_fd, log->wal_off, bytes);
	uint64_t before = log->size, next = before;
	for (r = batch; r; r = r->next) {
		r->first = next;
		next += r->n;
	}
	for (r = batch; r && rc == 0; r = r->next)
		for (size_t i = 0; i < r->n && rc == 0; i++)
			rc = integrate(log, r->entries[i].data, r->entries[i].len, r->leaves[i]);
	int sync_rc = log->io->fdatasync(log->io->ctx, log->wal_fd);
	if (sync_rc < 0) {
		set_message(log, "wal/%020" PRIu64 ": fdatasync failed after writing %zu bytes at byte %"
		            PRIu64 " (%s)", log->wal_first, bytes, log->wal_off, vl_strerror(sync_rc));
		log->size = before;
		log->tree_broken = 1;
		unwrite(log);
		return poison(log, sync_rc);
	}
	log->wal_off += bytes;
	/* The synced pages are read again only by recovery and scans: let
	 * the kernel reuse them rather than grow the page cache with WAL. */
	uint64_t synced = log->wal_off & ~(uint64_t)(WAL_PAGE - 1);
	if (log->io->drop_cache && synced > log->wal_dropped) {
		(void)log->io->drop_cache(log->io->ctx, log->wal_fd, log->wal_dropped,
		                          synced - log->wal_dropped);
		log->wal_dropped = synced;
	}
	if (rc < 0) {
		/* Only derived data failed; the entries are durable and are
		 * acknowledged.  Refuse everything else until a reopen rebuilds
		 * the tiles from the WAL. */
		log->size = index;
		log->tree_broken = 1;
		poison(log, rc);
	}
	return 0;
}

int vl_log_append(vl_log *log, const vl_entry *entries, size_t n, uint64_t *first_index)
{
	if (!log || (!entries && n))
		return VL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (entries[i].len == 0 || entries[i].len > VL_ENTRY_MAX || !entries[i].data) {
			set_message(log, "entry %zu of the batch has %zu bytes; entries must be 1 to %d bytes",
			            i, entries[i].len, VL_ENTRY_MAX);
			return VL_EENTRY_SIZE;
		}
	/* Leaf hashes are computed here, in the caller's thread, so that
	 * concurrent appenders hash in parallel and while another commit's
	 * fdatasync is in flight. */
	uint8_t stack_leaves[64][VL_HASH_SIZE];
	uint8_t (*leaves)[VL_HASH_SIZE] = stack_leaves;
	if (n > 64 && !(leaves = malloc(n * VL_HASH_SIZE)))
		return VL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		vl_leaf_hash(entries[i].data, entries[i].len, leaves[i]);
	struct append_request req = {entries, (const uint8_t(*)[VL_HASH_SIZE])leaves, n, 0, 0, 0, NULL};
	pthread_mutex_lock(&log->mu);
	if (log->poisoned || n == 0) {
		int poisoned = log->poisoned;
		pthread_mutex_unlock(&log->mu);
		if (leaves != stack_leaves)
			free(leaves);
		if (poisoned)
			return VL_EPOISONED;
		if (first_index)
			*first_index = vl_log_size(log);
		return 0;
	}
	if (log->queue_tail)
		log->queue_tail->next = &req;
	else
		log->queue_head = &req;
	log->queue_tail = &req;
	while (!req.done) {
		if (log->leader_active) {
			pthread_cond_wait(&log->cv, &log->mu);
			continue;
		}
		/* Lead: take everything queued so far as one commit. */
		log->leader_active = 1;
		struct append_request *batch = log->queue_head;
		log->queue_head = log->queue_tail = NULL;
		int poisoned = log->poisoned, over = 0;
		pthread_mutex_unlock(&log->mu);
		int rc;
		if (poisoned) {
			rc = VL_EPOISONED;
		} else {
			pthread_mutex_lock(&log->tree_mu);
			rc = commit_batch(log, batch);
			over = log->pending_bytes > PENDING_CAP;
			pthread_mutex_unlock(&log->tree_mu);
		}
		/* Backpressure: with no flusher keeping up, the committing
		 * thread writes the queued tiles itself, after its commit.  A
		 * failure there poisons the handle; this batch is durable. */
		if (rc == 0 && over)
			(void)write_pending(log);
		pthread_mutex_lock(&log->mu);
		for (struct append_request *b = batch, *next; b; b = next) {
			next = b->next;
			b->rc = rc;
			b->done = 1;
		}
		log->leader_active = 0;
		pthread_cond_broadcast(&log->cv);
	}
	pthread_mutex_unlock(&log->mu);
	if (leaves != stack_leaves)
		free(leaves);
	if (req.rc == 0 && first_index)
		*first_index = req.first;
	return req.rc;
}

uint64_t vl_log_size(vl_log *log)
{
	pthread_mutex_lock(&log->tree_mu);
	uint64_t n = log->size;
	pthread_mutex_unlock(&log->tree_mu);
	return n;
}

/* ------------------------------------------------------------------ */
/* log.conf and the checkpoint history.                                */

static int conf_value(const char *conf, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *line = conf; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) > klen && !strncmp(line, key, klen) && line[klen] == ' ') {
			size_t vlen = (size_t)(end - line) - klen - 1;
			if (vlen + 1 > cap || vlen == 0)
				return VL_EFORMAT;
			memcpy(out, line + klen + 1, vlen);
			out[vlen] = 0;
			return 0;
		}
		line = *end ? end + 1 : end;
	}
	return VL_ENOTFOUND;
}

static int history_append(vl_log *log, const char *note, size_t len)
{
	char path[PATH_CAP];
	if (join(path, log->dir, "checkpoints") < 0)
		return VL_ETOOBIG;
	if (len > VL_NOTE_MAX)
		return VL_ETOOBIG;
	int fd = log->io->open(log->io->ctx, path, VL_O_RDWR | VL_O_CREAT, 0644);
	if (fd < 0)
		return fd;
	uint64_t size;
	int rc = log->io->file_size(log->io->ctx, fd, &size);
	char trailer[32];
	snprintf(trailer, sizeof trailer, "end %010u\n", (unsigned)len);
	if (rc == 0)
		rc = write_all(log->io, fd, note, len, size);
	if (rc == 0)
		rc = write_all(log->io, fd, trailer, HISTORY_TRAILER, size + len);
	if (rc == 0)
		rc = log->io->fdatasync(log->io->ctx, fd);
	log->io->close(log->io->ctx, fd);
	return rc;
}

/*
 * The newest complete record of the history, found from the end: the last
 * "end NNNNNNNNNN\n" trailer whose record is a checkpoint signed by the
 * log's key.  *valid_end receives the offset just past it; bytes after it
 * are an append that was interrupted (a crash, a full disk).  VL_ENOTFOUND
 * if the file is absent or empty; VL_ECORRUPT if no record verifies.
 */
static int history_last(vl_log *log, char **note, size_t *len, uint64_t *valid_end,
                        uint64_t *file_size)
{
	char path[PATH_CAP];
	*note = NULL;
	if (join(path, log->dir, "checkpoints") < 0)
		return VL_ETOOBIG;
	int fd = log->io->open(log->io->ctx, path, VL_O_RDONLY, 0);
	if (fd < 0)
		return fd == -ENOENT ? VL_ENOTFOUND : fd;
	uint64_t size;
	int rc = log->io->file_size(log->io->ctx, fd, &size);
	*file_size = size;
	if (rc == 0 && size == 0)
		rc = VL_ENOTFOUND;
	/* A record is at most VL_NOTE_MAX + trailer; look at two of them. */
	uint64_t window = 2 * ((uint64_t)VL_NOTE_MAX + HISTORY_TRAILER);
	uint64_t start = size > window ? size - window : 0;
	char *buf = NULL;
	if (rc == 0 && !(buf = malloc((size_t)(size - start) + 1)))
		rc = VL_ENOMEM;
	if (rc == 0)
		rc = read_all(log->io, fd, buf, (size_t)(size - start), start);
	log->io->close(log->io->ctx, fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	size_t have = (size_t)(size - start);
	rc = VL_ECORRUPT;
	for (size_t pos = have >= HISTORY_TRAILER ? have - HISTORY_TRAILER + 1 : 0; pos-- > 0;) {
		const char *t = buf + pos;
		if (memcmp(t, "end ", 4) != 0 || t[14] != '\n')
			continue;
		size_t n = 0;
		int digits = 1;
		for (int k = 4; k < 14; k++) {
			if (t[k] < '0' || t[k] > '9')
				digits = 0;
			n = n * 10 + (size_t)(t[k] - '0');
		}
		if (!digits || n == 0 || n > VL_NOTE_MAX || n > pos)
			continue;
		vl_checkpoint cp;
		if (vl_checkpoint_verify(buf + pos - n, n, log->verifier, &cp) != 0)
			continue;
		if (!(*note = malloc(n + 1))) {
			rc = VL_ENOMEM;
			break;
		}
		memcpy(*note, buf + pos - n, n);
		(*note)[n] = 0;
		*len = n;
		*valid_end = start + pos + HISTORY_TRAILER;
		rc = 0;
		break;
	}
	free(buf);
	return rc;
}

/* Cut an interrupted append from the end of the history. */
static int history_truncate(vl_log *log, uint64_t valid_end)
{
	char path[PATH_CAP];
	if (join(path, log->dir, "checkpoints") < 0)
		return VL_ETOOBIG;
	int fd = log->io->open(log->io->ctx, path, VL_O_RDWR, 0);
	if (fd < 0)
		return fd;
	int rc = log->io->ftruncate(log->io->ctx, fd, valid_end);
	if (rc == 0)
		rc = log->io->fdatasync(log->io->ctx, fd);
	log->io->close(log->io->ctx, fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Handles.                                                            */

static vl_log *log_alloc(const char *dir, const vl_log_options *opt)
{
	vl_log *log = calloc(1, sizeof *log);
	if (!log)
		return NULL;
	log->io = opt && opt->io ? opt->io : vl_io_posix();
	log->segment_bytes = opt && opt->segment_bytes ? opt->segment_bytes : DEFAULT_SEGMENT_BYTES;
	log->wal_fd = -1;
	log->lock_fd = -1;
	log->dir = strdup(dir);
	log->tiles = calloc(TREE_LEVELS, sizeof *log->tiles);
	if (!log->dir || !log->tiles) {
		free(log->dir);
		free(log->tiles);
		free(log);
		return NULL;
	}
	/* Strip trailing slashes so that paths join cleanly. */
	for (size_t l = strlen(log->dir); l > 1 && log->dir[l - 1] == '/'; l--)
		log->dir[l - 1] = 0;
	pthread_mutex_init(&log->mu, NULL);
	pthread_cond_init(&log->cv, NULL);
	pthread_mutex_init(&log->tree_mu, NULL);
	pthread_mutex_init(&log->checkpoint_mu, NULL);
	pthread_mutex_init(&log->flush_mu, NULL);
	return log;
}

static void log_free(vl_log *log)
{
	if (!log)
		return;
	if (log->wal_fd >= 0)
		log->io->close(log->io->ctx, log->wal_fd);
	if (log->lock_fd >= 0)
		log->io->close(log->io->ctx, log->lock_fd);
	vl_signer_free(log->signer);
	vl_verifier_free(log->verifier);
	free(log->vkey);
	free(log->key_file);
	free(log->cp_note);
	free(log->bundle);
	free(log->frame_buf);
	free(log->tiles);
	free(log->dir);
	pthread_mutex_destroy(&log->mu);
	pthread_cond_destroy(&log->cv);
	pthread_mutex_destroy(&log->tree_mu);
	pthread_mutex_destroy(&log->checkpoint_mu);
	pthread_mutex_destroy(&log->flush_mu);
	for (size_t i = 0; i < log->n_pending; i++)
		free(log->pending[i].data);
	free(log->pending);
	free(log);
}

static int load_signer(vl_log *log)
{
	if (log->signer)
		return 0;
	if (!log->key_file) {
		set_message(log, "%s: no signer key file is configured", log->dir);
		return VL_EKEY;
	}
	vl_signer *s;
	int rc = vl_signer_load(log->key_file, &s);
	if (rc < 0) {
		set_message(log, "%s: cannot load the signer key (%s)", log->key_file, vl_strerror(rc));
		return rc;
	}
	char *vkey = NULL;
	rc = vl_signer_vkey(s, &vkey);
	if (rc == 0 && strcmp(vkey, log->vkey) != 0) {
		set_message(log, "%s: this key (%s) is not the log's key (%s)", log->key_file, vkey,
		            log->vkey);
		rc = VL_EKEY;
	}
	free(vkey);
	if (rc < 0) {
		vl_signer_free(s);
		return rc;
	}
	log->signer = s;
	return 0;
}

static int write_partials(vl_log *log, uint64_t n, uint8_t (*tiles)[VL_TILE_WIDTH][VL_HASH_SIZE],
                          const uint8_t *bundle, size_t bundle_len)
{
	char path[PATH_CAP];
	int rc;
	for (int level = 0; level < TREE_LEVELS; level++) {
		uint64_t count = level_count(n, level);
		unsigned w = (unsigned)(count % VL_TILE_WIDTH);
		if (count == 0)
			break;
		if (w == 0)
			continue;
		/* The signed checkpoint may already rely on this very file (a
		 * higher level that did not grow): its bytes cannot differ, and
		 * rewriting it would expose it to a torn write.  Leave it. */
		uint64_t old_count = level_count(log->cp.size, level);
		if (old_count / VL_TILE_WIDTH == count / VL_TILE_WIDTH &&
		    old_count % VL_TILE_WIDTH == w)
			continue;
		if ((rc = tile_file_path(log, path, level, count / VL_TILE_WIDTH, w)) < 0 ||
		    (rc = make_parents(log, path)) < 0 ||
		    (rc = write_file(log->io, path, tiles[level], (size_t)w * VL_HASH_SIZE)) < 0) {
			set_message(log, "%s: cannot write partial tile (%s)", path, vl_strerror(rc));
			return rc;
		}
	}
	unsigned w = (unsigned)(n % VL_TILE_WIDTH);
	if (w) {
		if ((rc = tile_file_path(log, path, VL_TILE_ENTRIES, n / VL_TILE_WIDTH, w)) < 0 ||
		    (rc = make_parents(log, path)) < 0 ||
		    (rc = write_file(log->io, path, bundle, bundle_len)) < 0) {
			set_message(log, "%s: cannot write partial bundle (%s)", path, vl_strerror(rc));
			return rc;
		}
	}
	return 0;
}

/* Remove the partial tiles of checkpoint size OLD that size NEW no longer
 * names.  Best effort: a leftover partial tile is harmless. */
static void remove_stale_partials(vl_log *log, uint64_t old, uint64_t new)
{
	char path[PATH_CAP];
	for (int level = -1; level < TREE_LEVELS; level++) {
		int l = level < 0 ? 0 : level;
		uint64_t oc = level_count(old, l), nc = level_count(new, l);
		unsigned ow = (unsigned)(oc % VL_TILE_WIDTH), nw = (unsigned)(nc % VL_TILE_WIDTH);
		if (ow == 0 || (oc / VL_TILE_WIDTH == nc / VL_TILE_WIDTH && ow == nw))
			continue;
		if (tile_file_path(log, path, level, oc / VL_TILE_WIDTH, ow) == 0)
			log->io->unlink(log->io->ctx, path);
	}
}

/*
 * Sign a checkpoint for everything integrated.  Caller holds checkpoint_mu.
 */
static int checkpoint_locked(vl_log *log)
{
	int rc = load_signer(log);
	if (rc < 0)
		return rc;
	uint8_t (*snap)[VL_TILE_WIDTH][VL_HASH_SIZE] = malloc(TREE_LEVELS * sizeof *snap);
	uint8_t *bundle = NULL;
	char *note = NULL;
	if (!snap)
		return VL_ENOMEM;

	/* Snapshot the right edge, so commits continue while we sync and sign. */
	pthread_mutex_lock(&log->tree_mu);
	uint64_t n = log->size;
	size_t bundle_len = log->bundle_len;
	vl_checkpoint next = {{0}, n, {0}};
	memcpy(next.origin, log->origin, sizeof next.origin);
	rc = log->tree_broken ? VL_EPOISONED : 0;
	if (rc == 0 && n == log->cp.size) {
		pthread_mutex_unlock(&log->tree_mu);
		free(snap);
		return 0;
	}
	if (rc == 0)
		rc = tree_root(log, n, next.root);
	memcpy(snap, log->tiles, TREE_LEVELS * sizeof *snap);
	if (rc == 0 && bundle_len && !(bundle = malloc(bundle_len)))
		rc = VL_ENOMEM;
	if (rc == 0 && bundle_len)
		memcpy(bundle, log->bundle, bundle_len);
	/* Invariant 5: prove the new tree extends the last signed one. */
	if (rc == 0 && log->cp.size > 0) {
		uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
		size_t n_proof;
		vl_tile_reader *r = malloc(sizeof *r);
		rc = r ? 0 : VL_ENOMEM;
		if (rc == 0) {
			vl_tile_reader_init(r, n, fetch_tile, log);
			rc = vl_merkle_prove_consistency(log->cp.size, n, vl_tile_reader_hash, r, proof,
			                                 &n_proof);
		}
		free(r);
		if (rc == 0 && vl_merkle_verify_consistency(log->cp.size, n,
		                                            (const uint8_t(*)[VL_HASH_SIZE])proof,
		                                            n_proof, log->cp.root, next.root) != 0) {
			set_message(log, "%s: the tree at size %" PRIu64
			            " does not extend the signed checkpoint of size %" PRIu64,
			            log->dir, n, log->cp.size);
			rc = VL_EINCONSISTENT;
		}
	}
	pthread_mutex_unlock(&log->tree_mu);
	if (rc < 0)
		goto done;

	/* Queued full tiles, partial tiles for N, then one sync for every tile
	 * written since the last checkpoint, then the checkpoint itself. */
	rc = write_pending(log);
	if (rc == 0) {
		pthread_mutex_lock(&log->flush_mu);
		rc = write_partials(log, n, snap, bundle, bundle_len);
		pthread_mutex_unlock(&log->flush_mu);
	}
	if (rc == 0 && (rc = log->io->sync_all(log->io->ctx, log->dir)) < 0)
		set_message(log, "%s: cannot sync tiles (%s)", log->dir, vl_strerror(rc));
	if (rc < 0) {
		poison(log, rc);
		goto done;
	}
	char body[VL_ORIGIN_MAX + 128];
	int blen = vl_checkpoint_format(&next, body, sizeof body);
	if (blen < 0) {
		rc = blen;
		goto done;
	}
	rc = vl_note_sign(body, (size_t)blen, log->signer, &note);
	if (rc < 0)
		goto done;
	size_t note_len = strlen(note);
	rc = replace_file(log->io, log->dir, "checkpoint", note, note_len);
	if (rc == 0)
		rc = history_append(log, note, note_len);
	if (rc < 0) {
		set_message(log, "%s/checkpoint: cannot write (%s)", log->dir, vl_strerror(rc));
		poison(log, rc);
		goto done;
	}
	remove_stale_partials(log, log->cp.size, n);
	log->cp = next;
	free(log->cp_note);
	log->cp_note = note;
	note = NULL;
done:
	free(note);
	free(bundle);
	free(snap);
	return rc;
}

int vl_log_flush(vl_log *log)
{
	if (!log)
		return VL_EINVAL;
	if (is_poisoned(log))
		return VL_EPOISONED;
	return write_pending(log);
}

int vl_log_checkpoint(vl_log *log, char **note_out)
{
	if (note_out)
		*note_out = NULL;
	if (!log)
		return VL_EINVAL;
	if (is_poisoned(log))
		return VL_EPOISONED;
	pthread_mutex_lock(&log->checkpoint_mu);
	int rc = checkpoint_locked(log);
	if (rc == 0 && note_out && !(*note_out = strdup(log->cp_note)))
		rc = VL_ENOMEM;
	pthread_mutex_unlock(&log->checkpoint_mu);
	return rc;
}

static int format_time(const vl_io *io, char *buf, size_t cap)
{
	time_t t = (time_t)(io->now_ns(io->ctx) / 1000000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return VL_EINVAL;
	return 0;
}

/* One process at a time: another one's recovery would cut our in-flight
 * commit as a "torn tail". */
static int take_lock(vl_log *log)
{
	if (!log->io->lock)
		return 0;
	char path[PATH_CAP];
	int rc = join(path, log->dir, ".lock");
	if (rc == 0)
		rc = log->io->lock(log->io->ctx, path);
	if (rc == -EWOULDBLOCK) {
		set_message(log, "%s: the log is open in another process", log->dir);
		return VL_ELOCKED;
	}
	if (rc < 0) {
		set_message(log, "%s: cannot lock (%s)", path, vl_strerror(rc));
		return rc;
	}
	log->lock_fd = rc;
	return 0;
}

static int dir_is_empty_cb(void *arg, const char *name)
{
	(void)arg;
	(void)name;
	return VL_EEXIST;
}

int vl_log_create(const char *dir, const vl_signer *signer, const vl_log_options *opt,
                  vl_log **out)
{
	if (!dir || !signer || !out)
		return VL_EINVAL;
	*out = NULL;
	vl_log *log = log_alloc(dir, opt);
	if (!log)
		return VL_ENOMEM;
	const vl_io *io = log->io;
	char path[PATH_CAP], conf[CONF_MAX], created[32];
	char *note = NULL;
	int rc = io->mkdir(io->ctx, log->dir, 0755);
	if (rc == 0)
		rc = fsync_parent(io, log->dir); /* the log's own name must survive */
	else if (rc == -EEXIST)
		rc = io->list_dir(io->ctx, log->dir, dir_is_empty_cb, NULL);
	if (rc < 0) {
		set_message(log, "%s: %s", log->dir,
		            rc == VL_EEXIST ? "directory is not empty" : vl_strerror(rc));
		goto fail;
	}
	if ((rc = take_lock(log)) < 0)
		goto fail;
	snprintf(log->origin, sizeof log->origin, "%s", vl_signer_name(signer));
	if ((rc = vl_signer_vkey(signer, &log->vkey)) < 0 ||
	    (rc = vl_verifier_parse(log->vkey, &log->verifier)) < 0)
		goto fail;
	if (opt && opt->key_file) {
		char *abs = realpath(opt->key_file, NULL);
		if (!abs) {
			rc = -errno;
			set_message(log, "%s: %s", opt->key_file, vl_strerror(rc));
			goto fail;
		}
		log->key_file = abs;
	}
	if ((rc = format_time(io, created, sizeof created)) < 0)
		goto fail;
	int clen = snprintf(conf, sizeof conf,
	                    "# vellum log configuration; written once at creation, never edited\n"
	                    "format 1\norigin %s\nvkey %s\ncreated %s\nkey_file %s\n",
	                    log->origin, log->vkey, created, log->key_file ? log->key_file : "");
	if (clen < 0 || (size_t)clen >= sizeof conf) {
		rc = VL_ETOOBIG;
		goto fail;
	}
	if (!log->key_file)
		clen -= (int)strlen("key_file \n"); /* no key file recorded */
	if ((rc = join(path, log->dir, "wal")) < 0 || (rc = io->mkdir(io->ctx, path, 0755)) < 0 ||
	    (rc = join(path, log->dir, "tile")) < 0 || (rc = io->mkdir(io->ctx, path, 0755)) < 0)
		goto fail;
	int fd = vl_wal_segment_create(io, log->dir, 0);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	log->wal_fd = fd;
	log->wal_off = VL_WAL_SEGMENT_HEADER;
	log->wal_allocated = VL_WAL_SEGMENT_HEADER;
	if ((rc = replace_file(io, log->dir, "log.conf", conf, (size_t)clen)) < 0)
		goto fail;
	/* The empty tree's checkpoint: every log has one from birth on. */
	vl_checkpoint cp = {{0}, 0, {0}};
	memcpy(cp.origin, log->origin, sizeof cp.origin);
	vl_sha256("", 0, cp.root);
	char body[VL_ORIGIN_MAX + 128];
	int blen = vl_checkpoint_format(&cp, body, sizeof body);
	if (blen < 0) {
		rc = blen;
		goto fail;
	}
	if ((rc = vl_note_sign(body, (size_t)blen, signer, &note)) < 0)
		goto fail;
	if ((rc = replace_file(io, log->dir, "checkpoint", note, strlen(note))) < 0 ||
	    (rc = history_append(log, note, strlen(note))) < 0)
		goto fail;
	if ((rc = io->fsync_dir(io->ctx, log->dir)) < 0)
		goto fail;
	log->cp = cp;
	log->cp_note = note;
	*out = log;
	return 0;
fail:
	if (!log->message[0])
		set_message(log, "%s: cannot create the log (%s)", log->dir, vl_strerror(rc));
	snprintf(open_message, sizeof open_message, "%s", log->message);
	free(note);
	log_free(log);
	return rc;
}

/* Load the right-edge partial tiles of checkpoint size N from the stored
 * tiles: the .p/W file of N, or the prefix of the full tile if it is
 * there instead. */
static int load_right_edge(vl_log *log, uint64_t n)
{
	for (int level = 0; level < TREE_LEVELS; level++) {
		uint64_t count = level_count(n, level);
		unsigned w = (unsigned)(count % VL_TILE_WIDTH);
		if (w == 0)
			continue;
		char path[PATH_CAP];
		int rc = VL_ENOTFOUND;
		for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
			if (tile_file_path(log, path, level, count / VL_TILE_WIDTH,
			                   attempt == 0 ? w : VL_TILE_WIDTH) < 0)
				return VL_EINVAL;
			int fd = log->io->open(log->io->ctx, path, VL_O_RDONLY, 0);
			if (fd < 0) {
				rc = fd == -ENOENT ? VL_ENOTFOUND : fd;
				continue;
			}
			rc = read_all(log->io, fd, log->tiles[level], (size_t)w * VL_HASH_SIZE, 0);
			log->io->close(log->io->ctx, fd);
		}
		if (rc < 0) {
			if (tile_file_path(log, path, level, count / VL_TILE_WIDTH, w) < 0)
				return VL_EINVAL;
			set_message(log, "%s: tile of the checkpoint of size %" PRIu64 " is %s", path, n,
			            rc == VL_ENOTFOUND || rc == VL_ECORRUPT ? "missing or short"
			                                                   : vl_strerror(rc));
			return rc == VL_ENOTFOUND ? VL_ECORRUPT : rc;
		}
	}
	return 0;
}

/* Cut an unacknowledged torn tail found by the WAL iterator. */
static int cut_tail(vl_log *log, vl_wal_iter *it)
{
	uint64_t first, valid_end, next, file_size;
	vl_wal_iter_end(it, &first, &valid_end, &next, &file_size);
	char path[PATH_CAP];
	if (vl_wal_segment_path(path, sizeof path, log->dir, first) < 0)
		return VL_ETOOBIG;
	const vl_io *io = log->io;
	int rc;
	if (valid_end == 0) {
		/* The segment's header never made it: the file goes. */
		if ((rc = io->unlink(io->ctx, path)) < 0)
			return rc;
		char wal[PATH_CAP];
		if ((rc = join(wal, log->dir, "wal")) < 0 || (rc = io->fsync_dir(io->ctx, wal)) < 0)
			return rc;
	} else {
		int fd = io->open(io->ctx, path, VL_O_RDWR, 0);
		if (fd < 0)
			return fd;
		rc = io->ftruncate(io->ctx, fd, valid_end);
		if (rc == 0)
			rc = io->fdatasync(io->ctx, fd);
		io->close(io->ctx, fd);
		if (rc < 0)
			return rc;
	}
	log->recovery.dropped_frames++;
	log->recovery.dropped_bytes += file_size - valid_end;
	return 0;
}

/*
 * Before anything more is acknowledged, make the directory entries that
 * open relied on durable: a segment created by an earlier handle whose
 * directory sync failed, or whose process died before it.  (Frames are
 * never rewritten in place to "re-persist" them: rewriting acknowledged
 * bytes would expose them to a torn write.  A handle whose fdatasync
 * failed cuts its unsynced frames from the file before giving up; see
 * unwrite().)
 */
static int sync_directories(vl_log *log)
{
	char wal[PATH_CAP];
	int rc = join(wal, log->dir, "wal");
	if (rc == 0)
		rc = log->io->fsync_dir(log->io->ctx, wal);
	if (rc == 0)
		rc = log->io->fsync_dir(log->io->ctx, log->dir);
	return rc;
}

/* Find the newest segment and where its valid data ends, after a scan. */
static int open_wal_writer(vl_log *log, vl_wal_iter *it)
{
	uint64_t first, valid_end, next, file_size;
	vl_wal_iter_end(it, &first, &valid_end, &next, &file_size);
	const vl_io *io = log->io;
	if (valid_end == 0) {
		/* The newest segment was removed as torn: continue in a new one. */
		int fd = vl_wal_segment_create(io, log->dir, log->size);
		if (fd < 0)
			return fd;
		log->wal_fd = fd;
		log->wal_first = log->size;
		log->wal_off = VL_WAL_SEGMENT_HEADER;
		log->wal_allocated = VL_WAL_SEGMENT_HEADER;
		return 0;
	}
	char path[PATH_CAP];
	if (vl_wal_segment_path(path, sizeof path, log->dir, first) < 0)
		return VL_ETOOBIG;
	int fd = io->open(io->ctx, path, VL_O_RDWR, 0);
	if (fd < 0)
		return fd;
	log->wal_fd = fd;
	log->wal_first = first;
	log->wal_off = valid_end;
	/* Zeros after the last frame (preallocated) stay for the next commit. */
	uint64_t size;
	int rc = io->file_size(io->ctx, fd, &size);
	log->wal_allocated = rc == 0 && size > valid_end ? size : valid_end;
	return rc;
}

/*
 * Everything vl_log_open does after allocating the handle: read log.conf,
 * take the lock (when LOCK), verify the checkpoint against the history and
 * the tiles, replay the WAL, write the tiles it completes, and open the WAL
 * for appending.  On failure the handle holds the message and is freed by
 * the caller.
 */
static int load_log(vl_log *log, const vl_log_options *opt, int lock)
{
	const vl_io *io = log->io;
	char path[PATH_CAP], value[PATH_CAP];
	char *conf = NULL, *note = NULL, *hist = NULL;
	size_t len, hist_len;
	vl_wal_iter *it = NULL;
	int rc;

	if ((rc = join(path, log->dir, "log.conf")) < 0)
		goto fail;
	rc = read_file(io, path, CONF_MAX, &conf, &len);
	if (rc < 0) {
		set_message(log, "%s: %s", path,
		            rc == VL_ENOTFOUND ? "missing: not a vellum log directory" : vl_strerror(rc));
		goto fail;
	}
	if (lock && (rc = take_lock(log)) < 0)
		goto fail;
	if (conf_value(conf, "format", value, sizeof value) < 0 || strcmp(value, "1") != 0 ||
	    conf_value(conf, "origin", log->origin, sizeof log->origin) < 0 ||
	    conf_value(conf, "vkey", value, sizeof value) < 0) {
		set_message(log, "%s: malformed or unsupported format", path);
		rc = VL_EFORMAT;
		goto fail;
	}
	if (!(log->vkey = strdup(value))) {
		rc = VL_ENOMEM;
		goto fail;
	}
	if ((rc = vl_verifier_parse(log->vkey, &log->verifier)) < 0) {
		set_message(log, "%s: bad verifier key", path);
		goto fail;
	}
	if (strcmp(vl_verifier_name(log->verifier), log->origin) != 0) {
		set_message(log, "%s: origin does not match the key name", path);
		rc = VL_EFORMAT;
		goto fail;
	}
	if (opt && opt->key_file) {
		if (!(log->key_file = strdup(opt->key_file))) {
			rc = VL_ENOMEM;
			goto fail;
		}
	} else if (conf_value(conf, "key_file", value, sizeof value) == 0 &&
	           !(log->key_file = strdup(value))) {
		rc = VL_ENOMEM;
		goto fail;
	}

	/* Invariant 5: the latest checkpoint must verify before anything else. */
	if ((rc = join(path, log->dir, "checkpoint")) < 0)
		goto fail;
	rc = read_file(io, path, VL_NOTE_MAX, &note, &len);
	if (rc == 0)
		rc = vl_checkpoint_verify(note, len, log->verifier, &log->cp);
	if (rc < 0) {
		set_message(log, "%s: %s", path,
		            rc == VL_ENOTFOUND ? "missing" : vl_strerror(rc));
		if (rc == VL_ENOTFOUND || rc == VL_ESIGNATURE || rc == VL_EFORMAT)
			rc = VL_ECORRUPT;
		goto fail;
	}
	log->cp_note = note;
	note = NULL;

	/* A checkpoint older than the newest in the history was rolled back. */
	uint64_t hist_end = 0, hist_size = 0;
	rc = history_last(log, &hist, &hist_len, &hist_end, &hist_size);
	if (rc == 0 && hist_end < hist_size && (rc = history_truncate(log, hist_end)) < 0) {
		set_message(log, "%s/checkpoints: cannot cut an interrupted record (%s)", log->dir,
		            vl_strerror(rc));
		goto fail;
	}
	if (rc == 0) {
		vl_checkpoint last;
		if (vl_checkpoint_verify(hist, hist_len, log->verifier, &last) < 0) {
			set_message(log, "%s/checkpoints: newest record does not verify", log->dir);
			rc = VL_ECORRUPT;
			goto fail;
		}
		if (last.size > log->cp.size ||
		    (last.size == log->cp.size && memcmp(last.root, log->cp.root, VL_HASH_SIZE))) {
			set_message(log, "%s/checkpoint: size %" PRIu64 " is older than the newest "
			            "checkpoint ever signed (size %" PRIu64 "): the checkpoint was rolled back",
			            log->dir, log->cp.size, last.size);
			rc = VL_ECORRUPT;
			goto fail;
		}
		/* A crash came between the rename and the append, or (in this
		 * boot) the directory sync after the rename failed: the rename
		 * is made durable before the history says the checkpoint
		 * exists, or a power loss could roll the checkpoint back under
		 * a history that remembers it. */
		if (last.size < log->cp.size &&
		    ((rc = io->fsync_dir(io->ctx, log->dir)) < 0 ||
		     (rc = history_append(log, log->cp_note, strlen(log->cp_note))) < 0))
			goto fail;
	} else if (rc == VL_ENOTFOUND) {
		if ((rc = history_append(log, log->cp_note, strlen(log->cp_note))) < 0)
			goto fail;
	} else {
		set_message(log, "%s/checkpoints: %s", log->dir,
		            rc == VL_ECORRUPT ? "no record in the history verifies with the log's key"
		                              : vl_strerror(rc));
		goto fail;
	}

	/* The tree at the checkpoint, from its tiles, must give its root. */
	uint64_t n = log->cp.size;
	if ((rc = load_right_edge(log, n)) < 0)
		goto fail;
	log->size = n;
	if (n > 0) {
		uint8_t root[VL_HASH_SIZE];
		rc = tree_root(log, n, root);
		if (rc == 0 && memcmp(root, log->cp.root, VL_HASH_SIZE) != 0) {
			set_message(log, "%s: the stored tiles give a different root than the checkpoint "
			            "of size %" PRIu64 ": the tiles were modified", log->dir, n);
			rc = VL_ECORRUPT;
		}
		if (rc < 0)
			goto fail;
	}

	/* Replay the WAL: entries of the checkpoint's partial bundle are
	 * checked against the tree, later ones integrated. */
	uint64_t bundle_start = n - n % VL_TILE_WIDTH;
	rc = vl_wal_iter_open(io, log->dir, bundle_start, &it);
	uint64_t index = 0, expect = bundle_start;
	const uint8_t *entry;
	size_t elen;
	while (rc == 0 && (rc = vl_wal_iter_next(it, &index, &entry, &elen)) > 0) {
		rc = 0;
		if (index != expect) {
			set_message(log, "wal: entry %" PRIu64 " found where %" PRIu64 " was expected",
			            index, expect);
			rc = VL_ECORRUPT;
			break;
		}
		expect++;
		if (index < n) {
			uint8_t leaf[VL_HASH_SIZE];
			vl_leaf_hash(entry, elen, leaf);
			if (memcmp(leaf, log->tiles[0][index % VL_TILE_WIDTH], VL_HASH_SIZE) != 0) {
				set_message(log, "entry %" PRIu64 " in the WAL does not match its hash in "
				            "the checkpointed tiles: the log was modified", index);
				rc = VL_ECORRUPT;
				break;
			}
			if ((rc = bundle_reserve(log, 2 + elen)) < 0)
				break;
			log->bundle[log->bundle_len] = (uint8_t)(elen >> 8);
			log->bundle[log->bundle_len + 1] = (uint8_t)elen;
			memcpy(log->bundle + log->bundle_len + 2, entry, elen);
			log->bundle_len += 2 + elen;
			continue;
		}
		uint8_t leaf[VL_HASH_SIZE];
		vl_leaf_hash(entry, elen, leaf);
		if ((rc = integrate(log, entry, elen, leaf)) < 0)
			break;
		log->recovery.replayed_entries++;
	}
	if (rc == VL_ECORRUPT && it && vl_wal_iter_at_tail(it)) {
		rc = cut_tail(log, it);
		if (rc < 0)
			set_message(log, "wal: cannot cut the torn tail (%s)", vl_strerror(rc));
	} else if (rc < 0 && it && !log->message[0]) {
		set_message(log, "%s", vl_wal_iter_message(it));
	}
	if (rc < 0)
		goto fail;
	if (expect < n) {
		set_message(log, "wal: ends at entry %" PRIu64 " but the checkpoint covers %" PRIu64
		            " entries: WAL data was deleted or truncated", expect, n);
		rc = VL_ECORRUPT;
		goto fail;
	}
	if ((rc = write_pending(log)) < 0)
		goto fail;
	if ((rc = sync_directories(log)) < 0) {
		set_message(log, "%s: cannot sync the log's directories (%s)", log->dir, vl_strerror(rc));
		goto fail;
	}
	if ((rc = open_wal_writer(log, it)) < 0) {
		set_message(log, "wal: cannot open for appending (%s)", vl_strerror(rc));
		goto fail;
	}
	vl_wal_iter_close(it);
	free(conf);
	free(hist);
	return 0;
fail:
	if (!log->message[0])
		set_message(log, "%s: cannot open the log (%s)", log->dir, vl_strerror(rc));
	vl_wal_iter_close(it);
	free(conf);
	free(note);
	free(hist);
	return rc;
}

int vl_log_open(const char *dir, const vl_log_options *opt, vl_log **out)
{
	if (!dir || !out)
		return VL_EINVAL;
	*out = NULL;
	vl_log *log = log_alloc(dir, opt);
	if (!log)
		return VL_ENOMEM;
	int rc = load_log(log, opt, 1);
	if (rc < 0) {
		/* The handle is gone: keep the message for vl_open_message(). */
		snprintf(open_message, sizeof open_message, "%s", log->message);
		log_free(log);
		return rc;
	}
	*out = log;
	return 0;
}

#define SWAP(a, b)                                                                          \
	do {                                                                                \
		__typeof__(a) swap_tmp_ = (a);                                              \
		(a) = (b);                                                                  \
		(b) = swap_tmp_;                                                            \
	} while (0)

int vl_log_reopen(vl_log *log)
{
	if (!log)
		return VL_EINVAL;
	/* Become the commit leader, so that no commit runs meanwhile. */
	pthread_mutex_lock(&log->mu);
	if (!log->poisoned) {
		pthread_mutex_unlock(&log->mu);
		return 0;
	}
	while (log->leader_active)
		pthread_cond_wait(&log->cv, &log->mu);
	log->leader_active = 1;
	pthread_mutex_unlock(&log->mu);
	/* Then no checkpoint, tile writer or reader either: every other entry
	 * point takes one of these. */
	pthread_mutex_lock(&log->checkpoint_mu);
	pthread_mutex_lock(&log->flush_mu);
	pthread_mutex_lock(&log->tree_mu);

	/* Frames are durable up to wal_off (it advances only after a
	 * successful fdatasync).  Whatever a failed commit left after it is
	 * cut again, and that cut must reach the disk: otherwise the open
	 * below could read frames from the page cache that the disk never
	 * got, and later commits would be appended after a hole. */
	int rc = 0;
	if (log->wal_fd >= 0) {
		rc = log->io->ftruncate(log->io->ctx, log->wal_fd, log->wal_off);
		if (rc == 0)
			rc = log->io->fdatasync(log->io->ctx, log->wal_fd);
		if (rc < 0)
			set_message(log, "wal/%020" PRIu64 ": cannot cut the failed commit at byte %"
			            PRIu64 " (%s)", log->wal_first, log->wal_off, vl_strerror(rc));
		else
			log->wal_allocated = log->wal_off;
	}
	/* A handle opened from the directory as it is now, without the lock
	 * (this handle holds it), replaces this one's state. */
	vl_log_options opt = {log->io, log->segment_bytes, log->key_file};
	vl_log *fresh = rc == 0 ? log_alloc(log->dir, &opt) : NULL;
	if (rc == 0 && !fresh)
		rc = VL_ENOMEM;
	if (rc == 0 && (rc = load_log(fresh, &opt, 0)) < 0)
		set_message(log, "reopening: %s", fresh->message);
	if (rc == 0) {
		SWAP(log->size, fresh->size);
		SWAP(log->tiles, fresh->tiles);
		SWAP(log->bundle, fresh->bundle);
		SWAP(log->bundle_len, fresh->bundle_len);
		SWAP(log->bundle_cap, fresh->bundle_cap);
		SWAP(log->last_bundle_len, fresh->last_bundle_len);
		SWAP(log->wal_fd, fresh->wal_fd);
		SWAP(log->wal_first, fresh->wal_first);
		SWAP(log->wal_off, fresh->wal_off);
		SWAP(log->wal_allocated, fresh->wal_allocated);
		SWAP(log->wal_dropped, fresh->wal_dropped);
		SWAP(log->pending, fresh->pending);
		SWAP(log->n_pending, fresh->n_pending);
		SWAP(log->cap_pending, fresh->cap_pending);
		SWAP(log->pending_bytes, fresh->pending_bytes);
		SWAP(log->cp, fresh->cp);
		SWAP(log->cp_note, fresh->cp_note);
		log->tile_dir_made[0] = '\0';
		log->tree_broken = 0;
		log->recovery.dropped_frames += fresh->recovery.dropped_frames;
		log->recovery.dropped_bytes += fresh->recovery.dropped_bytes;
		log->recovery.replayed_entries = fresh->recovery.replayed_entries;
		log->message[0] = '\0';
		/* Room for the next commits, or the storage has not recovered
		 * (a full disk would fail the first commit again). */
		if (log->wal_allocated == log->wal_off &&
		    (rc = preallocate(log, log->wal_off + 1)) < 0) {
			set_message(log, "wal/%020" PRIu64 ": cannot extend (%s)", log->wal_first,
			            vl_strerror(rc));
			unwrite(log);
		}
	}
	log_free(fresh); /* with this handle's old state */
	pthread_mutex_unlock(&log->tree_mu);
	pthread_mutex_unlock(&log->flush_mu);
	pthread_mutex_unlock(&log->checkpoint_mu);
	pthread_mutex_lock(&log->mu);
	if (rc == 0) {
		log->poisoned = 0;
		log->poison_rc = 0;
	}
	log->leader_active = 0;
	pthread_cond_broadcast(&log->cv);
	pthread_mutex_unlock(&log->mu);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading and proving.                                                */

/*
 * The bundle that holds entry tile*256..: a full bundle queued in memory or
 * in its file, or the unsealed one in memory.  *owned is set when *from was
 * malloc'ed (the caller frees it).  Caller holds tree_mu.
 */
static int load_bundle(vl_log *log, uint64_t tile, const uint8_t **from, size_t *blen,
                       uint8_t **owned, char path[PATH_CAP])
{
	uint64_t size = log->size;
	*owned = NULL;
	const struct pending_file *queued =
		tile < size / VL_TILE_WIDTH ? find_pending(log, VL_TILE_ENTRIES, tile) : NULL;
	if (queued) {
		*from = queued->data;
		*blen = queued->len;
		snprintf(path, PATH_CAP, "bundle %" PRIu64 " (queued in memory)", tile);
		return 0;
	}
	if (tile < size / VL_TILE_WIDTH) {
		char *data = NULL;
		int rc = tile_file_path(log, path, VL_TILE_ENTRIES, tile, VL_TILE_WIDTH);
		if (rc == 0)
			rc = read_file(log->io, path, (size_t)VL_TILE_WIDTH * (VL_ENTRY_MAX + 2), &data, blen);
		if (rc == VL_ENOTFOUND)
			rc = VL_ECORRUPT;
		if (rc < 0) {
			set_message(log, "%s: cannot read bundle (%s)", path, vl_strerror(rc));
			return rc;
		}
		*owned = (uint8_t *)data;
		*from = *owned;
		return 0;
	}
	*from = log->bundle;
	*blen = log->bundle_len;
	snprintf(path, PATH_CAP, "the unsealed bundle in memory");
	return 0;
}

/*
 * Walk a bundle's first COUNT entries, checking its structure, and entries
 * CHECK_FROM..COUNT-1 against the level-0 tile (derived data is checked
 * data); offs and lens receive where each entry starts in the bundle and
 * its length.  Caller holds tree_mu.
 */
static int walk_bundle(vl_log *log, uint64_t tile, const uint8_t *from, size_t blen,
                       unsigned check_from, unsigned count, const char *path, uint32_t *offs,
                       uint16_t *lens)
{
	static const size_t none = (size_t)-1;
	size_t off = 0;
	for (unsigned i = 0; i < count; i++) {
		size_t l = off + 2 <= blen ? (size_t)from[off] << 8 | from[off + 1] : none;
		if (l == none || l == 0 || off + 2 + l > blen) {
			set_message(log, "%s: malformed before entry %" PRIu64, path,
			            tile * VL_TILE_WIDTH + i);
			return VL_ECORRUPT;
		}
		offs[i] = (uint32_t)(off + 2);
		lens[i] = (uint16_t)l;
		off += 2 + l;
	}
	uint8_t leaf[VL_HASH_SIZE], stored[VL_TILE_WIDTH][VL_HASH_SIZE];
	int rc = fetch_tile(log, 0, tile, count, stored[0]);
	for (unsigned i = check_from; rc == 0 && i < count; i++) {
		vl_leaf_hash(from + offs[i], lens[i], leaf);
		if (memcmp(leaf, stored[i], VL_HASH_SIZE) != 0) {
			set_message(log, "entry %" PRIu64 " in %s does not match its leaf hash in "
			            "tile/0: the log was modified", tile * VL_TILE_WIDTH + i, path);
			rc = VL_ECORRUPT;
		}
	}
	return rc;
}

int vl_log_get(vl_log *log, uint64_t index, void *buf, size_t cap, size_t *len)
{
	if (!log || !len || (!buf && cap))
		return VL_EINVAL;
	pthread_mutex_lock(&log->tree_mu);
	int rc = 0;
	uint64_t size = log->size;
	if (log->tree_broken)
		rc = VL_EPOISONED;
	else if (index >= size) {
		set_message(log, "entry %" PRIu64 " does not exist: the log has %" PRIu64 " entries",
		            index, size);
		rc = VL_ENOTFOUND;
	}
	uint64_t tile = index / VL_TILE_WIDTH;
	unsigned pos = (unsigned)(index % VL_TILE_WIDTH);
	const uint8_t *from = NULL;
	uint8_t *owned = NULL;
	size_t blen = 0;
	char path[PATH_CAP] = "";
	uint32_t offs[VL_TILE_WIDTH];
	uint16_t lens[VL_TILE_WIDTH];
	if (rc == 0)
		rc = load_bundle(log, tile, &from, &blen, &owned, path);
	if (rc == 0)
		rc = walk_bundle(log, tile, from, blen, pos, pos + 1, path, offs, lens);
	if (rc == 0) {
		*len = lens[pos];
		if (lens[pos] > cap)
			rc = VL_ETOOBIG;
		else
			memcpy(buf, from + offs[pos], lens[pos]);
	}
	pthread_mutex_unlock(&log->tree_mu);
	free(owned);
	return rc;
}

int vl_log_scan(vl_log *log, uint64_t first, uint64_t count, vl_scan_fn fn, void *ctx)
{
	if (!log || !fn)
		return VL_EINVAL;
	uint32_t offs[VL_TILE_WIDTH];
	uint16_t lens[VL_TILE_WIDTH];
	uint64_t index = first, end = first + count;
	if (end < first)
		return VL_EINVAL;
	while (index < end) {
		uint64_t tile = index / VL_TILE_WIDTH;
		pthread_mutex_lock(&log->tree_mu);
		int rc = log->tree_broken ? VL_EPOISONED : 0;
		uint64_t size = log->size;
		if (rc == 0 && end > size) {
			set_message(log, "entries %" PRIu64 "..%" PRIu64 " do not exist: the log has %"
			            PRIu64 " entries", first, end - 1, size);
			rc = VL_ENOTFOUND;
		}
		const uint8_t *from = NULL;
		uint8_t *owned = NULL;
		size_t blen = 0;
		char path[PATH_CAP] = "";
		uint64_t tile_end = (tile + 1) * VL_TILE_WIDTH;
		unsigned upto = (unsigned)((end < tile_end ? end : tile_end) - tile * VL_TILE_WIDTH);
		if (rc == 0)
			rc = load_bundle(log, tile, &from, &blen, &owned, path);
		unsigned from_pos = (unsigned)(index - tile * VL_TILE_WIDTH);
		if (rc == 0)
			rc = walk_bundle(log, tile, from, blen, from_pos, upto, path, offs, lens);
		/* Entries outside the files (queued or unsealed) may change
		 * under us once tree_mu is released: hand out a copy. */
		if (rc == 0 && !owned) {
			if (!(owned = malloc(blen ? blen : 1)))
				rc = VL_ENOMEM;
			else
				from = memcpy(owned, from, blen);
		}
		pthread_mutex_unlock(&log->tree_mu);
		for (unsigned i = from_pos; rc == 0 && i < upto; i++)
			rc = fn(ctx, tile * VL_TILE_WIDTH + i, from + offs[i], lens[i]);
		free(owned);
		if (rc)
			return rc;
		index = tile * VL_TILE_WIDTH + upto;
	}
	return 0;
}

static int prove(vl_log *log, int consistency, uint64_t a, uint64_t tree_size,
                 uint8_t proof[][VL_HASH_SIZE], size_t *n_proof)
{
	if (!log || !proof || !n_proof)
		return VL_EINVAL;
	pthread_mutex_lock(&log->checkpoint_mu);
	uint64_t cp_size = log->cp.size;
	pthread_mutex_unlock(&log->checkpoint_mu);
	if (tree_size == 0)
		tree_size = cp_size;
	pthread_mutex_lock(&log->tree_mu);
	int rc = log->tree_broken ? VL_EPOISONED : 0;
	if (rc == 0 && (tree_size == 0 || tree_size > log->size)) {
		set_message(log, "tree size %" PRIu64 " is not available (the log has %" PRIu64
		            " entries)", tree_size, log->size);
		rc = VL_ENOTFOUND;
	}
	if (rc == 0 && (consistency ? a == 0 || a > tree_size : a >= tree_size)) {
		set_message(log, "%s %" PRIu64 " is out of range for tree size %" PRIu64,
		            consistency ? "old size" : "index", a, tree_size);
		rc = VL_ENOTFOUND;
	}
	vl_tile_reader *r = rc == 0 ? malloc(sizeof *r) : NULL;
	if (rc == 0 && !r)
		rc = VL_ENOMEM;
	if (rc == 0) {
		vl_tile_reader_init(r, tree_size, fetch_tile, log);
		rc = consistency ? vl_merkle_prove_consistency(a, tree_size, vl_tile_reader_hash, r,
		                                               proof, n_proof)
		                 : vl_merkle_prove_inclusion(a, tree_size, vl_tile_reader_hash, r, proof,
		                                             n_proof);
	}
	free(r);
	pthread_mutex_unlock(&log->tree_mu);
	return rc;
}

int vl_log_prove_inclusion(vl_log *log, uint64_t index, uint64_t tree_size,
                           uint8_t proof[][VL_HASH_SIZE], size_t *n_proof)
{
	return prove(log, 0, index, tree_size, proof, n_proof);
}

int vl_log_prove_consistency(vl_log *log, uint64_t old_size, uint64_t new_size,
                             uint8_t proof[][VL_HASH_SIZE], size_t *n_proof)
{
	return prove(log, 1, old_size, new_size, proof, n_proof);
}

int vl_log_latest_checkpoint(vl_log *log, vl_checkpoint *cp, char **note_out)
{
	if (!log)
		return VL_EINVAL;
	pthread_mutex_lock(&log->checkpoint_mu);
	int rc = 0;
	if (cp)
		*cp = log->cp;
	if (note_out && !(*note_out = strdup(log->cp_note)))
		rc = VL_ENOMEM;
	pthread_mutex_unlock(&log->checkpoint_mu);
	return rc;
}

int vl_log_receipt(vl_log *log, uint64_t index, char **receipt_out)
{
	if (!log || !receipt_out)
		return VL_EINVAL;
	*receipt_out = NULL;
	/* Hold the checkpoint steady so proof and note describe one tree. */
	pthread_mutex_lock(&log->checkpoint_mu);
	uint64_t size = log->cp.size;
	int rc = 0;
	if (index >= size) {
		set_message(log, "entry %" PRIu64 " is not covered by the latest checkpoint (size %" PRIu64
		            "); sign a new checkpoint first", index, size);
		rc = VL_ENOTFOUND;
	}
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	size_t n_proof = 0;
	if (rc == 0) {
		pthread_mutex_lock(&log->tree_mu);
		vl_tile_reader *r = malloc(sizeof *r);
		rc = r ? 0 : VL_ENOMEM;
		if (rc == 0) {
			vl_tile_reader_init(r, size, fetch_tile, log);
			rc = vl_merkle_prove_inclusion(index, size, vl_tile_reader_hash, r, proof, &n_proof);
		}
		free(r);
		pthread_mutex_unlock(&log->tree_mu);
	}
	if (rc == 0)
		rc = vl_receipt_format(index, (const uint8_t(*)[VL_HASH_SIZE])proof, n_proof, log->cp_note,
		                       strlen(log->cp_note), receipt_out);
	pthread_mutex_unlock(&log->checkpoint_mu);
	return rc;
}

/* Copy one tile file of the checkpoint into OUTDIR. */
static int export_file(vl_log *log, const char *outdir, const char *rel, char *made)
{
	char src[PATH_CAP], dst[PATH_CAP];
	int rc;
	if ((rc = join(src, log->dir, rel)) < 0 || (rc = join(dst, outdir, rel)) < 0)
		return rc;
	char *data = NULL;
	size_t len;
	rc = read_file(log->io, src, (size_t)VL_TILE_WIDTH * (VL_ENTRY_MAX + 2), &data, &len);
	if (rc < 0) {
		set_message(log, "%s: cannot read (%s)", src, rc == VL_ENOTFOUND ? "missing" : vl_strerror(rc));
		return rc == VL_ENOTFOUND ? VL_ECORRUPT : rc;
	}
	/* mkdir -p the parents under OUTDIR, remembering the last one. */
	char parent[PATH_CAP];
	const char *slash = strrchr(dst, '/');
	size_t plen = (size_t)(slash - dst);
	memcpy(parent, dst, plen);
	parent[plen] = 0;
	if (strcmp(parent, made) != 0) {
		for (size_t i = strlen(outdir) + 1; i <= plen; i++) {
			if (parent[i] != '/' && parent[i] != 0)
				continue;
			char c = parent[i];
			parent[i] = 0;
			int m = log->io->mkdir(log->io->ctx, parent, 0755);
			parent[i] = c;
			if (m < 0 && m != -EEXIST) {
				rc = m;
				break;
			}
		}
		if (rc == 0)
			memcpy(made, parent, plen + 1);
	}
	if (rc == 0)
		rc = write_file(log->io, dst, data, len);
	if (rc < 0)
		set_message(log, "%s: cannot write (%s)", dst, vl_strerror(rc));
	free(data);
	return rc;
}

int vl_log_export(vl_log *log, const char *outdir)
{
	if (!log || !outdir)
		return VL_EINVAL;
	pthread_mutex_lock(&log->checkpoint_mu);
	const vl_io *io = log->io;
	uint64_t n = log->cp.size;
	char made[PATH_CAP] = "";
	char rel[VL_TILE_PATH_MAX];
	int rc = io->mkdir(io->ctx, outdir, 0755);
	if (rc == -EEXIST)
		rc = 0;
	for (int level = -1; rc == 0 && level < TREE_LEVELS; level++) {
		uint64_t count = level_count(n, level < 0 ? 0 : level);
		if (count == 0)
			break;
		for (uint64_t t = 0; rc == 0 && t * VL_TILE_WIDTH < count; t++) {
			uint64_t left = count - t * VL_TILE_WIDTH;
			unsigned w = left >= VL_TILE_WIDTH ? VL_TILE_WIDTH : (unsigned)left;
			if (vl_tile_path(rel, sizeof rel, level, t, w) < 0)
				rc = VL_EINVAL;
			else
				rc = export_file(log, outdir, rel, made);
		}
	}
	char path[PATH_CAP];
	if (rc == 0 && (rc = join(path, outdir, "checkpoint")) == 0)
		rc = write_file(io, path, log->cp_note, strlen(log->cp_note));
	pthread_mutex_unlock(&log->checkpoint_mu);
	if (rc < 0)
		return rc;
	/* Check what was written, as a reader of OUTDIR will. */
	vl_verify_options vo = {log->verifier, NULL, 0, NULL, NULL};
	vl_verify_report *rep = calloc(1, sizeof *rep);
	if (!rep)
		return VL_ENOMEM;
	rc = vl_verify_tree(vl_fetch_dir, (void *)outdir, &vo, rep);
	if (rc < 0)
		set_message(log, "%s: the exported tree does not verify: %s", outdir, rep->message);
	free(rep);
	return rc;
}

void vl_log_recovery(const vl_log *log, vl_recovery *out)
{
	if (log && out)
		*out = log->recovery;
}

const char *vl_log_origin(const vl_log *log) { return log->origin; }

const char *vl_log_vkey(const vl_log *log) { return log->vkey; }

const char *vl_log_message(const vl_log *log) { return log ? log->message : open_message; }

int vl_log_close(vl_log *log)
{
	if (!log)
		return 0;
	int rc = log->poisoned ? log->poison_rc : 0;
	if (rc == 0 && !log->tree_broken)
		rc = write_pending(log);
	/* A clean close leaves no preallocated zeros behind. */
	if (rc == 0 && log->wal_fd >= 0)
		rc = trim_wal(log);
	log_free(log);
	return rc;
}
