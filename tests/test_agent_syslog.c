/*
 * test_agent_syslog.c — the agent's syslog:ADDR:PORT source over real
 * sockets on 127.0.0.1: messages over TCP (octet counting and LF framing,
 * split across writes, several connections) and UDP arrive as events with
 * their exact bytes, in order per connection, with positions counting
 * messages; batch limits; a message of VA_EVENT_MAX bytes is whole and a
 * longer one refused and reported; read timeouts; backpressure (a TCP
 * sender waits while the queue is full and nothing is lost once reading
 * resumes); closing while the listener waits for room; address checks.
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
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "entry.h"
#include "source.h"
#include "vellum.h"

/* Internal to source_syslog.c: messages in the source's queue. */
size_t va_syslog_source_queued(const va_source *s);

/* ------------------------------------------------------------------ */
/* Helpers.                                                            */

static char notes[65536];

static void note_cb(void *ctx, int level, const char *origin, const char *msg,
                    const char *detail)
{
	(void)ctx;
	size_t n = strlen(notes);
	snprintf(notes + n, sizeof notes - n, "%d %s %s: %s\n", level, origin, msg, detail);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static va_source *open_source(const char *spec)
{
	char origin[VA_ORIGIN_MAX + 1], err[512];
	va_source *s = NULL;
	notes[0] = '\0';
	assert_int_equal(va_source_origin(spec, origin, sizeof origin, err, sizeof err), 0);
	int rc = va_source_open(origin, NULL, note_cb, NULL, &s, err, sizeof err);
	if (rc != 0)
		fail_msg("open %s: %s", spec, err);
	assert_non_null(s);
	assert_string_equal(s->origin, spec);
	assert_int_equal(s->resumable, 0);
	assert_int_not_equal(va_syslog_source_port(s, 0), 0);
	assert_int_not_equal(va_syslog_source_port(s, 1), 0);
	return s;
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int tcp_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = loopback(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static int send_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t w = send(fd, c, len, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

static void udp_send(uint16_t port, const char *msg, size_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = loopback(port);
	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
	close(fd);
}

/* Events read, copied out. */
struct got {
	char **ev;
	size_t *len;
	uint64_t *pos;
	size_t n, cap;
};

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->ev[i]);
	free(g->ev);
	free(g->len);
	free(g->pos);
	memset(g, 0, sizeof *g);
}

/* Reads until G holds WANT events or WITHIN_MS passes; with batches of at
 * most MAX_EVENTS. */
static void collect(va_source *s, struct got *g, size_t want, size_t max_events, int within_ms)
{
	va_batch b;
	va_batch_init(&b, max_events, 1u << 20);
	int64_t end = now_ms() + within_ms;
	while (g->n < want && now_ms() < end) {
		int rc = va_source_read(s, &b, 100);
		assert_int_equal(rc, VA_SOURCE_OK);
		assert_true(b.n <= max_events);
		for (size_t i = 0; i < b.n; i++) {
			if (g->n == g->cap) {
				g->cap = g->cap ? 2 * g->cap : 256;
				g->ev = realloc(g->ev, g->cap * sizeof *g->ev);
				g->len = realloc(g->len, g->cap * sizeof *g->len);
				g->pos = realloc(g->pos, g->cap * sizeof *g->pos);
			}
			g->len[g->n] = b.ev[i].len;
			g->ev[g->n] = malloc(b.ev[i].len + 1);
			memcpy(g->ev[g->n], b.data + b.ev[i].off, b.ev[i].len);
			g->ev[g->n][b.ev[i].len] = '\0';
			g->pos[g->n] = b.ev[i].pos.offset;
			assert_int_equal(b.ev[i].pos.has_file, 0);
			g->n++;
		}
		va_batch_clear(&b);
	}
	va_batch_free(&b);
}

/* Positions count messages: 1, 2, 3, ... from FIRST. */
static void assert_positions(const struct got *g, uint64_t first)
{
	for (size_t i = 0; i < g->n; i++)
		assert_int_equal(g->pos[i], first + i);
}

/* The events of G that contain MARK, in order, must be exactly
 * WANT[0..n). */
static void assert_stream(const struct got *g, const char *mark, char **want, size_t n)
{
	const char *prefix = mark;
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (strstr(g->ev[i], mark) == NULL)
			continue;
		if (k >= n)
			fail_msg("%s: unexpected extra event '%s'", prefix, g->ev[i]);
		if (g->len[i] != strlen(want[k]) || memcmp(g->ev[i], want[k], g->len[i]) != 0)
			fail_msg("%s: event %zu is '%s', expected '%s'", prefix, k, g->ev[i],
			         want[k]);
		k++;
	}
	if (k != n)
		fail_msg("%s: %zu events, expected %zu", prefix, k, n);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof buf, f, ap);
	va_end(ap);
	return strdup(buf);
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
}

