-- Cases the public brings (issue 27, points 3 to 5): 投诉举报 and 便民诉求.
--
-- The case itself is an item document (list `complaint` or `request`),
-- synced to its handler like any 督办 item. This row holds what the
-- document never carries: who filed it and how to answer them, seen only
-- by the people handling the case; the person it concerns (a complaint
-- about a cadre is never sent to that cadre); and the tracking code
-- (查询码), stored as its SHA-256 only.
CREATE TABLE cases (
    doc_id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    county_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    concerns_id TEXT,
    via TEXT NOT NULL CHECK (via IN ('public', 'hotline')),
    filer_name TEXT NOT NULL,
    filer_phone TEXT NOT NULL,
    clerk_id TEXT,
    photo_sha TEXT,
    filed_at BIGINT NOT NULL
);
CREATE INDEX cases_unit ON cases (unit_id, filed_at);
CREATE INDEX cases_concerns ON cases (concerns_id, filed_at);
CREATE INDEX cases_photo ON cases (photo_sha);

-- A complaint's verdict (属实 / 不属实), read from its 销号.
ALTER TABLE items ADD COLUMN verdict TEXT;

-- Proofs of work the public form spent: each answers one filing.
CREATE TABLE pow_spent (
    stamp TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pow_spent_expires ON pow_spent (expires_at);

-- Counters over windows longer than a minute (filings per address per
-- hour, per phone per day): each row says its window's length, and the
-- clean-up keeps a row while a limit still reads it.
ALTER TABLE rate_counters ADD COLUMN window_ms BIGINT NOT NULL DEFAULT 60000;
