/*
 * spool.c — the agent's spool (spool.h): creating and opening the spool
 * log, recovering each origin's newest position from it, serialised
 * durable appends, the pending-bytes account behind --spool-max-bytes, the
 * forwarded cursor, and the agent's identity file.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

#define POSITIONS_MAGIC "vellum-agent-positions/1\n"
#define FORWARDED_MAGIC "vellum-agent-forwarded/1\n"
#define SMALL_FILE_MAX (1u << 20)

struct origin_pos {
	char origin[VA_ORIGIN_MAX + 1];
	va_position pos;
};

/* A segment: one vellum log holding spool indexes base.. */
struct segment {
	uint64_t base;
	vl_log *log;
};

struct va_spool {
	char dir[PATH_MAX];
	vl_log *log;               /* the newest segment's log: appends go there */
	pthread_rwlock_t seg_mu;   /* guards segs (read: scans; write: rotate, release) */
	struct segment *segs;      /* oldest first; the last is the newest */
	size_t n_segs;
	uint64_t segment_events;   /* start a new segment past this many entries */
	char *vkey;
	pthread_mutex_t append_mu; /* serialises appends; guards origins */
	struct origin_pos *origins;
	size_t n_origins, cap_origins;
	pthread_mutex_t mu; /* guards the counters below */
	pthread_cond_t changed;
	uint64_t size, forwarded, pending_bytes, max_bytes;
	uint64_t checkpointed; /* size at the last checkpoint */
	uint64_t forwarded_synced; /* the forwarded cursor as last written durably */
	uint64_t released;         /* segments released since open */
	int woken;
};

/* The first spool index of the newest segment (appends go there). */
static uint64_t newest_base(const va_spool *s)
{
	return s->segs[s->n_segs - 1].base;
}

/* ------------------------------------------------------------------ */
/* Small files.                                                        */

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int va_replace_file(const char *dir, const char *name, const void *data, size_t len,
                    int durable)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= sizeof tmp ||
	    (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return VL_ETOOBIG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, data, len);
	if (rc == 0 && durable && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0 && durable)
		rc = fsync_dir(dir);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Reads a small file into a NUL-terminated buffer. */
