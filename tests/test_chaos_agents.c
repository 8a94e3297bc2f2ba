/*
 * test_chaos_agents.c — the agent load of `vellum chaos run`
 * (src/chaos/agents.c): its lines (deterministic, JSON, parsed back,
 * strict), and its checker on logs built here with libvellum, each with
 * one known fault — a line lost, duplicated, out of order, damaged,
 * forwarded under another agent, origin or spool index, never written, or
 * an entry that is no line at all.  And the agent's clock check
 * (src/agent/entry.c, va_clock_check), which the clock-skew scenario
 * relies on to see an agent's clock go back.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agents.h"
#include "chaos.h"
#include "entry.h"
#include "envelope.h"
#include "vellum.h"

#define SEED 777

static char tmpdir[256];
static vl_signer *signer;
static int counter;

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vellum-test-chaos-agents-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	char *skey, *vkey;
	if (vl_key_generate("chaos.test/agents", &skey, &vkey) != 0)
		return -1;
	int rc = vl_signer_parse(skey, &signer);
	free(skey);
	free(vkey);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	vl_signer_free(signer);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lines.                                                              */

static void lines_deterministic_json(void **state)
{
	(void)state;
	char a[VC_AGENT_LINE_MAX], b[VC_AGENT_LINE_MAX];
	size_t min = SIZE_MAX, max = 0;
	for (unsigned ag = 0; ag < 3; ag++) {
		for (uint64_t n = 0; n < 2000; n++) {
			size_t la = vc_agent_line(SEED, ag, n, a);
			assert_int_equal(la, vc_agent_line(SEED, ag, n, b));
			assert_memory_equal(a, b, la);
			assert_true(la < VC_AGENT_LINE_MAX);
			assert_null(memchr(a, '\n', la));
			min = la < min ? la : min;
			max = la > max ? la : max;
			/* Valid JSON with the fields it claims. */
			json_error_t jerr;
			json_t *j = json_loadb(a, la, 0, &jerr);
			assert_non_null(j);
			char seed[24];
			snprintf(seed, sizeof seed, "%d", SEED);
			assert_string_equal(json_string_value(json_object_get(j, "chaos-agent")), seed);
			assert_int_equal(json_integer_value(json_object_get(j, "agent")), ag);
			assert_int_equal(json_integer_value(json_object_get(j, "n")), n);
			json_decref(j);
			/* Parsed back. */
			uint64_t s, m;
			unsigned g;
			assert_int_equal(vc_agent_line_parse(a, la, &s, &g, &m), 1);
			assert_int_equal(s, SEED);
			assert_int_equal(g, ag);
			assert_int_equal(m, n);
		}
	}
	/* Sizes vary over the pad's range (16..200 hex digits). */
	assert_true(max - min > 150);
	/* Agents, numbers and seeds give different lines. */
	size_t l0 = vc_agent_line(SEED, 0, 5, a), l1 = vc_agent_line(SEED, 1, 5, b);
	assert_false(l0 == l1 && memcmp(a, b, l0) == 0);
	l0 = vc_agent_line(SEED, 0, 5, a);
	l1 = vc_agent_line(SEED + 1, 0, 5, b);
	assert_false(l0 == l1 && memcmp(a, b, l0) == 0);
	/* The exact bytes of one line, so a change of the format is seen. */
	l0 = vc_agent_line(1, 2, 3, a);
	assert_true(l0 > 40);
	assert_memory_equal(a, "{\"chaos-agent\":\"1\",\"agent\":2,\"n\":3,\"pad\":\"", 41);
	assert_memory_equal(a + l0 - 2, "\"}", 2);
}

