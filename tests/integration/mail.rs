//! Mail (issue 17, item 3) over TCP: letters to a character offline, read
//! after it logs in; the editor (its lines are text, not commands, and a
//! pasted letter is not cut by the command rate), the one-line form, read,
//! delete and reply; the refusals; an ignored sender's letters kept but
//! never shown; a takeover while writing; and the sending rate held by
//! parallel senders of one account.

use crate::channels::{back_in, player, quit, two_worlds};
use crate::support::*;

/// The editor's first words (SPEC §12).
const WRITE: &str =
    "Write your message; end it with a line holding only \".\", or \"~q\" to throw it away.";

/// Sends a line typed into the editor and waits for its next prompt.
async fn line(c: &mut Client, text: &str) {
    c.send(text).await;
    c.expect("] ").await;
}

/// Starts writing a letter: the command, then the editor's intro and prompt.
async fn start_letter(c: &mut Client, command: &str) {
    c.skip_shown_prompts();
    c.send(command).await;
    // The sentence is wrapped at the client's width; its start is enough.
    c.expect(&WRITE[..40]).await;
    c.expect("\r\n] ").await;
}

fn mail_rows(server: &TestServer) -> i64 {
    server.count("SELECT count(*) FROM mail")
}

#[tokio::test]
async fn mail_to_an_offline_character_is_read_after_it_logs_in() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let ben = player(&server, "Ben").await;
    quit(ben).await;
    let mut ann = player(&server, "Ann").await;
    start_letter(&mut ann, "mail ben The lanterns").await;
    line(&mut ann, "Dear Ben,").await;
    // A command word in a letter is text.
    line(&mut ann, "look").await;
    line(&mut ann, "Meet me at the \u{1b}[31mquay.").await;
    assert_eq!(ann.command(".").await, "Mail sent to Ben.");
    assert_eq!(ann.command("mail").await, "You have no mail.");

    let (mut ben, entered) = back_in(&server, "Ben").await;
    assert!(
        entered.contains("Unread mail: 1; type \"mail\" to read it."),
        "{entered}"
    );
    let listed = ben.command("mail").await;
    let mut rows = listed.lines();
    assert_eq!(rows.next(), Some("Mail for Ben:"));
    let row = rows.next().expect("one letter");
    assert!(row.starts_with("  1) *Ann The lanterns 20"), "{row}");
    assert_eq!(row.len(), "  1) *Ann The lanterns ".len() + 16, "{row}");
    let read = ben.command("mail read 1").await;
    assert!(read.starts_with("From: Ann\r\nDate: 20"), "{read}");
    assert!(
        read.ends_with(
            " UTC\r\nSubject: The lanterns\r\n\r\nDear Ben,\r\nlook\r\nMeet me at the quay."
        ),
        "{read}"
    );
    assert!(ben.command("mail").await.contains("  1) Ann The lanterns "));
    assert_eq!(
        ben.command("mail read 2").await,
        "You have no message 2; \"mail\" lists yours."
    );

    // A reply reaches Ann at once, its subject with "Re: " once.
    ann.skip_shown_prompts();
    assert_eq!(
        ben.command("mail reply 1 = On my way.").await,
        "Mail sent to Ann."
    );
    ann.expect("You have new mail from Ben.").await;
    let read = ann.command("mail read 1").await;
    assert!(
        read.contains("Subject: Re: The lanterns\r\n\r\nOn my way."),
        "{read}"
    );
    start_letter(&mut ann, "mail reply 1").await;
    line(&mut ann, "Good.").await;
    assert_eq!(ann.command(".").await, "Mail sent to Ben.");
    ben.expect("You have new mail from Ann.").await;
    let listed = ben.command("mail").await;
    assert!(listed.contains("  2) *Ann Re: The lanterns "), "{listed}");

    assert_eq!(ben.command("mail delete 1").await, "Message 1 deleted.");
    let listed = ben.command("mail").await;
    assert!(
        listed.contains("  1) *Ann Re: The lanterns "),
        "renumbered: {listed}"
    );
    assert_eq!(ben.command("mail delete 1").await, "Message 1 deleted.");
    assert_eq!(ben.command("mail").await, "You have no mail.");
    quit(ben).await;
    let (_ben, entered) = back_in(&server, "Ben").await;
    assert!(!entered.contains("Unread mail"), "{entered}");
    server.stop().await;
}

