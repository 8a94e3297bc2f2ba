#!/usr/bin/env bash
# proxy.sh — end-to-end tests of `vellum chaos proxy`: byte-exact
# pass-through on concurrent connections, then each fault through the
# control protocol (blackhole, reset, refuse, latency with and without
# jitter, throttle, half-open) and healing it, a fault window given on the
# command line, the seed reproducing the printed schedule and the jitter
# actually applied, the status JSON, bad arguments (exit 2) and a clean
# stop on SIGTERM and SIGINT.  The upstream is the echo server of
# proxy_tool.py, whose clients measure what the proxy does.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
TOOL() { python3 "$E2E_DIR/proxy_tool.py" "$@"; }

# wait_file FILE: up to 10 s for FILE to exist.
wait_file() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

python3 "$E2E_DIR/proxy_tool.py" echo up.port --log echo.log 2>echo.err &
BACKGROUND_PIDS+=("$!")
wait_file up.port || { echo "the echo server did not start"; cat echo.err; exit 1; }
UP=$(cat up.port)

# start_proxy NAME [ARGS...]: a proxy in the background, on free ports;
# sets PROXY_PID, P (its port) and C (its control port); stderr in NAME.err.
start_proxy() {
	local name=$1
	shift
	rm -f "$name.port"
	"$VL_BIN" chaos proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$UP" \
		--control 127.0.0.1:0 --port-file "$name.port" "$@" 2>"$name.err" &
	PROXY_PID=$!
	BACKGROUND_PIDS+=("$PROXY_PID")
	wait_file "$name.port" || { echo "proxy $name did not start"; cat "$name.err"; }
	P=$(sed -n 1p "$name.port")
	C=$(sed -n 2p "$name.port")
}
# stop_proxy [SIGNAL]: the exit status is in $STOP_STATUS.
stop_proxy() {
	kill "-${1:-TERM}" "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID"
	STOP_STATUS=$?
}
# ctl LINE: sends one command to the control port, prints the reply.
ctl() {
	local reply
	exec 3<>"/dev/tcp/127.0.0.1/$C" || return 1
	printf '%s\n' "$1" >&3
	IFS= read -r -t 10 reply <&3
	exec 3<&-
	printf '%s\n' "$reply"
}
status() { TOOL status "$C" "$1"; }

# ------------------------------------------------------------------ pass-through

start_proxy main --seed 1
check "pass-through: 4 connections x 10 MiB echoed byte-exact" TOOL pass "$P" 4 10m
check_output "status: bytes both ways, connections" "True" \
	status 'd["bytes_up"] == d["bytes_down"] >= 4 * 10485760 and d["connections_total"] >= 4'
check_output "status: the fields" \
	"['active', 'bytes_discarded', 'bytes_down', 'bytes_up', 'connections_open', 'connections_total', 'faults_applied', 'listening', 'pending', 'resets', 't']" \
	status 'sorted(d)'
check_output "status: nothing active, listening" "[] [] True 0" \
	status '" ".join(map(str, (d["active"], d["pending"], d["listening"], d["faults_applied"])))'

# ------------------------------------------------------------------ blackhole

check_output "blackhole: added" "ok fault blackhole" ctl "fault blackhole"
check_output "blackhole: status lists it" "['blackhole'] 1" \
	status 'str(d["active"]) + " " + str(d["faults_applied"])'
check "blackhole: a new connection hears nothing for 1.5 s" TOOL silent "$P" 1.5
check_output "blackhole: the bytes sent were discarded" "True" status 'd["bytes_discarded"] > 0'
check_output "blackhole: heal" "ok healed 1" ctl "heal"
check "blackhole: after heal a new connection works" TOOL rtt "$P" 2 0 1000
check "blackhole: an established connection is held, then reset after heal" \
	TOOL held "$P" "$C" blackhole 1

# ------------------------------------------------------------------ reset

check "reset: an open connection is reset" TOOL reset-open "$P" "$C"
check "reset: a new connection is reset" TOOL expect-reset "$P"
check_output "reset: heal by name" "ok healed 1" ctl "heal reset"
check "reset: after heal a new connection works" TOOL rtt "$P" 2 0 1000

# ------------------------------------------------------------------ refuse

