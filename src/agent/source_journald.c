/*
 * source_journald.c — the journald source (being built).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "source.h"
#include "vellum.h"

int va_journald_source_open(const char *dir, const va_position *resume, va_source **out,
                            char *err, size_t errcap)
{
	(void)dir;
	(void)resume;
	*out = NULL;
	snprintf(err, errcap, "the journald source is not available yet");
	return VL_EINVAL;
}
