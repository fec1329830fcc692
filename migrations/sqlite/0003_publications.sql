-- Weekly publications (周公示): a snapshot per unit and ISO week, made once
-- (the primary key makes a second instance's attempt a no-op), never
-- changed afterwards. `heads` keeps the document heads it was made from.

CREATE TABLE publications (
    unit_id TEXT NOT NULL REFERENCES units (id),
    week TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    heads TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (unit_id, week)
);

-- The photos a publication shows: these are public.
CREATE TABLE publication_photos (
    unit_id TEXT NOT NULL,
    week TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (sha256, unit_id, week)
);
