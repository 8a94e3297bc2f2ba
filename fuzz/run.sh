#!/usr/bin/env bash
# fuzz/run.sh — build every libFuzzer driver in fuzz/ and run each one for a
# bounded time on a copy of its seed corpus.
#
#   fuzz/run.sh [BUILD_DIR [SECONDS [DRIVER...]]]
#
# BUILD_DIR defaults to /tmp/vellum-fuzz, SECONDS (per driver) to 20;
# DRIVER names (fuzz_wal ...) limit the run to those drivers.  Drivers are
# built with clang, -fsanitize=fuzzer,address,undefined, from the library
# sources in src/ directly.  The committed corpus in fuzz/corpus/<driver>/
# is never written to: each run fuzzes a fresh copy in
# BUILD_DIR/corpus/<driver>/, and crashing inputs go to
# BUILD_DIR/artifacts/<driver>/.  A driver passes if libFuzzer exits 0
# within the time: no crash, leak, timeout or sanitizer report.
#
# The summary at the end has the same form as the unit tests' summary, and
# the script exits non-zero if any driver failed.  Environment: CC (clang),
# FUZZ_JOBS (drivers run at once, default 1), FUZZ_ARGS (extra libFuzzer
# flags for every driver, e.g. "-dict=my.dict").
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-/tmp/vellum-fuzz}
SECONDS_EACH=${2:-20}
shift $(( $# < 2 ? $# : 2 ))
CC=${CC:-clang}
JOBS=${FUZZ_JOBS:-1}

case $SECONDS_EACH in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, not '$SECONDS_EACH'" >&2; exit 2 ;;
esac

# Largest input per driver: a little more than the largest valid input of
# its format (a path, a key, a note, a receipt, a WAL segment, a bundle, a
# log.conf or history; for fuzz_httpd, a few pipelined requests past the
# 2 KiB header limit).
max_len() {
	case $1 in
	fuzz_tile_path) echo 128 ;;
	fuzz_base64) echo 1024 ;;
	fuzz_keys) echo 512 ;;
	fuzz_note) echo 8192 ;;
	fuzz_receipt) echo 16384 ;;
	fuzz_wal) echo 70000 ;;
	fuzz_tree) echo 70000 ;;
	fuzz_log_open) echo 20000 ;;
	fuzz_event_body) echo 70000 ;;
	fuzz_syslog) echo 70000 ;;
	fuzz_token_file) echo 8192 ;;
	fuzz_config) echo 8192 ;;
	fuzz_route) echo 256 ;;
	fuzz_envelope) echo 4096 ;;
	fuzz_forward) echo 70000 ;;
	fuzz_spool_entry) echo 70000 ;;
	fuzz_httpd) echo 16384 ;;
	fuzz_fault_spec) echo 128 ;;
	*) echo 4096 ;;
	esac
}

