/*
 * test_server_parts.c — the server's small pure parts: the event envelope
 * (byte-exact format, round trip, hostile input), the idempotency index
 * (lookup, eviction, deletion keeping probe chains intact) and request
 * routing (every endpoint, and paths that must not route).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "forward.h"
#include "idem.h"
#include "route.h"
#include "sources.h"
#include "tiles.h"

/* ------------------------------------------------------------------ */
/* Envelope.                                                           */

static void test_envelope_exact_bytes(void **state)
{
	(void)state;
	uint8_t key[VS_IDEM_KEY_SIZE];
	for (int i = 0; i < VS_IDEM_KEY_SIZE; i++)
		key[i] = (uint8_t)((i % 16) * 17);
	vs_envelope e = {
		.received = {1795705445, 123456789}, /* 2026-11-26T15:04:05.123456789Z */
		.principal = "admin",
		.transport = "http",
		.content_type = "application/json",
		.idem_key = key,
		.request_events = 3,
	};
	uint8_t out[512];
	size_t n = vs_envelope_write_header(&e, out, sizeof out);
	const char *want = "vellum-event/1\n"
	                   "received: 2026-11-26T15:04:05.123456789Z\n"
	                   "principal: admin\n"
	                   "transport: http\n"
	                   "content-type: application/json\n"
	                   "idempotency-key: 00112233445566778899aabbccddeeff"
	                   "00112233445566778899aabbccddeeff\n"
	                   "request-events: 3\n"
	                   "\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	assert_int_equal(vs_envelope_header_len(&e), n);
	/* Too small a buffer writes nothing. */
	assert_int_equal(vs_envelope_write_header(&e, out, n - 1), 0);
}

/* One template serves every event of a request: each header it writes is
 * the header vs_envelope_write_header writes for that event alone. */
static void test_envelope_template(void **state)
{
	(void)state;
	uint8_t key[VS_IDEM_KEY_SIZE] = {0xab, 0xcd};
	vs_envelope e = {.received = {1795705445, 7}, .principal = "svc-ingest",
	                 .transport = "k8s-audit", .content_type = "application/json"};
	vs_envelope_template t;
	assert_int_equal(vs_envelope_template_init(&t, &e), 0);
	uint32_t counts[] = {1, 9, 10, 4294967295u};
	for (size_t i = 0; i < 5; i++) {
		e.idem_key = i < 4 ? key : NULL;
		e.request_events = i < 4 ? counts[i] : 0;
		uint8_t a[512], b[512];
		size_t na = vs_envelope_write_header(&e, a, sizeof a);
		size_t nb = vs_envelope_template_write(&t, e.idem_key, e.request_events, b, sizeof b);
		assert_true(na > 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na);
		assert_int_equal(vs_envelope_template_write(&t, e.idem_key, e.request_events, NULL, 0),
		                 na);
		assert_int_equal(vs_envelope_template_write(&t, e.idem_key, e.request_events, b, na - 1),
		                 0);
	}
	/* A key needs a count. */
	assert_int_equal(vs_envelope_template_write(&t, key, 0, NULL, 0), 0);
}

static void test_envelope_round_trip(void **state)
{
	(void)state;
	vs_envelope e = {
		.received = {0, 5},
		.principal = "anonymous",
		.transport = "syslog-udp",
		.content_type = "text/plain",
		.peer = "[::1]:5514",
	};
	const char *event = "<13>Nov 26 12:00:00 host app: hello";
	uint8_t buf[512];
	size_t h = vs_envelope_write_header(&e, buf, sizeof buf);
	assert_true(h > 0);
	memcpy(buf + h, event, strlen(event));
	size_t len = h + strlen(event);
	uint8_t *exact = malloc(len);
	memcpy(exact, buf, len);
	vs_envelope_view v;
	assert_int_equal(vs_envelope_parse(exact, len, &v), 0);
	assert_int_equal(v.received_sec, 0);
	assert_int_equal(v.received_nsec, 5);
	assert_int_equal(v.principal_len, 9);
	assert_memory_equal(v.principal, "anonymous", 9);
	assert_memory_equal(v.transport, "syslog-udp", v.transport_len);
	assert_memory_equal(v.peer, "[::1]:5514", v.peer_len);
	assert_false(v.has_idem_key);
	assert_int_equal(v.event_off, h);
	assert_int_equal(v.event_len, strlen(event));
	/* Every strict prefix is not an envelope or has a shorter event. */
	for (size_t cut = 0; cut < h; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, exact, cut);
		assert_int_equal(vs_envelope_parse(p, cut, &v), -1);
		free(p);
	}
	free(exact);
}

