DROP TABLE share_links;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE standings_snapshots;
DROP TABLE challenge_watch;
DROP TABLE news;
