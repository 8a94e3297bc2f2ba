/*
 * keys.c — Ed25519 signer and verifier keys in the c2sp.org/signed-note
 * text encoding: generation, parsing, key files and key IDs.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Formats (byte-exact; the same strings golang.org/x/mod/sumdb/note
 * produces and accepts for Ed25519):
 *
 *   key ID        = first 4 bytes, big-endian, of
 *                   SHA-256(<name> || 0x0A || 0x01 || <32-byte public key>)
 *   verifier key  = <name> "+" <key ID as 8 lowercase hex digits> "+"
 *                   base64(0x01 || <32-byte public key>)
 *   signer key    = "PRIVATE+KEY+" <name> "+" <key ID, 8 lowercase hex> "+"
 *                   base64(0x01 || <32-byte Ed25519 seed>)
 *
 * e.g. "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".
 * <name> is 1..255 bytes of printable ASCII without space or '+'
 * (vl_key_name_valid).  base64 is RFC 4648 §4 with padding, so the key
 * data is always 44 characters.  0x01 is the signed-note algorithm byte
 * for Ed25519; any other byte is refused.
 *
 * Parsing ignores whitespace around the whole string (key files end in a
 * newline) and nothing else.  The key ID must match the key: for a
 * verifier key it is recomputed from the public key, for a signer key
 * from the public key derived from the seed, and a mismatch is VL_EKEY.
 * A key whose ID were taken on trust could carry the name and ID of one
 * key and the material of another.
 *
 * A key file holds one key string, optionally followed by a newline.
 * Signer key files must be regular files without any group or other
 * permission bits (mode & 077 == 0), like ssh private keys: a key that
 * others could have read can no longer be trusted to be private, and one
 * they could have written may not be ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "note.h"
#include "sha256.h"

#define ALG_ED25519 0x01
#define KEY_B64_LEN 44          /* base64 of 0x01 || 32 bytes */
#define KEY_FILE_MAX 4096       /* far more than any key string */

static const char private_prefix[] = "PRIVATE+KEY+";

uint32_t vl_key_id(const char *name, const uint8_t pub[32])
{
	static const uint8_t sep[2] = {'\n', ALG_ED25519};
	uint8_t h[VL_SHA256_SIZE];
	vl_sha256_ctx c;
	vl_sha256_init(&c);
	vl_sha256_update(&c, name, strlen(name));
	vl_sha256_update(&c, sep, sizeof sep);
	vl_sha256_update(&c, pub, 32);
	vl_sha256_final(&c, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

int vl_key_name_valid(const char *name)
{
	if (name == NULL)
		return 0;
	size_t n = 0;
	for (; name[n] != '\0'; n++) {
		unsigned char c = (unsigned char)name[n];
		if (n == VL_ORIGIN_MAX || c <= ' ' || c >= 0x7f || c == '+')
			return 0;
	}
	return n > 0;
}

/* The Ed25519 public key of a seed. */
static int ed25519_public(const uint8_t seed[32], uint8_t pub[32])
{
	size_t n = 32;
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	int err = VL_EKEY;
	if (pk == NULL)
		goto done;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &n) != 1 || n != 32)
		goto done;
	err = 0;
done:
	EVP_PKEY_free(pk);
	if (err)
		ERR_clear_error();
	return err;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase too: exactly one spelling of each key */
}

/*
 * Parse "<name>+<8 hex>+<base64(0x01 || 32 bytes)>" from s[0..n).  The
 * name is copied NUL-terminated into name[VL_ORIGIN_MAX + 1], the 32 key
 * bytes into key.  The caller wipes key if it is secret.
 */
static int parse_key_body(const char *s, size_t n, char *name, uint32_t *id, uint8_t key[32])
{
	uint8_t raw[33];
	size_t raw_len = 0;
	int err = VL_EKEY;

	const char *plus = memchr(s, '+', n);
	if (plus == NULL)
		goto done;
	size_t name_len = (size_t)(plus - s);
	if (name_len == 0 || name_len > VL_ORIGIN_MAX)
		goto done;
	memcpy(name, s, name_len);
	name[name_len] = '\0';
	if (!vl_key_name_valid(name))
		goto done;

	const char *h = plus + 1;
	size_t rest = n - name_len - 1;
	if (rest != 8 + 1 + KEY_B64_LEN || h[8] != '+')
		goto done;
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		int d = hex_digit((unsigned char)h[i]);
		if (d < 0)
			goto done;
		v = v << 4 | (uint32_t)d;
	}
	if (vl_base64_decode(h + 9, KEY_B64_LEN, raw, sizeof raw, &raw_len) != 0 ||
	    raw_len != sizeof raw || raw[0] != ALG_ED25519)
		goto done;
	memcpy(key, raw + 1, 32);
	*id = v;
	err = 0;
done:
	OPENSSL_cleanse(raw, sizeof raw);
	return err;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The span of s without surrounding whitespace. */
