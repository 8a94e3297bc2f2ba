/*
 * agent.c — `vellum agent` (agent.h): the source threads, the forwarder
 * thread, flow control at the spool limit, the status file, signals, and
 * the agent's JSON log lines on stderr:
 *
 *   {"time":"2026-11-26T15:04:05.123Z","level":"warn","msg":"forward failed",...}
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json_escape.h"
#include "agent.h"
#include "entry.h"
#include "forward.h"
#include "source.h"
#include "spool.h"
#include "status.h"
#include "wire.h"

#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_RUNTIME 3
#define TICK_MS 200
#define CHECKPOINT_EVERY_S 30
#define TOKEN_MAX 4096
#define SPOOL_BATCH_EVENTS 1000
#define QUIESCE_MAX_NS (5 * 1000000000LL) /* reading a quiesced source at a stop */
#define SPOOL_BATCH_BYTES (1u << 20)

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void va_config_defaults(va_config *c)
{
	memset(c, 0, sizeof *c);
	c->batch_records = 5000;
	c->batch_bytes = 4u << 20;
	c->spool_max_bytes = 1ull << 30;
	c->backoff_base_ms = 100;
	c->backoff_max_ms = 30000;
	c->timeout_s = 30;
}

/* ------------------------------------------------------------------ */
/* Log lines.                                                          */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void log_line(int level, const char *msg, const char *fields_fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void log_line(int level, const char *msg, const char *fields_fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char t[VA_TIME_LEN + 1], fields[2048] = "";
	va_format_time(now_ns(), t);
	va_list ap;
	va_start(ap, fields_fmt);
	vsnprintf(fields, sizeof fields, fields_fmt, ap);
	va_end(ap);
	/* Milliseconds, like the server's lines. */
	fprintf(stderr, "{\"time\":\"%.23sZ\",\"level\":\"%s\",\"msg\":\"%s\"%s}\n", t,
	        names[level], msg, fields);
}

/* A JSON-escaped copy, for fields of log lines. */
struct esc {
	char s[1024];
};

static struct esc esc(const char *s)
{
	struct esc e;
	vs_json_escape(s, strlen(s), e.s, sizeof e.s);
	return e;
}

/* ------------------------------------------------------------------ */
/* State.                                                              */

struct agent;

enum { SRC_READING, SRC_BLOCKED, SRC_DROPPING, SRC_ENDED, SRC_FAILED };

struct src_thread {
	struct agent *a;
	char origin[VA_ORIGIN_MAX + 1];
	va_source *src;
	pthread_t th;
	int started;
	_Atomic int state;
	va_position last;       /* after the newest event read (spooled or dropped) */
	int have_last;
	uint64_t drop_count, drop_bytes;
	va_position drop_first; /* where the dropped range starts */
	va_position drop_last;  /* after its last event */
	_Atomic uint64_t offset; /* the newest spooled position, for status */
};

struct agent {
	const va_config *cfg;
	char id[80];
	va_spool *spool;
	va_forwarder *fwd;
	struct src_thread *src;
	size_t n_src;
	_Atomic int stop;          /* sources stop; the forwarder stops between requests */
	_Atomic int sources_left;  /* sources still running */
	_Atomic int drained;       /* every source ended and everything was forwarded */
	_Atomic int fatal;         /* a spool write failed */
	pthread_t main_thread;
	pthread_mutex_t mu;        /* guards the status fields and clock */
	va_status st;
	va_clock clock;            /* the spooled times against the wall clock */
};

static void set_error(struct agent *a, const char *code, const char *msg)
{
	pthread_mutex_lock(&a->mu);
	snprintf(a->st.last_error, sizeof a->st.last_error, "%s", msg);
	snprintf(a->st.last_error_code, sizeof a->st.last_error_code, "%s", code);
	a->st.last_error_ns = now_ns();
	pthread_mutex_unlock(&a->mu);
}

static void fail_fatal(struct agent *a, const char *what, int rc)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s: %s: %s", what, vl_strerror(rc),
	         vl_log_message(va_spool_log(a->spool)));
	log_line(LOG_ERROR, "spool failed; stopping", ",\"error\":\"%s\"", esc(msg).s);
	set_error(a, "spool_failed", msg);
	a->fatal = 1;
	a->stop = 1;
	va_spool_wake(a->spool);
	pthread_kill(a->main_thread, SIGUSR1);
}