#[tokio::test]
async fn the_editor_throws_away_caps_a_letter_and_takes_a_pasted_one_whole() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let _ben = player(&server, "Ben").await;
    start_letter(&mut ann, "mail Ben Nothing").await;
    line(&mut ann, "Never mind.").await;
    assert_eq!(ann.command("~q").await, "Mail thrown away.");
    assert_eq!(mail_rows(&server), 0);

    // 60 lines in one write: past the command rate's burst of 40, and all kept.
    start_letter(&mut ann, "mail Ben A long one").await;
    let pasted: String = (1..=60).map(|n| format!("line {n}\r\n")).collect();
    ann.send_raw(pasted.as_bytes()).await;
    ann.send(".").await;
    ann.expect("Mail sent to Ben.").await;
    let body: String = server
        .db()
        .query_row("SELECT body FROM mail", [], |r| r.get(0))
        .expect("the letter");
    assert_eq!(body.lines().count(), 60, "{body}");
    assert!(!ann.all_text().contains("Slow down"));

    // 100 lines at most: the 101st is refused, once, and the rest is sent.
    start_letter(&mut ann, "mail Ben Too long").await;
    let pasted: String = (1..=105).map(|n| format!("{n}\r\n")).collect();
    ann.send_raw(pasted.as_bytes()).await;
    ann.expect("That line does not fit: a text holds at most 4000 characters and 100 lines.")
        .await;
    let sent = ann.command(".").await;
    assert!(sent.ends_with("] Mail sent to Ben."), "{sent}");
    let told = ann.all_text().matches("does not fit").count();
    assert_eq!(told, 1);
    let lines: String = server
        .db()
        .query_row(
            "SELECT body FROM mail WHERE subject = 'Too long'",
            [],
            |r| r.get(0),
        )
        .expect("the letter");
    assert_eq!(lines.lines().count(), 100);
    server.stop().await;
}

#[tokio::test]
async fn mail_refuses_unknown_names_guests_a_full_mailbox_and_too_much_mail() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let _ben = player(&server, "Ben").await;
    let unknown = ann.command("mail Zed Hello = hi").await;
    assert!(
        unknown.starts_with("There is nobody called Zed in "),
        "{unknown}"
    );
    assert_eq!(ann.command("mail read").await, "Usage: mail read <n>");

    let mut guest = server.connect().await;
    guest.expect("Account: ").await;
    guest.send("guest").await;
    guest.expect("Character name: ").await;
    guest.send("Gus").await;
    guest.expect("\r\n> ").await;
    assert_eq!(
        guest.command("mail Ann Hi").await,
        "Guests cannot send mail."
    );
    // Mail to a guest is mail like any other.
    assert_eq!(
        ann.command("mail Gus Welcome = hello").await,
        "Mail sent to Gus."
    );
    guest.expect("You have new mail from Ann.").await;

    for n in 2..=10 {
        assert_eq!(
            ann.command(&format!("mail Ben Note {n} = hi")).await,
            "Mail sent to Ben."
        );
    }
    assert_eq!(
        ann.command("mail Ben One more = hi").await,
        "You have sent too much mail; try again later."
    );
    assert_eq!(
        ann.command("mail Ben One more").await,
        "You have sent too much mail; try again later.",
        "refused before the letter is written"
    );
    server
        .db()
        .execute(
            "UPDATE mail_sent SET sent_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .expect("the rate's window passed");
    server
        .db()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 491) \
             INSERT INTO mail (world_id, recipient_id, sender_name, subject, body, sent_at) \
             SELECT world_id, id, 'X', 's', 'b', '' FROM characters, n WHERE name = 'Ben'",
        )
        .expect("a full mailbox");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM mail WHERE recipient_id = \
             (SELECT id FROM characters WHERE name = 'Ben')"
        ),
        500
    );
    assert_eq!(
        ann.command("mail Ben One more = hi").await,
        "Ben's mailbox is full."
    );
    server.stop().await;
}

