/*
 * syslog_listen_test.c — the syslog listeners (src/server/syslog_listen.c)
 * over real sockets on 127.0.0.1: TCP with both framings and split
 * writes, UDP, TLS with a certificate made at test time, and the failure
 * paths (port in use, bad certificate or key, connection limit, oversize
 * and malformed input, idle connections, stopping with connections open).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * A standalone cmocka program.  Needs the openssl command (to make a
 * self-signed Ed25519 certificate) and VL_EXAMPLES, the directory of sample
 * inputs (default "examples").
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
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "syslog_listen.h"

#define MAX_RECS 512

/* ------------------------------------------------------------ the sink */

struct rec {
	char transport[16];
	char peer[64];
	uint8_t *msg;
	size_t len;
	int pri;
};

struct sink {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rec r[MAX_RECS];
	size_t n;
	char log[8][512]; /* the latest logger lines */
	size_t nlog;
};

static struct sink sink;

/* Accepts every message but those containing "REJECT". */
static int sink_fn(void *ctx, const vs_syslog_delivery *d)
{
	struct sink *k = ctx;
	pthread_mutex_lock(&k->mu);
	if (k->n < MAX_RECS) {
		struct rec *r = &k->r[k->n++];
		snprintf(r->transport, sizeof r->transport, "%s", d->transport);
		snprintf(r->peer, sizeof r->peer, "%s", d->peer);
		r->msg = malloc(d->len);
		assert_non_null(r->msg);
		memcpy(r->msg, d->msg, d->len);
		r->len = d->len;
		r->pri = d->parsed->pri;
	}
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return memmem(d->msg, d->len, "REJECT", 6) != NULL;
}

static void log_fn(void *ctx, const char *line)
{
	struct sink *k = ctx;
	pthread_mutex_lock(&k->mu);
	snprintf(k->log[k->nlog % 8], sizeof k->log[0], "%s", line);
	k->nlog++;
	pthread_mutex_unlock(&k->mu);
	if (getenv("VL_VERBOSE") != NULL)
		fprintf(stderr, "log: %s\n", line);
}

static void sink_reset(void)
{
	pthread_mutex_lock(&sink.mu);
	for (size_t i = 0; i < sink.n; i++)
		free(sink.r[i].msg);
	sink.n = 0;
	sink.nlog = 0;
	pthread_mutex_unlock(&sink.mu);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the sink has n messages (5 s at most); how many it has. */
static size_t wait_messages(size_t n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&sink.mu);
	while (sink.n < n && pthread_cond_timedwait(&sink.cv, &sink.mu, &until) == 0)
		;
	size_t got = sink.n;
	pthread_mutex_unlock(&sink.mu);
	return got;
}

/* Wait until the counter picked by get reaches want (5 s at most). */
static uint64_t wait_stat(vs_syslog_server *s, size_t field, uint64_t want)
{
	int64_t end = now_ms() + 5000;
	uint64_t v;
	for (;;) {
		vs_syslog_counters c;
		vs_syslog_stats(s, &c);
		memcpy(&v, (const char *)&c + field, sizeof v);
		if (v >= want || now_ms() > end)
			return v;
		usleep(2000);
	}
}
#define WAIT_STAT(s, name, want) wait_stat((s), offsetof(vs_syslog_counters, name), (want))

/* 1 if one of the latest logger lines contains what (within 5 s): lines
 * come just after the counters move. */
static int log_contains(const char *what)
{
	int64_t end = now_ms() + 5000;
	for (;;) {
		int found = 0;
		pthread_mutex_lock(&sink.mu);
		for (size_t i = 0; i < 8 && i < sink.nlog; i++)
			if (strstr(sink.log[i], what) != NULL)
				found = 1;
		pthread_mutex_unlock(&sink.mu);
		if (found || now_ms() > end)
			return found;
		usleep(2000);
	}
}

static void assert_rec(size_t i, const char *transport, const void *msg, size_t len)
{
	pthread_mutex_lock(&sink.mu);
	assert_true(i < sink.n);
	struct rec r = sink.r[i];
	pthread_mutex_unlock(&sink.mu);
	assert_string_equal(r.transport, transport);
	if (r.len != len || memcmp(r.msg, msg, len) != 0)
		fail_msg("message %zu is \"%.*s\", want \"%.*s\"", i, (int)r.len, (char *)r.msg,
		         (int)len, (const char *)msg);
}

