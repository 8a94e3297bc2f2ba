/*
 * envelope.h — the bytes vellum stores for one ingested event.
 *
 * Every event the server accepts becomes one log entry: a short text header
 * that commits to how and when the event arrived and who sent it, a blank
 * line, then the event's bytes exactly as received.  The format is
 * byte-exact (docs/format.md, "Event envelope"):
 *
 *   vellum-event/1\n
 *   received: 2026-11-26T15:04:05.123456789Z\n      UTC, always 9 digits
 *   principal: <token name | "anonymous">\n
 *   transport: <http | k8s-audit | syslog-tcp | syslog-udp | syslog-tls>\n
 *   content-type: <media type of the event>\n
 *   [peer: <address:port>\n]                          syslog only
 *   [agent: <agent id>\n                               forwarded by an agent
 *    spool-index: <n>\n                                (transport "agent"):
 *    spooled: <time, as received>\n                    the event's place and
 *    [origin: <source spec>\n]]                        time in its spool
 *   [idempotency-key: <64 lowercase hex, SHA-256>\n
 *    request-events: <n>\n]                           with an idempotency key
 *   \n
 *   <event bytes>
 *
 * Header values are printable ASCII (0x20..0x7e) only, at most 255 bytes.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_ENVELOPE_H
#define VS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VS_ENVELOPE_MAGIC "vellum-event/1\n"
#define VS_HEADER_VALUE_MAX 255
#define VS_IDEM_KEY_SIZE 32

typedef struct vs_envelope {
	struct timespec received;   /* CLOCK_REALTIME */
	const char *principal;      /* token name or "anonymous" */
	const char *transport;
	const char *content_type;
	const char *peer;           /* NULL: no peer line */
	const char *agent;          /* NULL: no agent lines */
	uint64_t spool_index;       /* with agent */
	struct timespec spooled;    /* with agent */
	const char *origin;         /* with agent; NULL or "": no origin line */
	const uint8_t *idem_key;    /* NULL, or VS_IDEM_KEY_SIZE bytes */
	uint32_t request_events;    /* with idem_key: events of the request (>= 1) */
} vs_envelope;

/* Length of the header (everything before the event bytes), or 0 if a
 * value is not printable ASCII or longer than VS_HEADER_VALUE_MAX. */
size_t vs_envelope_header_len(const vs_envelope *e);

/* Write the header into out (cap >= vs_envelope_header_len(e)); returns the
 * header length or 0.  The caller appends the event bytes. */
size_t vs_envelope_write_header(const vs_envelope *e, uint8_t *out, size_t cap);

/* The part of a header that the events of one request share (all but the
 * idempotency lines): built once, then written per event. */
typedef struct vs_envelope_template {
	uint8_t prefix[7 * (VS_HEADER_VALUE_MAX + 16) + 128];
	size_t len;
} vs_envelope_template;

/* From E (its idem_key and request_events are not used): 0, or -1 if a
 * value is not printable ASCII or too long. */
int vs_envelope_template_init(vs_envelope_template *t, const vs_envelope *e);

/* Write a header: the template, the idempotency lines when KEY is not NULL
 * (request_events >= 1), and the blank line.  out may be NULL to get the
 * length; returns the length, or 0 if it does not fit in cap. */
size_t vs_envelope_template_write(const vs_envelope_template *t, const uint8_t *key,
                                  uint32_t request_events, uint8_t *out, size_t cap);

/* A parsed envelope; spans point into the entry. */
typedef struct vs_envelope_view {
	int64_t received_sec;
	uint32_t received_nsec;
	const char *principal, *transport, *content_type, *peer; /* not NUL-terminated */
	size_t principal_len, transport_len, content_type_len, peer_len;
	int has_agent;
	const char *agent, *origin;     /* not NUL-terminated; origin may be empty */
	size_t agent_len, origin_len;
	uint64_t spool_index;
	int64_t spooled_sec;
	uint32_t spooled_nsec;
	int has_idem_key;
	uint8_t idem_key[VS_IDEM_KEY_SIZE];
	uint32_t request_events;
	size_t event_off, event_len;   /* the event bytes */
} vs_envelope_view;

/* Parse an entry as an envelope.  0, or -1 if it is not one (a log may hold
 * entries appended by other means). */
int vs_envelope_parse(const uint8_t *entry, size_t len, vs_envelope_view *out);

#endif
