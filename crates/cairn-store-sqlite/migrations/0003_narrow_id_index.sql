-- The id index holds only the last 12 characters of each id (random in STIX UUID ids) instead of
-- (id, version_key): a quarter of the size, so a batch of inserts with random ids dirties far fewer
-- pages. Queries match the suffix through this index and then the full id; uniqueness of
-- (collection, id, version_key) is kept by add_objects, which reads every stored version of the
-- ids it writes inside its write transaction.
DROP INDEX versions_by_id;
CREATE INDEX versions_by_id ON versions (coll, substr(id, -12));
