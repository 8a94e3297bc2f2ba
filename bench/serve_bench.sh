#!/usr/bin/env bash
# serve_bench.sh — benchmarks of `vellum serve` with bench/loadgen on the
# same machine, and the same load sent to systemd-journal-remote
# (--seal=yes) in the same run as the reference:
#   1. single-event requests over keep-alive, 64 connections, each answered
#      only once durable: events/s and latency percentiles;
#   2. NDJSON batches of 1,000 events: events/s;
#   3. a steady 10,000 events/s: the time from acknowledgement to a signed
#      checkpoint covering the event (p50/p99, from the server's histogram);
#   4. the server's peak RSS over all of it.
#
#   bench/serve_bench.sh BUILD_DIR [SECONDS]     (release build: make bench)
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
BUILD=${1:-build-bench}
SECS=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
bench_setup "$BUILD" serve

bench_start_server
URL="$SURL/v1/logs/default/events"
echo "vellum serve on 127.0.0.1:$PORT, $(nproc) cores, ${SECS}s per run"

run() { # NAME ARGS...: one loadgen run against vellum, prints and returns RESULT
	local name=$1 out
	shift
	out=$("$LOADGEN" --url "$URL" --token "$TOKEN" --duration "$SECS" --warmup 1 "$@" 2>&1 | tail -n 2)
	echo "  $name: $(head -n 1 <<<"$out")" >&2
	tail -n 1 <<<"$out"
}

echo "-- vellum serve"
R1=$(run "single events, 64 connections" --connections 64 --batch 1)
R2=$(run "NDJSON batches of 1000, 16 connections" --connections 16 --batch 1000)

# Ack-to-checkpoint at a steady 10,000 events/s: the histogram's increase
# over the run gives the distribution.
curl -s "$SURL/metrics" >"$WORK/m0"
R3=$(run "steady 10000 events/s" --connections 64 --batch 1 --rate 10000)
sleep 1.5 # the last acknowledgements' checkpoint
curl -s "$SURL/metrics" >"$WORK/m1"
read -r CP50 CP99 CPN < <(python3 - "$WORK/m0" "$WORK/m1" <<'EOF'
import re, sys
def buckets(path):
    b = {}
    for line in open(path):
        m = re.match(r'vellum_ack_to_checkpoint_seconds_bucket\{log="default",le="([^"]+)"\} (\S+)', line)
        if m:
            b[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = float(m.group(2))
    return b
a, b = buckets(sys.argv[1]), buckets(sys.argv[2])
les = sorted(b)
d = [b[le] - a.get(le, 0) for le in les]
n = d[-1]
def q(p):
    for le, c in zip(les, d):
        if c >= p * n:
            return le
    return float("inf")
print("%.3g %.3g %d" % (q(0.5), q(0.99), n))
EOF
)
echo "  ack-to-checkpoint at 10k/s: p50 <= ${CP50} s, p99 <= ${CP99} s (histogram bucket bounds; $CPN commits)" >&2
RSS_KB=$(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$SERVER/status")
echo "  server peak RSS: $((RSS_KB / 1024)) MiB ($RSS_KB kB)" >&2
kill -TERM "$SERVER"
wait "$SERVER" || true
"$VELLUM" verify "$WORK/data/default" --vkey "$WORK/data/default.vkey" >&2

echo "-- systemd-journal-remote --seal=yes (reference, same load; it does not fsync)"
J1="" J2=""
if [ -x /lib/systemd/systemd-journal-remote ]; then
	JPORT=$(bench_free_port)
	mkdir -p "$WORK/journal"
	JPID=$("$HERE/journal_remote.sh" "$JPORT" "$WORK/journal")
	PIDS+=("$JPID")
	jrun() {
		local name=$1 out
		shift
		out=$("$LOADGEN" --url "http://127.0.0.1:$JPORT/upload" --format journal \
			--duration "$SECS" --warmup 1 "$@" 2>&1 | tail -n 2)
		echo "  $name: $(head -n 1 <<<"$out")" >&2
		tail -n 1 <<<"$out"
	}
	J1=$(jrun "single events, 64 connections" --connections 64 --batch 1)
	J2=$(jrun "batches of 1000, 16 connections" --connections 16 --batch 1000)
	kill "$JPID" 2>/dev/null || true
else
	echo "  (not installed: apt-get install systemd-journal-remote)" >&2
fi

echo
echo "| run | vellum events/s | p50 ms | p99 ms | journal-remote events/s | ratio |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| single events, 64 conns | $(field events_per_s "$R1") | $(field p50_ms "$R1") | $(field p99_ms "$R1") | $(field events_per_s "$J1") | $(ratio "$(field events_per_s "$R1")" "$(field events_per_s "$J1")") |"
echo "| NDJSON batch 1000, 16 conns | $(field events_per_s "$R2") | $(field p50_ms "$R2") | $(field p99_ms "$R2") | $(field events_per_s "$J2") | $(ratio "$(field events_per_s "$R2")" "$(field events_per_s "$J2")") |"
echo "| steady 10k/s | $(field events_per_s "$R3") | $(field p50_ms "$R3") | $(field p99_ms "$R3") | | |"
echo
echo "ack-to-checkpoint at 10k/s: p50 <= $CP50 s, p99 <= $CP99 s; server peak RSS $((RSS_KB / 1024)) MiB"
echo "targets: single >= 30000/s with p99 <= 10 ms; batches >= 500000/s; ack-to-checkpoint p99 <= 1 s; RSS <= 64 MiB"
