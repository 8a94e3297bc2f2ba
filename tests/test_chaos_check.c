/*
 * test_chaos_check.c — `vellum chaos run`'s random numbers, events,
 * history records, answer parser, load client (against a small HTTP
 * server in this file that appends to a real log) and the checker (on
 * logs built here with libvellum, each with one known fault).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chaos.h"
#include "client_internal.h"
#include "envelope.h"
#include "note.h"
#include "vellum.h"

#define SEED 42

static char tmpdir[256];
static vl_signer *signer;
static int counter;

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vellum-test-chaos-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	char *skey, *vkey;
	if (vl_key_generate("chaos.test/log", &skey, &vkey) != 0)
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

/* A fresh path under tmpdir. */
static void fresh(char *out, size_t cap, const char *what)
{
	snprintf(out, cap, "%s/%s-%d", tmpdir, what, counter++);
}

/* ------------------------------------------------------------------ */
/* Random numbers.                                                     */

static void rng_same_seed(void **state)
{
	(void)state;
	vc_rng a, b, c;
	vc_rng_seed(&a, 12345);
	vc_rng_seed(&b, 12345);
	vc_rng_seed(&c, 12346);
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = vc_rng_next(&a);
		assert_int_equal(x, vc_rng_next(&b));
		differ += x != vc_rng_next(&c);
	}
	assert_true(differ > 990);
	/* The state comes from splitmix64: its first output for seed 0. */
	vc_rng_seed(&a, 0);
	assert_int_equal(a.s[0], 0xe220a8397b1dcdafull);
}

static void rng_below_unit(void **state)
{
	(void)state;
	vc_rng r;
	vc_rng_seed(&r, 7);
	const uint64_t ns[] = {1, 2, 3, 7, 1000, (1ull << 63) + 1, UINT64_MAX};
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
		for (int i = 0; i < 2000; i++)
			assert_true(vc_rng_below(&r, ns[k]) < ns[k]);
	/* Uniformity smoke: 60000 draws of 6 values, each within 6 sigma
	 * (sigma ~ 91) of 10000. */
	uint64_t count[6] = {0};
	for (int i = 0; i < 60000; i++)
		count[vc_rng_below(&r, 6)]++;
	for (int i = 0; i < 6; i++)
		assert_true(count[i] > 9400 && count[i] < 10600);
	double sum = 0;
	for (int i = 0; i < 100000; i++) {
		double u = vc_rng_unit(&r);
		assert_true(u >= 0 && u < 1);
		sum += u;
	}
	assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
}

static void rng_derive(void **state)
{
	(void)state;
	uint64_t a = vc_rng_derive(1, "kill-9");
	assert_int_equal(a, vc_rng_derive(1, "kill-9"));
	assert_int_not_equal(a, vc_rng_derive(1, "kill-8"));
	assert_int_not_equal(a, vc_rng_derive(2, "kill-9"));
	assert_int_not_equal(vc_rng_derive(1, ""), vc_rng_derive(1, "a"));
	assert_int_not_equal(vc_rng_derive(0, "x"), vc_rng_derive(1, "x"));
}

/* ------------------------------------------------------------------ */
/* Events.                                                             */

static void events_deterministic_json(void **state)
{
	(void)state;
	char a[VC_EVENT_MAX], b[VC_EVENT_MAX];
	const uint64_t seeds[] = {0, 1, SEED, UINT64_MAX};
	const uint64_t ns[] = {0, 1, 2, 999, 123456789, UINT64_MAX};
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 6; j++) {
			size_t la = vc_event(seeds[i], ns[j], a);
			size_t lb = vc_event(seeds[i], ns[j], b);
			assert_int_equal(la, lb);
			assert_memory_equal(a, b, la);
			assert_true(la < VC_EVENT_MAX);
			json_error_t jerr;
			int big = ns[j] > INT64_MAX;
			size_t flags = JSON_REJECT_DUPLICATES | (big ? JSON_DECODE_INT_AS_REAL : 0);
			json_t *o = json_loadb(a, la, flags, &jerr);
			assert_non_null(o);
			assert_int_equal(json_object_size(o), 3);
			char want[32];
			snprintf(want, sizeof want, "%" PRIu64, seeds[i]);
			assert_string_equal(json_string_value(json_object_get(o, "chaos")), want);
			/* jansson holds integers as long long: compare as text. */
			char *n = json_dumps(json_object_get(o, "n"), JSON_ENCODE_ANY);
			snprintf(want, sizeof want, "%" PRIu64, ns[j]);
			if (!big)
				assert_string_equal(n, want);
			free(n);
			const char *pad = json_string_value(json_object_get(o, "pad"));
			assert_non_null(pad);
			size_t pl = strlen(pad);
			assert_true(pl >= 16 && pl <= 200);
			for (size_t k = 0; k < pl; k++)
				assert_true((pad[k] >= '0' && pad[k] <= '9') ||
				            (pad[k] >= 'a' && pad[k] <= 'f'));
			json_decref(o);
			uint64_t s, e;
			assert_int_equal(vc_event_parse(a, la, &s, &e), 1);
			assert_int_equal(s, seeds[i]);
			assert_int_equal(e, ns[j]);
		}
	}
	vc_event(SEED, 1, a);
	vc_event(SEED, 2, b);
	assert_true(strcmp(a, b) != 0);
}

