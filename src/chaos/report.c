/*
 * report.c — the report of `vellum chaos run`: DIR/report.json for
 * programs and DIR/report.html for people (self-contained: inline CSS and
 * SVG, no script, no external resource).  Both are built in memory, written
 * to a temporary file and renamed into place.  Every string from a result
 * is first made valid UTF-8 (an invalid byte becomes U+FFFD), then escaped
 * for JSON or HTML; a number that is not finite is written as null (JSON)
 * or left out of a chart (HTML); numbers are formatted in the C locale.
 * The fields are described in docs/chaos.md.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "chaos.h"
#include "json_escape.h"

#include <vellum.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What no scenario tested, whatever it was: shown under "Limits of what was
 * tested" before each scenario's own limits. */
static const char general_limits[] =
	"Every scenario ran on one machine: the vellum processes and the load client shared its "
	"CPUs, memory and disk, and talked over the loopback interface. Network faults were those "
	"the fault proxy makes between two local sockets; there was no packet loss, reordering or "
	"delay inside the kernel's TCP and no real network hardware. Faults came from outside the "
	"vellum processes (signals, the fault proxy and, where strace is installed, a kill at a "
	"chosen system call), never from the kernel, the file system or the hardware. Power loss "
	"was at most simulated, never real: a killed process leaves the kernel's page cache "
	"intact, and disks or file systems that acknowledge a flush they did not do were not "
	"tested. The checker judges acknowledged events only: an event whose outcome the client "
	"never learnt may be in the log or not, and either is accepted. Each scenario ran once, "
	"for a short time, with one seed and one shape of load; a pass means that these runs "
	"found no lost, duplicated or corrupt acknowledged event, not that none can happen.";

/* ------------------------------------------------------------ buffers */

typedef struct buf {
	char *p;
	size_t len, cap;
	int oom;
} buf;

