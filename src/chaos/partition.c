/*
 * partition.c — partition: the network between the load and the server cut, slowed and
 * half-opened on a seeded schedule, by the fault proxy and, where network namespaces
 * and nftables can be used, by nftables rules next to the server.
 *
 * Where they can (netns.c), the server runs in a network namespace of its own, reached
 * over a veth pair; the client still goes through the proxy on loopback, whose upstream
 * is the server's address in the namespace.  Between the proxy's windows, nftables
 * windows (drop, reject, drop-replies) act on the server's port inside the namespace, so
 * the kernel's TCP of both ends meets them: the proxy's connections upstream, and
 * through those the client's requests.  Where they cannot, the proxy alone, and the
 * report's limits say why.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"
#include "netns.h"
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* The nftables windows.                                                */

enum { NFT_PENDING, NFT_ON, NFT_HEALED, NFT_FAILED };

/* One nftables window, planned on the proxy's clock (seconds since it
 * started) like the proxy's own, and carried out by the nft thread. */
typedef struct nft_window {
	enum vc_netns_fault kind;
	double start, len;    /* the seed's, rounded to milliseconds */
	int after;            /* in the gap after this proxy window */
	double on_at, off_at; /* vc_mono_s() once in effect, once healed */
	int state;            /* NFT_*, written by the thread (release) */
	char err[256];
} nft_window;

typedef struct nft_driver {
	const vc_netns *ns;
	int port;
	double base;          /* vc_mono_s() when the proxy started */
	nft_window *w;
	int n;
	int stop;             /* set by the scenario: heal and end */
} nft_driver;

/* Sleeps until vc_mono_s() reaches T: 0, or -1 as soon as D is told to
 * stop. */
static int nft_sleep_until(nft_driver *d, double t)
{
	for (;;) {
		if (__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
			return -1;
		double left = t - vc_mono_s();
		if (left <= 0)
			return 0;
		vc_sleep(left < 0.02 ? left : 0.02);
	}
}

/* The nft thread: applies and heals each window at its time, on a clock
 * of its own, as the proxy does with its windows, so that the scenario's
 * waits for recovery never shift the schedule. */
static void *nft_run(void *arg)
{
	nft_driver *d = arg;
	for (int i = 0; i < d->n; i++) {
		nft_window *w = &d->w[i];
		if (nft_sleep_until(d, d->base + w->start) < 0)
			break;
		if (vc_netns_fault(d->ns, w->kind, d->port, w->err, sizeof w->err) < 0) {
			/* Half a transaction is never left: nft applies all or
			 * nothing.  Healing anyway costs nothing. */
			char ign[64];
			(void)vc_netns_fault(d->ns, VC_NETNS_HEAL, d->port, ign, sizeof ign);
			__atomic_store_n(&w->state, NFT_FAILED, __ATOMIC_RELEASE);
			continue;
		}
		w->on_at = vc_mono_s();
		__atomic_store_n(&w->state, NFT_ON, __ATOMIC_RELEASE);
		/* Healed at its end, or at once when told to stop; tried twice. */
		(void)nft_sleep_until(d, d->base + w->start + w->len);
		int healed = 0;
		for (int try = 0; try < 2 && !healed; try++)
			healed = vc_netns_fault(d->ns, VC_NETNS_HEAL, d->port, w->err,
			                        sizeof w->err) == 0;
		w->off_at = vc_mono_s();
		__atomic_store_n(&w->state, healed ? NFT_HEALED : NFT_FAILED, __ATOMIC_RELEASE);
		if (!healed)
			break; /* the rest would run on a broken network */
	}
	return NULL;
}

/* The server inside NS, listening on its namespace address: what
 * vc_load_server does, with the address changed between preparing and
 * starting. */
static int start_server_in(vc_load *L, vc_netns *ns)
{
	const vc_run_options *o = L->o;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, L->r->name);
	if (vc_mkdirs(dir) < 0 || vc_server_init(&L->srv, o->vellum, dir, VC_AGENTS_INI) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict, "cannot prepare %.900s", dir);
		return -1;
	}
	snprintf(L->srv.host, sizeof L->srv.host, "%s", ns->ns_addr);
	snprintf(L->srv.url, sizeof L->srv.url, "http://%s:%d", L->srv.host, L->srv.port);
	char *wrap[5];
	vc_netns_wrap(ns, wrap);
	if (vc_server_start(&L->srv, wrap) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict,
		         "vellum serve did not start in network namespace %s (see %.800s)",
		         ns->name, L->srv.p.out);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The scenario.                                                        */