static void lines_parse_rejects(void **state)
{
	(void)state;
	char a[VC_AGENT_LINE_MAX + 8];
	uint64_t s, n;
	unsigned g;
	size_t l = vc_agent_line(SEED, 1, 42, a);
	/* Every proper prefix. */
	for (size_t k = 0; k < l; k++)
		assert_int_equal(vc_agent_line_parse(a, k, &s, &g, &n), 0);
	/* A byte more, a newline included. */
	a[l] = '\n';
	assert_int_equal(vc_agent_line_parse(a, l + 1, &s, &g, &n), 0);
	static const char *const bad[] = {
	    "{\"chaos-agent\":\"07\",\"agent\":1,\"n\":3,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos-agent\":\"7\",\"agent\":01,\"n\":3,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos-agent\":\"7\",\"agent\":1,\"n\":-3,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos-agent\":\"7\",\"agent\":1,\"n\":3,\"pad\":\"0123456789abcde\"}",
	    "{\"chaos-agent\":\"7\",\"agent\":1,\"n\":3,\"pad\":\"0123456789ABCDEF\"}",
	    "{\"chaos-agent\":\"7\",\"agent\":256,\"n\":3,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos-agent\":\"7\",\"n\":3,\"agent\":1,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"7\",\"n\":3,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos-agent\":\"18446744073709551616\",\"agent\":1,\"n\":3,\"pad\":"
	    "\"0123456789abcdef\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(vc_agent_line_parse(bad[i], strlen(bad[i]), &s, &g, &n), 0);
	const char *good = "{\"chaos-agent\":\"7\",\"agent\":0,\"n\":0,\"pad\":\"0123456789abcdef\"}";
	assert_int_equal(vc_agent_line_parse(good, strlen(good), &s, &g, &n), 1);
	assert_int_equal(s, 7);
	assert_int_equal(g, 0);
	assert_int_equal(n, 0);
}

/* ------------------------------------------------------------------ */
/* Synthetic logs.                                                     */

#define ORIGIN0 "file:/tmp/chaos/agent-0/lines"
#define ORIGIN1 "file:/tmp/chaos/agent-1/lines"

static const vc_agents_want want2[2] = {{"chaos-agent-0", ORIGIN0, 0},
                                        {"chaos-agent-1", ORIGIN1, 0}};

enum kind {
	K_LINE,        /* line N of agent A, as forwarded */
	K_DAMAGED,     /* its bytes changed */
	K_OTHER_AGENT, /* forwarded under the other agent's id */
	K_OTHER_ORIGIN,
	K_OTHER_INDEX, /* spool index N + 1 */
	K_NO_AGENT,    /* posted over HTTP, no agent lines */
	K_FOREIGN,     /* an envelope whose event is no line */
	K_RAW,         /* not an envelope */
};

struct spec {
	enum kind kind;
	unsigned agent;
	uint64_t n;
};

static size_t entry_for(struct spec sp, uint8_t *out)
{
	char ev[VC_AGENT_LINE_MAX];
	size_t l = vc_agent_line(SEED, sp.agent, sp.n, ev);
	const vc_agents_want *w = &want2[sp.agent];
	vs_envelope e = {.received = {1700000000, 5},
	                 .principal = "admin",
	                 .transport = "agent",
	                 .content_type = "text/plain",
	                 .agent = w->id,
	                 .spool_index = sp.n,
	                 .spooled = {1700000000, 1},
	                 .origin = w->origin};
	switch (sp.kind) {
	case K_DAMAGED:
		ev[l - 3] = ev[l - 3] == '0' ? '1' : '0';
		break;
	case K_OTHER_AGENT:
		e.agent = want2[1 - sp.agent].id;
		break;
	case K_OTHER_ORIGIN:
		e.origin = want2[1 - sp.agent].origin;
		break;
	case K_OTHER_INDEX:
		e.spool_index = sp.n + 1;
		break;
	case K_NO_AGENT:
		e.agent = NULL;
		e.origin = NULL;
		e.transport = "http";
		break;
	case K_FOREIGN:
		memcpy(ev, "{\"hello\":1}", 11);
		l = 11;
		break;
	case K_RAW:
		memcpy(out, "not an envelope", 15);
		return 15;
	default:
		break;
	}
	vs_envelope_template t;
	assert_int_equal(vs_envelope_template_init(&t, &e), 0);
	size_t h = vs_envelope_template_write(&t, NULL, 0, out, VL_ENTRY_MAX);
	assert_true(h > 0);
	memcpy(out + h, ev, l);
	return h + l;
}

/* A log in a fresh directory holding SPECS in order; its path in DIR. */
static void make_log(char *dir, size_t cap, const struct spec *specs, size_t n)
{
	snprintf(dir, cap, "%s/log-%d", tmpdir, counter++);
	vl_log *log;
	assert_int_equal(vl_log_create(dir, signer, NULL, &log), 0);
	uint8_t *buf = malloc(VL_ENTRY_MAX);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		size_t l = entry_for(specs[i], buf);
		vl_entry e = {buf, l};
		uint64_t at;
		assert_int_equal(vl_log_append(log, &e, 1, &at), 0);
		assert_int_equal(at, i);
	}
	free(buf);
	assert_int_equal(vl_log_close(log), 0);
}

