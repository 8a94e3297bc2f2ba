/*
 * test_chaos_scenarios.c — the power-loss, bit-rot and tamper scenarios of
 * `vellum chaos run` (src/chaos/power_loss.c, src/chaos/tamper.c), run in
 * quick mode: each must pass with sane counts.  And the judge they rely
 * on, shown to fail: a "change" that changes nothing, and a change whose
 * message names another place, must both count as misses.
 *
 * Needs VL_BIN, the vellum binary (`vellum verify` is run as a child).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chaos.h"
#include "run.h"
#include "scenarios.h"
#include "vellum.h"

#define SEED 20260101

/* In src/chaos/tamper.c: copy, change, verify, judge. */
typedef int (*vc_tamper_edit_fn)(const char *copy, void *arg);
int vc_tamper_probe(const char *vellum, const char *logdir, const char *vkey_file,
                    const char *since_file, const char *scratch, vc_tamper_edit_fn edit,
                    void *arg, const char *expect, char *why, size_t whycap);

/* In src/chaos/power_loss.c: one simulator seed on its own. */
int vc_power_loss_seed(const char *dir, uint64_t seed, int threaded, int sabotage,
                       uint64_t *acked, uint64_t *lost, char *why, size_t whycap);

static char tmpdir[200];
static const char *vellum;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/vellum-chaos-scn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	vellum = getenv("VL_BIN");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!getenv("VL_KEEP"))
		(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_one(const char *name, void (*fn)(const vc_run_options *, vc_result *),
                    vc_result *r)
{
	vc_run_options o = {
		.vellum = vellum,
		.scenarios = name,
		.dir = tmpdir,
		.seed = SEED,
		.duration_s = 12,
		.quick = 1,
		.quiet = 1,
	};
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->seed = vc_rng_derive(SEED, name);
	double t0 = now_s();
	fn(&o, r);
	printf("%s: %s in %.1f s (%.1f s reported)\n  verdict: %s\n  limits: %s\n", name,
	       r->passed ? "PASSED" : "FAILED", now_s() - t0, r->duration_s, r->verdict,
	       r->limits);
	fflush(stdout);
}

static void power_loss_passes(void **state)
{
	(void)state;
	vc_result r;
	run_one("power-loss", vc_scenario_power_loss, &r);
	assert_true(r.passed);
	assert_true(r.acked > 0);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.corrupt, 0);
	assert_int_equal(r.duplicated, 0);
	assert_int_equal(r.holes, 0);
	assert_int_equal(r.acks_after_io_error, 0);
	assert_non_null(strstr(r.verdict, "seeds"));
	assert_true(r.limits[0] != '\0');
	assert_true(r.duration_s > 0);
}

/* Storage that forgets synced data must be caught; the same seeds on
 * honest storage pass. */
static void power_loss_catches_forgetful_storage(void **state)
{
	(void)state;
	char dir[256], why[700];
	int caught = 0;
	snprintf(dir, sizeof dir, "%s/forgetful", tmpdir);
	for (uint64_t seed = 1; seed <= 12; seed++) {
		uint64_t acked = 0, lost = 0;
		int rc = vc_power_loss_seed(dir, seed, 0, 0, &acked, &lost, why, sizeof why);
		if (rc != 1)
			printf("honest seed %" PRIu64 ": %s\n", seed, why);
		assert_int_equal(rc, 1);
		assert_int_equal(lost, 0);
		rc = vc_power_loss_seed(dir, seed, 0, 1, &acked, &lost, why, sizeof why);
		assert_true(rc >= 0);
		if (rc == 0) {
			caught++;
			assert_true(lost > 0);
			if (caught == 1)
				printf("forgetful seed %" PRIu64 ": %s\n", seed, why);
		}
	}
	printf("forgetful storage caught in %d of 12 seeds\n", caught);
	/* A seed whose newest segment held nothing acknowledged loses nothing;
	 * most do hold some. */
	assert_true(caught >= 6);
}

static void bit_rot_passes(void **state)
{
	(void)state;
	if (!vellum) {
		skip();
		return;
	}
	vc_result r;
	run_one("bit-rot", vc_scenario_bit_rot, &r);
	assert_true(r.passed);
	assert_true(r.corruptions_injected >= 20);
	assert_int_equal(r.corruptions_detected, r.corruptions_injected);
	assert_non_null(strstr(r.verdict, "WAL segment"));
	assert_true(r.limits[0] != '\0');
}

