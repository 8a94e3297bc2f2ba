/*
 * io_sim.h — the deterministic storage-fault simulator: an in-memory
 * vl_io with a durable image and a page cache per file, injected I/O
 * errors, and simulated power loss.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * Everything a simulator does — which call fails, how a crash tears a
 * write, the bytes vl_io.random returns, the clock — follows from the one
 * seed given to vl_sim_new(), so any failure replays exactly from its seed.
 * The fault model is documented at the top of io_sim.c.
 *
 * Typical use:
 *
 *	vl_sim *sim = vl_sim_new(seed);
 *	vl_sim_mkdir_p(sim, "/sim");
 *	vl_log_options opt = { .io = vl_sim_io(sim) };
 *	... vl_log_create("/sim/log", signer, &opt, &log) ...
 *	vl_sim_crash_at(sim, 40);      the 40th I/O call from now loses power
 *	... appends fail with EIO ...
 *	vl_sim_crash(sim);             resolve pending writes; power back on
 *	... vl_log_open("/sim/log", &opt, &log) and check ...
 *	vl_sim_free(sim);
 *
 * All functions are thread-safe (one mutex per simulator); list_dir calls
 * its callback without holding it, so the callback may call back into the
 * simulator.
 */
#ifndef VL_IO_SIM_H
#define VL_IO_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vellum_io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vl_sim vl_sim;

/* The kinds of vl_io call, for counters and for "fail the Nth call". */
typedef enum vl_sim_op {
	VL_SIM_OPEN,
	VL_SIM_CLOSE,
	VL_SIM_PREAD,
	VL_SIM_PWRITE,
	VL_SIM_FSYNC,
	VL_SIM_FDATASYNC,
	VL_SIM_FTRUNCATE,
	VL_SIM_FILE_SIZE,
	VL_SIM_RENAME,
	VL_SIM_UNLINK,
	VL_SIM_MKDIR,
	VL_SIM_FSYNC_DIR,
	VL_SIM_SYNC_ALL,
	VL_SIM_LIST_DIR,
	VL_SIM_STAT,
	VL_SIM_NOW_NS,
	VL_SIM_RANDOM,
	VL_SIM_NOPS
} vl_sim_op;

/* Name of an op kind ("pwrite"), or "?" if out of range. */
const char *vl_sim_op_name(vl_sim_op op);

/* Pseudo-errors for vl_sim_faults.err: a short write (pwrite only) and a
 * transiently flipped bit in the data returned (pread only). */
#define VL_SIM_ERR_SHORT (-1)
#define VL_SIM_ERR_FLIP (-2)

/*
 * A fault plan.  Zero-initialise and set what you want.  Probabilities are
 * in [0, 1] and drawn independently per call.  vl_sim_crash() resets the
 * plan to "no faults".
 */
typedef struct vl_sim_faults {
	double write_eio;      /* pwrite: -EIO, nothing written */
	double write_enospc;   /* pwrite: -ENOSPC, nothing written */
	double write_short;    /* pwrite: writes and returns 1..len-1 bytes */
	double sync_eio;       /* fsync, fdatasync: -EIO, pending writes lost */
	double read_eio;       /* pread: -EIO */
	double read_flip;      /* pread: one bit of the result flipped */
	double rename_eio;     /* rename: -EIO, nothing renamed */
	double fsync_dir_eio;  /* fsync_dir: -EIO, nothing made durable */
	double open_eio;       /* open: -EIO, nothing created */

	/*
	 * Exact fault: call number nth (1-based, counted from
	 * vl_sim_set_faults) of kind op fails with -err (err 0 means EIO;
	 * VL_SIM_ERR_SHORT / VL_SIM_ERR_FLIP as above).  With persist, every
	 * later call of that kind fails the same way.  nth == 0: off.
	 * This is what I/O-error loops iterate: nth = 1, 2, ... until the
	 * operation under test succeeds without reaching the fault.
	 */
	vl_sim_op op;
	uint64_t nth;
	int err;
	int persist;

	/*
	 * How vl_sim_crash() resolves each pending write: relative weights
	 * of kept / dropped / torn / garbled.  All zero: 40 / 25 / 25 / 10.
	 */
	unsigned crash_keep, crash_drop, crash_torn, crash_garble;
	/* Which pending directory operations vl_sim_crash() keeps. */
	enum {
		VL_SIM_DIROPS_PREFIX = 0, /* a random prefix, in order */
		VL_SIM_DIROPS_ALL,
		VL_SIM_DIROPS_NONE,
	} crash_dirops;
} vl_sim_faults;

/* A new simulator with an empty file system holding only "/". NULL if out
 * of memory. */
