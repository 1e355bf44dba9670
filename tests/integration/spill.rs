//! A full disk at shutdown (issue 16, item 4): what the writer still holds
//! when a stop finds the disk full goes to a spill file on another
//! filesystem, and the next start replays it into the database, in order,
//! once. The full disk is staged with the writer's page limit.

use std::path::Path;
use std::time::Duration;

use gaslamp::store::writer::Writer;
use gaslamp::{ServerConfig, ShutdownError};

use crate::support::*;

/// The test configuration with a short stop grace: a stop on a full disk
/// spills after 200 ms instead of 10 s.
fn quick_config(dir: &Path) -> ServerConfig {
    ServerConfig {
        writer_stop_grace: Duration::from_millis(200),
        ..config(dir)
    }
}

/// The files in the spill folder.
fn spill_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The database's size in pages now (what the writer may not grow past once
/// it is given this as its limit: a full disk).
fn page_count(server: &TestServer) -> u64 {
    server
        .db()
        .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
        .expect("page count")
        .unsigned_abs()
}

/// Waits until the writer has been refused by the disk at least `n` times.
async fn refused(writer: &Writer, n: u64) {
    let mut health = writer.health();
    let waited = tokio::time::timeout(PATIENCE, health.wait_for(|h| h.refused_commits >= n)).await;
    assert!(
        matches!(waited, Ok(Ok(_))),
        "the disk did not refuse {n} commits: {:?}",
        *writer.health().borrow()
    );
}

/// The stored `say` lines, by their first words ("line 07"), in order.
fn said_lines(db: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = db
        .prepare("SELECT substr(message, 1, 7) FROM chat_messages WHERE kind = 'say' ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Two players standing in the same room.
async fn ann_and_ben(server: &TestServer) -> (Client, Client) {
    let mut ann = server.player_with_role("Ann", "player").await;
    let ben = server.player_with_role("Ben", "player").await;
    ann.expect("Ben arrives.").await;
    (ann, ben)
}

/// A long line of talk: a few of them need new pages in the database.
fn long_line(n: usize) -> String {
    format!("say line {n:02} {}", "x".repeat(900))
}

/// Ann says `lines` long lines on a disk that is full, and Ben hears each.
async fn talk_on_a_full_disk(server: &TestServer, lines: usize) {
    let (mut ann, mut ben) = ann_and_ben(server).await;
    let writer = server.game.writer().clone();
    writer.flush().await.expect("flush");
    writer.limit_pages(Some(page_count(server)));
    for n in 0..lines {
        let answer = ann.command(&long_line(n)).await;
        assert!(
            answer.contains(&format!("You say, \"line {n:02}")),
            "{answer}"
        );
        ben.expect(&format!("Ann says, \"line {n:02}")).await;
    }
    refused(&writer, 1).await;
}

/// Issue 16: SIGTERM while the disk stayed full lost the lines players had
/// heard (840 of 908 in the attack run): the writer gave them up after its
/// grace. Now they go to the spill and come back at the next start, in
/// order, once.
#[tokio::test]
async fn a_stop_on_a_disk_that_stays_full_loses_no_line_anybody_heard() {
    let dir = temp_dir();
    let config = quick_config(dir.path());
    let spill_dir = config.spill_dir.clone();
    let server = TestServer::start_with(config.clone()).await;
    let identity: String = server
        .db()
        .query_row("SELECT uuid FROM database_identity", [], |r| r.get(0))
        .expect("the database's identity");
    talk_on_a_full_disk(&server, 30).await;
    assert!(said_lines(&server.db()).len() < 30, "the disk was full");
    server.stop().await;
    let spilled = spill_files(&spill_dir);
    assert_eq!(spilled.len(), 1, "{spilled:?}");
    assert!(
        spilled[0].starts_with(&format!("gaslamp-{identity}-")),
        "{spilled:?}"
    );
    let want: Vec<String> = (0..30).map(|n| format!("line {n:02}")).collect();
    for _ in 0..2 {
        let server = TestServer::start_with(config.clone()).await;
        assert_eq!(said_lines(&server.db()), want);
        assert!(spill_files(&spill_dir).is_empty());
        server.stop().await;
    }
    let replays = rusqlite::Connection::open(dir.path().join("gaslamp.db"))
        .expect("db")
        .query_row("SELECT count(*), sum(rows) FROM spill_replays", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .expect("replays");
    assert_eq!(replays.0, 1, "replayed once");
    assert!(replays.1 >= 26, "{replays:?}");
}

#[tokio::test]
async fn a_stop_whose_spill_fails_too_says_what_it_lost() {
    let dir = temp_dir();
    let not_a_folder = dir.path().join("not-a-folder");
    std::fs::write(&not_a_folder, b"a file").expect("a file where the folder should be");
    let config = ServerConfig {
        spill_dir: not_a_folder,
        ..quick_config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    talk_on_a_full_disk(&server, 10).await;
    let stopped = server.stop_and_report().await;
    match stopped {
        Err(ShutdownError::Lost {
            chat_lines,
            locations: _,
            source,
        }) => {
            let stored =
                said_lines(&rusqlite::Connection::open(dir.path().join("gaslamp.db")).expect("db"));
            assert_eq!(chat_lines + stored.len(), 10, "{stored:?}");
            assert!(chat_lines > 0);
            assert!(source.to_string().contains("not-a-folder"), "{source}");
        }
        other => panic!("the stop did not report the loss: {other:?}"),
    }
}

#[tokio::test]
async fn a_stop_with_nothing_left_writes_no_spill_and_succeeds() {
    let dir = temp_dir();
    let config = quick_config(dir.path());
    let spill_dir = config.spill_dir.clone();
    let server = TestServer::start_with(config).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    ann.command("say hello").await;
    ben.expect("Ann says, \"hello\"").await;
    let stopped = server.stop_and_report().await;
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(spill_files(&spill_dir).is_empty());
}
