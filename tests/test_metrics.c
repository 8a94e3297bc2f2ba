/*
 * test_metrics.c — the metrics registry of `vellum serve`
 * (src/server/metrics.c): exact Prometheus text for small registries,
 * label and help escaping, histogram bucket arithmetic, what registration
 * refuses, and concurrent updates from several threads.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* Render m and compare the whole text with want. */
static void expect_render(vs_metrics *m, const char *want)
{
	size_t len = 12345;
	char *got = vs_metrics_render(m, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen(got));
	if (strcmp(got, want) != 0)
		fail_msg("rendered:\n%s\nwant:\n%s", got, want);
	free(got);
}

static void test_empty(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	assert_non_null(m);
	expect_render(m, "");
	vs_metrics_free(m);
	vs_metrics_free(NULL);
	size_t len = 7;
	assert_null(vs_metrics_render(NULL, &len));
	assert_int_equal(len, 0);
}

static void test_small_registry_exact(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	vs_counter *req_ok = vs_counter_add(m, "vellum_http_requests_total", "HTTP requests.",
	                                    "code=\"200\"");
	vs_counter *rej = vs_counter_add(m, "vellum_rejected_total", "Rejected appends.",
	                                 "log=\"default\",reason=\"too_large\"");
	vs_counter *req_bad = vs_counter_add(m, "vellum_http_requests_total", "ignored help",
	                                     "code=\"400\"");
	vs_gauge *size =
	    vs_gauge_add(m, "vellum_tree_size", "Entries in the tree.", "log=\"default\"");
	vs_gauge *up = vs_gauge_add(m, "vellum_up", NULL, NULL);
	const double bounds[] = {0.001, 0.01, 0.1};
	vs_histogram *lat = vs_histogram_add(m, "vellum_commit_seconds", "Commit latency.",
	                                     "log=\"default\"", bounds, 3);
	assert_non_null(req_ok);
	assert_non_null(rej);
	assert_non_null(req_bad);
	assert_non_null(size);
	assert_non_null(up);
	assert_non_null(lat);
	vs_counter_inc(req_ok, 41);
	vs_counter_inc(req_ok, 1);
	vs_counter_inc(req_bad, 3);
	vs_gauge_set(size, 1234567);
	vs_gauge_set(up, 1);
	vs_histogram_observe(lat, 0.0005);
	vs_histogram_observe(lat, 0.001);
	vs_histogram_observe(lat, 0.05);
	vs_histogram_observe(lat, 0.25);
	expect_render(m, "# HELP vellum_http_requests_total HTTP requests.\n"
	                 "# TYPE vellum_http_requests_total counter\n"
	                 "vellum_http_requests_total{code=\"200\"} 42\n"
	                 "vellum_http_requests_total{code=\"400\"} 3\n"
	                 "# HELP vellum_rejected_total Rejected appends.\n"
	                 "# TYPE vellum_rejected_total counter\n"
	                 "vellum_rejected_total{log=\"default\",reason=\"too_large\"} 0\n"
	                 "# HELP vellum_tree_size Entries in the tree.\n"
	                 "# TYPE vellum_tree_size gauge\n"
	                 "vellum_tree_size{log=\"default\"} 1234567\n"
	                 "# TYPE vellum_up gauge\n"
	                 "vellum_up 1\n"
	                 "# HELP vellum_commit_seconds Commit latency.\n"
	                 "# TYPE vellum_commit_seconds histogram\n"
	                 "vellum_commit_seconds_bucket{log=\"default\",le=\"0.001\"} 2\n"
	                 "vellum_commit_seconds_bucket{log=\"default\",le=\"0.01\"} 2\n"
	                 "vellum_commit_seconds_bucket{log=\"default\",le=\"0.1\"} 3\n"
	                 "vellum_commit_seconds_bucket{log=\"default\",le=\"+Inf\"} 4\n"
	                 "vellum_commit_seconds_sum{log=\"default\"} 0.3015\n"
	                 "vellum_commit_seconds_count{log=\"default\"} 4\n");
	vs_metrics_free(m);
}

