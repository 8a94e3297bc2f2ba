/*
 * test_tiles.c — tests of tile paths, tile widths and the hash reader over tiles.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Paths are checked against the c2sp.org/tlog-tiles vectors, by round
 * trips, by a table of hostile inputs and by mutation: any string the
 * parser accepts must be exactly what vl_tile_path writes for the parsed
 * values.  The reader is checked against every node of in-memory trees,
 * the golang.org/x/mod/sumdb/tlog proof vectors, synthetic huge trees and
 * the tiles of tests/vectors/log-1000.  Random choices come from a fixed
 * seed, printed at start and overridable with VL_SEED.
 */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "merkle.h"
#include "tree_testutil.h"
#include "tiles.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* Deterministic randomness.                                           */

/* A number with a random count of decimal digits, so every group count
 * is exercised, not just the 7-group numbers uniform draws give. */
static uint64_t rnd_n(void)
{
	uint64_t v = rnd() >> rnd_below(64);
	switch (rnd_below(4)) {
	case 0:
		return v % 1000;
	case 1:
		return v % 1000000;
	default:
		return v;
	}
}

/* ------------------------------------------------------------------ */
/* Vectors.                                                            */

static const char *vectors_dir(void)
{
	const char *dir = getenv("VL_VECTORS");
	return dir != NULL && *dir != '\0' ? dir : "tests/vectors";
}

static json_t *vectors;

/* ------------------------------------------------------------------ */
/* Every node of a tree in memory, and tiles cut from it.               */

/* Synthetic tile hashes for trees too big to store: any values will do
 * for checking the reader's arithmetic, as long as they are a function of
 * (level, index). */
static void synth_hash(int level, uint64_t index, uint8_t out[HS])
{
	uint8_t buf[9];
	buf[0] = (uint8_t)level;
	memcpy(buf + 1, &index, 8);
	vl_leaf_hash(buf, sizeof buf, out);
}

/* Node (h, i) of the synthetic tree, by the RFC definition above the
 * level stored in the tiles. */
static void synth_node(unsigned h, uint64_t i, uint8_t out[HS])
{
	if (h % 8 == 0) {
		synth_hash((int)(h / 8), i, out);
		return;
	}
	uint8_t a[HS], b[HS];
	synth_node(h - 1, 2 * i, a);
	synth_node(h - 1, 2 * i + 1, b);
	vl_node_hash(a, b, out);
}

typedef struct memtiles {
	const store *st;   /* NULL: synthetic hashes */
	uint64_t tree_size; /* the reader's, to check the widths it asks for */
	unsigned fetches;
	int fail_code;     /* returned by the next fetch, then cleared */
	int last_level;
	uint64_t last_n;
	unsigned last_width;
} memtiles;

