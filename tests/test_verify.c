/*
 * test_verify.c — tests of the whole-tree verifier (vl_fetch_dir,
 * vl_verify_tree, vl_verify_log_dir): the independent 1000-entry vector
 * log and every kind of damage to it, trees built here in memory (rollback,
 * forks, partial tiles, multi-level and multi-group paths), and vellum log
 * directories with their write-ahead log.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "note.h"
#include "sha256.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* Files and directories                                               */

static const char *vectors_dir(void)
{
	const char *d = getenv("VL_VECTORS");
	return d && d[0] ? d : "tests/vectors";
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	uint8_t *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void join(char *buf, const char *a, const char *b)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", a, b);
	assert_true(n > 0 && n < PATH_MAX);
}

static void mkdirs_for(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) != 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
}

/* Relative paths of the regular files under a directory, sorted. */
typedef struct file_list {
	char **paths;
	size_t n;
} file_list;

static void list_rec(const char *root, const char *rel, file_list *fl)
{
	char dir[PATH_MAX];
	if (rel[0])
		join(dir, root, rel);
	else
		snprintf(dir, sizeof dir, "%s", root);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char sub[PATH_MAX], full[PATH_MAX];
		if (rel[0])
			join(sub, rel, de->d_name);
		else
			snprintf(sub, sizeof sub, "%s", de->d_name);
		join(full, root, sub);
		struct stat st;
		assert_int_equal(lstat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			list_rec(root, sub, fl);
		} else if (S_ISREG(st.st_mode)) {
			fl->paths = realloc(fl->paths, (fl->n + 1) * sizeof *fl->paths);
			assert_non_null(fl->paths);
			fl->paths[fl->n++] = strdup(sub);
		}
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static file_list list_files(const char *root)
{
	file_list fl = {0};
	list_rec(root, "", &fl);
	qsort(fl.paths, fl.n, sizeof *fl.paths, cmp_str);
	return fl;
}

static void free_list(file_list *fl)
{
	for (size_t i = 0; i < fl->n; i++)
		free(fl->paths[i]);
	free(fl->paths);
	fl->paths = NULL;
	fl->n = 0;
}

static void copy_tree(const char *from, const char *to)
{
	file_list fl = list_files(from);
	for (size_t i = 0; i < fl.n; i++) {
		char a[PATH_MAX], b[PATH_MAX];
		size_t len;
		join(a, from, fl.paths[i]);
		join(b, to, fl.paths[i]);
		uint8_t *data = slurp(a, &len);
		mkdirs_for(b);
		spit(b, data, len);
		free(data);
	}
	free_list(&fl);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/vl-test-verify-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

/* ------------------------------------------------------------------ */
/* The vector log                                                      */

static vl_verifier *vector_key(void)
{
	char path[PATH_MAX];
	vl_verifier *v = NULL;
	join(path, vectors_dir(), "log-1000.vkey");
	assert_int_equal(vl_verifier_load(path, &v), 0);
	return v;
}

static void vector_log(char *buf)
{
	join(buf, vectors_dir(), "log-1000");
}

struct progress_seen {
	uint64_t calls, last_done, last_total;
	int monotonic;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress_seen *p = arg;
	if (p->calls && done < p->last_done)
		p->monotonic = 0;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void test_vector_log_verifies(void **state)
{
	(void)state;
	char dir[PATH_MAX], cpath[PATH_MAX];
	vl_verifier *v = vector_key();
	struct progress_seen ps = {.monotonic = 1};
	vl_verify_options opt = {.vkey = v, .progress = on_progress, .progress_arg = &ps};
	vl_verify_report rep;

	vector_log(dir);
	assert_int_equal(vl_verify_tree(vl_fetch_dir, dir, &opt, &rep), 0);
	assert_string_equal(rep.message, "");
	assert_int_equal(rep.checkpoint.size, 1000);
	assert_string_equal(rep.checkpoint.origin, "example.com/log");
	assert_int_equal(rep.entries_checked, 1000);
	/* 4 bundles, 4 level-0 tiles, 1 level-1 tile */
	assert_int_equal(rep.tiles_checked, 9);
	assert_true(ps.calls >= 1);
	assert_true(ps.monotonic);
	assert_int_equal(ps.last_done, 1000);
	assert_int_equal(ps.last_total, 1000);

	/* The root is the one written in the checkpoint's third line. */
	size_t len;
	join(cpath, dir, "checkpoint");
	char *text = (char *)slurp(cpath, &len);
	char *l2 = strchr(text, '\n');
	assert_non_null(l2);
	char *l3 = strchr(l2 + 1, '\n');
	assert_non_null(l3);
	char *end = strchr(l3 + 1, '\n');
	assert_non_null(end);
	uint8_t root[VL_HASH_SIZE];
	size_t rlen;
	assert_int_equal(vl_base64_decode(l3 + 1, (size_t)(end - l3 - 1), root, sizeof root, &rlen),
	                 0);
	assert_int_equal(rlen, VL_HASH_SIZE);
	assert_memory_equal(rep.checkpoint.root, root, VL_HASH_SIZE);
	free(text);

	/* A NULL report is allowed. */
	assert_int_equal(vl_verify_tree(vl_fetch_dir, dir, &opt, NULL), 0);
	vl_verifier_free(v);
}

static int is_checkpoint(const char *rel) { return strcmp(rel, "checkpoint") == 0; }

/* Verify DIR and require a failure that names REL (or the checkpoint). */
static void expect_rejected(const char *dir, const vl_verifier *v, const char *rel,
                            const char *what, size_t at)
{
	vl_verify_options opt = {.vkey = v};
	vl_verify_report rep;
	int rc = vl_verify_tree(vl_fetch_dir, (void *)dir, &opt, &rep);
	if (rc == 0 || rep.message[0] == 0 || strstr(rep.message, rel) == NULL ||
	    (is_checkpoint(rel) && strncmp(rep.message, "checkpoint", 10) != 0))
		fail_msg("%s of %s at byte %zu: rc %d (%s), message \"%s\"", what, rel, at, rc,
		         vl_strerror(rc), rep.message);
	if (is_checkpoint(rel)) {
		if (rc != VL_ESIGNATURE && rc != VL_EFORMAT && rc != VL_ENOTFOUND)
			fail_msg("%s of checkpoint at %zu: unexpected code %d", what, at, rc);
	} else if (rc != VL_ECORRUPT && rc != VL_ENOTFOUND) {
		fail_msg("%s of %s at %zu: unexpected code %d (%s)", what, rel, at, rc,
		         rep.message);
	}
}

/* Offsets of interest in an entry bundle: both length bytes and the first
 * and last byte of every 25th entry. */
static size_t bundle_offsets(const uint8_t *b, size_t len, size_t *offs, size_t cap)
{
	size_t n = 0, off = 0;
	for (unsigned k = 0; off + 2 <= len; k++) {
		size_t l = (size_t)b[off] << 8 | b[off + 1];
		if (k % 25 == 0 || off + 2 + l == len) {
			size_t c[4] = {off, off + 1, off + 2, off + 1 + l};
			for (int i = 0; i < 4 && n < cap; i++)
				offs[n++] = c[i];
		}
		off += 2 + l;
	}
	return n;
}

static void test_vector_log_single_byte_changes(void **state)
{
	(void)state;
	char src[PATH_MAX];
	vector_log(src);
	char *tmp = make_tmpdir();
	copy_tree(src, tmp);
	vl_verifier *v = vector_key();
	file_list fl = list_files(tmp);
	assert_int_equal(fl.n, 10);

	size_t total = 0;
	size_t *offs = malloc(4096 * sizeof *offs);
	assert_non_null(offs);
	for (size_t f = 0; f < fl.n; f++) {
		char path[PATH_MAX];
		size_t len, n = 0;
		join(path, tmp, fl.paths[f]);
		uint8_t *data = slurp(path, &len);
		if (is_checkpoint(fl.paths[f]) || len <= 256) {
			/* checkpoint body and signature, tile/1/000.p/3: every byte */
			for (size_t i = 0; i < len; i++)
				offs[n++] = i;
		} else if (strncmp(fl.paths[f], "tile/entries/", 13) == 0) {
			n = bundle_offsets(data, len, offs, 4096);
		} else {
			for (size_t i = 0; i < 40; i++)
				offs[n++] = (i * len) / 40 + (i * 7) % VL_HASH_SIZE;
		}
		assert_true(n >= 30);
		for (size_t i = 0; i < n; i++) {
			size_t at = offs[i];
			assert_true(at < len);
			uint8_t old = data[at];
			data[at] ^= (uint8_t)(1u << (total % 8));
			spit(path, data, len);
			expect_rejected(tmp, v, fl.paths[f], "single-byte change", at);
			data[at] = old;
			total++;
		}
		spit(path, data, len);
		free(data);
	}
	assert_true(total >= 500);
	print_message("%zu single-byte changes in %zu files, all rejected\n", total, fl.n);

	/* Restored byte for byte, the copy verifies again. */
	vl_verify_options opt = {.vkey = v};
	vl_verify_report rep;
	assert_int_equal(vl_verify_tree(vl_fetch_dir, tmp, &opt, &rep), 0);

	free(offs);
	free_list(&fl);
	vl_verifier_free(v);
	rm_tree(tmp);
	free(tmp);
}

static void test_vector_log_delete_truncate_append(void **state)
{
	(void)state;
	char src[PATH_MAX];
	vector_log(src);
	char *tmp = make_tmpdir();
	copy_tree(src, tmp);
	vl_verifier *v = vector_key();
	file_list fl = list_files(tmp);
	assert_int_equal(fl.n, 10);

	for (size_t f = 0; f < fl.n; f++) {
		char path[PATH_MAX];
		size_t len;
		join(path, tmp, fl.paths[f]);
		uint8_t *data = slurp(path, &len);
		vl_verify_options opt = {.vkey = v};
		vl_verify_report rep;

		assert_int_equal(unlink(path), 0);
		assert_int_equal(vl_verify_tree(vl_fetch_dir, tmp, &opt, &rep), VL_ENOTFOUND);
		assert_non_null(strstr(rep.message, fl.paths[f]));
		assert_non_null(strstr(rep.message, "missing"));

		spit(path, data, len - 1);
		expect_rejected(tmp, v, fl.paths[f], "truncation", len - 1);

		uint8_t *longer = malloc(len + 1);
		assert_non_null(longer);
		memcpy(longer, data, len);
		longer[len] = '\n';
		spit(path, longer, len + 1);
		expect_rejected(tmp, v, fl.paths[f], "appended byte", len);
		longer[len] = 0;
		spit(path, longer, len + 1);
		expect_rejected(tmp, v, fl.paths[f], "appended byte", len);
		free(longer);

		spit(path, data, len);
		free(data);
	}
	vl_verify_options opt = {.vkey = v};
	vl_verify_report rep;
	assert_int_equal(vl_verify_tree(vl_fetch_dir, tmp, &opt, &rep), 0);

	free_list(&fl);
	vl_verifier_free(v);
	rm_tree(tmp);
	free(tmp);
}

static void test_vector_log_swapped_entries(void **state)
{
	(void)state;
	char src[PATH_MAX], path[PATH_MAX];
	vector_log(src);
	char *tmp = make_tmpdir();
	copy_tree(src, tmp);
	vl_verifier *v = vector_key();
	join(path, tmp, "tile/entries/001");
	size_t len;
	uint8_t *data = slurp(path, &len);

	/* Swap entries 10 and 11 of the bundle (266 and 267 of the log). */
	size_t off = 0;
	for (unsigned k = 0; k < 10; k++)
		off += 2 + ((size_t)data[off] << 8 | data[off + 1]);
	size_t la = (size_t)data[off] << 8 | data[off + 1];
	size_t lb = (size_t)data[off + 2 + la] << 8 | data[off + 3 + la];
	uint8_t *swapped = malloc(len);
	assert_non_null(swapped);
	memcpy(swapped, data, len);
	memcpy(swapped + off, data + off + 2 + la, 2 + lb);
	memcpy(swapped + off + 2 + lb, data + off, 2 + la);
	assert_memory_not_equal(swapped, data, len);
	spit(path, swapped, len);

	vl_verify_options opt = {.vkey = v};
	vl_verify_report rep;
	assert_int_equal(vl_verify_tree(vl_fetch_dir, tmp, &opt, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "entry 266"));
	assert_non_null(strstr(rep.message, "tile/entries/001"));
	assert_non_null(strstr(rep.message, "tile/0/001"));
	print_message("swapped entries: %s\n", rep.message);

	free(swapped);
	free(data);
	vl_verifier_free(v);
	rm_tree(tmp);
	free(tmp);
}

static void test_vector_log_wrong_key(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	char *skey = NULL, *vkey = NULL;
	vl_verifier *v = NULL;
	vl_verify_report rep;
	vector_log(dir);

	/* Same name as the log, another key: the stored signature is not its. */
	assert_int_equal(vl_key_generate("example.com/log", &skey, &vkey), 0);
	assert_int_equal(vl_verifier_parse(vkey, &v), 0);
	vl_verify_options opt = {.vkey = v};
	assert_int_equal(vl_verify_tree(vl_fetch_dir, dir, &opt, &rep), VL_ESIGNATURE);
	assert_int_equal(strncmp(rep.message, "checkpoint: ", 12), 0);
	assert_int_equal(rep.entries_checked, 0);
	print_message("wrong key: %s\n", rep.message);
	vl_verifier_free(v);
	free(skey);
	free(vkey);

	/* Another log's key. */
	assert_int_equal(vl_key_generate("example.com/other", &skey, &vkey), 0);
	assert_int_equal(vl_verifier_parse(vkey, &v), 0);
	opt.vkey = v;
	assert_int_equal(vl_verify_tree(vl_fetch_dir, dir, &opt, &rep), VL_ESIGNATURE);
	vl_verifier_free(v);
	free(skey);
	free(vkey);

	/* No key at all. */
	opt.vkey = NULL;
	assert_int_equal(vl_verify_tree(vl_fetch_dir, dir, &opt, &rep), VL_EINVAL);
	assert_int_equal(vl_verify_tree(vl_fetch_dir, dir, NULL, &rep), VL_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Trees built in memory                                               */

typedef struct mfile {
	char *path;
	uint8_t *data;
	size_t len;
} mfile;

typedef struct mtree {
	mfile *files;
	size_t n, cap;
	char *note;       /* the signed checkpoint */
	uint64_t size;
	uint8_t root[VL_HASH_SIZE];
	uint64_t tiles;   /* bundles and hash tiles written */
	uint64_t fetches;
} mtree;

static mfile *mt_find(mtree *t, const char *path)
{
	for (size_t i = t->n; i-- > 0;)
		if (strcmp(t->files[i].path, path) == 0)
			return &t->files[i];
	return NULL;
}

static void mt_put(mtree *t, const char *path, const void *data, size_t len)
{
	mfile *f = mt_find(t, path);
	if (!f) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->files = realloc(t->files, t->cap * sizeof *t->files);
			assert_non_null(t->files);
		}
		f = &t->files[t->n++];
		f->path = strdup(path);
		f->data = NULL;
	}
	free(f->data);
	f->data = malloc(len ? len : 1);
	assert_non_null(f->data);
	memcpy(f->data, data, len);
	f->len = len;
}

static void mt_del(mtree *t, const char *path)
{
	mfile *f = mt_find(t, path);
	assert_non_null(f);
	free(f->path);
	free(f->data);
	*f = t->files[--t->n];
}

static int mt_fetch(void *ctx, const char *path, uint8_t **data, size_t *len)
{
	mtree *t = ctx;
	t->fetches++;
	mfile *f = mt_find(t, path);
	if (!f)
		return VL_ENOTFOUND;
	*data = malloc(f->len ? f->len : 1);
	if (!*data)
		return VL_ENOMEM;
	memcpy(*data, f->data, f->len);
	*len = f->len;
	return 0;
}

static void mt_free(mtree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->files[i].path);
		free(t->files[i].data);
	}
	free(t->files);
	free(t->note);
	memset(t, 0, sizeof *t);
}

/* Tile paths written independently of tiles.c. */
static void tpath(char *buf, size_t cap, int level, uint64_t n, unsigned width)
{
	uint64_t groups[8];
	int g = 0;
	do {
		groups[g++] = n % 1000;
		n /= 1000;
	} while (n);
	int pos = level < 0 ? snprintf(buf, cap, "tile/entries/") : snprintf(buf, cap, "tile/%d/", level);
	while (g-- > 0)
		pos += snprintf(buf + pos, cap - (size_t)pos, "%s%03" PRIu64 "%s", g ? "x" : "",
		                groups[g], g ? "/" : "");
	if (width < 256)
		snprintf(buf + pos, cap - (size_t)pos, ".p/%u", width);
}

/* RFC 6962 MTH over hashes already at one height, split at the largest
 * power of two below n. */
static void mth(const uint8_t (*h)[VL_HASH_SIZE], uint64_t n, uint8_t out[VL_HASH_SIZE])
{
	if (n == 0) {
		vl_sha256("", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, h[0], VL_HASH_SIZE);
		return;
	}
	uint64_t k = 1;
	while (k * 2 < n)
		k *= 2;
	uint8_t l[VL_HASH_SIZE], r[VL_HASH_SIZE];
	mth(h, k, l);
	mth(h + k, n - k, r);
	vl_node_hash(l, r, out);
}

enum { FORK_NONE = UINT32_MAX };

/* Entry I: mostly short text, every 97th 300 bytes so that lengths above
 * 255 occur; FORK_AT gets other bytes. */
static size_t make_entry(uint64_t i, uint64_t fork_at, uint8_t *buf)
{
	int n = snprintf((char *)buf, 64, "%s %" PRIu64, i == fork_at ? "forked" : "entry", i);
	size_t len = (size_t)n;
	if (i % 97 == 0) {
		memset(buf + len, 'a' + (int)(i % 26), 300 - len);
		len = 300;
	}
	return len;
}

/* A complete static tree of N entries signed by S; WRONG_ROOT signs a
 * root that is not the tree's. */
static void build_tree(mtree *t, const vl_signer *s, uint64_t n, uint64_t fork_at, int wrong_root)
{
	char path[128];
	uint8_t(*hashes)[VL_HASH_SIZE] = malloc((n ? n : 1) * VL_HASH_SIZE);
	uint8_t *bundle = malloc(VL_TILE_WIDTH * 302);
	assert_non_null(hashes);
	assert_non_null(bundle);
	memset(t, 0, sizeof *t);

	for (uint64_t b = 0; b * VL_TILE_WIDTH < n; b++) {
		size_t blen = 0;
		unsigned w = 0;
		for (uint64_t i = b * VL_TILE_WIDTH; i < n && w < VL_TILE_WIDTH; i++, w++) {
			uint8_t e[300];
			size_t l = make_entry(i, fork_at, e);
			bundle[blen] = (uint8_t)(l >> 8);
			bundle[blen + 1] = (uint8_t)l;
			memcpy(bundle + blen + 2, e, l);
			blen += 2 + l;
			vl_leaf_hash(e, l, hashes[i]);
		}
		tpath(path, sizeof path, -1, b, w);
		mt_put(t, path, bundle, blen);
		t->tiles++;
	}
	mth((const uint8_t(*)[VL_HASH_SIZE])hashes, n, t->root);

	/* Level by level: write the tiles, then hash every full tile into
	 * the level above. */
	uint64_t count = n;
	for (int level = 0; count > 0; level++) {
		for (uint64_t k = 0; k * VL_TILE_WIDTH < count; k++) {
			uint64_t w = count - k * VL_TILE_WIDTH;
			if (w > VL_TILE_WIDTH)
				w = VL_TILE_WIDTH;
			tpath(path, sizeof path, level, k, (unsigned)w);
			mt_put(t, path, hashes[k * VL_TILE_WIDTH], w * VL_HASH_SIZE);
			t->tiles++;
		}
		uint64_t up = count / VL_TILE_WIDTH;
		for (uint64_t k = 0; k < up; k++)
			mth((const uint8_t(*)[VL_HASH_SIZE])hashes + k * VL_TILE_WIDTH, VL_TILE_WIDTH,
			    hashes[k]);
		count = up;
	}

	vl_checkpoint cp = {.size = n};
	snprintf(cp.origin, sizeof cp.origin, "%s", vl_signer_name(s));
	memcpy(cp.root, t->root, VL_HASH_SIZE);
	if (wrong_root)
		cp.root[0] ^= 1;
	char body[512];
	int blen = vl_checkpoint_format(&cp, body, sizeof body);
	assert_true(blen > 0);
	assert_int_equal(vl_note_sign(body, (size_t)blen, s, &t->note), 0);
	mt_put(t, "checkpoint", t->note, strlen(t->note));
	t->size = n;
	free(bundle);
	free(hashes);
}

typedef struct keys {
	vl_signer *s;
	vl_verifier *v;
} keys;

static keys make_keys(const char *name)
{
	char *skey = NULL, *vkey = NULL;
	keys k;
	assert_int_equal(vl_key_generate(name, &skey, &vkey), 0);
	assert_int_equal(vl_signer_parse(skey, &k.s), 0);
	assert_int_equal(vl_verifier_parse(vkey, &k.v), 0);
	free(skey);
	free(vkey);
	return k;
}

static void free_keys(keys *k)
{
	vl_signer_free(k->s);
	vl_verifier_free(k->v);
}

static int verify_mem(mtree *t, const vl_verifier *v, const char *since, vl_verify_report *rep)
{
	vl_verify_options opt = {.vkey = v, .since_note = since, .since_len = since ? strlen(since) : 0};
	return vl_verify_tree(mt_fetch, t, &opt, rep);
}

static void test_memory_trees_of_many_sizes(void **state)
{
	(void)state;
	static const uint64_t sizes[] = {0,   1,   2,    3,    255,  256,   257,   511,
	                                 512, 513, 1000, 4096, 65535, 65536, 65537, 65536 + 300};
	keys k = make_keys("test.example/sizes");
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		mtree t;
		vl_verify_report rep;
		build_tree(&t, k.s, sizes[i], FORK_NONE, 0);
		int rc = verify_mem(&t, k.v, NULL, &rep);
		if (rc != 0)
			fail_msg("size %" PRIu64 ": %d %s", sizes[i], rc, rep.message);
		assert_int_equal(rep.checkpoint.size, sizes[i]);
		assert_memory_equal(rep.checkpoint.root, t.root, VL_HASH_SIZE);
		assert_int_equal(rep.entries_checked, sizes[i]);
		/* Every tile the tree has was checked, each fetched once. */
		assert_int_equal(rep.tiles_checked, t.tiles);
		assert_int_equal(t.fetches, t.tiles + 1);
		mt_free(&t);
	}
	free_keys(&k);
}

