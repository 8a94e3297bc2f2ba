/*
 * client.c — the load client of `vellum chaos run` and its history.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * One thread per connection, each with a libcurl multi handle of its own
 * holding one keep-alive connection, so that a request in flight can be
 * abandoned at once when the client stops.  A worker takes the next BATCH
 * event numbers, writes the request's send line, POSTs the events, and
 * writes what came back: ack lines, a fail line (a definite refusal: the
 * server wrote nothing for this request), or an info line (the outcome is
 * unknown: the events may or may not be in the log).  With retry_unknown,
 * an unknown outcome is sent again under the same Idempotency-Key until
 * it is answered or the client stops.
 *
 * Pacing: with a rate, workers take send times from one schedule (a
 * token bucket: a request of BATCH events is due BATCH/rate seconds after
 * the previous one, with 50 ms of credit at most after a stall); at rate
 * 0 each worker sends as soon as its previous request was answered; at a
 * negative rate nothing new is sent.
 *
 * The history is appended with one write(2) per request line and one per
 * answer (its ack lines together), from behind a mutex, and a thread of
 * its own fdatasyncs it every 50 ms when something was written.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "client_internal.h"
#include "note.h"
#include "vellum.h"

#define ANSWER_MAX (1u << 20)
#define SYNC_PERIOD_MS 50
#define TOLERANCE_S 0.05       /* the token bucket's credit after a stall */
#define RETRY_AFTER_MAX_S 10
#define CONNECT_BACKOFF_MS 50

/* ------------------------------------------------------------------ */
/* Latency histograms: log-linear over microseconds, 16 buckets per
 * power of two (a value's bucket is within 1/16 of it), up to 2^36 us. */

#define HSUB 16
#define HBINS ((36 - 3) * HSUB + HSUB)

static unsigned hist_bin(uint64_t us)
{
	if (us < HSUB)
		return (unsigned)us;
	if (us >= (1ull << 36))
		return HBINS - 1;
	int e = 63 - __builtin_clzll(us);
	return (unsigned)((e - 3) * HSUB + (int)((us >> (e - 4)) & (HSUB - 1)));
}

/* The middle of bucket B, in milliseconds. */
static double hist_value_ms(unsigned b)
{
	if (b < HSUB)
		return b / 1000.0;
	int e = (int)(b / HSUB) + 3;
	double low = (double)((HSUB + b % HSUB) * (1ull << (e - 4)));
	double width = (double)(1ull << (e - 4));
	return (low + width / 2) / 1000.0;
}

static double hist_quantile(const uint32_t *bins, uint64_t total, double q)
{
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)total);
	if ((double)want < q * (double)total)
		want++;
	if (want == 0)
		want = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HBINS; b++) {
		seen += bins[b];
		if (seen >= want)
			return hist_value_ms(b);
	}
	return hist_value_ms(HBINS - 1);
}

struct second {
	uint64_t acked, failed, unknown, n_lat;
	uint32_t bins[HBINS];
};

/* ------------------------------------------------------------------ */

struct worker {
	vc_client *c;
	pthread_t th;
	int started;
	CURLM *multi;
	CURL *curl;
	char *body;
	size_t body_cap;
	char *answer;
	size_t answer_len;
	int answer_over;
	long retry_after_s;
	uint64_t *index;
	uint8_t (*leaf)[VC_LEAF_SIZE];
	char errbuf[CURL_ERROR_SIZE];
};

struct vc_client {
	vc_client_config cfg;
	char *url, *auth;
	struct timespec t0;

	/* The schedule and the stop: mu, cv. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	double rate;
	uint64_t rate_gen;
	double next_due;
	int stopping;       /* no new events */
	int hard_stop;      /* abandon requests in flight, retry nothing */
	uint64_t next_event;
	int active;         /* workers still running */

	/* The history: hist_mu. */
	pthread_mutex_t hist_mu;
	int fd;
	uint64_t next_req;
	int dirty;
	int hist_err;

	/* The syncer. */
	pthread_t syncer;
	int syncer_started;
	int sync_stop;      /* under mu */

	/* Statistics: st_mu. */
	pthread_mutex_t st_mu;
	vc_client_stats st;
	uint32_t bins[HBINS];
	uint64_t n_lat;
	struct second *secs;
	size_t n_secs;

