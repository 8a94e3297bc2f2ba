/*
 * syslog_listen.c — syslog listeners over TCP, TLS and UDP (see
 * syslog_listen.h for the contract).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every socket is non-blocking and every wait is a poll() that also
 * watches the read end of a "wake" pipe.  Stopping writes one byte to the
 * pipe and never reads it, so from then on every poll in every thread
 * returns at once and each thread winds down; vs_syslog_stop then joins
 * the acceptors and the UDP thread, and after them the connection
 * threads.  Connection threads that end on their own are joined by their
 * acceptor when it next accepts, so finished threads do not pile up.
 *
 * Listener threads block SIGPIPE: a TLS alert or close_notify written to
 * a peer that has gone must return EPIPE, not kill the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "syslog_listen.h"

#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_IDLE_MS 300000
#define UDP_MAX 65535
#define READ_CHUNK 16384
#define PEER_MAX 64 /* "[" IPv6 "]:" port, NUL */

enum kind { K_TCP, K_UDP, K_TLS };

static const char *const transport_names[] = {"syslog-tcp", "syslog-udp", "syslog-tls"};

struct listener {
	vs_syslog_server *s;
	enum kind kind;
	int fd;
	int port;
	int started; /* its thread is running */
	pthread_t thread;
};

struct conn {
	vs_syslog_server *s;
	enum kind kind;
	int fd;
	SSL *ssl;
	char peer[PEER_MAX];
	pthread_t thread;
	atomic_int done; /* the thread has finished with everything but itself */
	struct conn *next;
};

struct vs_syslog_server {
	vs_syslog_sink sink;
	void *ctx;
	vs_syslog_logger log;
	void *log_ctx;
	size_t max_message;
	int max_connections;
	int idle_ms; /* -1: no timeout */

	struct listener ls[3]; /* indexed by enum kind; fd -1 if not configured */
	SSL_CTX *tls;
	int wake[2];
	atomic_int stopping;

	pthread_mutex_t mu; /* guards conns */
	struct conn *conns;
	atomic_int current;

	atomic_uint_least64_t messages, bytes, reject_parse, reject_oversize, reject_framing,
		reject_sink, conns_total, conns_refused, idle_timeouts, tls_failures;
	atomic_llong last_parse_log; /* second of the last parse-reject report */
};

static void count(atomic_uint_least64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void slog(vs_syslog_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(vs_syslog_server *s, const char *fmt, ...)
{
	if (s->log == NULL)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	s->log(s->log_ctx, line);
}

static void set_err(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
	if (err == NULL || errcap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

/* The oldest OpenSSL error on this thread's queue, and clear the queue. */
static const char *ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, cap, "%s", errno ? strerror(errno) : "unknown error");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

static void block_sigpipe(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int stopping(vs_syslog_server *s)
{
	return atomic_load(&s->stopping);
}

/* "ip:port" or "[ip6]:port" (an IPv4-mapped IPv6 address as IPv4). */
static void format_peer(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof ip);
			snprintf(out, cap, "%s:%u", ip, ntohs(a->sin6_port));
		} else {
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
			snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
		}
	} else {
		snprintf(out, cap, "unknown");
	}
}

/*
 * Wait until fd has events (1), timeout_ms passes (0, never if negative)
 * or the server stops or poll fails (-1).
 */
static int wait_fd(vs_syslog_server *s, int fd, short events, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = s->wake[0], .events = POLLIN}};
	for (;;) {
		int r = poll(p, 2, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents != 0)
			return -1;
		return r > 0;
	}
}

/* ------------------------------------------------------------ delivery */

/* Parse and hand one message to the sink.  0: go on; -1: the sink
 * refused it. */
static int deliver(vs_syslog_server *s, enum kind kind, const char *peer, const uint8_t *msg,
                   size_t len)
{
	vs_syslog_msg m;
	char err[160];
	if (vs_syslog_parse(msg, len, &m, err, sizeof err) != 0) {
		count(&s->reject_parse);
		long long now = (long long)time(NULL);
		long long last = atomic_load(&s->last_parse_log);
		if (now != last && atomic_compare_exchange_strong(&s->last_parse_log, &last, now))
			slog(s, "%s %s: message dropped, not RFC 5424 or RFC 3164: %s",
			     transport_names[kind], peer, err);
		return 0;
	}
	vs_syslog_delivery d = {
		.msg = msg,
		.len = len,
		.parsed = &m,
		.transport = transport_names[kind],
		.peer = peer,
	};
	if (s->sink(s->ctx, &d) != 0) {
		count(&s->reject_sink);
		return -1;
	}
	count(&s->messages);
	atomic_fetch_add_explicit(&s->bytes, len, memory_order_relaxed);
	return 0;
}

