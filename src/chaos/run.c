/*
 * run.c — `vellum chaos run` and `vellum chaos list`: the scenarios, the
 * supervisor of the real processes they start, the seeded fault schedule,
 * and the verdict of each scenario (chaos.h, docs/chaos.md).
 *
 * A scenario gets a scratch directory of its own, starts `vellum serve` (and
 * what else it needs) as child processes of this one, drives a load through
 * the client (client.c, which writes the history), injects its faults at
 * times drawn from its seed, heals, lets the client drain, stops the
 * server, and then checks: the checker (check.c) compares the history with
 * the log directory, and `vellum verify` verifies the log.  Every random
 * choice comes from vc_rng_derive(run seed, scenario name), so `--seed`
 * replays a scenario's schedule exactly.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "util.h"
#include "run.h"
#include "scenarios.h"
#include "vellum.h"

/* ------------------------------------------------------------------ */
/* Small things.                                                       */

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void say(const vc_run_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const vc_run_options *o, const char *fmt, ...)
{
	if (o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("chaos: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* 1 if something accepts connections on 127.0.0.1:PORT. */
static int port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static int read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, cap - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return (int)n;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int rc = w == (ssize_t)len ? 0 : -EIO;
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Child processes.                                                    */

typedef struct proc {
	pid_t pid;        /* 0: not running */
	int status;       /* its wait status, once reaped */
	char out[PATH_MAX]; /* stdout and stderr go here (appended) */
} proc;

/* Starts ARGV with stdout and stderr appended to p->out.  0 or -errno. */
static int proc_start(proc *p, char *const argv[])
{
	int fd = open(p->out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (pid == 0) {
		setpgid(0, 0); /* its own group: a signal reaches a wrapper's child too */
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[0], argv);
		dprintf(fd, "chaos: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	setpgid(pid, pid);
	p->pid = pid;
	p->status = 0;
	return 0;
}

/* Waits up to TIMEOUT_S for the process to end; 1 if it did (status in
 * p->status), 0 if not. */
static int proc_wait(proc *p, double timeout_s)
{
	if (p->pid == 0)
		return 1;
	double end = vc_mono_s() + timeout_s;
	for (;;) {
		int st;
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->status = st;
			p->pid = 0;
			return 1;
		}
		if (r < 0 && errno != EINTR) {
			p->pid = 0;
			return 1;
		}
		if (vc_mono_s() >= end)
			return 0;
		sleep_s(0.01);
	}
}

/* SIG to the process and its group (a wrapper such as strace, and the
 * server it runs). */
static void proc_kill(proc *p, int sig)
{
	if (p->pid > 0 && kill(-p->pid, sig) < 0)
		kill(p->pid, sig);
}

/* SIGTERM, then SIGKILL after GRACE_S. */
static void proc_stop(proc *p, double grace_s)
{
	if (p->pid == 0)
		return;
	proc_kill(p, SIGCONT);
	proc_kill(p, SIGTERM);
	if (!proc_wait(p, grace_s)) {
		proc_kill(p, SIGKILL);
		proc_wait(p, 10);
	}
}

/* ------------------------------------------------------------------ */
/* The server.                                                         */

typedef struct server {
	proc p;
	char dir[PATH_MAX];    /* the scenario's directory */
	char data[PATH_MAX];   /* its data directory */
	char config[PATH_MAX];
	int port;
	char url[64];
	char token[256];
	const char *vellum;
} server;

static int server_init(server *s, const char *vellum, const char *dir, const char *extra_ini)
{
	memset(s, 0, sizeof *s);
	s->vellum = vellum;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	snprintf(s->data, sizeof s->data, "%s/data", dir);
	snprintf(s->config, sizeof s->config, "%s/vellum.ini", dir);
	snprintf(s->p.out, sizeof s->p.out, "%s/serve.log", dir);
	s->port = free_port();
	if (s->port < 0)
		return -EADDRNOTAVAIL;
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
	char ini[2048];
	snprintf(ini, sizeof ini,
	         "[server]\n"
	         "checkpoint_interval = 1s\n"
	         "log_level = info\n"
	         "%s",
	         extra_ini ? extra_ini : "");
	return write_text(s->config, ini);
}

/* Starts the server, under WRAP (a NULL-terminated argv prefix, or NULL),
 * and waits up to 15 s for it to listen.  0, or -1 if it did not come up
 * (it may have exited: see its log). */
static int server_start(server *s, char *const *wrap)
{
	char port[16], listen[64];
	snprintf(port, sizeof port, "%d", s->port);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
	char *argv[32];
	int n = 0;
	for (; wrap && wrap[n] && n < 20; n++)
		argv[n] = wrap[n];
	argv[n++] = (char *)s->vellum;
	argv[n++] = "serve";
	argv[n++] = "--data";
	argv[n++] = s->data;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--config";
	argv[n++] = s->config;
	argv[n] = NULL;
	if (proc_start(&s->p, argv) < 0)
		return -1;
	double end = vc_mono_s() + 15;
	while (vc_mono_s() < end) {
		if (port_open(s->port)) {
			if (!s->token[0]) {
				char path[PATH_MAX + 32];
				snprintf(path, sizeof path, "%s/admin.token", s->data);
				if (read_file(path, s->token, sizeof s->token) > 0)
					s->token[strcspn(s->token, "\r\n")] = '\0';
			}
			return 0;
		}
		if (proc_wait(&s->p, 0))
			return -1;
		sleep_s(0.05);
	}
	return -1;
}

/* `vellum verify` of the default log: 0 when it verifies; else the exit
 * status, with its output's first line in why. */
static int verify_log(const server *s, char *why, size_t cap)
{
	char logdir[PATH_MAX + 16], vkey[PATH_MAX + 16], out[PATH_MAX + 16];
	snprintf(logdir, sizeof logdir, "%s/default", s->data);
	snprintf(vkey, sizeof vkey, "%s/default.vkey", s->data);
	snprintf(out, sizeof out, "%s/verify.log", s->dir);
	proc p = {0};
	snprintf(p.out, sizeof p.out, "%.4000s", out);
	char *argv[] = {(char *)s->vellum, "verify", logdir, "--vkey", vkey, NULL};
	if (proc_start(&p, argv) < 0 || !proc_wait(&p, 600)) {
		proc_stop(&p, 1);
		snprintf(why, cap, "vellum verify did not run or finish");
		return -1;
	}
	int code = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128;
	if (code != 0) {
		char text[1024] = "";
		read_file(out, text, sizeof text);
		text[strcspn(text, "\n")] = '\0';
		snprintf(why, cap, "vellum verify exited %d: %s", code, text);
	}
	return code;
}

/* ------------------------------------------------------------------ */
/* What every load scenario shares.                                     */

typedef struct load_run {
	const vc_run_options *o;
	vc_result *r;
	vc_rng rng;
	server srv;
	vc_client *client;
	char history[PATH_MAX];
	double t0;          /* vc_mono_s() when the load began */
	double worst_recovery;
	size_t cap_windows;
} load_run;

static void add_window(load_run *L, double start, double end, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_window(load_run *L, double start, double end, const char *fmt, ...)
{
	vc_result *r = L->r;
	if (r->n_windows == L->cap_windows) {
		size_t cap = L->cap_windows ? 2 * L->cap_windows : 16;
		vc_window *w = realloc(r->windows, cap * sizeof *w);
		if (!w)
			return;
		r->windows = w;
		L->cap_windows = cap;
	}
	vc_window *w = &r->windows[r->n_windows++];
	w->start_s = start;
	w->end_s = end;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->what, sizeof w->what, fmt, ap);
	va_end(ap);
}

static double load_now(const load_run *L)
{
	return vc_mono_s() - L->t0;
}

/* After a fault ends at HEALED_AT (load time): waits up to LIMIT_S for the
 * next acknowledgement, and keeps the worst time it took. */
static void measure_recovery(load_run *L, double healed_at, double limit_s)
{
	double end = vc_mono_s() + limit_s;
	while (vc_mono_s() < end) {
		vc_client_stats st;
		vc_client_stats_get(L->client, &st);
		if (st.last_ack_s >= 0 && st.last_ack_s >= healed_at) {
			double took = st.last_ack_s - healed_at;
			if (took > L->worst_recovery)
				L->worst_recovery = took;
			return;
		}
		sleep_s(0.02);
	}
	L->worst_recovery = limit_s;
	vc_appendf(L->r->verdict, sizeof L->r->verdict,
	        "no acknowledgement within %.0f s after healing at %.1f s. ", limit_s, healed_at);
}

/* The scenario's directory and its server. */
static int load_server(load_run *L, const char *extra_ini, char *const *wrap)
{
	const vc_run_options *o = L->o;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, L->r->name);
	if (vc_mkdirs(dir) < 0 || server_init(&L->srv, o->vellum, dir, extra_ini) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict, "cannot prepare %.900s", dir);
		return -1;
	}
	if (server_start(&L->srv, wrap) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict,
		         "vellum serve did not start (see %.900s)", L->srv.p.out);
		return -1;
	}
	return 0;
}

/* The load client.  URL_OVERRIDE: where it connects (a proxy), or NULL
 * for the server. */
static int load_client(load_run *L, const char *url_override, double rate, int connections,
                       int batch)
{
	snprintf(L->history, sizeof L->history, "%.4000s/history", L->srv.dir);
	vc_client_config cc = {
		.url = url_override ? url_override : L->srv.url,
		.token = L->srv.token,
		.log = "default",
		.history = L->history,
		.seed = L->r->seed,
		.connections = connections,
		.rate = rate,
		.batch = batch,
		.timeout_ms = 3000,
		.retry_unknown = 1,
	};
	char err[512];
	if (vc_client_start(&cc, &L->client, err, sizeof err) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict, "the load client did not start: %s",
		         err);
		return -1;
	}
	L->t0 = vc_mono_s() - vc_client_now(L->client);
	return 0;
}

