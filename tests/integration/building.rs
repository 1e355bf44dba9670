//! Building in the game (SPEC §13, issue 18) against the real server on a
//! copy of the shipped world: each command with its reply, its refusal and
//! what it leaves in the files (parsed back, and passed by the real
//! binary's `check-worlds`); who may build, decided at once; the editor;
//! builders at once; undo and redo across a restart; a hand edit, a crash's
//! leftover and a failed write; `Room.Info` after a change, decoded as a
//! client decodes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// The shipped worlds, copied under `dir` so builds may write them.
fn worlds_in(dir: &Path) -> PathBuf {
    let worlds = dir.join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    worlds
}

/// A server on the worlds in `worlds` and a database in `dir`.
async fn start(dir: &Path, worlds: &Path) -> TestServer {
    let config = gaslamp::ServerConfig::for_tests(dir.join("gaslamp.db"), worlds.to_path_buf());
    TestServer::start_with(config).await
}

/// The real binary's `check-worlds` on `worlds`: its exit code and output.
fn check_worlds(worlds: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--worlds", &worlds.display().to_string(), "check-worlds"])
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn assert_check_worlds_passes(worlds: &Path) {
    let (code, text) = check_worlds(worlds);
    assert_eq!(code, 0, "check-worlds refuses the built world:\n{text}");
}

/// A zone file of the copied world, parsed.
fn zone(worlds: &Path, zone: &str) -> serde_json::Value {
    let path = worlds.join(format!("lanternfall/zones/{zone}.json"));
    let text = std::fs::read_to_string(&path).expect("the zone file");
    serde_json::from_str(&text).expect("the zone file is JSON")
}

/// An item of a zone whose items are a list, by id.
fn item<'z>(zone: &'z serde_json::Value, id: &str) -> Option<&'z serde_json::Value> {
    let items = zone["items"].as_array().expect("a list of items");
    items.iter().find(|item| item["id"] == id)
}

/// Every file of the copied world, with its bytes.
fn files(worlds: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let dir = worlds.join("lanternfall");
    let mut paths = vec![dir.join("world.json")];
    for entry in std::fs::read_dir(dir.join("zones")).expect("zones") {
        paths.push(entry.expect("entry").path());
    }
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).expect("read");
        all.push((path, bytes));
    }
    all
}

/// The `build.*` audit rows: action and target.
fn build_rows(server: &TestServer) -> Vec<(String, Option<String>)> {
    server
        .audit_rows()
        .into_iter()
        .filter(|(_, action, _)| action.starts_with("build."))
        .map(|(_, action, target)| (action, target))
        .collect()
}

/// A player of `role` in the game whose client is 250 columns wide, so
/// that replies come unwrapped.
async fn wide(server: &TestServer, account: &str, role: &str) -> Client {
    let mut client = server.player_with_role(account, role).await;
    widen(&mut client).await;
    client
}

/// Tells the server the client's window is 250 columns wide.
async fn widen(client: &mut Client) {
    let mut bytes = vec![IAC, WILL, NAWS, IAC, SB, NAWS, 0, 250, 0, 50, IAC, SE];
    bytes.extend_from_slice(b"look\r\n");
    client.send_raw(&bytes).await;
    client.expect("\r\n> ").await;
}

/// The NAWS option.
const NAWS: u8 = 31;

/// Lets a worldbuilder build in the shipped world (test set-up only; the
/// grant command itself is tested below).
fn grant_build(server: &TestServer, account: &str) {
    server
        .db()
        .execute(
            "INSERT INTO world_permissions (user_id, world_id, can_access, granted_at, can_build) \
             SELECT id, 'lanternfall', 1, '', 1 FROM users WHERE username = ?1",
            [account],
        )
        .expect("grant");
}