static int mem_fetch(void *ctx, int level, uint64_t n, unsigned width, uint8_t *buf)
{
	memtiles *mt = ctx;
	/* Only hash tiles, only tiles that exist at the reader's size, and at
	 * exactly their width in that tree. */
	assert_true(level >= 0 && level <= VL_TILE_LEVEL_MAX);
	assert_true(width >= 1 && width <= VL_TILE_WIDTH);
	assert_int_equal(width, vl_tile_width(level, n, mt->tree_size));
	mt->fetches++;
	mt->last_level = level;
	mt->last_n = n;
	mt->last_width = width;
	if (mt->fail_code != 0) {
		int rc = mt->fail_code;
		mt->fail_code = 0;
		memset(buf, 0xee, (size_t)width * HS);
		return rc;
	}
	for (unsigned j = 0; j < width; j++) {
		uint64_t idx = n * VL_TILE_WIDTH + j;
		if (mt->st != NULL) {
			unsigned h = (unsigned)level * VL_TILE_HEIGHT;
			assert_true(idx < mt->st->cnt[h]);
			memcpy(buf + (size_t)j * HS, mt->st->lv[h][idx], HS);
		} else {
			synth_hash(level, idx, buf + (size_t)j * HS);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths.                                                              */

/* The parser's contract: reject, or accept only the canonical string. */
static int check_canonical(const char *path, size_t len)
{
	int level = 12345;
	uint64_t n = 12345;
	unsigned width = 12345;
	int rc = vl_tile_path_parse(path, len, &level, &n, &width);
	if (rc != 0) {
		assert_int_equal(rc, VL_EFORMAT);
		return 0;
	}
	assert_true(level >= VL_TILE_ENTRIES && level <= VL_TILE_LEVEL_MAX);
	assert_true(width >= 1 && width <= VL_TILE_WIDTH);
	char buf[VL_TILE_PATH_MAX];
	int k = vl_tile_path(buf, sizeof buf, level, n, width);
	assert_true(k > 0);
	assert_int_equal((size_t)k, len);
	assert_memory_equal(buf, path, len);
	return 1;
}

static void check_path(int level, uint64_t n, unsigned width, const char *want)
{
	char buf[VL_TILE_PATH_MAX];
	int k = vl_tile_path(buf, sizeof buf, level, n, width);
	assert_true(k > 0);
	assert_string_equal(buf, want);
	assert_int_equal((size_t)k, strlen(want));
	int pl;
	uint64_t pn;
	unsigned pw;
	assert_int_equal(vl_tile_path_parse(want, strlen(want), &pl, &pn, &pw), 0);
	assert_int_equal(pl, level);
	assert_int_equal(pn, n);
	assert_int_equal(pw, width);
}

static void test_path_vectors(void **state)
{
	(void)state;
	json_t *tp = json_object_get(vectors, "tile_paths");
	assert_non_null(tp);
	assert_true(json_is_object(tp));
	assert_true(json_object_size(tp) >= 5);
	const char *key;
	json_t *v;
	json_object_foreach(tp, key, v)
	{
		/* Keys read "level 0, N 1234067, width 1" or "entries, N 7, full". */
		int level;
		uint64_t n;
		unsigned width = VL_TILE_WIDTH;
		const char *p;
		if (strncmp(key, "entries,", 8) == 0) {
			level = VL_TILE_ENTRIES;
			p = key + 8;
		} else {
			int used = 0;
			assert_int_equal(sscanf(key, "level %d,%n", &level, &used), 1);
			assert_true(used > 0);
			p = key + used;
		}
		int used = 0;
		assert_int_equal(sscanf(p, " N %" SCNu64 ",%n", &n, &used), 1);
		assert_true(used > 0);
		p += used;
		if (strcmp(p, " full") != 0)
			assert_int_equal(sscanf(p, " width %u", &width), 1);
		check_path(level, n, width, json_string_value(v));
	}
}

static void test_path_known(void **state)
{
	(void)state;
	static const struct {
		int level;
		uint64_t n;
		unsigned width;
		const char *path;
	} cases[] = {
		{ 0, 0, 256, "tile/0/000" },
		{ 0, 0, 1, "tile/0/000.p/1" },
		{ 0, 7, 255, "tile/0/007.p/255" },
		{ 0, 999, 256, "tile/0/999" },
		{ 0, 1000, 256, "tile/0/x001/000" },
		{ 1, 1000, 256, "tile/1/x001/000" },
		{ 0, 1001, 10, "tile/0/x001/001.p/10" },
		{ 0, 999999, 256, "tile/0/x999/999" },
		{ 0, 1000000, 256, "tile/0/x001/x000/000" },
		{ 0, 1234067, 256, "tile/0/x001/x234/067" },
		{ 0, 1234067, 1, "tile/0/x001/x234/067.p/1" },
		{ 2, 5, 256, "tile/2/005" },
		{ 10, 5, 100, "tile/10/005.p/100" },
		{ VL_TILE_LEVEL_MAX, 0, 256, "tile/63/000" },
		{ VL_TILE_ENTRIES, 0, 256, "tile/entries/000" },
		{ VL_TILE_ENTRIES, 7, 5, "tile/entries/007.p/5" },
		{ VL_TILE_ENTRIES, 1234067, 256, "tile/entries/x001/x234/067" },
		{ 0, UINT64_MAX, 256, "tile/0/x018/x446/x744/x073/x709/x551/615" },
		{ VL_TILE_ENTRIES, UINT64_MAX, 255,
		  "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255" },
		{ VL_TILE_LEVEL_MAX, UINT64_MAX, 255,
		  "tile/63/x018/x446/x744/x073/x709/x551/615.p/255" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_path(cases[i].level, cases[i].n, cases[i].width, cases[i].path);
}

static void test_path_round_trip(void **state)
{
	(void)state;
	reseed(1);
	uint64_t fixed[] = { 0,       1,         9,          10,         99,        100,
		             999,     1000,      1001,       9999,       10000,     999999,
		             1000000, 1000001,   999999999,  1000000000, 1ull << 32, 1ull << 56,
		             1ull << 63, UINT64_MAX - 1, UINT64_MAX };
	size_t nf = sizeof fixed / sizeof fixed[0];
	for (size_t t = 0; t < nf + 5000; t++) {
		uint64_t n = t < nf ? fixed[t] : rnd_n();
		int levels[] = { VL_TILE_ENTRIES, 0, 1, 2, 9, 10, VL_TILE_LEVEL_MAX,
			         (int)rnd_below(VL_TILE_LEVEL_MAX + 1) };
		for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
			unsigned widths[] = { 256, 1, 2, 9, 10, 99, 100, 255,
				              1 + (unsigned)rnd_below(256) };
			for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
				if (t >= nf && w > 0 && rnd_below(8) != 0)
					continue; /* keep the random part quick */
				char buf[VL_TILE_PATH_MAX];
				int k = vl_tile_path(buf, sizeof buf, levels[l], n, widths[w]);
				assert_true(k > 0 && k < VL_TILE_PATH_MAX);
				assert_int_equal((size_t)k, strlen(buf));
				int pl;
				uint64_t pn;
				unsigned pw;
				assert_int_equal(vl_tile_path_parse(buf, (size_t)k, &pl, &pn, &pw), 0);
				assert_int_equal(pl, levels[l]);
				assert_int_equal(pn, n);
				assert_int_equal(pw, widths[w]);
				/* Every proper prefix is either rejected or canonical
				 * itself (a full tile's path is a prefix of its partials). */
				const char *dot = strstr(buf, ".p/");
				for (int cut = 0; cut < k; cut++) {
					if (check_canonical(buf, (size_t)cut)) {
						assert_non_null(dot);
						size_t dp = (size_t)(dot - buf);
						assert_true((size_t)cut == dp || (size_t)cut > dp + 3);
					}
				}
			}
		}
	}
	/* Every width, spelled without leading zeros. */
	for (unsigned w = 1; w <= 256; w++) {
		char buf[VL_TILE_PATH_MAX], want[64];
		if (w < 256)
			snprintf(want, sizeof want, "tile/3/x123/456.p/%u", w);
		else
			snprintf(want, sizeof want, "tile/3/x123/456");
		assert_true(vl_tile_path(buf, sizeof buf, 3, 123456, w) > 0);
		assert_string_equal(buf, want);
		check_path(3, 123456, w, want);
	}
}

static void test_path_write_errors(void **state)
{
	(void)state;
	char buf[VL_TILE_PATH_MAX];
	assert_int_equal(vl_tile_path(NULL, 10, 0, 0, 256), VL_EINVAL);
	assert_int_equal(vl_tile_path(buf, sizeof buf, -2, 0, 256), VL_EINVAL);
	assert_int_equal(vl_tile_path(buf, sizeof buf, VL_TILE_LEVEL_MAX + 1, 0, 256), VL_EINVAL);
	assert_int_equal(vl_tile_path(buf, sizeof buf, 0, 0, 0), VL_EINVAL);
	assert_int_equal(vl_tile_path(buf, sizeof buf, 0, 0, 257), VL_EINVAL);
	assert_int_equal(vl_tile_path(buf, sizeof buf, 0, 0, UINT32_MAX), VL_EINVAL);

	/* The capacity must hold the NUL; a short buffer is not written. */
	const char *want = "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255";
	size_t len = strlen(want);
	for (size_t cap = 0; cap <= len + 1; cap++) {
		memset(buf, '#', sizeof buf);
		int k = vl_tile_path(buf, cap, VL_TILE_ENTRIES, UINT64_MAX, 255);
		if (cap <= len) {
			assert_int_equal(k, VL_EINVAL);
			for (size_t i = 0; i < sizeof buf; i++)
				assert_int_equal(buf[i], '#');
		} else {
			assert_int_equal(k, (int)len);
			assert_string_equal(buf, want);
			assert_int_equal(buf[len + 1], '#');
		}
	}
	assert_true(len + 1 <= VL_TILE_PATH_MAX);
}

static void test_path_hostile(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"tile",
		"tile/",
		"tile/0",
		"tile/0/",
		"tile/../../../etc/passwd",
		"tile/0/../000",
		"tile/0/000/..",
		"tile/0/x000/001",
		"tile/0/x000/x001/000",
		"tile/entries/x000/000",
		"tile/0/01",
		"tile/0/0",
		"tile/0/0000",
		"tile/0/1234",
		"tile/0/x1/000",
		"tile/0/x0001/000",
		"tile/0/x001",
		"tile/0/x001/",
		"tile/0/x001/x002",
		"tile/0/001/002",
		"tile/0/x001//002",
		"tile/0//000",
		"tile//0/000",
		"/tile/0/000",
		"./tile/0/000",
		"tile/./0/000",
		"tile/0/./000",
		"tile/0/000/",
		"tile/0/000.p/0",
		"tile/0/000.p/256",
		"tile/0/000.p/007",
		"tile/0/000.p/00",
		"tile/0/000.p/01",
		"tile/0/000.p/1000",
		"tile/0/000.p/4294967297",
		"tile/0/000.p/18446744073709551617",
		"tile/0/000.p/99999999999999999999999999",
		"tile/4294967296/000",
		"tile/18446744073709551616/000",
		"tile/4294967297/000",
		"tile/0/000.p/",
		"tile/0/000.p",
		"tile/0/000.p/1/",
		"tile/0/000.p/1a",
		"tile/0/000.p/+1",
		"tile/0/000.p/-1",
		"tile/0/000.P/1",
		"tile/0/000.q/1",
		"tile/0/000p/1",
		"tile/0/000..p/1",
		"tile/0/000.p/1.p/1",
		"tile/0/000.p/255.p/2",
		"tile/0/x001.p/1/000",
		"tile/entries/000/",
		"tile/entries/",
		"tile/entries",
		"tile/entry/000",
		"tile/Entries/000",
		"tile/entries/000.p/0",
		"tile/99/000",
		"tile/64/000",
		"tile/100/000",
		"tile/00/000",
		"tile/01/000",
		"tile/-1/000",
		"tile/+1/000",
		"tile/ 1/000",
		"tile/1 /000",
		"tile/x1/000",
		"tile/1x/000",
		"tile/0/X001/000",
		"tile/0/x001/X002/000",
		"tile/0/xx01/000",
		"tile/0/x01a/000",
		"tile/0/0x1",
		"tile/0/-01",
		"tile/0/+01",
		"tile/0/ 01",
		"tile/0/000 ",
		" tile/0/000",
		"tile/0/000\n",
		"tile/0/000\r\n",
		"tile\\0\\000",
		"tile/0\\000",
		"TILE/0/000",
		"tiles/0/000",
		"tile/0/000?x=1",
		"tile/0/000#",
		"tile/0/%30%30%30",
		"tile/0/x18446744073709551/616",
		"tile/0/x018/x446/x744/x073/x709/x551/616",
		"tile/0/x018/x446/x744/x073/x709/x552/000",
		"tile/0/x018/x447/000/000/000/000/000",
		"tile/0/x019/x000/x000/x000/x000/x000/000",
		"tile/0/x999/x999/x999/x999/x999/x999/999",
		"tile/0/x001/x000/x000/x000/x000/x000/x000/000",
		"tile/0/x100/x000/x000/x000/x000/x000/x000/000",
		"tile/0/x000/x000/x000/x000/x000/x000/x000/x000/000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int level = 77;
		uint64_t n = 77;
		unsigned width = 77;
		int rc = vl_tile_path_parse(bad[i], strlen(bad[i]), &level, &n, &width);
		if (rc != VL_EFORMAT)
			fail_msg("accepted or misreported (%d): \"%s\"", rc, bad[i]);
		/* Nothing is written on failure. */
		assert_int_equal(level, 77);
		assert_int_equal(n, 77);
		assert_int_equal(width, 77);
	}

	/* Bytes the length covers, including NUL, are all checked; bytes
	 * beyond it are never read. */
	static const struct {
		const char *bytes;
		size_t len;
		int ok;
	} lens[] = {
		{ "tile/0/000\0", 11, 0 },
		{ "tile/0/0\0000", 10, 0 },
		{ "tile/\0/000", 10, 0 },
		{ "tile/0/000.p/1\0", 15, 0 },
		{ "tile/0/000\0.p/1", 15, 0 },
		{ "tile/0/000.p/12", 14, 1 },   /* "tile/0/000.p/1" */
		{ "tile/0/000.p/12", 13, 0 },   /* "tile/0/000.p/" */
		{ "tile/0/000.p/12", 10, 1 },   /* "tile/0/000" */
		{ "tile/0/000/junk", 10, 1 },
		{ "tile/0/0001", 10, 1 },
		{ "tile/0/x001/000", 11, 0 },
		{ "tile/0/000", 0, 0 },
	};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		int level;
		uint64_t n;
		unsigned width;
		int rc = vl_tile_path_parse(lens[i].bytes, lens[i].len, &level, &n, &width);
		assert_int_equal(rc, lens[i].ok ? 0 : VL_EFORMAT);
		check_canonical(lens[i].bytes, lens[i].len);
	}
	/* An exact-length buffer with no terminator (ASan guards its end). */
	char *exact = malloc(10);
	assert_non_null(exact);
	memcpy(exact, "tile/0/000", 10);
	int level;
	uint64_t n;
	unsigned width;
	assert_int_equal(vl_tile_path_parse(exact, 10, &level, &n, &width), 0);
	for (size_t cut = 0; cut < 10; cut++)
		assert_int_equal(vl_tile_path_parse(exact, cut, &level, &n, &width), VL_EFORMAT);
	free(exact);

	assert_int_equal(vl_tile_path_parse(NULL, 0, &level, &n, &width), VL_EINVAL);
	assert_int_equal(vl_tile_path_parse("tile/0/000", 10, NULL, &n, &width), VL_EINVAL);
	assert_int_equal(vl_tile_path_parse("tile/0/000", 10, &level, NULL, &width), VL_EINVAL);
	assert_int_equal(vl_tile_path_parse("tile/0/000", 10, &level, &n, NULL), VL_EINVAL);
}

/* Every short string over the path alphabet after a valid prefix. */
static void test_path_exhaustive(void **state)
{
	(void)state;
	static const char alpha[] = "0159x/.p";
	const size_t na = sizeof alpha - 1;
	const char *prefixes[] = { "tile/0/", "tile/0/x001/", "tile/0/001", "tile/0/001.p/",
		                   "tile/", "tile/entries/x999/" };
	unsigned accepted = 0;
	for (size_t pi = 0; pi < sizeof prefixes / sizeof prefixes[0]; pi++) {
		size_t pl = strlen(prefixes[pi]);
		for (size_t len = 0; len <= 5; len++) {
			size_t total = 1;
			for (size_t i = 0; i < len; i++)
				total *= na;
			for (size_t code = 0; code < total; code++) {
				char buf[64];
				memcpy(buf, prefixes[pi], pl);
				size_t c = code;
				for (size_t i = 0; i < len; i++) {
					buf[pl + i] = alpha[c % na];
					c /= na;
				}
				accepted += (unsigned)check_canonical(buf, pl + len);
			}
		}
	}
	assert_true(accepted > 0);

	/* Widths: exactly the canonical decimals 1..255 are accepted. */
	for (unsigned v = 0; v < 1000; v++) {
		for (unsigned digits = 1; digits <= 3; digits++) {
			char buf[32];
			int k = snprintf(buf, sizeof buf, "tile/0/000.p/%0*u", (int)digits, v);
			int level;
			uint64_t n;
			unsigned width;
			int rc = vl_tile_path_parse(buf, (size_t)k, &level, &n, &width);
			char canon[8];
			snprintf(canon, sizeof canon, "%u", v);
			int want = v >= 1 && v <= 255 && strcmp(buf + 13, canon) == 0;
			assert_int_equal(rc, want ? 0 : VL_EFORMAT);
			if (want)
				assert_int_equal(width, v);
		}
	}
	/* Levels: exactly the canonical decimals 0..VL_TILE_LEVEL_MAX. */
	for (unsigned v = 0; v < 1000; v++) {
		for (unsigned digits = 1; digits <= 3; digits++) {
			char buf[32];
			int k = snprintf(buf, sizeof buf, "tile/%0*u/000", (int)digits, v);
			int level;
			uint64_t n;
			unsigned width;
			int rc = vl_tile_path_parse(buf, (size_t)k, &level, &n, &width);
			char canon[8];
			snprintf(canon, sizeof canon, "%u", v);
			int want = v <= VL_TILE_LEVEL_MAX &&
			           strncmp(buf + 5, canon, strlen(canon)) == 0 &&
			           buf[5 + strlen(canon)] == '/';
			assert_int_equal(rc, want ? 0 : VL_EFORMAT);
			if (want)
				assert_int_equal(level, (int)v);
		}
	}
}

/* Random mutations of valid paths: the parser never crashes, and what it
 * accepts is canonical. */
static void test_path_mutations(void **state)
{
	(void)state;
	reseed(2);
	static const char alpha[] = "0123456789x/.pentrisXP\0 -+%\\";
	unsigned accepted = 0, rejected = 0;
	for (unsigned t = 0; t < 300000; t++) {
		char buf[VL_TILE_PATH_MAX + 16];
		int level = (int)rnd_below(VL_TILE_LEVEL_MAX + 2) - 1;
		unsigned width = rnd_below(2) ? 256 : 1 + (unsigned)rnd_below(255);
		int k = vl_tile_path(buf, sizeof buf, level, rnd_n(), width);
		assert_true(k > 0);
		size_t len = (size_t)k;
		unsigned edits = 1 + (unsigned)rnd_below(3);
		for (unsigned e = 0; e < edits; e++) {
			size_t at = (size_t)rnd_below(len + 1);
			char c = rnd_below(8) ? alpha[rnd_below(sizeof alpha - 1)] : (char)rnd();
			switch (rnd_below(5)) {
			case 0: /* replace */
				if (at < len)
					buf[at] = c;
				break;
			case 1: /* insert */
				if (len < sizeof buf) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = c;
					len++;
				}
				break;
			case 2: /* delete */
				if (at < len) {
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				}
				break;
			case 3: /* truncate */
				len = at;
				break;
			default: /* duplicate a run */
			{
				size_t run = 1 + (size_t)rnd_below(5);
				if (at + run <= len && len + run <= sizeof buf) {
					memmove(buf + at + run, buf + at, len - at);
					len += run;
				}
				break;
			}
			}
		}
		/* Exactly len bytes, so ASan catches any read past them. */
		char *p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, buf, len);
		if (check_canonical(p, len))
			accepted++;
		else
			rejected++;
		free(p);
	}
	printf("test_path_mutations: %u accepted, %u rejected\n", accepted, rejected);
	assert_true(accepted > 0 && rejected > 0);
}