/* ------------------------------------------------------------------ */
/* Addresses.                                                          */

static void addresses(void **state)
{
	(void)state;
	char err[512], origin[VA_ORIGIN_MAX + 1];
	static const char *const good[] = {"127.0.0.1:514", "0.0.0.0:0",   "[::1]:6514",
	                                   "[::]:65535",    "localhost:1",
	                                   "log-host.example_1.org:514"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		err[0] = '\0';
		if (va_syslog_address_ok(good[i], err, sizeof err) != 0)
			fail_msg("%s refused: %s", good[i], err);
	}
	static const struct {
		const char *addr, *why;
	} bad[] = {
		{"", "no address"},
		{"127.0.0.1", "no port"},
		{"127.0.0.1:", "no port"},
		{":514", "no address"},
		{"::1:514", "in brackets"},
		{"[::1]514", "[IPV6]:PORT"},
		{"[::1", "[IPV6]:PORT"},
		{"[]:514", "no IPv6 address"},
		{"[127.0.0.1]:514", "not an IPv6 address"},
		{"300.1.1.1:514", "not an IPv4 address"},
		{"1.2.3:514", "not an IPv4 address"},
		{"bad host:514", "neither"},
		{"-x:514", "neither"},
		{"a..b:514", "neither"},
		{"127.0.0.1:65536", "0..65535"},
		{"127.0.0.1:123456", "0..65535"},
		{"127.0.0.1:-1", "0..65535"},
		{"127.0.0.1:+1", "0..65535"},
		{"127.0.0.1:0514", "leading"},
		{"127.0.0.1:51a", "0..65535"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (va_syslog_address_ok(bad[i].addr, err, sizeof err) != -1)
			fail_msg("'%s' accepted", bad[i].addr);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("'%s': error '%s' does not say '%s'", bad[i].addr, err,
			         bad[i].why);
	}
	/* Through the source kinds: the origin is the spec, unchanged. */
	assert_int_equal(va_source_origin("syslog:127.0.0.1:514", origin, sizeof origin, err,
	                                  sizeof err), 0);
	assert_string_equal(origin, "syslog:127.0.0.1:514");
	assert_int_equal(va_source_origin("syslog:127.0.0.1", origin, sizeof origin, err,
	                                  sizeof err), -1);
	assert_non_null(strstr(err, "no port"));
	va_source *s = (va_source *)1;
	assert_int_equal(va_syslog_source_open("nope", &s, err, sizeof err), VL_EINVAL);
	assert_null(s);
	/* A port in use is an error naming the address. */
	va_source *a = open_source("syslog:127.0.0.1:0");
	char spec[64];
	snprintf(spec, sizeof spec, "127.0.0.1:%u", va_syslog_source_port(a, 0));
	s = (va_source *)1;
	assert_int_not_equal(va_syslog_source_open(spec, &s, err, sizeof err), 0);
	assert_null(s);
	assert_non_null(strstr(err, spec));
	assert_non_null(strstr(err, "in use"));
	va_source_close(a);
	/* Not a syslog source: no port. */
	assert_int_equal(va_source_open("stdin", NULL, NULL, NULL, &s, err, sizeof err), 0);
	assert_int_equal(va_syslog_source_port(s, 0), 0);
	va_source_close(s);
	/* A bad queue bound. */
	setenv("VA_SYSLOG_QUEUE_MAX", "0", 1);
	assert_int_equal(va_syslog_source_open("127.0.0.1:0", &s, err, sizeof err), VL_EINVAL);
	assert_non_null(strstr(err, "VA_SYSLOG_QUEUE_MAX"));
	setenv("VA_SYSLOG_QUEUE_MAX", "5:x", 1);
	assert_int_equal(va_syslog_source_open("127.0.0.1:0", &s, err, sizeof err), VL_EINVAL);
	unsetenv("VA_SYSLOG_QUEUE_MAX");
}

/* ------------------------------------------------------------------ */
/* Messages.                                                           */

static void tcp_and_udp(void **state)
{
	(void)state;
	va_source *s = open_source("syslog:127.0.0.1:0");
	uint16_t tport = va_syslog_source_port(s, 0), uport = va_syslog_source_port(s, 1);
	enum { N = 200 };
	char *oc[N], *lf[N], *ud[20];

	/* Octet counting, written in pieces of 1..7 bytes that split
	 * lengths, headers and bodies. */
	int a = tcp_connect(tport);
	/* LF framing (also CRLF, and NUL between messages), in pieces of 5. */
	int b = tcp_connect(tport);
	char *stream_a = NULL, *stream_b = NULL;
	size_t la = 0, lb = 0;
	FILE *fa = open_memstream(&stream_a, &la), *fb = open_memstream(&stream_b, &lb);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			oc[i] = fmt("<34>1 2026-01-0%dT00:00:00Z host-a app %d - [x@1 k=\"v\\]\"] "
			            "octet %04d\nwith a newline inside",
			            1 + i % 9, i, i);
		else
			oc[i] = fmt("<13>Jan %2d 10:00:00 host-a tag[%d]: octet %04d", 1 + i % 28,
			            i, i);
		fprintf(fa, "%zu %s", strlen(oc[i]), oc[i]);
		lf[i] = fmt("<165>1 2026-11-26T15:04:05.123Z host-b app - ID%d - lf %04d "
		            "\xc3\xa9", i, i);
		fprintf(fb, "%s%s", lf[i], i % 3 == 0 ? "\r\n" : i % 3 == 1 ? "\n" : "\n\n");
		if (i % 3 == 2)
			fputc('\0', fb);
	}
	fclose(fa);
	fclose(fb);
	size_t oa = 0, ob = 0;
	for (int k = 0; oa < la || ob < lb; k++) {
		size_t n = 1 + (size_t)k % 7;
		if (oa < la) {
			n = n < la - oa ? n : la - oa;
			assert_int_equal(send_all(a, stream_a + oa, n), 0);
			oa += n;
		}
		if (ob < lb) {
			n = 5 < lb - ob ? 5 : lb - ob;
			assert_int_equal(send_all(b, stream_b + ob, n), 0);
			ob += n;
		}
	}
	free(stream_a);
	free(stream_b);
	for (int i = 0; i < 20; i++) {
		ud[i] = fmt("<14>1 - host-u udp - - - udp %02d", i);
		char dgram[256];
		int n = snprintf(dgram, sizeof dgram, "%s%s", ud[i], i % 2 ? "\n" : "");
		udp_send(uport, dgram, (size_t)n);
		sleep_ms(2); /* paced: loopback datagrams are not lost at this rate */
	}

	struct got g = {0};
	collect(s, &g, 2 * N + 20, 7, 10000);
	assert_int_equal(g.n, 2 * N + 20);
	assert_positions(&g, 1);
	assert_stream(&g, "host-a", oc, N);
	assert_stream(&g, "host-b", lf, N);
	assert_stream(&g, "host-u", ud, 20);
	/* Nothing more arrives, and the source said where it listens. */
	collect(s, &g, 2 * N + 21, 7, 300);
	assert_int_equal(g.n, 2 * N + 20);
	char listening[128];
	snprintf(listening, sizeof listening,
	         "%d syslog:127.0.0.1:0 listening: tcp port %u, udp port %u", VA_NOTE_INFO, tport,
	         uport);
	assert_non_null(strstr(notes, listening));
	got_free(&g);
	close(a);
	close(b);
	free_list(oc, N);
	free_list(lf, N);
	free_list(ud, 20);
	va_source_close(s);
}


