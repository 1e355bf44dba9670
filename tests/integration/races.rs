//! Regressions for races found by attacking the server with parallel clients
//! (SPEC §6: "decisions are made on fresh state in the transaction that acts on
//! them"). Each test releases the racing lines together and then waits for the
//! outcome; none of them waits for time to pass. Every test runs on a
//! multi-threaded runtime, so the racing connections' tasks really run at the
//! same time on different threads.

use std::sync::Arc;
use std::time::Duration;

use gaslamp::ServerConfig;
use gaslamp::config::{AddressLimit, LockoutPolicy};

use crate::support::*;

const WRONG: &str = "Wrong account name or password.";
const LOCKED: &str = "Too many failed logins; try again later.";
const BANNED: &str = "This account is banned.";
const TAKEN_OVER: &str = "Your character was taken over by a new connection.";
const THRESHOLD: u32 = 5;

/// The test configuration with a lock long enough that nothing expires during
/// a test, and room for many connections from one address.
fn racing_config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        lockout: LockoutPolicy {
            threshold: THRESHOLD,
            base: Duration::from_secs(60),
            max: Duration::from_secs(3600),
        },
        max_connections_per_ip: 1000,
        ..config(dir)
    }
}

/// Creates an account over telnet and leaves again.
async fn make_account(server: &TestServer, account: &str) {
    let mut c = server.connect().await;
    c.create(account, PASSWORD).await;
    c.send("quit").await;
    c.expect_closed().await;
}

/// How many of `clients` were answered that the password was wrong, and how
/// many that they were locked out.
async fn wrong_or_locked(clients: &mut [Client]) -> (u32, u32) {
    let (mut wrong, mut locked) = (0, 0);
    for c in clients {
        match c.expect_any(&[WRONG, LOCKED]).await.0 {
            0 => wrong += 1,
            _ => locked += 1,
        }
    }
    (wrong, locked)
}

