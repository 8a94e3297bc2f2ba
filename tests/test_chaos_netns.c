/*
 * test_chaos_netns.c — the network namespaces and nftables faults of
 * `vellum chaos run`'s partition scenario (src/chaos/netns.c).
 *
 * The nft scripts are checked byte for byte everywhere.  Where namespaces
 * and nftables can be used (root, ip and nft installed), a namespace is
 * made with a listener inside, and each fault must do what it says when
 * connecting from the host over the veth: drop (the connect times out),
 * reject (refused at once, and an open connection reset), drop-replies
 * (the connect times out), heal (connects again).  Destroying it must kill
 * what still runs inside and leave no namespace and no veth behind.
 * Elsewhere that test is skipped, saying why.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns.h"

#define PORT 4242

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* The scripts.                                                         */

static void rules_text(void **state)
{
	(void)state;
	char buf[1024];
	static const char heal[] = "table inet vellum_chaos\n"
	                           "delete table inet vellum_chaos\n";
	static const char drop[] = "table inet vellum_chaos\n"
	                           "delete table inet vellum_chaos\n"
	                           "table inet vellum_chaos {\n"
	                           "\tchain input {\n"
	                           "\t\ttype filter hook input priority 0; policy accept;\n"
	                           "\t\ttcp dport 8080 drop\n"
	                           "\t}\n"
	                           "\tchain output {\n"
	                           "\t\ttype filter hook output priority 0; policy accept;\n"
	                           "\t\ttcp sport 8080 drop\n"
	                           "\t}\n"
	                           "}\n";
	static const char reject[] = "table inet vellum_chaos\n"
	                             "delete table inet vellum_chaos\n"
	                             "table inet vellum_chaos {\n"
	                             "\tchain input {\n"
	                             "\t\ttype filter hook input priority 0; policy accept;\n"
	                             "\t\ttcp dport 8080 reject with tcp reset\n"
	                             "\t}\n"
	                             "\tchain output {\n"
	                             "\t\ttype filter hook output priority 0; policy accept;\n"
	                             "\t}\n"
	                             "}\n";
	static const char replies[] = "table inet vellum_chaos\n"
	                              "delete table inet vellum_chaos\n"
	                              "table inet vellum_chaos {\n"
	                              "\tchain input {\n"
	                              "\t\ttype filter hook input priority 0; policy accept;\n"
	                              "\t}\n"
	                              "\tchain output {\n"
	                              "\t\ttype filter hook output priority 0; policy accept;\n"
	                              "\t\ttcp sport 8080 drop\n"
	                              "\t}\n"
	                              "}\n";
	assert_int_equal(vc_netns_rules(VC_NETNS_HEAL, 8080, buf, sizeof buf), sizeof heal - 1);
	assert_string_equal(buf, heal);
	assert_int_equal(vc_netns_rules(VC_NETNS_DROP, 8080, buf, sizeof buf), sizeof drop - 1);
	assert_string_equal(buf, drop);
	assert_int_equal(vc_netns_rules(VC_NETNS_REJECT, 8080, buf, sizeof buf), sizeof reject - 1);
	assert_string_equal(buf, reject);
	assert_int_equal(vc_netns_rules(VC_NETNS_DROP_REPLIES, 8080, buf, sizeof buf),
	                 sizeof replies - 1);
	assert_string_equal(buf, replies);

	/* What is refused: no such fault, a port out of range, no room. */
	assert_int_equal(vc_netns_rules(VC_NETNS_FAULTS, 8080, buf, sizeof buf), -1);
	assert_int_equal(vc_netns_rules(VC_NETNS_DROP, 0, buf, sizeof buf), -1);
	assert_int_equal(vc_netns_rules(VC_NETNS_DROP, 65536, buf, sizeof buf), -1);
	assert_int_equal(vc_netns_rules(VC_NETNS_DROP, 8080, buf, sizeof drop - 1), -1);
	assert_int_equal(vc_netns_rules(VC_NETNS_DROP, 8080, buf, sizeof drop), sizeof drop - 1);

	assert_string_equal(vc_netns_fault_name(VC_NETNS_HEAL), "heal");
	assert_string_equal(vc_netns_fault_name(VC_NETNS_DROP), "drop");
	assert_string_equal(vc_netns_fault_name(VC_NETNS_REJECT), "reject");
	assert_string_equal(vc_netns_fault_name(VC_NETNS_DROP_REPLIES), "drop-replies");
	assert_null(vc_netns_fault_name(VC_NETNS_FAULTS));
}

