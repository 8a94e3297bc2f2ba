#!/usr/bin/env bash
# chaos.sh — `vellum chaos run --quick`: every scenario passes against the
# real binary; the report is written and says so; a replay with the same
# seed draws the same fault schedule; and against a deliberately broken
# server (vellum_ack_early: it answers before its entries are written) the
# crash scenario fails, with acknowledged events reported lost.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
SEED=${VL_CHAOS_SEED:-$((($$ + $(date +%s)) % 1000000))}
echo "chaos.sh: seed $SEED (VL_CHAOS_SEED=$SEED replays it)"

report() { # DIR EXPR: EXPR on report.json (as d)
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1] + "/report.json")); print(eval(sys.argv[2]))' "$1" "$2"
}

check "chaos list names every scenario" bash -c \
	"'$VL_BIN' chaos list | awk '{print \$1}' | paste -sd, | grep -qx 'crash,pause,partition,fsync-error,disk-full,clock-skew,overload,config-error,power-loss,bit-rot,tamper'"
check_fails "an unknown scenario is a usage error" 2 "unknown scenario" \
	"$VL_BIN" chaos run --scenario nosuch --quick

# Every scenario, briefly.
"$VL_BIN" chaos run --quick --seed "$SEED" --dir "$WORK/all" >all.out 2>all.err
status=$?
check_output "chaos run --quick exits 0" 0 echo "$status"
if [ "$status" -ne 0 ]; then
	tail -n 30 all.err
fi
check "report.json and report.html are written" test -s all/report.json -a -s all/report.html
check_output "report.json: every scenario passed" True report all 'd["passed"] and all(s["passed"] or s["skipped"] for s in d["scenarios"])'
check_output "report.json: every injected corruption was detected" True \
	report all 'all(s["corruptions_detected"] == s["corruptions_injected"] > 0 for s in d["scenarios"] if s["name"] in ("bit-rot", "tamper"))'
check_output "report.json: no scenario was skipped (make check installs strace, faketime, nftables)" "[]" \
	report all '[s["name"] for s in d["scenarios"] if s["skipped"]]'
check "fsync-error: the server reopened the failed log in place" \
	grep -q '"msg":"log storage recovered"' all/fsync-error/serve.log
check "disk-full: the server reopened the log by itself once space was freed (no restart)" \
	bash -c "grep -q '\"msg\":\"log storage recovered\"' all/disk-full/serve.log && [ \$(grep -c '\"msg\":\"serving\"' all/disk-full/serve.log) = 1 ]"
check "overload: offered ten times what was acknowledged, every 503 with Retry-After" \
	grep -q 'overload: PASSED.*times the.*every one with Retry-After' all.err
check_output "report.json: no acknowledgement after an I/O error or a full disk" 0 \
	report all 'sum(s["acks_after_io_error"] for s in d["scenarios"] if s["name"] in ("fsync-error", "disk-full"))'
check_output "report.json: nothing lost, duplicated or corrupt" "0 0 0 0" \
	report all '" ".join(str(sum(s[k] for s in d["scenarios"])) for k in ("lost", "duplicated", "holes", "corrupt"))'
check_output "report.json: the load scenarios acknowledged events" True \
	report all 'all(s["acked"] > 0 for s in d["scenarios"] if s["name"] in ("crash", "pause", "partition", "fsync-error", "disk-full", "clock-skew", "overload", "power-loss"))'
check_output "report.json: each scenario has its replay command" True \
	report all 'all(s["replay"].startswith("vellum chaos run --scenario " + s["name"] + " --seed '"$SEED"'") for s in d["scenarios"])'

# The same seed draws the same schedule.
windows() { report "$1" '[w["what"] for s in d["scenarios"] for w in s["windows"] if s["name"] == "partition"]'; }
"$VL_BIN" chaos run --scenario partition --quick --seed "$SEED" --dir "$WORK/replay" \
	>replay.out 2>replay.err
check_output "a replay passes too" 0 echo $?
check_output "a replay with the same seed has the same partition schedule" "$(windows all)" windows replay
"$VL_BIN" chaos run --scenario partition --quick --seed "$((SEED + 1))" --dir "$WORK/other" >other.out 2>other.err
check "another seed draws another schedule" test "$(windows all)" != "$(windows other)"

# A server that acknowledges before writing: the checker must catch it.
if [ -x "${VL_BIN_ACK_EARLY:-}" ]; then
	"$VL_BIN_ACK_EARLY" chaos run --scenario crash --quick --seed "$SEED" --dir "$WORK/broken" \
		>broken.out 2>broken.err
	check_output "against a server that answers early, chaos run exits 1" 1 echo $?
	check_output "the report says acknowledged events were lost" True \
		report broken 'd["scenarios"][0]["lost"] > 0 and not d["passed"]'
else
	check "VL_BIN_ACK_EARLY names the broken test server" false
fi
