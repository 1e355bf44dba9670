//! The MUD client protocols of SPEC §8 (issue #10): the offer on connect,
//! NAWS wrapping, the TTYPE/MTTS cycle and colour, EOR, CHARSET, MSSP, GMCP
//! and MCCP2. The test client decodes what the server sends the way a MUD
//! client would (subnegotiations, GMCP JSON, the zlib stream).

use std::collections::BTreeMap;

use unicode_width::UnicodeWidthStr;

use crate::support::*;

const TTYPE: u8 = 24;
const EOR_OPTION: u8 = 25;
const NAWS: u8 = 31;
const CHARSET: u8 = 42;
const MSSP: u8 = 70;
const ESC: char = '\u{1b}';

/// `IAC SB option data IAC SE`, escaping IAC in the data.
fn sb(option: u8, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![IAC, SB, option];
    for &b in data {
        bytes.push(b);
        if b == IAC {
            bytes.push(IAC);
        }
    }
    bytes.extend_from_slice(&[IAC, SE]);
    bytes
}

fn gmcp(message: &str) -> Vec<u8> {
    sb(GMCP, message.as_bytes())
}

fn naws(width: u16, height: u16) -> Vec<u8> {
    let [w1, w0] = width.to_be_bytes();
    let [h1, h0] = height.to_be_bytes();
    sb(NAWS, &[w1, w0, h1, h0])
}

/// Negotiations of `option` the client received.
fn received(c: &Client, option: u8) -> Vec<u8> {
    c.negotiations
        .iter()
        .filter(|n| n.option == option)
        .map(|n| n.verb)
        .collect()
}

/// Creates an account named `name` and enters the game with its character.
/// (Whether or not the first `Account: ` prompt was waited for.)
async fn enter_as(c: &mut Client, name: &str) -> String {
    c.send(&format!("create {name} {PASSWORD}")).await;
    c.expect(&format!("Account {name} created.")).await;
    c.expect("Character: ").await;
    c.enter("1").await
}

#[tokio::test]
async fn the_full_offer_comes_before_the_first_prompt_and_toggles_never_loop() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let prompt_at = c.all_text().len() - "Account: ".len();
    let mut offers: Vec<(u8, u8)> = c
        .negotiations
        .iter()
        .map(|n| {
            assert!(n.at_text_len <= prompt_at, "{n:?} after the prompt");
            (n.verb, n.option)
        })
        .collect();
    offers.sort();
    let mut want = vec![
        (WILL, EOR_OPTION),
        (WILL, MSSP),
        (WILL, MCCP2),
        (WILL, GMCP),
        (DO, TTYPE),
        (DO, NAWS),
        (DO, CHARSET),
    ];
    want.sort();
    assert_eq!(offers, want);

    // Agree to EOR, then switch it off and on 500 times: every toggle is a
    // change of state and gets exactly one reply; repeats get none.
    let mut toggles = vec![IAC, DO, EOR_OPTION];
    for _ in 0..500 {
        toggles.extend_from_slice(&[IAC, DONT, EOR_OPTION, IAC, DO, EOR_OPTION]);
    }
    for _ in 0..100 {
        toggles.extend_from_slice(&[IAC, DO, EOR_OPTION]);
    }
    toggles.extend_from_slice(b"\r\n");
    c.send_raw(&toggles).await;
    c.expect("Account: ").await;
    let replies = received(&c, EOR_OPTION);
    assert_eq!(
        replies.len(),
        1 + 1000,
        "the offer, then one reply a toggle"
    );
    assert!(
        replies[1..].chunks(2).all(|pair| pair == [WONT, WILL]),
        "replies alternate"
    );
    assert_eq!(c.raw.last_chunk::<2>(), Some(&[IAC, EOR]), "EOR is on");
    server.stop().await;
}

#[tokio::test]
async fn a_thousand_option_requests_in_one_write_are_all_answered_and_the_client_stays() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let mut burst = Vec::new();
    for _ in 0..1024 {
        burst.extend_from_slice(&[IAC, DO, 99]);
    }
    burst.extend_from_slice(b"\r\n");
    c.send_raw(&burst).await;
    c.expect("Account: ").await;
    assert_eq!(received(&c, 99), vec![WONT; 1024]);
    c.send("quit").await;
    assert!(c.expect_closed().await.contains("Goodbye."));
    server.stop().await;
}

