-- A photo in an item is referenced once per author of a step that shows it
-- (issue 26): with one reference per (photo, document), a person named on
-- the item could date a step of their own before another's and take over
-- the reference to a photo they never uploaded, hiding it from the item's
-- readers. The key gains the owner; the rows are kept.
CREATE TABLE photo_refs_by_author (
    sha256 TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id, owner_id)
);
INSERT INTO photo_refs_by_author (sha256, doc_id, owner_id)
    SELECT sha256, doc_id, owner_id FROM photo_refs;
DROP TABLE photo_refs;
ALTER TABLE photo_refs_by_author RENAME TO photo_refs;
CREATE INDEX photo_refs_doc ON photo_refs (doc_id);
