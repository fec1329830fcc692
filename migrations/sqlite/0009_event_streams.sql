-- Open event streams (`GET /api/v1/events`, `/web/events`), one row per
-- stream, counted when a stream opens so that the cap per user and per
-- device holds across instances. The instance serving the stream renews
-- `expires_at` on its periodic access check and deletes the row when the
-- stream ends; the row of an instance that died expires by itself.
CREATE TABLE event_streams (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    instance TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX event_streams_user ON event_streams (user_id, expires_at);
CREATE INDEX event_streams_device ON event_streams (device_id, expires_at);
