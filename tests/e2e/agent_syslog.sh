#!/usr/bin/env bash
# agent_syslog.sh — end-to-end tests of `vellum agent --source
# syslog:ADDR:PORT` against a real `vellum serve`: messages over TCP
# (octet counting, LF framing, and both mixed on one connection, written
# in chunks that split messages) and over UDP reach the log exactly once,
# byte for byte, in order per connection; util-linux `logger` (TCP with
# either framing, UDP) when it is installed; a tiny queue that holds TCP
# senders back without losing anything; an oversize message refused and
# reported; bad addresses and a port in use; the agent's status; `vellum
# sources` without gaps and `vellum verify` of the log.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
TOOL() { python3 "$E2E_DIR/agent_syslog_tool.py" "$@"; }

start_server

# start_agent SPOOL PORT [ARGS...]: a syslog agent in the background
# ($AGENT_PID), once its TCP port listens.
start_agent() {
	local spool=$1 port=$2
	shift 2
	"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool "$spool" \
		--source "syslog:127.0.0.1:$port" --backoff-max 400 "$@" 2>>"$WORK/$spool.err" &
	AGENT_PID=$!
	BACKGROUND_PIDS+=("$AGENT_PID")
	wait_port "$port" || { echo "agent did not listen"; cat "$WORK/$spool.err"; }
}
stop_agent() { # SIGTERM; the exit status is in $STOP_STATUS
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID"
	STOP_STATUS=$?
}
status_get() { # SPOOL EXPR on status.json (as d)
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1] + "/status.json")); print(eval(sys.argv[2]))' "$1" "$2"
}
wait_status() { # SPOOL EXPR SECS: until EXPR on status.json is true
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(status_get "$1" "$2" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	return 1
}
wait_grep() { # PATTERN FILE: up to 10 s for a line matching PATTERN
	local i
	for i in $(seq 100); do
		grep -q "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}
# everything_forwarded SPOOL N: N messages read and all of them forwarded.
everything_forwarded() {
	wait_status "$1" "d['sources'][0]['position'] == $2 and d['spool_entries'] == $2 and \
		d['forwarded'] == $2" 120
}

# ------------------------------------------------------------------
# Bad addresses are usage errors; a port in use cannot be opened.

bad_spec() { # SPEC
	"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool bad \
		--source "$1"
}
check_fails "a syslog source without a port is refused" 2 "no port" bad_spec syslog:127.0.0.1
check_fails "an IPv6 address must be in brackets" 2 "in brackets" bad_spec syslog:::1:514
check_fails "a port above 65535 is refused" 2 "0\.\.65535" bad_spec syslog:127.0.0.1:65536
check_fails "a bad IPv4 address is refused" 2 "not an IPv4 address" bad_spec syslog:1.2.3.999:514

# ------------------------------------------------------------------
# TCP (two framings, concurrently) and UDP into one agent.

P1=$(free_port)
start_agent a1 "$P1"
LISTENING="\"msg\":\"listening\",\"source\":\"syslog:127.0.0.1:$P1\""
check "the agent says where it listens" \
	wait_grep "$LISTENING,\"detail\":\"tcp port $P1, udp port $P1;" a1.err
check_fails "a second agent on the same port cannot open it" 3 "cannot open a source.*in use" \
	"$VL_BIN" agent --server "$SURL" --log default --token-file "$STOKEN" --spool busy \
	--source "syslog:127.0.0.1:$P1"

TOOL send-tcp "$P1" octet oc 1500 want-oc 1 &
S1=$!
TOOL send-tcp "$P1" lf lf 1500 want-lf 2 &
S2=$!
check "500 UDP datagrams sent (paced)" TOOL send-udp "$P1" ud 500 want-ud 2
wait "$S1"
check "1500 octet-counted messages sent over TCP" test $? -eq 0
wait "$S2"
check "1500 LF-framed messages sent over TCP" test $? -eq 0
TOTAL=3500
HAS=()
if command -v logger >/dev/null; then
	check "logger --tcp (LF framing)" \
		logger --tcp --server 127.0.0.1 --port "$P1" -t e2e "logger tcp lf message"
	check "logger --tcp --octet-count" \
		logger --tcp --octet-count --server 127.0.0.1 --port "$P1" -t e2e \
		"logger tcp octet message"
	check "logger -d (UDP)" \
		logger -d --server 127.0.0.1 --port "$P1" -t e2e "logger udp message"
	TOTAL=$((TOTAL + 3))
	HAS=("has=logger tcp lf message" "has=logger tcp octet message" "has=logger udp message")
else
	echo "logger is not installed: its checks are skipped"
fi
check "all $TOTAL messages spooled and forwarded" everything_forwarded a1 "$TOTAL"
check_output "the source is reading" reading status_get a1 'd["sources"][0]["state"]'
check "vellum agent status of the running agent" "$VL_BIN" agent status --spool a1
stop_agent
check_output "the agent exits 0 on SIGTERM" 0 echo "$STOP_STATUS"
A1=$(cat a1/agent-id)
check "TCP and UDP: each message in the log once, exact, in order per connection" \
	TOOL check "$SURL" "$(cat "$STOKEN")" "$A1" "syslog:127.0.0.1:$P1" "$TOTAL" \
	oc=want-oc lf=want-lf ud=want-ud "${HAS[@]}"

# ------------------------------------------------------------------
# A queue of 8 messages: TCP senders are held back, nothing is lost.

P2=$(free_port)
VA_SYSLOG_QUEUE_MAX=8 start_agent a2 "$P2"
SENDERS=()
for c in 1 2 3; do
	TOOL send-tcp "$P2" mixed "m$c" 1000 "want-m$c" "$c" &
	SENDERS+=($!)
done
SENT_OK=0
for pid in "${SENDERS[@]}"; do
	wait "$pid" && SENT_OK=$((SENT_OK + 1))
done
check "3 x 1000 messages with mixed framing sent" test "$SENT_OK" -eq 3
check "an oversize message closes its connection" TOOL oversize "$P2"
check "all 3000 spooled and forwarded" everything_forwarded a2 3000
check "the full queue was reported" wait_grep '"msg":"syslog queue full"' a2.err
check "the oversize message was reported" \
	wait_grep 'MSG-LEN exceeds the maximum message size 64511' a2.err
stop_agent
check_output "the second agent exits 0 on SIGTERM" 0 echo "$STOP_STATUS"
check "held back: each message once, exact, in order per connection" \
	TOOL check "$SURL" "$(cat "$STOKEN")" "$(cat a2/agent-id)" "syslog:127.0.0.1:$P2" 3000 \
	m1=want-m1 m2=want-m2 m3=want-m3

# ------------------------------------------------------------------
# The server's view.

check "vellum sources reports nothing missing" \
	env VELLUM_TOKEN="$(cat "$STOKEN")" "$VL_BIN" sources "$SURL"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "the log verifies" "$VL_BIN" verify "$DATA/default" --vkey "$DATA/default.vkey"