/* ------------------------------------------------------------------ */
/* Widths.                                                             */

static unsigned naive_width(int level, uint64_t n, uint64_t tree_size)
{
	if (level == VL_TILE_ENTRIES)
		level = 0;
	if (level < 0 || level > VL_TILE_LEVEL_MAX)
		return 0;
	/* Hashes at the level: as many as complete nodes of height 8L. */
	uint64_t count = 0;
	if (8 * level < 64)
		count = tree_size >> (8 * level);
	if (n > count / 256)
		return 0;
	uint64_t left = count - n * 256; /* 0 when count is a multiple of 256 */
	return left >= 256 ? 256 : (unsigned)left;
}

static void test_width(void **state)
{
	(void)state;
	reseed(3);
	static const struct {
		int level;
		uint64_t n, size;
		unsigned want;
	} cases[] = {
		{ 0, 0, 0, 0 },
		{ 0, 0, 1, 1 },
		{ 0, 0, 255, 255 },
		{ 0, 0, 256, 256 },
		{ 0, 1, 256, 0 },
		{ 0, 1, 257, 1 },
		{ 0, 0, 300, 256 },
		{ 0, 1, 300, 44 },
		{ 0, 2, 300, 0 },
		{ VL_TILE_ENTRIES, 1, 300, 44 },
		{ VL_TILE_ENTRIES, 3, 1000, 232 },
		{ 1, 0, 300, 1 },
		{ 1, 0, 255, 0 },
		{ 1, 0, 1000, 3 },
		{ 1, 0, 65535, 255 },
		{ 1, 0, 65536, 256 },
		{ 2, 0, 65535, 0 },
		{ 2, 0, 65536, 1 },
		{ 7, 0, UINT64_MAX, 255 },
		{ 7, 1, UINT64_MAX, 0 },
		{ 6, 254, UINT64_MAX, 256 },
		{ 6, 255, UINT64_MAX, 255 },
		{ 6, 256, UINT64_MAX, 0 },
		{ 0, (UINT64_MAX >> 8), UINT64_MAX, 255 },
		{ 0, (UINT64_MAX >> 8) - 1, UINT64_MAX, 256 },
		{ 0, UINT64_MAX, UINT64_MAX, 0 },
		{ 8, 0, UINT64_MAX, 0 },
		{ VL_TILE_LEVEL_MAX, 0, UINT64_MAX, 0 },
		{ VL_TILE_LEVEL_MAX + 1, 0, UINT64_MAX, 0 },
		{ -2, 0, UINT64_MAX, 0 },
		{ 1000, 0, UINT64_MAX, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned got = vl_tile_width(cases[i].level, cases[i].n, cases[i].size);
		if (got != cases[i].want)
			fail_msg("width(%d, %" PRIu64 ", %" PRIu64 ") = %u, want %u", cases[i].level,
			         cases[i].n, cases[i].size, got, cases[i].want);
		assert_int_equal(got, naive_width(cases[i].level, cases[i].n, cases[i].size));
	}
	for (unsigned t = 0; t < 200000; t++) {
		uint64_t size = rnd() >> rnd_below(64);
		int level = (int)rnd_below(12) - 2;
		uint64_t count = level >= 0 && level < 8 ? size >> (8 * level) : size;
		uint64_t n;
		switch (rnd_below(4)) {
		case 0:
			n = count / 256;
			break;
		case 1:
			n = count / 256 - 1;
			break;
		case 2:
			n = count / 256 + 1;
			break;
		default:
			n = rnd_below(count / 256 + 2);
		}
		assert_int_equal(vl_tile_width(level, n, size), naive_width(level, n, size));
	}
}

/* ------------------------------------------------------------------ */
/* The reader.                                                         */

static store vec_store;
static hash_t vec_leaves[300];

static int setup(void **state)
{
	(void)state;
	char path[4096];
	snprintf(path, sizeof path, "%s/tlog-vectors.json", vectors_dir());
	json_error_t err;
	vectors = json_load_file(path, 0, &err);
	if (vectors == NULL) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n", path, err.text, err.line);
		return -1;
	}
	for (unsigned i = 0; i < 300; i++) {
		char buf[32];
		int len = snprintf(buf, sizeof buf, "entry %u", i);
		vl_leaf_hash(buf, (size_t)len, vec_leaves[i]);
	}
	store_build(&vec_store, (const hash_t *)vec_leaves, 300);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_free(&vec_store);
	json_decref(vectors);
	vectors = NULL;
	return 0;
}

