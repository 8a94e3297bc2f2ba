/*
 * source_journald.c — the journald source: `journald` reads the local
 * system journal (sd_journal_open, SD_JOURNAL_LOCAL_ONLY), `journald:DIR`
 * the journal files in DIR (sd_journal_open_directory).  One event per
 * journal entry: a JSON object like `journalctl -o json`'s.
 *
 * The event: every field of the entry, keys sorted bytewise (a key
 * repeated within the entry becomes one key with an array of its values,
 * in the entry's order), plus "__CURSOR", "__REALTIME_TIMESTAMP" and
 * "__MONOTONIC_TIMESTAMP" (decimal strings) and "_BOOT_ID" (32 hex) from
 * the entry's header.  A value that is valid UTF-8 without control
 * characters (tab and newline allowed, as journalctl has it) is a JSON
 * string; any other value an array of its byte values.  No spaces.
 *
 * An entry whose JSON would exceed VA_EVENT_MAX bytes is truncated, never
 * dropped: every value longer than a limit L is cut to its first L bytes
 * (a string at a character boundary), L the largest that fits with room
 * for a "_VELLUM_TRUNCATED" string listing "KEY=ORIGINAL_BYTES" for each
 * cut value, space-separated, in the event's order.  The header fields are
 * never cut.  If even L = 0 cannot fit (thousands of fields), the event is
 * the header fields and a "_VELLUM_TRUNCATED" saying how many fields and
 * bytes were left out.  Deterministic: the same entry gives the same
 * event.
 *
 * Position: entries consumed (the resumed count plus the entries read
 * since), and the entry's cursor.  Reading starts at the head of the
 * journal — all of it — on a first start, and after a restart just past
 * the cursor of the origin's newest spool entry (sd_journal_seek_cursor,
 * then sd_journal_test_cursor on the entry it lands on).  If that entry is
 * gone (vacuumed, its file rotated away and deleted), sd-journal lands on
 * the oldest entry still present after the cursor's place (by sequence
 * number when a file of the same sequence remains, else by monotonic time
 * in the same boot, else by wall-clock time), reading continues there and
 * a warning says events may have been lost.
 *
 * New entries are waited for with sd_journal_wait.  Files added or
 * removed (rotation, vacuuming: SD_JOURNAL_INVALIDATE) do not move the
 * reader, which keeps its place by the entry's sequence number and times;
 * the first entry after an invalidation is checked against the last
 * cursor so an entry seen again through a renamed file is not taken
 * twice.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "source.h"
#include "vellum.h"

#ifndef VA_HAVE_SYSTEMD

int va_journald_source_open(const char *dir, const va_position *resume, va_source **out,
                            char *err, size_t errcap)
{
	(void)resume;
	*out = NULL;
	snprintf(err, errcap,
	         "%s: this build of vellum has no journald support (it was built without "
	         "libsystemd)",
	         dir ? "journald:DIR" : "journald");
	return VL_EINVAL;
}

#else

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "json_escape.h"

#define TRUNCATED_KEY "_VELLUM_TRUNCATED"

/* One field of the entry being made into an event. */
struct field {
	const uint8_t *kp; /* the key, while sorting */
	size_t key, klen;  /* in raw */
	size_t val, vlen;  /* in raw */
	size_t seq;        /* the entry's order, for repeated keys */
	int str;           /* printable UTF-8: a JSON string */
	int fixed;         /* a header field: never cut */
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct journald_source {
	va_source base;
	sd_journal *j;
	char where[PATH_MAX + 32];   /* for notes */
	uint64_t count;              /* entries consumed */
	int current;                 /* on an entry read but not yet added */
	int started;                 /* the start was noted */
	int bad_cursor;              /* the resume cursor was refused by sd-journal */
	va_position resume;          /* applied to the first entry */
	int resume_check;
	char last[VA_CURSOR_MAX + 1]; /* the newest entry added */
	int has_last;
	int check_dup;               /* after an invalidation: skip an entry named last */
	struct buf raw, out, list;
	struct field *f;
	size_t nf, f_cap;
};

static void note(struct journald_source *js, int level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct journald_source *js, int level, const char *msg, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (js->base.note)
		js->base.note(js->base.note_ctx, level, js->base.origin, msg, detail);
}

static int buf_room(struct buf *b, size_t n)
{
	if (n <= b->cap - b->len)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return VL_ENOMEM;
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return VL_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (buf_room(b, n) < 0)
		return VL_ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Values.                                                             */

/* Valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without control characters other than tab and newline
 * (C0, DEL, C1): journalctl's "printable". */
static int printable_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t c = p[i];
		size_t k;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			c &= 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (k == 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0x80 && c <= 0x9f))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* The bytes of a value kept under limit L: all, or L (a string: cut back
 * to a character boundary). */
static size_t kept(const uint8_t *v, size_t n, int str, size_t limit)
{
	if (n <= limit)
		return n;
	size_t m = limit;
	while (str && m > 0 && (v[m] & 0xc0) == 0x80)
		m--;
	return m;
}

/* The JSON length of a string's bytes once escaped (vs_json_escape). */
static size_t str_cost(const uint8_t *v, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = v[i];
		c += b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t' ? 2
		     : b < 0x20 || b == 0x7f                                       ? 6
		                                                                   : 1;
	}
	return c;
}

