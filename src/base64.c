/*
 * base64.c — standard base64 (RFC 4648 §4, with padding) for keys, signed
 * notes, checkpoints and receipts.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Both directions run without secret-dependent branches or table lookups:
 * the same code encodes and decodes Ed25519 seeds in signer keys, and a
 * table indexed by secret bytes would leak them through the cache.
 *
 * Decoding is strict because every encoded value here is signed or hashed
 * as text: if two strings decoded to the same bytes (missing padding,
 * non-zero trailing bits, embedded whitespace), a note could be altered
 * without changing what it says.  Exactly one string is accepted for any
 * byte sequence.
 */
#include <stddef.h>
#include <stdint.h>

#include "note.h"

/* Masks for values below 256: 0xff when the relation holds, else 0. */
static unsigned ct_lt(unsigned a, unsigned b)
{
	return ((a - b) >> 8) & 0xff;
}

static unsigned ct_ge(unsigned a, unsigned b)
{
	return ct_lt(a, b) ^ 0xff;
}

static unsigned ct_in(unsigned c, unsigned lo, unsigned hi)
{
	return ct_ge(c, lo) & ct_ge(hi, c);
}

static unsigned ct_eq(unsigned a, unsigned b)
{
	return ct_ge(a, b) & ct_ge(b, a);
}

static char enc_char(unsigned v)
{
	return (char)((ct_lt(v, 26) & (v + 'A')) | (ct_in(v, 26, 51) & (v - 26 + 'a')) |
	              (ct_in(v, 52, 61) & (v - 52 + '0')) | (ct_eq(v, 62) & '+') |
	              (ct_eq(v, 63) & '/'));
}

/* The 6-bit value of c, or a value with bit 8 set if c is not in the
 * alphabet ('=' included: padding is handled by the caller). */
static unsigned dec_char(unsigned char ch)
{
	unsigned c = ch;
	unsigned up = ct_in(c, 'A', 'Z'), lo = ct_in(c, 'a', 'z'), dg = ct_in(c, '0', '9');
	unsigned plus = ct_eq(c, '+'), slash = ct_eq(c, '/');
	unsigned v = (up & (c - 'A')) | (lo & (c - 'a' + 26)) | (dg & (c - '0' + 52)) |
	             (plus & 62) | (slash & 63);
	unsigned valid = up | lo | dg | plus | slash;
	return v | ((valid ^ 0xff) << 1);
}

size_t vl_base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0, i = 0;
	for (; len - i >= 3; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = enc_char(w >> 18);
		out[o++] = enc_char((w >> 12) & 63);
		out[o++] = enc_char((w >> 6) & 63);
		out[o++] = enc_char(w & 63);
	}
	if (len - i == 1) {
		uint32_t w = (uint32_t)in[i] << 16;
		out[o++] = enc_char(w >> 18);
		out[o++] = enc_char((w >> 12) & 63);
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = enc_char(w >> 18);
		out[o++] = enc_char((w >> 12) & 63);
		out[o++] = enc_char((w >> 6) & 63);
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

int vl_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	if ((in == NULL && len != 0) || out_len == NULL)
		return VL_EINVAL;
	if (len % 4 != 0)
		return VL_EFORMAT;
	/* Which positions are padding depends only on the (public) length and
	 * the final two characters, never on the data. */
	size_t pad = 0;
	if (len != 0 && in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	size_t n = len / 4 * 3 - pad;
	if (out != NULL && n > cap)
		return VL_ETOOBIG;

	unsigned bad = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		unsigned a = dec_char((unsigned char)in[i]);
		unsigned b = dec_char((unsigned char)in[i + 1]);
		unsigned c = last && pad == 2 ? 0 : dec_char((unsigned char)in[i + 2]);
		unsigned d = last && pad >= 1 ? 0 : dec_char((unsigned char)in[i + 3]);
		bad |= a | b | c | d;
		uint32_t w = (a & 63) << 18 | (b & 63) << 12 | (c & 63) << 6 | (d & 63);
		if (last && pad == 2) {
			bad |= (b & 0x0f) << 6; /* the 4 unused bits must be zero */
			if (out != NULL)
				out[o] = (uint8_t)(w >> 16);
			o += 1;
		} else if (last && pad == 1) {
			bad |= (c & 0x03) << 6; /* the 2 unused bits must be zero */
			if (out != NULL) {
				out[o] = (uint8_t)(w >> 16);
				out[o + 1] = (uint8_t)(w >> 8);
			}
			o += 2;
		} else {
			if (out != NULL) {
				out[o] = (uint8_t)(w >> 16);
				out[o + 1] = (uint8_t)(w >> 8);
				out[o + 2] = (uint8_t)w;
			}
			o += 3;
		}
	}
	/* Bits 6 and up are set only by an invalid character or a non-zero
	 * unused bit; one check at the end keeps the loop branch-free. */
	if ((bad & ~63u) != 0)
		return VL_EFORMAT;
	*out_len = n;
	return 0;
}
