/*
 * rng.c — the seeded random numbers of `vellum chaos run`, and its events.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * xoshiro256** (Blackman and Vigna) with its state filled by splitmix64,
 * as its authors recommend.  Nothing here depends on the platform: the
 * same seed gives the same numbers, the same derived seeds and the same
 * events everywhere.
 *
 * Event N of seed S:
 *
 *   {"chaos":"<S>","n":<N>,"pad":"<P>"}
 *
 * The pad's length is 16 + h % 185 (16..200), h the first word of the
 * splitmix64 chain started at mix(S) ^ N; its digits are the following
 * words of that chain, each giving 16 lowercase hex digits, most
 * significant first.
 */
#include <string.h>

#include "chaos.h"
#include "util.h"

#define PAD_MIN 16
#define PAD_MAX 200

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void vc_rng_seed(vc_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	/* splitmix64 is a bijection of its counter, so four consecutive
	 * outputs are never all zero; xoshiro's one forbidden state cannot
	 * occur. */
}

uint64_t vc_rng_next(vc_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t vc_rng_below(vc_rng *r, uint64_t n)
{
	if (n <= 1)
		return 0;
	/* Reject the lowest 2^64 mod n values, so that the rest is a whole
	 * number of copies of [0, n). */
	uint64_t threshold = (0 - n) % n;
	for (;;) {
		uint64_t x = vc_rng_next(r);
		if (x >= threshold)
			return x % n;
	}
}

double vc_rng_unit(vc_rng *r)
{
	return (double)(vc_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t vc_rng_derive(uint64_t seed, const char *name)
{
	/* FNV-1a of the name, then two rounds of splitmix64 over the seed
	 * and the hash, so that nearby seeds and names spread apart. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	uint64_t x = seed;
	uint64_t a = splitmix64(&x);
	x = a ^ h;
	return splitmix64(&x);
}

/* ------------------------------------------------------------------ */
/* Events.                                                             */

static uint64_t next_splitmix(void *x)
{
	return splitmix64(x);
}

size_t vc_event(uint64_t seed, uint64_t n, char *buf)
{
	uint64_t x = seed;
	x = splitmix64(&x) ^ n;
	size_t pad = PAD_MIN + (size_t)(splitmix64(&x) % (PAD_MAX - PAD_MIN + 1));
	size_t o = 0;
	o += vc_put_str(buf + o, "{\"chaos\":\"");
	o += vc_put_u64(buf + o, seed);
	o += vc_put_str(buf + o, "\",\"n\":");
	o += vc_put_u64(buf + o, n);
	o += vc_put_str(buf + o, ",\"pad\":\"");
	o += vc_put_hex(buf + o, pad, next_splitmix, &x);
	o += vc_put_str(buf + o, "\"}");
	return o;
}

int vc_event_parse(const char *buf, size_t len, uint64_t *seed, uint64_t *n)
{
	size_t p = 0;
	uint64_t s, e;
	if (!buf || len > VC_EVENT_MAX)
		return 0;
	if (!vc_eat(buf, len, &p, "{\"chaos\":\"") || !vc_eat_u64(buf, len, &p, &s) ||
	    !vc_eat(buf, len, &p, "\",\"n\":") || !vc_eat_u64(buf, len, &p, &e) ||
	    !vc_eat(buf, len, &p, ",\"pad\":\"") || !vc_eat_hex(buf, len, &p, PAD_MIN, PAD_MAX) ||
	    !vc_eat(buf, len, &p, "\"}") || p != len)
		return 0;
	*seed = s;
	*n = e;
	return 1;
}
