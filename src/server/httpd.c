/*
 * httpd.c — vellum's own HTTP/1.1 server (see httpd.h).
 *
 * Each event loop thread has an epoll set with the shared listening
 * socket (EPOLLEXCLUSIVE: one loop wakes per connection), an eventfd for
 * resumed requests and stop, and its connections, registered edge-triggered
 * for reading and writing once, at accept.  A connection is read until a
 * short read (plain TCP: the socket is drained) or EAGAIN, parsed, and
 * handed to the handler; its answer is sent with one sendmsg (head and
 * body).  While a request is suspended or its answer is being sent, the
 * connection is not read: pipelined requests wait their turn.
 *
 * Request syntax (RFC 9112), as accepted:
 *   request-line = method SP origin-form SP ("HTTP/1.1" / "HTTP/1.0") CRLF
 *   header-field = token ":" OWS value OWS CRLF      (bare LF accepted)
 * with at most max_header_bytes for both and at most VH_MAX_HEADERS
 * fields; a body is framed by Content-Length or Transfer-Encoding: chunked
 * (never both); obsolete line folding is refused.
 *
 * Errors found here are answered through handlers.reject (so they carry
 * the same JSON body as the handler's own): 400 malformed request, 408
 * request not complete within request_timeout, 431 headers too large,
 * 501 unknown transfer coding, 505 other HTTP versions.  An answer sent
 * before the request's body was read closes the connection: the server
 * shuts down its side, reads and drops what the client still sends for up
 * to VH_LINGER_MS (so the client sees the answer, not a reset), and closes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define VH_MAX_HEADERS 100
#define VH_MAX_ARGS 32
#define VH_BODY_WINDOW (64 * 1024)   /* bytes read at once past the headers */
#define VH_LINGER_MS 2000
#define VH_SWEEP_MS 200
#define VH_MAX_LOOPS 16
#define VH_CHUNK_LINE_MAX 256

enum conn_state {
	C_IDLE,    /* between requests */
	C_HEADERS, /* part of a request's headers is in */
	C_BODY,    /* delivering the body */
	C_WAIT,    /* body complete, waiting for the answer */
	C_LINGER,  /* answered and shut down for writing: drain, then close */
};

enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

struct loop;

struct vh_conn {
	vh_server *srv;
	struct loop *lp;
	int fd;
	SSL *ssl;
	struct vh_conn *prev, *next;  /* the loop's connections */
	struct vh_conn *next_resume;  /* the loop's resume list */
	enum conn_state state;
	int readable;                 /* may have bytes we have not read */
	int closed_by_peer;
	int peer_shut;                /* EPOLLRDHUP/HUP seen: read until EOF */
	int dead;                     /* lost while suspended: close on resume */
	int gone;                     /* closed; freed after this round of events */
	int suspended;
	uint64_t started_ms, last_ms;
	/* Input: bytes read and not yet consumed. */
	char *in;
	size_t in_len, in_cap;
	/* The current request. */
	char *hdr;                    /* a copy of its header block, parsed in place */
	char method[16];
	const char *path;
	const char *hname[VH_MAX_HEADERS], *hval[VH_MAX_HEADERS];
	unsigned n_headers;
	const char *aname[VH_MAX_ARGS], *aval[VH_MAX_ARGS];
	unsigned n_args;
	int keep_alive, is_head, expect_continue;
	int has_body, chunked, body_done;
	uint64_t remaining;           /* Content-Length left, or the chunk's */
	enum chunk_state chunk;
	int handler_ran, answered, closing;
	int end_called;               /* step 3 was made */
	void *req;
	/* Output: head bytes (possibly an interim 100 first), then body. */
	char *out;
	size_t out_len, out_off, out_cap;
	char *body;
	size_t body_len, body_off;
	int final_queued;             /* the output holds the final answer */
};

struct loop {
	vh_server *srv;
	int ep, efd;
	pthread_t thread;
	pthread_mutex_t mu;
	vh_conn *resumes;             /* under mu */
	vh_conn *adopt;               /* under mu: accepted by another loop for us */
	_Atomic unsigned n_conns;     /* connections this loop owns */
	vh_conn *conns;
	vh_conn *graveyard;           /* closed this round, freed after it */
	time_t date_t;
	char date[40];
};

