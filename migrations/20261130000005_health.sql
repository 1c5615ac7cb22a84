-- One row that /healthz rewrites, so the health check proves the database can be written.
CREATE TABLE health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