static void source_note(void *ctx, int level, const char *origin, const char *msg,
                        const char *detail)
{
	(void)ctx;
	log_line(level == VA_NOTE_ERROR ? LOG_ERROR : level == VA_NOTE_WARN ? LOG_WARN : LOG_INFO,
	         msg, ",\"source\":\"%s\",\"detail\":\"%s\"", esc(origin).s, esc(detail).s);
}

/* ------------------------------------------------------------------ */
/* Spooling.                                                           */

/* NS is the spooled time of a batch about to be appended: a wall clock
 * behind the newest spooled time is reported (the entries keep the times
 * they were given; the server reports its delays from them). */
static void clock_check(struct agent *a, int64_t ns)
{
	pthread_mutex_lock(&a->mu);
	int64_t behind = va_clock_check(&a->clock, ns);
	uint64_t times = a->clock.backwards;
	pthread_mutex_unlock(&a->mu);
	if (behind > 0)
		log_line(LOG_WARN, "clock went backwards",
		         ",\"behind_seconds\":%.3f,\"times\":%" PRIu64
		         ",\"detail\":\"the wall clock is behind the newest spooled time; new spool "
		         "entries carry earlier times than older ones\"",
		         (double)behind / 1e9, times);
}

/* Formats the drop marker (if any) and the batch's events into entries
 * and appends them as one batch. */
static int spool_batch(struct src_thread *t, const va_batch *b)
{
	size_t n = b->n + (t->drop_count ? 1 : 0);
	if (n == 0)
		return 0;
	vl_entry *entries = calloc(n, sizeof *entries);
	uint8_t *buf = malloc(b->len + n * VA_HEADER_MAX);
	int rc = entries && buf ? 0 : VL_ENOMEM;
	size_t used = 0, k = 0;
	int64_t ns = now_ns();
	clock_check(t->a, ns);
	va_entry e = {.spooled_ns = ns};
	snprintf(e.origin, sizeof e.origin, "%s", t->origin);
	va_position last = t->drop_last;
	if (rc == 0 && t->drop_count) {
		e.kind = VA_ENTRY_DROPPED;
		e.pos = t->drop_last;
		e.dropped = t->drop_count;
		e.dropped_bytes = t->drop_bytes;
		e.first = t->drop_first;
		size_t h = va_entry_write_header(&e, buf, VA_HEADER_MAX);
		if (h == 0)
			rc = VL_EINVAL;
		entries[k].data = buf;
		entries[k++].len = h;
		used = h;
	}
	e.kind = VA_ENTRY_EVENT;
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		e.pos = b->ev[i].pos;
		size_t h = va_entry_write_header(&e, buf + used, VA_HEADER_MAX);
		if (h == 0) {
			rc = VL_EINVAL;
			break;
		}
		memcpy(buf + used + h, b->data + b->ev[i].off, b->ev[i].len);
		entries[k].data = buf + used;
		entries[k++].len = h + b->ev[i].len;
		used += h + b->ev[i].len;
		last = b->ev[i].pos;
	}
	if (rc == 0)
		rc = va_spool_append(t->a->spool, entries, k, t->origin, &last, NULL);
	free(entries);
	free(buf);
	if (rc < 0)
		return rc;
	if (t->drop_count) {
		log_line(LOG_WARN, "dropped events recorded",
		         ",\"source\":\"%s\",\"dropped\":%" PRIu64 ",\"dropped_bytes\":%" PRIu64
		         ",\"first_position\":%" PRIu64 ",\"position\":%" PRIu64,
		         esc(t->origin).s, t->drop_count, t->drop_bytes, t->drop_first.offset,
		         t->drop_last.offset);
		t->drop_count = t->drop_bytes = 0;
	}
	t->offset = last.offset;
	return 0;
}

/* Drops the batch's events into the pending drop range. */
static void drop_batch(struct src_thread *t, const va_batch *b)
{
	struct agent *a = t->a;
	for (size_t i = 0; i < b->n; i++) {
		if (t->drop_count == 0) {
			if (t->have_last) {
				t->drop_first = t->last;
			} else {
				t->drop_first = b->ev[i].pos;
				t->drop_first.offset = 0;
			}
			log_line(LOG_WARN, "spool full; dropping events",
			         ",\"source\":\"%s\",\"pending_bytes_limit\":%" PRIu64,
			         esc(t->origin).s, a->cfg->spool_max_bytes);
		}
		t->drop_count++;
		t->drop_bytes += b->ev[i].len;
		t->drop_last = b->ev[i].pos;
		t->last = b->ev[i].pos;
		t->have_last = 1;
	}
	pthread_mutex_lock(&a->mu);
	a->st.dropped_events += b->n;
	pthread_mutex_unlock(&a->mu);
}

