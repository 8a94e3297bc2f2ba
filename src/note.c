/*
 * note.c — c2sp.org/signed-note signing and verification (Ed25519), and
 * c2sp.org/tlog-checkpoint bodies.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Signed note (byte-exact):
 *
 *   <text>            one or more lines, each ending in "\n"
 *   "\n"              one empty line
 *   <signature>...    one or more lines of the form
 *                     E2 80 94 20 <key name> 20 <base64(key ID || sig)> 0A
 *                     ("— ", U+2014 EM DASH and a space)
 *
 * The signature is Ed25519 (RFC 8032, pure) over <text>, including its
 * final "\n" and excluding the empty line; key ID is the 4-byte big-endian
 * ID of keys.c.  A note must be valid UTF-8 without ASCII control
 * characters other than "\n", and at most VL_NOTE_MAX bytes.  The text is
 * separated from the signatures by the *last* empty line, so the text may
 * itself contain empty lines (the spec allows it), but vl_note_sign never
 * produces one.  Key names in signature lines are non-empty, without '+'
 * and without Unicode spaces; the base64 is strict (base64.c) and decodes
 * to at least 5 bytes.  At most 100 signature lines are accepted, which
 * bounds the work a hostile note can cause.
 *
 * Verification against one key (name N, ID I): lines whose name or ID
 * differs are other keys (witness cosignatures, rotated keys) and are
 * ignored, as the spec requires.  Every line whose name and ID both match
 * must verify: one bad line fails the note with VL_ESIGNATURE even if
 * another line verifies, so a tampered duplicate is never papered over.
 * The whole note is checked for form before any signature, so malformed
 * input is always VL_EFORMAT whatever its signatures.
 *
 * Checkpoint text (c2sp.org/tlog-checkpoint), byte-exact:
 *
 *   <origin> "\n"           non-empty, at most VL_ORIGIN_MAX bytes
 *   <size> "\n"             ASCII decimal, no leading zero ("0" if empty),
 *                           at most 2^64 - 1
 *   base64(<root>) "\n"     exactly 32 bytes: 44 characters
 *   [<extension> "\n"]...   non-empty, opaque, ignored
 *
 * e.g. "example.com/log\n300\nyjk9Apa+xeC43KuYO9H7fRRh9RLnJny4ljGtJv1m2Eg=\n".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "note.h"

#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 EM DASH, space */
#define SIG_PREFIX_LEN 4
#define ED25519_SIG 64
#define MAX_SIGNATURES 100
#define SIG_B64_LEN 92 /* base64 of key ID || Ed25519 signature */

/*
 * Decode one UTF-8 sequence at p[0..n) into *cp.  Returns its length, or 0
 * if it is not the shortest encoding of a scalar value (so overlong forms,
 * surrogates and values above U+10FFFF are all invalid).
 */
static size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0];
	size_t len;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Valid UTF-8 with no control character but "\n" (signed-note §Format). */
static int text_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_decode(p + i, n - i, &cp);
		if (l == 0 || (cp < 0x20 && cp != '\n'))
			return 0;
		i += l;
	}
	return 1;
}

/* Unicode White_Space, as Go's unicode.IsSpace, which sumdb/note uses. */
static int unicode_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* A key name in a signature line: any key's, not only ours, so Unicode is
 * allowed.  s is already known to be valid UTF-8. */
static int sig_name_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_decode(p + i, n - i, &cp);
		if (l == 0 || cp == '+' || unicode_space(cp))
			return 0;
		i += l;
	}
	return 1;
}

static int ed25519_sign(const uint8_t seed[32], const void *msg, size_t len,
                        uint8_t sig[ED25519_SIG])
{
	size_t sig_len = ED25519_SIG;
	int err = VL_ENOMEM;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (ctx == NULL || pk == NULL)
		goto done;
	err = VL_EKEY;
	/* No digest: Ed25519 hashes internally (pure Ed25519, RFC 8032). */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1 || sig_len != ED25519_SIG)
		goto done;
	err = 0;
done:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk); /* OpenSSL wipes the private key as it frees it */
	if (err)
		ERR_clear_error();
	return err;
}

/* 0 if sig verifies over msg with pk, VL_ESIGNATURE otherwise. */
static int ed25519_verify(EVP_PKEY *pk, const uint8_t sig[ED25519_SIG], const void *msg,
                          size_t len)
{
	int err = VL_ENOMEM;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto done;
	err = VL_ESIGNATURE;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestVerify(ctx, sig, ED25519_SIG, msg, len) != 1)
		goto done;
	err = 0;
done:
	EVP_MD_CTX_free(ctx);
	if (err)
		ERR_clear_error();
	return err;
}

