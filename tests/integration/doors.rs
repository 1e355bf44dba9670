//! Doors over TCP (SPEC §14, issue 19): Lanternfall's Customs House has an
//! iron door south to the Bonded Warehouse, locked, whose key is the brass
//! key lying in the Customs House. A door is one door from both sides, the
//! room and the room beyond hear it worked, nobody walks through it shut,
//! its state survives a `/reload` and a restart, and players working it at
//! once leave it in a state some order of their commands explains.

use crate::support::*;

/// A new account whose first character stands in the Customs House.
async fn at_the_customs_house(server: &TestServer, name: &str) -> Client {
    let mut c = server.connect().await;
    c.create(name, PASSWORD).await;
    c.enter("1").await;
    for way in ["south", "south", "se"] {
        c.command(way).await;
    }
    c
}

const DOOR_ROW: &str = "SELECT closed * 2 + locked FROM door_states \
    WHERE door = 'quayside:customs_house/south'";

#[tokio::test]
async fn a_locked_door_opens_with_its_key_and_both_sides_hear_it() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = at_the_customs_house(&server, "Ann").await;
    let mut ben = at_the_customs_house(&server, "Ben").await;
    ann.expect("Ben arrives from the northwest.").await;

    let look = ann.command("look").await;
    assert!(
        look.contains("Exits: south, northwest.\r\nThe iron door (south) is closed.\r\n"),
        "{look}"
    );
    assert_eq!(ann.command("south").await, "The iron door is closed.");
    assert_eq!(ann.command("open door").await, "The iron door is locked.");
    assert_eq!(ann.command("unlock door").await, "You don't have the key.");
    assert_eq!(
        ann.command("get brass key").await,
        "You pick up a brass key."
    );
    assert_eq!(
        ann.command("unlock iron").await,
        "You unlock the iron door."
    );
    ben.expect("Ann unlocks the iron door.").await;
    assert_eq!(
        ann.command("unlock s").await,
        "The iron door is not locked."
    );
    assert_eq!(ann.command("open south").await, "You open the iron door.");
    ben.expect("Ann opens the iron door.").await;
    assert_eq!(
        ann.command("open door").await,
        "The iron door is already open."
    );
    assert_eq!(ann.command("lock door").await, "Close the iron door first.");
    assert_eq!(ann.command("open nw").await, "There is no door northwest.");
    assert_eq!(ann.command("open gate").await, "You see no such door here.");
    assert!(
        ben.command("look")
            .await
            .contains("The iron door (south) is open.")
    );

    // Through it, and the same door from the other side.
    let inside = ann.command("south").await;
    assert!(inside.contains("The Bonded Warehouse"), "{inside}");
    assert!(
        inside.contains("The iron door (north) is open."),
        "{inside}"
    );
    assert_eq!(ben.command("close door").await, "You close the iron door.");
    ann.expect("The iron door (north) closes from the other side.")
        .await;
    assert_eq!(ann.command("north").await, "The iron door is closed.");
    assert_eq!(ann.command("lock door").await, "You lock the iron door.");
    ben.expect("The iron door (south) is locked from the other side.")
        .await;
    assert_eq!(ben.command("open door").await, "The iron door is locked.");
    assert_eq!(
        server.count(DOOR_ROW),
        3,
        "closed and locked, in the database"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_doors_state_survives_a_reload_and_a_restart() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = at_the_customs_house(&server, "Ann").await;
    ann.command("get brass key").await;
    ann.command("unlock door").await;
    assert_eq!(ann.command("open door").await, "You open the iron door.");
    let mut admin = server.player_with_role("Ada", "admin").await;
    let reloaded = admin.command("/reload").await;
    assert!(reloaded.starts_with("Worlds reloaded: "), "{reloaded}");
    assert!(
        ann.command("look")
            .await
            .contains("The iron door (south) is open.")
    );
    drop(admin);
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let mut ann = server.connect().await;
    ann.connect_as("Ann", PASSWORD).await;
    let entered = ann.enter("1").await;
    assert!(
        entered.contains("The iron door (south) is open."),
        "{entered}"
    );
    let inside = ann.command("south").await;
    assert!(inside.contains("The Bonded Warehouse"), "{inside}");
    assert_eq!(server.count(DOOR_ROW), 0, "open and unlocked");
    server.stop().await;
}

