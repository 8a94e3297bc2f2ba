/*
 * readfile.c — messages and whole small files, for the configuration, token
 * and tile readers (see readfile.h).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "readfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vellum.h"

int vs_fail(char *err, size_t cap, int code, const char *fmt, ...)
{
	if (err != NULL && cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

int vs_read_fd(int fd, const char *path, size_t max, char **buf, size_t *len, char *err,
               size_t errcap)
{
	/* Sized by fstat when it can be, grown otherwise; one byte beyond
	 * the limit tells a full file from a larger one. */
	struct stat st;
	size_t cap = 4096;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0)
		cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	if (cap > max + 1)
		cap = max + 1;
	char *b = malloc(cap + 1);
	size_t n = 0;
	if (!b)
		return vs_fail(err, errcap, VL_ENOMEM, "%s: out of memory", path);
	for (;;) {
		if (n == cap) {
			size_t ncap = cap * 2 < max + 1 ? cap * 2 : max + 1;
			char *nb = ncap > cap ? realloc(b, ncap + 1) : NULL;
			if (!nb) {
				free(b);
				return n > max ? vs_fail(err, errcap, VL_ETOOBIG, "%s: larger than %zu bytes",
				                         path, max)
				               : vs_fail(err, errcap, VL_ENOMEM, "%s: out of memory", path);
			}
			b = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			return vs_fail(err, errcap, -e, "%s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(b);
			return vs_fail(err, errcap, VL_ETOOBIG, "%s: larger than %zu bytes", path, max);
		}
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}
