/*
 * tokens.c — the bearer-token file of `vellum serve`: parsing, loading with
 * ssh-style permission checks, constant-time authentication, scopes and
 * token generation.  The format is in tokens.h.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Only SHA-256 hashes of tokens are stored, so a leaked token file lets
 * nobody in: a token is 256 random bits, and its hash cannot be inverted.
 * Hashing also makes the comparison safe to do in constant time over
 * fixed-size values, whatever the length of what a client presents.
 *
 * Authentication runs on every request.  It hashes the presented string
 * with OpenSSL's low-level SHA-256 calls (OpenSSL 3's one-shot SHA256()
 * fetches the algorithm on each call and is several times slower), then
 * compares the hash with every stored one by CRYPTO_memcmp, folding the
 * results together without a branch or an early exit, so the time taken
 * does not depend on which token matched, or on whether one did.
 *
 * Parsed sets are sorted by name, so vs_tokens_scopes finds a name by
 * binary search, or directly when given the pointer authentication
 * returned.  Duplicate names and duplicate hashes are found on the sorted
 * arrays and reported on the line of the later occurrence.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "readfile.h"
#include "tokens.h"

#define HASH_SIZE 32
#define HASH_PREFIX "sha256:"
#define HASH_PREFIX_LEN 7
#define LOG_NAME_MAX 64
#define TOKEN_PREFIX "vlt_"
#define TOKEN_PREFIX_LEN 4
#define TOKEN_RANDOM 32

struct grant {
	char log[LOG_NAME_MAX + 1]; /* a log name, or "*" */
	unsigned scopes;            /* VS_SCOPE_* bits, ADMIN expanded */
};

struct entry {
	char name[VS_TOKEN_NAME_MAX + 1]; /* first member: see entry_of() */
	uint8_t hash[HASH_SIZE];
	size_t line;
	size_t first_grant, n_grants;
};

struct vs_tokens {
	atomic_uint refs;
	size_t n;
	struct entry *e; /* sorted by name */
	size_t n_grants;
	struct grant *g;
};

/* ------------------------------------------------------------------ */
/* messages                                                            */


