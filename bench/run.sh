#!/usr/bin/env bash
# Runs the engine benchmarks; figures go to stdout (see docs/benchmarks.md).
#   bench/run.sh BUILD_DIR [quick]
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
B=${1:-build-bench}/bench/bench_engine
work=$(mktemp -d /var/tmp/vellum-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$B" append "$work/append"
"$B" latency "$work/latency"
if [ "${2:-}" = quick ]; then
	"$B" verify "$work/verify" 200000
	"$B" reopen "$work/reopen" 300000
else
	"$B" verify "$work/verify" 1000000
	"$B" verify "$work/verify" 10000000
	"$B" reopen "$work/reopen" 10000000
fi