/* A message of VA_EVENT_MAX bytes arrives whole by every transport; a
 * longer one is refused (and said so), and the source goes on. */
static void long_messages(void **state)
{
	(void)state;
	va_source *s = open_source("syslog:127.0.0.1:0");
	uint16_t tport = va_syslog_source_port(s, 0), uport = va_syslog_source_port(s, 1);
	size_t max = VA_EVENT_MAX;
	char *big = malloc(max + 16), frame[16];
	memcpy(big, "<13>", 4);
	for (size_t i = 4; i < max + 1; i++)
		big[i] = (char)('a' + i % 26);
	big[max + 1] = '\0';

	int fd = tcp_connect(tport);
	int n = snprintf(frame, sizeof frame, "%zu ", max);
	assert_int_equal(send_all(fd, frame, (size_t)n), 0);
	assert_int_equal(send_all(fd, big, max), 0);
	big[0] = '<';
	assert_int_equal(send_all(fd, big, max), 0); /* LF-framed, same bytes */
	assert_int_equal(send_all(fd, "\n", 1), 0);
	udp_send(uport, big, max);

	struct got g = {0};
	collect(s, &g, 3, 1000, 10000);
	assert_int_equal(g.n, 3);
	assert_positions(&g, 1);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(g.len[i], max);
		assert_memory_equal(g.ev[i], big, max);
	}

	/* One byte more: refused.  The TCP connection is closed (its
	 * framing is lost); the datagram is dropped. */
	n = snprintf(frame, sizeof frame, "%zu ", max + 1);
	assert_int_equal(send_all(fd, frame, (size_t)n), 0);
	send_all(fd, big, max + 1);
	char c;
	assert_true(recv(fd, &c, 1, 0) <= 0);
	close(fd);
	udp_send(uport, big, max + 1);
	/* A message that does not parse is refused too. */
	udp_send(uport, "not syslog", 10);
	sleep_ms(300);
	udp_send(uport, "<13>after", 9);
	collect(s, &g, 4, 1000, 10000);
	collect(s, &g, 5, 1000, 300);
	assert_int_equal(g.n, 4);
	assert_string_equal(g.ev[3], "<13>after");
	assert_int_equal(g.pos[3], 4);
	if (!strstr(notes, "2 syslog:127.0.0.1:0 syslog listener: syslog-tcp") ||
	    !strstr(notes, "MSG-LEN exceeds the maximum message size 64511") ||
	    !strstr(notes, "dropped a 64512-byte datagram") ||
	    !strstr(notes, "not RFC 5424 or RFC 3164"))
		fail_msg("notes:\n%s", notes);
	got_free(&g);
	free(big);
	va_source_close(s);
}

