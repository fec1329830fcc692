-- Rankings people can trust (issue 25, point 4).
--
-- The group a person is ranked in, as their unit sets it (e.g. 驻村干部
-- apart from 机关干部); a person with no row is ranked by role: 班子成员
-- (leaders) or 一般干部.
CREATE TABLE rank_groups (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    group_name TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- 表态: what a person ranked 末位 says of it, entered by their phone or by
-- a leader over them; one per person and month, never changed (the primary
-- key refuses a second).
CREATE TABLE review_statements (
    user_id TEXT NOT NULL REFERENCES users (id),
    month TEXT NOT NULL,
    text TEXT NOT NULL,
    by_user TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, month)
);
