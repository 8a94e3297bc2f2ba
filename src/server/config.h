/*
 * config.h — the configuration file of `vellum serve`: defaults, parsing,
 * derived paths and validation, and the parsers for its value types
 * (durations, sizes, listen addresses).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The file is INI text (read with libinih), with one [server] section and
 * one [log NAME] section per log; config.c has the full list of keys.  A
 * line is "key = value", "[section]", blank, or a comment: a line whose
 * first non-blank character is ';' or '#', or the rest of a line from a ';'
 * or '#' that follows a space or tab.  Keys and section names are
 * case-sensitive; each key may appear once per section, each section once.
 * An empty value ("tls_cert =") means "not set".
 *
 * Value types:
 *   duration  digits and a unit: 250ms, 1s, 2m, 1h; no unit means seconds
 *   size      digits and a unit: 1024, 64KiB, 16MiB, 1GiB, 1TiB (or B)
 *   count     digits
 *   address   "a.b.c.d:port", "[v6]:port" or "localhost:port" (127.0.0.1);
 *             numeric only, port 0..65535 (0: any free port)
 *   bool      true/false, yes/no, on/off, 1/0
 *   path      any text without control characters
 *
 * The usual sequence, all in one thread at start-up:
 *
 *   vs_config c;
 *   vs_config_defaults(&c);                  the built-in configuration
 *   vs_config_load(path, &c, err, sizeof err);  if there is a file
 *   vs_config_set(&c.data, "/srv/vellum");   command-line overrides
 *   vs_config_finish(&c, err, sizeof err);   derive paths, validate
 *   ... use c (read-only from here on: any thread may read it) ...
 *   vs_config_free(&c);
 *
 * Errors.  Functions that can fail return 0 or a negative code: VL_EFORMAT
 * (bad text or an invalid setting), VL_ETOOBIG (a file or line too long,
 * too many logs, a number that overflows), VL_ENOMEM, VL_EINVAL (a NULL
 * argument) or -errno (reading the file).  Every error also writes a
 * one-line, NUL-terminated message into err[errcap] (err may be NULL when
 * errcap is 0) naming the line, the section, the key and the value as far
 * as they apply, and what is wrong:
 *
 *   line 12: [server] max_body_bytes = 12XB: not a size (use 1024, 64KiB, 16MiB)
 *
 * Memory.  Every char * in vs_config and vs_log_config is NULL (not set)
 * or a NUL-terminated string from malloc owned by the structure, freed by
 * vs_config_free; replace one with vs_config_set, never by assigning a
 * string the structure does not own.  logs is a malloc'ed array of n_logs.
 */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vellum.h"

#define VS_LOG_NAME_MAX 64        /* [A-Za-z0-9._-]{1,64}, not "." or ".." */
#define VS_CONFIG_FILE_MAX (1u << 20) /* largest configuration file (1 MiB) */
#define VS_CONFIG_LOGS_MAX 1000   /* most [log NAME] sections */

/* log_level values, in increasing severity. */
enum { VS_LOG_DEBUG = 0, VS_LOG_INFO = 1, VS_LOG_WARN = 2, VS_LOG_ERROR = 3 };

typedef struct vs_log_config {
	char name[VS_LOG_NAME_MAX + 1]; /* from "[log NAME]" */
	char *dir;             /* log directory; finish: default <data>/<name> */
	char *key;             /* signer key file; finish: default <data>/<name>.key */
	int public_read;       /* 1: reads need no token; default 0 */
	char *syslog_tcp;      /* syslog listeners, "addr:port", or NULL (none) */
	char *syslog_udp;
	char *syslog_tls;
	char *syslog_tls_cert; /* finish: default [server] tls_cert if syslog_tls */
	char *syslog_tls_key;  /* finish: default [server] tls_key if syslog_tls */
} vs_log_config;

typedef struct vs_config {
	char *data;       /* data directory; default "./vellum-data" */
	char *listen;     /* HTTP(S) listener; default "127.0.0.1:8080" */
	char *token_file; /* finish: default <data>/tokens */
	char *tls_cert;   /* PEM certificate chain and key: both or neither; */
	char *tls_key;    /* neither means plain HTTP */
	uint64_t checkpoint_interval_ms; /* default 1000, 10ms .. 1h */
	uint64_t max_body_bytes;         /* default 16MiB, 1KiB .. 1GiB */
	uint64_t max_events_per_request; /* default 10000, 1 .. 1000000 */
	uint64_t max_connections;        /* default 1024, 1 .. 100000 */
	uint64_t max_header_bytes;       /* default 16KiB, 1KiB .. 1MiB */
	uint64_t idle_timeout_ms;        /* default 60000, 1s .. 24h */
	uint64_t request_timeout_ms;     /* default 30000, 1s .. 1h */
	uint64_t queue_max_events;       /* default 200000, max_events_per_request .. 100000000 */
	uint64_t queue_max_bytes;        /* default 64MiB, max_body_bytes .. 64GiB */
	uint64_t idempotency_keys;       /* default 1000000, 0 (none kept) .. 100000000 */
	int log_level;                   /* VS_LOG_*; default VS_LOG_INFO */
	vs_log_config *logs;             /* default: one log, "default" */
	size_t n_logs;
} vs_config;

