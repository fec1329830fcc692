-- A phone's proof that it is the device it says (issue 31): a copy of an
-- app's folder restored from an OS backup or moved by a phone-clone tool
-- carries the device id and Automerge actor of the phone it came from, and
-- two phones writing as one actor break their documents. Login and refresh
-- hand the phone a new random value (`check_pending`, stored hashed); the
-- phone presents the last one it received at its next login or refresh,
-- which confirms it (`check_confirmed`). A value that is neither is an
-- older copy of the folder: the server answers 409 `device_copied` and the
-- phone moves to a new device id and actor. NULL: the device never
-- presented one (an older app), and is never refused for it.
ALTER TABLE devices ADD COLUMN check_confirmed TEXT;
ALTER TABLE devices ADD COLUMN check_pending TEXT;