#[tokio::test]
async fn dig_link_unlink_rename_and_describe_write_the_zone_file_and_check_worlds_passes() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;

    let dug = ada.command("/dig d The Coal Cellar").await;
    assert_eq!(
        dug,
        "Dug The Coal Cellar (old_town:the_coal_cellar): exit d.\r\n\
         The way back: u.\r\n\
         Wrote lanternfall/zones/old_town.json."
    );
    let town = zone(&worlds, "old_town");
    assert_eq!(
        town["rooms"]["lantern_square"]["exits"]["d"],
        "the_coal_cellar"
    );
    let cellar = &town["rooms"]["the_coal_cellar"];
    assert_eq!(
        cellar["id"], "the_coal_cellar",
        "as the zone's rooms are written"
    );
    assert_eq!(cellar["name"], "The Coal Cellar");
    assert_eq!(cellar["exits"]["u"], "lantern_square");
    assert_check_worlds_passes(&worlds);

    let again = ada.command("/dig d Another Cellar").await;
    assert_eq!(
        again,
        "There is already an exit d here, to old_town:the_coal_cellar; \"/unlink d\" first."
    );
    let taken = ada.command("/dig in The Coal Cellar").await;
    assert!(
        taken.starts_with("Dug The Coal Cellar (old_town:the_coal_cellar_2): exit in."),
        "a taken id gets a number: {taken}"
    );
    assert!(taken.contains("\r\nThe way back: out.\r\n"), "{taken}");

    let down = ada.command("d").await;
    assert!(down.starts_with("The Coal Cellar"), "{down}");
    let renamed = ada.command("/rname The Coal Hole").await;
    assert_eq!(
        renamed,
        "This room is now called The Coal Hole.\r\nWrote lanternfall/zones/old_town.json."
    );
    let described = ada.command("/rdesc Coal dust hangs in the air.").await;
    assert!(
        described.starts_with("This room's description is set (27 characters)."),
        "{described}"
    );
    let look = ada.command("look").await;
    assert!(
        look.starts_with("The Coal Hole\r\nCoal dust hangs in the air.\r\nExits: up."),
        "{look}"
    );
    let long = ada.command(&format!("/rname {}", "x".repeat(81))).await;
    assert_eq!(long, "A name must be 1 to 80 characters.");

    let linked = ada.command("/link e quayside:harbour_gate").await;
    assert_eq!(
        linked,
        "Linked e to The Harbour Gate (quayside:harbour_gate).\r\n\
         Wrote lanternfall/zones/old_town.json."
    );
    let nowhere = ada.command("/link n lantern_squar").await;
    assert!(
        nowhere.starts_with(
            "There is no room \"lantern_squar\" in Lanternfall. Nearest: old_town:lantern_square"
        ),
        "{nowhere}"
    );
    let no_way_back = ada.command("/link door quayside:harbour_gate both").await;
    assert!(no_way_back.starts_with("\"both\" makes the way back only for a direction"));
    let unlinked = ada.command("/unlink E").await;
    assert_eq!(
        unlinked,
        "Unlinked e (it led to quayside:harbour_gate).\r\nWrote lanternfall/zones/old_town.json."
    );
    assert_eq!(ada.command("/unlink e").await, "There is no exit e here.");
    assert_eq!(
        ada.command("/dig q").await,
        "Usage: /dig <exit> <room name>"
    );
    let listed = ada.command("/rooms coal").await;
    assert!(listed.starts_with("Rooms of Lanternfall (2):"), "{listed}");
    assert!(
        listed.contains("\r\nold_town:the_coal_cellar    The Coal Hole    u      Ada\r\n"),
        "{listed}"
    );
    assert_check_worlds_passes(&worlds);
    let rows = build_rows(&server);
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "build.dig",
            "build.dig",
            "build.rname",
            "build.rdesc",
            "build.link",
            "build.unlink"
        ]
    );
    assert_eq!(
        rows[0].1.as_deref(),
        Some("lanternfall/old_town:the_coal_cellar")
    );
    let builds = ada.command("/builds 2").await;
    assert!(
        builds.contains("  Ada  unlink  old_town:the_coal_cellar  unlinked "),
        "{builds}"
    );
    server.stop().await;
}

