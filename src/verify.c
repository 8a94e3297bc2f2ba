/*
 * verify.c — whole-tree verification: vl_fetch_dir, vl_verify_tree and
 * vl_verify_log_dir.  It owns the single streaming pass that recomputes a
 * static c2sp.org/tlog-tiles tree from its entry bundles and holds every
 * stored hash tile, the signed root and an optional older checkpoint
 * against what was recomputed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Nothing in the tree is trusted except through the caller's key: the
 * checkpoint is verified with opt->vkey, and every other byte is checked
 * only by recomputing it from the entries.  The pass reads bundle 0, 1, ...
 * in order; each entry's leaf hash goes into the level-0 tile being
 * rebuilt.  A rebuilt tile is compared with the stored one as soon as it is
 * complete, and its root becomes the next hash of the tile one level up, so
 * at any time at most one tile per level (8 levels cover 2^64 leaves) and
 * one bundle are held: memory is O(log n) whatever the size of the log.
 * The tiles being rebuilt also determine the root so far (levels_root), so
 * the pass keeps no separate frontier, which would hash every node twice.
 *
 * A tile one level up is compared only after the lower tile it summarises
 * matched the entries, so a mismatch at level L > 0 convicts the level-L
 * file itself.  At level 0 either the hash tile or the bundle may have been
 * altered, and the message names both.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "note.h"
#include "tiles.h"
#include "vellum.h"
#include "vellum_io.h"
#include "wal.h"

/* The largest valid entry bundle: 256 entries of 65535 bytes, each behind
 * its two length bytes. */
#define BUNDLE_BYTES_MAX ((size_t)VL_TILE_WIDTH * (VL_ENTRY_MAX + 2))
#define TILE_BYTES_MAX ((size_t)VL_TILE_WIDTH * VL_HASH_SIZE)

/*
 * vl_fetch_dir's cap is documented as 16 MiB, but a full bundle of maximal
 * entries is 256 bytes more than that; refusing it would make a log that
 * vellum itself wrote unverifiable, so the cap is that bundle's size.
 */
#define FETCH_DIR_MAX BUNDLE_BYTES_MAX
_Static_assert(FETCH_DIR_MAX >= ((size_t)16 << 20), "vl_fetch_dir reads at least 16 MiB");

/* Hash tile levels 0..7: a level-8 hash would root 2^64 leaves. */
#define LEVELS 8
#define PROGRESS_EVERY 65536u
#define B64_HASH 45 /* base64 of 32 bytes, with NUL */

/* ------------------------------------------------------------------ */
/* vl_fetch_dir                                                        */

/* Only relative paths that stay below the directory: a fetcher for a
 * tree served from disk must not become a way to read any file. */
static int path_is_safe(const char *path)
{
	if (path[0] == '\0' || path[0] == '/')
		return 0;
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t seg = slash ? (size_t)(slash - p) : strlen(p);
		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (!slash)
			return 1;
		p = slash + 1;
	}
}

/*
 * Read PATH below DIR into *buf, which holds *cap bytes and is replaced by a
 * larger one if the file needs it, so that a caller reading many files can
 * reuse one buffer.  On failure *buf stays the caller's to free.
 */
static int read_dir_file(const char *dir, const char *path, uint8_t **buf, size_t *cap,
                         size_t *len)
{
	const vl_io *io = vl_io_posix();
	char full[PATH_MAX];
	uint64_t size = 0;
	size_t got = 0;
	int fd = -1;
	int rc;

	*len = 0;
	if (!dir || !path || !path_is_safe(path))
		return VL_EINVAL;
	int n = snprintf(full, sizeof full, "%s/%s", dir, path);
	if (n < 0 || (size_t)n >= sizeof full)
		return -ENAMETOOLONG;

	fd = io->open(io->ctx, full, VL_O_RDONLY, 0);
	if (fd < 0) {
		/* ENOTDIR: a path component is a file, so this file cannot exist. */
		rc = (fd == -ENOENT || fd == -ENOTDIR) ? VL_ENOTFOUND : fd;
		goto fail;
	}
	rc = io->file_size(io->ctx, fd, &size);
	if (rc < 0)
		goto fail;
	if (size > FETCH_DIR_MAX) {
		rc = VL_ETOOBIG;
		goto fail;
	}
	size_t need = size ? (size_t)size : 1;
	if (*cap < need) {
		free(*buf);
		*cap = 0;
		*buf = malloc(need);
		if (!*buf) {
			rc = VL_ENOMEM;
			goto fail;
		}
		*cap = need;
	}
	while (got < size) {
		ssize_t r = io->pread(io->ctx, fd, *buf + got, (size_t)size - got, got);
		if (r < 0) {
			rc = (int)r;
			goto fail;
		}
		/* A file that shrank under us is returned as it now is; the
		 * verifier's length checks judge it. */
		if (r == 0)
			break;
		got += (size_t)r;
	}
	io->close(io->ctx, fd);
	*len = got;
	return 0;

fail:
	if (fd >= 0)
		io->close(io->ctx, fd);
	return rc;
}

