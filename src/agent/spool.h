/*
 * spool.h — the agent's spool: a vellum log in DIR/spool holding every event
 * the agent read, in the order it read them, each in a spool entry
 * (entry.h) that also records the source's position after it.  The spool
 * index of an event is its index in that log.
 *
 * Files in the agent directory DIR:
 *
 *   agent-id      the agent's identity, one line
 *   spool.key     the spool log's signer key (mode 0600)
 *   spool/        the spool's first segment: a vellum log holding spool
 *                 indexes 0..; later segments are spool-<BASE>/ (BASE in
 *                 20 digits), each a vellum log whose entry i is spool
 *                 index BASE + i.  A segment that begins past the end of
 *                 the one before leaves a hole (a segment was deleted):
 *                 its indexes are lost, scans pass over them.  A new segment starts once the newest
 *                 holds --spool-segment-events entries; a segment whose
 *                 entries were all forwarded (and a newer one exists) is
 *                 deleted, renamed to NAME.released first.
 *   positions.released  the positions file's format, synced before any
 *                 segment is deleted, covering at least every entry below
 *                 the oldest segment left
 *   forwarded     the forwarded cursor, replaced atomically (temporary
 *                 file, fdatasync, rename, fsync of DIR) by
 *                 va_spool_maintain, about once a second, when it moved,
 *                 and at close.  A cursor behind the truth (a crash) only
 *                 makes the agent send again what the server already
 *                 holds, and the server keeps each (agent, index) once:
 *                   vellum-agent-forwarded/1\n
 *                   spool <the spool's verifier key>\n
 *                   next <first spool index not yet acknowledged>\n
 *   positions     a cache of each origin's newest position, so a restart
 *                 need not read the whole spool (a hint: see below):
 *                   vellum-agent-positions/1\n
 *                   spool <verifier key>\n
 *                   size <spool entries it covers>\n
 *                   p <offset> <0|1 has file> <inode> <16 hex head> <origin>\n ...
 *   status.json   the running agent's status (status.h)
 *
 * Where a source resumes: the position in its newest spool entry (event or
 * dropped).  The positions file only says what the entries before its
 * "size" hold; the entries from there on are read on open.  It is written
 * after the appends it covers returned, so it never claims more than the
 * spool holds; a missing, torn or foreign one is ignored (the whole spool
 * is read instead).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VA_SPOOL_H
#define VA_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "vellum.h"

typedef struct va_spool va_spool;

typedef struct va_spool_stats {
	uint64_t size;          /* entries in the spool */
	uint64_t forwarded;     /* entries 0..forwarded-1 were acknowledged */
	uint64_t pending_bytes; /* bytes of entries forwarded..size-1 */
	uint64_t max_bytes;
} va_spool_stats;

/*
 * Opens the spool of the agent directory DIR, creating the directory, the
 * signer key and the log on first start.  Reads the forwarded cursor,
 * recovers every origin's newest position, and counts the pending bytes.
 * max_bytes is the pending limit (va_spool_full).  0, or a negative code
 * with a message in err.
 */
int va_spool_open(const char *dir, const char *agent_id, uint64_t max_bytes, va_spool **out,
                  char *err, size_t errcap);

/* Signs a checkpoint over what was spooled, writes the positions cache,
 * closes.  Returns the first error. */
int va_spool_close(va_spool *s);

/* The newest position spooled for ORIGIN: 1 if there is one, else 0. */
int va_spool_position(va_spool *s, const char *origin, va_position *pos);

/*
 * Appends N formatted entries (entry.h) as one durable batch, all from
 * ORIGIN, the last of them ending at *LAST.  Appends are serialised, so the
 * newest position of each origin always matches the spool.  *first
 * (may be NULL) gets the first index.
 */
int va_spool_append(va_spool *s, const vl_entry *entries, size_t n, const char *origin,
                    const va_position *last, uint64_t *first);

/* Whether the pending bytes have reached the limit. */
int va_spool_full(va_spool *s);

/* Waits up to TIMEOUT_MS for a change (an append, an acknowledgement, a
 * wake-up).  Returns at once if va_spool_wake was called. */
void va_spool_wait(va_spool *s, int timeout_ms);
void va_spool_wake(va_spool *s);
/* Wakes the waiters once, without making later waits return at once. */
void va_spool_notify(va_spool *s);

/* After a 2xx for entries up to NEXT-1 (BYTES of them): moves the cursor
 * in memory (va_spool_maintain persists it) and releases the bytes.
 * Returns 0. */
int va_spool_set_forwarded(va_spool *s, uint64_t next, uint64_t bytes);

void va_spool_get_stats(va_spool *s, va_spool_stats *st);

/* Flushes tiles; syncs the forwarded cursor if it moved; signs a
 * checkpoint if anything was appended since the last one and CHECKPOINT
 * is set; rewrites the positions cache. */
int va_spool_maintain(va_spool *s, int checkpoint);

vl_log *va_spool_log(va_spool *s);

/*
 * Spool indexes FIRST..FIRST+COUNT-1 in order, across segments, as
 * vl_log_scan does.  VL_ENOTFOUND for indexes released or not there yet.
 */
int va_spool_scan(va_spool *s, uint64_t first, uint64_t count, vl_scan_fn fn, void *ctx);

/*
 * Ranges of spool indexes whose segment is missing (deleted by someone
 * else, or lost with a disk): FIRST[i]..LAST[i] for i < the count
 * returned (at most CAP are stored).  Scans pass over them; their events
 * are lost, and the server reports them as a gap.
 */
size_t va_spool_holes(va_spool *s, uint64_t *first, uint64_t *last, size_t cap);

/* The default segment size, in entries (--spool-segment-events). */
#define VA_SPOOL_SEGMENT_EVENTS 1000000
/* Starts a new segment once the newest holds N entries (0: the default). */
void va_spool_set_segment_events(va_spool *s, uint64_t n);
/* The segments there are now; *released (may be NULL): how many were
 * released since open. */
uint64_t va_spool_segments(va_spool *s, uint64_t *released);

/*
 * For `vellum agent status` while no agent runs: opens DIR's segments
 * read-only, sets *entries (the spool's size) and scans the entries from
 * FORWARDED on (from the oldest segment left, if later) with PENDING_FN.
 * VL_ELOCKED while an agent has the spool open.  0, or a negative code with
 * err set.
 */
int va_spool_peek(const char *dir, uint64_t forwarded, vl_scan_fn pending_fn, void *ctx,
                  uint64_t *entries, char *err, size_t errcap);

/* Reads DIR/forwarded: the next index, or 0 if there is none. */
int va_read_forwarded(const char *dir, uint64_t *next, char *vkey, size_t vkey_cap);

/* Reads or creates DIR/agent-id.  With ID set: it must match a stored one
 * (a spool's indexes belong to one identity), and is stored if none is.
 * Without: the stored one, or hostname + "-" + 8 random hex, stored.
 * 0, or VL_EINVAL / a negative code with err set. */
int va_agent_id(const char *dir, const char *id, char *out, size_t cap, char *err,
                size_t errcap);

/* [A-Za-z0-9._:-]{1,64} */
int va_agent_id_ok(const char *id);

/* Writes DIR/NAME atomically: NAME.tmp, (fdatasync), rename, (fsync DIR). */
int va_replace_file(const char *dir, const char *name, const void *data, size_t len,
                    int durable);

#endif
