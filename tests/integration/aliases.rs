//! Aliases (issue 17, item 4) over TCP: `$1`, `$*` and `;`, one level of
//! expansion, first in the matching order, kept per account across
//! characters and connections, each limit with its sentence, and the
//! command rate counting what an alias runs.

use crate::channels::{back_in, player, quit, two_worlds};
use crate::support::*;

#[tokio::test]
async fn an_alias_takes_the_typed_words_and_runs_its_commands() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ben = player(&server, "Ben").await;
    let mut ann = player(&server, "Ann").await;
    ben.expect("Ann arrives.").await;
    assert_eq!(
        ann.command("alias gt tell Ben $*; say done").await,
        "Alias set: gt = tell Ben $*; say done"
    );
    let ran = ann.command("gt hello there").await;
    assert_eq!(ran, "You tell Ben, \"hello there\"\r\nYou say, \"done\"");
    ben.expect("Ann tells you, \"hello there\"").await;
    ben.expect("Ann says, \"done\"").await;

    assert_eq!(
        ann.command("alias two say $2 then $1").await,
        "Alias set: two = say $2 then $1"
    );
    assert_eq!(ann.command("TWO a b").await, "You say, \"b then a\"");
    assert_eq!(
        ann.command("alias two say $1").await,
        "Alias changed: two = say $1"
    );
    // No $: what is typed goes at the end.
    ann.command("alias t tell").await;
    assert_eq!(ann.command("t ben psst").await, "You tell Ben, \"psst\"");
    // An alias comes before a command word, and is not expanded again.
    ann.command("alias look say looking; look").await;
    ann.skip_shown_prompts();
    ann.send("look").await;
    ann.expect("You say, \"looking\"").await;
    ann.expect("Exits:").await;
    assert_eq!(ann.command("alias look").await, "look = say looking; look");
    let listed = ann.command("alias").await;
    assert!(
        listed.starts_with("Your aliases (4 of at most 50):\r\n  gt = tell Ben $*; say done"),
        "{listed}"
    );
    assert_eq!(ann.command("unalias LOOK").await, "Alias removed: look.");
    assert_eq!(ann.command("unalias look").await, "You have no alias look.");
    assert!(ann.command("look").await.contains("Exits:"));
    server.stop().await;
}

#[tokio::test]
async fn aliases_are_kept_per_account_for_every_character() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    ann.command("alias hullo say hello all").await;
    quit(ann).await;
    let (mut ann, _) = back_in(&server, "Ann").await;
    assert_eq!(ann.command("hullo").await, "You say, \"hello all\"");
    // A second character of the account, on a second connection, has it;
    // a change on one is seen on the other at once.
    let mut other = server.connect().await;
    other.connect_as("Ann", PASSWORD).await;
    other.send("new Annette").await;
    other.expect("\r\n> ").await;
    assert_eq!(other.command("hullo").await, "You say, \"hello all\"");
    ann.command("alias hullo say hello again").await;
    assert_eq!(other.command("hullo").await, "You say, \"hello again\"");
    // Another account has none of them.
    let mut ben = player(&server, "Ben").await;
    assert_eq!(
        ben.command("alias").await,
        "You have no aliases; \"alias <word> <commands>\" makes one."
    );
    assert!(ben.command("hullo").await.starts_with("Huh?"));
    server.stop().await;
}

#[tokio::test]
async fn each_alias_limit_is_refused_with_its_sentence() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let ann = player(&server, "Ann").await;
    quit(ann).await;
    server
        .db()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 49) \
             INSERT INTO aliases (user_id, word, expansion) \
             SELECT id, 'a' || i, 'look' FROM users, n WHERE username = 'Ann'",
        )
        .expect("49 aliases");
    let (mut ann, _) = back_in(&server, "Ann").await;
    assert_eq!(
        ann.command("alias alias look").await,
        "\"alias\" and \"unalias\" cannot be aliased."
    );
    assert_eq!(
        ann.command("alias unalias look").await,
        "\"alias\" and \"unalias\" cannot be aliased."
    );
    assert_eq!(
        ann.command("alias don't look").await,
        "An alias is one word of letters, digits, - and _, at most 20 long."
    );
    assert_eq!(
        ann.command(&format!("alias long say {}", "x".repeat(252)))
            .await,
        "An alias holds at most 255 characters."
    );
    assert_eq!(
        ann.command(&format!("alias many {}", "n;".repeat(11)))
            .await,
        "An alias runs at most 10 commands, separated by \";\"."
    );
    assert_eq!(
        ann.command("alias fifty look").await,
        "Alias set: fifty = look"
    );
    assert_eq!(
        ann.command("alias more look").await,
        "You have 50 aliases already; \"unalias\" one first."
    );
    assert_eq!(
        ann.command("alias fifty exits").await,
        "Alias changed: fifty = exits",
        "changing one is no new alias"
    );
    let help = ann.command("help alias").await;
    for sentence in [
        "You have 50 aliases already; \"unalias\" one first.",
        "An alias holds at most 255 characters.",
        "An alias runs at most 10 commands, separated by \";\".",
        "An alias is one word of letters, digits, - and _, at most 20 long.",
        "\"alias\" and \"unalias\" cannot be aliased.",
    ] {
        assert!(help.contains(sentence), "{sentence} in {help}");
    }
    assert_eq!(server.count("SELECT count(*) FROM aliases"), 50);
    server.stop().await;
}

/// Five lines of an alias that runs ten commands are fifty commands: past
/// the command rate's burst of 40, so some are dropped with `Slow down.`
#[tokio::test]
async fn the_command_rate_counts_the_commands_an_alias_runs() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let ten = ["say x"; 10].join(";");
    ann.command(&format!("alias ten {ten}")).await;
    ann.command("alias").await;
    ann.send_raw(b"ten\r\nten\r\nten\r\nten\r\nten\r\n").await;
    // Five typed lines alone would never be slowed down.
    let before = ann.expect("Slow down.").await;
    let said = before.matches("You say, \"x\"").count();
    assert!((10..50).contains(&said), "{said} of 50 ran");
    server.stop().await;
}
