//! GMCP from the client, through the session's reading path
//! (`session::conn`: the telnet decoder, the option table, `Core.Hello`,
//! `Core.Ping`, `Core.Supports.Set`/`.Add`/`.Remove` and the package caps of
//! `session::render::Protocol`): a real `Conn` reads a stream in which the
//! client agrees to GMCP and then sends the input's messages. What it makes
//! of them must be what a model of the GMCP rules says: the client's name
//! as each `Core.Hello` leaves it (cleaned, at most 40 characters, told only
//! when it changes), a `Core.Ping` answered for every one sent, and exactly
//! the packages the model holds wanted, under the caps.
//!
//! Input: GMCP messages (`Package.Message <json>`), separated by NUL bytes.

#![no_main]

use std::collections::HashSet;
use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use gaslamp::game::outbox::Outbound;
use gaslamp::game::{Outbox, Peer, Transport};
use gaslamp::session::conn::{Conn, Input, Offers, ReadLimits};
use gaslamp::session::render::{MAX_PACKAGE_NAME, MAX_PACKAGES};
use gaslamp::telnet::{self, TelnetCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const DO: u8 = 253;
const GMCP: u8 = 201;

/// Messages per input: well inside the negotiation budget (2048 at once,
/// 64 KiB), which a longer input would spend and be closed for.
const MAX_MESSAGES: usize = 1000;

fuzz_target!(|data: &[u8]| {
    if data.len() > 32 * 1024 {
        return;
    }
    let messages: Vec<&[u8]> = data.split(|&b| b == 0).take(MAX_MESSAGES).collect();
    let mut stream = vec![IAC, DO, GMCP];
    for message in &messages {
        stream.extend_from_slice(&[IAC, SB, GMCP]);
        for &byte in *message {
            stream.extend_from_slice(if byte == IAC {
                &[IAC, IAC]
            } else {
                std::slice::from_ref(&byte)
            });
        }
        stream.extend_from_slice(&[IAC, SE]);
    }
    let mut model = Model::default();
    for message in &messages {
        model.read(message);
    }
    gaslamp_fuzz::runtime().block_on(check(stream, &model));
});

/// Reads the stream with a real `Conn` and compares what it learnt.
async fn check(stream: Vec<u8>, model: &Model) {
    let dead = CancellationToken::new();
    let (outbox, mut queue) = Outbox::new(1 << 16, dead);
    let peer = Peer {
        addr: SocketAddr::from(([127, 0, 0, 1], 4000)),
        transport: Transport::Plain,
    };
    let limits = ReadLimits {
        per_second: 1000,
        burst: 1000,
    };
    let shutdown = CancellationToken::new();
    let reader = Box::new(Cursor::new(stream));
    let mut conn = Conn::new(
        1,
        peer,
        reader,
        outbox,
        shutdown,
        limits,
        Offers { mccp: false },
    );
    conn.offer_options();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut named = Vec::new();
    loop {
        match conn.next(deadline).await {
            Ok(Input::ClientNamed(name)) => named.push(name),
            Ok(other) => panic!("a GMCP stream gave the session {other:?}"),
            Err(hangup) => {
                assert_eq!(hangup, gaslamp::session::conn::Hangup::Closed);
                break;
            }
        }
    }
    assert_eq!(named, model.named, "the client's names, as told");
    let protocol = conn.protocol();
    assert!(protocol.gmcp_on());
    for message in model.probes() {
        assert_eq!(
            protocol.wants(&message),
            model.wants(&message),
            "wants {message:?}; packages {:?}",
            model.packages
        );
    }
    drop(conn);
    let mut wire = BytesMut::new();
    while let Some(item) = queue.try_recv() {
        if let Outbound::Wire(bytes) = item {
            wire.extend_from_slice(&bytes);
        }
    }
    assert_eq!(pings_answered(wire), model.pings, "Core.Ping answers");
}

/// The `Core.Ping` subnegotiations among what the server sent.
fn pings_answered(mut wire: BytesMut) -> usize {
    let mut codec = TelnetCodec::new();
    let mut pings = 0;
    while let Ok(Some(item)) = codec.decode(&mut wire) {
        if let telnet::Input::Subnegotiation { option: GMCP, data } = item {
            pings += usize::from(&data[..] == b"Core.Ping");
        }
    }
    pings
}

/// The GMCP rules as `session::conn::gmcp` and `session::render` describe
/// them.
#[derive(Default)]
struct Model {
    /// The client's name as last set, and each change told.
    name: String,
    named: Vec<String>,
    pings: usize,
    packages: HashSet<String>,
    /// Every package name mentioned, for probing.
    mentioned: Vec<String>,
}

impl Model {
    /// One message: `Package.Message`, whitespace, its JSON.
    fn read(&mut self, message: &[u8]) {
        // A longer subnegotiation is dropped whole by the decoder.
        if message.len() > telnet::MAX_SUBNEG {
            return;
        }
        let Ok(text) = std::str::from_utf8(message) else {
            return;
        };
        let text = text.trim();
        let (name, json) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let json: Option<serde_json::Value> = serde_json::from_str(json.trim()).ok();
        match name.to_ascii_lowercase().as_str() {
            "core.hello" => self.hello(json),
            "core.ping" => self.pings += 1,
            "core.supports.set" => self.supports(json, true, false),
            "core.supports.add" => self.supports(json, false, false),
            "core.supports.remove" => self.supports(json, false, true),
            _ => {}
        }
    }

    fn hello(&mut self, json: Option<serde_json::Value>) {
        let Some(hello) = json else { return };
        let Some(client) = hello.get("client").and_then(|c| c.as_str()) else {
            return;
        };
        let full = match hello.get("version").and_then(|v| v.as_str()) {
            Some(version) => format!("{client} {version}"),
            None => client.to_string(),
        };
        let name: String = gaslamp::text::sanitize(&full).chars().take(40).collect();
        if !name.is_empty() && name != self.name {
            self.name = name.clone();
            self.named.push(name);
        }
    }

    /// A list of strings like `"Room 1"`: the package is the first word.
    fn supports(&mut self, json: Option<serde_json::Value>, set: bool, remove: bool) {
        let Some(serde_json::Value::Array(entries)) = json else {
            return;
        };
        if set {
            self.packages.clear();
        }
        for entry in entries.iter().filter_map(|e| e.as_str()) {
            let name = entry.split_whitespace().next().unwrap_or("");
            if name.is_empty() || name.len() > MAX_PACKAGE_NAME {
                continue;
            }
            let name = name.to_ascii_lowercase();
            self.mentioned.push(name.clone());
            if remove {
                self.packages.remove(&name);
            } else if self.packages.len() < MAX_PACKAGES {
                self.packages.insert(name);
            }
        }
    }

    /// `Core.*` always; else a package or one above it was asked for, for a
    /// message name no longer than a package name may be.
    fn wants(&self, message: &str) -> bool {
        if message
            .as_bytes()
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case(b"core."))
        {
            return true;
        }
        if message.len() > MAX_PACKAGE_NAME {
            return false;
        }
        let lower = message.to_ascii_lowercase();
        lower
            .match_indices('.')
            .any(|(at, _)| self.packages.contains(&lower[..at]))
    }

    /// Message names to ask `wants` about: under every package mentioned,
    /// the names themselves, and what gaslamp sends.
    fn probes(&self) -> Vec<String> {
        let mut probes: Vec<String> = [
            "Room.Info",
            "Char.Items.List",
            "Comm.Channel.Text",
            "Core.Ping",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for name in &self.mentioned {
            probes.push(format!("{name}.Info"));
            probes.push(name.to_ascii_uppercase());
        }
        probes
    }
}
