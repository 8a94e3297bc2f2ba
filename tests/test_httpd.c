/*
 * test_httpd.c — vellum's own HTTP/1.1 server (src/server/httpd.c) over
 * raw sockets on 127.0.0.1: keep-alive, pipelining, Content-Length and
 * chunked bodies split at awkward places, Expect: 100-continue, HEAD,
 * HTTP/1.0 and Connection: close, percent-decoding, every error the server
 * answers itself (400, 408, 413 from the handler before the body, 431, 501,
 * 505), idle and request timeouts, the connection limit, suspended requests
 * resumed from another thread under load, and stopping with connections
 * open (every request whose handler ran is `done` exactly once).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each test starts its own server (2 event loops unless it says otherwise)
 * on an ephemeral port.  Timeouts are long (5 s) except in the tests of the
 * timeouts themselves, so a loaded machine does not turn into failures;
 * clients wait for answers with a read timeout, never with fixed sleeps.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "httpd.h"

#define READ_TIMEOUT_MS 5000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a, the body checksum both sides compute. */
static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}
#define FNV_INIT 2166136261u

/* ------------------------------------------------------------ the handler */

#define MAX_QUEUE 4096

struct ctx {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned starts, dones; /* requests whose handler ran; done calls */
	unsigned rejects[600];  /* by status */
	unsigned logs;
	pthread_t loops_seen[8]; /* threads the handler ran on */
	unsigned n_loops_seen;
	unsigned blocked; /* /block is in the handler */
	int release;      /* let it go */
	/* Suspended requests waiting for the resumer thread. */
	vh_conn *queue[MAX_QUEUE];
	size_t nq;
	int quit;
	pthread_t resumer;
};

struct req {
	size_t len;
	uint32_t sum;
	unsigned pieces;
	int phase;
};

static void queue_resume(struct ctx *x, vh_conn *c)
{
	pthread_mutex_lock(&x->mu);
	if (x->nq < MAX_QUEUE)
		x->queue[x->nq++] = c;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* Resumes whatever is queued, newest first (the server must still answer
 * each request on its own connection). */
static void *resumer_main(void *arg)
{
	struct ctx *x = arg;
	vh_conn *batch[MAX_QUEUE];
	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (x->nq == 0 && !x->quit)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->quit)
			break;
		size_t n = x->nq;
		memcpy(batch, x->queue, n * sizeof batch[0]);
		x->nq = 0;
		pthread_mutex_unlock(&x->mu);
		for (size_t i = n; i-- > 0;)
			vh_resume(batch[i]);
		pthread_mutex_lock(&x->mu);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

static int answer(vh_conn *c, unsigned status, const char *method, const char *path,
                  const struct req *r)
{
	const char *q = vh_lookup(c, VH_ARG, "q"), *h = vh_lookup(c, VH_HEADER, "x-test");
	char *body = NULL;
	int n = asprintf(&body, "method=%s path=%s q=%s h=%s len=%zu sum=%08x\n", method, path,
	                 q ? q : "-", h ? h : "-", r->len, r->sum);
	if (n < 0)
		return -1;
	vh_respond(c, status, "text/plain", body, (size_t)n, "no-store", "X-Handler", "test");
	return 0;
}

/*
 * GET and HEAD are answered at the first call; other methods at the end
 * call, with the body's length and checksum.  Special paths:
 *   /early          413 at the first call, the body unread
 *   /fail           returns -1 (close the connection)
 *   /suspend        suspends at the end call; answered on the resumed call
 *   /suspend-early  suspends at the first call; answered at the end call,
 *                   which must still come after the resumed call
 *   /hold           suspends at the first call and is never resumed
 *   /block          blocks the loop thread until the test releases it
 */
static int handle(void *ctx, vh_conn *c, const char *path, const char *method,
                  const char *data, size_t *len, void **reqp)
{
	struct ctx *x = ctx;
	struct req *r = *reqp;
	if (!r) {
		if (data || *len)
			return -1; /* the first call has no data */
		r = calloc(1, sizeof *r);
		if (!r)
			return -1;
		r->sum = FNV_INIT;
		*reqp = r;
		pthread_mutex_lock(&x->mu);
		x->starts++;
		unsigned k = 0;
		while (k < x->n_loops_seen && !pthread_equal(x->loops_seen[k], pthread_self()))
			k++;
		if (k == x->n_loops_seen && k < 8)
			x->loops_seen[x->n_loops_seen++] = pthread_self();
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
		if (strcmp(path, "/early") == 0) {
			char *body = strdup("{\"error\":{\"status\":413,\"code\":\"body_too_large\"}}\n");
			vh_respond(c, 413, "application/json", body, body ? strlen(body) : 0, NULL, NULL,
			           NULL);
			return 0;
		}
		if (strcmp(path, "/fail") == 0)
			return -1;
		if (strcmp(path, "/block") == 0) {
			pthread_mutex_lock(&x->mu);
			x->blocked++;
			pthread_cond_broadcast(&x->cv);
			while (!x->release)
				pthread_cond_wait(&x->cv, &x->mu);
			pthread_mutex_unlock(&x->mu);
			return answer(c, 200, method, path, r);
		}
		if (strcmp(path, "/hold") == 0) {
			vh_suspend(c);
			return 0;
		}
		if (strcmp(path, "/suspend-early") == 0) {
			r->phase = 1;
			vh_suspend(c);
			queue_resume(x, c);
			return 0;
		}
		if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
		    strncmp(path, "/suspend", 8) != 0)
			return answer(c, 200, method, path, r);
		return 0;
	}
	if (data) {
		r->len += *len;
		r->sum = fnv(r->sum, data, *len);
		r->pieces++;
		*len = 0;
		return 0;
	}
	if (strcmp(path, "/suspend-early") == 0) {
		if (r->phase == 1) { /* the resumed call; the end call is still to come */
			r->phase = 2;
			return 0;
		}
	} else if (strcmp(path, "/suspend") == 0 && r->phase == 0) {
		r->phase = 1;
		vh_suspend(c);
		queue_resume(x, c);
		return 0;
	}
	return answer(c, 200, method, path, r);
}