/* ------------------------------------------------------------ clients */

static char tmpdir[] = "/tmp/vellum-syslog-test.XXXXXX";
static char cert_path[128], key_path[128];

static int tcp_connect_to(int family, int port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0)
		fail_msg("connect to port %d: %s", port, strerror(errno));
	return fd;
}

static int tcp_connect(int port)
{
	return tcp_connect_to(AF_INET, port);
}

/* The local "ip:port" of a client socket, as the server names its peer. */
static void local_name(int fd, char *out, size_t cap)
{
	struct sockaddr_in a;
	socklen_t sl = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	snprintf(out, cap, "127.0.0.1:%u", ntohs(a.sin_port));
}

static void send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Send in pieces of chunk bytes with a pause between, so the server sees
 * them as separate reads. */
static void send_split(int fd, const void *buf, size_t len, size_t chunk)
{
	const uint8_t *p = buf;
	for (size_t off = 0; off < len; off += chunk) {
		send_all(fd, p + off, len - off < chunk ? len - off : chunk);
		usleep(300);
	}
}

/* 1 if the server closes fd within ms (EOF or reset), 0 if not. */
static int closed_within(int fd, int ms)
{
	int64_t end = now_ms() + ms;
	for (;;) {
		int left = (int)(end - now_ms());
		if (left < 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left) <= 0)
			return 0;
		char b[256];
		ssize_t n = recv(fd, b, sizeof b, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
	}
}

static void udp_send(int port, const void *buf, size_t len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
	close(fd);
}

static uint8_t *read_example(const char *name, size_t *len)
{
	const char *dir = getenv("VL_EXAMPLES");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : "examples", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	uint8_t *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* Lines of buf (without LF). */
static size_t split_lines(const uint8_t *buf, size_t len, const uint8_t **line, size_t *ll,
                          size_t cap)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i < len && n < cap; i++)
		if (buf[i] == '\n') {
			line[n] = buf + start;
			ll[n++] = i - start;
			start = i + 1;
		}
	return n;
}

