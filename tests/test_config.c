/*
 * test_config.c — the `vellum serve` configuration (src/server/config.c):
 * defaults, a full file, every class of error with its line number,
 * durations, sizes and addresses (overflow and IPv6 included), log
 * sections replacing the default log, and what vs_config_finish derives
 * and refuses.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every parser input is an exact-size heap copy (no NUL after the data),
 * so a read past the end is caught by AddressSanitizer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char *dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static int parse_n(const char *s, size_t n, vs_config *c, char *err, size_t cap)
{
	char *copy = dup_exact(s, n);
	int rc = vs_config_parse(copy, n, c, err, cap);
	free(copy);
	return rc;
}

static int parse(const char *s, vs_config *c, char *err, size_t cap)
{
	return parse_n(s, strlen(s), c, err, cap);
}

/* Defaults, then TEXT, which must parse. */
static void load_ok(const char *text, vs_config *c)
{
	char err[512];
	assert_int_equal(vs_config_defaults(c), 0);
	if (parse(text, c, err, sizeof err) != 0)
		fail_msg("%s\nfor:\n%s", err, text);
}

/* Defaults, then TEXT, which must fail with exactly the message WANT. */
static void expect_error(const char *text, int code, const char *want)
{
	vs_config c;
	char err[512] = "";
	assert_int_equal(vs_config_defaults(&c), 0);
	int rc = parse(text, &c, err, sizeof err);
	if (rc != code || strcmp(err, want) != 0)
		fail_msg("got %d '%s'\nwant %d '%s'\nfor:\n%s", rc, err, code, want, text);
	vs_config_free(&c);
}

/* Defaults, TEXT (must parse), finish (must fail with WANT). */
static void expect_finish_error(const char *text, const char *want)
{
	vs_config c;
	char err[512] = "";
	load_ok(text, &c);
	int rc = vs_config_finish(&c, err, sizeof err);
	if (rc != VL_EFORMAT || strcmp(err, want) != 0)
		fail_msg("got %d '%s'\nwant '%s'\nfor:\n%s", rc, err, want, text);
	vs_config_free(&c);
}

static void finish_ok(vs_config *c)
{
	char err[512];
	if (vs_config_finish(c, err, sizeof err) != 0)
		fail_msg("%s", err);
}

/* ------------------------------------------------------------------ */
/* defaults and good files                                             */

static void test_defaults(void **state)
{
	(void)state;
	vs_config c;
	assert_int_equal(vs_config_defaults(&c), 0);
	assert_string_equal(c.data, "./vellum-data");
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_null(c.token_file);
	assert_null(c.tls_cert);
	assert_null(c.tls_key);
	assert_int_equal(c.checkpoint_interval_ms, 1000);
	assert_int_equal(c.max_body_bytes, 16 << 20);
	assert_int_equal(c.max_events_per_request, 10000);
	assert_int_equal(c.max_connections, 1024);
	assert_int_equal(c.max_header_bytes, 16 << 10);
	assert_int_equal(c.idle_timeout_ms, 60000);
	assert_int_equal(c.request_timeout_ms, 30000);
	assert_int_equal(c.queue_max_events, 200000);
	assert_int_equal(c.queue_max_bytes, 64 << 20);
	assert_int_equal(c.idempotency_keys, 1000000);
	assert_int_equal(c.log_level, VS_LOG_INFO);
	assert_int_equal(c.n_logs, 1);
	assert_string_equal(c.logs[0].name, "default");
	assert_null(c.logs[0].dir);
	assert_null(c.logs[0].key);
	assert_int_equal(c.logs[0].public_read, 0);
	assert_null(c.logs[0].syslog_tcp);
	assert_null(c.logs[0].syslog_udp);
	assert_null(c.logs[0].syslog_tls);

	finish_ok(&c);
	assert_string_equal(c.token_file, "./vellum-data/tokens");
	assert_string_equal(c.logs[0].dir, "./vellum-data/default");
	assert_string_equal(c.logs[0].key, "./vellum-data/default.key");
	assert_null(c.logs[0].syslog_tls_cert);
	vs_config_free(&c);
	/* freeing twice is harmless; the structure is empty */
	vs_config_free(&c);
	assert_null(c.data);
	assert_int_equal(c.n_logs, 0);
	vs_config_free(NULL);
}

static const char full_file[] =
	"; vellum.ini\n"
	"[server]\n"
	"data = /srv/vellum            ; data directory\n"
	"listen = [::]:8443\n"
	"token_file = /etc/vellum/tokens\n"
	"tls_cert = /etc/vellum/cert.pem\n"
	"tls_key = /etc/vellum/key.pem\n"
	"checkpoint_interval = 250ms\n"
	"max_body_bytes = 64KiB\n"
	"max_events_per_request = 500\n"
	"max_connections = 4096\n"
	"max_header_bytes = 32KiB\n"
	"idle_timeout = 2m\n"
	"request_timeout = 10s\n"
	"queue_max_events = 1000\n"
	"queue_max_bytes = 1GiB\n"
	"idempotency_keys = 0\n"
	"log_level = debug\n"
	"\n"
	"# the audit log\n"
	"[log audit]\n"
	"dir = /var/lib/vellum/audit\n"
	"key = /etc/vellum/audit.key\n"
	"public_read = true\n"
	"syslog_tcp = 127.0.0.1:6514\n"
	"syslog_udp = 127.0.0.1:6514\n"
	"syslog_tls = 0.0.0.0:6515\n"
	"syslog_tls_cert = /etc/vellum/syslog.pem\n"
	"syslog_tls_key = /etc/vellum/syslog.key\n"
	"\n"
	"[log ops.v2]\n"
	"public_read = no\n";

