#!/usr/bin/env bash
# cli.sh — end-to-end test of every vellum command as a user scripts it:
# keygen, init, append, checkpoint, get, prove, verify (directory, log,
# URL, receipt, --since), export, and the refusals with their exit codes.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
EVENTS=$VL_EXAMPLES/audit-events.ndjson
ORIGIN=example.com/audit

# line N FILE: line N (1-based) of FILE without its newline, into stdout.
line() {
	sed -n "${1}p" "$2" | head -c -1
}

# --- keys and log creation ---------------------------------------------

vellum keygen $ORIGIN -o log.key >log.vkey 2>"$WORK/.stderr"
check_output keygen_prints_vkey "1 $ORIGIN" bash -c "echo \$(wc -l <log.vkey) \$(cut -d+ -f1 log.vkey)"
check_output keygen_file_mode_0600 600 stat -c %a log.key
check_output keygen_file_is_signer_key "PRIVATE+KEY+$ORIGIN" cut -d+ -f1-3 log.key
mkdir sub
check keygen_default_file bash -c "cd sub && '$VL_BIN' keygen sub.example/x >/dev/null && test -f sub.example_x.key"
cp log.key log.key.orig
check_fails keygen_refuses_overwrite 3 'already exists' vellum keygen $ORIGIN -o log.key
check keygen_left_key_unchanged cmp log.key log.key.orig
check_fails keygen_bad_name 2 'invalid key name' vellum keygen 'has space' -o bad.key

check_output init_prints_vkey "$(cat log.vkey)" vellum init log --key log.key
check_fails init_refuses_nonempty_dir 3 'log' vellum init log --key log.key
cp log.key loose.key
chmod 0644 loose.key
check_fails init_refuses_key_mode_0644 3 'chmod 600' vellum init log2 --key loose.key
check init_left_no_log_behind test ! -e log2/log.conf
check_fails init_needs_key 2 'missing --key' vellum init log3

# --- append, checkpoint, get -------------------------------------------

check_output append_examples "appended 200 entries: 0..199" vellum append log "$EVENTS"
vellum checkpoint log >cp200 2>"$WORK/.stderr"
check_output checkpoint_size_200 "$ORIGIN
200" head -n 2 cp200
ROOT200=$(checkpoint_root cp200)

get_matches() {
	local i=$1
	line $((i + 1)) "$EVENTS" >expected
	vellum get log "$i" >actual && cmp expected actual
}
for i in 0 1 57 100 198 199; do
	check "get_entry_${i}_byte_identical" get_matches "$i"
done
check_fails get_past_end 3 'no entry 200' vellum get log 200
check_fails get_bad_index 2 'INDEX' vellum get log 12x
check_fails get_negative_index 2 'unknown option' vellum get log -1

check_output checkpoint_unchanged_reissued "$(cat cp200)" vellum checkpoint log
check_output checkpoint_with_key "$(cat cp200)" vellum checkpoint log --key log.key

# --- receipts ----------------------------------------------------------

vellum prove log 57 >receipt57 2>"$WORK/.stderr"
check_output prove_receipt_header "c2sp.org/tlog-proof@v1" head -n 1 receipt57
line 58 "$EVENTS" >entry57
check_output verify_receipt_ok "OK $ORIGIN 200 $ROOT200 index 57" \
	vellum verify --vkey log.vkey --receipt receipt57 --entry entry57
check_output verify_receipt_vkey_string "OK $ORIGIN 200 $ROOT200 index 57" \
	vellum verify --vkey "$(cat log.vkey)" --receipt receipt57 --entry entry57
check_output verify_receipt_with_target "OK $ORIGIN 200 $ROOT200
OK $ORIGIN 200 $ROOT200 index 57" \
	vellum verify log --vkey log.vkey --receipt receipt57 --entry entry57
