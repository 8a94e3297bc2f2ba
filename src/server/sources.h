/*
 * sources.h — what the server knows of each agent that forwards to a log:
 * which spool indexes it holds, so a retried event is never written twice
 * (also after a restart: the state is rebuilt from the log's envelopes),
 * the gaps (indexes missing below the highest one received: events lost
 * before they reached vellum), and the delay from spool to server.
 *
 * Per agent: every index below `next` is held; `above` lists, sorted, the
 * held indexes past `next` (usually none: agents forward in order).
 * Thread-safe (one mutex per set).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_SOURCES_H
#define VS_SOURCES_H

#include <stddef.h>
#include <stdint.h>

typedef struct vs_sources vs_sources;

vs_sources *vs_sources_new(void);
void vs_sources_free(vs_sources *s);

/* Whether (AGENT, INDEX) is held. */
int vs_sources_has(vs_sources *s, const char *agent, size_t alen, uint64_t index);

/* Record that (AGENT, INDEX) is in the log; SPOOLED and RECEIVED are
 * nanoseconds since the epoch (the delay is their difference).  Returns 1
 * if it was not held before, 0 if it was, -1 out of memory. */
int vs_sources_mark(vs_sources *s, const char *agent, size_t alen, uint64_t index,
                    int64_t spooled_ns, int64_t received_ns);

/* Count a duplicate delivery (a retry of a held index). */
void vs_sources_duplicate(vs_sources *s, const char *agent, size_t alen, uint64_t n);

/* The highest index T such that 0..T are all held, or -1. */
int64_t vs_sources_through(vs_sources *s, const char *agent, size_t alen);

/* Indexes missing below the highest held one (the sum of the gaps). */
uint64_t vs_sources_missing(vs_sources *s, const char *agent, size_t alen);

/* The report as JSON (malloc'ed):
 *   {"log":"L","sources":[{"agent":"A","through":T,"highest":H,"held":N,
 *     "missing":M,"gaps":[[first,last],...],"duplicates":D,
 *     "last_delay_seconds":x,"max_delay_seconds":y,"last_received":"RFC 3339"}]}
 * with at most MAX_GAPS gap ranges per agent (the first ones). */
char *vs_sources_json(vs_sources *s, const char *log, size_t max_gaps);

/* The report for people (malloc'ed): a summary line, then one line per
 * agent: id, through, highest, held, missing, the first MAX_GAPS gaps,
 * last and maximum delay, last receive time. */
char *vs_sources_text(vs_sources *s, const char *log, size_t max_gaps);

/* Append to TEXT (malloc'ed, *len bytes; reallocated) one Prometheus
 * sample per agent of FAMILY (one of "through", "missing",
 * "delay_seconds"): vellum_agent_<FAMILY>{log="LOG",agent="A"} V.
 * 0, or -1 out of memory. */
int vs_sources_prometheus(vs_sources *s, const char *log, const char *family, char **text,
                          size_t *len);

/* Agents known; for metrics. */
size_t vs_sources_count(vs_sources *s);
/* Indexes missing over all agents; for metrics (a lasting gap is an alarm). */
uint64_t vs_sources_missing_total(vs_sources *s);

#endif
