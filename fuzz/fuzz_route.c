/*
 * fuzz_route.c — libFuzzer driver for the server's request-path parser
 * (src/server/route.c).  Besides "no crash": an accepted path names a valid
 * log, and a tile path is exactly the canonical path of what it parsed to,
 * so no other bytes (no "..", no extra slashes) ever reach a file name.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size ? size : 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	vs_route r;
	int rc = vs_route_parse(path, size, &r);
	if (rc != 0) {
		if (r.kind != VS_ROUTE_NONE)
			abort();
		free(path);
		return 0;
	}
	/* No accepted path has a ".." (or ".") segment. */
	if (memmem(path, size, "/../", 4) || memmem(path, size, "/./", 3) ||
	    (size >= 3 && memcmp(path + size - 3, "/..", 3) == 0))
		abort();
	if (r.kind >= VS_ROUTE_CHECKPOINT && !vs_log_name_ok(r.log, strlen(r.log)))
		abort();
	if (r.kind == VS_ROUTE_TILE) {
		char want[VL_TILE_PATH_MAX + 200];
		char tile[VL_TILE_PATH_MAX];
		if (vl_tile_path(tile, sizeof tile, r.tile_level, r.tile_n, r.tile_width) < 0)
			abort();
		snprintf(want, sizeof want, "/logs/%s/%s", r.log, tile);
		if (strlen(want) != size || memcmp(want, path, size) != 0)
			abort();
	}
	free(path);
	return 0;
}
