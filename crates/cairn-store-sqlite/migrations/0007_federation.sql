-- Federation: partner nodes, subscriptions, their sync state, and the provenance of every
-- version received from elsewhere (cairn_store::federation).

CREATE TABLE peers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    community  INTEGER NOT NULL,
    credential TEXT NOT NULL,
    ca_cert    TEXT,
    created    INTEGER NOT NULL
) STRICT;

CREATE TABLE subscriptions (
    id                TEXT PRIMARY KEY,
    peer_id           TEXT NOT NULL REFERENCES peers(id) ON DELETE CASCADE,
    direction         TEXT NOT NULL CHECK (direction IN ('pull', 'push')),
    local_collection  TEXT NOT NULL REFERENCES collections(id),
    remote_api_root   TEXT NOT NULL,
    remote_collection TEXT NOT NULL,
    filter            TEXT NOT NULL,
    interval_secs     INTEGER NOT NULL,
    enabled           INTEGER NOT NULL,
    created           INTEGER NOT NULL,
    UNIQUE (peer_id, direction, local_collection, remote_api_root, remote_collection)
) STRICT;

CREATE TABLE sync_state (
    subscription      TEXT PRIMARY KEY REFERENCES subscriptions(id) ON DELETE CASCADE,
    cursor            TEXT,
    last_attempt      INTEGER,
    last_success      INTEGER,
    last_error        TEXT,
    last_error_at     INTEGER,
    failures          INTEGER NOT NULL DEFAULT 0,
    caught_up_at      INTEGER,
    transferred       INTEGER NOT NULL DEFAULT 0,
    duplicates        INTEGER NOT NULL DEFAULT 0,
    refused_by_policy INTEGER NOT NULL DEFAULT 0,
    rejected          INTEGER NOT NULL DEFAULT 0,
    skipped           INTEGER NOT NULL DEFAULT 0,
    lag_objects       INTEGER,
    lease_holder      TEXT,
    lease_until       INTEGER
) STRICT;

-- One row per (version, origin). Local versions have none.
CREATE TABLE provenance (
    coll              INTEGER NOT NULL,
    id                TEXT NOT NULL,
    version_key       TEXT NOT NULL,
    origin_org        TEXT NOT NULL,
    peer              TEXT,
    remote_collection TEXT,
    remote_date_added INTEGER,
    received          INTEGER NOT NULL,
    PRIMARY KEY (coll, id, version_key, origin_org)
) STRICT, WITHOUT ROWID;
