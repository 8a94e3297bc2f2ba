/*
 * test_chaos_report.c — the report of `vellum chaos run` (src/chaos/report.c):
 * report.json read back with jansson, field by field; report.html checked
 * for escaping, one chart per kind and scenario, the fault windows, the
 * limits; edge cases (no scenario, no samples, one sample, numbers that are
 * huge or not finite, strings that fill their field or are not UTF-8) and
 * errors.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "chaos.h"

#include <vellum.h>

#include <ctype.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

static char *tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof path, "%s/vellum-report.XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(path);
	assert_non_null(d);
	return strdup(d);
}

static void rm_report(const char *dir)
{
	char p[2048];

	snprintf(p, sizeof p, "%s/report.json", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/report.html", dir);
	unlink(p);
	rmdir(dir);
}

static char *slurp(const char *dir, const char *name)
{
	char p[2048];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	assert_int_equal(strlen(s), (size_t)n); /* no NUL inside */
	return s;
}

static json_t *load_json(const char *dir, size_t flags)
{
	char p[2048];
	json_error_t e;

	snprintf(p, sizeof p, "%s/report.json", dir);
	json_t *j = json_load_file(p, flags | JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("report.json: %s at line %d column %d", e.text, e.line, e.column);
	return j;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* Case-insensitive strstr. */
static int has_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return 1;
	return 0;
}

static void expect_str(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		fail_msg("%s: not a string", key);
	if (strcmp(json_string_value(v), want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", key, json_string_value(v), want);
}

static void expect_num(json_t *o, const char *key, double want)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		fail_msg("%s: not a number", key);
	if (json_number_value(v) != want)
		fail_msg("%s: got %.17g, want %.17g", key, json_number_value(v), want);
}

static void expect_int(json_t *o, const char *key, json_int_t want)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("%s: not an integer", key);
	if (json_integer_value(v) != want)
		fail_msg("%s: got %lld, want %lld", key, (long long)json_integer_value(v),
		         (long long)want);
}

static void expect_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_null(v))
		fail_msg("%s: not null", key);
}

static void expect_bool(json_t *o, const char *key, int want)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_boolean(v))
		fail_msg("%s: not a boolean", key);
	if (json_is_true(v) != want)
		fail_msg("%s: got %d, want %d", key, json_is_true(v), want);
}

/* Every key of O is one of KEYS (NULL-terminated) and every one is there. */
static void expect_keys(json_t *o, const char *const *keys)
{
	size_t n = 0;
	assert_true(json_is_object(o));
	for (; keys[n]; n++)
		if (!json_object_get(o, keys[n]))
			fail_msg("missing key %s", keys[n]);
	assert_int_equal(json_object_size(o), n);
}

/* The text of each <svg>...</svg> has no NaN or infinity in it. */
static void expect_finite_svgs(const char *html)
{
	for (const char *p = html; (p = strstr(p, "<svg"));) {
		const char *end = strstr(p, "</svg>");
		assert_non_null(end);
		for (const char *q = p; q < end; q++)
			if (strncasecmp(q, "nan", 3) == 0 || strncasecmp(q, "inf", 3) == 0)
				fail_msg("not finite in a chart: %.40s", q);
		p = end;
	}
}

/* ------------------------------------------------------------ the results */

static const char nasty_verdict[] =
	"lost 2 of \"these\" <script>alert('x')</script> & more\n"
	"second line\tünïcödé ✓ \x01 bad byte \xff end \\ slash";
/* What report.json gives back for it: the invalid byte as U+FFFD. */
static const char nasty_verdict_json[] =
	"lost 2 of \"these\" <script>alert('x')</script> & more\n"
	"second line\tünïcödé ✓ \x01 bad byte \xef\xbf\xbd end \\ slash";
static const char nasty_limits[] = "no <b>disks</b> & \"no\" power loss\nönly löopback";
static const char nasty_command[] = "vellum chaos run --out '<dir>' && echo \"done\"";

