/*
 * fuzz_tile_path.c — libFuzzer driver for vl_tile_path_parse (tiles.c):
 * arbitrary bytes as a c2sp.org/tlog-tiles path.  Whatever the parser
 * accepts must be the canonical name of the tile it parsed to: formatting
 * the result with vl_tile_path gives back exactly the input bytes.  The
 * first 11 input bytes are also read as (level, n, width) for the other
 * direction: any path vl_tile_path writes must parse back to its tile.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so ASan sees any read past the end. */
	char *path = malloc(size ? size : 1);
	if (!path)
		return 0;
	memcpy(path, data, size);

	int level = 1000;
	uint64_t n = 0;
	unsigned width = 0;
	if (vl_tile_path_parse(path, size, &level, &n, &width) == 0) {
		if (level < VL_TILE_ENTRIES || level > VL_TILE_LEVEL_MAX || width == 0 ||
		    width > VL_TILE_WIDTH) {
			fprintf(stderr, "parse accepted an out-of-range tile: level %d width %u\n",
			        level, width);
			abort();
		}
		char buf[VL_TILE_PATH_MAX];
		int len = vl_tile_path(buf, sizeof buf, level, n, width);
		if (len < 0 || (size_t)len != size || memcmp(buf, path, size) != 0) {
			fprintf(stderr, "accepted path does not round-trip: %.*s -> %s\n", (int)size,
			        path, len < 0 ? "(error)" : buf);
			abort();
		}
	}
	/* The other direction: format, then parse. */
	if (size >= 11) {
		int lv = (int)(int8_t)data[0] % (VL_TILE_LEVEL_MAX + 2);
		uint64_t tn = 0;
		for (int i = 1; i <= 8; i++)
			tn = tn << 8 | data[i];
		unsigned w = ((unsigned)data[9] << 8 | data[10]) % (VL_TILE_WIDTH + 2);
		char buf[VL_TILE_PATH_MAX];
		int len = vl_tile_path(buf, sizeof buf, lv, tn, w);
		int ok = lv >= VL_TILE_ENTRIES && lv <= VL_TILE_LEVEL_MAX && w >= 1 &&
		         w <= VL_TILE_WIDTH;
		if ((len >= 0) != ok) {
			fprintf(stderr, "vl_tile_path(%d, %llu, %u) returned %d\n", lv,
			        (unsigned long long)tn, w, len);
			abort();
		}
		if (len >= 0) {
			if ((size_t)len != strlen(buf) ||
			    vl_tile_path_parse(buf, (size_t)len, &level, &n, &width) != 0 ||
			    level != lv || n != tn || width != w) {
				fprintf(stderr, "vl_tile_path(%d, %llu, %u) = %s does not parse back\n",
				        lv, (unsigned long long)tn, w, buf);
				abort();
			}
		}
	}
	/* The parser must also refuse NULL outputs without touching them. */
	if (vl_tile_path_parse(path, size, NULL, &n, &width) != VL_EINVAL)
		abort();
	free(path);
	return 0;
}
