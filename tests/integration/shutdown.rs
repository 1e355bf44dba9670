//! Graceful shutdown (SPEC §10): everyone told, writer drained, sessions removed.

use crate::support::*;

#[tokio::test]
async fn shutdown_tells_everyone_drains_the_writer_and_removes_sessions() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut players = Vec::new();
    for name in ["Nan", "Oli", "Pip"] {
        let mut c = server.connect().await;
        c.create(name, PASSWORD).await;
        c.enter("1").await;
        players.push(c);
    }
    for (n, c) in players.iter_mut().enumerate() {
        for line in 0..30 {
            c.send(&format!("say line {line} from {n}")).await;
        }
    }
    // Each speaker's last line was answered, so all 90 were delivered before the stop.
    for (n, c) in players.iter_mut().enumerate() {
        c.expect(&format!("You say, \"line 29 from {n}\"")).await;
    }
    let db_path = dir.path().join("gaslamp.db");
    server.stop().await;
    for c in players.iter_mut() {
        let rest = c.expect_closed().await;
        assert!(rest.contains("The server is shutting down."), "{rest}");
    }
    let db = rusqlite::Connection::open(db_path).expect("db");
    let said: i64 = db
        .query_row(
            "SELECT count(*) FROM chat_messages WHERE kind = 'say'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(said, 90);
    let sessions: i64 = db
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .expect("count");
    assert_eq!(sessions, 0);
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
}
