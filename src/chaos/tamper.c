/*
 * tamper.c — the bit-rot and tamper scenarios of `vellum chaos run`: a log
 * directory is built with libvellum, then damaged, one change per fresh
 * copy, and the real `vellum verify` must fail (exit status 1) with a
 * message that names the place of the change.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The base log (o->dir/<scenario>/base) holds TP_ENTRIES entries of
 * varied length, appended in batches of 1..12 into WAL segments of 4 KiB,
 * with checkpoints signed at about a third, at half (kept as cp-old) and
 * at the end (cp-new), so that every entry is covered by the newest one.
 * Before any change it must verify, with and without --since cp-old.
 *
 * bit-rot flips one bit per copy: a kind of stored file drawn uniformly
 * among entry bundles, hash tiles, WAL segments and the checkpoint, then a
 * file of that kind, then a bit of it; the message must name that file (a WAL
 * segment: its name, or the index of its first entry).  log.conf,
 * checkpoints (the history) and .lock are not among them: `vellum verify`
 * does not read them (docs/chaos_scenarios.md says why).
 *
 * tamper makes the changes of an attacker with root but without the
 * signer key, each with what the message must name:
 *
 *   edit-entry       a byte of an entry in a bundle: the entry's index and
 *                    the bundle
 *   edit-wal         a byte of an entry in a WAL frame, both CRCs recomputed:
 *                    the entry's index and the segment
 *   rewrite          an entry changed in its bundle, its WAL frame (CRCs
 *                    recomputed) and every hash tile above it: only the
 *                    signed root can tell, so: the checkpoint and the root
 *   delete-bundle    a bundle file: its name
 *   delete-tile      a hash tile file: its name
 *   delete-wal       a WAL segment: its name or its first entry's index
 *   delete-entry     one entry cut out of a bundle: the bundle
 *   reorder          two entries of a bundle swapped: the bundle and the
 *                    index of the first of the two
 *   swap-bundles     two full bundles' files exchanged: bundle 0's name and
 *                    entry 0
 *   truncate         a bundle, tile, WAL segment or the checkpoint cut
 *                    short: the file (a WAL segment: as delete-wal, or the
 *                    first entry cut)
 *   extend           bytes appended to a bundle or a hash tile: the file
 *   rollback         the checkpoint replaced by the older cp-old, verified
 *                    with --since cp-new: "rolled back"
 *   foreign-key      the checkpoint replaced by one signed by another key of
 *                    the same name: the checkpoint and its signature
 *
 * Every choice (file, offset, entry, size) comes from the scenario's seed;
 * the keys are generated afresh, which changes signatures but no choice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos.h"
#include "util.h"
#include "crc32c.h"
#include "run.h"
#include "scenarios.h"
#include "tiles.h"
#include "vellum.h"
#include "wal.h"

#define TP_ENTRIES 600
#define TP_SEGMENT_BYTES 4096
#define TP_FILES_MAX 256
#define TP_OUT_MAX 8192
#define TP_VERIFY_TIMEOUT_S 120
/* Quick mode: flips, and instances of each tamper kind; otherwise per
 * second of --duration. */
#define TP_FLIPS_QUICK 48
#define TP_FLIPS_PER_S 5
#define TP_EACH_QUICK 3
#define TP_EACH_PER_10S 2

/*
 * The helper every change goes through, reached by the unit test too:
 * copies LOGDIR to SCRATCH (replacing it), applies EDIT to the copy, runs
 * `VELLUM verify SCRATCH --vkey VKEY_FILE [--since SINCE_FILE]` and judges
 * the result against EXPECT: alternatives separated by '|', each a list of
 * terms separated by '&' that must all appear in the output (a term that
 * ends in a digit must not be followed by one).  1: exit status 1 and the
 * output names the place; 0: not (WHY says what happened); -1: the copy, the
 * change or the run failed (WHY says why).
 */
typedef int (*vc_tamper_edit_fn)(const char *copy, void *arg);
int vc_tamper_probe(const char *vellum, const char *logdir, const char *vkey_file,
                    const char *since_file, const char *scratch, vc_tamper_edit_fn edit,
                    void *arg, const char *expect, char *why, size_t whycap);

/* Whole file into a malloc'ed buffer (NUL-terminated, not counted). */
static int read_all(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *p = malloc(size + 1);
	if (!p) {
		close(fd);
		return VL_ENOMEM;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, p + got, size - got, (off_t)got);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(p);
			close(fd);
			return -e;
		}
		got += (size_t)n;
	}
	close(fd);
	p[size] = '\0';
	*data = p;
	*len = size;
	return 0;
}

static int write_all(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, (const uint8_t *)data + off, len - off);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* Reads FROM whole and writes it to TO (created 0600 or truncated; TO may
 * be FROM), byte OFF XORed with MASK if the file has one (MASK 0: an exact
 * copy).  0 or -errno. */
static int rewrite_file(const char *from, const char *to, uint64_t off, uint8_t mask)
{
	uint8_t *d;
	size_t len;
	int rc = read_all(from, &d, &len);
	if (rc < 0)
		return rc;
	if (off < len)
		d[off] ^= mask;
	rc = write_all(to, d, len);
	free(d);
	return rc;
}

/* Copies the tree SRC to DST (which must not exist): directories and
 * regular files only. */
static int copy_tree(const char *src, const char *dst)
{
	if (mkdir(dst, 0700) < 0)
		return -errno;
	DIR *d = opendir(src);
	if (!d)
		return -errno;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char s[PATH_MAX], t[PATH_MAX];
		if (snprintf(s, sizeof s, "%s/%s", src, de->d_name) >= (int)sizeof s ||
		    snprintf(t, sizeof t, "%s/%s", dst, de->d_name) >= (int)sizeof t) {
			rc = -ENAMETOOLONG;
			break;
		}
		struct stat st;
		if (lstat(s, &st) < 0) {
			rc = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			rc = copy_tree(s, t);
		} else if (S_ISREG(st.st_mode)) {
			rc = rewrite_file(s, t, 0, 0);
		}
	}
	closedir(d);
	return rc;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------------ */
/* Running `vellum verify` and judging what it said.                    */

