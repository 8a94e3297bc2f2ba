/*
 * test_chaos_storage.c — the check behind the fsync-error and disk-full
 * scenarios (src/chaos/storage_check.c): the periods in which the server's
 * log says a log was failed, and the acknowledgements a history has inside
 * them.  An acknowledgement given while the log was failed must be found,
 * one given before the failure (still on its way) or after the reopening
 * must not; a failure never recovered lasts to the end; a restart ends one.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_check.h"

/* Load time 0 is this wall-clock time: 2026-11-27T00:00:00Z. */
#define WALL0 1795737600.0

static char dir[256];
static char history[300], serve_log[300];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/vellum-storage.XXXXXX",
	         getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(history, sizeof history, "%s/history", dir);
	snprintf(serve_log, sizeof serve_log, "%s/serve.log", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(history);
	unlink(serve_log);
	rmdir(dir);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A server log line MSG at load time T (seconds, < 60). */
static void log_line(char *buf, size_t cap, double t, const char *msg)
{
	size_t len = strlen(buf);
	snprintf(buf + len, cap - len,
	         "{\"time\":\"2026-11-27T00:00:%02d.%03dZ\",\"level\":\"info\",\"msg\":\"%s\"}\n",
	         (int)t, (int)((t - (int)t) * 1000 + 0.5), msg);
}

/* History: an ack at each of ACKS (seconds), and one refusal at 2.5 s. */
static void history_with(const double *acks, size_t n)
{
	char text[4096] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
		                        "send %zu %llu %zu 1 1\n"
		                        "ack %zu %llu %zu %zu AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		                        i, (unsigned long long)(acks[i] * 1e9) - 1000000, i, i,
		                        (unsigned long long)(acks[i] * 1e9), i, i);
	snprintf(text + len, sizeof text - len,
	         "send 99 2400000000 99 1 1\nfail 99 2500000000 503 storage_failed\n"
	         "fail 100 2600000000 503 queue_full\n");
	write_file(history, text);
}

static void one_period_found(void **state)
{
	(void)state;
	char log[2048] = "";
	log_line(log, sizeof log, 0.1, "serving");
	log_line(log, sizeof log, 2.0, "commit failed");
	log_line(log, sizeof log, 3.0, "log storage recovered");
	write_file(serve_log, log);
	/* 2.05: within the slack (an earlier commit's answer); 2.5: inside;
	 * 3.2: after the reopening; 1.0: before. */
	const double acks[] = {1.0, 2.05, 2.5, 3.2};
	history_with(acks, 4);
	vc_storage_failure f;
	assert_int_equal(vc_storage_failure_read(history, serve_log, WALL0, 0.1, &f), 0);
	assert_int_equal(f.periods, 1);
	assert_true(f.start[0] > 1.99 && f.start[0] < 2.01);
	assert_true(f.end[0] > 2.99 && f.end[0] < 3.01);
	assert_int_equal(f.refusals, 1); /* queue_full is not a storage failure */
	assert_true(f.first_refusal_s > 2.49 && f.first_refusal_s < 2.51);
	assert_int_equal(f.acks_inside, 1);
}

static void clean_run_has_none(void **state)
{
	(void)state;
	char log[2048] = "";
	log_line(log, sizeof log, 0.1, "serving");
	log_line(log, sizeof log, 2.0, "writing tiles failed");
	log_line(log, sizeof log, 2.4, "log storage still failing");
	log_line(log, sizeof log, 3.0, "log storage recovered");
	write_file(serve_log, log);
	const double acks[] = {1.0, 1.95, 3.01, 4.0};
	history_with(acks, 4);
	vc_storage_failure f;
	assert_int_equal(vc_storage_failure_read(history, serve_log, WALL0, 0.1, &f), 0);
	assert_int_equal(f.periods, 1);
	assert_int_equal(f.acks_inside, 0);
}

static void never_recovered_lasts(void **state)
{
	(void)state;
	char log[2048] = "";
	log_line(log, sizeof log, 2.0, "checkpoint failed");
	write_file(serve_log, log);
	const double acks[] = {1.0, 9.0, 30.0};
	history_with(acks, 3);
	vc_storage_failure f;
	assert_int_equal(vc_storage_failure_read(history, serve_log, WALL0, 0.1, &f), 0);
	assert_int_equal(f.periods, 1);
	assert_true(f.end[0] < 0);
	assert_int_equal(f.acks_inside, 2);
}

static void several_periods_and_a_restart(void **state)
{
	(void)state;
	char log[4096] = "";
	log_line(log, sizeof log, 1.0, "commit failed");
	log_line(log, sizeof log, 1.1, "commit failed"); /* the same period */
	log_line(log, sizeof log, 1.5, "log storage recovered");
	log_line(log, sizeof log, 4.0, "commit failed");
	log_line(log, sizeof log, 6.0, "serving"); /* restarted */
	write_file(serve_log, log);
	/* 1.3 and 5.0 inside; 2.0 and 7.0 between and after. */
	const double acks[] = {1.3, 2.0, 5.0, 7.0};
	history_with(acks, 4);
	vc_storage_failure f;
	assert_int_equal(vc_storage_failure_read(history, serve_log, WALL0, 0.1, &f), 0);
	assert_int_equal(f.periods, 2);
	assert_int_equal(f.acks_inside, 2);
}

static void missing_files(void **state)
{
	(void)state;
	vc_storage_failure f;
	unlink(serve_log);
	const double acks[] = {1.0};
	history_with(acks, 1);
	assert_int_equal(vc_storage_failure_read(history, serve_log, WALL0, 0.1, &f), 0);
	assert_int_equal(f.periods, 0);
	assert_int_equal(f.acks_inside, 0);
	unlink(history);
	assert_true(vc_storage_failure_read(history, serve_log, WALL0, 0.1, &f) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_period_found, setup, teardown),
		cmocka_unit_test_setup_teardown(clean_run_has_none, setup, teardown),
		cmocka_unit_test_setup_teardown(never_recovered_lasts, setup, teardown),
		cmocka_unit_test_setup_teardown(several_periods_and_a_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
