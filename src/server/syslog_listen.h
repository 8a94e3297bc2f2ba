/*
 * syslog_listen.h — syslog listeners: TCP and TLS (RFC 6587 framing,
 * RFC 5425 transport) and UDP (RFC 5426), each on its own threads, handing
 * every complete, parseable message to a sink.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Threads: one acceptor per TCP or TLS listener, one thread per connection
 * (at most max_connections over TCP and TLS together; a connection beyond
 * that is accepted and closed at once), one thread for UDP.  The sink is
 * called on those threads, concurrently from different connections but in
 * order within one connection, and may block.
 *
 * What happens to a message: one that fails vs_syslog_parse is counted
 * (reject "parse") and dropped, and a stream connection stays open, since
 * its framing is intact.  A framing error or an oversize message on a
 * stream counts a reject ("framing" or "oversize") and closes the
 * connection, whose framing is then lost; so does a peer closing inside a
 * message ("framing").  A sink that returns non-zero counts a reject
 * ("sink") and, on a stream, closes the connection: syslog has no negative
 * acknowledgement, so closing is the only way to tell the sender.  Over
 * UDP a datagram is one message; trailing CR, LF and NUL bytes are not
 * part of it, and one longer than max_message is an "oversize" reject.
 */
#ifndef VS_SERVER_SYSLOG_LISTEN_H
#define VS_SERVER_SYSLOG_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include "syslog.h"

typedef struct vs_syslog_server vs_syslog_server;

typedef struct vs_syslog_delivery {
	const uint8_t *msg;          /* the message's bytes as received */
	size_t len;                  /* 1..max_message */
	const vs_syslog_msg *parsed; /* its fields (spans into msg) */
	const char *transport;       /* "syslog-tcp", "syslog-udp" or "syslog-tls" */
	const char *peer;            /* "ip:port", IPv6 as "[ip]:port" */
} vs_syslog_delivery;

/* Called on a listener thread for every complete message; return 0 to
 * accept.  Everything d points to is valid only during the call. */
typedef int (*vs_syslog_sink)(void *ctx, const vs_syslog_delivery *d);

/* Optional: one line (no newline) about something an operator may want
 * to know: a connection closed for a framing error, an oversize message,
 * a failed TLS handshake, a refused connection.  Called on listener
 * threads; parse rejects are reported at most once a second. */
typedef void (*vs_syslog_logger)(void *ctx, const char *line);

typedef struct vs_syslog_config {
	/* "addr:port" to listen on, or NULL.  addr is an IPv4 address, an
	 * IPv6 address in brackets ("[::1]:6514") or a host name; port 0
	 * picks a free port (see vs_syslog_port). */
	const char *tcp;
	const char *udp;
	const char *tls;
	const char *tls_cert; /* PEM certificate chain, leaf first (TLS only) */
	const char *tls_key;  /* PEM private key, without a passphrase */
	size_t max_message;   /* 0: VS_SYSLOG_MAX_DEFAULT; at most VS_SYSLOG_MAX_LIMIT */
	int max_connections;  /* TCP and TLS together; 0: 256 */
	int idle_timeout_ms;  /* close a silent connection; 0: 300000, < 0: never */
	vs_syslog_logger log; /* may be NULL */
	void *log_ctx;
} vs_syslog_config;

typedef struct vs_syslog_counters {
	uint64_t messages;        /* accepted by the sink */
	uint64_t bytes;           /* in those messages */
	uint64_t reject_parse;    /* not RFC 5424 or RFC 3164 */
	uint64_t reject_oversize; /* longer than max_message */
	uint64_t reject_framing;  /* bad framing, or a stream closed inside a message */
	uint64_t reject_sink;     /* refused by the sink */
	uint64_t connections_current;
	uint64_t connections_total;   /* accepted and served */
	uint64_t connections_refused; /* over max_connections (or no thread) */
	uint64_t idle_timeouts;       /* connections closed for idleness */
	uint64_t tls_failures;        /* failed TLS handshakes and TLS errors */
} vs_syslog_counters;

/*
 * Bind every configured listener (and load the TLS certificate and key)
 * before starting any thread: on failure nothing is left running, -1 is
 * returned and err names the address or file and the reason.  On success
 * *out is the running server and 0 is returned.
 */
int vs_syslog_start(const vs_syslog_config *cfg, vs_syslog_sink sink, void *ctx,
                    vs_syslog_server **out, char *err, size_t errcap);

/* Stop accepting, close every connection without reading further (the
 * rest of a chunk already read is still delivered), join all threads and
 * free s.  A sink call in progress is waited for.  s may be NULL. */
void vs_syslog_stop(vs_syslog_server *s);

void vs_syslog_stats(const vs_syslog_server *s, vs_syslog_counters *out);

/* The bound port of a transport ("syslog-tcp", "syslog-udp", "syslog-tls",
 * or "tcp", "udp", "tls"), or -1 if it is not configured. */
int vs_syslog_port(const vs_syslog_server *s, const char *transport);

#endif