static void events_sizes_vary(void **state)
{
	(void)state;
	char buf[VC_EVENT_MAX];
	size_t lo = SIZE_MAX, hi = 0;
	int seen[512] = {0}, distinct = 0;
	for (uint64_t n = 0; n < 2000; n++) {
		size_t l = vc_event(SEED, n, buf);
		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
		if (!seen[l]++)
			distinct++;
	}
	size_t base = strlen("{\"chaos\":\"42\",\"n\":0,\"pad\":\"\"}");
	assert_true(lo <= base + 16 + 3 + 10);
	assert_true(hi >= base + 190);
	assert_true(distinct > 150);
	/* The pad differs with the seed too. */
	char other[VC_EVENT_MAX];
	size_t la = vc_event(1, 5, buf), lb = vc_event(2, 5, other);
	assert_false(la == lb && memcmp(buf + 12, other + 12, la - 12) == 0);
}

static void events_parse_rejects(void **state)
{
	(void)state;
	const char *bad[] = {
	    "",
	    "{}",
	    "{\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcdef\"} ",
	    " {\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcdeF\"}",
	    "{\"chaos\":\"42\",\"n\":07,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"042\",\"n\":7,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":42,\"n\":7,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"42\",\"n\":-7,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"42\",\"n\":\"7\",\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcde\"}",
	    "{\"chaos\":\"42\", \"n\":7,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcdef\",\"x\":1}",
	    "{\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcdef\"",
	    "{\"chaos\":\"18446744073709551616\",\"n\":7,\"pad\":\"0123456789abcdef\"}",
	    "{\"chaos\":\"42\",\"n\":18446744073709551616,\"pad\":\"0123456789abcdef\"}",
	    "{\"n\":7,\"chaos\":\"42\",\"pad\":\"0123456789abcdef\"}",
	};
	uint64_t s, n;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (vc_event_parse(bad[i], strlen(bad[i]), &s, &n) != 0)
			fail_msg("accepted: %s", bad[i]);
	const char *good = "{\"chaos\":\"42\",\"n\":7,\"pad\":\"0123456789abcdef\"}";
	assert_int_equal(vc_event_parse(good, strlen(good), &s, &n), 1);
	assert_int_equal(s, 42);
	assert_int_equal(n, 7);
	/* 200 pad digits pass, 201 do not. */
	char buf[400];
	int o = snprintf(buf, sizeof buf, "{\"chaos\":\"1\",\"n\":0,\"pad\":\"");
	memset(buf + o, 'a', 200);
	memcpy(buf + o + 200, "\"}", 3);
	assert_int_equal(vc_event_parse(buf, strlen(buf), &s, &n), 1);
	memset(buf + o, 'a', 201);
	memcpy(buf + o + 201, "\"}", 3);
	assert_int_equal(vc_event_parse(buf, strlen(buf), &s, &n), 0);
	/* The max values round trip. */
	size_t l = vc_event(UINT64_MAX, UINT64_MAX, buf);
	assert_int_equal(vc_event_parse(buf, l, &s, &n), 1);
	assert_true(s == UINT64_MAX && n == UINT64_MAX);
}

/* ------------------------------------------------------------------ */
/* History records and the answer.                                     */

static void history_round_trip(void **state)
{
	(void)state;
	vc_hrec recs[4] = {
	    {.kind = VC_H_SEND, .req = 0, .t_ns = 123, .first = 10, .count = 3, .attempt = 1},
	    {.kind = VC_H_ACK, .req = 0, .t_ns = 456, .event = 11, .index = 99},
	    {.kind = VC_H_FAIL, .req = 7, .t_ns = 789, .status = 503},
	    {.kind = VC_H_INFO, .req = UINT64_MAX, .t_ns = UINT64_MAX},
	};
	for (int i = 0; i < VC_LEAF_SIZE; i++)
		recs[1].leaf[i] = (uint8_t)(i * 7 + 1);
	strcpy(recs[2].word, "queue_full");
	strcpy(recs[3].word, "timeout");
	const char *want[4] = {"send 0 123 10 3 1\n", NULL, "fail 7 789 503 queue_full\n",
	                       "info 18446744073709551615 18446744073709551615 timeout\n"};
	for (int i = 0; i < 4; i++) {
		char line[VC_HISTORY_LINE_MAX], why[128];
		size_t n = vc_history_format(&recs[i], line);
		assert_true(n > 0 && line[n - 1] == '\n');
		if (want[i])
			assert_string_equal(line, want[i]);
		vc_hrec back;
		assert_int_equal(vc_history_parse_line(line, n - 1, &back, why, sizeof why), 0);
		assert_int_equal(back.kind, recs[i].kind);
		assert_int_equal(back.req, recs[i].req);
		assert_int_equal(back.t_ns, recs[i].t_ns);
		assert_int_equal(back.first, recs[i].first);
		assert_int_equal(back.count, recs[i].count);
		assert_int_equal(back.attempt, recs[i].attempt);
		assert_int_equal(back.event, recs[i].event);
		assert_int_equal(back.index, recs[i].index);
		assert_int_equal(back.status, recs[i].status);
		assert_string_equal(back.word, recs[i].word);
		assert_memory_equal(back.leaf, recs[i].leaf, VC_LEAF_SIZE);
	}
	vc_hrec badword = {.kind = VC_H_INFO};
	strcpy(badword.word, "Time out");
	char line[VC_HISTORY_LINE_MAX];
	assert_int_equal(vc_history_format(&badword, line), 0);

	const char *bad[] = {
	    "",
	    "send 0 1 2 3",
	    "send 0 1 2 3 1 9",
	    "send  0 1 2 3 1",
	    "send 0 1 2 3 1 ",
	    " send 0 1 2 3 1",
	    "send 00 1 2 3 1",
	    "send 0 1 2 0 1",
	    "send 0 1 2 3 0",
	    "send 0 1 2 3 x",
	    "send 0 1 18446744073709551615 2 1",
	    "send 0 1 2 3 18446744073709551616",
	    "sent 0 1 2 3 1",
	    "ack 0 1 2 3 AAAA",
	    "ack 0 1 2 3 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
	    "ack 0 1 2 3 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA==",
	    "fail 0 1 5030 queue_full",
	    "fail 0 1 503 Queue_full",
	    "fail 0 1 503",
	    "info 0 1 time-out",
	    "info 0 1 timeout\t",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vc_hrec r;
		char why[128] = "";
		if (vc_history_parse_line(bad[i], strlen(bad[i]), &r, why, sizeof why) == 0)
			fail_msg("accepted: '%s'", bad[i]);
		assert_true(why[0] != '\0');
	}
	vc_hrec r;
	char why[128];
	const char *ok = "ack 0 1 2 3 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
	assert_int_equal(vc_history_parse_line(ok, strlen(ok), &r, why, sizeof why), 0);
	assert_int_equal(r.leaf[0], 1);
	assert_int_equal(r.leaf[31], 32);
}

