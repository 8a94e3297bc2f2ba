/*
 * wal.c — the write-ahead log: segment files of checksummed frames, the
 * first place every entry becomes durable, and the source of truth from
 * which every tile and bundle is derived.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * FORMAT (all integers big-endian)
 *
 * The WAL of a log is the set of files LOGDIR/wal/<FIRST>, where <FIRST> is
 * the index of the segment's first entry written as exactly 20 decimal
 * digits.  Segments are contiguous: each one's FIRST equals the previous
 * one's last index plus one; the first segment is 00000000000000000000.
 *
 * A segment starts with a 32-byte header:
 *
 *     offset size  field
 *          0    8  magic, the ASCII bytes "VLMWAL01"
 *          8    4  format version, 1
 *         12    4  zero
 *         16    8  FIRST, the same number as the file name
 *         24    4  zero
 *         28    4  CRC-32C of bytes 0..27
 *
 * followed by zero or more frames.  One group commit appends one or more
 * frames with a single write and a single fdatasync.  A frame is a 32-byte
 * header and a payload:
 *
 *     offset size  field
 *          0    4  magic, the ASCII bytes "VLFR"
 *          4    4  P, payload length in bytes, 3 <= P <= 64 MiB
 *          8    8  index of the frame's first entry
 *         16    4  C, the number of entries, C >= 1
 *         20    4  CRC-32C of the payload
 *         24    2  K, this frame's number within its group commit (0-based)
 *         26    2  T, the number of frames in its group commit, K < T
 *         28    4  CRC-32C of bytes 0..27
 *         32    P  payload: C times { uint16 length L (1..65535), L bytes }
 *
 * A frame is valid when both checksums match, its first index is the
 * previous frame's first index plus its count (or the segment's FIRST for
 * the first frame), K follows the previous frame's (0 after a frame with
 * K = T - 1), and the payload holds exactly C entries of 1..65535 bytes
 * that add up to P.  A group commit is atomic: its entries count only once
 * all T of its frames are valid.  (Almost every commit is one frame; a
 * batch larger than 64 MiB takes several.)
 *
 * A segment may end in zeros after its last frame: space the writer
 * preallocated (so that a commit's fdatasync need not change the file's
 * size).  Zeros from a commit boundary to the end of a segment are its
 * clean end.  The writer cuts a segment to its last frame before creating
 * the next one, but that cut may not survive a failed sync and a crash, so
 * older segments may keep their zeros too; the index continuity between
 * segments is what guarantees that no entry can hide behind them.
 *
 * RECOVERY.  Frames are written at the end only, and a commit's fdatasync
 * returns before the next commit is written, so after a crash the only
 * legitimately invalid bytes belong to the last group commit: an invalid
 * frame in the newest segment after which no valid frame header starts a
 * new commit (K = 0), or a newest segment whose header was never completely
 * written.  Such a tail was never acknowledged — its fdatasync did not
 * return — and the log cuts it, from the start of that commit.
 * An invalid frame followed by a valid one, an invalid frame in an older
 * segment, a missing segment or a gap between segments is corruption:
 * reported with the file and offset, never repaired.
 */
#include "wal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

static const uint8_t segment_magic[8] = {'V', 'L', 'M', 'W', 'A', 'L', '0', '1'};
static const uint8_t frame_magic[4] = {'V', 'L', 'F', 'R'};

#define WAL_FORMAT_VERSION 1
#define READ_CHUNK (1u << 20)

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

int vl_wal_segment_path(char *buf, size_t cap, const char *logdir, uint64_t first)
{
	int n = snprintf(buf, cap, "%s/wal/%020" PRIu64, logdir, first);
	return n < 0 || (size_t)n >= cap ? VL_ETOOBIG : n;
}

