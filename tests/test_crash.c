/*
 * test_crash.c — seeded crash simulation of the log engine through its
 * public API: random workloads on the storage-fault simulator with I/O
 * errors and power losses, then recovery, checked against a model of what
 * was acknowledged; and bit flips in the durable image, which must be
 * reported.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Usage: test_crash [--seed S] [--seeds N] [--first S] [--verbose] [--trace]
 *                   [--read-flips]
 * Runs seeds FIRST .. FIRST+N-1 (N from VL_CRASH_SEEDS, else 2000; FIRST
 * 0), or only S.  Each seed is one test in the cmocka-style summary; a
 * failure prints what broke, the simulator's last operations and the
 * command that replays it; --trace prints every simulated I/O call.
 * --read-flips adds transient bit flips on reads to the fault plans: the
 * engine must not take a flip for a torn write and cut acknowledged data.
 *
 * What is checked, after every reopen:
 *  1. every acknowledged entry (append returned 0) is at its index and
 *     byte-identical;
 *  2. no hole, no duplicate: every index below the size is readable, and an
 *     unacknowledged entry may be present only where a failed append tried
 *     to put it, with the content it tried;
 *  3. nothing is acknowledged (append or checkpoint) once the handle has
 *     seen a write, sync or rename fail, until it is reopened — closed and
 *     opened, or revived in place with vl_log_reopen;
 *  4. at the end, after a checkpoint, the log passes vl_verify_log_dir;
 *  5. a flipped bit in an acknowledged WAL frame other than the newest, in
 *     a tile or bundle of the checkpoint's tree, or in the checkpoint is
 *     reported by vl_log_open or vl_verify_log_dir, and open never drops
 *     acknowledged entries silently because of it.
 * Opening after a crash may fail only while the simulator injects faults;
 * without them it must succeed (nothing but power loss happened).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_sim.h"
#include "vellum.h"
#include "vellum_io.h"

/* A fixed key, so that a seed replays byte for byte (signatures included). */
static const char SKEY[] =
	"PRIVATE+KEY+crash.test/log+6f46cf4f+AaxEMxXsyGw+9a53t80gVXH/ATnymkoOb2EB53Fyvi24";
static const char VKEY[] = "crash.test/log+6f46cf4f+Affwru0Ip6X89Bt26z6A41Rqlom/nL80rgOzFYG9jXcC";

#define WAL_SEGMENT_HEADER 32
#define WAL_FRAME_HEADER 32
#define TILE_WIDTH 256

static vl_signer *signer;
static vl_verifier *verifier;
static char workdir[256];
static char keyfile[300];
static char exportdir[300];
static int verbose;
static int trace;
static int read_flips;

/* ------------------------------------------------------------------ */
/* The workload's own PRNG (the simulator has its own streams).        */

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return n ? rnd_next(s) % n : 0;
}

/* ------------------------------------------------------------------ */
/* The model of what the log may hold.                                 */

struct cand {
	const uint8_t *data;
	size_t len;
};

/* Index i: the acknowledged content (acked, one candidate), or the
 * contents failed appends tried to put there. */
struct slot {
	int acked;
	size_t n, cap;
	struct cand *c;
};

struct run {
	uint64_t seed;
	uint64_t r;
	vl_sim *sim;
	vl_log_options opt;
	const char *dir;
	vl_log *log;

	struct slot *slots;
	size_t nslots;
	uint64_t acked;      /* one past the highest acknowledged index */
	uint64_t mark;       /* simulator write failures when the handle opened */
	uint64_t cp_size;    /* size of the last checkpoint that succeeded */

	uint8_t **blocks;    /* entry storage */
	size_t nblocks, capblocks;

	char why[8192];
	int failed;
	/* statistics */
	uint64_t n_appends, n_acked_entries, n_crashes, n_failed_appends, n_reopens;
	uint64_t n_revived;
	uint64_t n_tamper_open, n_tamper_verify;
};

static struct {
	uint64_t appends, acked_entries, crashes, failed_appends, reopens, revived;
	uint64_t tamper_open, tamper_verify;
} totals;

static int fail(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct run *run, const char *fmt, ...)
{
	if (run->failed)
		return -1;
	run->failed = 1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(run->why, sizeof(run->why), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(run->why)) {
		size_t w = (size_t)n;
		w += (size_t)snprintf(run->why + w, sizeof(run->why) - w,
		                      "\n  last I/O operations:\n");
		if (w < sizeof(run->why))
			vl_sim_oplog(run->sim, run->why + w, sizeof(run->why) - w);
	}
	return -1;
}

static void *keep(struct run *run, size_t len)
{
	if (run->nblocks == run->capblocks) {
		size_t cap = run->capblocks ? run->capblocks * 2 : 64;
		uint8_t **b = realloc(run->blocks, cap * sizeof(*b));
		if (!b)
			abort();
		run->blocks = b;
		run->capblocks = cap;
	}
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		abort();
	run->blocks[run->nblocks++] = p;
	return p;
}

