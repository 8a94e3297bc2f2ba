/*
 * status.c — writing DIR/status.json (status.h), and `vellum agent status`:
 * the spool's size on disk and in entries, the forwarded cursor, pending
 * entries and bytes, the lag, and the last success and error, readable or
 * as JSON.  With the agent running (the spool is locked) the counts come
 * from its status file; with it stopped, from the spool itself.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json_escape.h"
#include "agent.h"
#include "entry.h"
#include "spool.h"
#include "status.h"
#include "wire.h"

#define STATUS_MAX (1u << 20)

/* ------------------------------------------------------------------ */
/* Writing.                                                            */

struct out {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if (o->p && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap : 4096;
		while (cap - o->len <= (size_t)n)
			cap *= 2;
		char *g = realloc(o->p, cap);
		if (!g) {
			o->failed = 1;
			return;
		}
		o->p = g;
		o->cap = cap;
	}
}

static void put_str(struct out *o, const char *s)
{
	size_t n = strlen(s);
	char *e = malloc(6 * n + 1);
	if (!e) {
		o->failed = 1;
		return;
	}
	vs_json_escape(s, n, e, 6 * n + 1);
	put(o, "\"%s\"", e);
	free(e);
}

static void put_time(struct out *o, int64_t ns)
{
	char t[VA_TIME_LEN + 1];
	if (ns == 0 || va_format_time(ns, t) < 0)
		put(o, "null");
	else
		put(o, "\"%s\"", t);
}

