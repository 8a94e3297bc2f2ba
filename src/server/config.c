/*
 * config.c — the `vellum serve` configuration file: built-in defaults, INI
 * parsing with libinih, derived paths and validation.  The API and the
 * value types are in config.h.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Keys:
 *
 *   [server]
 *   data = ./vellum-data            path, required
 *   listen = 127.0.0.1:8080         address, required
 *   token_file =                    path; default <data>/tokens
 *   tls_cert =                      path; with tls_key, or neither
 *   tls_key =                       path
 *   checkpoint_interval = 1s        duration, 10ms .. 1h
 *   max_body_bytes = 16MiB          size, 1KiB .. 1GiB
 *   max_events_per_request = 10000  count, 1 .. 1000000
 *   max_connections = 1024          count, 1 .. 100000
 *   max_header_bytes = 16KiB        size, 1KiB .. 1MiB
 *   idle_timeout = 60s              duration, 1s .. 24h
 *   request_timeout = 30s           duration, 1s .. 1h
 *   queue_max_events = 200000       count, 1 .. 100000000
 *   queue_max_bytes = 64MiB         size, 1KiB .. 64GiB
 *   idempotency_keys = 1000000      count, 0 .. 100000000
 *   log_level = info                debug, info, warn or error
 *
 *   [log NAME]                      NAME: [A-Za-z0-9._-]{1,64}, not . or ..
 *   dir =                           path; default <data>/NAME
 *   key =                           path; default <data>/NAME.key
 *   public_read = false             bool
 *   syslog_tcp =                    address
 *   syslog_udp =                    address
 *   syslog_tls =                    address
 *   syslog_tls_cert =               path; default [server] tls_cert
 *   syslog_tls_key =                path; default [server] tls_key
 *
 * libinih splits "key = value" lines and strips their spaces; everything
 * else is done by the line reader given to ini_parse_stream, which sees
 * each line before libinih does.  It counts lines (so every message names
 * one), refuses NUL bytes and lines too long for libinih's buffer (which
 * would otherwise split them silently), strips comments and leading
 * blanks (so no line is taken for a continuation of the one before), and
 * handles "[section]" lines itself: libinih would cut section names at
 * 50 characters and says nothing of a section without keys.  libinih then
 * only ever sees blank lines and "key=value" lines, and calls the handler,
 * which knows the current section from the reader.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "readfile.h"

#define MS_SECOND UINT64_C(1000)
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR (60 * MS_MINUTE)
#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

#define SHOW_MAX 64 /* value characters quoted in a message */

/* ------------------------------------------------------------------ */
/* keys                                                                */

enum vtype { T_PATH, T_ADDR, T_DUR, T_SIZE, T_COUNT, T_LEVEL, T_BOOL };

struct key {
	const char *name;
	enum vtype type;
	size_t off;        /* in vs_config or vs_log_config */
	uint64_t min, max; /* T_DUR, T_SIZE, T_COUNT */
	int required;      /* T_PATH, T_ADDR: may not be empty */
};

#define SRV(f) offsetof(vs_config, f)
#define LOG(f) offsetof(vs_log_config, f)

static const struct key server_keys[] = {
    {"data", T_PATH, SRV(data), 0, 0, 1},
    {"listen", T_ADDR, SRV(listen), 0, 0, 1},
    {"token_file", T_PATH, SRV(token_file), 0, 0, 0},
    {"tls_cert", T_PATH, SRV(tls_cert), 0, 0, 0},
    {"tls_key", T_PATH, SRV(tls_key), 0, 0, 0},
    {"checkpoint_interval", T_DUR, SRV(checkpoint_interval_ms), 10, MS_HOUR, 0},
    {"max_body_bytes", T_SIZE, SRV(max_body_bytes), KIB, GIB, 0},
    {"max_events_per_request", T_COUNT, SRV(max_events_per_request), 1, 1000000, 0},
    {"max_connections", T_COUNT, SRV(max_connections), 1, 100000, 0},
    {"max_header_bytes", T_SIZE, SRV(max_header_bytes), KIB, MIB, 0},
    {"idle_timeout", T_DUR, SRV(idle_timeout_ms), MS_SECOND, 24 * MS_HOUR, 0},
    {"request_timeout", T_DUR, SRV(request_timeout_ms), MS_SECOND, MS_HOUR, 0},
    {"queue_max_events", T_COUNT, SRV(queue_max_events), 1, 100000000, 0},
    {"queue_max_bytes", T_SIZE, SRV(queue_max_bytes), KIB, 64 * GIB, 0},
    {"idempotency_keys", T_COUNT, SRV(idempotency_keys), 0, 100000000, 0},
    {"log_level", T_LEVEL, SRV(log_level), 0, 0, 0},
};

static const struct key log_keys[] = {
    {"dir", T_PATH, LOG(dir), 0, 0, 0},
    {"key", T_PATH, LOG(key), 0, 0, 0},
    {"public_read", T_BOOL, LOG(public_read), 0, 0, 0},
    {"syslog_tcp", T_ADDR, LOG(syslog_tcp), 0, 0, 0},
    {"syslog_udp", T_ADDR, LOG(syslog_udp), 0, 0, 0},
    {"syslog_tls", T_ADDR, LOG(syslog_tls), 0, 0, 0},
    {"syslog_tls_cert", T_PATH, LOG(syslog_tls_cert), 0, 0, 0},
    {"syslog_tls_key", T_PATH, LOG(syslog_tls_key), 0, 0, 0},
};

