/*
 * metrics.c — the metrics registry of `vellum serve` and its rendering in
 * the Prometheus text exposition format 0.0.4.  The API is in metrics.h.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Values live in C11 atomics: a counter is an atomic uint64, a gauge the
 * bits of a double in an atomic uint64 (set by store, changed by a
 * compare-and-swap loop), a histogram one atomic count per bucket (not
 * cumulative, so an observation touches one) and the bits of its sum.
 * The histogram's count is not stored: a render adds the buckets up, so
 * the "+Inf" bucket and _count always agree, as the format requires.
 * Each series is allocated on its own cache line, so threads updating
 * different series do not contend.
 *
 * The registry itself (families, series, label text) is only written
 * during registration, before the threads that update and render start.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define CACHE_LINE 64

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

static const char *const type_names[] = {"counter", "gauge", "histogram"};

struct vs_counter {
	_Atomic uint64_t v;
};

struct vs_gauge {
	_Atomic uint64_t bits; /* of a double */
	double (*fn)(void *);  /* computed at render, if not NULL */
	void *arg;
};

struct vs_histogram {
	_Atomic uint64_t sum_bits; /* of a double */
	size_t n;                  /* bounds; buckets has n + 1 (the last is +Inf) */
	double *bounds;
	_Atomic uint64_t *buckets;
};

struct series {
	union {
		struct vs_counter c;
		struct vs_gauge g;
		struct vs_histogram h;
	} u; /* first: its address is the handle's */
	char *labels; /* "" for none */
	struct series *next;
};

struct family {
	char *name;
	char *help; /* NULL for none */
	enum mtype type;
	struct series *first, *last;
};

struct vs_metrics {
	struct family *f;
	size_t n, cap;
};

static uint64_t bits_of(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	return b;
}

static double double_of(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

/* ------------------------------------------------------------------ */
/* names and labels                                                    */

static int name_char(unsigned char c, int first, int colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), or with colon 0 a label name. */
static int name_valid(const char *s, size_t n, int colon)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i], i == 0, colon))
			return 0;
	return 1;
}

/*
 * Check label text: name="value" pairs separated by ',', values with no
 * raw '"' or newline and only the escapes \\ \" \n; no "__" names, no
 * name twice, and no "le" if no_le.
 */
static int labels_valid(const char *s, int no_le)
{
	const char *names[32];
	size_t lens[32], k = 0;
	size_t i = 0;
	if (s == NULL || s[0] == '\0')
		return 1;
	for (;;) {
		size_t start = i;
		while (name_char((unsigned char)s[i], i == start, 0))
			i++;
		size_t nl = i - start;
		if (nl == 0 || s[i] != '=' || s[i + 1] != '"')
			return 0;
		if ((nl >= 2 && s[start] == '_' && s[start + 1] == '_') ||
		    (no_le && nl == 2 && memcmp(s + start, "le", 2) == 0))
			return 0;
		for (size_t j = 0; j < k; j++)
			if (lens[j] == nl && memcmp(names[j], s + start, nl) == 0)
				return 0;
		if (k == 32)
			return 0;
		names[k] = s + start;
		lens[k++] = nl;
		for (i += 2; s[i] != '"'; i++) {
			if (s[i] == '\0' || s[i] == '\n')
				return 0;
			if (s[i] == '\\') {
				i++;
				if (s[i] != '\\' && s[i] != '"' && s[i] != 'n')
					return 0;
			}
		}
		i++;
		if (s[i] == '\0')
			return 1;
		if (s[i] != ',')
			return 0;
		i++;
	}
}

