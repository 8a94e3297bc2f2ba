/*
 * power_loss.c — the power-loss scenario of `vellum chaos run`: the log
 * engine (libvellum) on the storage-fault simulator (src/io_sim.c), for
 * many seeds, each a few rounds of appends, checkpoints and flushes cut
 * by a power loss at a random I/O call; the unsynced writes are kept,
 * dropped, torn or garbled as the simulator draws them, and the log is
 * reopened and checked.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each seed of the scenario is one simulator seed.  Its entries are chaos
 * events, vc_event(seed, n) for n = 0, 1, ..., so every entry names the
 * event it is and its bytes can be regenerated.  A round appends batches
 * of events (sequentially, or from PL_THREADS threads at once so that
 * group commits hold several callers' batches), with checkpoints and
 * flushes in between, until the simulated power goes at the I/O call drawn
 * for it; then the simulator resolves every write that was not synced,
 * and the log is reopened (sometimes with a second power loss during the
 * recovery itself).  After each reopen:
 *
 *  - every acknowledged event (vl_log_append returned 0) is in the log,
 *    at the index it was acknowledged at, byte for byte (lost, corrupt);
 *  - no event is in the log twice (duplicated), every entry is an event of
 *    this seed that an append tried to write (corrupt otherwise);
 *  - a lost event below one that survived is a hole;
 *  - nothing is acknowledged once the power is off, nor (sequential
 *    rounds) after the handle saw a write, sync or rename fail;
 *  - the log, copied out of the simulator as readers see it, passes
 *    vl_verify_log_dir.
 * The last round ends with a fault-free append and checkpoint, which must
 * succeed, and a verification that must cover the whole log.
 *
 * Sequential seeds replay exactly from their seed; threaded ones (one in
 * four) replay their crash point and fault draws, but the interleaving of
 * the threads' calls is the scheduler's.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "util.h"
#include "io_sim.h"
#include "run.h"
#include "scenarios.h"
#include "vellum.h"

#define PL_NONE UINT64_MAX
#define PL_THREADS 4
#define PL_BATCH_MAX 8
#define PL_ROUNDS_MAX 3
#define PL_LOGDIR "/sim/log"
/* Quick mode: seeds to run.  Otherwise PL_SEEDS_PER_S per second of
 * --duration.  The run also stops at twice its time budget, and says so. */
#define PL_SEEDS_QUICK 120
#define PL_SEEDS_PER_S 12
#define PL_BUDGET_QUICK_S 10.0

