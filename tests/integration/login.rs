//! The `Account: ` prompt and the character menu (SPEC §3).

use crate::support::*;

#[tokio::test]
async fn new_account_interactively_hides_the_password_and_makes_a_character() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    assert!(
        c.go_aheads.contains(&c.all_text().len()),
        "IAC GA follows the prompt"
    );
    c.send("new").await;
    c.expect("New account name: ").await;
    c.send("Alice").await;
    c.expect("Password: ").await;
    let prompt_at = c.all_text().rfind("Password: ").expect("prompt");
    let will_echo = c
        .negotiations
        .iter()
        .find(|n| n.verb == WILL && n.option == ECHO)
        .expect("IAC WILL ECHO sent for the password")
        .clone();
    assert!(
        will_echo.at_text_len <= prompt_at,
        "WILL ECHO comes before the prompt text"
    );
    c.send_raw(&[IAC, DO, ECHO]).await;
    c.send(PASSWORD).await;
    c.expect("Repeat password: ").await;
    c.send(PASSWORD).await;
    c.expect("Account Alice created.").await;
    let menu = c.expect("Character: ").await;
    assert!(menu.contains("Characters of Alice in"), "{menu}");
    assert!(menu.contains("1) Alice"), "{menu}");
    assert!(
        c.negotiations
            .iter()
            .any(|n| n.verb == WONT && n.option == ECHO),
        "IAC WONT ECHO after the password"
    );
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE username = 'Alice'"),
        1
    );
    assert_eq!(
        server.count("SELECT count(*) FROM characters WHERE name = 'Alice'"),
        1
    );
    let hash: String = server
        .db()
        .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
        .expect("hash");
    assert!(
        hash.starts_with("$2"),
        "stored as a bcrypt hash, not {hash}"
    );
    server.stop().await;
}

#[tokio::test]
async fn connect_and_interactive_login_work_and_wrong_answers_look_alike() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("bob", PASSWORD).await;
    c.send("quit").await;
    c.expect("Goodbye.").await;
    c.expect_closed().await;

    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("bob").await;
    c.expect("Password: ").await;
    c.send("not the password").await;
    let wrong = c.expect("Account: ").await;
    assert!(wrong.contains("Wrong account name or password."), "{wrong}");
    c.send("nobody").await;
    c.expect("Password: ").await;
    c.send(PASSWORD).await;
    let unknown = c.expect("Account: ").await;
    assert!(
        unknown.contains("Wrong account name or password."),
        "{unknown}"
    );
    c.send("BOB").await;
    c.expect("Password: ").await;
    c.send(PASSWORD).await;
    let menu = c.expect("Character: ").await;
    assert!(menu.contains("Characters of bob in"), "{menu}");
    server.stop().await;
}

#[tokio::test]
async fn three_failures_disconnect() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    for _ in 0..2 {
        c.expect("Account: ").await;
        c.send("connect ghost wrong-password-here").await;
        c.expect("Wrong account name or password.").await;
    }
    c.expect("Account: ").await;
    c.send("connect ghost wrong-password-here").await;
    let rest = c.expect_closed().await;
    assert!(rest.contains("Wrong account name or password."), "{rest}");
    assert!(!rest.contains("Account: "), "no fourth prompt: {rest}");
    server.stop().await;
}