static int load_begin(load_run *L, const char *extra_ini, char *const *wrap, double rate,
                      int connections, int batch)
{
	if (load_server(L, extra_ini, wrap) < 0)
		return -1;
	return load_client(L, NULL, rate, connections, batch);
}

/* Heals what is left (the server running), lets the client drain, stops
 * everything, checks, and fills the verdict. */
static void load_end(load_run *L, double recovery_limit_s)
{
	vc_result *r = L->r;
	if (L->srv.p.pid == 0 && server_start(&L->srv, NULL) < 0)
		vc_appendf(r->verdict, sizeof r->verdict, "the server did not come back at the end. ");
	vc_client_set_rate(L->client, -1);
	vc_client_stats st;
	vc_client_stats_get(L->client, &st);
	vc_sample *samples = NULL;
	size_t n_samples = 0;
	vc_client_stop(L->client, 20000, &samples, &n_samples);
	L->client = NULL;
	r->samples = samples;
	r->n_samples = n_samples;
	r->duration_s = load_now(L);
	r->p50_ms = st.p50_ms;
	r->p90_ms = st.p90_ms;
	r->p99_ms = st.p99_ms;
	r->max_ms = st.max_ms;
	proc_stop(&L->srv.p, 30);

	vc_check c;
	char err[512], logdir[PATH_MAX + 16];
	snprintf(logdir, sizeof logdir, "%s/default", L->srv.data);
	int checked = vc_check_run(logdir, L->history, r->seed, &c, err, sizeof err) == 0;
	if (!checked) {
		vc_appendf(r->verdict, sizeof r->verdict, "the checker could not run: %s. ", err);
	} else {
		r->acked = c.acked;
		r->lost = c.lost;
		r->duplicated = c.duplicated;
		r->holes = c.holes;
		r->corrupt = c.corrupt;
		if (c.first_problem[0])
			vc_appendf(r->verdict, sizeof r->verdict, "%s. ", c.first_problem);
	}
	char why[1024] = "";
	int verified = verify_log(&L->srv, why, sizeof why) == 0;
	if (!verified)
		vc_appendf(r->verdict, sizeof r->verdict, "%s. ", why);
	r->recovery_seconds = L->worst_recovery;
	r->passed = checked && verified && c.acked > 0 && c.lost == 0 && c.duplicated == 0 &&
	            c.holes == 0 && c.corrupt == 0 && L->worst_recovery < recovery_limit_s;
	if (checked && c.acked == 0)
		vc_appendf(r->verdict, sizeof r->verdict, "nothing was acknowledged. ");
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		        "%" PRIu64 " events acknowledged, every one in the log once, byte for byte, "
		        "at its acknowledged index; %" PRIu64 " more of unknown outcome present; "
		        "the log verifies; slowest recovery %.2f s.",
		        c.acked, c.unconfirmed_present, L->worst_recovery);
}

