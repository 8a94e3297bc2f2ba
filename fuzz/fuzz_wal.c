/*
 * fuzz_wal.c — libFuzzer driver for the WAL reader (wal.c): the input is
 * the single segment wal/00000000000000000000 of a log directory in the
 * storage simulator (io_sim.h), read with vl_wal_iter_open/next.  Nothing
 * may crash, every entry returned must be 1..65535 bytes, indexes must be
 * dense from the start index, and the iterator's end state must be
 * consistent with what it returned (at a clean end, only zeros, the
 * writer's preallocated space, may follow the last valid frame).
 *
 * The first input byte is a control byte, the rest the segment:
 *   bits 0-1  0: the segment is the rest of the input, as is
 *             1: a valid segment header is put before it
 *             2: a valid header is put before it, and each frame found
 *                by walking the payload lengths gets its magic and both
 *                CRC-32C checksums fixed, so the fuzzer reaches the
 *                structural checks (indexes, group commits, entry
 *                lengths) behind the checksums
 *             3: as 2, but the last frame is then cut in half (a torn tail)
 *   bits 4-7  the start index passed to vl_wal_iter_open (0..15)
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "io_sim.h"
#include "wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOGDIR "/sim/log"
#define SEGMENT LOGDIR "/wal/00000000000000000000"

static vl_sim *sim;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header vl_wal_segment_create writes for segment 0 (wal.c). */
static void segment_header(uint8_t h[VL_WAL_SEGMENT_HEADER])
{
	memset(h, 0, VL_WAL_SEGMENT_HEADER);
	memcpy(h, "VLMWAL01", 8);
	put32(h + 8, 1);
	put32(h + 28, vl_crc32c(0, h, 28));
}

/* Walk the frames after the header, clamping each payload length to what
 * is left, and make the magic and both checksums right.  Returns the
 * offset of the last frame (0 if none). */
static size_t fix_frames(uint8_t *buf, size_t len)
{
	size_t off = VL_WAL_SEGMENT_HEADER, last = 0;
	while (off + VL_WAL_FRAME_HEADER <= len) {
		uint8_t *h = buf + off;
		size_t room = len - off - VL_WAL_FRAME_HEADER;
		uint32_t plen = get32(h + 4);
		if (plen > room) {
			plen = (uint32_t)room;
			put32(h + 4, plen);
		}
		memcpy(h, "VLFR", 4);
		put32(h + 20, vl_crc32c(0, h + VL_WAL_FRAME_HEADER, plen));
		put32(h + 28, vl_crc32c(0, h, 28));
		last = off;
		off += VL_WAL_FRAME_HEADER + plen;
	}
	return last;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!sim) {
		sim = vl_sim_new(1);
		if (!sim || vl_sim_mkdir_p(sim, LOGDIR "/wal") != 0)
			abort();
	}
	unsigned mode = data[0] & 3;
	uint64_t start = data[0] >> 4;
	data++;
	size--;

	size_t head = mode == 0 ? 0 : VL_WAL_SEGMENT_HEADER;
	size_t len = head + size;
	uint8_t *seg = malloc(len ? len : 1);
	if (!seg)
		return 0;
	if (head)
		segment_header(seg);
	memcpy(seg + head, data, size);
	if (mode >= 2) {
		size_t last = fix_frames(seg, len);
		if (mode == 3 && last)
			len = last + (len - last) / 2;
	}
	if (vl_sim_write_file(sim, SEGMENT, seg, len) != 0)
		abort();

	const vl_io *io = vl_sim_io(sim);
	vl_wal_iter *it = NULL;
	int rc = vl_wal_iter_open(io, LOGDIR, start, &it);
	uint64_t expect = start, returned = 0;
	if (rc == 0) {
		uint64_t index;
		const uint8_t *entry;
		size_t elen;
		while ((rc = vl_wal_iter_next(it, &index, &entry, &elen)) > 0) {
			if (elen < 1 || elen > VL_ENTRY_MAX || index != expect) {
				fprintf(stderr, "entry %llu (expected %llu) has %zu bytes\n",
				        (unsigned long long)index, (unsigned long long)expect, elen);
				abort();
			}
			/* Touch every byte, so ASan checks the entry is in bounds. */
			volatile uint8_t sum = 0;
			for (size_t i = 0; i < elen; i++)
				sum ^= entry[i];
			(void)sum;
			expect++;
			returned++;
		}
		/* Once finished, the iterator stays finished. */
		uint64_t index2;
		if (vl_wal_iter_next(it, &index2, &entry, &elen) != rc) {
			fprintf(stderr, "vl_wal_iter_next changed its mind after %d\n", rc);
			abort();
		}
	}
	if (rc < 0 && rc != VL_ECORRUPT && rc != VL_ENOMEM) {
		fprintf(stderr, "unexpected WAL error %d: %s\n", rc,
		        it ? vl_wal_iter_message(it) : "");
		abort();
	}
	if (rc < 0 && it && vl_wal_iter_message(it)[0] == '\0') {
		fprintf(stderr, "WAL error %d without a message\n", rc);
		abort();
	}
	if (it && (rc == 0 || vl_wal_iter_at_tail(it))) {
		uint64_t first, valid_end, next, file_size;
		vl_wal_iter_end(it, &first, &valid_end, &next, &file_size);
		/* A clean end may leave zeros after the last frame: space the
		 * writer preallocated.  Anything else must be a frame. */
		int zero_tail = 1;
		for (uint64_t i = valid_end; i < len; i++)
			zero_tail &= seg[i] == 0;
		if (first != 0 || file_size != len || valid_end > file_size ||
		    (valid_end != 0 && valid_end < VL_WAL_SEGMENT_HEADER) ||
		    (rc == 0 && (!zero_tail || next > expect || (returned && next != expect)))) {
			fprintf(stderr,
			        "inconsistent end state: rc %d first %llu valid_end %llu next %llu "
			        "size %llu (file %zu, next expected %llu)\n",
			        rc, (unsigned long long)first, (unsigned long long)valid_end,
			        (unsigned long long)next, (unsigned long long)file_size, len,
			        (unsigned long long)expect);
			abort();
		}
	}
	vl_wal_iter_close(it);
	free(seg);
	if (vl_sim_open_fds(sim) != 0) {
		fprintf(stderr, "the iterator leaked a descriptor\n");
		abort();
	}
	return 0;
}
