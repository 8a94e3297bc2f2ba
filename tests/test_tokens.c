/*
 * test_tokens.c — the bearer-token file of `vellum serve` (src/server/tokens.c):
 * parsing good and bad files, with every error message checked to name
 * its line; loading with permission and size checks; authentication;
 * scopes; and token generation round trips.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every parser input is an exact-size heap copy (no NUL after the data),
 * so a read past the end is caught by AddressSanitizer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "tokens.h"

/* An exact-size heap copy without a terminating NUL. */
static char *dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static int parse_n(const char *s, size_t n, vs_tokens **t, char *err, size_t cap)
{
	char *c = dup_exact(s, n);
	int rc = vs_tokens_parse(c, n, t, err, cap);
	free(c);
	return rc;
}

static int parse(const char *s, vs_tokens **t, char *err, size_t cap)
{
	return parse_n(s, strlen(s), t, err, cap);
}

/* "sha256:<hex of SHA-256(token)>" in out[72]. */
static void hash_field(const char *token, char out[72])
{
	unsigned char h[32];
	unsigned int hl = 0;
	assert_int_equal(EVP_Digest(token, strlen(token), h, &hl, EVP_sha256(), NULL), 1);
	strcpy(out, "sha256:");
	for (int i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", h[i]);
}

/* Append "NAME sha256:HEX SCOPES\n" for TOKEN to buf. */
static void add_line(char *buf, size_t cap, const char *name, const char *token,
                     const char *scopes)
{
	char h[72];
	hash_field(token, h);
	size_t len = strlen(buf);
	snprintf(buf + len, cap - len, "%s %s %s\n", name, h, scopes);
}

/* Parsing must fail with code, and the message must contain want. */
static void expect_error(const char *text, int code, const char *want)
{
	vs_tokens *t = (vs_tokens *)1;
	char err[256] = "";
	int rc = parse(text, &t, err, sizeof err);
	if (rc != code || strstr(err, want) == NULL)
		fail_msg("got %d '%s', want %d with '%s'\nfor: %s", rc, err, code, want, text);
	assert_null(t);
}

static const char *const tok_a = "vlt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char *const tok_b = "vlt_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
static const char *const tok_c = "vlt_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

/* A three-token file, with comments, blank lines, tabs and CRLF. */
static vs_tokens *three(void)
{
	char buf[2048] = "# tokens for the test\n\n";
	add_line(buf, sizeof buf, "ci", tok_a, "default:append");
	strcat(buf, "   # indented comment\r\n\t\r\n");
	add_line(buf, sizeof buf, "reader@example.com", tok_b, "*:read,audit:append");
	add_line(buf, sizeof buf, "ops", tok_c, "audit:admin");
	vs_tokens *t = NULL;
	char err[256];
	if (parse(buf, &t, err, sizeof err) != 0)
		fail_msg("%s", err);
	return t;
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */

static void test_parse_good(void **state)
{
	(void)state;
	vs_tokens *t = three();
	assert_int_equal(vs_tokens_count(t), 3);
	assert_string_equal(vs_tokens_authenticate(t, tok_a, strlen(tok_a)), "ci");
	assert_string_equal(vs_tokens_authenticate(t, tok_b, strlen(tok_b)), "reader@example.com");
	assert_string_equal(vs_tokens_authenticate(t, tok_c, strlen(tok_c)), "ops");
	vs_tokens_free(t);
}

static void test_parse_whitespace(void **state)
{
	(void)state;
	char h[72], buf[512];
	hash_field(tok_a, h);
	/* Runs of blanks between fields, blanks around the line, CRLF, no
	 * final newline. */
	snprintf(buf, sizeof buf, "  \t ci \t %s  default:read \t\r", h);
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	assert_int_equal(vs_tokens_count(t), 1);
	assert_int_equal(vs_tokens_scopes(t, "ci", "default"), VS_SCOPE_READ);
	vs_tokens_free(t);
}

static void test_parse_empty(void **state)
{
	(void)state;
	static const char *const texts[] = {"", "\n", "# nothing\n\n   \n", "#", "\r\n\t"};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		vs_tokens *t = NULL;
		char err[256];
		assert_int_equal(parse(texts[i], &t, err, sizeof err), 0);
		assert_non_null(t);
		assert_int_equal(vs_tokens_count(t), 0);
		assert_null(vs_tokens_authenticate(t, tok_a, strlen(tok_a)));
		assert_int_equal(vs_tokens_scopes(t, "ci", "default"), 0);
		vs_tokens_free(t);
	}
	/* A NULL text of length 0 is an empty file too. */
	vs_tokens *t = NULL;
	assert_int_equal(vs_tokens_parse(NULL, 0, &t, NULL, 0), 0);
	assert_int_equal(vs_tokens_count(t), 0);
	vs_tokens_free(t);
}

static void test_parse_field_count(void **state)
{
	(void)state;
	char h[72], buf[512];
	hash_field(tok_a, h);
	expect_error("# c\n\nci\n", VL_EFORMAT, "line 3: expected 3 fields");
	snprintf(buf, sizeof buf, "\nci %s\n", h);
	expect_error(buf, VL_EFORMAT,
	             "line 2: expected 3 fields 'NAME sha256:HEX SCOPES', found 2");
	snprintf(buf, sizeof buf, "ci %s default:read extra\n", h);
	expect_error(buf, VL_EFORMAT,
	             "line 1: expected 3 fields 'NAME sha256:HEX SCOPES', found 4");
	snprintf(buf, sizeof buf, "ci %s default:read # trailing comment\n", h);
	expect_error(buf, VL_EFORMAT, "line 1: expected 3 fields");
}

static void test_parse_bad_name(void **state)
{
	(void)state;
	char h[72], buf[512], name[80];
	hash_field(tok_a, h);
	snprintf(buf, sizeof buf, "ci/x %s default:read\n", h);
	expect_error(buf, VL_EFORMAT, "line 1: the name has a character other than");
	snprintf(buf, sizeof buf, "#\nci\xc3\xa9 %s default:read\n", h);
	expect_error(buf, VL_EFORMAT, "line 2: the name has a character");
	memset(name, 'n', 65);
	name[65] = '\0';
	snprintf(buf, sizeof buf, "%s %s default:read\n", name, h);
	expect_error(buf, VL_EFORMAT, "line 1: the name is longer than 64 characters");
	/* 64 characters and every allowed character are fine. */
	name[64] = '\0';
	memcpy(name, "aZ09._@-", 8);
	snprintf(buf, sizeof buf, "%s %s default:read\n", name, h);
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	assert_string_equal(vs_tokens_authenticate(t, tok_a, strlen(tok_a)), name);
	vs_tokens_free(t);
}

static void test_parse_bad_hash(void **state)
{
	(void)state;
	char h[72], buf[512];
	hash_field(tok_a, h);
	const char *want = "line 2: the hash of 'ci' must be 'sha256:' and 64 lowercase hex digits";
	/* uppercase hex */
	char upper[72];
	strcpy(upper, h);
	for (char *p = upper + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(buf, sizeof buf, "#\nci %s default:read\n", upper);
	expect_error(buf, VL_EFORMAT, want);
	/* one digit short, one too many, another algorithm, the raw token */
	snprintf(buf, sizeof buf, "#\nci %.70s default:read\n", h);
	expect_error(buf, VL_EFORMAT, want);
	snprintf(buf, sizeof buf, "#\nci %s0 default:read\n", h);
	expect_error(buf, VL_EFORMAT, want);
	snprintf(buf, sizeof buf, "#\nci sha512:%s default:read\n", h + 7);
	expect_error(buf, VL_EFORMAT, want);
	snprintf(buf, sizeof buf, "#\nci %s default:read\n", tok_a);
	expect_error(buf, VL_EFORMAT, want);
	/* The message never repeats the field: it could be a token. */
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), VL_EFORMAT);
	assert_null(strstr(err, "vlt_"));
	/* The hash of the empty string is nobody's token. */
	snprintf(buf, sizeof buf, "#\n#\nci sha256:%s default:read\n",
	         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_error(buf, VL_EFORMAT, "line 3: the hash of 'ci' is that of the empty string");
}

static void test_parse_bad_scopes(void **state)
{
	(void)state;
	static const struct {
		const char *scopes, *want;
	} cases[] = {
	    {"default", "line 1: scope 1 has no ':'"},
	    {"default:read,audit", "line 1: scope 2 has no ':'"},
	    {"default:write", "line 1: scope 1 of log 'default': not append, read or admin"},
	    {"default:READ", "line 1: scope 1 of log 'default': not append"},
	    {"default:", "line 1: scope 1 of log 'default': not append"},
	    {"default:read,", "line 1: scope 2 is empty"},
	    {",default:read", "line 1: scope 1 is empty"},
	    {"default:read,,audit:read", "line 1: scope 2 is empty"},
	    {":read", "line 1: scope 1: the log must be '*' or 1 to 64"},
	    {"a/b:read", "line 1: scope 1: the log must be"},
	    {"**:read", "line 1: scope 1: the log must be"},
	    {"a@b:read", "line 1: scope 1: the log must be"},
	    {"default:read:append", "line 1: scope 1 of log 'default': not append"},
	};
	char h[72], buf[512];
	hash_field(tok_a, h);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "ci %s %s\n", h, cases[i].scopes);
		expect_error(buf, VL_EFORMAT, cases[i].want);
	}
	/* A 64-character log name is fine, 65 is not. */
	char log[70];
	memset(log, 'l', 65);
	log[65] = '\0';
	snprintf(buf, sizeof buf, "ci %s %s:read\n", h, log);
	expect_error(buf, VL_EFORMAT, "line 1: scope 1: the log must be");
	log[64] = '\0';
	snprintf(buf, sizeof buf, "ci %s %s:read\n", h, log);
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	assert_int_equal(vs_tokens_scopes(t, "ci", log), VS_SCOPE_READ);
	vs_tokens_free(t);
}

