-- Photos as the server keeps them (issue 23, item 6).
--
-- `blobs.stored_sha256`: the SHA-256 of the file the server stores and
-- serves under the photo's name (metadata removed, turned upright); it
-- equals `sha256` when the upload was clean already. NULL for a photo
-- stored before this migration, kept as it was uploaded: the server cleans
-- it the first time it is asked for it, and the hourly task cleans the rest.
--
-- `blob_uploaders`: every account that sent all of a photo's bytes. A
-- document that references a photo lets its readers see it only when the
-- document's owner is one of them: naming someone else's hash in one's own
-- diary grants nothing.
ALTER TABLE blobs ADD COLUMN stored_sha256 TEXT;

CREATE TABLE blob_uploaders (
    sha256 TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (sha256, user_id)
);

INSERT INTO blob_uploaders (sha256, user_id) SELECT sha256, uploaded_by FROM blobs;
