-- The company itself and its distributors.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('company', 'distributor')),
    created_at TIMESTAMP NOT NULL
);

-- Sectors, with their potential index (IRV) and the company's market share.
CREATE TABLE regions (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    potential_index DOUBLE PRECISION NOT NULL DEFAULT 1.0 CHECK (potential_index > 0),
    market_share DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (market_share >= 0 AND market_share <= 1),
    manager_id TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    region_id TEXT REFERENCES regions (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX teams_organisation_idx ON teams (organisation_id);
CREATE INDEX teams_region_idx ON teams (region_id);

-- Who competes: a rep, a team taken as one, or a whole distributor.
CREATE TABLE participants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('rep', 'team', 'distributor')),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    region_id TEXT REFERENCES regions (id),
    team_id TEXT REFERENCES teams (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX participants_organisation_idx ON participants (organisation_id);
CREATE INDEX participants_region_idx ON participants (region_id);
CREATE INDEX participants_team_idx ON participants (team_id);

CREATE TABLE products (
    id TEXT PRIMARY KEY NOT NULL,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    key_account BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

-- The facts objectives measure. Reversal lines (returns, cancellations) carry negative
-- quantity and amount and point at the line they reverse. `owner` is whose integration
-- sent the line (a distributor organisation's id, or `company`): the pair (source,
-- external id) is unique per owner, so one partner's ids never collide with another's.
CREATE TABLE sales (
    id TEXT PRIMARY KEY NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants (id),
    customer_id TEXT REFERENCES customers (id),
    product_id TEXT REFERENCES products (id),
    sold_at TIMESTAMP NOT NULL,
    quantity BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    owner TEXT NOT NULL,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    reverses_id TEXT REFERENCES sales (id),
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    -- external_id first: batch look-ups probe it with IN lists, whatever the statistics say.
    UNIQUE (external_id, source, owner)
);
-- Covers the per-participant sums of the standings, so they are read from the index
-- alone, in participant order.
CREATE INDEX sales_participant_idx ON sales (participant_id, currency, sold_at, amount_cents, quantity);
CREATE INDEX sales_reverses_idx ON sales (reverses_id);

-- Answers of requests sent with an Idempotency-Key, per caller.
CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal_id, idempotency_key)
);

CREATE TABLE challenges (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('competition', 'incentive')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'running', 'closed', 'announced')),
    rules_text TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    baseline_starts_at TIMESTAMP,
    baseline_ends_at TIMESTAMP,
    currency TEXT NOT NULL,
    ranking_unit TEXT NOT NULL CHECK (ranking_unit IN ('participant', 'team', 'region', 'organisation')),
    -- JSON: objective, fairness, threshold, tie_break, target, audience.
    definition TEXT NOT NULL,
    standings_visible BOOLEAN NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    announced_at TIMESTAMP
);
CREATE INDEX challenges_status_idx ON challenges (status);

-- Standings frozen when a challenge closes. `line` is the JSON of the whole line.
CREATE TABLE standing_lines (
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    entrant_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    rank INTEGER,
    region_id TEXT,
    organisation_id TEXT,
    line TEXT NOT NULL,
    PRIMARY KEY (challenge_id, entrant_id)
);
CREATE INDEX standing_lines_position_idx ON standing_lines (challenge_id, position);

-- A counter bumped by every write that can change a score, so computed standings can be
-- cached until the data under them changes (on every API instance).
CREATE TABLE scoring_version (
    id INTEGER PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO scoring_version (id, version) VALUES (1, 0);
