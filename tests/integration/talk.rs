//! Talk over TCP: whisper, tell, yell, history (also across a restart), recall,
//! help for the new commands, and hostile text that must reach listeners as
//! plain words only (SPEC §4).
//!
//! Lanternfall's map as these tests use it: Lantern Square (old_town, the spawn)
//! has the Harbour Gate (quayside's spawn) to the south; the Fish Market is east
//! of the Harbour Gate, two exits from the square; the Long Quay is south of it.

use crate::support::*;

/// A new account whose first character is in the game at the default spawn.
async fn player(server: &TestServer, name: &str) -> Client {
    let mut c = server.connect().await;
    c.create(name, PASSWORD).await;
    c.enter("1").await;
    c
}

/// A command's answer without the line break that separates it from text which
/// arrived while the player sat at the prompt.
async fn ask(c: &mut Client, line: &str) -> String {
    c.command(line).await.trim_start_matches("\r\n").to_string()
}

/// Ann, Ben and Cyd, all in Lantern Square, each having seen the others arrive.
async fn three_players(server: &TestServer) -> (Client, Client, Client) {
    let mut ann = player(server, "Ann").await;
    let mut ben = player(server, "Ben").await;
    ann.expect("Ben arrives.").await;
    let cyd = player(server, "Cyd").await;
    ann.expect("Cyd arrives.").await;
    ben.expect("Cyd arrives.").await;
    (ann, ben, cyd)
}

