-- Instructor sessions: only a hash of the cookie is kept; signing out revokes for good.
CREATE TABLE instructor_sessions (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- A workshop: a class that joins with a code, each learner on a cluster of their own.
CREATE TABLE workshops (
    id         INTEGER PRIMARY KEY,
    title      TEXT    NOT NULL,
    code       TEXT    NOT NULL UNIQUE,
    lesson     TEXT    NOT NULL,
    tasks      TEXT    NOT NULL, -- JSON array of task ids
    provider   TEXT    NOT NULL, -- JSON, e.g. {"kind": "kubeconfigs", "dir": "..."}
    capacity   INTEGER,
    ends_at    INTEGER,
    created_at INTEGER NOT NULL
);

-- Members, with the cluster assigned to each (NULL while they wait for a free one).
CREATE TABLE workshop_members (
    workshop_id   INTEGER NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    learner_id    TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    joined_at     INTEGER NOT NULL,
    cluster       TEXT,
    PRIMARY KEY (workshop_id, learner_id)
);
CREATE UNIQUE INDEX workshop_clusters ON workshop_members (workshop_id, cluster);
CREATE INDEX workshop_members_by_learner ON workshop_members (learner_id);