/* Spools a batch, or waits (block) or drops (drop) while the spool is
 * full.  When stopping, spools regardless: the limit is exceeded by at most
 * one batch, and nothing read is lost. */
static int handle_batch(struct src_thread *t, const va_batch *b)
{
	struct agent *a = t->a;
	if (b->n == 0 && t->drop_count == 0)
		return 0;
	if (!a->cfg->on_full_drop) {
		while (!a->stop && va_spool_full(a->spool)) {
			t->state = SRC_BLOCKED;
			va_spool_wait(a->spool, 250);
		}
	} else if (!a->stop && va_spool_full(a->spool)) {
		t->state = SRC_DROPPING;
		drop_batch(t, b);
		return 0;
	}
	t->state = SRC_READING;
	int rc = spool_batch(t, b);
	if (rc == 0 && b->n > 0) {
		t->last = b->ev[b->n - 1].pos;
		t->have_last = 1;
	}
	return rc;
}

static void *source_main(void *arg)
{
	struct src_thread *t = arg;
	struct agent *a = t->a;
	va_batch b;
	va_batch_init(&b, SPOOL_BATCH_EVENTS, SPOOL_BATCH_BYTES);
	/* Batches are sized in spool bytes: each event's header counts too
	 * (at its longest, so the estimate is never short). */
	va_entry longest = {.kind = VA_ENTRY_EVENT, .spooled_ns = 0,
	                    .pos = {UINT64_MAX, t->src->resumable, UINT64_MAX, UINT64_MAX}};
	uint8_t hdr[VA_HEADER_MAX];
	snprintf(longest.origin, sizeof longest.origin, "%s", t->origin);
	b.overhead = va_entry_write_header(&longest, hdr, sizeof hdr);
	int ended = 0;
	while (!a->stop && !ended) {
		/* No more than the room left under the limit per batch, so the
		 * limit is overshot by one event at most. */
		va_spool_stats ss;
		va_spool_get_stats(a->spool, &ss);
		uint64_t room = ss.pending_bytes < ss.max_bytes ? ss.max_bytes - ss.pending_bytes : 1;
		b.max_bytes = room < SPOOL_BATCH_BYTES ? (size_t)room : SPOOL_BATCH_BYTES;
		int rc = va_source_read(t->src, &b, TICK_MS);
		if (rc < 0) {
			if (t->state != SRC_FAILED) /* once, not every second */
				log_line(LOG_ERROR, "source read failed",
				         ",\"source\":\"%s\",\"error\":\"%s\"", esc(t->origin).s,
				         esc(vl_strerror(rc)).s);
			t->state = SRC_FAILED;
			va_spool_wait(a->spool, 1000);
		} else if (t->state == SRC_FAILED) {
			t->state = SRC_READING;
		}
		ended = rc == VA_SOURCE_EOF;
		/* Also with nothing new: a drop range is recorded once there
		 * is room again. */
		int record_drop = t->drop_count && (ended || !va_spool_full(a->spool));
		if (b.n > 0 || record_drop) {
			int hrc = handle_batch(t, &b);
			if (hrc < 0) {
				fail_fatal(a, "appending to the spool failed", hrc);
				break;
			}
		}
		va_batch_clear(&b);
	}
	/* A source that cannot be read again (syslog) is quiesced at a stop
	 * and read to its end, so what it took reaches the spool. */
	if (a->stop && !a->fatal && !ended && t->src->ops->quiesce &&
	    t->src->ops->quiesce(t->src) == 0) {
		int64_t until = now_ns() + QUIESCE_MAX_NS;
		while (!a->fatal && now_ns() < until) {
			int rc = va_source_read(t->src, &b, TICK_MS);
			if (rc < 0)
				break;
			if (b.n > 0) {
				int hrc = spool_batch(t, &b);
				if (hrc < 0) {
					fail_fatal(a, "appending to the spool failed", hrc);
					break;
				}
				t->last = b.ev[b.n - 1].pos;
				t->have_last = 1;
			}
			va_batch_clear(&b);
			if (rc == VA_SOURCE_EOF)
				break;
		}
	}
	/* A drop range still open at a stop is recorded, so the loss of what
	 * cannot be read again (stdin) is on record too. */
	if (t->drop_count && !a->fatal) {
		int rc = spool_batch(t, &b);
		if (rc < 0)
			fail_fatal(a, "appending to the spool failed", rc);
	}
	va_batch_free(&b);
	if (ended) {
		t->state = SRC_ENDED;
		log_line(LOG_INFO, "source ended", ",\"source\":\"%s\"", esc(t->origin).s);
	}
	a->sources_left--;
	va_spool_notify(a->spool); /* the forwarder may be done now */
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Forwarding.                                                         */

struct encode_ctx {
	va_buf *body;
	size_t max_bytes, max_records, n;
	uint64_t last, bytes;
	int bad;
	uint64_t bad_index;
};

/* One spool entry into the body.  A dropped-events entry travels whole as
 * its record's event, so the loss is forwarded and audited too. */
static int encode_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct encode_ctx *c = arg;
	va_entry e;
	if (va_entry_parse(entry, len, &e) < 0) {
		c->bad = 1;
		c->bad_index = index;
		return 1;
	}
	const uint8_t *ev = e.kind == VA_ENTRY_EVENT ? e.event : entry;
	size_t ev_len = e.kind == VA_ENTRY_EVENT ? e.event_len : len;
	size_t olen = strlen(e.origin);
	if (c->n > 0 && c->body->len + va_record_size(olen, ev_len) > c->max_bytes)
		return 1;
	int rc = va_record_encode(c->body, index, e.spooled_ns, e.origin, olen, ev, ev_len);
	if (rc < 0)
		return rc;
	c->n++;
	c->last = index;
	c->bytes += len;
	return c->n >= c->max_records ? 1 : 0;
}