#[tokio::test]
async fn a_whisper_reaches_only_its_target_and_stays_private_in_history() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben, mut cyd) = three_players(&server).await;
    assert_eq!(
        ask(&mut ann, "whisper BEN meet me at the quay").await,
        "You whisper to Ben, \"meet me at the quay\""
    );
    ben.expect("Ann whispers to you, \"meet me at the quay\"")
        .await;
    cyd.expect("Ann whispers something to Ben.").await;
    ask(&mut ann, "say Evening, all.").await;
    cyd.expect("Ann says, \"Evening, all.\"").await;
    ben.expect("Ann says, \"Evening, all.\"").await;

    let seen_by_cyd = ask(&mut cyd, "history").await;
    assert!(
        seen_by_cyd.starts_with("Recent talk in Lantern Square:"),
        "{seen_by_cyd}"
    );
    assert!(
        seen_by_cyd.contains("Ann says, \"Evening, all.\""),
        "{seen_by_cyd}"
    );
    assert!(!cyd.all_text().contains("quay"), "{}", cyd.all_text());
    for reader in [&mut ann, &mut ben] {
        let seen = ask(reader, "history").await;
        assert!(
            seen.contains("Ann whispers to Ben, \"meet me at the quay\""),
            "{seen}"
        );
    }
    let last = ask(&mut ben, "history 1").await;
    assert!(
        last.contains("Evening, all.") && !last.contains("quay"),
        "{last}"
    );

    assert_eq!(ask(&mut ann, "whisper Zed hello").await, "Zed isn't here.");
    assert_eq!(ask(&mut ann, "whisper ben").await, "Whisper what?");
    assert_eq!(
        ask(&mut ann, "whisper ann hi").await,
        "You can't whisper to yourself."
    );
    // Someone in another room cannot be whispered to.
    ask(&mut ben, "south").await;
    ann.expect("Ben leaves south.").await;
    assert_eq!(ask(&mut ann, "whisper Ben psst").await, "Ben isn't here.");
    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM chat_messages m JOIN characters r \
             ON r.id = m.recipient_character_id WHERE m.kind = 'whisper' AND r.name = 'Ben'"
        ),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_tell_crosses_rooms_to_its_target_only() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben, mut cyd) = three_players(&server).await;
    ask(&mut ben, "south").await;
    ann.expect("Ben leaves south.").await;
    assert_eq!(
        ask(&mut ann, "tell ben The fog is lifting.").await,
        "You tell Ben, \"The fog is lifting.\""
    );
    ben.expect("Ann tells you, \"The fog is lifting.\"").await;
    assert_eq!(ask(&mut ann, "tell Zed hello").await, "Zed isn't online.");
    assert_eq!(ask(&mut ann, "tell Ben").await, "Tell them what?");
    // Cyd stood next to Ann, and heard nothing: the look answer comes after
    // anything that was queued for Cyd before it.
    ask(&mut cyd, "look").await;
    assert!(
        !cyd.all_text().contains("fog is lifting"),
        "{}",
        cyd.all_text()
    );
    assert!(!ask(&mut cyd, "history").await.contains("fog"));
    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM chat_messages m JOIN characters r \
             ON r.id = m.recipient_character_id WHERE m.kind = 'tell' AND r.name = 'Ben'"
        ),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_yell_reaches_the_next_room_across_zones_but_not_two_exits_away() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let (mut ann, mut ben, mut cyd) = three_players(&server).await;
    let mut dee = player(&server, "Dee").await;
    cyd.expect("Dee arrives.").await;
    ask(&mut ben, "south").await;
    cyd.expect("Ben leaves south.").await;
    ask(&mut cyd, "south").await;
    ben.expect("Cyd arrives from the north.").await;
    let market = ask(&mut cyd, "east").await;
    assert!(market.contains("The Fish Market"), "{market}");
    for news in ["Dee arrives.", "Ben leaves south.", "Cyd leaves south."] {
        ann.expect(news).await;
    }

    assert_eq!(
        ask(&mut ann, "yell Fire at the lamp works!").await,
        "You yell, \"Fire at the lamp works!\""
    );
    dee.expect("Ann yells, \"Fire at the lamp works!\"").await;
    ben.expect("Ann yells from the north, \"Fire at the lamp works!\"")
        .await;
    ask(&mut cyd, "look").await;
    assert!(!cyd.all_text().contains("lamp works"), "{}", cyd.all_text());

    // From the Belfry the square is two exits away; the foot of the tower hears
    // it from above.
    ask(&mut ann, "east").await;
    ask(&mut ann, "up").await;
    ask(&mut dee, "east").await;
    ask(&mut ann, "yell Anyone there?").await;
    dee.expect("Ann yells from above, \"Anyone there?\"").await;
    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        server.count("SELECT count(*) FROM chat_messages WHERE kind = 'yell'"),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn history_is_read_back_after_a_restart_with_whispers_still_private() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    ann.expect("Ben arrives.").await;
    for line in ["say one", "say two", "emote waves.", "whisper Ben secret"] {
        ask(&mut ann, line).await;
    }
    ben.expect("Ann whispers to you, \"secret\"").await;
    server.stop().await;
    ann.expect_closed().await;
    ben.expect_closed().await;

    let server = TestServer::start(dir.path()).await;
    let mut ann = server.connect().await;
    ann.connect_as("Ann", PASSWORD).await;
    ann.enter("1").await;
    let all = ask(&mut ann, "history").await;
    let order = [
        "says, \"one\"",
        "says, \"two\"",
        "Ann waves.",
        "whispers to Ben",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|needle| {
            all.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {all}"))
        })
        .collect();
    assert!(positions.is_sorted(), "oldest first: {all}");
    let last_two = ask(&mut ann, "history 2").await;
    assert!(
        last_two.contains("Ann waves.") && last_two.contains("secret") && !last_two.contains("two"),
        "{last_two}"
    );
    let mut cyd = player(&server, "Cyd").await;
    let seen = ask(&mut cyd, "history").await;
    assert!(
        seen.contains("says, \"two\"") && !seen.contains("secret"),
        "{seen}"
    );
    assert_eq!(ask(&mut cyd, "history many").await, "Usage: history [n]");
    ask(&mut cyd, "east").await;
    assert_eq!(
        ask(&mut cyd, "history").await,
        "Nothing has been said here yet."
    );
    server.stop().await;
}