static void test_memory_tree_multi_group_paths(void **state)
{
	(void)state;
	keys k = make_keys("test.example/big");
	mtree t;
	vl_verify_report rep;
	uint64_t n = 256 * 1000 + 5;
	build_tree(&t, k.s, n, FORK_NONE, 0);
	assert_non_null(mt_find(&t, "tile/entries/x001/000.p/5"));
	assert_non_null(mt_find(&t, "tile/0/x001/000.p/5"));
	assert_non_null(mt_find(&t, "tile/1/003.p/232"));

	struct progress_seen ps = {.monotonic = 1};
	vl_verify_options opt = {.vkey = k.v, .progress = on_progress, .progress_arg = &ps};
	assert_int_equal(vl_verify_tree(mt_fetch, &t, &opt, &rep), 0);
	assert_int_equal(rep.entries_checked, n);
	assert_int_equal(rep.tiles_checked, t.tiles);
	/* every 65536 entries, then once at the end */
	assert_int_equal(ps.calls, n / 65536 + 1);
	assert_true(ps.monotonic);
	assert_int_equal(ps.last_done, n);
	assert_int_equal(ps.last_total, n);

	/* A hash of the last partial tile, in a multi-group path. */
	mfile *f = mt_find(&t, "tile/0/x001/000.p/5");
	f->data[3 * VL_HASH_SIZE + 9] ^= 0x40;
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/x001/000.p/5: hash 3 (entry 256003)"));
	assert_non_null(strstr(rep.message, "tile/entries/x001/000.p/5"));
	f->data[3 * VL_HASH_SIZE + 9] ^= 0x40;

	/* A full tile in a multi-group path at level 0. */
	f = mt_find(&t, "tile/entries/999");
	f->data[f->len - 1] ^= 1;
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/999: hash 255 (entry 255999)"));
	f->data[f->len - 1] ^= 1;
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), 0);

	mt_free(&t);
	free_keys(&k);
}