/* ------------------------------------------------------------ connections */

static int on_frame(void *ctx, const uint8_t *msg, size_t len)
{
	struct conn *c = ctx;
	return deliver(c->s, c->kind, c->peer, msg, len);
}

/* Wait for the socket as TLS asks (WANT_READ or WANT_WRITE): 1 ready,
 * 0 idle timeout, -1 stop or error. */
static int tls_wait(struct conn *c, int ssl_err)
{
	short ev = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	return wait_fd(c->s, c->fd, ev, c->s->idle_ms);
}

static void idle_timeout(struct conn *c)
{
	count(&c->s->idle_timeouts);
	slog(c->s, "%s %s: closing a connection idle for %d ms", transport_names[c->kind],
	     c->peer, c->s->idle_ms);
}

static int tls_handshake(struct conn *c)
{
	char why[256];
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_accept(c->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			count(&c->s->tls_failures);
			/* No TLS error: an end of stream (or reset) mid-handshake. */
			if (ERR_peek_error() == 0 &&
			    (errno == 0 || errno == ECONNRESET || errno == EPIPE))
				snprintf(why, sizeof why, "the peer closed the connection");
			else
				ssl_reason(why, sizeof why);
			ERR_clear_error();
			slog(c->s, "syslog-tls %s: TLS handshake failed: %s", c->peer, why);
			return -1;
		}
		int w = tls_wait(c, e);
		if (w == 0)
			idle_timeout(c);
		if (w <= 0)
			return -1;
	}
}

/* Read some bytes: > 0 their count, 0 the peer closed, -1 error, idle
 * timeout or stop (reported here). */
static ssize_t conn_read(struct conn *c, uint8_t *buf, size_t cap)
{
	char why[256];
	for (;;) {
		int w;
		if (stopping(c->s))
			return -1;
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			int r = SSL_read(c->ssl, buf, (int)cap);
			if (r > 0)
				return r;
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET)
					return 0;
				count(&c->s->tls_failures);
				slog(c->s, "syslog-tls %s: TLS error: %s", c->peer,
				     ssl_reason(why, sizeof why));
				return -1;
			}
			w = tls_wait(c, e);
		} else {
			ssize_t r = recv(c->fd, buf, cap, 0);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET)
				return 0;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				slog(c->s, "syslog-tcp %s: %s", c->peer, strerror(errno));
				return -1;
			}
			w = wait_fd(c->s, c->fd, POLLIN, c->s->idle_ms);
		}
		if (w == 0)
			idle_timeout(c);
		if (w <= 0)
			return -1;
	}
}

/* Count and report why the framer gave up on a connection. */
static void framer_failed(struct conn *c, int rc, const char *err)
{
	const char *name = transport_names[c->kind];
	switch (rc) {
	case VS_SYSLOG_EOVERSIZE:
		count(&c->s->reject_oversize);
		slog(c->s, "%s %s: closing the connection: %s", name, c->peer, err);
		break;
	case VS_SYSLOG_ESTOPPED:
		slog(c->s, "%s %s: closing the connection: a message was not accepted", name,
		     c->peer);
		break;
	case VS_SYSLOG_ENOMEM:
		slog(c->s, "%s %s: closing the connection: %s", name, c->peer, err);
		break;
	default:
		count(&c->s->reject_framing);
		slog(c->s, "%s %s: closing the connection: %s", name, c->peer, err);
		break;
	}
}

