/*
 * envelope.c — write and parse the event envelope (format in envelope.h
 * and docs/format.md).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int printable(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e || n >= VS_HEADER_VALUE_MAX)
			return 0;
	return n > 0;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int format_time(const struct timespec *ts, char out[48])
{
	int64_t sec = ts->tv_sec, days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	int64_t rem = sec - days * 86400;
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 1970 || y > 9999)
		return -1;
	snprintf(out, 48, "%04d-%02u-%02uT%02u:%02u:%02u.%09uZ", y, m % 13, d % 32,
	         (unsigned)(rem / 3600) % 24, (unsigned)(rem / 60 % 60), (unsigned)(rem % 60),
	         (unsigned)(ts->tv_nsec % 1000000000));
	return 0;
}

int vs_envelope_template_init(vs_envelope_template *t, const vs_envelope *e)
{
	char when[48], spooled[48];
	t->len = 0;
	int has_origin = e->agent && e->origin && e->origin[0];
	if (format_time(&e->received, when) || !printable(e->principal) ||
	    !printable(e->transport) || !printable(e->content_type) ||
	    (e->peer && !printable(e->peer)) ||
	    (e->agent && (!printable(e->agent) || format_time(&e->spooled, spooled))) ||
	    (has_origin && !printable(e->origin)))
		return -1;
	int n = snprintf((char *)t->prefix, sizeof t->prefix,
	                 VS_ENVELOPE_MAGIC "received: %s\nprincipal: %s\ntransport: %s\n"
	                                   "content-type: %s\n%s%s%s",
	                 when, e->principal, e->transport, e->content_type, e->peer ? "peer: " : "",
	                 e->peer ? e->peer : "", e->peer ? "\n" : "");
	if (n <= 0 || (size_t)n >= sizeof t->prefix)
		return -1;
	if (e->agent) {
		int m = snprintf((char *)t->prefix + n, sizeof t->prefix - (size_t)n,
		                 "agent: %s\nspool-index: %llu\nspooled: %s\n%s%s%s", e->agent,
		                 (unsigned long long)e->spool_index, spooled,
		                 has_origin ? "origin: " : "", has_origin ? e->origin : "",
		                 has_origin ? "\n" : "");
		if (m <= 0 || (size_t)m >= sizeof t->prefix - (size_t)n)
			return -1;
		n += m;
	}
	t->len = (size_t)n;
	return 0;
}

size_t vs_envelope_template_write(const vs_envelope_template *t, const uint8_t *key,
                                  uint32_t request_events, uint8_t *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t tail[128];
	size_t k = 0;
	if (t->len == 0 || (key && request_events == 0))
		return 0;
	if (key) {
		memcpy(tail, "idempotency-key: ", 17);
		k = 17;
		for (int i = 0; i < VS_IDEM_KEY_SIZE; i++) {
			tail[k++] = (uint8_t)hex[key[i] >> 4];
			tail[k++] = (uint8_t)hex[key[i] & 15];
		}
		memcpy(tail + k, "\nrequest-events: ", 17);
		k += 17;
		char digits[12];
		int d = 0;
		do
			digits[d++] = (char)('0' + request_events % 10);
		while ((request_events /= 10) != 0);
		while (d > 0)
			tail[k++] = (uint8_t)digits[--d];
		tail[k++] = '\n';
	}
	tail[k++] = '\n';
	size_t n = t->len + k;
	if (out) {
		if (n > cap)
			return 0;
		memcpy(out, t->prefix, t->len);
		memcpy(out + t->len, tail, k);
	}
	return n;
}

size_t vs_envelope_write_header(const vs_envelope *e, uint8_t *out, size_t cap)
{
	vs_envelope_template t;
	if (vs_envelope_template_init(&t, e) != 0)
		return 0;
	return vs_envelope_template_write(&t, e->idem_key, e->request_events, out, cap);
}

size_t vs_envelope_header_len(const vs_envelope *e) { return vs_envelope_write_header(e, NULL, 0); }

/* One header line "NAME: VALUE\n" at *pos; value span out. */
static int take_line(const uint8_t *p, size_t len, size_t *pos, const char *name, const char **v,
                     size_t *vlen)
{
	size_t nl = strlen(name);
	if (len - *pos < nl + 3 || memcmp(p + *pos, name, nl) != 0 || p[*pos + nl] != ':' ||
	    p[*pos + nl + 1] != ' ')
		return -1;
	size_t s = *pos + nl + 2, i = s;
	while (i < len && p[i] != '\n') {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
		i++;
	}
	if (i == len || i == s || i - s > VS_HEADER_VALUE_MAX)
		return -1;
	*v = (const char *)p + s;
	*vlen = i - s;
	*pos = i + 1;
	return 0;
}

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_time(const char *s, size_t n, int64_t *sec, uint32_t *nsec)
{
	unsigned y, mo, d, h, mi, se, ns;
	if (n != 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != '.' || s[29] != 'Z' || digits(s, 4, &y) ||
	    digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) || digits(s + 20, 9, &ns))
		return -1;
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
		return -1;
	unsigned leap = mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
	if (d < 1 || d > mdays[mo - 1] + leap)
		return -1; /* one spelling per instant: no 31 November, no :60 */
	*sec = days_from_civil((int)y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	*nsec = ns;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int vs_envelope_parse(const uint8_t *p, size_t len, vs_envelope_view *out)
{
	memset(out, 0, sizeof *out);
	size_t pos = sizeof VS_ENVELOPE_MAGIC - 1, tlen, rlen;
	const char *t, *r;
	if (len < pos || memcmp(p, VS_ENVELOPE_MAGIC, pos) != 0 ||
	    take_line(p, len, &pos, "received", &t, &tlen) ||
	    parse_time(t, tlen, &out->received_sec, &out->received_nsec) ||
	    take_line(p, len, &pos, "principal", &out->principal, &out->principal_len) ||
	    take_line(p, len, &pos, "transport", &out->transport, &out->transport_len) ||
	    take_line(p, len, &pos, "content-type", &out->content_type, &out->content_type_len))
		return -1;
	if (pos < len && p[pos] == 'p' &&
	    take_line(p, len, &pos, "peer", &out->peer, &out->peer_len))
		return -1;
	if (pos < len && p[pos] == 'a') {
		const char *si, *sp;
		size_t silen, splen;
		if (take_line(p, len, &pos, "agent", &out->agent, &out->agent_len) ||
		    take_line(p, len, &pos, "spool-index", &si, &silen) || silen > 20 ||
		    (silen > 1 && si[0] == '0') ||
		    take_line(p, len, &pos, "spooled", &sp, &splen) ||
		    parse_time(sp, splen, &out->spooled_sec, &out->spooled_nsec))
			return -1;
		uint64_t v = 0;
		for (size_t i = 0; i < silen; i++) {
			if (si[i] < '0' || si[i] > '9' || v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(si[i] - '0');
		}
		out->spool_index = v;
		out->has_agent = 1;
		if (pos < len && p[pos] == 'o' &&
		    take_line(p, len, &pos, "origin", &out->origin, &out->origin_len))
			return -1;
	}
	if (pos < len && p[pos] == 'i') {
		unsigned n;
		if (take_line(p, len, &pos, "idempotency-key", &t, &tlen) ||
		    tlen != 2 * VS_IDEM_KEY_SIZE ||
		    take_line(p, len, &pos, "request-events", &r, &rlen) || rlen > 9 ||
		    digits(r, rlen, &n) || n == 0 || (rlen > 1 && r[0] == '0'))
			return -1;
		for (size_t i = 0; i < VS_IDEM_KEY_SIZE; i++) {
			int hi = hexval(t[2 * i]), lo = hexval(t[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			out->idem_key[i] = (uint8_t)(hi << 4 | lo);
		}
		out->has_idem_key = 1;
		out->request_events = n;
	}
	if (pos >= len || p[pos] != '\n')
		return -1;
	out->event_off = pos + 1;
	out->event_len = len - pos - 1;
	return 0;
}
