-- The audit log: one row per write by a signed-in caller (or by the server itself, for the
-- first admin), inserted in the same transaction as the write, so an entry exists if and
-- only if its write committed. Rows hold ids and digests, never names or free text, so
-- erasing a person never needs to touch them. Triggers refuse every UPDATE and DELETE.
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TIMESTAMP NOT NULL,
    -- `user`, `api_client` or `system`.
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_role TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    -- `sha256:` and 64 hex digits of the object's state before and after the write.
    before_digest TEXT,
    after_digest TEXT,
    request_id TEXT
);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_by_object ON audit_events (object_type, object_id, seq);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