int vs_metrics_label(char *buf, size_t cap, const char *name, const char *value)
{
	if (buf == NULL || name == NULL || value == NULL || !name_valid(name, strlen(name), 0))
		return VL_EINVAL;
	size_t len = strnlen(buf, cap);
	if (len == cap)
		return VL_EINVAL;
	size_t need = len + (len > 0) + strlen(name) + 2;
	for (const char *v = value; *v != '\0'; v++)
		need += (*v == '\\' || *v == '"' || *v == '\n') ? 2 : 1;
	need += 2; /* closing quote, NUL */
	if (need > cap)
		return VL_ETOOBIG;
	char *p = buf + len;
	if (len > 0)
		*p++ = ',';
	p += sprintf(p, "%s=\"", name);
	for (const char *v = value; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"') {
			*p++ = '\\';
			*p++ = *v;
		} else if (*v == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else {
			*p++ = *v;
		}
	}
	*p++ = '"';
	*p = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* registry                                                            */

vs_metrics *vs_metrics_new(void)
{
	return calloc(1, sizeof(vs_metrics));
}

static void series_free(struct series *s, enum mtype t)
{
	if (t == M_HISTOGRAM) {
		free(s->u.h.bounds);
		free(s->u.h.buckets);
	}
	free(s->labels);
	free(s);
}

void vs_metrics_free(vs_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->f[i];
		for (struct series *s = f->first, *next; s != NULL; s = next) {
			next = s->next;
			series_free(s, f->type);
		}
		free(f->name);
		free(f->help);
	}
	free(m->f);
	free(m);
}

/* 1 if a is b + one of the suffixes a histogram b renders with. */
static int is_histogram_part(const char *a, const char *b)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	size_t bl = strlen(b);
	if (strncmp(a, b, bl) != 0)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(a + bl, suffixes[i]) == 0)
			return 1;
	return 0;
}

/*
 * The family NAME of type T, made if new.  NULL if NAME is taken by
 * another type or collides with a histogram's lines, or no memory.
 */
static struct family *family_for(vs_metrics *m, const char *name, const char *help,
                                 enum mtype t)
{
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->f[i];
		if (strcmp(f->name, name) == 0)
			return f->type == t ? f : NULL;
		if ((f->type == M_HISTOGRAM && is_histogram_part(name, f->name)) ||
		    (t == M_HISTOGRAM && is_histogram_part(f->name, name)))
			return NULL;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct family *nf = realloc(m->f, cap * sizeof *nf);
		if (nf == NULL)
			return NULL;
		m->f = nf;
		m->cap = cap;
	}
	struct family *f = &m->f[m->n];
	memset(f, 0, sizeof *f);
	f->type = t;
	f->name = strdup(name);
	f->help = help != NULL && help[0] != '\0' ? strdup(help) : NULL;
	if (f->name == NULL || (help != NULL && help[0] != '\0' && f->help == NULL)) {
		free(f->name);
		free(f->help);
		return NULL;
	}
	m->n++;
	return f;
}

/* A new zeroed series of family NAME with LABELS, linked in; NULL on any
 * refusal (see metrics.h). */
