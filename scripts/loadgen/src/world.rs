//! The benchmark's world, generated for each run.
//!
//! The shipped world has about seventeen rooms; the scenarios want up to a hundred
//! rooms with a known number of characters in each. So the load generator writes a
//! world of its own in the server's ordinary format: one zone, `plaza`, whose spawn
//! room `hub` has an exit `r0` … `r<n-1>` to each of `n` rooms, and every room has
//! an exit `hub` back. A character is placed with `go r<k>`; a new character always
//! starts in `hub`, so nobody waits there for long.

use std::path::Path;

use serde_json::{Map, Value, json};

/// The world's id (its directory name).
pub const WORLD_ID: &str = "benchworld";

/// A second world of the same shape, for scenarios across worlds (`channel`);
/// the first stays the default (the first by id).
pub const SECOND_WORLD_ID: &str = "benchworld2";

/// The exit from the hub to room `k`.
pub fn exit_to(room: usize) -> String {
    format!("r{room}")
}

/// The full room id of room `k`, as the chat rows store it.
pub fn room_id(room: usize) -> String {
    format!("plaza:r{room}")
}

/// Writes the world under `dir/benchworld/`.
pub fn generate(dir: &Path, rooms: usize) -> anyhow::Result<()> {
    generate_as(dir, WORLD_ID, rooms)
}

/// Writes a world of `rooms` rooms under `dir/<id>/`.
pub fn generate_as(dir: &Path, id: &str, rooms: usize) -> anyhow::Result<()> {
    let world_dir = dir.join(id);
    std::fs::create_dir_all(world_dir.join("zones"))?;
    let world = json!({
        "name": "Bench World",
        "description": "A hub and a ring of plain rooms for load tests.",
        "version": "1.0.0",
        "greeting": "Welcome to the bench world.",
        "access": "open",
        "active": true,
        "default_spawn": { "zone": "plaza", "room": "hub" },
        "zones": ["plaza"],
        "global_items": {}
    });
    let mut room_map = Map::new();
    let hub_exits: Map<String, Value> = (0..rooms)
        .map(|k| (exit_to(k), Value::from(format!("r{k}"))))
        .collect();
    room_map.insert(
        "hub".into(),
        json!({
            "id": "hub",
            "name": "The Hub",
            "description": "A bare hall with a numbered door for every room.",
            "exits": hub_exits,
            "items": []
        }),
    );
    for k in 0..rooms {
        room_map.insert(
            format!("r{k}"),
            json!({
                "id": format!("r{k}"),
                "name": format!("Room {k}"),
                "description": "A plain room where people talk.",
                "exits": { "hub": "hub" },
                "items": []
            }),
        );
    }
    let zone = json!({
        "id": "plaza",
        "name": "Plaza",
        "description": "Every room of the bench world.",
        "spawn_room": "hub",
        "rooms": room_map,
        "items": {}
    });
    std::fs::write(
        world_dir.join("world.json"),
        serde_json::to_string_pretty(&world)?,
    )?;
    std::fs::write(
        world_dir.join("zones").join("plaza.json"),
        serde_json::to_string_pretty(&zone)?,
    )?;
    Ok(())
}

/// The NPCs of the `npcs` scenario: how many, and whether the two runaway
/// NPCs come too.
#[derive(Debug, Clone, Copy)]
pub struct NpcPlan {
    /// Ticking NPCs, spread over rooms `r1` … `r<rooms-1>` (room `r0` is the
    /// crowded room and has none, so its players hear only each other).
    pub tickers: usize,
    /// Seconds between a ticker's lines.
    pub every_secs: u64,
    /// Adds two NPCs (in the last room) whose every-second timers run away in turn: one
    /// runaway slice a second in all, each stopped by the tick budget, and
    /// never three failures in a row, so neither is switched off.
    pub runaways: bool,
}

/// The room a ticking NPC stands in: `r1` … `r<rooms-1>`, round the ring.
pub fn npc_room(npc: usize, rooms: usize) -> usize {
    1 + npc % rooms.saturating_sub(1).max(1)
}

/// Adds NPCs with scripts to world `id` under `dir` (already generated with
/// `rooms` rooms): `npcs` in the zone file and the scripts in `scripts/`.
/// A ticker's timer starts 1 to `every_secs` seconds after loading (five
/// script files, one per offset), so the thousand timers fire spread over
/// the period rather than all at once.
pub fn add_npcs(dir: &Path, id: &str, rooms: usize, plan: NpcPlan) -> anyhow::Result<()> {
    let world_dir = dir.join(id);
    let zone_path = world_dir.join("zones").join("plaza.json");
    let mut zone: Value = serde_json::from_str(&std::fs::read_to_string(&zone_path)?)?;
    let scripts = world_dir.join("scripts");
    std::fs::create_dir_all(&scripts)?;
    let offsets = plan.every_secs.max(1);
    for offset in 1..=offsets {
        std::fs::write(
            scripts.join(format!("ticker{offset}.lua")),
            format!(
                "-- A bench NPC: a line every {every} seconds, its timer started {offset} s\n\
                 -- after loading so that the world's timers are spread over the period.\n\
                 local said = 0\n\
                 after({offset}, function()\n\
                 \x20 every({every}, function()\n\
                 \x20   said = said + 1\n\
                 \x20   say(\"Lamp \" .. said .. \" is lit.\")\n\
                 \x20 end)\n\
                 end)\n",
                every = plan.every_secs.max(1),
            ),
        )?;
    }
    let mut npcs: Vec<Value> = (0..plan.tickers)
        .map(|n| {
            json!({
                "id": format!("n{n}"),
                "name": format!("Lamplighter {n}"),
                "description": "A bench NPC with a timer.",
                "room": format!("r{}", npc_room(n, rooms)),
                "script": format!("ticker{}.lua", 1 + n as u64 % offsets),
            })
        })
        .collect();
    if plan.runaways {
        for parity in 0..2 {
            std::fs::write(
                scripts.join(format!("runaway{parity}.lua")),
                format!(
                    "-- A bench NPC that runs away every other second (the other runaway\n\
                     -- takes the seconds between): the tick budget stops each run, and the\n\
                     -- quiet second between keeps it from three failures in a row.\n\
                     local n = 0\n\
                     every(1, function()\n\
                     \x20 n = n + 1\n\
                     \x20 if n % 2 == {parity} then\n\
                     \x20   while true do end\n\
                     \x20 end\n\
                     end)\n"
                ),
            )?;
            npcs.push(json!({
                "id": format!("runaway{parity}"),
                "name": format!("Runaway {parity}"),
                "description": "A bench NPC whose script never ends.",
                "room": format!("r{}", rooms.saturating_sub(1)),
                "script": format!("runaway{parity}.lua"),
            }));
        }
    }
    zone["npcs"] = Value::from(npcs);
    std::fs::write(&zone_path, serde_json::to_string_pretty(&zone)?)?;
    Ok(())
}
