# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the scripts that source it
# lib.sh — what the server benchmarks (bench/serve_bench.sh,
# bench/agent_bench.sh) share: a scratch directory and the processes to stop
# on exit, and a `vellum serve` on a free port of 127.0.0.1.  Sourced, not
# run:
#
#   HERE=$(cd "$(dirname "$0")" && pwd)
#   . "$HERE/lib.sh"
#   bench_setup BUILD_DIR NAME
#   bench_start_server
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

# bench_setup BUILD_DIR NAME: sets VELLUM and LOADGEN (the binaries of
# BUILD_DIR), WORK (a fresh /var/tmp/vellum-NAME-bench-XXXXXX) and PIDS (the
# background processes bench_cleanup stops), and runs bench_cleanup on exit.
bench_setup() {
	VELLUM=$(realpath "$1/src/cli/vellum")
	LOADGEN=$(realpath "$1/bench/loadgen")
	WORK=$(mktemp -d "/var/tmp/vellum-$2-bench-XXXXXX")
	PIDS=()
	trap bench_cleanup EXIT
}

# bench_cleanup: stops every process in PIDS and removes WORK.
bench_cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}

# bench_free_port: prints a TCP port free on 127.0.0.1 at the time of asking.
bench_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_start_server: starts `vellum serve` on a free port of 127.0.0.1 with
# its data in WORK/data and its config in WORK/vellum.ini (a checkpoint every
# second, log level warn), stdout and stderr in WORK/serve.out and
# WORK/serve.err; waits up to about 10 s for /healthz to answer; sets PORT,
# SURL (http://127.0.0.1:PORT), SERVER (its PID, also added to PIDS) and
# TOKEN (the admin token).
bench_start_server() {
	PORT=$(bench_free_port)
	SURL="http://127.0.0.1:$PORT"
	cat >"$WORK/vellum.ini" <<-EOF
		[server]
		checkpoint_interval = 1s
		log_level = warn
	EOF
	"$VELLUM" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --config "$WORK/vellum.ini" \
		>"$WORK/serve.out" 2>"$WORK/serve.err" &
	SERVER=$!
	PIDS+=("$SERVER")
	for _ in $(seq 100); do curl -sf "$SURL/healthz" >/dev/null && break; sleep 0.1; done
	TOKEN=$(cat "$WORK/data/admin.token")
}

# field NAME LINE: the value of NAME=VALUE in LINE (loadgen's last line).
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ratio A B: A / B to two decimals, or n/a if either is empty or B is 0.
ratio() { python3 -c 'import sys; a, b = sys.argv[1:]; print("%.2f" % (float(a) / float(b)) if a and b and float(b) else "n/a")' "$1" "$2"; }
