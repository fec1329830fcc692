-- Counters of attempts per key and per minute (login attempts by account,
-- by account and address, by address), kept in the database so that a
-- limit holds whichever instance a request reaches. Old windows are
-- removed by the hourly clean-up.
CREATE TABLE rate_counters (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);
