/*
 * chaos.c — `vellum chaos SUBCOMMAND`: tools for injecting faults.
 * `vellum chaos proxy` is a TCP proxy that applies network faults
 * (src/chaos/proxy.c, docs/chaos.md).  Subcommands are a table, like the
 * commands of main.c.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"
#include "run.h"
#include "util.h"

struct chaos_sub {
	const char *name;
	int (*run)(const struct cli_command *self, int argc, char **argv);
};

static int run_proxy(const struct cli_command *self, int argc, char **argv)
{
	enum { OPT_PORT_FILE = 256 };
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"upstream", required_argument, NULL, 'u'},
		{"fault", required_argument, NULL, 'f'},
		{"seed", required_argument, NULL, 's'},
		{"control", required_argument, NULL, 'c'},
		{"port-file", required_argument, NULL, OPT_PORT_FILE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	vc_proxy_config cfg = {0};
	vc_fault *faults;
	size_t n_faults = 0;
	int have_seed = 0, c, code;
	char err[256], host[256];
	uint16_t port;

	faults = calloc((size_t)argc, sizeof *faults);
	if (!faults)
		return CLI_EXIT_RUNTIME;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:u:f:s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 'u':
			cfg.upstream = optarg;
			break;
		case 'f':
			if (vc_fault_parse(optarg, strlen(optarg), &faults[n_faults], err,
					   sizeof err) < 0) {
				code = cli_usage_error(self, "bad --fault '%s': %s", optarg, err);
				goto done;
			}
			n_faults++;
			break;
		case 's':
			if (cli_parse_u64(optarg, &cfg.seed) < 0) {
				code = cli_usage_error(self, "--seed takes a whole number "
					"0..18446744073709551615, not '%s'", optarg);
				goto done;
			}
			have_seed = 1;
			break;
		case 'c':
			cfg.control = optarg;
			break;
		case OPT_PORT_FILE:
			cfg.port_file = optarg;
			break;
		case 'h':
			code = cli_help(self);
			goto done;
		default:
			code = cli_bad_option(self, c, argv);
			goto done;
		}
	}
	if (optind < argc) {
		code = cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (!cfg.listen || !cfg.upstream) {
		code = cli_usage_error(self, "proxy: missing %s", !cfg.listen ? "--listen ADDR:PORT"
									: "--upstream HOST:PORT");
		goto done;
	}
	const char *const addrs[3][2] = {
		{"--listen", cfg.listen}, {"--upstream", cfg.upstream}, {"--control", cfg.control}};
	for (int i = 0; i < 3; i++) {
		if (!addrs[i][1])
			continue;
		if (vc_split_hostport(addrs[i][1], host, sizeof host, &port, err, sizeof err) < 0) {
			code = cli_usage_error(self, "bad %s: %s", addrs[i][0], err);
			goto done;
		}
		if (i == 1 && port == 0) {
			code = cli_usage_error(self, "bad --upstream: '%s' has port 0",
					       cfg.upstream);
			goto done;
		}
	}
	if (!have_seed && getrandom(&cfg.seed, sizeof cfg.seed, 0) != sizeof cfg.seed)
		cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	cfg.faults = faults;
	cfg.n_faults = n_faults;
	code = vc_proxy_run(&cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
done:
	free(faults);
	return code;
}

static int run_list(const struct cli_command *self, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error(self, "list: unexpected argument '%s'", argv[1]);
	vc_run_list(stdout);
	return CLI_EXIT_OK;
}

static int run_run(const struct cli_command *self, int argc, char **argv)
{
	enum { OPT_QUICK = 256, OPT_REPORT, OPT_DIR };
	static const struct option opts[] = {
		{"scenario", required_argument, NULL, 's'},
		{"quick", no_argument, NULL, OPT_QUICK},
		{"duration", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 'S'},
		{"report", required_argument, NULL, OPT_REPORT},
		{"dir", required_argument, NULL, OPT_DIR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	vc_run_options o = {.scenarios = "all", .duration_s = 60};
	int have_seed = 0, have_duration = 0, c;
	uint64_t v;
	char err[512], self_path[4096], dir[4096] = "", command[2048] = "";
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:d:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (vc_run_names_ok(optarg, err, sizeof err) < 0)
				return cli_usage_error(self, "run: %s", err);
			o.scenarios = optarg;
			break;
		case OPT_QUICK:
			o.quick = 1;
			break;
		case 'd':
			if (cli_parse_u64(optarg, &v) < 0 || v < 5 || v > 86400)
				return cli_usage_error(self, "run: --duration takes 5..86400 seconds");
			o.duration_s = (double)v;
			have_duration = 1;
			break;
		case 'S':
			if (cli_parse_u64(optarg, &v) < 0)
				return cli_usage_error(self, "run: --seed takes 0..2^64-1");
			o.seed = v;
			have_seed = 1;
			break;
		case OPT_REPORT:
			o.report_dir = optarg;
			break;
		case OPT_DIR:
			o.dir = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(self, "run: unexpected argument '%s'", argv[optind]);
	if (!have_duration && o.quick)
		o.duration_s = 12;
	if (!have_seed && getrandom(&o.seed, sizeof o.seed, 0) != (ssize_t)sizeof o.seed)
		o.seed = (uint64_t)time(NULL);
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (n <= 0) {
		fprintf(stderr, "vellum chaos run: cannot find its own binary\n");
		return CLI_EXIT_RUNTIME;
	}
	self_path[n] = '\0';
	o.vellum = self_path;
	if (!o.dir) {
		snprintf(dir, sizeof dir, "%s/vellum-chaos-XXXXXX",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir)) {
			fprintf(stderr, "vellum chaos run: cannot create %s\n", dir);
			return CLI_EXIT_RUNTIME;
		}
		o.dir = dir;
	}
	snprintf(command, sizeof command,
	         "vellum chaos run --scenario %s --seed %llu --duration %.0f%s", o.scenarios,
	         (unsigned long long)o.seed, o.duration_s, o.quick ? " --quick" : "");
	o.command = command;
	fprintf(stderr, "vellum chaos run: seed %llu (replay: %s); scratch directory %s\n",
	        (unsigned long long)o.seed, command, o.dir);
	int all_passed = 0;
	int rc = vc_run(&o, &all_passed);
	const char *rdir = o.report_dir ? o.report_dir : o.dir;
	if (rc == 0)
		fprintf(stderr, "vellum chaos run: %s; report in %s/report.html and report.json\n",
		        all_passed ? "every scenario passed" : "SOME SCENARIOS FAILED", rdir);
	return rc < 0 ? CLI_EXIT_RUNTIME : all_passed ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

static const struct chaos_sub subs[] = {
	{"run", run_run},
	{"list", run_list},
	{"proxy", run_proxy},
};
#define N_SUBS (sizeof(subs) / sizeof(subs[0]))

static int run(const struct cli_command *self, int argc, char **argv)
{
	char names[128] = "";

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_help(self);
	for (size_t i = 0; i < N_SUBS; i++) {
		if (argc >= 2 && strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(self, argc - 1, argv + 1);
		strcat(names, i ? ", " : "");
		strcat(names, subs[i].name);
	}
	if (argc < 2)
		return cli_usage_error(self, "missing subcommand (one of: %s)", names);
	return cli_usage_error(self, "unknown subcommand '%s' (one of: %s)", argv[1], names);
}

const struct cli_command cli_chaos = {
	.name = "chaos",
	.synopsis = "  vellum chaos run [--scenario NAMES|all] [--quick] ...\n"
		    "                                      real faults against real processes; a report\n"
		    "  vellum chaos list                   the scenarios\n"
		    "  vellum chaos proxy --listen A:P --upstream H:P [--fault SPEC ...]\n"
		    "                                      a TCP proxy that injects faults\n",
	.help = "usage: vellum chaos run [--scenario NAME[,NAME...]|all] [--quick]\n"
		"                        [--duration SECONDS] [--seed N] [--report DIR] [--dir DIR]\n"
		"       vellum chaos list\n"
		"       vellum chaos proxy --listen ADDR:PORT --upstream HOST:PORT\n"
		"                          [--fault SPEC ...] [--seed N] [--control ADDR:PORT]\n"
		"                          [--port-file FILE]\n"
		"\n"
		"Subcommands:\n"
		"  run     starts real vellum processes in a scratch directory, drives a load\n"
		"          through a client that records every request and acknowledgement,\n"
		"          injects each scenario's faults on a schedule drawn from the seed,\n"
		"          heals, and checks: no acknowledged event lost, duplicated or\n"
		"          changed, and the log verifies.  Writes report.json and report.html.\n"
		"          --quick: every scenario briefly; --duration: seconds of load per\n"
		"          scenario (default 60, 12 with --quick); --seed replays a run;\n"
		"          --dir: the scratch directory (default a new one under $TMPDIR);\n"
		"          --report: where the report goes (default the scratch directory).\n"
		"          Exit status 0 when every scenario passed, 1 when one failed.\n"
		"  list    the scenarios, one a line: the fault, and what it must prove\n"
		"  proxy   a TCP proxy from --listen to --upstream that forwards bytes both\n"
		"          ways and applies faults, on a schedule or on command\n"
		"\n"
		"Faults (SPEC):\n"
		"  blackhole            forward nothing; what is read is discarded, connections\n"
		"                       stay open, new ones are accepted but not connected on\n"
		"  reset                reset (RST) every open connection and each new one\n"
		"  refuse               close the listening socket: connecting is refused\n"
		"  latency=MS[~J]       delay every chunk, each way, by MS +- J ms (uniform)\n"
		"  throttle=RATE        at most RATE bytes/s each way per connection (64k, 1m)\n"
		"  half-open            close the upstream side silently; the client hears\n"
		"                       nothing, neither data nor a close\n"
		"  SPEC@START+DURATION  only from START to START+DURATION seconds after the\n"
		"                       proxy started (decimals allowed: blackhole@0.5+2)\n"
		"When a blackhole or half-open fault ends, the connections it held are reset.\n"
		"\n"
		"Options:\n"
		"  -l, --listen ADDR:PORT    where clients connect (PORT 0: any free port)\n"
		"  -u, --upstream HOST:PORT  where the proxy connects to\n"
		"  -f, --fault SPEC          a fault; may be given more than once\n"
		"  -s, --seed N              the seed of every random choice (default random);\n"
		"                            the same seed and faults give the same delays\n"
		"  -c, --control ADDR:PORT   accept commands, one per line: fault SPEC, heal,\n"
		"                            heal NAME, status\n"
		"      --port-file FILE      write the bound port, then the control port, one\n"
		"                            per line, once listening\n"
		"  -h, --help                print this usage\n"
		"\n"
		"The seed, the schedule, each fault's start and stop are JSON lines on stderr.\n"
		"Runs until SIGTERM or SIGINT (exit 0).  Exit status: 2 for bad arguments;\n"
		"3 when it cannot listen or resolve the upstream.  See docs/chaos.md.\n",
	.run = run,
};
