//! First impressions (issue 22): what a new player and a new admin see first —
//! the greeting before the client said its width, `help`'s columns, the
//! exits in one form and order, the character menu's sentences, the goodbye
//! after three wrong passwords, the admin tables, the note on tells in `help`,
//! MSSP's fields, and one world per account when the server says so.

use crate::support::*;

const NAWS: u8 = 31;

/// `IAC WILL NAWS` and the window's size, as a client answers `DO NAWS`.
fn naws(width: u16, height: u16) -> Vec<u8> {
    let [w1, w0] = width.to_be_bytes();
    let [h1, h0] = height.to_be_bytes();
    vec![IAC, WILL, NAWS, IAC, SB, NAWS, w1, w0, h1, h0, IAC, SE]
}

/// The lines of some text, as the client received them.
fn lines(text: &str) -> Vec<&str> {
    text.split("\r\n").collect()
}

/// Checks that no line of `text` ends early: each line but a paragraph's last
/// is followed by a word that would not have fitted on it within `width`.
fn assert_no_early_breaks(text: &str, width: usize) {
    let lines = lines(text);
    for pair in lines.windows(2) {
        let (line, next) = (pair[0], pair[1]);
        let Some(word) = next.split_whitespace().next() else {
            continue;
        };
        if line.trim().is_empty() || next.starts_with(' ') {
            continue;
        }
        assert!(
            line.chars().count() + 1 + word.chars().count() > width,
            "{line:?} ends early: {word:?} would fit within {width} columns\n{text}"
        );
    }
}

#[tokio::test]
async fn the_greeting_before_naws_is_sent_as_whole_paragraphs() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    let shown = c.expect("Account: ").await;
    // The shipped greeting's paragraphs, each one line: the client, whose
    // width is not known yet, wraps them.
    assert!(
        shown.contains(
            "The fog has come up from the harbour again, and the gas lamps burn in it like \
             a row of patient moons. Somewhere a bell is ringing the quarter hour, a little \
             late, as it always is.\r\n"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "(or just your account name) to log in, \"guest\" to look around as a guest, \
             or \"quit\" to leave."
        ),
        "no break after \"to log in,\": {shown}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_login_help_wraps_at_the_width_the_client_reported() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&naws(60, 20)).await;
    c.send("help").await;
    let help = c.expect("Account: ").await;
    let block = help
        .trim_end_matches("Account: ")
        .trim_matches(['\r', '\n']);
    assert!(block.starts_with("Type \"new\""), "{block}");
    for line in lines(block) {
        assert!(line.chars().count() <= 60, "{line:?} is over 60 columns");
    }
    assert_no_early_breaks(block, 60);
    server.stop().await;
}

#[tokio::test]
async fn help_descriptions_wrap_under_their_column() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.send_raw(&naws(60, 30)).await;
    c.create("Hedda", PASSWORD).await;
    c.enter("1").await;
    let help = c.command("help").await;
    let mut continued = 0;
    for line in lines(&help).into_iter().skip(1) {
        assert!(line.chars().count() <= 60, "{line:?} is over 60 columns");
        // Headings end in a colon; entries and their wrapped descriptions
        // are indented: nothing goes back to column 0.
        assert!(
            line.ends_with(':') || line.starts_with("  "),
            "{line:?} went back to column 0:\n{help}"
        );
        if line.starts_with(&" ".repeat(20)) {
            continued += 1;
        }
    }
    assert!(continued > 0, "some descriptions wrap at 60: {help}");
    let shutdown_help = {
        let mut admin = server.player_with_role("Adair", "admin").await;
        admin.command("help /shutdown").await
    };
    assert!(
        shutdown_help.starts_with("/shutdown [duration] [reason]"),
        "{shutdown_help}"
    );
    server.stop().await;
}

#[tokio::test]
async fn exits_are_listed_by_their_long_names_in_compass_order() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Compass", PASSWORD).await;
    c.enter("1").await;
    // Chandlers' Row's file lists `south`, then `ne`.
    let row = c.command("north").await;
    assert!(row.contains("Exits: northeast, south."), "{row}");
    let exits = c.command("exits").await;
    let northeast = exits.find("northeast").expect("northeast listed");
    let south = exits.find("south ").expect("south listed");
    assert!(northeast < south, "compass order: {exits}");
    assert!(!exits.contains(" ne "), "long names only: {exits}");
    server.stop().await;
}

