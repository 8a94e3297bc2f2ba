#!/usr/bin/env bash
# serve.sh — end-to-end tests of `vellum serve` through real HTTP (curl) and
# real sockets: every input form, receipts verified offline, the mirrored
# read API verified, every bad input answered with its exact status and a
# JSON error body while the log stays unchanged, tokens and scopes,
# idempotent retries (also across a restart), syslog, TLS, metrics, and
# start-up refusing bad configurations.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
DATA=$WORK/data
SERVER_PID=

start_server() { # ARGS...: starts vellum serve in the background
	"$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" "$@" >"$WORK/serve.out" 2>>"$WORK/serve.err" &
	SERVER_PID=$!
	BACKGROUND_PIDS+=("$SERVER_PID")
	wait_port "$PORT" || { echo "server did not start"; cat "$WORK/serve.err"; }
}

stop_server() { # sends SIGTERM; the exit status is in $STOP_STATUS
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID"
	STOP_STATUS=$?
}

# post NAME CONTENT_TYPE BODY_FILE [CURL ARGS...]: POSTs with the admin
# token; the status goes to $WORK/status, the body to $WORK/body.
post() {
	local path=$1 ct=$2 file=$3
	shift 3
	curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		-H "Content-Type: $ct" --data-binary "@$file" "$@" "$URL$path" >"$WORK/status" 2>"$WORK/curl.err"
}

# expect_status NAME STATUS [CODE]: the last answer had STATUS, a JSON body,
# and for errors the given error code.
expect_status() {
	local name=$1 want=$2 code=${3:-} got ok=1
	got=$(cat "$WORK/status")
	[ "$got" = "$want" ] || ok=0
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/body" 2>/dev/null || ok=0
	if [ -n "$code" ]; then
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["error"]["code"]==sys.argv[2] and d["error"]["status"]==int(sys.argv[3]) else 1)' \
			"$WORK/body" "$code" "$want" 2>/dev/null || ok=0
	fi
	record "$name" $ok "status $want ${code:+code $code}" "got status $got: $(head -c 600 "$WORK/body")"
}

# json_get EXPR: evaluates a Python expression on the last body (as d).
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/body" "$1"
}

log_size() { # entries in the log, from /metrics
	curl -s "$URL/metrics" | sed -n 's/^vellum_log_entries{log="default"} \([0-9.e+]*\)$/\1/p' |
		python3 -c 'import sys; print(int(float(sys.stdin.read() or "0")))'
}

# ------------------------------------------------------------------
# First start: the embedded default.

start_server
check "first start prints the URL" grep -q "serving on $URL/" "$WORK/serve.out"
# An idle server sleeps: its threads used well under a tenth of a second
# of CPU over two seconds (a timed wait on the wrong clock once made the
# checkpointer spin on a whole core).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
IDLE0=$(cpu_ticks)
sleep 2
IDLE1=$(cpu_ticks)
check "an idle server uses (almost) no CPU" test $((IDLE1 - IDLE0)) -le $(($(getconf CLK_TCK) / 10))
check "first start prints the verifier key" grep -q "verifier key: .*+[0-9a-f]\{8\}+" "$WORK/serve.out"
check "admin token written" test -s "$DATA/admin.token"
check_output "admin token is mode 0600" 600 stat -c %a "$DATA/admin.token"
check_output "token file is mode 0600" 600 stat -c %a "$DATA/tokens"
check "verifier key file written" test -s "$DATA/default.vkey"
check "token file stores only a hash" bash -c "! grep -q \"\$(cat '$DATA/admin.token')\" '$DATA/tokens'"
check "structured log lines on stderr" python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert any(l["msg"] == "serving" for l in lines), lines
assert all("time" in l and "level" in l for l in lines)' "$WORK/serve.err"
TOKEN=$(cat "$DATA/admin.token")
VKEY=$DATA/default.vkey

