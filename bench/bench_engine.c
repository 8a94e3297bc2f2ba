/*
 * bench_engine.c — libvellum's engine benchmarks, each with a baseline
 * measured in the same run so that the ratios mean something on a shared,
 * noisy machine.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 *   bench_engine ceiling                 SHA-256 ceiling (1 leaf + 1 node hash per entry)
 *   bench_engine append DIR [BATCH]      durable appends: batch 1/100/1000/10000 (or only BATCH)
 *                                        x 1/2 threads, with a checkpoint signed every second
 *                                        meanwhile (and, with BENCH_FLUSH set in the environment,
 *                                        tiles written every 100 ms by that thread)
 *   bench_engine latency DIR             single-entry durable append latency p50/p99
 *   bench_engine verify DIR N            build an N-entry log, then time full verification
 *   bench_engine reopen DIR N            append N entries, kill -9 the writer, time the reopen
 *
 * Entries are 256 bytes.  Every figure is printed on one line as
 * "name: value unit (ratio)".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vellum.h"

#define ENTRY_LEN 256

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench: %s: %s (%s)\n", what, vl_strerror(rc), vl_open_message());
	exit(1);
}

static void fill_entry(uint8_t *buf, uint64_t i)
{
	/* JSON-looking, unique per index, exactly ENTRY_LEN bytes. */
	int n = snprintf((char *)buf, ENTRY_LEN,
	                 "{\"seq\":%" PRIu64 ",\"actor\":\"user%" PRIu64
	                 "@example.com\",\"action\":\"db.query\",\"pad\":\"",
	                 i, i % 1000);
	for (int k = n; k < ENTRY_LEN - 2; k++)
		buf[k] = (uint8_t)('a' + (i + (uint64_t)k) % 26);
	buf[ENTRY_LEN - 2] = '"';
	buf[ENTRY_LEN - 1] = '}';
}

/* One-core SHA-256 ceiling of a Merkle log: per entry one leaf hash over
 * the entry and one node hash (n-1 internal nodes for n leaves). */
static double ceiling_rate(void)
{
	enum { N = 400000 };
	static uint8_t entries[1024][ENTRY_LEN];
	for (int i = 0; i < 1024; i++)
		fill_entry(entries[i], (uint64_t)i);
	uint8_t leaf[VL_HASH_SIZE], acc[VL_HASH_SIZE] = {0};
	double best = 0;
	for (int round = 0; round < 3; round++) {
		double t0 = now();
		for (int i = 0; i < N; i++) {
			vl_leaf_hash(entries[i & 1023], ENTRY_LEN, leaf);
			vl_node_hash(acc, leaf, acc);
		}
		double rate = N / (now() - t0);
		if (rate > best)
			best = rate;
	}
	if (acc[0] == 0 && acc[1] == 0 && acc[2] == 0 && acc[3] == 0)
		fprintf(stderr, "(unlikely hash)\n"); /* keeps the loop observable */
	return best;
}

static vl_signer *bench_signer(const char *dir, char *keyfile, size_t cap)
{
	char *skey, *vkey;
	int rc = vl_key_generate("bench.example/log", &skey, &vkey);
	if (rc)
		die("keygen", rc);
	snprintf(keyfile, cap, "%s.key", dir);
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, skey, strlen(skey)) < 0)
		die("write key", -errno);
	close(fd);
	vl_signer *s;
	if ((rc = vl_signer_parse(skey, &s)))
		die("parse key", rc);
	free(skey);
	free(vkey);
	return s;
}

