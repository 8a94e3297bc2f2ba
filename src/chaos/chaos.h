/*
 * chaos.h — `vellum chaos run`: real vellum processes under faults, a load
 * client that records every request and acknowledgement (the history), a
 * checker that compares the history with the final log, and the report.
 * See docs/chaos.md.
 *
 *   rng.c      the seeded random numbers every choice comes from
 *   client.c   the load client and its history file
 *   check.c    the checker: history + log directory -> lost, duplicated,
 *              holes, corrupt
 *   report.c   report.json and report.html (inline SVG)
 *   harness.c  the processes a run starts, and what load scenarios share
 *   agents.c   the agent load: `vellum agent`s next to the client, their
 *              lines, and the check of the agents' log (agents.h)
 *   run.c      the table of scenarios, running them, the verdicts
 *   crash.c, partition.c, storage.c, clock_skew.c, overload.c,
 *   config_error.c, power_loss.c, tamper.c   the scenarios
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_CHAOS_H
#define VC_CHAOS_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64.  The same seed
 * gives the same sequence on every machine.                            */

typedef struct vc_rng {
	uint64_t s[4];
} vc_rng;

void vc_rng_seed(vc_rng *r, uint64_t seed);
uint64_t vc_rng_next(vc_rng *r);
/* Uniform in [0, n) (n > 0), without modulo bias. */
uint64_t vc_rng_below(vc_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double vc_rng_unit(vc_rng *r);
/* A seed for a part of a run: a hash of (seed, name), so that adding a
 * scenario or a part does not change the others' choices. */
uint64_t vc_rng_derive(uint64_t seed, const char *name);

/* ------------------------------------------------------------------ */
/* Events.  Event number N of a run with seed S is, byte for byte,
 *
 *   {"chaos":"<S in decimal>","n":<N>,"pad":"<P>"}
 *
 * where P is PAD_LEN(S, N) lowercase hex digits (16..200) of the hash
 * chain seeded by (S, N) — so events differ in size and content, and the
 * checker regenerates every expected byte from (S, N) alone.           */

#define VC_EVENT_MAX 512
/* Writes event N of seed S into buf (at least VC_EVENT_MAX bytes);
 * returns its length. */
size_t vc_event(uint64_t seed, uint64_t n, char *buf);
/* Parses an event written by vc_event: 1 and *seed, *n set if BUF (LEN
 * bytes) has that shape (the pad is not checked here), else 0. */
int vc_event_parse(const char *buf, size_t len, uint64_t *seed, uint64_t *n);

/* ------------------------------------------------------------------ */
/* The history: a text file, one record per line, appended with write(2)
 * as things happen (a request's line before it is sent, its answer's
 * lines after), and fdatasync'ed at least every 100 ms and at close.
 * Times are nanoseconds of CLOCK_MONOTONIC since the client started.
 *
 *   send <req> <t> <first-event> <count> <attempt>
 *   ack <req> <t> <event> <index> <leaf-hash base64>       one per event
 *   fail <req> <t> <http-status> <error-code>              not written: a
 *                                                           definite refusal
 *   info <req> <t> <why>                                   unknown outcome:
 *                                                           timeout, reset,
 *                                                           connection refused
 *                                                           after sending
 *
 * <req> numbers requests from 0; a retry of an unknown outcome is a new
 * <req> with the same events and the same Idempotency-Key ("chaos-<seed>-
 * <first-event>"), <attempt> counting from 1.                           */

typedef struct vc_client vc_client;

typedef struct vc_client_config {
	const char *url;        /* the server base, http://127.0.0.1:PORT */
	const char *token;      /* bearer token with append scope */
	const char *log;        /* the log name ("default") */
	const char *history;    /* the history file (created; must not exist) */
	uint64_t seed;          /* events are vc_event(seed, n) */
	int connections;        /* concurrent requests (1..256) */
	double rate;            /* events/s to offer; 0: as fast as answered */
	int batch;              /* events per request (1..1000) */
	int timeout_ms;         /* per request */
	int retry_unknown;      /* retry an unknown outcome (same key) until
	                           answered or the client stops */
	int ignore_retry_after; /* after a 503, wait 10 ms instead of the
	                           Retry-After (a client that hammers) */
} vc_client_config;

/* One second of load, for the report. */
typedef struct vc_sample {
	double t_s;         /* the second's start, since the client started */
	uint64_t acked;     /* events acknowledged in it */
	uint64_t failed;    /* events refused (fail) in it */
	uint64_t unknown;   /* events with an unknown outcome (info) in it */
	double p50_ms, p99_ms; /* of the acknowledged requests answered in it */
} vc_sample;

typedef struct vc_client_stats {
	uint64_t sent_events, acked, failed, unknown;
	uint64_t requests;
	double p50_ms, p90_ms, p99_ms, max_ms; /* acknowledged requests */
	double last_ack_s;  /* when the newest acknowledgement came, or -1 */
	uint64_t answers_503;             /* 503 answers (requests, not events) */
	uint64_t answers_503_retry_after; /* ... of them with a Retry-After header */
} vc_client_stats;

/* Starts the client on threads of its own.  0, or a negative code with
 * err set. */
int vc_client_start(const vc_client_config *c, vc_client **out, char *err, size_t errcap);
/* Seconds since the client started. */
double vc_client_now(const vc_client *c);
void vc_client_stats_get(vc_client *c, vc_client_stats *st);
/* Changes the offered rate (0: closed loop; < 0: pause sending). */
void vc_client_set_rate(vc_client *c, double rate);
/* Stops sending, waits up to DRAIN_MS for requests in flight (retrying
 * unknown outcomes meanwhile if configured), syncs and closes the
 * history, frees.  The per-second samples are copied to *samples
 * (malloc'ed, may be NULL).  0, or a negative code. */
int vc_client_stop(vc_client *c, int drain_ms, vc_sample **samples, size_t *n_samples);

/* ------------------------------------------------------------------ */
/* The checker.                                                         */

typedef struct vc_check {
	uint64_t acked;       /* distinct events with an ack line */
	uint64_t lost;        /* acked, not in the log */
	uint64_t holes;       /* lost, while an event acked after it is in the log */
	uint64_t duplicated;  /* events in the log more than once (acked or not) */
	uint64_t corrupt;     /* acked events whose entry at the acked index is not
	                         exactly the event, or whose leaf hash differs */
	uint64_t unconfirmed_present; /* in the log without an ack (unknown outcome) */
	uint64_t foreign;     /* entries of the log that are no event of this seed */
	uint64_t log_size;
	char first_problem[512]; /* a description of the first problem, or "" */
} vc_check;

/*
 * Reads HISTORY and the log directory LOGDIR (read-only: vl_log_open then
 * vl_log_scan, each entry's envelope parsed for its event bytes) and fills
 * *out.  0 when both could be read (whatever they hold), or a negative
 * code with err set.
 */
int vc_check_run(const char *logdir, const char *history, uint64_t seed, vc_check *out,
                 char *err, size_t errcap);

/* ------------------------------------------------------------------ */
/* The report.                                                          */

/* A fault in effect from start_s to end_s (seconds since the load began;
 * end_s < 0: until the end). */
typedef struct vc_window {
	double start_s, end_s;
	char what[96];
} vc_window;

typedef struct vc_result {
	char name[32];
	uint64_t seed;
	int passed;
	int skipped;                /* could not run here: reason in verdict */
	double duration_s;
	uint64_t acked, lost, duplicated, holes, corrupt;
	uint64_t corruptions_injected, corruptions_detected;
	uint64_t acks_after_io_error;
	double recovery_seconds;    /* healing to the next acknowledgement; < 0: n/a */
	/* The agent load (agents.h), when the scenario ran agents (agents > 0):
	 * lines the agents' writers wrote, and how many of them the agents'
	 * log lost, held twice, held out of writing order, or held damaged. */
	unsigned agents;
	uint64_t agent_lines, agent_lost, agent_duplicated, agent_reordered, agent_corrupt;
	double p50_ms, p90_ms, p99_ms, max_ms;
	char replay[512];           /* the command that replays this scenario */
	char verdict[1024];         /* what failed, or what was seen */
	char limits[512];           /* what this scenario did not test */
	vc_window *windows;
	size_t n_windows;
	vc_sample *samples;
	size_t n_samples;
} vc_result;

/* Writes DIR/report.json and DIR/report.html (DIR is created).  COMMAND is
 * the command line of the run.  0, or a negative code with err set. */
int vc_report_write(const char *dir, const char *command, const vc_result *results, size_t n,
                    char *err, size_t errcap);

#endif