static void test_full_file(void **state)
{
	(void)state;
	vs_config c;
	load_ok(full_file, &c);
	finish_ok(&c);
	assert_string_equal(c.data, "/srv/vellum");
	assert_string_equal(c.listen, "[::]:8443");
	assert_string_equal(c.token_file, "/etc/vellum/tokens");
	assert_string_equal(c.tls_cert, "/etc/vellum/cert.pem");
	assert_string_equal(c.tls_key, "/etc/vellum/key.pem");
	assert_int_equal(c.checkpoint_interval_ms, 250);
	assert_int_equal(c.max_body_bytes, 65536);
	assert_int_equal(c.max_events_per_request, 500);
	assert_int_equal(c.max_connections, 4096);
	assert_int_equal(c.max_header_bytes, 32768);
	assert_int_equal(c.idle_timeout_ms, 120000);
	assert_int_equal(c.request_timeout_ms, 10000);
	assert_int_equal(c.queue_max_events, 1000);
	assert_int_equal(c.queue_max_bytes, 1u << 30);
	assert_int_equal(c.idempotency_keys, 0);
	assert_int_equal(c.log_level, VS_LOG_DEBUG);
	assert_int_equal(c.n_logs, 2);
	const vs_log_config *a = &c.logs[0], *o = &c.logs[1];
	assert_string_equal(a->name, "audit");
	assert_string_equal(a->dir, "/var/lib/vellum/audit");
	assert_string_equal(a->key, "/etc/vellum/audit.key");
	assert_int_equal(a->public_read, 1);
	assert_string_equal(a->syslog_tcp, "127.0.0.1:6514");
	assert_string_equal(a->syslog_udp, "127.0.0.1:6514");
	assert_string_equal(a->syslog_tls, "0.0.0.0:6515");
	assert_string_equal(a->syslog_tls_cert, "/etc/vellum/syslog.pem");
	assert_string_equal(a->syslog_tls_key, "/etc/vellum/syslog.key");
	assert_string_equal(o->name, "ops.v2");
	assert_string_equal(o->dir, "/srv/vellum/ops.v2");
	assert_string_equal(o->key, "/srv/vellum/ops.v2.key");
	assert_int_equal(o->public_read, 0);
	assert_null(o->syslog_tcp);
	assert_null(o->syslog_tls_cert);
	vs_config_free(&c);
}

static void test_comments_and_layout(void **state)
{
	(void)state;
	vs_config c;
	/* BOM, CRLF, ; and # comments (whole-line and after a blank),
	 * indented keys and sections, blanks around '=', no final newline. */
	load_ok("\xef\xbb\xbf# top\r\n"
	        "  [server]   ; the server\r\n"
	        "\tlisten=127.0.0.1:9000 # inline hash comment\r\n"
	        "    data   =   /d;x\r\n"
	        "; max_connections = 5\r\n"
	        "\r\n"
	        "  [ log  a ]\r\n"
	        "   public_read = on",
	        &c);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_string_equal(c.data, "/d;x"); /* ';' without a blank before it is data */
	assert_int_equal(c.max_connections, 1024);
	assert_int_equal(c.n_logs, 1);
	assert_string_equal(c.logs[0].name, "a");
	assert_int_equal(c.logs[0].public_read, 1);
	vs_config_free(&c);
}

static void test_logs_replace_default(void **state)
{
	(void)state;
	vs_config c;
	/* No [log] section: the default log stays. */
	load_ok("[server]\nmax_connections = 7\n", &c);
	assert_int_equal(c.n_logs, 1);
	assert_string_equal(c.logs[0].name, "default");
	vs_config_free(&c);
	/* Any [log] section replaces it, wherever it appears. */
	load_ok("[log one]\n[server]\nlisten = 127.0.0.1:1\n[log two]\n[log three]\n", &c);
	assert_int_equal(c.n_logs, 3);
	assert_string_equal(c.logs[0].name, "one");
	assert_string_equal(c.logs[1].name, "two");
	assert_string_equal(c.logs[2].name, "three");
	finish_ok(&c);
	assert_string_equal(c.logs[2].dir, "./vellum-data/three");
	vs_config_free(&c);
	/* A log may be called "default" and configured. */
	load_ok("[log default]\npublic_read = true\n", &c);
	assert_int_equal(c.n_logs, 1);
	assert_int_equal(c.logs[0].public_read, 1);
	vs_config_free(&c);
}

static void test_parse_layers(void **state)
{
	(void)state;
	/* A second parse goes on top of the first; the first text's logs
	 * are replaced only if the second has [log] sections. */
	vs_config c;
	char err[256];
	load_ok("[server]\nmax_connections = 7\n[log a]\n[log b]\n", &c);
	assert_int_equal(parse("[server]\nidle_timeout = 5s\n", &c, err, sizeof err), 0);
	assert_int_equal(c.max_connections, 7);
	assert_int_equal(c.idle_timeout_ms, 5000);
	assert_int_equal(c.n_logs, 2);
	assert_int_equal(parse("[log c]\n", &c, err, sizeof err), 0);
	assert_int_equal(c.n_logs, 1);
	assert_string_equal(c.logs[0].name, "c");
	/* empty text: nothing changes */
	assert_int_equal(parse_n("", 0, &c, err, sizeof err), 0);
	assert_int_equal(c.n_logs, 1);
	vs_config_free(&c);
}

