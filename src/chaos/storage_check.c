/*
 * storage_check.c — what the fsync-error and disk-full scenarios check
 * after a storage failure: when the server's log says the log was failed,
 * and whether the history has acknowledgements inside (storage_check.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage_check.h"

/* "time":"YYYY-MM-DDTHH:MM:SS.mmmZ" of a server log line, in Unix seconds. */
static double line_time(const char *line)
{
	const char *p = strstr(line, "\"time\":\"");
	struct tm tm = {0};
	int ms = 0;
	if (!p || sscanf(p + 8, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
	                 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}

static void read_failed_periods(const char *serve_log, double wall0, vc_storage_failure *f)
{
	FILE *fp = fopen(serve_log, "r");
	f->periods = 0;
	if (!fp)
		return;
	char line[4096];
	int open_period = 0;
	while (fgets(line, sizeof line, fp)) {
		double t = line_time(line);
		if (t < 0)
			continue;
		t -= wall0;
		if (!open_period && f->periods < VC_STORAGE_PERIODS_MAX &&
		    (strstr(line, "\"msg\":\"commit failed\"") ||
		     strstr(line, "\"msg\":\"writing tiles failed\"") ||
		     strstr(line, "\"msg\":\"checkpoint failed\""))) {
			f->start[f->periods] = t;
			f->end[f->periods] = -1;
			f->periods++;
			open_period = 1;
		} else if (open_period && (strstr(line, "\"msg\":\"log storage recovered\"") ||
		                           strstr(line, "\"msg\":\"serving\""))) {
			/* Reopened in place, or a restart. */
			f->end[f->periods - 1] = t;
			open_period = 0;
		}
	}
	fclose(fp);
}

int vc_storage_failure_read(const char *history, const char *serve_log, double wall0,
                            double slack_s, vc_storage_failure *f)
{
	read_failed_periods(serve_log, wall0, f);
	FILE *fp = fopen(history, "r");
	if (!fp)
		return -errno;
	char line[512];
	f->first_refusal_s = -1;
	f->refusals = f->acks_inside = 0;
	while (fgets(line, sizeof line, fp)) {
		unsigned long long req, t;
		int status;
		char code[64];
		if (sscanf(line, "fail %llu %llu %d %63s", &req, &t, &status, code) == 4 &&
		    status == 503 && strcmp(code, "storage_failed") == 0) {
			if (f->first_refusal_s < 0)
				f->first_refusal_s = (double)t / 1e9;
			f->refusals++;
		} else if (sscanf(line, "ack %llu %llu", &req, &t) == 2) {
			double at = (double)t / 1e9;
			for (int i = 0; i < f->periods; i++)
				if (at > f->start[i] + slack_s && (f->end[i] < 0 || at < f->end[i])) {
					f->acks_inside++;
					break;
				}
		}
	}
	fclose(fp);
	return 0;
}
