-- The change log is read by document in the order of the change sequence
-- (`ORDER BY seq, change_hash`), through its primary key (doc_id,
-- change_hash): this index was never used, and every accepted change paid
-- for it (an index entry and, per sync, a page or two more in the WAL).
DROP INDEX IF EXISTS change_log_received;