curl -s -o "$WORK/body" -w '%{http_code}' "$URL/healthz" >"$WORK/status"
expect_status "healthz" 200
curl -s -o "$WORK/body" -w '%{http_code}' "$URL/readyz" >"$WORK/status"
expect_status "readyz" 200

# ------------------------------------------------------------------
# Every input form.

printf '{"actor":"alice","action":"login","ok":true}' >one.json
post /v1/logs/default/events application/json one.json
expect_status "one JSON event" 200
check_output "first event gets index 0" 0 json_get 'd["events"][0]["index"]'
LEAF0=$(json_get 'd["events"][0]["leaf_hash"]')
curl -s "$URL/v1/logs/default/entries/0" -o entry0.bin
check "entry 0 keeps the event bytes as received" bash -c "tail -c \$(stat -c %s one.json) entry0.bin | cmp -s - one.json"
check "entry 0 envelope names principal and transport" bash -c "head -c 200 entry0.bin | grep -q '^principal: admin\$' && head -c 200 entry0.bin | grep -q '^transport: http\$'"
check_output "leaf hash in the answer is SHA-256(0x00 || entry)" "$LEAF0" python3 -c '
import base64, hashlib, sys
print(base64.b64encode(hashlib.sha256(b"\0" + open(sys.argv[1], "rb").read()).digest()).decode())' entry0.bin

printf '[{"a":1},{"b":2} , {"c":[3]}]' >array.json
post /v1/logs/default/events application/json array.json
expect_status "JSON array" 200
check_output "array: three consecutive indexes" "1 2 3" json_get '" ".join(str(e["index"]) for e in d["events"])'

post /v1/logs/default/events application/x-ndjson "$VL_EXAMPLES/audit-events.ndjson"
expect_status "NDJSON" 200
NDJSON_LINES=$(grep -c . "$VL_EXAMPLES/audit-events.ndjson")
check_output "NDJSON: one entry per line" "$NDJSON_LINES" json_get 'len(d["events"])'

python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
json.dump(b[0], open("ce-one.json", "w"))' "$VL_EXAMPLES/cloudevents-batch.json"
post /v1/logs/default/events application/cloudevents+json ce-one.json
expect_status "CloudEvent, structured" 200
CE_INDEX=$(json_get 'd["events"][0]["index"]')
post /v1/logs/default/events application/cloudevents-batch+json "$VL_EXAMPLES/cloudevents-batch.json"
expect_status "CloudEvents batch" 200
CE_COUNT=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$VL_EXAMPLES/cloudevents-batch.json")
check_output "CloudEvents batch: the first event is a retry of the single one" "$CE_INDEX True" \
	json_get '"%d %s" % (d["events"][0]["index"], d["events"][0].get("replayed", False))'
check_output "CloudEvents batch: the others are new" "$((CE_COUNT - 1))" \
	json_get 'sum(1 for e in d["events"] if not e.get("replayed"))'
SIZE_BEFORE=$(log_size)
post /v1/logs/default/events application/cloudevents-batch+json "$VL_EXAMPLES/cloudevents-batch.json"
expect_status "CloudEvents batch sent again" 200
check_output "CloudEvents batch again: every event replayed" "$CE_COUNT" \
	json_get 'sum(1 for e in d["events"] if e.get("replayed"))'
check_output "CloudEvents batch again: nothing written" "$SIZE_BEFORE" log_size