cp entry57 entry57.bad
flip_byte entry57.bad 10
check_fails verify_receipt_tampered_entry 1 'receipt57' \
	vellum verify --vkey log.vkey --receipt receipt57 --entry entry57.bad
line 59 "$EVENTS" >entry58
check_fails verify_receipt_other_entry 1 'does not prove' \
	vellum verify --vkey log.vkey --receipt receipt57 --entry entry58
# Replace the first proof hash with another valid hash.
awk -v h="$ROOT200" 'NR == 3 { print h; next } { print }' receipt57 >receipt57.bad
check_fails verify_receipt_tampered_hash 1 'does not prove' \
	vellum verify --vkey log.vkey --receipt receipt57.bad --entry entry57
sed 's/^index 57$/index 56/' receipt57 >receipt57.idx
check_fails verify_receipt_tampered_index 1 'does not prove' \
	vellum verify --vkey log.vkey --receipt receipt57.idx --entry entry57
sed '0,/^200$/s//201/' receipt57 >receipt57.size
check_fails verify_receipt_tampered_checkpoint 1 'does not prove' \
	vellum verify --vkey log.vkey --receipt receipt57.size --entry entry57
check_fails verify_receipt_needs_entry 2 'go together' vellum verify --vkey log.vkey --receipt receipt57
check_fails prove_past_checkpoint 3 'no entry 200' vellum prove log 200

# --- export and tree verification --------------------------------------

check_output export_log "exported $ORIGIN size 200 to out" vellum export log out
check_output verify_exported_tree "OK $ORIGIN 200 $ROOT200" vellum verify out --vkey log.vkey
check_output verify_log_dir "OK $ORIGIN 200 $ROOT200" vellum verify log --vkey log.vkey
check_output verify_vector_log_1000 \
	"OK example.com/log 1000 UYPr3bub60abrCrcyNCxTXhvcQOpuVQeaUhYppq1axE=" \
	vellum verify "$VL_VECTORS/log-1000" --vkey "$VL_VECTORS/log-1000.vkey"
check_output verify_vector_vkey_string \
	"OK example.com/log 1000 UYPr3bub60abrCrcyNCxTXhvcQOpuVQeaUhYppq1axE=" \
	vellum verify "$VL_VECTORS/log-1000" --vkey "$(cat "$VL_VECTORS/log-1000.vkey")"

# --- growth, --since, consistency proofs -------------------------------

cp -a log log200
seq -f 'more-event-%.0f' 1 50 >more50
check_output append_50_more "appended 50 entries: 200..249" vellum append log more50
check_output get_uncheckpointed_entry "more-event-50" vellum get log 249
check_fails prove_uncheckpointed_entry 3 'vellum checkpoint' vellum prove log 249
vellum checkpoint log >cp250 2>"$WORK/.stderr"
ROOT250=$(checkpoint_root cp250)
check_output verify_since_older "OK $ORIGIN 250 $ROOT250" vellum verify log --vkey log.vkey --since cp200
check_output verify_since_same "OK $ORIGIN 250 $ROOT250" vellum verify log --vkey log.vkey --since cp250
check_fails verify_rollback_detected 1 'rolled back|rollback' vellum verify out --vkey log.vkey --since cp250
check_fails verify_log_rollback_detected 1 'rolled back|rollback' vellum verify log200 --vkey log.vkey --since cp250
check_output verify_receipt_older_checkpoint_with_target "OK $ORIGIN 250 $ROOT250
OK $ORIGIN 200 $ROOT200 index 57" \
	vellum verify log --vkey log.vkey --receipt receipt57 --entry entry57