static void test_parse_duplicate_name(void **state)
{
	(void)state;
	char buf[2048] = "";
	add_line(buf, sizeof buf, "ci", tok_a, "default:read");
	add_line(buf, sizeof buf, "ops", tok_b, "default:read");
	strcat(buf, "# again\n");
	add_line(buf, sizeof buf, "ci", tok_c, "default:append");
	expect_error(buf, VL_EFORMAT, "line 4: duplicate name 'ci' (first on line 1)");
}

static void test_parse_duplicate_hash(void **state)
{
	(void)state;
	char buf[2048] = "\n";
	add_line(buf, sizeof buf, "ci", tok_a, "default:read");
	add_line(buf, sizeof buf, "ops", tok_b, "default:read");
	add_line(buf, sizeof buf, "ci2", tok_a, "default:append");
	expect_error(buf, VL_EFORMAT,
	             "line 4: the hash of 'ci2' is also that of 'ci' on line 2 "
	             "(one token, two names)");
}

static void test_parse_earliest_error(void **state)
{
	(void)state;
	/* A duplicate on line 2 comes before a bad line 3... */
	char buf[2048] = "";
	add_line(buf, sizeof buf, "ci", tok_a, "default:read");
	add_line(buf, sizeof buf, "ci", tok_b, "default:read");
	strcat(buf, "broken\n");
	expect_error(buf, VL_EFORMAT, "line 2: duplicate name 'ci' (first on line 1)");
	/* ...and a bad line 2 before a duplicate on line 3. */
	buf[0] = '\0';
	add_line(buf, sizeof buf, "ci", tok_a, "default:read");
	strcat(buf, "broken\n");
	add_line(buf, sizeof buf, "ci", tok_b, "default:read");
	expect_error(buf, VL_EFORMAT, "line 2: expected 3 fields");
	/* Of two duplicates, the earlier second occurrence. */
	buf[0] = '\0';
	add_line(buf, sizeof buf, "zz", tok_a, "default:read");
	add_line(buf, sizeof buf, "aa", tok_b, "default:read");
	add_line(buf, sizeof buf, "zz", tok_c, "default:read");
	add_line(buf, sizeof buf, "aa", "vlt_other", "default:read");
	expect_error(buf, VL_EFORMAT, "line 3: duplicate name 'zz' (first on line 1)");
}

