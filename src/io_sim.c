/*
 * io_sim.c — the deterministic storage-fault simulator behind io_sim.h:
 * an in-memory file system with a page cache, injected faults and power
 * loss.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The fault model.
 *
 * Files are inodes, as in POSIX: a descriptor names an inode, so renaming
 * or unlinking an open file does not disturb it.  Every regular file has a
 * durable image (what survives power loss) and an ordered list of pending
 * writes and truncations; readers see the durable image with the pending
 * list applied in order (the page cache, kept materialised).  fsync and
 * fdatasync of a file move its pending list into its durable image; they
 * say nothing about the file's name.
 *
 * Directories likewise have a current and a durable table of entries.
 * Creating, renaming, unlinking and mkdir change the current table at once
 * and append to one ordered list of pending directory operations.
 * fsync_dir(D) makes durable every pending operation on D's entries, plus,
 * transitively, the earlier operations those depend on (ones on the same
 * directories or on the same inode), in order — so a rename never lands
 * before the creation of what it renames.  It does not make D's own name
 * in its parent durable, exactly as POSIX requires a separate fsync of the
 * parent.  sync_all makes everything durable.
 *
 * Faults (struct vl_sim_faults): pwrite fails with EIO or ENOSPC having
 * written nothing, or writes short; fsync/fdatasync fail with EIO the
 * Linux way — the file's pending writes are dropped from what will become
 * durable while the page cache keeps showing them until a crash, and the
 * next fsync of that file reports success (the error was consumed); pread
 * fails with EIO or returns one flipped bit (transient, the next read is
 * right); rename, fsync_dir and open fail with EIO having done nothing.
 * Any kind of call can also be made to fail exactly at its Nth occurrence.
 *
 * Power loss.  vl_sim_crash_at(n) makes the Nth I/O call from now and all
 * later ones fail with EIO; a pwrite or rename cut off that way is left
 * pending, since the disk may have seen it.  vl_sim_crash() then resolves
 * each pending write independently: kept, dropped, torn (a prefix or a
 * random subset of its 512-byte or 4 KiB sectors lands, the others keep
 * their old bytes, or zeros past the old end; the file size may or may not
 * cover the lost sectors), or garbled (some sectors hold random bytes).
 * Each pending truncation is kept or dropped.  A random prefix of the
 * pending directory operations is kept, in order.  Files no longer
 * reachable from "/" disappear, descriptors die, and the fault plan is
 * cleared.
 *
 * Not modelled: permissions and ownership, hard links, sparse files (holes
 * read as zeros and take memory), a capacity limit (ENOSPC only by
 * injection), errors that persist on a sector (every read fault is
 * transient), syncfs reporting an earlier writeback error, timestamps and
 * metadata other than size and mode, and thread interleavings inside a
 * call (one mutex serialises the simulator).
 *
 * Determinism: four xoshiro256** streams derived from the one seed (fault
 * draws, crash resolution, vl_io.random, directory listing order), so
 * enabling one fault does not reshuffle how a crash tears writes.
 * Directory listings come in a seeded random order, because readdir order
 * is unspecified and nothing may depend on it.
 */
#include "io_sim.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NONE UINT32_MAX
#define SIM_NAME_MAX 255
#define SIM_PATH_MAX 4096
#define SIM_FILE_MAX (1ull << 32) /* larger offsets are a caller bug: -EFBIG */
#define OPLOG_N 32
#define OPLOG_LINE 200
#define CLOCK_START_NS INT64_C(1767225600000000000) /* 2026-01-01T00:00:00Z */
#define CLOCK_STEP_NS INT64_C(1000000)

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64 to seed, xoshiro256** to draw.                     */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n == 0 gives 0. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* Lemire's bias-free method would be overkill: n is tiny next to 2^64. */
	return rng_next(r) % n;
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static void rng_fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		uint64_t v = rng_next(r);
		size_t n = len < 8 ? len : 8;
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/* ------------------------------------------------------------------ */
/* Data structures.                                                    */

struct buf {
	uint8_t *p;
	uint64_t len, cap;
};

enum { PEND_WRITE, PEND_TRUNC };

struct pend {
	int kind;
	uint64_t off; /* PEND_TRUNC: the new size */
	uint64_t len;
	uint8_t *data;
};

struct dent {
	char *name;
	uint32_t ino;
};

struct dir {
	struct dent *e;
	size_t n, cap;
};

struct inode {
	int is_dir;
	unsigned mode;
	/* regular files */
	struct buf cur, dur;
	struct pend *pend;
	size_t npend, cappend;
	int sync_error_consumed;
	/* directories */
	struct dir cur_d, dur_d;
	uint32_t parent; /* current parent, for rename loop checks */
	uint32_t mark;   /* scratch for walks */
};

enum { DOP_LINK, DOP_UNLINK, DOP_RENAME };

/* LINK: ddir/dname = ino.  UNLINK: drop sdir/sname if it is ino.
 * RENAME: ddir/dname = ino and drop sdir/sname if it is ino. */
struct dirop {
	int kind;
	uint32_t sdir, ddir, ino;
	char *sname, *dname;
};

struct fdesc {
	int fd;
	int flags;
	uint32_t ino;
	char *path;
};

struct vl_sim {
	pthread_mutex_t mu;
	vl_io io;
	uint64_t seed;
	struct rng rf, rc, rr, rm;

	struct inode **ino;
	size_t nino, capino;

	struct dirop *ops;
	size_t nops, capops;

	struct fdesc *fds;
	size_t nfds, capfds;
	int next_fd;

	vl_sim_faults f;
	uint64_t nth_seen;
	uint64_t countdown;
	int powered_off;

	int64_t clock;
	uint64_t count[VL_SIM_NOPS];
	uint64_t fail[VL_SIM_NOPS];

	char oplog[OPLOG_N][OPLOG_LINE];
	uint64_t nlog;
	FILE *trace;
};

static const char *const op_names[VL_SIM_NOPS] = {
	"open", "close", "pread", "pwrite", "fsync", "fdatasync", "ftruncate",
	"file_size", "rename", "unlink", "mkdir", "fsync_dir", "sync_all",
	"list_dir", "stat", "now_ns", "random",
};

const char *vl_sim_op_name(vl_sim_op op)
{
	if ((unsigned)op >= VL_SIM_NOPS)
		return "?";
	return op_names[op];
}

static void lock(const struct vl_sim *s)
{
	pthread_mutex_lock((pthread_mutex_t *)&s->mu);
}

static void unlock(const struct vl_sim *s)
{
	pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}

/* ------------------------------------------------------------------ */
/* Byte buffers.                                                       */

