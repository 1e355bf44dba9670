//! Account protection and lifecycle (SPEC §3, §6): lockout, guests, world access,
//! the in-game `password` and `characters` commands, `/reload`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use gaslamp::ServerConfig;
use gaslamp::config::LockoutPolicy;

use crate::support::*;

/// An address the tests' accounts never logged in from: a stranger's.
const AWAY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

async fn wrong_login(c: &mut Client, account: &str) -> String {
    c.expect("Account: ").await;
    c.send(&format!("connect {account} definitely-not-it"))
        .await;
    c.expect(".").await
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_back_off_ends() {
    let dir = temp_dir();
    let config = ServerConfig {
        lockout: LockoutPolicy {
            threshold: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        },
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut c = server.connect().await;
    c.create("Lou", PASSWORD).await;
    // The guesses come from an address Lou never logged in from: a
    // stranger's, counted on the account's row. Three failures end a
    // connection, so five take two connections.
    let mut c = Client::connect_from(server.addr, AWAY).await;
    for _ in 0..3 {
        assert!(
            wrong_login(&mut c, "Lou")
                .await
                .contains("Wrong account name or password")
        );
    }
    c.expect_closed().await;
    let mut c = Client::connect_from(server.addr, AWAY).await;
    for _ in 0..2 {
        assert!(
            wrong_login(&mut c, "Lou")
                .await
                .contains("Wrong account name or password")
        );
    }
    c.expect("Account: ").await;
    c.send(&format!("connect Lou {PASSWORD}")).await;
    let locked = c.expect_closed().await;
    assert!(
        locked.contains("Too many failed logins; try again later."),
        "{locked}"
    );
    // A failure is counted behind its answer, under the account's login lock;
    // the attempt just refused waited for that lock, so the count is written.
    assert_eq!(
        server.count("SELECT failed_attempts FROM users WHERE username = 'Lou'"),
        5
    );
    // The lock lasts the base back-off (one second here) from the fifth failure.
    let until_text: String = server
        .db()
        .query_row(
            "SELECT lockout_until FROM users WHERE username = 'Lou'",
            [],
            |r| r.get(0),
        )
        .expect("locked until");
    let until = chrono::DateTime::parse_from_rfc3339(&until_text).expect("timestamp");
    let left = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        left > chrono::Duration::zero() && left <= chrono::Duration::seconds(1),
        "locked until {until_text}"
    );
    // Rather than wait for that second to pass, its end is moved to just now:
    // the server reads the lock fresh at the next attempt.
    let past = gaslamp::store::iso(chrono::Utc::now() - chrono::Duration::milliseconds(1));
    server
        .db()
        .execute(
            "UPDATE users SET lockout_until = ?1 WHERE username = 'Lou'",
            [past],
        )
        .expect("end the lock");
    let mut c = Client::connect_from(server.addr, AWAY).await;
    c.connect_as("Lou", PASSWORD).await;
    assert_eq!(
        server.count("SELECT failed_attempts FROM users WHERE username = 'Lou'"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_accounts_never_lock_anything() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    for _ in 0..3 {
        assert!(
            wrong_login(&mut c, "Nobody")
                .await
                .contains("Wrong account name or password")
        );
    }
    assert_eq!(server.count("SELECT count(*) FROM users"), 0);
    server.stop().await;
}

#[tokio::test]
async fn expired_guests_are_closed_deleted_and_their_characters_kept() {
    let dir = temp_dir();
    let config = ServerConfig {
        guest_ttl: Duration::from_secs(1),
        upkeep_interval: Duration::from_millis(200),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut g = server.connect().await;
    g.expect("Account: ").await;
    g.send("guest").await;
    g.expect("Character name: ").await;
    g.send("Visitor").await;
    g.expect("it expires in 1 hour.").await;
    g.expect("\r\n> ").await;
    let rest = g.expect_closed().await;
    assert!(rest.contains("Your guest account has expired."), "{rest}");
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE is_guest = 1"),
        0
    );
    assert_eq!(
        server.count("SELECT count(*) FROM characters WHERE name = 'Visitor' AND user_id IS NULL"),
        1
    );
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 0);
    server.stop().await;
}

#[tokio::test]
async fn accounts_banned_from_the_shell_are_closed_by_the_server() {
    let dir = temp_dir();
    let config = ServerConfig {
        upkeep_interval: Duration::from_millis(200),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.player_with_role("Pat", "player").await;
    // What `gaslamp user ban` does: a write to the database, nothing else.
    server
        .db()
        .execute("UPDATE users SET is_active = 0 WHERE username = 'Pat'", [])
        .expect("ban");
    assert!(p.expect_closed().await.contains("This account is banned."));
    server.stop().await;
}

/// The upkeep job used to close every connection of an account it could not
/// find standing with "This account is banned.", also when the account was
/// deleted: the player was told something that had not happened.
#[tokio::test]
async fn an_account_deleted_outside_the_game_is_told_it_was_deleted_not_banned() {
    let dir = temp_dir();
    let config = ServerConfig {
        upkeep_interval: Duration::from_millis(200),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut pat = server.player_with_role("Pat", "player").await;
    let mut sam = server.player_with_role("Sam", "player").await;
    // What another gaslamp on the same file writes for `/delete`, and for a
    // guest its upkeep removed: nothing this server was told about.
    server
        .db()
        .execute(
            "UPDATE users SET tombstoned_at = '2026-01-01T00:00:00.000Z', is_active = 0 \
             WHERE username = 'Pat'",
            [],
        )
        .expect("tombstone");
    server
        .db()
        .execute_batch(
            "UPDATE characters SET user_id = NULL WHERE user_id = \
                 (SELECT id FROM users WHERE username = 'Sam');
             DELETE FROM users WHERE username = 'Sam';",
        )
        .expect("remove");
    for c in [&mut pat, &mut sam] {
        let last = c.expect_closed().await;
        assert!(last.contains("This account has been deleted."), "{last}");
        assert!(!last.contains("banned"), "{last}");
    }
    server.stop().await;
}

#[tokio::test]
async fn characters_goes_back_to_the_menu_and_password_changes_it() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut watcher = server.player_with_role("Wyn", "player").await;
    let mut p = server.player_with_role("Pat", "player").await;
    watcher.expect("Pat arrives.").await;
    p.send("characters").await;
    let menu = p.expect("Character: ").await;
    assert!(menu.contains("Characters of Pat in"), "{menu}");
    watcher.expect("Pat leaves the game.").await;
    assert_eq!(
        server.count("SELECT count(*) FROM sessions WHERE character_id IS NULL"),
        1
    );
    p.enter("1").await;
    // The old password is checked before a new one is asked for.
    p.send("password").await;
    p.expect("Old password: ").await;
    p.send("not my password at all").await;
    let refused = p.expect("\r\n> ").await;
    assert!(
        refused.contains("That is not your current password."),
        "{refused}"
    );
    assert!(!refused.contains("New password: "), "{refused}");
    p.send("password").await;
    p.expect("Old password: ").await;
    p.send(PASSWORD).await;
    p.expect("New password: ").await;
    p.send("lamplight over water").await;
    p.expect("Repeat password: ").await;
    p.send("lamplight over water").await;
    p.expect("Password changed.").await;
    let mut again = server.connect().await;
    again.connect_as("Pat", "lamplight over water").await;
    server.stop().await;
}

/// A copy of the shipped worlds plus a small invite-only one, in `dir/worlds`.
fn worlds_with_a_private_one(dir: &std::path::Path) -> std::path::PathBuf {
    let worlds = dir.join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    write_world(
        &worlds,
        "zz_private",
        r#"{"name": "The Private Club", "description": "Members only.", "access": "invite",
            "default_spawn": {"zone": "club", "room": "hall"}, "zones": ["club"]}"#,
        &[(
            "club",
            r#"{"id": "club", "name": "Club", "description": "", "spawn_room": "hall",
                "rooms": [{"id": "hall", "name": "Club Hall", "description": "Leather chairs.", "exits": {}}]}"#,
        )],
    );
    worlds
}

#[tokio::test]
async fn invite_only_worlds_need_a_grant_and_admins_enter_anyway() {
    let dir = temp_dir();
    let config = ServerConfig {
        worlds_dir: worlds_with_a_private_one(dir.path()),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.connect().await;
    p.create("Pat", PASSWORD).await;
    p.send("worlds").await;
    let list = p.expect("Character: ").await;
    assert!(
        list.contains("zz_private") && list.contains("invitation only"),
        "{list}"
    );
    p.send("world zz_private").await;
    assert!(
        p.expect("Character: ")
            .await
            .contains("The Private Club is open by invitation only.")
    );
    let mut admin = server.player_with_role("Ada", "admin").await;
    assert_eq!(
        admin.command("/grant Pat zz_private").await,
        "Pat may now enter The Private Club."
    );
    p.send("world zz_private").await;
    let menu = p.expect("Character: ").await;
    assert!(
        menu.contains("Characters of Pat in The Private Club:"),
        "{menu}"
    );
    p.send("new Patricia").await;
    assert!(p.expect("> ").await.contains("Club Hall"));
    admin.command("/revoke Pat zz_private").await;
    assert_eq!(
        server.count("SELECT count(*) FROM world_permissions WHERE can_access = 0"),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn the_character_slot_limit_holds() {
    let dir = temp_dir();
    let config = ServerConfig {
        character_slots: 2,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.connect().await;
    p.create("Pat", PASSWORD).await;
    p.send("new Second").await;
    p.expect("> ").await;
    p.send("characters").await;
    p.expect("Character: ").await;
    p.send("new Third").await;
    let refused = p.expect("Character: ").await;
    assert!(
        refused.contains("You already have 2 characters"),
        "{refused}"
    );
    server.stop().await;
}

#[tokio::test]
async fn reload_picks_up_changed_worlds_and_rescues_stranded_players() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let config = ServerConfig {
        worlds_dir: worlds.clone(),
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let mut builder = server.player_with_role("Wes", "worldbuilder").await;
    // Break a file: the reload is refused and nothing changes.
    let world = server.game.default_world();
    let zone = world.zones.last().expect("zone");
    let zones_dir = worlds.join(&world.id).join("zones");
    let zone_file = zones_dir.join(format!("{}.json", zone.id));
    let original = std::fs::read_to_string(&zone_file).expect("zone file");
    std::fs::write(&zone_file, "{ not json").expect("break");
    let refused = builder.command("/reload").await;
    assert!(
        refused.starts_with("The worlds were not reloaded;"),
        "{refused}"
    );
    // Rename a room the player stands in: the player is sent to spawn.
    std::fs::write(&zone_file, &original).expect("restore");
    let spot = zone.spawn.clone();
    builder.command(&format!("/teleport pat {spot}")).await;
    p.expect("Wes moves you elsewhere.").await;
    // Rename the room everywhere it is named: its own id and every exit to it
    // (`"room"` and `"zone:room"` both end in `room"`).
    for file in std::fs::read_dir(&zones_dir).expect("zones") {
        let path = file.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let renamed = text
            .replace(&format!("\"{}\"", spot.local()), "\"renamed_room\"")
            .replace(&format!(":{}\"", spot.local()), ":renamed_room\"");
        std::fs::write(&path, renamed).expect("rename");
    }
    let done = builder.command("/reload").await;
    assert!(done.contains("1 player(s) sent to spawn."), "{done}");
    let spawn_name = &world.room(&world.default_spawn).expect("spawn").name;
    p.expect(spawn_name).await;
    server.stop().await;
}

#[tokio::test]
async fn sessions_slide_while_used_and_expire_when_not() {
    let dir = temp_dir();
    // Commands come as fast as the server answers: the rate limit is raised.
    let config = ServerConfig {
        session_ttl: Duration::from_millis(1200),
        upkeep_interval: Duration::from_millis(100),
        commands_per_second: 100_000,
        command_burst: 100_000,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let expiry = || -> String {
        server
            .db()
            .query_row("SELECT expires_at FROM sessions", [], |r| r.get(0))
            .expect("session row")
    };
    let first_expiry = expiry();
    let first = chrono::DateTime::parse_from_rfc3339(&first_expiry).expect("timestamp");
    // Busy past the first expiry, command after command: each one slides it, so
    // the session outlives the time it was first given.
    while chrono::Utc::now() < first + chrono::Duration::milliseconds(300) {
        assert!(p.command("look").await.contains("Exits:"));
    }
    server.game.writer().flush().await.expect("flush");
    assert!(expiry() > first_expiry, "the expiry slid forward");
    // Then silence: the upkeep job removes the row and closes the connection.
    let rest = p.expect_closed().await;
    assert!(rest.contains("Your session has expired."), "{rest}");
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 0);
    server.stop().await;
}

#[tokio::test]
async fn an_inactive_world_is_refused_with_its_reason() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    write_world(
        &worlds,
        "zz_closed",
        r#"{"name": "The Old Mill", "description": "", "active": false,
            "inactive_reason": "the mill wheel is being rebuilt",
            "default_spawn": {"zone": "mill", "room": "yard"}, "zones": ["mill"]}"#,
        &[(
            "mill",
            r#"{"id": "mill", "name": "Mill", "description": "", "spawn_room": "yard",
                "rooms": [{"id": "yard", "name": "Mill Yard", "description": "Quiet.", "exits": {}}]}"#,
        )],
    );
    let config = ServerConfig {
        worlds_dir: worlds,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut p = server.connect().await;
    p.create("Pat", PASSWORD).await;
    p.send("world zz_closed").await;
    let refused = p.expect("Character: ").await;
    assert!(
        refused.contains("The Old Mill is closed: the mill wheel is being rebuilt"),
        "{refused}"
    );
    let mut root = server.player_with_role("Root", "superuser").await;
    root.send("characters").await;
    root.expect("Character: ").await;
    root.send("world zz_closed").await;
    assert!(
        root.expect("Character: ")
            .await
            .contains("Characters of Root in The Old Mill:")
    );
    server.stop().await;
}
