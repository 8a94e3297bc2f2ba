/*
 * clock_skew.c — clock-skew: the server's wall clock jumps while it runs (libfaketime).
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

/* clock-skew: the server's wall clock jumps back 10 minutes while it runs
 * (libfaketime, its offset file re-read every second), then forward
 * again: order and integrity are unaffected, and the jump is flagged. */
void vc_scenario_clock_skew(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The server's clock only (agents are not part of the run). A clock that is "
	         "wrong from the start, or runs ahead, cannot be told from the right one by the "
	         "server alone: only a backward jump is flagged.");
	static const char lib[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
	if (access(lib, R_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "libfaketime is not installed (apt-get install faketime): no clock was "
		         "skewed.");
		return;
	}
	char dir[PATH_MAX], offset[PATH_MAX + 16], preload[PATH_MAX + 16],
	    tsfile[PATH_MAX + 32], asan[1024];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	snprintf(offset, sizeof offset, "%.4000s/clock-offset", dir);
	vc_write_text(offset, "+0\n");
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
	snprintf(tsfile, sizeof tsfile, "FAKETIME_TIMESTAMP_FILE=%.4000s", offset);
	const char *old_asan = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	         old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
	char *wrap[] = {"/usr/bin/env", preload, tsfile, "FAKETIME_CACHE_DURATION=1",
	                "FAKETIME_DONT_FAKE_MONOTONIC=1", asan, NULL};
	if (vc_load_server(&L, NULL, wrap) < 0 || vc_load_client(&L, NULL, o->quick ? 2000 : 4000, 16, 10) < 0)
		return;
	int back_min = 5 + (int)vc_rng_below(&L.rng, 56);
	double t1 = o->duration_s * (0.2 + 0.2 * vc_rng_unit(&L.rng));
	double t2 = o->duration_s * (0.6 + 0.2 * vc_rng_unit(&L.rng));
	vc_sleep(t1 - vc_load_now(&L));
	char text[32];
	snprintf(text, sizeof text, "-%dm\n", back_min);
	vc_write_text(offset, text);
	double jumped = vc_load_now(&L);
	vc_sleep(t2 - vc_load_now(&L));
	vc_write_text(offset, "+0\n");
	double back = vc_load_now(&L);
	vc_load_window(&L, jumped, back, "clock %d min behind", back_min);
	vc_load_recovery(&L, back, 10);
	vc_sleep(o->duration_s - vc_load_now(&L));
	vc_load_end(&L, 10);
	char log[1 << 16] = "";
	vc_read_text(L.srv.p.out, log, sizeof log);
	if (!strstr(log, "clock went backwards")) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The server did not flag the clock jumping back %d minutes.", back_min);
	} else if (r->passed) {
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The clock jumped back %d minutes at %.1f s and forward at %.1f s; the "
		        "server flagged it (\"clock went backwards\").",
		        back_min, jumped, back);
	}
}
