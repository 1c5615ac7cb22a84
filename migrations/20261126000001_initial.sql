-- Learners are identified by a random cookie id; a row appears on their first write.
CREATE TABLE learners (
    id           TEXT    PRIMARY KEY NOT NULL,
    display_name TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- A row per section a learner marked done; undoing deletes the row.
CREATE TABLE section_progress (
    learner_id TEXT    NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    lesson_id  TEXT    NOT NULL,
    section_id TEXT    NOT NULL,
    done_at    INTEGER NOT NULL,
    PRIMARY KEY (learner_id, lesson_id, section_id)
) WITHOUT ROWID;

-- Every check of a task, with the verdict and the content version it was judged against.
CREATE TABLE check_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id     TEXT    NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    task_id        TEXT    NOT NULL,
    ran_at         INTEGER NOT NULL,
    score          INTEGER NOT NULL,
    max_score      INTEGER NOT NULL,
    passed         INTEGER NOT NULL,
    criteria       TEXT    NOT NULL,
    content_digest TEXT    NOT NULL
);
CREATE INDEX check_runs_by_learner_task ON check_runs (learner_id, task_id);
