-- The keys of lines a manager recorded move from the company's namespace to their
-- region's (`region:<id>`): a manager can neither see nor block another region's keys.
-- Keys stay unique, since each was unique company-wide.
UPDATE sales
SET owner = 'region:' || (SELECT users.region_id FROM users WHERE users.id = sales.recorded_by)
WHERE owner = 'company'
  AND recorded_by IN (SELECT id FROM users WHERE role = 'manager' AND region_id IS NOT NULL);