/// The text lines of `text` (the prompt and blank lines left out).
fn lines(text: &str) -> Vec<&str> {
    text.split("\r\n")
        .filter(|l| !l.is_empty() && *l != "> ")
        .collect()
}

#[tokio::test]
async fn naws_wraps_at_the_width_and_a_resize_changes_later_lines() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let mut hello = vec![IAC, WILL, NAWS];
    hello.extend(naws(40, 20));
    c.send_raw(&hello).await;
    enter_as(&mut c, "Narrow").await;
    let narrow = c.command("look").await;
    assert!(lines(&narrow).len() > 6, "a paragraph becomes many lines");
    for line in lines(&narrow) {
        assert!(line.width() <= 40, "{line:?} is wider than 40");
    }
    assert!(
        narrow.contains("Lantern Square\r\nA broad square"),
        "{narrow}"
    );

    c.send_raw(&naws(100, 40)).await;
    let wide = c.command("look").await;
    let widest = lines(&wide).iter().map(|l| l.width()).max().unwrap_or(0);
    assert!(widest > 40 && widest <= 100, "widest line {widest}");

    // Wide characters take two columns each and are never split.
    c.send_raw(&naws(40, 20)).await;
    let mut other = server.connect().await;
    enter_as(&mut other, "Speaker").await;
    let words = "灯台の光が霧の中で揺れている".repeat(4);
    other.command(&format!("say {words}")).await;
    let heard = c.expect("Speaker says,").await;
    let heard = heard + &c.expect("\r\n> ").await;
    let said: Vec<&str> = lines(&heard)
        .into_iter()
        .skip_while(|l| !l.starts_with("Speaker says,"))
        .collect();
    assert!(said.len() >= 4, "{said:?}");
    for line in &said {
        assert!(line.width() <= 40, "{line:?} is {} columns", line.width());
    }
    let joined: String = said.concat();
    assert!(
        joined.contains(&words),
        "no character lost or split: {joined}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_mtts_cycle_names_the_client_and_colour_comes_only_after_ansi() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&[IAC, WILL, TTYPE]).await;
    assert_eq!(c.expect_subnegotiation(TTYPE).await, [1], "TTYPE SEND");
    c.send_raw(&sb(TTYPE, b"\0TestClient")).await;
    assert_eq!(c.expect_subnegotiation(TTYPE).await, [1], "asked again");
    c.send_raw(&sb(TTYPE, b"\0DUMB")).await;
    assert_eq!(c.expect_subnegotiation(TTYPE).await, [1], "a third time");
    enter_as(&mut c, "Painter").await;
    let plain = c.command("look").await;
    assert!(!plain.contains(ESC), "no colour before ANSI: {plain:?}");
    let client: String = server
        .db()
        .query_row("SELECT client_type FROM sessions", [], |r| r.get(0))
        .expect("session row");
    assert_eq!(client, "TestClient");

    // MTTS 13: ANSI, UTF-8, 256 colours.
    c.send_raw(&sb(TTYPE, b"\0MTTS 13")).await;
    let coloured = c.command("look").await;
    assert!(
        coloured.contains("\u{1b}[1;33mLantern Square\u{1b}[0m"),
        "{coloured:?}"
    );
    assert!(coloured.contains("\u{1b}[32mExits:"), "{coloured:?}");
    // The cycle is over: no fourth SEND.
    let sends = c
        .subnegotiations
        .iter()
        .filter(|(o, _)| *o == TTYPE)
        .count();
    assert_eq!(sends, 3);

    let answer = c.command("color off").await;
    assert_eq!(answer, "Colour is off.");
    assert!(!c.command("look").await.contains(ESC));
    assert_eq!(
        server.count("SELECT color FROM users WHERE username = 'Painter'"),
        0
    );
    let help = c.command("help color").await;
    assert!(help.contains("color [on|off]"), "{help}");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Kept with your account"), "{help}");
    c.command("color on").await;
    assert!(c.command("look").await.contains(ESC));
    server.stop().await;
}

#[tokio::test]
async fn the_colour_preference_follows_the_account_to_a_new_connection() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    enter_as(&mut c, "Greyish").await;
    c.command("color off").await;
    c.send("quit").await;
    c.expect_closed().await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&[IAC, WILL, TTYPE]).await;
    c.expect_subnegotiation(TTYPE).await;
    c.send_raw(&sb(TTYPE, b"\0MTTS 1")).await;
    c.send(&format!("connect Greyish {PASSWORD}")).await;
    c.expect("Character: ").await;
    let room = c.enter("1").await;
    assert!(!room.contains(ESC), "{room:?}");
    server.stop().await;
}

