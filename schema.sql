-- gaslamp's one schema. Embedded in the binary and applied to a fresh database,
-- after which `PRAGMA user_version` records the schema version (see src/store/schema.rs).
-- Timestamps are UTC ISO-8601 text ("2026-11-23T12:35:12.123Z"), which sorts correctly.

CREATE TABLE IF NOT EXISTS worlds (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    access          TEXT NOT NULL DEFAULT 'open' CHECK (access IN ('open', 'invite')),
    is_active       INTEGER NOT NULL DEFAULT 1,
    inactive_reason TEXT,
    items_seeded_at TEXT,
    registered_at   TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id               INTEGER PRIMARY KEY,
    username         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    -- The name's look-alike key (src/auth/names.rs `name_key`), unique: two
    -- names that look alike cannot both exist. NULL only for a look-alike that
    -- existed before version 4.
    name_key         TEXT,
    password_hash    TEXT NOT NULL,
    email_hash       TEXT,
    role             TEXT NOT NULL DEFAULT 'player'
                     CHECK (role IN ('player', 'worldbuilder', 'admin', 'superuser')),
    is_active        INTEGER NOT NULL DEFAULT 1,
    is_guest         INTEGER NOT NULL DEFAULT 0,
    guest_expires_at TEXT,
    account_origin   TEXT NOT NULL DEFAULT 'telnet',
    -- Strangers' failed logins in a row and their lock: every address but the
    -- account's known ones (login_addresses) counts here (src/store/lockout.rs).
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    lockout_until    TEXT,
    created_at       TEXT NOT NULL,
    last_login       TEXT,
    -- The player's `color on|off`: ANSI colour for clients that show it.
    color            INTEGER NOT NULL DEFAULT 1,
    tombstoned_at    TEXT,
    -- Failed password checks from anywhere since the last login, told to the
    -- owner at the next one.
    failed_since_login INTEGER NOT NULL DEFAULT 0,
    -- When the account last left the game (its session ended, or it went back
    -- to the character menu): the channels' catch-up counts lines since then.
    left_game_at     TEXT
);
CREATE INDEX IF NOT EXISTS users_guest_expiry ON users (guest_expires_at) WHERE is_guest = 1;
CREATE UNIQUE INDEX IF NOT EXISTS users_by_name_key ON users (name_key);

-- The addresses an account logged in from (IPv4, or an IPv6 /64 network), each
-- with its own failed-login count and lock: one that logged in within 30 days
-- is known, and strangers' guesses do not lock it out (src/store/lockout.rs).
-- At most 32 per account, the newest.
CREATE TABLE IF NOT EXISTS login_addresses (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address         TEXT NOT NULL,
    last_login_at   TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    lockout_until   TEXT,
    PRIMARY KEY (user_id, address)
) WITHOUT ROWID;

-- A character belongs to one world. Deleting an account unlinks its characters
-- (user_id becomes NULL) rather than deleting them.
CREATE TABLE IF NOT EXISTS characters (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    world_id         TEXT NOT NULL REFERENCES worlds (id),
    name             TEXT NOT NULL COLLATE NOCASE,
    -- As users.name_key, unique within the world.
    name_key         TEXT,
    is_guest_created INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    last_played_at   TEXT,
    -- What `look <name>` shows of the character (`describe`), sanitised.
    description      TEXT NOT NULL DEFAULT '',
    UNIQUE (world_id, name)
);
CREATE INDEX IF NOT EXISTS characters_by_user ON characters (user_id, world_id);
CREATE UNIQUE INDEX IF NOT EXISTS characters_by_name_key ON characters (world_id, name_key);

