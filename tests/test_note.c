/*
 * test_note.c — base64, Ed25519 keys and key files, signed notes,
 * checkpoints and tlog-proof receipts, against the Go-generated vectors in
 * tlog-vectors.json and against hostile input.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every parser is fed exact-length heap copies (no NUL after the data),
 * so a read past the end is caught by AddressSanitizer.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "note.h"
#include "vellum.h"

static json_t *vectors;

static int load_vectors(void **state)
{
	(void)state;
	const char *dir = getenv("VL_VECTORS");
	char path[4096];
	json_error_t jerr;
	snprintf(path, sizeof path, "%s/tlog-vectors.json", dir != NULL ? dir : "tests/vectors");
	vectors = json_load_file(path, 0, &jerr);
	if (vectors == NULL) {
		fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
		return -1;
	}
	return 0;
}

static int free_vectors(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

/* vectors[section][field] as a string. */
static const char *vec(const char *section, const char *field)
{
	json_t *s = json_object_get(vectors, section);
	assert_non_null(s);
	const char *v = json_string_value(json_object_get(s, field));
	assert_non_null(v);
	return v;
}

/* An exact-size heap copy without a terminating NUL. */
static char *dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static char *cat(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = malloc(na + nb + 1);
	assert_non_null(p);
	memcpy(p, a, na);
	memcpy(p + na, b, nb + 1);
	return p;
}

static int note_verify_exact(const char *note, size_t len, const vl_verifier *v, size_t *body_len)
{
	char *c = dup_exact(note, len);
	int err = vl_note_verify(c, len, v, body_len);
	free(c);
	return err;
}

static int receipt_verify_exact(const char *r, size_t len, const char *entry,
                                const vl_verifier *v, vl_checkpoint *cp, uint64_t *index)
{
	char *c = dup_exact(r, len);
	int err = vl_receipt_verify(c, len, (const uint8_t *)entry, strlen(entry), v, cp, index);
	free(c);
	return err;
}

