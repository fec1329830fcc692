-- The 权力清单 (powers) and 责任清单 (responsibilities) of each post of a
-- unit (issue 26, point 3), kept by admins. A list is never changed in
-- place: each save is a new version, numbered 1, 2, 3 … per (unit, post,
-- kind), with who saved it, when and why; the current list is the highest
-- version, and a version with no entries withdraws the list. The primary
-- key makes two admins saving at once on two instances store two numbers,
-- never the same one twice.
CREATE TABLE post_list_versions (
    unit_id TEXT NOT NULL REFERENCES units (id),
    post TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('power', 'duty')),
    version BIGINT NOT NULL CHECK (version >= 1),
    -- How many entries: 0 withdraws the list.
    entries BIGINT NOT NULL,
    note TEXT NOT NULL,
    -- The admin's user id; '' when saved with `jishi admin post-list set`
    -- without --by.
    saved_by TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via IN ('web', 'cli')),
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (unit_id, post, kind, version)
);

-- The entries of a version, in order (position from 1).
CREATE TABLE post_list_entries (
    unit_id TEXT NOT NULL,
    post TEXT NOT NULL,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    basis TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (unit_id, post, kind, version, position),
    FOREIGN KEY (unit_id, post, kind, version)
        REFERENCES post_list_versions (unit_id, post, kind, version)
);
