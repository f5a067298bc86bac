-- Exact sector figures: the potential index and the market share become integers in
-- ten-thousandths (1.25 is 12500, 42 % is 4200), so scoring never reads a binary float.
-- Values had at most 4 meaningful decimals; rounding recovers them exactly.
ALTER TABLE regions ADD COLUMN potential_index_e4 BIGINT NOT NULL DEFAULT 10000 CHECK (potential_index_e4 > 0);
ALTER TABLE regions ADD COLUMN market_share_e4 BIGINT NOT NULL DEFAULT 0 CHECK (market_share_e4 >= 0 AND market_share_e4 <= 10000);
UPDATE regions SET
    potential_index_e4 = CAST(ROUND(potential_index * 10000) AS BIGINT),
    market_share_e4 = CAST(ROUND(market_share * 10000) AS BIGINT);
ALTER TABLE regions DROP COLUMN potential_index;
ALTER TABLE regions DROP COLUMN market_share;
