#!/usr/bin/env bash
# Starts systemd-journal-remote as the reference target of the server
# benchmarks, driven by `loadgen --format journal --url http://127.0.0.1:PORT/upload`.
#   bench/journal_remote.sh PORT OUTDIR
# Waits until PORT accepts connections, then prints the server's PID on
# stdout (stop it with `kill PID`); its log goes to OUTDIR/journal-remote.log.
# Needs the Debian package systemd-journal-remote.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# What --seal=yes does (systemd 252, Debian 12):
# - Sealing uses the Forward Secure Sealing key that `journalctl --setup-keys`
#   writes, and journal-remote reads it from one fixed place only:
#   /var/log/journal/MACHINE_ID/fss, MACHINE_ID being this machine's.
#   `journalctl --directory=DIR --setup-keys` ignores DIR: it still writes
#   there, and fails if /var/log/journal/MACHINE_ID/ does not exist.
# - Without that file --seal=yes is silently ignored: no error, no warning, and
#   the journal is written unsealed (`journalctl --header --file=...` shows no
#   SEALED flag).  So this script creates the key when it is missing; the key
#   then exists for every journal written on this machine.  That is a change to
#   the machine outside OUTDIR, made once, and the script says so.  The
#   verification key, printed only when the key is made, is kept in
#   /var/tmp/vellum-bench-fss-verify-key.MACHINE_ID and copied to OUTDIR/fss-verify-key.
# - With the key, each object appended to the file goes into a running
#   HMAC-SHA256, and a tag is appended when the sealing epoch changes (every 15
#   minutes by default) and when the file is closed.  A benchmark of a few
#   seconds thus seals its entries with one tag at the end.  Check it with
#   `journalctl --verify --verify-key=$(cat OUTDIR/fss-verify-key)
#   --file=OUTDIR/remote.journal` after stopping the server.
#
# Durability: journal-remote answers an upload (202 "OK.") once it has parsed
# the whole body and appended every entry to the journal file, which it
# writes through mmap.  It never calls fsync for an upload: the entries are in
# the page cache when the client gets its 202, and reach the disk when the
# kernel writes them back or when the file is closed or rotated.  A crash of
# the machine after the 202 can lose them.  It is also one thread: the
# uploads of all connections are parsed and written in turn.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 PORT OUTDIR" >&2
	exit 2
fi
port=$1
out=$2
bin=/lib/systemd/systemd-journal-remote
say() { echo "journal_remote.sh: $*" >&2; }

if [ ! -x "$bin" ]; then
	say "$bin not found: apt-get install -y systemd-journal-remote"
	exit 1
fi
case $port in
'' | *[!0-9]*)
	say "bad port: $port"
	exit 2
	;;
esac
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if accepts; then
	say "127.0.0.1:$port is already in use"
	exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -e "$out/remote.journal" ]; then
	say "$out/remote.journal exists; give an empty OUTDIR"
	exit 1
fi

machine=$(cat /etc/machine-id 2>/dev/null || true)
if [ -z "$machine" ]; then
	say "no /etc/machine-id: journal-remote cannot seal without one"
	exit 1
fi
fss=/var/log/journal/$machine/fss
kept=/var/tmp/vellum-bench-fss-verify-key
if [ ! -e "$fss" ]; then
	say "no sealing key at $fss (--seal=yes would silently not seal):" \
		"creating one with journalctl --setup-keys"
	mkdir -p "/var/log/journal/$machine"
	journalctl --setup-keys 2>/dev/null >"$kept.$machine.tmp"
	mv "$kept.$machine.tmp" "$kept.$machine"
fi
if [ -s "$kept.$machine" ]; then
	cp "$kept.$machine" "$out/fss-verify-key"
	say "verification key in $out/fss-verify-key"
else
	say "using the sealing key at $fss, made elsewhere: its verification key is not known here"
fi

# --split-mode=none: the default (host) wants a directory, not a file.
"$bin" --listen-http="127.0.0.1:$port" --output="$out/remote.journal" --split-mode=none \
	--seal=yes >"$out/journal-remote.log" 2>&1 </dev/null &
pid=$!

for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		say "journal-remote exited; see $out/journal-remote.log:"
		cat "$out/journal-remote.log" >&2
		exit 1
	fi
	if accepts; then
		if journalctl --header --file="$out/remote.journal" 2>/dev/null |
			grep -q '^Compatible flags:.*SEALED'; then
			say "listening on 127.0.0.1:$port, sealed journal $out/remote.journal"
		else
			say "listening on 127.0.0.1:$port, but $out/remote.journal is NOT sealed"
		fi
		echo "$pid"
		exit 0
	fi
	sleep 0.1
done
say "journal-remote did not accept connections on 127.0.0.1:$port within 10 s"
kill "$pid" 2>/dev/null || true
exit 1