/// `n` fresh connections, each waiting at `Account: `.
async fn at_account_prompt(server: &TestServer, n: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = server.connect().await;
        c.expect("Account: ").await;
        clients.push(c);
    }
    clients
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_get_no_more_than_the_threshold_of_checks() {
    let dir = temp_dir();
    let server = TestServer::start_with(racing_config(dir.path())).await;
    make_account(&server, "Lou").await;
    let mut clients = at_account_prompt(&server, 30).await;
    send_together(
        clients
            .iter_mut()
            .map(|c| (c, "connect Lou not-the-password-at-all".to_string()))
            .collect(),
    )
    .await;
    let (wrong, locked) = wrong_or_locked(&mut clients).await;
    assert_eq!(wrong + locked, 30);
    assert!(
        wrong <= THRESHOLD,
        "{wrong} parallel guesses were checked and answered {WRONG:?}; \
         the lock allows {THRESHOLD} ({locked} were refused as locked)"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_right_password_racing_wrong_ones_does_not_reopen_the_lock() {
    let dir = temp_dir();
    let server = TestServer::start_with(racing_config(dir.path())).await;
    for round in 0..4 {
        let account = format!("Rho{round}");
        make_account(&server, &account).await;
        let mut clients = at_account_prompt(&server, 30).await;
        // The right password goes in the middle of the burst.
        let right_one = 15;
        send_together(
            clients
                .iter_mut()
                .enumerate()
                .map(|(i, c)| {
                    let password = if i == right_one {
                        PASSWORD
                    } else {
                        "not-the-password-at-all"
                    };
                    (c, format!("connect {account} {password}"))
                })
                .collect(),
        )
        .await;
        let (mut wrong, mut locked) = (0, 0);
        let mut got_in = false;
        for (i, c) in clients.iter_mut().enumerate() {
            let (which, text) = c.expect_any(&[WRONG, LOCKED, "Character: "]).await;
            match which {
                0 => {
                    assert_ne!(i, right_one, "the right password was called wrong: {text}");
                    wrong += 1;
                }
                1 => locked += 1,
                _ => {
                    assert_eq!(i, right_one, "a wrong password got in: {text}");
                    got_in = true;
                }
            }
        }
        // Up to threshold-1 failures before the success, which clears the
        // count, then up to threshold after it; without the success, the
        // lock holds at threshold.
        let allowed = if got_in { 2 * THRESHOLD - 1 } else { THRESHOLD };
        assert!(
            wrong <= allowed,
            "round {round}: {wrong} guesses answered {WRONG:?} ({locked} locked, \
             right password got in: {got_in}); at most {allowed} may be checked"
        );
    }
    server.stop().await;
}

/// `racing_config` with the failed-login limit of one client address set to
/// `count` in a long window (all the tests' clients come from 127.0.0.1).
fn address_limited_config(dir: &std::path::Path, count: u32) -> ServerConfig {
    ServerConfig {
        failed_logins_per_ip: AddressLimit {
            count,
            window: Duration::from_secs(3600),
        },
        ..racing_config(dir)
    }
}

/// Right passwords for `n` accounts sent together from one address; how
/// many got to `Character: `, and what the others were told.
async fn parallel_right_logins(server: &TestServer, n: usize) -> (usize, Vec<String>) {
    let accounts: Vec<String> = (0..n).map(|i| format!("Kin{i}")).collect();
    for account in &accounts {
        make_account(server, account).await;
    }
    let mut clients = at_account_prompt(server, n).await;
    send_together(
        clients
            .iter_mut()
            .zip(&accounts)
            .map(|(c, account)| (c, format!("connect {account} {PASSWORD}")))
            .collect(),
    )
    .await;
    let mut refused = Vec::new();
    let mut got_in = 0;
    for c in &mut clients {
        match c.expect_any(&[WRONG, LOCKED, "Character: "]).await {
            (2, _) => got_in += 1,
            (_, text) => refused.push(text),
        }
    }
    (got_in, refused)
}

/// A household behind one address logging in at once: every right password
/// gets in, however many there are and however small the address's limit.
/// The limit counted checks still running as failures, so the ones that came
/// while others were under way were told `Too many failed logins`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_right_passwords_from_one_address_all_get_in() {
    for count in [1, 5] {
        let dir = temp_dir();
        let server = TestServer::start_with(address_limited_config(dir.path(), count)).await;
        let (got_in, refused) = parallel_right_logins(&server, 12).await;
        assert!(
            refused.is_empty(),
            "with a limit of {count}, {got_in} of 12 right passwords got in; \
             the others were told: {refused:?}"
        );
        server.stop().await;
    }
}

/// The address's own limit holds against parallel guesses as the account's
/// lock does: 30 wrong passwords for 30 accounts at once from one address get
/// no more checks than the limit, and the rest are refused unchecked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_at_many_accounts_get_no_more_than_the_address_limit() {
    let dir = temp_dir();
    let server = TestServer::start_with(address_limited_config(dir.path(), THRESHOLD)).await;
    let mut clients = at_account_prompt(&server, 30).await;
    let runs = server.game.bcrypt_runs();
    send_together(
        clients
            .iter_mut()
            .enumerate()
            .map(|(i, c)| (c, format!("connect Nobody{i} not-the-password-at-all")))
            .collect(),
    )
    .await;
    let (wrong, locked) = wrong_or_locked(&mut clients).await;
    let checked = server.game.bcrypt_runs() - runs;
    assert_eq!(wrong + locked, 30);
    assert!(
        wrong <= THRESHOLD && checked <= u64::from(THRESHOLD),
        "{wrong} parallel guesses were answered {WRONG:?} and {checked} checked; \
         the address's limit allows {THRESHOLD}"
    );
    assert!(wrong > 0, "no guess was checked at all");
    server.stop().await;
}

/// The room a teleport sends players to in these tests: the last zone's spawn,
/// as the id and its name.
fn far_room(server: &TestServer) -> (String, String) {
    let world = server.game.default_world();
    let far = world.zones.last().expect("a zone").spawn.clone();
    let name = world.room(&far).expect("room").name.clone();
    (far.to_string(), name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_takeover_reaches_a_player_at_the_password_prompt() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut old = server.player_with_role("Pat", "player").await;
    old.send("password").await;
    old.expect("Old password: ").await;
    let mut new = server.connect().await;
    new.connect_as("Pat", PASSWORD).await;
    new.enter("1").await;
    let rest = old.expect_closed().await;
    assert!(rest.contains(TAKEN_OVER), "{rest}");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM sessions WHERE character_id = \
             (SELECT id FROM characters WHERE name = 'Pat')"
        ),
        1
    );
    new.send("look").await;
    new.expect("Exits:").await;
    server.stop().await;
}

