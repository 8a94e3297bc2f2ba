/*
 * proxy.c — the network fault proxy of `vellum chaos proxy` (docs/chaos.md):
 * one thread, poll(2), a list of connections each with a queue of chunks
 * per direction.  Every chunk carries the time it may be written (latency)
 * and is written within each direction's token bucket (throttle); while a
 * blackhole or half-open fault is on, what is read is discarded and the
 * connections are marked so that they are reset when it ends.  Faults are
 * slots with a window [start, end) in microseconds since the proxy started;
 * the loop turns them on and off and logs each change as a JSON line.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ fault specs */

static const char *const kind_names[VC_FAULT_KINDS] = {
	[VC_FAULT_BLACKHOLE] = "blackhole", [VC_FAULT_RESET] = "reset",
	[VC_FAULT_REFUSE] = "refuse",       [VC_FAULT_LATENCY] = "latency",
	[VC_FAULT_THROTTLE] = "throttle",   [VC_FAULT_HALF_OPEN] = "half-open",
};

const char *vc_fault_kind_name(enum vc_fault_kind kind)
{
	if ((unsigned)kind >= VC_FAULT_KINDS)
		return NULL;
	return kind_names[kind];
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Decimal digits at S[*I..LEN) up to MAX.  0, or -1 when there are none
 * or the value is over MAX. */
static int parse_uint(const char *s, size_t len, size_t *i, uint64_t max, uint64_t *out)
{
	size_t start = *i;
	uint64_t v = 0;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		unsigned d = (unsigned)(s[*i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
		(*i)++;
	}
	if (*i == start)
		return -1;
	*out = v;
	return 0;
}

/* Seconds with up to 3 decimals, as milliseconds up to VC_WINDOW_MAX_MS. */
static int parse_seconds(const char *s, size_t len, size_t *i, uint64_t *ms)
{
	uint64_t whole, frac = 0;
	unsigned digits = 0;

	if (parse_uint(s, len, i, VC_WINDOW_MAX_MS / 1000, &whole) < 0)
		return -1;
	if (*i < len && s[*i] == '.') {
		(*i)++;
		while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
			if (++digits > 3)
				return -1;
			frac = frac * 10 + (uint64_t)(s[*i] - '0');
			(*i)++;
		}
		if (digits == 0)
			return -1;
		while (digits++ < 3)
			frac *= 10;
	}
	*ms = whole * 1000 + frac;
	return *ms > VC_WINDOW_MAX_MS ? -1 : 0;
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static int is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

#define KINDS_HELP "blackhole, reset, refuse, half-open, latency=MS[~JITTER_MS], throttle=RATE"

int vc_fault_parse(const char *spec, size_t len, vc_fault *out, char *err, size_t errlen)
{
	vc_fault f;
	const char *at;
	size_t head, i;
	uint64_t v;

	memset(&f, 0, sizeof f);
	if (len == 0) {
		set_err(err, errlen, "empty fault spec (one of " KINDS_HELP ")");
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)spec[i];
		if (ch <= 0x20 || ch >= 0x7f) {
			set_err(err, errlen, "a fault spec is printable ASCII without spaces "
				"(byte 0x%02x at offset %zu)", ch, i);
			return -1;
		}
	}
	at = memchr(spec, '@', len);
	head = at ? (size_t)(at - spec) : len;

	if (is_word(spec, head, "blackhole")) {
		f.kind = VC_FAULT_BLACKHOLE;
	} else if (is_word(spec, head, "reset")) {
		f.kind = VC_FAULT_RESET;
	} else if (is_word(spec, head, "refuse")) {
		f.kind = VC_FAULT_REFUSE;
	} else if (is_word(spec, head, "half-open")) {
		f.kind = VC_FAULT_HALF_OPEN;
	} else if (has_prefix(spec, head, "latency=")) {
		f.kind = VC_FAULT_LATENCY;
		i = strlen("latency=");
		if (parse_uint(spec, head, &i, VC_LATENCY_MAX_MS, &v) < 0)
			goto bad_latency;
		f.latency_ms = (uint32_t)v;
		if (i < head && spec[i] == '~') {
			i++;
			if (parse_uint(spec, head, &i, VC_LATENCY_MAX_MS, &v) < 0)
				goto bad_latency;
			f.jitter_ms = (uint32_t)v;
		}
		if (i != head)
			goto bad_latency;
		if (f.jitter_ms > f.latency_ms) {
			set_err(err, errlen, "latency jitter %" PRIu32
				" is larger than the latency %" PRIu32 " ms",
				f.jitter_ms, f.latency_ms);
			return -1;
		}
	} else if (has_prefix(spec, head, "throttle=")) {
		f.kind = VC_FAULT_THROTTLE;
		i = strlen("throttle=");
		if (parse_uint(spec, head, &i, VC_RATE_MAX, &v) < 0)
			goto bad_rate;
		if (i < head && (spec[i] == 'k' || spec[i] == 'K')) {
			v <<= 10;
			i++;
		} else if (i < head && (spec[i] == 'm' || spec[i] == 'M')) {
			v <<= 20;
			i++;
		}
		if (i != head || v < 1 || v > VC_RATE_MAX)
			goto bad_rate;
		f.rate = v;
	} else if (is_word(spec, head, "latency") || is_word(spec, head, "throttle")) {
		set_err(err, errlen, "'%.*s' needs a value: latency=MS[~JITTER_MS], throttle=RATE",
			(int)head, spec);
		return -1;
	} else {
		set_err(err, errlen, "unknown fault '%.*s' (one of " KINDS_HELP ")",
			(int)(head > 40 ? 40 : head), spec);
		return -1;
	}

	if (at) {
		i = head + 1;
		f.has_window = 1;
		if (parse_seconds(spec, len, &i, &f.start_ms) < 0 || i >= len || spec[i] != '+')
			goto bad_window;
		i++;
		if (parse_seconds(spec, len, &i, &f.duration_ms) < 0 || i != len ||
		    f.duration_ms == 0)
			goto bad_window;
	}
	*out = f;
	return 0;

bad_latency:
	set_err(err, errlen, "latency takes MS or MS~JITTER_MS, whole milliseconds up to %u",
		VC_LATENCY_MAX_MS);
	return -1;
bad_rate:
	set_err(err, errlen, "throttle takes a rate in bytes per second, 1 up to 1T, with an "
		"optional k (x1024) or m (x1048576)");
	return -1;
bad_window:
	set_err(err, errlen, "a window is @START+DURATION in seconds, up to 3 decimals, "
		"DURATION > 0 (e.g. @5+10 or @0.5+1.25)");
	return -1;
}

/* Seconds from milliseconds: "5", "1.5", "0.125". */
static int format_seconds(char *buf, size_t len, uint64_t ms)
{
	unsigned frac = (unsigned)(ms % 1000);

	if (frac == 0)
		return snprintf(buf, len, "%" PRIu64, ms / 1000);
	if (frac % 100 == 0)
		return snprintf(buf, len, "%" PRIu64 ".%u", ms / 1000, frac / 100);
	if (frac % 10 == 0)
		return snprintf(buf, len, "%" PRIu64 ".%02u", ms / 1000, frac / 10);
	return snprintf(buf, len, "%" PRIu64 ".%03u", ms / 1000, frac);
}

int vc_fault_format(const vc_fault *f, char *buf, size_t len)
{
	char start[32], dur[32];
	int n;

	if ((unsigned)f->kind >= VC_FAULT_KINDS)
		return -1;
	switch (f->kind) {
	case VC_FAULT_LATENCY:
		if (f->latency_ms > VC_LATENCY_MAX_MS || f->jitter_ms > f->latency_ms)
			return -1;
		if (f->jitter_ms)
			n = snprintf(buf, len, "latency=%" PRIu32 "~%" PRIu32, f->latency_ms,
				     f->jitter_ms);
		else
			n = snprintf(buf, len, "latency=%" PRIu32, f->latency_ms);
		break;
	case VC_FAULT_THROTTLE:
		if (f->rate < 1 || f->rate > VC_RATE_MAX)
			return -1;
		if (f->rate % (1u << 20) == 0)
			n = snprintf(buf, len, "throttle=%" PRIu64 "m", f->rate >> 20);
		else if (f->rate % (1u << 10) == 0)
			n = snprintf(buf, len, "throttle=%" PRIu64 "k", f->rate >> 10);
		else
			n = snprintf(buf, len, "throttle=%" PRIu64, f->rate);
		break;
	default:
		n = snprintf(buf, len, "%s", kind_names[f->kind]);
		break;
	}
	if (n < 0 || (size_t)n >= len)
		return -1;
	if (f->has_window) {
		if (f->start_ms > VC_WINDOW_MAX_MS || f->duration_ms == 0 ||
		    f->duration_ms > VC_WINDOW_MAX_MS)
			return -1;
		format_seconds(start, sizeof start, f->start_ms);
		format_seconds(dur, sizeof dur, f->duration_ms);
		int m = snprintf(buf + n, len - (size_t)n, "@%s+%s", start, dur);
		if (m < 0 || (size_t)m >= len - (size_t)n)
			return -1;
		n += m;
	}
	return n;
}

int vc_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, char *err,
		      size_t errlen)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t v;
	size_t i = 0;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			set_err(err, errlen, "'%s' is not [ADDRESS]:PORT", s);
			return -1;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			set_err(err, errlen, "'%s' is not HOST:PORT", s);
			return -1;
		}
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl)) {
			set_err(err, errlen, "'%s': an IPv6 address goes in brackets, [::1]:PORT",
				s);
			return -1;
		}
	}
	if (hl == 0 || hl >= hostlen) {
		set_err(err, errlen, "'%s' has %s host", s, hl == 0 ? "no" : "too long a");
		return -1;
	}
	if (parse_uint(colon + 1, strlen(colon + 1), &i, 65535, &v) < 0 ||
	    colon[1 + i] != '\0') {
		set_err(err, errlen, "'%s' has no port 0..65535 after the last ':'", s);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* ------------------------------------------------------------ the proxy */

#define CHUNK_MAX 16384
#define CHUNK_OVERHEAD 64          /* counted per chunk against QUEUE_MAX */
#define QUEUE_MAX (256 * 1024)     /* bytes held per direction before reading stops */
#define MAX_FAULTS 64
#define MAX_CONNS 4096
#define MAX_CONTROL 16
#define CONTROL_LINE_MAX 1024
#define PREVIEW_DRAWS 8
#define FOREVER UINT64_MAX

struct chunk {
	struct chunk *next;
	uint64_t due_us;
	size_t len, off;
	unsigned char data[];
};

/* One direction of a connection: what was read and not yet written. */
struct dir {
	struct chunk *head, *tail;
	size_t queued;
	int eof;     /* the source has ended */
	int shut;    /* and that end was passed on (shutdown SHUT_WR) */
	int blocked; /* the destination's buffer was full at the last write */
	uint64_t last_due_us;
	double tokens;
	uint64_t refill_us;
};

struct conn {
	struct conn *next;
	int cfd, ufd;
	int connecting; /* ufd's connect is in progress */
	int tainted;    /* bytes were discarded: reset when the partition ends */
	int dead;
	struct dir up;   /* client to upstream */
	struct dir down; /* upstream to client */
};

struct slot {
	vc_fault f;
	char text[VC_FAULT_TEXT_MAX];
	uint64_t start_us, end_us;
	int active;
	uint64_t rng;
};

struct control {
	int fd;
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct proxy {
	const vc_proxy_config *cfg;
	uint64_t t0, now; /* CLOCK_MONOTONIC at start; now is since then (us) */
	int lfd, ctl_lfd;
	struct sockaddr_storage laddr;
	socklen_t laddr_len;
	int relisten; /* the listener must be opened again (after refuse) */
	struct addrinfo *upstream;
	struct conn *conns;
	size_t n_open;
	uint64_t n_total;
	struct slot slots[MAX_FAULTS];
	size_t n_slots;
	uint64_t n_added;
	struct control ctl[MAX_CONTROL];
	/* what the active faults add up to */
	int blackhole, half_open, reset, refuse;
	uint64_t rate; /* 0: no throttle */
	uint64_t bytes_up, bytes_down, bytes_discarded, faults_applied, resets;
	unsigned char scratch[CHUNK_MAX];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void update_now(struct proxy *p)
{
	p->now = mono_us() - p->t0;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The delay of the next chunk under latency fault F, in ms. */
static uint32_t draw_delay(const vc_fault *f, uint64_t *rng)
{
	uint64_t span;

	if (f->jitter_ms == 0)
		return f->latency_ms;
	span = 2 * (uint64_t)f->jitter_ms + 1;
	return f->latency_ms - f->jitter_ms + (uint32_t)(splitmix64(rng) % span);
}

/* "t":SECONDS,"time":"UTC" — the start of an event line. */
static void log_head(struct proxy *p, const char *event)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "{\"event\":\"%s\",\"t\":%" PRIu64 ".%03" PRIu64 ",\"time\":\"%s.%03ldZ\"",
		event, p->now / 1000000, p->now / 1000 % 1000, when, ts.tv_nsec / 1000000);
}

static void log_fault(struct proxy *p, const char *event, const struct slot *s, const char *why)
{
	log_head(p, event);
	fprintf(stderr, ",\"fault\":\"%s\"", s->text);
	if (why)
		fprintf(stderr, ",\"reason\":\"%s\"", why);
	fputs("}\n", stderr);
	fflush(stderr);
}

static void log_error(struct proxy *p, const char *what, int err)
{
	log_head(p, "error");
	fprintf(stderr, ",\"message\":\"%s: %s\"}\n", what, strerror(err));
	fflush(stderr);
}

static void close_fd(int fd, int hard)
{
	if (fd < 0)
		return;
	if (hard) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(fd);
}

/* Frees DIR's chunks; returns the bytes they held. */
static uint64_t drop_queue(struct dir *d)
{
	uint64_t bytes = 0;

	while (d->head) {
		struct chunk *ch = d->head;
		d->head = ch->next;
		bytes += ch->len - ch->off;
		free(ch);
	}
	d->tail = NULL;
	d->queued = 0;
	return bytes;
}

static void conn_close(struct proxy *p, struct conn *c, int hard_client, int hard_upstream)
{
	if (c->dead)
		return;
	close_fd(c->cfd, hard_client);
	close_fd(c->ufd, hard_upstream);
	c->cfd = c->ufd = -1;
	drop_queue(&c->up);
	drop_queue(&c->down);
	c->dead = 1;
	p->n_open--;
}

static void conn_reset(struct proxy *p, struct conn *c)
{
	conn_close(p, c, 1, 1);
	p->resets++;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static double burst(uint64_t rate)
{
	return rate >= 20 ? (double)(rate / 20) : 1.0;
}

static void dir_refill(struct proxy *p, struct dir *d)
{
	if (p->now > d->refill_us) {
		d->tokens += (double)p->rate * (double)(p->now - d->refill_us) / 1e6;
		if (d->tokens > burst(p->rate))
			d->tokens = burst(p->rate);
	}
	d->refill_us = p->now;
}

static void start_upstream(struct proxy *p, struct conn *c)
{
	const struct addrinfo *ai = p->upstream;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		log_error(p, "upstream socket", errno);
		conn_close(p, c, 0, 0);
		return;
	}
	set_nodelay(fd);
	c->ufd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return;
	if (errno == EINPROGRESS) {
		c->connecting = 1;
		return;
	}
	/* The upstream cannot be reached: the client is closed. */
	conn_close(p, c, 0, 0);
}

static int partitioned(const struct proxy *p)
{
	return p->blackhole || p->half_open;
}

static void accept_clients(struct proxy *p)
{
	for (int k = 0; k < 64 && p->lfd >= 0; k++) {
		int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_error(p, "accept", errno);
			return;
		}
		p->n_total++;
		if (p->reset) {
			close_fd(fd, 1);
			p->resets++;
			continue;
		}
		if (p->n_open >= MAX_CONNS || !(c = calloc(1, sizeof *c))) {
			close_fd(fd, 1);
			continue;
		}
		set_nodelay(fd);
		c->cfd = fd;
		c->ufd = -1;
		c->up.tokens = c->down.tokens = p->rate ? burst(p->rate) : 0;
		c->up.refill_us = c->down.refill_us = p->now;
		c->next = p->conns;
		p->conns = c;
		p->n_open++;
		if (partitioned(p))
			c->tainted = 1;
		else
			start_upstream(p, c);
	}
}

static int open_listener(const struct sockaddr *sa, socklen_t len)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, sa, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void relisten(struct proxy *p)
{
	p->lfd = open_listener((struct sockaddr *)&p->laddr, p->laddr_len);
	if (p->lfd < 0) {
		if (!p->relisten)
			log_error(p, "cannot listen again (retrying every 100 ms)", errno);
		p->relisten = 1;
		return;
	}
	p->relisten = 0;
}

/* Recomputes what the active faults add up to and applies the changes. */
static void apply_faults(struct proxy *p)
{
	int bh = 0, ho = 0, rs = 0, rf = 0;
	uint64_t rate = 0;
	struct conn *c;

	for (size_t i = 0; i < p->n_slots; i++) {
		const struct slot *s = &p->slots[i];
		if (!s->active)
			continue;
		switch (s->f.kind) {
		case VC_FAULT_BLACKHOLE:
			bh = 1;
			break;
		case VC_FAULT_HALF_OPEN:
			ho = 1;
			break;
		case VC_FAULT_RESET:
			rs = 1;
			break;
		case VC_FAULT_REFUSE:
			rf = 1;
			break;
		case VC_FAULT_THROTTLE:
			if (rate == 0 || s->f.rate < rate)
				rate = s->f.rate;
			break;
		default:
			break;
		}
	}
	int was = partitioned(p), is = bh || ho;
	if ((is && !was) || (ho && !p->half_open)) {
		for (c = p->conns; c; c = c->next) {
			if (c->dead)
				continue;
			p->bytes_discarded += drop_queue(&c->up) + drop_queue(&c->down);
			c->tainted = 1;
			if (ho) {
				/* The upstream vanishes; the client hears nothing. */
				close_fd(c->ufd, 0);
				c->ufd = -1;
				c->connecting = 0;
			}
		}
	}
	if (was && !is) {
		for (c = p->conns; c; c = c->next)
			if (!c->dead && c->tainted)
				conn_reset(p, c);
	}
	if (rf && !p->refuse && p->lfd >= 0) {
		close(p->lfd);
		p->lfd = -1;
	} else if (!rf && p->refuse && p->lfd < 0) {
		relisten(p);
	}
	if (rate != p->rate) {
		for (c = p->conns; c; c = c->next) {
			c->up.tokens = c->down.tokens = rate ? burst(rate) : 0;
			c->up.refill_us = c->down.refill_us = p->now;
		}
	}
	p->blackhole = bh;
	p->half_open = ho;
	p->reset = rs;
	p->refuse = rf;
	p->rate = rate;
}

static void reset_all(struct proxy *p)
{
	for (struct conn *c = p->conns; c; c = c->next)
		if (!c->dead)
			conn_reset(p, c);
}

static void remove_slot(struct proxy *p, size_t i)
{
	memmove(&p->slots[i], &p->slots[i + 1], (p->n_slots - i - 1) * sizeof p->slots[0]);
	p->n_slots--;
}

/* Turns faults on and off by their windows. */
static void update_faults(struct proxy *p)
{
	int changed = 0;

	for (size_t i = 0; i < p->n_slots; i++) {
		struct slot *s = &p->slots[i];
		if (!s->active && p->now >= s->start_us) {
			s->active = 1;
			p->faults_applied++;
			log_fault(p, "fault_start", s, NULL);
			if (s->f.kind == VC_FAULT_RESET)
				reset_all(p);
			changed = 1;
		}
		if (s->active && p->now >= s->end_us) {
			log_fault(p, "fault_stop", s, "window");
			remove_slot(p, i);
			i--;
			changed = 1;
		}
	}
	if (changed)
		apply_faults(p);
}

static int add_fault(struct proxy *p, const vc_fault *f, uint64_t base_us)
{
	struct slot *s;

	if (p->n_slots >= MAX_FAULTS)
		return -1;
	s = &p->slots[p->n_slots];
	memset(s, 0, sizeof *s);
	s->f = *f;
	if (vc_fault_format(f, s->text, sizeof s->text) < 0)
		return -1;
	s->start_us = base_us + (f->has_window ? f->start_ms * 1000 : 0);
	s->end_us = f->has_window ? s->start_us + f->duration_ms * 1000 : FOREVER;
	s->rng = p->cfg->seed ^ (0xd1b54a32d192ed03ull * (p->n_added + 1));
	p->n_slots++;
	p->n_added++;
	return 0;
}

/* The total delay of a chunk read now, in us. */
static uint64_t chunk_delay(struct proxy *p)
{
	uint64_t ms = 0;

	for (size_t i = 0; i < p->n_slots; i++)
		if (p->slots[i].active && p->slots[i].f.kind == VC_FAULT_LATENCY)
			ms += draw_delay(&p->slots[i].f, &p->slots[i].rng);
	return ms * 1000;
}

static int soft_error(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Reads what the client (FROM_CLIENT) or the upstream has sent. */
static void conn_read(struct proxy *p, struct conn *c, int from_client)
{
	int src = from_client ? c->cfd : c->ufd;
	struct dir *d = from_client ? &c->up : &c->down;
	ssize_t n;

	if (src < 0 || c->dead)
		return;
	n = recv(src, p->scratch, sizeof p->scratch, 0);
	if (n < 0 && soft_error(errno))
		return;
	if (partitioned(p)) {
		if (n > 0) {
			p->bytes_discarded += (uint64_t)n;
			c->tainted = 1;
		} else if (from_client) {
			conn_close(p, c, 0, 0); /* the client left: nothing to hold */
		} else {
			close_fd(c->ufd, 0);
			c->ufd = -1;
		}
		return;
	}
	if (n < 0) {
		/* A reset (or error) on one side resets the other. */
		conn_close(p, c, !from_client, from_client);
		return;
	}
	if (n == 0) {
		d->eof = 1;
		return;
	}
	struct chunk *ch = malloc(sizeof *ch + (size_t)n);
	if (!ch) {
		conn_reset(p, c);
		return;
	}
	memcpy(ch->data, p->scratch, (size_t)n);
	ch->next = NULL;
	ch->len = (size_t)n;
	ch->off = 0;
	ch->due_us = p->now + chunk_delay(p);
	if (ch->due_us < d->last_due_us)
		ch->due_us = d->last_due_us; /* bytes keep their order */
	d->last_due_us = ch->due_us;
	if (d->tail)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->queued += (size_t)n + CHUNK_OVERHEAD;
}

/* Writes what is due in one direction, within the throttle. */
static void conn_flush(struct proxy *p, struct conn *c, int to_upstream)
{
	int dst = to_upstream ? c->ufd : c->cfd;
	struct dir *d = to_upstream ? &c->up : &c->down;

	if (c->dead || dst < 0 || (to_upstream && c->connecting) || partitioned(p))
		return;
	d->blocked = 0;
	while (d->head) {
		struct chunk *ch = d->head;
		size_t want = ch->len - ch->off;
		ssize_t n;

		if (ch->due_us > p->now)
			break;
		if (p->rate) {
			dir_refill(p, d);
			if (d->tokens < 1)
				break;
			if ((double)want > d->tokens)
				want = (size_t)d->tokens;
		}
		n = send(dst, ch->data + ch->off, want, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				d->blocked = 1;
				return;
			}
			conn_close(p, c, to_upstream, !to_upstream);
			return;
		}
		ch->off += (size_t)n;
		if (p->rate)
			d->tokens -= (double)n;
		if (to_upstream)
			p->bytes_up += (uint64_t)n;
		else
			p->bytes_down += (uint64_t)n;
		if (ch->off == ch->len) {
			d->head = ch->next;
			if (!d->head)
				d->tail = NULL;
			d->queued -= ch->len + CHUNK_OVERHEAD;
			free(ch);
		}
	}
	if (!d->head && d->eof && !d->shut) {
		shutdown(dst, SHUT_WR);
		d->shut = 1;
	}
	if (c->up.shut && c->down.shut)
		conn_close(p, c, 0, 0);
}

static void connect_done(struct proxy *p, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0) {
		c->connecting = 0;
		return;
	}
	conn_close(p, c, 0, 0);
}