static void test_empty_value_unsets(void **state)
{
	(void)state;
	vs_config c;
	load_ok("[server]\ntls_cert = a\ntls_key = b\n", &c);
	assert_string_equal(c.tls_cert, "a");
	char err[256];
	assert_int_equal(parse("[server]\ntls_cert =\ntls_key =   ; none\n", &c, err, sizeof err),
	                 0);
	assert_null(c.tls_cert);
	assert_null(c.tls_key);
	vs_config_free(&c);
	expect_error("[server]\ndata =\n", VL_EFORMAT,
	             "line 2: [server] data = : must not be empty");
	expect_error("[server]\nlisten = ; none\n", VL_EFORMAT,
	             "line 2: [server] listen = : must not be empty");
}

static void test_long_log_name(void **state)
{
	(void)state;
	/* libinih would cut section names at 50 characters; 64 survive. */
	char name[65], text[128], want[160];
	memset(name, 'n', 64);
	name[64] = '\0';
	memcpy(name + 50, "-tail.", 6);
	snprintf(text, sizeof text, "[log %s]\n", name);
	vs_config c;
	load_ok(text, &c);
	assert_string_equal(c.logs[0].name, name);
	vs_config_free(&c);
	snprintf(text, sizeof text, "\n[log %sX]\n", name);
	/* (the name is shown cut at 64 characters) */
	snprintf(want, sizeof want,
	         "line 2: [log %s...]: a log name is 1 to 64 of A-Z a-z 0-9 . _ - "
	         "(and not . or ..)",
	         name);
	expect_error(text, VL_EFORMAT, want);
}

/* ------------------------------------------------------------------ */
/* errors                                                              */

static void test_error_unknown_section(void **state)
{
	(void)state;
	expect_error("[server]\n\n[servers]\n", VL_EFORMAT,
	             "line 3: [servers]: unknown section (use [server] or [log NAME])");
	expect_error("[Server]\n", VL_EFORMAT,
	             "line 1: [Server]: unknown section (use [server] or [log NAME])");
	expect_error("[]\n", VL_EFORMAT,
	             "line 1: []: unknown section (use [server] or [log NAME])");
	expect_error("[logs x]\n", VL_EFORMAT,
	             "line 1: [logs x]: unknown section (use [server] or [log NAME])");
	/* an empty unknown section is still an error */
	expect_error("[server]\n[extra]\n", VL_EFORMAT,
	             "line 2: [extra]: unknown section (use [server] or [log NAME])");
	expect_error("\n[server\n", VL_EFORMAT, "line 2: a section line must end in ']'");
	expect_error("[server] x\n", VL_EFORMAT, "line 1: a section line must end in ']'");
}

static void test_error_log_section(void **state)
{
	(void)state;
	const char *want = "(and not . or ..)";
	char buf[256];
	static const char *const bad[] = {"..", ".", "a/b", "a b", "x:y", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[64];
		snprintf(text, sizeof text, "# c\n[log %s]\n", bad[i]);
		vs_config c;
		char err[256];
		assert_int_equal(vs_config_defaults(&c), 0);
		assert_int_equal(parse(text, &c, err, sizeof err), VL_EFORMAT);
		assert_memory_equal(err, "line 2: [log ", 13);
		assert_non_null(strstr(err, want));
		vs_config_free(&c);
	}
	expect_error("[log]\n", VL_EFORMAT,
	             "line 1: [log]: a log section needs a name: [log NAME]");
	expect_error("[log   ]\n", VL_EFORMAT,
	             "line 1: [log]: a log section needs a name: [log NAME]");
	snprintf(buf, sizeof buf, "[log a]\n[server]\n[log b]\n\n[log a]\n");
	expect_error(buf, VL_EFORMAT, "line 5: [log a]: duplicate log (first on line 1)");
	expect_error("[server]\nlisten = 127.0.0.1:1\n[server]\n", VL_EFORMAT,
	             "line 3: [server]: duplicate section (first on line 1)");
}

static void test_error_unknown_key(void **state)
{
	(void)state;
	expect_error("[server]\nmax_body = 1\n", VL_EFORMAT,
	             "line 2: [server] max_body: unknown key");
	expect_error("[log a]\ndata = x\n", VL_EFORMAT, "line 2: [log a] data: unknown key");
	expect_error("[server]\npublic_read = true\n", VL_EFORMAT,
	             "line 2: [server] public_read: unknown key");
	expect_error("[server]\nListen = 127.0.0.1:1\n", VL_EFORMAT,
	             "line 2: [server] Listen: unknown key");
	expect_error("# comment\nlisten = 127.0.0.1:1\n", VL_EFORMAT,
	             "line 2: listen: key before any section (start with [server] or [log NAME])");
	expect_error("[server]\n= 5\n", VL_EFORMAT, "line 2: [server] no key before '='");
	expect_error("[server]\nlisten\n", VL_EFORMAT, "line 2: [server] expected 'key = value'");
	expect_error("[server]\nlisten: 127.0.0.1:1\n", VL_EFORMAT,
	             "line 2: [server] expected 'key = value'");
	expect_error("stray\n", VL_EFORMAT, "line 1: expected 'key = value'");
}

static void test_error_duplicate_key(void **state)
{
	(void)state;
	expect_error("[server]\nidle_timeout = 1s\n# x\nidle_timeout = 2s\n", VL_EFORMAT,
	             "line 4: [server] idle_timeout: duplicate key (first on line 2)");
	expect_error("[log a]\ndir = x\n[log b]\ndir = y\n[log c]\ndir = z\ndir = w\n", VL_EFORMAT,
	             "line 7: [log c] dir: duplicate key (first on line 6)");
	/* The same key in two logs is fine. */
	vs_config c;
	load_ok("[log a]\ndir = x\n[log b]\ndir = y\n", &c);
	assert_string_equal(c.logs[1].dir, "y");
	vs_config_free(&c);
}