static void test_memory_tree_higher_level_tiles(void **state)
{
	(void)state;
	keys k = make_keys("test.example/levels");
	mtree t;
	vl_verify_report rep;
	build_tree(&t, k.s, 65536 + 1000, FORK_NONE, 0);
	assert_non_null(mt_find(&t, "tile/2/000.p/1"));

	/* Level 1: convicts the level-1 tile itself, naming the tile below. */
	mfile *f = mt_find(&t, "tile/1/000");
	f->data[17 * VL_HASH_SIZE] ^= 1;
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_string_equal(rep.message,
	                    "tile/1/000: hash 17 (entries 4352 to 4607) differs from the root of "
	                    "tile/0/017, which matches the entries: tile/1/000 was modified after "
	                    "the log wrote it");
	f->data[17 * VL_HASH_SIZE] ^= 1;

	f = mt_find(&t, "tile/2/000.p/1");
	f->data[31] ^= 0x80;
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/2/000.p/1: hash 0 (entries 0 to 65535)"));
	assert_non_null(strstr(rep.message, "tile/1/000"));
	f->data[31] ^= 0x80;

	f = mt_find(&t, "tile/1/001.p/3");
	f->len -= 1;
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/1/001.p/3: 95 bytes"));
	f->len += 1;

	mt_del(&t, "tile/2/000.p/1");
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ENOTFOUND);
	assert_string_equal(rep.message, "tile/2/000.p/1 is missing: the tree of size 66536 needs "
	                                 "it for entries 0 to 65535");
	mt_free(&t);
	free_keys(&k);
}