#[tokio::test]
async fn players_get_the_role_sentence_and_worldbuilders_need_the_grant_decided_at_once() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut pat = wide(&server, "Pat", "player").await;
    let mut wes = wide(&server, "Wes", "worldbuilder").await;
    let mut ada = wide(&server, "Ada", "admin").await;
    assert_eq!(
        pat.command("/dig up The Attic").await,
        "You don't have permission to use /dig."
    );
    let ungranted = "You don't have permission to build in Lanternfall.";
    assert_eq!(wes.command("/dig up The Attic").await, ungranted);
    assert_eq!(
        wes.command("/rdesc").await,
        ungranted,
        "before the editor opens"
    );
    assert_eq!(
        ada.command("/grant wes lanternfall build").await,
        "Wes may now build in Lanternfall."
    );
    wes.expect("You may now build in Lanternfall.").await;
    let dug = wes.command("/dig up The Attic").await;
    assert!(
        dug.starts_with("Dug The Attic (old_town:the_attic): exit up."),
        "{dug}"
    );
    assert_eq!(
        ada.command("/revoke wes lanternfall build").await,
        "Wes may no longer build in Lanternfall."
    );
    wes.expect("You may no longer build in Lanternfall.").await;
    assert_eq!(wes.command("/rname The Loft").await, ungranted);
    // A demotion reaches the builder at once too.
    ada.command("/grant wes lanternfall build").await;
    let mut sue = wide(&server, "Sue", "superuser").await;
    sue.command("/role wes player").await;
    wes.expect("Your role is now player.").await;
    assert_eq!(
        wes.command("/rname The Loft").await,
        "You don't have permission to use /rname."
    );
    let rows = build_rows(&server);
    assert_eq!(rows.len(), 1, "only the one build: {rows:?}");
    server.stop().await;
}

#[tokio::test]
async fn rdesc_alone_opens_the_editor_whose_lines_are_text_beyond_the_command_rate() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    ada.send("/rdesc").await;
    ada.expect(
        "Write the description of Lantern Square; end it with a line holding only \".\", \
         or \"~q\" to throw it away.",
    )
    .await;
    ada.expect("] ").await;
    // More lines at once than the command rate's burst of 40, commands among
    // them: every one is text.
    let mut lines: Vec<String> = (1..=60)
        .map(|n| format!("Line {n} of the square."))
        .collect();
    lines[10] = "look".to_string();
    lines[20] = "quit".to_string();
    let mut burst = lines.join("\r\n");
    burst.push_str("\r\n.\r\n");
    ada.send_raw(burst.as_bytes()).await;
    let set = ada.expect("\r\n> ").await;
    assert!(!set.contains("Slow down."), "{set}");
    assert!(set.contains("This room's description is set ("), "{set}");
    assert!(
        set.contains("Wrote lanternfall/zones/old_town.json."),
        "{set}"
    );
    let look = ada.command("look").await;
    assert!(look.contains("Line 1 of the square.\r\n"), "{look}");
    assert!(look.contains("\r\nquit\r\n"), "{look}");
    assert!(look.contains("Line 60 of the square."), "{look}");
    let town = zone(&worlds, "old_town");
    let description = town["rooms"]["lantern_square"]["description"]
        .as_str()
        .expect("a description");
    assert_eq!(description.lines().count(), 60);

    ada.send("/rdesc").await;
    ada.expect("] ").await;
    ada.send("Something else entirely.").await;
    ada.expect("] ").await;
    assert_eq!(ada.command("~q").await, "Description thrown away.");
    assert!(ada.command("look").await.contains("Line 1 of the square."));

    // A kick reaches a builder in the middle of a text.
    let mut wes = wide(&server, "Wes", "worldbuilder").await;
    grant_build(&server, "Wes");
    wes.send("/rdesc").await;
    wes.expect("] ").await;
    ada.command("/kick wes enough").await;
    let rest = wes.expect_closed().await;
    assert!(
        rest.contains("You have been kicked from the game: enough"),
        "{rest}"
    );
    // And a shutdown does.
    ada.send("/rdesc").await;
    ada.expect("] ").await;
    server.stop().await;
    let rest = ada.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");
}