static void *send_later(void *arg)
{
	sleep_ms(150);
	udp_send(*(uint16_t *)arg, "<13>late", 8);
	return NULL;
}

static void *send_garbage_later(void *arg)
{
	sleep_ms(150);
	udp_send(*(uint16_t *)arg, "garbage", 7);
	return NULL;
}

/* read() waits up to its timeout for the first message, and no longer
 * once one is there; batches are limited. */
static void timeouts_and_batches(void **state)
{
	(void)state;
	va_source *s = open_source("syslog:127.0.0.1:0");
	uint16_t uport = va_syslog_source_port(s, 1);
	va_batch b;
	va_batch_init(&b, 3, 1u << 20);
	int64_t t0 = now_ms();
	assert_int_equal(va_source_read(s, &b, 0), VA_SOURCE_OK);
	assert_int_equal(b.n, 0);
	assert_true(now_ms() - t0 < 100);
	t0 = now_ms();
	assert_int_equal(va_source_read(s, &b, 300), VA_SOURCE_OK);
	assert_int_equal(b.n, 0);
	assert_true(now_ms() - t0 >= 290);
	assert_true(now_ms() - t0 < 2000);

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, send_later, &uport), 0);
	t0 = now_ms();
	assert_int_equal(va_source_read(s, &b, 10000), VA_SOURCE_OK);
	int64_t took = now_ms() - t0;
	pthread_join(th, NULL);
	assert_int_equal(b.n, 1);
	assert_true(took >= 100 && took < 2000);
	assert_memory_equal(b.data, "<13>late", 8);
	va_batch_clear(&b);

	/* A listener note ends the wait too, and is passed on at once. */
	notes[0] = '\0';
	assert_int_equal(pthread_create(&th, NULL, send_garbage_later, &uport), 0);
	t0 = now_ms();
	assert_int_equal(va_source_read(s, &b, 10000), VA_SOURCE_OK);
	took = now_ms() - t0;
	pthread_join(th, NULL);
	assert_int_equal(b.n, 0);
	assert_true(took >= 100 && took < 2000);
	if (!strstr(notes, "syslog listener: syslog-udp 127.0.0.1:") ||
	    !strstr(notes, "not RFC 5424 or RFC 3164"))
		fail_msg("notes:\n%s", notes);

	/* Five messages, batches of at most 3; a full batch takes nothing. */
	for (int i = 0; i < 5; i++) {
		char m[32];
		int n = snprintf(m, sizeof m, "<13>m%d", i);
		udp_send(uport, m, (size_t)n);
	}
	int64_t end = now_ms() + 5000;
	while (va_syslog_source_queued(s) < 5 && now_ms() < end)
		sleep_ms(10);
	assert_int_equal(va_syslog_source_queued(s), 5);
	assert_int_equal(va_source_read(s, &b, 100), VA_SOURCE_OK);
	assert_int_equal(b.n, 3);
	assert_int_equal(va_source_read(s, &b, 100), VA_SOURCE_OK);
	assert_int_equal(b.n, 3);
	assert_int_equal(va_syslog_source_queued(s), 2);
	va_batch_clear(&b);
	assert_int_equal(va_source_read(s, &b, 100), VA_SOURCE_OK);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.ev[0].pos.offset, 5);
	assert_int_equal(b.ev[1].pos.offset, 6);
	assert_memory_equal(b.data + b.ev[1].off, "<13>m4", 6);
	va_batch_free(&b);
	va_source_close(s);
}