static void test_histogram_without_labels(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	const double bounds[] = {1, 2.5, 10};
	vs_histogram *h = vs_histogram_add(m, "batch_size", "Entries per batch.", NULL, bounds, 3);
	assert_non_null(h);
	for (int v = 0; v <= 12; v++)
		vs_histogram_observe(h, v);
	expect_render(m, "# HELP batch_size Entries per batch.\n"
	                 "# TYPE batch_size histogram\n"
	                 "batch_size_bucket{le=\"1\"} 2\n"
	                 "batch_size_bucket{le=\"2.5\"} 3\n"
	                 "batch_size_bucket{le=\"10\"} 11\n"
	                 "batch_size_bucket{le=\"+Inf\"} 13\n"
	                 "batch_size_sum 78\n"
	                 "batch_size_count 13\n");
	vs_metrics_free(m);
}

static void test_histogram_bucket_math(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	const double bounds[] = {-1, 0, 0.5, 1, 100};
	vs_histogram *h = vs_histogram_add(m, "h", NULL, "x=\"y\"", bounds, 5);
	assert_non_null(h);
	/* Each bucket counts v <= bound: values on a bound land in it. */
	const double obs[] = {-5, -1, -0.5, 0, 0.25, 0.5, 0.5000001, 1, 99.9, 100, 100.5, 1e300};
	for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
		vs_histogram_observe(h, obs[i]);
	/* non-cumulative: (-inf,-1]:2 (-1,0]:2 (0,0.5]:2 (0.5,1]:2 (1,100]:2 (100,inf):2 */
	char *text = vs_metrics_render(m, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "h_bucket{x=\"y\",le=\"-1\"} 2\n"
	                             "h_bucket{x=\"y\",le=\"0\"} 4\n"
	                             "h_bucket{x=\"y\",le=\"0.5\"} 6\n"
	                             "h_bucket{x=\"y\",le=\"1\"} 8\n"
	                             "h_bucket{x=\"y\",le=\"100\"} 10\n"
	                             "h_bucket{x=\"y\",le=\"+Inf\"} 12\n"
	                             "h_sum{x=\"y\"} 1e+300\n"
	                             "h_count{x=\"y\"} 12\n"));
	free(text);
	/* +Inf and NaN count only in +Inf; NaN makes the sum NaN. */
	vs_histogram_observe(h, INFINITY);
	vs_histogram_observe(h, NAN);
	text = vs_metrics_render(m, NULL);
	assert_non_null(strstr(text, "h_bucket{x=\"y\",le=\"100\"} 10\n"
	                             "h_bucket{x=\"y\",le=\"+Inf\"} 14\n"
	                             "h_sum{x=\"y\"} NaN\n"
	                             "h_count{x=\"y\"} 14\n"));
	free(text);
	/* -Inf counts in the first bucket. */
	vs_histogram *h2 = vs_histogram_add(m, "h", NULL, "x=\"z\"", bounds, 5);
	assert_non_null(h2);
	vs_histogram_observe(h2, -INFINITY);
	text = vs_metrics_render(m, NULL);
	assert_non_null(strstr(text, "h_bucket{x=\"z\",le=\"-1\"} 1\n"));
	assert_non_null(strstr(text, "h_sum{x=\"z\"} -Inf\n"));
	free(text);
	vs_metrics_free(m);
}

static void test_histogram_many_bounds(void **state)
{
	(void)state;
	/* Binary search over 64 bounds against a linear count. */
	enum { NB = 64 };
	double bounds[NB];
	for (int i = 0; i < NB; i++)
		bounds[i] = i * i * 0.5;
	vs_metrics *m = vs_metrics_new();
	vs_histogram *h = vs_histogram_add(m, "sq", "", NULL, bounds, NB);
	assert_non_null(h);
	uint64_t want[NB + 1] = {0};
	uint64_t seed = 1;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		double v = (double)(seed >> 40) / (double)(1u << 24) * 2200.0 - 100.0;
		if (i % 7 == 0)
			v = bounds[(seed >> 20) % NB]; /* exactly on a bound */
		vs_histogram_observe(h, v);
		for (int b = 0; b <= NB; b++)
			if (b == NB || v <= bounds[b])
				want[b]++;
	}
	char *text = vs_metrics_render(m, NULL);
	assert_non_null(text);
	for (int b = 0; b <= NB; b++) {
		char le[64], line[128];
		if (b < NB)
			snprintf(le, sizeof le, "%.15g", bounds[b]);
		else
			strcpy(le, "+Inf");
		snprintf(line, sizeof line, "sq_bucket{le=\"%s\"} %llu\n", le,
		         (unsigned long long)want[b]);
		if (strstr(text, line) == NULL)
			fail_msg("missing %s", line);
	}
	assert_null(strstr(text, "# HELP")); /* empty help: no HELP line */
	free(text);
	vs_metrics_free(m);
}