/* A TLS client connected to port, verifying the test certificate. */
struct tls_client {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

static void tls_connect(struct tls_client *t, int port, int max_version)
{
	t->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(t->ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(t->ctx, cert_path, NULL), 1);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (max_version)
		SSL_CTX_set_max_proto_version(t->ctx, max_version);
	t->fd = tcp_connect(port);
	t->ssl = SSL_new(t->ctx);
	assert_non_null(t->ssl);
	SSL_set_fd(t->ssl, t->fd);
	SSL_set1_host(t->ssl, "localhost");
	if (SSL_connect(t->ssl) != 1) {
		char why[256];
		ERR_error_string_n(ERR_get_error(), why, sizeof why);
		fail_msg("TLS handshake: %s", why);
	}
}

static void tls_send(struct tls_client *t, const void *buf, size_t len)
{
	assert_int_equal(SSL_write(t->ssl, buf, (int)len), (int)len);
}

static void tls_close(struct tls_client *t)
{
	SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	close(t->fd);
}

/* ------------------------------------------------------------ fixtures */

static vs_syslog_server *start(const char *tcp, const char *udp, const char *tls,
                               size_t max_message, int max_connections, int idle_ms)
{
	vs_syslog_config cfg = {
		.tcp = tcp,
		.udp = udp,
		.tls = tls,
		.tls_cert = cert_path,
		.tls_key = key_path,
		.max_message = max_message,
		.max_connections = max_connections,
		.idle_timeout_ms = idle_ms,
		.log = log_fn,
		.log_ctx = &sink,
	};
	vs_syslog_server *s = NULL;
	char err[512];
	if (vs_syslog_start(&cfg, sink_fn, &sink, &s, err, sizeof err) != 0)
		fail_msg("vs_syslog_start: %s", err);
	return s;
}

/* vs_syslog_start must fail with an error containing want. */
static void start_fails(const vs_syslog_config *base, const char *want)
{
	vs_syslog_config cfg = *base;
	vs_syslog_server *s = (vs_syslog_server *)&cfg; /* must be reset to NULL */
	char err[512] = "";
	if (vs_syslog_start(&cfg, sink_fn, &sink, &s, err, sizeof err) == 0) {
		vs_syslog_stop(s);
		fail_msg("vs_syslog_start succeeded; want \"%s\"", want);
	}
	assert_null(s);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static int setup(void **state)
{
	(void)state;
	pthread_mutex_init(&sink.mu, NULL);
	pthread_cond_init(&sink.cv, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof key_path, "%s/key.pem", tmpdir);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ed25519 -nodes -days 2 -subj /CN=localhost "
	         "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s -out %s "
	         ">/dev/null 2>&1",
	         key_path, cert_path);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make a test certificate with: %s\n", cmd);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sink_reset();
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int each_setup(void **state)
{
	(void)state;
	sink_reset();
	return 0;
}

/* ------------------------------------------------------------ tests */

static void test_tcp_octet_counted_split(void **state)
{
	(void)state;
	size_t blen, tlen;
	uint8_t *bin = read_example("syslog-rfc5424-octet-counted.bin", &blen);
	uint8_t *txt = read_example("syslog-rfc5424.txt", &tlen);
	const uint8_t *line[16];
	size_t ll[16];
	size_t n = split_lines(txt, tlen, line, ll, 16);
	assert_int_equal(n, 5);

	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	int port = vs_syslog_port(s, "syslog-tcp");
	assert_true(port > 0);
	assert_int_equal(vs_syslog_port(s, "tcp"), port);
	assert_int_equal(vs_syslog_port(s, "syslog-udp"), -1);
	int fd = tcp_connect(port);
	char me[64];
	local_name(fd, me, sizeof me);
	send_split(fd, bin, blen, 7);
	assert_int_equal(wait_messages(n), n);
	for (size_t i = 0; i < n; i++) {
		assert_rec(i, "syslog-tcp", line[i], ll[i]);
		assert_string_equal(sink.r[i].peer, me);
	}
	assert_int_equal(sink.r[0].pri, 86);
	close(fd);

	/* The counters move just after the sink returns. */
	assert_int_equal(WAIT_STAT(s, messages, n), n);
	vs_syslog_counters c;
	vs_syslog_stats(s, &c);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += ll[i];
	assert_int_equal(c.bytes, total);
	assert_int_equal(c.connections_total, 1);
	vs_syslog_stop(s);
	free(bin);
	free(txt);
}

static void test_tcp_lf_framing_split(void **state)
{
	(void)state;
	size_t tlen;
	uint8_t *txt = read_example("syslog-rfc3164.txt", &tlen);
	const uint8_t *line[16];
	size_t ll[16];
	size_t n = split_lines(txt, tlen, line, ll, 16);
	assert_int_equal(n, 3);

	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	int fd = tcp_connect(vs_syslog_port(s, "syslog-tcp"));
	send_split(fd, txt, tlen, 5);
	/* CRLF and a mix of framings on one connection. */
	static const char more[] = "<13>crlf line\r\n17 <14>octet counted<15>last\n";
	send_split(fd, more, sizeof more - 1, 3);
	assert_int_equal(wait_messages(n + 3), n + 3);
	for (size_t i = 0; i < n; i++)
		assert_rec(i, "syslog-tcp", line[i], ll[i]);
	assert_rec(n, "syslog-tcp", "<13>crlf line", 13);
	assert_rec(n + 1, "syslog-tcp", "<14>octet counted", 17);
	assert_rec(n + 2, "syslog-tcp", "<15>last", 8);
	close(fd);
	vs_syslog_stop(s);
	free(txt);
}

static void test_tcp_connections_in_order(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	int port = vs_syslog_port(s, "syslog-tcp");
	int a = tcp_connect(port), b = tcp_connect(port);
	char pa[64], pb[64];
	local_name(a, pa, sizeof pa);
	local_name(b, pb, sizeof pb);
	for (int i = 0; i < 50; i++) {
		char m[64];
		int n = snprintf(m, sizeof m, "<13>a %d\n", i);
		send_all(a, m, (size_t)n);
		n = snprintf(m, sizeof m, "<13>b %d\n", i);
		send_split(b, m, (size_t)n, 4);
	}
	assert_int_equal(wait_messages(100), 100);
	int next_a = 0, next_b = 0;
	for (size_t i = 0; i < 100; i++) {
		char want[64];
		struct rec *r = &sink.r[i];
		int is_a = strcmp(r->peer, pa) == 0;
		assert_true(is_a || strcmp(r->peer, pb) == 0);
		int n = snprintf(want, sizeof want, "<13>%s %d", is_a ? "a" : "b",
		                 is_a ? next_a++ : next_b++);
		assert_int_equal(r->len, (size_t)n);
		assert_memory_equal(r->msg, want, r->len);
	}
	close(a);
	close(b);
	vs_syslog_stop(s);
}

static void test_udp(void **state)
{
	(void)state;
	vs_syslog_server *s = start(NULL, "127.0.0.1:0", NULL, 100, 0, 0);
	int port = vs_syslog_port(s, "syslog-udp");
	assert_true(port > 0);
	udp_send(port, "<13>1 - - - - - - udp one\n", 26);
	udp_send(port, "<13>udp two", 11);
	udp_send(port, "not syslog", 10); /* parse reject */
	char big[200];
	memset(big, 'x', sizeof big);
	memcpy(big, "<13>", 4);
	udp_send(port, big, sizeof big); /* oversize */
	udp_send(port, "<13>udp three\r\n", 15);
	assert_int_equal(wait_messages(3), 3);
	assert_rec(0, "syslog-udp", "<13>1 - - - - - - udp one", 25);
	assert_rec(1, "syslog-udp", "<13>udp two", 11);
	assert_rec(2, "syslog-udp", "<13>udp three", 13);
	assert_non_null(strstr(sink.r[0].peer, "127.0.0.1:"));
	assert_int_equal(WAIT_STAT(s, reject_parse, 1), 1);
	assert_int_equal(WAIT_STAT(s, reject_oversize, 1), 1);
	vs_syslog_stop(s);
}

static void test_tls(void **state)
{
	(void)state;
	vs_syslog_server *s = start(NULL, NULL, "127.0.0.1:0", 0, 0, 0);
	int port = vs_syslog_port(s, "syslog-tls");
	assert_true(port > 0);
	struct tls_client t;
	tls_connect(&t, port, 0);
	assert_string_equal(SSL_get_version(t.ssl), "TLSv1.3");
	static const char m[] = "30 <13>1 - - - - - - over TLS 1.3<14>lf framed\n";
	tls_send(&t, m, 20);
	tls_send(&t, m + 20, sizeof m - 1 - 20);
	assert_int_equal(wait_messages(2), 2);
	assert_rec(0, "syslog-tls", "<13>1 - - - - - - over TLS 1.3", 30);
	assert_rec(1, "syslog-tls", "<14>lf framed", 13);
	tls_close(&t);

	tls_connect(&t, port, TLS1_2_VERSION);
	assert_string_equal(SSL_get_version(t.ssl), "TLSv1.2");
	tls_send(&t, "<13>over TLS 1.2\n", 17);
	assert_int_equal(wait_messages(3), 3);
	assert_rec(2, "syslog-tls", "<13>over TLS 1.2", 16);
	tls_close(&t);
	assert_int_equal(WAIT_STAT(s, connections_total, 2), 2);
	vs_syslog_stop(s);
}

static void test_tls_not_tls(void **state)
{
	(void)state;
	vs_syslog_server *s = start(NULL, NULL, "127.0.0.1:0", 0, 0, 0);
	int fd = tcp_connect(vs_syslog_port(s, "syslog-tls"));
	send_all(fd, "<13>plain text to a TLS port\n", 29);
	assert_true(closed_within(fd, 3000));
	close(fd);
	assert_int_equal(WAIT_STAT(s, tls_failures, 1), 1);
	assert_true(log_contains("TLS handshake failed"));
	/* A peer that connects and goes away, as port scanners do. */
	fd = tcp_connect(vs_syslog_port(s, "syslog-tls"));
	close(fd);
	assert_int_equal(WAIT_STAT(s, tls_failures, 2), 2);
	assert_true(log_contains("TLS handshake failed: the peer closed the connection"));
	assert_int_equal(wait_messages(1), 0);
	vs_syslog_stop(s);
}

static void test_tls_and_tcp_together(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", 0, 0, 0);
	int tcp = vs_syslog_port(s, "tcp"), udp = vs_syslog_port(s, "udp");
	int tls = vs_syslog_port(s, "tls");
	assert_true(tcp > 0 && udp > 0 && tls > 0 && tcp != tls);
	struct tls_client t;
	tls_connect(&t, tls, 0);
	tls_send(&t, "<13>one\n", 8);
	assert_int_equal(wait_messages(1), 1);
	int fd = tcp_connect(tcp);
	send_all(fd, "<13>two\n", 8);
	assert_int_equal(wait_messages(2), 2);
	udp_send(udp, "<13>three", 9);
	assert_int_equal(wait_messages(3), 3);
	assert_rec(0, "syslog-tls", "<13>one", 7);
	assert_rec(1, "syslog-tcp", "<13>two", 7);
	assert_rec(2, "syslog-udp", "<13>three", 9);
	tls_close(&t);
	close(fd);
	vs_syslog_stop(s);
}

static void test_port_in_use(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", "127.0.0.1:0", NULL, 0, 0, 0);
	char tcp[64], udp[64];
	snprintf(tcp, sizeof tcp, "127.0.0.1:%d", vs_syslog_port(s, "tcp"));
	snprintf(udp, sizeof udp, "127.0.0.1:%d", vs_syslog_port(s, "udp"));
	vs_syslog_config cfg = {.tcp = tcp};
	char want[128];
	snprintf(want, sizeof want, "syslog-tcp cannot listen on %s: Address already in use", tcp);
	start_fails(&cfg, want);
	cfg = (vs_syslog_config){.udp = udp};
	snprintf(want, sizeof want, "syslog-udp cannot listen on %s: Address already in use", udp);
	start_fails(&cfg, want);
	/* A free TCP port with a used UDP port: nothing is left bound. */
	int free_port;
	{
		vs_syslog_server *t = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
		free_port = vs_syslog_port(t, "tcp");
		vs_syslog_stop(t);
	}
	char free_tcp[64];
	snprintf(free_tcp, sizeof free_tcp, "127.0.0.1:%d", free_port);
	cfg = (vs_syslog_config){.tcp = free_tcp, .udp = udp};
	start_fails(&cfg, "Address already in use");
	vs_syslog_server *t = start(free_tcp, NULL, NULL, 0, 0, 0);
	vs_syslog_stop(t);
	vs_syslog_stop(s);
}

static void test_bad_cert_and_key(void **state)
{
	(void)state;
	vs_syslog_config cfg = {.tls = "127.0.0.1:0",
	                        .tls_cert = "/nonexistent/cert.pem",
	                        .tls_key = key_path};
	start_fails(&cfg, "cannot read TLS certificate /nonexistent/cert.pem: No such file");
	cfg.tls_cert = cert_path;
	cfg.tls_key = "/nonexistent/key.pem";
	start_fails(&cfg, "cannot read TLS key /nonexistent/key.pem");

	/* A file that is there but is not PEM. */
	char junk[160];
	snprintf(junk, sizeof junk, "%s/junk.pem", tmpdir);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not a certificate\n", f);
	fclose(f);
	cfg.tls_cert = junk;
	cfg.tls_key = key_path;
	char want[256];
	snprintf(want, sizeof want, "TLS certificate %s:", junk);
	start_fails(&cfg, want);
	cfg.tls_cert = cert_path;
	cfg.tls_key = junk;
	snprintf(want, sizeof want, "TLS key %s:", junk);
	start_fails(&cfg, want);

	/* A key of another certificate. */
	char other[160], cmd[512];
	snprintf(other, sizeof other, "%s/other.pem", tmpdir);
	snprintf(cmd, sizeof cmd,
	         "openssl genpkey -algorithm ed25519 -out %s >/dev/null 2>&1", other);
	assert_int_equal(system(cmd), 0);
	cfg.tls_key = other;
	start_fails(&cfg, "does not match certificate");

	/* With a TCP listener too: its port is not left bound. */
	vs_syslog_server *t = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	char tcp[64];
	snprintf(tcp, sizeof tcp, "127.0.0.1:%d", vs_syslog_port(t, "tcp"));
	vs_syslog_stop(t);
	cfg = (vs_syslog_config){.tcp = tcp, .tls = "127.0.0.1:0", .tls_cert = "/nonexistent/c",
	                         .tls_key = key_path};
	start_fails(&cfg, "/nonexistent/c");
	t = start(tcp, NULL, NULL, 0, 0, 0);
	vs_syslog_stop(t);
}

static void test_bad_config(void **state)
{
	(void)state;
	vs_syslog_config cfg = {0};
	start_fails(&cfg, "no tcp, udp or tls address");
	static const char *const bad[] = {"nonsense", "127.0.0.1", "127.0.0.1:", "[::1",
	                                  "[::1]6514", "::1:514", "127.0.0.1:65536",
	                                  "127.0.0.1:-1", ":514", "127.0.0.1:12ab"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg = (vs_syslog_config){.tcp = bad[i]};
		char want[128];
		snprintf(want, sizeof want, "\"%s\" is not host:port", bad[i]);
		start_fails(&cfg, want);
	}
	cfg = (vs_syslog_config){.udp = "192.0.2.1:514"}; /* not an address of this host */
	start_fails(&cfg, "syslog-udp cannot listen on 192.0.2.1:514");
	cfg = (vs_syslog_config){.tls = "127.0.0.1:0"};
	start_fails(&cfg, "a certificate and a key file are required");
	cfg = (vs_syslog_config){.tcp = "127.0.0.1:0", .max_message = VS_SYSLOG_MAX_LIMIT + 1};
	start_fails(&cfg, "max_message");
}

static void test_max_connections(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 2, 0);
	int port = vs_syslog_port(s, "tcp");
	int a = tcp_connect(port), b = tcp_connect(port);
	assert_int_equal(WAIT_STAT(s, connections_current, 2), 2);
	int c = tcp_connect(port);
	assert_true(closed_within(c, 3000));
	close(c);
	assert_int_equal(WAIT_STAT(s, connections_refused, 1), 1);
	assert_true(log_contains("refused, 2 connections already open"));
	/* The first two still work; closing one frees a slot. */
	send_all(a, "<13>a\n", 6);
	send_all(b, "<13>b\n", 6);
	assert_int_equal(wait_messages(2), 2);
	close(a);
	int64_t end = now_ms() + 5000;
	vs_syslog_counters k;
	do {
		usleep(2000);
		vs_syslog_stats(s, &k);
	} while (k.connections_current != 1 && now_ms() < end);
	assert_int_equal(k.connections_current, 1);
	int d = tcp_connect(port);
	send_all(d, "<13>d\n", 6);
	assert_int_equal(wait_messages(3), 3);
	assert_false(closed_within(d, 100));
	close(b);
	close(d);
	vs_syslog_stop(s);
}

static void test_oversize_closes(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 100, 0, 0);
	int port = vs_syslog_port(s, "tcp");
	int fd = tcp_connect(port);
	send_all(fd, "<13>fine\n200 <13>", 17);
	assert_true(closed_within(fd, 3000));
	close(fd);
	assert_int_equal(WAIT_STAT(s, reject_oversize, 1), 1);
	assert_true(log_contains("MSG-LEN exceeds the maximum message size 100"));

