/*
 * storage.c — fsync-error and disk-full: the storage under the server fails (EIO
 * injected into its system calls, a filesystem that fills up).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "storage_check.h"
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/*
 * The verdict on a storage failure, after vc_load_end: refusals seen,
 * nothing acknowledged while the log was failed, the server's own log
 * naming the error (ERROR_TEXT) and the recovery (NEEDS_TEXT, or NULL).
 * Returns 1 when all of it holds (r->passed is cleared otherwise).
 */
static int judge_storage_failure(vc_load *L, const char *fault, const char *error_text,
                                  const char *recovered_text, vc_storage_failure *f)
{
	vc_result *r = L->r;
	char text[1 << 17] = "";
	vc_read_text(L->srv.p.out, text, sizeof text);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	/* The wall-clock time of load time 0 (the server shares the clock). */
	double wall0 = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 - vc_load_now(L);
	int hrc = vc_storage_failure_read(L->history, L->srv.p.out, wall0, 0.1, f);
	r->acks_after_io_error = f->acks_inside;
	int ok = 1;
	if (hrc < 0 || f->first_refusal_s < 0) {
		ok = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " No request was refused with 503 storage_failed after %s.", fault);
	} else if (f->periods == 0) {
		ok = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's log has no line saying a commit, a tile write or a "
		           "checkpoint failed.");
	} else if (f->acks_inside > 0) {
		ok = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " %" PRIu64 " events were acknowledged while the log was failed (%d "
		           "period(s), the first %.2f..%.2f s).",
		           f->acks_inside, f->periods, f->start[0], f->end[0]);
	}
	if (!strstr(text, error_text)) {
		ok = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's log does not name the error (%s).", error_text);
	}
	if (recovered_text && !strstr(text, recovered_text)) {
		ok = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's log does not say the log was reopened (\"%s\").",
		           recovered_text);
	}
	if (!ok)
		r->passed = 0;
	return ok && r->passed;
}

/* Polls /readyz every 50 ms until it answers WANT (1: 200, 0: not 200) or
 * UNTIL (load time) passes: the load time it did, or -1. */
static double wait_ready(vc_load *L, int want, double until)
{
	while (vc_load_now(L) < until) {
		if (vc_ready(&L->srv) == want)
			return vc_load_now(L);
		vc_sleep(0.05);
	}
	return -1;
}

/* fsync-error: fdatasync or pwrite64 fails with EIO (strace's fault
 * injection, at a call count drawn from the seed): the server must
 * acknowledge nothing after it, say so, reopen the log in place and go
 * on; and, stopped and started again, recover on restart too. */
void vc_scenario_fsync_error(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The error is injected at the system call: a failed fdatasync's data was written "
	         "but not synced, a failed pwrite64 wrote nothing (a disk that loses data too is "
	         "the power-loss scenario's subject). One error per run, on whichever call comes "
	         "at the drawn count (a WAL frame, the WAL's preallocation, a tile, or a "
	         "checkpoint).");
	if (access("/usr/bin/strace", X_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "strace is not installed (apt-get install strace): nothing was injected.");
		return;
	}
	int on_write = (int)vc_rng_below(&L.rng, 2);
	const char *call = on_write ? "pwrite64" : "fdatasync";
	int when = on_write ? 100 + (int)vc_rng_below(&L.rng, 400) : 20 + (int)vc_rng_below(&L.rng, 60);
	char inject[64];
	snprintf(inject, sizeof inject, "inject=%s:error=EIO:when=%d", call, when);
	char *wrap[] = {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null", "-e", inject, NULL};
	if (vc_load_server(&L, NULL, wrap) < 0 ||
	    vc_load_client(&L, NULL, o->quick ? 2000 : 4000, 16, 10) < 0)
		return;
	/* The server reports a failed log as not ready, then reopens it. */
	double noticed = wait_ready(&L, 0, o->duration_s);
	if (noticed < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           "the server never reported a failure after %s #%d failed with EIO "
		           "(it kept answering /readyz with 200). ",
		           call, when);
		vc_load_end(&L, 15);
		r->passed = 0;
		return;
	}
	double reopened = wait_ready(&L, 1, noticed + 15);
	if (reopened < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           "the server did not reopen the log within 15 s of the error. ");
		reopened = vc_load_now(&L);
	} else {
		vc_load_window(&L, noticed, reopened, "%s #%d: EIO; reopened in place", call, when);
		vc_load_recovery(&L, reopened, 15);
	}
	/* Then a restart, unwrapped: recovery on restart too. */
	vc_sleep(o->duration_s / 2 - vc_load_now(&L));
	double stop = vc_load_now(&L);
	vc_proc_stop(&L.srv.p, 30);
	if (vc_server_start(&L.srv, NULL) < 0) {
		vc_appendf(r->verdict, sizeof r->verdict, "the server did not start again. ");
	} else {
		double healed = vc_load_now(&L);
		vc_load_window(&L, stop, healed, "restart");
		vc_load_recovery(&L, healed, 15);
	}
	vc_sleep(o->duration_s - vc_load_now(&L));
	vc_load_end(&L, 15);
	vc_storage_failure f;
	if (judge_storage_failure(&L, "the error", "Input/output error", "log storage recovered",
	                          &f))
		vc_appendf(r->verdict, sizeof r->verdict,
		           " %s #%d failed with EIO: %" PRIu64 " requests were refused with 503 "
		           "storage_failed (the first at %.2f s) and nothing was acknowledged while "
		           "the log was failed (%.2f..%.2f s, from the server's log); the server's "
		           "log names the error; the log was reopened in place and ingest resumed, "
		           "and again after a restart.",
		           call, when, f.refusals, f.first_refusal_s, f.start[0], f.end[0]);
}

