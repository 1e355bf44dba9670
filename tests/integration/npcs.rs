//! NPCs (SPEC §14, issue 19) against the real server on a small world of
//! their own: seen in `look` after the players and never counted as
//! players, answering `look`, `tell`, `whisper` and `give`, marked for GMCP,
//! wandering on their timer where a telnet player sees them go, and keeping
//! their places across a restart.

use std::path::{Path, PathBuf};

use crate::support::*;

/// A world `alive` of two rooms, `hall` (east to `yard`) and `yard` (west
/// to `hall`), with Old Tam in the hall and the given extra NPC fields and
/// scripts (file name, text).
pub fn alive_world(dir: &Path, tam: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let worlds = dir.join("worlds");
    let world = r#"{"name": "Alive", "description": "A test world.", "default_spawn": {"zone": "z", "room": "hall"}, "zones": ["z"]}"#;
    let zone = format!(
        r#"{{"id": "z", "name": "Zed", "description": "", "spawn_room": "hall",
  "rooms": {{
    "hall": {{"id": "hall", "name": "The Hall", "description": "A hall.", "exits": {{"east": "yard"}}, "items": ["penny"]}},
    "yard": {{"id": "yard", "name": "The Yard", "description": "A yard.", "exits": {{"west": "hall"}}, "items": []}}
  }},
  "items": [{{"id": "penny", "name": "a copper penny", "description": "Worn thin."}},
            {{"id": "apple", "name": "a red apple", "description": "Shiny."}}],
  "npcs": [{{"id": "tam", "name": "Old Tam", "description": "A stooped old man with a lantern.", "room": "hall"{tam}}}]}}"#
    );
    write_world(&worlds, "alive", world, &[("z", &zone)]);
    let folder = worlds.join("alive").join("scripts");
    std::fs::create_dir_all(&folder).expect("scripts folder");
    for (file, text) in scripts {
        std::fs::write(folder.join(file), text).expect("script file");
    }
    worlds
}

/// A server on `worlds` with its database in `dir`.
pub async fn start_on(dir: &Path, worlds: &Path) -> TestServer {
    let config = gaslamp::ServerConfig {
        scripts: true,
        ..gaslamp::ServerConfig::for_tests(dir.join("gaslamp.db"), worlds.to_path_buf())
    };
    TestServer::start_with(config).await
}

/// A new player in the game.
pub async fn player(server: &TestServer, account: &str) -> Client {
    let mut c = server.connect().await;
    c.create(account, PASSWORD).await;
    c.enter("1").await;
    c
}

#[tokio::test]
async fn an_npc_is_seen_after_the_players_and_answers_look_tell_and_whisper() {
    let dir = temp_dir();
    let worlds = alive_world(&dir.path().join("w"), "", &[]);
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    let _ben = player(&server, "ben").await;
    let look = ann.command("look").await;
    assert!(look.contains("Also here: Ben, Old Tam."), "{look}");
    let tam = ann.command("look tam").await;
    assert!(
        tam.contains("Old Tam\r\nA stooped old man with a lantern."),
        "{tam}"
    );
    let tam = ann.command("examine old tam").await;
    assert!(tam.contains("A stooped old man"), "{tam}");
    let told = ann.command("tell tam hello").await;
    assert!(
        told.contains("Old Tam is no player and hears no tells; say it aloud."),
        "{told}"
    );
    let whispered = ann.command("whisper tam hello").await;
    assert!(
        whispered.contains("Old Tam does not answer whispers; say it aloud."),
        "{whispered}"
    );
    // NPCs are not players: who counts the two players only.
    let who = ann.command("who").await;
    assert!(!who.contains("Tam"), "{who}");
    server.stop().await;
}

/// `IAC SB option data IAC SE`.
fn sb(option: u8, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![IAC, 250, option];
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(&[IAC, 240]);
    bytes
}

