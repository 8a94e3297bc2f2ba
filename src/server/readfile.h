/*
 * readfile.h — messages and whole small files, shared by the configuration,
 * token and tile readers of the server.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_READFILE_H
#define VS_READFILE_H

#include <stddef.h>

/* Format a message into err[cap] (err may be NULL when cap is 0) and
 * return CODE. */
int vs_fail(char *err, size_t cap, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Read everything from FD (opened on PATH, named in messages) into a
 * malloc'ed buffer with a NUL after the data.  More than MAX bytes is
 * VL_ETOOBIG ("PATH: larger than MAX bytes"); a read error is -errno, out
 * of memory VL_ENOMEM; each with a message in err[errcap].  FD stays open.
 */
int vs_read_fd(int fd, const char *path, size_t max, char **buf, size_t *len, char *err,
               size_t errcap);

#endif
