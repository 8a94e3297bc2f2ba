/*
 * vellum.h — the public contract of libvellum, the tamper-evident,
 * append-only audit log engine.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 *
 * A log is a directory.  Entries (1..65535 bytes each) are appended in
 * batches; an append returns only once its entries are on stable storage
 * (their write-ahead-log frame was written and fdatasync returned 0).  The
 * entries form an RFC 6962 / RFC 9162 Merkle tree; vl_log_checkpoint()
 * signs a c2sp.org/tlog-checkpoint over it and writes the c2sp.org/tlog-tiles
 * tree, so the log directory doubles as a static transparency log.
 *
 * Errors.  Every function that can fail returns an int: 0 is success,
 * a negative value is an error.  Values in the VL_E* band below are
 * vellum's own; any other negative value is -errno passed through from the
 * operating system.  vl_strerror() names both.
 *
 * Threads.  A vl_log handle may be shared by any number of threads:
 * vl_log_append() is safe to call concurrently, and concurrent calls are
 * grouped into one commit (one write and one fdatasync for all of them).
 * All other vl_log_* functions are also thread-safe; they serialise
 * internally.  vl_log_close() must be called once, after every other call
 * on the handle has returned.  libvellum starts no threads of its own.
 *
 * Memory.  Unless a function says otherwise, the caller owns every buffer
 * it passes in, and libvellum keeps no pointer to it after returning.
 * Strings returned through a `char **` are allocated with malloc() and
 * owned by the caller, who frees them with free().
 *
 * Sticky failure.  After any failed write, fsync or rename the handle
 * stops acknowledging: every later append or checkpoint returns
 * VL_EPOISONED.  Recovery means closing the handle and opening the log
 * again, which rebuilds state from what is verifiably on disk.
 */
#ifndef VELLUM_H
#define VELLUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VL_MUST_CHECK __attribute__((warn_unused_result))
#else
#define VL_MUST_CHECK
#endif

#define VL_VERSION_STRING "0.1.0"

/* Format constants (c2sp.org/tlog-tiles, RFC 6962). */
#define VL_HASH_SIZE 32             /* SHA-256 */
#define VL_ENTRY_MAX 65535          /* bundle lengths are uint16 */
#define VL_TILE_HEIGHT 8            /* each tile covers 8 tree levels */
#define VL_TILE_WIDTH 256           /* hashes or entries in a full tile */
#define VL_PROOF_MAX 64             /* hashes in any proof for 2^63 leaves */
#define VL_ORIGIN_MAX 255           /* bytes in a log origin / key name */

/* Errors.  Chosen far from errno values, like LMDB's error band. */
enum {
	VL_OK = 0,
	VL_EINVAL = -30800,   /* a bad argument (NULL, size out of range) */
	VL_EENTRY_SIZE,       /* an entry of 0 or more than 65535 bytes */
	VL_ECORRUPT,          /* stored data fails its checks: never repaired */
	VL_EPOISONED,         /* an earlier I/O failure made this handle unusable */
	VL_ENOTFOUND,         /* no such entry, file or checkpoint */
	VL_EEXIST,            /* the log (or key file) already exists */
	VL_ESIGNATURE,        /* a signature does not verify with the given key */
	VL_EKEY,              /* a key is malformed, mismatched or unsafe */
	VL_EFORMAT,           /* text (note, checkpoint, receipt, conf) malformed */
	VL_EPROOF,            /* a proof does not verify */
	VL_EINCONSISTENT,     /* a tree does not extend an earlier one */
	VL_ENOMEM,            /* out of memory */
	VL_ETOOBIG,           /* input exceeds a documented limit */
	VL_ENOCHECKPOINT,     /* the log has no signed checkpoint yet */
	VL_ECLOSED,           /* the handle is shutting down */
	VL_ELOCKED,           /* the log is open in another process */
	VL_ERROR_END
};

/* A static, human-readable description of any return code. */
const char *vl_strerror(int err);

/* ------------------------------------------------------------------ */
/* Keys (Ed25519, c2sp.org/signed-note).                               */

typedef struct vl_signer vl_signer;     /* private key + name + key id */
typedef struct vl_verifier vl_verifier; /* public key + name + key id */

/*
 * Generate a new signer key for NAME (1..255 bytes, no whitespace, no '+').
 * *skey_out receives the signer key string
 *   PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>
 * and *vkey_out the verifier key string
 *   <name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>.
 * Both are malloc'ed, without trailing newline.
 */
