//! The floor the crowded room is measured against (issue 21): a server that
//! does nothing but write each spoken line straight to every other socket.
//!
//! It speaks just enough of gaslamp's dialogue for the load generator's
//! clients (`Account: `, `Character: ` and `> ` prompts ended by IAC GA, and
//! `<Name> says, "<text>"`), and nothing else: no store, no world, no
//! outboxes, no rate limits, no telnet options beyond skipping what the
//! client sends. One thread per connection reads; the speaker's thread writes
//! the line to every other connection itself, under one lock, with one
//! `write` each. What a real server spends per delivered line beyond this is
//! its own overhead.
//!
//! Started by the load generator as gaslamp is (`--bind <addr>` among
//! gaslamp's flags, the rest ignored); stopped by SIGTERM.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

const IAC: u8 = 255;
const GA: u8 = 249;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DONT: u8 = 254;

/// Every connection in the game, by id.
type Everyone = Arc<Mutex<Vec<(usize, TcpStream)>>>;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip_while(|arg| arg != "--bind");
    let bind = args.nth(1).unwrap_or_else(|| "127.0.0.1:4000".to_string());
    let listener = TcpListener::bind(&bind)?;
    eprintln!("fanout listening on {bind}");
    let everyone: Everyone = Arc::default();
    for (id, stream) in listener.incoming().enumerate() {
        let Ok(stream) = stream else {
            continue;
        };
        let everyone = everyone.clone();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let _ = serve(id, stream, &everyone);
                everyone
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|(other, _)| *other != id);
            })?;
    }
    Ok(())
}

/// Answers one connection until it closes.
fn serve(id: usize, mut stream: TcpStream, everyone: &Everyone) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    prompt(&mut stream, "Account: ")?;
    let mut name = String::from("Someone");
    let mut lines = Lines::default();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        for line in lines.feed(&buf[..n]) {
            let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match verb {
                "create" | "connect" => {
                    name = rest.split(' ').next().unwrap_or("Someone").to_string();
                    prompt(&mut stream, "Character: ")?;
                }
                "1" => {
                    everyone
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((id, stream.try_clone()?));
                    prompt(&mut stream, "> ")?;
                }
                "say" => {
                    let heard = format!("{name} says, \"{rest}\"\r\n");
                    for (other, socket) in everyone
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter_mut()
                    {
                        if *other != id {
                            let _ = socket.write_all(heard.as_bytes());
                        }
                    }
                    stream.write_all(format!("You say, \"{rest}\"\r\n").as_bytes())?;
                    prompt(&mut stream, "> ")?;
                }
                "quit" => {
                    stream.write_all(b"Goodbye.\r\n")?;
                    return stream.shutdown(Shutdown::Both);
                }
                _ => prompt(&mut stream, "> ")?,
            }
        }
    }
}

/// A prompt, ended by IAC GA as gaslamp ends its prompts.
fn prompt(stream: &mut TcpStream, text: &str) -> std::io::Result<()> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.extend_from_slice(&[IAC, GA]);
    stream.write_all(&bytes)
}

/// Input split into lines, telnet commands skipped.
#[derive(Default)]
struct Lines {
    line: Vec<u8>,
    state: State,
}

#[derive(Default, Clone, Copy)]
enum State {
    #[default]
    Data,
    Iac,
    Option,
    Sub,
    SubIac,
}

impl Lines {
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b'\n') => {
                    let text = String::from_utf8_lossy(&self.line);
                    lines.push(text.trim_end_matches('\r').to_string());
                    self.line.clear();
                    State::Data
                }
                (State::Data, b) => {
                    self.line.push(b);
                    State::Data
                }
                (State::Iac, WILL..=DONT) => State::Option,
                (State::Iac, SB) => State::Sub,
                (State::Iac, _) | (State::Option, _) => State::Data,
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Data,
                (State::SubIac, _) => State::Sub,
            };
        }
        lines
    }
}