vellum prove log --consistency 200 >consistency 2>"$WORK/.stderr"
consistency_ok() {
	local blank
	[ "$(sed -n 1p consistency)" == "old 200" ] || return 1
	[ "$(sed -n 2p consistency)" == "new 250" ] || return 1
	blank=$(grep -n '^$' consistency | head -n 1 | cut -d: -f1)
	[ "$blank" -gt 3 ] || return 1
	# Every line between the header and the blank line is a base64 hash.
	sed -n "3,$((blank - 1))p" consistency | grep -Evq '^[A-Za-z0-9+/]{43}=$' && return 1
	tail -n +"$((blank + 1))" consistency | cmp - cp250
}
check prove_consistency_format consistency_ok
check_output prove_consistency_same_size "old 250
new 250
-" bash -c "'$VL_BIN' prove log --consistency 250 | head -n 3 | sed 's/^$/-/'"
check_output prove_consistency_from_zero "old 0
new 250
-" bash -c "'$VL_BIN' prove log --consistency 0 | head -n 3 | sed 's/^$/-/'"
check_fails prove_consistency_too_new 3 'larger' vellum prove log --consistency 251

# --- wrong keys ---------------------------------------------------------

vellum keygen $ORIGIN -o impostor.key >impostor.vkey
vellum keygen other.example/log -o other.key >other.vkey
check_fails verify_wrong_vkey_same_name 1 'signature|signed' vellum verify log --vkey impostor.vkey
check_fails verify_wrong_vkey_other_name 1 'signature|signed|origin' vellum verify out --vkey other.vkey
check_fails verify_receipt_wrong_vkey 1 'signature' vellum verify --vkey impostor.vkey --receipt receipt57 --entry entry57
check_fails verify_bad_vkey_string 2 'verifier key' vellum verify log --vkey not-a-key
check_fails checkpoint_wrong_key 3 "not the log's key" vellum checkpoint log --key impostor.key

# --- refused input appends nothing --------------------------------------

printf 'good-1\n\ngood-2\n' >empty-line.txt
check_fails append_empty_line_file 2 'empty-line.txt:2' vellum append log empty-line.txt
check_fails append_empty_line_stdin 2 '<stdin>:2' bash -c "printf 'a\n\nb\n' | '$VL_BIN' append log"
{ printf 'ok\n'; head -c 65536 /dev/zero | tr '\0' x; printf '\n'; } >long.txt
check_fails append_65536_byte_line 2 'long.txt:2' vellum append log long.txt
check_fails append_bad_second_file 2 'empty-line.txt:2' vellum append log more50 empty-line.txt
check_fails append_nothing_after_refusal 3 'no entry 250' vellum get log 250
head -c 65535 /dev/zero | tr '\0' y >max.txt
check_output append_65535_byte_line "appended 1 entries: 250..250" vellum append log max.txt
check get_65535_byte_entry bash -c "'$VL_BIN' get log 250 | cmp - max.txt"
check_output append_zero_entries "appended 0 entries" bash -c "printf '' | '$VL_BIN' append log"
printf 'cr\r\nbin\377\001\n\ttab \n' >odd.txt
check_output append_odd_bytes "appended 3 entries: 251..253" vellum append log odd.txt
check get_keeps_carriage_return bash -c "'$VL_BIN' get log 251 | cmp - <(printf 'cr\r')"
check get_keeps_binary_bytes bash -c "'$VL_BIN' get log 252 | cmp - <(printf 'bin\377\001')"
check get_keeps_whitespace bash -c "'$VL_BIN' get log 253 | cmp - <(printf '\ttab ')"
printf 'a-1\na-2' >nonl.txt
printf 'b-1\n' >b.txt
check_output append_files_and_stdin_in_order "appended 4 entries: 254..257" \
	bash -c "printf 'stdin-1\n' | '$VL_BIN' append log nonl.txt - b.txt"
check_output get_order "a-1 a-2 stdin-1 b-1" \
	bash -c "for i in 254 255 256 257; do '$VL_BIN' get log \$i; echo; done | paste -sd ' '"
check_output checkpoint_after_odd_entries "258" bash -c "'$VL_BIN' checkpoint log | sed -n 2p"
check verify_after_odd_entries vellum verify log --vkey log.vkey --since cp250

