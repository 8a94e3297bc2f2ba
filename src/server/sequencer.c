/*
 * sequencer.c — per log, the committer and checkpointer threads of
 * `vellum serve` (see server.h).
 *
 * Group commit: jobs (one HTTP request or syslog message each) queue under
 * the log's mutex; the committer takes all of them at once and appends
 * their entries with one vl_log_append — one write and one fdatasync — so
 * the cost of a sync is shared by every request that arrived while the
 * previous one ran.  A job is completed (its HTTP connection resumed) only
 * after vl_log_append returned 0: an answer means durable.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "server.h"

void vs_job_free(vs_job *job)
{
	if (!job)
		return;
	if (job->receipts)
		for (size_t i = 0; i < job->n_events; i++)
			free(job->receipts[i]);
	free(job->receipts);
	free(job->checkpoint_note);
	free(job->entries);
	free(job->buf);
	free(job->slot);
	free(job->index);
	free(job->keys);
	free(job->key_event);
	free(job->key_count);
	free(job->key_state);
	free(job);
}

static void now(struct timespec *t) { clock_gettime(CLOCK_REALTIME, t); }

/* ------------------------------------------------------------------ */
/* Idempotency.                                                        */

static uint32_t next_serial;

/* Under l->mu: mark replays, compact the entries, hold new keys pending.
 * Returns 0, 1 (all replayed) or VL_EEXIST. */
static int resolve_keys(vs_log *l, vs_job *job)
{
	job->serial = ++next_serial;
	for (size_t k = 0; k < job->n_keys; k++) {
		uint64_t first;
		uint32_t count;
		size_t e0 = job->key_event[k];
		if (!vs_idem_find(l->idem, job->keys[k], &first, &count)) {
			job->key_state[k] = 0;
			continue;
		}
		if (first == VS_IDEM_PENDING && count == job->serial) {
			/* Repeated inside this request: it gets the earlier
			 * event's index. */
			size_t earlier = 0;
			for (size_t j = 0; j < k; j++)
				if (job->key_state[j] == 0 &&
				    memcmp(job->keys[j], job->keys[k], VS_IDEM_KEY_SIZE) == 0)
					earlier = job->key_event[j];
			for (uint32_t i = 0; i < job->key_count[k]; i++)
				job->slot[e0 + i] = -2 - (long)(earlier + i);
			job->key_state[k] = 2;
			continue;
		}
		if (first == VS_IDEM_PENDING) {
			/* Undo the keys this job marked so far. */
			for (size_t j = 0; j < k; j++)
				if (job->key_state[j] == 0)
					vs_idem_remove(l->idem, job->keys[j]);
			return VL_EEXIST;
		}
		for (uint32_t i = 0; i < job->key_count[k]; i++) {
			job->slot[e0 + i] = -1;
			job->index[e0 + i] = first + (i < count ? i : count - 1);
		}
		job->key_state[k] = 1;
		continue;
	}
	for (size_t k = 0; k < job->n_keys; k++)
		if (job->key_state[k] == 0)
			(void)vs_idem_put(l->idem, job->keys[k], VS_IDEM_PENDING, job->serial);
	/* Keep only the entries of new events, in order. */
	size_t n = 0;
	for (size_t e = 0; e < job->n_events; e++) {
		if (job->slot[e] < 0)
			continue;
		job->entries[n] = job->entries[job->slot[e]];
		job->slot[e] = (long)n++;
	}
	job->n_entries = n;
	return n == 0 ? 1 : 0;
}

/* Under l->mu, after the commit: the indexes of every event, and the keys
 * become durable (or are forgotten if the commit failed). */