struct vh_server {
	vh_options opt;
	vh_handlers h;
	SSL_CTX *tls;
	int listen_fd;
	char listen_marker;
	struct loop loops[VH_MAX_LOOPS];
	unsigned n_loops;
	_Atomic unsigned n_conns;
	_Atomic int stopping;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *vh_reason(unsigned status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

static void debug(vh_server *s, const char *msg)
{
	if (s->h.log)
		s->h.log(s->h.ctx, msg);
}

/* ------------------------------------------------------------------ */
/* Connections.                                                        */

static void reset_request(vh_conn *c)
{
	c->state = C_IDLE;
	c->path = NULL;
	c->n_headers = c->n_args = 0;
	c->keep_alive = c->is_head = c->expect_continue = 0;
	c->has_body = c->chunked = c->body_done = 0;
	c->remaining = 0;
	c->chunk = CH_SIZE;
	c->handler_ran = c->answered = c->closing = c->end_called = 0;
	c->req = NULL;
	c->out_len = c->out_off = 0;
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_off = 0;
	c->final_queued = 0;
}

static void finish_request(vh_conn *c)
{
	if (c->handler_ran && c->srv->h.done)
		c->srv->h.done(c->srv->h.ctx, c, &c->req);
	c->handler_ran = 0;
}

static void close_conn(vh_conn *c)
{
	finish_request(c);
	struct loop *lp = c->lp;
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd); /* also removes it from the epoll set */
	c->gone = 1;
	atomic_fetch_sub(&lp->n_conns, 1);
	/* Later events of this round may still name it: free it after. */
	c->next = lp->graveyard;
	lp->graveyard = c;
	atomic_fetch_sub(&lp->srv->n_conns, 1);
}

static void bury(struct loop *lp)
{
	while (lp->graveyard) {
		vh_conn *c = lp->graveyard;
		lp->graveyard = c->next;
		free(c->in);
		free(c->hdr);
		free(c->out);
		free(c->body);
		free(c);
	}
}

/* Read into c->in.  Returns bytes read, 0 when nothing is available now,
 * -1 when the connection is finished (EOF or error). */
static ssize_t conn_read(vh_conn *c, char *buf, size_t cap)
{
	if (c->ssl) {
		ERR_clear_error();
		int n = SSL_read(c->ssl, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));
		if (n > 0)
			return n;
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			c->readable = 0;
			return 0;
		}
		c->closed_by_peer = 1;
		return -1;
	}
	ssize_t n = recv(c->fd, buf, cap, 0);
	if (n > 0) {
		/* A short read drained the socket (edge-triggered), unless the
		 * peer's FIN came with the data: its edge is spent, so read on
		 * until recv says EOF. */
		if ((size_t)n < cap && !c->peer_shut)
			c->readable = 0;
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = 0;
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	c->closed_by_peer = 1;
	return -1;
}

/* Send what is queued.  Returns 1 when everything is sent, 0 when the
 * socket is full, -1 on error. */
static int flush_out(vh_conn *c)
{
	while (c->out_off < c->out_len || c->body_off < c->body_len) {
		if (c->ssl) {
			const char *p;
			size_t len;
			if (c->out_off < c->out_len) {
				p = c->out + c->out_off;
				len = c->out_len - c->out_off;
			} else {
				p = c->body + c->body_off;
				len = c->body_len - c->body_off;
			}
			ERR_clear_error();
			int n = SSL_write(c->ssl, p, (int)(len > INT32_MAX ? INT32_MAX : len));
			if (n <= 0) {
				int e = SSL_get_error(c->ssl, n);
				return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? 0 : -1;
			}
			if (c->out_off < c->out_len)
				c->out_off += (size_t)n;
			else
				c->body_off += (size_t)n;
			continue;
		}
		struct iovec iov[2];
		int k = 0;
		if (c->out_off < c->out_len)
			iov[k++] = (struct iovec){c->out + c->out_off, c->out_len - c->out_off};
		if (c->body_off < c->body_len)
			iov[k++] = (struct iovec){c->body + c->body_off, c->body_len - c->body_off};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_t m = (size_t)n, head = c->out_len - c->out_off;
		if (m <= head) {
			c->out_off += m;
		} else {
			c->out_off = c->out_len;
			c->body_off += m - head;
		}
	}
	return 1;
}