#[tokio::test]
async fn prompts_end_with_eor_once_it_is_agreed() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    assert_eq!(c.raw.last_chunk::<2>(), Some(&[IAC, GA]));
    let mut agree = vec![IAC, DO, EOR_OPTION];
    agree.extend_from_slice(b"\r\n");
    c.send_raw(&agree).await;
    c.expect("Account: ").await;
    assert_eq!(c.raw.last_chunk::<2>(), Some(&[IAC, EOR]));
    assert_eq!(c.go_aheads.len(), 1, "no GA after EOR was agreed");
    assert_eq!(c.end_of_records, [c.all_text().len()]);
    server.stop().await;
}

/// A player whose client answered the CHARSET request with `reply`.
async fn charset_player(server: &TestServer, name: &str, reply: &[u8]) -> Client {
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&[IAC, WILL, CHARSET]).await;
    assert_eq!(c.expect_subnegotiation(CHARSET).await, b"\x01;UTF-8");
    c.send_raw(&sb(CHARSET, reply)).await;
    enter_as(&mut c, name).await;
    c
}

#[tokio::test]
async fn charset_accepted_keeps_utf8_and_rejected_gets_ascii_and_latin1_input() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut wide = charset_player(&server, "Unicoder", b"\x02UTF-8").await;
    let mut narrow = charset_player(&server, "Asciian", b"\x03").await;
    wide.expect("Asciian arrives.").await;

    wide.command("say café ☕ — naïve").await;
    let heard = narrow.expect("naive\"").await;
    assert!(heard.contains("Unicoder says, \"cafe"), "{heard}");
    assert!(heard.is_ascii(), "{heard:?}");
    assert!(narrow.all_text().is_ascii(), "nothing but ASCII reached it");

    // Its input is Latin-1: 0xE9 is é.
    narrow.send_raw(b"say caf\xe9 cr\xe8me\r\n").await;
    wide.expect("Asciian says, \"café crème\"").await;
    narrow.expect("You say, \"cafe creme\"").await;
    server.stop().await;
}

/// Parses an MSSP subnegotiation into variable → values.
fn mssp_table(data: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = String::new();
    let mut at = 0;
    while at < data.len() {
        let marker = data[at];
        let end = data[at + 1..]
            .iter()
            .position(|b| *b == 1 || *b == 2)
            .map_or(data.len(), |p| at + 1 + p);
        let text = String::from_utf8_lossy(&data[at + 1..end]).into_owned();
        match marker {
            1 => name = text,
            2 => table.entry(name.clone()).or_default().push(text),
            other => panic!("unexpected MSSP byte {other}"),
        }
        at = end;
    }
    table
}

#[tokio::test]
async fn mssp_answers_over_telnet_and_as_plain_text_with_the_players_online() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = server.connect().await;
    enter_as(&mut ann, "Ann").await;
    let mut bo = server.connect().await;
    enter_as(&mut bo, "Bo").await;
    let who = ann.command("who").await;
    assert!(who.contains("2 players online."), "{who}");

    let mut crawler = server.connect().await;
    crawler.expect("Account: ").await;
    crawler.send_raw(&[IAC, DO, MSSP]).await;
    let table = mssp_table(&crawler.expect_subnegotiation(MSSP).await);
    assert_eq!(table["PLAYERS"], ["2"]);
    assert_eq!(table["NAME"], ["Lanternfall"]);
    assert_eq!(table["PORT"], [server.addr.port().to_string()]);
    assert_eq!(
        table["CODEBASE"],
        [format!("gaslamp {}", env!("CARGO_PKG_VERSION"))]
    );
    let worlds = server.game.worlds();
    let rooms: usize = worlds.iter().map(|w| w.room_count()).sum();
    let zones: usize = worlds.iter().map(|w| w.zones.len()).sum();
    assert_eq!(table["ROOMS"], [rooms.to_string()]);
    assert_eq!(table["AREAS"], [zones.to_string()]);
    assert_eq!(table["GMCP"], ["1"]);
    assert_eq!(table["MCCP"], ["1"]);
    assert_eq!(table["MSDP"], ["0"]);
    assert!(!table.contains_key("SSL"), "no TLS listener");
    let uptime: u64 = table["UPTIME"][0].parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(uptime <= now && uptime + 600 > now, "{uptime} vs {now}");

    crawler.send("MSSP-REQUEST").await;
    let reply = crawler.expect("MSSP-REPLY-END").await;
    let reply = &reply[reply.find("MSSP-REPLY-START").expect("start")..];
    assert!(reply.contains("\r\nPLAYERS\t2\r\n"), "{reply}");
    assert!(reply.contains("\r\nNAME\tLanternfall\r\n"), "{reply}");
    crawler.expect("Account: ").await;
    bo.send("quit").await;
    bo.expect_closed().await;
    ann.command("look").await;
    crawler.send("MSSP-REQUEST").await;
    let reply = crawler.expect("MSSP-REPLY-END").await;
    assert!(reply.contains("\r\nPLAYERS\t1\r\n"), "{reply}");
    server.stop().await;
}