/* Runs ARGV with stdout and stderr into OUT (NUL-terminated, truncated
 * to cap).  Its exit status, or -1 if it did not run or finish. */
static int run_capture(char *const argv[], char *out, size_t cap)
{
	int fds[2];
	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	size_t len = 0;
	double end = vc_mono_s() + TP_VERIFY_TIMEOUT_S;
	int killed = 0;
	for (;;) {
		char buf[4096];
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		if (!killed && vc_mono_s() > end) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		int pr = poll(&pfd, 1, 1000);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
		memcpy(out + len, buf, take);
		len += take;
	}
	out[len] = '\0';
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (killed || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* TERM (LEN bytes) in OUT, not followed by a digit if it ends in one, nor
 * preceded by one if it starts with one. */
static int has_term(const char *out, const char *term, size_t len)
{
	if (len == 0)
		return 1;
	int digit_end = term[len - 1] >= '0' && term[len - 1] <= '9';
	int digit_start = term[0] >= '0' && term[0] <= '9';
	const char *end = out + strlen(out);
	for (const char *p = out; p < end; p++) {
		p = memmem(p, (size_t)(end - p), term, len);
		if (!p)
			return 0;
		if (digit_end && p[len] >= '0' && p[len] <= '9')
			continue;
		if (digit_start && p > out && p[-1] >= '0' && p[-1] <= '9')
			continue;
		return 1;
	}
	return 0;
}

/* EXPECT as documented at vc_tamper_probe. */
static int names_place(const char *out, const char *expect)
{
	const char *alt = expect;
	for (;;) {
		const char *alt_end = strchr(alt, '|');
		size_t alt_len = alt_end ? (size_t)(alt_end - alt) : strlen(alt);
		int all = 1;
		for (const char *t = alt; t < alt + alt_len;) {
			const char *amp = memchr(t, '&', (size_t)(alt + alt_len - t));
			size_t tl = amp ? (size_t)(amp - t) : (size_t)(alt + alt_len - t);
			if (!has_term(out, t, tl))
				all = 0;
			t += tl + (amp ? 1 : 0);
		}
		if (all)
			return 1;
		if (!alt_end)
			return 0;
		alt = alt_end + 1;
	}
}

int vc_tamper_probe(const char *vellum, const char *logdir, const char *vkey_file,
                    const char *since_file, const char *scratch, vc_tamper_edit_fn edit,
                    void *arg, const char *expect, char *why, size_t whycap)
{
	why[0] = '\0';
	vc_rm_rf(scratch);
	int rc = copy_tree(logdir, scratch);
	if (rc < 0) {
		snprintf(why, whycap, "cannot copy %s to %s: %s", logdir, scratch, strerror(-rc));
		return -1;
	}
	rc = edit ? edit(scratch, arg) : 0;
	if (rc < 0) {
		snprintf(why, whycap, "the change could not be made: %s", strerror(-rc));
		return -1;
	}
	char *argv[] = {(char *)vellum, "verify", (char *)scratch, "--vkey", (char *)vkey_file,
	                since_file ? "--since" : NULL, (char *)since_file, NULL};
	char out[TP_OUT_MAX];
	int code = run_capture(argv, out, sizeof out);
	out[strcspn(out, "\n")] = '\0';
	if (code < 0) {
		snprintf(why, whycap, "vellum verify did not run or finish: %.300s", out);
		return -1;
	}
	if (code != 1) {
		snprintf(why, whycap, "vellum verify exited %d: %.400s", code, out);
		return 0;
	}
	if (!names_place(out, expect)) {
		snprintf(why, whycap, "vellum verify failed without naming %.200s: %.400s", expect,
		         out);
		return 0;
	}
	snprintf(why, whycap, "%.500s", out);
	return 1;
}

/* ------------------------------------------------------------------ */
/* The base log.                                                        */

enum { F_BUNDLE, F_TILE, F_WAL, F_CHECKPOINT, F_KINDS };

static const char *const kind_names[F_KINDS] = {"bundle", "hash tile", "WAL segment",
                                                "checkpoint"};

typedef struct tp_file {
	char rel[VL_TILE_PATH_MAX + 32];
	int kind;
	uint64_t size;
	uint64_t first;    /* F_BUNDLE: first entry; F_WAL: the segment's FIRST */
	unsigned width;    /* F_BUNDLE, F_TILE: entries or hashes; 256 = full */
	int level;         /* F_TILE */
} tp_file;

typedef struct tp_base {
	char dir[PATH_MAX];       /* the scenario's directory */
	char log[PATH_MAX + 16];  /* dir/base */
	char copy[PATH_MAX + 16]; /* dir/copy: what each change works on */
	char vkey[PATH_MAX + 16]; /* dir/log.vkey */
	char cp_old[PATH_MAX + 16];
	char cp_new[PATH_MAX + 16];
	char foreign[PATH_MAX + 16]; /* a checkpoint by another key, same name */
	uint64_t size;
	tp_file files[TP_FILES_MAX];
	size_t n_files;
	size_t n_kind[F_KINDS];
} tp_base;

static int write_text(const char *path, const char *text)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s\n", text);
	return write_all(path, buf, strlen(buf));
}

static void classify(tp_base *b, const char *rel, uint64_t size)
{
	if (b->n_files == TP_FILES_MAX)
		return;
	tp_file *f = &b->files[b->n_files];
	memset(f, 0, sizeof *f);
	if (strlen(rel) >= sizeof f->rel)
		return;
	memcpy(f->rel, rel, strlen(rel) + 1);
	f->size = size;
	int level;
	uint64_t n;
	unsigned width;
	if (strncmp(rel, "tile/", 5) == 0 &&
	    vl_tile_path_parse(rel, strlen(rel), &level, &n, &width) == 0) {
		f->kind = level == VL_TILE_ENTRIES ? F_BUNDLE : F_TILE;
		f->level = level;
		f->width = width;
		f->first = n * VL_TILE_WIDTH;
	} else if (strncmp(rel, "wal/", 4) == 0 && strlen(rel) == 4 + VL_WAL_NAME_DIGITS) {
		f->kind = F_WAL;
		f->first = strtoull(rel + 4, NULL, 10);
	} else if (strcmp(rel, "checkpoint") == 0) {
		f->kind = F_CHECKPOINT;
	} else {
		return; /* log.conf, checkpoints, .lock: not read by verify */
	}
	if (size == 0)
		return;
	b->n_kind[f->kind]++;
	b->n_files++;
}

static int list_files(tp_base *b, const char *root, const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX], full[2 * PATH_MAX + 2];
		if (snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >=
		    (int)sizeof sub)
			continue;
		snprintf(full, sizeof full, "%s/%s", root, sub);
		struct stat st;
		if (lstat(full, &st) < 0)
			rc = -errno;
		else if (S_ISDIR(st.st_mode))
			rc = list_files(b, root, sub);
		else if (S_ISREG(st.st_mode))
			classify(b, sub, (uint64_t)st.st_size);
	}
	closedir(d);
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const tp_file *)a)->rel, ((const tp_file *)b)->rel);
}

