//! The real binary, killed: SIGKILL leaves a database that passes
//! `integrity_check`, keeps every committed write, and whose stale session rows
//! are removed at the next start; SIGTERM shuts down cleanly with exit code 0
//! (SPEC §10).

use std::path::Path;
use std::process::{Command, Stdio};

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

/// A `gaslamp run` child process on a free port.
pub struct Running {
    child: tokio::process::Child,
    pub addr: std::net::SocketAddr,
    /// Every log line so far, and a wake-up for each new one.
    log: std::sync::Arc<(std::sync::Mutex<Vec<String>>, tokio::sync::Notify)>,
}

/// Starts the binary on port 0 and reads the bound address from its log.
async fn start(db: &Path) -> Running {
    start_with_env(db, &[]).await
}

/// [`start`] with environment variables set for the server (`MUD_ADMIN_*`).
pub async fn start_with_env(db: &Path, env: &[(&str, &str)]) -> Running {
    start_with(db, &[], env).await
}

/// [`start_with_env`] with more flags for `run` (`--tls-bind ...`).
pub async fn start_with(db: &Path, run_flags: &[&str], env: &[(&str, &str)]) -> Running {
    launch(db, &shipped_worlds(), run_flags, env).await
}

/// [`start_with_env`] on the worlds in `worlds` (a copy a test may build in).
pub async fn start_in(db: &Path, worlds: &Path, env: &[(&str, &str)]) -> Running {
    launch(db, worlds, &[], env).await
}

/// The binary on `worlds` with `run_flags` and `env`.
pub async fn launch(db: &Path, worlds: &Path, run_flags: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--bcrypt-cost", "4", "--log-level", "info", "--db"])
        .arg(db)
        .arg("--worlds")
        .arg(worlds)
        .args(["run", "--bind", "127.0.0.1:0"])
        // The web listener stays off unless the flags open it.
        .args(
            (!run_flags.contains(&"--web-bind"))
                .then_some(["--web-bind", "off"])
                .into_iter()
                .flatten(),
        )
        .args(run_flags)
        .env_remove("RUST_LOG")
        .env_remove("MUD_ADMIN_USER")
        .env_remove("MUD_ADMIN_PASSWORD")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("gaslamp starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    // The start's own lines are kept too, for tests that look for one.
    let mut started = Vec::new();
    let addr = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.expect("log line") {
            let addr = listening_address(&line);
            started.push(line);
            if let Some(addr) = addr {
                return addr;
            }
        }
        panic!("the server exited without listening");
    })
    .await
    .expect("the server listens in time");
    // Keep draining the log so the child never blocks on a full pipe, and keep
    // the lines for tests that look for one.
    let log = std::sync::Arc::new((std::sync::Mutex::new(started), tokio::sync::Notify::new()));
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            kept.0.lock().expect("log lines").push(line);
            kept.1.notify_waiters();
        }
    });
    Running { child, addr, log }
}

/// The address in the `listening addr=127.0.0.1:PORT` log line.
fn listening_address(line: &str) -> Option<std::net::SocketAddr> {
    // The telnet port (the web listener, when a test opens it, says so too).
    if !line.contains("listening") || line.contains("transport=web") {
        return None;
    }
    let start = line.find("addr=")? + "addr=".len();
    line[start..].split_whitespace().next()?.parse().ok()
}

impl Running {
    /// The server process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for a log line containing every one of `needles`; returns it.
    pub async fn expect_log(&self, needles: &[&str]) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                let woken = self.log.1.notified();
                if let Some(line) = self
                    .log
                    .0
                    .lock()
                    .expect("log lines")
                    .iter()
                    .find(|line| needles.iter().all(|n| line.contains(n)))
                {
                    return line.clone();
                }
                woken.await;
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            let log = self.log.0.lock().expect("log lines").join("\n");
            panic!("no log line with {needles:?}:\n{log}")
        })
    }

    /// Every log line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.0.lock().expect("log lines").clone()
    }

    /// SIGTERM, and wait for the exit; returns the exit code. The log lines
    /// are still read after it (`expect_log`).
    pub async fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().expect("pid");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits in time")
            .expect("exit status");
        exit.code()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }
}

/// A server on `db` with the player Kit in the game.
async fn start_with_player(db: &Path) -> (Running, Client) {
    let server = start(db).await;
    let mut c = Client::connect(server.addr).await;
    c.create("Kit", PASSWORD).await;
    c.enter("1").await;
    (server, c)
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[tokio::test]
async fn sigkill_loses_nothing_committed_and_stale_sessions_go_at_restart() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let (server, mut c) = start_with_player(&db).await;
    for n in 0..20 {
        c.command(&format!("say line {n}")).await;
    }
    // `history` flushes the writer before reading, so once line 19 shows there it
    // is committed.
    assert!(c.command("history 1").await.contains("line 19"));
    server.kill().await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM sessions"),
        1,
        "the crash left its row"
    );
    let conn = rusqlite::Connection::open(&db).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    drop(conn);
    assert_eq!(
        count(&db, "SELECT count(*) FROM chat_messages WHERE kind = 'say'"),
        20
    );
    let server = start(&db).await;
    assert_eq!(count(&db, "SELECT count(*) FROM sessions"), 0);
    let mut c = Client::connect(server.addr).await;
    c.connect_as("Kit", PASSWORD).await;
    server.kill().await;
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_with_exit_code_zero() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let (mut server, mut c) = start_with_player(&db).await;
    c.command("say goodnight").await;
    let pid = server.child.id().expect("pid");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let rest = c.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");
    let exit = tokio::time::timeout(PATIENCE, server.child.wait())
        .await
        .expect("exits in time")
        .expect("exit status");
    assert_eq!(exit.code(), Some(0));
    assert_eq!(count(&db, "SELECT count(*) FROM sessions"), 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM chat_messages WHERE message = 'goodnight'"
        ),
        1
    );
}

/// Admin actions reach the server log at info level with actor and target, and
/// log fields read plainly (`addr=127.0.0.1:PORT`, not `Some(...)`).
#[tokio::test]
async fn admin_actions_are_logged_with_actor_and_target_in_readable_fields() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let server = start(&db).await;
    let mut root = Client::connect(server.addr).await;
    root.create("Root", PASSWORD).await;
    root.send("quit").await;
    root.expect_closed().await;
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute(
        "UPDATE users SET role = 'superuser' WHERE username = 'Root'",
        [],
    )
    .expect("superuser");
    let mut vic = Client::connect(server.addr).await;
    vic.create("Vic", PASSWORD).await;
    vic.enter("1").await;
    let mut root = Client::connect(server.addr).await;
    root.connect_as("Root", PASSWORD).await;
    root.enter("1").await;
    vic.expect("Root arrives.").await;
    root.command("/wall lamps out at ten").await;
    root.command("/role vic worldbuilder").await;
    root.command("/ban vic rude").await;
    for (action, target) in [("wall", "-"), ("role", "Vic"), ("ban", "Vic")] {
        let line = server
            .expect_log(&[
                "admin action",
                "actor=Root",
                &format!("action={action} "),
                &format!("target={target}"),
            ])
            .await;
        assert!(line.contains(" INFO "), "{line}");
    }
    let connected = server.expect_log(&["connected"]).await;
    assert!(!connected.contains("Some("), "{connected}");
    assert!(connected.contains("addr=127.0.0.1:"), "{connected}");
    server.kill().await;
}
