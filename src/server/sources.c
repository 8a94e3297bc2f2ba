/*
 * sources.c — per-agent state of a log (see sources.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "sources.h"

#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward.h"

struct agent {
	char id[VS_AGENT_ID_MAX + 1];
	uint64_t next;         /* 0..next-1 held */
	uint64_t *above;       /* held indexes > next, sorted */
	size_t n_above, cap_above;
	uint64_t held, duplicates;
	int64_t last_delay_ns, max_delay_ns, last_received_ns;
};

struct vs_sources {
	pthread_mutex_t mu;
	struct agent *agents;
	size_t n, cap;
};

vs_sources *vs_sources_new(void)
{
	vs_sources *s = calloc(1, sizeof *s);
	if (s)
		pthread_mutex_init(&s->mu, NULL);
	return s;
}

void vs_sources_free(vs_sources *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->agents[i].above);
	free(s->agents);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct agent *find(vs_sources *s, const char *id, size_t len, int create)
{
	if (len == 0 || len > VS_AGENT_ID_MAX)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->agents[i].id) == len && memcmp(s->agents[i].id, id, len) == 0)
			return &s->agents[i];
	if (!create)
		return NULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct agent *a = realloc(s->agents, cap * sizeof *a);
		if (!a)
			return NULL;
		s->agents = a;
		s->cap = cap;
	}
	struct agent *a = &s->agents[s->n++];
	memset(a, 0, sizeof *a);
	memcpy(a->id, id, len);
	return a;
}

