-- Practice exam attempts. The definition column freezes the exam (tasks, contexts, pass
-- mark, texts) at start, so later content edits change neither the view nor the report.
CREATE TABLE exam_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id     TEXT    NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    exam_id        TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('preparing', 'running', 'grading', 'graded')),
    definition     TEXT    NOT NULL,
    content_digest TEXT    NOT NULL,
    graded_digest  TEXT,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    deadline_at    INTEGER,
    submitted_at   INTEGER,
    ended_at       INTEGER,
    graded_at      INTEGER,
    late_reason    TEXT,
    regraded_at    INTEGER,
    score          INTEGER,
    max_score      INTEGER,
    passed         INTEGER
);
CREATE INDEX exam_attempts_by_learner ON exam_attempts (learner_id, exam_id, id);
CREATE INDEX exam_attempts_open ON exam_attempts (status) WHERE status <> 'graded';

-- Per task of an attempt: its setup, the learner's review flag and the graded verdict.
CREATE TABLE exam_attempt_tasks (
    attempt_id    INTEGER NOT NULL REFERENCES exam_attempts (id) ON DELETE CASCADE,
    task_id       TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    setup_state   TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (setup_state IN ('pending', 'running', 'ok', 'failed')),
    setup_detail  TEXT    NOT NULL DEFAULT '',
    flagged       INTEGER NOT NULL DEFAULT 0,
    verdict       TEXT,
    score         INTEGER,
    max_score     INTEGER,
    seconds_spent INTEGER,
    PRIMARY KEY (attempt_id, task_id)
);

-- When the learner opened which task: the source of time spent per task.
CREATE TABLE exam_task_views (
    attempt_id INTEGER NOT NULL REFERENCES exam_attempts (id) ON DELETE CASCADE,
    task_id    TEXT    NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX exam_task_views_by_attempt ON exam_task_views (attempt_id, at);
