-- Hints an instructor opened for the whole class, per task: the first `revealed` ones.
CREATE TABLE workshop_hints (
    workshop_id INTEGER NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    task_id     TEXT    NOT NULL,
    revealed    INTEGER NOT NULL,
    PRIMARY KEY (workshop_id, task_id)
);
