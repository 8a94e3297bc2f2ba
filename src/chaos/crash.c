/*
 * crash.c — crash and pause: the server killed with kill -9 (at random moments and at an
 * exact system call count), or stopped with SIGSTOP, under load.
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

/* crash: kill -9 of the server at random moments, then restart; and, where
 * strace is installed, once at an exact count of fdatasync calls. */
void vc_scenario_crash(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "kill -9 keeps the page cache: what was written but not synced survives it "
	         "(the power-loss scenario covers that).");
	if (vc_load_begin(&L, NULL, NULL, o->quick ? 3000 : 5000, 16, 10) < 0)
		return;
	double dur = o->duration_s;
	int kills = o->quick ? 3 : (int)(dur / 4) + 1;
	for (int k = 0; k < kills; k++) {
		double at = dur * (k + 0.2 + 0.6 * vc_rng_unit(&L.rng)) / kills;
		vc_sleep(at - vc_load_now(&L));
		double t = vc_load_now(&L);
		vc_proc_kill(&L.srv.p, SIGKILL);
		vc_proc_wait(&L.srv.p, 10);
		double down = 0.1 + 0.9 * vc_rng_unit(&L.rng);
		vc_sleep(down);
		if (vc_server_start(&L.srv, NULL) < 0) {
			vc_appendf(r->verdict, sizeof r->verdict, "restart %d failed. ", k + 1);
			break;
		}
		double healed = vc_load_now(&L);
		vc_load_window(&L, t, healed, "kill -9, down %.1f s", healed - t);
		vc_load_recovery(&L, healed, 15);
	}
	/* kill -9 at an exact count of fdatasync calls. */
	if (access("/usr/bin/strace", X_OK) == 0 && L.srv.p.pid) {
		vc_proc_stop(&L.srv.p, 30);
		/* The call, and its count: a commit's sync, a write (WAL frames,
		 * tiles, the WAL's preallocation), or a checkpoint's rename. */
		static const struct {
			const char *call;
			int from, span;
		} calls[] = {{"fdatasync", 5, 40}, {"pwrite64", 20, 400}, {"rename", 1, 4}};
		int c = (int)vc_rng_below(&L.rng, 3);
		int when = calls[c].from + (int)vc_rng_below(&L.rng, (uint64_t)calls[c].span);
		char inject[64];
		snprintf(inject, sizeof inject, "inject=%s:signal=KILL:when=%d", calls[c].call, when);
		char *wrap[] = {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null", "-e", inject, NULL};
		double t = vc_load_now(&L);
		if (vc_server_start(&L.srv, wrap) == 0) {
			int reached = vc_proc_wait(&L.srv.p, 20);
			if (!reached) { /* the count was not reached */
				vc_proc_kill(&L.srv.p, SIGKILL);
				vc_proc_wait(&L.srv.p, 10);
			}
			double killed = vc_load_now(&L);
			if (vc_server_start(&L.srv, NULL) == 0) {
				double healed = vc_load_now(&L);
				vc_load_window(&L, t, healed, "strace: SIGKILL at %s #%d%s", calls[c].call,
				           when, reached ? "" : " (not reached in 20 s; killed)");
				vc_load_recovery(&L, healed, 15);
			}
			(void)killed;
		}
	} else {
		vc_appendf(r->limits, sizeof r->limits,
		        " strace is not installed: the kill at an exact syscall count was skipped.");
	}
	vc_sleep(1);
	vc_load_end(&L, 15);
}

/* pause: SIGSTOP / SIGCONT of the server and of agents (agents.h) under
 * load: each pause stops the server, one agent, or both at once (from the
 * seed), for 0.5..3.5 s.  A paused server keeps its connections: requests
 * stall rather than fail, and the client and agents retry after their
 * timeouts.  A paused agent falls behind its file and must catch up. */
void vc_scenario_pause(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "SIGSTOP freezes a process whole: its sockets stay open and the kernel keeps "
	         "accepting connections for it, unlike a hung thread inside a running process.");
	if (vc_load_begin(&L, VC_AGENTS_INI, NULL, o->quick ? 3000 : 5000, 16, 10) < 0)
		return;
	vc_agents A;
	vc_agents_config ac = {.count = 2, .rate = o->quick ? 200 : 500};
	int agents_up = vc_agents_start(&A, &L, &ac) == 0;
	double dur = o->duration_s;
	int pauses = o->quick ? 3 : (int)(dur / 4) + 1;
	for (int k = 0; agents_up && k < pauses; k++) {
		double at = dur * (k + 0.2 + 0.5 * vc_rng_unit(&L.rng)) / pauses;
		vc_sleep(at - vc_load_now(&L));
		double len = 0.5 + 3.0 * vc_rng_unit(&L.rng);
		/* Which: the server, agent 0..count-1, or the server and an agent. */
		uint64_t which = vc_rng_below(&L.rng, A.count + 2);
		unsigned ag = which >= 1 && which <= A.count
		                  ? (unsigned)(which - 1)
		                  : (unsigned)vc_rng_below(&L.rng, A.count);
		int server = which == 0 || which == A.count + 1;
		int agent = which != 0;
		double t = vc_load_now(&L);
		if (server)
			vc_proc_kill(&L.srv.p, SIGSTOP);
		if (agent)
			vc_proc_kill(&A.agent[ag].p, SIGSTOP);
		vc_sleep(len);
		if (agent)
			vc_proc_kill(&A.agent[ag].p, SIGCONT);
		if (server)
			vc_proc_kill(&L.srv.p, SIGCONT);
		double healed = vc_load_now(&L);
		if (server && agent)
			vc_load_window(&L, t, healed, "SIGSTOP server and agent %u %.1f s", ag, len);
		else if (server)
			vc_load_window(&L, t, healed, "SIGSTOP server %.1f s", len);
		else
			vc_load_window(&L, t, healed, "SIGSTOP agent %u %.1f s", ag, len);
		vc_load_recovery(&L, healed, 10);
	}
	vc_sleep(dur - vc_load_now(&L));
	vc_agents_end(&A);
	vc_load_end(&L, 10);
	vc_agents_check(&A);
}