#[tokio::test]
async fn registration_refuses_bad_names_taken_names_and_short_passwords() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Carol", PASSWORD).await;
    let mut d = server.connect().await;
    d.expect("Account: ").await;
    d.send(&format!("create carol {PASSWORD}")).await;
    assert!(
        d.expect("Account: ")
            .await
            .contains("That account name is taken.")
    );
    d.send(&format!("create 9lives {PASSWORD}")).await;
    assert!(
        d.expect("Account: ")
            .await
            .contains("Account names start with a letter.")
    );
    d.send("create Dave short").await;
    assert!(
        d.expect("Account: ")
            .await
            .contains("at least 12 characters")
    );
    assert_eq!(server.count("SELECT count(*) FROM users"), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_account_name_that_is_no_character_name_gets_no_character() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send(&format!("create erin_99 {PASSWORD}")).await;
    let menu = c.expect("Character: ").await;
    assert!(menu.contains("new <name>"), "{menu}");
    assert_eq!(server.count("SELECT count(*) FROM characters"), 0);
    c.send("new Erin").await;
    let entered = c.expect("\r\n> ").await;
    assert!(entered.contains("Exits:"), "{entered}");
    assert_eq!(
        server.count("SELECT count(*) FROM characters WHERE name = 'Erin'"),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn guests_get_a_numbered_account_with_their_chosen_character() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("guest").await;
    c.expect("Character name: ").await;
    c.send("Wanderer").await;
    // One question, then the account, its made-up password, and the game.
    let created = c.expect("\r\n> ").await;
    assert!(created.contains("Guest account guest_"), "{created}");
    assert!(
        created.contains("Lantern Square"),
        "in the game at once: {created}"
    );
    let account = created
        .split("Guest account ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .map(|name| name.trim_end_matches(';').to_string())
        .expect("the account's name");
    let password = created
        .split("Your password is: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("the password")
        .to_string();
    assert_eq!(password.split(' ').count(), 4, "four words: {password}");
    assert!(
        created.contains(&format!("connect {account} {password}")),
        "{created}"
    );
    let (is_guest, expires): (bool, Option<String>) = server
        .db()
        .query_row("SELECT is_guest, guest_expires_at FROM users", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("guest row");
    assert!(is_guest);
    assert!(expires.is_some());
    c.send("quit").await;
    c.expect_closed().await;
    // The guest can come back with what it was told.
    let mut again = server.connect().await;
    again.connect_as(&account, &password).await;
    assert!(again.enter("Wanderer").await.contains("Lantern Square"));
    server.stop().await;
}

#[tokio::test]
async fn a_guest_who_names_nobody_gets_a_free_name_and_taken_names_are_asked_again() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut first = server.connect().await;
    first.create("Rowan", PASSWORD).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("guest").await;
    c.expect("Character name: ").await;
    c.send("rowan").await;
    let taken = c.expect("Character name: ").await;
    assert!(
        taken.contains("The name Rowan is already taken in this world."),
        "{taken}"
    );
    c.send("look").await;
    assert!(c.expect("Character name: ").await.contains("command word"));
    c.send("").await;
    let entered = c.expect("\r\n> ").await;
    assert!(entered.contains("Guest account guest_"), "{entered}");
    let name: String = server
        .db()
        .query_row(
            "SELECT c.name FROM characters c JOIN users u ON u.id = c.user_id \
             WHERE u.is_guest = 1",
            [],
            |r| r.get(0),
        )
        .expect("the guest's character");
    assert!(
        entered.contains(&name),
        "{name} stands in the room: {entered}"
    );
    server.stop().await;
}

#[tokio::test]
async fn quit_at_a_guest_question_goes_back_to_the_account_prompt() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("guest").await;
    c.expect("Character name: ").await;
    c.send("quit").await;
    c.expect("Account: ").await;
    assert_eq!(server.count("SELECT count(*) FROM users"), 0);
    server.stop().await;
}

#[tokio::test]
async fn the_greeting_says_what_to_type_and_help_shows_it_again() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    let greeting = c.expect("Account: ").await;
    let block = "Type \"new\" to create an account";
    let welcome_at = greeting.find("Welcome to Lanternfall").expect("greeting");
    let block_at = greeting.find(block).expect("what to type");
    assert!(welcome_at < block_at, "{greeting}");
    for needle in ["connect <name> <password>", "\"guest\"", "\"quit\""] {
        assert!(greeting.contains(needle), "{needle}: {greeting}");
    }
    // help and ? show it again, as often as asked, and are no failed login.
    for ask in ["help", "?", "HELP", "?"] {
        c.send(ask).await;
        assert!(c.expect("Account: ").await.contains(block), "{ask}");
    }
    assert!(!c.closed);
    c.send(&format!("create Helped {PASSWORD}")).await;
    c.expect("Character: ").await;
    assert_eq!(
        server.count("SELECT count(*) FROM users WHERE username = 'help'"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn sign_up_checks_each_answer_at_once_and_never_throws_work_away() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut taken = server.connect().await;
    taken.create("Carol", PASSWORD).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("new").await;
    c.expect("New account name: ").await;
    // A taken name and an invalid one are refused at once, with the rule.
    c.send("carol").await;
    let refused = c.expect("New account name: ").await;
    assert!(refused.contains("That account name is taken."), "{refused}");
    c.send("9lives").await;
    let refused = c.expect("New account name: ").await;
    assert!(
        refused.contains("Account names start with a letter."),
        "{refused}"
    );
    c.send("Dave").await;
    // A weak password is refused before the repeat, every broken rule named.
    c.expect("Password: ").await;
    c.send("abcdefg").await;
    let weak = c.expect("Password: ").await;
    assert!(weak.contains("at least 12"), "{weak}");
    assert!(weak.contains("in a row"), "{weak}");
    assert!(!weak.contains("Repeat password: "), "{weak}");
    c.send(PASSWORD).await;
    c.expect("Repeat password: ").await;
    // A mismatch asks for both again, still for Dave.
    c.send("something else entirely").await;
    let mismatch = c.expect("Password: ").await;
    assert!(
        mismatch.contains("The passwords do not match"),
        "{mismatch}"
    );
    c.send(PASSWORD).await;
    c.expect("Repeat password: ").await;
    c.send(PASSWORD).await;
    c.expect("Account Dave created.").await;
    c.expect("Character: ").await;
    assert_eq!(server.count("SELECT count(*) FROM users"), 2);
    server.stop().await;
}

#[tokio::test]
async fn quit_or_an_empty_line_at_any_sign_up_step_goes_back() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    for (step, prompt, answer) in [
        (0, "New account name: ", ""),
        (0, "New account name: ", "quit"),
        (1, "Password: ", ""),
        (1, "Password: ", "QUIT"),
        (2, "Repeat password: ", ""),
    ] {
        c.send("new").await;
        c.expect("New account name: ").await;
        if step >= 1 {
            c.send("Erin").await;
            c.expect("Password: ").await;
        }
        if step >= 2 {
            c.send(PASSWORD).await;
            c.expect("Repeat password: ").await;
        }
        c.send(answer).await;
        let back = c.expect("Account: ").await;
        assert!(!back.contains("created"), "{prompt} {answer:?}: {back}");
    }
    assert!(!c.closed, "backing out is no failure");
    assert_eq!(server.count("SELECT count(*) FROM users"), 0);
    server.stop().await;
}

#[tokio::test]
async fn quit_at_the_account_prompt_says_goodbye() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send("quit").await;
    assert!(c.expect_closed().await.contains("Goodbye."));
    server.stop().await;
}

#[tokio::test]
async fn a_session_row_lives_exactly_as_long_as_the_login() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Fay", PASSWORD).await;
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 1);
    c.enter("1").await;
    assert_eq!(
        server.count("SELECT count(*) FROM sessions WHERE character_id IS NOT NULL"),
        1
    );
    c.send("quit").await;
    c.expect_closed().await;
    // The server closes the socket only after removing the row.
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 0);
    server.stop().await;
}