static struct slot *slot_at(struct run *run, uint64_t i)
{
	if (i >= run->nslots) {
		size_t n = run->nslots ? run->nslots : 256;
		while (n <= i)
			n *= 2;
		struct slot *s = realloc(run->slots, n * sizeof(*s));
		if (!s)
			abort();
		memset(s + run->nslots, 0, (n - run->nslots) * sizeof(*s));
		run->slots = s;
		run->nslots = n;
	}
	return &run->slots[i];
}

static void slot_add(struct slot *s, const uint8_t *data, size_t len)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->c[k].len == len && memcmp(s->c[k].data, data, len) == 0)
			return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 2;
		struct cand *c = realloc(s->c, cap * sizeof(*c));
		if (!c)
			abort();
		s->c = c;
		s->cap = cap;
	}
	s->c[s->n++] = (struct cand){ data, len };
}

static void run_free(struct run *run)
{
	for (size_t i = 0; i < run->nslots; i++)
		free(run->slots[i].c);
	free(run->slots);
	for (size_t i = 0; i < run->nblocks; i++)
		free(run->blocks[i]);
	free(run->blocks);
	vl_sim_free(run->sim);
}

/* ------------------------------------------------------------------ */
/* Handle management.                                                  */

static uint64_t sim_failures(struct run *run)
{
	uint64_t n = 0;
	for (int op = 0; op < VL_SIM_NOPS; op++)
		n += vl_sim_failures(run->sim, (vl_sim_op)op);
	return n;
}

/* Close the handle; descriptors must all be released. */
static int close_log(struct run *run)
{
	if (!run->log)
		return 0;
	(void)vl_log_close(run->log);
	run->log = NULL;
	size_t open = vl_sim_open_fds(run->sim);
	if (open)
		return fail(run, "vl_log_close left %zu descriptors open", open);
	return 0;
}

/* Power loss while the process runs: the handle dies with the machine. */
static int crash(struct run *run)
{
	if (!vl_sim_powered_off(run->sim))
		vl_sim_crash_at(run->sim, 1);
	int rc = close_log(run);
	vl_sim_crash(run->sim);
	run->n_crashes++;
	return rc;
}

/* A random fault plan for the next stretch of work. */
static void random_faults(struct run *run)
{
	uint64_t *r = &run->r;
	vl_sim_faults f = { 0 };
	switch (rnd(r, 7)) {
	case 0:
		break;
	case 1:
		f.write_eio = 0.002 * (double)(1 + rnd(r, 20));
		f.write_enospc = 0.002 * (double)rnd(r, 5);
		f.write_short = 0.05;
		f.sync_eio = 0.002 * (double)(1 + rnd(r, 20));
		f.rename_eio = 0.01 * (double)rnd(r, 3);
		f.fsync_dir_eio = 0.01 * (double)rnd(r, 3);
		f.open_eio = 0.005 * (double)rnd(r, 3);
		f.read_eio = 0.002 * (double)rnd(r, 3);
		break;
	case 2: {
		static const vl_sim_op ops[] = { VL_SIM_PWRITE,   VL_SIM_FDATASYNC, VL_SIM_FSYNC_DIR,
			                         VL_SIM_RENAME,   VL_SIM_SYNC_ALL,  VL_SIM_OPEN,
			                         VL_SIM_FTRUNCATE, VL_SIM_MKDIR,    VL_SIM_UNLINK };
		f.op = ops[rnd(r, sizeof(ops) / sizeof(ops[0]))];
		f.nth = 1 + rnd(r, 30);
		f.err = f.op == VL_SIM_PWRITE && rnd(r, 2) ? ENOSPC : EIO;
		f.persist = (int)rnd(r, 2);
		break;
	}
	case 3:
		f.write_short = 0.3;
		break;
	case 4:
		f.write_enospc = 0.02;
		f.write_short = 0.1;
		break;
	default:
		vl_sim_crash_at(run->sim, 1 + rnd(r, 250));
		if (rnd(r, 2)) {
			f.write_eio = 0.01;
			f.sync_eio = 0.01;
		}
	}
	if (read_flips && f.nth == 0)
		f.read_flip = 0.002 * (double)rnd(r, 10);
	vl_sim_set_faults(run->sim, &f);
}

static int check(struct run *run, int full);

/*
 * Open the log after a crash or a close.  Faults may make it fail, and
 * then it is retried (after a crash if power was lost); without faults it
 * must succeed.
 */
