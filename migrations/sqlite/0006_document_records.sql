-- The read model of each document (sync_core::Record as JSON), written by
-- the same transaction as the document's bytes, so that reading many
-- documents (the weekly publications, a cadre's days) needs no Automerge
-- load. NULL for rows stored before this column existed, and for a record
-- that no longer parses: readers then load the bytes.
ALTER TABLE documents ADD COLUMN record TEXT;