# --- missing things and usage errors ------------------------------------

check_fails append_missing_log 3 'nosuchlog' bash -c "echo x | '$VL_BIN' append nosuchlog"
check_fails get_missing_log 3 'nosuchlog' vellum get nosuchlog 0
check_fails checkpoint_missing_log 3 'nosuchlog' vellum checkpoint nosuchlog
check_fails verify_missing_target 3 'nosuchlog' vellum verify nosuchlog --vkey log.vkey
check_fails append_missing_file 3 'nosuchfile' vellum append log nosuchfile
check_fails append_unknown_option 2 "unknown option '--bogus'" vellum append log --bogus
check_fails verify_unknown_option 2 "unknown option" vellum verify log --vkey log.vkey -z
check_fails verify_missing_vkey 2 'missing --vkey' vellum verify log
check_fails option_needs_argument 2 'needs an argument' vellum verify log --vkey
check_fails unknown_command 2 'unknown command' vellum frobnicate
check_fails no_command 2 'usage' vellum
check_fails get_too_many_args 2 'too many' vellum get log 1 2
for cmd in keygen init append checkpoint get prove verify export; do
	check_output "help_$cmd" "usage: vellum $cmd" bash -c "'$VL_BIN' $cmd --help | head -n 1 | cut -d' ' -f1-3"
done
check_output help_lists_exit_codes '  3  I/O or other runtime error (a failed append prints no "appended")' \
	bash -c "'$VL_BIN' --help | grep '^  3 '"
check_output help_command "usage: vellum verify TARGET --vkey VKEY [--since CHECKPOINT_FILE]" \
	bash -c "'$VL_BIN' help verify | head -n 1"
check_output version "vellum 0.1.0" vellum --version

# --- recovery of a torn WAL tail -----------------------------------------

# Cutting the newest frame short looks exactly like a crash in the middle
# of an append that was never acknowledged.
cp -a log torn
seq -f 'torn-%.0f' 1 10 | vellum append torn >/dev/null
truncate -s -5 "torn/wal/$(ls torn/wal | tail -n 1)"
check_fails torn_tail_recovery_warning 3 \
	'^vellum: recovered torn: dropped [0-9]+ bytes of unacknowledged torn write at the WAL tail$' \
	vellum get torn 258
check_output torn_log_appends_after_recovery "appended 1 entries: 258..258" \
	bash -c "echo after-torn | '$VL_BIN' append torn"
check torn_log_verifies vellum verify torn --vkey log.vkey

# --- verification over HTTP --------------------------------------------

vellum export log served >/dev/null
ROOT258=$(checkpoint_root served/checkpoint)
PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 "$PORT" --directory served >http.log 2>&1 &
BACKGROUND_PIDS+=($!)
check http_server_started wait_port "$PORT"
check_output verify_http "OK $ORIGIN 258 $ROOT258" vellum verify "http://127.0.0.1:$PORT/" --vkey log.vkey
check_output verify_http_no_trailing_slash "OK $ORIGIN 258 $ROOT258" \
	vellum verify "http://127.0.0.1:$PORT" --vkey log.vkey --since cp250
echo one-more | vellum append log >/dev/null
vellum checkpoint log >cp259
check_fails verify_http_rollback 1 'rolled back|rollback' vellum verify "http://127.0.0.1:$PORT" --vkey log.vkey --since cp259
check_fails verify_http_missing_tree 1 'checkpoint' vellum verify "http://127.0.0.1:$PORT/nothing/" --vkey log.vkey
rm served/tile/entries/000
check_fails verify_http_missing_bundle 1 'entries' vellum verify "http://127.0.0.1:$PORT/" --vkey log.vkey
DEAD_PORT=$(free_port)
check_fails verify_http_connection_refused 3 'refused|connect' vellum verify "http://127.0.0.1:$DEAD_PORT/" --vkey log.vkey