static void test_histogram_no_bounds(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	vs_histogram *h = vs_histogram_add(m, "only_inf", "x", NULL, NULL, 0);
	assert_non_null(h);
	vs_histogram_observe(h, 3);
	vs_histogram_observe(h, -3.5);
	expect_render(m, "# HELP only_inf x\n"
	                 "# TYPE only_inf histogram\n"
	                 "only_inf_bucket{le=\"+Inf\"} 2\n"
	                 "only_inf_sum -0.5\n"
	                 "only_inf_count 2\n");
	vs_metrics_free(m);
}

static void test_gauge_values(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *text;
	} cases[] = {
	    {0, "0"},
	    {-0.0, "-0"},
	    {1, "1"},
	    {-3.5, "-3.5"},
	    {0.1, "0.1"},
	    {1.0 / 3, "0.3333333333333333"},
	    {2.0 / 3, "0.6666666666666666"},
	    {1e21, "1e+21"},
	    {123456789012345678.0, "1.2345678901234568e+17"},
	    {5e-324, "4.94065645841247e-324"}, /* reads back as 5e-324 */
	    {1.7976931348623157e308, "1.7976931348623157e+308"},
	    {INFINITY, "+Inf"},
	    {-INFINITY, "-Inf"},
	    {NAN, "NaN"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vs_metrics *m = vs_metrics_new();
		vs_gauge *g = vs_gauge_add(m, "g", NULL, NULL);
		assert_non_null(g);
		vs_gauge_set(g, cases[i].v);
		char want[128];
		snprintf(want, sizeof want, "# TYPE g gauge\ng %s\n", cases[i].text);
		expect_render(m, want);
		vs_metrics_free(m);
	}
}

static void test_gauge_inc_get(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	vs_gauge *g = vs_gauge_add(m, "inflight", "In-flight requests.", NULL);
	vs_counter *c = vs_counter_add(m, "c_total", NULL, NULL);
	assert_true(vs_gauge_get(g) == 0.0);
	vs_gauge_inc(g, 3);
	vs_gauge_inc(g, -1.5);
	assert_true(vs_gauge_get(g) == 1.5);
	vs_gauge_set(g, 10);
	vs_gauge_inc(g, 1);
	assert_true(vs_gauge_get(g) == 11.0);
	vs_counter_inc(c, UINT64_MAX);
	assert_int_equal(vs_counter_get(c), UINT64_MAX);
	expect_render(m, "# HELP inflight In-flight requests.\n"
	                 "# TYPE inflight gauge\n"
	                 "inflight 11\n"
	                 "# TYPE c_total counter\n"
	                 "c_total 18446744073709551615\n");
	vs_counter_inc(c, 2); /* wraps */
	assert_int_equal(vs_counter_get(c), 1);
	vs_metrics_free(m);
}

static double fn_value(void *arg)
{
	int *calls = arg;
	return ++*calls * 1.5;
}