/* ------------------------------------------------------------------ */
/* A namespace, for real.                                               */

/* A child inside NS: joins it with setns(2) (not through ip, so the test
 * does not only check the module against itself), listens on
 * NS_ADDR:PORT, says so through a pipe, and accepts connections, holding
 * them, until it is killed.  Its pid, or -1. */
static pid_t start_listener(const vc_netns *ns)
{
	int ready[2];
	if (pipe(ready) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(ready[0]);
		char path[128];
		snprintf(path, sizeof path, "/run/netns/%s", ns->name);
		int nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
			_exit(2);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
		inet_pton(AF_INET, ns->ns_addr, &a.sin_addr);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		/* Accepted connections stay open (never closed) until the
		 * child is killed. */
		for (;;)
			(void)accept(fd, NULL, NULL);
	}
	close(ready[1]);
	char b = 0;
	struct pollfd p = {.fd = ready[0], .events = POLLIN};
	int ok = poll(&p, 1, 5000) == 1 && read(ready[0], &b, 1) == 1 && b == 'r';
	close(ready[0]);
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* Connects to HOST:PORT, waiting at most TIMEOUT_S: the socket (open) on
 * success, else -errno (-ETIMEDOUT when nothing answered).  *TOOK gets the
 * seconds it took. */
static int connect_within(const char *host, double timeout_s, double *took)
{
	double t0 = now_s();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	inet_pton(AF_INET, host, &a.sin_addr);
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
		} else {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int pr = poll(&p, 1, (int)(timeout_s * 1000));
			if (pr == 0) {
				rc = -ETIMEDOUT;
			} else {
				int e = 0;
				socklen_t len = sizeof e;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
				rc = -e;
			}
		}
	}
	*took = now_s() - t0;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static void expect_connects(const vc_netns *ns)
{
	double took;
	int fd = connect_within(ns->ns_addr, 2, &took);
	if (fd < 0)
		print_message("connect to %s:%d: %s\n", ns->ns_addr, PORT, strerror(-fd));
	assert_true(fd >= 0);
	close(fd);
}

static void apply(const vc_netns *ns, enum vc_netns_fault f)
{
	char err[512] = "";
	int rc = vc_netns_fault(ns, f, PORT, err, sizeof err);
	if (rc < 0)
		print_message("%s: %s\n", vc_netns_fault_name(f), err);
	assert_int_equal(rc, 0);
}

