//! The telnet wire codec. Decoding is a byte-at-a-time state machine that
//! turns a client's stream into [`Input`] events: complete lines (with the
//! client's backspaces and erase commands applied), option negotiations,
//! subnegotiations and other commands. Encoding turns [`Output`] items into
//! bytes with NVT line endings and IAC escaping. This file owns framing and
//! escaping only: it must not answer negotiations (that is
//! [`super::OptionTable`]'s job, driven by the session), must not clean or
//! interpret the text of a line, and knows nothing about accounts, sessions or
//! the game. Nothing a client sends may make it fail or panic: every oddity
//! becomes an [`Input`] item or is ignored.

use std::io;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{EC, EL, EOR_CMD, GA, IAC, MAX_LINE, MAX_PENDING, MAX_SUBNEG, SB, SE, Verb};

/// Backspace, which erases the last character of the line being typed.
const BS: u8 = 0x08;
/// Delete, which many terminals send for the backspace key.
const DEL: u8 = 0x7f;

/// One event decoded from the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One complete line without its terminator, decoded as UTF-8 with
    /// invalid bytes replaced by U+FFFD.
    Line(String),
    /// A line longer than [`super::MAX_LINE`] bytes ended; it was dropped.
    LineTooLong,
    /// [`super::MAX_PENDING`] data bytes arrived without any line
    /// terminator; the caller is expected to disconnect.
    Overflow,
    /// `IAC WILL|WONT|DO|DONT option`.
    Negotiation { verb: Verb, option: u8 },
    /// `IAC SB option <data> IAC SE`, with `IAC IAC` in the data un-escaped.
    Subnegotiation { option: u8, data: Bytes },
    /// A subnegotiation longer than [`super::MAX_SUBNEG`] bytes was dropped.
    SubnegotiationTooLong { option: u8 },
    /// Any other command byte after IAC (NOP, AYT, IP, BRK, GA, DM, AO, ...).
    /// EC and EL are not reported: they edit the line being typed.
    Command(u8),
}

impl Input {
    /// The bytes a negotiation or subnegotiation took on the wire (escapes
    /// aside; a dropped subnegotiation counts as its cap), or `None` for a
    /// line or any other command. What a budget of negotiation counts.
    pub fn negotiation_size(&self) -> Option<usize> {
        match self {
            Input::Negotiation { .. } => Some(3),
            Input::Subnegotiation { data, .. } => Some(data.len() + 5),
            Input::SubnegotiationTooLong { .. } => Some(MAX_SUBNEG + 5),
            Input::Line(_) | Input::LineTooLong | Input::Overflow | Input::Command(_) => None,
        }
    }
}

/// How a prompt is marked at its end so that clients can tell it from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PromptMark {
    /// `IAC GA`, understood by nearly every MUD client.
    #[default]
    Ga,
    /// `IAC EOR`, for clients that agreed to the EOR option.
    Eor,
}

/// One thing to write to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Text followed by CRLF, every `'\n'` inside becoming CRLF. Text that
    /// already ends with a newline is not given a second one.
    Line(Arc<str>),
    /// Text (with `'\n'` as CRLF) followed by `IAC GA`, or `IAC EOR` once
    /// the mark is [`PromptMark::Eor`]; no newline is added.
    Prompt(Arc<str>),
    /// `IAC <verb> <option>`.
    Negotiate(Verb, u8),
    /// `IAC SB option <data> IAC SE`, with 255 bytes in the data doubled.
    Subnegotiate(u8, Bytes),
    /// Writes nothing; changes how later prompts are marked.
    SetPromptMark(PromptMark),
    /// Bytes written exactly as given (they must already be telnet-encoded).
    Raw(Bytes),
}

/// Where the decoder is inside the telnet grammar. It lives in the codec, not
/// in the buffer, so a read may end at any byte and the next one resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum State {
    /// Ordinary data.
    Data,
    /// After an IAC in data, waiting for the command byte.
    Iac,
    /// After `IAC WILL|WONT|DO|DONT`, waiting for the option byte.
    Verb(Verb),
    /// After `IAC SB`, waiting for the option byte.
    SbOption,
    /// Collecting subnegotiation data.
    Sb,
    /// After an IAC inside a subnegotiation.
    SbIac,
}

/// Telnet codec for one direction of one connection. The read half and the
/// write half of a socket each get their own instance. It serializes (a
/// line half typed across an upgrade comes back as it was).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TelnetCodec {
    state: State,
    /// The bytes of the line being typed, never more than `MAX_LINE`.
    line: Vec<u8>,
    /// The line has grown past `MAX_LINE`; it will be reported as too long.
    line_too_long: bool,
    /// Data bytes received since the last line terminator, erased or not.
    pending: usize,
    /// `Input::Overflow` was reported; data is discarded until a terminator.
    overflowed: bool,
    /// The last data byte was a CR, so one LF or NUL after it is swallowed.
    after_cr: bool,
    /// The option of the subnegotiation being collected.
    sb_option: u8,
    /// The data of the subnegotiation being collected, at most `MAX_SUBNEG`.
    sb_data: Vec<u8>,
    /// The subnegotiation has grown past `MAX_SUBNEG` and will be dropped.
    sb_too_long: bool,
    /// How prompts are ended by the encoder.
    prompt_mark: PromptMark,
    /// Lines are read as Latin-1 (one character a byte) instead of UTF-8.
    latin1: bool,
}

