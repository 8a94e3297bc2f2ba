#!/usr/bin/env python3
# agent_syslog_tool.py — helpers for agent_syslog.sh: syslog senders over
# TCP and UDP, and a check of what a real server's log holds.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
#
#   send-tcp PORT FRAMING PREFIX COUNT OUT [SEED]
#                         one TCP connection; COUNT messages (RFC 5424 and
#                         RFC 3164 in turn, each naming PREFIX-NNNNNN),
#                         framed by octet counting ("octet"), LF ("lf") or
#                         either per message ("mixed"), written in chunks
#                         of random sizes that split messages; the messages
#                         (without framing) go to OUT, one a line
#   send-udp PORT PREFIX COUNT OUT PACE_MS
#                         COUNT datagrams, PACE_MS apart (a fraction is fine)
#   oversize PORT         one octet-counted message of 64512 bytes over TCP;
#                         exits 0 when the receiver closes the connection
#   check URL TOKEN AGENT ORIGIN TOTAL PREFIX=FILE... [has=TEXT...]
#                         the log holds TOTAL events from AGENT and ORIGIN,
#                         each spool index once; for each PREFIX, the events
#                         naming PREFIX- are exactly FILE's lines in spool
#                         index order; each TEXT is in exactly one event

import random
import socket
import sys
import time

import logread

EVENT_MAX = 65535 - 1024


def message(prefix, i):
    tag = "%s-%06d" % (prefix, i)
    if i % 2:
        return ("<%d>1 2026-11-26T15:04:%02d.%06dZ host-%s app %d ID%d [ex@32473 seq=\"%d\"] "
                "%s caf\u00e9 %s" % (8 + i % 184, i % 60, i, prefix, i, i % 7, i, tag,
                                     "x" * (i % 300))).encode()
    return ("<%d>Nov %2d 15:04:05 host-%s app[%d]: %s %s" % (
        i % 192, 1 + i % 28, prefix, i, tag, "y" * (i % 200))).encode()


def cmd_send_tcp(port, framing, prefix, count, out, seed="1"):
    rnd = random.Random(int(seed))
    msgs = [message(prefix, i) for i in range(int(count))]
    stream = bytearray()
    for i, m in enumerate(msgs):
        octet = framing == "octet" or (framing == "mixed" and rnd.random() < 0.5)
        if octet:
            stream += b"%d " % len(m) + m
        else:
            stream += m + (b"\r\n" if i % 5 == 0 else b"\n")
    s = socket.create_connection(("127.0.0.1", int(port)))
    off = 0
    while off < len(stream):
        n = rnd.randint(1, 4096)
        s.sendall(stream[off:off + n])
        off += n
    s.close()
    with open(out, "wb") as f:
        for m in msgs:
            f.write(m + b"\n")
    return 0


def cmd_send_udp(port, prefix, count, out, pace_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    msgs = [message(prefix, i) for i in range(int(count))]
    for i, m in enumerate(msgs):
        s.sendto(m + (b"\n" if i % 2 else b""), ("127.0.0.1", int(port)))
        time.sleep(float(pace_ms) / 1000)
    with open(out, "wb") as f:
        for m in msgs:
            f.write(m + b"\n")
    return 0


def cmd_oversize(port):
    m = b"<13>" + b"z" * (EVENT_MAX + 1 - 4)
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.settimeout(10)
    try:
        s.sendall(b"%d " % len(m) + m)
        closed = s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except socket.timeout:
        closed = False
    s.close()
    return 0 if closed else 1


def cmd_check(url, token, agent, origin, total, *specs):
    events, problem = logread.agent_events(url, token, agent, origin)
    if problem:
        print(problem)
        return 1
    problems = []
    if len(events) != int(total):
        problems.append("%d events in the log, expected %s" % (len(events), total))
    for spec in specs:
        if spec.startswith("has="):
            text = spec[4:].encode()
            n = sum(1 for e in events if text in e)
            if n != 1:
                problems.append("%d events contain %r, expected 1" % (n, text))
            continue
        prefix, path = spec.split("=", 1)
        mark = (" %s-" % prefix).encode()
        with open(path, "rb") as f:
            want = [l for l in f.read().split(b"\n") if l]
        have = [e for e in events if mark in e]
        if have != want:
            hs = set(have)
            missing = [w for w in want if w not in hs]
            detail = "%d missing (e.g. %r)" % (len(missing), missing[0][:60]) if missing else \
                "%d held, %d wanted, distinct %d" % (len(have), len(want), len(hs))
            first = next((i for i, (h, w) in enumerate(zip(have, want)) if h != w), None)
            problems.append("%s: the events differ from %s: %s; first difference at #%s" %
                            (prefix, path, detail, first))
        else:
            print("%s: %d events, exact and in order" % (prefix, len(have)))
    for p in problems:
        print(p)
    print("%d events in the log from %s %s" % (len(events), agent, origin))
    return 1 if problems else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"send-tcp": cmd_send_tcp, "send-udp": cmd_send_udp, "oversize": cmd_oversize,
          "check": cmd_check}[cmd]
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main())
