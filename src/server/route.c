/*
 * route.c — request path to endpoint (see route.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "route.h"

#include <string.h>

#include "tiles.h"

int vs_parse_u64(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int vs_log_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > VS_LOG_NAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int eat(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* The log name up to the next '/' (which must follow). */
static int take_log(const char **p, const char *end, vs_route *r)
{
	const char *s = *p, *slash = memchr(s, '/', (size_t)(end - s));
	if (!slash || !vs_log_name_ok(s, (size_t)(slash - s)))
		return 0;
	memcpy(r->log, s, (size_t)(slash - s));
	r->log[slash - s] = 0;
	*p = slash + 1;
	return 1;
}

static int rest_is(const char *p, const char *end, const char *lit)
{
	return (size_t)(end - p) == strlen(lit) && memcmp(p, lit, (size_t)(end - p)) == 0;
}

int vs_route_parse(const char *path, size_t len, vs_route *r)
{
	memset(r, 0, sizeof *r);
	const char *p = path, *end = path + len;
	if (memchr(path, 0, len))
		return -1;
	if (rest_is(p, end, "/healthz")) {
		r->kind = VS_ROUTE_HEALTHZ;
		return 0;
	}
	if (rest_is(p, end, "/readyz")) {
		r->kind = VS_ROUTE_READYZ;
		return 0;
	}
	if (rest_is(p, end, "/metrics")) {
		r->kind = VS_ROUTE_METRICS;
		return 0;
	}
	if (eat(&p, end, "/logs/")) {
		if (!take_log(&p, end, r))
			goto none;
		if (rest_is(p, end, "checkpoint")) {
			r->kind = VS_ROUTE_CHECKPOINT;
			return 0;
		}
		int level;
		uint64_t n;
		unsigned width;
		if ((size_t)(end - p) < VL_TILE_PATH_MAX &&
		    vl_tile_path_parse(p, (size_t)(end - p), &level, &n, &width) == 0) {
			r->kind = VS_ROUTE_TILE;
			r->tile_level = level;
			r->tile_n = n;
			r->tile_width = width;
			return 0;
		}
		goto none;
	}
	if (!eat(&p, end, "/v1/logs/") || !take_log(&p, end, r))
		goto none;
	if (rest_is(p, end, "events")) {
		r->kind = VS_ROUTE_EVENTS;
		r->post = 1;
		return 0;
	}
	if (rest_is(p, end, "k8s-audit")) {
		r->kind = VS_ROUTE_K8S_AUDIT;
		r->post = 1;
		return 0;
	}
	if (rest_is(p, end, "forward")) {
		r->kind = VS_ROUTE_FORWARD;
		r->post = 1;
		return 0;
	}
	if (rest_is(p, end, "sources")) {
		r->kind = VS_ROUTE_SOURCES;
		return 0;
	}
	if (rest_is(p, end, "proof/inclusion")) {
		r->kind = VS_ROUTE_INCLUSION;
		return 0;
	}
	if (rest_is(p, end, "proof/consistency")) {
		r->kind = VS_ROUTE_CONSISTENCY;
		return 0;
	}
	if (eat(&p, end, "entries/") && vs_parse_u64(p, (size_t)(end - p), &r->index) == 0) {
		r->kind = VS_ROUTE_ENTRY;
		return 0;
	}
	if (eat(&p, end, "receipt/") && vs_parse_u64(p, (size_t)(end - p), &r->index) == 0) {
		r->kind = VS_ROUTE_RECEIPT;
		return 0;
	}
none:
	memset(r, 0, sizeof *r);
	r->kind = VS_ROUTE_NONE;
	return -1;
}
