-- People who log in with an e-mail and a password. The scope columns name the region
-- (manager), participant (participant) or organisation (partner) the role is limited to.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'participant', 'partner')),
    region_id TEXT,
    participant_id TEXT,
    organisation_id TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);
CREATE INDEX users_role_idx ON users (role);

-- Partner integrations (client-credentials grant), each scoped to one organisation.
CREATE TABLE api_clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);
CREATE INDEX api_clients_organisation_idx ON api_clients (organisation_id);
