/*
 * tiles.h — c2sp.org/tlog-tiles: tile paths and reading tree hashes from
 * tiles.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * A hash tile at level L, number N holds up to 256 consecutive hashes of
 * tree height 8*L (32 bytes each, concatenated), starting with node
 * (8*L, 256*N).  Entry bundles (level VL_TILE_ENTRIES) hold up to 256
 * entries, each a big-endian uint16 length followed by its bytes.  A tile
 * of width W < 256 is a partial tile, named with a `.p/W` suffix.
 * N is written in 3-digit groups, all but the last prefixed with `x`:
 * 1234067 -> x001/x234/067.
 */
#ifndef VL_TILES_H
#define VL_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "vellum.h"

#define VL_TILE_ENTRIES (-1)   /* the "level" of entry bundles */
#define VL_TILE_PATH_MAX 96    /* enough for any tile path, with NUL */
#define VL_TILE_LEVEL_MAX 63   /* highest hash tile level parsed */

/*
 * Write the path of tile (level, n) of width (1..256; 256 = full) into buf,
 * e.g. "tile/0/x001/x234/067.p/1" or "tile/entries/007".  Returns the length
 * or VL_EINVAL.
 */
int vl_tile_path(char *buf, size_t cap, int level, uint64_t n, unsigned width);

/*
 * Parse a tile path (exactly as vl_tile_path writes it; anything else —
 * "..", leading zeros, empty or oversized groups, width 0 or >= 256 after .p,
 * trailing bytes — is VL_EFORMAT).  level is VL_TILE_ENTRIES for bundles;
 * width is 256 for a full tile.  Outputs are written only on success; NULL
 * arguments are VL_EINVAL.
 */
VL_MUST_CHECK int vl_tile_path_parse(const char *path, size_t len, int *level, uint64_t *n,
                                     unsigned *width);

/*
 * Fill buf with the first `width` hashes (width * 32 bytes) of hash tile
 * (level, n).  The fetcher may read them from any tile file that holds them
 * (the full tile, or a partial tile at least that wide), or from memory.
 */
typedef int (*vl_tile_fetch)(void *ctx, int level, uint64_t n, unsigned width,
                             uint8_t *buf);

/*
 * A vl_hash_reader over tiles for a tree of tree_size leaves: node
 * (height, index) is computed from the tile at level height/8 (hashing up
 * the remaining height%8 levels inside the tile).  It keeps one tile cached.
 * Set fields, then pass vl_tile_reader_hash and &reader to merkle.h.
 * Each tile is fetched at its width in the tree of tree_size leaves
 * (vl_tile_width).  A node not complete within tree_size is VL_EINVAL; a
 * fetch error is returned as is (a positive one as VL_EINVAL).
 */
typedef struct vl_tile_reader {
	uint64_t tree_size;
	vl_tile_fetch fetch;
	void *ctx;
	/* cache (internal) */
	int cached_level;
	uint64_t cached_n;
	unsigned cached_width;
	uint8_t cached[VL_TILE_WIDTH][VL_HASH_SIZE];
} vl_tile_reader;

void vl_tile_reader_init(vl_tile_reader *r, uint64_t tree_size, vl_tile_fetch fetch, void *ctx);
int vl_tile_reader_hash(void *reader, unsigned height, uint64_t index, uint8_t out[VL_HASH_SIZE]);

/* Width of tile (level, n) in a tree of tree_size leaves: 0 if the tile
 * does not exist at that size, 256 if full. */
unsigned vl_tile_width(int level, uint64_t n, uint64_t tree_size);

#endif
