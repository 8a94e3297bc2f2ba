#!/usr/bin/env bash
# agent_journald.sh — end-to-end test of `vellum agent --source
# journald:DIR` against a real `vellum serve`: journal entries written over
# time into several journal files (by systemd-journal-remote, so no
# journald is needed; files appended to, new files, files renamed as
# journald's rotation does) while the agent is killed with kill -9 at
# random moments; after a last run every entry is in the server's log
# exactly once and in order (by MESSAGE counter and distinct __CURSOR),
# `vellum sources` reports nothing missing and `vellum verify` passes.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# Skips (one passing check saying why) when systemd-journal-remote is not
# installed or the binary has no journald support.  VL_JOURNALD_KILL_ROUNDS
# (default 12) and VL_KILL_SEED (default: random, printed) replay a run.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
ROUNDS=${VL_JOURNALD_KILL_ROUNDS:-12}
SEED=${VL_KILL_SEED:-$((($$ + $(date +%s)) % 32768))}
RANDOM=$SEED
echo "agent_journald.sh: $ROUNDS kill rounds, seed $SEED (VL_KILL_SEED=$SEED replays the choices)"
TOOL() { python3 "$E2E_DIR/agent_journald_tool.py" "$@"; }

if ! REMOTE=$(TOOL remote); then
	echo "agent_journald.sh: SKIPPED: systemd-journal-remote is not installed (Debian package" \
		"systemd-journal-remote); it makes the journal files this test reads"
	check "journald: skipped, systemd-journal-remote is not installed" true
	exit 0
fi
JD=$WORK/journal
mkdir "$JD"
echo token >tok
"$VL_BIN" agent --server http://127.0.0.1:1 --log default --token-file tok --spool probe \
	--source "journald:$JD" 2>probe.err &
PROBE=$!
sleep 1
kill -TERM "$PROBE" 2>/dev/null
wait "$PROBE" 2>/dev/null
if grep -q "no journald support" probe.err; then
	echo "agent_journald.sh: SKIPPED: this vellum was built without libsystemd"
	check "journald: skipped, no journald support in this build" true
	exit 0
fi
check "journald: the agent opened the journal directory" grep -q '"msg":"following"' probe.err

start_server
ORIGIN="journald:$JD"

status_get() { # SPOOL EXPR on status.json (as d)
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1] + "/status.json")); print(eval(sys.argv[2]))' "$1" "$2"
}

# Entries written over time, the agent killed at random moments meanwhile.
rm -f stop-writer
TOOL writer "$REMOTE" "$JD" stop-writer >written &
WRITER=$!
BACKGROUND_PIDS+=("$WRITER")
killed=0
for round in $(seq "$ROUNDS"); do
	"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool j1 \
		--source "$ORIGIN" --batch 50 --backoff-max 400 2>>j1.err &
	pid=$!
	BACKGROUND_PIDS+=("$pid")
	sleep "0.$((2 + RANDOM % 9))"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
done
touch stop-writer
wait "$WRITER"
TOTAL=$(cat written)
FILES=$(ls "$JD" | wc -l)
echo "agent_journald.sh: $TOTAL entries in $FILES journal files, $killed kills"
check "journald: entries went into several journal files" test "$FILES" -ge 3

# Healing: runs until everything is spooled and forwarded.
run_until_caught_up() { # TOTAL: a run of the agent, stopped with SIGTERM once caught up
	"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool j1 \
		--source "$ORIGIN" --backoff-max 400 2>>j1.err &
	AGENT_PID=$!
	BACKGROUND_PIDS+=("$AGENT_PID")
	local i ok=1
	for i in $(seq 600); do
		[ "$(status_get j1 'd["forwarded"] == d["spool_entries"] and d["sources"][0]["position"] >= '"$1" 2>/dev/null)" = True ] && ok=0 && break
		sleep 0.1
	done
	sleep 1.2 # a positions cache written after the last entry
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	STOP_STATUS=$?
	return $ok
}
run_until_caught_up "$TOTAL"
check "journald: after $killed kills the agent caught up with $TOTAL entries" test $? -eq 0
check_output "journald: the agent stops cleanly" 0 echo "$STOP_STATUS"
check_output "journald: the source position is the number of entries" "$TOTAL" \
	status_get j1 'd["sources"][0]["position"]'

# Stopped cleanly, so the positions cache covers the whole spool: the
# next start resumes from the cursor in the cache.  More entries meanwhile.
rm -f stop-writer
TOOL writer "$REMOTE" "$JD" stop-writer "$(cat written)" >written2 &
WRITER=$!
sleep 1
touch stop-writer
wait "$WRITER"
check "journald: the positions cache holds the cursor" grep -q '^c s=' j1/positions
TOTAL=$(( $(cat written) + $(cat written2) ))
run_until_caught_up "$TOTAL"
check "journald: a restart after a clean stop catches up with $TOTAL entries" test $? -eq 0
check_output "journald: the agent stops cleanly, again" 0 echo "$STOP_STATUS"
check_output "journald: the source position is the number of entries, again" "$TOTAL" \
	status_get j1 'd["sources"][0]["position"]'
check "journald: every entry in the log once, in order ($TOTAL entries)" \
	TOOL server-check "$SURL" "$(cat "$STOKEN")" "$(cat j1/agent-id)" "$ORIGIN" "$TOTAL"
check "journald: restarts resumed from the spool's cursor" grep -q 'resuming after entry' j1.err
check "journald: no cursor was lost" bash -c "! grep -q 'journal cursor not found\|journal cursor unusable\|without a cursor' j1.err"
check "journald: vellum sources reports nothing missing" \
	env VELLUM_TOKEN="$(cat "$STOKEN")" "$VL_BIN" sources "$SURL"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "journald: the log verifies" "$VL_BIN" verify "$DATA/default" --vkey "$DATA/default.vkey"
