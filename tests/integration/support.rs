//! Test support: a real server on 127.0.0.1:0 with a temporary database, and a
//! small telnet client that records option negotiation and waits for text.
//!
//! Waiting is always for an event (bytes arriving); the timeout only turns a hang
//! into a failure message with everything received so far.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gaslamp::game::Game;
use gaslamp::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any single expectation may wait before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub const IAC: u8 = 255;
pub const WILL: u8 = 251;
pub const WONT: u8 = 252;
pub const DO: u8 = 253;
pub const DONT: u8 = 254;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
pub const GA: u8 = 249;
pub const EOR: u8 = 239;
pub const ECHO: u8 = 1;
/// The MCCP2 option: everything after `IAC SB 86 IAC SE` is a zlib stream.
pub const MCCP2: u8 = 86;

/// The repository's shipped worlds.
pub fn shipped_worlds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("worlds")
}

/// The predecessor's worlds, kept as test input.
pub fn fixture_worlds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipeworks_worlds")
}

/// A server running in the test's runtime.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    /// The TLS listener's address, when the configuration has one.
    pub tls_addr: Option<std::net::SocketAddr>,
    /// The web listener's address, when the configuration has one.
    pub web_addr: Option<std::net::SocketAddr>,
    pub game: Arc<Game>,
    pub db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), gaslamp::ShutdownError>>>,
}

/// A temporary directory for a test's database, kept across restarts.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// The test configuration: a database in `dir`, the shipped worlds.
pub fn config(dir: &Path) -> ServerConfig {
    ServerConfig::for_tests(dir.join("gaslamp.db"), shipped_worlds())
}

impl TestServer {
    pub async fn start(dir: &Path) -> TestServer {
        TestServer::start_with(config(dir)).await
    }

    pub async fn start_with(config: ServerConfig) -> TestServer {
        let db_path = config.db_path.clone();
        let server = Server::start(config).await.expect("server starts");
        TestServer::running(server, db_path)
    }

    /// Runs a server the test started itself (to keep a handle `run` would
    /// take, such as `Server::backups`) on the database `db_path`.
    pub fn running(server: Server, db_path: PathBuf) -> TestServer {
        let addr = server.local_addr().expect("bound address");
        let tls_addr = server.tls_addr();
        let web_addr = server.web_addr();
        let game = server.game();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            tls_addr,
            web_addr,
            game,
            db_path,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Fires the shutdown future and waits for `run` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait_stopped().await;
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A direct read-only look at the database file.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db_path).expect("open database")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .expect("count query")
    }
}

/// What the client saw of telnet option negotiation, in order, with the length
/// of the text received before it (to check ordering against prompts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiation {
    pub verb: u8,
    pub option: u8,
    pub at_text_len: usize,
}

/// Any byte stream a client can talk over (TCP, an in-memory duplex, TLS).
pub trait ByteStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> ByteStream for T {}

/// A raw client that speaks enough telnet to test the server.
pub struct Client {
    stream: Box<dyn ByteStream>,
    /// Everything received, as bytes, telnet commands included.
    pub raw: Vec<u8>,
    /// The text received, telnet commands removed, lossily decoded.
    text: Vec<u8>,
    /// How much of `text` earlier expectations consumed.
    seen: usize,
    pub negotiations: Vec<Negotiation>,
    /// IAC GA markers: the text length at which each arrived.
    pub go_aheads: Vec<usize>,
    /// IAC EOR markers: the text length at which each arrived.
    pub end_of_records: Vec<usize>,
    /// Every subnegotiation received: option and data (un-escaped), in order.
    pub subnegotiations: Vec<(u8, Vec<u8>)>,
    /// Which of `subnegotiations` an expectation has already taken.
    taken: Vec<bool>,
    sb_option: u8,
    sb_data: Vec<u8>,
    /// The zlib stream being read, between the MCCP2 marker and its end.
    inflater: Option<flate2::Decompress>,
    /// MCCP2 streams that began, and those that ended cleanly (Z_STREAM_END).
    pub compression_started: usize,
    pub compression_ended: usize,
    state: ParseState,
    pub closed: bool,
}