	char line[160];
	memset(line, 'x', sizeof line);
	memcpy(line, "<13>", 4);
	fd = tcp_connect(port);
	send_split(fd, line, sizeof line, 50);
	assert_true(closed_within(fd, 3000));
	close(fd);
	assert_int_equal(WAIT_STAT(s, reject_oversize, 2), 2);
	/* Exactly the maximum is fine. */
	fd = tcp_connect(port);
	line[99] = '\n';
	send_all(fd, line, 100);
	line[99] = 'x';
	line[100] = '\n';
	send_all(fd, line, 101);
	assert_int_equal(wait_messages(3), 3);
	assert_rec(1, "syslog-tcp", line, 99);
	assert_rec(2, "syslog-tcp", line, 100);
	close(fd);
	vs_syslog_stop(s);
}

static void test_framing_error_closes(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	int port = vs_syslog_port(s, "tcp");
	static const char *const bad[] = {"hello\n", "012 <13>123456789", "12x <13>", "5<13>x"};
	for (size_t i = 0; i < 4; i++) {
		int fd = tcp_connect(port);
		send_all(fd, "<13>before\n", 11);
		send_all(fd, bad[i], strlen(bad[i]));
		assert_true(closed_within(fd, 3000));
		close(fd);
		assert_int_equal(WAIT_STAT(s, reject_framing, i + 1), i + 1);
	}
	assert_int_equal(wait_messages(4), 4);
	assert_true(log_contains("closing the connection: stream byte 11"));
	vs_syslog_stop(s);
}