/* ------------------------------------------------------------------ */
/* Scenarios.                                                          */

/* crash: kill -9 of the server at random moments, then restart; and, where
 * strace is installed, once at an exact count of fdatasync calls. */
static void scenario_crash(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "kill -9 keeps the page cache: what was written but not synced survives it "
	         "(the power-loss scenario covers that).");
	if (load_begin(&L, NULL, NULL, o->quick ? 3000 : 5000, 16, 10) < 0)
		return;
	double dur = o->duration_s;
	int kills = o->quick ? 3 : (int)(dur / 4) + 1;
	for (int k = 0; k < kills; k++) {
		double at = dur * (k + 0.2 + 0.6 * vc_rng_unit(&L.rng)) / kills;
		sleep_s(at - load_now(&L));
		double t = load_now(&L);
		proc_kill(&L.srv.p, SIGKILL);
		proc_wait(&L.srv.p, 10);
		double down = 0.1 + 0.9 * vc_rng_unit(&L.rng);
		sleep_s(down);
		if (server_start(&L.srv, NULL) < 0) {
			vc_appendf(r->verdict, sizeof r->verdict, "restart %d failed. ", k + 1);
			break;
		}
		double healed = load_now(&L);
		add_window(&L, t, healed, "kill -9, down %.1f s", healed - t);
		measure_recovery(&L, healed, 15);
	}
	/* kill -9 at an exact count of fdatasync calls. */
	if (access("/usr/bin/strace", X_OK) == 0 && L.srv.p.pid) {
		proc_stop(&L.srv.p, 30);
		/* The call, and its count: a commit's sync, a write (WAL frames,
		 * tiles, the WAL's preallocation), or a checkpoint's rename. */
		static const struct {
			const char *call;
			int from, span;
		} calls[] = {{"fdatasync", 5, 40}, {"pwrite64", 20, 400}, {"rename", 1, 4}};
		int c = (int)vc_rng_below(&L.rng, 3);
		int when = calls[c].from + (int)vc_rng_below(&L.rng, (uint64_t)calls[c].span);
		char inject[64];
		snprintf(inject, sizeof inject, "inject=%s:signal=KILL:when=%d", calls[c].call, when);
		char *wrap[] = {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null", "-e", inject, NULL};
		double t = load_now(&L);
		if (server_start(&L.srv, wrap) == 0) {
			int reached = proc_wait(&L.srv.p, 20);
			if (!reached) { /* the count was not reached */
				proc_kill(&L.srv.p, SIGKILL);
				proc_wait(&L.srv.p, 10);
			}
			double killed = load_now(&L);
			if (server_start(&L.srv, NULL) == 0) {
				double healed = load_now(&L);
				add_window(&L, t, healed, "strace: SIGKILL at %s #%d%s", calls[c].call,
				           when, reached ? "" : " (not reached in 20 s; killed)");
				measure_recovery(&L, healed, 15);
			}
			(void)killed;
		}
	} else {
		vc_appendf(r->limits, sizeof r->limits,
		        " strace is not installed: the kill at an exact syscall count was skipped.");
	}
	sleep_s(1);
	load_end(&L, 15);
}

