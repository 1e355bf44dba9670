CREATE TABLE IF NOT EXISTS npc_places (
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    npc_key    TEXT NOT NULL,
    room       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (world_id, npc_key)
);
CREATE TABLE IF NOT EXISTS npc_items (
    id          INTEGER PRIMARY KEY,
    world_id    TEXT NOT NULL REFERENCES worlds (id),
    npc_key     TEXT NOT NULL,
    item_key    TEXT NOT NULL,
    acquired_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS npc_items_by_npc ON npc_items (world_id, npc_key);
CREATE TABLE IF NOT EXISTS script_state (
    world_id   TEXT NOT NULL REFERENCES worlds (id),
    owner      TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (world_id, owner, key)
);