static void b_put(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void b_puts(buf *b, const char *s)
{
	b_put(b, s, strlen(s));
}

static void b_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void b_printf(buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n < sizeof small) {
		b_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b_put(b, big, (size_t)n);
	free(big);
}

static void set_err(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (!err || errcap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ text */

/* Length of the valid UTF-8 sequence at S (N bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len;
	uint32_t min, cp;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* S (at most MAX bytes, or up to its NUL) as valid UTF-8 without NULs,
 * malloc'ed; *LEN its length.  NULL when out of memory. */
static char *clean_utf8(const char *s, size_t max, size_t *len)
{
	static const char repl[] = "\xef\xbf\xbd";
	size_t n = s ? strnlen(s, max) : 0, o = 0;
	char *out = malloc(n * 3 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0) {
			memcpy(out + o, repl, 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		}
	}
	out[o] = 0;
	*len = o;
	return out;
}

/* A JSON string literal of S (at most MAX bytes). */
static void b_json_str(buf *b, const char *s, size_t max)
{
	size_t n;
	char *clean = clean_utf8(s, max, &n);
	char *esc = clean ? malloc(n * 6 + 1) : NULL;

	if (!esc) {
		b->oom = 1;
		free(clean);
		return;
	}
	/* Every byte takes at most 6 escaped, so nothing is cut. */
	size_t e = vs_json_escape(clean, n, esc, n * 6 + 1);
	b_put(b, "\"", 1);
	b_put(b, esc, e);
	b_put(b, "\"", 1);
	free(esc);
	free(clean);
}

/* S (at most MAX bytes) escaped for HTML text or an attribute value.  Control
 * characters other than tab and newline become U+FFFD. */
static void b_html(buf *b, const char *s, size_t max)
{
	size_t n;
	char *clean = clean_utf8(s, max, &n);

	if (!clean) {
		b->oom = 1;
		return;
	}
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)clean[i];
		const char *rep = c == '&'   ? "&amp;"
		                : c == '<'   ? "&lt;"
		                : c == '>'   ? "&gt;"
		                : c == '"'   ? "&quot;"
		                : c == '\''  ? "&#39;"
		                : c == '\t' || c == '\n' ? NULL
		                : c < 0x20 || c == 0x7f ? "\xef\xbf\xbd"
		                                        : NULL;
		if (!rep)
			continue;
		b_put(b, clean + from, i - from);
		b_puts(b, rep);
		from = i + 1;
	}
	b_put(b, clean + from, n - from);
	free(clean);
}

/* V in the fewest significant digits that read back as V.  V is finite. */
static void fmt_double(char *out, size_t cap, double v)
{
	int prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	snprintf(out, cap, "%.*g", prec, v);
	/* 4210 rather than 4.21e+03: no exponent in the usual range. */
	if (strchr(out, 'e') && fabs(v) >= 1e-4 && fabs(v) < 1e15) {
		int exp10 = (int)floor(log10(fabs(v)));
		snprintf(out, cap, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, v);
	}
}

/* A JSON number, or null when V is not finite or (NONNEG) negative. */
static void b_json_num(buf *b, double v, int nonneg)
{
	char tmp[64];

	if (!isfinite(v) || (nonneg && v < 0)) {
		b_puts(b, "null");
		return;
	}
	fmt_double(tmp, sizeof tmp, v);
	b_puts(b, tmp);
}

static const char *status_word(const vc_result *r)
{
	return r->skipped ? "skipped" : r->passed ? "pass" : "fail";
}

/* ------------------------------------------------------------ report.json */

static void json_result(buf *b, const vc_result *r)
{
	b_puts(b, "{\"name\": ");
	b_json_str(b, r->name, sizeof r->name);
	b_printf(b, ", \"seed\": \"%" PRIu64 "\"", r->seed);
	b_printf(b, ", \"status\": \"%s\", \"passed\": %s, \"skipped\": %s", status_word(r),
	         r->passed && !r->skipped ? "true" : "false", r->skipped ? "true" : "false");
	b_puts(b, ",\n   \"duration_s\": ");
	b_json_num(b, r->duration_s, 0);
	b_printf(b,
	         ", \"acked\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"duplicated\": %" PRIu64
	         ", \"holes\": %" PRIu64 ", \"corrupt\": %" PRIu64,
	         r->acked, r->lost, r->duplicated, r->holes, r->corrupt);
	b_printf(b,
	         ",\n   \"corruptions_injected\": %" PRIu64 ", \"corruptions_detected\": %" PRIu64
	         ", \"acks_after_io_error\": %" PRIu64,
	         r->corruptions_injected, r->corruptions_detected, r->acks_after_io_error);
	b_puts(b, ", \"recovery_seconds\": ");
	b_json_num(b, r->recovery_seconds, 1);
	/* The agent load's counts, only where agents ran. */
	if (r->agents)
		b_printf(b,
		         ",\n   \"agents\": %u, \"agent_lines\": %" PRIu64 ", \"agent_lost\": %" PRIu64
		         ", \"agent_duplicated\": %" PRIu64 ", \"agent_reordered\": %" PRIu64
		         ", \"agent_corrupt\": %" PRIu64,
		         r->agents, r->agent_lines, r->agent_lost, r->agent_duplicated,
		         r->agent_reordered, r->agent_corrupt);
	b_puts(b, ",\n   \"latency_ms\": {\"p50\": ");
	b_json_num(b, r->p50_ms, 1);
	b_puts(b, ", \"p90\": ");
	b_json_num(b, r->p90_ms, 1);
	b_puts(b, ", \"p99\": ");
	b_json_num(b, r->p99_ms, 1);
	b_puts(b, ", \"max\": ");
	b_json_num(b, r->max_ms, 1);
	b_puts(b, "},\n   \"replay\": ");
	b_json_str(b, r->replay, sizeof r->replay);
	b_puts(b, ",\n   \"verdict\": ");
	b_json_str(b, r->verdict, sizeof r->verdict);
	b_puts(b, ",\n   \"limits\": ");
	b_json_str(b, r->limits, sizeof r->limits);
	b_puts(b, ",\n   \"windows\": [");
	for (size_t i = 0; i < r->n_windows; i++) {
		const vc_window *w = &r->windows[i];
		b_puts(b, i ? ",\n     {\"start_s\": " : "\n     {\"start_s\": ");
		b_json_num(b, w->start_s, 0);
		b_puts(b, ", \"end_s\": ");
		b_json_num(b, w->end_s, 1);
		b_puts(b, ", \"what\": ");
		b_json_str(b, w->what, sizeof w->what);
		b_puts(b, "}");
	}
	b_puts(b, r->n_windows ? "\n   ],\n   \"samples\": [" : "],\n   \"samples\": [");
	for (size_t i = 0; i < r->n_samples; i++) {
		const vc_sample *s = &r->samples[i];
		b_puts(b, i ? ",\n     {\"t_s\": " : "\n     {\"t_s\": ");
		b_json_num(b, s->t_s, 0);
		b_printf(b,
		         ", \"acked\": %" PRIu64 ", \"failed\": %" PRIu64
		         ", \"unknown\": %" PRIu64,
		         s->acked, s->failed, s->unknown);
		b_puts(b, ", \"p50_ms\": ");
		b_json_num(b, s->p50_ms, 1);
		b_puts(b, ", \"p99_ms\": ");
		b_json_num(b, s->p99_ms, 1);
		b_puts(b, "}");
	}
	b_puts(b, r->n_samples ? "\n   ]}" : "]}");
}

static void json_report(buf *b, const char *command, const char *when, const vc_result *results,
                        size_t n, int passed)
{
	b_puts(b, "{\"command\": ");
	b_json_str(b, command, command ? strlen(command) : 0);
	b_printf(b, ",\n \"generated\": \"%s\",\n \"passed\": %s,\n \"scenarios\": [", when,
	         passed ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		b_puts(b, i ? ",\n  " : "\n  ");
		json_result(b, &results[i]);
	}
	b_puts(b, n ? "\n ]}\n" : "]}\n");
}

/* ------------------------------------------------------------ charts */

#define CH_W 960
#define CH_H 300
#define CH_ML 70  /* left margin: the y tick labels */
#define CH_MR 20
#define CH_MT 44  /* top margin: the legend */
#define CH_MB 46  /* bottom margin: the x tick labels and the axis title */
#define CH_PW (CH_W - CH_ML - CH_MR)
#define CH_PH (CH_H - CH_MT - CH_MB)

static const char col_acked[] = "#0969da", col_failed[] = "#bc4c00", col_unknown[] = "#8250df";
static const char col_p50[] = "#0969da", col_p99[] = "#bf3989", col_window[] = "#d4a72c";

/* A step of 1, 2 or 5 times a power of ten giving about TICKS ticks over
 * RANGE (> 0). */
static double nice_step(double range, int ticks)
{
	double raw = range / ticks, mag = pow(10, floor(log10(raw))), norm = raw / mag;
	return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

static double fin(double v)
{
	return isfinite(v) ? v : 0;
}

/* The chart's x range: the run's duration, the samples and the windows. */
static double x_extent(const vc_result *r)
{
	double x = fin(r->duration_s);
	for (size_t i = 0; i < r->n_samples; i++)
		if (fin(r->samples[i].t_s) + 1 > x)
			x = fin(r->samples[i].t_s) + 1;
	for (size_t i = 0; i < r->n_windows; i++) {
		if (fin(r->windows[i].start_s) > x)
			x = fin(r->windows[i].start_s);
		if (fin(r->windows[i].end_s) > x)
			x = fin(r->windows[i].end_s);
	}
	return x > 1e12 ? 1e12 : x > 0 ? x : 1;
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static double xpos(double t, double xmax)
{
	return CH_ML + clampd(fin(t) / xmax, 0, 1) * CH_PW;
}

/* A tick label: no trailing zeros, no exponent below a million. */
static void fmt_tick(char *out, size_t cap, double v)
{
	if (fabs(v) < 1e-9)
		v = 0;
	if (fabs(v) >= 1e6)
		snprintf(out, cap, "%.3g", v);
	else
		snprintf(out, cap, "%.6g", v);
}

/* The frame of a chart: its title, the plot area's clip path, the fault
 * windows (shaded, labelled), the x axis with its ticks. */
static void chart_open(buf *b, const vc_result *r, const char *id, const char *title,
                       const char *label, double xmax)
{
	char tick[64];

	b_printf(b,
	         "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	         "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
	         CH_W, CH_H, CH_W, CH_H);
	b_puts(b, label);
	b_puts(b, "\">\n");
	b_printf(b,
	         "<defs><clipPath id=\"%s\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
	         "</clipPath></defs>\n",
	         id, CH_ML, CH_MT, CH_PW, CH_PH);
	b_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", CH_W,
	         CH_H);
	b_printf(b, "<text x=\"%d\" y=\"16\" class=\"ct\">%s</text>\n", CH_ML, title);
	/* The windows, under everything else. */
	for (size_t i = 0; i < r->n_windows; i++) {
		const vc_window *w = &r->windows[i];
		double x0 = xpos(w->start_s, xmax);
		double x1 = CH_ML + CH_PW; /* until the end */
		if (isfinite(w->end_s) && w->end_s >= 0)
			x1 = xpos(w->end_s, xmax);
		if (x1 < x0 + 1)
			x1 = x0 + 1;
		b_printf(b,
		         "<g clip-path=\"url(#%s)\"><rect class=\"window\" x=\"%.1f\" y=\"%d\" "
		         "width=\"%.1f\" height=\"%d\" fill=\"%s\" fill-opacity=\"0.22\" "
		         "stroke=\"%s\" stroke-opacity=\"0.6\"><title>",
		         id, x0, CH_MT, x1 - x0, CH_PH, col_window, col_window);
		b_html(b, w->what, sizeof w->what);
		b_printf(b, "</title></rect><text class=\"wl\" x=\"%.1f\" y=\"%d\">", x0 + 3,
		         CH_MT + 12 + (int)(i % 4) * 12);
		b_html(b, w->what, sizeof w->what);
		b_puts(b, "</text></g>\n");
	}
	/* The x axis. */
	double step = nice_step(xmax, 10);
	b_printf(b,
	         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#57606a\"/>\n"
	         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#57606a\"/>\n",
	         CH_ML, CH_MT + CH_PH, CH_ML + CH_PW, CH_MT + CH_PH, CH_ML, CH_MT, CH_ML,
	         CH_MT + CH_PH);
	for (int k = 0; k <= 40 && k * step <= xmax * (1 + 1e-9); k++) {
		double x = xpos(k * step, xmax);
		fmt_tick(tick, sizeof tick, k * step);
		b_printf(b,
		         "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#57606a\"/>"
		         "<text class=\"tx\" x=\"%.1f\" y=\"%d\">%s</text>\n",
		         x, CH_MT + CH_PH, x, CH_MT + CH_PH + 5, x, CH_MT + CH_PH + 18, tick);
	}
	b_printf(b, "<text class=\"tx\" x=\"%d\" y=\"%d\">seconds since the load began</text>\n",
	         CH_ML + CH_PW / 2, CH_H - 6);
}

/* One legend entry, the Ith, at the top right. */
static void legend(buf *b, int i, const char *colour, int is_area, const char *text)
{
	int x = CH_W - CH_MR - 150 * (4 - i), y = 22;
	if (is_area)
		b_printf(b,
		         "<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"10\" fill=\"%s\" "
		         "fill-opacity=\"0.22\" stroke=\"%s\"/>",
		         x, y - 5, colour, colour);
	else
		b_printf(b,
		         "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
		         "stroke-width=\"2.5\"/>",
		         x, y, x + 18, y, colour);
	b_printf(b, "<text class=\"lg\" x=\"%d\" y=\"%d\">%s</text>\n", x + 24, y + 4, text);
}

/* A horizontal grid line with its y tick label. */
static void y_tick(buf *b, double y, const char *label)
{
	b_printf(b,
	         "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d0d7de\" "
	         "stroke-dasharray=\"3 3\"/><text class=\"ty\" x=\"%d\" y=\"%.1f\">%s</text>\n",
	         CH_ML, y, CH_ML + CH_PW, y, CH_ML - 6, y + 4, label);
}

/* A series: polylines through the points whose value is usable (OK[i]),
 * a dot for a point standing alone. */
static void series(buf *b, const char *id, const char *colour, const double *xs,
                   const double *ys, const unsigned char *ok, size_t n)
{
	b_printf(b, "<g clip-path=\"url(#%s)\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\">",
	         id, colour);
	for (size_t i = 0; i < n;) {
		if (!ok[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && ok[j])
			j++;
		if (j - i == 1) {
			b_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", xs[i],
			         ys[i], colour);
		} else {
			b_puts(b, "<polyline points=\"");
			for (size_t k = i; k < j; k++)
				b_printf(b, "%s%.1f,%.1f", k > i ? " " : "", xs[k], ys[k]);
			b_puts(b, "\"/>");
		}
		i = j;
	}
	b_puts(b, "</g>\n");
}

static void no_data(buf *b, const char *text)
{
	b_printf(b, "<text class=\"nd\" x=\"%d\" y=\"%d\">%s</text>\n", CH_ML + CH_PW / 2,
	         CH_MT + CH_PH / 2, text);
}

/* Events per second: acknowledged, refused, unknown outcome. */
static int chart_throughput(buf *b, const vc_result *r, size_t idx)
{
	size_t n = r->n_samples;
	double xmax = x_extent(r), ymax = 0;
	double *xs = malloc((n ? n : 1) * sizeof *xs), *ys = malloc((n ? n : 1) * sizeof *ys);
	unsigned char *ok = malloc(n ? n : 1);
	char id[32], tick[64];

	if (!xs || !ys || !ok) {
		free(xs), free(ys), free(ok);
		return VL_ENOMEM;
	}
	snprintf(id, sizeof id, "c%zu-t", idx);
	chart_open(b, r, id, "Throughput (events per second)", "throughput over time", xmax);
	for (size_t i = 0; i < n; i++) {
		const vc_sample *s = &r->samples[i];
		double m = (double)s->acked;
		if ((double)s->failed > m)
			m = (double)s->failed;
		if ((double)s->unknown > m)
			m = (double)s->unknown;
		if (m > ymax)
			ymax = m;
	}
	double step = nice_step(ymax > 0 ? ymax : 1, 5);
	double top = ceil((ymax > 0 ? ymax : 1) / step) * step;
	for (int k = 0; k <= 20 && k * step <= top * (1 + 1e-9); k++) {
		fmt_tick(tick, sizeof tick, k * step);
		y_tick(b, CH_MT + CH_PH - k * step / top * CH_PH, tick);
	}
	for (size_t i = 0; i < n; i++) {
		xs[i] = xpos(r->samples[i].t_s + 0.5, xmax);
		ok[i] = isfinite(r->samples[i].t_s);
	}
	for (int which = 0; which < 3; which++) {
		for (size_t i = 0; i < n; i++) {
			const vc_sample *s = &r->samples[i];
			uint64_t v = which == 0 ? s->acked : which == 1 ? s->failed : s->unknown;
			ys[i] = CH_MT + CH_PH - clampd((double)v / top, 0, 1) * CH_PH;
		}
		const char *colour = which == 0 ? col_acked : which == 1 ? col_failed : col_unknown;
		series(b, id, colour, xs, ys, ok, n);
	}
	if (n == 0)
		no_data(b, "no samples");
	legend(b, 0, col_acked, 0, "acknowledged");
	legend(b, 1, col_failed, 0, "refused");
	legend(b, 2, col_unknown, 0, "unknown outcome");
	legend(b, 3, col_window, 1, "fault window");
	b_puts(b, "</svg>\n");
	free(xs), free(ys), free(ok);
	return 0;
}

static int lat_ok(const vc_sample *s, double v)
{
	return s->acked > 0 && isfinite(s->t_s) && isfinite(v) && v > 0;
}

/* A decade's label on the latency axis: 1e-4, 0.001, 0.1, 1, 10, 100, 1000, 1e4. */
static void fmt_decade(char *out, size_t cap, int d)
{
	if (d < 0 && d >= -3)
		snprintf(out, cap, "%.*f", -d, pow(10, d));
	else if (d < 0)
		snprintf(out, cap, "1e%d", d);
	else if (d <= 3)
		snprintf(out, cap, "%.0f", pow(10, d));
	else
		snprintf(out, cap, "1e%d", d);
}

/* Latency of the acknowledged requests, p50 and p99 of each second, on a
 * logarithmic scale of whole decades (at most 12, the highest kept). */
static int chart_latency(buf *b, const vc_result *r, size_t idx)
{
	size_t n = r->n_samples;
	double xmax = x_extent(r), lo = INFINITY, hi = 0;
	double *xs = malloc((n ? n : 1) * sizeof *xs), *ys = malloc((n ? n : 1) * sizeof *ys);
	unsigned char *ok = malloc(n ? n : 1);
	char id[32], tick[64];

	if (!xs || !ys || !ok) {
		free(xs), free(ys), free(ok);
		return VL_ENOMEM;
	}
	snprintf(id, sizeof id, "c%zu-l", idx);
	chart_open(b, r, id, "Latency of acknowledged requests (ms, log scale)",
	           "latency over time", xmax);
	for (size_t i = 0; i < n; i++) {
		const vc_sample *s = &r->samples[i];
		double v[2] = {s->p50_ms, s->p99_ms};
		for (int k = 0; k < 2; k++) {
			if (!lat_ok(s, v[k]))
				continue;
			if (v[k] < lo)
				lo = v[k];
			if (v[k] > hi)
				hi = v[k];
		}
	}
	int dlo = 0, dhi = 3; /* 1 ms .. 1 s when there is nothing to show */
	if (hi > 0) {
		dlo = (int)floor(log10(lo));
		dhi = (int)ceil(log10(hi));
		if (dhi <= dlo)
			dhi = dlo + 1;
		if (dhi - dlo > 12)
			dlo = dhi - 12;
	}
	int every = dhi - dlo > 8 ? 2 : 1;
	for (int d = dlo; d <= dhi; d += every) {
		fmt_decade(tick, sizeof tick, d);
		y_tick(b, CH_MT + CH_PH - (double)(d - dlo) / (dhi - dlo) * CH_PH, tick);
		/* 2 and 5 times the decade too, when there are few decades. */
		for (int m = 2; dhi - dlo <= 2 && d < dhi && m <= 5; m += 3) {
			fmt_tick(tick, sizeof tick, m * pow(10, d));
			y_tick(b, CH_MT + CH_PH - (d - dlo + log10(m)) / (dhi - dlo) * CH_PH, tick);
		}
	}
	size_t shown = 0;
	for (int which = 0; which < 2; which++) {
		for (size_t i = 0; i < n; i++) {
			const vc_sample *s = &r->samples[i];
			double v = which == 0 ? s->p50_ms : s->p99_ms;
			xs[i] = xpos(s->t_s + 0.5, xmax);
			ok[i] = (unsigned char)lat_ok(s, v);
			ys[i] = 0;
			if (ok[i]) {
				double f = (log10(v) - dlo) / (dhi - dlo);
				ys[i] = CH_MT + CH_PH - clampd(f, 0, 1) * CH_PH;
				shown++;
			}
		}
		series(b, id, which == 0 ? col_p50 : col_p99, xs, ys, ok, n);
	}
	if (n == 0)
		no_data(b, "no samples");
	else if (shown == 0)
		no_data(b, "no acknowledged requests");
	legend(b, 1, col_p50, 0, "p50");
	legend(b, 2, col_p99, 0, "p99");
	legend(b, 3, col_window, 1, "fault window");
	b_puts(b, "</svg>\n");
	free(xs), free(ys), free(ok);
	return 0;
}

/* ------------------------------------------------------------ report.html */

static const char css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"margin:24px;color:#1f2328;background:#ffffff;max-width:1200px}\n"
	"h1{font-size:26px;margin:0 0 12px}h2{font-size:20px;margin:28px 0 8px;"
	"border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:16px;margin:16px 0 6px}\n"
	"code,pre{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px}\n"
	"pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:8px;"
	"border-radius:6px;margin:4px 0}\n"
	"table{border-collapse:collapse;margin:8px 0;font-size:14px}\n"
	"th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right;vertical-align:top}\n"
	"th{background:#f6f8fa}td.l,th.l{text-align:left}\n"
	"td.cmd{text-align:left;max-width:360px;word-break:break-all}\n"
	".st{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:bold;"
	"color:#ffffff}\n"
	".pass{background:#1a7f37}.fail{background:#cf222e}.skipped{background:#6e7781}\n"
	".verdict{white-space:pre-wrap;padding:8px;border-left:6px solid #6e7781;"
	"background:#f6f8fa;margin:8px 0}\n"
	".verdict.pass{border-color:#1a7f37;background:#dafbe1}"
	".verdict.fail{border-color:#cf222e;background:#ffebe9}\n"
	".limits{white-space:pre-wrap}\n"
	"svg.chart{display:block;margin:10px 0;border:1px solid #d0d7de;max-width:100%;"
	"height:auto}\n"
	"svg .ct{font-size:14px;font-weight:bold;fill:#1f2328}"
	"svg .tx{font-size:11px;fill:#57606a;text-anchor:middle}\n"
	"svg .ty{font-size:11px;fill:#57606a;text-anchor:end}"
	"svg .lg{font-size:12px;fill:#1f2328}\n"
	"svg .wl{font-size:10px;fill:#7d4e00}"
	"svg .nd{font-size:14px;fill:#57606a;text-anchor:middle}\n";

static void html_status(buf *b, const vc_result *r)
{
	const char *w = status_word(r);
	b_printf(b, "<span class=\"st %s\">%s</span>", w,
	         r->skipped ? "SKIPPED" : r->passed ? "PASS" : "FAIL");
}

/* A number of seconds or milliseconds for people: FMT, or three digits and
 * an exponent when huge; "–" when n/a. */
static void html_num(buf *b, double v, const char *fmt)
{
	if (!isfinite(v) || v < 0)
		b_puts(b, "&ndash;");
	else if (v >= 1e9)
		b_printf(b, "%.3g", v);
	else
		b_printf(b, fmt, v);
}

static void html_row(buf *b, const vc_result *r, size_t idx)
{
	b_printf(b, "<tr><td class=\"l\"><a href=\"#s%zu\">", idx);
	b_html(b, r->name, sizeof r->name);
	b_puts(b, "</a></td><td class=\"l\">");
	html_status(b, r);
	if (r->skipped) {
		/* Nothing was measured. */
		b_puts(b, "</td><td colspan=\"8\" class=\"l\">not run");
	} else {
		b_printf(b,
		         "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
		         "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 " / %" PRIu64
		         "</td><td>",
		         r->acked, r->lost, r->duplicated, r->holes, r->corrupt,
		         r->corruptions_injected, r->corruptions_detected);
		html_num(b, r->recovery_seconds, "%.2f");
		b_puts(b, "</td><td>");
		/* No acknowledgement, no latency. */
		html_num(b, r->acked ? r->p50_ms : -1, "%.1f");
		b_puts(b, " / ");
		html_num(b, r->acked ? r->p99_ms : -1, "%.1f");
	}
	b_puts(b, "</td><td class=\"cmd\"><code>");
	b_html(b, r->replay, sizeof r->replay);
	b_puts(b, "</code></td></tr>\n");
}

static int html_section(buf *b, const vc_result *r, size_t idx)
{
	int rc;

	b_printf(b, "<section id=\"s%zu\">\n<h2>", idx);
	b_html(b, r->name, sizeof r->name);
	b_puts(b, " ");
	html_status(b, r);
	b_printf(b, "</h2>\n<p>Seed <code>%" PRIu64 "</code>", r->seed);
	if (r->skipped) {
		b_puts(b, ": not run (the verdict says why).");
	} else {
		b_puts(b, ", ");
		html_num(b, r->duration_s, "%.1f s");
		b_printf(b,
		         " of load; %" PRIu64 " acknowledged events; %" PRIu64
		         " acknowledged after an I/O error; latency p50 / p90 / p99 / max ",
		         r->acked, r->acks_after_io_error);
		html_num(b, r->acked ? r->p50_ms : -1, "%.1f");
		b_puts(b, " / ");
		html_num(b, r->acked ? r->p90_ms : -1, "%.1f");
		b_puts(b, " / ");
		html_num(b, r->acked ? r->p99_ms : -1, "%.1f");
		b_puts(b, " / ");
		html_num(b, r->acked ? r->max_ms : -1, "%.1f");
		b_puts(b, " ms.");
		if (r->agents)
			b_printf(b,
			         "</p>\n<p>Agents: %u, %" PRIu64 " lines written; %" PRIu64 " lost, %" PRIu64
			         " duplicated, %" PRIu64 " out of order, %" PRIu64 " corrupt.",
			         r->agents, r->agent_lines, r->agent_lost, r->agent_duplicated,
			         r->agent_reordered, r->agent_corrupt);
	}
	b_puts(b, "</p>\n<p>Replay:</p><pre>");
	b_html(b, r->replay, sizeof r->replay);
	b_printf(b, "</pre>\n<div class=\"verdict %s\">", status_word(r));
	b_html(b, r->verdict, sizeof r->verdict);
	b_puts(b, "</div>\n");
	if ((rc = chart_throughput(b, r, idx)) < 0 || (rc = chart_latency(b, r, idx)) < 0)
		return rc;
	if (r->n_windows) {
		b_puts(b, "<h3>Fault windows</h3>\n<table><tr><th>from (s)</th><th>to (s)</th>"
		          "<th class=\"l\">fault</th></tr>\n");
		for (size_t i = 0; i < r->n_windows; i++) {
			const vc_window *w = &r->windows[i];
			b_puts(b, "<tr><td>");
			html_num(b, w->start_s, "%.1f");
			b_puts(b, "</td><td>");
			if (isfinite(w->end_s) && w->end_s >= 0)
				html_num(b, w->end_s, "%.1f");
			else
				b_puts(b, "the end");
			b_puts(b, "</td><td class=\"l\">");
			b_html(b, w->what, sizeof w->what);
			b_puts(b, "</td></tr>\n");
		}
		b_puts(b, "</table>\n");
	}
	b_puts(b, "</section>\n");
	return 0;
}

static int html_report(buf *b, const char *command, const char *when, const vc_result *results,
                       size_t n, int passed)
{
	size_t npass = 0, nfail = 0, nskip = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (results[i].skipped)
			nskip++;
		else if (results[i].passed)
			npass++;
		else
			nfail++;
	}
	b_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	          "<title>vellum chaos report</title>\n<style>\n");
	b_puts(b, css);
	b_puts(b, "</style>\n</head>\n<body>\n<h1>vellum chaos report</h1>\n<p>Command:</p><pre>");
	b_html(b, command, command ? strlen(command) : 0);
	b_printf(b, "</pre>\n<p>Generated %s. ", when);
	b_printf(b, "<span class=\"st %s\">%s</span> %zu passed, %zu failed, %zu skipped.</p>\n",
	         passed ? "pass" : "fail", passed ? "PASSED" : "FAILED", npass, nfail, nskip);
	b_puts(b, "<table>\n<tr><th class=\"l\">scenario</th><th class=\"l\">verdict</th>"
	          "<th>acked</th><th>lost</th><th>duplicated</th><th>holes</th><th>corrupt</th>"
	          "<th>corruptions injected / detected</th><th>recovery (s)</th>"
	          "<th>p50 / p99 (ms)</th><th class=\"l\">replay</th></tr>\n");
	for (size_t i = 0; i < n; i++)
		html_row(b, &results[i], i);
	b_puts(b, "</table>\n");
	if (n == 0)
		b_puts(b, "<p>No scenario ran.</p>\n");
	for (size_t i = 0; i < n; i++)
		if ((rc = html_section(b, &results[i], i)) < 0)
			return rc;
	b_puts(b, "<h2 id=\"limits\">Limits of what was tested</h2>\n<p>");
	b_puts(b, general_limits);
	b_puts(b, "</p>\n<ul>\n");
	for (size_t i = 0; i < n; i++) {
		b_puts(b, "<li><b>");
		b_html(b, results[i].name, sizeof results[i].name);
		b_puts(b, "</b>: <span class=\"limits\">");
		if (strnlen(results[i].limits, sizeof results[i].limits))
			b_html(b, results[i].limits, sizeof results[i].limits);
		else
			b_puts(b, "nothing beyond the above.");
		b_puts(b, "</span></li>\n");
	}
	b_puts(b, "</ul>\n</body>\n</html>\n");
	return 0;
}