static void test_memory_tree_bad_bundles(void **state)
{
	(void)state;
	keys k = make_keys("test.example/bundles");
	mtree t;
	vl_verify_report rep;
	build_tree(&t, k.s, 300, FORK_NONE, 0);
	mfile *f = mt_find(&t, "tile/entries/000");
	size_t len = f->len;
	uint8_t *orig = malloc(len);
	assert_non_null(orig);
	memcpy(orig, f->data, len);

	/* An entry of length 0 (entry 5 emptied, its bytes dropped). */
	size_t off = 0;
	for (int i = 0; i < 5; i++)
		off += 2 + ((size_t)f->data[off] << 8 | f->data[off + 1]);
	size_t l5 = (size_t)f->data[off] << 8 | f->data[off + 1];
	uint8_t *b = malloc(len);
	assert_non_null(b);
	memcpy(b, orig, off);
	b[off] = 0;
	b[off + 1] = 0;
	memcpy(b + off + 2, orig + off + 2 + l5, len - off - 2 - l5);
	mt_put(&t, "tile/entries/000", b, len - l5);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/entries/000: entry 5 at byte"));
	assert_non_null(strstr(rep.message, "has length 0"));
	print_message("empty entry: %s\n", rep.message);

	/* One entry short, and the bytes for it missing. */
	size_t last = 0;
	off = 0;
	for (int i = 0; i < 255; i++) {
		last = off;
		off += 2 + ((size_t)orig[off] << 8 | orig[off + 1]);
	}
	(void)last;
	mt_put(&t, "tile/entries/000", orig, off);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/entries/000: ends at byte"));
	assert_non_null(strstr(rep.message, "entry 255"));
	print_message("short bundle: %s\n", rep.message);

	/* Trailing bytes. */
	memcpy(b, orig, len);
	b = realloc(b, len + 3);
	assert_non_null(b);
	memcpy(b + len, "\x00\x01x", 3);
	mt_put(&t, "tile/entries/000", b, len + 3);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/entries/000: 3 bytes follow entry 255"));
	print_message("trailing bytes: %s\n", rep.message);

	/* Larger than any bundle can be: refused before parsing. */
	size_t huge = (size_t)256 * (65535 + 2) + 1;
	b = realloc(b, huge);
	assert_non_null(b);
	memset(b, 0xff, huge);
	mt_put(&t, "tile/entries/000", b, huge);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/entries/000: larger than"));

	/* A hash tile larger than a full tile. */
	mt_put(&t, "tile/entries/000", orig, len);
	f = mt_find(&t, "tile/0/000");
	memset(b, 0, 8193);
	memcpy(b, f->data, f->len);
	mt_put(&t, "tile/0/000", b, 8193);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/000: larger than"));

	free(b);
	free(orig);
	mt_free(&t);
	free_keys(&k);
}