/// Sends each client its line at once and waits for each answer among
/// `answers`; how many got each answer.
async fn all_at_once(clients: &mut [Client], lines: &[&str], answers: &[&str]) -> Vec<usize> {
    let sends = clients
        .iter_mut()
        .zip(lines)
        .map(|(c, line)| {
            c.skip_shown_prompts();
            (c, line.to_string())
        })
        .collect();
    send_together(sends).await;
    let mut got = vec![0; answers.len()];
    for c in clients.iter_mut() {
        let (which, _) = c.expect_any(answers).await;
        got[which] += 1;
    }
    got
}

const OPENED: [&str; 3] = [
    "You open the iron door.",
    "The iron door is already open.",
    "The iron door is locked.",
];
const CLOSED: [&str; 5] = [
    "You close the iron door.",
    "The iron door is already closed.",
    "You lock the iron door.",
    "Close the iron door first.",
    "The iron door is already locked.",
];

/// Issue 19: players working one door at once are decided one after the
/// other, each on the state the one before left: of four opening a closed
/// door together exactly one opens it, of four closing it exactly one, and a
/// lock sent with the closes locks it only once it is closed. At the end the
/// door is as the database says, from both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn players_working_a_door_at_once_are_decided_one_after_the_other() {
    let dir = temp_dir();
    // Each player types faster than the command rate allows anyone.
    let mut config = config(dir.path());
    config.command_burst = 1000;
    let server = TestServer::start_with(config).await;
    let mut clients = Vec::new();
    for name in ["Keeper", "Ann", "Ben", "Cai"] {
        clients.push(at_the_customs_house(&server, name).await);
    }
    clients[0].command("get brass key").await;
    assert_eq!(
        clients[0].command("unlock door").await,
        "You unlock the iron door."
    );
    let mut locks = 0;
    for round in 0..15 {
        let opened = all_at_once(&mut clients, &["open door"; 4], &OPENED).await;
        assert_eq!(opened, [1, 3, 0], "round {round}: who opened it");
        // The keeper locks while the others close: after one of them, or refused.
        let lines = ["lock door", "close door", "close door", "close door"];
        let closed = all_at_once(&mut clients, &lines, &CLOSED).await;
        assert_eq!(closed[0], 1, "round {round}: one closed it: {closed:?}");
        assert_eq!(closed[1] + closed[0], 3, "round {round}: {closed:?}");
        assert_eq!(closed[2] + closed[3], 1, "round {round}: {closed:?}");
        if closed[2] == 1 {
            locks += 1;
            clients[0].send("unlock door").await;
            clients[0].expect("You unlock the iron door.").await;
        }
    }
    let changes =
        server.count("SELECT version FROM door_states WHERE door = 'quayside:customs_house/south'");
    assert_eq!(changes, 1 + 15 * 2 + 2 * locks, "each change stored once");
    assert_eq!(server.count(DOOR_ROW), 2, "closed, unlocked");
    for c in &mut clients {
        c.skip_shown_prompts();
        c.send("look").await;
        let (seen, _) = c.expect_any(&["The iron door (south) is "]).await;
        assert_eq!(seen, 0);
        let state = c.expect(".").await;
        assert_eq!(state, "closed.", "as the database says");
    }
    server.stop().await;
}