int va_status_write(const char *dir, const va_status *st)
{
	struct out o = {0};
	uint64_t pending = st->spool_entries - st->forwarded;
	double lag = st->oldest_pending_ns ? (double)(st->updated_ns - st->oldest_pending_ns) / 1e9 : 0;
	put(&o, "{\"format\":\"vellum-agent-status/1\",\"state\":\"%s\",\"agent\":",
	    st->running ? "running" : "stopped");
	put_str(&o, st->agent);
	put(&o, ",\"pid\":%d,\"updated\":", st->pid);
	put_time(&o, st->updated_ns);
	put(&o, ",\"server\":");
	put_str(&o, st->server ? st->server : "");
	put(&o, ",\"log\":");
	put_str(&o, st->log ? st->log : "");
	put(&o, ",\"spool_entries\":%" PRIu64 ",\"forwarded\":%" PRIu64 ",\"pending\":%" PRIu64
	    ",\"pending_bytes\":%" PRIu64 ",\"spool_max_bytes\":%" PRIu64 ",\"oldest_pending\":",
	    st->spool_entries, st->forwarded, pending, st->pending_bytes, st->spool_max_bytes);
	put_time(&o, st->oldest_pending_ns);
	put(&o, ",\"lag_seconds\":%.3f,\"last_success\":", lag < 0 ? 0 : lag);
	put_time(&o, st->last_success_ns);
	put(&o, ",\"last_error\":");
	if (st->last_error_ns)
		put_str(&o, st->last_error);
	else
		put(&o, "null");
	put(&o, ",\"last_error_code\":");
	if (st->last_error_ns)
		put_str(&o, st->last_error_code);
	else
		put(&o, "null");
	put(&o, ",\"last_error_time\":");
	put_time(&o, st->last_error_ns);
	put(&o, ",\"through\":%" PRId64 ",\"requests\":%" PRIu64 ",\"records_sent\":%" PRIu64
	    ",\"dropped_events\":%" PRIu64 ",\"sources\":[",
	    st->through, st->requests, st->records_sent, st->dropped_events);
	for (size_t i = 0; i < st->n_sources; i++) {
		put(&o, "%s{\"origin\":", i ? "," : "");
		put_str(&o, st->sources[i].origin);
		put(&o, ",\"state\":\"%s\",\"position\":%" PRIu64 "}", st->sources[i].state,
		    st->sources[i].position);
	}
	put(&o, "]}\n");
	int rc = o.failed ? VL_ENOMEM : va_replace_file(dir, "status.json", o.p, o.len, 0);
	free(o.p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* `vellum agent status`.                                              */

static uint64_t disk_bytes;

static int du_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		disk_bytes += (uint64_t)st->st_size;
	return 0;
}

static int read_text(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *buf = malloc(STATUS_MAX + 1);
	if (!buf) {
		fclose(f);
		return VL_ENOMEM;
	}
	size_t n = fread(buf, 1, STATUS_MAX, f);
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

struct pending_ctx {
	uint64_t bytes;
	int64_t oldest_ns;
};

static int pending_cb(void *arg, uint64_t index, const uint8_t *entry, size_t len)
{
	struct pending_ctx *c = arg;
	(void)index;
	c->bytes += len;
	if (c->oldest_ns == 0) {
		va_entry e;
		if (va_entry_parse(entry, len, &e) == 0)
			c->oldest_ns = e.spooled_ns;
	}
	return 0;
}

static void human_bytes(uint64_t b, char *out, size_t cap)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%" PRIu64 " bytes", b);
	else
		snprintf(out, cap, "%.1f %s", v, units[u]);
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int va_agent_status(const char *dir, int json, FILE *out)
{
	char path[PATH_MAX], id[80], err[512], vkey[512];
	if (strlen(dir) + 32 >= sizeof path) {
		fprintf(stderr, "vellum agent status: %s: path too long\n", dir);
		return 2;
	}
	snprintf(path, sizeof path, "%s/agent-id", dir);
	if (access(path, R_OK) < 0) {
		fprintf(stderr, "vellum agent status: %s is not an agent directory (no agent-id: %s)\n",
		        dir, strerror(errno));
		return 3;
	}
	if (va_agent_id(dir, NULL, id, sizeof id, err, sizeof err) < 0) {
		fprintf(stderr, "vellum agent status: %s\n", err);
		return 3;
	}
	uint64_t forwarded = 0;
	int rc = va_read_forwarded(dir, &forwarded, vkey, sizeof vkey);
	if (rc < 0) {
		fprintf(stderr, "vellum agent status: cannot read %s/forwarded: %s\n", dir,
		        vl_strerror(rc));
		return 3;
	}
	disk_bytes = 0; /* every segment and file of the agent directory */
	nftw(dir, du_cb, 16, FTW_PHYS);

	/* The agent's own report, if it ever wrote one. */
	char *st = NULL;
	size_t st_len = 0;
	char spath[PATH_MAX];
	snprintf(spath, sizeof spath, "%s/status.json", dir);
	if (read_text(spath, &st, &st_len) < 0)
		st = NULL;
	int64_t v;
	char state[32] = "", last_error[512] = "", last_error_code[64] = "", server[512] = "",
	     log[80] = "", t[64] = "";
	int64_t updated_ns = 0, last_success_ns = 0, last_error_ns = 0, pid = 0, through = -1;
	int64_t dropped = 0, requests = 0, sent = 0;
	if (st) {
		va_json_str(st, st_len, "state", state, sizeof state);
		va_json_str(st, st_len, "last_error", last_error, sizeof last_error);
		va_json_str(st, st_len, "last_error_code", last_error_code, sizeof last_error_code);
		va_json_str(st, st_len, "server", server, sizeof server);
		va_json_str(st, st_len, "log", log, sizeof log);
		if (va_json_str(st, st_len, "updated", t, sizeof t) == 0)
			va_parse_time(t, strlen(t), &updated_ns);
		if (va_json_str(st, st_len, "last_success", t, sizeof t) == 0)
			va_parse_time(t, strlen(t), &last_success_ns);
		if (va_json_str(st, st_len, "last_error_time", t, sizeof t) == 0)
			va_parse_time(t, strlen(t), &last_error_ns);
		va_json_int(st, st_len, "pid", &pid);
		va_json_int(st, st_len, "through", &through);
		va_json_int(st, st_len, "dropped_events", &dropped);
		va_json_int(st, st_len, "requests", &requests);
		va_json_int(st, st_len, "records_sent", &sent);
	}

	/* The counts: from the spool if the agent is not running, else from
	 * its report (the spool is locked while it runs). */
	int running = 0;
	uint64_t entries = 0, pending_bytes = 0;
	int64_t oldest_ns = 0;
	struct pending_ctx c = {0};
	rc = va_spool_peek(dir, forwarded, pending_cb, &c, &entries, err, sizeof err);
	if (rc == VL_ELOCKED) {
		running = 1;
		if (st && va_json_int(st, st_len, "spool_entries", &v) == 0)
			entries = (uint64_t)v;
		if (st && va_json_int(st, st_len, "forwarded", &v) == 0 && (uint64_t)v > forwarded)
			forwarded = (uint64_t)v;
		if (st && va_json_int(st, st_len, "pending_bytes", &v) == 0)
			pending_bytes = (uint64_t)v;
		if (st && va_json_str(st, st_len, "oldest_pending", t, sizeof t) == 0)
			va_parse_time(t, strlen(t), &oldest_ns);
	} else if (rc == 0) {
		pending_bytes = c.bytes;
		oldest_ns = c.oldest_ns;
	} else {
		fprintf(stderr, "vellum agent status: %s\n", err);
		free(st);
		return 3;
	}
	free(st);
	uint64_t pending = entries > forwarded ? entries - forwarded : 0;
	int64_t now = wall_ns();
	double lag = oldest_ns && pending ? (double)(now - oldest_ns) / 1e9 : 0;
	if (lag < 0)
		lag = 0;
	char ts_ok[VA_TIME_LEN + 1] = "", ts_err[VA_TIME_LEN + 1] = "";
	if (last_success_ns)
		va_format_time(last_success_ns, ts_ok);
	if (last_error_ns)
		va_format_time(last_error_ns, ts_err);

	if (json) {
		struct out o = {0};
		put(&o, "{\"agent\":");
		put_str(&o, id);
		put(&o, ",\"running\":%s,\"pid\":", running ? "true" : "false");
		if (running && pid)
			put(&o, "%" PRId64, pid);
		else
			put(&o, "null");
		put(&o, ",\"server\":");
		put_str(&o, server);
		put(&o, ",\"log\":");
		put_str(&o, log);
		put(&o, ",\"spool_entries\":%" PRIu64 ",\"spool_disk_bytes\":%" PRIu64
		    ",\"forwarded\":%" PRIu64 ",\"pending\":%" PRIu64 ",\"pending_bytes\":%" PRIu64
		    ",\"lag_seconds\":%.3f,\"last_success\":",
		    entries, disk_bytes, forwarded, pending, pending_bytes, lag);
		put_time(&o, last_success_ns);
		put(&o, ",\"last_error\":");
		if (last_error_ns)
			put_str(&o, last_error);
		else
			put(&o, "null");
		put(&o, ",\"last_error_code\":");
		if (last_error_ns)
			put_str(&o, last_error_code);
		else
			put(&o, "null");
		put(&o, ",\"last_error_time\":");
		put_time(&o, last_error_ns);
		put(&o, ",\"through\":%" PRId64 ",\"requests\":%" PRId64 ",\"records_sent\":%" PRId64
		    ",\"dropped_events\":%" PRId64 ",\"status_updated\":",
		    through, requests, sent, dropped);
		put_time(&o, updated_ns);
		put(&o, "}\n");
		if (o.failed) {
			free(o.p);
			return 3;
		}
		fputs(o.p, out);
		free(o.p);
		return 0;
	}
	char disk[32], pend[32];
	human_bytes(disk_bytes, disk, sizeof disk);
	human_bytes(pending_bytes, pend, sizeof pend);
	fprintf(out, "agent        %s\n", id);
	if (running)
		fprintf(out, "state        running (pid %" PRId64 ", status written %.1f s ago)\n", pid,
		        updated_ns ? (double)(now - updated_ns) / 1e9 : 0.0);
	else
		fprintf(out, "state        not running\n");
	if (server[0])
		fprintf(out, "server       %s, log %s\n", server, log);
	fprintf(out, "spool        %s: %" PRIu64 " entries, %s on disk\n", path, entries, disk);
	if (forwarded)
		fprintf(out, "forwarded    %" PRIu64 " entries (spool indexes 0..%" PRIu64 ")\n",
		        forwarded, forwarded - 1);
	else
		fprintf(out, "forwarded    0 entries\n");
	fprintf(out, "pending      %" PRIu64 " entries, %s\n", pending, pend);
	fprintf(out, "lag          %.3f s\n", lag);
	fprintf(out, "last success %s\n", last_success_ns ? ts_ok : "never");
	if (last_error_ns)
		fprintf(out, "last error   %s: %s (%s)\n", ts_err, last_error, last_error_code);
	else
		fprintf(out, "last error   none\n");
	fprintf(out, "dropped      %" PRId64 " events\n", dropped);
	return 0;
}
