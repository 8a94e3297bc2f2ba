/*
 * init.c — `vellum init`: creates an empty log signed by a key file and
 * prints the verifier key readers must use.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir, *key_file = NULL;
	vl_signer *signer = NULL;
	vl_log_options opt = {0};
	vl_log *log = NULL;
	struct stat st;
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
	if (!key_file)
		return cli_usage_error(self, "missing --key KEYFILE");
	dir = argv[optind];

	rc = vl_signer_load(key_file, &signer);
	if (rc == VL_EKEY && stat(key_file, &st) == 0 && (st.st_mode & 077)) {
		cli_error(self->name, rc, NULL,
		          "refusing key file %s: mode %04o lets group or others read or "
		          "write it; run chmod 600 %s",
		          key_file, (unsigned)(st.st_mode & 07777), key_file);
		return CLI_EXIT_RUNTIME;
	}
	if (rc < 0) {
		cli_error(self->name, rc, NULL, "cannot load signer key %s", key_file);
		return CLI_EXIT_RUNTIME;
	}

	opt.key_file = key_file;
	rc = vl_log_create(dir, signer, &opt, &log);
	if (rc == VL_EEXIST) {
		cli_error(self->name, rc, NULL, "%s is not empty; a log is created only in an "
		                                "empty or absent directory", dir);
		code = CLI_EXIT_RUNTIME;
		goto done;
	}
	if (rc < 0) {
		cli_error(self->name, rc, vl_open_message(), "creating log %s failed", dir);
		code = cli_exit_code(rc);
		goto done;
	}
	printf("%s\n", vl_log_vkey(log));
	code = cli_close_log(self->name, dir, log);
done:
	vl_signer_free(signer);
	return code;
}

const struct cli_command cli_init = {
	.name = "init",
	.synopsis = "  vellum init LOGDIR --key KEYFILE    create a log; print its verifier key\n",
	.help = "usage: vellum init LOGDIR --key KEYFILE\n"
	        "\n"
	        "Creates an empty log in LOGDIR (created if absent; it must be empty),\n"
	        "signed by the signer key in KEYFILE, whose name becomes the log's origin.\n"
	        "KEYFILE must not be readable or writable by group or others.  Its path is\n"
	        "recorded in LOGDIR/log.conf for later checkpoints.  Prints the verifier\n"
	        "key on stdout.\n"
	        "\n"
	        "Options:\n"
	        "  -k, --key KEYFILE   the signer key file (from vellum keygen)\n"
	        "  -h, --help          print this usage\n",
	.run = run,
};