	struct worker *w;
	int n_w;
	int curl_inited;
};

static uint64_t now_ns(const vc_client *c)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	int64_t ns = (int64_t)(t.tv_sec - c->t0.tv_sec) * 1000000000 + (t.tv_nsec - c->t0.tv_nsec);
	return ns > 0 ? (uint64_t)ns : 0;
}

double vc_client_now(const vc_client *c)
{
	return (double)now_ns(c) / 1e9;
}

/* An absolute CLOCK_MONOTONIC time for pthread_cond_timedwait, S seconds
 * after the client's start. */
static struct timespec abs_time(const vc_client *c, double s)
{
	struct timespec t = c->t0;
	if (s < 0)
		s = 0;
	uint64_t ns = (uint64_t)(s * 1e9);
	t.tv_sec += (time_t)(ns / 1000000000);
	t.tv_nsec += (long)(ns % 1000000000);
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* The history.                                                        */

static int word_ok(const char *w)
{
	size_t n = strlen(w);
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
			return 0;
	return 1;
}

size_t vc_history_format(const vc_hrec *r, char *out)
{
	int n = 0;
	char b64[VC_LEAF_B64_LEN + 1];
	switch (r->kind) {
	case VC_H_SEND:
		n = snprintf(out, VC_HISTORY_LINE_MAX,
		             "send %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		             r->req, r->t_ns, r->first, r->count, r->attempt);
		break;
	case VC_H_ACK:
		vl_base64_encode(r->leaf, VC_LEAF_SIZE, b64);
		n = snprintf(out, VC_HISTORY_LINE_MAX,
		             "ack %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", r->req,
		             r->t_ns, r->event, r->index, b64);
		break;
	case VC_H_FAIL:
		if (!word_ok(r->word) || r->status < 0 || r->status > 999)
			return 0;
		n = snprintf(out, VC_HISTORY_LINE_MAX, "fail %" PRIu64 " %" PRIu64 " %d %s\n",
		             r->req, r->t_ns, r->status, r->word);
		break;
	case VC_H_INFO:
		if (!word_ok(r->word))
			return 0;
		n = snprintf(out, VC_HISTORY_LINE_MAX, "info %" PRIu64 " %" PRIu64 " %s\n", r->req,
		             r->t_ns, r->word);
		break;
	}
	if (n <= 0 || n >= VC_HISTORY_LINE_MAX)
		return 0;
	return (size_t)n;
}

/* Appends LEN bytes with one write(2) (looping only on a short write). */
static void hist_append_locked(vc_client *c, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(c->fd, buf + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!c->hist_err)
				c->hist_err = -errno;
			return;
		}
		off += (size_t)n;
	}
	c->dirty = 1;
}

/* Writes the send line of a new request; returns its number. */
static uint64_t hist_send(vc_client *c, uint64_t first, uint64_t count, uint64_t attempt)
{
	char line[VC_HISTORY_LINE_MAX];
	pthread_mutex_lock(&c->hist_mu);
	vc_hrec r = {.kind = VC_H_SEND, .req = c->next_req++, .t_ns = now_ns(c),
	             .first = first, .count = count, .attempt = attempt};
	size_t n = vc_history_format(&r, line);
	hist_append_locked(c, line, n);
	pthread_mutex_unlock(&c->hist_mu);
	return r.req;
}

static void hist_word(vc_client *c, enum vc_hkind kind, uint64_t req, int status, const char *w,
                      uint64_t *t_out)
{
	char line[VC_HISTORY_LINE_MAX];
	vc_hrec r = {.kind = kind, .req = req, .status = status};
	snprintf(r.word, sizeof r.word, "%s", word_ok(w) ? w : "other");
	pthread_mutex_lock(&c->hist_mu);
	r.t_ns = now_ns(c);
	size_t n = vc_history_format(&r, line);
	hist_append_locked(c, line, n);
	pthread_mutex_unlock(&c->hist_mu);
	*t_out = r.t_ns;
}