post /v1/logs/default/k8s-audit application/json "$VL_EXAMPLES/k8s-audit-eventlist.json"
expect_status "Kubernetes audit EventList" 200
K8S_COUNT=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$VL_EXAMPLES/k8s-audit-eventlist.json")
check_output "k8s: one entry per audit event" "$K8S_COUNT" json_get 'len(d["events"])'
K8S_FIRST=$(json_get 'd["events"][0]["index"]')
curl -s "$URL/v1/logs/default/entries/$K8S_FIRST" -o k8s0.bin
check "k8s entry has transport k8s-audit" grep -q '^transport: k8s-audit$' k8s0.bin
SIZE_BEFORE=$(log_size)
post /v1/logs/default/k8s-audit application/json "$VL_EXAMPLES/k8s-audit-eventlist.json"
check_output "k8s webhook retry: deduplicated by auditID and stage" "$SIZE_BEFORE $K8S_COUNT" \
	bash -c "echo \$(curl -s '$URL/metrics' | sed -n 's/^vellum_log_entries{log=\"default\"} \\([0-9]*\\)\$/\\1/p') \$(python3 -c 'import json; print(sum(1 for e in json.load(open(\"$WORK/body\"))[\"events\"] if e.get(\"replayed\")))')"

# ------------------------------------------------------------------
# Receipts and the read API.

printf '{"actor":"bob","action":"deploy","service":"payments"}' >wait.json
post "/v1/logs/default/events?wait=checkpoint" application/json wait.json
expect_status "wait=checkpoint" 200
python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["events"][0]["receipt"])' "$WORK/body" >receipt.txt
WAIT_INDEX=$(json_get 'd["events"][0]["index"]')
curl -s "$URL/v1/logs/default/entries/$WAIT_INDEX" -o wait-entry.bin
check "receipt from wait=checkpoint verifies offline" vellum verify --vkey "$VKEY" --receipt receipt.txt --entry wait-entry.bin
check_fails "receipt does not verify another entry" 1 "." vellum verify --vkey "$VKEY" --receipt receipt.txt --entry entry0.bin
curl -s "$URL/v1/logs/default/receipt/0" -o receipt0.txt
check "GET receipt verifies offline" vellum verify --vkey "$VKEY" --receipt receipt0.txt --entry entry0.bin
check "the read API verifies with vellum verify" vellum verify "$URL/logs/default/" --vkey "$VKEY"
curl -s -D headers.txt -o cp.txt "$URL/logs/default/checkpoint"
check "checkpoint is text/plain" grep -qi '^content-type: text/plain' headers.txt
check "checkpoint carries the log's origin" bash -c "head -1 cp.txt | grep -q /vellum/default"
curl -s -D headers.txt -o /dev/null "$URL/logs/default/tile/entries/000.p/1"
check "partial tile served as octet-stream" grep -qi '^content-type: application/octet-stream' headers.txt
curl -s -o "$WORK/body" -w '%{http_code}' "$URL/v1/logs/default/proof/inclusion?index=0" >"$WORK/status"
expect_status "inclusion proof" 200
curl -s -o "$WORK/body" -w '%{http_code}' "$URL/v1/logs/default/proof/consistency?old=1" >"$WORK/status"
expect_status "consistency proof" 200
check "consistency proof has hashes" bash -c "[ \$(python3 -c 'import json; print(len(json.load(open(\"$WORK/body\"))[\"proof\"]))') -ge 1 ]"

# ------------------------------------------------------------------
# Bad input: exact status, JSON error, nothing written.

SIZE_BEFORE=$(log_size)
printf '{"actor":"alice",}' >bad.json
post /v1/logs/default/events application/json bad.json
expect_status "malformed JSON is 400" 400 malformed_json
printf '{"a":1}\n{"b":\n' >bad.ndjson
post /v1/logs/default/events application/x-ndjson bad.ndjson
expect_status "malformed NDJSON line is 400" 400 malformed_json
post /v1/logs/default/events text/plain one.json
expect_status "wrong content type is 415" 415 unsupported_media_type
post /v1/logs/default/events application/cloudevents+json one.json
expect_status "CloudEvent without its attributes is 400" 400 missing_field
python3 -c 'import json; open("big.json","w").write(json.dumps({"pad": "x" * 65600}))'
post /v1/logs/default/events application/json big.json
expect_status "an entry over 65535 bytes is 413" 413 entry_too_large
python3 -c 'import json; open("huge.json","w").write(json.dumps([{"pad": "x" * 60000}] * 300))'
post /v1/logs/default/events application/json huge.json
expect_status "a body over max_body_bytes is 413" 413 body_too_large
curl -sS -o "$WORK/body" -w '%{http_code}' --path-as-is "$URL/logs/default/tile/../../../etc/passwd" >"$WORK/status"
expect_status "path traversal is 404" 404 not_found
curl -sS -o "$WORK/body" -w '%{http_code}' --path-as-is "$URL/logs/default/tile/0/..%2f..%2f" >"$WORK/status"
expect_status "encoded path traversal is 404" 404 not_found
post /v1/logs/nosuchlog/events application/json one.json
expect_status "unknown log is 404" 404 unknown_log
curl -sS -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @one.json \
	"$URL/v1/logs/default/events" >"$WORK/status"
