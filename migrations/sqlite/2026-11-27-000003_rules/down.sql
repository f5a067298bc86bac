DROP TABLE challenge_rule_changes;
DROP TABLE rule_versions;
DROP TABLE rules;
