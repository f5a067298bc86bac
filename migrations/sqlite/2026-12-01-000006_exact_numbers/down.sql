ALTER TABLE regions ADD COLUMN potential_index DOUBLE PRECISION NOT NULL DEFAULT 1.0 CHECK (potential_index > 0);
ALTER TABLE regions ADD COLUMN market_share DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (market_share >= 0 AND market_share <= 1);
UPDATE regions SET
    potential_index = potential_index_e4 / 10000.0,
    market_share = market_share_e4 / 10000.0;
ALTER TABLE regions DROP COLUMN potential_index_e4;
ALTER TABLE regions DROP COLUMN market_share_e4;