static void settle_keys(vs_log *l, vs_job *job)
{
	for (size_t e = 0; e < job->n_events; e++) {
		if (job->slot[e] >= 0)
			job->index[e] = job->first + (uint64_t)job->slot[e];
		else if (job->slot[e] <= -2)
			job->index[e] = job->first + (uint64_t)job->slot[-2 - job->slot[e]];
	}
	for (size_t k = 0; k < job->n_keys; k++) {
		if (job->key_state[k] != 0)
			continue;
		if (job->rc == 0)
			(void)vs_idem_put(l->idem, job->keys[k], job->index[job->key_event[k]],
			                  job->key_count[k]);
		else
			vs_idem_remove(l->idem, job->keys[k]);
	}
}

struct rebuild {
	vs_log *l;
	uint64_t keys;
	uint64_t idem_first;   /* keys from this index on */
	uint64_t forwarded;
	int64_t newest_ns;     /* the newest received time */
};

static int rebuild_one(void *ctx, uint64_t index, const uint8_t *entry, size_t len)
{
	struct rebuild *r = ctx;
	vs_envelope_view v;
	if (vs_envelope_parse(entry, len, &v) != 0)
		return 0;
	int64_t at = v.received_sec * 1000000000 + v.received_nsec;
	if (at > r->newest_ns)
		r->newest_ns = at;
	if (v.has_idem_key && index >= r->idem_first) {
		if (vs_idem_put(r->l->idem, v.idem_key, index, v.request_events) < 0)
			return VL_ENOMEM;
		r->keys++;
	}
	if (v.has_agent) {
		int64_t spooled = v.spooled_sec * 1000000000 + v.spooled_nsec;
		int64_t received = v.received_sec * 1000000000 + v.received_nsec;
		if (vs_sources_mark(r->l->sources, v.agent, v.agent_len, v.spool_index, spooled,
		                    received) < 0)
			return VL_ENOMEM;
		r->forwarded++;
	}
	return 0;
}

int vs_idem_rebuild(vs_log *l)
{
	uint64_t size = vl_log_size(l->log), cap = l->server->cfg.idempotency_keys;
	/* The idempotency index holds the newest keys; the agents' state
	 * needs every forwarded entry, so the whole log is read once. */
	struct rebuild r = {l, 0, size > cap ? size - cap : 0, 0, 0};
	struct timespec t0, t1;
	now(&t0);
	int rc = vl_log_scan(l->log, 0, size, rebuild_one, &r);
	now(&t1);
	if (rc == 0) {
		pthread_mutex_lock(&l->mu);
		if (r.newest_ns > l->newest_time_ns)
			l->newest_time_ns = r.newest_ns;
		pthread_mutex_unlock(&l->mu);
		vs_clock_check(l, (int64_t)t1.tv_sec * 1000000000 + t1.tv_nsec, 0);
	}
	if (rc == 0)
		vs_log_line(VS_INFO, "idempotency keys and agents loaded",
		            ",\"log\":\"%s\",\"entries_scanned\":%" PRIu64 ",\"keys\":%" PRIu64
		            ",\"forwarded\":%" PRIu64 ",\"agents\":%zu,\"seconds\":%.3f",
		            l->cfg->name, size, r.keys, r.forwarded, vs_sources_count(l->sources),
		            vs_elapsed(&t0, &t1));
	return rc;
}

void vs_clock_check(vs_log *l, int64_t now_ns, int locked)
{
	if (!locked)
		pthread_mutex_lock(&l->mu);
	int64_t behind = l->newest_time_ns - now_ns;
	int warn = 0;
	if (behind > 1000000000) {
		l->clock_backwards++;
		l->clock_behind_s = (double)behind / 1e9;
		if (l->clock_warned_ns == 0 || now_ns - l->clock_warned_ns > 60000000000LL ||
		    now_ns < l->clock_warned_ns) {
			l->clock_warned_ns = now_ns;
			warn = 1;
		}
	} else {
		l->clock_behind_s = 0;
		if (now_ns > l->newest_time_ns)
			l->newest_time_ns = now_ns;
	}
	uint64_t times = l->clock_backwards;
	if (!locked)
		pthread_mutex_unlock(&l->mu);
	/* Entries keep the clock's times as they are (their order in the log
	 * is what counts); the operator is told. */
	if (warn)
		vs_log_line(VS_WARN, "clock went backwards",
		            ",\"log\":\"%s\",\"behind_seconds\":%.3f,\"times\":%" PRIu64
		            ",\"detail\":\"the wall clock is behind the newest time this log has "
		            "seen; new entries carry earlier received times than older ones\"",
		            l->cfg->name, (double)behind / 1e9, times);
}

