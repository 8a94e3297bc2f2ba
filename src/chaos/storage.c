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
#include "scenarios.h"
#include "util.h"
#include "vellum.h"

/* From the history: the time (s) of the first `fail ... 503
 * storage_failed`, and how many `ack` lines came after it (plus SLACK_S
 * for answers of earlier commits still on their way) and before UNTIL_S. */
static int acks_after_storage_failure(const char *history, double slack_s, double until_s,
                                      double *first_fail_s, uint64_t *acks)
{
	FILE *fp = fopen(history, "r");
	if (!fp)
		return -errno;
	char line[512];
	double t_fail = -1;
	uint64_t n = 0;
	while (fgets(line, sizeof line, fp)) {
		unsigned long long req, t;
		int status;
		char code[64];
		if (t_fail < 0 &&
		    sscanf(line, "fail %llu %llu %d %63s", &req, &t, &status, code) == 4 &&
		    status == 503 && strcmp(code, "storage_failed") == 0)
			t_fail = (double)t / 1e9;
		else if (t_fail >= 0 && sscanf(line, "ack %llu %llu", &req, &t) == 2 &&
		         (double)t / 1e9 > t_fail + slack_s && (double)t / 1e9 < until_s)
			n++;
	}
	fclose(fp);
	*first_fail_s = t_fail;
	*acks = n;
	return 0;
}

/* fsync-error: fdatasync fails with EIO (strace's fault injection, at a
 * call count drawn from the seed): the server must acknowledge nothing
 * after it, say so, and recover when restarted. */
void vc_scenario_fsync_error(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "The error is injected at the system call (the data was written but not synced): "
	         "a disk that loses the data too is the power-loss scenario's subject. One error "
	         "per run, on whichever fdatasync comes at the drawn count (the WAL, a tile or a "
	         "checkpoint).");
	if (access("/usr/bin/strace", X_OK) != 0) {
		r->skipped = 1;
		snprintf(r->verdict, sizeof r->verdict,
		         "strace is not installed (apt-get install strace): nothing was injected.");
		return;
	}
	int when = 20 + (int)vc_rng_below(&L.rng, 60);
	char inject[64];
	snprintf(inject, sizeof inject, "inject=fdatasync:error=EIO:when=%d", when);
	char *wrap[] = {"/usr/bin/strace", "-f", "-qq", "-o", "/dev/null", "-e", inject, NULL};
	if (vc_load_server(&L, NULL, wrap) < 0 ||
	    vc_load_client(&L, NULL, o->quick ? 2000 : 4000, 16, 10) < 0)
		return;
	/* Wait for the server to notice (it reports a failed log as not
	 * ready), then keep the load on it for 2 s: nothing may be
	 * acknowledged meanwhile. */
	double noticed = -1, limit = o->duration_s;
	while (vc_load_now(&L) < limit) {
		if (!vc_ready(&L.srv)) {
			noticed = vc_load_now(&L);
			break;
		}
		vc_sleep(0.05);
	}
	if (noticed < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		        "the server never reported a failure after fdatasync #%d failed with EIO "
		        "(it kept answering /readyz with 200). ",
		        when);
		vc_load_end(&L, 15);
		r->passed = 0;
		return;
	}
	vc_sleep(2);
	double stopped = vc_load_now(&L);
	vc_proc_stop(&L.srv.p, 30);
	char text[65536] = "";
	vc_read_text(L.srv.p.out, text, sizeof text);
	int clear = strstr(text, "Input/output error") != NULL;
	vc_sleep(0.3);
	if (vc_server_start(&L.srv, NULL) < 0) {
		vc_appendf(r->verdict, sizeof r->verdict, "the server did not start again. ");
	} else {
		double healed = vc_load_now(&L);
		vc_load_window(&L, noticed, healed, "fdatasync #%d: EIO; restarted at %.1f s", when,
		           healed);
		vc_load_recovery(&L, healed, 15);
	}
	vc_sleep(o->duration_s - vc_load_now(&L));
	vc_load_end(&L, 15);
	double t_fail;
	uint64_t late = 0;
	int hrc = acks_after_storage_failure(L.history, 0.1, stopped, &t_fail, &late);
	r->acks_after_io_error = late;
	if (hrc < 0 || t_fail < 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " No request was refused with 503 storage_failed after the error.");
	} else if (late > 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " %" PRIu64 " events were acknowledged after the storage failure.", late);
	}
	if (!clear) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		        " The server's log does not name the error (Input/output error).");
	}
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		        " fdatasync #%d failed with EIO; from the first refusal (503 storage_failed "
		        "at %.2f s) until the restart nothing was acknowledged; the server's log names "
		        "the error; ingest resumed after the restart.",
		        when, t_fail);
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
 * nothing acknowledged is lost, and once the filler is removed (and the
 * server restarted) ingest resumes. */