check_output "refuse: added" "ok fault refuse" ctl "fault refuse"
check "refuse: connecting is refused" TOOL expect-refused "$P"
check_output "refuse: status says not listening" "False" status 'd["listening"]'
check_output "refuse: heal" "ok healed 1" ctl "heal"
check "refuse: after heal the same port accepts" TOOL rtt "$P" 2 0 1000

# ------------------------------------------------------------------ latency

check_output "latency=200: added" "ok fault latency=200" ctl "fault latency=200"
check "latency=200: each round trip takes >= 400 ms (200 each way)" TOOL rtt "$P" 3 400 1500
check_output "latency: heal" "ok healed 1" ctl "heal latency"
check "latency: after heal round trips are < 200 ms" TOOL rtt "$P" 3 0 200
check_output "latency=100~50: added" "ok fault latency=100~50" ctl "fault latency=100~50"
check "latency=100~50: 10 round trips within [100, 300] ms (+50 slack)" TOOL rtt "$P" 10 100 350
check_output "latency=100~50: heal" "ok healed 1" ctl "heal"

# ------------------------------------------------------------------ throttle

check_output "throttle=100k: added" "ok fault throttle=100k" ctl "fault throttle=100k"
check "throttle=100k: echoing 300 KiB takes >= 2.5 s" TOOL transfer "$P" 300k 2.5 6
check_output "throttle + latency: both active" "ok fault latency=50" ctl "fault latency=50"
check_output "throttle + latency: status lists both" "['throttle=100k', 'latency=50']" \
	status 'd["active"]'
check "throttle + latency: a round trip takes >= 100 ms" TOOL rtt "$P" 2 100 1000
check_output "throttle: heal" "ok healed 2" ctl "heal"
check "throttle: after heal 300 KiB echo in < 2 s" TOOL transfer "$P" 300k 0 2

# ------------------------------------------------------------------ half-open

check "half-open: an established connection hears nothing, its upstream is closed" \
	TOOL held "$P" "$C" half-open 2 echo.log
check_output "half-open: added" "ok fault half-open" ctl "fault half-open"
check "half-open: a new connection hears nothing and is not closed for 2 s" TOOL silent "$P" 2
check_output "half-open: heal" "ok healed 1" ctl "heal half-open"
check "half-open: after heal a new connection works" TOOL rtt "$P" 2 0 1000

# ------------------------------------------------------------------ control protocol

check_output "control: a bad spec" \
	"error: unknown fault 'nonsense' (one of blackhole, reset, refuse, half-open, latency=MS[~JITTER_MS], throttle=RATE)" \
	ctl "fault nonsense"
check_output "control: an unknown command" \
	"error: unknown command 'frobnicate' (fault SPEC, heal [NAME], status)" ctl "frobnicate"
check_output "control: heal of an unknown name" "error: no fault named 'gremlins'" ctl "heal gremlins"
check_output "control: heal of a kind that is not on" "ok healed 0" ctl "heal throttle"
check_output "control: a windowed fault is pending" "ok fault blackhole@100+1" \
	ctl "fault blackhole@100+1"
check_output "control: status lists it as pending" "[] ['blackhole@100+1']" \
	status 'str(d["active"]) + " " + str(d["pending"])'
check_output "control: heal by its text" "ok healed 1" ctl "heal blackhole@100+1"
check_output "control: faults applied so far" "True" status 'd["faults_applied"] == 10 and d["resets"] >= 3'

check_fails "listen: an address in use is a runtime error" 3 "cannot listen on 127.0.0.1:$P" \
	vellum chaos proxy --listen "127.0.0.1:$P" --upstream "127.0.0.1:$UP"
stop_proxy TERM
check "SIGTERM: exit 0" test "$STOP_STATUS" -eq 0
check "stop: a stop line on stderr" grep -q '"event":"stop","t":.*"signal":15' main.err

# ------------------------------------------------------------------ windows

start_proxy window --fault 'blackhole@2.5+2'
check "window blackhole@2.5+2: works before 2.5 s, silent from 2.5 s, reset at 4.5 s, works after" \
	TOOL window "$P" "$C" 2.5 4.5
check_output "window: started at 2.5 s and stopped at 4.5 s (JSON lines)" "start 2.5 stop 4.5 window" \
	python3 -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