static void test_error_bad_values(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} cases[] = {
	    {"max_body_bytes = 12XB",
	     "[server] max_body_bytes = 12XB: not a size (use 1024, 64KiB, 16MiB)"},
	    {"max_body_bytes = 16MB",
	     "[server] max_body_bytes = 16MB: not a size (use 1024, 64KiB, 16MiB)"},
	    {"max_body_bytes = -1",
	     "[server] max_body_bytes = -1: not a size (use 1024, 64KiB, 16MiB)"},
	    {"max_body_bytes = 99999999999999999999GiB",
	     "[server] max_body_bytes = 99999999999999999999GiB: too large"},
	    {"max_body_bytes = 512", "[server] max_body_bytes = 512: out of range (1KiB to 1GiB)"},
	    {"max_body_bytes = 2GiB",
	     "[server] max_body_bytes = 2GiB: out of range (1KiB to 1GiB)"},
	    {"checkpoint_interval = 5ms",
	     "[server] checkpoint_interval = 5ms: out of range (10ms to 1h)"},
	    {"checkpoint_interval = 61m",
	     "[server] checkpoint_interval = 61m: out of range (10ms to 1h)"},
	    {"checkpoint_interval = 1.5s",
	     "[server] checkpoint_interval = 1.5s: not a duration (use 250ms, 1s, 2m)"},
	    {"idle_timeout = soon",
	     "[server] idle_timeout = soon: not a duration (use 250ms, 1s, 2m)"},
	    {"idle_timeout = 0", "[server] idle_timeout = 0: out of range (1s to 24h)"},
	    {"max_connections = 0", "[server] max_connections = 0: out of range (1 to 100000)"},
	    {"max_connections = 1k", "[server] max_connections = 1k: not a number"},
	    {"max_connections = 1KiB", "[server] max_connections = 1KiB: not a number"},
	    {"max_events_per_request = 18446744073709551616",
	     "[server] max_events_per_request = 18446744073709551616: too large"},
	    {"log_level = verbose",
	     "[server] log_level = verbose: not a level (use debug, info, warn or error)"},
	    {"listen = localhost",
	     "[server] listen = localhost: not an address (use 127.0.0.1:8080 or [::1]:8080)"},
	    {"listen = ::1:80",
	     "[server] listen = ::1:80: not an address (use 127.0.0.1:8080 or [::1]:8080)"},
	    {"listen = example.com:80",
	     "[server] listen = example.com:80: not an address (use 127.0.0.1:8080 or [::1]:8080)"},
	    {"data = /a\x01z", "[server] data = /a?z: has a control character"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256], want[512];
		snprintf(text, sizeof text, "# c\n[server]\n%s\n", cases[i].line);
		snprintf(want, sizeof want, "line 3: %s", cases[i].want);
		int code = strstr(cases[i].want, "too large") ? VL_ETOOBIG : VL_EFORMAT;
		expect_error(text, code, want);
	}
	expect_error("[log a]\npublic_read = maybe\n", VL_EFORMAT,
	             "line 2: [log a] public_read = maybe: not a boolean (use true or false)");
	expect_error("[log a]\nsyslog_udp = 127.0.0.1:65536\n", VL_EFORMAT,
	             "line 2: [log a] syslog_udp = 127.0.0.1:65536: not an address (use "
	             "127.0.0.1:8080 or [::1]:8080)");
}

static void test_error_value_shown_safely(void **state)
{
	(void)state;
	/* Long values are cut, and bytes that are not printable ASCII shown
	 * as '?'. */
	char text[256], want[256];
	char v[101];
	memset(v, '9', 100);
	v[100] = '\0';
	v[0] = 'x';
	snprintf(text, sizeof text, "[server]\nmax_connections = %s\n", v);
	snprintf(want, sizeof want, "line 2: [server] max_connections = %.64s...: not a number", v);
	expect_error(text, VL_EFORMAT, want);
	expect_error("[server]\nlog_level = \xff\x1b[31m\n", VL_EFORMAT,
	             "line 2: [server] log_level = ??[31m: not a level (use debug, info, warn or "
	             "error)");
}

static void test_error_nul_and_long_line(void **state)
{
	(void)state;
	vs_config c;
	char err[256];
	assert_int_equal(vs_config_defaults(&c), 0);
	assert_int_equal(parse_n("[server]\n# a\0b\n", 15, &c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "line 2: NUL byte");
	/* A line longer than libinih's buffer is refused, not split. */
	char text[512];
	memset(text, 0, sizeof text);
	strcpy(text, "[server]\ndata = /");
	memset(text + strlen(text), 'x', 300);
	strcat(text, "\n");
	assert_int_equal(parse(text, &c, err, sizeof err), VL_ETOOBIG);
	assert_string_equal(err, "line 2: [server] line too long "
	                         "(at most 199 characters without comments)");
	/* 199 characters are the most that fit. */
	for (size_t n = 198; n <= 200; n++) {
		memset(text, 0, sizeof text);
		strcpy(text, "[server]\n  data = /");
		memset(text + strlen(text), 'x', n - strlen("data = /"));
		strcat(text, "   \n");
		int rc = parse(text, &c, err, sizeof err);
		assert_int_equal(rc, n <= 199 ? 0 : VL_ETOOBIG);
		if (rc == 0)
			assert_int_equal(strlen(c.data), n - strlen("data = "));
	}
	/* ...but a long comment is fine. */
	memset(text, 0, sizeof text);
	strcpy(text, "[server]\ndata = /d ; ");
	memset(text + strlen(text), 'x', 400);
	strcat(text, "\n# ");
	memset(text + strlen(text), 'y', 60);
	assert_int_equal(parse(text, &c, err, sizeof err), 0);
	assert_string_equal(c.data, "/d");
	/* failures did not touch the configuration */
	assert_string_equal(c.listen, "127.0.0.1:8080");
	vs_config_free(&c);
}

static void test_error_leaves_config_unchanged(void **state)
{
	(void)state;
	vs_config c;
	char err[256];
	load_ok("[server]\nmax_connections = 7\n[log a]\ndir = /x\n", &c);
	assert_int_equal(parse("[server]\nmax_connections = 9\nlisten = 127.0.0.1:1\n[log b]\n"
	                       "bogus = 1\n",
	                       &c, err, sizeof err),
	                 VL_EFORMAT);
	assert_string_equal(err, "line 5: [log b] bogus: unknown key");
	assert_int_equal(c.max_connections, 7);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.n_logs, 1);
	assert_string_equal(c.logs[0].name, "a");
	assert_string_equal(c.logs[0].dir, "/x");
	vs_config_free(&c);
}