static int write_secret(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	int rc = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 ? 0 : -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The whole scenario's counts.                                         */

typedef struct pl_totals {
	uint64_t seeds, threaded_seeds, failed_seeds, rounds, crashes, open_crashes;
	uint64_t appends, failed_appends, checkpoints;
	uint64_t acked, lost, corrupt, duplicated, holes, acks_after_error;
	uint64_t unacked_present;   /* events of failed appends found in the log */
	uint64_t dropped_frames, dropped_bytes, replayed, verified;
} pl_totals;

/* ------------------------------------------------------------------ */
/* One seed.                                                            */

typedef struct pl_seed {
	uint64_t seed;          /* the simulator's, and the events' */
	vc_rng rng;             /* the seed's choices (not the threads') */
	vl_sim *sim;
	vl_log_options opt;
	vl_log *log;
	const vl_signer *signer;
	const vl_verifier *verifier;
	const char *exportdir;  /* a real directory to verify copies in */
	int threaded;
	int sabotage;           /* tests only: storage that forgets synced data */

	pthread_mutex_t mu;     /* the fields below, in threaded rounds */
	uint64_t next_event;    /* events 0..next_event-1 were tried */
	uint64_t *acked_at;     /* per event: its acknowledged index, or PL_NONE */
	size_t cap;
	uint64_t mark;          /* write failures when the handle was opened */
	uint64_t appends, failed_appends, checkpoints, acks_after_error;
	char problem[640];      /* the first problem, or "" */

	/* per check */
	uint64_t *seen;         /* per event: 1 + its index in the log, or 0 */
	uint64_t scanned;
	uint64_t corrupt, duplicated, unacked_present;
} pl_seed;

static void problem(pl_seed *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(pl_seed *s, const char *fmt, ...)
{
	if (s->problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->problem, sizeof s->problem, fmt, ap);
	va_end(ap);
}

/* Reserves N new events; returns the first.  Called with mu held. */
static uint64_t reserve_events(pl_seed *s, size_t n)
{
	uint64_t first = s->next_event;
	if (first + n > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < first + n)
			cap *= 2;
		uint64_t *a = realloc(s->acked_at, cap * sizeof *a);
		if (!a)
			abort();
		for (size_t i = s->cap; i < cap; i++)
			a[i] = PL_NONE;
		s->acked_at = a;
		s->cap = cap;
	}
	s->next_event += n;
	return first;
}

/*
 * Appends a batch of 1..PL_BATCH_MAX events (N of them) and records what
 * was acknowledged.  SEQUENTIAL: no other thread appends, so the handle's
 * write failures and its size are exact.  0 if acknowledged, 1 if the
 * append failed.
 */
static int append_batch(pl_seed *s, size_t n, int sequential)
{
	char bufs[PL_BATCH_MAX][VC_EVENT_MAX];
	vl_entry e[PL_BATCH_MAX];
	pthread_mutex_lock(&s->mu);
	uint64_t ev = reserve_events(s, n);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < n; i++) {
		e[i].len = vc_event(s->seed, ev + i, bufs[i]);
		e[i].data = bufs[i];
	}
	int powered_off = vl_sim_powered_off(s->sim);
	uint64_t wbefore = vl_sim_write_failures(s->sim);
	uint64_t size = sequential ? vl_log_size(s->log) : 0;
	uint64_t first = PL_NONE;
	int rc = vl_log_append(s->log, e, n, &first);
	pthread_mutex_lock(&s->mu);
	s->appends++;
	if (rc == 0) {
		if (powered_off || (sequential && wbefore > s->mark)) {
			s->acks_after_error += n;
			problem(s, "events %" PRIu64 "..%" PRIu64 " acknowledged %s", ev,
			        ev + n - 1,
			        powered_off ? "after the power was lost"
			                    : "after the handle saw a write, sync or rename fail");
		}
		if (sequential && first != size)
			problem(s, "events %" PRIu64 "..%" PRIu64 " acknowledged at index %" PRIu64
			        " of a log of %" PRIu64 " entries", ev, ev + n - 1, first, size);
		for (size_t i = 0; i < n; i++)
			s->acked_at[ev + i] = first + i;
	} else {
		s->failed_appends++;
	}
	pthread_mutex_unlock(&s->mu);
	return rc == 0 ? 0 : 1;
}

static void checkpoint(pl_seed *s, int sequential)
{
	uint64_t wbefore = vl_sim_write_failures(s->sim);
	int powered_off = vl_sim_powered_off(s->sim);
	int rc = vl_log_checkpoint(s->log, NULL);
	pthread_mutex_lock(&s->mu);
	if (rc == 0) {
		s->checkpoints++;
		if (powered_off || (sequential && wbefore > s->mark))
			problem(s, "a checkpoint succeeded %s",
			        powered_off ? "after the power was lost"
			                    : "after the handle saw a write, sync or rename fail");
	}
	pthread_mutex_unlock(&s->mu);
}

/* The crash's fault plan: how unsynced writes and directory operations are
 * resolved.  No other faults: this scenario is about power loss. */
