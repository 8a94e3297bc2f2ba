/*
 * keygen.c — `vellum keygen`: creates an Ed25519 signer key file (mode
 * 0600, never overwriting one) and prints its verifier key.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The new file's directory entry must be durable too, or a crash could
 * lose a key whose verifier key was already handed out. */
static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return VL_ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	else if (fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

static int write_key_file(const char *path, const char *skey)
{
	int fd, rc;

	/* O_EXCL: an existing key may sign a live log; losing it is not undoable. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* The umask may only narrow the mode; make it exactly owner-only. */
	rc = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, skey, strlen(skey));
	if (rc == 0)
		rc = write_all(fd, "\n", 1);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_parent(path);
	if (rc < 0)
		unlink(path);
	return rc;
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name, *path = NULL;
	char *default_path = NULL, *skey = NULL, *vkey = NULL;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_bad_option(self, c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(self, argc - optind < 1 ? "missing NAME"
		                                              : "too many arguments");
	name = argv[optind];

	rc = vl_key_generate(name, &skey, &vkey);
	if (rc == VL_EINVAL || rc == VL_EKEY)
		return cli_usage_error(self, "invalid key name '%s': 1..255 printable ASCII "
		                             "bytes without spaces or '+'", name);
	if (rc < 0) {
		cli_error(self->name, rc, NULL, "generating a key for %s failed", name);
		return cli_exit_code(rc);
	}
	if (!path) {
		/* Names like "example.com/log" are common; keep the default file in
		 * the current directory instead of a subdirectory that may not exist. */
		size_t n = strlen(name), i;
		default_path = malloc(n + sizeof(".key"));
		if (!default_path) {
			code = CLI_EXIT_RUNTIME;
			cli_error(self->name, VL_ENOMEM, NULL, "generating a key for %s failed", name);
			goto done;
		}
		for (i = 0; i < n; i++)
			default_path[i] = name[i] == '/' ? '_' : name[i];
		memcpy(default_path + n, ".key", sizeof(".key"));
		path = default_path;
	}

	rc = write_key_file(path, skey);
	if (rc == -EEXIST) {
		cli_fail(self->name, "%s already exists; refusing to overwrite a signer key", path);
		code = CLI_EXIT_RUNTIME;
		goto done;
	}
	if (rc < 0) {
		cli_error(self->name, rc, NULL, "writing the signer key to %s failed", path);
		code = cli_exit_code(rc);
		goto done;
	}
	printf("%s\n", vkey);
	code = CLI_EXIT_OK;
done:
	explicit_bzero(skey, strlen(skey));
	free(skey);
	free(vkey);
	free(default_path);
	return code;
}

const struct cli_command cli_keygen = {
	.name = "keygen",
	.synopsis = "  vellum keygen NAME [-o KEYFILE]     create a signer key; print its verifier key\n",
	.help = "usage: vellum keygen NAME [-o KEYFILE]\n"
	        "\n"
	        "Generates an Ed25519 signer key named NAME (the origin of the logs it\n"
	        "signs, e.g. example.com/audit) and writes it to KEYFILE with mode 0600.\n"
	        "KEYFILE defaults to NAME.key, with every '/' in NAME replaced by '_'.\n"
	        "An existing file is never overwritten.  Prints the verifier key, which\n"
	        "readers need to verify the log, on stdout.\n"
	        "\n"
	        "Options:\n"
	        "  -o, --output KEYFILE   where to write the signer key\n"
	        "  -h, --help             print this usage\n",
	.run = run,
};