impl TelnetCodec {
    /// A codec at the start of a connection.
    pub fn new() -> Self {
        TelnetCodec {
            state: State::Data,
            line: Vec::new(),
            line_too_long: false,
            pending: 0,
            overflowed: false,
            after_cr: false,
            sb_option: 0,
            sb_data: Vec::new(),
            sb_too_long: false,
            prompt_mark: PromptMark::Ga,
            latin1: false,
        }
    }

    /// Reads later lines as Latin-1 (for a client that refused UTF-8) or as
    /// UTF-8 again.
    pub fn set_latin1(&mut self, latin1: bool) {
        self.latin1 = latin1;
    }

    /// How the encoder currently ends prompts.
    pub fn prompt_mark(&self) -> PromptMark {
        self.prompt_mark
    }

    /// Feeds one byte through the state machine, returning the event it
    /// completes, if any.
    fn step(&mut self, byte: u8) -> Option<Input> {
        match self.state {
            State::Data if byte == IAC => {
                self.state = State::Iac;
                None
            }
            State::Data => self.data_byte(byte),
            State::Iac => {
                self.state = State::Data;
                self.command(byte)
            }
            State::Verb(verb) => {
                self.state = State::Data;
                Some(Input::Negotiation { verb, option: byte })
            }
            State::SbOption => {
                self.begin_subnegotiation(byte);
                None
            }
            State::Sb if byte == IAC => {
                self.state = State::SbIac;
                None
            }
            State::Sb => {
                self.push_subnegotiation(byte);
                None
            }
            State::SbIac => self.subnegotiation_command(byte),
        }
    }

    /// Handles the byte after an IAC outside a subnegotiation. The state has
    /// already been set back to `Data`; some commands move it on again.
    fn command(&mut self, byte: u8) -> Option<Input> {
        if let Some(verb) = Verb::from_byte(byte) {
            self.state = State::Verb(verb);
            return None;
        }
        match byte {
            IAC => self.data_byte(IAC),
            SB => {
                self.state = State::SbOption;
                None
            }
            // SE without a subnegotiation has nothing to end.
            SE => None,
            EC => {
                self.erase_char();
                None
            }
            EL => {
                self.erase_line();
                None
            }
            other => Some(Input::Command(other)),
        }
    }

    /// Handles the byte after an IAC inside a subnegotiation.
    fn subnegotiation_command(&mut self, byte: u8) -> Option<Input> {
        self.state = State::Sb;
        match byte {
            IAC => {
                self.push_subnegotiation(IAC);
                None
            }
            SE => {
                self.state = State::Data;
                Some(self.finish_subnegotiation())
            }
            // Anything else means the client never closed the
            // subnegotiation. Dropping it and reading the byte as an ordinary
            // command keeps a negotiation that follows from being lost.
            other => {
                self.discard_subnegotiation();
                self.state = State::Data;
                self.command(other)
            }
        }
    }

    fn begin_subnegotiation(&mut self, option: u8) {
        self.sb_option = option;
        self.sb_data.clear();
        self.sb_too_long = false;
        self.state = State::Sb;
    }

    fn push_subnegotiation(&mut self, byte: u8) {
        if self.sb_data.len() < MAX_SUBNEG {
            self.sb_data.push(byte);
        } else {
            self.sb_too_long = true;
        }
    }

    fn finish_subnegotiation(&mut self) -> Input {
        let option = self.sb_option;
        if self.sb_too_long {
            self.discard_subnegotiation();
            return Input::SubnegotiationTooLong { option };
        }
        let data = Bytes::from(std::mem::take(&mut self.sb_data));
        Input::Subnegotiation { option, data }
    }

    fn discard_subnegotiation(&mut self) {
        self.sb_data.clear();
        self.sb_too_long = false;
    }

    /// Handles one data byte (including a 255 that arrived as IAC IAC).
    fn data_byte(&mut self, byte: u8) -> Option<Input> {
        // A CR has already ended its line; the LF or NUL that completes the
        // CR LF or CR NUL pair must not end another, empty one.
        if std::mem::take(&mut self.after_cr) && (byte == b'\n' || byte == 0) {
            return None;
        }
        match byte {
            b'\r' => {
                self.after_cr = true;
                self.end_line()
            }
            b'\n' => self.end_line(),
            _ => self.line_byte(byte),
        }
    }