/// A client that agreed to GMCP, said hello, and asked for `packages`.
async fn gmcp_client(server: &TestServer, packages: &str) -> Client {
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let mut hello = vec![IAC, DO, GMCP];
    hello.extend(gmcp(
        r#"Core.Hello {"client": "TestMud", "version": "1.0"}"#,
    ));
    hello.extend(gmcp(&format!("Core.Supports.Set {packages}")));
    c.send_raw(&hello).await;
    c
}

#[tokio::test]
async fn gmcp_room_info_follows_a_walk_across_zones_with_exit_numbers() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = gmcp_client(&server, r#"["Room 1", "Char 1"]"#).await;
    enter_as(&mut c, "Mapper").await;
    let name = c.expect_gmcp("Char.Name").await;
    assert_eq!(name["name"], "Mapper");
    let status = c.expect_gmcp("Char.Status").await;
    assert_eq!(status["account"], "Mapper");
    assert_eq!(status["world"], "lanternfall");
    let square = c.expect_gmcp("Room.Info").await;
    assert_eq!(square["id"], "old_town:lantern_square");
    assert_eq!(square["name"], "Lantern Square");
    assert_eq!(square["zone"], "old_town");
    assert_eq!(square["area"], "Old Town");
    let num = square["num"].as_u64().expect("num");
    assert!(num > 0 && num < 1 << 31);
    let exits = square["exits"].as_object().expect("exits");
    let keys: Vec<&str> = exits.keys().map(String::as_str).collect();
    assert_eq!(keys, ["n", "e", "s", "w"]);
    let client: String = server
        .db()
        .query_row("SELECT client_type FROM sessions", [], |r| r.get(0))
        .expect("session row");
    assert_eq!(client, "TestMud 1.0", "Core.Hello names the client");

    // South leaves Old Town for the Quayside.
    c.command("south").await;
    let gate = c.expect_gmcp("Room.Info").await;
    assert_eq!(gate["id"], "quayside:harbour_gate");
    assert_eq!(gate["zone"], "quayside");
    assert_eq!(gate["area"], "The Quayside");
    assert_eq!(gate["num"], exits["s"], "the exit's number is the room's");
    assert_eq!(gate["exits"]["n"], square["num"], "and back again");
    // Every exit number is the number of the room it leads to.
    for (dir, to) in gate["exits"].as_object().expect("exits").clone() {
        c.command(&format!("go {dir}")).await;
        let there = c.expect_gmcp("Room.Info").await;
        assert_eq!(there["num"], to, "exit {dir}");
        let back = there["exits"]
            .as_object()
            .and_then(|exits| exits.iter().find(|(_, num)| **num == gate["num"]))
            .map(|(name, _)| name.clone())
            .expect("a way back");
        c.command(&format!("go {back}")).await;
        assert_eq!(c.expect_gmcp("Room.Info").await["num"], gate["num"]);
    }
    server.stop().await;
}