static void crash_plan(pl_seed *s)
{
	vl_sim_faults f = {0};
	do {
		f.crash_keep = (unsigned)vc_rng_below(&s->rng, 5);
		f.crash_drop = (unsigned)vc_rng_below(&s->rng, 5);
		f.crash_torn = (unsigned)vc_rng_below(&s->rng, 5);
		f.crash_garble = (unsigned)vc_rng_below(&s->rng, 3);
	} while (f.crash_keep + f.crash_drop + f.crash_torn + f.crash_garble == 0);
	switch (vc_rng_below(&s->rng, 4)) {
	case 0:
		f.crash_dirops = VL_SIM_DIROPS_ALL;
		break;
	case 1:
		f.crash_dirops = VL_SIM_DIROPS_NONE;
		break;
	default:
		f.crash_dirops = VL_SIM_DIROPS_PREFIX;
	}
	vl_sim_set_faults(s->sim, &f);
}

/* Power loss now (if it has not happened yet): the handle dies with the
 * machine, then the simulator resolves what was not synced. */
static void power_loss(pl_seed *s, pl_totals *t)
{
	if (!vl_sim_powered_off(s->sim))
		vl_sim_crash_at(s->sim, 1);
	if (s->log)
		(void)vl_log_close(s->log);
	s->log = NULL;
	vl_sim_crash(s->sim);
	t->crashes++;
}

/* ------------------------------------------------------------------ */
/* Rounds.                                                              */

static void round_sequential(pl_seed *s)
{
	int steps = 4 + (int)vc_rng_below(&s->rng, 40);
	vl_sim_crash_at(s->sim, 1 + vc_rng_below(&s->rng, 3 * (uint64_t)steps + 20));
	for (int k = 0; k < steps && !vl_sim_powered_off(s->sim); k++) {
		uint64_t what = vc_rng_below(&s->rng, 100);
		if (what < 80) {
			size_t n = 1 + (size_t)vc_rng_below(&s->rng, PL_BATCH_MAX);
			if (append_batch(s, n, 1)) {
				/* The handle must now refuse; ask it once more. */
				if (vc_rng_below(&s->rng, 2))
					append_batch(s, 1, 1);
				break;
			}
		} else if (what < 90) {
			checkpoint(s, 1);
		} else {
			if (vl_log_flush(s->log) != 0 && !vl_sim_powered_off(s->sim))
				problem(s, "a flush failed with the power on: %s",
				        vl_log_message(s->log));
		}
	}
}

typedef struct pl_thread {
	pl_seed *s;
	vc_rng rng;
	int batches;
	int checkpoints;   /* this thread also signs checkpoints now and then */
} pl_thread;

static void *thread_main(void *arg)
{
	pl_thread *th = arg;
	for (int k = 0; k < th->batches; k++) {
		size_t n = 1 + (size_t)vc_rng_below(&th->rng, PL_BATCH_MAX);
		if (append_batch(th->s, n, 0))
			break;
		if (th->checkpoints && vc_rng_below(&th->rng, 6) == 0)
			checkpoint(th->s, 0);
	}
	return NULL;
}

static void round_threaded(pl_seed *s, int round)
{
	pl_thread th[PL_THREADS];
	pthread_t tid[PL_THREADS];
	uint64_t batches = 0;
	for (int i = 0; i < PL_THREADS; i++) {
		char name[32];
		snprintf(name, sizeof name, "thread-%d-%d", round, i);
		vc_rng_seed(&th[i].rng, vc_rng_derive(s->seed, name));
		th[i].s = s;
		th[i].batches = 2 + (int)vc_rng_below(&s->rng, 12);
		th[i].checkpoints = i == 0;
		batches += (uint64_t)th[i].batches;
	}
	vl_sim_crash_at(s->sim, 1 + vc_rng_below(&s->rng, 2 * batches + 20));
	int started = 0;
	for (; started < PL_THREADS; started++)
		if (pthread_create(&tid[started], NULL, thread_main, &th[started]) != 0)
			break;
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (started == 0)
		thread_main(&th[0]);
}

/* ------------------------------------------------------------------ */
/* Checks.                                                              */