/* Runs ARGV and returns what it printed (stdout), NUL-terminated in OUT. */
static int capture(char *const argv[], char *out, size_t cap)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void faults_in_a_namespace(void **state)
{
	(void)state;
	char why[600];
	if (!vc_netns_available(why, sizeof why)) {
		assert_true(why[0] != '\0');
		print_message("[     SKIP ] network namespaces with nftables: %s\n", why);
		skip();
		return;
	}
	vc_netns ns;
	char err[512] = "";
	int rc = vc_netns_create(&ns, err, sizeof err);
	if (rc < 0)
		print_message("vc_netns_create: %s\n", err);
	assert_int_equal(rc, 0);
	char want[64];
	snprintf(want, sizeof want, "vellum-chaos-%ld-", (long)getpid());
	assert_memory_equal(ns.name, want, strlen(want));
	assert_memory_equal(ns.host_addr, "10.201.", 7);
	assert_memory_equal(ns.ns_addr, "10.201.", 7);
	assert_true(if_nametoindex(ns.host_if) != 0);
	print_message("namespace %s: %s %s <-> %s %s\n", ns.name, ns.host_if, ns.host_addr,
	              ns.ns_if, ns.ns_addr);

	/* The wrap runs a command inside: its /proc/net/dev shows the
	 * namespace's end of the veth, and not the host's. */
	char *wrap[5];
	vc_netns_wrap(&ns, wrap);
	assert_string_equal(wrap[1], "netns");
	assert_string_equal(wrap[2], "exec");
	assert_string_equal(wrap[3], ns.name);
	assert_null(wrap[4]);
	char *cat[] = {wrap[0], wrap[1], wrap[2], wrap[3], "/bin/cat", "/proc/net/dev", NULL};
	char dev[4096];
	assert_int_equal(capture(cat, dev, sizeof dev), 0);
	assert_non_null(strstr(dev, ns.ns_if));
	assert_null(strstr(dev, ns.host_if));

	pid_t listener = start_listener(&ns);
	assert_true(listener > 0);
	expect_connects(&ns);

	/* drop: nothing answers; the connect waits out its timeout. */
	double took;
	apply(&ns, VC_NETNS_DROP);
	rc = connect_within(ns.ns_addr, 1, &took);
	if (rc >= 0)
		close(rc);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(took >= 0.9);

	/* reject: refused at once; and a connection made before it is reset
	 * as soon as it sends. */
	apply(&ns, VC_NETNS_HEAL);
	int open_fd = connect_within(ns.ns_addr, 2, &took);
	assert_true(open_fd >= 0);
	apply(&ns, VC_NETNS_REJECT);
	rc = connect_within(ns.ns_addr, 1, &took);
	if (rc >= 0)
		close(rc);
	assert_int_equal(rc, -ECONNREFUSED);
	assert_true(took < 0.5);
	assert_int_equal(send(open_fd, "x", 1, MSG_NOSIGNAL), 1);
	struct pollfd p = {.fd = open_fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 1000), 1);
	char b;
	errno = 0;
	assert_int_equal(recv(open_fd, &b, 1, 0), -1);
	assert_int_equal(errno, ECONNRESET);
	close(open_fd);

	/* drop-replies: the SYN arrives, its answer does not. */
	apply(&ns, VC_NETNS_DROP_REPLIES);
	rc = connect_within(ns.ns_addr, 1, &took);
	if (rc >= 0)
		close(rc);
	assert_int_equal(rc, -ETIMEDOUT);

	/* Healed: connects again; healing twice is fine. */
	apply(&ns, VC_NETNS_HEAL);
	apply(&ns, VC_NETNS_HEAL);
	expect_connects(&ns);

	/* Destroying with the listener still inside kills it, and leaves
	 * neither the namespace nor the veth. */
	char name[64], host_if[16];
	snprintf(name, sizeof name, "%s", ns.name);
	snprintf(host_if, sizeof host_if, "%s", ns.host_if);
	vc_netns_destroy(&ns);
	int st = 0;
	assert_int_equal(waitpid(listener, &st, 0), listener);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	vc_netns_destroy(&ns); /* a second time: nothing to do */
	assert_int_equal(ns.name[0], '\0');
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", name);
	struct stat sb;
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(if_nametoindex(host_if), 0);
	char *list[] = {wrap[0], "netns", "list", NULL};
	char names[8192];
	assert_int_equal(capture(list, names, sizeof names), 0);
	assert_null(strstr(names, name));

	/* A fault on a namespace that is gone is an error, not a crash. */
	assert_int_equal(vc_netns_fault(&ns, VC_NETNS_DROP, PORT, err, sizeof err), -1);
	assert_true(err[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_text),
		cmocka_unit_test(faults_in_a_namespace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