/* ------------------------------------------------------------ control */

static void control_reply(int fd, const char *text)
{
	size_t len = strlen(text);

	/* A reply is short and the socket's buffer empty: one send. */
	if (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return;
}

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = (size_t)n >= cap - *len ? cap : *len + (size_t)n;
}

static void status_json(struct proxy *p, char *buf, size_t cap)
{
	size_t len = 0;
	int first = 1;

	append(buf, cap, &len, "{\"t\":%" PRIu64 ".%03" PRIu64 ",\"listening\":%s,\"active\":[",
	       p->now / 1000000, p->now / 1000 % 1000, p->lfd >= 0 ? "true" : "false");
	for (size_t i = 0; i < p->n_slots; i++) {
		if (!p->slots[i].active)
			continue;
		append(buf, cap, &len, "%s\"%s\"", first ? "" : ",", p->slots[i].text);
		first = 0;
	}
	append(buf, cap, &len, "],\"pending\":[");
	first = 1;
	for (size_t i = 0; i < p->n_slots; i++) {
		if (p->slots[i].active)
			continue;
		append(buf, cap, &len, "%s\"%s\"", first ? "" : ",", p->slots[i].text);
		first = 0;
	}
	append(buf, cap, &len,
	       "],\"connections_open\":%zu,\"connections_total\":%" PRIu64
	       ",\"bytes_up\":%" PRIu64 ",\"bytes_down\":%" PRIu64
	       ",\"bytes_discarded\":%" PRIu64 ",\"faults_applied\":%" PRIu64
	       ",\"resets\":%" PRIu64 "}",
	       p->n_open, p->n_total, p->bytes_up, p->bytes_down, p->bytes_discarded,
	       p->faults_applied, p->resets);
}

