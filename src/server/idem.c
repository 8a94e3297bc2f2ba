/*
 * idem.c — the idempotency index: open addressing with linear probing and
 * backward-shift deletion, plus a ring of keys in insertion order for
 * eviction.  Keys are SHA-256 outputs, so their first bytes are the hash.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include "idem.h"

#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t key[VS_IDEM_KEY_SIZE];
	uint64_t first;
	uint32_t count;
	uint32_t used;
};

struct vs_idem {
	struct slot *slots;
	size_t mask;               /* slots - 1; a power of two >= 2 * capacity */
	size_t capacity, n;
	uint8_t (*ring)[VS_IDEM_KEY_SIZE]; /* insertion order */
	size_t ring_head;          /* oldest */
	size_t ring_used;          /* positions written so far (up to capacity) */
};

static size_t home(const vs_idem *t, const uint8_t *key)
{
	uint64_t h;
	memcpy(&h, key, sizeof h);
	return (size_t)h & t->mask;
}

vs_idem *vs_idem_new(size_t capacity)
{
	if (capacity == 0)
		capacity = 1;
	size_t slots = 4;
	while (slots < 2 * capacity)
		slots *= 2;
	vs_idem *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->slots = calloc(slots, sizeof *t->slots);
	t->ring = calloc(capacity, sizeof *t->ring);
	if (!t->slots || !t->ring) {
		vs_idem_free(t);
		return NULL;
	}
	t->mask = slots - 1;
	t->capacity = capacity;
	return t;
}

void vs_idem_free(vs_idem *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->ring);
	free(t);
}

static struct slot *lookup(const vs_idem *t, const uint8_t *key)
{
	for (size_t i = home(t, key);; i = (i + 1) & t->mask) {
		struct slot *s = &t->slots[i];
		if (!s->used)
			return NULL;
		if (memcmp(s->key, key, VS_IDEM_KEY_SIZE) == 0)
			return s;
	}
}

int vs_idem_find(const vs_idem *t, const uint8_t key[VS_IDEM_KEY_SIZE], uint64_t *first,
                 uint32_t *count)
{
	struct slot *s = lookup(t, key);
	if (!s)
		return 0;
	*first = s->first;
	*count = s->count;
	return 1;
}

static void delete_slot(vs_idem *t, size_t i)
{
	/* Backward shift: pull later entries of the cluster into the hole
	 * when their home position allows it. */
	for (size_t j = (i + 1) & t->mask; t->slots[j].used; j = (j + 1) & t->mask) {
		size_t h = home(t, t->slots[j].key);
		int movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
		if (movable) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].used = 0;
	t->n--;
}

void vs_idem_remove(vs_idem *t, const uint8_t key[VS_IDEM_KEY_SIZE])
{
	struct slot *s = lookup(t, key);
	if (s)
		delete_slot(t, (size_t)(s - t->slots));
	/* Its ring position stays; eviction skips keys no longer present. */
}

int vs_idem_put(vs_idem *t, const uint8_t key[VS_IDEM_KEY_SIZE], uint64_t first, uint32_t count)
{
	struct slot *s = lookup(t, key);
	if (s) {
		s->first = first;
		s->count = count;
		return 0;
	}
	/* The ring slot we take holds the oldest key: forget it first. */
	size_t r = t->ring_head;
	struct slot *old = t->ring_used == t->capacity ? lookup(t, t->ring[r]) : NULL;
	if (old) /* (a key removed and put again may leave early: harmless) */
		delete_slot(t, (size_t)(old - t->slots));
	if (t->ring_used < t->capacity)
		t->ring_used++;
	memcpy(t->ring[r], key, VS_IDEM_KEY_SIZE);
	t->ring_head = (r + 1) % t->capacity;
	size_t i = home(t, key);
	while (t->slots[i].used)
		i = (i + 1) & t->mask;
	memcpy(t->slots[i].key, key, VS_IDEM_KEY_SIZE);
	t->slots[i].first = first;
	t->slots[i].count = count;
	t->slots[i].used = 1;
	t->n++;
	return 0;
}

size_t vs_idem_count(const vs_idem *t) { return t->n; }
