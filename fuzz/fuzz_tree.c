/*
 * fuzz_tree.c — libFuzzer driver for vl_verify_tree (verify.c): a small,
 * valid, signed c2sp.org/tlog-tiles tree of 5 entries is built in memory
 * at startup (bundle, hash tile, checkpoint signed with a fixed key) and
 * served by a vl_fetch_fn, with one of its files replaced by the input.
 * vl_verify_tree must never crash, and must accept only a tree that still
 * is the signed one.
 *
 * The first input byte is a control byte, the rest the file's content:
 *   bits 0-2 (mod 5) which file the input replaces:
 *     0  checkpoint
 *     1  tile/0/000.p/5
 *     2  tile/entries/000.p/5
 *     3  tile/0/000.p/5 is absent and the input is served as the full
 *        tile tile/0/000 (which a log may keep instead of the partial)
 *     4  the same for the bundle: the input is tile/entries/000
 *   bits 3-4 an optional older checkpoint (opt->since_note): none, or
 *        a genuine one of size 0, 3 or 5.
 *
 * What "still the signed tree" means per file: the partial tile and
 * bundle must equal the originals byte for byte; a full tile or bundle
 * served instead must begin with the original's hashes or entries (the
 * rest covers entries beyond the checkpoint); and a checkpoint must carry
 * the original signed text — c2sp.org/signed-note lets it gain signature
 * lines by other keys (witness cosignatures), which change nothing that
 * was signed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "note.h"
#include "vellum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed key for fuzzing only: its seed is the ASCII string
 * "vellum-fuzz-seed-not-a-secret-00".  Never use it for a real log. */
static const char fuzz_skey[] =
	"PRIVATE+KEY+vellum.example/fuzz+ed8b379e+AXZlbGx1bS1mdXp6LXNlZWQtbm90LWEtc2VjcmV0LTAw";

#define N_ENTRIES 5
#define TILE_PATH "tile/0/000.p/5"
#define BUNDLE_PATH "tile/entries/000.p/5"
#define FULL_TILE_PATH "tile/0/000"
#define FULL_BUNDLE_PATH "tile/entries/000"

static const char *const entries[N_ENTRIES] = {
	"fuzz tree entry 0",
	"1",
	"fuzz tree entry 2, a little longer than the others",
	"{\"event\":\"login\",\"user\":\"alice\"}",
	"fuzz tree entry 4",
};

static vl_verifier *verifier;
static vl_checkpoint cp;     /* the signed checkpoint */
static char *note;           /* its signed note */
static size_t body_len;      /* of the note's signed text */
static char *since_notes[3]; /* genuine checkpoints of size 0, 3, 5 */
static uint8_t tile[N_ENTRIES * VL_HASH_SIZE];
static uint8_t bundle[1024];
static size_t bundle_len;

struct served {
	const char *path;
	const uint8_t *data;
	size_t len;
};

struct tree {
	struct served files[3];
};

static int fetch(void *ctx, const char *path, uint8_t **data, size_t *len)
{
	struct tree *t = ctx;
	for (size_t i = 0; i < 3; i++) {
		if (!t->files[i].path || strcmp(t->files[i].path, path) != 0)
			continue;
		*len = t->files[i].len;
		*data = malloc(*len ? *len : 1);
		if (!*data)
			return VL_ENOMEM;
		memcpy(*data, t->files[i].data, *len);
		return 0;
	}
	return VL_ENOTFOUND;
}

static char *sign_checkpoint(const vl_signer *s, uint64_t n, const uint8_t root[VL_HASH_SIZE])
{
	vl_checkpoint c;
	char body[VL_ORIGIN_MAX + 128];
	char *out = NULL;
	memset(&c, 0, sizeof c);
	snprintf(c.origin, sizeof c.origin, "%s", vl_signer_name(s));
	c.size = n;
	memcpy(c.root, root, VL_HASH_SIZE);
	int blen = vl_checkpoint_format(&c, body, sizeof body);
	if (blen < 0 || vl_note_sign(body, (size_t)blen, s, &out) != 0)
		abort();
	return out;
}

