#!/usr/bin/env bash
# agent.sh — end-to-end tests of `vellum agent`: events from stdin and from
# followed files reach the server exactly once and in order, through
# rotation by rename and by copytruncate (while running and while
# stopped), injected failures (error statuses, closed connections, late
# answers, a wrong token, the server gone for a while), the spool limit
# (block and drop), and kill -9 at random moments while a writer appends.
# The server is agent_mock.py, which implements the forward protocol and
# records what it holds; a last part runs against a real `vellum serve`
# and checks the log with `vellum verify`.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# VL_AGENT_KILL_ROUNDS (default 24) and VL_KILL_SEED (default: random,
# printed) replay a run.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
ROUNDS=${VL_AGENT_KILL_ROUNDS:-24}
SEED=${VL_KILL_SEED:-$((($$ + $(date +%s)) % 32768))}
RANDOM=$SEED
echo "agent.sh: $ROUNDS kill rounds, seed $SEED (VL_KILL_SEED=$SEED replays the choices)"

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
TOKEN=agent-test-token
echo "$TOKEN" >token
MOCK="$E2E_DIR/agent_mock.py"
TOOL() { python3 "$E2E_DIR/agent_tool.py" "$@"; }
OUT=$WORK/mock.jsonl

start_mock() {
	python3 "$MOCK" --port "$PORT" --token "$TOKEN" --out "$OUT" >>mock.log 2>&1 &
	MOCK_PID=$!
	BACKGROUND_PIDS+=("$MOCK_PID")
	wait_port "$PORT" || { echo "mock did not start"; cat mock.log; }
}
stop_mock() {
	kill "$MOCK_PID" 2>/dev/null
	wait "$MOCK_PID" 2>/dev/null
}
control() { curl -s -X POST --data "$1" "$URL/control" >/dev/null; }
mock_state() { # EXPR on GET /state (as d)
	curl -s "$URL/state" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# agent SPOOL [ARGS...]: runs the agent in the foreground against the mock.
agent() {
	local spool=$1
	shift
	timeout 60 "$VL_BIN" agent --server "$URL" --log default --token-file token \
		--spool "$spool" --backoff-max 400 "$@" 2>>"$WORK/$(basename "$spool").err"
}
agent_id() { # SPOOL: its agent id, once the agent has written it
	local i
	for i in $(seq 50); do
		[ -s "$1/agent-id" ] && break
		sleep 0.1
	done
	cat "$1/agent-id"
}
# start_agent SPOOL [ARGS...]: in the background; $AGENT_PID.
start_agent() {
	local spool=$1
	shift
	"$VL_BIN" agent --server "$URL" --log default --token-file token \
		--spool "$spool" --backoff-max 400 "$@" <&0 2>>"$WORK/$(basename "$spool").err" &
	AGENT_PID=$!
	BACKGROUND_PIDS+=("$AGENT_PID")
}
stop_agent() { # SIGTERM; the exit status is in $STOP_STATUS
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID"
	STOP_STATUS=$?
}
status_get() { # SPOOL EXPR on status.json (as d)
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1] + "/status.json")); print(eval(sys.argv[2]))' "$1" "$2"
}
# wait_status SPOOL EXPR SECS: until EXPR on status.json is true.
wait_status() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(status_get "$1" "$2" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	return 1
}

start_mock

# ------------------------------------------------------------------
# The command line.

check_fails "no arguments is a usage error" 2 "missing --server" "$VL_BIN" agent
check_fails "an unknown source kind" 2 "unknown source" \
	"$VL_BIN" agent --server "$URL" --log default --token-file token --spool sx --source nosuch:1.2.3.4:514
check_fails "a bad --on-full" 2 "block or drop" \
	"$VL_BIN" agent --server "$URL" --log default --token-file token --spool sx --source stdin --on-full maybe
check_fails "a bad --spool-max-bytes" 2 "size like" \
	"$VL_BIN" agent --server "$URL" --log default --token-file token --spool sx --source stdin --spool-max-bytes 1X
check_fails "a bad --id" 2 "expected 1..64" \
	"$VL_BIN" agent --server "$URL" --log default --token-file token --spool sx --source stdin --id 'a b'
check_fails "a missing token file" 2 "token file" \
	"$VL_BIN" agent --server "$URL" --log default --token-file nonexistent --spool sx --source stdin
check_fails "status of a directory that is no agent's" 3 "not an agent directory" \
	"$VL_BIN" agent status --spool "$WORK/nothing-here"
check "vellum agent --help" bash -c "'$VL_BIN' agent --help | grep -q 'spool-max-bytes'"
check "vellum help lists agent" bash -c "'$VL_BIN' help | grep -q 'vellum agent status'"

# ------------------------------------------------------------------
# stdin: every event once, in order; the agent exits when all is forwarded.

