#!/usr/bin/env bash
# kill.sh — end-to-end test of "acknowledged means durable" against kill -9:
# `vellum append` is killed at random moments, hundreds of times; every
# append that reported success must then be in the log with exactly its
# bytes at exactly its indexes, batches must be all or nothing, and the
# log must reopen, checkpoint and verify.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# VL_KILL_ROUNDS (default 200) and VL_KILL_SEED (default: random, printed)
# replay a run.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
ROUNDS=${VL_KILL_ROUNDS:-200}
SEED=${VL_KILL_SEED:-$((($$ + $(date +%s)) % 32768))}
RANDOM=$SEED
echo "kill.sh: $ROUNDS rounds, seed $SEED (VL_KILL_SEED=$SEED replays the choices)"

vellum keygen kill.example/log -o k.key >k.vkey
vellum init log --key k.key >/dev/null

# Over 4096 lines take two batches, so some kills land between batches.
: >acked     # "RUN N FIRST LAST" per append that printed "appended"
: >runs      # "RUN N" per append started

# now_us: microseconds of the wall clock.
now_us() {
	local t=${EPOCHREALTIME/./}
	echo $((10#$t))
}

# Kills land from a little before the program starts appending (after
# start-up and opening the log, which take long in a sanitizer build) to a
# little after a whole append would be done: at least 0..30 ms.
shortest_start=999999999
for i in 1 2 3; do
	start=$(now_us)
	vellum append log </dev/null >/dev/null
	elapsed=$(($(now_us) - start))
	[ "$elapsed" -lt "$shortest_start" ] && shortest_start=$elapsed
done
durations=()
for i in 1 2 3; do
	seq -f "event-c$i-%.0f" 1 12000 >input
	echo "c$i 12000" >>runs
	start=$(now_us)
	vellum append log <input >out
	elapsed=$(($(now_us) - start))
	read -r word count colon range <out && echo "c$i $count ${range%..*} ${range#*..}" >>acked
	durations+=("$elapsed")
done
# The median: one append slowed down by a busy machine must not stretch
# every round.
longest=$(printf '%s\n' "${durations[@]}" | sort -n | sed -n 2p)
KILL_FROM_US=$((shortest_start * 9 / 10))
KILL_TO_US=$((longest * 11 / 10))
[ "$KILL_TO_US" -lt 30000 ] && KILL_TO_US=30000
[ "$KILL_FROM_US" -gt $((KILL_TO_US / 2)) ] && KILL_FROM_US=$((KILL_TO_US / 2))
echo "kill.sh: an empty append takes $((shortest_start / 1000)) ms, a whole one about $((longest / 1000)) ms;" \
	"kills land $((KILL_FROM_US / 1000))..$((KILL_TO_US / 1000)) ms after the start"

completed_unreported=0
checkpoint_failures=0
killed=0
for run in $(seq 1 "$ROUNDS"); do
	n=$((2000 + RANDOM % 10000))
	seq -f "event-$run-%.0f" 1 "$n" >input
	echo "$run $n" >>runs
	"$VL_BIN" append log <input >out 2>>stderr.log &
	pid=$!
	if [ $((run % 6)) -eq 0 ]; then
		# Some appends run to completion: they must all report success.
		wait "$pid"
		grep -q '^appended' out || completed_unreported=$((completed_unreported + 1))
	else
		delay=$((RANDOM * 32768 + RANDOM))
		delay=$((KILL_FROM_US + delay % (KILL_TO_US - KILL_FROM_US + 1)))
		sleep "$((delay / 1000000)).$(printf '%06d' $((delay % 1000000)))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		grep -q '^appended' out || killed=$((killed + 1))
	fi
	if read -r word count colon range <out && [ "$word" == appended ]; then
		echo "$run $count ${range%..*} ${range#*..}" >>acked
	fi
	# Keep the WAL tail that each open replays short.
	if [ $((run % 20)) -eq 0 ]; then
		vellum checkpoint log >/dev/null 2>>stderr.log || checkpoint_failures=$((checkpoint_failures + 1))
	fi
done

check completed_appends_reported_success test "$completed_unreported" -eq 0
check periodic_checkpoints_succeeded test "$checkpoint_failures" -eq 0
check kills_interrupted_appends test "$killed" -ge $((ROUNDS / 4))
check some_killed_appends_were_acknowledged test "$(wc -l <acked)" -gt $((ROUNDS / 6))
echo "kill.sh: $killed of $ROUNDS appends killed before acknowledging," \
	"$(wc -l <acked) acknowledged," \
	"$(grep -c 'recovered' stderr.log) recoveries"

check log_reopens_and_checkpoints bash -c "'$VL_BIN' checkpoint log >final.cp"
check_output log_verifies_after_kills "OK kill.example/log $(sed -n 2p final.cp) $(checkpoint_root final.cp)" \
	vellum verify log --vkey k.vkey

# Spot checks through `vellum get`: the first and last entry of every
# acknowledged append.
get_spot_checks() {
	local run count first last bad=0
	while read -r run count first last; do
		[ "$(vellum get log "$first")" == "event-$run-1" ] || { echo "entry $first"; bad=1; }
		[ "$(vellum get log "$last")" == "event-$run-$count" ] || { echo "entry $last"; bad=1; }
	done <acked
	return $bad
}
check acked_first_and_last_entries_via_get get_spot_checks

# The full check reads every entry from the verified, exported tree.
vellum export log tree >/dev/null
check_every_entry() {
	python3 - tree runs acked >every.txt 2>&1 <<'EOF'
import os, sys

tree, runs_file, acked_file = sys.argv[1:4]

def tile_path(n, width):
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    parts = ["x%03d" % g for g in reversed(groups[1:])] + ["%03d" % groups[0]]
    path = os.path.join(tree, "tile", "entries", *parts)
    return path if width == 256 else path + ".p/%d" % width

with open(os.path.join(tree, "checkpoint")) as f:
    size = int(f.read().split("\n")[1])
entries = []
for n in range((size + 255) // 256):
    width = min(256, size - 256 * n)
    data = open(tile_path(n, width), "rb").read()
    off = 0
    while off < len(data):
        ln = int.from_bytes(data[off:off + 2], "big")
        entries.append(data[off + 2:off + 2 + ln].decode())
        off += 2 + ln
assert len(entries) == size, "bundles hold %d entries, checkpoint says %d" % (len(entries), size)

errors = []
totals = {r: int(n) for r, n in (l.split() for l in open(runs_file))}
for line in open(acked_file):
    run, *numbers = line.split()
    count, first, last = map(int, numbers)
    if count != totals[run] or last - first + 1 != count:
        errors.append("run %s: reported %d entries %d..%d of %d" % (run, count, first, last, totals[run]))
        continue
    for i in range(count):
        if first + i >= size or entries[first + i] != "event-%s-%d" % (run, i + 1):
            errors.append("run %s: entry %d is %r" % (run, first + i,
                          entries[first + i] if first + i < size else None))
            break

# Every entry is one a run wrote, once, and each run's entries form one
# dense, ordered block of whole batches (4096 entries, or all of them).
seen = {}
for index, e in enumerate(entries):
    parts = e.split("-")
    if len(parts) != 3 or parts[0] != "event" or parts[1] not in totals:
        errors.append("entry %d: foreign bytes %r" % (index, e))
        break
    run, i = parts[1], int(parts[2])
    start, k = seen.get(run, (index - i + 1, 0))
    if index != start + i - 1 or i != k + 1:
        errors.append("entry %d: %r out of place" % (index, e))
        break
    seen[run] = (start, i)
partial = 0
for run, (start, k) in seen.items():
    if k != totals[run]:
        partial += 1
        if k % 4096 != 0:
            errors.append("run %s: %d of %d entries present, not whole batches" % (run, k, totals[run]))

for e in errors[:20]:
    print(e)
print("%d entries of %d runs checked; %d runs were cut between batches" % (size, len(seen), partial))
sys.exit(1 if errors else 0)
EOF
	local rc=$?
	cat every.txt
	return $rc
}
check acked_entries_exact_at_their_indexes check_every_entry
echo "kill.sh: $(tail -n 1 every.txt)"
