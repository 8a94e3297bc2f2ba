/*
 * agent.h — `vellum agent`: reads events from its sources, spools each one
 * durably before it moves a source's position on, and forwards the spool
 * in order to a vellum server, so that nothing is lost and nothing is
 * duplicated across crashes, restarts and outages (docs/agent.md).
 *
 * Threads: one per source (read, spool), one forwarder (read the spool,
 * POST, advance the forwarded cursor), and the caller's, which waits for
 * signals and rewrites the status file every second.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_AGENT_H
#define VA_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct va_config {
	const char *url;          /* the server base, http(s)://host:port */
	const char *log;          /* the log name */
	const char *token_file;   /* holds one bearer token */
	const char *dir;          /* the agent directory (--spool) */
	const char *id;           /* NULL: the stored or a new generated one */
	const char *const *sources; /* source specs */
	size_t n_sources;
	size_t batch_records;     /* records per request (default 5000) */
	size_t batch_bytes;       /* body bytes per request (default 4 MiB) */
	uint64_t spool_max_bytes; /* pending bytes before sources pause/drop */
	int on_full_drop;         /* 0: block, 1: drop */
	uint64_t spool_segment_events; /* 0: VA_SPOOL_SEGMENT_EVENTS */
	uint64_t backoff_base_ms; /* first retry waits up to this (100) */
	uint64_t backoff_max_ms;  /* the cap, and the pace of unfixable errors */
	long timeout_s;           /* per request */
} va_config;

/* Defaults for everything but url, log, token_file, dir and sources. */
void va_config_defaults(va_config *c);

/* Runs the agent until SIGTERM or SIGINT, or until every source has
 * ended (stdin at EOF) and everything spooled is forwarded.  Blocks
 * SIGTERM, SIGINT and SIGPIPE in the calling thread (before it starts any
 * other).  Returns an exit code: 0, 2 (unusable configuration) or 3. */
int va_agent_run(const va_config *c);

/* `vellum agent status`: prints the state of the agent directory DIR to
 * OUT, readable or as one JSON object.  Returns an exit code. */
int va_agent_status(const char *dir, int json, FILE *out);

#endif