#[tokio::test]
async fn gmcp_tells_who_comes_and_goes_talk_and_items() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut ann = gmcp_client(&server, r#"["Room 1", "Comm.Channel 1", "Char 1"]"#).await;
    enter_as(&mut ann, "Ann").await;
    let alone = ann.expect_gmcp("Room.Players").await;
    assert_eq!(alone, serde_json::json!([]));
    let items = ann.expect_gmcp("Char.Items.List").await;
    assert_eq!(items["location"], "room");
    assert!(items["items"][0]["name"].as_str().is_some(), "{items}");

    let mut bo = server.connect().await;
    enter_as(&mut bo, "Bo").await;
    let added = ann.expect_gmcp("Room.AddPlayer").await;
    assert_eq!(added["name"], "Bo");

    bo.command("say hello there").await;
    let said = ann.expect_gmcp("Comm.Channel.Text").await;
    assert_eq!(
        said,
        serde_json::json!({"channel": "say", "talker": "Bo", "text": "Bo says, \"hello there\""})
    );
    ann.expect("Bo says, \"hello there\"").await;
    bo.command("tell Ann psst").await;
    let told = ann.expect_gmcp("Comm.Channel.Text").await;
    assert_eq!(told["channel"], "tell");
    assert_eq!(told["talker"], "Bo");
    assert_eq!(told["text"], "Bo tells you, \"psst\"");
    ann.command("say hi").await;
    let own = ann.expect_gmcp("Comm.Channel.Text").await;
    assert_eq!(own["text"], "You say, \"hi\"");

    ann.command("get penny").await;
    let removed = ann.expect_gmcp("Char.Items.Remove").await;
    assert_eq!(removed["location"], "room");
    let carried = ann.expect_gmcp("Char.Items.Add").await;
    assert_eq!(carried["location"], "inv");
    assert_eq!(carried["item"]["name"], "a copper penny");
    assert_eq!(carried["item"]["id"], removed["item"]["id"]);

    bo.command("north").await;
    let gone = ann.expect_gmcp("Room.RemovePlayer").await;
    assert_eq!(gone, "Bo");
    assert!(
        !bo.raw.windows(2).any(|w| w == [IAC, SB]),
        "a client without GMCP gets no subnegotiation at all"
    );
    server.stop().await;
    ann.expect_closed().await;
    assert_eq!(
        ann.gmcp_messages().last(),
        Some(&(
            "Core.Goodbye".to_string(),
            serde_json::json!("The server is shutting down.")
        ))
    );
}

#[tokio::test]
async fn gmcp_sends_only_supported_packages_and_ignores_malformed_messages() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = gmcp_client(&server, r#"["Char 1"]"#).await;
    c.send_raw(&gmcp("Core.Supports.Add [broken")).await;
    c.send_raw(&gmcp("Core.Hello {")).await;
    c.send_raw(&gmcp("Nonsense.Package {\"x\": 1}")).await;
    c.send_raw(&sb(GMCP, &[0xff, 0xfe, 0x80])).await;
    c.send_raw(&gmcp(&format!(
        "Core.Supports.Add [\"{}\"]",
        "x".repeat(5000)
    )))
    .await;
    enter_as(&mut c, "Picky").await;
    c.expect_gmcp("Char.Name").await;
    let carried = c.expect_gmcp("Char.Items.List").await;
    let carried = if carried["location"] == "inv" {
        carried
    } else {
        c.expect_gmcp("Char.Items.List").await
    };
    assert_eq!(carried["location"], "inv");
    c.send_raw(&gmcp("core.ping")).await;
    assert_eq!(c.expect_gmcp("Core.Ping").await, serde_json::Value::Null);
    let names: Vec<String> = c.gmcp_messages().into_iter().map(|(n, _)| n).collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("Char.") || n.starts_with("Core.")),
        "only Char (and Core) was asked for: {names:?}"
    );
    assert_eq!(c.command("say still here").await, "You say, \"still here\"");

    // Adding Room later brings Room.Info with the next move.
    c.send_raw(&gmcp("Core.Supports.Add [\"Room 1\"]")).await;
    c.command("north").await;
    assert_eq!(
        c.expect_gmcp("Room.Info").await["id"],
        "old_town:chandlers_row"
    );
    server.stop().await;
}

/// Logs in as `account` (made beforehand), looks, talks and quits; with
/// `compressed` the client accepts MCCP2. Returns the client after the close.
async fn scripted_session(server: &TestServer, account: &str, compressed: bool) -> Client {
    let mut c = server.connect().await;
    if compressed {
        c.send_raw(&[IAC, DO, MCCP2]).await;
    } else {
        c.send_raw(&[IAC, DONT, MCCP2]).await;
    }
    c.connect_as(account, PASSWORD).await;
    c.enter("1").await;
    c.command("look").await;
    c.command("exits").await;
    c.command("say the same words either way").await;
    c.command("inventory").await;
    c.command("help").await;
    c.send("quit").await;
    c.expect_closed().await;
    c
}

