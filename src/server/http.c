/*
 * http.c — the HTTP side of `vellum serve` (on httpd.c): ingest, the
 * C2SP read API, proofs, receipts, metrics and health.
 *
 * An ingest request goes through three calls of the access handler:
 *   1. headers: route, method, log, token and scope, content type, size —
 *      anything wrong is answered at once, before the body is read;
 *   2. body chunks: buffered up to max_body_bytes, within the server-wide
 *      budget of bytes held (queue_max_bytes) — over either, answered at
 *      once (httpd.c answers 408 when the request takes too long);
 *   3. end of body: split into events, each wrapped in its envelope; the
 *      connection is suspended and the job queued to the log's sequencer,
 *      whose committer resumes it once the entries are durable; the
 *      handler then runs a fourth time and sends the answer.
 * Every error is a JSON body {"error":{"status":N,"code":"...","message":"..."}}
 * and is counted in vellum_rejects_total{reason=...}.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "forward.h"
#include "httpd.h"
#include "ingest_parse.h"
#include "note.h"
#include "readfile.h"
#include "route.h"
#include "server.h"
#include "sha256.h"
#include "tiles.h"

enum req_state { REQ_NEW, REQ_BODY, REQ_QUEUED, REQ_DONE };

struct request {
	vs_server *server;
	vs_route route;
	vs_log *log;
	enum req_state state;
	vh_conn *conn;
	struct timespec start;
	char principal[VS_LOG_NAME_MAX + 1];
	enum vs_body_kind kind;
	int want_checkpoint;
	char idem_key[VS_HEADER_VALUE_MAX + 1];
	uint8_t *body;
	size_t len, cap;
	size_t reserved;           /* bytes counted in server->inflight_bytes */
	size_t declared;           /* Content-Length, if given */
	/* A synchronous answer decided while suspended (submit failed). */
	int sync_status;
	vs_job *job;
	uint8_t (*leaf)[VL_HASH_SIZE];
	/* POST .../forward: the agent and the records this request writes
	 * (those the log did not hold yet), and how many it held already. */
	int forward;
	char agent[VS_AGENT_ID_MAX + 1];
	vs_forward_record *records;
	size_t n_records, n_held_before;
};

static void reserve_release(struct request *r)
{
	if (r->reserved) {
		atomic_fetch_sub(&r->server->inflight_bytes, r->reserved);
		r->reserved = 0;
	}
}