expect_status "missing token is 401" 401 unauthorized
curl -sS -o "$WORK/body" -w '%{http_code}' -H 'Authorization: Bearer vlt_wrongwrongwrongwrongwrongwrongwrongwrongwro' \
	-H 'Content-Type: application/json' --data-binary @one.json "$URL/v1/logs/default/events" >"$WORK/status"
expect_status "wrong token is 401" 401 invalid_token
curl -sS -o "$WORK/body" -w '%{http_code}' -X DELETE "$URL/v1/logs/default/events" >"$WORK/status"
expect_status "wrong method is 405" 405 post_only
curl -sS -o "$WORK/body" -w '%{http_code}' "$URL/v1/logs/default/entries/999999" >"$WORK/status"
expect_status "entry beyond the log is 404" 404 not_found
curl -sS -o "$WORK/body" -w '%{http_code}' "$URL/v1/logs/default/proof/inclusion?index=abc" >"$WORK/status"
expect_status "bad proof query is 400" 400 bad_query
check_output "bad input changed nothing" "$SIZE_BEFORE" log_size

# ------------------------------------------------------------------
# Tokens: scopes, SIGHUP reload, 403 vs 401.

READER=$(vellum token reader default:read --file "$DATA/tokens" 2>/dev/null)
check "vellum token prints a new token" bash -c "[[ '$READER' =~ ^vlt_[A-Za-z0-9_-]{43}\$ ]]"
check_output "the token file stays mode 0600" 600 stat -c %a "$DATA/tokens"
check_fails "vellum token refuses a name already in the file" 2 "duplicate name" vellum token reader default:append --file "$DATA/tokens"
curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READER" "$URL/v1/logs/default/proof/inclusion?index=0" >"$WORK/status"
expect_status "a new token is unknown until SIGHUP" 401 invalid_token
kill -HUP "$SERVER_PID"
sleep 0.5
curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READER" -H 'Content-Type: application/json' \
	--data-binary @one.json "$URL/v1/logs/default/events" >"$WORK/status"
expect_status "read-only token cannot append: 403" 403 forbidden
curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READER" "$URL/v1/logs/default/proof/inclusion?index=0" >"$WORK/status"
expect_status "read-only token can read after SIGHUP" 200
check "reload logged" grep -q '"tokens loaded"' "$WORK/serve.err"

