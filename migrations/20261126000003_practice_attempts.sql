-- Timed practice of one task: the server's clock is the only authority on time.
CREATE TABLE practice_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id     TEXT    NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    task_id        TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    deadline_at    INTEGER NOT NULL,
    setup_ok       INTEGER NOT NULL,
    setup_detail   TEXT    NOT NULL,
    finished_at    INTEGER,
    score          INTEGER,
    max_score      INTEGER,
    passed         INTEGER,
    check_run_id   INTEGER REFERENCES check_runs (id),
    content_digest TEXT    NOT NULL
);
CREATE INDEX practice_by_learner_task ON practice_attempts (learner_id, task_id);
