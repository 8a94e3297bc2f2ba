/*
 * source_syslog.c — the syslog:ADDR:PORT source: a syslog receiver on
 * both UDP and TCP at ADDR:PORT (the server's listener, syslog_listen.h:
 * RFC 5424 and RFC 3164 messages, RFC 6587 octet counting and LF framing
 * over TCP, one message per datagram over UDP).  Each message the listener
 * accepts is one event: its bytes exactly as received, without framing and
 * without trailing CR, LF and NUL bytes.
 *
 * The listener's threads push messages into a bounded queue (by count and
 * by bytes); read() moves them into the agent's batches.  When the queue
 * is full a listener thread waits for room, so a TCP sender is held back
 * by its connection's flow control (and a UDP sender's datagrams wait in,
 * and may overflow, the socket's receive buffer): nothing is dropped here.
 * close() wakes every waiting thread, whose message is then refused (the
 * connection is closed), and stops the listener.
 *
 * Position: the number of messages taken from the queue since the source
 * was opened.  Syslog has no acknowledgement and no replay, so the source
 * is not resumable: a message is safe once it is spooled, and the messages
 * still queued (at most the queue's bound) are lost if the agent stops or
 * is killed.  The peer's address is not recorded; the message's HOSTNAME
 * names its sender.
 *
 * Messages up to VA_EVENT_MAX bytes are accepted; a longer one is refused
 * by the listener as oversize (counted, logged, and over TCP its
 * connection is closed, since the stream's framing is then lost).  Idle
 * connections are never closed: a sender that closes on its own terms
 * loses nothing, one whose connection we closed might.
 *
 * The listener's log lines, a note when senders start being held back, and
 * a periodic summary of rejected messages are passed to the source's note
 * callback from read(), on the agent's source thread.
 *
 * VA_SYSLOG_QUEUE_MAX=MESSAGES[:BYTES] in the environment, read at open,
 * sets the queue's bound (tests use a tiny one).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source.h"
#include "syslog_listen.h"
#include "vellum.h"

#define QUEUE_MAX_MESSAGES 10000
#define QUEUE_MAX_BYTES (8u << 20)
#define NOTES_MAX 32
#define REJECT_REPORT_S 10

struct qmsg {
	struct qmsg *next;
	size_t len;
	uint8_t data[];
};

struct note {
	int level;
	char msg[48];
	char detail[512];
};

struct syslog_source {
	va_source base;
	vs_syslog_server *srv;
	uint16_t tcp_port, udp_port;

	pthread_mutex_t mu;   /* guards everything below */
	pthread_cond_t ready; /* a message was queued, or closing */
	pthread_cond_t room;  /* a message left the queue, or closing */
	struct qmsg *head, *tail;
	size_t n, bytes;         /* queued */
	size_t max_n, max_bytes; /* the bound */
	int closing;
	int stopped;             /* quiesced: the listener has stopped */
	int holding;             /* a sink waited since the queue was last empty */
	pthread_t stopper;       /* quiesce: stops the listener */
	int stopper_started;
	uint64_t taken;          /* messages moved into batches */
	struct note notes[NOTES_MAX];
	size_t n_notes;
	uint64_t notes_lost;

	/* Only on the reading thread. */
	vs_syslog_counters reported; /* rejects in the last summary */
	int64_t reported_s;          /* when (monotonic seconds) */
};

/* Declared here and in the unit test only. */
size_t va_syslog_source_queued(const va_source *s);

/* ------------------------------------------------------------------ */
/* Addresses.                                                          */

static int all_of(const char *s, size_t len, const char *set)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(set, s[i]))
			return 0;
	return 1;
}