#[derive(Clone, Copy)]
enum ParseState {
    Data,
    Iac,
    Verb(u8),
    SbOption,
    Sb,
    SbIac,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Client::over(stream)
    }

    /// Connects from the loopback address `source` (any of 127.0.0.0/8), so
    /// a test can play several client addresses.
    pub async fn connect_from(addr: std::net::SocketAddr, source: std::net::IpAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::new(source, 0))
            .expect("bind the source address");
        let stream = socket.connect(addr).await.expect("connect");
        Client::over(stream)
    }

    /// A client over any byte stream.
    pub fn over(stream: impl ByteStream + 'static) -> Client {
        Client {
            stream: Box::new(stream),
            raw: Vec::new(),
            text: Vec::new(),
            seen: 0,
            negotiations: Vec::new(),
            go_aheads: Vec::new(),
            end_of_records: Vec::new(),
            subnegotiations: Vec::new(),
            taken: Vec::new(),
            sb_option: 0,
            sb_data: Vec::new(),
            inflater: None,
            compression_started: 0,
            compression_ended: 0,
            state: ParseState::Data,
            closed: false,
        }
    }

    /// Sends a line ending in CRLF.
    pub async fn send(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// Sends bytes the server may refuse to read to the end (it closes the
    /// connection first); whether they all went is the result.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads once; returns false at end of stream.
    async fn read_some(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf).await {
            Ok(0) | Err(_) => {
                self.closed = true;
                false
            }
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.receive(&buf[..n]);
                true
            }
        }
    }

    /// Decodes bytes as they came off the wire: telnet, and inside an MCCP2
    /// stream zlib first.
    fn receive(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if let Some(inflater) = &mut self.inflater {
                let mut plain = Vec::with_capacity(bytes.len() * 8 + 1024);
                let mut ended = false;
                // Until the input is used up and zlib has no output left (a
                // full output buffer may mean more is waiting inside zlib).
                loop {
                    let before = inflater.total_in();
                    let status = inflater
                        .decompress_vec(bytes, &mut plain, flate2::FlushDecompress::Sync)
                        .expect("the MCCP2 stream is valid zlib");
                    bytes = &bytes[(inflater.total_in() - before) as usize..];
                    if status == flate2::Status::StreamEnd {
                        ended = true;
                        break;
                    }
                    if plain.len() == plain.capacity() {
                        plain.reserve(16 * 1024);
                    } else if bytes.is_empty() {
                        break;
                    }
                }
                for byte in plain {
                    self.parse(byte);
                }
                if ended {
                    self.inflater = None;
                    self.compression_ended += 1;
                }
                continue;
            }
            let mut rest: &[u8] = &[];
            for (at, &byte) in bytes.iter().enumerate() {
                if self.parse(byte) {
                    self.inflater = Some(flate2::Decompress::new(true));
                    self.compression_started += 1;
                    rest = &bytes[at + 1..];
                    break;
                }
            }
            bytes = rest;
        }
    }

    /// Waits for the next subnegotiation of `option` not yet taken; returns
    /// its data.
    pub async fn expect_subnegotiation(&mut self, option: u8) -> Vec<u8> {
        self.expect_subnegotiation_where(option, |_| true).await
    }

    /// Waits for the next GMCP message called `name` (any case) not yet taken;
    /// returns its JSON (`null` when it has none).
    pub async fn expect_gmcp(&mut self, name: &str) -> serde_json::Value {
        let data = self
            .expect_subnegotiation_where(GMCP, |data| gmcp_name(data).eq_ignore_ascii_case(name))
            .await;
        gmcp_json(&data)
    }

    /// The GMCP messages received so far, taken or not: name and JSON.
    pub fn gmcp_messages(&self) -> Vec<(String, serde_json::Value)> {
        self.subnegotiations
            .iter()
            .filter(|(option, _)| *option == GMCP)
            .map(|(_, data)| (gmcp_name(data).to_string(), gmcp_json(data)))
            .collect()
    }

    async fn expect_subnegotiation_where(
        &mut self,
        option: u8,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Vec<u8> {
        let find = |client: &Client| {
            client
                .subnegotiations
                .iter()
                .enumerate()
                .position(|(i, (o, data))| *o == option && !client.taken[i] && wanted(data))
        };
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(at) = find(self) {
                    return Some(at);
                }
                if !self.read_some().await {
                    return find(self);
                }
            }
        })
        .await;
        match found {
            Ok(Some(at)) => {
                self.taken[at] = true;
                self.subnegotiations[at].1.clone()
            }
            Ok(None) => panic!("closed before subnegotiation {option} arrived"),
            Err(_) => panic!(
                "timed out waiting for subnegotiation {option}; got {:?}",
                self.gmcp_messages()
            ),
        }
    }

    /// Feeds one byte of telnet; true when it ended the MCCP2 start marker
    /// (everything after it is compressed).
    fn parse(&mut self, byte: u8) -> bool {
        let mut compression_starts = false;
        self.state = match (self.state, byte) {
            (ParseState::Data, IAC) => ParseState::Iac,
            (ParseState::Data, b) => {
                self.text.push(b);
                ParseState::Data
            }
            (ParseState::Iac, IAC) => {
                self.text.push(IAC);
                ParseState::Data
            }
            (ParseState::Iac, v @ WILL..=DONT) => ParseState::Verb(v),
            (ParseState::Iac, SB) => ParseState::SbOption,
            (ParseState::SbOption, option) => {
                self.sb_option = option;
                self.sb_data.clear();
                ParseState::Sb
            }
            (ParseState::Iac, GA) => {
                self.go_aheads.push(self.text.len());
                ParseState::Data
            }
            (ParseState::Iac, EOR) => {
                self.end_of_records.push(self.text.len());
                ParseState::Data
            }
            (ParseState::Iac, _) => ParseState::Data,
            (ParseState::Verb(verb), option) => {
                self.negotiations.push(Negotiation {
                    verb,
                    option,
                    at_text_len: self.text.len(),
                });
                ParseState::Data
            }
            (ParseState::Sb, IAC) => ParseState::SbIac,
            (ParseState::Sb, b) => {
                self.sb_data.push(b);
                ParseState::Sb
            }
            (ParseState::SbIac, SE) => {
                let data = std::mem::take(&mut self.sb_data);
                compression_starts = self.sb_option == MCCP2 && data.is_empty();
                self.subnegotiations.push((self.sb_option, data));
                self.taken.push(false);
                ParseState::Data
            }
            (ParseState::SbIac, b) => {
                self.sb_data.push(b);
                ParseState::Sb
            }
        };
        compression_starts
    }

    /// Text received and not yet consumed.
    pub fn pending(&self) -> String {
        String::from_utf8_lossy(&self.text[self.seen..]).into_owned()
    }

    /// All text received so far.
    pub fn all_text(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }

    /// Waits until `needle` appears in the unconsumed text; consumes up to its
    /// end and returns the consumed text.
    pub async fn expect(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(end) = self.find(needle) {
                    return Some(end);
                }
                if !self.read_some().await {
                    return self.find(needle);
                }
            }
        })
        .await;
        match found {
            Ok(Some(end)) => {
                let consumed = String::from_utf8_lossy(&self.text[self.seen..end]).into_owned();
                self.seen = end;
                consumed
            }
            Ok(None) => panic!(
                "connection closed before {needle:?} arrived; unconsumed text:\n{}",
                self.pending()
            ),
            Err(_) => panic!(
                "timed out waiting for {needle:?}; unconsumed text:\n{}",
                self.pending()
            ),
        }
    }

    /// Consumes unconsumed text up to the end of the last complete game prompt
    /// in it, if any (reading first whatever has already arrived).
    pub fn skip_shown_prompts(&mut self) {
        self.read_arrived();
        let hay = &self.text[self.seen..];
        let prompt = b"\r\n> ";
        if let Some(at) = hay.windows(prompt.len()).rposition(|w| w == prompt) {
            self.seen += at + prompt.len();
        }
    }

    /// Reads whatever has already arrived, without waiting for more.
    fn read_arrived(&mut self) {
        use futures::FutureExt;
        let mut buf = [0u8; 16 * 1024];
        while let Some(result) = self.stream.read(&mut buf).now_or_never() {
            match result {
                Ok(0) | Err(_) => {
                    self.closed = true;
                    return;
                }
                Ok(n) => {
                    self.raw.extend_from_slice(&buf[..n]);
                    self.receive(&buf[..n]);
                }
            }
        }
    }

    fn find(&self, needle: &str) -> Option<usize> {
        let hay = &self.text[self.seen..];
        let needle = needle.as_bytes();
        hay.windows(needle.len())
            .position(|w| w == needle)
            .map(|at| self.seen + at + needle.len())
    }

    /// Waits until one of `needles` appears in the unconsumed text; consumes up
    /// to the end of the one that starts first and returns its index and the
    /// consumed text.
    pub async fn expect_any(&mut self, needles: &[&str]) -> (usize, String) {
        match self.expect_any_or_closed(needles).await {
            Some(found) => found,
            None => panic!(
                "connection closed before any of {needles:?} arrived; unconsumed text:\n{}",
                self.pending()
            ),
        }
    }

    /// Like [`Client::expect_any`], but a close before any of `needles` arrived
    /// is an answer too (`None`, with the rest left unconsumed).
    pub async fn expect_any_or_closed(&mut self, needles: &[&str]) -> Option<(usize, String)> {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(hit) = self.find_first(needles) {
                    return Some(hit);
                }
                if !self.read_some().await {
                    return self.find_first(needles);
                }
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "timed out waiting for any of {needles:?}; unconsumed text:\n{}",
                self.pending()
            )
        });
        let (index, end) = found?;
        let consumed = String::from_utf8_lossy(&self.text[self.seen..end]).into_owned();
        self.seen = end;
        Some((index, consumed))
    }

    /// The needle that starts first in the unconsumed text: its index and end.
    fn find_first(&self, needles: &[&str]) -> Option<(usize, usize)> {
        let hay = &self.text[self.seen..];
        needles
            .iter()
            .enumerate()
            .filter_map(|(index, needle)| {
                let needle = needle.as_bytes();
                hay.windows(needle.len())
                    .position(|w| w == needle)
                    .map(|at| (at, index, self.seen + at + needle.len()))
            })
            .min()
            .map(|(_, index, end)| (index, end))
    }

    /// Waits for the server to close the connection; returns the text left.
    pub async fn expect_closed(&mut self) -> String {
        tokio::time::timeout(PATIENCE, async { while self.read_some().await {} })
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "connection still open; unconsumed text:\n{}",
                    self.pending()
                )
            });
        let rest = self.pending();
        self.seen = self.text.len();
        rest
    }

    /// Sends a line and waits for the game prompt that follows its answer;
    /// returns the answer. A prompt already received before the line was sent
    /// (shown again after someone else's line) ends no answer of this command:
    /// unconsumed text up to the last such prompt is consumed first.
    pub async fn command(&mut self, line: &str) -> String {
        self.skip_shown_prompts();
        self.send(line).await;
        let answer = self.expect("\r\n> ").await;
        answer
            .trim_end_matches("\r\n> ")
            .trim_start_matches("\r\n")
            .to_string()
    }

    /// Registers an account with the one-line `create` and waits for the menu.
    pub async fn create(&mut self, account: &str, password: &str) {
        self.expect("Account: ").await;
        self.send(&format!("create {account} {password}")).await;
        self.expect(&format!("Account {account} created.")).await;
        self.expect("Character: ").await;
    }

    /// Logs in with the one-line `connect` and waits for the menu.
    pub async fn connect_as(&mut self, account: &str, password: &str) {
        self.expect("Account: ").await;
        self.send(&format!("connect {account} {password}")).await;
        self.expect("Character: ").await;
    }

    /// Picks a character from the menu and waits for the first game prompt.
    pub async fn enter(&mut self, choice: &str) -> String {
        self.send(choice).await;
        self.expect("\r\n> ").await
    }
}

