/*
 * serve.c — `vellum serve`: start-up from the configuration (creating the
 * embedded default on first start), signals, and an orderly shutdown.
 *
 * Start-up either brings up everything the configuration names or stops
 * with one message that names the problem and exits non-zero: vellum never
 * runs half-configured.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "server.h"
#include "syslog_listen.h"
#include "util.h"
#include "vellum_io.h"

int vs_log_level = VS_INFO;

const char *const vs_reject_names[VS_REJ__COUNT] = {
	"malformed",     "content_type", "body_too_large", "entry_too_large", "too_many_events",
	"unauthorized",  "forbidden",    "not_found",      "queue_full",      "timeout",
	"method",        "conflict",     "internal",       "bad_request",     "syslog",
};

/* ------------------------------------------------------------------ */
/* JSON log lines.                                                     */


void vs_log_line(int level, const char *msg, const char *fields_fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	if (level < vs_log_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char fields[2048] = "";
	va_list ap;
	va_start(ap, fields_fmt);
	vsnprintf(fields, sizeof fields, fields_fmt, ap);
	va_end(ap);
	fprintf(stderr,
	        "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":\"%s\"%s}\n",
	        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	        ts.tv_nsec / 1000000, names[level], msg, fields);
}

/* ------------------------------------------------------------------ */
/* fdatasync, timed: the I/O table of every log served.                */

static vl_io timed_io;
static const vl_io *posix_io;
static vs_histogram *fsync_hist;

static int timed_fdatasync(void *ctx, int fd)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = posix_io->fdatasync(ctx, fd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (fsync_hist)
		vs_histogram_observe(fsync_hist, vs_elapsed(&a, &b));
	return rc;
}

/* ------------------------------------------------------------------ */
/* First start: data directory, key, token.                            */

static int write_new_file(const char *path, const char *text, mode_t mode, char *err,
                          size_t errcap)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errcap, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n <= 0) {
			snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int dir_is_empty_or_absent(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT;
	char probe[4200];
	snprintf(probe, sizeof probe, "%s/log.conf", path);
	return !exists(probe);
}

static int make_token_file(vs_server *s, char *err, size_t errcap, int *created)
{
	const vs_config *cfg = &s->cfg;
	*created = 0;
	if (exists(cfg->token_file))
		return 0;
	char token[64], line[VS_TOKEN_LINE_FIXED + 16];
	if (vs_token_generate("admin", "*:admin", token, sizeof token, line, sizeof line, err,
	                      errcap) != 0)
		return -1;
	char text[sizeof line + 200];
	snprintf(text, sizeof text,
	         "# vellum bearer tokens: NAME sha256:HEX LOG:SCOPE[,...]  (see docs/server.md)\n%s",
	         line);
	if (write_new_file(cfg->token_file, text, 0600, err, errcap) != 0)
		return -1;
	char path[4200], tok[80];
	snprintf(path, sizeof path, "%s/admin.token", cfg->data);
	snprintf(tok, sizeof tok, "%s\n", token);
	unlink(path);
	if (write_new_file(path, tok, 0600, err, errcap) != 0)
		return -1;
	explicit_bzero(token, sizeof token);
	explicit_bzero(tok, sizeof tok);
	*created = 1;
	return 0;
}

static int open_log(vs_server *s, vs_log *l, int key_explicit, char *err, size_t errcap)
{
	const vs_log_config *lc = l->cfg;
	vl_log_options opt = {.io = &timed_io, .key_file = lc->key};
	int fresh = dir_is_empty_or_absent(lc->dir);
	if (fresh && !exists(lc->key)) {
		if (key_explicit) {
			snprintf(err, errcap, "[log %s] key = %s: no such file", lc->name, lc->key);
			return -1;
		}
		char host[128] = "localhost", name[300], *skey = NULL, *vkey = NULL;
		gethostname(host, sizeof host - 1);
		for (char *p = host; *p; p++)
			if (*p == '+' || *p == ' ' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				*p = '-';
		snprintf(name, sizeof name, "%s/vellum/%s", host, lc->name);
		int rc = vl_key_generate(name, &skey, &vkey);
		if (rc == 0) {
			size_t n = strlen(skey);
			char *text = malloc(n + 2);
			if (text) {
				memcpy(text, skey, n);
				memcpy(text + n, "\n", 2);
				rc = write_new_file(lc->key, text, 0600, err, errcap);
				explicit_bzero(text, n);
				free(text);
			} else {
				rc = VL_ENOMEM;
			}
			explicit_bzero(skey, strlen(skey));
		}
		free(skey);
		free(vkey);
		if (rc != 0) {
			if (rc != -1)
				snprintf(err, errcap, "[log %s] cannot create key %s: %s", lc->name, lc->key,
				         vl_strerror(rc));
			return -1;
		}
		vs_log_line(VS_INFO, "created signing key", ",\"log\":\"%s\",\"key\":\"%s\"", lc->name,
		            lc->key);
	}
	vl_signer *signer = NULL;
	int rc = vl_signer_load(lc->key, &signer);
	if (rc != 0) {
		snprintf(err, errcap, "[log %s] key = %s: %s%s", lc->name, lc->key, vl_strerror(rc),
		         rc == VL_EKEY ? " (the file must be a vellum signer key, mode 0600)" : "");
		return -1;
	}
	char *signer_vkey = NULL;
	rc = vl_signer_vkey(signer, &signer_vkey);
	if (rc == 0) {
		if (fresh) {
			rc = vl_log_create(lc->dir, signer, &opt, &l->log);
			if (rc == 0)
				vs_log_line(VS_INFO, "created log", ",\"log\":\"%s\",\"dir\":\"%s\"", lc->name,
				            lc->dir);
		} else {
			rc = vl_log_open(lc->dir, &opt, &l->log);
		}
		if (rc != 0)
			snprintf(err, errcap, "[log %s] cannot %s %s: %s: %s", lc->name,
			         fresh ? "create" : "open", lc->dir, vl_strerror(rc), vl_open_message());
	} else {
		snprintf(err, errcap, "[log %s] key = %s: %s", lc->name, lc->key, vl_strerror(rc));
	}
	vl_signer_free(signer);
	if (rc != 0) {
		free(signer_vkey);
		return -1;
	}
	if (strcmp(signer_vkey, vl_log_vkey(l->log)) != 0) {
		snprintf(err, errcap,
		         "[log %s] key = %s does not match the log in %s: the log was created with "
		         "%s, the key is %s",
		         lc->name, lc->key, lc->dir, vl_log_vkey(l->log), signer_vkey);
		free(signer_vkey);
		return -1;
	}
	free(signer_vkey);
	vl_recovery rec;
	vl_log_recovery(l->log, &rec);
	if (rec.dropped_frames || rec.replayed_entries)
		vs_log_line(VS_WARN, "log recovered",
		            ",\"log\":\"%s\",\"dropped_frames\":%" PRIu64 ",\"dropped_bytes\":%" PRIu64
		            ",\"replayed_entries\":%" PRIu64,
		            lc->name, rec.dropped_frames, rec.dropped_bytes, rec.replayed_entries);
	l->vkey = strdup(vl_log_vkey(l->log));
	/* The verifier key next to the data, for clients. */
	char vpath[4200], vtext[512];
	snprintf(vpath, sizeof vpath, "%s/%s.vkey", s->cfg.data, lc->name);
	snprintf(vtext, sizeof vtext, "%s\n", l->vkey);
	unlink(vpath);
	if (write_new_file(vpath, vtext, 0644, err, errcap) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Syslog: one job per message, waited for on the listener's thread.   */

struct sync_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

static void sync_complete(vs_job *job)
{
	struct sync_wait *w = job->complete_arg;
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int syslog_sink(void *ctx, const vs_syslog_delivery *d)
{
	vs_log *l = ctx;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	vs_envelope env = {
		.received = now,
		.principal = "anonymous",
		.transport = d->transport,
		.content_type = d->parsed && d->parsed->format == VS_SYSLOG_RFC5424 ? "application/syslog"
		                                                                 : "text/plain",
		.peer = d->peer,
	};
	uint8_t head[sizeof(((vs_envelope_template *)0)->prefix) + 128];
	size_t h = vs_envelope_write_header(&env, head, sizeof head);
	if (h == 0 || h + d->len > VL_ENTRY_MAX) {
		vs_counter_inc(l->server->m_rejects[VS_REJ_SYSLOG], 1);
		return -1;
	}
	vs_job *job = calloc(1, sizeof *job);
	int rc = VL_ENOMEM;
	if (job && (job->buf = malloc(h + d->len)) && (job->entries = calloc(1, sizeof(vl_entry))) &&
	    (job->slot = calloc(1, sizeof(long))) && (job->index = calloc(1, sizeof(uint64_t)))) {
		memcpy(job->buf, head, h);
		memcpy(job->buf + h, d->msg, d->len);
		job->entries[0] = (vl_entry){job->buf, h + d->len};
		job->n_entries = job->n_events = 1;
		job->buf_len = h + d->len;
		struct sync_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
		job->complete = sync_complete;
		job->complete_arg = &w;
		rc = vs_sequencer_submit(l, job);
		if (rc == 0) {
			pthread_mutex_lock(&w.mu);
			while (!w.done)
				pthread_cond_wait(&w.cv, &w.mu);
			pthread_mutex_unlock(&w.mu);
			rc = job->rc;
		}
	}
	vs_job_free(job);
	if (rc != 0)
		vs_counter_inc(l->server->m_rejects[VS_REJ_SYSLOG], 1);
	return rc == 0 ? 0 : -1;
}

static int start_syslog(vs_log *l, char *err, size_t errcap)
{
	const vs_log_config *lc = l->cfg;
	if (!lc->syslog_tcp && !lc->syslog_udp && !lc->syslog_tls)
		return 0;
	vs_syslog_config sc = {
		.tcp = lc->syslog_tcp,
		.udp = lc->syslog_udp,
		.tls = lc->syslog_tls,
		.tls_cert = lc->syslog_tls_cert,
		.tls_key = lc->syslog_tls_key,
		.max_message = VL_ENTRY_MAX - 512,
		.max_connections = (int)l->server->cfg.max_connections,
		.idle_timeout_ms = (int)l->server->cfg.idle_timeout_ms,
	};
	char msg[512];
	vs_syslog_server *srv = NULL;
	if (vs_syslog_start(&sc, syslog_sink, l, &srv, msg, sizeof msg) != 0) {
		snprintf(err, errcap, "[log %s] syslog: %s", lc->name, msg);
		return -1;
	}
	l->syslog = srv;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Metrics.                                                            */

static double inflight_bytes(void *arg)
{
	vs_server *s = arg;
	return (double)atomic_load(&s->inflight_bytes);
}

static double agents_count(void *arg)
{
	vs_log *l = arg;
	return l->sources ? (double)vs_sources_count(l->sources) : 0;
}

static double agents_missing(void *arg)
{
	vs_log *l = arg;
	return l->sources ? (double)vs_sources_missing_total(l->sources) : 0;
}

static double queue_depth(void *arg)
{
	vs_log *l = arg;
	pthread_mutex_lock(&l->mu);
	double d = (double)l->queued_events;
	pthread_mutex_unlock(&l->mu);
	return d;
}

static double clock_behind(void *arg)
{
	vs_log *l = arg;
	pthread_mutex_lock(&l->mu);
	double d = l->clock_behind_s;
	pthread_mutex_unlock(&l->mu);
	return d;
}

static double clock_backwards(void *arg)
{
	vs_log *l = arg;
	pthread_mutex_lock(&l->mu);
	double d = (double)l->clock_backwards;
	pthread_mutex_unlock(&l->mu);
	return d;
}

static double log_reopens(void *arg)
{
	vs_log *l = arg;
	pthread_mutex_lock(&l->mu);
	double d = (double)l->reopens;
	pthread_mutex_unlock(&l->mu);
	return d;
}

static double log_failed(void *arg)
{
	vs_log *l = arg;
	pthread_mutex_lock(&l->mu);
	double d = l->poisoned ? 1 : 0;
	pthread_mutex_unlock(&l->mu);
	return d;
}

static double log_size(void *arg)
{
	vs_log *l = arg;
	return (double)vl_log_size(l->log);
}

static double checkpoint_size(void *arg)
{
	vs_log *l = arg;
	pthread_mutex_lock(&l->mu);
	double d = (double)l->checkpoint_size;
	pthread_mutex_unlock(&l->mu);
	return d;
}

/* Syslog listener counters, read at scrape time. */
enum { SL_MESSAGES, SL_PARSE, SL_OVERSIZE, SL_FRAMING, SL_SINK, SL_CONNECTIONS, SL__COUNT };
struct syslog_metric {
	vs_log *log;
	int field;
};

static double syslog_counter(void *arg)
{
	const struct syslog_metric *m = arg;
	if (!m->log->syslog)
		return 0;
	vs_syslog_counters c;
	vs_syslog_stats(m->log->syslog, &c);
	const uint64_t v[SL__COUNT] = {c.messages,       c.reject_parse, c.reject_oversize,
	                               c.reject_framing, c.reject_sink,  c.connections_current};
	return (double)v[m->field];
}

static int register_syslog_metrics(vs_metrics *m, vs_log *l)
{
	static const char *const reasons[] = {"parse", "oversize", "framing", "sink"};
	struct syslog_metric *sm = calloc(SL__COUNT, sizeof *sm);
	if (!sm)
		return -1;
	l->syslog_metrics = sm;
	char labels[160];
	for (int f = 0; f < SL__COUNT; f++) {
		sm[f] = (struct syslog_metric){l, f};
		const char *name = f == SL_MESSAGES      ? "vellum_syslog_messages"
		                   : f == SL_CONNECTIONS ? "vellum_syslog_connections"
		                                         : "vellum_syslog_rejects";
		const char *help = f == SL_MESSAGES ? "Syslog messages logged since start."
		                   : f == SL_CONNECTIONS
		                           ? "Open syslog TCP and TLS connections."
		                           : "Syslog messages refused since start, by reason.";
		if (f == SL_MESSAGES || f == SL_CONNECTIONS)
			snprintf(labels, sizeof labels, "log=\"%s\"", l->cfg->name);
		else
			snprintf(labels, sizeof labels, "log=\"%s\",reason=\"%s\"", l->cfg->name,
			         reasons[f - SL_PARSE]);
		if (vs_gauge_fn_add(m, name, help, labels, syslog_counter, &sm[f]) != 0)
			return -1;
	}
	return 0;
}

static int register_metrics(vs_server *s)
{
	static const double latency[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
	static const double sizes[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144};
	static const double cp_latency[] = {0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7,
	                                    0.8,  0.9,   1,    1.1, 1.2, 1.5, 2,   3,   5,   10};
	vs_metrics *m = s->metrics = vs_metrics_new();
	if (!m)
		return -1;
	s->m_requests = vs_counter_add(m, "vellum_http_requests_total", "HTTP requests received.",
	                               NULL);
	s->m_request_seconds = vs_histogram_add(m, "vellum_http_request_duration_seconds",
	                                        "Time from a request's headers to its answer.", NULL,
	                                        latency, sizeof latency / sizeof *latency);
	for (int i = 0; i < VS_REJ__COUNT; i++) {
		char labels[64];
		snprintf(labels, sizeof labels, "reason=\"%s\"", vs_reject_names[i]);
		s->m_rejects[i] = vs_counter_add(m, "vellum_rejects_total",
		                                 "Requests and messages refused, by reason.", labels);
	}
	fsync_hist = vs_histogram_add(m, "vellum_fsync_duration_seconds",
	                              "Latency of fdatasync on the logs' files.", NULL, latency,
	                              sizeof latency / sizeof *latency);
	vs_gauge_fn_add(m, "vellum_inflight_bytes",
	                "Request bodies and envelopes held in memory, all logs.", NULL,
	                inflight_bytes, s);
	for (size_t i = 0; i < s->n_logs; i++) {
		vs_log *l = &s->logs[i];
		char labels[128];
		snprintf(labels, sizeof labels, "log=\"%s\"", l->cfg->name);
		l->m_events = vs_counter_add(m, "vellum_events_total", "Events made durable.", labels);
		l->m_bytes = vs_counter_add(m, "vellum_event_bytes_total",
		                            "Bytes of entries made durable (envelopes included).",
		                            labels);
		l->m_commits = vs_counter_add(m, "vellum_commits_total",
		                              "Group commits (one write and one fdatasync each).",
		                              labels);
		l->m_checkpoints = vs_counter_add(m, "vellum_checkpoints_total",
		                                  "Checkpoints signed over a grown tree.", labels);
		l->m_replayed = vs_counter_add(m, "vellum_idempotent_replays_total",
		                               "Events answered from the log instead of written again.",
		                               labels);
		l->m_fsync = vs_histogram_add(m, "vellum_commit_duration_seconds",
		                              "Time to make one group commit durable.", labels, latency,
		                              sizeof latency / sizeof *latency);
		l->m_commit_events = vs_histogram_add(m, "vellum_commit_events",
		                                      "Entries per group commit.", labels, sizes,
		                                      sizeof sizes / sizeof *sizes);
		l->m_ack_to_cp = vs_histogram_add(
			m, "vellum_ack_to_checkpoint_seconds",
			"Time from an event's durable acknowledgement to a signed checkpoint covering it.",
			labels, cp_latency, sizeof cp_latency / sizeof *cp_latency);
		vs_gauge_fn_add(m, "vellum_queue_events", "Entries waiting for the next commit.",
		                labels, queue_depth, l);
		vs_gauge_fn_add(m, "vellum_checkpoint_age_seconds",
		                "Seconds since the newest checkpoint was signed.", labels,
		                vs_checkpoint_age, l);
		vs_gauge_fn_add(m, "vellum_log_entries", "Durable entries in the log.", labels,
		                log_size, l);
		vs_gauge_fn_add(m, "vellum_clock_behind_seconds",
		                "How far the wall clock was behind the newest time the log has seen, "
		                "at the last commit (0: not behind).",
		                labels, clock_behind, l);
		vs_gauge_fn_add(m, "vellum_clock_backwards",
		                "Commits (and starts) that found the wall clock more than 1 s behind "
		                "the newest time the log has seen.",
		                labels, clock_backwards, l);
		vs_gauge_fn_add(m, "vellum_log_storage_failed",
		                "1 while the log's storage has failed and it refuses writes "
		                "(503 storage_failed) until it is reopened, else 0.",
		                labels, log_failed, l);
		vs_gauge_fn_add(m, "vellum_log_reopens",
		                "Times the log was reopened in place after its storage failed.",
		                labels, log_reopens, l);
		vs_gauge_fn_add(m, "vellum_agents", "Agents that have forwarded to the log.", labels,
		                agents_count, l);
		vs_gauge_fn_add(m, "vellum_agent_missing_events",
		                "Spool indexes missing below the highest received, over all agents: "
		                "events lost before they reached vellum (GET /v1/logs/{log}/sources).",
		                labels, agents_missing, l);
		vs_gauge_fn_add(m, "vellum_checkpoint_entries",
		                "Entries covered by the newest checkpoint.", labels, checkpoint_size, l);
		if ((l->cfg->syslog_tcp || l->cfg->syslog_udp || l->cfg->syslog_tls) &&
		    register_syslog_metrics(m, l) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The command.                                                        */

static int reload_tokens(vs_server *s)
{
	char err[512];
	vs_tokens *t = NULL;
	if (vs_tokens_load(s->cfg.token_file, &t, err, sizeof err) != 0) {
		char esc[1100];
		vs_json_escape(err, strlen(err), esc, sizeof esc);
		vs_log_line(VS_ERROR, "token reload failed; keeping the old tokens",
		            ",\"detail\":\"%s\"", esc);
		return -1;
	}
	pthread_rwlock_wrlock(&s->tokens_lock);
	vs_tokens *old = s->tokens;
	s->tokens = t;
	pthread_rwlock_unlock(&s->tokens_lock);
	vs_tokens_free(old);
	vs_log_line(VS_INFO, "tokens loaded", ",\"file\":\"%s\",\"tokens\":%zu", s->cfg.token_file,
	            vs_tokens_count(t));
	return 0;
}

static int fail_start(const char *msg)
{
	fprintf(stderr, "vellum serve: %s\n", msg);
	return CLI_EXIT_USAGE;
}

static void shutdown_server(vs_server *s)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (s->logs[i].syslog)
			vs_syslog_stop(s->logs[i].syslog);
	for (size_t i = 0; i < s->n_logs; i++) {
		vs_log *l = &s->logs[i];
		int rc = vs_sequencer_stop(l);
		if (rc == 0 && l->log)
			vs_log_line(VS_INFO, "final checkpoint signed",
			            ",\"log\":\"%s\",\"entries\":%" PRIu64, l->cfg->name,
			            l->checkpoint_size);
	}
}

static int serve_run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},   {"listen", required_argument, NULL, 'l'},
		{"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL, *listen_addr = NULL, *config_file = NULL;
	int c;
	while ((c = getopt_long(argc, argv, ":d:l:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'l': listen_addr = optarg; break;
		case 'c': config_file = optarg; break;
		case 'h': return cli_help(self);
		default: return cli_bad_option(self, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);

	static vs_server server;
	vs_server *s = &server;
	char err[1024];
	s->listen_fd = -1;
	if (vs_config_defaults(&s->cfg) != 0)
		return fail_start("out of memory");
	if (config_file && vs_config_load(config_file, &s->cfg, err, sizeof err) != 0) {
		char msg[1200];
		snprintf(msg, sizeof msg, "%s: %s", config_file, err);
		return fail_start(msg);
	}
	/* The embedded default publishes its log: a transparency log is read
	 * by anyone who holds its verifier key (C2SP clients send no token). */
	if (!config_file && s->cfg.n_logs == 1)
		s->cfg.logs[0].public_read = 1;
	if ((data && vs_config_set(&s->cfg.data, data) != 0) ||
	    (listen_addr && vs_config_set(&s->cfg.listen, listen_addr) != 0))
		return fail_start("out of memory");
	int *key_explicit = calloc(s->cfg.n_logs + 1, sizeof *key_explicit);
	int token_explicit = s->cfg.token_file != NULL;
	for (size_t i = 0; i < s->cfg.n_logs; i++)
		key_explicit[i] = s->cfg.logs[i].key != NULL;
	if (vs_config_finish(&s->cfg, err, sizeof err) != 0) {
		free(key_explicit);
		return fail_start(err);
	}
	vs_log_level = s->cfg.log_level;

	/* Signals are taken by this thread alone, with sigwait. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int code = CLI_EXIT_OK, created_token = 0;
	if (mkdir(s->cfg.data, 0700) != 0 && errno != EEXIST) {
		snprintf(err, sizeof err, "data = %s: cannot create the directory: %s", s->cfg.data,
		         strerror(errno));
		free(key_explicit);
		return fail_start(err);
	}
	char probe[4200];
	snprintf(probe, sizeof probe, "%s/.vellum-write-test", s->cfg.data);
	int pfd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (pfd < 0) {
		snprintf(err, sizeof err, "data = %s: the directory is not writable: %s", s->cfg.data,
		         strerror(errno));
		free(key_explicit);
		return fail_start(err);
	}
	close(pfd);
	unlink(probe);
	posix_io = vl_io_posix();
	timed_io = *posix_io;
	timed_io.fdatasync = timed_fdatasync;
	pthread_rwlock_init(&s->tokens_lock, NULL);
	clock_gettime(CLOCK_REALTIME, &s->started);
	s->n_logs = s->cfg.n_logs;
	s->logs = calloc(s->n_logs, sizeof *s->logs);
	if (!s->logs) {
		free(key_explicit);
		return fail_start("out of memory");
	}
	int failed = 0;
	if (!token_explicit && make_token_file(s, err, sizeof err, &created_token) != 0)
		failed = 1;
	vs_tokens *t = NULL;
	if (!failed && vs_tokens_load(s->cfg.token_file, &t, err + 512, sizeof err - 512) != 0) {
		char tmp[600];
		snprintf(tmp, sizeof tmp, "token_file = %s: %s", s->cfg.token_file, err + 512);
		snprintf(err, sizeof err, "%s", tmp);
		failed = 1;
	}
	s->tokens = t;
	for (size_t i = 0; !failed && i < s->n_logs; i++) {
		vs_log *l = &s->logs[i];
		l->server = s;
		l->cfg = &s->cfg.logs[i];
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->work_cv, NULL);
		/* The checkpointer's deadlines are CLOCK_MONOTONIC: its
		 * condition variable must wait on that clock too. */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->cp_cv, &ca);
		pthread_condattr_destroy(&ca);
		if (open_log(s, l, key_explicit[i], err, sizeof err) != 0)
			failed = 1;
	}
	free(key_explicit);
	if (!failed && register_metrics(s) != 0) {
		snprintf(err, sizeof err, "out of memory");
		failed = 1;
	}
	for (size_t i = 0; !failed && i < s->n_logs; i++)
		if (vs_sequencer_start(&s->logs[i], err, sizeof err) != 0 ||
		    start_syslog(&s->logs[i], err, sizeof err) != 0)
			failed = 1;
	if (!failed && vs_http_start(s, err, sizeof err) != 0)
		failed = 1;
	if (failed) {
		fprintf(stderr, "vellum serve: %s\n", err);
		code = CLI_EXIT_USAGE;
		goto out;
	}

	const char *scheme = s->cfg.tls_cert ? "https" : "http";
	printf("vellum %s serving on %s://%s/\n", VL_VERSION_STRING, scheme, s->cfg.listen);
	for (size_t i = 0; i < s->n_logs; i++) {
		vs_log *l = &s->logs[i];
		printf("  log %-10s %s://%s/logs/%s/  (%" PRIu64 " entries, data %s)\n", l->cfg->name,
		       scheme, s->cfg.listen, l->cfg->name, vl_log_size(l->log), l->cfg->dir);
		printf("    verifier key: %s  (also in %s/%s.vkey)\n", l->vkey, s->cfg.data,
		       l->cfg->name);
	}
	if (created_token)
		printf("  admin token written to %s/admin.token (mode 0600; hash in %s)\n", s->cfg.data,
		       s->cfg.token_file);
	else
		printf("  tokens: %s\n", s->cfg.token_file);
	fflush(stdout);
	vs_log_line(VS_INFO, "serving", ",\"listen\":\"%s\",\"logs\":%zu", s->cfg.listen, s->n_logs);

	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			(void)reload_tokens(s);
			continue;
		}
		vs_log_line(VS_INFO, "shutting down", ",\"signal\":\"%s\"",
		            sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	atomic_store(&s->draining, 1);
	vs_http_quiesce(s);
out:
	/* Finish what was acknowledged to be queued, sign, then let the
	 * answers go out before the HTTP server stops. */
	shutdown_server(s);
	if (s->httpd) {
		for (int i = 0; i < 500 && atomic_load(&s->active_requests) > 0; i++)
			usleep(10000);
		vs_http_stop(s);
	}
	for (size_t i = 0; i < s->n_logs; i++) {
		vs_log *l = &s->logs[i];
		if (l->log) {
			int rc = vl_log_close(l->log);
			if (rc != 0) {
				fprintf(stderr, "vellum serve: closing log %s: %s\n", l->cfg->name,
				        vl_strerror(rc));
				if (code == CLI_EXIT_OK)
					code = CLI_EXIT_RUNTIME;
			}
		}
		vs_idem_free(l->idem);
		vs_sources_free(l->sources);
		free(l->syslog_metrics);
		free(l->vkey);
	}
	if (code == CLI_EXIT_OK)
		vs_log_line(VS_INFO, "stopped", "%s", "");
	vs_tokens_free(s->tokens);
	vs_metrics_free(s->metrics);
	free(s->logs);
	vs_config_free(&s->cfg);
	return code;
}

const struct cli_command cli_serve = {
	"serve",
	"  vellum serve [--data DIR] [--listen ADDR:PORT] [--config FILE]\n"
	"                                      run the ingest and read server\n",
	"usage: vellum serve [--data DIR] [--listen ADDR:PORT] [--config FILE]\n"
	"\n"
	"Runs the ingest and read server.  With no options it serves one log named\n"
	"'default' from ./vellum-data on 127.0.0.1:8080, creating the directory, the\n"
	"log's signing key and an admin token on first start.\n"
	"\n"
	"  --data DIR          data directory (logs, keys, tokens); default ./vellum-data\n"
	"  --listen ADDR:PORT  HTTP listener; default 127.0.0.1:8080\n"
	"  --config FILE       INI configuration (docs/server.md); options above override it\n"
	"\n"
	"Endpoints: POST /v1/logs/LOG/events, POST /v1/logs/LOG/k8s-audit,\n"
	"GET /logs/LOG/checkpoint and /logs/LOG/tile/..., GET /v1/logs/LOG/entries/N,\n"
	"/v1/logs/LOG/proof/inclusion?index=&size=, /v1/logs/LOG/proof/consistency?old=&new=,\n"
	"/v1/logs/LOG/receipt/N, /metrics, /healthz, /readyz.\n"
	"\n"
	"Signals: SIGHUP reloads the token file; SIGTERM or SIGINT stops accepting,\n"
	"finishes queued commits, signs a final checkpoint and exits 0.\n"
	"\n"
	"Exit status: 0 after a clean shutdown; 2 if the configuration is unusable\n"
	"(the message names the problem); 3 on a runtime failure.\n",
	serve_run,
};