st = [e for e in ev if e["event"] == "fault_start"]
sp = [e for e in ev if e["event"] == "fault_stop"]
print("start", 2.5 if len(st) == 1 and 2.5 <= st[0]["t"] < 2.7 else st,
      "stop", 4.5 if len(sp) == 1 and 4.5 <= sp[0]["t"] < 4.7 else sp, sp[0]["reason"])' window.err
stop_proxy INT
check "SIGINT: exit 0" test "$STOP_STATUS" -eq 0

# ------------------------------------------------------------------ seed

SPECS=(--fault 'latency=100~50' --fault 'throttle=64k@5+1.5' --fault 'blackhole@10+0.25')
schedule() { grep -E '"event":"(seed|schedule)"' "$1"; }
start_proxy seed1 --seed 42 "${SPECS[@]}"
check "seed: the round trips follow the printed jitter draws" TOOL jitter "$P" seed1.err
stop_proxy
start_proxy seed2 --seed 42 "${SPECS[@]}"
check "seed: the jitter repeats in a second run" TOOL jitter "$P" seed2.err
stop_proxy
start_proxy seed3 --seed 43 "${SPECS[@]}"
stop_proxy
check "seed: same seed, same schedule lines" cmp <(schedule seed1.err) <(schedule seed2.err)
check "seed: 4 lines: the seed and 3 faults" test "$(schedule seed1.err | wc -l)" -eq 4
check_output "seed: the schedule" \
	'{"event":"seed","seed":42}
{"event":"schedule","fault":"throttle=64k@5+1.5","kind":"throttle","start":5,"end":6.5}
{"event":"schedule","fault":"blackhole@10+0.25","kind":"blackhole","start":10,"end":10.25}' \
	grep -Ev 'latency' seed1.err -m 3
check "seed: delays within 100 +- 50" python3 -c 'import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if "delays_ms" in l][0]["delays_ms"]
sys.exit(not (len(d) == 8 and all(50 <= x <= 150 for x in d) and len(set(d)) > 1))' seed1.err
check "seed: another seed, other delays" \
	bash -c '! cmp -s <(grep delays_ms "$1") <(grep delays_ms "$2")' _ seed1.err seed3.err

# ------------------------------------------------------------------ bad arguments

for bad in 'bogus|unknown fault .bogus.' \
	'latency=abc|latency takes MS or MS~JITTER_MS' \
	'latency=10~20|jitter 20 is larger than the latency 10' \
	'latency|needs a value' \
	'throttle=0|throttle takes a rate' \
	'throttle=5g|throttle takes a rate' \
	'blackhole@5|a window is @START\+DURATION' \
	'blackhole@1+0|a window is @START\+DURATION' \
	'reset@1.2345+1|a window is @START\+DURATION' \
	'half open|printable ASCII without spaces'; do
	spec=${bad%%|*}
	re=$(printf '%s' "$spec" | sed 's/[][\.*^$+?(){}|]/\\&/g')
	check_fails "bad spec '$spec': exit 2" 2 "bad --fault '$re': .*${bad#*|}" \
		vellum chaos proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$UP" --fault "$spec"
done
check_fails "missing --upstream: exit 2" 2 "missing --upstream HOST:PORT" \
	vellum chaos proxy --listen 127.0.0.1:0
check_fails "bad --listen: exit 2" 2 "bad --listen: 'nohost' is not HOST:PORT" \
	vellum chaos proxy --listen nohost --upstream "127.0.0.1:$UP"
check_fails "bad --upstream port: exit 2" 2 "bad --upstream: '127.0.0.1:99999' has no port" \
	vellum chaos proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:99999
check_fails "bad --seed: exit 2" 2 "--seed takes a whole number" \
	vellum chaos proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$UP" --seed -1
check_fails "chaos without a subcommand: exit 2" 2 "missing subcommand \(one of: run, list, proxy\)" \
	vellum chaos
check_fails "chaos with an unknown subcommand: exit 2" 2 \
	"unknown subcommand 'nosuch' \(one of: run, list, proxy\)" vellum chaos nosuch
check "chaos --help: exit 0, lists the faults" \
	bash -c '"$1" chaos --help | grep -q "half-open"' _ "$VL_BIN"
check "help lists chaos proxy" bash -c '"$1" help | grep -q "vellum chaos proxy"' _ "$VL_BIN"

# Every proxy above ran under the build's sanitizers, if any.
check "no sanitizer report from any proxy" \
	bash -c '! grep -E "Sanitizer|runtime error:" ./*.err' _