static int read_small(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int rc = buf ? 0 : VL_ENOMEM;
	while (rc == 0) {
		if (n + 1 == cap) {
			char *g = cap < SMALL_FILE_MAX ? realloc(buf, cap * 2) : NULL;
			if (!g) {
				rc = cap < SMALL_FILE_MAX ? VL_ENOMEM : VL_ETOOBIG;
				break;
			}
			buf = g;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		else if (r == 0)
			break;
		else
			n += (size_t)r;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Creates a file that must not exist yet, durably (mode 0600). */
static int create_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return VL_ETOOBIG;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, text, strlen(text));
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir(dir);
	if (rc < 0)
		unlink(path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Identity.                                                           */

int va_agent_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int va_agent_id(const char *dir, const char *id, char *out, size_t cap, char *err,
                size_t errcap)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	if (id && !va_agent_id_ok(id)) {
		snprintf(err, errcap, "--id '%s': expected 1..64 of A-Z a-z 0-9 . _ : -", id);
		return VL_EINVAL;
	}
	snprintf(path, sizeof path, "%s/agent-id", dir);
	int rc = read_small(path, &text, &len);
	if (rc == 0) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		if (!va_agent_id_ok(text)) {
			snprintf(err, errcap, "%s does not hold a valid agent id", path);
			free(text);
			return VL_EFORMAT;
		}
		if (id && strcmp(id, text) != 0) {
			snprintf(err, errcap,
			         "--id %s differs from the id %s this spool was started with (%s): "
			         "a spool's indexes belong to one identity; use another --spool "
			         "directory",
			         id, text, path);
			free(text);
			return VL_EINVAL;
		}
		snprintf(out, cap, "%s", text);
		free(text);
		return 0;
	}
	if (rc != -ENOENT) {
		snprintf(err, errcap, "cannot read %s: %s", path, vl_strerror(rc));
		return rc;
	}
	char made[80];
	if (id) {
		snprintf(made, sizeof made, "%s", id);
	} else {
		char host[256] = "";
		gethostname(host, sizeof host - 1);
		size_t h = 0;
		for (size_t i = 0; host[i] && h < 55; i++) {
			char c = host[i];
			int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
			made[h++] = ok ? c : '-';
		}
		if (h == 0) {
			memcpy(made, "agent", 5);
			h = 5;
		}
		uint8_t r[4];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
			snprintf(err, errcap, "getrandom failed: %s", strerror(errno));
			return -EIO;
		}
		snprintf(made + h, sizeof made - h, "-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	}
	char line[96];
	snprintf(line, sizeof line, "%s\n", made);
	rc = create_file(dir, "agent-id", line);
	if (rc < 0) {
		snprintf(err, errcap, "cannot write %s: %s", path, vl_strerror(rc));
		return rc;
	}
	snprintf(out, cap, "%s", made);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The forwarded cursor.                                               */

int va_read_forwarded(const char *dir, uint64_t *next, char *vkey, size_t vkey_cap)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/forwarded", dir);
	*next = 0;
	if (vkey_cap)
		vkey[0] = '\0';
	int rc = read_small(path, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	char *p = text;
	rc = VL_EFORMAT;
	if (strncmp(p, FORWARDED_MAGIC, strlen(FORWARDED_MAGIC)) == 0) {
		p += strlen(FORWARDED_MAGIC);
		char *nl = strchr(p, '\n');
		if (strncmp(p, "spool ", 6) == 0 && nl) {
			*nl = '\0';
			snprintf(vkey, vkey_cap, "%s", p + 6);
			p = nl + 1;
			char *end;
			errno = 0;
			if (strncmp(p, "next ", 5) == 0 && p[5] >= '0' && p[5] <= '9') {
				unsigned long long v = strtoull(p + 5, &end, 10);
				if (errno == 0 && strcmp(end, "\n") == 0) {
					*next = v;
					rc = 0;
				}
			}
		}
	}
	free(text);
	return rc;
}

static int write_forwarded(va_spool *s, uint64_t next, int durable)
{
	char text[1024];
	int n = snprintf(text, sizeof text, FORWARDED_MAGIC "spool %s\nnext %" PRIu64 "\n", s->vkey,
	                 next);
	if (n < 0 || (size_t)n >= sizeof text)
		return VL_ETOOBIG;
	return va_replace_file(s->dir, "forwarded", text, (size_t)n, durable);
}

/* ------------------------------------------------------------------ */
/* Positions.                                                          */

static struct origin_pos *find_origin(va_spool *s, const char *origin, int add)
{
	for (size_t i = 0; i < s->n_origins; i++)
		if (strcmp(s->origins[i].origin, origin) == 0)
			return &s->origins[i];
	if (!add)
		return NULL;
	if (s->n_origins == s->cap_origins) {
		size_t cap = s->cap_origins ? s->cap_origins * 2 : 8;
		struct origin_pos *g = realloc(s->origins, cap * sizeof *g);
		if (!g)
			return NULL;
		s->origins = g;
		s->cap_origins = cap;
	}
	struct origin_pos *o = &s->origins[s->n_origins++];
	memset(o, 0, sizeof *o);
	snprintf(o->origin, sizeof o->origin, "%s", origin);
	return o;
}

/* Loads the cache NAME; returns the spool size it covers (0 if unusable). */
static uint64_t load_positions(va_spool *s, const char *name, uint64_t size)
{
	char path[PATH_MAX + 32], *text = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	if (read_small(path, &text, &len) < 0)
		return 0;
	uint64_t covers = 0;
	int ok = 0;
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	if (line && strcmp(line, "vellum-agent-positions/1") == 0 &&
	    (line = strtok_r(NULL, "\n", &save)) && strncmp(line, "spool ", 6) == 0 &&
	    strcmp(line + 6, s->vkey) == 0 && (line = strtok_r(NULL, "\n", &save)) &&
	    sscanf(line, "size %" SCNu64, &covers) == 1 && covers <= size) {
		ok = 1;
		struct origin_pos *prev = NULL;
		while (ok && (line = strtok_r(NULL, "\n", &save))) {
			va_position p = {0};
			int has_file, off = 0;
			if (strncmp(line, "c ", 2) == 0) { /* the cursor of the p line before */
				if (!prev || prev->pos.has_cursor ||
				    !va_cursor_ok(line + 2, strlen(line + 2))) {
					ok = 0;
					break;
				}
				prev->pos.has_cursor = 1;
				snprintf(prev->pos.cursor, sizeof prev->pos.cursor, "%s", line + 2);
				continue;
			}
			if (sscanf(line, "p %" SCNu64 " %d %" SCNu64 " %" SCNx64 " %n", &p.offset,
			           &has_file, &p.inode, &p.head, &off) < 4 || off == 0 ||
			    !va_origin_ok(line + off, strlen(line + off))) {
				ok = 0;
				break;
			}
			p.has_file = has_file != 0;
			struct origin_pos *o = find_origin(s, line + off, 1);
			if (!o)
				ok = 0;
			else
				o->pos = p;
			prev = o;
		}
	}
	free(text);
	if (!ok) {
		s->n_origins = 0;
		return 0;
	}
	return covers;
}

/* The cache, from the table; the caller holds append_mu.  DURABLE: the
 * copy kept for released segments (positions.released), synced. */
static int write_positions_locked(va_spool *s, int durable)
{
	size_t cap = 256 + strlen(s->vkey) + s->n_origins * (VA_ORIGIN_MAX + VA_CURSOR_MAX + 84);
	char *text = malloc(cap);
	if (!text)
		return VL_ENOMEM;
	size_t n = (size_t)snprintf(text, cap, POSITIONS_MAGIC "spool %s\nsize %" PRIu64 "\n",
	                            s->vkey, newest_base(s) + vl_log_size(s->log));
	for (size_t i = 0; i < s->n_origins; i++) {
		const struct origin_pos *o = &s->origins[i];
		n += (size_t)snprintf(text + n, cap - n,
		                      "p %" PRIu64 " %d %" PRIu64 " %016" PRIx64 " %s\n", o->pos.offset,
		                      o->pos.has_file, o->pos.inode, o->pos.head, o->origin);
		if (o->pos.has_cursor)
			n += (size_t)snprintf(text + n, cap - n, "c %s\n", o->pos.cursor);
	}
	int rc = va_replace_file(s->dir, durable ? "positions.released" : "positions", text, n,
	                         durable);
	free(text);
	return rc;
}

struct recover_ctx {
	va_spool *s;
	uint64_t pending_from; /* entries from here on are pending */
	uint64_t pending_bytes;
	uint64_t positions_from; /* entries from here on update positions */
	uint64_t bad_index;
	int bad;
};

static int recover_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct recover_ctx *c = arg;
	if (index >= c->pending_from)
		c->pending_bytes += len;
	if (index < c->positions_from)
		return 0;
	va_entry e;
	if (va_entry_parse(entry, len, &e) < 0) {
		c->bad = 1;
		c->bad_index = index;
		return 1;
	}
	struct origin_pos *o = find_origin(c->s, e.origin, 1);
	if (!o)
		return VL_ENOMEM;
	o->pos = e.pos;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Open and close.                                                     */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int ensure_key(const char *dir, const char *agent_id, char *err, size_t errcap)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/spool.key", dir);
	if (stat(path, &st) == 0)
		return 0;
	char name[128], *skey = NULL, *vkey = NULL;
	snprintf(name, sizeof name, "vellum-agent/%s", agent_id);
	int rc = vl_key_generate(name, &skey, &vkey);
	if (rc == 0) {
		size_t n = strlen(skey);
		char *line = malloc(n + 2);
		if (!line) {
			rc = VL_ENOMEM;
		} else {
			memcpy(line, skey, n);
			memcpy(line + n, "\n", 2);
			rc = create_file(dir, "spool.key", line);
			explicit_bzero(line, n);
			free(line);
		}
		explicit_bzero(skey, strlen(skey));
	}
	free(skey);
	free(vkey);
	if (rc < 0)
		snprintf(err, errcap, "cannot create the spool key %s: %s", path, vl_strerror(rc));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Segments.                                                           */

/* "spool" for base 0, "spool-<base, 20 digits>" for later segments. */
static void segment_name(uint64_t base, char *out, size_t cap)
{
	if (base == 0)
		snprintf(out, cap, "spool");
	else
		snprintf(out, cap, "spool-%020" PRIu64, base);
}

static int remove_tree(const char *path)
{
	return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT ? -errno : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The segments' bases in DIR, ascending.  Leftovers of an interrupted
 * creation (NAME.new) or release (NAME.released) are removed when CLEAN. */
static int list_segments(const char *dir, int clean, uint64_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	uint64_t *bases = NULL;
	size_t cap = 0, k = 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *nm = de->d_name;
		uint64_t base;
		int is_seg = 0;
		if (strcmp(nm, "spool") == 0) {
			base = 0;
			is_seg = 1;
		} else if (strncmp(nm, "spool-", 6) == 0 && strlen(nm) == 26 &&
		           strspn(nm + 6, "0123456789") == 20) {
			base = strtoull(nm + 6, NULL, 10);
			is_seg = base > 0;
		} else if (clean && strncmp(nm, "spool", 5) == 0 &&
		           ((strlen(nm) > 4 && strcmp(nm + strlen(nm) - 4, ".new") == 0) ||
		            (strlen(nm) > 9 && strcmp(nm + strlen(nm) - 9, ".released") == 0))) {
			char path[PATH_MAX + 300];
			snprintf(path, sizeof path, "%s/%s", dir, nm);
			rc = remove_tree(path);
			continue;
		}
		if (!is_seg)
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 8;
			uint64_t *g = realloc(bases, cap * sizeof *g);
			if (!g) {
				rc = VL_ENOMEM;
				break;
			}
			bases = g;
		}
		bases[k++] = base;
	}
	closedir(d);
	if (rc < 0) {
		free(bases);
		return rc;
	}
	if (k > 1)
		qsort(bases, k, sizeof *bases, cmp_u64);
	*out = bases;
	*n = k;
	return 0;
}

/* A new segment is made as NAME.new and renamed, so a crash during
 * creation leaves no half-made segment behind. */
static int create_segment(const char *dir, uint64_t base, char *err, size_t errcap)
{
	char name[40], path[PATH_MAX + 64], tmp[PATH_MAX + 64], key[PATH_MAX + 64];
	segment_name(base, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/%s.new", dir, name);
	snprintf(key, sizeof key, "%s/spool.key", dir);
	if (remove_tree(tmp) < 0) {
		snprintf(err, errcap, "cannot remove %s: %s", tmp, strerror(errno));
		return -errno;
	}
	vl_signer *signer = NULL;
	vl_log *log = NULL;
	vl_log_options opt = {.key_file = key};
	int rc = vl_signer_load(key, &signer);
	if (rc < 0) {
		snprintf(err, errcap, "cannot load the spool key %s: %s", key, vl_strerror(rc));
		return rc;
	}
	rc = vl_log_create(tmp, signer, &opt, &log);
	vl_signer_free(signer);
	if (rc < 0) {
		snprintf(err, errcap, "cannot create the spool %s: %s: %s", tmp, vl_strerror(rc),
		         vl_open_message());
		return rc;
	}
	rc = vl_log_close(log);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir(dir);
	if (rc < 0)
		snprintf(err, errcap, "cannot create the spool %s: %s", path, vl_strerror(rc));
	return rc;
}

/* Opens segment BASE of DIR (with the key, or read-only without). */
static int open_segment(const char *dir, uint64_t base, int with_key, vl_log **log, char *err,
                        size_t errcap)
{
	char name[40], path[PATH_MAX + 64], key[PATH_MAX + 64];
	segment_name(base, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(key, sizeof key, "%s/spool.key", dir);
	vl_log_options opt = {.key_file = key};
	int rc = 0;
	/* `vellum agent status` may have it open for a moment. */
	for (int i = 0; i < 50; i++) {
		rc = vl_log_open(path, with_key ? &opt : NULL, log);
		if (rc != VL_ELOCKED || !with_key)
			break;
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
	if (rc < 0)
		snprintf(err, errcap, "cannot open the spool %s: %s: %s", path, vl_strerror(rc),
		         rc == VL_ELOCKED ? "another agent uses this --spool directory"
		                          : vl_open_message());
	return rc;
}

/* Opens every segment of DIR into *segs; checks they are contiguous. */
static int open_segments(const char *dir, int with_key, struct segment **segs, size_t *n,
                         char *err, size_t errcap)
{
	uint64_t *bases;
	size_t k;
	*segs = NULL;
	*n = 0;
	int rc = list_segments(dir, with_key, &bases, &k);
	if (rc < 0) {
		snprintf(err, errcap, "cannot list %s: %s", dir, vl_strerror(rc));
		return rc;
	}
	struct segment *g = calloc(k ? k : 1, sizeof *g);
	if (!g) {
		free(bases);
		return VL_ENOMEM;
	}
	size_t opened = 0;
	for (; rc == 0 && opened < k; opened++) {
		g[opened].base = bases[opened];
		rc = open_segment(dir, bases[opened], with_key, &g[opened].log, err, errcap);
		if (rc < 0)
			break;
		if (opened > 0) {
			/* A segment that begins past the end of the one before:
			 * one in between is gone (the caller reports the lost
			 * indexes, and the server will show them as a gap).  One
			 * that begins before that end cannot be explained. */
			uint64_t end = g[opened - 1].base + vl_log_size(g[opened - 1].log);
			if (end > g[opened].base) {
				snprintf(err, errcap,
				         "the spool's segments overlap: the one at %" PRIu64
				         " ends at %" PRIu64 ", the next begins at %" PRIu64,
				         g[opened - 1].base, end, g[opened].base);
				rc = VL_ECORRUPT;
				opened++;
				break;
			}
		}
	}
	free(bases);
	if (rc < 0) {
		for (size_t i = 0; i < opened; i++)
			if (g[i].log)
				vl_log_close(g[i].log);
		free(g);
		return rc;
	}
	*segs = g;
	*n = k;
	return 0;
}

struct scan_shift {
	vl_scan_fn fn;
	void *ctx;
	uint64_t base;
};

static int shifted_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct scan_shift *sh = arg;
	return sh->fn(sh->ctx, sh->base + index, entry, len);
}

/* vl_log_scan over spool indexes, across segments. */
static int scan_segments(const struct segment *segs, size_t n, uint64_t first, uint64_t count,
                         vl_scan_fn fn, void *ctx, const char **why)
{
	uint64_t index = first, end = first + count;
	while (index < end) {
		size_t i = n;
		while (i > 0 && segs[i - 1].base > index)
			i--;
		if (i == 0) {
			*why = "those spool indexes were released";
			return VL_ENOTFOUND;
		}
		const struct segment *g = &segs[i - 1];
		uint64_t seg_end = g->base + vl_log_size(g->log);
		if (seg_end <= index && i < n) { /* in a hole: go on after it */
			index = segs[i].base;
			continue;
		}
		uint64_t upto = end < seg_end ? end : seg_end;
		if (upto <= index) {
			*why = "past the end of the spool";
			return VL_ENOTFOUND;
		}
		struct scan_shift sh = {fn, ctx, g->base};
		int rc = vl_log_scan(g->log, index - g->base, upto - index, shifted_cb, &sh);
		if (rc) {
			*why = vl_log_message(g->log);
			return rc;
		}
		index = upto;
	}
	return 0;
}

size_t va_spool_holes(va_spool *s, uint64_t *first, uint64_t *last, size_t cap)
{
	size_t k = 0;
	pthread_rwlock_rdlock(&s->seg_mu);
	for (size_t i = 1; i < s->n_segs; i++) {
		uint64_t end = s->segs[i - 1].base + vl_log_size(s->segs[i - 1].log);
		if (end < s->segs[i].base) {
			if (k < cap) {
				first[k] = end;
				last[k] = s->segs[i].base - 1;
			}
			k++;
		}
	}
	pthread_rwlock_unlock(&s->seg_mu);
	return k;
}

int va_spool_scan(va_spool *s, uint64_t first, uint64_t count, vl_scan_fn fn, void *ctx)
{
	const char *why = "";
	pthread_rwlock_rdlock(&s->seg_mu);
	int rc = scan_segments(s->segs, s->n_segs, first, count, fn, ctx, &why);
	pthread_rwlock_unlock(&s->seg_mu);
	return rc;
}

int va_spool_peek(const char *dir, uint64_t forwarded, vl_scan_fn pending_fn, void *ctx,
                  uint64_t *entries, char *err, size_t errcap)
{
	struct segment *segs;
	size_t n;
	int rc = open_segments(dir, 0, &segs, &n, err, errcap);
	if (rc < 0)
		return rc;
	*entries = n ? segs[n - 1].base + vl_log_size(segs[n - 1].log) : 0;
	uint64_t from = n && forwarded < segs[0].base ? segs[0].base : forwarded;
	const char *why = "";
	if (from < *entries && pending_fn) {
		rc = scan_segments(segs, n, from, *entries - from, pending_fn, ctx, &why);
		if (rc < 0)
			snprintf(err, errcap, "reading the spool failed: %s: %s", vl_strerror(rc), why);
	}
	for (size_t i = 0; i < n; i++)
		vl_log_close(segs[i].log);
	free(segs);
	return rc;
}

static void spool_free(va_spool *s)
{
	pthread_mutex_destroy(&s->append_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->changed);
	pthread_rwlock_destroy(&s->seg_mu);
	free(s->segs);
	free(s->origins);
	free(s->vkey);
	free(s);
}

static void close_segments(va_spool *s)
{
	for (size_t i = 0; i < s->n_segs; i++)
		if (s->segs[i].log)
			vl_log_close(s->segs[i].log);
	s->n_segs = 0;
	s->log = NULL;
}

int va_spool_open(const char *dir, const char *agent_id, uint64_t max_bytes, va_spool **out,
                  char *err, size_t errcap)
{
	*out = NULL;
	if (strlen(dir) + 48 >= PATH_MAX) {
		snprintf(err, errcap, "%s: path too long", dir);
		return VL_EINVAL;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	int rc = ensure_key(dir, agent_id, err, errcap);
	if (rc < 0)
		return rc;
	va_spool *s = calloc(1, sizeof *s);
	if (!s)
		return VL_ENOMEM;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	pthread_mutex_init(&s->append_mu, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_rwlock_init(&s->seg_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
	s->max_bytes = max_bytes;
	s->segment_events = VA_SPOOL_SEGMENT_EVENTS;

	rc = open_segments(dir, 1, &s->segs, &s->n_segs, err, errcap);
	if (rc == 0 && s->n_segs == 0) { /* first start */
		free(s->segs);
		s->segs = NULL;
		rc = create_segment(dir, 0, err, errcap);
		if (rc == 0)
			rc = open_segments(dir, 1, &s->segs, &s->n_segs, err, errcap);
		if (rc == 0 && s->n_segs != 1) {
			snprintf(err, errcap, "%s: the new spool is not there", dir);
			rc = VL_ECORRUPT;
		}
	}
	if (rc < 0) {
		spool_free(s);
		return rc;
	}
	s->log = s->segs[s->n_segs - 1].log;
	s->vkey = strdup(vl_log_vkey(s->log));
	if (!s->vkey) {
		rc = VL_ENOMEM;
		goto fail;
	}
	uint64_t oldest = s->segs[0].base;
	s->size = newest_base(s) + vl_log_size(s->log);
	vl_checkpoint cp;
	if (vl_log_latest_checkpoint(s->log, &cp, NULL) == 0)
		s->checkpointed = cp.size;

	char fvkey[512];
	rc = va_read_forwarded(dir, &s->forwarded, fvkey, sizeof fvkey);
	if (rc < 0) {
		snprintf(err, errcap, "cannot read %s/forwarded: %s", dir, vl_strerror(rc));
		goto fail;
	}
	if (fvkey[0] && strcmp(fvkey, s->vkey) != 0) {
		snprintf(err, errcap,
		         "%s/forwarded belongs to another spool (key %s, the spool's is %s)", dir,
		         fvkey, s->vkey);
		rc = VL_EINVAL;
		goto fail;
	}
	/* Segments are released only once forwarded: a cursor behind the
	 * oldest one left (not synced before a crash) is behind the truth. */
	if (s->forwarded < oldest)
		s->forwarded = oldest;
	s->forwarded_synced = s->forwarded;
	if (s->forwarded > s->size) {
		snprintf(err, errcap, "%s/forwarded says %" PRIu64 " entries were forwarded, but the "
		         "spool has only %" PRIu64, dir, s->forwarded, s->size);
		rc = VL_ECORRUPT;
		goto fail;
	}

	struct recover_ctx c = {.s = s, .pending_from = s->forwarded};
	c.positions_from = load_positions(s, "positions", s->size);
	if (c.positions_from < oldest) {
		/* The hint does not reach the segments left: the positions of
		 * the released ones are in positions.released, synced before
		 * any was released. */
		s->n_origins = 0;
		c.positions_from = load_positions(s, "positions.released", s->size);
		if (c.positions_from < oldest) {
			snprintf(err, errcap,
			         "%s/positions.released is missing or damaged, but spool entries "
			         "below %" PRIu64 " were released: the sources' positions are lost",
			         dir, oldest);
			rc = VL_ECORRUPT;
			goto fail;
		}
	}
	uint64_t from = c.positions_from < c.pending_from ? c.positions_from : c.pending_from;
	const char *why = "";
	rc = scan_segments(s->segs, s->n_segs, from, s->size - from, recover_cb, &c, &why);
	if (c.bad) {
		snprintf(err, errcap, "spool entry %" PRIu64 " is not a spool entry", c.bad_index);
		rc = VL_ECORRUPT;
		goto fail;
	}
	if (rc < 0) {
		snprintf(err, errcap, "cannot read the spool: %s: %s", vl_strerror(rc), why);
		goto fail;
	}
	s->pending_bytes = c.pending_bytes;
	*out = s;
	return 0;
fail:
	close_segments(s);
	spool_free(s);
	return rc;
}

void va_spool_set_segment_events(va_spool *s, uint64_t n)
{
	s->segment_events = n ? n : VA_SPOOL_SEGMENT_EVENTS;
}

int va_spool_close(va_spool *s)
{
	if (!s)
		return 0;
	int rc = va_spool_maintain(s, 1);
	int rc2 = 0;
	for (size_t i = 0; i < s->n_segs; i++) {
		int r = vl_log_close(s->segs[i].log);
		if (rc2 == 0)
			rc2 = r;
	}
	spool_free(s);
	return rc < 0 ? rc : rc2;
}

/* ------------------------------------------------------------------ */
/* Appending and waiting.                                              */

int va_spool_position(va_spool *s, const char *origin, va_position *pos)
{
	pthread_mutex_lock(&s->append_mu);
	struct origin_pos *o = find_origin(s, origin, 0);
	if (o)
		*pos = o->pos;
	pthread_mutex_unlock(&s->append_mu);
	return o != NULL;
}

int va_spool_append(va_spool *s, const vl_entry *entries, size_t n, const char *origin,
                    const va_position *last, uint64_t *first)
{
	uint64_t bytes = 0, idx = 0;
	for (size_t i = 0; i < n; i++)
		bytes += entries[i].len;
	pthread_mutex_lock(&s->append_mu);
	struct origin_pos *o = find_origin(s, origin, 1);
	int rc = o ? vl_log_append(s->log, entries, n, &idx) : VL_ENOMEM;
	if (rc == 0) {
		o->pos = *last;
		idx += newest_base(s);
	}
	pthread_mutex_unlock(&s->append_mu);
	if (rc < 0)
		return rc;
	if (first)
		*first = idx;
	pthread_mutex_lock(&s->mu);
	if (idx + n > s->size)
		s->size = idx + n;
	s->pending_bytes += bytes;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int va_spool_full(va_spool *s)
{
	pthread_mutex_lock(&s->mu);
	int full = s->pending_bytes >= s->max_bytes;
	pthread_mutex_unlock(&s->mu);
	return full;
}

void va_spool_wait(va_spool *s, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	if (!s->woken)
		pthread_cond_timedwait(&s->changed, &s->mu, &ts);
	pthread_mutex_unlock(&s->mu);
}

void va_spool_wake(va_spool *s)
{
	pthread_mutex_lock(&s->mu);
	s->woken = 1;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
}

void va_spool_notify(va_spool *s)
{
	pthread_mutex_lock(&s->mu);
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
}

int va_spool_set_forwarded(va_spool *s, uint64_t next, uint64_t bytes)
{
	/* Kept in memory; va_spool_maintain (about once a second) and
	 * va_spool_close write it durably.  A cursor lost to a crash only
	 * makes the agent send again what the server already holds, and the
	 * server keeps each (agent, spool index) once. */
	pthread_mutex_lock(&s->mu);
	s->forwarded = next;
	s->pending_bytes = bytes > s->pending_bytes ? 0 : s->pending_bytes - bytes;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void va_spool_get_stats(va_spool *s, va_spool_stats *st)
{
	pthread_mutex_lock(&s->mu);
	st->size = s->size;
	st->forwarded = s->forwarded;
	st->pending_bytes = s->pending_bytes;
	st->max_bytes = s->max_bytes;
	pthread_mutex_unlock(&s->mu);
}

/* Starts a new segment at the spool's size, if the newest one is full.
 * Appends wait meanwhile. */
static int rotate(va_spool *s)
{
	int rc = 0;
	pthread_mutex_lock(&s->append_mu);
	uint64_t local = vl_log_size(s->log);
	if (local < s->segment_events)
		goto out;
	/* The segment's last checkpoint covers all of it. */
	if ((rc = vl_log_flush(s->log)) < 0 ||
	    (local != s->checkpointed && (rc = vl_log_checkpoint(s->log, NULL)) < 0))
		goto out;
	uint64_t base = newest_base(s) + local;
	char err[512];
	vl_log *log = NULL;
	if ((rc = create_segment(s->dir, base, err, sizeof err)) < 0 ||
	    (rc = open_segment(s->dir, base, 1, &log, err, sizeof err)) < 0)
		goto out;
	struct segment *g = realloc(s->segs, (s->n_segs + 1) * sizeof *g);
	if (!g) {
		vl_log_close(log);
		rc = VL_ENOMEM;
		goto out;
	}
	pthread_rwlock_wrlock(&s->seg_mu);
	s->segs = g;
	s->segs[s->n_segs].base = base;
	s->segs[s->n_segs].log = log;
	s->n_segs++;
	pthread_rwlock_unlock(&s->seg_mu);
	s->log = log;
	s->checkpointed = 0;
out:
	pthread_mutex_unlock(&s->append_mu);
	return rc;
}

/* Deletes the segments (never the newest) whose every entry was
 * forwarded, as far as the synced cursor says.  First the positions are
 * synced to positions.released, so they outlive the entries that held
 * them; a segment is renamed to NAME.released before it is removed, so a
 * crash midway leaves no half segment for the next start to trip on. */
static int release(va_spool *s)
{
	size_t k = 0;
	while (k + 1 < s->n_segs && s->segs[k + 1].base <= s->forwarded_synced)
		k++;
	if (k == 0)
		return 0;
	pthread_mutex_lock(&s->append_mu);
	int rc = write_positions_locked(s, 1);
	pthread_mutex_unlock(&s->append_mu);
	if (rc < 0)
		return rc;
	struct segment gone[k];
	pthread_rwlock_wrlock(&s->seg_mu);
	memcpy(gone, s->segs, k * sizeof *gone);
	memmove(s->segs, s->segs + k, (s->n_segs - k) * sizeof *s->segs);
	s->n_segs -= k;
	pthread_rwlock_unlock(&s->seg_mu);
	for (size_t i = 0; i < k; i++) {
		char name[40], path[PATH_MAX + 64], dead[PATH_MAX + 64];
		int r = vl_log_close(gone[i].log);
		segment_name(gone[i].base, name, sizeof name);
		snprintf(path, sizeof path, "%s/%s", s->dir, name);
		snprintf(dead, sizeof dead, "%s/%s.released", s->dir, name);
		if (r == 0 && rename(path, dead) < 0)
			r = -errno;
		if (r == 0)
			r = fsync_dir(s->dir);
		if (r == 0)
			r = remove_tree(dead);
		if (r < 0 && rc == 0)
			rc = r;
		s->released++;
	}
	return rc;
}

int va_spool_maintain(va_spool *s, int checkpoint)
{
	int rc = vl_log_flush(s->log);
	pthread_mutex_lock(&s->mu);
	uint64_t forwarded = s->forwarded;
	pthread_mutex_unlock(&s->mu);
	if (forwarded != s->forwarded_synced) {
		int frc = write_forwarded(s, forwarded, 1);
		if (frc == 0)
			s->forwarded_synced = forwarded;
		else if (rc == 0)
			rc = frc;
	}
	if (rc == 0)
		rc = rotate(s);
	uint64_t size = vl_log_size(s->log);
	if (rc == 0 && checkpoint && size != s->checkpointed) {
		rc = vl_log_checkpoint(s->log, NULL);
		if (rc == 0)
			s->checkpointed = size;
	}
	if (rc == 0)
		rc = release(s);
	pthread_mutex_lock(&s->append_mu);
	int rc2 = write_positions_locked(s, 0);
	pthread_mutex_unlock(&s->append_mu);
	return rc < 0 ? rc : rc2;
}

uint64_t va_spool_segments(va_spool *s, uint64_t *released)
{
	pthread_rwlock_rdlock(&s->seg_mu);
	uint64_t n = s->n_segs;
	pthread_rwlock_unlock(&s->seg_mu);
	if (released)
		*released = s->released;
	return n;
}

vl_log *va_spool_log(va_spool *s)
{
	return s->log;
}