static void test_parse_nul_byte(void **state)
{
	(void)state;
	char buf[1024] = "# one\n";
	add_line(buf, sizeof buf, "ci", tok_a, "default:read");
	size_t n = strlen(buf);
	memcpy(buf + n, "# x\0y\n", 6);
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse_n(buf, n + 6, &t, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "line 3: NUL byte");
	assert_null(t);
}

static void test_parse_limits(void **state)
{
	(void)state;
	/* 10000 tokens parse; the 10001st is refused on its line. */
	size_t cap = (VS_TOKENS_MAX + 1) * 100 + 1;
	char *buf = calloc(1, cap);
	assert_non_null(buf);
	size_t len = 0;
	for (int i = 0; i < VS_TOKENS_MAX; i++)
		len += (size_t)snprintf(buf + len, cap - len, "t%d sha256:%064x *:read\n", i,
		                        i + 1);
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	assert_int_equal(vs_tokens_count(t), VS_TOKENS_MAX);
	vs_tokens_free(t);
	snprintf(buf + len, cap - len, "extra sha256:%064x *:read\n", 0);
	assert_int_equal(parse(buf, &t, err, sizeof err), VL_ETOOBIG);
	assert_string_equal(err, "line 10001: more than 10000 tokens");
	assert_null(t);
	free(buf);

	/* More than 1 MiB of text, even of comments, is refused. */
	size_t big = VS_TOKENS_FILE_MAX + 1;
	buf = malloc(big);
	assert_non_null(buf);
	memset(buf, '#', big);
	assert_int_equal(vs_tokens_parse(buf, big, &t, err, sizeof err), VL_ETOOBIG);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	assert_int_equal(vs_tokens_parse(buf, big - 1, &t, err, sizeof err), 0);
	vs_tokens_free(t);
	free(buf);
}