/* The ack lines of one answer, in one write. */
static int hist_acks(vc_client *c, uint64_t req, uint64_t first, uint64_t count,
                     const uint64_t *index, uint8_t (*leaf)[VC_LEAF_SIZE], uint64_t *t_out)
{
	char *buf = malloc(count * VC_HISTORY_LINE_MAX);
	if (!buf)
		return VL_ENOMEM;
	pthread_mutex_lock(&c->hist_mu);
	uint64_t t = now_ns(c);
	size_t off = 0;
	for (uint64_t i = 0; i < count; i++) {
		vc_hrec r = {.kind = VC_H_ACK, .req = req, .t_ns = t, .event = first + i,
		             .index = index[i]};
		memcpy(r.leaf, leaf[i], VC_LEAF_SIZE);
		off += vc_history_format(&r, buf + off);
	}
	hist_append_locked(c, buf, off);
	pthread_mutex_unlock(&c->hist_mu);
	free(buf);
	*t_out = t;
	return 0;
}

static void *syncer_main(void *arg)
{
	vc_client *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->sync_stop) {
		struct timespec until = abs_time(c, vc_client_now(c) + SYNC_PERIOD_MS / 1000.0);
		pthread_cond_timedwait(&c->cv, &c->mu, &until);
		pthread_mutex_unlock(&c->mu);
		pthread_mutex_lock(&c->hist_mu);
		int dirty = c->dirty;
		c->dirty = 0;
		pthread_mutex_unlock(&c->hist_mu);
		if (dirty && fdatasync(c->fd) != 0) {
			pthread_mutex_lock(&c->hist_mu);
			if (!c->hist_err)
				c->hist_err = -errno;
			pthread_mutex_unlock(&c->hist_mu);
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The answer.                                                         */

static int lit(const char *b, size_t len, size_t *p, const char *s)
{
	size_t n = strlen(s);
	if (len - *p < n || memcmp(b + *p, s, n) != 0)
		return 0;
	*p += n;
	return 1;
}

static int u64(const char *b, size_t len, size_t *p, uint64_t *out)
{
	size_t i = *p;
	uint64_t v = 0;
	if (i >= len || b[i] < '0' || b[i] > '9')
		return 0;
	if (b[i] == '0' && i + 1 < len && b[i + 1] >= '0' && b[i + 1] <= '9')
		return 0;
	while (i < len && b[i] >= '0' && b[i] <= '9') {
		uint64_t d = (uint64_t)(b[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		i++;
	}
	*p = i;
	*out = v;
	return 1;
}

int vc_answer_parse(const char *b, size_t len, size_t n, uint64_t *index,
                    uint8_t (*leaf)[VC_LEAF_SIZE])
{
	size_t p = 0, i = 0;
	if (!b || !lit(b, len, &p, "{\"log\":\""))
		return -1;
	/* The log's name: printable ASCII, no quote or backslash. */
	size_t name = p;
	while (p < len && b[p] != '"') {
		if (b[p] < 0x20 || b[p] > 0x7e || b[p] == '\\')
			return -1;
		p++;
	}
	if (p == name || !lit(b, len, &p, "\",\"events\":["))
		return -1;
	if (p < len && b[p] == ']')
		return -1; /* no events */
	for (;;) {
		if (i == n)
			return -1;
		if (!lit(b, len, &p, "{\"index\":") || !u64(b, len, &p, &index[i]) ||
		    !lit(b, len, &p, ",\"leaf_hash\":\"") || len - p < VC_LEAF_B64_LEN + 1)
			return -1;
		size_t got = 0;
		if (vl_base64_decode(b + p, VC_LEAF_B64_LEN, leaf[i], VC_LEAF_SIZE, &got) != 0 ||
		    got != VC_LEAF_SIZE)
			return -1;
		p += VC_LEAF_B64_LEN;
		if (!lit(b, len, &p, "\""))
			return -1;
		lit(b, len, &p, ",\"replayed\":true");
		if (!lit(b, len, &p, "}"))
			return -1;
		i++;
		if (lit(b, len, &p, "]"))
			break;
		if (!lit(b, len, &p, ","))
			return -1;
	}
	if (i != n || !lit(b, len, &p, "}"))
		return -1;
	while (p < len && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r' || b[p] == '\n'))
		p++;
	return p == len ? 0 : -1;
}

/* The "code" of an error answer {"error":{"status":N,"code":"...",...}},
 * or "none". */
static void error_code(const char *b, size_t len, char *out, size_t cap)
{
	static const char key[] = "\"code\":\"";
	snprintf(out, cap, "none");
	if (len == 0)
		return;
	const char *k = memmem(b, len, key, sizeof key - 1);
	if (!k)
		return;
	size_t p = (size_t)(k - b) + sizeof key - 1, o = 0;
	char w[64];
	while (p < len && o + 1 < sizeof w &&
	       ((b[p] >= 'a' && b[p] <= 'z') || (b[p] >= '0' && b[p] <= '9') || b[p] == '_'))
		w[o++] = b[p++];
	w[o] = '\0';
	if (o > 0 && p < len && b[p] == '"')
		snprintf(out, cap, "%s", w);
}

/* ------------------------------------------------------------------ */
/* Statistics.                                                         */

static struct second *second_at(vc_client *c, uint64_t t_ns)
{
	size_t s = (size_t)(t_ns / 1000000000);
	if (s >= c->n_secs) {
		size_t n = c->n_secs ? c->n_secs : 16;
		while (n <= s)
			n *= 2;
		struct second *p = realloc(c->secs, n * sizeof *p);
		if (!p)
			return NULL;
		memset(p + c->n_secs, 0, (n - c->n_secs) * sizeof *p);
		c->secs = p;
		c->n_secs = n;
	}
	return &c->secs[s];
}

enum outcome { OUT_ACK, OUT_FAIL, OUT_INFO };

/* Counts one request's answer in its second; LAT_NS for an ack. */
static void count_line(vc_client *c, enum outcome o, uint64_t t_ns, uint64_t events,
                       uint64_t lat_ns)
{
	pthread_mutex_lock(&c->st_mu);
	struct second *s = second_at(c, t_ns);
	if (o == OUT_ACK) {
		unsigned b = hist_bin(lat_ns / 1000);
		c->bins[b]++;
		c->n_lat++;
		double ms = (double)lat_ns / 1e6;
		if (ms > c->st.max_ms)
			c->st.max_ms = ms;
		c->st.last_ack_s = (double)t_ns / 1e9;
		if (s) {
			s->bins[b]++;
			s->n_lat++;
		}
	}
	if (s) {
		if (o == OUT_ACK)
			s->acked += events;
		else if (o == OUT_FAIL)
			s->failed += events;
		else
			s->unknown += events;
	}
	pthread_mutex_unlock(&c->st_mu);
}

void vc_client_stats_get(vc_client *c, vc_client_stats *st)
{
	pthread_mutex_lock(&c->st_mu);
	*st = c->st;
	st->p50_ms = hist_quantile(c->bins, c->n_lat, 0.50);
	st->p90_ms = hist_quantile(c->bins, c->n_lat, 0.90);
	st->p99_ms = hist_quantile(c->bins, c->n_lat, 0.99);
	pthread_mutex_unlock(&c->st_mu);
}

/* ------------------------------------------------------------------ */
/* The schedule.                                                       */

void vc_client_set_rate(vc_client *c, double rate)
{
	pthread_mutex_lock(&c->mu);
	c->rate = rate;
	c->rate_gen++;
	c->next_due = vc_client_now(c);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Waits for the next request's turn and takes its events: 1 with *first
 * set, or 0 once the client is stopping. */
static int take_events(vc_client *c, uint64_t *first)
{
	uint64_t batch = (uint64_t)c->cfg.batch;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stopping && c->rate < 0)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stopping)
			break;
		if (c->rate > 0) {
			double now = vc_client_now(c);
			if (c->next_due < now - TOLERANCE_S)
				c->next_due = now - TOLERANCE_S;
			double due = c->next_due;
			c->next_due += (double)batch / c->rate;
			uint64_t gen = c->rate_gen;
			while (!c->stopping && gen == c->rate_gen && vc_client_now(c) < due) {
				struct timespec until = abs_time(c, due);
				pthread_cond_timedwait(&c->cv, &c->mu, &until);
			}
			if (c->stopping)
				break;
			if (gen != c->rate_gen)
				continue;
		}
		*first = c->next_event;
		c->next_event += batch;
		pthread_mutex_unlock(&c->mu);
		return 1;
	}
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* Sleeps MS milliseconds, or less if the client must stop now (or, with
 * UNTIL_STOPPING, once it stops taking new events).  0 if it slept the
 * whole time. */
static int nap(vc_client *c, double ms, int until_stopping)
{
	pthread_mutex_lock(&c->mu);
	double end = vc_client_now(c) + ms / 1000.0;
	int cut = 0;
	for (;;) {
		if (c->hard_stop || (until_stopping && c->stopping)) {
			cut = 1;
			break;
		}
		if (vc_client_now(c) >= end)
			break;
		struct timespec until = abs_time(c, end);
		pthread_cond_timedwait(&c->cv, &c->mu, &until);
	}
	pthread_mutex_unlock(&c->mu);
	return cut;
}

static int hard_stopped(vc_client *c)
{
	pthread_mutex_lock(&c->mu);
	int h = c->hard_stop;
	pthread_mutex_unlock(&c->mu);
	return h;
}

/* ------------------------------------------------------------------ */
/* One worker: one connection.                                         */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct worker *w = arg;
	size_t n = size * nmemb, room = ANSWER_MAX - w->answer_len;
	if (n > room)
		w->answer_over = 1;
	memcpy(w->answer + w->answer_len, ptr, n < room ? n : room);
	w->answer_len += n < room ? n : room;
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct worker *w = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		size_t i = sizeof name - 1;
		long v = 0;
		int digits = 0;
		while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
			i++;
		while (i < n && ptr[i] >= '0' && ptr[i] <= '9' && digits < 6) {
			v = v * 10 + (ptr[i++] - '0');
			digits++;
		}
		if (digits)
			w->retry_after_s = v < RETRY_AFTER_MAX_S ? v : RETRY_AFTER_MAX_S;
	}
	return n;
}

/* Runs the transfer on the worker's multi handle, watching for a hard
 * stop.  *aborted is set if it was abandoned. */
static CURLcode perform(struct worker *w, int *aborted)
{
	CURLcode res = CURLE_OK;
	*aborted = 0;
	if (curl_multi_add_handle(w->multi, w->curl) != CURLM_OK)
		return CURLE_FAILED_INIT;
	for (;;) {
		int running = 0;
		if (curl_multi_perform(w->multi, &running) != CURLM_OK) {
			res = CURLE_FAILED_INIT;
			break;
		}
		if (!running) {
			CURLMsg *m;
			int left;
			while ((m = curl_multi_info_read(w->multi, &left)) != NULL)
				if (m->msg == CURLMSG_DONE && m->easy_handle == w->curl)
					res = m->data.result;
			break;
		}
		if (hard_stopped(w->c)) {
			*aborted = 1;
			res = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (curl_multi_poll(w->multi, NULL, 0, 50, NULL) != CURLM_OK) {
			res = CURLE_FAILED_INIT;
			break;
		}
	}
	curl_multi_remove_handle(w->multi, w->curl);
	return res;
}

static const char *curl_why(CURLcode res)
{
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_GOT_NOTHING:
		return "empty_reply";
	case CURLE_RECV_ERROR:
		return "recv_error";
	case CURLE_SEND_ERROR:
		return "send_error";
	case CURLE_PARTIAL_FILE:
		return "partial_answer";
	case CURLE_WEIRD_SERVER_REPLY:
		return "bad_reply";
	case CURLE_ABORTED_BY_CALLBACK:
		return "stopped";
	default:
		return NULL;
	}
}

/* Is a refusal of a retry worth retrying again (the events' outcome is
 * still unknown, and the refusal is of the passing kind)? */
static int transient(long status)
{
	return status == 0 || status == 408 || status == 409 || status == 429 || status == 503;
}

/* Sends events FIRST .. FIRST+batch-1 until they are acknowledged,
 * refused, or (with retry_unknown) the client stops. */
static void send_batch(struct worker *w, uint64_t first)
{
	vc_client *c = w->c;
	uint64_t count = (uint64_t)c->cfg.batch;
	struct curl_slist *h = NULL;
	char line[512];
	int ok = 1;

	/* The body: one event, or one a line. */
	size_t len = 0;
	for (uint64_t i = 0; i < count; i++) {
		len += vc_event(c->cfg.seed, first + i, w->body + len);
		if (count > 1)
			w->body[len++] = '\n';
	}
	const char *hdrs[] = {
	    count > 1 ? "Content-Type: application/x-ndjson" : "Content-Type: application/json",
	    c->auth, "Expect:", line};
	snprintf(line, sizeof line, "Idempotency-Key: chaos-%" PRIu64 "-%" PRIu64, c->cfg.seed,
	         first);
	for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		struct curl_slist *next = curl_slist_append(h, hdrs[i]);
		if (!next) {
			ok = 0;
			break;
		}
		h = next;
	}
	pthread_mutex_lock(&c->st_mu);
	c->st.sent_events += count;
	pthread_mutex_unlock(&c->st_mu);
	enum outcome final = OUT_INFO;
	int unknown_seen = 0;
	for (uint64_t attempt = 1;; attempt++) {
		uint64_t req = hist_send(c, first, count, attempt);
		pthread_mutex_lock(&c->st_mu);
		c->st.requests++;
		pthread_mutex_unlock(&c->st_mu);
		w->answer_len = 0;
		w->answer_over = 0;
		w->retry_after_s = -1;
		w->errbuf[0] = '\0';
		int aborted = 0;
		CURLcode res = CURLE_OUT_OF_MEMORY;
		uint64_t t0 = now_ns(c), t;
		if (ok) {
			curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
			curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->body);
			curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
			res = perform(w, &aborted);
		}
		long status = 0;
		if (res == CURLE_OK)
			curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
		enum outcome o;
		if (res == CURLE_OK && status >= 200 && status <= 299) {
			if (!w->answer_over && vc_answer_parse(w->answer, w->answer_len, count,
			                                       w->index, w->leaf) == 0 &&
			    hist_acks(c, req, first, count, w->index, w->leaf, &t) == 0) {
				o = OUT_ACK;
				count_line(c, o, t, count, t - t0);
			} else {
				o = OUT_INFO;
				hist_word(c, VC_H_INFO, req, 0, "bad_answer", &t);
			}
		} else if (res == CURLE_OK && (status == 503 || (status >= 400 && status <= 499))) {
			char code[64];
			error_code(w->answer, w->answer_len, code, sizeof code);
			o = OUT_FAIL;
			hist_word(c, VC_H_FAIL, req, (int)status, code, &t);
			if (status == 503) {
				pthread_mutex_lock(&c->st_mu);
				c->st.answers_503++;
				if (w->retry_after_s >= 0)
					c->st.answers_503_retry_after++;
				pthread_mutex_unlock(&c->st_mu);
			}
		} else if (res == CURLE_COULDNT_CONNECT) {
			/* Refused before anything was sent. */
			o = OUT_FAIL;
			status = 0;
			hist_word(c, VC_H_FAIL, req, 0, "connect_failed", &t);
		} else {
			char why[32];
			if (res == CURLE_OK)
				snprintf(why, sizeof why, "http_%ld", status);
			else if (curl_why(res))
				snprintf(why, sizeof why, "%s", curl_why(res));
			else
				snprintf(why, sizeof why, "curl_%d", (int)res);
			o = OUT_INFO;
			hist_word(c, VC_H_INFO, req, 0, why, &t);
		}
		if (o != OUT_ACK)
			count_line(c, o, t, count, 0);
		if (o == OUT_INFO)
			unknown_seen = 1;
		final = o;
		if (o == OUT_ACK)
			break;
		if (o == OUT_FAIL) {
			/* Retry-After holds before the next request on this
			 * connection, whatever it carries. */
			if (status == 503 && c->cfg.ignore_retry_after)
				nap(c, 10, 0);
			else if (status == 503)
				nap(c, 1000.0 * (w->retry_after_s >= 0 ? w->retry_after_s : 1), 0);
			else if (status == 0)
				nap(c, CONNECT_BACKOFF_MS, 0);
			/* A refusal settles a first attempt; a retry's refusal
			 * leaves the earlier attempt's outcome unknown. */
			if (!unknown_seen || !transient(status))
				break;
		}
		if (!c->cfg.retry_unknown || aborted || hard_stopped(c))
			break;
		unsigned shift = attempt < 6 ? (unsigned)attempt - 1 : 5;
		if (nap(c, 20.0 * (1u << shift), 0))
			break;
	}
	if (unknown_seen && final == OUT_FAIL)
		final = OUT_INFO;
	pthread_mutex_lock(&c->st_mu);
	if (final == OUT_ACK)
		c->st.acked += count;
	else if (final == OUT_FAIL)
		c->st.failed += count;
	else
		c->st.unknown += count;
	pthread_mutex_unlock(&c->st_mu);
	curl_slist_free_all(h);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	vc_client *c = w->c;
	uint64_t first;
	while (take_events(c, &first))
		send_batch(w, first);
	pthread_mutex_lock(&c->mu);
	c->active--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int worker_init(vc_client *c, struct worker *w)
{
	size_t batch = (size_t)c->cfg.batch;
	w->c = c;
	w->body_cap = batch * (VC_EVENT_MAX + 1);
	w->body = malloc(w->body_cap);
	w->answer = malloc(ANSWER_MAX);
	w->index = calloc(batch, sizeof *w->index);
	w->leaf = calloc(batch, sizeof *w->leaf);
	w->multi = curl_multi_init();
	w->curl = curl_easy_init();
	if (!w->body || !w->answer || !w->index || !w->leaf || !w->multi || !w->curl)
		return VL_ENOMEM;
	CURL *e = w->curl;
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "vellum-chaos/" VL_VERSION_STRING);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 1L);
	return 0;
}