static vc_window win0[] = {
	{1.5, 3.25, "kill -9 <server> & \"restart\""},
	{4, -1, "latency=50~10 until the end"},
};
static vc_window win1[] = {
	{2, 100, "blackhole past the last sample"},
};
static vc_sample smp0[] = {
	{0, 100, 0, 0, 2.5, 10},
	{1, 120, 1, 2, 3.0, 12.5},
	{2, 0, 40, 5, 0, 0}, /* nothing acknowledged: no latency */
	{3, 90, 0, 0, 4.25, 30},
	{4, 110, 0, 0, 2.75, 11},
};
static vc_sample smp1[] = {
	{0, 7, 0, 1, 1, 2},
};

static void fill(vc_result r[3])
{
	memset(r, 0, 3 * sizeof *r);
	snprintf(r[0].name, sizeof r[0].name, "kill");
	r[0].seed = UINT64_MAX;
	r[0].passed = 1;
	r[0].duration_s = 5.5;
	r[0].acked = 420, r[0].lost = 0, r[0].duplicated = 0, r[0].holes = 0, r[0].corrupt = 0;
	r[0].corruptions_injected = 3, r[0].corruptions_detected = 3;
	r[0].acks_after_io_error = 0;
	r[0].recovery_seconds = 1.25;
	r[0].p50_ms = 2.5, r[0].p90_ms = 9.75, r[0].p99_ms = 29.5, r[0].max_ms = 1234.5;
	snprintf(r[0].replay, sizeof r[0].replay, "vellum chaos run --scenario kill --seed %s",
	         "18446744073709551615");
	snprintf(r[0].verdict, sizeof r[0].verdict, "all acknowledged events present");
	snprintf(r[0].limits, sizeof r[0].limits, "%s", nasty_limits);
	r[0].windows = win0, r[0].n_windows = 2;
	r[0].samples = smp0, r[0].n_samples = 5;

	snprintf(r[1].name, sizeof r[1].name, "part<&>");
	r[1].seed = 42;
	r[1].passed = 0;
	r[1].duration_s = 3;
	r[1].acked = 7, r[1].lost = 2, r[1].duplicated = 1, r[1].holes = 1, r[1].corrupt = 4;
	r[1].corruptions_injected = 5, r[1].corruptions_detected = 4;
	r[1].acks_after_io_error = 6;
	r[1].recovery_seconds = -1;
	r[1].p50_ms = 1, r[1].p90_ms = 1.5, r[1].p99_ms = 2, r[1].max_ms = 2;
	snprintf(r[1].replay, sizeof r[1].replay,
	         "vellum chaos run --scenario 'part<&>' --seed 42");
	snprintf(r[1].verdict, sizeof r[1].verdict, "%s", nasty_verdict);
	snprintf(r[1].limits, sizeof r[1].limits, "one direction");
	r[1].windows = win1, r[1].n_windows = 1;
	r[1].samples = smp1, r[1].n_samples = 1;

	snprintf(r[2].name, sizeof r[2].name, "disk-full");
	r[2].seed = 0;
	r[2].skipped = 1;
	r[2].recovery_seconds = -1;
	r[2].p50_ms = NAN, r[2].p90_ms = INFINITY, r[2].p99_ms = -INFINITY, r[2].max_ms = -1;
	r[2].duration_s = NAN;
	snprintf(r[2].replay, sizeof r[2].replay, "vellum chaos run --scenario disk-full --seed 0");
	snprintf(r[2].verdict, sizeof r[2].verdict, "skipped: needs root");
	snprintf(r[2].limits, sizeof r[2].limits, "not run");
}

static const char *const top_keys[] = {"command", "generated", "passed", "scenarios", NULL};
static const char *const scenario_keys[] = {
	"name", "seed", "status", "passed", "skipped", "duration_s", "acked", "lost",
	"duplicated", "holes", "corrupt", "corruptions_injected", "corruptions_detected",
	"acks_after_io_error", "recovery_seconds", "latency_ms", "replay", "verdict", "limits",
	"windows", "samples", NULL};
static const char *const latency_keys[] = {"p50", "p90", "p99", "max", NULL};
static const char *const window_keys[] = {"start_s", "end_s", "what", NULL};
static const char *const sample_keys[] = {"t_s", "acked", "failed", "unknown", "p50_ms",
                                          "p99_ms", NULL};

/* ------------------------------------------------------------ report.json */