static int cp_parse_str(const char *s)
{
	vl_checkpoint cp;
	char *c = dup_exact(s, strlen(s));
	int err = vl_checkpoint_parse(c, strlen(s), &cp);
	free(c);
	return err;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static vl_verifier *verifier(const char *vkey)
{
	vl_verifier *v = NULL;
	assert_int_equal(vl_verifier_parse(vkey, &v), 0);
	return v;
}

static vl_signer *signer(const char *skey)
{
	vl_signer *s = NULL;
	assert_int_equal(vl_signer_parse(skey, &s), 0);
	return s;
}

/* Every single-byte change to note must make it fail to verify. */
static void assert_every_flip_fails(const char *note, const vl_verifier *v)
{
	static const uint8_t masks[] = {0x01, 0x20, 0x80, 0xff};
	size_t len = strlen(note);
	char *c = dup_exact(note, len);
	for (size_t i = 0; i < len; i++) {
		for (size_t m = 0; m < sizeof masks; m++) {
			c[i] ^= (char)masks[m];
			int err = vl_note_verify(c, len, v, NULL);
			if (err != VL_EFORMAT && err != VL_ESIGNATURE)
				fail_msg("flip of byte %zu by %#x: %d", i, masks[m], err);
			c[i] ^= (char)masks[m];
		}
	}
	assert_int_equal(vl_note_verify(c, len, v, NULL), 0);
	free(c);
}

/* ------------------------------------------------------------------ */
/* base64                                                              */

static void test_base64_known(void **state)
{
	(void)state;
	static const char *const rfc[][2] = {
	    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	char enc[16];
	uint8_t dec[16];
	size_t n;
	for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
		size_t len = strlen(rfc[i][0]);
		assert_int_equal(vl_base64_encode((const uint8_t *)rfc[i][0], len, enc),
		                 strlen(rfc[i][1]));
		assert_string_equal(enc, rfc[i][1]);
		char *c = dup_exact(rfc[i][1], strlen(rfc[i][1]));
		assert_int_equal(vl_base64_decode(c, strlen(rfc[i][1]), dec, sizeof dec, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, rfc[i][0], len);
		assert_int_equal(vl_base64_decode(c, strlen(rfc[i][1]), NULL, 0, &n), 0);
		assert_int_equal(n, len);
		free(c);
	}
	/* Every length and all 64 characters in every position. */
	uint8_t in[100], out[100];
	char text[140];
	for (size_t len = 0; len <= sizeof in; len++) {
		for (int round = 0; round < 20; round++) {
			for (size_t i = 0; i < len; i++)
				in[i] = (uint8_t)rng();
			size_t tl = vl_base64_encode(in, len, text);
			assert_int_equal(tl, (len + 2) / 3 * 4);
			assert_int_equal(text[tl], '\0');
			char *c = dup_exact(text, tl);
			assert_int_equal(vl_base64_decode(c, tl, out, len, &n), 0);
			assert_int_equal(n, len);
			assert_memory_equal(in, out, len);
			if (len > 0)
				assert_int_equal(vl_base64_decode(c, tl, out, len - 1, &n), VL_ETOOBIG);
			free(c);
		}
	}
	/* The whole alphabet, in order, round-trips. */
	uint8_t all[48];
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	assert_int_equal(vl_base64_decode(alphabet, 64, all, sizeof all, &n), 0);
	assert_int_equal(n, 48);
	assert_int_equal(vl_base64_encode(all, 48, text), 64);
	assert_string_equal(text, alphabet);
}

static void test_base64_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "Zh==",     /* non-canonical: unused bits of 'h' set */
	    "Zm9=",     /* non-canonical: unused bits of '9' set */
	    "Zg",       /* missing padding */
	    "Zg=",      /* short padding */
	    "Zm8",      /* missing padding */
	    "Z===",     /* too much padding */
	    "====",     /* all padding */
	    "Zg==Zg==", /* padding in the middle */
	    "Zm9v\n",   /* trailing newline */
	    "Zm 9v",    /* embedded space */
	    "Zm9v ",    /* trailing space */
	    " Zm9v",    /* leading space */
	    "Zm-v",     /* URL alphabet */
	    "Zm_v",     /* URL alphabet */
	    "Zm9v.A==", /* not in the alphabet */
	    "A",        "AB", "ABC", "ABCDE",
	    "Zm=v",     /* padding before data */
	    "=m9v",
	};
	uint8_t out[16];
	size_t n = 12345;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *c = dup_exact(bad[i], strlen(bad[i]));
		int err = vl_base64_decode(c, strlen(bad[i]), out, sizeof out, &n);
		if (err != VL_EFORMAT)
			fail_msg("\"%s\" decoded: %d", bad[i], err);
		assert_int_equal(vl_base64_decode(c, strlen(bad[i]), NULL, 0, &n), VL_EFORMAT);
		free(c);
	}
	/* NUL, high bytes and every other non-alphabet byte, at each position. */
	for (int b = 0; b < 256; b++) {
		if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
		    b == '+' || b == '/')
			continue;
		for (int pos = 0; pos < 4; pos++) {
			char s[8] = "Zm9vYmFy";
			s[4 + pos] = (char)b;
			if (b == '=' && pos >= 2)
				continue; /* "Zm9vYm=y" etc. are covered above */
			char *c = dup_exact(s, 8);
			assert_int_equal(vl_base64_decode(c, 8, out, sizeof out, &n), VL_EFORMAT);
			free(c);
		}
	}
	/* Non-canonical trailing bits for every possible last character. */
	for (int v = 0; v < 64; v++) {
		char s[5];
		uint8_t one = 0xfc;
		vl_base64_encode(&one, 1, s); /* "/A==" */
		static const char alpha[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		s[1] = alpha[v];
		int err = vl_base64_decode(s, 4, out, sizeof out, &n);
		assert_int_equal(err, (v & 0x0f) ? VL_EFORMAT : 0);
		uint8_t two[2] = {0xab, 0xcd};
		vl_base64_encode(two, 2, s);
		s[2] = alpha[v];
		err = vl_base64_decode(s, 4, out, sizeof out, &n);
		assert_int_equal(err, (v & 0x03) ? VL_EFORMAT : 0);
	}
	assert_int_equal(vl_base64_decode(NULL, 0, out, sizeof out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vl_base64_decode(NULL, 4, out, sizeof out, &n), VL_EINVAL);
	assert_int_equal(vl_base64_decode("Zm9v", 4, out, 2, &n), VL_ETOOBIG);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

static void test_keygen_roundtrip(void **state)
{
	(void)state;
	char *skey = NULL, *vkey = NULL, *vkey2 = NULL;
	assert_int_equal(vl_key_generate("example.com/log42", &skey, &vkey), 0);
	assert_true(strncmp(skey, "PRIVATE+KEY+example.com/log42+", 30) == 0);
	assert_int_equal(strlen(skey), 30 + 8 + 1 + 44);
	assert_int_equal(strlen(vkey), 18 + 8 + 1 + 44);
	assert_memory_equal(skey + 30, vkey + 18, 8); /* same key ID */
	for (int i = 0; i < 8; i++)
		assert_non_null(strchr("0123456789abcdef", vkey[18 + i]));

	vl_signer *s = signer(skey);
	vl_verifier *v = verifier(vkey);
	assert_string_equal(vl_signer_name(s), "example.com/log42");
	assert_string_equal(vl_verifier_name(v), "example.com/log42");
	assert_int_equal(vl_signer_vkey(s, &vkey2), 0);
	assert_string_equal(vkey, vkey2);
	assert_int_equal(s->key_id, v->key_id);
	assert_memory_equal(s->pub, v->pub, 32);
	assert_int_equal(vl_key_id(v->name, v->pub), v->key_id);

	/* Surrounding whitespace is ignored. */
	char *padded = cat("  \t", skey), *padded2 = cat(padded, "\r\n\n");
	vl_signer *s2 = signer(padded2);
	assert_memory_equal(s2->seed, s->seed, 32);
	vl_signer_free(s2);
	free(padded);
	free(padded2);

	/* Sign a checkpoint and verify it. */
	vl_checkpoint cp = {.size = 7}, got;
	strcpy(cp.origin, "example.com/log42");
	memset(cp.root, 0xa5, sizeof cp.root);
	char body[512];
	int blen = vl_checkpoint_format(&cp, body, sizeof body);
	assert_true(blen > 0);
	char *note = NULL;
	assert_int_equal(vl_note_sign(body, (size_t)blen, s, &note), 0);
	assert_int_equal(note_verify_exact(note, strlen(note), v, NULL), 0);
	char *c = dup_exact(note, strlen(note));
	assert_int_equal(vl_checkpoint_verify(c, strlen(note), v, &got), 0);
	free(c);
	assert_string_equal(got.origin, cp.origin);
	assert_int_equal(got.size, 7);
	assert_memory_equal(got.root, cp.root, 32);

	/* Two keys for one name differ. */
	char *skey3, *vkey3;
	assert_int_equal(vl_key_generate("example.com/log42", &skey3, &vkey3), 0);
	assert_string_not_equal(vkey3, vkey);
	vl_verifier *v3 = verifier(vkey3);
	c = dup_exact(note, strlen(note));
	assert_int_equal(vl_checkpoint_verify(c, strlen(note), v3, &got), VL_ESIGNATURE);
	free(c);

	/* Bad names. */
	char *a = NULL, *b = NULL;
	char longname[300];
	memset(longname, 'a', sizeof longname);
	longname[256] = '\0';
	static const char *const bad_names[] = {"", "a b", "a+b", "a\tb", "a\nb", "\xc3\xa9t\xc3\xa9",
	                                        "a\x7f"};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		assert_int_equal(vl_key_generate(bad_names[i], &a, &b), VL_EINVAL);
		assert_null(a);
		assert_null(b);
		assert_int_equal(vl_key_name_valid(bad_names[i]), 0);
	}
	assert_int_equal(vl_key_generate(longname, &a, &b), VL_EINVAL);
	longname[255] = '\0';
	assert_int_equal(vl_key_name_valid(longname), 1);
	assert_int_equal(vl_key_generate(longname, &a, &b), 0);
	vl_signer *sl = signer(a);
	assert_int_equal(strlen(vl_signer_name(sl)), 255);
	vl_signer_free(sl);
	free(a);
	free(b);
	assert_int_equal(vl_key_generate(NULL, &a, &b), VL_EINVAL);

	vl_signer_free(NULL);
	vl_verifier_free(NULL);
	vl_signer_free(s);
	vl_verifier_free(v);
	vl_verifier_free(v3);
	free(note);
	free(skey);
	free(vkey);
	free(vkey2);
	free(skey3);
	free(vkey3);
}

static void test_key_strict(void **state)
{
	(void)state;
	const char *vk = vec("signed_note_go_example", "verifier_key");
	const char *sk = vec("signed_note_go_example", "signer_key");
	vl_verifier *v = NULL;
	vl_signer *s = NULL;

	/* The vector keys are one pair. */
	s = signer(sk);
	char *vk2;
	assert_int_equal(vl_signer_vkey(s, &vk2), 0);
	assert_string_equal(vk2, vk);
	free(vk2);
	vl_signer_free(s);
	s = NULL;

	static const char *const bad_v[] = {
	    /* mismatched key ID */
	    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    /* another name, same ID and key */
	    "PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    /* another public key, same name and ID */
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
	    /* uppercase hex */
	    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    /* short or long ID */
	    "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a30+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    /* algorithm byte 0x02 */
	    "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    /* key data too short, too long, unpadded, bad character */
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAA==",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
	    /* missing fields, empty name, garbage */
	    "PeterNeumann+c74f20a3",
	    "PeterNeumann+c74f20a3+",
	    "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann",
	    "",
	    "   ",
	    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW x",
	    /* a signer key is not a verifier key */
	    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	};
	for (size_t i = 0; i < sizeof bad_v / sizeof bad_v[0]; i++) {
		int err = vl_verifier_parse(bad_v[i], &v);
		if (err != VL_EKEY)
			fail_msg("accepted verifier key \"%s\": %d", bad_v[i], err);
		assert_null(v);
	}
	static const char *const bad_s[] = {
	    "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	    "PRIVATE+KEY+PeterNeumanm+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFy",
	    "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	    "PRIVATE+KEY+PeterNeumann+C74F20A3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
	    "PRIVATE+KEY+PeterNeumann+c74f20a3",
	    "PRIVATE+KEY+",
	    "PRIVATE+KEY",
	    "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	    "PRIVATE+KEYS+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
	    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "",
	};
	for (size_t i = 0; i < sizeof bad_s / sizeof bad_s[0]; i++) {
		int err = vl_signer_parse(bad_s[i], &s);
		if (err != VL_EKEY)
			fail_msg("accepted signer key \"%s\": %d", bad_s[i], err);
		assert_null(s);
	}
	assert_int_equal(vl_verifier_parse(NULL, &v), VL_EINVAL);
	assert_int_equal(vl_signer_parse(NULL, &s), VL_EINVAL);
	assert_int_equal(vl_signer_parse(sk, NULL), VL_EINVAL);
}

static char tmpdir[] = "/tmp/vellum-test-note-XXXXXX";

static void write_file(const char *path, const char *data, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_key_files(void **state)
{
	(void)state;
	char path[256], vpath[256], link[256], fifo[256];
	const char *sk = vec("signed_note_go_example", "signer_key");
	const char *vk = vec("signed_note_go_example", "verifier_key");
	vl_signer *s = NULL;
	vl_verifier *v = NULL;

	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof path, "%s/log.key", tmpdir);
	snprintf(vpath, sizeof vpath, "%s/log.vkey", tmpdir);
	snprintf(link, sizeof link, "%s/link.key", tmpdir);
	snprintf(fifo, sizeof fifo, "%s/fifo.key", tmpdir);
	char *line = cat(sk, "\n");

	static const mode_t unsafe[] = {0644, 0640, 0604, 0660, 0606, 0601, 0610, 0666, 0400 | 040};
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
		write_file(path, line, unsafe[i]);
		assert_int_equal(vl_signer_load(path, &s), VL_EKEY);
		assert_null(s);
	}
	write_file(path, line, 0600);
	assert_int_equal(vl_signer_load(path, &s), 0);
	assert_string_equal(vl_signer_name(s), "PeterNeumann");
	vl_signer_free(s);
	s = NULL;
	write_file(path, sk, 0400); /* no newline, read-only */
	assert_int_equal(vl_signer_load(path, &s), 0);
	vl_signer_free(s);
	s = NULL;

	/* A symlink is followed; the target's mode is what counts. */
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(vl_signer_load(link, &s), 0);
	vl_signer_free(s);
	s = NULL;

	/* Not regular files: refused without blocking on the FIFO. */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(vl_signer_load(fifo, &s), VL_EKEY);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(vl_signer_load(tmpdir, &s), VL_EKEY);
	assert_int_equal(vl_signer_load("/dev/null", &s), VL_EKEY);
	assert_null(s);

	/* A NUL in the file, garbage, and an oversized file. */
	write_file(path, "", 0600);
	assert_int_equal(vl_signer_load(path, &s), VL_EKEY);
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fwrite(sk, 1, strlen(sk), f);
		fwrite("\0\n", 1, 2, f);
		fclose(f);
		assert_int_equal(vl_signer_load(path, &s), VL_EKEY);
	}
	char *big = calloc(1, 10000);
	memset(big, ' ', 9999);
	memcpy(big, sk, strlen(sk));
	write_file(path, big, 0600);
	assert_int_equal(vl_signer_load(path, &s), VL_EKEY);
	free(big);
	assert_null(s);

	char missing[300];
	snprintf(missing, sizeof missing, "%s/missing", tmpdir);
	assert_int_equal(vl_signer_load(missing, &s), -ENOENT);
	assert_int_equal(vl_verifier_load(missing, &v), -ENOENT);

	/* Verifier key files may be readable by anyone. */
	char *vline = cat(vk, "\n");
	write_file(vpath, vline, 0644);
	assert_int_equal(vl_verifier_load(vpath, &v), 0);
	assert_string_equal(vl_verifier_name(v), "PeterNeumann");
	vl_verifier_free(v);
	free(vline);

	unlink(path);
	unlink(vpath);
	unlink(link);
	unlink(fifo);
	rmdir(tmpdir);
	free(line);
}

