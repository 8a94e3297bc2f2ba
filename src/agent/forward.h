/*
 * forward.h — the agent's HTTP(S) client: one kept-alive libcurl handle
 * that POSTs forward bodies (wire.h) to {URL}/v1/logs/{log}/forward with
 *
 *   Authorization: Bearer <token>
 *   Content-Type: application/x-vellum-forward
 *   Vellum-Agent: <agent id>
 *
 * and classifies the outcome: success (2xx), a failure worth retrying at
 * once with backoff (no answer, 5xx, 408, 429), or one retrying cannot fix
 * (any other status).  Every request has a total timeout, so a blackholed
 * connection is noticed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_FORWARD_H
#define VA_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

typedef struct va_forwarder va_forwarder;

typedef struct va_fwd_result {
	int ok;                  /* a 2xx answer */
	int retryable;           /* on failure: retry with backoff */
	long status;             /* the HTTP status; 0 without an answer */
	int reply_ok;            /* on success: the answer had "through" */
	va_reply reply;
	uint64_t retry_after_ms; /* a Retry-After header in seconds, else 0 */
	char code[64];           /* the error body's code, or a curl error name */
	char error[512];         /* what went wrong, for logs and status */
} va_fwd_result;

/* URL is the server base (a trailing '/' is ignored); LOG a log name. */
int va_forwarder_open(const char *url, const char *log, const char *token,
                      const char *agent_id, long timeout_s, va_forwarder **out, char *err,
                      size_t errcap);
int va_forwarder_post(va_forwarder *f, const uint8_t *body, size_t len, va_fwd_result *r);
void va_forwarder_close(va_forwarder *f);
/* The endpoint URL, for messages. */
const char *va_forwarder_url(const va_forwarder *f);

#endif