VL_MUST_CHECK int vl_key_generate(const char *name, char **skey_out, char **vkey_out);

/* Parse a signer key string (surrounding whitespace ignored). */
VL_MUST_CHECK int vl_signer_parse(const char *skey, vl_signer **out);
/* Read a signer key file; refuses (VL_EKEY) a file readable or writable
 * by group or others, so a leaked-permission key is never used. */
VL_MUST_CHECK int vl_signer_load(const char *path, vl_signer **out);
/* The verifier key string of a signer, malloc'ed. */
VL_MUST_CHECK int vl_signer_vkey(const vl_signer *s, char **vkey_out);
const char *vl_signer_name(const vl_signer *s);
/* Wipes the private key. NULL is allowed. */
void vl_signer_free(vl_signer *s);

VL_MUST_CHECK int vl_verifier_parse(const char *vkey, vl_verifier **out);
/* Reads a file holding one verifier key string. */
VL_MUST_CHECK int vl_verifier_load(const char *path, vl_verifier **out);
const char *vl_verifier_name(const vl_verifier *v);
void vl_verifier_free(vl_verifier *v);

/* ------------------------------------------------------------------ */
/* Checkpoints and receipts (text formats).                            */

typedef struct vl_checkpoint {
	char origin[VL_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[VL_HASH_SIZE];
} vl_checkpoint;

/*
 * Verify a signed checkpoint note (c2sp.org/tlog-checkpoint wrapped in
 * c2sp.org/signed-note) against one verifier key: the note must carry a
 * valid signature by that key, and the origin must equal the key's name.
 * Signatures by other keys (witness cosignatures) are ignored.
 */
VL_MUST_CHECK int vl_checkpoint_verify(const char *note, size_t note_len,
                                       const vl_verifier *v, vl_checkpoint *out);

/*
 * Verify a c2sp.org/tlog-proof receipt for ENTRY against V, offline: the
 * embedded checkpoint's signature, then the inclusion proof of
 * SHA-256(0x00 || entry) at the stated index.  On success fills *cp and
 * *index.
 */
VL_MUST_CHECK int vl_receipt_verify(const char *receipt, size_t receipt_len,
                                    const uint8_t *entry, size_t entry_len,
                                    const vl_verifier *v, vl_checkpoint *cp,
                                    uint64_t *index);

/* ------------------------------------------------------------------ */
/* The I/O table.                                                      */

/* Defined in full in "vellum_io.h"; most users never need it. */
typedef struct vl_io vl_io;
/* The POSIX implementation used when options->io is NULL. */
const vl_io *vl_io_posix(void);

/* ------------------------------------------------------------------ */
/* Logs.                                                               */

typedef struct vl_log vl_log;

typedef struct vl_log_options {
	const vl_io *io;          /* NULL: POSIX */
	uint64_t segment_bytes;   /* WAL segment size before rolling; 0: 64 MiB */
	const char *key_file;     /* create: the signer key file recorded in
	                             log.conf (made absolute); open: overrides it */
} vl_log_options;

/*
 * A log may be open in one process at a time: create and open take an
 * exclusive lock on LOGDIR/.lock and fail with VL_ELOCKED while another
 * process holds it.
 *
 * Create a new, empty log in DIR (created if missing; it must be empty
 * or absent) for SIGNER, whose name becomes the log's origin.  The new
 * log has a signed checkpoint of size 0.  opt may be NULL.
 */
VL_MUST_CHECK int vl_log_create(const char *dir, const vl_signer *signer,
                                const vl_log_options *opt, vl_log **out);

/*
 * Open an existing log: re-verifies the latest checkpoint's signature and
 * root against the stored tiles, scans the WAL from that checkpoint to the
 * end, drops only an invalid tail of the newest WAL segment (which was
 * never acknowledged), and refuses (VL_ECORRUPT) anything else that fails
 * its checks.  What was dropped is available from vl_log_recovery().
 * The signer key is loaded lazily on the first checkpoint.
 */
VL_MUST_CHECK int vl_log_open(const char *dir, const vl_log_options *opt,
                              vl_log **out);

/*
 * Bring a handle whose storage failed (every call answering VL_EPOISONED)
 * back into service, without closing it: cut what the failed commit left
 * after the last synced WAL frame (and sync that cut), then redo what
 * vl_log_open does from the directory as it is now, and take that state
 * over.  Entries whose append failed were never acknowledged and are not
 * in the log afterwards; every acknowledged one is.  Safe to call while
 * other threads use the handle (they wait, or get VL_EPOISONED until it
 * succeeds).  0 (also when the handle was not poisoned), or why the
 * storage still fails (the handle stays poisoned; try again later).
 */
VL_MUST_CHECK int vl_log_reopen(vl_log *log);

/* What open found; all zero when the log was closed cleanly. */
typedef struct vl_recovery {
	uint64_t dropped_frames;  /* invalid frames cut from the WAL's tail */
	uint64_t dropped_bytes;   /* bytes cut */
	uint64_t replayed_entries;/* entries re-integrated after the checkpoint */
} vl_recovery;
void vl_log_recovery(const vl_log *log, vl_recovery *out);

/*
 * One entry to append: len bytes at data, 1 <= len <= VL_ENTRY_MAX.
 */
typedef struct vl_entry {
	const void *data;
	size_t len;
} vl_entry;

/*
 * Append N entries as one atomic batch.  Returns 0 only once every entry is
 * durable; *first_index (may be NULL) receives the index of the first; the
 * batch occupies first_index .. first_index+n-1.  Concurrent callers are
 * grouped into one commit.  An entry of bad size fails the whole batch with
 * VL_EENTRY_SIZE before anything is written.
 */
VL_MUST_CHECK int vl_log_append(vl_log *log, const vl_entry *entries, size_t n,
                                uint64_t *first_index);

/*
 * Write the full tiles and bundles that appends completed to their files.
 * Appends only queue them (the commit path creates no files); checkpoints,
 * close and this function write them, and an append writes them itself when
 * more than 16 MiB are queued.  Call it from a thread of your own (every
 * few hundred milliseconds) to keep that work off the appenders' path; it
 * runs concurrently with appends.
 */
VL_MUST_CHECK int vl_log_flush(vl_log *log);

/* Number of durable entries (the next index to be assigned). */
uint64_t vl_log_size(vl_log *log);

/*
 * Copy entry INDEX (durable, checkpointed or not) into buf (capacity cap).
 * *len receives the entry's length; if cap is too small, returns
 * VL_ETOOBIG with *len set and nothing copied.  The entry's leaf hash is
 * checked against the tree before it is returned.
 */
VL_MUST_CHECK int vl_log_get(vl_log *log, uint64_t index, void *buf, size_t cap,
                             size_t *len);

/*
 * Call FN for entries FIRST .. FIRST+COUNT-1 in order, reading each bundle
 * once (entries are checked against the tree as in vl_log_get).  FN gets
 * the entry's index and bytes (valid only during the call); a non-zero
 * return stops the scan and is returned.  No lock is held while FN runs,
 * so FN may call other vl_log_* functions.
 */
typedef int (*vl_scan_fn)(void *ctx, uint64_t index, const uint8_t *entry, size_t len);
VL_MUST_CHECK int vl_log_scan(vl_log *log, uint64_t first, uint64_t count, vl_scan_fn fn,
                              void *ctx);

/*
 * Integrate everything appended, write the tiles and sign a new checkpoint
 * with the log's key (opt->key_file or the one in log.conf).  The new tree
 * is first proven consistent with the previous checkpoint.  *note_out (may
 * be NULL) receives the signed checkpoint note, malloc'ed.  If nothing was
 * appended since the last checkpoint, it is re-issued unchanged.
 */
VL_MUST_CHECK int vl_log_checkpoint(vl_log *log, char **note_out);

/* The latest signed checkpoint, parsed and as note text (malloc'ed; may be
 * NULL). */
VL_MUST_CHECK int vl_log_latest_checkpoint(vl_log *log, vl_checkpoint *cp,
                                           char **note_out);

/*
 * Inclusion proof of entry INDEX in the tree of size TREE_SIZE (0: the
 * latest checkpoint's size).  proof receives up to VL_PROOF_MAX hashes,
 * *n_proof their count, in RFC 9162 order.  tree_size may not exceed the
 * number of integrated entries.
 */
VL_MUST_CHECK int vl_log_prove_inclusion(vl_log *log, uint64_t index, uint64_t tree_size,
                                         uint8_t proof[][VL_HASH_SIZE], size_t *n_proof);

/* Consistency proof from OLD_SIZE (1 <= OLD_SIZE <= NEW_SIZE; the empty
 * tree is a prefix of every tree and needs no proof) to NEW_SIZE (0: the
 * latest checkpoint's size). */
VL_MUST_CHECK int vl_log_prove_consistency(vl_log *log, uint64_t old_size, uint64_t new_size,
                                           uint8_t proof[][VL_HASH_SIZE], size_t *n_proof);

/* A c2sp.org/tlog-proof receipt for entry INDEX at the latest checkpoint,
 * malloc'ed. */
VL_MUST_CHECK int vl_log_receipt(vl_log *log, uint64_t index, char **receipt_out);

/* The log's origin and verifier key string (owned by the handle). */
const char *vl_log_origin(const vl_log *log);
const char *vl_log_vkey(const vl_log *log);

/* Write the static C2SP tree of the latest checkpoint into OUTDIR (created
 * if missing): checkpoint, tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>].
 * Every tile is checked against the checkpoint's root as it is copied. */
VL_MUST_CHECK int vl_log_export(vl_log *log, const char *outdir);

/* After a failed call on LOG: a message naming what failed and where
 * (file, index, offset).  Owned by the handle; valid until the next call. */
const char *vl_log_message(const vl_log *log);

/* After vl_log_open or vl_log_create failed in this thread: why, naming the
 * file and what was wrong.  Thread-local; valid until the next such call. */
const char *vl_open_message(void);

/* Flush and release.  Signs nothing.  Returns the first deferred error,
 * if any.  NULL is allowed. */
int vl_log_close(vl_log *log);

/* ------------------------------------------------------------------ */
/* Verification of a whole tree.                                       */

/*
 * Reads one file of a static C2SP tree: PATH is relative ("checkpoint",
 * "tile/0/x001/234", "tile/entries/005.p/17").  On success *data is
 * malloc'ed (the caller frees it).  VL_ENOTFOUND if the file is absent.
 */
typedef int (*vl_fetch_fn)(void *ctx, const char *path, uint8_t **data, size_t *len);

/* A vl_fetch_fn over a local directory; ctx is the directory path
 * (const char *).  Files larger than the largest valid tile file (a full
 * bundle of 256 entries of 65535 bytes: 256 * 65537 bytes) are refused
 * (VL_ETOOBIG). */
int vl_fetch_dir(void *ctx, const char *path, uint8_t **data, size_t *len);

typedef struct vl_verify_options {
	const vl_verifier *vkey;      /* required: the only key trusted */
	const char *since_note;       /* optional: an older signed checkpoint */
	size_t since_len;
	/* optional, called now and then with entries checked so far */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
} vl_verify_options;

typedef struct vl_verify_report {
	vl_checkpoint checkpoint;     /* the verified checkpoint */
	uint64_t entries_checked;
	uint64_t tiles_checked;
	char message[1024];           /* on failure: what, where, and why */
} vl_verify_report;

/*
 * Verify a static C2SP tlog-tiles tree read through FETCH: the checkpoint's
 * signature by opt->vkey (never a key found in the tree), every entry
 * bundle, every hash tile (full and partial), and the root; with
 * since_note, that the older checkpoint's tree is a prefix of this one.
 * Memory is O(log n).  0 on success; on failure a negative code and
 * report->message names the first failure (entry index, file, difference).
 */
VL_MUST_CHECK int vl_verify_tree(vl_fetch_fn fetch, void *fetch_ctx,
                                 const vl_verify_options *opt, vl_verify_report *report);

/*
 * Verify a vellum log directory: everything vl_verify_tree checks, plus
 * every WAL frame (checksums, dense indexes) and that each WAL entry equals
 * the entry in the bundles byte for byte.  Entries in the WAL beyond the
 * checkpoint are checked for integrity (they are durable but not yet
 * covered by a signature).
 */
VL_MUST_CHECK int vl_verify_log_dir(const char *dir, const vl_verify_options *opt,
                                    vl_verify_report *report);

/* ------------------------------------------------------------------ */
/* Hashing (RFC 6962).                                                 */

void vl_leaf_hash(const void *entry, size_t len, uint8_t out[VL_HASH_SIZE]);
void vl_node_hash(const uint8_t left[VL_HASH_SIZE], const uint8_t right[VL_HASH_SIZE],
                  uint8_t out[VL_HASH_SIZE]);

#ifdef __cplusplus
}
#endif
#endif /* VELLUM_H */