static void test_parse_args(void **state)
{
	(void)state;
	vs_tokens *t = NULL;
	char err[64];
	assert_int_equal(vs_tokens_parse("x", 1, NULL, err, sizeof err), VL_EINVAL);
	assert_int_equal(vs_tokens_parse(NULL, 1, &t, err, sizeof err), VL_EINVAL);
	/* A tiny or absent error buffer is fine. */
	assert_int_equal(parse("bad\n", &t, err, 5), VL_EFORMAT);
	assert_string_equal(err, "line");
	assert_int_equal(parse("bad\n", &t, NULL, 0), VL_EFORMAT);
}

/* ------------------------------------------------------------------ */
/* loading                                                             */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/vs-tokens-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_load_modes(void **state)
{
	(void)state;
	char path[128], buf[1024] = "", err[512];
	snprintf(path, sizeof path, "%s/tokens", tmpdir);
	add_line(buf, sizeof buf, "ci", tok_a, "default:append");
	static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602, 0620, 0700 | 01, 0777};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(path, buf, strlen(buf), bad[i]);
		vs_tokens *t = (vs_tokens *)1;
		assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), VL_EKEY);
		assert_null(t);
		char want[256];
		snprintf(want, sizeof want,
		         "%s: mode %04o gives group or others access to the tokens; "
		         "chmod 600 the file",
		         path, (unsigned)bad[i]);
		assert_string_equal(err, want);
	}
	static const mode_t good[] = {0600, 0400, 0200, 0700};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		write_file(path, buf, strlen(buf), good[i]);
		vs_tokens *t = NULL;
		if (good[i] & 0400) {
			assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), 0);
			assert_string_equal(vs_tokens_authenticate(t, tok_a, strlen(tok_a)), "ci");
			vs_tokens_free(t);
		}
	}
	unlink(path);
}

