//! Ignore (SPEC §12 "Ignore") over TCP: on each path that delivers another
//! player's words — say, emote, whisper, tell, yell, a channel, and the
//! histories read back — for the account behind the character, in every
//! world, with nobody told; staff and `/wall` cannot be ignored; the list;
//! unignore; and ignores kept across a restart.
//!
//! Whether a line did not arrive is seen by a later marker line that did:
//! each listener's queue keeps the order lines were sent in.

use crate::channels::{AWAY, HOME, back_in, player, player_away, quit, two_worlds};
use crate::support::*;

/// Ann ignores Bob; Cyd stands by, hearing everything. All three in the
/// default world's spawn, each having seen the others arrive.
async fn ann_bob_cyd(server: &TestServer) -> (Client, Client, Client) {
    let mut ann = player(server, "Ann").await;
    let mut bob = player(server, "Bob").await;
    ann.expect("Bob arrives.").await;
    let cyd = player(server, "Cyd").await;
    ann.expect("Cyd arrives.").await;
    bob.expect("Cyd arrives.").await;
    assert_eq!(ann.command("ignore bob").await, "You ignore Bob.");
    (ann, bob, cyd)
}

/// Cyd says `marker` on ooc; returns what `listener` got before it.
async fn until_marker(cyd: &mut Client, listener: &mut Client, marker: &str) -> String {
    cyd.command(&format!("ooc {marker}")).await;
    listener.expect(&format!("[ooc] Cyd: {marker}")).await
}

#[tokio::test]
async fn an_ignored_account_reaches_the_ignorer_on_no_path_and_nobody_is_told() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, mut bob, mut cyd) = ann_bob_cyd(&server).await;
    // Bob sees each of his lines as always, and Cyd hears them all.
    let lines = [
        ("say one", "You say, \"one\"", "Bob says, \"one\""),
        ("emote two", "Bob two", "Bob two"),
        ("yell three", "You yell, \"three\"", "Bob yells, \"three\""),
        ("ooc four", "[ooc] Bob: four", "[ooc] Bob: four"),
        (
            "whisper cyd five",
            "You whisper to Cyd, \"five\"",
            "Bob whispers to you, \"five\"",
        ),
    ];
    for (line, seen, heard) in lines {
        assert_eq!(bob.command(line).await, seen, "{line}");
        cyd.expect(heard).await;
    }
    assert_eq!(
        bob.command("whisper ann six").await,
        "You whisper to Ann, \"six\""
    );
    cyd.expect("Bob whispers something to Ann.").await;
    assert_eq!(
        bob.command("tell ann seven").await,
        "You tell Ann, \"seven\""
    );
    let heard = until_marker(&mut cyd, &mut ann, "marker").await;
    for word in ["one", "two", "three", "four", "five", "six", "seven", "Bob"] {
        assert!(!heard.contains(word), "{word} reached Ann: {heard}");
    }
    // Ann still hears everyone else.
    cyd.command("say fine here").await;
    ann.expect("Cyd says, \"fine here\"").await;
    // Nor does she read Bob back from the records.
    let history = ann.command("history").await;
    assert!(history.contains("Cyd says, \"fine here\""), "{history}");
    assert!(!history.contains("Bob"), "{history}");
    let ooc = ann.command("ooc history").await;
    assert!(ooc.contains("Cyd: marker") && !ooc.contains("Bob"), "{ooc}");
    let seen_by_cyd = cyd.command("history").await;
    assert!(seen_by_cyd.contains("Bob says, \"one\""), "{seen_by_cyd}");
    // Nobody told Bob anything.
    assert!(!bob.all_text().contains("ignore"), "{}", bob.all_text());
    server.stop().await;
}

#[tokio::test]
async fn an_ignore_is_of_the_account_in_every_world_and_can_be_lifted() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut cyd = player(&server, "Cyd").await;
    // Bob's account plays Pip in the other world; Ann names him there.
    let mut pip = player_away(&server, "Bob", "Pip").await;
    assert_eq!(
        ann.command(&format!("ignore pip@{AWAY}")).await,
        format!("You ignore Pip@{AWAY}.")
    );
    pip.command("ooc from afar").await;
    let heard = until_marker(&mut cyd, &mut ann, "first").await;
    assert!(!heard.contains("from afar"), "{heard}");
    // Bob's other character, in Ann's own world, is the same account.
    quit(pip).await;
    let (mut bob, _) = back_in(&server, "Bob").await;
    bob.command("say it is me again").await;
    bob.command("ooc me again").await;
    let heard = until_marker(&mut cyd, &mut ann, "second").await;
    assert!(!heard.contains("me again"), "{heard}");
    let list = ann.command("ignore").await;
    assert_eq!(
        list,
        format!("You ignore (1 of at most 100):\r\n  Pip@{AWAY}")
    );
    assert_eq!(ann.command("unignore bob").await, "You stop ignoring Bob.");
    assert_eq!(ann.command("ignore").await, "You ignore nobody.");
    bob.command("ooc hello again").await;
    ann.expect("[ooc] Bob: hello again").await;
    assert_eq!(
        ann.command("unignore bob").await,
        "You are not ignoring Bob."
    );
    server.stop().await;
}

#[tokio::test]
async fn staff_and_announcements_cannot_be_ignored() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut boss = server.player_with_role("Boss", "admin").await;
    ann.expect("Boss arrives.").await;
    assert_eq!(ann.command("ignore boss").await, "You cannot ignore staff.");
    assert_eq!(
        ann.command("ignore ann").await,
        "You cannot ignore yourself."
    );
    assert_eq!(
        ann.command("ignore nobody").await,
        "There is nobody called nobody in The Undertaking."
    );
    assert_eq!(
        ann.command("ignore pip@nowhere").await,
        "There is no world \"nowhere\"."
    );
    boss.command("/wall Mind the lamps.").await;
    ann.expect("Mind the lamps.").await;
    boss.command("say staff speaking").await;
    ann.expect("Boss says, \"staff speaking\"").await;
    let _ = HOME;
    server.stop().await;
}

#[tokio::test]
async fn an_account_that_becomes_staff_is_heard_though_it_was_ignored() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, mut bob, mut cyd) = ann_bob_cyd(&server).await;
    let mut root = server.player_with_role("Root", "superuser").await;
    root.command("/role bob admin").await;
    bob.expect("Your role is now admin.").await;
    bob.command("say now I am staff").await;
    ann.expect("Bob says, \"now I am staff\"").await;
    let list = ann.command("ignore").await;
    assert!(
        list.contains("Bob (staff now, so heard all the same)"),
        "{list}"
    );
    let _ = cyd.command("look").await;
    server.stop().await;
}

#[tokio::test]
async fn ignores_are_kept_across_a_restart() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (ann, bob, cyd) = ann_bob_cyd(&server).await;
    quit(ann).await;
    quit(bob).await;
    quit(cyd).await;
    server.stop().await;
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let (mut ann, _) = back_in(&server, "Ann").await;
    let (mut bob, _) = back_in(&server, "Bob").await;
    let (mut cyd, _) = back_in(&server, "Cyd").await;
    bob.command("ooc remember me?").await;
    let heard = until_marker(&mut cyd, &mut ann, "after the restart").await;
    assert!(!heard.contains("remember me"), "{heard}");
    server.stop().await;
}