static void test_gauge_fn(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	int calls = 0;
	vs_gauge *g = vs_gauge_add(m, "queue", "Queue depth.", "log=\"a\"");
	assert_non_null(g);
	vs_gauge_set(g, 7);
	assert_int_equal(
	    vs_gauge_fn_add(m, "queue", "other help", "log=\"b\"", fn_value, &calls), 0);
	expect_render(m, "# HELP queue Queue depth.\n"
	                 "# TYPE queue gauge\n"
	                 "queue{log=\"a\"} 7\n"
	                 "queue{log=\"b\"} 1.5\n");
	assert_int_equal(calls, 1);
	expect_render(m, "# HELP queue Queue depth.\n"
	                 "# TYPE queue gauge\n"
	                 "queue{log=\"a\"} 7\n"
	                 "queue{log=\"b\"} 3\n");
	/* refusals */
	assert_int_equal(vs_gauge_fn_add(m, "queue", NULL, "log=\"c\"", NULL, NULL), VL_EINVAL);
	assert_int_equal(vs_gauge_fn_add(m, "queue", NULL, "log=\"b\"", fn_value, &calls),
	                 VL_EINVAL);
	assert_non_null(vs_counter_add(m, "ctr", NULL, NULL));
	assert_int_equal(vs_gauge_fn_add(m, "ctr", NULL, "x=\"1\"", fn_value, &calls), VL_EINVAL);
	vs_metrics_free(m);
}

static void test_label_escaping(void **state)
{
	(void)state;
	char labels[128] = "";
	assert_int_equal(vs_metrics_label(labels, sizeof labels, "log", "default"), 0);
	assert_int_equal(vs_metrics_label(labels, sizeof labels, "path", "C:\\dir\\\"x\"\nnext"),
	                 0);
	assert_int_equal(vs_metrics_label(labels, sizeof labels, "empty", ""), 0);
	assert_string_equal(labels,
	                    "log=\"default\",path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\",empty=\"\"");
	vs_metrics *m = vs_metrics_new();
	vs_counter *c = vs_counter_add(m, "esc_total", "Help with \\ and\nnewline \"quoted\".",
	                               labels);
	assert_non_null(c);
	vs_counter_inc(c, 5);
	expect_render(m, "# HELP esc_total Help with \\\\ and\\nnewline \"quoted\".\n"
	                 "# TYPE esc_total counter\n"
	                 "esc_total{log=\"default\",path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\","
	                 "empty=\"\"} 5\n");
	vs_metrics_free(m);
	/* UTF-8 passes through unchanged. */
	char u[64] = "";
	assert_int_equal(vs_metrics_label(u, sizeof u, "who", "J\xc3\xbcrgen"), 0);
	assert_string_equal(u, "who=\"J\xc3\xbcrgen\"");
}

static void test_label_helper_errors(void **state)
{
	(void)state;
	char buf[16] = "";
	assert_int_equal(vs_metrics_label(buf, sizeof buf, "1x", "v"), VL_EINVAL);
	assert_int_equal(vs_metrics_label(buf, sizeof buf, "a-b", "v"), VL_EINVAL);
	assert_int_equal(vs_metrics_label(buf, sizeof buf, "a:b", "v"), VL_EINVAL);
	assert_int_equal(vs_metrics_label(buf, sizeof buf, "", "v"), VL_EINVAL);
	assert_int_equal(vs_metrics_label(buf, sizeof buf, NULL, "v"), VL_EINVAL);
	assert_int_equal(vs_metrics_label(buf, sizeof buf, "a", NULL), VL_EINVAL);
	assert_int_equal(vs_metrics_label(NULL, 5, "a", "v"), VL_EINVAL);
	/* a="123456789" is 13 characters and a NUL: 14 fit, 13 do not */
	assert_int_equal(vs_metrics_label(buf, 13, "a", "123456789"), VL_ETOOBIG);
	assert_string_equal(buf, "");
	assert_int_equal(vs_metrics_label(buf, 14, "a", "123456789"), 0);
	assert_string_equal(buf, "a=\"123456789\"");
	/* the ',' counts too; the buffer is unchanged on failure */
	assert_int_equal(vs_metrics_label(buf, sizeof buf, "b", ""), VL_ETOOBIG);
	assert_string_equal(buf, "a=\"123456789\"");
	/* escapes count double */
	char e[8] = "";
	assert_int_equal(vs_metrics_label(e, sizeof e, "q", "\"\""), VL_ETOOBIG);
	assert_int_equal(vs_metrics_label(e, sizeof e, "q", "\""), 0);
	assert_string_equal(e, "q=\"\\\"\"");
}

