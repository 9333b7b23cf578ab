-- The policy epoch: a counter that every change to what authentication and the sharing policy
-- read moves on, whoever makes it (this process, another server on the same file, the CLI).
-- The server keeps the users, tokens, principals, API roots, collections and channels it
-- resolved while the epoch stays the same, and reads only this row per request
-- (cairn_store::Store::policy_epoch). Triggers keep it, so no write path can forget it: a table
-- that authentication or the policy starts to read must get its triggers here too.

CREATE TABLE policy_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    epoch INTEGER NOT NULL
) STRICT;
INSERT INTO policy_epoch (id, epoch) VALUES (0, 1);

CREATE TRIGGER policy_epoch_api_roots_insert AFTER INSERT ON api_roots
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_api_roots_update AFTER UPDATE ON api_roots
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_api_roots_delete AFTER DELETE ON api_roots
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_orgs_insert AFTER INSERT ON orgs
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_orgs_update AFTER UPDATE ON orgs
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_orgs_delete AFTER DELETE ON orgs
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_users_insert AFTER INSERT ON users
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_users_update AFTER UPDATE ON users
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_users_delete AFTER DELETE ON users
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_tokens_insert AFTER INSERT ON tokens
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_tokens_update AFTER UPDATE ON tokens
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_tokens_delete AFTER DELETE ON tokens
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_nations_insert AFTER INSERT ON nations
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_nations_update AFTER UPDATE ON nations
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_nations_delete AFTER DELETE ON nations
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_sharing_groups_insert AFTER INSERT ON sharing_groups
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_sharing_groups_update AFTER UPDATE ON sharing_groups
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_sharing_groups_delete AFTER DELETE ON sharing_groups
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_group_members_insert AFTER INSERT ON group_members
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_group_members_update AFTER UPDATE ON group_members
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_group_members_delete AFTER DELETE ON group_members
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_grants_insert AFTER INSERT ON grants
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_grants_update AFTER UPDATE ON grants
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_grants_delete AFTER DELETE ON grants
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;

-- Collections: every column but the date_added clock, which each write advances.
CREATE TRIGGER policy_epoch_collections_insert AFTER INSERT ON collections
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_collections_update
    AFTER UPDATE OF seq, id, api_root, title, description, alias, created, default_tlp, anonymous_read
    ON collections
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
CREATE TRIGGER policy_epoch_collections_delete AFTER DELETE ON collections
    BEGIN UPDATE policy_epoch SET epoch = epoch + 1; END;
