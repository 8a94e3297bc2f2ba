/*
 * test_log.c — the log handle through the public API, on a real file
 * system: appends, reads, checkpoints, proofs, receipts, group commit,
 * segments, reopening, and attacks on each invariant of the engine.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "merkle.h"
#include "note.h"
#include "vellum.h"
#include "vellum_io.h"

/* ------------------------------------------------------------------ */
/* Fixtures.                                                           */

static char tmpdir[256];
static char logdir[300];
static vl_signer *signer;
static vl_verifier *verifier;
static char keyfile[300];

static void run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vellum-test-log-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(logdir, sizeof logdir, "%s/log", tmpdir);
	snprintf(keyfile, sizeof keyfile, "%s/test.key", tmpdir);
	char *skey, *vkey;
	if (vl_key_generate("test.example/log", &skey, &vkey) != 0)
		return -1;
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, skey, strlen(skey)) != (ssize_t)strlen(skey))
		return -1;
	close(fd);
	if (vl_signer_parse(skey, &signer) != 0 || vl_verifier_parse(vkey, &verifier) != 0)
		return -1;
	free(skey);
	free(vkey);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf '%s'", tmpdir);
	vl_signer_free(signer);
	vl_verifier_free(verifier);
	return 0;
}

static vl_log *create_log(const vl_log_options *extra)
{
	run("rm -rf '%s'", logdir);
	vl_log_options opt = {0};
	if (extra)
		opt = *extra;
	opt.key_file = keyfile;
	vl_log *log = NULL;
	int rc = vl_log_create(logdir, signer, &opt, &log);
	if (rc != 0)
		fail_msg("create: %s: %s", vl_strerror(rc), vl_open_message());
	return log;
}

static vl_log *open_log(const vl_log_options *opt)
{
	vl_log *log = NULL;
	int rc = vl_log_open(logdir, opt, &log);
	if (rc != 0)
		fail_msg("open: %s: %s", vl_strerror(rc), vl_open_message());
	return log;
}

/* Entry i of a test log: deterministic, of varying length. */
static size_t make_entry(uint64_t i, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "{\"seq\":%llu,\"actor\":\"user%llu@example.com\",\"pad\":\"",
	                 (unsigned long long)i, (unsigned long long)(i % 97));
	size_t len = (size_t)n;
	size_t pad = (size_t)((i * 7919) % 300);
	for (size_t k = 0; k < pad && len + 3 < cap; k++)
		buf[len++] = (char)('a' + (i + k) % 26);
	buf[len++] = '"';
	buf[len++] = '}';
	return len;
}

static void append_range(vl_log *log, uint64_t first, uint64_t n)
{
	char *bufs = malloc(n * 512);
	vl_entry *e = calloc(n, sizeof *e);
	assert_non_null(bufs);
	assert_non_null(e);
	for (uint64_t i = 0; i < n; i++) {
		e[i].data = bufs + i * 512;
		e[i].len = make_entry(first + i, bufs + i * 512, 512);
	}
	uint64_t got = UINT64_MAX;
	int rc = vl_log_append(log, e, n, &got);
	if (rc != 0)
		fail_msg("append: %s: %s", vl_strerror(rc), vl_log_message(log));
	assert_int_equal(got, first);
	free(bufs);
	free(e);
}

static void check_entries(vl_log *log, uint64_t n)
{
	char want[512], got[65536];
	for (uint64_t i = 0; i < n; i++) {
		size_t wl = make_entry(i, want, sizeof want), gl = 0;
		int rc = vl_log_get(log, i, got, sizeof got, &gl);
		if (rc != 0)
			fail_msg("get %llu: %s: %s", (unsigned long long)i, vl_strerror(rc),
			         vl_log_message(log));
		assert_int_equal(gl, wl);
		assert_memory_equal(got, want, wl);
	}
}

/* The RFC 6962 root of entries 0..n-1, computed independently in memory. */
static void expected_root(uint64_t n, uint8_t out[VL_HASH_SIZE])
{
	uint8_t (*leaves)[VL_HASH_SIZE] = malloc((n ? n : 1) * VL_HASH_SIZE);
	char buf[512];
	for (uint64_t i = 0; i < n; i++)
		vl_leaf_hash(buf, make_entry(i, buf, sizeof buf), leaves[i]);
	vl_merkle_root_of_leaves((const uint8_t(*)[VL_HASH_SIZE])leaves, n, out);
	free(leaves);
}