/* The tlog vectors reproduced from in-memory tiles of the 300-entry tree. */
static void test_reader_vectors(void **state)
{
	(void)state;
	memtiles mt = { .st = &vec_store };
	vl_tile_reader r;
	size_t idx;
	json_t *v;

	json_t *list = json_object_get(vectors, "tree_hashes");
	assert_true(json_array_size(list) == 301);
	json_array_foreach(list, idx, v)
	{
		uint64_t n = json_u64(v, "size");
		uint8_t want[HS], got[HS];
		b64_hash(json_string_value(json_object_get(v, "root_b64")), want);
		mt.tree_size = n;
		vl_tile_reader_init(&r, n, mem_fetch, &mt);
		assert_int_equal(vl_merkle_tree_hash(n, vl_tile_reader_hash, &r, got), 0);
		assert_memory_equal(got, want, HS);
	}

	list = json_object_get(vectors, "inclusion_proofs");
	assert_true(json_array_size(list) > 0);
	json_array_foreach(list, idx, v)
	{
		uint64_t index = json_u64(v, "index"), n = json_u64(v, "size");
		hash_t want[VL_PROOF_MAX], got[VL_PROOF_MAX];
		size_t nw = json_hashes(v, "proof_b64", want, VL_PROOF_MAX), ng;
		uint8_t leaf[HS], root[HS];
		b64_hash(json_string_value(json_object_get(v, "leaf_hash_b64")), leaf);
		mt.tree_size = n;
		vl_tile_reader_init(&r, n, mem_fetch, &mt);
		assert_int_equal(vl_merkle_prove_inclusion(index, n, vl_tile_reader_hash, &r, got, &ng),
		                 0);
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, nw * HS);
		assert_int_equal(vl_merkle_tree_hash(n, vl_tile_reader_hash, &r, root), 0);
		assert_int_equal(vl_merkle_verify_inclusion(leaf, index, n, (const hash_t *)got, ng,
		                                            root),
		                 0);
	}

	list = json_object_get(vectors, "consistency_proofs");
	assert_true(json_array_size(list) > 0);
	json_array_foreach(list, idx, v)
	{
		uint64_t m = json_u64(v, "old_size"), n = json_u64(v, "new_size");
		hash_t want[VL_PROOF_MAX], got[VL_PROOF_MAX];
		size_t nw = json_hashes(v, "proof_b64", want, VL_PROOF_MAX), ng;
		uint8_t rm[HS], rn[HS];
		mt.tree_size = n;
		vl_tile_reader_init(&r, n, mem_fetch, &mt);
		assert_int_equal(vl_merkle_prove_consistency(m, n, vl_tile_reader_hash, &r, got, &ng),
		                 0);
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, nw * HS);
		assert_int_equal(vl_merkle_tree_hash(n, vl_tile_reader_hash, &r, rn), 0);
		mt.tree_size = m;
		vl_tile_reader_init(&r, m, mem_fetch, &mt);
		assert_int_equal(vl_merkle_tree_hash(m, vl_tile_reader_hash, &r, rm), 0);
		assert_int_equal(vl_merkle_verify_consistency(m, n, (const hash_t *)got, ng, rm, rn),
		                 0);
	}
}

