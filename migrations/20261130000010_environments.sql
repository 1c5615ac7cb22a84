-- Clusters kubelab makes for workshops (the `kind` and `kubernetes` providers), so provisioning
-- survives a restart: what is being made, what is ready, what failed and why, what is to be
-- deleted. No foreign key to workshops: a deleted workshop's clusters stay here, in state
-- `deleting`, until they are really gone.
CREATE TABLE environments (
    name        TEXT    PRIMARY KEY,
    workshop_id INTEGER NOT NULL,
    provider    TEXT    NOT NULL, -- JSON, the workshop's provider when it was made
    state       TEXT    NOT NULL CHECK (state IN ('provisioning', 'ready', 'failed', 'deleting')),
    step        TEXT    NOT NULL DEFAULT '',
    error       TEXT,
    kubeconfig  TEXT,             -- the file kubelab wrote for it, once ready
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX environments_by_workshop ON environments (workshop_id, state);