static int reopen(struct run *run, int faults)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		if (attempt == 7 || !faults) {
			vl_sim_set_faults(run->sim, NULL);
			vl_sim_crash_at(run->sim, 0);
		} else if (attempt > 0 || rnd(&run->r, 3) == 0)
			random_faults(run);
		uint64_t before = sim_failures(run);
		uint64_t wbefore = vl_sim_write_failures(run->sim);
		int rc = vl_log_open(run->dir, &run->opt, &run->log);
		run->n_reopens++;
		if (rc == 0 && vl_sim_powered_off(run->sim)) {
			/* Power went during open's last calls (a close, say): the
			 * open itself worked, but the machine is down.  Crash and
			 * go round again. */
			vl_log_close(run->log);
			run->log = NULL;
			vl_sim_crash(run->sim);
			run->n_crashes++;
			continue;
		}
		if (rc == 0) {
			run->mark = wbefore;
			if (verbose) {
				vl_recovery rec;
				vl_log_recovery(run->log, &rec);
				if (rec.dropped_frames || rec.replayed_entries)
					printf("  seed %" PRIu64 ": reopened, size %" PRIu64
					       ", dropped %" PRIu64 " frames (%" PRIu64
					       " bytes), replayed %" PRIu64 "\n",
					       run->seed, vl_log_size(run->log), rec.dropped_frames,
					       rec.dropped_bytes, rec.replayed_entries);
			}
			vl_sim_set_faults(run->sim, NULL);
			vl_sim_crash_at(run->sim, 0);
			return check(run, 1);
		}
		run->log = NULL;
		if (vl_sim_open_fds(run->sim))
			return fail(run, "vl_log_open failed (%s) and left %zu descriptors open",
			            vl_strerror(rc), vl_sim_open_fds(run->sim));
		int powered_off = vl_sim_powered_off(run->sim);
		if (sim_failures(run) == before && !powered_off)
			return fail(run, "vl_log_open failed without an injected fault: %s: %s",
			            vl_strerror(rc), vl_open_message());
		if (powered_off) {
			vl_sim_crash(run->sim);
			run->n_crashes++;
		}
	}
	return fail(run, "vl_log_open kept failing");
}

/*
 * A failed handle brought back in place (vl_log_reopen), as a server does
 * once the storage works again.  Faults may make it fail, and then it is
 * retried; the last attempts run without faults and must succeed.  Power
 * lost meanwhile ends it like any crash.
 */
static int revive(struct run *run)
{
	for (int attempt = 0; attempt < 6; attempt++) {
		if (attempt >= 4) {
			vl_sim_set_faults(run->sim, NULL);
			vl_sim_crash_at(run->sim, 0);
		} else if (attempt > 0) {
			random_faults(run);
		}
		uint64_t before = sim_failures(run);
		uint64_t wbefore = vl_sim_write_failures(run->sim);
		int rc = vl_log_reopen(run->log);
		if (vl_sim_powered_off(run->sim)) {
			if (crash(run))
				return -1;
			return reopen(run, 1);
		}
		if (rc == 0) {
			run->mark = wbefore;
			run->n_revived++;
			vl_sim_set_faults(run->sim, NULL);
			vl_sim_crash_at(run->sim, 0);
			return check(run, 1);
		}
		if (sim_failures(run) == before)
			return fail(run, "vl_log_reopen failed without an injected fault: %s: %s",
			            vl_strerror(rc), vl_log_message(run->log));
	}
	return fail(run, "vl_log_reopen kept failing without faults");
}

/* ------------------------------------------------------------------ */
/* Checking the log against the model.                                 */

static uint8_t getbuf[VL_ENTRY_MAX];

/* Does entry i's content agree with the model? */
static int match(struct run *run, uint64_t i, const uint8_t *data, size_t len, const char *src)
{
	if (i >= run->nslots || run->slots[i].n == 0)
		return fail(run, "entry %" PRIu64 " (%zu bytes, %s) is present but no append ever "
		            "tried to write it",
		            i, len, src);
	const struct slot *s = &run->slots[i];
	for (size_t k = 0; k < s->n; k++)
		if (s->c[k].len == len && memcmp(s->c[k].data, data, len) == 0)
			return 0;
	if (s->acked)
		return fail(run, "acknowledged entry %" PRIu64 " differs (%s): %zu bytes read, %zu "
		            "acknowledged", i, src, len, s->c[0].len);
	return fail(run, "unacknowledged entry %" PRIu64 " (%zu bytes, %s) matches none of the "
	            "%zu contents appends tried to put there", i, len, src, s->n);
}

static int check_index(struct run *run, uint64_t i)
{
	size_t len = 0;
	int rc = vl_log_get(run->log, i, getbuf, sizeof(getbuf), &len);
	/* An injected I/O error on a read is reported, as it should be; the
	 * data is still there, so read again without the fault plan (an
	 * exact fault may persist for every later call). */
	if (rc < 0 && rc > -4096) {
		vl_sim_set_faults(run->sim, NULL);
		rc = vl_log_get(run->log, i, getbuf, sizeof(getbuf), &len);
	}
	if (rc != 0)
		return fail(run, "vl_log_get(%" PRIu64 ") of a log of %" PRIu64
		            " entries failed: %s: %s",
		            i, vl_log_size(run->log), vl_strerror(rc), vl_log_message(run->log));
	return match(run, i, getbuf, len, "vl_log_get");
}

static void tile_name(char *buf, size_t cap, const char *level, uint64_t n, unsigned width);

/*
 * Every entry of full bundle b, read as the engine would read it.  Reading
 * each of its 256 entries through vl_log_get would reread the whole bundle
 * every time; a sample goes through vl_log_get as well.
 */