static void checkpoint_ok(vl_log *log, uint64_t n)
{
	char *note = NULL;
	int rc = vl_log_checkpoint(log, &note);
	if (rc != 0)
		fail_msg("checkpoint: %s: %s", vl_strerror(rc), vl_log_message(log));
	vl_checkpoint cp;
	assert_int_equal(vl_checkpoint_verify(note, strlen(note), verifier, &cp), 0);
	assert_int_equal(cp.size, n);
	uint8_t root[VL_HASH_SIZE];
	expected_root(n, root);
	assert_memory_equal(cp.root, root, VL_HASH_SIZE);
	free(note);
}

static void flip_byte(const char *rel, long off)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", logdir, rel);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	if (off < 0)
		off = lseek(fd, 0, SEEK_END) + off;
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void expect_open_fails(const char *needle)
{
	vl_log *log = NULL;
	int rc = vl_log_open(logdir, NULL, &log);
	assert_null(log);
	assert_int_equal(rc, VL_ECORRUPT);
	if (needle && !strstr(vl_open_message(), needle))
		fail_msg("open failed as expected, but the message \"%s\" does not name \"%s\"",
		         vl_open_message(), needle);
}

/* ------------------------------------------------------------------ */
/* Basic behaviour.                                                    */

static void test_create_append_get(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	assert_int_equal(vl_log_size(log), 0);
	assert_string_equal(vl_log_origin(log), "test.example/log");
	append_range(log, 0, 1);
	append_range(log, 1, 999);
	assert_int_equal(vl_log_size(log), 1000);
	check_entries(log, 1000);
	char buf[4];
	size_t len;
	assert_int_equal(vl_log_get(log, 1000, buf, sizeof buf, &len), VL_ENOTFOUND);
	/* A too-small buffer reports the size and copies nothing. */
	assert_int_equal(vl_log_get(log, 0, buf, sizeof buf, &len), VL_ETOOBIG);
	assert_true(len > sizeof buf);
	assert_int_equal(vl_log_close(log), 0);

	log = open_log(NULL);
	assert_int_equal(vl_log_size(log), 1000);
	check_entries(log, 1000);
	append_range(log, 1000, 300);
	check_entries(log, 1300);
	assert_int_equal(vl_log_close(log), 0);
}

static void test_entry_size_limits(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	static char big[VL_ENTRY_MAX + 1];
	memset(big, 'x', sizeof big);
	vl_entry e[2] = {{big, 10}, {big, VL_ENTRY_MAX + 1}};
	/* A bad entry fails the whole batch before anything is written. */
	assert_int_equal(vl_log_append(log, e, 2, NULL), VL_EENTRY_SIZE);
	e[1].len = 0;
	assert_int_equal(vl_log_append(log, e, 2, NULL), VL_EENTRY_SIZE);
	assert_int_equal(vl_log_size(log), 0);
	e[1].len = VL_ENTRY_MAX;
	uint64_t first;
	assert_int_equal(vl_log_append(log, e, 2, &first), 0);
	assert_int_equal(first, 0);
	static char got[VL_ENTRY_MAX];
	size_t len;
	assert_int_equal(vl_log_get(log, 1, got, sizeof got, &len), 0);
	assert_int_equal(len, VL_ENTRY_MAX);
	assert_memory_equal(got, big, VL_ENTRY_MAX);
	/* ...and survives a reopen and a checkpoint. */
	assert_int_equal(vl_log_close(log), 0);
	log = open_log(NULL);
	assert_int_equal(vl_log_get(log, 1, got, sizeof got, &len), 0);
	assert_int_equal(len, VL_ENTRY_MAX);
	assert_int_equal(vl_log_checkpoint(log, NULL), 0);
	assert_int_equal(vl_log_close(log), 0);
}