static void test_load_errors(void **state)
{
	(void)state;
	char path[128], err[512];
	vs_tokens *t = NULL;
	/* missing */
	snprintf(path, sizeof path, "%s/missing", tmpdir);
	assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "missing: No such file or directory"));
	/* a directory, even with mode 0700 */
	snprintf(path, sizeof path, "%s/dir", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), VL_EKEY);
	assert_non_null(strstr(err, "dir: not a regular file"));
	/* a FIFO: refused, without hanging on the open */
	snprintf(path, sizeof path, "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), VL_EKEY);
	assert_non_null(strstr(err, "fifo: not a regular file"));
	/* a parse error names the path and the line */
	snprintf(path, sizeof path, "%s/bad", tmpdir);
	write_file(path, "# ok\nbroken\n", 12, 0600);
	assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), VL_EFORMAT);
	char want[256];
	snprintf(want, sizeof want, "%s: line 2: expected 3 fields", path);
	assert_non_null(strstr(err, want));
	/* too large */
	size_t big = VS_TOKENS_FILE_MAX + 1;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, '\n', big);
	snprintf(path, sizeof path, "%s/big", tmpdir);
	write_file(path, text, big, 0600);
	assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), VL_ETOOBIG);
	assert_non_null(strstr(err, "big: larger than 1048576 bytes"));
	write_file(path, text, big - 1, 0600);
	assert_int_equal(vs_tokens_load(path, &t, err, sizeof err), 0);
	assert_int_equal(vs_tokens_count(t), 0);
	vs_tokens_free(t);
	free(text);
	assert_int_equal(vs_tokens_load(NULL, &t, err, sizeof err), VL_EINVAL);
}

/* ------------------------------------------------------------------ */
/* authentication and scopes                                           */

static void test_authenticate(void **state)
{
	(void)state;
	vs_tokens *t = three();
	size_t n = strlen(tok_a);
	assert_string_equal(vs_tokens_authenticate(t, tok_a, n), "ci");
	/* Exact-length copy: nothing after the token is read. */
	char *c = dup_exact(tok_a, n);
	assert_string_equal(vs_tokens_authenticate(t, c, n), "ci");
	/* Any change fails: one character, a prefix, an extension, empty. */
	c[n - 1] = c[n - 1] == 'A' ? 'B' : 'A';
	assert_null(vs_tokens_authenticate(t, c, n));
	free(c);
	assert_null(vs_tokens_authenticate(t, tok_a, n - 1));
	assert_null(vs_tokens_authenticate(t, tok_a, 4));
	char longer[64];
	snprintf(longer, sizeof longer, "%sA", tok_a);
	assert_null(vs_tokens_authenticate(t, longer, strlen(longer)));
	snprintf(longer, sizeof longer, "%s\n", tok_a);
	assert_null(vs_tokens_authenticate(t, longer, strlen(longer)));
	assert_null(vs_tokens_authenticate(t, "", 0));
	assert_null(vs_tokens_authenticate(t, tok_a, 0));
	assert_null(vs_tokens_authenticate(t, NULL, 5));
	assert_null(vs_tokens_authenticate(NULL, tok_a, n));
	/* The hash itself is not a token. */
	char h[72];
	hash_field(tok_a, h);
	assert_null(vs_tokens_authenticate(t, h, strlen(h)));
	assert_null(vs_tokens_authenticate(t, h + 7, strlen(h + 7)));
	vs_tokens_free(t);
}

