-- Cairn store, SQLite schema v1.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE api_roots (
    name               TEXT PRIMARY KEY,
    title              TEXT NOT NULL,
    description        TEXT,
    max_content_length INTEGER NOT NULL,
    is_default         INTEGER NOT NULL
) STRICT;

-- `seq` is the compact key the versions table uses; `last_date_added` is the collection's
-- date_added clock (microseconds), advanced inside every write transaction.
CREATE TABLE collections (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    api_root        TEXT NOT NULL REFERENCES api_roots(name),
    title           TEXT NOT NULL,
    description     TEXT,
    alias           TEXT,
    created         INTEGER NOT NULL,
    last_date_added INTEGER NOT NULL DEFAULT 0,
    UNIQUE (api_root, alias)
) STRICT;

-- One row per stored object version.
--   latest_spec: spec_rank is the highest of the object's versions
--   dflt_first / dflt_last: first / last version among the latest_spec rows of the object
-- The flags are maintained by every insert and delete, in the same transaction.
CREATE TABLE versions (
    rid          INTEGER PRIMARY KEY,
    coll         INTEGER NOT NULL REFERENCES collections(seq),
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    spec_rank    INTEGER NOT NULL,
    version      TEXT NOT NULL,
    version_key  TEXT NOT NULL,
    timeless     INTEGER NOT NULL,
    date_added   INTEGER NOT NULL,
    latest_spec  INTEGER NOT NULL,
    dflt_first   INTEGER NOT NULL,
    dflt_last    INTEGER NOT NULL,
    body         TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX versions_by_id ON versions (coll, id, version_key);
CREATE UNIQUE INDEX versions_order ON versions (coll, date_added, id, version_key);
CREATE INDEX versions_default ON versions (coll, date_added, id, version_key) WHERE dflt_last = 1;

CREATE TABLE statuses (
    api_root TEXT NOT NULL REFERENCES api_roots(name),
    id       TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (api_root, id)
) STRICT;

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    identity_id TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    role             TEXT NOT NULL,
    password_hash    TEXT,
    disabled         INTEGER NOT NULL,
    credential_epoch INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    secret_hash TEXT NOT NULL UNIQUE,
    created     INTEGER NOT NULL,
    expires     INTEGER,
    revoked     INTEGER NOT NULL,
    read_only   INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_by_user ON tokens (user_id);

CREATE TABLE grants (
    collection TEXT NOT NULL REFERENCES collections(id),
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    can_read   INTEGER NOT NULL,
    can_write  INTEGER NOT NULL,
    PRIMARY KEY (collection, org_id)
) STRICT;