static int out_append(vh_conn *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 512;
		while (cap < c->out_len + n)
			cap *= 2;
		char *b = realloc(c->out, cap);
		if (!b)
			return -1;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

#define OUT_LIT(c, s) out_append((c), (s), sizeof(s) - 1)
static int out_str(vh_conn *c, const char *s) { return out_append(c, s, strlen(s)); }

static int out_u64(vh_conn *c, uint64_t v)
{
	char d[24];
	int n = 0;
	do
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return out_append(c, d + sizeof d - n, (size_t)n);
}

static const char *http_date(struct loop *lp)
{
	time_t t = time(NULL);
	if (t != lp->date_t) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(lp->date, sizeof lp->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		lp->date_t = t;
	}
	return lp->date;
}

int vh_respond(vh_conn *c, unsigned status, const char *content_type, char *body, size_t len,
               const char *cache, const char *h1, const char *v1)
{
	if (c->answered) {
		free(body);
		return -1;
	}
	c->answered = 1;
	/* The connection closes after this answer unless the request was read
	 * whole and the client keeps it alive. */
	int body_unread = c->has_body && !c->body_done;
	c->closing = !c->keep_alive || body_unread || c->dead || atomic_load(&c->srv->stopping);
	int rc = 0;
	rc |= OUT_LIT(c, "HTTP/1.1 ");
	rc |= out_u64(c, status);
	rc |= OUT_LIT(c, " ");
	rc |= out_str(c, vh_reason(status));
	rc |= OUT_LIT(c, "\r\nDate: ");
	rc |= out_str(c, http_date(c->lp));
	rc |= OUT_LIT(c, "\r\nContent-Type: ");
	rc |= out_str(c, content_type);
	rc |= OUT_LIT(c, "\r\nContent-Length: ");
	rc |= out_u64(c, len);
	if (cache) {
		rc |= OUT_LIT(c, "\r\nCache-Control: ");
		rc |= out_str(c, cache);
	}
	if (h1) {
		rc |= OUT_LIT(c, "\r\n");
		rc |= out_str(c, h1);
		rc |= OUT_LIT(c, ": ");
		rc |= out_str(c, v1);
	}
	rc |= OUT_LIT(c, "\r\nX-Content-Type-Options: nosniff\r\n");
	if (c->closing)
		rc |= OUT_LIT(c, "Connection: close\r\n");
	rc |= OUT_LIT(c, "\r\n");
	if (rc) {
		free(body);
		c->closing = 1;
		c->dead = 1;
		return 0;
	}
	if (c->is_head || !len) {
		free(body);
		body = NULL;
		len = 0;
	}
	c->body = body;
	c->body_len = len;
	c->body_off = 0;
	c->final_queued = 1;
	return 0;
}

void vh_suspend(vh_conn *c) { c->suspended = 1; }

void vh_resume(vh_conn *c)
{
	struct loop *lp = c->lp;
	pthread_mutex_lock(&lp->mu);
	int wake = lp->resumes == NULL;
	c->next_resume = lp->resumes;
	lp->resumes = c;
	pthread_mutex_unlock(&lp->mu);
	if (wake) {
		uint64_t one = 1;
		(void)!write(lp->efd, &one, sizeof one);
	}
}

const char *vh_lookup(vh_conn *c, int kind, const char *name)
{
	if (kind == VH_HEADER) {
		for (unsigned i = 0; i < c->n_headers; i++)
			if (strcasecmp(c->hname[i], name) == 0)
				return c->hval[i];
		return NULL;
	}
	for (unsigned i = 0; i < c->n_args; i++)
		if (strcmp(c->aname[i], name) == 0)
			return c->aval[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Parsing.                                                            */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode S in place ('+' is a space when PLUS); -1 on a bad
 * escape or a decoded NUL. */
static int decode(char *s, int plus)
{
	char *o = s;
	for (const char *p = s; *p; p++) {
		if (*p == '%') {
			int a = hexval((unsigned char)p[1]), b = a < 0 ? -1 : hexval((unsigned char)p[2]);
			if (a < 0 || b < 0 || (a == 0 && b == 0))
				return -1;
			*o++ = (char)(a * 16 + b);
			p += 2;
		} else {
			*o++ = plus && *p == '+' ? ' ' : *p;
		}
	}
	*o = 0;
	return 0;
}

static int is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* End of the header block in BUF (offset past the blank line), or 0. */
static size_t header_end(const char *buf, size_t len)
{
	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + len - p))) != NULL; p++) {
		if (p + 1 < buf + len && p[1] == '\n')
			return (size_t)(p + 2 - buf);
		if (p + 2 < buf + len && p[1] == '\r' && p[2] == '\n')
			return (size_t)(p + 3 - buf);
	}
	return 0;
}

/* Parse the header block in c->hdr (N bytes, NUL-terminated).  0, or the
 * status to refuse it with and *why. */
