//! What survives a restart (SPEC §9).

use crate::support::*;

#[tokio::test]
async fn characters_are_where_they_were_left_after_a_restart() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Gil", PASSWORD).await;
    let first = c.enter("1").await;
    let exit = first
        .lines()
        .find(|l| l.starts_with("Exits: "))
        .and_then(|l| {
            l.trim_start_matches("Exits: ")
                .trim_end_matches('.')
                .split(", ")
                .next()
                .map(str::to_string)
        })
        .expect("an exit");
    let moved = c.command(&exit).await;
    let room_name = moved.lines().next().expect("room name").to_string();
    c.command("say before the restart").await;
    // Stop with the player still connected, as Ctrl-C would.
    server.stop().await;
    let rest = c.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");

    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.connect_as("Gil", PASSWORD).await;
    let menu = c.all_text();
    assert!(menu.contains(&format!("(last seen {room_name})")), "{menu}");
    let entered = c.enter("1").await;
    assert!(entered.contains(&room_name), "{entered}");
    assert_eq!(
        server.count("SELECT count(*) FROM chat_messages WHERE message = 'before the restart'"),
        1
    );
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 1);
    server.stop().await;
}

#[tokio::test]
async fn stale_sessions_from_a_crash_are_removed_at_start() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Hal", PASSWORD).await;
    server.stop().await;
    // Simulate a crash's leftovers.
    let db = rusqlite::Connection::open(dir.path().join("gaslamp.db")).expect("db");
    db.execute(
        "INSERT INTO sessions (session_id, user_id, peer_address, created_at, last_activity, \
         expires_at) VALUES ('stale', 1, '127.0.0.1:1', '', '', '')",
        [],
    )
    .expect("insert");
    drop(db);
    let server = TestServer::start(dir.path()).await;
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 0);
    server.stop().await;
}
