/*
 * client_internal.h — the parts of the load client and the checker that
 * the unit tests reach directly: the parser of the server's answer, and
 * the history's records, written (client.c) and read (check.c).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_CLIENT_INTERNAL_H
#define VC_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chaos.h"

#define VC_LEAF_SIZE 32
#define VC_LEAF_B64_LEN 44      /* base64 of 32 bytes, with its padding */
#define VC_HISTORY_LINE_MAX 256 /* any record, with its newline */

/*
 * Parses a 200 answer to POST /v1/logs/LOG/events:
 *
 *   {"log":"<name>","events":[{"index":I,"leaf_hash":"<base64>"
 *     [,"replayed":true]}, ...]}
 *
 * optionally followed by whitespace.  It must hold exactly N events;
 * index[i] and leaf[i] receive them.  0, or -1 (anything else).
 */
int vc_answer_parse(const char *body, size_t len, size_t n, uint64_t *index,
                    uint8_t (*leaf)[VC_LEAF_SIZE]);

/* One record of the history. */
enum vc_hkind { VC_H_SEND, VC_H_ACK, VC_H_FAIL, VC_H_INFO };

typedef struct vc_hrec {
	enum vc_hkind kind;
	uint64_t req;
	uint64_t t_ns;
	/* send */
	uint64_t first, count, attempt;
	/* ack */
	uint64_t event, index;
	uint8_t leaf[VC_LEAF_SIZE];
	/* fail */
	int status;
	/* fail: the error code; info: why (1..63 characters of [a-z0-9_]) */
	char word[64];
} vc_hrec;

/* Writes R as one line, newline included, into out (at least
 * VC_HISTORY_LINE_MAX bytes); returns its length, or 0 if R cannot be
 * written (a word of the wrong shape). */
size_t vc_history_format(const vc_hrec *r, char *out);

/* Parses one line (without its newline) strictly: 0 and *r filled, or -1
 * with a description of what is wrong in why (capacity whycap). */
int vc_history_parse_line(const char *line, size_t len, vc_hrec *r, char *why, size_t whycap);

#endif