static void test_memory_tree_wrong_root(void **state)
{
	(void)state;
	keys k = make_keys("test.example/root");
	mtree t;
	vl_verify_report rep;
	build_tree(&t, k.s, 700, FORK_NONE, 1);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ECORRUPT);
	assert_int_equal(strncmp(rep.message, "checkpoint: the 700 entries in the bundles have root ",
	                         strlen("checkpoint: the 700 entries in the bundles have root ")),
	                 0);
	assert_non_null(strstr(rep.message, "the tree is not the one that was signed"));
	print_message("wrong root: %s\n", rep.message);
	mt_free(&t);
	free_keys(&k);
}

static void test_memory_tree_partial_replaced_by_full(void **state)
{
	(void)state;
	keys k = make_keys("test.example/partials");
	mtree small, large;
	vl_verify_report rep;
	build_tree(&small, k.s, 300, FORK_NONE, 0);
	build_tree(&large, k.s, 600, FORK_NONE, 0);

	/* A log may drop partial tiles once the full ones exist: the first
	 * 44 hashes and entries of the full tiles are the same. */
	mt_del(&small, "tile/0/001.p/44");
	mt_del(&small, "tile/entries/001.p/44");
	mfile *f = mt_find(&large, "tile/0/001");
	mt_put(&small, "tile/0/001", f->data, f->len);
	f = mt_find(&large, "tile/entries/001");
	mt_put(&small, "tile/entries/001", f->data, f->len);
	assert_int_equal(verify_mem(&small, k.v, NULL, &rep), 0);
	assert_int_equal(rep.entries_checked, 300);

	/* The full tile's hashes are held to the entries like a partial's. */
	f = mt_find(&small, "tile/0/001");
	f->data[43 * VL_HASH_SIZE] ^= 1;
	assert_int_equal(verify_mem(&small, k.v, NULL, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/001: hash 43 (entry 299)"));
	f->data[43 * VL_HASH_SIZE] ^= 1;
	/* Beyond the tree's size it vouches for nothing. */
	f->data[200 * VL_HASH_SIZE] ^= 1;
	assert_int_equal(verify_mem(&small, k.v, NULL, &rep), 0);

	/* With neither, the partial is what is missing. */
	mt_del(&small, "tile/0/001");
	assert_int_equal(verify_mem(&small, k.v, NULL, &rep), VL_ENOTFOUND);
	assert_string_equal(rep.message, "tile/0/001.p/44 is missing: the tree of size 300 needs it "
	                                 "for entries 256 to 299");
	mt_free(&small);
	mt_free(&large);
	free_keys(&k);
}

static void test_since_checkpoint(void **state)
{
	(void)state;
	keys k = make_keys("test.example/since");
	keys other = make_keys("test.example/since");
	mtree t1000, t300, t256, t0, fork1000, fork300, foreign;
	vl_verify_report rep;
	build_tree(&t1000, k.s, 1000, FORK_NONE, 0);
	build_tree(&t300, k.s, 300, FORK_NONE, 0);
	build_tree(&t256, k.s, 256, FORK_NONE, 0);
	build_tree(&t0, k.s, 0, FORK_NONE, 0);
	build_tree(&fork1000, k.s, 1000, 500, 0);
	build_tree(&fork300, k.s, 300, 200, 0);
	build_tree(&foreign, other.s, 300, FORK_NONE, 0);

	/* A prefix: the older tree ends mid-bundle, at a tile edge, empty. */
	assert_int_equal(verify_mem(&t1000, k.v, t300.note, &rep), 0);
	assert_int_equal(verify_mem(&t1000, k.v, t256.note, &rep), 0);
	assert_int_equal(verify_mem(&t1000, k.v, t0.note, &rep), 0);
	assert_int_equal(verify_mem(&t1000, k.v, t1000.note, &rep), 0);
	assert_int_equal(verify_mem(&t0, k.v, t0.note, &rep), 0);
	/* since_len 0: the note is a C string */
	vl_verify_options opt = {.vkey = k.v, .since_note = t300.note};
	assert_int_equal(vl_verify_tree(mt_fetch, &t1000, &opt, &rep), 0);

	/* Rolled back. */
	assert_int_equal(verify_mem(&t300, k.v, t1000.note, &rep), VL_EINCONSISTENT);
	assert_non_null(strstr(rep.message, "rolled back from 1000 to 300"));
	assert_int_equal(rep.entries_checked, 0);
	print_message("rollback: %s\n", rep.message);
	assert_int_equal(verify_mem(&t0, k.v, t1000.note, &rep), VL_EINCONSISTENT);
	assert_non_null(strstr(rep.message, "rolled back from 1000 to 0"));

	/* Forked: same size, one entry differs. */
	assert_int_equal(verify_mem(&fork1000, k.v, NULL, &rep), 0);
	assert_int_equal(verify_mem(&fork1000, k.v, t1000.note, &rep), VL_EINCONSISTENT);
	assert_non_null(strstr(rep.message, "forked at size 1000"));
	print_message("fork: %s\n", rep.message);
	/* The fork is after 300: that prefix is still shared. */
	assert_int_equal(verify_mem(&fork1000, k.v, t300.note, &rep), 0);
	/* Forked before the older size: found when the stream reaches it. */
	assert_int_equal(verify_mem(&t1000, k.v, fork300.note, &rep), VL_EINCONSISTENT);
	assert_non_null(strstr(rep.message, "forked at size 300"));
	assert_int_equal(rep.entries_checked, 299);

	/* An older checkpoint not signed by the trusted key. */
	assert_int_equal(verify_mem(&t1000, k.v, foreign.note, &rep), VL_ESIGNATURE);
	assert_int_equal(strncmp(rep.message, "since checkpoint: ", 18), 0);
	assert_int_equal(verify_mem(&t1000, k.v, "garbage\n", &rep), VL_EFORMAT);

	mt_free(&t1000);
	mt_free(&t300);
	mt_free(&t256);
	mt_free(&t0);
	mt_free(&fork1000);
	mt_free(&fork300);
	mt_free(&foreign);
	free_keys(&k);
	free_keys(&other);
}

static void test_memory_tree_checkpoint_problems(void **state)
{
	(void)state;
	keys k = make_keys("test.example/cp");
	mtree t;
	vl_verify_report rep;
	build_tree(&t, k.s, 10, FORK_NONE, 0);

	mt_del(&t, "checkpoint");
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_ENOTFOUND);
	assert_int_equal(strncmp(rep.message, "checkpoint is missing", 21), 0);

	mt_put(&t, "checkpoint", "", 0);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_EFORMAT);
	mt_put(&t, "checkpoint", "test.example/cp\n10\nnot-a-root\n", 30);
	assert_int_equal(verify_mem(&t, k.v, NULL, &rep), VL_EFORMAT);
	assert_int_equal(strncmp(rep.message, "checkpoint: ", 12), 0);
	mt_free(&t);
	free_keys(&k);
}

