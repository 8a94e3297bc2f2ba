#!/usr/bin/env python3
# serve_conns.py PORT — for serve.sh: with max_connections = 4, holds four
# connections open, checks a fifth is closed unanswered, then that a new one
# is served once the four are closed.
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import socket
import sys
import time

port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(3)
try:
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    r = extra.recv(100)
except OSError:
    r = b""
print("refused" if not r else "answered")
for h in held:
    h.close()
time.sleep(0.3)
again = socket.create_connection(("127.0.0.1", port))
again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
again.settimeout(3)
print("answered" if again.recv(100).startswith(b"HTTP/1.1 200") else "refused")
