-- Each county's calendar (issue 27, point 4): the days that differ from
-- "Monday to Friday are working days": a holiday on a weekday (节假日)
-- and a make-up working day on a weekend (调休上班). Kept by admins in the
-- web pages and with `jishi admin calendar`; read by every deadline in
-- working days (督办 时限, complaints' three working days), the weekly
-- filing rate and the month-start notice's first workday. It replaces the
-- JISHI_HOLIDAYS setting. A deployment may serve several counties: each
-- keeps its own (a county's people count with their county's days).
CREATE TABLE calendar_days (
    -- The county: a top unit's id.
    county_id TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    -- e.g. 国庆节, 国庆节调休.
    name TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (county_id, day)
);

-- Every change of the calendar, kept: a deadline that moved can be
-- explained. kind 'normal' returns a day to the weekday rule.
CREATE TABLE calendar_changes (
    id TEXT PRIMARY KEY,
    county_id TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday', 'normal')),
    name TEXT NOT NULL,
    set_by TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via IN ('web', 'cli')),
    set_at BIGINT NOT NULL
);
CREATE INDEX calendar_changes_by_time ON calendar_changes (county_id, set_at);