/* Sleeps MS milliseconds, or until the agent stops. */
static void pause_ms(struct agent *a, uint64_t ms)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (a->stop)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t spent = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
		                (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= (int64_t)ms)
			return;
		int64_t left = (int64_t)ms - spent;
		va_spool_wait(a->spool, left > 1000 ? 1000 : (int)left);
	}
}

/* Stops the agent from a thread other than the main one. */
static void stop_all(struct agent *a, int fatal)
{
	if (fatal)
		a->fatal = 1;
	a->stop = 1;
	va_spool_wake(a->spool);
	pthread_kill(a->main_thread, SIGUSR1);
}

struct fwd {
	struct agent *a;
	va_backoff bo;
	va_buf body;
	size_t max_records;     /* halved for good on a 413 */
	int failing;            /* the last attempt failed */
	int64_t warned_through; /* the last "through" warned about */
};

/* A 2xx that says the server holds indexes this spool never had: another
 * spool forwarded under this agent id, and this one's events would be
 * taken for duplicates.  Nothing is marked forwarded until resolved. */
static void id_conflict(struct fwd *f, int64_t through, uint64_t size)
{
	struct agent *a = f->a;
	char msg[512];
	snprintf(msg, sizeof msg,
	         "the server holds spool indexes 0..%" PRId64 " for agent %s, but this spool has "
	         "only %" PRIu64 " entries: another spool used this agent id; nothing is marked "
	         "forwarded until that is resolved (use a new --id)",
	         through, a->id, size);
	log_line(LOG_ERROR, "agent id conflict", ",\"error\":\"%s\"", esc(msg).s);
	set_error(a, "agent_id_conflict", msg);
	f->failing = 1;
	pause_ms(a, a->cfg->backoff_max_ms);
}