/* ------------------------------------------------------------------ */
/* Submitting and committing.                                          */

/* The engine failed: refuse everything (503 storage_failed, not ready)
 * until the checkpointer has reopened the log.  Caller holds l->mu. */
static void mark_failed(vs_log *l)
{
	if (!l->poisoned)
		clock_gettime(CLOCK_MONOTONIC, &l->poisoned_at);
	l->poisoned = 1;
}

int vs_sequencer_submit(vs_log *l, vs_job *job)
{
	const vs_config *cfg = &l->server->cfg;
	pthread_mutex_lock(&l->mu);
	int rc = 0;
	if (l->stopping)
		rc = VL_ECLOSED;
	else if (l->poisoned)
		rc = VL_EPOISONED;
	else if (l->queued_events + job->n_entries > cfg->queue_max_events ||
	         l->queued_bytes + job->buf_len > cfg->queue_max_bytes)
		rc = VL_ETOOBIG;
	if (rc == 0)
		rc = resolve_keys(l, job);
	if (rc == 0) {
		job->log = l;
		job->next = NULL;
		if (l->queue_tail)
			l->queue_tail->next = job;
		else
			l->queue_head = job;
		l->queue_tail = job;
		l->queued_events += job->n_entries;
		l->queued_bytes += job->buf_len;
		pthread_cond_signal(&l->work_cv);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static void ack_mark(vs_log *l, uint64_t end, const struct timespec *at)
{
	if (l->acks_len == l->acks_cap) {
		/* Bounded: beyond 4096 commits without a checkpoint, drop the
		 * oldest marks (the metric then under-reports, never grows). */
		if (l->acks_cap == 4096) {
			l->acks_head = (l->acks_head + 1) % l->acks_cap;
			l->acks_len--;
		} else {
			size_t cap = l->acks_cap ? l->acks_cap * 2 : 64;
			struct ack_mark *a = malloc(cap * sizeof *a);
			if (!a)
				return;
			for (size_t i = 0; i < l->acks_len; i++)
				a[i] = l->acks[(l->acks_head + i) % l->acks_cap];
			free(l->acks);
			l->acks = a;
			l->acks_cap = cap;
			l->acks_head = 0;
		}
	}
	l->acks[(l->acks_head + l->acks_len) % l->acks_cap] = (struct ack_mark){end, *at};
	l->acks_len++;
}

/* Answers the jobs of BATCH: their entries are FIRST.. (N of them) when
 * RC is 0, else they failed with RC (and the log is poisoned). */
static void complete_batch(vs_log *l, vs_job *batch, int rc, uint64_t first, size_t n)
{
	struct timespec acked;
	now(&acked);
	vs_job *done = NULL, *done_tail = NULL;
	pthread_mutex_lock(&l->mu);
	uint64_t at = first, bytes = 0;
	for (vs_job *j = batch, *next; j; j = next) {
		next = j->next;
		j->first = at;
		at += j->n_entries;
		j->rc = rc;
		j->acked = acked;
		settle_keys(l, j);
		for (size_t i = 0; i < j->n_entries; i++)
			bytes += j->entries[i].len;
		j->next = NULL;
		if (rc == 0 && j->want_checkpoint) {
			j->next = l->cp_waiters;
			l->cp_waiters = j;
		} else {
			if (done_tail)
				done_tail->next = j;
			else
				done = j;
			done_tail = j;
		}
	}
	if (rc == 0) {
		vs_clock_check(l, (int64_t)acked.tv_sec * 1000000000 + acked.tv_nsec, 1);
		if (first + n > l->committed_size)
			l->committed_size = first + n;
		ack_mark(l, first + n, &acked);
		vs_counter_inc(l->m_bytes, bytes);
	} else {
		mark_failed(l);
	}
	if (l->cp_waiters)
		pthread_cond_signal(&l->cp_cv);
	pthread_mutex_unlock(&l->mu);
	for (vs_job *j = done, *next; j; j = next) {
		next = j->next;
		atomic_store(&j->done, 1);
		j->complete(j);
	}
}

#ifdef VS_TEST_ACK_EARLY
/*
 * Deliberately wrong, and built only into the test suite's vellum_ack_early
 * binary: the jobs are answered before their entries are written, with
 * the indexes they will get, and the entries are appended 100 ms later.  A
 * kill in between loses acknowledged events; `vellum chaos run` must
 * catch that (tests/e2e/chaos.sh).
 */
static void ack_early(vs_log *l, vs_job *batch, vl_entry *entries, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += entries[i].len;
	uint8_t *copy = malloc(total ? total : 1);
	if (!copy) {
		complete_batch(l, batch, VL_ENOMEM, 0, n);
		return;
	}
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(copy + at, entries[i].data, entries[i].len);
		entries[i].data = copy + at;
		at += entries[i].len;
	}
	complete_batch(l, batch, 0, vl_log_size(l->log), n);
	struct timespec pause = {0, 100000000};
	nanosleep(&pause, NULL);
	uint64_t first;
	if (vl_log_append(l->log, entries, n, &first) < 0) {
		pthread_mutex_lock(&l->mu);
		mark_failed(l);
		pthread_mutex_unlock(&l->mu);
	}
	free(copy);
}
#endif

static void *committer_main(void *arg)
{
	vs_log *l = arg;
	pthread_setname_np(pthread_self(), "vs-commit");
	vl_entry *entries = NULL;
	size_t cap = 0;
	for (;;) {
		pthread_mutex_lock(&l->mu);
		while (!l->queue_head && !l->stopping)
			pthread_cond_wait(&l->work_cv, &l->mu);
		vs_job *batch = l->queue_head;
		l->queue_head = l->queue_tail = NULL;
		uint64_t events = l->queued_events;
		l->queued_events = l->queued_bytes = 0;
		pthread_mutex_unlock(&l->mu);
		if (!batch)
			break; /* stopping, and the queue is empty */
		if (events > cap) {
			size_t ncap = cap ? cap : 1024;
			while (ncap < events)
				ncap *= 2;
			vl_entry *e = realloc(entries, ncap * sizeof *e);
			if (e) {
				entries = e;
				cap = ncap;
			}
		}
		size_t n = 0;
		int rc = events > cap ? VL_ENOMEM : 0;
		for (vs_job *j = batch; rc == 0 && j; j = j->next) {
			memcpy(entries + n, j->entries, j->n_entries * sizeof *entries);
			n += j->n_entries;
		}
		uint64_t first = 0;
		struct timespec t0, t1;
#ifdef VS_TEST_ACK_EARLY
		if (rc == 0) {
			ack_early(l, batch, entries, n);
			continue;
		}
#endif
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (rc == 0)
			rc = vl_log_append(l->log, entries, n, &first);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc == 0) {
			vs_histogram_observe(l->m_fsync, vs_elapsed(&t0, &t1));
			vs_histogram_observe(l->m_commit_events, (double)n);
			vs_counter_inc(l->m_commits, 1);
			vs_counter_inc(l->m_events, n);
		} else {
			vs_log_line(VS_ERROR, "commit failed",
			            ",\"log\":\"%s\",\"entries\":%zu,\"error\":\"%s\",\"detail\":\"%s\"",
			            l->cfg->name, n, vl_strerror(rc), vl_log_message(l->log));
		}
		complete_batch(l, batch, rc, first, n);
	}
	free(entries);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Checkpoints.                                                        */

static int sign_checkpoint(vs_log *l)
{
	char *note = NULL;
	int rc = vl_log_checkpoint(l->log, &note);
	vl_checkpoint cp;
	if (rc == 0)
		rc = vl_log_latest_checkpoint(l->log, &cp, NULL);
	if (rc != 0) {
		free(note);
		vs_log_line(VS_ERROR, "checkpoint failed",
		            ",\"log\":\"%s\",\"error\":\"%s\",\"detail\":\"%s\"", l->cfg->name,
		            vl_strerror(rc), vl_log_message(l->log));
		pthread_mutex_lock(&l->mu);
		mark_failed(l);
		vs_job *w = l->cp_waiters;
		l->cp_waiters = NULL;
		pthread_mutex_unlock(&l->mu);
		for (vs_job *next; w; w = next) {
			next = w->next;
			w->rc = rc;
			atomic_store(&w->done, 1);
			w->complete(w);
		}
		return rc;
	}
	struct timespec t;
	now(&t);
	vs_job *ready = NULL;
	pthread_mutex_lock(&l->mu);
	int changed = cp.size != l->checkpoint_size;
	l->checkpoint_size = cp.size;
	l->checkpoint_time = t;
	while (l->acks_len && l->acks[l->acks_head].end <= cp.size) {
		vs_histogram_observe(l->m_ack_to_cp, vs_elapsed(&l->acks[l->acks_head].at, &t));
		l->acks_head = (l->acks_head + 1) % l->acks_cap;
		l->acks_len--;
	}
	for (vs_job **p = &l->cp_waiters; *p;) {
		vs_job *j = *p;
		if (j->first + j->n_entries <= cp.size) {
			*p = j->next;
			j->next = ready;
			ready = j;
		} else {
			p = &j->next;
		}
	}
	pthread_mutex_unlock(&l->mu);
	if (changed)
		vs_counter_inc(l->m_checkpoints, 1);
	for (vs_job *j = ready, *next; j; j = next) {
		next = j->next;
		j->receipts = calloc(j->n_events, sizeof *j->receipts);
		j->checkpoint_note = strdup(note);
		if (!j->receipts || !j->checkpoint_note)
			j->rc = VL_ENOMEM;
		for (size_t e = 0; j->rc == 0 && e < j->n_events; e++)
			j->rc = vl_log_receipt(l->log, j->index[e], &j->receipts[e]);
		atomic_store(&j->done, 1);
		j->complete(j);
	}
	free(note);
	return 0;
}

static void deadline_after(struct timespec *t, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += (time_t)(ms / 1000);
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Under load a checkpoint comes sooner: once this many entries wait. */
#define CHECKPOINT_EARLY_ENTRIES 262144
/* Tiles are written every 20 ms: at 400,000 events/s that is ~3 MB a
 * time, well below the engine's cap on tiles waiting (past which the
 * committer would have to write them itself, on the commit path). */
#define FLUSH_EVERY_MS 20

/* A failed log is reopened in place after these delays, doubling. */
#define REOPEN_FIRST_MS 500
#define REOPEN_MAX_MS 5000

/*
 * The log's storage failed: try to bring it back (vl_log_reopen: the failed
 * commit cut, the state reloaded from the directory).  What the server
 * holds stays true across it: failed commits were answered with errors and
 * took no idempotency keys or agent positions, so the log holds exactly
 * what was acknowledged.  Returns 1 when the log is in service again.
 */
static int try_reopen(vs_log *l, unsigned *attempts)
{
	int rc = vl_log_reopen(l->log);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	(*attempts)++;
	if (rc != 0) {
		/* The first failed attempt, then one line a minute. */
		if (*attempts == 1 || *attempts % (60000 / REOPEN_MAX_MS) == 0)
			vs_log_line(VS_WARN, "log storage still failing",
			            ",\"log\":\"%s\",\"attempts\":%u,\"error\":\"%s\",\"detail\":\"%s\"",
			            l->cfg->name, *attempts, vl_strerror(rc), vl_log_message(l->log));
		return 0;
	}
	vl_checkpoint cp;
	int have_cp = vl_log_latest_checkpoint(l->log, &cp, NULL) == 0;
	pthread_mutex_lock(&l->mu);
	double down = vs_elapsed(&l->poisoned_at, &t);
	l->committed_size = vl_log_size(l->log);
	if (have_cp)
		l->checkpoint_size = cp.size;
	uint64_t size = l->committed_size;
	pthread_mutex_unlock(&l->mu);
	/* Said before the first write is taken: every commit after the
	 * failure comes after this line. */
	vs_log_line(VS_INFO, "log storage recovered",
	            ",\"log\":\"%s\",\"entries\":%" PRIu64 ",\"attempts\":%u,"
	            "\"seconds_failed\":%.3f,\"detail\":\"the log was reopened in place; "
	            "ingest resumes\"",
	            l->cfg->name, size, *attempts, down);
	pthread_mutex_lock(&l->mu);
	l->reopens++;
	l->poisoned = 0;
	pthread_mutex_unlock(&l->mu);
	*attempts = 0;
	return 1;
}

static void *checkpointer_main(void *arg)
{
	vs_log *l = arg;
	pthread_setname_np(pthread_self(), "vs-checkpoint");
	uint64_t interval = l->server->cfg.checkpoint_interval_ms, took_ms = 0;
	struct timespec next_cp, next_flush, next_reopen, t, t_start;
	unsigned reopen_attempts = 0;
	uint64_t reopen_ms = REOPEN_FIRST_MS;
	deadline_after(&next_cp, interval);
	deadline_after(&next_flush, FLUSH_EVERY_MS);
	deadline_after(&next_reopen, reopen_ms);
	for (;;) {
		pthread_mutex_lock(&l->mu);
		int stop = l->stopping && l->threads_started == 2;
		uint64_t waiting = l->committed_size - l->checkpoint_size;
		if (!stop && l->poisoned)
			pthread_cond_timedwait(&l->cp_cv, &l->mu, &next_reopen);
		else if (!stop && waiting < CHECKPOINT_EARLY_ENTRIES)
			pthread_cond_timedwait(&l->cp_cv, &l->mu,
			                       before(&next_flush, &next_cp) ? &next_flush : &next_cp);
		stop = l->stopping && l->threads_started == 2;
		waiting = l->committed_size - l->checkpoint_size;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		pthread_mutex_lock(&l->mu);
		int failed = l->poisoned && !l->stopping;
		pthread_mutex_unlock(&l->mu);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (failed) {
			if (!before(&t, &next_reopen)) {
				if (try_reopen(l, &reopen_attempts)) {
					reopen_ms = REOPEN_FIRST_MS;
					deadline_after(&next_cp, 0); /* sign one at once */
				} else {
					reopen_ms = reopen_ms * 2 < REOPEN_MAX_MS ? reopen_ms * 2
					                                          : REOPEN_MAX_MS;
				}
				deadline_after(&next_reopen, reopen_ms);
			}
			continue;
		}
		deadline_after(&next_reopen, REOPEN_FIRST_MS);
		if (!before(&t, &next_cp) || waiting >= CHECKPOINT_EARLY_ENTRIES) {
			t_start = t;
			if (waiting || !before(&t, &next_cp))
				(void)sign_checkpoint(l);
			clock_gettime(CLOCK_MONOTONIC, &t);
			took_ms = (uint64_t)(vs_elapsed(&t_start, &t) * 1000.0);
			/* Checkpoints start every interval minus the time one
			 * takes, so an event acknowledged just after one's
			 * snapshot is covered by the next within one interval. */
			uint64_t wait_ms = interval > 2 * took_ms + 10 ? interval - 2 * took_ms : 10;
			deadline_after(&next_cp, wait_ms);
			deadline_after(&next_flush, FLUSH_EVERY_MS);
		} else if (!before(&t, &next_flush)) {
			pthread_mutex_lock(&l->mu);
			int was_poisoned = l->poisoned;
			pthread_mutex_unlock(&l->mu);
			int frc = was_poisoned ? 0 : vl_log_flush(l->log);
			if (frc != 0) {
				/* Once: the log stays failed until it is reopened. */
				vs_log_line(VS_ERROR, "writing tiles failed",
				            ",\"log\":\"%s\",\"error\":\"%s\",\"detail\":\"%s\"",
				            l->cfg->name, vl_strerror(frc), vl_log_message(l->log));
				pthread_mutex_lock(&l->mu);
				mark_failed(l);
				pthread_mutex_unlock(&l->mu);
			}
			deadline_after(&next_flush, FLUSH_EVERY_MS);
		}
	}
	return NULL;
}

double vs_checkpoint_age(void *arg)
{
	vs_log *l = arg;
	struct timespec t;
	now(&t);
	pthread_mutex_lock(&l->mu);
	double age = vs_elapsed(&l->checkpoint_time, &t);
	pthread_mutex_unlock(&l->mu);
	return age;
}

int vs_sequencer_start(vs_log *l, char *err, size_t errcap)
{
	vl_checkpoint cp;
	if (vl_log_latest_checkpoint(l->log, &cp, NULL) == 0)
		l->checkpoint_size = cp.size;
	l->committed_size = vl_log_size(l->log);
	now(&l->checkpoint_time);
	l->idem = vs_idem_new(l->server->cfg.idempotency_keys);
	l->sources = vs_sources_new();
	if (!l->idem || !l->sources) {
		snprintf(err, errcap, "log %s: out of memory for %" PRIu64 " idempotency keys",
		         l->cfg->name, l->server->cfg.idempotency_keys);
		return -1;
	}
	int rc = vs_idem_rebuild(l);
	if (rc != 0) {
		snprintf(err, errcap, "log %s: cannot read its entries (%s): %s",
		         l->cfg->name, vl_strerror(rc), vl_log_message(l->log));
		return -1;
	}
	int started = 0;
	while (started < VS_COMMITTERS &&
	       pthread_create(&l->committers[started], NULL, committer_main, l) == 0)
		started++;
	int cp_ok = started == VS_COMMITTERS &&
	            pthread_create(&l->checkpointer, NULL, checkpointer_main, l) == 0;
	if (!cp_ok) {
		snprintf(err, errcap, "log %s: cannot start a thread", l->cfg->name);
		pthread_mutex_lock(&l->mu);
		l->stopping = 1;
		pthread_cond_broadcast(&l->work_cv);
		pthread_mutex_unlock(&l->mu);
		while (started > 0)
			pthread_join(l->committers[--started], NULL);
		return -1;
	}
	l->threads_started = 2;
	return 0;
}

int vs_sequencer_stop(vs_log *l)
{
	if (l->threads_started != 2)
		return 0;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_broadcast(&l->work_cv);
	pthread_mutex_unlock(&l->mu);
	/* The committers finish every queued job first. */
	for (int i = 0; i < VS_COMMITTERS; i++)
		pthread_join(l->committers[i], NULL);
	pthread_mutex_lock(&l->mu);
	pthread_cond_broadcast(&l->cp_cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->checkpointer, NULL);
	l->threads_started = 0;
	/* The final checkpoint covers everything acknowledged. */
	int rc = l->poisoned ? VL_EPOISONED : sign_checkpoint(l);
	free(l->acks);
	l->acks = NULL;
	return rc;
}