/* An agent's event: its lines, byte for byte, and back. */
static void test_envelope_agent_lines(void **state)
{
	(void)state;
	vs_envelope e = {
		.received = {1795720605, 767765121},
		.principal = "admin",
		.transport = "agent",
		.content_type = "application/octet-stream",
		.agent = "host-a",
		.spool_index = 3,
		.spooled = {1795720604, 259902070},
		.origin = "file:/var/log/app.log",
	};
	uint8_t buf[1024];
	size_t h = vs_envelope_write_header(&e, buf, sizeof buf);
	static const char want[] = "vellum-event/1\n"
	                           "received: 2026-11-26T19:16:45.767765121Z\n"
	                           "principal: admin\n"
	                           "transport: agent\n"
	                           "content-type: application/octet-stream\n"
	                           "agent: host-a\n"
	                           "spool-index: 3\n"
	                           "spooled: 2026-11-26T19:16:44.259902070Z\n"
	                           "origin: file:/var/log/app.log\n"
	                           "\n";
	assert_int_equal(h, sizeof want - 1);
	assert_memory_equal(buf, want, h);
	memcpy(buf + h, "x", 1);
	vs_envelope_view v;
	assert_int_equal(vs_envelope_parse(buf, h + 1, &v), 0);
	assert_true(v.has_agent);
	assert_memory_equal(v.agent, "host-a", v.agent_len);
	assert_int_equal(v.spool_index, 3);
	assert_int_equal(v.spooled_sec, 1795720604);
	assert_int_equal(v.spooled_nsec, 259902070);
	assert_memory_equal(v.origin, "file:/var/log/app.log", v.origin_len);
	/* Without an origin there is no origin line. */
	e.origin = "";
	e.spool_index = 18446744073709551615u;
	h = vs_envelope_write_header(&e, buf, sizeof buf);
	assert_null(memmem(buf, h, "origin:", 7));
	assert_non_null(memmem(buf, h, "spool-index: 18446744073709551615\n", 34));
	/* A leading zero, or agent lines out of order, is not an envelope. */
	static const char bad[] = "vellum-event/1\nreceived: 2026-11-26T19:16:45.767765121Z\n"
	                          "principal: admin\ntransport: agent\ncontent-type: a/b\n"
	                          "agent: host-a\nspool-index: 03\n"
	                          "spooled: 2026-11-26T19:16:44.259902070Z\n\nx";
	assert_int_equal(vs_envelope_parse((const uint8_t *)bad, sizeof bad - 1, &v), -1);
}

static size_t put_record(uint8_t *p, uint64_t index, int64_t spooled, const char *origin,
                         const char *event)
{
	size_t o = strlen(origin), e = strlen(event);
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(index >> (56 - 8 * i));
		p[8 + i] = (uint8_t)((uint64_t)spooled >> (56 - 8 * i));
	}
	p[16] = (uint8_t)o;
	memcpy(p + 17, origin, o);
	p[17 + o] = (uint8_t)(e >> 24);
	p[18 + o] = (uint8_t)(e >> 16);
	p[19 + o] = (uint8_t)(e >> 8);
	p[20 + o] = (uint8_t)e;
	memcpy(p + 21 + o, event, e);
	return 21 + o + e;
}