/* ------------------------------------------------------------------ */
/* Signed notes                                                        */

static void test_signed_note_spec_example(void **state)
{
	(void)state;
	const char *note = vec("signed_note_spec_example", "note");
	vl_verifier *v = verifier(vec("signed_note_spec_example", "verifier_key"));
	size_t body_len = 0;
	assert_int_equal(note_verify_exact(note, strlen(note), v, &body_len), 0);
	assert_int_equal(body_len, strlen("This is an example message.\n"));
	assert_every_flip_fails(note, v);
	vl_verifier_free(v);
}

static void check_sign_vector(const char *section)
{
	const char *want = vec(section, "note");
	vl_signer *s = signer(vec("signed_note_go_example", "signer_key"));
	vl_verifier *v = verifier(vec(section, "verifier_key"));
	const char *sep = strstr(want, "\n\n");
	assert_non_null(sep);
	size_t body_len = (size_t)(sep - want) + 1;

	char *body = dup_exact(want, body_len);
	char *note = NULL;
	assert_int_equal(vl_note_sign(body, body_len, s, &note), 0);
	assert_string_equal(note, want);
	/* Deterministic: signing again gives the same bytes. */
	char *again = NULL;
	assert_int_equal(vl_note_sign(body, body_len, s, &again), 0);
	assert_string_equal(again, want);

	size_t got = 0;
	assert_int_equal(note_verify_exact(want, strlen(want), v, &got), 0);
	assert_int_equal(got, body_len);
	assert_every_flip_fails(want, v);

	free(body);
	free(note);
	free(again);
	vl_signer_free(s);
	vl_verifier_free(v);
}

static void test_signed_note_go_example(void **state)
{
	(void)state;
	check_sign_vector("signed_note_go_example");
}

/* An Ed25519 signature line for text by s, built without vl_note_sign so
 * that texts it refuses can still be tested. */
static char *sig_line(const vl_signer *s, const char *name, uint32_t id, const char *text,
                      size_t len)
{
	uint8_t raw[68];
	size_t sl = 64;
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, s->seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(pk);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, raw + 4, &sl, (const uint8_t *)text, len), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	raw[0] = (uint8_t)(id >> 24);
	raw[1] = (uint8_t)(id >> 16);
	raw[2] = (uint8_t)(id >> 8);
	raw[3] = (uint8_t)id;
	char *line = malloc(strlen(name) + 100);
	assert_non_null(line);
	int n = sprintf(line, "\xe2\x80\x94 %s ", name);
	n += (int)vl_base64_encode(raw, sizeof raw, line + n);
	strcpy(line + n, "\n");
	return line;
}

