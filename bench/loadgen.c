/*
 * loadgen.c — HTTP/1.1 load generator for the server benchmarks: keep-alive
 * connections driven by epoll from one to four threads, JSON, NDJSON or
 * journal-export bodies, latency percentiles from a fixed log-linear
 * histogram.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 *   loadgen --url http://127.0.0.1:8080/v1/logs/default/events [options]
 *
 * Closed loop (default): every connection has one request in flight and sends
 * the next one as soon as the response is in; latency is measured from the
 * first byte written.  Open loop (--rate R): requests are scheduled at R/batch
 * per second in total, each thread owning an evenly interleaved share of the
 * schedule, and a scheduled request goes out on the first idle connection.
 * Its latency counts from the scheduled time, so a server that falls behind
 * shows the queueing it causes instead of slowing the load down (no
 * coordinated omission).
 *
 * Only responses completed inside the measured window (after --warmup, for
 * --duration seconds) enter the figures, and the latency percentiles are
 * those of the 2xx responses: a server that sheds load with quick 503s must
 * not look faster for it.  Errors are counted apart.  Requests in flight at the end are
 * drained for up to five seconds, so that --record sees every acknowledged
 * event, but they are not counted.
 *
 * The benchmarks run on one machine: the URL must name a loopback address.
 * The program uses libc and pthreads only, so that it costs the server as
 * little CPU as possible; its own CPU use is printed with the figures.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define HDR_RESERVE 8192 /* room in front of each body for the request head */
#define MAX_RESPONSE (64u << 20)
#define MAX_EVENT_SIZE (1u << 20)
#define PAD_SPAN 4096
#define DRAIN_NS (5 * NS)
#define RECONNECT_NS (100 * 1000000ull)
#define MAX_ERROR_BODIES 5
#define MAX_CONNECT_MESSAGES 3
#define SEQ_MARK "{{seq}}"

/* Latency histogram, in nanoseconds: values below 2^SUB_BITS are exact, above
 * that each power of two is split into 2^(SUB_BITS-1) equal buckets, so a
 * bucket is at most 1/128 of its value wide. */
#define SUB_BITS 8
#define SUB_HALF (1u << (SUB_BITS - 1))
#define HIST_BUCKETS ((1u << SUB_BITS) + (64 - SUB_BITS) * SUB_HALF)

struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count;
	uint64_t max;
};

static unsigned hist_index(uint64_t v)
{
	if (v < (1u << SUB_BITS))
		return (unsigned)v;
	unsigned b = 63u - (unsigned)__builtin_clzll(v);	       /* b >= SUB_BITS */
	unsigned m = (unsigned)(v >> (b - (SUB_BITS - 1))) - SUB_HALF; /* 0..SUB_HALF-1 */
	return (1u << SUB_BITS) + (b - SUB_BITS) * SUB_HALF + m;
}

/* The largest value that falls into bucket i. */
static uint64_t hist_upper(unsigned i)
{
	if (i < (1u << SUB_BITS))
		return i;
	unsigned b = (i - (1u << SUB_BITS)) / SUB_HALF + SUB_BITS;
	uint64_t m = (i - (1u << SUB_BITS)) % SUB_HALF + SUB_HALF;
	unsigned shift = b - (SUB_BITS - 1);
	return ((m + 1) << shift) - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->n[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *into, const struct hist *h)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		into->n[i] += h->n[i];
	into->count += h->count;
	if (h->max > into->max)
		into->max = h->max;
}