static void test_json_fields(void **state)
{
	(void)state;
	vc_result r[3];
	char err[256] = "";
	char *dir = tmpdir_new();

	fill(r);
	assert_int_equal(vc_report_write(dir, nasty_command, r, 3, err, sizeof err), 0);
	json_t *j = load_json(dir, 0);
	expect_keys(j, top_keys);
	expect_str(j, "command", nasty_command);
	expect_bool(j, "passed", 0);

	/* RFC 3339, UTC, whole seconds: 2026-01-02T03:04:05Z */
	const char *g = json_string_value(json_object_get(j, "generated"));
	assert_non_null(g);
	assert_int_equal(strlen(g), 20);
	for (int i = 0; i < 20; i++) {
		char want = "dddd-dd-ddTdd:dd:ddZ"[i];
		if (want == 'd')
			assert_true(isdigit((unsigned char)g[i]));
		else
			assert_int_equal(g[i], want);
	}

	json_t *sc = json_object_get(j, "scenarios");
	assert_true(json_is_array(sc));
	assert_int_equal(json_array_size(sc), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *s = json_array_get(sc, i);
		expect_keys(s, scenario_keys);
		expect_keys(json_object_get(s, "latency_ms"), latency_keys);
		json_t *w = json_object_get(s, "windows"), *sm = json_object_get(s, "samples");
		assert_int_equal(json_array_size(w), r[i].n_windows);
		assert_int_equal(json_array_size(sm), r[i].n_samples);
		for (size_t k = 0; k < r[i].n_windows; k++)
			expect_keys(json_array_get(w, k), window_keys);
		for (size_t k = 0; k < r[i].n_samples; k++)
			expect_keys(json_array_get(sm, k), sample_keys);
	}

	/* The scenario that passed, field by field. */
	json_t *s = json_array_get(sc, 0), *l = json_object_get(s, "latency_ms");
	expect_str(s, "name", "kill");
	expect_str(s, "seed", "18446744073709551615");
	expect_str(s, "status", "pass");
	expect_bool(s, "passed", 1);
	expect_bool(s, "skipped", 0);
	expect_num(s, "duration_s", 5.5);
	expect_int(s, "acked", 420);
	expect_int(s, "lost", 0);
	expect_int(s, "duplicated", 0);
	expect_int(s, "holes", 0);
	expect_int(s, "corrupt", 0);
	expect_int(s, "corruptions_injected", 3);
	expect_int(s, "corruptions_detected", 3);
	expect_int(s, "acks_after_io_error", 0);
	expect_num(s, "recovery_seconds", 1.25);
	expect_num(l, "p50", 2.5);
	expect_num(l, "p90", 9.75);
	expect_num(l, "p99", 29.5);
	expect_num(l, "max", 1234.5);
	expect_str(s, "replay", "vellum chaos run --scenario kill --seed 18446744073709551615");
	expect_str(s, "verdict", "all acknowledged events present");
	expect_str(s, "limits", nasty_limits);
	json_t *w = json_object_get(s, "windows");
	expect_num(json_array_get(w, 0), "start_s", 1.5);
	expect_num(json_array_get(w, 0), "end_s", 3.25);
	expect_str(json_array_get(w, 0), "what", "kill -9 <server> & \"restart\"");
	expect_num(json_array_get(w, 1), "start_s", 4);
	expect_null(json_array_get(w, 1), "end_s");
	expect_str(json_array_get(w, 1), "what", "latency=50~10 until the end");
	json_t *sm = json_object_get(s, "samples");
	for (size_t k = 0; k < 5; k++) {
		json_t *o = json_array_get(sm, k);
		expect_num(o, "t_s", smp0[k].t_s);
		expect_int(o, "acked", (json_int_t)smp0[k].acked);
		expect_int(o, "failed", (json_int_t)smp0[k].failed);
		expect_int(o, "unknown", (json_int_t)smp0[k].unknown);
		expect_num(o, "p50_ms", smp0[k].p50_ms);
		expect_num(o, "p99_ms", smp0[k].p99_ms);
	}

	/* The scenario that failed. */
	s = json_array_get(sc, 1), l = json_object_get(s, "latency_ms");
	expect_str(s, "name", "part<&>");
	expect_str(s, "seed", "42");
	expect_str(s, "status", "fail");
	expect_bool(s, "passed", 0);
	expect_bool(s, "skipped", 0);
	expect_num(s, "duration_s", 3);
	expect_int(s, "acked", 7);
	expect_int(s, "lost", 2);
	expect_int(s, "duplicated", 1);
	expect_int(s, "holes", 1);
	expect_int(s, "corrupt", 4);
	expect_int(s, "corruptions_injected", 5);
	expect_int(s, "corruptions_detected", 4);
	expect_int(s, "acks_after_io_error", 6);
	expect_null(s, "recovery_seconds");
	expect_num(l, "p50", 1);
	expect_num(l, "p90", 1.5);
	expect_num(l, "p99", 2);
	expect_num(l, "max", 2);
	expect_str(s, "replay", "vellum chaos run --scenario 'part<&>' --seed 42");
	expect_str(s, "verdict", nasty_verdict_json);
	expect_str(s, "limits", "one direction");
	w = json_array_get(json_object_get(s, "windows"), 0);
	expect_num(w, "start_s", 2);
	expect_num(w, "end_s", 100);
	expect_str(w, "what", "blackhole past the last sample");
	json_t *o = json_array_get(json_object_get(s, "samples"), 0);
	expect_num(o, "t_s", 0);
	expect_int(o, "acked", 7);
	expect_int(o, "failed", 0);
	expect_int(o, "unknown", 1);
	expect_num(o, "p50_ms", 1);
	expect_num(o, "p99_ms", 2);

	/* The skipped one: numbers that are not finite, or negative, are null. */
	s = json_array_get(sc, 2), l = json_object_get(s, "latency_ms");
	expect_str(s, "name", "disk-full");
	expect_str(s, "seed", "0");
	expect_str(s, "status", "skipped");
	expect_bool(s, "passed", 0);
	expect_bool(s, "skipped", 1);
	expect_null(s, "duration_s");
	expect_null(s, "recovery_seconds");
	expect_null(l, "p50");
	expect_null(l, "p90");
	expect_null(l, "p99");
	expect_null(l, "max");
	expect_str(s, "verdict", "skipped: needs root");
	expect_str(s, "limits", "not run");

	json_decref(j);
	rm_report(dir);
	free(dir);
}

