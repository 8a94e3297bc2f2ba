/*
 * agents.c — the agent load of `vellum chaos run` (agents.h): `vellum
 * agent` processes following files that a writer thread appends numbered
 * lines to, the server's view of them (its sources report), and the check
 * of the agents' log.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Line N of agent A in a run of seed S:
 *
 *   {"chaos-agent":"<S>","agent":<A>,"n":<N>,"pad":"<P>"}
 *
 * The pad's length is 16 + r % 185 (16..200), r the first number of
 * vc_rng seeded with vc_rng_derive(S, "agent line") ^ (A << 56) ^ N; its
 * digits are the following numbers, each giving 16 lowercase hex digits,
 * most significant first.
 *
 * The check, over every entry of the agents' log in log order: an entry
 * is line N of agent A when its envelope parses and its event has the
 * shape of a line of this seed for one of the agents, with N below the
 * lines that agent wrote; it is that line exactly when the event bytes
 * are the line and the envelope names the agent's id, its file's origin
 * and spool index N (each line is one spool entry of a spool that holds
 * nothing else, so its spool index is its number).  Then:
 *
 *   lost        a written line that no entry is;
 *   duplicated  a line that more than one entry is;
 *   reordered   an entry that is line N of agent A after an entry that is
 *               a later line of A;
 *   corrupt     an entry that is a line but not exactly, or is no line of
 *               this run at all (the agents' log holds nothing else).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agents.h"
#include "envelope.h"
#include "util.h"
#include "vellum.h"

#define PAD_MIN 16
#define PAD_MAX 200
#define DRAIN_S 30.0       /* how long the agents may take to forward the rest */
#define SOURCES_MAX (1u << 20)

/* ------------------------------------------------------------------ */
/* Lines.                                                              */

static uint64_t next_rng(void *r)
{
	return vc_rng_next(r);
}

size_t vc_agent_line(uint64_t seed, unsigned agent, uint64_t n, char *buf)
{
	vc_rng r;
	vc_rng_seed(&r, vc_rng_derive(seed, "agent line") ^ ((uint64_t)agent << 56) ^ n);
	size_t pad = PAD_MIN + (size_t)(vc_rng_next(&r) % (PAD_MAX - PAD_MIN + 1));
	size_t o = 0;
	o += vc_put_str(buf + o, "{\"chaos-agent\":\"");
	o += vc_put_u64(buf + o, seed);
	o += vc_put_str(buf + o, "\",\"agent\":");
	o += vc_put_u64(buf + o, agent);
	o += vc_put_str(buf + o, ",\"n\":");
	o += vc_put_u64(buf + o, n);
	o += vc_put_str(buf + o, ",\"pad\":\"");
	o += vc_put_hex(buf + o, pad, next_rng, &r);
	o += vc_put_str(buf + o, "\"}");
	return o;
}

int vc_agent_line_parse(const char *buf, size_t len, uint64_t *seed, unsigned *agent,
                        uint64_t *n)
{
	size_t p = 0;
	uint64_t s, a, e;
	if (!buf || len > VC_AGENT_LINE_MAX)
		return 0;
	if (!vc_eat(buf, len, &p, "{\"chaos-agent\":\"") || !vc_eat_u64(buf, len, &p, &s) ||
	    !vc_eat(buf, len, &p, "\",\"agent\":") || !vc_eat_u64(buf, len, &p, &a) || a > 255 ||
	    !vc_eat(buf, len, &p, ",\"n\":") || !vc_eat_u64(buf, len, &p, &e) ||
	    !vc_eat(buf, len, &p, ",\"pad\":\"") || !vc_eat_hex(buf, len, &p, PAD_MIN, PAD_MAX) ||
	    !vc_eat(buf, len, &p, "\"}") || p != len)
		return 0;
	*seed = s;
	*agent = (unsigned)a;
	*n = e;
	return 1;
}

/* ------------------------------------------------------------------ */
/* The checker.                                                        */

struct ascan {
	uint64_t seed;
	const vc_agents_want *want;
	unsigned count;
	uint32_t *seen[VC_AGENTS_MAX]; /* per line: entries that are it */
	int64_t last[VC_AGENTS_MAX];   /* the highest line seen so far, in log order */
	vc_agents_counts *out;
};