# ------------------------------------------------------------------
# Agents: POST .../forward writes each (agent, spool index) once, also when
# retried, and GET .../sources reports what is held, the gaps and the delay.
forward() { # AGENT RANGES: the status and answer go to $WORK/fwd.out
	python3 "$E2E_DIR/serve_forward.py" "$PORT" "$TOKEN" "$@" >"$WORK/fwd.out"
}
fwd_get() { # EXPR on the last forward answer (as d; its status as st)
	python3 -c 'import json,sys; l=open(sys.argv[1]).read().split("\n"); st=int(l[0]); d=json.loads(l[1]); print(eval(sys.argv[2]))' \
		"$WORK/fwd.out" "$1"
}
sources_get() { # EXPR on GET .../sources (as d), for agent host-a (as a)
	curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/logs/default/sources" >"$WORK/sources.json"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); a=[x for x in d["sources"] if x["agent"]=="host-a"][0]; print(eval(sys.argv[2]))' \
		"$WORK/sources.json" "$1"
}
SIZE_F0=$(log_size)
forward host-a 0-9
check_output "forward: ten new records are written" "200 10 0 9" fwd_get '"%d %d %d %d" % (st, d["written"], d["duplicates"], d["through"])'
forward host-a 0-9
check_output "forward: a retry writes nothing" "200 0 10 9" fwd_get '"%d %d %d %d" % (st, d["written"], d["duplicates"], d["through"])'
forward host-a 5-14
check_output "forward: an overlapping batch writes only what is new" "5 5 14" fwd_get '"%d %d %d" % (d["written"], d["duplicates"], d["through"])'
forward host-a 20-22
check_output "forward: the log holds each record once" "$((SIZE_F0 + 18))" log_size
check_output "sources: a gap is reported at the right indexes" "14 22 5 [[15, 19]]" sources_get '"%d %d %d %s" % (a["through"], a["highest"], a["missing"], a["gaps"])'
check "sources: the delay from spool to server is measured" sources_get 'a["last_delay_seconds"] >= 1.0 or sys.exit(1)'
VELLUM_TOKEN="$TOKEN" "$VL_BIN" sources "$URL" >"$WORK/sources.txt" 2>&1
check_output "vellum sources exits 1 when events are missing" 1 echo $?
check "vellum sources names the agent and the gap" grep -Eq "^host-a +14 +22 +18 +5 .* 15-19$" "$WORK/sources.txt"
check_output "forward: an entry commits to agent, spool index and origin" "agent: host-a
spool-index: 3
origin: file:/var/log/app.log" bash -c "curl -s -H 'Authorization: Bearer $TOKEN' '$URL/v1/logs/default/entries/$((SIZE_F0 + 3))' | grep -E '^(agent|spool-index|origin): '"
printf 'not a record' >bad.fwd
post /v1/logs/default/forward application/x-vellum-forward bad.fwd -H "Vellum-Agent: host-a"
expect_status "forward: a malformed body is 400" 400 malformed_forward
post /v1/logs/default/forward application/x-vellum-forward bad.fwd
expect_status "forward: no Vellum-Agent is 400" 400 bad_agent
post /v1/logs/default/forward application/json bad.fwd -H "Vellum-Agent: host-a"
expect_status "forward: the wrong content type is 415" 415 unsupported_media_type
check_output "forward: refused bodies wrote nothing" "$((SIZE_F0 + 18))" log_size

curl -s "$URL/metrics" >metrics.txt
check "metric vellum_agent_missing_events counts the gap" grep -q '^vellum_agent_missing_events{log="default"} 5$' metrics.txt
check "per-agent metrics: through and missing" bash -c "grep -q '^vellum_agent_through{log=\"default\",agent=\"host-a\"} 14\$' metrics.txt && grep -q '^vellum_agent_missing{log=\"default\",agent=\"host-a\"} 5\$' metrics.txt && grep -q '^# TYPE vellum_agent_delay_seconds gauge' metrics.txt"

# ------------------------------------------------------------------
# Idempotency keys, also across a restart.

printf '{"actor":"carol","action":"refund","amount":42}' >idem.json
post /v1/logs/default/events application/json idem.json -H "Idempotency-Key: refund-7781"
expect_status "first request with an idempotency key" 200
IDEM_INDEX=$(json_get 'd["events"][0]["index"]')
SIZE_BEFORE=$(log_size)
post /v1/logs/default/events application/json idem.json -H "Idempotency-Key: refund-7781" -D "$WORK/h"
expect_status "replayed idempotency key" 200
check_output "replay returns the original index" "$IDEM_INDEX True" \
	json_get '"%d %s" % (d["events"][0]["index"], d["events"][0].get("replayed"))'
check "replay is marked in a header" grep -qi '^Idempotent-Replayed: true' "$WORK/h"
check_output "replay wrote nothing" "$SIZE_BEFORE" log_size