static void tamper_passes(void **state)
{
	(void)state;
	if (!vellum) {
		skip();
		return;
	}
	vc_result r;
	run_one("tamper", vc_scenario_tamper, &r);
	assert_true(r.passed);
	assert_true(r.corruptions_injected >= 20);
	assert_int_equal(r.corruptions_detected, r.corruptions_injected);
	static const char *const kinds[] = {"edit-entry", "edit-wal", "rewrite", "reorder",
	                                    "delete-bundle", "delete-tile", "delete-wal",
	                                    "truncate", "rollback", "foreign-key"};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		assert_non_null(strstr(r.verdict, kinds[i]));
	assert_non_null(strstr(r.limits, "since"));
}

/* A small log of 300 entries, checkpointed, in DIR/log; its key in
 * DIR/log.vkey. */
static void small_log(const char *dir, char *logdir, char *vkey_file, size_t cap)
{
	char *skey = NULL, *vkey = NULL, keyfile[512];
	assert_true(strlen(dir) < 256);
	vl_signer *s = NULL;
	vl_log *log = NULL;
	snprintf(logdir, cap, "%.256s/log", dir);
	snprintf(vkey_file, cap, "%.256s/log.vkey", dir);
	snprintf(keyfile, sizeof keyfile, "%.256s/log.key", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(vl_key_generate("chaos.test/log", &skey, &vkey), 0);
	assert_int_equal(vl_signer_parse(skey, &s), 0);
	FILE *f = fopen(vkey_file, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", vkey);
	fclose(f);
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, skey, strlen(skey)), (ssize_t)strlen(skey));
	close(fd);
	vl_log_options opt = {.key_file = keyfile};
	assert_int_equal(vl_log_create(logdir, s, &opt, &log), 0);
	for (int i = 0; i < 300; i++) {
		char buf[32];
		vl_entry e = {buf, (size_t)snprintf(buf, sizeof buf, "entry %03d", i)};
		assert_int_equal(vl_log_append(log, &e, 1, NULL), 0);
	}
	char *note = NULL;
	assert_int_equal(vl_log_checkpoint(log, &note), 0);
	free(note);
	assert_int_equal(vl_log_close(log), 0);
	vl_signer_free(s);
	free(skey);
	free(vkey);
}

/* Changes nothing: the "attack" of a tamper that did not happen. */
static int edit_nothing(const char *copy, void *arg)
{
	(void)copy;
	(void)arg;
	return 0;
}

/* Flips a byte of entry 5 in the first bundle ("entry 005" at 11*5+2). */
static int edit_entry5(const char *copy, void *arg)
{
	(void)arg;
	char p[512];
	snprintf(p, sizeof p, "%s/tile/entries/000", copy);
	int fd = open(p, O_RDWR);
	if (fd < 0)
		return -errno;
	uint8_t c;
	int rc = pread(fd, &c, 1, 11 * 5 + 2 + 8) == 1 ? 0 : -EIO;
	c ^= 0x01;
	if (rc == 0 && pwrite(fd, &c, 1, 11 * 5 + 2 + 8) != 1)
		rc = -EIO;
	close(fd);
	return rc;
}

static void judge_counts_misses(void **state)
{
	(void)state;
	if (!vellum) {
		skip();
		return;
	}
	char dir[256], logdir[512], vkey[512], scratch[512], why[700];
	snprintf(dir, sizeof dir, "%s/judge", tmpdir);
	snprintf(scratch, sizeof scratch, "%s/copy", dir);
	small_log(dir, logdir, vkey, sizeof logdir);

	/* No change: verify passes, so the "tamper" went undetected. */
	int rc = vc_tamper_probe(vellum, logdir, vkey, NULL, scratch, edit_nothing, NULL,
	                         "tile/entries/000", why, sizeof why);
	printf("unchanged copy: %d: %s\n", rc, why);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(why, "exited 0"));

	/* A real change, found at the right place. */
	rc = vc_tamper_probe(vellum, logdir, vkey, NULL, scratch, edit_entry5, NULL,
	                     "entry 5&tile/entries/000", why, sizeof why);
	printf("entry 5 changed: %d: %s\n", rc, why);
	assert_int_equal(rc, 1);

	/* The same change, where a message naming another entry is expected:
	 * detected, but not at the place claimed, so it is a miss. */
	rc = vc_tamper_probe(vellum, logdir, vkey, NULL, scratch, edit_entry5, NULL,
	                     "entry 50&tile/entries/000|tile/entries/001", why, sizeof why);
	printf("wrong place: %d: %s\n", rc, why);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(why, "without naming"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(power_loss_passes),
		cmocka_unit_test(power_loss_catches_forgetful_storage),
		cmocka_unit_test(bit_rot_passes),
		cmocka_unit_test(tamper_passes),
		cmocka_unit_test(judge_counts_misses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
