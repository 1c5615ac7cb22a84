-- The kubeconfig context each learner's checks run against; absent means the server default.
CREATE TABLE learner_clusters (
    learner_id TEXT    PRIMARY KEY NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
    context    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
