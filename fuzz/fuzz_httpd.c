/*
 * fuzz_httpd.c — libFuzzer driver for the HTTP/1.1 server
 * (src/server/httpd.c), over a real loopback connection.
 *
 * At start-up one server runs (one event loop, max_header_bytes 2048,
 * request and idle timeouts of 2 s) with a small handler: GET and HEAD are
 * answered 200 at once (body "ok\n"); other methods read their body and
 * are answered 200 at its end with "len=N\n"; "/suspend" suspends at the
 * end call and resumes itself at once (vh_resume right after vh_suspend);
 * "/suspend-early" does the same at the first call and is answered at the
 * end call, which still comes after the resumed one; "/early" is answered
 * 413 at the first call, its body unread; "/fail" closes the connection.  Errors found by the server get a small JSON body
 * from the reject callback.
 *
 * Each input is sent whole on a new connection, which is then shut down
 * for writing, and everything the server sends is read until EOF.  Besides
 * "no crash, no leak, no sanitizer report":
 *   - the server closes the connection within 5 s (the client has said all
 *     it will: waiting longer is a hang);
 *   - what it sent is a sequence of whole responses, each "HTTP/1.1 " and a
 *     status the server can produce with this handler (100, 200, 400, 408,
 *     413, 431, 501, 505) — a 100 is exactly "HTTP/1.1 100 Continue" and a
 *     blank line; a final one has a Content-Length and exactly that many
 *     body bytes, none after HEAD (the handler marks HEAD answers with
 *     "X-Method: HEAD");
 *   - nothing follows an answer with "Connection: close";
 *   - there are no more final answers than requests the input can hold:
 *     every request but the last needs a header block, so two LFs of its
 *     own (finals <= LFs / 2 + 1), and no more 100s than final answers
 *     (plus one, for a body cut short);
 *   - a body length reported by the handler is at most the input's size.
 * Only when the server reset the connection (the "/fail" path, which
 * closes with input unread) may the last response be cut short.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

#include "httpd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEADLINE_MS 5000

static int port;
/* The current request is HEAD (set by the handler, cleared by done; one
 * connection at a time, on the server's only loop thread). */
static int cur_head;

struct req {
	size_t len;
	int suspended; /* 1 suspended; 2 after the resumed call of /suspend-early */
};

static int respond_text(vh_conn *c, unsigned status, const char *text, int head)
{
	char *body = strdup(text);
	if (!body)
		return -1;
	vh_respond(c, status, "text/plain", body, strlen(body), NULL, head ? "X-Method" : NULL,
	           head ? "HEAD" : NULL);
	return 0;
}

static int handle(void *ctx, vh_conn *c, const char *path, const char *method, const char *data,
                  size_t *len, void **reqp)
{
	(void)ctx;
	struct req *r = *reqp;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return -1;
		*reqp = r;
		cur_head = strcmp(method, "HEAD") == 0;
		if (strcmp(path, "/early") == 0)
			return respond_text(c, 413, "{\"error\":\"too large\"}\n", cur_head);
		if (strcmp(path, "/fail") == 0)
			return -1;
		if (strcmp(path, "/suspend-early") == 0) {
			r->suspended = 1;
			vh_suspend(c);
			vh_resume(c);
			return 0;
		}
		if ((strcmp(method, "GET") == 0 || cur_head) && strcmp(path, "/suspend") != 0)
			return respond_text(c, 200, "ok\n", cur_head);
		return 0;
	}
	if (data) {
		r->len += *len;
		*len = 0;
		return 0;
	}
	if (strcmp(path, "/suspend-early") == 0 && r->suspended == 1) {
		r->suspended = 2; /* the resumed call: the end call answers */
		return 0;
	}
	if (strcmp(path, "/suspend") == 0 && !r->suspended) {
		r->suspended = 1;
		vh_suspend(c);
		vh_resume(c); /* from the handler itself: allowed */
		return 0;
	}
	char text[48];
	snprintf(text, sizeof text, "len=%zu\n", r->len);
	return respond_text(c, 200, text, cur_head);
}

static void done(void *ctx, vh_conn *c, void **reqp)
{
	(void)ctx;
	(void)c;
	free(*reqp);
	*reqp = NULL;
	cur_head = 0;
}

static void reject(void *ctx, vh_conn *c, unsigned status, const char *message)
{
	(void)ctx;
	char *body = NULL;
	int n = asprintf(&body, "{\"error\":{\"status\":%u,\"message\":\"%s\"}}\n", status, message);
	if (n < 0)
		return;
	vh_respond(c, status, "application/json", body, (size_t)n, "no-store",
	           cur_head ? "X-Method" : NULL, cur_head ? "HEAD" : NULL);
}

static void quiet(void *ctx, const char *message)
{
	(void)ctx;
	(void)message;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		perror("fuzz_httpd: listen");
		abort();
	}
	port = ntohs(a.sin_port);
	vh_options opt = {
		.listen_fd = fd,
		.threads = 1,
		.max_connections = 64,
		.max_header_bytes = 2048,
		.idle_timeout_ms = 2000,
		.request_timeout_ms = 2000,
	};
	vh_handlers h = {NULL, handle, done, reject, quiet};
	char err[256];
	/* Runs until the process exits. */
	if (!vh_start(&opt, &h, err, sizeof err)) {
		fprintf(stderr, "fuzz_httpd: vh_start: %s\n", err);
		abort();
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(const char *what, const char *out, size_t n, size_t at)
{
	fprintf(stderr, "fuzz_httpd: %s (at byte %zu of %zu of the output)\n%.*s\n", what, at, n,
	        (int)(n - at > 600 ? 600 : n - at), out + at);
	abort();
}

/* The value of header NAME (with ": ") in HEAD, or NULL. */
static const char *header(const char *head, size_t hl, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = memchr(head, '\n', hl); p; p = memchr(p, '\n', (size_t)(head + hl - p))) {
		p++;
		if ((size_t)(head + hl - p) > nl && strncasecmp(p, name, nl) == 0)
			return p + nl;
	}
	return NULL;
}

