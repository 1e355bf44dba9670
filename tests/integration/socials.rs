//! Socials, pose and finger (issue 17, item 6) over TCP, with the shipped
//! socials file: a social alone and at someone, the sentences a social
//! gives itself, ignore, commands and exits winning, `socials`, `pose`,
//! `finger`; and the file checked by `check-worlds` and the start, through
//! the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::channels::{player, quit, two_worlds};
use crate::support::*;
use gaslamp::ServerConfig;

/// The shipped socials file.
fn shipped_socials() -> PathBuf {
    shipped_worlds().join("socials.toml")
}

/// The two fixture worlds, with the shipped socials.
fn with_socials(dir: &Path) -> ServerConfig {
    ServerConfig {
        socials_file: Some(shipped_socials()),
        ..two_worlds(dir)
    }
}

/// Ann, Ben and Cat in one room, Ann having seen the others arrive.
async fn three(server: &TestServer) -> (Client, Client, Client) {
    let mut ann = player(server, "Ann").await;
    let mut ben = player(server, "Ben").await;
    let cat = player(server, "Cat").await;
    ann.expect("Cat arrives.").await;
    ben.expect("Cat arrives.").await;
    (ann, ben, cat)
}

#[tokio::test]
async fn a_social_alone_and_at_someone_says_its_sentences_to_each() {
    let dir = temp_dir();
    let server = TestServer::start_with(with_socials(dir.path())).await;
    let (mut ann, mut ben, mut cat) = three(&server).await;
    assert_eq!(ann.command("smile").await, "You smile.");
    ben.expect("Ann smiles.").await;
    cat.expect("Ann smiles.").await;
    assert_eq!(ann.command("SMILE ben").await, "You smile at Ben.");
    ben.expect("Ann smiles at you.").await;
    cat.expect("Ann smiles at Ben.").await;
    // A social with sentences of its own.
    assert_eq!(ann.command("bow cat").await, "You bow before Cat.");
    cat.expect("Ann bows before you.").await;
    ben.expect("Ann bows before Cat.").await;
    assert_eq!(ann.command("cry").await, "You burst into tears.");
    ben.expect("Ann bursts into tears.").await;
    // At oneself it is made alone; at nobody here, refused.
    assert_eq!(ann.command("wave me").await, "You wave.");
    assert_eq!(ann.command("wave zed").await, "zed isn't here.");
    assert_eq!(ann.command("pose sits down.").await, "Ann sits down.");
    ben.expect("Ann sits down.").await;
    let listed = ann.command("socials").await;
    assert!(listed.starts_with("Socials ("), "{listed}");
    for name in ["smile", "bow", "hug", "wave", "facepalm"] {
        assert!(
            listed.split_whitespace().any(|w| w == name),
            "{name} in {listed}"
        );
    }
    // Socials are never shortened: "smil" is no command.
    assert!(ann.command("smil").await.starts_with("Huh?"));
    server.stop().await;
}

#[tokio::test]
async fn nobody_who_ignores_the_actor_sees_a_social() {
    let dir = temp_dir();
    let server = TestServer::start_with(with_socials(dir.path())).await;
    let (mut ann, mut ben, mut cat) = three(&server).await;
    assert_eq!(ben.command("ignore Ann").await, "You ignore Ann.");
    assert_eq!(ann.command("wave").await, "You wave.");
    assert_eq!(ann.command("hug ben").await, "You hug Ben.");
    cat.expect("Ann waves.").await;
    cat.expect("Ann hugs Ben.").await;
    // Ben's next line arrives after anything Ann's socials sent him.
    cat.command("say marker").await;
    let heard = ben.expect("Cat says, \"marker\"").await;
    assert!(!heard.contains("Ann"), "{heard}");
    server.stop().await;
}

#[tokio::test]
async fn commands_and_exits_win_over_socials() {
    let dir = temp_dir();
    let worlds = dir.path().join("worlds");
    write_world(
        &worlds,
        "ship",
        r#"{"name": "The Ship", "description": "", "default_spawn": {"zone": "z", "room": "deck"}, "zones": ["z"]}"#,
        &[(
            "z",
            r#"{"id": "z", "name": "Z", "description": "", "spawn_room": "deck",
                "rooms": [
                  {"id": "deck", "name": "The Deck", "description": "Planks.", "exits": {"bow": "fore"}, "items": []},
                  {"id": "fore", "name": "The Bow", "description": "Spray.", "exits": {"aft": "deck"}, "items": []}
                ]}"#,
        )],
    );
    std::fs::copy(shipped_socials(), worlds.join("socials.toml"))
        .expect("socials beside the worlds");
    let config = ServerConfig::for_tests(dir.path().join("g.db"), worlds);
    let server = TestServer::start_with(config).await;
    let mut ann = player(&server, "Ann").await;
    // The exit called "bow" wins over the social; in the next room it is
    // the social again.
    assert!(ann.command("bow").await.contains("The Bow"));
    assert_eq!(ann.command("bow").await, "You bow gracefully.");
    assert!(ann.command("aft").await.contains("The Deck"));
    // The socials beside the worlds were read without --socials.
    assert_eq!(ann.command("grin").await, "You grin.");
    server.stop().await;
}