static void test_scopes(void **state)
{
	(void)state;
	vs_tokens *t = three();
	const unsigned all = VS_SCOPE_ADMIN | VS_SCOPE_READ | VS_SCOPE_APPEND;
	/* ci: default:append */
	const char *ci = vs_tokens_authenticate(t, tok_a, strlen(tok_a));
	assert_int_equal(vs_tokens_scopes(t, ci, "default"), VS_SCOPE_APPEND);
	assert_int_equal(vs_tokens_scopes(t, "ci", "default"), VS_SCOPE_APPEND);
	assert_int_equal(vs_tokens_scopes(t, ci, "audit"), 0);
	assert_int_equal(vs_tokens_scopes(t, ci, "defaul"), 0);
	assert_int_equal(vs_tokens_scopes(t, ci, "default2"), 0);
	/* reader: *:read,audit:append: the wildcard and a log's own grant add up */
	const char *rd = vs_tokens_authenticate(t, tok_b, strlen(tok_b));
	assert_int_equal(vs_tokens_scopes(t, rd, "default"), VS_SCOPE_READ);
	assert_int_equal(vs_tokens_scopes(t, rd, "anything"), VS_SCOPE_READ);
	assert_int_equal(vs_tokens_scopes(t, rd, "audit"), VS_SCOPE_READ | VS_SCOPE_APPEND);
	/* "*" as a log name is no wildcard from the caller's side */
	assert_int_equal(vs_tokens_scopes(t, "ci", "*"), 0);
	/* ops: audit:admin implies read and append */
	assert_int_equal(vs_tokens_scopes(t, "ops", "audit"), all);
	assert_int_equal(vs_tokens_scopes(t, "ops", "default"), 0);
	/* unknown names and NULLs */
	assert_int_equal(vs_tokens_scopes(t, "nobody", "default"), 0);
	assert_int_equal(vs_tokens_scopes(t, "", "default"), 0);
	assert_int_equal(vs_tokens_scopes(t, NULL, "default"), 0);
	assert_int_equal(vs_tokens_scopes(t, "ci", NULL), 0);
	assert_int_equal(vs_tokens_scopes(NULL, "ci", "default"), 0);
	/* A name pointer into the middle of an entry is looked up by value. */
	assert_int_equal(vs_tokens_scopes(t, rd + 7, "default"), 0);
	vs_tokens_free(t);
}

static void test_scopes_admin_wildcard(void **state)
{
	(void)state;
	char buf[1024] = "";
	add_line(buf, sizeof buf, "root", tok_a, "*:admin");
	add_line(buf, sizeof buf, "mixed", tok_b, "a:read,a:append,b:admin,*:append,a:read");
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	const unsigned all = VS_SCOPE_ADMIN | VS_SCOPE_READ | VS_SCOPE_APPEND;
	assert_int_equal(vs_tokens_scopes(t, "root", "x"), all);
	assert_int_equal(vs_tokens_scopes(t, "root", "default"), all);
	assert_int_equal(vs_tokens_scopes(t, "mixed", "a"), VS_SCOPE_READ | VS_SCOPE_APPEND);
	assert_int_equal(vs_tokens_scopes(t, "mixed", "b"), all);
	assert_int_equal(vs_tokens_scopes(t, "mixed", "c"), VS_SCOPE_APPEND);
	vs_tokens_free(t);
}

static void test_many_tokens_lookup(void **state)
{
	(void)state;
	/* Names sorted out of file order still map to their own scopes. */
	char *buf = calloc(1, 200 * 120);
	assert_non_null(buf);
	for (int i = 199; i >= 0; i--) {
		char name[16], tok[32], scopes[32];
		snprintf(name, sizeof name, "n%03d", i);
		snprintf(tok, sizeof tok, "vlt_token_%d", i);
		snprintf(scopes, sizeof scopes, "log%d:%s", i, i % 2 ? "read" : "append");
		add_line(buf, 200 * 120, name, tok, scopes);
	}
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	for (int i = 0; i < 200; i++) {
		char name[16], tok[32], log[16];
		snprintf(name, sizeof name, "n%03d", i);
		snprintf(tok, sizeof tok, "vlt_token_%d", i);
		snprintf(log, sizeof log, "log%d", i);
		const char *got = vs_tokens_authenticate(t, tok, strlen(tok));
		assert_non_null(got);
		assert_string_equal(got, name);
		unsigned want = i % 2 ? VS_SCOPE_READ : VS_SCOPE_APPEND;
		assert_int_equal(vs_tokens_scopes(t, got, log), want);
		assert_int_equal(vs_tokens_scopes(t, name, log), want);
		assert_int_equal(vs_tokens_scopes(t, got, "log"), 0);
	}
	vs_tokens_free(t);
	free(buf);
}

