/*
 * spool.c — the agent's spool (spool.h): creating and opening the spool
 * log, recovering each origin's newest position from it, serialised
 * durable appends, the pending-bytes account behind --spool-max-bytes, the
 * forwarded cursor, and the agent's identity file.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
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

struct va_spool {
	char dir[PATH_MAX];
	vl_log *log;
	char *vkey;
	pthread_mutex_t append_mu; /* serialises appends; guards origins */
	struct origin_pos *origins;
	size_t n_origins, cap_origins;
	pthread_mutex_t mu; /* guards the counters below */
	pthread_cond_t changed;
	uint64_t size, forwarded, pending_bytes, max_bytes;
	uint64_t checkpointed; /* size at the last checkpoint */
	int woken;
};

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

static int write_forwarded(va_spool *s, uint64_t next)
{
	char text[1024];
	int n = snprintf(text, sizeof text, FORWARDED_MAGIC "spool %s\nnext %" PRIu64 "\n", s->vkey,
	                 next);
	if (n < 0 || (size_t)n >= sizeof text)
		return VL_ETOOBIG;
	return va_replace_file(s->dir, "forwarded", text, (size_t)n, 1);
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

/* Loads the cache; returns the spool size it covers (0 if unusable). */
static uint64_t load_positions(va_spool *s, uint64_t size)
{
	char path[PATH_MAX + 32], *text = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/positions", s->dir);
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
		while (ok && (line = strtok_r(NULL, "\n", &save))) {
			va_position p = {0};
			int has_file, off = 0;
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
		}
	}
	free(text);
	if (!ok) {
		s->n_origins = 0;
		return 0;
	}
	return covers;
}

/* The cache, from the table; the caller holds append_mu. */
static int write_positions_locked(va_spool *s)
{
	size_t cap = 256 + strlen(s->vkey) + s->n_origins * (VA_ORIGIN_MAX + 80);
	char *text = malloc(cap);
	if (!text)
		return VL_ENOMEM;
	size_t n = (size_t)snprintf(text, cap, POSITIONS_MAGIC "spool %s\nsize %" PRIu64 "\n",
	                            s->vkey, vl_log_size(s->log));
	for (size_t i = 0; i < s->n_origins; i++) {
		const struct origin_pos *o = &s->origins[i];
		n += (size_t)snprintf(text + n, cap - n,
		                      "p %" PRIu64 " %d %" PRIu64 " %016" PRIx64 " %s\n", o->pos.offset,
		                      o->pos.has_file, o->pos.inode, o->pos.head, o->origin);
	}
	int rc = va_replace_file(s->dir, "positions", text, n, 0);
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

/* A new spool log is made as spool.new and renamed, so a crash during
 * creation leaves no half-made spool behind. */
static int ensure_log(const char *dir, char *err, size_t errcap)
{
	char path[PATH_MAX], tmp[PATH_MAX], key[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/spool", dir);
	snprintf(tmp, sizeof tmp, "%s/spool.new", dir);
	snprintf(key, sizeof key, "%s/spool.key", dir);
	if (stat(path, &st) == 0)
		return 0;
	if (errno != ENOENT) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
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

static void spool_free(va_spool *s)
{
	pthread_mutex_destroy(&s->append_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->changed);
	free(s->origins);
	free(s->vkey);
	free(s);
}

int va_spool_open(const char *dir, const char *agent_id, uint64_t max_bytes, va_spool **out,
                  char *err, size_t errcap)
{
	*out = NULL;
	if (strlen(dir) + 32 >= PATH_MAX) {
		snprintf(err, errcap, "%s: path too long", dir);
		return VL_EINVAL;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	int rc = ensure_key(dir, agent_id, err, errcap);
	if (rc == 0)
		rc = ensure_log(dir, err, errcap);
	if (rc < 0)
		return rc;
	va_spool *s = calloc(1, sizeof *s);
	if (!s)
		return VL_ENOMEM;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	pthread_mutex_init(&s->append_mu, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
	s->max_bytes = max_bytes;

	char path[PATH_MAX], key[PATH_MAX];
	snprintf(path, sizeof path, "%s/spool", dir);
	snprintf(key, sizeof key, "%s/spool.key", dir);
	vl_log_options opt = {.key_file = key};
	/* `vellum agent status` may have it open for a moment. */
	for (int i = 0; i < 50; i++) {
		rc = vl_log_open(path, &opt, &s->log);
		if (rc != VL_ELOCKED)
			break;
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
	if (rc < 0) {
		snprintf(err, errcap, "cannot open the spool %s: %s: %s", path, vl_strerror(rc),
		         rc == VL_ELOCKED ? "another agent uses this --spool directory"
		                          : vl_open_message());
		spool_free(s);
		return rc;
	}
	s->vkey = strdup(vl_log_vkey(s->log));
	if (!s->vkey) {
		rc = VL_ENOMEM;
		goto fail;
	}
	s->size = vl_log_size(s->log);
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
	if (s->forwarded > s->size) {
		snprintf(err, errcap, "%s/forwarded says %" PRIu64 " entries were forwarded, but the "
		         "spool has only %" PRIu64, dir, s->forwarded, s->size);
		rc = VL_ECORRUPT;
		goto fail;
	}

	struct recover_ctx c = {.s = s, .pending_from = s->forwarded};
	c.positions_from = load_positions(s, s->size);
	uint64_t from = c.positions_from < c.pending_from ? c.positions_from : c.pending_from;
	rc = vl_log_scan(s->log, from, s->size - from, recover_cb, &c);
	if (c.bad) {
		snprintf(err, errcap, "spool entry %" PRIu64 " is not a spool entry", c.bad_index);
		rc = VL_ECORRUPT;
		goto fail;
	}
	if (rc < 0) {
		snprintf(err, errcap, "cannot read the spool: %s: %s", vl_strerror(rc),
		         vl_log_message(s->log));
		goto fail;
	}
	s->pending_bytes = c.pending_bytes;
	*out = s;
	return 0;
fail:
	vl_log_close(s->log);
	spool_free(s);
	return rc;
}

int va_spool_close(va_spool *s)
{
	if (!s)
		return 0;
	int rc = va_spool_maintain(s, 1);
	int rc2 = vl_log_close(s->log);
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
	if (rc == 0)
		o->pos = *last;
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
	int rc = write_forwarded(s, next);
	if (rc < 0)
		return rc;
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

int va_spool_maintain(va_spool *s, int checkpoint)
{
	int rc = vl_log_flush(s->log);
	uint64_t size = vl_log_size(s->log);
	if (rc == 0 && checkpoint && size != s->checkpointed) {
		rc = vl_log_checkpoint(s->log, NULL);
		if (rc == 0)
			s->checkpointed = size;
	}
	pthread_mutex_lock(&s->append_mu);
	int rc2 = write_positions_locked(s);
	pthread_mutex_unlock(&s->append_mu);
	return rc < 0 ? rc : rc2;
}

vl_log *va_spool_log(va_spool *s)
{
	return s->log;
}