#[tokio::test]
async fn mccp2_carries_the_same_session_as_plain_text_and_ends_cleanly() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut setup = server.connect().await;
    setup.create("Zipper", PASSWORD).await;
    // Played once, so both sessions list it alike (never played is "(new)").
    setup.enter("1").await;
    setup.send("quit").await;
    setup.expect_closed().await;

    let plain = scripted_session(&server, "Zipper", false).await;
    let zipped = scripted_session(&server, "Zipper", true).await;
    assert_eq!(plain.compression_started, 0);
    assert_eq!(zipped.compression_started, 1);
    assert_eq!(zipped.compression_ended, 1, "quit ends the stream cleanly");
    assert_eq!(zipped.all_text(), plain.all_text());
    assert!(
        zipped.raw.len() < plain.raw.len() * 2 / 3,
        "{} compressed bytes for {} plain",
        zipped.raw.len(),
        plain.raw.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn dont_mccp2_mid_stream_ends_the_stream_and_output_goes_on_plain() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.send_raw(&[IAC, DO, MCCP2]).await;
    enter_as(&mut c, "Switcher").await;
    assert_eq!(c.compression_started, 1);
    c.command("look").await;
    c.send_raw(&[IAC, DONT, MCCP2]).await;
    let answer = c.command("say plain again").await;
    assert_eq!(answer, "You say, \"plain again\"");
    assert_eq!(c.compression_ended, 1, "the zlib stream ended");
    assert!(received(&c, MCCP2).contains(&WONT));
    let tail = b"You say, \"plain again\"";
    assert!(
        c.raw.windows(tail.len()).any(|w| w == tail),
        "the text after DONT travels uncompressed"
    );

    // Shutdown ends a compressed stream cleanly too.
    let mut d = server.connect().await;
    d.send_raw(&[IAC, DO, MCCP2]).await;
    enter_as(&mut d, "Stayer").await;
    server.stop().await;
    let rest = d.expect_closed().await;
    assert!(rest.contains("The server is shutting down."), "{rest}");
    assert_eq!(d.compression_ended, 1);
}

#[tokio::test]
async fn a_screen_reader_gets_who_and_exits_without_padding() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&[IAC, WILL, TTYPE]).await;
    c.expect_subnegotiation(TTYPE).await;
    c.send_raw(&sb(TTYPE, b"\0MTTS 64")).await;
    enter_as(&mut c, "Reader").await;
    let who = c.command("who").await;
    assert!(who.contains("\r\nReader, idle "), "{who:?}");
    let exits = c.command("exits").await;
    assert!(exits.contains("\r\nnorth: Chandlers' Row"), "{exits:?}");
    assert!(!exits.contains("  "), "no padding: {exits:?}");
    let mut sighted = server.connect().await;
    enter_as(&mut sighted, "Sighted").await;
    let who = sighted.command("who").await;
    assert!(
        who.contains("  Reader  "),
        "columns for everyone else: {who:?}"
    );
    server.stop().await;
}