/// The GMCP option.
pub const GMCP: u8 = 201;

fn gmcp_name(data: &[u8]) -> &str {
    let text = std::str::from_utf8(data).unwrap_or("");
    text.split(' ').next().unwrap_or("")
}

fn gmcp_json(data: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(data);
    match text.split_once(' ') {
        Some((_, json)) => serde_json::from_str(json).expect("the server's GMCP is valid JSON"),
        None => serde_json::Value::Null,
    }
}

/// A password that satisfies the policy.
pub const PASSWORD: &str = "correct horse battery";

impl TestServer {
    /// Waits for the server to stop by itself (`/shutdown`).
    pub async fn wait_stopped(mut self) {
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(PATIENCE, task)
                .await
                .expect("server stops in time")
                .expect("server task did not panic");
            result.expect("server run ends cleanly");
        }
    }

    /// Fires the shutdown future and returns what `run` returned (the tests
    /// of a stop that cannot keep everything).
    pub async fn stop_and_report(mut self) -> Result<(), gaslamp::ShutdownError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("the server is running");
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("server stops in time")
            .expect("server task did not panic")
    }

    /// Sets an account's role directly in the database (test set-up only).
    pub fn set_role(&self, account: &str, role: &str) {
        let n = self
            .db()
            .execute(
                "UPDATE users SET role = ?2 WHERE username = ?1",
                [account, role],
            )
            .expect("set role");
        assert_eq!(n, 1, "no account {account}");
    }

    /// Creates an account over telnet, gives it `role`, logs in again and enters
    /// the game with its first character.
    pub async fn player_with_role(&self, account: &str, role: &str) -> Client {
        let mut c = self.connect().await;
        c.create(account, PASSWORD).await;
        c.send("quit").await;
        c.expect_closed().await;
        if role != "player" {
            self.set_role(account, role);
        }
        let mut c = self.connect().await;
        c.connect_as(account, PASSWORD).await;
        c.enter("1").await;
        c
    }

    /// Audit rows as (actor account, action, target).
    pub fn audit_rows(&self) -> Vec<(Option<String>, String, Option<String>)> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT u.username, a.action, a.target FROM audit_log a \
                 LEFT JOIN users u ON u.id = a.actor_user_id ORDER BY a.id",
            )
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }
}