int vl_fetch_dir(void *ctx, const char *path, uint8_t **data, size_t *len)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	if (!data || !len)
		return VL_EINVAL;
	*data = NULL;
	*len = 0;
	int rc = read_dir_file(ctx, path, &buf, &cap, len);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*data = buf;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The streaming pass                                                  */

/* Called for every entry of the tree, in index order, after its leaf hash
 * was computed; a non-zero return (with report->message set) stops the
 * pass.  vl_verify_log_dir uses it to compare the WAL in the same pass. */
typedef int (*entry_hook)(void *ctx, vl_verify_report *report, uint64_t index,
                          const uint8_t *entry, size_t len, const char *bundle_path);

typedef struct level_acc {
	uint64_t tile;      /* number of the tile being rebuilt */
	unsigned count;     /* hashes rebuilt so far */
	uint8_t hashes[VL_TILE_WIDTH][VL_HASH_SIZE];
} level_acc;

/* Where the tree's files come from, and the size of the verified
 * checkpoint, which the messages about missing files quote.  DIR is set
 * when FETCH is vl_fetch_dir, whose files can then be read into a buffer
 * that is reused. */
typedef struct source {
	vl_fetch_fn fetch;
	void *fetch_ctx;
	const char *dir;
	uint64_t size;
} source;

typedef struct walk {
	source src;
	const vl_verify_options *opt;
	vl_verify_report *report;
	int have_since;
	vl_checkpoint since;
	uint64_t leaves;             /* entries hashed so far */
	level_acc levels[LEVELS];
	char bundle_path[VL_TILE_PATH_MAX];  /* the bundle being streamed */
	entry_hook hook;
	void *hook_ctx;
} walk;