#[tokio::test]
async fn a_new_character_is_announced_and_a_never_played_one_is_new() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    // Wide enough for SPEC's menu text as it stands, 96 columns a line.
    c.send_raw(&naws(120, 40)).await;
    c.send(&format!("create Nell {PASSWORD}")).await;
    let menu = c.expect("Character: ").await;
    assert!(menu.contains("1) Nell"), "{menu}");
    assert!(
        menu.lines()
            .any(|l| l.contains("1) Nell") && l.ends_with("(new)")),
        "the first character never played: {menu}"
    );
    assert!(
        menu.contains(
            "Type a number or a name to play, \"new <name>\" for a new character,\r\n\
             \"worlds\" to list worlds, \"world <id>\" to switch, \"password\" to change \
             your password, \"quit\" to leave.\r\n"
        ),
        "SPEC §3's text: {menu}"
    );
    c.send("new Wren").await;
    let entered = c.expect("\r\n> ").await;
    assert!(entered.contains("Character Wren created."), "{entered}");
    assert!(
        entered.contains("Lantern Square"),
        "played at once: {entered}"
    );
    c.send("characters").await;
    let menu = c.expect("Character: ").await;
    assert!(
        menu.lines()
            .any(|l| l.contains("1) Nell") && l.ends_with("(new)")),
        "{menu}"
    );
    assert!(
        menu.lines()
            .any(|l| l.contains("2) Wren") && l.ends_with("(last seen Lantern Square)")),
        "{menu}"
    );
    server.stop().await;
}

#[tokio::test]
async fn three_wrong_passwords_end_the_connection_with_a_goodbye() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut owner = server.connect().await;
    owner.create("Gus", PASSWORD).await;
    let mut c = server.connect().await;
    for _ in 0..3 {
        c.expect("Account: ").await;
        c.send("connect Gus not the password at all").await;
        c.expect("Wrong account name or password.").await;
    }
    let rest = c.expect_closed().await;
    assert!(
        rest.contains("Too many wrong passwords; goodbye."),
        "{rest:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn help_tell_says_that_admins_can_read_tells() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.create("Tilly", PASSWORD).await;
    c.enter("1").await;
    let help = c.command("help tell").await;
    assert!(help.contains("/chatlog"), "{help}");
    assert!(help.contains("admins"), "{help}");
    server.stop().await;
}

#[tokio::test]
async fn admin_tables_share_one_header_style_and_chatlog_wraps_under_its_column() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut admin = server.player_with_role("Ada", "admin").await;
    admin.send_raw(&naws(80, 30)).await;
    let long = "the lamps on the quay went out one after another, and nobody could say who \
                had turned them down or why the fog smelled of oranges tonight";
    admin.command(&format!("say {long}")).await;
    for command in ["/users", "/sessions", "/where", "/tables", "/chatlog"] {
        let table = admin.command(command).await;
        let header = lines(&table)[0];
        assert!(
            header
                .chars()
                .all(|c| !c.is_alphabetic() || c.is_uppercase()),
            "{command}: {header:?}"
        );
    }
    // Wide enough for the columns: the message wraps under its own column.
    admin.send_raw(&naws(120, 30)).await;
    let log = admin.command("/chatlog").await;
    let rows = lines(&log);
    let column = rows[0].find("MESSAGE").expect("a MESSAGE column");
    let said = rows
        .iter()
        .position(|l| l.contains("the lamps on the quay"))
        .expect("the line said");
    assert_eq!(rows[said].find("the lamps"), Some(column), "{log}");
    let continued: Vec<&str> = rows[said + 1..]
        .iter()
        .copied()
        .take_while(|l| l.starts_with(' '))
        .collect();
    assert!(!continued.is_empty(), "the message wraps: {log}");
    for line in &continued {
        assert!(line.chars().count() <= 120, "{line:?}");
        assert_eq!(
            line.len() - line.trim_start().len(),
            column,
            "{line:?} is not under the column:\n{log}"
        );
    }
    let joined: Vec<&str> = std::iter::once(&rows[said][column..])
        .chain(continued.iter().map(|l| &l[column..]))
        .collect();
    assert_eq!(joined.join(" "), long, "the whole message, nothing cut");
    // Too narrow for that column: the message goes under its row, indented,
    // and still nothing goes back to column 0.
    admin.send_raw(&naws(80, 30)).await;
    let log = admin.command("/chatlog").await;
    for line in lines(&log) {
        assert!(line.chars().count() <= 80, "{line:?}");
        assert!(
            line.starts_with("TIME") || line.starts_with("20") || line.starts_with("    "),
            "{line:?} at column 0:\n{log}"
        );
    }
    assert!(log.contains("\r\n    the lamps on the quay"), "{log}");
    server.stop().await;
}