/* pause: SIGSTOP / SIGCONT of the server. */
static void scenario_pause(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The server only: no agent is paused here (the agent's own tests cover it).");
	if (load_begin(&L, NULL, NULL, o->quick ? 3000 : 5000, 16, 10) < 0)
		return;
	double dur = o->duration_s;
	int pauses = o->quick ? 3 : (int)(dur / 4) + 1;
	for (int k = 0; k < pauses; k++) {
		double at = dur * (k + 0.2 + 0.5 * vc_rng_unit(&L.rng)) / pauses;
		sleep_s(at - load_now(&L));
		double t = load_now(&L);
		double len = 0.5 + 3.0 * vc_rng_unit(&L.rng);
		proc_kill(&L.srv.p, SIGSTOP);
		sleep_s(len);
		proc_kill(&L.srv.p, SIGCONT);
		double healed = load_now(&L);
		add_window(&L, t, healed, "SIGSTOP %.1f s", len);
		measure_recovery(&L, healed, 10);
	}
	sleep_s(1);
	load_end(&L, 10);
}

/* partition: the client reaches the server through the fault proxy, which
 * blackholes, resets, delays, throttles and half-opens on a seeded
 * schedule. */
static void scenario_partition(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "Faults are made by a TCP proxy on loopback: the kernel's own behaviour under "
	         "packet loss and reordering is not exercised (no netem here).");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	int pport = free_port(), cport = free_port();
	char purl[64], listen[64], control[64], upstream[64], seed[32];
	snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", pport);
	snprintf(control, sizeof control, "127.0.0.1:%d", cport);
	proc px = {0};
	snprintf(px.out, sizeof px.out, "%.4000s/proxy.log", dir);

	/* The schedule: faults of 1..4 s, with gaps of 1..3 s between. */
	static const char *const kinds[] = {"blackhole", "reset", "latency", "throttle",
	                                    "half-open"};
	char faults[16][64];
	double starts[16], lens[16];
	int nf = 0;
	double t = 1.0 + vc_rng_unit(&L.rng);
	while (nf < 16 && t < o->duration_s - 1) {
		const char *k = kinds[vc_rng_below(&L.rng, 5)];
		double len = 1.0 + 3.0 * vc_rng_unit(&L.rng);
		if (strcmp(k, "latency") == 0)
			snprintf(faults[nf], sizeof faults[nf], "latency=%d~%d",
			         100 + (int)vc_rng_below(&L.rng, 400), 50);
		else if (strcmp(k, "throttle") == 0)
			snprintf(faults[nf], sizeof faults[nf], "throttle=%dk",
			         8 + (int)vc_rng_below(&L.rng, 56));
		else
			snprintf(faults[nf], sizeof faults[nf], "%s", k);
		starts[nf] = t;
		lens[nf] = len;
		nf++;
		t += len + 1.0 + 2.0 * vc_rng_unit(&L.rng);
	}
	/* The proxy gets the whole schedule as windows, relative to its own
	 * start; the windows are reported in load time. */
	if (load_server(&L, NULL, NULL) < 0)
		return;
	snprintf(upstream, sizeof upstream, "127.0.0.1:%d", L.srv.port);
	snprintf(seed, sizeof seed, "%" PRIu64, vc_rng_derive(r->seed, "proxy"));
	char *argv[64];
	char specs[16][96];
	int n = 0;
	argv[n++] = (char *)o->vellum;
	argv[n++] = "chaos";
	argv[n++] = "proxy";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--upstream";
	argv[n++] = upstream;
	argv[n++] = "--control";
	argv[n++] = control;
	argv[n++] = "--seed";
	argv[n++] = seed;
	for (int i = 0; i < nf; i++) {
		snprintf(specs[i], sizeof specs[i], "%s@%.3f+%.3f", faults[i], starts[i], lens[i]);
		argv[n++] = "--fault";
		argv[n++] = specs[i];
	}
	argv[n] = NULL;
	double px_started = vc_mono_s();
	if (proc_start(&px, argv) < 0) {
		snprintf(r->verdict, sizeof r->verdict, "the proxy did not start");
		proc_stop(&L.srv.p, 30);
		return;
	}
	for (int i = 0; i < 100 && !port_open(pport); i++)
		sleep_s(0.05);
	if (load_client(&L, purl, o->quick ? 2000 : 4000, 16, 10) < 0) {
		proc_stop(&px, 5);
		proc_stop(&L.srv.p, 30);
		return;
	}
	double shift = px_started - L.t0; /* proxy time + shift = load time */
	for (int i = 0; i < nf; i++) {
		double s0 = starts[i] + shift, s1 = starts[i] + lens[i] + shift;
		sleep_s(s1 - load_now(&L));
		add_window(&L, s0, s1, "%s", specs[i]); /* the proxy's spec: seed-given */
		measure_recovery(&L, s1, 20);
	}
	sleep_s(o->duration_s - load_now(&L));
	sleep_s(1);
	load_end(&L, 20);
	proc_stop(&px, 5);
}

/* 1 if GET URL/readyz answers 200. */
static int ready(const server *s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char buf[64] = "";
	int ok = 0;
	static const char req[] = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1) &&
	    read(fd, buf, sizeof buf - 1) > 12)
		ok = strncmp(buf, "HTTP/1.1 200", 12) == 0;
	close(fd);
	return ok;
}

/* From the history: the time (s) of the first `fail ... 503
 * storage_failed`, and how many `ack` lines came after it (plus SLACK_S
 * for answers of earlier commits still on their way) and before UNTIL_S. */
static int acks_after_storage_failure(const char *history, double slack_s, double until_s,
                                      double *first_fail_s, uint64_t *acks)
{
	FILE *fp = fopen(history, "r");
	if (!fp)
		return -errno;
	char line[512];
	double t_fail = -1;
	uint64_t n = 0;
	while (fgets(line, sizeof line, fp)) {
		unsigned long long req, t;
		int status;
		char code[64];
		if (t_fail < 0 &&
		    sscanf(line, "fail %llu %llu %d %63s", &req, &t, &status, code) == 4 &&
		    status == 503 && strcmp(code, "storage_failed") == 0)
			t_fail = (double)t / 1e9;
		else if (t_fail >= 0 && sscanf(line, "ack %llu %llu", &req, &t) == 2 &&
		         (double)t / 1e9 > t_fail + slack_s && (double)t / 1e9 < until_s)
			n++;
	}
	fclose(fp);
	*first_fail_s = t_fail;
	*acks = n;
	return 0;
}

/* fsync-error: fdatasync fails with EIO (strace's fault injection, at a
 * call count drawn from the seed): the server must acknowledge nothing
 * after it, say so, and recover when restarted. */