int va_syslog_address_ok(const char *ap, char *err, size_t errcap)
{
	char host[256];
	const char *h = ap, *colon;
	size_t hlen;
	if (ap == NULL || ap[0] == '\0') {
		snprintf(err, errcap, "syslog: no address: expected syslog:ADDR:PORT");
		return -1;
	}
	if (ap[0] == '[') {
		const char *close = strchr(ap, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errcap,
			         "syslog:%s: expected [IPV6]:PORT (an IPv6 address in brackets, "
			         "then ':' and the port)", ap);
			return -1;
		}
		h = ap + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		if (hlen == 0 || hlen >= sizeof host) {
			snprintf(err, errcap, "syslog:%s: no IPv6 address in the brackets", ap);
			return -1;
		}
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			snprintf(err, errcap, "syslog:%s: '%s' is not an IPv6 address", ap, host);
			return -1;
		}
	} else {
		colon = strrchr(ap, ':');
		if (colon == NULL) {
			snprintf(err, errcap, "syslog:%s: no port: expected syslog:ADDR:PORT", ap);
			return -1;
		}
		hlen = (size_t)(colon - ap);
		if (memchr(ap, ':', hlen) != NULL) {
			snprintf(err, errcap,
			         "syslog:%s: an IPv6 address must be in brackets, as [::1]:514",
			         ap);
			return -1;
		}
		if (hlen == 0) {
			snprintf(err, errcap,
			         "syslog:%s: no address: expected syslog:ADDR:PORT (0.0.0.0 for "
			         "every IPv4 address)", ap);
			return -1;
		}
		if (hlen >= sizeof host) {
			snprintf(err, errcap, "syslog:%.64s...: the address is too long", ap);
			return -1;
		}
		memcpy(host, ap, hlen);
		host[hlen] = '\0';
		struct in_addr a4;
		if (all_of(host, hlen, "0123456789.")) {
			if (inet_pton(AF_INET, host, &a4) != 1) {
				snprintf(err, errcap, "syslog:%s: '%s' is not an IPv4 address", ap,
				         host);
				return -1;
			}
		} else if (!all_of(host, hlen,
		                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                   "0123456789.-_") ||
		           host[0] == '.' || host[0] == '-' || strstr(host, "..") != NULL) {
			snprintf(err, errcap,
			         "syslog:%s: '%s' is neither an IPv4 address nor a host name", ap,
			         host);
			return -1;
		}
	}
	const char *p = colon + 1;
	size_t plen = strlen(p);
	if (plen == 0) {
		snprintf(err, errcap, "syslog:%s: no port after ':' (0..65535; 0 picks a free one)",
		         ap);
		return -1;
	}
	if (plen > 5 || !all_of(p, plen, "0123456789") || (plen > 1 && p[0] == '0') ||
	    atoi(p) > 65535) {
		snprintf(err, errcap,
		         "syslog:%s: port '%s' is not a decimal number 0..65535 without leading "
		         "zeros", ap, p);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Notes: queued by any thread, passed on by read().                   */

static void queue_note_locked(struct syslog_source *q, int level, const char *msg,
                              const char *detail)
{
	if (q->closing)
		return;
	if (q->n_notes == NOTES_MAX) {
		q->notes_lost++;
		return;
	}
	struct note *n = &q->notes[q->n_notes++];
	n->level = level;
	snprintf(n->msg, sizeof n->msg, "%s", msg);
	snprintf(n->detail, sizeof n->detail, "%s", detail);
	pthread_cond_signal(&q->ready); /* a waiting read() passes it on */
}

static void on_listener_log(void *ctx, const char *line)
{
	struct syslog_source *q = ctx;
	pthread_mutex_lock(&q->mu);
	queue_note_locked(q, VA_NOTE_WARN, "syslog listener", line);
	pthread_mutex_unlock(&q->mu);
}

static void deliver_notes(struct syslog_source *q, const struct note *notes, size_t n,
                          uint64_t lost)
{
	if (q->base.note == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		q->base.note(q->base.note_ctx, notes[i].level, q->base.origin, notes[i].msg,
		             notes[i].detail);
	if (lost) {
		char detail[96];
		snprintf(detail, sizeof detail,
		         "%" PRIu64 " more syslog listener messages not shown", lost);
		q->base.note(q->base.note_ctx, VA_NOTE_WARN, q->base.origin, "syslog listener",
		             detail);
	}
}

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Every REJECT_REPORT_S at most: how many messages the listener refused
 * (the listener logs each connection it closes, but parse rejects only
 * once a second). */
static void report_rejects(struct syslog_source *q)
{
	int64_t now = mono_s();
	/* Once quiesced (on this same thread) the listener is being freed. */
	if (q->base.note == NULL || q->stopper_started || now - q->reported_s < REJECT_REPORT_S)
		return;
	vs_syslog_counters c;
	vs_syslog_stats(q->srv, &c);
	const vs_syslog_counters *r = &q->reported;
	if (c.reject_parse == r->reject_parse && c.reject_oversize == r->reject_oversize &&
	    c.reject_framing == r->reject_framing && c.reject_sink == r->reject_sink)
		return;
	char detail[256];
	snprintf(detail, sizeof detail,
	         "since the start: %" PRIu64 " not RFC 5424 or RFC 3164, %" PRIu64
	         " longer than %d bytes, %" PRIu64 " with bad framing, %" PRIu64
	         " not queued",
	         c.reject_parse, c.reject_oversize, VA_EVENT_MAX, c.reject_framing, c.reject_sink);
	q->base.note(q->base.note_ctx, VA_NOTE_WARN, q->base.origin, "syslog messages rejected",
	             detail);
	q->reported = c;
	q->reported_s = now;
}

/* ------------------------------------------------------------------ */
/* The queue.                                                          */

static int full_locked(const struct syslog_source *q, size_t len)
{
	/* One message longer than the byte bound still fits an empty queue. */
	return q->n >= q->max_n || (q->n > 0 && q->bytes + len > q->max_bytes);
}

/* The listener's sink, on its threads: waits for room, then queues. */
static int sink(void *ctx, const vs_syslog_delivery *d)
{
	struct syslog_source *q = ctx;
	if (d->len == 0 || d->len > VA_EVENT_MAX)
		return -1; /* cannot happen: max_message is VA_EVENT_MAX */
	struct qmsg *m = malloc(sizeof *m + d->len);
	if (m == NULL)
		return -1;
	m->next = NULL;
	m->len = d->len;
	memcpy(m->data, d->msg, d->len);
	pthread_mutex_lock(&q->mu);
	if (!q->closing && full_locked(q, d->len) && !q->holding) {
		char detail[160];
		q->holding = 1;
		snprintf(detail, sizeof detail,
		         "%zu messages (%zu bytes) queued; senders wait until the agent reads more",
		         q->n, q->bytes);
		queue_note_locked(q, VA_NOTE_WARN, "syslog queue full", detail);
	}
	while (!q->closing && full_locked(q, d->len))
		pthread_cond_wait(&q->room, &q->mu);
	if (q->closing) {
		pthread_mutex_unlock(&q->mu);
		free(m);
		return -1;
	}
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
	q->bytes += m->len;
	pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

/* Waits on ready until DEADLINE (CLOCK_MONOTONIC; NULL: no limit) for a
 * message, a note, or closing. */
static void wait_ready_locked(struct syslog_source *q, const struct timespec *deadline)
{
	while (q->head == NULL && q->n_notes == 0 && !q->closing && !q->stopped) {
		if (deadline == NULL) {
			pthread_cond_wait(&q->ready, &q->mu);
		} else if (pthread_cond_timedwait(&q->ready, &q->mu, deadline) == ETIMEDOUT) {
			break;
		}
	}
}

static int syslog_read(va_source *s, va_batch *b, int timeout_ms)
{
	struct syslog_source *q = (struct syslog_source *)s;
	struct note notes[NOTES_MAX];
	size_t n_notes, took = 0;
	uint64_t lost;
	int rc = 0;

	pthread_mutex_lock(&q->mu);
	if (q->head == NULL && q->n_notes == 0 && timeout_ms != 0) {
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		if (timeout_ms > 0) {
			dl.tv_sec += timeout_ms / 1000;
			dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000L;
			}
		}
		wait_ready_locked(q, timeout_ms > 0 ? &dl : NULL);
	}
	while (q->head != NULL && !va_batch_full(b)) {
		struct qmsg *m = q->head;
		va_position pos = {.offset = q->taken + 1};
		rc = va_batch_add(b, m->data, m->len, &pos);
		if (rc < 0)
			break; /* the message stays queued */
		q->head = m->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		q->bytes -= m->len;
		q->taken++;
		took++;
		free(m);
	}
	if (took)
		pthread_cond_broadcast(&q->room);
	if (q->head == NULL)
		q->holding = 0;
	int ended = q->stopped && q->head == NULL;
	n_notes = q->n_notes;
	memcpy(notes, q->notes, n_notes * sizeof notes[0]);
	lost = q->notes_lost;
	q->n_notes = 0;
	q->notes_lost = 0;
	pthread_mutex_unlock(&q->mu);

	deliver_notes(q, notes, n_notes, lost);
	report_rejects(q);
	return rc < 0 ? rc : ended ? VA_SOURCE_EOF : VA_SOURCE_OK;
}

/* The listener stops on a thread of its own: it waits for receiving
 * threads that wait for room in the queue, which the reader makes. */
static void *stop_listener(void *arg)
{
	struct syslog_source *q = arg;
	vs_syslog_stop(q->srv);
	pthread_mutex_lock(&q->mu);
	q->stopped = 1;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* A stop that loses nothing taken: no more connections or datagrams are
 * accepted, the messages already received are still read, and then read
 * returns VA_SOURCE_EOF. */
static int syslog_quiesce(va_source *s)
{
	struct syslog_source *q = (struct syslog_source *)s;
	if (q->stopper_started)
		return 0;
	if (pthread_create(&q->stopper, NULL, stop_listener, q) != 0)
		return VL_ENOMEM;
	q->stopper_started = 1;
	return 0;
}

static void free_source(struct syslog_source *q)
{
	while (q->head != NULL) {
		struct qmsg *m = q->head;
		q->head = m->next;
		free(m);
	}
	pthread_cond_destroy(&q->ready);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

static void syslog_close(va_source *s)
{
	struct syslog_source *q = (struct syslog_source *)s;
	/* Wake waiting sinks first: the listener's stop waits for them. */
	pthread_mutex_lock(&q->mu);
	q->closing = 1;
	pthread_cond_broadcast(&q->room);
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->mu);
	if (q->stopper_started)
		pthread_join(q->stopper, NULL);
	else
		vs_syslog_stop(q->srv);
	free_source(q);
}

static const struct va_source_ops syslog_ops = {"syslog", syslog_read, syslog_close,
                                                syslog_quiesce};

/* ------------------------------------------------------------------ */
/* Opening.                                                            */

/* VA_SYSLOG_QUEUE_MAX=MESSAGES[:BYTES]: 0, or -1 with err set. */
static int queue_bound(size_t *max_n, size_t *max_bytes, char *err, size_t errcap)
{
	const char *v = getenv("VA_SYSLOG_QUEUE_MAX");
	*max_n = QUEUE_MAX_MESSAGES;
	*max_bytes = QUEUE_MAX_BYTES;
	if (v == NULL || v[0] == '\0')
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10), bytes = *max_bytes;
	int ok = errno == 0 && end != v && v[0] >= '0' && v[0] <= '9' && n > 0;
	if (ok && *end == ':') {
		const char *bv = end + 1;
		bytes = strtoull(bv, &end, 10);
		ok = errno == 0 && end != bv && bv[0] >= '0' && bv[0] <= '9' && bytes > 0;
	}
	if (!ok || *end != '\0' || n > SIZE_MAX || bytes > SIZE_MAX) {
		snprintf(err, errcap,
		         "VA_SYSLOG_QUEUE_MAX '%s': expected MESSAGES[:BYTES], both above 0", v);
		return -1;
	}
	*max_n = (size_t)n;
	*max_bytes = (size_t)bytes;
	return 0;
}

int va_syslog_source_open(const char *addr_port, va_source **out, char *err, size_t errcap)
{
	char lerr[512];
	*out = NULL;
	if (va_syslog_address_ok(addr_port, err, errcap) < 0)
		return VL_EINVAL;
	struct syslog_source *q = calloc(1, sizeof *q);
	if (q == NULL) {
		snprintf(err, errcap, "syslog:%s: out of memory", addr_port);
		return VL_ENOMEM;
	}
	if (queue_bound(&q->max_n, &q->max_bytes, err, errcap) < 0) {
		free(q);
		return VL_EINVAL;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->ready, &ca);
	pthread_cond_init(&q->room, NULL);
	pthread_condattr_destroy(&ca);
	q->base.ops = &syslog_ops;
	q->reported_s = mono_s();

	vs_syslog_config cfg = {
		.tcp = addr_port,
		.udp = addr_port,
		.max_message = VA_EVENT_MAX,
		.idle_timeout_ms = -1,
		.log = on_listener_log,
		.log_ctx = q,
	};
	if (vs_syslog_start(&cfg, sink, q, &q->srv, lerr, sizeof lerr) != 0) {
		snprintf(err, errcap, "syslog:%s: %s", addr_port, lerr);
		free_source(q);
		return VL_EINVAL;
	}
	q->tcp_port = (uint16_t)vs_syslog_port(q->srv, "tcp");
	q->udp_port = (uint16_t)vs_syslog_port(q->srv, "udp");
	char detail[128];
	snprintf(detail, sizeof detail,
	         "tcp port %u, udp port %u; queue of %zu messages or %zu bytes", q->tcp_port,
	         q->udp_port, q->max_n, q->max_bytes);
	pthread_mutex_lock(&q->mu);
	queue_note_locked(q, VA_NOTE_INFO, "listening", detail);
	pthread_mutex_unlock(&q->mu);
	*out = &q->base;
	return 0;
}

uint16_t va_syslog_source_port(const va_source *s, int udp)
{
	const struct syslog_source *q = (const struct syslog_source *)s;
	if (s == NULL || s->ops != &syslog_ops)
		return 0;
	return udp ? q->udp_port : q->tcp_port;
}

size_t va_syslog_source_queued(const va_source *s)
{
	struct syslog_source *q = (struct syslog_source *)s;
	if (s == NULL || s->ops != &syslog_ops)
		return 0;
	pthread_mutex_lock(&q->mu);
	size_t n = q->n;
	pthread_mutex_unlock(&q->mu);
	return n;
}
