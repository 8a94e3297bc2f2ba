/*
 * chaos_report_demo.c — writes a chaos report (report.json, report.html)
 * of made-up results into the directory given as its argument: a scenario
 * that passed, one that failed and one that was skipped, with fault
 * windows and a minute of samples.  The end-to-end test e2e/chaos_report.sh
 * renders it in a browser.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "chaos.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SECONDS 60

static vc_sample samples[2][SECONDS];

/* A minute of load at about 2000 events/s that stalls while a fault is on. */
static void fill(vc_sample *s, double fault_from, double fault_to)
{
	for (int i = 0; i < SECONDS; i++) {
		int faulty = i >= fault_from && i < fault_to;
		s[i].t_s = i;
		s[i].acked = faulty ? (uint64_t)(i % 3) * 40
		                    : 1800 + (uint64_t)(200 * sin(i / 4.0));
		s[i].failed = faulty ? 150 + (uint64_t)(i % 5) * 10 : 0;
		s[i].unknown = faulty ? 60 : (i % 17 == 0 ? 3 : 0);
		s[i].p50_ms = faulty ? 400 + 30 * (i % 4) : 2.5 + (i % 7) * 0.3;
		s[i].p99_ms = faulty ? 4000 + 200 * (i % 3) : 12 + (i % 5) * 2;
	}
}

int main(int argc, char **argv)
{
	vc_window w_kill[] = {{10, 12, "kill -9 the server"}, {30, 33, "kill -9 the server"}};
	vc_window w_part[] = {{20, 35, "blackhole between agent and server"},
	                      {45, -1, "latency=200~50 <until the end>"}};
	vc_result r[3];
	char err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: chaos_report_demo DIR\n");
		return 2;
	}
	memset(r, 0, sizeof r);
	fill(samples[0], 10, 12);
	fill(samples[1], 20, 35);

	snprintf(r[0].name, sizeof r[0].name, "kill-server");
	r[0].seed = 18446744073709551615u;
	r[0].passed = 1;
	r[0].duration_s = SECONDS;
	r[0].acked = 104211;
	r[0].recovery_seconds = 0.84;
	r[0].p50_ms = 2.9, r[0].p90_ms = 6.1, r[0].p99_ms = 14.2, r[0].max_ms = 4210;
	snprintf(r[0].replay, sizeof r[0].replay,
	         "vellum chaos run --scenario kill-server --seed 18446744073709551615");
	snprintf(r[0].verdict, sizeof r[0].verdict,
	         "Every acknowledged event is in the log, once, byte for byte.");
	snprintf(r[0].limits, sizeof r[0].limits, "Only SIGKILL; no power loss.");
	r[0].windows = w_kill, r[0].n_windows = 2;
	r[0].samples = samples[0], r[0].n_samples = SECONDS;

	snprintf(r[1].name, sizeof r[1].name, "partition");
	r[1].seed = 42;
	r[1].duration_s = SECONDS;
	r[1].acked = 80002, r[1].lost = 3, r[1].holes = 1, r[1].duplicated = 2;
	r[1].recovery_seconds = 2.5;
	r[1].p50_ms = 3.4, r[1].p90_ms = 420, r[1].p99_ms = 4100, r[1].max_ms = 5002;
	snprintf(r[1].replay, sizeof r[1].replay,
	         "vellum chaos run --scenario partition --seed 42");
	snprintf(r[1].verdict, sizeof r[1].verdict,
	         "3 acknowledged events are missing from the log.\n"
	         "First: event 7781 acked at index 7790 <not found>.");
	snprintf(r[1].limits, sizeof r[1].limits, "A partition on loopback & one direction only.");
	r[1].windows = w_part, r[1].n_windows = 2;
	r[1].samples = samples[1], r[1].n_samples = SECONDS;

	snprintf(r[2].name, sizeof r[2].name, "disk-full");
	r[2].seed = 7;
	r[2].skipped = 1;
	r[2].recovery_seconds = -1;
	snprintf(r[2].replay, sizeof r[2].replay,
	         "vellum chaos run --scenario disk-full --seed 7");
	snprintf(r[2].verdict, sizeof r[2].verdict, "skipped: needs root to mount a small tmpfs");
	snprintf(r[2].limits, sizeof r[2].limits, "Not run.");

	if (vc_report_write(argv[1], "vellum chaos run --all --seed 1 --out report", r, 3, err,
	                    sizeof err) < 0) {
		fprintf(stderr, "chaos_report_demo: %s\n", err);
		return 1;
	}
	return 0;
}
