-- Sharing policy: member nations, organizations' nation and kind, sharing groups, grants to
-- organizations / groups / nations / the community, collection policy, token scopes, status
-- owners, policy labels per version, and the meanings of stored marking definitions.

CREATE TABLE nations (
    code TEXT PRIMARY KEY
) STRICT;

ALTER TABLE orgs ADD COLUMN nation TEXT;
ALTER TABLE orgs ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';

CREATE TABLE sharing_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    identity_id TEXT NOT NULL UNIQUE,
    owner       TEXT NOT NULL REFERENCES orgs(id)
) STRICT;

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES sharing_groups(id),
    org_id   TEXT NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (group_id, org_id)
) STRICT;
CREATE INDEX group_members_by_org ON group_members (org_id);

-- default_tlp: cairn_policy::Tlp as u8 (2 = AMBER).
ALTER TABLE collections ADD COLUMN default_tlp INTEGER NOT NULL DEFAULT 2;
ALTER TABLE collections ADD COLUMN anonymous_read INTEGER NOT NULL DEFAULT 0;

ALTER TABLE tokens ADD COLUMN collection TEXT;

ALTER TABLE statuses ADD COLUMN owner TEXT;

-- grantee: 'org:<uuid>', 'group:<uuid>', 'nation:<CC>' or 'community'.
CREATE TABLE grants_v2 (
    collection TEXT NOT NULL REFERENCES collections(id),
    grantee    TEXT NOT NULL,
    can_read   INTEGER NOT NULL,
    can_write  INTEGER NOT NULL,
    PRIMARY KEY (collection, grantee)
) STRICT;
INSERT INTO grants_v2 (collection, grantee, can_read, can_write)
    SELECT collection, 'org:' || org_id, can_read, can_write FROM grants;
DROP TABLE grants;
ALTER TABLE grants_v2 RENAME TO grants;

-- Policy labels (cairn_policy::ObjectLabels) of each version:
--   tlp, floor: Tlp as u8 or NULL; creator: the created_by_ref identity or NULL;
--   recipients: ',identity--a,identity--b,' or NULL;
--   granular: the whole labels as JSON, only for versions with granular markings.
ALTER TABLE versions ADD COLUMN tlp INTEGER;
ALTER TABLE versions ADD COLUMN floor INTEGER;
ALTER TABLE versions ADD COLUMN creator TEXT;
ALTER TABLE versions ADD COLUMN recipients TEXT;
ALTER TABLE versions ADD COLUMN granular TEXT;

-- What each stored marking-definition means to the policy (cairn_policy::MarkingMeaning JSON).
CREATE TABLE markings (
    id      TEXT PRIMARY KEY,
    meaning TEXT NOT NULL
) STRICT;

-- The audit log: a hash chain (cairn_store::audit). Rows are only ever inserted.
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY,
    time   INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT,
    detail TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_time ON audit (time);
CREATE INDEX audit_by_actor ON audit (actor, seq);
CREATE INDEX audit_by_object ON audit (object, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
