/*
 * append.c — `vellum append`: one entry per input line.  The whole input
 * is read and checked before anything is written, so a bad line appends
 * nothing; success is reported only once every entry is durable.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One vl_log_append call holds at most this many entries and bytes, so
 * a WAL frame stays well under its payload limit and memory per commit
 * stays bounded whatever the input. */
#define BATCH_ENTRIES 4096
#define BATCH_BYTES (8u << 20)

struct input {
	const char *name; /* as given, "-" for stdin */
	char *data;
	size_t len;
};

struct entries {
	vl_entry *v;
	size_t n, cap;
};

static int push_entry(struct entries *e, const char *data, size_t len)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1024;
		vl_entry *grown = reallocarray(e->v, cap, sizeof(*e->v));
		if (!grown)
			return VL_ENOMEM;
		e->v = grown;
		e->cap = cap;
	}
	e->v[e->n].data = data;
	e->v[e->n].len = len;
	e->n++;
	return 0;
}

/* Splits IN into entries: every line without its final '\n' (a last line
 * without '\n' counts too), all other bytes exact.  Returns 0, a negative
 * code, or CLI_EXIT_USAGE after naming the bad line. */
static int split_lines(const char *cmd, const struct input *in, struct entries *out)
{
	const char *name = strcmp(in->name, "-") == 0 ? "<stdin>" : in->name;
	const char *p = in->data, *end = in->data + in->len;
	unsigned long long line = 0;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (len == 0) {
			cli_fail(cmd, "%s:%llu: empty line; every entry must be 1..%d bytes "
			              "(nothing was appended)", name, line, VL_ENTRY_MAX);
			return CLI_EXIT_USAGE;
		}
		if (len > VL_ENTRY_MAX) {
			cli_fail(cmd, "%s:%llu: line of %zu bytes; every entry must be 1..%d bytes "
			              "(nothing was appended)", name, line, len, VL_ENTRY_MAX);
			return CLI_EXIT_USAGE;
		}
		rc = push_entry(out, p, len);
		if (rc < 0)
			return rc;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int append_all(const char *cmd, const char *dir, vl_log *log, const struct entries *e,
                      uint64_t *first_out)
{
	size_t done = 0;
	uint64_t first = 0;

	while (done < e->n) {
		size_t n = 0, bytes = 0;
		uint64_t index;
		int rc;

		while (done + n < e->n && n < BATCH_ENTRIES &&
		       (n == 0 || bytes + e->v[done + n].len <= BATCH_BYTES))
			bytes += e->v[done + n++].len;
		rc = vl_log_append(log, e->v + done, n, &index);
		if (rc < 0) {
			cli_error(cmd, rc, vl_log_message(log), "appending to %s failed", dir);
			if (done > 0)
				fprintf(stderr, "vellum %s: %zu of %zu entries (%llu..%llu) were "
				                "appended before the failure; the rest were not\n",
				        cmd, done, e->n, (unsigned long long)first,
				        (unsigned long long)(first + done - 1));
			return rc == VL_EENTRY_SIZE ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		}
		if (done == 0)
			first = index;
		done += n;
	}
	*first_out = first;
	return CLI_EXIT_OK;
}

static int run(const struct cli_command *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static char *stdin_only[] = {"-"};
	struct input *inputs = NULL;
	struct entries entries = {0};
	char **files;
	size_t n_files, i;
	const char *dir;
	vl_log *log = NULL;
	uint64_t first = 0;
	int c, rc, code;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(self);
		return cli_bad_option(self, c, argv);
	}
	if (optind >= argc)
		return cli_usage_error(self, "missing LOGDIR");
	dir = argv[optind];
	files = argv + optind + 1;
	n_files = (size_t)(argc - optind - 1);
	if (n_files == 0) {
		files = stdin_only;
		n_files = 1;
	}

	inputs = calloc(n_files, sizeof(*inputs));
	if (!inputs) {
		cli_error(self->name, VL_ENOMEM, NULL, "reading input failed");
		return CLI_EXIT_RUNTIME;
	}
	for (i = 0; i < n_files; i++) {
		inputs[i].name = files[i];
		rc = cli_read_file(files[i], SIZE_MAX - 1, &inputs[i].data, &inputs[i].len);
		if (rc < 0) {
			cli_error(self->name, rc, NULL, "cannot read %s (nothing was appended)",
			          strcmp(files[i], "-") == 0 ? "<stdin>" : files[i]);
			code = CLI_EXIT_RUNTIME;
			goto done;
		}
		rc = split_lines(self->name, &inputs[i], &entries);
		if (rc != 0) {
			if (rc < 0)
				cli_error(self->name, rc, NULL, "reading input failed");
			code = rc < 0 ? CLI_EXIT_RUNTIME : rc;
			goto done;
		}
	}

	code = cli_open_log(self->name, dir, NULL, &log);
	if (code != CLI_EXIT_OK)
		goto done;
	code = append_all(self->name, dir, log, &entries, &first);
	rc = cli_close_log(self->name, dir, log);
	if (code == CLI_EXIT_OK)
		code = rc;
	/* Reported only now: a script that sees this line may rely on every
	 * entry being on stable storage. */
	if (code == CLI_EXIT_OK) {
		if (entries.n == 0)
			printf("appended 0 entries\n");
		else
			printf("appended %zu entries: %llu..%llu\n", entries.n,
			       (unsigned long long)first,
			       (unsigned long long)(first + entries.n - 1));
	}
done:
	for (i = 0; i < n_files; i++)
		free(inputs[i].data);
	free(inputs);
	free(entries.v);
	return code;
}

const struct cli_command cli_append = {
	.name = "append",
	.synopsis = "  vellum append LOGDIR [FILE...]      append one entry per input line\n",
	.help = "usage: vellum append LOGDIR [FILE...]\n"
	        "\n"
	        "Appends one entry per line of the FILEs, in order (standard input if no\n"
	        "FILE is given; '-' also means standard input).  An entry is the line's\n"
	        "exact bytes without its final newline; a last line without a newline is\n"
	        "an entry too.  Empty lines and lines over 65535 bytes are refused, naming\n"
	        "FILE:LINE, and then nothing is appended.  On success, once every entry is\n"
	        "on stable storage, prints\n"
	        "  appended N entries: FIRST..LAST\n"
	        "(\"appended 0 entries\" for empty input).  The entries are covered by a\n"
	        "signed checkpoint after the next `vellum checkpoint`.\n"
	        "\n"
	        "Options:\n"
	        "  -h, --help   print this usage\n",
	.run = run,
};
