-- A session is one login of a device: the family of its refresh tokens.
-- An access token names its session (`sid`), and every request checks that
-- the session is live in the statement that reads the user and device, so
-- logging out, or a family revoked for a reused refresh token, ends the
-- access token at once rather than at its expiry.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    device_id TEXT NOT NULL REFERENCES devices (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The families that exist already: live while one of their tokens is.
INSERT INTO sessions (id, user_id, device_id, created_at, revoked_at)
SELECT family_id, MIN(user_id), MIN(device_id), MIN(issued_at),
       CASE WHEN COUNT(*) = COUNT(revoked_at) THEN MAX(revoked_at) END
FROM refresh_tokens
GROUP BY family_id;