static size_t dec_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* A key's JSON length: printable ASCII as is (quote and backslash
 * escaped), every other byte as \u00XX.  Journal field names are
 * [A-Z0-9_], so this is only a guard. */
static size_t key_cost(const uint8_t *k, size_t n)
{
	size_t c = 2;
	for (size_t i = 0; i < n; i++)
		c += k[i] == '"' || k[i] == '\\' ? 2 : k[i] < 0x20 || k[i] > 0x7e ? 6 : 1;
	return c;
}

static int put_key(struct buf *b, const uint8_t *k, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (buf_room(b, key_cost(k, n)) < 0)
		return VL_ENOMEM;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (k[i] == '"' || k[i] == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = k[i];
		} else if (k[i] < 0x20 || k[i] > 0x7e) {
			memcpy(b->p + b->len, "\\u00", 4);
			b->p[b->len + 4] = (uint8_t)hex[k[i] >> 4];
			b->p[b->len + 5] = (uint8_t)hex[k[i] & 15];
			b->len += 6;
		} else {
			b->p[b->len++] = k[i];
		}
	}
	b->p[b->len++] = '"';
	return 0;
}

/* The JSON length of the first M bytes of a value. */
static size_t value_cost(const uint8_t *v, size_t m, int str)
{
	if (str)
		return 2 + str_cost(v, m);
	size_t c = 2 + (m ? m - 1 : 0);
	for (size_t i = 0; i < m; i++)
		c += dec_len(v[i]);
	return c;
}

