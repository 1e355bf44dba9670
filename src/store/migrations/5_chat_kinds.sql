-- Version 5: the kinds of talk move from a CHECK on chat_messages.kind into
-- the chat_kinds table, which gaslamp fills from its one list of kinds, so
-- that a new kind never again needs a table rebuild.
--
-- SQLite cannot drop a CHECK in place, so chat_messages is rebuilt once, by
-- SQLite's own procedure for schema changes ("Making Other Kinds Of Table
-- Schema Changes", https://www.sqlite.org/lang_altertable.html): with foreign
-- keys off and in one transaction (both arranged by src/store/schema.rs), a
-- new table is made, every row copied with its id, the old table dropped, the
-- new one renamed and its indexes made again. The code step that follows
-- fills chat_kinds and checks every copied row against it before the
-- transaction commits. No other table refers to chat_messages, and it has no
-- triggers or views.

CREATE TABLE chat_kinds (
    kind    TEXT PRIMARY KEY,
    private INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE chat_messages_v5 (
    id                     INTEGER PRIMARY KEY,
    world_id               TEXT NOT NULL,
    room                   TEXT NOT NULL,
    character_id           INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    user_id                INTEGER REFERENCES users (id) ON DELETE SET NULL,
    recipient_character_id INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    kind                   TEXT NOT NULL REFERENCES chat_kinds (kind),
    message                TEXT NOT NULL,
    created_at             TEXT NOT NULL
);

INSERT INTO chat_messages_v5 (id, world_id, room, character_id, user_id,
                              recipient_character_id, kind, message, created_at)
    SELECT id, world_id, room, character_id, user_id,
           recipient_character_id, kind, message, created_at
    FROM chat_messages;

DROP TABLE chat_messages;

ALTER TABLE chat_messages_v5 RENAME TO chat_messages;

CREATE INDEX chat_by_room ON chat_messages (world_id, room, id);
CREATE INDEX chat_by_time ON chat_messages (created_at);