/* Entry I of the base log: "entry NNNNN " and 1..100 letters. */
static size_t base_entry(vc_rng *rng, uint64_t i, char *buf)
{
	size_t n = (size_t)snprintf(buf, 32, "entry %05" PRIu64 " ", i);
	size_t pad = 1 + (size_t)vc_rng_below(rng, 100);
	for (size_t k = 0; k < pad; k++)
		buf[n++] = (char)('a' + vc_rng_below(rng, 26));
	return n;
}

static int save_checkpoint(vl_log *log, const char *path)
{
	char *note = NULL;
	int rc = vl_log_checkpoint(log, &note);
	if (rc == 0 && path)
		rc = write_all(path, note, strlen(note));
	free(note);
	return rc;
}

/* Builds the base log in DIR/base.  0, or -1 with WHY set. */
static int build_base(tp_base *b, const char *dir, uint64_t seed, char *why, size_t cap)
{
	char keyfile[PATH_MAX + 16], other[PATH_MAX + 16];
	char *skey = NULL, *vkey = NULL, *skey2 = NULL, *vkey2 = NULL;
	vl_signer *signer = NULL, *signer2 = NULL;
	vl_log *log = NULL, *log2 = NULL;
	vc_rng rng;
	int rc = -1;

	memset(b, 0, sizeof *b);
	snprintf(b->dir, sizeof b->dir, "%s", dir);
	snprintf(b->log, sizeof b->log, "%s/base", dir);
	snprintf(b->copy, sizeof b->copy, "%s/copy", dir);
	snprintf(b->vkey, sizeof b->vkey, "%s/log.vkey", dir);
	snprintf(b->cp_old, sizeof b->cp_old, "%s/cp-old", dir);
	snprintf(b->cp_new, sizeof b->cp_new, "%s/cp-new", dir);
	snprintf(b->foreign, sizeof b->foreign, "%s/cp-foreign", dir);
	snprintf(keyfile, sizeof keyfile, "%s/log.key", dir);
	snprintf(other, sizeof other, "%s/other", dir);
	vc_rm_rf(b->log);
	vc_rm_rf(b->copy);
	vc_rm_rf(other);
	if (vc_mkdirs(dir) < 0) {
		snprintf(why, cap, "cannot create %.400s", dir);
		return -1;
	}
	vc_rng_seed(&rng, vc_rng_derive(seed, "base"));
	if (vl_key_generate("chaos.tamper/log", &skey, &vkey) != 0 ||
	    vl_signer_parse(skey, &signer) != 0 || write_all(keyfile, skey, strlen(skey)) != 0 ||
	    write_text(b->vkey, vkey) != 0) {
		snprintf(why, cap, "cannot make the log's key in %.400s", dir);
		goto out;
	}
	vl_log_options opt = {.segment_bytes = TP_SEGMENT_BYTES, .key_file = keyfile};
	if (vl_log_create(b->log, signer, &opt, &log) != 0) {
		snprintf(why, cap, "cannot create the log %.400s: %s", b->log, vl_open_message());
		log = NULL;
		goto out;
	}
	uint64_t i = 0, cp1 = TP_ENTRIES / 3, cp2 = TP_ENTRIES / 2;
	while (i < TP_ENTRIES) {
		char bufs[12][128];
		vl_entry e[12];
		size_t n = 1 + (size_t)vc_rng_below(&rng, 12);
		if (n > TP_ENTRIES - i)
			n = (size_t)(TP_ENTRIES - i);
		for (size_t k = 0; k < n; k++) {
			e[k].data = bufs[k];
			e[k].len = base_entry(&rng, i + k, bufs[k]);
		}
		if (vl_log_append(log, e, n, NULL) != 0) {
			snprintf(why, cap, "append to %.400s failed: %s", b->log,
			         vl_log_message(log));
			goto out;
		}
		uint64_t was = i;
		i += n;
		if ((was < cp1 && i >= cp1 && save_checkpoint(log, NULL) != 0) ||
		    (was < cp2 && i >= cp2 && save_checkpoint(log, b->cp_old) != 0)) {
			snprintf(why, cap, "checkpoint of %.400s failed: %s", b->log,
			         vl_log_message(log));
			goto out;
		}
	}
	if (save_checkpoint(log, b->cp_new) != 0) {
		snprintf(why, cap, "checkpoint of %.400s failed: %s", b->log, vl_log_message(log));
		goto out;
	}
	b->size = vl_log_size(log);
	rc = vl_log_close(log);
	log = NULL;
	if (rc != 0) {
		snprintf(why, cap, "closing %.400s failed: %s", b->log, vl_strerror(rc));
		rc = -1;
		goto out;
	}
	rc = -1;
	/* A checkpoint of the same origin, signed by another key. */
	if (vl_key_generate("chaos.tamper/log", &skey2, &vkey2) != 0 ||
	    vl_signer_parse(skey2, &signer2) != 0 ||
	    vl_log_create(other, signer2, NULL, &log2) != 0) {
		snprintf(why, cap, "cannot make a log with another key in %.400s", other);
		log2 = NULL;
		goto out;
	}
	char *note = NULL;
	if (vl_log_latest_checkpoint(log2, NULL, &note) != 0 || !note ||
	    write_all(b->foreign, note, strlen(note)) != 0) {
		free(note);
		snprintf(why, cap, "cannot save the other key's checkpoint");
		goto out;
	}
	free(note);
	if (list_files(b, b->log, "") < 0) {
		snprintf(why, cap, "cannot list %.400s", b->log);
		goto out;
	}
	qsort(b->files, b->n_files, sizeof b->files[0], cmp_file);
	rc = 0;
out:
	if (log)
		(void)vl_log_close(log);
	if (log2)
		(void)vl_log_close(log2);
	vc_rm_rf(other);
	vl_signer_free(signer);
	vl_signer_free(signer2);
	free(skey);
	free(vkey);
	free(skey2);
	free(vkey2);
	return rc;
}