static void test_refcount(void **state)
{
	(void)state;
	vs_tokens *t = three();
	assert_ptr_equal(vs_tokens_ref(t), t);
	assert_ptr_equal(vs_tokens_ref(t), t);
	vs_tokens_free(t);
	vs_tokens_free(t);
	/* still alive with one reference */
	assert_string_equal(vs_tokens_authenticate(t, tok_c, strlen(tok_c)), "ops");
	vs_tokens_free(t);
	assert_null(vs_tokens_ref(NULL));
	vs_tokens_free(NULL);
	assert_int_equal(vs_tokens_count(NULL), 0);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* About 1 µs per call with 10 tokens in a release build; the bound here
 * is loose enough for sanitizers and busy machines. */
static void test_authenticate_speed(void **state)
{
	(void)state;
	char buf[4096] = "";
	char toks[10][48];
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		snprintf(toks[i], sizeof toks[i], "vlt_%043d", i);
		add_line(buf, sizeof buf, name, toks[i], "*:read");
	}
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse(buf, &t, err, sizeof err), 0);
	const int rounds = 100000;
	size_t hits = 0;
	double t0 = now_s();
	for (int i = 0; i < rounds; i++)
		hits += vs_tokens_authenticate(t, toks[i % 10], VS_TOKEN_LEN) != NULL;
	double per = (now_s() - t0) / rounds;
	assert_int_equal(hits, rounds);
	print_message("authenticate, 10 tokens: %.2f us per call\n", per * 1e6);
	assert_true(per < 50e-6);
	vs_tokens_free(t);
}

/* ------------------------------------------------------------------ */
/* generation                                                          */

static int url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static void test_generate_round_trip(void **state)
{
	(void)state;
	char token[VS_TOKEN_CAP], line[VS_TOKEN_LINE_FIXED + 64], err[256];
	assert_int_equal(vs_token_generate("ci-bot", "default:append,*:read", token, sizeof token,
	                                   line, sizeof line, err, sizeof err),
	                 0);
	assert_int_equal(strlen(token), VS_TOKEN_LEN);
	assert_memory_equal(token, "vlt_", 4);
	for (size_t i = 4; i < VS_TOKEN_LEN; i++)
		assert_true(url_char(token[i]));
	/* The line is "NAME sha256:HEX SCOPES\n" with the token's hash. */
	char h[72], want[256];
	hash_field(token, h);
	snprintf(want, sizeof want, "ci-bot %s default:append,*:read\n", h);
	assert_string_equal(line, want);
	/* ...and parses into a set that authenticates the token. */
	vs_tokens *t = NULL;
	assert_int_equal(parse(line, &t, err, sizeof err), 0);
	const char *name = vs_tokens_authenticate(t, token, strlen(token));
	assert_non_null(name);
	assert_string_equal(name, "ci-bot");
	assert_int_equal(vs_tokens_scopes(t, name, "default"), VS_SCOPE_APPEND | VS_SCOPE_READ);
	assert_int_equal(vs_tokens_scopes(t, name, "other"), VS_SCOPE_READ);
	vs_tokens_free(t);
}

static void test_generate_many(void **state)
{
	(void)state;
	/* 500 tokens: all different, all parse together, all authenticate.
	 * The last character encodes 4 bits and 2 zero bits, so it is one
	 * of 16; over 500 tokens every one of them shows up. */
	enum { N = 500 };
	char(*toks)[VS_TOKEN_CAP] = calloc(N, VS_TOKEN_CAP);
	char *file = calloc(N, 256);
	assert_non_null(toks);
	assert_non_null(file);
	int seen_last[128] = {0};
	size_t len = 0;
	for (int i = 0; i < N; i++) {
		char name[16], line[256], err[256];
		snprintf(name, sizeof name, "u%d", i);
		assert_int_equal(vs_token_generate(name, "*:read", toks[i], VS_TOKEN_CAP, line,
		                                   sizeof line, err, sizeof err),
		                 0);
		char last = toks[i][VS_TOKEN_LEN - 1];
		assert_non_null(strchr("AEIMQUYcgkosw048", last));
		seen_last[(int)last] = 1;
		memcpy(file + len, line, strlen(line));
		len += strlen(line);
	}
	int distinct = 0;
	for (int c = 0; c < 128; c++)
		distinct += seen_last[c];
	assert_int_equal(distinct, 16);
	vs_tokens *t = NULL;
	char err[256];
	assert_int_equal(parse_n(file, len, &t, err, sizeof err), 0); /* no duplicate hash */
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "u%d", i);
		const char *got = vs_tokens_authenticate(t, toks[i], VS_TOKEN_LEN);
		assert_non_null(got);
		assert_string_equal(got, name);
	}
	vs_tokens_free(t);
	free(toks);
	free(file);
}