curl -s "$URL/metrics" >metrics.txt
for m in vellum_events_total vellum_event_bytes_total vellum_commits_total vellum_fsync_duration_seconds_bucket \
	vellum_queue_events vellum_checkpoint_age_seconds vellum_rejects_total vellum_ack_to_checkpoint_seconds_count; do
	check "metric $m exported" grep -q "^$m" metrics.txt
done
check "rejects counted by reason" grep -q 'vellum_rejects_total{reason="entry_too_large"} 1' metrics.txt

stop_server
check_output "SIGTERM exits 0" 0 echo "$STOP_STATUS"
check "a final checkpoint was signed" grep -q '"final checkpoint signed"' "$WORK/serve.err"
SIZE_FINAL=$(python3 -c 'import sys; print(open(sys.argv[1]).read().split("\n")[1])' "$DATA/default/checkpoint")
check "the final checkpoint covers every event" test "$SIZE_FINAL" -eq "$SIZE_BEFORE"
check "the log directory verifies after shutdown" vellum verify "$DATA/default" --vkey "$VKEY"

start_server
post /v1/logs/default/events application/json idem.json -H "Idempotency-Key: refund-7781"
check_output "idempotency key remembered after a restart" "$IDEM_INDEX True" \
	json_get '"%d %s" % (d["events"][0]["index"], d["events"][0].get("replayed"))'
post /v1/logs/default/events application/json idem.json -H "Idempotency-Key: refund-7782"
check_output "a new key writes a new entry" "$SIZE_BEFORE" json_get 'd["events"][0]["index"]'
check_output "sources: an agent's state is rebuilt after a restart" "14 22 5" sources_get '"%d %d %d" % (a["through"], a["highest"], a["missing"])'
forward host-a 0-22
check_output "forward: after a restart only the gap is written" "200 5 18 22" fwd_get '"%d %d %d %d" % (st, d["written"], d["duplicates"], d["through"])'
check_output "sources: the gap is closed" "22 0 []" sources_get '"%d %d %s" % (a["through"], a["missing"], a["gaps"])'
check "vellum sources exits 0 once nothing is missing" env VELLUM_TOKEN="$TOKEN" "$VL_BIN" sources "$URL" --log default
stop_server

# ------------------------------------------------------------------
# Syslog over TCP (both framings), UDP and TLS; HTTPS.

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" -keyout tls.key -out tls.crt 2>/dev/null
SPORT=$(free_port)
TPORT=$(free_port)
cat >serve.ini <<EOF
[server]
tls_cert = $WORK/tls.crt
tls_key = $WORK/tls.key
checkpoint_interval = 200ms
request_timeout = 1s

[log default]
syslog_tcp = 127.0.0.1:$SPORT
syslog_udp = 127.0.0.1:$SPORT
syslog_tls = 127.0.0.1:$TPORT
public_read = true
EOF
start_server --config serve.ini
URL="https://127.0.0.1:$PORT"
check "HTTPS serves the checkpoint" curl -sf --cacert tls.crt "$URL/logs/default/checkpoint" -o /dev/null
SIZE0=$(curl -s --cacert tls.crt "$URL/metrics" | sed -n 's/^vellum_log_entries{log="default"} \([0-9]*\)$/\1/p')
python3 - "$SPORT" "$TPORT" "$VL_EXAMPLES" "$WORK/tls.crt" <<'EOF'
import socket, ssl, sys, time
port, tport, ex, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(open(ex + "/syslog-rfc5424-octet-counted.bin", "rb").read())
s.sendall(open(ex + "/syslog-rfc3164.txt", "rb").read())
s.sendall(b"<999> this is not syslog\n")
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"<134>1 2026-11-26T12:00:00Z host app 1 - - udp message one", ("127.0.0.1", port))
ctx = ssl.create_default_context(cafile=ca)
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tport)), server_hostname="127.0.0.1")
msg = b"<134>1 2026-11-26T12:00:01Z host app 1 - - tls message one"
t.sendall(str(len(msg)).encode() + b" " + msg)
t.close()
time.sleep(1.0)
EOF
N5424=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read(); n = 0
while d:
    sp = d.index(b" "); l = int(d[:sp]); d = d[sp + 1 + l:]; n += 1