static unsigned parse_head(vh_conn *c, size_t n, const char **why)
{
	char *p = c->hdr, *end = c->hdr + n;
	/* The parsing below stops at a NUL: one would cut a line or a value
	 * short instead of refusing it (RFC 9110 §5.5). */
	if (memchr(p, 0, n)) {
		*why = "NUL in the request head";
		return 400;
	}
	/* Tolerate empty lines before the request line (RFC 9112 §2.2). */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol) {
		*why = "malformed request line";
		return 400;
	}
	char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	*line_end = 0;
	char *sp1 = strchr(p, ' ');
	if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof c->method) {
		*why = "malformed request line";
		return 400;
	}
	for (char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q)) {
			*why = "malformed method";
			return 400;
		}
	memcpy(c->method, p, (size_t)(sp1 - p));
	c->method[sp1 - p] = 0;
	char *target = sp1 + 1, *sp2 = strchr(target, ' ');
	if (!sp2 || sp2 == target || *target != '/') {
		*why = "malformed request target";
		return 400;
	}
	*sp2 = 0;
	const char *version = sp2 + 1;
	if (strcmp(version, "HTTP/1.1") == 0) {
		c->keep_alive = 1;
	} else if (strcmp(version, "HTTP/1.0") == 0) {
		c->keep_alive = 0;
	} else {
		/* A well-formed HTTP-version (RFC 9112 §2.3) we do not serve is
		 * a 505; anything else a 400. */
		int well_formed = strncmp(version, "HTTP/", 5) == 0 && version[5] >= '0' &&
		                  version[5] <= '9' && version[6] == '.' && version[7] >= '0' &&
		                  version[7] <= '9' && version[8] == 0;
		*why = well_formed ? "only HTTP/1.0 and HTTP/1.1 are served" : "malformed request line";
		return well_formed ? 505 : 400;
	}
	for (char *q = target; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
			*why = "malformed request target";
			return 400;
		}
	char *query = strchr(target, '?');
	if (query)
		*query++ = 0;
	if (decode(target, 0) != 0) {
		*why = "bad percent-encoding in the path";
		return 400;
	}
	c->path = target;
	if (query) {
		for (char *a = query; a && *a;) {
			char *amp = strchr(a, '&');
			if (amp)
				*amp++ = 0;
			if (*a) {
				if (c->n_args == VH_MAX_ARGS) {
					*why = "too many query arguments";
					return 400;
				}
				char *eq = strchr(a, '=');
				if (eq)
					*eq++ = 0;
				if (decode(a, 1) != 0 || (eq && decode(eq, 1) != 0)) {
					*why = "bad percent-encoding in the query";
					return 400;
				}
				c->aname[c->n_args] = a;
				c->aval[c->n_args++] = eq ? eq : "";
			}
			a = amp;
		}
	}
	/* Header fields. */
	const char *cl = NULL, *te = NULL;
	for (p = eol + 1; p < end;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (line_end == p)
			break; /* the blank line */
		*line_end = 0;
		if (*p == ' ' || *p == '\t') {
			*why = "obsolete header line folding";
			return 400;
		}
		char *colon = strchr(p, ':');
		if (!colon || colon == p) {
			*why = "malformed header field";
			return 400;
		}
		for (char *q = p; q < colon; q++)
			if (!is_tchar((unsigned char)*q)) {
				*why = "malformed header field name";
				return 400;
			}
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		char *ve = v + strlen(v);
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			*--ve = 0;
		for (char *q = v; *q; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
				*why = "control character in a header value";
				return 400;
			}
		if (c->n_headers == VH_MAX_HEADERS) {
			*why = "too many header fields";
			return 431;
		}
		c->hname[c->n_headers] = p;
		c->hval[c->n_headers++] = v;
		if (strcasecmp(p, "Content-Length") == 0) {
			if (cl && strcmp(cl, v) != 0) {
				*why = "conflicting Content-Length headers";
				return 400;
			}
			cl = v;
		} else if (strcasecmp(p, "Transfer-Encoding") == 0) {
			if (te) {
				*why = "more than one Transfer-Encoding header";
				return 400;
			}
			te = v;
		} else if (strcasecmp(p, "Connection") == 0) {
			if (strcasestr(v, "close"))
				c->keep_alive = 0;
			else if (strcasestr(v, "keep-alive"))
				c->keep_alive = 1;
		} else if (strcasecmp(p, "Expect") == 0) {
			if (strcasecmp(v, "100-continue") != 0) {
				*why = "unsupported Expect header";
				return 400; /* 417 in RFC terms; 400 keeps the error set small */
			}
			c->expect_continue = 1;
		}
		p = eol + 1;
	}
	if (te && cl) {
		*why = "both Content-Length and Transfer-Encoding";
		return 400;
	}
	if (te) {
		if (strcasecmp(te, "chunked") != 0) {
			*why = "only the chunked transfer coding is supported";
			return 501;
		}
		c->chunked = 1;
		c->has_body = 1;
	} else if (cl) {
		uint64_t v = 0;
		if (!*cl) {
			*why = "malformed Content-Length";
			return 400;
		}
		for (const char *q = cl; *q; q++) {
			if (*q < '0' || *q > '9' || v > (UINT64_MAX - 9) / 10) {
				*why = "malformed Content-Length";
				return 400;
			}
			v = v * 10 + (uint64_t)(*q - '0');
		}
		c->remaining = v;
		c->has_body = v > 0;
	}
	c->is_head = strcmp(c->method, "HEAD") == 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The request cycle.                                                  */

