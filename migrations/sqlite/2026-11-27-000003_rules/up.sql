-- Admins' Rhai rules: a name and a kind, and immutable versions of the source.
CREATE TABLE rules (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('objective', 'allocation')),
    description TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

-- A version never changes once written; `content_hash` is the SHA-256 of `source`.
CREATE TABLE rule_versions (
    rule_id TEXT NOT NULL REFERENCES rules (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (rule_id, version)
);

-- Every change of the rule version of a scheduled or running challenge, and why.
CREATE TABLE challenge_rule_changes (
    id TEXT PRIMARY KEY NOT NULL,
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    rule_id TEXT NOT NULL REFERENCES rules (id),
    from_version INTEGER NOT NULL,
    to_version INTEGER NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT NOT NULL REFERENCES users (id),
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX challenge_rule_changes_challenge_idx ON challenge_rule_changes (challenge_id, changed_at);