static void test_checkpoints_and_proofs(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	vl_checkpoint cp;
	char *note = NULL;
	assert_int_equal(vl_log_latest_checkpoint(log, &cp, &note), 0);
	assert_int_equal(cp.size, 0);
	assert_int_equal(vl_checkpoint_verify(note, strlen(note), verifier, &cp), 0);
	free(note);

	uint64_t sizes[] = {1, 2, 3, 255, 256, 257, 511, 700, 65536 + 300};
	uint64_t prev = 0;
	uint8_t prev_root[VL_HASH_SIZE];
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		append_range(log, prev, sizes[s] - prev);
		checkpoint_ok(log, sizes[s]);
		assert_int_equal(vl_log_latest_checkpoint(log, &cp, NULL), 0);
		/* Inclusion proofs of a sample of indexes verify against the root. */
		for (uint64_t i = 0; i < sizes[s]; i += 1 + sizes[s] / 97) {
			uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE], leaf[VL_HASH_SIZE];
			size_t n_proof;
			char buf[512];
			vl_leaf_hash(buf, make_entry(i, buf, sizeof buf), leaf);
			assert_int_equal(vl_log_prove_inclusion(log, i, 0, proof, &n_proof), 0);
			assert_int_equal(vl_merkle_verify_inclusion(leaf, i, cp.size,
			                                            (const uint8_t(*)[VL_HASH_SIZE])proof,
			                                            n_proof, cp.root),
			                 0);
		}
		/* A consistency proof from the previous checkpoint verifies. */
		if (prev > 0) {
			uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
			size_t n_proof;
			assert_int_equal(vl_log_prove_consistency(log, prev, 0, proof, &n_proof), 0);
			assert_int_equal(vl_merkle_verify_consistency(prev, cp.size,
			                                              (const uint8_t(*)[VL_HASH_SIZE])proof,
			                                              n_proof, prev_root, cp.root),
			                 0);
		}
		prev = sizes[s];
		memcpy(prev_root, cp.root, VL_HASH_SIZE);
	}
	/* Receipts verify offline and name the right entry. */
	for (uint64_t i = 0; i < prev; i += 4099) {
		char *receipt = NULL, buf[512];
		size_t len = make_entry(i, buf, sizeof buf);
		assert_int_equal(vl_log_receipt(log, i, &receipt), 0);
		vl_checkpoint rcp;
		uint64_t index;
		assert_int_equal(vl_receipt_verify(receipt, strlen(receipt), (uint8_t *)buf, len,
		                                   verifier, &rcp, &index),
		                 0);
		assert_int_equal(index, i);
		assert_int_equal(rcp.size, prev);
		buf[0] ^= 1;
		assert_int_not_equal(vl_receipt_verify(receipt, strlen(receipt), (uint8_t *)buf, len,
		                                       verifier, &rcp, &index),
		                     0);
		free(receipt);
	}
	/* Entries not yet covered by a checkpoint get no receipt. */
	append_range(log, prev, 5);
	char *receipt = NULL;
	assert_int_equal(vl_log_receipt(log, prev + 1, &receipt), VL_ENOTFOUND);
	/* Re-issuing without new entries keeps the same checkpoint. */
	checkpoint_ok(log, prev + 5);
	checkpoint_ok(log, prev + 5);
	assert_int_equal(vl_log_close(log), 0);

	/* Proofs still work after reopening. */
	log = open_log(NULL);
	assert_int_equal(vl_log_latest_checkpoint(log, &cp, NULL), 0);
	assert_int_equal(cp.size, prev + 5);
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	size_t n_proof;
	assert_int_equal(vl_log_prove_consistency(log, 257, 0, proof, &n_proof), 0);
	assert_int_equal(vl_log_prove_inclusion(log, prev + 5, 0, proof, &n_proof), VL_ENOTFOUND);
	assert_int_equal(vl_log_close(log), 0);
}

/* ------------------------------------------------------------------ */
/* Group commit: a counting I/O table over POSIX.                       */

static vl_io counting_io;
static int n_datasyncs;
static int fail_next_datasync;

static int counting_fdatasync(void *ctx, int fd)
{
	(void)ctx;
	__atomic_add_fetch(&n_datasyncs, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&fail_next_datasync, 0, __ATOMIC_RELAXED))
		return -EIO;
	return vl_io_posix()->fdatasync(NULL, fd);
}

static void init_counting_io(void)
{
	counting_io = *vl_io_posix();
	counting_io.fdatasync = counting_fdatasync;
	n_datasyncs = 0;
	fail_next_datasync = 0;
}