/*
 * Fill C with the built-in configuration: the values in the comments
 * above, and one log named "default" with nothing set but its name (its
 * paths are derived by vs_config_finish).  Whatever C held before is
 * overwritten, not freed.  Returns 0, or VL_ENOMEM with C emptied (as
 * after vs_config_free).
 */
int vs_config_defaults(vs_config *c);

/*
 * Parse configuration text text[0..len) (need not be NUL-terminated; a NUL
 * byte is an error) on top of C, which must hold a configuration (from
 * vs_config_defaults or an earlier parse).  Keys in the text replace C's
 * values.  If the text has any [log NAME] section, C's logs are all
 * replaced by the text's; otherwise they are kept.  All or nothing: on
 * error C is unchanged and err names the first bad line.  Values are
 * checked for form and range here; what depends on several keys or on
 * command-line overrides is checked by vs_config_finish.
 */
VL_MUST_CHECK int vs_config_parse(const char *text, size_t len, vs_config *c, char *err,
                                  size_t errcap);

/* vs_config_parse on the contents of the file PATH (at most
 * VS_CONFIG_FILE_MAX bytes).  Messages begin "PATH: ". */
VL_MUST_CHECK int vs_config_load(const char *path, vs_config *c, char *err, size_t errcap);

/*
 * Replace the string *FIELD (a char * member of a vs_config or
 * vs_log_config) with a copy of VALUE; NULL or "" unsets it.  For
 * command-line overrides between parsing and vs_config_finish.  Returns 0
 * or VL_ENOMEM (then *FIELD is unchanged).
 */
VL_MUST_CHECK int vs_config_set(char **field, const char *value);

/*
 * Complete and check C, once, after parsing and overrides.  Fills what is
 * not set: token_file = <data>/tokens, each log's dir = <data>/<name> and
 * key = <data>/<name>.key, and a log's syslog_tls_cert/key from the
 * server's tls_cert/key when it has a syslog_tls listener.  Then checks:
 * data and listen are set; every address parses; tls_cert and tls_key are
 * both set or neither (likewise a log's syslog_tls_cert and
 * syslog_tls_key, which also need syslog_tls, and syslog_tls needs a
 * certificate); every limit is in its range (above) with queue_max_events
 * >= max_events_per_request and queue_max_bytes >= max_body_bytes; there
 * is at least one log, no more than VS_CONFIG_LOGS_MAX, and their names are
 * valid and unique; no two log directories, key files and the token file
 * share a path; and no two listeners of the same protocol (HTTP and
 * syslog over TCP or TLS share TCP; syslog_udp is UDP) can collide: same
 * port (other than 0) and the same address, or a wildcard one (0.0.0.0 or
 * [::]) that covers the other.  VL_EFORMAT with a message naming the
 * section and key, or VL_ENOMEM; C may have gained derived paths either
 * way and is still freed with vs_config_free.
 */
VL_MUST_CHECK int vs_config_finish(vs_config *c, char *err, size_t errcap);

/* Free every string and the logs of C and leave it empty (all NULL and 0,
 * n_logs 0); freeing an empty C again is harmless.  NULL is ignored. */
void vs_config_free(vs_config *c);

/* "debug", "info", "warn", "error" for a VS_LOG_* level, else "?". */
const char *vs_log_level_name(int level);

/*
 * Parse a duration (see above) from the NUL-terminated S into *out, in
 * milliseconds.  Spaces between the number and the unit are allowed,
 * nothing else.  Returns 0, VL_EFORMAT (not a duration), VL_ETOOBIG (more
 * than 2^64 - 1 ms) or VL_EINVAL (NULL).  *out is set only on success.
 */
VL_MUST_CHECK int vs_parse_duration_ms(const char *s, uint64_t *out);

/* Parse a size (see above) from S into *out, in bytes; otherwise like
 * vs_parse_duration_ms. */
VL_MUST_CHECK int vs_parse_size(const char *s, uint64_t *out);

/*
 * Parse a listen address "a.b.c.d:port", "[v6]:port" or "localhost:port"
 * (which means 127.0.0.1) into *ss (AF_INET or AF_INET6, port in network
 * order) and *len (its size).  No name lookup, no IPv6 zone index, no
 * brackets around IPv4.  Returns 0, VL_EFORMAT or VL_EINVAL (NULL); *ss and
 * *len are set only on success.  Thread-safe.
 */
VL_MUST_CHECK int vs_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
