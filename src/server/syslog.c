/*
 * syslog.c — RFC 6587 stream framing and RFC 5424 / RFC 3164 message
 * parsing (see syslog.h for what is accepted).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every function takes (pointer, length) and never reads outside it: the
 * input is whatever a network peer sent.  Offsets in error messages are
 * 0-based: "stream byte N" counts from the start of a connection, "byte N"
 * from the start of one message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syslog.h"

/* ------------------------------------------------------------ framing */

enum {
	ST_START,  /* between messages */
	ST_LEN,    /* in MSG-LEN */
	ST_OCTETS, /* in an octet-counted message */
	ST_LINE,   /* in an LF-framed message */
};

static int is_trailer(uint8_t c)
{
	return c == '\n' || c == '\r' || c == '\0';
}

size_t vs_syslog_trim(const uint8_t *msg, size_t len)
{
	while (len > 0 && is_trailer(msg[len - 1]))
		len--;
	return len;
}

int vs_syslog_framer_init(vs_syslog_framer *fr, size_t max_message)
{
	memset(fr, 0, sizeof *fr);
	if (max_message == 0)
		max_message = VS_SYSLOG_MAX_DEFAULT;
	if (max_message > VS_SYSLOG_MAX_LIMIT)
		return -1;
	fr->max = max_message;
	fr->state = ST_START;
	return 0;
}

void vs_syslog_framer_free(vs_syslog_framer *fr)
{
	free(fr->buf);
	fr->buf = NULL;
	fr->len = fr->cap = 0;
}

size_t vs_syslog_framer_pending(const vs_syslog_framer *fr)
{
	switch (fr->state) {
	case ST_LEN:
		return 1; /* at least the MSG-LEN digit(s) */
	case ST_OCTETS:
	case ST_LINE:
		return fr->len > 0 ? fr->len : 1;
	default:
		return 0;
	}
}