static void done(void *ctx, vh_conn *c, void **reqp)
{
	(void)c;
	struct ctx *x = ctx;
	free(*reqp);
	*reqp = NULL;
	pthread_mutex_lock(&x->mu);
	x->dones++;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* As the real server does: a small JSON body. */
static void reject(void *ctx, vh_conn *c, unsigned status, const char *message)
{
	struct ctx *x = ctx;
	pthread_mutex_lock(&x->mu);
	if (status < 600)
		x->rejects[status]++;
	pthread_mutex_unlock(&x->mu);
	char *body = NULL;
	int n = asprintf(&body, "{\"error\":{\"status\":%u,\"message\":\"%s\"}}\n", status, message);
	if (n < 0)
		return;
	vh_respond(c, status, "application/json", body, (size_t)n, "no-store", NULL, NULL);
}

static void logline(void *ctx, const char *message)
{
	struct ctx *x = ctx;
	pthread_mutex_lock(&x->mu);
	x->logs++;
	pthread_mutex_unlock(&x->mu);
	if (getenv("VL_VERBOSE"))
		fprintf(stderr, "httpd: %s\n", message);
}

/* ------------------------------------------------------------ the server */

struct srv {
	vh_server *s;
	int port;
	struct ctx x;
};

struct srv_opts {
	unsigned threads, max_connections;
	size_t max_header_bytes;
	uint64_t idle_ms, request_ms;
};

static const struct srv_opts DEFAULTS = {2, 1000, 1024, 5000, 5000};

static struct srv *srv_start(const struct srv_opts *o)
{
	struct srv *v = calloc(1, sizeof *v);
	assert_non_null(v);
	pthread_mutex_init(&v->x.mu, NULL);
	pthread_cond_init(&v->x.cv, NULL);
	assert_int_equal(pthread_create(&v->x.resumer, NULL, resumer_main, &v->x), 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 256), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	v->port = ntohs(a.sin_port);
	vh_options opt = {
		.listen_fd = fd,
		.threads = o->threads,
		.max_connections = o->max_connections,
		.max_header_bytes = o->max_header_bytes,
		.idle_timeout_ms = o->idle_ms,
		.request_timeout_ms = o->request_ms,
	};
	vh_handlers h = {&v->x, handle, done, reject, logline};
	char err[256] = "";
	v->s = vh_start(&opt, &h, err, sizeof err);
	if (!v->s)
		fail_msg("vh_start: %s", err);
	return v;
}

static void resumer_stop(struct srv *v)
{
	pthread_mutex_lock(&v->x.mu);
	v->x.quit = 1;
	pthread_cond_broadcast(&v->x.cv);
	pthread_mutex_unlock(&v->x.mu);
	pthread_join(v->x.resumer, NULL);
}

/* Stop it; every request whose handler ran was done exactly once. */
static void srv_stop(struct srv *v)
{
	resumer_stop(v);
	vh_stop(v->s); /* also closes the listening socket */
	assert_int_equal(v->x.starts, v->x.dones);
	pthread_cond_destroy(&v->x.cv);
	pthread_mutex_destroy(&v->x.mu);
	free(v);
}

/* Wait (5 s at most) until the counter reaches want; its value. */
static unsigned wait_count(struct srv *v, const unsigned *counter, unsigned want)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&v->x.mu);
	while (*counter < want && pthread_cond_timedwait(&v->x.cv, &v->x.mu, &until) == 0)
		;
	unsigned got = *counter;
	pthread_mutex_unlock(&v->x.mu);
	return got;
}

static unsigned rejects(struct srv *v, unsigned status)
{
	pthread_mutex_lock(&v->x.mu);
	unsigned n = v->x.rejects[status];
	pthread_mutex_unlock(&v->x.mu);
	return n;
}

/* ------------------------------------------------------------ clients */

struct cl {
	int fd;
	size_t len;
	char buf[1 << 16];
};

struct resp {
	int status;
	char head[2048];
	long clen;
	int conn_close;
	char body[8192];
	size_t blen;
};

