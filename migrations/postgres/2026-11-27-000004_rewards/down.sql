DROP TABLE awards;
DROP TABLE rewards;