static void note(vc_agents_counts *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(vc_agents_counts *out, const char *fmt, ...)
{
	if (out->first_problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->first_problem, sizeof out->first_problem, fmt, ap);
	va_end(ap);
}

static int span_is(const char *p, size_t len, const char *s)
{
	return p && len == strlen(s) && memcmp(p, s, len) == 0;
}

static int on_entry(void *ctx, uint64_t index, const uint8_t *entry, size_t len)
{
	struct ascan *s = ctx;
	vc_agents_counts *out = s->out;
	vs_envelope_view v;
	uint64_t seed, n;
	unsigned a;
	if (vs_envelope_parse(entry, len, &v) != 0) {
		out->corrupt++;
		note(out, "entry %" PRIu64 " of the agents' log is not an event envelope", index);
		return 0;
	}
	const char *ev = (const char *)entry + v.event_off;
	if (!vc_agent_line_parse(ev, v.event_len, &seed, &a, &n) || seed != s->seed ||
	    a >= s->count) {
		out->corrupt++;
		note(out, "entry %" PRIu64 " of the agents' log is no line of this run's agents",
		     index);
		return 0;
	}
	const vc_agents_want *w = &s->want[a];
	if (n >= w->written) {
		out->corrupt++;
		note(out,
		     "entry %" PRIu64 " is line %" PRIu64 " of agent %u, which wrote only %" PRIu64
		     " lines",
		     index, n, a, w->written);
		return 0;
	}
	if (++s->seen[a][n] == 2) {
		out->duplicated++;
		note(out, "line %" PRIu64 " of agent %u is in the log more than once (entry %" PRIu64
		          " is the second)",
		     n, a, index);
	}
	if ((int64_t)n < s->last[a]) {
		out->reordered++;
		note(out,
		     "line %" PRIu64 " of agent %u is at entry %" PRIu64 ", after its line %" PRId64
		     ": not in writing order",
		     n, a, index, s->last[a]);
	} else {
		s->last[a] = (int64_t)n;
	}
	char want[VC_AGENT_LINE_MAX];
	size_t wl = vc_agent_line(seed, a, n, want);
	const char *what = NULL;
	if (wl != v.event_len || memcmp(want, ev, wl) != 0)
		what = "its bytes differ from the line written";
	else if (!v.has_agent || !span_is(v.agent, v.agent_len, w->id))
		what = "its envelope names another agent";
	else if (!span_is(v.origin, v.origin_len, w->origin))
		what = "its envelope names another origin";
	else if (v.spool_index != n)
		what = "its spool index is not its line number";
	if (what) {
		out->corrupt++;
		note(out, "entry %" PRIu64 " (line %" PRIu64 " of agent %u): %s", index, n, a, what);
	}
	return 0;
}

int vc_agents_check_log(const char *logdir, uint64_t seed, const vc_agents_want *want,
                        unsigned count, vc_agents_counts *out, char *err, size_t errcap)
{
	memset(out, 0, sizeof *out);
	if (!logdir || !want || count == 0 || count > VC_AGENTS_MAX) {
		snprintf(err, errcap, "the agent check needs a log directory and 1..%d agents",
		         VC_AGENTS_MAX);
		return VL_EINVAL;
	}
	struct ascan s = {.seed = seed, .want = want, .count = count, .out = out};
	int rc = 0;
	for (unsigned a = 0; a < count; a++) {
		s.last[a] = -1;
		out->lines += want[a].written;
		s.seen[a] = calloc(want[a].written ? want[a].written : 1, sizeof *s.seen[a]);
		if (!s.seen[a]) {
			snprintf(err, errcap, "out of memory for %" PRIu64 " lines", want[a].written);
			rc = VL_ENOMEM;
		}
	}
	vl_log *log = NULL;
	if (rc == 0 && (rc = vl_log_open(logdir, NULL, &log)) != 0)
		snprintf(err, errcap, "cannot open the log %s: %s", logdir, vl_open_message());
	if (rc == 0) {
		out->log_size = vl_log_size(log);
		if (out->log_size > 0 && (rc = vl_log_scan(log, 0, out->log_size, on_entry, &s)) != 0)
			snprintf(err, errcap, "cannot read the log %s: %s", logdir,
			         vl_log_message(log));
	}
	if (rc == 0) {
		for (unsigned a = 0; a < count; a++) {
			for (uint64_t n = 0; n < want[a].written; n++) {
				if (s.seen[a][n])
					continue;
				out->lost++;
				note(out, "line %" PRIu64 " of agent %u (of %" PRIu64 " written) is not in "
				          "the log",
				     n, a, want[a].written);
			}
		}
	}
	for (unsigned a = 0; a < count; a++)
		free(s.seen[a]);
	if (log) {
		int crc = vl_log_close(log);
		if (rc == 0 && crc != 0) {
			snprintf(err, errcap, "closing the log %s: %s", logdir, vl_strerror(crc));
			rc = crc;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The writer.                                                         */

/* Appends every agent's lines at A->rate a second, each line with one
 * write(2), until told to stop.  A line counts as written once its write
 * returned it whole; a write that fails stops that agent's lines (a torn
 * line would run into the next). */
static void *writer_main(void *arg)
{
	vc_agents *A = arg;
	uint64_t seed = A->L->r->seed;
	double t0 = vc_mono_s();
	char line[VC_AGENT_LINE_MAX + 1];
	while (!A->stop) {
		double due = (vc_mono_s() - t0) * A->rate;
		for (unsigned i = 0; i < A->count; i++) {
			vc_agent *g = &A->agent[i];
			while (g->fd >= 0 && (double)g->written < due && !A->stop) {
				size_t len = vc_agent_line(seed, i, g->written, line);
				line[len++] = '\n';
				ssize_t w = write(g->fd, line, len);
				if (w != (ssize_t)len) {
					g->write_error = w < 0 ? errno : EIO;
					close(g->fd);
					g->fd = -1;
					break;
				}
				g->written++;
			}
		}
		vc_sleep(0.01);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The agents.                                                         */

static void problem(vc_agents *A, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(vc_agents *A, const char *fmt, ...)
{
	A->failed = 1;
	size_t n = strlen(A->problems);
	if (n + 1 >= sizeof A->problems)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(A->problems + n, sizeof A->problems - n, fmt, ap);
	va_end(ap);
}

/* The last line of PATH (up to 300 bytes of it), for messages. */
static void last_line(const char *path, char *out, size_t cap)
{
	char text[8192];
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof text - 1 ? size - (off_t)sizeof text + 1 : 0;
	ssize_t n = pread(fd, text, sizeof text - 1, from);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && text[n - 1] == '\n')
		n--;
	text[n] = '\0';
	char *nl = strrchr(text, '\n');
	snprintf(out, cap, "%.300s", nl ? nl + 1 : text);
}

static int agent_spawn(vc_agents *A, unsigned i)
{
	vc_agent *g = &A->agent[i];
	const vc_server *srv = &A->L->srv;
	char token[PATH_MAX + 16], source[PATH_MAX + 8];
	snprintf(token, sizeof token, "%s/admin.token", srv->data);
	snprintf(source, sizeof source, "%s", g->origin);
	char *argv[48];
	int n = 0;
	for (; g->wrap && g->wrap[n] && n < 16; n++)
		argv[n] = g->wrap[n];
	argv[n++] = (char *)srv->vellum;
	argv[n++] = "agent";
	argv[n++] = "--server";
	argv[n++] = g->url;
	argv[n++] = "--log";
	argv[n++] = VC_AGENTS_LOG;
	argv[n++] = "--token-file";
	argv[n++] = token;
	argv[n++] = "--spool";
	argv[n++] = g->spool;
	argv[n++] = "--source";
	argv[n++] = source;
	argv[n++] = "--id";
	argv[n++] = g->id;
	/* Small batches and a short timeout: a pause or a cut of a few
	 * seconds is noticed and the batch sent again within the run, while
	 * the first attempt may still be committed when the server resumes —
	 * the server must then keep one copy. */
	argv[n++] = "--batch";
	argv[n++] = "200";
	argv[n++] = "--timeout";
	argv[n++] = "2";
	argv[n++] = "--backoff-max";
	argv[n++] = "1000";
	argv[n] = NULL;
	return vc_proc_start(&g->p, argv);
}

int vc_agents_start(vc_agents *A, vc_load *L, const vc_agents_config *c)
{
	memset(A, 0, sizeof *A);
	A->L = L;
	for (unsigned i = 0; i < VC_AGENTS_MAX; i++)
		A->agent[i].fd = -1;
	A->curl_inited = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (!c || c->count == 0 || c->count > VC_AGENTS_MAX || !(c->rate > 0)) {
		problem(A, "the agent load needs 1..%d agents and a rate above 0. ", VC_AGENTS_MAX);
		goto fail;
	}
	A->count = c->count;
	A->rate = c->rate;
	L->r->agents = c->count;
	for (unsigned i = 0; i < A->count; i++) {
		vc_agent *g = &A->agent[i];
		g->wrap = c->wrap[i];
		snprintf(g->url, sizeof g->url, "%s",
		         c->url_of[i] ? c->url_of[i] : c->url ? c->url : L->srv.url);
		snprintf(g->id, sizeof g->id, "chaos-agent-%u", i);
		snprintf(g->dir, sizeof g->dir, "%.4000s/agent-%u", L->srv.dir, i);
		snprintf(g->file, sizeof g->file, "%.4000s/agent-%u/lines", L->srv.dir, i);
		snprintf(g->spool, sizeof g->spool, "%.4000s/agent-%u/spool", L->srv.dir, i);
		snprintf(g->p.out, sizeof g->p.out, "%.4000s/agent-%u/agent.log", L->srv.dir, i);
		if (vc_mkdirs(g->dir) < 0) {
			problem(A, "cannot create %.300s: %s. ", g->dir, strerror(errno));
			goto fail;
		}
		/* A new file: an old one (a scratch directory used before)
		 * would hold lines of another run. */
		g->fd = open(g->file, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (g->fd < 0) {
			problem(A, "cannot create %.300s: %s. ", g->file, strerror(errno));
			goto fail;
		}
		/* The origin the agent sends: file: and the absolute path. */
		char full[PATH_MAX];
		if (!realpath(g->file, full)) {
			problem(A, "cannot resolve %.300s: %s. ", g->file, strerror(errno));
			goto fail;
		}
		snprintf(g->origin, sizeof g->origin, "file:%s", full);
		if (agent_spawn(A, i) < 0) {
			problem(A, "vellum agent %u did not start. ", i);
			goto fail;
		}
	}
	if (pthread_create(&A->writer, NULL, writer_main, A) != 0) {
		problem(A, "cannot start the agents' writer thread. ");
		goto fail;
	}
	A->writer_started = 1;
	/* Each agent is up once it has written its status (every second);
	 * one that exits meanwhile says why in its log. */
	double end = vc_mono_s() + 10;
	for (unsigned i = 0; i < A->count; i++) {
		vc_agent *g = &A->agent[i];
		char status[PATH_MAX + 16];
		snprintf(status, sizeof status, "%.4000s/status.json", g->spool);
		while (access(status, F_OK) != 0 && vc_mono_s() < end) {
			if (vc_proc_wait(&g->p, 0))
				break;
			vc_sleep(0.05);
		}
		if (g->p.pid == 0 || access(status, F_OK) != 0) {
			char why[400];
			last_line(g->p.out, why, sizeof why);
			problem(A, "vellum agent %u did not come up (%s): %s. ", i,
			        g->p.pid ? "no status.json within 10 s" : "it exited", why);
			goto fail;
		}
	}
	for (unsigned i = 0; i < A->count; i++)
		vc_say(L->o, "%s: agent %u forwarding to %s, %.0f lines/s", L->r->name, i,
		       A->agent[i].url, A->rate);
	return 0;
fail:
	return -1; /* vc_agents_check puts A->problems into the verdict */
}

/* ------------------------------------------------------------------ */
/* The server's view.                                                  */

struct body {
	char *p;
	size_t len, cap;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	if (b->len + n + 1 > SOURCES_MAX)
		return 0;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* GET /v1/logs/agents/sources of the server itself (not through a proxy):
 * the body (malloc'ed), or NULL. */
static char *get_sources(const vc_agents *A)
{
	const vc_server *srv = &A->L->srv;
	char url[256], auth[320];
	snprintf(url, sizeof url, "%.96s/v1/logs/%s/sources", srv->url, VC_AGENTS_LOG);
	snprintf(auth, sizeof auth, "Authorization: Bearer %.256s", srv->token);
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	struct body b = {0};
	struct curl_slist *h = curl_slist_append(NULL, auth);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	CURLcode res = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	if (res != CURLE_OK || status != 200 || !b.p) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* The number after "KEY": in [P, END): 1 and *v, or 0. */
static int json_num(const char *p, const char *end, const char *key, double *v)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	size_t pl = strlen(pat);
	for (const char *q = p; q + pl <= end; q++) {
		if (memcmp(q, pat, pl) != 0)
			continue;
		char *stop;
		*v = strtod(q + pl, &stop);
		return stop != q + pl;
	}
	return 0;
}

/* Reads agent G's object of the sources report BODY into G; 1 if there. */
static int read_view(const char *body, vc_agent *g)
{
	char pat[64];
	snprintf(pat, sizeof pat, "{\"agent\":\"%s\"", g->id);
	const char *p = strstr(body, pat);
	g->seen = 0;
	if (!p)
		return 0;
	const char *end = strstr(p + 1, "{\"agent\":\"");
	if (!end)
		end = p + strlen(p);
	double through, highest, missing, delay;
	if (!json_num(p, end, "through", &through) || !json_num(p, end, "highest", &highest) ||
	    !json_num(p, end, "missing", &missing) ||
	    !json_num(p, end, "last_delay_seconds", &delay))
		return 0;
	g->seen = 1;
	g->through = (int64_t)through;
	g->highest = (int64_t)highest;
	g->missing = (uint64_t)missing;
	g->last_delay_s = delay;
	return 1;
}

/* 1 when the server holds every line written, nothing missing. */
static int all_held(vc_agents *A)
{
	char *body = get_sources(A);
	if (!body)
		return 0;
	int all = 1;
	for (unsigned i = 0; i < A->count; i++) {
		vc_agent *g = &A->agent[i];
		int64_t want = (int64_t)g->written - 1;
		if (!read_view(body, g) || g->through != want || g->highest != want ||
		    g->missing != 0)
			all = 0;
	}
	free(body);
	return all;
}

/* How agent G ended, for messages: "exited 3: <its last log line>",
 * "was killed by signal 9". */
static void how_ended(const vc_agent *g, char *out, size_t cap)
{
	if (WIFSIGNALED(g->p.status)) {
		snprintf(out, cap, "was killed by signal %d", WTERMSIG(g->p.status));
	} else {
		char why[400];
		last_line(g->p.out, why, sizeof why);
		snprintf(out, cap, "exited %d: %s", WEXITSTATUS(g->p.status), why);
	}
}

/* Agents that ended on their own are reaped and reported: 1 if all of
 * those started still run. */
static int agents_alive(vc_agents *A)
{
	int alive = 1;
	for (unsigned i = 0; i < A->count; i++) {
		vc_agent *g = &A->agent[i];
		if (g->p.pid != 0 && vc_proc_wait(&g->p, 0)) {
			char how[512];
			how_ended(g, how, sizeof how);
			problem(A, "%s %s, before the end of the run. ", g->id, how);
		}
		if (g->p.pid == 0)
			alive = 0;
	}
	return alive;
}

/* The writer stops and the source files are closed; the agents go on
 * (continued, if a pause was left over). */
static void stop_writing(vc_agents *A)
{
	A->ended = 1;
	A->stop = 1;
	if (A->writer_started)
		pthread_join(A->writer, NULL);
	A->writer_started = 0;
	for (unsigned i = 0; i < A->count; i++) {
		vc_agent *g = &A->agent[i];
		if (g->fd >= 0)
			close(g->fd);
		g->fd = -1;
		vc_proc_kill(&g->p, SIGCONT);
	}
}

void vc_agents_end(vc_agents *A)
{
	if (A->ended)
		return;
	stop_writing(A);
	/* Until the server holds every line, or an agent is gone (what it had
	 * not forwarded will not come). */
	if (A->count > 0 && !A->failed) {
		double t0 = vc_mono_s();
		while (!all_held(A) && agents_alive(A) && vc_mono_s() - t0 < DRAIN_S)
			vc_sleep(0.2);
		double took = vc_mono_s() - t0;
		int reported = 0;
		for (unsigned i = 0; i < A->count; i++) {
			vc_agent *g = &A->agent[i];
			int64_t want = (int64_t)g->written - 1;
			if (!g->seen) {
				problem(A, "the server's sources report has no %s. ", g->id);
				continue;
			}
			reported++;
			if (g->missing)
				problem(A, "the server reports %" PRIu64 " spool indexes of %s missing "
				           "(vellum sources: a gap). ",
				        g->missing, g->id);
			else if (g->through != want || g->highest != want)
				problem(A, "after %.1f s of draining the server holds %s's spool indexes "
				           "0..%" PRId64 " (highest %" PRId64 ") of its %" PRIu64 " lines. ",
				        took, g->id, g->through, g->highest, g->written);
		}
		vc_say(A->L->o, "%s: agents drained in %.1f s (%d of %u in the server's report)",
		       A->L->r->name, took, reported, A->count);
	}
	agents_alive(A);
	for (unsigned i = 0; i < A->count; i++) {
		vc_agent *g = &A->agent[i];
		if (g->p.pid != 0) {
			vc_proc_stop(&g->p, 10);
			if (!WIFEXITED(g->p.status) || WEXITSTATUS(g->p.status) != 0) {
				char how[512];
				how_ended(g, how, sizeof how);
				problem(A, "%s did not stop cleanly on SIGTERM: it %s. ", g->id, how);
			}
		}
		if (g->write_error)
			problem(A, "writing %s's lines failed after %" PRIu64 " lines: %s. ", g->id,
			        g->written, strerror(g->write_error));
	}
}

/* ------------------------------------------------------------------ */
/* The check.                                                          */

void vc_agents_check(vc_agents *A)
{
	vc_result *r = A->L->r;
	if (!A->ended) {
		/* Not drained: whatever the agents did not forward shows as lost. */
		stop_writing(A);
		for (unsigned i = 0; i < A->count; i++)
			vc_proc_stop(&A->agent[i].p, 10);
	}
	if (A->curl_inited)
		curl_global_cleanup();
	A->curl_inited = 0;
	if (A->count == 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict, " Agents FAILED: %s", A->problems);
		return;
	}
	vc_agents_want want[VC_AGENTS_MAX];
	for (unsigned i = 0; i < A->count; i++)
		want[i] = (vc_agents_want){A->agent[i].id, A->agent[i].origin, A->agent[i].written};
	vc_agents_counts c;
	char err[512], logdir[PATH_MAX + 16], why[1024] = "";
	snprintf(logdir, sizeof logdir, "%s/" VC_AGENTS_LOG, A->L->srv.data);
	int checked = vc_agents_check_log(logdir, r->seed, want, A->count, &c, err, sizeof err) == 0;
	int verified = checked && vc_verify_log_named(&A->L->srv, VC_AGENTS_LOG, why, sizeof why) == 0;
	if (checked) {
		r->agent_lines = c.lines;
		r->agent_lost = c.lost;
		r->agent_duplicated = c.duplicated;
		r->agent_reordered = c.reordered;
		r->agent_corrupt = c.corrupt;
	}
	int ok = !A->failed && checked && verified && c.lines > 0 && c.lost == 0 &&
	         c.duplicated == 0 && c.reordered == 0 && c.corrupt == 0;
	if (ok) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           " Agents: %u agents wrote %" PRIu64 " lines; every one is in the log \""
		           VC_AGENTS_LOG "\" once, byte for byte, in writing order; the server "
		           "reports no gap; that log verifies.",
		           A->count, c.lines);
	} else {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict, " Agents FAILED: %s", A->problems);
		if (!checked)
			vc_appendf(r->verdict, sizeof r->verdict, "the agent check could not run: %s. ",
			           err);
		else
			vc_appendf(r->verdict, sizeof r->verdict,
			           "%" PRIu64 " lines written, %" PRIu64 " lost, %" PRIu64
			           " duplicated, %" PRIu64 " out of order, %" PRIu64 " corrupt%s%s. ",
			           c.lines, c.lost, c.duplicated, c.reordered, c.corrupt,
			           c.first_problem[0] ? "; first: " : "", c.first_problem);
		if (checked && c.lines == 0)
			vc_appendf(r->verdict, sizeof r->verdict, "no line was written. ");
		if (why[0])
			vc_appendf(r->verdict, sizeof r->verdict, "%s. ", why);
	}
}

int vc_agents_log_has(const vc_agents *A, unsigned i, const char *text)
{
	if (i >= A->count)
		return 0;
	FILE *f = fopen(A->agent[i].p.out, "re");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}
