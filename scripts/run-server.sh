#!/usr/bin/env bash
# `make run`: vellum's main job on the embedded default.  Starts `vellum
# serve` (one log "default" in ./vellum-data on 127.0.0.1:8080, key and
# admin token created on first start), sends the sample events in every
# form it takes, verifies them out — the whole log over the C2SP read API,
# and one receipt offline — and then keeps serving until Ctrl-C when run on
# a terminal; run from a script it stops the server cleanly (SIGTERM: a
# final checkpoint) and verifies the log directory.
#
#   scripts/run-server.sh VELLUM_BINARY [DATA_DIR [ADDR:PORT]]
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
VELLUM=$(realpath "${1:-build/src/cli/vellum}")
DATA=${2:-./vellum-data}
LISTEN=${3:-127.0.0.1:8080}
EXAMPLES=$(cd "$(dirname "$0")/../examples" && pwd)
URL="http://$LISTEN"

step() { printf '\n== %s\n' "$*"; }

step "start the server: vellum serve --data $DATA --listen $LISTEN"
"$VELLUM" serve --data "$DATA" --listen "$LISTEN" 2> >(grep -v '"level":"debug"' >&2) &
SERVER=$!
stop() {
	kill -TERM "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 100); do
	curl -sf "$URL/healthz" >/dev/null 2>&1 && break
	kill -0 "$SERVER" 2>/dev/null || { echo "the server did not start (see above)" >&2; exit 1; }
	sleep 0.1
done
TOKEN=$(cat "$DATA/admin.token")
VKEY="$DATA/default.vkey"

post() { # PATH CONTENT_TYPE FILE: prints how many events were acknowledged
	curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" -H "Content-Type: $2" \
		--data-binary "@$3" "$URL$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["events"]
r=sum(1 for x in e if x.get("replayed"))
print("  %d events durable, indexes %d..%d%s" % (len(e), e[0]["index"], e[-1]["index"],
      " (%d already in the log: retries are not written twice)" % r if r else ""))'
}

step "send audit events as NDJSON ($(grep -c . "$EXAMPLES/audit-events.ndjson") lines)"
post /v1/logs/default/events application/x-ndjson "$EXAMPLES/audit-events.ndjson"
step "send a CloudEvents batch"
post /v1/logs/default/events application/cloudevents-batch+json "$EXAMPLES/cloudevents-batch.json"
step "send a Kubernetes audit webhook EventList"
post /v1/logs/default/k8s-audit application/json "$EXAMPLES/k8s-audit-eventlist.json"

step "send one event and wait for a signed checkpoint that covers it (?wait=checkpoint)"
curl -sS --fail-with-body -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"actor":"alice@corp.example","action":"deploy","service":"payments","version":"1.4.2"}' \
	"$URL/v1/logs/default/events?wait=checkpoint" >"$DATA/last-answer.json"
INDEX=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"][0]["index"])' "$DATA/last-answer.json")
python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["events"][0]["receipt"])' \
	"$DATA/last-answer.json" >"$DATA/receipt.tlog-proof"
curl -sS "$URL/v1/logs/default/entries/$INDEX" -o "$DATA/entry.bin"
echo "  event $INDEX, as stored (envelope, then the event's bytes):"
sed 's/^/    /' "$DATA/entry.bin"
echo

step "verify its receipt offline: vellum verify --vkey $VKEY --receipt ... --entry ..."
"$VELLUM" verify --vkey "$VKEY" --receipt "$DATA/receipt.tlog-proof" --entry "$DATA/entry.bin"

step "verify the whole log over the C2SP read API: vellum verify $URL/logs/default/"
"$VELLUM" verify "$URL/logs/default/" --vkey "$VKEY"

cat <<EOF

The server is running: $URL/
  send:    curl -H "Authorization: Bearer \$(cat $DATA/admin.token)" -H 'Content-Type: application/json' \\
                -d '{"actor":"bob","action":"login"}' $URL/v1/logs/default/events
  verify:  $VELLUM verify $URL/logs/default/ --vkey $VKEY
  metrics: curl $URL/metrics
EOF
if [ -t 0 ]; then
	echo "Ctrl-C stops it (a final checkpoint is signed)."
	trap 'kill -TERM "$SERVER" 2>/dev/null' INT TERM
	wait "$SERVER" || true
	trap - EXIT
else
	step "not on a terminal: stop the server (SIGTERM signs a final checkpoint)"
	stop
	trap - EXIT
	step "verify the log directory: vellum verify $DATA/default"
	"$VELLUM" verify "$DATA/default" --vkey "$VKEY"
fi
