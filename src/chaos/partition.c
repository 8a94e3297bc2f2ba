/*
 * partition.c — partition: the network between the load and the server cut, slowed and
 * half-opened by the fault proxy on a seeded schedule.
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

/* partition: the client reaches the server through the fault proxy, which
 * blackholes, resets, delays, throttles and half-opens on a seeded
 * schedule. */
void vc_scenario_partition(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "Faults are made by a TCP proxy on loopback: the kernel's own behaviour under "
	         "packet loss and reordering is not exercised (no netem here).");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	int pport = vc_free_port(), cport = vc_free_port();
	char purl[64], listen[64], control[64], upstream[64], seed[32];
	snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", pport);
	snprintf(control, sizeof control, "127.0.0.1:%d", cport);
	vc_proc px = {0};
	snprintf(px.out, sizeof px.out, "%.4000s/proxy.log", dir);

	/* The schedule: faults of 1..4 s, with gaps of 1..3 s between. */
	static const char *const kinds[] = {"blackhole", "reset", "latency", "throttle",
	                                    "half-open"};
	char faults[16][64];
	double starts[16], lens[16];
	int nf = 0;
	double t = 1.0 + vc_rng_unit(&L.rng);
	while (nf < 16 && t < o->duration_s - 1) {
		const char *k = kinds[vc_rng_below(&L.rng, 5)];
		double len = 1.0 + 3.0 * vc_rng_unit(&L.rng);
		if (strcmp(k, "latency") == 0)
			snprintf(faults[nf], sizeof faults[nf], "latency=%d~%d",
			         100 + (int)vc_rng_below(&L.rng, 400), 50);
		else if (strcmp(k, "throttle") == 0)
			snprintf(faults[nf], sizeof faults[nf], "throttle=%dk",
			         8 + (int)vc_rng_below(&L.rng, 56));
		else
			snprintf(faults[nf], sizeof faults[nf], "%s", k);
		starts[nf] = t;
		lens[nf] = len;
		nf++;
		t += len + 1.0 + 2.0 * vc_rng_unit(&L.rng);
	}
	/* The proxy gets the whole schedule as windows, relative to its own
	 * start; the windows are reported in load time. */
	if (vc_load_server(&L, NULL, NULL) < 0)
		return;
	snprintf(upstream, sizeof upstream, "127.0.0.1:%d", L.srv.port);
	snprintf(seed, sizeof seed, "%" PRIu64, vc_rng_derive(r->seed, "proxy"));
	char *argv[64];
	char specs[16][96];
	int n = 0;
	argv[n++] = (char *)o->vellum;
	argv[n++] = "chaos";
	argv[n++] = "proxy";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--upstream";
	argv[n++] = upstream;
	argv[n++] = "--control";
	argv[n++] = control;
	argv[n++] = "--seed";
	argv[n++] = seed;
	for (int i = 0; i < nf; i++) {
		snprintf(specs[i], sizeof specs[i], "%s@%.3f+%.3f", faults[i], starts[i], lens[i]);
		argv[n++] = "--fault";
		argv[n++] = specs[i];
	}
	argv[n] = NULL;
	double px_started = vc_mono_s();
	if (vc_proc_start(&px, argv) < 0) {
		snprintf(r->verdict, sizeof r->verdict, "the proxy did not start");
		vc_proc_stop(&L.srv.p, 30);
		return;
	}
	for (int i = 0; i < 100 && !vc_port_open("127.0.0.1", pport); i++)
		vc_sleep(0.05);
	if (vc_load_client(&L, purl, o->quick ? 2000 : 4000, 16, 10) < 0) {
		vc_proc_stop(&px, 5);
		vc_proc_stop(&L.srv.p, 30);
		return;
	}
	double shift = px_started - L.t0; /* proxy time + shift = load time */
	for (int i = 0; i < nf; i++) {
		double s0 = starts[i] + shift, s1 = starts[i] + lens[i] + shift;
		vc_sleep(s1 - vc_load_now(&L));
		vc_load_window(&L, s0, s1, "%s", specs[i]); /* the proxy's spec: seed-given */
		vc_load_recovery(&L, s1, 20);
	}
	vc_sleep(o->duration_s - vc_load_now(&L));
	vc_sleep(1);
	vc_load_end(&L, 20);
	vc_proc_stop(&px, 5);
}