print(n)' "$VL_EXAMPLES/syslog-rfc5424-octet-counted.bin")
N3164=$(grep -c . "$VL_EXAMPLES/syslog-rfc3164.txt")
SIZE1=$(curl -s --cacert tls.crt "$URL/metrics" | sed -n 's/^vellum_log_entries{log="default"} \([0-9]*\)$/\1/p')
check_output "syslog TCP (both framings), UDP and TLS messages all logged" "$((N5424 + N3164 + 2))" echo $((SIZE1 - SIZE0))
curl -s --cacert tls.crt "$URL/metrics" >metrics2.txt
check "syslog messages counted" grep -q "^vellum_syslog_messages{log=\"default\"} $((N5424 + N3164 + 2))\$" metrics2.txt
check "a line that is not syslog is refused and counted" grep -q '^vellum_syslog_rejects{log="default",reason="parse"} 1$' metrics2.txt
LAST=$((SIZE1 - 1))
FOUND=0
for i in $(seq "$SIZE0" "$LAST"); do
	curl -s --cacert tls.crt "$URL/v1/logs/default/entries/$i" | grep -q '^transport: syslog-tls$' && FOUND=1
done
check "TLS syslog entry marked transport syslog-tls" test "$FOUND" = 1
# A client that sends its body slower than request_timeout allows.
python3 - "$PORT" "$TOKEN" "$WORK/tls.crt" >slow.out <<'EOF'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[3])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="127.0.0.1")
body = b'{"slow":"' + b"x" * 130 + b'"}'
s.sendall(b"POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
          sys.argv[2].encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
          str(len(body)).encode() + b"\r\n\r\n")
s.settimeout(10)
resp = b""
try:
    for i in range(len(body)):
        s.sendall(body[i:i + 1])
        time.sleep(0.01)
except OSError:
    pass
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        resp += d
        if b"}\n" in resp:
            break
except OSError:
    pass
print(resp.decode(errors="replace").split("\r\n")[0])
print(resp.decode(errors="replace").split("\r\n\r\n", 1)[-1])
EOF
SIZE_SLOW=$(curl -s --cacert tls.crt "$URL/metrics" | sed -n 's/^vellum_log_entries{log="default"} \([0-9]*\)$/\1/p')
check "slow client gets 408 with a JSON error" bash -c "head -1 slow.out | grep -q ' 408 ' && grep -q request_timeout slow.out"
check_output "the slow client's event was not written" "$SIZE1" echo "$SIZE_SLOW"
check "verify over HTTPS" env CURL_CA_BUNDLE="$WORK/tls.crt" "$VL_BIN" verify "$URL/logs/default/" --vkey "$VKEY"
stop_server
check_output "SIGTERM with syslog listeners exits 0" 0 echo "$STOP_STATUS"
URL="http://127.0.0.1:$PORT"

# ------------------------------------------------------------------
# Limits: events per request, the memory budget (503 + Retry-After),
# header size, connections.

