/*
 * netns.c — network namespaces and nftables faults for `vellum chaos run`
 * (netns.h).
 *
 * Everything is done by running ip(8) and nft(8), found at fixed paths and
 * run with fork and exec: no shell, so no name is ever re-parsed.  Their
 * output is kept for the error message.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"
#include "util.h"

#define VC_NETNS_PREFIX "vellum-chaos-"
#define VC_NETNS_SUBNETS 16384u /* /30s in 10.201.0.0/16 */
#define VC_NETNS_CMD_TIMEOUT_S 20.0

/* ------------------------------------------------------------------ */
/* Running ip and nft.                                                  */

/* The first executable of PATHS: fixed paths, because root's PATH is not
 * always the one a test or a service runs with. */
static const char *find_tool(const char *const *paths)
{
	for (; *paths; paths++)
		if (access(*paths, X_OK) == 0)
			return *paths;
	return NULL;
}

static const char *ip_tool(void)
{
	static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip",
	                                    NULL};
	return find_tool(paths);
}

static const char *nft_tool(void)
{
	static const char *const paths[] = {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft",
	                                    "/usr/local/sbin/nft", NULL};
	return find_tool(paths);
}

/* "ip netns add NAME" from ARGV, for messages: argv[0]'s last component,
 * then the rest. */
static void describe(char *const argv[], char *buf, size_t cap)
{
	const char *slash = strrchr(argv[0], '/');
	snprintf(buf, cap, "%s", slash ? slash + 1 : argv[0]);
	for (int i = 1; argv[i]; i++)
		vc_appendf(buf, cap, " %s", argv[i]);
}

/*
 * Runs ARGV (argv[0] an absolute path) with INPUT (or /dev/null) on its
 * stdin, its stdout and stderr both captured into OUT (CAP bytes, the rest
 * read and dropped), and waits for it, killing it after 20 s.  Its exit
 * status, 128 + the signal that ended it, or -errno if it could not run.
 *
 * INPUT goes into a pipe before the fork: what these commands read is a
 * few hundred bytes, far under a pipe's capacity, and a write can then
 * never meet a reader that is gone (SIGPIPE).
 */
