"""Verifies recorded webhook requests with the reference Standard Webhooks
library (PyPI `standardwebhooks`), not with Nightshift's own code.

Input: the JSON written by the Rust test `webhook_requests_for_the_reference_verifier`
(crates/nightshift-tasks/tests/alert_signals/webhook.rs): the secret and, per
request, its webhook-id, webhook-timestamp, webhook-signature and exact body.
Each must verify; the same request with one byte of the body changed, or
under another secret, must not (so a verifier that accepts anything fails).
Exits non-zero naming the first request that does not behave.
"""

import base64
import json
import os
import sys

from standardwebhooks import Webhook, WebhookVerificationError

EVENT_TYPES = {"alert.raised", "alert.resolved", "run.failed"}


def refused(wh, body, headers):
    try:
        wh.verify(body, headers)
    except WebhookVerificationError:
        return True
    return False


def main(path):
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    wh = Webhook(record["secret"])
    other = Webhook("whsec_" + base64.b64encode(os.urandom(32)).decode())
    requests = record["requests"]
    if not requests:
        sys.exit("verify.py: FAIL: no requests were recorded")
    seen = set()
    for r in requests:
        headers = {
            "webhook-id": r["id"],
            "webhook-timestamp": r["timestamp"],
            "webhook-signature": r["signature"],
        }
        try:
            event = wh.verify(r["body"], headers)
        except WebhookVerificationError as e:
            sys.exit(f"verify.py: FAIL: {r['id']}: {e}")
        if event.get("type") not in EVENT_TYPES:
            sys.exit(f"verify.py: FAIL: {r['id']}: unexpected type {event.get('type')!r}")
        if not refused(wh, r["body"][:-1] + " ", headers):
            sys.exit(f"verify.py: FAIL: {r['id']}: a changed body still verifies")
        if not refused(other, r["body"], headers):
            sys.exit(f"verify.py: FAIL: {r['id']}: verifies under another secret")
        seen.add(event["type"])
        print(f"verified {r['id']} ({event['type']})")
    if seen != EVENT_TYPES:
        sys.exit(f"verify.py: FAIL: expected every event type, got {sorted(seen)}")
    print(f"verify.py: {len(requests)} request(s) verified by standardwebhooks")


if __name__ == "__main__":
    main(sys.argv[1])