/* Agent 0 wrote 0..W0-1 and agent 1 0..W1-1; the log holds SPECS. */
static vc_agents_counts check(const struct spec *specs, size_t n, uint64_t w0, uint64_t w1)
{
	char dir[512], err[512] = "";
	make_log(dir, sizeof dir, specs, n);
	vc_agents_want w[2] = {want2[0], want2[1]};
	w[0].written = w0;
	w[1].written = w1;
	vc_agents_counts c;
	assert_int_equal(vc_agents_check_log(dir, SEED, w, 2, &c, err, sizeof err), 0);
	assert_int_equal(c.lines, w0 + w1);
	assert_int_equal(c.log_size, n);
	return c;
}

/* The log of two agents that wrote 4 and 3 lines, interleaved as the
 * server may receive them: every line once, in order. */
#define L(a, n) {K_LINE, a, n}
static const struct spec good[] = {L(0, 0), L(1, 0), L(0, 1), L(0, 2), L(1, 1),
                                   L(1, 2), L(0, 3)};
#define N_GOOD (sizeof good / sizeof good[0])

static void expect(vc_agents_counts c, uint64_t lost, uint64_t dup, uint64_t reord,
                   uint64_t corrupt, const char *problem)
{
	assert_int_equal(c.lost, lost);
	assert_int_equal(c.duplicated, dup);
	assert_int_equal(c.reordered, reord);
	assert_int_equal(c.corrupt, corrupt);
	if (problem)
		assert_non_null(strstr(c.first_problem, problem));
	else
		assert_string_equal(c.first_problem, "");
}

static void check_all_good(void **state)
{
	(void)state;
	expect(check(good, N_GOOD, 4, 3), 0, 0, 0, 0, NULL);
	/* Nothing written, nothing in the log: no problem (the scenario
	 * itself fails a run in which no line was written). */
	vc_agents_counts c = check(NULL, 0, 0, 0);
	assert_int_equal(c.lines, 0);
	expect(c, 0, 0, 0, 0, NULL);
}

static void check_lost(void **state)
{
	(void)state;
	/* A line missing in the middle (as a deleted spool segment would
	 * make it), and the newest line missing (not forwarded). */
	struct spec s[N_GOOD];
	memcpy(s, good, sizeof good);
	memmove(s + 2, s + 3, (N_GOOD - 3) * sizeof *s); /* drop line 1 of agent 0 */
	expect(check(s, N_GOOD - 1, 4, 3), 1, 0, 0, 0, "line 1 of agent 0 (of 4 written)");
	expect(check(good, N_GOOD, 4, 4), 1, 0, 0, 0, "line 3 of agent 1");
}

static void check_duplicated(void **state)
{
	(void)state;
	struct spec s[N_GOOD + 1];
	memcpy(s, good, sizeof good);
	s[N_GOOD] = (struct spec)L(0, 3); /* sent again, written again */
	expect(check(s, N_GOOD + 1, 4, 3), 0, 1, 0, 0, "line 3 of agent 0 is in the log more");
}

static void check_reordered(void **state)
{
	(void)state;
	struct spec s[N_GOOD];
	memcpy(s, good, sizeof good);
	/* Lines 1 and 2 of agent 0 swapped: one entry out of order, nothing
	 * lost. */
	s[2] = (struct spec)L(0, 2);
	s[3] = (struct spec)L(0, 1);
	expect(check(s, N_GOOD, 4, 3), 0, 0, 1, 0, "line 1 of agent 0 is at entry 3, after its line 2");
}

