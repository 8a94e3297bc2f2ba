#!/usr/bin/env bash
# chaos_report.sh — end-to-end test of the report of `vellum chaos run`:
# chaos_report_demo (tests/chaos_report_demo.c) writes a report of made-up
# results (a scenario that passed, one that failed, one skipped); report.json
# must parse, report.html must be self-contained (no script, nothing
# loaded), and headless Chromium must render it into a screenshot that is a PNG of
# the window's size, not blank, with the charts' colours, the shaded fault
# windows and the red and green verdict colours in it.  The PNG is decoded
# here with python3 and zlib alone.
#
# Environment: VL_CHAOS_REPORT_DEMO (the demo program, required) and
# Chromium (the Debian package `chromium`).
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$WORK" || exit 1

DEMO=${VL_CHAOS_REPORT_DEMO:-}
if [ -z "$DEMO" ] || [ ! -x "$DEMO" ]; then
	echo "VL_CHAOS_REPORT_DEMO must name the chaos_report_demo program (got '$DEMO')" >&2
	exit 1
fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

W=1280
H=2000

# ------------------------------------------------------------------ the report

check "demo: writes the report" "$DEMO" "$WORK/report"
check "report.json: valid JSON, three scenarios, the run failed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["passed"] is False, d["passed"]
assert [s["status"] for s in d["scenarios"]] == ["pass", "fail", "skipped"]
assert d["scenarios"][0]["seed"] == "18446744073709551615"
assert d["scenarios"][1]["windows"][1]["end_s"] is None
assert len(d["scenarios"][0]["samples"]) == 60
' "$WORK/report/report.json"
check_output "report.html: the only address is the SVG namespace" "http://www.w3.org/2000/svg" \
	bash -c "grep -Eo '[a-z]+://[^\" ]*' '$WORK/report/report.html' | sort -u"
check_output "report.html: no script, nothing loaded" "0" \
	bash -c "grep -Eic '<script|<link|<img|<iframe|src=|@import' \
		'$WORK/report/report.html' || :"
check_output "report.html: two charts per scenario" "6" \
	bash -c "grep -o '<svg' '$WORK/report/report.html' | wc -l"

# ------------------------------------------------------------------ rendered

if [ -z "$CHROMIUM" ]; then
	why="chromium is not installed; this test renders report.html with it."
	record "chromium: installed" 0 "command -v chromium" "$why
Install it: apt-get install chromium (Debian), then run the test again."
	exit 0
fi
record "chromium: installed" 1 "command -v chromium" ""

# --no-sandbox: the tests run as root in CI, where Chromium's sandbox
# refuses to start.  Its own profile directory, so nothing of the user's is
# read or written.  (--blink-settings=scriptEnabled=false would show that
# no script is needed, but this Chromium then writes no screenshot; the
# grep above shows there is none.)
shoot() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$WORK/chromium-profile" --hide-scrollbars \
		--screenshot="$WORK/shot.png" --window-size="$W,$H" \
		"file://$WORK/report/report.html" >"$WORK/chromium.out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$WORK/shot.png" ]; then
		tail -n 20 "$WORK/chromium.out"
		echo "(chromium exit status $rc)"
		return 1
	fi
}
check "chromium: renders report.html into a screenshot" shoot

# png.py FILE WIDTH HEIGHT: decodes the PNG (8-bit RGB or RGBA, not
# interlaced) and prints what the checks below look at, one "key value" a
# line: width, height, colours (distinct), nonwhite (per mille), and the
# number of pixels near each named colour.
cat >"$WORK/png.py" <<'EOF'
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, [], None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]:
        raise SystemExit("bad CRC in chunk %r" % kind)
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat.append(body)
    elif kind == b"IEND":
        break
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format %r" % (ihdr,)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(b"".join(idat))
stride = w * bpp
assert len(raw) == h * (stride + 1), "truncated image data"

rows, prev = [], bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    elif f != 0:
        raise SystemExit("bad filter %d" % f)
    rows.append(bytes(line))
    prev = line

counts = {}
for line in rows:
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        counts[px] = counts.get(px, 0) + 1
white = sum(n for px, n in counts.items() if min(px) >= 250)
named = {
    "green": (0x1a, 0x7f, 0x37),    # PASS
    "red": (0xcf, 0x22, 0x2e),      # FAIL
    "grey": (0x6e, 0x77, 0x81),     # SKIPPED
    "blue": (0x09, 0x69, 0xda),     # the acknowledged and p50 lines
    "window": (245, 236, 209),      # #d4a72c at 22 % over white
}
print("width", w)
print("height", h)
print("colours", len(counts))
print("nonwhite", (w * h - white) * 1000 // (w * h))
for name, rgb in named.items():
    near = sum(n for px, n in counts.items() if max(abs(px[k] - rgb[k]) for k in range(3)) <= 8)
    print(name, near)
EOF

if PNG_FACTS=$(python3 "$WORK/png.py" "$WORK/shot.png" 2>&1); then
	record "screenshot: a PNG that decodes" 1 "png.py shot.png" ""
else
	record "screenshot: a PNG that decodes" 0 "png.py shot.png" "$PNG_FACTS"
fi
fact() { printf '%s\n' "$PNG_FACTS" | awk -v k="$1" '$1 == k { print $2 }'; }
# at_least NAME MIN: passes when the decoded fact NAME is at least MIN.
at_least() {
	local v
	v=$(fact "$1")
	[ -n "$v" ] && [ "$v" -ge "$2" ] && return 0
	echo "$1 = ${v:-missing}, expected at least $2"
	return 1
}

check_output "screenshot: ${W}x$H" "$W $H" bash -c "echo $(fact width) $(fact height)"
check "screenshot: not blank (many colours)" at_least colours 200
check "screenshot: not blank (at least 5 % not white)" at_least nonwhite 50
check "screenshot: the green of PASS" at_least green 300
check "screenshot: the red of FAIL" at_least red 300
check "screenshot: the grey of SKIPPED" at_least grey 300
check "screenshot: the chart lines" at_least blue 300
check "screenshot: the shaded fault windows" at_least window 5000