static void test_forward_parse(void **state)
{
	(void)state;
	uint8_t body[512];
	size_t len = put_record(body, 7, 1000, "stdin", "first");
	len += put_record(body + len, 9, 2000, "", "second event");
	vs_forward_record r[4];
	vs_forward_error err;
	size_t n = 0;
	assert_int_equal(vs_forward_parse(body, len, r, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].spool_index, 7);
	assert_int_equal(r[0].spooled_ns, 1000);
	assert_memory_equal(body + r[0].origin_off, "stdin", r[0].origin_len);
	assert_memory_equal(body + r[0].event_off, "first", r[0].event_len);
	assert_int_equal(r[1].spool_index, 9);
	assert_int_equal(r[1].origin_len, 0);
	assert_memory_equal(body + r[1].event_off, "second event", r[1].event_len);
	/* Each refusal, with its code. */
	assert_int_equal(vs_forward_parse(body, len, r, 1, &n, &err), -1);
	assert_string_equal(err.code, "too_many_events");
	for (size_t cut = 0; cut < len; cut++)
		if (cut != 31) /* 31: exactly the first record */
			assert_int_equal(vs_forward_parse(body, cut, r, 4, &n, &err), -1);
	assert_int_equal(vs_forward_parse(body, 31, r, 4, &n, &err), 0);
	size_t l2 = put_record(body, 5, 1, "a", "x");
	l2 += put_record(body + l2, 5, 1, "a", "y");
	assert_int_equal(vs_forward_parse(body, l2, r, 4, &n, &err), -1);
	assert_string_equal(err.code, "malformed_forward");
	assert_non_null(strstr(err.message, "does not follow"));
	l2 = put_record(body, 1, -5, "a", "x");
	assert_int_equal(vs_forward_parse(body, l2, r, 4, &n, &err), -1);
	l2 = put_record(body, 1, 1, "bad\x01origin", "x");
	assert_int_equal(vs_forward_parse(body, l2, r, 4, &n, &err), -1);
	assert_non_null(strstr(err.message, "printable"));
	l2 = put_record(body, 1, 1, "a", "");
	assert_int_equal(vs_forward_parse(body, l2, r, 4, &n, &err), -1);
	assert_true(vs_agent_id_ok("host-a.example:1_x", 18));
	assert_false(vs_agent_id_ok("", 0));
	assert_false(vs_agent_id_ok("a b", 3));
	assert_false(vs_agent_id_ok("a/b", 3));
}

static void test_sources(void **state)
{
	(void)state;
	vs_sources *s = vs_sources_new();
	assert_non_null(s);
	assert_int_equal(vs_sources_through(s, "a", 1), -1);
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(vs_sources_mark(s, "a", 1, i, 100, 300), 1);
	assert_int_equal(vs_sources_mark(s, "a", 1, 4, 100, 300), 0); /* held */
	assert_int_equal(vs_sources_through(s, "a", 1), 9);
	/* Out of order: 12, 15, 13 leave gaps 10..11 and 14. */
	assert_int_equal(vs_sources_mark(s, "a", 1, 12, 0, 0), 1);
	assert_int_equal(vs_sources_mark(s, "a", 1, 15, 0, 0), 1);
	assert_int_equal(vs_sources_mark(s, "a", 1, 13, 0, 0), 1);
	assert_int_equal(vs_sources_mark(s, "a", 1, 13, 0, 0), 0);
	assert_true(vs_sources_has(s, "a", 1, 13));
	assert_false(vs_sources_has(s, "a", 1, 14));
	assert_false(vs_sources_has(s, "b", 1, 0));
	assert_int_equal(vs_sources_through(s, "a", 1), 9);
	assert_int_equal(vs_sources_missing(s, "a", 1), 3);
	assert_int_equal(vs_sources_missing_total(s), 3);
	char *j = vs_sources_json(s, "default", 100);
	assert_non_null(strstr(j, "\"through\":9,\"highest\":15,\"held\":13,\"missing\":3,"
	                          "\"gaps\":[[10,11],[14,14]]"));
	free(j);
	j = vs_sources_json(s, "default", 1);
	assert_non_null(strstr(j, "\"gaps\":[[10,11]]"));
	free(j);
	/* Filling the gaps absorbs what waited past them. */
	assert_int_equal(vs_sources_mark(s, "a", 1, 10, 0, 0), 1);
	assert_int_equal(vs_sources_mark(s, "a", 1, 11, 0, 0), 1);
	assert_int_equal(vs_sources_through(s, "a", 1), 13);
	assert_int_equal(vs_sources_mark(s, "a", 1, 14, 0, 0), 1);
	assert_int_equal(vs_sources_through(s, "a", 1), 15);
	assert_int_equal(vs_sources_missing(s, "a", 1), 0);
	/* Agents are separate; the delay is received minus spooled. */
	assert_int_equal(vs_sources_mark(s, "b", 1, 0, 1000000000, 3500000000), 1);
	assert_int_equal(vs_sources_count(s), 2);
	vs_sources_duplicate(s, "b", 1, 4);
	j = vs_sources_json(s, "default", 100);
	assert_non_null(strstr(j, "{\"agent\":\"b\",\"through\":0,\"highest\":0,\"held\":1,"
	                          "\"missing\":0,\"gaps\":[],\"duplicates\":4,"
	                          "\"last_delay_seconds\":2.500000"));
	free(j);
	vs_sources_free(s);
}