static void test_bad_labels_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "log",
	    "log=",
	    "log=default",
	    "log=\"default",
	    "log=\"a\",",
	    ",log=\"a\"",
	    "log=\"a\" ",
	    " log=\"a\"",
	    "log = \"a\"",
	    "log=\"a\"b=\"c\"",
	    "log=\"a\nb\"",
	    "log=\"a\\tb\"",
	    "log=\"a\\\"",
	    "log=\"a\",log=\"b\"",
	    "__name__=\"x\"",
	    "1log=\"a\"",
	    "lo-g=\"a\"",
	    "lo:g=\"a\"",
	    "=\"a\"",
	};
	vs_metrics *m = vs_metrics_new();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (vs_counter_add(m, "c_total", NULL, bad[i]) != NULL)
			fail_msg("labels '%s' accepted", bad[i]);
		assert_null(vs_gauge_add(m, "g", NULL, bad[i]));
	}
	/* good ones, including escapes and an empty value */
	assert_non_null(vs_counter_add(m, "c_total", NULL, "a=\"\\\\\\\"\\n\",_b=\"\",c9=\"x\""));
	assert_non_null(vs_counter_add(m, "c_total", NULL, ""));
	/* "" and NULL are the same (empty) label set */
	assert_null(vs_counter_add(m, "c_total", NULL, NULL));
	/* "le" is reserved for histograms only */
	assert_non_null(vs_counter_add(m, "c_total", NULL, "le=\"1\""));
	const double b[] = {1};
	assert_null(vs_histogram_add(m, "h", NULL, "le=\"1\"", b, 1));
	assert_null(vs_histogram_add(m, "h", NULL, "a=\"1\",le=\"1\"", b, 1));
	assert_non_null(vs_histogram_add(m, "h", NULL, "lex=\"1\"", b, 1));
	vs_metrics_free(m);
}

