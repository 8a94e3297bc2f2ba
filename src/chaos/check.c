/*
 * check.c — the checker of `vellum chaos run`: the history against the log.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The log must not be open elsewhere: vl_log_open takes the log's lock, so
 * the server has to be stopped before the check (and opening may cut an
 * invalid, never acknowledged tail from the newest WAL segment, as any
 * open does).
 *
 * An entry of the log is event N of the run when its envelope parses and
 * its event bytes have the shape of vc_event(seed, N); it is that event
 * exactly when the bytes are vc_event(seed, N).  Every other entry is
 * foreign.  Then, for the events with an ack line:
 *
 *   lost      no entry of the log is the event;
 *   holes     lost, while an event whose ack line comes later in the
 *             history is in the log (a loss that is not a lost tail);
 *   corrupt   in the log, but some ack of it names an index past the end,
 *             or an entry that is not exactly the event, or a leaf hash
 *             that is not SHA-256(0x00 || entry) of that entry;
 *
 * and for every event: duplicated (in the log more than once), and
 * unconfirmed_present (in the log without an ack line).  An acked event
 * is counted once: ok, lost or corrupt.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "client_internal.h"
#include "envelope.h"
#include "note.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* History lines.                                                      */

static int dec(const char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (n > 1 && f[0] == '0'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return 0;
		uint64_t d = (uint64_t)(f[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

static int word(const char *f, size_t n, char *out)
{
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '0' && f[i] <= '9') || f[i] == '_'))
			return 0;
	memcpy(out, f, n);
	out[n] = '\0';
	return 1;
}

int vc_history_parse_line(const char *line, size_t len, vc_hrec *r, char *why, size_t whycap)
{
	const char *f[7];
	size_t fl[7];
	size_t n = 0;
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) {
			snprintf(why, whycap, "byte %zu is not printable ASCII", i + 1);
			return -1;
		}
	}
	if (len == 0) {
		snprintf(why, whycap, "empty line");
		return -1;
	}
	for (size_t i = 0, s = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == s) {
			snprintf(why, whycap, "fields must be separated by single spaces");
			return -1;
		}
		if (n == 7) {
			snprintf(why, whycap, "too many fields");
			return -1;
		}
		f[n] = line + s;
		fl[n] = i - s;
		n++;
		s = i + 1;
	}
	static const struct {
		const char *name;
		enum vc_hkind kind;
		size_t fields;
	} kinds[] = {{"send", VC_H_SEND, 6}, {"ack", VC_H_ACK, 6}, {"fail", VC_H_FAIL, 5},
	             {"info", VC_H_INFO, 4}};
	size_t k;
	for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (fl[0] == strlen(kinds[k].name) && memcmp(f[0], kinds[k].name, fl[0]) == 0)
			break;
	if (k == sizeof kinds / sizeof kinds[0]) {
		snprintf(why, whycap, "unknown record \"%.*s\"", (int)(fl[0] < 16 ? fl[0] : 16),
		         f[0]);
		return -1;
	}
	if (n != kinds[k].fields) {
		snprintf(why, whycap, "a %s record has %zu fields, not %zu", kinds[k].name,
		         kinds[k].fields, n);
		return -1;
	}
	r->kind = kinds[k].kind;
	if (!dec(f[1], fl[1], &r->req) || !dec(f[2], fl[2], &r->t_ns)) {
		snprintf(why, whycap, "the request number and time must be decimal numbers");
		return -1;
	}
	uint64_t status;
	size_t got = 0;
	switch (r->kind) {
	case VC_H_SEND:
		if (!dec(f[3], fl[3], &r->first) || !dec(f[4], fl[4], &r->count) ||
		    !dec(f[5], fl[5], &r->attempt) || r->count == 0 || r->attempt == 0 ||
		    r->first + r->count < r->first) {
			snprintf(why, whycap, "a send record needs a first event, a count >= 1 "
			                      "and an attempt >= 1");
			return -1;
		}
		break;
	case VC_H_ACK:
		if (!dec(f[3], fl[3], &r->event) || !dec(f[4], fl[4], &r->index)) {
			snprintf(why, whycap, "an ack record needs an event and an index");
			return -1;
		}
		if (fl[5] != VC_LEAF_B64_LEN ||
		    vl_base64_decode(f[5], fl[5], r->leaf, VC_LEAF_SIZE, &got) != 0 ||
		    got != VC_LEAF_SIZE) {
			snprintf(why, whycap, "the leaf hash is not the base64 of 32 bytes");
			return -1;
		}
		break;
	case VC_H_FAIL:
		if (!dec(f[3], fl[3], &status) || status > 999 || !word(f[4], fl[4], r->word)) {
			snprintf(why, whycap,
			         "a fail record needs an HTTP status and an error code");
			return -1;
		}
		r->status = (int)status;
		break;
	case VC_H_INFO:
		if (!word(f[3], fl[3], r->word)) {
			snprintf(why, whycap, "an info record needs a reason of [a-z0-9_]");
			return -1;
		}
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the history.                                                */

struct send {
	uint64_t first, count;
	int seen;
};

struct ack {
	uint64_t event, index, req, line;
	uint8_t leaf[VC_LEAF_SIZE];
};

struct history {
	struct send *sends;
	size_t n_sends;
	struct ack *acks;
	size_t n_acks, cap_acks;
};

static void history_free(struct history *h)
{
	free(h->sends);
	free(h->acks);
}

static int read_history(const char *path, struct history *h, char *err, size_t errcap)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = -errno;
		snprintf(err, errcap, "cannot open the history %s: %s", path, strerror(-e));
		return e;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	uint64_t lineno = 0;
	int rc = 0;
	char why[160];
	while ((got = getline(&line, &cap, f)) > 0) {
		lineno++;
		size_t len = (size_t)got;
		if (line[len - 1] != '\n') {
			snprintf(err, errcap, "%s line %" PRIu64 ": the line is not terminated",
			         path, lineno);
			rc = VL_EFORMAT;
			break;
		}
		len--;
		vc_hrec r;
		if (memchr(line, '\0', len) != NULL) {
			snprintf(why, sizeof why, "a NUL byte");
			goto bad;
		}
		if (vc_history_parse_line(line, len, &r, why, sizeof why) != 0)
			goto bad;
		if (r.kind == VC_H_SEND) {
			/* Requests are numbered from 0, one send line each. */
			if (r.req >= lineno) {
				snprintf(why, sizeof why,
				         "request %" PRIu64 " cannot come before line %" PRIu64,
				         r.req, r.req + 1);
				goto bad;
			}
			if (r.req >= h->n_sends) {
				size_t n = h->n_sends ? h->n_sends : 64;
				while (n <= r.req)
					n *= 2;
				struct send *s = realloc(h->sends, n * sizeof *s);
				if (!s)
					goto nomem;
				memset(s + h->n_sends, 0, (n - h->n_sends) * sizeof *s);
				h->sends = s;
				h->n_sends = n;
			}
			struct send *s = &h->sends[r.req];
			if (s->seen) {
				snprintf(why, sizeof why, "request %" PRIu64 " was sent before",
				         r.req);
				goto bad;
			}
			*s = (struct send){r.first, r.count, 1};
			continue;
		}
		if (r.req >= h->n_sends || !h->sends[r.req].seen) {
			snprintf(why, sizeof why, "request %" PRIu64 " has no send line before it",
			         r.req);
			goto bad;
		}
		if (r.kind != VC_H_ACK)
			continue;
		const struct send *s = &h->sends[r.req];
		if (r.event < s->first || r.event - s->first >= s->count) {
			snprintf(why, sizeof why,
			         "event %" PRIu64 " is not one of request %" PRIu64
			         "'s events %" PRIu64 "..%" PRIu64,
			         r.event, r.req, s->first, s->first + s->count - 1);
			goto bad;
		}
		if (h->n_acks == h->cap_acks) {
			size_t n = h->cap_acks ? 2 * h->cap_acks : 256;
			struct ack *a = realloc(h->acks, n * sizeof *a);
			if (!a)
				goto nomem;
			h->acks = a;
			h->cap_acks = n;
		}
		struct ack *a = &h->acks[h->n_acks++];
		a->event = r.event;
		a->index = r.index;
		a->req = r.req;
		a->line = lineno;
		memcpy(a->leaf, r.leaf, VC_LEAF_SIZE);
		continue;
bad:
		snprintf(err, errcap, "%s line %" PRIu64 ": %s", path, lineno, why);
		rc = VL_EFORMAT;
		break;
nomem:
		snprintf(err, errcap, "out of memory reading %s", path);
		rc = VL_ENOMEM;
		break;
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		snprintf(err, errcap, "cannot read the history %s", path);
	}
	free(line);
	fclose(f);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reading the log.                                                    */

enum ekind { E_FOREIGN_ENVELOPE, E_FOREIGN_EVENT, E_FOREIGN_SEED, E_EXACT, E_DAMAGED };

struct entry {
	uint64_t n;       /* the event (E_EXACT, E_DAMAGED), or the seed (E_FOREIGN_SEED) */
	uint8_t kind;
	uint8_t leaf[VC_LEAF_SIZE];
};

struct scan {
	uint64_t seed;
	struct entry *e;
	uint64_t size;
};

static int on_entry(void *ctx, uint64_t index, const uint8_t *entry, size_t len)
{
	struct scan *s = ctx;
	if (index >= s->size)
		return VL_EINVAL;
	struct entry *e = &s->e[index];
	vl_leaf_hash(entry, len, e->leaf);
	vs_envelope_view v;
	uint64_t seed, n;
	if (vs_envelope_parse(entry, len, &v) != 0) {
		e->kind = E_FOREIGN_ENVELOPE;
		return 0;
	}
	const char *ev = (const char *)entry + v.event_off;
	if (!vc_event_parse(ev, v.event_len, &seed, &n)) {
		e->kind = E_FOREIGN_EVENT;
		return 0;
	}
	if (seed != s->seed) {
		e->kind = E_FOREIGN_SEED;
		e->n = seed;
		return 0;
	}
	char want[VC_EVENT_MAX];
	size_t wl = vc_event(seed, n, want);
	e->n = n;
	e->kind = (wl == v.event_len && memcmp(want, ev, wl) == 0) ? E_EXACT : E_DAMAGED;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The comparison.                                                     */

struct placed {
	uint64_t n, index;
};

static int cmp_placed(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_ack(const void *a, const void *b)
{
	const struct ack *x = a, *y = b;
	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The first problem: the one of the lowest event, else the first foreign
 * entry. */
struct first {
	int have;
	uint64_t event;
};

static void problem(vc_check *out, struct first *fp, uint64_t event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(vc_check *out, struct first *fp, uint64_t event, const char *fmt, ...)
{
	if (fp->have && fp->event <= event)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->first_problem, sizeof out->first_problem, fmt, ap);
	va_end(ap);
	fp->have = 1;
	fp->event = event;
}

static const char *describe(const struct entry *e, uint64_t seed, char *buf, size_t cap)
{
	switch (e->kind) {
	case E_FOREIGN_ENVELOPE:
		return "an entry that is not an event envelope";
	case E_FOREIGN_EVENT:
		return "an envelope whose event is not a chaos event";
	case E_FOREIGN_SEED:
		snprintf(buf, cap, "an event of seed %" PRIu64 ", not %" PRIu64, e->n, seed);
		return buf;
	case E_DAMAGED:
		snprintf(buf, cap, "a damaged copy of event %" PRIu64, e->n);
		return buf;
	default:
		snprintf(buf, cap, "event %" PRIu64, e->n);
		return buf;
	}
}

/* Whether ack K of an event that is in the log (first at index AT) names
 * an index past the end, an entry that is not exactly the event, or a
 * leaf hash that is not the entry's; the problem is noted. */
static int ack_wrong(const struct ack *k, const struct scan *s, uint64_t at, vc_check *out,
                     struct first *fp)
{
	uint64_t ev = k->event;
	char d[96];
	if (k->index >= s->size) {
		problem(out, fp, ev,
		        "event %" PRIu64 " was acknowledged at index %" PRIu64 " (request %" PRIu64
		        "), beyond the log's %" PRIu64 " entries; it is at index %" PRIu64,
		        ev, k->index, k->req, s->size, at);
		return 1;
	}
	const struct entry *e = &s->e[k->index];
	if (e->kind != E_EXACT || e->n != ev) {
		problem(out, fp, ev,
		        "event %" PRIu64 " was acknowledged at index %" PRIu64 " (request %" PRIu64
		        "), which holds %s; the event is at index %" PRIu64,
		        ev, k->index, k->req, describe(e, s->seed, d, sizeof d), at);
		return 1;
	}
	if (memcmp(e->leaf, k->leaf, VC_LEAF_SIZE) != 0) {
		char want[VC_LEAF_B64_LEN + 1], have[VC_LEAF_B64_LEN + 1];
		vl_base64_encode(k->leaf, VC_LEAF_SIZE, want);
		vl_base64_encode(e->leaf, VC_LEAF_SIZE, have);
		problem(out, fp, ev,
		        "event %" PRIu64 " at index %" PRIu64 " has leaf hash %s, but request "
		        "%" PRIu64 " was acknowledged with %s",
		        ev, k->index, have, k->req, want);
		return 1;
	}
	return 0;
}

static void compare(const struct history *h, const struct scan *s, const struct placed *pl,
                    size_t n_pl, vc_check *out)
{
	struct first fp = {0};
	char d[96];
	uint64_t max_present_line = 0;
	size_t j = 0;
	/* Pass 1: acked events present or not, corrupt. */
	for (size_t i = 0; i < h->n_acks;) {
		uint64_t ev = h->acks[i].event;
		size_t end = i;
		while (end < h->n_acks && h->acks[end].event == ev)
			end++;
		while (j < n_pl && pl[j].n < ev)
			j++;
		int present = j < n_pl && pl[j].n == ev;
		out->acked++;
		if (!present) {
			out->lost++;
		} else {
			int bad = 0;
			for (size_t a = i; a < end && !bad; a++)
				bad = ack_wrong(&h->acks[a], s, pl[j].index, out, &fp);
			for (size_t a = i; a < end; a++)
				if (h->acks[a].line > max_present_line)
					max_present_line = h->acks[a].line;
			if (bad)
				out->corrupt++;
		}
		i = end;
	}
	/* Pass 2: lost events, and which of them are holes. */
	j = 0;
	for (size_t i = 0; i < h->n_acks;) {
		uint64_t ev = h->acks[i].event;
		size_t end = i;
		while (end < h->n_acks && h->acks[end].event == ev)
			end++;
		while (j < n_pl && pl[j].n < ev)
			j++;
		if (!(j < n_pl && pl[j].n == ev)) {
			const struct ack *k = &h->acks[i];
			if (k->line < max_present_line) {
				out->holes++;
				problem(out, &fp, ev,
				        "event %" PRIu64 " (acknowledged at index %" PRIu64
				        ", request %" PRIu64 ") is not in the log, though events "
				        "acknowledged after it are",
				        ev, k->index, k->req);
			} else {
				problem(out, &fp, ev,
				        "event %" PRIu64 " (acknowledged at index %" PRIu64
				        ", request %" PRIu64 ") is not in the log of %" PRIu64
				        " entries",
				        ev, k->index, k->req, s->size);
			}
		}
		i = end;
	}
	/* Pass 3: every event in the log: duplicates, unconfirmed. */
	size_t a = 0;
	for (size_t i = 0; i < n_pl;) {
		uint64_t ev = pl[i].n;
		size_t end = i;
		while (end < n_pl && pl[end].n == ev)
			end++;
		if (end - i > 1) {
			out->duplicated++;
			problem(out, &fp, ev,
			        "event %" PRIu64 " is in the log %zu times (indexes %" PRIu64
			        " and %" PRIu64 "%s)",
			        ev, end - i, pl[i].index, pl[i + 1].index,
			        end - i > 2 ? ", ..." : "");
		}
		while (a < h->n_acks && h->acks[a].event < ev)
			a++;
		if (!(a < h->n_acks && h->acks[a].event == ev))
			out->unconfirmed_present++;
		i = end;
	}
	/* Foreign entries: a problem only when nothing else is. */
	for (uint64_t i = 0; i < s->size; i++) {
		const struct entry *e = &s->e[i];
		if (e->kind == E_EXACT || e->kind == E_DAMAGED)
			continue;
		if (out->foreign++ == 0 && !fp.have)
			snprintf(out->first_problem, sizeof out->first_problem,
			         "entry %" PRIu64 " is no event of seed %" PRIu64 ": it is %s", i,
			         s->seed, describe(e, s->seed, d, sizeof d));
	}
}

int vc_check_run(const char *logdir, const char *history, uint64_t seed, vc_check *out,
                 char *err, size_t errcap)
{
	memset(out, 0, sizeof *out);
	if (!logdir || !history) {
		snprintf(err, errcap, "the checker needs a log directory and a history");
		return VL_EINVAL;
	}
	struct history h = {0};
	int rc = read_history(history, &h, err, errcap);
	if (rc != 0) {
		history_free(&h);
		return rc;
	}
	vl_log *log = NULL;
	rc = vl_log_open(logdir, NULL, &log);
	if (rc != 0) {
		snprintf(err, errcap, "cannot open the log %s: %s", logdir, vl_open_message());
		history_free(&h);
		return rc;
	}
	struct scan s = {.seed = seed, .size = vl_log_size(log)};
	struct placed *pl = NULL;
	s.e = calloc(s.size ? s.size : 1, sizeof *s.e);
	if (!s.e) {
		snprintf(err, errcap, "out of memory for %" PRIu64 " entries", s.size);
		rc = VL_ENOMEM;
		goto out;
	}
	if (s.size > 0) {
		rc = vl_log_scan(log, 0, s.size, on_entry, &s);
		if (rc != 0) {
			snprintf(err, errcap, "cannot read the log %s: %s", logdir,
			         vl_log_message(log));
			goto out;
		}
	}
	size_t n_pl = 0;
	for (uint64_t i = 0; i < s.size; i++)
		if (s.e[i].kind == E_EXACT || s.e[i].kind == E_DAMAGED)
			n_pl++;
	pl = malloc((n_pl ? n_pl : 1) * sizeof *pl);
	if (!pl) {
		snprintf(err, errcap, "out of memory");
		rc = VL_ENOMEM;
		goto out;
	}
	n_pl = 0;
	for (uint64_t i = 0; i < s.size; i++)
		if (s.e[i].kind == E_EXACT || s.e[i].kind == E_DAMAGED)
			pl[n_pl++] = (struct placed){s.e[i].n, i};
	qsort(pl, n_pl, sizeof *pl, cmp_placed);
	if (h.n_acks)
		qsort(h.acks, h.n_acks, sizeof *h.acks, cmp_ack);
	out->log_size = s.size;
	compare(&h, &s, pl, n_pl, out);
out:
	free(pl);
	free(s.e);
	history_free(&h);
	int crc = vl_log_close(log);
	if (rc == 0 && crc != 0) {
		snprintf(err, errcap, "closing the log %s: %s", logdir, vl_strerror(crc));
		rc = crc;
	}
	return rc;
}