/* Removes the faults named NAME (a kind, or a fault's canonical text;
 * NULL: all).  Returns how many. */
static unsigned heal(struct proxy *p, const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < p->n_slots; i++) {
		struct slot *s = &p->slots[i];
		if (name && strcmp(name, kind_names[s->f.kind]) != 0 && strcmp(name, s->text) != 0)
			continue;
		log_fault(p, s->active ? "fault_stop" : "fault_cancel", s, "heal");
		remove_slot(p, i);
		i--;
		n++;
	}
	apply_faults(p);
	return n;
}

static int known_name(const char *name)
{
	for (int k = 0; k < VC_FAULT_KINDS; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return 1;
	return 0;
}

static void control_line(struct proxy *p, int fd, char *line)
{
	char reply[8192], err[256];
	size_t len = strlen(line);

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			line[i] = '?';
	if (strcmp(line, "status") == 0) {
		memcpy(reply, "ok ", 3);
		status_json(p, reply + 3, sizeof reply - 4);
		strcat(reply, "\n");
	} else if (strncmp(line, "fault ", 6) == 0) {
		vc_fault f;
		const char *spec = line + 6;
		if (vc_fault_parse(spec, strlen(spec), &f, err, sizeof err) < 0) {
			snprintf(reply, sizeof reply, "error: %s\n", err);
		} else if (add_fault(p, &f, p->now) < 0) {
			snprintf(reply, sizeof reply, "error: too many faults (at most %d)\n",
				 MAX_FAULTS);
		} else {
			snprintf(reply, sizeof reply, "ok fault %s\n",
				 p->slots[p->n_slots - 1].text);
			update_faults(p);
		}
	} else if (strcmp(line, "heal") == 0) {
		snprintf(reply, sizeof reply, "ok healed %u\n", heal(p, NULL));
	} else if (strncmp(line, "heal ", 5) == 0) {
		const char *name = line + 5;
		unsigned n = heal(p, name);
		if (n == 0 && !known_name(name))
			snprintf(reply, sizeof reply, "error: no fault named '%.64s'\n", name);
		else
			snprintf(reply, sizeof reply, "ok healed %u\n", n);
	} else {
		snprintf(reply, sizeof reply,
			 "error: unknown command '%.64s' (fault SPEC, heal [NAME], status)\n",
			 line);
	}
	control_reply(fd, reply);
}

static void control_accept(struct proxy *p)
{
	int fd = accept4(p->ctl_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONTROL; i++) {
		if (p->ctl[i].fd < 0) {
			p->ctl[i].fd = fd;
			p->ctl[i].len = 0;
			return;
		}
	}
	control_reply(fd, "error: too many control connections\n");
	close(fd);
}

static void control_read(struct proxy *p, struct control *ctl)
{
	ssize_t n = recv(ctl->fd, ctl->buf + ctl->len, sizeof ctl->buf - ctl->len, 0);
	char *nl;

	if (n < 0 && soft_error(errno))
		return;
	if (n <= 0) {
		close(ctl->fd);
		ctl->fd = -1;
		return;
	}
	ctl->len += (size_t)n;
	while ((nl = memchr(ctl->buf, '\n', ctl->len))) {
		size_t line = (size_t)(nl - ctl->buf);
		*nl = '\0';
		if (memchr(ctl->buf, '\0', line))
			control_reply(ctl->fd, "error: a command is text without NUL bytes\n");
		else
			control_line(p, ctl->fd, ctl->buf);
		memmove(ctl->buf, nl + 1, ctl->len - line - 1);
		ctl->len -= line + 1;
	}
	if (ctl->len == sizeof ctl->buf) {
		control_reply(ctl->fd, "error: command line too long\n");
		close(ctl->fd);
		ctl->fd = -1;
	}
}

/* ------------------------------------------------------------ the loop */

enum { PF_LISTEN, PF_CONTROL_LISTEN, PF_CONTROL, PF_CLIENT, PF_UPSTREAM };

struct pf_ref {
	int type;
	void *ptr;
};

static uint64_t next_wake(struct proxy *p)
{
	uint64_t wake = p->now + 1000000;

	for (size_t i = 0; i < p->n_slots; i++) {
		const struct slot *s = &p->slots[i];
		uint64_t t = s->active ? s->end_us : s->start_us;
		if (t < wake)
			wake = t;
	}
	if (p->relisten && p->now + 100000 < wake)
		wake = p->now + 100000;
	if (partitioned(p))
		return wake;
	for (struct conn *c = p->conns; c; c = c->next) {
		struct dir *dirs[2] = {&c->up, &c->down};
		if (c->dead)
			continue;
		for (int k = 0; k < 2; k++) {
			struct dir *d = dirs[k];
			if (!d->head || d->blocked)
				continue;
			if (d->head->due_us > p->now) {
				if (d->head->due_us < wake)
					wake = d->head->due_us;
			} else if (p->rate && d->tokens < 1) {
				uint64_t t = p->now + 1 +
					     (uint64_t)((1 - d->tokens) * 1e6 / (double)p->rate);
				if (t < wake)
					wake = t;
			}
		}
	}
	return wake;
}

static void sweep(struct proxy *p)
{
	struct conn **pp = &p->conns;

	while (*pp) {
		struct conn *c = *pp;
		if (c->dead) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static int add_pf(struct pollfd **pfds, struct pf_ref **refs, size_t *n, size_t *cap, int fd,
		  short events, int type, void *ptr)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct pollfd *np = realloc(*pfds, nc * sizeof **pfds);
		if (!np)
			return -1;
		*pfds = np;
		struct pf_ref *nr = realloc(*refs, nc * sizeof **refs);
		if (!nr)
			return -1;
		*refs = nr;
		*cap = nc;
	}
	(*pfds)[*n] = (struct pollfd){.fd = fd, .events = events};
	(*refs)[*n] = (struct pf_ref){.type = type, .ptr = ptr};
	(*n)++;
	return 0;
}

static int run_loop(struct proxy *p, const sigset_t *waitmask)
{
	struct pollfd *pfds = NULL;
	struct pf_ref *refs = NULL;
	size_t cap = 0;
	int rc = 0;

	while (!stop_signal) {
		size_t n = 0;
		struct conn *c;

		update_now(p);
		update_faults(p);
		if (p->relisten && !p->refuse)
			relisten(p);
		for (c = p->conns; c; c = c->next) {
			conn_flush(p, c, 1);
			conn_flush(p, c, 0);
		}
		sweep(p);

		if (p->lfd >= 0 && add_pf(&pfds, &refs, &n, &cap, p->lfd, POLLIN, PF_LISTEN, NULL))
			goto nomem;
		if (p->ctl_lfd >= 0 &&
		    add_pf(&pfds, &refs, &n, &cap, p->ctl_lfd, POLLIN, PF_CONTROL_LISTEN, NULL))
			goto nomem;
		for (int i = 0; i < MAX_CONTROL; i++) {
			struct control *ctl = &p->ctl[i];
			if (ctl->fd >= 0 &&
			    add_pf(&pfds, &refs, &n, &cap, ctl->fd, POLLIN, PF_CONTROL, ctl))
				goto nomem;
		}
		for (c = p->conns; c; c = c->next) {
			short ce = 0, ue = 0;
			if (partitioned(p)) {
				ce = ue = POLLIN;
			} else {
				if (!c->up.eof && c->up.queued < QUEUE_MAX)
					ce |= POLLIN;
				if (c->down.blocked)
					ce |= POLLOUT;
				if (!c->down.eof && c->down.queued < QUEUE_MAX)
					ue |= POLLIN;
				if (c->up.blocked || c->connecting)
					ue |= POLLOUT;
			}
			if (c->connecting)
				ue = POLLOUT;
			if (c->cfd >= 0 && ce &&
			    add_pf(&pfds, &refs, &n, &cap, c->cfd, ce, PF_CLIENT, c))
				goto nomem;
			if (c->ufd >= 0 && ue &&
			    add_pf(&pfds, &refs, &n, &cap, c->ufd, ue, PF_UPSTREAM, c))
				goto nomem;
		}

		uint64_t wake = next_wake(p), wait_us = wake > p->now ? wake - p->now : 0;
		struct timespec ts = {.tv_sec = (time_t)(wait_us / 1000000),
				      .tv_nsec = (long)(wait_us % 1000000) * 1000};
		int ready = ppoll(pfds, n, &ts, waitmask);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_error(p, "poll", errno);
			rc = -1;
			break;
		}
		update_now(p);
		for (size_t i = 0; i < n && ready > 0; i++) {
			short ev = pfds[i].revents;
			if (!ev)
				continue;
			ready--;
			switch (refs[i].type) {
			case PF_LISTEN:
				accept_clients(p);
				break;
			case PF_CONTROL_LISTEN:
				control_accept(p);
				break;
			case PF_CONTROL:
				control_read(p, refs[i].ptr);
				break;
			case PF_CLIENT:
				c = refs[i].ptr;
				if (ev & (POLLIN | POLLHUP | POLLERR))
					conn_read(p, c, 1);
				if (ev & (POLLOUT | POLLHUP | POLLERR))
					c->down.blocked = 0;
				break;
			case PF_UPSTREAM:
				c = refs[i].ptr;
				if (c->dead || c->ufd != pfds[i].fd)
					break;
				if (c->connecting) {
					connect_done(p, c);
					break;
				}
				if (ev & (POLLIN | POLLHUP | POLLERR))
					conn_read(p, c, 0);
				if (ev & (POLLOUT | POLLHUP | POLLERR))
					c->up.blocked = 0;
				break;
			}
		}
	}
	free(pfds);
	free(refs);
	return rc;
nomem:
	fprintf(stderr, "vellum chaos proxy: out of memory\n");
	free(pfds);
	free(refs);
	return -1;
}