static void test_bad_names_and_types(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	static const char *const bad[] = {"", "1abc", "a-b", "a b", "a.b", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(vs_counter_add(m, bad[i], NULL, NULL));
	assert_null(vs_counter_add(m, NULL, NULL, NULL));
	assert_null(vs_counter_add(NULL, "x", NULL, NULL));
	assert_non_null(vs_counter_add(m, "ns:sub_total", NULL, NULL));
	assert_non_null(vs_counter_add(m, "_x", NULL, NULL));
	/* one name, one type */
	assert_non_null(vs_counter_add(m, "dual", NULL, "a=\"1\""));
	assert_null(vs_gauge_add(m, "dual", NULL, "a=\"2\""));
	const double b[] = {1, 2};
	assert_null(vs_histogram_add(m, "dual", NULL, "a=\"3\"", b, 2));
	/* a repeated label set within a family */
	assert_null(vs_counter_add(m, "dual", NULL, "a=\"1\""));
	assert_non_null(vs_counter_add(m, "dual", NULL, "a=\"2\""));
	/* a histogram's lines may not clash with other families */
	assert_non_null(vs_histogram_add(m, "lat", NULL, NULL, b, 2));
	assert_null(vs_counter_add(m, "lat_count", NULL, NULL));
	assert_null(vs_gauge_add(m, "lat_sum", NULL, NULL));
	assert_null(vs_gauge_add(m, "lat_bucket", NULL, NULL));
	assert_non_null(vs_gauge_add(m, "lat_other", NULL, NULL));
	assert_non_null(vs_counter_add(m, "x_count", NULL, NULL));
	assert_null(vs_histogram_add(m, "x", NULL, NULL, b, 2));
	vs_metrics_free(m);
}

static void test_bad_bounds(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	const double dec[] = {1, 0.5}, eq[] = {1, 1}, nan_b[] = {1, NAN}, inf_b[] = {1, INFINITY};
	const double ok[] = {0.5, 1}, other[] = {0.5, 2};
	assert_null(vs_histogram_add(m, "h", NULL, NULL, dec, 2));
	assert_null(vs_histogram_add(m, "h", NULL, NULL, eq, 2));
	assert_null(vs_histogram_add(m, "h", NULL, NULL, nan_b, 2));
	assert_null(vs_histogram_add(m, "h", NULL, NULL, inf_b, 2));
	assert_null(vs_histogram_add(m, "h", NULL, NULL, NULL, 2));
	assert_non_null(vs_histogram_add(m, "h", NULL, "a=\"1\"", ok, 2));
	/* one family, one set of bounds */
	assert_null(vs_histogram_add(m, "h", NULL, "a=\"2\"", other, 2));
	assert_null(vs_histogram_add(m, "h", NULL, "a=\"2\"", ok, 1));
	assert_non_null(vs_histogram_add(m, "h", NULL, "a=\"2\"", ok, 2));
	/* the refused ones left nothing behind */
	char *text = vs_metrics_render(m, NULL);
	assert_non_null(text);
	assert_string_equal(text, "# TYPE h histogram\n"
	                          "h_bucket{a=\"1\",le=\"0.5\"} 0\n"
	                          "h_bucket{a=\"1\",le=\"1\"} 0\n"
	                          "h_bucket{a=\"1\",le=\"+Inf\"} 0\n"
	                          "h_sum{a=\"1\"} 0\n"
	                          "h_count{a=\"1\"} 0\n"
	                          "h_bucket{a=\"2\",le=\"0.5\"} 0\n"
	                          "h_bucket{a=\"2\",le=\"1\"} 0\n"
	                          "h_bucket{a=\"2\",le=\"+Inf\"} 0\n"
	                          "h_sum{a=\"2\"} 0\n"
	                          "h_count{a=\"2\"} 0\n");
	free(text);
	vs_metrics_free(m);
}

static void test_family_grouping(void **state)
{
	(void)state;
	/* Interleaved registration: each family once, in first-seen order,
	 * series in the order added. */
	vs_metrics *m = vs_metrics_new();
	vs_counter *a1 = vs_counter_add(m, "a_total", "A.", "l=\"1\"");
	vs_gauge *b1 = vs_gauge_add(m, "b", "B.", "l=\"1\"");
	vs_counter *a2 = vs_counter_add(m, "a_total", "A again.", "l=\"2\"");
	vs_gauge *b2 = vs_gauge_add(m, "b", NULL, "l=\"2\"");
	vs_counter *a3 = vs_counter_add(m, "a_total", NULL, NULL);
	assert_non_null(a1);
	assert_non_null(b1);
	assert_non_null(a2);
	assert_non_null(b2);
	assert_non_null(a3);
	vs_counter_inc(a1, 1);
	vs_counter_inc(a2, 2);
	vs_counter_inc(a3, 3);
	vs_gauge_set(b1, 0.5);
	vs_gauge_set(b2, -0.5);
	expect_render(m, "# HELP a_total A.\n"
	                 "# TYPE a_total counter\n"
	                 "a_total{l=\"1\"} 1\n"
	                 "a_total{l=\"2\"} 2\n"
	                 "a_total 3\n"
	                 "# HELP b B.\n"
	                 "# TYPE b gauge\n"
	                 "b{l=\"1\"} 0.5\n"
	                 "b{l=\"2\"} -0.5\n");
	vs_metrics_free(m);
}

static void test_many_series(void **state)
{
	(void)state;
	/* Enough series to grow the family array and the render buffer. */
	vs_metrics *m = vs_metrics_new();
	for (int i = 0; i < 300; i++) {
		char name[32], labels[64] = "";
		snprintf(name, sizeof name, "family_%d", i % 40);
		char v[16];
		snprintf(v, sizeof v, "%d", i);
		assert_int_equal(vs_metrics_label(labels, sizeof labels, "i", v), 0);
		vs_counter *c =
		    vs_counter_add(m, name, "Help text that is not short at all.", labels);
		assert_non_null(c);
		vs_counter_inc(c, (uint64_t)i);
	}
	size_t len;
	char *text = vs_metrics_render(m, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	size_t helps = 0;
	for (const char *p = text; (p = strstr(p, "# HELP ")) != NULL; p++)
		helps++;
	assert_int_equal(helps, 40);
	assert_non_null(strstr(text, "family_39{i=\"279\"} 279\n"));
	free(text);
	vs_metrics_free(m);
}

/* ------------------------------------------------------------------ */
/* threads                                                             */

enum { THREADS = 4, ROUNDS = 250000 };

struct shared {
	vs_counter *c;
	vs_gauge *g;
	vs_histogram *h;
	vs_metrics *m;
	volatile int stop;
};

static void *worker(void *arg)
{
	struct shared *s = arg;
	for (int i = 0; i < ROUNDS; i++) {
		vs_counter_inc(s->c, 1);
		vs_gauge_inc(s->g, 1.0);
		vs_histogram_observe(s->h, (double)(i % 4));
	}
	return NULL;
}

/* Renders while the workers run: every render must be well formed, with
 * the +Inf bucket equal to the count. */
static void *renderer(void *arg)
{
	struct shared *s = arg;
	int renders = 0;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) || renders == 0) {
		char *text = vs_metrics_render(s->m, NULL);
		assert_non_null(text);
		static const char inf_key[] = "work_hist_bucket{le=\"+Inf\"} ";
		static const char cnt_key[] = "work_hist_count ";
		const char *inf = strstr(text, inf_key);
		const char *cnt = strstr(text, cnt_key);
		if (inf == NULL || cnt == NULL)
			abort();
		unsigned long long a = strtoull(inf + sizeof inf_key - 1, NULL, 10);
		unsigned long long b = strtoull(cnt + sizeof cnt_key - 1, NULL, 10);
		if (a != b)
			abort();
		free(text);
		renders++;
	}
	return NULL;
}

