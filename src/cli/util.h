/*
 * util.h — what the commands of the vellum CLI share: the command table,
 * exit codes, error reporting, argument and file helpers.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VL_CLI_UTIL_H
#define VL_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "vellum.h"

/* Exit codes, documented in docs/cli.md and `vellum --help`; scripts rely
 * on them, so they never change meaning. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,  /* verification failed or stored data is corrupt */
	CLI_EXIT_USAGE = 2,   /* bad arguments or unusable input */
	CLI_EXIT_RUNTIME = 3, /* I/O or other runtime error */
};

struct cli_command {
	const char *name;
	const char *synopsis; /* "vellum NAME ..." lines, for the overview */
	const char *help;     /* the full usage text of `vellum NAME --help` */
	int (*run)(const struct cli_command *self, int argc, char **argv);
};

extern const struct cli_command cli_keygen, cli_init, cli_append, cli_checkpoint,
	cli_get, cli_prove, cli_verify, cli_export, cli_serve, cli_token, cli_sources, cli_agent;

/* "vellum CMD: MESSAGE (vl_strerror(rc))", then ": DETAIL" when DETAIL
 * (vl_log_message(), vl_open_message()) is non-empty. */
void cli_error(const char *cmd, int rc, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "vellum CMD: MESSAGE" without an error code. */
void cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code for a failed library call: stored data that fails its
 * checks is CLI_EXIT_FAILED, anything else CLI_EXIT_RUNTIME. */
int cli_exit_code(int rc);
/* True for the codes of vellum's own error band (not -errno). */
int cli_is_vl_error(int rc);

/* Prints "vellum CMD: MESSAGE" and the command's usage on stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* `vellum CMD --help`: usage on stdout, CLI_EXIT_OK. */
int cli_help(const struct cli_command *cmd);
/* For a getopt_long result of '?' or ':' (optstring starting with ':'). */
int cli_bad_option(const struct cli_command *cmd, int c, char **argv);

/* Strict unsigned decimal: digits only, no sign, no leading zeros, no
 * overflow.  0 on success, -1 otherwise. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Reads all of PATH ("-" is stdin) into a malloc'ed buffer with a NUL
 * after the data.  More than CAP bytes is VL_ETOOBIG.  0 or a negative
 * code (-errno, VL_ENOMEM, VL_ETOOBIG). */
int cli_read_file(const char *path, size_t cap, char **data, size_t *len);

/* Takes a whole-process lock (flock) on the directory DIR, so that two
 * vellum processes never write one log at once, nor read a WAL tail that
 * another is still writing (open would take it for a torn write).  Returns
 * an exit code; the lock lasts until the process exits. */
int cli_lock_log_dir(const char *cmd, const char *dir, int exclusive);

/* Opens LOGDIR (key_file may be NULL) and warns on stderr when open had to
 * cut a torn WAL tail.  Returns an exit code; on failure it has printed
 * the error. */
int cli_open_log(const char *cmd, const char *dir, const char *key_file, vl_log **out);

/* Closes LOG; on a deferred error prints it and returns an exit code. */
int cli_close_log(const char *cmd, const char *dir, vl_log *log);

#endif
