-- Attempts whose clock waits for someone to start it (a class exam: one deadline for all).
CREATE TABLE exam_holds (
    attempt_id INTEGER PRIMARY KEY REFERENCES exam_attempts (id) ON DELETE CASCADE
);