/* Skipped scenarios do not fail the run; one failure does. */
static void test_json_passed(void **state)
{
	(void)state;
	vc_result r[3];
	char err[256];
	char *dir = tmpdir_new();

	fill(r);
	r[1].passed = 1;
	assert_int_equal(vc_report_write(dir, "cmd", r, 3, err, sizeof err), 0);
	json_t *j = load_json(dir, 0);
	expect_bool(j, "passed", 1);
	json_decref(j);

	/* A skipped scenario marked passed is still reported as not passed. */
	r[2].passed = 1;
	assert_int_equal(vc_report_write(dir, "cmd", r + 2, 1, err, sizeof err), 0);
	j = load_json(dir, 0);
	expect_bool(j, "passed", 1);
	json_t *s = json_array_get(json_object_get(j, "scenarios"), 0);
	expect_bool(s, "passed", 0);
	expect_str(s, "status", "skipped");
	json_decref(j);

	r[0].passed = 0;
	assert_int_equal(vc_report_write(dir, "cmd", r, 3, err, sizeof err), 0);
	j = load_json(dir, 0);
	expect_bool(j, "passed", 0);
	json_decref(j);
	rm_report(dir);
	free(dir);
}

/* ------------------------------------------------------------ report.html */

static void test_html(void **state)
{
	(void)state;
	vc_result r[3];
	char err[256];
	char *dir = tmpdir_new();

	fill(r);
	assert_int_equal(vc_report_write(dir, nasty_command, r, 3, err, sizeof err), 0);
	char *h = slurp(dir, "report.html");

	assert_true(has(h, "<!DOCTYPE html>"));
	assert_true(has(h, "<meta charset=\"utf-8\">"));
	assert_true(has(h, "<title>vellum chaos report</title>"));
	assert_true(has(h, "</html>\n"));
	/* Self-contained: nothing fetched, no script. */
	assert_false(has_ci(h, "<script"));
	assert_false(has_ci(h, "src="));
	assert_false(has_ci(h, "<link"));
	assert_false(has_ci(h, "@import"));
	assert_false(has_ci(h, "url(http"));
	assert_false(has_ci(h, "href=\"http"));

	/* The command, escaped. */
	assert_true(has(h, "vellum chaos run --out &#39;&lt;dir&gt;&#39; &amp;&amp; echo "
	                   "&quot;done&quot;"));
	/* The nasty verdict: escaped, the newline and non-ASCII kept, the
	 * control character and the invalid byte replaced. */
	assert_true(has(h, "lost 2 of &quot;these&quot; &lt;script&gt;alert(&#39;x&#39;)"
	                   "&lt;/script&gt; &amp; more\nsecond line\tünïcödé ✓ \xef\xbf\xbd bad "
	                   "byte \xef\xbf\xbd end \\ slash"));
	assert_false(has(h, "\xff"));
	assert_false(has(h, "\x01"));
	assert_true(has(h, "no &lt;b&gt;disks&lt;/b&gt; &amp; &quot;no&quot; power loss\n"
	                   "önly löopback"));
	assert_false(has(h, "<b>disks</b>"));
	assert_true(has(h, "part&lt;&amp;&gt;"));
	assert_false(has(h, "part<&>"));
	assert_true(has(h, "vellum chaos run --scenario &#39;part&lt;&amp;&gt;&#39; --seed 42"));

	/* The verdict table: one row per scenario, coloured. */
	assert_int_equal(count(h, "<span class=\"st pass\">PASS</span>"), 2);
	assert_int_equal(count(h, "<span class=\"st fail\">FAIL</span>"), 2);
	assert_int_equal(count(h, "<span class=\"st skipped\">SKIPPED</span>"), 2);
	assert_int_equal(count(h, "<span class=\"st fail\">FAILED</span>"), 1);
	assert_true(has(h, ".pass{background:#1a7f37}"));
	assert_true(has(h, ".fail{background:#cf222e}"));
	assert_true(has(h, "<td>1.25</td>"));    /* recovery */
	assert_true(has(h, "<td>3 / 3</td>"));   /* corruptions injected / detected */
	assert_true(has(h, "<td>2.5 / 29.5</td>")); /* p50 / p99 */
	assert_true(has(h, "<td>5 / 4</td>"));
	assert_true(has(h, "vellum chaos run --scenario kill --seed 18446744073709551615"));

	/* Two charts per scenario, each with the windows shaded and labelled. */
	assert_int_equal(count(h, "<svg"), 6);
	assert_int_equal(count(h, "</svg>"), 6);
	assert_int_equal(count(h, "Throughput (events per second)"), 3);
	assert_int_equal(count(h, "Latency of acknowledged requests"), 3);
	assert_int_equal(count(h, "<rect class=\"window\""), 2 * 3);
	assert_int_equal(count(h, "kill -9 &lt;server&gt; &amp; &quot;restart&quot;</text>"), 2);
	assert_int_equal(count(h, "blackhole past the last sample</text>"), 2);
	assert_int_equal(count(h, "<polyline"), 3 + 2 * 2); /* p50, p99 broken by sample 2 */
	assert_true(has(h, "fault window</text>"));
	assert_true(has(h, "acknowledged</text>"));
	assert_true(has(h, "p99</text>"));
	assert_true(has(h, "seconds since the load began"));
	assert_true(has(h, "no samples"));
	expect_finite_svgs(h);

	/* The limits. */
	assert_true(has(h, "Limits of what was tested"));
	assert_true(has(h, "one machine"));
	assert_true(has(h, "loopback"));
	assert_true(has(h, "<li><b>disk-full</b>: <span class=\"limits\">not run</span></li>"));
	assert_true(has(h, "<li><b>part&lt;&amp;&gt;</b>: <span class=\"limits\">one direction"));

	free(h);
	rm_report(dir);
	free(dir);
}

