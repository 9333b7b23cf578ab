-- date_added is unique within a collection (the collection clock hands out each microsecond
-- once), so (coll, date_added) alone orders versions and keys the cursor: narrower indexes,
-- fewer pages written per insert.
DROP INDEX versions_order;
DROP INDEX versions_default;
CREATE UNIQUE INDEX versions_order ON versions (coll, date_added);
CREATE UNIQUE INDEX versions_default ON versions (coll, date_added) WHERE dflt_last = 1;
