/*
 * errors.c — vl_strerror: one name for every return code, vellum's own
 * band and errno alike.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "vellum.h"

const char *vl_strerror(int err)
{
	switch (err) {
	case VL_OK: return "success";
	case VL_EINVAL: return "invalid argument";
	case VL_EENTRY_SIZE: return "entry size out of range (1 to 65535 bytes)";
	case VL_ECORRUPT: return "stored data is corrupt";
	case VL_EPOISONED: return "an earlier I/O failure made this log handle unusable; reopen the log";
	case VL_ENOTFOUND: return "not found";
	case VL_EEXIST: return "already exists";
	case VL_ESIGNATURE: return "signature does not verify";
	case VL_EKEY: return "bad or unsafe key";
	case VL_EFORMAT: return "malformed input";
	case VL_EPROOF: return "proof does not verify";
	case VL_EINCONSISTENT: return "tree is not consistent with an earlier one (rollback or fork)";
	case VL_ENOMEM: return "out of memory";
	case VL_ETOOBIG: return "input too large";
	case VL_ENOCHECKPOINT: return "no signed checkpoint";
	case VL_ECLOSED: return "log is closing";
	case VL_ELOCKED: return "the log is open in another process";
	default: break;
	}
	if (err < 0 && err > -4096)
		return strerror(-err); /* glibc's strerror returns static strings */
	return "unknown error";
}
