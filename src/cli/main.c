/*
 * main.c — the vellum command line: dispatches to one command per file,
 * prints the overview help and the version, and turns a failed write of
 * stdout into an error instead of a silent exit 0.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

extern const struct cli_command cli_chaos;

static const struct cli_command *const commands[] = {
	&cli_keygen, &cli_init, &cli_append, &cli_checkpoint,
	&cli_get, &cli_prove, &cli_verify, &cli_export, &cli_serve, &cli_token, &cli_sources,
	&cli_agent, &cli_chaos,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_overview(FILE *f)
{
	size_t i;

	fputs("usage: vellum COMMAND [ARGS...]\n"
	      "\n"
	      "vellum keeps a tamper-evident, append-only audit log: a directory whose\n"
	      "entries form an RFC 6962 Merkle tree under signed c2sp.org checkpoints.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < N_COMMANDS; i++)
		fputs(commands[i]->synopsis, f);
	fputs("  vellum version                      print the version\n"
	      "  vellum help [COMMAND]               print this help, or a command's usage\n"
	      "\n"
	      "`vellum COMMAND --help` prints the usage of one command.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  success\n"
	      "  1  verification failed, or stored data is corrupt\n"
	      "  2  usage error: bad arguments, or input that cannot be appended\n"
	      "  3  I/O or other runtime error (a failed append prints no \"appended\")\n",
	      f);
}

static const struct cli_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int run(int argc, char **argv)
{
	const struct cli_command *cmd;
	const char *name;

	if (argc < 2) {
		print_overview(stderr);
		return CLI_EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		if (argc == 2) {
			print_overview(stdout);
			return CLI_EXIT_OK;
		}
		cmd = find_command(argv[2]);
		if (!cmd || argc > 3) {
			fprintf(stderr, "vellum help: unknown command '%s'\n", argv[2]);
			print_overview(stderr);
			return CLI_EXIT_USAGE;
		}
		return cli_help(cmd);
	}
	if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
		if (argc > 2) {
			fprintf(stderr, "vellum version: unexpected argument '%s'\n", argv[2]);
			return CLI_EXIT_USAGE;
		}
		printf("vellum %s\n", VL_VERSION_STRING);
		return CLI_EXIT_OK;
	}
	cmd = find_command(name);
	if (!cmd) {
		fprintf(stderr, "vellum: unknown command '%s'\n", name);
		print_overview(stderr);
		return CLI_EXIT_USAGE;
	}
	/* Options are reported by the commands, with their usage. */
	opterr = 0;
	optind = 1;
	return cmd->run(cmd, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	int code = run(argc, argv);

	/* A full disk or closed pipe on stdout must not look like success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("vellum: writing standard output failed");
		if (code == CLI_EXIT_OK)
			code = CLI_EXIT_RUNTIME;
	}
	return code;
}