static int check_bundle(struct run *run, uint64_t b)
{
	char rel[128], path[700];
	tile_name(rel, sizeof(rel), "entries", b, TILE_WIDTH);
	snprintf(path, sizeof(path), "%s/%s", run->dir, rel);
	uint8_t *d;
	size_t len;
	int rc = vl_sim_read_file(run->sim, path, VL_SIM_CACHED, &d, &len);
	if (rc)
		return fail(run, "%s: cannot read: %s", path, strerror(-rc));
	size_t off = 0;
	for (unsigned k = 0; rc == 0 && k < TILE_WIDTH; k++) {
		size_t l = off + 2 <= len ? (size_t)d[off] << 8 | d[off + 1] : 0;
		if (l == 0 || off + 2 + l > len) {
			rc = fail(run, "%s: malformed at entry %u", path, k);
			break;
		}
		rc = match(run, b * TILE_WIDTH + k, d + off + 2, l, rel);
		off += 2 + l;
	}
	if (rc == 0 && off != len)
		rc = fail(run, "%s: %zu trailing bytes", path, len - off);
	free(d);
	for (int k = 0; rc == 0 && k < 2; k++)
		rc = check_index(run, b * TILE_WIDTH + rnd(&run->r, TILE_WIDTH));
	return rc;
}

/* Rules 1 and 2.  A partial check reads the newest entries and a sample. */
static int check(struct run *run, int full)
{
	uint64_t size = vl_log_size(run->log);
	if (size < run->acked)
		return fail(run, "acknowledged entries lost: the log has %" PRIu64
		            " entries, %" PRIu64 " were acknowledged", size, run->acked);
	if (full) {
		uint64_t sealed = size / TILE_WIDTH;
		for (uint64_t b = 0; b < sealed; b++)
			if (check_bundle(run, b))
				return -1;
		for (uint64_t i = sealed * TILE_WIDTH; i < size; i++)
			if (check_index(run, i))
				return -1;
		return 0;
	}
	uint64_t from = size > 32 ? size - 32 : 0;
	for (uint64_t i = from; i < size; i++)
		if (check_index(run, i))
			return -1;
	for (int k = 0; k < 8 && from > 0; k++)
		if (check_index(run, rnd(&run->r, from)))
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Workload steps.                                                     */

static size_t entry_len(uint64_t *r)
{
	switch (rnd(r, 400)) {
	case 0:
		return VL_ENTRY_MAX;
	case 1:
	case 2:
	case 3:
	case 4:
		return 1;
	default:
		/* Mostly short, like audit events; up to 4000 bytes. */
		return 1 + (size_t)rnd(r, rnd(r, 4) ? 300 : 4000);
	}
}

/* Append one batch.  Returns 1 if it failed (the handle needs attention),
 * 0 if acknowledged, -1 on a test failure. */
static int step_append(struct run *run)
{
	uint64_t *r = &run->r;
	size_t n = 1 + (size_t)rnd(r, rnd(r, 4) ? 20 : 50);
	vl_entry entries[50];
	for (size_t i = 0; i < n; i++) {
		size_t len = entry_len(r);
		uint8_t *p = keep(run, len);
		for (size_t k = 0; k < len; k += 8) {
			uint64_t v = rnd_next(r);
			memcpy(p + k, &v, len - k < 8 ? len - k : 8);
		}
		entries[i] = (vl_entry){ p, len };
	}
	uint64_t base = vl_log_size(run->log);
	uint64_t wbefore = vl_sim_write_failures(run->sim);
	uint64_t fbefore = sim_failures(run);
	int powered_off = vl_sim_powered_off(run->sim);
	uint64_t first = UINT64_MAX;
	int rc = vl_log_append(run->log, entries, n, &first);
	run->n_appends++;
	if (rc == 0) {
		if (wbefore > run->mark)
			return fail(run, "append of %zu entries acknowledged after the handle saw %" PRIu64
			            " failed write/sync/rename call(s)", n, wbefore - run->mark);
		if (powered_off)
			return fail(run, "append acknowledged while the power was off");
		if (first != base)
			return fail(run, "append acknowledged at index %" PRIu64 ", the log had %" PRIu64
			            " entries", first, base);
		if (base < run->acked)
			return fail(run, "append reused index %" PRIu64 " below the %" PRIu64
			            " acknowledged entries", base, run->acked);
		for (size_t i = 0; i < n; i++) {
			struct slot *s = slot_at(run, base + i);
			s->acked = 1;
			s->n = 0;
			slot_add(s, entries[i].data, entries[i].len);
		}
		run->acked = base + n;
		run->n_acked_entries += n;
		return 0;
	}
	run->n_failed_appends++;
	if (rc == VL_EPOISONED)
		return 1; /* nothing was attempted */
	if (sim_failures(run) == fbefore && !vl_sim_powered_off(run->sim))
		return fail(run, "append failed without an injected fault: %s: %s", vl_strerror(rc),
		            vl_log_message(run->log));
	for (size_t i = 0; i < n; i++)
		slot_add(slot_at(run, base + i), entries[i].data, entries[i].len);
	return 1;
}

static int step_checkpoint(struct run *run, int must_succeed)
{
	uint64_t wbefore = vl_sim_write_failures(run->sim);
	uint64_t fbefore = sim_failures(run);
	uint64_t size = vl_log_size(run->log);
	int rc = vl_log_checkpoint(run->log, NULL);
	if (rc == 0) {
		if (wbefore > run->mark)
			return fail(run, "checkpoint succeeded after the handle saw %" PRIu64
			            " failed write/sync/rename call(s)", wbefore - run->mark);
		run->cp_size = size;
		return 0;
	}
	if (must_succeed || (rc != VL_EPOISONED && sim_failures(run) == fbefore &&
	                     !vl_sim_powered_off(run->sim)))
		return fail(run, "checkpoint failed%s: %s: %s",
		            must_succeed ? "" : " without an injected fault", vl_strerror(rc),
		            vl_log_message(run->log));
	return 1;
}

/* ------------------------------------------------------------------ */
/* Verification through the real file system.                          */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	(void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc && errno != EEXIST)
			return -1;
	}
	return 0;
}