static int run_cmd(char *const argv[], const char *input, char *out, size_t cap)
{
	int in[2] = {-1, -1}, pfd[2];
	if (cap)
		out[0] = '\0';
	if (input) {
		size_t len = strlen(input);
		if (pipe2(in, O_CLOEXEC) < 0)
			return -errno;
		if (write(in[1], input, len) != (ssize_t)len) {
			int e = errno ? errno : EIO;
			close(in[0]);
			close(in[1]);
			return -e;
		}
		close(in[1]);
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		int e = errno;
		if (in[0] >= 0)
			close(in[0]);
		return -e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		if (in[0] >= 0)
			close(in[0]);
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls here: the caller may have threads. */
		int fd0 = in[0] >= 0 ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd0 >= 0)
			dup2(fd0, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		static const char msg[] = "cannot execute\n";
		ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
		(void)w;
		_exit(127);
	}
	if (in[0] >= 0)
		close(in[0]);
	close(pfd[1]);
	size_t n = 0;
	double end = vc_mono_s() + VC_NETNS_CMD_TIMEOUT_S;
	for (;;) {
		double left = end - vc_mono_s();
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int pr = poll(&p, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the deadline is checked above */
		char buf[512];
		ssize_t r = read(pfd[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && cap && n + 1 < cap; i++)
			out[n++] = buf[i];
		if (cap)
			out[n] = '\0';
	}
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Runs ARGV; on failure writes "COMMAND: first line of its output" (or of
 * its exit status) to ERR.  0, or -1. */
static int run_ok(char *const argv[], const char *input, char *err, size_t cap)
{
	char out[1024];
	int rc = run_cmd(argv, input, out, sizeof out);
	if (rc == 0)
		return 0;
	char what[512];
	describe(argv, what, sizeof what);
	out[strcspn(out, "\n")] = '\0';
	if (rc < 0)
		snprintf(err, cap, "%s: %s", what, strerror(-rc));
	else if (out[0])
		snprintf(err, cap, "%s: %s", what, out);
	else
		snprintf(err, cap, "%s: exit status %d", what, rc);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Names and addresses.                                                 */

/* Subnet I's network address, host order: 10.201.<I/64>.<4*(I%64)>. */
static uint32_t subnet_base(unsigned i)
{
	return (10u << 24) | (201u << 16) | ((i / 64) << 8) | ((i % 64) * 4);
}

static void ipv4_text(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* 1 if no interface of the host is named vch<I> and none holds an address
 * in subnet I (another run's, or the host's own network). */
static int subnet_free(unsigned i, const struct ifaddrs *ifs)
{
	char name[IF_NAMESIZE + 8];
	snprintf(name, sizeof name, "vch%u", i);
	if (if_nametoindex(name) != 0)
		return 0;
	uint32_t base = subnet_base(i);
	for (const struct ifaddrs *a = ifs; a; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET)
			continue;
		const struct sockaddr_in *in = (const void *)a->ifa_addr;
		uint32_t v = ntohl(in->sin_addr.s_addr);
		if ((v & ~3u) == base)
			return 0;
	}
	return 1;
}

/* A free subnet, searched from a place drawn from the process id and N so
 * that concurrent runs start far apart; -1 if none is free. */
static int pick_subnet(unsigned n)
{
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0)
		ifs = NULL;
	unsigned start = ((unsigned)getpid() * 61u + n * 7u) % VC_NETNS_SUBNETS;
	int found = -1;
	for (unsigned j = 0; j < VC_NETNS_SUBNETS && found < 0; j++) {
		unsigned i = (start + j) % VC_NETNS_SUBNETS;
		if (subnet_free(i, ifs))
			found = (int)i;
	}
	if (ifs)
		freeifaddrs(ifs);
	return found;
}

/* Kills every process still inside the namespace NAME: only what a run of
 * this program started there can be in it, and the namespace does not go
 * away while anything runs inside. */
static void kill_inside(const char *ip, const char *name)
{
	char *argv[] = {(char *)ip, "netns", "pids", (char *)name, NULL};
	char out[4096];
	if (run_cmd(argv, NULL, out, sizeof out) != 0)
		return;
	char *save = NULL;
	for (char *tok = strtok_r(out, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		char *endp;
		long pid = strtol(tok, &endp, 10);
		if (*endp == '\0' && pid > 1 && pid != (long)getpid())
			kill((pid_t)pid, SIGKILL);
	}
}

static void delete_namespace(const char *ip, const char *name)
{
	kill_inside(ip, name);
	char *argv[] = {(char *)ip, "netns", "del", (char *)name, NULL};
	char out[256];
	(void)run_cmd(argv, NULL, out, sizeof out);
}

/* Deletes the namespaces of runs whose process is gone (a run killed
 * before it could clean up): vellum-chaos-<pid>-<n> with no process <pid>. */
static void sweep_stale(const char *ip)
{
	DIR *d = opendir("/run/netns");
	if (!d)
		return;
	char names[32][64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 32) {
		long pid;
		unsigned k;
		int used = 0;
		if (strncmp(e->d_name, VC_NETNS_PREFIX, sizeof VC_NETNS_PREFIX - 1) != 0 ||
		    sscanf(e->d_name, VC_NETNS_PREFIX "%ld-%u%n", &pid, &k, &used) != 2 ||
		    e->d_name[used] != '\0' || strlen(e->d_name) >= sizeof names[0])
			continue;
		if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(names[n++], sizeof names[0], "%s", e->d_name);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		delete_namespace(ip, names[i]);
}

/* ------------------------------------------------------------------ */
/* The interface.                                                        */

const char *vc_netns_fault_name(enum vc_netns_fault f)
{
	switch (f) {
	case VC_NETNS_HEAL:
		return "heal";
	case VC_NETNS_DROP:
		return "drop";
	case VC_NETNS_REJECT:
		return "reject";
	case VC_NETNS_DROP_REPLIES:
		return "drop-replies";
	case VC_NETNS_FAULTS:
		break;
	}
	return NULL;
}

int vc_netns_create(vc_netns *ns, char *err, size_t cap)
{
	static unsigned counter;
	memset(ns, 0, sizeof *ns);
	const char *ip = ip_tool();
	if (!ip) {
		snprintf(err, cap, "ip (iproute2) is not installed");
		return -1;
	}
	sweep_stale(ip);
	unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	char name[64];
	snprintf(name, sizeof name, VC_NETNS_PREFIX "%ld-%u", (long)getpid(), n);
	char *add[] = {(char *)ip, "netns", "add", name, NULL};
	if (run_ok(add, NULL, err, cap) < 0)
		return -1;
	snprintf(ns->name, sizeof ns->name, "%s", name);

	/* The veth pair, its namespace end made inside: another run may take
	 * the same subnet between the check and the making, and then the name
	 * exists, so a few tries. */
	int made = 0;
	for (int attempt = 0; attempt < 8 && !made; attempt++) {
		int i = pick_subnet(n + (unsigned)attempt * 101u);
		if (i < 0) {
			snprintf(err, cap, "no free /30 in 10.201.0.0/16 for the veth pair");
			vc_netns_destroy(ns);
			return -1;
		}
		ns->subnet = (unsigned)i;
		snprintf(ns->host_if, sizeof ns->host_if, "vch%u", ns->subnet);
		snprintf(ns->ns_if, sizeof ns->ns_if, "vcn%u", ns->subnet);
		ipv4_text(subnet_base(ns->subnet) + 1, ns->host_addr, sizeof ns->host_addr);
		ipv4_text(subnet_base(ns->subnet) + 2, ns->ns_addr, sizeof ns->ns_addr);
		char *veth[] = {(char *)ip, "link", "add", ns->host_if, "type", "veth", "peer",
		                "name", ns->ns_if, "netns", ns->name, NULL};
		if (run_ok(veth, NULL, err, cap) == 0)
			made = 1;
		else if (!strstr(err, "exists"))
			break;
	}
	if (!made) {
		ns->host_if[0] = '\0'; /* not ours: it belongs to whoever made it */
		vc_netns_destroy(ns);
		return -1;
	}

	char host_cidr[24], ns_cidr[24];
	snprintf(host_cidr, sizeof host_cidr, "%s/30", ns->host_addr);
	snprintf(ns_cidr, sizeof ns_cidr, "%s/30", ns->ns_addr);
	char *steps[][10] = {
		{(char *)ip, "addr", "add", host_cidr, "dev", ns->host_if, NULL},
		{(char *)ip, "link", "set", ns->host_if, "up", NULL},
		{(char *)ip, "-n", ns->name, "addr", "add", ns_cidr, "dev", ns->ns_if, NULL},
		{(char *)ip, "-n", ns->name, "link", "set", ns->ns_if, "up", NULL},
		{(char *)ip, "-n", ns->name, "link", "set", "lo", "up", NULL},
	};
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		if (run_ok(steps[s], NULL, err, cap) < 0) {
			vc_netns_destroy(ns);
			return -1;
		}
	}
	return 0;
}

void vc_netns_wrap(vc_netns *ns, char *wrap[5])
{
	const char *ip = ip_tool();
	wrap[0] = (char *)(ip ? ip : "/usr/sbin/ip");
	wrap[1] = "netns";
	wrap[2] = "exec";
	wrap[3] = ns->name;
	wrap[4] = NULL;
}

int vc_netns_rules(enum vc_netns_fault f, int port, char *buf, size_t cap)
{
	if (port <= 0 || port > 65535 || cap == 0)
		return -1;
	/* Declaring the table before deleting it makes the delete succeed
	 * whether or not it was there; nft applies the whole script as one
	 * transaction, so a fault replaces the previous one at once. */
	static const char head[] = "table inet vellum_chaos\n"
	                           "delete table inet vellum_chaos\n";
	char in_rule[96] = "", out_rule[96] = "";
	switch (f) {
	case VC_NETNS_HEAL:
		break;
	case VC_NETNS_DROP:
		snprintf(in_rule, sizeof in_rule, "\t\ttcp dport %d drop\n", port);
		snprintf(out_rule, sizeof out_rule, "\t\ttcp sport %d drop\n", port);
		break;
	case VC_NETNS_REJECT:
		snprintf(in_rule, sizeof in_rule, "\t\ttcp dport %d reject with tcp reset\n", port);
		break;
	case VC_NETNS_DROP_REPLIES:
		snprintf(out_rule, sizeof out_rule, "\t\ttcp sport %d drop\n", port);
		break;
	default:
		return -1;
	}
	int len;
	if (f == VC_NETNS_HEAL)
		len = snprintf(buf, cap, "%s", head);
	else
		len = snprintf(buf, cap,
		               "%s"
		               "table inet vellum_chaos {\n"
		               "\tchain input {\n"
		               "\t\ttype filter hook input priority 0; policy accept;\n"
		               "%s"
		               "\t}\n"
		               "\tchain output {\n"
		               "\t\ttype filter hook output priority 0; policy accept;\n"
		               "%s"
		               "\t}\n"
		               "}\n",
		               head, in_rule, out_rule);
	return len < 0 || (size_t)len >= cap ? -1 : len;
}

int vc_netns_fault(const vc_netns *ns, enum vc_netns_fault f, int port, char *err, size_t cap)
{
	char script[1024];
	if (vc_netns_rules(f, port, script, sizeof script) < 0) {
		snprintf(err, cap, "no such fault (%d) or port (%d)", (int)f, port);
		return -1;
	}
	const char *ip = ip_tool(), *nft = nft_tool();
	if (!ip || !nft) {
		snprintf(err, cap, "%s is not installed", ip ? "nft (nftables)" : "ip (iproute2)");
		return -1;
	}
	if (!ns->name[0]) {
		snprintf(err, cap, "the namespace is gone");
		return -1;
	}
	char *argv[] = {(char *)ip, "netns", "exec", (char *)ns->name, (char *)nft, "-f", "-",
	                NULL};
	return run_ok(argv, script, err, cap);
}

void vc_netns_destroy(vc_netns *ns)
{
	const char *ip = ip_tool();
	if (!ip)
		return;
	if (ns->name[0]) {
		delete_namespace(ip, ns->name);
		ns->name[0] = '\0';
	}
	if (ns->host_if[0]) {
		/* The pair goes with the namespace, once the kernel has let go of
		 * it (asynchronously); if the host's end is still there after 2 s,
		 * it is deleted by name. */
		double end = vc_mono_s() + 2;
		while (if_nametoindex(ns->host_if) != 0 && vc_mono_s() < end)
			usleep(20000);
		if (if_nametoindex(ns->host_if) != 0) {
			char *argv[] = {(char *)ip, "link", "del", ns->host_if, NULL};
			char out[256];
			(void)run_cmd(argv, NULL, out, sizeof out);
		}
		ns->host_if[0] = '\0';
	}
}

int vc_netns_available(char *why, size_t cap)
{
	if (!ip_tool()) {
		snprintf(why, cap, "ip (iproute2) is not installed");
		return 0;
	}
	if (!nft_tool()) {
		snprintf(why, cap, "nft (nftables) is not installed");
		return 0;
	}
	vc_netns ns;
	char err[512];
	if (vc_netns_create(&ns, err, sizeof err) < 0) {
		snprintf(why, cap, "cannot make a network namespace%s: %s",
		         geteuid() != 0 ? " (not root)" : "", err);
		return 0;
	}
	/* A rule on the discard port, then healing: nft and the kernel's
	 * nf_tables must both work inside the namespace. */
	int ok = vc_netns_fault(&ns, VC_NETNS_DROP, 9, err, sizeof err) == 0 &&
	         vc_netns_fault(&ns, VC_NETNS_HEAL, 9, err, sizeof err) == 0;
	vc_netns_destroy(&ns);
	if (!ok) {
		snprintf(why, cap, "nftables does not work in a network namespace: %s", err);
		return 0;
	}
	if (why && cap)
		why[0] = '\0';
	return 1;
}