/// SPEC §4: `recall` and `home` go back to the world's default spawn room,
/// from any zone (they went to the zone's spawn once).
#[tokio::test]
async fn recall_and_home_go_back_to_the_worlds_spawn_with_leaves_and_arrives() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    ann.expect("Ben arrives.").await;
    for word in ["recall", "home"] {
        assert_eq!(
            ask(&mut ann, word).await,
            "You are already at Lantern Square."
        );
    }
    ask(&mut ann, "south").await;
    ben.expect("Ann leaves south.").await;
    ask(&mut ann, "south").await;
    // Ann is on the Long Quay, two rooms into the quayside, whose own spawn
    // is the Harbour Gate.
    let back = ask(&mut ann, "recall").await;
    assert!(back.starts_with("Lantern Square\r\n"), "{back}");
    ben.expect("Ann arrives.").await;
    ask(&mut ben, "south").await;
    ann.expect("Ben leaves south.").await;
    ask(&mut ann, "south").await;
    ben.expect("Ann arrives from the north.").await;
    let back = ask(&mut ben, "home").await;
    assert!(back.starts_with("Lantern Square\r\n"), "{back}");
    ann.expect("Ben leaves.").await;
    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM character_locations l JOIN characters c \
             ON c.id = l.character_id WHERE c.name = 'Ben' AND l.room = 'old_town:lantern_square'"
        ),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn help_explains_the_new_commands_and_abbreviations_work() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = player(&server, "Ann").await;
    let list = ask(&mut ann, "help").await;
    for usage in [
        "examine <thing>",
        "inventory",
        "get <item|all> [from <container>]",
        "drop <item|all>",
        "give <item> [to] <name>",
        "put <item|all> in <container>",
        "open <door>",
        "whisper <name> <text>",
        "tell <name> <text>",
        "yell <text>",
        "history [n]",
        "recall",
    ] {
        assert!(list.contains(usage), "{usage} missing from:\n{list}");
    }
    let whisper = ask(&mut ann, "help whisper").await;
    assert!(whisper.starts_with("whisper <name> <text>"), "{whisper}");
    assert!(whisper.contains("\r\nExample: whisper Ann"), "{whisper}");
    for group in [
        "Looking:",
        "Moving:",
        "Talking:",
        "Items:",
        "Information:",
        "Your account:",
    ] {
        assert!(list.contains(group), "{group} missing from:\n{list}");
    }
    assert!(ask(&mut ann, "help x").await.starts_with("examine <thing>"));
    assert!(
        ask(&mut ann, "help take")
            .await
            .starts_with("get <item|all>")
    );
    assert!(ask(&mut ann, "help i").await.contains("Also: inv, i"));
    assert_eq!(ask(&mut ann, "i").await, "You are carrying nothing.");
    assert_eq!(ask(&mut ann, "inv").await, "You are carrying nothing.");
    assert!(ask(&mut ann, "w").await.starts_with("Lamplighters' Hall"));
    assert_eq!(
        ask(&mut ann, "hist").await,
        "Nothing has been said here yet."
    );
    assert_eq!(
        ask(&mut ann, "rec").await.lines().next(),
        Some("Lantern Square")
    );
    server.stop().await;
}

const ESC: u8 = 0x1b;

/// Text with everything a terminal would act on, around marker words that must
/// come through. Backspace and DEL edit the line in the telnet decoder, so each
/// follows a throwaway letter.
fn hostile(end: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"vis1 ");
    bytes.extend_from_slice(&[ESC, b'[', b'2', b'J']);
    bytes.extend_from_slice(b"vis2 ");
    bytes.extend_from_slice(&[ESC, b']', b'0', b';']);
    bytes.extend_from_slice(b"pwned title\x07vis3 ");
    bytes.extend_from_slice(&[0x9b, b'3', b'1', b'm']);
    bytes.extend_from_slice(b"vis4 ");
    bytes.extend((0x00..0x20u8).filter(|&b| !matches!(b, b'\r' | b'\n' | 0x08 | ESC)));
    bytes.extend_from_slice(b"vis5 x\x08y\x7f");
    bytes.extend_from_slice("\u{202e}vis6 \u{200b}vis7 \u{9b}2J\u{feff}".as_bytes());
    bytes.extend_from_slice(end.as_bytes());
    bytes
}

