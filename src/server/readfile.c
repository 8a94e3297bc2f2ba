/*
 * readfile.c — read a small file whole, with a cap (see readfile.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vellum.h"

int vs_read_fd(int fd, const char *path, size_t max, char **buf, size_t *len, char *err,
               size_t errcap)
{
	/* One byte beyond the limit tells a full file from a larger one. */
	char *b = malloc(max + 2);
	size_t n = 0;
	if (!b) {
		snprintf(err, errcap, "%s: out of memory", path);
		return VL_ENOMEM;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			snprintf(err, errcap, "%s: %s", path, strerror(e));
			free(b);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errcap, "%s: larger than %zu bytes", path, max);
			free(b);
			return VL_ETOOBIG;
		}
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}
