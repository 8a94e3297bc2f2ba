/*
 * overload.c — overload: far more load than the server sustains.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/* overload: ten times what the server sustains, through few large
 * batches: the answer must be 503 with Retry-After, memory bounded, and
 * nothing acknowledged lost. */
void vc_scenario_overload(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "One log and one client machine: the server's memory bound is checked by its "
	         "peak RSS, not by an allocator that fails.");
	const char *ini = "queue_max_events = 4000\nqueue_max_bytes = 8MiB\nmax_body_bytes = 1MiB\n"
	                  "max_events_per_request = 1000\n";
	if (vc_load_begin(&L, ini, NULL, 0, 64, 500) < 0)
		return;
	vc_sleep(o->duration_s);
	vc_client_stats st;
	vc_client_stats_get(L.client, &st);
	char status[PATH_MAX + 32], text[4096];
	snprintf(status, sizeof status, "/proc/%d/status", (int)L.srv.p.pid);
	long hwm_kb = -1;
	if (vc_read_text(status, text, sizeof text) > 0) {
		char *p = strstr(text, "VmHWM:");
		if (p)
			hwm_kb = strtol(p + 6, NULL, 10);
	}
	vc_load_window(&L, 0, o->duration_s, "64 connections x 500 events, closed loop");
	vc_load_end(&L, 1);
	if (st.failed == 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The server never refused a request (no 503): not overloaded.");
	}
	if (hwm_kb < 0 || hwm_kb > 512 * 1024) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict, " Server peak RSS %ld KiB (limit 512 MiB).",
		        hwm_kb);
	} else {
		vc_appendf(r->verdict, sizeof r->verdict,
		        " %" PRIu64 " events refused with 503; server peak RSS %ld MiB.", st.failed,
		        hwm_kb / 1024);
	}
}
