/*
 * ingest_parse.h — strict validation of ingest request bodies (JSON,
 * NDJSON, CloudEvents, Kubernetes audit EventLists) and their split into
 * per-event byte spans, plus top-level string member extraction.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Events are recorded exactly as received, so nothing here copies or
 * rewrites a body: vs_body_split only checks it and reports where each
 * event's bytes are.  Bodies are (pointer, length) and need not be
 * NUL-terminated.  No function recurses, and the only memory allocated is
 * a table of object keys for duplicate detection that grows past a small
 * on-stack buffer only for objects with many keys (at most 16 bytes per
 * key in the body) and is freed before returning.  All functions are
 * thread-safe.
 */
#ifndef VS_INGEST_PARSE_H
#define VS_INGEST_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of objects and arrays in one event; the event object
 * itself is at depth 1.  Envelopes (a batch array, an EventList) do not
 * count towards an event's depth; an EventList's other members count from
 * the EventList object, at depth 1. */
#define VS_MAX_DEPTH 64

enum vs_body_kind {
	VS_BODY_JSON,              /* application/json: one object, or an array of objects */
	VS_BODY_NDJSON,            /* application/x-ndjson: one object a line */
	VS_BODY_CLOUDEVENT,        /* application/cloudevents+json: one CloudEvent */
	VS_BODY_CLOUDEVENTS_BATCH, /* application/cloudevents-batch+json: an array of them */
	VS_BODY_K8S_EVENTLIST,     /* a Kubernetes audit.k8s.io/v1 EventList (webhook body) */
};

/* One event's bytes: body[off .. off + len). */
typedef struct vs_span {
	size_t off, len;
} vs_span;

/*
 * Why a body was rejected.  code is a short, stable, machine-readable
 * name (a string literal, never freed):
 *
 *   "empty_body"       no events: empty body, blank NDJSON, [] or "items": []
 *   "malformed_json"   not RFC 8259 JSON (syntax, control characters,
 *                      bad escapes or numbers, a byte order mark, ...)
 *   "bad_utf8"         invalid UTF-8 in a string, or an unpaired surrogate
 *                      escape such as "\ud800"
 *   "too_deep"         an event nests deeper than VS_MAX_DEPTH
 *   "duplicate_key"    a key occurs twice in one object (after unescaping)
 *   "not_an_object"    an event is not a JSON object
 *   "too_many_events"  more events than the caller allows
 *   "wrong_kind"       the body's shape belongs to another kind (an array
 *                      sent as one CloudEvent, an EventList whose kind is
 *                      not "EventList", ...), or an unknown kind
 *   "missing_field"    a required member is absent
 *   "bad_field"        a required member has the wrong type or value
 *   "out_of_memory"    the key table could not grow
 *   "bad_argument"     n is NULL, body is NULL with len > 0, or spans is
 *                      NULL with max_events > 0
 *
 * offset is the byte offset in the body where the problem was found;
 * event is the 0-based index of the offending event, or -1 if the problem
 * is not in one event (the envelope, or the body as a whole).  message is
 * one English sentence that names the offset and the event, if any, e.g.
 * "event 3: expected ',' or ']' but found '2' at byte 1234" (NDJSON
 * messages also name the 1-based line); it is valid UTF-8 without C0
 * control characters, and quotes the body only for a duplicate key.
 */
typedef struct vs_parse_error {
	size_t offset;
	long event;
	char message[200];
	const char *code;
} vs_parse_error;

/*
 * The body kind for a Content-Type header value, or -1 if it is not one
 * vellum accepts (the caller answers 415).  The media type is matched
 * case-insensitively, with optional whitespace around it:
 *
 *   application/json                    VS_BODY_JSON
 *   application/x-ndjson,
 *   application/ndjson                  VS_BODY_NDJSON
 *   application/cloudevents+json        VS_BODY_CLOUDEVENT
 *   application/cloudevents-batch+json  VS_BODY_CLOUDEVENTS_BATCH
 *
 * Parameters ("; name=value", value a token or a quoted string) are
 * allowed; a charset parameter must be utf-8 (any case), others are
 * ignored.  Malformed parameters and a NULL ct give -1.  Kubernetes sends
 * its audit webhook as application/json, so VS_BODY_K8S_EVENTLIST is never
 * returned: the caller chooses it by endpoint.
 */
int vs_body_kind_from_content_type(const char *ct);

/*
 * Validate body[0 .. len) as KIND and store each event's exact bytes as
 * spans[0 .. *n), in body order.  A span never includes surrounding
 * whitespace, commas or line ends: for arrays it is one element, for
 * NDJSON one line's value.  The whole body is strict RFC 8259 JSON (NDJSON:
 * each non-blank line is) in UTF-8 without a byte order mark, with no
 * duplicate keys in any object, and every event is an object nested at
 * most VS_MAX_DEPTH deep.  Per kind:
 *
 *   VS_BODY_JSON               one object (1 event) or a non-empty array
 *                              of objects.
 *   VS_BODY_NDJSON             lines end in "\n" (or "\r\n"; the last may
 *                              have neither); blank lines (only spaces,
 *                              tabs or "\r") are skipped; at least one
 *                              event.
 *   VS_BODY_CLOUDEVENT         one object with string members
 *                              "specversion" equal to "1.0" and non-empty
 *                              "id", "source" and "type".
 *   VS_BODY_CLOUDEVENTS_BATCH  a non-empty array of such objects.
 *   VS_BODY_K8S_EVENTLIST      an object with "kind": "EventList",
 *                              "apiVersion": "audit.k8s.io/v1" and
 *                              "items", a non-empty array of objects that
 *                              each have non-empty string members "auditID"
 *                              and "stage"; the events are the items.
 *
 * Only top-level members of an event or envelope are checked.  Room for
 * max_events spans is required; more events fail with too_many_events.
 * Returns 0, or -1 with *err filled (err may be NULL) and *n the number
 * of events accepted before the error; on success err->code is NULL.
 */
int vs_body_split(enum vs_body_kind kind, const uint8_t *body, size_t len, vs_span *spans,
                  size_t max_events, size_t *n, vs_parse_error *err);

/*
 * Find the top-level member KEY (a NUL-terminated UTF-8 string, compared
 * with the member name after unescaping) of the JSON object obj[0 .. len),
 * normally an event span from vs_body_split.  If its value is a string,
 * write it unescaped (\u escapes of four hex digits, surrogate pairs included, become
 * UTF-8) and NUL-terminated to out[0 .. cap) and return its length in
 * bytes; an escaped "\u0000" is copied as a NUL byte, so a length other
 * than strlen(out) means the string holds one.  Returns -1 if the member
 * is absent or not a string, -2 if the string and its NUL do not fit in
 * cap bytes (out then holds an unspecified prefix).  The object should
 * already be validated; on other input the result is unspecified but no
 * byte outside obj[0 .. len) is read, and the work stays linear in len.
 */
long vs_json_object_string(const uint8_t *obj, size_t len, const char *key, char *out, size_t cap);

#endif /* VS_INGEST_PARSE_H */