/* ------------------------------------------------------------------ */
/* vl_fetch_dir                                                        */

static void test_fetch_dir(void **state)
{
	(void)state;
	char *tmp = make_tmpdir();
	char path[PATH_MAX];
	uint8_t *data = NULL;
	size_t len = 0;

	join(path, tmp, "a/b/c");
	mkdirs_for(path);
	spit(path, "hello", 5);
	assert_int_equal(vl_fetch_dir(tmp, "a/b/c", &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_int_equal(vl_fetch_dir(tmp, "./a/b/c", &data, &len), 0);
	free(data);

	join(path, tmp, "empty");
	spit(path, "", 0);
	assert_int_equal(vl_fetch_dir(tmp, "empty", &data, &len), 0);
	assert_int_equal(len, 0);
	free(data);

	assert_int_equal(vl_fetch_dir(tmp, "a/b/nope", &data, &len), VL_ENOTFOUND);
	assert_int_equal(vl_fetch_dir(tmp, "a/b/c/d", &data, &len), VL_ENOTFOUND);
	assert_int_equal(vl_fetch_dir(tmp, "..", &data, &len), VL_EINVAL);
	assert_int_equal(vl_fetch_dir(tmp, "../etc/passwd", &data, &len), VL_EINVAL);
	assert_int_equal(vl_fetch_dir(tmp, "a/../a/b/c", &data, &len), VL_EINVAL);
	assert_int_equal(vl_fetch_dir(tmp, "a/b/..", &data, &len), VL_EINVAL);
	assert_int_equal(vl_fetch_dir(tmp, "/etc/passwd", &data, &len), VL_EINVAL);
	assert_int_equal(vl_fetch_dir(tmp, "", &data, &len), VL_EINVAL);
	assert_int_equal(vl_fetch_dir(NULL, "a/b/c", &data, &len), VL_EINVAL);
	assert_null(data);
	/* ".." only as a whole segment */
	join(path, tmp, "..x");
	spit(path, "y", 1);
	assert_int_equal(vl_fetch_dir(tmp, "..x", &data, &len), 0);
	free(data);
	assert_true(vl_fetch_dir(tmp, "a", &data, &len) < 0);

	/* Sizes: a maximal bundle is read, anything larger refused. */
	join(path, tmp, "big");
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)256 * (65535 + 2)), 0);
	assert_int_equal(vl_fetch_dir(tmp, "big", &data, &len), 0);
	assert_int_equal(len, (size_t)256 * (65535 + 2));
	free(data);
	assert_int_equal(ftruncate(fd, (off_t)17 << 20), 0);
	close(fd);
	data = NULL;
	assert_int_equal(vl_fetch_dir(tmp, "big", &data, &len), VL_ETOOBIG);
	assert_null(data);

	rm_tree(tmp);
	free(tmp);
}

/* ------------------------------------------------------------------ */
/* vellum log directories                                              */

typedef struct logfix {
	char *dir;      /* the log */
	char *keyfile;
	keys k;
} logfix;

static void log_append_n(vl_log *log, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n;) {
		vl_entry batch[7];
		uint8_t buf[7][300];
		size_t m = 0;
		for (; m < 7 && i < from + n; m++, i++) {
			batch[m].len = make_entry(i, FORK_NONE, buf[m]);
			batch[m].data = buf[m];
		}
		uint64_t first;
		assert_int_equal(vl_log_append(log, batch, m, &first), 0);
		assert_int_equal(first, i - m);
	}
}