/// The data bytes of a telnet stream: commands and subnegotiations removed.
fn telnet_data(raw: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut bytes = raw.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte != IAC {
            data.push(byte);
            continue;
        }
        match bytes.next() {
            Some(IAC) => data.push(IAC),
            Some(WILL..=DONT) => {
                bytes.next();
            }
            Some(SB) => {
                let mut last = 0;
                for b in bytes.by_ref() {
                    if last == IAC && b == SE {
                        break;
                    }
                    last = b;
                }
            }
            _ => {}
        }
    }
    data
}

#[tokio::test]
async fn hostile_text_reaches_a_listener_as_plain_words_only() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = player(&server, "Ann").await;
    let mut ben = player(&server, "Ben").await;
    ann.expect("Ben arrives.").await;
    let ways = [
        ("say ", "Ann says, \"vis1"),
        ("emote ", "Ann vis1"),
        ("whisper Ben ", "Ann whispers to you, \"vis1"),
        ("tell Ben ", "Ann tells you, \"vis1"),
        ("yell ", "Ann yells, \"vis1"),
    ];
    for (n, (command, heard)) in ways.iter().enumerate() {
        let end = format!("end{n}");
        let mut line = command.as_bytes().to_vec();
        line.extend(hostile(&end));
        line.extend_from_slice(b"\r\n");
        ann.send_raw(&line).await;
        ann.expect("\r\n> ").await;
        let got = ben.expect(&end).await;
        let got = &got[got
            .find(heard)
            .unwrap_or_else(|| panic!("{heard}: {got:?}"))..];
        for word in ["vis2", "vis3", "vis4", "vis5", "vis6", "vis7"] {
            assert!(got.contains(word), "{word} missing in {got:?}");
        }
    }
    // The longest line the decoder takes is cut to 1000 characters; a longer
    // one never reaches anybody.
    ann.send(&format!("say {}", "a".repeat(1015))).await;
    // Word-wrapped at 80 columns: count the letters between the quotes.
    let heard = ben.expect(&format!("{}\"", "a".repeat(10))).await;
    let heard: String = heard.split_whitespace().collect();
    assert!(
        heard.ends_with(&format!("Annsays,\"{}\"", "a".repeat(1000))),
        "{heard}"
    );
    ann.send(&format!("say {}", "b".repeat(2000))).await;
    ann.expect("Line too long (max 1024 bytes).").await;
    ask(&mut ann, "say done").await;
    ben.expect("Ann says, \"done\"").await;

    let data = telnet_data(&ben.raw);
    assert!(!ben.raw.contains(&ESC), "ESC reached the listener");
    assert!(!data.windows(4).any(|w| w == b"bbbb"));
    let text = String::from_utf8(data).expect("the listener only gets UTF-8");
    assert!(!text.contains("pwned"), "an OSC body leaked");
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
                || matches!(c, '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        })
        .collect();
    assert!(bad.is_empty(), "controls reached the listener: {bad:?}");

    server.game.writer().flush().await.expect("flush");
    assert_eq!(
        server.count(
            "SELECT count(*) FROM chat_messages WHERE instr(message, char(27)) \
             OR instr(message, char(8238)) OR instr(message, char(8203)) OR instr(message, char(155))"
        ),
        0,
        "only cleaned text is stored"
    );
    assert_eq!(
        server.count("SELECT count(*) FROM chat_messages WHERE message LIKE 'vis1%'"),
        5
    );
    server.stop().await;
}

