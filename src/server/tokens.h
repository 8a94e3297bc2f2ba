/*
 * tokens.h — bearer tokens for `vellum serve`: the token file, request
 * authentication and per-log scopes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * A token is the string "vlt_" followed by 43 characters of base64url
 * (RFC 4648 §5, no padding) of 32 random bytes: 47 characters in all.  The
 * server stores only SHA-256 hashes of tokens, one per line of the token
 * file:
 *
 *   NAME SP "sha256:" HEX SP SCOPES
 *
 *   NAME    [A-Za-z0-9._@-]{1,64}, unique in the file
 *   HEX     64 lowercase hex digits: SHA-256 of the token string, unique
 *   SCOPES  LOG ":" SCOPE ["," LOG ":" SCOPE]...
 *   LOG     a log name, [A-Za-z0-9._-]{1,64}, or "*" for every log
 *   SCOPE   "append", "read" or "admin" (admin implies read and append)
 *
 * Fields are separated by one or more spaces or tabs; whitespace at the
 * start and end of a line (a CR before the LF included) is ignored.  Blank
 * lines and lines whose first non-blank character is '#' are ignored.  At
 * most VS_TOKENS_FILE_MAX bytes and VS_TOKENS_MAX tokens.
 *
 * Errors.  Functions that can fail return 0 or a negative code: VL_EINVAL
 * (a NULL argument, or a bad name or scope list for vs_token_generate),
 * VL_EFORMAT (the text is not a token file), VL_ETOOBIG (a limit above),
 * VL_EKEY (vs_tokens_load: the file is not a regular file or is open to
 * group or others), VL_ENOMEM, or -errno from the operating system.  Every
 * error also writes a one-line, NUL-terminated message into err[errcap]
 * (err may be NULL when errcap is 0); parse errors name the line number
 * and what is wrong with it ("line 3: duplicate name 'ci' (first on line
 * 1)"), load errors start with the file's path.  vl_strerror() names the
 * codes.
 *
 * Threads.  A vs_tokens set never changes once parsed or loaded, so any
 * number of threads may call vs_tokens_authenticate, vs_tokens_scopes and
 * vs_tokens_count on it at once without locking.  A set is reference
 * counted: vs_tokens_ref adds a reference and vs_tokens_free drops one,
 * freeing the set with the last.  To reload the file while serving, load
 * the new set, then swap it in under the same (short) lock that request
 * threads hold while they take a reference to the current set:
 *
 *   request:  lock; t = current; vs_tokens_ref(t); unlock;
 *             name = vs_tokens_authenticate(t, ...); ... vs_tokens_free(t);
 *   reload:   vs_tokens_load(path, &n, ...); lock; old = current;
 *             current = n; unlock; vs_tokens_free(old);
 *
 * A name returned by vs_tokens_authenticate stays valid while the caller
 * holds its reference to the set.
 */
#ifndef VS_TOKENS_H
#define VS_TOKENS_H

#include <stddef.h>

#include "vellum.h"

#define VS_TOKENS_FILE_MAX (1u << 20) /* largest token file, bytes (1 MiB) */
#define VS_TOKENS_MAX 10000           /* most tokens in one file */
#define VS_TOKEN_NAME_MAX 64          /* longest token NAME */
#define VS_TOKEN_LEN 47               /* "vlt_" + 43 base64url characters */
#define VS_TOKEN_CAP (VS_TOKEN_LEN + 1)
/* Room a vs_token_generate line needs besides its scopes: the longest
 * name, two spaces, "sha256:" and 64 hex digits, the newline and the NUL. */
#define VS_TOKEN_LINE_FIXED (VS_TOKEN_NAME_MAX + 1 + 7 + 64 + 1 + 1 + 1)

typedef struct vs_tokens vs_tokens;

/* Scope bits, as returned by vs_tokens_scopes.  ADMIN always comes with
 * READ and APPEND. */
enum { VS_SCOPE_APPEND = 1, VS_SCOPE_READ = 2, VS_SCOPE_ADMIN = 4 };

