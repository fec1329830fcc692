-- Monthly reviews (月点评). Every submission is kept (append-only); the
-- latest per person and month is the review. Admins may name a reviewer
-- instead of the one the unit tree gives.

CREATE TABLE reviewer_overrides (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    set_at BIGINT NOT NULL
);

CREATE TABLE review_submissions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    month TEXT NOT NULL,
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    targets BIGINT NOT NULL CHECK (targets BETWEEN 0 AND 80),
    conduct BIGINT NOT NULL CHECK (conduct BETWEEN 0 AND 20),
    comment TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    late BOOLEAN NOT NULL
);
CREATE INDEX review_submissions_month ON review_submissions (user_id, month, id);
