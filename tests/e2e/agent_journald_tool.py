#!/usr/bin/env python3
# agent_journald_tool.py — helpers for agent_journald.sh: write journal
# files over time without journald (systemd-journal-remote reading journal
# export format), and check what a real server's log holds.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
#   remote                       prints the systemd-journal-remote path
#                                (exit 1 if it is not installed)
#   writer REMOTE DIR STOPFILE [START]
#                                writes entries MESSAGE=jd-<n> (n = START, ...;
#                                START 0 by default) in small batches until
#                                STOPFILE exists, then prints how many it
#                                wrote.  Batches go to
#                                DIR/remote-<START>-<k>.journal (appended to), a new
#                                file every few batches; every other finished
#                                file is renamed (...-archived.journal)
#                                as journald's rotation does.  Times grow.
#   server-check URL TOKEN AGENT ORIGIN N
#                                a real server's log holds, for AGENT and
#                                ORIGIN, exactly the events jd-0 .. jd-(N-1),
#                                each once, in spool index order, each a JSON
#                                object with a distinct __CURSOR

import json
import os
import random
import subprocess
import sys
import time

import logread

BOOT = "5f0c3a1e9b7d4c2a8e6f1b3d5a7c9e0f"
T0 = 1700000000000000


def cmd_remote():
    for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"):
        if os.access(p, os.X_OK):
            print(p)
            return 0
    return 1


def export_entry(n):
    return (b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n"
            b"MESSAGE=jd-%07d\nSEQ=%d\nSYSLOG_IDENTIFIER=vellum-test\n\n"
            % (T0 + n * 1000, 1000000 + n * 1000, BOOT.encode(), n, n))


def cmd_writer(remote, d, stopfile, start="0"):
    r = random.Random(os.getpid())
    start = int(start)
    n, k, batches = start, 0, 0
    while not os.path.exists(stopfile):
        count = r.randrange(1, 40)
        data = b"".join(export_entry(n + i) for i in range(count))
        path = os.path.join(d, "remote-%d-%04d.journal" % (start, k))
        subprocess.run([remote, "--output=" + path, "-"], input=data, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        n += count
        batches += 1
        if batches % 4 == 0:
            if k % 2 == 1:
                os.rename(path, os.path.join(d, "remote-%d-%04d-archived.journal" % (start, k)))
            k += 1
        time.sleep(r.uniform(0, 0.15))
    print(n - start)
    return 0


def cmd_server_check(url, token, agent, origin, n):
    n = int(n)
    raw, problem = logread.agent_events(url, token, agent, origin)
    if problem:
        print(problem)
        return 1
    events = [json.loads(e) for e in raw]
    cursors = set()
    problems = []
    for i, e in enumerate(events):
        want = "jd-%07d" % i
        if e.get("MESSAGE") != want:
            problems.append("event %d: MESSAGE %r, want %r" % (i, e.get("MESSAGE"), want))
        if e.get("__CURSOR") in cursors:
            problems.append("event %d: cursor %s seen before" % (i, e.get("__CURSOR")))
        cursors.add(e.get("__CURSOR"))
        if e.get("__REALTIME_TIMESTAMP") != str(T0 + i * 1000) or e.get("_BOOT_ID") != BOOT:
            problems.append("event %d: header fields %r" % (i, e))
        if len(problems) > 10:
            break
    if len(events) != n:
        problems.append("%d events, want %d" % (len(events), n))
    for p in problems:
        print(p)
    print("%d events in the log from %s %s" % (len(events), agent, origin))
    return 1 if problems else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"remote": cmd_remote, "writer": cmd_writer, "server-check": cmd_server_check}[cmd]
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main())