/* A log of 700 checkpointed entries and 50 more only in the WAL. */
static void make_log(logfix *lf)
{
	char *skey = NULL, *vkey = NULL;
	char path[PATH_MAX];
	lf->dir = make_tmpdir();
	assert_int_equal(vl_key_generate("test.example/logdir", &skey, &vkey), 0);
	assert_int_equal(vl_signer_parse(skey, &lf->k.s), 0);
	assert_int_equal(vl_verifier_parse(vkey, &lf->k.v), 0);
	join(path, lf->dir, "signer.key");
	lf->keyfile = strdup(path);
	int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, skey, strlen(skey)), (ssize_t)strlen(skey));
	close(fd);
	free(skey);
	free(vkey);

	join(path, lf->dir, "log");
	vl_log_options opt = {.key_file = lf->keyfile, .segment_bytes = 4096};
	vl_log *log = NULL;
	assert_int_equal(vl_log_create(path, lf->k.s, &opt, &log), 0);
	log_append_n(log, 0, 400);
	assert_int_equal(vl_log_checkpoint(log, NULL), 0);
	log_append_n(log, 400, 300);
	assert_int_equal(vl_log_checkpoint(log, NULL), 0);
	log_append_n(log, 700, 50);
	assert_int_equal(vl_log_size(log), 750);
	assert_int_equal(vl_log_close(log), 0);
}

static void free_log(logfix *lf)
{
	rm_tree(lf->dir);
	free(lf->dir);
	free(lf->keyfile);
	free_keys(&lf->k);
}

/* A fresh copy of the fixture's log, so each damage starts from clean. */
static char *copy_log(const logfix *lf)
{
	char src[PATH_MAX], dst[PATH_MAX];
	join(src, lf->dir, "log");
	join(dst, lf->dir, "copy");
	rm_tree(dst);
	copy_tree(src, dst);
	return strdup(dst);
}

static int verify_dir(const char *dir, const vl_verifier *v, vl_verify_report *rep)
{
	vl_verify_options opt = {.vkey = v};
	return vl_verify_log_dir(dir, &opt, rep);
}

/* The WAL segments of a log directory, oldest first. */
static file_list wal_segments(const char *dir)
{
	char wal[PATH_MAX];
	join(wal, dir, "wal");
	return list_files(wal);
}

/* Byte offset in FILE of the first occurrence of NEEDLE, or SIZE_MAX. */
static size_t find_in_file(const char *file, const char *needle)
{
	size_t len, nl = strlen(needle);
	uint8_t *data = slurp(file, &len);
	size_t at = SIZE_MAX;
	for (size_t i = 0; i + nl <= len; i++) {
		if (memcmp(data + i, needle, nl) == 0) {
			at = i;
			break;
		}
	}
	free(data);
	return at;
}

static void patch_byte(const char *file, size_t at, uint8_t x)
{
	size_t len;
	uint8_t *data = slurp(file, &len);
	assert_true(at < len);
	data[at] ^= x;
	spit(file, data, len);
	free(data);
}

static void test_log_dir(void **state)
{
	(void)state;
	logfix lf;
	vl_verify_report rep;
	char path[PATH_MAX], seg[PATH_MAX];
	make_log(&lf);

	/* Intact: the tree at 700, plus 50 durable entries not yet signed. */
	char *d = copy_log(&lf);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), 0);
	assert_int_equal(rep.checkpoint.size, 700);
	assert_int_equal(rep.entries_checked, 750);
	assert_string_equal(rep.message, "");
	assert_int_equal(vl_verify_tree(vl_fetch_dir, d, &(vl_verify_options){.vkey = lf.k.v}, &rep),
	                 0);
	assert_int_equal(rep.entries_checked, 700);
	file_list segs = wal_segments(d);
	assert_true(segs.n >= 2);

	/* A torn, unacknowledged write at the end of the newest segment. */
	join(path, d, "wal");
	join(seg, path, segs.paths[segs.n - 1]);
	size_t len;
	uint8_t *data = slurp(seg, &len);
	uint8_t *torn = malloc(len + 100);
	assert_non_null(torn);
	memcpy(torn, data, len);
	memcpy(torn + len, "VLFR", 4);
	memset(torn + len + 4, 0x5a, 96);
	spit(seg, torn, len + 100);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), 0);
	assert_string_equal(rep.message, "");
	assert_int_equal(rep.entries_checked, 750);
	free(torn);
	free(data);

	/* An entry changed in a bundle, consistently with nothing. */
	free(d);
	d = copy_log(&lf);
	join(path, d, "tile/entries/001");
	size_t at = find_in_file(path, "entry 300");
	assert_true(at != SIZE_MAX);
	patch_byte(path, at + 8, 0x01);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	print_message("bundle vs wal: %s\n", rep.message);
	assert_non_null(strstr(rep.message, "entry 300 in wal/"));
	assert_non_null(strstr(rep.message, "differs from tile/entries/001"));

	/* A WAL byte of an entry the checkpoint covers. */
	free(d);
	d = copy_log(&lf);
	free_list(&segs);
	segs = wal_segments(d);
	join(path, d, "wal");
	join(seg, path, segs.paths[0]);
	at = find_in_file(seg, "entry 3");
	assert_true(at != SIZE_MAX);
	patch_byte(seg, at + 6, 0x02);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, segs.paths[0]));
	print_message("wal damage: %s\n", rep.message);

	/* The WAL truncated to fewer entries than the checkpoint covers. */
	free(d);
	d = copy_log(&lf);
	for (size_t i = 1; i < segs.n; i++) {
		join(path, d, "wal");
		join(seg, path, segs.paths[i]);
		assert_int_equal(unlink(seg), 0);
	}
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "the checkpoint covers 700"));
	print_message("short wal: %s\n", rep.message);

	/* The WAL's first segment deleted. */
	free(d);
	d = copy_log(&lf);
	join(path, d, "wal");
	join(seg, path, segs.paths[0]);
	assert_int_equal(unlink(seg), 0);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "00000000000000000000"));
	print_message("first segment deleted: %s\n", rep.message);

	/* Damage beyond the checkpoint that is not a torn tail: a frame in
	 * the middle of the newest segment, valid frames after it. */
	free(d);
	d = copy_log(&lf);
	at = SIZE_MAX;
	size_t s710 = 0;
	for (; s710 < segs.n && at == SIZE_MAX; s710++) {
		join(path, d, "wal");
		join(seg, path, segs.paths[s710]);
		at = find_in_file(seg, "entry 710");
	}
	assert_true(at != SIZE_MAX);
	patch_byte(seg, at + 7, 0x04);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, segs.paths[s710 - 1]));
	print_message("wal beyond checkpoint: %s\n", rep.message);

	/* The tree part is checked as for any tree. */
	free(d);
	d = copy_log(&lf);
	join(path, d, "tile/0/002.p/188");
	patch_byte(path, 5, 0x10);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/002.p/188: hash 0 (entry 512)"));

	/* Only the given key is trusted. */
	keys other = make_keys("test.example/logdir");
	assert_int_equal(verify_dir(d, other.v, &rep), VL_ESIGNATURE);
	free_keys(&other);

	free_list(&segs);
	free(d);
	free_log(&lf);
}

