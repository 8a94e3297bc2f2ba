/*
 * httpd.h — vellum's own HTTP/1.1 server: a few epoll event loops, each
 * owning its connections, with keep-alive, pipelining, Content-Length and
 * chunked request bodies, Expect: 100-continue, TLS (OpenSSL), limits on
 * header size, connections and idle time, and requests that can be
 * suspended while their events are committed and resumed from any thread.
 *
 * It replaces a general-purpose library on ingest's hot path: a single
 * event request costs one recv and one send here, and the answers of a
 * whole group commit wake each loop once (one eventfd write per loop per
 * commit, not one per request).
 *
 * The handler is called, on the connection's loop thread:
 *   1. once the headers are in:                    data NULL, *len 0;
 *   2. for each piece of body:                     data, *len (set *len = 0);
 *   3. once the body is complete (or there is none): data NULL, *len 0;
 *   4. after vh_resume, once more:                 data NULL, *len 0.
 * It answers with vh_respond (at most once per request), may call
 * vh_suspend from steps 1-4, and returns 0, or -1 to close the connection
 * at once.  After an answer, further body bytes are not delivered: the
 * connection closes once the answer is sent.  `done` runs once per request
 * whose handler ran, when the answer was sent or the connection was lost.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_HTTPD_H
#define VS_HTTPD_H

#include <stddef.h>
#include <stdint.h>

typedef struct vh_server vh_server;
typedef struct vh_conn vh_conn;

typedef struct vh_handlers {
	void *ctx;
	int (*handle)(void *ctx, vh_conn *c, const char *path, const char *method,
	              const char *data, size_t *len, void **req);
	void (*done)(void *ctx, vh_conn *c, void **req);
	/* Answer an error found by the server itself (400 malformed request,
	 * 408 too slow, 413, 431 headers too large, 501, 505) with
	 * vh_respond.  If the handler ran for this request, `done` follows as
	 * usual. */
	void (*reject)(void *ctx, vh_conn *c, unsigned status, const char *message);
	/* A line for the debug log. */
	void (*log)(void *ctx, const char *message);
} vh_handlers;

typedef struct vh_options {
	int listen_fd;               /* bound and listening */
	unsigned threads;            /* event loops (>= 1) */
	unsigned max_connections;
	size_t max_header_bytes;     /* request line and headers */
	uint64_t idle_timeout_ms;    /* keep-alive connection with no request */
	uint64_t request_timeout_ms; /* headers and body of one request */
	const char *tls_cert;        /* PEM files, or NULL for plain HTTP */
	const char *tls_key;
} vh_options;

/* Start the loops.  Returns NULL with ERR filled when it cannot. */
vh_server *vh_start(const vh_options *opt, const vh_handlers *h, char *err, size_t errcap);
/* Stop accepting connections (the listening socket is closed). */
void vh_quiesce(vh_server *s);
/* Stop the loops and close every connection. */
void vh_stop(vh_server *s);

enum { VH_HEADER, VH_ARG };
/* A request header (case-insensitive name) or query argument (decoded);
 * NULL if absent.  Valid until the request is done. */
const char *vh_lookup(vh_conn *c, int kind, const char *name);

/* Queue the answer.  BODY (malloc'ed, may be NULL when LEN is 0) is owned
 * and freed by the server.  CACHE (Cache-Control) and the extra header
 * H1: V1 may be NULL.  Returns 0, or -1 if the request already has one. */
int vh_respond(vh_conn *c, unsigned status, const char *content_type, char *body, size_t len,
               const char *cache, const char *h1, const char *v1);

/* Suspend the request (no calls, no timeouts) until vh_resume, which may
 * be called from any thread. */
void vh_suspend(vh_conn *c);
void vh_resume(vh_conn *c);

/* The reason phrase of a status code. */
const char *vh_reason(unsigned status);

#endif
