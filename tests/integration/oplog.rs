//! What an operator reads (issue 22): the real binary's log lines say what
//! happened in words — no `world ready ... placed=0` from the shell tools, a
//! kick and a ban told apart, each turn of a shutdown its own line, the
//! connections a shutdown tells counted — and `gaslamp mssp` prints what a
//! MUD crawler sees.

use std::process::Command;

use crate::crash::{Running, start_with};
use crate::support::*;

/// What one run of the binary printed.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `gaslamp` at log level info with only the environment given.
fn gaslamp(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(["--log-level", "info"])
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("the gaslamp binary runs");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_shell_tools_do_not_log_the_worlds_they_load() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let db = db.to_string_lossy();
    let worlds = shipped_worlds();
    let worlds = worlds.to_string_lossy();
    let common = ["--db", &db, "--worlds", &worlds, "--bcrypt-cost", "4"];
    let out = gaslamp(
        &[&common[..], &["create-superuser"]].concat(),
        &[("MUD_ADMIN_USER", "Root"), ("MUD_ADMIN_PASSWORD", PASSWORD)],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.contains("Superuser Root created."), "{out:#?}");
    assert!(!out.stderr.contains("world ready"), "{out:#?}");
    assert!(!out.stderr.contains("placed"), "{out:#?}");
    let out = gaslamp(
        &[&common[..], &["user", "create", "Ann"]].concat(),
        &[("GASLAMP_NEW_PASSWORD", PASSWORD)],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!out.stderr.contains("world ready"), "{out:#?}");
}

/// Logs in as `account` (made by `create`) and enters the game.
async fn player(server: &Running, account: &str) -> Client {
    let mut c = Client::connect(server.addr).await;
    c.create(account, PASSWORD).await;
    c.enter("1").await;
    c
}

#[tokio::test]
async fn the_server_log_says_what_happened_in_words() {
    let dir = temp_dir();
    let db = dir.path().join("gaslamp.db");
    let mut server = start_with(&db, &[], &[]).await;
    let ready = server.expect_log(&["world ready", "lanternfall"]).await;
    assert!(!ready.contains("placed="), "{ready}");

    let mut root = Client::connect(server.addr).await;
    root.create("Root", PASSWORD).await;
    root.send("quit").await;
    root.expect_closed().await;
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute(
            "UPDATE users SET role = 'superuser' WHERE username = 'Root'",
            [],
        )
        .expect("superuser");
    let mut root = Client::connect(server.addr).await;
    root.connect_as("Root", PASSWORD).await;
    root.enter("1").await;
    let mut kit = player(&server, "Kit").await;
    let mut vic = player(&server, "Vic").await;

    root.command("/kick kit too loud").await;
    kit.expect_closed().await;
    let kick = server
        .expect_log(&["admin action", "action=kick", "target=Kit"])
        .await;
    assert!(!kick.contains("changed="), "{kick}");
    let gone = server.expect_log(&["account=Kit", "disconnected"]).await;
    assert!(gone.contains("kicked"), "{gone}");

    root.command("/ban vic rude").await;
    vic.expect_closed().await;
    let gone = server.expect_log(&["account=Vic", "disconnected"]).await;
    assert!(gone.contains("banned"), "{gone}");
    assert!(!gone.contains("Kicked"), "{gone}");

    root.command("/shutdown 1h new lamps").await;
    server
        .expect_log(&["shutdown countdown started", "new lamps"])
        .await;
    root.command("/shutdown 2h").await;
    server
        .expect_log(&["no new shutdown", "already counting down"])
        .await;
    root.command("/shutdown cancel").await;
    server.expect_log(&["shutdown countdown cancelled"]).await;

    let mut guesser = Client::connect(server.addr).await;
    for _ in 0..3 {
        guesser.expect("Account: ").await;
        guesser.send("connect Root not the password at all").await;
        guesser.expect("Wrong account name or password.").await;
    }
    guesser.expect_closed().await;
    let gone = server
        .expect_log(&["disconnected", "too many wrong passwords"])
        .await;
    assert!(!gone.contains("Quit"), "{gone}");

    // Root plays; two more sit at the login prompt.
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let mut c = Client::connect(server.addr).await;
        c.expect("Account: ").await;
        waiting.push(c);
    }
    assert_eq!(server.terminate().await, Some(0));
    let stopping = server.expect_log(&["shutting down"]).await;
    assert!(stopping.contains("connections=3"), "{stopping}");
    assert!(stopping.contains("playing=1"), "{stopping}");
    // The last line: every line before it has been read.
    server.expect_log(&["stopped", "sessions_removed"]).await;
    let lines = server.log_lines();
    let told = lines
        .iter()
        .filter(|l| l.contains("disconnected: the server shut down"))
        .count();
    assert_eq!(told, 3, "{lines:#?}");
}

#[tokio::test]
async fn gaslamp_mssp_prints_what_a_crawler_sees() {
    let dir = temp_dir();
    let mut config = crate::support::config(dir.path());
    config.mssp.discord = Some("https://discord.gg/lamps".into());
    let server = TestServer::start_with(config).await;
    let mut ann = server.connect().await;
    ann.create("Ann", PASSWORD).await;
    ann.enter("1").await;
    let addr = server.addr.to_string();
    let out = tokio::task::spawn_blocking(move || gaslamp(&["mssp", "--bind", &addr], &[]))
        .await
        .expect("the binary ran");
    assert_eq!(out.code, Some(0), "{out:#?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    for want in [
        "NAME\tLanternfall",
        "PLAYERS\t1",
        &format!("PORT\t{}", server.addr.port()),
        "DISCORD\thttps://discord.gg/lamps",
        "GAMEPLAY\t",
        "MSDP\t0",
    ] {
        assert!(lines.contains(&want), "no {want:?} in:\n{}", out.stdout);
    }
    assert!(lines.iter().all(|l| l.contains('\t')), "{}", out.stdout);
    // The same address from the config file's `bind`.
    let file = dir.path().join("gaslamp.toml");
    std::fs::write(&file, format!("bind = \"{}\"\n", server.addr)).expect("config file");
    let file = file.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || gaslamp(&["--config", &file, "mssp"], &[]))
        .await
        .expect("the binary ran");
    assert!(out.stdout.contains("PLAYERS\t1"), "{out:#?}");
    server.stop().await;
    // Nobody listening: a clear refusal, exit code 1.
    let addr = server_gone_addr();
    let out = gaslamp(&["mssp", "--bind", &addr], &[]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("cannot reach"), "{out:#?}");
}

/// An address on loopback where nothing listens (a port just freed).
fn server_gone_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    addr.to_string()
}
