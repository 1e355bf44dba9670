//! The server-wide channels (SPEC §12 "Channels") over TCP, two worlds at
//! once: a line heard in every world with the speaker's world named, on/off
//! kept per account, history from the database after a restart, the
//! catch-up line, channels a role cannot read, guests, mutes on a live
//! connection, the busy records, /prune, GMCP decoded on the client's side,
//! and a channel named like a command refusing the start.
//!
//! The worlds are the predecessor's fixtures: `daily_undertaking` (the
//! default, where every account's first character stands) and
//! `pipeworks_web`.

use std::path::Path;

use gaslamp::ServerConfig;
use gaslamp::config::{ChannelConfig, ChannelSetting, channels_with};

use crate::support::*;

/// The default world, where accounts' first characters play.
pub const HOME: &str = "daily_undertaking";
/// The other world.
pub const AWAY: &str = "pipeworks_web";

/// A server over the two fixture worlds.
pub fn two_worlds(dir: &Path) -> ServerConfig {
    ServerConfig {
        default_world: Some(HOME.into()),
        ..ServerConfig::for_tests(dir.join("gaslamp.db"), fixture_worlds())
    }
}

/// A new account playing its first character (named after it) in `HOME`.
pub async fn player(server: &TestServer, account: &str) -> Client {
    let mut c = server.connect().await;
    c.create(account, PASSWORD).await;
    c.enter("1").await;
    c
}

/// A new account playing a new character `name` in `AWAY`.
pub async fn player_away(server: &TestServer, account: &str, name: &str) -> Client {
    let mut c = server.connect().await;
    c.create(account, PASSWORD).await;
    c.send(&format!("world {AWAY}")).await;
    c.expect("Characters of").await;
    c.expect("Character: ").await;
    c.send(&format!("new {name}")).await;
    c.expect("\r\n> ").await;
    c
}

/// Logs an existing account in again and plays its first character.
pub async fn back_in(server: &TestServer, account: &str) -> (Client, String) {
    let mut c = server.connect().await;
    c.connect_as(account, PASSWORD).await;
    let entered = c.enter("1").await;
    (c, entered)
}

/// Leaves the game for good and waits for the close.
pub async fn quit(mut c: Client) {
    c.send("quit").await;
    c.expect_closed().await;
}

/// The row of `channels`' listing for one channel.
fn channel_row<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {listing}"))
}

/// What `listener` received up to `marker`, which a later line carries:
/// what came before it arrived before it, so a line not in it never came.
pub async fn heard_before(listener: &mut Client, marker: &str) -> String {
    listener.expect(marker).await
}

#[tokio::test]
async fn a_channel_line_reaches_every_world_naming_the_speakers_world_elsewhere() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    let mut pip = player_away(&server, "Pipacct", "Pip").await;
    assert_eq!(
        ann.command("ooc Good evening, \u{1b}[2Jeveryone!").await,
        "[ooc] Ann: Good evening, everyone!"
    );
    ben.expect("[ooc] Ann: Good evening, everyone!").await;
    pip.expect(&format!("[ooc] Ann@{HOME}: Good evening, everyone!"))
        .await;
    assert_eq!(
        pip.command("newbie Where am I?").await,
        "[newbie] Pip: Where am I?"
    );
    ann.expect(&format!("[newbie] Pip@{AWAY}: Where am I?"))
        .await;
    ben.expect(&format!("[newbie] Pip@{AWAY}: Where am I?"))
        .await;
    for alone in ["ooc", "OOC", "ooc   "] {
        let status = ann.command(alone).await.replace("\r\n", " ");
        assert!(
            status.starts_with(
                "ooc: Out-of-character talk, heard in every world. You have it on; 3 listening now."
            ),
            "{status}"
        );
    }
    let listed = ann.command("channels").await;
    let ooc = channel_row(&listed, "ooc");
    assert!(
        ooc.contains(" on ") && ooc.contains("   3 listening"),
        "{listed}"
    );
    assert!(channel_row(&listed, "newbie").contains(" on "), "{listed}");
    assert!(
        !listed.contains("admin"),
        "a player hears no admin channel: {listed}"
    );
    server.game.writer().flush().await.expect("flush");
    let stored: (String, String, String, String) = server
        .db()
        .query_row(
            "SELECT kind, channel, world_id, message FROM chat_messages WHERE channel = 'newbie'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("the newbie line is stored");
    assert_eq!(
        stored,
        (
            "channel".into(),
            "newbie".into(),
            AWAY.into(),
            "Where am I?".into()
        )
    );
    let room = ann.command("history").await;
    assert!(!room.contains("Good evening"), "no room's talk: {room}");
    server.stop().await;
}

