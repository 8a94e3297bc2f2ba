/*
 * server.h — the parts of `vellum serve` and how they meet.
 *
 *   HTTP (httpd.c: the server; http.c: the endpoints) and syslog listeners (syslog_listen.c)
 *     parse and authorise requests, wrap each event in its envelope and
 *     hand a job (one request's entries) to the log's sequencer;
 *   the sequencer (sequencer.c) runs two threads per log: the committer
 *     takes every queued job at once, appends them with one
 *     vl_log_append (one write, one fdatasync) and completes each job;
 *     the checkpointer writes tiles and signs a checkpoint every
 *     checkpoint_interval, completing jobs that wait for one (receipts);
 *   serve.c starts everything from the configuration, reloads tokens on
 *     SIGHUP and drains on SIGTERM.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_SERVER_H
#define VS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "idem.h"
#include "json_escape.h"
#include "metrics.h"
#include "sources.h"
#include "tokens.h"
#include "vellum.h"

struct vs_server;
struct vs_log;

/* Committer threads per log.  One: while it waits for its fdatasync the
 * next requests queue up and all go into its next commit.  (With two, the
 * second waits inside the engine for the first: each commit then costs
 * more thread wake-ups, and A/B runs were 5-30 % slower.) */
#define VS_COMMITTERS 1

/* One request's worth of entries for one log, queued to its sequencer. */
typedef struct vs_job {
	struct vs_job *next;
	struct vs_log *log;
	/* The entries to append: envelopes in one buffer. */
	vl_entry *entries;
	size_t n_entries;
	uint8_t *buf;
	size_t buf_len;
	/* Per event: the entry it was wrapped in (entries[slot[e]]) until
	 * submit; then, for an event already in the log (a retry), slot[e] is
	 * -1 and index[e] its original index, and for an event repeated
	 * inside this request slot[e] is -2 - (the earlier event). */
	size_t n_events;
	long *slot;
	uint64_t *index;
	/* Idempotency keys (32 bytes each): key k covers events
	 * key_event[k] .. key_event[k] + key_count[k] - 1. */
	uint8_t (*keys)[VS_IDEM_KEY_SIZE];
	size_t *key_event;
	uint32_t *key_count;
	uint8_t *key_state;      /* 0 new (pending while queued), 1 replayed */
	size_t n_keys;
	uint32_t serial;
	int want_checkpoint;
	/* Results. */
	uint64_t first;          /* index of entries[0] */
	int rc;                  /* vl_log_append's result */
	char **receipts;         /* with want_checkpoint: one per event */
	char *checkpoint_note;
	struct timespec acked;
	/* Completion: a suspended HTTP connection is resumed, or a waiting
	 * thread (syslog) is woken. */
	void (*complete)(struct vs_job *job);
	void *complete_arg;
	_Atomic int done;
} vs_job;

typedef struct vs_log {
	struct vs_server *server;
	const vs_log_config *cfg;
	vl_log *log;
	char *vkey;
	char *origin;
	pthread_mutex_t mu;          /* queue, waiters, idem, stopping */
	pthread_cond_t work_cv;      /* committer: a job is queued */
	pthread_cond_t cp_cv;        /* checkpointer: someone waits */
	vs_job *queue_head, *queue_tail;
	uint64_t queued_events, queued_bytes;
	vs_job *cp_waiters;          /* committed, waiting for a checkpoint */
	vs_idem *idem;
	vs_sources *sources;         /* agents forwarding to this log */
	int stopping, committer_idle;
	uint64_t committed_size;     /* entries durable */
	uint64_t checkpoint_size;    /* entries covered by the newest checkpoint */
	struct timespec checkpoint_time;
	int poisoned;                /* the engine failed: not ready */
	struct timespec poisoned_at; /* when it was found failed (CLOCK_MONOTONIC) */
	uint64_t reopens;            /* times the failed log was reopened in place */
	/* The clock: the newest wall-clock time the log has seen (an entry's
	 * received time, or a commit), and the backward jumps noticed. */
	int64_t newest_time_ns;
	uint64_t clock_backwards;    /* times the clock was found behind it */
	double clock_behind_s;       /* by how much, the last time */
	int64_t clock_warned_ns;     /* when it was last logged */
	/* Commits not yet covered by a checkpoint: (end index, ack time). */
	struct ack_mark { uint64_t end; struct timespec at; } *acks;
	size_t acks_head, acks_len, acks_cap;
	pthread_t committers[VS_COMMITTERS], checkpointer;
	int threads_started;
	void *syslog;                /* vs_syslog_server * */
	void *syslog_metrics;        /* what the syslog gauges read */
	/* metrics */
	vs_counter *m_events, *m_bytes, *m_commits, *m_checkpoints, *m_replayed;
	vs_histogram *m_fsync, *m_commit_events, *m_ack_to_cp;
} vs_log;