static int buf_reserve(struct buf *b, uint64_t len)
{
	if (len <= b->cap)
		return 0;
	uint64_t cap = b->cap ? b->cap : 256;
	while (cap < len)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Set the length, zero-filling any growth. */
static int buf_resize(struct buf *b, uint64_t len)
{
	if (len > b->len) {
		int rc = buf_reserve(b, len);
		if (rc)
			return rc;
		memset(b->p + b->len, 0, len - b->len);
	}
	b->len = len;
	return 0;
}

static int buf_write(struct buf *b, uint64_t off, const void *data, uint64_t len)
{
	if (len == 0)
		return 0;
	if (off + len > b->len) {
		int rc = buf_resize(b, off + len);
		if (rc)
			return rc;
	}
	memcpy(b->p + off, data, len);
	return 0;
}

static int buf_copy(struct buf *dst, const struct buf *src)
{
	int rc = buf_reserve(dst, src->len);
	if (rc)
		return rc;
	if (src->len)
		memcpy(dst->p, src->p, src->len);
	dst->len = src->len;
	return 0;
}

static int pend_apply(struct buf *b, const struct pend *p)
{
	if (p->kind == PEND_TRUNC)
		return buf_resize(b, p->off);
	return buf_write(b, p->off, p->data, p->len);
}

static void pend_clear(struct inode *in)
{
	for (size_t i = 0; i < in->npend; i++)
		free(in->pend[i].data);
	in->npend = 0;
}

static int pend_push(struct inode *in, int kind, uint64_t off, const void *data, uint64_t len)
{
	if (in->npend == in->cappend) {
		size_t cap = in->cappend ? in->cappend * 2 : 8;
		struct pend *p = realloc(in->pend, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		in->pend = p;
		in->cappend = cap;
	}
	struct pend *p = &in->pend[in->npend];
	p->kind = kind;
	p->off = off;
	p->len = len;
	p->data = NULL;
	if (kind == PEND_WRITE && len > 0) {
		p->data = malloc(len);
		if (!p->data)
			return -ENOMEM;
		memcpy(p->data, data, len);
	}
	in->npend++;
	return 0;
}

/* The page cache after a tamper of the durable image: as if dropped and
 * read back. */
static int rebuild_cache(struct inode *in)
{
	int rc = buf_copy(&in->cur, &in->dur);
	for (size_t i = 0; rc == 0 && i < in->npend; i++)
		rc = pend_apply(&in->cur, &in->pend[i]);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Directory tables, sorted by name bytes.                             */

static int name_cmp(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Index of name, or of where it would go with *found = 0. */
static size_t dir_find(const struct dir *d, const char *name, size_t len, int *found)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, len, d->e[mid].name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = 0;
	return lo;
}

static uint32_t dir_get(const struct dir *d, const char *name, size_t len)
{
	int found;
	size_t i = dir_find(d, name, len, &found);
	return found ? d->e[i].ino : NONE;
}

static int dir_set(struct dir *d, const char *name, uint32_t ino)
{
	int found;
	size_t len = strlen(name);
	size_t i = dir_find(d, name, len, &found);
	if (found) {
		d->e[i].ino = ino;
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct dent *e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		d->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	memmove(&d->e[i + 1], &d->e[i], (d->n - i) * sizeof(d->e[0]));
	d->e[i].name = copy;
	d->e[i].ino = ino;
	d->n++;
	return 0;
}

/* Remove name if it maps to ino (any ino when ino == NONE). */
static void dir_del(struct dir *d, const char *name, uint32_t ino)
{
	int found;
	size_t i = dir_find(d, name, strlen(name), &found);
	if (!found || (ino != NONE && d->e[i].ino != ino))
		return;
	free(d->e[i].name);
	memmove(&d->e[i], &d->e[i + 1], (d->n - i - 1) * sizeof(d->e[0]));
	d->n--;
}

static void dir_clear(struct dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	d->n = 0;
}

static int dir_copy(struct dir *dst, const struct dir *src)
{
	dir_clear(dst);
	if (src->n > dst->cap) {
		struct dent *e = realloc(dst->e, src->n * sizeof(*e));
		if (!e)
			return -ENOMEM;
		dst->e = e;
		dst->cap = src->n;
	}
	for (size_t i = 0; i < src->n; i++) {
		dst->e[i].name = strdup(src->e[i].name);
		if (!dst->e[i].name) {
			dst->n = i;
			return -ENOMEM;
		}
		dst->e[i].ino = src->e[i].ino;
	}
	dst->n = src->n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Inodes.                                                             */

static void inode_free(struct inode *in)
{
	if (!in)
		return;
	free(in->cur.p);
	free(in->dur.p);
	pend_clear(in);
	free(in->pend);
	dir_clear(&in->cur_d);
	dir_clear(&in->dur_d);
	free(in->cur_d.e);
	free(in->dur_d.e);
	free(in);
}

static uint32_t inode_new(struct vl_sim *s, int is_dir, unsigned mode)
{
	if (s->nino >= NONE - 1)
		return NONE;
	if (s->nino == s->capino) {
		size_t cap = s->capino ? s->capino * 2 : 64;
		struct inode **p = realloc(s->ino, cap * sizeof(*p));
		if (!p)
			return NONE;
		s->ino = p;
		s->capino = cap;
	}
	struct inode *in = calloc(1, sizeof(*in));
	if (!in)
		return NONE;
	in->is_dir = is_dir;
	in->mode = (is_dir ? S_IFDIR : S_IFREG) | (mode & 07777);
	in->parent = NONE;
	s->ino[s->nino] = in;
	return (uint32_t)s->nino++;
}

static struct inode *I(const struct vl_sim *s, uint32_t ino)
{
	return s->ino[ino];
}

static struct dir *dirof(const struct vl_sim *s, uint32_t ino, int durable)
{
	struct inode *in = I(s, ino);
	return durable ? &in->dur_d : &in->cur_d;
}

/* ------------------------------------------------------------------ */
/* Paths.                                                              */

struct loc {
	uint32_t dir; /* parent directory; NONE for "/" */
	uint32_t ino; /* the entry; NONE if absent */
	int trailing; /* the path ended in '/' */
	char name[SIM_NAME_MAX + 1];
};

/*
 * Resolve a path lexically ("//" and "." collapse, ".." pops) in the
 * current or durable tree.  Every component but the last must be an
 * existing directory; the last may be absent.
 */
static int resolve(const struct vl_sim *s, const char *path, int durable, struct loc *l)
{
	if (!path)
		return -EFAULT;
	size_t plen = strlen(path);
	if (plen == 0)
		return -ENOENT;
	if (plen >= SIM_PATH_MAX)
		return -ENAMETOOLONG;
	const char *comp[SIM_PATH_MAX / 2 + 1];
	size_t clen[SIM_PATH_MAX / 2 + 1];
	size_t n = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - start);
		if (len > SIM_NAME_MAX)
			return -ENAMETOOLONG;
		if (len == 1 && start[0] == '.')
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.') {
			if (n > 0)
				n--;
			continue;
		}
		comp[n] = start;
		clen[n] = len;
		n++;
	}
	l->trailing = path[plen - 1] == '/';
	if (n == 0) {
		l->dir = NONE;
		l->ino = 0;
		l->name[0] = '\0';
		return 0;
	}
	uint32_t cur = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t child = dir_get(dirof(s, cur, durable), comp[i], clen[i]);
		if (child == NONE)
			return -ENOENT;
		if (!I(s, child)->is_dir)
			return -ENOTDIR;
		cur = child;
	}
	l->dir = cur;
	memcpy(l->name, comp[n - 1], clen[n - 1]);
	l->name[clen[n - 1]] = '\0';
	l->ino = dir_get(dirof(s, cur, durable), comp[n - 1], clen[n - 1]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Pending directory operations.                                       */

static int dirop_push(struct vl_sim *s, int kind, uint32_t sdir, const char *sname,
                      uint32_t ddir, const char *dname, uint32_t ino)
{
	if (s->nops == s->capops) {
		size_t cap = s->capops ? s->capops * 2 : 32;
		struct dirop *p = realloc(s->ops, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->ops = p;
		s->capops = cap;
	}
	struct dirop *op = &s->ops[s->nops];
	op->kind = kind;
	op->sdir = sdir;
	op->ddir = ddir;
	op->ino = ino;
	op->sname = sname ? strdup(sname) : NULL;
	op->dname = dname ? strdup(dname) : NULL;
	if ((sname && !op->sname) || (dname && !op->dname)) {
		free(op->sname);
		free(op->dname);
		return -ENOMEM;
	}
	s->nops++;
	return 0;
}

static void dirop_free(struct dirop *op)
{
	free(op->sname);
	free(op->dname);
}

static int dirop_apply_durable(struct vl_sim *s, const struct dirop *op)
{
	switch (op->kind) {
	case DOP_LINK:
		return dir_set(&I(s, op->ddir)->dur_d, op->dname, op->ino);
	case DOP_UNLINK:
		dir_del(&I(s, op->sdir)->dur_d, op->sname, op->ino);
		return 0;
	default: {
		/* Drop the source first: a rename onto its own name is a no-op. */
		dir_del(&I(s, op->sdir)->dur_d, op->sname, op->ino);
		return dir_set(&I(s, op->ddir)->dur_d, op->dname, op->ino);
	}
	}
}

static int set_has(const uint32_t *set, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

static int set_add(uint32_t **set, size_t *n, size_t *cap, uint32_t v)
{
	if (v == NONE || set_has(*set, *n, v))
		return 0;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		uint32_t *p = realloc(*set, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*set = p;
		*cap = c;
	}
	(*set)[(*n)++] = v;
	return 0;
}

/*
 * Make durable the pending operations on directory x's entries and,
 * transitively, the earlier ones they depend on: those on the same
 * directories, and those that linked the same inode.
 */
static int commit_dir(struct vl_sim *s, uint32_t x)
{
	if (s->nops == 0)
		return 0;
	uint32_t *dirs = NULL, *inos = NULL;
	size_t nd = 0, cd = 0, ni = 0, ci = 0;
	char *mark = calloc(s->nops, 1);
	int rc = mark ? set_add(&dirs, &nd, &cd, x) : -ENOMEM;
	for (size_t k = s->nops; rc == 0 && k-- > 0;) {
		const struct dirop *op = &s->ops[k];
		int hit = set_has(dirs, nd, op->ddir) || (op->sdir != NONE && set_has(dirs, nd, op->sdir)) ||
		          set_has(inos, ni, op->ino);
		if (!hit)
			continue;
		mark[k] = 1;
		rc = set_add(&dirs, &nd, &cd, op->sdir);
		if (rc == 0)
			rc = set_add(&dirs, &nd, &cd, op->ddir);
		if (rc == 0)
			rc = set_add(&inos, &ni, &ci, op->ino);
	}
	if (rc == 0) {
		size_t w = 0;
		for (size_t k = 0; k < s->nops; k++) {
			if (mark[k]) {
				int r = dirop_apply_durable(s, &s->ops[k]);
				if (r && rc == 0)
					rc = r;
				dirop_free(&s->ops[k]);
			} else {
				s->ops[w++] = s->ops[k];
			}
		}
		s->nops = w;
	}
	free(mark);
	free(dirs);
	free(inos);
	return rc;
}

static int commit_file(struct inode *in)
{
	int rc = 0;
	for (size_t i = 0; i < in->npend; i++) {
		int r = pend_apply(&in->dur, &in->pend[i]);
		if (r && rc == 0)
			rc = r;
	}
	pend_clear(in);
	return rc;
}

static int commit_all(struct vl_sim *s)
{
	int rc = 0;
	for (size_t k = 0; k < s->nops; k++) {
		int r = dirop_apply_durable(s, &s->ops[k]);
		if (r && rc == 0)
			rc = r;
		dirop_free(&s->ops[k]);
	}
	s->nops = 0;
	for (size_t i = 0; i < s->nino; i++) {
		struct inode *in = s->ino[i];
		if (in && !in->is_dir) {
			int r = commit_file(in);
			if (r && rc == 0)
				rc = r;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Descriptors.                                                        */

static struct fdesc *fd_get(struct vl_sim *s, int fd)
{
	for (size_t i = 0; i < s->nfds; i++)
		if (s->fds[i].fd == fd)
			return &s->fds[i];
	return NULL;
}

static int fd_new(struct vl_sim *s, uint32_t ino, int flags, const char *path)
{
	if (s->next_fd == INT32_MAX)
		return -EMFILE;
	if (s->nfds == s->capfds) {
		size_t cap = s->capfds ? s->capfds * 2 : 16;
		struct fdesc *p = realloc(s->fds, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->fds = p;
		s->capfds = cap;
	}
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	struct fdesc *d = &s->fds[s->nfds++];
	d->fd = s->next_fd++;
	d->flags = flags;
	d->ino = ino;
	d->path = copy;
	return d->fd;
}

static void fd_release(struct vl_sim *s, struct fdesc *d)
{
	free(d->path);
	*d = s->fds[--s->nfds];
}

static void fd_clear(struct vl_sim *s)
{
	for (size_t i = 0; i < s->nfds; i++)
		free(s->fds[i].path);
	s->nfds = 0;
}

/* ------------------------------------------------------------------ */
/* Call bookkeeping and fault decisions.                               */

static void oplog(struct vl_sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void oplog(struct vl_sim *s, const char *fmt, ...)
{
	char *line = s->oplog[s->nlog % OPLOG_N];
	int n = snprintf(line, OPLOG_LINE, "#%" PRIu64 " ", s->nlog + 1);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && n < OPLOG_LINE)
		vsnprintf(line + n, (size_t)(OPLOG_LINE - n), fmt, ap);
	va_end(ap);
	s->nlog++;
	if (s->trace)
		fprintf(s->trace, "sim: %s\n", line);
}

enum { GO = 0, CUT = 1 };

/*
 * Count the call and apply lost power.  Returns GO, CUT (power is lost
 * during this very call) or -EIO (power was already lost).
 */
static int enter(struct vl_sim *s, vl_sim_op op)
{
	s->count[op]++;
	if (op == VL_SIM_NOW_NS || op == VL_SIM_RANDOM)
		return GO;
	if (s->powered_off)
		return -EIO;
	if (s->countdown && --s->countdown == 0) {
		s->powered_off = 1;
		return CUT;
	}
	return GO;
}

/* The exact fault for this call: 0 or a negative error / pseudo-error. */
static int exact_fault(struct vl_sim *s, vl_sim_op op)
{
	if (s->f.nth == 0 || s->f.op != op)
		return 0;
	uint64_t k = ++s->nth_seen;
	if (k == s->f.nth || (s->f.persist && k > s->f.nth)) {
		if (s->f.err == VL_SIM_ERR_SHORT)
			return op == VL_SIM_PWRITE ? s->f.err : -EIO;
		if (s->f.err == VL_SIM_ERR_FLIP)
			return op == VL_SIM_PREAD ? s->f.err : -EIO;
		return s->f.err > 0 ? -s->f.err : -EIO;
	}
	return 0;
}

static int chance(struct vl_sim *s, double p)
{
	if (!(p > 0))
		return 0;
	return rng_unit(&s->rf) < p;
}

static int failed(struct vl_sim *s, vl_sim_op op, int err)
{
	s->fail[op]++;
	return err;
}

/* ------------------------------------------------------------------ */
/* The vl_io members.                                                  */

static int sim_open(void *ctx, const char *path, int flags, unsigned mode)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_OPEN);
	struct loc l;
	if (rc != GO) {
		rc = failed(s, VL_SIM_OPEN, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	uint32_t ino = l.ino;
	struct inode *in = ino != NONE ? I(s, ino) : NULL;
	if (in && (flags & VL_O_CREAT) && (flags & VL_O_EXCL))
		rc = -EEXIST;
	else if (in && in->is_dir && (flags & (VL_O_RDWR | VL_O_TRUNC)))
		rc = -EISDIR;
	else if (in && !in->is_dir && ((flags & VL_O_DIRECTORY) || l.trailing))
		rc = -ENOTDIR;
	else if (!in && !(flags & VL_O_CREAT))
		rc = -ENOENT;
	else if (!in && (l.dir == NONE || (flags & VL_O_DIRECTORY)))
		rc = -EINVAL;
	else if (!in && l.trailing)
		rc = -EISDIR;
	if (rc)
		goto out;
	/* Misuse is reported as such; the medium fails only real work. */
	int e = exact_fault(s, VL_SIM_OPEN);
	if (e < 0 || chance(s, s->f.open_eio)) {
		rc = failed(s, VL_SIM_OPEN, e < 0 ? e : -EIO);
		goto out;
	}
	if (in) {
		if (!in->is_dir && (flags & VL_O_TRUNC) && (flags & VL_O_RDWR)) {
			rc = buf_resize(&in->cur, 0);
			if (rc == 0)
				rc = pend_push(in, PEND_TRUNC, 0, NULL, 0);
			if (rc)
				goto out;
		}
	} else {
		ino = inode_new(s, 0, mode);
		if (ino == NONE) {
			rc = -ENOMEM;
			goto out;
		}
		rc = dir_set(&I(s, l.dir)->cur_d, l.name, ino);
		if (rc == 0)
			rc = dirop_push(s, DOP_LINK, NONE, NULL, l.dir, l.name, ino);
		if (rc)
			goto out;
	}
	rc = fd_new(s, ino, flags, path);
out:
	oplog(s, "open %s flags=%#x -> %d", path ? path : "(null)", (unsigned)flags, rc);
	unlock(s);
	return rc;
}

static int sim_close(void *ctx, int fd)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_CLOSE);
	struct fdesc *d = fd_get(s, fd);
	const char *path = d ? d->path : "?";
	oplog(s, "close %d (%s)", fd, path);
	if (!d) {
		rc = -EBADF;
	} else {
		/* The descriptor goes away even when power is lost, as close(2)
		 * always releases it. */
		fd_release(s, d);
		rc = rc == GO ? 0 : failed(s, VL_SIM_CLOSE, -EIO);
	}
	unlock(s);
	return rc;
}

static ssize_t sim_pread(void *ctx, int fd, void *buf, size_t len, uint64_t offset)
{
	struct vl_sim *s = ctx;
	lock(s);
	ssize_t rc = enter(s, VL_SIM_PREAD);
	struct fdesc *d = fd_get(s, fd);
	if (rc != GO) {
		rc = failed(s, VL_SIM_PREAD, -EIO);
		goto out;
	}
	if (!d) {
		rc = -EBADF;
		goto out;
	}
	struct inode *in = I(s, d->ino);
	if (in->is_dir) {
		rc = -EISDIR;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_PREAD);
	if ((e < 0 && e != VL_SIM_ERR_FLIP) || chance(s, s->f.read_eio)) {
		rc = failed(s, VL_SIM_PREAD, e < 0 ? e : -EIO);
		goto out;
	}
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	uint64_t n = 0;
	if (offset < in->cur.len) {
		n = in->cur.len - offset;
		if (n > len)
			n = len;
		memcpy(buf, in->cur.p + offset, n);
	}
	if (n > 0 && (e == VL_SIM_ERR_FLIP || chance(s, s->f.read_flip))) {
		uint64_t bit = rng_below(&s->rf, n * 8);
		((uint8_t *)buf)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		s->fail[VL_SIM_PREAD]++;
	}
	rc = (ssize_t)n;
out:
	oplog(s, "pread %d (%s) off=%" PRIu64 " len=%zu -> %zd", fd, d ? d->path : "?", offset,
	      len, rc);
	unlock(s);
	return rc;
}

static ssize_t sim_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t offset)
{
	struct vl_sim *s = ctx;
	lock(s);
	int st = enter(s, VL_SIM_PWRITE);
	ssize_t rc = 0;
	struct fdesc *d = fd_get(s, fd);
	if (st < 0) {
		rc = failed(s, VL_SIM_PWRITE, -EIO);
		goto out;
	}
	if (!d || !(d->flags & VL_O_RDWR)) {
		rc = st == CUT ? failed(s, VL_SIM_PWRITE, -EIO) : -EBADF;
		goto out;
	}
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (offset >= SIM_FILE_MAX || len > SIM_FILE_MAX - offset) {
		rc = st == CUT ? failed(s, VL_SIM_PWRITE, -EIO) : -EFBIG;
		goto out;
	}
	struct inode *in = I(s, d->ino);
	if (st == CUT) {
		/* The write was in flight when power went: the disk may have
		 * any part of it, which is for vl_sim_crash() to decide. */
		if (len > 0)
			pend_push(in, PEND_WRITE, offset, buf, len);
		rc = failed(s, VL_SIM_PWRITE, -EIO);
		goto out;
	}
	if (len == 0)
		goto out;
	int e = exact_fault(s, VL_SIM_PWRITE);
	if ((e < 0 && e != VL_SIM_ERR_SHORT) || (e == 0 && chance(s, s->f.write_eio))) {
		rc = failed(s, VL_SIM_PWRITE, e < 0 ? e : -EIO);
		goto out;
	}
	if (e == 0 && chance(s, s->f.write_enospc)) {
		rc = failed(s, VL_SIM_PWRITE, -ENOSPC);
		goto out;
	}
	size_t n = len;
	if (len > 1 && (e == VL_SIM_ERR_SHORT || chance(s, s->f.write_short)))
		n = 1 + (size_t)rng_below(&s->rf, len - 1);
	rc = buf_write(&in->cur, offset, buf, n);
	if (rc == 0)
		rc = pend_push(in, PEND_WRITE, offset, buf, n);
	if (rc == 0)
		rc = (ssize_t)n;
out:
	oplog(s, "pwrite %d (%s) off=%" PRIu64 " len=%zu -> %zd", fd, d ? d->path : "?", offset,
	      len, rc);
	unlock(s);
	return rc;
}

static int do_sync(struct vl_sim *s, int fd, vl_sim_op op)
{
	lock(s);
	int rc = enter(s, op);
	struct fdesc *d = fd_get(s, fd);
	if (rc != GO) {
		rc = failed(s, op, -EIO);
		goto out;
	}
	if (!d) {
		rc = -EBADF;
		goto out;
	}
	struct inode *in = I(s, d->ino);
	int e = exact_fault(s, op);
	if (e == 0 && !in->sync_error_consumed && chance(s, s->f.sync_eio))
		e = -EIO;
	if (e < 0) {
		/* Linux: writeback failed, the dirty pages are marked clean
		 * and their data never reaches the disk, yet stays readable
		 * until evicted; the error is reported once. */
		if (!in->is_dir) {
			pend_clear(in);
			in->sync_error_consumed = 1;
		}
		rc = failed(s, op, e);
		goto out;
	}
	in->sync_error_consumed = 0;
	rc = in->is_dir ? commit_dir(s, d->ino) : commit_file(in);
out:
	oplog(s, "%s %d (%s) -> %d", vl_sim_op_name(op), fd, d ? d->path : "?", rc);
	unlock(s);
	return rc;
}

static int sim_fsync(void *ctx, int fd)
{
	return do_sync(ctx, fd, VL_SIM_FSYNC);
}

static int sim_fdatasync(void *ctx, int fd)
{
	return do_sync(ctx, fd, VL_SIM_FDATASYNC);
}

static int sim_ftruncate(void *ctx, int fd, uint64_t size)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_FTRUNCATE);
	struct fdesc *d = fd_get(s, fd);
	if (rc != GO) {
		rc = failed(s, VL_SIM_FTRUNCATE, -EIO);
		goto out;
	}
	if (!d || !(d->flags & VL_O_RDWR)) {
		rc = -EBADF;
		goto out;
	}
	if (size >= SIM_FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_FTRUNCATE);
	if (e < 0) {
		rc = failed(s, VL_SIM_FTRUNCATE, e);
		goto out;
	}
	struct inode *in = I(s, d->ino);
	rc = buf_resize(&in->cur, size);
	if (rc == 0)
		rc = pend_push(in, PEND_TRUNC, size, NULL, 0);
out:
	oplog(s, "ftruncate %d (%s) size=%" PRIu64 " -> %d", fd, d ? d->path : "?", size, rc);
	unlock(s);
	return rc;
}

static int sim_file_size(void *ctx, int fd, uint64_t *size)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_FILE_SIZE);
	struct fdesc *d = fd_get(s, fd);
	if (rc != GO) {
		rc = failed(s, VL_SIM_FILE_SIZE, -EIO);
		goto out;
	}
	if (!d) {
		rc = -EBADF;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_FILE_SIZE);
	if (e < 0) {
		rc = failed(s, VL_SIM_FILE_SIZE, e);
		goto out;
	}
	struct inode *in = I(s, d->ino);
	if (size)
		*size = in->is_dir ? 4096 : in->cur.len;
out:
	oplog(s, "file_size %d (%s) -> %d", fd, d ? d->path : "?", rc);
	unlock(s);
	return rc;
}

/* Is directory a an ancestor of (or equal to) directory b? */
static int is_ancestor(const struct vl_sim *s, uint32_t a, uint32_t b)
{
	for (uint32_t x = b; x != NONE; x = I(s, x)->parent)
		if (x == a)
			return 1;
	return 0;
}

static int sim_rename(void *ctx, const char *from, const char *to)
{
	struct vl_sim *s = ctx;
	lock(s);
	int st = enter(s, VL_SIM_RENAME);
	int rc = 0;
	struct loc a, b;
	if (st < 0) {
		rc = failed(s, VL_SIM_RENAME, -EIO);
		goto out;
	}
	rc = resolve(s, from, 0, &a);
	if (rc == 0)
		rc = resolve(s, to, 0, &b);
	if (rc)
		goto out;
	if (a.ino == NONE) {
		rc = -ENOENT;
		goto out;
	}
	if (a.dir == NONE || b.dir == NONE) {
		rc = -EBUSY;
		goto out;
	}
	struct inode *src = I(s, a.ino);
	if (!src->is_dir && (a.trailing || b.trailing)) {
		rc = -ENOTDIR;
		goto out;
	}
	if (a.ino == b.ino)
		goto out; /* POSIX: the same file, nothing happens */
	if (b.ino != NONE) {
		struct inode *dst = I(s, b.ino);
		if (src->is_dir && !dst->is_dir) {
			rc = -ENOTDIR;
			goto out;
		}
		if (!src->is_dir && dst->is_dir) {
			rc = -EISDIR;
			goto out;
		}
		if (dst->is_dir && dst->cur_d.n > 0) {
			rc = -ENOTEMPTY;
			goto out;
		}
	}
	if (src->is_dir && is_ancestor(s, a.ino, b.dir)) {
		rc = -EINVAL;
		goto out;
	}
	if (st == CUT) {
		/* Cut off mid-call: the journal may or may not have it. */
		dirop_push(s, DOP_RENAME, a.dir, a.name, b.dir, b.name, a.ino);
		rc = failed(s, VL_SIM_RENAME, -EIO);
		goto out;
	}
	int e = exact_fault(s, VL_SIM_RENAME);
	if (e < 0 || chance(s, s->f.rename_eio)) {
		rc = failed(s, VL_SIM_RENAME, e < 0 ? e : -EIO);
		goto out;
	}
	dir_del(&I(s, a.dir)->cur_d, a.name, a.ino);
	rc = dir_set(&I(s, b.dir)->cur_d, b.name, a.ino);
	if (rc == 0 && src->is_dir)
		src->parent = b.dir;
	if (rc == 0)
		rc = dirop_push(s, DOP_RENAME, a.dir, a.name, b.dir, b.name, a.ino);
out:
	if (st == CUT && rc != -EIO)
		rc = failed(s, VL_SIM_RENAME, -EIO); /* power went before it could fail */
	oplog(s, "rename %s -> %s -> %d", from ? from : "(null)", to ? to : "(null)", rc);
	unlock(s);
	return rc;
}

static int sim_unlink(void *ctx, const char *path)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_UNLINK);
	struct loc l;
	if (rc != GO) {
		rc = failed(s, VL_SIM_UNLINK, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.ino == NONE) {
		rc = -ENOENT;
		goto out;
	}
	if (I(s, l.ino)->is_dir) {
		rc = -EISDIR;
		goto out;
	}
	if (l.trailing) {
		rc = -ENOTDIR;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_UNLINK);
	if (e < 0) {
		rc = failed(s, VL_SIM_UNLINK, e);
		goto out;
	}
	dir_del(&I(s, l.dir)->cur_d, l.name, l.ino);
	rc = dirop_push(s, DOP_UNLINK, l.dir, l.name, NONE, NULL, l.ino);
out:
	oplog(s, "unlink %s -> %d", path ? path : "(null)", rc);
	unlock(s);
	return rc;
}

static int sim_mkdir(void *ctx, const char *path, unsigned mode)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_MKDIR);
	struct loc l;
	if (rc != GO) {
		rc = failed(s, VL_SIM_MKDIR, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.ino != NONE) {
		rc = -EEXIST;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_MKDIR);
	if (e < 0) {
		rc = failed(s, VL_SIM_MKDIR, e);
		goto out;
	}
	uint32_t ino = inode_new(s, 1, mode);
	if (ino == NONE) {
		rc = -ENOMEM;
		goto out;
	}
	I(s, ino)->parent = l.dir;
	rc = dir_set(&I(s, l.dir)->cur_d, l.name, ino);
	if (rc == 0)
		rc = dirop_push(s, DOP_LINK, NONE, NULL, l.dir, l.name, ino);
out:
	oplog(s, "mkdir %s -> %d", path ? path : "(null)", rc);
	unlock(s);
	return rc;
}