static void test_generate_errors(void **state)
{
	(void)state;
	char token[VS_TOKEN_CAP], line[256], err[256];
	assert_int_equal(vs_token_generate("bad name", "*:read", token, sizeof token, line,
	                                   sizeof line, err, sizeof err),
	                 VL_EINVAL);
	assert_string_equal(err, "the token name has a character other than A-Z a-z 0-9 . _ @ -");
	assert_string_equal(token, "");
	assert_string_equal(line, "");
	assert_int_equal(vs_token_generate("", "*:read", token, sizeof token, line, sizeof line,
	                                   err, sizeof err),
	                 VL_EINVAL);
	assert_string_equal(err, "the token name is empty");
	assert_int_equal(vs_token_generate("ci", "*:write", token, sizeof token, line, sizeof line,
	                                   err, sizeof err),
	                 VL_EINVAL);
	assert_string_equal(err, "scope 1 of log '*': not append, read or admin");
	assert_int_equal(vs_token_generate("ci", "", token, sizeof token, line, sizeof line, err,
	                                   sizeof err),
	                 VL_EINVAL);
	assert_string_equal(err, "no scopes (use LOG:SCOPE,...)");
	assert_int_equal(vs_token_generate("ci", "a:read b:read", token, sizeof token, line,
	                                   sizeof line, err, sizeof err),
	                 VL_EINVAL);
	/* buffers: the token needs 48 bytes, the line its full length + 1 */
	assert_int_equal(vs_token_generate("ci", "*:read", token, VS_TOKEN_CAP - 1, line,
	                                   sizeof line, err, sizeof err),
	                 VL_ETOOBIG);
	size_t need = strlen("ci sha256: *:read\n") + 64 + 1;
	assert_int_equal(vs_token_generate("ci", "*:read", token, sizeof token, line, need - 1, err,
	                                   sizeof err),
	                 VL_ETOOBIG);
	assert_int_equal(vs_token_generate("ci", "*:read", token, sizeof token, line, need, err,
	                                   sizeof err),
	                 0);
	assert_int_equal(strlen(line), need - 1);
	assert_int_equal(vs_token_generate(NULL, "*:read", token, sizeof token, line, sizeof line,
	                                   err, sizeof err),
	                 VL_EINVAL);
	/* the longest name fits VS_TOKEN_LINE_FIXED + strlen(scopes) */
	char name[VS_TOKEN_NAME_MAX + 1];
	memset(name, 'x', VS_TOKEN_NAME_MAX);
	name[VS_TOKEN_NAME_MAX] = '\0';
	char exact[VS_TOKEN_LINE_FIXED + 6];
	assert_int_equal(vs_token_generate(name, "*:read", token, sizeof token, exact, sizeof exact,
	                                   err, sizeof err),
	                 0);
	assert_int_equal(strlen(exact), sizeof exact - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_whitespace),
	    cmocka_unit_test(test_parse_empty),
	    cmocka_unit_test(test_parse_field_count),
	    cmocka_unit_test(test_parse_bad_name),
	    cmocka_unit_test(test_parse_bad_hash),
	    cmocka_unit_test(test_parse_bad_scopes),
	    cmocka_unit_test(test_parse_duplicate_name),
	    cmocka_unit_test(test_parse_duplicate_hash),
	    cmocka_unit_test(test_parse_earliest_error),
	    cmocka_unit_test(test_parse_nul_byte),
	    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_parse_args),
	    cmocka_unit_test(test_load_modes),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_authenticate),
	    cmocka_unit_test(test_scopes),
	    cmocka_unit_test(test_scopes_admin_wildcard),
	    cmocka_unit_test(test_many_tokens_lookup),
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_authenticate_speed),
	    cmocka_unit_test(test_generate_round_trip),
	    cmocka_unit_test(test_generate_many),
	    cmocka_unit_test(test_generate_errors),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