static int put_value(struct buf *b, const uint8_t *v, size_t m, int str)
{
	size_t need = value_cost(v, m, str);
	if (buf_room(b, need + 1) < 0)
		return VL_ENOMEM;
	if (str) {
		b->p[b->len++] = '"';
		b->len += vs_json_escape((const char *)v, m, (char *)b->p + b->len, need);
		b->p[b->len++] = '"';
		return 0;
	}
	b->p[b->len++] = '[';
	for (size_t i = 0; i < m; i++)
		b->len += (size_t)sprintf((char *)b->p + b->len, i ? ",%u" : "%u", v[i]);
	b->p[b->len++] = ']';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Entries into events.                                                */

static int add_field(struct journald_source *js, const void *key, size_t klen, const void *val,
                     size_t vlen, int fixed)
{
	if (js->nf == js->f_cap) {
		size_t cap = js->f_cap ? js->f_cap * 2 : 64;
		struct field *f = realloc(js->f, cap * sizeof *f);
		if (!f)
			return VL_ENOMEM;
		js->f = f;
		js->f_cap = cap;
	}
	struct field *f = &js->f[js->nf];
	f->key = js->raw.len;
	f->klen = klen;
	if (buf_put(&js->raw, key, klen) < 0)
		return VL_ENOMEM;
	f->val = js->raw.len;
	f->vlen = vlen;
	if (buf_put(&js->raw, val, vlen) < 0)
		return VL_ENOMEM;
	f->seq = js->nf;
	f->str = printable_utf8((const uint8_t *)val, vlen);
	f->fixed = fixed;
	js->nf++;
	return 0;
}

static int field_cmp(const void *a, const void *b)
{
	const struct field *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->kp, y->kp, n);
	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_key(const uint8_t *raw, const struct field *x, const struct field *y)
{
	return x->klen == y->klen && memcmp(raw + x->key, raw + y->key, x->klen) == 0;
}

/*
 * The JSON of the fields with every cuttable value kept to LIMIT bytes,
 * into out (when OUT); returns its length.  Fields are sorted; a run of
 * one key is one array.
 */
static size_t render(struct journald_source *js, size_t limit, struct buf *out, int *rc)
{
	const uint8_t *raw = js->raw.p;
	size_t total = 1, i = 0;
	*rc = 0;
	if (out && (*rc = buf_put(out, "{", 1)) < 0)
		return 0;
	while (i < js->nf) {
		size_t e = i + 1;
		while (e < js->nf && same_key(raw, &js->f[i], &js->f[e]))
			e++;
		total += (i ? 1 : 0) + key_cost(raw + js->f[i].key, js->f[i].klen) + 1 +
		         (e - i > 1 ? 2 + (e - i - 1) : 0);
		if (out && ((i && (*rc = buf_put(out, ",", 1)) < 0) ||
		            (*rc = put_key(out, raw + js->f[i].key, js->f[i].klen)) < 0 ||
		            (*rc = buf_put(out, e - i > 1 ? ":[" : ":", e - i > 1 ? 2 : 1)) < 0))
			return 0;
		for (size_t k = i; k < e; k++) {
			const struct field *f = &js->f[k];
			size_t m = f->fixed ? f->vlen : kept(raw + f->val, f->vlen, f->str, limit);
			total += value_cost(raw + f->val, m, f->str);
			if (out && ((k > i && (*rc = buf_put(out, ",", 1)) < 0) ||
			            (*rc = put_value(out, raw + f->val, m, f->str)) < 0))
				return 0;
		}
		if (out && e - i > 1 && (*rc = buf_put(out, "]", 1)) < 0)
			return 0;
		i = e;
	}
	total += 1;
	if (out && (*rc = buf_put(out, "}", 1)) < 0)
		return 0;
	return total;
}

static void sort_fields(struct journald_source *js)
{
	for (size_t i = 0; i < js->nf; i++)
		js->f[i].kp = js->raw.p + js->f[i].key;
	qsort(js->f, js->nf, sizeof *js->f, field_cmp);
}

/* Adds "_VELLUM_TRUNCATED" with the list in js->list, as a fixed field. */
static int add_truncated(struct journald_source *js)
{
	int rc = add_field(js, TRUNCATED_KEY, strlen(TRUNCATED_KEY), js->list.p, js->list.len, 1);
	if (rc == 0)
		sort_fields(js);
	return rc;
}

/* The event for the fields collected (sorted), into js->out. */
static int make_event(struct journald_source *js)
{
	int rc;
	js->out.len = 0;
	js->list.len = 0;
	if (render(js, SIZE_MAX, NULL, &rc) <= VA_EVENT_MAX) {
		render(js, SIZE_MAX, &js->out, &rc);
		return rc;
	}

	/* Room for the list if every cuttable value were cut: "KEY=N" each,
	 * space-separated, in a string (escaped keys), and the new key (or
	 * the brackets of an array, if the entry has that key already). */
	size_t list_max = key_cost((const uint8_t *)TRUNCATED_KEY, strlen(TRUNCATED_KEY)) + 6;
	size_t max_v = 0, n_cut = 0;
	for (size_t i = 0; i < js->nf; i++) {
		const struct field *f = &js->f[i];
		if (f->fixed)
			continue;
		list_max += key_cost(js->raw.p + f->key, f->klen) - 2 + 2 + dec_len(f->vlen);
		max_v = f->vlen > max_v ? f->vlen : max_v;
		n_cut++;
	}
	size_t lo = 0, hi = max_v;
	if (render(js, 0, NULL, &rc) + list_max > VA_EVENT_MAX) {
		/* Too many fields for any cut: the header fields and a count. */
		size_t n = 0, bytes = 0;
		for (size_t i = 0; i < js->nf; i++) {
			if (js->f[i].fixed)
				js->f[n++] = js->f[i];
			else
				bytes += js->f[i].vlen;
		}
		js->nf = n;
		char msg[160];
		int len = snprintf(msg, sizeof msg,
		                   "all %zu fields left out (%zu value bytes): too many to fit",
		                   n_cut, bytes);
		if ((rc = buf_put(&js->list, msg, (size_t)len)) < 0 || (rc = add_truncated(js)) < 0)
			return rc;
		render(js, SIZE_MAX, &js->out, &rc);
		return rc;
	}
	/* The largest limit that fits: render() grows with the limit. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (render(js, mid, NULL, &rc) + list_max <= VA_EVENT_MAX)
			lo = mid;
		else
			hi = mid - 1;
	}
	/* Cut the values for good, listing them. */
	for (size_t i = 0; i < js->nf; i++) {
		struct field *f = &js->f[i];
		if (f->fixed || f->vlen <= lo)
			continue;
		char num[24];
		int len = snprintf(num, sizeof num, "=%zu", f->vlen);
		if ((js->list.len && (rc = buf_put(&js->list, " ", 1)) < 0) ||
		    (rc = buf_room(&js->list, f->klen + (size_t)len)) < 0)
			return rc;
		/* Printable ASCII, so the list is a string of the length counted. */
		for (size_t k = 0; k < f->klen; k++) {
			uint8_t c = js->raw.p[f->key + k];
			js->list.p[js->list.len++] = c > 0x20 && c < 0x7f ? c : '?';
		}
		buf_put(&js->list, num, (size_t)len);
		f->vlen = kept(js->raw.p + f->val, f->vlen, f->str, lo);
	}
	/* add_truncated() may move raw: offsets stay valid. */
	if ((rc = add_truncated(js)) < 0)
		return rc;
	render(js, SIZE_MAX, &js->out, &rc);
	if (rc == 0 && js->out.len > VA_EVENT_MAX)
		rc = VL_ETOOBIG; /* cannot happen: the list was counted at its longest */
	return rc;
}

/* Collects the current entry's fields and makes its event; its cursor
 * into CURSOR. */
static int entry_event(struct journald_source *js, char *cursor)
{
	int rc;
	js->raw.len = 0;
	js->nf = 0;
	sd_journal_restart_data(js->j);
	const void *d;
	size_t l;
	while ((rc = sd_journal_enumerate_available_data(js->j, &d, &l)) > 0) {
		const char *eq = memchr(d, '=', l);
		if (!eq || eq == d)
			continue;
		size_t klen = (size_t)(eq - (const char *)d);
		/* The header's fields are added below; "__" names are not
		 * journal fields. */
		if ((klen == 8 && memcmp(d, "_BOOT_ID", 8) == 0) ||
		    (klen >= 2 && memcmp(d, "__", 2) == 0))
			continue;
		if ((rc = add_field(js, d, klen, eq + 1, l - klen - 1, 0)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	char *c = NULL;
	uint64_t rt, mono;
	sd_id128_t boot;
	if ((rc = sd_journal_get_cursor(js->j, &c)) < 0)
		return rc;
	size_t clen = strlen(c);
	if (!va_cursor_ok(c, clen)) {
		free(c);
		return VL_ETOOBIG;
	}
	memcpy(cursor, c, clen + 1);
	free(c);
	if ((rc = sd_journal_get_realtime_usec(js->j, &rt)) < 0 ||
	    (rc = sd_journal_get_monotonic_usec(js->j, &mono, &boot)) < 0)
		return rc;
	char rts[24], monos[24], boots[SD_ID128_STRING_MAX];
	snprintf(rts, sizeof rts, "%" PRIu64, rt);
	snprintf(monos, sizeof monos, "%" PRIu64, mono);
	sd_id128_to_string(boot, boots);
	if ((rc = add_field(js, "__CURSOR", 8, cursor, clen, 1)) < 0 ||
	    (rc = add_field(js, "__REALTIME_TIMESTAMP", 20, rts, strlen(rts), 1)) < 0 ||
	    (rc = add_field(js, "__MONOTONIC_TIMESTAMP", 21, monos, strlen(monos), 1)) < 0 ||
	    (rc = add_field(js, "_BOOT_ID", 8, boots, strlen(boots), 1)) < 0)
		return rc;
	sort_fields(js);
	return make_event(js);
}

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The batch has no room for one more event with its cursor line (the
 * batch's overhead counts no cursor). */
static int batch_full(const va_batch *b)
{
	return va_batch_full(b) ||
	       b->len + b->n * (b->overhead + VA_CURSOR_MAX + 9) >= b->max_bytes;
}

static void note_start(struct journald_source *js)
{
	js->started = 1;
	if (js->bad_cursor)
		note(js, VA_NOTE_WARN, "journal cursor unusable",
		     "%s: sd-journal refuses the spool's cursor %s; reading the journal from its "
		     "start, so events may be sent twice", js->where, js->resume.cursor);
	else if (js->resume_check)
		note(js, VA_NOTE_INFO, "following", "%s, resuming after entry %" PRIu64 " (%s)",
		     js->where, js->count, js->resume.cursor);
	else if (js->count)
		note(js, VA_NOTE_WARN, "journal position without a cursor",
		     "%s: the spool's position %" PRIu64 " names no journal entry; reading the "
		     "journal from its start, so events may be sent twice", js->where, js->count);
	else
		note(js, VA_NOTE_INFO, "following", "%s, from the start of the journal", js->where);
}

/* Moves to the next entry not yet taken: 1, 0 at the end, or an error. */
static int next_entry(struct journald_source *js)
{
	for (;;) {
		if (js->current)
			return 1;
		int r = sd_journal_next(js->j);
		if (r <= 0)
			return r;
		js->current = 1;
		if (js->resume_check) {
			js->resume_check = 0;
			r = sd_journal_test_cursor(js->j, js->resume.cursor);
			if (r < 0)
				return r;
			if (r > 0) { /* the entry resumed after: taken before */
				js->current = 0;
				continue;
			}
			note(js, VA_NOTE_WARN, "journal cursor not found",
			     "%s: the entry of cursor %s (entry %" PRIu64 ") is no longer in the "
			     "journal (vacuumed or rotated away); continuing with the oldest entry "
			     "after it; events may have been lost",
			     js->where, js->resume.cursor, js->count);
		} else if (js->check_dup) {
			js->check_dup = 0;
			r = sd_journal_test_cursor(js->j, js->last);
			if (r < 0)
				return r;
			if (r > 0) { /* seen again through a renamed file */
				js->current = 0;
				continue;
			}
		}
		return 1;
	}
}

static int journald_read(va_source *s, va_batch *b, int timeout_ms)
{
	struct journald_source *js = (struct journald_source *)s;
	int64_t deadline = mono_ms() + timeout_ms;
	if (!js->started)
		note_start(js);
	for (;;) {
		while (!batch_full(b)) {
			int r = next_entry(js);
			if (r < 0)
				return r;
			if (r == 0)
				break;
			va_position pos = {.offset = js->count + 1, .has_cursor = 1};
			if ((r = entry_event(js, pos.cursor)) < 0)
				return r; /* still current: tried again on the next read */
			if ((r = va_batch_add(b, js->out.p, js->out.len, &pos)) < 0)
				return r;
			js->current = 0;
			js->count++;
			memcpy(js->last, pos.cursor, sizeof js->last);
			js->has_last = 1;
		}
		if (b->n > 0)
			return VA_SOURCE_OK;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return VA_SOURCE_OK;
		int r = sd_journal_wait(js->j, (uint64_t)left * 1000);
		if (r < 0)
			return r;
		if (r == SD_JOURNAL_INVALIDATE && js->has_last)
			js->check_dup = 1;
	}
}

static void journald_close(va_source *s)
{
	struct journald_source *js = (struct journald_source *)s;
	sd_journal_close(js->j);
	free(js->raw.p);
	free(js->out.p);
	free(js->list.p);
	free(js->f);
	free(js);
}

static const struct va_source_ops journald_ops = {"journald", journald_read, journald_close};

int va_journald_source_open(const char *dir, const va_position *resume, va_source **out,
                            char *err, size_t errcap)
{
	*out = NULL;
	struct journald_source *js = calloc(1, sizeof *js);
	if (!js) {
		snprintf(err, errcap, "journald: out of memory");
		return VL_ENOMEM;
	}
	int r;
	if (dir) {
		snprintf(js->where, sizeof js->where, "the journal files in %s", dir);
		r = sd_journal_open_directory(&js->j, dir, 0);
	} else {
		snprintf(js->where, sizeof js->where, "the local system journal");
		r = sd_journal_open(&js->j, SD_JOURNAL_LOCAL_ONLY);
	}
	if (r < 0) {
		snprintf(err, errcap, "journald: cannot open %s: %s", js->where, strerror(-r));
		free(js);
		return r;
	}
	/* Whole values, compressed or not, so events do not depend on how
	 * journald stored them; the inotify watches from now on. */
	if ((r = sd_journal_set_data_threshold(js->j, 0)) < 0 || (r = sd_journal_get_fd(js->j)) < 0)
		goto fail;
	if (resume && resume->has_cursor) {
		js->count = resume->offset;
		js->resume = *resume;
		r = sd_journal_seek_cursor(js->j, resume->cursor);
		if (r == -EINVAL) {
			js->bad_cursor = 1;
			r = sd_journal_seek_head(js->j);
		} else {
			js->resume_check = 1;
		}
		if (r < 0)
			goto fail;
	} else {
		js->count = resume ? resume->offset : 0;
		if ((r = sd_journal_seek_head(js->j)) < 0)
			goto fail;
	}
	js->base.ops = &journald_ops;
	*out = &js->base;
	return 0;
fail:
	snprintf(err, errcap, "journald: %s: %s", js->where, strerror(-r));
	sd_journal_close(js->j);
	free(js);
	return r;
}

#endif
