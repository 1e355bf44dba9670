//! Upgrades without dropping anyone (SPEC §15), with the real binary: it
//! replaces itself (same PID) by a second copy of itself, and every plain
//! telnet player stays connected — in the game in the same room with the
//! same session row, at `Account:`, at `Password:`, at the menu, compressed
//! with MCCP2 or not — with no option renegotiated and a line typed during
//! the handoff answered after it.

use std::path::{Path, PathBuf};

use crate::crash::{Running, launch};
use crate::support::*;

const UPGRADING: &str = "The server is being upgraded; please wait.";
const COMPLETE: &str = "Upgrade complete.";

/// A second copy of the binary, as an operator would install a new build.
fn second_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("gaslamp-new");
    std::fs::copy(env!("CARGO_BIN_EXE_gaslamp"), &copy).expect("copy the binary");
    copy
}

/// The server with the admin Ada, upgrading to `exe`, on a copy of the
/// shipped worlds in `dir/worlds`.
async fn start_upgradable(dir: &Path, exe: &Path) -> Running {
    let db = dir.join("gaslamp.db");
    let worlds = dir.join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let exe = exe.to_str().expect("utf-8 path").to_string();
    launch(
        &db,
        &worlds,
        // Every test player signs up from 127.0.0.1: no sign-up limit.
        &["--exe", &exe, "--max-signups-per-ip", "0"],
        &[("MUD_ADMIN_USER", "Ada"), ("MUD_ADMIN_PASSWORD", PASSWORD)],
    )
    .await
}

fn session_rows(dir: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(dir.join("gaslamp.db")).expect("open");
    let mut stmt = conn
        .prepare("SELECT session_id, user_id FROM sessions ORDER BY session_id")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// What a client has been sent of telnet negotiation: option verbs, and
/// subnegotiations but MCCP2's marker (a fresh stream after an upgrade is
/// allowed; it is not asking the client anything).
fn asked(c: &Client) -> (usize, usize) {
    let subnegotiations = c
        .subnegotiations
        .iter()
        .filter(|(option, _)| *option != MCCP2)
        .count();
    (c.negotiations.len(), subnegotiations)
}

/// Asks the server for an upgrade as a service manager would: SIGUSR2.
fn sigusr2(server: &Running) {
    let pid = server.pid().expect("pid").to_string();
    let usr2 = std::process::Command::new("kill")
        .args(["-USR2", &pid])
        .status()
        .expect("kill");
    assert!(usr2.success());
}

/// Ada in the game, ready to give the command.
async fn admin_in_game(server: &Running) -> Client {
    let mut ada = Client::connect(server.addr).await;
    ada.connect_as("Ada", PASSWORD).await;
    ada.enter("1").await;
    ada
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copyover_keeps_every_plain_player_where_they_stood() {
    let dir = temp_dir();
    let exe = second_copy(dir.path());
    let mut server = start_upgradable(dir.path(), &exe).await;
    let pid = server.pid();
    let mut ada = admin_in_game(&server).await;

    // Kit plays, compressed, in a room away from the spawn.
    let mut kit = Client::connect(server.addr).await;
    kit.send_raw(&[IAC, DO, MCCP2]).await;
    kit.create("Kit", PASSWORD).await;
    kit.enter("1").await;
    assert_eq!(kit.compression_started, 1);
    let exits = kit.command("exits").await;
    let way = exits
        .split_whitespace()
        .find(|w| {
            ["north", "south", "east", "west"]
                .contains(&w.trim_matches(|c: char| !c.is_alphabetic()))
        })
        .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()).to_string())
        .expect("a way out of the spawn");
    kit.command(&way).await;
    let room_before = kit.command("look").await;

    // Lee at the menu, Mo at Password:, a newcomer at Account:.
    let mut lee = Client::connect(server.addr).await;
    lee.create("Lee", PASSWORD).await;
    let mut mo = Client::connect(server.addr).await;
    mo.expect("Account: ").await;
    mo.send("Kit").await;
    mo.expect("Password: ").await;
    let mut newcomer = Client::connect(server.addr).await;
    newcomer.expect("Account: ").await;

    let rows_before = session_rows(dir.path());
    assert_eq!(rows_before.len(), 3, "Ada, Kit and Lee are logged in");
    let negotiations: Vec<(usize, usize)> = [&kit, &lee, &mo, &newcomer]
        .iter()
        .map(|c| asked(c))
        .collect();

    ada.send("/copyover a better lamp").await;
    ada.expect(UPGRADING).await;
    kit.expect(UPGRADING).await;
    // Typed during the handoff: answered after it.
    kit.send("say still here").await;
    for c in [&mut ada, &mut kit, &mut lee, &mut mo, &mut newcomer] {
        c.expect(COMPLETE).await;
    }
    server.expect_log(&["upgraded: taking over"]).await;
    assert!(server.alive(), "the process is the one that was started");
    assert_eq!(server.pid(), pid);

    kit.expect("You say, \"still here\"").await;
    kit.expect("> ").await;
    assert_eq!(
        kit.compression_ended, 1,
        "MCCP2 ended cleanly before the handoff"
    );
    assert_eq!(kit.compression_started, 2, "and started afresh after it");
    assert_eq!(kit.command("look").await, room_before, "same room");
    assert_eq!(
        session_rows(dir.path()),
        rows_before,
        "the same session rows"
    );

    // Nobody is asked anything again.
    let after: Vec<(usize, usize)> = [&kit, &lee, &mo, &newcomer]
        .iter()
        .map(|c| asked(c))
        .collect();
    assert_eq!(after, negotiations, "no option renegotiated");

    // Each one is back at its step.
    mo.expect("Password: ").await;
    mo.send(PASSWORD).await;
    mo.expect("Character: ").await;
    lee.expect("Character: ").await;
    lee.enter("1").await;
    newcomer.expect("Account: ").await;
    let seen = newcomer.all_text();
    assert!(
        seen.ends_with("please wait.\r\nAccount: \r\nUpgrade complete.\r\nAccount: "),
        "{seen:?}"
    );
    newcomer.send("connect Lee wrong-password-here").await;
    newcomer.expect("Wrong").await;
    assert!(ada.command("who").await.contains("Kit"));
    assert!(!kit.closed && !lee.closed && !mo.closed && !newcomer.closed);
    assert_eq!(server.terminate().await, Some(0));
    eprintln!("{}", server.log_lines().join("\n"));
}

