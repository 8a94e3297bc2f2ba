#!/usr/bin/env bash
# tamper.sh — end-to-end test that `vellum verify` catches a single change
# to a log directory or a published tree, exits 1, and names the place:
# an entry, a hash tile, a WAL frame, the checkpoint, a missing bundle, a
# truncated WAL, reordered entries, and a rolled-back checkpoint.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1
ORIGIN=tamper.example/log

# Entries are "entry-000" .. "entry-599": all 9 bytes, so entry i of a
# bundle starts at byte 11*(i%256) (a 2-byte length, then the bytes).
vellum keygen $ORIGIN -o t.key >t.vkey
vellum init base --key t.key >/dev/null
seq -f 'entry-%03.0f' 0 299 | vellum append base >/dev/null
vellum checkpoint base >cp300
seq -f 'entry-%03.0f' 300 599 | vellum append base >/dev/null
vellum checkpoint base >cp600
ROOT=$(checkpoint_root cp600)
WAL=$(cd base && ls wal/* | head -n 1)

check_output base_log_verifies "OK $ORIGIN 600 $ROOT" vellum verify base --vkey t.vkey
check_output base_log_verifies_since_300 "OK $ORIGIN 600 $ROOT" vellum verify base --vkey t.vkey --since cp300
check base_has_expected_files test -f base/tile/entries/000 -a -f base/tile/entries/001 \
	-a -f base/tile/0/000 -a -f "base/$WAL"

# fresh: a new copy of the untouched log at ./t
fresh() {
	rm -rf t
	cp -a base t
}

# tampered NAME REGEX [VERIFY ARGS...]: verify ./t must exit 1 and its
# message must match REGEX.
tampered() {
	local name=$1 regex=$2
	shift 2
	check_fails "$name" 1 "$regex" vellum verify t --vkey t.vkey "$@"
}

fresh
flip_byte t/tile/entries/000 $((11 * 5 + 2 + 7))
tampered entry_byte_in_bundle 'tile/entries/000|entry 5\b|index 5\b'

fresh
flip_byte t/tile/entries/001 $((11 * 17 + 2 + 1))
tampered entry_byte_in_second_bundle 'tile/entries/001|entry 273\b|index 273\b'

fresh
flip_byte t/tile/0/000 $((32 * 10 + 3))
tampered hash_tile_byte 'tile/0/000'

fresh
flip_byte "t/$WAL" $((32 + 32 + 100))
tampered wal_frame_payload_byte 'wal/|WAL|entry [0-9]+'

fresh
flip_byte "t/$WAL" $((32 + 4))
tampered wal_frame_header_byte 'wal/|WAL'

fresh
flip_byte t/checkpoint $(($(head -n 2 t/checkpoint | wc -c) + 5))
tampered checkpoint_body_byte 'checkpoint|signature'

fresh
flip_byte t/checkpoint 0
tampered checkpoint_origin_byte 'checkpoint|signature|origin|key'

fresh
rm t/tile/entries/001
tampered bundle_deleted 'tile/entries/001'

fresh
truncate -s -100 "t/$WAL"
tampered wal_truncated_by_100_bytes 'wal/|WAL'

fresh
# Swap entries 3 and 4 of the first bundle: same lengths, so the bundle
# stays well formed and only the order is wrong.
dd if=base/tile/entries/000 of=t/tile/entries/000 bs=1 skip=$((11 * 3)) seek=$((11 * 4)) \
	count=11 conv=notrunc status=none
dd if=base/tile/entries/000 of=t/tile/entries/000 bs=1 skip=$((11 * 4)) seek=$((11 * 3)) \
	count=11 conv=notrunc status=none
check swapped_entries_differ bash -c '! cmp -s base/tile/entries/000 t/tile/entries/000'
tampered entries_swapped_in_bundle 'tile/entries/000|entry [34]\b|index [34]\b'

fresh
cp cp300 t/checkpoint
tampered older_checkpoint_restored 'rollback|older|smaller|since|consisten|extend|[^0-9]300[^0-9]' --since cp600

# The same changes to a published (exported) tree, where only the tiles
# and the checkpoint are there to check.
vellum export base pub >/dev/null
check_output exported_tree_verifies "OK $ORIGIN 600 $ROOT" vellum verify pub --vkey t.vkey
for file in checkpoint tile/0/000 tile/0/001 tile/0/002.p/88 tile/1/000.p/2 \
	tile/entries/000 tile/entries/001 tile/entries/002.p/88; do
	rm -rf p
	cp -a pub p
	size=$(stat -c %s "p/$file")
	flip_byte "p/$file" $((size / 2))
	check_fails "published_byte_flip_${file//\//_}" 1 '.' vellum verify p --vkey t.vkey
done

# Every file of the independent test vector must be covered too.
while IFS= read -r file; do
	rm -rf v
	cp -a "$VL_VECTORS/log-1000" v
	size=$(stat -c %s "v/$file")
	flip_byte "v/$file" $((size / 3))
	check_fails "vector_byte_flip_${file//\//_}" 1 '.' vellum verify v --vkey "$VL_VECTORS/log-1000.vkey"
done < <(cd "$VL_VECTORS/log-1000" && find . -type f -printf '%P\n' | sort)
