#!/usr/bin/env python3
"""The `devCommand` scripts/vercel-check gives `vercel dev`: it stands where Vercel's edge
stands in front of a deployed route. `vercel dev` (CLI 64.0.2) delivers a `path` schedule to
the dev command's origin with the method alone: no Authorization, no `vercel-cron/1.0`
user-agent, no `x-vercel-cron-schedule` (docs/deploy/vercel-schedules-findings.md). A
Nightshift route refuses a call without the bearer (fail-closed), so this adds
`Authorization: Bearer $CRON_SECRET` when the call has none, the one header the platform
adds, forwards to the route executable on 127.0.0.1:$ROUTE_PORT, and appends what it got
and what the route answered, one JSON line per call, to $PROXY_LOG.

Env: PORT (set by `vercel dev`), ROUTE_PORT, CRON_SECRET, PROXY_LOG.
"""
import http.server
import json
import os
import urllib.error
import urllib.request


class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        had_bearer = "authorization" in (k.lower() for k in headers)
        if not had_bearer:
            headers["Authorization"] = f"Bearer {os.environ['CRON_SECRET']}"
        req = urllib.request.Request(
            f"http://127.0.0.1:{os.environ['ROUTE_PORT']}{self.path}",
            data=body, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = {"raw": payload.decode(errors="replace")}
        record = {
            "method": self.command,
            "path": self.path,
            "user_agent": self.headers.get("user-agent"),
            "cron_schedule": self.headers.get("x-vercel-cron-schedule"),
            "had_bearer": had_bearer,
            "status": status,
            "answer": answer,
        }
        with open(os.environ["PROXY_LOG"], "a") as log:
            log.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = forward

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Proxy).serve_forever()
