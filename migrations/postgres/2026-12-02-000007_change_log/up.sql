-- The ordered log of what changed under the standings. Every write that can move a score
-- records one row in its own transaction; every instance applies the rows in `seq` order
-- to the tables it keeps live. It replaces the single global scoring version.
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
DROP TABLE scoring_version;
-- The watcher remembers the change it last observed, not a version.
ALTER TABLE challenge_watch RENAME COLUMN scoring_version TO change_seq;
