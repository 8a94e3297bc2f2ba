/*
 * export.c — `vellum export`: writes the static c2sp.org/tlog-tiles tree of
 * the latest checkpoint into a directory any web server can publish.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>

#include "util.h"

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir, *outdir;
	vl_checkpoint cp;
	vl_log *log = NULL;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(self);
		return cli_bad_option(self, c, argv);
	}
	if (argc - optind != 2)
		return cli_usage_error(self, argc - optind < 2 ? "missing LOGDIR or OUTDIR"
		                                              : "too many arguments");
	dir = argv[optind];
	outdir = argv[optind + 1];

	code = cli_open_log(self->name, dir, NULL, &log);
	if (code != CLI_EXIT_OK)
		return code;
	rc = vl_log_latest_checkpoint(log, &cp, NULL);
	if (rc == 0)
		rc = vl_log_export(log, outdir);
	if (rc < 0) {
		cli_error(self->name, rc, vl_log_message(log), "exporting %s to %s failed", dir,
		          outdir);
		vl_log_close(log);
		return cli_exit_code(rc);
	}
	code = cli_close_log(self->name, dir, log);
	if (code == CLI_EXIT_OK)
		printf("exported %s size %llu to %s\n", cp.origin, (unsigned long long)cp.size,
		       outdir);
	return code;
}

const struct cli_command cli_export = {
	.name = "export",
	.synopsis = "  vellum export LOGDIR OUTDIR         write the static C2SP tree for publishing\n",
	.help = "usage: vellum export LOGDIR OUTDIR\n"
	        "\n"
	        "Writes the static c2sp.org/tlog-tiles tree of the latest checkpoint into\n"
	        "OUTDIR (created if absent): checkpoint, tile/<L>/<N>[.p/<W>] and\n"
	        "tile/entries/<N>[.p/<W>].  Every tile is checked against the signed root\n"
	        "as it is copied.  Entries appended after the latest checkpoint are not\n"
	        "exported; run `vellum checkpoint` first to include them.  Any web server\n"
	        "or object store can publish OUTDIR as it is.\n"
	        "\n"
	        "Options:\n"
	        "  -h, --help   print this usage\n",
	.run = run,
};