static int scan_cb(void *ctx, uint64_t index, const uint8_t *entry, size_t len)
{
	pl_seed *s = ctx;
	char want[VC_EVENT_MAX];
	uint64_t seed, n;
	s->scanned = index + 1;
	if (!vc_event_parse((const char *)entry, len, &seed, &n) || seed != s->seed ||
	    n >= s->next_event) {
		s->corrupt++;
		problem(s, "entry %" PRIu64 " (%zu bytes) is no event an append of this seed tried "
		        "to write", index, len);
		return 0;
	}
	size_t wl = vc_event(seed, n, want);
	if (wl != len || memcmp(want, entry, len) != 0) {
		s->corrupt++;
		problem(s, "entry %" PRIu64 " claims to be event %" PRIu64 " but its bytes differ",
		        index, n);
		return 0;
	}
	if (s->seen[n]) {
		s->duplicated++;
		problem(s, "event %" PRIu64 " is in the log twice: at %" PRIu64 " and %" PRIu64, n,
		        s->seen[n] - 1, index);
		return 0;
	}
	s->seen[n] = index + 1;
	if (s->acked_at[n] == PL_NONE) {
		s->unacked_present++;
	} else if (s->acked_at[n] != index) {
		s->corrupt++;
		problem(s, "event %" PRIu64 ", acknowledged at index %" PRIu64 ", is at %" PRIu64,
		        n, s->acked_at[n], index);
	}
	return 0;
}

/* The log, as just reopened, against what was acknowledged.  0 if it
 * holds, -1 (counts added to T, problem set) if not. */
static int check_log(pl_seed *s, pl_totals *t)
{
	uint64_t size = vl_log_size(s->log);
	s->seen = calloc(s->next_event ? s->next_event : 1, sizeof *s->seen);
	if (!s->seen)
		abort();
	s->scanned = 0;
	s->corrupt = s->duplicated = s->unacked_present = 0;
	int rc = vl_log_scan(s->log, 0, size, scan_cb, s);
	if (rc != 0) {
		s->corrupt++;
		problem(s, "vl_log_scan of the reopened log (%" PRIu64 " entries) failed at entry %"
		        PRIu64 ": %s: %s", size, s->scanned, vl_strerror(rc),
		        vl_log_message(s->log));
	}
	uint64_t lost = 0, holes = 0, top = 0;
	int any = 0;
	for (uint64_t n = 0; n < s->next_event; n++)
		if (s->acked_at[n] != PL_NONE && s->seen[n] == s->acked_at[n] + 1) {
			any = 1;
			if (s->acked_at[n] > top)
				top = s->acked_at[n];
		}
	for (uint64_t n = 0; n < s->next_event; n++) {
		if (s->acked_at[n] == PL_NONE || s->seen[n] == s->acked_at[n] + 1)
			continue;
		lost++;
		if (any && s->acked_at[n] < top)
			holes++;
		problem(s, "event %" PRIu64 ", acknowledged at index %" PRIu64 ", is %s (the log "
		        "has %" PRIu64 " entries)", n, s->acked_at[n],
		        s->seen[n] ? "elsewhere" : "not in the log", size);
	}
	free(s->seen);
	s->seen = NULL;
	t->lost += lost;
	t->holes += holes;
	t->corrupt += s->corrupt;
	t->duplicated += s->duplicated;
	t->unacked_present += s->unacked_present;
	return s->problem[0] ? -1 : 0;
}

typedef struct pl_export {
	vl_sim *sim;
	const char *out;
	size_t skip;
} pl_export;

static int export_cb(void *arg, const char *path)
{
	pl_export *e = arg;
	char out[PATH_MAX];
	if (snprintf(out, sizeof out, "%s/%s", e->out, path + e->skip) >= (int)sizeof out)
		return -ENAMETOOLONG;
	for (char *p = out + strlen(e->out) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(out, 0700);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -errno;
	}
	uint8_t *data;
	size_t len;
	int rc = vl_sim_read_file(e->sim, path, VL_SIM_CACHED, &data, &len);
	if (rc)
		return rc;
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len))
		rc = -EIO;
	if (fd >= 0 && close(fd) < 0)
		rc = -EIO;
	free(data);
	return rc;
}

/* The log (closed) copied out of the simulator and verified.  0, or -1
 * with the problem set.  *size: the size of the verified checkpoint. */
