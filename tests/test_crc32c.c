/*
 * test_crc32c.c — known answers for CRC-32C and agreement of its two implementations.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The WAL's frame checksums must mean the same on every host, so the
 * hardware path (SSE4.2 where present) and the table are checked against
 * published values and against each other at every length and alignment
 * that reaches their word loops and byte tails.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static const struct {
	const char *name;
	crc_fn fn;
} impls[] = {
	{ "vl_crc32c", vl_crc32c },
	{ "vl_crc32c_table", vl_crc32c_table },
};

/* RFC 3720 appendix B.4 and the customary check value. */
static void test_known_answers(void **state)
{
	(void)state;
	uint8_t zeros[32], ones[32], inc[32], dec[32];
	memset(zeros, 0, sizeof zeros);
	memset(ones, 0xff, sizeof ones);
	for (int i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	/* An iSCSI read command PDU (RFC 3720 B.4). */
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	for (size_t k = 0; k < sizeof impls / sizeof impls[0]; k++) {
		crc_fn f = impls[k].fn;
		assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
		assert_int_equal(f(0, zeros, 32), 0x8A9136AAu);
		assert_int_equal(f(0, ones, 32), 0x62A8AB43u);
		assert_int_equal(f(0, inc, 32), 0x46DD794Eu);
		assert_int_equal(f(0, dec, 32), 0x113FDB5Cu);
		assert_int_equal(f(0, pdu, sizeof pdu), 0xD9963A56u);
		assert_int_equal(f(0, "", 0), 0);
		assert_int_equal(f(0, "a", 1), 0xC1D04330u);
		/* Continuing from a previous value, as the WAL does. */
		assert_int_equal(f(f(0, "1234", 4), "56789", 5), 0xE3069283u);
		assert_int_equal(f(0xE3069283u, "", 0), 0xE3069283u);
	}
}

static void test_hw_matches_table(void **state)
{
	(void)state;
	enum { MAXLEN = 300, SLACK = 16 };
	uint8_t *buf = malloc(MAXLEN + SLACK);
	assert_non_null(buf);
	unsigned checked = 0;
	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < MAXLEN + SLACK; i++)
			buf[i] = (uint8_t)rnd();
		for (size_t len = 0; len <= MAXLEN; len++) {
			for (size_t off = 0; off < SLACK; off++) {
				if (round > 0 && off != (size_t)(rnd() % SLACK))
					continue;
				uint32_t seed = round & 1 ? (uint32_t)rnd() : 0;
				uint32_t a = vl_crc32c(seed, buf + off, len);
				uint32_t b = vl_crc32c_table(seed, buf + off, len);
				if (a != b)
					fail_msg("len %zu off %zu seed %08" PRIx32 ": hw %08" PRIx32
					         " table %08" PRIx32,
					         len, off, seed, a, b);
				/* Any split gives the same value as one pass. */
				size_t cut = len ? (size_t)(rnd() % (len + 1)) : 0;
				uint32_t c = vl_crc32c(vl_crc32c_table(seed, buf + off, cut),
				                       buf + off + cut, len - cut);
				assert_int_equal(c, a);
				checked++;
			}
		}
	}
	assert_true(checked > (MAXLEN + 1) * SLACK);
	free(buf);
}

/* A single flipped bit always changes the checksum. */
static void test_detects_bit_flips(void **state)
{
	(void)state;
	uint8_t buf[64];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rnd();
	uint32_t base = vl_crc32c(0, buf, sizeof buf);
	for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(vl_crc32c(0, buf, sizeof buf), base);
		assert_int_not_equal(vl_crc32c_table(0, buf, sizeof buf), base);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(vl_crc32c(0, buf, sizeof buf), base);
}

int main(void)
{
	const char *s = getenv("VL_SEED");
	uint64_t seed = (s != NULL && *s != '\0') ? strtoull(s, NULL, 0) : 0x6372633332632121ull;
	printf("test_crc32c: seed %" PRIu64 " (set VL_SEED to reproduce)\n", seed);
	fflush(stdout);
	rng_state = seed;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_hw_matches_table),
		cmocka_unit_test(test_detects_bit_flips),
	};
	return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