static void answer_parse(void **state)
{
	(void)state;
	uint64_t idx[4];
	uint8_t leaf[4][VC_LEAF_SIZE];
	const char *h = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
	char one[256], three[512];
	snprintf(one, sizeof one,
	         "{\"log\":\"default\",\"events\":[{\"index\":41,\"leaf_hash\":\"%s\"}]}\n", h);
	assert_int_equal(vc_answer_parse(one, strlen(one), 1, idx, leaf), 0);
	assert_int_equal(idx[0], 41);
	assert_int_equal(leaf[0][0], 1);
	assert_int_equal(leaf[0][31], 32);
	assert_int_equal(vc_answer_parse(one, strlen(one), 2, idx, leaf), -1);
	snprintf(three, sizeof three,
	         "{\"log\":\"a.b\",\"events\":[{\"index\":0,\"leaf_hash\":\"%s\"},"
	         "{\"index\":1,\"leaf_hash\":\"%s\",\"replayed\":true},"
	         "{\"index\":18446744073709551615,\"leaf_hash\":\"%s\"}]}",
	         h, h, h);
	assert_int_equal(vc_answer_parse(three, strlen(three), 3, idx, leaf), 0);
	assert_int_equal(idx[1], 1);
	assert_int_equal(idx[2], UINT64_MAX);
	assert_int_equal(vc_answer_parse(three, strlen(three), 2, idx, leaf), -1);
	assert_int_equal(vc_answer_parse(three, strlen(three) - 1, 3, idx, leaf), -1);

	char bad[512];
	const char *fmts[] = {
	    "{\"log\":\"d\",\"events\":[]}",
	    "{\"log\":\"\",\"events\":[{\"index\":1,\"leaf_hash\":\"%s\"}]}",
	    "{\"log\":\"d\",\"events\":[{\"index\":01,\"leaf_hash\":\"%s\"}]}",
	    "{\"log\":\"d\",\"events\":[{\"index\":-1,\"leaf_hash\":\"%s\"}]}",
	    "{\"log\":\"d\",\"events\":[{\"index\":1,\"leaf_hash\":\"%s\",\"x\":1}]}",
	    "{\"log\":\"d\",\"events\":[{\"index\":1,\"leaf_hash\":\"%s\"}],\"x\":1}",
	    "{\"log\":\"d\",\"events\":[{\"index\":1,\"leaf_hash\":\"%s\"}]}x",
	    "{\"log\":\"d\",\"events\":[{\"index\":1,\"leaf_hash\":\"%s\"},]}",
	    "{\"log\":\"d\", \"events\":[{\"index\":1,\"leaf_hash\":\"%s\"}]}",
	    "{\"log\":\"d\",\"events\":[{\"index\":1,\"leaf_hash\":\"%sAAAA\"}]}",
	    "{\"log\":\"d\",\"events\":[{\"leaf_hash\":\"%s\",\"index\":1}]}",
	    "{\"error\":{\"status\":503,\"code\":\"queue_full\",\"message\":\"%s\"}}",
	};
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(bad, sizeof bad, fmts[i], h);
#pragma GCC diagnostic pop
		if (vc_answer_parse(bad, strlen(bad), 1, idx, leaf) == 0)
			fail_msg("accepted: %s", bad);
	}
	/* A hash of 31 bytes. */
	snprintf(bad, sizeof bad,
	         "{\"log\":\"d\",\"events\":[{\"index\":1,\"leaf_hash\":"
	         "\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==\"}]}");
	assert_int_equal(vc_answer_parse(bad, strlen(bad), 1, idx, leaf), -1);
}