/// The value of the metric sample `name` (a counter, or a histogram's `_sum`
/// or `_count`) as the server's `/metrics` would show it now.
fn metric(server: &TestServer, name: &str) -> f64 {
    let text = server
        .game
        .metrics()
        .render(&gaslamp::metrics::Sample::default());
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Writes to the database since the counts were last taken: store calls and
/// rows the batching writer committed. Everything queued to the writer is
/// committed first, and a store call of our own goes behind the calls already
/// waiting for the store (its permits are handed out in turn), so what the
/// connection asked for is counted whether it went through the writer or
/// through store calls of its own.
async fn database_writes(server: &TestServer) -> f64 {
    server.game.writer().flush().await.expect("writer flushed");
    server.game.session_rows().await.expect("count");
    metric(server, "gaslamp_store_call_seconds_count")
        + metric(server, "gaslamp_writer_batch_size_sum")
}

/// Issue 15: every `Core.Hello` from a logged-in client started an untracked
/// task writing the name to the store, so one client could fill the store's
/// permits. The name is written once per change, through the batching writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_core_hellos_writes_the_client_name_once_per_change() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    // The upkeep pass must not count among the writes.
    config.upkeep_interval = std::time::Duration::from_secs(3600);
    let server = TestServer::start_with(config).await;
    let mut c = gmcp_client(&server, r#"["Char 1"]"#).await;
    c.send(&format!("create Hal {PASSWORD}")).await;
    c.expect("Character: ").await;
    let before = database_writes(&server).await;
    let hello = |client: &str, version: &str| {
        gmcp(&format!(
            r#"Core.Hello {{"client": "{client}", "version": "{version}"}}"#
        ))
    };
    // The name it logged in with, then two others.
    let mut flood = Vec::new();
    for (client, version) in [("TestMud", "1.0"), ("Mudlet", "4.17"), ("Mudlet", "4.18")] {
        for _ in 0..100 {
            flood.extend(hello(client, version));
        }
    }
    flood.extend_from_slice(b"worlds\r\n");
    c.send_raw(&flood).await;
    c.expect("Character: ").await;
    let writes = database_writes(&server).await - before;
    // Two changes of name, one write each, and the count query of
    // `database_writes` itself.
    assert!(
        writes <= 3.0,
        "{writes} database writes for two changes of name"
    );
    let client: String = server
        .db()
        .query_row("SELECT client_type FROM sessions", [], |r| r.get(0))
        .expect("session row");
    assert_eq!(client, "Mudlet 4.18");
    server.stop().await;
}

/// Issue 15: `TtypeCycle.asked` was a `u8` counted up on every WILL TTYPE: 256
/// toggles overflowed it (a panic in debug builds) and in release every toggle
/// got a TTYPE SEND. The cycle asks at most three times, in all.
#[tokio::test]
async fn three_hundred_ttype_toggles_get_a_handful_of_sends() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    c.send_raw(&[IAC, WILL, TTYPE]).await;
    c.expect_subnegotiation(TTYPE).await;
    c.send_raw(&sb(TTYPE, b"\0Toggler")).await;
    c.expect_subnegotiation(TTYPE).await;
    let mut toggles = Vec::new();
    for _ in 0..300 {
        toggles.extend_from_slice(&[IAC, WONT, TTYPE, IAC, WILL, TTYPE]);
    }
    toggles.extend_from_slice(b"\r\n");
    c.send_raw(&toggles).await;
    c.expect("Account: ").await;
    let sends = c
        .subnegotiations
        .iter()
        .filter(|(option, data)| *option == TTYPE && data == &[1])
        .count();
    assert!(sends <= 3, "{sends} TTYPE SENDs");
    // Every toggle was still answered: RFC 1143 state stays right.
    assert_eq!(received(&c, TTYPE).len(), 1 + 600);
    c.send("quit").await;
    assert!(c.expect_closed().await.contains("Goodbye."));
    server.stop().await;
}

/// What the server says to a client over its negotiation budget.
const NEGOTIATION_FLOOD: &str = "Too much telnet negotiation; goodbye.";

/// Issue 15: subnegotiations were not counted at all (300,000 `Core.Supports`
/// names in 3,000 of them burned 13 CPU-seconds). Past its budget of bytes a
/// connection is closed.
#[tokio::test]
async fn a_flood_of_subnegotiation_bytes_closes_the_connection() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = gmcp_client(&server, r#"["Char 1"]"#).await;
    let names: Vec<String> = (0..400).map(|n| format!("\"P{n:05}\"")).collect();
    let add = gmcp(&format!("Core.Supports.Add [{}]", names.join(",")));
    assert!(add.len() < 4096, "each one fits the subnegotiation cap");
    let flood: Vec<u8> = add.repeat(200);
    // The server may close before reading all of it.
    let _ = tokio::time::timeout(PATIENCE, c.try_send_raw(&flood)).await;
    let rest = c.expect_closed().await;
    assert!(rest.contains(NEGOTIATION_FLOOD), "{rest:?}");
    // Everyone else is fine.
    let mut d = server.connect().await;
    d.expect("Account: ").await;
    server.stop().await;
}

/// Issue 15: a flood of option requests costs replies; past its budget of
/// messages a connection is closed, after answering every one it read.
#[tokio::test]
async fn a_flood_of_option_requests_closes_the_connection() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let flood: Vec<u8> = [IAC, DO, 99].repeat(20_000);
    let _ = tokio::time::timeout(PATIENCE, c.try_send_raw(&flood)).await;
    let rest = c.expect_closed().await;
    assert!(rest.contains(NEGOTIATION_FLOOD), "{rest:?}");
    let refused = received(&c, 99).len();
    assert!(
        (1000..20_000).contains(&refused),
        "{refused} requests answered before the close"
    );
    server.stop().await;
}