/* Check the whole output against the invariants (see the top). */
static void check_output(const uint8_t *in, size_t size, const char *out, size_t n, int reset)
{
	size_t lfs = 0;
	for (size_t i = 0; i < size; i++)
		lfs += in[i] == '\n';
	size_t pos = 0, finals = 0, continues = 0;
	int closed = 0;
	while (pos < n) {
		if (closed)
			fail("bytes after an answer with Connection: close", out, n, pos);
		const char *p = out + pos;
		size_t left = n - pos;
		const char *e = memmem(p, left, "\r\n\r\n", 4);
		if (!e) {
			if (reset)
				return;
			fail("a response cut short", out, n, pos);
		}
		size_t hl = (size_t)(e + 4 - p);
		if (hl < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[12] != ' ')
			fail("not an HTTP/1.1 status line", out, n, pos);
		unsigned status = 0;
		for (int i = 9; i < 12; i++) {
			if (p[i] < '0' || p[i] > '9')
				fail("not a 3-digit status", out, n, pos);
			status = status * 10 + (unsigned)(p[i] - '0');
		}
		switch (status) {
		case 100: case 200: case 400: case 408: case 413: case 431: case 501: case 505:
			break;
		default:
			fail("a status this server cannot produce", out, n, pos);
		}
		if (status == 100) {
			if (hl != 25 || memcmp(p, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
				fail("a malformed 100 Continue", out, n, pos);
			continues++;
			pos += hl;
			continue;
		}
		finals++;
		const char *cl = header(p, hl, "Content-Length: ");
		if (!cl)
			fail("a final answer without Content-Length", out, n, pos);
		char *end;
		unsigned long long blen = strtoull(cl, &end, 10);
		if (end == cl || *end != '\r')
			fail("a malformed Content-Length", out, n, pos);
		const char *method = header(p, hl, "X-Method: ");
		int head = method && strncmp(method, "HEAD\r", 5) == 0;
		closed = header(p, hl, "Connection: close\r") != NULL;
		size_t body = head ? 0 : (size_t)blen;
		if (body > left - hl) {
			if (reset)
				return;
			fail("a body cut short", out, n, pos);
		}
		if (status == 200 && !head) {
			const char *b = p + hl;
			unsigned long long got;
			if (body == 3 && memcmp(b, "ok\n", 3) == 0) {
				/* a GET */
			} else if (body > 5 && body < 40 && memcmp(b, "len=", 4) == 0 &&
			           b[body - 1] == '\n' && sscanf(b, "len=%llu", &got) == 1) {
				if (got > size)
					fail("a body longer than the input", out, n, pos);
			} else {
				fail("a 200 answer whose body the handler did not write", out, n, pos);
			}
		}
		pos += hl + body;
	}
	if (finals > lfs / 2 + 1)
		fail("more answers than the input has requests", out, n, 0);
	if (continues > finals + 1)
		fail("more 100 Continue than requests", out, n, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* Non-blocking from the start: libFuzzer's SIGALRM (-timeout) must not
	 * interrupt a blocking connect. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno, err = 0;
		socklen_t el = sizeof err;
		struct pollfd p = {fd, POLLOUT, 0};
		while ((e == EINPROGRESS || e == EINTR) && poll(&p, 1, DEADLINE_MS) < 0 && errno == EINTR)
			;
		if ((e != EINPROGRESS && e != EINTR) || !(p.revents & POLLOUT) ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			fprintf(stderr, "fuzz_httpd: connect: %s\n", strerror(err ? err : e));
			abort();
		}
	}
	size_t cap = 65536, n = 0, sent = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	int wr_open = 1, reset = 0;
	if (size == 0) {
		shutdown(fd, SHUT_WR);
		wr_open = 0;
	}
	int64_t deadline = now_ms() + DEADLINE_MS;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			fprintf(stderr, "fuzz_httpd: the server did not close the connection within %d ms"
			                " (sent %zu of %zu bytes, got %zu)\n",
			        DEADLINE_MS, sent, size, n);
			abort();
		}
		struct pollfd p = {fd, (short)(POLLIN | (wr_open ? POLLOUT : 0)), 0};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			abort();
		if (wr_open && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == size) {
				shutdown(fd, SHUT_WR); /* the server may have closed already */
				wr_open = 0;
			}
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			if (n == cap) {
				cap *= 2;
				char *b = realloc(out, cap);
				if (!b)
					abort();
				out = b;
			}
			ssize_t r = recv(fd, out + n, cap - n, 0);
			if (r > 0) {
				n += (size_t)r;
			} else if (r == 0) {
				break;
			} else if (errno != EAGAIN && errno != EINTR) {
				reset = 1; /* ECONNRESET: the server closed with input unread */
				break;
			}
		}
	}
	/* No TIME_WAIT left behind: thousands of connections a second. */
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	check_output(data, size, out, n, reset);
	free(out);
	return 0;
}
