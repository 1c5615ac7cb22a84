-- Messages from a workshop's instructor: to everyone (learner_id NULL) or to one learner.
CREATE TABLE workshop_messages (
    id          INTEGER PRIMARY KEY,
    workshop_id INTEGER NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    learner_id  TEXT,
    text        TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX workshop_messages_by_workshop ON workshop_messages (workshop_id, id);
