#!/usr/bin/env python3
# Adds up the results of every test program from meson's testlog.json.
# Each program prints cmocka's summary ("[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s), listed below:"); a program that crashed or timed
# out before printing its summary counts as one failure.  Prints the final
# line "tests: N passed, N failed" and exits 1 if anything failed.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import json
import re
import sys

passed = failed = 0
lines = []
for raw in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(raw)
    out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
    p = sum(int(m) for m in re.findall(r"^\[  PASSED  \] (\d+) test", out, re.M))
    f = sum(int(m) for m in re.findall(r"^\[  FAILED  \] (\d+) test", out, re.M))
    ok = t.get("result") == "OK"
    if not ok and f == 0:
        f = 1  # crashed, timed out or failed without a summary
    if ok and p == 0 and f == 0:
        f = 1  # a test program that ran no test is a failure, not a pass
    passed += p
    failed += f
    lines.append("%-16s %-8s %6d passed %4d failed" % (t["name"], t.get("result"), p, f))
print("\n".join(lines))
print("tests: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