struct export {
	struct run *run;
	size_t skip;
	int err;
};

static int export_cb(void *arg, const char *path)
{
	struct export *e = arg;
	char out[4096];
	if (snprintf(out, sizeof(out), "%s/%s", exportdir, path + e->skip) >= (int)sizeof(out))
		return -ENAMETOOLONG;
	uint8_t *data;
	size_t len;
	int rc = vl_sim_read_file(e->run->sim, path, VL_SIM_CACHED, &data, &len);
	if (rc)
		return rc;
	FILE *f = NULL;
	if (mkdirs(out) == 0)
		f = fopen(out, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len))
		rc = -EIO;
	if (f && fclose(f))
		rc = -EIO;
	free(data);
	return rc;
}

/* Copy the log as readers see it into exportdir and verify it there. */
static int verify_dir(struct run *run, vl_verify_report *report)
{
	rm_rf(exportdir);
	if (mkdir(exportdir, 0700))
		return fail(run, "mkdir %s: %s", exportdir, strerror(errno));
	struct export e = { run, strlen(run->dir) + 1, 0 };
	int rc = vl_sim_list_files(run->sim, run->dir, VL_SIM_CACHED, export_cb, &e);
	if (rc)
		return fail(run, "cannot export the log: %s", strerror(-rc));
	vl_verify_options vo = { .vkey = verifier };
	rc = vl_verify_log_dir(exportdir, &vo, report);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Tampering.                                                          */

struct target {
	char path[1024];
	uint64_t off, len; /* the byte range whose bits may be flipped */
	char what[128];
};

struct targets {
	struct target *t;
	size_t n, cap;
};

static void target_add(struct targets *ts, const char *path, uint64_t off, uint64_t len,
                       const char *what)
{
	if (len == 0)
		return;
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 32;
		struct target *t = realloc(ts->t, cap * sizeof(*t));
		if (!t)
			abort();
		ts->t = t;
		ts->cap = cap;
	}
	struct target *t = &ts->t[ts->n++];
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->off = off;
	t->len = len;
	snprintf(t->what, sizeof(t->what), "%s", what);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct walfiles {
	char names[256][32];
	size_t n;
};

static int wal_cb(void *arg, const char *name)
{
	struct walfiles *w = arg;
	if (w->n < 256 && strlen(name) < sizeof(w->names[0]))
		snprintf(w->names[w->n++], sizeof(w->names[0]), "%s", name);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Every acknowledged frame of the WAL except the newest. */
static void wal_targets(struct run *run, struct targets *ts)
{
	const vl_io *io = vl_sim_io(run->sim);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/wal", run->dir);
	struct walfiles w = { .n = 0 };
	if (io->list_dir(io->ctx, dir, wal_cb, &w) != 0)
		return;
	qsort(w.names, w.n, sizeof(w.names[0]), cmp_name);
	size_t before = ts->n;
	for (size_t k = 0; k < w.n; k++) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", dir, w.names[k]);
		uint8_t *d;
		size_t len;
		if (vl_sim_read_file(run->sim, path, VL_SIM_DURABLE, &d, &len) != 0)
			continue;
		for (uint64_t off = WAL_SEGMENT_HEADER; off + WAL_FRAME_HEADER <= len;) {
			const uint8_t *h = d + off;
			if (memcmp(h, "VLFR", 4) != 0)
				break;
			uint64_t p = be32(h + 4), first = be64(h + 8), count = be32(h + 16);
			if (off + WAL_FRAME_HEADER + p > len)
				break;
			if (first + count <= run->acked) {
				char what[128];
				snprintf(what, sizeof(what), "WAL frame of entries %" PRIu64 "..%" PRIu64,
				         first, first + count - 1);
				target_add(ts, path, off, WAL_FRAME_HEADER + p, what);
			}
			off += WAL_FRAME_HEADER + p;
		}
		free(d);
	}
	/* The newest frame may be cut as a torn write: leave it alone. */
	if (ts->n > before)
		ts->n--;
}

static void tile_name(char *buf, size_t cap, const char *level, uint64_t n, unsigned width)
{
	char num[64] = "";
	char groups[8][4];
	int ng = 0;
	do {
		snprintf(groups[ng++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
		n /= 1000;
	} while (n > 0);
	size_t w = 0;
	for (int g = ng - 1; g >= 0; g--)
		w += (size_t)snprintf(num + w, sizeof(num) - w, "%s%s", g ? "x" : "", groups[g]);
	if (width && width < TILE_WIDTH)
		snprintf(buf, cap, "tile/%s/%s.p/%u", level, num, width);
	else
		snprintf(buf, cap, "tile/%s/%s", level, num);
}

/* Every tile and bundle of the tree of size n. */
static void tile_targets(struct run *run, uint64_t size, struct targets *ts)
{
	for (int level = -1; level < 8; level++) {
		uint64_t m = level < 0 ? size : size >> (8 * level);
		if (m == 0)
			break;
		char lname[16];
		if (level < 0)
			snprintf(lname, sizeof(lname), "entries");
		else
			snprintf(lname, sizeof(lname), "%d", level);
		for (uint64_t t = 0; t <= m / TILE_WIDTH; t++) {
			unsigned width = t < m / TILE_WIDTH ? TILE_WIDTH : (unsigned)(m % TILE_WIDTH);
			if (width == 0)
				continue;
			char rel[128], path[700];
			tile_name(rel, sizeof(rel), lname, t, width);
			snprintf(path, sizeof(path), "%s/%s", run->dir, rel);
			uint8_t *d;
			size_t len;
			if (vl_sim_read_file(run->sim, path, VL_SIM_DURABLE, &d, &len) != 0)
				continue;
			free(d);
			target_add(ts, path, 0, len, rel);
		}
	}
}

/* Rule 5: flip one bit in durable data and require that it is reported. */
static int tamper(struct run *run)
{
	uint64_t *r = &run->r;
	struct targets ts = { 0 };
	uint64_t kind = rnd(r, 20);
	if (kind < 10)
		wal_targets(run, &ts);
	if (ts.n == 0 && kind < 17)
		tile_targets(run, run->cp_size, &ts);
	if (ts.n == 0) {
		char path[600];
		snprintf(path, sizeof(path), "%s/checkpoint", run->dir);
		uint8_t *d;
		size_t len;
		if (vl_sim_read_file(run->sim, path, VL_SIM_DURABLE, &d, &len) == 0) {
			free(d);
			target_add(&ts, path, 0, len, "checkpoint");
		}
	}
	if (ts.n == 0) {
		free(ts.t);
		return fail(run, "tamper: the log has no checkpoint file");
	}
	const struct target *t = &ts.t[rnd(r, ts.n)];
	uint64_t bit = t->off * 8 + rnd(r, t->len * 8);
	char where[1400], path[sizeof(t->path)];
	snprintf(where, sizeof(where), "bit %" PRIu64 " of byte %" PRIu64 " of %s (%s)", bit % 8,
	         bit / 8, t->path, t->what);
	memcpy(path, t->path, sizeof(path));
	free(ts.t);
	int rc = vl_sim_flip_bit(run->sim, path, bit);
	if (rc)
		return fail(run, "tamper: cannot flip %s: %s", where, strerror(-rc));

	rc = vl_log_open(run->dir, &run->opt, &run->log);
	if (rc != 0) {
		run->log = NULL;
		run->n_tamper_open++;
		if (vl_sim_open_fds(run->sim))
			return fail(run, "flipped %s: vl_log_open failed (%s) and left %zu descriptors "
			            "open", where, vl_strerror(rc), vl_sim_open_fds(run->sim));
		if (verbose)
			printf("  seed %" PRIu64 ": flipped %s: open reports %s: %s\n", run->seed, where,
			       vl_strerror(rc), vl_open_message());
		return 0;
	}
	uint64_t size = vl_log_size(run->log);
	if (close_log(run))
		return -1;
	if (size < run->acked)
		return fail(run, "flipped %s: open succeeded and silently dropped acknowledged "
		            "entries (size %" PRIu64 ", %" PRIu64 " acknowledged)",
		            where, size, run->acked);
	vl_verify_report report;
	rc = verify_dir(run, &report);
	if (run->failed)
		return -1;
	if (rc == 0)
		return fail(run, "flipped %s: neither open nor vl_verify_log_dir reported it", where);
	run->n_tamper_verify++;
	if (verbose)
		printf("  seed %" PRIu64 ": flipped %s: verify reports %s: %s\n", run->seed, where,
		       vl_strerror(rc), report.message);
	return 0;
}

/* ------------------------------------------------------------------ */
/* One seed.                                                           */

static int create(struct run *run)
{
	uint64_t *r = &run->r;
	int faulty = rnd(r, 8) == 0;
	if (faulty)
		vl_sim_crash_at(run->sim, 1 + rnd(r, 40));
	int rc = vl_log_create(run->dir, signer, &run->opt, &run->log);
	vl_sim_crash_at(run->sim, 0);
	if (rc == 0) {
		run->mark = vl_sim_write_failures(run->sim);
		if (faulty && vl_sim_powered_off(run->sim)) {
			/* Power went after create returned; the log must survive. */
			if (crash(run))
				return -1;
			return reopen(run, 1);
		}
		return 0;
	}
	run->log = NULL;
	if (!faulty)
		return fail(run, "vl_log_create failed without faults: %s: %s", vl_strerror(rc),
		            vl_open_message());
	/* A create that failed need not leave a log behind; if it left one, it
	 * must be a sound, empty one. */
	vl_sim_crash(run->sim);
	run->n_crashes++;
	rc = vl_log_open(run->dir, &run->opt, &run->log);
	if (rc == 0) {
		run->mark = vl_sim_write_failures(run->sim);
		return check(run, 1);
	}
	run->log = NULL;
	run->dir = "/sim/log2";
	rc = vl_log_create(run->dir, signer, &run->opt, &run->log);
	if (rc != 0)
		return fail(run, "vl_log_create failed without faults: %s: %s", vl_strerror(rc),
		            vl_open_message());
	run->mark = vl_sim_write_failures(run->sim);
	return 0;
}

/* A stretch of random work, with the round's faults, ending in a crash. */
static int round_of_work(struct run *run)
{
	uint64_t *r = &run->r;
	random_faults(run);
	int steps = 2 + (int)rnd(r, 12);
	for (int s = 0; s < steps; s++) {
		uint64_t what = rnd(r, 100);
		int rc;
		if (what < 78) {
			rc = step_append(run);
		} else if (what < 90) {
			rc = step_checkpoint(run, 0);
		} else {
			/* A clean restart, faults still on. */
			if (close_log(run) || reopen(run, 1))
				return -1;
			random_faults(run);
			continue;
		}
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		/* The handle failed.  Retry a little (it must refuse), then
		 * either restart cleanly or lose power. */
		if (rnd(r, 2) && step_append(run) < 0)
			return -1;
		if (vl_sim_powered_off(run->sim) || rnd(r, 3) == 0)
			break;
		if (rnd(r, 2) ? revive(run) : (close_log(run) || reopen(run, 1)))
			return -1;
		random_faults(run);
	}
	if (!vl_sim_powered_off(run->sim) && rnd(r, 3) == 0) {
		vl_sim_set_faults(run->sim, NULL);
		vl_sim_crash_at(run->sim, 0);
		if (step_checkpoint(run, 0) < 0)
			return -1;
	}
	if (crash(run))
		return -1;
	return reopen(run, 1);
}

static int run_seed(struct run *run)
{
	uint64_t *r = &run->r;
	run->sim = vl_sim_new(run->seed);
	if (!run->sim || vl_sim_mkdir_p(run->sim, "/sim") != 0)
		return fail(run, "cannot make the simulator");
	if (trace)
		vl_sim_trace(run->sim, stdout);
	static const uint64_t segs[] = { 0, 2048, 8192, 65536, 1 << 20 };
	run->opt.io = vl_sim_io(run->sim);
	run->opt.segment_bytes = segs[rnd(r, sizeof(segs) / sizeof(segs[0]))];
	run->opt.key_file = keyfile;
	run->dir = "/sim/log";
	/* Half the logs go into a directory that already exists. */
	if (rnd(r, 2) && vl_sim_mkdir_p(run->sim, run->dir) != 0)
		return fail(run, "cannot make %s", run->dir);

	if (create(run))
		return -1;
	int rounds = 1 + (int)rnd(r, 3);
	for (int i = 0; i < rounds; i++)
		if (round_of_work(run))
			return -1;

	/* Rule 4: a fault-free checkpoint, then the whole log verifies. */
	vl_sim_set_faults(run->sim, NULL);
	if (step_append(run) < 0)
		return -1;
	if (step_checkpoint(run, 1))
		return -1;
	if (check(run, 1))
		return -1;
	uint64_t size = vl_log_size(run->log);
	if (close_log(run))
		return -1;
	vl_verify_report report;
	int rc = verify_dir(run, &report);
	if (run->failed)
		return -1;
	if (rc != 0)
		return fail(run, "vl_verify_log_dir failed after a checkpoint: %s: %s",
		            vl_strerror(rc), report.message);
	if (report.checkpoint.size != size)
		return fail(run, "vl_verify_log_dir verified a checkpoint of size %" PRIu64
		            ", the log has %" PRIu64, report.checkpoint.size, size);

	/* Power loss after a clean close loses nothing; then tamper. */
	vl_sim_crash(run->sim);
	if (reopen(run, 0) || close_log(run))
		return -1;
	return tamper(run);
}

/* ------------------------------------------------------------------ */
/* Driver.                                                             */

static int setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(workdir, sizeof(workdir), "%s/vellum-crash-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(workdir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(keyfile, sizeof(keyfile), "%s/crash.key", workdir);
	snprintf(exportdir, sizeof(exportdir), "%s/tree", workdir);
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, SKEY, strlen(SKEY)) != (ssize_t)strlen(SKEY) || close(fd) != 0) {
		perror(keyfile);
		return -1;
	}
	if (vl_signer_parse(SKEY, &signer) != 0 || vl_verifier_parse(VKEY, &verifier) != 0) {
		fprintf(stderr, "crash: cannot parse the test key\n");
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	rm_rf(workdir);
	vl_signer_free(signer);
	vl_verifier_free(verifier);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: test_crash [--seed S] [--seeds N] [--first S] [--verbose] "
	        "[--trace] [--read-flips]\n");
}

int main(int argc, char **argv)
{
	uint64_t first = 0, nseeds = 2000, one = 0;
	int have_one = 0;
	const char *env = getenv("VL_CRASH_SEEDS");
	if (env && parse_u64(env, &nseeds) != 0) {
		fprintf(stderr, "crash: bad VL_CRASH_SEEDS=%s\n", env);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t *dst = NULL;
		if (!strcmp(a, "--seed")) {
			dst = &one;
			have_one = 1;
		} else if (!strcmp(a, "--seeds")) {
			dst = &nseeds;
		} else if (!strcmp(a, "--first")) {
			dst = &first;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			verbose = 1;
			continue;
		} else if (!strcmp(a, "--read-flips")) {
			read_flips = 1;
			continue;
		} else if (!strcmp(a, "--trace")) {
			verbose = trace = 1;
			continue;
		} else {
			usage();
			return 2;
		}
		if (i + 1 >= argc || parse_u64(argv[++i], dst) != 0) {
			usage();
			return 2;
		}
	}
	if (have_one) {
		first = one;
		nseeds = 1;
	}
	if (setup() != 0)
		return 2;

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t passed = 0, failed = 0;
	uint64_t failed_seeds[64];
	printf("[==========] Running %" PRIu64 " test(s).\n", nseeds);
	for (uint64_t k = 0; k < nseeds; k++) {
		static struct run zero;
		struct run *run = malloc(sizeof(*run));
		if (!run)
			abort();
		*run = zero;
		run->seed = first + k;
		run->r = run->seed ^ 0x5eed5eed5eed5eedull;
		if (verbose)
			printf("[ RUN      ] seed %" PRIu64 "\n", run->seed);
		int rc = run_seed(run);
		if (run->log)
			(void)vl_log_close(run->log);
		run->log = NULL;
		if (rc == 0 && !run->failed) {
			passed++;
			if (verbose)
				printf("[       OK ] seed %" PRIu64 "\n", run->seed);
		} else {
			if (failed < sizeof(failed_seeds) / sizeof(failed_seeds[0]))
				failed_seeds[failed] = run->seed;
			failed++;
			/* Past the first few, one line each keeps the log readable. */
			if (failed > 10 && !verbose) {
				char *nl = strchr(run->why, '\n');
				if (nl)
					*nl = '\0';
			}
			printf("crash: seed %" PRIu64 " failed: %s\n", run->seed, run->why);
			printf("  replay: test_crash --seed %" PRIu64 "\n", run->seed);
			printf("[  FAILED  ] seed %" PRIu64 "\n", run->seed);
		}
		fflush(stdout);
		totals.appends += run->n_appends;
		totals.acked_entries += run->n_acked_entries;
		totals.crashes += run->n_crashes;
		totals.failed_appends += run->n_failed_appends;
		totals.reopens += run->n_reopens;
		totals.revived += run->n_revived;
		totals.tamper_open += run->n_tamper_open;
		totals.tamper_verify += run->n_tamper_verify;
		run_free(run);
		free(run);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("crash: seeds %" PRIu64 "..%" PRIu64 " in %.1f s: %" PRIu64 " appends (%" PRIu64
	       " failed), %" PRIu64 " entries acknowledged, %" PRIu64 " crashes, %" PRIu64
	       " reopens, %" PRIu64 " failed handles revived in place; bit flips reported by open %"
	       PRIu64 ", by verify %" PRIu64 "\n",
	       first, first + nseeds - 1, secs, totals.appends, totals.failed_appends,
	       totals.acked_entries, totals.crashes, totals.reopens, totals.revived, totals.tamper_open,
	       totals.tamper_verify);
	printf("[==========] %" PRIu64 " test(s) run.\n", nseeds);
	printf("[  PASSED  ] %" PRIu64 " test(s).\n", passed);
	if (failed) {
		printf("[  FAILED  ] %" PRIu64 " test(s), listed below:\n", failed);
		for (uint64_t i = 0; i < failed && i < sizeof(failed_seeds) / sizeof(failed_seeds[0]);
		     i++)
			printf("[  FAILED  ] seed %" PRIu64 "\n", failed_seeds[i]);
		if (failed > sizeof(failed_seeds) / sizeof(failed_seeds[0]))
			printf("[  FAILED  ] ... and %" PRIu64 " more seeds\n",
			       failed - sizeof(failed_seeds) / sizeof(failed_seeds[0]));
		printf("\n %" PRIu64 " FAILED TEST(S)\n", failed);
	}
	teardown();
	return failed ? 1 : 0;
}