#[tokio::test]
async fn mail_from_an_ignored_account_is_kept_but_never_shown() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    assert_eq!(ben.command("ignore Ann").await, "You ignore Ann.");
    assert_eq!(ann.command("mail Ben Hi = psst").await, "Mail sent to Ben.");
    assert_eq!(mail_rows(&server), 1);
    assert_eq!(ben.command("mail").await, "You have no mail.");
    assert_eq!(
        ben.command("mail read 1").await,
        "You have no message 1; \"mail\" lists yours."
    );
    quit(ben).await;
    let (mut ben, entered) = back_in(&server, "Ben").await;
    assert!(!entered.contains("Unread mail"), "{entered}");
    assert!(!ben.all_text().contains("new mail"));
    assert_eq!(ben.command("unignore Ann").await, "You stop ignoring Ann.");
    assert!(ben.command("mail").await.contains("  1) *Ann Hi "));
    server.stop().await;
}

#[tokio::test]
async fn a_takeover_reaches_a_player_in_the_mail_editor_and_the_letter_is_not_sent() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let _ben = player(&server, "Ben").await;
    start_letter(&mut ann, "mail Ben Half a letter").await;
    line(&mut ann, "I was about to say").await;
    let (mut again, _) = back_in(&server, "Ann").await;
    ann.expect(TAKEN_OVER_LINE).await;
    ann.expect_closed().await;
    // The new connection plays on; the old one's letter was never sent.
    assert_eq!(again.command("mail").await, "You have no mail.");
    assert_eq!(mail_rows(&server), 0);
    assert!(again.command("look").await.contains("Ben"));
    server.stop().await;
}

#[tokio::test]
async fn a_kick_a_ban_or_a_shutdown_reaches_a_player_in_the_mail_editor_and_nothing_is_sent() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    let mut cal = player(&server, "Cal").await;
    let mut root = server.player_with_role("Root", "admin").await;
    start_letter(&mut ann, "mail Ben Interrupted").await;
    line(&mut ann, "Half of it").await;
    assert_eq!(
        root.command("/kick Ann enough").await,
        "Ann has been kicked."
    );
    ann.expect("You have been kicked from the game: enough")
        .await;
    ann.expect_closed().await;
    start_letter(&mut cal, "mail Ben Banned halfway").await;
    line(&mut cal, "Half of a rude letter").await;
    assert_eq!(root.command("/ban Cal rude").await, "Cal is banned.");
    let last = cal.expect_closed().await;
    assert!(
        last.contains("This account is banned.\r\nThe reason given: rude"),
        "{last}"
    );
    start_letter(&mut ben, "mail Root Also interrupted").await;
    line(&mut ben, "Half of this too").await;
    let db = server.db();
    server.stop().await;
    ben.expect("The server is shutting down.").await;
    ben.expect_closed().await;
    let letters: i64 = db
        .query_row("SELECT count(*) FROM mail", [], |r| r.get(0))
        .expect("count");
    assert_eq!(letters, 0);
}

const TAKEN_OVER_LINE: &str = "Your character was taken over by a new connection.";

/// Four connections of one account, each playing its own character, send
/// four letters each at the same moment: exactly ten are sent, the rate
/// being checked in the transaction that stores each letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_senders_of_one_account_cannot_pass_the_mail_rate_together() {
    let dir = temp_dir();
    let server = TestServer::start_with(two_worlds(dir.path())).await;
    let _ben = player(&server, "Ben").await;
    let first = player(&server, "Ann").await;
    let mut senders = vec![first];
    for name in ["Annb", "Annc", "Annd"] {
        let mut c = server.connect().await;
        c.connect_as("Ann", PASSWORD).await;
        c.send(&format!("new {name}")).await;
        c.expect("\r\n> ").await;
        senders.push(c);
    }
    let burst: String = (1..=4)
        .map(|n| format!("mail Ben Note {n} = hi\r\n"))
        .collect();
    futures::future::join_all(senders.iter_mut().map(|c| {
        let burst = burst.clone();
        async move {
            c.skip_shown_prompts();
            c.send_raw(burst.as_bytes()).await;
        }
    }))
    .await;
    let mut sent = 0;
    let mut refused = 0;
    for c in &mut senders {
        for _ in 0..4 {
            let (which, _) = c
                .expect_any(&[
                    "Mail sent to Ben.",
                    "You have sent too much mail; try again later.",
                ])
                .await;
            if which == 0 {
                sent += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert_eq!((sent, refused), (10, 6));
    assert_eq!(mail_rows(&server), 10);
    server.stop().await;
}
