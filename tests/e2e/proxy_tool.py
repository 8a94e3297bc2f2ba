#!/usr/bin/env python3
# proxy_tool.py — the other ends of `vellum chaos proxy` for tests/e2e/proxy.sh:
# an echo server (the upstream), and clients that measure what the proxy
# does to a connection.  Each client subcommand exits 0 when what it saw
# matches what was asked, 1 otherwise, and says why on stdout.
#
#   echo PORT_FILE [--log FILE]     echo server on 127.0.0.1:0; writes its port;
#                                   --log gets "open N" / "close N" lines
#   pass PORT CONNS BYTES           CONNS connections at once each echo BYTES of
#                                   seeded random data, then half-close; the
#                                   echo must be byte-exact and end with EOF
#   rtt PORT COUNT MIN_MS MAX_MS    COUNT round trips on one connection, each
#                                   within [MIN_MS, MAX_MS]; prints them
#   transfer PORT BYTES MIN_S MAX_S one echo of BYTES takes MIN_S..MAX_S seconds
#   silent PORT SECONDS             a new connection: after sending, nothing
#                                   arrives and it is not closed for SECONDS
#   held PORT CTL SPEC SECONDS [LOG]  an established connection: after
#                                   `fault SPEC` it hears nothing for SECONDS,
#                                   after `heal` it is reset; with the echo
#                                   server's LOG, its upstream connection must
#                                   have been closed before the heal
#   reset-open PORT CTL             an established connection is reset by
#                                   `fault reset`
#   jitter PORT ERR_FILE            the round trips follow the delays_ms that
#                                   the proxy printed in its schedule (ERR_FILE)
#   window PORT CTL START END       for blackhole@START+(END-START): a round
#                                   trip works before START; a connection made
#                                   at START+0.2 hears nothing until END-0.2 and
#                                   is reset at END; after END it works again
#   expect-reset PORT               the connection is reset (ECONNRESET)
#   expect-refused PORT             connecting is refused (ECONNREFUSED)
#   control PORT LINE               sends LINE, prints the one-line reply
#   status PORT EXPR                prints EXPR of the status JSON (as d)
#   at PORT T                       waits until the proxy's clock is at T s
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0

import hashlib
import json
import os
import random
import socket
import socketserver
import sys
import threading
import time

HOST = "127.0.0.1"


def fail(msg):
    print(msg)
    sys.exit(1)


def size(s):
    s = s.lower()
    mult = 1
    if s.endswith("k"):
        mult, s = 1024, s[:-1]
    elif s.endswith("m"):
        mult, s = 1024 * 1024, s[:-1]
    return int(s) * mult


def connect(port, timeout=10.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += b
    return bytes(buf)


# ------------------------------------------------------------------ server

def cmd_echo(port_file, log=None):
    lock = threading.Lock()
    counter = [0]

    def note(line):
        if log:
            with lock, open(log, "a") as f:
                f.write(line + "\n")

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            with lock:
                counter[0] += 1
                n = counter[0]
            note("open %d" % n)
            try:
                while True:
                    b = self.request.recv(65536)
                    if not b:
                        break
                    self.request.sendall(b)
                self.request.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            note("close %d" % n)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server((HOST, 0), Handler)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, port_file)
    srv.serve_forever()


# ------------------------------------------------------------------ clients

def cmd_pass(port, conns, nbytes):
    results = [None] * conns

    def one(i):
        try:
            data = random.Random(1000 + i).randbytes(nbytes)
            s = connect(port, timeout=60)
            got = hashlib.sha256()
            count = [0]

            def reader():
                try:
                    while True:
                        b = s.recv(262144)
                        if not b:
                            break
                        got.update(b)
                        count[0] += len(b)
                except OSError as e:
                    count.append(e)

            t = threading.Thread(target=reader)
            t.start()
            view = memoryview(data)
            for off in range(0, nbytes, 100000):
                s.sendall(view[off:off + 100000])
            s.shutdown(socket.SHUT_WR)
            t.join(120)
            s.close()
            if len(count) > 1:
                results[i] = "connection %d: %s" % (i, count[1])
            elif count[0] != nbytes:
                results[i] = "connection %d: %d bytes back, sent %d" % (i, count[0], nbytes)
            elif got.digest() != hashlib.sha256(data).digest():
                results[i] = "connection %d: the bytes differ" % i
            else:
                results[i] = "ok"
        except Exception as e:  # noqa: BLE001 — any failure is the answer
            results[i] = "connection %d: %r" % (i, e)

    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [r for r in results if r != "ok"]
    if bad:
        fail("; ".join(bad))
    print("%d connections x %d bytes echoed byte-exact in %.2f s"
          % (conns, nbytes, time.monotonic() - start))


