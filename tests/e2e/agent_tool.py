#!/usr/bin/env python3
# agent_tool.py — helpers for agent.sh: write input (files with rotation,
# steady appenders), compute the events an input must become, and check
# what arrived (in agent_mock.py's --out, or in a real server's log).
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
#   events INPUT                 the events INPUT makes, one per line (the
#                                agent's rules: newline stripped, empty lines
#                                skipped, long lines split at 64511 bytes,
#                                a last line without newline kept)
#   check OUT AGENT ORIGIN EXPECTED
#                                the mock holds, for AGENT and ORIGIN, exactly
#                                the lines of EXPECTED, in spool index order
#   dense OUT AGENT              AGENT's spool indexes are 0..N-1, no gaps
#   count OUT AGENT [ORIGIN]     records held for AGENT (and ORIGIN)
#   wait OUT AGENT ORIGIN N SECS until N records are held (exit 1 on timeout)
#   dropcheck OUT AGENT INPUT    the received events plus the dropped
#                                range(s) account for INPUT exactly
#   writer PATH PREFIX COUNT ROTATE_EVERY OUT AGENT
#                                writes COUNT lines, rotating every
#                                ROTATE_EVERY lines, by rename and by
#                                copytruncate in turn (copytruncate only after
#                                the agent caught up, as it could otherwise
#                                not help losing lines)
#   appender PATH PREFIX STOPFILE [ROTATE_EVERY]
#                                appends lines until STOPFILE exists, then
#                                prints how many it wrote; rotates by rename
#                                to PATH.1, PATH.2, ... every ROTATE_EVERY
#   server-check URL TOKEN AGENT ORIGIN EXPECTED
#                                a real server's log holds, for AGENT and
#                                ORIGIN, exactly EXPECTED, each once, in
#                                spool index order

import base64
import json
import os
import shutil
import sys
import time

import logread

EVENT_MAX = 65535 - 1024


def events_of(data, final=True):
    out, i = [], 0
    while i < len(data):
        nl = data.find(b"\n", i, i + EVENT_MAX + 1)
        if nl >= 0:
            if nl > i:
                out.append(data[i:nl])
            i = nl + 1
        elif len(data) - i > EVENT_MAX:
            out.append(data[i:i + EVENT_MAX])
            i += EVENT_MAX
        elif final:
            out.append(data[i:])
            i = len(data)
        else:
            break
    return out


def held(out, agent, origin=None):
    recs = {}
    try:
        f = open(out)
    except FileNotFoundError:
        return recs
    with f:
        for line in f:
            if not line.endswith("\n"):
                break  # a line being written
            r = json.loads(line)
            if r["agent"] == agent and (origin is None or r["origin"] == origin):
                recs[r["index"]] = r
    return recs


def read_expected(path):
    with open(path, "rb") as f:
        return [l for l in f.read().split(b"\n") if l]


def compare(got, want):
    """Problems between the events held (in index order) and wanted."""
    problems = []
    seen = {}
    for g in got:
        seen[g] = seen.get(g, 0) + 1
    dups = [k for k, v in seen.items() if v > 1]
    if dups:
        problems.append("%d events held more than once, e.g. %r" % (len(dups), dups[0][:80]))
    wset = set(want)
    missing = [w for w in want if w not in seen]
    if missing:
        problems.append("%d events missing, e.g. %r" % (len(missing), missing[0][:80]))
    extra = [g for g in seen if g not in wset]
    if extra:
        problems.append("%d unexpected events, e.g. %r" % (len(extra), extra[0][:80]))
    if not problems and got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                problems.append("out of order at #%d: %r, expected %r" % (i, g[:80], w[:80]))
                break
    return problems


def cmd_events(path):
    with open(path, "rb") as f:
        for e in events_of(f.read()):
            sys.stdout.buffer.write(e + b"\n")


def cmd_check(out, agent, origin, expected):
    recs = held(out, agent, origin)
    got = [base64.b64decode(recs[i]["event"]) for i in sorted(recs)]
    want = read_expected(expected)
    problems = compare(got, want)
    for p in problems:
        print(p)
    print("%d events held, %d expected" % (len(got), len(want)))
    return 1 if problems else 0


def cmd_dense(out, agent):
    idx = sorted(held(out, agent))
    if idx != list(range(len(idx))):
        gaps = [i for i in range(idx[-1] + 1) if i not in set(idx)] if idx else []
        print("spool indexes have gaps: %d missing, first %s" % (len(gaps), gaps[:5]))
        return 1
    print("%d spool indexes, 0..%d" % (len(idx), len(idx) - 1))
    return 0