void vl_wal_frame_seal(uint8_t *frame, size_t payload_len, uint64_t first, uint32_t count,
                       unsigned frame_no, unsigned n_frames)
{
	memcpy(frame, frame_magic, 4);
	put32(frame + 4, (uint32_t)payload_len);
	put64(frame + 8, first);
	put32(frame + 16, count);
	put32(frame + 20, vl_crc32c(0, frame + VL_WAL_FRAME_HEADER, payload_len));
	frame[24] = (uint8_t)(frame_no >> 8);
	frame[25] = (uint8_t)frame_no;
	frame[26] = (uint8_t)(n_frames >> 8);
	frame[27] = (uint8_t)n_frames;
	put32(frame + 28, vl_crc32c(0, frame, 28));
}

size_t vl_wal_frame_encode(uint8_t *buf, const vl_entry *entries, size_t n, uint64_t first,
                           unsigned frame_no, unsigned n_frames)
{
	uint8_t *p = buf + VL_WAL_FRAME_HEADER;
	for (size_t i = 0; i < n; i++) {
		p[0] = (uint8_t)(entries[i].len >> 8);
		p[1] = (uint8_t)entries[i].len;
		memcpy(p + 2, entries[i].data, entries[i].len);
		p += 2 + entries[i].len;
	}
	size_t payload = (size_t)(p - buf) - VL_WAL_FRAME_HEADER;
	vl_wal_frame_seal(buf, payload, first, (uint32_t)n, frame_no, n_frames);
	return VL_WAL_FRAME_HEADER + payload;
}