static void scenario_fsync_error(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The error is injected at the system call (the data was written but not synced): "
	         "a disk that loses the data too is the power-loss scenario's subject. One error "
	         "per run, on whichever fdatasync comes at the drawn count (the WAL, a tile or a "
	         "checkpoint).");
	if (access("/usr/bin/strace", X_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "strace is not installed (apt-get install strace): nothing was injected.");
		return;
	}
	int when = 20 + (int)vc_rng_below(&L.rng, 60);
	char inject[64];
	snprintf(inject, sizeof inject, "inject=fdatasync:error=EIO:when=%d", when);
	char *wrap[] = {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null", "-e", inject, NULL};
	if (load_server(&L, NULL, wrap) < 0 ||
	    load_client(&L, NULL, o->quick ? 2000 : 4000, 16, 10) < 0)
		return;
	/* Wait for the server to notice (it reports a failed log as not
	 * ready), then keep the load on it for 2 s: nothing may be
	 * acknowledged meanwhile. */
	double noticed = -1, limit = o->duration_s;
	while (load_now(&L) < limit) {
		if (!ready(&L.srv)) {
			noticed = load_now(&L);
			break;
		}
		sleep_s(0.05);
	}
	if (noticed < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		        "the server never reported a failure after fdatasync #%d failed with EIO "
		        "(it kept answering /readyz with 200). ",
		        when);
		load_end(&L, 15);
		r->passed = 0;
		return;
	}
	sleep_s(2);
	double stopped = load_now(&L);
	proc_stop(&L.srv.p, 30);
	char text[65536] = "";
	read_file(L.srv.p.out, text, sizeof text);
	int clear = strstr(text, "Input/output error") != NULL;
	sleep_s(0.3);
	if (server_start(&L.srv, NULL) < 0) {
		vc_appendf(r->verdict, sizeof r->verdict, "the server did not start again. ");
	} else {
		double healed = load_now(&L);
		add_window(&L, noticed, healed, "fdatasync #%d: EIO; restarted at %.1f s", when,
		           healed);
		measure_recovery(&L, healed, 15);
	}
	sleep_s(o->duration_s - load_now(&L));
	load_end(&L, 15);
	double t_fail;
	uint64_t late = 0;
	int hrc = acks_after_storage_failure(L.history, 0.1, stopped, &t_fail, &late);
	r->acks_after_io_error = late;
	if (hrc < 0 || t_fail < 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " No request was refused with 503 storage_failed after the error.");
	} else if (late > 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " %" PRIu64 " events were acknowledged after the storage failure.", late);
	}
	if (!clear) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The server's log does not name the error (Input/output error).");
	}
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		        " fdatasync #%d failed with EIO; from the first refusal (503 storage_failed "
		        "at %.2f s) until the restart nothing was acknowledged; the server's log names "
		        "the error; ingest resumed after the restart.",
		        when, t_fail);
}

/* Fills FILE until the filesystem of DIR has at most LEAVE bytes free. */
static int fill_disk(const char *dir, const char *file, uint64_t leave)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return -errno;
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail <= leave)
		return 0;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	static const char block[1 << 16];
	uint64_t want = avail - leave;
	int rc = 0;
	while (want > 0) {
		size_t n = want < sizeof block ? (size_t)want : sizeof block;
		ssize_t w = write(fd, block, n);
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		want -= (uint64_t)w;
	}
	close(fd);
	return rc == -ENOSPC ? 0 : rc;
}

/* disk-full: the data directory on a 64 MiB tmpfs that a filler file
 * fills up under load: requests are refused with 503 storage_failed,
 * nothing acknowledged is lost, and once the filler is removed (and the
 * server restarted) ingest resumes. */
static void scenario_disk_full(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "A tmpfs: no real device, and fdatasync is a no-op there. The server does not "
	         "reopen a log whose storage failed by itself: ingest resumes after the space is "
	         "freed and the server restarted.");
	char dir[PATH_MAX], data[PATH_MAX + 16], filler[PATH_MAX + 16], cmd[2 * PATH_MAX + 64];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	snprintf(data, sizeof data, "%.4000s/data", dir);
	snprintf(filler, sizeof filler, "%.4000s/data/filler", dir);
	vc_mkdirs(data);
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=64m tmpfs '%.4000s' 2>/dev/null", data);
	if (system(cmd) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): nothing was run.");
		return;
	}
	if (load_server(&L, NULL, NULL) < 0 ||
	    load_client(&L, NULL, o->quick ? 3000 : 4000, 16, 10) < 0)
		goto out;
	/* Leave a little room, drawn from the seed, and let the load fill it. */
	uint64_t leave = (2 + vc_rng_below(&L.rng, 6)) << 20;
	double filled = load_now(&L);
	if (fill_disk(data, filler, leave) < 0) {
		snprintf(r->verdict, sizeof r->verdict, "could not fill the tmpfs");
		load_end(&L, 15);
		r->passed = 0;
		goto out;
	}
	double full = -1;
	while (load_now(&L) < filled + o->duration_s) {
		if (!ready(&L.srv)) {
			full = load_now(&L);
			break;
		}
		sleep_s(0.05);
	}
	if (full < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           "the disk never filled up (%llu MiB left free). ",
		           (unsigned long long)(leave >> 20));
		load_end(&L, 15);
		r->passed = 0;
		goto out;
	}
	sleep_s(2);
	double stopped = load_now(&L);
	unlink(filler);
	proc_stop(&L.srv.p, 30);
	char text[65536] = "";
	read_file(L.srv.p.out, text, sizeof text);
	int clear = strstr(text, "No space left on device") != NULL;
	if (server_start(&L.srv, NULL) < 0) {
		vc_appendf(r->verdict, sizeof r->verdict, "the server did not start again. ");
	} else {
		double healed = load_now(&L);
		add_window(&L, full, healed, "disk full (%llu MiB left); freed and restarted",
		           (unsigned long long)(leave >> 20));
		measure_recovery(&L, healed, 15);
	}
	sleep_s(filled + o->duration_s - load_now(&L));
	sleep_s(1);
	load_end(&L, 15);
	double t_fail;
	uint64_t late = 0;
	int hrc = acks_after_storage_failure(L.history, 0.1, stopped, &t_fail, &late);
	r->acks_after_io_error = late;
	if (hrc < 0 || t_fail < 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " No request was refused with 503 storage_failed when the disk was full.");
	} else if (late > 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " %" PRIu64 " events were acknowledged after the disk filled up.", late);
	}
	if (!clear) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's log does not say the disk is full (No space left on "
		           "device).");
	}
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The disk filled up at %.1f s: requests were refused with 503 "
		           "storage_failed, nothing was acknowledged after that, the server's log "
		           "says why, and ingest resumed once space was freed and the server "
		           "restarted.",
		           full);
