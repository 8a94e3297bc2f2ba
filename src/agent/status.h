/*
 * status.h — DIR/status.json, which the running agent rewrites every second
 * (a temporary file renamed over it: readers see the old or the new file,
 * never a mix; it is not fsync'ed, being only a report), and what `vellum
 * agent status` makes of it and of the spool.
 *
 * status.json is one JSON object (docs/agent.md, "Status"):
 *
 *   {"format":"vellum-agent-status/1","state":"running"|"stopped",
 *    "agent":ID,"pid":N,"updated":TIME,"server":URL,"log":NAME,
 *    "spool_entries":N,"forwarded":N,"pending":N,"pending_bytes":N,
 *    "spool_max_bytes":N,"oldest_pending":TIME|null,"lag_seconds":X,
 *    "last_success":TIME|null,"last_error":STRING|null,
 *    "last_error_code":STRING|null,"last_error_time":TIME|null,
 *    "through":N,"requests":N,"records_sent":N,"dropped_events":N,
 *    "sources":[{"origin":SPEC,"state":STATE,"position":N},...]}
 *
 * TIMEs are RFC 3339 UTC with nine fractional digits; STATE is reading,
 * blocked (the spool is full), dropping, ended or failed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_STATUS_H
#define VA_STATUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct va_status_source {
	const char *origin;
	const char *state;
	uint64_t position;
} va_status_source;

typedef struct va_status {
	int running;
	char agent[80];
	int pid;
	int64_t updated_ns;
	const char *server, *log;
	uint64_t spool_entries, forwarded, pending_bytes, spool_max_bytes;
	int64_t oldest_pending_ns; /* 0: nothing pending */
	int64_t last_success_ns;   /* 0: never */
	int64_t last_error_ns;     /* 0: no error yet */
	char last_error[512];
	char last_error_code[64];
	int64_t through;           /* the server's last "through"; -1 unknown */
	uint64_t requests, records_sent, dropped_events;
	const va_status_source *sources;
	size_t n_sources;
} va_status;

/* Writes DIR/status.json. */
int va_status_write(const char *dir, const va_status *st);

#endif