static void test_witness_cosignatures(void **state)
{
	(void)state;
	const char *note = vec("signed_note_go_example", "note");
	vl_verifier *v = verifier(vec("signed_note_go_example", "verifier_key"));
	vl_signer *s = signer(vec("signed_note_go_example", "signer_key"));
	const char *sep = strstr(note, "\n\n");
	size_t body_len = (size_t)(sep - note) + 1;
	char *body = dup_exact(note, body_len);
	char *w_skey, *w_vkey;
	assert_int_equal(vl_key_generate("witness.example/w1", &w_skey, &w_vkey), 0);
	vl_signer *w = signer(w_skey);
	vl_verifier *wv = verifier(w_vkey);

	/* A real witness cosignature after and before the log's. */
	char *wline = sig_line(w, "witness.example/w1", w->key_id, note, body_len);
	char *n1 = cat(note, wline);
	assert_int_equal(note_verify_exact(n1, strlen(n1), v, NULL), 0);
	assert_int_equal(note_verify_exact(n1, strlen(n1), wv, NULL), 0);
	char *head = dup_exact(note, body_len + 1);
	head = realloc(head, body_len + 2);
	head[body_len + 1] = '\0';
	char *n2a = cat(head, wline), *n2 = cat(n2a, note + body_len + 1);
	assert_int_equal(note_verify_exact(n2, strlen(n2), v, NULL), 0);

	/* Witness lines with arbitrary (even bogus) signatures are ignored,
	 * including Unicode names and lines sharing only the name or the ID. */
	static const char *const others[] = {
	    "\xe2\x80\x94 witness.example/w2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	    "\xe2\x80\x94 w\xc3\xafn\xe2\x82\xacss AAAAAAE=\n",
	    "\xe2\x80\x94 PeterNeumann AAAAAAAA\n",       /* name matches, ID does not */
	    "\xe2\x80\x94 PeterNeumanm x08goxxx\n",       /* ID matches, name does not */
	    "\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
	};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		char *n3 = cat(note, others[i]);
		int err = note_verify_exact(n3, strlen(n3), v, NULL);
		if (err != 0)
			fail_msg("witness line %zu: %d", i, err);
		free(n3);
	}

	/* But a line of the verifier's own name and ID must verify, even next
	 * to a good one. */
	char *bad = sig_line(w, "PeterNeumann", s->key_id, note, body_len);
	char *n4 = cat(note, bad);
	assert_int_equal(note_verify_exact(n4, strlen(n4), v, NULL), VL_ESIGNATURE);
	char *n4b = cat(head, bad);
	assert_int_equal(note_verify_exact(n4b, strlen(n4b), v, NULL), VL_ESIGNATURE);
	/* ... with an Ed25519-sized signature. */
	char *n5 = cat(note, "\xe2\x80\x94 PeterNeumann x08go0FBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\n");
	assert_int_equal(note_verify_exact(n5, strlen(n5), v, NULL), VL_ESIGNATURE);
	char *n6 = cat(note, "\xe2\x80\x94 PeterNeumann x08go0E=\n");
	assert_int_equal(note_verify_exact(n6, strlen(n6), v, NULL), VL_ESIGNATURE);

	/* Only witness signatures: no signature by the verifier. */
	char *n7 = cat(head, wline);
	assert_int_equal(note_verify_exact(n7, strlen(n7), v, NULL), VL_ESIGNATURE);
	assert_int_equal(note_verify_exact(n7, strlen(n7), wv, NULL), 0);

	/* 100 signature lines are accepted, 101 are not. */
	size_t cap = strlen(note) + 101 * strlen(wline) + 1;
	char *many = malloc(cap);
	strcpy(many, note);
	for (int i = 0; i < 99; i++)
		strcat(many, wline);
	assert_int_equal(note_verify_exact(many, strlen(many), v, NULL), 0);
	strcat(many, wline);
	assert_int_equal(note_verify_exact(many, strlen(many), v, NULL), VL_EFORMAT);
	free(many);

	/* Malformed witness lines make the whole note malformed. */
	static const char *const malformed[] = {
	    "- witness AAAAAAE=\n",                       /* ASCII dash */
	    "\xe2\x80\x94witness AAAAAAE=\n",             /* no space after the dash */
	    "\xe2\x80\x94 witness\n",                     /* no signature */
	    "\xe2\x80\x94 witness \n",                    /* empty signature */
	    "\xe2\x80\x94  AAAAAAE=\n",                   /* empty name */
	    "\xe2\x80\x94 wit+ness AAAAAAE=\n",           /* '+' in name */
	    "\xe2\x80\x94 wit\xc2\xa0ness AAAAAAE=\n",    /* U+00A0 in name */
	    "\xe2\x80\x94 wit\xe3\x80\x80ness AAAAAAE=\n",/* U+3000 in name */
	    "\xe2\x80\x94 witness AAAAAA==\n",            /* 4 bytes: ID only */
	    "\xe2\x80\x94 witness AAAAAAE= \n",           /* trailing space */
	    "\xe2\x80\x94 witness AAAAAAE\n",             /* unpadded */
	    "\xe2\x80\x94 witness AAAAAAF=\n",            /* non-canonical */
	    "\xe2\x80\x94 witness AAAA AAE=\n",           /* space inside */
	    "\n",                                         /* empty line */
	    "x\n",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		char *n8 = cat(note, malformed[i]);
		int err = note_verify_exact(n8, strlen(n8), v, NULL);
		if (err != VL_EFORMAT)
			fail_msg("malformed line %zu: %d", i, err);
		free(n8);
	}

	free(n1);
	free(n2a);
	free(n2);
	free(n4);
	free(n4b);
	free(n5);
	free(n6);
	free(n7);
	free(bad);
	free(head);
	free(wline);
	free(body);
	free(w_skey);
	free(w_vkey);
	vl_signer_free(w);
	vl_verifier_free(wv);
	vl_signer_free(s);
	vl_verifier_free(v);
}