static void worker_free(struct worker *w)
{
	if (w->curl)
		curl_easy_cleanup(w->curl);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	free(w->body);
	free(w->answer);
	free(w->index);
	free(w->leaf);
}

/* ------------------------------------------------------------------ */
/* Start and stop.                                                     */

static void client_free(vc_client *c)
{
	for (int i = 0; i < c->n_w; i++)
		worker_free(&c->w[i]);
	free(c->w);
	if (c->fd >= 0)
		close(c->fd);
	if (c->curl_inited)
		curl_global_cleanup();
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->hist_mu);
	pthread_mutex_destroy(&c->st_mu);
	pthread_cond_destroy(&c->cv);
	free(c->url);
	free(c->auth);
	free((char *)c->cfg.url);
	free((char *)c->cfg.token);
	free((char *)c->cfg.log);
	free((char *)c->cfg.history);
	free(c->secs);
	free(c);
}

/* Stops and joins whatever threads run, then frees. */
static void client_abort(vc_client *c)
{
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	c->hard_stop = 1;
	c->sync_stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->n_w; i++)
		if (c->w[i].started)
			pthread_join(c->w[i].th, NULL);
	if (c->syncer_started)
		pthread_join(c->syncer, NULL);
	client_free(c);
}

static int log_name_ok(const char *s)
{
	if (!*s || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int vc_client_start(const vc_client_config *cfg, vc_client **out, char *err, size_t errcap)
{
	*out = NULL;
	if (!cfg || !cfg->url || !cfg->token || !cfg->log || !cfg->history) {
		snprintf(err, errcap, "the client needs a url, a token, a log and a history file");
		return VL_EINVAL;
	}
	if (cfg->connections < 1 || cfg->connections > 256 || cfg->batch < 1 ||
	    cfg->batch > 1000 || cfg->timeout_ms < 1) {
		snprintf(err, errcap,
		         "connections must be 1..256 (not %d), batch 1..1000 (not %d), "
		         "timeout_ms positive (not %d)",
		         cfg->connections, cfg->batch, cfg->timeout_ms);
		return VL_EINVAL;
	}
	if (!log_name_ok(cfg->log) || strpbrk(cfg->token, "\r\n")) {
		snprintf(err, errcap, "bad log name or token");
		return VL_EINVAL;
	}
	vc_client *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errcap, "out of memory");
		return VL_ENOMEM;
	}
	c->fd = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->hist_mu, NULL);
	pthread_mutex_init(&c->st_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->cfg = *cfg;
	c->cfg.url = strdup(cfg->url);
	c->cfg.token = strdup(cfg->token);
	c->cfg.log = strdup(cfg->log);
	c->cfg.history = strdup(cfg->history);
	size_t ul = strlen(cfg->url);
	while (ul > 0 && cfg->url[ul - 1] == '/')
		ul--;
	size_t url_cap = ul + strlen(cfg->log) + 32, auth_cap = strlen(cfg->token) + 32;
	c->url = malloc(url_cap);
	c->auth = malloc(auth_cap);
	c->w = calloc((size_t)cfg->connections, sizeof *c->w);
	if (!c->cfg.url || !c->cfg.token || !c->cfg.log || !c->cfg.history || !c->url ||
	    !c->auth || !c->w) {
		client_free(c);
		snprintf(err, errcap, "out of memory");
		return VL_ENOMEM;
	}
	snprintf(c->url, url_cap, "%.*s/v1/logs/%s/events", (int)ul, cfg->url, cfg->log);
	snprintf(c->auth, auth_cap, "Authorization: Bearer %s", cfg->token);
	c->rate = cfg->rate;
	c->st.last_ack_s = -1;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);

	c->fd = open(cfg->history, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (c->fd < 0) {
		int e = -errno;
		snprintf(err, errcap, "cannot create the history %s: %s", cfg->history,
		         strerror(-e));
		client_free(c);
		return e;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errcap, "cannot initialise libcurl");
		client_free(c);
		return VL_ENOMEM;
	}
	c->curl_inited = 1;
	c->n_w = cfg->connections;
	for (int i = 0; i < c->n_w; i++) {
		if (worker_init(c, &c->w[i]) != 0) {
			snprintf(err, errcap, "out of memory");
			client_abort(c);
			return VL_ENOMEM;
		}
	}
	int rc = pthread_create(&c->syncer, NULL, syncer_main, c);
	if (rc == 0) {
		c->syncer_started = 1;
		for (int i = 0; i < c->n_w && rc == 0; i++) {
			pthread_mutex_lock(&c->mu);
			c->active++;
			pthread_mutex_unlock(&c->mu);
			rc = pthread_create(&c->w[i].th, NULL, worker_main, &c->w[i]);
			if (rc == 0) {
				c->w[i].started = 1;
			} else {
				pthread_mutex_lock(&c->mu);
				c->active--;
				pthread_mutex_unlock(&c->mu);
			}
		}
	}
	if (rc != 0) {
		snprintf(err, errcap, "cannot start a thread: %s", strerror(rc));
		client_abort(c);
		return -rc;
	}
	*out = c;
	return 0;
}