static void test_concurrent_updates(void **state)
{
	(void)state;
	struct shared s = {0};
	s.m = vs_metrics_new();
	const double bounds[] = {0.5, 1.5, 2.5};
	s.c = vs_counter_add(s.m, "work_total", "Work done.", NULL);
	s.g = vs_gauge_add(s.m, "work_gauge", "Work as a gauge.", NULL);
	s.h = vs_histogram_add(s.m, "work_hist", "Work values.", NULL, bounds, 3);
	assert_non_null(s.c);
	assert_non_null(s.g);
	assert_non_null(s.h);
	pthread_t t[THREADS], r;
	assert_int_equal(pthread_create(&r, NULL, renderer, &s), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &s), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(r, NULL), 0);

	const uint64_t total = (uint64_t)THREADS * ROUNDS;
	assert_int_equal(vs_counter_get(s.c), total);
	assert_true(vs_gauge_get(s.g) == (double)total);
	/* values 0,1,2,3 equally often: sum = total * 1.5 */
	char want[1024];
	snprintf(want, sizeof want,
	         "# HELP work_total Work done.\n"
	         "# TYPE work_total counter\n"
	         "work_total %llu\n"
	         "# HELP work_gauge Work as a gauge.\n"
	         "# TYPE work_gauge gauge\n"
	         "work_gauge %llu\n"
	         "# HELP work_hist Work values.\n"
	         "# TYPE work_hist histogram\n"
	         "work_hist_bucket{le=\"0.5\"} %llu\n"
	         "work_hist_bucket{le=\"1.5\"} %llu\n"
	         "work_hist_bucket{le=\"2.5\"} %llu\n"
	         "work_hist_bucket{le=\"+Inf\"} %llu\n"
	         "work_hist_sum %llu\n"
	         "work_hist_count %llu\n",
	         (unsigned long long)total, (unsigned long long)total,
	         (unsigned long long)total / 4, (unsigned long long)total / 2,
	         (unsigned long long)total * 3 / 4, (unsigned long long)total,
	         (unsigned long long)total * 3 / 2, (unsigned long long)total);
	expect_render(s.m, want);
	vs_metrics_free(s.m);
}


struct labeled {
	vs_counter *c[3];
	vs_histogram *h;
};

static void *labeled_worker(void *arg)
{
	struct labeled *l = arg;
	for (int i = 0; i < ROUNDS; i++) {
		vs_counter_inc(l->c[i % 3], (uint64_t)(i % 3) + 1);
		vs_histogram_observe(l->h, 0.25 * (i % 8)); /* exact in binary */
	}
	return NULL;
}

