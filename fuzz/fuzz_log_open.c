/*
 * fuzz_log_open.c — libFuzzer driver for vl_log_open (log.c) on a log
 * directory in the storage simulator (io_sim.h) where one file is replaced
 * by the input.  The base log is built once at startup with vl_log_create
 * on a simulator: 260 entries, a checkpoint, 5 more, a second checkpoint
 * and 3 entries that no checkpoint covers yet (so open must replay them
 * from the WAL), in WAL segments of 4 KiB so that there are two.  Its
 * files are snapshotted, and each run restores them into a fresh
 * simulator before replacing one.
 *
 * The first input byte selects the file (mod 4), the rest is its content:
 *   0  log.conf
 *   1  checkpoints (the history of every signed checkpoint)
 *   2  checkpoint (the latest signed checkpoint)
 *   3  the newest WAL segment (torn-tail recovery)
 *
 * vl_log_open must not crash and must return either an error (with a
 * message) or a usable handle.  A usable handle holds the log that was
 * written: the same latest checkpoint and the same entries up to it, and
 * no entry beyond it that was not written — except when the WAL itself
 * was replaced, since entries after the checkpoint are protected only by
 * the WAL's checksums: then open may have cut a torn tail or found other
 * checksummed entries, but never fewer than the checkpoint covers.  An
 * append must then succeed at the next index, vl_log_close must return
 * 0 having closed every descriptor, and the log must open again.  Nobody but the fixed key
 * could sign a checkpoint, so no replaced file can legitimately change
 * what was signed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_sim.h"
#include "note.h"
#include "vellum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed key for fuzzing only: its seed is the ASCII string
 * "vellum-fuzz-seed-not-a-secret-00".  Never use it for a real log. */
static const char fuzz_skey[] =
	"PRIVATE+KEY+vellum.example/fuzz+ed8b379e+AXZlbGx1bS1mdXp6LXNlZWQtbm90LWEtc2VjcmV0LTAw";

#define LOGDIR "/sim/log"
#define SIM_SEED 20260101
#define N_FIRST 260
#define N_SECOND 5
#define N_TAIL 3
#define N_TOTAL (N_FIRST + N_SECOND + N_TAIL)
/* Small WAL segments: the base log's WAL spans two of them, and the space
 * the writer preallocates ahead of its frames stays small. */
#define SEGMENT_BYTES 4096
#define MAX_FILES 64

struct file {
	char *path;
	uint8_t *data;
	size_t len;
};

static struct file files[MAX_FILES];
static size_t n_files;
static vl_checkpoint base_cp;
static char *base_origin;
static const char *newest_segment; /* path of the newest WAL segment */

static void entry_text(uint64_t i, char *buf, size_t cap, size_t *len)
{
	/* Lengths vary from 1 byte up, so bundles hold entries of many sizes. */
	int n = snprintf(buf, cap, "%llu:%.*s", (unsigned long long)i, (int)(i % 40),
	                 "audit record payload for the fuzz log...");
	*len = i % 7 == 0 ? 1 : (size_t)n;
}

static void append_range(vl_log *log, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to;) {
		vl_entry batch[16];
		char bufs[16][64];
		size_t n = 0;
		for (; n < 16 && i < to; n++, i++) {
			entry_text(i, bufs[n], sizeof bufs[n], &batch[n].len);
			batch[n].data = bufs[n];
		}
		uint64_t first;
		if (vl_log_append(log, batch, n, &first) != 0 || first != i - n)
			abort();
	}
}

static int snapshot_file(void *arg, const char *path)
{
	vl_sim *sim = arg;
	if (n_files == MAX_FILES)
		abort();
	struct file *f = &files[n_files++];
	f->path = strdup(path);
	if (!f->path || vl_sim_read_file(sim, path, VL_SIM_CACHED, &f->data, &f->len) != 0)
		abort();
	return 0;
}

static void setup(void)
{
	vl_signer *s = NULL;
	if (vl_signer_parse(fuzz_skey, &s) != 0)
		abort();
	/* vl_log_checkpoint loads the signer from a real key file. */
	char key_file[] = "/tmp/vellum-fuzz-key-XXXXXX";
	int fd = mkstemp(key_file);
	if (fd < 0 || write(fd, fuzz_skey, strlen(fuzz_skey)) != (ssize_t)strlen(fuzz_skey) ||
	    close(fd) != 0)
		abort();

	vl_sim *sim = vl_sim_new(SIM_SEED);
	if (!sim || vl_sim_mkdir_p(sim, "/sim") != 0)
		abort();
	vl_log_options opt = {.io = vl_sim_io(sim), .segment_bytes = SEGMENT_BYTES};
	vl_log *log = NULL;
	if (vl_log_create(LOGDIR, s, &opt, &log) != 0)
		abort();
	append_range(log, 0, N_FIRST);
	if (vl_log_close(log) != 0)
		abort();
	opt.key_file = key_file;
	if (vl_log_open(LOGDIR, &opt, &log) != 0 || vl_log_checkpoint(log, NULL) != 0)
		abort();
	append_range(log, N_FIRST, N_FIRST + N_SECOND);
	if (vl_log_checkpoint(log, NULL) != 0 || vl_log_latest_checkpoint(log, &base_cp, NULL) != 0)
		abort();
	append_range(log, N_FIRST + N_SECOND, N_TOTAL);
	base_origin = strdup(vl_log_origin(log));
	if (vl_log_close(log) != 0)
		abort();
	unlink(key_file);
	vl_signer_free(s);

	if (vl_sim_list_files(sim, LOGDIR, VL_SIM_CACHED, snapshot_file, sim) != 0)
		abort();
	/* Listed in byte order: the last file under wal/ is the newest. */
	for (size_t i = 0; i < n_files; i++)
		if (!strncmp(files[i].path, LOGDIR "/wal/", strlen(LOGDIR "/wal/")))
			newest_segment = files[i].path;
	if (!newest_segment || !strcmp(newest_segment, LOGDIR "/wal/00000000000000000000"))
		abort(); /* the base log is meant to have two segments */
	vl_sim_free(sim);
}