out:
	proc_stop(&L.srv.p, 30);
	snprintf(cmd, sizeof cmd, "umount '%.4000s' 2>/dev/null", data);
	if (system(cmd) != 0)
		vc_appendf(r->verdict, sizeof r->verdict, " Could not unmount %s.", data);
}

/* clock-skew: the server's wall clock jumps back 10 minutes while it runs
 * (libfaketime, its offset file re-read every second), then forward
 * again: order and integrity are unaffected, and the jump is flagged. */
static void scenario_clock_skew(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The server's clock only (agents are not part of the run). A clock that is "
	         "wrong from the start, or runs ahead, cannot be told from the right one by the "
	         "server alone: only a backward jump is flagged.");
	static const char lib[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
	if (access(lib, R_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "libfaketime is not installed (apt-get install faketime): no clock was "
		         "skewed.");
		return;
	}
	char dir[PATH_MAX], offset[PATH_MAX + 16], preload[PATH_MAX + 16],
	    tsfile[PATH_MAX + 32], asan[1024];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	snprintf(offset, sizeof offset, "%.4000s/clock-offset", dir);
	write_text(offset, "+0\n");
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
	snprintf(tsfile, sizeof tsfile, "FAKETIME_TIMESTAMP_FILE=%.4000s", offset);
	const char *old_asan = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	         old_asan ? old_asan : "", old_asan && *old_asan ? ":" : "");
	char *wrap[] = {"/usr/bin/env", preload, tsfile, "FAKETIME_CACHE_DURATION=1",
	                "FAKETIME_DONT_FAKE_MONOTONIC=1", asan, NULL};
	if (load_server(&L, NULL, wrap) < 0 || load_client(&L, NULL, o->quick ? 2000 : 4000, 16, 10) < 0)
		return;
	int back_min = 5 + (int)vc_rng_below(&L.rng, 56);
	double t1 = o->duration_s * (0.2 + 0.2 * vc_rng_unit(&L.rng));
	double t2 = o->duration_s * (0.6 + 0.2 * vc_rng_unit(&L.rng));
	sleep_s(t1 - load_now(&L));
	char text[32];
	snprintf(text, sizeof text, "-%dm\n", back_min);
	write_text(offset, text);
	double jumped = load_now(&L);
	sleep_s(t2 - load_now(&L));
	write_text(offset, "+0\n");
	double back = load_now(&L);
	add_window(&L, jumped, back, "clock %d min behind", back_min);
	measure_recovery(&L, back, 10);
	sleep_s(o->duration_s - load_now(&L));
	load_end(&L, 10);
	char log[1 << 16] = "";
	read_file(L.srv.p.out, log, sizeof log);
	if (!strstr(log, "clock went backwards")) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The server did not flag the clock jumping back %d minutes.", back_min);
	} else if (r->passed) {
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The clock jumped back %d minutes at %.1f s and forward at %.1f s; the "
		        "server flagged it (\"clock went backwards\").",
		        back_min, jumped, back);
	}
}

/* overload: ten times what the server sustains, through few large
 * batches: the answer must be 503 with Retry-After, memory bounded, and
 * nothing acknowledged lost. */
static void scenario_overload(const vc_run_options *o, vc_result *r)
{
	load_run L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "One log and one client machine: the server's memory bound is checked by its "
	         "peak RSS, not by an allocator that fails.");
	const char *ini = "queue_max_events = 4000\nqueue_max_bytes = 8MiB\nmax_body_bytes = 1MiB\n"
	                  "max_events_per_request = 1000\n";
	if (load_begin(&L, ini, NULL, 0, 64, 500) < 0)
		return;
	sleep_s(o->duration_s);
	vc_client_stats st;
	vc_client_stats_get(L.client, &st);
	char status[PATH_MAX + 32], text[4096];
	snprintf(status, sizeof status, "/proc/%d/status", (int)L.srv.p.pid);
	long hwm_kb = -1;
	if (read_file(status, text, sizeof text) > 0) {
		char *p = strstr(text, "VmHWM:");
		if (p)
			hwm_kb = strtol(p + 6, NULL, 10);
	}
	add_window(&L, 0, o->duration_s, "64 connections x 500 events, closed loop");
	load_end(&L, 1);
	if (st.failed == 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The server never refused a request (no 503): not overloaded.");
	}
	if (hwm_kb < 0 || hwm_kb > 512 * 1024) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict, " Server peak RSS %ld KiB (limit 512 MiB).",
		        hwm_kb);
	} else {
		vc_appendf(r->verdict, sizeof r->verdict,
		        " %" PRIu64 " events refused with 503; server peak RSS %ld MiB.", st.failed,
		        hwm_kb / 1024);
	}
}

/* config-error: a server that cannot run as configured must refuse to
 * start, say why, and never half-work (never listen). */
