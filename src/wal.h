/*
 * wal.h — the write-ahead log: where every entry is first made durable.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The byte-exact format is documented at the top of wal.c and in
 * docs/format.md.  In short: LOGDIR/wal/<20-digit first index> segment
 * files, each a 32-byte header followed by frames; a frame holds a batch of
 * consecutive entries and is valid only if both its header and payload
 * checksums (CRC32C) match and its first index continues the previous
 * frame's.
 */
#ifndef VL_WAL_H
#define VL_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "vellum.h"
#include "vellum_io.h"

#define VL_WAL_SEGMENT_HEADER 32
#define VL_WAL_FRAME_HEADER 32
#define VL_WAL_FRAME_PAYLOAD_MAX (64u << 20) /* one frame's entries, at most */
#define VL_WAL_NAME_DIGITS 20

/* Iterates the entries of a log's WAL in index order, checking every
 * frame.  Torn-tail tolerance is the caller's policy: the iterator reports
 * the first invalid frame as VL_ECORRUPT with a message naming the file
 * and offset, and vl_wal_iter_at_tail() says whether it lies at the very
 * end of the newest segment (and so may be an unacknowledged torn write). */
typedef struct vl_wal_iter vl_wal_iter;

VL_MUST_CHECK int vl_wal_iter_open(const vl_io *io, const char *logdir, uint64_t start_index,
                                   vl_wal_iter **out);
/* 1 and an entry (valid until the next call), 0 at the end, < 0 on error. */
VL_MUST_CHECK int vl_wal_iter_next(vl_wal_iter *it, uint64_t *index, const uint8_t **entry,
                                   size_t *len);
/* After an error: a message naming the file, byte offset and check failed. */
const char *vl_wal_iter_message(const vl_wal_iter *it);
/* After an error: non-zero if the bad frame is the tail of the newest
 * segment, with no valid frame after it. */
int vl_wal_iter_at_tail(const vl_wal_iter *it);
/*
 * Where valid data ends in the newest segment: its first index, the byte
 * offset just past its last valid frame (0 if its header itself is invalid
 * and the file should be discarded), and the index the next frame must
 * start with.  Meaningful after vl_wal_iter_next returned 0, or an error
 * with vl_wal_iter_at_tail() true.
 */
void vl_wal_iter_end(const vl_wal_iter *it, uint64_t *segment_first, uint64_t *valid_end,
                     uint64_t *next_index, uint64_t *file_size);
void vl_wal_iter_close(vl_wal_iter *it);

/* Path of segment FIRST under LOGDIR into buf: "LOGDIR/wal/<20 digits>". */
int vl_wal_segment_path(char *buf, size_t cap, const char *logdir, uint64_t first);

/* Create segment FIRST: header written and fdatasync'ed, directory entry
 * fsync'ed.  Returns an open descriptor (read-write) or a negative code. */
VL_MUST_CHECK int vl_wal_segment_create(const vl_io *io, const char *logdir, uint64_t first);

/* Bytes needed to encode N entries of TOTAL bytes as one frame. */
static inline size_t vl_wal_frame_size(size_t n, size_t total)
{
	return VL_WAL_FRAME_HEADER + 2 * n + total;
}

/* Encode entries[0..n) (sizes already validated) with first index FIRST as
 * frame FRAME_NO of the N_FRAMES frames of one group commit, at buf;
 * returns the bytes written (vl_wal_frame_size). */
size_t vl_wal_frame_encode(uint8_t *buf, const vl_entry *entries, size_t n, uint64_t first,
                           unsigned frame_no, unsigned n_frames);
#define VL_WAL_COMMIT_FRAMES_MAX 65535

/* Write the header of a frame whose payload (payload_len bytes, COUNT
 * entries) is already in place at frame + VL_WAL_FRAME_HEADER. */
void vl_wal_frame_seal(uint8_t *frame, size_t payload_len, uint64_t first, uint32_t count,
                       unsigned frame_no, unsigned n_frames);

#endif
