/*
 * source.c — the parts every source shares (batches, line splitting), the
 * table of source kinds, and the stdin source.  The file follower is in
 * follow.c.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* Batches.                                                            */

void va_batch_init(va_batch *b, size_t max_events, size_t max_bytes)
{
	memset(b, 0, sizeof *b);
	b->max_events = max_events ? max_events : 1;
	b->max_bytes = max_bytes ? max_bytes : 1;
}

void va_batch_clear(va_batch *b)
{
	b->len = 0;
	b->n = 0;
}

void va_batch_free(va_batch *b)
{
	free(b->data);
	free(b->ev);
	b->data = NULL;
	b->ev = NULL;
	b->len = b->cap = b->n = b->ev_cap = 0;
}

int va_batch_full(const va_batch *b)
{
	return b->n >= b->max_events || b->len + b->n * b->overhead >= b->max_bytes;
}

int va_batch_add(va_batch *b, const uint8_t *p, size_t len, const va_position *pos)
{
	if (len == 0 || len > VA_EVENT_MAX)
		return VL_EINVAL;
	if (b->n == b->ev_cap) {
		size_t cap = b->ev_cap ? b->ev_cap * 2 : 64;
		va_batch_event *ev = realloc(b->ev, cap * sizeof *ev);
		if (!ev)
			return VL_ENOMEM;
		b->ev = ev;
		b->ev_cap = cap;
	}
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap - b->len < len)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return VL_ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->ev[b->n].off = b->len;
	b->ev[b->n].len = len;
	b->ev[b->n].pos = *pos;
	b->n++;
	b->len += len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lines.                                                              */

size_t va_lines_take(const uint8_t *buf, size_t len, uint64_t start, int final,
                     const va_position *tmpl, va_head_fn head_fn, void *head_ctx, va_batch *b,
                     int *rc)
{
	size_t i = 0;
	*rc = 0;
	while (i < len && !va_batch_full(b)) {
		size_t avail = len - i, scan = avail < VA_EVENT_MAX + 1 ? avail : VA_EVENT_MAX + 1;
		const uint8_t *nl = memchr(buf + i, '\n', scan);
		size_t ev_len, used;
		if (nl) {
			ev_len = (size_t)(nl - (buf + i));
			used = ev_len + 1;
			if (ev_len == 0) { /* an empty line: skipped */
				i += 1;
				continue;
			}
		} else if (avail > VA_EVENT_MAX) {
			ev_len = used = VA_EVENT_MAX; /* a piece of a long line */
		} else if (final) {
			ev_len = used = avail;
		} else {
			break; /* an incomplete line: wait for the rest */
		}
		va_position pos = *tmpl;
		pos.offset = start + i + used;
		if (head_fn)
			pos.head = head_fn(head_ctx, pos.offset);
		if ((*rc = va_batch_add(b, buf + i, ev_len, &pos)) < 0)
			break;
		i += used;
	}
	return i;
}

/* ------------------------------------------------------------------ */
/* stdin: one event per line; not resumable (a new stream each start).  */

struct stdin_source {
	va_source base;
	int fd;
	uint64_t offset; /* bytes consumed */
	uint8_t *buf;
	size_t len, cap;
	int eof;
};

