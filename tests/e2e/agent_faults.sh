#!/usr/bin/env bash
# agent_faults.sh — `vellum agent` against a real `vellum serve` while
# things fail: a writer appends to a file (and rotates it) the whole time
# while the server is stopped for 30 s, killed with kill -9 again and again,
# and killed with kill -9 in the middle of a request it is still receiving
# (through the fault proxy, throttled); the network between them is cut by
# `vellum chaos proxy` (blackhole, connection reset, refused connections,
# latency with jitter, throttled bandwidth, half-open connections); and the
# agent is killed with kill -9 at random moments at least 50 times.  After
# healing, every line the writer produced is in the server's log exactly
# once and in spool order, `vellum sources` reports no gap, and the log
# verifies.  Last, a segment of an agent's spool is deleted before it was
# forwarded: the agent names the lost spool indexes and the server reports
# exactly that gap.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# VL_AGENT_KILL_ROUNDS (default 50), VL_OUTAGE_SECONDS (default 30) and
# VL_KILL_SEED (default: random, printed) replay or shorten a run.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
ROUNDS=${VL_AGENT_KILL_ROUNDS:-50}
OUTAGE=${VL_OUTAGE_SECONDS:-30}
SEED=${VL_KILL_SEED:-$((($$ + $(date +%s)) % 32768))}
RANDOM=$SEED
echo "agent_faults.sh: $ROUNDS agent kill rounds, a ${OUTAGE} s outage, seed $SEED" \
	"(VL_KILL_SEED=$SEED replays the choices)"