#[tokio::test]
async fn finger_tells_the_world_playing_or_last_seen_and_staff() {
    let dir = temp_dir();
    let server = TestServer::start_with(with_socials(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let ben = player(&server, "Ben").await;
    let playing = ann.command("finger ben").await;
    assert!(
        playing.starts_with("Ben, of The Undertaking: playing now, idle "),
        "{playing}"
    );
    quit(ben).await;
    let seen = ann.command("finger Ben").await;
    assert!(
        seen.starts_with("Ben, of The Undertaking: last seen 20") && seen.ends_with(" UTC."),
        "{seen}"
    );
    server.set_role("Ben", "admin");
    let staff = ann.command("finger Ben").await;
    assert!(
        staff.starts_with("Ben, of The Undertaking (admin): last seen"),
        "{staff}"
    );
    assert_eq!(
        ann.command("finger Zed").await,
        "There is nobody called Zed in The Undertaking."
    );
    assert_eq!(
        ann.command("finger Zed@nowhere").await,
        "There is no world \"nowhere\"."
    );
    let elsewhere = ann.command("finger Ann@pipeworks_web").await;
    assert!(
        elsewhere.starts_with("There is nobody called Ann in "),
        "{elsewhere}"
    );
    assert_eq!(
        ann.command("finger").await,
        "Usage: finger <name or name@world>"
    );
    server.stop().await;
}

/// Runs the binary with `args`, returning its exit code and stderr.
fn gaslamp(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gaslamp"))
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gaslamp binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_worlds_checks_the_socials_naming_file_social_and_field() {
    let shipped = shipped_worlds().to_string_lossy().into_owned();
    let (code, out, err) = gaslamp(&["--worlds", &shipped, "check-worlds"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" social(s) OK ("), "{out}");

    let dir = temp_dir();
    let bad = dir.path().join("socials.toml");
    std::fs::write(
        &bad,
        "[[social]]\nname = \"smile\"\n\n[[social]]\nname = \"wave\"\nroom_at = \"<Name> waves at <Whom>.\"\n\n[[social]]\nname = \"look\"\n",
    )
    .expect("a bad file");
    let bad = bad.to_string_lossy().into_owned();
    let (code, out, err) = gaslamp(&["--worlds", &shipped, "--socials", &bad, "check-worlds"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("{bad}: social 2 (\"wave\").room_at: \"<Whom>\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{bad}: social 3 (\"look\").name")),
        "{err}"
    );
    assert!(err.contains("2 error(s) in the socials."), "{err}");

    // A file named but missing is an error too.
    let missing = dir.path().join("none.toml").to_string_lossy().into_owned();
    let (code, _, err) = gaslamp(&["--worlds", &shipped, "--socials", &missing, "check-worlds"]);
    assert_eq!(code, 1);
    assert!(err.contains("none.toml: cannot read it"), "{err}");
}

#[tokio::test]
async fn a_bad_socials_file_stops_the_start() {
    let dir = temp_dir();
    let bad = dir.path().join("socials.toml");
    std::fs::write(&bad, "[[social]]\nname = \"smile\"\nshout = \"x\"\n").expect("a bad file");
    let config = ServerConfig {
        socials_file: Some(bad),
        ..two_worlds(dir.path())
    };
    let err = match gaslamp::Server::start(config).await {
        Ok(_) => panic!("the server started on a bad socials file"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("social 1 (\"smile\").shout: unknown field"),
        "{err}"
    );
}

#[tokio::test]
async fn help_lists_the_new_commands_in_their_groups_and_explains_them() {
    let dir = temp_dir();
    let server = TestServer::start_with(with_socials(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let help = ann.command("help").await;
    let at = |needle: &str| {
        help.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {help}"))
    };
    // Each under its group's heading, in the groups' order.
    assert!(
        at("Talking:") < at("\n  mail [") && at("\n  mail [") < at("Items:"),
        "{help}"
    );
    assert!(at("Talking:") < at("\n  socials ") && at("\n  socials ") < at("Items:"));
    assert!(at("Information:") < at("\n  finger ") && at("\n  finger ") < at("Your account:"));
    assert!(at("Your account:") < at("\n  alias [") && at("\n  unalias ") > at("Your account:"));
    assert!(
        help.contains("Socials: 39 (\"socials\" lists them"),
        "{help}"
    );
    assert!(help.contains("Channels: ooc, newbie"), "{help}");

    let mail = ann.command("help mail").await;
    assert!(mail.starts_with("mail [<name> <subject>"), "{mail}");
    for needle in [
        "\"mail read <n>\"",
        "4,000 characters and 100 lines",
        "500 letters",
        "10 letters in 10 minutes",
        "Guests cannot send mail.",
    ] {
        assert!(mail.contains(needle), "{needle} in {mail}");
    }
    let alias = ann.command("help alias").await;
    assert!(alias.contains("$1 to $9"), "{alias}");
    let ooc = ann.command("help ooc").await;
    assert!(ooc.contains("ooc history [n]"), "{ooc}");
    assert_eq!(
        ann.command("help bow").await,
        "bow: a social (\"socials\" lists them all). Alone:\r\n  you see: You bow gracefully.\r\n  \
         the room sees: <Name> bows gracefully.\r\nAt someone (\"bow <name>\"):\r\n  \
         you see: You bow before <Target>.\r\n  they see: <Name> bows before you.\r\n  \
         the others see: <Name> bows before <Target>."
    );
    assert!(ann.command("help pose").await.contains("Also: :, pose"));
    server.stop().await;
}
