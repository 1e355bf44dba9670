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