/* After a 2xx for the batch c: the cursor moves (durably) past it. */
static int acknowledged(struct fwd *f, const struct encode_ctx *c, uint64_t first,
                        const va_fwd_result *r)
{
	struct agent *a = f->a;
	int rc = va_spool_set_forwarded(a->spool, c->last + 1, c->bytes);
	if (rc < 0) {
		log_line(LOG_ERROR, "cannot persist the forwarded cursor; stopping",
		         ",\"error\":\"%s\"", esc(vl_strerror(rc)).s);
		set_error(a, "cursor_write_failed", vl_strerror(rc));
		stop_all(a, 1);
		return rc;
	}
	pthread_mutex_lock(&a->mu);
	a->st.last_success_ns = now_ns();
	a->st.records_sent += c->n;
	if (r->reply_ok)
		a->st.through = r->reply.through;
	pthread_mutex_unlock(&a->mu);
	if (f->failing)
		log_line(LOG_INFO, "forwarding resumed", ",\"first\":%" PRIu64 ",\"last\":%" PRIu64,
		         first, c->last);
	if (!r->reply_ok) {
		log_line(LOG_WARN, "answer without \"through\"", ",\"status\":%ld,\"last\":%" PRIu64,
		         r->status, c->last);
	} else if (r->reply.through < (int64_t)c->last && r->reply.through != f->warned_through) {
		/* Not fixable from here: the server lacks indexes it
		 * acknowledged before (restored from a backup?). */
		f->warned_through = r->reply.through;
		log_line(LOG_WARN, "server is missing earlier spool indexes",
		         ",\"through\":%" PRId64 ",\"last\":%" PRIu64, r->reply.through, c->last);
	}
	f->failing = 0;
	va_backoff_reset(&f->bo);
	return 0;
}

/* Sends the batch in f->body until the server takes it, the agent stops,
 * or the batch must be rebuilt smaller (413).  0, or -1 to stop. */
static int send_batch(struct fwd *f, const struct encode_ctx *c, uint64_t first, uint64_t size)
{
	struct agent *a = f->a;
	const va_config *cfg = a->cfg;
	for (;;) {
		va_fwd_result r;
		va_forwarder_post(a->fwd, f->body.data, f->body.len, &r);
		pthread_mutex_lock(&a->mu);
		a->st.requests++;
		pthread_mutex_unlock(&a->mu);
		if (r.ok && r.reply_ok && r.reply.through >= (int64_t)size) {
			id_conflict(f, r.reply.through, size);
		} else if (r.ok) {
			return acknowledged(f, c, first, &r) < 0 ? -1 : 0;
		} else if (r.status == 413 && c->n > 1) {
			/* The server takes fewer records or bytes per request than
			 * we send: halve the batch, for good, and go on. */
			set_error(a, r.code, r.error);
			f->max_records = c->n / 2;
			log_line(LOG_WARN, "request too large; halving the batch",
			         ",\"error\":\"%s\",\"records\":%zu", esc(r.error).s, f->max_records);
			f->failing = 1;
			return 0;
		} else {
			set_error(a, r.code, r.error);
			uint64_t delay = r.retryable ? va_backoff_next(&f->bo) : cfg->backoff_max_ms;
			if (r.retry_after_ms > delay)
				delay = r.retry_after_ms < cfg->backoff_max_ms ? r.retry_after_ms
				                                               : cfg->backoff_max_ms;
			log_line(r.retryable ? LOG_WARN : LOG_ERROR, "forward failed",
			         ",\"status\":%ld,\"code\":\"%s\",\"error\":\"%s\",\"first\":%" PRIu64
			         ",\"records\":%zu,\"retry_in_ms\":%" PRIu64,
			         r.status, esc(r.code).s, esc(r.error).s, first, c->n, delay);
			f->failing = 1;
			pause_ms(a, delay);
		}
		if (a->stop)
			return -1;
	}
}