/* A fresh simulator holding the base log, with PATH (if not NULL)
 * replaced by DATA. */
static vl_sim *restore(const char *path, const uint8_t *data, size_t len)
{
	vl_sim *sim = vl_sim_new(SIM_SEED);
	if (!sim)
		abort();
	for (size_t i = 0; i < n_files; i++) {
		struct file *f = &files[i];
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", f->path);
		*strrchr(dir, '/') = '\0';
		int is = path && strcmp(f->path, path) == 0;
		if (vl_sim_mkdir_p(sim, dir) != 0 ||
		    vl_sim_write_file(sim, f->path, is ? data : f->data, is ? len : f->len) != 0)
			abort();
	}
	return sim;
}

/* Open the log in SIM and, if that works, check it is the base log.  With
 * WAL_REPLACED, entries after the checkpoint may differ (see the top). */
static int open_and_check(vl_sim *sim, const char *what, int wal_replaced)
{
	vl_log_options opt = {.io = vl_sim_io(sim), .segment_bytes = SEGMENT_BYTES};
	vl_log *log = NULL;
	int rc = vl_log_open(LOGDIR, &opt, &log);
	if (rc != 0) {
		if (log != NULL || vl_open_message()[0] == '\0') {
			fprintf(stderr, "vl_log_open failed (%d) without a message\n", rc);
			abort();
		}
		if (vl_sim_open_fds(sim) != 0) {
			fprintf(stderr, "vl_log_open failed (%d: %s) and left %zu descriptors open\n",
			        rc, vl_open_message(), vl_sim_open_fds(sim));
			abort();
		}
		return rc;
	}
	vl_checkpoint cp;
	char *note = NULL;
	uint64_t size = vl_log_size(log);
	if ((wal_replaced ? size < base_cp.size : size != N_TOTAL) ||
	    strcmp(vl_log_origin(log), base_origin) != 0 ||
	    vl_log_latest_checkpoint(log, &cp, &note) != 0 ||
	    memcmp(&cp, &base_cp, sizeof cp) != 0) {
		fprintf(stderr, "vl_log_open with a replaced %s accepted a different log "
		        "(size %llu)\n", what, (unsigned long long)size);
		abort();
	}
	free(note);
	uint64_t same = wal_replaced ? base_cp.size : N_TOTAL;
	for (uint64_t i = N_FIRST - 5; i < same; i += 2) {
		char want[64], got[VL_ENTRY_MAX];
		size_t want_len, got_len;
		entry_text(i, want, sizeof want, &want_len);
		if (vl_log_get(log, i, got, sizeof got, &got_len) != 0 || got_len != want_len ||
		    memcmp(got, want, want_len) != 0) {
			fprintf(stderr, "entry %llu reads back wrong\n", (unsigned long long)i);
			abort();
		}
	}
	vl_entry e = {"appended after open", 19};
	uint64_t first;
	if (vl_log_append(log, &e, 1, &first) != 0 || first != size) {
		fprintf(stderr, "the opened log cannot append: %s\n", vl_log_message(log));
		abort();
	}
	if (vl_log_close(log) != 0 || vl_sim_open_fds(sim) != 0) {
		fprintf(stderr, "vl_log_close failed or left descriptors open\n");
		abort();
	}
	/* Whatever open repaired, the log it left must open again as is. */
	log = NULL;
	if (vl_log_open(LOGDIR, &opt, &log) != 0 || vl_log_size(log) != size + 1 ||
	    vl_log_close(log) != 0) {
		fprintf(stderr, "the log does not reopen after a successful open and append: %s\n",
		        log ? "wrong size" : vl_open_message());
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!n_files) {
		setup();
		/* The unmodified base log must open, or every run is meaningless. */
		vl_sim *sim = restore(NULL, NULL, 0);
		if (open_and_check(sim, "nothing", 0) != 0) {
			fprintf(stderr, "fuzz_log_open: the base log does not open: %s\n",
			        vl_open_message());
			abort();
		}
		vl_sim_free(sim);
	}
	if (size < 1)
		return 0;
	const char *const names[4] = {LOGDIR "/log.conf", LOGDIR "/checkpoints",
	                              LOGDIR "/checkpoint", newest_segment};
	unsigned which = data[0] % 4;
	vl_sim *sim = restore(names[which], data + 1, size - 1);
	open_and_check(sim, names[which], which == 3);
	vl_sim_free(sim);
	return 0;
}