static void test_envelope_refuses(void **state)
{
	(void)state;
	vs_envelope e = {.received = {1795705445, 0}, .principal = "a\nb", .transport = "http",
	                 .content_type = "application/json"};
	uint8_t out[512];
	assert_int_equal(vs_envelope_write_header(&e, out, sizeof out), 0); /* newline in a value */
	e.principal = "";
	assert_int_equal(vs_envelope_write_header(&e, out, sizeof out), 0); /* empty value */
	char longv[300];
	memset(longv, 'x', sizeof longv - 1);
	longv[sizeof longv - 1] = 0;
	e.principal = longv;
	assert_int_equal(vs_envelope_write_header(&e, out, sizeof out), 0); /* over 255 bytes */
	e.principal = "ok";
	e.received.tv_sec = -1;
	assert_int_equal(vs_envelope_write_header(&e, out, sizeof out), 0); /* before 1970 */
	static const char *const bad[] = {
		"vellum-event/2\nreceived: 2026-11-26T15:04:05.000000000Z\nprincipal: a\ntransport: "
		"http\ncontent-type: x\n\n{}",
		"vellum-event/1\nreceived: 2026-11-31T15:04:05.000000000Z\nprincipal: a\ntransport: "
		"http\ncontent-type: x\n\n{}",
		"vellum-event/1\nreceived: 2026-11-26T15:04:60.000000000Z\nprincipal: a\ntransport: "
		"http\ncontent-type: x\n\n{}",
		"vellum-event/1\nreceived: 2026-11-26T15:04:05.00000000Z\nprincipal: a\ntransport: "
		"http\ncontent-type: x\n\n{}",
		"vellum-event/1\nreceived: 2026-11-26T15:04:05.000000000Z\nprincipal: \ntransport: "
		"http\ncontent-type: x\n\n{}",
		"vellum-event/1\nreceived: 2026-11-26T15:04:05.000000000Z\nprincipal: a\ntransport: "
		"http\ncontent-type: x\nidempotency-key: 00\nrequest-events: 1\n\n{}",
		"vellum-event/1\nreceived: 2026-11-26T15:04:05.000000000Z\nprincipal: a\ntransport: "
		"http\ncontent-type: x\n{}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		vs_envelope_view v;
		size_t n = strlen(bad[i]);
		uint8_t *p = malloc(n);
		memcpy(p, bad[i], n);
		if (vs_envelope_parse(p, n, &v) != -1)
			fail_msg("accepted bad envelope %zu", i);
		free(p);
	}
}

/* ------------------------------------------------------------------ */
/* Idempotency index.                                                  */

static void make_key(uint8_t key[VS_IDEM_KEY_SIZE], uint64_t i, int collide)
{
	memset(key, 0, VS_IDEM_KEY_SIZE);
	/* With collide, every key has the same home slot: one long chain. */
	uint64_t h = collide ? 7 : i * 0x9e3779b97f4a7c15ull;
	memcpy(key, &h, sizeof h);
	memcpy(key + 8, &i, sizeof i);
}

static void test_idem_find_put_remove(void **state)
{
	(void)state;
	for (int collide = 0; collide <= 1; collide++) {
		vs_idem *t = vs_idem_new(100);
		assert_non_null(t);
		uint8_t k[VS_IDEM_KEY_SIZE];
		uint64_t first;
		uint32_t count;
		for (uint64_t i = 0; i < 100; i++) {
			make_key(k, i, collide);
			assert_int_equal(vs_idem_put(t, k, VS_IDEM_PENDING, 9), 0);
			assert_int_equal(vs_idem_put(t, k, i * 10, (uint32_t)i + 1), 0); /* update */
		}
		assert_int_equal(vs_idem_count(t), 100);
		/* Remove every third key: the others stay findable. */
		for (uint64_t i = 0; i < 100; i += 3) {
			make_key(k, i, collide);
			vs_idem_remove(t, k);
		}
		for (uint64_t i = 0; i < 100; i++) {
			make_key(k, i, collide);
			int found = vs_idem_find(t, k, &first, &count);
			assert_int_equal(found, i % 3 != 0);
			if (found) {
				assert_int_equal(first, i * 10);
				assert_int_equal(count, i + 1);
			}
		}
		vs_idem_free(t);
	}
}