struct writer {
	vl_log *log;
	int id;
	int n;
	uint64_t *indexes;
};

#define WRITERS 8
#define APPENDS_PER_WRITER 300

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char buf[64];
	for (int k = 0; k < w->n; k++) {
		int len = snprintf(buf, sizeof buf, "writer %d append %d", w->id, k);
		vl_entry e = {buf, (size_t)len};
		if (vl_log_append(w->log, &e, 1, &w->indexes[k]) != 0)
			w->indexes[k] = UINT64_MAX;
	}
	return NULL;
}

static void test_group_commit_many_threads(void **state)
{
	(void)state;
	init_counting_io();
	vl_log_options opt = {.io = &counting_io};
	vl_log *log = create_log(&opt);
	int syncs_before = n_datasyncs;
	pthread_t th[WRITERS];
	struct writer w[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){log, i, APPENDS_PER_WRITER, calloc(APPENDS_PER_WRITER, 8)};
		pthread_create(&th[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	uint64_t total = WRITERS * APPENDS_PER_WRITER;
	assert_int_equal(vl_log_size(log), total);
	/* Every index is used exactly once, and holds what its writer wrote. */
	uint8_t *seen = calloc(total, 1);
	for (int i = 0; i < WRITERS; i++)
		for (int k = 0; k < APPENDS_PER_WRITER; k++) {
			uint64_t idx = w[i].indexes[k];
			assert_true(idx < total);
			assert_int_equal(seen[idx], 0);
			seen[idx] = 1;
			char want[64], got[64];
			int wl = snprintf(want, sizeof want, "writer %d append %d", i, k);
			size_t gl;
			assert_int_equal(vl_log_get(log, idx, got, sizeof got, &gl), 0);
			assert_int_equal(gl, (size_t)wl);
			assert_memory_equal(got, want, gl);
			/* Each writer's own appends are in its order. */
			if (k > 0)
				assert_true(idx > w[i].indexes[k - 1]);
		}
	free(seen);
	int syncs = n_datasyncs - syncs_before;
	print_message("group commit: %llu appends from %d threads took %d fdatasyncs\n",
	              (unsigned long long)total, WRITERS, syncs);
	/* One sync per commit; concurrent appends must share commits. */
	assert_true(syncs < (int)total);
	for (int i = 0; i < WRITERS; i++)
		free(w[i].indexes);
	assert_int_equal(vl_log_checkpoint(log, NULL), 0);
	assert_int_equal(vl_log_close(log), 0);
}

/* Invariant 2: after a failed fsync nothing more is acknowledged. */
static void test_failed_fsync_is_sticky(void **state)
{
	(void)state;
	init_counting_io();
	vl_log_options opt = {.io = &counting_io};
	vl_log *log = create_log(&opt);
	append_range(log, 0, 10);
	fail_next_datasync = 1;
	char buf[512];
	vl_entry e = {buf, make_entry(10, buf, sizeof buf)};
	assert_int_equal(vl_log_append(log, &e, 1, NULL), -EIO);
	/* The I/O table works again, but the handle must not trust it. */
	assert_int_equal(vl_log_append(log, &e, 1, NULL), VL_EPOISONED);
	assert_int_equal(vl_log_checkpoint(log, NULL), VL_EPOISONED);
	assert_int_equal(vl_log_close(log), -EIO);
	/* Reopening rebuilds from disk: the acknowledged ten are there. */
	log = open_log(NULL);
	assert_true(vl_log_size(log) >= 10);
	check_entries(log, 10);
	assert_int_equal(vl_log_close(log), 0);
}

/* A failed handle revived in place: vl_log_reopen fails while the storage
 * still fails, then brings back exactly the acknowledged entries (not the
 * failed commit's), and appends, checkpoints and verification go on. */
static void test_reopen_in_place(void **state)
{
	(void)state;
	init_counting_io();
	vl_log_options opt = {.io = &counting_io};
	vl_log *log = create_log(&opt);
	append_range(log, 0, 10);
	checkpoint_ok(log, 10);
	append_range(log, 10, 5);
	/* Not poisoned: a no-op. */
	assert_int_equal(vl_log_reopen(log), 0);
	fail_next_datasync = 1;
	char buf[512];
	vl_entry e = {buf, make_entry(99, buf, sizeof buf)};
	assert_int_equal(vl_log_append(log, &e, 1, NULL), -EIO);
	assert_int_equal(vl_log_append(log, &e, 1, NULL), VL_EPOISONED);
	/* The storage still fails: the cut's sync fails, the handle stays
	 * refused. */
	fail_next_datasync = 1;
	assert_int_equal(vl_log_reopen(log), -EIO);
	assert_non_null(strstr(vl_log_message(log), "cannot cut the failed commit"));
	assert_int_equal(vl_log_append(log, &e, 1, NULL), VL_EPOISONED);
	/* It works again. */
	assert_int_equal(vl_log_reopen(log), 0);
	assert_int_equal(vl_log_size(log), 15);
	check_entries(log, 15);
	append_range(log, 15, 20);
	check_entries(log, 35);
	checkpoint_ok(log, 35);
	assert_int_equal(vl_log_close(log), 0);
	log = open_log(NULL);
	assert_int_equal(vl_log_size(log), 35);
	check_entries(log, 35);
	assert_int_equal(vl_log_close(log), 0);
	vl_verify_options vo = {verifier, NULL, 0, NULL, NULL};
	vl_verify_report rep;
	int rc = vl_verify_log_dir(logdir, &vo, &rep);
	if (rc != 0)
		fail_msg("verify: %s", rep.message);
}

/* Segments roll over; every entry is still found after reopening. */
static void test_segments(void **state)
{
	(void)state;
	vl_log_options opt = {.segment_bytes = 8192};
	vl_log *log = create_log(&opt);
	for (uint64_t i = 0; i < 2000; i += 50)
		append_range(log, i, 50);
	checkpoint_ok(log, 2000);
	assert_int_equal(vl_log_close(log), 0);
	log = open_log(&opt);
	check_entries(log, 2000);
	append_range(log, 2000, 10);
	checkpoint_ok(log, 2010);
	assert_int_equal(vl_log_close(log), 0);
	vl_verify_options vo = {verifier, NULL, 0, NULL, NULL};
	vl_verify_report rep;
	int rc = vl_verify_log_dir(logdir, &vo, &rep);
	if (rc != 0)
		fail_msg("verify: %s", rep.message);
	/* A segment removed from the middle is corruption. */
	run("ls '%s/wal' | sed -n 5p > '%s/victim'", logdir, tmpdir);
	run("cd '%s/wal' && rm -f \"$(cat '%s/victim')\"", logdir, tmpdir);
	rc = vl_verify_log_dir(logdir, &vo, &rep);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(rep.message, "wal/"));
}

/* ------------------------------------------------------------------ */
/* Invariant 3: recovery cuts only a torn tail.                         */

static void test_torn_tail_is_cut_and_reported(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 100);
	append_range(log, 100, 20);
	assert_int_equal(vl_log_close(log), 0);
	/* An unsynced write that landed half: a frame header and garbage. */
	static const char garbage[] = "VLFR\0\0\1\0 torn write garbage that never synced";
	char path[512];
	snprintf(path, sizeof path, "%s/wal/00000000000000000000", logdir);
	FILE *f = fopen(path, "ab");
	fwrite(garbage, 1, sizeof garbage, f);
	fclose(f);
	log = open_log(NULL);
	vl_recovery rec;
	vl_log_recovery(log, &rec);
	assert_int_equal(rec.dropped_frames, 1);
	assert_int_equal(rec.dropped_bytes, sizeof garbage);
	assert_int_equal(vl_log_size(log), 120);
	check_entries(log, 120);
	/* The log goes on from the cut. */
	append_range(log, 120, 5);
	checkpoint_ok(log, 125);
	assert_int_equal(vl_log_close(log), 0);
	log = open_log(NULL);
	vl_log_recovery(log, &rec);
	assert_int_equal(rec.dropped_frames, 0);
	check_entries(log, 125);
	assert_int_equal(vl_log_close(log), 0);
}

