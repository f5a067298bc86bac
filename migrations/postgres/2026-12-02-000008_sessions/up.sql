-- A session is one sign-in: every access token names the session it came from, and a
-- token is honoured only while its session is live. Signing out revokes the session;
-- disabling an account revokes all of its sessions, so re-enabling it revives none.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    -- `user` or `api_client`.
    principal_kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- When its last token (access or refresh) expires.
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    -- `signed_out`, `account_disabled` or `refresh_token_reused`.
    revoked_reason TEXT
);
CREATE INDEX sessions_by_principal ON sessions (principal_id);

-- The refresh tokens of a session, stored as SHA-256 digests. Each is used once: using it
-- issues the next; presenting a used one again revokes the whole session.
CREATE TABLE refresh_tokens (
    token_digest TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