#[tokio::test]
async fn rdestroy_and_destroy_take_what_they_remove_from_everyone_who_saw_it() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    let mut pat = wide(&server, "Pat", "player").await;
    assert_eq!(
        ada.command("/rdestroy").await,
        "old_town:lantern_square is the spawn of Lanternfall, so it cannot be destroyed."
    );
    ada.command("/dig d The Cellar").await;
    ada.command("d").await;
    pat.command("d").await;
    let gone = ada.command("/rdestroy").await;
    assert!(
        gone.contains("The room you stood in is gone; you are back at Lantern Square."),
        "{gone}"
    );
    assert!(
        gone.ends_with(
            "Destroyed The Cellar (old_town:the_cellar) and 1 exit(s) to it.\r\n\
             2 player(s) whose room is gone went to the spawn.\r\n\
             Wrote lanternfall/zones/old_town.json."
        ),
        "{gone}"
    );
    pat.expect("The room you stood in is gone; you are back at Lantern Square.")
        .await;
    let town = zone(&worlds, "old_town");
    assert!(town["rooms"].get("the_cellar").is_none());
    assert!(town["rooms"]["lantern_square"]["exits"].get("d").is_none());
    assert!(
        ada.command("/rdestroy")
            .await
            .contains("cannot be destroyed")
    );

    let created = ada.command("/create a brass bell").await;
    assert_eq!(
        created,
        "Created a brass bell (old_town:a_brass_bell); it lies here.\r\n\
         Wrote lanternfall/zones/old_town.json."
    );
    let town = zone(&worlds, "old_town");
    let bell = item(&town, "a_brass_bell").expect("defined in the zone's list of items");
    assert_eq!(bell["name"], "a brass bell");
    let listed = town["rooms"]["lantern_square"]["items"]
        .as_array()
        .expect("items");
    assert_eq!(listed.last().and_then(|v| v.as_str()), Some("a_brass_bell"));
    assert!(pat.command("look").await.contains("a brass bell"));
    assert_eq!(
        ada.command("/iname bell = a cracked brass bell").await,
        "old_town:a_brass_bell is now called a cracked brass bell.\r\n\
         Wrote lanternfall/zones/old_town.json."
    );
    ada.command("/idesc bell It has not rung in years.").await;
    let examined = pat.command("look bell").await;
    assert!(examined.contains("It has not rung in years."), "{examined}");
    ada.command("/create a tin lantern").await;
    ada.command("get lantern").await;
    let destroyed = ada.command("/destroy lantern").await;
    assert!(
        destroyed.contains("A tin lantern you were carrying vanishes."),
        "{destroyed}"
    );
    assert!(destroyed.ends_with("Wrote lanternfall/zones/old_town.json."));
    ada.command("/destroy bell").await;
    pat.expect("A cracked brass bell vanishes.").await;
    assert!(!pat.command("look").await.contains("bell"));
    let town = zone(&worlds, "old_town");
    assert!(item(&town, "a_brass_bell").is_none());
    assert_eq!(
        server.count("SELECT count(*) FROM room_items WHERE item_key LIKE 'old_town:a_%'"),
        0
    );
    assert_check_worlds_passes(&worlds);
    server.stop().await;
}