static void test_torn_last_commit_is_cut(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 30);
	append_range(log, 30, 30);
	assert_int_equal(vl_log_close(log), 0);
	/* Tear the payload of the last commit (its last bytes). */
	flip_byte("wal/00000000000000000000", -3);
	log = open_log(NULL);
	vl_recovery rec;
	vl_log_recovery(log, &rec);
	assert_int_equal(rec.dropped_frames, 1);
	assert_int_equal(vl_log_size(log), 30);
	check_entries(log, 30);
	assert_int_equal(vl_log_close(log), 0);
}

static void test_bad_middle_frame_is_corruption(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 30);
	append_range(log, 30, 30);
	assert_int_equal(vl_log_close(log), 0);
	/* A byte in the first frame's payload: valid data follows it. */
	flip_byte("wal/00000000000000000000", 32 + 32 + 40);
	expect_open_fails("wal/00000000000000000000");
	assert_non_null(strstr(vl_open_message(), "valid data follows"));
}

static void test_checkpointed_entries_cut_is_corruption(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 40);
	checkpoint_ok(log, 40);
	assert_int_equal(vl_log_close(log), 0);
	/* Truncating the WAL below the checkpoint loses signed entries. */
	char path[512];
	snprintf(path, sizeof path, "%s/wal/00000000000000000000", logdir);
	assert_int_equal(truncate(path, 32 + 100), 0);
	expect_open_fails("checkpoint covers 40");
}

