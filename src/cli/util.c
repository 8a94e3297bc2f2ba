/*
 * util.c — helpers shared by the commands of the vellum CLI: error
 * reporting and exit codes, option errors, strict number parsing, reading
 * whole files, and opening a log with its recovery warning.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void cli_error(const char *cmd, int rc, const char *detail, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vellum %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)", vl_strerror(rc));
	if (detail && *detail)
		fprintf(stderr, ": %s", detail);
	fputc('\n', stderr);
}

void cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vellum %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_is_vl_error(int rc)
{
	return rc >= VL_EINVAL && rc < VL_ERROR_END;
}

int cli_exit_code(int rc)
{
	switch (rc) {
	case VL_OK:
		return CLI_EXIT_OK;
	case VL_ECORRUPT:
	case VL_ESIGNATURE:
	case VL_EPROOF:
	case VL_EINCONSISTENT:
		return CLI_EXIT_FAILED;
	default:
		return CLI_EXIT_RUNTIME;
	}
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vellum %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* Just the synopsis: the whole help would bury the one-line reason. */
	const char *end = strstr(cmd->help, "\n\n");
	int len = end ? (int)(end - cmd->help) + 1 : (int)strlen(cmd->help);
	fprintf(stderr, "\n%.*s(`vellum %s --help` for more)\n", len, cmd->help, cmd->name);
	return CLI_EXIT_USAGE;
}

int cli_help(const struct cli_command *cmd)
{
	fputs(cmd->help, stdout);
	return CLI_EXIT_OK;
}

int cli_bad_option(const struct cli_command *cmd, int c, char **argv)
{
	/* getopt has already stepped past the offending word. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs an argument", word);
	if (optopt && word[0] == '-' && word[1] != '-')
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);
	return cli_usage_error(cmd, "unknown option '%s'", word);
}

int cli_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int cli_read_file(const char *path, size_t cap, char **data, size_t *len)
{
	int fd = STDIN_FILENO;
	char *buf = NULL;
	size_t used = 0, size = 0;
	int rc = 0;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	for (;;) {
		if (size - used < 2) {
			size_t want = size ? size * 2 : 65536;
			char *grown;
			if (want < size) {
				rc = VL_ENOMEM;
				goto done;
			}
			grown = realloc(buf, want);
			if (!grown) {
				rc = VL_ENOMEM;
				goto done;
			}
			buf = grown;
			size = want;
		}
		/* Leave room for the terminating NUL. */
		ssize_t n = read(fd, buf + used, size - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto done;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > cap) {
			rc = VL_ETOOBIG;
			goto done;
		}
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	buf = NULL;
done:
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int cli_lock_log_dir(const char *cmd, const char *dir, int exclusive)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* A missing or unreadable directory is reported by whoever opens it
	 * next, with the library's own words. */
	if (fd < 0)
		return CLI_EXIT_OK;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		cli_error(cmd, -errno, NULL, "cannot lock %s", dir);
		close(fd);
		return CLI_EXIT_RUNTIME;
	}
	/* Held until the process exits, which also releases it after kill -9. */
	return CLI_EXIT_OK;
}

int cli_open_log(const char *cmd, const char *dir, const char *key_file, vl_log **out)
{
	vl_log_options opt = {0};
	vl_recovery rec;
	vl_log *log = NULL;
	int rc;

	rc = cli_lock_log_dir(cmd, dir, 1);
	if (rc != CLI_EXIT_OK)
		return rc;
	opt.key_file = key_file;
	rc = vl_log_open(dir, &opt, &log);
	if (rc < 0) {
		cli_error(cmd, rc, vl_open_message(), "cannot open log %s", dir);
		return cli_exit_code(rc);
	}
	vl_log_recovery(log, &rec);
	if (rec.dropped_frames > 0)
		fprintf(stderr,
		        "vellum: recovered %s: dropped %llu bytes of unacknowledged torn write at the WAL tail\n",
		        dir, (unsigned long long)rec.dropped_bytes);
	*out = log;
	return CLI_EXIT_OK;
}

int cli_close_log(const char *cmd, const char *dir, vl_log *log)
{
	int rc = vl_log_close(log);

	if (rc < 0) {
		cli_error(cmd, rc, NULL, "closing log %s failed", dir);
		return cli_exit_code(rc);
	}
	return CLI_EXIT_OK;
}