/* ------------------------------------------------------------ files */

/* mkdir -p DIR. */
static int make_dir(const char *dir)
{
	char *p = strdup(dir);
	int rc = 0;

	if (!p)
		return VL_ENOMEM;
	for (char *s = p + 1; *s && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = -errno;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
		rc = -errno;
	free(p);
	return rc;
}

/* DIR/NAME holds B: written to DIR/NAME.tmp, then renamed. */
static int write_file(const char *dir, const char *name, const buf *b, char *err, size_t errcap)
{
	size_t plen = strlen(dir) + strlen(name) + 8;
	char *path = malloc(plen), *tmp = malloc(plen);
	int rc = 0, fd = -1;

	if (!path || !tmp) {
		rc = VL_ENOMEM;
		set_err(err, errcap, "out of memory");
		goto out;
	}
	snprintf(path, plen, "%s/%s", dir, name);
	snprintf(tmp, plen, "%s/%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errcap, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < b->len;) {
		ssize_t w = write(fd, b->p + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			set_err(err, errcap, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		set_err(err, errcap, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		set_err(err, errcap, "%s: %s", path, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	return rc;
}

int vc_report_write(const char *dir, const char *command, const vc_result *results, size_t n,
                    char *err, size_t errcap)
{
	buf json = {0}, html = {0};
	char when[32];
	struct tm tm;
	time_t now = time(NULL);
	int passed = 1, rc;

	if (!dir || !*dir || (n && !results)) {
		set_err(err, errcap, "report: no directory or no results");
		return VL_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const vc_result *r = &results[i];
		if ((r->n_windows && !r->windows) || (r->n_samples && !r->samples)) {
			set_err(err, errcap, "report: scenario %zu: a count without its array", i);
			return VL_EINVAL;
		}
		if (!r->skipped && !r->passed)
			passed = 0;
	}
	if (!gmtime_r(&now, &tm) || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof when, "1970-01-01T00:00:00Z");
	if ((rc = make_dir(dir)) < 0) {
		set_err(err, errcap, "%s: %s", dir, vl_strerror(rc));
		return rc;
	}
	/* Numbers with a '.' whatever the process's locale. */
	locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0), old = (locale_t)0;
	if (c_locale)
		old = uselocale(c_locale);
	json_report(&json, command, when, results, n, passed);
	rc = html_report(&html, command, when, results, n, passed);
	if (c_locale) {
		uselocale(old);
		freelocale(c_locale);
	}
	if (rc == 0 && (json.oom || html.oom))
		rc = VL_ENOMEM;
	if (rc < 0)
		set_err(err, errcap, "report: %s", vl_strerror(rc));
	if (rc == 0)
		rc = write_file(dir, "report.json", &json, err, errcap);
	if (rc == 0)
		rc = write_file(dir, "report.html", &html, err, errcap);
	free(json.p);
	free(html.p);
	return rc;
}