int vl_note_sign(const char *body, size_t body_len, const vl_signer *s, char **note_out)
{
	uint8_t raw[4 + ED25519_SIG];
	char *note = NULL;
	int err;

	if (body == NULL || s == NULL || note_out == NULL)
		return VL_EINVAL;
	*note_out = NULL;
	if (!vl_key_name_valid(s->name))
		return VL_EKEY;
	size_t name_len = strlen(s->name);
	if (body_len > VL_NOTE_MAX)
		return VL_ETOOBIG;
	size_t total = body_len + 1 + SIG_PREFIX_LEN + name_len + 1 + SIG_B64_LEN + 1;
	if (total > VL_NOTE_MAX)
		return VL_ETOOBIG; /* a note no verifier here would accept */
	/* Refuse what vl_note_verify, or any other verifier, would split or
	 * reject differently from what was meant to be signed. */
	if (body_len == 0 || body[body_len - 1] != '\n' || body[0] == '\n' ||
	    memmem(body, body_len, "\n\n", 2) != NULL || !text_valid(body, body_len))
		return VL_EFORMAT;

	raw[0] = (uint8_t)(s->key_id >> 24);
	raw[1] = (uint8_t)(s->key_id >> 16);
	raw[2] = (uint8_t)(s->key_id >> 8);
	raw[3] = (uint8_t)s->key_id;
	err = ed25519_sign(s->seed, body, body_len, raw + 4);
	if (err)
		goto fail;
	note = malloc(total + 1);
	if (note == NULL) {
		err = VL_ENOMEM;
		goto fail;
	}
	char *p = note;
	memcpy(p, body, body_len);
	p += body_len;
	*p++ = '\n';
	memcpy(p, SIG_PREFIX, SIG_PREFIX_LEN);
	p += SIG_PREFIX_LEN;
	memcpy(p, s->name, name_len);
	p += name_len;
	*p++ = ' ';
	p += vl_base64_encode(raw, sizeof raw, p);
	*p++ = '\n';
	*p = '\0';
	*note_out = note;
	return 0;
fail:
	free(note);
	return err;
}

/* A signature line by the verifier's key, to be checked once the whole
 * note is known to be well formed. */
struct sig_ref {
	const char *b64;
	size_t b64_len;
	size_t raw_len;
};

int vl_note_verify(const char *note, size_t len, const vl_verifier *v, size_t *body_len)
{
	struct sig_ref mine[MAX_SIGNATURES];
	size_t n_mine = 0, n_sigs = 0;
	EVP_PKEY *pk = NULL;
	int err;

	if (note == NULL || v == NULL)
		return VL_EINVAL;
	if (len > VL_NOTE_MAX || !text_valid(note, len))
		return VL_EFORMAT;

	/* The last empty line ends the text; signature lines are never empty. */
	size_t split = len;
	for (size_t i = len; i >= 2; i--) {
		if (note[i - 2] == '\n' && note[i - 1] == '\n') {
			split = i - 2;
			break;
		}
	}
	if (split == len)
		return VL_EFORMAT;
	size_t text_len = split + 1;
	size_t pos = split + 2;
	if (pos == len || note[len - 1] != '\n')
		return VL_EFORMAT;

	size_t name_len = strlen(v->name);
	while (pos < len) {
		const char *line = note + pos;
		const char *nl = memchr(line, '\n', len - pos); /* found: note ends in '\n' */
		size_t line_len = (size_t)(nl - line);
		pos += line_len + 1;

		if (++n_sigs > MAX_SIGNATURES)
			return VL_EFORMAT;
		if (line_len < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
			return VL_EFORMAT;
		const char *name = line + SIG_PREFIX_LEN;
		size_t rest = line_len - SIG_PREFIX_LEN;
		const char *sp = memchr(name, ' ', rest);
		if (sp == NULL)
			return VL_EFORMAT;
		size_t nlen = (size_t)(sp - name);
		const char *b64 = sp + 1;
		size_t b64_len = rest - nlen - 1;
		size_t raw_len;
		if (!sig_name_valid(name, nlen) || b64_len == 0 ||
		    vl_base64_decode(b64, b64_len, NULL, 0, &raw_len) != 0 || raw_len < 5)
			return VL_EFORMAT;
		/* raw_len >= 5 means at least 8 characters, whose decoding
		 * starts with the whole key ID; padding can only be in them if
		 * they are the whole string, so they are valid base64 alone. */
		uint8_t head[6];
		size_t head_len;
		if (vl_base64_decode(b64, 8, head, sizeof head, &head_len) != 0)
			return VL_EFORMAT;
		uint32_t id = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
		              (uint32_t)head[2] << 8 | head[3];
		if (id != v->key_id || nlen != name_len || memcmp(name, v->name, nlen) != 0)
			continue;
		mine[n_mine].b64 = b64;
		mine[n_mine].b64_len = b64_len;
		mine[n_mine].raw_len = raw_len;
		n_mine++;
	}
	if (n_mine == 0)
		return VL_ESIGNATURE;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, v->pub, 32);
	if (pk == NULL) {
		ERR_clear_error();
		return VL_EKEY;
	}
	for (size_t i = 0; i < n_mine; i++) {
		uint8_t raw[4 + ED25519_SIG];
		size_t raw_len;
		err = VL_ESIGNATURE;
		if (mine[i].raw_len != sizeof raw ||
		    vl_base64_decode(mine[i].b64, mine[i].b64_len, raw, sizeof raw, &raw_len) != 0)
			goto done;
		err = ed25519_verify(pk, raw + 4, note, text_len);
		if (err)
			goto done;
	}
	if (body_len != NULL)
		*body_len = text_len;
	err = 0;
done:
	EVP_PKEY_free(pk);
	return err;
}

