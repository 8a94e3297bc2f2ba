#!/usr/bin/env bash
# agent_bench.sh — benchmarks of `vellum agent` with a `vellum serve` on the
# same machine:
#   1. throughput: a file of N events (one JSON line of about 200 bytes
#      each) written beforehand, followed by a fresh agent until the
#      server holds all of them: events/s from agent start to the last
#      durable acknowledgement.  Baseline in the same run: the same number
#      of events of the same size sent straight to the server's ingest
#      endpoint by bench/loadgen in NDJSON batches of 1000 (no agent, no
#      spool), 4 connections.
#   2. latency: a writer appends 10,000 lines/s to a file for D seconds;
#      the time from each line's write to the moment the server's
#      /sources report shows it acknowledged (polled every ~0.5 ms, so
#      the figures include up to about 1 ms of polling): p50/p90/p99/max.
#      Baseline in the same run: bench/loadgen at 10,000 single events/s
#      straight to the server (its time to the durable acknowledgement).
#
#   bench/agent_bench.sh BUILD_DIR [EVENTS] [LATENCY_SECONDS]
#     (release build: meson setup build-bench --buildtype=release -Dtests=false)
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
BUILD=${1:-build-bench}
N=${2:-500000}
LSECS=${3:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
bench_setup "$BUILD" agent
now() { date +%s.%N; }
through() { # AGENT: the server's "through" for it, or -1
	curl -s -H "Authorization: Bearer $TOKEN" "$SURL/v1/logs/default/sources" |
		python3 -c 'import json,sys; print(max([s["through"] for s in json.load(sys.stdin)["sources"] if s["agent"] == sys.argv[1]] + [-1]))' "$1"
}

bench_start_server
echo "vellum serve on 127.0.0.1:$PORT, $(nproc) cores; $N events; latency run ${LSECS}s"

# ---- 1. throughput
python3 - "$WORK/events" "$N" <<'EOF'
import sys
pad = "x" * 180
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write('{"seq":%d,"pad":"%s"}\n' % (i, pad))
EOF
SIZE=$(stat -c %s "$WORK/events")
EVSIZE=$((SIZE / N - 1))
# Baseline: the same count of events straight to the server, closed loop.
BSECS=$(python3 -c "print(max(3, min(20, round($N / 150000))))")
B=$("$LOADGEN" --url "$SURL/v1/logs/default/events" --token "$TOKEN" --connections 4 \
	--batch 1000 --event-size "$EVSIZE" --duration "$BSECS" --warmup 1 2>&1 | tail -n 1)
BASE=$(field events_per_s "$B")
echo "  baseline, loadgen NDJSON batches of 1000 straight to the server: $BASE events/s"

echo "$TOKEN" >"$WORK/token"
T0=$(now)
"$VELLUM" agent --server "$SURL" --log default --token-file "$WORK/token" --spool "$WORK/spool1" \
	--source "file:$WORK/events" 2>"$WORK/agent1.err" &
APID=$!
PIDS+=("$APID")
for _ in $(seq 100); do [ -s "$WORK/spool1/agent-id" ] && break; sleep 0.05; done
A1=$(cat "$WORK/spool1/agent-id")
while [ "$(through "$A1")" -lt $((N - 1)) ]; do sleep 0.05; done
T1=$(now)
ARSS=$(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$APID/status")
kill -TERM "$APID"
wait "$APID" || true
AGENT_RATE=$(python3 -c "print(round($N / ($T1 - $T0)))")
AGENT_MB=$(python3 -c "print('%.1f' % ($SIZE / ($T1 - $T0) / 1e6))")
echo "  agent, file -> spool -> server: $AGENT_RATE events/s ($AGENT_MB MB/s of source lines) over $(python3 -c "print('%.2f' % ($T1 - $T0))") s"

# ---- 2. latency at 10,000 events/s
LN=$((LSECS * 10000))
: >"$WORK/lat.log"
"$VELLUM" agent --server "$SURL" --log default --token-file "$WORK/token" --spool "$WORK/spool2" \
	--source "file:$WORK/lat.log" 2>"$WORK/agent2.err" &
APID=$!
PIDS+=("$APID")
for _ in $(seq 100); do [ -s "$WORK/spool2/agent-id" ] && break; sleep 0.05; done
A2=$(cat "$WORK/spool2/agent-id")
python3 "$HERE/agent_latency.py" poll "$SURL" "$TOKEN" "$A2" "$LN" "$WORK/polls" &
POLLER=$!
python3 "$HERE/agent_latency.py" write "$WORK/lat.log" "$LN" 10000 "$WORK/times"
wait "$POLLER"
kill -TERM "$APID"
wait "$APID" || true
L=$(python3 "$HERE/agent_latency.py" report "$WORK/times" "$WORK/polls")
echo "  agent at 10000 events/s, source write -> durable ack: $L"
D=$("$LOADGEN" --url "$SURL/v1/logs/default/events" --token "$TOKEN" --connections 64 \
	--batch 1 --rate 10000 --event-size "$EVSIZE" --duration "$LSECS" --warmup 1 2>&1 | tail -n 1)
echo "  baseline, loadgen 10000 single events/s straight to the server: p50 $(field p50_ms "$D") ms, p99 $(field p99_ms "$D") ms"
RSS=$(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$SERVER/status")

echo
echo "| run | agent | baseline (straight to the server) | ratio |"
echo "|---|---:|---:|---:|"
echo "| throughput, events/s | $AGENT_RATE | $BASE | $(ratio "$AGENT_RATE" "$BASE") |"
echo "| latency at 10k/s, p50 ms | $(field p50_ms "$L") | $(field p50_ms "$D") | $(ratio "$(field p50_ms "$L")" "$(field p50_ms "$D")") |"
echo "| latency at 10k/s, p99 ms | $(field p99_ms "$L") | $(field p99_ms "$D") | $(ratio "$(field p99_ms "$L")" "$(field p99_ms "$D")") |"
echo
echo "server peak RSS $((RSS / 1024)) MiB, agent peak RSS $((ARSS / 1024)) MiB (throughput run); event size $EVSIZE bytes + newline"