static uint64_t hist_quantile(const struct hist *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			uint64_t v = hist_upper(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

enum format { FMT_JSON, FMT_JOURNAL };

static struct config {
	const char *url;
	char host[256];
	char port[16];
	char hostport[300]; /* for messages and the Host header */
	char path[2048];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int connections;
	int threads;
	double duration;
	double warmup;
	double rate; /* events per second in total; 0 = closed loop */
	unsigned batch;
	const char *content_type;
	const char *token;
	size_t event_size;
	const char *body_file;
	const char *path_suffix;
	enum format format;
	const char *record;
	double timeout;

	/* derived */
	char head[HDR_RESERVE]; /* request line and headers but Content-Length */
	size_t head_len;
	size_t body_max;
	char *pad;  /* event_size + PAD_SPAN pseudo-random letters */
	char *tmpl; /* --body-file contents */
	size_t tmpl_len;
	size_t tmpl_marks;
	uint64_t t0, t_measure, t_stop;
	int record_fd;
} cfg = {
    .url = "http://127.0.0.1:8080/v1/logs/default/events",
    .connections = 64,
    .threads = 1,
    .duration = 10,
    .warmup = 1,
    .batch = 1,
    .event_size = 256,
    .path_suffix = "",
    .timeout = 30,
    .record_fd = -1,
};

static atomic_uint_fast64_t next_seq;
static atomic_int error_bodies_shown;
static atomic_int connect_messages_shown;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static _Noreturn void usage(int code)
{
	fprintf(
	    code ? stderr : stdout,
	    "usage: loadgen [--url URL] [--connections N] [--threads 1..4] [--duration S]\n"
	    "               [--warmup S] [--rate EVENTS_PER_S] [--batch N] [--event-size BYTES]\n"
	    "               [--content-type T] [--token TOKEN] [--body-file FILE]\n"
	    "               [--path-suffix S] [--format json|journal] [--record FILE]\n"
	    "               [--timeout S]\n"
	    "defaults: --url %s --connections 64 --threads 1\n"
	    "          --duration 10 --warmup 1 --rate 0 (closed loop) --batch 1 --event-size 256\n"
	    "          --timeout 30 (per request)\n"
	    "--batch N>1 sends NDJSON (application/x-ndjson); --format journal sends the journal\n"
	    "export format (application/vnd.fdo.journal, path /upload if the URL has none).\n"
	    "--body-file sends FILE as every body, each \"" SEQ_MARK "\" in it replaced by a\n"
	    "unique number; the request counts as --batch events.\n"
	    "--record FILE appends \"STATUS INDEX\" per answered event (INDEX \"-\" when the\n"
	    "response names none).\n",
	    cfg.url);
	exit(code);
}

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		fail("%s: expected a number in [%g, %g], got \"%s\"", opt, lo, hi, s);
	return v;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static void parse_url(void)
{
	const char *u = cfg.url;
	if (strncmp(u, "http://", 7) != 0)
		fail("--url must start with http:// (got \"%s\")", u);
	u += 7;
	const char *slash = strchr(u, '/');
	size_t hostport_len = slash ? (size_t)(slash - u) : strlen(u);
	char hostport[300];
	if (hostport_len == 0 || hostport_len >= sizeof hostport)
		fail("--url: bad host in \"%s\"", cfg.url);
	memcpy(hostport, u, hostport_len);
	hostport[hostport_len] = 0;

	const char *h = hostport, *port = "80";
	size_t hlen;
	if (hostport[0] == '[') {
		char *close = strchr(hostport, ']');
		if (!close)
			fail("--url: unterminated [ in \"%s\"", cfg.url);
		h = hostport + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			fail("--url: bad host in \"%s\"", cfg.url);
	} else {
		char *colon = strchr(hostport, ':');
		hlen = colon ? (size_t)(colon - hostport) : strlen(hostport);
		if (colon)
			port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof cfg.host || strlen(port) == 0 ||
	    strlen(port) >= sizeof cfg.port)
		fail("--url: bad host or port in \"%s\"", cfg.url);
	memcpy(cfg.host, h, hlen);
	cfg.host[hlen] = 0;
	strcpy(cfg.port, port);
	bool v6 = strchr(cfg.host, ':') != NULL;
	snprintf(cfg.hostport, sizeof cfg.hostport, "%s%s%s:%s", v6 ? "[" : "", cfg.host,
		 v6 ? "]" : "", cfg.port);

	const char *p = slash ? slash : "";
	if (!*p)
		p = cfg.format == FMT_JOURNAL ? "/upload" : "/";
	if (strlen(p) + strlen(cfg.path_suffix) >= sizeof cfg.path)
		fail("--url: path too long");
	strcpy(cfg.path, p);
	strcat(cfg.path, cfg.path_suffix);
	for (const char *q = cfg.path; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			fail("--url/--path-suffix: the path may not contain spaces or control "
			     "bytes");

	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(cfg.host, cfg.port, &hints, &res);
	if (rc)
		fail("%s: %s", cfg.hostport, gai_strerror(rc));
	struct addrinfo *ai;
	for (ai = res; ai; ai = ai->ai_next)
		if (is_loopback(ai->ai_addr))
			break;
	if (!ai)
		fail("%s resolves to no loopback address; loadgen only drives servers on this "
		     "machine",
		     cfg.host);
	memcpy(&cfg.addr, ai->ai_addr, ai->ai_addrlen);
	cfg.addrlen = ai->ai_addrlen;
	freeaddrinfo(res);
}

static void check_header_value(const char *what, const char *v)
{
	for (const char *q = v; *q; q++)
		if ((unsigned char)*q < ' ' || *q == 0x7f)
			fail("%s may not contain control bytes", what);
}

static void build_head(void)
{
	const char *ct = cfg.content_type;
	if (!ct) {
		if (cfg.format == FMT_JOURNAL)
			ct = "application/vnd.fdo.journal";
		else if (cfg.batch > 1)
			ct = "application/x-ndjson";
		else
			ct = "application/json";
	}
	check_header_value("--content-type", ct);
	if (cfg.token)
		check_header_value("--token", cfg.token);
	int n = snprintf(cfg.head, sizeof cfg.head,
			 "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vellum-loadgen\r\n"
			 "Content-Type: %s\r\n%s%s%s",
			 cfg.path, cfg.hostport, ct, cfg.token ? "Authorization: Bearer " : "",
			 cfg.token ? cfg.token : "", cfg.token ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof cfg.head - 64)
		fail("request head longer than %d bytes", HDR_RESERVE - 64);
	cfg.head_len = (size_t)n;
}

static void load_body_file(void)
{
	int fd = open(cfg.body_file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		fail("%s: %s", cfg.body_file, strerror(errno));
	if (st.st_size > (off_t)MAX_RESPONSE)
		fail("%s: larger than %u bytes", cfg.body_file, MAX_RESPONSE);
	cfg.tmpl_len = (size_t)st.st_size;
	cfg.tmpl = malloc(cfg.tmpl_len + 1);
	if (!cfg.tmpl)
		fail("out of memory");
	size_t got = 0;
	while (got < cfg.tmpl_len) {
		ssize_t r = read(fd, cfg.tmpl + got, cfg.tmpl_len - got);
		if (r <= 0)
			fail("%s: short read", cfg.body_file);
		got += (size_t)r;
	}
	close(fd);
	cfg.tmpl[cfg.tmpl_len] = 0;
	for (const char *p = cfg.tmpl;
	     (p = memmem(p, cfg.tmpl_len - (size_t)(p - cfg.tmpl), SEQ_MARK, strlen(SEQ_MARK)));
	     p += strlen(SEQ_MARK))
		cfg.tmpl_marks++;
}

/* ---- request bodies ---- */

static const char *const actions[] = {"login",	    "logout",	  "read",     "write",
				      "delete",	    "grant",	  "revoke",   "export",
				      "config.set", "key.rotate", "db.query", "token.issue"};
#define N_ACTIONS (sizeof actions / sizeof actions[0])

#define PUT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
	char t[20];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

struct stamp {
	time_t sec;
	char iso[40]; /* 2026-01-02T03:04:05.678901Z */
	size_t iso_len;
	uint64_t usec; /* since the epoch */
};

static void stamp_now(struct stamp *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != s->sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(s->iso, sizeof s->iso, "%Y-%m-%dT%H:%M:%S", &tm);
		s->sec = ts.tv_sec;
	}
	snprintf(s->iso + 19, sizeof s->iso - 19, ".%06ldZ", ts.tv_nsec / 1000);
	s->iso_len = strlen(s->iso);
	s->usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One JSON event of about cfg.event_size bytes, unique through seq. */
static char *gen_event(char *p, uint64_t seq, const struct stamp *s)
{
	char *start = p;
	p = PUT(p, "{\"time\":\"");
	p = put(p, s->iso, s->iso_len);
	p = PUT(p, "\",\"actor\":\"user-");
	p = put_u64(p, (seq * 2654435761u) % 100000);
	p = PUT(p, "\",\"action\":\"");
	const char *a = actions[seq % N_ACTIONS];
	p = put(p, a, strlen(a));
	p = PUT(p, "\",\"seq\":");
	p = put_u64(p, seq);
	p = PUT(p, ",\"pad\":\"");
	size_t used = (size_t)(p - start) + 2;
	if (cfg.event_size > used) {
		size_t n = cfg.event_size - used;
		p = put(p, cfg.pad + (seq * 61) % PAD_SPAN, n);
	}
	return PUT(p, "\"}");
}

/* Writes the body at p (cfg.body_max bytes available); returns its length. */
static size_t gen_body(char *p, uint64_t seq0, struct stamp *s)
{
	char *start = p;
	if (cfg.tmpl) {
		const char *t = cfg.tmpl, *end = cfg.tmpl + cfg.tmpl_len, *m;
		uint64_t seq = seq0;
		while ((m = memmem(t, (size_t)(end - t), SEQ_MARK, strlen(SEQ_MARK)))) {
			p = put(p, t, (size_t)(m - t));
			p = put_u64(p, seq++);
			t = m + strlen(SEQ_MARK);
		}
		return (size_t)(put(p, t, (size_t)(end - t)) - start);
	}
	stamp_now(s);
	for (unsigned i = 0; i < cfg.batch; i++) {
		uint64_t seq = seq0 + i;
		if (cfg.format == FMT_JOURNAL) {
			p = PUT(p, "__REALTIME_TIMESTAMP=");
			p = put_u64(p, s->usec);
			p = PUT(p, "\nSYSLOG_IDENTIFIER=vellum-loadgen\nMESSAGE=");
			p = gen_event(p, seq, s);
			p = PUT(p, "\n\n");
		} else {
			p = gen_event(p, seq, s);
			if (cfg.batch > 1)
				*p++ = '\n';
		}
	}
	return (size_t)(p - start);
}

/* ---- connections ---- */

enum cstate { C_CLOSED, C_CONNECTING, C_IDLE, C_SENDING, C_WAITING };

/* How a response ends: after Content-Length bytes, after the last chunk, or
 * at end of stream. */
enum framing { F_LENGTH, F_CHUNKED, F_EOF };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

struct conn {
	int fd;
	enum cstate st;
	bool ever_connected;
	uint64_t retry_at; /* when C_CLOSED: reconnect at */
	uint64_t t_connect;

	char *out; /* HDR_RESERVE + cfg.body_max bytes */
	size_t out_off, out_end;
	uint64_t t_start; /* latency counts from here */
	uint64_t t_sent;  /* first byte written (for the timeout) */

	char *in;
	size_t in_len, in_cap;

	/* the response being parsed */
	bool head_done;
	size_t head_len;
	int status;
	enum framing framing;
	uint64_t content_length;
	bool close_after;
	char retry_after[32];
	enum chunk_state ch;
	size_t ch_pos;	  /* next raw byte of the chunked stream */
	size_t body_end;  /* end of the decoded body (starts at head_len) */
	uint64_t ch_left; /* bytes left in the current chunk */
};

struct counts {
	uint64_t req_2xx, ev_2xx, c1xx, c3xx, c4xx, c5xx, resets, timeouts, protocol;
};

struct worker {
	int id;
	int ep;
	bool have_pwait2;
	struct conn *conns;
	int nconns;
	struct conn **idle;
	int nidle;
	int nclosed;
	bool stopping;

	uint64_t k_next;   /* open loop: next request of this thread's schedule */
	double k_interval; /* open loop: ns between two requests of this thread */
	double k_offset;

	struct counts win; /* responses completed in the measured window */
	struct counts out; /* during warm-up or drain */
	struct hist hist;
	uint64_t connects_ok, connect_fail, reconnects, unsent;
	struct stamp stamp;

	char rec[1 << 16];
	size_t rec_len;

	pthread_t thread;
};

static uint64_t sched_time(const struct worker *w, uint64_t k)
{
	return cfg.t0 + (uint64_t)(((double)k + w->k_offset) * w->k_interval);
}

static void ep_set(struct worker *w, struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(w->ep, op, c->fd, &ev) < 0) {
		perror("loadgen: epoll_ctl");
		exit(2);
	}
}

static void reset_parse(struct conn *c)
{
	c->head_done = false;
	c->head_len = 0;
	c->status = 0;
	c->framing = F_EOF;
	c->content_length = 0;
	c->close_after = false;
	c->retry_after[0] = 0;
	c->ch = CH_SIZE;
	c->ch_pos = 0;
	c->body_end = 0;
	c->ch_left = 0;
}

static void conn_close(struct worker *w, struct conn *c, uint64_t now)
{
	if (c->fd >= 0)
		close(c->fd); /* also removes it from the epoll set */
	if (c->st == C_IDLE) {
		for (int i = 0; i < w->nidle; i++)
			if (w->idle[i] == c) {
				w->idle[i] = w->idle[--w->nidle];
				break;
			}
	}
	c->fd = -1;
	c->st = C_CLOSED;
	c->in_len = 0;
	reset_parse(c);
	c->retry_at = now;
	w->nclosed++;
}

static void conn_open(struct worker *w, struct conn *c, uint64_t now)
{
	w->nclosed--;
	c->fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("loadgen: socket");
		exit(2);
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->st = C_CONNECTING;
	c->t_connect = now;
	if (connect(c->fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0 && errno != EINPROGRESS) {
		int e = errno;
		w->connect_fail++;
		if (atomic_fetch_add(&connect_messages_shown, 1) < MAX_CONNECT_MESSAGES)
			fprintf(stderr, "loadgen: connect %s: %s\n", cfg.hostport, strerror(e));
		close(c->fd);
		c->fd = -1;
		c->st = C_CLOSED;
		c->retry_at = now + RECONNECT_NS;
		w->nclosed++;
		return;
	}
	ep_set(w, c, EPOLLOUT | EPOLLIN, EPOLL_CTL_ADD);
}

static void count_status(struct counts *k, int status, unsigned events)
{
	if (status >= 200 && status < 300) {
		k->req_2xx++;
		k->ev_2xx += events;
	} else if (status < 200) {
		k->c1xx++;
	} else if (status < 400) {
		k->c3xx++;
	} else if (status < 500) {
		k->c4xx++;
	} else {
		k->c5xx++;
	}
}

static uint64_t errors_of(const struct counts *k)
{
	return k->c1xx + k->c3xx + k->c4xx + k->c5xx + k->resets + k->timeouts + k->protocol;
}

static void record_flush(struct worker *w)
{
	if (w->rec_len == 0)
		return;
	pthread_mutex_lock(&record_lock);
	size_t off = 0;
	while (off < w->rec_len) {
		ssize_t r = write(cfg.record_fd, w->rec + off, w->rec_len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			perror("loadgen: --record");
			exit(2);
		}
		off += (size_t)r;
	}
	pthread_mutex_unlock(&record_lock);
	w->rec_len = 0;
}

/* Appends "STATUS INDEX" for each event of the request, taking the indexes from
 * the "index" members of the body, in order. */
static void record_response(struct worker *w, int status, const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	for (unsigned i = 0; i < cfg.batch; i++) {
		if (w->rec_len + 64 > sizeof w->rec)
			record_flush(w);
		char *o = w->rec + w->rec_len;
		o = put_u64(o, (uint64_t)status);
		*o++ = ' ';
		bool found = false;
		if (status >= 200 && status < 300) {
			while (p && p < end) {
				const char *m = memmem(p, (size_t)(end - p), "\"index\"", 7);
				if (!m) {
					p = NULL;
					break;
				}
				p = m + 7;
				while (p < end &&
				       (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
					p++;
				if (p >= end || *p != ':')
					continue;
				p++;
				while (p < end &&
				       (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
					p++;
				if (p < end && isdigit((unsigned char)*p)) {
					for (int d = 0; p < end && isdigit((unsigned char)*p); p++)
						if (d++ < 20)
							*o++ = *p;
					found = true;
					break;
				}
			}
		}
		if (!found)
			*o++ = '-';
		*o++ = '\n';
		w->rec_len = (size_t)(o - w->rec);
	}
}

static void show_error_body(const struct conn *c, const char *body, size_t len)
{
	if (atomic_fetch_add(&error_bodies_shown, 1) >= MAX_ERROR_BODIES)
		return;
	char buf[301];
	size_t n = len < 300 ? len : 300;
	for (size_t i = 0; i < n; i++)
		buf[i] = (body[i] >= ' ' && body[i] < 0x7f) ? body[i] : ' ';
	buf[n] = 0;
	fprintf(stderr, "loadgen: HTTP %d%s%s%s: %s%s\n", c->status,
		c->retry_after[0] ? " (Retry-After: " : "", c->retry_after,
		c->retry_after[0] ? ")" : "", buf, len > n ? "..." : "");
}

static bool in_window(uint64_t t)
{
	return t >= cfg.t_measure && t < cfg.t_stop;
}

static void send_request(struct worker *w, struct conn *c, uint64_t t_start, uint64_t now);

/* The connection is idle again: closed loop sends the next request at once,
 * open loop waits for the schedule. */
static void conn_ready(struct worker *w, struct conn *c, uint64_t now)
{
	c->st = C_IDLE;
	if (w->stopping) {
		conn_close(w, c, now);
		return;
	}
	if (cfg.rate == 0) {
		send_request(w, c, now, now);
		return;
	}
	w->idle[w->nidle++] = c;
}

static void request_failed(struct worker *w, struct conn *c, uint64_t now, bool timeout)
{
	struct counts *k = in_window(now) ? &w->win : &w->out;
	if (c->st == C_SENDING || c->st == C_WAITING) {
		if (timeout)
			k->timeouts++;
		else
			k->resets++;
	}
	conn_close(w, c, now);
}

static void protocol_error(struct worker *w, struct conn *c, uint64_t now, const char *why)
{
	static atomic_int shown;
	if (atomic_fetch_add(&shown, 1) < MAX_ERROR_BODIES)
		fprintf(stderr, "loadgen: bad response: %s\n", why);
	(in_window(now) ? &w->win : &w->out)->protocol++;
	conn_close(w, c, now);
}

static void send_request(struct worker *w, struct conn *c, uint64_t t_start, uint64_t now)
{
	uint64_t seq0 = atomic_fetch_add(&next_seq, cfg.batch);
	char *body = c->out + HDR_RESERVE;
	size_t blen = gen_body(body, seq0, &w->stamp);
	char cl[64];
	int n = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", blen);
	c->out_off = HDR_RESERVE - (size_t)n - cfg.head_len;
	memcpy(c->out + c->out_off, cfg.head, cfg.head_len);
	memcpy(body - n, cl, (size_t)n);
	c->out_end = HDR_RESERVE + blen;
	c->t_start = t_start;
	c->t_sent = now;
	c->st = C_SENDING;

	while (c->out_off < c->out_end) {
		ssize_t r = send(c->fd, c->out + c->out_off, c->out_end - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			c->out_off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ep_set(w, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
			return;
		}
		request_failed(w, c, now, false);
		return;
	}
	c->st = C_WAITING;
}

static void on_writable(struct worker *w, struct conn *c, uint64_t now)
{
	while (c->out_off < c->out_end) {
		ssize_t r = send(c->fd, c->out + c->out_off, c->out_end - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			c->out_off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		request_failed(w, c, now, false);
		return;
	}
	c->st = C_WAITING;
	ep_set(w, c, EPOLLIN, EPOLL_CTL_MOD);
}

static void on_connected(struct worker *w, struct conn *c, uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		w->connect_fail++;
		if (atomic_fetch_add(&connect_messages_shown, 1) < MAX_CONNECT_MESSAGES)
			fprintf(stderr, "loadgen: connect %s: %s\n", cfg.hostport, strerror(err));
		conn_close(w, c, now);
		c->retry_at = now + RECONNECT_NS;
		return;
	}
	w->connects_ok++;
	if (c->ever_connected)
		w->reconnects++;
	c->ever_connected = true;
	ep_set(w, c, EPOLLIN, EPOLL_CTL_MOD);
	conn_ready(w, c, now);
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
		      size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	const char *v = line + n + 1, *e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*value = v;
	*vlen = (size_t)(e - v);
	return true;
}

static bool has_token(const char *v, size_t len, const char *tok)
{
	size_t n = strlen(tok);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(v + i, tok, n) == 0 &&
		    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
		    (i + n == len || v[i + n] == ',' || v[i + n] == ' ' || v[i + n] == ';'))
			return true;
	return false;
}

/* Parses the status line and headers in c->in[0..end).  Returns false on a
 * malformed head. */
static bool parse_head(struct conn *c, size_t end)
{
	const char *p = c->in, *e = c->in + end;
	const char *nl = memchr(p, '\n', (size_t)(e - p));
	if (!nl || nl - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]))
		return false;
	bool http10 = p[7] == '0';
	c->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	bool have_length = false, chunked = false, keep_alive = false, close = false;
	for (p = nl + 1; p < e;) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl)
			break;
		size_t len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		const char *v;
		size_t vlen;
		if (header_is(p, len, "Content-Length", &v, &vlen)) {
			uint64_t n = 0;
			if (vlen == 0 || vlen > 15)
				return false;
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i]))
					return false;
				n = n * 10 + (uint64_t)(v[i] - '0');
			}
			if (have_length && n != c->content_length)
				return false;
			have_length = true;
			c->content_length = n;
		} else if (header_is(p, len, "Transfer-Encoding", &v, &vlen)) {
			/* chunked must be the last coding; others are not supported */
			if (vlen < 7 || strncasecmp(v + vlen - 7, "chunked", 7) != 0)
				return false;
			chunked = true;
		} else if (header_is(p, len, "Connection", &v, &vlen)) {
			if (has_token(v, vlen, "close"))
				close = true;
			if (has_token(v, vlen, "keep-alive"))
				keep_alive = true;
		} else if (header_is(p, len, "Retry-After", &v, &vlen)) {
			size_t n =
			    vlen < sizeof c->retry_after - 1 ? vlen : sizeof c->retry_after - 1;
			memcpy(c->retry_after, v, n);
			c->retry_after[n] = 0;
		}
		p = nl + 1;
	}
	c->close_after = close || (http10 && !keep_alive);
	if ((c->status >= 100 && c->status < 200) || c->status == 204 || c->status == 304) {
		c->framing = F_LENGTH;
		c->content_length = 0;
	} else if (chunked) {
		c->framing = F_CHUNKED;
	} else if (have_length) {
		c->framing = F_LENGTH;
	} else {
		c->framing = F_EOF;
		c->close_after = true;
	}
	return true;
}

