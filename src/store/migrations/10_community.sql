-- Version 10 (issue 17: channels, ignore, who a character is). Columns are
-- added at the end of their tables; the new tables are as in schema.sql.
ALTER TABLE users ADD COLUMN left_game_at TEXT;
ALTER TABLE characters ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE chat_messages ADD COLUMN channel TEXT;
CREATE INDEX IF NOT EXISTS chat_by_channel ON chat_messages (channel, id) WHERE channel IS NOT NULL;
CREATE TABLE IF NOT EXISTS channel_settings (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel   TEXT NOT NULL,
    listening INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_mutes (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel  TEXT NOT NULL,
    until    TEXT,
    reason   TEXT,
    muted_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    muted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ignores (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ignored_user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    character_id    INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    since           TEXT NOT NULL,
    PRIMARY KEY (user_id, ignored_user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ignores_by_ignored ON ignores (ignored_user_id);
