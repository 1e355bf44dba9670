//! The predecessor's worlds load unchanged and play (SPEC §7).

use gaslamp::ServerConfig;

use crate::support::*;

fn fixture_config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        default_world: Some("daily_undertaking".into()),
        ..ServerConfig::for_tests(dir.join("gaslamp.db"), fixture_worlds())
    }
}

#[tokio::test]
async fn the_fixture_world_loads_and_its_cross_zone_exits_work() {
    let dir = temp_dir();
    let server = TestServer::start_with(fixture_config(dir.path())).await;
    assert_eq!(
        server.count(
            "SELECT count(*) FROM worlds WHERE id IN ('daily_undertaking', 'pipeworks_web')"
        ),
        2
    );
    assert_eq!(
        server.count("SELECT count(*) FROM room_items WHERE world_id = 'daily_undertaking'"),
        16
    );
    let mut c = server.connect().await;
    c.create("Ivy", PASSWORD).await;
    let entered = c.enter("1").await;
    assert!(entered.contains("The Crooked Pipe"), "{entered}");
    assert!(entered.contains("Exits: north, west, down."), "{entered}");
    assert!(entered.contains("Battered Ale Mug"), "{entered}");
    let street = c.command("west").await;
    assert!(
        street.starts_with("Cobbled Street") || street.contains("Cobbled"),
        "{street}"
    );
    let back = c.command("go south").await;
    assert!(back.starts_with("The Crooked Pipe"), "{back}");
    let lamp = c.command("look mug").await;
    assert!(lamp.contains("dented pewter mug"), "{lamp}");
    server.stop().await;
}