#[tokio::test]
async fn looking_a_way_says_where_it_leads_and_whether_its_door_is_shut() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = at_the_customs_house(&server, "Ann").await;
    assert_eq!(
        ann.command("look south").await,
        "To the south lies The Bonded Warehouse.\r\nThe iron door is closed."
    );
    assert_eq!(
        ann.command("look nw").await,
        "To the northwest lies The Long Quay."
    );
    assert_eq!(
        ann.command("look at NORTHWEST").await,
        "To the northwest lies The Long Quay."
    );
    let exits = ann.command("exits").await;
    assert!(
        exits.contains("south      The Bonded Warehouse, through the iron door (closed)"),
        "{exits}"
    );
    // A way that is not here is no thing here either.
    assert_eq!(ann.command("look east").await, "You don't see that here.");
    ann.command("get key").await;
    ann.command("unlock door").await;
    ann.command("open door").await;
    assert_eq!(
        ann.command("look s").await,
        "To the south lies The Bonded Warehouse.\r\nThe iron door is open."
    );
    ann.command("nw").await;
    assert_eq!(
        ann.command("look down").await,
        "Below lies The Outflow Tunnel."
    );
    server.stop().await;
}

/// The real binary's `check-worlds` on `worlds` passes.
fn assert_check_worlds_passes(worlds: &std::path::Path) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--worlds", &worlds.display().to_string(), "check-worlds"])
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "check-worlds refuses:\n{text}"
    );
}

/// The Long Quay's exits in the copied world's file.
fn long_quay_exits(worlds: &std::path::Path) -> serde_json::Value {
    let path = worlds.join("lanternfall/zones/quayside.json");
    let text = std::fs::read_to_string(path).expect("the zone file");
    let zone: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let rooms = zone["rooms"].as_array().expect("a list of rooms");
    let quay = rooms.iter().find(|room| room["id"] == "long_quay");
    quay.expect("the Long Quay")["exits"].clone()
}

#[tokio::test]
async fn builders_put_doors_on_and_take_them_off_both_sides_undoably() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let config = gaslamp::ServerConfig::for_tests(dir.path().join("g.db"), worlds.clone());
    let server = TestServer::start_with(config).await;
    let mut ada = server.player_with_role("Ada", "admin").await;
    ada.command("/goto quayside:long_quay").await;

    assert_eq!(
        ada.command("/door se wooden door locked pewter tankard")
            .await,
        "Exit se has a door now: the wooden door, locked by quayside:pewter_tankard.\r\n\
         Wrote lanternfall/zones/quayside.json."
    );
    let door = serde_json::json!({"to": "customs_house", "door": {
        "name": "wooden door", "closed": true, "locked": true, "key": "pewter_tankard"}});
    assert_eq!(long_quay_exits(&worlds)["se"], door);
    assert_check_worlds_passes(&worlds);
    assert!(
        ada.command("look")
            .await
            .contains("The wooden door (southeast) is closed.")
    );
    assert_eq!(ada.command("se").await, "The wooden door is closed.");
    assert_eq!(ada.command("open door").await, "The wooden door is locked.");

    // From the other side it is the same door, which only /undoor takes off.
    ada.command("/goto quayside:customs_house").await;
    assert!(
        ada.command("look")
            .await
            .contains("The wooden door (northwest) is closed.")
    );
    assert_eq!(
        ada.command("/door nw gate").await,
        "Exit nw already has a door, the wooden door; \"/undoor nw\" first."
    );
    assert_eq!(
        ada.command("/door nw gate locked anchor").await,
        "Exit nw already has a door, the wooden door; \"/undoor nw\" first."
    );
    assert_eq!(
        ada.command("/undoor nw").await,
        "Took the wooden door off exit nw.\r\nWrote lanternfall/zones/quayside.json."
    );
    assert_eq!(long_quay_exits(&worlds)["se"], "customs_house");
    assert_eq!(ada.command("/undoor nw").await, "Exit nw has no door.");
    let look = ada.command("look").await;
    assert!(!look.contains("wooden door"), "{look}");
    assert!(ada.command("nw").await.contains("The Long Quay"));

    // Undone, it is back as its file says; a key that is no item is refused.
    let undone = ada.command("/undo").await;
    assert!(
        undone.starts_with("Undone: took the wooden door off"),
        "{undone}"
    );
    assert_eq!(long_quay_exits(&worlds)["se"], door);
    assert_eq!(ada.command("se").await, "The wooden door is closed.");
    assert_eq!(
        ada.command("/door north gate locked anchor").await,
        "There is no item anchor."
    );
    assert_check_worlds_passes(&worlds);
    server.stop().await;
}