static struct series *series_add(vs_metrics *m, const char *name, const char *help,
                                 const char *labels, enum mtype t)
{
	if (m == NULL || name == NULL || !name_valid(name, strlen(name), 1) ||
	    !labels_valid(labels, t == M_HISTOGRAM))
		return NULL;
	if (labels == NULL)
		labels = "";
	struct family *f = family_for(m, name, help, t);
	if (f == NULL)
		return NULL;
	for (struct series *s = f->first; s != NULL; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			return NULL;
	size_t size = (sizeof(struct series) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
	struct series *s = aligned_alloc(CACHE_LINE, size);
	if (s == NULL)
		return NULL;
	memset(s, 0, size);
	s->labels = strdup(labels);
	if (s->labels == NULL) {
		free(s);
		return NULL;
	}
	if (t == M_COUNTER)
		atomic_init(&s->u.c.v, 0);
	else if (t == M_GAUGE)
		atomic_init(&s->u.g.bits, bits_of(0.0));
	else
		atomic_init(&s->u.h.sum_bits, bits_of(0.0));
	if (f->last != NULL)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	return s;
}

/* Unlink and free the last series of family NAME (a failed add). */
static void series_drop_last(vs_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->f[i];
		if (strcmp(f->name, name) != 0)
			continue;
		struct series *prev = NULL, *s = f->first;
		while (s->next != NULL) {
			prev = s;
			s = s->next;
		}
		if (prev != NULL)
			prev->next = NULL;
		else
			f->first = NULL;
		f->last = prev;
		series_free(s, f->type);
		return;
	}
}

vs_counter *vs_counter_add(vs_metrics *m, const char *name, const char *help,
                           const char *labels)
{
	struct series *s = series_add(m, name, help, labels, M_COUNTER);
	return s != NULL ? &s->u.c : NULL;
}

vs_gauge *vs_gauge_add(vs_metrics *m, const char *name, const char *help, const char *labels)
{
	struct series *s = series_add(m, name, help, labels, M_GAUGE);
	return s != NULL ? &s->u.g : NULL;
}

int vs_gauge_fn_add(vs_metrics *m, const char *name, const char *help, const char *labels,
                    double (*fn)(void *), void *arg)
{
	if (fn == NULL)
		return VL_EINVAL;
	struct series *s = series_add(m, name, help, labels, M_GAUGE);
	if (s == NULL)
		return VL_EINVAL;
	s->u.g.fn = fn;
	s->u.g.arg = arg;
	return 0;
}

/* 1 unless family NAME has a histogram series with other bounds. */
static int bounds_agree(const vs_metrics *m, const char *name, const double *bounds, size_t n)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct family *f = &m->f[i];
		if (strcmp(f->name, name) != 0 || f->type != M_HISTOGRAM || f->first == NULL)
			continue;
		const struct vs_histogram *h = &f->first->u.h;
		return h->n == n && (n == 0 || memcmp(h->bounds, bounds, n * sizeof *bounds) == 0);
	}
	return 1;
}

vs_histogram *vs_histogram_add(vs_metrics *m, const char *name, const char *help,
                               const char *labels, const double *bounds, size_t n)
{
	if (m == NULL || name == NULL || (n > 0 && bounds == NULL))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
			return NULL;
	if (!bounds_agree(m, name, bounds, n))
		return NULL;
	struct series *s = series_add(m, name, help, labels, M_HISTOGRAM);
	if (s == NULL)
		return NULL;
	struct vs_histogram *h = &s->u.h;
	h->n = n;
	h->bounds = malloc(n ? n * sizeof *bounds : 1);
	h->buckets = calloc(n + 1, sizeof *h->buckets);
	if (h->bounds == NULL || h->buckets == NULL) {
		series_drop_last(m, name);
		return NULL;
	}
	if (n > 0)
		memcpy(h->bounds, bounds, n * sizeof *bounds);
	for (size_t i = 0; i <= n; i++)
		atomic_init(&h->buckets[i], 0);
	return h;
}

/* ------------------------------------------------------------------ */
/* updates                                                             */

void vs_counter_inc(vs_counter *c, uint64_t by)
{
	atomic_fetch_add_explicit(&c->v, by, memory_order_relaxed);
}

uint64_t vs_counter_get(const vs_counter *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)&c->v, memory_order_relaxed);
}

void vs_gauge_set(vs_gauge *g, double v)
{
	atomic_store_explicit(&g->bits, bits_of(v), memory_order_relaxed);
}

