-- News: what happened in a challenge, as it happened (started, leader changed, threshold
-- passed, target reached, ending soon, closed, results announced, award fulfilled). The
-- subject entrant's region and organisation are kept so that each reader sees only the
-- news of lines it may see. `dedupe_key` makes a news item that must happen once (the
-- challenge ending soon) happen once, whichever instance notices it.
CREATE TABLE news (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    entrant_id TEXT,
    entrant_name TEXT,
    region_id TEXT,
    organisation_id TEXT,
    award_id TEXT,
    message TEXT NOT NULL,
    details TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    dedupe_key TEXT UNIQUE
);
CREATE INDEX news_challenge_idx ON news (challenge_id, id);
CREATE INDEX news_occurred_idx ON news (occurred_at);

-- What each running challenge looked like when last watched: the scoring version it was
-- computed at and who led, had passed the threshold or reached the target. The watcher
-- compares a new table with it to record news, and moves it forward conditionally on the
-- version it read, so two instances never record the same change twice.
CREATE TABLE challenge_watch (
    challenge_id TEXT PRIMARY KEY NOT NULL REFERENCES challenges (id),
    scoring_version BIGINT NOT NULL,
    leaders TEXT NOT NULL,
    passed TEXT NOT NULL,
    reached TEXT NOT NULL,
    observed_at TIMESTAMP NOT NULL
);

-- Ranks of a challenge's entrants at a moment, kept at most once per snapshot interval:
-- what a digest compares with to tell who moved.
CREATE TABLE standings_snapshots (
    id TEXT PRIMARY KEY NOT NULL,
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    taken_at TIMESTAMP NOT NULL,
    ranks TEXT NOT NULL
);
CREATE INDEX standings_snapshots_challenge_idx ON standings_snapshots (challenge_id, taken_at);

-- Subscriptions: a URL and the news kinds it wants. `organisation_id` is the partner's
-- organisation (a subscription sees what that partner sees) or NULL for an admin's.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    kinds TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    organisation_id TEXT REFERENCES organisations (id),
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One news item for one subscription, written with the news item itself (so none is lost),
-- sent by the dispatcher, retried with backoff, replayable.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    news_id BIGINT NOT NULL REFERENCES news (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    replays INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (webhook_id, news_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at);

-- Links to a challenge's public results page. The token carries the link's id and expiry,
-- signed; the row says whether it was revoked, and the region a manager's link is limited
-- to (the lines that manager may see).
CREATE TABLE share_links (
    id TEXT PRIMARY KEY NOT NULL,
    challenge_id TEXT NOT NULL REFERENCES challenges (id),
    region_id TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT
);
CREATE INDEX share_links_challenge_idx ON share_links (challenge_id);
