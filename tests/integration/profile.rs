//! Who a character is (issue 17, item 5) over TCP: `describe` and what
//! `look <name>` shows, kept per character across a new connection; `afk`
//! until the next command, what tellers and whisperers are told, and `who`;
//! `reply` to the last tell.

use crate::channels::{back_in, player, quit, two_worlds};
use crate::support::*;

/// Ann and Ben in the same room, Ann having seen Ben arrive.
async fn ann_and_ben(server: &TestServer) -> (Client, Client) {
    let mut ann = player(server, "Ann").await;
    let ben = player(server, "Ben").await;
    ann.expect("Ben arrives.").await;
    (ann, ben)
}

#[tokio::test]
async fn a_description_is_what_others_see_and_stays_with_the_character() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    assert_eq!(
        ben.command("look ann").await,
        "Ann is here, looking back at you."
    );
    assert_eq!(
        ann.command("describe").await,
        "You have not described yourself; \"describe <text>\" does it."
    );
    assert_eq!(
        ann.command("describe A tall woman in a \u{1b}[31mgreen coat.")
            .await,
        "Others who look at you now see:\r\nA tall woman in a green coat."
    );
    assert_eq!(
        ben.command("look ann").await,
        "Ann\r\nA tall woman in a green coat."
    );
    assert_eq!(
        ann.command("look me").await,
        "You look yourself over.\r\nA tall woman in a green coat."
    );
    // 1,010 characters: within a line's 1,024 bytes, past a description's cut.
    let long = "words".repeat(202);
    let kept = ann.command(&format!("describe {long}")).await;
    let stored: String = server
        .db()
        .query_row(
            "SELECT description FROM characters WHERE name = 'Ann'",
            [],
            |r| r.get(0),
        )
        .expect("described");
    let kept_chars = stored.chars().count();
    assert!(
        (990..=1000).contains(&kept_chars),
        "cut at 1,000 characters: {kept_chars}"
    );
    assert!(
        kept.starts_with("Others who look at you now see:"),
        "{kept}"
    );
    ann.command("describe A tall woman in a green coat.").await;
    quit(ann).await;
    let (mut ann, _) = back_in(&server, "Ann").await;
    ben.expect("Ann arrives.").await;
    assert_eq!(
        ann.command("describe").await,
        "Others who look at you see:\r\nA tall woman in a green coat."
    );
    assert_eq!(
        ben.command("look ann").await,
        "Ann\r\nA tall woman in a green coat."
    );
    server.stop().await;
}

#[tokio::test]
async fn away_is_told_to_tellers_and_whisperers_shown_by_who_and_ends_with_the_next_command() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    assert_eq!(
        ann.command("afk making tea.").await,
        "You are away: making tea. Your next command brings you back."
    );
    assert_eq!(
        ben.command("tell ann are you there?").await,
        "You tell Ann, \"are you there?\"\r\nAnn is away: making tea."
    );
    assert_eq!(
        ben.command("whisper ann psst").await,
        "You whisper to Ann, \"psst\"\r\nAnn is away: making tea."
    );
    let who = ben.command("who").await;
    let ann_row = who
        .lines()
        .find(|line| line.trim_start().starts_with("Ann "))
        .unwrap_or_else(|| panic!("{who}"));
    assert!(ann_row.contains("idle "), "{who}");
    assert!(ann_row.ends_with("away: making tea"), "{who}");
    let ben_row = who
        .lines()
        .find(|line| line.trim_start().starts_with("Ben "))
        .unwrap_or_else(|| panic!("{who}"));
    assert!(!ben_row.contains("away"), "{who}");
    ann.expect("Ben whispers to you, \"psst\"").await;
    // Her next command brings her back, and says so first.
    let answer = ann.command("look").await;
    assert!(answer.starts_with("You are back.\r\n"), "{answer}");
    assert_eq!(
        ben.command("tell ann again").await,
        "You tell Ann, \"again\""
    );
    assert!(!ben.command("who").await.contains("away"));
    // afk alone has a message of its own; afk again only changes it.
    assert_eq!(
        ann.command("afk").await,
        "You are away: away from the keyboard. Your next command brings you back."
    );
    assert_eq!(
        ann.command("afk back at six").await,
        "You are away: back at six. Your next command brings you back."
    );
    assert_eq!(
        ben.command("tell ann hm").await,
        "You tell Ann, \"hm\"\r\nAnn is away: back at six."
    );
    server.stop().await;
}

#[tokio::test]
async fn reply_answers_the_last_tell() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    let mut cyd = player(&server, "Cyd").await;
    ann.expect("Cyd arrives.").await;
    ben.expect("Cyd arrives.").await;
    assert_eq!(
        ann.command("reply hello?").await,
        "Nobody has told you anything yet."
    );
    ben.command("tell ann meet me at the pipe").await;
    ann.expect("Ben tells you, \"meet me at the pipe\"").await;
    cyd.command("tell ann me too").await;
    ann.expect("Cyd tells you, \"me too\"").await;
    assert_eq!(
        ann.command("reply on my way").await,
        "You tell Cyd, \"on my way\""
    );
    cyd.expect("Ann tells you, \"on my way\"").await;
    assert_eq!(cyd.command("reply good").await, "You tell Ann, \"good\"");
    ann.expect("Cyd tells you, \"good\"").await;
    quit(cyd).await;
    ann.expect("Cyd leaves the game.").await;
    assert_eq!(ann.command("reply still there?").await, "Cyd isn't online.");
    assert_eq!(ann.command("reply").await, "Usage: reply <text>");
    server.stop().await;
}

#[tokio::test]
async fn a_takeover_keeps_the_character_away_and_its_reply() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, mut ben) = ann_and_ben(&server).await;
    ben.command("tell ann one moment").await;
    ann.expect("Ben tells you, \"one moment\"").await;
    ann.command("afk on the stairs").await;
    let (mut again, _) = back_in(&server, "Ann").await;
    ann.expect("Your character was taken over by a new connection.")
        .await;
    assert_eq!(
        ben.command("tell ann still?").await,
        "You tell Ann, \"still?\"\r\nAnn is away: on the stairs."
    );
    again.expect("Ben tells you, \"still?\"").await;
    let answer = again.command("reply yes").await;
    assert_eq!(answer, "You are back.\r\nYou tell Ben, \"yes\"");
    server.stop().await;
}