#define N_SERVER_KEYS (sizeof server_keys / sizeof server_keys[0])
#define N_LOG_KEYS (sizeof log_keys / sizeof log_keys[0])

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* ------------------------------------------------------------------ */
/* messages                                                            */


/* s as printable ASCII for a message: other bytes become '?', and more
 * than SHOW_MAX characters are cut with "...". */
static void show(char dst[SHOW_MAX + 4], const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (s[i] != '\0') {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

/* "10ms", "1s", "2m", "1h": the largest unit that divides ms. */
static void fmt_duration(char *dst, size_t cap, uint64_t ms)
{
	if (ms != 0 && ms % MS_HOUR == 0)
		snprintf(dst, cap, "%lluh", (unsigned long long)(ms / MS_HOUR));
	else if (ms != 0 && ms % MS_MINUTE == 0)
		snprintf(dst, cap, "%llum", (unsigned long long)(ms / MS_MINUTE));
	else if (ms != 0 && ms % MS_SECOND == 0)
		snprintf(dst, cap, "%llus", (unsigned long long)(ms / MS_SECOND));
	else
		snprintf(dst, cap, "%llums", (unsigned long long)ms);
}

/* "1024", "64KiB", "1GiB": the largest binary unit that divides n. */
static void fmt_size(char *dst, size_t cap, uint64_t n)
{
	static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};
	static const uint64_t mul[] = {TIB, GIB, MIB, KIB};
	for (size_t i = 0; i < 4; i++)
		if (n != 0 && n % mul[i] == 0) {
			snprintf(dst, cap, "%llu%s", (unsigned long long)(n / mul[i]), units[i]);
			return;
		}
	snprintf(dst, cap, "%llu", (unsigned long long)n);
}

static void fmt_value(char *dst, size_t cap, enum vtype t, uint64_t v)
{
	if (t == T_DUR)
		fmt_duration(dst, cap, v);
	else if (t == T_SIZE)
		fmt_size(dst, cap, v);
	else
		snprintf(dst, cap, "%llu", (unsigned long long)v);
}

/* ------------------------------------------------------------------ */
/* value types                                                         */

struct unit {
	const char *name;
	uint64_t mul;
};

static const struct unit duration_units[] = {
    {"", MS_SECOND}, {"ms", 1}, {"s", MS_SECOND}, {"m", MS_MINUTE}, {"h", MS_HOUR},
};

static const struct unit size_units[] = {
    {"", 1}, {"B", 1}, {"KiB", KIB}, {"MiB", MIB}, {"GiB", GIB}, {"TiB", TIB},
};

/* Digits, optional spaces, then one of the units exactly. */
static int parse_with_unit(const char *s, const struct unit *units, size_t n_units,
                           uint64_t *out)
{
	uint64_t v = 0;
	int overflow = 0;
	size_t i = 0;
	if (s == NULL || out == NULL)
		return VL_EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			v = v * 10 + d;
	}
	if (i == 0)
		return VL_EFORMAT;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	for (size_t u = 0; u < n_units; u++) {
		if (strcmp(s + i, units[u].name) != 0)
			continue;
		if (s[i] == '\0' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			return VL_EFORMAT; /* trailing blanks without a unit */
		if (overflow || v > UINT64_MAX / units[u].mul)
			return VL_ETOOBIG;
		*out = v * units[u].mul;
		return 0;
	}
	return VL_EFORMAT;
}

int vs_parse_duration_ms(const char *s, uint64_t *out)
{
	return parse_with_unit(s, duration_units, sizeof duration_units / sizeof duration_units[0],
	                       out);
}

int vs_parse_size(const char *s, uint64_t *out)
{
	return parse_with_unit(s, size_units, sizeof size_units / sizeof size_units[0], out);
}

/* "0".."65535", decimal digits only. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 5)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || s[i] != '\0' || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int vs_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN];
	uint16_t port;
	const char *p;
	size_t hl;
	int v6 = 0;

	if (s == NULL || ss == NULL || len == NULL)
		return VL_EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return VL_EFORMAT;
		hl = (size_t)(close - s - 1);
		memcpy(host, s + 1, hl < sizeof host ? hl : 0);
		p = close + 2;
		v6 = 1;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL)
			return VL_EFORMAT;
		hl = (size_t)(colon - s);
		if (hl < sizeof host)
			memcpy(host, s, hl);
		p = colon + 1;
	}
	if (hl == 0 || hl >= sizeof host || parse_port(p, &port) != 0)
		return VL_EFORMAT;
	host[hl] = '\0';
	if (!v6 && strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");

	struct sockaddr_storage tmp;
	memset(&tmp, 0, sizeof tmp);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&tmp;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return VL_EFORMAT;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&tmp;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return VL_EFORMAT;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof *a;
	}
	*ss = tmp;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return VL_EFORMAT;
}

static int parse_level(const char *s, int *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return VL_EFORMAT;
}

static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* [A-Za-z0-9._-]{1,64}, not "." or "..": it names a directory. */
static int log_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > VS_LOG_NAME_MAX)
		return 0;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

const char *vs_log_level_name(int level)
{
	return level >= 0 && level < 4 ? level_names[level] : "?";
}