python3 - <<'EOF'
import random
r = random.Random(7)
with open("in1", "wb") as f:
    for i in range(1500):
        f.write(b"stdin-%05d %s\n" % (i, b"x" * r.randrange(0, 200)))
        if i % 300 == 0:
            f.write(b"\n")  # empty lines are skipped
    f.write(b"L" * 70000 + b"\n")  # split in two pieces
    f.write(b"the last line has no newline")
EOF
TOOL events in1 >want1
check_status "stdin: the agent exits 0 once everything is forwarded" 0 agent s1 --source stdin --batch 100 <in1
AGENT1=$(cat s1/agent-id)
check "agent id is generated as hostname-8hex" bash -c "grep -Eq '^[A-Za-z0-9._-]+-[0-9a-f]{8}\$' s1/agent-id"
check "stdin: every event arrived exactly once, in order" TOOL check "$OUT" "$AGENT1" stdin want1
check_output "stdin: the long line became two events" "64511 5489" bash -c "awk 'length > 5000 {print length}' want1 | paste -sd' '"
check_output "status: all forwarded, nothing pending" "1503 1503 0 False" \
	bash -c "'$VL_BIN' agent status --spool s1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"spool_entries\"], d[\"forwarded\"], d[\"pending\"], d[\"running\"])'"
check "status: readable summary" bash -c "'$VL_BIN' agent status --spool s1 | grep -q '^pending      0 entries'"
check_output "status.json says stopped" stopped status_get s1 'd["state"]'

# A second run on the same spool continues its indexes.
seq -f 'second-%.0f' 1 200 >in2
check_status "stdin: a second run exits 0" 0 agent s1 --source stdin <in2
cat want1 in2 >want12
check "stdin: both runs, each event once, in order" TOOL check "$OUT" "$AGENT1" stdin want12
check "stdin: spool indexes are dense" TOOL dense "$OUT" "$AGENT1"
check_fails "--id must match the spool's identity" 2 "differs" \
	"$VL_BIN" agent --server "$URL" --log default --token-file token --spool s1 --source stdin --id someone-else

# ------------------------------------------------------------------
# Failures: each kind, then everything still arrives exactly once.

fault_run() { # NAME FAULT_JSON [AGENT ARGS...]: a run of 300 events under FAULT
	local name=$1 fault=$2
	shift 2
	seq -f "$name-%.0f" 1 300 >"in-$name"
	cat "in-$name" >>want2
	control "$fault"
	check_status "fault $name: the agent finishes" 0 agent s2 --source stdin --batch 40 "$@" <"in-$name"
	control '{"clear":true}'
}
: >want2
fault_run 503 '{"fail":503,"count":4,"retry_after":1}'
AGENT2=$(cat s2/agent-id)
check_output "fault 503: recorded as the last error" "injected" status_get s2 'd["last_error_code"]'
fault_run close-before '{"close":3}'
DUPS_BEFORE=$(mock_state 'd["duplicates"]')
fault_run close-after '{"close":3,"after_store":true}'
check "fault close-after: the retries were answered as duplicates" \
	test "$(mock_state 'd["duplicates"]')" -gt "$DUPS_BEFORE"
fault_run 400 '{"fail":400,"count":2}'
check "fault 400: logged as an error" grep -q '"level":"error","msg":"forward failed","status":400' s2.err
fault_run delay '{"delay":3,"count":1}' --timeout 1
fault_run 429 '{"fail":429,"count":3}'
check "faults: every event exactly once, in order" TOOL check "$OUT" "$AGENT2" stdin want2
check "faults: spool indexes are dense" TOOL dense "$OUT" "$AGENT2"
check_output "faults: no index ever carried two events" 0 mock_state 'd["conflicts"]'

# A 4xx that retrying cannot fix (a wrong token): never skipped, retried at
# the cap, reported in the status; fixed, everything arrives.
echo wrong-token >badtoken
seq -f 'held-%.0f' 1 50 >in3
"$VL_BIN" agent --server "$URL" --log default --token-file badtoken --spool s3 --source stdin \
	--backoff-max 300 <in3 2>s3.err &
AGENT_PID=$!
BACKGROUND_PIDS+=("$AGENT_PID")
check "401: reported as the last error" wait_status s3 'd["last_error_code"] == "unauthorized" and d["pending"] == 50' 10
check "401: logged as an error line" grep -q '"level":"error","msg":"forward failed","status":401' s3.err
sleep 0.5
check "401: the agent keeps retrying" kill -0 "$AGENT_PID"
stop_agent
check_output "401: SIGTERM exits 0" 0 echo "$STOP_STATUS"
check_status "401: with the right token it all goes" 0 agent s3 --source stdin </dev/null
check "401: every event exactly once" TOOL check "$OUT" "$(cat s3/agent-id)" stdin in3