/* Finds the end of the head (just past the empty line); 0 if not there yet. */
static size_t find_head_end(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Decodes chunked data in place: chunk payloads are moved down to body_end.
 * Returns 1 when the last chunk and trailers are in (c->ch_pos is then the end
 * of the response), 0 if more bytes are needed, -1 on malformed input. */
static int dechunk(struct conn *c)
{
	for (;;) {
		char *p = c->in + c->ch_pos;
		size_t avail = c->in_len - c->ch_pos;
		char *nl;
		switch (c->ch) {
		case CH_SIZE: {
			nl = memchr(p, '\n', avail);
			if (!nl)
				return avail > 1024 ? -1 : 0;
			uint64_t n = 0;
			int digits = 0;
			for (char *q = p; q < nl && isxdigit((unsigned char)*q); q++) {
				if (++digits > 15)
					return -1;
				n = n * 16 +
				    (uint64_t)(isdigit((unsigned char)*q)
						   ? *q - '0'
						   : (tolower((unsigned char)*q) - 'a' + 10));
			}
			if (!digits)
				return -1;
			c->ch_pos += (size_t)(nl - p) + 1;
			c->ch_left = n;
			c->ch = n ? CH_DATA : CH_TRAILER;
			break;
		}
		case CH_DATA: {
			size_t n = avail < c->ch_left ? avail : (size_t)c->ch_left;
			memmove(c->in + c->body_end, p, n);
			c->body_end += n;
			c->ch_pos += n;
			c->ch_left -= n;
			if (c->ch_left)
				return 0;
			c->ch = CH_DATA_END;
			break;
		}
		case CH_DATA_END:
			if (avail < 1)
				return 0;
			if (p[0] == '\n') {
				c->ch_pos += 1;
			} else if (p[0] == '\r') {
				if (avail < 2)
					return 0;
				if (p[1] != '\n')
					return -1;
				c->ch_pos += 2;
			} else {
				return -1;
			}
			c->ch = CH_SIZE;
			break;
		case CH_TRAILER:
			nl = memchr(p, '\n', avail);
			if (!nl)
				return avail > 8192 ? -1 : 0;
			c->ch_pos += (size_t)(nl - p) + 1;
			if (nl == p || (nl == p + 1 && p[0] == '\r'))
				return 1;
			break;
		}
	}
}

/* A complete response is in c->in: its body is c->in[head_len..body_end) and
 * the bytes after it start at `next`. */
static void on_response(struct worker *w, struct conn *c, size_t next, uint64_t now)
{
	const char *body = c->in + c->head_len;
	size_t blen = c->body_end - c->head_len;
	bool measured = in_window(now);
	struct counts *k = measured ? &w->win : &w->out;
	bool ok = c->status >= 200 && c->status < 300;
	count_status(k, c->status, cfg.batch);
	if (measured && ok)
		hist_add(&w->hist, now - c->t_start);
	if (!ok)
		show_error_body(c, body, blen);
	if (cfg.record_fd >= 0)
		record_response(w, c->status, body, blen);

	bool partial_send = c->st == C_SENDING; /* answered before the body was all sent */
	bool close_after = c->close_after || partial_send;
	memmove(c->in, c->in + next, c->in_len - next);
	c->in_len -= next;
	reset_parse(c);
	if (close_after) {
		c->st = C_WAITING; /* not a failed request: just reconnect */
		conn_close(w, c, now);
		return;
	}
	if (c->in_len) {
		protocol_error(w, c, now, "bytes after the response");
		return;
	}
	conn_ready(w, c, now);
}

/* Tries to complete the response from what c->in holds.  Returns true while
 * the response is incomplete and the connection open. */
static bool parse_response(struct worker *w, struct conn *c, bool eof, uint64_t now)
{
	for (;;) {
		if (!c->head_done) {
			size_t end = find_head_end(c->in, c->in_len);
			if (!end) {
				if (c->in_len > 65536)
					protocol_error(w, c, now, "head longer than 64 KiB");
				else if (eof)
					request_failed(w, c, now, false);
				else
					return true;
				return false;
			}
			if (!parse_head(c, end)) {
				protocol_error(w, c, now, "malformed status line or header");
				return false;
			}
			if (c->status >= 100 && c->status < 200 && c->status != 101) {
				/* interim response: drop it and parse the next head */
				memmove(c->in, c->in + end, c->in_len - end);
				c->in_len -= end;
				reset_parse(c);
				continue;
			}
			if (c->status == 101) {
				protocol_error(w, c, now, "unexpected 101");
				return false;
			}
			c->head_done = true;
			c->head_len = end;
			c->body_end = end;
			c->ch_pos = end;
		}
		switch (c->framing) {
		case F_LENGTH:
			if (c->in_len - c->head_len >= c->content_length) {
				c->body_end = c->head_len + (size_t)c->content_length;
				on_response(w, c, c->body_end, now);
			} else if (eof) {
				request_failed(w, c, now, false);
			} else {
				return true;
			}
			return false;
		case F_CHUNKED: {
			int r = dechunk(c);
			if (r < 0)
				protocol_error(w, c, now, "malformed chunked body");
			else if (r > 0)
				on_response(w, c, c->ch_pos, now);
			else if (eof)
				request_failed(w, c, now, false);
			else
				return true;
			return false;
		}
		case F_EOF:
			if (eof) {
				c->body_end = c->in_len;
				on_response(w, c, c->in_len, now);
				return false;
			}
			return true;
		}
	}
}

static void on_readable(struct worker *w, struct conn *c, uint64_t now)
{
	for (;;) {
		if (c->in_cap - c->in_len < 16384) {
			size_t cap = c->in_cap * 2;
			if (cap > MAX_RESPONSE) {
				protocol_error(w, c, now, "response larger than 64 MiB");
				return;
			}
			char *in = realloc(c->in, cap);
			if (!in) {
				fputs("loadgen: out of memory\n", stderr);
				exit(2);
			}
			c->in = in;
			c->in_cap = cap;
		}
		size_t space = c->in_cap - c->in_len;
		ssize_t r = recv(c->fd, c->in + c->in_len, space, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			/* end of stream or reset */
			if (c->st == C_IDLE)
				conn_close(w, c, now); /* closed between requests: reopen */
			else if (r < 0)
				request_failed(w, c, now, false);
			else
				parse_response(w, c, true, now);
			return;
		}
		c->in_len += (size_t)r;
		if (c->st != C_SENDING && c->st != C_WAITING) {
			protocol_error(w, c, now, "bytes with no request in flight");
			return;
		}
		/* read on only while the response is incomplete and the buffer was
		 * filled: otherwise the socket is drained or a new request is out */
		if (!parse_response(w, c, false, now) || (size_t)r < space)
			return;
	}
}

static void dispatch_open_loop(struct worker *w, uint64_t now)
{
	while (w->nidle > 0) {
		uint64_t t = sched_time(w, w->k_next);
		if (t > now || t >= cfg.t_stop)
			return;
		struct conn *c = w->idle[--w->nidle];
		w->k_next++;
		send_request(w, c, t, now);
	}
}

static void check_timeouts(struct worker *w, uint64_t now)
{
	uint64_t limit = (uint64_t)(cfg.timeout * (double)NS);
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if ((c->st == C_SENDING || c->st == C_WAITING) && now - c->t_sent > limit)
			request_failed(w, c, now, true);
		else if (c->st == C_CONNECTING && now - c->t_connect > limit) {
			w->connect_fail++;
			conn_close(w, c, now);
			c->retry_at = now + RECONNECT_NS;
		}
	}
}

