/*
 * entry.h — the agent's spool entries: what `vellum agent` writes into its
 * spool log for each event it reads, and for each range of events it had
 * to drop.  Byte-exact (docs/agent.md, "Spool entries"):
 *
 *   vellum-spool/1\n
 *   spooled: 2026-11-26T15:04:05.123456789Z\n     UTC, always 9 digits
 *   origin: <source spec, e.g. file:/var/log/app.log or stdin>\n
 *   position: <source position after this event, decimal>\n
 *   [cursor: <journal cursor, 1..255 bytes>\n]      journald sources only
 *   [inode: <the file's inode, decimal>\n           file sources only
 *    head: <16 lowercase hex>\n]                   (see below)
 *   \n
 *   <event bytes, 1..VA_EVENT_MAX>
 *
 * and for dropped events (--on-full drop), an entry without event bytes:
 *
 *   vellum-dropped/1\n
 *   spooled: <time>\n
 *   origin: <source spec>\n
 *   position: <position after the last dropped event>\n
 *   [cursor: ..\n]                                  of that position
 *   [inode: ..\n head: ..\n]                        of that position
 *   dropped: <events dropped, >= 1>\n
 *   dropped-bytes: <their event bytes>\n
 *   first-position: <position where the first dropped event began>\n
 *   [first-inode: <inode of that file>\n]           file sources only
 *   \n
 *
 * head is the first 8 bytes, in hex, of SHA-256 over the first
 * min(position, 1024) bytes of the file: with the inode it tells, after a
 * restart, whether the file at the path is still the one the position
 * belongs to (it was not truncated and rewritten, nor its inode reused).
 *
 * The position is bytes consumed for file and stdin sources, and entries
 * consumed for journald, whose cursor (sd_journal_get_cursor) names the
 * journal entry the event was made of; cursor bytes are printable ASCII
 * without space (0x21..0x7e).  Decimal numbers have no sign and no leading
 * zeros; the field order is fixed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_ENTRY_H
#define VA_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "vellum.h"

#define VA_SPOOL_MAGIC "vellum-spool/1\n"
#define VA_DROPPED_MAGIC "vellum-dropped/1\n"
#define VA_ORIGIN_MAX 255
#define VA_CURSOR_MAX 255
/* Every header fits in this many bytes (the longest, a dropped entry with
 * every optional line at its longest, is 805), so an event of up to
 * VA_EVENT_MAX bytes always fits in one log entry. */
#define VA_HEADER_MAX 1024
#define VA_EVENT_MAX (VL_ENTRY_MAX - VA_HEADER_MAX) /* 64511 */
#define VA_HEAD_BYTES 1024 /* the file prefix the head fingerprint covers */
#define VA_TIME_LEN 30     /* "2026-11-26T15:04:05.123456789Z" */

/* Where a source stands after an event. */
typedef struct va_position {
	uint64_t offset;  /* source bytes (journald: entries) consumed */
	int has_file;     /* file sources: inode and head are meaningful */
	uint64_t inode;
	uint64_t head;    /* fingerprint of the first min(offset, 1024) bytes */
	int has_cursor;   /* journald sources: cursor names the entry */
	char cursor[VA_CURSOR_MAX + 1];
} va_position;

enum { VA_ENTRY_EVENT = 1, VA_ENTRY_DROPPED = 2 };

typedef struct va_entry {
	int kind;                       /* VA_ENTRY_EVENT or VA_ENTRY_DROPPED */
	int64_t spooled_ns;             /* nanoseconds since the epoch, UTC */
	char origin[VA_ORIGIN_MAX + 1];
	va_position pos;
	/* VA_ENTRY_EVENT: the event bytes (inside the parsed entry). */
	const uint8_t *event;
	size_t event_len;
	/* VA_ENTRY_DROPPED */
	uint64_t dropped;
	uint64_t dropped_bytes;
	va_position first;              /* offset (and inode) only; no cursor */
} va_entry;

/* 1 if ORIGIN (LEN bytes) is a valid origin: 1..255 printable ASCII. */
int va_origin_ok(const char *origin, size_t len);

/* 1 if CURSOR (LEN bytes) is a valid cursor: 1..255 bytes 0x21..0x7e. */
int va_cursor_ok(const char *cursor, size_t len);

/* "2026-11-26T15:04:05.123456789Z" (VA_TIME_LEN bytes + NUL) for NS since
 * the epoch; out needs VA_TIME_LEN + 1 bytes.  0, or -1 if out of range. */
int va_format_time(int64_t ns, char *out);
/* The inverse; exactly that shape.  0 or -1. */
int va_parse_time(const char *s, size_t len, int64_t *ns);

/*
 * Writes the header of E (kind, spooled_ns, origin, pos, and for dropped
 * entries dropped, dropped_bytes, first) into out (capacity cap); returns
 * its length, or 0 when an origin or cursor is invalid or cap is too small.  For an
 * event entry the caller appends the event bytes.
 */
size_t va_entry_write_header(const va_entry *e, uint8_t *out, size_t cap);

/* Parses one spool entry (strict: the exact field order and shapes
 * above).  For events, e->event points into data.  0, or VL_EFORMAT. */
int va_entry_parse(const uint8_t *data, size_t len, va_entry *e);

/* The head fingerprint of the file prefix P (len <= VA_HEAD_BYTES). */
uint64_t va_head_hash(const uint8_t *p, size_t len);

/*
 * The spooled times against the wall clock.  Entries carry the agent's
 * wall clock as it is (their order in the spool is what counts), so a
 * clock set back makes new entries older than earlier ones; this notices
 * it, as the server does for its received times.  NEWEST_NS is the newest
 * time the spool has seen (seeded from its newest entry at start).
 */
typedef struct va_clock {
	int64_t newest_ns;   /* 0: none yet */
	int64_t warned_ns;   /* when the last warning was due; 0: never */
	uint64_t backwards;  /* times the clock was found behind */
} va_clock;

/* The slack: a clock behind the newest time by up to this is not counted
 * (NTP slews, threads that read the clock in another order). */
#define VA_CLOCK_SLACK_NS 1000000000LL

/* NOW_NS is a time about to be spooled: if it is more than the slack
 * behind the newest time, counts it and returns how far behind it is when
 * a warning is due (the first time, then at most once a minute, or when
 * the clock went back again past the last warning), else 0.  Otherwise
 * NOW_NS becomes the newest time, and 0. */
int64_t va_clock_check(va_clock *c, int64_t now_ns);

#endif
