#!/usr/bin/env python3
# agent_latency.py — the two measurements of bench/agent_bench.sh that need
# a clock on both sides of `vellum agent`:
#
#   agent_latency.py write FILE COUNT RATE TIMES
#       appends COUNT lines to FILE at RATE lines/s (in steps of 1 ms) and
#       writes each line's write time (ns, CLOCK_REALTIME) to TIMES.
#   agent_latency.py poll URL TOKEN AGENT COUNT OUT
#       polls GET /v1/logs/default/sources (keep-alive) until AGENT's
#       "through" reaches COUNT-1, writing "time_ns through" to OUT each
#       time it advances.  The server moves "through" only after the
#       events are durable and acknowledged.
#   agent_latency.py report TIMES POLLS
#       each line's latency = the first poll that saw it through, minus
#       its write time; prints p50, p90, p99, max in ms.  Line i is spool
#       index i (a fresh agent with one source).
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import bisect
import http.client
import json
import sys
import time
import urllib.parse


def now():
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


def cmd_write(path, count, rate, times_path):
    count, rate = int(count), int(rate)
    times = []
    pad = b"x" * 180
    start = time.monotonic()
    with open(path, "ab", buffering=0) as f:
        i = 0
        while i < count:
            due = int((time.monotonic() - start) * rate) + 1
            n = min(due, count) - i
            if n > 0:
                t = now()
                f.write(b"".join(b'{"seq":%d,"pad":"%s"}\n' % (i + k, pad) for k in range(n)))
                times.extend([t] * n)
                i += n
            time.sleep(0.001)
    with open(times_path, "w") as out:
        out.write("\n".join(map(str, times)) + "\n")
    return 0


def cmd_poll(url, token, agent, count, out_path):
    count = int(count)
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    last = -1
    rows = []
    deadline = time.monotonic() + 600
    while last < count - 1 and time.monotonic() < deadline:
        c.request("GET", "/v1/logs/default/sources", headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        body = r.read()
        t = now()
        if r.status != 200:
            print("sources: status %d" % r.status, file=sys.stderr)
            return 1
        for s in json.loads(body)["sources"]:
            if s["agent"] == agent and s["through"] > last:
                last = s["through"]
                rows.append((t, last))
        time.sleep(0.0005)
    with open(out_path, "w") as out:
        for t, th in rows:
            out.write("%d %d\n" % (t, th))
    return 0 if last >= count - 1 else 1


def cmd_report(times_path, polls_path):
    times = [int(x) for x in open(times_path).read().split()]
    polls = [tuple(map(int, l.split())) for l in open(polls_path) if l.strip()]
    throughs = [p[1] for p in polls]
    lat = []
    for i, t in enumerate(times):
        k = bisect.bisect_left(throughs, i)
        if k == len(polls):
            print("line %d never acknowledged" % i, file=sys.stderr)
            return 1
        lat.append((polls[k][0] - t) / 1e6)
    lat.sort()

    def q(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))]
    print("p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f events=%d"
          % (q(0.5), q(0.9), q(0.99), lat[-1], len(lat)))
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"write": cmd_write, "poll": cmd_poll, "report": cmd_report}[cmd](*args))