static void test_error_args(void **state)
{
	(void)state;
	vs_config c;
	char err[256];
	assert_int_equal(vs_config_defaults(&c), 0);
	assert_int_equal(vs_config_parse(NULL, 1, &c, err, sizeof err), VL_EINVAL);
	assert_int_equal(vs_config_parse("", 0, NULL, err, sizeof err), VL_EINVAL);
	assert_int_equal(vs_config_parse(NULL, 0, &c, NULL, 0), 0);
	/* a small error buffer is fine */
	assert_int_equal(parse("[x]\n", &c, err, 8), VL_EFORMAT);
	assert_string_equal(err, "line 1:");
	/* more than the largest file */
	char *big = malloc(VS_CONFIG_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '\n', VS_CONFIG_FILE_MAX + 1);
	assert_int_equal(vs_config_parse(big, VS_CONFIG_FILE_MAX + 1, &c, err, sizeof err),
	                 VL_ETOOBIG);
	assert_int_equal(vs_config_parse(big, VS_CONFIG_FILE_MAX, &c, err, sizeof err), 0);
	free(big);
	assert_int_equal(vs_config_finish(NULL, err, sizeof err), VL_EINVAL);
	assert_int_equal(vs_config_defaults(NULL), VL_EINVAL);
	vs_config_free(&c);
}

static void test_too_many_logs(void **state)
{
	(void)state;
	size_t cap = (VS_CONFIG_LOGS_MAX + 1) * 16 + 1;
	char *text = calloc(1, cap);
	assert_non_null(text);
	size_t len = 0;
	for (int i = 0; i < VS_CONFIG_LOGS_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "[log l%d]\n", i);
	vs_config c;
	load_ok(text, &c);
	assert_int_equal(c.n_logs, VS_CONFIG_LOGS_MAX);
	finish_ok(&c);
	assert_string_equal(c.logs[999].key, "./vellum-data/l999.key");
	vs_config_free(&c);
	snprintf(text + len, cap - len, "[log extra]\n");
	expect_error(text, VL_ETOOBIG, "line 1001: more than 1000 [log NAME] sections");
	free(text);
}

/* ------------------------------------------------------------------ */
/* value types                                                         */

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		uint64_t ms;
	} cases[] = {
	    {"250ms", 0, 250},
	    {"1s", 0, 1000},
	    {"2m", 0, 120000},
	    {"1h", 0, 3600000},
	    {"30", 0, 30000},
	    {"0", 0, 0},
	    {"0ms", 0, 0},
	    {"007s", 0, 7000},
	    {"10 ms", 0, 10},
	    {"18446744073709551615ms", 0, UINT64_MAX},
	    {"18446744073709551616ms", VL_ETOOBIG, 0},
	    {"18446744073709551s", 0, UINT64_C(18446744073709551000)},
	    {"18446744073709552s", VL_ETOOBIG, 0},
	    {"99999999999999999999h", VL_ETOOBIG, 0},
	    {"99999999999999999999x", VL_EFORMAT, 0},
	    {"", VL_EFORMAT, 0},
	    {"s", VL_EFORMAT, 0},
	    {"ms", VL_EFORMAT, 0},
	    {"1.5s", VL_EFORMAT, 0},
	    {"-1s", VL_EFORMAT, 0},
	    {"+1s", VL_EFORMAT, 0},
	    {"1S", VL_EFORMAT, 0},
	    {"1sec", VL_EFORMAT, 0},
	    {"1d", VL_EFORMAT, 0},
	    {"1s ", VL_EFORMAT, 0},
	    {"1 ", VL_EFORMAT, 0},
	    {" 1s", VL_EFORMAT, 0},
	    {"1m30s", VL_EFORMAT, 0},
	    {"0x10", VL_EFORMAT, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t v = 12345;
		int rc = vs_parse_duration_ms(cases[i].s, &v);
		if (rc != cases[i].rc)
			fail_msg("'%s': got %d, want %d", cases[i].s, rc, cases[i].rc);
		assert_int_equal(v, rc == 0 ? cases[i].ms : 12345);
	}
	uint64_t v;
	assert_int_equal(vs_parse_duration_ms(NULL, &v), VL_EINVAL);
	assert_int_equal(vs_parse_duration_ms("1s", NULL), VL_EINVAL);
}