/// Subnegotiations have a budget of their own: a client sending plenty of them
/// between its lines keeps the command burst for its typed lines (40, of which
/// logging in took two).
#[tokio::test]
async fn subnegotiations_never_cost_a_typed_line() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = gmcp_client(&server, r#"["Char 1"]"#).await;
    enter_as(&mut c, "Chatty").await;
    let mut burst = Vec::new();
    for n in 0..30 {
        for _ in 0..10 {
            burst.extend(gmcp("Core.Ping"));
            burst.extend(naws(80 + n, 24));
        }
        burst.extend_from_slice(format!("say line {n}\r\n").as_bytes());
    }
    c.send_raw(&burst).await;
    c.expect("You say, \"line 29\"").await;
    let text = c.all_text();
    assert!(!text.contains("Slow down."), "{text}");
    for n in 0..30 {
        assert!(text.contains(&format!("You say, \"line {n}\"")), "line {n}");
    }
    server.stop().await;
}

/// `line` without its colour codes (`ESC [ ... m`).
fn visible(line: &str) -> String {
    let mut out = String::new();
    let mut in_escape = false;
    for ch in line.chars() {
        match ch {
            ESC => in_escape = true,
            'm' if in_escape => in_escape = false,
            _ if in_escape => {}
            _ => out.push(ch),
        }
    }
    out
}

/// What Mudlet does on connecting (agreeing to the offers, the TTYPE cycle,
/// CHARSET, GMCP hello and fifteen packages), then a window dragged wider in
/// sixty steps and a burst of typed lines: nothing of it is penalised.
#[tokio::test]
async fn a_mudlet_connect_burst_and_a_window_drag_cost_nothing() {
    let dir = temp_dir();
    let server = TestServer::start(dir.path()).await;
    let mut c = server.connect().await;
    c.expect("Account: ").await;
    let mut agree = Vec::new();
    for option in [EOR_OPTION, GMCP, MSSP, MCCP2] {
        agree.extend_from_slice(&[IAC, DO, option]);
    }
    for option in [NAWS, TTYPE, CHARSET] {
        agree.extend_from_slice(&[IAC, WILL, option]);
    }
    agree.extend(naws(90, 30));
    c.send_raw(&agree).await;
    for answer in [&b"\0MUDLET"[..], b"\0ANSI-TRUECOLOR", b"\0MTTS 2349"] {
        c.expect_subnegotiation(TTYPE).await;
        c.send_raw(&sb(TTYPE, answer)).await;
    }
    c.expect_subnegotiation(CHARSET).await;
    let mut hello = sb(CHARSET, b"\x02UTF-8");
    hello.extend(gmcp(
        r#"Core.Hello {"client": "Mudlet", "version": "4.17.2"}"#,
    ));
    hello.extend(gmcp(
        r#"Core.Supports.Set ["Char 1", "Char.Skills 1", "Char.Items 1", "Comm.Channel 1", "Room 1", "IRE.Rift 1", "IRE.Composer 1", "External.Discord 1", "Client.Media 1", "Char.Afflictions 1", "Char.Defences 1", "IRE.Target 1", "IRE.Tasks 1", "IRE.Display 3", "IRE.FileStore 1"]"#,
    ));
    c.send_raw(&hello).await;
    enter_as(&mut c, "Draggy").await;
    let mut drag = Vec::new();
    for step in 0..60 {
        drag.extend(naws(40 + step, 30));
    }
    c.send_raw(&drag).await;
    let mut burst = Vec::new();
    for n in 0..30 {
        burst.extend_from_slice(format!("say {n} {}\r\n", "word ".repeat(20)).as_bytes());
    }
    c.send_raw(&burst).await;
    let said = c.expect("You say, \"29 ").await;
    let said = said + &c.expect("\r\n> ").await;
    assert!(!c.all_text().contains("Slow down."));
    let widths: Vec<usize> = lines(&said).iter().map(|l| visible(l).width()).collect();
    assert!(
        widths.iter().all(|w| *w <= 99),
        "wrapped at the last width: {widths:?}"
    );
    assert!(widths.iter().any(|w| *w > 90), "the last width applies");
    let client: String = server
        .db()
        .query_row("SELECT client_type FROM sessions", [], |r| r.get(0))
        .expect("session row");
    assert_eq!(client, "Mudlet 4.17.2");
    server.stop().await;
}
