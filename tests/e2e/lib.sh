# lib.sh — helpers for the end-to-end tests of the vellum binary: a
# scratch directory removed at exit, checks that count passes and
# failures, byte surgery on files, and cmocka-style summary lines.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# Source it from a test script; the script then calls check* and nothing
# else is needed: the summary is printed, and the exit status set, at exit.
#
# Environment: VL_BIN (the vellum binary, required), VL_VECTORS (test
# vectors directory), VL_EXAMPLES (sample inputs directory).

set -u

if [ -z "${VL_BIN:-}" ] || [ ! -x "$VL_BIN" ]; then
	echo "VL_BIN must name the vellum binary (got '${VL_BIN:-}')" >&2
	exit 1
fi
VL_BIN=$(realpath "$VL_BIN")
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VL_VECTORS=$(realpath "${VL_VECTORS:-$E2E_DIR/../vectors}")
VL_EXAMPLES=$(realpath "${VL_EXAMPLES:-$E2E_DIR/../../examples}")

TESTS_RUN=0
TESTS_PASSED=0
E2E_START=$SECONDS
FAILED_TESTS=()
BACKGROUND_PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vellum-e2e.XXXXXX")

finish() {
	local status=$? pid
	for pid in "${BACKGROUND_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
	# A script that died half-way (say, on an unset variable) must not
	# look like a pass of the checks it did reach.
	if [ "$TESTS_RUN" -eq 0 ] || [ "$status" -ne 0 ]; then
		echo "e2e: $(basename "$0") stopped early (status $status)" >&2
		FAILED_TESTS+=("$(basename "$0" .sh)_script")
		TESTS_RUN=$((TESTS_RUN + 1))
	fi
	echo "[==========] $TESTS_RUN test(s) run."
	echo "[  PASSED  ] $TESTS_PASSED test(s)."
	if [ ${#FAILED_TESTS[@]} -gt 0 ]; then
		echo "[  FAILED  ] ${#FAILED_TESTS[@]} test(s), listed below:"
		local name
		for name in "${FAILED_TESTS[@]}"; do
			echo "[  FAILED  ] $name"
		done
		exit 1
	fi
	exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

vellum() {
	"$VL_BIN" "$@"
}

# record NAME OK COMMAND OUTPUT: counts one test; on failure prints the
# command and what it printed.
record() {
	local name=$1 ok=$2 cmd=$3 out=$4
	TESTS_RUN=$((TESTS_RUN + 1))
	local at=$((SECONDS - E2E_START))
	if [ "$ok" -eq 1 ]; then
		TESTS_PASSED=$((TESTS_PASSED + 1))
		echo "[       OK ] $name (at ${at} s)"
	else
		FAILED_TESTS+=("$name")
		echo "[  FAILED  ] $name (at ${at} s)"
		echo "    command: $cmd"
		if [ -n "$out" ]; then
			printf '%s\n' "$out" | head -n 40 | sed 's/^/    | /'
		fi
	fi
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		record "$name" 1 "$*" ""
	else
		record "$name" 0 "$*" "$out
(exit status $rc)"
	fi
}

# check_status NAME STATUS CMD...: passes when CMD exits with STATUS.
check_status() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq "$want" ]; then
		record "$name" 1 "$*" ""
	else
		record "$name" 0 "$*" "$out
(exit status $rc, expected $want)"
	fi
}

# check_fails NAME STATUS REGEX CMD...: passes when CMD exits with STATUS,
# prints nothing on stdout, and its stderr matches the extended REGEX.
check_fails() {
	local name=$1 want=$2 regex=$3 rc
	shift 3
	"$@" >"$WORK/.stdout" 2>"$WORK/.stderr"
	rc=$?
	if [ $rc -eq "$want" ] && [ ! -s "$WORK/.stdout" ] && grep -Eq -- "$regex" "$WORK/.stderr"; then
		record "$name" 1 "$*" ""
	else
		record "$name" 0 "$*" "stdout: $(head -c 2000 "$WORK/.stdout")
stderr: $(head -c 2000 "$WORK/.stderr")
(exit status $rc, expected $want; stderr should match /$regex/)"
	fi
}

# check_output NAME EXPECTED CMD...: passes when CMD exits 0 and its stdout
# is exactly EXPECTED (command substitution drops one final newline).
check_output() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>"$WORK/.stderr")
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" == "$want" ]; then
		record "$name" 1 "$*" ""
	else
		record "$name" 0 "$*" "got:      $out
expected: $want
stderr: $(head -c 2000 "$WORK/.stderr")
(exit status $rc)"
	fi
}

# flip_byte FILE OFFSET: xors one byte with 0x01 in place.
flip_byte() {
	local file=$1 off=$2 byte
	byte=$(od -An -tu1 -j "$off" -N1 "$file" | tr -d ' ')
	[ -n "$byte" ] || { echo "flip_byte: $file has no byte $off" >&2; return 1; }
	printf "$(printf '\\%03o' $((byte ^ 1)))" |
		dd of="$file" bs=1 seek="$off" count=1 conv=notrunc status=none
}

# start_server: `vellum serve` on $WORK/data at 127.0.0.1:$SPORT (a free
# port is picked on the first call) in the background; sets SPORT, SURL,
# DATA, STOKEN (the admin token file) and SERVER_PID.  Called again after
# the server stopped, it starts it again on the same port and data.
start_server() {
	SPORT=${SPORT:-$(free_port)}
	SURL="http://127.0.0.1:$SPORT"
	DATA=$WORK/data
	STOKEN=$DATA/admin.token
	"$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$SPORT" \
		>>"$WORK/serve.out" 2>>"$WORK/serve.err" &
	SERVER_PID=$!
	BACKGROUND_PIDS+=("$SERVER_PID")
	wait_port "$SPORT" || { echo "server did not start"; tail -n 5 "$WORK/serve.err"; }
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: up to 10 s for something to listen on 127.0.0.1:PORT.
wait_port() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# checkpoint_root FILE: the root hash line of a signed checkpoint note.
checkpoint_root() {
	sed -n 3p "$1"
}