/* The untouched base must verify, or no failure afterwards means anything. */
static int base_verifies(const vc_run_options *o, const tp_base *b, char *why, size_t cap)
{
	char out[TP_OUT_MAX];
	for (int since = 0; since < 2; since++) {
		char *argv[] = {(char *)o->vellum, "verify", (char *)b->log, "--vkey",
		                (char *)b->vkey, since ? "--since" : NULL, (char *)b->cp_old, NULL};
		int code = run_capture(argv, out, sizeof out);
		if (code != 0) {
			out[strcspn(out, "\n")] = '\0';
			snprintf(why, cap, "the untouched log does not verify%s (exit %d): %.600s",
			         since ? " with --since" : "", code, out);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Changes.  Each is an edit function and its argument.                 */

typedef struct tp_change {
	const tp_base *b;
	const tp_file *f;      /* the file changed (or the first of two) */
	const tp_file *g;      /* the second file, for swaps */
	uint64_t off, bit, len;
	uint64_t a, c;         /* entry numbers within a bundle */
	uint8_t mask;
	char expect[256];
	char what[256];
	char src[PATH_MAX + 16]; /* a file to put in place of the checkpoint */
} tp_change;

static void path_of(char *buf, size_t cap, const char *copy, const tp_file *f)
{
	snprintf(buf, cap, "%s/%s", copy, f->rel);
}

static int edit_flip(const char *copy, void *arg)
{
	tp_change *c = arg;
	char p[PATH_MAX + 160];
	path_of(p, sizeof p, copy, c->f);
	return rewrite_file(p, p, c->off, c->mask);
}

static int edit_delete(const char *copy, void *arg)
{
	tp_change *c = arg;
	char p[PATH_MAX + 160];
	path_of(p, sizeof p, copy, c->f);
	return unlink(p) < 0 ? -errno : 0;
}

static int edit_truncate(const char *copy, void *arg)
{
	tp_change *c = arg;
	char p[PATH_MAX + 160];
	path_of(p, sizeof p, copy, c->f);
	return truncate(p, (off_t)c->len) < 0 ? -errno : 0;
}

static int edit_extend(const char *copy, void *arg)
{
	tp_change *c = arg;
	char p[PATH_MAX + 160];
	path_of(p, sizeof p, copy, c->f);
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint8_t junk[64];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(c->mask + 37 * i);
	ssize_t n = write(fd, junk, (size_t)c->len);
	int rc = n == (ssize_t)c->len ? 0 : -EIO;
	close(fd);
	return rc;
}

static int edit_swap_files(const char *copy, void *arg)
{
	tp_change *c = arg;
	char p[PATH_MAX + 160], q[PATH_MAX + 160], t[PATH_MAX + 170];
	path_of(p, sizeof p, copy, c->f);
	path_of(q, sizeof q, copy, c->g);
	snprintf(t, sizeof t, "%s.swap", p);
	if (rename(p, t) < 0 || rename(q, p) < 0 || rename(t, q) < 0)
		return -errno;
	return 0;
}

static int edit_replace_checkpoint(const char *copy, void *arg)
{
	tp_change *c = arg;
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/checkpoint", copy);
	return rewrite_file(c->src, p, 0, 0);
}

/* The entries of a bundle: offsets of their length fields. */
static size_t bundle_entries(const uint8_t *d, size_t len, size_t *offs, size_t max)
{
	size_t n = 0, off = 0;
	while (off + 2 <= len && n < max) {
		size_t l = (size_t)d[off] << 8 | d[off + 1];
		if (l == 0 || off + 2 + l > len)
			break;
		offs[n++] = off;
		off += 2 + l;
	}
	return n;
}

/* Cut entry a out of the bundle (delete-entry), or swap entries a and c
 * (reorder). */
static int edit_bundle_entries(const char *copy, void *arg, int swap)
{
	tp_change *c = arg;
	char p[PATH_MAX + 160];
	uint8_t *d, *o;
	size_t len, offs[VL_TILE_WIDTH];
	path_of(p, sizeof p, copy, c->f);
	int rc = read_all(p, &d, &len);
	if (rc < 0)
		return rc;
	size_t n = bundle_entries(d, len, offs, VL_TILE_WIDTH);
	o = malloc(len + 1);
	if (!o || c->a >= n || c->c >= n) {
		free(d);
		free(o);
		return -EINVAL;
	}
	size_t w = 0;
	for (size_t k = 0; k < n; k++) {
		size_t src = k;
		if (swap && k == c->a)
			src = (size_t)c->c;
		else if (swap && k == c->c)
			src = (size_t)c->a;
		else if (!swap && k == c->a)
			continue;
		size_t l = 2 + ((size_t)d[offs[src]] << 8 | d[offs[src] + 1]);
		memcpy(o + w, d + offs[src], l);
		w += l;
	}
	rc = write_all(p, o, w);
	free(d);
	free(o);
	return rc;
}

static int edit_cut_entry(const char *copy, void *arg)
{
	return edit_bundle_entries(copy, arg, 0);
}

static int edit_swap_entries(const char *copy, void *arg)
{
	return edit_bundle_entries(copy, arg, 1);
}

/* Finds entry INDEX in the WAL of the log at DIR: its segment's file,
 * contents, and the frame and entry offsets.  0 or -errno. */
typedef struct wal_spot {
	char path[PATH_MAX + 64];
	uint8_t *data;
	size_t len;
	size_t frame;    /* offset of the frame header */
	size_t entry;    /* offset of the entry's length field */
} wal_spot;

static int wal_find(const tp_base *b, const char *dir, uint64_t index, wal_spot *ws)
{
	const tp_file *seg = NULL;
	for (size_t i = 0; i < b->n_files; i++)
		if (b->files[i].kind == F_WAL && b->files[i].first <= index)
			seg = &b->files[i]; /* sorted: the last one wins */
	if (!seg)
		return -ENOENT;
	snprintf(ws->path, sizeof ws->path, "%s/%s", dir, seg->rel);
	int rc = read_all(ws->path, &ws->data, &ws->len);
	if (rc < 0)
		return rc;
	size_t off = VL_WAL_SEGMENT_HEADER;
	while (off + VL_WAL_FRAME_HEADER <= ws->len) {
		const uint8_t *h = ws->data + off;
		uint32_t plen = get32(h + 4), count = get32(h + 16);
		uint64_t first = get64(h + 8);
		if (memcmp(h, "VLFR", 4) != 0 || off + VL_WAL_FRAME_HEADER + plen > ws->len)
			break;
		if (index >= first && index < first + count) {
			size_t e = off + VL_WAL_FRAME_HEADER;
			for (uint64_t k = first; k < index; k++)
				e += 2 + ((size_t)ws->data[e] << 8 | ws->data[e + 1]);
			ws->frame = off;
			ws->entry = e;
			return 0;
		}
		off += VL_WAL_FRAME_HEADER + plen;
	}
	free(ws->data);
	ws->data = NULL;
	return -ENOENT;
}

/* After a change to a frame's payload: both its checksums recomputed. */
static void wal_reseal(wal_spot *ws)
{
	uint8_t *h = ws->data + ws->frame;
	uint32_t plen = get32(h + 4);
	put32(h + 20, vl_crc32c(0, h + VL_WAL_FRAME_HEADER, plen));
	put32(h + 28, vl_crc32c(0, h, 28));
}

/* Changes byte c->off of entry c->a's bytes in the WAL, CRCs fixed. */
static int edit_wal_entry(const char *copy, void *arg)
{
	tp_change *c = arg;
	wal_spot ws = {0};
	int rc = wal_find(c->b, copy, c->a, &ws);
	if (rc < 0)
		return rc;
	ws.data[ws.entry + 2 + c->off] ^= c->mask;
	wal_reseal(&ws);
	rc = write_all(ws.path, ws.data, ws.len);
	free(ws.data);
	return rc;
}

/* Root of 256 leaf hashes: a perfect tree. */
static void root256(uint8_t h[VL_TILE_WIDTH][VL_HASH_SIZE], uint8_t out[VL_HASH_SIZE])
{
	for (unsigned n = VL_TILE_WIDTH; n > 1; n /= 2)
		for (unsigned i = 0; i < n / 2; i++)
			vl_node_hash(h[2 * i], h[2 * i + 1], h[i]);
	memcpy(out, h[0], VL_HASH_SIZE);
}

/*
 * rewrite: entry c->a (in a full bundle, the log under 65536 entries)
 * changed at byte c->off in its bundle, its WAL frame (CRCs recomputed),
 * its leaf hash in its level-0 tile and that tile's root in the level-1
 * tile: all consistent, but for the signed root.
 */
static int edit_rewrite(const char *copy, void *arg)
{
	tp_change *c = arg;
	const uint64_t n = c->a / VL_TILE_WIDTH, k = c->a % VL_TILE_WIDTH;
	char p[PATH_MAX + 160], rel[VL_TILE_PATH_MAX];
	uint8_t *d = NULL, *t = NULL, *u = NULL;
	size_t len, tlen, ulen, offs[VL_TILE_WIDTH];
	int rc;

	if (vl_tile_path(rel, sizeof rel, VL_TILE_ENTRIES, n, VL_TILE_WIDTH) < 0)
		return -EINVAL;
	snprintf(p, sizeof p, "%s/%s", copy, rel);
	if ((rc = read_all(p, &d, &len)) < 0)
		return rc;
	if (bundle_entries(d, len, offs, VL_TILE_WIDTH) != VL_TILE_WIDTH) {
		rc = -EINVAL;
		goto out;
	}
	d[offs[k] + 2 + c->off] ^= c->mask;
	size_t el = (size_t)d[offs[k]] << 8 | d[offs[k] + 1];
	if ((rc = write_all(p, d, len)) < 0)
		goto out;

	/* Its WAL frame, both checksums recomputed: as edit-wal. */
	if ((rc = edit_wal_entry(copy, c)) < 0)
		goto out;

	/* Level 0: the entry's leaf hash. */
	if (vl_tile_path(rel, sizeof rel, 0, n, VL_TILE_WIDTH) < 0) {
		rc = -EINVAL;
		goto out;
	}
	snprintf(p, sizeof p, "%s/%s", copy, rel);
	if ((rc = read_all(p, &t, &tlen)) < 0)
		goto out;
	if (tlen != (size_t)VL_TILE_WIDTH * VL_HASH_SIZE) {
		rc = -EINVAL;
		goto out;
	}
	vl_leaf_hash(d + offs[k] + 2, el, t + k * VL_HASH_SIZE);
	if ((rc = write_all(p, t, tlen)) < 0)
		goto out;

	/* Level 1: the level-0 tile's root, at hash n of tile 0. */
	uint8_t h[VL_TILE_WIDTH][VL_HASH_SIZE], root[VL_HASH_SIZE];
	memcpy(h, t, sizeof h);
	root256(h, root);
	unsigned w1 = (unsigned)(c->b->size / VL_TILE_WIDTH);
	if (vl_tile_path(rel, sizeof rel, 1, 0, w1) < 0) {
		rc = -EINVAL;
		goto out;
	}
	snprintf(p, sizeof p, "%s/%s", copy, rel);
	if ((rc = read_all(p, &u, &ulen)) < 0)
		goto out;
	if (ulen < (n + 1) * VL_HASH_SIZE) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(u + n * VL_HASH_SIZE, root, VL_HASH_SIZE);
	rc = write_all(p, u, ulen);
out:
	free(d);
	free(t);
	free(u);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The scenarios.                                                       */

typedef struct tp_tally {
	const char *kind;
	uint64_t injected, detected;
} tp_tally;

typedef struct tp_run {
	const vc_run_options *o;
	vc_result *r;
	tp_base *b;
	vc_rng rng;
	char first_miss[700];
	tp_tally tally[16];
	size_t n_tally;
	uint64_t errors;       /* changes that could not be made or judged */
} tp_run;

static tp_tally *tally_of(tp_run *t, const char *kind)
{
	for (size_t i = 0; i < t->n_tally; i++)
		if (strcmp(t->tally[i].kind, kind) == 0)
			return &t->tally[i];
	if (t->n_tally == sizeof t->tally / sizeof t->tally[0])
		return &t->tally[t->n_tally - 1];
	t->tally[t->n_tally].kind = kind;
	return &t->tally[t->n_tally++];
}

/* Runs one change and counts it. */
static void attempt(tp_run *t, const char *kind, vc_tamper_edit_fn edit, tp_change *c,
                    const char *since)
{
	char why[700];
	int rc = vc_tamper_probe(t->o->vellum, t->b->log, t->b->vkey, since, t->b->copy, edit, c,
	                         c->expect, why, sizeof why);
	tp_tally *ty = tally_of(t, kind);
	ty->injected++;
	t->r->corruptions_injected++;
	if (rc == 1) {
		ty->detected++;
		t->r->corruptions_detected++;
		return;
	}
	if (rc < 0)
		t->errors++;
	if (!t->first_miss[0])
		snprintf(t->first_miss, sizeof t->first_miss, "first miss: %s %.200s: %.400s. ",
		         kind,
		         c->what, why);
}

/* The file of KIND number I (of that kind), or NULL. */
static const tp_file *nth_file(const tp_base *b, int kind, uint64_t i)
{
	for (size_t k = 0; k < b->n_files; k++)
		if (b->files[k].kind == kind && i-- == 0)
			return &b->files[k];
	return NULL;
}

static const tp_file *random_file(tp_run *t, int kind)
{
	if (t->b->n_kind[kind] == 0)
		return NULL;
	return nth_file(t->b, kind, vc_rng_below(&t->rng, t->b->n_kind[kind]));
}

/* What a message about a change to WAL segment F must name: the segment,
 * or the index of entry E (the first one the change affects). */
static void expect_wal(char *buf, size_t cap, const tp_file *f, uint64_t e)
{
	snprintf(buf, cap, "%020" PRIu64 "|entry %" PRIu64 "|after %" PRIu64 " entries", f->first,
	         e, e);
}

/* The first entry a WAL segment holds at or after byte OFF (its own
 * entries end at the next segment's FIRST). */
static uint64_t wal_entry_at(const tp_base *b, const tp_file *f, uint64_t off)
{
	char p[PATH_MAX + 160];
	uint8_t *d;
	size_t len;
	snprintf(p, sizeof p, "%s/%s", b->log, f->rel);
	if (read_all(p, &d, &len) < 0)
		return f->first;
	uint64_t e = f->first;
	size_t o = VL_WAL_SEGMENT_HEADER;
	while (o + VL_WAL_FRAME_HEADER <= len) {
		uint32_t plen = get32(d + o + 4), count = get32(d + o + 16);
		if (o + VL_WAL_FRAME_HEADER + plen > off)
			break;
		e = get64(d + o + 8) + count;
		o += VL_WAL_FRAME_HEADER + plen;
	}
	free(d);
	return e;
}

/* A flip's or a truncation's expected place in file F at byte OFF. */
static void expect_file(tp_run *t, tp_change *c, const tp_file *f, uint64_t off)
{
	if (f->kind == F_WAL)
		expect_wal(c->expect, sizeof c->expect, f, wal_entry_at(t->b, f, off));
	else
		snprintf(c->expect, sizeof c->expect, "%s", f->rel);
}

static int prepare(const vc_run_options *o, vc_result *r, tp_base *b, tp_run *t)
{
	char dir[PATH_MAX], why[900];
	memset(t, 0, sizeof *t);
	r->recovery_seconds = -1;
	if (!o->vellum) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict, "no vellum binary to run `vellum verify`");
		return -1;
	}
	t->o = o;
	t->r = r;
	t->b = b;
	vc_rng_seed(&t->rng, r->seed);
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	if (build_base(b, dir, r->seed, why, sizeof why) < 0 ||
	    base_verifies(o, b, why, sizeof why) < 0) {
		snprintf(r->verdict, sizeof r->verdict, "%.1000s", why);
		return -1;
	}
	if (b->n_kind[F_BUNDLE] < 2 || b->n_kind[F_TILE] < 2 || b->n_kind[F_WAL] < 2 ||
	    b->n_kind[F_CHECKPOINT] != 1) {
		snprintf(r->verdict, sizeof r->verdict,
		         "the base log has %zu bundles, %zu hash tiles, %zu WAL segments, %zu "
		         "checkpoints: too few to tamper with", b->n_kind[F_BUNDLE],
		         b->n_kind[F_TILE], b->n_kind[F_WAL], b->n_kind[F_CHECKPOINT]);
		return -1;
	}
	return 0;
}

static void finish(tp_run *t, double t0)
{
	vc_result *r = t->r;
	r->passed = r->corruptions_injected > 0 &&
	            r->corruptions_detected == r->corruptions_injected && t->errors == 0;
	vc_appendf(r->verdict, sizeof r->verdict, "%s", t->first_miss);
	vc_appendf(r->verdict, sizeof r->verdict,
	        "%" PRIu64 " of %" PRIu64 " changes detected by vellum verify (exit 1) naming the "
	        "place:", r->corruptions_detected, r->corruptions_injected);
	for (size_t i = 0; i < t->n_tally; i++)
		vc_appendf(r->verdict, sizeof r->verdict, "%s %s %" PRIu64 "/%" PRIu64,
		        i ? "," : "", t->tally[i].kind, t->tally[i].detected, t->tally[i].injected);
	vc_appendf(r->verdict, sizeof r->verdict, "; base log of %" PRIu64 " entries, %zu bundles, "
	        "%zu hash tiles, %zu WAL segments.", t->b->size, t->b->n_kind[F_BUNDLE],
	        t->b->n_kind[F_TILE], t->b->n_kind[F_WAL]);
	if (t->errors)
		vc_appendf(r->verdict, sizeof r->verdict, " %" PRIu64 " changes could not be made or "
		        "judged.", t->errors);
	vc_rm_rf(t->b->copy);
	r->duration_s = vc_mono_s() - t0;
}

void vc_scenario_bit_rot(const vc_run_options *o, vc_result *r)
{
	double t0 = vc_mono_s();
	tp_base *b = calloc(1, sizeof *b);
	tp_run t;
	snprintf(r->limits, sizeof r->limits,
	         "One flipped bit per copy, in entry bundles, hash tiles, WAL segments and the "
	         "checkpoint; log.conf and the checkpoints history are not read by vellum verify "
	         "and not flipped. A flip in the last commit of the newest WAL segment of a live "
	         "log, beyond the last checkpoint, reads as a torn write and is cut (format.md); "
	         "here every entry is covered by a checkpoint. Rot that strikes several copies or "
	         "the verifier key is not modelled.");
	if (!b) {
		snprintf(r->verdict, sizeof r->verdict, "out of memory");
		return;
	}
	if (prepare(o, r, b, &t) < 0) {
		free(b);
		r->duration_s = vc_mono_s() - t0;
		return;
	}
	uint64_t flips = o->quick ? TP_FLIPS_QUICK
	                          : (uint64_t)(o->duration_s > 1 ? o->duration_s : 1) *
	                                    TP_FLIPS_PER_S;
	for (uint64_t i = 0; i < flips; i++) {
		/* The kind first, so that the one checkpoint is hit as often as
		 * the dozen WAL segments. */
		const tp_file *f = random_file(&t, (int)vc_rng_below(&t.rng, F_KINDS));
		tp_change c = {.b = b, .f = f};
		c.bit = vc_rng_below(&t.rng, f->size * 8);
		c.off = c.bit / 8;
		c.mask = (uint8_t)(1u << (c.bit % 8));
		expect_file(&t, &c, f, c.off);
		snprintf(c.what, sizeof c.what, "bit %u of byte %" PRIu64 " of %s (%" PRIu64
		         " bytes)", (unsigned)(c.bit % 8), c.off, f->rel, f->size);
		attempt(&t, kind_names[f->kind], edit_flip, &c, NULL);
	}
	finish(&t, t0);
	free(b);
}

/* edit-entry, reorder and delete-entry in bundle F. */
static void bundle_changes(tp_run *t, const tp_file *f)
{
	const tp_base *b = t->b;
	char p[PATH_MAX + 160];
	uint8_t *d;
	size_t len, offs[VL_TILE_WIDTH];
	snprintf(p, sizeof p, "%s/%s", b->log, f->rel);
	if (read_all(p, &d, &len) < 0) {
		t->errors++;
		return;
	}
	size_t n = bundle_entries(d, len, offs, VL_TILE_WIDTH);

	/* edit-entry: a byte of an entry's own bytes, not its length. */
	tp_change c = {.b = b, .f = f};
	c.a = vc_rng_below(&t->rng, n);
	size_t el = (size_t)d[offs[c.a]] << 8 | d[offs[c.a] + 1];
	c.off = offs[c.a] + 2 + vc_rng_below(&t->rng, el);
	c.mask = (uint8_t)(1 + vc_rng_below(&t->rng, 255));
	free(d);
	snprintf(c.expect, sizeof c.expect, "entry %" PRIu64 "&%s", f->first + c.a, f->rel);
	snprintf(c.what, sizeof c.what, "byte %" PRIu64 " of %s (entry %" PRIu64 ") ^ 0x%02x",
	         c.off, f->rel, f->first + c.a, c.mask);
	attempt(t, "edit-entry", edit_flip, &c, NULL);
	if (n < 2)
		return;

	/* reorder: two entries (all entries differ) swapped. */
	c = (tp_change){.b = b, .f = f};
	c.a = vc_rng_below(&t->rng, n - 1);
	c.c = c.a + 1 + vc_rng_below(&t->rng, n - 1 - c.a);
	snprintf(c.expect, sizeof c.expect, "entry %" PRIu64 "&%s", f->first + c.a, f->rel);
	snprintf(c.what, sizeof c.what, "entries %" PRIu64 " and %" PRIu64 " of %s swapped",
	         f->first + c.a, f->first + c.c, f->rel);
	attempt(t, "reorder", edit_swap_entries, &c, NULL);

	/* delete-entry: one entry cut out. */
	c = (tp_change){.b = b, .f = f};
	c.a = vc_rng_below(&t->rng, n);
	snprintf(c.expect, sizeof c.expect, "%s", f->rel);
	snprintf(c.what, sizeof c.what, "entry %" PRIu64 " cut out of %s", f->first + c.a,
	         f->rel);
	attempt(t, "delete-entry", edit_cut_entry, &c, NULL);
}

void vc_scenario_tamper(const vc_run_options *o, vc_result *r)
{
	double t0 = vc_mono_s();
	tp_base *b = calloc(1, sizeof *b);
	tp_run t;
	snprintf(r->limits, sizeof r->limits,
	         "Undetectable without outside help: replacing the whole log by a new one under "
	         "a new key; rolling back to an older signed checkpoint when nobody kept a newer "
	         "one (--since); forging entries after the last checkpoint (only CRCs protect "
	         "them); trailing bytes after the newest WAL frame (read as a torn write); extra "
	         "lines after the checkpoint's signature (cosignatures). log.conf and the "
	         "history are not verified.");
	if (!b) {
		snprintf(r->verdict, sizeof r->verdict, "out of memory");
		return;
	}
	if (prepare(o, r, b, &t) < 0) {
		free(b);
		r->duration_s = vc_mono_s() - t0;
		return;
	}
	uint64_t each = o->quick ? TP_EACH_QUICK
	                         : (uint64_t)(o->duration_s > 10 ? o->duration_s : 10) / 10 *
	                                   TP_EACH_PER_10S;
	const uint64_t full_entries = b->size / VL_TILE_WIDTH * VL_TILE_WIDTH;
	for (uint64_t i = 0; i < each; i++) {
		tp_change c;
		const tp_file *f;

		bundle_changes(&t, random_file(&t, F_BUNDLE));

		/* edit-wal: an entry's byte in its WAL frame, checksums fixed. */
		c = (tp_change){.b = b};
		c.a = vc_rng_below(&t.rng, b->size);
		{
			wal_spot ws = {0};
			if (wal_find(b, b->log, c.a, &ws) == 0) {
				size_t el = (size_t)ws.data[ws.entry] << 8 | ws.data[ws.entry + 1];
				c.off = vc_rng_below(&t.rng, el);
				c.mask = (uint8_t)(1 + vc_rng_below(&t.rng, 255));
				snprintf(c.expect, sizeof c.expect, "entry %" PRIu64 "&%s", c.a,
				         ws.path + strlen(b->log) + 1);
				snprintf(c.what, sizeof c.what, "byte %" PRIu64 " of entry %" PRIu64
				         " in %s ^ 0x%02x, CRCs recomputed", c.off, c.a,
				         ws.path + strlen(b->log) + 1, c.mask);
				free(ws.data);
				attempt(&t, "edit-wal", edit_wal_entry, &c, NULL);
			} else {
				t.errors++;
			}
		}

		/* rewrite: an entry of a full bundle changed everywhere but in
		 * the signed root. */
		if (full_entries > 0 && b->size < (uint64_t)VL_TILE_WIDTH * VL_TILE_WIDTH) {
			c = (tp_change){.b = b};
			c.a = vc_rng_below(&t.rng, full_entries);
			c.off = 0; /* the 'e' of "entry NNNNN": every entry has it */
			c.mask = (uint8_t)(1 + vc_rng_below(&t.rng, 255));
			snprintf(c.expect, sizeof c.expect, "checkpoint&root");
			snprintf(c.what, sizeof c.what,
			         "entry %" PRIu64 " rewritten in bundle, WAL frame and tiles", c.a);
			attempt(&t, "rewrite", edit_rewrite, &c, NULL);
		}

		/* delete-bundle, delete-tile, delete-wal. */
		static const int del_kinds[] = {F_BUNDLE, F_TILE, F_WAL};
		static const char *const del_names[] = {"delete-bundle", "delete-tile",
		                                        "delete-wal"};
		for (int k = 0; k < 3; k++) {
			f = random_file(&t, del_kinds[k]);
			c = (tp_change){.b = b, .f = f};
			if (f->kind == F_WAL)
				expect_wal(c.expect, sizeof c.expect, f, f->first);
			else
				snprintf(c.expect, sizeof c.expect, "%s", f->rel);
			snprintf(c.what, sizeof c.what, "%s deleted", f->rel);
			attempt(&t, del_names[k], edit_delete, &c, NULL);
		}

		/* swap-bundles: bundles 0 and 1 exchanged. */
		{
			const tp_file *f0 = NULL, *f1 = NULL;
			for (size_t k = 0; k < b->n_files; k++) {
				if (strcmp(b->files[k].rel, "tile/entries/000") == 0)
					f0 = &b->files[k];
				if (strcmp(b->files[k].rel, "tile/entries/001") == 0)
					f1 = &b->files[k];
			}
			if (i == 0 && f0 && f1) {
				c = (tp_change){.b = b, .f = f0, .g = f1};
				snprintf(c.expect, sizeof c.expect, "entry 0&tile/entries/000");
				snprintf(c.what, sizeof c.what, "bundles 000 and 001 exchanged");
				attempt(&t, "swap-bundles", edit_swap_files, &c, NULL);
			}
		}

		/* truncate: any stored file, cut to a shorter length. */
		f = &b->files[vc_rng_below(&t.rng, b->n_files)];
		c = (tp_change){.b = b, .f = f};
		c.len = vc_rng_below(&t.rng, f->size);
		expect_file(&t, &c, f, c.len);
		snprintf(c.what, sizeof c.what, "%s cut from %" PRIu64 " to %" PRIu64 " bytes",
		         f->rel, f->size, c.len);
		attempt(&t, "truncate", edit_truncate, &c, NULL);

		/* extend: bytes appended to a bundle or a hash tile. */
		f = random_file(&t, vc_rng_below(&t.rng, 2) ? F_BUNDLE : F_TILE);
		c = (tp_change){.b = b, .f = f};
		c.len = 1 + vc_rng_below(&t.rng, 64);
		c.mask = (uint8_t)vc_rng_below(&t.rng, 256);
		snprintf(c.expect, sizeof c.expect, "%s", f->rel);
		snprintf(c.what, sizeof c.what, "%" PRIu64 " bytes appended to %s", c.len, f->rel);
		attempt(&t, "extend", edit_extend, &c, NULL);
	}

	/* rollback: the older signed checkpoint put back, caught with --since
	 * the newer one. */
	tp_change c = {.b = b};
	snprintf(c.src, sizeof c.src, "%s", b->cp_old);
	snprintf(c.what, sizeof c.what, "checkpoint replaced by cp-old, verified --since cp-new");
	snprintf(c.expect, sizeof c.expect, "rolled back");
	attempt(&t, "rollback", edit_replace_checkpoint, &c, b->cp_new);

	/* foreign-key: a checkpoint of the same origin by another key. */
	c = (tp_change){.b = b};
	snprintf(c.src, sizeof c.src, "%s", b->foreign);
	snprintf(c.what, sizeof c.what, "checkpoint replaced by one signed by another key");
	snprintf(c.expect, sizeof c.expect, "checkpoint&signature");
	attempt(&t, "foreign-key", edit_replace_checkpoint, &c, NULL);

	/* Not counted: the rollback without --since, which nothing can catch;
	 * what happened is said, so the limit is seen, not assumed. */
	char why[700];
	c = (tp_change){.b = b};
	snprintf(c.src, sizeof c.src, "%s", b->cp_old);
	int rc = vc_tamper_probe(o->vellum, b->log, b->vkey, NULL, b->copy,
	                         edit_replace_checkpoint, &c, "rolled back", why, sizeof why);
	finish(&t, t0);
	vc_appendf(r->verdict, sizeof r->verdict, " Not counted: the same rollback verified without "
	        "--since %s.", rc == 1 ? "was detected" : rc == 0 ? "passes, as expected"
	                                                         : "could not be run");
	free(b);
}