int vl_checkpoint_format(const vl_checkpoint *cp, char *buf, size_t cap)
{
	char root[45];
	if (cp == NULL || buf == NULL)
		return VL_EINVAL;
	size_t olen = strnlen(cp->origin, sizeof cp->origin);
	if (olen == 0 || olen > VL_ORIGIN_MAX)
		return VL_EINVAL;
	for (size_t i = 0; i < olen; i++)
		if ((unsigned char)cp->origin[i] < 0x20)
			return VL_EINVAL; /* a newline would forge extra lines */
	vl_base64_encode(cp->root, VL_HASH_SIZE, root);
	int n = snprintf(buf, cap, "%s\n%" PRIu64 "\n%s\n", cp->origin, cp->size, root);
	if (n < 0 || (size_t)n >= cap)
		return VL_ETOOBIG;
	return n;
}

/* Strict ASCII decimal: 1..20 digits, no sign, no leading zero, no
 * overflow, so each size has exactly one spelling. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return VL_EFORMAT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return VL_EFORMAT;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return VL_EFORMAT;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int vl_checkpoint_parse(const char *body, size_t len, vl_checkpoint *out)
{
	vl_checkpoint cp;
	size_t root_len;

	if (body == NULL || out == NULL)
		return VL_EINVAL;
	if (len > VL_NOTE_MAX || len == 0 || body[len - 1] != '\n')
		return VL_EFORMAT;
	memset(&cp, 0, sizeof cp);

	const char *p = body, *end = body + len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t olen = (size_t)(nl - p);
	if (olen == 0 || olen > VL_ORIGIN_MAX)
		return VL_EFORMAT;
	for (size_t i = 0; i < olen; i++)
		if ((unsigned char)p[i] < 0x20)
			return VL_EFORMAT; /* keeps origin a clean C string */
	memcpy(cp.origin, p, olen);
	p = nl + 1;

	if (p == end)
		return VL_EFORMAT;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (parse_u64(p, (size_t)(nl - p), &cp.size) != 0)
		return VL_EFORMAT;
	p = nl + 1;

	if (p == end)
		return VL_EFORMAT;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (vl_base64_decode(p, (size_t)(nl - p), cp.root, sizeof cp.root, &root_len) != 0 ||
	    root_len != VL_HASH_SIZE)
		return VL_EFORMAT;
	p = nl + 1;

	/* Extension lines: opaque, but an empty one would be a signed-note
	 * separator in disguise. */
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == p)
			return VL_EFORMAT;
		p = nl + 1;
	}
	*out = cp;
	return 0;
}

/*
 * The origin check makes a checkpoint verify only for the log its key is
 * named after: a key is one log's identity, and a checkpoint of another
 * origin signed by it is a statement about some other tree.  A mismatch is
 * VL_ESIGNATURE ("no valid checkpoint signature by this key for this log"),
 * not VL_EKEY: the key itself is fine.
 */
int vl_checkpoint_verify(const char *note, size_t note_len, const vl_verifier *v,
                         vl_checkpoint *out)
{
	vl_checkpoint cp;
	size_t body_len;
	int err;

	if (note == NULL || v == NULL)
		return VL_EINVAL;
	err = vl_note_verify(note, note_len, v, &body_len);
	if (err)
		return err;
	err = vl_checkpoint_parse(note, body_len, &cp);
	if (err)
		return err;
	if (strcmp(cp.origin, v->name) != 0)
		return VL_ESIGNATURE;
	if (out != NULL)
		*out = cp;
	return 0;
}