static void test_parse_reject_keeps_connection(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	int fd = tcp_connect(vs_syslog_port(s, "tcp"));
	send_all(fd, "<999>bad pri\n<13>good\n", 22);
	send_all(fd, "<13>1 2026-13-01T00:00:00Z - - - - -\n", 37);
	assert_int_equal(wait_messages(1), 1);
	assert_rec(0, "syslog-tcp", "<13>good", 8);
	assert_int_equal(WAIT_STAT(s, reject_parse, 2), 2);
	assert_false(closed_within(fd, 100));
	send_all(fd, "<13>still open\n", 15);
	assert_int_equal(wait_messages(2), 2);
	assert_true(log_contains("not RFC 5424 or RFC 3164: byte 1: PRI 999"));
	close(fd);
	vs_syslog_stop(s);
}

static void test_sink_reject_closes(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", "127.0.0.1:0", NULL, 0, 0, 0);
	int fd = tcp_connect(vs_syslog_port(s, "tcp"));
	send_all(fd, "<13>one\n<13>REJECT me\n<13>never\n", 32);
	assert_true(closed_within(fd, 3000));
	close(fd);
	assert_int_equal(WAIT_STAT(s, reject_sink, 1), 1);
	/* The sink saw the refused message, but not the one after it. */
	assert_int_equal(wait_messages(2), 2);
	usleep(50000);
	assert_int_equal(sink.n, 2);
	assert_int_equal(WAIT_STAT(s, messages, 1), 1);
	/* Over UDP a refusal closes nothing. */
	int port = vs_syslog_port(s, "udp");
	udp_send(port, "<13>REJECT", 10);
	udp_send(port, "<13>after", 9);
	assert_int_equal(wait_messages(4), 4);
	assert_int_equal(WAIT_STAT(s, reject_sink, 2), 2);
	vs_syslog_stop(s);
}