/* Make the error sticky, describe it, and copy the description out. */
static int frame_fail(vs_syslog_framer *fr, int code, uint64_t at, char *err, size_t errcap,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int frame_fail(vs_syslog_framer *fr, int code, uint64_t at, char *err, size_t errcap,
                      const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(fr->err, sizeof fr->err, "stream byte %llu: ", (unsigned long long)at);
	if (n < 0 || (size_t)n >= sizeof fr->err)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(fr->err + n, sizeof fr->err - (size_t)n, fmt, ap);
	va_end(ap);
	fr->error = code;
	if (err != NULL && errcap > 0)
		snprintf(err, errcap, "%s", fr->err);
	return code;
}

/* Room for need bytes in the buffer, growing it geometrically. */
static int reserve(vs_syslog_framer *fr, size_t need)
{
	if (need <= fr->cap)
		return 0;
	size_t cap = fr->cap < 1024 ? 1024 : fr->cap * 2;
	if (cap < need)
		cap = need;
	if (cap > fr->max + 1)
		cap = fr->max + 1;
	uint8_t *b = realloc(fr->buf, cap);
	if (b == NULL)
		return -1;
	fr->buf = b;
	fr->cap = cap;
	return 0;
}

static int append(vs_syslog_framer *fr, const uint8_t *p, size_t n)
{
	if (reserve(fr, fr->len + n) != 0)
		return -1;
	memcpy(fr->buf + fr->len, p, n);
	fr->len += n;
	return 0;
}

static int deliver(vs_syslog_framer *fr, const uint8_t *msg, size_t len, vs_syslog_frame_cb cb,
                   void *ctx, char *err, size_t errcap)
{
	fr->state = ST_START;
	fr->len = 0;
	if (cb(ctx, msg, vs_syslog_trim(msg, len)) != 0)
		return frame_fail(fr, VS_SYSLOG_ESTOPPED, fr->start, err, errcap,
		                  "stopped by the message callback");
	return 0;
}

/* ST_START: skip stray trailer bytes, then choose the framing. */
static int feed_start(vs_syslog_framer *fr, uint8_t c, size_t *used, char *err, size_t errcap)
{
	*used = 1;
	if (is_trailer(c))
		return 0;
	fr->start = fr->pos;
	if (c >= '1' && c <= '9') {
		fr->state = ST_LEN;
		fr->want = (size_t)(c - '0');
		if (fr->want > fr->max)
			return frame_fail(fr, VS_SYSLOG_EOVERSIZE, fr->start, err, errcap,
			                  "MSG-LEN exceeds the maximum message size %zu", fr->max);
		return 0;
	}
	if (c == '<') {
		*used = 0; /* '<' is the message's first byte */
		fr->state = ST_LINE;
		fr->len = 0;
		return 0;
	}
	if (c == '0')
		return frame_fail(fr, VS_SYSLOG_EFRAMING, fr->pos, err, errcap,
		                  "MSG-LEN has a leading zero");
	return frame_fail(fr, VS_SYSLOG_EFRAMING, fr->pos, err, errcap,
	                  "byte 0x%02x starts no message (expected MSG-LEN or '<')", c);
}

/* ST_LEN: one more MSG-LEN digit, or the SP that ends it. */
static int feed_len(vs_syslog_framer *fr, uint8_t c, char *err, size_t errcap)
{
	if (c >= '0' && c <= '9') {
		/* want <= max <= VS_SYSLOG_MAX_LIMIT here, so this cannot wrap. */
		fr->want = fr->want * 10 + (size_t)(c - '0');
		if (fr->want > fr->max)
			return frame_fail(fr, VS_SYSLOG_EOVERSIZE, fr->start, err, errcap,
			                  "MSG-LEN exceeds the maximum message size %zu", fr->max);
		return 0;
	}
	if (c != ' ')
		return frame_fail(fr, VS_SYSLOG_EFRAMING, fr->pos, err, errcap,
		                  "MSG-LEN is followed by byte 0x%02x, not SP", c);
	fr->state = ST_OCTETS;
	fr->len = 0;
	return 0;
}

/* ST_LINE: bytes up to and including the LF that ends the message. */
static int feed_line(vs_syslog_framer *fr, const uint8_t *p, size_t n, size_t *used,
                     vs_syslog_frame_cb cb, void *ctx, char *err, size_t errcap)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t seg = nl != NULL ? (size_t)(nl - p) : n;
	/* One byte over max is let through for the CR of a CRLF. */
	if (fr->len + seg > fr->max + 1)
		return frame_fail(fr, VS_SYSLOG_EOVERSIZE, fr->start, err, errcap,
		                  "LF-framed message longer than the maximum %zu", fr->max);
	*used = seg + (nl != NULL);
	const uint8_t *line = p;
	if (fr->len > 0 || nl == NULL) {
		if (append(fr, p, seg) != 0)
			return frame_fail(fr, VS_SYSLOG_ENOMEM, fr->pos, err, errcap,
			                  "out of memory buffering a message");
		if (nl == NULL)
			return 0;
		line = fr->buf;
		seg = fr->len;
	}
	if (vs_syslog_trim(line, seg) > fr->max)
		return frame_fail(fr, VS_SYSLOG_EOVERSIZE, fr->start, err, errcap,
		                  "LF-framed message longer than the maximum %zu", fr->max);
	return deliver(fr, line, seg, cb, ctx, err, errcap);
}

int vs_syslog_feed(vs_syslog_framer *fr, const uint8_t *data, size_t len, vs_syslog_frame_cb cb,
                   void *ctx, char *err, size_t errcap)
{
	size_t i = 0;
	int rc = 0;

	if (fr->error) {
		if (err != NULL && errcap > 0)
			snprintf(err, errcap, "%s", fr->err);
		return fr->error;
	}
	while (i < len && rc == 0) {
		size_t used = 1;
		switch (fr->state) {
		case ST_START:
			rc = feed_start(fr, data[i], &used, err, errcap);
			break;
		case ST_LEN:
			rc = feed_len(fr, data[i], err, errcap);
			break;
		case ST_OCTETS: {
			size_t need = fr->want - fr->len, avail = len - i;
			used = avail < need ? avail : need;
			if (fr->len == 0 && used == need) {
				rc = deliver(fr, data + i, need, cb, ctx, err, errcap);
			} else if (append(fr, data + i, used) != 0) {
				rc = frame_fail(fr, VS_SYSLOG_ENOMEM, fr->pos, err, errcap,
				                "out of memory buffering a message");
			} else if (fr->len == fr->want) {
				rc = deliver(fr, fr->buf, fr->len, cb, ctx, err, errcap);
			}
			break;
		}
		case ST_LINE:
			rc = feed_line(fr, data + i, len - i, &used, cb, ctx, err, errcap);
			break;
		default:
			rc = frame_fail(fr, VS_SYSLOG_EFRAMING, fr->pos, err, errcap,
			                "framer not initialised");
			break;
		}
		if (rc == 0) {
			i += used;
			fr->pos += used;
		}
	}
	return rc;
}