static vl_log *fresh_log(const char *dir)
{
	char cmd[1024], keyfile[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		die("rm", -EIO);
	vl_signer *s = bench_signer(dir, keyfile, sizeof keyfile);
	vl_log_options opt = {.key_file = keyfile};
	vl_log *log;
	int rc = vl_log_create(dir, s, &opt, &log);
	if (rc)
		die("create", rc);
	vl_signer_free(s);
	return log;
}

struct appender {
	vl_log *log;
	size_t batch;
	double until;
	uint64_t appended;
	uint8_t *buf;
	vl_entry *e;
};

/* Signs a checkpoint every second, as `vellum serve` does: the tiles the
 * appends queued are written here, on the other core. */
struct checkpointer {
	vl_log *log;
	double until;
	int flush; /* also write tiles every 100 ms, as vellum serve does */
};

static void *checkpointer_main(void *arg)
{
	struct checkpointer *c = arg;
	while (now() < c->until) {
		usleep(100000);
		int rc = vl_log_checkpoint(c->log, NULL);
		if (rc)
			die("checkpoint", rc);
		for (int i = 0; i < 9 && now() < c->until; i++) {
			usleep(100000);
			if (c->flush && (rc = vl_log_flush(c->log)) != 0)
				die("flush", rc);
		}
	}
	return NULL;
}

static void *appender_main(void *arg)
{
	struct appender *a = arg;
	while (now() < a->until) {
		int rc = vl_log_append(a->log, a->e, a->batch, NULL);
		if (rc)
			die("append", rc);
		a->appended += a->batch;
	}
	return NULL;
}

/* The disk's ceiling for a batch: the same bytes as one WAL frame, written
 * with pwrite over space zero-filled ahead of time (as the WAL does, so the
 * file size does not change) and made durable with fdatasync; nothing else. */
static double disk_rate(const char *dir, size_t batch, double secs)
{
	char path[1100];
	snprintf(path, sizeof path, "%s.disk-baseline-%zu", dir, batch);
	size_t bytes = 32 + batch * (2 + ENTRY_LEN);
	uint8_t *buf = calloc(1, bytes);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !buf)
		die("baseline", -errno);
	uint64_t n = 0;
	off_t off = 0, allocated = 0;
	static uint8_t zeros[8 << 20];
	double t0 = now();
	while (now() - t0 < secs) {
		while (off + (off_t)bytes > allocated) {
			if (pwrite(fd, zeros, sizeof zeros, allocated) != (ssize_t)sizeof zeros)
				die("baseline zero fill", -errno);
			allocated += (off_t)sizeof zeros;
		}
		if (pwrite(fd, buf, bytes, off) != (ssize_t)bytes || fdatasync(fd))
			die("baseline write", -errno);
		off += (off_t)bytes;
		n += batch;
	}
	double rate = (double)n / (now() - t0);
	close(fd);
	free(buf);
	return rate;
}