static void check_corrupt(void **state)
{
	(void)state;
	static const struct {
		enum kind kind;
		int present; /* the line still counts as there (not lost) */
		const char *problem;
	} cases[] = {
	    {K_DAMAGED, 1, "its bytes differ"},
	    {K_OTHER_AGENT, 1, "another agent"},
	    {K_OTHER_ORIGIN, 1, "another origin"},
	    {K_OTHER_INDEX, 1, "spool index is not its line number"},
	    {K_NO_AGENT, 1, "another agent"},
	    {K_FOREIGN, 0, "no line of this run"},
	    {K_RAW, 0, "not an event envelope"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct spec s[N_GOOD];
		memcpy(s, good, sizeof good);
		s[4].kind = cases[i].kind; /* line 1 of agent 1 */
		expect(check(s, N_GOOD, 4, 3), cases[i].present ? 0 : 1, 0, 0, 1, cases[i].problem);
	}
	/* A line of the right shape that was never written (agent 1 wrote
	 * only 2 lines here, yet line 2 is in the log). */
	expect(check(good, N_GOOD, 4, 2), 0, 0, 0, 1, "line 2 of agent 1, which wrote only 2");
	/* Another seed's line is no line of this run. */
	char dir[512], err[512];
	make_log(dir, sizeof dir, good, N_GOOD);
	vc_agents_want w[2] = {want2[0], want2[1]};
	w[0].written = 4;
	w[1].written = 3;
	vc_agents_counts c;
	assert_int_equal(vc_agents_check_log(dir, SEED + 1, w, 2, &c, err, sizeof err), 0);
	assert_int_equal(c.corrupt, N_GOOD);
	assert_int_equal(c.lost, 7);
	/* An agent beyond COUNT: its lines are no line of this run. */
	assert_int_equal(vc_agents_check_log(dir, SEED, w, 1, &c, err, sizeof err), 0);
	assert_int_equal(c.corrupt, 3);
	assert_int_equal(c.lost, 0);
	/* No log there: an error, not a verdict. */
	char missing[600];
	snprintf(missing, sizeof missing, "%s/none", tmpdir);
	assert_true(vc_agents_check_log(missing, SEED, w, 2, &c, err, sizeof err) < 0);
	assert_non_null(strstr(err, "cannot open the log"));
	assert_true(vc_agents_check_log(dir, SEED, w, 0, &c, err, sizeof err) < 0);
}

/* ------------------------------------------------------------------ */
/* The agent's clock check.                                            */

static void clock_backwards(void **state)
{
	(void)state;
	const int64_t S = 1000000000LL, T = 1700000000LL * S;
	va_clock c = {0};
	/* Forward, and back within the slack: nothing. */
	assert_int_equal(va_clock_check(&c, T), 0);
	assert_int_equal(va_clock_check(&c, T + 5 * S), 0);
	assert_int_equal(va_clock_check(&c, T + 4 * S), 0);
	assert_int_equal(c.newest_ns, T + 5 * S);
	assert_int_equal(c.backwards, 0);
	/* Ten minutes back: reported with how far, counted; the newest time
	 * stays. */
	assert_int_equal(va_clock_check(&c, T + 5 * S - 600 * S), 600 * S);
	assert_int_equal(c.backwards, 1);
	assert_int_equal(c.newest_ns, T + 5 * S);
	/* Still behind: counted, not reported again within a minute. */
	assert_int_equal(va_clock_check(&c, T + 5 * S - 590 * S), 0);
	assert_int_equal(c.backwards, 2);
	/* A minute later, still behind: reported again. */
	assert_int_equal(va_clock_check(&c, T + 5 * S - 530 * S), 530 * S);
	/* Further back than the last warning: reported at once. */
	assert_int_equal(va_clock_check(&c, T - 900 * S), 905 * S);
	assert_int_equal(c.backwards, 4);
	/* Forward again past the newest time: fine, and the new newest. */
	assert_int_equal(va_clock_check(&c, T + 6 * S), 0);
	assert_int_equal(c.newest_ns, T + 6 * S);
	assert_int_equal(c.backwards, 4);
	/* A clock steadily ahead is never "backwards". */
	va_clock d = {0};
	for (int i = 0; i < 100; i++)
		assert_int_equal(va_clock_check(&d, T + 1800 * S + i * S / 10), 0);
	assert_int_equal(d.backwards, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines_deterministic_json),
	    cmocka_unit_test(lines_parse_rejects),
	    cmocka_unit_test(check_all_good),
	    cmocka_unit_test(check_lost),
	    cmocka_unit_test(check_duplicated),
	    cmocka_unit_test(check_reordered),
	    cmocka_unit_test(check_corrupt),
	    cmocka_unit_test(clock_backwards),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