#[tokio::test]
async fn the_fixture_zones_spawn_rooms_are_distinct() {
    let dir = temp_dir();
    let server = TestServer::start_with(fixture_config(dir.path())).await;
    let world = server.game.world("daily_undertaking").expect("world");
    assert_eq!(world.zones.len(), 6);
    assert_eq!(world.room_count(), 27);
    let pub_spawn = world.resolve_room("crooked_pipe:spawn", None).expect("pub");
    let garden_spawn = world
        .resolve_room("the_north_gardens:spawn", None)
        .expect("garden");
    assert_ne!(
        world.room(&pub_spawn).map(|r| &r.name),
        world.room(&garden_spawn).map(|r| &r.name)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_broken_world_stops_the_server_from_starting() {
    let dir = temp_dir();
    write_broken_world(&dir.path().join("worlds"), "nowhere");
    let config = ServerConfig::for_tests(dir.path().join("g.db"), dir.path().join("worlds"));
    let err = match gaslamp::Server::start(config).await {
        Ok(_) => panic!("an invalid world must not start"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("z.json"), "{err}");
    assert!(err.contains("north"), "{err}");
    assert!(err.contains("world.json"), "{err}");
}

// ---- a small world with the mistakes check-worlds warns about ----

/// World `w`: zone `z` with a spawn `a` whose exits are written `North` and
/// `Trapdoor`; `b` leads back; `c` has no way out (its exits are misspelt
/// `exitz`); nothing leads to `d`. `world.json` misspells `access` as
/// `acess`. The zone defines a lamp, placed in `b`.
fn write_warning_world(worlds_dir: &std::path::Path) {
    write_world(
        worlds_dir,
        "w",
        r#"{
  "name": "Warnings",
  "description": "A world with mistakes that load.",
  "default_spawn": {"zone": "z", "room": "a"},
  "zones": ["z"],
  "acess": "invite"
}
"#,
        &[("z", WARNING_ZONE)],
    );
}

const WARNING_ZONE: &str = r#"{
  "id": "z",
  "name": "Zed",
  "description": "Rooms.",
  "spawn_room": "a",
  "rooms": {
    "a": {"name": "Hall", "description": "A hall.", "exits": {"North": "b", "Trapdoor": "c"}},
    "b": {"name": "Loft", "description": "A loft.", "exits": {"south": "a"}, "items": ["lamp"]},
    "c": {"name": "Pit", "description": "A pit.", "exitz": {"up": "a"}},
    "d": {"name": "Attic", "description": "An attic.", "exits": {"out": "a"}}
  },
  "items": {"lamp": {"name": "a lamp", "description": "Brass."}}
}
"#;

/// Runs the real binary with only the environment given.
fn run_binary(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

#[test]
fn check_worlds_warns_about_unknown_keys_dead_ends_and_rooms_nothing_leads_to() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    write_warning_world(&worlds);
    let out = run_binary(&["--worlds", &worlds.to_string_lossy(), "check-worlds"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 world(s) OK."), "{stdout}");
    let warning = |file: &str, field: &str, words: &str| {
        stderr.lines().any(|line| {
            line.starts_with("warning: ")
                && line.contains(file)
                && line.contains(&format!(": {field}: "))
                && line.contains(words)
        })
    };
    assert!(
        warning("world.json", "acess", "did you mean \"access\"?"),
        "{stderr}"
    );
    assert!(
        warning("z.json", "rooms.c.exitz", "did you mean \"exits\"?"),
        "{stderr}"
    );
    assert!(warning("z.json", "rooms.c", "no way out"), "{stderr}");
    assert!(
        warning("z.json", "rooms.d", "nothing leads here"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("rooms.a:"),
        "the spawn room needs nothing leading to it: {stderr}"
    );
    assert!(stderr.contains("4 warning(s)."), "{stderr}");
}

#[tokio::test]
async fn the_server_logs_world_warnings_when_it_starts() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    write_warning_world(&worlds);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--bcrypt-cost", "4", "--log-level", "info", "--db"])
        .arg(dir.path().join("gaslamp.db"))
        .arg("--worlds")
        .arg(&worlds)
        .args(["run", "--bind", "127.0.0.1:0", "--web-bind", "off"])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("gaslamp starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(line)) = lines.next_line().await {
            let listening = line.contains("listening");
            seen.push(line);
            if listening {
                return;
            }
        }
    })
    .await;
    let _ = child.kill().await;
    assert!(read.is_ok(), "no listening line in time: {seen:#?}");
    let warned = seen
        .iter()
        .any(|line| line.contains("WARN") && line.contains("rooms.c.exitz"));
    assert!(warned, "{seen:#?}");
}

fn warning_config(dir: &std::path::Path) -> ServerConfig {
    let worlds = dir.join("worlds");
    write_warning_world(&worlds);
    ServerConfig::for_tests(dir.join("gaslamp.db"), worlds)
}

#[tokio::test]
async fn exit_names_keep_the_case_they_were_written_in() {
    let dir = temp_dir();
    let server = TestServer::start_with(warning_config(dir.path())).await;
    let mut c = server.connect().await;
    c.create("Ivy", PASSWORD).await;
    let entered = c.enter("1").await;
    // Directions in one form (long, lowercase); other exits as written.
    assert!(entered.contains("Exits: north, Trapdoor."), "{entered}");
    let loft = c.command("north").await;
    assert!(loft.starts_with("Loft"), "{loft}");
    c.command("s").await;
    let pit = c.command("go trap").await;
    assert!(pit.starts_with("Pit"), "{pit}");
    server.stop().await;
}

/// The audit rows of `/reload` as (action, detail), oldest first.
fn reload_rows(server: &TestServer) -> Vec<(String, Option<String>)> {
    let db = server.db();
    let mut stmt = db
        .prepare("SELECT action, detail FROM audit_log WHERE action LIKE 'reload%' ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn a_reload_audits_failure_and_success_apart_and_tells_the_warnings() {
    let dir = temp_dir();
    let server = TestServer::start_with(warning_config(dir.path())).await;
    let mut wes = server.player_with_role("Wes", "worldbuilder").await;
    let zone_file = dir.path().join("worlds/w/zones/z.json");
    std::fs::write(&zone_file, "{ not json").expect("break the zone");
    let refused = wes.command("/reload").await;
    assert!(
        refused.starts_with("The worlds were not reloaded;"),
        "{refused}"
    );
    std::fs::write(&zone_file, WARNING_ZONE).expect("mend the zone");
    let done = wes.command("/reload").await;
    assert!(done.starts_with("Worlds reloaded: "), "{done}");
    // The reply is wrapped at the client's width.
    let words = done.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("4 warning(s):"), "{done}");
    assert!(
        words.contains("w/zones/z.json: rooms.c.exitz: unknown key \"exitz\""),
        "{done}"
    );
    assert!(words.contains("did you mean \"exits\"?"), "{done}");
    let rows = reload_rows(&server);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "reload");
    let failed = rows[0].1.as_deref().unwrap_or("");
    assert!(failed.starts_with("failed: "), "{rows:?}");
    assert!(failed.contains("z.json"), "{rows:?}");
    let ok = rows[1].1.as_deref().unwrap_or("");
    assert!(ok.starts_with("ok: 1 world(s), 4 room(s)"), "{rows:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_placement_added_to_a_world_file_is_placed_at_the_next_reload_once() {
    let dir = temp_dir();
    let server = TestServer::start_with(warning_config(dir.path())).await;
    let lamps_in = |room: &str| {
        server.count(&format!(
            "SELECT count(*) FROM room_items WHERE world_id = 'w' AND room = 'z:{room}' \
             AND item_key = 'z:lamp'"
        ))
    };
    assert_eq!((lamps_in("a"), lamps_in("b")), (0, 1));
    let mut wes = server.player_with_role("Wes", "worldbuilder").await;
    let zone_file = dir.path().join("worlds/w/zones/z.json");
    let with_two = WARNING_ZONE.replace(
        r#""exits": {"North": "b", "Trapdoor": "c"}}"#,
        r#""exits": {"North": "b", "Trapdoor": "c"}, "items": ["lamp", "lamp"]}"#,
    );
    assert_ne!(with_two, WARNING_ZONE);
    std::fs::write(&zone_file, &with_two).expect("place two lamps in a");
    let done = wes.command("/reload").await;
    assert!(done.starts_with("Worlds reloaded: "), "{done}");
    assert_eq!((lamps_in("a"), lamps_in("b")), (2, 1));
    let look = wes.command("look").await;
    assert!(look.contains("a lamp"), "{look}");
    // The same placements are not placed again, and taking one away from the
    // file takes nothing out of the world.
    wes.command("/reload").await;
    assert_eq!(lamps_in("a"), 2);
    let with_one = WARNING_ZONE.replace(
        r#""exits": {"North": "b", "Trapdoor": "c"}}"#,
        r#""exits": {"North": "b", "Trapdoor": "c"}, "items": ["lamp"]}"#,
    );
    std::fs::write(&zone_file, &with_one).expect("one lamp in a");
    wes.command("/reload").await;
    assert_eq!(lamps_in("a"), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_reload_that_would_strand_a_player_in_a_vanished_world_is_audited_as_failed() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    write_warning_world(&worlds);
    let server = TestServer::start_with(ServerConfig::for_tests(
        dir.path().join("gaslamp.db"),
        worlds.clone(),
    ))
    .await;
    // The first world by id, lanternfall, is where new characters start.
    let mut wes = server.player_with_role("Wes", "worldbuilder").await;
    std::fs::remove_dir_all(worlds.join("lanternfall")).expect("remove a world");
    let refused = wes.command("/reload").await;
    // The reply is wrapped at the client's width.
    assert_eq!(
        refused.split_whitespace().collect::<Vec<_>>().join(" "),
        "The worlds were not reloaded: world lanternfall is gone but Wes is playing in it."
    );
    assert!(
        server.game.world("lanternfall").is_some(),
        "nothing changed"
    );
    let rows = reload_rows(&server);
    assert_eq!(
        rows,
        [(
            "reload".to_string(),
            Some("failed: world lanternfall is gone but Wes is playing in it".to_string())
        )]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_builder_demoted_meanwhile_cannot_reload_and_leaves_no_row() {
    let dir = temp_dir();
    let server = TestServer::start_with(warning_config(dir.path())).await;
    let mut wes = server.player_with_role("Wes", "worldbuilder").await;
    // Changed in the database only: the session still believes the old role,
    // so only the store's fresh read can refuse.
    server.set_role("Wes", "player");
    let refused = wes.command("/reload").await;
    assert_eq!(refused, "You don't have permission to use /reload.");
    assert_eq!(reload_rows(&server), []);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reloads_at_once_place_a_new_placement_once() {
    let dir = temp_dir();
    let server = TestServer::start_with(warning_config(dir.path())).await;
    let mut wes = server.player_with_role("Wes", "worldbuilder").await;
    let mut ada = server.player_with_role("Ada", "worldbuilder").await;
    let zone_file = dir.path().join("worlds/w/zones/z.json");
    let with_lamp = WARNING_ZONE.replace(
        r#""exits": {"North": "b", "Trapdoor": "c"}}"#,
        r#""exits": {"North": "b", "Trapdoor": "c"}, "items": ["lamp"]}"#,
    );
    std::fs::write(&zone_file, &with_lamp).expect("a lamp in a");
    send_together(vec![
        (&mut wes, "/reload".to_string()),
        (&mut ada, "/reload".to_string()),
    ])
    .await;
    for builder in [&mut wes, &mut ada] {
        builder.expect("Worlds reloaded: ").await;
    }
    let lamps =
        server.count("SELECT count(*) FROM room_items WHERE room = 'z:a' AND item_key = 'z:lamp'");
    assert_eq!(lamps, 1);
    let rows = reload_rows(&server);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|(_, detail)| detail.as_deref().is_some_and(|d| d.starts_with("ok: ")))
    );
    server.stop().await;
}