/* ------------------------------------------------------------------ */
/* Synthetic logs.                                                     */

/* The envelope the server would store for event bytes EV: a fixed
 * arrival, principal "chaos", over HTTP. */
static size_t envelope(const char *ev, size_t len, uint8_t *out)
{
	vs_envelope e = {.received = {1700000000, 123456789},
	                 .principal = "chaos",
	                 .transport = "http",
	                 .content_type = "application/json"};
	vs_envelope_template t;
	assert_int_equal(vs_envelope_template_init(&t, &e), 0);
	size_t h = vs_envelope_template_write(&t, NULL, 0, out, VL_ENTRY_MAX);
	assert_true(h > 0);
	memcpy(out + h, ev, len);
	return h + len;
}

enum spec_kind { S_EVENT, S_DAMAGED, S_OTHER_SEED, S_RAW, S_NOT_CHAOS };

struct spec {
	enum spec_kind kind;
	uint64_t n;
};

/* The entry for SPEC. */
static size_t entry_for(struct spec sp, uint8_t *out)
{
	char ev[VC_EVENT_MAX];
	size_t l;
	switch (sp.kind) {
	case S_EVENT:
		l = vc_event(SEED, sp.n, ev);
		return envelope(ev, l, out);
	case S_DAMAGED:
		l = vc_event(SEED, sp.n, ev);
		ev[l - 3] = ev[l - 3] == '0' ? '1' : '0';
		return envelope(ev, l, out);
	case S_OTHER_SEED:
		l = vc_event(SEED + 1, sp.n, ev);
		return envelope(ev, l, out);
	case S_NOT_CHAOS:
		return envelope("{\"hello\":1}", 11, out);
	default:
		memcpy(out, "not an envelope", 15);
		return 15;
	}
}

/* Creates a log holding SPECS in order. */
static void make_log(const char *dir, const struct spec *specs, size_t n)
{
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

/* A history: one request per event.  ACK < 0: the request's outcome is
 * unknown (an info line); else the event was acknowledged at index ACK
 * with the leaf hash of its exact envelope (flipped when BAD_LEAF). */
struct hev {
	uint64_t n;
	int64_t ack;
	int bad_leaf;
};

static void write_history(const char *path, const struct hev *hs, size_t n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	uint8_t *buf = malloc(VL_ENTRY_MAX);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		char line[VC_HISTORY_LINE_MAX];
		vc_hrec r = {.kind = VC_H_SEND, .req = i, .t_ns = 10 * i, .first = hs[i].n,
		             .count = 1, .attempt = 1};
		assert_true(vc_history_format(&r, line) > 0);
		fputs(line, f);
		if (hs[i].ack >= 0) {
			size_t l = entry_for((struct spec){S_EVENT, hs[i].n}, buf);
			vc_hrec a = {.kind = VC_H_ACK, .req = i, .t_ns = 10 * i + 5,
			             .event = hs[i].n, .index = (uint64_t)hs[i].ack};
			vl_leaf_hash(buf, l, a.leaf);
			if (hs[i].bad_leaf)
				a.leaf[5] ^= 0x40;
			assert_true(vc_history_format(&a, line) > 0);
			fputs(line, f);
		} else {
			vc_hrec a = {.kind = VC_H_INFO, .req = i, .t_ns = 10 * i + 5};
			strcpy(a.word, "timeout");
			assert_true(vc_history_format(&a, line) > 0);
			fputs(line, f);
		}
	}
	free(buf);
	assert_int_equal(fclose(f), 0);
}

static void run_check(const struct spec *specs, size_t n_specs, const struct hev *hs,
                      size_t n_hs, vc_check *out)
{
	char dir[300], hist[300], err[512] = "";
	fresh(dir, sizeof dir, "log");
	fresh(hist, sizeof hist, "history");
	make_log(dir, specs, n_specs);
	write_history(hist, hs, n_hs);
	int rc = vc_check_run(dir, hist, SEED, out, err, sizeof err);
	if (rc != 0)
		fail_msg("vc_check_run: %d %s", rc, err);
}

#define EXPECT(c, acked_, lost_, holes_, dup_, corrupt_, unconf_, foreign_, size_)               \
	do {                                                                                     \
		assert_int_equal((c).acked, acked_);                                             \
		assert_int_equal((c).lost, lost_);                                               \
		assert_int_equal((c).holes, holes_);                                             \
		assert_int_equal((c).duplicated, dup_);                                          \
		assert_int_equal((c).corrupt, corrupt_);                                         \
		assert_int_equal((c).unconfirmed_present, unconf_);                              \
		assert_int_equal((c).foreign, foreign_);                                         \
		assert_int_equal((c).log_size, size_);                                           \
	} while (0)

/* Events 0..N-1 in the log, each acknowledged at its index. */
static void straight(struct spec *specs, struct hev *hs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		specs[i] = (struct spec){S_EVENT, i};
		hs[i] = (struct hev){i, (int64_t)i, 0};
	}
}