#[tokio::test]
async fn a_door_put_on_anew_starts_as_its_file_says() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let config = gaslamp::ServerConfig::for_tests(dir.path().join("g.db"), worlds.clone());
    let server = TestServer::start_with(config).await;
    let mut ada = server.player_with_role("Ada", "admin").await;
    ada.command("/goto quayside:long_quay").await;
    ada.command("/door se wooden door").await;
    assert_eq!(ada.command("open door").await, "You open the wooden door.");
    ada.command("/undoor se").await;
    ada.command("/door se wooden door").await;
    assert!(
        ada.command("look")
            .await
            .contains("The wooden door (southeast) is closed.")
    );
    assert_eq!(
        server.count("SELECT count(*) FROM door_states WHERE door = 'quayside:long_quay/se'"),
        0
    );
    server.stop().await;
}

/// The action scripts call (issue 19's "open or close an exit"): the world
/// works a door with no key, both sides hear it said of the door, and a
/// player then finds it as the script left it.
#[tokio::test]
async fn a_script_works_a_door_through_the_same_action_and_both_sides_hear_it() {
    use gaslamp::game::{DoorActor, DoorChange};
    use gaslamp::world::RoomId;
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = at_the_customs_house(&server, "Ann").await;
    let world = server.game.default_world();
    let warehouse = RoomId::new("quayside", "bonded_warehouse");
    let world_side = |change| {
        let (game, world, room) = (server.game.clone(), world.clone(), warehouse.clone());
        async move {
            let by = DoorActor::Script { name: None };
            game.set_door(&world, &room, "north", change, by).await
        }
    };
    world_side(DoorChange::Unlock)
        .await
        .expect("unlocked without a key");
    ann.expect("The iron door (south) is unlocked from the other side.")
        .await;
    world_side(DoorChange::Open).await.expect("opened");
    ann.expect("The iron door (south) opens from the other side.")
        .await;
    let refused = world_side(DoorChange::Open)
        .await
        .expect_err("open already");
    assert_eq!(refused.to_string(), "the door is open already");
    let inside = ann.command("south").await;
    assert!(inside.contains("The Bonded Warehouse"), "{inside}");
    let by = DoorActor::Script {
        name: Some("Old Tam".into()),
    };
    let closed = server
        .game
        .set_door(&world, &warehouse, "NORTH", DoorChange::Close, by)
        .await;
    assert!(closed.is_ok(), "{closed:?}");
    ann.expect("Old Tam closes the iron door.").await;
    server.stop().await;
}

#[tokio::test]
async fn check_worlds_names_the_file_and_field_of_a_bad_door() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    write_world(
        &worlds,
        "w",
        r#"{"name": "W", "description": "", "default_spawn": {"zone": "z", "room": "a"}, "zones": ["z"]}"#,
        &[(
            "z",
            r#"{"id": "z", "name": "Z", "description": "", "spawn_room": "a", "rooms": [
                {"id": "a", "name": "A", "description": "", "items": [],
                 "exits": {"north": {"to": "b", "door": {"name": "gate", "locked": true, "key": "anchor"}}}},
                {"id": "b", "name": "B", "description": "", "exits": {"south": "a"}, "items": []}]}"#,
        )],
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--worlds", &worlds.display().to_string(), "check-worlds"])
        .env_clear()
        .output()
        .expect("the gaslamp binary runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("zones/z.json: rooms.a.exits.north.door.key: the door's key is no item: unknown item \"anchor\""),
        "{text}"
    );
}