/* Position of the first element >= v in a->above. */
static size_t lower_bound(const struct agent *a, uint64_t v)
{
	size_t lo = 0, hi = a->n_above;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->above[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int held(const struct agent *a, uint64_t index)
{
	if (index < a->next)
		return 1;
	size_t i = lower_bound(a, index);
	return i < a->n_above && a->above[i] == index;
}

int vs_sources_has(vs_sources *s, const char *agent, size_t alen, uint64_t index)
{
	pthread_mutex_lock(&s->mu);
	struct agent *a = find(s, agent, alen, 0);
	int h = a && held(a, index);
	pthread_mutex_unlock(&s->mu);
	return h;
}

int vs_sources_mark(vs_sources *s, const char *agent, size_t alen, uint64_t index,
                    int64_t spooled_ns, int64_t received_ns)
{
	pthread_mutex_lock(&s->mu);
	struct agent *a = find(s, agent, alen, 1);
	int rc = -1;
	if (!a)
		goto out;
	rc = 0;
	if (held(a, index))
		goto out;
	if (index == a->next) {
		a->next++;
		/* Absorb what was waiting past the gap just filled. */
		size_t k = 0;
		while (k < a->n_above && a->above[k] == a->next) {
			a->next++;
			k++;
		}
		if (k) {
			memmove(a->above, a->above + k, (a->n_above - k) * sizeof *a->above);
			a->n_above -= k;
		}
	} else {
		if (a->n_above == a->cap_above) {
			size_t cap = a->cap_above ? 2 * a->cap_above : 16;
			uint64_t *b = realloc(a->above, cap * sizeof *b);
			if (!b) {
				rc = -1;
				goto out;
			}
			a->above = b;
			a->cap_above = cap;
		}
		size_t i = lower_bound(a, index);
		memmove(a->above + i + 1, a->above + i, (a->n_above - i) * sizeof *a->above);
		a->above[i] = index;
		a->n_above++;
	}
	a->held++;
	a->last_delay_ns = received_ns - spooled_ns;
	if (a->last_delay_ns > a->max_delay_ns)
		a->max_delay_ns = a->last_delay_ns;
	if (received_ns > a->last_received_ns)
		a->last_received_ns = received_ns;
	rc = 1;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void vs_sources_duplicate(vs_sources *s, const char *agent, size_t alen, uint64_t n)
{
	pthread_mutex_lock(&s->mu);
	struct agent *a = find(s, agent, alen, 1);
	if (a)
		a->duplicates += n;
	pthread_mutex_unlock(&s->mu);
}

int64_t vs_sources_through(vs_sources *s, const char *agent, size_t alen)
{
	pthread_mutex_lock(&s->mu);
	struct agent *a = find(s, agent, alen, 0);
	int64_t t = a ? (int64_t)a->next - 1 : -1;
	pthread_mutex_unlock(&s->mu);
	return t;
}

static uint64_t missing_of(const struct agent *a)
{
	if (a->n_above == 0)
		return 0;
	uint64_t highest = a->above[a->n_above - 1];
	return highest + 1 - a->next - a->n_above;
}

uint64_t vs_sources_missing(vs_sources *s, const char *agent, size_t alen)
{
	pthread_mutex_lock(&s->mu);
	struct agent *a = find(s, agent, alen, 0);
	uint64_t m = a ? missing_of(a) : 0;
	pthread_mutex_unlock(&s->mu);
	return m;
}

size_t vs_sources_count(vs_sources *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

uint64_t vs_sources_missing_total(vs_sources *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t m = 0;
	for (size_t i = 0; i < s->n; i++)
		m += missing_of(&s->agents[i]);
	pthread_mutex_unlock(&s->mu);
	return m;
}

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = 2 * b->cap + (size_t)n;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

char *vs_sources_json(vs_sources *s, const char *log, size_t max_gaps)
{
	struct buf b = {malloc(1024), 0, 1024, 0};
	if (!b.p)
		return NULL;
	pthread_mutex_lock(&s->mu);
	put(&b, "{\"log\":\"%s\",\"sources\":[", log);
	for (size_t i = 0; i < s->n; i++) {
		const struct agent *a = &s->agents[i];
		int64_t highest = a->n_above ? (int64_t)a->above[a->n_above - 1] : (int64_t)a->next - 1;
		put(&b, "%s{\"agent\":\"%s\",\"through\":%" PRId64 ",\"highest\":%" PRId64
		        ",\"held\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"gaps\":[",
		    i ? "," : "", a->id, (int64_t)a->next - 1, highest, a->held, missing_of(a));
		/* Gaps: from next to each held index past it. */
		uint64_t from = a->next;
		size_t shown = 0;
		for (size_t k = 0; k < a->n_above && shown < max_gaps; k++) {
			if (a->above[k] > from) {
				put(&b, "%s[%" PRIu64 ",%" PRIu64 "]", shown ? "," : "", from,
				    a->above[k] - 1);
				shown++;
			}
			from = a->above[k] + 1;
		}
		char when[40] = "";
		if (a->last_received_ns > 0) {
			time_t t = (time_t)(a->last_received_ns / 1000000000);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		put(&b, "],\"duplicates\":%" PRIu64 ",\"last_delay_seconds\":%.6f,"
		        "\"max_delay_seconds\":%.6f,\"last_received\":\"%s\"}",
		    a->duplicates, (double)a->last_delay_ns / 1e9, (double)a->max_delay_ns / 1e9, when);
	}
	put(&b, "]}\n");
	pthread_mutex_unlock(&s->mu);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *vs_sources_text(vs_sources *s, const char *log, size_t max_gaps)
{
	struct buf b = {malloc(1024), 0, 1024, 0};
	if (!b.p)
		return NULL;
	pthread_mutex_lock(&s->mu);
	uint64_t missing = 0;
	size_t with_gaps = 0;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t m = missing_of(&s->agents[i]);
		missing += m;
		with_gaps += m > 0;
	}
	put(&b, "log %s: %zu agent%s, %" PRIu64 " event%s missing%s\n", log, s->n,
	    s->n == 1 ? "" : "s", missing, missing == 1 ? "" : "s",
	    missing ? " (lost before they reached vellum)" : "");
	if (s->n)
		put(&b, "%-24s %12s %12s %12s %10s  %-9s %-9s %-20s %s\n", "agent", "through", "highest",
		    "held", "missing", "delay", "max", "last received", "gaps");
	for (size_t i = 0; i < s->n; i++) {
		const struct agent *a = &s->agents[i];
		int64_t highest = a->n_above ? (int64_t)a->above[a->n_above - 1] : (int64_t)a->next - 1;
		char when[40] = "-";
		if (a->last_received_ns > 0) {
			time_t t = (time_t)(a->last_received_ns / 1000000000);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		put(&b, "%-24s %12" PRId64 " %12" PRId64 " %12" PRIu64 " %10" PRIu64 "  %-9.3f %-9.3f %-20s ",
		    a->id, (int64_t)a->next - 1, highest, a->held, missing_of(a),
		    (double)a->last_delay_ns / 1e9, (double)a->max_delay_ns / 1e9, when);
		uint64_t from = a->next;
		size_t shown = 0;
		for (size_t k = 0; k < a->n_above; k++) {
			if (a->above[k] > from) {
				if (shown == max_gaps) {
					put(&b, " ...");
					break;
				}
				if (a->above[k] - 1 == from)
					put(&b, "%s%" PRIu64, shown ? "," : "", from);
				else
					put(&b, "%s%" PRIu64 "-%" PRIu64, shown ? "," : "", from, a->above[k] - 1);
				shown++;
			}
			from = a->above[k] + 1;
		}
		put(&b, "%s\n", shown ? "" : "-");
	}
	(void)with_gaps;
	pthread_mutex_unlock(&s->mu);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int vs_sources_prometheus(vs_sources *s, const char *log, const char *family, char **text,
                          size_t *len)
{
	struct buf b = {*text, *len, *len, 0};
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++) {
		const struct agent *a = &s->agents[i];
		if (strcmp(family, "through") == 0)
			put(&b, "vellum_agent_through{log=\"%s\",agent=\"%s\"} %" PRId64 "\n", log, a->id,
			    (int64_t)a->next - 1);
		else if (strcmp(family, "missing") == 0)
			put(&b, "vellum_agent_missing{log=\"%s\",agent=\"%s\"} %" PRIu64 "\n", log, a->id,
			    missing_of(a));
		else
			put(&b, "vellum_agent_delay_seconds{log=\"%s\",agent=\"%s\"} %.6f\n", log, a->id,
			    (double)a->last_delay_ns / 1e9);
	}
	pthread_mutex_unlock(&s->mu);
	*text = b.p;
	*len = b.len;
	return b.failed ? -1 : 0;
}