enum {
	PREP_NONE,
	PREP_DATA_IS_FILE,   /* the data directory is a file */
	PREP_PORT_TAKEN,     /* something listens on the port already */
	PREP_KEY_GARBAGE,    /* the log exists; its key file holds garbage */
	PREP_KEY_OTHER,      /* the log exists; its key file is another valid key */
	PREP_KEY_MODE,       /* the log exists; its key file is readable by others */
	PREP_READ_ONLY,      /* the data directory is on a read-only mount */
};

/* Writes a new signer key for NAME to PATH (mode 0600). */
static int write_other_key(const char *path)
{
	char *skey = NULL, *vkey = NULL;
	int rc = vl_key_generate("other.example/log", &skey, &vkey);
	if (rc == 0) {
		char line[512];
		snprintf(line, sizeof line, "%s\n", skey);
		rc = write_text(path, line);
		explicit_bzero(skey, strlen(skey));
	}
	free(skey);
	free(vkey);
	return rc;
}

static void scenario_config_error(const vc_run_options *o, vc_result *r)
{
	snprintf(r->limits, sizeof r->limits,
	         "Bad configurations at start only: a configuration changed under a running "
	         "server is not tried. Running as root, an unwritable directory is made with a "
	         "read-only bind mount (skipped where mounting is not allowed).");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	vc_mkdirs(dir);
	struct {
		const char *name;
		const char *ini;    /* extra lines of the configuration */
		int prep;
		const char *expect; /* words the error must contain */
	} cases[] = {
		{"missing key file", "[log default]\nkey = /nonexistent/default.key\n", PREP_NONE,
		 "/nonexistent/default.key"},
		{"bad duration", "idle_timeout = soon\n", PREP_NONE, "idle_timeout"},
		{"unknown option", "no_such_option = 1\n", PREP_NONE, "no_such_option"},
		{"data directory is a file", "", PREP_DATA_IS_FILE, "Not a directory"},
		{"port in use", "", PREP_PORT_TAKEN, "in use"},
		{"wrong key (not a key)", "", PREP_KEY_GARBAGE, "bad or unsafe key"},
		{"mismatched key", "", PREP_KEY_OTHER, "does not match the log"},
		{"key readable by others", "", PREP_KEY_MODE, "0600"},
		{"unwritable data directory", "", PREP_READ_ONLY, "Read-only"},
	};
	int failures = 0, ran = 0, n = (int)(sizeof cases / sizeof cases[0]);
	double t0 = vc_mono_s();
	for (int i = 0; i < n; i++) {
		char sub[PATH_MAX + 16], key[PATH_MAX + 48];
		snprintf(sub, sizeof sub, "%.4000s/case%d", dir, i);
		vc_mkdirs(sub);
		server s;
		if (server_init(&s, o->vellum, sub, cases[i].ini) < 0) {
			failures++;
			continue;
		}
		snprintf(key, sizeof key, "%s/default.key", s.data);
		int blocker = -1, mounted = 0, prepared = 1;
		switch (cases[i].prep) {
		case PREP_DATA_IS_FILE:
			write_text(s.data, "not a directory\n");
			break;
		case PREP_PORT_TAKEN: {
			blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_in a = {.sin_family = AF_INET,
			                        .sin_port = htons((uint16_t)s.port)};
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (bind(blocker, (struct sockaddr *)&a, sizeof a) < 0 || listen(blocker, 1) < 0)
				prepared = 0;
			break;
		}
		case PREP_KEY_GARBAGE:
		case PREP_KEY_OTHER:
		case PREP_KEY_MODE:
			/* A log made by a good start first. */
			prepared = server_start(&s, NULL) == 0;
			proc_stop(&s.p, 30);
			if (prepared && cases[i].prep == PREP_KEY_GARBAGE)
				prepared = write_text(key, "this is no key\n") == 0;
			else if (prepared && cases[i].prep == PREP_KEY_OTHER)
				prepared = write_other_key(key) == 0;
			else if (prepared)
				prepared = chmod(key, 0644) == 0;
			break;
		case PREP_READ_ONLY: {
			char cmd[3 * PATH_MAX + 128];
			vc_mkdirs(s.data);
			snprintf(cmd, sizeof cmd,
			         "mount --bind '%.4000s' '%.4000s' 2>/dev/null && "
			         "mount -o remount,ro,bind '%.4000s' 2>/dev/null",
			         s.data, s.data, s.data);
			mounted = system(cmd) == 0;
			if (!mounted) {
				snprintf(cmd, sizeof cmd, "umount '%s' 2>/dev/null", s.data);
				if (system(cmd) != 0) { /* nothing was mounted */
				}
				vc_appendf(r->verdict, sizeof r->verdict,
				        "%s: skipped (mounting is not allowed here). ", cases[i].name);
				continue;
			}
			break;
		}
		default:
			break;
		}
		if (!prepared) {
			failures++;
			vc_appendf(r->verdict, sizeof r->verdict, "%s: could not be prepared. ",
			        cases[i].name);
			if (blocker >= 0)
				close(blocker);
			continue;
		}
		ran++;
		char listen_at[64];
		snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", s.port);
		char *argv[] = {(char *)o->vellum, "serve", "--data", s.data, "--listen", listen_at,
		                "--config", s.config, NULL};
		/* Only this start's output is looked at. */
		snprintf(s.p.out, sizeof s.p.out, "%.4000s/refused.log", sub);
		int ok = proc_start(&s.p, argv) == 0 && proc_wait(&s.p, 10);
		int listening = blocker < 0 && port_open(s.port);
		char text[8192] = "";
		read_file(s.p.out, text, sizeof text);
		int code = ok && WIFEXITED(s.p.status) ? WEXITSTATUS(s.p.status) : -1;
		int says = strstr(text, cases[i].expect) != NULL;
		if (!ok || code == 0 || listening || !says) {
			failures++;
			vc_appendf(r->verdict, sizeof r->verdict, "%s: %s. ", cases[i].name,
			        !ok         ? "still running after 10 s"
			        : code == 0 ? "exited 0"
			        : listening ? "listened"
			                    : "its message does not name the problem");
		}
		if (!ok)
			proc_stop(&s.p, 2);
		if (blocker >= 0)
			close(blocker);
		if (mounted) {
			char cmd[PATH_MAX + 32];
			snprintf(cmd, sizeof cmd, "umount '%s'", s.data);
			if (system(cmd) != 0)
				vc_appendf(r->verdict, sizeof r->verdict, "could not unmount %s. ", s.data);
		}
	}
	r->duration_s = vc_mono_s() - t0;
	r->recovery_seconds = -1;
	r->passed = failures == 0 && ran > 0;
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		        "each of %d bad configurations was refused at start with a non-zero exit "
		        "and a message naming the problem; nothing listened.",
		        ran);
}