/* ------------------------------------------------------------ parsing */

/* The parse state: the message and where errors go. */
struct cur {
	const uint8_t *p;
	size_t n;
	char *err;
	size_t errcap;
};

static int perr(const struct cur *c, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(const struct cur *c, size_t off, const char *fmt, ...)
{
	if (c->err == NULL || c->errcap == 0)
		return -1;
	va_list ap;
	int n = snprintf(c->err, c->errcap, "byte %zu: ", off);
	if (n < 0 || (size_t)n >= c->errcap)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* PRINTUSASCII = %d33-126 */
static int is_print(uint8_t c)
{
	return c >= 33 && c <= 126;
}

/* "<PRI>" at the start; *i is left after '>'. */
static int parse_pri(const struct cur *c, vs_syslog_msg *m, size_t *i)
{
	const uint8_t *p = c->p;
	if (c->n == 0)
		return perr(c, 0, "empty message");
	if (p[0] != '<')
		return perr(c, 0, "expected '<' to start PRI, found byte 0x%02x", p[0]);
	size_t j = 1;
	int v = 0;
	while (j < c->n && is_digit(p[j]) && j <= 4) {
		v = v * 10 + (p[j] - '0');
		j++;
	}
	if (j == 1)
		return perr(c, 1, "PRI is not a number");
	if (j > 4)
		return perr(c, 1, "PRI has more than 3 digits");
	if (p[1] == '0' && j > 2)
		return perr(c, 1, "PRI has a leading zero");
	if (v > 191)
		return perr(c, 1, "PRI %d is out of range 0..191", v);
	if (j == c->n || p[j] != '>')
		return perr(c, j, "expected '>' to end PRI");
	m->pri = v;
	m->facility = v / 8;
	m->severity = v % 8;
	*i = j + 1;
	return 0;
}

/* n decimal digits at p, or -1. */
static int digits(const uint8_t *p, size_t n)
{
	int v = 0;
	for (size_t k = 0; k < n; k++) {
		if (!is_digit(p[k]))
			return -1;
		v = v * 10 + (p[k] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/*
 * An RFC 3339 date-time at the start of p[0..n): NULL and its length in
 * *used, or what is wrong and where in *used.  Strict is RFC 5424's
 * profile (upper-case 'T' and 'Z', 1..6 fraction digits, no second 60);
 * lenient also takes lower case, up to 9 fraction digits and second 60.
 */
static const char *rfc3339(const uint8_t *p, size_t n, int strict, size_t *used)
{
	int y, mo, d, h, mi, s;
	*used = 0;
	if (n < 10 || (y = digits(p, 4)) < 0 || p[4] != '-' || (mo = digits(p + 5, 2)) < 0 ||
	    p[7] != '-' || (d = digits(p + 8, 2)) < 0)
		return "TIMESTAMP is not a date YYYY-MM-DD";
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
		*used = mo < 1 || mo > 12 ? 5 : 8;
		return "TIMESTAMP has no such date";
	}
	*used = 10;
	if (n == 10 || (p[10] != 'T' && (strict || p[10] != 't')))
		return "TIMESTAMP has no 'T' between date and time";
	*used = 11;
	if (n < 19 || (h = digits(p + 11, 2)) < 0 || p[13] != ':' ||
	    (mi = digits(p + 14, 2)) < 0 || p[16] != ':' || (s = digits(p + 17, 2)) < 0)
		return "TIMESTAMP has no time hh:mm:ss";
	if (h > 23 || mi > 59 || s > (strict ? 59 : 60))
		return "TIMESTAMP has no such time of day";
	size_t k = 19;
	if (k < n && p[k] == '.') {
		size_t f = ++k;
		while (k < n && is_digit(p[k]))
			k++;
		if (k == f || k - f > (strict ? 6u : 9u)) {
			*used = f;
			return strict ? "TIMESTAMP fraction must have 1 to 6 digits"
			              : "TIMESTAMP fraction must have 1 to 9 digits";
		}
	}
	*used = k;
	if (k < n && (p[k] == 'Z' || (!strict && p[k] == 'z'))) {
		*used = k + 1;
		return NULL;
	}
	if (k < n && (p[k] == '+' || p[k] == '-')) {
		int oh, om;
		if (n - k < 6 || (oh = digits(p + k + 1, 2)) < 0 || p[k + 3] != ':' ||
		    (om = digits(p + k + 4, 2)) < 0 || oh > 23 || om > 59)
			return "TIMESTAMP has a bad offset (expected +hh:mm or -hh:mm)";
		*used = k + 6;
		return NULL;
	}
	return "TIMESTAMP has no time zone ('Z' or +hh:mm)";
}

/* An RFC 5424 header field: NILVALUE or 1..max PRINTUSASCII, then SP. */
static int header_field(const struct cur *c, size_t *i, const char *name, size_t max,
                        vs_syslog_span *out)
{
	size_t s = *i, k = s;
	while (k < c->n && is_print(c->p[k]))
		k++;
	if (k == s) {
		if (k == c->n)
			return perr(c, k, "message ends where %s should be", name);
		if (c->p[k] == ' ')
			return perr(c, k, "%s is empty (a second SP?)", name);
		return perr(c, k, "byte 0x%02x is not allowed in %s (printable US-ASCII only)",
		            c->p[k], name);
	}
	if (k - s > max)
		return perr(c, s, "%s is longer than %zu bytes", name, max);
	if (k == c->n)
		return perr(c, k, "message ends after %s", name);
	if (c->p[k] != ' ')
		return perr(c, k, "byte 0x%02x is not allowed in %s (printable US-ASCII only)",
		            c->p[k], name);
	out->off = s;
	out->len = (k - s == 1 && c->p[s] == '-') ? 0 : k - s;
	*i = k + 1;
	return 0;
}

/* SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'; its length. */
static size_t sd_name_len(const struct cur *c, size_t i)
{
	size_t k = i;
	while (k < c->n && is_print(c->p[k]) && c->p[k] != '=' && c->p[k] != ']' &&
	       c->p[k] != '"')
		k++;
	return k - i;
}

static int sd_name(const struct cur *c, size_t *i, const char *what)
{
	size_t len = sd_name_len(c, *i);
	if (len == 0) {
		if (*i == c->n)
			return perr(c, *i, "message ends where %s should be", what);
		return perr(c, *i, "%s is empty or starts with byte 0x%02x", what, c->p[*i]);
	}
	if (len > 32)
		return perr(c, *i, "%s is longer than 32 bytes", what);
	*i += len;
	return 0;
}

/* PARAM-VALUE after its opening '"'; *i is left after the closing '"'. */
static int param_value(const struct cur *c, size_t *i)
{
	size_t open = *i - 1, k = *i;
	while (k < c->n) {
		uint8_t b = c->p[k];
		if (b == '"') {
			*i = k + 1;
			return 0;
		}
		if (b == ']')
			return perr(c, k, "']' in PARAM-VALUE must be escaped as \"\\]\"");
		/* '\' escapes '"', '\' and ']'; before anything else it is
		 * itself (RFC 5424 §6.3.3). */
		if (b == '\\' && k + 1 < c->n &&
		    (c->p[k + 1] == '"' || c->p[k + 1] == '\\' || c->p[k + 1] == ']'))
			k++;
		k++;
	}
	return perr(c, open, "PARAM-VALUE is not closed by '\"'");
}

/* One SD-ELEMENT at *i (which is '['). */
static int sd_element(const struct cur *c, size_t *i)
{
	size_t k = *i + 1;
	if (sd_name(c, &k, "SD-ID") != 0)
		return -1;
	while (k < c->n && c->p[k] == ' ') {
		k++;
		if (sd_name(c, &k, "PARAM-NAME") != 0)
			return -1;
		if (k == c->n || c->p[k] != '=')
			return perr(c, k, "expected '=' after PARAM-NAME");
		if (++k == c->n || c->p[k] != '"')
			return perr(c, k, "expected '\"' to open PARAM-VALUE");
		k++;
		if (param_value(c, &k) != 0)
			return -1;
	}
	if (k == c->n)
		return perr(c, *i, "SD-ELEMENT is not closed by ']'");
	if (c->p[k] != ']')
		return perr(c, k, "expected SP or ']' in SD-ELEMENT, found byte 0x%02x", c->p[k]);
	*i = k + 1;
	return 0;
}

static int structured_data(const struct cur *c, size_t *i, vs_syslog_span *sd)
{
	size_t s = *i;
	sd->off = s;
	sd->len = 0;
	if (s == c->n)
		return perr(c, s, "message ends where STRUCTURED-DATA should be");
	if (c->p[s] == '-') {
		*i = s + 1;
		return 0;
	}
	if (c->p[s] != '[')
		return perr(c, s, "expected '[' or '-' for STRUCTURED-DATA, found byte 0x%02x",
		            c->p[s]);
	size_t k = s;
	while (k < c->n && c->p[k] == '[')
		if (sd_element(c, &k) != 0)
			return -1;
	sd->len = k - s;
	*i = k;
	return 0;
}

static int parse_5424(const struct cur *c, size_t i, vs_syslog_msg *m)
{
	size_t k = i;
	while (k < c->n && c->p[k] != ' ')
		k++;
	m->timestamp.off = i;
	m->timestamp.len = 0;
	if (k == c->n)
		return perr(c, k, "message ends after TIMESTAMP");
	if (!(k - i == 1 && c->p[i] == '-')) {
		size_t used;
		const char *why = rfc3339(c->p + i, k - i, 1, &used);
		if (why != NULL)
			return perr(c, i + used, "%s", why);
		if (used != k - i)
			return perr(c, i + used, "unexpected byte 0x%02x after TIMESTAMP",
			            c->p[i + used]);
		m->timestamp.len = k - i;
	}
	i = k + 1;
	if (header_field(c, &i, "HOSTNAME", 255, &m->hostname) != 0 ||
	    header_field(c, &i, "APP-NAME", 48, &m->app_name) != 0 ||
	    header_field(c, &i, "PROCID", 128, &m->procid) != 0 ||
	    header_field(c, &i, "MSGID", 32, &m->msgid) != 0 ||
	    structured_data(c, &i, &m->sd) != 0)
		return -1;
	if (i == c->n) {
		m->msg.off = i;
		m->msg.len = 0;
		return 0;
	}
	if (c->p[i] != ' ')
		return perr(c, i, "expected SP or the end after STRUCTURED-DATA, found byte 0x%02x",
		            c->p[i]);
	m->msg.off = i + 1;
	m->msg.len = c->n - (i + 1);
	m->bom = m->msg.len >= 3 && memcmp(c->p + m->msg.off, "\xef\xbb\xbf", 3) == 0;
	return 0;
}

/* Two digits at p making at most max. */
static int in_range(const uint8_t *p, int max)
{
	int v = digits(p, 2);
	return v >= 0 && v <= max;
}

/* "Mmm dd hh:mm:ss[.fff]" (day " d", "dd" or "d") at p[0..n); its length
 * or 0. */
static size_t bsd_timestamp(const uint8_t *p, size_t n)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t m;
	if (n < 14)
		return 0;
	for (m = 0; m < 12; m++)
		if (memcmp(p, months + 3 * m, 3) == 0)
			break;
	if (m == 12 || p[3] != ' ')
		return 0;
	size_t k = 4;
	if (p[4] == ' ' && is_digit(p[5]))
		k = 6; /* "Nov  6" */
	else if (is_digit(p[4]) && is_digit(p[5]))
		k = 6; /* "Nov 06", "Nov 26" */
	else if (is_digit(p[4]) && p[5] == ' ')
		k = 5; /* "Nov 6" */
	else
		return 0;
	if (n - k < 9 || p[k] != ' ' || !in_range(p + k + 1, 23) || p[k + 3] != ':' ||
	    !in_range(p + k + 4, 59) || p[k + 6] != ':' || !in_range(p + k + 7, 60))
		return 0;
	k += 9;
	if (k + 1 < n && p[k] == '.' && is_digit(p[k + 1])) {
		k++;
		while (k < n && is_digit(p[k]))
			k++;
	}
	return k;
}

static int hostname_char(uint8_t b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || is_digit(b) || b == '.' ||
	       b == '-' || b == '_' || b == ':';
}

/*
 * An RFC 3164 TAG at p[i..n): "name:" (':' then SP or the end), "name[pid]"
 * or "name[pid]:".  Returns 1 and the spans and where MSG starts, or 0.
 */
static int bsd_tag(const struct cur *c, size_t i, vs_syslog_msg *m, size_t *msg_start)
{
	const uint8_t *p = c->p;
	size_t k = i;
	while (k < c->n && is_print(p[k]) && p[k] != ':' && p[k] != '[' && p[k] != ']')
		k++;
	if (k == i || k - i > 48 || k == c->n)
		return 0;
	size_t name_end = k, pid = k, pid_end = k;
	if (p[k] == '[') {
		pid = ++k;
		while (k < c->n && is_print(p[k]) && p[k] != ']')
			k++;
		if (k == pid || k - pid > 128 || k == c->n || p[k] != ']')
			return 0;
		pid_end = k++;
		if (k < c->n && p[k] == ':')
			k++;
	} else if (p[k] == ':' && (k + 1 == c->n || p[k + 1] == ' ')) {
		k++;
	} else {
		return 0;
	}
	if (k < c->n && p[k] == ' ')
		k++;
	m->app_name.off = i;
	m->app_name.len = name_end - i;
	m->procid.off = pid;
	m->procid.len = pid_end - pid;
	*msg_start = k;
	return 1;
}

static void parse_3164(const struct cur *c, size_t i, vs_syslog_msg *m)
{
	const uint8_t *p = c->p;
	size_t ts = bsd_timestamp(p + i, c->n - i), used = 0;
	if (ts == 0 && rfc3339(p + i, c->n - i, 0, &used) == NULL)
		ts = used;
	m->timestamp.off = i;
	if (ts == 0 || (i + ts < c->n && p[i + ts] != ' ')) {
		/* No timestamp: everything is MSG (RFC 3164 §4.3.3). */
		m->hostname.off = m->app_name.off = m->procid.off = i;
		m->msgid.off = m->sd.off = m->msg.off = i;
		m->msg.len = c->n - i;
		return;
	}
	m->timestamp.len = ts;
	i += ts;
	while (i < c->n && p[i] == ' ')
		i++;
	m->hostname.off = m->app_name.off = m->procid.off = i;
	size_t start = i;
	if (!bsd_tag(c, i, m, &start)) {
		size_t k = i;
		while (k < c->n && hostname_char(p[k]))
			k++;
		if (k > i && k - i <= 255 && (k == c->n || p[k] == ' ')) {
			m->hostname.len = k - i;
			start = k;
			while (start < c->n && p[start] == ' ')
				start++;
			m->app_name.off = m->procid.off = start;
			if (!bsd_tag(c, start, m, &start))
				m->app_name.off = m->procid.off = start;
		}
	}
	m->msgid.off = m->sd.off = m->msg.off = start;
	m->msg.len = c->n - start;
}

int vs_syslog_parse(const uint8_t *msg, size_t len, vs_syslog_msg *out, char *err, size_t errcap)
{
	struct cur c = {msg, len, err, errcap};
	size_t i = 0;

	memset(out, 0, sizeof *out);
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (parse_pri(&c, out, &i) != 0)
		return -1;
	/* VERSION = NONZERO-DIGIT 0*2DIGIT, then SP: RFC 5424. */
	size_t k = i;
	while (k < len && k - i < 3 && is_digit(msg[k]))
		k++;
	if (k > i && msg[i] != '0' && k < len && msg[k] == ' ') {
		int version = digits(msg + i, k - i);
		if (version != 1)
			return perr(&c, i, "unsupported syslog VERSION %d (only 1 is known)",
			            version);
		out->format = VS_SYSLOG_RFC5424;
		out->version = 1;
		return parse_5424(&c, k + 1, out);
	}
	out->format = VS_SYSLOG_RFC3164;
	parse_3164(&c, i, out);
	return 0;
}
