# logread.py — what the end-to-end tests read back from a running
# `vellum serve`: every entry of a log over HTTP, keeping one agent's
# forwarded events by their envelope (agent, origin, spool-index).
#
# Copyright 2026 The vellum Authors
# SPDX-License-Identifier: Apache-2.0
import http.client
import urllib.parse


def agent_events(url, token, agent, origin, log="default"):
    """(events, problem): the events AGENT forwarded from ORIGIN, in spool
    order; problem is None, or why the log is wrong: an entry that cannot
    be read, a spool index held twice, or events not in spool order."""
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", "/metrics")
    size = 0
    prefix = 'vellum_log_entries{log="%s"} ' % log
    for line in c.getresponse().read().decode().split("\n"):
        if line.startswith(prefix):
            size = int(float(line.split()[1]))
    got, entry_of, top = {}, {}, None
    for i in range(size):
        c.request("GET", "/v1/logs/%s/entries/%d" % (log, i),
                  headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            return None, "entry %d: status %d" % (i, r.status)
        head, _, event = body.partition(b"\n\n")
        fields = dict(l.split(": ", 1) for l in head.decode().split("\n")[1:])
        if fields.get("agent") != agent or fields.get("origin", "") != origin:
            continue
        si = int(fields["spool-index"])
        if si in got:
            return None, "spool index %d is in the log twice (entries %d and %d)" % (
                si, entry_of[si], i)
        if top is not None and si < top:
            return None, ("spool index %d is in the log after spool index %d (entries %d, %d):"
                          " not in spool order" % (si, top, i, entry_of[top]))
        top = si
        got[si] = event
        entry_of[si] = i
    return [got[k] for k in sorted(got)], None