    /// Handles a data byte that is not a line terminator.
    fn line_byte(&mut self, byte: u8) -> Option<Input> {
        self.pending = self.pending.saturating_add(1);
        if self.overflowed {
            return None;
        }
        if self.pending >= MAX_PENDING {
            self.overflowed = true;
            self.erase_line();
            return Some(Input::Overflow);
        }
        // A NUL inside a line is kept like any other control character: the
        // session decides (a password with one is refused, player text is
        // cleaned), so nothing the client typed disappears unseen.
        match byte {
            BS | DEL => self.erase_char(),
            _ if self.line.len() < MAX_LINE => self.line.push(byte),
            // Past the cap the bytes are counted but not kept, so a client
            // cannot make the buffer grow.
            _ => self.line_too_long = true,
        }
        None
    }

    /// A line terminator arrived: report the line and start a new one.
    fn end_line(&mut self) -> Option<Input> {
        let item = if self.overflowed {
            // Overflow was already reported for this line; the caller is
            // hanging up, so there is nothing more to say about it.
            None
        } else if self.line_too_long {
            Some(Input::LineTooLong)
        } else if self.latin1 {
            Some(Input::Line(
                self.line.iter().map(|&b| char::from(b)).collect(),
            ))
        } else {
            Some(Input::Line(
                String::from_utf8_lossy(&self.line).into_owned(),
            ))
        };
        self.erase_line();
        self.pending = 0;
        self.overflowed = false;
        item
    }

    /// Removes the last character of the line: a whole UTF-8 sequence when
    /// the line ends with one, otherwise a single byte.
    fn erase_char(&mut self) {
        let len = self.line.len();
        if self.latin1 {
            self.line.truncate(len.saturating_sub(1));
            return;
        }
        // The shortest valid UTF-8 suffix is exactly the last character.
        let width = (1..=len.min(4))
            .find(|&n| std::str::from_utf8(&self.line[len - n..]).is_ok())
            .unwrap_or(1);
        self.line.truncate(len.saturating_sub(width));
    }

    fn erase_line(&mut self) {
        self.line.clear();
        self.line_too_long = false;
    }

    /// Forgets any partial line, command or subnegotiation, as at EOF.
    fn reset_input(&mut self) {
        self.state = State::Data;
        self.erase_line();
        self.pending = 0;
        self.overflowed = false;
        self.after_cr = false;
        self.discard_subnegotiation();
    }
}

impl Default for TelnetCodec {
    fn default() -> Self {
        TelnetCodec::new()
    }
}

impl Decoder for TelnetCodec {
    type Item = Input;
    type Error = io::Error;

    /// Consumes bytes until one event is complete and returns it, leaving the
    /// rest in `src` for the next call so events keep their order. `Ok(None)`
    /// means every byte was consumed. Never returns an error: FramedRead
    /// ends the stream after a decoder error, which would look like a
    /// hang-up.
    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Input>> {
        let mut consumed = 0;
        let mut item = None;
        for &byte in src.iter() {
            consumed += 1;
            item = self.step(byte);
            if item.is_some() {
                break;
            }
        }
        src.advance(consumed);
        Ok(item)
    }

    /// At end of input the remaining events are still delivered; whatever is
    /// left unfinished after them (a partial line or command) is discarded.
    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<Input>> {
        let item = self.decode(src)?;
        if item.is_none() {
            self.reset_input();
        }
        Ok(item)
    }
}

impl Encoder<Output> for TelnetCodec {
    type Error = io::Error;

    fn encode(&mut self, item: Output, dst: &mut BytesMut) -> io::Result<()> {
        match item {
            Output::Line(text) => {
                put_text(&text, dst);
                if !text.ends_with('\n') {
                    dst.put_slice(b"\r\n");
                }
            }
            Output::Prompt(text) => {
                put_text(&text, dst);
                let mark = match self.prompt_mark {
                    PromptMark::Ga => GA,
                    PromptMark::Eor => EOR_CMD,
                };
                dst.put_slice(&[IAC, mark]);
            }
            Output::Negotiate(verb, option) => dst.put_slice(&[IAC, verb.byte(), option]),
            Output::Subnegotiate(option, data) => {
                dst.reserve(data.len() + 5);
                dst.put_slice(&[IAC, SB, option]);
                put_escaped(&data, dst);
                dst.put_slice(&[IAC, SE]);
            }
            Output::SetPromptMark(mark) => self.prompt_mark = mark,
            Output::Raw(bytes) => dst.put_slice(&bytes),
        }
        Ok(())
    }
}

/// Writes text with every `'\n'` as CRLF (a `'\r'` already before it is
/// kept, not doubled) and any 255 byte doubled.
fn put_text(text: &str, dst: &mut BytesMut) {
    let bytes = text.as_bytes();
    dst.reserve(bytes.len() + 2);
    // Copy runs of ordinary bytes in one go; only a newline needs work (UTF-8
    // text never holds 255, so nothing else does).
    let mut start = 0;
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'\n') {
        dst.put_slice(&bytes[start..at]);
        if at == 0 || bytes[at - 1] != b'\r' {
            dst.put_u8(b'\r');
        }
        start = at;
    }
    dst.put_slice(&bytes[start..]);
}