void vc_scenario_disk_full(const vc_run_options *o, vc_result *r)
{
	vc_load L = {.o = o, .r = r};
	vc_rng_seed(&L.rng, r->seed);
	snprintf(r->limits, sizeof r->limits,
	         "A tmpfs: no real device, and fdatasync is a no-op there. The server does not "
	         "reopen a log whose storage failed by itself: ingest resumes after the space is "
	         "freed and the server restarted.");
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
	double full = -1;
	while (vc_load_now(&L) < filled + o->duration_s) {
		if (!vc_ready(&L.srv)) {
			full = vc_load_now(&L);
			break;
		}
		vc_sleep(0.05);
	}
	if (full < 0) {
		vc_appendf(r->verdict, sizeof r->verdict,
		           "the disk never filled up (%llu MiB left free). ",
		           (unsigned long long)(leave >> 20));
		vc_load_end(&L, 15);
		r->passed = 0;
		goto out;
	}
	vc_sleep(2);
	double stopped = vc_load_now(&L);
	unlink(filler);
	vc_proc_stop(&L.srv.p, 30);
	char text[65536] = "";
	vc_read_text(L.srv.p.out, text, sizeof text);
	int clear = strstr(text, "No space left on device") != NULL;
	if (vc_server_start(&L.srv, NULL) < 0) {
		vc_appendf(r->verdict, sizeof r->verdict, "the server did not start again. ");
	} else {
		double healed = vc_load_now(&L);
		vc_load_window(&L, full, healed, "disk full (%llu MiB left); freed and restarted",
		           (unsigned long long)(leave >> 20));
		vc_load_recovery(&L, healed, 15);
	}
	vc_sleep(filled + o->duration_s - vc_load_now(&L));
	vc_sleep(1);
	vc_load_end(&L, 15);
	double t_fail;
	uint64_t late = 0;
	int hrc = acks_after_storage_failure(L.history, 0.1, stopped, &t_fail, &late);
	r->acks_after_io_error = late;
	if (hrc < 0 || t_fail < 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " No request was refused with 503 storage_failed when the disk was full.");
	} else if (late > 0) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " %" PRIu64 " events were acknowledged after the disk filled up.", late);
	}
	if (!clear) {
		r->passed = 0;
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The server's log does not say the disk is full (No space left on "
		           "device).");
	}
	if (r->passed)
		vc_appendf(r->verdict, sizeof r->verdict,
		           " The disk filled up at %.1f s: requests were refused with 503 "
		           "storage_failed, nothing was acknowledged after that, the server's log "
		           "says why, and ingest resumed once space was freed and the server "
		           "restarted.",
		           full);
out:
	vc_proc_stop(&L.srv.p, 30);
	snprintf(cmd, sizeof cmd, "umount '%.4000s' 2>/dev/null", data);
	if (system(cmd) != 0)
		vc_appendf(r->verdict, sizeof r->verdict, " Could not unmount %s.", data);
}