#[tokio::test]
async fn undo_and_redo_survive_a_restart_and_a_stale_undo_is_refused() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let shipped = files(&worlds);
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    assert_eq!(
        ada.command("/undo").await,
        "You have nothing to undo in Lanternfall."
    );
    ada.command("/dig d The Cellar").await;
    let undone = ada.command("/undo").await;
    assert_eq!(
        undone,
        "Undone: dug The Cellar (old_town:the_cellar) through d.\r\n\
         Wrote lanternfall/zones/old_town.json."
    );
    assert_eq!(
        files(&worlds),
        shipped,
        "the files are back to their own bytes"
    );
    let redone = ada.command("/redo").await;
    assert!(redone.starts_with("Redone: dug The Cellar"), "{redone}");
    ada.command("/zone docks The Docks").await;
    assert!(worlds.join("lanternfall/zones/docks.json").is_file());
    ada.send("quit").await;
    ada.expect_closed().await;
    let built = server.game.world("lanternfall").expect("the world");
    server.stop().await;

    let server = start(dir.path(), &worlds).await;
    let loaded = server.game.world("lanternfall").expect("the world");
    assert_eq!(
        *loaded, *built,
        "a restart loads the same rooms, exits, items and room numbers"
    );
    let mut ada = server.connect().await;
    ada.connect_as("Ada", PASSWORD).await;
    ada.enter("1").await;
    widen(&mut ada).await;
    let undone = ada.command("/undo").await;
    assert!(
        undone.starts_with("Undone: made zone The Docks (docks) with docks:the_docks.")
            && undone.contains("Removed lanternfall/zones/docks.json.")
            && undone.ends_with("Wrote lanternfall/world.json."),
        "{undone}"
    );
    assert!(!worlds.join("lanternfall/zones/docks.json").exists());
    let redone = ada.command("/redo").await;
    assert!(
        redone.ends_with("Wrote lanternfall/zones/docks.json.\r\nWrote lanternfall/world.json."),
        "the new file first, the one listing it last: {redone}"
    );
    assert_eq!(
        ada.command("/redo").await,
        "You have nothing to redo in Lanternfall."
    );
    // Another builder links to the cellar: Ada's undo of it would leave that
    // exit leading nowhere.
    let mut wes = wide(&server, "Wes", "worldbuilder").await;
    grant_build(&server, "Wes");
    wes.command("/link x the_cellar").await;
    ada.command("/undo").await;
    let stale = ada.command("/undo").await;
    assert!(
        stale.starts_with("That change was refused; nothing was written:\r\n  lanternfall/zones/old_town.json: rooms.lantern_square.exits.x: exit leads nowhere"),
        "{stale}"
    );
    assert!(
        zone(&worlds, "old_town")["rooms"]
            .get("the_cellar")
            .is_some()
    );
    assert_check_worlds_passes(&worlds);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_builders_digging_at_once_all_keep_their_rooms() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut builders = Vec::new();
    for n in 0..10 {
        let name = format!("Builder{}", (b'a' + n) as char);
        builders.push(wide(&server, &name, "worldbuilder").await);
        grant_build(&server, &name);
    }
    for builder in &mut builders {
        builder.skip_shown_prompts();
    }
    let sends = builders
        .iter_mut()
        .enumerate()
        .map(|(n, builder)| (builder, format!("/dig vault{n} Vault {n}")))
        .collect();
    send_together(sends).await;
    for (n, builder) in builders.iter_mut().enumerate() {
        let reply = builder.expect("\r\n> ").await;
        assert!(
            reply.contains(&format!(
                "Dug Vault {n} (old_town:vault_{n}): exit vault{n}."
            )),
            "{reply}"
        );
    }
    let town = zone(&worlds, "old_town");
    for n in 0..10 {
        assert_eq!(
            town["rooms"][format!("vault_{n}")]["name"],
            format!("Vault {n}")
        );
        assert_eq!(
            town["rooms"]["lantern_square"]["exits"][format!("vault{n}")],
            format!("vault_{n}")
        );
    }
    assert_check_worlds_passes(&worlds);
    assert_eq!(build_rows(&server).len(), 10);
    server.stop().await;
}