/// A stand-in for a new build: a script that runs `body` and then the real
/// binary (`$REAL`).
fn wrapper(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\n{body}\nexec '{}' \"$@\"\n",
        env!("CARGO_BIN_EXE_gaslamp")
    );
    std::fs::write(&path, script).expect("write the wrapper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// `/copyover`, refused for a reason that says `needle` (wrapped at the
/// admin's width, so compared with the line breaks taken out).
async fn refused_because(ada: &mut Client, needle: &str) {
    ada.send("/copyover").await;
    ada.expect("The upgrade failed:").await;
    ada.expect(".\r\n> ").await;
    let said = ada.all_text();
    let said = said.rsplit("Upgrading from").next().unwrap_or_default();
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains(needle), "{said}");
}

/// Kit in the game beside Ada, for the failure cases.
async fn kit_in_game(server: &Running) -> Client {
    let mut kit = Client::connect(server.addr).await;
    kit.create("Kit", PASSWORD).await;
    kit.enter("1").await;
    kit
}

/// After a refused upgrade: the same process, and Kit plays on, never
/// having seen a word of it.
async fn nobody_noticed(server: &mut Running, pid: Option<u32>, kit: &mut Client) {
    assert!(server.alive());
    assert_eq!(server.pid(), pid);
    assert_eq!(kit.command("say carry on").await, "You say, \"carry on\"");
    assert!(!kit.all_text().contains(UPGRADING), "{}", kit.all_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_unrunnable_or_failing_new_binary_is_refused_and_nobody_notices() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let slot = dir.path().join("gaslamp-next");
    let mut server = start_upgradable(dir.path(), &slot).await;
    let pid = server.pid();
    let mut ada = admin_in_game(&server).await;
    let mut kit = kit_in_game(&server).await;

    // Missing.
    refused_because(&mut ada, "does not exist.").await;
    nobody_noticed(&mut server, pid, &mut kit).await;

    // There, but not executable.
    std::fs::copy(env!("CARGO_BIN_EXE_gaslamp"), &slot).expect("copy");
    std::fs::set_permissions(&slot, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    refused_because(&mut ada, "is not an executable file.").await;
    nobody_noticed(&mut server, pid, &mut kit).await;

    // Executable, but its self-check fails, saying why.
    std::fs::remove_file(&slot).expect("rm");
    wrapper(
        dir.path(),
        "gaslamp-next",
        "if [ -n \"$GASLAMP_UPGRADE_CHECK\" ]; then echo 'gaslamp: the lamps are out' >&2; exit 1; fi",
    );
    refused_because(
        &mut ada,
        "The upgrade failed: the new binary's self-check failed: gaslamp: the lamps are out.",
    )
    .await;
    nobody_noticed(&mut server, pid, &mut kit).await;

    // The real new binary, whose check finds a world broken since the start
    // (the running server never read it).
    wrapper(dir.path(), "gaslamp-next", "");
    write_broken_world(&dir.path().join("worlds"), "nowhere");
    refused_because(&mut ada, "self-check failed").await;
    nobody_noticed(&mut server, pid, &mut kit).await;
    let rows = session_rows(dir.path());
    assert_eq!(rows.len(), 2, "the sessions are untouched");
    assert_eq!(server.terminate().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_upgrade_is_refused_and_sigterm_during_one_still_shuts_down_cleanly() {
    let dir = temp_dir();
    // The new binary's check waits until the test lets it go on.
    let fifo = dir.path().join("go");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let exe = wrapper(
        dir.path(),
        "gaslamp-next",
        &format!(
            "if [ -n \"$GASLAMP_UPGRADE_CHECK\" ]; then read go < '{}'; fi",
            fifo.display()
        ),
    );
    let mut server = start_upgradable(dir.path(), &exe).await;
    let mut ada = admin_in_game(&server).await;
    let mut kit = kit_in_game(&server).await;

    ada.send("/copyover").await;
    ada.expect("Upgrading from gaslamp").await;
    server.expect_log(&["upgrade begins"]).await;
    // While the first one's check runs: a second by command, one by signal.
    assert!(
        ada.command("/copyover")
            .await
            .contains("An upgrade is already under way.")
    );
    sigusr2(&server);
    server
        .expect_log(&["An upgrade is already under way."])
        .await;
    assert_eq!(
        kit.command("say still fine").await,
        "You say, \"still fine\""
    );

    // SIGTERM in the middle of it: a clean shutdown, everyone told.
    assert_eq!(server.terminate().await, Some(0));
    kit.expect("The server is shutting down.").await;
    assert_eq!(session_rows(dir.path()).len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_binary_that_cannot_start_hands_everyone_back_to_the_old_one() {
    let dir = temp_dir();
    // It passes its check, then its real start refuses its command line.
    let real = env!("CARGO_BIN_EXE_gaslamp");
    let exe = wrapper(
        dir.path(),
        "gaslamp-next",
        &format!(
            "if [ -n \"$GASLAMP_UPGRADE_STATE\" ]; then exec '{real}' --no-such-flag \"$@\"; fi"
        ),
    );
    let mut server = start_upgradable(dir.path(), &exe).await;
    let pid = server.pid();
    let mut ada = admin_in_game(&server).await;
    let mut kit = kit_in_game(&server).await;
    let room = kit.command("look").await;
    let rows = session_rows(dir.path());

    ada.send("/copyover").await;
    kit.expect(UPGRADING).await;
    if kit
        .expect_any_or_closed(&["The upgrade did not happen; carry on."])
        .await
        .is_none()
    {
        panic!("{}", server.log_lines().join("\n"));
    }
    // The prompt that follows, so the next command's answer is its own.
    kit.expect("> ").await;
    ada.expect("The upgrade did not happen; carry on.").await;
    server
        .expect_log(&["handing the players back to the old binary"])
        .await;
    server
        .expect_log(&["upgraded: taking over", "fell_back"])
        .await;
    assert!(server.alive());
    assert_eq!(server.pid(), pid);
    assert_eq!(kit.command("look").await, room);
    assert_eq!(session_rows(dir.path()), rows);
    assert!(!kit.all_text().contains(COMPLETE));
    assert_eq!(server.terminate().await, Some(0));
}

/// `gaslamp upgrade` on the server of `dir`: its exit code and output.
async fn gaslamp_upgrade(dir: &Path) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .arg("--db")
        .arg(dir.join("gaslamp.db"))
        .args(["upgrade", "from", "the", "shell"])
        .output();
    let out = tokio::time::timeout(PATIENCE, out)
        .await
        .expect("gaslamp upgrade ends in time")
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gaslamp_upgrade_asks_on_the_control_socket_and_waits_for_the_end() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let slot = dir.path().join("gaslamp-next");
    let mut server = start_upgradable(dir.path(), &slot).await;
    let control = dir.path().join("gaslamp.db.control");
    let mode = std::fs::metadata(&control)
        .expect("the control socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the server's user may ask");
    let mut kit = kit_in_game(&server).await;

    // No binary there yet: refused, exit 1, the reason on stderr.
    let (code, _, stderr) = gaslamp_upgrade(dir.path()).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert_eq!(kit.command("say fine").await, "You say, \"fine\"");

    // Now there: exit 0 once Kit was told, naming the game and the front.
    std::fs::copy(env!("CARGO_BIN_EXE_gaslamp"), &slot).expect("copy");
    let (code, stdout, stderr) = gaslamp_upgrade(dir.path()).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("game upgraded to gaslamp"), "{stdout}");
    assert!(stdout.contains("front: none"), "{stdout}");
    assert!(stdout.contains("1 connection(s) kept"), "{stdout}");
    kit.expect(COMPLETE).await;
    kit.expect("> ").await;
    assert_eq!(
        kit.command("say still fine").await,
        "You say, \"still fine\""
    );
    server
        .expect_log(&["upgrade asked on the control socket"])
        .await;
    assert!(server.alive());
    assert_eq!(server.terminate().await, Some(0));
}

const GMCP_OPT: u8 = 201;
const NAWS: u8 = 31;
const EOR_OPTION: u8 = 25;

/// `IAC SB option data IAC SE`.
fn sb(option: u8, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![IAC, SB, option];
    for &b in data {
        bytes.push(b);
        if b == IAC {
            bytes.push(IAC);
        }
    }
    bytes.extend_from_slice(&[IAC, SE]);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigusr2_keeps_gmcp_packages_width_and_eor_and_says_what_was_lost() {
    let dir = temp_dir();
    let exe = second_copy(dir.path());
    let mut server = start_upgradable(dir.path(), &exe).await;
    let mut ada = admin_in_game(&server).await;

    // A mapper: GMCP for the Room package only, 40 columns, EOR prompts.
    let mut mapper = Client::connect(server.addr).await;
    mapper.expect("Account: ").await;
    let mut hello = vec![IAC, DO, GMCP_OPT, IAC, DO, EOR_OPTION, IAC, WILL, NAWS];
    hello.extend(sb(GMCP_OPT, br#"Core.Supports.Set ["Room 1"]"#));
    hello.extend(sb(NAWS, &[0, 40, 0, 24]));
    mapper.send_raw(&hello).await;
    mapper.send(&format!("create Mapper {PASSWORD}")).await;
    mapper.expect("Character: ").await;
    mapper.enter("1").await;
    mapper.expect_gmcp("Room.Info").await;
    let negotiated = mapper.negotiations.len();

    // Ada writing a room description; Sid halfway through signing up.
    ada.send("/rdesc").await;
    ada.expect("~q").await;
    ada.send("A line that will not survive.").await;
    let mut sid = Client::connect(server.addr).await;
    sid.expect("Account: ").await;
    sid.send("new").await;
    sid.expect("New account name: ").await;

    sigusr2(&server);
    for c in [&mut ada, &mut mapper, &mut sid] {
        // (At the mapper's 40 columns the sentence takes two lines.)
        c.expect("The server is being upgraded;").await;
        c.expect(COMPLETE).await;
    }
    server
        .expect_log(&["upgraded: taking over", "reason=SIGUSR2"])
        .await;

    ada.expect("The upgrade interrupted your writing; what you wrote was lost.")
        .await;
    ada.expect("> ").await;
    sid.expect("The upgrade interrupted your sign-up; type \"new\" to start it again.")
        .await;
    sid.expect("Account: ").await;

    // The mapper's packages, width and prompt marks are as they were.
    mapper.expect("> ").await;
    let eors = mapper.end_of_records.len();
    let look = mapper.command("look").await;
    assert!(
        look.lines().all(|line| line.chars().count() <= 40),
        "{look}"
    );
    assert!(
        mapper.end_of_records.len() > eors,
        "prompts still end with EOR"
    );
    let exits = mapper.command("exits").await;
    let way = ["north", "east", "south", "west"]
        .into_iter()
        .find(|w| exits.contains(w))
        .expect("a way out");
    mapper.command(way).await;
    mapper.expect_gmcp("Room.Info").await;
    mapper.command("say hello").await;
    assert!(
        mapper
            .gmcp_messages()
            .iter()
            .all(|(name, _)| !name.starts_with("Comm")),
        "no package it did not ask for"
    );
    assert_eq!(
        mapper.negotiations.len(),
        negotiated,
        "nothing renegotiated"
    );
    assert_eq!(server.terminate().await, Some(0));
}

/// A TLS client of the test's own certificate.
async fn tls_client(
    addr: std::net::SocketAddr,
    der: &rustls_pki_types::CertificateDer<'static>,
) -> Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.clone()).expect("trust");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await.expect("handshake");
    Client::over(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tls_player_is_asked_to_reconnect_and_can_at_once() {
    let dir = temp_dir();
    let exe = second_copy(dir.path());
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, made.cert.pem()).expect("write");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write");
    let der = made.cert.der().clone();
    let db = dir.path().join("gaslamp.db");
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let flags = [
        "--exe",
        exe.to_str().expect("utf-8"),
        "--tls-bind",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ];
    let mut server = launch(&db, &worlds, &flags, &[]).await;
    let line = server.expect_log(&["listening", "transport=tls"]).await;
    let tls_addr: std::net::SocketAddr = line
        .split("addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .expect("the TLS address");

    let mut sam = tls_client(tls_addr, &der).await;
    sam.create("Sam", PASSWORD).await;
    sam.enter("1").await;
    let mut kit = kit_in_game(&server).await;

    sigusr2(&server);
    sam.expect(UPGRADING).await;
    let last = sam.expect_closed().await;
    assert!(
        last.contains("This connection cannot be kept across the upgrade; please reconnect."),
        "{last}"
    );
    kit.expect(COMPLETE).await;
    // Kit stands where Sam stood, and hears Sam go as a `quit` is heard.
    kit.expect("Sam leaves the game.").await;
    server
        .expect_log(&[
            "disconnected: the upgrade could not keep the connection",
            "phase=playing",
        ])
        .await;
    server
        .expect_log(&["handing over to the new binary", "kept=1", "closed=1"])
        .await;

    // The TLS listener never closed: Sam is back at once, on the new binary.
    let mut again = tls_client(tls_addr, &der).await;
    again.connect_as("Sam", PASSWORD).await;
    again.enter("1").await;
    assert!(again.command("who").await.contains("Kit"));
    assert_eq!(
        session_rows(dir.path()).len(),
        2,
        "Kit's row kept, Sam's new one"
    );
    assert_eq!(server.terminate().await, Some(0));
}

/// What one of the fifty is doing when the upgrade comes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Doing {
    Playing,
    Compressed,
    AtAccount,
    AtPassword,
    AtMenu,
}

/// `look`'s last line of description, just before the exits: the room's
/// own (others' comings and goings are lines of their own, and may come
/// between the command and its answer).
async fn room_line(c: &mut Client) -> String {
    c.skip_shown_prompts();
    c.send("look").await;
    let upto = c.expect("\r\nExits:").await;
    c.expect("\r\n> ").await;
    upto.trim_end_matches("\r\nExits:")
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// One of the fifty, connected and brought to what it is doing.
async fn one_of_fifty(addr: std::net::SocketAddr, n: usize) -> (Doing, Client, String) {
    let ways = ["north", "east", "south", "west"];
    let doing = match n % 7 {
        0..=2 => Doing::Playing,
        3 | 4 => Doing::Compressed,
        5 => [Doing::AtAccount, Doing::AtPassword, Doing::AtMenu][n / 7 % 3],
        _ => Doing::AtMenu,
    };
    let mut c = Client::connect(addr).await;
    if doing == Doing::Compressed {
        c.send_raw(&[IAC, DO, MCCP2]).await;
    }
    let name = format!(
        "Play{}{}",
        char::from(b'a' + (n / 26) as u8),
        char::from(b'a' + (n % 26) as u8)
    );
    let mut room = String::new();
    match doing {
        Doing::AtAccount => {
            c.expect("Account: ").await;
        }
        Doing::AtPassword => {
            c.expect("Account: ").await;
            c.send("Ada").await;
            c.expect("Password: ").await;
        }
        Doing::AtMenu => c.create(&name, PASSWORD).await,
        Doing::Playing | Doing::Compressed => {
            c.create(&name, PASSWORD).await;
            c.enter("1").await;
            c.command(ways[n % 4]).await;
            room = room_line(&mut c).await;
        }
    }
    (doing, c, room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_players_across_rooms_and_prompts_stay_through_an_upgrade() {
    let dir = temp_dir();
    let exe = second_copy(dir.path());
    let mut server = start_upgradable(dir.path(), &exe).await;
    let pid = server.pid();
    let mut ada = admin_in_game(&server).await;
    let addr = server.addr;
    let mut players: Vec<(Doing, Client, String)> =
        futures::future::join_all((0..49).map(|n| one_of_fifty(addr, n))).await;
    // Half a line typed before the upgrade; the rest comes during it.
    for (doing, c, _) in players.iter_mut() {
        if matches!(doing, Doing::Playing | Doing::Compressed) {
            c.send_raw(b"say ha").await;
        }
    }
    let rows = session_rows(dir.path());
    let negotiated: Vec<(usize, usize)> = players.iter().map(|(_, c, _)| asked(c)).collect();

    ada.send("/copyover fifty").await;
    for (doing, c, _) in players.iter_mut() {
        c.expect(UPGRADING).await;
        if matches!(doing, Doing::Playing | Doing::Compressed) {
            c.send("lf, mid-handoff").await;
        }
    }
    for (_, c, _) in players.iter_mut() {
        c.expect(COMPLETE).await;
    }
    assert!(server.alive());
    assert_eq!(server.pid(), pid);
    for (n, (doing, c, room)) in players.iter_mut().enumerate() {
        match doing {
            Doing::Playing | Doing::Compressed => {
                c.expect("You say, \"half, mid-handoff\"").await;
                c.expect("> ").await;
                assert_eq!(&room_line(c).await, room, "player {n} in the same room");
                if *doing == Doing::Compressed {
                    assert_eq!((c.compression_ended, c.compression_started), (1, 2));
                }
            }
            Doing::AtAccount => {
                c.expect("Account: ").await;
            }
            Doing::AtPassword => {
                c.expect("Password: ").await;
                c.send(PASSWORD).await;
                c.expect("Character: ").await;
            }
            Doing::AtMenu => {
                c.expect("Character: ").await;
            }
        }
        assert!(!c.closed, "player {n} still connected");
    }
    let after: Vec<(usize, usize)> = players.iter().map(|(_, c, _)| asked(c)).collect();
    assert_eq!(after, negotiated, "no option renegotiated");
    let mut rows_after = session_rows(dir.path());
    // The one at Password: logged in after the upgrade, as Ada.
    rows_after.retain(|row| rows.contains(row));
    assert_eq!(rows_after, rows, "every session row kept");
    assert_eq!(server.terminate().await, Some(0));
}

/// A WebSocket player of the web listener at `web`, as a telnet client.
async fn ws_client(web: std::net::SocketAddr) -> Client {
    use crate::web::{TELNET, Upgrade, over_websocket, upgrade};
    match upgrade(web, &[TELNET], &[]).await {
        Upgrade::Open(socket, _) => over_websocket(socket).0,
        Upgrade::Refused(status, body) => panic!("refused: {status} {body}"),
    }
}

/// A WebSocket player whose frames the test makes itself: a telnet
/// [`Client`] (each write one masked binary frame) and a sender of raw
/// bytes for the socket, to cut a frame in two.
async fn raw_ws_client(
    web: std::net::SocketAddr,
) -> (Client, tokio::sync::mpsc::UnboundedSender<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = crate::web::raw_websocket(web).await;
    let (mut from_server, mut to_server) = tcp.into_split();
    let (ours, pipe) = tokio::io::duplex(64 * 1024);
    let (mut from_client, mut to_client) = tokio::io::split(pipe);
    let (raw, mut raws) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let lines = raw.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
            for chunk in buf[..n].chunks(100) {
                let _ = lines.send(crate::web::client_frame(0x80, 0x2, chunk));
            }
        }
    });
    tokio::spawn(async move {
        while let Some(bytes) = raws.recv().await {
            if to_server.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        // The server's frames: unmasked; binary payloads are the text.
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 8192];
        while let Ok(n @ 1..) = from_server.read(&mut buf).await {
            bytes.extend_from_slice(&buf[..n]);
            while let Some(&second) = bytes.get(1) {
                let (len, header) = match second & 0x7f {
                    126 if bytes.len() >= 4 => {
                        (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4)
                    }
                    126 | 127 => break,
                    n => (usize::from(n), 2),
                };
                if bytes.len() < header + len {
                    break;
                }
                let opcode = bytes[0] & 0x0f;
                let payload: Vec<u8> = bytes.drain(..header + len).skip(header).collect();
                if opcode == 0x2 && to_client.write_all(&payload).await.is_err() {
                    return;
                }
                if opcode == 0x8 {
                    let _ = to_client.shutdown().await;
                    return;
                }
            }
        }
        let _ = to_client.shutdown().await;
    });
    (Client::over(ours), raw)
}

/// The web listener's address, from the log.
async fn web_addr(server: &mut Running) -> std::net::SocketAddr {
    let line = server.expect_log(&["listening", "transport=web"]).await;
    line.split("addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .expect("the web address")
}

/// A WebSocket carries no state between its frames: the new image starts a
/// fresh one on the inherited socket, with the half frame the old one had
/// read, and the browser's player notices nothing but the two sentences.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_websocket_player_stays_through_an_upgrade_even_mid_frame() {
    let dir = temp_dir();
    let exe = second_copy(dir.path());
    let db = dir.path().join("gaslamp.db");
    let worlds = dir.path().join("worlds");
    copy_dir(&shipped_worlds(), &worlds);
    let flags = [
        "--exe",
        exe.to_str().expect("utf-8"),
        "--web-bind",
        "127.0.0.1:0",
    ];
    let mut server = launch(&db, &worlds, &flags, &[]).await;
    let web = web_addr(&mut server).await;
    let (mut wes, raw) = raw_ws_client(web).await;
    wes.create("Wes", PASSWORD).await;
    wes.enter("1").await;
    let room_before = wes.command("look").await;
    let mut wren = ws_client(web).await;
    wren.expect("Account: ").await;
    let mut kit = kit_in_game(&server).await;
    let rows_before = session_rows(dir.path());

    // Half a frame, sent as the upgrade begins: the old image reads it
    // (the upgrade's self-check of the new binary takes far longer), the
    // new one gets the rest, typed during the handoff.
    let frame = crate::web::client_frame(0x80, 0x2, b"say across the gap\r\n");
    let (half, rest) = frame.split_at(frame.len() / 2);
    raw.send(half.to_vec()).expect("the writer runs");
    sigusr2(&server);
    wes.expect(UPGRADING).await;
    wren.expect(UPGRADING).await;
    server
        .expect_log(&["handing over to the new binary", "kept=3", "closed=0"])
        .await;
    raw.send(rest.to_vec()).expect("the writer runs");
    for c in [&mut wes, &mut wren, &mut kit] {
        c.expect(COMPLETE).await;
    }
    wes.expect("You say, \"across the gap\"").await;
    wes.expect("> ").await;
    kit.expect("Wes says, \"across the gap\"").await;
    let room_after = wes.command("look").await;
    // The same room (where Kit has come meanwhile).
    assert_eq!(room_after, format!("{room_before}\r\nAlso here: Kit."));
    assert_eq!(
        session_rows(dir.path()),
        rows_before,
        "the same session rows"
    );
    wren.expect("Account: ").await;
    wren.send(&format!("connect Wes {PASSWORD}")).await;
    wren.expect("Character: ").await;
    assert!(kit.command("who").await.contains("Wes"));
    assert!(!wes.closed, "the WebSocket was never closed");

    // And the web listener still opens new ones.
    let mut again = ws_client(web).await;
    if again.expect_any_or_closed(&["Account: "]).await.is_none() {
        panic!("{}", server.log_lines().join("\n"));
    }
    assert_eq!(server.terminate().await, Some(0));
}

/// SPEC §15: a script's handler paused in `wait()` lives in the old image's
/// VM and cannot come along. Its event is dropped, the builder channel is
/// told after `Upgrade complete.`, and the script itself carries on in the
/// new image.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_script_paused_in_wait_is_dropped_by_an_upgrade_and_the_builders_are_told() {
    let dir = temp_dir();
    let exe = second_copy(dir.path());
    let script =
        "function on_command(a, verb, rest)\n  say('Hold on.')\n  wait(60)\n  say('There.')\nend\n";
    let worlds = crate::npcs::alive_world(
        &dir.path().join("w"),
        r#", "commands": ["ask"], "script": "tam.lua""#,
        &[("tam.lua", script)],
    );
    let exe_arg = exe.to_str().expect("utf-8 path").to_string();
    let mut server = launch(
        &dir.path().join("gaslamp.db"),
        &worlds,
        &["--exe", &exe_arg, "--max-signups-per-ip", "0"],
        &[("MUD_ADMIN_USER", "Ada"), ("MUD_ADMIN_PASSWORD", PASSWORD)],
    )
    .await;
    let mut ada = admin_in_game(&server).await;
    let mut ann = Client::connect(server.addr).await;
    ann.create("ann", PASSWORD).await;
    ann.enter("1").await;
    ann.send("ask").await;
    ann.expect("Old Tam says, \"Hold on.\"").await;
    // Tam's handler now waits a minute; Ann is not ignored meanwhile.
    ann.command("look").await;

    sigusr2(&server);
    ann.expect(COMPLETE).await;
    // (Ada's client told no width: the line is wrapped at 80 columns.)
    let told = ada.expect("its event is lost.").await.replace("\r\n", " ");
    assert!(
        told.contains(COMPLETE),
        "told before the upgrade ended: {told}"
    );
    assert!(
        told.contains(
            "[builder] alive: [script] npc:z:tam: a handler paused in wait() was dropped by the upgrade; its event is lost."
        ),
        "{told}"
    );
    server
        .expect_log(&[
            "an upgrade dropped a script's paused handlers",
            "owner=npc:z:tam",
        ])
        .await;
    // The script carries on in the new image: a new ask is answered.
    ann.send("ask").await;
    let again = ann.expect("Old Tam says, \"Hold on.\"").await;
    assert!(!again.contains("There."), "{again}");
    assert_eq!(server.terminate().await, Some(0));
}
