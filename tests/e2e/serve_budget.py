#!/usr/bin/env python3
# serve_budget.py PORT TOKEN — for serve.sh: a slow upload holds 40 KB of a
# 64 KiB memory budget while a second 40 KB request arrives.  Prints the
# second answer's status line, whether it had Retry-After, its body, and
# the first answer's status line once its body is complete.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import json
import socket
import sys
import time

port, token = int(sys.argv[1]), sys.argv[2]
body = json.dumps({"pad": "y" * 39980}).encode()


def start(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n")
    s.sendall(body[:n])
    return s


def answer(s):
    s.settimeout(10)
    r = b""
    while b"\r\n\r\n" not in r or not r.rstrip().endswith(b"}"):
        d = s.recv(65536)
        if not d:
            break
        r += d
    return r.decode(errors="replace")


a = start(len(body) - 10)
time.sleep(0.5)
b = start(len(body))
rb = answer(b)
a.sendall(body[len(body) - 10:])
ra = answer(a)
print(rb.split("\r\n")[0])
print("retry-after" in rb.lower())
print(rb.split("\r\n\r\n", 1)[-1].strip())
print(ra.split("\r\n")[0])
