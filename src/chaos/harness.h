/*
 * harness.h — what `vellum chaos run`'s scenarios share: starting and
 * stopping the real processes (vc_proc), a `vellum serve` in a scenario's
 * directory (vc_server), and a load run — a server, the load client with
 * its history, the fault windows, and the checks at the end (vc_load).
 *
 * Times called "load time" are seconds since the load client started; the
 * history, the samples and the fault windows all use it.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_HARNESS_H
#define VC_HARNESS_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "chaos.h"
#include "run.h"

/* ------------------------------------------------------------------ */
/* Small things.                                                       */

void vc_sleep(double s);
/* A progress line on stderr ("chaos: ..."), unless o->quiet. */
void vc_say(const vc_run_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A TCP port free on 127.0.0.1 at the time of asking, or -1. */
int vc_free_port(void);
/* 1 if something accepts connections on HOST:PORT (an IPv4 address). */
int vc_port_open(const char *host, int port);
/* Reads up to CAP-1 bytes of PATH into BUF, NUL-terminated: the length,
 * or -errno. */
int vc_read_text(const char *path, char *buf, size_t cap);
/* Writes TEXT to PATH (created 0600, truncated): 0 or -errno. */
int vc_write_text(const char *path, const char *text);

/* ------------------------------------------------------------------ */
/* Child processes.                                                    */

typedef struct vc_proc {
	pid_t pid;        /* 0: not running */
	int status;       /* its wait status, once reaped */
	char out[PATH_MAX]; /* stdout and stderr go here (appended) */
} vc_proc;

/* Starts ARGV in a process group of its own, stdout and stderr appended
 * to p->out, stdin /dev/null: 0 or -errno. */
int vc_proc_start(vc_proc *p, char *const argv[]);
/* Waits up to TIMEOUT_S for it to end: 1 if it did (status in p->status),
 * 0 if not. */
int vc_proc_wait(vc_proc *p, double timeout_s);
/* SIG to its process group (a wrapper such as strace, and what it runs). */
void vc_proc_kill(vc_proc *p, int sig);
/* SIGCONT and SIGTERM, then SIGKILL after GRACE_S. */
void vc_proc_stop(vc_proc *p, double grace_s);

/* ------------------------------------------------------------------ */
/* The server.                                                         */

typedef struct vc_server {
	vc_proc p;
	char dir[PATH_MAX];    /* the scenario's directory */
	char data[PATH_MAX];   /* its data directory */
	char config[PATH_MAX];
	char host[64];         /* the IPv4 address it listens on (127.0.0.1) */
	int port;
	char url[96];          /* http://HOST:PORT */
	char token[256];       /* the admin token, read once it is up */
	const char *vellum;
} vc_server;

/* Prepares DIR/data, DIR/vellum.ini (checkpoints every second, and
 * EXTRA_INI's lines in [server]) and a free port on 127.0.0.1: 0 or
 * -errno.  Change s->host and s->url before vc_server_start to listen
 * elsewhere. */
int vc_server_init(vc_server *s, const char *vellum, const char *dir, const char *extra_ini);
/* Starts `vellum serve` under WRAP (a NULL-terminated argv prefix, or
 * NULL) and waits up to 15 s for it to listen: 0, or -1 if it did not come
 * up (it may have exited: see s->p.out). */
int vc_server_start(vc_server *s, char *const *wrap);
/* `vellum verify` of the default log: 0 when it verifies; else the exit
 * status, with the first line of its output in WHY. */
int vc_verify_log(const vc_server *s, char *why, size_t cap);
/* The same for the log LOG (DATA/LOG, its key DATA/LOG.vkey). */
int vc_verify_log_named(const vc_server *s, const char *log, char *why, size_t cap);
/* 1 if GET /readyz answers 200. */
int vc_ready(const vc_server *s);

/* ------------------------------------------------------------------ */
/* A load run: what every load scenario shares.                          */

typedef struct vc_load {
	const vc_run_options *o;
	vc_result *r;
	vc_rng rng;            /* seeded with r->seed: the scenario's schedule */
	vc_server srv;
	vc_client *client;
	char history[PATH_MAX];
	double t0;             /* vc_mono_s() when the load began */
	double worst_recovery;
	size_t cap_windows;
	int client_ignores_retry_after; /* set before vc_load_client */
} vc_load;

/* A fault window [START, END] (load time), with its description. */
void vc_load_window(vc_load *L, double start, double end, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The load time now. */
double vc_load_now(const vc_load *L);
/* After a fault healed at HEALED_AT (load time): waits up to LIMIT_S for
 * the next acknowledgement and keeps the worst time it took (a verdict
 * line if none came). */
void vc_load_recovery(vc_load *L, double healed_at, double limit_s);
/* The scenario's directory (o->dir/NAME) and its server, started under
 * WRAP: 0 or -1 (the verdict says why). */
int vc_load_server(vc_load *L, const char *extra_ini, char *const *wrap);
/* The load client: RATE events/s (0: closed loop) over CONNECTIONS, BATCH
 * events per request, to URL_OVERRIDE (a proxy) or the server. */
int vc_load_client(vc_load *L, const char *url_override, double rate, int connections,
                   int batch);
int vc_load_begin(vc_load *L, const char *extra_ini, char *const *wrap, double rate,
                  int connections, int batch);
/* Restarts the server if it is down, lets the client drain, stops both,
 * runs the checker and `vellum verify`, and fills the verdict: passed
 * when nothing acknowledged is lost, duplicated, a hole or corrupt, the
 * log verifies, and every recovery took under RECOVERY_LIMIT_S. */
void vc_load_end(vc_load *L, double recovery_limit_s);

#endif
