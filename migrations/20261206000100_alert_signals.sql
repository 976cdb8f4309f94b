-- Alert routing to PagerDuty Events v2 and a signed webhook, through the
-- same outbox as e-mail and Slack (docs/decisions.md 82;
-- crates/nightshift-tasks/src/delivery/events.rs).

ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('email', 'slack', 'pagerduty', 'webhook'));

-- Rows sharing a sequence key go out in id order: a PagerDuty resolve or an
-- `alert.resolved` waits while the trigger before it is still pending or
-- being sent, so a retried trigger can never land after its own resolve and
-- open an incident for a cleared alert. NULL (e-mail, Slack) orders nothing.
ALTER TABLE notifications ADD COLUMN sequence_key text;
CREATE INDEX notifications_sequence_open ON notifications (sequence_key, id)
    WHERE sequence_key IS NOT NULL AND status IN ('pending', 'sending');

-- The transitions still to be told are found from recent resolutions.
CREATE INDEX alerts_resolved_at ON alerts (resolved_at) WHERE status = 'resolved';