/* partition: the client reaches the server through the fault proxy, which
 * blackholes, resets, delays, throttles and half-opens on a seeded
 * schedule; where network namespaces and nftables work, the server runs
 * in a namespace and nftables drops, rejects or drops the answers of its
 * port in the gaps between the proxy's windows. */
void vc_scenario_partition(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	char why[512] = "";
	int use_ns = vc_netns_available(why, sizeof why);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	int pport = vc_free_port(), cport = vc_free_port();
	char purl[64], listen[64], control[64], upstream[96], seed[32];
	snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", pport);
	snprintf(control, sizeof control, "127.0.0.1:%d", cport);
	vc_proc px = {0};
	snprintf(px.out, sizeof px.out, "%.4000s/proxy.log", dir);

	/* The proxy's schedule: faults of 1..4 s, with gaps of 1..3 s between. */
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
	/* The nftables windows, drawn after the proxy's so that those stay
	 * what they were: in the gap after each proxy window, three draws
	 * (kind, length, place), used or not; a window of 0.5..2 s where the
	 * gap leaves room for one 0.25 s clear of the proxy's on both sides.
	 * The gap after the last runs to 1 s before the load ends. */
	static const enum vc_netns_fault nft_kinds[] = {VC_NETNS_DROP, VC_NETNS_REJECT,
	                                                VC_NETNS_DROP_REPLIES};
	nft_window nw[16];
	int nn = 0;
	for (int i = 0; use_ns && i < nf; i++) {
		enum vc_netns_fault k = nft_kinds[vc_rng_below(&L.rng, 3)];
		double u_len = vc_rng_unit(&L.rng), u_at = vc_rng_unit(&L.rng);
		double g0 = starts[i] + lens[i];
		double g1 = i + 1 < nf ? starts[i + 1] : o->duration_s - 1;
		double room = g1 - g0 - 0.5;
		if (room < 0.5)
			continue;
		double len = 0.5 + ((room < 2.0 ? room : 2.0) - 0.5) * u_len;
		double at = g0 + 0.25 + (room - len) * u_at;
		nw[nn] = (nft_window){
			.kind = k,
			.start = (double)(long)(at * 1000 + 0.5) / 1000,
			.len = (double)(long)(len * 1000 + 0.5) / 1000,
			.after = i,
		};
		nn++;
	}

	/* The server: in a namespace of its own, or on loopback as a
	 * fallback, the reason in the limits. */
	vc_netns ns = {0};
	if (use_ns && vc_netns_create(&ns, why, sizeof why) < 0)
		use_ns = 0;
	if (use_ns) {
		snprintf(r->limits, sizeof r->limits,
		         "Faults are made by a TCP proxy on loopback and by nftables rules next "
		         "to the server, in its network namespace; the client's and agent 0's "
		         "connections end at the proxy and meet the nftables faults through it; "
		         "agent 1 connects to the namespace itself and sees only those. "
		         "No loss rates, reordering or delay in the kernel (no netem here).");
		vc_say(o, "partition: the server runs in network namespace %s at %s (veth %s, %s)",
		       ns.name, ns.ns_addr, ns.host_if, ns.host_addr);
	} else {
		nn = 0;
		snprintf(r->limits, sizeof r->limits,
		         "Faults are made by a TCP proxy on loopback: the kernel's own behaviour "
		         "under packet loss and reordering is not exercised (no netem here). "
		         "Network namespaces not used: %s.",
		         why);
		vc_say(o, "partition: network namespaces not used: %s", why);
	}
	if ((use_ns ? start_server_in(&L, &ns) : vc_load_server(&L, VC_AGENTS_INI, NULL)) < 0) {
		vc_proc_stop(&L.srv.p, 30);
		vc_netns_destroy(&ns);
		return;
	}

	/* The proxy gets its whole schedule as windows, relative to its own
	 * start; the windows are reported in load time. */
	snprintf(upstream, sizeof upstream, "%s:%d", L.srv.host, L.srv.port);
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
		vc_netns_destroy(&ns);
		return;
	}
	for (int i = 0; i < 100 && !vc_port_open("127.0.0.1", pport); i++)
		vc_sleep(0.05);
	if (vc_load_client(&L, purl, o->quick ? 2000 : 4000, 16, 10) < 0) {
		vc_proc_stop(&px, 5);
		vc_proc_stop(&L.srv.p, 30);
		vc_netns_destroy(&ns);
		return;
	}
	/* Two agents: agent 0 forwards through the proxy, as the client does;
	 * agent 1, where the server is in a namespace, straight to it, so
	 * the nftables faults hit its own connections. */
	vc_agents A;
	vc_agents_config ac = {.count = 2, .rate = o->quick ? 200 : 500, .url = purl};
	if (use_ns)
		ac.url_of[1] = L.srv.url;
	vc_agents_start(&A, &L, &ac);
	/* The nft thread, on the proxy's clock. */
	nft_driver drv = {.ns = &ns, .port = L.srv.port, .base = px_started, .w = nw, .n = nn};
	pthread_t nft_thread;
	int threaded = 0;
	if (nn > 0) {
		int e = pthread_create(&nft_thread, NULL, nft_run, &drv);
		if (e == 0)
			threaded = 1;
		else
			vc_appendf(r->verdict, sizeof r->verdict,
			           "the nftables schedule could not start: %s. ", strerror(e));
	}
	int nft_failed = nn > 0 && !threaded;

	double shift = px_started - L.t0; /* proxy time + shift = load time */
	int k = 0;
	for (int i = 0; i < nf; i++) {
		double s0 = starts[i] + shift, s1 = starts[i] + lens[i] + shift;
		vc_sleep(s1 - vc_load_now(&L));
		vc_load_window(&L, s0, s1, "%s", specs[i]); /* the proxy's spec: seed-given */
		vc_load_recovery(&L, s1, 20);
		for (; threaded && k < nn && nw[k].after == i; k++) {
			nft_window *w = &nw[k];
			/* The thread heals at the planned end; a few seconds more
			 * allow for an nft that is slow to answer. */
			double give_up = px_started + w->start + w->len + 30;
			int st;
			while ((st = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE)) < NFT_HEALED &&
			       vc_mono_s() < give_up)
				vc_sleep(0.02);
			const char *kind = vc_netns_fault_name(w->kind);
			if (st == NFT_HEALED) {
				vc_load_window(&L, w->on_at - L.t0, w->off_at - L.t0,
				               "nft %s@%.3f+%.3f", kind, w->start, w->len);
				vc_load_recovery(&L, w->off_at - L.t0, 20);
			} else {
				vc_appendf(r->verdict, sizeof r->verdict,
				           "nft %s@%.3f+%.3f failed: %s. ", kind, w->start, w->len,
				           st == NFT_FAILED ? w->err : "nft did not answer");
				nft_failed = 1;
				break;
			}
		}
	}
	if (threaded) {
		__atomic_store_n(&drv.stop, 1, __ATOMIC_RELEASE);
		pthread_join(nft_thread, NULL);
	}
	vc_sleep(o->duration_s - vc_load_now(&L));
	vc_sleep(1);
	vc_agents_end(&A);
	vc_load_end(&L, 20);
	vc_agents_check(&A);
	vc_proc_stop(&px, 5);
	vc_netns_destroy(&ns); /* the server is stopped: nothing runs inside */
	if (nft_failed && r->passed) {
		/* The checks passed, but not every planned fault was made. */
		r->passed = 0;
	}
}
