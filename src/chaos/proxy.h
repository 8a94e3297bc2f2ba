/*
 * proxy.h — the network fault proxy of `vellum chaos proxy`: a TCP proxy
 * that forwards bytes both ways between its clients and one upstream and
 * applies faults (blackhole, reset, refuse, latency, throttle, half-open)
 * on a schedule, from the command line or a control connection.  The
 * fault spec parser is a pure function, fuzzed by fuzz/fuzz_fault_spec.c.
 * See docs/chaos.md.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_PROXY_H
#define VC_PROXY_H

#include <stddef.h>
#include <stdint.h>

enum vc_fault_kind {
	VC_FAULT_BLACKHOLE,
	VC_FAULT_RESET,
	VC_FAULT_REFUSE,
	VC_FAULT_LATENCY,
	VC_FAULT_THROTTLE,
	VC_FAULT_HALF_OPEN,
	VC_FAULT_KINDS,
};

/* Limits of a spec's numbers. */
#define VC_LATENCY_MAX_MS 600000u            /* latency and jitter: 10 minutes */
#define VC_RATE_MAX ((uint64_t)1 << 40)      /* throttle: 1 TiB/s */
#define VC_WINDOW_MAX_MS 31536000000ull      /* window start and duration: a year */
#define VC_FAULT_TEXT_MAX 64                 /* a canonical spec, with its NUL */

typedef struct vc_fault {
	enum vc_fault_kind kind;
	uint32_t latency_ms; /* latency: the delay of each chunk ... */
	uint32_t jitter_ms;  /* ... plus or minus up to this (<= latency_ms) */
	uint64_t rate;       /* throttle: bytes per second, >= 1 */
	int has_window;      /* 0: on from the start until healed */
	uint64_t start_ms;   /* window: on at start_ms after the proxy starts ... */
	uint64_t duration_ms; /* ... for duration_ms (> 0) */
} vc_fault;

/* The name of a kind: "blackhole", "reset", "refuse", "latency",
 * "throttle", "half-open"; NULL for anything else. */
const char *vc_fault_kind_name(enum vc_fault_kind kind);

/* Parses the LEN bytes of SPEC (no NUL needed; a NUL inside is an error):
 *
 *   KIND[@START+DURATION]
 *   KIND = blackhole | reset | refuse | half-open
 *        | latency=MS[~JITTER_MS] | throttle=RATE[k|m]
 *
 * START and DURATION are seconds with up to 3 decimals.  Pure: no
 * allocation, no global state.  0 and *OUT filled, or -1 with a one-line
 * reason in ERR (ERRLEN bytes, may be 0). */
int vc_fault_parse(const char *spec, size_t len, vc_fault *out, char *err, size_t errlen);

/* Writes the canonical text of F ("latency=200~50@1.5+2", "throttle=64k")
 * with a NUL into BUF; returns its length, or -1 if F is invalid or
 * LEN too small.  vc_fault_parse() of that text gives F back. */
int vc_fault_format(const vc_fault *f, char *buf, size_t len);

/* Splits "HOST:PORT" or "[V6ADDR]:PORT" into HOST (without brackets) and
 * PORT (0..65535).  0, or -1 with a reason in ERR. */
int vc_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, char *err,
		      size_t errlen);

typedef struct vc_proxy_config {
	const char *listen;      /* ADDR:PORT; PORT 0 picks a free port */
	const char *upstream;    /* HOST:PORT */
	const vc_fault *faults;  /* the schedule given at start */
	size_t n_faults;
	uint64_t seed;           /* drives every random choice (jitter) */
	const char *control;     /* ADDR:PORT of the control protocol, or NULL */
	const char *port_file;   /* where to write the bound ports, or NULL */
} vc_proxy_config;

/* Runs the proxy until SIGTERM or SIGINT.  Log lines (JSON) go to stderr.
 * Returns 0 after a signal, -1 when it cannot start (the reason printed). */
int vc_proxy_run(const vc_proxy_config *cfg);

#endif