static int verify_copy(pl_seed *s, pl_totals *t, uint64_t *size)
{
	vc_rm_rf(s->exportdir);
	if (mkdir(s->exportdir, 0700) < 0) {
		problem(s, "cannot create %s: %s", s->exportdir, strerror(errno));
		return -1;
	}
	pl_export e = {s->sim, s->exportdir, strlen(PL_LOGDIR) + 1};
	int rc = vl_sim_list_files(s->sim, PL_LOGDIR, VL_SIM_CACHED, export_cb, &e);
	if (rc) {
		problem(s, "cannot copy the log out of the simulator: %s", strerror(-rc));
		return -1;
	}
	vl_verify_options vo = {.vkey = s->verifier};
	vl_verify_report rep;
	rc = vl_verify_log_dir(s->exportdir, &vo, &rep);
	if (rc != 0) {
		problem(s, "the recovered log does not verify: %s: %s", vl_strerror(rc),
		        rep.message);
		return -1;
	}
	t->verified++;
	if (size)
		*size = rep.checkpoint.size;
	return 0;
}

/* Opens the log after a power loss, sometimes losing power again during
 * the recovery.  0, or -1 with the problem set. */
static int reopen(pl_seed *s, pl_totals *t)
{
	if (vc_rng_below(&s->rng, 4) == 0) {
		crash_plan(s);
		vl_sim_crash_at(s->sim, 1 + vc_rng_below(&s->rng, 30));
		int rc = vl_log_open(PL_LOGDIR, &s->opt, &s->log);
		if (rc != 0)
			s->log = NULL;
		if (vl_sim_powered_off(s->sim)) {
			power_loss(s, t);
			t->open_crashes++;
		} else if (rc != 0) {
			problem(s, "vl_log_open failed with the power on: %s: %s", vl_strerror(rc),
			        vl_open_message());
			return -1;
		} else {
			vl_sim_crash_at(s->sim, 0);
			vl_sim_set_faults(s->sim, NULL);
			goto opened;
		}
	}
	vl_sim_set_faults(s->sim, NULL);
	vl_sim_crash_at(s->sim, 0);
	int rc = vl_log_open(PL_LOGDIR, &s->opt, &s->log);
	if (rc != 0) {
		s->log = NULL;
		problem(s, "vl_log_open failed after the power loss: %s: %s", vl_strerror(rc),
		        vl_open_message());
		return -1;
	}
opened:;
	vl_recovery rec;
	vl_log_recovery(s->log, &rec);
	t->dropped_frames += rec.dropped_frames;
	t->dropped_bytes += rec.dropped_bytes;
	t->replayed += rec.replayed_entries;
	s->mark = vl_sim_write_failures(s->sim);
	return 0;
}

/* Everything acknowledged so far, when the log cannot even be opened. */
static uint64_t acked_count(const pl_seed *s)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < s->next_event; i++)
		n += s->acked_at[i] != PL_NONE;
	return n;
}

/* The newest WAL segment's path (names sort by their first index). */
static int newest_cb(void *arg, const char *path)
{
	char *newest = arg;
	if (strstr(path, "/wal/") && strcmp(path, newest) > 0)
		snprintf(newest, PATH_MAX, "%s", path);
	return 0;
}

/* Storage that loses what it said was synced: the newest WAL segment cut
 * back to its header, durably.  Only the unit test asks for this, to show
 * that the checks catch a loss. */
static void forget_synced(pl_seed *s)
{
	char newest[PATH_MAX] = "";
	if (vl_sim_list_files(s->sim, PL_LOGDIR, VL_SIM_DURABLE, newest_cb, newest) == 0 &&
	    newest[0])
		(void)vl_sim_truncate(s->sim, newest, 32);
}

