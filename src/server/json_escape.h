/*
 * json_escape.h — escaping for JSON string literals.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_JSON_ESCAPE_H
#define VS_JSON_ESCAPE_H

#include <stddef.h>

/* S (LEN bytes) escaped for a JSON string (", \, control characters) into
 * OUT (CAP bytes, NUL-terminated); returns the length.  Stops early rather
 * than split an escape when OUT is full. */
size_t vs_json_escape(const char *s, size_t len, char *out, size_t cap);

#endif
