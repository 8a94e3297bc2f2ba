/*
 * scenarios.h — the scenarios of `vellum chaos run`, each in a file of its
 * own; run.c holds the table.
 *
 * Each fills R (chaos.h): passed, verdict, limits, duration_s, and the
 * counts that apply; R->name, R->seed and R->replay are set by the caller,
 * and every random choice must come from vc_rng seeded with R->seed.
 *
 * Copyright 2026 The vellum Authors
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef VC_SCENARIOS_H
#define VC_SCENARIOS_H

#include "chaos.h"
#include "run.h"

/* power-loss: the engine under the storage simulator (src/io_sim.c): many
 * seeds of crashes that drop, tear or garble unsynced writes. */
void vc_scenario_crash(const vc_run_options *o, vc_result *r);
void vc_scenario_pause(const vc_run_options *o, vc_result *r);
void vc_scenario_partition(const vc_run_options *o, vc_result *r);
void vc_scenario_fsync_error(const vc_run_options *o, vc_result *r);
void vc_scenario_disk_full(const vc_run_options *o, vc_result *r);
void vc_scenario_clock_skew(const vc_run_options *o, vc_result *r);
void vc_scenario_overload(const vc_run_options *o, vc_result *r);
void vc_scenario_config_error(const vc_run_options *o, vc_result *r);
void vc_scenario_power_loss(const vc_run_options *o, vc_result *r);
/* bit-rot: bits flipped in stored files; `vellum verify` must fail, naming
 * the right file or index, every time. */
void vc_scenario_bit_rot(const vc_run_options *o, vc_result *r);
/* tamper: files edited, deleted, reordered, truncated, rolled back by an
 * attacker with root (re-signing nothing); `vellum verify` must fail at
 * the right place every time. */
void vc_scenario_tamper(const vc_run_options *o, vc_result *r);

#endif
