-- Leases for the scheduled jobs (the Monday publication): with several
-- instances on one database, one holds a job's lease and does the work; it
-- renews the lease while it lives, and another takes over once it expires.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