#[tokio::test]
async fn people_are_named_like_items_by_any_word_prefix_or_me() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = player(&server, "Ann").await;
    let mut mary = server.connect().await;
    mary.create("Marylou", PASSWORD).await;
    mary.send("new Mary Lou").await;
    mary.expect("\r\n> ").await;
    ann.expect("Mary Lou arrives.").await;
    let mut mike = player(&server, "Mike").await;
    ann.expect("Mike arrives.").await;
    mary.expect("Mike arrives.").await;
    // A unique prefix of any word, in any case; the reply spells the name.
    assert_eq!(
        ask(&mut ann, "tell LOU hello").await,
        "You tell Mary Lou, \"hello\""
    );
    mary.expect("Ann tells you, \"hello\"").await;
    assert_eq!(
        ask(&mut ann, "whisper mi psst").await,
        "You whisper to Mike, \"psst\""
    );
    mike.expect("Ann whispers to you, \"psst\"").await;
    // Ambiguous names are asked back.
    assert_eq!(
        ask(&mut ann, "tell m hi").await,
        "Which do you mean: Mary Lou, Mike?"
    );
    assert_eq!(
        ask(&mut ann, "look m").await,
        "Which do you mean: Mary Lou, Mike?"
    );
    assert_eq!(
        ask(&mut ann, "look mary").await,
        "Mary Lou is here, looking back at you."
    );
    // me and self are the player.
    assert_eq!(
        ask(&mut ann, "look me").await,
        "You look yourself over. Presentable enough."
    );
    assert_eq!(
        ask(&mut ann, "tell self hi").await,
        "You can't tell yourself anything."
    );
    assert_eq!(ask(&mut ann, "tell zed hi").await, "zed isn't online.");
    // give without "to", the person by a prefix.
    assert_eq!(
        ask(&mut ann, "get penny").await,
        "You pick up a copper penny."
    );
    assert_eq!(
        ask(&mut ann, "give penny mik").await,
        "You give a copper penny to Mike."
    );
    mike.expect("Ann gives you a copper penny.").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entries_into_a_crowded_room_are_told_together_in_one_line() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    // Crowded from three players on; the window wide enough that five
    // entries sent together always fall in it.
    config.crowded_room = 3;
    config.arrivals_gathered_for = std::time::Duration::from_secs(3);
    let server = TestServer::start_with(config).await;
    let mut ann = player(&server, "Ann").await;
    let _ben = player(&server, "Ben").await;
    ann.expect("Ben arrives.").await;
    let names = ["Cyd", "Dee", "Eve", "Fay", "Gus"];
    let mut newcomers = Vec::new();
    for name in names {
        let mut c = server.connect().await;
        c.create(name, PASSWORD).await;
        newcomers.push(c);
    }
    send_together(newcomers.iter_mut().map(|c| (c, "1".to_string())).collect()).await;
    // One of them goes back to the menu and in again within the moment: it
    // is still one of five, not a sixth.
    let cyd = &mut newcomers[0];
    cyd.expect("\r\n> ").await;
    cyd.send("characters").await;
    cyd.expect("Character: ").await;
    cyd.send("1").await;
    cyd.expect("\r\n> ").await;
    let told = ann.expect(" others arrive.").await;
    let line = told
        .lines()
        .find(|line| line.ends_with(" and 3 others arrive."))
        .unwrap_or_else(|| panic!("no line of the five together in {told:?}"));
    let (two, _) = line.split_once(" and 3 others").unwrap_or_default();
    let (first, second) = two.split_once(", ").unwrap_or_default();
    assert!(
        names.contains(&first) && names.contains(&second) && first != second,
        "{line:?}"
    );
    // Nobody was told one by one.
    assert!(!told.contains(" arrives."), "{told:?}");
    // The newcomers are not told of each other: what they were sent before a
    // look's answer holds no such line.
    for (c, name) in newcomers.iter_mut().zip(names) {
        c.send(&format!("say {name} is here")).await;
        let seen = c.expect(&format!("You say, \"{name} is here\"")).await;
        assert!(!seen.contains("arrive"), "{seen:?}");
    }
    server.stop().await;
}