#[tokio::test]
async fn a_channel_turned_off_is_not_heard_refuses_speaking_and_stays_off() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    assert_eq!(ann.command("ooc off").await, "You turn ooc off.");
    ben.command("ooc anyone there?").await;
    ben.command("newbie marker one").await;
    let heard = heard_before(&mut ann, "[newbie] Ben: marker one").await;
    assert!(!heard.contains("anyone there"), "{heard}");
    assert_eq!(
        ann.command("ooc hello").await,
        "You have ooc turned off; \"ooc on\" turns it back on."
    );
    let listed = ann.command("channels").await;
    assert!(channel_row(&listed, "ooc").contains(" off "), "{listed}");
    // Kept with the account: a new connection has it off too.
    quit(ann).await;
    let (mut ann, _) = back_in(&server, "Ann").await;
    ben.command("ooc still there?").await;
    ben.command("newbie marker two").await;
    let heard = heard_before(&mut ann, "[newbie] Ben: marker two").await;
    assert!(!heard.contains("still there"), "{heard}");
    assert_eq!(ann.command("ooc on").await, "You turn ooc on.");
    ben.command("ooc welcome back").await;
    ann.expect("[ooc] Ben: welcome back").await;
    server.stop().await;
}

#[tokio::test]
async fn a_channel_the_role_cannot_read_is_an_unknown_command() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    for line in ["admin hello", "builder hello", "admin", "help admin"] {
        let answer = ann.command(line).await;
        assert!(
            answer == "Huh? Type \"help\" for a list of commands."
                || answer.starts_with("There is no help on"),
            "{line}: {answer}"
        );
    }
    let mut boss = server.player_with_role("Boss", "admin").await;
    let mut wren = server.player_with_role("Wren", "worldbuilder").await;
    assert_eq!(
        boss.command("admin staff only").await,
        "[admin] Boss: staff only"
    );
    assert_eq!(
        boss.command("builder new rooms?").await,
        "[builder] Boss: new rooms?"
    );
    wren.expect("[builder] Boss: new rooms?").await;
    let heard = wren.command("builder yes").await;
    assert_eq!(heard, "[builder] Wren: yes");
    assert!(
        !wren.all_text().contains("staff only"),
        "{}",
        wren.all_text()
    );
    let help = boss.command("help admin").await;
    assert!(
        help.starts_with("admin: The staff's own channel."),
        "{help}"
    );
    assert!(help.contains("admin history [n]"), "{help}");
    let listed = boss.command("help").await;
    assert!(
        listed.contains("\r\nMore:\r\n  Channels: ooc, newbie, builder, admin ("),
        "{listed}"
    );
    let _ = ann;
    server.stop().await;
}

#[tokio::test]
async fn a_guest_listens_on_ooc_and_is_sent_to_newbie() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut guest = server.connect().await;
    guest.expect("Account: ").await;
    guest.send("guest").await;
    guest.expect("Character name: ").await;
    guest.send("Gus").await;
    guest.expect("\r\n> ").await;
    assert_eq!(
        guest.command("ooc hello all").await,
        "Guests cannot speak on ooc; \"newbie\" is open to you."
    );
    assert_eq!(guest.command("newbie hello").await, "[newbie] Gus: hello");
    ann.expect("[newbie] Gus: hello").await;
    ann.command("ooc hi Gus").await;
    guest.expect("[ooc] Ann: hi Gus").await;
    assert!(!ann.all_text().contains("hello all"));
    server.stop().await;
}