/* ------------------------------------------------------------ start, stop */

static int resolve(const char *what, const char *hostport, int passive, struct addrinfo **out)
{
	char host[256], err[300], port_s[8];
	uint16_t port;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	int rc;

	if (vc_split_hostport(hostport, host, sizeof host, &port, err, sizeof err) < 0) {
		fprintf(stderr, "vellum chaos proxy: %s %s\n", what, err);
		return -1;
	}
	if (passive)
		hints.ai_flags |= AI_PASSIVE;
	snprintf(port_s, sizeof port_s, "%u", (unsigned)port);
	rc = getaddrinfo(host, port_s, &hints, out);
	if (rc != 0) {
		fprintf(stderr, "vellum chaos proxy: %s %s: %s\n", what, hostport,
			gai_strerror(rc));
		return -1;
	}
	return 0;
}

static int bind_listener(const char *what, const char *hostport, struct sockaddr_storage *ss,
			 socklen_t *sslen, uint16_t *port)
{
	struct addrinfo *ai;
	int fd;

	if (resolve(what, hostport, 1, &ai) < 0)
		return -1;
	fd = open_listener(ai->ai_addr, ai->ai_addrlen);
	if (fd < 0) {
		fprintf(stderr, "vellum chaos proxy: cannot listen on %s (%s)\n", hostport,
			strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	*sslen = sizeof *ss;
	getsockname(fd, (struct sockaddr *)ss, sslen);
	*port = ntohs(ss->ss_family == AF_INET6 ? ((struct sockaddr_in6 *)ss)->sin6_port
						: ((struct sockaddr_in *)ss)->sin_port);
	return fd;
}

static int write_port_file(const char *path, uint16_t port, int has_control, uint16_t ctl_port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", (unsigned)port);
	if (has_control)
		fprintf(f, "%u\n", (unsigned)ctl_port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The seed and the schedule: the same for the same seed and specs. */
static void log_schedule(struct proxy *p)
{
	fprintf(stderr, "{\"event\":\"seed\",\"seed\":%" PRIu64 "}\n", p->cfg->seed);
	for (size_t i = 0; i < p->n_slots; i++) {
		const struct slot *s = &p->slots[i];
		char start[32], end[32];
		format_seconds(start, sizeof start, s->f.has_window ? s->f.start_ms : 0);
		if (s->f.has_window)
			format_seconds(end, sizeof end, s->f.start_ms + s->f.duration_ms);
		else
			strcpy(end, "null");
		fprintf(stderr, "{\"event\":\"schedule\",\"fault\":\"%s\",\"kind\":\"%s\","
			"\"start\":%s,\"end\":%s", s->text, kind_names[s->f.kind], start, end);
		if (s->f.kind == VC_FAULT_LATENCY) {
			uint64_t rng = s->rng; /* a copy: the real draws repeat these */
			fputs(",\"delays_ms\":[", stderr);
			for (int k = 0; k < PREVIEW_DRAWS; k++) {
				uint32_t d = draw_delay(&s->f, &rng);
				fprintf(stderr, "%s%" PRIu32, k ? "," : "", d);
			}
			fputs("]", stderr);
		}
		fputs("}\n", stderr);
	}
	fflush(stderr);
}

int vc_proxy_run(const vc_proxy_config *cfg)
{
	struct proxy *p = calloc(1, sizeof *p);
	struct sockaddr_storage css;
	socklen_t csslen;
	uint16_t port = 0, ctl_port = 0;
	struct sigaction sa, old_int, old_term, old_pipe;
	sigset_t block, oldmask;
	int rc = -1;

	if (!p) {
		fprintf(stderr, "vellum chaos proxy: out of memory\n");
		return -1;
	}
	p->cfg = cfg;
	p->lfd = p->ctl_lfd = -1;
	for (int i = 0; i < MAX_CONTROL; i++)
		p->ctl[i].fd = -1;
	for (size_t i = 0; i < cfg->n_faults; i++) {
		if (add_fault(p, &cfg->faults[i], 0) < 0) {
			fprintf(stderr, "vellum chaos proxy: too many faults (at most %d)\n",
				MAX_FAULTS);
			goto out;
		}
	}
	if (resolve("--upstream", cfg->upstream, 0, &p->upstream) < 0)
		goto out;
	p->lfd = bind_listener("--listen", cfg->listen, &p->laddr, &p->laddr_len, &port);
	if (p->lfd < 0)
		goto out;
	if (cfg->control) {
		p->ctl_lfd = bind_listener("--control", cfg->control, &css, &csslen, &ctl_port);
		if (p->ctl_lfd < 0)
			goto out;
	}

	/* SIGTERM and SIGINT are taken only inside ppoll: no race. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	stop_signal = 0;

	log_schedule(p);
	p->t0 = mono_us();
	update_now(p);
	log_head(p, "listening");
	fprintf(stderr, ",\"listen\":%u,\"upstream\":\"%s\"", (unsigned)port, cfg->upstream);
	if (cfg->control)
		fprintf(stderr, ",\"control\":%u", (unsigned)ctl_port);
	fputs("}\n", stderr);
	fflush(stderr);
	if (cfg->port_file && write_port_file(cfg->port_file, port, !!cfg->control, ctl_port) < 0) {
		fprintf(stderr, "vellum chaos proxy: cannot write %s (%s)\n", cfg->port_file,
			strerror(errno));
	} else {
		sigset_t waitmask = oldmask;
		sigdelset(&waitmask, SIGINT);
		sigdelset(&waitmask, SIGTERM);
		rc = run_loop(p, &waitmask);
		update_now(p);
		log_head(p, "stop");
		fprintf(stderr, ",\"signal\":%d,\"connections_total\":%" PRIu64
			",\"bytes_up\":%" PRIu64 ",\"bytes_down\":%" PRIu64
			",\"bytes_discarded\":%" PRIu64 ",\"faults_applied\":%" PRIu64 "}\n",
			(int)stop_signal, p->n_total, p->bytes_up, p->bytes_down,
			p->bytes_discarded, p->faults_applied);
	}
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
out:
	for (struct conn *c = p->conns; c; c = c->next)
		conn_close(p, c, 0, 0);
	sweep(p);
	for (int i = 0; i < MAX_CONTROL; i++)
		if (p->ctl[i].fd >= 0)
			close(p->ctl[i].fd);
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->ctl_lfd >= 0)
		close(p->ctl_lfd);
	if (p->upstream)
		freeaddrinfo(p->upstream);
	free(p);
	return rc;
}