/* ------------------------------------------------------------------ */
/* The table.                                                          */

typedef struct scenario {
	const char *name;
	const char *summary; /* what fault, what it must prove */
	void (*run)(const vc_run_options *o, vc_result *r);
} scenario;

static const scenario scenarios[] = {
	{"crash", "kill -9 of the server at random moments and at an exact count of fdatasync, "
	          "pwrite64 or rename calls: "
	          "no acknowledged event lost or duplicated, the log verifies",
	 scenario_crash},
	{"pause", "SIGSTOP/SIGCONT of the server: acknowledgements resume, nothing lost",
	 scenario_pause},
	{"partition", "client-server network cut by the fault proxy (blackhole, reset, "
	              "latency, throttle, half-open): retries with the same idempotency key "
	              "write each event once",
	 scenario_partition},
	{"fsync-error", "fdatasync fails with EIO (strace injection at a seeded call count): "
	                "no acknowledgement after the error, a clear error, recovery on restart",
	 scenario_fsync_error},
	{"disk-full", "the data directory's filesystem fills up under load: 503 "
	              "storage_failed, nothing acknowledged after it or lost, ingest resumes once "
	              "space is freed (and the server restarted)",
	 scenario_disk_full},
	{"clock-skew", "the server's clock jumps back minutes while it runs (libfaketime): "
	               "order and integrity unaffected, the jump flagged",
	 scenario_clock_skew},
	{"overload", "far more load than the server sustains: 503 with Retry-After, bounded "
	             "memory, no acknowledged event lost",
	 scenario_overload},
	{"config-error", "bad configurations: refused at start with a clear message, never "
	                 "half-working",
	 scenario_config_error},
	{"power-loss", "the engine under the storage simulator, crashes that drop, tear or "
	               "garble unsynced writes: every acknowledged entry survives, byte-exact",
	 vc_scenario_power_loss},
	{"bit-rot", "bits flipped in stored files: vellum verify fails, naming the right file "
	            "or entry, every time",
	 vc_scenario_bit_rot},
	{"tamper", "files edited, deleted, reordered, truncated, rolled back: vellum verify "
	           "fails at the right place, every time",
	 vc_scenario_tamper},
};

#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])

void vc_run_list(FILE *out)
{
	for (size_t i = 0; i < N_SCENARIOS; i++)
		fprintf(out, "%-13s %s\n", scenarios[i].name, scenarios[i].summary);
}

int vc_run_names_ok(const char *names, char *err, size_t errcap)
{
	if (strcmp(names, "all") == 0)
		return 0;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", names);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < N_SCENARIOS && strcmp(scenarios[i].name, t) != 0)
			i++;
		if (i == N_SCENARIOS) {
			snprintf(err, errcap, "unknown scenario '%s' (vellum chaos list)", t);
			return -1;
		}
	}
	return 0;
}

static int selected(const char *names, const char *name)
{
	if (!names || strcmp(names, "all") == 0)
		return 1;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", names);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, name) == 0)
			return 1;
	return 0;
}

int vc_run(const vc_run_options *o, int *all_passed)
{
	size_t n = 0;
	vc_result *results = calloc(N_SCENARIOS, sizeof *results);
	if (!results)
		return VL_ENOMEM;
	if (vc_mkdirs(o->dir) < 0) {
		fprintf(stderr, "vellum chaos run: cannot create %s: %s\n", o->dir, strerror(errno));
		free(results);
		return -errno;
	}
	*all_passed = 1;
	for (size_t i = 0; i < N_SCENARIOS; i++) {
		if (!selected(o->scenarios, scenarios[i].name))
			continue;
		vc_result *r = &results[n++];
		snprintf(r->name, sizeof r->name, "%s", scenarios[i].name);
		r->seed = vc_rng_derive(o->seed, scenarios[i].name);
		r->recovery_seconds = -1;
		snprintf(r->replay, sizeof r->replay,
		         "vellum chaos run --scenario %s --seed %" PRIu64 "%s --duration %.0f",
		         r->name, o->seed, o->quick ? " --quick" : "", o->duration_s);
		say(o, "%s: starting (seed %" PRIu64 ")", r->name, r->seed);
		double t0 = vc_mono_s();
		scenarios[i].run(o, r);
		say(o, "%s: %s in %.1f s: %s", r->name,
		    r->skipped ? "SKIPPED" : r->passed ? "PASSED" : "FAILED", vc_mono_s() - t0,
		    r->verdict);
		if (!r->passed && !r->skipped)
			*all_passed = 0;
	}
	char err[512];
	int rc = vc_report_write(o->report_dir ? o->report_dir : o->dir, o->command, results, n,
	                         err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "vellum chaos run: cannot write the report: %s\n", err);
	for (size_t i = 0; i < n; i++) {
		free(results[i].windows);
		free(results[i].samples);
	}
	free(results);
	return rc;
}