/*
 * Parse a token file held in text[0..len) (need not be NUL-terminated; a
 * NUL byte inside is an error).  On success *out is a new set with one
 * reference, for the caller to drop with vs_tokens_free; an empty file
 * (or one of comments only) gives an empty set that authenticates nobody.
 * On error *out is NULL and err names the first bad line; when there are
 * several errors, the one on the earliest line is reported, and duplicate
 * names or hashes are reported on the line of the second occurrence.
 */
VL_MUST_CHECK int vs_tokens_parse(const char *text, size_t len, vs_tokens **out, char *err,
                                  size_t errcap);

/*
 * Read and parse the token file at PATH.  The file must be a regular file
 * with no permission bits for group or others (mode & 077 == 0, e.g.
 * 0600 or 0400), as ssh requires of private keys: otherwise VL_EKEY, with
 * a message naming the mode.  Files larger than VS_TOKENS_FILE_MAX are
 * VL_ETOOBIG.  The checks are made on the open descriptor, so the file
 * cannot be swapped between check and read.  Messages begin "PATH: ".
 */
VL_MUST_CHECK int vs_tokens_load(const char *path, vs_tokens **out, char *err, size_t errcap);

/* Add a reference to T (which may be NULL) and return T.  Thread-safe. */
vs_tokens *vs_tokens_ref(vs_tokens *t);

/* Drop one reference to T; the last one frees it.  NULL is ignored.
 * Thread-safe with respect to other references to the same set. */
void vs_tokens_free(vs_tokens *t);

/* The number of tokens in T (0 for NULL). */
size_t vs_tokens_count(const vs_tokens *t);

/*
 * Authenticate a presented bearer token presented[0..len) (the value after
 * "Bearer "; need not be NUL-terminated).  It is hashed with SHA-256 and
 * the hash is compared with every stored hash by CRYPTO_memcmp, always
 * all of them and without branching on the result, so the time taken
 * depends only on the number of tokens and on len, not on which token
 * matched or whether one did.  Returns the matching token's NAME (a
 * NUL-terminated string owned by T, valid as long as the caller's
 * reference to T), or NULL if none matches, if len is 0, or if T or
 * presented is NULL.  Thread-safe; allocates nothing.
 */
const char *vs_tokens_authenticate(const vs_tokens *t, const char *presented, size_t len);

/*
 * The scopes granted to token NAME for log LOG: the OR of the grants for
 * LOG and for "*", as a VS_SCOPE_* bit mask, with ADMIN expanded to
 * ADMIN | READ | APPEND.  0 if NAME is not in T or gets nothing for LOG,
 * or if any argument is NULL.  NAME may be the pointer
 * vs_tokens_authenticate returned (then the lookup is O(1)) or any string
 * (binary search).  Thread-safe; allocates nothing.
 */
unsigned vs_tokens_scopes(const vs_tokens *t, const char *name, const char *log);

/*
 * Make a new token for NAME with scope list SCOPES (both NUL-terminated,
 * checked against the grammar above).  Writes the token string, "vlt_" and
 * 43 base64url characters, NUL-terminated, into token_out (token_cap >=
 * VS_TOKEN_CAP), and its token file line "NAME sha256:HEX SCOPES\n",
 * newline included and NUL-terminated, into line_out (line_cap >=
 * VS_TOKEN_LINE_FIXED + strlen(scopes) is always enough).  The token is
 * shown to its user once; only the line is stored.  The 32 random bytes
 * come from OpenSSL's RAND_bytes; if it fails, no token is made.  Errors:
 * VL_EINVAL (bad NAME or SCOPES, or NULL), VL_ETOOBIG (a buffer is too
 * small), VL_EKEY (no randomness).  On error both outputs are set to ""
 * when they have room.  Thread-safe.
 */
VL_MUST_CHECK int vs_token_generate(const char *name, const char *scopes, char *token_out,
                                    size_t token_cap, char *line_out, size_t line_cap,
                                    char *err, size_t errcap);

#endif
