//! A reference model of gaslamp's telnet decoder, from what
//! `telnet/codec.rs` and `telnet/mod.rs` promise: it reads a whole stream in
//! two passes — first the telnet layer (commands, negotiations,
//! subnegotiations, escaped IACs) into tokens, then the line layer (line
//! ends, editing, the caps) over those tokens — where the decoder is one
//! resumable state machine fed a byte at a time. Only complete events count:
//! whatever is unfinished at the end of the stream is dropped, as at EOF.

use bytes::Bytes;
use gaslamp::telnet::{Input, MAX_LINE, MAX_PENDING, MAX_SUBNEG, Verb};

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const EC: u8 = 247;
const EL: u8 = 248;
const BS: u8 = 0x08;
const DEL: u8 = 0x7f;

/// The telnet layer's reading of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A data byte (255 when it came as IAC IAC).
    Data(u8),
    EraseChar,
    EraseLine,
    /// An event the line layer passes through untouched.
    Event(Input),
}

/// The events a whole stream decodes to; lines as Latin-1 when `latin1`.
pub fn decode(stream: &[u8], latin1: bool) -> Vec<Input> {
    lines(tokens(stream), latin1)
}

/// First pass: the telnet grammar. An IAC is followed by a command byte;
/// inside `IAC SB opt ... IAC SE`, an IAC followed by anything but IAC or SE
/// abandons the subnegotiation and is read as that command outside it.
fn tokens(stream: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let byte = stream[at];
        at += 1;
        if byte != IAC {
            out.push(Token::Data(byte));
            continue;
        }
        let Some(used) = command(&stream[at..], &mut out) else {
            break; // an unfinished command at the end
        };
        at += used;
    }
    out
}

/// Reads the command after an IAC from `rest`; how many bytes it took, or
/// `None` when the stream ends inside it.
fn command(rest: &[u8], out: &mut Vec<Token>) -> Option<usize> {
    let &byte = rest.first()?;
    if let Some(verb) = Verb::from_byte(byte) {
        let &option = rest.get(1)?;
        out.push(Token::Event(Input::Negotiation { verb, option }));
        return Some(2);
    }
    match byte {
        IAC => out.push(Token::Data(IAC)),
        SB => return subnegotiation(&rest[1..], out).map(|n| n + 1),
        SE => {}
        EC => out.push(Token::EraseChar),
        EL => out.push(Token::EraseLine),
        other => out.push(Token::Event(Input::Command(other))),
    }
    Some(1)
}

/// Reads `opt data... IAC SE` after `IAC SB`.
fn subnegotiation(rest: &[u8], out: &mut Vec<Token>) -> Option<usize> {
    let &option = rest.first()?;
    let mut data = Vec::new();
    let mut at = 1;
    loop {
        let &byte = rest.get(at)?;
        at += 1;
        if byte != IAC {
            data.push(byte);
            continue;
        }
        match *rest.get(at)? {
            IAC => {
                data.push(IAC);
                at += 1;
            }
            SE => {
                at += 1;
                out.push(Token::Event(if data.len() > MAX_SUBNEG {
                    Input::SubnegotiationTooLong { option }
                } else {
                    Input::Subnegotiation {
                        option,
                        data: Bytes::from(data),
                    }
                }));
                return Some(at);
            }
            // Abandoned: the byte is a command of its own, outside.
            _ => return command(&rest[at..], out).map(|n| n + at),
        }
    }
}

/// The line being typed, in the second pass.
#[derive(Default)]
struct Typing {
    kept: Vec<u8>,
    /// Bytes were typed past `MAX_LINE` and not all erased by EL.
    too_long: bool,
    /// Data bytes since the last line end, erased or not.
    pending: usize,
    /// Overflow was reported; the rest up to a line end is ignored.
    overflowed: bool,
}

/// Second pass: line ends (CR, LF, CR LF, CR NUL: the LF or NUL right after a
/// CR, commands between them aside, belongs to the CR), editing (BS and DEL
/// erase a character, EC too, EL the line), the 1024-byte line and the
/// 8 KiB without a line end.
fn lines(tokens: Vec<Token>, latin1: bool) -> Vec<Input> {
    let mut out = Vec::new();
    let mut typing = Typing::default();
    let mut after_cr = false;
    for token in tokens {
        match token {
            Token::Event(event) => out.push(event),
            Token::EraseChar => erase_char(&mut typing.kept, latin1),
            Token::EraseLine => {
                typing.kept.clear();
                typing.too_long = false;
            }
            Token::Data(byte) => {
                let pair = std::mem::replace(&mut after_cr, false);
                if pair && (byte == b'\n' || byte == 0) {
                    continue;
                }
                match byte {
                    b'\r' | b'\n' => {
                        after_cr = byte == b'\r';
                        out.extend(end_line(std::mem::take(&mut typing), latin1));
                    }
                    _ => out.extend(type_byte(&mut typing, byte, latin1)),
                }
            }
        }
    }
    out
}

fn type_byte(typing: &mut Typing, byte: u8, latin1: bool) -> Option<Input> {
    typing.pending += 1;
    if typing.overflowed {
        return None;
    }
    if typing.pending >= MAX_PENDING {
        typing.overflowed = true;
        typing.kept.clear();
        typing.too_long = false;
        return Some(Input::Overflow);
    }
    match byte {
        BS | DEL => erase_char(&mut typing.kept, latin1),
        _ if typing.kept.len() < MAX_LINE => typing.kept.push(byte),
        _ => typing.too_long = true,
    }
    None
}

fn end_line(typing: Typing, latin1: bool) -> Option<Input> {
    if typing.overflowed {
        None
    } else if typing.too_long {
        Some(Input::LineTooLong)
    } else if latin1 {
        Some(Input::Line(
            typing.kept.iter().map(|&b| char::from(b)).collect(),
        ))
    } else {
        Some(Input::Line(
            String::from_utf8_lossy(&typing.kept).into_owned(),
        ))
    }
}

/// Erases the last character: in UTF-8 the last whole sequence if the line
/// ends with one (else one byte), in Latin-1 one byte.
fn erase_char(kept: &mut Vec<u8>, latin1: bool) {
    if latin1 || kept.is_empty() {
        kept.pop();
        return;
    }
    // Walk back over continuation bytes to the lead byte, at most 4 in all;
    // the sequence from there counts only if it is one valid character.
    let len = kept.len();
    let start = (len.saturating_sub(4)..len)
        .rev()
        .find(|&at| kept[at] & 0xC0 != 0x80);
    let width = match start {
        Some(at) if std::str::from_utf8(&kept[at..]).is_ok_and(|s| s.chars().count() == 1) => {
            len - at
        }
        _ => 1,
    };
    kept.truncate(len - width);
}