/* ------------------------------------------------------------ edge cases */

static void test_no_results(void **state)
{
	(void)state;
	char err[256];
	char *dir = tmpdir_new();

	assert_int_equal(vc_report_write(dir, NULL, NULL, 0, err, sizeof err), 0);
	json_t *j = load_json(dir, 0);
	expect_keys(j, top_keys);
	expect_str(j, "command", "");
	expect_bool(j, "passed", 1);
	assert_int_equal(json_array_size(json_object_get(j, "scenarios")), 0);
	json_decref(j);
	char *h = slurp(dir, "report.html");
	assert_int_equal(count(h, "<svg"), 0);
	assert_true(has(h, "No scenario ran."));
	assert_true(has(h, "Limits of what was tested"));
	assert_true(has(h, "</html>"));
	free(h);
	rm_report(dir);
	free(dir);
}

static void test_no_samples(void **state)
{
	(void)state;
	vc_result r;
	vc_window w = {0, -1, "reset for ever"};
	char err[256];
	char *dir = tmpdir_new();

	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "empty");
	r.passed = 1;
	r.recovery_seconds = -1;
	r.windows = &w, r.n_windows = 1;
	assert_int_equal(vc_report_write(dir, "c", &r, 1, err, sizeof err), 0);
	json_t *j = load_json(dir, 0);
	json_t *s = json_array_get(json_object_get(j, "scenarios"), 0);
	expect_keys(s, scenario_keys);
	assert_int_equal(json_array_size(json_object_get(s, "samples")), 0);
	expect_num(s, "duration_s", 0);
	expect_null(json_array_get(json_object_get(s, "windows"), 0), "end_s");
	json_decref(j);
	char *h = slurp(dir, "report.html");
	assert_int_equal(count(h, "<svg"), 2);
	assert_int_equal(count(h, "<rect class=\"window\""), 2);
	assert_int_equal(count(h, "no samples</text>"), 2);
	assert_int_equal(count(h, "<polyline"), 0);
	expect_finite_svgs(h);
	free(h);
	rm_report(dir);
	free(dir);
}