static int stdin_read(va_source *s, va_batch *b, int timeout_ms)
{
	struct stdin_source *in = (struct stdin_source *)s;
	va_position tmpl = {0};
	int rc;
	for (;;) {
		size_t took = va_lines_take(in->buf, in->len, in->offset, in->eof, &tmpl, NULL, NULL, b,
		                            &rc);
		if (rc < 0)
			return rc;
		memmove(in->buf, in->buf + took, in->len - took);
		in->len -= took;
		in->offset += took;
		if (va_batch_full(b))
			return VA_SOURCE_OK;
		if (in->eof)
			return VA_SOURCE_EOF;
		/* Nothing complete in the buffer: read more, waiting only for the
		 * first read of this call if nothing is ready. */
		struct pollfd p = {.fd = in->fd, .events = POLLIN};
		int r = poll(&p, 1, b->n ? 0 : timeout_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			return VA_SOURCE_OK;
		ssize_t got = read(in->fd, in->buf + in->len, in->cap - in->len);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (got == 0)
			in->eof = 1;
		in->len += (size_t)got;
		timeout_ms = 0;
	}
}

static void stdin_close(va_source *s)
{
	struct stdin_source *in = (struct stdin_source *)s;
	free(in->buf);
	free(in);
}

static const struct va_source_ops stdin_ops = {"stdin", stdin_read, stdin_close};

static int stdin_open(va_source **out)
{
	struct stdin_source *in = calloc(1, sizeof *in);
	if (!in)
		return VL_ENOMEM;
	/* Twice the longest piece: a piece plus the read after it always fit. */
	in->cap = 2 * (VA_EVENT_MAX + 1);
	in->buf = malloc(in->cap);
	if (!in->buf) {
		free(in);
		return VL_ENOMEM;
	}
	in->fd = STDIN_FILENO;
	in->base.ops = &stdin_ops;
	snprintf(in->base.origin, sizeof in->base.origin, "stdin");
	*out = &in->base;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The kinds.                                                          */

int va_source_origin(const char *spec, char *origin, size_t cap, char *err, size_t errcap)
{
	int n;
	if (strcmp(spec, "stdin") == 0) {
		n = snprintf(origin, cap, "stdin");
	} else if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
		const char *path = spec + 5;
		if (path[0] == '/') {
			n = snprintf(origin, cap, "file:%s", path);
		} else {
			char cwd[4096];
			if (!getcwd(cwd, sizeof cwd)) {
				snprintf(err, errcap, "cannot make %s absolute: %s", path,
				         strerror(errno));
				return -1;
			}
			const char *sep = strcmp(cwd, "/") ? "/" : "";
			n = snprintf(origin, cap, "file:%s%s%s", cwd, sep, path);
		}
	} else if (strncmp(spec, "syslog:", 7) == 0) {
		if (va_syslog_address_ok(spec + 7, err, errcap) < 0)
			return -1;
		n = snprintf(origin, cap, "%s", spec);
	} else if (strcmp(spec, "journald") == 0 || strncmp(spec, "journald:", 9) == 0) {
		n = snprintf(origin, cap, "%s", spec);
	} else {
		snprintf(err, errcap,
		         "unknown source '%s': expected file:PATH, stdin, syslog:ADDR:PORT or journald",
		         spec);
		return -1;
	}
	if (n < 0 || (size_t)n >= cap || !va_origin_ok(origin, (size_t)n)) {
		snprintf(err, errcap, "source '%s': its origin must be 1..%d printable ASCII bytes",
		         spec, VA_ORIGIN_MAX);
		return -1;
	}
	return 0;
}

int va_source_open(const char *origin, const va_position *resume, va_note_fn note,
                   void *note_ctx, va_source **out, char *err, size_t errcap)
{
	int rc;
	*out = NULL;
	if (strcmp(origin, "stdin") == 0) {
		rc = stdin_open(out);
		if (rc < 0)
			snprintf(err, errcap, "stdin: %s", vl_strerror(rc));
	} else if (strncmp(origin, "file:", 5) == 0) {
		rc = va_file_source_open(origin + 5, resume, out, err, errcap);
		if (rc == 0)
			(*out)->resumable = 1;
	} else if (strncmp(origin, "syslog:", 7) == 0) {
		rc = va_syslog_source_open(origin + 7, out, err, errcap);
	} else if (strcmp(origin, "journald") == 0 || strncmp(origin, "journald:", 9) == 0) {
		rc = va_journald_source_open(origin[8] ? origin + 9 : NULL, resume, out, err, errcap);
		if (rc == 0)
			(*out)->resumable = 1;
	} else {
		snprintf(err, errcap, "unknown source '%s'", origin);
		rc = VL_EINVAL;
	}
	if (rc == 0) {
		snprintf((*out)->origin, sizeof (*out)->origin, "%s", origin);
		(*out)->note = note;
		(*out)->note_ctx = note_ctx;
	}
	return rc;
}

void va_source_close(va_source *s)
{
	if (s)
		s->ops->close(s);
}