static void server_reject(vh_conn *c, unsigned status, const char *why)
{
	c->keep_alive = 0;
	if (c->srv->h.reject)
		c->srv->h.reject(c->srv->h.ctx, c, status, why);
	if (!c->answered)
		vh_respond(c, status, "text/plain; charset=utf-8", NULL, 0, NULL, NULL, NULL);
}

/* Run the handler once; -1 if it asked to close the connection. */
static int call_handler(vh_conn *c, const char *data, size_t *len)
{
	size_t zero = 0;
	c->handler_ran = 1;
	int rc = c->srv->h.handle(c->srv->h.ctx, c, c->path, c->method, data, len ? len : &zero,
	                          &c->req);
	return rc;
}

/* Move N consumed bytes out of the input buffer. */
static void consume(vh_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Deliver body bytes from the input buffer.  Returns -1 to close, else 0
 * (check c->body_done, c->answered, c->suspended). */
static int deliver_body(vh_conn *c)
{
	/* Bytes delivered or parsed here are moved out of the buffer once, at
	 * the end: one memmove per piece of a body made of tiny chunks would
	 * cost time quadratic in the buffer's size. */
	size_t off = 0;
	int rc = 0;
	while (!c->body_done && !c->answered && !c->suspended && c->in_len > off) {
		char *in = c->in + off;
		size_t avail = c->in_len - off;
		if (!c->chunked || c->chunk == CH_DATA) {
			size_t k = avail < c->remaining ? avail : (size_t)c->remaining;
			size_t len = k;
			if (call_handler(c, in, &len) < 0) {
				rc = -1;
				break;
			}
			off += k;
			c->remaining -= k;
			if (c->remaining == 0) {
				if (c->chunked)
					c->chunk = CH_DATA_END;
				else
					c->body_done = 1;
			}
			continue;
		}
		char *nl = memchr(in, '\n', avail);
		if (!nl) {
			if (avail > VH_CHUNK_LINE_MAX)
				server_reject(c, 400, "malformed chunked body");
			break;
		}
		size_t line = (size_t)(nl - in) + 1;
		if (c->chunk == CH_DATA_END) {
			if (!(line == 1 || (line == 2 && in[0] == '\r'))) {
				server_reject(c, 400, "malformed chunked body");
				break;
			}
			c->chunk = CH_SIZE;
		} else if (c->chunk == CH_SIZE) {
			uint64_t v = 0;
			size_t i = 0, digits = 0;
			for (; i < line; i++) {
				int h = hexval((unsigned char)in[i]);
				if (h < 0)
					break;
				if (v > (UINT64_MAX >> 4)) {
					digits = 0;
					break;
				}
				v = v * 16 + (uint64_t)h;
				digits++;
			}
			/* chunk extensions (";...") are ignored */
			if (!digits || (in[i] != ';' && in[i] != '\r' && in[i] != '\n')) {
				server_reject(c, 400, "malformed chunk size");
				break;
			}
			if (v == 0) {
				c->chunk = CH_TRAILER;
			} else {
				c->remaining = v;
				c->chunk = CH_DATA;
			}
		} else { /* CH_TRAILER: fields until a blank line */
			if (line == 1 || (line == 2 && in[0] == '\r'))
				c->body_done = 1;
		}
		off += line;
	}
	consume(c, off);
	return rc;
}

static void send_interim_continue(vh_conn *c)
{
	if (OUT_LIT(c, "HTTP/1.1 100 Continue\r\n\r\n") != 0)
		c->dead = 1;
}

static void linger_start(vh_conn *c)
{
	if (c->ssl)
		(void)SSL_shutdown(c->ssl);
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	c->started_ms = now_ms();
}

/* Parse and run what the input buffer holds; read more while allowed.
 * Returns -1 when the connection was closed (c is freed). */
static int drive(vh_conn *c)
{
	for (;;) {
		/* Output first: an answer (or 100 Continue) waiting to go. */
		if (c->out_off < c->out_len || c->body_off < c->body_len) {
			int f = flush_out(c);
			if (f < 0 && c->suspended) {
				/* A 100 Continue lost: whoever will resume the request
				 * holds c, so it is closed on the resume, not now. */
				c->dead = 1;
				return 0;
			}
			if (f < 0) {
				close_conn(c);
				return -1;
			}
			if (f == 0)
				return 0; /* EPOLLOUT resumes us */
		}
		if (c->final_queued) {
			/* The answer is out: the request is over. */
			int closing = c->closing;
			finish_request(c);
			reset_request(c);
			if (closing) {
				linger_start(c);
				continue;
			}
			c->last_ms = now_ms();
			continue;
		}
		c->out_len = c->out_off = 0;
		if (c->dead && !c->suspended) {
			close_conn(c);
			return -1;
		}
		if (c->state == C_LINGER) {
			char sink[4096];
			ssize_t n;
			while ((n = conn_read(c, sink, sizeof sink)) > 0)
				;
			if (n < 0 || now_ms() - c->started_ms > VH_LINGER_MS) {
				close_conn(c);
				return -1;
			}
			return 0;
		}
		if (c->suspended || c->answered)
			return 0;

		/* Parse what we have. */
		if (c->state == C_IDLE || c->state == C_HEADERS) {
			size_t e = c->in_len ? header_end(c->in, c->in_len) : 0;
			size_t limit = c->srv->opt.max_header_bytes;
			if (!e) {
				if (c->in_len > limit) {
					server_reject(c, 431, "the request's headers are too large");
					continue;
				}
				if (c->in_len && c->state == C_IDLE) {
					c->state = C_HEADERS;
					c->started_ms = now_ms();
				}
			} else if (e > limit) {
				server_reject(c, 431, "the request's headers are too large");
				continue;
			} else {
				if (c->state == C_IDLE)
					c->started_ms = now_ms();
				memcpy(c->hdr, c->in, e);
				c->hdr[e] = 0;
				consume(c, e);
				const char *why = NULL;
				unsigned st = parse_head(c, e, &why);
				if (st) {
					server_reject(c, st, why);
					continue;
				}
				c->state = c->has_body ? C_BODY : C_WAIT;
				c->body_done = !c->has_body;
				if (call_handler(c, NULL, NULL) < 0) {
					close_conn(c);
					return -1;
				}
				if (c->answered || c->suspended)
					continue;
			}
		}
		if (c->state == C_BODY && !c->answered && !c->suspended) {
			if (c->expect_continue) {
				/* The handler took the headers (at once or after a
				 * resume) without answering: ask for the body. */
				c->expect_continue = 0;
				send_interim_continue(c);
			}
			if (deliver_body(c) < 0) {
				close_conn(c);
				return -1;
			}
			if (c->body_done && !c->answered && !c->suspended) {
				c->state = C_WAIT;
				c->end_called = 1;
				if (call_handler(c, NULL, NULL) < 0) {
					close_conn(c);
					return -1;
				}
				continue;
			}
		} else if (c->state == C_WAIT && !c->answered && !c->suspended && c->body_done &&
		           !c->end_called) {
			/* A request without a body: its end call (also when the
			 * handler suspended at the first call and was resumed). */
			c->end_called = 1;
			if (call_handler(c, NULL, NULL) < 0) {
				close_conn(c);
				return -1;
			}
			continue;
		}
		if (c->answered || c->suspended)
			continue;
		if (c->out_len)
			continue;
		/* Need more input. */
		if (!c->readable)
			return 0;
		size_t space = c->in_cap - c->in_len;
		if (space == 0) {
			/* Only while headers are incomplete (a body is consumed as it
			 * comes): they are over the limit. */
			server_reject(c, 431, "the request's headers are too large");
			continue;
		}
		ssize_t n = conn_read(c, c->in + c->in_len, space);
		if (n < 0) {
			close_conn(c);
			return -1;
		}
		if (n == 0 && !c->readable)
			return 0;
		c->in_len += (size_t)n;
		c->last_ms = now_ms();
	}
}

/* Take connection C into loop LP (on LP's thread). */
static void adopt(struct loop *lp, vh_conn *c)
{
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
	struct epoll_event ev = {EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, {.ptr = c}};
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		close_conn(c);
		return;
	}
	/* Data may already be there (it usually is). */
	drive(c);
}