/* ------------------------------------------------------------------ */
/* Invariants 5 and 6: checkpoints and derived data.                    */

static void test_rolled_back_checkpoint_refused(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 10);
	checkpoint_ok(log, 10);
	run("cp '%s/checkpoint' '%s/old-checkpoint'", logdir, tmpdir);
	append_range(log, 10, 10);
	checkpoint_ok(log, 20);
	assert_int_equal(vl_log_close(log), 0);
	/* Restore the older, validly signed checkpoint. */
	run("cp '%s/old-checkpoint' '%s/checkpoint'", tmpdir, logdir);
	expect_open_fails("rolled back");
}

static void test_forged_checkpoint_refused(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 10);
	checkpoint_ok(log, 10);
	assert_int_equal(vl_log_close(log), 0);
	flip_byte("checkpoint", 3); /* in the origin line */
	expect_open_fails("checkpoint");
}

static void test_modified_tile_detected(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 300);
	checkpoint_ok(log, 300);
	assert_int_equal(vl_log_close(log), 0);
	/* A full tile inside the tree: open checks only the right edge, so the
	 * damage shows when the tile is used and in a full verification. */
	flip_byte("tile/0/000", 100); /* leaf hash of entry 3 */
	log = open_log(NULL);
	char buf[512];
	size_t len;
	assert_int_equal(vl_log_get(log, 3, buf, sizeof buf, &len), VL_ECORRUPT);
	assert_non_null(strstr(vl_log_message(log), "entry 3"));
	assert_int_equal(vl_log_close(log), 0);
	vl_verify_options vo = {verifier, NULL, 0, NULL, NULL};
	vl_verify_report rep;
	assert_int_not_equal(vl_verify_log_dir(logdir, &vo, &rep), 0);
	assert_non_null(strstr(rep.message, "tile/0/000"));
	/* A tile on the right edge of the checkpoint is checked on open. */
	flip_byte("tile/0/000", 100);
	flip_byte("tile/1/000.p/1", 5);
	expect_open_fails("tiles");
}

static void test_modified_bundle_detected_by_get(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 300);
	checkpoint_ok(log, 300);
	assert_int_equal(vl_log_close(log), 0);
	flip_byte("tile/entries/000", 10); /* inside entry 0 */
	log = open_log(NULL);
	char buf[512];
	size_t len;
	assert_int_equal(vl_log_get(log, 0, buf, sizeof buf, &len), VL_ECORRUPT);
	assert_non_null(strstr(vl_log_message(log), "entry 0"));
	assert_int_equal(vl_log_get(log, 1, buf, sizeof buf, &len), 0);
	assert_int_equal(vl_log_close(log), 0);
}

/* vl_log_scan hands out every entry in order, from files, the queue and
 * the unsealed bundle alike, and catches a modified bundle. */
struct scan_check {
	uint64_t next;
	uint64_t stop_at;
};

static int scan_cb(void *ctx, uint64_t index, const uint8_t *entry, size_t len)
{
	struct scan_check *c = ctx;
	char want[1024];
	size_t wlen = make_entry(index, want, sizeof want);
	assert_int_equal(index, c->next);
	assert_int_equal(len, wlen);
	assert_memory_equal(entry, want, len);
	c->next++;
	return index == c->stop_at ? 42 : 0;
}

