-- Version 11 (issue 17: mail and aliases). New tables only, as in schema.sql.
CREATE TABLE IF NOT EXISTS mail (
    id             INTEGER PRIMARY KEY,
    world_id       TEXT NOT NULL REFERENCES worlds (id),
    recipient_id   INTEGER NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
    sender_id      INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    sender_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    sender_name    TEXT NOT NULL,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    sent_at        TEXT NOT NULL,
    read_at        TEXT
);
CREATE INDEX IF NOT EXISTS mail_by_recipient ON mail (recipient_id, id);
CREATE TABLE IF NOT EXISTS mail_sent (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_sent_by_user ON mail_sent (user_id, sent_at);
CREATE TABLE IF NOT EXISTS aliases (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    word      TEXT NOT NULL,
    expansion TEXT NOT NULL,
    PRIMARY KEY (user_id, word)
) WITHOUT ROWID;