static int write_all(const vl_io *io, int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = io->pwrite(io->ctx, fd, buf, len, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int vl_wal_segment_create(const vl_io *io, const char *logdir, uint64_t first)
{
	char path[4096], dir[4096];
	if (vl_wal_segment_path(path, sizeof path, logdir, first) < 0 ||
	    snprintf(dir, sizeof dir, "%s/wal", logdir) >= (int)sizeof dir)
		return VL_ETOOBIG;
	uint8_t h[VL_WAL_SEGMENT_HEADER] = {0};
	memcpy(h, segment_magic, 8);
	put32(h + 8, WAL_FORMAT_VERSION);
	put64(h + 16, first);
	put32(h + 28, vl_crc32c(0, h, 28));
	int fd = io->open(io->ctx, path, VL_O_RDWR | VL_O_CREAT | VL_O_EXCL, 0644);
	if (fd < 0)
		return fd;
	int rc = write_all(io, fd, h, sizeof h, 0);
	if (rc == 0)
		rc = io->fdatasync(io->ctx, fd);
	/* The new name must be durable before any frame in it is acknowledged. */
	if (rc == 0)
		rc = io->fsync_dir(io->ctx, dir);
	if (rc < 0) {
		io->close(io->ctx, fd);
		return rc;
	}
	return fd;
}

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

struct vl_wal_iter {
	const vl_io *io;
	char *logdir;
	uint64_t *segments; /* sorted first indexes */
	size_t n_segments, cap_segments;
	size_t seg;         /* current segment position in segments[] */
	int fd;
	uint64_t file_size;
	uint64_t off;       /* next frame offset in the current segment */
	uint64_t next;      /* index the next frame must start with */
	uint64_t start;     /* first index the caller wants */
	uint64_t frames;
	/* current commit: frames seen and expected */
	unsigned commit_no, commit_total;
	uint64_t commit_start;
	uint8_t *scratch;
	size_t scratch_cap;
	/* current frame */
	uint8_t *payload;
	size_t payload_cap;
	size_t payload_len, payload_pos;
	uint32_t frame_left;
	uint64_t frame_index;
	/* end state */
	int done;
	int at_tail;
	uint64_t valid_end;
	char message[512];
};

static int read_exact(const vl_io *io, int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = io->pread(io->ctx, fd, p, len, off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return VL_ENOTFOUND; /* short file */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int collect_segment(void *arg, const char *name)
{
	vl_wal_iter *it = arg;
	size_t len = strlen(name);
	if (len != VL_WAL_NAME_DIGITS)
		return 0; /* temporary or foreign files are not segments */
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (it->n_segments == it->cap_segments) {
		size_t cap = it->cap_segments ? it->cap_segments * 2 : 16;
		uint64_t *s = realloc(it->segments, cap * sizeof *s);
		if (!s)
			return VL_ENOMEM;
		it->segments = s;
		it->cap_segments = cap;
	}
	it->segments[it->n_segments++] = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int fail(vl_wal_iter *it, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(vl_wal_iter *it, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->message, sizeof it->message, fmt, ap);
	va_end(ap);
	it->done = rc;
	return rc;
}

static int is_newest(const vl_wal_iter *it) { return it->seg + 1 == it->n_segments; }

/* Does a valid frame header that starts a new group commit (K = 0) begin
 * anywhere in [from, file_size) of the current segment?  Asked only after a
 * bad frame: if one does, the bad frame is not part of the last commit, so
 * it held acknowledged data and this is corruption; if none does, the bad
 * bytes are the unsynced tail of the last commit. */
static int commit_header_after_once(vl_wal_iter *it, uint64_t from)
{
	uint8_t buf[64 * 1024 + VL_WAL_FRAME_HEADER];
	uint64_t off = from;
	while (off + VL_WAL_FRAME_HEADER <= it->file_size) {
		size_t want = sizeof buf;
		if (it->file_size - off < want)
			want = (size_t)(it->file_size - off);
		if (read_exact(it->io, it->fd, buf, want, off) < 0)
			return 1; /* cannot prove it is a tail: treat as corruption */
		for (size_t i = 0; i + VL_WAL_FRAME_HEADER <= want; i++) {
			const uint8_t *h = buf + i;
			if (memcmp(h, frame_magic, 4) != 0 || get32(h + 28) != vl_crc32c(0, h, 28))
				continue;
			if (h[24] == 0 && h[25] == 0)
				return 1;
		}
		if (want < sizeof buf)
			break;
		off += want - VL_WAL_FRAME_HEADER + 1;
	}
	return 0;
}

/* Scanned twice: a bit flipped in one read must not hide a valid header
 * and turn corruption into a "tail" that gets cut. */
static int commit_header_after(vl_wal_iter *it, uint64_t from)
{
	return commit_header_after_once(it, from) || commit_header_after_once(it, from);
}

static int open_segment(vl_wal_iter *it)
{
	char path[4096];
	uint64_t first = it->segments[it->seg];
	vl_wal_segment_path(path, sizeof path, it->logdir, first);
	if (it->fd >= 0)
		it->io->close(it->io->ctx, it->fd);
	it->fd = it->io->open(it->io->ctx, path, VL_O_RDONLY, 0);
	if (it->fd < 0)
		return fail(it, it->fd, "wal/%020" PRIu64 ": cannot open (%s)", first,
		            vl_strerror(it->fd));
	int rc = it->io->file_size(it->io->ctx, it->fd, &it->file_size);
	if (rc < 0)
		return fail(it, rc, "wal/%020" PRIu64 ": cannot stat (%s)", first, vl_strerror(rc));
	it->off = 0;
	it->valid_end = 0;
	it->commit_start = 0;
	if (first != it->next)
		return fail(it, VL_ECORRUPT,
		            "wal/%020" PRIu64 ": segment starts at entry %" PRIu64
		            " but the previous segment ends before entry %" PRIu64
		            ": a segment is missing or was altered",
		            first, first, it->next);
	uint8_t h[VL_WAL_SEGMENT_HEADER];
	int bad = 1;
	for (int attempt = 0; attempt < 2 && bad; attempt++) {
		rc = it->file_size >= sizeof h ? read_exact(it->io, it->fd, h, sizeof h, 0)
		                               : VL_ENOTFOUND;
		if (rc < 0 && rc != VL_ENOTFOUND)
			return fail(it, rc, "wal/%020" PRIu64 ": read error (%s)", first,
			            vl_strerror(rc));
		bad = rc == VL_ENOTFOUND || memcmp(h, segment_magic, 8) != 0 ||
		      get32(h + 28) != vl_crc32c(0, h, 28) || get32(h + 8) != WAL_FORMAT_VERSION ||
		      get64(h + 16) != first;
	}
	if (bad) {
		/* A newest segment whose header never made it to disk was being
		 * created at the crash: nothing in it was acknowledged. */
		if (is_newest(it) && !commit_header_after(it, 0)) {
			it->at_tail = 1;
			return fail(it, VL_ECORRUPT,
			            "wal/%020" PRIu64 ": segment header incomplete (torn at creation)",
			            first);
		}
		return fail(it, VL_ECORRUPT, "wal/%020" PRIu64 ": bad segment header", first);
	}
	it->off = VL_WAL_SEGMENT_HEADER;
	it->valid_end = it->off;
	it->commit_start = it->off;
	return 0;
}

/* Is [from, file_size) all zeros?  (Read twice: see commit_header_after.) */
static int zeros_from(vl_wal_iter *it, uint64_t from)
{
	uint8_t buf[64 * 1024];
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t off = from; off < it->file_size;) {
			size_t n = it->file_size - off < sizeof buf ? (size_t)(it->file_size - off)
			                                            : sizeof buf;
			if (read_exact(it->io, it->fd, buf, n, off) < 0)
				return 0;
			for (size_t i = 0; i < n; i++)
				if (buf[i])
					return 0;
			off += n;
		}
	return 1;
}

/* A bad frame at byte X of the current segment: a torn tail or corruption. */
static int bad_frame(vl_wal_iter *it, uint64_t x, const char *why)
{
	uint64_t first = it->segments[it->seg];
	/* Zeros from a commit boundary to the end of a segment are space
	 * preallocated for frames not yet written: the clean end.  In an older
	 * segment they are a preallocation whose trim was not made durable (a
	 * failed sync, then a crash); the next segment's first index still has
	 * to continue this one's, so zeros cannot hide entries. */
	if (x == it->commit_start && zeros_from(it, x)) {
		it->valid_end = x;
		if (is_newest(it))
			it->done = 1;
		else
			it->off = it->file_size; /* go on with the next segment */
		return 0;
	}
	if (is_newest(it) && !commit_header_after(it, x + 1)) {
		it->at_tail = 1;
		it->valid_end = it->commit_start;
		return fail(it, VL_ECORRUPT,
		            "wal/%020" PRIu64 ": invalid frame at byte %" PRIu64 " (entry %" PRIu64
		            "): %s; it is the unsynced tail of the last commit",
		            first, x, it->next, why);
	}
	return fail(it, VL_ECORRUPT,
	            "wal/%020" PRIu64 ": invalid frame at byte %" PRIu64 " (entry %" PRIu64
	            "): %s; valid data follows it, so the log was altered or the disk is failing",
	            first, x, it->next, why);
}

struct frame_info {
	uint64_t index;
	uint32_t count, plen;
	unsigned no, total;
};

/*
 * Check the frame at OFF completely, reading its payload into *buf.
 * 0 if valid; 1 with *why if invalid; a negative code on an I/O error.
 */
static int check_frame(vl_wal_iter *it, uint64_t off, uint64_t expect_index, unsigned expect_no,
                       unsigned expect_total, uint8_t **buf, size_t *cap, struct frame_info *fi,
                       const char **why)
{
	uint8_t h[VL_WAL_FRAME_HEADER];
	if (off + VL_WAL_FRAME_HEADER > it->file_size) {
		*why = "truncated frame header";
		return 1;
	}
	int rc = read_exact(it->io, it->fd, h, sizeof h, off);
	if (rc < 0)
		return rc;
	if (memcmp(h, frame_magic, 4) != 0) {
		*why = "bad frame magic";
		return 1;
	}
	if (get32(h + 28) != vl_crc32c(0, h, 28)) {
		*why = "frame header checksum mismatch";
		return 1;
	}
	fi->plen = get32(h + 4);
	fi->count = get32(h + 16);
	fi->index = get64(h + 8);
	fi->no = (unsigned)h[24] << 8 | h[25];
	fi->total = (unsigned)h[26] << 8 | h[27];
	if (fi->plen < 3 || fi->plen > VL_WAL_FRAME_PAYLOAD_MAX || fi->count == 0 ||
	    (uint64_t)fi->count * 3 > fi->plen || fi->no >= fi->total) {
		*why = "frame header fields out of range";
		return 1;
	}
	if (fi->index != expect_index) {
		*why = "frame index out of sequence";
		return 1;
	}
	if (fi->no != expect_no || (expect_total && fi->total != expect_total)) {
		*why = "frame out of sequence within its group commit";
		return 1;
	}
	if (off + VL_WAL_FRAME_HEADER + fi->plen > it->file_size) {
		*why = "truncated frame payload";
		return 1;
	}
	if (fi->plen > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < fi->plen)
			c *= 2;
		uint8_t *p = realloc(*buf, c);
		if (!p)
			return VL_ENOMEM;
		*buf = p;
		*cap = c;
	}
	rc = read_exact(it->io, it->fd, *buf, fi->plen, off + VL_WAL_FRAME_HEADER);
	if (rc < 0)
		return rc;
	if (get32(h + 20) != vl_crc32c(0, *buf, fi->plen)) {
		*why = "frame payload checksum mismatch";
		return 1;
	}
	size_t pos = 0;
	for (uint32_t i = 0; i < fi->count; i++) {
		if (pos + 2 > fi->plen) {
			*why = "frame payload shorter than its entry count";
			return 1;
		}
		size_t len = (size_t)(*buf)[pos] << 8 | (*buf)[pos + 1];
		if (len == 0 || pos + 2 + len > fi->plen) {
			*why = "bad entry length in frame payload";
			return 1;
		}
		pos += 2 + len;
	}
	if (pos != fi->plen) {
		*why = "trailing bytes in frame payload";
		return 1;
	}
	return 0;
}

/* A frame that fails its checks is read and checked once more before it
 * is judged: a bit flipped on the way from the disk must not make us cut
 * acknowledged data as if it were a torn tail. */
static int check_frame_twice(vl_wal_iter *it, uint64_t off, uint64_t expect_index,
                             unsigned expect_no, unsigned expect_total, uint8_t **buf,
                             size_t *cap, struct frame_info *fi, const char **why)
{
	int rc = check_frame(it, off, expect_index, expect_no, expect_total, buf, cap, fi, why);
	if (rc == 1)
		rc = check_frame(it, off, expect_index, expect_no, expect_total, buf, cap, fi, why);
	return rc;
}

static int read_error(vl_wal_iter *it, int rc, uint64_t off)
{
	return fail(it, rc, "wal/%020" PRIu64 ": read error at byte %" PRIu64 " (%s)",
	            it->segments[it->seg], off, vl_strerror(rc));
}

/* Load the next frame at it->off.  At the start of a multi-frame commit,
 * check every frame of the commit first: a commit counts only whole. */
static int load_frame(vl_wal_iter *it)
{
	struct frame_info fi;
	const char *why = NULL;
	int starting = it->commit_no == it->commit_total;
	if (starting)
		it->commit_start = it->off;
	int rc = check_frame_twice(it, it->off, it->next, starting ? 0 : it->commit_no,
	                     starting ? 0 : it->commit_total, &it->payload, &it->payload_cap, &fi,
	                     &why);
	if (rc < 0)
		return read_error(it, rc, it->off);
	if (rc > 0)
		return bad_frame(it, it->off, why);
	if (starting && fi.total > 1) {
		uint64_t off = it->off + VL_WAL_FRAME_HEADER + fi.plen;
		uint64_t index = fi.index + fi.count;
		for (unsigned k = 1; k < fi.total; k++) {
			struct frame_info f2;
			rc = check_frame_twice(it, off, index, k, fi.total, &it->scratch, &it->scratch_cap, &f2,
			                 &why);
			if (rc < 0)
				return read_error(it, rc, off);
			if (rc > 0)
				return bad_frame(it, off, why);
			off += VL_WAL_FRAME_HEADER + f2.plen;
			index += f2.count;
		}
	}
	it->commit_no = fi.no + 1;
	it->commit_total = fi.total;
	it->payload_len = fi.plen;
	it->payload_pos = 0;
	it->frame_left = fi.count;
	it->frame_index = fi.index;
	it->off += VL_WAL_FRAME_HEADER + fi.plen;
	it->next = fi.index + fi.count;
	it->frames++;
	if (it->commit_no == it->commit_total)
		it->valid_end = it->off;
	return 0;
}

int vl_wal_iter_open(const vl_io *io, const char *logdir, uint64_t start_index, vl_wal_iter **out)
{
	*out = NULL;
	vl_wal_iter *it = calloc(1, sizeof *it);
	if (!it)
		return VL_ENOMEM;
	it->io = io;
	it->fd = -1;
	it->start = start_index;
	it->logdir = strdup(logdir);
	char dir[4096];
	if (!it->logdir) {
		free(it);
		return VL_ENOMEM;
	}
	if (snprintf(dir, sizeof dir, "%s/wal", logdir) >= (int)sizeof dir) {
		vl_wal_iter_close(it);
		return VL_ETOOBIG;
	}
	int rc = io->list_dir(io->ctx, dir, collect_segment, it);
	if (rc < 0) {
		fail(it, rc == -ENOENT ? VL_ECORRUPT : rc, "wal/: cannot list (%s)", vl_strerror(rc));
		*out = it;
		return it->done;
	}
	if (it->n_segments > 1)
		qsort(it->segments, it->n_segments, sizeof *it->segments, cmp_u64);
	*out = it;
	if (it->n_segments == 0 || it->segments[0] != 0) {
		fail(it, VL_ECORRUPT, "wal/: the first segment 00000000000000000000 is missing");
		return it->done;
	}
	/* Start in the last segment that begins at or before start_index;
	 * continuity of the earlier ones is the full verifier's job. */
	size_t s = 0;
	while (s + 1 < it->n_segments && it->segments[s + 1] <= start_index)
		s++;
	it->seg = s;
	it->next = it->segments[s];
	rc = open_segment(it);
	return rc < 0 ? rc : 0;
}

int vl_wal_iter_next(vl_wal_iter *it, uint64_t *index, const uint8_t **entry, size_t *len)
{
	for (;;) {
		if (it->done)
			return it->done > 0 ? 0 : it->done;
		if (it->frame_left == 0) {
			if (it->off == it->file_size) {
				if (is_newest(it)) {
					it->done = 1;
					return 0;
				}
				it->seg++;
				int rc = open_segment(it);
				if (rc < 0)
					return rc;
				continue;
			}
			int rc = load_frame(it);
			if (rc < 0)
				return rc;
			continue;
		}
		const uint8_t *p = it->payload + it->payload_pos;
		size_t l = (size_t)p[0] << 8 | p[1];
		uint64_t i = it->frame_index++;
		it->payload_pos += 2 + l;
		it->frame_left--;
		if (i < it->start)
			continue;
		*index = i;
		*entry = p + 2;
		*len = l;
		return 1;
	}
}

const char *vl_wal_iter_message(const vl_wal_iter *it) { return it->message; }

int vl_wal_iter_at_tail(const vl_wal_iter *it) { return it->at_tail; }

void vl_wal_iter_end(const vl_wal_iter *it, uint64_t *segment_first, uint64_t *valid_end,
                     uint64_t *next_index, uint64_t *file_size)
{
	*segment_first = it->n_segments ? it->segments[it->seg] : 0;
	*valid_end = it->valid_end;
	*next_index = it->next;
	*file_size = it->file_size;
}



void vl_wal_iter_close(vl_wal_iter *it)
{
	if (!it)
		return;
	if (it->fd >= 0)
		it->io->close(it->io->ctx, it->fd);
	free(it->segments);
	free(it->payload);
	free(it->scratch);
	free(it->logdir);
	free(it);
}