/// The test configuration with a TLS listener (a certificate made for the
/// test) and the listing's fields set as an operator's `[mssp]` table would.
fn listed_config(dir: &std::path::Path) -> gaslamp::ServerConfig {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("write certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
    let mut config = config(dir);
    config.tls = Some(gaslamp::config::TlsSettings {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        cert,
        key,
        handshake_timeout: std::time::Duration::from_secs(10),
    });
    let mssp = &mut config.mssp;
    mssp.contact = Some("keeper@example.org".into());
    mssp.website = Some("https://mud.example.org".into());
    mssp.discord = Some("https://discord.gg/lamps".into());
    mssp.location = Some("Ireland".into());
    mssp.gameplay = Some("Roleplaying".into());
    mssp.created = Some("2026".into());
    mssp.icon = Some("https://mud.example.org/icon.png".into());
    config
}

/// Reads an MSSP subnegotiation: variable → values.
fn mssp_table(data: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    gaslamp::telnet::mud::mssp_table(data).into_iter().collect()
}

#[tokio::test]
async fn mssp_names_the_tls_port_as_tls_too_and_gives_the_listing_fields() {
    let dir = temp_dir();
    let server = TestServer::start_with(listed_config(dir.path())).await;
    let tls_port = server.tls_addr.expect("a TLS listener").port().to_string();
    let mut crawler = server.connect().await;
    crawler.expect("Account: ").await;
    crawler.send_raw(&[IAC, DO, 70]).await;
    let table = mssp_table(&crawler.expect_subnegotiation(70).await);
    assert_eq!(table["SSL"], std::slice::from_ref(&tls_port));
    assert_eq!(table["TLS"], [tls_port], "Mudlet reads TLS");
    for (field, want) in [
        ("CONTACT", "keeper@example.org"),
        ("WEBSITE", "https://mud.example.org"),
        ("DISCORD", "https://discord.gg/lamps"),
        ("LANGUAGE", "English"),
        ("LOCATION", "Ireland"),
        ("GENRE", "Fantasy"),
        ("GAMEPLAY", "Roleplaying"),
        ("CREATED", "2026"),
        ("ICON", "https://mud.example.org/icon.png"),
    ] {
        assert_eq!(table[field], [want], "{field}");
    }
    server.stop().await;
}

/// The fixture's two worlds, the first the default, keeping each account to
/// one world.
fn one_world_config(dir: &std::path::Path) -> gaslamp::ServerConfig {
    gaslamp::ServerConfig {
        default_world: Some("daily_undertaking".into()),
        multi_world_characters: false,
        ..gaslamp::ServerConfig::for_tests(dir.join("gaslamp.db"), fixture_worlds())
    }
}

const ONE_WORLD: &str =
    "Your characters live in The Undertaking; this server keeps each account to one world.";

#[tokio::test]
async fn with_multi_world_characters_off_an_account_keeps_to_one_world() {
    let dir = temp_dir();
    let server = TestServer::start_with(one_world_config(dir.path())).await;
    let mut c = server.connect().await;
    // Wide enough for the refusal on one line.
    c.send_raw(&naws(120, 40)).await;
    c.create("Wanda", PASSWORD).await;
    c.send("world pipeworks_web").await;
    c.expect("Character: ").await;
    c.send("new Pipa").await;
    c.expect(ONE_WORLD).await;
    // Its own world still takes more.
    c.send("world daily_undertaking").await;
    c.expect("Character: ").await;
    c.send("new Wilma").await;
    c.expect("Character Wilma created.").await;
    c.expect("\r\n> ").await;
    assert_eq!(
        server.count("SELECT count(DISTINCT world_id) FROM characters"),
        1
    );
    // Admins are exempt.
    let mut admin = server.connect().await;
    admin.create("Adela", PASSWORD).await;
    admin.send("quit").await;
    admin.expect_closed().await;
    server.set_role("Adela", "admin");
    let mut admin = server.connect().await;
    admin.connect_as("Adela", PASSWORD).await;
    admin.send("world pipeworks_web").await;
    admin.expect("Character: ").await;
    admin.send("new Pipa").await;
    admin.expect("Character Pipa created.").await;
    server.stop().await;
}

/// The one-world rule is decided in the transaction that makes the
/// character: an account with none yet, asking on two connections at once for
/// one in each world, gets exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_worlds_asked_at_once_give_an_account_one_world() {
    let dir = temp_dir();
    let server = TestServer::start_with(one_world_config(dir.path())).await;
    // An account name that is no character name gets no first character.
    let mut first = server.connect().await;
    first.create("wanda_2", PASSWORD).await;
    let mut second = server.connect().await;
    second.connect_as("wanda_2", PASSWORD).await;
    first.send("world daily_undertaking").await;
    first.expect("Character: ").await;
    second.send("world pipeworks_web").await;
    second.expect("Character: ").await;
    send_together(vec![
        (&mut first, "new Uma".to_string()),
        (&mut second, "new Ura".to_string()),
    ])
    .await;
    let made = [
        first
            .expect_any(&["Character Uma created.", "this server keeps"])
            .await
            .0,
        second
            .expect_any(&["Character Ura created.", "this server keeps"])
            .await
            .0,
    ];
    assert_eq!(made.iter().filter(|i| **i == 0).count(), 1, "{made:?}");
    assert_eq!(server.count("SELECT count(*) FROM characters"), 1);
    server.stop().await;
}