def cmd_rtt(port, count, lo, hi):
    s = connect(port)
    rtts = []
    for i in range(count):
        msg = b"ping %04d\n" % i
        t = time.monotonic()
        s.sendall(msg)
        back = recv_exact(s, len(msg))
        rtts.append((time.monotonic() - t) * 1000)
        if back != msg:
            fail("round trip %d: got %r" % (i, back))
    s.close()
    print("round trips (ms): " + " ".join("%.1f" % r for r in rtts))
    out = [r for r in rtts if r < lo or r > hi]
    if out:
        fail("outside [%g, %g] ms: %s" % (lo, hi, " ".join("%.1f" % r for r in out)))


def cmd_transfer(port, nbytes, lo, hi):
    data = os.urandom(nbytes)
    s = connect(port, timeout=60)
    start = time.monotonic()
    t = threading.Thread(target=lambda: s.sendall(data))
    t.start()
    back = recv_exact(s, nbytes)
    took = time.monotonic() - start
    t.join()
    s.close()
    if back != data:
        fail("the echo differs")
    print("%d bytes echoed in %.2f s" % (nbytes, took))
    if not lo <= took <= hi:
        fail("took %.2f s, expected %g..%g s" % (took, lo, hi))


def expect_silence(s, seconds, what):
    s.settimeout(seconds)
    try:
        b = s.recv(4096)
    except socket.timeout:
        return
    except ConnectionResetError:
        fail("%s: reset within %g s" % (what, seconds))
    if b:
        fail("%s: got %r within %g s" % (what, b, seconds))
    fail("%s: closed within %g s" % (what, seconds))


def cmd_silent(port, seconds):
    s = connect(port)
    s.sendall(b"anyone there?\n")
    expect_silence(s, seconds, "new connection")
    s.close()
    print("no data and no close for %g s" % seconds)


def control_line(ctl, line):
    with connect(ctl) as c:
        c.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            b = c.recv(65536)
            if not b:
                break
            buf += b
    return buf.decode().rstrip("\n")


def cmd_held(port, ctl, spec, seconds, log=None):
    s = connect(port)
    s.sendall(b"before\n")
    if recv_exact(s, 7) != b"before\n":
        fail("no echo before the fault")
    r = control_line(ctl, "fault " + spec)
    if not r.startswith("ok"):
        fail("fault %s: %s" % (spec, r))
    s.sendall(b"during\n")
    expect_silence(s, seconds, "established connection under " + spec)
    if log:
        lines = open(log).read().split()
        opened = [lines[i + 1] for i in range(0, len(lines), 2) if lines[i] == "open"]
        closed = [lines[i + 1] for i in range(0, len(lines), 2) if lines[i] == "close"]
        if not opened or opened[-1] not in closed:
            fail("the upstream connection %s is still open under %s"
                 % (opened[-1] if opened else "?", spec))
    r = control_line(ctl, "heal")
    if not r.startswith("ok"):
        fail("heal: %s" % r)
    s.settimeout(5)
    try:
        b = s.recv(4096)
        fail("after heal: expected a reset, got %r" % b)
    except ConnectionResetError:
        pass
    s.close()
    print("silent for %g s under %s, reset after heal" % (seconds, spec))


def cmd_reset_open(port, ctl):
    s = connect(port)
    s.sendall(b"before\n")
    if recv_exact(s, 7) != b"before\n":
        fail("no echo before the fault")
    r = control_line(ctl, "fault reset")
    if not r.startswith("ok"):
        fail("fault reset: %s" % r)
    s.settimeout(5)
    try:
        b = s.recv(4096)
        fail("expected a reset, got %r" % b)
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail("no reset within 5 s")
    print("the open connection was reset")


