/*
 * run.h — `vellum chaos run` and `vellum chaos list` (run.c).
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_RUN_H
#define VC_RUN_H

#include <stdint.h>
#include <stdio.h>

typedef struct vc_run_options {
	const char *vellum;      /* the vellum binary the scenarios start */
	const char *scenarios;   /* "all" or NAME[,NAME...] (checked: vc_run_names_ok) */
	const char *dir;         /* scratch directory: one subdirectory per scenario */
	const char *report_dir;  /* where report.json and report.html go (NULL: dir) */
	const char *command;     /* the command line, for the report */
	uint64_t seed;           /* every scenario's seed derives from it */
	double duration_s;       /* load per scenario */
	int quick;               /* short schedules: every scenario in a few seconds */
	int quiet;               /* no progress lines on stderr */
} vc_run_options;

/* One line per scenario: its name and what it must prove. */
void vc_run_list(FILE *out);
/* 0 if NAMES is "all" or a comma-separated list of known scenarios; else
 * -1 with err set. */
int vc_run_names_ok(const char *names, char *err, size_t errcap);
/* Runs the selected scenarios in turn and writes the report.  *all_passed
 * is 1 if every scenario that ran passed.  0, or a negative code when the
 * run itself could not be done (the scratch directory, the report). */
int vc_run(const vc_run_options *o, int *all_passed);

#endif
