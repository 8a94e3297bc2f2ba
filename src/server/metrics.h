/*
 * metrics.h — a small metrics registry for `vellum serve`: counters,
 * gauges and histograms, updated lock-free from any thread and rendered
 * in the Prometheus text exposition format, version 0.0.4.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * A metric family is a name with its help text and type; a series is one
 * family with one set of labels.  Every vs_*_add call registers one
 * series; calls with the same name add series to the same family, which
 * is rendered under a single "# HELP" and "# TYPE" block (the help text
 * of the first call is kept).  Families are rendered in the order they
 * were first registered, series in the order they were added.
 *
 * Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*.  Labels are passed
 * preformatted as the text between the braces, e.g.
 * `log="default",reason="too_large"`, or NULL (or "") for none; build the
 * text with vs_metrics_label, which escapes values.  Registration checks
 * the text (label names, quotes, escapes) and refuses malformed labels, a
 * repeated label set within a family, the reserved label "le" on a
 * histogram, a name already registered with another type, and, for
 * histograms, bounds that are not finite and strictly increasing.
 *
 * Threads.  Registration (vs_*_add, vs_gauge_fn_add) is meant for
 * start-up: it is not safe against other registration or rendering on the
 * same registry.  Once registration is over, the update functions
 * (vs_counter_inc, vs_gauge_set, vs_gauge_inc, vs_histogram_observe) may
 * be called from any number of threads at once, with C11 atomics and no
 * locks, and vs_metrics_render may run concurrently with them and with
 * other renders.  A render reads each value atomically, but not all
 * values at one instant; a histogram's "+Inf" bucket always equals its
 * _count.
 *
 * Memory.  Handles returned by registration are owned by the registry and
 * stay valid until vs_metrics_free; the strings passed are copied.
 */
#ifndef VS_METRICS_H
#define VS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "vellum.h"

typedef struct vs_metrics vs_metrics;
typedef struct vs_counter vs_counter;
typedef struct vs_gauge vs_gauge;
typedef struct vs_histogram vs_histogram;

/* A new, empty registry, or NULL if out of memory. */
vs_metrics *vs_metrics_new(void);

/* Free M and every handle registered in it.  NULL is ignored.  No other
 * call on M or its handles may be running or made afterwards. */
void vs_metrics_free(vs_metrics *m);

/*
 * Append `name="value"` to the label text in buf[0..cap) (NUL-terminated;
 * start with buf[0] = '\0'), with a ',' first if buf is not empty.  VALUE
 * is escaped as the format requires: backslash as \\, double quote as \",
 * newline as \n.  NAME must be a label name ([a-zA-Z_][a-zA-Z0-9_]*).
 * Returns 0, VL_EINVAL (bad name or NULL) or VL_ETOOBIG (does not fit; buf
 * is then unchanged).
 */
VL_MUST_CHECK int vs_metrics_label(char *buf, size_t cap, const char *name, const char *value);

/* Register a counter series (a uint64 that only goes up; starts at 0).
 * Returns its handle, or NULL (bad name, labels or type, or no memory). */
vs_counter *vs_counter_add(vs_metrics *m, const char *name, const char *help,
                           const char *labels);

/* Add BY to C (wraps modulo 2^64).  Lock-free; C may not be NULL. */
void vs_counter_inc(vs_counter *c, uint64_t by);

/* The current value of C. */
uint64_t vs_counter_get(const vs_counter *c);

/* Register a gauge series (a double; starts at 0).  Returns its handle or
 * NULL, like vs_counter_add. */
vs_gauge *vs_gauge_add(vs_metrics *m, const char *name, const char *help, const char *labels);

/* Set G to V.  Lock-free. */
void vs_gauge_set(vs_gauge *g, double v);

/* Add DELTA (negative to decrease) to G, atomically with respect to other
 * updates of G (a compare-and-swap loop).  Lock-free. */
void vs_gauge_inc(vs_gauge *g, double delta);

/* The current value of G. */
double vs_gauge_get(const vs_gauge *g);

/*
 * Register a histogram series with the N upper bounds bounds[0..n)
 * (finite, strictly increasing; copied), plus the implicit +Inf bucket.
 * An observation v counts in every bucket whose bound is >= v.  Returns
 * its handle or NULL, like vs_counter_add.  Series of one family must
 * have the same bounds.
 */
vs_histogram *vs_histogram_add(vs_metrics *m, const char *name, const char *help,
                               const char *labels, const double *bounds, size_t n);

/* Record V in H: one bucket counter, and the sum (a compare-and-swap
 * loop).  NaN counts only in +Inf and makes the sum NaN.  Lock-free;
 * O(log n) in the number of bounds. */
void vs_histogram_observe(vs_histogram *h, double v);

/*
 * Register a gauge series whose value is FN(ARG), called at each render
 * (from the rendering thread, so FN must be safe to call from it while the
 * server runs).  Returns 0, VL_EINVAL (bad name, labels or type, NULL fn)
 * or VL_ENOMEM.  It may share a family with vs_gauge_add series.
 */
int vs_gauge_fn_add(vs_metrics *m, const char *name, const char *help, const char *labels,
                    double (*fn)(void *), void *arg);

/*
 * Render every metric as Prometheus text format 0.0.4 (HTTP Content-Type
 * "text/plain; version=0.0.4; charset=utf-8") into a new NUL-terminated
 * buffer from malloc, which the caller frees; *len (may be NULL) receives
 * its length without the NUL.  Counters print as integers, other values as
 * the shortest decimal that reads back as the same double, or +Inf, -Inf,
 * NaN.  Help text escapes backslash and newline.  Returns NULL (and *len
 * 0) if out of memory.
 */
char *vs_metrics_render(vs_metrics *m, size_t *len);

#endif
