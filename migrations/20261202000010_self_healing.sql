-- Self-healing schedules (docs/architecture.md §3, issue 15).
--
-- What a run holds, by run: a queue item it works on and an outbox row it is
-- sending name their run, so the sweep that declares the run dead releases
-- them in the same statement, and a run that lost its lease cannot settle
-- them (every settle checks that its run still holds its lease).
ALTER TABLE work_queue ADD COLUMN held_by uuid;
ALTER TABLE notifications ADD COLUMN held_by uuid;
CREATE INDEX work_queue_held_by ON work_queue (held_by) WHERE status = 'running';
CREATE INDEX notifications_held_by ON notifications (held_by) WHERE status = 'sending';