static void test_scan(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 700);
	checkpoint_ok(log, 700);
	append_range(log, 700, 400); /* queued full bundles and an unsealed one */
	struct scan_check c = {0, UINT64_MAX};
	assert_int_equal(vl_log_scan(log, 0, 1100, scan_cb, &c), 0);
	assert_int_equal(c.next, 1100);
	c = (struct scan_check){255, UINT64_MAX};
	assert_int_equal(vl_log_scan(log, 255, 2, scan_cb, &c), 0);
	assert_int_equal(c.next, 257);
	c = (struct scan_check){1099, UINT64_MAX};
	assert_int_equal(vl_log_scan(log, 1099, 1, scan_cb, &c), 0);
	c = (struct scan_check){10, 300};
	assert_int_equal(vl_log_scan(log, 10, 1000, scan_cb, &c), 42); /* stopped */
	assert_int_equal(c.next, 301);
	c = (struct scan_check){0, UINT64_MAX};
	assert_int_equal(vl_log_scan(log, 0, 1101, scan_cb, &c), VL_ENOTFOUND);
	assert_int_equal(vl_log_scan(log, 5, 0, scan_cb, &c), 0);
	assert_int_equal(vl_log_close(log), 0);
	flip_byte("tile/entries/001", 300); /* inside an entry of bundle 1 */
	log = open_log(NULL);
	c = (struct scan_check){0, UINT64_MAX};
	assert_int_equal(vl_log_scan(log, 0, 1100, scan_cb, &c), VL_ECORRUPT);
	assert_int_equal(c.next, 256); /* bundle 0 was handed out, bundle 1 refused */
	assert_non_null(strstr(vl_log_message(log), "tile/entries/001"));
	assert_int_equal(vl_log_close(log), 0);
}

static void test_export_verifies(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 1000);
	checkpoint_ok(log, 1000);
	append_range(log, 1000, 7); /* not covered: must not be exported */
	char out[400];
	snprintf(out, sizeof out, "%s/export", tmpdir);
	run("rm -rf '%s'", out);
	int rc = vl_log_export(log, out);
	if (rc != 0)
		fail_msg("export: %s: %s", vl_strerror(rc), vl_log_message(log));
	vl_verify_options vo = {verifier, NULL, 0, NULL, NULL};
	vl_verify_report rep;
	rc = vl_verify_tree(vl_fetch_dir, out, &vo, &rep);
	if (rc != 0)
		fail_msg("verify export: %s", rep.message);
	assert_int_equal(rep.checkpoint.size, 1000);
	assert_int_equal(vl_log_close(log), 0);
}

static void test_create_refuses_nonempty_dir(void **state)
{
	(void)state;
	run("rm -rf '%s' && mkdir -p '%s' && touch '%s/something'", logdir, logdir, logdir);
	vl_log *log = NULL;
	vl_log_options opt = {.key_file = keyfile};
	assert_int_equal(vl_log_create(logdir, signer, &opt, &log), VL_EEXIST);
	assert_null(log);
	assert_non_null(strstr(vl_open_message(), "not empty"));
	/* Opening something that is not a log says so. */
	assert_int_not_equal(vl_log_open(logdir, NULL, &log), 0);
	assert_non_null(strstr(vl_open_message(), "log.conf"));
}

static void test_wrong_key_refused_for_checkpoint(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 3);
	assert_int_equal(vl_log_close(log), 0);
	char other[400];
	snprintf(other, sizeof other, "%s/other.key", tmpdir);
	char *skey, *vkey;
	assert_int_equal(vl_key_generate("test.example/log", &skey, &vkey), 0);
	int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, skey, strlen(skey)), (ssize_t)strlen(skey));
	close(fd);
	free(skey);
	free(vkey);
	vl_log_options opt = {.key_file = other};
	log = open_log(&opt);
	assert_int_equal(vl_log_checkpoint(log, NULL), VL_EKEY);
	assert_non_null(strstr(vl_log_message(log), "not the log's key"));
	assert_int_equal(vl_log_close(log), 0);
}