typedef struct vs_server {
	vs_config cfg;
	vs_log *logs;
	size_t n_logs;
	pthread_rwlock_t tokens_lock;
	vs_tokens *tokens;
	vs_metrics *metrics;
	void *httpd;                 /* vh_server * (httpd.h) */
	int listen_fd;
	_Atomic uint64_t inflight_bytes; /* request bodies and envelopes held */
	_Atomic int draining;
	_Atomic int active_requests;  /* between headers and completion */
	struct timespec started;
	vs_counter *m_requests, *m_rejects[16];
	vs_histogram *m_request_seconds;
} vs_server;

/* Reject reasons counted in vellum_rejects_total{reason=...}. */
enum vs_reject {
	VS_REJ_MALFORMED, VS_REJ_CONTENT_TYPE, VS_REJ_TOO_LARGE, VS_REJ_ENTRY_TOO_LARGE,
	VS_REJ_TOO_MANY, VS_REJ_UNAUTHORIZED, VS_REJ_FORBIDDEN, VS_REJ_NOT_FOUND,
	VS_REJ_QUEUE_FULL, VS_REJ_TIMEOUT, VS_REJ_METHOD, VS_REJ_CONFLICT, VS_REJ_INTERNAL,
	VS_REJ_BAD_REQUEST, VS_REJ_SYSLOG, VS_REJ__COUNT
};
extern const char *const vs_reject_names[VS_REJ__COUNT];

/* Structured log lines on stderr: {"time":...,"level":...,"msg":...,...}.
 * FIELDS is a preformatted JSON fragment (",\"k\":\"v\"...") or "". */
void vs_log_line(int level, const char *msg, const char *fields_fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum { VS_DEBUG, VS_INFO, VS_WARN, VS_ERROR };
extern int vs_log_level;


/* Sequencer (sequencer.c). */
int vs_sequencer_start(vs_log *l, char *err, size_t errcap);
/* Resolve JOB's idempotency keys and queue what is new.  Returns 0 (queued:
 * job->complete runs on a sequencer thread once done), 1 (nothing new:
 * every event is a retry; the job is complete now, nothing queued),
 * VL_EEXIST (a request with one of these keys is still in flight),
 * VL_ETOOBIG (the queue is full: 503), VL_ECLOSED (stopping). */
int vs_sequencer_submit(vs_log *l, vs_job *job);
/* Stop: refuse new jobs, finish queued ones, sign a final checkpoint. */
int vs_sequencer_stop(vs_log *l);
/* Rebuild the idempotency index from the newest entries. */
int vs_idem_rebuild(vs_log *l);
/* Compares the wall clock (NOW_NS) with the newest time the log has seen:
 * more than a second behind it is a backward jump — counted, and logged
 * (at most once a minute) — else NOW_NS becomes the newest.  Takes l->mu
 * unless LOCKED. */
void vs_clock_check(vs_log *l, int64_t now_ns, int locked);
void vs_job_free(vs_job *job);
double vs_checkpoint_age(void *arg);

/* HTTP (http.c). */
int vs_http_start(vs_server *s, char *err, size_t errcap);
void vs_http_quiesce(vs_server *s);
void vs_http_stop(vs_server *s);
vs_log *vs_find_log(vs_server *s, const char *name, size_t len);

static inline double vs_elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

#endif