/* ------------------------------------------------------------------ */
/* Backpressure.                                                       */

struct sender {
	uint16_t port;
	int count;
	int size;           /* pad messages to this many bytes (0: as they are) */
	atomic_int sent;    /* messages written so far */
	atomic_int done;    /* 1 all written, -1 the connection failed */
};

static char *sender_msg(int i, int size)
{
	char *m = fmt("<13>1 - host-p app - - - pressure %06d ", i);
	if (size > (int)strlen(m)) {
		size_t l = strlen(m);
		m = realloc(m, (size_t)size + 1);
		memset(m + l, 'p', (size_t)size - l);
		m[size] = '\0';
	}
	return m;
}

static void *sender_main(void *arg)
{
	struct sender *p = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(p->port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		p->done = -1;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (int i = 0; i < p->count; i++) {
		char *m = sender_msg(i, p->size);
		size_t l = strlen(m);
		m[l] = '\n'; /* LF framing (the NUL is gone: length is l + 1) */
		int rc = send_all(fd, m, l + 1);
		free(m);
		if (rc != 0) {
			p->done = -1;
			close(fd);
			return NULL;
		}
		p->sent++;
	}
	p->done = 1;
	close(fd);
	return NULL;
}

/* Waits until the queue holds WANT messages and has for a while. */
static void wait_queue_stable(va_source *s, size_t want)
{
	int64_t end = now_ms() + 10000;
	while (va_syslog_source_queued(s) != want && now_ms() < end)
		sleep_ms(10);
	sleep_ms(500);
	assert_int_equal(va_syslog_source_queued(s), want);
}

static void backpressure(void **state)
{
	(void)state;
	setenv("VA_SYSLOG_QUEUE_MAX", "4", 1);
	va_source *s = open_source("syslog:127.0.0.1:0");
	unsetenv("VA_SYSLOG_QUEUE_MAX");
	/* 20 MB: far more than the sockets' buffers hold (they grow to a few MiB). */
	struct sender p = {.port = va_syslog_source_port(s, 0), .count = 40000, .size = 500};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sender_main, &p), 0);
	wait_queue_stable(s, 4);
	int sent = p.sent;
	assert_int_equal(p.done, 0); /* the sender is held back */
	sleep_ms(300);
	assert_int_equal(p.sent, sent); /* and stays so */

	struct got g = {0};
	collect(s, &g, (size_t)p.count, 100, 60000);
	pthread_join(th, NULL);
	assert_int_equal(p.done, 1);
	assert_int_equal(g.n, (size_t)p.count);
	assert_positions(&g, 1);
	for (int i = 0; i < p.count; i++) {
		char *m = sender_msg(i, p.size);
		if (strcmp(g.ev[i], m) != 0)
			fail_msg("event %d is '%.60s', expected '%.60s'", i, g.ev[i], m);
		free(m);
	}
	if (!strstr(notes, "syslog queue full"))
		fail_msg("notes:\n%s", notes);
	got_free(&g);
	va_source_close(s);
}

