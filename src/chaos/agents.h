/*
 * agents.h — an agent load for `vellum chaos run`'s load scenarios: real
 * `vellum agent` processes next to the load client, each following a file
 * of its own that a writer thread appends numbered lines to, and the check
 * that every line written reached the server's log exactly once, byte for
 * byte, in the order it was written (docs/chaos.md, "The agent load").
 *
 * The agents forward to a log of their own, "agents" (VC_AGENTS_LOG), so
 * the client's log and its checker (check.c) see nothing of them.  A
 * scenario with agents therefore declares both logs in the server's
 * configuration (VC_AGENTS_INI).
 *
 * A line written to an agent's file is the agent's acknowledgement: the
 * agent promises that everything written to its source file reaches the
 * log once and in order.  Line N of agent A in a run of seed S is, byte
 * for byte (and a newline after it in the file),
 *
 *   {"chaos-agent":"<S in decimal>","agent":<A>,"n":<N>,"pad":"<P>"}
 *
 * where P is 16..200 lowercase hex digits drawn from (S, A, N), so the
 * checker regenerates every expected byte.
 *
 * Use, in a load scenario:
 *
 *   vc_load_begin(&L, VC_AGENTS_INI, ...);        // or vc_load_server
 *   vc_agents A;
 *   vc_agents_start(&A, &L, &(vc_agents_config){.count = 2, .rate = 200});
 *   ... faults: A.agent[i].p is a vc_proc (SIGSTOP, SIGKILL, ...) ...
 *   vc_agents_end(&A);        // the server must be up: drains, asks it, stops the agents
 *   vc_load_end(&L, ...);     // stops the server
 *   vc_agents_check(&A);      // reads the log, verifies it, fills r, frees
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_AGENTS_H
#define VC_AGENTS_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "chaos.h"
#include "harness.h"

#define VC_AGENTS_MAX 4
#define VC_AGENTS_LOG "agents"
/* vc_load_server's EXTRA_INI for a run with agents: the client's log and
 * the agents' log (a [log] section replaces the embedded default). */
#define VC_AGENTS_INI "[log default]\n[log " VC_AGENTS_LOG "]\n"

/* ------------------------------------------------------------------ */
/* Lines.                                                              */

#define VC_AGENT_LINE_MAX 512
/* Writes line N of agent AGENT for SEED into BUF (at least
 * VC_AGENT_LINE_MAX bytes), without a newline; returns its length. */
size_t vc_agent_line(uint64_t seed, unsigned agent, uint64_t n, char *buf);
/* 1 and *seed, *agent, *n set if BUF (LEN bytes) has the shape of a line
 * (the pad is not compared here), else 0. */
int vc_agent_line_parse(const char *buf, size_t len, uint64_t *seed, unsigned *agent,
                        uint64_t *n);

/* ------------------------------------------------------------------ */
/* The checker.                                                        */

/* What one agent wrote and how the server must hold it: entries whose
 * envelope names agent ID, origin ORIGIN, spool index N, and whose event
 * is line N of this agent, for N in 0..WRITTEN-1. */
typedef struct vc_agents_want {
	const char *id;
	const char *origin;
	uint64_t written;
} vc_agents_want;

typedef struct vc_agents_counts {
	uint64_t lines;       /* lines written, all agents */
	uint64_t lost;        /* written, not in the log */
	uint64_t duplicated;  /* lines in the log more than once */
	uint64_t reordered;   /* entries whose line comes before a line of the same
	                         agent that is earlier in the log */
	uint64_t corrupt;     /* entries that are not exactly a written line as its
	                         agent forwarded it (event bytes, agent, origin, spool
	                         index), and entries that are no line of this run */
	uint64_t log_size;
	char first_problem[512]; /* the first problem seen, or "" */
} vc_agents_counts;

/* Reads the log directory LOGDIR (read-only; the server must be stopped:
 * vl_log_open takes the log's lock) and compares it with what the COUNT
 * agents of WANT wrote (line A of the run of SEED is agent A's).  0 when
 * the log could be read (whatever it holds), or a negative code with err
 * set. */
int vc_agents_check_log(const char *logdir, uint64_t seed, const vc_agents_want *want,
                        unsigned count, vc_agents_counts *out, char *err, size_t errcap);

/* ------------------------------------------------------------------ */
/* The agent load.                                                     */