# ------------------------------------------------------------------
# The spool limit.

# block: the source pauses at the limit; nothing is lost.
seq -f 'block-%.0f' 1 400 >in4
control '{"fail":503,"count":-1}'
start_agent s4 --source stdin --spool-max-bytes 4K <in4
check "block: the source pauses at the limit" \
	wait_status s4 'd["sources"][0]["state"] == "blocked" and d["pending_bytes"] >= 4096' 10
check "block: the limit is overshot by at most one event" \
	test "$(status_get s4 'd["pending_bytes"]')" -le $((4096 + 200))
control '{"clear":true}'
wait "$AGENT_PID"
check_output "block: the agent finishes" 0 echo $?
check "block: every event exactly once, in order" TOOL check "$OUT" "$(cat s4/agent-id)" stdin in4

# drop: events beyond the limit are dropped, and the loss is recorded,
# forwarded and accounted for byte for byte.
seq -f 'drop-%.0f' 1 400 >in5
control '{"fail":503,"count":-1}'
start_agent s5 --source stdin --spool-max-bytes 4K --on-full drop <in5
check "drop: the source ends, dropping" wait_status s5 'd["sources"][0]["state"] == "ended" and d["dropped_events"] > 0' 10
control '{"clear":true}'
wait "$AGENT_PID"
check_output "drop: the agent finishes" 0 echo $?
check "drop: received plus recorded-as-dropped is the input, exactly" TOOL dropcheck "$OUT" "$(cat s5/agent-id)" in5
check "drop: the loss was logged" grep -q '"msg":"spool full; dropping events"' s5.err

# ------------------------------------------------------------------
# Following a file through rename rotation and copytruncate while it is
# written.

APP=$WORK/app.log
: >"$APP"
start_agent s6 --source "file:$APP"
AGENT6=$(agent_id s6)
check "file: the writer rotates by rename and copytruncate" TOOL writer "$APP" app 3000 500 "$OUT" "$AGENT6"
check "file: everything arrives" TOOL wait "$OUT" "$AGENT6" "file:$APP" 3000 30
stop_agent
check_output "file: SIGTERM exits 0" 0 echo "$STOP_STATUS"
for i in $(seq 0 2999); do printf 'app-%06d\n' "$i"; done >want6
check "file: every line exactly once, in order" TOOL check "$OUT" "$AGENT6" "file:$APP" want6
check "file: rotations were seen" bash -c "grep -q '\"msg\":\"file rotated\"' s6.err && grep -q '\"msg\":\"file truncated\"' s6.err"

# Restarts: grown, rotated by rename, and copytruncated while stopped.
B=$WORK/b.log
seq -f 'b1-%.0f' 1 100 >"$B"
start_agent s7 --source "file:$B"
AGENT7=$(agent_id s7)
TOOL wait "$OUT" "$AGENT7" "file:$B" 100 20 >/dev/null
stop_agent
seq -f 'b2-%.0f' 1 50 >>"$B"
mv "$B" "$B.1"
seq -f 'b3-%.0f' 1 50 >"$B"
start_agent s7 --source "file:$B"
check "restart: the rotated file is finished, then the new one" TOOL wait "$OUT" "$AGENT7" "file:$B" 200 20
stop_agent
seq -f 'b4-%.0f' 1 80 >"$B" # copytruncate while stopped, longer than before
start_agent s7 --source "file:$B"
TOOL wait "$OUT" "$AGENT7" "file:$B" 280 20 >/dev/null
stop_agent
{ seq -f 'b1-%.0f' 1 100; seq -f 'b2-%.0f' 1 50; seq -f 'b3-%.0f' 1 50; seq -f 'b4-%.0f' 1 80; } >want7
check "restart: every line exactly once, in order" TOOL check "$OUT" "$AGENT7" "file:$B" want7
check "restart: the rotation while stopped was noticed" grep -q '"msg":"file rotated while stopped"' s7.err
check "restart: the truncation while stopped was noticed" grep -q '"msg":"file truncated while stopped"' s7.err

# ------------------------------------------------------------------
# The server gone for a few seconds: delivery resumes by itself.

M=$WORK/m.log
: >"$M"
start_agent s8 --source "file:$M"
seq -f 'm1-%.0f' 1 200 >>"$M"
AGENT8=$(agent_id s8)
TOOL wait "$OUT" "$AGENT8" "file:$M" 200 20 >/dev/null
stop_mock
seq -f 'm2-%.0f' 1 200 >>"$M"
sleep 3
check "outage: the agent reports the connection failure" \
	wait_status s8 'd["last_error_code"] == "connect_failed" and d["pending"] > 0' 5