#[tokio::test]
async fn the_client_name_from_ttype_lands_in_the_session_row() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    assert!(
        c.negotiations
            .iter()
            .any(|n| n.verb == DO && n.option == 24),
        "the server asks DO TTYPE: {:?}",
        c.negotiations
    );
    c.send_raw(&[IAC, WILL, 24]).await;
    // The server's answer to WILL is SB TTYPE SEND; reply with our name.
    let mut reply = vec![IAC, SB, 24, 0];
    reply.extend_from_slice(b"Mudlet");
    reply.extend_from_slice(&[IAC, SE]);
    c.send_raw(&reply).await;
    c.send(&format!("create Tia {PASSWORD}")).await;
    c.expect("Character: ").await;
    let client: String = server
        .db()
        .query_row("SELECT client_type FROM sessions", [], |r| r.get(0))
        .expect("session row");
    assert_eq!(client, "Mudlet");
    let sb_send = [IAC, SB, 24, 1, IAC, SE];
    assert!(
        c.raw.windows(sb_send.len()).any(|w| w == sb_send),
        "TTYPE SEND was asked"
    );
    server.stop().await;
}

/// The session does not care what carries its bytes: a login, play and quit
/// through an in-memory `tokio::io::duplex` pipe, served by the same
/// `session::serve` the TCP listener uses, with the transport on the row.
#[tokio::test]
async fn a_whole_session_runs_over_an_in_memory_duplex_stream() {
    use gaslamp::game::{Peer, Transport};
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (ours, theirs) = tokio::io::duplex(4096);
    let peer = Peer {
        addr: "192.0.2.7:4242".parse().expect("address"),
        transport: Transport::WebSocket,
    };
    let served = tokio::spawn(gaslamp::session::serve(
        server.game.clone(),
        theirs,
        peer,
        tokio_util::task::TaskTracker::new(),
    ));
    let mut c = Client::over(ours);
    c.create("Dora", PASSWORD).await;
    let stored: (String, String) = server
        .db()
        .query_row("SELECT peer_address, transport FROM sessions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("session row");
    assert_eq!(stored, ("192.0.2.7:4242".into(), "websocket".into()));
    let room = c.enter("1").await;
    assert!(room.contains("Exits:"), "{room}");
    assert_eq!(
        c.command("say over the pipe").await,
        "You say, \"over the pipe\""
    );
    c.send("quit").await;
    assert!(c.expect_closed().await.contains("Goodbye."));
    served.await.expect("the session task ends cleanly");
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 0);
    server.stop().await;
}

