/*
 * source.h — where the agent's events come from.  A source turns some input
 * into events (byte strings of 1..VA_EVENT_MAX bytes), each with the
 * source position after it, and is pluggable: a kind is a spec prefix and
 * a table of operations (file:PATH and stdin now; syslog and journald
 * later).
 *
 * Line-oriented sources (file, stdin) make one event per line: the
 * newline is stripped, empty lines are skipped, and a line longer than
 * VA_EVENT_MAX bytes is split into pieces of VA_EVENT_MAX bytes (the last
 * piece holds the rest), so no byte is ever lost to a length limit.  A
 * final line without a newline is an event only once its input has ended
 * (stdin at EOF, a file that was rotated away); until then it may still
 * grow.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_SOURCE_H
#define VA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"

/* Events read but not yet spooled: their bytes back to back. */
typedef struct va_batch_event {
	size_t off, len;     /* in data */
	va_position pos;     /* the source's position after this event */
} va_batch_event;

typedef struct va_batch {
	uint8_t *data;
	size_t len, cap;
	va_batch_event *ev;
	size_t n, ev_cap;
	size_t max_events, max_bytes; /* a source stops adding at either */
	size_t overhead;              /* bytes counted per event besides its own
	                                 (its spool entry header) */
} va_batch;

void va_batch_init(va_batch *b, size_t max_events, size_t max_bytes);
void va_batch_clear(va_batch *b);
void va_batch_free(va_batch *b);
int va_batch_add(va_batch *b, const uint8_t *p, size_t len, const va_position *pos);
int va_batch_full(const va_batch *b);

/*
 * Splits bytes into line events.  The caller feeds bytes that follow
 * position START (the offset of buf[0]); va_lines_take() adds the complete
 * events to the batch and returns how many bytes it consumed (events,
 * their newlines and skipped empty lines).  With FINAL, a last line
 * without newline is an event too.  POS is the template for the events'
 * positions (inode, head), whose offset is set per event; HEAD_FN, when
 * set, computes the head fingerprint for an event ending at an offset.
 */
typedef uint64_t (*va_head_fn)(void *ctx, uint64_t end_offset);
size_t va_lines_take(const uint8_t *buf, size_t len, uint64_t start, int final,
                     const va_position *pos, va_head_fn head_fn, void *head_ctx, va_batch *b,
                     int *rc);

/* ------------------------------------------------------------------ */
/* The source interface.                                               */

typedef struct va_source va_source;

/* A message from a source for the agent's log (rotation, truncation). */
typedef void (*va_note_fn)(void *ctx, int level, const char *origin, const char *msg,
                           const char *detail);

enum { VA_NOTE_INFO = 1, VA_NOTE_WARN = 2, VA_NOTE_ERROR = 3 };

/* va_source_read() results. */
enum {
	VA_SOURCE_OK = 0,   /* b has what was available (maybe nothing) */
	VA_SOURCE_EOF = 1,  /* the input has ended: b has its last events */
};

struct va_source_ops {
	const char *kind; /* "file", "stdin" */
	/* Adds what is available now, waiting up to TIMEOUT_MS for the first
	 * byte; never more than b's limits.  VA_SOURCE_OK, VA_SOURCE_EOF, or a
	 * negative error. */
	int (*read)(va_source *s, va_batch *b, int timeout_ms);
	void (*close)(va_source *s);
	/* Optional, for sources that cannot be read again (syslog): stop
	 * taking new input but keep what was taken, which read still returns,
	 * then VA_SOURCE_EOF.  The agent calls it at SIGTERM/SIGINT and reads
	 * on (for a few seconds at most) so that nothing taken is lost.  0 or
	 * a negative error. */
	int (*quiesce)(va_source *s);
};

struct va_source {
	const struct va_source_ops *ops;
	char origin[VA_ORIGIN_MAX + 1]; /* the normalised spec */
	int resumable;                  /* positions mean something after a restart */
	va_note_fn note;
	void *note_ctx;
};

/*
 * The origin of SPEC: "stdin", or "file:" + an absolute path (a relative
 * path is made absolute against the working directory; nothing else is
 * changed).  0, or -1 with a reason in err.
 */
int va_source_origin(const char *spec, char *origin, size_t cap, char *err, size_t errcap);

/*
 * Opens the source for ORIGIN, resuming after RESUME (NULL: from the
 * start of the input; ignored by sources that cannot resume).  A file that
 * does not exist yet is waited for.  0, or a negative code with err set.
 */
int va_source_open(const char *origin, const va_position *resume, va_note_fn note,
                   void *note_ctx, va_source **out, char *err, size_t errcap);

static inline int va_source_read(va_source *s, va_batch *b, int timeout_ms)
{
	return s->ops->read(s, b, timeout_ms);
}

void va_source_close(va_source *s);

/* The kinds' constructors (follow.c, source_syslog.c, source_journald.c). */
int va_file_source_open(const char *path, const va_position *resume, va_source **out,
                        char *err, size_t errcap);
/* ADDR:PORT as the syslog source takes it: 0, or -1 with a reason. */
int va_syslog_address_ok(const char *addr_port, char *err, size_t errcap);
int va_syslog_source_open(const char *addr_port, va_source **out, char *err, size_t errcap);
/* DIR NULL: the local system journal; else the journal files in DIR. */
int va_journald_source_open(const char *dir, const va_position *resume, va_source **out,
                            char *err, size_t errcap);

/* The file follower's poll interval, and how many files the path may
 * name in turn while an older one is still being read. */
#define VA_FOLLOW_QUEUE 16
#define VA_FOLLOW_POLL_MS 100

/* Test hook: a file source's position before its buffered bytes. */
uint64_t va_file_source_offset(const va_source *s);

/* Test hook: a syslog source's bound port, UDP (udp != 0) or TCP; 0 if S is not one. */
uint16_t va_syslog_source_port(const va_source *s, int udp);

#endif
