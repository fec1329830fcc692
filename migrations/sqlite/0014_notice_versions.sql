-- Approval, corrections and withdrawals of weekly notices (issue 25).
--
-- A unit publishes automatically on Monday ('auto', the default) or when
-- one of its leaders approves the notice ('leader'); NULL takes the mode
-- of the nearest unit above that sets one.
ALTER TABLE notice_settings ADD COLUMN approval TEXT;

-- Who approved the first version (NULL: published automatically or by a
-- supervisor).
ALTER TABLE publications ADD COLUMN approved_by TEXT;

-- A published notice is never changed in place: a correction (更正) is a
-- new snapshot, a withdrawal (撤回) a version with no content; each with
-- its reason, who and when. Version 1 is the `publications` row itself;
-- the current version is the highest. The primary key makes two leaders
-- correcting at once on two instances store one version, not two with the
-- same number.
CREATE TABLE publication_versions (
    unit_id TEXT NOT NULL,
    week TEXT NOT NULL,
    version BIGINT NOT NULL,
    action TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    heads TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_user TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (unit_id, week, version),
    FOREIGN KEY (unit_id, week) REFERENCES publications (unit_id, week)
);

-- The photos a correction shows (version 1's are in publication_photos).
-- Only the current version's photos are public.
CREATE TABLE publication_version_photos (
    unit_id TEXT NOT NULL,
    week TEXT NOT NULL,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (sha256, unit_id, week, version)
);