/* Every node complete in a tree, read from its tiles, equals the stored
 * node; every other node is refused; the one-tile cache works. */
static void check_reader_store(const store *st, uint64_t size)
{
	memtiles mt = { .st = st, .tree_size = size };
	vl_tile_reader r;
	vl_tile_reader_init(&r, size, mem_fetch, &mt);
	uint8_t out[HS];
	for (unsigned h = 0; h < 64; h++) {
		uint64_t count = size >> h;
		unsigned before = mt.fetches;
		uint64_t tiles = 0, last_tile = UINT64_MAX;
		for (uint64_t i = 0; i < count; i++) {
			assert_int_equal(vl_tile_reader_hash(&r, h, i, out), 0);
			assert_memory_equal(out, st->lv[h][i], HS);
			uint64_t tile = (i << (h % 8)) / 256;
			if (tile != last_tile) {
				tiles++;
				last_tile = tile;
			}
		}
		/* In index order each tile is fetched once (the first one may
		 * already be cached from the level below). */
		assert_true(mt.fetches - before <= tiles);
		assert_true(mt.fetches - before + 1 >= tiles);
		unsigned f = mt.fetches;
		assert_int_equal(vl_tile_reader_hash(&r, h, count, out), VL_EINVAL);
		assert_int_equal(vl_tile_reader_hash(&r, h, count + 1, out), VL_EINVAL);
		assert_int_equal(vl_tile_reader_hash(&r, h, UINT64_MAX, out), VL_EINVAL);
		assert_int_equal(vl_tile_reader_hash(&r, h, UINT64_MAX >> h, out), VL_EINVAL);
		assert_int_equal(mt.fetches, f);
	}
	assert_int_equal(vl_tile_reader_hash(&r, 64, 0, out), VL_EINVAL);
	assert_int_equal(vl_tile_reader_hash(&r, 65, 0, out), VL_EINVAL);
	assert_int_equal(vl_tile_reader_hash(&r, UINT32_MAX, 0, out), VL_EINVAL);
	assert_int_equal(vl_tile_reader_hash(&r, 200, 0, out), VL_EINVAL);

	/* Random order still gives the right nodes. */
	for (unsigned t = 0; t < 2000; t++) {
		unsigned h = (unsigned)rnd_below(64);
		uint64_t count = size >> h;
		if (count == 0)
			continue;
		uint64_t i = rnd_below(count);
		assert_int_equal(vl_tile_reader_hash(&r, h, i, out), 0);
		assert_memory_equal(out, st->lv[h][i], HS);
	}

	/* Tree hashes and proofs from tiles equal those from the store. */
	if (size > 0) {
		uint8_t root[HS];
		hash_t p[VL_PROOF_MAX];
		size_t np;
		assert_int_equal(vl_merkle_tree_hash(size, vl_tile_reader_hash, &r, root), 0);
		vl_merkle_root_of_leaves((const hash_t *)st->lv[0], size, out);
		assert_memory_equal(root, out, HS);
		for (unsigned t = 0; t < 20; t++) {
			uint64_t i = t == 0 ? size - 1 : rnd_below(size);
			assert_int_equal(
				vl_merkle_prove_inclusion(i, size, vl_tile_reader_hash, &r, p, &np), 0);
			assert_int_equal(vl_merkle_verify_inclusion(st->lv[0][i], i, size,
			                                            (const hash_t *)p, np, root),
			                 0);
		}
	}
}