static void test_note_malformed(void **state)
{
	(void)state;
	const char *note = vec("signed_note_go_example", "note");
	vl_verifier *v = verifier(vec("signed_note_go_example", "verifier_key"));
	vl_signer *s = signer(vec("signed_note_go_example", "signer_key"));
	size_t len = strlen(note);
	const char *sigl = strstr(note, "\n\n") + 2;

	assert_int_equal(note_verify_exact(note, 0, v, NULL), VL_EFORMAT);
	assert_int_equal(note_verify_exact(note, len - 1, v, NULL), VL_EFORMAT);
	/* Every truncation fails, and none reads past its end. */
	for (size_t i = 0; i < len; i++)
		assert_int_not_equal(note_verify_exact(note, i, v, NULL), 0);
	/* No blank line: text and signature run together. */
	char *joined = malloc(len);
	size_t cut = (size_t)(sigl - note) - 1;
	memcpy(joined, note, cut);
	memcpy(joined + cut, note + cut + 1, len - cut - 1);
	assert_int_equal(vl_note_verify(joined, len - 1, v, NULL), VL_EFORMAT);
	free(joined);
	/* Blank line but no signatures. */
	char *nosig = dup_exact(note, (size_t)(sigl - note));
	assert_int_equal(vl_note_verify(nosig, (size_t)(sigl - note), v, NULL), VL_EFORMAT);
	free(nosig);
	/* Only signatures: no blank line, or an empty text line (which the
	 * spec allows; the signature is then over "\n"). */
	char *only = cat("\n", sigl);
	assert_int_equal(note_verify_exact(only, strlen(only), v, NULL), VL_EFORMAT);
	free(only);
	only = cat("\n\n", sigl);
	assert_int_equal(note_verify_exact(only, strlen(only), v, NULL), VL_ESIGNATURE);
	free(only);

	/* Control characters and invalid UTF-8 anywhere. */
	static const char *const bad_text[] = {
	    "a\tb\n",          "a\rb\n",         "a\x01\n",         "\x7f\x1f\n",
	    "\xff\n",          "\xc0\x80\n",     "\xe0\x80\x80\n",  "\xed\xa0\x80\n",
	    "\xf4\x90\x80\x80\n", "\xc3\n",      "\xe2\x80\n",      "\x80\n",
	};
	for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++) {
		char *n1 = cat(bad_text[i], note);
		int err = note_verify_exact(n1, strlen(n1), v, NULL);
		if (err != VL_EFORMAT)
			fail_msg("bad text %zu: %d", i, err);
		free(n1);
	}
	/* A NUL inside, which a C-string parser would stop at. */
	char *nul = dup_exact(note, len);
	nul[3] = '\0';
	assert_int_equal(vl_note_verify(nul, len, v, NULL), VL_EFORMAT);
	free(nul);

	/* Valid UTF-8 and DEL are fine in the text (signed over, so the
	 * signature then fails, not the form). */
	char *utf = cat("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\n", note);
	assert_int_equal(note_verify_exact(utf, strlen(utf), v, NULL), VL_ESIGNATURE);
	free(utf);

	/* The text may contain empty lines; the last blank line splits. */
	const char *text = "a\n\nb\n";
	char *line = sig_line(s, "PeterNeumann", s->key_id, text, strlen(text));
	char *t1 = cat(text, "\n"), *t2 = cat(t1, line);
	size_t body_len = 0;
	assert_int_equal(note_verify_exact(t2, strlen(t2), v, &body_len), 0);
	assert_int_equal(body_len, strlen(text));
	free(line);
	free(t1);
	free(t2);

	/* Larger than VL_NOTE_MAX. */
	size_t big = VL_NOTE_MAX + 1;
	char *huge = malloc(big + len);
	memset(huge, 'a', big);
	for (size_t i = 99; i < big; i += 100)
		huge[i] = '\n';
	huge[big - 1] = '\n';
	memcpy(huge + big, note + (size_t)(sigl - note) - 1, len - (size_t)(sigl - note) + 1);
	size_t hl = big + len - (size_t)(sigl - note) + 1;
	assert_int_equal(vl_note_verify(huge, hl, v, NULL), VL_EFORMAT);
	free(huge);

	assert_int_equal(vl_note_verify(NULL, 0, v, NULL), VL_EINVAL);
	assert_int_equal(vl_note_verify(note, len, NULL, NULL), VL_EINVAL);
	vl_signer_free(s);
	vl_verifier_free(v);
}