/* Huge and non-finite numbers, strings filling their fields (no NUL). */
static void test_extremes(void **state)
{
	(void)state;
	vc_result r;
	vc_window w[3] = {{1e300, 1e301, "far"}, {NAN, INFINITY, "not finite"}, {-5, -1, "neg"}};
	vc_sample s[3] = {{0, UINT64_MAX, UINT64_MAX / 2, 1, 1e300, INFINITY},
	                  {NAN, 5, 5, 5, NAN, -3},
	                  {1e9, 0, 0, 0, 1e-300, 5e-324}};
	char err[256];
	char *dir = tmpdir_new();

	memset(&r, 0, sizeof r);
	memset(r.name, 'n', sizeof r.name);
	memset(r.replay, 'r', sizeof r.replay);
	memset(r.verdict, '<', sizeof r.verdict);
	memset(r.limits, '"', sizeof r.limits);
	memset(w[0].what, '&', sizeof w[0].what);
	r.seed = 1;
	r.acked = UINT64_MAX;
	r.duration_s = 1e308;
	r.recovery_seconds = INFINITY;
	r.p50_ms = 1e-320, r.p90_ms = -0.0, r.p99_ms = DBL_MAX, r.max_ms = NAN;
	r.windows = w, r.n_windows = 3;
	r.samples = s, r.n_samples = 3;
	assert_int_equal(vc_report_write(dir, "c", &r, 1, err, sizeof err), 0);

	/* Integers beyond jansson's range are read as reals. */
	json_t *j = load_json(dir, JSON_DECODE_INT_AS_REAL);
	json_t *sc = json_array_get(json_object_get(j, "scenarios"), 0);
	char want[1025];
	memset(want, 'n', 32), want[32] = 0;
	expect_str(sc, "name", want);
	memset(want, 'r', 512), want[512] = 0;
	expect_str(sc, "replay", want);
	memset(want, '<', 1024), want[1024] = 0;
	expect_str(sc, "verdict", want);
	memset(want, '"', 512), want[512] = 0;
	expect_str(sc, "limits", want);
	expect_num(sc, "acked", 18446744073709551615.0);
	expect_num(sc, "duration_s", 1e308);
	expect_null(sc, "recovery_seconds");
	json_t *l = json_object_get(sc, "latency_ms");
	expect_num(l, "p50", 1e-320);
	expect_num(l, "p90", 0);
	expect_num(l, "p99", DBL_MAX);
	expect_null(l, "max");
	json_t *wa = json_object_get(sc, "windows");
	expect_num(json_array_get(wa, 0), "start_s", 1e300);
	expect_num(json_array_get(wa, 0), "end_s", 1e301);
	memset(want, '&', 96), want[96] = 0;
	expect_str(json_array_get(wa, 0), "what", want);
	expect_null(json_array_get(wa, 1), "start_s");
	expect_null(json_array_get(wa, 1), "end_s");
	expect_num(json_array_get(wa, 2), "start_s", -5);
	expect_null(json_array_get(wa, 2), "end_s");
	json_t *sa = json_object_get(sc, "samples");
	expect_num(json_array_get(sa, 0), "acked", 18446744073709551615.0);
	expect_num(json_array_get(sa, 0), "p50_ms", 1e300);
	expect_null(json_array_get(sa, 0), "p99_ms");
	expect_null(json_array_get(sa, 1), "t_s");
	expect_null(json_array_get(sa, 1), "p50_ms");
	expect_null(json_array_get(sa, 1), "p99_ms");
	expect_num(json_array_get(sa, 2), "t_s", 1e9);
	expect_num(json_array_get(sa, 2), "p99_ms", 5e-324);
	json_decref(j);

	char *h = slurp(dir, "report.html");
	assert_int_equal(count(h, "<svg"), 2);
	assert_int_equal(count(h, "<rect class=\"window\""), 6);
	expect_finite_svgs(h);
	/* Huge numbers for people have an exponent, not 300 digits. */
	assert_false(has(h, "0000000000000000000000"));
	assert_true(has(h, "<td>1e+300</td><td>1e+301</td>"));
	free(h);
	rm_report(dir);
	free(dir);
}