static void test_reader_nodes(void **state)
{
	(void)state;
	reseed(4);
	enum { N = 70000 };
	hash_t *leaves = malloc((size_t)N * sizeof *leaves);
	assert_non_null(leaves);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t z = i * 0x9e3779b97f4a7c15ull + 7;
		for (int j = 0; j < HS; j += 8) {
			z ^= z >> 31;
			z *= 0x94d049bb133111ebull;
			memcpy(leaves[i] + j, &z, 8);
		}
	}
	store st;
	store_build(&st, (const hash_t *)leaves, N);
	uint64_t sizes[] = { 0,     1,     2,     255,   256,   257,   511,   512,
		             513,   1000,  4095,  4096,  65535, 65536, 65537, N,
		             rnd_below(N), rnd_below(N), rnd_below(2000) };
	for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
		check_reader_store(&st, sizes[t]);
	store_free(&st);
	free(leaves);
}

/* Huge trees with synthetic tiles: index arithmetic near 2^64. */
static void test_reader_huge(void **state)
{
	(void)state;
	reseed(5);
	uint64_t sizes[] = { 1ull << 40, (1ull << 40) + 255, 1ull << 63, UINT64_MAX,
		             UINT64_MAX - 1, rnd(), rnd() >> 7 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		uint64_t size = sizes[s];
		memtiles mt = { .tree_size = size };
		vl_tile_reader r;
		vl_tile_reader_init(&r, size, mem_fetch, &mt);
		uint8_t out[HS], want[HS];
		for (unsigned t = 0; t < 600; t++) {
			unsigned h = t < 64 ? t : (unsigned)rnd_below(64);
			uint64_t count = size >> h;
			if (count == 0) {
				assert_int_equal(vl_tile_reader_hash(&r, h, 0, out), VL_EINVAL);
				continue;
			}
			uint64_t i = t % 3 == 0 ? count - 1 : t % 3 == 1 ? 0 : rnd_below(count);
			assert_int_equal(vl_tile_reader_hash(&r, h, i, out), 0);
			synth_node(h, i, want);
			assert_memory_equal(out, want, HS);
			assert_int_equal(vl_tile_reader_hash(&r, h, count, out), VL_EINVAL);
		}
		/* Proofs over tiles need only the arithmetic to be right. */
		hash_t p[VL_PROOF_MAX];
		size_t np;
		uint8_t root[HS];
		assert_int_equal(vl_merkle_tree_hash(size, vl_tile_reader_hash, &r, root), 0);
		assert_int_equal(
			vl_merkle_prove_inclusion(size - 1, size, vl_tile_reader_hash, &r, p, &np), 0);
		assert_int_equal(vl_merkle_prove_inclusion(0, size, vl_tile_reader_hash, &r, p, &np),
		                 0);
	}
}