static void test_note_sign_rejects(void **state)
{
	(void)state;
	vl_signer *s = signer(vec("signed_note_go_example", "signer_key"));
	char *note = (char *)1;
	static const char *const bad[] = {
	    "", "abc", "\n", "\nabc\n", "a\n\nb\n", "a\n\n", "a\tb\n", "\xff\n", "a\rb\n", "\xc0\x80\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *b = dup_exact(bad[i], strlen(bad[i]));
		int err = vl_note_sign(b, strlen(bad[i]), s, &note);
		if (err != VL_EFORMAT)
			fail_msg("signed bad body %zu: %d", i, err);
		assert_null(note);
		free(b);
	}
	char *nul = dup_exact("a\0b\n", 4);
	assert_int_equal(vl_note_sign(nul, 4, s, &note), VL_EFORMAT);
	free(nul);
	size_t big = VL_NOTE_MAX;
	char *huge = malloc(big);
	memset(huge, 'a', big);
	huge[big - 1] = '\n';
	assert_int_equal(vl_note_sign(huge, big, s, &note), VL_ETOOBIG);
	free(huge);
	assert_int_equal(vl_note_sign(NULL, 0, s, &note), VL_EINVAL);
	assert_int_equal(vl_note_sign("a\n", 2, NULL, &note), VL_EINVAL);
	vl_signer_free(s);
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */

static void test_checkpoint_example(void **state)
{
	(void)state;
	check_sign_vector("checkpoint_example");

	const char *note = vec("checkpoint_example", "note");
	vl_verifier *v = verifier(vec("checkpoint_example", "verifier_key"));
	size_t body_len;
	assert_int_equal(note_verify_exact(note, strlen(note), v, &body_len), 0);
	vl_checkpoint cp;
	char *c = dup_exact(note, body_len);
	assert_int_equal(vl_checkpoint_parse(c, body_len, &cp), 0);
	free(c);
	assert_string_equal(cp.origin, "example.com/vellum-test");
	assert_int_equal(cp.size, 300);

	/* The root is the vector tree's root at size 300. */
	json_t *th = json_array_get(json_object_get(vectors, "tree_hashes"), 300);
	assert_int_equal(json_integer_value(json_object_get(th, "size")), 300);
	const char *root_b64 = json_string_value(json_object_get(th, "root_b64"));
	uint8_t root[32];
	size_t n;
	assert_int_equal(vl_base64_decode(root_b64, strlen(root_b64), root, sizeof root, &n), 0);
	assert_memory_equal(cp.root, root, 32);

	/* Formatting reproduces the body. */
	char buf[400];
	assert_int_equal(vl_checkpoint_format(&cp, buf, sizeof buf), (int)body_len);
	assert_memory_equal(buf, note, body_len);

	/* The key is named PeterNeumann, the origin differs: a valid note
	 * signature, but not a checkpoint of the key's own log. */
	vl_checkpoint out = {.size = 99};
	c = dup_exact(note, strlen(note));
	assert_int_equal(vl_checkpoint_verify(c, strlen(note), v, &out), VL_ESIGNATURE);
	free(c);
	assert_int_equal(out.size, 99); /* untouched on failure */
	vl_verifier_free(v);
}

static void test_checkpoint_verify_origin(void **state)
{
	(void)state;
	vl_signer *s = signer(vec("signed_note_go_example", "signer_key"));
	vl_verifier *v = verifier(vec("signed_note_go_example", "verifier_key"));
	char *note = NULL;
	const char *body = "PeterNeumann\n5\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eg=\next\n";
	assert_int_equal(vl_note_sign(body, strlen(body), s, &note), 0);
	vl_checkpoint cp;
	char *c = dup_exact(note, strlen(note));
	assert_int_equal(vl_checkpoint_verify(c, strlen(note), v, &cp), 0);
	assert_string_equal(cp.origin, "PeterNeumann");
	assert_int_equal(cp.size, 5);
	assert_int_equal(vl_checkpoint_verify(c, strlen(note), v, NULL), 0);
	free(c);
	assert_every_flip_fails(note, v);
	free(note);

	/* A signed note that is not a checkpoint. */
	assert_int_equal(vl_note_sign("PeterNeumann\n05\nabc\n", 20, s, &note), 0);
	c = dup_exact(note, strlen(note));
	assert_int_equal(vl_checkpoint_verify(c, strlen(note), v, &cp), VL_EFORMAT);
	free(c);
	free(note);
	vl_signer_free(s);
	vl_verifier_free(v);
}

static void test_checkpoint_parse_strict(void **state)
{
	(void)state;
#define R "yjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eg="
	static const char *const good[] = {
	    "o\n0\n" R "\n",
	    "o\n1\n" R "\n",
	    "example.com/log\n18446744073709551615\n" R "\n",
	    "o\n300\n" R "\nextension line\nanother\n",
	    "o o\n1\n" R "\n", /* the spec only recommends no spaces */
	    "\xc3\xa9\n1\n" R "\n",
	};
	static const char *const bad[] = {
	    "o\n01\n" R "\n",                     /* leading zero */
	    "o\n00\n" R "\n",
	    "o\n18446744073709551616\n" R "\n",   /* overflow */
	    "o\n99999999999999999999\n" R "\n",
	    "o\n000000000000000000001\n" R "\n",
	    "o\n+1\n" R "\n",
	    "o\n-1\n" R "\n",
	    "o\n 1\n" R "\n",
	    "o\n1 \n" R "\n",
	    "o\n0x10\n" R "\n",
	    "o\n\n" R "\n",                       /* empty size */
	    "\n1\n" R "\n",                       /* empty origin */
	    "o\t1\n1\n" R "\n",                   /* control character in origin */
	    "o\n1\n",                             /* missing root */
	    "o\n",                                /* missing size and root */
	    "o",
	    "",
	    "o\n1\n" R,                           /* no final newline */
	    "o\n1\n" R "\next",
	    "o\n1\n" R "\n\n",                    /* empty extension line */
	    "o\n1\n" R "\next\n\nmore\n",
	    "o\n1\n" R "=\n",                     /* bad base64 */
	    "o\n1\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eg\n",
	    "o\n1\nyjk9Apa-xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eg=\n",
	    "o\n1\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eh=\n", /* non-canonical */
	    "o\n1\n yjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eg=\n",
	    "o\n1\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2A==\n",  /* 31 bytes */
	    "o\n1\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2EgA\n",  /* 33 bytes */
	    "o\n1\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2EgAAAA=\n",
	    "o\n1\n\n",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int err = cp_parse_str(good[i]);
		if (err != 0)
			fail_msg("rejected checkpoint %zu: %d", i, err);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = cp_parse_str(bad[i]);
		if (err != VL_EFORMAT)
			fail_msg("accepted checkpoint %zu \"%s\": %d", i, bad[i], err);
	}
	vl_checkpoint cp;
	const char *max = "example.com/log\n18446744073709551615\n" R "\n";
	assert_int_equal(vl_checkpoint_parse(max, strlen(max), &cp), 0);
	assert_true(cp.size == UINT64_MAX);

	/* Origin length limit. */
	char body[600];
	memset(body, 'o', 256);
	strcpy(body + 256, "\n1\n" R "\n");
	assert_int_equal(cp_parse_str(body), VL_EFORMAT);
	assert_int_equal(cp_parse_str(body + 1), 0);

	/* Every truncation of a good body fails without overreading. */
	const char *g = "example.com/log\n300\n" R "\next\n";
	for (size_t i = 0; i < strlen(g); i++) {
		char *c = dup_exact(g, i);
		int err = vl_checkpoint_parse(c, i, &cp);
		free(c);
		int ok_cut = i == strlen(g) - 4; /* before "ext\n": still whole */
		assert_int_equal(err, ok_cut ? 0 : VL_EFORMAT);
	}
	assert_int_equal(vl_checkpoint_parse(NULL, 0, &cp), VL_EINVAL);
#undef R
}

static void test_checkpoint_format(void **state)
{
	(void)state;
	vl_checkpoint cp = {.size = 0}, back;
	strcpy(cp.origin, "example.com/x");
	for (int i = 0; i < 32; i++)
		cp.root[i] = (uint8_t)i;
	char buf[400];
	uint64_t sizes[] = {0, 1, 9, 10, 1234567890123ull, UINT64_MAX};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		cp.size = sizes[k];
		int n = vl_checkpoint_format(&cp, buf, sizeof buf);
		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(buf));
		assert_int_equal(vl_checkpoint_parse(buf, (size_t)n, &back), 0);
		assert_string_equal(back.origin, cp.origin);
		assert_true(back.size == cp.size);
		assert_memory_equal(back.root, cp.root, 32);
		/* Exactly enough room, and one byte less. */
		assert_int_equal(vl_checkpoint_format(&cp, buf, (size_t)n + 1), n);
		assert_int_equal(vl_checkpoint_format(&cp, buf, (size_t)n), VL_ETOOBIG);
	}
	strcpy(cp.origin, "bad\norigin");
	assert_int_equal(vl_checkpoint_format(&cp, buf, sizeof buf), VL_EINVAL);
	cp.origin[0] = '\0';
	assert_int_equal(vl_checkpoint_format(&cp, buf, sizeof buf), VL_EINVAL);
	memset(cp.origin, 'a', sizeof cp.origin); /* no NUL at all */
	assert_int_equal(vl_checkpoint_format(&cp, buf, sizeof buf), VL_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Receipts                                                            */

static void proof_from_vector(uint64_t index, uint64_t size, uint8_t proof[][32], size_t *n)
{
	json_t *arr = json_object_get(vectors, "inclusion_proofs");
	size_t i;
	json_t *p;
	json_array_foreach(arr, i, p) {
		if ((uint64_t)json_integer_value(json_object_get(p, "index")) != index ||
		    (uint64_t)json_integer_value(json_object_get(p, "size")) != size)
			continue;
		json_t *pr = json_object_get(p, "proof_b64");
		*n = json_array_size(pr);
		for (size_t k = 0; k < *n; k++) {
			const char *b = json_string_value(json_array_get(pr, k));
			size_t got;
			assert_int_equal(vl_base64_decode(b, strlen(b), proof[k], 32, &got), 0);
			assert_int_equal(got, 32);
		}
		return;
	}
	fail_msg("no inclusion proof %" PRIu64 "/%" PRIu64, index, size);
}

static void test_receipt_example(void **state)
{
	(void)state;
	const char *r = vec("receipt_example", "tlog_proof");
	const char *entry = vec("receipt_example", "entry");
	vl_verifier *v = verifier(vec("receipt_example", "verifier_key"));
	size_t len = strlen(r);

	vl_checkpoint cp;
	uint64_t index = 0;
	assert_int_equal(receipt_verify_exact(r, len, entry, v, &cp, &index), 0);
	assert_int_equal(index, 150);
	assert_int_equal(cp.size, 300);
	assert_string_equal(cp.origin, "example.com/vellum-test");
	assert_int_equal(receipt_verify_exact(r, len, entry, v, NULL, NULL), 0);

	/* Parse: the parts. */
	uint8_t proof[VL_PROOF_MAX][32], want[VL_PROOF_MAX][32];
	size_t n_proof, n_want, note_len;
	const char *note;
	char *c = dup_exact(r, len);
	assert_int_equal(vl_receipt_parse(c, len, &index, proof, &n_proof, &note, &note_len), 0);
	assert_int_equal(index, 150);
	proof_from_vector(150, 300, want, &n_want);
	assert_int_equal(n_proof, n_want);
	assert_memory_equal(proof, want, n_want * 32);
	const char *cp_note = vec("checkpoint_example", "note");
	assert_int_equal(note_len, strlen(cp_note));
	assert_memory_equal(note, cp_note, note_len);

	/* Format: byte for byte from the parts, from the vector sections. */
	char *out = NULL;
	assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])want, n_want, cp_note,
	                                   strlen(cp_note), &out),
	                 0);
	assert_string_equal(out, r);
	free(out);
	free(c);
	vl_verifier_free(v);
}

