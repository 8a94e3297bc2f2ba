/*
 * source_syslog.c — the syslog:ADDR:PORT source (being built).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "source.h"
#include "vellum.h"

int va_syslog_address_ok(const char *addr_port, char *err, size_t errcap)
{
	(void)addr_port;
	snprintf(err, errcap, "the syslog source is not available yet");
	return -1;
}

int va_syslog_source_open(const char *addr_port, va_source **out, char *err, size_t errcap)
{
	(void)addr_port;
	*out = NULL;
	snprintf(err, errcap, "the syslog source is not available yet");
	return VL_EINVAL;
}