static void serve(struct conn *c, vs_syslog_framer *fr)
{
	uint8_t buf[READ_CHUNK];
	char err[200];
	if (c->ssl != NULL && tls_handshake(c) != 0)
		return;
	for (;;) {
		ssize_t n = conn_read(c, buf, sizeof buf);
		if (n < 0)
			return;
		if (n == 0) {
			size_t pending = vs_syslog_framer_pending(fr);
			if (pending > 0) {
				count(&c->s->reject_framing);
				slog(c->s, "%s %s: connection closed inside a message (%zu bytes "
				           "dropped)",
				     transport_names[c->kind], c->peer, pending);
			}
			return;
		}
		int rc = vs_syslog_feed(fr, buf, (size_t)n, on_frame, c, err, sizeof err);
		if (rc != 0) {
			framer_failed(c, rc, err);
			return;
		}
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	vs_syslog_framer fr;
	block_sigpipe();
	if (vs_syslog_framer_init(&fr, c->s->max_message) == 0) {
		serve(c, &fr);
		vs_syslog_framer_free(&fr);
	}
	if (c->ssl != NULL) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* one close_notify, not waited for */
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	close(c->fd);
	c->fd = -1;
	atomic_fetch_sub(&c->s->current, 1);
	atomic_store(&c->done, 1);
	return NULL;
}

/* Join and free finished connection threads (all of them if all). */
static void reap(vs_syslog_server *s, int all)
{
	struct conn *dead = NULL;
	pthread_mutex_lock(&s->mu);
	for (struct conn **pp = &s->conns; *pp != NULL;) {
		struct conn *c = *pp;
		if (all || atomic_load(&c->done)) {
			*pp = c->next;
			c->next = dead;
			dead = c;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&s->mu);
	while (dead != NULL) {
		struct conn *c = dead;
		dead = c->next;
		pthread_join(c->thread, NULL);
		free(c);
	}
}

/* Take one slot under max_connections, or 0 if none is free. */
static int take_slot(vs_syslog_server *s)
{
	int cur = atomic_load(&s->current);
	do {
		if (cur >= s->max_connections)
			return 0;
	} while (!atomic_compare_exchange_weak(&s->current, &cur, cur + 1));
	return 1;
}

static void start_conn(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	vs_syslog_server *s = l->s;
	char peer[PEER_MAX], why[256];
	const char *name = transport_names[l->kind];
	format_peer(ss, peer, sizeof peer);
	if (!take_slot(s)) {
		count(&s->conns_refused);
		slog(s, "%s %s: refused, %d connections already open", name, peer,
		     s->max_connections);
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		goto refuse;
	c->s = s;
	c->kind = l->kind;
	c->fd = fd;
	memcpy(c->peer, peer, sizeof peer);
	if (l->kind == K_TLS) {
		c->ssl = SSL_new(s->tls);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
			slog(s, "%s %s: refused: %s", name, peer, ssl_reason(why, sizeof why));
			goto refuse;
		}
	}
	int e = pthread_create(&c->thread, NULL, conn_main, c);
	if (e != 0) {
		slog(s, "%s %s: refused, cannot start a thread: %s", name, peer, strerror(e));
		goto refuse;
	}
	count(&s->conns_total);
	pthread_mutex_lock(&s->mu);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->mu);
	return;
refuse:
	count(&s->conns_refused);
	if (c != NULL)
		SSL_free(c->ssl);
	free(c);
	close(fd);
	atomic_fetch_sub(&s->current, 1);
}

static void *accept_main(void *arg)
{
	struct listener *l = arg;
	vs_syslog_server *s = l->s;
	block_sigpipe();
	for (;;) {
		if (wait_fd(s, l->fd, POLLIN, -1) < 0)
			break;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				continue;
			slog(s, "%s: accept: %s", transport_names[l->kind], strerror(errno));
			/* Out of descriptors or memory: back off instead of spinning. */
			if (wait_fd(s, s->wake[0], POLLIN, 100) < 0)
				break;
			continue;
		}
		reap(s, 0);
		start_conn(l, fd, &ss);
	}
	return NULL;
}

/* ------------------------------------------------------------ UDP */

static void *udp_main(void *arg)
{
	struct listener *l = arg;
	vs_syslog_server *s = l->s;
	char peer[PEER_MAX];
	uint8_t *buf = malloc(UDP_MAX + 1);
	block_sigpipe();
	if (buf == NULL) {
		slog(s, "syslog-udp: out of memory; not receiving");
		return NULL;
	}
	while (wait_fd(s, l->fd, POLLIN, -1) > 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		/* MSG_TRUNC: the datagram's real length, even if longer. */
		ssize_t n = recvfrom(l->fd, buf, UDP_MAX + 1, MSG_TRUNC | MSG_DONTWAIT,
		                     (struct sockaddr *)&ss, &sl);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				slog(s, "syslog-udp: recvfrom: %s", strerror(errno));
			continue;
		}
		format_peer(&ss, peer, sizeof peer);
		size_t len = n > UDP_MAX ? (size_t)n : vs_syslog_trim(buf, (size_t)n);
		if (len > s->max_message) {
			count(&s->reject_oversize);
			slog(s, "syslog-udp %s: dropped a %zu-byte datagram (the maximum is %zu)",
			     peer, len, s->max_message);
			continue;
		}
		deliver(s, K_UDP, peer, buf, len);
	}
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------ start-up */