static void setup(void)
{
	vl_signer *s = NULL;
	char *vkey = NULL;
	if (vl_signer_parse(fuzz_skey, &s) != 0 || vl_signer_vkey(s, &vkey) != 0 ||
	    vl_verifier_parse(vkey, &verifier) != 0)
		abort();
	free(vkey);

	uint8_t leaves[N_ENTRIES][VL_HASH_SIZE], root[VL_HASH_SIZE];
	for (size_t i = 0; i < N_ENTRIES; i++) {
		size_t l = strlen(entries[i]);
		vl_leaf_hash(entries[i], l, leaves[i]);
		memcpy(tile + i * VL_HASH_SIZE, leaves[i], VL_HASH_SIZE);
		bundle[bundle_len++] = (uint8_t)(l >> 8);
		bundle[bundle_len++] = (uint8_t)l;
		memcpy(bundle + bundle_len, entries[i], l);
		bundle_len += l;
	}
	vl_merkle_root_of_leaves((const uint8_t(*)[VL_HASH_SIZE])leaves, N_ENTRIES, root);
	note = sign_checkpoint(s, N_ENTRIES, root);
	if (vl_checkpoint_verify(note, strlen(note), verifier, &cp) != 0 ||
	    vl_note_verify(note, strlen(note), verifier, &body_len) != 0)
		abort();

	const uint64_t since_sizes[3] = {0, 3, N_ENTRIES};
	for (size_t i = 0; i < 3; i++) {
		vl_merkle_root_of_leaves((const uint8_t(*)[VL_HASH_SIZE])leaves, since_sizes[i], root);
		since_notes[i] = sign_checkpoint(s, since_sizes[i], root);
	}
	vl_signer_free(s);

	/* The unmodified tree must verify, or every run below is meaningless. */
	struct tree t = {{{"checkpoint", (const uint8_t *)note, strlen(note)},
	                  {TILE_PATH, tile, sizeof tile},
	                  {BUNDLE_PATH, bundle, bundle_len}}};
	vl_verify_options opt = {.vkey = verifier};
	vl_verify_report report;
	if (vl_verify_tree(fetch, &t, &opt, &report) != 0) {
		fprintf(stderr, "fuzz_tree: the original tree does not verify: %s\n", report.message);
		abort();
	}
}

/* Is an accepted replacement still the signed tree?  See the top. */
static int still_signed(unsigned which, const uint8_t *d, size_t n, const vl_checkpoint *got)
{
	switch (which) {
	case 0:
		return n > body_len && memcmp(d, note, body_len) == 0 && d[body_len] == '\n' &&
		       memcmp(got, &cp, sizeof cp) == 0;
	case 1:
		return n == sizeof tile && memcmp(d, tile, n) == 0;
	case 2:
		return n == bundle_len && memcmp(d, bundle, n) == 0;
	case 3:
		return n == (size_t)VL_TILE_WIDTH * VL_HASH_SIZE && memcmp(d, tile, sizeof tile) == 0;
	default:
		return n >= bundle_len && memcmp(d, bundle, bundle_len) == 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!verifier)
		setup();
	if (size < 1)
		return 0;
	unsigned which = (data[0] & 7) % 5;
	unsigned since = (data[0] >> 3) & 3;
	data++;
	size--;

	struct tree t = {{{"checkpoint", (const uint8_t *)note, strlen(note)},
	                  {TILE_PATH, tile, sizeof tile},
	                  {BUNDLE_PATH, bundle, bundle_len}}};
	static const char *const paths[5] = {"checkpoint", TILE_PATH, BUNDLE_PATH, FULL_TILE_PATH,
	                                     FULL_BUNDLE_PATH};
	struct served *f = &t.files[which == 0 ? 0 : which == 1 || which == 3 ? 1 : 2];
	f->path = paths[which];
	f->data = data;
	f->len = size;

	vl_verify_options opt = {.vkey = verifier};
	if (since) {
		opt.since_note = since_notes[since - 1];
		opt.since_len = strlen(since_notes[since - 1]);
	}
	vl_verify_report report;
	int rc = vl_verify_tree(fetch, &t, &opt, &report);
	if (rc == 0) {
		if (!still_signed(which, data, size, &report.checkpoint) ||
		    report.entries_checked != N_ENTRIES) {
			fprintf(stderr, "vl_verify_tree accepted a modified %s (%zu bytes)\n",
			        paths[which], size);
			abort();
		}
	} else if (report.message[0] == '\0' || strlen(report.message) >= sizeof report.message) {
		fprintf(stderr, "vl_verify_tree failed (%d) without a message\n", rc);
		abort();
	} else if ((which == 0 && size == strlen(note) && memcmp(data, note, size) == 0) ||
	           (which >= 1 && which <= 3 && still_signed(which, data, size, &cp))) {
		fprintf(stderr, "vl_verify_tree refused the original tree: %s\n", report.message);
		abort();
	}
	return 0;
}