static void *forwarder_main(void *arg)
{
	struct agent *a = arg;
	struct fwd f = {.a = a, .max_records = a->cfg->batch_records, .warned_through = -2};
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = (uint64_t)now_ns();
	va_backoff_init(&f.bo, a->cfg->backoff_base_ms, a->cfg->backoff_max_ms, seed);
	while (!a->stop) {
		/* Sources first: once none is left, their last appends are in
		 * the stats read after. */
		int left = a->sources_left;
		va_spool_stats ss;
		va_spool_get_stats(a->spool, &ss);
		if (ss.forwarded >= ss.size) {
			if (left == 0) {
				a->drained = 1;
				pthread_kill(a->main_thread, SIGUSR1);
				break;
			}
			va_spool_wait(a->spool, 1000);
			continue;
		}
		f.body.len = 0;
		uint64_t count = ss.size - ss.forwarded;
		struct encode_ctx c = {.body = &f.body, .max_bytes = a->cfg->batch_bytes,
		                       .max_records = f.max_records};
		int rc = va_spool_scan(a->spool, ss.forwarded,
		                     count < f.max_records ? count : f.max_records, encode_cb, &c);
		if (c.bad) {
			char msg[128];
			snprintf(msg, sizeof msg, "spool entry %" PRIu64 " is not a spool entry",
			         c.bad_index);
			log_line(LOG_ERROR, "spool corrupt; stopping", ",\"error\":\"%s\"", msg);
			set_error(a, "spool_corrupt", msg);
			stop_all(a, 1);
			break;
		}
		if (rc < 0) {
			fail_fatal(a, "reading the spool failed", rc);
			break;
		}
		if (c.n == 0) { /* the whole range is in a hole of the spool */
			uint64_t past = ss.forwarded + (count < f.max_records ? count : f.max_records);
			va_spool_set_forwarded(a->spool, past, 0);
			continue;
		}
		if (send_batch(&f, &c, ss.forwarded, ss.size) < 0)
			break;
	}
	va_buf_free(&f.body);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Status.                                                             */

struct oldest_ctx {
	int64_t ns;
};

static int oldest_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct oldest_ctx *c = arg;
	va_entry e;
	(void)index;
	if (va_entry_parse(entry, len, &e) == 0)
		c->ns = e.spooled_ns;
	return 1;
}

static const char *state_name(int s)
{
	switch (s) {
	case SRC_BLOCKED:
		return "blocked";
	case SRC_DROPPING:
		return "dropping";
	case SRC_ENDED:
		return "ended";
	case SRC_FAILED:
		return "failed";
	default:
		return "reading";
	}
}

static void write_status(struct agent *a, int running)
{
	/* The sources' positions first, the spool's counts after: a position
	 * is published after its append, so the counts then cover it, and a
	 * report with forwarded == spool_entries means that everything up to
	 * the positions shown was forwarded. */
	va_status_source *srcs = calloc(a->n_src ? a->n_src : 1, sizeof *srcs);
	if (srcs) {
		for (size_t i = 0; i < a->n_src; i++) {
			srcs[i].origin = a->src[i].origin;
			srcs[i].state = state_name(a->src[i].state);
			srcs[i].position = a->src[i].offset;
		}
	}
	va_spool_stats ss;
	va_spool_get_stats(a->spool, &ss);
	va_status st;
	pthread_mutex_lock(&a->mu);
	st = a->st;
	pthread_mutex_unlock(&a->mu);
	st.running = running;
	st.updated_ns = now_ns();
	st.spool_entries = ss.size;
	st.forwarded = ss.forwarded;
	st.pending_bytes = ss.pending_bytes;
	st.spool_max_bytes = ss.max_bytes;
	st.oldest_pending_ns = 0;
	if (ss.forwarded < ss.size) {
		struct oldest_ctx c = {0};
		if (va_spool_scan(a->spool, ss.forwarded, 1, oldest_cb, &c) >= 0)
			st.oldest_pending_ns = c.ns;
	}
	if (srcs) {
		st.sources = srcs;
		st.n_sources = a->n_src;
	}
	int rc = va_status_write(a->cfg->dir, &st);
	if (rc < 0)
		log_line(LOG_WARN, "cannot write status.json", ",\"error\":\"%s\"",
		         esc(vl_strerror(rc)).s);
	free(srcs);
}

/* ------------------------------------------------------------------ */
/* Start and stop.                                                     */

static int log_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The token: the file's one line, surrounding whitespace removed. */
static int read_token(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		log_line(LOG_ERROR, "cannot read the token file", ",\"file\":\"%s\",\"error\":\"%s\"",
		         esc(path).s, esc(strerror(errno)).s);
		return EXIT_USAGE;
	}
	size_t n = fread(out, 1, cap - 1, f);
	int more = fgetc(f) != EOF;
	fclose(f);
	out[n] = '\0';
	char *s = out;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
	                   s[len - 1] == '\r'))
		len--;
	int ok = !more && len > 0;
	for (size_t i = 0; ok && i < len; i++)
		ok = s[i] > 0x20 && s[i] < 0x7f;
	if (!ok) {
		log_line(LOG_ERROR, "unusable token file",
		         ",\"file\":\"%s\",\"error\":\"expected one token of printable ASCII\"",
		         esc(path).s);
		explicit_bzero(out, cap);
		return EXIT_USAGE;
	}
	memmove(out, s, len);
	out[len] = '\0';
	return EXIT_OK;
}

