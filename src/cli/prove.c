/*
 * prove.c — `vellum prove`: prints a c2sp.org/tlog-proof receipt for one
 * entry, or a consistency proof from an older tree size, both against the
 * latest signed checkpoint.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * The consistency proof is text (see docs/cli.md):
 *
 *   old <OLD>\n
 *   new <NEW>\n
 *   <base64 hash>\n        zero or more, RFC 9162 order
 *   \n
 *   <signed checkpoint note of size NEW>
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "note.h"
#include "util.h"

static int prove_inclusion(const char *cmd, const char *dir, vl_log *log, uint64_t index)
{
	vl_checkpoint cp;
	char *receipt = NULL;
	int rc;

	rc = vl_log_latest_checkpoint(log, &cp, NULL);
	if (rc < 0) {
		cli_error(cmd, rc, vl_log_message(log), "reading the latest checkpoint of %s failed",
		          dir);
		return cli_exit_code(rc);
	}
	if (index >= cp.size) {
		if (index < vl_log_size(log))
			cli_fail(cmd, "entry %llu of %s is not covered by the latest checkpoint "
			              "(size %llu) yet; run `vellum checkpoint %s` first",
			         (unsigned long long)index, dir, (unsigned long long)cp.size, dir);
		else
			cli_fail(cmd, "%s has no entry %llu (its latest checkpoint has size %llu)",
			         dir, (unsigned long long)index, (unsigned long long)cp.size);
		return CLI_EXIT_RUNTIME;
	}
	rc = vl_log_receipt(log, index, &receipt);
	if (rc < 0) {
		cli_error(cmd, rc, vl_log_message(log), "proving entry %llu of %s failed",
		          (unsigned long long)index, dir);
		return cli_exit_code(rc);
	}
	fputs(receipt, stdout);
	free(receipt);
	return CLI_EXIT_OK;
}

static int prove_consistency(const char *cmd, const char *dir, vl_log *log, uint64_t old_size)
{
	uint8_t proof[VL_PROOF_MAX][VL_HASH_SIZE];
	char b64[((VL_HASH_SIZE + 2) / 3) * 4 + 1];
	vl_checkpoint cp;
	char *note = NULL;
	size_t n_proof = 0, i;
	int rc;

	rc = vl_log_latest_checkpoint(log, &cp, &note);
	if (rc < 0) {
		cli_error(cmd, rc, vl_log_message(log), "reading the latest checkpoint of %s failed",
		          dir);
		return cli_exit_code(rc);
	}
	if (!note) {
		cli_error(cmd, VL_ENOCHECKPOINT, NULL, "%s has no signed checkpoint note", dir);
		return CLI_EXIT_RUNTIME;
	}
	if (old_size > cp.size) {
		cli_fail(cmd, "size %llu is larger than the latest checkpoint of %s (size %llu)",
		         (unsigned long long)old_size, dir, (unsigned long long)cp.size);
		free(note);
		return CLI_EXIT_RUNTIME;
	}
	/* Every tree extends the empty one: its proof is empty, and the library
	 * (like RFC 9162) only proves from a non-empty tree. */
	rc = old_size == 0 ? 0 : vl_log_prove_consistency(log, old_size, cp.size, proof, &n_proof);
	if (rc < 0) {
		cli_error(cmd, rc, vl_log_message(log),
		          "proving consistency of %s from size %llu to %llu failed", dir,
		          (unsigned long long)old_size, (unsigned long long)cp.size);
		free(note);
		return cli_exit_code(rc);
	}
	printf("old %llu\nnew %llu\n", (unsigned long long)old_size, (unsigned long long)cp.size);
	for (i = 0; i < n_proof; i++) {
		vl_base64_encode(proof[i], VL_HASH_SIZE, b64);
		printf("%s\n", b64);
	}
	printf("\n%s", note);
	free(note);
	return CLI_EXIT_OK;
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"consistency", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir, *old_arg = NULL;
	uint64_t number;
	vl_log *log = NULL;
	int c, code, close_code;

	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			old_arg = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (old_arg) {
		if (argc - optind != 1)
			return cli_usage_error(self, argc - optind < 1 ? "missing LOGDIR"
			                                              : "too many arguments");
		if (cli_parse_u64(old_arg, &number) < 0)
			return cli_usage_error(self, "--consistency needs a decimal tree size, not '%s'",
			                       old_arg);
	} else {
		if (argc - optind != 2)
			return cli_usage_error(self, argc - optind < 2 ? "missing LOGDIR or INDEX"
			                                              : "too many arguments");
		if (cli_parse_u64(argv[optind + 1], &number) < 0)
			return cli_usage_error(self, "INDEX must be a decimal entry index, not '%s'",
			                       argv[optind + 1]);
	}
	dir = argv[optind];

	code = cli_open_log(self->name, dir, NULL, &log);
	if (code != CLI_EXIT_OK)
		return code;
	if (old_arg)
		code = prove_consistency(self->name, dir, log, number);
	else
		code = prove_inclusion(self->name, dir, log, number);
	close_code = cli_close_log(self->name, dir, log);
	return code != CLI_EXIT_OK ? code : close_code;
}

const struct cli_command cli_prove = {
	.name = "prove",
	.synopsis = "  vellum prove LOGDIR INDEX           print a receipt (tlog-proof) for an entry\n"
	            "  vellum prove LOGDIR --consistency OLD\n"
	            "                                      print a consistency proof from size OLD\n",
	.help = "usage: vellum prove LOGDIR INDEX\n"
	        "       vellum prove LOGDIR --consistency OLD\n"
	        "\n"
	        "With INDEX, prints a c2sp.org/tlog-proof receipt for entry INDEX at the\n"
	        "latest checkpoint: anyone with the entry's bytes and the verifier key can\n"
	        "check it offline (vellum verify --receipt FILE --entry FILE).\n"
	        "\n"
	        "With --consistency OLD, prints a proof that the tree of size OLD is a\n"
	        "prefix of the tree of the latest checkpoint (size NEW):\n"
	        "  old OLD\n"
	        "  new NEW\n"
	        "  one base64 hash per line (RFC 9162 order; none if OLD is 0 or NEW)\n"
	        "  an empty line\n"
	        "  the signed checkpoint note of size NEW\n"
	        "\n"
	        "Options:\n"
	        "  -c, --consistency OLD   prove consistency from tree size OLD\n"
	        "  -h, --help              print this usage\n",
	.run = run,
};
