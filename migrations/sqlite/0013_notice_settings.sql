-- How a unit signs its notices (issue 25): the issuing body (落款), the
-- phone and address where the public reaches it, the supervision office
-- and its phone (监督电话), and how many days a notice stays up (公示期).
-- An empty field (or a NULL display_days) is taken from the nearest unit
-- above that sets it: a county sets its 纪委 office once for every
-- township.
CREATE TABLE notice_settings (
    unit_id TEXT PRIMARY KEY REFERENCES units (id),
    issuer TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    supervision_office TEXT NOT NULL DEFAULT '',
    supervision_phone TEXT NOT NULL DEFAULT '',
    display_days BIGINT,
    updated_at BIGINT NOT NULL
);
