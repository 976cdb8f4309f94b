-- Failed secret attempts, per client address and for everyone ("global"),
-- so a back-off holds across serverless instances (docs/decisions.md,
-- "[sec] Throttled secret attempts"). A row's failure level is GCRA-style:
-- it decays to zero at `forget_at`; rows past it and not blocked are pruned
-- by the statement that records the next failure (nightshift_core::throttle).
CREATE TABLE auth_throttle (
    scope text PRIMARY KEY CHECK (length(scope) BETWEEN 1 AND 64),
    failures bigint NOT NULL CHECK (failures >= 0),
    forget_at timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL
);
CREATE INDEX auth_throttle_forget_at ON auth_throttle (forget_at);

-- Dashboard sessions are signed cookies that carry this epoch; a new epoch
-- ("sign out everywhere") refuses every cookie issued before it. Random,
-- so a restored or recreated database never accepts an old cookie either.
CREATE TABLE session_epoch (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    epoch uuid NOT NULL,
    changed_at timestamptz,
    changed_by text
);
INSERT INTO session_epoch (epoch) VALUES (gen_random_uuid());

-- Sessions ended by "sign out", kept until they would have expired anyway.
CREATE TABLE session_revocations (
    session_id uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX session_revocations_expires_at ON session_revocations (expires_at);