static void check_all_good(void **state)
{
	(void)state;
	struct spec sp[10];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	run_check(sp, 10, hs, 10, &c);
	EXPECT(c, 10, 0, 0, 0, 0, 0, 0, 10);
	assert_string_equal(c.first_problem, "");
	/* An empty history and an empty log. */
	run_check(sp, 0, hs, 0, &c);
	EXPECT(c, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void check_lost_tail(void **state)
{
	(void)state;
	struct spec sp[10];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	run_check(sp, 9, hs, 10, &c);
	EXPECT(c, 10, 1, 0, 0, 0, 0, 0, 9);
	assert_non_null(strstr(c.first_problem, "event 9 "));
	assert_non_null(strstr(c.first_problem, "index 9"));
	assert_non_null(strstr(c.first_problem, "not in the log"));
}

static void check_lost_middle(void **state)
{
	(void)state;
	struct spec sp[10];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	/* The log lacks event 5; the acks of 6..9 name the indexes where
	 * they are. */
	for (size_t i = 5; i < 9; i++)
		sp[i] = sp[i + 1];
	for (size_t i = 6; i < 10; i++)
		hs[i].ack--;
	run_check(sp, 9, hs, 10, &c);
	EXPECT(c, 10, 1, 1, 0, 0, 0, 0, 9);
	assert_non_null(strstr(c.first_problem, "event 5 "));
	assert_non_null(strstr(c.first_problem, "index 5"));
	assert_non_null(strstr(c.first_problem, "acknowledged after it"));

	/* As a shifted log looks: the acks name the original indexes, so
	 * 6..8 find the next event there and 9 is past the end. */
	straight(sp, hs, 10);
	for (size_t i = 5; i < 9; i++)
		sp[i] = sp[i + 1];
	run_check(sp, 9, hs, 10, &c);
	EXPECT(c, 10, 1, 1, 0, 4, 0, 0, 9);
	assert_non_null(strstr(c.first_problem, "event 5 "));
}

static void check_duplicated(void **state)
{
	(void)state;
	struct spec sp[11];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	sp[10] = (struct spec){S_EVENT, 3};
	run_check(sp, 11, hs, 10, &c);
	EXPECT(c, 10, 0, 0, 1, 0, 0, 0, 11);
	assert_non_null(
	    strstr(c.first_problem, "event 3 is in the log 2 times (indexes 3 and 10)"));
}

static void check_corrupt_bytes(void **state)
{
	(void)state;
	struct spec sp[10];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	sp[3].kind = S_DAMAGED;
	run_check(sp, 10, hs, 10, &c);
	EXPECT(c, 10, 0, 0, 0, 1, 0, 0, 10);
	assert_non_null(strstr(c.first_problem, "event 3 was acknowledged at index 3"));
	assert_non_null(strstr(c.first_problem, "damaged"));

	/* The entry at the acked index is another event: event 4 twice, 3
	 * nowhere. */
	straight(sp, hs, 10);
	sp[3] = (struct spec){S_EVENT, 4};
	run_check(sp, 10, hs, 10, &c);
	EXPECT(c, 10, 1, 1, 1, 0, 0, 0, 10);
	assert_non_null(strstr(c.first_problem, "event 3 "));

	/* The entry at the acked index is not an event at all. */
	straight(sp, hs, 10);
	sp[3] = (struct spec){S_RAW, 0};
	run_check(sp, 10, hs, 10, &c);
	EXPECT(c, 10, 1, 1, 0, 0, 0, 1, 10);
}

static void check_corrupt_leaf(void **state)
{
	(void)state;
	struct spec sp[10];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	hs[4].bad_leaf = 1;
	run_check(sp, 10, hs, 10, &c);
	EXPECT(c, 10, 0, 0, 0, 1, 0, 0, 10);
	assert_non_null(strstr(c.first_problem, "event 4 at index 4 has leaf hash"));
}

static void check_unconfirmed(void **state)
{
	(void)state;
	struct spec sp[12];
	struct hev hs[12];
	vc_check c;
	straight(sp, hs, 12);
	hs[10].ack = -1; /* in the log, outcome unknown */
	hs[11].ack = -1; /* not in the log, outcome unknown */
	run_check(sp, 11, hs, 12, &c);
	EXPECT(c, 10, 0, 0, 0, 0, 1, 0, 11);
	assert_string_equal(c.first_problem, "");
}

static void check_foreign(void **state)
{
	(void)state;
	struct spec sp[12];
	struct hev hs[10];
	vc_check c;
	straight(sp, hs, 10);
	sp[10] = (struct spec){S_OTHER_SEED, 3};
	run_check(sp, 11, hs, 10, &c);
	EXPECT(c, 10, 0, 0, 0, 0, 0, 1, 11);
	assert_non_null(strstr(c.first_problem, "entry 10 "));
	assert_non_null(strstr(c.first_problem, "seed 43"));
	sp[10] = (struct spec){S_RAW, 0};
	sp[11] = (struct spec){S_NOT_CHAOS, 0};
	run_check(sp, 12, hs, 10, &c);
	EXPECT(c, 10, 0, 0, 0, 0, 0, 2, 12);
	assert_non_null(strstr(c.first_problem, "entry 10 "));
}

/* Runs the checker over a history of TEXT against a good log of 3. */
static int check_text(const char *text, char *err, size_t errcap)
{
	struct spec sp[3];
	struct hev hs[3];
	char dir[300], hist[300];
	vc_check c;
	straight(sp, hs, 3);
	fresh(dir, sizeof dir, "log");
	fresh(hist, sizeof hist, "history");
	make_log(dir, sp, 3);
	FILE *f = fopen(hist, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return vc_check_run(dir, hist, SEED, &c, err, errcap);
}

static void check_malformed_history(void **state)
{
	(void)state;
	char err[512];
	assert_int_equal(check_text("send 0 1 0 1 1\ninfo 0 2 timeout\n", err, sizeof err), 0);
	assert_int_equal(check_text("send 0 1 0 1 1\nsend 1 2 1 1 1\nack 0 5 0 zz\n", err,
	                            sizeof err),
	                 VL_EFORMAT);
	assert_non_null(strstr(err, "line 3:"));
	/* An ack for a request never sent, or for an event not its own. */
	assert_int_equal(check_text("send 0 1 0 1 1\ninfo 1 2 timeout\n", err, sizeof err),
	                 VL_EFORMAT);
	assert_non_null(strstr(err, "line 2:"));
	assert_int_equal(check_text("send 0 1 0 2 1\nack 0 2 2 2 "
	                            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n",
	                            err, sizeof err),
	                 VL_EFORMAT);
	assert_non_null(strstr(err, "line 2:"));
	/* A request sent twice; an unterminated last line. */
	assert_int_equal(check_text("send 0 1 0 1 1\nsend 0 2 0 1 1\n", err, sizeof err),
	                 VL_EFORMAT);
	assert_non_null(strstr(err, "line 2:"));
	assert_int_equal(check_text("send 0 1 0 1 1\ninfo 0 2 timeout", err, sizeof err),
	                 VL_EFORMAT);
	assert_non_null(strstr(err, "line 2:"));
	/* No such history; no such log. */
	vc_check c;
	char hist[300];
	fresh(hist, sizeof hist, "missing");
	assert_int_equal(vc_check_run(tmpdir, hist, SEED, &c, err, sizeof err), -ENOENT);
	FILE *f = fopen(hist, "w");
	assert_non_null(f);
	fclose(f);
	assert_true(vc_check_run(hist, hist, SEED, &c, err, sizeof err) < 0);
	assert_non_null(strstr(err, "cannot open the log"));
}

/* ------------------------------------------------------------------ */
/* The client against a small server that appends to a real log.      */

struct fake {
	int lfd, port;
	vl_log *log;
	pthread_t th;
	volatile int stop;
	pthread_mutex_t mu;
	int drop_first;       /* close the first request's connection unanswered,
	                         after appending */
	int refuse_every;     /* every Nth request: 503 */
	int requests;
	struct {
		char key[80];
		uint64_t first, count;
	} keys[4096];
	size_t n_keys;
	pthread_t conn[64];
	int n_conn;
};

struct conn_arg {
	struct fake *f;
	int fd;
};

static void say(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Answers one request: 0 to go on, -1 to close. */
static int fake_request(struct fake *f, int fd, const char *head, const char *body, size_t blen)
{
	char key[80] = "";
	const char *k = strcasestr(head, "\r\nIdempotency-Key: ");
	if (k)
		sscanf(k + 19, "%79[^\r]", key);
	assert_non_null(strcasestr(head, "\r\nAuthorization: Bearer tok\r\n"));
	int ndjson = strcasestr(head, "\r\nContent-Type: application/x-ndjson\r\n") != NULL;
	pthread_mutex_lock(&f->mu);
	int nreq = ++f->requests;
	if (f->refuse_every && nreq % f->refuse_every == 0) {
		pthread_mutex_unlock(&f->mu);
		static const char body503[] =
		    "{\"error\":{\"status\":503,\"code\":\"queue_full\",\"message\":\"retry\"}}\n";
		char r503[256];
		int l503 = snprintf(r503, sizeof r503,
		                    "HTTP/1.1 503 Service Unavailable\r\n"
		                    "Content-Type: application/json\r\nRetry-After: 0\r\n"
		                    "Content-Length: %zu\r\n\r\n%s",
		                    sizeof body503 - 1, body503);
		say(fd, r503, (size_t)l503);
		return 0;
	}
	uint64_t first = 0, count = 0;
	int replay = 0;
	for (size_t i = 0; i < f->n_keys; i++)
		if (strcmp(f->keys[i].key, key) == 0) {
			first = f->keys[i].first;
			count = f->keys[i].count;
			replay = 1;
		}
	uint8_t *buf = malloc(VL_ENTRY_MAX);
	char *answer = malloc(64 + 1200 * 100);
	assert_true(buf && answer);
	size_t off = (size_t)sprintf(answer, "{\"log\":\"default\",\"events\":[");
	size_t start = 0, e = 0;
	while (start < blen) {
		const char *nl = memchr(body + start, '\n', blen - start);
		size_t end = nl ? (size_t)(nl - body) : blen;
		assert_true(end > start);
		uint64_t s, n;
		assert_int_equal(vc_event_parse(body + start, end - start, &s, &n), 1);
		size_t l = envelope(body + start, end - start, (uint8_t *)buf);
		uint64_t at;
		if (replay) {
			assert_true(e < count);
			at = first + e;
			size_t got;
			assert_int_equal(vl_log_get(f->log, at, buf, VL_ENTRY_MAX, &got), 0);
			l = got;
		} else {
			vl_entry en = {buf, l};
			assert_int_equal(vl_log_append(f->log, &en, 1, &at), 0);
			if (e == 0)
				first = at;
		}
		uint8_t h[32];
		char b64[48];
		vl_leaf_hash(buf, l, h);
		vl_base64_encode(h, 32, b64);
		off += (size_t)sprintf(answer + off,
		                       "%s{\"index\":%" PRIu64 ",\"leaf_hash\":\"%s\"%s}",
		                       e ? "," : "", at, b64, replay ? ",\"replayed\":true" : "");
		e++;
		start = end + 1;
	}
	assert_int_equal(ndjson, e > 1);
	if (!replay && key[0] && f->n_keys < sizeof f->keys / sizeof f->keys[0]) {
		snprintf(f->keys[f->n_keys].key, sizeof f->keys[0].key, "%s", key);
		f->keys[f->n_keys].first = first;
		f->keys[f->n_keys].count = e;
		f->n_keys++;
	}
	int drop = f->drop_first && nreq == 1;
	pthread_mutex_unlock(&f->mu);
	off += (size_t)sprintf(answer + off, "]}\n");
	free(buf);
	if (drop) {
		free(answer);
		return -1;
	}
	char head_out[160];
	int hl = snprintf(head_out, sizeof head_out,
	                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                  "Content-Length: %zu\r\n\r\n",
	                  off);
	say(fd, head_out, (size_t)hl);
	say(fd, answer, off);
	free(answer);
	return 0;
}

static void *fake_conn(void *arg)
{
	struct conn_arg *ca = arg;
	struct fake *f = ca->f;
	int fd = ca->fd;
	free(ca);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);
	while (!f->stop) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 20) <= 0)
			continue;
		ssize_t r = recv(fd, buf + len, cap - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		for (;;) {
			char *end = strstr(buf, "\r\n\r\n");
			if (!end)
				break;
			const char *cl = strcasestr(buf, "\r\nContent-Length: ");
			assert_non_null(cl);
			size_t blen = strtoul(cl + 18, NULL, 10);
			size_t hlen = (size_t)(end - buf) + 4;
			if (len < hlen + blen)
				break;
			end[2] = '\0';
			int rc = fake_request(f, fd, buf, buf + hlen, blen);
			memmove(buf, buf + hlen + blen, len - hlen - blen);
			len -= hlen + blen;
			buf[len] = '\0';
			if (rc != 0)
				goto out;
		}
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	while (!f->stop) {
		struct pollfd p = {f->lfd, POLLIN, 0};
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct conn_arg *ca = malloc(sizeof *ca);
		assert_non_null(ca);
		*ca = (struct conn_arg){f, fd};
		assert_true(f->n_conn < 64);
		assert_int_equal(pthread_create(&f->conn[f->n_conn++], NULL, fake_conn, ca), 0);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *dir)
{
	assert_int_equal(vl_log_create(dir, signer, NULL, &f->log), 0);
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(f->lfd, 64), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	for (int i = 0; i < f->n_conn; i++)
		pthread_join(f->conn[i], NULL);
	close(f->lfd);
	assert_int_equal(vl_log_close(f->log), 0);
	pthread_mutex_destroy(&f->mu);
}

/* Reads a history back: counts of each record. */
struct tally {
	uint64_t send, ack, fail, info, retries;
};

static void tally(const char *path, struct tally *t)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[VC_HISTORY_LINE_MAX + 2], why[128];
	while (fgets(line, sizeof line, f)) {
		size_t l = strlen(line);
		assert_true(l > 0 && line[l - 1] == '\n');
		vc_hrec r;
		if (vc_history_parse_line(line, l - 1, &r, why, sizeof why) != 0)
			fail_msg("bad history line '%s': %s", line, why);
		t->send += r.kind == VC_H_SEND;
		t->ack += r.kind == VC_H_ACK;
		t->fail += r.kind == VC_H_FAIL;
		t->info += r.kind == VC_H_INFO;
		t->retries += r.kind == VC_H_SEND && r.attempt > 1;
	}
	fclose(f);
}

static void run_client(struct fake *f, int batch, double rate, int retry, int ms,
                       vc_client_stats *st, vc_sample **samples, size_t *n_samples,
                       char *dir, char *hist)
{
	char url[64], err[256];
	fresh(dir, 300, "clog");
	fresh(hist, 300, "chistory");
	fake_start(f, dir);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", f->port);
	vc_client_config cfg = {.url = url, .token = "tok", .log = "default", .history = hist,
	                        .seed = SEED, .connections = 3, .rate = rate, .batch = batch,
	                        .timeout_ms = 5000, .retry_unknown = retry};
	vc_client *c;
	if (vc_client_start(&cfg, &c, err, sizeof err) != 0)
		fail_msg("vc_client_start: %s", err);
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
	assert_true(vc_client_now(c) >= ms / 1000.0);
	vc_client_stats_get(c, st);
	assert_int_equal(vc_client_stop(c, 2000, samples, n_samples), 0);
	fake_stop(f);
}

static void client_closed_loop(void **state)
{
	(void)state;
	struct fake *f = calloc(1, sizeof *f);
	assert_non_null(f);
	char dir[300], hist[300], err[512];
	vc_client_stats st;
	vc_sample *samples;
	size_t n_samples;
	run_client(f, 3, 0, 0, 300, &st, &samples, &n_samples, dir, hist);
	assert_true(st.acked > 0);
	assert_true(st.requests > 0);
	assert_true(st.p50_ms > 0 && st.p50_ms <= st.p90_ms && st.p90_ms <= st.p99_ms &&
	            st.p99_ms <= st.max_ms * 1.07);
	assert_true(st.last_ack_s >= 0);
	assert_int_equal(n_samples, 1);
	assert_true(samples[0].acked > 0);
	free(samples);
	struct tally t;
	tally(hist, &t);
	assert_int_equal(t.fail + t.info, 0);
	assert_int_equal(t.ack, 3 * t.send);
	vc_check c;
	assert_int_equal(vc_check_run(dir, hist, SEED, &c, err, sizeof err), 0);
	assert_int_equal(c.acked, t.ack);
	assert_int_equal(c.log_size, t.ack);
	assert_int_equal(c.lost + c.holes + c.duplicated + c.corrupt + c.foreign, 0);
	assert_string_equal(c.first_problem, "");
	free(f);
}

static void client_retry_and_refusals(void **state)
{
	(void)state;
	struct fake *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->drop_first = 1;
	f->refuse_every = 5;
	char dir[300], hist[300], err[512];
	vc_client_stats st;
	run_client(f, 1, 25, 1, 400, &st, NULL, NULL, dir, hist);
	struct tally t;
	tally(hist, &t);
	/* The dropped request was retried under its key and answered from
	 * the first attempt's entry. */
	assert_int_equal(t.info, 1);
	assert_true(t.retries >= 1);
	assert_true(t.fail >= 1);
	assert_int_equal(t.send, t.ack + t.fail + t.info);
	/* Open loop at 25/s for 0.4 s: about 10 events (each fdatasync'ed
	 * by the small server, which answers far more than 25/s). */
	if (st.sent_events < 6 || st.sent_events > 14)
		fail_msg("%" PRIu64 " events sent in 0.4 s at 25/s", st.sent_events);
	vc_check c;
	assert_int_equal(vc_check_run(dir, hist, SEED, &c, err, sizeof err), 0);
	assert_int_equal(c.acked, t.ack);
	assert_int_equal(c.lost + c.holes + c.duplicated + c.corrupt + c.foreign, 0);
	assert_int_equal(c.unconfirmed_present, 0);
	free(f);
}

static void client_paused_and_bad_config(void **state)
{
	(void)state;
	char err[256], hist[300];
	fresh(hist, sizeof hist, "phistory");
	vc_client_config cfg = {.url = "http://127.0.0.1:1", .token = "tok", .log = "default",
	                        .history = hist, .seed = 1, .connections = 2, .rate = -1,
	                        .batch = 1, .timeout_ms = 1000};
	vc_client *c;
	assert_int_equal(vc_client_start(&cfg, &c, err, sizeof err), 0);
	struct timespec ts = {0, 100 * 1000000L};
	nanosleep(&ts, NULL);
	vc_client_stats st;
	vc_client_stats_get(c, &st);
	assert_int_equal(st.requests, 0);
	assert_true(st.last_ack_s < 0);
	/* Nothing listens on port 1: refused before sending. */
	vc_client_set_rate(c, 0);
	nanosleep(&ts, NULL);
	vc_sample *s;
	size_t ns;
	assert_int_equal(vc_client_stop(c, 100, &s, &ns), 0);
	free(s);
	struct tally t;
	tally(hist, &t);
	assert_true(t.send > 0);
	assert_int_equal(t.fail, t.send);
	/* The history must not exist yet. */
	assert_int_equal(vc_client_start(&cfg, &c, err, sizeof err), -EEXIST);
	cfg.connections = 0;
	assert_int_equal(vc_client_start(&cfg, &c, err, sizeof err), VL_EINVAL);
	cfg.connections = 1;
	cfg.batch = 1001;
	assert_int_equal(vc_client_start(&cfg, &c, err, sizeof err), VL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rng_same_seed),
	    cmocka_unit_test(rng_below_unit),
	    cmocka_unit_test(rng_derive),
	    cmocka_unit_test(events_deterministic_json),
	    cmocka_unit_test(events_sizes_vary),
	    cmocka_unit_test(events_parse_rejects),
	    cmocka_unit_test(history_round_trip),
	    cmocka_unit_test(answer_parse),
	    cmocka_unit_test(check_all_good),
	    cmocka_unit_test(check_lost_tail),
	    cmocka_unit_test(check_lost_middle),
	    cmocka_unit_test(check_duplicated),
	    cmocka_unit_test(check_corrupt_bytes),
	    cmocka_unit_test(check_corrupt_leaf),
	    cmocka_unit_test(check_unconfirmed),
	    cmocka_unit_test(check_foreign),
	    cmocka_unit_test(check_malformed_history),
	    cmocka_unit_test(client_closed_loop),
	    cmocka_unit_test(client_retry_and_refusals),
	    cmocka_unit_test(client_paused_and_bad_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
