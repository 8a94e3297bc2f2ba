/*
 * fuzz_keys.c — libFuzzer driver for vl_signer_parse and vl_verifier_parse
 * (keys.c): the input, NUL-terminated, as a signer key string and as a
 * verifier key string.  Whatever parses must be self-consistent: a
 * verifier's key ID matches its name and key, a parsed verifier key
 * re-encodes to the input (without surrounding whitespace), and a parsed
 * signer's vl_signer_vkey string parses as a verifier with the same name,
 * key ID and public key.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The verifier key string of v, as keys.c documents it. */
static void format_vkey(const vl_verifier *v, char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[45];
	raw[0] = 0x01;
	memcpy(raw + 1, v->pub, 32);
	vl_base64_encode(raw, sizeof raw, b64);
	snprintf(buf, cap, "%s+%08lx+%s", v->name, (unsigned long)v->key_id, b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* The span without surrounding whitespace, up to the first NUL. */
	size_t len = strlen(s), start = 0;
	while (start < len && is_space(s[start]))
		start++;
	while (len > start && is_space(s[len - 1]))
		len--;

	vl_verifier *v = NULL;
	int rc = vl_verifier_parse(s, &v);
	if (rc == 0) {
		char buf[VL_ORIGIN_MAX + 64];
		if (!v || !vl_key_name_valid(v->name) || vl_key_id(v->name, v->pub) != v->key_id ||
		    strcmp(vl_verifier_name(v), v->name) != 0) {
			fprintf(stderr, "parsed verifier key is inconsistent\n");
			abort();
		}
		format_vkey(v, buf, sizeof buf);
		if (strlen(buf) != len - start || memcmp(buf, s + start, len - start) != 0) {
			fprintf(stderr, "verifier key does not re-encode to the input: %s\n", buf);
			abort();
		}
	} else if (v != NULL || (rc != VL_EKEY && rc != VL_ENOMEM)) {
		fprintf(stderr, "vl_verifier_parse failed with %d and out %p\n", rc, (void *)v);
		abort();
	}
	vl_verifier_free(v);

	vl_signer *sg = NULL;
	rc = vl_signer_parse(s, &sg);
	if (rc == 0) {
		char *vkey = NULL;
		vl_verifier *sv = NULL;
		if (!sg || !vl_key_name_valid(vl_signer_name(sg)) ||
		    vl_signer_vkey(sg, &vkey) != 0 || vl_verifier_parse(vkey, &sv) != 0 ||
		    strcmp(sv->name, sg->name) != 0 || sv->key_id != sg->key_id ||
		    memcmp(sv->pub, sg->pub, 32) != 0) {
			fprintf(stderr, "parsed signer key is inconsistent\n");
			abort();
		}
		/* The signer string is "PRIVATE+KEY+" and the same layout. */
		char buf[VL_ORIGIN_MAX + 80];
		uint8_t raw[33];
		char b64[45];
		raw[0] = 0x01;
		memcpy(raw + 1, sg->seed, 32);
		vl_base64_encode(raw, sizeof raw, b64);
		snprintf(buf, sizeof buf, "PRIVATE+KEY+%s+%08lx+%s", sg->name,
		         (unsigned long)sg->key_id, b64);
		if (strlen(buf) != len - start || memcmp(buf, s + start, len - start) != 0) {
			fprintf(stderr, "signer key does not re-encode to the input\n");
			abort();
		}
		free(vkey);
		vl_verifier_free(sv);
	} else if (sg != NULL || (rc != VL_EKEY && rc != VL_ENOMEM)) {
		fprintf(stderr, "vl_signer_parse failed with %d and out %p\n", rc, (void *)sg);
		abort();
	}
	vl_signer_free(sg);
	free(s);
	return 0;
}