/* A process that dies without closing leaves preallocated zeros after its
 * last frame: the next open takes them as the clean end, drops nothing,
 * and finds every acknowledged entry. */
static void test_exit_without_close(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	assert_int_equal(vl_log_close(log), 0);
	pid_t pid = fork();
	if (pid == 0) {
		vl_log *child = NULL;
		if (vl_log_open(logdir, NULL, &child) != 0)
			_exit(1);
		char buf[512];
		for (uint64_t i = 0; i < 500; i++) {
			vl_entry e = {buf, make_entry(i, buf, sizeof buf)};
			if (vl_log_append(child, &e, 1, NULL) != 0)
				_exit(2);
		}
		_exit(0); /* no close: like kill -9 after the last acknowledgement */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/wal/00000000000000000000", logdir);
	assert_int_equal(stat(path, &st), 0);
	print_message("WAL after exit without close: %lld bytes (frames + preallocated zeros)\n",
	              (long long)st.st_size);
	log = open_log(NULL);
	vl_recovery rec;
	vl_log_recovery(log, &rec);
	assert_int_equal(rec.dropped_bytes, 0);
	assert_int_equal(rec.replayed_entries, 500);
	check_entries(log, 500);
	append_range(log, 500, 10);
	checkpoint_ok(log, 510);
	assert_int_equal(vl_log_close(log), 0);
	/* A clean close cuts the zeros. */
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 200000);
}

/* Appends queue full tiles and bundles; reads find them in the queue;
 * vl_log_flush writes them; a checkpoint needs them on disk. */
static void test_tiles_queued_then_flushed(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 600);
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/tile/entries/001", logdir);
	assert_int_not_equal(stat(path, &st), 0); /* queued, not written */
	check_entries(log, 600);                  /* served from the queue */
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	size_t n_proof;
	assert_int_equal(vl_log_prove_inclusion(log, 3, 600, proof, &n_proof), 0);
	assert_int_equal(vl_log_flush(log), 0);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof path, "%s/tile/0/001", logdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8192);
	check_entries(log, 600); /* now from the files */
	append_range(log, 600, 300);
	checkpoint_ok(log, 900);
	assert_int_equal(vl_log_close(log), 0);
	vl_verify_options vo = {verifier, NULL, 0, NULL, NULL};
	vl_verify_report rep;
	int rc = vl_verify_log_dir(logdir, &vo, &rep);
	if (rc != 0)
		fail_msg("verify: %s", rep.message);
}

/* One process at a time: a second handle is refused while one is open. */
static void test_second_open_refused(void **state)
{
	(void)state;
	vl_log *log = create_log(NULL);
	append_range(log, 0, 3);
	vl_log *second = NULL;
	assert_int_equal(vl_log_open(logdir, NULL, &second), VL_ELOCKED);
	assert_null(second);
	assert_non_null(strstr(vl_open_message(), "open in another process"));
	assert_int_equal(vl_log_close(log), 0);
	second = open_log(NULL);
	check_entries(second, 3);
	assert_int_equal(vl_log_close(second), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_append_get),
		cmocka_unit_test(test_entry_size_limits),
		cmocka_unit_test(test_checkpoints_and_proofs),
		cmocka_unit_test(test_group_commit_many_threads),
		cmocka_unit_test(test_failed_fsync_is_sticky),
		cmocka_unit_test(test_reopen_in_place),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_torn_tail_is_cut_and_reported),
		cmocka_unit_test(test_torn_last_commit_is_cut),
		cmocka_unit_test(test_bad_middle_frame_is_corruption),
		cmocka_unit_test(test_checkpointed_entries_cut_is_corruption),
		cmocka_unit_test(test_rolled_back_checkpoint_refused),
		cmocka_unit_test(test_forged_checkpoint_refused),
		cmocka_unit_test(test_modified_tile_detected),
		cmocka_unit_test(test_modified_bundle_detected_by_get),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_export_verifies),
		cmocka_unit_test(test_create_refuses_nonempty_dir),
		cmocka_unit_test(test_wrong_key_refused_for_checkpoint),
		cmocka_unit_test(test_second_open_refused),
		cmocka_unit_test(test_exit_without_close),
		cmocka_unit_test(test_tiles_queued_then_flushed),
	};
	return cmocka_run_group_tests_name("log", tests, setup, teardown);
}
