/*
 * harness.c — the processes `vellum chaos run` starts and the load runs its
 * scenarios share (harness.h).
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util.h"
/* ------------------------------------------------------------------ */
/* Small things.                                                       */

void vc_sleep(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void vc_say(const vc_run_options *o, const char *fmt, ...)
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

int vc_free_port(void)
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

int vc_port_open(const char *host, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = inet_addr(host);
	int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

int vc_read_text(const char *path, char *buf, size_t cap)
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

int vc_write_text(const char *path, const char *text)
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


/* Starts ARGV with stdout and stderr appended to p->out.  0 or -errno. */
int vc_proc_start(vc_proc *p, char *const argv[])
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
int vc_proc_wait(vc_proc *p, double timeout_s)
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
		vc_sleep(0.01);
	}
}

/* SIG to the process and its group (a wrapper such as strace, and the
 * server it runs). */
void vc_proc_kill(vc_proc *p, int sig)
{
	if (p->pid > 0 && kill(-p->pid, sig) < 0)
		kill(p->pid, sig);
}

/* SIGTERM, then SIGKILL after GRACE_S. */
void vc_proc_stop(vc_proc *p, double grace_s)
{
	if (p->pid == 0)
		return;
	vc_proc_kill(p, SIGCONT);
	vc_proc_kill(p, SIGTERM);
	if (!vc_proc_wait(p, grace_s)) {
		vc_proc_kill(p, SIGKILL);
		vc_proc_wait(p, 10);
	}
}

/* ------------------------------------------------------------------ */
/* The server.                                                         */


int vc_server_init(vc_server *s, const char *vellum, const char *dir, const char *extra_ini)
{
	memset(s, 0, sizeof *s);
	s->vellum = vellum;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	snprintf(s->data, sizeof s->data, "%s/data", dir);
	snprintf(s->config, sizeof s->config, "%s/vellum.ini", dir);
	snprintf(s->p.out, sizeof s->p.out, "%s/serve.log", dir);
	s->port = vc_free_port();
	if (s->port < 0)
		return -EADDRNOTAVAIL;
	snprintf(s->host, sizeof s->host, "127.0.0.1");
	snprintf(s->url, sizeof s->url, "http://%.63s:%d", s->host, s->port);
	char ini[2048];
	snprintf(ini, sizeof ini,
	         "[server]\n"
	         "checkpoint_interval = 1s\n"
	         "log_level = info\n"
	         "%s",
	         extra_ini ? extra_ini : "");
	return vc_write_text(s->config, ini);
}

/* Starts the server, under WRAP (a NULL-terminated argv prefix, or NULL),
 * and waits up to 15 s for it to listen.  0, or -1 if it did not come up
 * (it may have exited: see its log). */
int vc_server_start(vc_server *s, char *const *wrap)
{
	char port[16], listen[96];
	snprintf(port, sizeof port, "%d", s->port);
	snprintf(listen, sizeof listen, "%.63s:%d", s->host, s->port);
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
	if (vc_proc_start(&s->p, argv) < 0)
		return -1;
	double end = vc_mono_s() + 15;
	while (vc_mono_s() < end) {
		if (vc_port_open(s->host, s->port)) {
			if (!s->token[0]) {
				char path[PATH_MAX + 32];
				snprintf(path, sizeof path, "%s/admin.token", s->data);
				if (vc_read_text(path, s->token, sizeof s->token) > 0)
					s->token[strcspn(s->token, "\r\n")] = '\0';
			}
			return 0;
		}
		if (vc_proc_wait(&s->p, 0))
			return -1;
		vc_sleep(0.05);
	}
	return -1;
}

