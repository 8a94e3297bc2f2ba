#!/usr/bin/env bash
# serve_kill.sh — "acknowledged means durable" for the server: `vellum
# serve` is killed with SIGKILL under load, VL_SERVE_KILL_ROUNDS times
# (default 50), and restarted.  Clients retry what got no answer with the
# same Idempotency-Key.  At the end every event that got a 2xx must be in
# the log exactly at the index it was given, no event may be in the log
# twice, and the log must verify.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
ROUNDS=${VL_SERVE_KILL_ROUNDS:-50}
SEED=${VL_KILL_SEED:-$((($$ + $(date +%s)) % 32768))}
RANDOM=$SEED
echo "serve_kill.sh: $ROUNDS rounds, seed $SEED"
PORT=$(free_port)
DATA=$WORK/data
LOAD="$E2E_DIR/serve_load.py"
: >acked
: >pending

start() {
	"$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" >>serve.out 2>>serve.err &
	SERVER_PID=$!
	wait_port "$PORT"
}

start || { echo "server did not start"; cat serve.err; exit 1; }
TOKEN=$(cat "$DATA/admin.token")
RESTARTS_OK=0
for round in $(seq "$ROUNDS"); do
	# 2 s of load from 8 connections; the kill lands 0.5 .. 1.4 s in
	# (the client needs a moment to start on a loaded machine).
	python3 "$LOAD" "$PORT" "$TOKEN" 2 8 "r$round" acked pending >load.out 2>&1 &
	LOADER=$!
	tenths=$((5 + RANDOM % 10))
	sleep "$((tenths / 10)).$((tenths % 10))"
	kill -9 "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null
	wait "$LOADER"
	if start; then
		RESTARTS_OK=$((RESTARTS_OK + 1))
	else
		echo "round $round: the server did not come back"
		tail -5 serve.err
		start
	fi
done
check_output "the server restarted after every kill -9" "$ROUNDS" echo "$RESTARTS_OK"
# A last round of retries with the server up, then a clean stop.
python3 "$LOAD" "$PORT" "$TOKEN" 1 4 final acked pending >load.out 2>&1
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check_output "clean stop after the rounds" 0 echo $?
ACKED=$(wc -l <acked)
echo "acknowledged events: $ACKED"
check "events were acknowledged (at least 20 a round)" test "$ACKED" -gt $((ROUNDS * 20))
check "the log verifies" "$VL_BIN" verify "$DATA/default" --vkey "$DATA/default.vkey"
"$VL_BIN" export "$DATA/default" export >/dev/null
check "every acknowledged event is in the log at its index, and none twice" python3 - export acked <<'PY'
import json, os, sys
root, acked = sys.argv[1], sys.argv[2]
size = int(open(os.path.join(root, "checkpoint")).read().split("\n")[1])

def bundle_path(n, width):
    s = "%03d" % (n % 1000)
    n //= 1000
    parts = []
    while n > 0:
        parts.append("x%03d" % (n % 1000))
        n //= 1000
    p = "/".join(list(reversed(parts)) + [s])
    return os.path.join(root, "tile", "entries", p + ("" if width == 256 else ".p/%d" % width))

ids = {}
for t in range((size + 255) // 256):
    width = min(256, size - t * 256)
    data = open(bundle_path(t, width), "rb").read()
    off = 0
    for i in range(width):
        l = data[off] << 8 | data[off + 1]
        entry = data[off + 2: off + 2 + l]
        off += 2 + l
        event = json.loads(entry.split(b"\n\n", 1)[1])
        if event["id"] in ids:
            sys.exit("event %s is in the log twice: %d and %d" % (event["id"], ids[event["id"]], t * 256 + i))
        ids[event["id"]] = t * 256 + i
bad = 0
for line in open(acked):
    ev, idx = line.split()
    if ids.get(ev) != int(idx):
        print("acknowledged %s at %s; log has %s" % (ev, idx, ids.get(ev)))
        bad += 1
print("%d entries, %d distinct events, %d acknowledged checked" % (size, len(ids), sum(1 for _ in open(acked))))
sys.exit(1 if bad else 0)
PY