#[tokio::test]
async fn channel_history_is_read_from_the_database_after_a_restart() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut pip = player_away(&server, "Pipacct", "Pip").await;
    ann.command("ooc first").await;
    pip.command("ooc second").await;
    ann.command("ooc third").await;
    quit(ann).await;
    quit(pip).await;
    server.stop().await;
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, _) = back_in(&server, "Ann").await;
    let history = ann.command("ooc history").await;
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines[0], "Recent lines on ooc (times in UTC):", "{history}");
    assert_eq!(lines.len(), 4, "{history}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(lines[1].starts_with(&format!("[{today} ")), "{history}");
    assert!(lines[1].ends_with("] Ann: first"), "{history}");
    assert!(
        lines[2].ends_with(&format!("] Pip@{AWAY}: second")),
        "{history}"
    );
    assert!(lines[3].ends_with("] Ann: third"), "{history}");
    let last = ann.command("ooc history 1").await;
    assert_eq!(last.lines().count(), 2, "{last}");
    assert!(last.ends_with("] Ann: third"), "{last}");
    assert_eq!(
        ann.command("newbie history").await,
        "Nothing has been said on newbie yet."
    );
    // "history" followed by words is a line like any other.
    assert_eq!(
        ann.command("ooc history repeats itself").await,
        "[ooc] Ann: history repeats itself"
    );
    server.stop().await;
}

#[tokio::test]
async fn entering_the_game_tells_what_each_channel_had_while_the_account_was_away() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    let mut pip = player_away(&server, "Pipacct", "Pip").await;
    // The connection closes only once its session's records are ended, the
    // note of when the account left among them.
    quit(ann).await;
    ben.command("ooc one").await;
    pip.command("ooc two").await;
    ben.command("newbie three").await;
    let (mut ann, entered) = back_in(&server, "Ann").await;
    assert!(
        entered.contains("[ooc] new since you were last here: 2; \"ooc history\" shows them."),
        "{entered}"
    );
    assert!(
        entered
            .contains("[newbie] new since you were last here: 1; \"newbie history\" shows them."),
        "{entered}"
    );
    assert!(!entered.contains("[builder]"), "{entered}");
    // Nothing new since: no line on the next entry.
    ann.send("characters").await;
    ann.expect("Character: ").await;
    let again = ann.enter("1").await;
    assert!(!again.contains("new since"), "{again}");
    server.stop().await;
}

