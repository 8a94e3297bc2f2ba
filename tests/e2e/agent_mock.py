#!/usr/bin/env python3
# agent_mock.py — a stand-in for the server side of `vellum agent`: it
# implements POST /v1/logs/{log}/forward as docs/agent.md describes it
# (strict body parsing, deduplication by (agent, spool index), "through"),
# records every newly written record as one JSON line in --out, and can be
# told to fail: answer with an error status, close the connection without
# an answer (before or after storing), or answer late.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
# usage: agent_mock.py --port PORT --token TOKEN --out FILE [--log NAME]
#
#   POST /v1/logs/NAME/forward   the protocol (Authorization: Bearer TOKEN)
#   GET  /state                  {"records":..,"written":..,"duplicates":..,
#                                 "conflicts":..,"requests":..,"rejected":..,
#                                 "through":{agent: T},"faults_left":..}
#   POST /control                a JSON object, one of
#        {"fail": STATUS, "count": N, "retry_after": S}   N answers of STATUS
#        {"close": N, "after_store": BOOL}                N closed connections
#        {"delay": SECONDS, "count": N}                   N late answers
#        {"clear": true}                                  no faults
#     (count -1: until cleared)
#
# --out is read back at start, so a restarted mock still knows what it
# holds (the restart test relies on it).  Each line:
#   {"agent":ID,"index":N,"spooled":NS,"origin":S,"event":BASE64}

import argparse
import base64
import json
import re
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AGENT_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class State:
    def __init__(self, out_path):
        self.lock = threading.Lock()
        self.held = {}  # (agent, index) -> (spooled, origin, event)
        self.contig = {}  # agent -> through
        self.counts = dict(records=0, written=0, duplicates=0, conflicts=0, requests=0,
                           rejected=0, closed=0)
        self.conflicts = []
        self.fault = None
        try:
            with open(out_path) as f:
                for line in f:
                    if line.strip():
                        r = json.loads(line)
                        self.hold(r["agent"], r["index"], r["spooled"], r["origin"],
                                  base64.b64decode(r["event"]))
        except FileNotFoundError:
            pass
        self.out = open(out_path, "a")

    def hold(self, agent, index, spooled, origin, event):
        self.held[(agent, index)] = (spooled, origin, event)
        t = self.contig.get(agent, -1)
        while (agent, t + 1) in self.held:
            t += 1
        self.contig[agent] = t

    def take_fault(self, kinds):
        """The current fault if it is of one of KINDS, counting it down."""
        f = self.fault
        if not f or f["kind"] not in kinds:
            return None
        if f["count"] > 0:
            f["count"] -= 1
            if f["count"] == 0:
                self.fault = None
        return f


def parse_body(body):
    records, off, last = [], 0, None
    while off < len(body):
        if len(body) - off < 17:
            raise ValueError("truncated record header at byte %d" % off)
        index, spooled = struct.unpack(">Qq", body[off:off + 16])
        olen = body[off + 16]
        off += 17
        if len(body) - off < olen + 4:
            raise ValueError("truncated origin at byte %d" % off)
        origin = body[off:off + olen]
        if any(c < 0x20 or c > 0x7e for c in origin):
            raise ValueError("origin is not printable ASCII")
        off += olen
        (elen,) = struct.unpack(">I", body[off:off + 4])
        off += 4
        if elen < 1 or elen > 65535 or len(body) - off < elen:
            raise ValueError("bad event length %d" % elen)
        event = body[off:off + elen]
        off += elen
        if last is not None and index <= last:
            raise ValueError("spool indexes not strictly increasing: %d after %d" % (index, last))
        last = index
        records.append((index, spooled, origin.decode(), bytes(event)))
    if not records:
        raise ValueError("no records")
    return records


def make_handler(state, token, log):
    path_re = re.compile(r"^/v1/logs/([^/]+)/forward$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def answer(self, status, obj, headers=()):
            data = (json.dumps(obj) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, code, msg, headers=()):
            with state.lock:
                state.counts["rejected"] += 1
            self.answer(status, {"error": {"status": status, "code": code, "message": msg}},
                        headers)

        def read_body(self):
            n = int(self.headers.get("Content-Length", "0"))
            return self.rfile.read(n)

        def do_GET(self):
            if self.path == "/state":
                with state.lock:
                    s = dict(state.counts)
                    s["through"] = dict(state.contig)
                    s["unique"] = len(state.held)
                    s["fault"] = state.fault
                    s["conflict_list"] = state.conflicts[:10]
                self.answer(200, s)
            else:
                self.error(404, "not_found", "no such path")

        def do_POST(self):
            body = self.read_body()
            if self.path == "/control":
                c = json.loads(body)
                with state.lock:
                    if "fail" in c:
                        state.fault = dict(kind="fail", status=c["fail"], count=c.get("count", 1),
                                           retry_after=c.get("retry_after"))
                    elif "close" in c:
                        state.fault = dict(kind="close", count=c["close"],
                                           after_store=c.get("after_store", False))
                    elif "delay" in c:
                        state.fault = dict(kind="delay", delay=c["delay"], count=c.get("count", 1))
                    else:
                        state.fault = None
                self.answer(200, {"ok": True})
                return
            m = path_re.match(self.path)
            with state.lock:
                state.counts["requests"] += 1
                fault = state.take_fault(("fail", "close", "delay"))
            if fault and fault["kind"] == "fail":
                h = [("Retry-After", str(fault["retry_after"]))] if fault.get("retry_after") else []
                self.error(fault["status"], "injected", "injected failure", h)
                return
            if fault and fault["kind"] == "close" and not fault["after_store"]:
                with state.lock:
                    state.counts["closed"] += 1
                self.close_connection = True
                return
            if not m or m.group(1) != log:
                self.error(404, "not_found", "no such log")
                return
            if self.headers.get("Authorization") != "Bearer " + token:
                self.error(401, "unauthorized", "bad token")
                return
            if self.headers.get("Content-Type") != "application/x-vellum-forward":
                self.error(415, "unsupported_media_type", "want application/x-vellum-forward")
                return
            agent = self.headers.get("Vellum-Agent", "")
            if not AGENT_RE.match(agent):
                self.error(400, "bad_agent", "bad Vellum-Agent")
                return
            try:
                records = parse_body(body)
            except ValueError as e:
                self.error(400, "malformed_body", str(e))
                return
            written = dups = 0
            with state.lock:
                for index, spooled, origin, event in records:
                    state.counts["records"] += 1
                    had = state.held.get((agent, index))
                    if had is not None:
                        dups += 1
                        if had != (spooled, origin, event):
                            state.counts["conflicts"] += 1
                            state.conflicts.append(dict(agent=agent, index=index))
                        continue
                    written += 1
                    state.hold(agent, index, spooled, origin, event)
                    state.out.write(json.dumps(dict(
                        agent=agent, index=index, spooled=spooled, origin=origin,
                        event=base64.b64encode(event).decode())) + "\n")
                state.out.flush()
                state.counts["written"] += written
                state.counts["duplicates"] += dups
                through = state.contig.get(agent, -1)
            if fault and fault["kind"] == "close":
                with state.lock:
                    state.counts["closed"] += 1
                self.close_connection = True
                return
            if fault and fault["kind"] == "delay":
                time.sleep(fault["delay"])
            self.answer(200, {"log": log, "agent": agent, "records": len(records),
                              "written": written, "duplicates": dups, "through": through})

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", default="default")
    a = ap.parse_args()
    state = State(a.out)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(state, a.token, a.log))
    srv.daemon_threads = True
    print("listening", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