static int sim_fsync_dir(void *ctx, const char *path)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_FSYNC_DIR);
	struct loc l;
	if (rc != GO) {
		rc = failed(s, VL_SIM_FSYNC_DIR, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.ino == NONE) {
		rc = -ENOENT;
		goto out;
	}
	if (!I(s, l.ino)->is_dir) {
		rc = -ENOTDIR;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_FSYNC_DIR);
	if (e < 0 || chance(s, s->f.fsync_dir_eio)) {
		rc = failed(s, VL_SIM_FSYNC_DIR, e < 0 ? e : -EIO);
		goto out;
	}
	rc = commit_dir(s, l.ino);
out:
	oplog(s, "fsync_dir %s -> %d", path ? path : "(null)", rc);
	unlock(s);
	return rc;
}

static int sim_sync_all(void *ctx, const char *path)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_SYNC_ALL);
	struct loc l;
	if (rc != GO) {
		rc = failed(s, VL_SIM_SYNC_ALL, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.ino == NONE) {
		rc = -ENOENT;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_SYNC_ALL);
	if (e < 0) {
		rc = failed(s, VL_SIM_SYNC_ALL, e);
		goto out;
	}
	rc = commit_all(s);
out:
	oplog(s, "sync_all %s -> %d", path ? path : "(null)", rc);
	unlock(s);
	return rc;
}

