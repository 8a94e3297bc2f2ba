/*
 * crc32c.h — CRC-32C (Castagnoli), the WAL's frame checksum: the SSE4.2
 * instruction where the CPU has it, a table otherwise.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VL_CRC32C_H
#define VL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc = vl_crc32c(0, data, len); continue with vl_crc32c(crc, more, n). */
uint32_t vl_crc32c(uint32_t crc, const void *data, size_t len);
/* The portable table version, exposed so tests can compare the two. */
uint32_t vl_crc32c_table(uint32_t crc, const void *data, size_t len);

#endif