/* Fills FILE until the filesystem of DIR has at most LEAVE bytes free. */
static int fill_disk(const char *dir, const char *file, uint64_t leave)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return -errno;
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail <= leave)
		return 0;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	static const char block[1 << 16];
	uint64_t want = avail - leave;
	int rc = 0;
	while (want > 0) {
		size_t n = want < sizeof block ? (size_t)want : sizeof block;
		ssize_t w = write(fd, block, n);
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		want -= (uint64_t)w;
	}
	close(fd);
	return rc == -ENOSPC ? 0 : rc;
}

/* disk-full: the data directory on a 64 MiB tmpfs that a filler file
 * fills up under load: requests are refused with 503 storage_failed,
 * nothing acknowledged is lost, and once the filler is removed ingest
 * resumes by itself (the server reopens the log; no restart). */
void vc_scenario_disk_full(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "A tmpfs: no real device, and fdatasync is a no-op there. One filling per run, "
	         "freed all at once.");
	char dir[PATH_MAX], data[PATH_MAX + 16], filler[PATH_MAX + 16], cmd[2 * PATH_MAX + 64];
	snprintf(dir, sizeof dir, "%s/%s", o->dir, r->name);
	snprintf(data, sizeof data, "%.4000s/data", dir);
	snprintf(filler, sizeof filler, "%.4000s/data/filler", dir);
	vc_mkdirs(data);
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=64m tmpfs '%.4000s' 2>/dev/null", data);
	if (system(cmd) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): nothing was run.");
		return;
	}
	if (vc_load_server(&L, NULL, NULL) < 0 ||
	    vc_load_client(&L, NULL, o->quick ? 3000 : 4000, 16, 10) < 0)
		goto out;
	/* Leave a little room, drawn from the seed, and let the load fill it. */
	uint64_t leave = (2 + vc_rng_below(&L.rng, 6)) << 20;
	double filled = vc_load_now(&L);
	if (fill_disk(data, filler, leave) < 0) {
		snprintf(r->verdict, sizeof r->verdict, "could not fill the tmpfs");
		vc_load_end(&L, 15);
		r->passed = 0;
		goto out;
	}
	double full = wait_ready(&L, 0, filled + o->duration_s);
	if (full < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           "the disk never filled up (%llu MiB left free). ",
		           (unsigned long long)(leave >> 20));
		vc_load_end(&L, 15);
		r->passed = 0;
		goto out;
	}
	/* Full for a while (the server retrying meanwhile), then freed. */
	vc_sleep(1.5 + 1.5 * vc_rng_unit(&L.rng));
	unlink(filler);
	double freed = vc_load_now(&L);
	double reopened = wait_ready(&L, 1, freed + 15);
	if (reopened < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           "the server did not take writes again within 15 s of the space being "
		           "freed. ");
	} else {
		vc_load_window(&L, full, freed, "disk full (%llu MiB left); freed",
		               (unsigned long long)(leave >> 20));
		vc_load_recovery(&L, freed, 15);
	}
	vc_sleep(filled + o->duration_s - vc_load_now(&L));
	vc_sleep(1);
	int was_running = L.srv.p.pid != 0;
	vc_load_end(&L, 15);
	if (!was_running) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server was not running at the end: it exited (see %s).",
		           L.srv.p.out);
	}
	vc_storage_failure f;
	if (judge_storage_failure(&L, "the disk filled up", "No space left on device",
	                          "log storage recovered", &f) &&
	    was_running)
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The disk filled up at %.1f s: requests were refused with 503 "
		           "storage_failed (%" PRIu64 "), nothing was acknowledged in the %d "
		           "period(s) the log was failed, the server's log says why, and %.2f s "
		           "after the space was freed the server had reopened the log by itself and "
		           "took writes again (no restart).",
		           full, f.refusals, f.periods, reopened - freed);
out:
	vc_proc_stop(&L.srv.p, 30);
	snprintf(cmd, sizeof cmd, "umount '%.4000s' 2>/dev/null", data);
	if (system(cmd) != 0)
		vc_appendf(r->verdict, sizeof r->verdict, " Could not unmount %s.", data);
}