static void set_timeout(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int connect_fd(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	set_timeout(fd, READ_TIMEOUT_MS);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct cl *cl_open(struct srv *v)
{
	struct cl *k = calloc(1, sizeof *k);
	assert_non_null(k);
	k->fd = connect_fd(v->port);
	if (k->fd < 0)
		fail_msg("connect to port %d: %s", v->port, strerror(errno));
	return k;
}

static void cl_close(struct cl *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void cl_send(struct cl *k, const char *s)
{
	if (send_all(k->fd, s, strlen(s)) != 0)
		fail_msg("send: %s", strerror(errno));
}

/* Send S in pieces of at most STEP bytes, pausing a little between them so
 * that the server is likely to read them apart. */
static void cl_send_split(struct cl *k, const char *s, size_t n, size_t step)
{
	for (size_t o = 0; o < n; o += step) {
		size_t m = n - o < step ? n - o : step;
		if (send_all(k->fd, s + o, m) != 0)
			fail_msg("send: %s", strerror(errno));
		usleep(1000);
	}
}

/* Read more: bytes read, 0 at EOF, -1 on error or timeout. */
static ssize_t cl_fill(struct cl *k)
{
	if (k->len == sizeof k->buf)
		return -1;
	for (;;) {
		ssize_t n = recv(k->fd, k->buf + k->len, sizeof k->buf - k->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			k->len += (size_t)n;
		return n;
	}
}

/* Read one response (a 1xx has no body; after HEAD, none either).
 * 0, or -1 if the connection ended or timed out first. */
static int cl_response(struct cl *k, struct resp *r, int head_req)
{
	memset(r, 0, sizeof *r);
	char *e;
	while (!(e = memmem(k->buf, k->len, "\r\n\r\n", 4)))
		if (cl_fill(k) <= 0)
			return -1;
	size_t hl = (size_t)(e + 4 - k->buf);
	if (hl >= sizeof r->head)
		return -1;
	memcpy(r->head, k->buf, hl);
	r->head[hl] = 0;
	if (sscanf(r->head, "HTTP/1.1 %3d ", &r->status) != 1)
		return -1;
	r->clen = -1;
	const char *cl = strcasestr(r->head, "\r\nContent-Length: ");
	if (cl)
		r->clen = strtol(cl + 18, NULL, 10);
	r->conn_close = strcasestr(r->head, "\r\nConnection: close\r\n") != NULL;
	size_t bl = 0;
	if (r->status >= 200 && !head_req) {
		if (r->clen < 0 || (size_t)r->clen >= sizeof r->body)
			return -1;
		bl = (size_t)r->clen;
	}
	while (k->len < hl + bl)
		if (cl_fill(k) <= 0)
			return -1;
	memcpy(r->body, k->buf + hl, bl);
	r->body[bl] = 0;
	r->blen = bl;
	memmove(k->buf, k->buf + hl + bl, k->len - hl - bl);
	k->len -= hl + bl;
	return 0;
}

static void expect_response(struct cl *k, struct resp *r, int head_req, int status)
{
	if (cl_response(k, r, head_req) != 0)
		fail_msg("no complete response (have %zu bytes: \"%.*s\")", k->len, (int)k->len,
		         k->buf);
	if (r->status != status)
		fail_msg("status %d, want %d: %s%s", r->status, status, r->head, r->body);
}

/* Read until EOF: 0 at EOF (nothing else unread), 1 if the connection
 * was reset, -1 on timeout.  Bytes read stay in k->buf. */
static int cl_eof(struct cl *k)
{
	for (;;) {
		ssize_t n = cl_fill(k);
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == ECONNRESET ? 1 : -1;
	}
}

static void expect_eof(struct cl *k)
{
	int rc = cl_eof(k);
	if (rc != 0)
		fail_msg("want EOF, got %s (with %zu more bytes)", rc > 0 ? "a reset" : "a timeout",
		         k->len);
	assert_int_equal(k->len, 0);
}

/* One request on a fresh connection; returns the response in R. */
static void one_request(struct srv *v, const char *req, int status, struct resp *r)
{
	struct cl *k = cl_open(v);
	cl_send(k, req);
	expect_response(k, r, 0, status);
	cl_close(k);
}

static void expect_body_has(const struct resp *r, const char *want)
{
	if (!strstr(r->body, want))
		fail_msg("body \"%s\" lacks \"%s\"", r->body, want);
}

/* ------------------------------------------------------------ tests */

static void test_keep_alive(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	struct resp r;
	cl_send(k, "GET /one?q=1 HTTP/1.1\r\nHost: x\r\nX-Test: first\r\n\r\n");
	expect_response(k, &r, 0, 200);
	assert_string_equal(r.body, "method=GET path=/one q=1 h=first len=0 sum=811c9dc5\n");
	assert_int_equal(r.clen, (long)r.blen);
	assert_false(r.conn_close);
	assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain\r\n"));
	assert_non_null(strstr(r.head, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(r.head, "\r\nX-Handler: test\r\n"));
	assert_non_null(strstr(r.head, "\r\nDate: "));
	/* The same connection, a second request (header names in any case). */
	cl_send(k, "GET /two?q=2 HTTP/1.1\r\nhost: x\r\nx-TEST:   second  \r\n\r\n");
	expect_response(k, &r, 0, 200);
	assert_string_equal(r.body, "method=GET path=/two q=2 h=second len=0 sum=811c9dc5\n");
	assert_false(r.conn_close);
	/* Bare LF line ends are accepted too. */
	cl_send(k, "GET /three HTTP/1.1\nHost: x\n\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/three q=-");
	cl_close(k);
	assert_int_equal(wait_count(v, &v->x.dones, 3), 3);
	srv_stop(v);
}

static void test_pipelining(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	struct resp r;
	/* Three requests in one send: a GET, a POST with a body, a GET. */
	cl_send(k, "GET /a?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	           "POST /b?q=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	           "GET /c?q=3 HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "method=GET path=/a q=1");
	expect_response(k, &r, 0, 200);
	char want[64];
	snprintf(want, sizeof want, "path=/b q=2 h=- len=5 sum=%08x", fnv(FNV_INIT, "hello", 5));
	expect_body_has(&r, want);
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "method=GET path=/c q=3");
	/* And suspended requests pipelined: answered in order too. */
	cl_send(k, "GET /suspend?q=4 HTTP/1.1\r\nHost: x\r\n\r\n"
	           "POST /suspend?q=5 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
	           "GET /d?q=6 HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/suspend q=4");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/suspend q=5 h=- len=2");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/d q=6");
	cl_close(k);
	srv_stop(v);
}

static void test_content_length_split(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	struct resp r;
	static char body[200000];
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (char)(i * 7 + i / 251);
	char head[256];
	snprintf(head, sizeof head, "PUT /upload?q=big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
	         sizeof body);
	/* The head in 7-byte pieces, then the body in pieces of odd sizes,
	 * larger and smaller than the server's read window. */
	cl_send_split(k, head, strlen(head), 7);
	size_t o = 0, steps[] = {1, 2, 3, 1000, 65535, 70001, 17, 4096};
	for (size_t i = 0; o < sizeof body; i++) {
		size_t m = steps[i % 8];
		if (m > sizeof body - o)
			m = sizeof body - o;
		assert_int_equal(send_all(k->fd, body + o, m), 0);
		o += m;
		if (i % 3 == 0)
			usleep(1000);
	}
	expect_response(k, &r, 0, 200);
	char want[128];
	snprintf(want, sizeof want, "method=PUT path=/upload q=big h=- len=%zu sum=%08x\n",
	         sizeof body, fnv(FNV_INIT, body, sizeof body));
	assert_string_equal(r.body, want);
	assert_false(r.conn_close);
	/* Content-Length: 0 is a request without a body, answered at its end. */
	cl_send(k, "POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "method=POST path=/empty q=- h=- len=0 sum=811c9dc5");
	cl_close(k);
	srv_stop(v);
}

/* A chunked body with extensions, leading zeros, bare LF lines and
 * trailers, then a GET on the same connection (so the trailers must have
 * been consumed exactly). */
static const char chunked_req[] =
	"POST /chunk?q=c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5;name=value\r\nhello\r\n"
	"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	"0000a;x=\"quoted;thing\";y\r\n0123456789\r\n"
	"3\n\r\n\r\n"
	"0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n"
	"GET /after?q=z HTTP/1.1\r\nHost: x\r\n\r\n";

static void check_chunked_answers(struct cl *k)
{
	struct resp r;
	const char data[] = "hello" "abcdefghijklmnopqrstuvwxyz" "0123456789" "\r\n\r";
	char want[128];
	snprintf(want, sizeof want, "method=POST path=/chunk q=c h=- len=%zu sum=%08x\n",
	         sizeof data - 1, fnv(FNV_INIT, data, sizeof data - 1));
	expect_response(k, &r, 0, 200);
	assert_string_equal(r.body, want);
	assert_false(r.conn_close);
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "method=GET path=/after q=z");
}

static void test_chunked(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	size_t n = strlen(chunked_req);
	/* Whole, one byte at a time, and cut right after every CR and LF. */
	struct cl *k = cl_open(v);
	cl_send(k, chunked_req);
	check_chunked_answers(k);
	cl_close(k);
	k = cl_open(v);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(send_all(k->fd, chunked_req + i, 1), 0);
	check_chunked_answers(k);
	cl_close(k);
	k = cl_open(v);
	size_t from = 0;
	for (size_t i = 0; i < n; i++)
		if (chunked_req[i] == '\r' || chunked_req[i] == '\n' || chunked_req[i] == ';') {
			assert_int_equal(send_all(k->fd, chunked_req + from, i + 1 - from), 0);
			from = i + 1;
			usleep(500);
		}
	assert_int_equal(send_all(k->fd, chunked_req + from, n - from), 0);
	check_chunked_answers(k);
	cl_close(k);
	/* A large chunked body in chunks across the read window. */
	k = cl_open(v);
	cl_send(k, "POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	static char buf[100000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i % 253);
	uint32_t sum = FNV_INIT;
	size_t total = 0;
	for (size_t size = 1; total + size <= sizeof buf; size = size * 3 + 1) {
		char line[32];
		snprintf(line, sizeof line, "%zx\r\n", size);
		cl_send(k, line);
		assert_int_equal(send_all(k->fd, buf + total, size), 0);
		cl_send(k, "\r\n");
		sum = fnv(sum, buf + total, size);
		total += size;
	}
	cl_send(k, "0\r\n\r\n");
	struct resp r;
	expect_response(k, &r, 0, 200);
	char want[96];
	snprintf(want, sizeof want, "len=%zu sum=%08x", total, sum);
	expect_body_has(&r, want);
	cl_close(k);
	srv_stop(v);
}

static void test_expect_continue(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	struct resp r;
	/* The client waits for the 100 before it sends the body. */
	cl_send(k, "POST /x?q=e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	expect_response(k, &r, 0, 100);
	assert_string_equal(r.head, "HTTP/1.1 100 Continue\r\n\r\n");
	cl_send(k, "abc");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/x q=e h=- len=3");
	/* Chunked, the same. */
	cl_send(k, "POST /y HTTP/1.1\r\nHost: x\r\nexpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n");
	expect_response(k, &r, 0, 100);
	cl_send(k, "2\r\nab\r\n0\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/y q=- h=- len=2");
	/* No body: no 100. */
	cl_send(k, "GET /z HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/z");
	/* Answered at the headers: the final answer, and no 100. */
	cl_send(k, "POST /early HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99\r\n\r\n");
	expect_response(k, &r, 0, 413);
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	/* Other expectations are refused. */
	one_request(v, "POST /x HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 1\r\n\r\nx", 400, &r);
	srv_stop(v);
}

static void test_head(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	struct resp r, g;
	cl_send(k, "GET /h?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &g, 0, 200);
	cl_send(k, "HEAD /h?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &r, 1, 200);
	/* The GET's length, and no body: the next bytes are the next answer. */
	assert_true(g.blen > 0);
	assert_int_equal(r.clen, (long)strlen("method=HEAD path=/h q=1 h=- len=0 sum=811c9dc5\n"));
	assert_false(r.conn_close);
	cl_send(k, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
	while (k->len < 9)
		assert_true(cl_fill(k) > 0);
	assert_memory_equal(k->buf, "HTTP/1.1 ", 9);
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/next");
	cl_close(k);
	srv_stop(v);
}

static void test_http10_and_connection_close(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct resp r;
	/* HTTP/1.0: answered as HTTP/1.1, then closed. */
	struct cl *k = cl_open(v);
	cl_send(k, "GET /old?q=1 HTTP/1.0\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/old q=1");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	/* Connection: close; the request pipelined after it is not answered. */
	k = cl_open(v);
	cl_send(k, "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	           "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/last");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	/* A POST with a body and Connection: close. */
	k = cl_open(v);
	cl_send(k, "POST /p HTTP/1.1\r\nHost: x\r\nConnection: Close\r\nContent-Length: 4\r\n\r\nbody");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "len=4");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	/* HTTP/1.0 with keep-alive stays open. */
	k = cl_open(v);
	cl_send(k, "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	expect_response(k, &r, 0, 200);
	assert_false(r.conn_close);
	cl_send(k, "GET /ka2 HTTP/1.0\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/ka2");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	srv_stop(v);
}

static void test_percent_decoding(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct resp r;
	one_request(v, "GET /a%20b/%C3%A9+c%2fd?q=x+y%26z%3D%2B&other=1&q=second HTTP/1.1\r\nHost: x\r\n\r\n",
	            200, &r);
	/* '+' is a space in the query only; the first q wins. */
	assert_string_equal(r.body, "method=GET path=/a b/\xc3\xa9+c/d q=x y&z=+ h=- len=0 sum=811c9dc5\n");
	one_request(v, "GET /e?flag&q=&x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, &r);
	expect_body_has(&r, "path=/e q= h=");
	srv_stop(v);
}

struct bad {
	const char *req;
	int status;
};

/* REQ on a fresh connection gets STATUS from the reject callback (its JSON
 * body, counted once), then the connection closes. */
static void bad_one(struct srv *v, const char *req, size_t len, int status)
{
	unsigned before = rejects(v, (unsigned)status);
	struct cl *k = cl_open(v);
	struct resp r;
	assert_int_equal(send_all(k->fd, req, len), 0);
	if (cl_response(k, &r, 0) != 0 || r.status != status)
		fail_msg("request \"%.*s\": status %d, want %d", (int)len, req, r.status, status);
	char want[64];
	snprintf(want, sizeof want, "{\"error\":{\"status\":%d,\"message\":\"", status);
	if (strncmp(r.body, want, strlen(want)) != 0)
		fail_msg("request \"%.*s\": body %s", (int)len, req, r.body);
	assert_non_null(strstr(r.head, "\r\nContent-Type: application/json\r\n"));
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	assert_int_equal(rejects(v, (unsigned)status), before + 1);
}

static void test_bad_requests(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	static const struct bad bad[] = {
		{"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /a?q=%G1 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /a?q%=1 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /\r\n\r\n", 400},
		{"GET\r\n\r\n", 400},
		{"GET  / HTTP/1.1\r\n\r\n", 400},
		{"G@T / HTTP/1.1\r\n\r\n", 400},
		{"GET http://x/ HTTP/1.1\r\n\r\n", 400},
		{"GET / FTP/1.1\r\n\r\n", 400},
		{"GET /a\x01 HTTP/1.1\r\n\r\n", 400},
		{"VERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"GET / HTTP/0.9\r\n\r\n", 505},
		{"GET / HTTP/1.1 extra\r\n\r\n", 400},
		{"GET / HTTP/x.y\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 400},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		bad_one(v, bad[i].req, strlen(bad[i].req), bad[i].status);
	/* A NUL anywhere in the head is refused, not taken as its end. */
	static const char nul1[] = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
	static const char nul2[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\0, gzip\r\n\r\n";
	static const char nul3[] = "GET / HTTP/1.1\0junk\r\n\r\n";
	bad_one(v, nul1, sizeof nul1 - 1, 400);
	bad_one(v, nul2, sizeof nul2 - 1, 400);
	bad_one(v, nul3, sizeof nul3 - 1, 400);
	srv_stop(v);
}

static void test_header_too_large(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS); /* max_header_bytes 1024 */
	char req[4096];
	struct resp r;
	/* A complete header block over the limit. */
	int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %01500d\r\n\r\n", 7);
	assert_true(n > 1024);
	struct cl *k = cl_open(v);
	cl_send(k, req);
	expect_response(k, &r, 0, 431);
	expect_body_has(&r, "\"status\":431");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	/* Headers that never end, sent slowly past the limit. */
	k = cl_open(v);
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %01500d", 7);
	int got = 0;
	for (size_t o = 0; o < strlen(req) && !got; o += 100) {
		if (send_all(k->fd, req + o, strlen(req) - o < 100 ? strlen(req) - o : 100) != 0)
			break;
		struct pollfd p = {k->fd, POLLIN, 0};
		got = poll(&p, 1, 1) > 0;
	}
	expect_response(k, &r, 0, 431);
	assert_true(r.conn_close);
	assert_int_equal(cl_eof(k), 0);
	cl_close(k);
	/* Exactly at the limit is fine. */
	const char *head = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
	n = snprintf(req, sizeof req, "%s%0*d\r\n\r\n", head, (int)(1024 - strlen(head) - 4), 1);
	assert_int_equal(n, 1024);
	one_request(v, req, 200, &r);
	/* Too many fields. */
	char *p = req;
	p += sprintf(p, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 101; i++)
		p += sprintf(p, "a:%d\r\n", i % 10);
	sprintf(p, "\r\n");
	assert_true(strlen(req) < 1024);
	one_request(v, req, 431, &r);
	assert_int_equal(rejects(v, 431), 3);
	srv_stop(v);
}

/* /early is answered 413 at the first call; the client keeps sending its
 * 8 MiB body (more than the socket buffers hold, so the server must read
 * and drop it), and must still get the answer (then EOF), not a reset. */
static void test_early_answer(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	int sndbuf = 65536;
	setsockopt(k->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	const size_t total = 8 << 20;
	char head[128];
	snprintf(head, sizeof head, "POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
	         total);
	cl_send(k, head);
	static char chunk[16384];
	memset(chunk, 'z', sizeof chunk);
	size_t sent = 0;
	int reset = 0, send_err = 0;
	int64_t end = now_ms() + 10000;
	int eof = 0; /* the server shut down its side after the answer */
	while (sent < total && now_ms() < end) {
		struct pollfd p = {k->fd, (short)(POLLOUT | (eof ? 0 : POLLIN)), 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLIN) {
			ssize_t n = recv(k->fd, k->buf + k->len, sizeof k->buf - k->len, MSG_DONTWAIT);
			if (n > 0) {
				k->len += (size_t)n;
			} else if (n == 0) {
				eof = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				reset = errno == ECONNRESET;
				break;
			}
		}
		if (p.revents & POLLOUT) {
			size_t m = total - sent < sizeof chunk ? total - sent : sizeof chunk;
			ssize_t n = send(k->fd, chunk, m, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				send_err = errno;
				break;
			}
		}
		if (p.revents & (POLLERR | POLLHUP))
			break;
	}
	/* The server drained the body (no reset while sending it)... */
	if (reset || send_err || sent != total)
		fail_msg("sent %zu of %zu bytes: %s", sent, total,
		         send_err ? strerror(send_err) : reset ? "reset" : "timeout");
	shutdown(k->fd, SHUT_WR);
	/* ...and answered before it: the answer, then EOF (not a reset). */
	struct resp r;
	expect_response(k, &r, 0, 413);
	assert_string_equal(r.body, "{\"error\":{\"status\":413,\"code\":\"body_too_large\"}}\n");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	srv_stop(v);
}

static void test_request_timeout(void **state)
{
	(void)state;
	struct srv_opts o = DEFAULTS;
	o.request_ms = 300;
	struct srv *v = srv_start(&o);
	struct resp r;
	/* Headers that never complete. */
	struct cl *k = cl_open(v);
	int64_t t0 = now_ms();
	cl_send(k, "GET /slow HTTP/1.1\r\nHost: x\r\n");
	expect_response(k, &r, 0, 408);
	int64_t took = now_ms() - t0;
	assert_true(took >= 290);
	expect_body_has(&r, "{\"error\":{\"status\":408,");
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	/* A body that never completes: 408 too, after the handler ran. */
	k = cl_open(v);
	cl_send(k, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
	expect_response(k, &r, 0, 408);
	assert_true(r.conn_close);
	expect_eof(k);
	cl_close(k);
	assert_int_equal(rejects(v, 408), 2);
	assert_int_equal(wait_count(v, &v->x.dones, 1), 1);
	srv_stop(v);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	struct srv_opts o = DEFAULTS;
	o.idle_ms = 500;
	struct srv *v = srv_start(&o);
	struct resp r;
	struct cl *k = cl_open(v);
	cl_send(k, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &r, 0, 200);
	assert_false(r.conn_close);
	int64_t t0 = now_ms();
	expect_eof(k); /* closed without an answer */
	int64_t took = now_ms() - t0;
	if (took < 400 || took > 4000)
		fail_msg("idle connection closed after %lld ms (idle_timeout 500)", (long long)took);
	cl_close(k);
	/* A connection that never sends anything, the same. */
	k = cl_open(v);
	t0 = now_ms();
	expect_eof(k);
	took = now_ms() - t0;
	assert_true(took >= 400 && took < 4000);
	cl_close(k);
	assert_int_equal(rejects(v, 408), 0);
	srv_stop(v);
}

/* A client that sends its request and shuts down its side at once gets
 * the answer and then EOF, long before the idle timeout. */
static void test_half_close(void **state)
{
	(void)state;
	struct srv_opts o = DEFAULTS;
	o.threads = 1;
	o.idle_ms = 4000;
	struct srv *v = srv_start(&o);
	for (int i = 0; i < 5; i++) {
		struct cl *k = cl_open(v);
		int64_t t0 = now_ms();
		cl_send(k, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /suspend?q=2 HTTP/1.1\r\nHost: x\r\n\r\n");
		shutdown(k->fd, SHUT_WR);
		struct resp r;
		expect_response(k, &r, 0, 200);
		expect_response(k, &r, 0, 200);
		expect_body_has(&r, "q=2");
		expect_eof(k);
		int64_t took = now_ms() - t0;
		if (took > 2500)
			fail_msg("EOF after %lld ms: the server missed the client's FIN", (long long)took);
		cl_close(k);
	}
	srv_stop(v);
}

static void test_max_connections(void **state)
{
	(void)state;
	struct srv_opts o = DEFAULTS;
	o.max_connections = 2;
	struct srv *v = srv_start(&o);
	struct resp r;
	struct cl *a = cl_open(v), *b = cl_open(v);
	cl_send(a, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(a, &r, 0, 200);
	cl_send(b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(b, &r, 0, 200);
	/* The third is closed unanswered. */
	struct cl *c = cl_open(v);
	send_all(c->fd, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n", 29);
	assert_true(cl_eof(c) >= 0);
	assert_int_equal(c->len, 0);
	cl_close(c);
	/* The first two still work. */
	cl_send(a, "GET /a2 HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(a, &r, 0, 200);
	/* Once one closes, a new connection is served (the server notices
	 * the close on its own time: retry for a while). */
	cl_close(a);
	int ok = 0;
	for (int64_t end = now_ms() + 5000; !ok && now_ms() < end;) {
		struct cl *d = cl_open(v);
		send_all(d->fd, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n", 29);
		ok = cl_response(d, &r, 0) == 0 && r.status == 200;
		cl_close(d);
		if (!ok)
			usleep(10000);
	}
	assert_true(ok);
	cl_close(b);
	srv_stop(v);
}

/* The handler returning -1 closes the connection without an answer. */
static void test_handler_close(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	cl_send(k, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cl_eof(k) >= 0);
	assert_int_equal(k->len, 0);
	cl_close(k);
	assert_int_equal(wait_count(v, &v->x.dones, 1), 1);
	srv_stop(v);
}

/* Suspended at the first call: the resumed call, then the end call (for a
 * request with and without a body), and the 100 Continue still goes out. */
static void test_suspend_at_headers(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k = cl_open(v);
	struct resp r;
	cl_send(k, "GET /suspend-early?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "path=/suspend-early q=1");
	cl_send(k, "POST /suspend-early?q=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "q=2 h=- len=3");
	cl_send(k, "POST /suspend-early?q=3 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
	           "Content-Length: 4\r\n\r\n");
	expect_response(k, &r, 0, 100);
	cl_send(k, "abcd");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "q=3 h=- len=4");
	/* Suspended at the end call, with 100-continue. */
	cl_send(k, "POST /suspend?q=4 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
	           "Content-Length: 2\r\n\r\n");
	expect_response(k, &r, 0, 100);
	cl_send(k, "hi");
	expect_response(k, &r, 0, 200);
	expect_body_has(&r, "q=4 h=- len=2");
	cl_close(k);
	srv_stop(v);
}

/* Clients that reset their connection right after sending a request that
 * the handler suspends (with a 100 Continue still to send): the server
 * must keep the connection until the resume, not free it under the
 * resumer's feet. */
static void test_reset_while_suspended(void **state)
{
	(void)state;
	struct srv_opts o = DEFAULTS;
	o.threads = 1;
	struct srv *v = srv_start(&o);
	/* Hold the only loop so that the requests and resets are all in
	 * before the server looks at them. */
	struct cl *a = cl_open(v);
	cl_send(a, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(wait_count(v, &v->x.blocked, 1), 1);
	for (int i = 0; i < 8; i++) {
		int fd = connect_fd(v->port);
		assert_true(fd >= 0);
		char req[160];
		int n = snprintf(req, sizeof req, "POST /suspend?q=%d HTTP/1.1\r\nHost: x\r\n"
		                 "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", i);
		assert_int_equal(send_all(fd, req, (size_t)n), 0);
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd); /* a reset */
	}
	pthread_mutex_lock(&v->x.mu);
	v->x.release = 1;
	pthread_cond_broadcast(&v->x.cv);
	pthread_mutex_unlock(&v->x.mu);
	struct resp r;
	expect_response(a, &r, 0, 200);
	expect_body_has(&r, "path=/block");
	/* Every request that ran is done, and the server still serves. */
	cl_send(a, "GET /suspend?q=z HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_response(a, &r, 0, 200);
	expect_body_has(&r, "q=z");
	cl_close(a);
	pthread_mutex_lock(&v->x.mu);
	unsigned starts = v->x.starts;
	pthread_mutex_unlock(&v->x.mu);
	assert_int_equal(wait_count(v, &v->x.dones, starts), starts);
	srv_stop(v);
}

/* ------------------------------------------------- many connections */

#define N_THREADS 5
#define CONNS_PER_THREAD 10
#define ROUNDS 20

struct load {
	struct srv *v;
	int t;
	int failures;
	char why[256];
	unsigned answered;
};

static void load_fail(struct load *l, const char *fmt, ...)
{
	if (l->failures++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->why, sizeof l->why, fmt, ap);
		va_end(ap);
	}
}

static void *load_main(void *arg)
{
	struct load *l = arg;
	struct cl *k[CONNS_PER_THREAD];
	for (int i = 0; i < CONNS_PER_THREAD; i++) {
		k[i] = calloc(1, sizeof *k[i]);
		k[i]->fd = k[i] ? connect_fd(l->v->port) : -1;
		if (!k[i] || k[i]->fd < 0) {
			load_fail(l, "connect failed");
			for (int j = 0; j <= i; j++)
				if (k[j]) {
					if (k[j]->fd >= 0)
						close(k[j]->fd);
					free(k[j]);
				}
			return NULL;
		}
	}
	for (int round = 0; round < ROUNDS && !l->failures; round++) {
		/* A request (two, pipelined, on some rounds) on every connection,
		 * then every answer. */
		for (int i = 0; i < CONNS_PER_THREAD; i++) {
			char req[512];
			int n = 0, two = (round + i) % 4 == 0;
			for (int j = 0; j <= two; j++) {
				if ((round + i + j) % 3 == 0)
					n += snprintf(req + n, sizeof req - (size_t)n,
					              "POST /suspend?q=%d-%d-%d-%d HTTP/1.1\r\nHost: x\r\n"
					              "Content-Length: 6\r\n\r\nbody%02d",
					              l->t, i, round, j, round);
				else
					n += snprintf(req + n, sizeof req - (size_t)n,
					              "GET /suspend?q=%d-%d-%d-%d HTTP/1.1\r\nHost: x\r\n\r\n",
					              l->t, i, round, j);
			}
			if (send_all(k[i]->fd, req, (size_t)n) != 0)
				load_fail(l, "send failed");
		}
		for (int i = 0; i < CONNS_PER_THREAD && !l->failures; i++) {
			int two = (round + i) % 4 == 0;
			for (int j = 0; j <= two; j++) {
				struct resp r;
				char want[64];
				snprintf(want, sizeof want, "path=/suspend q=%d-%d-%d-%d h=- len=%d ", l->t, i,
				         round, j, (round + i + j) % 3 == 0 ? 6 : 0);
				if (cl_response(k[i], &r, 0) != 0)
					load_fail(l, "no answer for %s", want);
				else if (r.status != 200 || !strstr(r.body, want))
					load_fail(l, "answer %d %s for %s", r.status, r.body, want);
				else
					l->answered++;
			}
		}
	}
	for (int i = 0; i < CONNS_PER_THREAD; i++) {
		close(k[i]->fd);
		free(k[i]);
	}
	return NULL;
}

static void test_suspend_many_connections(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	pthread_t th[N_THREADS];
	static struct load l[N_THREADS];
	for (int t = 0; t < N_THREADS; t++) {
		memset(&l[t], 0, sizeof l[t]);
		l[t].v = v;
		l[t].t = t;
		assert_int_equal(pthread_create(&th[t], NULL, load_main, &l[t]), 0);
	}
	unsigned answered = 0;
	for (int t = 0; t < N_THREADS; t++) {
		pthread_join(th[t], NULL);
		if (l[t].failures)
			fail_msg("client thread %d: %d failures; first: %s", t, l[t].failures, l[t].why);
		answered += l[t].answered;
	}
	/* 50 connections x 20 rounds, a quarter of them with two requests. */
	assert_int_equal(answered, N_THREADS * CONNS_PER_THREAD * ROUNDS * 5 / 4);
	assert_int_equal(wait_count(v, &v->x.dones, answered), answered);
	srv_stop(v);
}

/* Connections are spread over the event loops: with two loops, eight
 * connections opened one after another (the kernel tends to wake the same
 * loop for each) are served by both. */
static void test_connections_spread(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k[8];
	struct resp r;
	for (int i = 0; i < 8; i++) {
		k[i] = cl_open(v);
		cl_send(k[i], "GET /spread HTTP/1.1\r\nHost: x\r\n\r\n");
		expect_response(k[i], &r, 0, 200);
	}
	pthread_mutex_lock(&v->x.mu);
	unsigned seen = v->x.n_loops_seen;
	pthread_mutex_unlock(&v->x.mu);
	assert_int_equal(seen, 2);
	for (int i = 0; i < 8; i++)
		cl_close(k[i]);
	srv_stop(v);
}

/* vh_stop with idle, mid-body and suspended connections open: `done` once
 * for every request whose handler ran, and every client sees EOF. */
static void test_stop_with_open_connections(void **state)
{
	(void)state;
	struct srv *v = srv_start(&DEFAULTS);
	struct cl *k[6];
	struct resp r;
	for (int i = 0; i < 3; i++) {
		k[i] = cl_open(v);
		cl_send(k[i], "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n");
		expect_response(k[i], &r, 0, 200);
	}
	assert_int_equal(wait_count(v, &v->x.dones, 3), 3);
	k[3] = cl_open(v);
	cl_send(k[3], "POST /partial HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
	k[4] = cl_open(v);
	cl_send(k[4], "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	k[5] = cl_open(v); /* connected, nothing sent */
	assert_int_equal(wait_count(v, &v->x.starts, 5), 5);
	assert_int_equal(v->x.dones, 3);
	resumer_stop(v);
	vh_stop(v->s);
	assert_int_equal(v->x.starts, 5);
	assert_int_equal(v->x.dones, 5);
	for (int i = 0; i < 6; i++) {
		int rc = cl_eof(k[i]);
		assert_true(rc >= 0);
		assert_int_equal(k[i]->len, 0);
		cl_close(k[i]);
	}
	/* The listening socket is closed too. */
	assert_true(connect_fd(v->port) < 0);
	pthread_cond_destroy(&v->x.cv);
	pthread_mutex_destroy(&v->x.mu);
	free(v);
}

static void test_reason(void **state)
{
	(void)state;
	assert_string_equal(vh_reason(200), "OK");
	assert_string_equal(vh_reason(408), "Request Timeout");
	assert_string_equal(vh_reason(431), "Request Header Fields Too Large");
	assert_string_equal(vh_reason(505), "HTTP Version Not Supported");
	assert_string_equal(vh_reason(299), "OK");
	assert_string_equal(vh_reason(499), "Client Error");
	assert_string_equal(vh_reason(599), "Server Error");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_content_length_split),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_http10_and_connection_close),
		cmocka_unit_test(test_percent_decoding),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_header_too_large),
		cmocka_unit_test(test_early_answer),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_handler_close),
		cmocka_unit_test(test_suspend_at_headers),
		cmocka_unit_test(test_reset_while_suspended),
		cmocka_unit_test(test_suspend_many_connections),
		cmocka_unit_test(test_stop_with_open_connections),
		cmocka_unit_test(test_connections_spread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
