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

/* The peak RSS (VmHWM) of PID in KiB, or -1. */
static long peak_rss_kb(pid_t pid)
{
	char path[64], text[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (vc_read_text(path, text, sizeof text) <= 0)
		return -1;
	char *p = strstr(text, "VmHWM:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/* The first child of PID (the server under a wrapper), or PID. */
static pid_t child_of(pid_t pid)
{
	char path[64], text[256];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (vc_read_text(path, text, sizeof text) > 0) {
		long c = strtol(text, NULL, 10);
		if (c > 0)
			return (pid_t)c;
	}
	return pid;
}

/*
 * overload: ten times what the server sustains.  The server's disk is made
 * slow (every fdatasync held 200 ms by strace) and its queue small, so its
 * capacity is low and known from what it acknowledges; a client that
 * ignores Retry-After sends as fast as it is answered over 64 connections.
 * Offered events over acknowledged ones must reach 10; every 503 must
 * carry Retry-After; the server's memory stays bounded; nothing
 * acknowledged is lost.
 */
void vc_scenario_overload(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The overload is made by a slow disk (strace delays every fdatasync) and one "
	         "client on the same machine: the server's capacity is what it acknowledged "
	         "meanwhile, not its capacity on a fast disk. Memory is checked by the server's "
	         "peak RSS, not by an allocator that fails.");
	if (access("/usr/bin/strace", X_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "strace is not installed (apt-get install strace): the disk could not be "
		         "slowed.");
		return;
	}
	const char *ini = "queue_max_events = 1000\nqueue_max_bytes = 4MiB\nmax_body_bytes = 1MiB\n"
	                  "max_events_per_request = 1000\n";
	char *wrap[] = {"/usr/bin/strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null",
	                "-e", "trace=fdatasync", "-e", "inject=fdatasync:delay_exit=200000", NULL};
	L.client_ignores_retry_after = 1;
	const int connections = 64, batch = 100;
	if (vc_load_begin(&L, ini, wrap, 0, connections, batch) < 0)
		return;
	pid_t server_pid = child_of(L.srv.p.pid);
	vc_sleep(o->duration_s);
	vc_client_stats st;
	vc_client_stats_get(L.client, &st);
	double took = vc_load_now(&L);
	long hwm_kb = peak_rss_kb(server_pid);
	vc_load_window(&L, 0, took, "%d connections x %d events, Retry-After ignored; "
	               "fdatasync +200 ms", connections, batch);
	vc_load_end(&L, 1);
	double offered = (double)st.sent_events / took, acked = (double)st.acked / took;
	double ratio = st.acked ? (double)st.sent_events / (double)st.acked : 0;
	if (st.acked == 0 || ratio < 10) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " Offered %.0f events/s against %.0f acknowledged: %.1f times, not the 10 "
		           "required.", offered, acked, ratio);
	}
	if (st.answers_503 == 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server never refused a request (no 503).");
	} else if (st.answers_503_retry_after != st.answers_503) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " %" PRIu64 " of %" PRIu64 " 503 answers had no Retry-After.",
		           st.answers_503 - st.answers_503_retry_after, st.answers_503);
	}
	/* 512 MiB: a sanitizer build's quarantine keeps freed memory (a
	 * plain build peaks near 25 MiB here). */
	if (hwm_kb < 0 || hwm_kb > 512 * 1024) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " Server peak RSS %ld KiB (limit 512 MiB).", hwm_kb);
	}
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		           " Offered %.0f events/s, %.1f times the %.0f/s the server acknowledged; "
		           "%" PRIu64 " requests refused with 503, every one with Retry-After; server "
		           "peak RSS %ld MiB.",
		           offered, ratio, acked, st.answers_503, hwm_kb / 1024);
}