static int sim_list_dir(void *ctx, const char *path, vl_io_list_fn fn, void *arg)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_LIST_DIR);
	struct loc l;
	char **names = NULL;
	size_t n = 0;
	if (rc != GO) {
		rc = failed(s, VL_SIM_LIST_DIR, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.ino == NONE) {
		rc = -ENOENT;
		goto out;
	}
	if (!I(s, l.ino)->is_dir) {
		rc = -ENOTDIR;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_LIST_DIR);
	if (e < 0) {
		rc = failed(s, VL_SIM_LIST_DIR, e);
		goto out;
	}
	/* Copy the names so fn runs unlocked and may change the directory. */
	const struct dir *d = &I(s, l.ino)->cur_d;
	if (d->n) {
		names = calloc(d->n, sizeof(*names));
		if (!names) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (; n < d->n; n++) {
		names[n] = strdup(d->e[n].name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(&s->rm, i);
		char *t = names[i - 1];
		names[i - 1] = names[j];
		names[j] = t;
	}
out:
	oplog(s, "list_dir %s -> %d", path ? path : "(null)", rc);
	unlock(s);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = fn(arg, names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int sim_stat(void *ctx, const char *path, uint64_t *size, unsigned *mode)
{
	struct vl_sim *s = ctx;
	lock(s);
	int rc = enter(s, VL_SIM_STAT);
	struct loc l;
	if (rc != GO) {
		rc = failed(s, VL_SIM_STAT, -EIO);
		goto out;
	}
	rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.ino == NONE) {
		rc = -ENOENT;
		goto out;
	}
	struct inode *in = I(s, l.ino);
	if (!in->is_dir && l.trailing) {
		rc = -ENOTDIR;
		goto out;
	}
	int e = exact_fault(s, VL_SIM_STAT);
	if (e < 0) {
		rc = failed(s, VL_SIM_STAT, e);
		goto out;
	}
	if (size)
		*size = in->is_dir ? 4096 : in->cur.len;
	if (mode)
		*mode = in->mode;
out:
	oplog(s, "stat %s -> %d", path ? path : "(null)", rc);
	unlock(s);
	return rc;
}

static int64_t sim_now_ns(void *ctx)
{
	struct vl_sim *s = ctx;
	lock(s);
	enter(s, VL_SIM_NOW_NS);
	s->clock += CLOCK_STEP_NS;
	int64_t t = s->clock;
	unlock(s);
	return t;
}

static int sim_random(void *ctx, void *buf, size_t len)
{
	struct vl_sim *s = ctx;
	lock(s);
	enter(s, VL_SIM_RANDOM);
	int rc = exact_fault(s, VL_SIM_RANDOM);
	if (rc < 0)
		rc = failed(s, VL_SIM_RANDOM, rc);
	else
		rng_fill(&s->rr, buf, len);
	unlock(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Life cycle and controls.                                            */

vl_sim *vl_sim_new(uint64_t seed)
{
	struct vl_sim *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->mu, NULL)) {
		free(s);
		return NULL;
	}
	s->seed = seed;
	rng_seed(&s->rf, seed, 1);
	rng_seed(&s->rc, seed, 2);
	rng_seed(&s->rr, seed, 3);
	rng_seed(&s->rm, seed, 4);
	s->clock = CLOCK_START_NS;
	s->next_fd = 3; /* like a process with stdio open: 0 is never valid */
	if (inode_new(s, 1, 0755) != 0) {
		vl_sim_free(s);
		return NULL;
	}
	s->io = (vl_io){
		.ctx = s,
		.open = sim_open,
		.close = sim_close,
		.pread = sim_pread,
		.pwrite = sim_pwrite,
		.fsync = sim_fsync,
		.fdatasync = sim_fdatasync,
		.ftruncate = sim_ftruncate,
		.file_size = sim_file_size,
		.rename = sim_rename,
		.unlink = sim_unlink,
		.mkdir = sim_mkdir,
		.fsync_dir = sim_fsync_dir,
		.sync_all = sim_sync_all,
		.list_dir = sim_list_dir,
		.stat = sim_stat,
		.now_ns = sim_now_ns,
		.random = sim_random,
	};
	return s;
}

void vl_sim_free(vl_sim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nino; i++)
		inode_free(s->ino[i]);
	free(s->ino);
	for (size_t k = 0; k < s->nops; k++)
		dirop_free(&s->ops[k]);
	free(s->ops);
	fd_clear(s);
	free(s->fds);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

uint64_t vl_sim_seed(const vl_sim *s)
{
	return s->seed;
}

const vl_io *vl_sim_io(vl_sim *s)
{
	return &s->io;
}

void vl_sim_set_faults(vl_sim *s, const vl_sim_faults *f)
{
	lock(s);
	if (f)
		s->f = *f;
	else
		memset(&s->f, 0, sizeof(s->f));
	s->nth_seen = 0;
	unlock(s);
}

void vl_sim_crash_at(vl_sim *s, uint64_t n)
{
	lock(s);
	s->countdown = n;
	unlock(s);
}

int vl_sim_powered_off(const vl_sim *s)
{
	lock(s);
	int r = s->powered_off;
	unlock(s);
	return r;
}

/* ------------------------------------------------------------------ */
/* Crash.                                                              */

enum { FATE_KEEP, FATE_DROP, FATE_TORN, FATE_GARBLE };

static int pick_fate(struct vl_sim *s)
{
	unsigned w[4] = { s->f.crash_keep, s->f.crash_drop, s->f.crash_torn, s->f.crash_garble };
	if (!w[0] && !w[1] && !w[2] && !w[3]) {
		w[0] = 40;
		w[1] = 25;
		w[2] = 25;
		w[3] = 10;
	}
	uint64_t total = (uint64_t)w[0] + w[1] + w[2] + w[3];
	uint64_t r = rng_below(&s->rc, total);
	for (int i = 0; i < 4; i++) {
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return FATE_KEEP;
}

/* Land the part of write p that falls in sector [lo, hi), clipped. */
static int land_sector(struct buf *b, const struct pend *p, uint64_t lo, uint64_t hi,
                       int garble, struct rng *r)
{
	uint64_t s0 = p->off > lo ? p->off : lo;
	uint64_t e0 = p->off + p->len < hi ? p->off + p->len : hi;
	if (s0 >= e0)
		return 0;
	int rc = buf_write(b, s0, p->data + (s0 - p->off), e0 - s0);
	if (rc == 0 && garble)
		rng_fill(r, b->p + s0, e0 - s0);
	return rc;
}

static int resolve_write(struct vl_sim *s, struct buf *b, const struct pend *p)
{
	if (p->kind == PEND_TRUNC) {
		/* Metadata: it made the journal or it did not. */
		if (rng_below(&s->rc, 2))
			return buf_resize(b, p->off);
		return 0;
	}
	int fate = pick_fate(s);
	if (fate == FATE_KEEP)
		return buf_write(b, p->off, p->data, p->len);
	if (fate == FATE_DROP)
		return 0;
	uint64_t sec = rng_below(&s->rc, 2) ? 4096 : 512;
	uint64_t end = p->off + p->len;
	uint64_t first = p->off / sec, nsec = (end - 1) / sec - first + 1;
	uint64_t old_len = b->len;
	int rc = 0;
	if (fate == FATE_GARBLE) {
		/* A write that landed, but some sectors hold noise. */
		uint64_t sure = rng_below(&s->rc, nsec);
		for (uint64_t i = 0; rc == 0 && i < nsec; i++) {
			int g = i == sure || rng_below(&s->rc, 2);
			rc = land_sector(b, p, (first + i) * sec, (first + i + 1) * sec, g, &s->rc);
		}
		return rc;
	}
	int prefix = (int)rng_below(&s->rc, 2);
	uint64_t k = rng_below(&s->rc, nsec);
	for (uint64_t i = 0; rc == 0 && i < nsec; i++) {
		int land = prefix ? i < k : (int)rng_below(&s->rc, 2);
		if (land)
			rc = land_sector(b, p, (first + i) * sec, (first + i + 1) * sec, 0, NULL);
	}
	/* The size is metadata and may have been journalled without the
	 * data, leaving zeros where sectors did not land. */
	if (rc == 0 && end > old_len && rng_below(&s->rc, 2))
		rc = buf_resize(b, end > b->len ? end : b->len);
	return rc;
}

/* Mark everything reachable from "/" in the durable tree, dropping any
 * second link to a directory (a crash can never make one). */
static void mark_reachable(struct vl_sim *s, uint32_t dir, uint32_t gen)
{
	struct inode *d = I(s, dir);
	d->mark = gen;
	for (size_t i = 0; i < d->dur_d.n;) {
		uint32_t c = d->dur_d.e[i].ino;
		struct inode *in = I(s, c);
		if (in->is_dir && in->mark == gen) {
			dir_del(&d->dur_d, d->dur_d.e[i].name, c);
			continue;
		}
		in->mark = gen;
		if (in->is_dir) {
			in->parent = dir;
			mark_reachable(s, c, gen);
		}
		i++;
	}
}

void vl_sim_crash(vl_sim *s)
{
	lock(s);
	uint64_t keep;
	if (s->f.crash_dirops == VL_SIM_DIROPS_ALL)
		keep = s->nops;
	else if (s->f.crash_dirops == VL_SIM_DIROPS_NONE)
		keep = 0;
	else if (rng_below(&s->rc, 4) == 0)
		keep = 0;
	else if (rng_below(&s->rc, 3) == 0)
		keep = s->nops;
	else
		keep = rng_below(&s->rc, s->nops + 1);
	for (size_t k = 0; k < s->nops; k++) {
		if (k < keep)
			dirop_apply_durable(s, &s->ops[k]);
		dirop_free(&s->ops[k]);
	}
	s->nops = 0;

	const uint32_t gen = 1;
	for (size_t i = 0; i < s->nino; i++)
		if (s->ino[i])
			s->ino[i]->mark = 0;
	I(s, 0)->parent = NONE;
	mark_reachable(s, 0, gen);

	for (size_t i = 0; i < s->nino; i++) {
		struct inode *in = s->ino[i];
		if (!in)
			continue;
		if (in->mark != gen) {
			inode_free(in);
			s->ino[i] = NULL;
			continue;
		}
		if (in->is_dir) {
			dir_copy(&in->cur_d, &in->dur_d);
		} else {
			for (size_t k = 0; k < in->npend; k++)
				resolve_write(s, &in->dur, &in->pend[k]);
			pend_clear(in);
			buf_copy(&in->cur, &in->dur);
			in->sync_error_consumed = 0;
		}
	}
	fd_clear(s);
	memset(&s->f, 0, sizeof(s->f));
	s->nth_seen = 0;
	s->countdown = 0;
	s->powered_off = 0;
	oplog(s, "crash (kept %" PRIu64 " directory operations)", keep);
	unlock(s);
}

/* ------------------------------------------------------------------ */
/* Counters and the operation log.                                     */

uint64_t vl_sim_count(const vl_sim *s, vl_sim_op op)
{
	if ((unsigned)op >= VL_SIM_NOPS)
		return 0;
	lock(s);
	uint64_t n = s->count[op];
	unlock(s);
	return n;
}

uint64_t vl_sim_failures(const vl_sim *s, vl_sim_op op)
{
	if ((unsigned)op >= VL_SIM_NOPS)
		return 0;
	lock(s);
	uint64_t n = s->fail[op];
	unlock(s);
	return n;
}

uint64_t vl_sim_write_failures(const vl_sim *s)
{
	lock(s);
	uint64_t n = s->fail[VL_SIM_PWRITE] + s->fail[VL_SIM_FSYNC] + s->fail[VL_SIM_FDATASYNC] +
	             s->fail[VL_SIM_FTRUNCATE] + s->fail[VL_SIM_RENAME] +
	             s->fail[VL_SIM_FSYNC_DIR] + s->fail[VL_SIM_SYNC_ALL];
	unlock(s);
	return n;
}

size_t vl_sim_open_fds(const vl_sim *s)
{
	lock(s);
	size_t n = s->nfds;
	unlock(s);
	return n;
}

size_t vl_sim_oplog(const vl_sim *s, char *buf, size_t cap)
{
	if (cap == 0)
		return 0;
	lock(s);
	size_t w = 0;
	buf[0] = '\0';
	uint64_t first = s->nlog > OPLOG_N ? s->nlog - OPLOG_N : 0;
	for (uint64_t i = first; i < s->nlog && w + 1 < cap; i++) {
		int n = snprintf(buf + w, cap - w, "%s\n", s->oplog[i % OPLOG_N]);
		if (n < 0)
			break;
		w += (size_t)n < cap - w ? (size_t)n : cap - w - 1;
	}
	unlock(s);
	return w;
}

void vl_sim_trace(vl_sim *s, FILE *f)
{
	lock(s);
	s->trace = f;
	unlock(s);
}

/* ------------------------------------------------------------------ */
/* Setup and tamper helpers.                                           */

int vl_sim_mkdir_p(vl_sim *s, const char *path)
{
	if (!path || !*path)
		return -ENOENT;
	size_t len = strlen(path);
	if (len >= SIM_PATH_MAX)
		return -ENAMETOOLONG;
	char tmp[SIM_PATH_MAX];
	memcpy(tmp, path, len + 1);
	lock(s);
	int rc = 0;
	for (size_t i = 1; rc == 0 && i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		struct loc l;
		rc = resolve(s, tmp, 0, &l);
		if (rc == 0 && l.ino == NONE && l.dir != NONE) {
			uint32_t ino = inode_new(s, 1, 0755);
			if (ino == NONE) {
				rc = -ENOMEM;
			} else {
				I(s, ino)->parent = l.dir;
				rc = dir_set(&I(s, l.dir)->cur_d, l.name, ino);
				if (rc == 0)
					rc = dir_set(&I(s, l.dir)->dur_d, l.name, ino);
			}
		} else if (rc == 0 && !I(s, l.ino)->is_dir) {
			rc = -ENOTDIR;
		}
		tmp[i] = c;
	}
	unlock(s);
	return rc;
}

int vl_sim_write_file(vl_sim *s, const char *path, const void *data, size_t len)
{
	lock(s);
	struct loc l;
	int rc = resolve(s, path, 0, &l);
	if (rc)
		goto out;
	if (l.dir == NONE || l.trailing) {
		rc = -EISDIR;
		goto out;
	}
	uint32_t ino = l.ino;
	if (ino != NONE && I(s, ino)->is_dir) {
		rc = -EISDIR;
		goto out;
	}
	if (ino == NONE) {
		ino = inode_new(s, 0, 0600);
		if (ino == NONE) {
			rc = -ENOMEM;
			goto out;
		}
		rc = dir_set(&I(s, l.dir)->cur_d, l.name, ino);
		if (rc == 0)
			rc = dir_set(&I(s, l.dir)->dur_d, l.name, ino);
		if (rc)
			goto out;
	}
	struct inode *in = I(s, ino);
	in->dur.len = 0;
	rc = buf_write(&in->dur, 0, data, len);
	if (rc == 0)
		rc = rebuild_cache(in);
out:
	unlock(s);
	return rc;
}

/* A regular file in the chosen tree, or -errno. */
static int find_file(const struct vl_sim *s, const char *path, int view, uint32_t *ino)
{
	struct loc l;
	int rc = resolve(s, path, view == VL_SIM_DURABLE, &l);
	if (rc)
		return rc;
	if (l.ino == NONE)
		return -ENOENT;
	if (I(s, l.ino)->is_dir)
		return -EISDIR;
	*ino = l.ino;
	return 0;
}

int vl_sim_read_file(vl_sim *s, const char *path, int view, uint8_t **data, size_t *len)
{
	lock(s);
	uint32_t ino;
	int rc = find_file(s, path, view, &ino);
	if (rc == 0) {
		const struct buf *b = view == VL_SIM_DURABLE ? &I(s, ino)->dur : &I(s, ino)->cur;
		*data = malloc(b->len ? b->len : 1);
		if (!*data) {
			rc = -ENOMEM;
		} else {
			if (b->len)
				memcpy(*data, b->p, b->len);
			*len = b->len;
		}
	}
	unlock(s);
	return rc;
}

struct pathlist {
	char **p;
	size_t n, cap;
};

static int pathlist_add(struct pathlist *pl, const char *path)
{
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 64;
		char **p = realloc(pl->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		pl->p = p;
		pl->cap = cap;
	}
	pl->p[pl->n] = strdup(path);
	if (!pl->p[pl->n])
		return -ENOMEM;
	pl->n++;
	return 0;
}

static int walk(const struct vl_sim *s, uint32_t dir, int durable, char *path, size_t plen,
                struct pathlist *pl)
{
	const struct dir *d = dirof(s, dir, durable);
	for (size_t i = 0; i < d->n; i++) {
		size_t nlen = strlen(d->e[i].name);
		if (plen + 1 + nlen >= SIM_PATH_MAX)
			return -ENAMETOOLONG;
		path[plen] = '/';
		memcpy(path + plen + 1, d->e[i].name, nlen + 1);
		const struct inode *in = I(s, d->e[i].ino);
		int rc = in->is_dir ? walk(s, d->e[i].ino, durable, path, plen + 1 + nlen, pl)
		                    : pathlist_add(pl, path);
		if (rc)
			return rc;
	}
	path[plen] = '\0';
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vl_sim_list_files(vl_sim *s, const char *dir, int view, vl_io_list_fn fn, void *arg)
{
	struct pathlist pl = { 0 };
	char path[SIM_PATH_MAX];
	lock(s);
	struct loc l;
	int rc = resolve(s, dir, view == VL_SIM_DURABLE, &l);
	if (rc == 0 && l.ino == NONE)
		rc = -ENOENT;
	if (rc == 0 && !I(s, l.ino)->is_dir)
		rc = -ENOTDIR;
	if (rc == 0) {
		/* Rebuild the directory's own path in canonical form. */
		size_t len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			len--;
		if (len >= SIM_PATH_MAX)
			len = SIM_PATH_MAX - 1;
		memcpy(path, dir, len);
		if (len == 1 && path[0] == '/')
			len = 0;
		path[len] = '\0';
		rc = walk(s, l.ino, view == VL_SIM_DURABLE, path, len, &pl);
	}
	unlock(s);
	if (rc == 0 && pl.n > 1)
		qsort(pl.p, pl.n, sizeof(pl.p[0]), cmp_str);
	for (size_t i = 0; i < pl.n; i++) {
		if (rc == 0)
			rc = fn(arg, pl.p[i]);
		free(pl.p[i]);
	}
	free(pl.p);
	return rc;
}

/* Apply a change to a durable file, then refresh its page cache. */
static int tamper(vl_sim *s, const char *path, int (*change)(struct buf *, void *), void *arg)
{
	lock(s);
	uint32_t ino;
	int rc = find_file(s, path, VL_SIM_DURABLE, &ino);
	if (rc == 0)
		rc = change(&I(s, ino)->dur, arg);
	if (rc == 0)
		rc = rebuild_cache(I(s, ino));
	unlock(s);
	return rc;
}

static int change_flip(struct buf *b, void *arg)
{
	uint64_t bit = *(uint64_t *)arg;
	if (bit / 8 >= b->len)
		return -EINVAL;
	b->p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	return 0;
}

int vl_sim_flip_bit(vl_sim *s, const char *path, uint64_t bit_offset)
{
	return tamper(s, path, change_flip, &bit_offset);
}

struct overwrite {
	uint64_t off;
	const void *data;
	size_t len;
};

static int change_overwrite(struct buf *b, void *arg)
{
	const struct overwrite *o = arg;
	if (o->off >= SIM_FILE_MAX || o->len > SIM_FILE_MAX - o->off)
		return -EFBIG;
	return buf_write(b, o->off, o->data, o->len);
}

int vl_sim_overwrite(vl_sim *s, const char *path, uint64_t offset, const void *data,
                     size_t len)
{
	struct overwrite o = { offset, data, len };
	return tamper(s, path, change_overwrite, &o);
}

static int change_truncate(struct buf *b, void *arg)
{
	uint64_t size = *(uint64_t *)arg;
	if (size >= SIM_FILE_MAX)
		return -EFBIG;
	return buf_resize(b, size);
}

int vl_sim_truncate(vl_sim *s, const char *path, uint64_t size)
{
	return tamper(s, path, change_truncate, &size);
}

int vl_sim_delete(vl_sim *s, const char *path)
{
	lock(s);
	struct loc l;
	int rc = resolve(s, path, 1, &l);
	if (rc == 0 && l.ino == NONE)
		rc = -ENOENT;
	if (rc == 0 && l.dir == NONE)
		rc = -EBUSY;
	if (rc == 0 && I(s, l.ino)->is_dir && I(s, l.ino)->dur_d.n > 0)
		rc = -ENOTEMPTY;
	if (rc == 0) {
		dir_del(&I(s, l.dir)->dur_d, l.name, l.ino);
		struct loc c;
		if (resolve(s, path, 0, &c) == 0 && c.ino == l.ino)
			dir_del(&I(s, c.dir)->cur_d, c.name, c.ino);
	}
	unlock(s);
	return rc;
}
