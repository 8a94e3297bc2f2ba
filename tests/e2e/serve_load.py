#!/usr/bin/env python3
# serve_load.py — a load client for the kill -9 test of `vellum serve`:
# THREADS keep-alive connections POST events with unique ids and an
# Idempotency-Key equal to the id, for SECONDS; every 2xx is recorded as
# "id index" in ACKED (appended).  Events that got no answer (the server
# died) are written to PENDING and sent again first on the next run, with
# the same key, as a client retrying after an outage would.
#
#   serve_load.py PORT TOKEN SECONDS THREADS PREFIX ACKED PENDING
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import http.client
import json
import os
import sys
import threading
import time

port, token, seconds, threads = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
prefix, acked_path, pending_path = sys.argv[5], sys.argv[6], sys.argv[7]

retry = []
if os.path.exists(pending_path):
    retry = [l.strip() for l in open(pending_path) if l.strip()]
lock = threading.Lock()
acked, pending = [], []
deadline = time.time() + seconds
counter = [0]


def next_id():
    with lock:
        if retry:
            return retry.pop()
        counter[0] += 1
        return "%s-%d" % (prefix, counter[0])


def worker(n):
    conn = None
    while time.time() < deadline:
        ev = next_id()
        body = json.dumps({"id": ev, "actor": "user-%d" % n, "action": "kill-test",
                           "pad": "x" * 100})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", "/v1/logs/default/events", body,
                         {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                          "Idempotency-Key": ev})
            resp = conn.getresponse()
            data = resp.read()
            if 200 <= resp.status < 300:
                idx = json.loads(data)["events"][0]["index"]
                with lock:
                    acked.append("%s %d" % (ev, idx))
            else:
                with lock:
                    pending.append(ev)
                time.sleep(0.05)
        except Exception:
            with lock:
                pending.append(ev)
            conn = None
            time.sleep(0.05)


ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(acked_path, "a") as f:
    for a in acked:
        f.write(a + "\n")
with open(pending_path, "w") as f:
    for p in pending + retry:
        f.write(p + "\n")
print("acked %d, pending %d" % (len(acked), len(pending) + len(retry)))
