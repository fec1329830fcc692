-- Documents that others assign (issue 26): 督办 items and the problems of a
-- 问题清单. The document is the record; these rows are rebuilt from it on
-- every commit, like the other read models.
--
-- Who is named on an assigned document: they sync it and may read it
-- whatever their scope (the issuer, the responsible person, collaborators).
CREATE TABLE doc_participants (
    doc_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    part TEXT NOT NULL CHECK (part IN ('issuer', 'responsible', 'collaborator')),
    PRIMARY KEY (doc_id, user_id)
);
CREATE INDEX doc_participants_user ON doc_participants (user_id, doc_id);

-- One row per issued item: what the lists, the 台账 and the overdue check
-- read. `status` and the times come from the item's steps.
CREATE TABLE items (
    doc_id TEXT PRIMARY KEY,
    list TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    responsible_id TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    due TEXT NOT NULL,
    status TEXT NOT NULL,
    done_at BIGINT,
    closed_at BIGINT,
    sent_back BIGINT NOT NULL,
    steps BIGINT NOT NULL,
    last_step_at BIGINT
);
CREATE INDEX items_unit ON items (unit_id, issued_at);
CREATE INDEX items_responsible ON items (responsible_id, status);
CREATE INDEX items_issuer ON items (issuer_id, status);