TOOL() { python3 "$E2E_DIR/agent_tool.py" "$@"; }
SPORT=$(free_port)
PPORT=$(free_port)
CPORT=$(free_port)
PURL="http://127.0.0.1:$PPORT" # the agent's way to the server: through the proxy
stop_server() { # SIGNAL
	kill "-$1" "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
}
start_proxy() {
	"$VL_BIN" chaos proxy --listen "127.0.0.1:$PPORT" --upstream "127.0.0.1:$SPORT" \
		--control "127.0.0.1:$CPORT" --seed "$SEED" 2>>proxy.err &
	PROXY_PID=$!
	BACKGROUND_PIDS+=("$PROXY_PID")
	wait_port "$PPORT" && wait_port "$CPORT" || { echo "proxy did not start"; tail -5 proxy.err; }
}
proxy() { # COMMAND...: one line to the proxy's control port; prints the reply
	python3 - "$CPORT" "$*" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
EOF
}
start_agent() { # [ARGS...]: the agent on spool s1, in the background ($AGENT_PID)
	"$VL_BIN" agent --server "$PURL" --log default --token-file "$STOKEN" --spool s1 \
		--source "file:$F" --batch 200 --timeout 3 --backoff-max 1000 "$@" 2>>agent.err &
	AGENT_PID=$!
	BACKGROUND_PIDS+=("$AGENT_PID")
}
status_get() { # EXPR on s1/status.json (as d)
	python3 -c 'import json,sys; d=json.load(open("s1/status.json")); print(eval(sys.argv[1]))' "$1"
}
wait_status() { # EXPR SECS: until EXPR on status.json is true
	local i
	for i in $(seq $(($2 * 10))); do
		[ "$(status_get "$1" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	return 1
}
# caught_up SECS: the agent has forwarded everything it spooled and its
# position has reached the end of the file as it is now.
caught_up() {
	local size i
	size=$(stat -c %s "$F")
	for i in $(seq $(($1 * 10))); do
		[ "$(status_get "d['forwarded'] == d['spool_entries'] and d['sources'][0]['position'] >= $size" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	return 1
}
forwarded() { status_get 'd["forwarded"]' 2>/dev/null || echo 0; }

start_server
start_proxy
F=$WORK/f.log
: >"$F"
rm -f stop-writer
# About 150 lines a second, rotated by rename every 5000 lines.
python3 "$E2E_DIR/agent_tool.py" appender "$F" f stop-writer 5000 1 >written &
WRITER=$!
BACKGROUND_PIDS+=("$WRITER")
start_agent
check "the agent forwards through the proxy" wait_status 'd["forwarded"] > 500' 20

# ------------------------------------------------------------------
# The server stopped for $OUTAGE seconds.

stop_server TERM
sleep 2 # status.json is rewritten every second
before=$(forwarded)
sleep "$((OUTAGE - 2))"
check "outage: the agent reports the failure while the server is down" \
	wait_status 'd["last_error_code"] in ("connect_failed", "transport", "timeout") and d["pending"] > 0' 5
check_output "outage: nothing was forwarded while the server was down" "$before" forwarded
check "outage: the agent kept spooling (pending grew past $((OUTAGE * 50)) events)" \
	wait_status "d['pending'] > $((OUTAGE * 50))" 5
start_server
check "outage: the agent catches up after the server is back" caught_up 60

# ------------------------------------------------------------------
# The server killed with kill -9, at random moments, five times.

for round in 1 2 3 4 5; do
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	stop_server KILL
	sleep "0.$((RANDOM % 10))"
	start_server
done
check "server kill -9 x5: the agent catches up" caught_up 60

# The server killed with kill -9 while it is receiving a request: the
# proxy throttles to 8 KiB/s, so a batch of 200 records (about 13 KB) is
# in flight for over a second; the kill comes while bytes flow.
proxy "fault throttle=8k" >/dev/null
sleep 1.5
in_before=$(proxy status)
sleep 0.5
in_after=$(proxy status)
stop_server KILL
check "mid-request: bytes were flowing to the server when it was killed" \
	python3 -c 'import json,sys; a=json.loads(sys.argv[1][3:] if sys.argv[1].startswith("ok ") else sys.argv[1]); b=json.loads(sys.argv[2][3:] if sys.argv[2].startswith("ok ") else sys.argv[2]); sys.exit(0 if b["bytes_up"] > a["bytes_up"] else 1)' "$in_before" "$in_after"
proxy heal >/dev/null
start_server
check "mid-request kill -9: the agent catches up" caught_up 60

# ------------------------------------------------------------------
# The network cut by the fault proxy, one fault at a time.

fault_round() { # NAME SECS SPEC...
	local name=$1 secs=$2 before spec reply
	shift 2
	for spec in "$@"; do
		reply=$(proxy "fault $spec")
		check_output "proxy: $name: $spec accepted" ok echo "${reply%% *}"
	done
	before=$(forwarded)
	sleep "$secs"
	FAULT_GAIN=$(($(forwarded) - before))
	proxy heal >/dev/null
	check "proxy: $name healed, the agent catches up" caught_up 60
}
fault_round blackhole 8 blackhole
check "blackhole: nothing got through while it lasted (forwarded +$FAULT_GAIN)" test "$FAULT_GAIN" -le 200
fault_round reset 4 reset
# Open connections reset and new ones refused: nothing gets through.
fault_round "reset and refuse" 4 reset refuse
check "reset and refuse: nothing got through while it lasted (forwarded +$FAULT_GAIN)" test "$FAULT_GAIN" -le 200
fault_round half-open 8 half-open
fault_round "latency 300±200 ms" 6 "latency=300~200"
check "latency: events still flow under latency (forwarded +$FAULT_GAIN)" test "$FAULT_GAIN" -gt 0
fault_round "throttle 16 KiB/s" 6 "throttle=16k"
check "throttle: events still flow when throttled (forwarded +$FAULT_GAIN)" test "$FAULT_GAIN" -gt 0

# ------------------------------------------------------------------
# The agent killed with kill -9 at random moments.

stop_agent_hard() { kill -9 "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; }
stop_agent_hard
killed=0
for round in $(seq "$ROUNDS"); do
	start_agent
	sleep "0.$((2 + RANDOM % 8))"
	kill -9 "$AGENT_PID" 2>/dev/null && killed=$((killed + 1))
	wait "$AGENT_PID" 2>/dev/null
done
check "agent kill -9: $killed of $ROUNDS rounds killed a running agent" test "$killed" -ge "$ROUNDS"

# Heal: stop the writer, let one agent drain everything.
touch stop-writer
wait "$WRITER"
TOTAL=$(cat written)
start_agent
check "after all faults: the agent catches up ($TOTAL lines written)" caught_up 120
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
check_output "the agent stops cleanly on SIGTERM" 0 echo $?
for i in $(seq 0 $((TOTAL - 1))); do printf 'f-%07d\n' "$i"; done >want
check "every line is in the server's log exactly once, in spool order ($TOTAL lines)" \
	TOOL server-check "$SURL" "$(cat "$STOKEN")" "$(cat s1/agent-id)" "file:$F" want
check "vellum sources reports no gap" \
	env VELLUM_TOKEN="$(cat "$STOKEN")" "$VL_BIN" sources "$SURL"

# ------------------------------------------------------------------
# Spooled events removed before they were forwarded: while the server is
# out of reach, an agent spools 500 events in segments of 100, and one
# segment (spool indexes 200..299) is deleted.  The agent says which
# indexes are lost, forwards the rest, and the server reports exactly that
# gap.

NOWHERE="http://127.0.0.1:$(free_port)"
for k in 1 2 3 4 5; do
	seq -f "gap-$k-%.0f" 1 100 >gap-in
	"$VL_BIN" agent --server "$NOWHERE" --log default --token-file "$STOKEN" --spool g1 \
		--source stdin --spool-segment-events 100 <gap-in 2>>gap.err &
	pid=$!
	next=$(printf 'g1/spool-%020d' $((k * 100)))
	for i in $(seq 100); do [ -d "$next" ] && break; sleep 0.1; done
	kill -TERM "$pid"
	wait "$pid"
done
check "gap: five segments of 100 were spooled" test -d g1/spool-00000000000000000400
rm -r g1/spool-00000000000000000200
gap_agent() {
	timeout 60 "$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" \
		--spool g1 --source stdin </dev/null 2>>gap.err
}
check_status "gap: the agent forwards what is left and exits 0" 0 gap_agent
check "gap: the agent names the lost spool indexes" \
	grep -q '"msg":"spool segment missing","first":200,"last":299' gap.err
GAP_AGENT=$(cat g1/agent-id)
check_output "gap: the server reports indexes 200..299 and nothing else" "499 199 100 [[200, 299]]" \
	bash -c "VELLUM_TOKEN='$(cat "$STOKEN")' '$VL_BIN' sources '$SURL' --json | python3 -c 'import json,sys; d=[s for s in json.load(sys.stdin)[\"sources\"] if s[\"agent\"] == \"$GAP_AGENT\"][0]; print(d[\"highest\"], d[\"through\"], d[\"missing\"], d[\"gaps\"])'"
VELLUM_TOKEN="$(cat "$STOKEN")" "$VL_BIN" sources "$SURL" >gap-report 2>&1
check_output "gap: vellum sources exits 1" 1 echo $?
check "gap: its report says the events were lost" \
	grep -q "100 events missing (lost before they reached vellum)" gap-report
check_output "gap: /metrics counts the 100 missing events" 100 \
	bash -c "curl -s '$SURL/metrics' | awk '/^vellum_agent_missing_events/ {print \$2}'"

stop_server TERM
check "the log verifies" "$VL_BIN" verify "$DATA/default" --vkey "$DATA/default.vkey"
kill -TERM "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID"
check_output "the proxy stops cleanly on SIGTERM" 0 echo $?