/*
 * Check VALUE for key K and, with base not NULL, store it in the structure
 * at base.  Returns 0, or an error code with *why set to what is wrong.
 */
static int set_value(void *base, const struct key *k, const char *value, const char **why)
{
	char *field = base != NULL ? (char *)base + k->off : NULL;
	uint64_t v = 0;
	int iv = 0, rc = 0;
	switch (k->type) {
	case T_PATH:
	case T_ADDR:
		if (value[0] == '\0' && k->required) {
			*why = "must not be empty";
			return VL_EFORMAT;
		}
		if (has_control(value)) {
			*why = "has a control character";
			return VL_EFORMAT;
		}
		if (k->type == T_ADDR && value[0] != '\0') {
			struct sockaddr_storage ss;
			socklen_t sl;
			if (vs_parse_addr(value, &ss, &sl) != 0) {
				*why = "not an address (use 127.0.0.1:8080 or [::1]:8080)";
				return VL_EFORMAT;
			}
		}
		return base != NULL ? vs_config_set((char **)(void *)field, value) : 0;
	case T_DUR:
	case T_SIZE:
	case T_COUNT:
		if (k->type == T_DUR)
			rc = vs_parse_duration_ms(value, &v);
		else if (k->type == T_SIZE)
			rc = vs_parse_size(value, &v);
		else
			rc = value[0] == '\0' || strspn(value, "0123456789") != strlen(value)
			             ? VL_EFORMAT
			             : vs_parse_size(value, &v);
		if (rc == VL_ETOOBIG) {
			*why = "too large";
			return rc;
		}
		if (rc != 0) {
			*why = k->type == T_DUR    ? "not a duration (use 250ms, 1s, 2m)"
			       : k->type == T_SIZE ? "not a size (use 1024, 64KiB, 16MiB)"
			                           : "not a number";
			return rc;
		}
		if (v < k->min || v > k->max) {
			*why = "out of range";
			return VL_EFORMAT;
		}
		if (base != NULL)
			memcpy(field, &v, sizeof v);
		return 0;
	case T_LEVEL:
	case T_BOOL:
		rc = k->type == T_LEVEL ? parse_level(value, &iv) : parse_bool(value, &iv);
		if (rc != 0) {
			*why = k->type == T_LEVEL ? "not a level (use debug, info, warn or error)"
			                          : "not a boolean (use true or false)";
			return rc;
		}
		if (base != NULL)
			memcpy(field, &iv, sizeof iv);
		return 0;
	}
	return VL_EINVAL;
}

/* " (10ms to 1h)" for a key with a range, else "". */
static void fmt_range(char *dst, size_t cap, const struct key *k)
{
	char lo[32], hi[32];
	if (k->type != T_DUR && k->type != T_SIZE && k->type != T_COUNT) {
		dst[0] = '\0';
		return;
	}
	fmt_value(lo, sizeof lo, k->type, k->min);
	fmt_value(hi, sizeof hi, k->type, k->max);
	snprintf(dst, cap, " (%s to %s)", lo, hi);
}

/* ------------------------------------------------------------------ */
/* structure                                                           */

int vs_config_set(char **field, const char *value)
{
	if (field == NULL)
		return VL_EINVAL;
	char *copy = NULL;
	if (value != NULL && value[0] != '\0') {
		copy = strdup(value);
		if (copy == NULL)
			return VL_ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

static void log_free(vs_log_config *l)
{
	for (size_t i = 0; i < N_LOG_KEYS; i++)
		if (log_keys[i].type == T_PATH || log_keys[i].type == T_ADDR) {
			char **f = (char **)(void *)((char *)l + log_keys[i].off);
			free(*f);
			*f = NULL;
		}
}

void vs_config_free(vs_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < N_SERVER_KEYS; i++)
		if (server_keys[i].type == T_PATH || server_keys[i].type == T_ADDR) {
			char **f = (char **)(void *)((char *)c + server_keys[i].off);
			free(*f);
		}
	for (size_t i = 0; i < c->n_logs; i++)
		log_free(&c->logs[i]);
	free(c->logs);
	memset(c, 0, sizeof *c);
}

/* Deep copies of the strings of a structure described by keys[0..n). */
static int copy_strings(void *dst, const void *src, const struct key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (keys[i].type != T_PATH && keys[i].type != T_ADDR)
			continue;
		char **d = (char **)(void *)((char *)dst + keys[i].off);
		char *const *s = (char *const *)(const void *)((const char *)src + keys[i].off);
		*d = NULL;
		if (*s != NULL && (*d = strdup(*s)) == NULL)
			return VL_ENOMEM;
	}
	return 0;
}

static void null_strings(void *dst, const struct key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].type == T_PATH || keys[i].type == T_ADDR)
			*(char **)(void *)((char *)dst + keys[i].off) = NULL;
}