#[tokio::test]
async fn a_muted_player_on_a_live_connection_is_refused_and_nobody_hears_it() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    let mut boss = server.player_with_role("Boss", "admin").await;
    let muted = boss.command("/mute ann ooc 2h flooding").await;
    assert!(muted.starts_with("Ann is muted on ooc until "), "{muted}");
    assert!(muted.ends_with(" UTC."), "{muted}");
    let told = ann.expect(" UTC.").await;
    assert!(told.contains("You are muted on ooc until "), "{told}");
    let refused = ann.command("ooc can anyone hear me").await;
    let until = refused
        .strip_prefix("You are muted on ooc until ")
        .and_then(|rest| rest.strip_suffix(" UTC."))
        .unwrap_or_else(|| panic!("{refused}"));
    let until = chrono::NaiveDateTime::parse_from_str(until, "%Y-%m-%d %H:%M").expect("a time");
    let in_two_hours = chrono::Utc::now().naive_utc() + chrono::Duration::hours(2);
    assert!((in_two_hours - until).num_minutes().abs() <= 1, "{refused}");
    // The other channels are open to her.
    assert_eq!(ann.command("newbie marker").await, "[newbie] Ann: marker");
    let heard = heard_before(&mut ben, "[newbie] Ann: marker").await;
    assert!(!heard.contains("can anyone hear me"), "{heard}");
    assert_eq!(
        boss.command("/unmute ann").await,
        "Ann may speak on every channel again."
    );
    ann.expect("You may speak on every channel again.").await;
    assert_eq!(ann.command("ooc thanks").await, "[ooc] Ann: thanks");
    assert_eq!(
        boss.command("/mute Ann all").await,
        "Ann is muted on every channel."
    );
    assert_eq!(ann.command("newbie hm").await, "You are muted on newbie.");
    assert_eq!(
        boss.command("/unmute ann ooc").await,
        "Ann was not muted on ooc."
    );
    assert_eq!(
        boss.command("/mute ann shouting").await,
        "There is no channel \"shouting\"."
    );
    let bad = boss.command("/mute ann ooc 5x rude").await;
    assert!(bad.starts_with("\"5x\" is not"), "{bad}");
    assert_eq!(
        boss.command("/mute boss ooc").await,
        "You can't do that to your own account."
    );
    // Kept in the database: a new connection is still muted.
    quit(ann).await;
    let (mut ann, _) = back_in(&server, "Ann").await;
    assert_eq!(ann.command("ooc back").await, "You are muted on ooc.");
    let rows: Vec<(Option<String>, String, Option<String>)> = server
        .audit_rows()
        .into_iter()
        .filter(|(_, action, _)| action.contains("mute"))
        .collect();
    let actions: Vec<&str> = rows.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(actions, ["mute", "unmute", "mute", "unmute"], "{rows:?}");
    assert!(
        rows.iter()
            .all(|(actor, _, target)| actor.as_deref() == Some("Boss")
                && target.as_deref() == Some("Ann"))
    );
    let mut player = ben;
    assert_eq!(
        player.command("/mute ann ooc").await,
        "You don't have permission to use /mute."
    );
    server.stop().await;
}