/// Answers the in-game `password` prompts with empty lines until the game
/// prompt comes back. A prompt shown again (after lines that reached the player
/// while asked) is not answered twice.
async fn finish_password_prompts(c: &mut Client) {
    let stages = [
        "Old password: ",
        "New password: ",
        "Repeat password: ",
        "\r\n> ",
    ];
    // The caller has seen the first prompt.
    let mut answered = 0;
    c.send("").await;
    loop {
        let (stage, _) = c.expect_any(&stages).await;
        if stage == stages.len() - 1 {
            return;
        }
        if stage > answered {
            answered = stage;
            c.send("").await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_teleport_reaches_a_player_at_the_password_prompt() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    let (far, far_name) = far_room(&server);
    let went = admin.command(&format!("/goto {far}")).await;
    assert!(went.starts_with(&far_name), "{went}");
    p.send("password").await;
    p.expect("Old password: ").await;
    let sent = admin.command(&format!("/teleport pat {far}")).await;
    assert!(
        sent.contains(&format!("Pat is on the way to {far_name}.")),
        "{sent}"
    );
    finish_password_prompts(&mut p).await;
    p.send("look").await;
    let looked = p.expect("Exits:").await;
    assert!(
        looked.contains(&far_name),
        "Pat should stand in {far_name} after the teleport: {looked}"
    );
    if !sent.contains("Pat appears.") {
        admin.expect("Pat appears.").await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kick_reaches_a_player_at_the_password_prompt() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut p = server.player_with_role("Pat", "player").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    p.send("password").await;
    p.expect("Old password: ").await;
    let answer = admin.command("/kick pat too slow to type").await;
    assert!(answer.contains("Pat has been kicked."), "{answer}");
    let rest = p.expect_closed().await;
    assert!(
        rest.contains("You have been kicked from the game: too slow to type"),
        "{rest}"
    );
    assert_eq!(
        server.count(
            "SELECT count(*) FROM sessions WHERE user_id = \
             (SELECT id FROM users WHERE username = 'Pat')"
        ),
        0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_demoted_admin_loses_admin_commands_at_once() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ada = server.player_with_role("Ada", "admin").await;
    let mut root = server.player_with_role("Root", "superuser").await;
    root.command("/role Ada player").await;
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE username = 'Ada' AND role = 'player'"),
        1
    );
    ada.send("/wall hello").await;
    let (which, text) = ada
        .expect_any(&[
            "You don't have permission to use /wall.",
            "*** Announcement from Ada: hello",
        ])
        .await;
    assert_eq!(which, 0, "the demoted admin still walls: {text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_promoted_player_gains_admin_commands_at_once() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut pat = server.player_with_role("Pat", "player").await;
    let mut root = server.player_with_role("Root", "superuser").await;
    root.command("/role Pat admin").await;
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE username = 'Pat' AND role = 'admin'"),
        1
    );
    pat.send("/wall hello").await;
    let (which, text) = pat
        .expect_any(&[
            "*** Announcement from Pat: hello",
            "You don't have permission to use /wall.",
        ])
        .await;
    assert_eq!(which, 0, "the promoted player may not wall yet: {text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_racing_a_ban_never_stays_in() {
    let dir = temp_dir();
    // The default upkeep interval (30 s): the upkeep pass must not be what
    // closes a connection that slipped past the ban.
    // The admin types two commands a round, faster than a person would: the
    // rate limit is raised so it does not swallow them.
    let config = ServerConfig {
        max_connections_per_ip: 1000,
        commands_per_second: 1000,
        command_burst: 1000,
        ..config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    make_account(&server, "Vic").await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    let vic_sessions = "SELECT count(*) FROM sessions WHERE user_id = \
                        (SELECT id FROM users WHERE username = 'Vic')";
    for round in 0..30 {
        let mut c = server.connect().await;
        c.expect("Account: ").await;
        let ban = "/ban Vic".to_string();
        let login = format!("connect Vic {PASSWORD}");
        // Alternate who goes first within the burst.
        if round % 2 == 0 {
            send_together(vec![(&mut admin, ban), (&mut c, login)]).await;
        } else {
            send_together(vec![(&mut c, login), (&mut admin, ban)]).await;
        }
        let answer = admin.expect("\r\n> ").await;
        assert!(answer.contains("Vic is banned."), "round {round}: {answer}");
        // Refused at the Account prompt, or closed; if it reached the menu,
        // the ban must close it.
        match c.expect_any_or_closed(&[BANNED, "Character: "]).await {
            None => {}
            Some((0, _)) => {
                let next = c.expect_any_or_closed(&["Account: ", "Character: "]).await;
                assert!(
                    !matches!(next, Some((1, _))),
                    "round {round}: refused, yet in the menu: {}",
                    c.all_text()
                );
            }
            Some(_) => {
                eprintln!("round {round}: the login reached the menu; the ban must close it");
                let rest = c.expect_closed().await;
                assert!(
                    rest.contains(BANNED),
                    "round {round}: reached the menu and was closed without \
                     {BANNED:?}: {rest}"
                );
            }
        }
        assert_eq!(server.count(vic_sessions), 0, "round {round}");
        drop(c);
        assert!(
            admin
                .command("/unban Vic")
                .await
                .ends_with("Vic may log in again."),
            "round {round}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_new_characters_respect_the_slot_limit() {
    let dir = temp_dir();
    let server = TestServer::start_with(racing_config(dir.path())).await;
    // A digit in the account name: no first character is made.
    let mut first = server.connect().await;
    first.create("slot1", PASSWORD).await;
    let mut clients = vec![first];
    for _ in 1..16 {
        let mut c = server.connect().await;
        c.connect_as("slot1", PASSWORD).await;
        clients.push(c);
    }
    let names = [
        "Aldric", "Brenna", "Corwin", "Dagny", "Elowen", "Fenwick", "Greta", "Halden", "Isolde",
        "Jorund", "Kestrel", "Linnea", "Maren", "Nollan", "Orla", "Percival",
    ];
    send_together(
        clients
            .iter_mut()
            .zip(names)
            .map(|(c, name)| (c, format!("new {name}")))
            .collect(),
    )
    .await;
    let mut made: i64 = 0;
    for (c, name) in clients.iter_mut().zip(names) {
        let (which, text) = c.expect_any(&["\r\n> ", "Character: "]).await;
        if which == 0 {
            made += 1;
        } else {
            assert!(
                text.contains("You already have"),
                "{name} was refused for another reason: {text}"
            );
        }
    }
    let world = server.game.default_world();
    let count = server
        .db()
        .query_row(
            "SELECT count(*) FROM characters WHERE world_id = ?1 AND user_id = \
             (SELECT id FROM users WHERE username = 'slot1')",
            [&world.id],
            |r| r.get::<_, i64>(0),
        )
        .expect("count");
    assert!(
        count <= 10,
        "{count} characters exist for slot1 with 10 slots ({made} entered the game)"
    );
    assert_eq!(count, made, "every character made entered the game");
    server.stop().await;
}

/// How many players called `name` `who` lists.
fn listed(who: &str, name: &str) -> usize {
    who.lines()
        .filter(|line| line.split_whitespace().next() == Some(name))
        .count()
}

/// Issue 15: with A playing, B and C entering the same character together
/// could both stay in the game (C found B's claim on the character but not
/// B itself, so it took nobody over). Each round releases two newcomers from
/// the menu at once; afterwards exactly one connection plays the character,
/// and the two others were told they were taken over and closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_connections_entering_one_character_leave_it_played_once() {
    let dir = temp_dir();
    let server = TestServer::start_with(racing_config(dir.path())).await;
    make_account(&server, "Tri").await;
    let mut playing = server.connect().await;
    playing.connect_as("Tri", PASSWORD).await;
    playing.enter("1").await;
    let tri_sessions = "SELECT count(*) FROM sessions WHERE character_id = \
                        (SELECT id FROM characters WHERE name = 'Tri')";
    for round in 0..100 {
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let mut entering = Vec::new();
        for _ in 0..2 {
            let mut c = server.connect().await;
            c.connect_as("Tri", PASSWORD).await;
            let start = start.clone();
            entering.push(tokio::spawn(async move {
                start.wait().await;
                c.enter("1").await;
                c
            }));
        }
        let mut newcomers = Vec::new();
        for task in entering {
            newcomers.push(task.await.expect("entering task"));
        }
        // Both newcomers are past their entry: the registry is settled.
        let in_play = server
            .game
            .all_players()
            .iter()
            .filter(|p| p.name.as_ref() == "Tri")
            .count();
        assert_eq!(
            in_play, 1,
            "round {round}: Tri is played on {in_play} connections"
        );
        let rest = playing.expect_closed().await;
        assert!(rest.contains(TAKEN_OVER), "round {round}: {rest}");
        let [mut b, mut c] = <[Client; 2]>::try_from(newcomers)
            .ok()
            .expect("two newcomers");
        let (survivor, rest) = tokio::select! {
            rest = b.expect_closed() => (c, rest),
            rest = c.expect_closed() => (b, rest),
        };
        assert!(rest.contains(TAKEN_OVER), "round {round}: {rest}");
        playing = survivor;
        let who = playing.command("who").await;
        assert_eq!(listed(&who, "Tri"), 1, "round {round}: {who}");
        assert_eq!(server.count(tri_sessions), 1, "round {round}");
    }
    server.stop().await;
}