static void accept_all(struct loop *lp)
{
	vh_server *s = lp->srv;
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of descriptors: try on the next event */
		}
		if (atomic_fetch_add(&s->n_conns, 1) >= s->opt.max_connections ||
		    atomic_load(&s->stopping)) {
			atomic_fetch_sub(&s->n_conns, 1);
			close(fd);
			debug(s, "connection refused: max_connections reached");
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		vh_conn *c = calloc(1, sizeof *c);
		if (c) {
			c->in_cap = s->opt.max_header_bytes + VH_BODY_WINDOW;
			c->in = malloc(c->in_cap);
			c->hdr = malloc(s->opt.max_header_bytes + 1);
		}
		if (!c || !c->in || !c->hdr) {
			if (c) {
				free(c->in);
				free(c->hdr);
				free(c);
			}
			close(fd);
			atomic_fetch_sub(&s->n_conns, 1);
			continue;
		}
		/* The loop with the fewest connections takes it: the kernel
		 * tends to wake the same loop for every connection. */
		struct loop *to = lp;
		for (unsigned i = 0; i < s->n_loops; i++)
			if (atomic_load(&s->loops[i].n_conns) < atomic_load(&to->n_conns))
				to = &s->loops[i];
		atomic_fetch_add(&to->n_conns, 1);
		c->srv = s;
		c->lp = to;
		c->fd = fd;
		c->readable = 1;
		c->last_ms = now_ms();
		reset_request(c);
		if (s->tls) {
			c->ssl = SSL_new(s->tls);
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
				if (c->ssl)
					SSL_free(c->ssl);
				free(c->in);
				free(c->hdr);
				free(c);
				close(fd);
				atomic_fetch_sub(&s->n_conns, 1);
				atomic_fetch_sub(&to->n_conns, 1);
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
		if (to == lp) {
			adopt(lp, c);
			continue;
		}
		pthread_mutex_lock(&to->mu);
		int wake = to->adopt == NULL && to->resumes == NULL;
		c->next_resume = to->adopt;
		to->adopt = c;
		pthread_mutex_unlock(&to->mu);
		if (wake) {
			uint64_t token = 1;
			(void)!write(to->efd, &token, sizeof token);
		}
	}
}

