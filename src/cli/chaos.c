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

static const struct chaos_sub subs[] = {
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
	.synopsis = "  vellum chaos proxy --listen A:P --upstream H:P [--fault SPEC ...]\n"
		    "                                      a TCP proxy that injects faults\n",
	.help = "usage: vellum chaos proxy --listen ADDR:PORT --upstream HOST:PORT\n"
		"                          [--fault SPEC ...] [--seed N] [--control ADDR:PORT]\n"
		"                          [--port-file FILE]\n"
		"\n"
		"Subcommands:\n"
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