static void test_receipt_tamper(void **state)
{
	(void)state;
	const char *r = vec("receipt_example", "tlog_proof");
	const char *entry = vec("receipt_example", "entry");
	const char *cp_note = vec("checkpoint_example", "note");
	vl_verifier *v = verifier(vec("receipt_example", "verifier_key"));
	size_t len = strlen(r);
	uint8_t proof[VL_PROOF_MAX][32];
	size_t n_proof;
	char *out = NULL;
	vl_checkpoint cp = {.size = 42};
	uint64_t index = 42;

	/* Another entry. */
	static const char *const others[] = {"entry 151", "entry 149", "entry 150\n", "entry 15",
	                                     "Entry 150", "entry 0"};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		assert_int_equal(receipt_verify_exact(r, len, others[i], v, &cp, &index),
		                 VL_EPROOF);
	assert_int_equal(cp.size, 42);
	assert_int_equal(index, 42);
	assert_int_equal(vl_receipt_verify(r, len, (const uint8_t *)"", 0, v, NULL, NULL),
	                 VL_EENTRY_SIZE);

	/* Another index, with the same proof. */
	proof_from_vector(150, 300, proof, &n_proof);
	static const uint64_t idx[] = {0, 149, 151, 182, 299, 300, 301, 1u << 20, UINT64_MAX};
	for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
		assert_int_equal(vl_receipt_format(idx[i], (const uint8_t(*)[32])proof, n_proof,
		                                   cp_note, strlen(cp_note), &out),
		                 0);
		assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL),
		                 VL_EPROOF);
		free(out);
	}

	/* Every proof hash, every bit of it altered. */
	for (size_t k = 0; k < n_proof; k++) {
		for (int bit = 0; bit < 256; bit++) {
			proof[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof,
			                                   cp_note, strlen(cp_note), &out),
			                 0);
			assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL),
			                 VL_EPROOF);
			free(out);
			proof[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	/* Proof hashes dropped, added, swapped. */
	assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof - 1, cp_note,
	                                   strlen(cp_note), &out),
	                 0);
	assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL), VL_EPROOF);
	free(out);
	memcpy(proof[n_proof], proof[0], 32);
	assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof + 1, cp_note,
	                                   strlen(cp_note), &out),
	                 0);
	assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL), VL_EPROOF);
	free(out);
	uint8_t tmp[32];
	memcpy(tmp, proof[0], 32);
	memcpy(proof[0], proof[1], 32);
	memcpy(proof[1], tmp, 32);
	assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof, cp_note,
	                                   strlen(cp_note), &out),
	                 0);
	assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL), VL_EPROOF);
	free(out);
	memcpy(proof[1], proof[0], 32);
	memcpy(proof[0], tmp, 32);

	/* The checkpoint re-signed by another key of the same name, and by a
	 * key of another name: not the log's key. */
	static const char *const names[] = {"PeterNeumann", "example.com/vellum-test"};
	const char *sep = strstr(cp_note, "\n\n");
	size_t body_len = (size_t)(sep - cp_note) + 1;
	for (size_t i = 0; i < 2; i++) {
		char *skey, *vkey, *note2;
		assert_int_equal(vl_key_generate(names[i], &skey, &vkey), 0);
		vl_signer *s2 = signer(skey);
		vl_verifier *v2 = verifier(vkey);
		assert_int_equal(vl_note_sign(cp_note, body_len, s2, &note2), 0);
		assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof, note2,
		                                   strlen(note2), &out),
		                 0);
		assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL),
		                 VL_ESIGNATURE);
		/* ... which verifies with that other key: proof and form are fine. */
		assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v2, NULL, NULL), 0);
		free(out);
		/* The other key's signature as a cosignature is ignored. */
		char *both = cat(cp_note, strstr(note2, "\n\n") + 2);
		assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof, both,
		                                   strlen(both), &out),
		                 0);
		assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL), 0);
		assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v2, NULL, NULL), 0);
		free(out);
		free(both);
		free(note2);
		free(skey);
		free(vkey);
		vl_signer_free(s2);
		vl_verifier_free(v2);
	}

	/* Every single-byte change to the receipt fails. */
	char *c = dup_exact(r, len);
	for (size_t i = 0; i < len; i++) {
		static const uint8_t masks[] = {0x01, 0x80};
		for (size_t m = 0; m < 2; m++) {
			c[i] ^= (char)masks[m];
			int err = vl_receipt_verify(c, len, (const uint8_t *)entry, strlen(entry), v,
			                            NULL, NULL);
			if (err != VL_EFORMAT && err != VL_ESIGNATURE && err != VL_EPROOF)
				fail_msg("flip of byte %zu by %#x: %d", i, masks[m], err);
			c[i] ^= (char)masks[m];
		}
	}
	/* Every truncation fails without reading past its end. */
	for (size_t i = 0; i < len; i++)
		assert_int_not_equal(receipt_verify_exact(r, i, entry, v, NULL, NULL), 0);
	/* Random byte values at random places. */
	for (int k = 0; k < 3000; k++) {
		size_t i = (size_t)(rng() % len);
		char old = c[i], nv = (char)rng();
		if (nv == old)
			continue;
		c[i] = nv;
		assert_int_not_equal(vl_receipt_verify(c, len, (const uint8_t *)entry, strlen(entry),
		                                       v, NULL, NULL),
		                     0);
		c[i] = old;
	}
	free(c);
	vl_verifier_free(v);
}

