/*
 * idem.h — the idempotency index: which entries an idempotency key (a
 * SHA-256 of the client's key, or of a CloudEvent's source and id, or of a
 * Kubernetes audit event's auditID and stage) already produced.
 *
 * Bounded: it remembers the newest `capacity` keys and forgets the oldest
 * first.  The log itself is the durable copy (each key is in its first
 * entry's envelope), so a restarted server rebuilds the index by scanning
 * the newest entries.  Not thread-safe: the caller serialises.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VS_IDEM_H
#define VS_IDEM_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

typedef struct vs_idem vs_idem;

/* A key's state: committed entries, or a request still in flight. */
#define VS_IDEM_PENDING UINT64_MAX

vs_idem *vs_idem_new(size_t capacity);
void vs_idem_free(vs_idem *t);
/* 1 and *first, *count if KEY is known (first may be VS_IDEM_PENDING), else 0. */
int vs_idem_find(const vs_idem *t, const uint8_t key[VS_IDEM_KEY_SIZE], uint64_t *first,
                 uint32_t *count);
/* Insert or update KEY; evicts the oldest key when full.  0 or -1 (ENOMEM). */
int vs_idem_put(vs_idem *t, const uint8_t key[VS_IDEM_KEY_SIZE], uint64_t first, uint32_t count);
/* Forget KEY (a pending request that failed). */
void vs_idem_remove(vs_idem *t, const uint8_t key[VS_IDEM_KEY_SIZE]);
size_t vs_idem_count(const vs_idem *t);

#endif
