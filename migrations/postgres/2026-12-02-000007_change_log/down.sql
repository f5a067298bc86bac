ALTER TABLE challenge_watch RENAME COLUMN change_seq TO scoring_version;
CREATE TABLE scoring_version (
    id INTEGER PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO scoring_version (id, version) VALUES (1, 0);
DROP TABLE changes;