vl_sim *vl_sim_new(uint64_t seed);
void vl_sim_free(vl_sim *sim);
uint64_t vl_sim_seed(const vl_sim *sim);

/* The I/O table; valid until vl_sim_free.  Its ctx is the simulator. */
const vl_io *vl_sim_io(vl_sim *sim);

/* Replace the fault plan (NULL: no faults) and restart its Nth counter. */
void vl_sim_set_faults(vl_sim *sim, const vl_sim_faults *faults);

/*
 * Lose power during the Nth I/O call from now (n >= 1; 0 cancels): that
 * call and every later one fail with -EIO until vl_sim_crash().  now_ns
 * and random are not I/O calls and keep working.  A pwrite or rename that
 * is cut off this way may still partly reach the disk: it is left pending
 * for vl_sim_crash() to resolve like any other.  close still releases the
 * descriptor.
 */
void vl_sim_crash_at(vl_sim *sim, uint64_t n_ops_from_now);
/* Non-zero once a vl_sim_crash_at point has been reached. */
int vl_sim_powered_off(const vl_sim *sim);

/*
 * Power loss and reboot: every pending write and truncation is resolved
 * from the seed (kept, dropped, torn at 512-byte or 4 KiB sector
 * granularity, or garbled), a random prefix of the pending directory
 * operations is kept, files no longer reachable are freed, the durable
 * image becomes the only state, every descriptor becomes invalid (-EBADF,
 * numbers are never reused), and the fault plan is cleared.
 */
void vl_sim_crash(vl_sim *sim);

/* Calls of kind op so far (all of them, failed or not). */
uint64_t vl_sim_count(const vl_sim *sim, vl_sim_op op);
/* Calls of kind op that returned an error the simulator caused (an
 * injected fault or lost power); errors from misuse (ENOENT, EBADF...)
 * are not counted. */
uint64_t vl_sim_failures(const vl_sim *sim, vl_sim_op op);
/* Failed calls that must poison a log handle: pwrite, fsync, fdatasync,
 * ftruncate, rename, fsync_dir and sync_all failures caused by the
 * simulator.  A short write is not a failure. */
uint64_t vl_sim_write_failures(const vl_sim *sim);
/* Descriptors currently open. */
size_t vl_sim_open_fds(const vl_sim *sim);

/* The last few I/O calls, one per line, oldest first, NUL-terminated
 * (truncated to cap).  Returns the length written. */
size_t vl_sim_oplog(const vl_sim *sim, char *buf, size_t cap);

/* Also print every operation to f as it happens (NULL: stop), for
 * replaying a failing seed. */
void vl_sim_trace(vl_sim *sim, FILE *f);

/* ------------------------------------------------------------------ */
/* Setup and tamper helpers.  These act directly on the durable image,
 * never fail by injection, and are not counted.  After one of them the
 * file's page cache is rebuilt as its durable image plus its pending
 * writes, so they are meant to be used while the file is quiescent
 * (typically right after vl_sim_crash()).  Return 0 or -errno. */

/* Which tree list/read see: the durable one, or what readers see now. */
enum { VL_SIM_DURABLE = 0, VL_SIM_CACHED = 1 };

/* mkdir -p, durable at once. */
int vl_sim_mkdir_p(vl_sim *sim, const char *path);
/* Create or replace a regular file with this content, durable at once
 * (the parent directory must exist). */
int vl_sim_write_file(vl_sim *sim, const char *path, const void *data, size_t len);
/* Whole file, malloc'ed into *data (non-NULL even for an empty file). */
int vl_sim_read_file(vl_sim *sim, const char *path, int view, uint8_t **data, size_t *len);
/* Calls fn(arg, full_path) for every regular file under dir, recursively,
 * in byte order of the paths.  fn returning non-zero stops the walk and
 * becomes the result. */
int vl_sim_list_files(vl_sim *sim, const char *dir, int view, vl_io_list_fn fn, void *arg);
/* Flip bit (bit_offset % 8) of byte (bit_offset / 8); -EINVAL beyond the
 * end. */
int vl_sim_flip_bit(vl_sim *sim, const char *path, uint64_t bit_offset);
/* Overwrite len bytes at offset, extending the file with zeros if needed. */
int vl_sim_overwrite(vl_sim *sim, const char *path, uint64_t offset, const void *data,
                     size_t len);
/* Cut or extend (with zeros) the durable file to size. */
int vl_sim_truncate(vl_sim *sim, const char *path, uint64_t size);
/* Remove a regular file or an empty directory from both trees. */
int vl_sim_delete(vl_sim *sim, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* VL_IO_SIM_H */