static int inflight(const struct worker *w)
{
	int n = 0;
	for (int i = 0; i < w->nconns; i++)
		if (w->conns[i].st == C_SENDING || w->conns[i].st == C_WAITING)
			n++;
	return n;
}

static int wait_events(struct worker *w, struct epoll_event *ev, int max, uint64_t timeout_ns)
{
	if (w->have_pwait2) {
		struct timespec ts = {.tv_sec = (time_t)(timeout_ns / NS),
				      .tv_nsec = (long)(timeout_ns % NS)};
		int n = epoll_pwait2(w->ep, ev, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		w->have_pwait2 = false;
	}
	return epoll_wait(w->ep, ev, max, (int)((timeout_ns + 999999) / 1000000));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[256];
	uint64_t last_timeout_check = now_ns();
	uint64_t drain_until = 0;

	for (int i = 0; i < w->nconns; i++)
		conn_open(w, &w->conns[i], cfg.t0);

	for (;;) {
		uint64_t now = now_ns();
		if (!w->stopping && now >= cfg.t_stop) {
			w->stopping = true;
			drain_until = now + DRAIN_NS;
			if (cfg.rate > 0) {
				/* scheduled before the end but never sent: the server
				 * (or this machine) did not keep up */
				double span = (double)(cfg.t_stop - cfg.t0) / w->k_interval;
				uint64_t due = (uint64_t)(span - w->k_offset);
				while (due > 0 && sched_time(w, due - 1) >= cfg.t_stop)
					due--;
				while (sched_time(w, due) < cfg.t_stop)
					due++;
				w->unsent = due > w->k_next ? due - w->k_next : 0;
			}
			for (int i = 0; i < w->nconns; i++) {
				struct conn *c = &w->conns[i];
				if (c->st == C_IDLE || c->st == C_CONNECTING)
					conn_close(w, c, now);
			}
		}
		if (w->stopping && (now >= drain_until || inflight(w) == 0))
			break;

		if (!w->stopping && w->nclosed > 0) {
			for (int i = 0; i < w->nconns; i++) {
				struct conn *c = &w->conns[i];
				if (c->st == C_CLOSED && c->retry_at <= now)
					conn_open(w, c, now);
			}
		}
		if (!w->stopping && cfg.rate > 0)
			dispatch_open_loop(w, now);

		uint64_t wake = now + 100 * 1000000ull;
		if (!w->stopping && cfg.t_stop < wake)
			wake = cfg.t_stop;
		if (w->stopping && drain_until < wake)
			wake = drain_until;
		if (!w->stopping && cfg.rate > 0 && w->nidle > 0) {
			uint64_t t = sched_time(w, w->k_next);
			if (t < wake)
				wake = t;
		}
		if (!w->stopping && w->nclosed > 0) {
			for (int i = 0; i < w->nconns; i++) {
				struct conn *c = &w->conns[i];
				if (c->st == C_CLOSED && c->retry_at < wake)
					wake = c->retry_at;
			}
		}
		int n = wait_events(w, ev, 256, wake > now ? wake - now : 0);
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			exit(2);
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			uint32_t e = ev[i].events;
			if (c->st == C_CONNECTING) {
				if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
					on_connected(w, c, now);
				continue;
			}
			if (c->fd >= 0 && (e & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				on_readable(w, c, now);
			if (c->fd >= 0 && c->st == C_SENDING && (e & (EPOLLOUT | EPOLLERR)))
				on_writable(w, c, now);
		}
		if (now - last_timeout_check > 100 * 1000000ull) {
			check_timeouts(w, now);
			last_timeout_check = now;
		}
	}
	for (int i = 0; i < w->nconns; i++)
		if (w->conns[i].fd >= 0) {
			close(w->conns[i].fd);
			w->conns[i].fd = -1;
		}
	if (cfg.record_fd >= 0)
		record_flush(w);
	return NULL;
}

/* ---- main ---- */

static void fmt_ms(char *buf, size_t len, uint64_t ns)
{
	double ms = (double)ns / 1e6;
	if (ms >= 100)
		snprintf(buf, len, "%.0f", ms);
	else if (ms >= 10)
		snprintf(buf, len, "%.1f", ms);
	else if (ms >= 1)
		snprintf(buf, len, "%.2f", ms);
	else
		snprintf(buf, len, "%.3f", ms);
}

static bool probe_connect(void)
{
	int fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) == 0;
	if (!ok)
		fprintf(stderr, "loadgen: cannot connect to %s: %s\n", cfg.hostport,
			strerror(errno));
	close(fd);
	return ok;
}

static void add_counts(struct counts *a, const struct counts *b)
{
	a->req_2xx += b->req_2xx;
	a->ev_2xx += b->ev_2xx;
	a->c1xx += b->c1xx;
	a->c3xx += b->c3xx;
	a->c4xx += b->c4xx;
	a->c5xx += b->c5xx;
	a->resets += b->resets;
	a->timeouts += b->timeouts;
	a->protocol += b->protocol;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, 0, 'u'},
	    {"connections", required_argument, 0, 'c'},
	    {"threads", required_argument, 0, 't'},
	    {"duration", required_argument, 0, 'd'},
	    {"warmup", required_argument, 0, 'w'},
	    {"rate", required_argument, 0, 'r'},
	    {"batch", required_argument, 0, 'b'},
	    {"content-type", required_argument, 0, 'C'},
	    {"token", required_argument, 0, 'T'},
	    {"event-size", required_argument, 0, 's'},
	    {"body-file", required_argument, 0, 'f'},
	    {"path-suffix", required_argument, 0, 'p'},
	    {"format", required_argument, 0, 'F'},
	    {"record", required_argument, 0, 'R'},
	    {"timeout", required_argument, 0, 'o'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			cfg.url = optarg;
			break;
		case 'c':
			cfg.connections = (int)parse_double("--connections", optarg, 1, 10000);
			break;
		case 't':
			cfg.threads = (int)parse_double("--threads", optarg, 1, 4);
			break;
		case 'd':
			cfg.duration = parse_double("--duration", optarg, 0.001, 86400);
			break;
		case 'w':
			cfg.warmup = parse_double("--warmup", optarg, 0, 3600);
			break;
		case 'r':
			cfg.rate = parse_double("--rate", optarg, 0, 1e9);
			break;
		case 'b':
			cfg.batch = (unsigned)parse_double("--batch", optarg, 1, 1000000);
			break;
		case 'C':
			cfg.content_type = optarg;
			break;
		case 'T':
			cfg.token = optarg;
			break;
		case 's':
			cfg.event_size =
			    (size_t)parse_double("--event-size", optarg, 1, MAX_EVENT_SIZE);
			break;
		case 'f':
			cfg.body_file = optarg;
			break;
		case 'p':
			cfg.path_suffix = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "journal") == 0)
				cfg.format = FMT_JOURNAL;
			else if (strcmp(optarg, "json") == 0)
				cfg.format = FMT_JSON;
			else
				fail("--format: json or journal, not \"%s\"", optarg);
			break;
		case 'R':
			cfg.record = optarg;
			break;
		case 'o':
			cfg.timeout = parse_double("--timeout", optarg, 0.001, 3600);
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (cfg.threads > cfg.connections)
		cfg.threads = cfg.connections;
	if (cfg.body_file && cfg.format == FMT_JOURNAL)
		fail("--body-file and --format journal exclude each other");

	parse_url();
	build_head();
	if (cfg.body_file) {
		load_body_file();
		cfg.body_max = cfg.tmpl_len + cfg.tmpl_marks * 20;
	} else {
		/* an event is at least ~130 bytes of fields, whatever --event-size */
		size_t per = (cfg.event_size > 200 ? cfg.event_size : 200) + 128;
		if (cfg.batch > (MAX_RESPONSE * 4u) / per)
			fail("--batch x --event-size exceeds 256 MiB per request");
		cfg.body_max = (size_t)cfg.batch * per;
	}
	cfg.pad = malloc(cfg.event_size + PAD_SPAN);
	if (!cfg.pad)
		fail("out of memory");
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < cfg.event_size + PAD_SPAN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		cfg.pad[i] = (char)('a' + x % 26);
	}
	if (cfg.record) {
		cfg.record_fd = open(cfg.record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (cfg.record_fd < 0)
			fail("%s: %s", cfg.record, strerror(errno));
	}

	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (!probe_connect())
		return 1;

	struct worker *ws = calloc((size_t)cfg.threads, sizeof *ws);
	if (!ws)
		fail("out of memory");
	double req_rate = cfg.rate / cfg.batch;
	for (int t = 0; t < cfg.threads; t++) {
		struct worker *w = &ws[t];
		w->id = t;
		w->have_pwait2 = true;
		w->nconns = cfg.connections / cfg.threads + (t < cfg.connections % cfg.threads);
		w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
		w->idle = calloc((size_t)w->nconns, sizeof *w->idle);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (!w->conns || !w->idle || w->ep < 0)
			fail("out of memory or epoll_create1: %s", strerror(errno));
		if (req_rate > 0) {
			w->k_interval = (double)NS * cfg.threads / req_rate;
			w->k_offset = (double)t / cfg.threads;
		}
		for (int i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];
			c->fd = -1;
			c->st = C_CLOSED;
			c->out = malloc(HDR_RESERVE + cfg.body_max);
			c->in_cap = 65536;
			c->in = malloc(c->in_cap);
			if (!c->out || !c->in)
				fail("out of memory");
			reset_parse(c);
		}
		w->nclosed = w->nconns;
	}

	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	cfg.t0 = now_ns();
	cfg.t_measure = cfg.t0 + (uint64_t)(cfg.warmup * (double)NS);
	cfg.t_stop = cfg.t_measure + (uint64_t)(cfg.duration * (double)NS);
	for (int t = 0; t < cfg.threads; t++)
		if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]))
			fail("pthread_create failed");
	for (int t = 0; t < cfg.threads; t++)
		pthread_join(ws[t].thread, NULL);
	getrusage(RUSAGE_SELF, &ru1);
	uint64_t t_end = now_ns();

	static struct hist h;
	struct counts win = {0}, out = {0};
	uint64_t connects_ok = 0, connect_fail = 0, reconnects = 0, unsent = 0;
	for (int t = 0; t < cfg.threads; t++) {
		hist_merge(&h, &ws[t].hist);
		add_counts(&win, &ws[t].win);
		add_counts(&out, &ws[t].out);
		connects_ok += ws[t].connects_ok;
		connect_fail += ws[t].connect_fail;
		reconnects += ws[t].reconnects;
		unsent += ws[t].unsent;
	}
	for (int t = 0; t < cfg.threads; t++) {
		for (int i = 0; i < ws[t].nconns; i++) {
			free(ws[t].conns[i].out);
			free(ws[t].conns[i].in);
		}
		free(ws[t].conns);
		free(ws[t].idle);
		close(ws[t].ep);
	}
	free(ws);
	free(cfg.pad);
	free(cfg.tmpl);
	if (cfg.record_fd >= 0)
		close(cfg.record_fd);

	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		     (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		     (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		     (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	double cpu_pct = 100 * cpu / ((double)(t_end - cfg.t0) / 1e9);
	double eps = (double)win.ev_2xx / cfg.duration;
	double rps = (double)win.req_2xx / cfg.duration;
	uint64_t q50 = hist_quantile(&h, 0.50), q90 = hist_quantile(&h, 0.90),
		 q99 = hist_quantile(&h, 0.99), q999 = hist_quantile(&h, 0.999);
	char s50[32], s90[32], s99[32], s999[32], smax[32];
	fmt_ms(s50, sizeof s50, q50);
	fmt_ms(s90, sizeof s90, q90);
	fmt_ms(s99, sizeof s99, q99);
	fmt_ms(s999, sizeof s999, q999);
	fmt_ms(smax, sizeof smax, h.max);
	uint64_t errors = errors_of(&win);

	char extra[256] = "";
	size_t el = 0;
	if (win.timeouts)
		el += (size_t)snprintf(extra + el, sizeof extra - el, ", timeout %" PRIu64,
				       win.timeouts);
	if (win.protocol)
		el += (size_t)snprintf(extra + el, sizeof extra - el, ", bad response %" PRIu64,
				       win.protocol);
	if (win.c1xx + win.c3xx)
		el += (size_t)snprintf(extra + el, sizeof extra - el, ", other %" PRIu64,
				       win.c1xx + win.c3xx);
	char mode[96] = "";
	if (cfg.rate > 0)
		snprintf(mode, sizeof mode, ", open loop at %.0f events/s (%" PRIu64 " unsent)",
			 cfg.rate, unsent);
	printf("loadgen: %.1f s, %d conns, batch %u%s: %.0f events/s, %.0f req/s, p50 %s ms p90 %s "
	       "ms p99 %s ms p999 %s ms max %s ms, errors %" PRIu64 " (2xx %" PRIu64
	       ", 4xx %" PRIu64 ", 5xx %" PRIu64 ", reset %" PRIu64 "%s), reconnects %" PRIu64
	       ", loadgen cpu %.0f%%\n",
	       cfg.duration, cfg.connections, cfg.batch, mode, eps, rps, s50, s90, s99, s999, smax,
	       errors, win.req_2xx, win.c4xx, win.c5xx, win.resets, extra, reconnects, cpu_pct);
	printf("RESULT events_per_s=%.0f req_per_s=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f max_ms=%.3f errors=%" PRIu64 " ok=%" PRIu64 " c4xx=%" PRIu64
	       " c5xx=%" PRIu64 " resets=%" PRIu64 " timeouts=%" PRIu64 " unsent=%" PRIu64
	       " conns=%d batch=%u duration_s=%g cpu_pct=%.0f\n",
	       eps, rps, (double)q50 / 1e6, (double)q90 / 1e6, (double)q99 / 1e6,
	       (double)q999 / 1e6, (double)h.max / 1e6, errors, win.req_2xx, win.c4xx, win.c5xx,
	       win.resets, win.timeouts, unsent, cfg.connections, cfg.batch, cfg.duration, cpu_pct);
	uint64_t out_errors = errors_of(&out);
	if (out_errors)
		fprintf(stderr,
			"loadgen: %" PRIu64 " more errors during warm-up or drain, not in the "
			"figures\n",
			out_errors);
	if (connect_fail)
		fprintf(stderr, "loadgen: %" PRIu64 " failed connection attempts\n", connect_fail);
	fflush(stdout);
	if (connects_ok == 0) {
		fprintf(stderr, "loadgen: could not connect at all\n");
		return 1;
	}
	return 0;
}
