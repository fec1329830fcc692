-- Jishi server schema, version 1 (SQLite). Append-only: never edit an
-- applied migration; add a new numbered file to both dialects.

CREATE TABLE units (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES units (id),
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('county', 'township', 'department', 'village', 'office')),
    -- '/root-id/child-id/…/id/': a unit's subtree is every path with this prefix
    path TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    post TEXT NOT NULL DEFAULT '',
    duties TEXT NOT NULL DEFAULT '',
    unit_id TEXT NOT NULL REFERENCES units (id),
    role TEXT NOT NULL CHECK (role IN ('cadre', 'leader', 'supervisor', 'admin')),
    scope_unit_id TEXT REFERENCES units (id),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_unit ON users (unit_id);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE device_actors (
    actor TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX device_actors_device ON device_actors (device_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- A global, gap-free change sequence: cursors of devices point into it.
CREATE TABLE change_seq (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_seq (id, value) VALUES (1, 0);

CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    period TEXT NOT NULL,
    bytes BLOB NOT NULL,
    heads TEXT NOT NULL,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX documents_seq ON documents (seq);
CREATE INDEX documents_owner ON documents (owner_id, kind, period);

-- Every change the server accepted, who sent it and when it arrived.
CREATE TABLE change_log (
    doc_id TEXT NOT NULL,
    change_hash TEXT NOT NULL,
    actor TEXT NOT NULL,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (doc_id, change_hash)
);
CREATE INDEX change_log_received ON change_log (doc_id, received_at);

CREATE TABLE peer_states (
    device_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (device_id, doc_id)
);

-- Read models, rebuilt from the document on every accepted change.
CREATE TABLE diary_entries (
    doc_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    category TEXT NOT NULL,
    place TEXT NOT NULL,
    text TEXT NOT NULL,
    households BIGINT NOT NULL,
    photos BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (doc_id, entry_id)
);
CREATE INDEX diary_entries_owner ON diary_entries (owner_id, day);

CREATE TABLE night_activities (
    doc_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT,
    place TEXT NOT NULL,
    households BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (doc_id, activity_id)
);
CREATE INDEX night_activities_owner ON night_activities (owner_id, day);

CREATE TABLE night_stays (
    doc_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    day TEXT NOT NULL,
    stayed BOOLEAN NOT NULL,
    place TEXT
);
CREATE INDEX night_stays_owner ON night_stays (owner_id, day);

CREATE TABLE plan_tasks (
    doc_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    month TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    due TEXT,
    status TEXT NOT NULL,
    closed_at BIGINT,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (doc_id, task_id)
);
CREATE INDEX plan_tasks_owner ON plan_tasks (owner_id, month);

CREATE TABLE security_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    device_id TEXT,
    detail TEXT NOT NULL
);
