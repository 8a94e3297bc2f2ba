#!/usr/bin/env bash
# The embedded default: a local log in ./vellum-data, sample audit events in,
# a signed checkpoint, a receipt for one event, and a full verification out.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
VELLUM=${1:-build/src/cli/vellum}
DATA=${2:-./vellum-data}
EVENTS=${EVENTS:-examples/audit-events.ndjson}

step() { printf '\n== %s\n' "$*"; }

mkdir -p "$DATA"
if [ ! -f "$DATA/demo.key" ]; then
	step "generate a signing key ($DATA/demo.key, mode 0600)"
	"$VELLUM" keygen demo.vellum.example -o "$DATA/demo.key" | tee "$DATA/demo.vkey"
fi
if [ ! -f "$DATA/log/log.conf" ]; then
	step "create the log $DATA/log"
	"$VELLUM" init "$DATA/log" --key "$DATA/demo.key"
fi
step "append $(wc -l <"$EVENTS") audit events from $EVENTS (durable before this returns)"
"$VELLUM" append "$DATA/log" "$EVENTS"
step "sign a checkpoint"
"$VELLUM" checkpoint "$DATA/log" | tee "$DATA/checkpoint.txt"
size=$(sed -n 2p "$DATA/checkpoint.txt")
index=$((size - 1))
step "entry $index, as stored"
"$VELLUM" get "$DATA/log" "$index" >"$DATA/entry.bin"
cat "$DATA/entry.bin"; echo
step "receipt (c2sp.org/tlog-proof) for entry $index"
"$VELLUM" prove "$DATA/log" "$index" | tee "$DATA/receipt.tlog-proof"
step "verify the receipt offline, with nothing but the public key"
"$VELLUM" verify --vkey "$DATA/demo.vkey" --receipt "$DATA/receipt.tlog-proof" --entry "$DATA/entry.bin"
step "export the static C2SP tree and verify every entry, tile and signature"
rm -rf "$DATA/export"
"$VELLUM" export "$DATA/log" "$DATA/export"
"$VELLUM" verify "$DATA/export" --vkey "$DATA/demo.vkey"
step "verify the log directory itself (WAL, tiles, bundles, checkpoint)"
"$VELLUM" verify "$DATA/log" --vkey "$DATA/demo.vkey"
step "done: the log is in $DATA/log; run 'make run' again to append another batch"
