/*
 * wire.h — what the agent sends and how it paces retries: the body of
 * POST /v1/logs/{log}/forward (application/x-vellum-forward), the fields
 * it reads from the server's JSON answer, and exponential backoff with
 * full jitter.
 *
 * A forward body is records back to back, each (integers big-endian):
 *
 *   u64  spool index
 *   i64  spooled time, nanoseconds since the Unix epoch (UTC)
 *   u8   origin length L (0..255), then L bytes of origin
 *   u32  event length E (1..65535), then E bytes of event
 *
 * Records in one body have strictly increasing spool indexes.  The answer
 * to a 200 is JSON like
 *   {"log":"default","agent":"<id>","records":N,"written":W,
 *    "duplicates":D,"through":T}
 * where T is the highest spool index such that the server holds every
 * index 0..T for this agent, or -1.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_WIRE_H
#define VA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VA_FORWARD_CONTENT_TYPE "application/x-vellum-forward"
#define VA_RECORD_FIXED (8 + 8 + 1 + 4) /* a record's bytes besides origin and event */

/* A growable byte buffer. */
typedef struct va_buf {
	uint8_t *data;
	size_t len, cap;
} va_buf;

/* 0 or VL_ENOMEM. */
int va_buf_reserve(va_buf *b, size_t more);
int va_buf_append(va_buf *b, const void *p, size_t n);
void va_buf_free(va_buf *b);

/* The encoded size of one record. */
size_t va_record_size(size_t origin_len, size_t event_len);

/*
 * Appends one record to B.  VL_EINVAL for an origin over 255 bytes or an
 * event of 0 or over 65535 bytes; VL_ENOMEM.  The caller keeps indexes
 * increasing.
 */
int va_record_encode(va_buf *b, uint64_t index, int64_t spooled_ns, const char *origin,
                     size_t origin_len, const uint8_t *event, size_t event_len);

/* One record decoded from a body (for tests and tools). */
typedef struct va_record {
	uint64_t index;
	int64_t spooled_ns;
	const char *origin;
	size_t origin_len;
	const uint8_t *event;
	size_t event_len;
} va_record;

/* Decodes the record at *off in BODY and advances *off.  1 for a record,
 * 0 at the end of the body, VL_EFORMAT for a malformed one. */
int va_record_decode(const uint8_t *body, size_t len, size_t *off, va_record *r);

/* The fields of a forward answer; -2 where a field is absent. */
typedef struct va_reply {
	int64_t records, written, duplicates, through;
} va_reply;

/* Reads the numeric top-level fields of a JSON object (a tolerant scan,
 * not a validating parser).  0 if the body is an object with "through";
 * -1 otherwise. */
int va_reply_parse(const char *body, size_t len, va_reply *r);

/* The "code" and "message" of an error body {"error":{...}} into code and
 * msg (each NUL-terminated, truncated to its cap); empty when absent. */
void va_reply_error(const char *body, size_t len, char *code, size_t code_cap, char *msg,
                    size_t msg_cap);

/* JSON helpers for the agent's own files and log lines. */

/* JSON string escaping: vs_json_escape (src/server/json_escape.h). */
/* A top-level integer field of a JSON object: 0 and *v, or -1. */
int va_json_int(const char *body, size_t len, const char *key, int64_t *v);
/* A top-level string field (escapes reduced to their character; control
 * characters become spaces): 0, or -1 when absent or not a string. */
int va_json_str(const char *body, size_t len, const char *key, char *out, size_t cap);

/* Retry pacing: attempt k (from 0) waits a uniformly random time in
 * [0, min(cap, base * 2^k)] ("full jitter"). */
typedef struct va_backoff {
	uint64_t base_ms, cap_ms;
	unsigned attempt;
	uint64_t rng; /* xorshift64* state, never 0 */
} va_backoff;

void va_backoff_init(va_backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t seed);
/* The ceiling of the next wait: min(cap, base * 2^attempt). */
uint64_t va_backoff_ceiling(const va_backoff *b);
/* The next wait in milliseconds; advances the attempt. */
uint64_t va_backoff_next(va_backoff *b);
/* After a success: the next failure waits at most base again. */
void va_backoff_reset(va_backoff *b);

/* Whether an HTTP status is worth retrying at once with backoff (5xx, 408,
 * 429), as opposed to a 4xx that retrying cannot fix. */
int va_status_retryable(long status);

#endif