cat >limits.ini <<EOF
[server]
max_body_bytes = 64KiB
queue_max_bytes = 64KiB
max_events_per_request = 5
queue_max_events = 5
max_connections = 4
max_header_bytes = 1KiB
request_timeout = 5s
EOF
start_server --config limits.ini
TOKEN=$(cat "$DATA/admin.token")
SIZE_BEFORE=$(log_size)
head -6 "$VL_EXAMPLES/audit-events.ndjson" >six.ndjson
post /v1/logs/default/events application/x-ndjson six.ndjson
expect_status "more events than max_events_per_request is 413" 413 too_many_events
head -5 "$VL_EXAMPLES/audit-events.ndjson" >five.ndjson
post /v1/logs/default/events application/x-ndjson five.ndjson
expect_status "max_events_per_request events are accepted" 200
SIZE_BEFORE=$((SIZE_BEFORE + 5))
# A slow upload holds 40 KB of the 64 KiB budget; a second 40 KB request
# meanwhile gets 503 with Retry-After; the first then completes.
python3 "$E2E_DIR/serve_budget.py" "$PORT" "$TOKEN" >budget.out
check "budget full: 503" bash -c "sed -n 1p budget.out | grep -q ' 503 '"
check "budget full: Retry-After" bash -c "sed -n 2p budget.out | grep -q True"
check "budget full: JSON error queue_full" bash -c "sed -n 3p budget.out | grep -q '\"code\":\"queue_full\"'"
check "the request holding the budget completes" bash -c "sed -n 4p budget.out | grep -q ' 200 '"
SIZE_BEFORE=$((SIZE_BEFORE + 1))
curl -sS -o /dev/null -w '%{http_code}' -H "X-Long: $(printf "x%.0s" $(seq 8000))" "$URL/healthz" >"$WORK/status" 2>/dev/null
check_output "a header over max_header_bytes is refused (431)" 431 cat "$WORK/status"
python3 "$E2E_DIR/serve_conns.py" "$PORT" >conns.out
check_output "a connection beyond max_connections is closed; one after is served" "refused
answered" cat conns.out
check_output "the limits wrote nothing they refused" "$SIZE_BEFORE" log_size
# This configuration names no log, so its default log is not public.
check_fails "a log that is not public cannot be read without a token" 3 "401" \
	"$VL_BIN" verify "$URL/logs/default/" --vkey "$VKEY"
check "vellum verify sends VELLUM_TOKEN" env VELLUM_TOKEN="$TOKEN" "$VL_BIN" verify "$URL/logs/default/" --vkey "$VKEY"
stop_server

# ------------------------------------------------------------------
# Start-up refuses bad configuration with one clear message.

check_fails "unknown option" 2 "unrecognized|unknown|invalid" "$VL_BIN" serve --bogus
printf '[server]\nmax_body_bytes = 12XB\n' >bad.ini
check_fails "bad config value names the line" 2 "line 2.*max_body_bytes" "$VL_BIN" serve --data "$DATA" --config bad.ini
printf '[server]\nno_such_key = 1\n' >bad.ini
check_fails "unknown config key" 2 "no_such_key" "$VL_BIN" serve --data "$DATA" --config bad.ini
BPORT=$(free_port)
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", '"$BPORT"')); s.listen(); time.sleep(6)' &
BLOCK=$!
wait_port "$BPORT"
check_fails "port in use" 2 "127.0.0.1:$BPORT.*in use" timeout 5 "$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$BPORT"
kill $BLOCK 2>/dev/null
wait $BLOCK 2>/dev/null
chmod 0644 "$DATA/default.key"
check_fails "key readable by others" 2 "default.key" "$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT"
chmod 0600 "$DATA/default.key"
vellum keygen other.example/log -o other.key >/dev/null
printf '[log default]\nkey = %s\n' "$WORK/other.key" >other.ini
check_fails "a key that does not match the log" 2 "does not match" "$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" --config other.ini
mv "$DATA/default.key" "$WORK/moved.key"
check_fails "missing key of an existing log" 2 "default.key" "$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT"
mv "$WORK/moved.key" "$DATA/default.key"
check_fails "data directory that cannot be created" 2 "data = /dev/null/x" "$VL_BIN" serve --data /dev/null/x --listen "127.0.0.1:$PORT"
chmod 0644 "$DATA/tokens"
check_fails "token file readable by others" 2 "token_file" "$VL_BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT"
chmod 0600 "$DATA/tokens"
check "the log still verifies after all of it" vellum verify "$DATA/default" --vkey "$VKEY"