/* Count N more bytes against the server-wide budget; 0 or -1 if over. */
static int reserve(struct request *r, size_t n)
{
	uint64_t limit = r->server->cfg.queue_max_bytes;
	uint64_t was = atomic_fetch_add(&r->server->inflight_bytes, n);
	if (was + n > limit) {
		atomic_fetch_sub(&r->server->inflight_bytes, n);
		return -1;
	}
	r->reserved += n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Responses.                                                          */

static int send_response(vh_conn *c, unsigned status, const char *content_type, char *body,
                         size_t len, const char *cache, const char *h1, const char *v1)
{
	vh_respond(c, status, content_type, body, len, cache, h1, v1);
	return 0;
}

static int send_error(vs_server *s, vh_conn *c, unsigned status,
                                  enum vs_reject rej, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int send_error(vs_server *s, vh_conn *c, unsigned status,
                                  enum vs_reject rej, const char *code, const char *fmt, ...)
{
	char msg[600], esc[1300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	vs_json_escape(msg, strlen(msg), esc, sizeof esc);
	char *body = NULL;
	int n = asprintf(&body, "{\"error\":{\"status\":%u,\"code\":\"%s\",\"message\":\"%s\"}}\n",
	                 status, code, esc);
	if (n < 0)
		return -1;
	vs_counter_inc(s->m_rejects[rej], 1);
	vs_log_line(VS_DEBUG, "request rejected", ",\"status\":%u,\"code\":\"%s\",\"message\":\"%s\"",
	            status, code, esc);
	const char *h = NULL, *v = NULL;
	if (status == 401) {
		h = "WWW-Authenticate";
		v = strcmp(code, "invalid_token") == 0 ? "Bearer realm=\"vellum\", error=\"invalid_token\""
		                                       : "Bearer realm=\"vellum\"";
	} else if (status == 503) {
		h = "Retry-After";
		v = "1";
	} else if (status == 405) {
		h = "Allow";
		v = strcmp(code, "post_only") == 0 ? "POST" : "GET, HEAD";
	}
	return send_response(c, status, "application/json", body, (size_t)n, "no-store", h, v);
}

/* ------------------------------------------------------------------ */
/* Authentication.                                                     */

/* 0 with principal set when the request may use SCOPE on log L; else
 * the status to answer (401 or 403) with *code and msg filled. */
static unsigned authorize(vs_server *s, vh_conn *c, const vs_log *l, unsigned scope,
                          char principal[VS_LOG_NAME_MAX + 1], const char **code, char *msg,
                          size_t msgcap)
{
	const char *auth = vh_lookup(c, VH_HEADER,
	                                               "Authorization");
	if (!auth) {
		if (scope == VS_SCOPE_READ && l->cfg->public_read) {
			snprintf(principal, VS_LOG_NAME_MAX + 1, "anonymous");
			return 0;
		}
		*code = "unauthorized";
		snprintf(msg, msgcap, "this request needs a bearer token (Authorization: Bearer vlt_...)");
		return 401;
	}
	if (strncasecmp(auth, "Bearer ", 7) != 0) {
		*code = "unauthorized";
		snprintf(msg, msgcap, "the Authorization header must be \"Bearer <token>\"");
		return 401;
	}
	const char *tok = auth + 7;
	while (*tok == ' ')
		tok++;
	pthread_rwlock_rdlock(&s->tokens_lock);
	const char *name = s->tokens ? vs_tokens_authenticate(s->tokens, tok, strlen(tok)) : NULL;
	unsigned granted = name ? vs_tokens_scopes(s->tokens, name, l->cfg->name) : 0;
	if (name)
		snprintf(principal, VS_LOG_NAME_MAX + 1, "%s", name);
	pthread_rwlock_unlock(&s->tokens_lock);
	if (!name) {
		*code = "invalid_token";
		snprintf(msg, msgcap, "the bearer token is not valid");
		return 401;
	}
	if (!(granted & scope)) {
		if (scope == VS_SCOPE_READ && l->cfg->public_read)
			return 0;
		*code = "forbidden";
		snprintf(msg, msgcap, "token '%s' has no %s scope on log '%s'", principal,
		         scope == VS_SCOPE_APPEND ? "append" : scope == VS_SCOPE_READ ? "read" : "admin",
		         l->cfg->name);
		return 403;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Read API.                                                           */

/* A whole file; -errno when it cannot be opened (-ENOENT: absent). */
static int read_whole(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = vs_read_fd(fd, path, max, out, len, NULL, 0);
	close(fd);
	return rc;
}

#define BUNDLE_MAX ((size_t)VL_TILE_WIDTH * (VL_ENTRY_MAX + 2))

/* The first WIDTH hashes or entries of a tile file, as a new buffer. */
static int tile_prefix(char *data, size_t len, int level, unsigned width, size_t *out_len)
{
	if (level != VL_TILE_ENTRIES) {
		if (len < (size_t)width * VL_HASH_SIZE)
			return -1;
		*out_len = (size_t)width * VL_HASH_SIZE;
		return 0;
	}
	size_t off = 0;
	for (unsigned i = 0; i < width; i++) {
		if (off + 2 > len)
			return -1;
		size_t l = (size_t)(uint8_t)data[off] << 8 | (uint8_t)data[off + 1];
		if (off + 2 + l > len)
			return -1;
		off += 2 + l;
	}
	*out_len = off;
	return 0;
}

static int serve_tile(vs_server *s, vh_conn *c, vs_log *l,
                                  const vs_route *r)
{
	char rel[VL_TILE_PATH_MAX], path[4096];
	char *data = NULL;
	size_t len = 0;
	int rc = vl_tile_path(rel, sizeof rel, r->tile_level, r->tile_n, r->tile_width);
	if (rc >= 0) {
		snprintf(path, sizeof path, "%s/%s", l->cfg->dir, rel);
		rc = read_whole(path, BUNDLE_MAX, &data, &len);
	}
	/* A partial tile is replaced by a wider one as the tree grows, and
	 * every wider file of the same tile starts with the same hashes or
	 * entries: serve the prefix of the full tile or of the widest
	 * partial one present. */
	if (rc < 0 && r->tile_width < VL_TILE_WIDTH &&
	    vl_tile_path(rel, sizeof rel, r->tile_level, r->tile_n, VL_TILE_WIDTH) >= 0) {
		snprintf(path, sizeof path, "%s/%s", l->cfg->dir, rel);
		rc = read_whole(path, BUNDLE_MAX, &data, &len);
		if (rc < 0) {
			/* Partial tiles of tile/L/N live in tile/L/N.p/ */
			char pdir[4100];
			snprintf(pdir, sizeof pdir, "%.4000s.p", path);
			unsigned widest = 0;
			DIR *d = opendir(pdir);
			for (struct dirent *de; d && (de = readdir(d));) {
				uint64_t w;
				if (vs_parse_u64(de->d_name, strlen(de->d_name), &w) == 0 &&
				    w > widest && w < VL_TILE_WIDTH)
					widest = (unsigned)w;
			}
			if (d)
				closedir(d);
			if (widest > r->tile_width) {
				snprintf(path, sizeof path, "%.4080s/%u", pdir, widest);
				rc = read_whole(path, BUNDLE_MAX, &data, &len);
			}
		}
	}
	if (rc < 0) {
		(void)vl_tile_path(rel, sizeof rel, r->tile_level, r->tile_n, r->tile_width);
		return send_error(s, c, 404, VS_REJ_NOT_FOUND, "not_found",
		                  "log '%s' has no tile %s", l->cfg->name, rel);
	}
	size_t want = len;
	if (tile_prefix(data, len, r->tile_level, r->tile_width, &want) < 0) {
		free(data);
		return send_error(s, c, 404, VS_REJ_NOT_FOUND, "not_found",
		                  "log '%s' has no such tile yet", l->cfg->name);
	}
	return send_response(c, 200, "application/octet-stream", data, want,
	                     r->tile_width == VL_TILE_WIDTH ? "public, max-age=31536000, immutable"
	                                                    : "public, max-age=60",
	                     NULL, NULL);
}

static int serve_proof(vs_server *s, vh_conn *c, vs_log *l,
                                   const vs_route *r)
{
	int incl = r->kind == VS_ROUTE_INCLUSION;
	const char *an = incl ? "index" : "old", *bn = incl ? "size" : "new";
	const char *a = vh_lookup(c, VH_ARG, an);
	const char *b = vh_lookup(c, VH_ARG, bn);
	uint64_t av, bv = 0;
	if (!a || vs_parse_u64(a, strlen(a), &av) || (b && vs_parse_u64(b, strlen(b), &bv)))
		return send_error(s, c, 400, VS_REJ_BAD_REQUEST, "bad_query",
		                  "expected ?%s=N[&%s=N] with decimal numbers", an, bn);
	if (b && bv == 0)
		return send_error(s, c, 400, VS_REJ_BAD_REQUEST, "bad_query",
		                  "%s must be at least 1", bn);
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	size_t n = 0;
	vl_checkpoint cp;
	int rc = vl_log_latest_checkpoint(l->log, &cp, NULL);
	uint64_t size = b ? bv : cp.size;
	if (rc == 0)
		rc = incl ? vl_log_prove_inclusion(l->log, av, size, proof, &n)
		          : vl_log_prove_consistency(l->log, av, size, proof, &n);
	if (rc == VL_ENOTFOUND || rc == VL_EINVAL)
		return send_error(s, c, 404, VS_REJ_NOT_FOUND, "not_found", "%s",
		                  vl_log_message(l->log));
	if (rc != 0)
		return send_error(s, c, 500, VS_REJ_INTERNAL, "internal",
		                  "cannot make the proof: %s", vl_strerror(rc));
	size_t cap = 128 + n * 48;
	char *body = malloc(cap);
	if (!body)
		return -1;
	size_t off = (size_t)snprintf(body, cap, "{\"%s\":%" PRIu64 ",\"%s\":%" PRIu64 ",\"proof\":[",
	                              incl ? "index" : "old_size", av,
	                              incl ? "tree_size" : "new_size", size);
	for (size_t i = 0; i < n; i++) {
		body[off++] = i ? ',' : '"';
		if (i)
			body[off++] = '"';
		off += vl_base64_encode(proof[i], VL_HASH_SIZE, body + off);
		body[off++] = '"';
	}
	off += (size_t)snprintf(body + off, cap - off, "]}\n");
	return send_response(c, 200, "application/json", body, off, "no-cache", NULL, NULL);
}

static int serve_read(vs_server *s, vh_conn *c, vs_log *l,
                                  const vs_route *r)
{
	if (r->kind == VS_ROUTE_SOURCES) {
		/* ?format=text is the report `vellum sources` prints; the header
		 * carries the total missing for its exit status. */
		const char *fmt = vh_lookup(c, VH_ARG, "format");
		int text = fmt && strcmp(fmt, "text") == 0;
		if (fmt && !text && strcmp(fmt, "json") != 0)
			return send_error(s, c, 400, VS_REJ_BAD_REQUEST, "bad_query",
			                  "format must be 'json' or 'text'");
		char *body = text ? vs_sources_text(l->sources, l->cfg->name, 20)
		                  : vs_sources_json(l->sources, l->cfg->name, 100);
		if (!body)
			return send_error(s, c, 503, VS_REJ_INTERNAL, "out_of_memory",
			                  "out of memory; retry");
		char missing[24];
		snprintf(missing, sizeof missing, "%" PRIu64, vs_sources_missing_total(l->sources));
		return send_response(c, 200, text ? "text/plain; charset=utf-8" : "application/json",
		                     body, strlen(body), "no-store", "Vellum-Missing-Events", missing);
	}
	if (r->kind == VS_ROUTE_CHECKPOINT) {
		char *note = NULL;
		vl_checkpoint cp;
		int rc = vl_log_latest_checkpoint(l->log, &cp, &note);
		if (rc != 0 || !note) {
			free(note);
			return send_error(s, c, 503, VS_REJ_INTERNAL,
			                  "unavailable", "no checkpoint: %s", vl_strerror(rc));
		}
		return send_response(c, 200, "text/plain; charset=utf-8", note, strlen(note),
		                     "no-cache", NULL, NULL);
	}
	if (r->kind == VS_ROUTE_TILE)
		return serve_tile(s, c, l, r);
	if (r->kind == VS_ROUTE_INCLUSION || r->kind == VS_ROUTE_CONSISTENCY)
		return serve_proof(s, c, l, r);
	if (r->kind == VS_ROUTE_ENTRY) {
		char *buf = malloc(VL_ENTRY_MAX);
		size_t len = 0;
		int rc = buf ? vl_log_get(l->log, r->index, buf, VL_ENTRY_MAX, &len) : VL_ENOMEM;
		if (rc == VL_ENOTFOUND) {
			free(buf);
			return send_error(s, c, 404, VS_REJ_NOT_FOUND, "not_found",
			                  "log '%s' has no entry %" PRIu64, l->cfg->name, r->index);
		}
		if (rc != 0) {
			free(buf);
			return send_error(s, c, 500, VS_REJ_INTERNAL,
			                  "internal", "cannot read entry %" PRIu64 ": %s: %s", r->index,
			                  vl_strerror(rc), vl_log_message(l->log));
		}
		return send_response(c, 200, "application/octet-stream", buf, len,
		                     "public, max-age=31536000, immutable", NULL, NULL);
	}
	/* VS_ROUTE_RECEIPT */
	char *receipt = NULL;
	int rc = vl_log_receipt(l->log, r->index, &receipt);
	if (rc == VL_ENOTFOUND || rc == VL_EINVAL)
		return send_error(s, c, 404, VS_REJ_NOT_FOUND, "not_found",
		                  "entry %" PRIu64 " is not covered by log '%s''s latest checkpoint",
		                  r->index, l->cfg->name);
	if (rc != 0)
		return send_error(s, c, 500, VS_REJ_INTERNAL, "internal",
		                  "cannot make the receipt: %s", vl_strerror(rc));
	return send_response(c, 200, "text/plain; charset=utf-8", receipt, strlen(receipt),
	                     "no-cache", NULL, NULL);
}

static int serve_health(vs_server *s, vh_conn *c, const vs_route *r)
{
	if (r->kind == VS_ROUTE_METRICS) {
		size_t len = 0;
		char *text = vs_metrics_render(s->metrics, &len);
		if (!text)
			return -1;
		/* Per agent: families whose series come and go with the agents. */
		static const char *const fam[3][2] = {
			{"through", "Highest spool index T such that the log holds 0..T from the agent."},
			{"missing", "Spool indexes missing below the highest received from the agent."},
			{"delay_seconds", "Server receive time minus spool time of the agent's last event."},
		};
		for (int f = 0; f < 3; f++) {
			char *head = NULL;
			int hn = asprintf(&head, "# HELP vellum_agent_%s %s\n# TYPE vellum_agent_%s gauge\n",
			                  fam[f][0], fam[f][1], fam[f][0]);
			char *grown = hn > 0 ? realloc(text, len + (size_t)hn + 1) : NULL;
			if (!grown) {
				free(head);
				free(text);
				return -1;
			}
			text = grown;
			memcpy(text + len, head, (size_t)hn + 1);
			len += (size_t)hn;
			free(head);
			for (size_t i = 0; i < s->n_logs; i++)
				if (s->logs[i].sources &&
				    vs_sources_prometheus(s->logs[i].sources, s->logs[i].cfg->name, fam[f][0],
				                          &text, &len) != 0) {
					free(text);
					return -1;
				}
		}
		return send_response(c, 200, "text/plain; version=0.0.4; charset=utf-8", text,
		                     len, "no-store", NULL, NULL);
	}
	int ready = !atomic_load(&s->draining);
	const char *why = ready ? "" : "shutting down";
	for (size_t i = 0; ready && i < s->n_logs; i++) {
		pthread_mutex_lock(&s->logs[i].mu);
		if (s->logs[i].poisoned) {
			ready = 0;
			why = "a log's storage failed";
		}
		pthread_mutex_unlock(&s->logs[i].mu);
	}
	if (r->kind == VS_ROUTE_HEALTHZ || ready) {
		char *body = strdup("{\"status\":\"ok\"}\n");
		return body ? send_response(c, 200, "application/json", body, strlen(body),
		                            "no-store", NULL, NULL)
		            : -1;
	}
	return send_error(s, c, 503, VS_REJ_INTERNAL, "not_ready", "%s",
	                  why);
}

/* ------------------------------------------------------------------ */
/* Ingest.                                                             */

static void job_complete(vs_job *job)
{
	struct request *r = job->complete_arg;
	vh_resume(r->conn);
}

static void idem_hash(const char *domain, const char *a, size_t alen, const char *b, size_t blen,
                      const char *c, size_t clen, uint8_t out[VS_IDEM_KEY_SIZE])
{
	vl_sha256_ctx ctx;
	static const uint8_t zero = 0;
	vl_sha256_init(&ctx);
	vl_sha256_update(&ctx, domain, strlen(domain) + 1);
	vl_sha256_update(&ctx, a, alen);
	vl_sha256_update(&ctx, &zero, 1);
	vl_sha256_update(&ctx, b, blen);
	vl_sha256_update(&ctx, &zero, 1);
	vl_sha256_update(&ctx, c, clen);
	vl_sha256_final(&ctx, out);
}

static const char *event_content_type(enum vs_body_kind k)
{
	return k == VS_BODY_CLOUDEVENT || k == VS_BODY_CLOUDEVENTS_BATCH
		       ? "application/cloudevents+json"
		       : "application/json";
}

/* Build the job for a parsed body; 0, or an HTTP status with the error
 * sent already (returned through *ret). */
static int build_job(struct request *r, const vs_span *spans, size_t n, int *ret)
{
	vs_server *s = r->server;
	vs_job *job = calloc(1, sizeof *job);
	if (!job)
		goto nomem;
	r->job = job;
	job->n_events = n;
	job->want_checkpoint = r->want_checkpoint;
	job->entries = calloc(n, sizeof *job->entries);
	job->slot = calloc(n, sizeof *job->slot);
	job->index = calloc(n, sizeof *job->index);
	r->leaf = calloc(n, sizeof *r->leaf);
	int per_event_keys = !r->idem_key[0] && (r->kind == VS_BODY_CLOUDEVENT ||
	                                         r->kind == VS_BODY_CLOUDEVENTS_BATCH ||
	                                         r->kind == VS_BODY_K8S_EVENTLIST);
	size_t nkeys = r->idem_key[0] ? 1 : per_event_keys ? n : 0;
	if (nkeys) {
		job->keys = calloc(nkeys, sizeof *job->keys);
		job->key_event = calloc(nkeys, sizeof *job->key_event);
		job->key_count = calloc(nkeys, sizeof *job->key_count);
		job->key_state = calloc(nkeys, 1);
	}
	if (!job->entries || !job->slot || !job->index || !r->leaf ||
	    (nkeys && (!job->keys || !job->key_event || !job->key_count || !job->key_state)))
		goto nomem;
	if (r->idem_key[0]) {
		idem_hash("vellum idempotency-key", r->principal, strlen(r->principal),
		          r->route.log, strlen(r->route.log), r->idem_key, strlen(r->idem_key),
		          job->keys[0]);
		job->key_event[0] = 0;
		job->key_count[0] = (uint32_t)n;
		job->n_keys = 1;
	} else if (per_event_keys) {
		int k8s = r->kind == VS_BODY_K8S_EVENTLIST;
		for (size_t e = 0; e < n; e++) {
			char a[1024], b[1024];
			const uint8_t *ev = r->body + spans[e].off;
			long al = vs_json_object_string(ev, spans[e].len, k8s ? "auditID" : "source", a,
			                                sizeof a);
			long bl = vs_json_object_string(ev, spans[e].len, k8s ? "stage" : "id", b,
			                                sizeof b);
			if (al < 0 || bl < 0) {
				*ret = send_error(s, r->conn, 400, VS_REJ_MALFORMED,
				                  "bad_field",
				                  "event %zu: %s and %s must be strings of at most 1023 bytes",
				                  e, k8s ? "auditID" : "source", k8s ? "stage" : "id");
				return 1;
			}
			idem_hash(k8s ? "vellum k8s-audit" : "vellum cloudevent", a, (size_t)al, b,
			          (size_t)bl, "", 0, job->keys[job->n_keys]);
			job->key_event[job->n_keys] = e;
			job->key_count[job->n_keys] = 1;
			job->n_keys++;
		}
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	vs_envelope env = {
		.received = now,
		.principal = r->principal,
		.transport = r->route.kind == VS_ROUTE_K8S_AUDIT ? "k8s-audit" : "http",
		.content_type = event_content_type(r->kind),
	};
	vs_envelope_template tpl;
	if (vs_envelope_template_init(&tpl, &env) != 0) {
		*ret = send_error(s, r->conn, 400, VS_REJ_BAD_REQUEST, "bad_request",
		                  "cannot build the events' envelope");
		return 1;
	}
	/* Sizes first: one buffer for every envelope. */
	size_t total = 0;
	for (size_t e = 0; e < n; e++) {
		int keyed = job->n_keys && (per_event_keys || e == 0);
		size_t k = per_event_keys ? e : 0;
		size_t h = vs_envelope_template_write(&tpl, keyed ? job->keys[k] : NULL,
		                                      keyed ? job->key_count[k] : 0, NULL, 0);
		if (h + spans[e].len > VL_ENTRY_MAX) {
			*ret = send_error(s, r->conn, 413,
			                  VS_REJ_ENTRY_TOO_LARGE, "entry_too_large",
			                  "event %zu is %zu bytes; with its %zu-byte envelope it exceeds "
			                  "the %d-byte entry limit",
			                  e, spans[e].len, h, VL_ENTRY_MAX);
			return 1;
		}
		total += h + spans[e].len;
	}
	/* The body's share of the budget passes to the envelopes, which
	 * replace it (the body is freed once they are built). */
	reserve_release(r);
	if (reserve(r, total) < 0) {
		*ret = send_error(s, r->conn, 503, VS_REJ_QUEUE_FULL,
		                  "queue_full", "the server holds too much unwritten data; retry");
		return 1;
	}
	job->buf = malloc(total ? total : 1);
	if (!job->buf)
		goto nomem;
	job->buf_len = total;
	size_t off = 0;
	for (size_t e = 0; e < n; e++) {
		int keyed = job->n_keys && (per_event_keys || e == 0);
		size_t k = per_event_keys ? e : 0;
		size_t h = vs_envelope_template_write(&tpl, keyed ? job->keys[k] : NULL,
		                                      keyed ? job->key_count[k] : 0, job->buf + off,
		                                      total - off);
		memcpy(job->buf + off + h, r->body + spans[e].off, spans[e].len);
		job->entries[e] = (vl_entry){job->buf + off, h + spans[e].len};
		vl_leaf_hash(job->buf + off, h + spans[e].len, r->leaf[e]);
		job->slot[e] = (long)e;
		off += h + spans[e].len;
	}
	job->n_entries = n;
	job->complete = job_complete;
	job->complete_arg = r;
	/* The body is no longer needed. */
	free(r->body);
	r->body = NULL;
	return 0;
nomem:
	*ret = send_error(s, r->conn, 503, VS_REJ_INTERNAL, "out_of_memory",
	                  "out of memory; retry");
	return 1;
}

/* Hand R's job to its log's sequencer; the connection waits, suspended,
 * until the job completes (or, if it cannot be queued, answers at once). */
static int submit_job(struct request *r)
{
	r->state = REQ_QUEUED;
	vh_suspend(r->conn);
	int rc = vs_sequencer_submit(r->log, r->job);
	if (rc != 0) {
		r->sync_status = rc;
		vh_resume(r->conn);
	}
	return 0;
}

static int forward_answer(struct request *r);

/* POST .../forward with its body complete: the records the log does not
 * hold yet become one job; each carries an idempotency key derived from
 * (agent, spool index), so a retry racing its original is not written
 * twice either. */
static int forward_body_done(struct request *r)
{
	vs_server *s = r->server;
	size_t max = s->cfg.max_events_per_request, n = 0;
	vs_forward_record *rec = malloc((max ? max : 1) * sizeof *rec);
	if (!rec)
		return send_error(s, r->conn, 503, VS_REJ_INTERNAL, "out_of_memory",
		                  "out of memory; retry");
	vs_forward_error ferr;
	if (vs_forward_parse(r->body, r->len, rec, max, &n, &ferr) != 0) {
		free(rec);
		int many = strcmp(ferr.code, "too_many_events") == 0;
		return send_error(s, r->conn, many ? 413 : 400,
		                  many ? VS_REJ_TOO_MANY : VS_REJ_MALFORMED, ferr.code, "%s",
		                  ferr.message);
	}
	/* Keep only what the log does not hold. */
	size_t keep = 0, alen = strlen(r->agent);
	for (size_t i = 0; i < n; i++)
		if (!vs_sources_has(r->log->sources, r->agent, alen, rec[i].spool_index))
			rec[keep++] = rec[i];
	r->records = rec;
	r->n_held_before = n - keep;
	r->n_records = keep;
	if (keep == 0)
		return forward_answer(r);
	vs_job *job = calloc(1, sizeof *job);
	if (!job)
		goto nomem;
	r->job = job;
	job->n_events = keep;
	job->entries = calloc(keep, sizeof *job->entries);
	job->slot = calloc(keep, sizeof *job->slot);
	job->index = calloc(keep, sizeof *job->index);
	job->keys = calloc(keep, sizeof *job->keys);
	job->key_event = calloc(keep, sizeof *job->key_event);
	job->key_count = calloc(keep, sizeof *job->key_count);
	job->key_state = calloc(keep, 1);
	r->leaf = calloc(keep, sizeof *r->leaf);
	if (!job->entries || !job->slot || !job->index || !job->keys || !job->key_event ||
	    !job->key_count || !job->key_state || !r->leaf)
		goto nomem;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char origin[256];
	vs_envelope env = {
		.received = now,
		.principal = r->principal,
		.transport = "agent",
		.content_type = "application/octet-stream",
		.agent = r->agent,
		.origin = origin,
	};
	size_t total = 0;
	for (size_t i = 0; i < keep; i++) {
		const vs_forward_record *f = &rec[i];
		char idx[24];
		int il = snprintf(idx, sizeof idx, "%llu", (unsigned long long)f->spool_index);
		idem_hash("vellum agent", r->agent, alen, idx, (size_t)il, "", 0, job->keys[i]);
		job->key_event[i] = i;
		job->key_count[i] = 1;
		memcpy(origin, r->body + f->origin_off, f->origin_len);
		origin[f->origin_len] = 0;
		env.spool_index = f->spool_index;
		env.spooled = (struct timespec){(time_t)(f->spooled_ns / 1000000000),
		                                (long)(f->spooled_ns % 1000000000)};
		env.idem_key = job->keys[i];
		env.request_events = 1;
		size_t hl = vs_envelope_header_len(&env);
		if (hl == 0) {
			return send_error(s, r->conn, 400, VS_REJ_MALFORMED, "malformed_forward",
			                  "record for spool index %llu: its spooled time is outside "
			                  "1970..9999",
			                  (unsigned long long)f->spool_index);
		}
		if (hl + f->event_len > VL_ENTRY_MAX) {
			return send_error(s, r->conn, 413, VS_REJ_ENTRY_TOO_LARGE, "entry_too_large",
			                  "spool index %llu: %zu bytes with its %zu-byte envelope exceed "
			                  "the %d-byte entry limit",
			                  (unsigned long long)f->spool_index, f->event_len, hl,
			                  VL_ENTRY_MAX);
		}
		total += hl + f->event_len;
	}
	job->n_keys = keep;
	reserve_release(r);
	if (reserve(r, total) < 0) {
		return send_error(s, r->conn, 503, VS_REJ_QUEUE_FULL, "queue_full",
		                  "the server holds too much unwritten data; retry");
	}
	job->buf = malloc(total ? total : 1);
	if (!job->buf)
		goto nomem;
	job->buf_len = total;
	size_t off = 0;
	for (size_t i = 0; i < keep; i++) {
		const vs_forward_record *f = &rec[i];
		memcpy(origin, r->body + f->origin_off, f->origin_len);
		origin[f->origin_len] = 0;
		env.spool_index = f->spool_index;
		env.spooled = (struct timespec){(time_t)(f->spooled_ns / 1000000000),
		                                (long)(f->spooled_ns % 1000000000)};
		env.idem_key = job->keys[i];
		size_t h = vs_envelope_write_header(&env, job->buf + off, total - off);
		memcpy(job->buf + off + h, r->body + f->event_off, f->event_len);
		job->entries[i] = (vl_entry){job->buf + off, h + f->event_len};
		vl_leaf_hash(job->buf + off, h + f->event_len, r->leaf[i]);
		job->slot[i] = (long)i;
		off += h + f->event_len;
	}
	job->n_entries = keep;
	job->complete = job_complete;
	job->complete_arg = r;
	/* The records keep their spool index and time; the body's bytes are
	 * no longer needed (offsets into it are not used again). */
	free(r->body);
	r->body = NULL;
	return submit_job(r);
nomem:
	return send_error(s, r->conn, 503, VS_REJ_INTERNAL, "out_of_memory",
	                  "out of memory; retry");
}

static int ingest_body_done(struct request *r)
{
	vs_server *s = r->server;
	if (r->len == 0)
		return send_error(s, r->conn, 400, VS_REJ_MALFORMED, "empty_body",
		                  "the request has no body");
	if (r->forward)
		return forward_body_done(r);
	size_t max = s->cfg.max_events_per_request, n = 0;
	vs_span *spans = malloc((max ? max : 1) * sizeof *spans);
	if (!spans)
		return send_error(s, r->conn, 503, VS_REJ_INTERNAL,
		                  "out_of_memory", "out of memory; retry");
	vs_parse_error perr = {0};
	if (vs_body_split(r->kind, r->body, r->len, spans, max, &n, &perr) != 0) {
		free(spans);
		const char *code = perr.code ? perr.code : "malformed_json";
		if (strcmp(code, "too_many_events") == 0)
			return send_error(s, r->conn, 413, VS_REJ_TOO_MANY, code,
			                  "%s", perr.message);
		if (strcmp(code, "out_of_memory") == 0)
			return send_error(s, r->conn, 503, VS_REJ_INTERNAL, code,
			                  "%s", perr.message);
		return send_error(s, r->conn, 400, VS_REJ_MALFORMED, code, "%s",
		                  perr.message);
	}
	int ret = -1;
	int failed = build_job(r, spans, n, &ret);
	free(spans);
	if (failed)
		return ret;
	return submit_job(r);
}

/* ,{"index":N,"leaf_hash": (without the comma for the first event) */
static size_t put_index(char *out, int comma, uint64_t index)
{
	static const char head[] = "{\"index\":", mid[] = ",\"leaf_hash\":";
	size_t o = 0;
	if (comma)
		out[o++] = ',';
	memcpy(out + o, head, sizeof head - 1);
	o += sizeof head - 1;
	char digits[24];
	int d = 0;
	do
		digits[d++] = (char)('0' + index % 10);
	while ((index /= 10) != 0);
	while (d > 0)
		out[o++] = digits[--d];
	memcpy(out + o, mid, sizeof mid - 1);
	return o + sizeof mid - 1;
}

static size_t json_b64(const uint8_t *h, char *out)
{
	out[0] = '"';
	size_t n = vl_base64_encode(h, VL_HASH_SIZE, out + 1);
	out[n + 1] = '"';
	return n + 2;
}

static int ingest_answer(struct request *r)
{
	vs_server *s = r->server;
	vs_job *job = r->job;
	int rc = r->sync_status;
	if (rc == VL_EEXIST)
		return send_error(s, r->conn, 409, VS_REJ_CONFLICT, "in_progress",
		                  "a request with the same idempotency key is still in progress");
	if (rc == VL_ETOOBIG)
		return send_error(s, r->conn, 503, VS_REJ_QUEUE_FULL,
		                  "queue_full", "the commit queue of log '%s' is full; retry",
		                  r->log->cfg->name);
	if (rc == VL_ECLOSED)
		return send_error(s, r->conn, 503, VS_REJ_QUEUE_FULL,
		                  "shutting_down", "the server is shutting down; retry");
	if (rc < 0 || (rc == 0 && job->rc != 0))
		return send_error(s, r->conn, 503, VS_REJ_INTERNAL,
		                  "storage_failed",
		                  "log '%s' could not make the events durable (%s); nothing was "
		                  "acknowledged",
		                  r->log->cfg->name, vl_strerror(rc < 0 ? rc : job->rc));
	if (r->forward)
		return forward_answer(r);
	/* rc == 1: every event was already in the log. */
	size_t n = job->n_events, replayed = 0;
	size_t cap = 64 + n * 160;
	if (job->receipts)
		for (size_t e = 0; e < n; e++)
			cap += 2 * strlen(job->receipts[e]) + 32;
	if (job->checkpoint_note)
		cap += 2 * strlen(job->checkpoint_note) + 32;
	char *body = malloc(cap);
	if (!body)
		return -1;
	size_t off = (size_t)snprintf(body, cap, "{\"log\":\"%s\",\"events\":[", r->log->cfg->name);
	for (size_t e = 0; e < n; e++) {
		int replay = job->slot[e] == -1;
		if (replay) {
			/* The original entry's leaf hash. */
			char *buf = malloc(VL_ENTRY_MAX);
			size_t len = 0;
			if (buf && vl_log_get(r->log->log, job->index[e], buf, VL_ENTRY_MAX, &len) == 0)
				vl_leaf_hash(buf, len, r->leaf[e]);
			free(buf);
			replayed++;
		} else if (job->slot[e] <= -2) {
			memcpy(r->leaf[e], r->leaf[-2 - job->slot[e]], VL_HASH_SIZE);
		}
		off += put_index(body + off, e > 0, job->index[e]);
		off += json_b64(r->leaf[e], body + off);
		if (replay)
			off += (size_t)snprintf(body + off, cap - off, ",\"replayed\":true");
		if (job->receipts && job->receipts[e]) {
			off += (size_t)snprintf(body + off, cap - off, ",\"receipt\":\"");
			off += vs_json_escape(job->receipts[e], strlen(job->receipts[e]), body + off,
			                      cap - off);
			body[off++] = '"';
		}
		body[off++] = '}';
	}
	off += (size_t)snprintf(body + off, cap - off, "]");
	if (job->checkpoint_note) {
		off += (size_t)snprintf(body + off, cap - off, ",\"checkpoint\":\"");
		off += vs_json_escape(job->checkpoint_note, strlen(job->checkpoint_note), body + off,
		                      cap - off);
		body[off++] = '"';
	}
	off += (size_t)snprintf(body + off, cap - off, "}\n");
	if (replayed)
		vs_counter_inc(r->log->m_replayed, replayed);
	return send_response(r->conn, 200, "application/json", body, off, "no-store",
	                     replayed == n ? "Idempotent-Replayed" : NULL, "true");
}

/* The answer to POST .../forward once its records are durable (or were
 * all held already): the agent's state is updated, then
 *   {"log":L,"agent":A,"records":N,"written":W,"duplicates":D,"through":T} */
static int forward_answer(struct request *r)
{
	vs_server *s = r->server;
	vs_log *l = r->log;
	size_t alen = strlen(r->agent), written = 0, replayed = 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t received = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	for (size_t i = 0; r->job && i < r->n_records; i++) {
		/* Written now, or (an idempotency replay) by a request that raced
		 * this one: in the log either way. */
		if (r->job->slot[i] >= 0)
			written++;
		else
			replayed++;
		vs_sources_mark(l->sources, r->agent, alen, r->records[i].spool_index,
		                r->records[i].spooled_ns, received);
	}
	size_t dup = r->n_held_before + replayed;
	if (dup)
		vs_sources_duplicate(l->sources, r->agent, alen, dup);
	char *body = NULL;
	int n = asprintf(&body,
	                 "{\"log\":\"%s\",\"agent\":\"%s\",\"records\":%zu,\"written\":%zu,"
	                 "\"duplicates\":%zu,\"through\":%" PRId64 "}\n",
	                 l->cfg->name, r->agent, r->n_records + r->n_held_before, written, dup,
	                 vs_sources_through(l->sources, r->agent, alen));
	if (n < 0)
		return -1;
	(void)s;
	return send_response(r->conn, 200, "application/json", body, (size_t)n, "no-store",
	                     written == 0 ? "Idempotent-Replayed" : NULL, "true");
}

/* First call for an ingest request: everything that can be checked from
 * the headers.  Returns 0 to read the body, or the error sent. */
static int ingest_headers(struct request *r, int *answered)
{
	vs_server *s = r->server;
	vh_conn *c = r->conn;
	const char *code = NULL;
	char msg[300];
	*answered = 1;
	unsigned st = authorize(s, c, r->log, VS_SCOPE_APPEND, r->principal, &code, msg, sizeof msg);
	if (st)
		return send_error(s, c, st, st == 401 ? VS_REJ_UNAUTHORIZED : VS_REJ_FORBIDDEN, code,
		                  "%s", msg);
	const char *ct = vh_lookup(c, VH_HEADER, "Content-Type");
	int kind = ct ? vs_body_kind_from_content_type(ct) : -1;
	if (r->route.kind == VS_ROUTE_FORWARD) {
		if (!ct || strcasecmp(ct, "application/x-vellum-forward") != 0)
			return send_error(s, c, 415, VS_REJ_CONTENT_TYPE, "unsupported_media_type",
			                  "an agent sends application/x-vellum-forward, not '%s'",
			                  ct ? ct : "(none)");
		const char *agent = vh_lookup(c, VH_HEADER, "Vellum-Agent");
		if (!agent || !vs_agent_id_ok(agent, strlen(agent)))
			return send_error(s, c, 400, VS_REJ_BAD_REQUEST, "bad_agent",
			                  "Vellum-Agent must name the agent: 1 to %d of A-Z a-z 0-9 . _ : -",
			                  VS_AGENT_ID_MAX);
		snprintf(r->agent, sizeof r->agent, "%s", agent);
		r->forward = 1;
		kind = VS_BODY_JSON; /* unused for forward */
	} else if (r->route.kind == VS_ROUTE_K8S_AUDIT) {
		if (kind != VS_BODY_JSON)
			return send_error(s, c, 415, VS_REJ_CONTENT_TYPE,
			                  "unsupported_media_type",
			                  "the Kubernetes audit webhook sends application/json, not '%s'",
			                  ct ? ct : "(none)");
		kind = VS_BODY_K8S_EVENTLIST;
	} else if (kind < 0 || kind == VS_BODY_K8S_EVENTLIST) {
		return send_error(s, c, 415, VS_REJ_CONTENT_TYPE,
		                  "unsupported_media_type",
		                  "Content-Type '%s' is not accepted; use application/json, "
		                  "application/x-ndjson, application/cloudevents+json or "
		                  "application/cloudevents-batch+json",
		                  ct ? ct : "(none)");
	}
	r->kind = (enum vs_body_kind)kind;
	const char *cl = vh_lookup(c, VH_HEADER,
	                                             "Content-Length");
	uint64_t clen = 0;
	if (cl && vs_parse_u64(cl, strlen(cl), &clen) == 0 && clen > s->cfg.max_body_bytes)
		return send_error(s, c, 413, VS_REJ_TOO_LARGE, "body_too_large",
		                  "the body is %" PRIu64 " bytes; the limit is %" PRIu64, clen,
		                  s->cfg.max_body_bytes);
	r->declared = (size_t)clen;
	const char *wait = vh_lookup(c, VH_ARG, "wait");
	if (wait && strcmp(wait, "checkpoint") != 0)
		return send_error(s, c, 400, VS_REJ_BAD_REQUEST, "bad_query",
		                  "wait must be 'checkpoint'");
	r->want_checkpoint = wait != NULL;
	const char *key = vh_lookup(c, VH_HEADER, "Idempotency-Key");
	if (key) {
		size_t kl = strlen(key);
		int ok = kl > 0 && kl <= VS_HEADER_VALUE_MAX;
		for (size_t i = 0; ok && i < kl; i++)
			ok = key[i] >= 0x21 && key[i] <= 0x7e;
		if (!ok)
			return send_error(s, c, 400, VS_REJ_BAD_REQUEST,
			                  "bad_idempotency_key",
			                  "Idempotency-Key must be 1 to 255 visible ASCII characters");
		memcpy(r->idem_key, key, kl + 1);
	}
	*answered = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The access handler.                                                 */

static int handle(void *cls, vh_conn *c, const char *url, const char *method,
                  const char *upload, size_t *upload_size, void **req_cls)
{
	vs_server *s = cls;
	struct request *r = *req_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return -1;
		*req_cls = r;
		r->server = s;
		r->conn = c;
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		atomic_fetch_add(&s->active_requests, 1);
		vs_counter_inc(s->m_requests, 1);
		int is_post = strcmp(method, "POST") == 0;
		int is_get = strcmp(method, "GET") == 0 ||
		             strcmp(method, "HEAD") == 0;
		r->state = REQ_DONE;
		if (vs_route_parse(url, strlen(url), &r->route) != 0)
			return send_error(s, c, 404, VS_REJ_NOT_FOUND, "not_found",
			                  "no such endpoint: %.200s", url);
		if (r->route.post ? !is_post : !is_get)
			return send_error(s, c, 405, VS_REJ_METHOD,
			                  r->route.post ? "post_only" : "get_only",
			                  "%.16s is not allowed on %.200s", method, url);
		if (r->route.kind == VS_ROUTE_HEALTHZ || r->route.kind == VS_ROUTE_READYZ ||
		    r->route.kind == VS_ROUTE_METRICS)
			return serve_health(s, c, &r->route);
		r->log = vs_find_log(s, r->route.log, strlen(r->route.log));
		if (!r->log)
			return send_error(s, c, 404, VS_REJ_NOT_FOUND, "unknown_log",
			                  "this server has no log named '%s'", r->route.log);
		if (!r->route.post) {
			const char *code = NULL;
			char msg[300];
			unsigned st = authorize(s, c, r->log, VS_SCOPE_READ, r->principal, &code, msg,
			                        sizeof msg);
			if (st)
				return send_error(s, c, st,
				                  st == 401 ? VS_REJ_UNAUTHORIZED : VS_REJ_FORBIDDEN,
				                  code, "%s", msg);
			return serve_read(s, c, r->log, &r->route);
		}
		if (atomic_load(&s->draining))
			return send_error(s, c, 503, VS_REJ_QUEUE_FULL,
			                  "shutting_down", "the server is shutting down; retry");
		int answered;
		int ret = ingest_headers(r, &answered);
		if (!answered)
			r->state = REQ_BODY;
		return ret;
	}
	if (r->state == REQ_BODY && *upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		/* Over the size or the memory budget: answered at once (the
		 * server then closes the connection without reading the rest).
		 * A request over its time is answered 408 by the server. */
		if (r->len + n > s->cfg.max_body_bytes) {
			r->state = REQ_DONE;
			return send_error(s, c, 413, VS_REJ_TOO_LARGE, "body_too_large",
			                  "the body exceeds %" PRIu64 " bytes", s->cfg.max_body_bytes);
		}
		if (r->len + n > r->cap) {
			/* The declared length when there is one, else doubling. */
			size_t cap = r->cap ? r->cap : r->declared ? r->declared : 4096;
			while (cap < r->len + n)
				cap *= 2;
			if (cap > s->cfg.max_body_bytes)
				cap = s->cfg.max_body_bytes;
			uint8_t *b = NULL;
			if (reserve(r, cap - r->cap) == 0 && !(b = realloc(r->body, cap)))
				reserve_release(r);
			if (!b) {
				r->state = REQ_DONE;
				return send_error(s, c, 503, VS_REJ_QUEUE_FULL, "queue_full",
				                  "the server holds too much unwritten data; retry");
			}
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		return 0;
	}
	if (r->state == REQ_BODY) {
		r->state = REQ_DONE;
		return ingest_body_done(r);
	}
	if (r->state == REQ_QUEUED) {
		r->state = REQ_DONE;
		return ingest_answer(r);
	}
	return -1;
}

static void request_done(void *cls, vh_conn *c, void **req_cls)
{
	(void)c;
	vs_server *s = cls;
	struct request *r = *req_cls;
	if (!r)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	vs_histogram_observe(s->m_request_seconds, vs_elapsed(&r->start, &t));
	reserve_release(r);
	atomic_fetch_sub(&s->active_requests, 1);
	vs_job_free(r->job);
	free(r->records);
	free(r->leaf);
	free(r->body);
	free(r);
	*req_cls = NULL;
}

/* An error the HTTP server found in the request itself. */
static void http_reject(void *cls, vh_conn *c, unsigned status, const char *message)
{
	vs_server *s = cls;
	enum vs_reject rej = status == 408   ? VS_REJ_TIMEOUT
	                     : status == 431 || status == 413 ? VS_REJ_TOO_LARGE
	                                                       : VS_REJ_BAD_REQUEST;
	const char *code = status == 408   ? "request_timeout"
	                   : status == 431 ? "headers_too_large"
	                   : status == 413 ? "body_too_large"
	                   : status == 501 ? "not_implemented"
	                   : status == 505 ? "http_version_not_supported"
	                                   : "bad_request";
	send_error(s, c, status, rej, code, "%s", message);
}

vs_log *vs_find_log(vs_server *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n_logs; i++)
		if (strlen(s->logs[i].cfg->name) == len && memcmp(s->logs[i].cfg->name, name, len) == 0)
			return &s->logs[i];
	return NULL;
}

static void http_log(void *cls, const char *msg)
{
	(void)cls;
	char esc[1100];
	vs_json_escape(msg, strlen(msg), esc, sizeof esc);
	vs_log_line(VS_DEBUG, "http", ",\"detail\":\"%s\"", esc);
}

int vs_http_start(vs_server *s, char *err, size_t errcap)
{
	const vs_config *cfg = &s->cfg;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (vs_parse_addr(cfg->listen, &ss, &sl) != 0) {
		snprintf(err, errcap, "listen = %s: not an address:port", cfg->listen);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0) {
		snprintf(err, errcap, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errcap, "cannot listen on %s: %s", cfg->listen, strerror(errno));
		close(fd);
		return -1;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	vh_options opt = {
		.listen_fd = fd,
		.threads = cpus > 1 ? (unsigned)(cpus > 8 ? 8 : cpus) : 1,
		.max_connections = (unsigned)cfg->max_connections,
		.max_header_bytes = (size_t)cfg->max_header_bytes,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.request_timeout_ms = cfg->request_timeout_ms,
		.tls_cert = cfg->tls_cert,
		.tls_key = cfg->tls_key,
	};
	vh_handlers h = {s, handle, request_done, http_reject, http_log};
	vh_server *d = vh_start(&opt, &h, err, errcap);
	if (!d) {
		close(fd);
		return -1;
	}
	s->httpd = d;
	s->listen_fd = fd;
	return 0;
}

void vs_http_quiesce(vs_server *s)
{
	if (s->httpd)
		vh_quiesce(s->httpd);
	s->listen_fd = -1;
}

void vs_http_stop(vs_server *s)
{
	if (s->httpd)
		vh_stop(s->httpd);
	s->httpd = NULL;
}