int va_agent_run(const va_config *cfg)
{
	struct agent a;
	memset(&a, 0, sizeof a);
	a.cfg = cfg;
	a.main_thread = pthread_self();
	pthread_mutex_init(&a.mu, NULL);
	a.st.through = -1;
	a.st.pid = (int)getpid();
	a.st.server = cfg->url;
	a.st.log = cfg->log;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	char err[1024], token[TOKEN_MAX + 1];
	int code = EXIT_RUNTIME;
	if (!log_name_ok(cfg->log)) {
		log_line(LOG_ERROR, "invalid --log", ",\"log\":\"%s\",\"error\":\"expected "
		         "[A-Za-z0-9._-]{1,64}\"", esc(cfg->log).s);
		return EXIT_USAGE;
	}
	/* Origins first: a bad spec is a usage error before anything is made. */
	a.n_src = cfg->n_sources;
	a.src = calloc(a.n_src ? a.n_src : 1, sizeof *a.src);
	if (!a.src)
		return EXIT_RUNTIME;
	for (size_t i = 0; i < a.n_src; i++) {
		a.src[i].a = &a;
		if (va_source_origin(cfg->sources[i], a.src[i].origin, sizeof a.src[i].origin, err,
		                     sizeof err) < 0) {
			log_line(LOG_ERROR, "invalid --source", ",\"error\":\"%s\"", esc(err).s);
			free(a.src);
			return EXIT_USAGE;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(a.src[i].origin, a.src[j].origin) == 0) {
				log_line(LOG_ERROR, "invalid --source",
				         ",\"error\":\"%s is given twice\"", esc(a.src[i].origin).s);
				free(a.src);
				return EXIT_USAGE;
			}
		}
	}
	if ((code = read_token(cfg->token_file, token, sizeof token)) != EXIT_OK) {
		free(a.src);
		return code;
	}
	code = EXIT_RUNTIME;
	if (mkdir(cfg->dir, 0700) < 0 && errno != EEXIST) {
		log_line(LOG_ERROR, "cannot create the spool directory",
		         ",\"dir\":\"%s\",\"error\":\"%s\"", esc(cfg->dir).s, esc(strerror(errno)).s);
		goto done;
	}
	int rc = va_agent_id(cfg->dir, cfg->id, a.id, sizeof a.id, err, sizeof err);
	if (rc < 0) {
		log_line(LOG_ERROR, "agent id", ",\"error\":\"%s\"", esc(err).s);
		code = rc == VL_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
		goto done;
	}
	snprintf(a.st.agent, sizeof a.st.agent, "%s", a.id);
	if ((rc = va_spool_open(cfg->dir, a.id, cfg->spool_max_bytes, &a.spool, err, sizeof err)) < 0) {
		log_line(LOG_ERROR, "cannot open the spool", ",\"error\":\"%s\"", esc(err).s);
		goto done;
	}
	va_spool_set_segment_events(a.spool, cfg->spool_segment_events);
	{
		uint64_t hf[8], hl[8];
		size_t holes = va_spool_holes(a.spool, hf, hl, 8);
		for (size_t i = 0; i < holes && i < 8; i++)
			log_line(LOG_ERROR, "spool segment missing",
			         ",\"first\":%" PRIu64 ",\"last\":%" PRIu64
			         ",\"detail\":\"these spool indexes are lost; the server will report "
			         "them as a gap\"",
			         hf[i], hl[i]);
		if (holes > 8)
			log_line(LOG_ERROR, "spool segment missing",
			         ",\"more\":%zu", holes - 8);
	}
	if ((rc = va_forwarder_open(cfg->url, cfg->log, token, a.id, cfg->timeout_s, &a.fwd, err,
	                            sizeof err)) < 0) {
		log_line(LOG_ERROR, "cannot set up forwarding", ",\"error\":\"%s\"", esc(err).s);
		code = rc == VL_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
		goto done;
	}
	for (size_t i = 0; i < a.n_src; i++) {
		struct src_thread *t = &a.src[i];
		va_position resume;
		int have = va_spool_position(a.spool, t->origin, &resume);
		if (have) {
			t->offset = resume.offset;
			t->last = resume;
			t->have_last = 1;
		}
		rc = va_source_open(t->origin, have ? &resume : NULL, source_note, &a, &t->src, err,
		                    sizeof err);
		if (rc < 0) {
			log_line(LOG_ERROR, "cannot open a source", ",\"error\":\"%s\"", esc(err).s);
			goto done;
		}
		if (!t->src->resumable) {
			/* A new stream: positions start over. */
			t->have_last = 0;
			t->offset = 0;
		}
	}
	va_spool_stats ss;
	va_spool_get_stats(a.spool, &ss);
	if (ss.size > 0) {
		/* The newest spooled time so far, so that a clock set back while
		 * the agent was stopped is noticed too. */
		struct oldest_ctx c = {0};
		if (va_spool_scan(a.spool, ss.size - 1, 1, oldest_cb, &c) >= 0)
			a.clock.newest_ns = c.ns;
	}
	log_line(LOG_INFO, "agent started",
	         ",\"agent\":\"%s\",\"server\":\"%s\",\"spool_entries\":%" PRIu64
	         ",\"forwarded\":%" PRIu64 ",\"pending_bytes\":%" PRIu64 ",\"sources\":%zu",
	         a.id, esc(va_forwarder_url(a.fwd)).s, ss.size, ss.forwarded, ss.pending_bytes,
	         a.n_src);

	a.sources_left = (int)a.n_src;
	pthread_t fwd_thread;
	int fwd_started = pthread_create(&fwd_thread, NULL, forwarder_main, &a) == 0;
	for (size_t i = 0; fwd_started && i < a.n_src; i++) {
		a.src[i].started = pthread_create(&a.src[i].th, NULL, source_main, &a.src[i]) == 0;
		if (!a.src[i].started) {
			a.sources_left--;
			log_line(LOG_ERROR, "cannot start a thread", ",\"error\":\"%s\"",
			         esc(strerror(errno)).s);
			a.stop = 1;
		}
	}
	if (!fwd_started) {
		log_line(LOG_ERROR, "cannot start a thread", ",\"error\":\"%s\"",
		         esc(strerror(errno)).s);
		a.stop = 1;
	}

	int ticks = 0, signalled = 0;
	while (!a.stop && !a.drained) {
		struct timespec tick = {0, TICK_MS * 1000000L};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_line(LOG_INFO, "stopping", ",\"signal\":\"%s\"",
			         sig == SIGTERM ? "SIGTERM" : "SIGINT");
			signalled = 1;
			break;
		}
		if (++ticks % (1000 / TICK_MS) == 0) {
			write_status(&a, 1);
			int cp = ticks % (CHECKPOINT_EVERY_S * 1000 / TICK_MS) == 0;
			if ((rc = va_spool_maintain(a.spool, cp)) < 0)
				log_line(LOG_WARN, "spool maintenance failed", ",\"error\":\"%s: %s\"",
				         esc(vl_strerror(rc)).s,
				         esc(vl_log_message(va_spool_log(a.spool))).s);
		}
	}
	a.stop = 1;
	va_spool_wake(a.spool);
	for (size_t i = 0; i < a.n_src; i++)
		if (a.src[i].started)
			pthread_join(a.src[i].th, NULL);
	if (fwd_started)
		pthread_join(fwd_thread, NULL);
	write_status(&a, 0);
	va_spool_get_stats(a.spool, &ss);
	log_line(a.fatal ? LOG_ERROR : LOG_INFO, "agent stopped",
	         ",\"spool_entries\":%" PRIu64 ",\"forwarded\":%" PRIu64 ",\"reason\":\"%s\"",
	         ss.size, ss.forwarded,
	         a.fatal ? "error" : signalled ? "signal" : "sources ended and all forwarded");
	code = a.fatal || !fwd_started ? EXIT_RUNTIME : EXIT_OK;
done:
	explicit_bzero(token, sizeof token);
	for (size_t i = 0; i < a.n_src; i++)
		va_source_close(a.src[i].src);
	free(a.src);
	va_forwarder_close(a.fwd);
	if (a.spool && (rc = va_spool_close(a.spool)) < 0) {
		log_line(LOG_ERROR, "closing the spool failed", ",\"error\":\"%s\"",
		         esc(vl_strerror(rc)).s);
		code = EXIT_RUNTIME;
	}
	pthread_mutex_destroy(&a.mu);
	return code;
}