int vc_client_stop(vc_client *c, int drain_ms, vc_sample **samples, size_t *n_samples)
{
	if (samples)
		*samples = NULL;
	if (n_samples)
		*n_samples = 0;
	if (!c)
		return VL_EINVAL;
	/* Stop taking events; let requests in flight (and retries of unknown
	 * outcomes) finish until the deadline; then abandon the rest. */
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cv);
	double deadline = vc_client_now(c) + (drain_ms > 0 ? drain_ms : 0) / 1000.0;
	while (c->active > 0 && vc_client_now(c) < deadline) {
		struct timespec until = abs_time(c, deadline);
		pthread_cond_timedwait(&c->cv, &c->mu, &until);
	}
	c->hard_stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->n_w; i++)
		if (c->w[i].started)
			pthread_join(c->w[i].th, NULL);
	pthread_mutex_lock(&c->mu);
	c->sync_stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->syncer_started)
		pthread_join(c->syncer, NULL);
	int rc = c->hist_err;
	if (fdatasync(c->fd) != 0 && rc == 0)
		rc = -errno;
	if (close(c->fd) != 0 && rc == 0)
		rc = -errno;
	c->fd = -1;

	/* The samples: every second up to the newest answer. */
	size_t n = 0;
	for (size_t s = 0; s < c->n_secs; s++)
		if (c->secs[s].acked || c->secs[s].failed || c->secs[s].unknown)
			n = s + 1;
	if (samples && n > 0) {
		vc_sample *v = calloc(n, sizeof *v);
		if (v) {
			for (size_t s = 0; s < n; s++) {
				struct second *q = &c->secs[s];
				v[s].t_s = (double)s;
				v[s].acked = q->acked;
				v[s].failed = q->failed;
				v[s].unknown = q->unknown;
				v[s].p50_ms = hist_quantile(q->bins, q->n_lat, 0.50);
				v[s].p99_ms = hist_quantile(q->bins, q->n_lat, 0.99);
			}
			*samples = v;
			if (n_samples)
				*n_samples = n;
		} else if (rc == 0) {
			rc = VL_ENOMEM;
		}
	}
	for (int i = 0; i < c->n_w; i++)
		c->w[i].started = 0;
	client_free(c);
	return rc;
}
