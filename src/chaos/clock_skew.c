/*
 * clock_skew.c — clock-skew: the wall clocks of the server and of agents jump or run
 * ahead while they run (libfaketime).
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

#include "agents.h"
#include "harness.h"
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/* One agent's or the server's wall clock set at a load time. */
struct clock_step {
	double at;
	const char *file; /* the offset file of the process */
	char offset[16];  /* what it is set to: "-12m", "+0" */
};

/* The env wrapper that runs a process under libfaketime with its offset
 * in OFFSET_FILE, re-read every second; the monotonic clock stays real
 * (timeouts and pacing are unaffected).  ASan wants to be the first
 * preloaded library: the check is turned off for a sanitizer build.  W
 * holds the strings; wrap its argv. */
struct faketime_wrap {
	char preload[PATH_MAX + 16], tsfile[PATH_MAX + 32], asan[1024];
	char *argv[8];
};

static void faketime_wrap_init(struct faketime_wrap *w, const char *lib, const char *offset_file)
{
	snprintf(w->preload, sizeof w->preload, "LD_PRELOAD=%s", lib);
	snprintf(w->tsfile, sizeof w->tsfile, "FAKETIME_TIMESTAMP_FILE=%.4000s", offset_file);
	const char *old_asan = getenv("ASAN_OPTIONS");
	snprintf(w->asan, sizeof w->asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	         old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
	char **a = w->argv;
	a[0] = "/usr/bin/env";
	a[1] = w->preload;
	a[2] = w->tsfile;
	a[3] = "FAKETIME_CACHE_DURATION=1";
	a[4] = "FAKETIME_DONT_FAKE_MONOTONIC=1";
	a[5] = w->asan;
	a[6] = NULL;
}

/* clock-skew: the wall clocks of the server and of two agents (agents.h)
 * move while they run, each under libfaketime with an offset file of its
 * own: the server's jumps back 5..60 minutes and forward again; agent 0
 * runs 2..30 minutes ahead of the server throughout; agent 1's jumps back
 * 5..60 minutes and forward again (minutes and times from the seed).
 * Order and integrity are unaffected (the client's events and the agents'
 * lines), and each skew is visible: the server flags its own jump ("clock
 * went backwards"), agent 1 flags its jump (the same words, in its log),
 * and the server's sources report shows agent 0's spool times ahead of
 * its receive times (a negative delay). */
void vc_scenario_clock_skew(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "A clock that runs ahead, or is wrong from the start, cannot be told from the "
	         "right one by a process alone: only backward jumps are flagged (by the server "
	         "and by the agent); an agent ahead of the server shows only as a negative delay "
	         "in `vellum sources`. Offsets are re-read once a second.");
	static const char lib[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
	if (access(lib, R_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "libfaketime is not installed (apt-get install faketime): no clock was "
		         "skewed.");
		return;
	}
	char dir[PATH_MAX], offset[PATH_MAX + 16], agent_offset[2][PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	snprintf(offset, sizeof offset, "%.4000s/clock-offset", dir);
	vc_write_text(offset, "+0\n");
	struct faketime_wrap sw, aw[2];
	faketime_wrap_init(&sw, lib, offset);
	/* The schedule, all from the seed. */
	int back_min = 5 + (int)vc_rng_below(&L.rng, 56);
	double t1 = o->duration_s * (0.2 + 0.2 * vc_rng_unit(&L.rng));
	double t2 = o->duration_s * (0.6 + 0.2 * vc_rng_unit(&L.rng));
	int ahead_min = 2 + (int)vc_rng_below(&L.rng, 29);
	int agent_back_min = 5 + (int)vc_rng_below(&L.rng, 56);
	double t3 = o->duration_s * (0.25 + 0.2 * vc_rng_unit(&L.rng));
	double t4 = o->duration_s * (0.6 + 0.2 * vc_rng_unit(&L.rng));
	char ahead[16];
	snprintf(ahead, sizeof ahead, "+%dm\n", ahead_min);
	for (int i = 0; i < 2; i++) {
		snprintf(agent_offset[i], sizeof agent_offset[i], "%.4000s/agent-%d-clock-offset", dir,
		         i);
		vc_write_text(agent_offset[i], i == 0 ? ahead : "+0\n");
		faketime_wrap_init(&aw[i], lib, agent_offset[i]);
	}
	if (vc_load_server(&L, VC_AGENTS_INI, sw.argv) < 0 ||
	    vc_load_client(&L, NULL, o->quick ? 2000 : 4000, 16, 10) < 0)
		return;
	vc_agents A;
	vc_agents_config ac = {.count = 2, .rate = o->quick ? 200 : 500,
	                       .wrap = {aw[0].argv, aw[1].argv}};
	vc_agents_start(&A, &L, &ac);
	vc_load_window(&L, 0, -1, "agent 0 clock %d min ahead", ahead_min);

	struct clock_step steps[4] = {{t1, offset, ""}, {t2, offset, "+0\n"},
	                              {t3, agent_offset[1], ""}, {t4, agent_offset[1], "+0\n"}};
	snprintf(steps[0].offset, sizeof steps[0].offset, "-%dm\n", back_min);
	snprintf(steps[2].offset, sizeof steps[2].offset, "-%dm\n", agent_back_min);
	/* In time order (t1 < t2 and t3 < t4, but the two pairs interleave). */
	for (int i = 1; i < 4; i++)
		for (int j = i; j > 0 && steps[j].at < steps[j - 1].at; j--) {
			struct clock_step tmp = steps[j];
			steps[j] = steps[j - 1];
			steps[j - 1] = tmp;
		}
	double done[4] = {0};
	for (int i = 0; i < 4; i++) {
		vc_sleep(steps[i].at - vc_load_now(&L));
		vc_write_text(steps[i].file, steps[i].offset);
		int k = (steps[i].file == offset ? 0 : 2) + (strcmp(steps[i].offset, "+0\n") == 0);
		done[k] = vc_load_now(&L);
		if (k == 1) /* the server's clock is right again: the client's recovery */
			vc_load_recovery(&L, done[1], 10);
	}
	vc_load_window(&L, done[0], done[1], "server clock %d min behind", back_min);
	vc_load_window(&L, done[2], done[3], "agent 1 clock %d min behind", agent_back_min);
	vc_sleep(o->duration_s - vc_load_now(&L));
	vc_agents_end(&A);
	vc_load_end(&L, 10);
	vc_agents_check(&A);

	/* Each skew, where it should show. */
	char log[1 << 16] = "";
	vc_read_text(L.srv.p.out, log, sizeof log);
	int server_flagged = strstr(log, "clock went backwards") != NULL;
	int agent_flagged = vc_agents_log_has(&A, 1, "\"msg\":\"clock went backwards\"");
	int agent_not_flagged = !vc_agents_log_has(&A, 0, "\"msg\":\"clock went backwards\"");
	vc_agent *g0 = &A.agent[0];
	int ahead_seen = g0->seen && g0->last_delay_s < -30.0 * ahead_min;
	if (!server_flagged) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server did not flag its clock jumping back %d minutes.", back_min);
	}
	if (!agent_flagged) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " Agent 1 did not flag its clock jumping back %d minutes (no \"clock went "
		           "backwards\" in %.300s).",
		           agent_back_min, A.agent[1].p.out);
	}
	if (!agent_not_flagged) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " Agent 0, whose clock ran steadily ahead, said its clock went backwards.");
	}
	if (!ahead_seen) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's sources report does not show agent 0 %d minutes ahead "
		           "(delay %.1f s).",
		           ahead_min, g0->seen ? g0->last_delay_s : 0.0);
	}
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's clock jumped back %d minutes at %.1f s and forward at %.1f s; "
		           "the server flagged it (\"clock went backwards\"). Agent 1's clock jumped "
		           "back %d minutes at %.1f s and forward at %.1f s; the agent flagged it "
		           "(\"clock went backwards\"). Agent 0 ran %d minutes ahead; the server's "
		           "sources report shows its delay as %.1f s.",
		           back_min, done[0], done[1], agent_back_min, done[2], done[3], ahead_min,
		           g0->last_delay_s);
}