static void test_reader_cache_and_errors(void **state)
{
	(void)state;
	memtiles mt = { .st = &vec_store, .tree_size = 300 };
	vl_tile_reader r;
	vl_tile_reader_init(&r, 300, mem_fetch, &mt);
	uint8_t out[HS];

	/* Nodes of one tile share one fetch. */
	assert_int_equal(vl_tile_reader_hash(&r, 0, 0, out), 0);
	assert_int_equal(mt.fetches, 1);
	assert_int_equal(vl_tile_reader_hash(&r, 3, 5, out), 0);
	assert_int_equal(vl_tile_reader_hash(&r, 7, 1, out), 0);
	assert_int_equal(vl_tile_reader_hash(&r, 0, 255, out), 0);
	assert_int_equal(mt.fetches, 1);
	assert_memory_equal(out, vec_store.lv[0][255], HS);
	/* The partial tile is fetched at its width. */
	assert_int_equal(vl_tile_reader_hash(&r, 0, 299, out), 0);
	assert_int_equal(mt.fetches, 2);
	assert_int_equal(mt.last_n, 1);
	assert_int_equal(mt.last_width, 44);
	assert_memory_equal(out, vec_store.lv[0][299], HS);
	assert_int_equal(vl_tile_reader_hash(&r, 2, 67, out), 0);
	assert_memory_equal(out, vec_store.lv[2][67], HS);
	assert_int_equal(mt.fetches, 2);
	/* Height 8 is level 1 (a one-hash partial tile). */
	assert_int_equal(vl_tile_reader_hash(&r, 8, 0, out), 0);
	assert_int_equal(mt.fetches, 3);
	assert_int_equal(mt.last_level, 1);
	assert_int_equal(mt.last_width, 1);
	assert_memory_equal(out, vec_store.lv[8][0], HS);
	assert_int_equal(vl_tile_reader_hash(&r, 0, 0, out), 0);
	assert_int_equal(mt.fetches, 4);

	/* A failed fetch is passed through and not cached, even if it wrote
	 * into the buffer. */
	const int codes[] = { VL_ENOTFOUND, VL_ECORRUPT, -2 /* -ENOENT */ };
	for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
		unsigned f = mt.fetches;
		mt.fail_code = codes[c];
		assert_int_equal(vl_tile_reader_hash(&r, 0, 299, out), codes[c]);
		assert_int_equal(mt.fetches, f + 1);
		assert_int_equal(vl_tile_reader_hash(&r, 0, 299, out), 0);
		assert_int_equal(mt.fetches, f + 2);
		assert_memory_equal(out, vec_store.lv[0][299], HS);
		/* A failed fetch may have clobbered the cached tile: it is
		 * fetched again. */
		assert_int_equal(vl_tile_reader_hash(&r, 0, 0, out), 0);
		f = mt.fetches;
		mt.fail_code = codes[c];
		assert_int_equal(vl_tile_reader_hash(&r, 0, 299, out), codes[c]);
		assert_int_equal(vl_tile_reader_hash(&r, 0, 0, out), 0);
		assert_int_equal(mt.fetches, f + 2);
		assert_memory_equal(out, vec_store.lv[0][0], HS);
		/* Proof generation passes the error through. */
		hash_t p[VL_PROOF_MAX];
		size_t np = 9;
		mt.fail_code = codes[c];
		assert_int_equal(vl_merkle_prove_inclusion(290, 300, vl_tile_reader_hash, &r, p, &np),
		                 codes[c]);
		assert_int_equal(np, 0);
	}
	/* A positive return is no success. */
	mt.fail_code = 1;
	assert_int_equal(vl_tile_reader_hash(&r, 0, 298, out), VL_EINVAL);
	assert_int_equal(vl_tile_reader_hash(&r, 0, 298, out), 0);

	/* Changing tree_size changes the widths asked for; the cache follows. */
	r.tree_size = 290;
	mt.tree_size = 290;
	assert_int_equal(vl_tile_reader_hash(&r, 0, 288, out), 0);
	assert_int_equal(mt.last_width, 34);
	assert_int_equal(vl_tile_reader_hash(&r, 0, 290, out), VL_EINVAL);

	assert_int_equal(vl_tile_reader_hash(NULL, 0, 0, out), VL_EINVAL);
	assert_int_equal(vl_tile_reader_hash(&r, 0, 0, NULL), VL_EINVAL);
	vl_tile_reader z;
	vl_tile_reader_init(&z, 300, NULL, NULL);
	assert_int_equal(vl_tile_reader_hash(&z, 0, 0, out), VL_EINVAL);
	vl_tile_reader_init(&z, 0, mem_fetch, &mt);
	assert_int_equal(vl_tile_reader_hash(&z, 0, 0, out), VL_EINVAL);
}

/* ------------------------------------------------------------------ */
/* A real tree on disk.                                                 */

typedef struct dirtiles {
	char dir[4096];
	uint64_t full_size; /* the size the directory's tiles were cut at */
	unsigned fetches;
} dirtiles;

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		assert_non_null(buf);
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Serves a tile from whichever file holds it: the full tile, or the
 * partial tile at the directory's size, which is at least as wide. */
static int dir_fetch(void *ctx, int level, uint64_t n, unsigned width, uint8_t *buf)
{
	dirtiles *dt = ctx;
	unsigned have = vl_tile_width(level, n, dt->full_size);
	assert_true(width >= 1 && width <= have);
	char rel[VL_TILE_PATH_MAX], path[8192];
	assert_true(vl_tile_path(rel, sizeof rel, level, n, have) > 0);
	snprintf(path, sizeof path, "%s/%s", dt->dir, rel);
	size_t len;
	uint8_t *data = read_all(path, &len);
	if (data == NULL)
		return VL_ENOTFOUND;
	assert_int_equal(len, (size_t)have * HS);
	memcpy(buf, data, (size_t)width * HS);
	free(data);
	dt->fetches++;
	return 0;
}

