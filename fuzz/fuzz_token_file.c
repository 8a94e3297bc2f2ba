/*
 * fuzz_token_file.c — libFuzzer driver for the bearer-token file parser of
 * `vellum serve` (src/server/tokens.c): vs_tokens_parse on the input and,
 * when it parses, vs_tokens_authenticate and vs_tokens_scopes on fixed
 * strings and on pieces of the input.  Besides "no crash", it checks that
 * an error names a line of the input and that a parsed set is coherent:
 * authentication returns one of its names or NULL, admin always comes
 * with read and append, and an unknown name has no scopes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Build (needs libcrypto):
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Isrc -Isrc/server fuzz/fuzz_token_file.c src/server/tokens.c -lcrypto
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_token_file: %s\n", what);
		abort();
	}
}

/* Lines in text[0..n): newlines, plus one for a last line without one. */
static size_t count_lines(const char *text, size_t n)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	return lines + (n > 0 && text[n - 1] != '\n');
}

/* An error either names a line of the input or is about the whole file. */
static void check_error(int rc, const char *err, const char *text, size_t n)
{
	check(rc == VL_EFORMAT || rc == VL_ETOOBIG || rc == VL_ENOMEM, "unexpected error code");
	check(err[0] != '\0', "error without a message");
	if (strncmp(err, "line ", 5) == 0) {
		size_t line = strtoul(err + 5, NULL, 10);
		check(line >= 1 && line <= count_lines(text, n),
		      "error names a line not in the input");
	} else {
		check(strstr(err, "larger than") != NULL || strstr(err, "out of memory") != NULL,
		      "error names no line");
	}
}

static void check_name(const vs_tokens *t, const char *name)
{
	static const char *const logs[] = {"default", "audit", "*", "a", ""};
	if (name == NULL)
		return;
	size_t len = strlen(name);
	check(len >= 1 && len <= VS_TOKEN_NAME_MAX, "authenticated name of a bad length");
	for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
		unsigned s = vs_tokens_scopes(t, name, logs[i]);
		check((s & ~7u) == 0, "unknown scope bits");
		const unsigned rw = VS_SCOPE_READ | VS_SCOPE_APPEND;
		check(!(s & VS_SCOPE_ADMIN) || (s & rw) == rw, "admin without read and append");
		/* the same name by value gives the same scopes */
		char copy[VS_TOKEN_NAME_MAX + 1];
		memcpy(copy, name, len + 1);
		check(vs_tokens_scopes(t, copy, logs[i]) == s,
		      "scopes differ by pointer and value");
	}
}

/* Authenticate presented[0..n) from an exact-size heap copy. */
static void try_token(const vs_tokens *t, const char *presented, size_t n)
{
	char *c = malloc(n ? n : 1);
	if (c == NULL)
		return;
	memcpy(c, presented, n);
	check_name(t, vs_tokens_authenticate(t, c, n));
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size heap copy: the parser takes (pointer, length) and must
	 * not read past it. */
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	char err[256] = "";
	vs_tokens *t = NULL;
	int rc = vs_tokens_parse(text, size, &t, err, sizeof err);
	if (rc != 0) {
		check(t == NULL, "a set returned with an error");
		check_error(rc, err, text, size);
		free(text);
		return 0;
	}
	check(t != NULL, "no set and no error");
	check(vs_tokens_count(t) <= VS_TOKENS_MAX, "more tokens than the limit");
	check(vs_tokens_count(t) <= count_lines(text, size), "more tokens than lines");

	static const char *const fixed[] = {
	    "vlt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "secret", "x"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		try_token(t, fixed[i], strlen(fixed[i]));
	/* Every field of every line as a token; it is never its own hash. */
	for (size_t i = 0; i < size;) {
		while (i < size && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
			i++;
		size_t start = i;
		while (i < size && text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
			i++;
		if (i > start)
			try_token(t, text + start, i - start);
	}
	check(vs_tokens_scopes(t, "no such name!", "default") == 0, "an unknown name has scopes");
	/* An extra reference, dropped, leaves the set usable. */
	vs_tokens_free(vs_tokens_ref(t));
	try_token(t, text, size);
	vs_tokens_free(t);
	free(text);
	return 0;
}
