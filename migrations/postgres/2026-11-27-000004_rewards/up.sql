-- The reward catalogue. `kind` is the kind's name (for filters); `kind_details` the kind
-- with its own fields, as JSON.
CREATE TABLE rewards (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL CHECK (category IN ('classic', 'surprising', 'trendy', 'goodie', 'certificate', 'trade')),
    kind TEXT NOT NULL,
    kind_details TEXT NOT NULL,
    value_cents BIGINT NOT NULL CHECK (value_cents >= 0),
    currency TEXT NOT NULL,
    stock BIGINT CHECK (stock IS NULL OR stock >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- What a closed challenge gave: one row per award, with where it came from (the frozen
-- standings line at `position`, the plan's and the inputs' hashes, the rule version) so
-- that it can be recomputed and checked later.
CREATE TABLE awards (
    id TEXT PRIMARY KEY NOT NULL,
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    entrant_id TEXT NOT NULL,
    entrant_name TEXT NOT NULL,
    region_id TEXT,
    organisation_id TEXT,
    reward_id TEXT NOT NULL REFERENCES rewards (id),
    quantity BIGINT NOT NULL CHECK (quantity >= 1),
    -- Units this award took from a limited stock (0 when the reward was unlimited): what a
    -- cancellation gives back.
    stock_taken BIGINT NOT NULL DEFAULT 0,
    value_cents BIGINT NOT NULL CHECK (value_cents >= 0),
    currency TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('rank', 'qualified', 'everyone', 'rule')),
    rank INTEGER,
    position INTEGER NOT NULL,
    note TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    rule_id TEXT,
    rule_version INTEGER,
    inputs_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('allocated', 'announced', 'fulfilled', 'cancelled')),
    allocated_at TIMESTAMP NOT NULL,
    allocated_by TEXT NOT NULL,
    announced_at TIMESTAMP,
    announced_by TEXT,
    fulfilled_at TIMESTAMP,
    fulfilled_by TEXT,
    cancelled_at TIMESTAMP,
    cancelled_by TEXT,
    cancel_reason TEXT
);
CREATE INDEX awards_challenge_idx ON awards (challenge_id, position);
CREATE INDEX awards_entrant_idx ON awards (entrant_id);
CREATE INDEX awards_organisation_idx ON awards (organisation_id);
CREATE INDEX awards_region_idx ON awards (region_id);