#[tokio::test]
async fn a_file_edited_by_hand_is_not_overwritten_until_reloaded() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    let file = worlds.join("lanternfall/zones/old_town.json");
    let by_hand = std::fs::read_to_string(&file)
        .expect("read")
        .replace("Lantern Square", "Lamp Square");
    std::fs::write(&file, &by_hand).expect("a hand edit");
    assert_eq!(
        ada.command("/rname The Square").await,
        "lanternfall/zones/old_town.json was changed on disk; /reload first."
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), by_hand);
    assert!(build_rows(&server).is_empty());
    ada.command("/reload").await;
    assert_eq!(
        ada.command("look").await.lines().next(),
        Some("Lamp Square")
    );
    let renamed = ada.command("/rname The Square").await;
    assert!(
        renamed.starts_with("This room is now called The Square."),
        "{renamed}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_crash_between_the_temporary_file_and_the_rename_leaves_the_old_file_and_the_server_starts()
 {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let zones = worlds.join("lanternfall/zones");
    // What a crash after the temporary file was written and before the
    // rename leaves: the old file, and half a new one beside it.
    let before = std::fs::read(zones.join("old_town.json")).expect("read");
    std::fs::write(
        zones.join(".old_town.json.tmp"),
        &before[..before.len() / 2],
    )
    .expect("tmp");
    assert_check_worlds_passes(&worlds);
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    assert!(ada.command("look").await.starts_with("Lantern Square"));
    assert_eq!(
        std::fs::read(zones.join("old_town.json")).expect("read"),
        before,
        "the old file is intact"
    );
    let dug = ada.command("/dig d The Cellar").await;
    assert!(
        dug.ends_with("Wrote lanternfall/zones/old_town.json."),
        "{dug}"
    );
    assert!(
        !zones.join(".old_town.json.tmp").exists(),
        "the leftover is gone"
    );
    assert_check_worlds_passes(&worlds);
    server.stop().await;
}

#[tokio::test]
async fn a_write_that_fails_changes_nothing_anywhere() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    let before = files(&worlds);
    // `/zone` writes the new zone file, then world.json; a folder where
    // world.json's temporary file goes makes the second write fail.
    let blocker = worlds.join("lanternfall/.world.json.tmp");
    std::fs::create_dir(&blocker).expect("block the temporary file");
    let refused = ada.command("/zone docks The Docks").await;
    assert!(
        refused.starts_with(
            "The world files could not be written (cannot write lanternfall/world.json"
        ),
        "{refused}"
    );
    assert!(refused.ends_with("; nothing was changed."), "{refused}");
    std::fs::remove_dir(&blocker).expect("unblock");
    assert_eq!(
        files(&worlds),
        before,
        "the zone file written first was taken back"
    );
    assert!(build_rows(&server).is_empty(), "no audit row");
    assert!(
        ada.command("/goto docks:the_docks")
            .await
            .starts_with("There is no room"),
        "the world in play did not change"
    );
    let made = ada.command("/zone docks The Docks").await;
    assert!(made.ends_with("Wrote lanternfall/world.json."), "{made}");
    server.stop().await;
}

#[tokio::test]
async fn room_info_goes_again_to_players_in_a_room_whose_exits_changed() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    let mut mapper = server.connect().await;
    mapper.expect("Account: ").await;
    let mut hello = vec![IAC, DO, GMCP];
    hello.extend(gmcp(r#"Core.Supports.Set ["Room 1"]"#));
    mapper.send_raw(&hello).await;
    mapper.send(&format!("create Mapper {PASSWORD}")).await;
    mapper.expect("Character: ").await;
    mapper.enter("1").await;
    let square = mapper.expect_gmcp("Room.Info").await;
    assert!(square["exits"].get("u").is_none());
    ada.command("/link up quayside:harbour_gate").await;
    let again = mapper.expect_gmcp("Room.Info").await;
    assert_eq!(again["id"], "old_town:lantern_square");
    let gate_num = gaslamp::world::room_number(
        "lanternfall",
        &gaslamp::world::RoomId::new("quayside", "harbour_gate"),
    );
    assert_eq!(
        again["exits"]["u"], gate_num,
        "the new exit, by the room's number"
    );
    assert_eq!(
        again["exits"]["n"], square["exits"]["n"],
        "the others as they were"
    );
    // A new room gets its stable number.
    ada.command("/dig d The Cellar").await;
    let dug = mapper.expect_gmcp("Room.Info").await;
    let cellar_num = gaslamp::world::room_number(
        "lanternfall",
        &gaslamp::world::RoomId::new("old_town", "the_cellar"),
    );
    assert_eq!(dug["exits"]["d"], cellar_num);
    server.stop().await;
}

fn gmcp(message: &str) -> Vec<u8> {
    let mut bytes = vec![IAC, SB, GMCP];
    bytes.extend_from_slice(message.as_bytes());
    bytes.extend_from_slice(&[IAC, SE]);
    bytes
}

#[tokio::test]
async fn a_hand_written_world_is_normalised_on_its_first_build_and_the_reply_says_so() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    copy_dir(&fixture_worlds(), &worlds);
    let server = start(dir.path(), &worlds).await;
    let mut ada = wide(&server, "Ada", "admin").await;
    let first = ada.command("/rname The Very Spawn").await;
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 3, "{first}");
    assert!(lines[1].contains("was in another layout"), "{first}");
    assert!(
        lines[2].starts_with("Wrote daily_undertaking/zones/"),
        "{first}"
    );
    let second = ada.command("/rname The Spawn").await;
    assert!(!second.contains("another layout"), "{second}");
    let (code, text) = check_worlds(&worlds);
    assert_eq!(code, 0, "{text}");
    server.stop().await;
}