/* Split "host:port" or "[v6]:port". */
static int split_addr(const char *spec, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *colon, *h = spec;
	size_t hlen;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		h = spec + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - spec);
		if (memchr(spec, ':', hlen) != NULL)
			return -1; /* an IPv6 address without brackets */
	}
	const char *p = colon + 1;
	size_t plen = strlen(p);
	if (hlen == 0 || hlen >= hcap || plen == 0 || plen > 5 || plen >= pcap ||
	    strspn(p, "0123456789") != plen || atoi(p) > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, p, plen + 1);
	return 0;
}

/* A bound (and, for streams, listening) socket for spec: its fd, or -1. */
static int open_socket(const char *what, const char *spec, int type, char *err, size_t errcap)
{
	char host[256], port[8];
	if (split_addr(spec, host, sizeof host, port, sizeof port) != 0) {
		set_err(err, errcap,
		        "%s address \"%s\" is not host:port (IPv6 as [addr]:port, port 0..65535)",
		        what, spec);
		return -1;
	}
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = type,
	};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g != 0) {
		set_err(err, errcap, "%s address %s: %s", what, spec, gai_strerror(g));
		return -1;
	}
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                res->ai_protocol);
	if (fd < 0) {
		set_err(err, errcap, "%s %s: socket: %s", what, spec, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	/* SO_REUSEADDR only for streams: on UDP it would let two servers
	 * share a port instead of reporting it in use. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0)) {
		set_err(err, errcap, "%s cannot listen on %s: %s", what, spec, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (type == SOCK_DGRAM) {
		int rcvbuf = 4 << 20; /* absorb bursts; the kernel caps it */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Never prompt for a passphrase: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static int readable(const char *what, const char *path, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		set_err(err, errcap, "cannot read TLS %s %s: %s", what, path, strerror(errno));
		return 0;
	}
	fclose(f);
	return 1;
}

static SSL_CTX *tls_context(const char *cert, const char *key, char *err, size_t errcap)
{
	char why[256];
	if (!readable("certificate", cert, err, errcap) || !readable("key", key, err, errcap))
		return NULL;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		set_err(err, errcap, "TLS: %s", ssl_reason(why, sizeof why));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Many syslog senders close without close_notify; a message cut
	 * short that way is caught by the framing. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		set_err(err, errcap, "TLS certificate %s: %s", cert, ssl_reason(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH)
			set_err(err, errcap, "TLS key %s does not match certificate %s", key, cert);
		else
			set_err(err, errcap, "TLS key %s: %s", key, ssl_reason(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, errcap, "TLS key %s does not match certificate %s", key, cert);
		goto fail;
	}
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static int check_config(const vs_syslog_config *cfg, char *err, size_t errcap)
{
	if (cfg->tcp == NULL && cfg->udp == NULL && cfg->tls == NULL) {
		set_err(err, errcap, "syslog: no tcp, udp or tls address to listen on");
		return -1;
	}
	if (cfg->tls != NULL && (cfg->tls_cert == NULL || cfg->tls_key == NULL)) {
		set_err(err, errcap, "syslog-tls: a certificate and a key file are required");
		return -1;
	}
	if (cfg->max_message > VS_SYSLOG_MAX_LIMIT) {
		set_err(err, errcap, "syslog: max_message %zu is above the limit %u",
		        cfg->max_message, VS_SYSLOG_MAX_LIMIT);
		return -1;
	}
	if (cfg->max_connections < 0) {
		set_err(err, errcap, "syslog: max_connections %d is negative",
		        cfg->max_connections);
		return -1;
	}
	return 0;
}

/* Close what start-up opened (no thread is running). */
static void free_server(vs_syslog_server *s)
{
	for (int k = 0; k < 3; k++)
		if (s->ls[k].fd >= 0)
			close(s->ls[k].fd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	SSL_CTX_free(s->tls);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Bind every listener and load TLS; no thread yet. */
static int open_all(vs_syslog_server *s, const vs_syslog_config *cfg, char *err, size_t errcap)
{
	const char *spec[3] = {cfg->tcp, cfg->udp, cfg->tls};
	if (cfg->tls != NULL) {
		s->tls = tls_context(cfg->tls_cert, cfg->tls_key, err, errcap);
		if (s->tls == NULL)
			return -1;
	}
	for (int k = 0; k < 3; k++) {
		if (spec[k] == NULL)
			continue;
		s->ls[k].fd = open_socket(transport_names[k], spec[k],
		                          k == K_UDP ? SOCK_DGRAM : SOCK_STREAM, err, errcap);
		if (s->ls[k].fd < 0)
			return -1;
		s->ls[k].port = bound_port(s->ls[k].fd);
	}
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		s->wake[0] = s->wake[1] = -1;
		set_err(err, errcap, "syslog: pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int vs_syslog_start(const vs_syslog_config *cfg, vs_syslog_sink sink, void *ctx,
                    vs_syslog_server **out, char *err, size_t errcap)
{
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (out == NULL || cfg == NULL || sink == NULL) {
		set_err(err, errcap, "syslog: no configuration, sink or result pointer");
		return -1;
	}
	*out = NULL;
	if (check_config(cfg, err, errcap) != 0)
		return -1;
	vs_syslog_server *s = calloc(1, sizeof *s);
	if (s == NULL) {
		set_err(err, errcap, "syslog: out of memory");
		return -1;
	}
	s->sink = sink;
	s->ctx = ctx;
	s->log = cfg->log;
	s->log_ctx = cfg->log_ctx;
	s->max_message = cfg->max_message ? cfg->max_message : VS_SYSLOG_MAX_DEFAULT;
	s->max_connections = cfg->max_connections ? cfg->max_connections
	                                          : DEFAULT_MAX_CONNECTIONS;
	s->idle_ms = cfg->idle_timeout_ms == 0 ? DEFAULT_IDLE_MS
	             : cfg->idle_timeout_ms < 0 ? -1
	                                        : cfg->idle_timeout_ms;
	s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	for (int k = 0; k < 3; k++) {
		s->ls[k].s = s;
		s->ls[k].kind = (enum kind)k;
		s->ls[k].fd = -1;
		s->ls[k].port = -1;
	}
	if (open_all(s, cfg, err, errcap) != 0) {
		free_server(s);
		return -1;
	}
	for (int k = 0; k < 3; k++) {
		struct listener *l = &s->ls[k];
		if (l->fd < 0)
			continue;
		int e = pthread_create(&l->thread, NULL, k == K_UDP ? udp_main : accept_main, l);
		if (e != 0) {
			set_err(err, errcap, "%s: cannot start a thread: %s", transport_names[k],
			        strerror(e));
			vs_syslog_stop(s);
			return -1;
		}
		l->started = 1;
	}
	*out = s;
	return 0;
}

void vs_syslog_stop(vs_syslog_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stopping, 1);
	/* Never read: every poll on wake[0] returns from now on. */
	ssize_t w;
	do
		w = write(s->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	for (int k = 0; k < 3; k++)
		if (s->ls[k].started)
			pthread_join(s->ls[k].thread, NULL);
	/* No acceptor is left to add connections. */
	reap(s, 1);
	free_server(s);
}

void vs_syslog_stats(const vs_syslog_server *s, vs_syslog_counters *out)
{
	vs_syslog_server *m = (vs_syslog_server *)s; /* atomics are read, not changed */
	memset(out, 0, sizeof *out);
	if (s == NULL)
		return;
	out->messages = atomic_load(&m->messages);
	out->bytes = atomic_load(&m->bytes);
	out->reject_parse = atomic_load(&m->reject_parse);
	out->reject_oversize = atomic_load(&m->reject_oversize);
	out->reject_framing = atomic_load(&m->reject_framing);
	out->reject_sink = atomic_load(&m->reject_sink);
	int cur = atomic_load(&m->current);
	out->connections_current = cur > 0 ? (uint64_t)cur : 0;
	out->connections_total = atomic_load(&m->conns_total);
	out->connections_refused = atomic_load(&m->conns_refused);
	out->idle_timeouts = atomic_load(&m->idle_timeouts);
	out->tls_failures = atomic_load(&m->tls_failures);
}

int vs_syslog_port(const vs_syslog_server *s, const char *transport)
{
	if (s == NULL || transport == NULL)
		return -1;
	static const char *const short_names[] = {"tcp", "udp", "tls"};
	for (int k = 0; k < 3; k++)
		if (strcmp(transport, transport_names[k]) == 0 ||
		    strcmp(transport, short_names[k]) == 0)
			return s->ls[k].fd >= 0 ? s->ls[k].port : -1;
	return -1;
}
