#!/usr/bin/env bash
# startup_bench.sh — how long `vellum serve` takes to become ready on a log
# it already holds.  At start-up the server reads every entry once (it
# rebuilds each agent's state from the envelopes, and the newest
# idempotency keys) and only then listens; this fills a log with bench/
# loadgen for SECONDS, stops the server, starts it again on the same data
# and times it until /readyz answers 200.  The baseline, in the same run:
# `vellum verify` of the same log, which also reads (and hashes) every
# entry.
#
#   bench/startup_bench.sh BUILD_DIR [SECONDS]     (release build: make bench)
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
BUILD=${1:-build-bench}
SECS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
bench_setup "$BUILD" startup

now() { date +%s.%N; }
secs() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }

bench_start_server
echo "vellum serve on 127.0.0.1:$PORT, $(nproc) cores; filling the log for ${SECS}s"
"$LOADGEN" --url "$SURL/v1/logs/default/events" --token "$TOKEN" --duration "$SECS" \
	--warmup 0 --connections 16 --batch 100 --event-size 200 2>&1 | tail -n 2 | head -n 1
kill "$SERVER"
wait "$SERVER" || true
ENTRIES=$(sed -n 2p "$WORK/data/default/checkpoint")
BYTES=$(du -sb "$WORK/data/default" | cut -f1)

t0=$(now)
"$VELLUM" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --config "$WORK/vellum.ini" \
	>>"$WORK/serve.out" 2>>"$WORK/serve.err" &
SERVER=$!
PIDS+=("$SERVER")
until curl -sf "$SURL/readyz" >/dev/null 2>&1; do
	kill -0 "$SERVER" 2>/dev/null || { echo "the server exited; see $WORK/serve.err" >&2; exit 1; }
	sleep 0.01
done
t1=$(now)
START=$(secs "$t0" "$t1")
kill "$SERVER"
wait "$SERVER" || true

t0=$(now)
"$VELLUM" verify "$WORK/data/default" --vkey "$WORK/data/default.vkey" >/dev/null
t1=$(now)
VERIFY=$(secs "$t0" "$t1")

echo
echo "| measure | value |"
echo "|---|---|"
echo "| entries in the log | $ENTRIES ($((BYTES / 1048576)) MiB on disk) |"
echo "| start-up until /readyz is 200 | $START s ($(python3 -c "print('%.0f' % ($ENTRIES / $START))") entries/s) |"
echo "| baseline: vellum verify of the same log | $VERIFY s |"
echo "| ratio start-up / verify | $(ratio "$START" "$VERIFY") |"