static void test_closed_inside_message(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, "127.0.0.1:0", 0, 0, 0);
	int fd = tcp_connect(vs_syslog_port(s, "tcp"));
	send_all(fd, "<13>whole\n<13>half", 18);
	assert_int_equal(wait_messages(1), 1);
	close(fd);
	assert_int_equal(WAIT_STAT(s, reject_framing, 1), 1);
	assert_true(log_contains("connection closed inside a message"));
	/* The same over TLS, closed without close_notify. */
	struct tls_client t;
	tls_connect(&t, vs_syslog_port(s, "tls"), 0);
	tls_send(&t, "20 <13>cut", 10);
	SSL_free(t.ssl);
	SSL_CTX_free(t.ctx);
	close(t.fd);
	assert_int_equal(WAIT_STAT(s, reject_framing, 2), 2);
	assert_int_equal(sink.n, 1);
	vs_syslog_stop(s);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, "127.0.0.1:0", 0, 0, 200);
	int fd = tcp_connect(vs_syslog_port(s, "tcp"));
	send_all(fd, "<13>x\n", 6);
	int64_t t0 = now_ms();
	assert_true(closed_within(fd, 3000));
	assert_true(now_ms() - t0 >= 150);
	close(fd);
	/* A TLS client that never says hello. */
	fd = tcp_connect(vs_syslog_port(s, "tls"));
	assert_true(closed_within(fd, 3000));
	close(fd);
	assert_int_equal(WAIT_STAT(s, idle_timeouts, 2), 2);
	assert_int_equal(wait_messages(1), 1);
	vs_syslog_stop(s);
}

