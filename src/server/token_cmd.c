/*
 * token_cmd.c — `vellum token`: make a bearer token for `vellum serve`,
 * add its hashed line to the token file and print the token once.
 *
 * The file keeps only the SHA-256 of each token, so a lost token cannot be
 * shown again: make a new one and delete the old line.  The new file is
 * checked (vs_tokens_parse) before it replaces the old one, so a name used
 * twice is refused and the file stays loadable.  `kill -HUP` the server to
 * load it.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "tokens.h"
#include "util.h"

/* Write TEXT to PATH through a temporary file and a rename, mode 0600. */
static int replace_file(const char *path, const char *text, size_t len)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			unlink(tmp);
			return -e;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = "./vellum-data/tokens";
	int c;
	while ((c = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'h': return cli_help(self);
		default: return cli_bad_option(self, c, argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(self, argc - optind < 2 ? "expected NAME and SCOPES"
		                                              : "too many arguments");
	const char *name = argv[optind], *scopes = argv[optind + 1];
	char token[VS_TOKEN_CAP], line[VS_TOKEN_LINE_FIXED + 4096], err[512];
	if (strlen(scopes) > 4000)
		return cli_usage_error(self, "the scope list is too long");
	if (vs_token_generate(name, scopes, token, sizeof token, line, sizeof line, err,
	                      sizeof err) != 0)
		return cli_usage_error(self, "%s", err);

	/* The current file (it may not exist yet), then the new line. */
	char *old = NULL;
	size_t old_len = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd >= 0) {
		struct stat st;
		int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
		                 ? vs_read_fd(fd, file, VS_TOKENS_FILE_MAX, &old, &old_len, err,
		                              sizeof err)
		                 : VL_EINVAL;
		close(fd);
		if (rc != 0) {
			cli_fail(self->name, "%s: cannot read it (%s)", file,
			         rc == VL_EINVAL ? "not a regular file" : err);
			return CLI_EXIT_RUNTIME;
		}
	} else if (errno != ENOENT) {
		cli_fail(self->name, "%s: %s", file, strerror(errno));
		return CLI_EXIT_RUNTIME;
	}
	size_t line_len = strlen(line), need_nl = old_len && old[old_len - 1] != '\n';
	char *text = malloc(old_len + need_nl + line_len + 1);
	if (!text) {
		free(old);
		cli_fail(self->name, "out of memory");
		return CLI_EXIT_RUNTIME;
	}
	if (old_len)
		memcpy(text, old, old_len);
	if (need_nl)
		text[old_len] = '\n';
	memcpy(text + old_len + need_nl, line, line_len + 1);
	size_t len = old_len + need_nl + line_len;
	free(old);
	vs_tokens *check = NULL;
	if (vs_tokens_parse(text, len, &check, err, sizeof err) != 0) {
		free(text);
		cli_fail(self->name, "%s: adding the token would make the file invalid: %s", file, err);
		return CLI_EXIT_USAGE;
	}
	vs_tokens_free(check);
	int rc = replace_file(file, text, len);
	free(text);
	if (rc != 0) {
		cli_fail(self->name, "cannot write %s: %s", file, strerror(-rc));
		return CLI_EXIT_RUNTIME;
	}
	printf("%s\n", token);
	fprintf(stderr, "vellum token: added '%s' (%s) to %s; it is shown only now. "
	                "Send SIGHUP to vellum serve to load it.\n",
	        name, scopes, file);
	explicit_bzero(token, sizeof token);
	return CLI_EXIT_OK;
}

const struct cli_command cli_token = {
	.name = "token",
	.synopsis = "  vellum token NAME SCOPES [--file TOKENFILE]\n"
	            "                                      make a bearer token for vellum serve\n",
	.help = "usage: vellum token NAME SCOPES [--file TOKENFILE]\n"
	        "\n"
	        "Makes a new bearer token for `vellum serve`, adds its SHA-256 to the token\n"
	        "file (created with mode 0600 if missing) and prints the token on stdout,\n"
	        "once: only its hash is kept.  SCOPES is a comma-separated list of\n"
	        "LOG:SCOPE, LOG a log name or '*', SCOPE one of append, read, admin\n"
	        "(admin implies the others), e.g. 'default:append' or '*:read,audit:admin'.\n"
	        "A NAME already in the file is refused.  Send SIGHUP to the server to load\n"
	        "the new file.\n"
	        "\n"
	        "Options:\n"
	        "  -f, --file TOKENFILE  the token file; default ./vellum-data/tokens\n"
	        "  -h, --help            print this usage\n",
	.run = run,
};