/* When several files are damaged, the failure reported is the one the pass
 * meets first, in index order, whichever of its checks finds it. */
static void test_log_dir_first_failure(void **state)
{
	(void)state;
	logfix lf;
	vl_verify_report rep;
	char path[PATH_MAX];
	make_log(&lf);

	/* A hash tile of bundle 0 and an entry of bundle 1: the tile first. */
	char *d = copy_log(&lf);
	join(path, d, "tile/0/000");
	patch_byte(path, 40, 0x01);
	join(path, d, "tile/entries/001");
	size_t at = find_in_file(path, "entry 300");
	assert_true(at != SIZE_MAX);
	patch_byte(path, at + 8, 0x01);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/000: hash 1 (entry 1)"));
	assert_int_equal(rep.entries_checked, 255);

	/* An entry of bundle 0 changed: the WAL comparison of that entry comes
	 * before the tile the changed leaf spoils. */
	free(d);
	d = copy_log(&lf);
	join(path, d, "tile/entries/000");
	at = find_in_file(path, "entry 100");
	assert_true(at != SIZE_MAX);
	patch_byte(path, at + 8, 0x01);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "entry 100 in wal/"));
	assert_int_equal(rep.entries_checked, 100);

	/* A hash tile of bundle 1 and a truncated bundle 2: the tile first. */
	free(d);
	d = copy_log(&lf);
	join(path, d, "tile/0/001");
	patch_byte(path, 0, 0x01);
	join(path, d, "tile/entries/002.p/188");
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/001: hash 0 (entry 256)"));
	assert_int_equal(rep.entries_checked, 511);

	/* Bundle 2 truncated alone: every entry before it was checked. */
	free(d);
	d = copy_log(&lf);
	join(path, d, "tile/entries/002.p/188");
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(verify_dir(d, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/entries/002.p/188: "));
	assert_int_equal(rep.entries_checked, 512);

	/* The last entry the since checkpoint covers changed: the fork is
	 * found before the WAL comparison of the same entry. */
	free(d);
	d = copy_log(&lf);
	size_t note_len;
	join(path, d, "checkpoint");
	uint8_t *note = slurp(path, &note_len);
	join(path, d, "tile/entries/002.p/188");
	at = find_in_file(path, "entry 699");
	assert_true(at != SIZE_MAX);
	patch_byte(path, at + 8, 0x01);
	vl_verify_options opt = {.vkey = lf.k.v, .since_note = (const char *)note,
	                         .since_len = note_len};
	assert_int_equal(vl_verify_log_dir(d, &opt, &rep), VL_EINCONSISTENT);
	assert_non_null(strstr(rep.message, "since checkpoint: the first 700 entries"));
	assert_int_equal(rep.entries_checked, 699);
	free(note);

	/* A log of more bundles than the verifier reads ahead: a failure in
	 * the first bundle stops the pass with the rest still unread, and one
	 * far in is found with everything before it checked. */
	join(path, lf.dir, "big");
	vl_log_options lopt = {.key_file = lf.keyfile};
	vl_log *log = NULL;
	assert_int_equal(vl_log_create(path, lf.k.s, &lopt, &log), 0);
	log_append_n(log, 0, 5000);
	assert_int_equal(vl_log_checkpoint(log, NULL), 0);
	assert_int_equal(vl_log_close(log), 0);
	assert_int_equal(verify_dir(path, lf.k.v, &rep), 0);
	assert_int_equal(rep.entries_checked, 5000);
	char big[PATH_MAX];
	memcpy(big, path, sizeof big);
	join(path, big, "tile/0/000");
	patch_byte(path, 40, 0x01);
	assert_int_equal(verify_dir(big, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "tile/0/000: hash 1 (entry 1)"));
	assert_int_equal(rep.entries_checked, 255);
	patch_byte(path, 40, 0x01);
	join(path, big, "tile/entries/015");
	at = find_in_file(path, "entry 3900");
	assert_true(at != SIZE_MAX);
	patch_byte(path, at + 8, 0x01);
	assert_int_equal(verify_dir(big, lf.k.v, &rep), VL_ECORRUPT);
	assert_non_null(strstr(rep.message, "entry 3900 in wal/"));
	assert_int_equal(rep.entries_checked, 3900);

	free(d);
	free_log(&lf);
}

static void test_log_dir_fresh(void **state)
{
	(void)state;
	char *tmp = make_tmpdir();
	char path[PATH_MAX];
	keys k = make_keys("test.example/fresh");
	vl_verify_report rep;
	vl_log *log = NULL;

	/* Created: a signed checkpoint of size 0 and an empty WAL. */
	join(path, tmp, "log");
	assert_int_equal(vl_log_create(path, k.s, NULL, &log), 0);
	assert_int_equal(verify_dir(path, k.v, &rep), 0);
	assert_int_equal(rep.checkpoint.size, 0);
	assert_int_equal(rep.entries_checked, 0);

	/* Appended, never checkpointed: the WAL alone holds the entries. */
	log_append_n(log, 0, 20);
	assert_int_equal(verify_dir(path, k.v, &rep), 0);
	assert_int_equal(rep.checkpoint.size, 0);
	assert_int_equal(rep.entries_checked, 20);
	assert_int_equal(vl_log_close(log), 0);

	assert_int_equal(vl_verify_log_dir(NULL, &(vl_verify_options){.vkey = k.v}, &rep),
	                 VL_EINVAL);
	assert_int_equal(vl_verify_log_dir(path, NULL, &rep), VL_EINVAL);
	free_keys(&k);
	rm_tree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_log_verifies),
		cmocka_unit_test(test_vector_log_single_byte_changes),
		cmocka_unit_test(test_vector_log_delete_truncate_append),
		cmocka_unit_test(test_vector_log_swapped_entries),
		cmocka_unit_test(test_vector_log_wrong_key),
		cmocka_unit_test(test_memory_trees_of_many_sizes),
		cmocka_unit_test(test_memory_tree_multi_group_paths),
		cmocka_unit_test(test_memory_tree_higher_level_tiles),
		cmocka_unit_test(test_memory_tree_bad_bundles),
		cmocka_unit_test(test_memory_tree_wrong_root),
		cmocka_unit_test(test_memory_tree_partial_replaced_by_full),
		cmocka_unit_test(test_since_checkpoint),
		cmocka_unit_test(test_memory_tree_checkpoint_problems),
		cmocka_unit_test(test_fetch_dir),
		cmocka_unit_test(test_log_dir),
		cmocka_unit_test(test_log_dir_first_failure),
		cmocka_unit_test(test_log_dir_fresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