static void test_stop_with_connections_open(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", 0, 0, -1);
	int tcp = tcp_connect(vs_syslog_port(s, "tcp"));
	int half = tcp_connect(vs_syslog_port(s, "tcp"));
	int hello = tcp_connect(vs_syslog_port(s, "tls")); /* no handshake */
	struct tls_client t;
	tls_connect(&t, vs_syslog_port(s, "tls"), 0);
	send_all(tcp, "<13>x\n", 6);
	send_all(half, "<13>half a mess", 15);
	tls_send(&t, "<13>y\n", 6);
	assert_int_equal(wait_messages(2), 2);
	assert_int_equal(WAIT_STAT(s, connections_current, 4), 4);
	int64_t t0 = now_ms();
	vs_syslog_stop(s);
	int64_t took = now_ms() - t0;
	if (took > 1000)
		fail_msg("stopping took %lld ms", (long long)took);
	assert_true(closed_within(tcp, 1000));
	assert_true(closed_within(half, 1000));
	assert_true(closed_within(hello, 1000));
	assert_true(closed_within(t.fd, 1000));
	close(tcp);
	close(half);
	close(hello);
	tls_close(&t);
	vs_syslog_stop(NULL);
}

static void test_ipv6(void **state)
{
	(void)state;
	vs_syslog_config cfg = {.tcp = "[::1]:0", .udp = "[::1]:0"};
	vs_syslog_server *s = NULL;
	char err[256];
	if (vs_syslog_start(&cfg, sink_fn, &sink, &s, err, sizeof err) != 0) {
		/* No IPv6 loopback here (some containers): the error must say so. */
		assert_non_null(strstr(err, "[::1]:0"));
		skip();
	}
	int fd = tcp_connect_to(AF_INET6, vs_syslog_port(s, "tcp"));
	send_all(fd, "<13>over IPv6\n", 14);
	assert_int_equal(wait_messages(1), 1);
	assert_rec(0, "syslog-tcp", "<13>over IPv6", 13);
	assert_true(strncmp(sink.r[0].peer, "[::1]:", 6) == 0);
	close(fd);
	vs_syslog_stop(s);
}