/// A server whose greeting waits `wait` for the client's window size (the
/// tests' default is not to wait, since their client answers no negotiation).
async fn waiting_server(dir: &std::path::Path, wait: std::time::Duration) -> TestServer {
    let mut config = config(dir);
    config.greeting_wait = wait;
    TestServer::start_with(config).await
}

/// Long enough that only a client's answer, never the clock, can end the wait
/// within a test's patience.
const FOREVER: std::time::Duration = std::time::Duration::from_secs(3600);

#[tokio::test]
async fn the_greeting_waits_for_the_window_size_and_is_wrapped_at_it() {
    let dir = temp_dir();
    let server = waiting_server(dir.path(), FOREVER).await;
    let mut c = server.connect().await;
    c.send_raw(&naws(60, 20)).await;
    let shown = c.expect("Account: ").await;
    // Wrapped once, at the width the client told, before anything was sent.
    assert!(
        shown.contains("The fog has come up from the harbour again, and the gas\r\nlamps"),
        "{shown}"
    );
    for line in lines(&shown) {
        assert!(line.chars().count() <= 60, "{line:?} in {shown}");
    }
    // The greeting's own paragraphs (the login help after it is another).
    let greeting = &shown[..shown.find("walked on.").expect("the greeting") + "walked on.".len()];
    assert_no_early_breaks(greeting, 60);
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_refuses_naws_gets_the_greeting_at_once_as_paragraphs() {
    let dir = temp_dir();
    let server = waiting_server(dir.path(), FOREVER).await;
    let mut c = server.connect().await;
    c.send_raw(&[IAC, WONT, NAWS]).await;
    let shown = c.expect("Account: ").await;
    assert!(
        shown.contains("like a row of patient moons. Somewhere a bell is ringing"),
        "{shown}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_line_sent_while_the_greeting_waits_is_kept_for_the_login() {
    let dir = temp_dir();
    let server = waiting_server(dir.path(), FOREVER).await;
    let mut c = server.connect().await;
    // A MUD client's auto-login, sent before it answered the offers.
    c.send("create Quill correct-horse-battery").await;
    c.send_raw(&naws(100, 30)).await;
    c.expect("Account Quill created.").await;
    c.expect("Character: ").await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_gets_the_greeting_after_the_wait() {
    let dir = temp_dir();
    let server = waiting_server(dir.path(), std::time::Duration::from_millis(50)).await;
    let mut c = server.connect().await;
    let shown = c.expect("Account: ").await;
    assert!(shown.contains("Welcome to Lanternfall."), "{shown}");
    server.stop().await;
}