#[tokio::test]
async fn a_screen_reader_hears_which_are_npcs_and_gmcp_marks_them() {
    let dir = temp_dir();
    let worlds = alive_world(&dir.path().join("w"), "", &[]);
    let server = start_on(dir.path(), &worlds).await;
    let mut reader = server.connect().await;
    reader.expect("Account: ").await;
    // TTYPE's MTTS bit 64: a screen reader.
    reader.send_raw(&[IAC, WILL, 24]).await;
    reader.expect_subnegotiation(24).await;
    reader.send_raw(&sb(24, b"\0MTTS 64")).await;
    reader.send(&format!("create reader {PASSWORD}")).await;
    reader.expect("Character: ").await;
    let look = reader.enter("1").await;
    assert!(look.contains("Also here: Old Tam (NPC)."), "{look}");
    let mut mapper = server.connect().await;
    mapper.expect("Account: ").await;
    let mut hello = vec![IAC, DO, GMCP];
    hello.extend(sb(GMCP, br#"Core.Supports.Set ["Room 1"]"#));
    mapper.send_raw(&hello).await;
    mapper.send(&format!("create mapper {PASSWORD}")).await;
    mapper.expect("Character: ").await;
    mapper.enter("1").await;
    let players = mapper.expect_gmcp("Room.Players").await;
    assert_eq!(
        players,
        serde_json::json!([
            {"name": "Reader", "fullname": "Reader"},
            {"name": "Old Tam", "fullname": "Old Tam", "npc": true}
        ])
    );
    server.stop().await;
}

#[tokio::test]
async fn an_npc_wanders_on_its_timer_and_a_player_sees_it_go_and_come() {
    let dir = temp_dir();
    let worlds = alive_world(&dir.path().join("w"), r#", "wander": "1s""#, &[]);
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    // Two rooms, one exit each: it can only go east, and only come back west.
    ann.expect("Old Tam leaves east.").await;
    ann.expect("Old Tam arrives from the east.").await;
    // Its place is kept in the database as it goes.
    let saved = server
        .count("SELECT count(*) FROM npc_places WHERE world_id = 'alive' AND npc_key = 'z:tam'");
    assert_eq!(saved, 1);
    server.stop().await;
}

#[tokio::test]
async fn an_npc_moved_by_its_script_keeps_its_place_across_a_restart() {
    let dir = temp_dir();
    let script = "function on_command(actor, verb, rest) move('east') end";
    let worlds = alive_world(
        &dir.path().join("w"),
        r#", "commands": ["shoo"], "script": "tam.lua""#,
        &[("tam.lua", script)],
    );
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    ann.send("shoo").await;
    ann.expect("Old Tam leaves east.").await;
    ann.command("east").await;
    let look = ann.command("look").await;
    assert!(look.contains("Also here: Old Tam."), "{look}");
    ann.send("quit").await;
    ann.expect_closed().await;
    // The place is saved behind the move on the game's tracker, which the
    // stop waits for.
    server.stop().await;
    let db = rusqlite::Connection::open(dir.path().join("gaslamp.db")).expect("database");
    let room: String = db
        .query_row(
            "SELECT room FROM npc_places WHERE npc_key = 'z:tam'",
            [],
            |r| r.get(0),
        )
        .expect("a saved place");
    assert_eq!(room, "z:yard");
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = server.connect().await;
    ann.connect_as("ann", PASSWORD).await;
    let look = ann.enter("1").await;
    assert!(look.contains("The Yard"), "{look}");
    assert!(look.contains("Also here: Old Tam."), "{look}");
    server.stop().await;
}

#[tokio::test]
async fn an_item_given_to_an_npc_is_its_own_and_its_script_hears_it() {
    let dir = temp_dir();
    let script = "function on_give(actor, item) say('Thank you, ' .. actor.name .. ', for the ' .. item .. '.') end";
    let worlds = alive_world(
        &dir.path().join("w"),
        r#", "script": "tam.lua""#,
        &[("tam.lua", script)],
    );
    let server = start_on(dir.path(), &worlds).await;
    let mut ann = player(&server, "ann").await;
    let got = ann.command("get penny").await;
    assert!(got.contains("You pick up a copper penny."), "{got}");
    // Tam's thanks and the giver's own line may come in either order.
    ann.send("give penny to tam").await;
    ann.expect("Old Tam says, \"Thank you, Ann, for the penny.\"")
        .await;
    let given = "You give a copper penny to Old Tam.";
    if !ann.all_text().contains(given) {
        ann.expect(given).await;
    }
    // In one place: Tam's hands.
    assert_eq!(
        server.count("SELECT count(*) FROM npc_items WHERE npc_key = 'z:tam'"),
        1
    );
    assert_eq!(server.count("SELECT count(*) FROM character_items"), 0);
    assert_eq!(server.count("SELECT count(*) FROM room_items"), 0);
    ann.send("give penny to tam").await;
    ann.expect("You aren't carrying that.").await;
    server.stop().await;
}

#[tokio::test]
async fn npc_places_a_new_npc_here_through_the_world_writer_and_undo_takes_it_away() {
    let dir = temp_dir();
    let worlds = alive_world(&dir.path().join("w"), "", &[]);
    let server = start_on(dir.path(), &worlds).await;
    let mut ada = server.player_with_role("ada", "admin").await;
    let mut ann = player(&server, "ann").await;
    let placed = ada.command("/npc Sal the Sweep").await;
    assert!(
        placed.contains("Placed Sal the Sweep (z:sal_the_sweep) here."),
        "{placed}"
    );
    assert!(placed.contains("Wrote"), "{placed}");
    let look = ann.command("look").await;
    assert!(look.contains("Old Tam, Sal the Sweep."), "{look}");
    let zone: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(worlds.join("alive/zones/z.json")).expect("zone file"),
    )
    .expect("JSON");
    assert_eq!(zone["npcs"][1]["id"], "sal_the_sweep");
    assert_eq!(zone["npcs"][1]["room"], "hall");
    let undone = ada.command("/undo").await;
    assert!(undone.contains("Undone: placed Sal the Sweep"), "{undone}");
    let look = ann.command("look").await;
    assert!(!look.contains("Sal"), "{look}");
    server.stop().await;
}
