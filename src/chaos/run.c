/*
 * run.c — `vellum chaos run` and `vellum chaos list`: the scenarios, the
 * supervisor of the real processes they start, the seeded fault schedule,
 * and the verdict of each scenario (chaos.h, docs/chaos.md).
 *
 * The scenarios live in files of their own (crash.c, partition.c,
 * storage.c, clock_skew.c, overload.c, config_error.c, power_loss.c,
 * tamper.c), on the harness in harness.c.  A scenario gets a scratch
 * directory of its own, starts `vellum serve` (and
 * what else it needs) as child processes of this one, drives a load through
 * the client (client.c, which writes the history), injects its faults at
 * times drawn from its seed, heals, lets the client drain, stops the
 * server, and then checks: the checker (check.c) compares the history with
 * the log directory, and `vellum verify` verifies the log.  Every random
 * choice comes from vc_rng_derive(run seed, scenario name), so `--seed`
 * replays a scenario's schedule exactly.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* The table.                                                          */

typedef struct scenario {
	const char *name;
	const char *summary; /* what fault, what it must prove */
	void (*run)(const vc_run_options *o, vc_result *r);
} scenario;

static const scenario scenarios[] = {
	{"crash", "kill -9 of the server at random moments and at an exact count of fdatasync, "
	          "pwrite64 or rename calls: "
	          "no acknowledged event lost or duplicated, the log verifies",
	 vc_scenario_crash},
	{"pause", "SIGSTOP/SIGCONT of the server and of agents: acknowledgements resume, "
	          "nothing lost; every agent line in the log once, in order",
	 vc_scenario_pause},
	{"partition", "client-server and agent-server network cut by the fault proxy "
	              "(blackhole, reset, latency, throttle, half-open) and by nftables in a "
	              "network namespace (drop, reset, one-way): each event and line written "
	              "once",
	 vc_scenario_partition},
	{"fsync-error", "fdatasync or pwrite64 fails with EIO (strace injection at a seeded "
	                "call count): no acknowledgement while failed, a clear error, the log "
	                "reopened in place, recovery on restart too",
	 vc_scenario_fsync_error},
	{"disk-full", "the data directory's filesystem fills up under load: 503 "
	              "storage_failed, nothing acknowledged while full or lost, ingest resumes by "
	              "itself once space is freed (no restart)",
	 vc_scenario_disk_full},
	{"clock-skew", "the clocks of the server and of agents jump back or run ahead "
	               "(libfaketime): order and integrity unaffected, the skews flagged",
	 vc_scenario_clock_skew},
	{"overload", "ten times what the server sustains (a slow disk, a client ignoring "
	             "Retry-After): every 503 with Retry-After, bounded memory, no acknowledged "
	             "event lost",
	 vc_scenario_overload},
	{"config-error", "bad configurations: refused at start with a clear message, never "
	                 "half-working",
	 vc_scenario_config_error},
	{"power-loss", "the engine under the storage simulator, crashes that drop, tear or "
	               "garble unsynced writes: every acknowledged entry survives, byte-exact",
	 vc_scenario_power_loss},
	{"bit-rot", "bits flipped in stored files: vellum verify fails, naming the right file "
	            "or entry, every time",
	 vc_scenario_bit_rot},
	{"tamper", "files edited, deleted, reordered, truncated, rolled back: vellum verify "
	           "fails at the right place, every time",
	 vc_scenario_tamper},
};

#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])

void vc_run_list(FILE *out)
{
	for (size_t i = 0; i < N_SCENARIOS; i++)
		fprintf(out, "%-13s %s\n", scenarios[i].name, scenarios[i].summary);
}

int vc_run_names_ok(const char *names, char *err, size_t errcap)
{
	if (strcmp(names, "all") == 0)
		return 0;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", names);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < N_SCENARIOS && strcmp(scenarios[i].name, t) != 0)
			i++;
		if (i == N_SCENARIOS) {
			snprintf(err, errcap, "unknown scenario '%s' (vellum chaos list)", t);
			return -1;
		}
	}
	return 0;
}

static int selected(const char *names, const char *name)
{
	if (!names || strcmp(names, "all") == 0)
		return 1;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", names);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, name) == 0)
			return 1;
	return 0;
}

int vc_run(const vc_run_options *o, int *all_passed)
{
	size_t n = 0;
	vc_result *results = calloc(N_SCENARIOS, sizeof *results);
	if (!results)
		return VL_ENOMEM;
	if (vc_mkdirs(o->dir) < 0) {
		fprintf(stderr, "vellum chaos run: cannot create %s: %s\n", o->dir, strerror(errno));
		free(results);
		return -errno;
	}
	*all_passed = 1;
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		if (!selected(o->scenarios, scenarios[i].name))
			continue;
		vc_result *r = &results[n++];
		snprintf(r->name, sizeof r->name, "%s", scenarios[i].name);
		r->seed = vc_rng_derive(o->seed, scenarios[i].name);
		r->recovery_seconds = -1;
		snprintf(r->replay, sizeof r->replay,
		         "vellum chaos run --scenario %s --seed %" PRIu64 "%s --duration %.0f",
		         r->name, o->seed, o->quick ? " --quick" : "", o->duration_s);
		vc_say(o, "%s: starting (seed %" PRIu64 ")", r->name, r->seed);
		double t0 = vc_mono_s();
		scenarios[i].run(o, r);
		vc_say(o, "%s: %s in %.1f s: %s", r->name,
		    r->skipped ? "SKIPPED" : r->passed ? "PASSED" : "FAILED", vc_mono_s() - t0,
		    r->verdict);
		if (!r->passed && !r->skipped)
			*all_passed = 0;
	}
	char err[512];
	int rc = vc_report_write(o->report_dir ? o->report_dir : o->dir, o->command, results, n,
	                         err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "vellum chaos run: cannot write the report: %s\n", err);
	for (size_t i = 0; i < n; i++) {
		free(results[i].windows);
		free(results[i].samples);
	}
	free(results);
	return rc;
}