static void test_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		uint64_t n;
	} cases[] = {
	    {"1024", 0, 1024},
	    {"0", 0, 0},
	    {"1B", 0, 1},
	    {"64KiB", 0, 65536},
	    {"16MiB", 0, 16777216},
	    {"1GiB", 0, 1073741824},
	    {"1TiB", 0, UINT64_C(1099511627776)},
	    {"16 MiB", 0, 16777216},
	    {"16777215TiB", 0, UINT64_C(16777215) << 40},
	    {"16777216TiB", VL_ETOOBIG, 0},
	    {"17179869183GiB", 0, UINT64_C(17179869183) << 30},
	    {"17179869184GiB", VL_ETOOBIG, 0},
	    {"18446744073709551615", 0, UINT64_MAX},
	    {"18446744073709551616", VL_ETOOBIG, 0},
	    {"99999999999999999999GiB", VL_ETOOBIG, 0},
	    {"999999999999999999999999999999999999", VL_ETOOBIG, 0},
	    {"99999999999999999999XB", VL_EFORMAT, 0},
	    {"12XB", VL_EFORMAT, 0},
	    {"16MB", VL_EFORMAT, 0},
	    {"16M", VL_EFORMAT, 0},
	    {"16mib", VL_EFORMAT, 0},
	    {"KiB", VL_EFORMAT, 0},
	    {"", VL_EFORMAT, 0},
	    {"1.5MiB", VL_EFORMAT, 0},
	    {"-1", VL_EFORMAT, 0},
	    {"1 2", VL_EFORMAT, 0},
	    {"1KiB ", VL_EFORMAT, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t v = 12345;
		int rc = vs_parse_size(cases[i].s, &v);
		if (rc != cases[i].rc)
			fail_msg("'%s': got %d, want %d", cases[i].s, rc, cases[i].rc);
		assert_int_equal(v, rc == 0 ? cases[i].n : 12345);
	}
}

static void test_addresses(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(vs_parse_addr("127.0.0.1:8080", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
	assert_int_equal(ntohs(v4->sin_port), 8080);
	assert_string_equal(inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf), "127.0.0.1");

	assert_int_equal(vs_parse_addr("localhost:80", &ss, &len), 0);
	assert_string_equal(inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf), "127.0.0.1");
	assert_int_equal(ntohs(v4->sin_port), 80);

	assert_int_equal(vs_parse_addr("0.0.0.0:0", &ss, &len), 0);
	assert_int_equal(ntohs(v4->sin_port), 0);
	assert_int_equal(vs_parse_addr("255.255.255.255:65535", &ss, &len), 0);
	assert_int_equal(ntohs(v4->sin_port), 65535);

	static const char *const v6[][2] = {
	    {"[::1]:8443", "::1"},
	    {"[::]:1", "::"},
	    {"[fe80::1:2]:7", "fe80::1:2"},
	    {"[2001:db8::ff00:42:8329]:443", "2001:db8::ff00:42:8329"},
	    {"[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1"},
	    {"[2001:0db8:0000:0000:0000:0000:0000:0001]:9", "2001:db8::1"},
	};
	for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
		assert_int_equal(vs_parse_addr(v6[i][0], &ss, &len), 0);
		assert_int_equal(ss.ss_family, AF_INET6);
		assert_int_equal(len, sizeof(struct sockaddr_in6));
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		assert_string_equal(inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf), v6[i][1]);
	}

	static const char *const bad[] = {
	    "",
	    ":80",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:65536",
	    "127.0.0.1:99999999999",
	    "127.0.0.1:-1",
	    "127.0.0.1:+80",
	    "127.0.0.1:80 ",
	    "127.0.0.1:8o",
	    "127.0.0.1 :80",
	    "127.1:80",
	    "127.0.0.01:80",
	    "256.0.0.1:80",
	    "1.2.3.4.5:80",
	    "example.com:80",
	    "LOCALHOST:80",
	    "::1:80",
	    "[::1]",
	    "[::1]80",
	    "[::1]:",
	    "[::1:80",
	    "[]:80",
	    "[127.0.0.1]:80",
	    "[localhost]:80",
	    "[fe80::1%eth0]:80",
	    "[:::1]:80",
	    "[::1]:80:80",
	    "[0000:0000:0000:0000:0000:0000:0000:0000:0000]:80",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ss.ss_family = 12345;
		if (vs_parse_addr(bad[i], &ss, &len) != VL_EFORMAT)
			fail_msg("'%s' parsed", bad[i]);
		assert_int_equal(ss.ss_family, 12345);
	}
	assert_int_equal(vs_parse_addr(NULL, &ss, &len), VL_EINVAL);
}

static void test_ipv6_in_file(void **state)
{
	(void)state;
	vs_config c;
	load_ok("[server]\nlisten = [::1]:8443 ; loopback\n[log a]\nsyslog_tcp = [::1]:6514\n"
	        "syslog_udp = [::]:6514\n",
	        &c);
	finish_ok(&c);
	assert_string_equal(c.listen, "[::1]:8443");
	assert_string_equal(c.logs[0].syslog_tcp, "[::1]:6514");
	assert_string_equal(c.logs[0].syslog_udp, "[::]:6514");
	vs_config_free(&c);
}

static void test_log_levels(void **state)
{
	(void)state;
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		char text[64];
		snprintf(text, sizeof text, "[server]\nlog_level = %s\n", names[i]);
		vs_config c;
		load_ok(text, &c);
		assert_int_equal(c.log_level, i);
		assert_string_equal(vs_log_level_name(i), names[i]);
		vs_config_free(&c);
	}
	assert_string_equal(vs_log_level_name(4), "?");
	assert_string_equal(vs_log_level_name(-1), "?");
}

/* ------------------------------------------------------------------ */
/* finish                                                              */