static int failf(vl_verify_report *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int failf(vl_verify_report *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
	return code;
}

static void b64_hash(const uint8_t h[VL_HASH_SIZE], char out[B64_HASH])
{
	vl_base64_encode(h, VL_HASH_SIZE, out);
}

static void tile_path(char buf[VL_TILE_PATH_MAX], int level, uint64_t n, unsigned width)
{
	if (vl_tile_path(buf, VL_TILE_PATH_MAX, level, n, width) < 0)
		snprintf(buf, VL_TILE_PATH_MAX, "tile/%d/#%" PRIu64, level, n);
}

/*
 * Fetch the file of tile (level, n) for a tile of WIDTH hashes or entries.
 * A partial tile that is absent may have been superseded by its full tile
 * (c2sp.org/tlog-tiles lets a log drop partials once the full one exists),
 * whose first WIDTH hashes are the same; *file_width says which was read.
 * PATH receives the name of the file read, or of the missing partial.
 * With CAP (and src->dir), *data is a buffer of *cap bytes to reuse, which
 * stays the caller's on failure too; else *data is allocated on success.
 */
static int src_fetch(const source *src, const char *path, uint8_t **data, size_t *cap,
                     size_t *len)
{
	if (cap)
		return read_dir_file(src->dir, path, data, cap, len);
	return src->fetch(src->fetch_ctx, path, data, len);
}

static int fetch_tile(const source *src, vl_verify_report *r, int level, uint64_t n,
                      unsigned width, size_t max, char path[VL_TILE_PATH_MAX],
                      unsigned *file_width, uint8_t **data, size_t *cap, size_t *len)
{
	char full[VL_TILE_PATH_MAX];
	const char *read_path = path;
	int rc;

	if (!cap)
		*data = NULL;
	*len = 0;
	*file_width = width;
	tile_path(path, level, n, width);
	rc = src_fetch(src, path, data, cap, len);
	if (rc == VL_ENOTFOUND && width < VL_TILE_WIDTH) {
		tile_path(full, level, n, VL_TILE_WIDTH);
		int rc2 = src_fetch(src, full, data, cap, len);
		if (rc2 != VL_ENOTFOUND) {
			rc = rc2;
			read_path = full;
			*file_width = VL_TILE_WIDTH;
		}
	}
	/* A fetcher's contract is 0 or a negative code, with data on 0; a
	 * positive code or missing data must not pass for success. */
	if (rc > 0 || (rc == 0 && !*data && *len > 0))
		rc = VL_EINVAL;
	if (rc == 0 && *len > max)
		rc = VL_ETOOBIG;
	if (rc == 0) {
		if (read_path != path)
			memcpy(path, full, VL_TILE_PATH_MAX);
		return 0;
	}

	uint64_t span = (uint64_t)1 << (level > 0 ? 8 * level : 0);
	uint64_t first = n * VL_TILE_WIDTH * span;
	uint64_t last = first + (uint64_t)width * span - 1;
	if (rc == VL_ENOTFOUND) {
		failf(r, VL_ENOTFOUND,
		      "%s is missing: the tree of size %" PRIu64 " needs it for entries %" PRIu64
		      " to %" PRIu64,
		      path, src->size, first, last);
	} else if (rc == VL_ETOOBIG) {
		rc = VL_ECORRUPT;
		failf(r, rc,
		      "%s: larger than the %zu bytes a %s may have: the file is corrupt",
		      read_path, max, level == VL_TILE_ENTRIES ? "bundle" : "hash tile");
	} else {
		failf(r, rc, "%s: cannot be read (%s)", read_path, vl_strerror(rc));
	}
	if (!cap) {
		free(*data);
		*data = NULL;
	}
	*len = 0;
	return rc;
}

/* Compare the rebuilt tile of LEVEL (its first acc->count hashes) with the
 * stored one. */
static int check_tile(walk *w, unsigned level)
{
	vl_verify_report *r = w->report;
	level_acc *a = &w->levels[level];
	char path[VL_TILE_PATH_MAX];
	char lower[VL_TILE_PATH_MAX];
	unsigned file_width;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	rc = fetch_tile(&w->src, r, (int)level, a->tile, a->count, TILE_BYTES_MAX, path,
	                &file_width, &data, NULL, &len);
	if (rc < 0)
		goto fail;
	if (len != (size_t)file_width * VL_HASH_SIZE) {
		rc = failf(r, VL_ECORRUPT,
		           "%s: %zu bytes where a tile of %u hashes has %u: the tile was "
		           "truncated or extended",
		           path, len, file_width, file_width * VL_HASH_SIZE);
		goto fail;
	}
	for (unsigned k = 0; k < a->count; k++) {
		if (memcmp(data + (size_t)k * VL_HASH_SIZE, a->hashes[k], VL_HASH_SIZE) == 0)
			continue;
		uint64_t node = a->tile * VL_TILE_WIDTH + k;
		if (level == 0) {
			rc = failf(r, VL_ECORRUPT,
			           "%s: hash %u (entry %" PRIu64 ") differs from the hash of entry %" PRIu64
			           " in %s: one of the two files was modified after the log "
			           "wrote it",
			           path, k, node, node, w->bundle_path);
		} else {
			uint64_t span = (uint64_t)1 << (8 * level);
			tile_path(lower, (int)level - 1, node, VL_TILE_WIDTH);
			rc = failf(r, VL_ECORRUPT,
			           "%s: hash %u (entries %" PRIu64 " to %" PRIu64
			           ") differs from the root of %s, which matches the entries: "
			           "%s was modified after the log wrote it",
			           path, k, node * span, node * span + span - 1, lower, path);
		}
		goto fail;
	}
	r->tiles_checked++;
	free(data);
	return 0;

fail:
	free(data);
	return rc;
}

/* Add a leaf hash to the level-0 tile being rebuilt; a completed tile is
 * checked against the stored one and its root carried one level up, like a
 * carry in addition. */
static int push_hash(walk *w, const uint8_t leaf[VL_HASH_SIZE])
{
	uint8_t h[VL_HASH_SIZE];
	memcpy(h, leaf, VL_HASH_SIZE);
	w->leaves++;
	for (unsigned level = 0; level < LEVELS; level++) {
		level_acc *a = &w->levels[level];
		memcpy(a->hashes[a->count++], h, VL_HASH_SIZE);
		if (a->count < VL_TILE_WIDTH)
			return 0;
		int rc = check_tile(w, level);
		if (rc < 0)
			return rc;
		vl_merkle_root_of_leaves((const uint8_t(*)[VL_HASH_SIZE])a->hashes, VL_TILE_WIDTH, h);
		a->count = 0;
		a->tile++;
	}
	return 0;
}

static int fork_failure(walk *w, const uint8_t root[VL_HASH_SIZE])
{
	char got[B64_HASH], want[B64_HASH];
	b64_hash(root, got);
	b64_hash(w->since.root, want);
	return failf(w->report, VL_EINCONSISTENT,
	             "since checkpoint: the first %" PRIu64 " entries of this tree have root %s "
	             "but the older checkpoint signed %s: the log was forked at size %" PRIu64,
	             w->since.size, got, want, w->since.size);
}

/*
 * Root of the first w->leaves entries, plus EXTRA if not NULL, from the
 * tiles being rebuilt.  Level L holds the roots of the complete subtrees of
 * 256^L leaves that no complete tile above summarises yet; the perfect
 * subtrees among each level's hashes, from the top level down, are the
 * perfect subtrees of the whole tree, largest first: a frontier.
 */
static void levels_root(const walk *w, const uint8_t *extra, uint8_t out[VL_HASH_SIZE])
{
	vl_frontier f, part;

	vl_frontier_init(&f);
	for (unsigned level = LEVELS; level-- > 0;) {
		const level_acc *a = &w->levels[level];
		if (a->count == 0)
			continue;
		vl_frontier_init(&part);
		for (unsigned k = 0; k < a->count; k++)
			vl_frontier_append(&part, a->hashes[k]);
		memcpy(f.hashes[f.n_hashes], part.hashes, (size_t)part.n_hashes * VL_HASH_SIZE);
		f.n_hashes += part.n_hashes;
	}
	f.size = w->leaves;
	if (extra)
		vl_frontier_append(&f, extra);
	vl_frontier_root(&f, out);
}

/* PENDING: the leaf just hashed, which is not in a tile yet, or NULL. */
static int check_since(walk *w, const uint8_t *pending)
{
	uint8_t root[VL_HASH_SIZE];
	levels_root(w, pending, root);
	if (memcmp(root, w->since.root, VL_HASH_SIZE) != 0)
		return fork_failure(w, root);
	return 0;
}

static void progress(walk *w)
{
	if (w->opt->progress)
		w->opt->progress(w->opt->progress_arg, w->report->entries_checked, w->src.size);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/*
 * Fetch bundle N, which holds WIDTH entries of this tree, into *data and
 * check its structure strictly (a bundle either parses exactly or is
 * corrupt), so that whoever walks its entries afterwards needs no checks.
 * PATH receives the name of the file read; *data and CAP are as for
 * fetch_tile.
 */
static int load_bundle(const source *src, vl_verify_report *r, uint64_t n, unsigned width,
                       char path[VL_TILE_PATH_MAX], uint8_t **data, size_t *cap, size_t *len)
{
	const uint64_t base = n * VL_TILE_WIDTH;
	unsigned file_width;
	size_t off = 0;
	int rc;

	rc = fetch_tile(src, r, VL_TILE_ENTRIES, n, width, BUNDLE_BYTES_MAX, path, &file_width,
	                data, cap, len);
	if (rc < 0)
		return rc;
	const uint8_t *d = *data;
	const size_t size = *len;

	for (unsigned k = 0; k < file_width; k++) {
		if (size - off < 2) {
			rc = failf(r, VL_ECORRUPT,
			           "%s: ends at byte %zu, inside the length of entry %" PRIu64
			           " (entry %u of the bundle): it holds %u of its %u entries, so it "
			           "was truncated or a length was altered",
			           path, size, base + k, k, k, file_width);
			goto fail;
		}
		size_t l = get16(d + off);
		if (l == 0) {
			rc = failf(r, VL_ECORRUPT,
			           "%s: entry %" PRIu64 " at byte %zu has length 0, but entries are "
			           "1 to %u bytes: the bundle is corrupt",
			           path, base + k, off, VL_ENTRY_MAX);
			goto fail;
		}
		if (size - off - 2 < l) {
			rc = failf(r, VL_ECORRUPT,
			           "%s: entry %" PRIu64 " at byte %zu claims %zu bytes but only %zu "
			           "remain: the bundle was truncated or a length was altered",
			           path, base + k, off, l, size - off - 2);
			goto fail;
		}
		off += 2 + l;
	}
	if (off != size) {
		rc = failf(r, VL_ECORRUPT,
		           "%s: %zu bytes follow entry %" PRIu64 ", the last of its %u entries: the "
		           "bundle was extended or a length was altered",
		           path, size - off, base + file_width - 1, file_width);
		goto fail;
	}
	return 0;

fail:
	if (!cap) {
		free(*data);
		*data = NULL;
	}
	*len = 0;
	return rc;
}

/* Hash one entry and hold the root so far against the since checkpoint
 * when the tree reaches that size.  The rest of the entry's checks
 * (the hook, then the level-0 tile) follow in the caller. */
static int since_entry(walk *w, const uint8_t leaf[VL_HASH_SIZE])
{
	if (w->have_since && w->leaves + 1 == w->since.size)
		return check_since(w, leaf);
	return 0;
}

static int hash_entry(walk *w, const uint8_t *e, size_t l, uint8_t leaf[VL_HASH_SIZE])
{
	vl_leaf_hash(e, l, leaf);
	return since_entry(w, leaf);
}

/* The last check of an entry: its leaf joins the level-0 tile. */
static int finish_entry(walk *w, const uint8_t leaf[VL_HASH_SIZE])
{
	int rc = push_hash(w, leaf);
	if (rc < 0)
		return rc;
	w->report->entries_checked++;
	if (w->report->entries_checked % PROGRESS_EVERY == 0)
		progress(w);
	return 0;
}

/* Stream bundle N, which holds WIDTH entries of this tree: feed every entry
 * to the root so far, the hook and the level-0 tile. */
static int check_bundle(walk *w, uint64_t n, unsigned width)
{
	vl_verify_report *r = w->report;
	const uint64_t base = n * VL_TILE_WIDTH;
	uint8_t *data = NULL;
	size_t len = 0, off = 0;
	int rc;

	rc = load_bundle(&w->src, r, n, width, w->bundle_path, &data, NULL, &len);
	if (rc < 0)
		return rc;
	for (unsigned k = 0; k < width; k++) {
		uint8_t leaf[VL_HASH_SIZE];
		size_t l = get16(data + off);
		const uint8_t *e = data + off + 2;
		off += 2 + l;

		rc = hash_entry(w, e, l, leaf);
		if (rc < 0)
			goto fail;
		if (w->hook) {
			rc = w->hook(w->hook_ctx, r, base + k, e, l, w->bundle_path);
			if (rc < 0)
				goto fail;
		}
		rc = finish_entry(w, leaf);
		if (rc < 0)
			goto fail;
	}
	r->tiles_checked++;
	free(data);
	return 0;

fail:
	free(data);
	return rc;
}

/* Fetch and verify a signed checkpoint note with the trusted key only. */
static int read_checkpoint(walk *w, vl_checkpoint *cp)
{
	vl_verify_report *r = w->report;
	const char *key = vl_verifier_name(w->opt->vkey);
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	rc = w->src.fetch(w->src.fetch_ctx, "checkpoint", &data, &len);
	if (rc > 0)
		rc = VL_EINVAL;
	if (rc == VL_ENOTFOUND) {
		rc = failf(r, rc,
		           "checkpoint is missing: without a signed checkpoint the tree cannot be "
		           "verified");
		goto fail;
	}
	if (rc == VL_ETOOBIG || (rc == 0 && len > VL_NOTE_MAX)) {
		rc = failf(r, VL_EFORMAT,
		           "checkpoint: larger than the %u bytes a signed note may have: it is not "
		           "a checkpoint",
		           VL_NOTE_MAX);
		goto fail;
	}
	if (rc < 0) {
		rc = failf(r, rc, "checkpoint: cannot be read (%s)", vl_strerror(rc));
		goto fail;
	}
	if (!data) {
		rc = failf(r, VL_EFORMAT, "checkpoint: empty file: it is not a signed checkpoint");
		goto fail;
	}
	rc = vl_checkpoint_verify((const char *)data, len, w->opt->vkey, cp);
	if (rc == VL_ESIGNATURE) {
		rc = failf(r, rc,
		           "checkpoint: no valid signature by the trusted key %s for origin %s: it "
		           "was signed by another key or altered after signing",
		           key, key);
		goto fail;
	}
	if (rc < 0) {
		rc = failf(r, rc,
		           "checkpoint: not a well-formed checkpoint of origin %s signed by the "
		           "trusted key (%s)",
		           key, vl_strerror(rc));
		goto fail;
	}
	free(data);
	return 0;

fail:
	free(data);
	return rc;
}

static int read_since(walk *w, const vl_checkpoint *cp)
{
	vl_verify_report *r = w->report;
	const vl_verify_options *opt = w->opt;
	size_t len = opt->since_len ? opt->since_len : strlen(opt->since_note);
	int rc;

	rc = vl_checkpoint_verify(opt->since_note, len, opt->vkey, &w->since);
	if (rc < 0)
		return failf(r, rc,
		             "since checkpoint: %s with the trusted key %s: it cannot vouch for an "
		             "earlier state of this log",
		             rc == VL_ESIGNATURE ? "no valid signature" : "malformed or not signed",
		             vl_verifier_name(opt->vkey));
	if (strcmp(w->since.origin, cp->origin) != 0)
		return failf(r, VL_EINCONSISTENT,
		             "since checkpoint: origin %s differs from the checkpoint's %s: it is "
		             "from another log",
		             w->since.origin, cp->origin);
	if (w->since.size > cp->size)
		return failf(r, VL_EINCONSISTENT,
		             "checkpoint: size %" PRIu64 " is smaller than the since checkpoint's %" PRIu64
		             ": the log was rolled back from %" PRIu64 " to %" PRIu64 " entries",
		             cp->size, w->since.size, w->since.size, cp->size);
	w->have_since = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The pass on two threads                                             */

/*
 * Reading a bundle and holding its entries against the hook (the WAL) costs
 * about as much as hashing them, so with a fetcher that may be called from
 * two threads at once the pass runs as a pipeline: a reader thread fetches
 * each bundle, checks its structure and runs the hook on its entries, and
 * the calling thread hashes the bundles it queued, in order, into the
 * tiles.  The queue holds at most QUEUE_DEPTH bundles, so memory stays
 * O(log n).  The progress callback is called by the calling thread only,
 * as in the sequential pass.  vl_verify_tree's fetcher is the caller's, and
 * need not be safe to call from two threads, so it keeps to the caller's.
 *
 * The first failure of the sequential pass is still the one reported.  Its
 * order of checks is: a bundle's structure, then per entry the since
 * checkpoint, the hook and the tile the entry completes.  The reader stops
 * at its first failure and queues what precedes it: the bundles before a
 * bad bundle, or the entries before the one the hook rejected (whose since
 * check still precedes the hook's).  Whatever the hasher finds in what was
 * queued therefore comes first, and the reader's failure stands only if
 * the hasher gets through all of it.  A failing hasher cancels the reader,
 * which stops at its next bundle.
 */
#define QUEUE_DEPTH 8
/* A thread that found the queue empty (the hasher) or full (the reader)
 * sleeps until it is half full or half empty, rather than being woken for
 * every bundle: that would cost a context switch or two per bundle. */
#define QUEUE_RESUME (QUEUE_DEPTH / 2)

/* A slot of the queue.  Each keeps its buffer from one bundle to the next:
 * a bundle freed by one thread and allocated by the other would have the
 * allocator hand its pages back and fault them in again for every one. */
typedef struct loaded {
	uint8_t *data;      /* the bundle, its structure already checked */
	size_t cap;         /* bytes allocated at data */
	unsigned width;     /* entries of this tree in the bundle */
	unsigned passed;    /* entries the hook accepted: width unless it failed */
	char path[VL_TILE_PATH_MAX];
	uint8_t leaves[VL_TILE_WIDTH][VL_HASH_SIZE];  /* those READER_LEAF hashed */
} loaded;

/* Hashing is the larger share of the work, so the reader also hashes the
 * leaves of 3 entries in 8, which about evens out the two threads. */
#define READER_LEAF(k) (((k) & 7) < 3)

/*
 * The slots from head on, count of them, are queued for the hasher, which
 * works on the one at head before it releases it; the reader fills the slot
 * after the last queued one before it queues it.  So each thread touches a
 * slot's contents only while the other cannot, and only head and count are
 * shared.
 */
typedef struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t nonempty;
	pthread_cond_t nonfull;
	loaded q[QUEUE_DEPTH];
	unsigned head, count;
	int done;     /* the reader queues nothing more */
	int cancel;   /* the hasher failed: the reader stops */

	/* The reader's own; the hasher reads rc and report after the join. */
	source src;
	entry_hook hook;
	void *hook_ctx;
	uint64_t bundles;
	int rc;
	vl_verify_report report;  /* the reader's messages, kept apart from the hasher's */
} pipeline;

/* The free slot to fill next, or NULL if the hasher failed. */
static loaded *reader_slot(pipeline *p)
{
	loaded *b = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->count == QUEUE_DEPTH)
		while (p->count > QUEUE_RESUME && !p->cancel)
			pthread_cond_wait(&p->nonfull, &p->mu);
	if (!p->cancel)
		b = &p->q[(p->head + p->count) % QUEUE_DEPTH];
	pthread_mutex_unlock(&p->mu);
	return b;
}

static void reader_queue(pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	p->count++;
	if (p->count >= QUEUE_RESUME)
		pthread_cond_signal(&p->nonempty);
	pthread_mutex_unlock(&p->mu);
}

static void *reader_main(void *arg)
{
	pipeline *p = arg;

	for (uint64_t n = 0; n < p->bundles; n++) {
		loaded *b = reader_slot(p);
		size_t len = 0, off = 0;
		int rc;

		if (!b)
			break;
		b->width = vl_tile_width(0, n, p->src.size);
		b->passed = 0;
		/* Only vl_fetch_dir's files can be read into the slot's buffer;
		 * another fetcher allocates each file. */
		size_t *cap = p->src.dir ? &b->cap : NULL;
		if (!cap) {
			free(b->data);
			b->data = NULL;
		}
		rc = load_bundle(&p->src, &p->report, n, b->width, b->path, &b->data, cap, &len);
		if (rc < 0) {
			p->rc = rc;
			break;
		}
		for (; b->passed < b->width; b->passed++) {
			size_t l = get16(b->data + off);
			rc = p->hook(p->hook_ctx, &p->report, n * VL_TILE_WIDTH + b->passed,
			             b->data + off + 2, l, b->path);
			if (rc < 0) {
				p->rc = rc;
				break;
			}
			if (READER_LEAF(b->passed))
				vl_leaf_hash(b->data + off + 2, l, b->leaves[b->passed]);
			off += 2 + l;
		}
		reader_queue(p);
		if (p->rc < 0)
			break;
	}
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_cond_signal(&p->nonempty);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The next queued slot, or NULL once the reader queues nothing more. */
static const loaded *hasher_slot(pipeline *p)
{
	const loaded *b = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->count == 0)
		while (p->count < QUEUE_RESUME && !p->done)
			pthread_cond_wait(&p->nonempty, &p->mu);
	if (p->count > 0)
		b = &p->q[p->head];
	pthread_mutex_unlock(&p->mu);
	return b;
}

static void hasher_release(pipeline *p, int failed)
{
	pthread_mutex_lock(&p->mu);
	p->head = (p->head + 1) % QUEUE_DEPTH;
	p->count--;
	if (failed)
		p->cancel = 1;
	if (failed || p->count <= QUEUE_RESUME)
		pthread_cond_signal(&p->nonfull);
	pthread_mutex_unlock(&p->mu);
}

/* The hasher's share of a queued bundle: what check_bundle does besides
 * fetching it and running the hook. */
static int hash_loaded(walk *w, const loaded *b)
{
	size_t off = 0;

	memcpy(w->bundle_path, b->path, sizeof w->bundle_path);
	for (unsigned k = 0; k < b->width; k++) {
		uint8_t leaf[VL_HASH_SIZE];
		size_t l = get16(b->data + off);
		int rc = 0;
		if (READER_LEAF(k) && k < b->passed)
			rc = since_entry(w, b->leaves[k]);
		else
			rc = hash_entry(w, b->data + off + 2, l, leaf);
		if (rc < 0)
			return rc;
		/* The hook rejected this entry: its tile comes after that. */
		if (k == b->passed)
			return 0;
		rc = finish_entry(w, READER_LEAF(k) ? b->leaves[k] : leaf);
		if (rc < 0)
			return rc;
		off += 2 + l;
	}
	w->report->tiles_checked++;
	return 0;
}

/*
 * Stream bundles 0 to BUNDLES - 1 through the pipeline.  Returns 1 if no
 * thread could be started, and the caller streams them itself; else 0 or
 * the first failure.  The reader thread is always joined before return.
 */
static int walk_bundles_threaded(walk *w, uint64_t bundles)
{
	pipeline *p = calloc(1, sizeof *p);
	pthread_t reader;
	const loaded *b;
	int rc = 0;

	if (!p)
		return 1;
	p->src = w->src;
	if (w->src.fetch == vl_fetch_dir)
		p->src.dir = w->src.fetch_ctx;
	p->hook = w->hook;
	p->hook_ctx = w->hook_ctx;
	p->bundles = bundles;
	p->report.checkpoint = w->report->checkpoint;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return 1;
	}
	if (pthread_cond_init(&p->nonempty, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return 1;
	}
	if (pthread_cond_init(&p->nonfull, NULL) != 0) {
		pthread_cond_destroy(&p->nonempty);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return 1;
	}
	if (pthread_create(&reader, NULL, reader_main, p) != 0) {
		rc = 1;
		goto out;
	}

	while ((b = hasher_slot(p)) != NULL) {
		rc = hash_loaded(w, b);
		hasher_release(p, rc < 0);
		if (rc < 0)
			break;
	}
	pthread_join(reader, NULL);
	if (rc == 0 && p->rc < 0) {
		rc = p->rc;
		memcpy(w->report->message, p->report.message, sizeof w->report->message);
	}

out:
	for (unsigned i = 0; i < QUEUE_DEPTH; i++)
		free(p->q[i].data);
	pthread_cond_destroy(&p->nonfull);
	pthread_cond_destroy(&p->nonempty);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}

/* THREADED: FETCH and the hook may be called from another thread than the
 * caller's, concurrently with FETCH in the caller's. */
static int verify_walk(vl_fetch_fn fetch, void *fetch_ctx, const vl_verify_options *opt,
                       vl_verify_report *report, entry_hook hook, void *hook_ctx,
                       int threaded)
{
	walk *w = NULL;
	vl_checkpoint cp;
	uint8_t root[VL_HASH_SIZE];
	int rc;

	if (!fetch || !opt || !opt->vkey) {
		rc = failf(report, VL_EINVAL,
		           "verification needs a fetch function and the verifier key to trust");
		goto fail;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		rc = failf(report, VL_ENOMEM, "out of memory for the verifier's state");
		goto fail;
	}
	w->src.fetch = fetch;
	w->src.fetch_ctx = fetch_ctx;
	w->opt = opt;
	w->report = report;
	w->hook = hook;
	w->hook_ctx = hook_ctx;

	rc = read_checkpoint(w, &cp);
	if (rc < 0)
		goto fail;
	report->checkpoint = cp;
	w->src.size = cp.size;
	if (opt->since_note) {
		rc = read_since(w, &cp);
		if (rc < 0)
			goto fail;
		if (w->since.size == 0) {
			rc = check_since(w, NULL);
			if (rc < 0)
				goto fail;
		}
	}

	uint64_t bundles = cp.size / VL_TILE_WIDTH + (cp.size % VL_TILE_WIDTH != 0);
	rc = threaded && bundles > 0 ? walk_bundles_threaded(w, bundles) : 1;
	if (rc < 0)
		goto fail;
	for (uint64_t n = 0; rc == 1 && n < bundles; n++) {
		int brc = check_bundle(w, n, vl_tile_width(0, n, cp.size));
		if (brc < 0) {
			rc = brc;
			goto fail;
		}
	}
	/* What is left at each level is that level's partial tile. */
	for (unsigned level = 0; level < LEVELS; level++) {
		if (w->levels[level].count == 0)
			continue;
		rc = check_tile(w, level);
		if (rc < 0)
			goto fail;
	}

	levels_root(w, NULL, root);
	if (memcmp(root, cp.root, VL_HASH_SIZE) != 0) {
		char got[B64_HASH], want[B64_HASH];
		b64_hash(root, got);
		b64_hash(cp.root, want);
		rc = failf(report, VL_ECORRUPT,
		           "checkpoint: the %" PRIu64 " entries in the bundles have root %s but the "
		           "checkpoint signed %s: the tree is not the one that was signed",
		           cp.size, got, want);
		goto fail;
	}
	if (report->entries_checked % PROGRESS_EVERY != 0 || cp.size == 0)
		progress(w);
	free(w);
	return 0;

fail:
	free(w);
	return rc;
}

int vl_verify_tree(vl_fetch_fn fetch, void *fetch_ctx, const vl_verify_options *opt,
                   vl_verify_report *report)
{
	vl_verify_report scratch;
	if (!report)
		report = &scratch;
	memset(report, 0, sizeof *report);
	return verify_walk(fetch, fetch_ctx, opt, report, NULL, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* vl_verify_log_dir: the tree and the WAL in one pass                 */

typedef struct wal_check {
	const vl_io *io;
	const char *dir;
	vl_wal_iter *it;
	uint64_t next;       /* index the next WAL entry must have */
} wal_check;

static int wal_open(wal_check *wc, vl_verify_report *r)
{
	if (wc->it)
		return 0;
	int rc = vl_wal_iter_open(wc->io, wc->dir, 0, &wc->it);
	if (rc < 0) {
		const char *why = wc->it ? vl_wal_iter_message(wc->it) : "";
		if (why[0])
			failf(r, rc, "%s: the WAL cannot be read from its start", why);
		else
			failf(r, rc, "wal: cannot be opened (%s)", vl_strerror(rc));
		vl_wal_iter_close(wc->it);
		wc->it = NULL;
	}
	return rc;
}

struct segment_find {
	uint64_t index;
	uint64_t best;
	int found;
};

static int segment_find_cb(void *arg, const char *name)
{
	struct segment_find *sf = arg;
	uint64_t v = 0;
	if (strlen(name) != VL_WAL_NAME_DIGITS)
		return 0;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v <= sf->index && (!sf->found || v > sf->best)) {
		sf->best = v;
		sf->found = 1;
	}
	return 0;
}

/* Name of the WAL segment holding INDEX, for a message; looked up only
 * when something is wrong, so the pass itself keeps no segment list. */
static void wal_segment_name(const wal_check *wc, uint64_t index, char *buf, size_t cap)
{
	struct segment_find sf = {.index = index};
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s/wal", wc->dir);
	if (n > 0 && (size_t)n < sizeof dir &&
	    wc->io->list_dir(wc->io->ctx, dir, segment_find_cb, &sf) == 0 && sf.found)
		snprintf(buf, cap, "wal/%020" PRIu64, sf.best);
	else
		snprintf(buf, cap, "wal");
}

static int wal_hook(void *ctx, vl_verify_report *r, uint64_t index, const uint8_t *entry,
                    size_t len, const char *bundle_path)
{
	wal_check *wc = ctx;
	const uint8_t *we;
	uint64_t wi;
	size_t wl;
	int rc;

	rc = wal_open(wc, r);
	if (rc < 0)
		return rc;
	rc = vl_wal_iter_next(wc->it, &wi, &we, &wl);
	if (rc == 0)
		return failf(r, VL_ECORRUPT,
		             "wal: ends after %" PRIu64 " entries but the checkpoint covers %" PRIu64
		             ": the WAL was truncated or a segment was deleted",
		             index, r->checkpoint.size);
	if (rc < 0)
		return failf(r, rc,
		             "%s: entry %" PRIu64 ", which the checkpoint covers, cannot be read "
		             "back from the WAL",
		             vl_wal_iter_message(wc->it), index);
	if (wi != index)
		return failf(r, VL_ECORRUPT,
		             "wal: holds entry %" PRIu64 " where entry %" PRIu64 " belongs: its "
		             "indexes are not dense",
		             wi, index);
	wc->next = index + 1;
	if (wl == len && memcmp(we, entry, len) == 0)
		return 0;

	char seg[64];
	size_t at = 0;
	while (at < wl && at < len && we[at] == entry[at])
		at++;
	wal_segment_name(wc, index, seg, sizeof seg);
	return failf(r, VL_ECORRUPT,
	             "entry %" PRIu64 " in %s differs from %s: %zu bytes in the WAL, %zu in the "
	             "bundle, first difference at byte %zu; the log was modified after it was "
	             "written",
	             index, seg, bundle_path, wl, len, at);
}

/* The WAL beyond the checkpoint: durable entries not yet signed, which
 * only need to be intact.  A bad last commit of the newest segment was
 * never acknowledged (a torn write) and is no failure. */
static int wal_rest(wal_check *wc, vl_verify_report *r)
{
	const uint8_t *we;
	uint64_t wi;
	size_t wl;
	int rc;

	rc = wal_open(wc, r);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = vl_wal_iter_next(wc->it, &wi, &we, &wl);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			/* Every entry the checkpoint covers was read already, so a
			 * bad tail here holds only entries beyond it. */
			if (rc == VL_ECORRUPT && vl_wal_iter_at_tail(wc->it))
				return 0;
			return failf(r, rc,
			             "%s: entry %" PRIu64 " and later, written after the checkpoint, "
			             "cannot be read back from the WAL",
			             vl_wal_iter_message(wc->it), wc->next);
		}
		if (wi != wc->next)
			return failf(r, VL_ECORRUPT,
			             "wal: holds entry %" PRIu64 " where entry %" PRIu64 " belongs: "
			             "its indexes are not dense",
			             wi, wc->next);
		wc->next++;
		r->entries_checked++;
	}
}

/*
 * The one call of the library that starts a thread without being asked for
 * one: a whole-log verification is a batch job, and the reader thread of the
 * pipeline above lets it use a second core.  The thread is joined before
 * the call returns, and the progress callback is still called from the
 * caller's thread only.  If it cannot be started the pass runs on the
 * caller's thread alone, with the same result.
 */
int vl_verify_log_dir(const char *dir, const vl_verify_options *opt, vl_verify_report *report)
{
	vl_verify_report scratch;
	wal_check wc = {.io = vl_io_posix(), .dir = dir};
	int rc;

	if (!report)
		report = &scratch;
	memset(report, 0, sizeof *report);
	if (!dir) {
		rc = failf(report, VL_EINVAL, "verification needs the log directory");
		goto fail;
	}
	rc = verify_walk(vl_fetch_dir, (void *)dir, opt, report, wal_hook, &wc, 1);
	if (rc < 0)
		goto fail;
	rc = wal_rest(&wc, report);
	if (rc < 0)
		goto fail;
	vl_wal_iter_close(wc.it);
	return 0;

fail:
	vl_wal_iter_close(wc.it);
	return rc;
}
