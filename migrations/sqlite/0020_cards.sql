-- 亮身份 (issue 27, point 1): every cadre's public card and where they are.
--
-- A card's public id is random, so that its address does not reveal the
-- login; it is made the first time the card is needed. The phone shown
-- is the work phone the person chose to publish ('' shows none); the
-- photo is a finished blob they (or an admin) uploaded, kept from the
-- photo collector while the card shows it.
CREATE TABLE cards (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    card_id TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL DEFAULT '',
    photo_sha TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX cards_photo ON cards (photo_sha);

-- Where each person last said they were (the status of their latest
-- diary, 在岗及去向), rebuilt as diaries commit: the newest by the time it
-- was set, that time never later than when the server first received it.
CREATE TABLE cadre_status (
    user_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    -- The village's unit id with in_village, else ''.
    village TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    doc_id TEXT NOT NULL
);

-- Each diary's status as the server first received it: the time the
-- phone claimed, and that time clamped to when it arrived. A diary
-- committed again with the same status (a comment on it) keeps its
-- first time, so a phone whose clock runs ahead cannot push an old
-- status over a newer one by any later edit.
CREATE TABLE diary_status (
    doc_id TEXT PRIMARY KEY,
    claimed_at BIGINT NOT NULL,
    set_at BIGINT NOT NULL
);