/// Plain `telnet` must stay in line mode: the server never offers SGA (an
/// unasked WILL SGA switches netkit/inetutils `telnet` to character mode). What
/// it offers unasked is only what SPEC §8 lists, each of which a client that
/// refuses everything declines; a refusing client then sees no further
/// negotiation and logs in as usual.
#[tokio::test]
async fn only_declinable_offers_are_sent_unasked_and_never_sga() {
    const SGA: u8 = 3;
    // ECHO (1, at password prompts), TTYPE (24), EOR (25), NAWS (31),
    // CHARSET (42), MSSP (70), MCCP2 (86), GMCP (201).
    const OFFERABLE: [u8; 8] = [1, 24, 25, 31, 42, 70, 86, 201];
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let offers = c.negotiations.clone();
    assert!(
        !offers.iter().any(|n| n.option == SGA),
        "SGA is never offered: {offers:?}"
    );
    for offer in &offers {
        assert!(
            OFFERABLE.contains(&offer.option) && [WILL, DO].contains(&offer.verb),
            "unexpected offer {offer:?}"
        );
    }
    // Refuse every offer, as plain telnet and nc do.
    for offer in &offers {
        let refusal = if offer.verb == WILL { DONT } else { WONT };
        c.send_raw(&[IAC, refusal, offer.option]).await;
    }
    c.send("create Plainly correct horse battery").await;
    c.expect("Character: ").await;
    assert_eq!(
        c.negotiations.len(),
        offers.len(),
        "no reply to a refusal: {:?}",
        c.negotiations
    );
    // A client that asks for SGA itself gets it, once.
    c.send_raw(&[IAC, DO, SGA]).await;
    c.send("worlds").await;
    c.expect("Character: ").await;
    let sga: Vec<_> = c.negotiations.iter().filter(|n| n.option == SGA).collect();
    assert_eq!(sga.len(), 1, "{sga:?}");
    assert_eq!(sga[0].verb, WILL);
    server.stop().await;
}
