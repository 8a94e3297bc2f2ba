/*
 * checkpoint.c — `vellum checkpoint`: integrates the appended entries into
 * the tree, writes the tiles and prints the new signed checkpoint note.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir, *key_file = NULL;
	vl_log *log = NULL;
	char *note = NULL;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, ":k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_file = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(self, argc - optind < 1 ? "missing LOGDIR"
		                                              : "too many arguments");
	dir = argv[optind];

	code = cli_open_log(self->name, dir, key_file, &log);
	if (code != CLI_EXIT_OK)
		return code;
	rc = vl_log_checkpoint(log, &note);
	if (rc < 0) {
		cli_error(self->name, rc, vl_log_message(log), "signing a checkpoint of %s failed",
		          dir);
		code = cli_exit_code(rc);
		vl_log_close(log);
		return code;
	}
	code = cli_close_log(self->name, dir, log);
	if (code == CLI_EXIT_OK)
		fputs(note, stdout);
	free(note);
	return code;
}

const struct cli_command cli_checkpoint = {
	.name = "checkpoint",
	.synopsis = "  vellum checkpoint LOGDIR [--key KEYFILE]\n"
	            "                                      sign a checkpoint over all appended entries\n",
	.help = "usage: vellum checkpoint LOGDIR [--key KEYFILE]\n"
	        "\n"
	        "Integrates every entry appended since the last checkpoint into the Merkle\n"
	        "tree, writes the tiles, signs a new c2sp.org/tlog-checkpoint and prints\n"
	        "the signed note on stdout.  The new tree is proven consistent with the\n"
	        "previous checkpoint first.  With nothing new, the latest checkpoint is\n"
	        "printed again.\n"
	        "\n"
	        "Options:\n"
	        "  -k, --key KEYFILE   sign with this key file instead of the one recorded\n"
	        "                      in LOGDIR/log.conf (it must be the log's key)\n"
	        "  -h, --help          print this usage\n",
	.run = run,
};