/// Writes bytes with every 255 doubled, as telnet requires inside data.
fn put_escaped(data: &[u8], dst: &mut BytesMut) {
    for &byte in data {
        if byte == IAC {
            dst.put_slice(&[IAC, IAC]);
        } else {
            dst.put_u8(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AYT, DO, NOP, WILL, opt};
    use super::*;
    use crate::test_rng::Rng;

    /// Feeds `chunks` to one decoder the way FramedRead does: each chunk is
    /// appended to the buffer and `decode` is called until it returns `None`,
    /// then `decode_eof` drains what is left at the end.
    fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Input> {
        let mut codec = TelnetCodec::new();
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(item)) => items.push(item),
                    Ok(None) => break,
                    Err(err) => panic!("decoder returned an error: {err}"),
                }
            }
            assert!(buf.is_empty(), "decode returned None with bytes left");
        }
        loop {
            match codec.decode_eof(&mut buf) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(err) => panic!("decode_eof returned an error: {err}"),
            }
        }
        items
    }

    /// Asserts that `stream` decodes to `expected` whole, split in two at
    /// every offset, and fed one byte at a time.
    fn check(stream: &[u8], expected: &[Input]) {
        assert_eq!(decode_chunks([stream]), expected, "whole stream");
        for split in 0..=stream.len() {
            let (head, tail) = stream.split_at(split);
            let got = decode_chunks([head, tail]);
            assert!(got == expected, "split at {split}: got {got:?}");
        }
        assert_eq!(decode_chunks(stream.chunks(1)), expected, "byte by byte");
    }

    fn line(text: &str) -> Input {
        Input::Line(text.to_string())
    }

    fn negotiation(verb: Verb, option: u8) -> Input {
        Input::Negotiation { verb, option }
    }

    fn subneg(option: u8, data: &[u8]) -> Input {
        Input::Subnegotiation {
            option,
            data: Bytes::copy_from_slice(data),
        }
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn lines_with_each_terminator() {
        check(b"hello\nworld\n", &[line("hello"), line("world")]);
        check(b"a\r\nb\r\n", &[line("a"), line("b")]);
        check(b"a\r\0b\r\0", &[line("a"), line("b")]);
        check(b"\n\r\n\r\0", &[line(""), line(""), line("")]);
    }

    #[test]
    fn bare_cr_ends_the_line_and_keeps_the_next_byte() {
        check(b"a\rb\n", &[line("a"), line("b")]);
        // The second CR is not swallowed: it ends an empty line, and the LF
        // after it completes that CR LF pair.
        check(b"a\r\r\n", &[line("a"), line("")]);
        // The line is reported at the CR, before anything after it arrives.
        check(b"look\r", &[line("look")]);
    }

    #[test]
    fn commands_between_cr_and_lf_do_not_split_the_pair() {
        let stream = cat(&[b"a\r", &[IAC, NOP], b"\nb\n"]);
        check(&stream, &[line("a"), Input::Command(NOP), line("b")]);
    }

    #[test]
    fn backspace_and_delete_edit_the_line() {
        check(b"abc\x08\x08d\n", &[line("ad")]);
        check(b"\x08\x7fx\n", &[line("x")]);
        check(b"ab\x7f\x7f\x7f\x7fc\n", &[line("c")]);
    }

    #[test]
    fn delete_removes_whole_utf8_characters() {
        let stream = cat(&["añ€😀".as_bytes(), b"\x7f\x7f\x7f\n"]);
        check(&stream, &[line("a")]);
        check("é😀\x08\n".as_bytes(), &[line("é")]);
        // A stray continuation byte is not a character; one byte goes.
        check(b"a\x80\x80\x7f\n", &[line("a\u{FFFD}")]);
        // A truncated sequence loses only its last byte.
        check(b"\xe2\x82\x7f\n", &[line("\u{FFFD}")]);
    }

    #[test]
    fn erase_commands_edit_the_line() {
        check(&cat(&[b"abc", &[IAC, EC], b"\n"]), &[line("ab")]);
        check(&cat(&[b"ab\xc3\xa9", &[IAC, EC], b"\n"]), &[line("ab")]);
        check(&cat(&[b"abc", &[IAC, EL], b"xy\n"]), &[line("xy")]);
        check(&cat(&[&[IAC, EC, IAC, EL], b"\n"]), &[line("")]);
    }

    #[test]
    fn latin1_lines_read_one_character_a_byte() {
        let mut codec = TelnetCodec::new();
        codec.set_latin1(true);
        let mut buf = BytesMut::from(&b"caf\xe9 na\xefve\xc3\xa9\x7f!\n"[..]);
        let got = codec.decode(&mut buf).expect("decode");
        assert_eq!(got, Some(line("café naïveÃ!")));
    }

    #[test]
    fn nul_and_other_controls_inside_a_line_are_kept() {
        check(b"a\0b\n", &[line("a\0b")]);
        // The NUL of a CR NUL line end is still part of the line end.
        check(b"a\r\0b\r\0", &[line("a"), line("b")]);
        check(b"\x1b[1mhi\x07\t\n", &[line("\x1b[1mhi\x07\t")]);
    }

    #[test]
    fn doubled_iac_is_a_data_byte() {
        check(&[b'a', IAC, IAC, b'b', b'\n'], &[line("a\u{FFFD}b")]);
        // It is an ordinary byte for editing too.
        check(&[b'a', IAC, IAC, DEL, b'\n'], &[line("a")]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        check(b"\xc3\x28ok\n", &[line("\u{FFFD}(ok")]);
        check(b"caf\xc3\xa9\n", &[line("café")]);
    }

    #[test]
    fn negotiations_and_commands_mid_line() {
        let stream = cat(&[b"lo", &[IAC, WILL, opt::NAWS], b"o", &[IAC, AYT], b"k\r\n"]);
        let expected = [
            negotiation(Verb::Will, opt::NAWS),
            Input::Command(AYT),
            line("look"),
        ];
        check(&stream, &expected);
        let stream = cat(&[&[IAC, DO, opt::ECHO, IAC, Verb::Dont.byte(), IAC], b"x\n"]);
        check(
            &stream,
            &[
                negotiation(Verb::Do, opt::ECHO),
                negotiation(Verb::Dont, IAC),
                line("x"),
            ],
        );
        check(
            &[IAC, GA, IAC, 12],
            &[Input::Command(GA), Input::Command(12)],
        );
    }

    #[test]
    fn subnegotiation_with_escaped_iac() {
        let stream = cat(&[
            b"ab",
            &[IAC, SB, opt::NAWS, 0, 80, IAC, IAC, 0, 24, IAC, SE],
            b"c\n",
        ]);
        check(
            &stream,
            &[subneg(opt::NAWS, &[0, 80, IAC, 0, 24]), line("abc")],
        );
        // Line terminators and backspaces inside are only data.
        let stream = cat(&[&[IAC, SB, opt::GMCP], b"a\r\n\x08", &[IAC, SE]]);
        check(&stream, &[subneg(opt::GMCP, b"a\r\n\x08")]);
        check(&[IAC, SB, opt::TTYPE, IAC, SE], &[subneg(opt::TTYPE, b"")]);
    }

    #[test]
    fn subnegotiation_at_the_size_limit_is_kept() {
        let data = vec![b'x'; MAX_SUBNEG];
        let stream = cat(&[&[IAC, SB, opt::GMCP], &data, &[IAC, SE]]);
        check(&stream, &[subneg(opt::GMCP, &data)]);
    }

    #[test]
    fn oversize_subnegotiation_is_dropped_without_touching_the_line() {
        // More than MAX_PENDING bytes too, to show they never count as input.
        let data = vec![b'x'; MAX_PENDING + 100];
        let stream = cat(&[b"ab", &[IAC, SB, opt::GMCP], &data, &[IAC, SE], b"c\n"]);
        let expected = [
            Input::SubnegotiationTooLong { option: opt::GMCP },
            line("abc"),
        ];
        assert_eq!(decode_chunks([&stream[..]]), expected);
        assert_eq!(decode_chunks(stream.chunks(1)), expected);
        // The all-splits check on a smaller oversize one keeps the test fast.
        // Escaped IACs count once each: 2049 + 2048 = MAX_SUBNEG + 1 bytes.
        let escaped = [IAC, IAC].repeat(MAX_SUBNEG / 2 + 1);
        let plain = vec![b'y'; MAX_SUBNEG / 2];
        let stream = cat(&[&[IAC, SB, 99], &escaped, &plain, &[IAC, SE], b"\n"]);
        check(
            &stream,
            &[Input::SubnegotiationTooLong { option: 99 }, line("")],
        );
    }

    #[test]
    fn other_command_inside_subnegotiation_aborts_it() {
        let stream = cat(&[&[IAC, SB, opt::TTYPE, 1, 2, IAC, WILL, opt::ECHO], b"hi\n"]);
        check(&stream, &[negotiation(Verb::Will, opt::ECHO), line("hi")]);
        let stream = [IAC, SB, opt::TTYPE, b'a', IAC, NOP, b'b', b'\n'];
        check(&stream, &[Input::Command(NOP), line("b")]);
        // A new SB replaces the broken one.
        let stream = [IAC, SB, 24, IAC, IAC, b'x', IAC, SB, 31, 1, IAC, SE];
        check(&stream, &[subneg(31, &[1])]);
        // EC inside a subnegotiation ends it and then edits the line.
        let stream = cat(&[b"ab", &[IAC, SB, 24, b'q', IAC, EC], b"\n"]);
        check(&stream, &[line("a")]);
    }

    #[test]
    fn stray_se_is_ignored() {
        check(&cat(&[b"a", &[IAC, SE], b"b\n"]), &[line("ab")]);
    }

    #[test]
    fn line_of_exactly_max_line_is_kept() {
        let text = "a".repeat(MAX_LINE);
        let stream = cat(&[text.as_bytes(), b"\r\n"]);
        check(&stream, &[line(&text)]);
        // Erasing after reaching the cap still edits the kept bytes.
        let stream = cat(&[text.as_bytes(), b"\x08b\n"]);
        let expected = format!("{}b", &text[1..]);
        check(&stream, &[line(&expected)]);
    }

    #[test]
    fn line_over_max_line_is_dropped_and_the_next_is_fine() {
        let text = "a".repeat(MAX_LINE + 1);
        let stream = cat(&[text.as_bytes(), b"\r\nok\n"]);
        check(&stream, &[Input::LineTooLong, line("ok")]);
    }

    #[test]
    fn erase_line_forgives_an_oversize_line() {
        let text = "a".repeat(MAX_LINE + 1);
        let stream = cat(&[text.as_bytes(), &[IAC, EL], b"ok\n"]);
        check(&stream, &[line("ok")]);
    }

    #[test]
    fn max_pending_without_terminator_overflows_once() {
        let data = vec![b'a'; MAX_PENDING];
        check(&data, &[Input::Overflow]);
        // Everything after is discarded up to a terminator; then it recovers.
        let stream = cat(&[&data, b"more", &[IAC, NOP], b"\nnext\n"]);
        check(
            &stream,
            &[Input::Overflow, Input::Command(NOP), line("next")],
        );
        // Erased bytes count as well.
        let stream = b"a\x08".repeat(MAX_PENDING / 2);
        check(&stream, &[Input::Overflow]);
    }

    #[test]
    fn one_byte_short_of_max_pending_is_only_too_long() {
        let data = vec![b'a'; MAX_PENDING - 1];
        check(&cat(&[&data, b"\n"]), &[Input::LineTooLong]);
    }

    #[test]
    fn truncated_commands_at_eof_are_discarded() {
        check(&[b'a', b'b', b'c', b'\n', IAC], &[line("abc")]);
        check(&[b'x', IAC, WILL], &[]);
        check(&[IAC, SB, 24, 1, 2, IAC], &[]);
        check(b"partial line", &[]);
    }

    /// Random bytes weighted towards the ones the state machine cares about.
    fn garbage(rng: &mut Rng, len: usize) -> Vec<u8> {
        const SPECIAL: [u8; 14] = [
            IAC, SB, SE, WILL, DO, EC, EL, NOP, b'\r', b'\n', 0, BS, DEL, 0xc3,
        ];
        (0..len)
            .map(|_| match rng.below(3) {
                0 => SPECIAL[rng.below(SPECIAL.len())],
                1 => b'a' + rng.below(26) as u8,
                _ => rng.next() as u8,
            })
            .collect()
    }

    #[test]
    fn garbage_never_fails_and_splits_never_matter() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..3000 {
            let len = rng.below(700);
            let stream = garbage(&mut rng, len);
            let whole = decode_chunks([&stream[..]]);
            let mut chunks = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let (head, tail) = rest.split_at(1 + rng.below(rest.len()).min(40));
                chunks.push(head);
                rest = tail;
            }
            assert_eq!(decode_chunks(chunks), whole, "round {round}");
            for item in &whole {
                if let Input::Subnegotiation { data, .. } = item {
                    assert!(data.len() <= MAX_SUBNEG);
                }
            }
        }
    }

    #[test]
    fn long_garbage_is_bounded() {
        let mut rng = Rng(7);
        let mut stream = garbage(&mut rng, 50_000);
        // Long runs without terminators must end in Overflow, not growth.
        stream.extend(std::iter::repeat_n(b'z', MAX_PENDING * 2));
        let items = decode_chunks(stream.chunks(997));
        assert_eq!(items.last(), Some(&Input::Overflow));
    }

    fn encode(items: impl IntoIterator<Item = Output>) -> Vec<u8> {
        let mut codec = TelnetCodec::new();
        let mut dst = BytesMut::new();
        for item in items {
            if let Err(err) = codec.encode(item, &mut dst) {
                panic!("encode failed: {err}");
            }
        }
        dst.to_vec()
    }

    fn text_line(text: &str) -> Output {
        Output::Line(Arc::from(text))
    }

    fn prompt(text: &str) -> Output {
        Output::Prompt(Arc::from(text))
    }

    #[test]
    fn encode_lines_use_crlf() {
        assert_eq!(encode([text_line("a\nb")]), b"a\r\nb\r\n");
        assert_eq!(encode([text_line("x\r\n")]), b"x\r\n");
        assert_eq!(encode([text_line("")]), b"\r\n");
        assert_eq!(encode([text_line("a\n\nb\r\n\n")]), b"a\r\n\r\nb\r\n\r\n");
        assert_eq!(encode([text_line("café")]), "café\r\n".as_bytes());
    }

    #[test]
    fn encode_prompts_with_the_chosen_mark() {
        assert_eq!(encode([prompt("> ")]), [b'>', b' ', IAC, GA]);
        assert_eq!(
            encode([prompt("a\nb>")]),
            [b'a', b'\r', b'\n', b'b', b'>', IAC, GA]
        );
        let items = [
            Output::SetPromptMark(PromptMark::Eor),
            prompt(">"),
            Output::SetPromptMark(PromptMark::Ga),
            prompt(">"),
        ];
        assert_eq!(encode(items), [b'>', IAC, EOR_CMD, b'>', IAC, GA]);
    }

    #[test]
    fn encode_negotiations_and_subnegotiations() {
        let items = [Output::Negotiate(Verb::Will, opt::ECHO)];
        assert_eq!(encode(items), [IAC, WILL, opt::ECHO]);
        let items = [Output::Negotiate(Verb::Dont, opt::NAWS)];
        assert_eq!(encode(items), [IAC, Verb::Dont.byte(), opt::NAWS]);
        let data = Bytes::from_static(&[1, IAC, 2]);
        let items = [Output::Subnegotiate(opt::GMCP, data)];
        assert_eq!(encode(items), [IAC, SB, opt::GMCP, 1, IAC, IAC, 2, IAC, SE]);
    }

    #[test]
    fn negotiations_have_their_size_on_the_wire_and_lines_none() {
        let cases = [
            (negotiation(Verb::Do, opt::NAWS), Some(3)),
            (subneg(opt::NAWS, &[0, 80, 0, 24]), Some(9)),
            (
                Input::SubnegotiationTooLong { option: opt::GMCP },
                Some(MAX_SUBNEG + 5),
            ),
            (line("look"), None),
            (Input::Command(NOP), None),
            (Input::LineTooLong, None),
        ];
        for (input, size) in cases {
            assert_eq!(input.negotiation_size(), size, "{input:?}");
        }
    }

    #[test]
    fn encode_raw_is_untouched() {
        let raw = Bytes::from_static(&[IAC, GA, b'\n', IAC]);
        assert_eq!(encode([Output::Raw(raw.clone())]), raw.to_vec());
    }

    #[test]
    fn encoded_subnegotiation_decodes_back() {
        let data = Bytes::from_static(&[0, IAC, IAC, SE, 7]);
        let bytes = encode([Output::Subnegotiate(opt::GMCP, data.clone())]);
        check(
            &bytes,
            &[Input::Subnegotiation {
                option: opt::GMCP,
                data,
            }],
        );
    }

    #[tokio::test]
    async fn works_on_both_halves_of_a_split_socket() {
        use futures::{SinkExt, StreamExt};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio_util::codec::{FramedRead, FramedWrite};

        let (server, mut client) = tokio::io::duplex(64);
        let (read_half, write_half) = tokio::io::split(server);
        let mut reader = FramedRead::new(read_half, TelnetCodec::new());
        let mut writer = FramedWrite::new(write_half, TelnetCodec::new());

        let sent = cat(&[b"hel", &[IAC, WILL, opt::NAWS], b"lo\r\nbye\r\nparti"]);
        client.write_all(&sent).await.expect("client write");
        client.shutdown().await.expect("client shutdown");
        let mut got = Vec::new();
        while let Some(item) = reader.next().await {
            got.push(item.expect("decoder must not fail"));
        }
        let expected = [
            negotiation(Verb::Will, opt::NAWS),
            line("hello"),
            line("bye"),
        ];
        assert_eq!(got, expected);

        writer.send(prompt("name? ")).await.expect("server write");
        // The client sees EOF only once both halves of the server end are gone.
        drop(writer);
        drop(reader);
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.expect("client read");
        assert_eq!(out, cat(&[b"name? ", &[IAC, GA]]));
    }

    /// Issue 16: properties over generated streams. However a stream of
    /// typed lines is cut, and whatever telnet commands, negotiations and
    /// subnegotiations are mixed into it, the decoder gives back exactly
    /// those lines, no byte of line data lost or doubled, and exactly those
    /// negotiations, in order.
    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::super::super::{AYT, GA, NOP};
        use super::*;

        /// Something the client sends between and inside lines that is no
        /// line data.
        #[derive(Debug, Clone)]
        enum Noise {
            Command(u8),
            Negotiation(Verb, u8),
            Subnegotiation(u8, Vec<u8>),
        }

        impl Noise {
            fn wire(&self) -> Vec<u8> {
                let mut out = Vec::new();
                let escaped = |out: &mut Vec<u8>, data: &[u8]| {
                    for &b in data {
                        out.extend_from_slice(if b == IAC {
                            &[IAC, IAC]
                        } else {
                            std::slice::from_ref(&b)
                        });
                    }
                };
                match self {
                    Noise::Command(byte) => out.extend_from_slice(&[IAC, *byte]),
                    Noise::Negotiation(verb, option) => {
                        out.extend_from_slice(&[IAC, verb.byte(), *option])
                    }
                    Noise::Subnegotiation(option, data) => {
                        out.extend_from_slice(&[IAC, SB, *option]);
                        escaped(&mut out, data);
                        out.extend_from_slice(&[IAC, SE]);
                    }
                }
                out
            }

            fn input(&self) -> Input {
                match self {
                    Noise::Command(byte) => Input::Command(*byte),
                    Noise::Negotiation(verb, option) => Input::Negotiation {
                        verb: *verb,
                        option: *option,
                    },
                    Noise::Subnegotiation(option, data) => Input::Subnegotiation {
                        option: *option,
                        data: Bytes::copy_from_slice(data),
                    },
                }
            }
        }

        fn noise() -> impl Strategy<Value = Noise> {
            let verb = prop_oneof![
                Just(Verb::Will),
                Just(Verb::Wont),
                Just(Verb::Do),
                Just(Verb::Dont)
            ];
            prop_oneof![
                prop::sample::select(vec![NOP, GA, AYT, 241, 242, 243, 244, 245])
                    .prop_map(Noise::Command),
                (verb, any::<u8>()).prop_map(|(v, o)| Noise::Negotiation(v, o)),
                (any::<u8>(), vec(any::<u8>(), 0..64))
                    .prop_map(|(o, d)| Noise::Subnegotiation(o, d)),
            ]
        }

        /// A typed line: any bytes but the line ends and the two erasing
        /// ones (255 goes on the wire doubled), each with the noise that
        /// comes after its byte at that position, and how it ends.
        fn line() -> impl Strategy<Value = (Vec<(u8, Vec<Noise>)>, &'static [u8])> {
            let byte = any::<u8>().prop_filter("no line end or erasure", |b| {
                !matches!(*b, b'\r' | b'\n' | BS | DEL)
            });
            let ends: &[&'static [u8]] = &[b"\r\n", b"\n", b"\r\0"];
            let noisy = (byte, vec(noise(), 0..2));
            (vec(noisy, 0..80), prop::sample::select(ends))
        }

        /// A stream and what it must decode to, in Latin-1 (one character a
        /// byte, so every byte of line data shows).
        fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<Input>)> {
            vec(line(), 0..12).prop_map(|lines| {
                let (mut wire, mut want) = (Vec::new(), Vec::new());
                for (bytes, end) in lines {
                    let mut text = String::new();
                    for (byte, noise) in bytes {
                        wire.extend_from_slice(if byte == IAC {
                            &[IAC, IAC]
                        } else {
                            std::slice::from_ref(&byte)
                        });
                        text.push(char::from(byte));
                        for n in noise {
                            wire.extend(n.wire());
                            want.push(n.input());
                        }
                    }
                    wire.extend_from_slice(end);
                    want.push(Input::Line(text));
                }
                (wire, want)
            })
        }

        fn decode_latin1<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Input> {
            let mut codec = TelnetCodec::new();
            codec.set_latin1(true);
            let mut buf = BytesMut::new();
            let mut items = Vec::new();
            for chunk in chunks {
                buf.extend_from_slice(chunk);
                while let Ok(Some(item)) = codec.decode(&mut buf) {
                    items.push(item);
                }
            }
            while let Ok(Some(item)) = codec.decode_eof(&mut buf) {
                items.push(item);
            }
            items
        }

        proptest! {
            #[test]
            fn no_byte_of_line_data_is_lost_or_doubled_whatever_the_split(
                (wire, want) in stream(),
                cuts in vec(any::<prop::sample::Index>(), 0..24),
            ) {
                let mut at: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
                at.sort_unstable();
                let mut pieces = Vec::new();
                let mut start = 0;
                for cut in at {
                    pieces.push(&wire[start..cut]);
                    start = cut;
                }
                pieces.push(&wire[start..]);
                prop_assert_eq!(decode_latin1(pieces), want);
            }

            #[test]
            fn a_subnegotiation_the_encoder_writes_decodes_back_whatever_the_split(
                option in any::<u8>(),
                data in vec(any::<u8>(), 0..MAX_SUBNEG),
                piece in 1usize..64,
            ) {
                let wire = encode([Output::Subnegotiate(option, Bytes::from(data.clone()))]);
                let want = [Input::Subnegotiation { option, data: Bytes::from(data) }];
                prop_assert_eq!(decode_latin1(wire.chunks(piece)), want);
            }
        }
    }
}
