/*
 * get.c — `vellum get`: writes the exact bytes of one durable entry to
 * stdout, checkpointed or not.
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
	static unsigned char buf[VL_ENTRY_MAX];
	const char *dir;
	uint64_t index, size;
	vl_log *log = NULL;
	size_t len = 0;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(self);
		return cli_bad_option(self, c, argv);
	}
	if (argc - optind != 2)
		return cli_usage_error(self, argc - optind < 2 ? "missing LOGDIR or INDEX"
		                                              : "too many arguments");
	dir = argv[optind];
	if (cli_parse_u64(argv[optind + 1], &index) < 0)
		return cli_usage_error(self, "INDEX must be a decimal entry index, not '%s'",
		                       argv[optind + 1]);

	code = cli_open_log(self->name, dir, NULL, &log);
	if (code != CLI_EXIT_OK)
		return code;
	size = vl_log_size(log);
	if (index >= size) {
		if (size == 0)
			cli_fail(self->name, "%s has no entry %llu: it is empty", dir,
			         (unsigned long long)index);
		else
			cli_fail(self->name, "%s has no entry %llu: it holds entries 0..%llu", dir,
			         (unsigned long long)index, (unsigned long long)(size - 1));
		vl_log_close(log);
		return CLI_EXIT_RUNTIME;
	}
	rc = vl_log_get(log, index, buf, sizeof(buf), &len);
	if (rc < 0) {
		cli_error(self->name, rc, vl_log_message(log), "reading entry %llu of %s failed",
		          (unsigned long long)index, dir);
		vl_log_close(log);
		return cli_exit_code(rc);
	}
	code = cli_close_log(self->name, dir, log);
	if (code == CLI_EXIT_OK)
		fwrite(buf, 1, len, stdout);
	return code;
}

const struct cli_command cli_get = {
	.name = "get",
	.synopsis = "  vellum get LOGDIR INDEX             write entry INDEX to stdout, byte for byte\n",
	.help = "usage: vellum get LOGDIR INDEX\n"
	        "\n"
	        "Writes the exact bytes of entry INDEX (counted from 0) to stdout, with\n"
	        "no newline added.  Any durable entry can be read, whether or not a\n"
	        "checkpoint covers it yet; its hash is checked against the tree first.\n"
	        "\n"
	        "Options:\n"
	        "  -h, --help   print this usage\n",
	.run = run,
};