static void test_many_messages_split_everywhere(void **state)
{
	(void)state;
	vs_syslog_server *s = start("127.0.0.1:0", NULL, NULL, 0, 0, 0);
	int fd = tcp_connect(vs_syslog_port(s, "tcp"));
	/* 300 messages, alternating framings, in one buffer sent in odd
	 * pieces. */
	char *buf = malloc(64 * 300);
	assert_non_null(buf);
	size_t len = 0;
	for (int i = 0; i < 300; i++) {
		char m[48];
		int n = snprintf(m, sizeof m, "<%d>message number %d", i % 192, i);
		if (i % 2)
			len += (size_t)sprintf(buf + len, "%d %s", n, m);
		else
			len += (size_t)sprintf(buf + len, "%s\n", m);
	}
	send_split(fd, buf, len, 97);
	assert_int_equal(wait_messages(300), 300);
	for (int i = 0; i < 300; i++) {
		char m[48];
		int n = snprintf(m, sizeof m, "<%d>message number %d", i % 192, i);
		assert_rec((size_t)i, "syslog-tcp", m, (size_t)n);
		assert_int_equal(sink.r[i].pri, i % 192);
	}
	free(buf);
	close(fd);
	vs_syslog_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_tcp_octet_counted_split, each_setup),
		cmocka_unit_test_setup(test_tcp_lf_framing_split, each_setup),
		cmocka_unit_test_setup(test_tcp_connections_in_order, each_setup),
		cmocka_unit_test_setup(test_many_messages_split_everywhere, each_setup),
		cmocka_unit_test_setup(test_udp, each_setup),
		cmocka_unit_test_setup(test_tls, each_setup),
		cmocka_unit_test_setup(test_tls_not_tls, each_setup),
		cmocka_unit_test_setup(test_tls_and_tcp_together, each_setup),
		cmocka_unit_test_setup(test_port_in_use, each_setup),
		cmocka_unit_test_setup(test_bad_cert_and_key, each_setup),
		cmocka_unit_test_setup(test_bad_config, each_setup),
		cmocka_unit_test_setup(test_max_connections, each_setup),
		cmocka_unit_test_setup(test_oversize_closes, each_setup),
		cmocka_unit_test_setup(test_framing_error_closes, each_setup),
		cmocka_unit_test_setup(test_parse_reject_keeps_connection, each_setup),
		cmocka_unit_test_setup(test_sink_reject_closes, each_setup),
		cmocka_unit_test_setup(test_closed_inside_message, each_setup),
		cmocka_unit_test_setup(test_idle_timeout, each_setup),
		cmocka_unit_test_setup(test_stop_with_connections_open, each_setup),
		cmocka_unit_test_setup(test_ipv6, each_setup),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