if [ $# -gt 0 ]; then
	DRIVERS=("$@")
else
	DRIVERS=()
	for f in "$ROOT"/fuzz/*.c; do
		DRIVERS+=("$(basename "$f" .c)")
	done
fi

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "run.sh: $CC not found; install clang and libclang-rt-dev" >&2
	exit 2
fi
CRYPTO_LIBS=$(pkg-config --libs libcrypto) || {
	echo "run.sh: pkg-config cannot find libcrypto (install libssl-dev)" >&2
	exit 2
}

mkdir -p "$BUILD/obj" "$BUILD/logs" "$BUILD/corpus" "$BUILD/artifacts" || exit 2

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $SAN \
-I$ROOT/include -I$ROOT/src -I$ROOT/src/server -I$ROOT/src/agent -I$ROOT/src/chaos"
# The server's parsers are fuzzed too, and its HTTP server (httpd, over
# loopback connections; it needs libssl).
SERVER_PARTS="ingest_parse syslog tokens config metrics envelope idem route readfile httpd forward sources json_escape"

# ------------------------------------------------------------------ build

echo "building ${#DRIVERS[@]} fuzz driver(s) in $BUILD"
# The library, once, instrumented for coverage but without libFuzzer's main.
LIB_OK=1
LIB_OBJS=()
SOURCES=("$ROOT"/src/*.c)
for p in $SERVER_PARTS; do
	SOURCES+=("$ROOT/src/server/$p.c")
done
# and the agent's spool entry format, and the fault proxy's specs
SOURCES+=("$ROOT/src/agent/entry.c" "$ROOT/src/chaos/proxy.c")
for src in "${SOURCES[@]}"; do
	obj="$BUILD/obj/lib_$(basename "$src" .c).o"
	blog="$BUILD/logs/build-lib-$(basename "$src" .c).log"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" >"$blog" 2>&1; then
		cat "$blog" >&2
		echo "run.sh: cannot compile $src" >&2
		LIB_OK=0
	fi
	LIB_OBJS+=("$obj")
done

# An archive, so each driver links only the objects it uses.
rm -f "$BUILD/libfuzzparts.a"
if [ $LIB_OK = 1 ] && ! ar rcs "$BUILD/libfuzzparts.a" "${LIB_OBJS[@]}"; then
	echo "run.sh: cannot archive the library objects" >&2
	LIB_OK=0
fi

declare -A BUILT
for d in "${DRIVERS[@]}"; do
	BUILT[$d]=0
	if [ ! -f "$ROOT/fuzz/$d.c" ]; then
		echo "run.sh: no driver fuzz/$d.c" >&2
		continue
	fi
	[ $LIB_OK = 1 ] || continue
	# shellcheck disable=SC2086
	if $CC $CFLAGS -fsanitize=fuzzer "$ROOT/fuzz/$d.c" "$BUILD/libfuzzparts.a" -lssl $CRYPTO_LIBS -linih -lm -lpthread \
		-o "$BUILD/$d" >"$BUILD/logs/build-$d.log" 2>&1; then
		BUILT[$d]=1
	else
		cat "$BUILD/logs/build-$d.log" >&2
		echo "run.sh: cannot build $d" >&2
	fi
done

# ------------------------------------------------------------------ run

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {
	local d=$1
	local log="$BUILD/logs/$d.log" corpus="$BUILD/corpus/$d" art="$BUILD/artifacts/$d/"
	rm -rf "$corpus" "$art"
	mkdir -p "$corpus" "$art"
	if [ -d "$ROOT/fuzz/corpus/$d" ]; then
		cp -R "$ROOT/fuzz/corpus/$d/." "$corpus/"
	fi
	# timeout(1) is a backstop only: libFuzzer stops itself at
	# -max_total_time; a driver that hangs is killed and fails.
	# shellcheck disable=SC2086
	timeout -k 10 $((SECONDS_EACH + 120)) "$BUILD/$d" \
		-max_total_time="$SECONDS_EACH" -max_len="$(max_len "$d")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" ${FUZZ_ARGS:-} \
		"$corpus" >"$log" 2>&1
	echo $? >"$BUILD/logs/$d.rc"
}

# A line of numbers from libFuzzer's log: coverage (edges and features)
# when the seed corpus was loaded and at the end, speed, corpus size.
stats() {
	local log=$1 seeds=$2
	local init last cov0 cov ft0 ft eps units
	init=$(grep -m 1 -E '^#[0-9]+.*INITED' "$log")
	last=$(grep -E '^#[0-9]+.*(cov|ft):' "$log" | tail -n 1)
	cov0=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$init")
	ft0=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$init")
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	units=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	echo "cov ${cov0:-?} -> ${cov:-?}, ft ${ft0:-?} -> ${ft:-?}, ${eps:-?} exec/s," \
		"corpus $seeds seeds -> ${units:-?} units"
}

echo "running each driver for ${SECONDS_EACH}s"
if [ "$JOBS" -gt 1 ] 2>/dev/null; then
	running=0
	for d in "${DRIVERS[@]}"; do
		[ "${BUILT[$d]}" = 1 ] || continue
		run_one "$d" &
		running=$((running + 1))
		if [ $running -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
else
	for d in "${DRIVERS[@]}"; do
		[ "${BUILT[$d]}" = 1 ] && run_one "$d"
	done
fi

# ------------------------------------------------------------------ report

FAILED=()
for d in "${DRIVERS[@]}"; do
	echo "[ RUN      ] $d"
	seeds=$(find "$ROOT/fuzz/corpus/$d" -type f 2>/dev/null | wc -l)
	if [ "${BUILT[$d]}" != 1 ]; then
		echo "build failed: see $BUILD/logs/build-$d.log"
		echo "[     FAIL ] $d (not built)"
		FAILED+=("$d")
		continue
	fi
	rc=$(cat "$BUILD/logs/$d.rc" 2>/dev/null || echo 1)
	if [ "$rc" = 0 ]; then
		echo "[       OK ] $d ($(stats "$BUILD/logs/$d.log" "$seeds"))"
		continue
	fi
	echo "libFuzzer exited with $rc; log: $BUILD/logs/$d.log"
	# The report (sanitizer or driver message, stack, the input's path),
	# without libFuzzer's progress lines.
	grep -v -E '^#[0-9]+|^INFO: |^[[:space:]]+NEW_FUNC|^stat::' "$BUILD/logs/$d.log" |
		awk '{ print } /^Base64: / { exit }' | head -n 80
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$BUILD/logs/$d.log" | tail -n 1)
	if [ -n "$crash" ]; then
		echo "crashing input: $crash"
		echo "reproduce: $BUILD/$d $crash"
	fi
	echo "[     FAIL ] $d (exit $rc)"
	FAILED+=("$d")
done

N=${#DRIVERS[@]}
F=${#FAILED[@]}
echo "[==========] $N test(s) run."
echo "[  PASSED  ] $((N - F)) test(s)."
if [ "$F" -gt 0 ]; then
	echo "[  FAILED  ] $F test(s), listed below:"
	for d in "${FAILED[@]}"; do
		echo "[  FAILED  ] $d"
	done
	exit 1
fi
exit 0