#[tokio::test]
async fn a_channel_line_the_records_cannot_keep_is_refused_before_anyone_hears_it() {
    let dir = temp_dir();
    let config = ServerConfig {
        writer_queue: 4,
        ..two_worlds(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    let writer = server.game.writer().clone();
    writer.flush().await.expect("flush");
    let pages: i64 = server
        .db()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("pages");
    writer.limit_pages(Some(pages.unsigned_abs()));
    let long = "x".repeat(900);
    let mut refused = None;
    for n in 0..40 {
        let answer = ann.command(&format!("ooc line {n:02} {long}")).await;
        if answer.contains("The game's records are busy; try again.") {
            refused = Some(n);
            break;
        }
    }
    let refused = refused.expect("the queue filled and the line was refused");
    writer.limit_pages(None);
    writer.flush().await.expect("flush");
    assert_eq!(ann.command("ooc done").await, "[ooc] Ann: done");
    let heard = ben.expect("[ooc] Ann: done").await.replace("\r\n", " ");
    assert!(
        !heard.contains(&format!("line {refused:02} ")),
        "the refused line was heard"
    );
    if refused > 0 {
        assert!(
            heard.contains(&format!("line {:02} ", refused - 1)),
            "{heard}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn prune_cuts_old_channel_lines_with_the_rest() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut root = server.player_with_role("Root", "superuser").await;
    root.command("ooc old words").await;
    server.game.writer().flush().await.expect("flush");
    server
        .db()
        .execute(
            "UPDATE chat_messages SET created_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .expect("age the line");
    root.command("ooc new words").await;
    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        root.command("/prune 24h").await,
        "1 chat line(s) older than 24h deleted."
    );
    let history = root.command("ooc history").await;
    assert!(
        history.contains("new words") && !history.contains("old words"),
        "{history}"
    );
    server.stop().await;
}

/// A client that agreed to GMCP and asked for `packages`, as `protocols`
/// does.
async fn gmcp_client(server: &TestServer, packages: &str) -> Client {
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let mut hello = vec![IAC, DO, GMCP, IAC, SB, GMCP];
    hello.extend(format!("Core.Supports.Set {packages}").as_bytes());
    hello.extend([IAC, SE]);
    c.send_raw(&hello).await;
    c
}

#[tokio::test]
async fn gmcp_lists_the_channels_and_carries_every_channel_line() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = gmcp_client(&server, r#"["Comm.Channel 1"]"#).await;
    ann.send(&format!("create Ann {PASSWORD}")).await;
    ann.expect("Character: ").await;
    ann.enter("1").await;
    let list = ann.expect_gmcp("Comm.Channel.List").await;
    assert_eq!(
        list,
        serde_json::json!([
            {"name": "ooc", "caption": "Out-of-character talk, heard in every world.", "command": "ooc"},
            {"name": "newbie", "caption": "Questions and answers for new players, guests welcome.", "command": "newbie"}
        ])
    );
    let mut pip = gmcp_client(&server, r#"["Room 1"]"#).await;
    pip.send(&format!("create Pipacct {PASSWORD}")).await;
    pip.expect("Character: ").await;
    pip.send(&format!("world {AWAY}")).await;
    pip.expect("Characters of").await;
    pip.send("new Pip").await;
    pip.expect("\r\n> ").await;
    pip.command("ooc hello from the web").await;
    let text = ann.expect_gmcp("Comm.Channel.Text").await;
    assert_eq!(
        text,
        serde_json::json!({
            "channel": "ooc",
            "talker": format!("Pip@{AWAY}"),
            "text": format!("[ooc] Pip@{AWAY}: hello from the web")
        })
    );
    ann.command("ooc hi").await;
    let own = ann.expect_gmcp("Comm.Channel.Text").await;
    assert_eq!(own["talker"], "Ann");
    assert_eq!(own["text"], "[ooc] Ann: hi");
    ann.command("ooc off").await;
    let list = ann.expect_gmcp("Comm.Channel.List").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["name"], "newbie");
    assert!(
        !pip.gmcp_messages()
            .iter()
            .any(|(name, _)| name.starts_with("Comm")),
        "a client that did not ask for Comm.Channel gets none: {:?}",
        pip.gmcp_messages()
    );
    server.stop().await;
}

#[tokio::test]
async fn configured_channels_change_the_defaults_and_one_named_like_a_command_stops_the_start() {
    let dir = temp_dir();
    let settings = [
        ChannelSetting {
            name: "ooc".into(),
            guests: Some(true),
            ..ChannelSetting::default()
        },
        ChannelSetting {
            name: "trade".into(),
            description: Some("Buying and selling.".into()),
            ..ChannelSetting::default()
        },
    ];
    let config = ServerConfig {
        channels: channels_with(&settings).expect("channels"),
        ..two_worlds(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut ann = player(&server, "Ann").await;
    assert_eq!(
        ann.command("trade lamp oil, cheap").await,
        "[trade] Ann: lamp oil, cheap"
    );
    assert!(
        ann.command("channels")
            .await
            .contains("Buying and selling.")
    );
    server.stop().await;
    for word in ["say", "l", "who"] {
        let mut channels = ChannelConfig::defaults();
        channels.push(ChannelConfig {
            name: word.into(),
            ..channels[0].clone()
        });
        let config = ServerConfig {
            channels,
            ..two_worlds(dir.path())
        };
        let refused = match gaslamp::Server::start(config).await {
            Ok(_) => panic!("a channel called {word} must not start"),
            Err(err) => err.to_string(),
        };
        assert!(
            refused.contains(&format!("channel \"{word}\" is named like a command")),
            "{refused}"
        );
    }
}

#[test]
fn the_binary_refuses_to_start_with_a_channel_named_like_a_command() {
    let dir = temp_dir();
    let config = dir.path().join("gaslamp.toml");
    let run = |toml: &str| {
        std::fs::write(&config, toml).expect("config");
        let db = dir.path().join("g.db");
        let worlds = shipped_worlds();
        let args = [
            "--config".as_ref(),
            config.as_os_str(),
            "--db".as_ref(),
            db.as_os_str(),
            "--worlds".as_ref(),
            worlds.as_os_str(),
            "run".as_ref(),
            "--bind=127.0.0.1:0".as_ref(),
            "--web-bind=off".as_ref(),
        ];
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gaslamp"))
            .args(args)
            .env_clear()
            .env("RUST_LOG", "warn")
            .output()
            .expect("the gaslamp binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let (code, stderr) = run("[[channel]]\nname = \"look\"\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("channel \"look\" is named like a command"),
        "{stderr}"
    );
    let (code, stderr) = run("[[channel]]\nname = \"trade\"\nwrite = \"wizard\"\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("gaslamp.toml"), "{stderr}");
    assert!(stderr.contains("must be a role"), "{stderr}");
}

/// A mute committed while its player is entering the game must hold on the
/// new connection: the arrival reads the account's mutes and the mute's
/// live half looks for the member, and in between neither may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mute_made_while_its_player_enters_the_game_holds() {
    let dir = temp_dir();
    // Forty rounds of four commands each, as fast as they go.
    let config = ServerConfig {
        commands_per_second: 1_000,
        command_burst: 1_000,
        ..two_worlds(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let mut boss = server.player_with_role("Boss", "admin").await;
    // Out of the room Ann enters, so her comings and goings are no answer.
    boss.command("west").await;
    let ann = player(&server, "Ann").await;
    quit(ann).await;
    let mut ann = server.connect().await;
    ann.connect_as("Ann", PASSWORD).await;
    for round in 0..40 {
        send_together(vec![
            (&mut ann, "1".to_string()),
            (&mut boss, "/mute ann ooc".to_string()),
        ])
        .await;
        boss.expect("Ann is muted on ooc.\r\n> ").await;
        // Told once, whenever the mute came: in the menu or in the game.
        let both = ["You are muted on ooc.", "Exits: north, west, down."];
        let (first, _) = ann.expect_any(&both).await;
        ann.expect(both[1 - first]).await;
        ann.send("ooc can you hear me").await;
        let answer = ann
            .expect_any(&["You are muted on ooc.", "[ooc] Ann: can you hear me"])
            .await;
        assert_eq!(
            answer.0, 0,
            "round {round}: the mute was lost: {}",
            answer.1
        );
        assert_eq!(
            boss.command("/unmute ann").await,
            "Ann may speak on every channel again."
        );
        ann.expect("You may speak on every channel again.").await;
        ann.send("characters").await;
        ann.expect("Character: ").await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_demoted_admin_stops_hearing_the_admin_channel_at_once() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut root = server.player_with_role("Root", "superuser").await;
    let mut boss = server.player_with_role("Boss", "admin").await;
    root.expect("Boss arrives.").await;
    root.command("admin one").await;
    boss.expect("[admin] Root: one").await;
    root.command("/role boss player").await;
    boss.expect("Your role is now player.").await;
    root.command("admin two").await;
    root.command("ooc marker").await;
    let heard = boss.expect("[ooc] Root: marker").await;
    assert!(!heard.contains("two"), "{heard}");
    assert_eq!(
        boss.command("admin am I still here").await,
        "Huh? Type \"help\" for a list of commands."
    );
    server.stop().await;
}

#[tokio::test]
async fn a_takeover_listens_on_the_new_connection_and_owes_no_catch_up() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    ann.expect("Ben arrives.").await;
    ben.command("ooc while you were here").await;
    ann.expect("[ooc] Ben: while you were here").await;
    let (mut again, entered) = back_in(&server, "Ann").await;
    ann.expect("Your character was taken over by a new connection.")
        .await;
    assert!(!entered.contains("new since"), "{entered}");
    ben.command("ooc after the takeover").await;
    again.expect("[ooc] Ben: after the takeover").await;
    let listed = ben.command("channels").await;
    let ooc = listed
        .lines()
        .find(|l| l.trim_start().starts_with("ooc "))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        ooc.contains("   2 listening"),
        "one listener each: {listed}"
    );
    server.stop().await;
}