/* The byte bound: 300 bytes hold two 120-byte messages, not three; a
 * message above the bound still passes an empty queue. */
static void byte_bound(void **state)
{
	(void)state;
	setenv("VA_SYSLOG_QUEUE_MAX", "100:300", 1);
	va_source *s = open_source("syslog:127.0.0.1:0");
	unsetenv("VA_SYSLOG_QUEUE_MAX");
	struct sender p = {.port = va_syslog_source_port(s, 0), .count = 10, .size = 120};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sender_main, &p), 0);
	wait_queue_stable(s, 2);
	struct got g = {0};
	collect(s, &g, 10, 3, 10000);
	pthread_join(th, NULL);
	assert_int_equal(g.n, 10);
	struct sender q = {.port = p.port, .count = 1, .size = 1000};
	assert_int_equal(pthread_create(&th, NULL, sender_main, &q), 0);
	collect(s, &g, 11, 3, 10000);
	pthread_join(th, NULL);
	assert_int_equal(g.n, 11);
	assert_int_equal(g.len[10], 1000);
	assert_int_equal(g.pos[10], 11);
	got_free(&g);
	va_source_close(s);
}

/* Closing while listener threads wait for room returns promptly. */
static void close_while_blocked(void **state)
{
	(void)state;
	setenv("VA_SYSLOG_QUEUE_MAX", "1", 1);
	va_source *s = open_source("syslog:127.0.0.1:0");
	unsetenv("VA_SYSLOG_QUEUE_MAX");
	uint16_t uport = va_syslog_source_port(s, 1);
	struct sender p[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		p[i] = (struct sender){.port = va_syslog_source_port(s, 0), .count = 100000};
		assert_int_equal(pthread_create(&th[i], NULL, sender_main, &p[i]), 0);
	}
	for (int i = 0; i < 5; i++)
		udp_send(uport, "<13>udp", 7);
	wait_queue_stable(s, 1);
	alarm(30); /* a hang fails the test */
	int64_t t0 = now_ms();
	va_source_close(s);
	assert_true(now_ms() - t0 < 5000);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(p[i].done, -1); /* its connection was closed */
	}
	alarm(0);
}

/* A stop that keeps what was taken (the agent's SIGTERM): quiesced, the
 * source hands out every queued message, also those a receiving thread
 * was waiting to queue, then says it has ended; it takes nothing new. */
static void quiesce_keeps_what_was_taken(void **state)
{
	(void)state;
	setenv("VA_SYSLOG_QUEUE_MAX", "4", 1);
	va_source *s = open_source("syslog:127.0.0.1:0");
	unsetenv("VA_SYSLOG_QUEUE_MAX");
	uint16_t port = va_syslog_source_port(s, 0);
	struct sender p = {.port = port, .count = 20, .size = 200};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sender_main, &p), 0);
	wait_queue_stable(s, 4);
	assert_non_null(s->ops->quiesce);
	assert_int_equal(s->ops->quiesce(s), 0);
	va_batch b;
	va_batch_init(&b, 1000, 1u << 20);
	size_t n = 0;
	int rc = VA_SOURCE_OK;
	int64_t end = now_ms() + 10000;
	while (rc == VA_SOURCE_OK && now_ms() < end) {
		rc = va_source_read(s, &b, 100);
		for (size_t i = 0; i < b.n; i++, n++) {
			char *m = sender_msg((int)n, p.size);
			assert_int_equal(b.ev[i].len, strlen(m));
			assert_memory_equal(b.data + b.ev[i].off, m, b.ev[i].len);
			free(m);
		}
		va_batch_clear(&b);
	}
	va_batch_free(&b);
	assert_int_equal(rc, VA_SOURCE_EOF);
	/* The four queued and the one a receiving thread held, at least. */
	assert_true(n >= 5);
	pthread_join(th, NULL);
	/* Nothing new is taken: the port no longer accepts. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(port);
	assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	close(fd);
	va_source_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses),
		cmocka_unit_test(tcp_and_udp),
		cmocka_unit_test(long_messages),
		cmocka_unit_test(timeouts_and_batches),
		cmocka_unit_test(backpressure),
		cmocka_unit_test(byte_bound),
		cmocka_unit_test(close_while_blocked),
		cmocka_unit_test(quiesce_keeps_what_was_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
