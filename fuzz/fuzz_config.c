/*
 * fuzz_config.c — libFuzzer driver for the `vellum serve` configuration
 * (src/server/config.c): vs_config_defaults, vs_config_parse of the input,
 * vs_config_finish and vs_config_free, under LeakSanitizer.  Besides "no
 * crash, no leak", it checks that:
 *
 *   - an error names a line of the input and leaves the configuration as
 *     it was (the built-in defaults);
 *   - parsing the same text again on top of its own result changes
 *     nothing (keys replace, [log] sections replace the logs);
 *   - a finished configuration has every derived path and only values
 *     that parse: addresses, at least one log.
 *
 * The first line of the input is also given to the duration, size and
 * address parsers.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Build (needs libinih):
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Isrc -Isrc/server fuzz/fuzz_config.c src/server/config.c -linih
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config: %s\n", what);
		abort();
	}
}

static size_t count_lines(const char *text, size_t n)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	return lines + (n > 0 && text[n - 1] != '\n');
}

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int log_eq(const vs_log_config *a, const vs_log_config *b)
{
	return strcmp(a->name, b->name) == 0 && str_eq(a->dir, b->dir) && str_eq(a->key, b->key) &&
	       a->public_read == b->public_read && str_eq(a->syslog_tcp, b->syslog_tcp) &&
	       str_eq(a->syslog_udp, b->syslog_udp) && str_eq(a->syslog_tls, b->syslog_tls) &&
	       str_eq(a->syslog_tls_cert, b->syslog_tls_cert) &&
	       str_eq(a->syslog_tls_key, b->syslog_tls_key);
}

static int config_eq(const vs_config *a, const vs_config *b)
{
	if (!str_eq(a->data, b->data) || !str_eq(a->listen, b->listen) ||
	    !str_eq(a->token_file, b->token_file) || !str_eq(a->tls_cert, b->tls_cert) ||
	    !str_eq(a->tls_key, b->tls_key) ||
	    a->checkpoint_interval_ms != b->checkpoint_interval_ms ||
	    a->max_body_bytes != b->max_body_bytes ||
	    a->max_events_per_request != b->max_events_per_request ||
	    a->max_connections != b->max_connections ||
	    a->max_header_bytes != b->max_header_bytes ||
	    a->idle_timeout_ms != b->idle_timeout_ms ||
	    a->request_timeout_ms != b->request_timeout_ms ||
	    a->queue_max_events != b->queue_max_events ||
	    a->queue_max_bytes != b->queue_max_bytes ||
	    a->idempotency_keys != b->idempotency_keys || a->log_level != b->log_level ||
	    a->n_logs != b->n_logs)
		return 0;
	for (size_t i = 0; i < a->n_logs; i++)
		if (!log_eq(&a->logs[i], &b->logs[i]))
			return 0;
	return 1;
}

static void check_addr(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (s != NULL)
		check(vs_parse_addr(s, &ss, &len) == 0, "a finished address does not parse");
}

static void check_finished(const vs_config *c)
{
	check(c->data != NULL && c->listen != NULL && c->token_file != NULL, "a server path unset");
	check(c->n_logs >= 1 && c->n_logs <= VS_CONFIG_LOGS_MAX, "log count out of range");
	check_addr(c->listen);
	check(c->checkpoint_interval_ms >= 10 && c->checkpoint_interval_ms <= 3600000,
	      "checkpoint interval out of range");
	check(c->queue_max_events >= c->max_events_per_request, "queue smaller than a request");
	check((c->tls_cert == NULL) == (c->tls_key == NULL), "TLS cert without key");
	for (size_t i = 0; i < c->n_logs; i++) {
		const vs_log_config *l = &c->logs[i];
		check(l->dir != NULL && l->key != NULL, "a log path unset");
		check(l->name[0] != '\0' && strlen(l->name) <= VS_LOG_NAME_MAX, "bad log name");
		check_addr(l->syslog_tcp);
		check_addr(l->syslog_udp);
		check_addr(l->syslog_tls);
		check(l->syslog_tls == NULL ||
		          (l->syslog_tls_cert != NULL && l->syslog_tls_key != NULL),
		      "syslog over TLS without a certificate");
	}
}

/* The value parsers on the first line of the input, as a string. */
static void value_parsers(const char *text, size_t size)
{
	char line[256];
	size_t n = 0;
	while (n < size && n < sizeof line - 1 && text[n] != '\n' && text[n] != '\0')
		n++;
	memcpy(line, text, n);
	line[n] = '\0';
	uint64_t v;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = vs_parse_duration_ms(line, &v);
	check(rc == 0 || rc == VL_EFORMAT || rc == VL_ETOOBIG, "duration: unexpected error");
	rc = vs_parse_size(line, &v);
	check(rc == 0 || rc == VL_EFORMAT || rc == VL_ETOOBIG, "size: unexpected error");
	rc = vs_parse_addr(line, &ss, &len);
	check(rc == 0 || rc == VL_EFORMAT, "address: unexpected error");
	if (rc == 0)
		check(len <= sizeof ss && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6),
		      "address: bad family or length");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size heap copy: the parser must not read past it. */
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	value_parsers(text, size);

	vs_config c, defaults;
	char err[512] = "";
	check(vs_config_defaults(&c) == 0 && vs_config_defaults(&defaults) == 0, "defaults");
	int rc = vs_config_parse(text, size, &c, err, sizeof err);
	if (rc != 0) {
		check(rc == VL_EFORMAT || rc == VL_ETOOBIG || rc == VL_ENOMEM, "unexpected error");
		check(strncmp(err, "line ", 5) == 0, "an error names no line");
		size_t line = strtoul(err + 5, NULL, 10);
		check(line >= 1 && line <= count_lines(text, size),
		      "error names a line not in the input");
		check(config_eq(&c, &defaults), "a failed parse changed the configuration");
		goto done;
	}
	/* Again, on top of its own result: the same. */
	vs_config again;
	check(vs_config_defaults(&again) == 0, "defaults");
	check(vs_config_parse(text, size, &again, err, sizeof err) == 0, "second parse failed");
	check(vs_config_parse(text, size, &again, err, sizeof err) == 0, "third parse failed");
	check(config_eq(&c, &again), "parsing twice differs from once");
	vs_config_free(&again);

	rc = vs_config_finish(&c, err, sizeof err);
	if (rc == 0)
		check_finished(&c);
	else
		check((rc == VL_EFORMAT || rc == VL_ETOOBIG || rc == VL_ENOMEM) && err[0] != '\0',
		      "finish: an error without a message");
done:
	vs_config_free(&c);
	vs_config_free(&defaults);
	free(text);
	return 0;
}