static void clear_err(char *err, size_t cap)
{
	if (err != NULL && cap > 0)
		err[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* grammar                                                             */

static int is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* NAME: [A-Za-z0-9._@-]{1,64}.  Returns NULL if valid, else why not. */
static const char *name_problem(const char *s, size_t n)
{
	if (n == 0)
		return "is empty";
	if (n > VS_TOKEN_NAME_MAX)
		return "is longer than 64 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && c != '.' && c != '_' && c != '@' && c != '-')
			return "has a character other than A-Z a-z 0-9 . _ @ -";
	}
	return NULL;
}

/* LOG: [A-Za-z0-9._-]{1,64} or "*". */
static int log_valid(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return 1;
	if (n == 0 || n > LOG_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

static unsigned scope_bits(const char *s, size_t n)
{
	if (n == 6 && memcmp(s, "append", 6) == 0)
		return VS_SCOPE_APPEND;
	if (n == 4 && memcmp(s, "read", 4) == 0)
		return VS_SCOPE_READ;
	if (n == 5 && memcmp(s, "admin", 5) == 0)
		return VS_SCOPE_ADMIN | VS_SCOPE_READ | VS_SCOPE_APPEND;
	return 0;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase too: one spelling per hash */
}

/* "sha256:" + 64 lowercase hex digits into hash. */
static int parse_hash(const char *s, size_t n, uint8_t hash[HASH_SIZE])
{
	if (n != HASH_PREFIX_LEN + 2 * HASH_SIZE || memcmp(s, HASH_PREFIX, HASH_PREFIX_LEN) != 0)
		return -1;
	s += HASH_PREFIX_LEN;
	for (size_t i = 0; i < HASH_SIZE; i++) {
		int hi = hex_value((unsigned char)s[2 * i]);
		int lo = hex_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		hash[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Check the scope list s[0..n) and, with g not NULL, store its grants in
 * g[0..count).  *count receives the number of grants.  On error, writes a
 * message (prefixed with where) and returns VL_EFORMAT.  Log names and
 * scope words are echoed only when valid; a mistyped field could be a
 * token, and error messages end up in logs.
 */
static int parse_scopes(const char *s, size_t n, struct grant *g, size_t *count,
                        const char *where, char *err, size_t errcap)
{
	size_t k = 0;
	if (n == 0)
		return vs_fail(err, errcap, VL_EFORMAT, "%sno scopes (use LOG:SCOPE,...)", where);
	for (size_t i = 0; i <= n; k++) {
		const char *item = s + i;
		const char *comma = memchr(item, ',', n - i);
		size_t len = comma != NULL ? (size_t)(comma - item) : n - i;
		const char *colon = memchr(item, ':', len);
		if (len == 0)
			return vs_fail(err, errcap, VL_EFORMAT,
			            "%sscope %zu is empty (scopes are separated by one ',')", where,
			            k + 1);
		if (colon == NULL)
			return vs_fail(err, errcap, VL_EFORMAT,
			            "%sscope %zu has no ':' (use LOG:SCOPE, e.g. default:append)",
			            where, k + 1);
		size_t log_len = (size_t)(colon - item), word_len = len - log_len - 1;
		if (!log_valid(item, log_len))
			return vs_fail(err, errcap, VL_EFORMAT,
			            "%sscope %zu: the log must be '*' or 1 to 64 of "
			            "A-Z a-z 0-9 . _ -",
			            where, k + 1);
		unsigned bits = scope_bits(colon + 1, word_len);
		if (bits == 0)
			return vs_fail(err, errcap, VL_EFORMAT,
			            "%sscope %zu of log '%.*s': not append, read or admin", where,
			            k + 1, (int)log_len, item);
		if (g != NULL) {
			memcpy(g[k].log, item, log_len);
			g[k].log[log_len] = '\0';
			g[k].scopes = bits;
		}
		i += len + 1;
	}
	*count = k;
	return 0;
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */

struct parser {
	struct entry *e;
	size_t n, cap;
	struct grant *g;
	size_t n_grants, cap_grants;
};

/* p (an array with room for *cap elements of size bytes) with room for
 * need, or NULL (p still valid) if out of memory. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(p, c * size);
	if (q != NULL)
		*cap = c;
	return q;
}

/* Split line[0..n) at runs of blanks into at most 4 fields. */
static size_t split_fields(const char *line, size_t n, const char *f[4], size_t fl[4])
{
	size_t k = 0, i = 0;
	while (i < n) {
		while (i < n && is_blank((unsigned char)line[i]))
			i++;
		if (i == n)
			break;
		size_t start = i;
		while (i < n && !is_blank((unsigned char)line[i]))
			i++;
		if (k < 4) {
			f[k] = line + start;
			fl[k] = i - start;
		}
		k++;
	}
	return k;
}

/* One non-blank, non-comment line. */
static int parse_line(struct parser *p, const char *line, size_t n, size_t lineno, char *err,
                      size_t errcap)
{
	const char *f[4];
	size_t fl[4];
	char where[48];
	size_t nf = split_fields(line, n, f, fl);
	if (nf != 3)
		return vs_fail(err, errcap, VL_EFORMAT,
		            "line %zu: expected 3 fields 'NAME sha256:HEX SCOPES', found %zu",
		            lineno, nf);
	const char *why = name_problem(f[0], fl[0]);
	if (why != NULL)
		return vs_fail(err, errcap, VL_EFORMAT, "line %zu: the name %s", lineno, why);
	if (p->n == VS_TOKENS_MAX)
		return vs_fail(err, errcap, VL_ETOOBIG, "line %zu: more than %d tokens", lineno,
		            VS_TOKENS_MAX);
	struct entry *ne = grow(p->e, &p->cap, p->n + 1, sizeof *p->e);
	if (ne == NULL)
		return vs_fail(err, errcap, VL_ENOMEM, "out of memory");
	p->e = ne;
	struct entry *e = &p->e[p->n];
	memcpy(e->name, f[0], fl[0]);
	e->name[fl[0]] = '\0';
	e->line = lineno;
	if (parse_hash(f[1], fl[1], e->hash) != 0)
		return vs_fail(err, errcap, VL_EFORMAT,
		            "line %zu: the hash of '%s' must be 'sha256:' and 64 lowercase hex "
		            "digits",
		            lineno, e->name);
	static const uint8_t empty_hash[HASH_SIZE] = {
	    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	if (memcmp(e->hash, empty_hash, HASH_SIZE) == 0)
		return vs_fail(err, errcap, VL_EFORMAT,
		            "line %zu: the hash of '%s' is that of the empty string", lineno,
		            e->name);
	snprintf(where, sizeof where, "line %zu: ", lineno);
	size_t ng;
	int rc = parse_scopes(f[2], fl[2], NULL, &ng, where, err, errcap);
	if (rc != 0)
		return rc;
	struct grant *ng_arr = grow(p->g, &p->cap_grants, p->n_grants + ng, sizeof *p->g);
	if (ng_arr == NULL)
		return vs_fail(err, errcap, VL_ENOMEM, "out of memory");
	p->g = ng_arr;
	rc = parse_scopes(f[2], fl[2], p->g + p->n_grants, &ng, where, err, errcap);
	if (rc != 0)
		return rc;
	e->first_grant = p->n_grants;
	e->n_grants = ng;
	p->n_grants += ng;
	p->n++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static int cmp_hash_ptr(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	int c = memcmp(x->hash, y->hash, HASH_SIZE);
	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Sort p->e by name and find duplicate names and hashes.  Sets *line to
 * the earliest line holding a second occurrence (0 if none) and writes the
 * message for it.
 */
static int find_duplicates(struct parser *p, size_t *line, char *msg, size_t msgcap)
{
	*line = 0;
	if (p->n == 0)
		return 0;
	qsort(p->e, p->n, sizeof *p->e, cmp_name);
	for (size_t i = 1; i < p->n; i++) {
		struct entry *a = &p->e[i - 1], *b = &p->e[i];
		if (strcmp(a->name, b->name) == 0 && (*line == 0 || b->line < *line)) {
			*line = b->line;
			snprintf(msg, msgcap, "line %zu: duplicate name '%s' (first on line %zu)",
			         b->line, b->name, a->line);
		}
	}
	struct entry **by_hash = malloc(p->n * sizeof *by_hash);
	if (by_hash == NULL)
		return VL_ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		by_hash[i] = &p->e[i];
	qsort(by_hash, p->n, sizeof *by_hash, cmp_hash_ptr);
	for (size_t i = 1; i < p->n; i++) {
		struct entry *a = by_hash[i - 1], *b = by_hash[i];
		if (memcmp(a->hash, b->hash, HASH_SIZE) == 0 && (*line == 0 || b->line < *line)) {
			*line = b->line;
			snprintf(msg, msgcap,
			         "line %zu: the hash of '%s' is also that of '%s' on line %zu "
			         "(one token, two names)",
			         b->line, b->name, a->name, a->line);
		}
	}
	free(by_hash);
	return 0;
}

static void parser_free(struct parser *p)
{
	if (p->e != NULL)
		OPENSSL_cleanse(p->e, p->cap * sizeof *p->e);
	free(p->e);
	free(p->g);
}

int vs_tokens_parse(const char *text, size_t len, vs_tokens **out, char *err, size_t errcap)
{
	struct parser p = {0};
	size_t lineno = 0, bad_line = 0;
	char dup_msg[256];
	int rc = 0;

	clear_err(err, errcap);
	if (out == NULL || (text == NULL && len > 0))
		return vs_fail(err, errcap, VL_EINVAL, "no token file text");
	*out = NULL;
	if (len > VS_TOKENS_FILE_MAX)
		return vs_fail(err, errcap, VL_ETOOBIG, "token file larger than %u bytes",
		            VS_TOKENS_FILE_MAX);
	for (size_t i = 0; i < len && rc == 0;) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - i;
		i += n + 1;
		lineno++;
		if (memchr(line, '\0', n) != NULL) {
			rc = vs_fail(err, errcap, VL_EFORMAT, "line %zu: NUL byte", lineno);
			break;
		}
		while (n > 0 && is_blank((unsigned char)*line)) {
			line++;
			n--;
		}
		while (n > 0 && is_blank((unsigned char)line[n - 1]))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		rc = parse_line(&p, line, n, lineno, err, errcap);
	}
	if (rc == VL_ENOMEM)
		goto done;
	bad_line = rc != 0 ? lineno : 0;
	size_t dup_line;
	int drc = find_duplicates(&p, &dup_line, dup_msg, sizeof dup_msg);
	if (drc != 0) {
		rc = vs_fail(err, errcap, drc, "out of memory");
		goto done;
	}
	if (dup_line != 0 && (bad_line == 0 || dup_line < bad_line))
		rc = vs_fail(err, errcap, VL_EFORMAT, "%s", dup_msg);
	if (rc != 0)
		goto done;

	vs_tokens *t = calloc(1, sizeof *t);
	if (t == NULL) {
		rc = vs_fail(err, errcap, VL_ENOMEM, "out of memory");
		goto done;
	}
	atomic_init(&t->refs, 1);
	t->n = p.n;
	t->e = p.e;
	t->n_grants = p.n_grants;
	t->g = p.g;
	p.e = NULL;
	p.g = NULL;
	*out = t;
done:
	parser_free(&p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* loading                                                             */

/* The whole file at path, if it is a regular file closed to group and
 * others and not larger than VS_TOKENS_FILE_MAX.  *buf is malloc'ed. */
static int read_token_file(const char *path, char **buf, size_t *len, char *err, size_t errcap)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	int rc;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the open; it is
	 * refused as not regular right after. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vs_fail(err, errcap, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = vs_fail(err, errcap, -errno, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vs_fail(err, errcap, VL_EKEY, "%s: not a regular file", path);
		goto done;
	}
	if ((st.st_mode & 077) != 0) {
		rc = vs_fail(err, errcap, VL_EKEY,
		          "%s: mode %04o gives group or others access to the tokens; "
		          "chmod 600 the file",
		          path, (unsigned)(st.st_mode & 07777));
		goto done;
	}
	if (st.st_size > (off_t)VS_TOKENS_FILE_MAX) {
		rc = vs_fail(err, errcap, VL_ETOOBIG, "%s: larger than %u bytes", path,
		          VS_TOKENS_FILE_MAX);
		goto done;
	}
	rc = vs_read_fd(fd, path, VS_TOKENS_FILE_MAX, &b, &n, err, errcap);
	if (rc != 0)
		goto done;
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
done:
	free(b);
	close(fd);
	return rc;
}

int vs_tokens_load(const char *path, vs_tokens **out, char *err, size_t errcap)
{
	char *buf = NULL;
	size_t len = 0;
	char msg[512];

	clear_err(err, errcap);
	if (path == NULL || out == NULL)
		return vs_fail(err, errcap, VL_EINVAL, "no token file path");
	*out = NULL;
	int rc = read_token_file(path, &buf, &len, err, errcap);
	if (rc != 0)
		return rc;
	rc = vs_tokens_parse(buf, len, out, msg, sizeof msg);
	if (rc != 0)
		vs_fail(err, errcap, rc, "%s: %s", path, msg);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* use                                                                 */

vs_tokens *vs_tokens_ref(vs_tokens *t)
{
	if (t != NULL)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void vs_tokens_free(vs_tokens *t)
{
	if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (t->e != NULL)
		OPENSSL_cleanse(t->e, t->n * sizeof *t->e);
	free(t->e);
	free(t->g);
	free(t);
}

size_t vs_tokens_count(const vs_tokens *t)
{
	return t != NULL ? t->n : 0;
}

/* 1 if x == 0, else 0, for x < 2^31, without a branch. */
static size_t is_zero(unsigned x)
{
	return (size_t)(((x | (0u - x)) >> 31) ^ 1u);
}

const char *vs_tokens_authenticate(const vs_tokens *t, const char *presented, size_t len)
{
	uint8_t h[HASH_SIZE];
	SHA256_CTX c;
	if (t == NULL || presented == NULL || len == 0)
		return NULL;
	SHA256_Init(&c);
	SHA256_Update(&c, presented, len);
	SHA256_Final(h, &c);
	/* found = index + 1 of the match, or 0: hashes are unique, so at most
	 * one entry contributes. */
	size_t found = 0;
	for (size_t i = 0; i < t->n; i++) {
		unsigned d = (unsigned)CRYPTO_memcmp(h, t->e[i].hash, HASH_SIZE);
		found |= (i + 1) & (0 - is_zero(d));
	}
	OPENSSL_cleanse(h, sizeof h);
	OPENSSL_cleanse(&c, sizeof c);
	return found != 0 ? t->e[found - 1].name : NULL;
}

static int cmp_key_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct entry *)elem)->name);
}

/* The entry whose name is NAME: by address for a pointer into t, else by
 * binary search. */
static const struct entry *entry_of(const vs_tokens *t, const char *name)
{
	uintptr_t base = (uintptr_t)t->e, p = (uintptr_t)name;
	if (t->n == 0)
		return NULL;
	if (p >= base && p < base + t->n * sizeof *t->e &&
	    (p - base) % sizeof *t->e == offsetof(struct entry, name))
		return &t->e[(p - base) / sizeof *t->e];
	return bsearch(name, t->e, t->n, sizeof *t->e, cmp_key_name);
}

unsigned vs_tokens_scopes(const vs_tokens *t, const char *name, const char *log)
{
	if (t == NULL || name == NULL || log == NULL)
		return 0;
	const struct entry *e = entry_of(t, name);
	if (e == NULL)
		return 0;
	unsigned s = 0;
	for (size_t i = 0; i < e->n_grants; i++) {
		const struct grant *g = &t->g[e->first_grant + i];
		if (strcmp(g->log, "*") == 0 || strcmp(g->log, log) == 0)
			s |= g->scopes;
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* generation                                                          */

/* 0xff if a < b, else 0, for a, b < 256. */
static unsigned ct_lt(unsigned a, unsigned b)
{
	return ((a - b) >> 8) & 0xff;
}

/* base64url character of v < 64, without branches or table lookups (the
 * token is a secret). */
static char url_char(unsigned v)
{
	unsigned up = ct_lt(v, 26);
	unsigned lo = ct_lt(v, 52) & ~up & 0xff;
	unsigned dg = ct_lt(v, 62) & ~ct_lt(v, 52) & 0xff;
	unsigned dash = ct_lt(v, 63) & ~ct_lt(v, 62) & 0xff;
	unsigned under = ~ct_lt(v, 63) & 0xff;
	return (char)((up & (v + 'A')) | (lo & (v - 26 + 'a')) | (dg & (v - 52 + '0')) |
	              (dash & '-') | (under & '_'));
}

/* base64url without padding of 32 bytes: 43 characters and a NUL. */
static void encode_token_random(const uint8_t in[TOKEN_RANDOM], char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= TOKEN_RANDOM; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = url_char(v >> 18 & 63);
		out[o++] = url_char(v >> 12 & 63);
		out[o++] = url_char(v >> 6 & 63);
		out[o++] = url_char(v & 63);
	}
	/* 32 = 30 + 2: the last two bytes are 16 bits, three characters. */
	uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
	out[o++] = url_char(v >> 18 & 63);
	out[o++] = url_char(v >> 12 & 63);
	out[o++] = url_char(v >> 6 & 63);
	out[o] = '\0';
}

int vs_token_generate(const char *name, const char *scopes, char *token_out, size_t token_cap,
                      char *line_out, size_t line_cap, char *err, size_t errcap)
{
	uint8_t rnd[TOKEN_RANDOM], h[HASH_SIZE];
	char hex[2 * HASH_SIZE + 1];
	SHA256_CTX c;
	size_t ng;
	int rc;

	clear_err(err, errcap);
	if (token_out != NULL && token_cap > 0)
		token_out[0] = '\0';
	if (line_out != NULL && line_cap > 0)
		line_out[0] = '\0';
	if (name == NULL || scopes == NULL || token_out == NULL || line_out == NULL)
		return vs_fail(err, errcap, VL_EINVAL, "no name, scopes or output buffer");
	const char *why = name_problem(name, strlen(name));
	if (why != NULL)
		return vs_fail(err, errcap, VL_EINVAL, "the token name %s", why);
	rc = parse_scopes(scopes, strlen(scopes), NULL, &ng, "", err, errcap);
	if (rc != 0)
		return VL_EINVAL;
	size_t line_len =
	    strlen(name) + 1 + HASH_PREFIX_LEN + 2 * HASH_SIZE + 1 + strlen(scopes) + 1;
	if (token_cap < VS_TOKEN_CAP || line_cap < line_len + 1)
		return vs_fail(err, errcap, VL_ETOOBIG, "output buffer too small");
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		ERR_clear_error();
		return vs_fail(err, errcap, VL_EKEY, "no random bytes for a token");
	}
	memcpy(token_out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
	encode_token_random(rnd, token_out + TOKEN_PREFIX_LEN);
	OPENSSL_cleanse(rnd, sizeof rnd);

	SHA256_Init(&c);
	SHA256_Update(&c, token_out, VS_TOKEN_LEN);
	SHA256_Final(h, &c);
	OPENSSL_cleanse(&c, sizeof c);
	for (size_t i = 0; i < HASH_SIZE; i++) {
		hex[2 * i] = "0123456789abcdef"[h[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
	}
	hex[2 * HASH_SIZE] = '\0';
	snprintf(line_out, line_cap, "%s " HASH_PREFIX "%s %s\n", name, hex, scopes);
	return 0;
}