static void run_resumes(struct loop *lp)
{
	pthread_mutex_lock(&lp->mu);
	vh_conn *list = lp->resumes, *adopted = lp->adopt;
	lp->resumes = lp->adopt = NULL;
	pthread_mutex_unlock(&lp->mu);
	while (adopted) {
		vh_conn *next = adopted->next_resume;
		adopted->next_resume = NULL;
		adopt(lp, adopted);
		adopted = next;
	}
	/* The list is newest first; answer in the order of completion. */
	vh_conn *rev = NULL;
	while (list) {
		vh_conn *next = list->next_resume;
		list->next_resume = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		vh_conn *c = rev;
		rev = rev->next_resume;
		c->suspended = 0;
		if (!c->answered && call_handler(c, NULL, NULL) < 0) {
			close_conn(c);
			continue;
		}
		drive(c);
	}
}

/* Requests that take too long are answered 408; idle connections and
 * lingering ones past their time are closed. */
static void sweep(struct loop *lp)
{
	vh_server *s = lp->srv;
	uint64_t now = now_ms();
	for (vh_conn *c = lp->conns, *next; c; c = next) {
		next = c->next;
		if (c->suspended)
			continue;
		if (c->state == C_LINGER) {
			if (now - c->started_ms > VH_LINGER_MS)
				close_conn(c);
			continue;
		}
		if (c->out_off < c->out_len || c->body_off < c->body_len) {
			/* A client that does not read its answer. */
			if (now - c->last_ms > s->opt.idle_timeout_ms + s->opt.request_timeout_ms)
				close_conn(c);
			continue;
		}
		if (c->state == C_IDLE) {
			if (now - c->last_ms > s->opt.idle_timeout_ms)
				close_conn(c);
			continue;
		}
		if (!c->answered && now - c->started_ms > s->opt.request_timeout_ms) {
			char msg[96];
			snprintf(msg, sizeof msg, "the request took longer than %llu ms",
			         (unsigned long long)s->opt.request_timeout_ms);
			server_reject(c, 408, msg);
			drive(c);
		}
	}
}

static void *loop_main(void *arg)
{
	struct loop *lp = arg;
	vh_server *s = lp->srv;
	struct epoll_event evs[256];
	uint64_t last_sweep = now_ms();
	while (!atomic_load(&s->stopping)) {
		int n = epoll_wait(lp->ep, evs, 256, VH_SWEEP_MS);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &s->listen_marker) {
				accept_all(lp);
			} else if (p == lp) {
				uint64_t v;
				(void)!read(lp->efd, &v, sizeof v);
				run_resumes(lp);
			} else {
				vh_conn *c = p;
				if (c->gone)
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->readable = 1;
				if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->peer_shut = 1;
				if ((evs[i].events & (EPOLLHUP | EPOLLERR)) && c->suspended) {
					c->dead = 1;
					continue;
				}
				drive(c);
			}
		}
		uint64_t now = now_ms();
		if (now - last_sweep >= VH_SWEEP_MS) {
			sweep(lp);
			last_sweep = now;
		}
		bury(lp);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop.                                                     */