check_output "status while running: from the agent's report" "True True True" \
	bash -c "'$VL_BIN' agent status --spool s8 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"running\"], d[\"pending\"] > 0, d[\"last_error_code\"] == \"connect_failed\")'"
check "status while running: readable" bash -c "'$VL_BIN' agent status --spool s8 | grep -q '^state        running (pid'"
start_mock
check "outage: delivery resumes after the server is back" TOOL wait "$OUT" "$AGENT8" "file:$M" 400 20
stop_agent
cat <(seq -f 'm1-%.0f' 1 200) <(seq -f 'm2-%.0f' 1 200) >want8
check "outage: every line exactly once, in order" TOOL check "$OUT" "$AGENT8" "file:$M" want8
check "outage: resumption was logged" grep -q '"msg":"forwarding resumed"' s8.err

# ------------------------------------------------------------------
# kill -9 at random moments while a writer appends (and rotates).

K=$WORK/k.log
: >"$K"
rm -f stop-writer
python3 "$E2E_DIR/agent_tool.py" appender "$K" k stop-writer 3000 >written &
WRITER=$!
BACKGROUND_PIDS+=("$WRITER")
killed=0
for round in $(seq "$ROUNDS"); do
	start_agent s9 --source "file:$K" --batch 200
	tenths=$((2 + RANDOM % 9))
	sleep "0.$tenths"
	kill -9 "$AGENT_PID" 2>/dev/null && killed=$((killed + 1))
	wait "$AGENT_PID" 2>/dev/null
done
touch stop-writer
wait "$WRITER"
TOTAL=$(cat written)
AGENT9=$(cat s9/agent-id)
start_agent s9 --source "file:$K"
check "kill -9: after $killed kills, everything arrives" TOOL wait "$OUT" "$AGENT9" "file:$K" "$TOTAL" 60
sleep 0.5
stop_agent
for i in $(seq 0 $((TOTAL - 1))); do printf 'k-%07d\n' "$i"; done >want9
check "kill -9: every line exactly once, in order ($TOTAL lines)" TOOL check "$OUT" "$AGENT9" "file:$K" want9
check "kill -9: spool indexes are dense" TOOL dense "$OUT" "$AGENT9"
check_output "kill -9: no index ever carried two events" 0 mock_state 'd["conflicts"]'
check "kill -9: the spool reopens and its status reads" "$VL_BIN" agent status --spool s9

stop_mock

# ------------------------------------------------------------------
# Against a real `vellum serve`.

start_server
real_agent() { # SPOOL [ARGS...]
	local spool=$1
	shift
	timeout 60 "$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" \
		--spool "$spool" --backoff-max 400 "$@" 2>>"$WORK/$(basename "$spool").err"
}
check_status "server: stdin run exits 0" 0 real_agent r1 --source stdin --batch 300 <in1
R1=$(cat r1/agent-id)
check "server: every event in the log once, in order" \
	TOOL server-check "$SURL" "$(cat "$STOKEN")" "$R1" stdin want1
check_status "server: a second run exits 0" 0 real_agent r1 --source stdin <in2
check "server: both runs, each event once" \
	TOOL server-check "$SURL" "$(cat "$STOKEN")" "$R1" stdin want12

# A few kill -9 rounds against the real server.
RK=$WORK/rk.log
: >"$RK"
rm -f stop-writer
python3 "$E2E_DIR/agent_tool.py" appender "$RK" rk stop-writer >written-r &
WRITER=$!
BACKGROUND_PIDS+=("$WRITER")
for round in 1 2 3 4 5 6; do
	"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool r2 \
		--source "file:$RK" --batch 100 2>>r2.err &
	pid=$!
	sleep "0.$((3 + RANDOM % 6))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
touch stop-writer
wait "$WRITER"
RTOTAL=$(cat written-r)
"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool r2 \
	--source "file:$RK" 2>>r2.err &
AGENT_PID=$!
for i in $(seq 300); do
	[ "$(status_get r2 'd["forwarded"] == d["spool_entries"] and d["sources"][0]["position"] > 0' 2>/dev/null)" = True ] &&
		[ "$(status_get r2 'd["spool_entries"]')" -ge "$RTOTAL" ] && break
	sleep 0.1
done
stop_agent
for i in $(seq 0 $((RTOTAL - 1))); do printf 'rk-%07d\n' "$i"; done >want-r
check "server kill -9: every line in the log once, in order ($RTOTAL lines)" \
	TOOL server-check "$SURL" "$(cat "$STOKEN")" "$(cat r2/agent-id)" "file:$RK" want-r
check "server: vellum sources reports nothing missing" \
	env VELLUM_TOKEN="$(cat "$STOKEN")" "$VL_BIN" sources "$SURL"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "server: the log verifies" "$VL_BIN" verify "$DATA/default" --vkey "$DATA/default.vkey"