static int config_copy(vs_config *dst, const vs_config *src)
{
	*dst = *src;
	null_strings(dst, server_keys, N_SERVER_KEYS);
	dst->logs = NULL;
	dst->n_logs = 0;
	if (copy_strings(dst, src, server_keys, N_SERVER_KEYS) != 0)
		goto nomem;
	if (src->n_logs > 0) {
		dst->logs = calloc(src->n_logs, sizeof *dst->logs);
		if (dst->logs == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < src->n_logs; i++) {
		dst->logs[i] = src->logs[i];
		null_strings(&dst->logs[i], log_keys, N_LOG_KEYS);
		dst->n_logs = i + 1;
		if (copy_strings(&dst->logs[i], &src->logs[i], log_keys, N_LOG_KEYS) != 0)
			goto nomem;
	}
	return 0;
nomem:
	vs_config_free(dst);
	return VL_ENOMEM;
}

int vs_config_defaults(vs_config *c)
{
	if (c == NULL)
		return VL_EINVAL;
	memset(c, 0, sizeof *c);
	c->checkpoint_interval_ms = MS_SECOND;
	c->max_body_bytes = 16 * MIB;
	c->max_events_per_request = 10000;
	c->max_connections = 1024;
	c->max_header_bytes = 16 * KIB;
	c->idle_timeout_ms = 60 * MS_SECOND;
	c->request_timeout_ms = 30 * MS_SECOND;
	c->queue_max_events = 200000;
	c->queue_max_bytes = 64 * MIB;
	c->idempotency_keys = 1000000;
	c->log_level = VS_LOG_INFO;
	c->data = strdup("./vellum-data");
	c->listen = strdup("127.0.0.1:8080");
	c->logs = calloc(1, sizeof *c->logs);
	if (c->data == NULL || c->listen == NULL || c->logs == NULL) {
		vs_config_free(c);
		return VL_ENOMEM;
	}
	c->n_logs = 1;
	strcpy(c->logs[0].name, "default");
	return 0;
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */

enum section { SEC_NONE, SEC_SERVER, SEC_LOG };

struct pstate {
	vs_config *c; /* the copy being built */
	const char *text;
	size_t len, pos;
	size_t line;
	enum section sec;
	char sec_label[VS_LOG_NAME_MAX + 8]; /* "[server]" or "[log NAME]" */
	size_t server_line;                  /* of "[server]", 0 if none yet */
	size_t server_key_line[N_SERVER_KEYS];
	int file_logs;             /* 1 once the text has a [log] section */
	size_t logs_cap;
	size_t *log_line;          /* [i]: line of log i's header */
	size_t (*log_key_line)[N_LOG_KEYS];
	int rc;                    /* first error, 0 if none */
	size_t err_line;
	char *err;
	size_t errcap;
};

static int perr(struct pstate *p, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error, "line N: " + the message. */
static int perr(struct pstate *p, int rc, const char *fmt, ...)
{
	if (p->rc != 0)
		return p->rc;
	p->rc = rc;
	p->err_line = p->line;
	if (p->err != NULL && p->errcap > 0) {
		int n = snprintf(p->err, p->errcap, "line %zu: ", p->line);
		if (n > 0 && (size_t)n < p->errcap) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The first [log NAME] section replaces the logs the text started with. */
static void drop_inherited_logs(struct pstate *p)
{
	if (p->file_logs)
		return;
	for (size_t i = 0; i < p->c->n_logs; i++)
		log_free(&p->c->logs[i]);
	p->c->n_logs = 0;
	p->file_logs = 1;
}

static int add_log(struct pstate *p, const char *name, size_t n)
{
	vs_config *c = p->c;
	drop_inherited_logs(p);
	for (size_t i = 0; i < c->n_logs; i++)
		if (strlen(c->logs[i].name) == n && memcmp(c->logs[i].name, name, n) == 0)
			return perr(p, VL_EFORMAT, "[log %s]: duplicate log (first on line %zu)",
			            c->logs[i].name, p->log_line[i]);
	if (c->n_logs == VS_CONFIG_LOGS_MAX)
		return perr(p, VL_ETOOBIG, "more than %d [log NAME] sections", VS_CONFIG_LOGS_MAX);
	if (c->n_logs == p->logs_cap) {
		size_t cap = p->logs_cap ? 2 * p->logs_cap : 4;
		vs_log_config *l = realloc(c->logs, cap * sizeof *l);
		if (l != NULL)
			c->logs = l;
		size_t *ll = realloc(p->log_line, cap * sizeof *ll);
		if (ll != NULL)
			p->log_line = ll;
		size_t(*kl)[N_LOG_KEYS] = realloc(p->log_key_line, cap * sizeof *kl);
		if (kl != NULL)
			p->log_key_line = kl;
		if (l == NULL || ll == NULL || kl == NULL)
			return perr(p, VL_ENOMEM, "out of memory");
		p->logs_cap = cap;
	}
	vs_log_config *l = &c->logs[c->n_logs];
	memset(l, 0, sizeof *l);
	memcpy(l->name, name, n);
	l->name[n] = '\0';
	p->log_line[c->n_logs] = p->line;
	memset(p->log_key_line[c->n_logs], 0, sizeof p->log_key_line[0]);
	c->n_logs++;
	p->sec = SEC_LOG;
	snprintf(p->sec_label, sizeof p->sec_label, "[log %s]", l->name);
	return 0;
}

/* A "[...]" line: s[0..n) is what is between the brackets. */
static int section_line(struct pstate *p, const char *s, size_t n)
{
	char shown[SHOW_MAX + 4], tmp[SHOW_MAX + 1];
	while (n > 0 && is_blank((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_blank((unsigned char)s[n - 1]))
		n--;
	if (n == 6 && memcmp(s, "server", 6) == 0) {
		if (p->server_line != 0)
			return perr(p, VL_EFORMAT,
			            "[server]: duplicate section (first on line %zu)",
			            p->server_line);
		p->server_line = p->line;
		p->sec = SEC_SERVER;
		strcpy(p->sec_label, "[server]");
		return 0;
	}
	if (n >= 3 && memcmp(s, "log", 3) == 0 && (n == 3 || is_blank((unsigned char)s[3]))) {
		size_t i = 3;
		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		if (i == n)
			return perr(p, VL_EFORMAT, "[log]: a log section needs a name: [log NAME]");
		if (!log_name_valid(s + i, n - i)) {
			size_t m = n - i < SHOW_MAX ? n - i : SHOW_MAX;
			memcpy(tmp, s + i, m);
			tmp[m] = '\0';
			show(shown, tmp);
			return perr(p, VL_EFORMAT,
			            "[log %s%s]: a log name is 1 to 64 of A-Z a-z 0-9 . _ - "
			            "(and not . or ..)",
			            shown, n - i > SHOW_MAX ? "..." : "");
		}
		return add_log(p, s + i, n - i);
	}
	size_t m = n < SHOW_MAX ? n : SHOW_MAX;
	memcpy(tmp, s, m);
	tmp[m] = '\0';
	show(shown, tmp);
	return perr(p, VL_EFORMAT, "[%s%s]: unknown section (use [server] or [log NAME])", shown,
	            n > SHOW_MAX ? "..." : "");
}

/*
 * The line reader for ini_parse_stream: the next line of the text,
 * prepared as described at the top of this file, into str[0..num).
 * Returns NULL at the end of the text or after an error.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct pstate *p = stream;
	if (p->rc != 0 || p->pos >= p->len || num < 2)
		return NULL;
	const char *s = p->text + p->pos;
	const char *nl = memchr(s, '\n', p->len - p->pos);
	size_t n = nl != NULL ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + 1;
	p->line++;
	str[0] = '\0';

	if (memchr(s, '\0', n) != NULL) {
		perr(p, VL_EFORMAT, "NUL byte");
		return NULL;
	}
	if (p->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3; /* UTF-8 byte order mark */
		n -= 3;
	}
	while (n > 0 && is_blank((unsigned char)*s)) {
		s++;
		n--;
	}
	if (n == 0 || s[0] == ';' || s[0] == '#')
		return str;
	for (size_t i = 1; i < n; i++)
		if ((s[i] == ';' || s[i] == '#') && is_blank((unsigned char)s[i - 1])) {
			n = i;
			break;
		}
	while (n > 0 && is_blank((unsigned char)s[n - 1]))
		n--;

	if (s[0] == '[') {
		if (n < 2 || s[n - 1] != ']') {
			perr(p, VL_EFORMAT, "a section line must end in ']'");
			return NULL;
		}
		if (section_line(p, s + 1, n - 2) != 0)
			return NULL;
		return str;
	}
	const char *eq = memchr(s, '=', n);
	const char *colon = memchr(s, ':', n);
	if (eq == NULL || (colon != NULL && colon < eq)) {
		perr(p, VL_EFORMAT, "%s%sexpected 'key = value'", p->sec_label,
		     p->sec_label[0] ? " " : "");
		return NULL;
	}
	if ((size_t)num - 1 < n) {
		perr(p, VL_ETOOBIG, "%s%sline too long (at most %d characters without comments)",
		     p->sec_label, p->sec_label[0] ? " " : "", num - 1);
		return NULL;
	}
	memcpy(str, s, n);
	str[n] = '\0';
	return str;
}

static const struct key *find_key(const struct key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* ini_parse_stream's handler: one "key = value" in the current section. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct pstate *p = user;
	char shown_name[SHOW_MAX + 4], shown[SHOW_MAX + 4], range[80];
	const char *why = NULL;
	(void)section; /* the reader's section is the whole name */
	if (p->rc != 0)
		return 0;
	show(shown_name, name);
	if (name[0] == '\0')
		return !perr(p, VL_EFORMAT, "%s%sno key before '='", p->sec_label,
		             p->sec_label[0] ? " " : "");
	if (p->sec == SEC_NONE)
		return !perr(p, VL_EFORMAT,
		             "%s: key before any section (start with [server] or [log NAME])",
		             shown_name);
	int server = p->sec == SEC_SERVER;
	const struct key *keys = server ? server_keys : log_keys;
	size_t nk = server ? N_SERVER_KEYS : N_LOG_KEYS;
	const struct key *k = find_key(keys, nk, name);
	if (k == NULL)
		return !perr(p, VL_EFORMAT, "%s %s: unknown key", p->sec_label, shown_name);
	size_t ki = (size_t)(k - keys);
	size_t li = p->c->n_logs - 1;
	size_t *seen = server ? &p->server_key_line[ki] : &p->log_key_line[li][ki];
	if (*seen != 0)
		return !perr(p, VL_EFORMAT, "%s %s: duplicate key (first on line %zu)",
		             p->sec_label, shown_name, *seen);
	*seen = p->line;
	void *base = server ? (void *)p->c : (void *)&p->c->logs[li];
	int rc = set_value(base, k, value, &why);
	if (rc == VL_ENOMEM)
		return !perr(p, rc, "out of memory");
	if (rc != 0) {
		show(shown, value);
		fmt_range(range, sizeof range, k);
		return !perr(p, rc, "%s %s = %s: %s%s", p->sec_label, shown_name, shown, why,
		             strcmp(why, "out of range") == 0 ? range : "");
	}
	return 1;
}

int vs_config_parse(const char *text, size_t len, vs_config *c, char *err, size_t errcap)
{
	vs_config work;
	struct pstate p;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (c == NULL || (text == NULL && len > 0))
		return vs_fail(err, errcap, VL_EINVAL, "no configuration");
	if (len > VS_CONFIG_FILE_MAX)
		return vs_fail(err, errcap, VL_ETOOBIG, "configuration larger than %u bytes",
		            VS_CONFIG_FILE_MAX);
	if (config_copy(&work, c) != 0)
		return vs_fail(err, errcap, VL_ENOMEM, "out of memory");
	memset(&p, 0, sizeof p);
	p.c = &work;
	p.text = text;
	p.len = len;
	p.err = err;
	p.errcap = errcap;
	p.logs_cap = work.n_logs;
	p.log_line = calloc(work.n_logs + 1, sizeof *p.log_line);
	p.log_key_line = calloc(work.n_logs + 1, sizeof *p.log_key_line);
	if (p.log_line == NULL || p.log_key_line == NULL) {
		perr(&p, VL_ENOMEM, "out of memory");
	} else {
		int r = ini_parse_stream(read_line, &p, on_value, &p);
		if (r > 0 && (p.rc == 0 || (size_t)r < p.err_line)) {
			/* libinih found a line the reader let through: not expected,
			 * but it must not pass silently. */
			p.rc = 0;
			p.line = (size_t)r;
			perr(&p, VL_EFORMAT, "syntax error");
		} else if (r < 0 && p.rc == 0) {
			perr(&p, VL_ENOMEM, "out of memory");
		}
	}
	free(p.log_line);
	free(p.log_key_line);
	if (p.rc != 0) {
		vs_config_free(&work);
		return p.rc;
	}
	vs_config_free(c);
	*c = work;
	return 0;
}

int vs_config_load(const char *path, vs_config *c, char *err, size_t errcap)
{
	char msg[512];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (path == NULL || c == NULL)
		return vs_fail(err, errcap, VL_EINVAL, "no configuration file");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vs_fail(err, errcap, -errno, "%s: %s", path, strerror(errno));
	rc = vs_read_fd(fd, path, VS_CONFIG_FILE_MAX, &buf, &len, err, errcap);
	if (rc != 0)
		goto done;
	rc = vs_config_parse(buf, len, c, msg, sizeof msg);
	if (rc != 0)
		vs_fail(err, errcap, rc, "%s: %s", path, msg);
done:
	free(buf);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* finishing                                                           */

/* data + "/" + name + suffix, malloc'ed. */
static char *join(const char *data, const char *name, const char *suffix)
{
	size_t dl = strlen(data);
	int slash = dl > 0 && data[dl - 1] == '/';
	size_t n = dl + 1 + strlen(name) + strlen(suffix) + 1;
	char *s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%s%s%s%s", data, slash ? "" : "/", name, suffix);
	return s;
}

static int derive(char **field, const char *data, const char *name, const char *suffix)
{
	if (*field != NULL)
		return 0;
	*field = join(data, name, suffix);
	return *field != NULL ? 0 : VL_ENOMEM;
}

static int copy_default(char **field, const char *from)
{
	if (*field != NULL || from == NULL)
		return 0;
	return vs_config_set(field, from);
}

/* Fill every derived path. */
static int fill_derived(vs_config *c)
{
	int rc = derive(&c->token_file, c->data, "tokens", "");
	for (size_t i = 0; i < c->n_logs && rc == 0; i++) {
		vs_log_config *l = &c->logs[i];
		rc = derive(&l->dir, c->data, l->name, "");
		if (rc == 0)
			rc = derive(&l->key, c->data, l->name, ".key");
		/* Both from the server or neither: a log that sets one of its
		 * own is checked for the other in check_log. */
		if (rc == 0 && l->syslog_tls != NULL && l->syslog_tls_cert == NULL &&
		    l->syslog_tls_key == NULL) {
			rc = copy_default(&l->syslog_tls_cert, c->tls_cert);
			if (rc == 0)
				rc = copy_default(&l->syslog_tls_key, c->tls_key);
		}
	}
	return rc;
}

/* Range and form of every value, as the parser checks them. */
static int check_values(const void *base, const struct key *keys, size_t n, const char *label,
                        char *err, size_t errcap)
{
	char shown[SHOW_MAX + 4], range[80], val[32];
	for (size_t i = 0; i < n; i++) {
		const struct key *k = &keys[i];
		const char *field = (const char *)base + k->off;
		const char *why = NULL;
		if (k->type == T_PATH || k->type == T_ADDR) {
			const char *s;
			memcpy(&s, field, sizeof s);
			if (s == NULL && !k->required)
				continue;
			int rc = set_value(NULL, k, s != NULL ? s : "", &why);
			if (rc != 0) {
				show(shown, s != NULL ? s : "");
				return vs_fail(err, errcap, VL_EFORMAT, "%s %s = %s: %s", label,
				            k->name, shown, why);
			}
		} else if (k->type == T_DUR || k->type == T_SIZE || k->type == T_COUNT) {
			uint64_t v;
			memcpy(&v, field, sizeof v);
			if (v < k->min || v > k->max) {
				fmt_value(val, sizeof val, k->type, v);
				fmt_range(range, sizeof range, k);
				return vs_fail(err, errcap, VL_EFORMAT, "%s %s = %s: out of range%s",
				            label, k->name, val, range);
			}
		} else {
			int v;
			memcpy(&v, field, sizeof v);
			int hi = k->type == T_LEVEL ? VS_LOG_ERROR : 1;
			if (v < 0 || v > hi)
				return vs_fail(err, errcap, VL_EFORMAT, "%s %s = %d: out of range",
				            label, k->name, v);
		}
	}
	return 0;
}

static int both_or_neither(const char *a, const char *b, const char *label, const char *an,
                           const char *bn, char *err, size_t errcap)
{
	if ((a == NULL) == (b == NULL))
		return 0;
	return vs_fail(err, errcap, VL_EFORMAT, "%s %s is set but %s is not (set both or neither)",
	            label, a != NULL ? an : bn, a != NULL ? bn : an);
}

static int check_server(const vs_config *c, char *err, size_t errcap)
{
	char a[32], b[32];
	int rc = check_values(c, server_keys, N_SERVER_KEYS, "[server]", err, errcap);
	if (rc != 0)
		return rc;
	rc = both_or_neither(c->tls_cert, c->tls_key, "[server]", "tls_cert", "tls_key", err,
	                     errcap);
	if (rc != 0)
		return rc;
	if (c->queue_max_events < c->max_events_per_request) {
		snprintf(a, sizeof a, "%llu", (unsigned long long)c->queue_max_events);
		snprintf(b, sizeof b, "%llu", (unsigned long long)c->max_events_per_request);
		return vs_fail(err, errcap, VL_EFORMAT,
		            "[server] queue_max_events = %s: less than max_events_per_request = %s",
		            a, b);
	}
	if (c->queue_max_bytes < c->max_body_bytes) {
		fmt_size(a, sizeof a, c->queue_max_bytes);
		fmt_size(b, sizeof b, c->max_body_bytes);
		return vs_fail(err, errcap, VL_EFORMAT,
		            "[server] queue_max_bytes = %s: less than max_body_bytes = %s", a, b);
	}
	return 0;
}

/* A log's own settings, before paths and certificates are derived. */
static int check_log(const vs_log_config *l, char *err, size_t errcap)
{
	char label[VS_LOG_NAME_MAX + 8], shown[SHOW_MAX + 4];
	size_t n = strnlen(l->name, sizeof l->name);
	if (n == sizeof l->name || !log_name_valid(l->name, n)) {
		show(shown, n == sizeof l->name ? "" : l->name);
		return vs_fail(err, errcap, VL_EFORMAT,
		            "[log %s]: a log name is 1 to 64 of A-Z a-z 0-9 . _ - "
		            "(and not . or ..)",
		            shown);
	}
	snprintf(label, sizeof label, "[log %s]", l->name);
	int rc = check_values(l, log_keys, N_LOG_KEYS, label, err, errcap);
	if (rc != 0)
		return rc;
	rc = both_or_neither(l->syslog_tls_cert, l->syslog_tls_key, label, "syslog_tls_cert",
	                     "syslog_tls_key", err, errcap);
	if (rc != 0)
		return rc;
	if (l->syslog_tls == NULL && l->syslog_tls_cert != NULL)
		return vs_fail(err, errcap, VL_EFORMAT,
		            "%s syslog_tls_cert is set but syslog_tls is not (no listener uses it)",
		            label);
	return 0;
}

/* After deriving: a TLS listener has a certificate of its own or the
 * server's. */
static int check_log_tls(const vs_log_config *l, char *err, size_t errcap)
{
	if (l->syslog_tls != NULL && (l->syslog_tls_cert == NULL || l->syslog_tls_key == NULL))
		return vs_fail(err, errcap, VL_EFORMAT,
		            "[log %s] syslog_tls needs a certificate: set syslog_tls_cert and "
		            "syslog_tls_key, or [server] tls_cert and tls_key",
		            l->name);
	return 0;
}

struct path_use {
	const char *path;
	const char *log; /* NULL: [server] */
	const char *key;
};

/* No two logs with one name; no two of the token file, log directories
 * and key files at one path. */
static int check_unique(const vs_config *c, char *err, size_t errcap)
{
	char shown[SHOW_MAX + 4], who[VS_LOG_NAME_MAX + 32];
	for (size_t i = 0; i < c->n_logs; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->logs[i].name, c->logs[j].name) == 0)
				return vs_fail(err, errcap, VL_EFORMAT, "[log %s]: duplicate log",
				            c->logs[i].name);
	size_t np = 0;
	struct path_use *u = calloc(2 * c->n_logs + 1, sizeof *u);
	if (u == NULL)
		return vs_fail(err, errcap, VL_ENOMEM, "out of memory");
	u[np++] = (struct path_use){c->token_file, NULL, "token_file"};
	for (size_t i = 0; i < c->n_logs; i++) {
		u[np++] = (struct path_use){c->logs[i].dir, c->logs[i].name, "dir"};
		u[np++] = (struct path_use){c->logs[i].key, c->logs[i].name, "key"};
	}
	int rc = 0;
	for (size_t i = 0; i < np && rc == 0; i++)
		for (size_t j = 0; j < i && rc == 0; j++) {
			if (strcmp(u[i].path, u[j].path) != 0)
				continue;
			if (u[j].log == NULL)
				snprintf(who, sizeof who, "[server] %s", u[j].key);
			else
				snprintf(who, sizeof who, "[log %s] %s", u[j].log, u[j].key);
			show(shown, u[i].path);
			rc = vs_fail(err, errcap, VL_EFORMAT, "[log %s] %s = %s: the same path as %s",
			          u[i].log, u[i].key, shown, who);
		}
	free(u);
	return rc;
}

struct listener {
	int udp;
	struct sockaddr_storage ss;
	char who[VS_LOG_NAME_MAX + 32];
	const char *value;
};

static int is_any(const struct sockaddr_storage *a, int *v6)
{
	if (a->ss_family == AF_INET) {
		*v6 = 0;
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	*v6 = 1;
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

/* The IPv4 address of a (IPv4, or IPv4-mapped IPv6), in *v4; 0 if none. */
static int v4_of(const struct sockaddr_storage *a, uint32_t *v4)
{
	if (a->ss_family == AF_INET) {
		*v4 = ((const struct sockaddr_in *)a)->sin_addr.s_addr;
		return 1;
	}
	const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
	if (!IN6_IS_ADDR_V4MAPPED(x))
		return 0;
	memcpy(v4, x->s6_addr + 12, 4);
	return 1;
}

/* Could binding both a and b fail with EADDRINUSE? */
static int collide(const struct listener *a, const struct listener *b)
{
	int a6, b6;
	uint32_t a4 = 0, b4 = 0;
	if (a->udp != b->udp || port_of(&a->ss) == 0 || port_of(&a->ss) != port_of(&b->ss))
		return 0;
	int any_a = is_any(&a->ss, &a6), any_b = is_any(&b->ss, &b6);
	if ((any_a && a6) || (any_b && b6)) /* [::] takes IPv4 too, by default */
		return 1;
	int ha4 = v4_of(&a->ss, &a4), hb4 = v4_of(&b->ss, &b4);
	if (any_a || any_b) /* 0.0.0.0: every IPv4 address */
		return (any_a && hb4) || (any_b && ha4);
	if (ha4 && hb4)
		return a4 == b4;
	if (ha4 || hb4)
		return 0;
	return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
	              &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16) == 0;
}

static void add_listener(struct listener *ls, size_t *n, int udp, const char *value,
                         const char *who_section, const char *who_key)
{
	if (value == NULL)
		return;
	struct listener *l = &ls[*n];
	socklen_t len;
	if (vs_parse_addr(value, &l->ss, &len) != 0)
		return; /* reported by check_values */
	l->udp = udp;
	l->value = value;
	snprintf(l->who, sizeof l->who, "%s %s", who_section, who_key);
	(*n)++;
}

static int check_listeners(const vs_config *c, char *err, size_t errcap)
{
	char label[VS_LOG_NAME_MAX + 8], shown[SHOW_MAX + 4];
	struct listener *ls = calloc(3 * c->n_logs + 1, sizeof *ls);
	size_t n = 0;
	int rc = 0;
	if (ls == NULL)
		return vs_fail(err, errcap, VL_ENOMEM, "out of memory");
	add_listener(ls, &n, 0, c->listen, "[server]", "listen");
	for (size_t i = 0; i < c->n_logs; i++) {
		const vs_log_config *l = &c->logs[i];
		snprintf(label, sizeof label, "[log %s]", l->name);
		add_listener(ls, &n, 0, l->syslog_tcp, label, "syslog_tcp");
		add_listener(ls, &n, 1, l->syslog_udp, label, "syslog_udp");
		add_listener(ls, &n, 0, l->syslog_tls, label, "syslog_tls");
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		for (size_t j = 0; j < i && rc == 0; j++)
			if (collide(&ls[i], &ls[j])) {
				show(shown, ls[i].value);
				rc = vs_fail(err, errcap, VL_EFORMAT,
				          "%s = %s: the same address as %s = %s", ls[i].who, shown,
				          ls[j].who, ls[j].value);
			}
	free(ls);
	return rc;
}

int vs_config_finish(vs_config *c, char *err, size_t errcap)
{
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (c == NULL)
		return vs_fail(err, errcap, VL_EINVAL, "no configuration");
	if (c->data == NULL)
		return vs_fail(err, errcap, VL_EFORMAT, "[server] data: not set");
	if (c->listen == NULL)
		return vs_fail(err, errcap, VL_EFORMAT, "[server] listen: not set");
	if (c->n_logs == 0 || c->logs == NULL)
		return vs_fail(err, errcap, VL_EFORMAT, "no log: add a [log NAME] section");
	if (c->n_logs > VS_CONFIG_LOGS_MAX)
		return vs_fail(err, errcap, VL_ETOOBIG, "more than %d logs", VS_CONFIG_LOGS_MAX);
	int rc = check_server(c, err, errcap);
	for (size_t i = 0; i < c->n_logs && rc == 0; i++)
		rc = check_log(&c->logs[i], err, errcap);
	if (rc != 0)
		return rc;
	if (fill_derived(c) != 0)
		return vs_fail(err, errcap, VL_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_logs && rc == 0; i++)
		rc = check_log_tls(&c->logs[i], err, errcap);
	if (rc == 0)
		rc = check_unique(c, err, errcap);
	if (rc == 0)
		rc = check_listeners(c, err, errcap);
	return rc;
}