def cmd_wait(out, agent, origin, n, secs):
    deadline = time.time() + float(secs)
    while True:
        have = len(held(out, agent, origin))
        if have >= int(n):
            return 0
        if time.time() > deadline:
            print("timed out: %d of %s records" % (have, n))
            return 1
        time.sleep(0.1)


def cmd_dropcheck(out, agent, input_path):
    with open(input_path, "rb") as f:
        data = f.read()
    # (start, end, bytes) of each event of the input
    evs, i = [], 0
    for e in events_of(data):
        start = data.index(e, i)
        evs.append((start, start + len(e) + (1 if start + len(e) < len(data) else 0), e))
        i = start + len(e)
    recs = held(out, agent, "stdin")
    got, dropped = [], 0
    for k in sorted(recs):
        ev = base64.b64decode(recs[k]["event"])
        if ev.startswith(b"vellum-dropped/1\n"):
            fields = dict(l.split(": ", 1) for l in ev.decode().split("\n")[1:] if ": " in l)
            first, last, n = int(fields["first-position"]), int(fields["position"]), int(fields["dropped"])
            inside = [e for (s, t, e) in evs if s >= first and t <= last]
            if len(inside) != n or sum(len(e) for e in inside) != int(fields["dropped-bytes"]):
                print("dropped range %d..%d holds %d events, the record says %s (%s bytes)"
                      % (first, last, len(inside), n, fields["dropped-bytes"]))
                return 1
            got += [None] * n
            dropped += n
        else:
            got.append(ev)
    if len(got) != len(evs):
        print("%d events received or dropped, input has %d" % (len(got), len(evs)))
        return 1
    for g, (s, t, e) in zip(got, evs):
        if g is not None and g != e:
            print("event %r where %r belongs" % (g[:60], e[:60]))
            return 1
    print("%d received, %d dropped and recorded, of %d" % (len(evs) - dropped, dropped, len(evs)))
    return 0 if dropped > 0 else 1


def cmd_writer(path, prefix, count, rotate_every, out, agent):
    count, rotate_every = int(count), int(rotate_every)
    origin = "file:" + os.path.abspath(path)
    f = open(path, "ab")
    rotations = 0
    for i in range(count):
        f.write(b"%s-%06d\n" % (prefix.encode(), i))
        f.flush()
        if i % 50 == 49:
            time.sleep(0.01)
        if (i + 1) % rotate_every == 0 and i + 1 < count:
            rotations += 1
            if rotations % 2 == 1:
                f.close()
                os.rename(path, "%s.%d" % (path, rotations))
                f = open(path, "ab")
            else:
                if cmd_wait(out, agent, origin, i + 1, 30) != 0:
                    return 1
                f.flush()
                shutil.copyfile(path, "%s.%d" % (path, rotations))
                f.truncate(0)
                f.seek(0)
    f.close()
    return 0


def cmd_appender(path, prefix, stopfile, rotate_every="0", per_tick="20"):
    rotate_every = int(rotate_every)
    f = open(path, "ab")
    n = rot = 0
    while not os.path.exists(stopfile):
        for _ in range(int(per_tick)):
            f.write(b"%s-%07d\n" % (prefix.encode(), n))
            n += 1
            if rotate_every and n % rotate_every == 0:
                f.close()
                rot += 1
                os.rename(path, "%s.%d" % (path, rot))
                f = open(path, "ab")
        f.flush()
        time.sleep(0.005)
    f.close()
    print(n)
    return 0


def cmd_server_check(url, token, agent, origin, expected):
    events, problem = logread.agent_events(url, token, agent, origin)
    if problem:
        print(problem)
        return 1
    problems = compare(events, read_expected(expected))
    for p in problems:
        print(p)
    print("%d events in the log from %s %s" % (len(events), agent, origin))
    return 1 if problems else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "count":
        print(len(held(args[0], args[1], args[2] if len(args) > 2 else None)))
        return 0
    fn = {"events": cmd_events, "check": cmd_check, "dense": cmd_dense, "wait": cmd_wait,
          "dropcheck": cmd_dropcheck, "writer": cmd_writer, "appender": cmd_appender,
          "server-check": cmd_server_check}[cmd]
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main())