def cmd_jitter(port, err_file):
    delays = None
    for line in open(err_file):
        d = json.loads(line)
        if d.get("event") == "schedule" and "delays_ms" in d:
            delays = d["delays_ms"]
    if not delays:
        fail("no delays_ms in %s" % err_file)
    s = connect(port)
    got = []
    for i in range(len(delays) // 2):
        msg = b"jitter %04d\n" % i
        t = time.monotonic()
        s.sendall(msg)
        if recv_exact(s, len(msg)) != msg:
            fail("round trip %d: wrong echo" % i)
        got.append((time.monotonic() - t) * 1000)
    s.close()
    want = [delays[2 * i] + delays[2 * i + 1] for i in range(len(got))]
    print("round trips (ms): %s; printed delays give: %s"
          % (" ".join("%.1f" % g for g in got), " ".join(str(w) for w in want)))
    bad = [i for i in range(len(got)) if not want[i] <= got[i] <= want[i] + 60]
    if bad:
        fail("round trips %s are not within [sum of delays, +60 ms]" % bad)


def proxy_time(ctl):
    return json.loads(control_line(ctl, "status")[3:])["t"]


def one_rtt(port, what):
    try:
        with connect(port, timeout=2) as s:
            s.sendall(b"ping\n")
            if recv_exact(s, 5) != b"ping\n":
                fail("%s: wrong echo" % what)
    except (OSError, EOFError) as e:
        fail("%s: %r" % (what, e))


def cmd_window(port, ctl, start, end):
    one_rtt(port, "before the window")
    t = proxy_time(ctl)
    if t >= start:
        fail("too slow: the round trip before the window ended at %.3f s" % t)
    cmd_at(ctl, start + 0.2)
    s = connect(port)
    s.sendall(b"during\n")
    t = proxy_time(ctl)
    if t >= end - 0.4:
        fail("too slow: the connection in the window was made at %.3f s" % t)
    expect_silence(s, end - 0.2 - t, "in the window")
    s.settimeout(5)
    try:
        b = s.recv(4096)
        fail("at the end of the window: expected a reset, got %r" % b)
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail("no reset at the end of the window")
    t = proxy_time(ctl)
    if not end <= t < end + 1:
        fail("the reset came at %.3f s, not at the end of the window" % t)
    one_rtt(port, "after the window")
    print("works before %g s, silent in the window, reset at %.3f s, works after" % (start, t))


def cmd_expect_reset(port):
    try:
        s = connect(port)
    except ConnectionResetError:
        print("reset while connecting")
        return
    try:
        s.sendall(b"hello\n")
        s.settimeout(5)
        b = s.recv(4096)
    except (ConnectionResetError, BrokenPipeError) as e:
        print("connection reset: %s" % e)
        return
    except socket.timeout:
        fail("no reset within 5 s")
    fail("expected a reset, got %r" % b)


def cmd_expect_refused(port):
    try:
        s = connect(port, timeout=5)
    except ConnectionRefusedError as e:
        print("refused: %s" % e)
        return
    s.close()
    fail("the connection was accepted")


def cmd_status(ctl, expr):
    r = control_line(ctl, "status")
    if not r.startswith("ok "):
        fail("status: %s" % r)
    d = json.loads(r[3:])
    print(eval(expr, {}, {"d": d}))  # noqa: S307 — the tests' own expressions


def cmd_at(ctl, t):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = control_line(ctl, "status")
        now = json.loads(r[3:])["t"]
        if now >= t:
            return
        time.sleep(min(0.05, t - now))
    fail("the proxy's clock did not reach %g" % t)


def main(argv):
    if len(argv) < 2:
        fail(__doc__ or "usage: proxy_tool.py COMMAND ...")
    cmd, a = argv[1], argv[2:]
    if cmd == "echo":
        log = a[2] if len(a) > 2 and a[1] == "--log" else None
        cmd_echo(a[0], log)
    elif cmd == "pass":
        cmd_pass(int(a[0]), int(a[1]), size(a[2]))
    elif cmd == "rtt":
        cmd_rtt(int(a[0]), int(a[1]), float(a[2]), float(a[3]))
    elif cmd == "transfer":
        cmd_transfer(int(a[0]), size(a[1]), float(a[2]), float(a[3]))
    elif cmd == "silent":
        cmd_silent(int(a[0]), float(a[1]))
    elif cmd == "held":
        cmd_held(int(a[0]), int(a[1]), a[2], float(a[3]), a[4] if len(a) > 4 else None)
    elif cmd == "reset-open":
        cmd_reset_open(int(a[0]), int(a[1]))
    elif cmd == "jitter":
        cmd_jitter(int(a[0]), a[1])
    elif cmd == "window":
        cmd_window(int(a[0]), int(a[1]), float(a[2]), float(a[3]))
    elif cmd == "expect-reset":
        cmd_expect_reset(int(a[0]))
    elif cmd == "expect-refused":
        cmd_expect_refused(int(a[0]))
    elif cmd == "control":
        print(control_line(int(a[0]), a[1]))
    elif cmd == "status":
        cmd_status(int(a[0]), a[1])
    elif cmd == "at":
        cmd_at(int(a[0]), float(a[1]))
    else:
        fail("unknown command %s" % cmd)


if __name__ == "__main__":
    main(sys.argv)