static int receipt_parse_str(const char *s)
{
	uint8_t proof[VL_PROOF_MAX][32];
	uint64_t index;
	size_t n_proof, note_len;
	const char *note;
	char *c = dup_exact(s, strlen(s));
	int err = vl_receipt_parse(c, strlen(s), &index, proof, &n_proof, &note, &note_len);
	free(c);
	return err;
}

static void test_receipt_parse_strict(void **state)
{
	(void)state;
	const char *cp_note = vec("checkpoint_example", "note");
	const char *entry = vec("receipt_example", "entry");
	vl_verifier *v = verifier(vec("receipt_example", "verifier_key"));
	uint8_t proof[VL_PROOF_MAX + 1][32];
	size_t n_proof;
	char buf[8192];
	proof_from_vector(150, 300, proof, &n_proof);

#define H "EyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFDE=\n"
	static const char *const bad[] = {
	    "c2sp.org/tlog-proof@v2\nindex 1\n\nn\n",
	    "c2sp.org/tlog-proof@v1 \nindex 1\n\nn\n",
	    "c2sp.org/tlog-proof@v1\n",
	    "c2sp.org/tlog-proof@v1",
	    "",
	    "c2sp.org/tlog-proof@v1\nindex 01\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex -1\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex  1\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1 \n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex \n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nIndex 1\n\nn\n",
	    "c2sp.org/tlog-proof@v1\n" H "\nn\n",             /* no index line */
	    "c2sp.org/tlog-proof@v1\nindex 1\n\n",            /* no note */
	    "c2sp.org/tlog-proof@v1\nindex 1\n" H,            /* no blank line */
	    "c2sp.org/tlog-proof@v1\nindex 1\n" H "n",
	    "c2sp.org/tlog-proof@v1\nindex 1\nEyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFD==\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1\nEyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFDE\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1\nEyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOh\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1\nEyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFDE=AAAA\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1\nEyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFDF=\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1\n EyvULbcWll8af1ga3ydNtIpfNBC1QJLtlsHOugOhFDE=\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nextra YWJ\nindex 1\n\nn\n",   /* bad extra */
	    "c2sp.org/tlog-proof@v1\nextra\nindex 1\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nextra YWJj\nextra YWJj\nindex 1\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 1\nextra YWJj\n\nn\n",  /* extra after index */
	    "\nc2sp.org/tlog-proof@v1\nindex 1\n\nn\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = receipt_parse_str(bad[i]);
		if (err != VL_EFORMAT)
			fail_msg("accepted receipt %zu: %d", i, err);
	}
	static const char *const good[] = {
	    "c2sp.org/tlog-proof@v1\nindex 0\n\nn\n",
	    "c2sp.org/tlog-proof@v1\nindex 18446744073709551615\n\nx",
	    "c2sp.org/tlog-proof@v1\nextra YWJj\nindex 1\n" H "\nn\n",
	    "c2sp.org/tlog-proof@v1\nextra \nindex 1\n\nn\n",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int err = receipt_parse_str(good[i]);
		if (err != 0)
			fail_msg("rejected receipt %zu: %d", i, err);
	}
#undef H

	/* An extra line is ignored by verification. */
	int n = snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMQ==\nindex 150\n");
	for (size_t k = 0; k < n_proof; k++) {
		n += (int)vl_base64_encode(proof[k], 32, buf + n);
		buf[n++] = '\n';
	}
	n += snprintf(buf + n, sizeof buf - (size_t)n, "\n%s", cp_note);
	assert_int_equal(receipt_verify_exact(buf, (size_t)n, entry, v, NULL, NULL), 0);

	/* VL_PROOF_MAX proof lines parse; one more does not. */
	char *out = NULL;
	uint8_t many[VL_PROOF_MAX + 1][32];
	memset(many, 0x11, sizeof many);
	assert_int_equal(vl_receipt_format(1, (const uint8_t(*)[32])many, VL_PROOF_MAX, "n\n", 2, &out), 0);
	assert_int_equal(receipt_parse_str(out), 0);
	assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL), VL_EFORMAT);
	free(out);
	assert_int_equal(vl_receipt_format(1, (const uint8_t(*)[32])many, VL_PROOF_MAX + 1, "n\n", 2, &out),
	                 VL_EINVAL);
	assert_null(out);
	n = snprintf(buf, sizeof buf, "c2sp.org/tlog-proof@v1\nindex 1\n");
	for (int k = 0; k < VL_PROOF_MAX + 1; k++) {
		n += (int)vl_base64_encode(many[k], 32, buf + n);
		buf[n++] = '\n';
	}
	snprintf(buf + n, sizeof buf - (size_t)n, "\nn\n");
	assert_int_equal(receipt_parse_str(buf), VL_EFORMAT);

	/* A proof whose note is not a checkpoint, or not signed. */
	assert_int_equal(vl_receipt_format(150, (const uint8_t(*)[32])proof, n_proof, "n\n", 2, &out), 0);
	assert_int_equal(receipt_verify_exact(out, strlen(out), entry, v, NULL, NULL), VL_EFORMAT);
	free(out);

	assert_int_equal(vl_receipt_format(1, NULL, 0, "", 0, &out), VL_EINVAL);
	assert_int_equal(vl_receipt_format(1, NULL, 1, "n\n", 2, &out), VL_EINVAL);
	assert_int_equal(vl_receipt_format(1, NULL, 0, "n\n", 2, NULL), VL_EINVAL);
	assert_int_equal(vl_receipt_format(0, NULL, 0, "n\n", 2, &out), 0);
	assert_string_equal(out, "c2sp.org/tlog-proof@v1\nindex 0\n\nn\n");
	free(out);
	vl_verifier_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_known),
	    cmocka_unit_test(test_base64_strict),
	    cmocka_unit_test(test_keygen_roundtrip),
	    cmocka_unit_test(test_key_strict),
	    cmocka_unit_test(test_key_files),
	    cmocka_unit_test(test_signed_note_spec_example),
	    cmocka_unit_test(test_signed_note_go_example),
	    cmocka_unit_test(test_witness_cosignatures),
	    cmocka_unit_test(test_note_malformed),
	    cmocka_unit_test(test_note_sign_rejects),
	    cmocka_unit_test(test_checkpoint_example),
	    cmocka_unit_test(test_checkpoint_verify_origin),
	    cmocka_unit_test(test_checkpoint_parse_strict),
	    cmocka_unit_test(test_checkpoint_format),
	    cmocka_unit_test(test_receipt_example),
	    cmocka_unit_test(test_receipt_tamper),
	    cmocka_unit_test(test_receipt_parse_strict),
	};
	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