static void test_concurrent_labeled_series(void **state)
{
	(void)state;
	/* Three series of one family and a histogram, updated from four
	 * threads at once; the sum of quarters is exact. */
	vs_metrics *m = vs_metrics_new();
	struct labeled l;
	for (int i = 0; i < 3; i++) {
		char labels[32] = "", v[16];
		snprintf(v, sizeof v, "%d", i);
		assert_int_equal(vs_metrics_label(labels, sizeof labels, "shard", v), 0);
		l.c[i] = vs_counter_add(m, "shard_total", NULL, labels);
		assert_non_null(l.c[i]);
	}
	const double bounds[] = {0.5, 1};
	l.h = vs_histogram_add(m, "q", NULL, NULL, bounds, 2);
	assert_non_null(l.h);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, labeled_worker, &l), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	uint64_t n[3] = {0};
	for (int i = 0; i < ROUNDS; i++)
		n[i % 3]++;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vs_counter_get(l.c[i]), THREADS * n[i] * (uint64_t)(i + 1));
	/* per thread: 8 values 0..1.75 in equal shares, ROUNDS / 8 each */
	const unsigned long long per = (unsigned long long)THREADS * ROUNDS / 8;
	char want[512];
	snprintf(want, sizeof want,
	         "q_bucket{le=\"0.5\"} %llu\nq_bucket{le=\"1\"} %llu\nq_bucket{le=\"+Inf\"} %llu\n"
	         "q_sum %llu\nq_count %llu\n",
	         3 * per, 5 * per, 8 * per, per * 7, 8 * per);
	char *text = vs_metrics_render(m, NULL);
	assert_non_null(text);
	if (strstr(text, want) == NULL)
		fail_msg("rendered:\n%s\nwant:\n%s", text, want);
	free(text);
	vs_metrics_free(m);
}

static void test_help_lines(void **state)
{
	(void)state;
	/* HELP escapes only backslash and newline; a missing or empty help
	 * has no HELP line; a family's help is that of its first
	 * registration, even when that had none. */
	vs_metrics *m = vs_metrics_new();
	assert_non_null(vs_gauge_add(m, "a", "back\\slash \"q\" line1\nline2\n", NULL));
	assert_non_null(vs_gauge_add(m, "b", "", NULL));
	assert_non_null(vs_gauge_add(m, "c", NULL, "x=\"1\""));
	assert_non_null(vs_gauge_add(m, "c", "late help", "x=\"2\""));
	expect_render(m, "# HELP a back\\\\slash \"q\" line1\\nline2\\n\n"
	                 "# TYPE a gauge\n"
	                 "a 0\n"
	                 "# TYPE b gauge\n"
	                 "b 0\n"
	                 "# TYPE c gauge\n"
	                 "c{x=\"1\"} 0\n"
	                 "c{x=\"2\"} 0\n");
	vs_metrics_free(m);
}

static void test_render_len_optional(void **state)
{
	(void)state;
	vs_metrics *m = vs_metrics_new();
	vs_counter *c = vs_counter_add(m, "x_total", NULL, NULL);
	vs_counter_inc(c, 0);
	char *a = vs_metrics_render(m, NULL);
	assert_non_null(a);
	assert_string_equal(a, "# TYPE x_total counter\nx_total 0\n");
	/* rendering twice gives the same text; it changes nothing */
	size_t len;
	char *b = vs_metrics_render(m, &len);
	assert_string_equal(a, b);
	assert_int_equal(len, strlen(a));
	free(a);
	free(b);
	vs_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_small_registry_exact),
	    cmocka_unit_test(test_histogram_without_labels),
	    cmocka_unit_test(test_histogram_bucket_math),
	    cmocka_unit_test(test_histogram_many_bounds),
	    cmocka_unit_test(test_histogram_no_bounds),
	    cmocka_unit_test(test_gauge_values),
	    cmocka_unit_test(test_gauge_inc_get),
	    cmocka_unit_test(test_gauge_fn),
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_label_helper_errors),
	    cmocka_unit_test(test_bad_labels_refused),
	    cmocka_unit_test(test_bad_names_and_types),
	    cmocka_unit_test(test_bad_bounds),
	    cmocka_unit_test(test_family_grouping),
	    cmocka_unit_test(test_many_series),
	    cmocka_unit_test(test_concurrent_updates),
	    cmocka_unit_test(test_concurrent_labeled_series),
	    cmocka_unit_test(test_help_lines),
	    cmocka_unit_test(test_render_len_optional),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