static const char *trim(const char *s, size_t *n)
{
	size_t len = strlen(s);
	while (len > 0 && is_space((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	*n = len;
	return s;
}

int vl_signer_parse(const char *skey, vl_signer **out)
{
	vl_signer *s = NULL;
	size_t n;
	int err;

	if (skey == NULL || out == NULL)
		return VL_EINVAL;
	*out = NULL;
	const char *p = trim(skey, &n);
	size_t plen = sizeof private_prefix - 1;
	if (n < plen || memcmp(p, private_prefix, plen) != 0)
		return VL_EKEY;

	s = calloc(1, sizeof *s);
	if (s == NULL)
		return VL_ENOMEM;
	err = parse_key_body(p + plen, n - plen, s->name, &s->key_id, s->seed);
	if (err)
		goto fail;
	err = ed25519_public(s->seed, s->pub);
	if (err)
		goto fail;
	if (vl_key_id(s->name, s->pub) != s->key_id) {
		err = VL_EKEY;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	vl_signer_free(s);
	return err;
}

/*
 * Read a whole key file (at most KEY_FILE_MAX bytes) into buf as a
 * NUL-terminated string.  With secret set, the file must be a regular file
 * without group or other permission bits.  The checks are made on the open
 * descriptor, so a rename between check and read cannot swap the file.
 */
static int read_key_file(const char *path, int secret, char buf[KEY_FILE_MAX + 1])
{
	struct stat st;
	size_t len = 0;
	int err;
	/* O_NONBLOCK: opening a FIFO planted at the path must not hang; it is
	 * refused as not regular right after.  No effect on regular files. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (secret ? O_NONBLOCK : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto done;
	}
	if (secret && (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)) {
		err = VL_EKEY;
		goto done;
	}
	for (;;) {
		/* One byte of room beyond the limit tells a full file from an
		 * oversized one. */
		ssize_t r = read(fd, buf + len, KEY_FILE_MAX + 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto done;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > KEY_FILE_MAX) {
			err = VL_EKEY;
			goto done;
		}
	}
	/* A NUL would silently cut the key string short. */
	if (memchr(buf, '\0', len) != NULL) {
		err = VL_EKEY;
		goto done;
	}
	buf[len] = '\0';
	err = 0;
done:
	close(fd);
	return err;
}

int vl_signer_load(const char *path, vl_signer **out)
{
	char buf[KEY_FILE_MAX + 1];
	int err;

	if (path == NULL || out == NULL)
		return VL_EINVAL;
	*out = NULL;
	err = read_key_file(path, 1, buf);
	if (err)
		goto done;
	err = vl_signer_parse(buf, out);
done:
	OPENSSL_cleanse(buf, sizeof buf);
	return err;
}

/* "<name>+<8 hex>+<base64(0x01 || key)>", malloc'ed, with prefix before it. */
static int format_key(const char *prefix, const char *name, uint32_t id, const uint8_t key[32],
                      char **out)
{
	uint8_t raw[33];
	size_t plen = strlen(prefix), nlen = strlen(name);
	size_t total = plen + nlen + 1 + 8 + 1 + KEY_B64_LEN + 1;
	char *s = malloc(total);
	if (s == NULL)
		return VL_ENOMEM;
	raw[0] = ALG_ED25519;
	memcpy(raw + 1, key, 32);
	memcpy(s, prefix, plen);
	memcpy(s + plen, name, nlen);
	snprintf(s + plen + nlen, 11, "+%08" PRIx32 "+", id);
	vl_base64_encode(raw, sizeof raw, s + plen + nlen + 10);
	OPENSSL_cleanse(raw, sizeof raw);
	*out = s;
	return 0;
}

int vl_key_generate(const char *name, char **skey_out, char **vkey_out)
{
	uint8_t seed[32], pub[32];
	char *skey = NULL, *vkey = NULL;
	int err;

	if (skey_out == NULL || vkey_out == NULL)
		return VL_EINVAL;
	*skey_out = NULL;
	*vkey_out = NULL;
	if (!vl_key_name_valid(name))
		return VL_EINVAL;
	if (RAND_bytes(seed, sizeof seed) != 1) {
		ERR_clear_error();
		err = VL_EKEY; /* no key is better than a predictable one */
		goto fail;
	}
	err = ed25519_public(seed, pub);
	if (err)
		goto fail;
	uint32_t id = vl_key_id(name, pub);
	err = format_key(private_prefix, name, id, seed, &skey);
	if (err)
		goto fail;
	err = format_key("", name, id, pub, &vkey);
	if (err)
		goto fail;
	*skey_out = skey;
	*vkey_out = vkey;
	OPENSSL_cleanse(seed, sizeof seed);
	return 0;
fail:
	if (skey != NULL) {
		OPENSSL_cleanse(skey, strlen(skey));
		free(skey);
	}
	free(vkey);
	OPENSSL_cleanse(seed, sizeof seed);
	return err;
}

int vl_signer_vkey(const vl_signer *s, char **vkey_out)
{
	if (s == NULL || vkey_out == NULL)
		return VL_EINVAL;
	*vkey_out = NULL;
	return format_key("", s->name, s->key_id, s->pub, vkey_out);
}

const char *vl_signer_name(const vl_signer *s)
{
	return s != NULL ? s->name : NULL;
}

void vl_signer_free(vl_signer *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

int vl_verifier_parse(const char *vkey, vl_verifier **out)
{
	vl_verifier *v = NULL;
	size_t n;
	int err;

	if (vkey == NULL || out == NULL)
		return VL_EINVAL;
	*out = NULL;
	const char *p = trim(vkey, &n);
	v = calloc(1, sizeof *v);
	if (v == NULL)
		return VL_ENOMEM;
	err = parse_key_body(p, n, v->name, &v->key_id, v->pub);
	if (err)
		goto fail;
	if (vl_key_id(v->name, v->pub) != v->key_id) {
		err = VL_EKEY;
		goto fail;
	}
	*out = v;
	return 0;
fail:
	vl_verifier_free(v);
	return err;
}

int vl_verifier_load(const char *path, vl_verifier **out)
{
	char buf[KEY_FILE_MAX + 1];
	int err;

	if (path == NULL || out == NULL)
		return VL_EINVAL;
	*out = NULL;
	err = read_key_file(path, 0, buf);
	if (err)
		return err;
	return vl_verifier_parse(buf, out);
}

const char *vl_verifier_name(const vl_verifier *v)
{
	return v != NULL ? v->name : NULL;
}

void vl_verifier_free(vl_verifier *v)
{
	free(v);
}