/* *bits (a double) += delta. */
static void add_double(_Atomic uint64_t *bits, double delta)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(bits, &old, bits_of(double_of(old) + delta),
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

void vs_gauge_inc(vs_gauge *g, double delta)
{
	add_double(&g->bits, delta);
}

double vs_gauge_get(const vs_gauge *g)
{
	if (g->fn != NULL)
		return g->fn(g->arg);
	return double_of(atomic_load_explicit((_Atomic uint64_t *)&g->bits, memory_order_relaxed));
}

void vs_histogram_observe(vs_histogram *h, double v)
{
	/* The first bound >= v; n (+Inf) if none, or for NaN. */
	size_t lo = 0, hi = h->n;
	if (isnan(v)) {
		lo = h->n;
	} else {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (h->bounds[mid] < v)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
	add_double(&h->sum_bits, v);
}

/* ------------------------------------------------------------------ */
/* rendering                                                           */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Help text: backslash as \\, newline as \n. */
static void put_help(struct buf *b, const char *s)
{
	for (const char *run = s;; s++) {
		if (*s != '\\' && *s != '\n' && *s != '\0')
			continue;
		put(b, run, (size_t)(s - run));
		if (*s == '\0')
			return;
		puts_(b, *s == '\\' ? "\\\\" : "\\n");
		run = s + 1;
	}
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static void fmt_double(char out[40], double v)
{
	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, 40, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	/* A locale's decimal comma is not the format's. */
	for (char *p = out; *p != '\0'; p++)
		if (!(*p >= '0' && *p <= '9') && *p != '-' && *p != '+' && *p != 'e')
			*p = '.';
}

/* name[suffix]{labels[,extra]} */
static void put_series_name(struct buf *b, const char *name, const char *suffix,
                            const char *labels, const char *extra)
{
	puts_(b, name);
	puts_(b, suffix);
	if (labels[0] == '\0' && extra == NULL)
		return;
	puts_(b, "{");
	puts_(b, labels);
	if (extra != NULL) {
		if (labels[0] != '\0')
			puts_(b, ",");
		puts_(b, extra);
	}
	puts_(b, "}");
}

static void put_value_line(struct buf *b, const char *name, const char *suffix,
                           const char *labels, const char *extra, const char *value)
{
	put_series_name(b, name, suffix, labels, extra);
	puts_(b, " ");
	puts_(b, value);
	puts_(b, "\n");
}

static void render_histogram(struct buf *b, const char *name, const struct series *s)
{
	const struct vs_histogram *h = &s->u.h;
	char num[40], le[48];
	uint64_t cum = 0;
	for (size_t i = 0; i <= h->n; i++) {
		cum += atomic_load_explicit((_Atomic uint64_t *)&h->buckets[i],
		                            memory_order_relaxed);
		if (i < h->n)
			fmt_double(num, h->bounds[i]);
		else
			strcpy(num, "+Inf");
		snprintf(le, sizeof le, "le=\"%s\"", num);
		char count[24];
		snprintf(count, sizeof count, "%llu", (unsigned long long)cum);
		put_value_line(b, name, "_bucket", s->labels, le, count);
	}
	fmt_double(num, double_of(atomic_load_explicit((_Atomic uint64_t *)&h->sum_bits,
	                                               memory_order_relaxed)));
	put_value_line(b, name, "_sum", s->labels, NULL, num);
	snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
	put_value_line(b, name, "_count", s->labels, NULL, num);
}

static void render_family(struct buf *b, const struct family *f)
{
	char num[40];
	if (f->help != NULL) {
		puts_(b, "# HELP ");
		puts_(b, f->name);
		puts_(b, " ");
		put_help(b, f->help);
		puts_(b, "\n");
	}
	puts_(b, "# TYPE ");
	puts_(b, f->name);
	puts_(b, " ");
	puts_(b, type_names[f->type]);
	puts_(b, "\n");
	for (const struct series *s = f->first; s != NULL; s = s->next) {
		switch (f->type) {
		case M_COUNTER:
			snprintf(num, sizeof num, "%llu",
			         (unsigned long long)vs_counter_get(&s->u.c));
			put_value_line(b, f->name, "", s->labels, NULL, num);
			break;
		case M_GAUGE:
			fmt_double(num, vs_gauge_get(&s->u.g));
			put_value_line(b, f->name, "", s->labels, NULL, num);
			break;
		case M_HISTOGRAM:
			render_histogram(b, f->name, s);
			break;
		}
	}
}

char *vs_metrics_render(vs_metrics *m, size_t *len)
{
	struct buf b = {0};
	if (len != NULL)
		*len = 0;
	if (m == NULL)
		return NULL;
	put(&b, "", 0); /* an empty registry renders as "" */
	for (size_t i = 0; i < m->n; i++)
		render_family(&b, &m->f[i]);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}