static void test_finish_derived_paths(void **state)
{
	(void)state;
	vs_config c;
	load_ok("[server]\ndata = /srv/v/\n[log a]\n[log b]\ndir = /elsewhere/b\n", &c);
	/* a command-line override of data after parsing */
	assert_int_equal(vs_config_set(&c.data, "/override"), 0);
	finish_ok(&c);
	assert_string_equal(c.token_file, "/override/tokens");
	assert_string_equal(c.logs[0].dir, "/override/a");
	assert_string_equal(c.logs[0].key, "/override/a.key");
	assert_string_equal(c.logs[1].dir, "/elsewhere/b");
	assert_string_equal(c.logs[1].key, "/override/b.key");
	vs_config_free(&c);
	/* A trailing '/' on data is not doubled. */
	load_ok("[server]\ndata = /srv/v/\n", &c);
	finish_ok(&c);
	assert_string_equal(c.token_file, "/srv/v/tokens");
	assert_string_equal(c.logs[0].dir, "/srv/v/default");
	vs_config_free(&c);
}

static void test_finish_overrides(void **state)
{
	(void)state;
	vs_config c;
	char err[256];
	load_ok("", &c);
	assert_int_equal(vs_config_set(&c.listen, "[::1]:9"), 0);
	finish_ok(&c);
	assert_string_equal(c.listen, "[::1]:9");
	vs_config_free(&c);
	load_ok("", &c);
	assert_int_equal(vs_config_set(&c.listen, "nowhere"), 0);
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(
	    err, "[server] listen = nowhere: not an address (use 127.0.0.1:8080 or [::1]:8080)");
	vs_config_free(&c);
	load_ok("", &c);
	assert_int_equal(vs_config_set(&c.data, ""), 0); /* "" unsets */
	assert_null(c.data);
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "[server] data: not set");
	assert_int_equal(vs_config_set(NULL, "x"), VL_EINVAL);
	vs_config_free(&c);
}

static void test_finish_tls(void **state)
{
	(void)state;
	expect_finish_error("[server]\ntls_cert = /c.pem\n",
	                    "[server] tls_cert is set but tls_key is not (set both or neither)");
	expect_finish_error("[server]\ntls_key = /k.pem\n",
	                    "[server] tls_key is set but tls_cert is not (set both or neither)");
	expect_finish_error("[log a]\nsyslog_tls = 127.0.0.1:6515\n",
	                    "[log a] syslog_tls needs a certificate: set syslog_tls_cert and "
	                    "syslog_tls_key, or [server] tls_cert and tls_key");
	expect_finish_error("[log a]\nsyslog_tls = 127.0.0.1:6515\nsyslog_tls_key = /k\n",
	                    "[log a] syslog_tls_key is set but syslog_tls_cert is not (set both or "
	                    "neither)");
	expect_finish_error("[log a]\nsyslog_tls_cert = /c\nsyslog_tls_key = /k\n",
	                    "[log a] syslog_tls_cert is set but syslog_tls is not "
	                    "(no listener uses it)");
	/* The server's certificate is the default for syslog over TLS. */
	vs_config c;
	load_ok("[server]\ntls_cert = /c.pem\ntls_key = /k.pem\n[log a]\nsyslog_tls = "
	        "127.0.0.1:6515\n[log b]\nsyslog_tls = 127.0.0.1:6516\nsyslog_tls_cert = /b.pem\n"
	        "syslog_tls_key = /b.key\n[log c]\n",
	        &c);
	finish_ok(&c);
	assert_string_equal(c.logs[0].syslog_tls_cert, "/c.pem");
	assert_string_equal(c.logs[0].syslog_tls_key, "/k.pem");
	assert_string_equal(c.logs[1].syslog_tls_cert, "/b.pem");
	assert_string_equal(c.logs[1].syslog_tls_key, "/b.key");
	assert_null(c.logs[2].syslog_tls_cert); /* no TLS listener, no certificate */
	vs_config_free(&c);
}

static void test_finish_listeners(void **state)
{
	(void)state;
	expect_finish_error("[log a]\nsyslog_tcp = 127.0.0.1:8080\n",
	                    "[log a] syslog_tcp = 127.0.0.1:8080: the same address as [server] "
	                    "listen = 127.0.0.1:8080");
	expect_finish_error("[log a]\nsyslog_tcp = 0.0.0.0:8080\n",
	                    "[log a] syslog_tcp = 0.0.0.0:8080: the same address as "
	                    "[server] listen = 127.0.0.1:8080");
	expect_finish_error("[log a]\nsyslog_tcp = localhost:8080\n",
	                    "[log a] syslog_tcp = localhost:8080: the same address as [server] "
	                    "listen = 127.0.0.1:8080");
	expect_finish_error("[log a]\nsyslog_tls = [::]:8080\n"
	                    "syslog_tls_cert = /c\nsyslog_tls_key = /k\n",
	                    "[log a] syslog_tls = [::]:8080: the same address as [server] listen = "
	                    "127.0.0.1:8080");
	expect_finish_error("[log a]\nsyslog_tcp = [::ffff:127.0.0.1]:8080\n",
	                    "[log a] syslog_tcp = [::ffff:127.0.0.1]:8080: the same address as "
	                    "[server] listen = 127.0.0.1:8080");
	expect_finish_error("[log a]\nsyslog_udp = 127.0.0.1:514\n[log b]\nsyslog_udp = "
	                    "0.0.0.0:514\n",
	                    "[log b] syslog_udp = 0.0.0.0:514: the same address as [log a] "
	                    "syslog_udp = 127.0.0.1:514");
	expect_finish_error("[server]\nlisten = [::1]:80\n[log a]\nsyslog_tcp = [::1]:80\n",
	                    "[log a] syslog_tcp = [::1]:80: the same address as [server] listen = "
	                    "[::1]:80");
	/* No collision: UDP and TCP on one port, other ports, other
	 * addresses, 0.0.0.0 and an IPv6 address, port 0. */
	vs_config c;
	load_ok("[server]\nlisten = 127.0.0.1:0\n[log a]\nsyslog_tcp = 127.0.0.1:6514\n"
	        "syslog_udp = 127.0.0.1:6514\nsyslog_tls = 127.0.0.2:6514\n"
	        "syslog_tls_cert = /c\nsyslog_tls_key = /k\n[log b]\nsyslog_tcp = 0.0.0.0:7000\n"
	        "syslog_udp = [::1]:6514\n[log c]\nsyslog_tcp = [::1]:7000\nsyslog_udp = "
	        "127.0.0.1:0\n[log d]\nsyslog_tcp = 127.0.0.1:0\n",
	        &c);
	finish_ok(&c);
	vs_config_free(&c);
}