static void test_idem_evicts_oldest(void **state)
{
	(void)state;
	vs_idem *t = vs_idem_new(1000);
	uint8_t k[VS_IDEM_KEY_SIZE];
	uint64_t first;
	uint32_t count;
	for (uint64_t i = 0; i < 5000; i++) {
		make_key(k, i, 0);
		assert_int_equal(vs_idem_put(t, k, i, 1), 0);
		assert_true(vs_idem_count(t) <= 1000);
	}
	for (uint64_t i = 0; i < 5000; i++) {
		make_key(k, i, 0);
		assert_int_equal(vs_idem_find(t, k, &first, &count), i >= 4000);
	}
	vs_idem_free(t);
}

/* ------------------------------------------------------------------ */
/* Routes.                                                             */

static int route(const char *path, vs_route *r)
{
	size_t n = strlen(path);
	char *p = malloc(n ? n : 1);
	memcpy(p, path, n);
	int rc = vs_route_parse(p, n, r);
	free(p);
	return rc;
}

static void test_routes(void **state)
{
	(void)state;
	vs_route r;
	assert_int_equal(route("/healthz", &r), 0);
	assert_int_equal(r.kind, VS_ROUTE_HEALTHZ);
	assert_int_equal(route("/metrics", &r), 0);
	assert_int_equal(r.kind, VS_ROUTE_METRICS);
	assert_int_equal(route("/logs/default/checkpoint", &r), 0);
	assert_int_equal(r.kind, VS_ROUTE_CHECKPOINT);
	assert_string_equal(r.log, "default");
	assert_int_equal(route("/logs/a_b-c.d/tile/1/x001/234.p/7", &r), 0);
	assert_int_equal(r.kind, VS_ROUTE_TILE);
	assert_int_equal(r.tile_level, 1);
	assert_int_equal(r.tile_n, 1234);
	assert_int_equal(r.tile_width, 7);
	assert_int_equal(route("/logs/x/tile/entries/000", &r), 0);
	assert_int_equal(r.tile_level, VL_TILE_ENTRIES);
	assert_int_equal(r.tile_width, 256);
	assert_int_equal(route("/v1/logs/x/events", &r), 0);
	assert_true(r.kind == VS_ROUTE_EVENTS && r.post);
	assert_int_equal(route("/v1/logs/x/k8s-audit", &r), 0);
	assert_true(r.kind == VS_ROUTE_K8S_AUDIT && r.post);
	assert_int_equal(route("/v1/logs/x/forward", &r), 0);
	assert_true(r.kind == VS_ROUTE_FORWARD && r.post);
	assert_int_equal(route("/v1/logs/x/sources", &r), 0);
	assert_true(r.kind == VS_ROUTE_SOURCES && !r.post);
	assert_int_equal(route("/v1/logs/x/entries/18446744073709551615", &r), 0);
	assert_true(r.kind == VS_ROUTE_ENTRY && r.index == UINT64_MAX);
	assert_int_equal(route("/v1/logs/x/receipt/0", &r), 0);
	assert_int_equal(r.kind, VS_ROUTE_RECEIPT);
	assert_int_equal(route("/v1/logs/x/proof/inclusion", &r), 0);
	assert_int_equal(route("/v1/logs/x/proof/consistency", &r), 0);
	static const char *const none[] = {
		"", "/", "/logs/default/tile/../../../etc/passwd", "/logs/../checkpoint",
		"/logs/.hidden/checkpoint", "/logs//checkpoint", "/logs/default/checkpoint/",
		"/logs/default/tile/0/01", "/logs/default/tile/0/000.p/0", "/logs/default/tile/0/000.p/256",
		"/v1/logs/x/entries/01", "/v1/logs/x/entries/18446744073709551616", "/v1/logs/x/entries/",
		"/v1/logs/x/entries/-1", "/v1/logs/x/events/", "/v1/logs/x", "/healthz/",
		"/v1/logs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/events",
		"/logs/default/tile/entries/000\n",
	};
	for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
		if (route(none[i], &r) != -1 || r.kind != VS_ROUTE_NONE)
			fail_msg("routed %s", none[i]);
	}
	/* A NUL inside the path never routes. */
	assert_int_equal(vs_route_parse("/healthz\0x", 10, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_exact_bytes),
		cmocka_unit_test(test_envelope_template),
		cmocka_unit_test(test_envelope_round_trip),
		cmocka_unit_test(test_envelope_refuses),
		cmocka_unit_test(test_envelope_agent_lines),
		cmocka_unit_test(test_forward_parse),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_idem_find_put_remove),
		cmocka_unit_test(test_idem_evicts_oldest),
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
