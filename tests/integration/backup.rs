//! Backups an operator can trust (issue 16, item 10): `gaslamp backup` of a
//! running server's database while a player keeps talking, restored with
//! `gaslamp restore` and holding every line acknowledged before it; a
//! restore refused while a server holds the database, or from a file that
//! fails its checks; the server's own rotated copies; and a second server on
//! one database refused.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gaslamp::config::BackupSchedule;
use gaslamp::{Server, ServerConfig, StartError};
use tokio::sync::watch;

use crate::support::*;

/// The test configuration, with no command rate limit: the talker says lines
/// as fast as they are answered.
fn roomy_config(dir: &Path) -> ServerConfig {
    ServerConfig {
        commands_per_second: 100_000,
        command_burst: 100_000,
        ..config(dir)
    }
}

/// Runs the `gaslamp` binary on the database `db` (the shipped worlds);
/// returns (exit code, stdout, stderr).
async fn gaslamp(db: &Path, args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .arg("--db")
        .arg(db)
        .arg("--worlds")
        .arg(shipped_worlds())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the gaslamp binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The stored `say` lines of the database at `db`, in order.
fn said_in(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare("SELECT message FROM chat_messages WHERE kind = 'say' ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn line(n: usize) -> String {
    format!("line {n:04}")
}

/// A player saying numbered lines, one after another as each is answered,
/// until told to stop; `acknowledged` counts the lines answered.
struct Talker {
    acknowledged: watch::Receiver<usize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl Talker {
    fn start(mut client: Client) -> Talker {
        let (count, acknowledged) = watch::channel(0);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let mut n = 0;
            while !stopping.load(Ordering::SeqCst) {
                let answer = client.command(&format!("say {}", line(n))).await;
                let said = format!("You say, \"{}\"", line(n));
                assert!(answer.contains(&said), "{answer}");
                n += 1;
                count.send_replace(n);
            }
            n
        });
        Talker {
            acknowledged,
            stop,
            task,
        }
    }

    /// The lines answered so far.
    fn answered(&self) -> usize {
        *self.acknowledged.borrow()
    }

    /// Waits until at least `n` lines were answered.
    async fn past(&mut self, n: usize) {
        let waited = tokio::time::timeout(PATIENCE, self.acknowledged.wait_for(|c| *c >= n)).await;
        assert!(matches!(waited, Ok(Ok(_))), "the talker stopped talking");
    }

    async fn finish(self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the talker did not panic")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_every_line_acknowledged_before_it() {
    let dir = temp_dir();
    let server = TestServer::start_with(roomy_config(dir.path())).await;
    let mut talker = Talker::start(server.player_with_role("Ann", "player").await);
    talker.past(50).await;
    // Every line answered before this flush is committed when it resolves:
    // the backup's moment comes after it.
    let before = talker.answered();
    server.game.writer().flush().await.expect("flush");
    let copy = dir.path().join("copy.db");
    let (code, out, err) =
        gaslamp(&server.db_path, &["backup", copy.to_str().expect("path")]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("integrity ok"), "{out}");
    let during = talker.answered();
    talker.past(during + 20).await;
    let said = talker.finish().await;
    assert!(
        during > before,
        "the player kept talking while the backup ran"
    );
    server.stop().await;
    let in_copy = said_in(&copy);
    assert!(
        in_copy.len() >= before,
        "{} of {before} lines",
        in_copy.len()
    );
    let want: Vec<String> = (0..in_copy.len()).map(line).collect();
    assert_eq!(
        in_copy, want,
        "every line up to the backup's moment, in order"
    );
    assert!(
        in_copy.len() < said,
        "lines said after the backup are not in it"
    );

    let db = dir.path().join("gaslamp.db");
    let (code, out, err) = gaslamp(&db, &["restore", copy.to_str().expect("path")]).await;
    assert_eq!(code, 0, "{out}{err}");
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("gaslamp.db.before-restore-"))
        .filter(|p| !p.to_string_lossy().ends_with("-wal"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(out.contains(&aside[0].display().to_string()), "{out}");
    assert_eq!(
        said_in(&aside[0]).len(),
        said,
        "the replaced database is kept whole"
    );
    let server = TestServer::start_with(roomy_config(dir.path())).await;
    assert_eq!(said_in(&db), want);
    let mut ann = server.connect().await;
    ann.connect_as("Ann", PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn restore_is_refused_while_a_server_holds_the_database() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    server.connect().await.create("Bea", PASSWORD).await;
    let copy = dir.path().join("copy.db");
    let (code, _, err) = gaslamp(&server.db_path, &["backup", copy.to_str().expect("path")]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) =
        gaslamp(&server.db_path, &["restore", copy.to_str().expect("path")]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("a gaslamp server is running on"), "{err}");
    assert!(err.contains("stop it first"), "{err}");
    // The server goes on with its own database.
    server.connect().await.connect_as("Bea", PASSWORD).await;
    server.stop().await;
    let (code, out, err) = gaslamp(
        &dir.path().join("gaslamp.db"),
        &["restore", copy.to_str().expect("path")],
    )
    .await;
    assert_eq!(code, 0, "once it stopped: {out}{err}");
}

#[tokio::test]
async fn restore_refuses_a_file_that_fails_its_checks_and_changes_nothing() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    assert_eq!(gaslamp(&db, &["init-db"]).await.0, 0);
    let before = std::fs::read(&db).expect("read");
    let broken = dir.path().join("broken.db");
    std::fs::write(&broken, b"SQLite format 3\0 but nothing after").expect("write");
    let newer = dir.path().join("newer.db");
    let (code, _, err) = gaslamp(&db, &["backup", newer.to_str().expect("path")]).await;
    assert_eq!(code, 0, "{err}");
    rusqlite::Connection::open(&newer)
        .expect("open")
        .pragma_update(None, "user_version", 999)
        .expect("newer");
    for (file, says) in [
        (&broken, "cannot be trusted"),
        (&newer, "newer than this gaslamp"),
    ] {
        let (code, out, err) = gaslamp(&db, &["restore", file.to_str().expect("path")]).await;
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(
        std::fs::read(&db).expect("read"),
        before,
        "the database is untouched"
    );
    let (code, _, err) = gaslamp(&db, &["backup", newer.to_str().expect("path")]).await;
    assert_eq!(code, 1, "an existing file is not replaced without --force");
    assert!(err.contains("--force"), "{err}");
}

#[tokio::test]
async fn the_server_keeps_rotated_backups_and_never_more_than_it_is_told() {
    let dir = temp_dir();
    let backups = dir.path().join("backups");
    let config = ServerConfig {
        backups: Some(BackupSchedule {
            every: Duration::from_millis(50),
            keep: 2,
            dir: backups.clone(),
        }),
        ..roomy_config(dir.path())
    };
    let db_path = config.db_path.clone();
    let server = Server::start(config).await.expect("server starts");
    let mut made = server.backups();
    let server = TestServer::running(server, db_path);
    let talker = Talker::start(server.player_with_role("Cy", "player").await);
    for round in 1..=4 {
        let waited = tokio::time::timeout(PATIENCE, made.wait_for(|r| r.made >= round)).await;
        let rotation = waited
            .expect("a backup in time")
            .expect("the server runs")
            .clone();
        assert_eq!(rotation.failed, 0, "{rotation:?}");
        let copies = gaslamp::ops::backup::rotated_copies(&backups, "gaslamp");
        assert!(copies.len() <= 2, "{copies:?}");
        let latest = rotation.latest.expect("the latest copy");
        assert!(
            copies.contains(&latest) || round < rotation.made,
            "{copies:?}"
        );
    }
    let said = talker.finish().await;
    server.stop().await;
    let copies = gaslamp::ops::backup::rotated_copies(&backups, "gaslamp");
    assert_eq!(copies.len(), 2, "{copies:?}");
    for copy in &copies {
        let checked = gaslamp::store::backup::check(copy).expect("a copy to trust");
        let lines = said_in(copy);
        assert_eq!(lines, (0..lines.len()).map(line).collect::<Vec<_>>());
        assert!(lines.len() <= said && checked.accounts == 1);
    }
}

#[tokio::test]
async fn a_second_server_on_a_database_already_served_is_refused() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    match Server::start(config(dir.path())).await {
        Err(StartError::Locked(err)) => {
            assert!(err.to_string().contains("gaslamp.db.lock"), "{err}");
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a second server started on the same database"),
    }
    server.stop().await;
    let again = TestServer::start(dir.path()).await;
    again.stop().await;
}