static void test_finish_paths_unique(void **state)
{
	(void)state;
	expect_finish_error("[log tokens]\n",
	                    "[log tokens] dir = ./vellum-data/tokens: the same path as [server] "
	                    "token_file");
	expect_finish_error("[log a]\n[log a.key]\n",
	                    "[log a.key] dir = ./vellum-data/a.key: the same path as [log a] key");
	expect_finish_error("[log a]\ndir = /x\n[log b]\ndir = /x\n",
	                    "[log b] dir = /x: the same path as [log a] dir");
	expect_finish_error("[log a]\nkey = /x\n[log b]\nkey = /x\n",
	                    "[log b] key = /x: the same path as [log a] key");
}

static void test_finish_limits(void **state)
{
	(void)state;
	expect_finish_error("[server]\nmax_events_per_request = 5000\nqueue_max_events = 4000\n",
	                    "[server] queue_max_events = 4000: less than max_events_per_request = "
	                    "5000");
	expect_finish_error("[server]\nmax_body_bytes = 1GiB\n",
	                    "[server] queue_max_bytes = 64MiB: less than max_body_bytes = 1GiB");
	/* values set by the program are checked as the parser would */
	vs_config c;
	char err[256];
	load_ok("", &c);
	c.checkpoint_interval_ms = 5;
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "[server] checkpoint_interval = 5ms: out of range (10ms to 1h)");
	c.checkpoint_interval_ms = 1000;
	c.max_body_bytes = 1000;
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "[server] max_body_bytes = 1000: out of range (1KiB to 1GiB)");
	c.max_body_bytes = 1024;
	c.log_level = 9;
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "[server] log_level = 9: out of range");
	c.log_level = VS_LOG_WARN;
	strcpy(c.logs[0].name, "..");
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "[log ..]: a log name is 1 to 64 of A-Z a-z 0-9 . _ - "
	                         "(and not . or ..)");
	strcpy(c.logs[0].name, "ok");
	finish_ok(&c);
	/* no logs at all */
	vs_log_config *logs = c.logs;
	size_t n = c.n_logs;
	c.n_logs = 0;
	assert_int_equal(vs_config_finish(&c, err, sizeof err), VL_EFORMAT);
	assert_string_equal(err, "no log: add a [log NAME] section");
	c.n_logs = n;
	c.logs = logs;
	vs_config_free(&c);
}

/* ------------------------------------------------------------------ */
/* files                                                               */

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/vs-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_file, sizeof full_file - 1),
	                 (ssize_t)(sizeof full_file - 1));
	close(fd);
	vs_config c;
	char err[512];
	assert_int_equal(vs_config_defaults(&c), 0);
	assert_int_equal(vs_config_load(path, &c, err, sizeof err), 0);
	assert_string_equal(c.data, "/srv/vellum");
	assert_int_equal(c.n_logs, 2);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	const char bad[] = "[server]\n\nmax_body_bytes = 12XB\n";
	assert_int_equal(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
	close(fd);
	assert_int_equal(vs_config_load(path, &c, err, sizeof err), VL_EFORMAT);
	char want[512];
	snprintf(want, sizeof want,
	         "%s: line 3: [server] max_body_bytes = 12XB: not a size (use 1024, 64KiB, 16MiB)",
	         path);
	assert_string_equal(err, want);
	assert_string_equal(c.data, "/srv/vellum"); /* unchanged */
	unlink(path);
	assert_int_equal(vs_config_load(path, &c, err, sizeof err), -ENOENT);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(vs_config_load(NULL, &c, err, sizeof err), VL_EINVAL);
	vs_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_comments_and_layout),
	    cmocka_unit_test(test_logs_replace_default),
	    cmocka_unit_test(test_parse_layers),
	    cmocka_unit_test(test_empty_value_unsets),
	    cmocka_unit_test(test_long_log_name),
	    cmocka_unit_test(test_error_unknown_section),
	    cmocka_unit_test(test_error_log_section),
	    cmocka_unit_test(test_error_unknown_key),
	    cmocka_unit_test(test_error_duplicate_key),
	    cmocka_unit_test(test_error_bad_values),
	    cmocka_unit_test(test_error_value_shown_safely),
	    cmocka_unit_test(test_error_nul_and_long_line),
	    cmocka_unit_test(test_error_leaves_config_unchanged),
	    cmocka_unit_test(test_error_args),
	    cmocka_unit_test(test_too_many_logs),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_ipv6_in_file),
	    cmocka_unit_test(test_log_levels),
	    cmocka_unit_test(test_finish_derived_paths),
	    cmocka_unit_test(test_finish_overrides),
	    cmocka_unit_test(test_finish_tls),
	    cmocka_unit_test(test_finish_listeners),
	    cmocka_unit_test(test_finish_paths_unique),
	    cmocka_unit_test(test_finish_limits),
	    cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