CREATE TABLE IF NOT EXISTS character_locations (
    character_id INTEGER PRIMARY KEY REFERENCES characters (id) ON DELETE CASCADE,
    world_id     TEXT NOT NULL,
    room         TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Item instances. An instance keeps its id when it moves between a room and a
-- character, so it is in exactly one of these two tables at a time. New instances
-- are only ever created in room_items (AUTOINCREMENT: ids are never reused).
CREATE TABLE IF NOT EXISTS room_items (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    world_id  TEXT NOT NULL REFERENCES worlds (id),
    room      TEXT NOT NULL,
    item_key  TEXT NOT NULL,
    placed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS room_items_by_room ON room_items (world_id, room);

-- The item placements of the world files ("items" of a room) that have been put
-- into room_items. Each is put there once, the first time a registration sees
-- it (src/store/worlds.rs): the n-th listing of an item in a room is ordinal n-1,
-- so listing it once more places one more, and taking a listing away takes
-- nothing out of the world.
CREATE TABLE IF NOT EXISTS item_placements (
    world_id  TEXT NOT NULL REFERENCES worlds (id),
    room      TEXT NOT NULL,
    item_key  TEXT NOT NULL,
    ordinal   INTEGER NOT NULL,
    placed_at TEXT NOT NULL,
    PRIMARY KEY (world_id, room, item_key, ordinal)
);

-- Worlds whose placements are recorded one by one in item_placements (every
-- world registered since version 6). A world whose items were placed before
-- (items_seeded_at set, no row here) has its files' placements of that day in
-- the world already; its next registration records the files' current ones.
CREATE TABLE IF NOT EXISTS placements_recorded (
    world_id TEXT PRIMARY KEY REFERENCES worlds (id),
    since    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS character_items (
    id           INTEGER PRIMARY KEY,
    character_id INTEGER NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
    world_id     TEXT NOT NULL,
    item_key     TEXT NOT NULL,
    acquired_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS character_items_by_character ON character_items (character_id);

-- One row per logged-in connection; the row is removed when the connection ends.
CREATE TABLE IF NOT EXISTS sessions (
    session_id    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    character_id  INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    world_id      TEXT,
    peer_address  TEXT NOT NULL,
    client_type   TEXT NOT NULL DEFAULT 'unknown',
    transport     TEXT NOT NULL DEFAULT 'plain',
    created_at    TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);

-- The kinds of talk a chat line may be. The list is gaslamp's own
-- (src/store/chat.rs `ChatKind`): every start fills this table from it, so a
-- new kind needs no migration. `private` kinds are read back only by their
-- speaker and recipient.
CREATE TABLE IF NOT EXISTS chat_kinds (
    kind    TEXT PRIMARY KEY,
    private INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chat_messages (
    id                     INTEGER PRIMARY KEY,
    world_id               TEXT NOT NULL,
    room                   TEXT NOT NULL,
    character_id           INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    user_id                INTEGER REFERENCES users (id) ON DELETE SET NULL,
    recipient_character_id INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    kind                   TEXT NOT NULL REFERENCES chat_kinds (kind),
    message                TEXT NOT NULL,
    created_at             TEXT NOT NULL,
    -- A line of a server-wide channel (kind `channel`) names its channel here;
    -- world_id and room are then where the speaker stood. NULL for room talk.
    channel                TEXT
);
CREATE INDEX IF NOT EXISTS chat_by_room ON chat_messages (world_id, room, id);
CREATE INDEX IF NOT EXISTS chat_by_time ON chat_messages (created_at);
CREATE INDEX IF NOT EXISTS chat_by_channel ON chat_messages (channel, id) WHERE channel IS NOT NULL;

-- The channels an account turned off (`<channel> off`) or on again; a channel
-- with no row is on. Channel names are the server's configuration, not rows.
CREATE TABLE IF NOT EXISTS channel_settings (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel   TEXT NOT NULL,
    listening INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel)
) WITHOUT ROWID;

-- Mutes set by `/mute`: the channel, or '*' for every channel; until NULL is
-- for good. An expired row is inert (and replaced by the next mute).
CREATE TABLE IF NOT EXISTS channel_mutes (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel  TEXT NOT NULL,
    until    TEXT,
    reason   TEXT,
    muted_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    muted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
) WITHOUT ROWID;

-- `ignore`: an account ignores another account (the one behind the character
-- it named, kept for the list) in every world.
CREATE TABLE IF NOT EXISTS ignores (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ignored_user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    character_id    INTEGER REFERENCES characters (id) ON DELETE SET NULL,
    since           TEXT NOT NULL,
    PRIMARY KEY (user_id, ignored_user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ignores_by_ignored ON ignores (ignored_user_id);

-- Mail (`mail`): a letter to a character of the same world, kept until its
-- recipient deletes it. The sender's name is kept as it was; the sender's
-- account is what an ignore hides and what the rate counts.
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

-- When each account sent mail lately, for the sending rate (a deleted letter
-- still counts); rows older than the rate's window are dropped as it is read.
CREATE TABLE IF NOT EXISTS mail_sent (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_sent_by_user ON mail_sent (user_id, sent_at);

-- `alias <word> <expansion>`, kept per account.
CREATE TABLE IF NOT EXISTS aliases (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    word      TEXT NOT NULL,
    expansion TEXT NOT NULL,
    PRIMARY KEY (user_id, word)
) WITHOUT ROWID;

-- What an account may do in a world beyond what its role gives it: enter an
-- invite-only world (`/grant <account> <world>`), and, for a worldbuilder,
-- build there (`/grant <account> <world> build`, which lets it in too).
CREATE TABLE IF NOT EXISTS world_permissions (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    can_access INTEGER NOT NULL DEFAULT 1,
    granted_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    granted_at TEXT NOT NULL,
    can_build  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, world_id)
);

-- Each builder's last changes to each world (src/store/builds.rs), for /undo
-- and /redo: the edits that made the change and those that take it back, as
-- text (src/world/edit.rs). At most 20 per builder and world are kept; a new
-- change drops the builder's undone ones.
CREATE TABLE IF NOT EXISTS build_history (
    id         INTEGER PRIMARY KEY,
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verb       TEXT NOT NULL,
    target     TEXT NOT NULL,
    summary    TEXT NOT NULL,
    forward    TEXT NOT NULL,
    inverse    TEXT NOT NULL,
    undone     INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS build_history_by_builder ON build_history (user_id, world_id, id);

CREATE TABLE IF NOT EXISTS audit_log (
    id            INTEGER PRIMARY KEY,
    actor_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action        TEXT NOT NULL,
    target        TEXT,
    detail        TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_log (created_at);

-- The database's identity: drawn once, when the file is made or first
-- migrated to version 7 (src/store/schema.rs), and kept by every backup of
-- it. A spill file (src/store/spill.rs) is named after it, so a spill is
-- only ever replayed into the database it came from. One row.
CREATE TABLE IF NOT EXISTS database_identity (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    uuid       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The spill files replayed into this database, by the id each one holds,
-- written in the replay's own transaction: a spill is replayed once, even
-- if its file outlives the replay.
CREATE TABLE IF NOT EXISTS spill_replays (
    spill_id    TEXT PRIMARY KEY,
    file        TEXT NOT NULL,
    rows        INTEGER NOT NULL,
    replayed_at TEXT NOT NULL
);

-- The state of each door in play (src/store/doors.rs), by the world and the
-- door's id (`zone:room/exit` of the side its file declares it on). A door
-- without a row is as its file starts it. `version` counts the changes, so
-- the game's cache takes each change once and in order.
CREATE TABLE IF NOT EXISTS door_states (
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    door       TEXT NOT NULL,
    closed     INTEGER NOT NULL,
    locked     INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (world_id, door)
);

-- Item instances inside other instances (containers, `"container": true`):
-- an instance lies in exactly one of room_items, character_items and
-- container_items, and keeps its id. Contents go wherever their container
-- goes, since they name it, not a place.
CREATE TABLE IF NOT EXISTS container_items (
    id           INTEGER PRIMARY KEY,
    container_id INTEGER NOT NULL,
    world_id     TEXT NOT NULL,
    item_key     TEXT NOT NULL,
    put_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS container_items_by_container ON container_items (container_id);

-- Where each NPC of a world stands now (issue 19), by its key `zone:npc`:
-- written when it moves, read when the world comes into play, so NPCs keep
-- their places across a restart. A row whose room is gone is ignored (the
-- NPC starts where its zone file puts it).
CREATE TABLE IF NOT EXISTS npc_places (
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    npc_key    TEXT NOT NULL,
    room       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (world_id, npc_key)
);

-- What NPCs carry, like character_items: an instance sits in exactly one of
-- room_items, character_items and npc_items, and keeps its id for life.
CREATE TABLE IF NOT EXISTS npc_items (
    id          INTEGER PRIMARY KEY,
    world_id    TEXT NOT NULL REFERENCES worlds (id),
    npc_key     TEXT NOT NULL,
    item_key    TEXT NOT NULL,
    acquired_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS npc_items_by_npc ON npc_items (world_id, npc_key);

-- A script's own small key-value state (src/script), by the thing it is
-- attached to (`room:<zone:room>`, `item:<key>`, `npc:<zone:npc>`); values
-- are JSON text of a string, number or boolean.
CREATE TABLE IF NOT EXISTS script_state (
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    owner      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (world_id, owner, key)
);