static void bench_append(const char *dir, double ceiling, size_t only_batch)
{
	size_t batches[] = {1, 100, 1000, 10000};
	int flush = getenv("BENCH_FLUSH") != NULL;
	/* Each run gets its own directory, deleted only at the very end: on a
	 * file system mounted with online discard, deleting a large log slows
	 * the syncs that follow for seconds. */
	for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
		for (int threads = 1; threads <= 2; threads++) {
			if (only_batch && batches[b] != only_batch)
				continue;
			char sub[900];
			snprintf(sub, sizeof sub, "%.800s-b%zu-t%d", dir, batches[b], threads);
			vl_log *log = fresh_log(sub);
			struct appender a[2];
			pthread_t th[2];
			double secs = 3.0, t0 = now();
			struct checkpointer cp = {log, t0 + secs, flush};
			pthread_t cp_thread;
			pthread_create(&cp_thread, NULL, checkpointer_main, &cp);
			for (int t = 0; t < threads; t++) {
				a[t] = (struct appender){log, batches[b], t0 + secs, 0,
				                         malloc(batches[b] * ENTRY_LEN),
				                         malloc(batches[b] * sizeof(vl_entry))};
				for (size_t i = 0; i < batches[b]; i++) {
					fill_entry(a[t].buf + i * ENTRY_LEN, i + (uint64_t)t * 1000000);
					a[t].e[i] = (vl_entry){a[t].buf + i * ENTRY_LEN, ENTRY_LEN};
				}
				pthread_create(&th[t], NULL, appender_main, &a[t]);
			}
			uint64_t total = 0;
			for (int t = 0; t < threads; t++) {
				pthread_join(th[t], NULL);
				total += a[t].appended;
				free(a[t].buf);
				free(a[t].e);
			}
			double el = now() - t0;
			pthread_join(cp_thread, NULL);
			double rate = (double)total / el;
			double disk = disk_rate(sub, batches[b], 1.5);
			printf("append batch=%-5zu threads=%d: %10.0f entries/s (%.2f of the SHA-256 "
			       "ceiling; bare write+fdatasync of the same batch: %.0f entries/s, ratio %.2f)\n",
			       batches[b], threads, rate, rate / ceiling, disk, rate / disk);
			fflush(stdout);
			int rc = vl_log_checkpoint(log, NULL);
			if (rc)
				die("checkpoint", rc);
			vl_log_close(log);
		}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_latency(const char *dir)
{
	enum { N = 3000 };
	vl_log *log = fresh_log(dir);
	static double lat[N];
	uint8_t buf[ENTRY_LEN + 64] = {0}; /* a frame: entry plus headers */
	for (int i = 0; i < N; i++) {
		fill_entry(buf, (uint64_t)i);
		vl_entry e = {buf, ENTRY_LEN};
		double t0 = now();
		int rc = vl_log_append(log, &e, 1, NULL);
		lat[i] = now() - t0;
		if (rc)
			die("append", rc);
	}
	vl_log_close(log);
	/* Baseline: a bare pwrite + fdatasync of the same size, same disk. */
	static double base[N];
	char path[1024];
	snprintf(path, sizeof path, "%s.sync-baseline", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < N; i++) {
		double t0 = now();
		if (pwrite(fd, buf, ENTRY_LEN + 64, (off_t)i * (ENTRY_LEN + 64)) < 0 || fdatasync(fd))
			die("baseline", -errno);
		base[i] = now() - t0;
	}
	close(fd);
	unlink(path);
	qsort(lat, N, sizeof *lat, cmp_double);
	qsort(base, N, sizeof *base, cmp_double);
	printf("latency single-entry durable append: p50 %.3f ms, p99 %.3f ms "
	       "(bare pwrite+fdatasync: p50 %.3f ms, p99 %.3f ms; ratio p50 %.2f)\n",
	       lat[N / 2] * 1e3, lat[N * 99 / 100] * 1e3, base[N / 2] * 1e3, base[N * 99 / 100] * 1e3,
	       lat[N / 2] / base[N / 2]);
}

static void build_log(const char *dir, uint64_t n, uint64_t checkpoint_every)
{
	vl_log *log = fresh_log(dir);
	enum { B = 4096 };
	uint8_t *buf = malloc((size_t)B * ENTRY_LEN);
	vl_entry *e = malloc(B * sizeof *e);
	for (uint64_t done = 0; done < n;) {
		size_t k = n - done < B ? (size_t)(n - done) : B;
		for (size_t i = 0; i < k; i++) {
			fill_entry(buf + i * ENTRY_LEN, done + i);
			e[i] = (vl_entry){buf + i * ENTRY_LEN, ENTRY_LEN};
		}
		int rc = vl_log_append(log, e, k, NULL);
		if (rc)
			die("append", rc);
		done += k;
		if (checkpoint_every && done % checkpoint_every < k && (rc = vl_log_checkpoint(log, NULL)))
			die("checkpoint", rc);
	}
	int rc = vl_log_checkpoint(log, NULL);
	if (rc)
		die("checkpoint", rc);
	free(buf);
	free(e);
	vl_log_close(log);
}

static void bench_verify(const char *dir, uint64_t n, double ceiling)
{
	build_log(dir, n, 0);
	char keyfile[1024], vkeyfile[1024];
	snprintf(keyfile, sizeof keyfile, "%s.key", dir);
	vl_signer *s;
	int rc = vl_signer_load(keyfile, &s);
	if (rc)
		die("load key", rc);
	char *vkey;
	if ((rc = vl_signer_vkey(s, &vkey)))
		die("vkey", rc);
	vl_signer_free(s);
	snprintf(vkeyfile, sizeof vkeyfile, "%s.vkey", dir);
	/* Measure in a freshly exec'ed process, so that its peak RSS is the
	 * verifier's alone (a forked child would count the builder's pages). */
	pid_t pid = fork();
	if (pid == 0) {
		char count[32];
		snprintf(count, sizeof count, "%" PRIu64, n);
		char ceil_s[64];
		snprintf(ceil_s, sizeof ceil_s, "%.0f", ceiling);
		execl("/proc/self/exe", "bench_engine", "verify-only", dir, vkey, count, ceil_s,
		      (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	free(vkey);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("verify child", -EIO);
}

static void bench_reopen(const char *dir, uint64_t n)
{
	/* The writer checkpoints every 1 M entries (as a server would every
	 * second at that rate) and is killed while appending past the last. */
	int pfd[2];
	if (pipe(pfd))
		die("pipe", -errno);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		die("rm", -EIO);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		build_log(dir, n, 1000000);
		vl_log *log;
		int rc = vl_log_open(dir, NULL, &log);
		if (rc)
			die("open", rc);
		uint8_t buf[ENTRY_LEN];
		for (uint64_t i = 0;; i++) {
			fill_entry(buf, n + i);
			vl_entry e = {buf, ENTRY_LEN};
			if ((rc = vl_log_append(log, &e, 1, NULL)))
				die("append", rc);
			if (i == 1000 && write(pfd[1], "x", 1) != 1)
				_exit(1);
		}
	}
	close(pfd[1]);
	char c;
	if (read(pfd[0], &c, 1) != 1)
		die("writer died", -EIO);
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	double t0 = now();
	vl_log *log;
	int rc = vl_log_open(dir, NULL, &log);
	double el = now() - t0;
	if (rc)
		die("reopen", rc);
	vl_recovery rec;
	vl_log_recovery(log, &rec);
	uint64_t size = vl_log_size(log);
	vl_log_close(log);
	/* Baseline: opening a log of 1000 entries, same disk, same run. */
	build_log(dir, 1000, 0);
	double t1 = now();
	if ((rc = vl_log_open(dir, NULL, &log)))
		die("open small", rc);
	double small = now() - t1;
	vl_log_close(log);
	printf("reopen after kill -9 of a %" PRIu64 "-entry log: %.3f s (replayed %" PRIu64
	       " entries, cut %" PRIu64 " bytes; a 1000-entry log opens in %.3f s)\n",
	       size, el, rec.replayed_entries, rec.dropped_bytes, small);
}

/* The measured part of "verify", in a process of its own. */
static int verify_only(const char *dir, const char *vkey, uint64_t n, double ceiling)
{
	vl_verifier *v;
	if (vl_verifier_parse(vkey, &v))
		return 2;
	vl_verify_options vo = {v, NULL, 0, NULL, NULL};
	static vl_verify_report rep;
	double t0 = now();
	int rc = vl_verify_log_dir(dir, &vo, &rep);
	double el = now() - t0;
	if (rc) {
		fprintf(stderr, "verify failed: %s\n", rep.message);
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("verify %" PRIu64 " entries (WAL + bundles + tiles): %.0f entries/s in %.2f s, "
	       "peak RSS %ld KiB (%.2f of the SHA-256 ceiling)\n",
	       n, (double)n / el, el, ru.ru_maxrss, (double)n / el / ceiling);
	vl_verifier_free(v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_engine ceiling|append DIR|latency DIR|verify DIR N|reopen DIR N\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "ceiling")) {
		printf("ceiling SHA-256 one core, 256-byte entries: %.0f entries/s\n", ceiling_rate());
	} else if (!strcmp(cmd, "append") && (argc == 3 || argc == 4)) {
		double c = ceiling_rate();
		printf("ceiling SHA-256 one core, 256-byte entries: %.0f entries/s\n", c);
		bench_append(argv[2], c, argc == 4 ? strtoull(argv[3], NULL, 10) : 0);
	} else if (!strcmp(cmd, "latency") && argc == 3) {
		bench_latency(argv[2]);
	} else if (!strcmp(cmd, "verify") && argc == 4) {
		double c = ceiling_rate();
		bench_verify(argv[2], strtoull(argv[3], NULL, 10), c);
	} else if (!strcmp(cmd, "verify-only") && argc == 6) {
		return verify_only(argv[2], argv[3], strtoull(argv[4], NULL, 10), atof(argv[5]));
	} else if (!strcmp(cmd, "reopen") && argc == 4) {
		bench_reopen(argv[2], strtoull(argv[3], NULL, 10));
	} else {
		fprintf(stderr, "bench_engine: unknown command or wrong arguments\n");
		return 2;
	}
	return 0;
}