static void walk_tiles(const char *root, const char *rel, unsigned *count, uint64_t size)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	DIR *d = opendir(path);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[4096], full[8192];
		snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
		snprintf(full, sizeof full, "%s/%s", root, sub);
		struct stat st;
		assert_int_equal(stat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			walk_tiles(root, sub, count, size);
			continue;
		}
		/* Every file in the tree has a canonical name for a tile that
		 * exists at exactly that width at the checkpoint's size. */
		int level;
		uint64_t n;
		unsigned width;
		assert_int_equal(vl_tile_path_parse(sub, strlen(sub), &level, &n, &width), 0);
		assert_true(check_canonical(sub, strlen(sub)));
		assert_int_equal(width, vl_tile_width(level, n, size));
		if (level >= 0)
			assert_int_equal(st.st_size, (off_t)width * HS);
		(*count)++;
	}
	closedir(d);
}

static void test_log_1000(void **state)
{
	(void)state;
	reseed(6);
	dirtiles dt = { 0 };
	snprintf(dt.dir, sizeof dt.dir, "%s/log-1000", vectors_dir());
	char path[8192];
	snprintf(path, sizeof path, "%s/checkpoint", dt.dir);
	size_t len;
	uint8_t *cp = read_all(path, &len);
	assert_non_null(cp);
	/* origin \n size \n root \n ... */
	char *text = calloc(1, len + 1);
	assert_non_null(text);
	memcpy(text, cp, len);
	free(cp);
	char *l1 = strchr(text, '\n');
	assert_non_null(l1);
	uint64_t size = strtoull(l1 + 1, NULL, 10);
	char *l2 = strchr(l1 + 1, '\n');
	assert_non_null(l2);
	uint8_t root[HS];
	b64_hash(l2 + 1, root);
	free(text);
	assert_int_equal(size, 1000);
	dt.full_size = size;

	unsigned files = 0;
	walk_tiles(dt.dir, "tile", &files, size);
	assert_int_equal(files, 4 + 4 + 1); /* 3 full + 1 partial, twice; one at level 1 */

	/* Leaves from the entry bundles. */
	hash_t *leaves = malloc(size * sizeof *leaves);
	assert_non_null(leaves);
	uint64_t got_entries = 0;
	for (uint64_t t = 0; t * 256 < size; t++) {
		unsigned w = vl_tile_width(VL_TILE_ENTRIES, t, size);
		char rel[VL_TILE_PATH_MAX];
		assert_true(vl_tile_path(rel, sizeof rel, VL_TILE_ENTRIES, t, w) > 0);
		snprintf(path, sizeof path, "%s/%s", dt.dir, rel);
		uint8_t *b = read_all(path, &len);
		assert_non_null(b);
		size_t off = 0;
		for (unsigned j = 0; j < w; j++) {
			assert_true(off + 2 <= len);
			size_t el = (size_t)b[off] << 8 | b[off + 1];
			assert_true(el >= 1 && off + 2 + el <= len);
			vl_leaf_hash(b + off + 2, el, leaves[got_entries++]);
			off += 2 + el;
		}
		assert_int_equal(off, len);
		free(b);
	}
	assert_int_equal(got_entries, size);

	vl_tile_reader r;
	vl_tile_reader_init(&r, size, dir_fetch, &dt);
	uint8_t out[HS];
	for (uint64_t i = 0; i < size; i++) {
		assert_int_equal(vl_tile_reader_hash(&r, 0, i, out), 0);
		assert_memory_equal(out, leaves[i], HS);
	}
	assert_int_equal(vl_merkle_tree_hash(size, vl_tile_reader_hash, &r, out), 0);
	assert_memory_equal(out, root, HS);
	vl_merkle_root_of_leaves((const hash_t *)leaves, size, out);
	assert_memory_equal(out, root, HS);

	hash_t p[VL_PROOF_MAX];
	size_t np;
	for (uint64_t i = 0; i < size; i++) {
		assert_int_equal(vl_merkle_prove_inclusion(i, size, vl_tile_reader_hash, &r, p, &np),
		                 0);
		assert_int_equal(
			vl_merkle_verify_inclusion(leaves[i], i, size, (const hash_t *)p, np, root), 0);
	}
	/* Older trees read from the same files: narrower views of partial and
	 * full tiles. */
	uint64_t olds[] = { 1, 2, 255, 256, 257, 511, 512, 767, 768, 769, 999, 1000,
		            1 + rnd_below(size), 1 + rnd_below(size) };
	for (size_t j = 0; j < sizeof olds / sizeof olds[0]; j++) {
		uint64_t m = olds[j];
		uint8_t rm[HS], want[HS];
		vl_tile_reader ro;
		vl_tile_reader_init(&ro, m, dir_fetch, &dt);
		assert_int_equal(vl_merkle_tree_hash(m, vl_tile_reader_hash, &ro, rm), 0);
		vl_merkle_root_of_leaves((const hash_t *)leaves, m, want);
		assert_memory_equal(rm, want, HS);
		assert_int_equal(vl_merkle_prove_consistency(m, size, vl_tile_reader_hash, &r, p, &np),
		                 0);
		assert_int_equal(
			vl_merkle_verify_consistency(m, size, (const hash_t *)p, np, rm, root), 0);
	}
	free(leaves);
}

int main(void)
{
	const char *s = getenv("VL_SEED");
	base_seed = (s != NULL && *s != '\0') ? strtoull(s, NULL, 0) : 0x766c74696c657321ull;
	printf("test_tiles: seed %" PRIu64 " (set VL_SEED to reproduce)\n", base_seed);
	fflush(stdout);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_vectors),
		cmocka_unit_test(test_path_known),
		cmocka_unit_test(test_path_round_trip),
		cmocka_unit_test(test_path_write_errors),
		cmocka_unit_test(test_path_hostile),
		cmocka_unit_test(test_path_exhaustive),
		cmocka_unit_test(test_path_mutations),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_reader_vectors),
		cmocka_unit_test(test_reader_nodes),
		cmocka_unit_test(test_reader_huge),
		cmocka_unit_test(test_reader_cache_and_errors),
		cmocka_unit_test(test_log_1000),
	};
	return cmocka_run_group_tests_name("tiles", tests, setup, teardown);
}
