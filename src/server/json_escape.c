/*
 * json_escape.c — a string escaped for a JSON string literal, shared by the
 * server (errors, log lines) and the agent (log lines, status).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "json_escape.h"

#include <string.h>

size_t vs_json_escape(const char *s, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc = c == '"' ? '"' : c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r'
		         : c == '\t' ? 't' : 0;
		size_t need = esc ? 2 : c < 0x20 || c == 0x7f ? 6 : 1;
		if (o + need >= cap)
			break;
		if (esc) {
			out[o++] = '\\';
			out[o++] = esc;
		} else if (need == 6) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
	return o;
}