/// Writes a world `id` into `worlds_dir`: its `world.json` and each zone file.
pub fn write_world(worlds_dir: &Path, id: &str, world_json: &str, zones: &[(&str, &str)]) {
    let world = worlds_dir.join(id);
    std::fs::create_dir_all(world.join("zones")).expect("world directories");
    std::fs::write(world.join("world.json"), world_json).expect("world.json");
    for (zone, json) in zones {
        std::fs::write(world.join("zones").join(format!("{zone}.json")), json).expect("zone file");
    }
}

/// A world whose only room has an exit to a room that does not exist, and
/// whose `default_spawn` names `spawn` (pass a missing room to break it too).
pub fn write_broken_world(worlds_dir: &Path, spawn: &str) {
    let world_json = format!(
        r#"{{"name": "Broken", "description": "", "default_spawn": {{"zone": "z", "room": "{spawn}"}}, "zones": ["z"]}}"#
    );
    write_world(
        worlds_dir,
        "broken",
        &world_json,
        &[(
            "z",
            r#"{"id": "z", "name": "Z", "description": "", "spawn_room": "a",
                "rooms": [{"id": "a", "name": "A", "description": "", "exits": {"north": "b"}, "items": []}]}"#,
        )],
    );
}

/// Copies a directory tree (a world set to change in a test).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Sends each client its line at the same moment: all the writes are started
/// together, so the server receives them as one burst.
pub async fn send_together(sends: Vec<(&mut Client, String)>) {
    futures::future::join_all(
        sends
            .into_iter()
            .map(|(client, line)| async move { client.send(&line).await }),
    )
    .await;
}
