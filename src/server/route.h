/*
 * route.h — which endpoint of `vellum serve` a request path names.
 *
 * Pure parsing (no I/O), fuzzed by fuzz/fuzz_route.c.  Paths are matched
 * exactly: no "..", no empty segments, no percent-decoding beyond what the
 * HTTP library did; tile paths must be canonical c2sp.org/tlog-tiles paths
 * (vl_tile_path_parse), so a file name is never built from client bytes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_ROUTE_H
#define VS_ROUTE_H

#include <stddef.h>
#include <stdint.h>

enum vs_route_kind {
	VS_ROUTE_NONE,        /* no such endpoint: 404 */
	VS_ROUTE_HEALTHZ,     /* GET /healthz */
	VS_ROUTE_READYZ,      /* GET /readyz */
	VS_ROUTE_METRICS,     /* GET /metrics */
	VS_ROUTE_CHECKPOINT,  /* GET /logs/{log}/checkpoint */
	VS_ROUTE_TILE,        /* GET /logs/{log}/tile/... */
	VS_ROUTE_EVENTS,      /* POST /v1/logs/{log}/events */
	VS_ROUTE_K8S_AUDIT,   /* POST /v1/logs/{log}/k8s-audit */
	VS_ROUTE_ENTRY,       /* GET /v1/logs/{log}/entries/{index} */
	VS_ROUTE_INCLUSION,   /* GET /v1/logs/{log}/proof/inclusion?index=&size= */
	VS_ROUTE_CONSISTENCY, /* GET /v1/logs/{log}/proof/consistency?old=&new= */
	VS_ROUTE_RECEIPT,     /* GET /v1/logs/{log}/receipt/{index} */
	VS_ROUTE_FORWARD,     /* POST /v1/logs/{log}/forward (vellum agent) */
	VS_ROUTE_SOURCES,     /* GET /v1/logs/{log}/sources */
};

#ifndef VS_LOG_NAME_MAX
#define VS_LOG_NAME_MAX 64
#endif

typedef struct vs_route {
	enum vs_route_kind kind;
	int post;                       /* the endpoint takes POST (else GET/HEAD) */
	char log[VS_LOG_NAME_MAX + 1];  /* [A-Za-z0-9._-]{1,64} */
	uint64_t index;                 /* ENTRY, RECEIPT */
	int tile_level;                 /* TILE: VL_TILE_ENTRIES (-1) for bundles */
	uint64_t tile_n;
	unsigned tile_width;            /* 256 = full tile */
} vs_route;

/* Parse PATH (the URL path, without the query string).  0 with *r filled,
 * or -1 (no such endpoint; r->kind is VS_ROUTE_NONE). */
int vs_route_parse(const char *path, size_t len, vs_route *r);

/* Strict unsigned decimal (no sign, no leading zeros, no overflow). */
int vs_parse_u64(const char *s, size_t len, uint64_t *out);

/* A valid log name. */
int vs_log_name_ok(const char *s, size_t len);

#endif
