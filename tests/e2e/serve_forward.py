#!/usr/bin/env python3
# serve_forward.py PORT TOKEN AGENT FIRST LAST [ORIGIN] — for serve.sh: posts
# spool indexes FIRST..LAST (inclusive; a comma-separated list of ranges is
# also accepted, e.g. "0-9,12-14") as one application/x-vellum-forward
# request, the way `vellum agent` does, and prints the status and the answer.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import http.client
import struct
import sys
import time

port, token, agent, ranges = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
origin = (sys.argv[5] if len(sys.argv) > 5 else "file:/var/log/app.log").encode()
indexes = []
for part in ranges.split(","):
    a, _, b = part.partition("-")
    indexes += range(int(a), int(b or a) + 1)
spooled = time.time_ns() - 1_500_000_000  # spooled 1.5 s ago
body = b""
for i in indexes:
    event = b'{"seq":%d,"agent":"%s"}' % (i, agent.encode())
    body += struct.pack(">QqB", i, spooled, len(origin)) + origin
    body += struct.pack(">I", len(event)) + event
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/v1/logs/default/forward", body=body, headers={
    "Authorization": "Bearer " + token,
    "Content-Type": "application/x-vellum-forward",
    "Vellum-Agent": agent,
})
r = c.getresponse()
print(r.status)
print(r.read().decode().strip())