/* The directory is created, parents too; a report already there is
 * replaced. */
static void test_dirs(void **state)
{
	(void)state;
	char err[256], sub[1024], mid[1024];
	char *dir = tmpdir_new();

	snprintf(mid, sizeof mid, "%s/a", dir);
	snprintf(sub, sizeof sub, "%s/a/b/", dir);
	assert_int_equal(vc_report_write(sub, "first", NULL, 0, err, sizeof err), 0);
	assert_int_equal(vc_report_write(sub, "second", NULL, 0, err, sizeof err), 0);
	json_t *j = load_json(sub, 0);
	expect_str(j, "command", "second");
	json_decref(j);
	snprintf(sub, sizeof sub, "%s/a/b", dir);
	rm_report(sub);
	rmdir(mid);
	rmdir(dir);
	free(dir);
}

static void test_errors(void **state)
{
	(void)state;
	vc_result r;
	char err[256], path[1024];
	char *dir = tmpdir_new();

	memset(&r, 0, sizeof r);
	err[0] = 0;
	assert_int_equal(vc_report_write(NULL, "c", NULL, 0, err, sizeof err), VL_EINVAL);
	assert_true(err[0] != 0);
	assert_int_equal(vc_report_write(dir, "c", NULL, 1, err, sizeof err), VL_EINVAL);
	r.n_samples = 2;
	assert_int_equal(vc_report_write(dir, "c", &r, 1, err, sizeof err), VL_EINVAL);
	r.n_samples = 0;
	r.n_windows = 1;
	assert_int_equal(vc_report_write(dir, "c", &r, 1, err, sizeof err), VL_EINVAL);
	/* No error buffer: still an error, no crash. */
	assert_int_equal(vc_report_write(dir, "c", &r, 1, NULL, 0), VL_EINVAL);

	/* DIR is a file. */
	snprintf(path, sizeof path, "%s/file", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	err[0] = 0;
	int rc = vc_report_write(path, "c", NULL, 0, err, sizeof err);
	assert_true(rc < 0);
	assert_non_null(strstr(err, path));
	/* Under a file. */
	snprintf(path, sizeof path, "%s/file/sub", dir);
	assert_true(vc_report_write(path, "c", NULL, 0, err, sizeof err) < 0);
	snprintf(path, sizeof path, "%s/file", dir);
	unlink(path);
	/* report.json is a directory: renaming over it fails, nothing left. */
	snprintf(path, sizeof path, "%s/report.json", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/report.json/x", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	err[0] = 0;
	assert_true(vc_report_write(dir, "c", NULL, 0, err, sizeof err) < 0);
	assert_non_null(strstr(err, "report.json"));
	snprintf(path, sizeof path, "%s/report.json.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%s/report.json/x", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/report.json", dir);
	rmdir(path);
	rm_report(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_fields), cmocka_unit_test(test_json_passed),
		cmocka_unit_test(test_html),        cmocka_unit_test(test_no_results),
		cmocka_unit_test(test_no_samples),  cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_dirs),        cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