#[tokio::test]
async fn goto_and_teleport_answer_an_unknown_room_with_the_nearest_ids() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let server = start(dir.path(), &worlds).await;
    let mut wes = wide(&server, "Wes", "worldbuilder").await;
    let went = wes.command("/goto clocktower_bas").await;
    assert!(
        went.starts_with(
            "There is no room \"clocktower_bas\" in Lanternfall. Nearest: old_town:clocktower_base"
        ),
        "{went}"
    );
    let sent = wes.command("/teleport wes belfr").await;
    assert!(
        sent.contains("Nearest: old_town:clocktower_belfry"),
        "{sent}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_killed_while_building_restarts_on_files_that_load() {
    let dir = temp_dir();
    let worlds = worlds_in(dir.path());
    let db = dir.path().join("gaslamp.db");
    let admin = [
        ("MUD_ADMIN_USER", "Builder"),
        ("MUD_ADMIN_PASSWORD", PASSWORD),
    ];
    let server = crate::crash::start_in(&db, &worlds, &admin).await;
    let mut builder = Client::connect(server.addr).await;
    builder.connect_as("Builder", PASSWORD).await;
    builder.enter("1").await;
    widen(&mut builder).await;
    for n in 0..5 {
        let dug = builder
            .command(&format!("/dig kept{n} Kept Room {n}"))
            .await;
        assert!(
            dug.ends_with("Wrote lanternfall/zones/old_town.json."),
            "{dug}"
        );
    }
    // Twenty more at once, and SIGKILL as soon as the first is answered:
    // the rest are in flight, between a temporary file and its rename, or
    // between the rename and the commit.
    let burst: String = (0..20)
        .map(|n| format!("/dig lost{n} Lost Room {n}\r\n"))
        .collect();
    builder.send_raw(burst.as_bytes()).await;
    builder.expect("Dug Lost Room 0").await;
    server.kill().await;
    assert_check_worlds_passes(&worlds);
    let town = zone(&worlds, "old_town");
    for n in 0..5 {
        assert_eq!(
            town["rooms"][format!("kept_room_{n}")]["name"],
            format!("Kept Room {n}")
        );
    }
    assert_eq!(
        town["rooms"]["lost_room_0"]["name"], "Lost Room 0",
        "it was answered"
    );
    let again = crate::crash::start_in(&db, &worlds, &[]).await;
    let mut builder = Client::connect(again.addr).await;
    builder.connect_as("Builder", PASSWORD).await;
    builder.enter("1").await;
    widen(&mut builder).await;
    let dug = builder.command("/dig after After The Crash").await;
    assert!(
        dug.ends_with("Wrote lanternfall/zones/old_town.json."),
        "{dug}"
    );
    assert_check_worlds_passes(&worlds);
    again.kill().await;
}