static SSL_CTX *tls_context(const vh_options *opt, char *err, size_t errcap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errcap, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, opt->tls_cert) != 1) {
		snprintf(err, errcap, "tls_cert = %s: cannot load it as a PEM certificate chain",
		         opt->tls_cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, opt->tls_key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errcap, "tls_key = %s: cannot load it as a PEM private key",
		         opt->tls_key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errcap, "tls_key = %s does not match tls_cert = %s", opt->tls_key,
		         opt->tls_cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

vh_server *vh_start(const vh_options *opt, const vh_handlers *h, char *err, size_t errcap)
{
	vh_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	s->opt = *opt;
	s->h = *h;
	s->listen_fd = opt->listen_fd;
	s->n_loops = opt->threads < 1 ? 1 : opt->threads > VH_MAX_LOOPS ? VH_MAX_LOOPS : opt->threads;
	if (s->opt.max_header_bytes < 256)
		s->opt.max_header_bytes = 256;
	if (opt->tls_cert && !(s->tls = tls_context(opt, err, errcap))) {
		free(s);
		return NULL;
	}
	/* Every loop is woken for the same connection attempt at times; only
	 * one accept succeeds, so the socket must not block. */
	int fl = fcntl(s->listen_fd, F_GETFL);
	if (fl < 0 || fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errcap, "cannot make the listening socket non-blocking: %s",
		         strerror(errno));
		if (s->tls)
			SSL_CTX_free(s->tls);
		free(s);
		return NULL;
	}
	unsigned started = 0;
	for (unsigned i = 0; i < s->n_loops; i++) {
		struct loop *lp = &s->loops[i];
		lp->srv = s;
		pthread_mutex_init(&lp->mu, NULL);
		lp->ep = epoll_create1(EPOLL_CLOEXEC);
		lp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		struct epoll_event le = {EPOLLIN | EPOLLEXCLUSIVE, {.ptr = &s->listen_marker}};
		struct epoll_event ee = {EPOLLIN, {.ptr = lp}};
		if (lp->ep < 0 || lp->efd < 0 ||
		    epoll_ctl(lp->ep, EPOLL_CTL_ADD, s->listen_fd, &le) < 0 ||
		    epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->efd, &ee) < 0 ||
		    pthread_create(&lp->thread, NULL, loop_main, lp) != 0) {
			snprintf(err, errcap, "cannot start the HTTP event loops: %s", strerror(errno));
			atomic_store(&s->stopping, 1);
			for (unsigned j = 0; j < started; j++) {
				uint64_t one = 1;
				(void)!write(s->loops[j].efd, &one, sizeof one);
				pthread_join(s->loops[j].thread, NULL);
			}
			for (unsigned j = 0; j <= i; j++) {
				if (s->loops[j].ep >= 0)
					close(s->loops[j].ep);
				if (s->loops[j].efd >= 0)
					close(s->loops[j].efd);
			}
			if (s->tls)
				SSL_CTX_free(s->tls);
			free(s);
			return NULL;
		}
		started++;
	}
	return s;
}

void vh_quiesce(vh_server *s)
{
	if (!s || s->listen_fd < 0)
		return;
	for (unsigned i = 0; i < s->n_loops; i++)
		epoll_ctl(s->loops[i].ep, EPOLL_CTL_DEL, s->listen_fd, NULL);
	close(s->listen_fd);
	s->listen_fd = -1;
}

void vh_stop(vh_server *s)
{
	if (!s)
		return;
	vh_quiesce(s);
	atomic_store(&s->stopping, 1);
	for (unsigned i = 0; i < s->n_loops; i++) {
		uint64_t one = 1;
		(void)!write(s->loops[i].efd, &one, sizeof one);
	}
	for (unsigned i = 0; i < s->n_loops; i++) {
		struct loop *lp = &s->loops[i];
		pthread_join(lp->thread, NULL);
		while (lp->conns)
			close_conn(lp->conns);
		/* Accepted for this loop but never taken in. */
		while (lp->adopt) {
			vh_conn *c = lp->adopt;
			lp->adopt = c->next_resume;
			c->next = lp->conns;
			lp->conns = c;
			close_conn(c);
		}
		bury(lp);
		close(lp->ep);
		close(lp->efd);
		pthread_mutex_destroy(&lp->mu);
	}
	if (s->tls)
		SSL_CTX_free(s->tls);
	free(s);
}
