/*
 * storage_check.h — after a storage failure under load: when the log was
 * failed, from the server's own log, and the acknowledgements the history
 * has inside those periods (there must be none).
 *
 * A period starts at a server log line "commit failed", "writing tiles
 * failed" or "checkpoint failed" and ends at the next "log storage
 * recovered" (which the server says before it takes a write again) or
 * "serving" (a restart), or never.  The lines' wall-clock times become load
 * time by WALL0, the wall-clock time of load time 0: the server and the
 * client share the machine's clock.  An acknowledgement received more than
 * SLACK_S into a period (answers of commits made before it may still be on
 * their way) and before its end was given while the log was failed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_STORAGE_CHECK_H
#define VC_STORAGE_CHECK_H

#include <stdint.h>

#define VC_STORAGE_PERIODS_MAX 64

typedef struct vc_storage_failure {
	double start[VC_STORAGE_PERIODS_MAX]; /* load time */
	double end[VC_STORAGE_PERIODS_MAX];   /* -1: not recovered */
	int periods;
	double first_refusal_s;  /* the first 503 storage_failed answer, or -1 */
	uint64_t refusals;       /* 503 storage_failed answers */
	uint64_t acks_inside;    /* acknowledgements received while failed */
} vc_storage_failure;

/* 0, or -errno if the history cannot be read (a missing server log gives
 * no periods). */
int vc_storage_failure_read(const char *history, const char *serve_log, double wall0,
                            double slack_s, vc_storage_failure *f);

#endif