/* One seed: 0 if everything held, -1 if not (s->problem says what). */
static int run_seed(pl_seed *s, pl_totals *t)
{
	/* WAL segments of a few commits to a few hundred: segments roll and
	 * preallocate (an eighth of their size) as the default 64 MiB ones
	 * do, without megabytes of zeros in the simulator's memory. */
	static const uint64_t segs[] = {2048, 8192, 65536, 1 << 20};
	s->opt.segment_bytes = segs[vc_rng_below(&s->rng, sizeof segs / sizeof segs[0])];
	if (vl_sim_mkdir_p(s->sim, "/sim") != 0) {
		problem(s, "cannot prepare the simulator");
		return -1;
	}
	int rc = vl_log_create(PL_LOGDIR, s->signer, &s->opt, &s->log);
	if (rc != 0) {
		s->log = NULL;
		problem(s, "vl_log_create failed without faults: %s: %s", vl_strerror(rc),
		        vl_open_message());
		return -1;
	}
	s->mark = vl_sim_write_failures(s->sim);
	int rounds = 1 + (int)vc_rng_below(&s->rng, PL_ROUNDS_MAX);
	for (int i = 0; i < rounds; i++) {
		t->rounds++;
		crash_plan(s);
		if (s->threaded)
			round_threaded(s, i);
		else
			round_sequential(s);
		power_loss(s, t);
		if (s->sabotage)
			forget_synced(s);
		if (s->problem[0])
			return -1;
		if (reopen(s, t) < 0) {
			t->lost += acked_count(s);
			return -1;
		}
		if (check_log(s, t) < 0)
			return -1;
		/* The recovered log, as it is, verifies: its WAL beyond the last
		 * checkpoint included. */
		rc = vl_log_close(s->log);
		s->log = NULL;
		if (rc != 0) {
			problem(s, "closing the recovered log failed: %s", vl_strerror(rc));
			return -1;
		}
		if (verify_copy(s, t, NULL) < 0)
			return -1;
		vl_sim_crash(s->sim); /* nothing pending: a clean close loses nothing */
		if (reopen(s, t) < 0) {
			t->lost += acked_count(s);
			return -1;
		}
	}
	/* Without faults, the log takes more and signs a checkpoint of it all. */
	if (append_batch(s, 1 + (size_t)vc_rng_below(&s->rng, PL_BATCH_MAX), 1) != 0) {
		problem(s, "an append failed without faults after recovery: %s",
		        vl_log_message(s->log));
		return -1;
	}
	char *note = NULL;
	rc = vl_log_checkpoint(s->log, &note);
	free(note);
	if (rc != 0) {
		problem(s, "a checkpoint failed without faults after recovery: %s: %s",
		        vl_strerror(rc), vl_log_message(s->log));
		return -1;
	}
	uint64_t size = vl_log_size(s->log);
	if (check_log(s, t) < 0)
		return -1;
	rc = vl_log_close(s->log);
	s->log = NULL;
	uint64_t verified = 0;
	if (rc != 0) {
		problem(s, "closing the log failed: %s", vl_strerror(rc));
		return -1;
	}
	if (verify_copy(s, t, &verified) < 0)
		return -1;
	if (verified != size) {
		problem(s, "the verified checkpoint covers %" PRIu64 " entries, the log has %"
		        PRIu64, verified, size);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

/*
 * Runs simulator seed SEED (THREADED or sequential rounds; SABOTAGE: the
 * storage forgets synced data after the first power loss), adding to *T.
 * On a failure, FAIL (if not NULL) receives its description.  0 when the
 * seed ran (whatever it found), -1 when it could not.
 */
static int one_seed(uint64_t seed, int threaded, int sabotage, const vl_signer *signer,
                    const vl_verifier *verifier, const char *keyfile, const char *exportdir,
                    pl_totals *t, char *fail, size_t failcap)
{
	pl_seed *s = calloc(1, sizeof *s);
	if (!s)
		return -1;
	s->seed = seed;
	vc_rng_seed(&s->rng, s->seed);
	s->threaded = threaded;
	s->sabotage = sabotage;
	s->signer = signer;
	s->verifier = verifier;
	s->exportdir = exportdir;
	s->opt.key_file = keyfile;
	pthread_mutex_init(&s->mu, NULL);
	s->sim = vl_sim_new(s->seed);
	if (!s->sim) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return -1;
	}
	s->opt.io = vl_sim_io(s->sim);
	uint64_t before_lost = t->lost, before_corrupt = t->corrupt;
	int rc = run_seed(s, t);
	if (s->log)
		(void)vl_log_close(s->log);
	t->seeds++;
	t->threaded_seeds += (uint64_t)s->threaded;
	t->appends += s->appends;
	t->failed_appends += s->failed_appends;
	t->checkpoints += s->checkpoints;
	t->acks_after_error += s->acks_after_error;
	t->acked += acked_count(s);
	if (rc < 0) {
		t->failed_seeds++;
		if (fail)
			snprintf(fail, failcap,
			         "first failure: simulator seed %" PRIu64 " (%s, %" PRIu64
			         " lost, %" PRIu64 " corrupt): %.400s. ",
			         s->seed, s->threaded ? "threaded" : "sequential",
			         t->lost - before_lost, t->corrupt - before_corrupt, s->problem);
	}
	vl_sim_free(s->sim);
	pthread_mutex_destroy(&s->mu);
	free(s->acked_at);
	free(s);
	return 0;
}

/*
 * For the unit test: one seed on its own, in DIR (created), to show what a
 * failure looks like.  Returns 1 if the seed passed, 0 if it failed (WHY
 * says how), -1 if it could not run; *acked and *lost are its counts.
 */
int vc_power_loss_seed(const char *dir, uint64_t seed, int threaded, int sabotage,
                       uint64_t *acked, uint64_t *lost, char *why, size_t whycap);

int vc_power_loss_seed(const char *dir, uint64_t seed, int threaded, int sabotage,
                       uint64_t *acked, uint64_t *lost, char *why, size_t whycap)
{
	char keyfile[PATH_MAX + 16], exportdir[PATH_MAX + 16];
	char *skey = NULL, *vkey = NULL;
	vl_signer *signer = NULL;
	vl_verifier *verifier = NULL;
	pl_totals t = {0};
	int rc = -1;

	why[0] = '\0';
	snprintf(keyfile, sizeof keyfile, "%s/log.key", dir);
	snprintf(exportdir, sizeof exportdir, "%s/export", dir);
	if (vc_mkdirs(dir) == 0 && vl_key_generate("chaos.power-loss/log", &skey, &vkey) == 0 &&
	    write_secret(keyfile, skey) == 0 && vl_signer_parse(skey, &signer) == 0 &&
	    vl_verifier_parse(vkey, &verifier) == 0 &&
	    one_seed(seed, threaded, sabotage, signer, verifier, keyfile, exportdir, &t, why,
	             whycap) == 0)
		rc = t.failed_seeds == 0 ? 1 : 0;
	*acked = t.acked;
	*lost = t.lost;
	vc_rm_rf(exportdir);
	vl_signer_free(signer);
	vl_verifier_free(verifier);
	free(skey);
	free(vkey);
	return rc;
}

void vc_scenario_power_loss(const vc_run_options *o, vc_result *r)
{
	double t0 = vc_mono_s();
	pl_totals t = {0};
	char dir[PATH_MAX], keyfile[PATH_MAX + 16], exportdir[PATH_MAX + 16];
	char *skey = NULL, *vkey = NULL;
	vl_signer *signer = NULL;
	vl_verifier *verifier = NULL;
	char first_fail[900] = "";

	r->recovery_seconds = -1;
	snprintf(r->limits, sizeof r->limits,
	         "Simulated storage (src/io_sim.c); real kernels and disks may differ: no "
	         "controller cache that lies about flushes, no errors that persist on a sector, "
	         "no reordering inside one write below 512-byte sectors, one mutex serialising "
	         "all I/O calls; the library only, without the server and its HTTP answers; "
	         "threaded seeds replay their crash point, not the threads' interleaving.");
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name[0] ? r->name : "power-loss");
	snprintf(keyfile, sizeof keyfile, "%s/log.key", dir);
	snprintf(exportdir, sizeof exportdir, "%s/export", dir);
	if (vc_mkdirs(dir) < 0) {
		snprintf(r->verdict, sizeof r->verdict, "cannot create %.900s", dir);
		return;
	}
	if (vl_key_generate("chaos.power-loss/log", &skey, &vkey) != 0 ||
	    write_secret(keyfile, skey) != 0 || vl_signer_parse(skey, &signer) != 0 ||
	    vl_verifier_parse(vkey, &verifier) != 0) {
		snprintf(r->verdict, sizeof r->verdict, "cannot prepare the signer key in %.900s",
		         keyfile);
		goto out;
	}

	uint64_t n_seeds = o->quick ? PL_SEEDS_QUICK
	                            : (uint64_t)(o->duration_s > 1 ? o->duration_s : 1) *
	                                      PL_SEEDS_PER_S;
	double budget = o->quick ? PL_BUDGET_QUICK_S
	                         : (o->duration_s > PL_BUDGET_QUICK_S ? o->duration_s
	                                                              : PL_BUDGET_QUICK_S);
	int stopped_early = 0;
	vc_rng seeds;
	vc_rng_seed(&seeds, r->seed);
	for (uint64_t i = 0; i < n_seeds; i++) {
		if (vc_mono_s() - t0 > 2 * budget) {
			stopped_early = 1;
			break;
		}
		uint64_t seed = vc_rng_next(&seeds);
		if (one_seed(seed, i % 4 == 3, 0, signer, verifier, keyfile, exportdir, &t,
		             first_fail[0] ? NULL : first_fail, sizeof first_fail) < 0)
			break;
	}
	vc_rm_rf(exportdir);

	r->acked = t.acked;
	r->lost = t.lost;
	r->corrupt = t.corrupt;
	r->duplicated = t.duplicated;
	r->holes = t.holes;
	r->acks_after_io_error = t.acks_after_error;
	r->passed = t.seeds > 0 && t.failed_seeds == 0 && t.acked > 0 && t.lost == 0 &&
	            t.corrupt == 0 && t.duplicated == 0 && t.holes == 0 &&
	            t.acks_after_error == 0;
	vc_appendf(r->verdict, sizeof r->verdict, "%s", first_fail);
	vc_appendf(r->verdict, sizeof r->verdict,
	        "%" PRIu64 " seeds (%" PRIu64 " threaded), %" PRIu64 " failed; %" PRIu64
	        " power losses (%" PRIu64 " during recovery) over %" PRIu64 " rounds; %" PRIu64
	        " appends, %" PRIu64 " failed, %" PRIu64 " checkpoints; %" PRIu64
	        " events acknowledged: %" PRIu64 " lost, %" PRIu64 " corrupt, %" PRIu64
	        " duplicated, %" PRIu64 " holes, %" PRIu64 " acknowledged after an I/O error; "
	        "%" PRIu64 " unacknowledged events survived (allowed); recovery cut %" PRIu64
	        " torn or garbled WAL frames (%" PRIu64 " bytes) and replayed %" PRIu64
	        " entries; %" PRIu64 " recovered logs verified.",
	        t.seeds, t.threaded_seeds, t.failed_seeds, t.crashes, t.open_crashes, t.rounds,
	        t.appends, t.failed_appends, t.checkpoints, t.acked, t.lost, t.corrupt,
	        t.duplicated, t.holes, t.acks_after_error, t.unacked_present, t.dropped_frames,
	        t.dropped_bytes, t.replayed, t.verified);
	if (stopped_early)
		vc_appendf(r->verdict, sizeof r->verdict,
		        " Stopped after %" PRIu64 " of %" PRIu64 " seeds: over twice the %.0f s "
		        "budget.", t.seeds, n_seeds, budget);

out:
	vl_signer_free(signer);
	vl_verifier_free(verifier);
	free(skey);
	free(vkey);
	r->duration_s = vc_mono_s() - t0;
}