typedef struct vc_agents_config {
	unsigned count;          /* agents, 1..VC_AGENTS_MAX */
	double rate;             /* lines per second, per agent */
	/* Where the agents forward: the server's base URL, or another way to
	 * it (the fault proxy's http://127.0.0.1:PORT).  NULL: the server of
	 * the load. */
	const char *url;
	/* Per agent: where it forwards instead of URL, or NULL. */
	const char *url_of[VC_AGENTS_MAX];
	/* Per agent: an argv prefix it runs under (NULL-terminated, at most 16
	 * words, e.g. /usr/bin/env LD_PRELOAD=... for libfaketime), or NULL. */
	char *const *wrap[VC_AGENTS_MAX];
} vc_agents_config;

typedef struct vc_agent {
	vc_proc p;               /* the `vellum agent` process (its own group): pause
	                            or kill it like the server; p.out is its log */
	char id[32];             /* --id: chaos-agent-<A> */
	char dir[PATH_MAX];      /* DIR/agent-<A>: the file, the spool, the log */
	char file[PATH_MAX];     /* the source file (DIR/agent-<A>/lines) */
	char spool[PATH_MAX];    /* --spool */
	char origin[PATH_MAX + 8]; /* file:<file>, as the agent sends it */
	char *const *wrap;
	char url[256];           /* where it forwards (--server) */
	int fd;                  /* the writer's descriptor of the file */
	_Atomic uint64_t written; /* lines written whole to the file */
	int write_error;         /* errno of a write that failed (writing stopped), or 0 */
	/* The server's view at vc_agents_end (GET /v1/logs/agents/sources). */
	int seen;                /* the agent is in the server's report */
	int64_t through, highest;
	uint64_t missing;
	double last_delay_s;     /* the server's receive time minus the spool time of
	                            the newest record: negative when the agent's clock
	                            is ahead of the server's */
} vc_agent;

typedef struct vc_agents {
	vc_load *L;
	unsigned count;
	double rate;
	vc_agent agent[VC_AGENTS_MAX];
	pthread_t writer;
	int writer_started;
	_Atomic int stop;        /* the writer stops */
	int failed;              /* something did not start or work: the scenario fails */
	int ended;               /* vc_agents_end ran */
	int curl_inited;
	char problems[512];      /* what went wrong outside the log check */
} vc_agents;

/*
 * Starts C->count agents for the load L (its server started, its directory
 * made): agent A gets DIR/agent-A/ with its source file `lines` (created
 * empty), its spool `spool/` and its log `agent.log`, and runs
 *
 *   [WRAP...] vellum agent --server URL --log agents --token-file DATA/admin.token
 *       --spool DIR/agent-A/spool --source file:DIR/agent-A/lines --id chaos-agent-A
 *       --batch 200 --timeout 2 --backoff-max 1000
 *
 * with URL C->url or the server's; then one writer thread appends each
 * agent's lines at C->rate a second until vc_agents_end.  0, or -1 when
 * something did not start: the scenario will fail, vc_agents_check puts
 * the reason into the verdict, and the other calls still work (so a
 * scenario goes on to vc_load_end and vc_agents_check as usual).
 */
int vc_agents_start(vc_agents *A, vc_load *L, const vc_agents_config *c);
/*
 * Before vc_load_end, with the server running and reachable by the
 * agents' URL: stops the writer, resumes any paused agent, waits up to
 * 30 s until the server holds every agent's lines (its sources report:
 * spool indexes 0..written-1, nothing missing), records the server's view
 * in A->agent[], and stops the agents (SIGTERM; each must exit 0).
 */
void vc_agents_end(vc_agents *A);
/*
 * After vc_load_end (the server stopped): checks the agents' log
 * (vc_agents_check_log) and runs `vellum verify` on it, puts the counts
 * into L->r (agents, agent_lines, agent_lost, ...), appends to the
 * verdict, and fails the scenario if a line is lost, duplicated,
 * reordered or corrupt, if nothing was written, if the server reported a
 * gap, or if the log does not verify.  A scenario that did not call
 * vc_agents_end gets its agents stopped here, without waiting for them.
 */
void vc_agents_check(vc_agents *A);
/* 1 if agent I's log (p.out) holds TEXT. */
int vc_agents_log_has(const vc_agents *A, unsigned i, const char *text);

#endif
