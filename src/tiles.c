/*
 * tiles.c — c2sp.org/tlog-tiles paths, tile widths and the hash reader over tiles.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Tile paths arrive from HTTP requests and from untrusted trees, so the
 * parser accepts exactly the strings vl_tile_path produces and nothing
 * else: one canonical name per tile means no two paths can alias the same
 * file and no path can escape the tile directory.
 */
#include "tiles.h"

#include <string.h>

#define GROUP_BASE 1000u

/* Decimal digits of v, most significant first; returns the count. */
static size_t put_dec(char *p, uint64_t v)
{
	char tmp[20];
	size_t k = 0;
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < k; i++)
		p[i] = tmp[k - 1 - i];
	return k;
}

static size_t put_str(char *p, const char *s)
{
	size_t k = strlen(s);
	memcpy(p, s, k);
	return k;
}

int vl_tile_path(char *buf, size_t cap, int level, uint64_t n, unsigned width)
{
	if (buf == NULL || level < VL_TILE_ENTRIES || level > VL_TILE_LEVEL_MAX || width == 0 ||
	    width > VL_TILE_WIDTH)
		return VL_EINVAL;

	/* 2^64 - 1 has 20 digits: seven groups. */
	unsigned groups[7];
	size_t ng = 0;
	do {
		groups[ng++] = (unsigned)(n % GROUP_BASE);
		n /= GROUP_BASE;
	} while (n != 0);

	char tmp[VL_TILE_PATH_MAX];
	size_t len = put_str(tmp, "tile/");
	if (level == VL_TILE_ENTRIES)
		len += put_str(tmp + len, "entries");
	else
		len += put_dec(tmp + len, (uint64_t)level);
	tmp[len++] = '/';
	for (size_t i = ng; i-- > 0;) {
		if (i != 0)
			tmp[len++] = 'x';
		tmp[len++] = (char)('0' + groups[i] / 100);
		tmp[len++] = (char)('0' + groups[i] / 10 % 10);
		tmp[len++] = (char)('0' + groups[i] % 10);
		if (i != 0)
			tmp[len++] = '/';
	}
	if (width < VL_TILE_WIDTH) {
		len += put_str(tmp + len, ".p/");
		len += put_dec(tmp + len, width);
	}
	if (len >= cap)
		return VL_EINVAL;
	memcpy(buf, tmp, len);
	buf[len] = '\0';
	return (int)len;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int eat(const char **p, const char *end, const char *lit)
{
	size_t k = strlen(lit);
	if ((size_t)(end - *p) < k || memcmp(*p, lit, k) != 0)
		return 0;
	*p += k;
	return 1;
}

/*
 * A canonical decimal in [min, max] (max < 1000): no sign, no leading
 * zero except "0" itself.  Stops at the first non-digit.
 */
static int eat_dec(const char **p, const char *end, unsigned min, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	size_t k = 0;
	while (s + k < end && is_digit(s[k])) {
		if (k == 3)
			return 0; /* longer than any value allowed here */
		v = v * 10 + (unsigned)(s[k] - '0');
		k++;
	}
	if (k == 0 || (k > 1 && s[0] == '0') || v < min || v > max)
		return 0;
	*p = s + k;
	*out = v;
	return 1;
}

static int eat_group(const char **p, const char *end, unsigned *out)
{
	const char *s = *p;
	if (end - s < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return 0;
	*out = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
	*p = s + 3;
	return 1;
}

int vl_tile_path_parse(const char *path, size_t len, int *level, uint64_t *n, unsigned *width)
{
	if (path == NULL || level == NULL || n == NULL || width == NULL)
		return VL_EINVAL;
	const char *p = path, *end = path + len;

	if (!eat(&p, end, "tile/"))
		return VL_EFORMAT;
	int lv;
	if (eat(&p, end, "entries")) {
		lv = VL_TILE_ENTRIES;
	} else {
		unsigned v;
		if (!eat_dec(&p, end, 0, VL_TILE_LEVEL_MAX, &v))
			return VL_EFORMAT;
		lv = (int)v;
	}
	if (!eat(&p, end, "/"))
		return VL_EFORMAT;

	uint64_t v = 0;
	for (int first = 1;; first = 0) {
		int more = eat(&p, end, "x");
		unsigned g;
		if (!eat_group(&p, end, &g))
			return VL_EFORMAT;
		/* A leading zero group would be a second name for a smaller N. */
		if (more && first && g == 0)
			return VL_EFORMAT;
		if (v > (UINT64_MAX - g) / GROUP_BASE)
			return VL_EFORMAT;
		v = v * GROUP_BASE + g;
		if (!more)
			break;
		if (!eat(&p, end, "/"))
			return VL_EFORMAT;
	}

	unsigned w = VL_TILE_WIDTH;
	if (p != end) {
		if (!eat(&p, end, ".p/") || !eat_dec(&p, end, 1, VL_TILE_WIDTH - 1, &w))
			return VL_EFORMAT;
		if (p != end)
			return VL_EFORMAT;
	}
	*level = lv;
	*n = v;
	*width = w;
	return 0;
}

unsigned vl_tile_width(int level, uint64_t n, uint64_t tree_size)
{
	if (level == VL_TILE_ENTRIES)
		level = 0;
	if (level < 0 || level > VL_TILE_LEVEL_MAX)
		return 0;
	unsigned shift = (unsigned)level * VL_TILE_HEIGHT;
	if (shift >= 64)
		return 0;
	uint64_t count = tree_size >> shift;
	uint64_t full = count / VL_TILE_WIDTH;
	if (n < full)
		return VL_TILE_WIDTH;
	if (n == full)
		return (unsigned)(count % VL_TILE_WIDTH);
	return 0;
}

void vl_tile_reader_init(vl_tile_reader *r, uint64_t tree_size, vl_tile_fetch fetch, void *ctx)
{
	r->tree_size = tree_size;
	r->fetch = fetch;
	r->ctx = ctx;
	r->cached_level = VL_TILE_ENTRIES - 1; /* matches no tile */
	r->cached_n = 0;
	r->cached_width = 0;
}

int vl_tile_reader_hash(void *reader, unsigned height, uint64_t index, uint8_t out[VL_HASH_SIZE])
{
	vl_tile_reader *r = reader;
	if (r == NULL || r->fetch == NULL || out == NULL)
		return VL_EINVAL;
	/* Only nodes complete at tree_size are in any tile of that tree. */
	if (height >= 64 || index >= (r->tree_size >> height))
		return VL_EINVAL;

	unsigned level = height / VL_TILE_HEIGHT;
	unsigned up = height % VL_TILE_HEIGHT;
	uint64_t count = r->tree_size >> (level * VL_TILE_HEIGHT);
	uint64_t start = index << up;
	uint64_t t = start / VL_TILE_WIDTH;
	uint64_t avail = count - t * VL_TILE_WIDTH;
	unsigned width = avail >= VL_TILE_WIDTH ? VL_TILE_WIDTH : (unsigned)avail;

	if (r->cached_width != width || r->cached_level != (int)level || r->cached_n != t) {
		/* A failed fetch may have written part of the buffer. */
		r->cached_width = 0;
		int err = r->fetch(r->ctx, (int)level, t, width, &r->cached[0][0]);
		if (err != 0)
			return err < 0 ? err : VL_EINVAL;
		r->cached_level = (int)level;
		r->cached_n = t;
		r->cached_width = width;
	}

	/* start is a multiple of 2^up and 2^up divides 256, so the node's
	 * hashes never straddle two tiles and all lie below width. */
	unsigned off = (unsigned)(start % VL_TILE_WIDTH);
	unsigned span = 1u << up;
	uint8_t stack[VL_TILE_HEIGHT][VL_HASH_SIZE];
	unsigned depth = 0;
	for (unsigned j = 0; j < span; j++) {
		uint8_t cur[VL_HASH_SIZE];
		memcpy(cur, r->cached[off + j], VL_HASH_SIZE);
		for (unsigned k = j; (k & 1) != 0; k >>= 1)
			vl_node_hash(stack[--depth], cur, cur);
		memcpy(stack[depth++], cur, VL_HASH_SIZE);
	}
	memcpy(out, stack[0], VL_HASH_SIZE);
	return 0;
}