int vc_verify_log_named(const vc_server *s, const char *log, char *why, size_t cap)
{
	char logdir[PATH_MAX + 16], vkey[PATH_MAX + 16], out[PATH_MAX + 16], which[64] = "";
	snprintf(logdir, sizeof logdir, "%.4000s/%.60s", s->data, log);
	snprintf(vkey, sizeof vkey, "%.4000s/%.60s.vkey", s->data, log);
	int is_default = strcmp(log, "default") == 0;
	if (is_default)
		snprintf(out, sizeof out, "%.4000s/verify.log", s->dir);
	else
		snprintf(out, sizeof out, "%.4000s/verify-%.60s.log", s->dir, log);
	if (!is_default)
		snprintf(which, sizeof which, " of the log %.40s", log);
	vc_proc p = {0};
	snprintf(p.out, sizeof p.out, "%.4000s", out);
	char *argv[] = {(char *)s->vellum, "verify", logdir, "--vkey", vkey, NULL};
	if (vc_proc_start(&p, argv) < 0 || !vc_proc_wait(&p, 600)) {
		vc_proc_stop(&p, 1);
		snprintf(why, cap, "vellum verify%s did not run or finish", which);
		return -1;
	}
	int code = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128;
	if (code != 0) {
		char text[1024] = "";
		vc_read_text(out, text, sizeof text);
		text[strcspn(text, "\n")] = '\0';
		snprintf(why, cap, "vellum verify%s exited %d: %.600s", which, code, text);
	}
	return code;
}

int vc_verify_log(const vc_server *s, char *why, size_t cap)
{
	return vc_verify_log_named(s, "default", why, cap);
}

/* ------------------------------------------------------------------ */
/* What every load scenario shares.                                     */


void vc_load_window(vc_load *L, double start, double end, const char *fmt, ...)
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

double vc_load_now(const vc_load *L)
{
	return vc_mono_s() - L->t0;
}

/* After a fault ends at HEALED_AT (load time): waits up to LIMIT_S for the
 * next acknowledgement, and keeps the worst time it took. */
void vc_load_recovery(vc_load *L, double healed_at, double limit_s)
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
		vc_sleep(0.02);
	}
	L->worst_recovery = limit_s;
	vc_appendf(L->r->verdict, sizeof L->r->verdict,
	        "no acknowledgement within %.0f s after healing at %.1f s. ", limit_s, healed_at);
}

/* The scenario's directory and its server. */
int vc_load_server(vc_load *L, const char *extra_ini, char *const *wrap)
{
	const vc_run_options *o = L->o;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, L->r->name);
	if (vc_mkdirs(dir) < 0 || vc_server_init(&L->srv, o->vellum, dir, extra_ini) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict, "cannot prepare %.900s", dir);
		return -1;
	}
	if (vc_server_start(&L->srv, wrap) < 0) {
		snprintf(L->r->verdict, sizeof L->r->verdict,
		         "vellum serve did not start (see %.900s)", L->srv.p.out);
		return -1;
	}
	return 0;
}

/* The load client.  URL_OVERRIDE: where it connects (a proxy), or NULL
 * for the server. */
int vc_load_client(vc_load *L, const char *url_override, double rate, int connections,
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
		.ignore_retry_after = L->client_ignores_retry_after,
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

int vc_load_begin(vc_load *L, const char *extra_ini, char *const *wrap, double rate,
                      int connections, int batch)
{
	if (vc_load_server(L, extra_ini, wrap) < 0)
		return -1;
	return vc_load_client(L, NULL, rate, connections, batch);
}

/* Heals what is left (the server running), lets the client drain, stops
 * everything, checks, and fills the verdict. */
void vc_load_end(vc_load *L, double recovery_limit_s)
{
	vc_result *r = L->r;
	if (L->srv.p.pid == 0 && vc_server_start(&L->srv, NULL) < 0)
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
	r->duration_s = vc_load_now(L);
	r->p50_ms = st.p50_ms;
	r->p90_ms = st.p90_ms;
	r->p99_ms = st.p99_ms;
	r->max_ms = st.max_ms;
	vc_proc_stop(&L->srv.p, 30);

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
	int verified = vc_verify_log(&L->srv, why, sizeof why) == 0;
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

/* 1 if GET URL/readyz answers 200. */
int vc_ready(const vc_server *s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
	a.sin_addr.s_addr = inet_addr(s->host);
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

