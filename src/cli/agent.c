/*
 * agent.c — `vellum agent`: follows files and stdin, spools every event
 * durably, and forwards the spool to a vellum server (src/agent,
 * docs/agent.md); `vellum agent status` reports on a spool directory.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util.h"

/* SIZE: bytes, or a number with K, M, G or T (powers of 1024; KiB, MiB,
 * GiB and TiB are the same).  0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char *const suffixes[] = {"K", "M", "G", "T"};
	size_t n = strspn(s, "0123456789");
	char digits[32];
	uint64_t v, mult = 1;
	if (n == 0 || n >= sizeof digits)
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (cli_parse_u64(digits, &v) < 0)
		return -1;
	const char *suf = s + n;
	if (*suf) {
		int found = 0;
		for (int i = 0; i < 4 && !found; i++) {
			size_t sl = strlen(suffixes[i]);
			if (strncmp(suf, suffixes[i], sl) == 0 &&
			    (suf[sl] == '\0' || strcmp(suf + sl, "iB") == 0)) {
				found = 1;
				for (int k = 0; k <= i; k++)
					mult *= 1024;
			}
		}
		if (!found)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int run_status(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"spool", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (!dir)
		return cli_usage_error(self, "status: missing --spool DIR");
	return va_agent_status(dir, json, stdout);
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	enum { OPT_BACKOFF_MAX = 256, OPT_TIMEOUT, OPT_SPOOL_MAX, OPT_ON_FULL, OPT_TOKEN_FILE,
	       OPT_SEGMENT };
	static const struct option opts[] = {
		{"server", required_argument, NULL, 'u'},
		{"log", required_argument, NULL, 'l'},
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"spool", required_argument, NULL, 's'},
		{"source", required_argument, NULL, 'S'},
		{"id", required_argument, NULL, 'i'},
		{"batch", required_argument, NULL, 'b'},
		{"spool-max-bytes", required_argument, NULL, OPT_SPOOL_MAX},
		{"on-full", required_argument, NULL, OPT_ON_FULL},
		{"spool-segment-events", required_argument, NULL, OPT_SEGMENT},
		{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	va_config cfg;
	const char **sources = NULL;
	size_t n_sources = 0;
	const char *why = NULL;
	uint64_t v;
	int c, code;

	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return run_status(self, argc - 1, argv + 1);
	va_config_defaults(&cfg);
	sources = calloc((size_t)argc, sizeof *sources);
	if (!sources)
		return CLI_EXIT_RUNTIME;
	while ((c = getopt_long(argc, argv, ":u:l:s:S:i:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			cfg.url = optarg;
			break;
		case 'l':
			cfg.log = optarg;
			break;
		case OPT_TOKEN_FILE:
			cfg.token_file = optarg;
			break;
		case 's':
			cfg.dir = optarg;
			break;
		case 'S':
			sources[n_sources++] = optarg;
			break;
		case 'i':
			cfg.id = optarg;
			break;
		case 'b':
			why = "--batch takes 1..100000 records";
			if (cli_parse_u64(optarg, &v) < 0 || v < 1 || v > 100000)
				goto bad_value;
			cfg.batch_records = (size_t)v;
			break;
		case OPT_SPOOL_MAX:
			why = "--spool-max-bytes takes a size like 1G, 512M or 65536";
			if (parse_size(optarg, &v) < 0 || v == 0)
				goto bad_value;
			cfg.spool_max_bytes = v;
			break;
		case OPT_SEGMENT:
			why = "--spool-segment-events takes 100..1000000000 events";
			if (cli_parse_u64(optarg, &v) < 0 || v < 100 || v > 1000000000)
				goto bad_value;
			cfg.spool_segment_events = v;
			break;
		case OPT_ON_FULL:
			why = "--on-full is block or drop";
			if (strcmp(optarg, "block") != 0 && strcmp(optarg, "drop") != 0)
				goto bad_value;
			cfg.on_full_drop = strcmp(optarg, "drop") == 0;
			break;
		case OPT_BACKOFF_MAX:
			why = "--backoff-max takes 1..3600000 milliseconds";
			if (cli_parse_u64(optarg, &v) < 0 || v < 1 || v > 3600000)
				goto bad_value;
			cfg.backoff_max_ms = v;
			if (cfg.backoff_base_ms > v)
				cfg.backoff_base_ms = v;
			break;
		case OPT_TIMEOUT:
			why = "--timeout takes 1..3600 seconds";
			if (cli_parse_u64(optarg, &v) < 0 || v < 1 || v > 3600)
				goto bad_value;
			cfg.timeout_s = (long)v;
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
	code = !cfg.url        ? cli_usage_error(self, "missing --server URL")
	     : !cfg.log        ? cli_usage_error(self, "missing --log NAME")
	     : !cfg.token_file ? cli_usage_error(self, "missing --token-file FILE")
	     : !cfg.dir        ? cli_usage_error(self, "missing --spool DIR")
	     : !n_sources      ? cli_usage_error(self, "missing --source SPEC")
	                       : CLI_EXIT_OK;
	if (code != CLI_EXIT_OK)
		goto done;
	cfg.sources = sources;
	cfg.n_sources = n_sources;
	code = va_agent_run(&cfg);
done:
	free(sources);
	return code;
bad_value:
	free(sources);
	return cli_usage_error(self, "%s, not '%s'", why, optarg);
}

const struct cli_command cli_agent = {
	.name = "agent",
	.synopsis = "  vellum agent --server URL ...       follow files or stdin; forward to a server\n"
	            "  vellum agent status --spool DIR     an agent's spool, progress and errors\n",
	.help = "usage: vellum agent --server URL --log NAME --token-file FILE --spool DIR\n"
	        "                    --source SPEC [--source SPEC ...] [--id NAME] [--batch N]\n"
	        "                    [--spool-max-bytes SIZE] [--on-full block|drop]\n"
	        "                    [--spool-segment-events N]\n"
	        "                    [--backoff-max MS] [--timeout SECONDS]\n"
	        "       vellum agent status --spool DIR [--json]\n"
	        "\n"
	        "Reads events (one per line) from its sources, appends each to a durable\n"
	        "spool (vellum logs in DIR) before moving on, and forwards the spool\n"
	        "in order to POST URL/v1/logs/NAME/forward, retrying until the server has\n"
	        "acknowledged it.  Nothing is lost or duplicated across crashes, restarts\n"
	        "and outages: see docs/agent.md.  Runs until SIGTERM or SIGINT, or, when\n"
	        "every source has ended (stdin at EOF), until everything is forwarded.\n"
	        "Log lines (JSON) go to stderr; DIR/status.json is rewritten every second.\n"
	        "\n"
	        "Sources:\n"
	        "  file:PATH    follow a file; rotation by rename and by truncation\n"
	        "               (copytruncate) is followed, the position survives restarts\n"
	        "  stdin        standard input, one event per line\n"
	        "  syslog:ADDR:PORT  a syslog listener (RFC 5424 and 3164) on UDP and TCP\n"
	        "               (RFC 6587 framing), one event per message\n"
	        "  journald     the local systemd journal, one JSON event per entry, from\n"
	        "               the cursor of the newest spooled entry (journald:DIR reads\n"
	        "               the journal files in DIR)\n"
	        "\n"
	        "Options:\n"
	        "  -u, --server URL          the server base, e.g. http://127.0.0.1:8080\n"
	        "  -l, --log NAME            the log to forward to\n"
	        "      --token-file FILE     a file holding the bearer token\n"
	        "  -s, --spool DIR           the agent's directory (created if absent)\n"
	        "  -S, --source SPEC         a source; may be given more than once\n"
	        "  -i, --id NAME             the agent's identity, [A-Za-z0-9._:-]{1,64}\n"
	        "                            (default: stored in DIR/agent-id, made on first\n"
	        "                            start from the hostname and 8 random hex digits)\n"
	        "  -b, --batch N             records per request, at most (default 5000;\n"
	        "                            a request also stays within 4 MiB)\n"
	        "      --spool-max-bytes SIZE  spooled but unforwarded bytes allowed (default\n"
	        "                            1G; K, M, G, T are powers of 1024)\n"
	        "      --on-full block|drop  at that limit: pause the sources (default), or\n"
	        "                            drop new events and spool a record of the loss\n"
	        "      --spool-segment-events N  the spool is kept in segments of N events\n"
	        "                            (default 1000000); a segment whose events were\n"
	        "                            all forwarded is deleted\n"
	        "      --backoff-max MS      the longest wait between retries (default 30000)\n"
	        "      --timeout SECONDS     the time limit of one request (default 30)\n"
	        "      --json                (status) print one JSON object\n"
	        "  -h, --help                print this usage\n"
	        "\n"
	        "Exit status: 0 after SIGTERM/SIGINT or when every source ended and all was\n"
	        "forwarded; 2 for bad arguments; 3 when the spool cannot be written.\n",
	.run = run,
};
